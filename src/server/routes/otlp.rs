//! `POST /v1/traces`: OTLP/HTTP traces in. Spans are read off the async
//! runtime, mapped (see [`crate::otlp`]) and validated by the same code as
//! JSON runs and events; every answer is in the OTLP format of the request.

use crate::api::{ErrorBody, ErrorDetail, Event};
use crate::otlp::answer::{Status, export_body, rpc_code, status_body};
use crate::otlp::{DecodeError, Encoding, Mapped, MappedSpan, SpanLabel};
use crate::server::auth::{Caller, Permission};
use crate::server::outage::ClientGone;
use crate::server::routes::events::{EventRejection, MAX_BATCH, parse_event, runs_of_others};
use crate::server::routes::runs::{RunRejection, attribution_rejection, override_claimed, parse_create_run_with};
use crate::server::{ApiError, AppState};
use crate::store::{FinishedRun, Rejection, StoreError};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{DefaultBodyLimit, Extension, Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use std::time::Duration;
use tower_http::catch_panic::CatchPanicLayer;

/// Requests decoded and stored at once; more wait, then get 503.
pub const IN_FLIGHT: usize = 8;
/// How long a request waits for its turn before 503 and Retry-After.
const QUEUE_WAIT: Duration = Duration::from_secs(2);
/// Reasons spelled out in `partial_success.error_message`.
const REASONS_LISTED: usize = 5;

/// The OTLP route with its own answers (a `google.rpc.Status` for every
/// error), to merge into the API or serve on its own address.
pub fn routes() -> Router<AppState> {
    Router::new()
        .route(crate::otlp::TRACES_PATH, axum::routing::post(export_traces))
        .route_layer(axum::middleware::from_fn(crate::server::outage::bounded))
        .route_layer(axum::middleware::from_fn(crate::server::request_log::log_request))
        .layer(DefaultBodyLimit::max(crate::otlp::MAX_REQUEST_BYTES))
        .layer(CatchPanicLayer::custom(|_| {
            tracing::error!("the OTLP handler panicked");
            ApiError::internal().into_response()
        }))
        .layer(axum::middleware::from_fn(status_answers))
}

/// The OTLP listener's answer to any other path.
pub async fn not_found(headers: HeaderMap) -> Response {
    let message = format!("OTLP/HTTP traces are received at POST {}", crate::otlp::TRACES_PATH);
    status_response(encoding_of(&headers), StatusCode::NOT_FOUND, message)
}

fn encoding_of(headers: &HeaderMap) -> Encoding {
    headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).and_then(Encoding::of).unwrap_or(Encoding::Protobuf)
}

fn status_response(encoding: Encoding, status: StatusCode, message: String) -> Response {
    let body = status_body(encoding, &Status { code: rpc_code(status.as_u16()), message });
    (status, [(header::CONTENT_TYPE, encoding.content_type())], body).into_response()
}

