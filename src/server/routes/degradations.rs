//! `GET /api/v1/degradations`: every slow-burn rule's last word, the open
//! degradations and the latest cleared (see [`crate::degradation`]).

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
