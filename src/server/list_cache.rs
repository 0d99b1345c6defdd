//! Pages of the incident list, computed once per version: when a change
//! wakes a thousand long polls, one of them reads the database and the rest
//! are sent the same bytes. A page computed after version V was read holds
//! at least V's changes, so serving it to anyone who read V is never stale.

use crate::server::ApiError;
use axum::body::Bytes;
use parking_lot::Mutex;
use std::collections::VecDeque;
use std::future::Future;
use std::sync::Arc;
use tokio::sync::OnceCell;

/// What a page depends on besides the version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListKey {
    pub version: i64,
    pub query: String,
}

/// Pages kept: the current version's few queries, and a few before.
const KEPT: usize = 32;

#[derive(Default)]
pub struct ListCache {
    entries: Mutex<VecDeque<(ListKey, Arc<OnceCell<Bytes>>)>>,
}

impl ListCache {
    /// The page for `key`: computed by the first caller, awaited by the
    /// others. A failure is not kept: the next caller computes again.
    pub async fn page<F, Fut>(&self, key: ListKey, compute: F) -> Result<Bytes, ApiError>
    where
        F: FnOnce() -> Fut,
        Fut: Future<Output = Result<Bytes, ApiError>>,
    {
        let cell = {
            let mut entries = self.entries.lock();
            match entries.iter().find(|(k, _)| *k == key) {
                Some((_, cell)) => cell.clone(),
                None => {
                    if entries.len() == KEPT {
                        entries.pop_front();
                    }
                    let cell = Arc::new(OnceCell::new());
                    entries.push_back((key, cell.clone()));
                    cell
                }
            }
        };
        cell.get_or_try_init(compute).await.cloned()
    }
}
