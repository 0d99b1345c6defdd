//! Alerts in, against a real server on both databases: Alertmanager's
//! webhook payload and the generic shape become evidence on the incident of
//! the service they name, or open one with the actions before them ranked
//! as causes; repeats are one alert; a resolved alert is recovery; unknown
//! services are kept, unmatched; bad payloads are refused naming what was
//! wrong, recording nothing. Then end to end through a real Alertmanager.

use crate::common::{self, ADMIN, AGENT, Db, MONITOR, VIEWER};
use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};

async fn server(db: Db) -> common::TestServer {
    let t = common::start(db).await;
    t.send(t.http.put(t.url("/api/v1/catalog")).bearer_auth(ADMIN).json(&common::seed_catalog())).await.succeeded();
    t
}

fn stamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// One alert as Alertmanager notifies it.
fn notified(status: &str, labels: Value, summary: &str, starts: DateTime<Utc>, ends: Option<DateTime<Utc>>) -> Value {
    json!({
        "status": status, "labels": labels, "annotations": {"summary": summary},
        "startsAt": stamp(starts), "endsAt": ends.map(stamp).unwrap_or_else(|| "0001-01-01T00:00:00Z".into()),
        "generatorURL": "http://prometheus:9090/graph?g0.expr=p99", "fingerprint": "5f3c2a1b0e9d8c7a",
    })
}

/// Alertmanager's webhook payload, version 4, around `alerts`.
fn notification(status: &str, alerts: Vec<Value>) -> Value {
    json!({
        "version": "4", "groupKey": "{}:{alertname=\"PaymentsLatencyHigh\"}", "truncatedAlerts": 0,
        "status": status, "receiver": "mandate", "groupLabels": {"alertname": "PaymentsLatencyHigh"},
        "commonLabels": {}, "commonAnnotations": {}, "externalURL": "http://alertmanager:9093", "alerts": alerts,
    })
}

fn latency_labels() -> Value {
    json!({"alertname": "PaymentsLatencyHigh", "service": "payments-service", "severity": "page"})
}

async fn incident(t: &common::TestServer, id: &Value) -> Value {
    t.get(VIEWER, &format!("/api/v1/incidents/{id}")).await.succeeded()
}

/// The alert events on an incident's timeline: (name, status).
fn alerts_on(detail: &Value) -> Vec<(String, String)> {
    detail["timeline"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|e| e["event"]["metadata"]["alert"].as_object())
        .map(|a| (a["name"].as_str().unwrap().to_owned(), a["status"].as_str().unwrap().to_owned()))
        .collect()
}

