//! Strict reading of request bodies and query strings: every problem becomes
//! a 4xx naming what was wrong, never a 5xx, a panic or a silent default.

use super::ApiError;
use crate::api::{ErrorDetail, ErrorType};
use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::{StatusCode, header};
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

/// Largest request body accepted (bigger ones get 413).
pub const MAX_BODY_BYTES: usize = 1 << 20;
/// Event batches may be larger: up to 1,000 events, 4 MiB.
pub const MAX_BATCH_BODY_BYTES: usize = 4 << 20;
/// The longest a request body may take to arrive once its headers have.
pub const BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

/// A JSON object body, sent as `application/json`.
pub struct JsonObject(pub Map<String, Value>);

impl<S: Send + Sync> FromRequest<S> for JsonObject {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = read_body(req, state, MAX_BODY_BYTES).await?;
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Object(map)) => Ok(JsonObject(map)),
            Ok(other) => Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                ErrorType::SchemaValidation,
                "BODY_NOT_OBJECT",
                format!("request body must be a JSON object, not {}", json_kind(&other)),
            )),
            Err(e) => Err(malformed(e)),
        }
    }
}

/// Any JSON body up to [`MAX_BATCH_BODY_BYTES`]: for event batches.
pub struct JsonDocument(pub Value);

impl<S: Send + Sync> FromRequest<S> for JsonDocument {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = read_body(req, state, MAX_BATCH_BODY_BYTES).await?;
        serde_json::from_slice::<Value>(&bytes).map(JsonDocument).map_err(malformed)
    }
}

fn malformed(e: serde_json::Error) -> ApiError {
    ApiError::invalid_request(
        "MALFORMED_JSON",
        format!("malformed JSON at line {} column {}: {e}", e.line(), e.column()),
    )
}

fn human_bytes(n: usize) -> String {
    if n.is_multiple_of(1 << 20) { format!("{} MiB", n >> 20) } else { format!("{} KiB", n >> 10) }
}

fn too_large(limit: usize) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        ErrorType::InvalidRequest,
        "BODY_TOO_LARGE",
        format!("request body is larger than {} ({limit} bytes), this route's limit", human_bytes(limit)),
    )
}

async fn read_body<S: Send + Sync>(req: Request, state: &S, limit: usize) -> Result<Bytes, ApiError> {
    let content_type = req.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).unwrap_or("");
    if !is_json(content_type) {
        return Err(ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ErrorType::InvalidRequest,
            "UNSUPPORTED_MEDIA_TYPE",
            format!("Content-Type must be application/json, not {:?}", content_type),
        ));
    }
    let _ = state;
    let read = axum::body::to_bytes(req.into_body(), limit);
    let bytes = match tokio::time::timeout(BODY_TIMEOUT, read).await {
        Err(_) => {
            return Err(ApiError::new(
                StatusCode::REQUEST_TIMEOUT,
                ErrorType::InvalidRequest,
                "BODY_TIMEOUT",
                format!("the request body did not arrive within {} s", BODY_TIMEOUT.as_secs()),
            ));
        }
        Ok(Err(e)) if is_length_limit(&e) => return Err(too_large(limit)),
        Ok(Err(e)) => {
            return Err(ApiError::invalid_request("BODY_UNREADABLE", format!("request body could not be read: {e}")));
        }
        Ok(Ok(bytes)) => bytes,
    };
    Ok(bytes)
}

/// Whether reading a body stopped at its length limit.
fn is_length_limit(e: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(s) = source {
        if s.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = s.source();
    }
    false
}

