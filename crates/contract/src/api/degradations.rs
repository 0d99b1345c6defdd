//! Slow-burn degradation (seed 004 §7.3): rules comparing a metric's recent
//! mean with its baseline, asked of the team's Prometheus; past the
//! threshold, a degradation opens: a notice to the service's owner with the
//! trend and the changes made to it in the window, shown in the incident
//! list as its own kind, not an incident.

use crate::wire_enum;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

wire_enum! {
    /// What a rule's last evaluation found.
    pub enum WatchState {
        Healthy = "healthy",
        Degraded = "degraded",
        /// Prometheus could not say: never taken for healthy.
        Unavailable = "unavailable",
    }
}

wire_enum! {
    pub enum DegradationStatus {
        Open = "open",
        /// The metric came back within the threshold.
        Cleared = "cleared",
    }
}

/// A rule's last word.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SlowBurnCheck {
    pub rule: String,
    pub service: String,
    pub state: WatchState,
    pub checked_at: DateTime<Utc>,
    /// In this state since.
    pub since: DateTime<Utc>,
    pub recent: Option<f64>,
    pub baseline: Option<f64>,
    /// `recent` against `baseline`, in percent.
    pub change_pct: Option<f64>,
    /// The rule's threshold, in percent (negative: a fall).
    pub threshold: f64,
    /// Why the metrics are unavailable.
    pub error: Option<String>,
}

/// A change made to the service (or by anyone on it) within the window: a
/// candidate for what started the drift.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WindowChange {
    pub event_id: String,
    pub occurred_at: DateTime<Utc>,
    pub agent_id: Option<String>,
    pub actor_id: Option<String>,
    pub action_type: Option<String>,
    pub resource: Option<String>,
}

/// One degradation, open or cleared.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Degradation {
    pub id: i64,
    pub rule: String,
    pub service: String,
    pub status: DegradationStatus,
    pub opened_at: DateTime<Utc>,
    pub cleared_at: Option<DateTime<Utc>>,
    /// The figures when it opened.
    pub recent: f64,
    pub baseline: f64,
    pub change_pct: f64,
    pub threshold: f64,
    /// "7d" against "30d", as the rule says them.
    pub window: String,
    pub baseline_window: String,
    /// The trend in Prometheus's graph.
    pub trend_url: String,
    /// Who was told: the service's owner.
    pub told: Option<String>,
    /// Changes on the service within the window, newest first (at most 20).
    pub changes: Vec<WindowChange>,
}

/// `GET /api/v1/degradations`, and what the incident list carries of it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DegradationList {
    /// Every rule's last word (the list carries those not healthy).
    pub checks: Vec<SlowBurnCheck>,
    /// Open degradations, newest first; then (here, not in the list) the
    /// latest 50 cleared.
    pub degradations: Vec<Degradation>,
}

impl DegradationList {
    pub fn is_empty(&self) -> bool {
        self.checks.is_empty() && self.degradations.is_empty()
    }
}

/// `GET /api/v1/incidents/{id}/impact`: the incident's services measured
/// now by the team's Prometheus (seed 004 §8.3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ImpactReport {
    pub incident_id: i64,
    /// When it was measured.
    pub at: DateTime<Utc>,
    /// Since the incident began (until it was resolved).
    pub duration_seconds: i64,
    /// The failing and definitely or likely affected services that have
    /// impact queries, measured.
    pub services: Vec<ServiceImpact>,
    /// Affected services with no impact queries in the routing file.
    pub unmeasured: Vec<String>,
    /// Requests failed across the measured services over the incident,
    /// where known.
    pub estimated_failed: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ServiceImpact {
    pub service: String,
    /// Failed requests as a fraction of all, now.
    pub error_rate: Option<f64>,
    /// Seconds, now (as the service's latency query says: a p99, say).
    pub latency_seconds: Option<f64>,
    pub requests_per_second: Option<f64>,
    /// The mean error rate times the mean request rate over the incident,
    /// times its duration.
    pub estimated_failed: Option<f64>,
    /// Why a figure asked for is missing: Prometheus could not say.
    pub unavailable: Option<String>,
}
