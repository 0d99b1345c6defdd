//! Silences and maintenance windows: made and lifted by people with HUMAN
//! attribution, listed active and scheduled first, then ended (with the
//! unused ones said so).

use super::interventions::{human_attribution, once};
use crate::api::silences::{MAX_RECURRING, MAX_SILENCE};
use crate::api::{
    ErrorBody, LiftSilenceBody, Severity, SilenceBody, SilenceList, SilenceMatch, SilenceResult, WeeklyWindow, limits,
};
use crate::desk::SilenceRequest;
use crate::server::auth::{Caller, Permission};
use crate::server::request::{Fields, JsonObject};
use crate::server::{ApiError, AppState};
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::Utc;
use serde_json::{Map, Value};

/// Every silence not ended (active or scheduled), then the last 200 ended
/// ones, each with how many incidents it held; `unused` when it ended
/// having held none.
#[utoipa::path(
    get, path = "/api/v1/silences", tag = "incidents",
    responses((status = 200, body = SilenceList), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn list_silences(
    _query: crate::server::request::NoQuery,
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<SilenceList>, ApiError> {
    caller.require(Permission::ReadOperations)?;
    Ok(Json(SilenceList { silences: state.desk().list_silences().await? }))
}

/// Silence the paging of matching incidents until an end (at most 7 days
/// after the start; a weekly maintenance window recurs for at most 90).
/// Matching incidents are still detected, grouped, analysed and recorded;
/// their pages wait until the silence ends. A silence that could hold a
/// critical incident needs `"confirm": true`.
#[utoipa::path(
    post, path = "/api/v1/silences", tag = "incidents",
    params(("Idempotency-Key" = Option<String>, Header, description = "Reused on retry: the silence is made once")),
    request_body = SilenceBody,
    responses(
        (status = 201, body = SilenceResult),
        (status = 400, description = "No end, too long, an empty match, a bad window", body = ErrorBody),
        (status = 401, body = ErrorBody), (status = 403, body = ErrorBody), (status = 404, body = ErrorBody),
        (status = 422, description = "It could hold a critical incident, without confirm", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn make_silence(
    _query: crate::server::request::NoQuery,
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    JsonObject(body): JsonObject,
) -> Result<Response, ApiError> {
    caller.require(Permission::Intervene)?;
    once(&state, &caller, &headers, "silences", &body.clone(), async {
        let request = parse_silence(body, &caller)?;
        Ok((StatusCode::CREATED, state.desk().make_silence(request).await?))
    })
    .await
}

/// End a silence early: the open incidents it held are paged at once.
#[utoipa::path(
    post, path = "/api/v1/silences/{id}/lift", tag = "incidents",
    params(("id" = i64, Path), ("Idempotency-Key" = Option<String>, Header)),
    request_body = LiftSilenceBody,
    responses(
        (status = 200, body = SilenceResult),
        (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody),
        (status = 404, body = ErrorBody), (status = 409, description = "It has already ended", body = ErrorBody),
    ),
    security(("bearer" = []))
)]
pub async fn lift_silence(
    _query: crate::server::request::NoQuery,
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    Path(id): Path<i64>,
    JsonObject(body): JsonObject,
) -> Result<Response, ApiError> {
    caller.require(Permission::Intervene)?;
    once(&state, &caller, &headers, &format!("silences/{id}/lift"), &body.clone(), async {
        let mut f = Fields::new(body);
        let attribution = human_attribution(&mut f, &caller)?;
        let reason = f.optional_string("reason", limits::REASON).filter(|r| !r.trim().is_empty());
        f.finish()?;
        Ok((StatusCode::OK, state.desk().lift_silence(id, &caller.0.name, reason, attribution).await?))
    })
    .await
}

fn invalid(code: &str, field: &str, message: String) -> ApiError {
    ApiError::invalid_request(code, message).with_field(field)
}

fn parse_silence(body: Map<String, Value>, caller: &Caller) -> Result<SilenceRequest, ApiError> {
    let mut f = Fields::new(body);
    let attribution = human_attribution(&mut f, caller)?;
    let mut m = Fields::new(f.object("match", 4096));
    let matches = SilenceMatch {
        resource: m.optional_id("resource", limits::NAME),
        agent: m.optional_id("agent", limits::NAME),
        action_type: m.optional_id("action_type", limits::KIND),
        severity: m.optional_enum("severity", Severity::parse, &Severity::allowed()),
    };
    let reason = f.required_string("reason", limits::REASON);
    let starts_at = f.optional_timestamp("starts_at");
    let ends_at = f.optional_timestamp("ends_at");
    let confirm = f.optional_bool("confirm", false);
    let incident_id = f.optional_integer("incident_id");
    let has_weekly = f.has("weekly");
    let mut w = Fields::new(f.object("weekly", 1024));
    let days = w.id_list("days", 7, 3);
    let start = w.required_string("start", 5);
    let minutes = w.optional_integer("minutes");
    m.reject_unknown();
    w.reject_unknown();
    for (prefix, nested) in [("match", m), ("weekly", w)] {
        if prefix == "weekly" && !has_weekly {
            continue;
        }
        f.errors.extend(nested.errors.into_iter().map(|mut e| {
            e.field = e.field.map(|n| format!("{prefix}.{n}"));
            e
        }));
    }
    let reason = f.finish_with(reason)?;
    if matches.is_empty() {
        return Err(invalid(
            "FIELD_MISSING",
            "match",
            "a silence matches at least one of resource, agent, action_type, severity: an empty match would silence everything"
                .to_owned(),
        ));
    }
    for (field, pattern) in [("match.resource", &matches.resource), ("match.agent", &matches.agent)] {
        if let Some(p) = pattern.as_deref().filter(|p| !crate::api::pattern::well_formed(p) || *p == "*") {
            return Err(invalid("FIELD_INVALID_VALUE", field, format!("{p:?}: a name, or a prefix ending in one *")));
        }
    }
    let now = Utc::now();
    let Some(ends_at) = ends_at else {
        return Err(invalid("FIELD_MISSING", "ends_at", "every silence ends: give ends_at (RFC 3339)".to_owned()));
    };
    if ends_at <= now || starts_at.is_some_and(|s| ends_at <= s) {
        return Err(invalid("FIELD_INVALID_VALUE", "ends_at", "ends_at must be ahead, and after starts_at".to_owned()));
    }
    let weekly = match (has_weekly, days, start, minutes) {
        (false, ..) => None,
        (true, days, Some(start), Some(minutes)) => {
            let window = WeeklyWindow { days, start, minutes: u32::try_from(minutes).unwrap_or(0) };
            if let Some((field, problem)) = window.problem() {
                return Err(invalid("FIELD_INVALID_VALUE", field, problem));
            }
            Some(window)
        }
        (true, _, _, None) => {
            return Err(invalid(
                "FIELD_MISSING",
                "weekly.minutes",
                "a weekly window says how long it lasts".to_owned(),
            ));
        }
        (true, _, None, _) => {
            return Err(invalid("FIELD_MISSING", "weekly.start", "a weekly window says when it opens".to_owned()));
        }
    };
    let longest = if weekly.is_some() { MAX_RECURRING } else { MAX_SILENCE };
    if ends_at - starts_at.unwrap_or(now) > longest {
        let what = if weekly.is_some() { "a weekly window recurs" } else { "a silence lasts" };
        return Err(invalid(
            "FIELD_INVALID_VALUE",
            "ends_at",
            format!("{what} at most {} days from its start", longest.num_days()),
        ));
    }
    if matches.may_hold_critical() && !confirm {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            crate::api::ErrorType::SchemaValidation,
            "CONFIRMATION_REQUIRED",
            "this silence could hold a critical incident's pages: send \"confirm\": true once the operator has \
             confirmed, or match a lower severity",
        )
        .with_field("confirm"));
    }
    Ok(SilenceRequest {
        matches,
        reason,
        starts_at,
        ends_at,
        weekly,
        incident_id,
        actor_id: caller.0.name.clone(),
        attribution,
    })
}
