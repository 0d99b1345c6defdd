//! Reading a span's attributes the way the conventions mean them: the
//! span's own first, then its resource's (`OTEL_RESOURCE_ATTRIBUTES` sets
//! those for every span a process emits).

use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
use opentelemetry_proto::tonic::common::v1::{AnyValue, KeyValue};

/// The attributes one span can be read by.
#[derive(Clone, Copy)]
pub struct Attributes<'a> {
    pub span: &'a [KeyValue],
    pub resource: &'a [KeyValue],
}

impl<'a> Attributes<'a> {
    /// The span's own value for `key`, as text.
    pub fn on_span(&self, key: &str) -> Option<String> {
        find(self.span, key).and_then(text)
    }

    /// The span's value for `key`, else its resource's.
    pub fn get(&self, key: &str) -> Option<String> {
        self.on_span(key).or_else(|| find(self.resource, key).and_then(text))
    }

    /// The first of `keys` that is set (current names before older ones).
    pub fn first(&self, keys: &[&str]) -> Option<String> {
        keys.iter().find_map(|k| self.get(k))
    }

    /// A string array (or a single string) for `key`.
    pub fn list(&self, key: &str) -> Option<Vec<String>> {
        let value = find(self.span, key).or_else(|| find(self.resource, key))?;
        match value.value.as_ref()? {
            Any::ArrayValue(array) => Some(array.values.iter().filter_map(text).collect()),
            _ => text(value).map(|v| vec![v]),
        }
    }

    /// An integer for `key` (an int, or text that reads as one).
    pub fn integer(&self, key: &str) -> Option<i64> {
        let value = find(self.span, key).or_else(|| find(self.resource, key))?;
        match value.value.as_ref()? {
            Any::IntValue(i) => Some(*i),
            Any::StringValue(s) => s.trim().parse().ok(),
            _ => None,
        }
    }

    /// Every attribute (span, then resource) whose key starts with `prefix`,
    /// with the prefix taken off; the span's value wins.
    pub fn with_prefix(&self, prefix: &str) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = Vec::new();
        for kv in self.span.iter().chain(self.resource) {
            if let Some(name) = kv.key.strip_prefix(prefix)
                && !name.is_empty()
                && !out.iter().any(|(k, _)| k == name)
                && let Some(value) = kv.value.as_ref().and_then(text)
            {
                out.push((name.to_owned(), value));
            }
        }
        out
    }
}

fn find<'a>(attributes: &'a [KeyValue], key: &str) -> Option<&'a AnyValue> {
    attributes.iter().find(|kv| kv.key == key).and_then(|kv| kv.value.as_ref())
}

/// A scalar attribute value as text; arrays, maps and bytes have none.
pub fn text(value: &AnyValue) -> Option<String> {
    match value.value.as_ref()? {
        Any::StringValue(s) => Some(s.clone()),
        Any::IntValue(i) => Some(i.to_string()),
        Any::BoolValue(b) => Some(b.to_string()),
        Any::DoubleValue(d) => Some(d.to_string()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kv(key: &str, value: Any) -> KeyValue {
        KeyValue { key: key.into(), value: Some(AnyValue { value: Some(value) }), ..Default::default() }
    }

    #[test]
    fn the_span_wins_over_its_resource() {
        let span = [kv("service.name", Any::StringValue("span-says".into()))];
        let resource =
            [kv("service.name", Any::StringValue("resource-says".into())), kv("n", Any::StringValue(" 7 ".into()))];
        let a = Attributes { span: &span, resource: &resource };
        assert_eq!(a.get("service.name").as_deref(), Some("span-says"));
        assert_eq!(a.on_span("n"), None);
        assert_eq!(a.integer("n"), Some(7));
        assert_eq!(a.first(&["missing", "service.name"]).as_deref(), Some("span-says"));
    }
}
