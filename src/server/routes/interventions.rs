//! Human interventions (seed 4.1) on incidents and agents, and verdicts on
//! root-cause candidates. Each carries HUMAN attribution for the caller,
//! irreversible ones need confirmation, and an Idempotency-Key makes a retry
//! answer the first result instead of acting twice.

use crate::api::limits;
use crate::api::{
    ErrorBody, InterventionBody, InterventionKind, InterventionResult, InterventionSpec, ResolutionKind, Severity,
    Verdict, VerdictBody,
};
use crate::attribution::{ActorType, AttributionContext, validate};
use crate::desk::{InterventionError, InterventionRequest, InterventionTarget, VerdictRequest};
use crate::server::auth::{Caller, Permission};
use crate::server::request::{Fields, JsonObject};
use crate::server::routes::incidents::parse_incident_id;
use crate::server::{ApiError, AppState};
use crate::store::IdempotencyClaim;
use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

pub const IDEMPOTENCY_HEADER: &str = "idempotency-key";

/// The enumerated interventions with their flags.
#[utoipa::path(
    get, path = "/api/v1/interventions", tag = "interventions",
    responses((status = 200, body = [InterventionSpec]), (status = 401, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn intervention_catalog(
    _query: crate::server::request::NoQuery,
    _caller: Caller,
) -> Json<Vec<InterventionSpec>> {
    Json(InterventionKind::ALL.iter().map(|k| k.spec()).collect())
}

impl From<InterventionError> for ApiError {
    fn from(e: InterventionError) -> Self {
        match e {
            InterventionError::NotFound(code, m) => ApiError::not_found(code, m),
            InterventionError::Conflict(code, m) => ApiError::conflict(code, m),
            InterventionError::Invalid(code, field, m) => {
                let status = if code == "INTERVENTION_NOT_APPLICABLE" {
                    StatusCode::UNPROCESSABLE_ENTITY
                } else {
                    StatusCode::BAD_REQUEST
                };
                ApiError::new(status, crate::api::ErrorType::SchemaValidation, code, m).with_field(field)
            }
            InterventionError::Store(e) => e.into(),
        }
    }
}

/// Reads and checks the operator's HUMAN attribution: valid per the contract,
/// HUMAN, and naming the caller (no acting as someone else).
pub(super) fn human_attribution(fields: &mut Fields, caller: &Caller) -> Result<Value, ApiError> {
    let ctx = AttributionContext {
        agent_id: fields.optional_id("agent_id", limits::NAME),
        actor_type: fields.optional_id("actor_type", limits::KIND),
        actor_id: fields.optional_id("actor_id", limits::NAME),
        origin_system_id: fields.optional_id("origin_system_id", limits::NAME),
        origin_ts: None,
        origin_ip: None,
    };
    let violations = validate(&ctx);
    if !violations.is_empty() {
        return Err(ApiError::violations(violations.iter().map(Into::into).collect()));
    }
    if ctx.actor_type.as_deref().and_then(ActorType::parse) != Some(ActorType::Human) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            crate::api::ErrorType::SchemaValidation,
            "HUMAN_ATTRIBUTION_REQUIRED",
            "interventions are made by people: actor_type must be HUMAN",
        )
        .with_field("actor_type"));
    }
    let actor_id = ctx.actor_id.clone().unwrap_or_default();
    caller.is(&actor_id)?;
    Ok(serde_json::json!({
        "agent_id": ctx.agent_id, "actor_type": "HUMAN", "actor_id": actor_id, "origin_system_id": ctx.origin_system_id,
    }))
}

