//! The routing configuration: read it, replace it (admin, audited).

use crate::api::ErrorBody;
use crate::routing::{Routing, RoutingDocument};
use crate::server::auth::{Caller, Permission};
use crate::server::request::JsonObject;
use crate::server::{ApiError, AppState};
use axum::Json;
use axum::extract::State;

/// The routing in force: escalation levels and rules (the built-in ones
/// until an admin or `mandate serve --routing` replaces them).
#[utoipa::path(
    get, path = "/api/v1/routing", tag = "routing",
    responses((status = 200, body = RoutingDocument), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn get_routing(State(state): State<AppState>, caller: Caller) -> Result<Json<RoutingDocument>, ApiError> {
    caller.require(Permission::ReadOperations)?;
    Ok(Json(state.desk().routing().document().clone()))
}

/// Replace the routing (admin). Checked as `mandate routing check` does;
/// recorded in the audit log.
#[utoipa::path(
    put, path = "/api/v1/routing", tag = "routing",
    request_body = RoutingDocument,
    responses((status = 200, body = RoutingDocument), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn put_routing(
    State(state): State<AppState>,
    caller: Caller,
    JsonObject(body): JsonObject,
) -> Result<Json<RoutingDocument>, ApiError> {
    caller.require(Permission::Administer)?;
    let invalid = |field: String, message: String| {
        ApiError::new(
            axum::http::StatusCode::BAD_REQUEST,
            crate::api::ErrorType::SchemaValidation,
            "ROUTING_INVALID",
            format!("routing {field}: {message}"),
        )
        .with_field(field)
    };
    let document: RoutingDocument = serde_path_to_error::deserialize(serde_json::Value::Object(body))
        .map_err(|e| invalid(e.path().to_string(), e.inner().to_string()))?;
    let routing = Routing::new(document, "request").map_err(|e| invalid(e.path, e.message))?;
    state.desk().replace_routing(routing, &caller.0.name).await?;
    Ok(Json(state.desk().routing().document().clone()))
}
