//! Agents, the audit log, the service catalog and the attribution figures.

use crate::api::{AccessPage, AttributionStats, AuditPage, CountBy, ErrorBody};
use crate::catalog::CatalogDocument;
use crate::server::auth::{Caller, Permission};
use crate::server::request::{JsonObject, Query};
use crate::server::{ApiError, AppState};
use crate::store::AgentSummary;
use axum::Json;
use axum::extract::{RawQuery, State};
use chrono::{Duration, Utc};
use std::collections::BTreeMap;

/// Agents: status, last seen, live runs, failure rate, disabled tools.
#[utoipa::path(
    get, path = "/api/v1/agents", tag = "agents",
    responses((status = 200, body = [AgentSummary]), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn list_agents(
    _query: crate::server::request::NoQuery,
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<Vec<AgentSummary>>, ApiError> {
    caller.require(Permission::ReadOperations)?;
    Ok(Json(state.desk().list_agents().await?))
}

/// The audit log, newest first, with the chain's verification state.
#[utoipa::path(
    get, path = "/api/v1/audit", tag = "audit",
    params(("limit" = Option<u32>, Query, minimum = 1, maximum = 500), ("before" = Option<i64>, Query, description = "entries with a smaller seq")),
    responses((status = 200, body = AuditPage), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn audit(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Json<AuditPage>, ApiError> {
    caller.require(Permission::ReadOperations)?;
    let mut query = Query::parse(raw.as_deref())?;
    let limit = query.take_number("limit", 1..=500, 100)?;
    let before = query.take_before()?;
    query.finish(&["limit", "before"])?;
    let entries = state.store().audit_page(before, limit).await?;
    let chain = state.audit_chain().await?;
    let next_before = if entries.len() == limit as usize { entries.last().map(|e| e.seq) } else { None };
    state.access_log().looked(&caller.0, "audit_log", "audit".to_owned());
    Ok(Json(AuditPage { entries, chain, next_before }))
}

/// Who looked: people's reads of incident detail and of the audit log,
/// newest first (one row per person and thing read per minute). Admins only.
#[utoipa::path(
    get, path = "/api/v1/access-log", tag = "audit",
    params(
        ("limit" = Option<u32>, Query, minimum = 1, maximum = 500),
        ("before" = Option<i64>, Query, description = "entries with a smaller id"),
        ("principal" = Option<String>, Query, description = "one person's reads"),
        ("target" = Option<String>, Query, description = "reads of one thing: `incident:12`, `audit`"),
    ),
    responses((status = 200, body = AccessPage)),
    security(("bearer" = []))
)]
pub async fn access_log(
    State(state): State<AppState>,
    caller: Caller,
    RawQuery(raw): RawQuery,
) -> Result<Json<AccessPage>, ApiError> {
    caller.require(Permission::Administer)?;
    let mut query = Query::parse(raw.as_deref())?;
    let limit = query.take_number("limit", 1..=500, 100)?;
    let before = query.take_before()?;
    let principal = query.take("principal");
    let target = query.take("target");
    query.finish(&["limit", "before", "principal", "target"])?;
    let entries = state.store().access_page(before, limit, principal.as_deref(), target.as_deref()).await?;
    let next_before = if entries.len() == limit as usize { entries.last().map(|e| e.id) } else { None };
    Ok(Json(AccessPage { entries, next_before }))
}

/// The service catalog in force.
#[utoipa::path(
    get, path = "/api/v1/catalog", tag = "catalog",
    responses((status = 200, body = CatalogDocument), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn get_catalog(
    _query: crate::server::request::NoQuery,
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<CatalogDocument>, ApiError> {
    caller.require(Permission::ReadOperations)?;
    Ok(Json(state.desk().catalog().document().clone()))
}

/// Replace the service catalog (admin). Recorded in the audit log.
#[utoipa::path(
    put, path = "/api/v1/catalog", tag = "catalog",
    request_body = CatalogDocument,
    responses((status = 200, body = CatalogDocument), (status = 400, body = ErrorBody), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn put_catalog(
    _query: crate::server::request::NoQuery,
    State(state): State<AppState>,
    caller: Caller,
    JsonObject(body): JsonObject,
) -> Result<Json<CatalogDocument>, ApiError> {
    caller.require(Permission::Administer)?;
    let document: CatalogDocument = serde_path_to_error::deserialize(serde_json::Value::Object(body)).map_err(|e| {
        ApiError::new(
            axum::http::StatusCode::BAD_REQUEST,
            crate::api::ErrorType::SchemaValidation,
            "CATALOG_INVALID",
            format!("catalog {}: {}", e.path(), e.inner()),
        )
        .with_field(e.path().to_string())
    })?;
    state.desk().replace_catalog(document, &caller.0.name).await.map_err(|e| match e {
        crate::store::StoreError::Refused(m) => ApiError::new(
            axum::http::StatusCode::BAD_REQUEST,
            crate::api::ErrorType::SchemaValidation,
            "CATALOG_INVALID",
            m,
        ),
        other => other.into(),
    })?;
    Ok(Json(state.desk().catalog().document().clone()))
}

fn ranked(map: BTreeMap<String, i64>) -> Vec<CountBy> {
    let mut v: Vec<CountBy> = map.into_iter().map(|(key, count)| CountBy { key, count }).collect();
    v.sort_by(|a, b| b.count.cmp(&a.count).then(a.key.cmp(&b.key)));
    v
}

/// Attribution compliance: success rate, violations by code and origin, override use, legacy bucket.
#[utoipa::path(
    get, path = "/api/v1/attribution/stats", tag = "attribution",
    responses((status = 200, body = AttributionStats), (status = 401, body = ErrorBody), (status = 403, body = ErrorBody)),
    security(("bearer" = []))
)]
pub async fn attribution_stats(
    _query: crate::server::request::NoQuery,
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<AttributionStats>, ApiError> {
    caller.require(Permission::ReadOperations)?;
    let since = Utc::now() - Duration::days(7);
    let rejections = state.store().rejections_since(since).await?;
    let (runs_accepted, legacy_bucket) = state.store().run_acceptance(since).await?;
    let (mut by_code, mut by_origin) = (BTreeMap::new(), BTreeMap::new());
    let mut override_use = 0;
    let (mut runs_rejected, mut events_rejected) = (0, 0);
    for (subject, codes, origin, claimed) in &rejections {
        if subject == "run" {
            runs_rejected += 1
        } else {
            events_rejected += 1
        }
        for code in codes.split(',').filter(|c| !c.is_empty()) {
            *by_code.entry(code.to_owned()).or_insert(0) += 1;
        }
        *by_origin.entry(origin.clone().unwrap_or_else(|| "(missing)".to_owned())).or_insert(0) += 1;
        override_use += i64::from(*claimed);
    }
    let attempts = runs_accepted + runs_rejected;
    Ok(Json(AttributionStats {
        window_days: 7,
        runs_accepted,
        runs_rejected,
        events_rejected,
        validation_success_rate: (attempts > 0).then(|| runs_accepted as f64 / attempts as f64),
        violations_by_code: ranked(by_code),
        violations_by_origin_system: ranked(by_origin),
        override_use,
        legacy_bucket,
    }))
}
