//! The learning loop over HTTP: calibration and over-reliance, suggestion
//! outcomes, patterns, and the rules learned from them.

use crate::api::limits;
use crate::api::{
    Calibration, ErrorBody, Friction, LearnedRule, Pattern, PatternList, ProposeRule, Reliance, RuleDecision, RuleList,
    RuleMatch, RuleState, RuleTransition, SuggestionStats,
};
use crate::incident::patterns::feature_list;
use crate::incident::patterns::pattern_name;
use crate::learning::{calibration, outcomes, reliance, rules as learned};
use crate::server::auth::{Caller, Permission};
use crate::server::request::{Fields, JsonObject, Query};
use crate::server::routes::interventions::once;
use crate::server::{ApiError, AppState};
use crate::store::{NewRule, StoredPattern};
use axum::Json;
use axum::extract::{Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use chrono::{DateTime, Duration, Utc};

/// `?days=N` (1 to 365, default 30): the period ending now.
fn period(query: &mut Query) -> Result<(DateTime<Utc>, DateTime<Utc>), ApiError> {
    let days = query.take_number("days", 1..=365, 30)?;
    let until = Utc::now();
    Ok((until - Duration::days(i64::from(days)), until))
}

/// Were the scores right (seed 11.2)? Per band and cause type: verdicts,
/// share confirmed, Brier score, and a reliability table by decile. A band
/// whose observed rate is outside its range is flagged.
#[utoipa::path(
    get, path = "/api/v1/calibration", tag = "learning",
    params(("days" = Option<u32>, Query, minimum = 1, maximum = 365, description = "the period, ending now (default 30)")),
    responses((status = 200, body = Calibration), (status = 400, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn get_calibration(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Json<Calibration>, ApiError> {
    caller.require(Permission::ReadOperations)?;
    let mut query = Query::parse(raw.as_deref())?;
    let (since, until) = period(&mut query)?;
    query.finish(&["days"])?;
    let judgements = state.store().judgements(since, until, None).await?;
    Ok(Json(calibration::calibrate(&judgements, since, until)))
}

/// How the caller judges causes (seed 11.3): confirmations faster than the
/// evidence can be read, LIKELY causes confirmed nearly always; the
/// console shows the prompts on the root-cause screen.
#[utoipa::path(
    get, path = "/api/v1/calibration/reliance", tag = "learning",
    params(("days" = Option<u32>, Query, minimum = 1, maximum = 365)),
    responses((status = 200, body = Reliance)),
    security(("bearer" = []))
)]
pub async fn get_reliance(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Json<Reliance>, ApiError> {
    caller.require(Permission::ReadOperations)?;
    let mut query = Query::parse(raw.as_deref())?;
    let (since, until) = period(&mut query)?;
    query.finish(&["days"])?;
    let person = caller.0.name.clone();
    let judgements = state.store().judgements(since, until, Some(&person)).await?;
    Ok(Json(reliance::reliance(&person, &judgements, since)))
}

/// What became of suggestions (seed 2.2, 9.4), by kind: shown, acted on,
/// superseded, ignored; acceptance and time from first shown to action.
#[utoipa::path(
    get, path = "/api/v1/suggestions/stats", tag = "learning",
    params(("days" = Option<u32>, Query, minimum = 1, maximum = 365)),
    responses((status = 200, body = SuggestionStats)),
    security(("bearer" = []))
)]
pub async fn suggestion_stats(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Json<SuggestionStats>, ApiError> {
    caller.require(Permission::ReadOperations)?;
    let mut query = Query::parse(raw.as_deref())?;
    let (since, _) = period(&mut query)?;
    query.finish(&["days"])?;
    let shown = state.store().suggestion_outcomes(Some(since), &[]).await?;
    Ok(Json(outcomes::stats(&shown, since)))
}

async fn pattern_view(state: &AppState, p: StoredPattern) -> Result<Pattern, ApiError> {
    let history = state.desk().pattern_history(p.id).await?;
    Ok(Pattern {
        id: p.id,
        name: pattern_name(p.id),
        features: feature_list(&p.signature),
        signature: p.signature,
        frequency: history.repeats,
        first_seen: p.first_seen,
        last_seen: p.last_seen,
        incidents: history.incidents,
        suggestions: history.suggestions,
        rule: history.rule,
        escalated_incident: p.escalated_incident,
    })
}

/// Recurring incident signatures (seed 10.1–10.4), most recently seen
/// first: features and weights, frequency, linked incidents with their
/// level and score, ignored suggestions and the rule learned.
#[utoipa::path(
    get, path = "/api/v1/patterns", tag = "learning",
    params(("limit" = Option<u32>, Query, minimum = 1, maximum = 200)),
    responses((status = 200, body = PatternList)),
    security(("bearer" = []))
)]
pub async fn list_patterns(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Json<PatternList>, ApiError> {
    caller.require(Permission::ReadOperations)?;
    let mut query = Query::parse(raw.as_deref())?;
    let limit = query.take_number("limit", 1..=200, 50)? as usize;
    query.finish(&["limit"])?;
    let mut patterns = Vec::new();
    for p in state.store().patterns().await?.into_iter().take(limit) {
        let view = pattern_view(&state, p).await?;
        if view.frequency > 0 {
            patterns.push(view);
        }
    }
    Ok(Json(PatternList { patterns }))
}

#[utoipa::path(
    get, path = "/api/v1/patterns/{id}", tag = "learning",
    params(("id" = i64, Path)),
    responses((status = 200, body = Pattern), (status = 404, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn get_pattern(
    _query: crate::server::request::NoQuery,
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<Pattern>, ApiError> {
    caller.require(Permission::ReadOperations)?;
    let id = crate::server::routes::incidents::parse_positive_id("pattern", &id)?;
    let Some(p) = state.store().pattern(id).await? else {
        return Err(ApiError::not_found("PATTERN_NOT_FOUND", format!("no pattern #{id}")).with_field("id"));
    };
    Ok(Json(pattern_view(&state, p).await?))
}

/// Every learned rule, newest first, and the friction rules caused (seed 10.6).
#[utoipa::path(
    get, path = "/api/v1/rules", tag = "learning",
    params(("state" = Option<String>, Query, description = "proposed, approved, active, sunset or rejected")),
    responses((status = 200, body = RuleList)),
    security(("bearer" = []))
)]
pub async fn list_rules(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Json<RuleList>, ApiError> {
    caller.require(Permission::ReadOperations)?;
    let mut query = Query::parse(raw.as_deref())?;
    let wanted = match query.take("state") {
        None => None,
        Some(raw) => Some(RuleState::parse(&raw).ok_or_else(|| {
            ApiError::invalid_request("INVALID_PARAMETER", format!("state must be one of: {}", RuleState::allowed()))
                .with_field("state")
        })?),
    };
    query.finish(&["state"])?;
    let now = Utc::now();
    let rules = state.store().rules(wanted, now).await?;
    let interruptions = state.store().interruptions(now - Duration::days(7)).await?;
    Ok(Json(RuleList {
        rules,
        friction: Friction {
            window_days: 7,
            interruptions,
            budget: learned::FRICTION_BUDGET,
            over_budget: interruptions > learned::FRICTION_BUDGET,
            idle_days: learned::IDLE_DAYS,
            auto_allowed: state.desk().auto_rules_allowed(),
        },
    }))
}

/// Propose a rule (responders and admins). It acts only once an admin has
/// approved and activated it.
#[utoipa::path(
    post, path = "/api/v1/rules", tag = "learning",
    params(("Idempotency-Key" = Option<String>, Header)),
    request_body = ProposeRule,
    responses(
        (status = 201, body = LearnedRule),
        (status = 400, body = ErrorBody, description = "a field is missing or invalid; RULE_MATCH_EMPTY"),
        (status = 404, body = ErrorBody, description = "PATTERN_NOT_FOUND: pattern_id names no pattern"),
        (status = 409, body = ErrorBody, description = "RULE_EXISTS: the pattern has a live rule"),
    ),
    security(("bearer" = []))
)]
pub async fn propose_rule(
    _query: crate::server::request::NoQuery,
    State(state): State<AppState>,
    caller: Caller,
    headers: HeaderMap,
    JsonObject(body): JsonObject,
) -> Result<Response, ApiError> {
    caller.require(Permission::Intervene)?;
    once(&state, &caller, &headers, "rules", &body.clone(), async {
        let mut f = Fields::new(body);
        let name = f.required_string("name", limits::RULE_NAME);
        let mut m = Fields::new(f.object("match", 4096));
        let matches = RuleMatch {
            action_type: m.optional_id("action_type", limits::REFERENCE),
            resource: m.optional_id("resource", limits::NAME),
            business_hours: m.optional_flag("business_hours"),
        };
        let decision = f.required_enum("decision", RuleDecision::parse, &RuleDecision::allowed());
        let automation = f.optional_string("automation", limits::KIND);
        let pattern_id = f.optional_integer("pattern_id");
        let reason = f.optional_string("reason", limits::REASON);
        m.reject_unknown();
        f.reject_unknown();
        f.errors.extend(m.errors.into_iter().map(|mut e| {
            e.field = e.field.map(|n| format!("match.{n}"));
            e
        }));
        let automation = match automation.as_deref().map(|a| (a, crate::api::Automation::parse(a))) {
            None => None,
            Some((_, Some(a))) => Some(a),
            Some((raw, None)) => {
                return Err(ApiError::invalid_request(
                    "FIELD_INVALID_VALUE",
                    format!("automation must be one of: {}, not {raw:?}", crate::api::Automation::allowed()),
                )
                .with_field("automation"));
            }
        };
        let (name, decision) = f.finish_with(name.zip(decision))?;
        if decision == RuleDecision::Auto && automation.is_none() {
            return Err(ApiError::invalid_request(
                "FIELD_MISSING",
                "an auto rule needs automation (pause_agent or escalate)".to_owned(),
            )
            .with_field("automation"));
        }
        if let Some(id) = pattern_id
            && state.store().pattern(id).await?.is_none()
        {
            return Err(ApiError::not_found("PATTERN_NOT_FOUND", format!("no pattern #{id}")).with_field("pattern_id"));
        }
        let source = format!("proposed by {} through the API", caller.0.name);
        let rule = NewRule {
            name: &name,
            pattern_id,
            matches: &matches,
            decision,
            automation,
            source: &source,
            proposed_by: &caller.0.name,
        };
        let stored = state.desk().propose_rule(&rule, reason.as_deref()).await?;
        Ok((StatusCode::CREATED, stored))
    })
    .await
}

/// Move a rule along its life (admins): `approved` from proposed, `active`
/// from approved (or sunset, to renew it), `sunset` from active, `rejected`
/// from proposed or approved. Audited.
#[utoipa::path(
    post, path = "/api/v1/rules/{id}/transition", tag = "learning",
    params(("id" = i64, Path), ("Idempotency-Key" = Option<String>, Header)),
    request_body = RuleTransition,
    responses(
        (status = 200, body = LearnedRule),
        (status = 404, body = ErrorBody, description = "RULE_NOT_FOUND"),
        (status = 409, body = ErrorBody, description = "RULE_STATE: not allowed from its state"),
    ),
    security(("bearer" = []))
)]
pub async fn transition_rule(
    _query: crate::server::request::NoQuery,
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
    headers: HeaderMap,
    JsonObject(body): JsonObject,
) -> Result<Response, ApiError> {
    caller.require(Permission::Administer)?;
    let id = crate::server::routes::incidents::parse_positive_id("rule", &id)?;
    once(&state, &caller, &headers, &format!("rule:{id}"), &body.clone(), async {
        let mut f = Fields::new(body);
        let to = f.required_enum("to", RuleState::parse, &RuleState::allowed());
        let reason = f.optional_string("reason", limits::REASON);
        let to = f.finish_with(to)?;
        let rule = state.desk().move_rule(id, to, &caller.0.name, reason.as_deref()).await?;
        Ok((StatusCode::OK, rule))
    })
    .await
}
