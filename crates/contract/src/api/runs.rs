use crate::attribution::{ActorType, AttributionContext};
use crate::wire_enum;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

wire_enum! {
    /// How the run entered the system.
    pub enum RunSource {
        Sdk = "SDK",
        Api = "API",
        System = "SYSTEM",
    }
}

wire_enum! {
    /// The topic a run belongs to.
    pub enum RunState {
        Live = "LIVE",
        Completed = "COMPLETED",
    }
}

wire_enum! {
    pub enum RunStatus {
        /// The run is LIVE.
        Running = "running",
        Succeeded = "succeeded",
        Failed = "failed",
        Cancelled = "cancelled",
    }
}

wire_enum! {
    pub enum RiskLevel {
        Low = "low",
        Medium = "medium",
        High = "high",
        Critical = "critical",
    }
}

/// `POST /api/v1/runs`. Attribution fields are optional here only so that a
/// missing one is reported with its contract code rather than as a parse error.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CreateRunRequest {
    /// What the run is for. Required, non-blank.
    pub goal: String,
    /// Required, non-blank.
    #[schema(required = true, value_type = String)]
    pub agent_id: Option<String>,
    /// HUMAN | SYSTEM | SERVICE (any case; stored upper-case). Required.
    #[schema(required = true, value_type = ActorType)]
    pub actor_type: Option<String>,
    /// Required for HUMAN, null (or blank, stored as null) otherwise.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor_id: Option<String>,
    /// Required, non-blank: the system that attests the actor.
    #[schema(required = true, value_type = String)]
    pub origin_system_id: Option<String>,
    pub source: RunSource,
    /// The model or tool provider (for example `anthropic`, `openai`, `internal`).
    pub provider_type: String,
    pub risk_level: RiskLevel,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin_ts: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub origin_ip: Option<String>,
}

impl CreateRunRequest {
    pub fn attribution(&self) -> AttributionContext {
        AttributionContext {
            agent_id: self.agent_id.clone(),
            actor_type: self.actor_type.clone(),
            origin_system_id: self.origin_system_id.clone(),
            actor_id: self.actor_id.clone(),
            origin_ts: self.origin_ts,
            origin_ip: self.origin_ip.clone(),
        }
    }
}

/// `POST /api/v1/runs/{run_id}/complete`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CompleteRunRequest {
    /// succeeded | failed | cancelled
    pub status: RunStatus,
}

/// A run as stored: attribution-complete by construction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Run {
    pub run_id: String,
    pub goal: String,
    pub agent_id: String,
    pub actor_type: ActorType,
    pub actor_id: Option<String>,
    pub origin_system_id: String,
    pub source: RunSource,
    pub state: RunState,
    pub status: RunStatus,
    pub provider_type: String,
    pub risk_level: RiskLevel,
    pub origin_ts: Option<DateTime<Utc>>,
    pub origin_ip: Option<String>,
    pub created_at: DateTime<Utc>,
    pub completed_at: Option<DateTime<Utc>>,
    /// The latest dispute of an attribution in this run (`GET /runs/{run_id}` only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dispute: Option<super::DisputeMark>,
}

/// `GET /api/v1/runs`: newest first; pass `next_cursor` as `cursor` for the next page.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RunPage {
    pub runs: Vec<Run>,
    pub next_cursor: Option<String>,
}

/// Header an SDK sends when its soft-mode legacy override let a violation
/// through, so that override use is counted where it matters: at the API.
pub const OVERRIDE_HEADER: &str = "mandate-attribution-override";