/// Every error answer (the handler's, an extractor's, a layer's) becomes a
/// `Status` in the request's encoding; its headers (Retry-After,
/// WWW-Authenticate) stay.
async fn status_answers(request: Request, next: Next) -> Response {
    let encoding = encoding_of(request.headers());
    let response = next.run(request).await;
    if response.status().as_u16() < 400 {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    let bytes = axum::body::to_bytes(body, 64 * 1024).await.unwrap_or_default();
    let message = match serde_json::from_slice::<ErrorBody>(&bytes) {
        Ok(e) => format!("{}: {}", e.code, e.message),
        Err(_) => crate::server::http_errors::plain_message(parts.status, &bytes),
    };
    let body = status_body(encoding, &Status { code: rpc_code(parts.status.as_u16()), message });
    parts.headers.insert(header::CONTENT_TYPE, HeaderValue::from_static(encoding.content_type()));
    parts.headers.remove(header::CONTENT_LENGTH);
    Response::from_parts(parts, Body::from(body))
}

/// What a request's spans come to, before anything is stored.
#[derive(Default)]
struct Batch {
    spans: usize,
    ignored: usize,
    events: Vec<(SpanLabel, Event)>,
    runs: Vec<FinishedRun>,
    rejected: Vec<(SpanLabel, String)>,
    rejections: Vec<Rejection>,
    /// Legacy sentinels seen on runs, each once: (agent_id, origin_system_id).
    legacy: Vec<(Option<String>, Option<String>)>,
}

/// Export traces (OTLP/HTTP, protobuf or JSON, gzip or not).
async fn export_traces(
    State(state): State<AppState>,
    caller: Caller,
    request_life: Option<Extension<ClientGone>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    caller.require(Permission::WriteRuns)?;
    let content_type = headers.get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    let Some(encoding) = Encoding::of(content_type) else {
        return Err(unsupported(format!(
            "OTLP/HTTP bodies are {} or {}, not {content_type:?}",
            Encoding::PROTOBUF,
            Encoding::JSON
        )));
    };
    let gzip = match headers.get(header::CONTENT_ENCODING).map(|v| v.to_str().unwrap_or("?").trim()) {
        None | Some("") | Some("identity") => false,
        Some(e) if e.eq_ignore_ascii_case("gzip") => true,
        Some(other) => {
            return Err(unsupported(format!("Content-Encoding {other:?} is not supported: send gzip or none")));
        }
    };
    let answer = |rejected: usize, message: String| {
        let body = export_body(encoding, rejected as i64, message);
        (StatusCode::OK, [(header::CONTENT_TYPE, encoding.content_type())], body).into_response()
    };
    // OTLP: a request that carries nothing is a success.
    if body.is_empty() {
        return Ok(answer(0, String::new()));
    }
    let _turn = tokio::time::timeout(QUEUE_WAIT, state.otlp_turn()).await.map_err(|_| busy())?;
    let now = Utc::now();
    let window = state.desk().event_window();
    let override_claimed = override_claimed(&headers);
    let decoding = tokio::time::timeout(QUEUE_WAIT, state.otlp_decoding_turn()).await.map_err(|_| busy())?;
    // Raised when the client is no longer waiting: decoding stops.
    let gone = request_life.map(|e| e.0).unwrap_or_default();
    let who = caller.clone();
    let batch = tokio::task::spawn_blocking(move || {
        let _decoding = decoding;
        let max = crate::otlp::MAX_DECODED_BYTES;
        let request = crate::otlp::decode::decode(&body, encoding, gzip, max, crate::otlp::Limits::DEFAULT, &gone.0)
            .map_err(undecodable)?;
        drop(body);
        if gone.is_raised() {
            return Err(ApiError::internal());
        }
        prepare(crate::otlp::map_request(&request), &caller, now, window, override_claimed)
    })
    .await
    .map_err(|_| ApiError::internal())??;

    let store = state.store();
    if !batch.rejections.is_empty() {
        store.record_rejections(&batch.rejections, state.desk().clock().now()).await.map_err(retry_later)?;
    }
    if state.desk().rollout_phase(state.desk().clock().now()).is_hard() {
        for (agent, origin) in batch.legacy {
            state.desk().legacy_marker_seen(agent.as_deref(), origin.as_deref()).await.map_err(retry_later)?;
        }
    }
    let runs_stored = store.record_finished_runs(&batch.runs).await.map_err(retry_later)?;
    let mut rejected = batch.rejected;
    let (events, others) = runs_of_others(&state, &who, batch.events).await?;
    for (label, _, error) in others {
        rejected.push((label, format!("{}: {}", error.body.code, error.body.message)));
    }
    let (mut accepted, mut again) = (0, 0);
    let mut stopped = std::collections::BTreeMap::new();
    let mut events = events.into_iter().peekable();
    // In pieces as large as the JSON API's batches, so that one large
    // export does not hold the desk for long.
    while events.peek().is_some() {
        let (labels, piece): (Vec<SpanLabel>, Vec<Event>) = events.by_ref().take(MAX_BATCH).unzip();
        let report = state.desk().ingest(piece).await.map_err(retry_later)?;
        accepted += report.accepted;
        again += report.duplicates;
        stopped.extend(report.stopped);
        for r in &report.rejected {
            rejected.push((labels[r.index].clone(), format!("{}: {}", r.error.code, r.error.message)));
        }
    }
    tracing::info!(
        spans = batch.spans,
        runs = batch.runs.len(),
        runs_new = runs_stored,
        events_new = accepted,
        events_again = again,
        ignored = batch.ignored,
        rejected = rejected.len(),
        "OTLP traces"
    );
    // As the JSON API's answer does, the exporter is told its agents are
    // stopped: a warning, the spans being stored all the same.
    let mut message = reasons(&rejected, batch.spans);
    for (agent, stop) in &stopped {
        if !message.is_empty() {
            message.push_str(" | ");
        }
        message.push_str(&format!(
            "agent {agent} is stopped ({} by {} since {}): its actions are recorded as acted while stopped",
            stop.scope_label(),
            stop.by,
            stop.since.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
        ));
    }
    Ok(answer(rejected.len(), message))
}

/// Maps, checks the caller's right to each span's claims, and validates,
/// exactly as for JSON runs and events.
fn prepare(
    spans: Vec<MappedSpan>,
    caller: &Caller,
    now: chrono::DateTime<Utc>,
    window: crate::desk::EventWindow,
    override_claimed: bool,
) -> Result<Batch, ApiError> {
    let mut batch = Batch { spans: spans.len(), ..Batch::default() };
    for MappedSpan { label, mapped } in spans {
        let claims = match &mapped {
            Mapped::Event(body) => Some(body),
            Mapped::Run(run) => Some(&run.body),
            Mapped::Ignored | Mapped::Invalid(_) => None,
        };
        if let Some(body) = claims {
            let claim = |key: &str| body.get(key).and_then(serde_json::Value::as_str);
            let in_span = |mut e: ApiError| {
                e.body.message = format!("{label}: {}", e.body.message);
                e
            };
            caller.may_claim(claim("actor_type"), claim("actor_id")).map_err(in_span)?;
            caller.may_act_for(claim("agent_id")).map_err(in_span)?;
        }
        match mapped {
            Mapped::Ignored => batch.ignored += 1,
            Mapped::Invalid(problem) => batch.rejected.push((label, problem)),
            Mapped::Event(body) => match parse_event(body, now, window) {
                Ok(event) => batch.events.push((label, event)),
                Err(rejection) => {
                    let EventRejection { details, attribution } = *rejection;
                    if let Some(ctx) = attribution {
                        batch.rejections.push(attribution_rejection("event", ctx, &details, override_claimed));
                    }
                    batch.rejected.push((label, explain(&details)));
                }
            },
            Mapped::Run(run) => match parse_create_run_with(run.body) {
                Ok(mut new_run) => {
                    new_run.run_id = run.run_id;
                    new_run.created_at = run.started;
                    batch.runs.push(FinishedRun { run: new_run, status: run.status, completed_at: run.ended });
                }
                Err(rejection) => {
                    // A refused run's error lists every violation (ApiError::violations).
                    let RunRejection { error, attribution } = *rejection;
                    let details = error.body.errors;
                    if let Some(ctx) = attribution {
                        let marker = (ctx.agent_id.clone(), ctx.origin_system_id.clone());
                        if ctx.carries_legacy_marker() && !batch.legacy.contains(&marker) {
                            batch.legacy.push(marker);
                        }
                        batch.rejections.push(attribution_rejection("run", ctx, &details, override_claimed));
                    }
                    batch.rejected.push((label, explain(&details)));
                }
            },
        }
    }
    Ok(batch)
}

/// The attribute a span sets for an API field, for the rejection message.
fn attribute_for(field: &str) -> Option<&'static str> {
    Some(match field {
        "agent_id" => "gen_ai.agent.id (or gen_ai.agent.name)",
        "actor_type" => "mandate.actor_type (HUMAN | SYSTEM | SERVICE), or enduser.id for a person",
        "actor_id" => "mandate.actor_id or enduser.id",
        "origin_system_id" => "mandate.origin_system_id or service.name",
        "risk_level" => "mandate.risk_level",
        "tool" => "gen_ai.tool.name",
        "resource" => "mandate.resource",
        "occurred_at" => "the span's start time",
        _ => return None,
    })
}

