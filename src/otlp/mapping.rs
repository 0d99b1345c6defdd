//! From spans to what Mandate stores (`docs/otlp.md`, "Mapping", has the
//! table this code implements):
//!
//! - `invoke_agent` spans become runs, already completed;
//! - `execute_tool` spans become tool-call events;
//! - other spans that change a resource (an explicit `mandate.action_type`,
//!   a database write, a deploy step) become events of that action type;
//! - every other span (model calls, HTTP, …) is not Mandate's business.
//!
//! A mapped span is an event or run body in the JSON API's own shape, so it
//! is validated by exactly the code that validates SDK traffic.

use super::attributes::Attributes;
use crate::api::RunStatus;
use chrono::{DateTime, SecondsFormat, Utc};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::trace::v1::{Span, status::StatusCode};
use serde_json::{Map, Value, json};
use std::collections::HashMap;

/// Which span a message is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpanLabel {
    pub trace_id: String,
    pub span_id: String,
    pub name: String,
}

impl std::fmt::Display for SpanLabel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let name: String = self.name.chars().filter(|c| !c.is_control()).take(64).collect();
        write!(f, "span {} {name:?} (trace {})", self.span_id, self.trace_id)
    }
}

/// What a span becomes.
#[derive(Debug, Clone, PartialEq)]
pub enum Mapped {
    /// A body for `POST /api/v1/events`.
    Event(Map<String, Value>),
    /// A run that has already finished.
    Run(RunSpan),
    /// Nothing: the span records no agent action.
    Ignored,
    /// The span itself is unusable (its ids or times), in these words.
    Invalid(String),
}

/// An `invoke_agent` span: a body for `POST /api/v1/runs`, and how it ended.
#[derive(Debug, Clone, PartialEq)]
pub struct RunSpan {
    pub run_id: String,
    pub body: Map<String, Value>,
    pub started: DateTime<Utc>,
    pub ended: DateTime<Utc>,
    pub status: RunStatus,
}

#[derive(Debug, Clone, PartialEq)]
pub struct MappedSpan {
    pub label: SpanLabel,
    pub mapped: Mapped,
}

/// The id Mandate gives the event or run a span becomes: the same span sent
/// twice is the same id, so a re-sent batch is a no-op.
pub fn span_key(trace_id: &str, span_id: &str) -> String {
    format!("otel-{trace_id}-{span_id}")
}

/// Database statements that change data or schema.
const DB_WRITES: [&str; 8] = ["INSERT", "UPDATE", "DELETE", "MERGE", "UPSERT", "REPLACE", "COPY", "BULK"];
const DB_SCHEMA_CHANGES: [&str; 5] = ["CREATE", "ALTER", "DROP", "TRUNCATE", "RENAME"];

/// What a span is, by its conventions.
enum Kind {
    Agent,
    /// An action: its action type, resource and tool as the span names them.
    Action {
        action_type: String,
        resource: Option<String>,
        tool: Option<String>,
    },
    Other,
}

fn kind(span: &Span, a: &Attributes) -> Kind {
    let operation = a.on_span("gen_ai.operation.name");
    let named = |prefix: &str| operation.is_none() && span.name.starts_with(prefix);
    let explicit = a.on_span("mandate.action_type");
    let resource = a.on_span("mandate.resource");
    if operation.as_deref() == Some("invoke_agent") || named("invoke_agent") {
        return Kind::Agent;
    }
    if operation.as_deref() == Some("execute_tool") || named("execute_tool") {
        let tool = a.on_span("gen_ai.tool.name").or_else(|| {
            span.name.strip_prefix("execute_tool").map(str::trim).filter(|t| !t.is_empty()).map(str::to_owned)
        });
        return Kind::Action { action_type: explicit.unwrap_or_else(|| "tool_call".into()), resource, tool };
    }
    if let Some(action_type) = explicit {
        return Kind::Action { action_type, resource, tool: a.on_span("gen_ai.tool.name") };
    }
    let statement = a.on_span("db.operation.name").or_else(|| a.on_span("db.operation"));
    if let Some(statement) = statement {
        let verb = statement.split_whitespace().next().unwrap_or("").to_ascii_uppercase();
        let action_type = if DB_WRITES.contains(&verb.as_str()) {
            Some("db_write")
        } else if DB_SCHEMA_CHANGES.contains(&verb.as_str()) {
            Some("migration")
        } else {
            None
        };
        if let Some(action_type) = action_type {
            return Kind::Action {
                action_type: action_type.into(),
                resource: resource.or_else(|| a.on_span("db.namespace")).or_else(|| a.on_span("db.name")),
                tool: a.on_span("db.system.name").or_else(|| a.on_span("db.system")),
            };
        }
    }
    if a.on_span("cicd.pipeline.task.type").is_some_and(|t| t.eq_ignore_ascii_case("deploy")) {
        return Kind::Action {
            action_type: "deploy".into(),
            resource: resource.or_else(|| a.on_span("k8s.deployment.name")).or_else(|| a.on_span("deployment.name")),
            tool: a.on_span("cicd.pipeline.name"),
        };
    }
    Kind::Other
}

