//! What one export may hold, counted before anything is decoded.
//!
//! A byte cap alone bounds nothing: an empty span is two bytes of protobuf
//! (three of JSON) and a few hundred once decoded, so a 31 KB gzip of empty
//! spans would decode into gigabytes. Each body is walked once, without
//! allocating, and refused when it holds more spans, objects or nesting
//! than [`Limits`] allows; only then is it decoded.

use std::sync::atomic::{AtomicBool, Ordering};

/// The most one export may hold. Stated in `docs/otlp.md` and in every refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Spans, over all resources and scopes.
    pub spans: usize,
    /// Objects of any kind: protobuf messages and length-delimited fields
    /// (strings, bytes); JSON objects, arrays and array items.
    pub objects: usize,
    /// Messages or JSON values inside one another.
    pub depth: usize,
}

impl Limits {
    pub const DEFAULT: Limits = Limits { spans: 10_000, objects: 500_000, depth: 64 };
}

/// How much an export holds, as counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub spans: usize,
    pub objects: usize,
}

/// Why an export was refused before decoding.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum OverLimit {
    #[error("the export holds more than {limit} spans (the most one request may hold): send smaller batches")]
    Spans { limit: usize },
    #[error(
        "the export holds more than {limit} objects (attributes, events, links, values and strings, counted \
         together; the most one request may hold): send smaller batches"
    )]
    Objects { limit: usize },
    #[error("the export nests values more than {limit} deep (the most one request may)")]
    Depth { limit: usize },
    #[error("the client went away before its export was read")]
    Abandoned,
}

/// Counts as it walks, and stops at the first limit passed.
struct Tally<'a> {
    limits: Limits,
    counts: Counts,
    gone: &'a AtomicBool,
}

impl Tally<'_> {
    fn object(&mut self) -> Result<(), OverLimit> {
        self.counts.objects += 1;
        if self.counts.objects > self.limits.objects {
            return Err(OverLimit::Objects { limit: self.limits.objects });
        }
        // Often enough that an abandoned export stops within milliseconds.
        if self.counts.objects.is_multiple_of(65_536) && self.gone.load(Ordering::Relaxed) {
            return Err(OverLimit::Abandoned);
        }
        Ok(())
    }

    fn span(&mut self) -> Result<(), OverLimit> {
        self.counts.spans += 1;
        if self.counts.spans > self.limits.spans {
            return Err(OverLimit::Spans { limit: self.limits.spans });
        }
        Ok(())
    }

    fn nested(&self, depth: usize) -> Result<(), OverLimit> {
        if depth > self.limits.depth {
            return Err(OverLimit::Depth { limit: self.limits.depth });
        }
        Ok(())
    }
}

/// The messages of a trace export whose repeated fields can grow.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Message {
    Request,
    ResourceSpans,
    Resource,
    ScopeSpans,
    Scope,
    Span,
    SpanEvent,
    SpanLink,
    KeyValue,
    AnyValue,
    ArrayValue,
    KeyValueList,
    /// A message or string whose inside holds nothing that can grow.
    Leaf,
}

impl Message {
    /// What field `field` of this message holds, when it is length-delimited
    /// (opentelemetry-proto's trace and common messages).
    fn child(self, field: u64) -> Message {
        use Message::*;
        match (self, field) {
            (Request, 1) => ResourceSpans,
            (ResourceSpans, 1) => Resource,
            (ResourceSpans, 2) => ScopeSpans,
            (Resource, 1) => KeyValue,
            (ScopeSpans, 1) => Scope,
            (ScopeSpans, 2) => Span,
            (Scope, 3) => KeyValue,
            (Span, 9) => KeyValue,
            (Span, 11) => SpanEvent,
            (Span, 13) => SpanLink,
            (SpanEvent, 3) => KeyValue,
            (SpanLink, 4) => KeyValue,
            (KeyValue, 2) => AnyValue,
            (AnyValue, 5) => ArrayValue,
            (AnyValue, 6) => KeyValueList,
            (ArrayValue, 1) => AnyValue,
            (KeyValueList, 1) => KeyValue,
            _ => Leaf,
        }
    }
}

