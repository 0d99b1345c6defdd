//! Spans from Mandate's own vocabulary, as an instrumented agent would emit
//! them: the simulator's OpenTelemetry path (`mandate sim --otlp`). The
//! inverse of [`super::mapping`], so what the simulator posts as JSON and
//! what it exports as spans come out the same.

use chrono::{DateTime, Utc};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
use opentelemetry_proto::tonic::common::v1::{AnyValue, ArrayValue, InstrumentationScope, KeyValue};
use opentelemetry_proto::tonic::resource::v1::Resource;
use opentelemetry_proto::tonic::trace::v1::span::SpanKind;
use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span, Status, status::StatusCode};
use serde_json::Value;
use sha2::{Digest, Sha256};

pub fn string(key: &str, value: impl Into<String>) -> KeyValue {
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(Any::StringValue(value.into())) }),
        ..Default::default()
    }
}

fn int(key: &str, value: i64) -> KeyValue {
    KeyValue { key: key.into(), value: Some(AnyValue { value: Some(Any::IntValue(value)) }), ..Default::default() }
}

fn strings(key: &str, values: &[Value]) -> KeyValue {
    let values =
        values.iter().filter_map(Value::as_str).map(|s| AnyValue { value: Some(Any::StringValue(s.into())) }).collect();
    KeyValue {
        key: key.into(),
        value: Some(AnyValue { value: Some(Any::ArrayValue(ArrayValue { values })) }),
        ..Default::default()
    }
}

/// Stable ids for a name: the same name is the same trace and span.
pub fn ids(name: &str) -> ([u8; 16], [u8; 8]) {
    let digest = Sha256::digest(name.as_bytes());
    let mut trace = [0u8; 16];
    let mut span = [0u8; 8];
    trace.copy_from_slice(&digest[..16]);
    span.copy_from_slice(&digest[16..24]);
    (trace, span)
}

fn nanos(at: DateTime<Utc>) -> u64 {
    at.timestamp_nanos_opt().unwrap_or(0).max(0) as u64
}

/// Who acts, as span attributes: the agent, `mandate.actor_type`, and a
/// person as `enduser.id` (the standard attribute).
fn attribution(agent: Option<&str>, actor_type: Option<&str>, actor_id: Option<&str>) -> Vec<KeyValue> {
    let mut out = Vec::new();
    if let Some(agent) = agent {
        out.push(string("gen_ai.agent.id", agent));
    }
    if let Some(t) = actor_type {
        out.push(string("mandate.actor_type", t));
    }
    if let Some(who) = actor_id {
        out.push(string("enduser.id", who));
    }
    out
}

/// One `POST /api/v1/events` body as a span: an `execute_tool` span for a
/// tool call, else a span with `mandate.action_type`. `parent` nests it.
pub fn event_span(event: &Value, trace_id: [u8; 16], span_id: [u8; 8], parent: Option<[u8; 8]>) -> Span {
    let s = |key: &str| event.get(key).and_then(Value::as_str);
    let action = s("action_type").unwrap_or("tool_call");
    let mut attributes = attribution(s("agent_id"), s("actor_type"), s("actor_id"));
    let name = if action == "tool_call" {
        attributes.push(string("gen_ai.operation.name", "execute_tool"));
        format!("execute_tool {}", s("tool").unwrap_or("tool"))
    } else {
        attributes.push(string("mandate.action_type", action));
        format!("{action} {}", s("resource").unwrap_or(""))
    };
    if let Some(tool) = s("tool") {
        attributes.push(string("gen_ai.tool.name", tool));
    }
    if let Some(resource) = s("resource") {
        attributes.push(string("mandate.resource", resource));
    }
    if let Some(scope) = event.get("scope").and_then(Value::as_array) {
        attributes.push(strings("mandate.scope", scope));
    }
    if let Some(seq) = event.get("seq").and_then(Value::as_i64) {
        attributes.push(int("mandate.seq", seq));
    }
    if let Some(metadata) = event.get("metadata").and_then(Value::as_object) {
        for (key, value) in metadata {
            let text = value.as_str().map(str::to_owned).unwrap_or_else(|| value.to_string());
            attributes.push(string(&format!("mandate.metadata.{key}"), text));
        }
    }
    let failed = s("outcome") == Some("error");
    if failed && let Some(code) = s("error_code") {
        attributes.push(string("error.type", code));
    }
    let at = s("occurred_at").and_then(|t| DateTime::parse_from_rfc3339(t).ok()).map(|t| t.with_timezone(&Utc));
    let start = nanos(at.unwrap_or_else(Utc::now));
    Span {
        trace_id: trace_id.to_vec(),
        span_id: span_id.to_vec(),
        parent_span_id: parent.map(|p| p.to_vec()).unwrap_or_default(),
        name,
        kind: SpanKind::Internal as i32,
        start_time_unix_nano: start,
        end_time_unix_nano: start + 40_000_000,
        attributes,
        status: Some(if failed {
            Status { code: StatusCode::Error as i32, message: s("error_message").unwrap_or("").into() }
        } else {
            Status { code: StatusCode::Unset as i32, message: String::new() }
        }),
        ..Default::default()
    }
}

