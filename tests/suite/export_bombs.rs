//! One request cannot take a server down: OTLP exports that are small on the
//! wire and enormous once decoded (gzip of millions of empty spans, of
//! millions of empty attributes, of values nested deep, in protobuf and in
//! JSON) are refused with a 413 that states the limit, by a real `mandate
//! serve` held to 1.5 GiB of address space, which goes on serving.

use crate::common::{BIN, create_token, serve_command};
use std::io::Write;
use std::time::Duration;

const PROTOBUF: &str = "application/x-protobuf";
const JSON: &str = "application/json";

/// A protobuf length-delimited field: its key, its length, its bytes.
fn field(number: u8, inner: &[u8]) -> Vec<u8> {
    let mut out = vec![number << 3 | 2];
    let mut len = inner.len() as u64;
    loop {
        let byte = (len & 0x7f) as u8;
        len >>= 7;
        out.push(if len == 0 { byte } else { byte | 0x80 });
        if len == 0 {
            break;
        }
    }
    out.extend_from_slice(inner);
    out
}

/// An `ExportTraceServiceRequest` whose one scope holds `spans` as encoded.
fn request_of(spans: &[u8]) -> Vec<u8> {
    field(1, &field(2, spans))
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// The bombs: what each is, its content type, its gzipped body.
fn bombs() -> Vec<(&'static str, &'static str, Vec<u8>)> {
    // 16 million empty spans: 32 MB decompressed, ~4 GB once decoded.
    let empty_spans = request_of(&b"\x12\x00".repeat(16_000_000));
    // One span with 10 million empty attributes.
    let attributes = request_of(&field(2, &b"\x4a\x00".repeat(10_000_000)));
    // 10.7 million `{}` spans in OTLP JSON.
    let json_spans =
        format!(r#"{{"resourceSpans":[{{"scopeSpans":[{{"spans":[{}{{}}]}}]}}]}}"#, "{},".repeat(10_700_000));
    // An attribute array of 10 million zeros.
    let json_values = format!(
        r#"{{"resourceSpans":[{{"scopeSpans":[{{"spans":[{{"attributes":[{{"key":"k","value":{{"arrayValue":{{"values":[{}{{}}]}}}}}}]}}]}}]}}]}}"#,
        "{},".repeat(10_000_000)
    );
    // Values nested 10,000 deep.
    let mut deep = b"\x0a\x01x".to_vec();
    for _ in 0..10_000 {
        deep = field(5, &field(1, &deep));
    }
    let deep = request_of(&field(2, &field(9, &field(2, &deep))));
    vec![
        ("16 million empty spans (protobuf)", PROTOBUF, gzip(&empty_spans)),
        ("10 million empty attributes (protobuf)", PROTOBUF, gzip(&attributes)),
        ("values nested 10,000 deep (protobuf)", PROTOBUF, gzip(&deep)),
        ("10.7 million empty spans (JSON)", JSON, gzip(json_spans.as_bytes())),
        ("10 million array values (JSON)", JSON, gzip(json_values.as_bytes())),
    ]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn export_bombs_are_refused_and_the_server_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens.toml").display().to_string();
    // The least-trusted credential that may export.
    let agent = create_token(&tokens, "fleet", "agent");
    let url = format!("sqlite://{}", dir.path().join("m.db").display());
    let mut command = std::process::Command::new("prlimit");
    command.arg(format!("--as={}", 1536u64 << 20)).arg("--").arg(BIN).env("MALLOC_ARENA_MAX", "2");
    let mut served = serve_command(command, &url, &tokens, "127.0.0.1:0", &[]);
    let base = format!("http://{}", served.addr);
    let http = mandate::sdk::http_client_builder().timeout(Duration::from_secs(60)).build().unwrap();

    let bombs = bombs();
    for (what, content_type, body) in &bombs {
        assert!(body.len() < 200_000, "{what}: {} bytes on the wire", body.len());
        let answer = http
            .post(format!("{base}/v1/traces"))
            .bearer_auth(&agent)
            .header("content-type", *content_type)
            .header("content-encoding", "gzip")
            .body(body.clone())
            .send()
            .await
            .unwrap_or_else(|e| panic!("{what}: the server did not answer: {e}"));
        let status = answer.status().as_u16();
        let text = String::from_utf8_lossy(&answer.bytes().await.unwrap()).into_owned();
        assert_eq!(status, 413, "{what}: {text}");
        assert!(text.contains("the most one request may"), "{what}: the refusal states the limit: {text}");
        assert!(served.child.try_wait().unwrap().is_none(), "{what}: the server died");
    }

    // All at once, twice over: each is refused, none takes the server down.
    let mut sent = Vec::new();
    for (what, content_type, body) in bombs.iter().chain(&bombs) {
        let request = http
            .post(format!("{base}/v1/traces"))
            .bearer_auth(&agent)
            .header("content-type", *content_type)
            .header("content-encoding", "gzip")
            .body(body.clone());
        sent.push((*what, tokio::spawn(request.send())));
    }
    for (what, answer) in sent {
        let status = answer.await.unwrap().unwrap_or_else(|e| panic!("{what}: {e}")).status().as_u16();
        assert!(status == 413 || status == 503, "{what}: {status}");
    }
    assert!(served.child.try_wait().unwrap().is_none(), "the server died under concurrent bombs");

    // Still serving: health, and a real export is stored.
    let health = http.get(format!("{base}/healthz")).send().await.unwrap();
    assert_eq!(health.status(), 200);
    let span = serde_json::json!({"resourceSpans": [{"scopeSpans": [{"spans": [{
    "traceId": "5b8efff798038103d269b633813fc60c", "spanId": "eee19b7ec3c1b174", "name": "execute_tool deploy",
    "startTimeUnixNano": format!("{}", chrono::Utc::now().timestamp_nanos_opt().unwrap()),
    "endTimeUnixNano": format!("{}", chrono::Utc::now().timestamp_nanos_opt().unwrap()),
    "attributes": [
        {"key": "gen_ai.operation.name", "value": {"stringValue": "execute_tool"}},
        {"key": "gen_ai.agent.id", "value": {"stringValue": "deployer-1"}},
        {"key": "gen_ai.tool.name", "value": {"stringValue": "deploy"}},
    ]}]}]}]});
    let answer = http
        .post(format!("{base}/v1/traces"))
        .bearer_auth(&agent)
        .header("content-type", JSON)
        .body(span.to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 200, "{}", answer.text().await.unwrap());
    served.kill();
}