/// Counts a binary protobuf `ExportTraceServiceRequest`. A body that is not
/// well-formed protobuf is counted as far as it is, and left to the decoder
/// to refuse.
pub fn count_protobuf(body: &[u8], limits: Limits, gone: &AtomicBool) -> Result<Counts, OverLimit> {
    let mut tally = Tally { limits, counts: Counts::default(), gone };
    walk_protobuf(body, Message::Request, 0, &mut tally)?;
    Ok(tally.counts)
}

fn walk_protobuf(mut bytes: &[u8], message: Message, depth: usize, tally: &mut Tally) -> Result<(), OverLimit> {
    tally.nested(depth)?;
    while !bytes.is_empty() {
        let Some(key) = varint(&mut bytes) else { return Ok(()) };
        let (field, wire_type) = (key >> 3, key & 7);
        match wire_type {
            0 => {
                if varint(&mut bytes).is_none() {
                    return Ok(());
                }
            }
            1 | 5 => {
                let width = if wire_type == 1 { 8 } else { 4 };
                let Some(rest) = bytes.get(width..) else { return Ok(()) };
                bytes = rest;
            }
            2 => {
                let Some(len) = varint(&mut bytes) else { return Ok(()) };
                let Some(inner) = usize::try_from(len).ok().and_then(|len| bytes.get(..len)) else {
                    return Ok(());
                };
                bytes = &bytes[inner.len()..];
                tally.object()?;
                let child = message.child(field);
                if child == Message::Span {
                    tally.span()?;
                }
                if child != Message::Leaf {
                    walk_protobuf(inner, child, depth + 1, tally)?;
                }
            }
            // Groups (3, 4) are not in OTLP, and 6, 7 are not wire types.
            _ => return Ok(()),
        }
    }
    Ok(())
}

fn varint(bytes: &mut &[u8]) -> Option<u64> {
    let mut value = 0u64;
    for (i, byte) in bytes.iter().enumerate().take(10) {
        value |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            *bytes = &bytes[i + 1..];
            return Some(value);
        }
    }
    None
}

