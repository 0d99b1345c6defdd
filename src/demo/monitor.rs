//! The demo company's own monitoring: an Alertmanager (as Mandate sees it,
//! its webhook) that now and then says latency on `api-gateway` is high,
//! repeats it as Alertmanager does every `repeat_interval`, and later says
//! it resolved. It posts with a token of the `monitor` role, in
//! Alertmanager's version 4 payload, so `:incidents` shows the alert's
//! incident, with the fleet's changes to what the gateway depends on
//! (payments-service's config, say) ranked as causes. Every third alert
//! names a service the catalog does not know, and is kept, unmatched.

use serde_json::{Value, json};
use std::time::Duration;
use tokio::sync::watch;

/// The first alert comes this long after the demo starts (at speed 1).
const FIRST: Duration = Duration::from_secs(45);
/// Alertmanager's repeat_interval, and how long until it resolves.
const REPEAT: Duration = Duration::from_secs(20);
const RESOLVES_AFTER: Duration = Duration::from_secs(70);
/// Between one alert's resolution and the next.
const BETWEEN: Duration = Duration::from_secs(120);

fn notification(status: &str, name: &str, service: &str, summary: &str, starts: &str, ends: Option<String>) -> Value {
    json!({
        "version": "4", "groupKey": format!("{{}}:{{alertname=\"{name}\"}}"), "truncatedAlerts": 0,
        "status": status, "receiver": "mandate", "groupLabels": {"alertname": name},
        "commonLabels": {"alertname": name, "service": service, "severity": "page"}, "commonAnnotations": {"summary": summary},
        "externalURL": "http://alertmanager.demo:9093",
        "alerts": [{
            "status": status, "labels": {"alertname": name, "service": service, "severity": "page"},
            "annotations": {"summary": summary}, "startsAt": starts,
            "endsAt": ends.unwrap_or_else(|| "0001-01-01T00:00:00Z".into()),
            "generatorURL": format!("http://prometheus.demo:9090/graph?g0.expr={name}"), "fingerprint": "",
        }],
    })
}

/// Runs until `stop` says so.
pub async fn run(api: String, token: String, speed: f64, mut stop: watch::Receiver<bool>) {
    let Ok(http) = crate::sdk::http_client_builder().build() else { return };
    let url = format!("{api}/api/v1/alerts/alertmanager");
    let scaled = |d: Duration| d.div_f64(speed.max(0.1));
    let post = |body: Value| {
        let request = http.post(&url).bearer_auth(&token).json(&body);
        async move {
            if let Err(e) = request.send().await.and_then(|r| r.error_for_status()) {
                tracing::warn!(error = %e, "the demo's Alertmanager could not post its alert");
            }
        }
    };
    let mut wait = scaled(FIRST);
    for round in 1u32.. {
        let (name, service, summary) = if round % 3 == 0 {
            ("LedgerReplicationLag", "ledger-replica", "ledger replication 4 min behind")
        } else {
            ("GatewayLatencyHigh", "api-gateway", "api-gateway p99 over 1.2 s for 5 minutes")
        };
        let starts = chrono::Utc::now() + chrono::Duration::from_std(wait).unwrap_or_default();
        let starts = starts.to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        let steps = [
            (wait, "firing"),
            (scaled(REPEAT), "firing"),
            (scaled(REPEAT), "firing"),
            (scaled(RESOLVES_AFTER - REPEAT * 2), "resolved"),
        ];
        for (after, status) in steps {
            tokio::select! {
                _ = tokio::time::sleep(after) => {}
                _ = stop.changed() => return,
            }
            let ends =
                (status == "resolved").then(|| chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true));
            post(notification(status, name, service, summary, &starts, ends)).await;
        }
        wait = scaled(BETWEEN);
    }
}
