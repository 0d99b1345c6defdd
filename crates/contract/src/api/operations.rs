//! Operations: agents, the audit log and the attribution figures.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// `GET /api/v1/agents`: one agent as the console shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AgentSummary {
    pub agent_id: String,
    /// active | paused
    pub status: String,
    pub paused_at: Option<DateTime<Utc>>,
    pub paused_by: Option<String>,
    pub last_seen: DateTime<Utc>,
    pub live_runs: i64,
    /// Share of failed runs and error events over the last 24 hours, 0 to 1.
    pub failure_rate: f64,
    pub disabled_tools: Vec<String>,
    /// While paused: events it recorded as done after the pause (each stored
    /// flagged `acted_while_stopped`). Above 0, the stop did not hold.
    #[serde(default)]
    pub acted_while_stopped: i64,
    /// While paused: attempts its SDK refused before they ran, as reported.
    #[serde(default)]
    pub refused_attempts: i64,
    /// When its pause ends by itself.
    #[serde(default)]
    pub paused_until: Option<DateTime<Utc>>,
    /// When its SDK last asked for its controls; none: it never has (no
    /// SDK, or one that does not subscribe).
    #[serde(default)]
    pub last_contact: Option<DateTime<Utc>>,
    /// The SDK its control polls came from, as they said: "python 0.1.0",
    /// "typescript 0.1.0", "rust 0.1.0"; none: not said, or never polled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sdk: Option<String>,
}

/// One entry of the tamper-evident audit log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditEntry {
    pub seq: i64,
    pub at: DateTime<Utc>,
    /// The principal who acted.
    pub actor: String,
    /// What was done: an intervention kind, `verdict`, `catalog_replaced`, …
    pub action: String,
    /// What it was done to: `incident:12`, `agent:deployer`, `catalog`.
    pub target: String,
    #[schema(value_type = Object)]
    pub details: serde_json::Value,
    pub prev_hash: String,
    pub hash: String,
}

/// The state of the chain after checking it from the first entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ChainStatus {
    pub verified: bool,
    pub entries_checked: i64,
    /// The first entry whose hash or link does not hold.
    pub first_broken_seq: Option<i64>,
    pub problem: Option<String>,
}

/// One read of the record by a person: who looked at what, when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AccessEntry {
    pub id: i64,
    pub at: DateTime<Utc>,
    /// The token's name.
    pub principal: String,
    pub role: super::Role,
    /// `incident_detail` or `audit_log`.
    pub what: String,
    /// `incident:12`, `audit`.
    pub target: String,
}

/// `GET /api/v1/access-log`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AccessPage {
    /// Newest first.
    pub entries: Vec<AccessEntry>,
    /// Pass as `before` for the next page; absent on the last.
    pub next_before: Option<i64>,
}

/// `GET /api/v1/audit`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AuditPage {
    /// Newest first.
    pub entries: Vec<AuditEntry>,
    /// The whole chain, checked from its first entry.
    pub chain: ChainStatus,
    pub next_before: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CountBy {
    pub key: String,
    pub count: i64,
}

/// Seed 000 section 6, over the last 7 days.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AttributionStats {
    pub window_days: i64,
    pub runs_accepted: i64,
    pub runs_rejected: i64,
    pub events_rejected: i64,
    /// Accepted runs over all run attempts; null when there were none.
    pub validation_success_rate: Option<f64>,
    pub violations_by_code: Vec<CountBy>,
    pub violations_by_origin_system: Vec<CountBy>,
    /// Requests whose SDK let a violation through with the soft-mode override.
    pub override_use: i64,
    /// Stored runs carrying a legacy sentinel. Must stay 0.
    pub legacy_bucket: i64,
}