/// Who acted, as the span says it; never guessed.
#[derive(Debug, Clone, Default)]
struct Who {
    agent_id: Option<String>,
    actor_type: Option<String>,
    actor_id: Option<String>,
    origin_system_id: Option<String>,
}

fn who(a: &Attributes) -> Who {
    let end_user = a.get("enduser.id");
    let actor_type = a.get("mandate.actor_type").or_else(|| end_user.as_ref().map(|_| "HUMAN".to_owned()));
    let human = actor_type.as_deref().is_some_and(|t| t.trim().eq_ignore_ascii_case("HUMAN"));
    Who {
        agent_id: a.first(&["gen_ai.agent.id", "gen_ai.agent.name"]),
        actor_id: a.get("mandate.actor_id").or(if human { end_user } else { None }),
        actor_type,
        // An SDK that was not told its service's name says `unknown_service…`:
        // that attests nothing.
        origin_system_id: a
            .get("mandate.origin_system_id")
            .or_else(|| a.get("service.name").filter(|s| !s.starts_with("unknown_service"))),
    }
}

impl Who {
    /// Seed 3.5: what a span does not say is what the agent run it belongs
    /// to says. A run's own agent is never inherited.
    fn inherit(mut self, from: &Who, agent_too: bool) -> Who {
        if agent_too && self.agent_id.is_none() {
            self.agent_id = from.agent_id.clone();
        }
        if self.actor_type.is_none() {
            self.actor_type = from.actor_type.clone();
            if self.actor_id.is_none() {
                self.actor_id = from.actor_id.clone();
            }
        }
        if self.origin_system_id.is_none() {
            self.origin_system_id = from.origin_system_id.clone();
        }
        self
    }

    fn put(self, body: &mut Map<String, Value>) {
        let fields = [
            ("agent_id", self.agent_id),
            ("actor_type", self.actor_type),
            ("actor_id", self.actor_id),
            ("origin_system_id", self.origin_system_id),
        ];
        for (key, value) in fields {
            if let Some(value) = value {
                body.insert(key.into(), value.into());
            }
        }
    }
}

/// A span, with where it sits.
struct Located<'a> {
    span: &'a Span,
    attributes: Attributes<'a>,
    scope: &'a str,
    trace_id: String,
    span_id: String,
}

/// Every span of `request`, in order, with what it becomes.
pub fn map_request(request: &ExportTraceServiceRequest) -> Vec<MappedSpan> {
    let mut located = Vec::new();
    for resource_spans in &request.resource_spans {
        let resource = resource_spans.resource.as_ref().map(|r| r.attributes.as_slice()).unwrap_or(&[]);
        for scope_spans in &resource_spans.scope_spans {
            let scope = scope_spans.scope.as_ref().map(|s| s.name.as_str()).unwrap_or("");
            for span in &scope_spans.spans {
                located.push(Located {
                    span,
                    attributes: Attributes { span: &span.attributes, resource },
                    scope,
                    trace_id: hex::encode(&span.trace_id),
                    span_id: hex::encode(&span.span_id),
                });
            }
        }
    }
    // The agent runs of this request, to attribute their tool calls.
    let by_id: HashMap<(&[u8], &[u8]), usize> =
        located.iter().enumerate().map(|(i, l)| ((l.span.trace_id.as_slice(), l.span.span_id.as_slice()), i)).collect();
    let agent_run = |l: &Located| -> Option<usize> {
        let mut parent = l.span.parent_span_id.as_slice();
        // Bounded: a cycle of parents in hostile input ends here.
        for _ in 0..64 {
            if parent.is_empty() {
                return None;
            }
            let &i = by_id.get(&(l.span.trace_id.as_slice(), parent))?;
            if matches!(kind(located[i].span, &located[i].attributes), Kind::Agent) {
                return Some(i);
            }
            parent = located[i].span.parent_span_id.as_slice();
        }
        None
    };
    located
        .iter()
        .map(|l| {
            let label =
                SpanLabel { trace_id: l.trace_id.clone(), span_id: l.span_id.clone(), name: l.span.name.clone() };
            let run = agent_run(l).map(|i| &located[i]);
            MappedSpan { label, mapped: map_span(l, run) }
        })
        .collect()
}

