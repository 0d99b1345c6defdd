//! OTLP/HTTP traces in, on loopback, SQLite in a temporary file: exports of
//! 512 spans (the SDK batch processor's default batch), binary protobuf,
//! gzip, as an agent fleet's exporters send them.
//!
//!   cargo bench --bench otlp
//!
//! Environment: BENCH_SECONDS (default 15), BENCH_CLIENTS (4 exporters),
//! BENCH_BATCHES prebuilt per client (300), BENCH_DB (sqlite; postgres with
//! MANDATE_TEST_PG_URL).
//!
//! Each trace is 8 spans: an `invoke_agent` (a run), a `chat` (not an
//! action), five `execute_tool` and a database UPDATE. 1 trace in 50 fails
//! on one of 4 broken services (2 % of tool calls); with BENCH_CHURN=1
//! instead 1 call in 50 fails and the next calls resolve its incident at
//! once (a flash incident per failing trace, each routed and paged). At the
//! end, every span acknowledged as a run or an event must be stored.

#[path = "support/mod.rs"]
mod support;
use support::{env_number, ms, percentile, resident_mib};

use mandate::api::Role;
use mandate::auth::TokenTable;
use mandate::otlp::encode::string;
use mandate::server;
use opentelemetry_proto::tonic::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status, status::StatusCode};
use prost::Message;
use std::io::Write;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

const TOKEN: &str = "mdt_bench";
const SPANS_PER_EXPORT: u64 = 512;
const SPANS_PER_TRACE: u64 = 8;
/// Of each trace's spans, those stored (all but the chat span).
const STORED_PER_TRACE: u64 = 7;

fn span(trace: u64, n: u64, parent: Option<u64>, name: &str, attributes: Vec<KeyValue>, at: u64, error: bool) -> Span {
    let mut trace_id = [0u8; 16];
    trace_id[..8].copy_from_slice(&trace.to_be_bytes());
    trace_id[15] = 1;
    Span {
        trace_id: trace_id.to_vec(),
        span_id: (trace * 16 + n + 1).to_be_bytes().to_vec(),
        parent_span_id: parent.map(|p| (trace * 16 + p + 1).to_be_bytes().to_vec()).unwrap_or_default(),
        name: name.into(),
        kind: 1,
        start_time_unix_nano: at + n * 1_000_000,
        end_time_unix_nano: at + n * 1_000_000 + 500_000,
        attributes,
        status: error.then(|| Status { code: StatusCode::Error as i32, message: "upstream timeout".into() }),
        ..Default::default()
    }
}

/// One export of `SPANS_PER_EXPORT` spans, protobuf then gzip.
fn export_body(client: u64, batch: u64, at: u64, churn: bool) -> Vec<u8> {
    let mut spans = Vec::with_capacity(SPANS_PER_EXPORT as usize);
    for t in 0..SPANS_PER_EXPORT / SPANS_PER_TRACE {
        let trace = (client << 40) | (batch << 12) | t;
        let agent = format!("agent-{}", trace % 40);
        let resource = format!("svc-{}", trace % 200);
        spans.push(span(
            trace,
            0,
            None,
            "invoke_agent",
            vec![
                string("gen_ai.operation.name", "invoke_agent"),
                string("gen_ai.agent.id", agent.clone()),
                string("gen_ai.provider.name", "anthropic"),
            ],
            at,
            false,
        ));
        spans.push(span(trace, 1, Some(0), "chat claude", vec![string("gen_ai.operation.name", "chat")], at, false));
        for call in 0..5 {
            // Steady state: 1 trace in 50 fails all its calls, on one of 4
            // broken services, whose incidents stay open. With BENCH_CHURN,
            // the failure is one call, and the trace's next calls on the
            // same service resolve its incident at once: an incident opened,
            // paged and resolved per failing trace.
            let (error, resource) = if churn {
                ((trace * 5 + call).is_multiple_of(50), resource.clone())
            } else if trace.is_multiple_of(50) {
                (true, format!("broken-{}", (trace / 50) % 4))
            } else {
                (false, resource.clone())
            };
            let mut attributes = vec![
                string("gen_ai.operation.name", "execute_tool"),
                string("gen_ai.tool.name", "http"),
                string("mandate.resource", resource),
            ];
            if error {
                attributes.push(string("error.type", "TIMEOUT"));
            }
            spans.push(span(trace, 2 + call, Some(0), "execute_tool http", attributes, at, error));
        }
        spans.push(span(
            trace,
            7,
            Some(0),
            "UPDATE accounts",
            vec![string("db.operation.name", "UPDATE"), string("db.namespace", "accounts-db")],
            at,
            false,
        ));
    }
    let request = ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource {
                attributes: vec![string("service.name", "bench-fleet"), string("mandate.actor_type", "SERVICE")],
                ..Default::default()
            }),
            scope_spans: vec![ScopeSpans { spans, ..Default::default() }],
            schema_url: String::new(),
        }],
    };
    let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gzip.write_all(&request.encode_to_vec()).unwrap();
    gzip.finish().unwrap()
}

