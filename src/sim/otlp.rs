//! The simulator's OpenTelemetry path: the fleet's runs and events sent as
//! spans to `POST /v1/traces` (binary protobuf, gzip), as an agent
//! framework's OTLP exporter sends them.

use crate::otlp::encode;
pub use crate::otlp::encode::AgentRun;
use opentelemetry_proto::tonic::collector::trace::v1::{ExportTraceServiceRequest, ExportTraceServiceResponse};
use prost::Message;
use std::io::Write;

pub struct Exporter {
    http: reqwest::Client,
    url: String,
    token: String,
}

/// What the server said to one export.
#[derive(Debug)]
pub struct Exported {
    pub rejected: i64,
    pub message: String,
}

impl Exporter {
    pub fn new(http: reqwest::Client, api: &str, token: &str) -> Exporter {
        let url = format!("{}{}", api.trim_end_matches('/'), crate::otlp::TRACES_PATH);
        Exporter { http, url, token: token.to_owned() }
    }

    pub async fn export(&self, request: &ExportTraceServiceRequest) -> Result<Exported, String> {
        let mut gzip = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gzip.write_all(&request.encode_to_vec()).map_err(|e| e.to_string())?;
        let body = gzip.finish().map_err(|e| e.to_string())?;
        let response = self
            .http
            .post(&self.url)
            .bearer_auth(&self.token)
            .header("content-type", crate::otlp::Encoding::PROTOBUF)
            .header("content-encoding", "gzip")
            .body(body)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        let status = response.status();
        let bytes = response.bytes().await.map_err(|e| e.to_string())?;
        if !status.is_success() {
            let why = crate::otlp::answer::Status::decode(bytes.as_ref()).map(|s| s.message).unwrap_or_default();
            return Err(format!("{status}: {why}"));
        }
        let answer = ExportTraceServiceResponse::decode(bytes.as_ref()).map_err(|e| e.to_string())?;
        let partial = answer.partial_success.unwrap_or_default();
        Ok(Exported { rejected: partial.rejected_spans, message: partial.error_message })
    }

    /// One event (a JSON API body) as one span of its own trace.
    pub async fn event(&self, event: &serde_json::Value) -> Result<Exported, String> {
        let id = event.get("event_id").and_then(|v| v.as_str()).unwrap_or("event");
        let (trace, span) = encode::ids(id);
        let service = event.get("origin_system_id").and_then(|v| v.as_str()).unwrap_or("sim-fleet");
        self.export(&encode::request(service, vec![encode::event_span(event, trace, span, None)])).await
    }

    /// A finished run and its tool call: an `invoke_agent` span with an
    /// `execute_tool` child, in one trace.
    pub async fn run(
        &self,
        name: &str,
        service: &str,
        run: &AgentRun<'_>,
        tool_call: &serde_json::Value,
    ) -> Result<Exported, String> {
        let (trace, agent_span) = encode::ids(name);
        let (_, tool_span) = encode::ids(&format!("{name}/tool"));
        let spans = vec![
            encode::agent_span(run, trace, agent_span),
            encode::event_span(tool_call, trace, tool_span, Some(agent_span)),
        ];
        self.export(&encode::request(service, spans)).await
    }
}

impl Exporter {
    /// A run with no tool call.
    pub async fn run_alone(&self, name: &str, service: &str, run: &AgentRun<'_>) -> Result<Exported, String> {
        let (trace, span) = encode::ids(name);
        self.export(&encode::request(service, vec![encode::agent_span(run, trace, span)])).await
    }
}
