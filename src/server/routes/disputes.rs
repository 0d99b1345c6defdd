//! Disputed attribution (seed 13.2): people dispute, admins resolve.

use crate::api::limits;
use crate::api::{Dispute, DisputeBody, DisputeClaim, DisputeList, DisputeResolution, ErrorBody, ResolutionBody};
use crate::server::auth::{Caller, Permission};
use crate::server::request::{Fields, JsonObject, Query};
use crate::server::routes::interventions::once;
use crate::server::{ApiError, AppState};
use crate::store::DisputeFilter;
use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

/// Dispute an attribution: "this was not me" or "not this agent", with a
/// reason. The candidate and the run show DISPUTED until an admin resolves it.
#[utoipa::path(
    post, path = "/api/v1/disputes", tag = "disputes",
    params(("Idempotency-Key" = Option<String>, Header)),
    request_body = DisputeBody,
    responses(
        (status = 201, body = Dispute),
        (status = 404, body = ErrorBody, description = "EVENT_NOT_FOUND, INCIDENT_NOT_FOUND"),
        (status = 409, body = ErrorBody, description = "DISPUTE_OPEN: one open dispute per event"),
    ),
    security(("bearer" = []))
)]
pub async fn open_dispute(
    _query: crate::server::request::NoQuery,
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    JsonObject(body): JsonObject,
) -> Result<Response, ApiError> {
    // People only (viewers included: the person named may be one); agents cannot.
    caller.require(Permission::ReadOperations)?;
    once(&state, &caller, &headers, "dispute", &body.clone(), async {
        let mut f = Fields::new(body);
        let event_id = f.required_id("event_id", limits::REFERENCE);
        let claim = f.required_enum("claim", DisputeClaim::parse, &DisputeClaim::allowed());
        let reason = f.required_string("reason", limits::REASON);
        let incident_id = f.optional_integer("incident_id");
        let ((event_id, claim), reason) = f.finish_with(event_id.zip(claim).zip(reason))?;
        let dispute = state.desk().open_dispute(&event_id, incident_id, claim, &reason, &caller.0.name).await?;
        Ok((StatusCode::CREATED, dispute))
    })
    .await
}

/// Resolve a dispute: the attribution is upheld (it stands) or overturned
/// (it was wrong). Admins only; once.
#[utoipa::path(
    post, path = "/api/v1/disputes/{id}/resolution", tag = "disputes",
    params(("id" = i64, Path), ("Idempotency-Key" = Option<String>, Header)),
    request_body = ResolutionBody,
    responses(
        (status = 200, body = Dispute),
        (status = 404, body = ErrorBody, description = "DISPUTE_NOT_FOUND"),
        (status = 409, body = ErrorBody, description = "DISPUTE_RESOLVED"),
    ),
    security(("bearer" = []))
)]
pub async fn resolve_dispute(
    _query: crate::server::request::NoQuery,
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    JsonObject(body): JsonObject,
) -> Result<Response, ApiError> {
    caller.require(Permission::Administer)?;
    let id = crate::server::routes::incidents::parse_positive_id("dispute", &id)?;
    once(&state, &caller, &headers, &format!("dispute:{id}"), &body.clone(), async {
        let mut f = Fields::new(body);
        let resolution = f.required_enum("resolution", DisputeResolution::parse, &DisputeResolution::allowed());
        let note = f.optional_string("note", limits::REASON);
        let resolution = f.finish_with(resolution)?;
        let dispute = state.desk().resolve_dispute(id, resolution, note.as_deref(), &caller.0.name).await?;
        Ok((StatusCode::OK, dispute))
    })
    .await
}

/// Disputes, newest first.
#[utoipa::path(
    get, path = "/api/v1/disputes", tag = "disputes",
    params(
        ("state" = Option<String>, Query, description = "open, resolved or all (default)"),
        ("event_id" = Option<String>, Query),
        ("run_id" = Option<String>, Query),
        ("incident_id" = Option<i64>, Query),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 500),
    ),
    responses((status = 200, body = DisputeList)),
    security(("bearer" = []))
)]
pub async fn list_disputes(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Json<DisputeList>, ApiError> {
    caller.require(Permission::ReadOperations)?;
    let mut query = Query::parse(raw.as_deref())?;
    let limit = query.take_number("limit", 1..=500, 100)?;
    let open = match query.take("state").as_deref() {
        None | Some("all") => None,
        Some("open") => Some(true),
        Some("resolved") => Some(false),
        Some(other) => {
            return Err(ApiError::invalid_request(
                "INVALID_PARAMETER",
                format!("state must be open, resolved or all, not {other:?}"),
            )
            .with_field("state"));
        }
    };
    let incident_id = match query.take("incident_id") {
        None => None,
        Some(raw) => {
            Some(crate::server::routes::incidents::parse_incident_id(&raw).map_err(|e| e.with_field("incident_id"))?)
        }
    };
    let filter = DisputeFilter { open, event_id: query.take("event_id"), run_id: query.take("run_id"), incident_id };
    query.finish(&["state", "event_id", "run_id", "incident_id", "limit"])?;
    Ok(Json(DisputeList { disputes: state.store().disputes(&filter, limit).await? }))
}
