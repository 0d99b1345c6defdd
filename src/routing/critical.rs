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
            && self.agent.is_empty();
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
        Ok(())
    }
}

impl Routing {
    /// The first critical point that matches `action`, if any.
    pub fn critical_point_for(&self, catalog: &Catalog, action: &ActionInput) -> Option<&CriticalPoint> {
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
        self.document().critical_points.iter().find(|p| {
            let agent =
                p.agent.is_empty() || p.agent.iter().any(|pattern| crate::api::pattern::matches(pattern, action.agent));
            agent && self.matches(&p.matches, catalog, &input)
        })
    }

    /// The decision for `action` by the critical points alone: gated or
    /// flagged by the first that matches, else none.
    pub fn critical_decision(&self, catalog: &Catalog, action: &ActionInput) -> Option<ActionDecision> {
        let point = self.critical_point_for(catalog, action)?;
        let decision = point.verdict();
        Some(ActionDecision {
            decision,
            reason: point.reason.clone(),
            critical_point: Some(point.name.clone()),
            rule: None,
            timeout_seconds: (decision == RoutingVerdict::Gated).then(|| point.timeout_seconds()),
            on_timeout: (decision == RoutingVerdict::Gated)
                .then(|| point.on_timeout.clone().unwrap_or_else(|| "deny".to_owned())),
            four_eyes: point.four_eyes,
        })
    }
}
