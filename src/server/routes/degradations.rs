//! `GET /api/v1/degradations`: every slow-burn rule's last word, the open
//! degradations and the latest cleared (see [`crate::metrics_in`]).

use crate::api::{DegradationList, ErrorBody};
use crate::server::auth::{Caller, Permission};
use crate::server::{ApiError, AppState};
use axum::Json;
use axum::extract::State;

/// Slow-burn rules and their degradations.
#[utoipa::path(
    get, path = "/api/v1/degradations", tag = "incidents",
    responses((status = 200, body = DegradationList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn list_degradations(
    _query: crate::server::request::NoQuery,
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<DegradationList>, ApiError> {
    caller.require(Permission::ReadOperations)?;
    Ok(Json(state.store().degradations().await?))
}

/// The incident's failing and affected services measured now by the team's
/// Prometheus: error rate, latency, request rate, and requests failed
/// since it began. 404 `METRICS_NOT_CONFIGURED` without `[metrics]`.
#[utoipa::path(
    get, path = "/api/v1/incidents/{id}/impact", tag = "incidents",
    params(("id" = i64, Path)),
    responses(
        (status = 200, body = crate::api::ImpactReport),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn incident_impact(
    _query: crate::server::request::NoQuery,
    State(state): State<AppState>,
    caller: Caller,
    axum::extract::Path(id): axum::extract::Path<String>,
) -> Result<Json<crate::api::ImpactReport>, ApiError> {
    caller.require(Permission::ReadOperations)?;
    let id = super::incidents::parse_incident_id(&id)?;
    let record = state
        .store()
        .get_incident(id)
        .await?
        .ok_or_else(|| ApiError::not_found("INCIDENT_NOT_FOUND", format!("no incident #{id}")))?;
    let routing = state.desk().routing();
    let Some(source) = routing.document().metrics.clone() else {
        return Err(ApiError::not_found(
            "METRICS_NOT_CONFIGURED",
            "no Prometheus is configured: the routing file's [metrics] names it, and [[metrics.impact]] what to ask",
        ));
    };
    let s = &record.summary;
    let radius = crate::incident::blast_radius(&state.desk().catalog(), &[], &s.resources);
    let mut services = s.resources.clone();
    for a in radius.definitely.iter().chain(&radius.likely) {
        if !services.contains(&a.service) {
            services.push(a.service.clone());
        }
    }
    let to = s.resolved_at.unwrap_or_else(chrono::Utc::now);
    Ok(Json(crate::metrics_in::impact::measure(super::outbound(), &source, id, &services, (s.started_at, to)).await))
}