fn map_span(l: &Located, run: Option<&Located>) -> Mapped {
    if let Some(problem) = unusable(l.span) {
        return Mapped::Invalid(problem);
    }
    let span = l.span;
    let a = &l.attributes;
    let started = DateTime::from_timestamp_nanos(span.start_time_unix_nano.min(i64::MAX as u64) as i64);
    let ended = DateTime::from_timestamp_nanos(span.end_time_unix_nano.min(i64::MAX as u64) as i64).max(started);
    let failed = span.status.as_ref().is_some_and(|s| s.code == StatusCode::Error as i32);
    let inherited = run.map(|r| who(&r.attributes)).unwrap_or_default();
    match kind(span, a) {
        Kind::Other => Mapped::Ignored,
        Kind::Agent => {
            let mut body = Map::new();
            who(a).inherit(&inherited, false).put(&mut body);
            let goal = a.get("gen_ai.agent.description").filter(|d| !d.trim().is_empty()).unwrap_or(span.name.clone());
            body.insert("goal".into(), goal.into());
            body.insert("source".into(), "SDK".into());
            let provider = a.first(&["gen_ai.provider.name", "gen_ai.system"]).unwrap_or_else(|| "unknown".into());
            body.insert("provider_type".into(), provider.into());
            body.insert("risk_level".into(), a.get("mandate.risk_level").unwrap_or_else(|| "medium".into()).into());
            Mapped::Run(RunSpan {
                run_id: span_key(&l.trace_id, &l.span_id),
                body,
                started,
                ended,
                status: if failed { RunStatus::Failed } else { RunStatus::Succeeded },
            })
        }
        Kind::Action { action_type, resource, tool } => {
            let mut body = Map::new();
            body.insert("event_id".into(), span_key(&l.trace_id, &l.span_id).into());
            who(a).inherit(&inherited, true).put(&mut body);
            if let Some(run) = run {
                body.insert("run_id".into(), span_key(&run.trace_id, &run.span_id).into());
            }
            if !span.parent_span_id.is_empty() {
                body.insert("parent_event_id".into(), span_key(&l.trace_id, &hex::encode(&span.parent_span_id)).into());
            }
            body.insert("action_type".into(), action_type.into());
            if let Some(tool) = tool {
                body.insert("tool".into(), tool.into());
            }
            if let Some(resource) = resource {
                body.insert("resource".into(), resource.into());
            }
            if let Some(scope) = a.list("mandate.scope") {
                body.insert("scope".into(), scope.into());
            }
            let exception = span.events.iter().find(|e| e.name == "exception");
            let exception_says =
                |key: &str| exception.and_then(|e| Attributes { span: &e.attributes, resource: &[] }.on_span(key));
            let error_code = a.on_span("error.type").or_else(|| exception_says("exception.type"));
            let outcome = if failed || error_code.is_some() { "error" } else { "ok" };
            body.insert("outcome".into(), outcome.into());
            if outcome == "error" {
                if let Some(code) = error_code {
                    body.insert("error_code".into(), code.into());
                }
                let message = span
                    .status
                    .as_ref()
                    .map(|s| s.message.clone())
                    .filter(|m| !m.trim().is_empty())
                    .or_else(|| exception_says("exception.message"));
                if let Some(message) = message {
                    body.insert("error_message".into(), message.into());
                }
            }
            body.insert("trace_id".into(), l.trace_id.clone().into());
            if let Some(seq) = a.integer("mandate.seq") {
                body.insert("seq".into(), seq.into());
            }
            body.insert("occurred_at".into(), started.to_rfc3339_opts(SecondsFormat::AutoSi, true).into());
            body.insert("metadata".into(), Value::Object(metadata(l, started, ended)));
            Mapped::Event(body)
        }
    }
}

/// What the span says beyond the event's fields: its name, scope and
/// duration, the tool call's id, and every `mandate.metadata.*` attribute.
fn metadata(l: &Located, started: DateTime<Utc>, ended: DateTime<Utc>) -> Map<String, Value> {
    let clip = |s: &str| s.chars().take(256).collect::<String>();
    let mut m = Map::new();
    m.insert("otel.span_name".into(), clip(&l.span.name).into());
    if !l.scope.is_empty() {
        m.insert("otel.scope".into(), clip(l.scope).into());
    }
    m.insert("otel.duration_ms".into(), json!((ended - started).num_microseconds().unwrap_or(0) as f64 / 1000.0));
    if let Some(id) = l.attributes.on_span("gen_ai.tool.call.id") {
        m.insert("gen_ai.tool.call.id".into(), clip(&id).into());
    }
    for (key, value) in l.attributes.with_prefix("mandate.metadata.").into_iter().take(32) {
        m.insert(clip(&key), value.chars().take(2048).collect::<String>().into());
    }
    m
}

