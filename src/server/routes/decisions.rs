//! What an agent's next action gets: `GET /api/v1/decisions`. A critical
//! point of the routing file gates or flags it, else an active learned rule
//! decides, else it is monitored (seed 004 §4.3–4.4). Answered from memory.

use crate::api::{ActionDecision, ErrorBody};
use crate::server::auth::{Caller, Permission};
use crate::server::request::Query;
use crate::server::{ApiError, AppState};
use axum::Json;
use axum::extract::{RawQuery, State};

/// The decision for one action an agent is about to take.
#[utoipa::path(
    get, path = "/api/v1/decisions", tag = "agents",
    params(
        ("agent_id" = String, Query, description = "the agent about to act"),
        ("action_type" = Option<String>, Query, description = "deploy, config_change, drop_table, …"),
        ("resource" = Option<String>, Query, description = "what it acts on: a resource or catalog service"),
        ("actor_type" = Option<crate::attribution::ActorType>, Query, description = "who it acts for"),
    ),
    responses(
        (status = 200, body = ActionDecision),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn decide(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Json<ActionDecision>, ApiError> {
    caller.require(Permission::ReadRuns)?;
    let mut query = Query::parse(raw.as_deref())?;
    let agent = query.take("agent_id").filter(|a| !a.trim().is_empty());
    let action_type = query.take("action_type");
    let resource = query.take("resource");
    let actor_type = query.take("actor_type");
    query.finish(&["agent_id", "action_type", "resource", "actor_type"])?;
    let agent = agent.ok_or_else(|| {
        ApiError::invalid_request("FIELD_MISSING", "agent_id names the agent about to act".to_owned())
            .with_field("agent_id")
    })?;
    if let Some(t) = actor_type.as_deref().filter(|t| !matches!(*t, "HUMAN" | "SYSTEM" | "SERVICE")) {
        return Err(ApiError::invalid_request(
            "FIELD_INVALID_VALUE",
            format!("actor_type {t:?} is not one of HUMAN, SYSTEM, SERVICE"),
        )
        .with_field("actor_type"));
    }
    let normalized = |v: Option<String>| v.map(crate::api::identifier::normalized);
    let (agent, action_type, resource) =
        (crate::api::identifier::normalized(agent), normalized(action_type), normalized(resource));
    let desk = state.desk();
    Ok(Json(desk.decide_action(&agent, action_type.as_deref(), resource.as_deref(), actor_type.as_deref()).await?))
}
