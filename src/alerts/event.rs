//! One alert as an event. Its id is made from the source, the alert's
//! fingerprint and when it started firing, so every notification of one
//! firing (Alertmanager repeats it each `repeat_interval`, and each HA peer
//! sends it) is the same event: recorded once. Its resolution is a second
//! event of its own.
//!
//! Nothing in an alert is refused for its content: a monitor does not
//! resend what was refused, so labels and annotations past their bounds are
//! cut, hostile characters are kept out of identifiers, and an alert naming
//! no known service is kept, unmatched.

use crate::api::{ALERT_ACTION_TYPE, AlertNote, AlertStatus, Event, EventFlag, Outcome, RESOURCE_LABELS};
use crate::api::{MAX_LABELS, limits};
use crate::attribution::ActorType;
use crate::catalog::Catalog;
use crate::desk::EventWindow;
use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// What of an alert's labels is kept, encoded; annotations get as much.
const LABEL_BYTES: usize = 6 * 1024;
const ANNOTATION_BYTES: usize = 6 * 1024;
/// One annotation's value at most.
const ANNOTATION_CHARS: usize = 1024;

/// An alert from any source, before it is an event.
#[derive(Debug, Clone, PartialEq)]
pub struct Alert {
    pub name: String,
    pub source: String,
    pub status: AlertStatus,
    pub starts_at: Option<DateTime<Utc>>,
    pub ends_at: Option<DateTime<Utc>>,
    pub fingerprint: Option<String>,
    pub url: Option<String>,
    pub labels: BTreeMap<String, String>,
    pub annotations: BTreeMap<String, String>,
}

/// An alert made an event, and whether a label named a catalog service.
#[derive(Debug, Clone)]
pub struct AlertEvent {
    pub event: Event,
    pub matched: bool,
}

/// `text` without control characters, at most `chars` long.
fn clean(text: &str, chars: usize) -> String {
    text.chars().filter(|c| !c.is_control()).take(chars).collect()
}

/// `text` as an identifier: without the characters identifiers refuse
/// everywhere else (controls, invisible, bidi, private use; see
/// [`crate::api::identifier`]), in NFC, at most `chars` long. What an agent
/// would be refused for, an alert is cut of.
fn identifier(text: &str, chars: usize) -> String {
    let kept = text.chars().filter(|c| crate::api::identifier::forbidden(*c).is_none()).take(chars).collect();
    crate::api::identifier::normalized(kept)
}

/// The alert's identity across notifications: the one its source gives when
/// it is a plain token, else a digest of its name and labels.
fn fingerprint(alert: &Alert) -> String {
    let given = alert.fingerprint.as_deref().filter(|f| {
        !f.is_empty() && f.len() <= 64 && f.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    });
    match given {
        Some(f) => f.to_owned(),
        None => {
            let mut digest = Sha256::new();
            digest.update(alert.name.as_bytes());
            for (k, v) in &alert.labels {
                digest.update([0]);
                digest.update(k.as_bytes());
                digest.update([1]);
                digest.update(v.as_bytes());
            }
            hex::encode(&digest.finalize()[..8])
        }
    }
}

/// The event id of one firing of an alert, or of its resolution.
fn event_id(source: &str, fingerprint: &str, starts_at: DateTime<Utc>, status: AlertStatus) -> String {
    let mut digest = Sha256::new();
    digest.update(source.as_bytes());
    digest.update([0]);
    digest.update(fingerprint.as_bytes());
    let who = hex::encode(&digest.finalize()[..8]);
    let firing = format!("alert:{who}:{}", starts_at.timestamp_millis());
    match status {
        AlertStatus::Firing => firing,
        AlertStatus::Resolved => format!("{firing}:resolved"),
    }
}

/// The resource an alert is about: the first label in [`RESOURCE_LABELS`]
/// naming a catalog service, with that label; else the first present, with
/// None (unmatched).
fn resource_of(labels: &BTreeMap<String, String>, catalog: &Catalog) -> (Option<String>, Option<String>) {
    let present = || RESOURCE_LABELS.iter().filter_map(|l| labels.get(*l).map(|v| (*l, identifier(v, limits::NAME))));
    if let Some((label, value)) = present().find(|(_, v)| catalog.get(v).is_some()) {
        return (Some(value), Some(label.to_owned()));
    }
    (present().map(|(_, v)| v).find(|v| !v.is_empty()), None)
}

