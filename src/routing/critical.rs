//! Critical points (seed 004 §4.4): the rare actions that must not run
//! unseen, written in the routing file. An action an agent is about to take
//! gets a decision: gated (a human decides first) or flagged (it proceeds,
//! people are told) when a critical point matches it, else what an active
//! learned rule says, else monitored.
//!
//! ```toml
//! [[critical_point]]
//! name = "production data deletion"
//! reason = "Irreversible production data operation"
//! match = { action_type = ["delete", "drop_table", "truncate"], tags = ["production"] }
//! timeout = "10m"        # how long a gated action waits for a person (10s to 24h)
//! on_timeout = "deny"    # or "approve"
//! four_eyes = false      # true: the person the agent acts for may not approve it
//! approvals = 1          # or 2: two different people must approve
//! approvers = ["@dba-lead"]  # paged first; none: the resource's owners
//! new_agent = { days = 7, actions = 100 }  # only agents first seen < 7 days or < 100 actions ago
//! ```

use super::config::{Match, Routing, parse_duration};
use super::decision::RoutingInput;
use crate::api::{ActionDecision, RoutingVerdict, Severity};
use crate::catalog::Catalog;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// How long a gated action waits for a person, by default.
pub const DEFAULT_TIMEOUT: u64 = 600;
/// The shortest and longest wait a critical point may set.
pub const TIMEOUT_BOUNDS: (u64, u64) = (10, 24 * 3600);

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CriticalPoint {
    /// Unique in the file.
    pub name: String,
    /// Why it is critical: what the approver reads first.
    pub reason: String,
    /// What it matches, as a routing rule does (action type, resource name or
    /// prefix, the resource's tags and sensitivity, actor type, business hours,
    /// change freezes): every field given must hold.
    #[serde(default, rename = "match")]
    pub matches: Match,
    /// Agents it covers, by name or `prefix*`; none: every agent.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub agent: Vec<String>,
    /// `gated` (default) or `flagged`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<String>,
    /// How long a gated action waits for a person: `10m` by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
    /// `deny` (default) or `approve`, when nobody decides in time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub on_timeout: Option<String>,
    /// The person the agent acts for may not approve it.
    #[serde(default)]
    pub four_eyes: bool,
    /// Approvals a gated action needs: 1 (default) or 2 different people.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approvals: Option<u8>,
    /// Who is paged to decide (`@person`, `team:name`, a schedule); none:
    /// the resource's owners, then the routing's escalation.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub approvers: Vec<String>,
    /// Only agents not yet trusted (seed §4.4 "new actor"): first seen
    /// fewer than `days` days ago, or with fewer than `actions` actions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub new_agent: Option<NewAgent>,
}

/// The trust criterion: an agent is new while either bound holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewAgent {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub days: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actions: Option<u64>,
}

/// What is known of an agent's history, for the trust criterion.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AgentHistory {
    /// When its first action was recorded; none: never.
    pub first_seen: Option<DateTime<Utc>>,
    /// Actions recorded.
    pub actions: u64,
}

impl NewAgent {
    /// Whether an agent with `history` is still new at `now`.
    pub fn holds(&self, history: &AgentHistory, now: DateTime<Utc>) -> bool {
        let young = self.days.is_some_and(|days| {
            history.first_seen.is_none_or(|first| now - first < chrono::Duration::days(i64::from(days)))
        });
        let inexperienced = self.actions.is_some_and(|n| history.actions < n);
        young || inexperienced
    }
}

/// An action an agent is about to take, as a critical point reads it.
#[derive(Debug, Clone)]
pub struct ActionInput<'a> {
    pub agent: &'a str,
    pub action_type: Option<&'a str>,
    pub resource: Option<&'a str>,
    /// SYSTEM, HUMAN or SERVICE.
    pub actor_type: Option<&'a str>,
    pub now: DateTime<Utc>,
}

impl CriticalPoint {
    fn verdict(&self) -> RoutingVerdict {
        match self.decision.as_deref() {
            Some("flagged") => RoutingVerdict::Flagged,
            _ => RoutingVerdict::Gated,
        }
    }

    /// Approvals a gated action needs.
    pub fn approvals_needed(&self) -> u8 {
        self.approvals.unwrap_or(1)
    }

    fn timeout_seconds(&self) -> u64 {
        self.timeout.as_deref().and_then(parse_duration).unwrap_or(DEFAULT_TIMEOUT)
    }

