use crate::auth::TokenTable;
use crate::store::Store;
use std::sync::{Arc, RwLock};

/// What every handler shares: the store and the token table.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

struct Inner {
    store: Store,
    // Replaced whole on reload (SIGHUP); readers clone the Arc and never wait.
    tokens: RwLock<Arc<TokenTable>>,
}

impl AppState {
    pub fn new(store: Store, tokens: TokenTable) -> Self {
        AppState(Arc::new(Inner { store, tokens: RwLock::new(Arc::new(tokens)) }))
    }

    pub fn store(&self) -> &Store {
        &self.0.store
    }

    pub fn tokens(&self) -> Arc<TokenTable> {
        self.0.tokens.read().unwrap_or_else(|poisoned| poisoned.into_inner()).clone()
    }

    pub fn replace_tokens(&self, tokens: TokenTable) {
        *self.0.tokens.write().unwrap_or_else(|poisoned| poisoned.into_inner()) = Arc::new(tokens);
    }
}