fn parse_intervention(
    body: Map<String, Value>,
    caller: &Caller,
    target: InterventionTarget,
) -> Result<InterventionRequest, ApiError> {
    let mut f = Fields::new(body);
    let attribution = human_attribution(&mut f, caller)?;
    let kind = f.required_enum("kind", InterventionKind::parse, &InterventionKind::allowed());
    let confirm = f.optional_bool("confirm", false);
    let reason = f.optional_string("reason", limits::REASON).filter(|r| !r.trim().is_empty());
    let target_agent = f.optional_id("target_agent", limits::NAME);
    let tool = f.optional_id("tool", limits::REFERENCE);
    let command = f.optional_string("command", limits::REASON);
    let resource = f.optional_id("resource", limits::NAME);
    let rule = f.optional_string("rule", limits::RULE_TEXT);
    let title = f.optional_string("title", limits::TITLE);
    let severity = f.optional_enum("severity", Severity::parse, &Severity::allowed());
    let until = f.optional_timestamp("until");
    let resolution = f.optional_enum("resolution", ResolutionKind::parse, &ResolutionKind::allowed());
    let event_id = f.optional_id("event_id", limits::REFERENCE);
    let started_at = f.optional_timestamp("started_at");
    let responder = f.optional_id("responder", limits::NAME).map(|r| r.trim_start_matches('@').to_owned());
    let into_incident = f.optional_integer("into_incident");
    let kind = f.finish_with(kind)?;
    if !kind.reversible() && !confirm {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            crate::api::ErrorType::SchemaValidation,
            "CONFIRMATION_REQUIRED",
            format!("{kind} cannot be undone: send \"confirm\": true once the operator has confirmed"),
        )
        .with_field("confirm"));
    }
    if kind.spec().requires_reason && reason.is_none() {
        let said = match kind {
            InterventionKind::Note => "a note's text goes in reason".to_owned(),
            _ => format!("{kind} needs a reason"),
        };
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            crate::api::ErrorType::SchemaValidation,
            "FIELD_MISSING",
            said,
        )
        .with_field("reason"));
    }
    match (kind, resolution, &event_id) {
        (InterventionKind::Resolve, None, _) => {
            return Err(ApiError::invalid_request(
                "FIELD_MISSING",
                format!("resolve needs a resolution: one of {}", ResolutionKind::allowed()),
            )
            .with_field("resolution"));
        }
        (InterventionKind::Resolve, Some(ResolutionKind::CauseConfirmed), None) => {
            return Err(ApiError::invalid_request(
                "FIELD_MISSING",
                "a cause_confirmed resolution names the cause: event_id of the candidate action".to_owned(),
            )
            .with_field("event_id"));
        }
        (InterventionKind::Resolve, Some(ResolutionKind::CauseConfirmed), Some(_))
        | (InterventionKind::Resolve, _, None) => {}
        (InterventionKind::Resolve, Some(_), Some(_)) => {
            return Err(ApiError::invalid_request(
                "FIELD_INVALID_VALUE",
                "event_id names a confirmed cause: only a cause_confirmed resolution takes one".to_owned(),
            )
            .with_field("event_id"));
        }
        (InterventionKind::ChangeSeverity, _, _) if severity.is_none() => {
            return Err(ApiError::invalid_request(
                "FIELD_MISSING",
                format!("change_severity needs severity: one of {}", Severity::allowed()),
            )
            .with_field("severity"));
        }
        (_, Some(_), _) => {
            return Err(ApiError::invalid_request("FIELD_INVALID_VALUE", format!("{kind} takes no resolution"))
                .with_field("resolution"));
        }
        (InterventionKind::AddResponder | InterventionKind::HandOver, _, _)
            if responder.as_deref().is_none_or(|r| r.is_empty() || r.contains('*')) =>
        {
            return Err(ApiError::invalid_request("FIELD_MISSING", format!("{kind} names one person: responder"))
                .with_field("responder"));
        }
        _ if responder.is_some() && !matches!(kind, InterventionKind::AddResponder | InterventionKind::HandOver) => {
            return Err(ApiError::invalid_request("FIELD_INVALID_VALUE", format!("{kind} takes no responder"))
                .with_field("responder"));
        }
        (InterventionKind::Merge, _, _) if into_incident.is_none_or(|i| i < 1) => {
            return Err(ApiError::invalid_request(
                "FIELD_MISSING",
                "merge names the incident that survives: into_incident, an incident id".to_owned(),
            )
            .with_field("into_incident"));
        }
        _ if into_incident.is_some() && kind != InterventionKind::Merge => {
            return Err(ApiError::invalid_request(
                "FIELD_INVALID_VALUE",
                format!("{kind} takes no into_incident: only merge names a survivor"),
            )
            .with_field("into_incident"));
        }
        _ if started_at.is_some() && kind != InterventionKind::CreateIncident => {
            return Err(ApiError::invalid_request(
                "FIELD_INVALID_VALUE",
                "started_at is when a reported incident began: only create_incident takes it".to_owned(),
            )
            .with_field("started_at"));
        }
        _ => {}
    }
    if let InterventionTarget::Agent(_) = &target
        && !kind.spec().targets.iter().any(|t| t == "agent")
    {
        return Err(InterventionError::Invalid(
            "INTERVENTION_NOT_APPLICABLE",
            "kind",
            format!("{kind} applies to an incident, not an agent"),
        )
        .into());
    }
    Ok(InterventionRequest {
        kind,
        target,
        actor_id: caller.0.name.clone(),
        attribution,
        reason,
        target_agent,
        tool,
        command,
        resource,
        rule,
        title,
        severity,
        until: check_until(until)?,
        resolution,
        event_id,
        started_at,
        responder,
        into_incident,
    })
}

