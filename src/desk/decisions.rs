//! The decision an agent's next action gets (seed 004 §4.3–4.4): a critical
//! point of the routing file gates or flags it; else an active learned rule
//! (`:patterns`) decides; else it is monitored. Read from memory: no
//! database, no network beyond the request.

use super::Desk;
use crate::api::{ActionDecision, RoutingVerdict};
use crate::learning::rules as learned;
use crate::routing::ActionInput;
use chrono::Utc;

impl Desk {
    pub fn decide_action(
        &self,
        agent: &str,
        action_type: Option<&str>,
        resource: Option<&str>,
        actor_type: Option<&str>,
    ) -> ActionDecision {
        let now = Utc::now();
        let routing = self.routing();
        let input = ActionInput { agent, action_type, resource, actor_type, now };
        if let Some(decision) = routing.critical_decision(&self.catalog(), &input) {
            return decision;
        }
        let business = routing.business_hours(now);
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
}
