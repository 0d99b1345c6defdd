//! Gated actions: an agent about to act asks (`POST /api/v1/approvals`),
//! waits on its request (`GET /api/v1/approvals/{id}?wait=30`), and a
//! person decides (`POST /api/v1/approvals/{id}/decision`, HUMAN
//! attribution, Idempotency-Key). The list carries the friction report.

use super::incidents::MAX_WAIT_SECONDS;
use super::interventions::{human_attribution, once};
use crate::api::{
    ApprovalDecisionBody, ApprovalList, ApprovalRequest, ApprovalStatus, ErrorBody, GateAnswer, GateBody, limits,
};
use crate::desk::{ApprovalDecision, GateRequest};
use crate::server::auth::{Caller, Permission};
use crate::server::request::{Fields, JsonObject, Query};
use crate::server::{ApiError, AppState};
use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;

/// An agent about to act asks: the decision its action gets and, when the
/// action is gated, the approval request it must wait on (the same one for
/// the same `request_key`). A flagged action proceeds; people are told.
#[utoipa::path(
    post, path = "/api/v1/approvals", tag = "agents",
    request_body = GateBody,
    responses(
        (status = 200, body = GateAnswer),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn ask(
    _query: crate::server::request::NoQuery,
    State(state): State<AppState>,
    caller: Caller,
    JsonObject(body): JsonObject,
) -> Result<Json<GateAnswer>, ApiError> {
    caller.require(Permission::WriteRuns)?;
    let mut f = Fields::new(body);
    let agent_id = f.required_id("agent_id", limits::NAME);
    let action_type = f.required_id("action_type", limits::KIND);
    let resource = f.optional_id("resource", limits::NAME);
    let summary = f.required_string("summary", limits::REASON);
    let run_id = f.optional_id("run_id", limits::REFERENCE);
    let on_behalf_of = f.optional_id("on_behalf_of", limits::NAME);
    let actor_type = f.optional_id("actor_type", limits::KIND);
    let request_key = f.required_id("request_key", limits::REFERENCE);
    let required = agent_id.zip(action_type).zip(summary).zip(request_key);
    let (((agent_id, action_type), summary), request_key) = f.finish_with(required)?;
    if let Some(t) = actor_type.as_deref().filter(|t| !matches!(*t, "HUMAN" | "SYSTEM" | "SERVICE")) {
        return Err(ApiError::invalid_request(
            "FIELD_INVALID_VALUE",
            format!("actor_type {t:?} is not one of HUMAN, SYSTEM, SERVICE"),
        )
        .with_field("actor_type"));
    }
    if summary.trim().is_empty() {
        return Err(ApiError::invalid_request("FIELD_MISSING", "summary says what will be done, for the approver")
            .with_field("summary"));
    }
    let normalized = crate::api::identifier::normalized;
    let agent_id = normalized(agent_id);
    caller.may_act_for(Some(&agent_id))?;
    let request = GateRequest {
        agent_id,
        action_type: normalized(action_type),
        resource: resource.map(normalized),
        summary,
        run_id,
        on_behalf_of: on_behalf_of.map(|h| h.trim_start_matches('@').to_owned()),
        actor_type,
        request_key,
    };
    Ok(Json(state.desk().gate(request).await?))
}

/// Waiting requests first (soonest to run out first), then the latest 100
/// decided; with the friction report of the last 7 days.
#[utoipa::path(
    get, path = "/api/v1/approvals", tag = "incidents",
    responses((status = 200, body = ApprovalList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn list_approvals(
    _query: crate::server::request::NoQuery,
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<ApprovalList>, ApiError> {
    caller.require(Permission::ReadOperations)?;
    let approvals = state.desk().list_approvals().await?;
    let waiting = approvals.iter().filter(|a| a.status == ApprovalStatus::Waiting).count() as i64;
    let friction = state.desk().approval_friction().await?;
    Ok(Json(ApprovalList { approvals, waiting, friction }))
}

/// One request. With `wait=SECONDS` it answers as soon as the request is
/// decided (on any server of the database) or the wait passes; an agent's
/// SDK waits this way, and a request nobody waits on is abandoned at its end.
#[utoipa::path(
    get, path = "/api/v1/approvals/{id}", tag = "agents",
    params(
        ("id" = i64, Path),
        ("wait" = Option<u32>, Query, minimum = 0, maximum = 30, description = "seconds to wait for a decision"),
    ),
    responses(
        (status = 200, body = ApprovalRequest),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn get_approval(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Json<ApprovalRequest>, ApiError> {
    caller.require(Permission::ReadRuns)?;
    let id = parse_approval_id(&id)?;
    let mut query = Query::parse(raw.as_deref())?;
    let wait = query.take_number("wait", 0..=MAX_WAIT_SECONDS, 0)?;
    query.finish(&["wait"])?;
    let by_agent = Permission::WriteRuns.granted_to(caller.0.role);
    let found = state.desk().wait_approval(id, std::time::Duration::from_secs(u64::from(wait)), by_agent).await?;
    let approval = found.ok_or_else(|| not_found(id))?;
    caller.may_act_for(Some(&approval.agent_id)).map_err(|_| not_found(id))?;
    Ok(Json(approval))
}

/// A person approves or denies a waiting request, with a reason and the
/// digest of what they were shown; it cannot be undone (`confirm: true`).
/// A request that needs two approvals waits on after the first.
#[utoipa::path(
    post, path = "/api/v1/approvals/{id}/decision", tag = "interventions",
    params(("id" = i64, Path), ("Idempotency-Key" = Option<String>, Header, description = "Reused on retry: the decision is made once")),
    request_body = ApprovalDecisionBody,
    responses(
        (status = 200, body = ApprovalRequest),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "Decided already, run out, four eyes, or the digest is not the request's", body = ErrorBody),
        (status = 422, description = "Not confirmed", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn decide(
    _query: crate::server::request::NoQuery,
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    JsonObject(body): JsonObject,
) -> Result<Response, ApiError> {
    caller.require(Permission::Intervene)?;
    let id = parse_approval_id(&id)?;
    let route = format!("approval:{id}");
    once(&state, &caller, &headers, &route, &body.clone(), async {
        let mut f = Fields::new(body);
        let attribution = human_attribution(&mut f, &caller)?;
        let verdict = f.required_enum("decision", parse_verdict, "approve, deny");
        let reason = f.required_string("reason", limits::REASON);
        let digest = f.required_id("digest", limits::REFERENCE);
        let confirm = f.optional_bool("confirm", false);
        let (approve, (reason, digest)) = f.finish_with(verdict.zip(reason.zip(digest)))?;
        if reason.trim().is_empty() {
            return Err(ApiError::invalid_request(
                "FIELD_MISSING",
                "say why: the reason is recorded with the decision",
            )
            .with_field("reason"));
        }
        if !confirm {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                crate::api::ErrorType::SchemaValidation,
                "CONFIRMATION_REQUIRED",
                "a decision cannot be undone: send \"confirm\": true once the operator has confirmed",
            )
            .with_field("confirm"));
        }
        let decision = ApprovalDecision { id, approve, reason, digest, actor_id: caller.0.name.clone(), attribution };
        Ok((StatusCode::OK, state.desk().decide_approval(decision).await?))
    })
    .await
}

fn parse_verdict(raw: &str) -> Option<bool> {
    match raw {
        "approve" => Some(true),
        "deny" => Some(false),
        _ => None,
    }
}

fn parse_approval_id(raw: &str) -> Result<i64, ApiError> {
    raw.parse::<i64>().ok().filter(|id| *id > 0).ok_or_else(|| {
        ApiError::invalid_request("INVALID_ID", format!("approval id {raw:?} is not a positive whole number"))
            .with_field("id")
    })
}

fn not_found(id: i64) -> ApiError {
    ApiError::not_found("APPROVAL_NOT_FOUND", format!("no approval request #{id}"))
}
