//! What an agent must obey now: the stop in force on it (who, why, since
//! when) and its disabled tools, as `GET /api/v1/agents/{agent_id}/control`
//! serves them to the agent's SDK.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// A stop in force on an agent.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AgentStop {
    /// The person who stopped it.
    pub by: String,
    pub reason: Option<String>,
    pub since: DateTime<Utc>,
}

/// An agent's controls, with a tag that changes whenever they do: the SDK
/// passes it back as `since` to wait for the next change.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AgentControlState {
    pub agent_id: String,
    /// None: the agent may act.
    pub stop: Option<AgentStop>,
    /// Tools the agent may not use, sorted.
    pub disabled_tools: Vec<String>,
    pub tag: String,
}
