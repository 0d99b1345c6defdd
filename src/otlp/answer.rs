//! OTLP/HTTP answers, in the encoding of the request: the export response
//! (with `partial_success` when spans were rejected) and, for every 4xx and
//! 5xx, a `google.rpc.Status`.

use super::decode::Encoding;
use opentelemetry_proto::tonic::collector::trace::v1::{ExportTracePartialSuccess, ExportTraceServiceResponse};
use prost::Message;

/// `google.rpc.Status`, which OTLP/HTTP error bodies are. It is Google's
/// message, not OpenTelemetry's, so `opentelemetry-proto` does not carry it;
/// `details` (field 3) is never sent.
#[derive(Clone, PartialEq, prost::Message, serde::Serialize, serde::Deserialize)]
pub struct Status {
    #[prost(int32, tag = "1")]
    pub code: i32,
    #[prost(string, tag = "2")]
    pub message: String,
}

/// The `google.rpc.Code` closest to an HTTP status (OTLP clients go by the
/// HTTP status; the code is for their logs).
pub fn rpc_code(http: u16) -> i32 {
    match http {
        400 | 413 | 415 => 3, // INVALID_ARGUMENT
        401 => 16,            // UNAUTHENTICATED
        403 => 7,             // PERMISSION_DENIED
        404 => 5,             // NOT_FOUND
        405 => 12,            // UNIMPLEMENTED
        409 => 9,             // FAILED_PRECONDITION
        429 => 8,             // RESOURCE_EXHAUSTED
        503 => 14,            // UNAVAILABLE
        _ => 13,              // INTERNAL
    }
}

pub fn status_body(encoding: Encoding, status: &Status) -> Vec<u8> {
    match encoding {
        Encoding::Protobuf => status.encode_to_vec(),
        Encoding::Json => serde_json::to_vec(status).unwrap_or_default(),
    }
}

/// The 200 answer: `rejected` spans refused for the reasons in `message`.
/// With none rejected and no message, `partial_success` stays unset.
pub fn export_body(encoding: Encoding, rejected: i64, message: String) -> Vec<u8> {
    let partial_success = (rejected > 0 || !message.is_empty())
        .then_some(ExportTracePartialSuccess { rejected_spans: rejected, error_message: message });
    let response = ExportTraceServiceResponse { partial_success };
    match encoding {
        Encoding::Protobuf => response.encode_to_vec(),
        Encoding::Json => serde_json::to_vec(&response).unwrap_or_default(),
    }
}