/// Counts an OTLP JSON export: every object, array and array item, and as
/// spans the objects directly inside a `"spans"` array. A body that is not
/// JSON is counted as far as it goes, and left to the parser to refuse.
pub fn count_json(body: &[u8], limits: Limits, gone: &AtomicBool) -> Result<Counts, OverLimit> {
    let mut tally = Tally { limits, counts: Counts::default(), gone };
    // Per open container: whether it is an array named "spans".
    let mut open: Vec<bool> = Vec::new();
    let mut last_string: &[u8] = b"";
    let mut after_key = false;
    let mut i = 0;
    while i < body.len() {
        let byte = body[i];
        match byte {
            b'"' => {
                let start = i + 1;
                i = start;
                while i < body.len() && body[i] != b'"' {
                    i += if body[i] == b'\\' { 2 } else { 1 };
                }
                last_string = body.get(start..i).unwrap_or_default();
                after_key = false;
            }
            b':' => after_key = true,
            b'{' | b'[' => {
                if open.last() == Some(&true) && byte == b'{' {
                    tally.span()?;
                }
                tally.object()?;
                open.push(byte == b'[' && after_key && last_string == b"spans");
                tally.nested(open.len())?;
                after_key = false;
            }
            b'}' | b']' => {
                open.pop();
                after_key = false;
            }
            b',' => {
                tally.object()?;
                after_key = false;
            }
            b' ' | b'\t' | b'\r' | b'\n' => {}
            _ => after_key = false,
        }
        i += 1;
    }
    Ok(tally.counts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
    use opentelemetry_proto::tonic::common::v1::{AnyValue, ArrayValue, KeyValue, any_value};
    use opentelemetry_proto::tonic::trace::v1::{ResourceSpans, ScopeSpans, Span};
    use prost::Message as _;

    const SMALL: Limits = Limits { spans: 100, objects: 1_000, depth: 16 };

    fn here() -> AtomicBool {
        AtomicBool::new(false)
    }

    fn attribute(key: &str, value: any_value::Value) -> KeyValue {
        KeyValue { key: key.into(), value: Some(AnyValue { value: Some(value) }), ..Default::default() }
    }

    fn export(spans: usize, attributes: usize) -> ExportTraceServiceRequest {
        let span = Span {
            name: "tool".into(),
            attributes: (0..attributes)
                .map(|i| attribute(&format!("k{i}"), any_value::Value::StringValue("v".into())))
                .collect(),
            ..Default::default()
        };
        ExportTraceServiceRequest {
            resource_spans: vec![ResourceSpans {
                scope_spans: vec![ScopeSpans { spans: vec![span; spans], ..Default::default() }],
                ..Default::default()
            }],
        }
    }

    #[test]
    fn spans_and_their_parts_are_counted_in_both_encodings() {
        let request = export(3, 2);
        let protobuf = count_protobuf(&request.encode_to_vec(), SMALL, &here()).unwrap();
        assert_eq!(protobuf.spans, 3);
        // Per span: the span, its name, and per attribute the pair, its key,
        // its value and the value's string; then the resource and scope spans.
        assert_eq!(protobuf.objects, 3 * (2 + 2 * 4) + 2);
        let json = count_json(&serde_json::to_vec(&request).unwrap(), SMALL, &here()).unwrap();
        assert_eq!(json.spans, 3);
        assert!(json.objects >= 3 * (1 + 2 * 2), "{json:?}");
    }

    #[test]
    fn empty_spans_are_refused_at_the_span_limit() {
        let request = export(101, 0);
        assert_eq!(count_protobuf(&request.encode_to_vec(), SMALL, &here()), Err(OverLimit::Spans { limit: 100 }));
        let json = format!(r#"{{"resourceSpans":[{{"scopeSpans":[{{"spans":[{}]}}]}}]}}"#, vec!["{}"; 101].join(","));
        assert_eq!(count_json(json.as_bytes(), SMALL, &here()), Err(OverLimit::Spans { limit: 100 }));
    }

    #[test]
    fn attributes_are_refused_at_the_object_limit() {
        let request = export(1, 300);
        assert_eq!(count_protobuf(&request.encode_to_vec(), SMALL, &here()), Err(OverLimit::Objects { limit: 1_000 }));
        let json = serde_json::to_vec(&request).unwrap();
        assert_eq!(count_json(&json, SMALL, &here()), Err(OverLimit::Objects { limit: 1_000 }));
        // Scalars in an array count too: each becomes a value once decoded.
        let numbers = format!("[{}]", vec!["1"; 1_001].join(","));
        assert_eq!(count_json(numbers.as_bytes(), SMALL, &here()), Err(OverLimit::Objects { limit: 1_000 }));
    }

    #[test]
    fn values_nested_too_deep_are_refused() {
        let mut value = any_value::Value::StringValue("x".into());
        for _ in 0..10 {
            value = any_value::Value::ArrayValue(ArrayValue { values: vec![AnyValue { value: Some(value) }] });
        }
        let mut request = export(1, 0);
        request.resource_spans[0].scope_spans[0].spans[0].attributes.push(attribute("deep", value));
        assert_eq!(count_protobuf(&request.encode_to_vec(), SMALL, &here()), Err(OverLimit::Depth { limit: 16 }));
        let json = "[".repeat(17) + &"]".repeat(17);
        assert_eq!(count_json(json.as_bytes(), SMALL, &here()), Err(OverLimit::Depth { limit: 16 }));
    }

    #[test]
    fn strings_hide_nothing_from_the_json_count() {
        // Brackets and commas inside strings (escaped quotes too) are text.
        let body = br#"{"resourceSpans":[{"scopeSpans":[{"spans":[{"name":"a\"{[,,]}"}]}]}]}"#;
        let counts = count_json(body, SMALL, &here()).unwrap();
        assert_eq!(counts, Counts { spans: 1, objects: 7 });
    }

    #[test]
    fn an_abandoned_export_stops_being_counted() {
        let request = export(1, 20_000);
        let limits = Limits { spans: 10, objects: 1_000_000, depth: 16 };
        let gone = AtomicBool::new(true);
        assert_eq!(count_protobuf(&request.encode_to_vec(), limits, &gone), Err(OverLimit::Abandoned));
    }

    #[test]
    fn malformed_protobuf_is_left_to_the_decoder() {
        assert_eq!(count_protobuf(&[0x0a, 0xff], SMALL, &here()), Ok(Counts::default()));
        assert!(ExportTraceServiceRequest::decode(&[0x0a, 0xff][..]).is_err());
    }
}
