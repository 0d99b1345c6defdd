//! What an agent's next action gets, asked of a real `mandate serve` (the
//! release build, SQLite) whose routing file holds `BENCH_POINTS` critical
//! points (default 50): the latency of `GET /api/v1/decisions` for an action
//! no critical point matches and for one the last point matches, and of
//! `POST /api/v1/approvals` (what an SDK asks before an action of a type a
//! point may gate) for one such action that turns out monitored, over
//! `BENCH_REQUESTS` requests each (default 5,000), from 4 clients.
//!
//!   cargo bench --bench decisions

#[path = "support/mod.rs"]
mod support;
use support::served::{Server, setup_sqlite};
use support::{env_number, ms, percentile};

use std::time::{Duration, Instant};

async fn measure(base: &str, token: &str, query: &str, n: usize) -> (Vec<Duration>, String) {
    let http = mandate::sdk::http_client_builder().build().unwrap();
    let asks = query.starts_with('{');
    let url = match asks {
        true => format!("{base}/api/v1/approvals"),
        false => format!("{base}/api/v1/decisions?{query}"),
    };
    let request = |http: &reqwest::Client, url: &str, token: &str| match asks {
        true => http.post(url).bearer_auth(token).header("content-type", "application/json").body(query.to_owned()),
        false => http.get(url).bearer_auth(token),
    };
    let first: serde_json::Value = request(&http, &url, token).send().await.unwrap().json().await.unwrap();
    let decided = if asks { first["decision"].clone() } else { first };
    let clients = 4;
    let mut tasks = Vec::new();
    for _ in 0..clients {
        let (http, url, token, query) = (http.clone(), url.clone(), token.to_owned(), query.to_owned());
        tasks.push(tokio::spawn(async move {
            let mut took = Vec::with_capacity(n / clients);
            for _ in 0..n / clients {
                let started = Instant::now();
                let request = match asks {
                    true => http
                        .post(&url)
                        .bearer_auth(&token)
                        .header("content-type", "application/json")
                        .body(query.clone()),
                    false => http.get(&url).bearer_auth(&token),
                };
                let answer = request.send().await.unwrap();
                assert!(answer.status().is_success());
                answer.bytes().await.unwrap();
                took.push(started.elapsed());
            }
            took
        }));
    }
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    all.sort();
    (all, decided["decision"].as_str().unwrap_or("?").to_owned())
}

fn main() {
    let points = env_number("BENCH_POINTS", 50) as usize;
    let n = env_number("BENCH_REQUESTS", 5_000) as usize;
    let s = setup_sqlite();
    let server = Server::start(&s.url, &s.tokens);
    let base = format!("http://{}", server.addr);
    let runtime = tokio::runtime::Runtime::new().unwrap();
    runtime.block_on(async {
        let http = mandate::sdk::http_client_builder().build().unwrap();
        let mut routing: serde_json::Value =
            http.get(format!("{base}/api/v1/routing")).bearer_auth(&s.admin).send().await.unwrap().json().await.unwrap();
        routing["critical_point"] = (0..points)
            .map(|i| {
                serde_json::json!({
                    "name": format!("point {i}"), "reason": format!("critical point {i}"),
                    "match": {"action_type": format!("action-{i}"), "resource": format!("resource-{i}-*")},
                })
            })
            .collect();
        let put = http.put(format!("{base}/api/v1/routing")).bearer_auth(&s.admin).json(&routing).send().await.unwrap();
        assert!(put.status().is_success(), "{}", put.text().await.unwrap());
        let last = points - 1;
        for (what, query) in [
            ("no point matches", "agent_id=bench&action_type=read&resource=reports".to_owned()),
            ("the last point matches", format!("agent_id=bench&action_type=action-{last}&resource=resource-{last}-db")),
            (
                "an SDK asks, its action's type gated elsewhere (POST /api/v1/approvals)",
                serde_json::json!({"agent_id": "bench", "action_type": format!("action-{last}"), "resource": "reports",
                    "summary": "bench", "request_key": "bench"})
                .to_string(),
            ),
        ] {
            let (took, decided) = measure(&base, &s.agent, &query, n).await;
            println!(
                "decisions/{what} ({decided}, {points} critical points): {n} requests, p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
                ms(percentile(&took, 0.5)),
                ms(percentile(&took, 0.99)),
                ms(*took.last().unwrap())
            );
        }
    });
}
