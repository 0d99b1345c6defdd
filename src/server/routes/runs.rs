use crate::api::limits;
use crate::api::{
    CompleteRunRequest, CreateRunRequest, ErrorBody, RiskLevel, Run, RunPage, RunSource, RunState, RunStatus,
};
use crate::attribution::{ActorType, AttributionContext, EnforcementMode, log_violations, validate};
use crate::server::auth::{Caller, Permission};
use crate::server::request::{Fields, JsonObject, Query};
use crate::server::{ApiError, AppState};
use crate::store::{CompleteOutcome, NewRun, Rejection, RunCursor, RunFilter};
use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::IntoResponse;
use chrono::Utc;
use serde_json::{Map, Value};

pub use crate::api::OVERRIDE_HEADER;

pub fn override_claimed(headers: &HeaderMap) -> bool {
    headers.get(OVERRIDE_HEADER).and_then(|v| v.to_str().ok()).is_some_and(|v| v.eq_ignore_ascii_case("true"))
}

/// What the attribution figures count of a refusal: who it claimed to be,
/// and its `ATTR_…` codes among `details`.
pub(crate) fn attribution_rejection(
    subject: &'static str,
    ctx: AttributionContext,
    details: &[crate::api::ErrorDetail],
    override_claimed: bool,
) -> Rejection {
    Rejection {
        subject,
        payload: crate::rollout::sent_fields(&ctx),
        agent_id: ctx.agent_id,
        origin_system_id: ctx.origin_system_id,
        codes: details.iter().filter(|d| d.code.starts_with("ATTR_")).map(|d| d.code.clone()).collect(),
        override_claimed,
    }
}

/// Reads a create-run body: attribution first (the contract's gate, always
/// hard at the API), then every other field. All problems are listed.
pub fn parse_create_run(body: Map<String, Value>) -> Result<NewRun, ApiError> {
    parse_create_run_with(body).map_err(|r| r.error)
}

/// A refused run, with its attribution when that was the reason.
pub(crate) struct RunRejection {
    pub error: ApiError,
    pub attribution: Option<AttributionContext>,
}

/// As [`parse_create_run`], also returning the attribution of a rejected run.
pub(crate) fn parse_create_run_with(body: Map<String, Value>) -> Result<NewRun, Box<RunRejection>> {
    let mut fields = Fields::new(body);
    let ctx = AttributionContext {
        agent_id: fields.optional_id("agent_id", limits::NAME),
        actor_type: fields.optional_id("actor_type", limits::KIND),
        actor_id: fields.optional_id("actor_id", limits::NAME),
        origin_system_id: fields.optional_id("origin_system_id", limits::NAME),
        origin_ts: fields.optional_timestamp("origin_ts"),
        origin_ip: fields.optional_id("origin_ip", limits::KIND),
    };
    let attribution_well_typed = fields.errors.is_empty();
    let goal = fields.required_string("goal", limits::TEXT);
    let source = fields.required_enum("source", RunSource::parse, &RunSource::allowed());
    let provider_type = fields.required_id("provider_type", limits::KIND);
    let risk_level = fields.required_enum("risk_level", RiskLevel::parse, &RiskLevel::allowed());
    let violations = if attribution_well_typed { validate(&ctx) } else { Vec::new() };
    if !violations.is_empty() {
        log_violations(&ctx, &violations, EnforcementMode::Hard);
    }
    fields.finish_after(violations.iter().map(Into::into).collect()).map_err(|details| {
        Box::new(RunRejection {
            error: ApiError::violations(details),
            attribution: (!violations.is_empty()).then(|| ctx.clone()),
        })
    })?;
    let (Some(goal), Some(source), Some(provider_type), Some(risk_level)) = (goal, source, provider_type, risk_level)
    else {
        unreachable!("a missing required field is recorded as a violation");
    };
    let actor_type = ctx.actor_type.as_deref().and_then(ActorType::parse).expect("validated");
    Ok(NewRun {
        run_id: uuid::Uuid::now_v7().to_string(),
        goal,
        agent_id: ctx.agent_id.expect("validated"),
        actor_type,
        // A blank actor_id on a machine actor is stored as NULL, never as "".
        actor_id: if actor_type == ActorType::Human { ctx.actor_id } else { None },
        origin_system_id: ctx.origin_system_id.expect("validated"),
        source,
        provider_type,
        risk_level,
        origin_ts: ctx.origin_ts,
        origin_ip: ctx.origin_ip,
        created_at: Utc::now(),
    })
}