fn is_json(content_type: &str) -> bool {
    let essence = content_type.split(';').next().unwrap_or("").trim().to_ascii_lowercase();
    essence == "application/json" || (essence.starts_with("application/") && essence.ends_with("+json"))
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

fn schema_error(field: &str, code: &str, message: String) -> ErrorDetail {
    ErrorDetail {
        error_type: ErrorType::SchemaValidation,
        code: code.to_owned(),
        message,
        field: Some(field.to_owned()),
    }
}

/// What a string may hold.
#[derive(Clone, Copy)]
enum Text {
    /// Anything but NUL.
    Free,
    /// No control character at all (C0, DEL, C1), NUL included.
    Identifier,
}

impl Text {
    /// Why `value` is refused as `name`, if it is.
    fn refusal(self, name: &str, value: &str) -> Option<(&'static str, String)> {
        match self {
            Text::Free => {
                let at = value.chars().position(|c| c == '\0')?;
                Some(("FIELD_INVALID_VALUE", format!("{name} must not contain NUL (U+0000, at character {})", at + 1)))
            }
            Text::Identifier => crate::api::identifier::refusal(value).map(|r| (r.code(), r.message(name))),
        }
    }
}

/// Refuses an identifier taken from a path or a query with a control,
/// invisible, bidi or private-use character in it, naming where it came from.
pub fn check_id(name: &str, value: &str) -> Result<(), ApiError> {
    match Text::Identifier.refusal(name, value) {
        None => Ok(()),
        Some((code, message)) => Err(ApiError::invalid_request(code, message).with_field(name)),
    }
}

/// Takes fields out of a JSON object one by one, collecting every schema
/// violation; what is left at the end is an unknown field.
pub struct Fields {
    map: Map<String, Value>,
    pub errors: Vec<ErrorDetail>,
}

impl Fields {
    pub fn new(map: Map<String, Value>) -> Self {
        Fields { map, errors: Vec::new() }
    }

    /// A string or null/absent. Non-strings, over-long strings and strings
    /// holding NUL (which PostgreSQL cannot store) are violations.
    pub fn optional_string(&mut self, name: &str, max_chars: usize) -> Option<String> {
        self.string_of(name, max_chars, Text::Free)
    }

    /// An identifier (agent, actor, origin, resource, tool, …) or
    /// null/absent: besides `optional_string`'s rules, no control character.
    pub fn optional_id(&mut self, name: &str, max_chars: usize) -> Option<String> {
        self.string_of(name, max_chars, Text::Identifier)
    }

    /// A non-blank identifier.
    pub fn required_id(&mut self, name: &str, max_chars: usize) -> Option<String> {
        let present = self.map.contains_key(name) && !self.map[name].is_null();
        let value = self.optional_id(name, max_chars);
        self.not_blank(name, present, value)
    }

    fn string_of(&mut self, name: &str, max_chars: usize, text: Text) -> Option<String> {
        match self.map.remove(name) {
            None | Some(Value::Null) => None,
            Some(Value::String(s)) if s.chars().count() > max_chars => {
                self.errors.push(schema_error(
                    name,
                    "FIELD_TOO_LONG",
                    format!("{name} must be at most {max_chars} characters"),
                ));
                None
            }
            Some(Value::String(s)) => match text.refusal(name, &s) {
                Some((code, message)) => {
                    self.errors.push(schema_error(name, code, message));
                    None
                }
                None if matches!(text, Text::Identifier) => Some(crate::api::identifier::normalized(s)),
                None => Some(s),
            },
            Some(other) => {
                let message = format!("{name} must be a string, not {}", json_kind(&other));
                self.errors.push(schema_error(name, "FIELD_INVALID_TYPE", message));
                None
            }
        }
    }

    /// A non-blank string.
    pub fn required_string(&mut self, name: &str, max_chars: usize) -> Option<String> {
        let present = self.map.contains_key(name) && !self.map[name].is_null();
        let value = self.optional_string(name, max_chars);
        self.not_blank(name, present, value)
    }

    fn not_blank(&mut self, name: &str, present: bool, value: Option<String>) -> Option<String> {
        match value {
            Some(s) if !s.trim().is_empty() => Some(s),
            Some(_) => {
                self.errors.push(schema_error(
                    name,
                    "FIELD_MISSING",
                    format!("{name} is required and cannot be blank"),
                ));
                None
            }
            None if !present => {
                self.errors.push(schema_error(name, "FIELD_MISSING", format!("{name} is required")));
                None
            }
            None => None,
        }
    }

    /// One of a closed set of strings, any case.
    pub fn required_enum<T>(&mut self, name: &str, parse: fn(&str) -> Option<T>, allowed: &str) -> Option<T> {
        let raw = self.required_string(name, 64)?;
        let value = parse(&raw);
        if value.is_none() {
            self.errors.push(schema_error(name, "FIELD_INVALID_VALUE", format!("{name} must be one of: {allowed}")));
        }
        value
    }

    /// One of a closed set of strings, any case, or null/absent.
    pub fn optional_enum<T>(&mut self, name: &str, parse: fn(&str) -> Option<T>, allowed: &str) -> Option<T> {
        let raw = self.optional_id(name, 64)?;
        let value = parse(&raw);
        if value.is_none() {
            self.errors.push(schema_error(name, "FIELD_INVALID_VALUE", format!("{name} must be one of: {allowed}")));
        }
        value
    }

    /// Whether the body has `name`, and not as null.
    pub fn has(&self, name: &str) -> bool {
        self.map.get(name).is_some_and(|v| !v.is_null())
    }

    /// A boolean, or `default` when null/absent.
    pub fn optional_bool(&mut self, name: &str, default: bool) -> bool {
        match self.map.remove(name) {
            None | Some(Value::Null) => default,
            Some(Value::Bool(b)) => b,
            Some(other) => {
                let message = format!("{name} must be true or false, not {}", json_kind(&other));
                self.errors.push(schema_error(name, "FIELD_INVALID_TYPE", message));
                default
            }
        }
    }

    /// A boolean, or None when null/absent.
    pub fn optional_flag(&mut self, name: &str) -> Option<bool> {
        let present = self.map.get(name).is_some_and(|v| !v.is_null());
        let value = self.optional_bool(name, false);
        present.then_some(value)
    }

    /// A whole number, or null/absent.
    pub fn optional_integer(&mut self, name: &str) -> Option<i64> {
        match self.map.remove(name) {
            None | Some(Value::Null) => None,
            Some(Value::Number(n)) if n.as_i64().is_some_and(|n| n >= 0) => n.as_i64(),
            Some(other) => {
                let message = format!("{name} must be a whole number of 0 or more, not {other}");
                self.errors.push(schema_error(name, "FIELD_INVALID_VALUE", message));
                None
            }
        }
    }

    /// A list of identifiers, at most `max_items`, or empty when null/absent.
    pub fn id_list(&mut self, name: &str, max_items: usize, max_chars: usize) -> Vec<String> {
        match self.map.remove(name) {
            None | Some(Value::Null) => vec![],
            Some(Value::Array(items)) if items.len() <= max_items => {
                let mut strings = Vec::with_capacity(items.len());
                for (i, item) in items.into_iter().enumerate() {
                    let field = format!("{name}[{i}]");
                    let refused = match &item {
                        Value::String(s) if s.chars().count() <= max_chars => Text::Identifier.refusal(&field, s),
                        _ => Some((
                            "FIELD_INVALID_VALUE",
                            format!("{name} must hold strings of at most {max_chars} characters"),
                        )),
                    };
                    match (refused, item) {
                        (None, Value::String(s)) => strings.push(crate::api::identifier::normalized(s)),
                        (Some((code, message)), _) => {
                            self.errors.push(schema_error(name, code, message));
                            return vec![];
                        }
                        _ => {}
                    }
                }
                strings
            }
            Some(_) => {
                let message = format!("{name} must be a list of at most {max_items} strings");
                self.errors.push(schema_error(name, "FIELD_INVALID_VALUE", message));
                vec![]
            }
        }
    }

    /// A JSON object of at most `max_bytes` once encoded, or empty.
    pub fn object(&mut self, name: &str, max_bytes: usize) -> Map<String, Value> {
        match self.map.remove(name) {
            None | Some(Value::Null) => Map::new(),
            Some(Value::Object(m)) if Value::Object(m.clone()).to_string().len() <= max_bytes => m,
            Some(_) => {
                let message = format!("{name} must be a JSON object of at most {max_bytes} bytes");
                self.errors.push(schema_error(name, "FIELD_INVALID_VALUE", message));
                Map::new()
            }
        }
    }

    /// An RFC 3339 timestamp, or null/absent.
    pub fn optional_timestamp(&mut self, name: &str) -> Option<DateTime<Utc>> {
        let raw = self.optional_string(name, 64)?;
        match DateTime::parse_from_rfc3339(&raw) {
            Ok(t) => Some(t.with_timezone(&Utc)),
            Err(e) => {
                let message = format!("{name} must be an RFC 3339 timestamp such as 2026-01-18T09:30:00Z: {e}");
                self.errors.push(schema_error(name, "FIELD_INVALID_VALUE", message));
                None
            }
        }
    }

    /// Ends the reading of a body: fields nobody asked for are refused, and
    /// every problem found is reported at once.
    pub fn finish(&mut self) -> Result<(), ApiError> {
        self.finish_after(Vec::new()).map_err(ApiError::violations)
    }

    /// Ends the reading as [`Fields::finish`] does, with `first` (problems
    /// a caller found beyond the fields, such as the attribution contract's
    /// violations) put before the fields' own: every problem, in one answer.
    pub fn finish_after(&mut self, mut first: Vec<ErrorDetail>) -> Result<(), Vec<ErrorDetail>> {
        self.reject_unknown();
        first.append(&mut self.errors);
        match first.is_empty() {
            true => Ok(()),
            false => Err(first),
        }
    }

    /// [`Fields::finish`], then the required values read (every one is
    /// there: a missing one is a problem found and reported).
    pub fn finish_with<T>(&mut self, required: Option<T>) -> Result<T, ApiError> {
        self.finish()?;
        required.ok_or_else(|| ApiError::violations(Vec::new()))
    }

    /// Records every field nobody asked for as a violation.
    pub fn reject_unknown(&mut self) {
        let mut unknown: Vec<String> = self.map.keys().cloned().collect();
        unknown.sort();
        for name in unknown {
            self.errors.push(schema_error(&name, "FIELD_UNKNOWN", format!("{name} is not a field of this request")));
        }
        self.map.clear();
    }
}

/// For routes that take no query parameters: any given is refused, the
/// same way `Query::finish` refuses an unknown one.
pub struct NoQuery;

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for NoQuery {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, _: &S) -> Result<Self, ApiError> {
        Query::parse(parts.uri.query())?.finish(&["(no parameters)"])?;
        Ok(NoQuery)
    }
}

