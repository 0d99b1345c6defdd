//! What an agent must obey now: the stops in force on it (who, why, since
//! when, until when, over what scope) and its disabled tools, as `GET
//! /api/v1/agents/{agent_id}/control` serves them to the agent's SDK; and
//! the stops themselves, as `/api/v1/stops` makes, lists and lifts them.

use crate::wire_enum;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

wire_enum! {
    /// How much a stop covers.
    pub enum StopScope {
        /// One run: its agent's other runs go on.
        Run = "run",
        /// One agent (its pause).
        Agent = "agent",
        /// Every agent whose name starts with a prefix: target `deployer-*`.
        Agents = "agents",
        /// Every agent (admin only).
        Fleet = "fleet",
    }
}

/// A stop in force on an agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AgentStop {
    /// The person who stopped it.
    pub by: String,
    pub reason: Option<String>,
    pub since: DateTime<Utc>,
    /// When it ends by itself; none: until lifted.
    #[serde(default)]
    pub until: Option<DateTime<Utc>>,
    #[serde(default = "agent_scope")]
    pub scope: StopScope,
    /// The run id, agent name, `prefix*`, or `*` for the fleet.
    #[serde(default)]
    pub target: String,
    /// The incident it was made from.
    #[serde(default)]
    pub incident_id: Option<i64>,
}

fn agent_scope() -> StopScope {
    StopScope::Agent
}

impl AgentStop {
    /// Whether it holds at `at`: begun, and not yet ended by itself.
    pub fn holds_at(&self, at: DateTime<Utc>) -> bool {
        at >= self.since && self.until.is_none_or(|until| at < until)
    }

    /// Whether it covers agent `agent` (every run of it, or only `run`).
    pub fn covers(&self, agent: &str, run: Option<&str>) -> bool {
        match self.scope {
            StopScope::Run => run == Some(self.target.as_str()),
            StopScope::Agent => agent == self.target,
            StopScope::Agents => agent.starts_with(self.target.trim_end_matches('*')),
            StopScope::Fleet => true,
        }
    }

    /// "agent deployer", "agents deployer-*", "run r-1", "the fleet".
    pub fn scope_label(&self) -> String {
        self.scope.label(&self.target)
    }
}

impl StopScope {
    /// What a stop of this scope on `target` covers, in words.
    pub fn label(self, target: &str) -> String {
        match self {
            StopScope::Fleet => "the fleet".to_owned(),
            scope => format!("{scope} {target}"),
        }
    }
}

/// An agent's controls, with a tag that changes whenever they do: the SDK
/// passes it back as `since` to wait for the next change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AgentControlState {
    pub agent_id: String,
    /// The stop that holds on the whole agent (its own first, then a prefix
    /// stop, then the fleet's); none: the agent may act, unless a run of it
    /// is stopped.
    pub stop: Option<AgentStop>,
    /// Every stop in force that covers the agent or one of its runs.
    #[serde(default)]
    pub stops: Vec<AgentStop>,
    /// Tools the agent may not use, sorted.
    pub disabled_tools: Vec<String>,
    /// Action types a critical point or a gated learned rule may gate for
    /// this agent (`*`: any): the SDK asks the server before those, and
    /// only those, sorted.
    #[serde(default)]
    pub gates: Vec<String>,
    pub tag: String,
}

impl AgentControlState {
    /// The stop that refuses an action of run `run` at `at`, if any.
    pub fn stop_for(&self, run: Option<&str>, at: DateTime<Utc>) -> Option<&AgentStop> {
        let agent = self.agent_id.as_str();
        self.stops.iter().chain(self.stop.as_ref()).find(|s| s.holds_at(at) && s.covers(agent, run))
    }
}

/// A stop in force, with whether it holds: `GET /api/v1/stops`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StopSummary {
    #[serde(flatten)]
    pub stop: AgentStop,
    /// Actions recorded as done after it began by what it covers (each
    /// stored flagged `acted_while_stopped`): above 0, it did not hold.
    pub acted: i64,
    /// Attempts the covered agents' SDKs refused before they ran.
    pub refused: i64,
    /// Covered agents whose SDK has not asked for its controls lately.
    pub out_of_contact: i64,
}

/// Whether `target` has the shape a stop's target has: `*` (the fleet), a
/// name, or a name's prefix ending in one `*`; no white space. (What the
/// scope allows of it is the route's to say.)
pub fn target_shape_ok(target: &str) -> bool {
    let name = target.strip_suffix('*').unwrap_or(target);
    target == "*" || (!name.is_empty() && !name.contains('*') && !name.chars().any(char::is_whitespace))
}

/// `POST /api/v1/stops`: make a stop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StopBody {
    pub scope: StopScope,
    /// A run id, an agent name, a prefix ending in `*`; `*` or nothing for the fleet.
    #[serde(default)]
    #[schema(pattern = r"^\*$|^[^*\s]+\*?$")]
    pub target: Option<String>,
    /// Required for the agents and fleet scopes.
    #[serde(default)]
    pub reason: Option<String>,
    #[serde(default)]
    pub until: Option<DateTime<Utc>>,
    #[serde(default)]
    pub incident_id: Option<i64>,
    /// Required (true) for the fleet.
    #[serde(default)]
    pub confirm: bool,
    /// HUMAN attribution, as for every intervention.
    pub actor_type: String,
    pub actor_id: String,
    pub agent_id: String,
    pub origin_system_id: String,
}

/// What making or lifting a stop did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StopResult {
    pub message: String,
    /// The stop made, or the one lifted.
    pub stop: Option<AgentStop>,
    /// The audit-log entry that records it; none when nothing changed.
    pub audit_seq: Option<i64>,
}

/// `POST /api/v1/stops/lift`: lift the stop on a scope and target.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LiftBody {
    pub scope: StopScope,
    /// As the stop named it; `*` or nothing for the fleet.
    #[serde(default)]
    #[schema(pattern = r"^\*$|^[^*\s]+\*?$")]
    pub target: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
    /// HUMAN attribution, as for every intervention.
    pub actor_type: String,
    pub actor_id: String,
    pub agent_id: String,
    pub origin_system_id: String,
}

/// `POST /api/v1/agents/{agent_id}/refusals`: attempts an agent's SDK
/// refused since its last report, under one stop.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RefusalReport {
    #[schema(minimum = 1, maximum = 1000000)]
    pub attempts: i64,
    /// The refusing stop's scope; without it, the agent's own stop.
    #[serde(default)]
    pub scope: Option<StopScope>,
    /// The refusing stop's target, with its scope.
    #[serde(default)]
    #[schema(pattern = r"^\*$|^[^*\s]+\*?$")]
    pub target: Option<String>,
}
