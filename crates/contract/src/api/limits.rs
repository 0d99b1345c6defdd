//! How long each field of a request may be, stated once: the server's
//! parser refuses what is longer, and the OpenAPI document says so, both from
//! these figures.

/// Agent, actor, origin system and resource names, and other ids people give.
pub const NAME: usize = 256;
/// Ids machines mint and short codes: event, run and trace ids, tools, error codes.
pub const REFERENCE: usize = 128;
/// Kinds and labels: action types, providers, an origin address.
pub const KIND: usize = 64;
/// A reason, a command, a note: a few sentences.
pub const REASON: usize = 2000;
/// A run's goal, an error message.
pub const TEXT: usize = 4096;
/// A rule proposed in words.
pub const RULE_TEXT: usize = 8000;
/// An incident's title.
pub const TITLE: usize = 300;
/// A learned rule's name.
pub const RULE_NAME: usize = 200;
/// The resources an event's scope lists.
pub const SCOPE_ITEMS: usize = 50;

/// A bound on one field.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// Characters of a string.
    Chars(usize),
    /// Items of a list.
    Items(usize),
}

/// Every bounded field of the request bodies: `(schema, field, limit)`.
pub const FIELDS: &[(&str, &str, Limit)] = &[
    ("DisputeBody", "reason", Limit::Chars(REASON)),
    ("ResolutionBody", "note", Limit::Chars(REASON)),
    ("EventBody", "event_id", Limit::Chars(REFERENCE)),
    ("EventBody", "agent_id", Limit::Chars(NAME)),
    ("EventBody", "actor_id", Limit::Chars(NAME)),
    ("EventBody", "origin_system_id", Limit::Chars(NAME)),
    ("EventBody", "run_id", Limit::Chars(REFERENCE)),
    ("EventBody", "parent_event_id", Limit::Chars(REFERENCE)),
    ("EventBody", "action_type", Limit::Chars(KIND)),
    ("EventBody", "tool", Limit::Chars(REFERENCE)),
    ("EventBody", "resource", Limit::Chars(NAME)),
    ("EventBody", "scope", Limit::Items(SCOPE_ITEMS)),
    ("EventBody", "error_code", Limit::Chars(REFERENCE)),
    ("EventBody", "error_message", Limit::Chars(TEXT)),
    ("EventBody", "trace_id", Limit::Chars(REFERENCE)),
    ("InterventionBody", "actor_id", Limit::Chars(NAME)),
    ("InterventionBody", "agent_id", Limit::Chars(NAME)),
    ("InterventionBody", "origin_system_id", Limit::Chars(NAME)),
    ("InterventionBody", "reason", Limit::Chars(REASON)),
    ("InterventionBody", "target_agent", Limit::Chars(NAME)),
    ("InterventionBody", "tool", Limit::Chars(REFERENCE)),
    ("InterventionBody", "command", Limit::Chars(REASON)),
    ("InterventionBody", "resource", Limit::Chars(NAME)),
    ("InterventionBody", "rule", Limit::Chars(RULE_TEXT)),
    ("InterventionBody", "title", Limit::Chars(TITLE)),
    ("VerdictBody", "event_id", Limit::Chars(REFERENCE)),
    ("VerdictBody", "reason", Limit::Chars(REASON)),
    ("RetryBody", "reason", Limit::Chars(REASON)),
    ("CreateRunRequest", "goal", Limit::Chars(TEXT)),
    ("CreateRunRequest", "agent_id", Limit::Chars(NAME)),
    ("CreateRunRequest", "actor_id", Limit::Chars(NAME)),
    ("CreateRunRequest", "origin_system_id", Limit::Chars(NAME)),
    ("CreateRunRequest", "provider_type", Limit::Chars(KIND)),
    ("CreateRunRequest", "origin_ip", Limit::Chars(KIND)),
    ("InterventionBody", "event_id", Limit::Chars(REFERENCE)),
    ("InterventionBody", "responder", Limit::Chars(NAME)),
    ("StopBody", "target", Limit::Chars(NAME)),
    ("StopBody", "reason", Limit::Chars(REASON)),
    ("StopBody", "actor_id", Limit::Chars(NAME)),
    ("StopBody", "agent_id", Limit::Chars(NAME)),
    ("StopBody", "origin_system_id", Limit::Chars(NAME)),
    ("LiftBody", "target", Limit::Chars(NAME)),
    ("LiftBody", "reason", Limit::Chars(REASON)),
    ("LiftBody", "actor_id", Limit::Chars(NAME)),
    ("LiftBody", "agent_id", Limit::Chars(NAME)),
    ("LiftBody", "origin_system_id", Limit::Chars(NAME)),
    ("RefusalReport", "target", Limit::Chars(NAME)),
    ("SilenceBody", "reason", Limit::Chars(REASON)),
    ("SilenceBody", "actor_id", Limit::Chars(NAME)),
    ("SilenceBody", "agent_id", Limit::Chars(NAME)),
    ("SilenceBody", "origin_system_id", Limit::Chars(NAME)),
    ("SilenceMatch", "resource", Limit::Chars(NAME)),
    ("SilenceMatch", "agent", Limit::Chars(NAME)),
    ("SilenceMatch", "action_type", Limit::Chars(KIND)),
    ("LiftSilenceBody", "reason", Limit::Chars(REASON)),
    ("LiftSilenceBody", "actor_id", Limit::Chars(NAME)),
    ("LiftSilenceBody", "agent_id", Limit::Chars(NAME)),
    ("LiftSilenceBody", "origin_system_id", Limit::Chars(NAME)),
    ("ProposeRule", "name", Limit::Chars(RULE_NAME)),
    ("ProposeRule", "reason", Limit::Chars(REASON)),
    ("RuleMatch", "action_type", Limit::Chars(REFERENCE)),
    ("RuleMatch", "resource", Limit::Chars(NAME)),
    ("GateBody", "agent_id", Limit::Chars(NAME)),
    ("GateBody", "action_type", Limit::Chars(KIND)),
    ("GateBody", "resource", Limit::Chars(NAME)),
    ("GateBody", "summary", Limit::Chars(REASON)),
    ("GateBody", "run_id", Limit::Chars(REFERENCE)),
    ("GateBody", "on_behalf_of", Limit::Chars(NAME)),
    ("GateBody", "request_key", Limit::Chars(REFERENCE)),
    ("ApprovalDecisionBody", "reason", Limit::Chars(REASON)),
    ("ApprovalDecisionBody", "digest", Limit::Chars(REFERENCE)),
    ("ApprovalDecisionBody", "actor_id", Limit::Chars(NAME)),
    ("ApprovalDecisionBody", "agent_id", Limit::Chars(NAME)),
    ("ApprovalDecisionBody", "origin_system_id", Limit::Chars(NAME)),
];