/// Create a run. Attribution is enforced hard: a violation is a 400 carrying
/// the contract's error for the first one and an `errors` list of all.
#[utoipa::path(
    post, path = "/api/v1/runs", tag = "runs",
    request_body = CreateRunRequest,
    responses(
        (status = 201, description = "Created", body = Run),
        (status = 400, description = "Attribution or schema violation", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, description = "The agent is paused (AGENT_PAUSED)", body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn create_run(
    _query: crate::server::request::NoQuery,
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    JsonObject(body): JsonObject,
) -> Result<impl IntoResponse, ApiError> {
    caller.require(Permission::WriteRuns)?;
    let claim = |key: &str| body.get(key).and_then(serde_json::Value::as_str);
    caller.may_claim(claim("actor_type"), claim("actor_id"))?;
    caller.may_act_for(claim("agent_id"))?;
    let now = state.desk().clock().now();
    let mut new_run = match parse_create_run_with(body).map_err(|r| *r) {
        Ok(run) => run,
        Err(RunRejection { error, attribution: Some(ctx) }) => {
            let legacy = ctx.carries_legacy_marker().then(|| (ctx.agent_id.clone(), ctx.origin_system_id.clone()));
            let rejection = attribution_rejection("run", ctx, &error.body.errors, override_claimed(&headers));
            state.store().record_rejections(&[rejection], now).await?;
            // Seed 000 §4, §7: a legacy marker once hard fail is in force is
            // an immediate P1 incident, and the platform target is paged
            // (after the refusal is counted: the breach shows with it).
            if let Some((agent, origin)) = legacy
                && state.desk().rollout_phase(now).is_hard()
            {
                state.desk().legacy_marker_seen(agent.as_deref(), origin.as_deref()).await?;
            }
            return Err(error);
        }
        Err(RunRejection { error, attribution: None }) => return Err(error),
    };
    new_run.created_at = now;
    if let Some(stop) = state.desk().stop_on_agent(&new_run.agent_id).await? {
        let why = stop.reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default();
        return Err(ApiError::conflict(
            "AGENT_PAUSED",
            format!(
                "agent {:?} is stopped ({} by {} since {}{why}); lift that stop to create runs",
                new_run.agent_id,
                stop.scope_label(),
                stop.by,
                stop.since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ),
        )
        .with_field("agent_id"));
    }
    let run = state.store().insert_run(new_run).await?;
    let location = format!("/api/v1/runs/{}", run.run_id);
    Ok((StatusCode::CREATED, [(header::LOCATION, location)], Json(run)))
}

/// Complete a LIVE run with its final status.
#[utoipa::path(
    post, path = "/api/v1/runs/{run_id}/complete", tag = "runs",
    params(("run_id" = String, Path, description = "The run to complete")),
    request_body = CompleteRunRequest,
    responses(
        (status = 200, body = Run),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody),
        (status = 409, description = "The run is already completed", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn complete_run(
    _query: crate::server::request::NoQuery,
    State(state): State<AppState>,
    caller: Caller,
    Path(run_id): Path<String>,
    JsonObject(body): JsonObject,
) -> Result<Json<Run>, ApiError> {
    caller.require(Permission::WriteRuns)?;
    crate::server::request::check_id("run_id", &run_id)?;
    let mut fields = Fields::new(body);
    let final_statuses = "succeeded, failed, cancelled";
    let status =
        fields.required_enum("status", |s| RunStatus::parse(s).filter(|s| *s != RunStatus::Running), final_statuses);
    let status = fields.finish_with(status)?;
    // A bound agent token completes its own agents' runs only.
    if caller.0.agents.is_some() {
        let run = state.store().get_run(&run_id).await?.ok_or_else(|| run_not_found(&run_id))?;
        caller.may_act_for(Some(&run.agent_id))?;
    }
    match state.store().complete_run(&run_id, status, Utc::now()).await? {
        CompleteOutcome::Completed(run) => Ok(Json(run)),
        CompleteOutcome::NotFound => Err(run_not_found(&run_id)),
        CompleteOutcome::AlreadyCompleted(run) => Err(ApiError::conflict(
            "RUN_ALREADY_COMPLETED",
            format!("run {} already completed with status {}", run.run_id, run.status),
        )),
    }
}

fn run_not_found(run_id: &str) -> ApiError {
    ApiError::not_found("RUN_NOT_FOUND", format!("no run with id {run_id:?}")).with_field("run_id")
}

/// One run.
#[utoipa::path(
    get, path = "/api/v1/runs/{run_id}", tag = "runs",
    params(("run_id" = String, Path)),
    responses((status = 200, body = Run), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn get_run(
    _query: crate::server::request::NoQuery,
    State(state): State<AppState>,
    caller: Caller,
    Path(run_id): Path<String>,
) -> Result<Json<Run>, ApiError> {
    caller.require(Permission::ReadRuns)?;
    crate::server::request::check_id("run_id", &run_id)?;
    let mut run = state.store().get_run(&run_id).await?.ok_or_else(|| run_not_found(&run_id))?;
    let filter = crate::store::DisputeFilter { run_id: Some(run_id), ..Default::default() };
    run.dispute = state.store().disputes(&filter, 1).await?.first().map(crate::api::DisputeMark::from);
    Ok(Json(run))
}

/// Runs, newest first, a page at a time.
#[utoipa::path(
    get, path = "/api/v1/runs", tag = "runs",
    params(
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 500, description = "default 50"),
        ("cursor" = Option<String>, Query, description = "next_cursor of the previous page"),
        ("agent_id" = Option<String>, Query),
        ("state" = Option<RunState>, Query),
    ),
    responses((status = 200, body = RunPage), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn list_runs(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Json<RunPage>, ApiError> {
    caller.require(Permission::ReadRuns)?;
    let mut query = Query::parse(raw.as_deref())?;
    let limit = query.take_number("limit", 1..=500, 50)?;
    let cursor = match query.take("cursor") {
        None => None,
        Some(raw) => Some(RunCursor::decode(&raw).ok_or_else(|| {
            ApiError::invalid_request("INVALID_CURSOR", "cursor is not a next_cursor this server returned")
                .with_field("cursor")
        })?),
    };
    let agent_id = query.take("agent_id");
    let run_state = match query.take("state") {
        None => None,
        Some(raw) => Some(RunState::parse(&raw).ok_or_else(|| {
            ApiError::invalid_request("INVALID_PARAMETER", format!("state must be one of: {}", RunState::allowed()))
                .with_field("state")
        })?),
    };
    query.finish(&["limit", "cursor", "agent_id", "state"])?;
    let filter = RunFilter { agent_id, state: run_state };
    let (runs, next) = state.store().list_runs(&filter, cursor.as_ref(), limit).await?;
    Ok(Json(RunPage { runs, next_cursor: next.map(|c| c.encode()) }))
}
