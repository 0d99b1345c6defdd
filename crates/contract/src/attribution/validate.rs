use super::{ActorType, AttributionContext, AttributionError, AttributionErrorCode as Code};

/// Sentinel that back-filled migrations used for an unknown agent. Never valid.
pub const LEGACY_AGENT_ID: &str = "legacy-unknown";
/// Sentinel that back-filled migrations used for an unknown origin. Never valid.
pub const LEGACY_ORIGIN_SYSTEM_ID: &str = "legacy-migration";

fn is_blank(value: Option<&str>) -> bool {
    value.is_none_or(|v| v.trim().is_empty())
}

/// Checks every rule of the contract, in the contract's order, and returns all
/// violations (empty when the context is valid). Enforcement — whether a
/// violation rejects the run — is [`super::Enforcer`]'s decision, not this one's.
pub fn validate(ctx: &AttributionContext) -> Vec<AttributionError> {
    let mut errors = Vec::new();
    let agent_id = ctx.agent_id.as_deref();
    let actor_type = ctx.actor_type.as_deref();
    let origin = ctx.origin_system_id.as_deref();
    let actor_id = ctx.actor_id.as_deref();

    // Rule 1: agent_id required, and never the legacy sentinel.
    if is_blank(agent_id) {
        errors.push(AttributionError::new(Code::AgentMissing, "agent_id is required and cannot be empty", "agent_id"));
    }
    if agent_id == Some(LEGACY_AGENT_ID) {
        errors.push(AttributionError::new(
            Code::AgentMissing,
            "agent_id cannot be 'legacy-unknown' - provide real agent identifier",
            "agent_id",
        ));
    }

    // Rule 2: actor_type required and from the closed set.
    if is_blank(actor_type) {
        errors.push(AttributionError::new(
            Code::ActorTypeMissing,
            "actor_type is required (HUMAN | SYSTEM | SERVICE)",
            "actor_type",
        ));
    } else if actor_type.and_then(ActorType::parse).is_none() {
        errors.push(AttributionError::new(
            Code::ActorTypeInvalid,
            "actor_type must be one of: HUMAN, SERVICE, SYSTEM",
            "actor_type",
        ));
    }

    // Rule 3: origin_system_id required, and never the legacy sentinel.
    if is_blank(origin) {
        errors.push(AttributionError::new(
            Code::OriginSystemMissing,
            "origin_system_id is required for accountability",
            "origin_system_id",
        ));
    }
    if origin == Some(LEGACY_ORIGIN_SYSTEM_ID) {
        errors.push(AttributionError::new(
            Code::OriginSystemMissing,
            "origin_system_id cannot be 'legacy-migration' - provide real system identifier",
            "origin_system_id",
        ));
    }

    // Rules 4 and 5: actor_id required iff HUMAN, null for SYSTEM and SERVICE.
    match actor_type.and_then(ActorType::parse) {
        Some(ActorType::Human) if is_blank(actor_id) => {
            errors.push(AttributionError::new(
                Code::ActorIdRequired,
                "actor_id is required when actor_type is HUMAN",
                "actor_id",
            ));
        }
        Some(kind @ (ActorType::System | ActorType::Service)) if !is_blank(actor_id) => {
            errors.push(AttributionError::new(
                Code::ActorIdForbidden,
                format!("actor_id must be null when actor_type is {kind}"),
                "actor_id",
            ));
        }
        _ => {}
    }

    errors
}

#[cfg(test)]
mod tests {
    use super::*;

    fn codes(ctx: &AttributionContext) -> Vec<(&'static str, &'static str)> {
        validate(ctx).iter().map(|e| (e.code.as_str(), e.field)).collect()
    }

    #[test]
    fn the_three_valid_patterns_pass() {
        assert!(validate(&AttributionContext::system("agent-report", "cron-1")).is_empty());
        assert!(validate(&AttributionContext::human("agent-analyst", "user_12345", "console")).is_empty());
        assert!(validate(&AttributionContext::service("agent-validator", "payments-v2")).is_empty());
    }

