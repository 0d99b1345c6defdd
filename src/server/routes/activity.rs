//! LIVE-O5 and COMP-O5: run distributions by dimension. The topic is bound by
//! the path; the caller picks only the dimension.

use crate::api::{Dimension, Distribution, ErrorBody, Topic};
use crate::server::auth::{Caller, Permission};
use crate::server::request::Query;
use crate::server::{ApiError, AppState};
use axum::Json;
use axum::extract::{RawQuery, State};
use chrono::Utc;

async fn distribution(
    state: &AppState,
    caller: &Caller,
    topic: Topic,
    raw_query: Option<&str>,
) -> Result<Json<Distribution>, ApiError> {
    caller.require(Permission::ReadOperations)?;
    let mut query = Query::parse(raw_query)?;
    query.forbid_topic_override()?;
    let allowed = Dimension::allowed();
    let dim = match query.take("dim") {
        None => {
            return Err(ApiError::invalid_request("DIMENSION_REQUIRED", format!("dim is required; one of: {allowed}"))
                .with_field("dim"));
        }
        Some(raw) => Dimension::parse(&raw).ok_or_else(|| {
            ApiError::invalid_request("UNKNOWN_DIMENSION", format!("unknown dim {raw:?}; allowed: {allowed}"))
                .with_field("dim")
        })?,
    };
    query.finish(&["dim"])?;
    let buckets = state.store().distribution(topic, dim).await?;
    let total = buckets.iter().map(|b| b.count).sum();
    Ok(Json(Distribution { topic, dim, buckets, total, generated_at: Utc::now() }))
}

/// LIVE-O5: LIVE runs by dimension.
#[utoipa::path(
    get, path = "/api/v1/activity/runs/live/by-dimension", tag = "activity",
    params(("dim" = Dimension, Query, description = "agent_id | provider_type | source | risk_level | status")),
    responses(
        (status = 200, body = Distribution),
        (status = 400, description = "Unknown dim, or any other parameter (a `state` above all)", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn live_by_dimension(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Json<Distribution>, ApiError> {
    distribution(&state, &caller, Topic::Live, raw.as_deref()).await
}

/// COMP-O5: COMPLETED runs by dimension.
#[utoipa::path(
    get, path = "/api/v1/activity/runs/completed/by-dimension", tag = "activity",
    params(("dim" = Dimension, Query, description = "agent_id | provider_type | source | risk_level | status")),
    responses(
        (status = 200, body = Distribution),
        (status = 400, description = "Unknown dim, or any other parameter (a `state` above all)", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn completed_by_dimension(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Json<Distribution>, ApiError> {
    distribution(&state, &caller, Topic::Completed, raw.as_deref()).await
}
