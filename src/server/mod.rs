//! `mandate serve`: the Mandate API over HTTP.

mod access_log;
pub mod auth;
mod auth_throttle;
pub mod connections;
mod contract;
mod error;
mod etag;
pub(crate) mod http_errors;
pub(crate) mod list_cache;
pub(crate) mod long_polls;
mod openapi;
pub(crate) mod outage;
mod request;
pub(crate) mod request_log;
pub mod routes;
mod state;
mod tls;
mod token_rate;
pub mod versions;

pub use connections::ConnectionLimits;
pub use error::ApiError;
pub use request::{MAX_BATCH_BODY_BYTES, MAX_BODY_BYTES};
pub use state::AppState;
pub use tls::{ClientCert, Tls, TlsError, certificate_digest};

use crate::auth::{TokenTable, TokensFile};
use crate::catalog::Catalog;
use crate::desk::{Desk, DeskConfig};
use crate::incident::GroupingConfig;
use crate::store::{Store, StoreError};
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::response::IntoResponse;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tower_http::catch_panic::CatchPanicLayer;
use utoipa::OpenApi;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Mandate API",
        description = "Run attribution, incidents and human interventions for fleets of autonomous agents."
    ),
    modifiers(&BearerAuth)
)]
struct ApiDoc;

struct BearerAuth;

impl utoipa::Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        let scheme = HttpBuilder::new()
            .scheme(HttpAuthScheme::Bearer)
            .description(Some("A token from `mandate token create`"))
            .build();
        components.add_security_scheme("bearer", SecurityScheme::Http(scheme));
    }
}

/// Every route, registered together with its OpenAPI description, so the
/// document cannot omit a route the server serves.
fn api_routes() -> OpenApiRouter<AppState> {
    use routes::{
        activity, alerts, approvals, control, decisions, degradations, disputes, events, incidents, interventions,
        learning, notifications, operations, rollout, routing, runs, silences, slack, stops, system,
    };
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(system::healthz))
        .routes(routes!(system::readyz))
        .routes(routes!(system::whoami))
        .routes(routes!(system::openapi_json))
        .routes(routes!(runs::create_run, runs::list_runs))
        .routes(routes!(runs::get_run))
        .routes(routes!(runs::complete_run))
        .routes(routes!(activity::live_by_dimension))
        .routes(routes!(activity::completed_by_dimension))
        .routes(routes!(events::post_events))
        .routes(routes!(alerts::post_alerts))
        .routes(routes!(alerts::from_alertmanager))
        .routes(routes!(slack::interactions))
        .routes(routes!(degradations::list_degradations))
        .routes(routes!(degradations::incident_impact))
        .routes(routes!(incidents::list_incidents))
        .routes(routes!(incidents::get_incident))
        .routes(routes!(incidents::postmortem))
        .routes(routes!(interventions::intervention_catalog))
        .routes(routes!(interventions::intervene_incident))
        .routes(routes!(interventions::intervene_agent))
        .routes(routes!(interventions::record_verdict))
        .routes(routes!(operations::list_agents))
        .routes(routes!(control::agent_control))
        .routes(routes!(control::report_refusals))
        .routes(routes!(decisions::decide))
        .routes(routes!(approvals::ask, approvals::list_approvals))
        .routes(routes!(approvals::get_approval))
        .routes(routes!(approvals::decide))
        .routes(routes!(stops::make_stop, stops::list_stops))
        .routes(routes!(stops::lift_stop))
        .routes(routes!(silences::make_silence, silences::list_silences))
        .routes(routes!(silences::lift_silence))
        .routes(routes!(operations::audit))
        .routes(routes!(operations::access_log))
        .routes(routes!(disputes::open_dispute, disputes::list_disputes))
        .routes(routes!(disputes::resolve_dispute))
        .routes(routes!(operations::get_catalog, operations::put_catalog))
        .routes(routes!(routing::get_routing, routing::put_routing))
        .routes(routes!(routing::routing_usage))
        .routes(routes!(routing::routing_history))
        .routes(routes!(routing::on_call))
        .routes(routes!(notifications::list_notifications))
        .routes(routes!(notifications::retry_notification))
        .routes(routes!(operations::attribution_stats))
        .routes(routes!(rollout::rollout_status))
        .routes(routes!(rollout::weekly_report))
        .routes(routes!(rollout::reach_out))
        .routes(routes!(learning::get_calibration))
        .routes(routes!(learning::get_reliance))
        .routes(routes!(learning::suggestion_stats))
        .routes(routes!(learning::list_patterns))
        .routes(routes!(learning::get_pattern))
        .routes(routes!(learning::list_rules, learning::propose_rule))
        .routes(routes!(learning::transition_rule))
}

