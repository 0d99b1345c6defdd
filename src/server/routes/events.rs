//! `POST /api/v1/events`: one event or a batch of up to 1,000.

use crate::api::limits;
use crate::api::{ErrorBody, ErrorDetail, Event, EventBatch, EventFlag, IngestReport, Outcome, RejectedEvent};
use crate::attribution::{ActorType, AttributionContext, EnforcementMode, log_violations, validate};
use crate::desk::EventWindow;
use crate::server::auth::{Caller, Permission};
use crate::server::request::{Fields, JsonDocument};
use crate::server::routes::runs::{attribution_rejection, override_claimed};
use crate::server::{ApiError, AppState};
use axum::Json;
use axum::extract::State;
use axum::http::HeaderMap;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

pub const MAX_BATCH: usize = 1000;

/// Why an event was refused, and its attribution when that was the reason.
#[derive(Debug)]
pub struct EventRejection {
    pub details: Vec<ErrorDetail>,
    pub attribution: Option<AttributionContext>,
}

/// One event, read strictly. With no attribution at all it is kept and
/// flagged "actor unknown" (seed 13.4); with attribution, the contract applies.
pub fn parse_event(
    body: Map<String, Value>,
    received_at: DateTime<Utc>,
    window: EventWindow,
) -> Result<Event, Box<EventRejection>> {
    let mut f = Fields::new(body);
    let event_id = f.required_id("event_id", limits::REFERENCE);
    let errors_before = f.errors.len();
    let ctx = AttributionContext {
        agent_id: f.optional_id("agent_id", limits::NAME),
        actor_type: f.optional_id("actor_type", limits::KIND),
        actor_id: f.optional_id("actor_id", limits::NAME),
        origin_system_id: f.optional_id("origin_system_id", limits::NAME),
        origin_ts: None,
        origin_ip: None,
    };
    // A refused attribution field is named for what it is, never as missing.
    let attribution_well_typed = f.errors.len() == errors_before;
    let run_id = f.optional_id("run_id", limits::REFERENCE);
    let parent_event_id = f.optional_id("parent_event_id", limits::REFERENCE);
    let action_type = f.optional_id("action_type", limits::KIND);
    if action_type.as_deref().is_some_and(|a| a.eq_ignore_ascii_case(crate::api::ALERT_ACTION_TYPE)) {
        f.errors.push(ErrorDetail {
            error_type: crate::api::ErrorType::SchemaValidation,
            code: "ACTION_TYPE_RESERVED".into(),
            message: "action_type \"alert\" is reserved for alerts posted by monitors to /api/v1/alerts".into(),
            field: Some("action_type".into()),
        });
    }
    let tool = f.optional_id("tool", limits::REFERENCE);
    let resource = f.optional_id("resource", limits::NAME);
    let scope = f.id_list("scope", limits::SCOPE_ITEMS, limits::NAME);
    let outcome = f.required_enum("outcome", Outcome::parse, &Outcome::allowed());
    let error_code = f.optional_id("error_code", limits::REFERENCE);
    let error_message = f.optional_string("error_message", limits::TEXT);
    let trace_id = f.optional_id("trace_id", limits::REFERENCE);
    let seq = f.optional_integer("seq");
    let occurred_at = f.optional_timestamp("occurred_at");
    if let Some(at) = occurred_at
        && let Some(message) = outside(window, at, received_at)
    {
        f.errors.push(ErrorDetail {
            error_type: crate::api::ErrorType::SchemaValidation,
            code: "OCCURRED_AT_OUT_OF_RANGE".into(),
            message,
            field: Some("occurred_at".into()),
        });
    }
    if occurred_at.is_none() && !f.errors.iter().any(|e| e.field.as_deref() == Some("occurred_at")) {
        f.errors.push(ErrorDetail {
            error_type: crate::api::ErrorType::SchemaValidation,
            code: "FIELD_MISSING".into(),
            message: "occurred_at is required (RFC 3339)".into(),
            field: Some("occurred_at".into()),
        });
    }
    let metadata = f.object("metadata", 16 * 1024);

    let has_attribution =
        ctx.agent_id.is_some() || ctx.actor_type.is_some() || ctx.actor_id.is_some() || ctx.origin_system_id.is_some();
    let mut flags = Vec::new();
    let mut violations = Vec::new();
    if has_attribution && attribution_well_typed {
        violations = validate(&ctx);
        if !violations.is_empty() {
            log_violations(&ctx, &violations, EnforcementMode::Hard);
        }
    } else if !has_attribution && attribution_well_typed {
        flags.push(EventFlag::ActorUnknown);
    }
    f.finish_after(violations.iter().map(Into::into).collect()).map_err(|details| {
        Box::new(EventRejection { details, attribution: (!violations.is_empty()).then(|| ctx.clone()) })
    })?;
    if action_type.is_none() {
        flags.push(EventFlag::ActionTypeUnknown);
    }
    if resource.is_none() {
        flags.push(EventFlag::ResourceUnknown);
    }
    let actor_type = ctx.actor_type.as_deref().and_then(ActorType::parse);
    Ok(Event {
        event_id: event_id.expect("validated"),
        agent_id: ctx.agent_id,
        actor_type,
        actor_id: if actor_type == Some(ActorType::Human) { ctx.actor_id } else { None },
        origin_system_id: ctx.origin_system_id,
        run_id,
        parent_event_id,
        action_type,
        tool,
        resource,
        scope,
        outcome: outcome.expect("validated"),
        error_code,
        error_message,
        trace_id,
        seq,
        occurred_at: occurred_at.expect("validated"),
        received_at,
        metadata,
        flags,
        incident_id: None,
    })
}

