//! The demo company's Prometheus, as much of it as Mandate asks: its
//! instant-query API answering the demo's slow-burn rule and the impact
//! panel's queries for `payments-service`. Checkout latency
//! on `payments-service` holds at its baseline for a while after the demo
//! starts, then creeps up past the rule's 20 % and stays there, so the
//! incident list shows a degradation and its owner is told. It is simulated,
//! as the fleet is; the suite tests the rule against a real Prometheus.

use axum::extract::{Query, State};
use axum::routing::get;
use serde_json::json;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// Checkout latency's baseline, in seconds.
const BASELINE: f64 = 0.64;
/// Steady this long (at speed 1), then it creeps up over `RAMP`.
const STEADY: Duration = Duration::from_secs(60);
const RAMP: Duration = Duration::from_secs(120);
/// How far above the baseline it ends.
const DRIFT: f64 = 0.32;

#[derive(Clone)]
struct Clock {
    started: Instant,
    speed: f64,
}

impl Clock {
    /// The recent mean now: the baseline, then a rise to `DRIFT` above it.
    fn recent(&self) -> f64 {
        let elapsed = self.started.elapsed().mul_f64(self.speed.max(0.1));
        let ramp = elapsed.saturating_sub(STEADY).as_secs_f64() / RAMP.as_secs_f64();
        BASELINE * (1.0 + DRIFT * ramp.min(1.0))
    }
}

async fn query(
    State(clock): State<Clock>,
    Query(params): Query<HashMap<String, String>>,
) -> axum::Json<serde_json::Value> {
    let q = params.get("query").map(String::as_str).unwrap_or_default();
    // The impact panel's error rate and request rate hold steady; the
    // rule's baseline is asked with `offset`, its window without.
    let value = if q.contains("checkout_errors") {
        0.031
    } else if q.contains("checkout_requests") {
        240.0
    } else if q.contains(" offset ") {
        BASELINE
    } else {
        clock.recent()
    };
    let now = chrono::Utc::now().timestamp_millis() as f64 / 1000.0;
    axum::Json(json!({
        "status": "success",
        "data": {"resultType": "vector", "result": [{"metric": {"service": "payments"}, "value": [now, format!("{value:.4}")]}]},
    }))
}

/// Serves on a free loopback port; its base URL.
pub async fn start(speed: f64) -> std::io::Result<String> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    let app =
        axum::Router::new().route("/api/v1/query", get(query)).with_state(Clock { started: Instant::now(), speed });
    tokio::spawn(async move { axum::serve(listener, app).await });
    Ok(url)
}

/// The demo's `[metrics]`: the rule above, asked every few seconds.
pub fn source(url: String) -> crate::metrics_in::MetricsSource {
    crate::metrics_in::MetricsSource {
        prometheus: url,
        token: None,
        timeout: Some("2s".into()),
        slow_burn: vec![crate::metrics_in::SlowBurnRule {
            name: "checkout p99 creeping up".into(),
            service: "payments-service".into(),
            query: "histogram_quantile(0.99, sum by (le) (rate(checkout_duration_seconds_bucket{service=\"payments\"}[5m])))"
                .into(),
            baseline: "30d".into(),
            window: "7d".into(),
            threshold: 20.0,
            every: Some("5s".into()),
            step: Some("1h".into()),
        }],
        impact: vec![crate::metrics_in::ImpactQueries {
            service: "payments-service".into(),
            error_rate: Some("sum(rate(checkout_errors_total[5m])) / sum(rate(checkout_requests_total[5m]))".into()),
            latency: Some(
                "histogram_quantile(0.99, sum by (le) (rate(checkout_duration_seconds_bucket[5m])))".into(),
            ),
            requests: Some("sum(rate(checkout_requests_total[5m]))".into()),
        }],
    }
}