/// A stop's end must be ahead: one already past would stop nothing.
pub(super) fn check_until(
    until: Option<chrono::DateTime<chrono::Utc>>,
) -> Result<Option<chrono::DateTime<chrono::Utc>>, ApiError> {
    match until {
        Some(at) if at <= chrono::Utc::now() => Err(ApiError::invalid_request(
            "FIELD_INVALID_VALUE",
            format!("until {} has already passed: a stop must end in the future, or leave until out", at.to_rfc3339()),
        )
        .with_field("until")),
        _ => Ok(until),
    }
}

/// What makes two requests "the same" for an Idempotency-Key: the target
/// and the body.
pub fn request_fingerprint(route: &str, body: &Map<String, Value>) -> String {
    hex::encode(Sha256::digest(format!("{route}\n{}", Value::Object(body.clone())).as_bytes()))
}

/// Runs `act` at most once per (caller, Idempotency-Key): a replay answers
/// the stored response, the same key with another body is 422, a duplicate
/// while the first is in flight is 409.
pub(crate) async fn once<T: serde::Serialize>(
    state: &AppState,
    caller: &Caller,
    headers: &HeaderMap,
    route: &str,
    body: &Map<String, Value>,
    act: impl Future<Output = Result<(StatusCode, T), ApiError>>,
) -> Result<Response, ApiError> {
    let key = match headers.get(IDEMPOTENCY_HEADER) {
        None => None,
        Some(v) => Some(
            v.to_str()
                .ok()
                .filter(|k| !k.is_empty() && k.len() <= 128)
                .ok_or_else(|| {
                    ApiError::invalid_request(
                        "INVALID_IDEMPOTENCY_KEY",
                        "Idempotency-Key must be 1 to 128 visible characters",
                    )
                })?
                .to_owned(),
        ),
    };
    let Some(key) = key else {
        let (status, value) = act.await?;
        return Ok((status, Json(value)).into_response());
    };
    let fingerprint = request_fingerprint(route, body);
    let principal = caller.0.name.as_str();
    match state.store().claim_idempotency(principal, &key, &fingerprint).await? {
        IdempotencyClaim::Replay { status, body } => {
            let mut response = Response::new(Body::from(body));
            *response.status_mut() = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
            response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
            response.headers_mut().insert("idempotent-replayed", HeaderValue::from_static("true"));
            Ok(response)
        }
        IdempotencyClaim::InFlight => Err(ApiError::conflict(
            "IDEMPOTENCY_IN_FLIGHT",
            "a request with this Idempotency-Key is still being processed",
        )),
        // 409: the request is valid in itself; it conflicts with what the
        // server holds for this key (another request's result).
        IdempotencyClaim::Mismatch => Err(ApiError::conflict(
            "IDEMPOTENCY_KEY_REUSED",
            "this Idempotency-Key was used for a different request: send this one with a new key",
        )),
        IdempotencyClaim::Claimed => match act.await {
            Ok((status, value)) => {
                let text = serde_json::to_string(&value).unwrap_or_default();
                state.store().finish_idempotency(principal, &key, status.as_u16(), &text).await?;
                let mut response = (status, text).into_response();
                response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
                Ok(response)
            }
            Err(e) if e.status.is_server_error() => {
                // Nothing was done: let a retry try again.
                let _ = state.store().release_idempotency(principal, &key).await;
                Err(e)
            }
            Err(e) => {
                let text = serde_json::to_string(&e.body).unwrap_or_default();
                state.store().finish_idempotency(principal, &key, e.status.as_u16(), &text).await?;
                Err(e)
            }
        },
    }
}