async fn an_alertmanager_alert_opens_an_incident_with_its_causes(db: Db) {
    let t = server(db).await;
    let deploy = common::event_body("deploy-1", -3.0, "deployer", "deploy", "payments-service", "ok");
    t.post(AGENT, "/api/v1/events", &deploy).await.succeeded();
    let unrelated = common::event_body("other-1", -3.0, "indexer", "reindex", "notifications", "ok");
    t.post(AGENT, "/api/v1/events", &unrelated).await.succeeded();

    let starts = Utc::now() - Duration::minutes(1);
    let firing = notified("firing", latency_labels(), "payments p99 over 800 ms", starts, None);
    let report =
        t.post(MONITOR, "/api/v1/alerts/alertmanager", &notification("firing", vec![firing])).await.succeeded();
    assert_eq!((report["accepted"].as_u64(), report["repeats"].as_u64()), (Some(1), Some(0)), "{report}");
    assert_eq!(report["unmatched"], json!([]));
    let id = report["incidents"][0].clone();
    let detail = incident(&t, &id).await;
    assert_eq!(detail["title"], "PaymentsLatencyHigh on payments-service");
    assert_eq!(alerts_on(&detail), [("PaymentsLatencyHigh".to_owned(), "firing".to_owned())]);
    // The deploy on the alerting service is the first candidate; the
    // unrelated reindex is not one, and the alert itself never is.
    let candidates: Vec<&str> =
        detail["analysis"]["candidates"].as_array().unwrap().iter().map(|c| c["event_id"].as_str().unwrap()).collect();
    assert_eq!(candidates.first(), Some(&"deploy-1"), "{candidates:?}");
    assert!(!candidates.iter().any(|c| c.starts_with("alert:") || *c == "other-1"), "{candidates:?}");
    let chain = detail["analysis"]["contributing"].to_string();
    assert!(!chain.contains("alert:"), "an alert is never the direct cause either: {chain}");
    let affected: Vec<&str> = ["definitely", "likely"]
        .iter()
        .flat_map(|k| detail["blast_radius"][k].as_array().unwrap())
        .map(|s| s["service"].as_str().unwrap())
        .collect();
    assert!(affected.contains(&"user-service"), "payments-service's dependents are in the blast radius: {affected:?}");

    // Alertmanager repeats the alert each repeat_interval, with what its
    // template says now, and each HA peer sends it too: one alert.
    let again = notified("firing", latency_labels(), "payments p99 over 950 ms", starts, None);
    for _ in 0..2 {
        let report = t
            .post(MONITOR, "/api/v1/alerts/alertmanager", &notification("firing", vec![again.clone()]))
            .await
            .succeeded();
        assert_eq!((report["accepted"].as_u64(), report["repeats"].as_u64()), (Some(0), Some(1)), "{report}");
    }
    let detail = incident(&t, &id).await;
    assert_eq!(detail["event_count"], 1, "repeats are not stored");
    assert_eq!(detail["status"], "open");

    // Resolved: recovery evidence, and the incident is resolved by it.
    let resolved = notified("resolved", latency_labels(), "payments p99 over 950 ms", starts, Some(Utc::now()));
    let report = t
        .post(MONITOR, "/api/v1/alerts/alertmanager", &notification("resolved", vec![resolved.clone()]))
        .await
        .succeeded();
    assert_eq!((report["accepted"].as_u64(), report["incidents"].clone()), (Some(1), json!([id])), "{report}");
    let detail = incident(&t, &id).await;
    assert_eq!(detail["status"], "resolved");
    assert_eq!(
        alerts_on(&detail),
        [
            ("PaymentsLatencyHigh".to_owned(), "firing".to_owned()),
            ("PaymentsLatencyHigh".to_owned(), "resolved".to_owned())
        ]
    );
    let report =
        t.post(MONITOR, "/api/v1/alerts/alertmanager", &notification("resolved", vec![resolved])).await.succeeded();
    assert_eq!(report["repeats"], 1, "a resolution repeated is one too");
}

async fn an_alert_joins_the_open_incident_on_its_service(db: Db) {
    let t = server(db).await;
    let mut failure = common::event_body("fail-1", -2.0, "deployer", "deploy", "payments-service", "error");
    failure["error_code"] = "DEPLOY_FAILED".into();
    let opened = t.post(AGENT, "/api/v1/events", &failure).await.succeeded();
    let id = opened["incidents"][0].clone();
    let alert = json!({"source": "grafana", "alerts": [{
        "name": "CheckoutErrors", "status": "firing", "labels": {"job": "payments-service"},
        "annotations": {"description": "5xx over 2 %"}, "starts_at": stamp(Utc::now() - Duration::minutes(1)),
    }]});
    let report = t.post(MONITOR, "/api/v1/alerts", &alert).await.succeeded();
    assert_eq!(report["incidents"], json!([id]), "evidence on the open incident, not a second one");
    let detail = incident(&t, &id).await;
    assert_eq!(alerts_on(&detail), [("CheckoutErrors".to_owned(), "firing".to_owned())]);
    let event = detail["timeline"].as_array().unwrap().iter().find(|e| e["event"]["action_type"] == "alert").unwrap();
    assert_eq!(event["event"]["origin_system_id"], "grafana");
    assert_eq!(event["event"]["error_message"], "5xx over 2 %");
    assert_eq!(event["event"]["metadata"]["alert"]["matched_by"], "job");
    let page: Value = t.get(VIEWER, "/api/v1/incidents").await.succeeded();
    assert_eq!(page["incidents"].as_array().unwrap().len(), 1);
}

