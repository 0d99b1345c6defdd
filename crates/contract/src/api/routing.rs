//! Who is told about an incident, how and when (seed 004 5.4).

use crate::wire_enum;
use serde::{Deserialize, Serialize};

wire_enum! {
    /// How Mandate treats the incident (seed 5.4).
    pub enum RoutingVerdict {
        /// Watched; nobody is paged.
        Monitored = "monitored",
        /// People are told, by the escalation chain.
        Flagged = "flagged",
        /// People are told and a human must decide before anything proceeds.
        Gated = "gated",
        /// People are told and the rule's automation runs at once (opt-in,
        /// seed 2.1): recorded as SYSTEM, with the rule's name.
        Auto = "auto",
    }
}

wire_enum! {
    /// What an `auto` rule does by itself (seed 2.1).
    pub enum Automation {
        /// Pause the suspected action's agent.
        PauseAgent = "pause_agent",
        /// Page the next escalation level at once.
        Escalate = "escalate",
    }
}

wire_enum! {
    pub enum Urgency {
        Low = "low",
        High = "high",
        Critical = "critical",
    }
}

/// One person (or group) to tell, on one channel, after a delay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Notification {
    pub target: String,
    /// slack, pagerduty, email or webhook.
    pub channel: String,
    pub urgency: Urgency,
    /// Why this target: "owner of payments-service", "escalation level secondary", …
    pub reason: String,
    /// Seconds after the incident opened, if nobody has acknowledged by then.
    pub delay_seconds: u64,
    /// The escalation level's name, or "blast radius".
    pub level: String,
    /// Collected into a digest rather than sent on its own (possibly affected).
    #[serde(default)]
    pub digest: bool,
    /// How the person opens the incident: `mandate --incident 12`.
    #[serde(default)]
    pub open_with: String,
}

/// `RoutingDecision` of seed 5.4: the decision, the notifications, the
/// escalation path and the rule that produced them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RoutingDecision {
    pub decision: RoutingVerdict,
    pub notifications: Vec<Notification>,
    /// Everyone in the order they would be reached.
    pub escalation_path: Vec<String>,
    /// The rule that matched; None: the defaults applied.
    pub rule_matched: Option<String>,
    /// What the rule does by itself, when its decision is `auto`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub automation: Option<Automation>,
}

/// A routing decision an incident was given, from when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RoutingChange {
    pub at: chrono::DateTime<chrono::Utc>,
    pub decision: RoutingDecision,
}

/// How a rule of the routing in force has been used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RuleUsage {
    /// None: no rule matched and the defaults applied.
    pub rule: Option<String>,
    /// Incidents it was chosen for in the period.
    pub incidents: i64,
    pub last_matched: Option<chrono::DateTime<chrono::Utc>>,
    /// A rule of the routing in force that matched nothing in the period:
    /// a candidate for removal (seed 5.2).
    pub never_matched: bool,
}

/// `GET /api/v1/routing/usage`: rule hygiene over the last `days`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RoutingUsage {
    pub days: u32,
    pub rules: Vec<RuleUsage>,
}

/// `GET /api/v1/oncall?team=T`: who is on call for a team now.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct OnCallAnswer {
    pub team: String,
    pub who: String,
    /// The next handoff; none when the catalog names a fixed on-call.
    pub until: Option<chrono::DateTime<chrono::Utc>>,
    /// rotation, override or catalog.
    pub source: String,
}

/// `GET /api/v1/decisions`: what an agent's next action gets (seed 004
/// §4.3–4.4): `monitored` (it proceeds), `flagged` (it proceeds, people are
/// told), `gated` (a person decides first) or `auto` (a learned rule's
/// automation).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ActionDecision {
    pub decision: RoutingVerdict,
    /// Why, in words: the critical point's or the rule's reason.
    pub reason: String,
    /// The critical point of the routing file that decided, if one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub critical_point: Option<String>,
    /// The learned rule that decided, if one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// A gated action: how long it waits for a person.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_seconds: Option<u64>,
    /// A gated action: `deny` or `approve` when nobody decides in time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_timeout: Option<String>,
    /// The person the agent acts for may not approve it.
    #[serde(default)]
    pub four_eyes: bool,
}
