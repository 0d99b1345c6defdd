//! OpenTelemetry in: `POST /v1/traces` (OTLP/HTTP) reads the spans agent
//! frameworks already emit under the GenAI semantic conventions and stores
//! what they say as Mandate's own runs and events.
//!
//! - [`bounds`]: what one export may hold, counted before it is decoded;
//! - [`decode`]: protobuf or JSON, gzip or not, bounded;
//! - [`mapping`]: which span becomes a run, an event or nothing;
//! - [`attributes`]: a span's attributes, then its resource's;
//! - [`answer`]: the export response and the error `Status`;
//! - [`encode`]: spans from Mandate events, for the simulator.

pub mod answer;
pub mod attributes;
pub mod bounds;
pub mod decode;
pub mod encode;
pub mod mapping;

pub use bounds::Limits;
pub use decode::{DecodeError, Encoding};
pub use mapping::{Mapped, MappedSpan, RunSpan, SpanLabel, map_request, span_key};

/// The OTLP/HTTP path for traces.
pub const TRACES_PATH: &str = "/v1/traces";
/// A request body on the wire, compressed or not.
pub const MAX_REQUEST_BYTES: usize = 8 * 1024 * 1024;
/// A request body once decompressed.
pub const MAX_DECODED_BYTES: usize = 32 * 1024 * 1024;
/// Exports decoded at once, whatever the number stored at once: with
/// [`MAX_DECODED_BYTES`] and [`Limits::DEFAULT`] this bounds what decoding
/// can hold (`docs/security.md`).
pub const DECODING_AT_ONCE: usize = 2;