async fn alerts_for_unknown_services_are_kept_unmatched(db: Db) {
    let t = server(db).await;
    let starts = stamp(Utc::now() - Duration::minutes(1));
    let batch = json!({"source": "datadog", "alerts": [
        {"name": "LedgerLag", "status": "firing", "labels": {"service": "ledger"}, "starts_at": starts},
        {"name": "SomethingOdd", "status": "firing", "labels": {"severity": "warning"}, "starts_at": starts},
    ]});
    let report = t.post(MONITOR, "/api/v1/alerts", &batch).await.succeeded();
    assert_eq!(report["accepted"], 2);
    assert_eq!(report["unmatched"], json!([0, 1]));
    let page: Value = t.get(VIEWER, "/api/v1/incidents").await.succeeded();
    let mut titles: Vec<&str> =
        page["incidents"].as_array().unwrap().iter().map(|i| i["title"].as_str().unwrap()).collect();
    titles.sort();
    assert_eq!(titles, ["LedgerLag on ledger", "SomethingOdd"], "kept, never dropped");
    let odd = page["incidents"].as_array().unwrap().iter().find(|i| i["title"] == "SomethingOdd").unwrap();
    let detail = incident(&t, &odd["id"]).await;
    let event = &detail["timeline"][0]["event"];
    assert_eq!(event["flags"], json!(["resource_unknown"]));
    assert_eq!(event["metadata"]["alert"]["matched_by"], Value::Null);
}

async fn bad_alerts_are_refused_with_what_was_wrong_and_record_nothing(db: Db) {
    let t = server(db).await;
    let starts = Utc::now() - Duration::minutes(1);
    let good = notification("firing", vec![notified("firing", latency_labels(), "slow", starts, None)]);
    let refused = |answer: common::Answer, status: u16, code: &str, says: &str| {
        assert_eq!(answer.status, status, "{}", answer.body);
        assert_eq!(answer.body["code"], code, "{}", answer.body);
        let message = answer.body["message"].as_str().unwrap();
        assert!(message.contains(says), "{message:?} should say {says:?}");
    };
    let am = "/api/v1/alerts/alertmanager";
    refused(
        t.post(MONITOR, am, &common::with(good.clone(), json!({"version": "3"}))).await,
        400,
        "ALERTMANAGER_PAYLOAD_INVALID",
        "version \"3\"",
    );
    let mut bad_time = good.clone();
    bad_time["alerts"][0]["startsAt"] = "yesterday".into();
    refused(t.post(MONITOR, am, &bad_time).await, 400, "ALERTMANAGER_PAYLOAD_INVALID", "alerts[0].startsAt");
    let mut bad_status = good.clone();
    bad_status["alerts"][0]["status"] = "burning".into();
    refused(t.post(MONITOR, am, &bad_status).await, 400, "ALERTMANAGER_PAYLOAD_INVALID", "alerts[0].status");
    refused(t.post(MONITOR, am, &json!({"version": "4"})).await, 400, "ALERTMANAGER_PAYLOAD_INVALID", "missing field");
    let garbled = t
        .http
        .post(t.url(am))
        .bearer_auth(MONITOR)
        .header("content-type", "application/json")
        .body("{\"version\": \"4\", ");
    refused(t.send(garbled).await, 400, "MALFORMED_JSON", "line 1");
    let mut flood = good.clone();
    flood["alerts"] = Value::Array(vec![good["alerts"][0].clone(); 1001]);
    refused(t.post(MONITOR, am, &flood).await, 400, "BATCH_TOO_LARGE", "1000");

    let generic = |source: &str, alert: Value| json!({"source": source, "alerts": [alert]});
    let alert = json!({"name": "X", "status": "firing", "starts_at": stamp(starts)});
    refused(
        t.post(MONITOR, "/api/v1/alerts", &generic("graf\u{1b}[2Jana", alert.clone())).await,
        400,
        "ALERTS_INVALID",
        "source",
    );
    refused(
        t.post(MONITOR, "/api/v1/alerts", &generic("grafana", common::with(alert.clone(), json!({"name": " "})))).await,
        400,
        "ALERTS_INVALID",
        "alerts[0].name",
    );
    refused(
        t.post(MONITOR, "/api/v1/alerts", &generic("grafana", common::with(alert.clone(), json!({"starts_at": null}))))
            .await,
        400,
        "ALERTS_INVALID",
        "starts_at",
    );
    refused(
        t.post(MONITOR, "/api/v1/alerts", &generic("grafana", common::with(alert.clone(), json!({"severity": "p1"}))))
            .await,
        400,
        "ALERTS_INVALID",
        "severity",
    );

    // Only alert sources post alerts, and they read nothing.
    refused(t.post(AGENT, am, &good).await, 403, "FORBIDDEN", "post alerts");
    refused(t.post(VIEWER, am, &good).await, 403, "FORBIDDEN", "post alerts");
    refused(t.get(MONITOR, "/api/v1/incidents").await, 403, "FORBIDDEN", "read operational data");
    // No agent passes its action off as a monitor's alert.
    let disguised = common::with(common::event_body("e-1", -1.0, "sly", "Alert", "payments-service", "ok"), json!({}));
    refused(t.post(AGENT, "/api/v1/events", &disguised).await, 400, "ACTION_TYPE_RESERVED", "reserved");

    let page: Value = t.get(VIEWER, "/api/v1/incidents").await.succeeded();
    assert_eq!(page["incidents"], json!([]), "nothing was recorded");
    let audit: Value = t.get(ADMIN, "/api/v1/audit").await.succeeded();
    assert!(!audit.to_string().contains("PaymentsLatencyHigh"));
}