    #[test]
    fn rule_1_agent_id_missing_blank_or_legacy() {
        for agent in [None, Some(""), Some("   ")] {
            let ctx =
                AttributionContext { agent_id: agent.map(str::to_owned), ..AttributionContext::system("x", "cron") };
            assert_eq!(codes(&ctx), [("ATTR_AGENT_MISSING", "agent_id")], "{agent:?}");
        }
        let legacy = validate(&AttributionContext::system("legacy-unknown", "cron"));
        assert_eq!(legacy.len(), 1);
        assert_eq!(legacy[0].code, Code::AgentMissing);
        assert!(legacy[0].message.contains("legacy-unknown"));
    }

    #[test]
    fn rule_2_actor_type_missing_or_outside_the_set() {
        let missing = AttributionContext { actor_type: None, ..AttributionContext::system("a", "o") };
        assert_eq!(codes(&missing), [("ATTR_ACTOR_TYPE_MISSING", "actor_type")]);
        let blank = AttributionContext { actor_type: Some(" ".into()), ..AttributionContext::system("a", "o") };
        assert_eq!(codes(&blank), [("ATTR_ACTOR_TYPE_MISSING", "actor_type")]);
        for bad in ["BOT", "AGENT", "robot"] {
            let ctx = AttributionContext::new("a", bad, "o", None);
            let errors = validate(&ctx);
            assert_eq!(errors.len(), 1);
            assert_eq!(errors[0].code, Code::ActorTypeInvalid);
            assert_eq!(errors[0].message, "actor_type must be one of: HUMAN, SERVICE, SYSTEM");
        }
        assert!(validate(&AttributionContext::new("a", "system", "o", None)).is_empty());
    }

    #[test]
    fn rule_3_origin_system_missing_blank_or_legacy() {
        let missing = AttributionContext { origin_system_id: None, ..AttributionContext::system("a", "o") };
        assert_eq!(codes(&missing), [("ATTR_ORIGIN_SYSTEM_MISSING", "origin_system_id")]);
        let legacy = validate(&AttributionContext::system("a", "legacy-migration"));
        assert_eq!(legacy.len(), 1);
        assert_eq!(legacy[0].code, Code::OriginSystemMissing);
        assert!(legacy[0].message.contains("legacy-migration"));
    }

    #[test]
    fn rule_4_human_needs_an_actor_id() {
        for actor in [None, Some(""), Some("  ")] {
            let ctx = AttributionContext::new("a", "HUMAN", "o", actor);
            assert_eq!(codes(&ctx), [("ATTR_ACTOR_ID_REQUIRED", "actor_id")], "{actor:?}");
        }
        assert!(validate(&AttributionContext::new("a", "human", "o", Some("u1"))).is_empty());
    }

    #[test]
    fn rule_5_machines_must_not_carry_an_actor_id() {
        let sys = validate(&AttributionContext::new("a", "SYSTEM", "o", Some("user-12345")));
        assert_eq!(sys[0].code, Code::ActorIdForbidden);
        assert_eq!(sys[0].message, "actor_id must be null when actor_type is SYSTEM");
        let svc = validate(&AttributionContext::new("a", "service", "o", Some("user-12345")));
        assert_eq!(svc[0].message, "actor_id must be null when actor_type is SERVICE");
        // Blank is treated as absent, as the contract says.
        assert!(validate(&AttributionContext::new("a", "SYSTEM", "o", Some(" "))).is_empty());
        // An invalid actor type reports only the type, not a second actor_id error.
        assert_eq!(
            codes(&AttributionContext::new("a", "BOT", "o", Some("u"))),
            [("ATTR_ACTOR_TYPE_INVALID", "actor_type")]
        );
    }

    #[test]
    fn all_violations_are_collected_in_rule_order() {
        let ctx =
            AttributionContext { actor_id: None, origin_ts: None, origin_ip: None, ..AttributionContext::default() };
        assert_eq!(
            codes(&ctx),
            [
                ("ATTR_AGENT_MISSING", "agent_id"),
                ("ATTR_ACTOR_TYPE_MISSING", "actor_type"),
                ("ATTR_ORIGIN_SYSTEM_MISSING", "origin_system_id"),
            ]
        );
        let ctx = AttributionContext::new("legacy-unknown", "HUMAN", "legacy-migration", None);
        assert_eq!(
            codes(&ctx),
            [
                ("ATTR_AGENT_MISSING", "agent_id"),
                ("ATTR_ORIGIN_SYSTEM_MISSING", "origin_system_id"),
                ("ATTR_ACTOR_ID_REQUIRED", "actor_id"),
            ]
        );
    }
}
