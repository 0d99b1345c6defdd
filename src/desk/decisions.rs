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
