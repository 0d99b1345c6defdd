use super::{IncidentSummary, InterventionKind, Severity, Verdict};
use crate::attribution::ActorType;
use serde::{Deserialize, Serialize};

/// One entry of `GET /api/v1/interventions` (seed 4.1).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct InterventionSpec {
    pub kind: InterventionKind,
    pub reversible: bool,
    /// "yes", "opt-in" or "never": whether automation may ever do it.
    pub auto_allowed: String,
    pub description: String,
    /// Irreversible interventions need `"confirm": true`.
    pub requires_confirmation: bool,
    /// … and a reason.
    pub requires_reason: bool,
    /// "incident", "agent" or both: which routes accept it.
    pub targets: Vec<String>,
}

impl InterventionKind {
    pub fn spec(self) -> InterventionSpec {
        use InterventionKind::*;
        let (auto, description, targets): (&str, &str, &[&str]) = match self {
            Acknowledge => ("yes", "I saw this: the incident is acknowledged and you are a responder", &["incident"]),
            FlagForReview => ("yes", "Queue for later review", &["incident", "agent"]),
            PauseAgent => ("opt-in", "Stop the agent: its new runs are refused until resumed", &["incident", "agent"]),
            ResumeAgent => ("opt-in", "Let a paused agent run again", &["incident", "agent"]),
            Escalate => ("opt-in", "Notify the next tier of the escalation path", &["incident"]),
            CreateIncident => ("opt-in", "Open a formal incident record", &["incident", "agent"]),
            TriggerRollback => {
                ("never", "Record a rollback request with its command; a human executes it", &["incident"])
            }
            DisableTool => {
                ("never", "Remove a tool from the agent: its events using it are refused", &["incident", "agent"])
            }
            UpdateRule => ("never", "Record a change to routing rules", &["incident"]),
            Resolve => (
                "never",
                "Resolve by hand, with a resolution (cause_confirmed with event_id, cause_undetermined, \
                 not_an_incident) and a reason: paging stops and the receivers are told",
                &["incident"],
            ),
            Reopen => ("never", "Open a resolved incident again, with a reason: paging starts again", &["incident"]),
            Note => ("never", "Leave a note (the reason) on the incident's timeline", &["incident"]),
            ChangeSeverity => {
                ("never", "Change the incident's severity, with a reason: routing decides again", &["incident"])
            }
            AddResponder => (
                "never",
                "Page a named person (responder) now, on the incident's channels, and list them as a responder",
                &["incident"],
            ),
            HandOver => (
                "never",
                "Hand the incident over to a named person (responder), with a reason: they are paged and coordinate it",
                &["incident"],
            ),
            Merge => (
                "never",
                "Merge this duplicate into another incident (into_incident), with a reason: its events, \
                 interventions and paging follow the survivor, and it points there",
                &["incident"],
            ),
        };
        InterventionSpec {
            kind: self,
            reversible: self.reversible(),
            auto_allowed: auto.to_owned(),
            description: description.to_owned(),
            requires_confirmation: !self.reversible(),
            requires_reason: self.needs_reason(),
            targets: targets.iter().map(|t| (*t).to_owned()).collect(),
        }
    }
}

/// `POST /api/v1/incidents/{id}/interventions` and `…/agents/{agent_id}/interventions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct InterventionBody {
    pub kind: InterventionKind,
    /// HUMAN attribution of the operator: actor_id must be the caller's principal.
    #[schema(value_type = ActorType)]
    pub actor_type: String,
    pub actor_id: String,
    /// The software acting for the operator, e.g. "mandate-console".
    pub agent_id: String,
    pub origin_system_id: String,
    /// Required (true) for irreversible interventions.
    #[serde(default)]
    pub confirm: bool,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// On an incident: the agent to pause, resume or restrict.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target_agent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
    /// pause_agent: when the stop ends by itself (RFC 3339, ahead); none: until resumed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<chrono::DateTime<chrono::Utc>>,
    /// resolve: how the incident ended.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<super::ResolutionKind>,
    /// resolve with cause_confirmed: the candidate action that caused it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    /// add_responder, hand_over: the person (`bob` or `@bob`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub responder: Option<String>,
    /// create_incident: when it began, as its reporter saw it (default: now).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<chrono::DateTime<chrono::Utc>>,
    /// merge: the incident that survives (this one is its duplicate).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1)]
    pub into_incident: Option<i64>,
}

/// An agent's state after an intervention.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AgentState {
    pub agent_id: String,
    pub paused: bool,
    pub disabled_tools: Vec<String>,
}

/// What an intervention did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct InterventionResult {
    pub kind: InterventionKind,
    pub message: String,
    pub incident: Option<IncidentSummary>,
    pub agent: Option<AgentState>,
    /// The audit-log entry that records it; none when nothing changed (an
    /// incident already acknowledged, an agent not paused), so nothing was
    /// recorded.
    pub audit_seq: Option<i64>,
}

/// `POST /api/v1/incidents/{id}/verdicts`: a human's word on a candidate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct VerdictBody {
    pub event_id: String,
    pub verdict: Verdict,
    /// HUMAN: verdicts are given by people.
    #[schema(value_type = ActorType)]
    pub actor_type: String,
    pub actor_id: String,
    pub agent_id: String,
    pub origin_system_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}
