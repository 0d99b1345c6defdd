//! The attribution rollout: where each origin system stands, the weekly
//! status on demand, and the outreach to a non-compliant service's owner.

use crate::api::limits;
use crate::api::{ComplianceStatus, ErrorBody, RolloutStatus};
use crate::desk::OutreachRefused;
use crate::rollout::Filter;
use crate::server::auth::{Caller, Permission};
use crate::server::request::{Fields, JsonObject, Query};
use crate::server::{ApiError, AppState};
use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// Per-service compliance, trends, phases and milestones, the breach.
/// `status` keeps some statuses (comma-separated); `q`, names containing it.
#[utoipa::path(
    get, path = "/api/v1/attribution/rollout", tag = "attribution",
    params(
        ("status" = Option<String>, Query, description = "violating, using_override, silent, compliant; comma-separated"),
        ("q" = Option<String>, Query, description = "only services whose name contains this (any case)"),
    ),
    responses(
        (status = 200, body = RolloutStatus), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn rollout_status(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Json<RolloutStatus>, ApiError> {
    caller.require(Permission::ReadOperations)?;
    let mut query = Query::parse(raw.as_deref())?;
    let mut filter = Filter::default();
    if let Some(raw) = query.take("status") {
        for part in raw.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let status = ComplianceStatus::parse(part).ok_or_else(|| {
                ApiError::invalid_request(
                    "INVALID_PARAMETER",
                    format!("status {part:?}: expected one of {}", ComplianceStatus::allowed()),
                )
                .with_field("status")
            })?;
            filter.statuses.push(status);
        }
    }
    filter.text = query.take("q").filter(|q| !q.trim().is_empty());
    query.finish(&["status", "q"])?;
    Ok(Json(state.desk().rollout_status(&filter).await?))
}

/// Seed 000 §6's weekly status from live figures, as Markdown.
#[utoipa::path(
    get, path = "/api/v1/attribution/report", tag = "attribution",
    responses(
        (status = 200, description = "The weekly status, Markdown", content_type = "text/markdown", body = String),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn weekly_report(
    _query: crate::server::request::NoQuery,
    State(state): State<AppState>,
    caller: Caller,
) -> Result<impl IntoResponse, ApiError> {
    caller.require(Permission::ReadOperations)?;
    let (subject, body) = state.desk().weekly_status().await?;
    let text = format!("**Subject:** {subject}\n\n---\n\n{body}");
    Ok(([(header::CONTENT_TYPE, "text/markdown; charset=utf-8")], text))
}

/// Seed 000 §5: send a non-compliant service's owner the direct message with
/// its own violations and the required change, through the owner's channel
/// (responder; recorded in the audit log). Once a day per service.
#[utoipa::path(
    post, path = "/api/v1/attribution/services/{service}/outreach", tag = "attribution",
    params(
        ("service" = String, Path, description = "The origin_system_id"),
        ("Idempotency-Key" = Option<String>, Header, description = "Reused on retry: the message goes once"),
    ),
    request_body = crate::api::OutreachBody,
    responses(
        (status = 200, body = crate::api::OutreachSent), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "The service is compliant or silent, or was reached today", body = ErrorBody),
        (status = 422, description = "Idempotency-Key reused for another request", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn reach_out(
    _query: crate::server::request::NoQuery,
    State(state): State<AppState>,
    caller: Caller,
    Path(service): Path<String>,
    headers: HeaderMap,
    JsonObject(body): JsonObject,
) -> Result<Response, ApiError> {
    caller.require(Permission::Intervene)?;
    crate::server::request::check_id("service", &service)?;
    let route = format!("outreach {service}");
    let mut f = Fields::new(body.clone());
    let attribution = super::interventions::human_attribution(&mut f, &caller)?;
    let reason = f.optional_string("reason", limits::REASON);
    f.finish()?;
    // A retry with the same Idempotency-Key gets the first answer, not
    // "already sent today".
    super::interventions::once(&state, &caller, &headers, &route, &body, async {
        match state.desk().reach_out(&service, &caller.0.name, attribution, reason.as_deref()).await {
            Ok(sent) => Ok((StatusCode::OK, sent)),
            Err(e @ (OutreachRefused::Unknown(_) | OutreachRefused::NoOrigin)) => {
                Err(ApiError::not_found("SERVICE_NOT_FOUND", e.to_string()).with_field("service"))
            }
            Err(e @ OutreachRefused::Compliant { .. }) => Err(ApiError::conflict("SERVICE_COMPLIANT", e.to_string())),
            Err(e @ OutreachRefused::AlreadySent { .. }) => {
                Err(ApiError::conflict("OUTREACH_ALREADY_SENT", e.to_string()))
            }
            Err(OutreachRefused::Store(e)) => Err(e.into()),
        }
    })
    .await
}
