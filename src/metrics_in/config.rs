//! The routing file's `[metrics]` table:
//!
//! ```toml
//! [metrics]
//! prometheus = "http://prometheus:9090"
//! token = { env = "MANDATE_PROMETHEUS_TOKEN" }   # optional: a bearer token, by reference
//! timeout = "5s"
//!
//! [[metrics.slow_burn]]
//! name = "checkout p99 creeping up"
//! service = "payments-service"
//! query = 'histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{job="payments"}[5m])))'
//! baseline = "30d"      # the mean over the 30 days before the window …
//! window = "7d"         # … against the mean over the last 7 days
//! threshold = 20        # percent; negative for a drop (throughput, success rate)
//! every = "1h"          # how often it is asked
//! ```

use crate::moment::parse_duration;
use crate::paging::SecretRef;
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MetricsSource {
    /// Prometheus's base URL: its HTTP API is under `/api/v1`.
    pub prometheus: String,
    /// A bearer token for it, by reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token: Option<SecretRef>,
    /// One query's time limit (default 5s): a slow Prometheus is unavailable.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub slow_burn: Vec<SlowBurnRule>,
    /// What an incident's impact panel asks about each service.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub impact: Vec<ImpactQueries>,
}

/// A service's figures for an incident's impact (seed 004 §8.3), each a
/// PromQL query giving one number now.
///
/// ```toml
/// [[metrics.impact]]
/// service = "payments-service"
/// error_rate = 'sum(rate(http_requests_total{job="payments",code=~"5.."}[5m])) / sum(rate(http_requests_total{job="payments"}[5m]))'
/// latency = 'histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{job="payments"}[5m])))'
/// requests = 'sum(rate(http_requests_total{job="payments"}[5m]))'
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ImpactQueries {
    pub service: String,
    /// Failed requests as a fraction of all (0 to 1).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_rate: Option<String>,
    /// A latency, in seconds (say, the p99).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub latency: Option<String>,
    /// Requests per second.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requests: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SlowBurnRule {
    /// Unique in the file.
    pub name: String,
    /// The catalog service it is about: its owner is told.
    pub service: String,
    /// PromQL giving one series (the first is used).
    pub query: String,
    /// The longer stretch before the window whose mean is the baseline.
    pub baseline: String,
    /// The recent stretch whose mean is compared with it.
    pub window: String,
    /// How far the window's mean may move from the baseline's, in percent:
    /// 20 is "20 % higher", -20 "20 % lower".
    pub threshold: f64,
    /// How often it is evaluated (default: the window's tenth, at least 1s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub every: Option<String>,
    /// The resolution of the means (default: the window's twentieth, at least 1s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<String>,
}

impl Eq for SlowBurnRule {}

/// Seconds in `raw`, named for the error.
fn seconds(path: &str, raw: &str) -> Result<u64, (String, String)> {
    match parse_duration(raw) {
        Some(s) if s > 0 => Ok(s),
        _ => Err((path.to_owned(), format!("{raw:?} is not a duration such as \"30s\", \"5m\", \"1h\" or \"7d\""))),
    }
}

impl MetricsSource {
    pub fn timeout(&self) -> std::time::Duration {
        std::time::Duration::from_secs(self.timeout.as_deref().and_then(parse_duration).unwrap_or(5))
    }

    /// Checks it; an error is (path under `metrics.`, message).
    pub fn check(&self) -> Result<(), (String, String)> {
        match reqwest::Url::parse(&self.prometheus) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => {}
            _ => return Err(("prometheus".into(), format!("{:?} is not an http(s) URL", self.prometheus))),
        }
        if let Some(t) = &self.token {
            t.check().map_err(|m| ("token".to_owned(), m))?;
        }
        if let Some(t) = &self.timeout {
            seconds("timeout", t)?;
        }
        for (i, q) in self.impact.iter().enumerate() {
            if q.service.trim().is_empty() {
                return Err((format!("impact[{i}].service"), "names the catalog service it measures".into()));
            }
            if self.impact[..i].iter().any(|o| o.service == q.service) {
                return Err((format!("impact[{i}].service"), format!("{:?} is measured twice", q.service)));
            }
            if q.error_rate.is_none() && q.latency.is_none() && q.requests.is_none() {
                return Err((format!("impact[{i}]"), "give error_rate, latency or requests: a query for each".into()));
            }
        }
        for (i, rule) in self.slow_burn.iter().enumerate() {
            let at = |field: &str| format!("slow_burn[{i}].{field}");
            if rule.name.trim().is_empty() {
                return Err((at("name"), "a rule has a name".into()));
            }
            if self.slow_burn[..i].iter().any(|o| o.name == rule.name) {
                return Err((at("name"), format!("{:?} names two rules", rule.name)));
            }
            if rule.query.trim().is_empty() {
                return Err((at("query"), "a rule has a query".into()));
            }
            let window = seconds(&at("window"), &rule.window)?;
            let baseline = seconds(&at("baseline"), &rule.baseline)?;
            if baseline <= window {
                return Err((
                    at("baseline"),
                    format!("{} must be longer than the window, {}", rule.baseline, rule.window),
                ));
            }
            if !rule.threshold.is_finite() || rule.threshold == 0.0 {
                return Err((at("threshold"), "a percentage other than 0: 20 for a 20 % rise, -20 for a drop".into()));
            }
            for (field, raw) in [("every", &rule.every), ("step", &rule.step)] {
                if let Some(raw) = raw {
                    seconds(&at(field), raw)?;
                }
            }
        }
        Ok(())
    }
}

impl SlowBurnRule {
    pub fn window_seconds(&self) -> u64 {
        parse_duration(&self.window).unwrap_or(1)
    }

    pub fn baseline_seconds(&self) -> u64 {
        parse_duration(&self.baseline).unwrap_or(2)
    }

    pub fn every(&self) -> std::time::Duration {
        let every = self.every.as_deref().and_then(parse_duration).unwrap_or(self.window_seconds() / 10);
        std::time::Duration::from_secs(every.max(1))
    }

    pub fn step_seconds(&self) -> u64 {
        self.step.as_deref().and_then(parse_duration).unwrap_or(self.window_seconds() / 20).max(1)
    }
}
