//! Reading an OTLP/HTTP request body: binary protobuf or its JSON mapping,
//! gzip-compressed or not. CPU work: callers run it off the async runtime.

use super::bounds::{Limits, OverLimit, count_json, count_protobuf};
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use prost::Message;
use std::io::Read;
use std::sync::atomic::AtomicBool;

/// The two encodings of OTLP/HTTP, told apart by `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    Protobuf,
    Json,
}

impl Encoding {
    pub const PROTOBUF: &'static str = "application/x-protobuf";
    pub const JSON: &'static str = "application/json";

    /// The encoding a `Content-Type` names (parameters and case ignored).
    pub fn of(content_type: &str) -> Option<Encoding> {
        let media = content_type.split(';').next().unwrap_or("").trim();
        if media.eq_ignore_ascii_case(Self::PROTOBUF) || media.eq_ignore_ascii_case("application/protobuf") {
            Some(Encoding::Protobuf)
        } else if media.eq_ignore_ascii_case(Self::JSON) {
            Some(Encoding::Json)
        } else {
            None
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Encoding::Protobuf => Self::PROTOBUF,
            Encoding::Json => Self::JSON,
        }
    }
}

/// Why a body could not be read as a trace export.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("the body is not valid gzip: {0}")]
    Gzip(String),
    #[error("the body is over {limit} bytes once decompressed")]
    TooLarge { limit: usize },
    #[error("the body is not an ExportTraceServiceRequest in binary protobuf: {0}")]
    Protobuf(String),
    #[error("the body is not an ExportTraceServiceRequest in OTLP JSON: {0}")]
    Json(String),
    #[error("{0}")]
    OverLimit(#[from] OverLimit),
}

/// Decodes `body`, gunzipping it first when `gzip`; a decompressed body over
/// `max_decoded` bytes is refused before it is all in memory, and one that
/// holds more than `limits` before it is decoded. Set `gone` when the client
/// goes: the count stops there.
pub fn decode(
    body: &[u8],
    encoding: Encoding,
    gzip: bool,
    max_decoded: usize,
    limits: Limits,
    gone: &AtomicBool,
) -> Result<ExportTraceServiceRequest, DecodeError> {
    let inflated;
    let bytes = if gzip {
        let mut out = Vec::with_capacity(body.len().saturating_mul(4).min(max_decoded));
        flate2::read::GzDecoder::new(body)
            .take(max_decoded as u64 + 1)
            .read_to_end(&mut out)
            .map_err(|e| DecodeError::Gzip(e.to_string()))?;
        if out.len() > max_decoded {
            return Err(DecodeError::TooLarge { limit: max_decoded });
        }
        inflated = out;
        inflated.as_slice()
    } else {
        body
    };
    match encoding {
        Encoding::Protobuf => count_protobuf(bytes, limits, gone)?,
        Encoding::Json => count_json(bytes, limits, gone)?,
    };
    if gone.load(std::sync::atomic::Ordering::Relaxed) {
        return Err(OverLimit::Abandoned.into());
    }
    match encoding {
        Encoding::Protobuf => {
            ExportTraceServiceRequest::decode(bytes).map_err(|e| DecodeError::Protobuf(e.to_string()))
        }
        Encoding::Json => {
            let mut reader = serde_json::Deserializer::from_slice(bytes);
            serde_path_to_error::deserialize(&mut reader).map_err(|e| {
                let path = e.path().to_string();
                let inner = e.into_inner();
                if path == "." {
                    DecodeError::Json(inner.to_string())
                } else {
                    DecodeError::Json(format!("{path}: {inner}"))
                }
            })
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    const LIMITS: Limits = Limits::DEFAULT;
    static HERE: AtomicBool = AtomicBool::new(false);

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        e.write_all(bytes).unwrap();
        e.finish().unwrap()
    }

    #[test]
    fn content_types_are_read_as_media_types() {
        assert_eq!(Encoding::of("application/x-protobuf"), Some(Encoding::Protobuf));
        assert_eq!(Encoding::of("Application/JSON; charset=utf-8"), Some(Encoding::Json));
        assert_eq!(Encoding::of("text/plain"), None);
        assert_eq!(Encoding::of(""), None);
    }

    #[test]
    fn a_gzip_bomb_is_refused_at_the_limit() {
        let bomb = gzip(&vec![0u8; 1 << 20]);
        assert_eq!(
            decode(&bomb, Encoding::Protobuf, true, 1000, LIMITS, &HERE),
            Err(DecodeError::TooLarge { limit: 1000 })
        );
        assert!(matches!(
            decode(b"not gzip", Encoding::Protobuf, true, 1000, LIMITS, &HERE),
            Err(DecodeError::Gzip(_))
        ));
    }

    #[test]
    fn json_errors_name_where() {
        let body = br#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"zz"}]}]}]}"#;
        let Err(DecodeError::Json(message)) = decode(body, Encoding::Json, false, 1 << 20, LIMITS, &HERE) else {
            panic!()
        };
        assert!(message.starts_with("resourceSpans[0].scopeSpans[0].spans[0].traceId"), "{message}");
        let empty = decode(b"{}", Encoding::Json, false, 1 << 20, LIMITS, &HERE).unwrap();
        assert!(empty.resource_spans.is_empty());
    }
}
