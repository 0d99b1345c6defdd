use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

/// The attribution envelope of a run, exactly as the caller supplied it.
///
/// Fields are raw (optional strings) on purpose: validation, not the type
/// system, decides what is acceptable, so that every violation can be reported
/// with its canonical code instead of a deserialisation failure.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttributionContext {
    /// Executing agent identifier. Required.
    pub agent_id: Option<String>,
    /// HUMAN | SYSTEM | SERVICE, any case. Required.
    pub actor_type: Option<String>,
    /// Originating system identifier. Required.
    pub origin_system_id: Option<String>,
    /// Required when `actor_type` is HUMAN, forbidden (non-blank) otherwise.
    pub actor_id: Option<String>,
    /// When the actor acted; set to now by the SDK when absent.
    pub origin_ts: Option<DateTime<Utc>>,
    /// Best effort, never validated.
    pub origin_ip: Option<String>,
}

impl AttributionContext {
    /// Whether it names a legacy sentinel (`legacy-unknown` as the agent or
    /// `legacy-migration` as the origin): after enforcement, a P1 (seed 000 §7).
    pub fn carries_legacy_marker(&self) -> bool {
        self.agent_id.as_deref() == Some(super::LEGACY_AGENT_ID)
            || self.origin_system_id.as_deref() == Some(super::LEGACY_ORIGIN_SYSTEM_ID)
    }

    pub fn new(agent_id: &str, actor_type: &str, origin_system_id: &str, actor_id: Option<&str>) -> Self {
        AttributionContext {
            agent_id: Some(agent_id.to_owned()),
            actor_type: Some(actor_type.to_owned()),
            origin_system_id: Some(origin_system_id.to_owned()),
            actor_id: actor_id.map(str::to_owned),
            origin_ts: None,
            origin_ip: None,
        }
    }

    /// Automation: cron jobs, schedulers, policy triggers.
    pub fn system(agent_id: &str, origin_system_id: &str) -> Self {
        Self::new(agent_id, "SYSTEM", origin_system_id, None)
    }

    /// A person, identified by `actor_id`.
    pub fn human(agent_id: &str, actor_id: &str, origin_system_id: &str) -> Self {
        Self::new(agent_id, "HUMAN", origin_system_id, Some(actor_id))
    }

    /// A service-to-service call.
    pub fn service(agent_id: &str, origin_system_id: &str) -> Self {
        Self::new(agent_id, "SERVICE", origin_system_id, None)
    }
}
