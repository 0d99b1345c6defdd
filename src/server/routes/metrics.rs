//! `GET /metrics`: Mandate's own metrics for Prometheus (see
//! [`crate::metrics`]), served as `mandate serve --metrics` says: `off` (the
//! default: 404), `token` (on the API's address, to a token that may read
//! metrics: a `monitor`, `viewer`, `responder` or `admin`), or an address
//! of their own (plain, no token: bind it where only Prometheus reaches).

use crate::metrics::{CONTENT_TYPE, Now, render};
use crate::server::auth::{Caller, Permission};
use crate::server::{ApiError, AppState};
use axum::Router;
use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use std::net::SocketAddr;
use std::str::FromStr;

/// The path Prometheus scrapes by default.
pub const PATH: &str = "/metrics";

/// Where `/metrics` is served.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum MetricsExposure {
    #[default]
    Off,
    /// On the API's address, to a token that may read metrics.
    Token,
    /// On an address of its own, without a token.
    Listen(SocketAddr),
}

impl FromStr for MetricsExposure {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "off" => Ok(MetricsExposure::Off),
            "token" => Ok(MetricsExposure::Token),
            address => address.parse().map(MetricsExposure::Listen).map_err(|_| {
                format!("{address:?} is not off, token, or an address to listen on (such as 127.0.0.1:9464)")
            }),
        }
    }
}

/// On the API's address: 404 unless exposed there, then for a token that
/// may read metrics.
pub async fn on_api(State(state): State<AppState>, caller: Result<Caller, ApiError>) -> Result<Response, ApiError> {
    if !state.metrics_on_api() {
        return Err(ApiError::not_found(
            "METRICS_OFF",
            "metrics are off on this address; start mandate serve with --metrics token (here, for a token) \
             or --metrics ADDRESS (on an address of their own)",
        ));
    }
    caller?.require(Permission::ReadMetrics)?;
    scrape(&state).await
}

/// On the metrics listener: `/metrics` and nothing else.
pub fn listener_router(state: AppState) -> Router {
    Router::new()
        .route(PATH, axum::routing::get(async |State(state): State<AppState>| scrape(&state).await))
        .fallback(async || ApiError::not_found("ROUTE_NOT_FOUND", "this address serves GET /metrics only"))
        .with_state(state)
}

async fn scrape(state: &AppState) -> Result<Response, ApiError> {
    let at = chrono::Utc::now();
    let vitals = state.store().vitals(at).await?;
    let in_force = state.desk().in_force();
    let (long_poll_waiters, sdk_subscribers) = state.long_polls().held();
    let now = Now {
        at,
        open_by_severity: vitals.open_by_severity,
        outbox_due: vitals.outbox_due,
        outbox_oldest_due: vitals.outbox_oldest_due,
        approvals_waiting: vitals.approvals_waiting,
        last_anchor: vitals.last_anchor,
        round_trip: vitals.round_trip,
        stops_in_force: in_force.stops,
        gates_in_force: in_force.gates,
        sdk_subscribers,
        long_poll_waiters,
        paging_idle: state.desk().paging_idle().and_then(|d| d.to_std().ok()),
    };
    Ok(([(header::CONTENT_TYPE, CONTENT_TYPE)], render(&now)).into_response())
}