/// Why a span cannot be stored at all, if it cannot.
fn unusable(span: &Span) -> Option<String> {
    let zero = |b: &[u8]| b.iter().all(|&x| x == 0);
    if span.trace_id.len() != 16 || zero(&span.trace_id) {
        return Some(format!("trace_id must be 16 bytes, not all zero (got {} bytes)", span.trace_id.len()));
    }
    if span.span_id.len() != 8 || zero(&span.span_id) {
        return Some(format!("span_id must be 8 bytes, not all zero (got {} bytes)", span.span_id.len()));
    }
    if !span.parent_span_id.is_empty() && span.parent_span_id.len() != 8 {
        return Some(format!("parent_span_id must be empty or 8 bytes (got {} bytes)", span.parent_span_id.len()));
    }
    if span.start_time_unix_nano == 0 {
        return Some("start_time_unix_nano is not set".into());
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::otlp::encode::{request, string};

    fn mapped(attributes: &[(&str, &str)], name: &str) -> Mapped {
        let span = Span {
            trace_id: vec![1; 16],
            span_id: vec![2; 8],
            name: name.into(),
            start_time_unix_nano: 1_764_583_200_000_000_000,
            attributes: attributes.iter().map(|(k, v)| string(k, *v)).collect(),
            ..Default::default()
        };
        map_request(&request("svc", vec![span])).remove(0).mapped
    }

    fn action_type(m: &Mapped) -> Option<&str> {
        match m {
            Mapped::Event(body) => body["action_type"].as_str(),
            _ => None,
        }
    }

    #[test]
    fn spans_that_change_a_resource_are_actions_and_others_are_not() {
        let db = |statement| mapped(&[("db.operation.name", statement), ("db.namespace", "users-db")], "db");
        assert_eq!(action_type(&db("UPDATE")), Some("db_write"));
        assert_eq!(action_type(&db("insert into users")), Some("db_write"));
        assert_eq!(action_type(&db("ALTER")), Some("migration"));
        assert_eq!(db("SELECT"), Mapped::Ignored, "a read changes nothing");
        let old = mapped(&[("db.operation", "DELETE"), ("db.name", "orders-db")], "db");
        let Mapped::Event(body) = &old else { panic!("{old:?}") };
        assert_eq!((body["action_type"].as_str(), body["resource"].as_str()), (Some("db_write"), Some("orders-db")));
        let deploy = mapped(&[("cicd.pipeline.task.type", "deploy"), ("k8s.deployment.name", "payments")], "rollout");
        assert_eq!(action_type(&deploy), Some("deploy"));
        assert_eq!(mapped(&[("cicd.pipeline.task.type", "test")], "tests"), Mapped::Ignored);
        assert_eq!(mapped(&[("gen_ai.operation.name", "chat")], "chat gpt-4o"), Mapped::Ignored);
        assert_eq!(mapped(&[("http.request.method", "POST")], "POST /charge"), Mapped::Ignored);
        let explicit = mapped(&[("mandate.action_type", "config_change")], "write config");
        assert_eq!(action_type(&explicit), Some("config_change"));
        // By name alone, when no operation is named.
        assert_eq!(action_type(&mapped(&[], "execute_tool restart")), Some("tool_call"));
        assert!(matches!(mapped(&[], "invoke_agent triage"), Mapped::Run(_)));
        // The operation, when named, decides over the name.
        assert_eq!(mapped(&[("gen_ai.operation.name", "chat")], "execute_tool x"), Mapped::Ignored);
    }

    #[test]
    fn unusable_spans_say_why() {
        let mut span = Span { trace_id: vec![0; 16], span_id: vec![2; 8], ..Default::default() };
        span.start_time_unix_nano = 1;
        let m = map_request(&request("svc", vec![span.clone()])).remove(0).mapped;
        assert!(matches!(&m, Mapped::Invalid(why) if why.contains("trace_id")), "{m:?}");
        span.trace_id = vec![1; 16];
        span.start_time_unix_nano = 0;
        let m = map_request(&request("svc", vec![span])).remove(0).mapped;
        assert!(matches!(&m, Mapped::Invalid(why) if why.contains("start_time")), "{m:?}");
    }

    #[test]
    fn a_cycle_of_parents_ends() {
        let a = Span {
            trace_id: vec![1; 16],
            span_id: vec![2; 8],
            parent_span_id: vec![3; 8],
            name: "execute_tool a".into(),
            start_time_unix_nano: 5,
            ..Default::default()
        };
        let b = Span { span_id: vec![3; 8], parent_span_id: vec![2; 8], name: "execute_tool b".into(), ..a.clone() };
        let out = map_request(&request("svc", vec![a, b]));
        assert!(out.iter().all(|m| matches!(m.mapped, Mapped::Event(_))));
    }
}