/// An agent's run as an `invoke_agent` span.
pub struct AgentRun<'a> {
    pub agent: &'a str,
    pub goal: &'a str,
    pub provider: &'a str,
    pub risk: &'a str,
    pub actor_type: &'a str,
    pub actor_id: Option<&'a str>,
    pub started: DateTime<Utc>,
    pub ended: DateTime<Utc>,
    pub failed: bool,
}

pub fn agent_span(run: &AgentRun, trace_id: [u8; 16], span_id: [u8; 8]) -> Span {
    let mut attributes = attribution(Some(run.agent), Some(run.actor_type), run.actor_id);
    attributes.extend([
        string("gen_ai.operation.name", "invoke_agent"),
        string("gen_ai.agent.description", run.goal),
        string("gen_ai.provider.name", run.provider),
        string("mandate.risk_level", run.risk),
    ]);
    Span {
        trace_id: trace_id.to_vec(),
        span_id: span_id.to_vec(),
        name: format!("invoke_agent {}", run.agent),
        kind: SpanKind::Internal as i32,
        start_time_unix_nano: nanos(run.started),
        end_time_unix_nano: nanos(run.ended),
        attributes,
        status: Some(Status {
            code: if run.failed { StatusCode::Error } else { StatusCode::Ok } as i32,
            message: String::new(),
        }),
        ..Default::default()
    }
}

/// An export request: the spans of one service (`service.name`).
pub fn request(service: &str, spans: Vec<Span>) -> ExportTraceServiceRequest {
    ExportTraceServiceRequest {
        resource_spans: vec![ResourceSpans {
            resource: Some(Resource { attributes: vec![string("service.name", service)], ..Default::default() }),
            scope_spans: vec![ScopeSpans {
                scope: Some(InstrumentationScope { name: "mandate-sim".into(), ..Default::default() }),
                spans,
                schema_url: String::new(),
            }],
            schema_url: String::new(),
        }],
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::otlp::{Mapped, map_request};
    use serde_json::json;

    /// A simulator event exported as a span maps back to the same event.
    #[test]
    fn an_event_survives_the_round_trip() {
        let event = json!({
            "event_id": "sim1-x-1", "agent_id": "config-gen", "actor_type": "HUMAN", "actor_id": "dana",
            "origin_system_id": "sim-fleet", "action_type": "config_change", "tool": "config_writer",
            "resource": "payments-service", "outcome": "error", "error_code": "TIMEOUT",
            "error_message": "upstream timed out", "occurred_at": "2026-12-01T10:00:00.250Z", "seq": 7,
            "metadata": {"rollback_command": "git revert abc"}, "scope": ["payments-service", "ledger"],
        });
        let (trace, span) = ids("sim1-x-1");
        let mapped = map_request(&request("sim-fleet", vec![event_span(&event, trace, span, None)]));
        let Mapped::Event(body) = &mapped[0].mapped else { panic!("{mapped:?}") };
        for key in [
            "agent_id",
            "actor_type",
            "actor_id",
            "origin_system_id",
            "action_type",
            "tool",
            "resource",
            "outcome",
            "error_code",
            "error_message",
            "seq",
            "scope",
        ] {
            assert_eq!(body.get(key), event.get(key), "{key}");
        }
        assert_eq!(body["occurred_at"], "2026-12-01T10:00:00.250Z");
        assert_eq!(body["metadata"]["rollback_command"], "git revert abc");
        assert_eq!(body["event_id"], format!("otel-{}-{}", hex::encode(trace), hex::encode(span)));
    }
}
