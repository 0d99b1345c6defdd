//! OpenTelemetry in: the official Rust SDK's OTLP exporter (binary protobuf
//! with gzip, and JSON), a Python agent's trace recorded in OTLP JSON, and
//! every refusal as the OTLP specification answers it, against a real server
//! on SQLite and PostgreSQL.

use crate::common::{self, ADMIN, AGENT, Db, TestServer, VIEWER, start};
use mandate::otlp::answer::Status;
use opentelemetry::trace::{
    Span as _, SpanKind, Status as SpanStatus, TraceContextExt, Tracer as _, TracerProvider as _,
};
use opentelemetry::{Context, KeyValue};
use opentelemetry_otlp::{Protocol, WithExportConfig, WithHttpConfig};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceResponse;
use prost::Message;
use serde_json::{Value, json};
use std::io::Write;
use std::time::{Duration, SystemTime};

const PROTOBUF: &str = "application/x-protobuf";
const JSON: &str = "application/json";

struct Answer {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn export(&self, content_type: &str) -> ExportTraceServiceResponse {
        assert_eq!(self.status, 200, "{}", String::from_utf8_lossy(&self.body));
        assert_eq!(self.headers["content-type"], content_type, "the answer is in the request's encoding");
        if content_type == JSON {
            serde_json::from_slice(&self.body).unwrap()
        } else {
            ExportTraceServiceResponse::decode(self.body.as_slice()).unwrap()
        }
    }

    /// A 4xx or 5xx answer's `google.rpc.Status`, in the request's encoding.
    fn rpc_status(&self, content_type: &str) -> Status {
        assert!(self.status >= 400 && self.status < 500 || self.status == 503, "{}", self.status);
        assert_eq!(self.headers["content-type"], content_type);
        if content_type == JSON {
            serde_json::from_slice(&self.body).unwrap()
        } else {
            Status::decode(self.body.as_slice()).unwrap()
        }
    }
}

async fn export(base: &str, token: Option<&str>, content_type: &str, encoding: Option<&str>, body: Vec<u8>) -> Answer {
    let mut request = client().post(format!("{base}/v1/traces")).header("content-type", content_type);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    if let Some(encoding) = encoding {
        request = request.header("content-encoding", encoding);
    }
    let response = request.body(body).send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    Answer { status, headers, body: response.bytes().await.unwrap().to_vec() }
}

