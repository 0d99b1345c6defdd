use crate::wire_enum;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

wire_enum! {
    /// The topic of a distribution panel: LIVE-O5 reads LIVE runs, COMP-O5
    /// reads COMPLETED ones. Bound by the endpoint's path, never by the caller.
    pub enum Topic {
        Live = "LIVE",
        Completed = "COMPLETED",
    }
}

wire_enum! {
    /// The dimensions a distribution can be cut by (the panel's buttons).
    pub enum Dimension {
        /// "By Agent"
        AgentId = "agent_id",
        /// "By Provider"
        ProviderType = "provider_type",
        /// "By Source"
        Source = "source",
        /// "By Risk"
        RiskLevel = "risk_level",
        /// "By Status"
        Status = "status",
    }
}

impl Topic {
    /// The path segment that binds the topic: `/activity/runs/{segment}/by-dimension`.
    pub fn path_segment(self) -> &'static str {
        match self {
            Topic::Live => "live",
            Topic::Completed => "completed",
        }
    }
}

/// One bar of a distribution.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Bucket {
    pub value: String,
    pub count: i64,
}

/// `GET /api/v1/activity/runs/{live|completed}/by-dimension?dim=…`
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Distribution {
    pub topic: Topic,
    pub dim: Dimension,
    /// Sorted by count, largest first; ties by value.
    pub buckets: Vec<Bucket>,
    /// Runs in the topic: the sum of the buckets' counts.
    pub total: i64,
    pub generated_at: DateTime<Utc>,
}
