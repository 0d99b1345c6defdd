use crate::auth::TokenTable;
use crate::desk::Desk;
use crate::server::list_cache::ListCache;
use crate::store::Store;
use parking_lot::RwLock;
use std::sync::Arc;

/// What every handler shares: the desk (and through it the store) and the
/// token table.
#[derive(Clone)]
pub struct AppState(Arc<Inner>);

struct Inner {
    desk: Arc<Desk>,
    /// Set when the server starts shutting down: long polls end at once.
    closing: tokio::sync::watch::Sender<bool>,
    // Replaced whole on reload (SIGHUP); readers clone the Arc and never wait.
    tokens: RwLock<Arc<TokenTable>>,
    /// Incident list pages, once per version.
    list_cache: ListCache,
    /// How far the audit chain has been verified: each request checks only
    /// what was appended since.
    audit: tokio::sync::Mutex<crate::audit::Progress>,
    audit_so_far: parking_lot::Mutex<crate::audit::ChainStatus>,
    /// Failed authentication per client address.
    auth_throttle: crate::server::auth_throttle::AuthThrottle,
    trusted_proxies: Vec<ipnet::IpNet>,
    /// Requests per token.
    token_rate: crate::server::token_rate::TokenRate,
    /// Who looked at incident detail and the audit log.
    access_log: crate::server::access_log::AccessLog,
    /// OTLP exports decoded and stored at once.
    otlp_turns: tokio::sync::Semaphore,
    /// OTLP exports being decoded: each holds its permit until decoding ends,
    /// even when its client went away.
    otlp_decoding: Arc<tokio::sync::Semaphore>,
    /// The shares of long polls.
    long_polls: Arc<crate::server::long_polls::LongPolls>,
    /// `GET /metrics` answers on the API's address (`--metrics token`).
    metrics_on_api: std::sync::atomic::AtomicBool,
    /// Which SDK versions are served, warned, refused.
    sdk_window: parking_lot::RwLock<crate::server::versions::SdkWindow>,
}

impl AppState {
    /// `limits`: bad tokens allowed per client address in 10 s, requests
    /// per second per token (0: no limit).
    pub fn new(desk: Arc<Desk>, tokens: TokenTable, limits: &crate::server::ConnectionLimits) -> Self {
        let (closing, _) = tokio::sync::watch::channel(false);
        let access_log = crate::server::access_log::AccessLog::start(desk.store().clone());
        AppState(Arc::new(Inner {
            access_log,
            otlp_turns: tokio::sync::Semaphore::new(crate::server::routes::otlp::IN_FLIGHT),
            otlp_decoding: Arc::new(tokio::sync::Semaphore::new(crate::otlp::DECODING_AT_ONCE)),
            desk,
            closing,
            tokens: RwLock::new(Arc::new(tokens)),
            list_cache: ListCache::default(),
            audit: Default::default(),
            audit_so_far: parking_lot::Mutex::new(crate::audit::Progress::default().status()),
            auth_throttle: crate::server::auth_throttle::AuthThrottle::new(limits.failed_auth_limit),
            trusted_proxies: limits.trusted_proxies.clone(),
            long_polls: Arc::new(crate::server::long_polls::LongPolls::for_connections(limits.max_connections)),
            token_rate: crate::server::token_rate::TokenRate::new(limits.token_rate),
            metrics_on_api: std::sync::atomic::AtomicBool::new(false),
            sdk_window: parking_lot::RwLock::new(crate::server::versions::SdkWindow::default_for_this_server()),
        }))
    }

    /// A turn to decode and store an OTLP export; waits while others have them all.
    pub async fn otlp_turn(&self) -> tokio::sync::SemaphorePermit<'_> {
        self.0.otlp_turns.acquire().await.expect("the semaphore is never closed")
    }

    /// A turn to decode an OTLP export, kept by the decoding itself.
    pub async fn otlp_decoding_turn(&self) -> tokio::sync::OwnedSemaphorePermit {
        self.0.otlp_decoding.clone().acquire_owned().await.expect("the semaphore is never closed")
    }

    /// Serve `GET /metrics` on the API's address, to tokens that may read them.
    pub fn expose_metrics_on_api(&self, on: bool) {
        self.0.metrics_on_api.store(on, std::sync::atomic::Ordering::Relaxed);
    }

    pub fn set_sdk_window(&self, window: crate::server::versions::SdkWindow) {
        *self.0.sdk_window.write() = window;
    }

    pub fn sdk_window(&self) -> crate::server::versions::SdkWindow {
        *self.0.sdk_window.read()
    }

    pub fn metrics_on_api(&self) -> bool {
        self.0.metrics_on_api.load(std::sync::atomic::Ordering::Relaxed)
    }

    pub fn desk(&self) -> &Arc<Desk> {
        &self.0.desk
    }

    pub fn store(&self) -> &Store {
        self.0.desk.store()
    }

    pub fn list_cache(&self) -> &ListCache {
        &self.0.list_cache
    }

    /// The audit chain's state, verified up to its newest entry. While
    /// another request verifies (after a start, a long chain takes seconds),
    /// this one answers at once with how far that verification has come.
    pub async fn audit_chain(&self) -> Result<crate::audit::ChainStatus, crate::store::StoreError> {
        let Ok(mut progress) = self.0.audit.try_lock() else {
            return Ok(self.0.audit_so_far.lock().clone());
        };
        let so_far = &self.0.audit_so_far;
        self.store().verify_audit(&mut progress, |p| *so_far.lock() = p.status()).await?;
        Ok(progress.status())
    }

    /// The shares of long polls.
    pub fn long_polls(&self) -> &Arc<crate::server::long_polls::LongPolls> {
        &self.0.long_polls
    }

    /// Proxies whose `X-Forwarded-For` names the client.
    pub fn trusted_proxies(&self) -> &[ipnet::IpNet] {
        &self.0.trusted_proxies
    }

    pub fn auth_throttle(&self) -> &crate::server::auth_throttle::AuthThrottle {
        &self.0.auth_throttle
    }

    pub fn access_log(&self) -> &crate::server::access_log::AccessLog {
        &self.0.access_log
    }

    pub fn token_rate(&self) -> &crate::server::token_rate::TokenRate {
        &self.0.token_rate
    }

    pub fn closing(&self) -> tokio::sync::watch::Receiver<bool> {
        self.0.closing.subscribe()
    }

    pub fn begin_closing(&self) {
        self.0.closing.send_replace(true);
    }

    pub fn tokens(&self) -> Arc<TokenTable> {
        self.0.tokens.read().clone()
    }

    pub fn replace_tokens(&self, tokens: TokenTable) {
        *self.0.tokens.write() = Arc::new(tokens);
    }
}