#[tokio::main]
async fn main() {
    let dir = tempfile::tempdir().unwrap();
    let (store, db) = support::ingest_store(dir.path()).await;
    let tokens = TokenTable::default().with_token(TOKEN, "bench", Role::Admin);
    let server = server::start(store, tokens, "127.0.0.1:0".parse().unwrap()).await.expect("server");
    let url = format!("{}/v1/traces", server.url());
    let clients = env_number("BENCH_CLIENTS", 4);
    let seconds = env_number("BENCH_SECONDS", 15);
    let churn = std::env::var_os("BENCH_CHURN").is_some();
    let at = (chrono::Utc::now() - chrono::Duration::minutes(1)).timestamp_nanos_opt().unwrap() as u64;
    // Bodies are built before the clock starts: the figure is the server's.
    let mut prebuilt: Vec<Vec<Vec<u8>>> = (0..clients)
        .map(|c| (0..env_number("BENCH_BATCHES", 300)).map(|b| export_body(c, b, at, churn)).collect())
        .collect();
    let acknowledged = Arc::new(AtomicU64::new(0));
    let rss_before = resident_mib();
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let started = Instant::now();
    let tasks: Vec<_> = (0..clients)
        .map(|client| {
            let (url, acknowledged) = (url.clone(), acknowledged.clone());
            let bodies = std::mem::take(&mut prebuilt[client as usize]);
            tokio::spawn(async move {
                let http = mandate::sdk::http_client_builder().build().unwrap();
                let mut latencies = Vec::new();
                for body in bodies {
                    if Instant::now() >= deadline {
                        break;
                    }
                    let sent = Instant::now();
                    let response = http
                        .post(&url)
                        .bearer_auth(TOKEN)
                        .header("content-type", "application/x-protobuf")
                        .header("content-encoding", "gzip")
                        .body(body)
                        .send()
                        .await
                        .expect("request");
                    assert_eq!(response.status(), 200);
                    let answer = ExportTraceServiceResponse::decode(response.bytes().await.unwrap()).unwrap();
                    assert_eq!(answer.partial_success, None, "no span refused");
                    latencies.push(sent.elapsed());
                    acknowledged.fetch_add(SPANS_PER_EXPORT, Ordering::Relaxed);
                }
                latencies
            })
        })
        .collect();
    let (all, peak) = support::join_clients(tasks).await;
    let elapsed = started.elapsed();
    let spans = acknowledged.load(Ordering::Relaxed);
    let pool = server.state.store().pool();
    let events: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM events").fetch_one(pool).await.unwrap();
    let runs: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM runs").fetch_one(pool).await.unwrap();
    let expected = spans / SPANS_PER_TRACE * STORED_PER_TRACE;
    println!(
        "POST /v1/traces, {clients} exporters, {SPANS_PER_EXPORT} spans per export (protobuf, gzip), {db}{}: \
         {spans} spans in {:.1} s = {:.0} spans/s; export latency p50 {:.1} ms, p99 {:.1} ms; \
         resident {rss_before:.0} MiB before, {peak:.0} MiB at peak (server and load generator); \
         stored {} runs + {} events = {} (acknowledged as actions: {expected})",
        if churn { ", an incident opened and resolved per failing trace" } else { "" },
        elapsed.as_secs_f64(),
        spans as f64 / elapsed.as_secs_f64(),
        ms(percentile(&all, 0.50)),
        ms(percentile(&all, 0.99)),
        runs,
        events,
        runs + events,
    );
    assert_eq!((runs + events) as u64, expected, "every acknowledged action is stored");
    server.stop().await;
}
