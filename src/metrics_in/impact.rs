//! An incident's services measured (seed 004 §8.3): each service with
//! impact queries gives its error rate, latency and request rate now, and
//! the requests failed since the incident began, estimated as the mean
//! error rate times the mean request rate over the incident, times its
//! duration:
//!
//! ```text
//! avg_over_time((ERROR_RATE)[Ds:Ss]) * avg_over_time((REQUESTS)[Ds:Ss]) * D
//! ```
//!
//! A figure Prometheus cannot give is missing, with the reason; never 0.

use super::{ImpactQueries, MetricsSource, prometheus};
use crate::api::{ImpactReport, ServiceImpact};
use chrono::{DateTime, Utc};

/// Measures `services` (those with queries) for incident `id`, which ran from `from` to `to`.
pub async fn measure(
    http: &reqwest::Client,
    source: &MetricsSource,
    id: i64,
    services: &[String],
    (from, to): (DateTime<Utc>, DateTime<Utc>),
) -> ImpactReport {
    let at = Utc::now();
    let duration = (to - from).num_seconds().max(1);
    let mut measured = Vec::new();
    let mut unmeasured = Vec::new();
    for service in services {
        match source.impact.iter().find(|q| &q.service == service) {
            Some(q) => measured.push(one(http, source, q, duration, to).await),
            None => unmeasured.push(service.clone()),
        }
    }
    let known: Vec<f64> = measured.iter().filter_map(|s| s.estimated_failed).collect();
    let estimated_failed = (!known.is_empty()).then(|| known.iter().sum());
    ImpactReport { incident_id: id, at, duration_seconds: duration, services: measured, unmeasured, estimated_failed }
}

async fn one(
    http: &reqwest::Client,
    source: &MetricsSource,
    q: &ImpactQueries,
    duration: i64,
    to: DateTime<Utc>,
) -> ServiceImpact {
    let mut missing: Vec<String> = Vec::new();
    let mut ask = async |query: &Option<String>, what: &str, at: DateTime<Utc>| -> Option<f64> {
        let query = query.as_deref()?;
        match prometheus::query(http, source, query, at).await {
            Ok(v) => Some(v),
            Err(e) => {
                missing.push(format!("{what}: {e}"));
                None
            }
        }
    };
    let now = Utc::now();
    let error_rate = ask(&q.error_rate, "error rate", now).await;
    let latency_seconds = ask(&q.latency, "latency", now).await;
    let requests_per_second = ask(&q.requests, "requests", now).await;
    let step = (duration / 60).max(1);
    let over =
        |query: &Option<String>| query.as_ref().map(|q| format!("avg_over_time(({})[{duration}s:{step}s])", q.trim()));
    let estimated_failed = match (over(&q.error_rate), over(&q.requests)) {
        (Some(e), Some(r)) => {
            let mean_errors = ask(&Some(e), "error rate over the incident", to).await;
            let mean_requests = ask(&Some(r), "requests over the incident", to).await;
            mean_errors.zip(mean_requests).map(|(e, r)| (e * r * duration as f64).max(0.0))
        }
        _ => None,
    };
    ServiceImpact {
        service: q.service.clone(),
        error_rate,
        latency_seconds,
        requests_per_second,
        estimated_failed,
        unavailable: (!missing.is_empty()).then(|| missing.join("; ")),
    }
}
