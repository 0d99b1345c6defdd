use crate::attribution::ActorType;
use crate::wire_enum;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

wire_enum! {
    pub enum Outcome {
        Ok = "ok",
        Error = "error",
    }
}

wire_enum! {
    /// What was missing from an event that was kept anyway (seed 13.4).
    pub enum EventFlag {
        /// No attribution at all: logged, but cannot be attributed.
        ActorUnknown = "actor_unknown",
        /// No action type: routed on the resource only.
        ActionTypeUnknown = "action_type_unknown",
        /// No resource: cannot determine an owner; routed to the fallback.
        ResourceUnknown = "resource_unknown",
        /// Its agent was stopped when it acted: kept, and the agent told.
        ActedWhileStopped = "acted_while_stopped",
    }
}

/// One action at tool-call granularity, as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Event {
    /// Made by the client; a replay of the same id is a no-op.
    pub event_id: String,
    pub agent_id: Option<String>,
    pub actor_type: Option<ActorType>,
    pub actor_id: Option<String>,
    pub origin_system_id: Option<String>,
    pub run_id: Option<String>,
    /// The call this one was made from (nested tool calls are attributed to
    /// the initiating actor, seed 3.5).
    pub parent_event_id: Option<String>,
    /// deploy, config_change, db_write, migration, tool_call, approval, …
    pub action_type: Option<String>,
    pub tool: Option<String>,
    pub resource: Option<String>,
    /// Resources the action declares it touches.
    pub scope: Vec<String>,
    pub outcome: Outcome,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub trace_id: Option<String>,
    /// Per-agent sequence number; a gap means events may be missing.
    pub seq: Option<i64>,
    pub occurred_at: DateTime<Utc>,
    pub received_at: DateTime<Utc>,
    /// Free metadata, e.g. `version`, `config_key`, `rollback_command`.
    #[schema(value_type = Object)]
    pub metadata: serde_json::Map<String, serde_json::Value>,
    pub flags: Vec<EventFlag>,
    pub incident_id: Option<i64>,
}

impl Event {
    /// Whether `other` says what this event says: every field its sender
    /// gives, `occurred_at` to the millisecond as stored. A replay of an
    /// event is a no-op only when it does.
    pub fn same_content(&self, other: &Event) -> bool {
        let (a, b) = (self, other);
        (&a.event_id, &a.agent_id, a.actor_type, &a.actor_id, &a.origin_system_id, &a.run_id)
            == (&b.event_id, &b.agent_id, b.actor_type, &b.actor_id, &b.origin_system_id, &b.run_id)
            && (&a.parent_event_id, &a.action_type, &a.tool, &a.resource, &a.scope, a.outcome)
                == (&b.parent_event_id, &b.action_type, &b.tool, &b.resource, &b.scope, b.outcome)
            && (&a.error_code, &a.error_message, &a.trace_id, a.seq, &a.metadata)
                == (&b.error_code, &b.error_message, &b.trace_id, b.seq, &b.metadata)
            && a.occurred_at.timestamp_millis() == b.occurred_at.timestamp_millis()
    }

    pub fn is_error(&self) -> bool {
        self.outcome == Outcome::Error
    }

    /// Resources the event names: its resource and its declared scope.
    pub fn touched(&self) -> impl Iterator<Item = &str> {
        self.resource.iter().chain(&self.scope).map(String::as_str)
    }

    pub fn metadata_str(&self, key: &str) -> Option<&str> {
        self.metadata.get(key).and_then(|v| v.as_str())
    }
}

/// One event as posted. Lengths are in characters; identifiers refuse
/// control characters, free text refuses NUL.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EventBody {
    /// Made by the client; a replay of the same id is a no-op.
    #[schema(min_length = 1)]
    pub event_id: String,
    pub agent_id: Option<String>,
    pub actor_type: Option<ActorType>,
    pub actor_id: Option<String>,
    pub origin_system_id: Option<String>,
    pub run_id: Option<String>,
    pub parent_event_id: Option<String>,
    pub action_type: Option<String>,
    pub tool: Option<String>,
    pub resource: Option<String>,
    /// At most 50 resources of at most 256 characters.
    pub scope: Option<Vec<String>>,
    pub outcome: Outcome,
    pub error_code: Option<String>,
    pub error_message: Option<String>,
    pub trace_id: Option<String>,
    #[schema(minimum = 0)]
    pub seq: Option<i64>,
    /// Default: when received. At most 30 days before and 5 minutes after
    /// the server's clock (configurable), else `OCCURRED_AT_OUT_OF_RANGE`.
    pub occurred_at: Option<DateTime<Utc>>,
    /// Free metadata, at most 16 KiB encoded.
    #[schema(value_type = Option<Object>)]
    pub metadata: Option<serde_json::Map<String, serde_json::Value>>,
}

/// The body of `POST /api/v1/events`: one event, or an array of up to 1,000.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(untagged)]
pub enum EventBatch {
    One(Box<EventBody>),
    /// At most 1,000.
    Many(Vec<EventBody>),
}

/// Answer to `POST /api/v1/events`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct IngestReport {
    /// Newly stored.
    pub accepted: usize,
    /// Already stored under the same event_id: no-ops.
    pub duplicates: usize,
    /// Refused, by position in the batch.
    pub rejected: Vec<RejectedEvent>,
    /// Incidents opened or updated by this batch.
    pub incidents: Vec<i64>,
    /// Agents of this batch that are stopped: the stop in force on each.
    /// An event one of them made after its stop is stored flagged
    /// `acted_while_stopped`; a client without a control subscription
    /// learns here that it must stop.
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub stopped: std::collections::BTreeMap<String, super::AgentStop>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RejectedEvent {
    pub index: usize,
    pub event_id: Option<String>,
    pub error: super::ErrorBody,
}