/// The OpenAPI document of every route.
pub fn openapi() -> serde_json::Value {
    let mut doc = serde_json::to_value(api_routes().into_openapi()).expect("the OpenAPI document serialises");
    openapi::answers_every_route_gives(&mut doc);
    openapi::batch_limit(&mut doc);
    contract::state_what_is_enforced(&mut doc);
    doc
}

pub(crate) fn openapi_text() -> &'static str {
    static TEXT: OnceLock<String> = OnceLock::new();
    TEXT.get_or_init(|| serde_json::to_string_pretty(&openapi()).expect("the OpenAPI document serialises"))
}

/// The whole HTTP application.
pub fn router(state: AppState) -> Router {
    let (router, _) = api_routes().split_for_parts();
    router
        .route_layer(axum::middleware::from_fn(outage::bounded))
        .route_layer(axum::middleware::from_fn(request_log::log_request))
        .layer(axum::middleware::from_fn(etag::etag))
        .layer(axum::middleware::from_fn(http_errors::json_bodies))
        .fallback(route_not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .layer(DefaultBodyLimit::max(MAX_BATCH_BODY_BYTES + 1))
        .layer(CatchPanicLayer::custom(|_| {
            tracing::error!("a request handler panicked");
            ApiError::internal().into_response()
        }))
        .merge(routes::otlp::routes())
        .route(routes::metrics::PATH, axum::routing::get(routes::metrics::on_api))
        .layer(axum::middleware::from_fn_with_state(state.clone(), versions::say))
        .with_state(state)
}

/// The OTLP listener's application: `POST /v1/traces` and nothing else.
pub fn otlp_router(state: AppState) -> Router {
    Router::new().merge(routes::otlp::routes()).fallback(routes::otlp::not_found).with_state(state)
}

async fn route_not_found() -> ApiError {
    ApiError::not_found("ROUTE_NOT_FOUND", "no such route; GET /api/v1/openapi.json lists them all")
}

async fn method_not_allowed() -> ApiError {
    ApiError::new(
        StatusCode::METHOD_NOT_ALLOWED,
        crate::api::ErrorType::InvalidRequest,
        "METHOD_NOT_ALLOWED",
        "this route does not accept that method; GET /api/v1/openapi.json lists them all",
    )
}

/// A server running in the background, for tests, benchmarks and the demo.
pub struct RunningServer {
    pub addr: SocketAddr,
    /// Serving HTTPS.
    pub tls: bool,
    pub state: AppState,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<std::io::Result<()>>,
}

impl RunningServer {
    pub fn url(&self) -> String {
        format!("{}://{}", if self.tls { "https" } else { "http" }, self.addr)
    }

    /// Stops accepting, finishes requests in flight, closes the database.
    pub async fn stop(mut self) {
        self.state.begin_closing();
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        let _ = (&mut self.task).await;
        // Nothing this server stored is left after the last anchor.
        if self.state.store().holds_duties() {
            match self.state.desk().anchor_now().await {
                Ok(Some(anchor)) => tracing::info!(position = anchor.position, "events' chain anchored at shutdown"),
                Ok(None) => {}
                Err(e) => tracing::warn!(error = %e, "the events' chain could not be anchored at shutdown"),
            }
        }
        self.state.store().close().await;
    }
}

/// Starts serving `store` on `listen` (port 0 picks a free one), with the
/// catalog stored in it and the default grouping window.
pub async fn start(store: Store, tokens: TokenTable, listen: SocketAddr) -> std::io::Result<RunningServer> {
    let desk = Desk::open(store, None, DeskConfig::default()).await.map_err(std::io::Error::other)?;
    start_desk(desk, tokens, listen).await
}

/// Starts serving an opened desk.
pub async fn start_desk(desk: Arc<Desk>, tokens: TokenTable, listen: SocketAddr) -> std::io::Result<RunningServer> {
    start_desk_with(desk, tokens, listen, ConnectionLimits::default()).await
}

/// Starts serving an opened desk, with these connection limits.
pub async fn start_desk_with(
    desk: Arc<Desk>,
    tokens: TokenTable,
    listen: SocketAddr,
    limits: ConnectionLimits,
) -> std::io::Result<RunningServer> {
    start_desk_tls(desk, tokens, listen, limits, None).await
}

/// `start_desk_with`, serving HTTPS when `tls` is given.
pub async fn start_desk_tls(
    desk: Arc<Desk>,
    tokens: TokenTable,
    listen: SocketAddr,
    limits: ConnectionLimits,
    tls: Option<Arc<Tls>>,
) -> std::io::Result<RunningServer> {
    let listener = TcpListener::bind(listen).await?;
    let addr = listener.local_addr()?;
    let state = AppState::new(desk, tokens, &limits);
    // The audit chain is verified once now, so the first reader does not wait.
    let verifier = state.clone();
    tokio::spawn(async move {
        match verifier.audit_chain().await {
            Ok(status) if !status.verified => {
                tracing::error!(first_broken = ?status.first_broken_seq, problem = ?status.problem, "the audit chain is broken")
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "cannot verify the audit chain at start"),
        }
    });
    let app = router(state.clone());
    let (tx, rx) = oneshot::channel::<()>();
    let https = tls.is_some();
    let task = tokio::spawn(connections::serve(listener, app, limits, tls, rx));
    Ok(RunningServer { addr, tls: https, state, shutdown: Some(tx), task })
}

/// Options of `mandate serve`.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub listen: SocketAddr,
    /// A second address that receives OTLP/HTTP traces only.
    pub otlp_listen: Option<SocketAddr>,
    /// Refuse to start while a schema migration is pending.
    pub no_migrate: bool,
    /// SDKs older are refused (raises the window's bound).
    pub sdk_minimum: Option<versions::Version>,
    /// SDKs older are served with a deprecation warning (raises the window's).
    pub sdk_deprecated_below: Option<versions::Version>,
    /// Where `GET /metrics` is served, if anywhere.
    pub metrics: routes::metrics::MetricsExposure,
    pub database_url: String,
    pub tokens_file: PathBuf,
    /// A TOML service catalog; replaces the stored one when it differs.
    pub catalog: Option<PathBuf>,
    /// A TOML routing file; replaces the stored one when it differs.
    pub routing: Option<PathBuf>,
    /// Wait for the database instead of refusing to start beside the server
    /// that serves it; take over when it stops.
    pub standby: bool,
    pub grouping: GroupingConfig,
    /// How far from the server's clock an event's occurred_at may be.
    pub event_window: crate::desk::EventWindow,
    /// How long records are kept, and how often the keeper runs.
    pub retention: crate::desk::Retention,
    pub connections: ConnectionLimits,
    /// HTTPS: a PEM certificate (chain) and its key, read again on SIGHUP.
    pub tls: Option<(PathBuf, PathBuf)>,
    /// HTTPS clients are asked for a certificate signed by this CA.
    pub tls_client_ca: Option<PathBuf>,
    /// Learned rules marked `auto` carry out their automation.
    pub allow_auto_rules: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    Tokens(#[from] crate::auth::TokensFileError),
    #[error(transparent)]
    Catalog(#[from] crate::catalog::CatalogError),
    #[error(transparent)]
    Routing(#[from] crate::routing::RoutingError),
    #[error(transparent)]
    Tls(#[from] TlsError),
    #[error("cannot listen on {addr}: {source}")]
    Listen { addr: SocketAddr, source: std::io::Error },
    #[error(
        "the database has {0} pending migration(s) ({1}) and --no-migrate refuses to apply them: run `mandate migrate up` (`--dry-run` shows what it does), then start again"
    )]
    PendingMigrations(usize, String),
}

/// Keeps this server's row in the database's server list (0024): what
/// release it runs, for `mandate migrate status` during a rolling upgrade.
async fn say_here(store: Store) {
    let name = crate::store::server_name();
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(30));
    loop {
        tick.tick().await;
        if let Err(e) = store.server_here(&name, versions::SERVER, versions::API, chrono::Utc::now()).await {
            tracing::debug!(error = %e, "could not refresh this server in the database's server list");
        }
    }
}

/// Runs until SIGINT or SIGTERM; SIGHUP reloads the tokens file.
pub async fn serve(options: ServeOptions) -> Result<(), ServeError> {
    let tokens_file = TokensFile::load(&options.tokens_file)?;
    let tokens = tokens_file.table();
    if tokens.is_empty() {
        tracing::warn!(
            tokens_file = %options.tokens_file.display(),
            "no API tokens: every request but /healthz will get 401; create one with `mandate token create --name NAME --role admin`"
        );
    }
    let catalog = options.catalog.as_deref().map(Catalog::load).transpose()?;
    if options.no_migrate {
        let (_, status) = Store::schema_status(&options.database_url).await?;
        let pending: Vec<String> = status.pending().map(|m| format!("{:04} {}", m.version, m.description)).collect();
        if !pending.is_empty() {
            return Err(ServeError::PendingMigrations(pending.len(), pending.join(", ")));
        }
    }
    let store = Store::connect_to_serve(&options.database_url, options.standby).await?;
    tracing::info!(database = %crate::store::redact(&options.database_url), backend = ?store.backend(), "database ready");
    let routing = options.routing.as_deref().map(crate::routing::Routing::load).transpose()?;
    if let Some(r) = &routing {
        for warning in r.warnings() {
            tracing::warn!(routing = %options.routing.as_deref().unwrap_or(std::path::Path::new("")).display(), "{warning}");
        }
    }
    let desk = Desk::open(
        store,
        catalog,
        DeskConfig {
            grouping: options.grouping,
            routing,
            event_window: options.event_window,
            retention: options.retention,
            allow_auto_rules: options.allow_auto_rules,
            ..DeskConfig::default()
        },
    )
    .await?;
    tracing::info!(services = desk.catalog().len(), version = desk.version(), "incident desk ready");
    if desk.routing().receivers().is_empty() {
        tracing::warn!(
            routing = %options.routing.as_deref().map_or("(none: --routing not given)".into(), |p| p.display().to_string()),
            "no paging receivers: every page is marked dead at once and nobody is woken; add a [channel.webhook], \
             [channel.slack], [channel.pagerduty] or [channel.email] table to the routing file \
             (docs/routing-and-paging.md)"
        );
    }
    desk.share_revocations(&tokens_file.revoked_digests()).await?;
    let tls =
        options.tls.as_ref().map(|(cert, key)| Tls::load(cert, key, options.tls_client_ca.as_deref())).transpose()?;
    let server = start_desk_tls(desk, tokens, options.listen, options.connections.clone(), tls.clone())
        .await
        .map_err(|source| ServeError::Listen { addr: options.listen, source })?;
    tracing::info!(addr = %server.addr, https = server.tls, tokens = server.state.tokens().len(), "serving the Mandate API");
    let otlp = match options.otlp_listen {
        None => None,
        Some(addr) => {
            let listener = TcpListener::bind(addr).await.map_err(|source| ServeError::Listen { addr, source })?;
            let (tx, rx) = oneshot::channel::<()>();
            let app = otlp_router(server.state.clone());
            tracing::info!(addr = %listener.local_addr().unwrap_or(addr), path = crate::otlp::TRACES_PATH, "receiving OpenTelemetry traces");
            Some((tx, tokio::spawn(connections::serve(listener, app, options.connections.clone(), tls.clone(), rx))))
        }
    };
    use routes::metrics::MetricsExposure;
    server.state.expose_metrics_on_api(options.metrics == MetricsExposure::Token);
    server.state.set_sdk_window(
        versions::SdkWindow::default_for_this_server().raised(options.sdk_minimum, options.sdk_deprecated_below),
    );
    let metrics = match options.metrics {
        MetricsExposure::Off => None,
        MetricsExposure::Token => {
            tracing::info!(path = routes::metrics::PATH, "serving metrics on the API's address, to tokens");
            None
        }
        MetricsExposure::Listen(addr) => {
            let listener = TcpListener::bind(addr).await.map_err(|source| ServeError::Listen { addr, source })?;
            let (tx, rx) = oneshot::channel::<()>();
            let app = routes::metrics::listener_router(server.state.clone());
            tracing::info!(addr = %listener.local_addr().unwrap_or(addr), path = routes::metrics::PATH, "serving metrics");
            Some((tx, tokio::spawn(connections::serve(listener, app, options.connections.clone(), None, rx))))
        }
    };
    let here = tokio::spawn(say_here(server.state.store().clone()));
    wait_for_shutdown(&server.state, &options.tokens_file, tls.as_deref()).await;
    tracing::info!("shutting down");
    here.abort();
    if let Err(e) = server.state.store().server_gone(&crate::store::server_name()).await {
        tracing::warn!(error = %e, "could not remove this server from the database's server list");
    }
    for (tx, task) in otlp.into_iter().chain(metrics) {
        let _ = tx.send(());
        let _ = task.await;
    }
    server.stop().await;
    Ok(())
}

#[cfg(unix)]
async fn wait_for_shutdown(state: &AppState, tokens_file: &std::path::Path, tls: Option<&Tls>) {
    use tokio::signal::unix::{SignalKind, signal};
    let (Ok(mut term), Ok(mut hup)) = (signal(SignalKind::terminate()), signal(SignalKind::hangup())) else {
        let _ = tokio::signal::ctrl_c().await;
        return;
    };
    // The tokens file is read again on SIGHUP and whenever it changes
    // (checked every second), so a revocation applies within a second.
    let stamp = |path: &std::path::Path| std::fs::metadata(path).ok().map(|m| (m.modified().ok(), m.len()));
    let mut seen = stamp(tokens_file);
    let mut tick = tokio::time::interval(std::time::Duration::from_secs(1));
    loop {
        let reload = tokio::select! {
            _ = tokio::signal::ctrl_c() => return,
            _ = term.recv() => return,
            _ = hup.recv() => {
                match tls.map(Tls::reload) {
                    Some(Ok(())) => tracing::info!("TLS certificate and key reloaded"),
                    Some(Err(e)) => tracing::error!(error = %e, "TLS certificate not reloaded; the one in force stays"),
                    None => {}
                }
                true
            }
            _ = tick.tick() => {
                let now = stamp(tokens_file);
                let changed = now != seen;
                seen = now;
                changed
            }
        };
        if !reload {
            continue;
        }
        match TokensFile::load(tokens_file) {
            Ok(file) => {
                state.replace_tokens(file.table());
                tracing::info!(tokens = file.tokens.len(), "tokens file reloaded");
                match state.desk().share_revocations(&file.revoked_digests()).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(revoked = n, "revocations shared with every server of the database"),
                    Err(e) => tracing::error!(error = %e, "revocations not shared; this server refuses them already"),
                }
            }
            Err(e) => tracing::error!(error = %e, "tokens file not reloaded; the previous tokens stay in force"),
        }
    }
}

#[cfg(not(unix))]
async fn wait_for_shutdown(_state: &AppState, _tokens_file: &std::path::Path, _tls: Option<&Tls>) {
    let _ = tokio::signal::ctrl_c().await;
}
