//! Gated actions (seed 004 §4.3–4.4): an action a critical point or a
//! learned rule gates waits, as an approval request, for a person to
//! approve or deny it; it is routed and paged like an incident, times out
//! as its critical point says, and is recorded with what the approver saw.

use super::ActionDecision;
use crate::wire_enum;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

wire_enum! {
    /// Where an approval request stands.
    pub enum ApprovalStatus {
        /// Nobody has decided yet; the agent waits.
        Waiting = "waiting",
        /// Approved by the people it needs: the action runs.
        Approved = "approved",
        /// Denied by a person: the action never runs.
        Denied = "denied",
        /// Nobody decided in time: the critical point's `on_timeout` says
        /// whether it runs (`proceed`).
        TimedOut = "timed_out",
        /// The agent stopped waiting before its timeout (it went away): the
        /// request ended at its timeout and the action never runs.
        Abandoned = "abandoned",
    }
}

impl ApprovalStatus {
    /// Decided, one way or the other.
    pub fn is_final(self) -> bool {
        self != ApprovalStatus::Waiting
    }
}

/// One approval given toward a request (two-approver requests hold up to two).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ApprovalVote {
    pub by: String,
    pub at: DateTime<Utc>,
    pub reason: String,
}

/// A past incident that involved the same kind of action.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ApprovalPastIncident {
    pub id: i64,
    pub title: String,
    pub status: String,
}

/// A gated action waiting for (or given) a person's decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ApprovalRequest {
    pub id: i64,
    pub status: ApprovalStatus,
    /// Whether the action may run: approved, or timed out with
    /// `on_timeout = "approve"`.
    pub proceed: bool,
    /// The agent about to act.
    pub agent_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// The person the agent acts for, if it said.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_behalf_of: Option<String>,
    pub action_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// What will be done, in the agent's words.
    pub summary: String,
    /// The critical point that gated it, or the learned rule.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub critical_point: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rule: Option<String>,
    /// Why it is gated: the critical point's reason.
    pub reason: String,
    /// What else the resource's failure would reach (the catalog's
    /// dependents), as the approver sees it.
    #[serde(default)]
    pub blast_preview: Vec<String>,
    /// Recent incidents that involved the same action type.
    #[serde(default)]
    pub past_incidents: Vec<ApprovalPastIncident>,
    /// The incident that pages its approvers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident_id: Option<i64>,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// `deny` or `approve`: what happens when nobody decides in time.
    pub on_timeout: String,
    /// The person the agent acts for may not approve it.
    pub four_eyes: bool,
    /// Approvals it needs (1 or 2).
    pub approvals_needed: u8,
    #[serde(default)]
    pub approvals: Vec<ApprovalVote>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_at: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decided_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision_reason: Option<String>,
    /// A digest of what an approver is shown (the request's fixed fields):
    /// a decision sends it back, and the audit log records it.
    pub digest: String,
}

impl ApprovalRequest {
    /// What it will do, in words: "drop_table on orders-db".
    pub fn action(&self) -> String {
        match &self.resource {
            Some(r) => format!("{} on {r}", self.action_type),
            None => self.action_type.clone(),
        }
    }

    /// What gated it: its critical point's name, or "rule NAME".
    pub fn gate(&self) -> String {
        match (&self.critical_point, &self.rule) {
            (Some(p), _) => p.clone(),
            (None, Some(r)) => format!("rule {r}"),
            (None, None) => "gated".to_owned(),
        }
    }

    /// What nobody deciding in time comes to: "approved" or "denied".
    pub fn on_timeout_outcome(&self) -> &'static str {
        if self.on_timeout == "approve" { "approved" } else { "denied" }
    }
}

/// `POST /api/v1/approvals`: an agent about to act asks. Its decision, and,
/// when gated, the approval request it waits on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct GateAnswer {
    pub decision: ActionDecision,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<ApprovalRequest>,
}

/// The body of `POST /api/v1/approvals`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct GateBody {
    pub agent_id: String,
    pub action_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// What will be done, for the approver.
    pub summary: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    /// The person the agent acts for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_behalf_of: Option<String>,
    /// SYSTEM, HUMAN or SERVICE.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor_type: Option<String>,
    /// The SDK's key for this one action: asking again with it (after a
    /// lost answer, a restart) finds the same request.
    pub request_key: String,
}

/// The body of `POST /api/v1/approvals/{id}/decision`, with the person's
/// HUMAN attribution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ApprovalDecisionBody {
    /// `approve` or `deny`.
    pub decision: String,
    pub reason: String,
    /// The request's digest as the person was shown it.
    pub digest: String,
    /// The operator confirmed: the decision cannot be undone.
    pub confirm: bool,
    pub actor_type: String,
    pub actor_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin_system_id: Option<String>,
}

/// Gating by one critical point or rule over the window.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct GateFriction {
    /// `critical point NAME` or `rule NAME`.
    pub gate: String,
    pub gated: i64,
    /// Its gated actions as a share of all actions.
    pub share: f64,
    /// Above the budget on its own: review it.
    pub over_budget: bool,
}

/// What gating cost people over the last days (seed 004 §4.3: under 5 % of actions).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ApprovalFriction {
    pub window_days: i64,
    /// Actions the agents took (events recorded), at least the gated ones.
    pub actions: i64,
    pub gated: i64,
    /// `gated / actions` (0 when no action).
    pub share: f64,
    /// The budget: 0.05.
    pub budget: f64,
    pub over_budget: bool,
    pub approved: i64,
    pub denied: i64,
    pub timed_out: i64,
    pub abandoned: i64,
    pub waiting: i64,
    /// Time from request to a person's decision, over decided requests.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub median_seconds: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub p95_seconds: Option<f64>,
    /// Most gating first.
    pub gates: Vec<GateFriction>,
}

/// `GET /api/v1/approvals`: waiting requests first (soonest to expire
/// first), then the latest decided; and the friction report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ApprovalList {
    pub approvals: Vec<ApprovalRequest>,
    pub waiting: i64,
    pub friction: ApprovalFriction,
}