/// Splits `events` (each with its place in the request) into those the
/// caller may store and those that would join a run of an agent its token
/// may not act for, each with its refusal. A run not stored (yet) is no one's.
pub(crate) async fn runs_of_others<T>(
    state: &AppState,
    caller: &Caller,
    events: Vec<(T, Event)>,
) -> Result<(Vec<(T, Event)>, Vec<(T, Event, ApiError)>), ApiError> {
    if !caller.acts_for_some_agents_only() {
        return Ok((events, vec![]));
    }
    let run_ids: Vec<&str> = events.iter().filter_map(|(_, e)| e.run_id.as_deref()).collect();
    if run_ids.is_empty() {
        return Ok((events, vec![]));
    }
    let agents = state.store().run_agents(&run_ids).await?;
    let (mut mine, mut others) = (Vec::with_capacity(events.len()), Vec::new());
    for (at, event) in events {
        let owner = event.run_id.as_ref().and_then(|run| agents.get(run));
        match owner.map(|agent| caller.may_act_for(Some(agent))) {
            Some(Err(e)) => {
                let run = event.run_id.as_deref().unwrap_or_default();
                let agent = owner.map(String::as_str).unwrap_or_default();
                let message =
                    format!("run {run:?} is agent {agent:?}'s, which this token may not act for: {}", e.body.message);
                let error = ApiError::new(
                    axum::http::StatusCode::FORBIDDEN,
                    crate::api::ErrorType::Authorization,
                    "RUN_NOT_ALLOWED",
                    message,
                )
                .with_field("run_id");
                others.push((at, event, error));
            }
            _ => mine.push((at, event)),
        }
    }
    Ok((mine, others))
}

/// Why `at` is outside the window around `now`, if it is.
fn outside(window: EventWindow, at: DateTime<Utc>, now: DateTime<Utc>) -> Option<String> {
    let stamp = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let span = |d: chrono::Duration| match (d.num_days(), d.num_minutes()) {
        (days, _) if days >= 1 => format!("{days} days"),
        (_, minutes) => format!("{minutes} minutes"),
    };
    let accepted = format!(
        "events are accepted from {} before the server's clock to {} after it",
        span(window.max_age),
        span(window.max_ahead)
    );
    if at > now + window.max_ahead {
        Some(format!("occurred_at {} is ahead of the server's clock ({}): {accepted}", stamp(at), stamp(now)))
    } else if at < now - window.max_age {
        Some(format!("occurred_at {} is too old (the server's clock reads {}): {accepted}", stamp(at), stamp(now)))
    } else {
        None
    }
}