crate::on_both_databases!(
    an_alertmanager_alert_opens_an_incident_with_its_causes,
    an_alert_joins_the_open_incident_on_its_service,
    alerts_for_unknown_services_are_kept_unmatched,
    bad_alerts_are_refused_with_what_was_wrong_and_record_nothing,
);

/// Polls `check` every 200 ms for up to `seconds`.
async fn eventually<T>(seconds: u64, mut check: impl AsyncFnMut() -> Option<T>) -> Option<T> {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(seconds);
    while std::time::Instant::now() < deadline {
        if let Some(found) = check().await {
            return Some(found);
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    None
}

/// A real Alertmanager, configured as the README says, told of an alert
/// through its own API: Mandate opens the incident, counts its repeats as
/// one alert, and resolves it when Alertmanager says it resolved.
#[tokio::test]
async fn a_real_alertmanager_reaches_mandate() {
    let t = server(Db::Sqlite).await;
    let webhook = t.url("/api/v1/alerts/alertmanager");
    let Some(am) = common::monitors::alertmanager(&webhook, MONITOR, "a_real_alertmanager_reaches_mandate").await
    else {
        return;
    };
    let deploy = common::event_body("deploy-1", -3.0, "deployer", "deploy", "payments-service", "ok");
    t.post(AGENT, "/api/v1/events", &deploy).await.succeeded();
    let starts = Utc::now() - Duration::seconds(30);
    let alert = |ends: Option<DateTime<Utc>>| {
        let mut a = json!([{"labels": latency_labels(), "annotations": {"summary": "payments p99 over 800 ms"},
                            "startsAt": stamp(starts), "generatorURL": "http://prometheus/graph"}]);
        if let Some(ends) = ends {
            a[0]["endsAt"] = stamp(ends).into();
        }
        a
    };
    let http = mandate::sdk::http_client_builder().build().unwrap();
    let posted = http.post(format!("{}/api/v2/alerts", am.url)).json(&alert(None)).send().await.unwrap();
    assert!(posted.status().is_success(), "Alertmanager took the alert: {}", posted.status());

    let opened = eventually(20, async || {
        let page: Value = t.get(VIEWER, "/api/v1/incidents").await.succeeded();
        page["incidents"].as_array().unwrap().first().cloned()
    })
    .await;
    let Some(opened) = opened else { panic!("no incident from Alertmanager; its log:\n{}", am.log_text()) };
    assert_eq!(opened["title"], "PaymentsLatencyHigh on payments-service");
    let id = opened["id"].clone();
    let detail = incident(&t, &id).await;
    assert_eq!(detail["analysis"]["candidates"][0]["event_id"], "deploy-1");
    let timeline = detail["timeline"].as_array().unwrap();
    let from = &timeline.iter().find(|e| e["event"]["action_type"] == "alert").unwrap()["event"]["metadata"]["alert"];
    assert_eq!(
        (from["source"].as_str(), from["url"].as_str()),
        (Some("alertmanager"), Some("http://prometheus/graph"))
    );

    // It repeats every 2 s here: still one alert.
    let repeated = eventually(20, async || (am.log_text().matches("Notify success").count() >= 3).then_some(())).await;
    assert!(repeated.is_some(), "Alertmanager repeated the notification; its log:\n{}", am.log_text());
    assert_eq!(incident(&t, &id).await["event_count"], 1);

    let posted = http.post(format!("{}/api/v2/alerts", am.url)).json(&alert(Some(Utc::now()))).send().await.unwrap();
    assert!(posted.status().is_success());
    let resolved = eventually(20, async || {
        let detail = incident(&t, &id).await;
        (detail["status"] == "resolved").then_some(detail)
    })
    .await;
    let Some(resolved) = resolved else { panic!("not resolved; Alertmanager's log:\n{}", am.log_text()) };
    assert_eq!(alerts_on(&resolved).last().map(|a| a.1.as_str()), Some("resolved"));
}
