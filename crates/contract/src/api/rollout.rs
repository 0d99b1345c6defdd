//! The attribution rollout (seed 000): where each origin system stands, the
//! trends of §6, the phases and milestones of §9, the breach of §7, and the
//! outreach of §5.

use super::CountBy;
use crate::wire_enum;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

wire_enum! {
    /// Where the fleet stands (seed 000 §9). Before shadow mode it is only
    /// announced; with no plan configured, the API's hard enforcement is all
    /// there is.
    pub enum Phase {
        Announced = "announced",
        Shadow = "shadow",
        Soft = "soft",
        /// Soft fail, with the legacy override no longer honoured.
        SoftNoOverride = "soft_no_override",
        Hard = "hard",
    }
}

impl Phase {
    /// As the seed's messages name it.
    pub fn title(self) -> &'static str {
        match self {
            Phase::Announced => "Announced",
            Phase::Shadow => "Shadow mode",
            Phase::Soft => "Soft fail",
            Phase::SoftNoOverride => "Soft fail, override disabled",
            Phase::Hard => "Hard fail",
        }
    }

    pub fn is_hard(self) -> bool {
        self == Phase::Hard
    }

    /// Whether the legacy override still lets a violating run through.
    pub fn honours_override(self) -> bool {
        matches!(self, Phase::Announced | Phase::Shadow | Phase::Soft)
    }
}

wire_enum! {
    /// Where one origin system stands, over the last 24 hours. Worst first.
    pub enum ComplianceStatus {
        /// Runs refused for their attribution, without the override.
        Violating = "violating",
        /// Refused runs that claimed the soft-mode override, and no others.
        UsingOverride = "using_override",
        /// Nothing from it in 24 hours: nothing shows it compliant.
        Silent = "silent",
        /// Runs accepted, none refused.
        Compliant = "compliant",
    }
}

impl ComplianceStatus {
    /// As the seed's §6 table says it.
    pub fn title(self) -> &'static str {
        match self {
            ComplianceStatus::Violating => "Violations",
            ComplianceStatus::UsingOverride => "Using Override",
            ComplianceStatus::Silent => "Silent",
            ComplianceStatus::Compliant => "Compliant",
        }
    }

    pub fn is_compliant(self) -> bool {
        self == ComplianceStatus::Compliant
    }
}

wire_enum! {
    /// A metric against the previous period.
    pub enum Trend {
        Up = "up",
        Down = "down",
        Stable = "stable",
    }
}

/// One planned date.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Milestone {
    /// The phase it begins.
    pub phase: Phase,
    /// "Soft fail begins", "Override flag disabled", …
    pub name: String,
    pub at: DateTime<Utc>,
    /// Whole days from now, rounded up; 0 or less once passed.
    pub days_remaining: i64,
    pub passed: bool,
}

/// The next milestone, and who would fail it if it began now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct NextPhase {
    pub milestone: Milestone,
    /// Origin systems whose runs would be refused from then on.
    pub would_fail: Vec<String>,
    /// Silent origin systems: nothing says whether they would pass.
    pub unknown: Vec<String>,
}

/// One metric of seed 000 §6, this period against the previous one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct TrendMetric {
    /// validation_success_rate, violations, override_use, legacy_bucket_growth, legacy_attempts.
    pub key: String,
    pub label: String,
    /// The last 7 days; null when nothing measured it (no run attempts).
    pub value: Option<f64>,
    /// The 7 days before.
    pub previous: Option<f64>,
    pub trend: Trend,
    /// Whether the trend is the way it should go (stable counts as good).
    pub improving: bool,
    /// One value a day, oldest first, the last 14 days (today last).
    pub daily: Vec<Option<f64>>,
}

/// The attribution fields of the latest refused request: values of the
/// attribution fields, clipped, and only whether an actor_id was present.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ViolationSample {
    pub at: DateTime<Utc>,
    /// run or event.
    pub subject: String,
    pub codes: Vec<String>,
    pub override_claimed: bool,
    pub fields: BTreeMap<String, String>,
}

/// Someone reached out to the service's owner (seed 000 §5).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OutreachNote {
    pub at: DateTime<Utc>,
    pub by: String,
    pub to: Vec<String>,
}

/// A person or group the service's owner resolves to, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OwnerTarget {
    pub who: String,
    pub why: String,
}

/// One origin system and where it stands.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ServiceCompliance {
    pub name: String,
    pub status: ComplianceStatus,
    /// When it last changed to this status (hour precision); null when it
    /// has been so since before the history kept for this (35 days).
    pub since: Option<DateTime<Utc>>,
    /// The status before this one (a silent spell between is skipped):
    /// "compliant since 11-24, was violating" is a fix.
    pub previous_status: Option<ComplianceStatus>,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    pub runs_24h: i64,
    pub runs_7d: i64,
    pub violations_24h: i64,
    pub violations_7d: i64,
    /// Refused requests by `ATTR_…` code, last 7 days.
    pub violations_by_code: Vec<CountBy>,
    pub override_use_7d: i64,
    /// Requests carrying legacy-unknown or legacy-migration, last 7 days.
    pub legacy_use_7d: i64,
    /// The first refusal the history holds (35 days).
    pub first_violation: Option<DateTime<Utc>>,
    /// The catalog's team, when the service is in it.
    pub team: Option<String>,
    /// Who outreach reaches: the catalog owner, the backup, or the fallback.
    pub owners: Vec<OwnerTarget>,
    /// Whether its runs would be refused at the next milestone.
    pub fails_next_phase: bool,
    pub latest_violation: Option<ViolationSample>,
    pub last_outreach: Option<OutreachNote>,
}

/// The P1 a legacy marker raises in hard fail (seed 000 §7).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Breach {
    pub incident_id: i64,
    pub status: super::IncidentStatus,
    pub opened_at: DateTime<Utc>,
    /// Runs with legacy markers it collected.
    pub runs: i64,
}

/// `GET /api/v1/attribution/rollout`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RolloutStatus {
    /// The server's clock: what every "days remaining" counts from.
    pub now: DateTime<Utc>,
    pub phase: Phase,
    /// Whether a rollout plan is configured (`[attribution]` in the routing).
    pub planned: bool,
    pub milestones: Vec<Milestone>,
    pub next: Option<NextPhase>,
    pub metrics: Vec<TrendMetric>,
    /// Worst first; only those the filter keeps.
    pub services: Vec<ServiceCompliance>,
    /// How many there are before the filter.
    pub services_total: usize,
    /// The open breach incident, else the latest one.
    pub breach: Option<Breach>,
    /// Seed 000 §6's action items, per team.
    pub action_items: Vec<String>,
    /// "mon 09:00 UTC to @platform-oncall via email"; null without a plan.
    pub weekly_status: Option<String>,
}

/// `POST /api/v1/attribution/services/{name}/outreach`: the operator's HUMAN
/// attribution, as for every intervention.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OutreachBody {
    pub actor_type: String,
    pub actor_id: String,
    pub agent_id: String,
    pub origin_system_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// What the outreach sent, and to whom.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OutreachSent {
    pub service: String,
    /// (who, channel) for each message queued.
    pub sent_to: Vec<OwnerTarget>,
    pub channels: Vec<String>,
    pub subject: String,
    /// The message, Markdown.
    pub message: String,
    /// The audit log entry that records it.
    pub audit_seq: i64,
}
