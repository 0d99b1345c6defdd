//! The decision an agent's next action gets from the learned rules
//! (`:patterns`), when no critical point of the routing file decided (see
//! `approvals.rs`): an active rule that matches it, else monitored. Read
//! from memory.

use super::Desk;
use crate::api::{ActionDecision, RoutingVerdict};
use crate::learning::rules as learned;
use chrono::{DateTime, Utc};

impl Desk {
    pub(super) fn decide_by_rules(
        &self,
        action_type: Option<&str>,
        resource: Option<&str>,
        now: DateTime<Utc>,
    ) -> ActionDecision {
        let business = self.routing().business_hours(now);
        let resources: Vec<&str> = resource.into_iter().collect();
        let rules = self.active_rules();
        if let Some(rule) = rules.iter().find(|r| learned::matches(&r.matches, action_type, &resources, business)) {
            let decision: RoutingVerdict = self.rule_decision(rule).into();
            let gated = decision == RoutingVerdict::Gated;
            return ActionDecision {
                decision,
                reason: format!("learned rule {}", rule.name),
                critical_point: None,
                rule: Some(rule.name.clone()),
                timeout_seconds: gated.then_some(crate::routing::DEFAULT_GATE_TIMEOUT),
                on_timeout: gated.then(|| "deny".to_owned()),
                four_eyes: false,
            };
        }
        ActionDecision {
            decision: RoutingVerdict::Monitored,
            reason: "no critical point or learned rule matches it".to_owned(),
            critical_point: None,
            rule: None,
            timeout_seconds: None,
            on_timeout: None,
            four_eyes: false,
        }
    }

    /// The action types agent `agent`'s SDK asks the server about before
    /// acting (`*`: any): those a critical point may match, and those a
    /// gating learned rule matches. Any other action proceeds without asking.
    pub(super) fn gated_action_types(&self, agent: &str) -> Vec<String> {
        let mut types = self.routing().gated_action_types(agent);
        for rule in self.active_rules().iter() {
            if RoutingVerdict::from(self.rule_decision(rule)) != RoutingVerdict::Gated {
                continue;
            }
            types.push(rule.matches.action_type.clone().unwrap_or_else(|| "*".to_owned()));
        }
        types.sort();
        types.dedup();
        types
    }
}

/// What holds agents back now, as this server knows it (for `/metrics`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InForce {
    /// Stops over agents, tools, resources or everything, and paused agents.
    pub stops: usize,
    /// Critical points and learned rules that gate actions.
    pub gates: usize,
}

impl Desk {
    pub fn in_force(&self) -> InForce {
        let now = chrono::Utc::now();
        let wide = self.config.stops.read().iter().filter(|(s, _)| s.until.is_none_or(|u| u > now)).count();
        let paused = self.config.controls.read().values().filter(|c| c.paused).count();
        let points = self
            .routing()
            .document()
            .critical_points
            .iter()
            .filter(|p| p.decision().decision == RoutingVerdict::Gated)
            .count();
        let rules = self
            .active_rules()
            .iter()
            .filter(|r| RoutingVerdict::from(self.rule_decision(r)) == RoutingVerdict::Gated)
            .count();
        InForce { stops: wide + paused, gates: points + rules }
    }
}
