//! `GET /metrics`, Mandate's own metrics: off unless asked for; on the API's
//! address for tokens that may read them; what they say follows what the
//! server did (events stored, refusals by code, incidents open, stops,
//! approvals). Then a real Prometheus scrapes two real `mandate serve`
//! processes, one exposing metrics on an address of their own and one on
//! its API address with a monitor token, and is queried for what it read.

use crate::common::{self, ADMIN, AGENT, Db, MONITOR, RESPONDER, VIEWER, as_alice};
use serde_json::{Value, json};
use std::collections::BTreeMap;

/// The samples of an exposition: `name{labels}` → value.
fn samples(text: &str) -> BTreeMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| l.rsplit_once(' ').map(|(k, v)| (k.to_owned(), v.parse().unwrap_or(f64::NAN))))
        .collect()
}

async fn scrape(t: &common::TestServer, token: &str) -> BTreeMap<String, f64> {
    let answer = t.http.get(t.url("/metrics")).bearer_auth(token).send().await.unwrap();
    assert_eq!(answer.status(), 200);
    let kind = answer.headers()["content-type"].to_str().unwrap().to_owned();
    assert!(kind.starts_with("application/openmetrics-text"), "{kind}");
    let text = answer.text().await.unwrap();
    assert!(text.ends_with("# EOF\n"), "an OpenMetrics exposition ends with # EOF");
    samples(&text)
}

fn value(s: &BTreeMap<String, f64>, key: &str) -> f64 {
    s.get(key).copied().unwrap_or(0.0)
}

async fn metrics_follow_what_the_server_did(db: Db) {
    let t = common::start(db).await;
    t.send(t.http.put(t.url("/api/v1/catalog")).bearer_auth(ADMIN).json(&common::seed_catalog())).await.succeeded();

    // Off unless asked for: nothing is said, whoever asks.
    let off = t.get(ADMIN, "/metrics").await;
    assert_eq!((off.status, off.body["code"].as_str()), (404, Some("METRICS_OFF")), "{}", off.body);
    t.server.state.expose_metrics_on_api(true);
    assert_eq!(t.send(t.http.get(t.url("/metrics"))).await.status, 401, "a token is asked for");
    let agent = t.get(AGENT, "/metrics").await;
    assert_eq!(agent.status, 403, "an agent's token reads no metrics: {}", agent.body);

    let before = scrape(&t, MONITOR).await;
    let stored = r#"mandate_events_total{result="stored"}"#;
    let conflicts = r#"mandate_refusals_total{code="EVENT_ID_CONFLICT"}"#;
    let mut failing = common::event_body("m-1", -1.0, "deployer", "deploy", "payments-service", "error");
    failing["error_code"] = "DEPLOY_FAILED".into();
    t.post(
        AGENT,
        "/api/v1/events",
        &json!([failing, common::event_body("m-2", -1.0, "deployer", "deploy", "user-db", "ok")]),
    )
    .await
    .succeeded();
    let clash = common::event_body("m-2", -1.0, "deployer", "deploy", "user-db", "error");
    assert_eq!(t.post(AGENT, "/api/v1/events", &clash).await.status, 409);
    let stop = as_alice(json!({"scope": "agents", "target": "deployer-*", "reason": "bad deploys"}));
    t.post(RESPONDER, "/api/v1/stops", &stop).await.succeeded();

    let after = scrape(&t, VIEWER).await;
    assert_eq!(value(&after, stored) - value(&before, stored), 2.0);
    assert_eq!(value(&after, conflicts) - value(&before, conflicts), 1.0);
    let open: f64 = ["critical", "high", "medium", "low"]
        .iter()
        .map(|s| value(&after, &format!("mandate_incidents_open{{severity=\"{s}\"}}")))
        .sum();
    assert_eq!(open, 1.0, "{after:?}");
    assert_eq!(value(&after, "mandate_stops_in_force"), 1.0);
    assert_eq!(value(&after, "mandate_approvals_waiting"), 0.0);
    assert!(after.contains_key("mandate_database_round_trip_seconds"));
    assert!(after.contains_key("mandate_outbox_lag_seconds"));
    assert!(after.contains_key("mandate_ingest_transaction_seconds_count"));
    assert!(after.keys().any(|k| k.starts_with("mandate_build_info{version=")));

    // Anchored: its age is said, and is recent.
    t.server.state.desk().anchor_now().await.unwrap();
    let anchored = scrape(&t, MONITOR).await;
    let age = value(&anchored, "mandate_chain_anchor_age_seconds");
    assert!((0.0..60.0).contains(&age), "{age}");
}

crate::on_both_databases!(metrics_follow_what_the_server_did);

/// `mandate serve --metrics` refuses what is neither off, token nor an address.
#[tokio::test]
async fn a_metrics_setting_that_is_none_of_the_three_is_refused() {
    let out = common::mandate_cli(&["serve", "--metrics", "on"]).await;
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("\"on\" is not off, token, or an address to listen on"), "{stderr}");
}

