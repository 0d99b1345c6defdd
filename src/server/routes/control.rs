//! What an agent must obey, served to its SDK: `GET
//! /api/v1/agents/{agent_id}/control`, a long poll that answers as soon as
//! the agent's stop or disabled tools change.

use super::incidents::{FeedWait, MAX_WAIT_SECONDS};
use crate::api::{AgentControlState, ErrorBody, RefusalReport, StopScope};
use crate::server::auth::{Caller, Permission};
use crate::server::request::Query;
use crate::server::{ApiError, AppState};
use axum::extract::{ConnectInfo, Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use std::net::SocketAddr;

/// The agent's controls. With `since=TAG&wait=SECONDS` it answers as soon
/// as they differ from the ones tagged `TAG` (a change on another server of
/// the database counts once this server has heard of it), or 304 when
/// `wait` passes.
/// An agent never seen has no controls: a stop may come before its first action.
#[utoipa::path(
    get, path = "/api/v1/agents/{agent_id}/control", tag = "agents",
    params(
        ("agent_id" = String, Path),
        ("since" = Option<String>, Query, description = "the tag of the controls the caller has"),
        ("wait" = Option<u32>, Query, minimum = 0, maximum = 30, description = "seconds to wait for a change"),
    ),
    responses(
        (status = 200, body = AgentControlState), (status = 304, description = "Unchanged while it waited"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 429, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn agent_control(
    State(state): State<AppState>,
    caller: Caller,
    peer: Option<Extension<ConnectInfo<SocketAddr>>>,
    headers: axum::http::HeaderMap,
    Path(agent_id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Result<Response, ApiError> {
    caller.require(Permission::ReadRuns)?;
    crate::server::request::check_id("agent_id", &agent_id)?;
    let agent_id = crate::api::identifier::normalized(agent_id);
    let mut query = Query::parse(raw.as_deref())?;
    let since = query.take("since");
    let wait = query.take_number("wait", 0..=MAX_WAIT_SECONDS, 0)?;
    query.finish(&["since", "wait"])?;
    let sdk = headers.get(axum::http::header::USER_AGENT).and_then(|v| v.to_str().ok()).and_then(sdk_of);
    state.desk().note_contact(&agent_id, sdk);
    // Woken by changes of the configuration only (a pause here, or one heard
    // from another server), never by the incident feed; served from memory.
    let changes = state.desk().config_changes();
    let wait = if since.is_some() { wait } else { 0 };
    // Shared by agent, not by token: a fleet sharing one token all listens.
    let share = match wait {
        0 => None,
        _ => Some(state.long_polls().enter_agent(&agent_id, peer.map(|p| p.0.0.ip()))?),
    };
    let mut feed = FeedWait::holding(changes, &state, wait, share);
    loop {
        // Read after noting the epoch: a change made meanwhile moves it.
        feed.seen();
        let current = state.desk().agent_control_state(&agent_id);
        if since.as_deref() != Some(current.tag.as_str()) {
            return Ok(Json(current).into_response());
        }
        if wait == 0 || !feed.moved().await? {
            return Ok(StatusCode::NOT_MODIFIED.into_response());
        }
    }
}

/// The most attempts one report counts.
const MOST_ATTEMPTS: i64 = 1_000_000;

/// An agent's SDK reports attempts it refused because the agent is
/// stopped: they are counted against the stop in force, so `:agents` shows
/// whether the stop holds. Attempts reported when the agent is no longer
/// stopped are not counted (`counted: false`).
#[utoipa::path(
    post, path = "/api/v1/agents/{agent_id}/refusals", tag = "agents",
    params(("agent_id" = String, Path)),
    request_body = RefusalReport,
    responses(
        (status = 200, description = "{\"counted\": bool}"),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 422, body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn report_refusals(
    _query: crate::server::request::NoQuery,
    State(state): State<AppState>,
    caller: Caller,
    Path(agent_id): Path<String>,
    crate::server::request::JsonObject(body): crate::server::request::JsonObject,
) -> Result<Json<serde_json::Value>, ApiError> {
    caller.require(Permission::WriteRuns)?;
    crate::server::request::check_id("agent_id", &agent_id)?;
    let agent_id = crate::api::identifier::normalized(agent_id);
    let mut f = crate::server::request::Fields::new(body);
    let attempts = f.optional_integer("attempts");
    let scope = f.optional_id("scope", 16);
    let target = f.optional_id("target", crate::api::limits::NAME);
    f.finish()?;
    if let Some(t) = target.as_deref().filter(|t| !crate::api::target_shape_ok(t)) {
        return Err(ApiError::invalid_request(
            "FIELD_INVALID_VALUE",
            format!("target {t:?} is not *, a name, or a prefix ending in one * (without spaces)"),
        )
        .with_field("target"));
    }
    let scope = match scope.as_deref() {
        None => StopScope::Agent,
        Some(raw) => StopScope::parse(raw).ok_or_else(|| {
            ApiError::invalid_request("FIELD_INVALID_VALUE", format!("scope must be one of: {}", StopScope::allowed()))
                .with_field("scope")
        })?,
    };
    let attempts = attempts.filter(|n| (1..=MOST_ATTEMPTS).contains(n)).ok_or_else(|| {
        ApiError::invalid_request("INVALID_FIELD", format!("attempts must be a whole number from 1 to {MOST_ATTEMPTS}"))
            .with_field("attempts")
    })?;
    // Counted against the stop the SDK refused under: the agent's own
    // pause, or the wider stop it names.
    let counted = match (scope, target) {
        (StopScope::Agent, _) => state.store().count_refusals(&agent_id, attempts).await?,
        (scope, Some(target)) => state.store().count_stop_refusals((scope, &target), attempts).await?,
        (_, None) => {
            return Err(
                ApiError::invalid_request("FIELD_MISSING", "a stop's scope needs its target").with_field("target")
            );
        }
    };
    Ok(Json(serde_json::json!({ "counted": counted })))
}

/// Which SDK a control poll came from, by its User-Agent: "python 0.1.0"
/// from `mandate-python/0.1.0`, "typescript …" from `mandate-node/…`,
/// "rust …" from the Rust SDK's `mandate/…`; another client's first word,
/// kept to what an identifier holds. None when it says nothing.
pub(crate) fn sdk_of(user_agent: &str) -> Option<String> {
    let first = user_agent.split_whitespace().next()?;
    let (name, version) = first.split_once('/').unwrap_or((first, ""));
    let name = match name {
        "mandate-python" => "python",
        "mandate-node" => "typescript",
        "mandate" => "rust",
        other => other,
    };
    let clean = |s: &str| -> String {
        s.chars().filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | '_' | '+')).take(32).collect()
    };
    let (name, version) = (clean(name), clean(version));
    match (name.is_empty(), version.is_empty()) {
        (true, _) => None,
        (false, true) => Some(name),
        (false, false) => Some(format!("{name} {version}")),
    }
}

#[cfg(test)]
mod tests {
    use super::sdk_of;

    #[test]
    fn a_user_agent_names_its_sdk_and_nothing_hostile_passes() {
        assert_eq!(sdk_of("mandate-python/0.1.0").as_deref(), Some("python 0.1.0"));
        assert_eq!(sdk_of("mandate-node/0.1.0").as_deref(), Some("typescript 0.1.0"));
        assert_eq!(sdk_of("mandate/0.1.0").as_deref(), Some("rust 0.1.0"));
        assert_eq!(sdk_of("curl/8.5.0 (x86_64)").as_deref(), Some("curl 8.5.0"));
        assert_eq!(sdk_of("evil\u{1b}[31m/1\u{202e}").as_deref(), Some("evil31m 1"));
        assert_eq!(sdk_of("   "), None);
    }
}