/// Every problem of one span, with the attribute to set.
fn explain(details: &[ErrorDetail]) -> String {
    details
        .iter()
        .map(|d| match d.field.as_deref().and_then(attribute_for) {
            Some(attribute) => format!("{} {} (set {attribute})", d.code, d.message),
            None => format!("{} {}", d.code, d.message),
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// `partial_success.error_message`: how many were refused, and why for the first few.
fn reasons(rejected: &[(SpanLabel, String)], spans: usize) -> String {
    if rejected.is_empty() {
        return String::new();
    }
    let mut message = format!("{} of {spans} spans rejected: ", rejected.len());
    let listed: Vec<String> =
        rejected.iter().take(REASONS_LISTED).map(|(label, reason)| format!("{label}: {reason}")).collect();
    message.push_str(&listed.join(" | "));
    if rejected.len() > REASONS_LISTED {
        message.push_str(&format!(" | and {} more", rejected.len() - REASONS_LISTED));
    }
    message
}

fn unsupported(message: String) -> ApiError {
    ApiError::new(
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        crate::api::ErrorType::InvalidRequest,
        "UNSUPPORTED_MEDIA_TYPE",
        message,
    )
}

fn undecodable(e: DecodeError) -> ApiError {
    match e {
        DecodeError::TooLarge { .. } => ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            crate::api::ErrorType::InvalidRequest,
            "BODY_TOO_LARGE",
            format!("{e}; send smaller batches"),
        ),
        DecodeError::OverLimit(crate::otlp::bounds::OverLimit::Abandoned) => {
            tracing::info!("OTLP export abandoned by its client; decoding stopped");
            ApiError::internal()
        }
        DecodeError::OverLimit(limit) => {
            tracing::warn!(refused = %limit, "OTLP export over the limits refused before decoding");
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                crate::api::ErrorType::InvalidRequest,
                "EXPORT_TOO_LARGE",
                limit.to_string(),
            )
        }
        _ => ApiError::invalid_request("OTLP_UNDECODABLE", e.to_string()),
    }
}

fn busy() -> ApiError {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        crate::api::ErrorType::Unavailable,
        "BUSY",
        format!("{IN_FLIGHT} exports are being stored already; retry after the time Retry-After gives"),
    )
    .with_retry_after(1)
}

/// OTLP retries 503 and nothing else but 429, 502 and 504: a database that
/// could not take the spans now is asked to be retried, so nothing is lost.
/// What was stored before the failure is not stored twice on the retry.
fn retry_later(e: StoreError) -> ApiError {
    match e {
        StoreError::Refused(_) | StoreError::Constraint { .. } => ApiError::from(e),
        other => {
            tracing::warn!(error = %other, "OTLP spans not stored; the exporter is asked to retry");
            ApiError::database_unavailable(
                "the database did not take the spans; retry (spans already stored are not stored twice)",
            )
        }
    }
}
