use crate::wire_enum;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

wire_enum! {
    /// What the person disputing says.
    pub enum DisputeClaim {
        /// "This was not me": a person's name is on an action they did not take.
        NotMe = "not_me",
        /// "This was not this agent": the action is on the wrong agent.
        NotThisAgent = "not_this_agent",
    }
}

wire_enum! {
    /// An admin's finding on the attribution.
    pub enum DisputeResolution {
        /// The attribution stands as recorded.
        Upheld = "upheld",
        /// The attribution was wrong.
        Overturned = "overturned",
    }
}

wire_enum! {
    /// Where a dispute stands.
    pub enum DisputeState {
        /// Open: the attribution is DISPUTED until an admin resolves it.
        Disputed = "disputed",
        Upheld = "upheld",
        Overturned = "overturned",
    }
}

/// A disputed attribution, from the claim to its resolution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Dispute {
    pub id: i64,
    /// The event whose attribution is disputed.
    pub event_id: String,
    pub run_id: Option<String>,
    pub incident_id: Option<i64>,
    pub claim: DisputeClaim,
    pub reason: String,
    pub opened_by: String,
    pub opened_at: DateTime<Utc>,
    pub state: DisputeState,
    pub resolved_by: Option<String>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub note: Option<String>,
}

/// A dispute as a candidate or a run shows it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DisputeMark {
    pub id: i64,
    pub state: DisputeState,
    pub claim: DisputeClaim,
    pub opened_by: String,
}

impl From<&Dispute> for DisputeMark {
    fn from(d: &Dispute) -> DisputeMark {
        DisputeMark { id: d.id, state: d.state, claim: d.claim, opened_by: d.opened_by.clone() }
    }
}

/// `POST /api/v1/disputes`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DisputeBody {
    pub event_id: String,
    /// The incident in which the event is a root-cause candidate (default:
    /// the incident the event itself belongs to).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(minimum = 1)]
    pub incident_id: Option<i64>,
    pub claim: DisputeClaim,
    /// Why: what the person knows that the record does not say.
    #[schema(min_length = 1)]
    pub reason: String,
}

/// `POST /api/v1/disputes/{id}/resolution`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ResolutionBody {
    pub resolution: DisputeResolution,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// `GET /api/v1/disputes`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct DisputeList {
    /// Newest first.
    pub disputes: Vec<Dispute>,
}