/// Prometheus's answer to an instant query.
async fn query(prometheus: &str, q: &str) -> Vec<Value> {
    let q: String = form_urlencoded::byte_serialize(q.as_bytes()).collect();
    let url = format!("{prometheus}/api/v1/query?query={q}");
    let answer: Value =
        mandate::sdk::http_client_builder().build().unwrap().get(url).send().await.unwrap().json().await.unwrap();
    assert_eq!(answer["status"], "success", "{answer}");
    answer["data"]["result"].as_array().cloned().unwrap_or_default()
}

/// A real Prometheus scrapes two real servers: one on a metrics address of
/// its own, one on its API address with a monitor token, as the README's
/// configuration says. It reads every sample, and what it reads is what the
/// servers did.
#[tokio::test]
async fn a_real_prometheus_scrapes_mandate() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens.toml").display().to_string();
    let agent = common::create_token(&tokens, "fleet", "agent");
    let monitor = common::create_token(&tokens, "prometheus", "monitor");
    let own = format!("127.0.0.1:{}", common::monitors::free_port());
    let db = |name: &str| format!("sqlite://{}", dir.path().join(name).display());
    // Pages go to a webhook nobody listens on: retried, and counted so.
    let routing = dir.path().join("routing.toml");
    let closed = common::monitors::free_port();
    let secret = dir.path().join("webhook-secret");
    std::fs::write(&secret, "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").unwrap();
    std::fs::write(
        &routing,
        format!(
            "fallback = \"@ops\"\n[[level]]\nname = \"primary\"\ntargets = [\"resource.owner\"]\n\
             [[rule]]\nname = \"all\"\nchannels = [\"webhook\"]\n\
             [channel.webhook]\nurl = \"http://127.0.0.1:{closed}/hook\"\nsecret = {{ file = \"{}\" }}\n[storm]\nflash_hold = \"0s\"\n",
            secret.display()
        ),
    )
    .unwrap();
    let routing = routing.display().to_string();
    let separate =
        common::serve_binary_with(&db("a.db"), &tokens, "127.0.0.1:0", &["--metrics", &own, "--routing", &routing]);
    let on_api = common::serve_binary_with(&db("b.db"), &tokens, "127.0.0.1:0", &["--metrics", "token"]);
    let targets = [(own.as_str(), None), (on_api.addr.as_str(), Some(monitor.as_str()))];
    let Some(prometheus) = common::monitors::prometheus(&targets, "a_real_prometheus_scrapes_mandate").await else {
        return;
    };
    let http = mandate::sdk::http_client_builder().build().unwrap();
    let mut events: Vec<Value> =
        (0..6).map(|i| common::event_body(&format!("p-{i}"), -1.0, "deployer", "deploy", "svc", "ok")).collect();
    events.push(common::event_body("p-6", -0.5, "deployer", "deploy", "svc", "error"));
    let refused = http.post(format!("http://{}/api/v1/events", separate.addr)).bearer_auth(&agent).json(&json!({}));
    assert_eq!(refused.send().await.unwrap().status(), 400);
    let posted = http.post(format!("http://{}/api/v1/events", separate.addr)).bearer_auth(&agent).json(&events);
    assert!(posted.send().await.unwrap().status().is_success());

    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let up = query(&prometheus.url, "up == 1").await;
        let stored = query(&prometheus.url, r#"mandate_events_total{result="stored"}"#).await;
        let seven = stored.iter().any(|r| r["metric"]["job"] == "target0" && r["value"][1] == "7");
        let retried = query(&prometheus.url, r#"mandate_pages_total{channel="webhook",outcome="retried"} > 0"#).await;
        if up.len() == 2 && seven && stored.len() == 2 && !retried.is_empty() {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "Prometheus did not read both servers: up {up:?}, stored {stored:?}, retried {retried:?}; its targets: {}; its log:\n{}",
            http.get(format!("{}/api/v1/targets", prometheus.url)).send().await.unwrap().text().await.unwrap(),
            prometheus.log_text()
        );
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    }
    // Every family it read, with its type, as Prometheus understood it.
    let metadata: Value =
        http.get(format!("{}/api/v1/metadata", prometheus.url)).send().await.unwrap().json().await.unwrap();
    for (name, kind) in [
        ("mandate_events", "counter"),
        ("mandate_refusals", "counter"),
        ("mandate_pages", "counter"),
        ("mandate_incidents_open", "gauge"),
        ("mandate_outbox_lag_seconds", "gauge"),
        ("mandate_sdk_subscribers", "gauge"),
        ("mandate_ingest_transaction_seconds", "histogram"),
    ] {
        assert_eq!(metadata["data"][name][0]["type"], kind, "{name}: {}", metadata["data"]);
    }
}
