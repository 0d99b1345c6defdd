//! Notifications: what paging sent, is sending, retries or gave up on, and a
//! responder's retry of a dead one.

use crate::api::limits;
use crate::api::{DeliveryState, ErrorBody, Page, PageList};
use crate::server::auth::{Caller, Permission};
use crate::server::request::{Fields, JsonObject, Query};
use crate::server::{ApiError, AppState};
use axum::Json;
use axum::extract::{Path, RawQuery, State};

/// Notifications, newest due first: pending (waiting for their level's time
/// or a retry), sending, sent, dead (with the receiver's error) or cancelled.
#[utoipa::path(
    get, path = "/api/v1/notifications", tag = "paging",
    params(
        ("state" = Option<DeliveryState>, Query),
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 1000),
    ),
    responses((status = 200, body = PageList), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn list_notifications(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Json<PageList>, ApiError> {
    caller.require(Permission::ReadOperations)?;
    let mut query = Query::parse(raw.as_deref())?;
    let wanted = match query.take("state") {
        None => None,
        Some(raw) => Some(DeliveryState::parse(&raw).ok_or_else(|| {
            ApiError::invalid_request(
                "QUERY_INVALID",
                format!("state {raw:?}: expected one of {}", DeliveryState::allowed()),
            )
            .with_field("state")
        })?),
    };
    let limit = query.take_number("limit", 1..=1000, 200)?;
    query.finish(&["state", "limit"])?;
    let store = state.store();
    let (notifications, counts) = tokio::join!(store.list_pages(wanted, i64::from(limit)), store.page_counts());
    Ok(Json(PageList { notifications: notifications?, counts: counts? }))
}

/// Send a dead notification again (responder; recorded in the audit log).
/// The body carries the operator's HUMAN attribution and an optional reason.
#[utoipa::path(
    post, path = "/api/v1/notifications/{notification_id}/retry", tag = "paging",
    params(("notification_id" = String, Path)),
    request_body = crate::api::RetryBody,
    responses(
        (status = 200, body = Page), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 409, description = "The notification is not dead", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn retry_notification(
    _query: crate::server::request::NoQuery,
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    JsonObject(body): JsonObject,
) -> Result<Json<Page>, ApiError> {
    caller.require(Permission::Intervene)?;
    crate::server::request::check_id("notification_id", &id)?;
    let mut f = Fields::new(body);
    super::interventions::human_attribution(&mut f, &caller)?;
    let reason = f.optional_string("reason", limits::REASON);
    f.finish()?;
    Ok(Json(state.desk().retry_page(&id, &caller.0.name, reason).await?))
}
