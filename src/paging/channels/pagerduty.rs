//! PagerDuty Events API v2: one event per notification, the incident as the
//! `dedup_key` so a page, its acknowledgement and its resolution are one
//! PagerDuty alert. Answers: 202 accepted, 400 invalid (not retried), 429
//! throttled, 5xx.

use super::super::config::{PAGERDUTY_EVENTS_URL, PagerDutyReceiver};
use super::super::message::{Item, Outgoing};
use super::{Refusal, post_json};
use crate::api::{NoticeKind, Severity, Urgency};
use std::time::Duration;

/// The alert every notification of an incident belongs to.
pub fn dedup_key(incident_id: i64) -> String {
    format!("mandate-incident-{incident_id}")
}

fn severity(item: &Item) -> &'static str {
    match (item.page.urgency, item.context.severity) {
        (Urgency::Critical, _) | (_, Severity::Critical) => "critical",
        (Urgency::High, _) | (_, Severity::High) => "error",
        (_, Severity::Medium) => "warning",
        _ => "info",
    }
}

pub fn event(routing_key: &str, item: &Item, now: chrono::DateTime<chrono::Utc>) -> serde_json::Value {
    let c = &item.context;
    let action = match item.page.kind {
        NoticeKind::Page => "trigger",
        NoticeKind::Acknowledged => "acknowledge",
        NoticeKind::Resolved => "resolve",
    };
    let mut event = serde_json::json!({
        "routing_key": routing_key,
        "event_action": action,
        "dedup_key": dedup_key(c.incident_id),
        "client": "Mandate",
    });
    if item.page.kind == NoticeKind::Page {
        let summary: String = item.headline().chars().take(1024).collect();
        event["payload"] = serde_json::json!({
            "summary": summary,
            "source": c.resources.first().cloned().unwrap_or_else(|| "mandate".into()),
            "severity": severity(item),
            "timestamp": now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "component": c.resources.first(),
            "class": "incident",
            "custom_details": item.json(),
        });
    }
    event
}

pub(super) async fn send(
    http: &reqwest::Client,
    receiver: &PagerDutyReceiver,
    out: &Outgoing,
    timeout: Duration,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), Refusal> {
    let key = receiver.routing_key.read().map_err(|e| Refusal::permanent(format!("pagerduty routing key: {e}")))?;
    let url = receiver.url.as_deref().unwrap_or(PAGERDUTY_EVENTS_URL);
    // Events are idempotent by dedup_key: a retry resends them all.
    for item in &out.items {
        post_json(http.post(url), &event(key.expose(), item, now), timeout).await?;
    }
    Ok(())
}
