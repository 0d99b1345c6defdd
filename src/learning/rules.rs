//! Rules learned from incidents (seed 10.5, 10.6): how one is proposed from
//! a pattern, which steps of its life are allowed, and what it matches.

use crate::api::{LearnedRule, RuleDecision, RuleMatch, RuleState, Signature};

/// Who proposes rules from patterns and escalates undetermined ones.
pub const LEARNING_ACTOR: &str = "mandate-learning";
/// An active rule that has not fired for this many days is proposed for sunset.
pub const IDLE_DAYS: i64 = 30;
/// Incidents rules may route to people in a week before the budget is spent.
pub const FRICTION_BUDGET: i64 = 20;

/// The states a rule may move to `to` from.
pub fn allowed_from(to: RuleState) -> &'static [RuleState] {
    match to {
        RuleState::Approved => &[RuleState::Proposed],
        RuleState::Active => &[RuleState::Approved, RuleState::Sunset],
        RuleState::Sunset => &[RuleState::Active],
        RuleState::Rejected => &[RuleState::Proposed, RuleState::Approved],
        RuleState::Proposed => &[],
    }
}

/// What a rule learned from incidents with this signature matches: their
/// suspected action, their resource pattern, and after hours only when
/// that is when they happened.
pub fn match_of(s: &Signature) -> RuleMatch {
    RuleMatch {
        action_type: s.action_type.clone(),
        resource: s.resource_pattern.clone(),
        business_hours: (s.time_pattern.as_deref() == Some("after_hours")).then_some(false),
    }
}

/// The rule a pattern's third occurrence proposes: gate what it did, where
/// it did it (and, when it happened after hours, after hours only).
pub fn from_signature(pattern: &str, s: &Signature) -> Option<(String, RuleMatch)> {
    let m = match_of(s);
    let (action, resource) = (m.action_type.as_deref()?, m.resource.as_deref()?);
    let after = if m.business_hours == Some(false) { "after-hours " } else { "" };
    Some((format!("Gate {after}{action} on {resource} (from {pattern})"), m))
}

/// What is checked of a rule's match: the action, the resources it touched
/// and whether it is inside business hours.
pub fn matches(m: &RuleMatch, action_type: Option<&str>, resources: &[&str], business_hours: bool) -> bool {
    let action = m.action_type.as_deref().is_none_or(|want| action_type.is_some_and(|a| a.eq_ignore_ascii_case(want)));
    let resource =
        m.resource.as_deref().is_none_or(|pattern| resources.iter().any(|r| crate::api::pattern::matches(pattern, r)));
    action && resource && m.business_hours.is_none_or(|want| want == business_hours)
}

/// A match that would fire on everything is refused: it is not a lesson.
pub fn check_match(m: &RuleMatch) -> Result<(), String> {
    if m.action_type.is_none() && m.resource.is_none() {
        return Err("a rule must match an action_type or a resource".to_owned());
    }
    Ok(())
}

/// The decision an active rule takes: `auto` acts by itself only where the
/// server allows it; elsewhere a human decides (gated).
pub fn effective(rule: &LearnedRule, auto_allowed: bool) -> RuleDecision {
    match rule.decision {
        RuleDecision::Auto if !auto_allowed || rule.automation.is_none() => RuleDecision::Gated,
        d => d,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_proposed_rule_gates_what_the_pattern_did_where_it_did_it() {
        let s = Signature {
            action_type: Some("deploy".into()),
            resource_pattern: Some("payments-*".into()),
            time_pattern: Some("after_hours".into()),
            ..Signature::default()
        };
        let (name, m) = from_signature("PAT-4", &s).unwrap();
        assert_eq!(name, "Gate after-hours deploy on payments-* (from PAT-4)");
        assert!(matches(&m, Some("deploy"), &["payments-api"], false));
        assert!(!matches(&m, Some("deploy"), &["payments-api"], true), "inside business hours");
        assert!(!matches(&m, Some("config_change"), &["payments-api"], false));
        assert!(!matches(&m, Some("deploy"), &["users-api"], false));
        assert!(from_signature("PAT-5", &Signature::default()).is_none(), "nothing to gate on");
        assert!(check_match(&RuleMatch::default()).is_err());
    }

    #[test]
    fn a_rule_lives_proposed_approved_active_sunset() {
        assert_eq!(allowed_from(RuleState::Approved), [RuleState::Proposed]);
        assert!(allowed_from(RuleState::Active).contains(&RuleState::Approved));
        assert!(!allowed_from(RuleState::Active).contains(&RuleState::Proposed), "approval comes first");
        assert!(allowed_from(RuleState::Proposed).is_empty());
    }
}