/// A client with TLS set up (the process's rustls provider installed),
/// which the exporter's own client needs too.
fn client() -> reqwest::Client {
    mandate::sdk::http_client_builder().build().unwrap()
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

fn key(trace_id: impl std::fmt::Display, span_id: impl std::fmt::Display) -> String {
    format!("otel-{trace_id}-{span_id}")
}

/// The ids of the spans an instrumented fleet emitted.
struct Emitted {
    deploy: String,
    run: String,
    tool_calls: Vec<String>,
}

/// A fleet instrumented with the OpenTelemetry SDK: a deploy, then an agent
/// run whose three tool calls on the deployed service fail. Exported by
/// `opentelemetry-otlp` over HTTP in `protocol`, gzip-compressed when asked,
/// in one batch as the batch processor sends it.
async fn emit_with_the_sdk(base: &str, protocol: Protocol, compress: bool) -> Emitted {
    let base = base.to_owned();
    client();
    // The exporter blocks its thread; the server runs on the test's.
    tokio::task::spawn_blocking(move || {
        let mut exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(protocol)
            .with_endpoint(format!("{base}/v1/traces"))
            .with_headers([("Authorization".to_owned(), format!("Bearer {AGENT}"))].into())
            .with_timeout(Duration::from_secs(10));
        if compress {
            exporter = exporter.with_compression(opentelemetry_otlp::Compression::Gzip);
        }
        let resource = opentelemetry_sdk::Resource::builder()
            .with_service_name("ci-pipeline")
            .with_attribute(KeyValue::new("mandate.actor_type", "SYSTEM"))
            .build();
        let provider = opentelemetry_sdk::trace::SdkTracerProvider::builder()
            .with_batch_exporter(exporter.build().unwrap())
            .with_resource(resource)
            .build();
        let tracer = provider.tracer("agent-framework");
        let now = SystemTime::now();
        let ago = |seconds: u64| now - Duration::from_secs(seconds);

        let mut deploy = tracer
            .span_builder("deploy payments-service")
            .with_start_time(ago(600))
            .with_attributes([
                KeyValue::new("gen_ai.agent.id", "deployer"),
                KeyValue::new("mandate.action_type", "deploy"),
                KeyValue::new("mandate.resource", "payments-service"),
                KeyValue::new("mandate.metadata.version", "v2.4.1"),
            ])
            .start(&tracer);
        deploy.end_with_timestamp(ago(590));

        let run = tracer
            .span_builder("invoke_agent support-bot")
            .with_kind(SpanKind::Internal)
            .with_start_time(ago(300))
            .with_attributes([
                KeyValue::new("gen_ai.operation.name", "invoke_agent"),
                KeyValue::new("gen_ai.agent.id", "support-bot"),
                KeyValue::new("gen_ai.provider.name", "anthropic"),
            ])
            .start(&tracer);
        let run_ids = (run.span_context().trace_id(), run.span_context().span_id());
        let in_run = Context::new().with_span(run);
        let mut chat = tracer
            .span_builder("chat claude")
            .with_start_time(ago(299))
            .with_attributes([KeyValue::new("gen_ai.operation.name", "chat")])
            .start_with_context(&tracer, &in_run);
        chat.end_with_timestamp(ago(298));
        let mut tool_calls = Vec::new();
        for i in 0..3 {
            let mut call = tracer
                .span_builder("execute_tool charge_card")
                .with_start_time(ago(290 - i * 10))
                .with_attributes([
                    KeyValue::new("gen_ai.operation.name", "execute_tool"),
                    KeyValue::new("gen_ai.tool.name", "charge_card"),
                    KeyValue::new("mandate.resource", "payments-service"),
                    KeyValue::new("error.type", "TIMEOUT"),
                ])
                .start_with_context(&tracer, &in_run);
            call.set_status(SpanStatus::error("upstream timed out"));
            tool_calls.push(key(call.span_context().trace_id(), call.span_context().span_id()));
            call.end_with_timestamp(ago(289 - i * 10));
        }
        let span = in_run.span();
        span.set_status(SpanStatus::error("the charge never went through"));
        span.end_with_timestamp(ago(200));
        provider.force_flush().unwrap();
        provider.shutdown().unwrap();
        Emitted {
            deploy: key(deploy.span_context().trace_id(), deploy.span_context().span_id()),
            run: key(run_ids.0, run_ids.1),
            tool_calls,
        }
    })
    .await
    .unwrap()
}

async fn incidents(t: &TestServer) -> Vec<Value> {
    t.get(VIEWER, "/api/v1/incidents").await.body["incidents"].as_array().unwrap().clone()
}

async fn the_sdk_exporter(db: Db, protocol: Protocol, compress: bool) {
    let t = start(db).await;
    let emitted = emit_with_the_sdk(&t.server.url(), protocol, compress).await;

    let run = t.get(VIEWER, &format!("/api/v1/runs/{}", emitted.run)).await;
    assert_eq!(run.status, 200, "the invoke_agent span is a run: {:?}", run.body);
    let expected = json!({"agent_id": "support-bot", "actor_type": "SYSTEM", "origin_system_id": "ci-pipeline",
                          "source": "SDK", "state": "COMPLETED", "status": "failed", "provider_type": "anthropic"});
    for (k, v) in expected.as_object().unwrap() {
        assert_eq!(&run.body[k], v, "run {k}");
    }

    let list = incidents(&t).await;
    assert_eq!(list.len(), 1, "{list:?}");
    let detail = t.get(VIEWER, &format!("/api/v1/incidents/{}", list[0]["id"])).await.body;
    assert_eq!(detail["event_count"], 3, "the three failed tool calls; the chat span is not an action");
    let errors: Vec<&Value> =
        detail["timeline"].as_array().unwrap().iter().filter(|e| e["event"]["outcome"] == "error").collect();
    assert_eq!(errors.len(), 3, "{:#?}", detail["timeline"]);
    for e in &errors {
        let e = &e["event"];
        assert!(emitted.tool_calls.contains(&e["event_id"].as_str().unwrap().to_owned()), "{e}");
        assert_eq!(e["agent_id"], "support-bot", "the tool call's agent is its run's");
        assert_eq!(e["actor_type"], "SYSTEM");
        assert_eq!(e["run_id"], emitted.run.as_str());
        assert_eq!(e["parent_event_id"], emitted.run.as_str());
        assert_eq!((e["tool"].as_str(), e["error_code"].as_str()), (Some("charge_card"), Some("TIMEOUT")));
        assert_eq!(e["error_message"], "upstream timed out");
        assert_eq!(e["trace_id"].as_str().unwrap().len(), 32);
    }
    let top = &detail["analysis"]["candidates"][0];
    assert_eq!(top["event_id"], emitted.deploy.as_str(), "the deploy is the likeliest cause: {:#}", detail["analysis"]);
    assert_eq!((top["agent_id"].as_str(), top["action_type"].as_str()), (Some("deployer"), Some("deploy")));
    t.stop().await;
}

async fn sdk_exporter_http_protobuf_gzip(db: Db) {
    the_sdk_exporter(db, Protocol::HttpBinary, true).await;
}

async fn sdk_exporter_http_json(db: Db) {
    the_sdk_exporter(db, Protocol::HttpJson, false).await;
}

/// The fixture, its times moved so that its run ended a minute ago.
fn python_trace() -> Vec<u8> {
    let text = std::fs::read_to_string("tests/fixtures/otlp/python-agent-trace.json").unwrap();
    let mut trace: Value = serde_json::from_str(&text).unwrap();
    let recorded_end: i128 = 1_764_583_212_500_000_000;
    let now = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap().as_nanos() as i128;
    let shift = now - 60_000_000_000 - recorded_end;
    fn walk(v: &mut Value, shift: i128) {
        match v {
            Value::Object(map) => {
                for (k, v) in map.iter_mut() {
                    if k.ends_with("UnixNano") {
                        let at: i128 =
                            v.as_str().map(|s| s.parse().unwrap()).unwrap_or_else(|| v.as_i64().unwrap() as i128);
                        *v = Value::String((at + shift).to_string());
                    } else {
                        walk(v, shift);
                    }
                }
            }
            Value::Array(items) => items.iter_mut().for_each(|v| walk(v, shift)),
            _ => {}
        }
    }
    walk(&mut trace, shift);
    serde_json::to_vec(&trace).unwrap()
}

/// A Python agent framework's trace in OTLP JSON, as its exporter (or a
/// Collector) sends it: older attribute names (`gen_ai.system`), ids in
/// upper- and lower-case hex, 64-bit integers as strings. Sent again, gzip
/// this time, it changes nothing.
async fn a_python_agents_json_trace(db: Db) {
    let t = start(db).await;
    let base = t.server.url();
    let body = python_trace();
    let first = export(&base, Some(AGENT), JSON, None, body.clone()).await;
    assert_eq!(first.export(JSON).partial_success, None, "every span was accepted");

    let trace = "4bf92f3577b34da6a3ce929d0e0e4736";
    let run = t.get(VIEWER, &format!("/api/v1/runs/{}", key(trace, "00f067aa0ba902b7"))).await;
    assert_eq!(run.status, 200, "{:?}", run.body);
    assert_eq!(run.body["agent_id"], "triage-agent", "gen_ai.agent.name when there is no gen_ai.agent.id");
    assert_eq!(run.body["provider_type"], "openai", "the older gen_ai.system");
    assert_eq!(run.body["goal"], "restart what pages on-call at night");
    assert_eq!(run.body["origin_system_id"], "support-agent");
    assert_eq!((run.body["status"].as_str(), run.body["actor_type"].as_str()), (Some("failed"), Some("SYSTEM")));
    let took = chrono::DateTime::parse_from_rfc3339(run.body["completed_at"].as_str().unwrap()).unwrap()
        - chrono::DateTime::parse_from_rfc3339(run.body["created_at"].as_str().unwrap()).unwrap();
    assert_eq!(took.num_milliseconds(), 12_500);

    let list = incidents(&t).await;
    assert_eq!(list.len(), 1, "{list:?}");
    let detail = t.get(VIEWER, &format!("/api/v1/incidents/{}", list[0]["id"])).await.body;
    let failed =
        &detail["timeline"].as_array().unwrap().iter().find(|e| e["event"]["outcome"] == "error").unwrap()["event"];
    assert_eq!(failed["event_id"], key(trace, "e457b5a2e4d86bd1"));
    assert_eq!(failed["tool"], "restart_pod");
    assert_eq!(failed["resource"], "payments-service");
    assert_eq!(failed["error_code"], "TimeoutError");
    assert_eq!(failed["error_message"], "kubectl rollout restart timed out after 7s", "from the exception event");
    assert_eq!(failed["metadata"]["gen_ai.tool.call.id"], "call_Y2Kq7mWbQ0R8dkEw1x9rZ3aF");
    assert_eq!(failed["metadata"]["otel.scope"], "opentelemetry.instrumentation.openai_agents");
    let events_before = detail["event_count"].clone();

    let again = export(&base, Some(AGENT), JSON, Some("gzip"), gzip(&body)).await;
    assert_eq!(again.export(JSON).partial_success, None);
    let runs = t.get(VIEWER, "/api/v1/runs").await.body["runs"].as_array().unwrap().len();
    assert_eq!(runs, 1, "the run is not stored twice");
    let detail = t.get(VIEWER, &format!("/api/v1/incidents/{}", list[0]["id"])).await.body;
    assert_eq!(detail["event_count"], events_before, "the events are not stored twice");
    assert_eq!(incidents(&t).await.len(), 1);
    t.stop().await;
}

fn span(trace: u8, id: u8, name: &str, attributes: Value) -> Value {
    let now = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap().as_nanos() as u64;
    let attributes: Vec<Value> =
        attributes.as_object().unwrap().iter().map(|(k, v)| json!({"key": k, "value": {"stringValue": v}})).collect();
    json!({
        "traceId": format!("{trace:032x}"), "spanId": format!("{id:016x}"), "name": name,
        "startTimeUnixNano": (now - 60_000_000_000).to_string(), "endTimeUnixNano": (now - 59_000_000_000).to_string(),
        "attributes": attributes,
    })
}

fn request(service: Option<&str>, spans: Vec<Value>) -> Vec<u8> {
    let resource = match service {
        Some(s) => json!({"attributes": [{"key": "service.name", "value": {"stringValue": s}}]}),
        None => json!({"attributes": [{"key": "service.name", "value": {"stringValue": "unknown_service:python3"}}]}),
    };
    serde_json::to_vec(&json!({"resourceSpans": [{"resource": resource, "scopeSpans": [{"spans": spans}]}]})).unwrap()
}

/// Attribution as for SDK traffic: complete spans are stored; a span that
/// attributes partly is rejected with its contract code (and counted on
/// the attribution figures); a span that attributes nothing is kept and
/// flagged; `enduser.id` is a person; a legacy sentinel is refused and
/// raises the critical incident; other spans are not actions.
async fn attribution_as_for_the_sdk(db: Db) {
    let t = start(db).await;
    let tool = |agent: &str| json!({"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "sql", "gen_ai.agent.id": agent, "mandate.resource": "warehouse"});
    let mut complete = tool("report-bot");
    complete["mandate.actor_type"] = "SERVICE".into();
    let mut person = tool("ticket-bot");
    person["enduser.id"] = "dana".into();
    let partial = tool("half-bot");
    let anonymous = json!({"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "sql"});
    let legacy = json!({"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.id": "legacy-unknown", "mandate.actor_type": "SYSTEM"});
    let body = request(
        Some("analytics"),
        vec![
            span(1, 1, "execute_tool sql", complete),
            span(1, 2, "execute_tool sql", person),
            span(1, 3, "execute_tool sql", partial),
            span(1, 4, "invoke_agent legacy", legacy),
            span(1, 5, "chat gpt-4o", json!({"gen_ai.operation.name": "chat"})),
        ],
    );
    let answer = export(&t.server.url(), Some(AGENT), JSON, None, body).await.export(JSON);
    let partial_success = answer.partial_success.expect("two spans were rejected");
    assert_eq!(partial_success.rejected_spans, 2, "{}", partial_success.error_message);
    let message = &partial_success.error_message;
    assert!(message.starts_with("2 of 5 spans rejected: "), "{message}");
    assert!(message.contains("ATTR_ACTOR_TYPE_MISSING") && message.contains("set mandate.actor_type"), "{message}");
    assert!(
        message.contains(&format!("span {:016x}", 3)) && message.contains(&format!("span {:016x}", 4)),
        "{message}"
    );
    assert!(message.contains("ATTR_AGENT_MISSING"), "the legacy sentinel: {message}");

    let anonymous_only = request(None, vec![span(2, 1, "execute_tool sql", anonymous)]);
    let answer = export(&t.server.url(), Some(AGENT), JSON, None, anonymous_only).await.export(JSON);
    assert_eq!(answer.partial_success, None, "a span with no attribution at all is kept");

    let events = t.get(ADMIN, "/api/v1/audit?limit=1").await;
    assert_eq!(events.status, 200);
    let stats = t.get(VIEWER, "/api/v1/attribution/stats").await.body;
    assert_eq!((stats["runs_rejected"].as_i64(), stats["events_rejected"].as_i64()), (Some(1), Some(1)), "{stats}");
    let codes: Vec<&str> =
        stats["violations_by_code"].as_array().unwrap().iter().map(|c| c["key"].as_str().unwrap()).collect();
    assert!(codes.contains(&"ATTR_ACTOR_TYPE_MISSING") && codes.contains(&"ATTR_AGENT_MISSING"), "{codes:?}");
    let origins: Vec<&str> =
        stats["violations_by_origin_system"].as_array().unwrap().iter().map(|c| c["key"].as_str().unwrap()).collect();
    assert!(origins.contains(&"analytics"), "{origins:?}");

    let list = incidents(&t).await;
    assert_eq!(list.len(), 1, "the legacy sentinel's incident: {list:?}");
    assert_eq!(list[0]["severity"], "critical");
    let agents = t.get(VIEWER, "/api/v1/agents").await.body;
    let text = agents.to_string();
    assert!(text.contains("report-bot") && text.contains("ticket-bot"), "{text}");
    assert!(!text.contains("half-bot"), "a rejected span stores nothing: {text}");
    t.stop().await;
}

/// Every refusal is an OTLP answer (a `Status` in the request's encoding),
/// none is a 5xx, and an empty request is a success.
async fn refusals_are_otlp_answers(db: Db) {
    let t = start(db).await;
    let base = t.server.url();
    let garbage = vec![0xff, 0xff, 0xff, 0x0f, 0x12, 0x34];

    let a = export(&base, Some(AGENT), PROTOBUF, None, garbage.clone()).await;
    assert_eq!(a.status, 400);
    assert!(a.rpc_status(PROTOBUF).message.contains("not an ExportTraceServiceRequest in binary protobuf"));

    let a = export(&base, Some(AGENT), JSON, None, br#"{"resourceSpans": [{"scopeSpans": 7}]}"#.to_vec()).await;
    assert_eq!(a.status, 400);
    let status = a.rpc_status(JSON);
    assert!(status.message.contains("resourceSpans[0].scopeSpans"), "{}", status.message);
    assert_eq!(status.code, 3);

    let a = export(&base, Some(AGENT), PROTOBUF, Some("gzip"), garbage.clone()).await;
    assert_eq!(a.status, 400);
    assert!(a.rpc_status(PROTOBUF).message.contains("not valid gzip"));

    let a = export(&base, Some(AGENT), "text/plain", None, b"hello".to_vec()).await;
    assert_eq!(a.status, 415);
    assert!(a.rpc_status(PROTOBUF).message.contains("application/x-protobuf or application/json"));

    let a = export(&base, Some(AGENT), JSON, Some("br"), b"{}".to_vec()).await;
    assert_eq!(a.status, 415);
    assert!(a.rpc_status(JSON).message.contains("\"br\""));

    let oversized = vec![0u8; mandate::otlp::MAX_REQUEST_BYTES + 1];
    let a = export(&base, Some(AGENT), PROTOBUF, None, oversized).await;
    assert_eq!(a.status, 413);
    a.rpc_status(PROTOBUF);

    let bomb = gzip(&vec![b' '; mandate::otlp::MAX_DECODED_BYTES + 1]);
    assert!(bomb.len() < mandate::otlp::MAX_REQUEST_BYTES);
    let a = export(&base, Some(AGENT), JSON, Some("gzip"), bomb).await;
    assert_eq!(a.status, 413);
    assert!(a.rpc_status(JSON).message.contains("once decompressed"));

    for (content_type, body) in
        [(PROTOBUF, vec![]), (JSON, vec![]), (JSON, b"{}".to_vec()), (JSON, br#"{"resourceSpans":[]}"#.to_vec())]
    {
        let a = export(&base, Some(AGENT), content_type, None, body).await;
        assert_eq!(a.export(content_type).partial_success, None, "an empty request is a success");
    }

    let a = export(&base, None, PROTOBUF, None, vec![]).await;
    assert_eq!(a.status, 401);
    assert_eq!(a.headers["www-authenticate"], "Bearer");
    assert_eq!(a.rpc_status(PROTOBUF).code, 16);
    let a = export(&base, Some(VIEWER), JSON, None, b"{}".to_vec()).await;
    assert_eq!(a.status, 403, "a viewer cannot write");
    a.rpc_status(JSON);

    let get = client().get(format!("{base}/v1/traces")).send().await.unwrap();
    assert_eq!(get.status(), 405);
    assert_eq!(get.headers()["content-type"], PROTOBUF);
    Status::decode(get.bytes().await.unwrap()).unwrap();

    let spans: Vec<Value> =
        (1..=3).map(|i| span(9, i, "execute_tool x", json!({"gen_ai.operation.name": "execute_tool"}))).collect();
    let mut bad_ids = request(None, spans);
    let text = String::from_utf8(bad_ids.clone()).unwrap().replacen(&format!("{:016x}", 2), "00ff", 1);
    bad_ids = text.into_bytes();
    let answer = export(&base, Some(AGENT), JSON, None, bad_ids).await.export(JSON);
    let partial = answer.partial_success.unwrap();
    assert_eq!(partial.rejected_spans, 1);
    assert!(partial.error_message.contains("span_id must be 8 bytes"), "{}", partial.error_message);
    t.stop().await;
}

/// Spans follow the stop rules of events: an action span of a stopped
/// agent after the stop is stored flagged and the exporter is told (a
/// warning, nothing rejected); the stop's breach is an incident.
async fn a_stopped_agents_spans_are_kept_flagged_and_the_exporter_told(db: Db) {
    let t = start(db).await;
    let stop = common::as_alice(json!({"scope": "agent", "target": "report-bot", "reason": "runaway queries"}));
    t.post(common::RESPONDER, "/api/v1/stops", &stop).await.succeeded();
    let attributes = json!({"gen_ai.operation.name": "execute_tool", "gen_ai.tool.name": "sql",
        "gen_ai.agent.id": "report-bot", "mandate.resource": "warehouse", "mandate.actor_type": "SERVICE"});
    let mut after = span(3, 1, "execute_tool sql", attributes);
    let now = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).unwrap().as_nanos() as u64;
    after["startTimeUnixNano"] = (now + 1_000_000_000).to_string().into();
    after["endTimeUnixNano"] = (now + 2_000_000_000).to_string().into();
    let answer = export(&t.server.url(), Some(AGENT), JSON, None, request(Some("analytics"), vec![after])).await;
    let answer = answer.export(JSON);
    let warning = answer.partial_success.expect("told it is stopped");
    assert_eq!(warning.rejected_spans, 0, "stored all the same: {}", warning.error_message);
    assert!(
        warning.error_message.contains("agent report-bot is stopped (agent report-bot by alice"),
        "{}",
        warning.error_message
    );
    let list = incidents(&t).await;
    let breach =
        list.iter().find(|i| i["title"].as_str().unwrap().starts_with("ACTED WHILE STOPPED")).expect("{list:?}");
    assert_eq!(breach["event_count"], 1);
    let agents = t.get(VIEWER, "/api/v1/agents").await.body;
    let bot = agents.as_array().unwrap().iter().find(|a| a["agent_id"] == "report-bot").unwrap().clone();
    assert_eq!(bot["acted_while_stopped"], 1, "{bot}");
    t.stop().await;
}

on_both_databases!(
    a_stopped_agents_spans_are_kept_flagged_and_the_exporter_told,
    sdk_exporter_http_protobuf_gzip,
    sdk_exporter_http_json,
    a_python_agents_json_trace,
    attribution_as_for_the_sdk,
);

#[tokio::test]
async fn refusals_are_otlp_answers_sqlite() {
    refusals_are_otlp_answers(Db::Sqlite).await;
}

/// A database that cannot take the spans now gets 503 with Retry-After,
/// which OTLP exporters retry; the retry stores them, once.
#[tokio::test]
async fn a_locked_database_is_retried_not_lost() {
    let guard = common::sqlite_store().await;
    let server =
        mandate::server::start(guard.store.clone(), common::tokens(), "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let t = TestServer::wrap(server);
    let body = request(
        Some("analytics"),
        vec![span(
            3,
            1,
            "execute_tool sql",
            json!({"gen_ai.operation.name": "execute_tool", "gen_ai.agent.id": "report-bot", "mandate.actor_type": "SYSTEM"}),
        )],
    );
    use sqlx::Connection;
    let mut lock = sqlx::SqliteConnection::connect(&guard.url).await.unwrap();
    sqlx::query("BEGIN EXCLUSIVE").execute(&mut lock).await.unwrap();
    let busy = export(&t.server.url(), Some(AGENT), JSON, None, body.clone()).await;
    assert_eq!(busy.status, 503, "{}", String::from_utf8_lossy(&busy.body));
    assert_eq!(busy.headers["retry-after"], "1");
    assert!(
        busy.rpc_status(JSON).message.starts_with("DATABASE_UNAVAILABLE: "),
        "{}",
        String::from_utf8_lossy(&busy.body)
    );
    sqlx::query("ROLLBACK").execute(&mut lock).await.unwrap();
    drop(lock);
    for _ in 0..2 {
        let a = export(&t.server.url(), Some(AGENT), JSON, None, body.clone()).await;
        assert_eq!(a.export(JSON).partial_success, None);
    }
    let agents = t.get(VIEWER, "/api/v1/agents").await.body;
    assert!(agents.to_string().contains("report-bot"), "{agents}");
    t.stop().await;
}

/// `mandate serve --otlp-listen`: traces on their own address (and on the
/// API's), nothing else there; an agent token acts for its agents only.
#[tokio::test]
async fn its_own_address_and_bound_tokens() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens.toml").display().to_string();
    let fleet = common::create_token(&tokens, "fleet", "agent");
    let viewer = common::create_token(&tokens, "victor", "viewer");
    let out = std::process::Command::new(common::BIN)
        .args([
            "token",
            "create",
            "--name",
            "support",
            "--role",
            "agent",
            "--agent",
            "support-*",
            "--tokens-file",
            &tokens,
        ])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let bound = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let otlp_addr = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().to_string();
    let db = format!("sqlite://{}", dir.path().join("m.db").display());
    let served = common::serve_binary_with(&db, &tokens, "127.0.0.1:0", &["--otlp-listen", &otlp_addr]);
    let otlp = format!("http://{otlp_addr}");
    let api = format!("http://{}", served.addr);
    let tool = |agent: &str| json!({"gen_ai.operation.name": "execute_tool", "gen_ai.agent.id": agent, "mandate.actor_type": "SYSTEM"});

    let mut answered = None;
    for _ in 0..50 {
        if let Ok(r) = client().post(format!("{otlp}/v1/traces")).send().await {
            answered = Some(r.status().as_u16());
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(answered, Some(401));
    let a = export(
        &otlp,
        Some(&fleet),
        JSON,
        None,
        request(Some("svc"), vec![span(4, 1, "execute_tool a", tool("deployer"))]),
    )
    .await;
    assert_eq!(a.export(JSON).partial_success, None);
    let a = export(
        &api,
        Some(&fleet),
        JSON,
        None,
        request(Some("svc"), vec![span(4, 2, "execute_tool b", tool("deployer"))]),
    )
    .await;
    assert_eq!(a.export(JSON).partial_success, None, "the API's address receives traces too");

    let a = export(
        &otlp,
        Some(&bound),
        JSON,
        None,
        request(Some("svc"), vec![span(5, 1, "execute_tool c", tool("support-bot"))]),
    )
    .await;
    assert_eq!(a.export(JSON).partial_success, None);
    let a = export(
        &otlp,
        Some(&bound),
        JSON,
        None,
        request(Some("svc"), vec![span(5, 2, "execute_tool d", tool("deployer"))]),
    )
    .await;
    assert_eq!(a.status, 403);
    let message = a.rpc_status(JSON).message;
    assert!(message.contains("AGENT_NOT_ALLOWED") && message.contains(&format!("span {:016x}", 2)), "{message}");

    let other = client().get(format!("{otlp}/api/v1/incidents")).bearer_auth(&fleet).send().await.unwrap();
    assert_eq!(other.status(), 404, "the OTLP address serves traces only");
    assert!(Status::decode(other.bytes().await.unwrap()).unwrap().message.contains("/v1/traces"));
    let stored = client().get(format!("{api}/api/v1/agents")).bearer_auth(&viewer).send().await.unwrap();
    let text = stored.text().await.unwrap();
    assert!(text.contains("deployer") && text.contains("support-bot"), "{text}");
}

/// `docs/otlp.md`, its mapping table: every row, every
/// attribute of it, alone, on a span of that kind, becomes that field.
#[test]
fn the_manuals_mapping_table_is_the_mapping() {
    use mandate::otlp::encode::string;
    use mandate::otlp::{Mapped, map_request};
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::tonic::resource::v1::Resource;
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};

    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/otlp.md")).unwrap();
    let section = readme.split("## Mapping").nth(1).expect("a Mapping section").split("\n## ").next().unwrap();
    let code = |cell: &str| -> Vec<String> { cell.split('`').skip(1).step_by(2).map(str::to_owned).collect() };
    let mut rows = 0;
    for line in section.lines().filter(|l| l.starts_with("| ") && !l.starts_with("| span")) {
        let cells: Vec<&str> = line.trim_matches('|').split('|').map(str::trim).collect();
        let [kind, attributes, field] = cells[..] else { panic!("{line}") };
        let attributes = code(attributes);
        let field = code(field).remove(0);
        let base: Vec<(&str, &str)> = match kind.trim_matches('`') {
            "invoke_agent" => vec![("gen_ai.operation.name", "invoke_agent")],
            "execute_tool" => vec![("gen_ai.operation.name", "execute_tool")],
            "database write" => {
                vec![("db.operation.name", "UPDATE"), ("db.namespace", "base-db"), ("db.system.name", "postgresql")]
            }
            "deploy" => vec![
                ("cicd.pipeline.task.type", "deploy"),
                ("k8s.deployment.name", "base"),
                ("cicd.pipeline.name", "base"),
            ],
            other => panic!("a span kind the test does not know: {other}"),
        };
        let attribution = [
            ("gen_ai.agent.id", "base-agent"),
            ("mandate.actor_type", if field == "actor_id" { "HUMAN" } else { "SYSTEM" }),
            ("mandate.origin_system_id", "base-origin"),
        ];
        for (i, attribute) in attributes.iter().enumerate() {
            let value = if field == "seq" { "41".to_owned() } else { format!("marker-{rows}-{i}") };
            let mut on_span: Vec<_> = base
                .iter()
                .chain(&attribution)
                .filter(|(k, _)| !attributes.iter().any(|a| a == k))
                .map(|(k, v)| string(k, *v))
                .collect();
            let mut on_resource = vec![];
            if attribute == "service.name" {
                on_resource.push(string(attribute, value.clone()));
            } else {
                on_span.push(string(attribute, value.clone()));
            }
            let span = Span {
                trace_id: vec![7; 16],
                span_id: vec![9; 8],
                name: "a span".into(),
                start_time_unix_nano: 1_764_583_200_000_000_000,
                end_time_unix_nano: 1_764_583_201_000_000_000,
                attributes: on_span,
                ..Default::default()
            };
            let request = ExportTraceServiceRequest {
                resource_spans: vec![ResourceSpans {
                    resource: Some(Resource { attributes: on_resource, ..Default::default() }),
                    scope_spans: vec![ScopeSpans { spans: vec![span], ..Default::default() }],
                    schema_url: String::new(),
                }],
            };
            let mapped = map_request(&request).remove(0).mapped;
            let body = match mapped {
                Mapped::Event(body) => body,
                Mapped::Run(run) => run.body,
                other => panic!("{line}: {attribute} made {other:?}"),
            };
            let got = &body[field.as_str()];
            let expected = match field.as_str() {
                "seq" => json!(41),
                "scope" => json!([value]),
                _ => json!(value),
            };
            assert_eq!(got, &expected, "{line}: {attribute} should become {field}");
        }
        rows += 1;
    }
    assert!(rows >= 20, "the table has {rows} rows");
}

/// With every export slot taken (the server is still storing eight
/// exports), the next waits, then gets 503 and Retry-After; once a slot is
/// free it is stored.
#[tokio::test]
async fn an_overloaded_server_says_when_to_retry() {
    let t = start(Db::Sqlite).await;
    let body = request(
        Some("analytics"),
        vec![span(
            6,
            1,
            "execute_tool sql",
            json!({"gen_ai.operation.name": "execute_tool", "gen_ai.agent.id": "report-bot", "mandate.actor_type": "SYSTEM"}),
        )],
    );
    let mut turns = Vec::new();
    for _ in 0..mandate::server::routes::otlp::IN_FLIGHT {
        turns.push(t.server.state.otlp_turn().await);
    }
    let busy = export(&t.server.url(), Some(AGENT), PROTOBUF, None, vec![]).await;
    assert_eq!(busy.export(PROTOBUF).partial_success, None, "an empty export needs no slot");
    let busy = export(&t.server.url(), Some(AGENT), JSON, None, body.clone()).await;
    assert_eq!(busy.status, 503);
    assert_eq!(busy.headers["retry-after"], "1");
    assert!(busy.rpc_status(JSON).message.starts_with("BUSY: "), "{}", String::from_utf8_lossy(&busy.body));
    drop(turns);
    let a = export(&t.server.url(), Some(AGENT), JSON, None, body).await;
    assert_eq!(a.export(JSON).partial_success, None);
    let agents = t.get(VIEWER, "/api/v1/agents").await.body;
    assert!(agents.to_string().contains("report-bot"), "{agents}");
    t.stop().await;
}
