//! Slow-burn degradation against a real Prometheus (the Debian package
//! `prometheus`) scraping a small exporter this test runs, with windows
//! scaled to seconds: the metric drifts up, a degradation opens (not an
//! incident), the owner is told with the trend and the changes in the
//! window, and it clears when the metric comes back. A Prometheus that is
//! down or hangs makes the rule "metrics unavailable", never healthy.

use crate::common::{self, AGENT, Db, TestServer, VIEWER};
use mandate::desk::{Desk, DeskConfig};
use mandate::paging::inbox::Inbox;
use mandate::routing::{Routing, RoutingDocument};
use serde_json::Value;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// An exporter of checkout's latency (set by the test), error ratio (5 %)
/// and request rate (200/s).
struct Exporter {
    addr: String,
    value: Arc<AtomicU64>,
}

impl Exporter {
    async fn start(initial: f64) -> Exporter {
        let value = Arc::new(AtomicU64::new(initial.to_bits()));
        let served = value.clone();
        let app = axum::Router::new().route(
            "/metrics",
            axum::routing::get(async move || {
                let v = f64::from_bits(served.load(Ordering::Relaxed));
                format!(
                    "# TYPE checkout_latency_seconds gauge\ncheckout_latency_seconds{{service=\"payments\"}} {v}\n\
                     # TYPE checkout_error_ratio gauge\ncheckout_error_ratio{{service=\"payments\"}} 0.05\n\
                     # TYPE checkout_requests_per_second gauge\ncheckout_requests_per_second{{service=\"payments\"}} 200\n"
                )
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Exporter { addr, value }
    }

    fn set(&self, v: f64) {
        self.value.store(v.to_bits(), Ordering::Relaxed);
    }
}

/// A server watching `prometheus` with one rule: checkout latency on
/// payments-service, 4 s against the 8 s before, 20 % up.
async fn watching(prometheus: &str, timeout: &str, inbox: &Inbox) -> (TestServer, common::StoreGuard) {
    let routing = format!(
        "[[level]]\nname = \"primary\"\ntargets = [\"resource.owner\"]\nchannels = [\"slack\"]\n\
         [metrics]\nprometheus = \"{prometheus}\"\ntimeout = \"{timeout}\"\n\
         [[metrics.slow_burn]]\nname = \"checkout latency creeping up\"\nservice = \"payments-service\"\n\
         query = 'max(checkout_latency_seconds{{service=\"payments\"}})'\nbaseline = \"8s\"\nwindow = \"4s\"\n\
         threshold = 20\nevery = \"1s\"\nstep = \"1s\"\n\
         [[metrics.impact]]\nservice = \"payments-service\"\nerror_rate = 'max(checkout_error_ratio)'\n\
         latency = 'max(checkout_latency_seconds)'\nrequests = 'max(checkout_requests_per_second)'\n"
    );
    let mut document: RoutingDocument = toml::from_str(&routing).unwrap();
    document.receivers = inbox.receivers();
    document.storm.flash_hold = "0s".into();
    let routing = Routing::new(document, "test routing").unwrap();
    let guard = common::store(Db::Sqlite).await;
    let desk = Desk::open(guard.store.clone(), None, DeskConfig { routing: Some(routing), ..DeskConfig::default() })
        .await
        .unwrap();
    let server = mandate::server::start_desk(desk, common::tokens(), "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let t = TestServer::wrap(server);
    t.send(t.http.put(t.url("/api/v1/catalog")).bearer_auth(common::ADMIN).json(&common::seed_catalog()))
        .await
        .succeeded();
    (t, guard)
}

/// Waits up to `seconds` for the rule's check to satisfy `ok`; the list.
async fn until(t: &TestServer, seconds: u64, what: &str, ok: impl Fn(&Value) -> bool) -> Value {
    let deadline = Instant::now() + Duration::from_secs(seconds);
    loop {
        let list: Value = t.get(VIEWER, "/api/v1/degradations").await.succeeded();
        if ok(&list) {
            return list;
        }
        assert!(Instant::now() < deadline, "{what}: {list:#}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn state(list: &Value) -> &str {
    list["checks"][0]["state"].as_str().unwrap_or("none")
}

#[tokio::test]
async fn a_slow_burn_opens_a_degradation_tells_the_owner_and_clears() {
    let exporter = Exporter::start(0.50).await;
    let Some(prometheus) =
        common::monitors::prometheus(&[(exporter.addr.as_str(), None)], "a_slow_burn_opens_a_degradation").await
    else {
        return;
    };
    let inbox = Inbox::start().await.unwrap();
    let (t, _guard) = watching(&prometheus.url, "5s", &inbox).await;

    // Until Prometheus holds a baseline's worth, the rule does not know:
    // unavailable, never healthy. Then healthy, at a steady 0.5 s.
    let list = until(&t, 40, "healthy once a baseline is held", |l| state(l) == "healthy").await;
    assert!(list["degradations"].as_array().unwrap().is_empty());

    // A deploy within the window, then the drift: 0.5 s → 0.8 s.
    let deploy = common::event_body("deploy-9", 0.0, "deployer-7", "deploy", "payments-service", "ok");
    t.post(AGENT, "/api/v1/events", &deploy).await.succeeded();
    exporter.set(0.80);
    let list = until(&t, 20, "degraded", |l| !l["degradations"].as_array().unwrap().is_empty()).await;
    let d = &list["degradations"][0];
    assert_eq!((d["status"].as_str(), d["service"].as_str()), (Some("open"), Some("payments-service")));
    assert!(d["change_pct"].as_f64().unwrap() >= 20.0, "{d}");
    assert_eq!(d["told"], "@alice");
    assert!(d["trend_url"].as_str().unwrap().starts_with(&format!("{}/graph?g0.expr=", prometheus.url)));
    let changes: Vec<&str> = d["changes"].as_array().unwrap().iter().map(|c| c["event_id"].as_str().unwrap()).collect();
    assert_eq!(changes, ["deploy-9"], "the change in the window is listed");

    // Not an incident: the list shows it as its own kind; nobody is paged,
    // the owner is told.
    let page: Value = t.get(VIEWER, "/api/v1/incidents").await.succeeded();
    assert_eq!(page["incidents"], serde_json::json!([]));
    assert_eq!(page["watch"]["degradations"][0]["rule"], "checkout latency creeping up");
    let told = inbox.accepted("slack", 1, Duration::from_secs(15)).await;
    let text = told.first().map(|r| r.body.clone()).unwrap_or_default();
    assert!(text.contains("DEGRADATION payments-service: checkout latency creeping up +"), "{text}");
    assert!(text.contains("deploy by deployer-7"), "{text}");
    let audit: Value = t.get(common::ADMIN, "/api/v1/audit").await.succeeded();
    assert!(audit["entries"].as_array().unwrap().iter().any(|e| e["action"] == "degradation_opened"));

    // Back to 0.5 s: the degradation clears by itself.
    exporter.set(0.50);
    let list = until(&t, 20, "cleared", |l| {
        l["degradations"].as_array().unwrap().iter().any(|d| d["status"] == "cleared") && state(l) == "healthy"
    })
    .await;
    assert!(list["degradations"][0]["cleared_at"].is_string());
    let page: Value = t.get(VIEWER, "/api/v1/incidents").await.succeeded();
    assert!(page.get("watch").is_none(), "nothing to show once healthy: {page}");

    // An incident on payments-service, a minute old: its impact measured.
    let mut failure = common::event_body("fail-1", -1.0, "payments-runtime", "tool_call", "payments-service", "error");
    failure["error_code"] = "E_TIMEOUT".into();
    let id = t.post(AGENT, "/api/v1/events", &failure).await.succeeded()["incidents"][0].clone();
    let impact: Value = t.get(VIEWER, &format!("/api/v1/incidents/{id}/impact")).await.succeeded();
    let payments = &impact["services"][0];
    assert_eq!(payments["service"], "payments-service", "{impact:#}");
    assert_eq!((payments["error_rate"].as_f64(), payments["requests_per_second"].as_f64()), (Some(0.05), Some(200.0)));
    assert_eq!(payments["latency_seconds"].as_f64(), Some(0.5));
    let failed = impact["estimated_failed"].as_f64().unwrap();
    assert!((400.0..=800.0).contains(&failed), "5 % of 200/s for about a minute: {failed}");
    let unmeasured: Vec<&str> = impact["unmeasured"].as_array().unwrap().iter().map(|s| s.as_str().unwrap()).collect();
    assert!(unmeasured.contains(&"user-service"), "affected, with no queries: said so: {unmeasured:?}");
}

#[tokio::test]
async fn a_prometheus_down_or_hanging_is_metrics_unavailable_never_healthy() {
    let inbox = Inbox::start().await.unwrap();
    let closed = format!("http://127.0.0.1:{}", common::monitors::free_port());
    let (t, _guard) = watching(&closed, "1s", &inbox).await;
    let list = until(&t, 10, "unavailable", |l| state(l) == "unavailable").await;
    assert!(list["checks"][0]["error"].as_str().unwrap().contains("cannot be reached"), "{list}");
    let page: Value = t.get(VIEWER, "/api/v1/incidents").await.succeeded();
    assert_eq!(page["watch"]["checks"][0]["state"], "unavailable", "the list says so: {page}");
    let mut failure = common::event_body("fail-1", -1.0, "payments-runtime", "tool_call", "payments-service", "error");
    failure["error_code"] = "E_TIMEOUT".into();
    let id = t.post(AGENT, "/api/v1/events", &failure).await.succeeded()["incidents"][0].clone();
    let impact: Value = t.get(VIEWER, &format!("/api/v1/incidents/{id}/impact")).await.succeeded();
    let payments = &impact["services"][0];
    assert_eq!((payments["error_rate"].clone(), impact["estimated_failed"].clone()), (Value::Null, Value::Null));
    assert!(payments["unavailable"].as_str().unwrap().contains("cannot be reached"), "{impact}");
    // The rule leaves the routing file: its last word goes with it.
    let mut routing: Value = t.get(common::ADMIN, "/api/v1/routing").await.succeeded();
    routing.as_object_mut().unwrap().remove("metrics");
    t.send(t.http.put(t.url("/api/v1/routing")).bearer_auth(common::ADMIN).json(&routing)).await.succeeded();
    until(&t, 10, "forgotten", |l| l["checks"].as_array().unwrap().is_empty()).await;
    let page: Value = t.get(VIEWER, "/api/v1/incidents").await.succeeded();
    assert!(page.get("watch").is_none(), "{page}");

    // Accepts and never answers.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let hanging = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    let (t, _guard) = watching(&hanging, "1s", &inbox).await;
    let list = until(&t, 10, "unavailable", |l| state(l) == "unavailable").await;
    assert!(list["checks"][0]["error"].as_str().unwrap().contains("no answer within 1s"), "{list}");
    assert!(list["degradations"].as_array().unwrap().is_empty());
}

/// A routing file's `[metrics]` with a fault is refused, naming it.
#[test]
fn a_metrics_table_with_a_fault_is_refused_by_name() {
    let with = |rule: &str| {
        format!(
            "[[level]]\nname = \"primary\"\ntargets = [\"resource.owner\"]\n[metrics]\nprometheus = \"http://p:9090\"\n[[metrics.slow_burn]]\nname = \"r\"\nservice = \"s\"\nquery = \"q\"\n{rule}"
        )
    };
    for (rule, path, says) in [
        (
            "baseline = \"7d\"\nwindow = \"7d\"\nthreshold = 20\n",
            "metrics.slow_burn[0].baseline",
            "longer than the window",
        ),
        ("baseline = \"30d\"\nwindow = \"7d\"\nthreshold = 0\n", "metrics.slow_burn[0].threshold", "other than 0"),
        ("baseline = \"30d\"\nwindow = \"a week\"\nthreshold = 20\n", "metrics.slow_burn[0].window", "not a duration"),
    ] {
        let e = Routing::from_toml(&with(rule), "r.toml").unwrap_err();
        assert_eq!(e.path, path);
        assert!(e.message.contains(says), "{}", e.message);
    }
    let level = "[[level]]\nname = \"primary\"\ntargets = [\"resource.owner\"]\n";
    let e = Routing::from_toml(&format!("{level}[metrics]\nprometheus = \"prometheus:9090\"\n"), "r.toml").unwrap_err();
    assert_eq!(e.path, "metrics.prometheus");
}

/// Without `[metrics]`, an incident's impact says so.
#[tokio::test]
async fn impact_without_a_prometheus_is_said_not_configured() {
    let t = common::start(Db::Sqlite).await;
    let mut failure = common::event_body("fail-1", -1.0, "payments-runtime", "tool_call", "payments-service", "error");
    failure["error_code"] = "E_TIMEOUT".into();
    let id = t.post(AGENT, "/api/v1/events", &failure).await.succeeded()["incidents"][0].clone();
    let answer = t.get(VIEWER, &format!("/api/v1/incidents/{id}/impact")).await;
    assert_eq!((answer.status, answer.body["code"].as_str()), (404, Some("METRICS_NOT_CONFIGURED")));
    assert_eq!(t.get(VIEWER, "/api/v1/incidents/999/impact").await.status, 404);
}