/// Store events. A replayed event_id is a no-op that answers success. In a
/// batch, each refused event is listed by position and the rest are stored;
/// a single event that is refused gets the error as the response.
#[utoipa::path(
    post, path = "/api/v1/events", tag = "events",
    request_body(content = EventBatch, description = "One event object, or an array of up to 1,000 (up to 4 MiB)"),
    responses(
        (status = 200, body = IngestReport),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, description = "The event's tool is disabled for its agent (TOOL_DISABLED), or its event_id holds an event with other content (EVENT_ID_CONFLICT)", body = ErrorBody),
        (status = 413, body = ErrorBody), (status = 415, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn post_events(
    _query: crate::server::request::NoQuery,
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    JsonDocument(body): JsonDocument,
) -> Result<Json<IngestReport>, ApiError> {
    caller.require(Permission::WriteRuns)?;
    let (items, single) = match body {
        Value::Object(map) => (vec![Value::Object(map)], true),
        Value::Array(items) if items.is_empty() => {
            return Err(ApiError::invalid_request("BATCH_EMPTY", "the batch holds no events"));
        }
        Value::Array(items) if items.len() > MAX_BATCH => {
            return Err(ApiError::invalid_request(
                "BATCH_TOO_LARGE",
                format!("a batch holds at most {MAX_BATCH} events, not {}", items.len()),
            ));
        }
        Value::Array(items) => {
            // A batch is of event objects: anything else is not a batch.
            if let Some(at) = items.iter().position(|item| !item.is_object()) {
                return Err(ApiError::invalid_request(
                    "BODY_NOT_EVENTS",
                    format!("events[{at}] is not an object: a batch is an array of event objects"),
                ));
            }
            (items, false)
        }
        _ => {
            return Err(ApiError::invalid_request(
                "BODY_NOT_EVENTS",
                "the body must be an event object or an array of them",
            ));
        }
    };
    // An attempt to act in someone else's name refuses the whole request.
    for (index, item) in items.iter().enumerate() {
        let claim = |key: &str| item.get(key).and_then(Value::as_str);
        let in_batch = |mut e: ApiError| {
            if !single {
                e.body.message = format!("events[{index}]: {}", e.body.message);
            }
            e
        };
        caller.may_claim(claim("actor_type"), claim("actor_id")).map_err(in_batch)?;
        caller.may_act_for(claim("agent_id")).map_err(in_batch)?;
    }
    let now = Utc::now();
    let override_claimed = override_claimed(&headers);
    let mut events = Vec::with_capacity(items.len());
    let mut rejected = Vec::new();
    let mut rejections = Vec::new();
    for (index, item) in items.into_iter().enumerate() {
        // Every item is an object: a batch holding anything else was refused.
        let Value::Object(map) = item else { continue };
        let event_id = map.get("event_id").and_then(Value::as_str).map(|s| s.chars().take(128).collect());
        match parse_event(map, now, state.desk().event_window()) {
            Ok(event) => events.push((index, event)),
            Err(rejection) => {
                let EventRejection { details, attribution } = *rejection;
                if let Some(ctx) = attribution {
                    rejections.push(attribution_rejection("event", ctx, &details, override_claimed));
                }
                let error = ApiError::violations(details).body;
                rejected.push(RejectedEvent { index, event_id, error });
            }
        }
    }
    if !rejections.is_empty() {
        state.store().record_rejections(&rejections, state.desk().clock().now()).await?;
    }
    let (mine, others) = runs_of_others(&state, &caller, events).await?;
    events = mine;
    for (index, event, error) in others {
        rejected.push(RejectedEvent { index, event_id: Some(event.event_id), error: error.body });
    }
    if single && let Some(first) = rejected.pop() {
        let status = match first.error.code.as_str() {
            "RUN_NOT_ALLOWED" => axum::http::StatusCode::FORBIDDEN,
            _ => axum::http::StatusCode::BAD_REQUEST,
        };
        return Err(ApiError { status, body: first.error, retry_after: None });
    }
    let positions: Vec<usize> = events.iter().map(|(i, _)| *i).collect();
    let mut report = state.desk().ingest(events.into_iter().map(|(_, e)| e).collect()).await?;
    // The desk numbers refusals within what it was given; report batch positions.
    for r in &mut report.rejected {
        r.index = positions[r.index];
    }
    if single && let Some(first) = report.rejected.pop() {
        return Err(ApiError { status: axum::http::StatusCode::CONFLICT, body: first.error, retry_after: None });
    }
    report.rejected.extend(rejected);
    report.rejected.sort_by_key(|r| r.index);
    for r in &report.rejected {
        crate::metrics::refused(&r.error.code);
    }
    Ok(Json(report))
}
