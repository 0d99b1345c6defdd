//! Stops over a run, one agent, a prefix of agents (`deployer-*`) or the
//! whole fleet: made and lifted by people with HUMAN attribution, listed
//! with whether each holds.

use super::interventions::{check_until, human_attribution, once};
use crate::api::{ErrorBody, LiftBody, StopBody, StopResult, StopScope, StopSummary, limits};
use crate::desk::StopRequest;
use crate::server::auth::{Caller, Permission};
use crate::server::request::{Fields, JsonObject};
use crate::server::{ApiError, AppState};
use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Map, Value};

/// Every stop in force, oldest first, with whether it holds: actions
/// recorded since it began, attempts refused, covered agents out of contact.
#[utoipa::path(
    get, path = "/api/v1/stops", tag = "agents",
    responses((status = 200, body = [StopSummary]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn list_stops(
    _query: crate::server::request::NoQuery,
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<StopSummary>>, ApiError> {
    caller.require(Permission::ReadOperations)?;
    Ok(Json(state.desk().list_stops().await?))
}

/// Stop a run, an agent, the agents whose names start with a prefix, or
/// the fleet (admin, `confirm`, a reason). The covered agents' SDKs refuse
/// their next actions; their new runs are refused (409 AGENT_PAUSED).
#[utoipa::path(
    post, path = "/api/v1/stops", tag = "agents",
    params(("Idempotency-Key" = Option<String>, Header, description = "Reused on retry: the stop is made once")),
    request_body = StopBody,
    responses(
        (status = 200, body = StopResult),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, description = "A viewer, a responder stopping the fleet, or actor_id is not the caller", body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 422, description = "The fleet without confirm", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn make_stop(
    _query: crate::server::request::NoQuery,
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    JsonObject(body): JsonObject,
) -> Result<Response, ApiError> {
    stop_or_lift(state, caller, headers, body, true).await
}

/// Lift the stop on a scope and target; other stops covering the same
/// agents stay in force. Lifting the fleet's stop is for admins.
#[utoipa::path(
    post, path = "/api/v1/stops/lift", tag = "agents",
    params(("Idempotency-Key" = Option<String>, Header)),
    request_body = LiftBody,
    responses(
        (status = 200, body = StopResult),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn lift_stop(
    _query: crate::server::request::NoQuery,
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    JsonObject(body): JsonObject,
) -> Result<Response, ApiError> {
    stop_or_lift(state, caller, headers, body, false).await
}

/// Makes (`making`) or lifts a stop, once per Idempotency-Key.
async fn stop_or_lift(
    state: AppState,
    caller: Caller,
    headers: HeaderMap,
    body: Map<String, Value>,
    making: bool,
) -> Result<Response, ApiError> {
    caller.require(Permission::Intervene)?;
    let route = if making { "stops" } else { "stops/lift" };
    once(&state, &caller, &headers, route, &body.clone(), async {
        let request = parse_stop(body, &caller, making)?;
        let done =
            if making { state.desk().make_stop(request).await? } else { state.desk().lift_stop(request).await? };
        Ok((StatusCode::OK, done))
    })
    .await
}

fn parse_stop(body: Map<String, Value>, caller: &Caller, making: bool) -> Result<StopRequest, ApiError> {
    let mut f = Fields::new(body);
    let attribution = human_attribution(&mut f, caller)?;
    let scope = f.required_enum("scope", StopScope::parse, &StopScope::allowed());
    let target = f.optional_id("target", limits::NAME);
    let reason = f.optional_string("reason", limits::REASON).filter(|r| !r.trim().is_empty());
    let (until, incident_id, confirm) = if making {
        (f.optional_timestamp("until"), f.optional_integer("incident_id"), f.optional_bool("confirm", false))
    } else {
        (None, None, false)
    };
    f.finish()?;
    let scope = scope.expect("validated");
    let field = |code: &str, message: String| ApiError::invalid_request(code, message).with_field("target");
    if let Some(t) = target.as_deref().filter(|t| !crate::api::target_shape_ok(t)) {
        return Err(field(
            "FIELD_INVALID_VALUE",
            format!("target {t:?} is not *, a name, or a prefix ending in one * (without spaces)"),
        ));
    }
    let target = match (scope, target) {
        (StopScope::Fleet, None) => "*".to_owned(),
        (StopScope::Fleet, Some(t)) if t == "*" => t,
        (StopScope::Fleet, Some(t)) => {
            return Err(field("FIELD_INVALID_VALUE", format!("the fleet's stop has no target (or \"*\"), not {t:?}")));
        }
        (_, None) => return Err(field("FIELD_MISSING", format!("a {scope} stop needs a target"))),
        (StopScope::Agents, Some(t)) => {
            let prefix = t.strip_suffix('*').unwrap_or_default();
            if prefix.is_empty() || prefix.contains('*') {
                return Err(field(
                    "FIELD_INVALID_VALUE",
                    format!(
                        "agents are stopped by a prefix ending in one *, such as deployer-*, not {t:?} (the fleet is scope fleet)"
                    ),
                ));
            }
            crate::api::identifier::normalized(t)
        }
        (_, Some(t)) if t.contains('*') => {
            return Err(field(
                "FIELD_INVALID_VALUE",
                format!("a {scope} stop names one {scope}; for a prefix use scope agents"),
            ));
        }
        (_, Some(t)) => crate::api::identifier::normalized(t),
    };
    if scope == StopScope::Fleet {
        caller.require(Permission::Administer)?;
    }
    if making && matches!(scope, StopScope::Agents | StopScope::Fleet) && reason.is_none() {
        return Err(ApiError::invalid_request("FIELD_MISSING", format!("a stop of {scope} needs a reason"))
            .with_field("reason"));
    }
    if making && scope == StopScope::Fleet && !confirm {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            crate::api::ErrorType::SchemaValidation,
            "CONFIRMATION_REQUIRED",
            "stopping the fleet stops every agent: send \"confirm\": true once the operator has confirmed",
        )
        .with_field("confirm"));
    }
    Ok(StopRequest {
        scope,
        target,
        reason,
        until: check_until(until)?,
        incident_id,
        actor_id: caller.0.name.clone(),
        attribution,
    })
}
