//! Alerts in: `POST /api/v1/alerts/alertmanager` takes Alertmanager's
//! webhook payload (version 4) as Alertmanager sends it, and
//! `POST /api/v1/alerts` the generic shape ([`AlertBatch`]). Either needs a
//! token with the `monitor` role (or `admin`). Each alert becomes an event on
//! its resource (see [`crate::alerts`]); repeats are counted, not stored.

use crate::alerts::{Alert, alertmanager, to_event};
use crate::api::{AlertBatch, AlertReport, ErrorBody, MAX_ALERTS, limits};
use crate::server::auth::{Caller, Permission};
use crate::server::request::JsonDocument;
use crate::server::{ApiError, AppState};
use axum::Json;
use axum::extract::State;
use chrono::Utc;

fn invalid(code: &'static str, message: String) -> ApiError {
    ApiError::new(axum::http::StatusCode::BAD_REQUEST, crate::api::ErrorType::SchemaValidation, code, message)
}

fn too_many(n: usize) -> ApiError {
    invalid("BATCH_TOO_LARGE", format!("a request holds at most {MAX_ALERTS} alerts, not {n}"))
}

/// Alertmanager's webhook receiver. Configure it with
/// `webhook_configs: [{url: …/api/v1/alerts/alertmanager, send_resolved: true,
/// http_config: {authorization: {credentials: TOKEN}}}]`.
#[utoipa::path(
    post, path = "/api/v1/alerts/alertmanager", tag = "alerts",
    request_body(content = alertmanager::Notification, description = "Alertmanager's webhook payload, version 4, as Alertmanager sends it (fields it may add later are ignored)"),
    responses(
        (status = 200, body = AlertReport),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn from_alertmanager(
    _query: crate::server::request::NoQuery,
    State(state): State<AppState>,
    caller: Caller,
    JsonDocument(body): JsonDocument,
) -> Result<Json<AlertReport>, ApiError> {
    caller.require(Permission::WriteAlerts)?;
    let notification = alertmanager::parse(body).map_err(|m| invalid("ALERTMANAGER_PAYLOAD_INVALID", m))?;
    if notification.alerts.len() > MAX_ALERTS {
        return Err(too_many(notification.alerts.len()));
    }
    if notification.truncated_alerts > 0 {
        tracing::warn!(
            truncated = notification.truncated_alerts,
            receiver = %notification.receiver,
            "Alertmanager left alerts out of a notification (its max_alerts): they arrive in later ones"
        );
    }
    let alerts = notification.alerts.into_iter().map(alertmanager::NotifiedAlert::into_alert).collect();
    Ok(Json(record(&state, alerts).await?))
}

/// Alerts from any monitor, in Mandate's generic shape.
#[utoipa::path(
    post, path = "/api/v1/alerts", tag = "alerts",
    request_body = AlertBatch,
    responses(
        (status = 200, body = AlertReport),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn post_alerts(
    _query: crate::server::request::NoQuery,
    State(state): State<AppState>,
    caller: Caller,
    JsonDocument(body): JsonDocument,
) -> Result<Json<AlertReport>, ApiError> {
    caller.require(Permission::WriteAlerts)?;
    let batch: AlertBatch = serde_path_to_error::deserialize(body).map_err(|e| {
        invalid("ALERTS_INVALID", format!("{}: {}", e.path(), e.inner())).with_field(e.path().to_string())
    })?;
    let source_ok = !batch.source.is_empty()
        && batch.source.chars().count() <= limits::KIND
        && batch.source.chars().all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
    if !source_ok {
        return Err(invalid(
            "ALERTS_INVALID",
            "source names the monitor: 1 to 64 letters, digits, '-', '_' or '.'".to_owned(),
        )
        .with_field("source"));
    }
    if batch.alerts.len() > MAX_ALERTS {
        return Err(too_many(batch.alerts.len()));
    }
    if let Some(at) = batch.alerts.iter().position(|a| a.name.trim().is_empty()) {
        return Err(invalid("ALERTS_INVALID", format!("alerts[{at}].name is empty: an alert has a name"))
            .with_field(format!("alerts[{at}].name")));
    }
    let alerts = batch
        .alerts
        .into_iter()
        .map(|a| Alert {
            name: a.name,
            source: batch.source.clone(),
            status: a.status,
            starts_at: Some(a.starts_at),
            ends_at: a.ends_at,
            fingerprint: a.fingerprint,
            url: a.url,
            labels: a.labels,
            annotations: a.annotations,
        })
        .collect();
    Ok(Json(record(&state, alerts).await?))
}

/// Records alerts as events. An id already holding the same alert with other
/// annotations (a later notification of one firing) is a repeat.
async fn record(state: &AppState, alerts: Vec<Alert>) -> Result<AlertReport, ApiError> {
    let now = Utc::now();
    let (catalog, window) = (state.desk().catalog(), state.desk().event_window());
    let mut unmatched = Vec::new();
    let mut events = Vec::with_capacity(alerts.len());
    for (at, alert) in alerts.into_iter().enumerate() {
        let made = to_event(alert, &catalog, now, window);
        if !made.matched {
            unmatched.push(at);
        }
        events.push(made.event);
    }
    if events.is_empty() {
        return Ok(AlertReport { accepted: 0, repeats: 0, unmatched, incidents: vec![] });
    }
    let report = state.desk().ingest(events).await?;
    let (repeats, refused): (Vec<_>, Vec<_>) =
        report.rejected.into_iter().partition(|r| r.error.code == "EVENT_ID_CONFLICT");
    if let Some(r) = refused.first() {
        // Nothing else refuses an alert's event; say so rather than lose it.
        tracing::error!(alert = r.index, code = %r.error.code, message = %r.error.message, "an alert's event was refused");
        return Err(ApiError::internal());
    }
    let report = AlertReport {
        accepted: report.accepted,
        repeats: report.duplicates + repeats.len(),
        unmatched,
        incidents: report.incidents,
    };
    crate::metrics::alerts_recorded(report.accepted, report.repeats, report.unmatched.len());
    Ok(report)
}
