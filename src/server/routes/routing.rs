//! The routing configuration: read it, replace it (admin, audited).

use crate::api::{ErrorBody, OnCallAnswer, RoutingChange, RoutingUsage, RuleUsage};
use crate::routing::{Routing, RoutingDocument};
use crate::server::auth::{Caller, Permission};
use crate::server::request::JsonObject;
use crate::server::request::Query;
use crate::server::{ApiError, AppState};
use axum::Json;
use axum::extract::{Path, RawQuery, State};

/// The routing in force: escalation levels and rules (the built-in ones
/// until an admin or `mandate serve --routing` replaces them).
#[utoipa::path(
    get, path = "/api/v1/routing", tag = "routing",
    responses((status = 200, body = RoutingDocument), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn get_routing(
    _query: crate::server::request::NoQuery,
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<RoutingDocument>, ApiError> {
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
    _query: crate::server::request::NoQuery,
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

/// Every routing decision an incident was given, oldest first: recorded by
/// the background work whenever the incident's change changed it.
#[utoipa::path(
    get, path = "/api/v1/incidents/{id}/routing", tag = "routing",
    params(("id" = i64, Path)),
    responses((status = 200, body = [RoutingChange]), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn routing_history(
    _query: crate::server::request::NoQuery,
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Vec<RoutingChange>>, ApiError> {
    caller.require(Permission::ReadOperations)?;
    let id = super::incidents::parse_incident_id(&id)?;
    if state.store().get_incident(id).await?.is_none() {
        return Err(super::incidents::incident_not_found(id));
    }
    let history = state.store().routing_history(id).await?;
    Ok(Json(history.into_iter().map(|(at, decision)| RoutingChange { at, decision }).collect()))
}

/// Rule hygiene (seed 5.2): how often each rule was chosen over the last
/// `days` (30 by default), and which rules of the routing in force never were.
#[utoipa::path(
    get, path = "/api/v1/routing/usage", tag = "routing",
    params(("days" = Option<u32>, Query, minimum = 1, maximum = 365)),
    responses((status = 200, body = RoutingUsage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn routing_usage(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Json<RoutingUsage>, ApiError> {
    caller.require(Permission::ReadOperations)?;
    let mut query = Query::parse(raw.as_deref())?;
    let days = query.take_number("days", 1..=365, 30)?;
    query.finish(&["days"])?;
    let since = chrono::Utc::now() - chrono::Duration::days(i64::from(days));
    let used = state.store().rule_usage(since).await?;
    let mut rules: Vec<RuleUsage> = used
        .iter()
        .map(|u| RuleUsage {
            rule: u.rule.clone(),
            incidents: u.incidents,
            last_matched: Some(u.last_matched),
            never_matched: false,
        })
        .collect();
    for rule in state.desk().routing().rules() {
        if !used.iter().any(|u| u.rule.as_deref() == Some(rule.name.as_str())) {
            rules.push(RuleUsage {
                rule: Some(rule.name.clone()),
                incidents: 0,
                last_matched: None,
                never_matched: true,
            });
        }
    }
    Ok(Json(RoutingUsage { days, rules }))
}

/// Who is on call for a team now: its schedule (rotation or override) in the
/// routing, else the on-call the catalog names for the team's services.
#[utoipa::path(
    get, path = "/api/v1/oncall", tag = "routing",
    params(("team" = String, Query)),
    responses((status = 200, body = OnCallAnswer), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn on_call(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Json<OnCallAnswer>, ApiError> {
    caller.require(Permission::ReadOperations)?;
    let mut query = Query::parse(raw.as_deref())?;
    let team = query.take("team").filter(|t| !t.trim().is_empty()).ok_or_else(|| {
        ApiError::invalid_request("FIELD_MISSING", "team is required: ?team=payments").with_field("team")
    })?;
    query.finish(&["team"])?;
    if let Some(schedule) = state.desk().routing().schedule(&team) {
        let on = schedule.on_call(chrono::Utc::now());
        return Ok(Json(OnCallAnswer { team, who: on.who, until: Some(on.until), source: on.source.to_owned() }));
    }
    let catalog = state.desk().catalog();
    let named = catalog.services().find(|s| s.team.as_deref() == Some(team.as_str())).and_then(|s| s.on_call.clone());
    match named {
        Some(who) => Ok(Json(OnCallAnswer { team, who, until: None, source: "catalog".to_owned() })),
        None => Err(ApiError::not_found(
            "ON_CALL_UNKNOWN",
            format!("no schedule in the routing and no on-call in the catalog for team {team:?}"),
        )),
    }
}
