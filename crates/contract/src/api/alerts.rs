//! Alerts in: what a team's existing monitors (Prometheus Alertmanager, or
//! anything that can post JSON) say about the services Mandate watches. An
//! alert is stored as an event of the reserved action type `alert`: a firing
//! alert is an error on its resource (it joins that resource's open incident,
//! or opens one), a resolved alert a success (recovery evidence). What the
//! monitor said is kept whole under the event's `metadata.alert`.

use crate::wire_enum;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The action type of events made from alerts. Only the alert endpoints
/// write it: an agent's event claiming it is refused, so nothing can pass
/// itself off as a monitor's observation.
pub const ALERT_ACTION_TYPE: &str = "alert";

/// The labels that name an alert's resource, in the order they are tried:
/// the first whose value is a service in the catalog wins. Without one, the
/// first present is used and the alert is kept as unmatched.
pub const RESOURCE_LABELS: &[&str] = &["mandate_resource", "resource", "service", "job", "app", "namespace"];

/// At most this many alerts in one request (Alertmanager's `max_alerts`
/// should stay at or under it).
pub const MAX_ALERTS: usize = 1000;
/// At most this many labels, and as many annotations, on one alert.
pub const MAX_LABELS: usize = 64;

wire_enum! {
    pub enum AlertStatus {
        Firing = "firing",
        Resolved = "resolved",
    }
}

/// One alert in the generic shape (`POST /api/v1/alerts`), for monitors
/// other than Alertmanager.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AlertBody {
    /// The alert's name, e.g. `PaymentsLatencyHigh`.
    #[schema(min_length = 1, pattern = "\\S")]
    pub name: String,
    pub status: AlertStatus,
    /// Identifying labels (at most 64). The resource is read from them (see
    /// the API documentation for the order).
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// Descriptive text; `summary` (or `description`) is shown (at most 64).
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    /// When it started firing: with the fingerprint, what makes repeated
    /// notifications of one firing one alert, and what its resolution names.
    pub starts_at: DateTime<Utc>,
    /// When it resolved (for `resolved`). Default: when received.
    pub ends_at: Option<DateTime<Utc>>,
    /// The same alert's identity across notifications. Default: a digest of
    /// `name` and `labels`.
    pub fingerprint: Option<String>,
    /// A link to the monitor's view of it.
    pub url: Option<String>,
}

/// The body of `POST /api/v1/alerts`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AlertBatch {
    /// Which monitor says it, e.g. `grafana`, `datadog` (an identifier).
    #[schema(min_length = 1, max_length = 64, pattern = "^[A-Za-z0-9._-]+$")]
    pub source: String,
    /// At most 1,000.
    #[schema(max_items = 1000)]
    pub alerts: Vec<AlertBody>,
}

/// What was done with each alert of a request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AlertReport {
    /// Newly recorded.
    pub accepted: usize,
    /// Already recorded: repeated notifications of the same alert
    /// (Alertmanager's `repeat_interval`, its HA peers) are one alert.
    pub repeats: usize,
    /// Alerts whose labels name no service in the catalog: kept, shown as
    /// unmatched, by position in the request.
    pub unmatched: Vec<usize>,
    /// Incidents opened, joined or recovered.
    pub incidents: Vec<i64>,
}

/// What an alert event carries under `metadata.alert`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AlertNote {
    pub name: String,
    /// The monitor: `alertmanager`, or the generic request's `source`.
    pub source: String,
    pub status: AlertStatus,
    pub fingerprint: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    pub url: Option<String>,
    /// The label whose value is a service in the catalog; None when no label
    /// matched one (the alert is unmatched).
    pub matched_by: Option<String>,
}

impl AlertNote {
    /// What it says in a line: the summary annotation, else the description.
    pub fn summary(&self) -> Option<&str> {
        ["summary", "description", "message"].iter().find_map(|k| self.annotations.get(*k)).map(String::as_str)
    }
}

impl super::Event {
    /// Whether this event is an alert from a monitor rather than an action:
    /// it is never a candidate cause.
    pub fn is_alert(&self) -> bool {
        self.action_type.as_deref() == Some(ALERT_ACTION_TYPE)
    }

    /// The alert it records, when it is one.
    pub fn alert(&self) -> Option<AlertNote> {
        if !self.is_alert() {
            return None;
        }
        serde_json::from_value(self.metadata.get("alert")?.clone()).ok()
    }
}