/// A query string read strictly: unknown, repeated or malformed parameters
/// are rejected instead of ignored.
pub struct Query {
    pairs: Vec<(String, String)>,
}

impl Query {
    pub fn parse(raw: Option<&str>) -> Result<Query, ApiError> {
        let mut pairs: Vec<(String, String)> = Vec::new();
        for (key, value) in form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
            if pairs.iter().any(|(k, _)| *k == key) {
                return Err(ApiError::invalid_request(
                    "DUPLICATE_PARAMETER",
                    format!("query parameter {key:?} is given more than once"),
                )
                .with_field(key.into_owned()));
            }
            check_id("query parameter name", &key)?;
            check_id(&key, &value)?;
            pairs.push((key.into_owned(), crate::api::identifier::normalized(value.into_owned())));
        }
        Ok(Query { pairs })
    }

    pub fn take(&mut self, name: &str) -> Option<String> {
        let i = self.pairs.iter().position(|(k, _)| k == name)?;
        Some(self.pairs.remove(i).1)
    }

    /// A whole number within `range`, or `default` when absent.
    pub fn take_number(
        &mut self,
        name: &str,
        range: std::ops::RangeInclusive<u32>,
        default: u32,
    ) -> Result<u32, ApiError> {
        match self.take(name) {
            None => Ok(default),
            Some(raw) => raw.parse::<u32>().ok().filter(|n| range.contains(n)).ok_or_else(|| {
                ApiError::invalid_request(
                    "INVALID_PARAMETER",
                    format!("{name} must be a whole number from {} to {}", range.start(), range.end()),
                )
                .with_field(name)
            }),
        }
    }

    /// A page's `before` (entries with a smaller sequence number), if given.
    pub fn take_before(&mut self) -> Result<Option<i64>, ApiError> {
        self.take("before")
            .map(|raw| {
                raw.parse::<i64>().map_err(|_| {
                    ApiError::invalid_request("INVALID_PARAMETER", "before must be a number").with_field("before")
                })
            })
            .transpose()
    }

    /// A change-feed version (`since`, `changed_after`), if given.
    pub fn take_version(&mut self, name: &str) -> Result<Option<i64>, ApiError> {
        self.take(name)
            .map(|raw| {
                raw.parse::<i64>().map_err(|_| {
                    ApiError::invalid_request("INVALID_PARAMETER", format!("{name} must be a version number"))
                        .with_field(name)
                })
            })
            .transpose()
    }

    /// Fails on any parameter not taken yet; `allowed` is quoted in the error.
    pub fn finish(self, allowed: &[&str]) -> Result<(), ApiError> {
        match self.pairs.into_iter().next() {
            None => Ok(()),
            Some((key, _)) => Err(ApiError::invalid_request(
                "UNKNOWN_PARAMETER",
                format!("unknown query parameter {key:?}; this endpoint accepts: {}", allowed.join(", ")),
            )
            .with_field(key)),
        }
    }

    /// Fails with `TOPIC_SCOPE_VIOLATION` if the caller tries to pick the topic.
    pub fn forbid_topic_override(&mut self) -> Result<(), ApiError> {
        if let Some(state) = self.take("state") {
            return Err(ApiError::invalid_request(
                "TOPIC_SCOPE_VIOLATION",
                format!(
                    "the topic is bound by the endpoint's path; the query parameter state={state:?} is not accepted"
                ),
            )
            .with_field("state"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_content_types() {
        assert!(is_json("application/json"));
        assert!(is_json("Application/JSON; charset=utf-8"));
        assert!(is_json("application/merge-patch+json"));
        assert!(!is_json("text/plain"));
        assert!(!is_json(""));
    }

    #[test]
    fn fields_collect_every_violation() {
        let map = serde_json::json!({"goal": 7, "source": "sdk", "extra": true, "blank": "  "});
        let mut fields = Fields::new(map.as_object().unwrap().clone());
        assert_eq!(fields.required_string("goal", 10), None);
        assert_eq!(fields.required_string("missing", 10), None);
        assert_eq!(fields.required_string("blank", 10), None);
        fields.reject_unknown();
        let codes: Vec<_> = fields.errors.iter().map(|e| (e.code.as_str(), e.field.clone().unwrap())).collect();
        assert_eq!(
            codes,
            [
                ("FIELD_INVALID_TYPE", "goal".into()),
                ("FIELD_MISSING", "missing".into()),
                ("FIELD_MISSING", "blank".into()),
                ("FIELD_UNKNOWN", "extra".into()),
                ("FIELD_UNKNOWN", "source".into()),
            ]
        );
    }

    #[test]
    fn queries_reject_duplicates_and_leftovers() {
        assert!(Query::parse(Some("dim=a&dim=b")).is_err());
        let mut q = Query::parse(Some("dim=agent_id&x=1")).unwrap();
        assert_eq!(q.take("dim").as_deref(), Some("agent_id"));
        let err = q.finish(&["dim"]).unwrap_err();
        assert_eq!(err.body.code, "UNKNOWN_PARAMETER");
        assert_eq!(err.body.field.as_deref(), Some("x"));
    }
}
