//! Pages as they are delivered: every notification a routing decision asked
//! for, its delivery state, and who is next if nobody answers.

use super::Urgency;
use crate::wire_enum;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

wire_enum! {
    /// Where a notification is on its way to the receiver.
    pub enum DeliveryState {
        /// Waiting: for its level's time (an escalation timer), or to be retried.
        Pending = "pending",
        /// Taken by the worker, being sent now.
        Sending = "sending",
        /// The receiver accepted it.
        Sent = "sent",
        /// Given up after the configured attempts; a responder may retry it.
        Dead = "dead",
        /// No longer needed: acknowledged, resolved, or no longer in the decision.
        Cancelled = "cancelled",
    }
}

wire_enum! {
    /// What a notification tells its receiver.
    pub enum NoticeKind {
        /// An incident needs this person.
        Page = "page",
        /// Someone acknowledged an incident this receiver was paged for.
        Acknowledged = "acknowledged",
        /// An incident this receiver was paged for is resolved.
        Resolved = "resolved",
    }
}

/// One notification: to one target, on one channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Page {
    /// Stable across retries: the receiver's deduplication key.
    pub id: String,
    pub incident_id: i64,
    pub kind: NoticeKind,
    pub target: String,
    /// webhook, slack, pagerduty or email.
    pub channel: String,
    /// The escalation level's name, or "blast radius".
    pub level: String,
    pub urgency: Urgency,
    pub reason: String,
    #[serde(default)]
    pub digest: bool,
    pub state: DeliveryState,
    /// When it became (or becomes) due: for a later level, its escalation time.
    pub due_at: DateTime<Utc>,
    /// When the worker may take it next (a retry's backoff).
    pub next_attempt_at: DateTime<Utc>,
    pub attempts: i64,
    /// The receiver's last refusal, or why it was cancelled.
    pub last_error: Option<String>,
    pub sent_at: Option<DateTime<Utc>>,
    /// The delivery (one message, possibly grouping several) that carries it.
    pub delivery: Option<String>,
}

/// Whether paging can wake anyone: the receivers configured, and the
/// notifications that died undelivered in the last day. In the incident
/// feed (every console shows it) and in `/readyz`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PagingHealth {
    /// The channels with a receiver (webhook, slack, pagerduty, email);
    /// empty: every page is marked dead at once and nobody is woken.
    pub receivers: Vec<String>,
    /// Notifications given up on (or undeliverable) in the last 24 hours.
    pub dead_last_day: i64,
}

impl PagingHealth {
    /// What the operator must be told, if anything: "no receivers — nobody
    /// is woken", "3 pages dead in the last day".
    pub fn alarm(&self) -> Option<String> {
        if self.receivers.is_empty() {
            return Some("no receivers — nobody is woken".to_owned());
        }
        match self.dead_last_day {
            0 => None,
            1 => Some("1 page dead in the last day".to_owned()),
            n => Some(format!("{n} pages dead in the last day")),
        }
    }
}

/// `GET /api/v1/notifications`: newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PageList {
    pub notifications: Vec<Page>,
    /// By state, over everything stored (not only this page).
    pub counts: Vec<StateCount>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StateCount {
    pub state: DeliveryState,
    pub count: i64,
}

/// `POST /api/v1/notifications/{notification_id}/retry`: a person sends a
/// dead notification again, in their own name.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct RetryBody {
    /// HUMAN: retries are a person's decision.
    #[schema(value_type = crate::attribution::ActorType)]
    pub actor_type: String,
    /// The caller's own name.
    pub actor_id: String,
    pub agent_id: String,
    pub origin_system_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}
