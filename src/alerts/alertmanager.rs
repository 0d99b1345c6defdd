//! Alertmanager's webhook payload, version 4 (its `webhook_config`
//! receiver), read as Alertmanager sends it: fields it may add later are
//! ignored, a field of the wrong type is named.

use super::Alert;
use crate::api::AlertStatus;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use std::collections::BTreeMap;

/// The one version of the payload there is.
pub const VERSION: &str = "4";

/// The source recorded for alerts Alertmanager posts.
pub const SOURCE: &str = "alertmanager";

/// Alertmanager's webhook payload (`webhook_config`), version 4.
#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[schema(as = AlertmanagerNotification)]
#[serde(rename_all = "camelCase")]
pub struct Notification {
    /// "4": the one version there is.
    #[schema(pattern = "^4$")]
    pub version: String,
    #[serde(default)]
    pub group_key: String,
    #[serde(default)]
    pub truncated_alerts: u64,
    pub status: AlertStatus,
    #[serde(default)]
    pub receiver: String,
    #[serde(default, rename = "externalURL")]
    pub external_url: String,
    /// At most 1,000 (Alertmanager's `max_alerts`).
    #[schema(max_items = 1000)]
    pub alerts: Vec<NotifiedAlert>,
}

#[derive(Debug, Clone, Deserialize, utoipa::ToSchema)]
#[schema(as = AlertmanagerAlert)]
#[serde(rename_all = "camelCase")]
pub struct NotifiedAlert {
    pub status: AlertStatus,
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub annotations: BTreeMap<String, String>,
    pub starts_at: DateTime<Utc>,
    /// `0001-01-01T00:00:00Z` while firing without an end.
    pub ends_at: Option<DateTime<Utc>>,
    #[serde(default, rename = "generatorURL")]
    pub generator_url: String,
    #[serde(default)]
    pub fingerprint: String,
}

impl NotifiedAlert {
    pub fn into_alert(self) -> Alert {
        // Alertmanager's "no end" is year 1; a resolved alert has a real one.
        let ends_at = self.ends_at.filter(|t| t.timestamp() > 0);
        Alert {
            name: self.labels.get("alertname").cloned().unwrap_or_default(),
            source: SOURCE.to_owned(),
            status: self.status,
            starts_at: Some(self.starts_at),
            ends_at,
            fingerprint: Some(self.fingerprint).filter(|f| !f.is_empty()),
            url: Some(self.generator_url).filter(|u| !u.is_empty()),
            labels: self.labels,
            annotations: self.annotations,
        }
    }
}

/// Reads a notification, naming the first field that is wrong.
pub fn parse(body: serde_json::Value) -> Result<Notification, String> {
    let notification: Notification =
        serde_path_to_error::deserialize(body).map_err(|e| match e.path().to_string().as_str() {
            "." => format!("the payload: {}", e.inner()),
            path => format!("{path}: {}", e.inner()),
        })?;
    if notification.version != VERSION {
        return Err(format!(
            "version: Alertmanager webhook payload version {:?} is not served; version {VERSION} is",
            notification.version
        ));
    }
    Ok(notification)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_published_example_reads_and_unknown_fields_are_ignored() {
        let body = serde_json::json!({
            "version": "4", "groupKey": "{}:{alertname=\"PaymentsLatencyHigh\"}", "truncatedAlerts": 0,
            "status": "firing", "receiver": "mandate", "groupLabels": {"alertname": "PaymentsLatencyHigh"},
            "commonLabels": {}, "commonAnnotations": {}, "externalURL": "http://am:9093", "someday": true,
            "alerts": [{
                "status": "firing", "labels": {"alertname": "PaymentsLatencyHigh", "service": "payments"},
                "annotations": {"summary": "p99 over 800 ms"}, "startsAt": "2026-12-07T12:02:00.123Z",
                "endsAt": "0001-01-01T00:00:00Z", "generatorURL": "http://prom/graph", "fingerprint": "a1b2c3d4e5f60718"
            }]
        });
        let n = parse(body).unwrap();
        let alert = n.alerts.into_iter().next().unwrap().into_alert();
        assert_eq!(alert.name, "PaymentsLatencyHigh");
        assert_eq!(alert.ends_at, None, "year 1 is no end");
        assert_eq!(alert.fingerprint.as_deref(), Some("a1b2c3d4e5f60718"));
    }

    #[test]
    fn a_wrong_field_is_named() {
        let body = serde_json::json!({"version": "4", "status": "firing", "alerts": [{"status": "burning", "startsAt": "2026-12-07T12:02:00Z"}]});
        let e = parse(body).unwrap_err();
        assert!(e.starts_with("alerts[0].status"), "{e}");
        let e = parse(serde_json::json!({"version": "3", "status": "firing", "alerts": []})).unwrap_err();
        assert!(e.contains("version \"3\""), "{e}");
    }
}