/// Intervene on an incident.
#[utoipa::path(
    post, path = "/api/v1/incidents/{id}/interventions", tag = "interventions",
    params(("id" = i64, Path), ("Idempotency-Key" = Option<String>, Header, description = "Reused on retry: the intervention happens once")),
    request_body = InterventionBody,
    responses(
        (status = 200, body = InterventionResult),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody),
        (status = 403, description = "A viewer, or actor_id is not the caller", body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, body = ErrorBody),
        (status = 422, description = "Confirmation missing, or the kind does not apply here", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn intervene_incident(
    _query: crate::server::request::NoQuery,
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    JsonObject(body): JsonObject,
) -> Result<Response, ApiError> {
    let id = parse_incident_id(&id)?;
    intervene(state, caller, headers, body, InterventionTarget::Incident(id)).await
}

async fn intervene(
    state: AppState,
    caller: Caller,
    headers: HeaderMap,
    body: Map<String, Value>,
    target: InterventionTarget,
) -> Result<Response, ApiError> {
    caller.require(Permission::Intervene)?;
    let route = match &target {
        InterventionTarget::Incident(id) => format!("incident:{id}"),
        InterventionTarget::Agent(agent) => format!("agent:{agent}"),
    };
    once(&state, &caller, &headers, &route, &body.clone(), async {
        let request = parse_intervention(body, &caller, target)?;
        Ok((StatusCode::OK, state.desk().intervene(request).await?))
    })
    .await
}

/// Intervene on an agent.
#[utoipa::path(
    post, path = "/api/v1/agents/{agent_id}/interventions", tag = "interventions",
    params(("agent_id" = String, Path), ("Idempotency-Key" = Option<String>, Header, description = "Reused on retry: the intervention happens once")),
    request_body = InterventionBody,
    responses(
        (status = 200, body = InterventionResult),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 409, body = ErrorBody), (status = 422, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn intervene_agent(
    _query: crate::server::request::NoQuery,
    State(state): State<AppState>,
    caller: Caller,
    Path(agent_id): Path<String>,
    headers: HeaderMap,
    JsonObject(body): JsonObject,
) -> Result<Response, ApiError> {
    crate::server::request::check_id("agent_id", &agent_id)?;
    let agent_id = crate::api::identifier::normalized(agent_id);
    intervene(state, caller, headers, body, InterventionTarget::Agent(agent_id)).await
}

/// Confirm a root-cause candidate, mark it unrelated, or flag it for investigation.
#[utoipa::path(
    post, path = "/api/v1/incidents/{id}/verdicts", tag = "interventions",
    params(("id" = i64, Path), ("Idempotency-Key" = Option<String>, Header)),
    request_body = VerdictBody,
    responses(
        (status = 200, description = "Recorded; the audit entry's sequence number"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn record_verdict(
    _query: crate::server::request::NoQuery,
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    JsonObject(body): JsonObject,
) -> Result<Response, ApiError> {
    caller.require(Permission::Intervene)?;
    let id = parse_incident_id(&id)?;
    let route = format!("verdict:{id}");
    once(&state, &caller, &headers, &route, &body.clone(), async {
        let mut f = Fields::new(body);
        let attribution = human_attribution(&mut f, &caller)?;
        let event_id = f.required_id("event_id", limits::REFERENCE);
        let verdict = f.required_enum("verdict", Verdict::parse, &Verdict::allowed());
        let reason = f.optional_string("reason", limits::REASON);
        let (event_id, verdict) = f.finish_with(event_id.zip(verdict))?;
        let request =
            VerdictRequest { incident_id: id, event_id, verdict, actor_id: caller.0.name.clone(), attribution, reason };
        let seq = state.desk().record_verdict(request).await?;
        Ok((StatusCode::OK, serde_json::json!({ "recorded": verdict.as_str(), "audit_seq": seq })))
    })
    .await
}