/// Entries of `map` with keys and values cut, the resource labels and then
/// `first` before the rest, until `budget` bytes are used.
fn bounded(
    map: &BTreeMap<String, String>,
    value: impl Fn(&str) -> String,
    budget: usize,
    first: &[&str],
) -> BTreeMap<String, String> {
    let mut order: Vec<&String> = first.iter().filter_map(|k| map.get_key_value(*k).map(|(k, _)| k)).collect();
    order.extend(map.keys().filter(|k| !first.contains(&k.as_str())));
    let mut kept = BTreeMap::new();
    let mut used = 0;
    for key in order.into_iter().take(MAX_LABELS) {
        let (k, v) = (identifier(key, limits::KIND), value(&map[key]));
        used += k.len() + v.len() + 6;
        if used > budget {
            break;
        }
        kept.insert(k, v);
    }
    kept
}

/// `at` moved into what the server accepts around `now`.
fn within(at: DateTime<Utc>, now: DateTime<Utc>, window: EventWindow) -> DateTime<Utc> {
    let oldest = now - window.max_age + chrono::Duration::minutes(1);
    if at > now + window.max_ahead { now } else { at.max(oldest) }
}

/// One alert as the event that records it.
pub fn to_event(alert: Alert, catalog: &Catalog, received_at: DateTime<Utc>, window: EventWindow) -> AlertEvent {
    let fingerprint = fingerprint(&alert);
    let starts_at = within(alert.starts_at.unwrap_or(received_at), received_at, window);
    let (resource, matched_by) = resource_of(&alert.labels, catalog);
    let name = match identifier(&alert.name, limits::REFERENCE) {
        name if name.trim().is_empty() => "unnamed alert".to_owned(),
        name => name,
    };
    let source = identifier(&alert.source, limits::KIND);
    let ends_at = match alert.status {
        AlertStatus::Firing => None,
        AlertStatus::Resolved => Some(within(alert.ends_at.unwrap_or(received_at), received_at, window).max(starts_at)),
    };
    let note = AlertNote {
        name: name.clone(),
        source: source.clone(),
        status: alert.status,
        fingerprint: fingerprint.clone(),
        starts_at,
        ends_at,
        labels: bounded(&alert.labels, |v| identifier(v, limits::NAME), LABEL_BYTES, RESOURCE_LABELS),
        annotations: bounded(
            &alert.annotations,
            |v| clean(v, ANNOTATION_CHARS),
            ANNOTATION_BYTES,
            &["summary", "description"],
        ),
        url: alert.url.as_deref().map(|u| clean(u, limits::NAME)).filter(|u| !u.is_empty()),
        matched_by: matched_by.clone(),
    };
    let summary = note.summary().map(|s| clean(s, limits::TEXT));
    let firing = alert.status == AlertStatus::Firing;
    let mut metadata = serde_json::Map::new();
    metadata.insert("alert".into(), serde_json::to_value(&note).expect("an alert note encodes"));
    let mut flags = Vec::new();
    if resource.is_none() {
        flags.push(EventFlag::ResourceUnknown);
    }
    let event = Event {
        event_id: event_id(&source, &fingerprint, starts_at, alert.status),
        agent_id: None,
        actor_type: Some(ActorType::System),
        actor_id: None,
        origin_system_id: Some(source),
        run_id: None,
        parent_event_id: None,
        action_type: Some(ALERT_ACTION_TYPE.to_owned()),
        tool: None,
        resource,
        scope: vec![],
        outcome: if firing { Outcome::Error } else { Outcome::Ok },
        error_code: firing.then_some(name),
        error_message: if firing { summary } else { None },
        trace_id: None,
        seq: None,
        occurred_at: ends_at.unwrap_or(starts_at),
        received_at,
        metadata,
        flags,
        incident_id: None,
    };
    AlertEvent { event, matched: matched_by.is_some() }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalog() -> Catalog {
        Catalog::from_toml("[[service]]\nname = \"payments\"\nowner = \"@alice\"\n", "test").unwrap()
    }

    fn alert(labels: &[(&str, &str)]) -> Alert {
        Alert {
            name: "PaymentsLatencyHigh".into(),
            source: "alertmanager".into(),
            status: AlertStatus::Firing,
            starts_at: Some("2026-12-07T12:02:00Z".parse().unwrap()),
            ends_at: None,
            fingerprint: Some("a1b2c3d4e5f60718".into()),
            url: None,
            labels: labels.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            annotations: BTreeMap::from([("summary".into(), "p99 over 800 ms".into())]),
        }
    }

    fn now() -> DateTime<Utc> {
        "2026-12-07T12:05:00Z".parse().unwrap()
    }

    #[test]
    fn the_first_label_naming_a_service_is_the_resource() {
        let a = to_event(
            alert(&[("job", "payments"), ("service", "payments-api")]),
            &catalog(),
            now(),
            EventWindow::default(),
        );
        assert_eq!(a.event.resource.as_deref(), Some("payments"));
        assert!(a.matched);
        assert_eq!(a.event.alert().unwrap().matched_by.as_deref(), Some("job"));
        assert_eq!(a.event.error_code.as_deref(), Some("PaymentsLatencyHigh"));
        assert_eq!(a.event.error_message.as_deref(), Some("p99 over 800 ms"));
        assert!(a.event.is_error() && a.event.is_alert());
    }

    #[test]
    fn an_unknown_service_is_kept_unmatched_and_no_label_at_all_is_flagged() {
        let a = to_event(alert(&[("service", "ledger")]), &catalog(), now(), EventWindow::default());
        assert_eq!((a.event.resource.as_deref(), a.matched), (Some("ledger"), false));
        let a = to_event(alert(&[("severity", "page")]), &catalog(), now(), EventWindow::default());
        assert_eq!(a.event.resource, None);
        assert_eq!(a.event.flags, vec![EventFlag::ResourceUnknown]);
    }

    #[test]
    fn repeats_are_one_event_and_the_resolution_another() {
        let first = to_event(alert(&[("service", "payments")]), &catalog(), now(), EventWindow::default());
        let mut again = alert(&[("service", "payments")]);
        again.annotations.insert("summary".into(), "p99 over 900 ms".into());
        let again = to_event(again, &catalog(), now() + chrono::Duration::hours(4), EventWindow::default());
        assert_eq!(first.event.event_id, again.event.event_id);
        let mut resolved = alert(&[("service", "payments")]);
        resolved.status = AlertStatus::Resolved;
        resolved.ends_at = Some("2026-12-07T12:04:00Z".parse().unwrap());
        let resolved = to_event(resolved, &catalog(), now(), EventWindow::default());
        assert_ne!(resolved.event.event_id, first.event.event_id);
        assert_eq!(resolved.event.outcome, Outcome::Ok);
        assert_eq!(resolved.event.occurred_at, "2026-12-07T12:04:00Z".parse::<DateTime<Utc>>().unwrap());
        let mut other = alert(&[("service", "payments")]);
        other.source = "grafana".into();
        assert_ne!(to_event(other, &catalog(), now(), EventWindow::default()).event.event_id, first.event.event_id);
    }

    #[test]
    fn hostile_and_huge_alerts_are_cut_not_refused() {
        let mut a = alert(&[("service", "pay\u{1b}[2Jments")]);
        a.name = "Evil\u{1b}]0;owned\u{7}".into();
        for i in 0..500 {
            a.labels.insert(format!("l{i:03}"), "x".repeat(300));
            a.annotations.insert(format!("a{i:03}"), "y".repeat(5000));
        }
        let e = to_event(a, &catalog(), now(), EventWindow::default()).event;
        assert_eq!(e.error_code.as_deref(), Some("Evil]0;owned"));
        assert_eq!(e.resource.as_deref(), Some("pay[2Jments"));
        // Invisible and bidi characters are what identifiers refuse elsewhere:
        // cut, so a look-alike label names the service it spells.
        let a = alert(&[("service", "pay\u{200B}ments-\u{202E}service")]);
        let e = to_event(a, &catalog(), now(), EventWindow::default()).event;
        assert_eq!(e.resource.as_deref(), Some("payments-service"));
        let encoded = serde_json::to_string(&e.metadata).unwrap();
        assert!(encoded.len() < 16 * 1024, "{} bytes", encoded.len());
        assert!(e.alert().unwrap().labels.len() <= MAX_LABELS);
    }

    #[test]
    fn times_outside_the_window_are_brought_in() {
        let mut a = alert(&[("service", "payments")]);
        a.starts_at = Some(now() - chrono::Duration::days(90));
        let e = to_event(a, &catalog(), now(), EventWindow::default()).event;
        assert!(now() - e.occurred_at < chrono::Duration::days(30));
    }
}