    /// What is wrong with it, as (field, message).
    pub(super) fn check(&self) -> Result<(), (&'static str, String)> {
        if self.name.trim().is_empty() {
            return Err(("name", "is empty".into()));
        }
        if self.reason.trim().is_empty() {
            return Err(("reason", "say why it is critical: the approver reads it first".into()));
        }
        let m = &self.matches;
        if !m.severity.is_empty() {
            return Err((
                "match.severity",
                "is an incident's, not an action's: a critical point matches actions".into(),
            ));
        }
        if m.min_past_incidents.is_some() {
            return Err((
                "match.min_past_incidents",
                "is an incident's; actions like past incidents' are gated by learned rules (:patterns)".into(),
            ));
        }
        let empty = m.resource.is_empty()
            && m.sensitivity.is_empty()
            && m.tags.is_empty()
            && m.action_type.is_empty()
            && m.actor_type.is_empty()
            && m.business_hours.is_none()
            && m.change_freeze.is_none()
            && self.agent.is_empty()
            && self.new_agent.is_none();
        if empty {
            return Err((
                "match",
                "match at least one thing: a critical point matching every action gates them all".into(),
            ));
        }
        if let Some(bad) = self.agent.iter().find(|a| a.is_empty() || !crate::api::pattern::well_formed(a) || *a == "*")
        {
            return Err(("agent", format!("{bad:?}: an agent's name, or a prefix ending in one *")));
        }
        if let Some(d) = self.decision.as_deref().filter(|d| !matches!(*d, "gated" | "flagged")) {
            return Err((
                "decision",
                format!("{d:?}: gated (a person decides first) or flagged (it proceeds, people told)"),
            ));
        }
        if let Some(raw) = &self.timeout {
            let (least, most) = TIMEOUT_BOUNDS;
            match parse_duration(raw) {
                Some(s) if (least..=most).contains(&s) => {}
                Some(_) => return Err(("timeout", format!("{raw:?}: between 10s and 24h"))),
                None => return Err(("timeout", format!("{raw:?} is not a duration: write 10m or 1h"))),
            }
        }
        if let Some(t) = self.on_timeout.as_deref().filter(|t| !matches!(*t, "deny" | "approve")) {
            return Err(("on_timeout", format!("{t:?}: deny or approve")));
        }
        if let Some(n) = self.approvals.filter(|n| !matches!(n, 1 | 2)) {
            return Err(("approvals", format!("{n}: 1, or 2 for two different people")));
        }
        if let Some(bad) = self.approvers.iter().find(|a| a.trim().is_empty() || a.chars().any(char::is_control)) {
            return Err(("approvers", format!("{bad:?}: @person, team:name or a schedule")));
        }
        if let Some(new) = &self.new_agent {
            if new.days.is_none() && new.actions.is_none() {
                return Err(("new_agent", "give days, actions or both".into()));
            }
            if new.days == Some(0) || new.actions == Some(0) {
                return Err(("new_agent", "0 matches no agent: give at least 1".into()));
            }
        }
        Ok(())
    }
}

impl Routing {
    /// The critical points that match `action`, in the file's order, before
    /// their trust criterion (`new_agent`), which needs the agent's history.
    pub fn critical_points_for(&self, catalog: &Catalog, action: &ActionInput) -> Vec<&CriticalPoint> {
        let resources: Vec<String> = action.resource.map(str::to_owned).into_iter().collect();
        let input = RoutingInput {
            severity: Severity::Low,
            resources: &resources,
            action_type: action.action_type,
            actor_type: action.actor_type,
            past_incidents: 0,
            now: action.now,
            blast: None,
            incident: None,
        };
        // An action without a resource meets no resource, tag or sensitivity
        // criterion: the routing match sees no resource, and no service.
        self.document()
            .critical_points
            .iter()
            .filter(|p| {
                let agent = p.agent.is_empty()
                    || p.agent.iter().any(|pattern| crate::api::pattern::matches(pattern, action.agent));
                agent && self.matches(&p.matches, catalog, &input)
            })
            .collect()
    }

    /// The first critical point that matches `action` by an agent with
    /// `history` (its trust criterion included), and the decision it gives.
    pub fn critical_decision(
        &self,
        catalog: &Catalog,
        action: &ActionInput,
        history: &AgentHistory,
    ) -> Option<(&CriticalPoint, ActionDecision)> {
        self.critical_points_for(catalog, action)
            .into_iter()
            .find(|p| p.new_agent.is_none_or(|n| n.holds(history, action.now)))
            .map(|p| (p, p.decision()))
    }

    /// The action types a gating or flagging critical point may match for
    /// agent `agent` (`*`: any), sorted: what its SDK asks about.
    pub fn gated_action_types(&self, agent: &str) -> Vec<String> {
        let mut types: Vec<String> = Vec::new();
        for p in &self.document().critical_points {
            if !(p.agent.is_empty() || p.agent.iter().any(|pattern| crate::api::pattern::matches(pattern, agent))) {
                continue;
            }
            if p.matches.action_type.is_empty() {
                types.push("*".to_owned());
            } else {
                types.extend(p.matches.action_type.iter().cloned());
            }
        }
        types.sort();
        types.dedup();
        types
    }
}

impl CriticalPoint {
    /// The decision it gives an action it matches.
    pub fn decision(&self) -> ActionDecision {
        let decision = self.verdict();
        let gated = decision == RoutingVerdict::Gated;
        ActionDecision {
            decision,
            reason: self.reason.clone(),
            critical_point: Some(self.name.clone()),
            rule: None,
            timeout_seconds: gated.then(|| self.timeout_seconds()),
            on_timeout: gated.then(|| self.on_timeout.clone().unwrap_or_else(|| "deny".to_owned())),
            four_eyes: self.four_eyes,
        }
    }
}
