//! Fuzzing driven by the server's own OpenAPI document.
//!
//! - Every response type the console decodes: instances generated from the
//!   document's schemas, then mangled (fields dropped, types swapped, bytes
//!   flipped, documents cut short), 100,000 cases by default. No panic; an
//!   error names what was wrong; whatever decodes holds no character that
//!   could drive the terminal; and an instance the schema allows decodes.
//! - Every operation of the HTTP API, with parameters and bodies generated
//!   from its schema and mangled the same way, against a real server: never
//!   a 5xx, every refusal a JSON error with a code and a message.
//!
//! `MANDATE_FUZZ_SEED`, `MANDATE_FUZZ_CASES` (decoding) and
//! `MANDATE_FUZZ_REQUESTS` (per operation) change the run.

use crate::common::{self, ADMIN, AGENT, Db, RESPONDER, VIEWER, start_unthrottled as start};
use mandate::api::{
    AgentSummary, AttributionStats, AuditPage, Distribution, ErrorBody, IncidentDetail, IncidentPage,
    InterventionResult, WhoAmI,
};
use mandate::console::sanitize::{MULTILINE_FIELDS, clean, decode_clean};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{Map, Value, json};

fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

const HOSTILE: [&str; 8] = [
    "\u{1b}[2J\u{1b}[H",
    "\u{1b}]52;c;cHduZWQ=\u{7}",
    "\u{9b}31m",
    "\u{202e}exe.txt",
    "\u{2066}isolate",
    "\u{0}\u{7f}\u{8}",
    "e\u{301}漢字🚨",
    "\r\nforged line",
];

/// Values from schemas of the document, and ways to mangle them.
struct Gen {
    rng: StdRng,
    schemas: Map<String, Value>,
}

impl Gen {
    fn new(spec: &Value, seed: u64) -> Gen {
        Gen { rng: StdRng::seed_from_u64(seed), schemas: spec["components"]["schemas"].as_object().unwrap().clone() }
    }

    fn chance(&mut self, p: f64) -> bool {
        self.rng.random_bool(p)
    }

    fn text(&mut self) -> String {
        match self.rng.random_range(0..12) {
            0 => String::new(),
            1 | 2 => HOSTILE[self.rng.random_range(0..HOSTILE.len())].to_owned(),
            3 => "x".repeat(self.rng.random_range(200..5000)),
            4 => (0..self.rng.random_range(1..12))
                .map(|_| char::from_u32(self.rng.random_range(0..0x3000)).unwrap_or('?'))
                .collect(),
            _ => ["payments-service", "agent-7", "@alice", "deploy", "TIMEOUT", "svc"][self.rng.random_range(0..6)]
                .to_owned(),
        }
    }

    /// A string the pattern allows: hostile text when it happens to, or a
    /// plain word that does.
    fn matching(&mut self, pattern: &str) -> String {
        let pattern = regex::Regex::new(pattern).expect("the document's patterns compile");
        let text = self.text();
        if pattern.is_match(&text) {
            return text;
        }
        let words = ["payments-service", "agent-7", "@alice", "resource.owner", "0.0", "1700000000000.7", "open", "4"];
        let fitting: Vec<&str> = words.iter().copied().filter(|w| pattern.is_match(w)).collect();
        match fitting.is_empty() {
            true => text,
            false => fitting[self.rng.random_range(0..fitting.len())].to_owned(),
        }
    }

    fn timestamp(&mut self) -> String {
        let seconds = self.rng.random_range(0..4_000_000_000i64);
        chrono::DateTime::from_timestamp(seconds, 0).unwrap().to_rfc3339()
    }

    fn integer(&mut self, schema: &Value) -> Value {
        if let Some(max) = schema["maximum"].as_i64() {
            let min = schema["minimum"].as_i64().unwrap_or(0);
            return json!(self.rng.random_range(min..=max));
        }
        let unsigned = schema["minimum"].as_f64().is_some_and(|m| m >= 0.0);
        let small = self.rng.random_range(0..1000i64);
        match (schema["format"].as_str(), self.rng.random_range(0..10)) {
            (Some("int32"), 0) if unsigned => json!(i32::MAX),
            (Some("int32"), 1) if !unsigned => json!(i32::MIN),
            (_, 0) if unsigned => json!(i64::MAX),
            (_, 1) if !unsigned => json!(i64::MIN),
            (_, 2) if !unsigned => json!(-small),
            _ => json!(small),
        }
    }

    /// An instance of `schema`, within what it allows.
    fn instance(&mut self, schema: &Value, depth: u32) -> Value {
        if let Some(name) = schema["$ref"].as_str().and_then(|r| r.strip_prefix("#/components/schemas/")) {
            let target = self.schemas[name].clone();
            return self.instance(&target, depth);
        }
        for key in ["oneOf", "anyOf"] {
            if let Some(options) = schema[key].as_array() {
                let pick = options[self.rng.random_range(0..options.len())].clone();
                return self.instance(&pick, depth);
            }
        }
        if let Some(parts) = schema["allOf"].as_array().cloned() {
            // The schema beside its parts, then each part laid over it: a
            // part's properties and requirements, and a conditional part's
            // `then` (or `else`) as the instance so far decides.
            let mut base = schema.clone();
            base.as_object_mut().unwrap().remove("allOf");
            let mut value = match base.get("type").is_some() || base.get("properties").is_some() {
                false => Value::Object(Map::new()),
                true => self.instance(&base, depth),
            };
            for part in parts {
                let part = match part["$ref"].as_str().and_then(|r| r.strip_prefix("#/components/schemas/")) {
                    Some(name) => self.schemas[name].clone(),
                    None => part,
                };
                let overlay = match part.get("if") {
                    Some(condition) if holds(condition, &value) => part["then"].clone(),
                    Some(_) => part["else"].clone(),
                    // A plain part: all it generates joins the instance.
                    None => {
                        match (self.instance(&part, depth), &mut value) {
                            (Value::Object(more), Value::Object(fields)) => fields.extend(more),
                            (other, _) => value = other,
                        }
                        continue;
                    }
                };
                if let (Value::Object(fields), true) = (&mut value, overlay.is_object()) {
                    {
                        let required: Vec<&str> =
                            overlay["required"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
                        for (name, property) in overlay["properties"].as_object().cloned().unwrap_or_default() {
                            if fields.contains_key(&name) || required.contains(&name.as_str()) {
                                let mut merged = base["properties"][&name].clone();
                                if let (Some(m), Some(p)) = (merged.as_object_mut(), property.as_object()) {
                                    m.extend(p.clone());
                                } else {
                                    merged = property.clone();
                                }
                                fields.insert(name, self.instance(&merged, depth + 1));
                            }
                        }
                        for name in required {
                            if !fields.contains_key(name) {
                                let property = base["properties"][name].clone();
                                fields.insert(name.to_owned(), self.instance(&property, depth + 1));
                            }
                        }
                    }
                }
            }
            return value;
        }
        if let Some(value) = schema.get("const") {
            return value.clone();
        }
        if let Some(values) = schema["enum"].as_array() {
            return values[self.rng.random_range(0..values.len())].clone();
        }
        let kind = match &schema["type"] {
            Value::String(t) => t.clone(),
            Value::Array(types) => {
                let types: Vec<&str> = types.iter().filter_map(Value::as_str).collect();
                let concrete: Vec<&str> = types.iter().copied().filter(|t| *t != "null").collect();
                if concrete.is_empty() || (types.contains(&"null") && self.chance(0.3)) {
                    return Value::Null;
                }
                concrete[self.rng.random_range(0..concrete.len())].to_owned()
            }
            _ if schema.get("properties").is_some() => "object".to_owned(),
            _ => return if self.chance(0.5) { Value::Null } else { json!({"any": self.text()}) },
        };
        match kind.as_str() {
            "string" if schema["format"] == "date-time" => self.timestamp().into(),
            "string" if schema["pattern"].is_string() => self.matching(schema["pattern"].as_str().unwrap()).into(),
            "string" => self.text().into(),
            "integer" => self.integer(schema),
            "number" => json!(self.rng.random_range(-1e6..1e6)),
            "boolean" => json!(self.chance(0.5)),
            "array" if schema["prefixItems"].is_array() => {
                let items = schema["prefixItems"].as_array().unwrap().clone();
                Value::Array(items.iter().map(|item| self.instance(item, depth + 1)).collect())
            }
            "array" => {
                let n = if depth > 4 { 0 } else { self.rng.random_range(0..4) };
                Value::Array((0..n).map(|_| self.instance(&schema["items"], depth + 1)).collect())
            }
            "object" => {
                let required: Vec<String> = schema["required"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect();
                let mut fields = Map::new();
                if let Some(properties) = schema["properties"].as_object() {
                    for (name, property) in properties.clone() {
                        if required.contains(&name) || (depth < 5 && self.chance(0.6)) {
                            fields.insert(name, self.instance(&property, depth + 1));
                        }
                    }
                }
                if let Some(extra) = schema.get("additionalProperties").filter(|s| s.is_object()).cloned() {
                    for _ in 0..self.rng.random_range(0..3) {
                        let key = self.text();
                        fields.insert(key, self.instance(&extra, depth + 1));
                    }
                }
                Value::Object(fields)
            }
            _ => Value::Null,
        }
    }

    /// Something a schema does not allow: a value of another kind.
    fn wrong(&mut self) -> Value {
        match self.rng.random_range(0..7) {
            0 => Value::Null,
            1 => json!(self.rng.random_range(-5..5)),
            2 => json!(1e308),
            3 => json!(true),
            4 => json!([self.text()]),
            5 => json!({"nested": {"deeper": [self.text()]}}),
            _ => self.text().into(),
        }
    }

    /// The same document with one part mangled.
    fn mangle(&mut self, value: &mut Value) {
        match value {
            Value::Object(fields) if !fields.is_empty() && self.chance(0.7) => {
                let keys: Vec<String> = fields.keys().cloned().collect();
                let key = keys[self.rng.random_range(0..keys.len())].clone();
                match self.rng.random_range(0..4) {
                    0 => {
                        fields.remove(&key);
                    }
                    1 => {
                        let extra = self.text();
                        fields.insert(extra, self.wrong());
                    }
                    _ => self.mangle(fields.get_mut(&key).unwrap()),
                }
            }
            Value::Array(items) if !items.is_empty() && self.chance(0.7) => {
                let i = self.rng.random_range(0..items.len());
                self.mangle(&mut items[i]);
            }
            Value::String(s) if self.chance(0.5) => s.push_str(HOSTILE[self.rng.random_range(0..HOSTILE.len())]),
            other => *other = self.wrong(),
        }
    }

    /// The document as bytes, sometimes damaged below the JSON level.
    fn bytes(&mut self, value: &Value) -> Vec<u8> {
        let mut bytes = serde_json::to_vec(value).unwrap();
        if bytes.is_empty() || !self.chance(0.15) {
            return bytes;
        }
        let at = self.rng.random_range(0..bytes.len());
        match self.rng.random_range(0..4) {
            0 => bytes.truncate(at),
            1 => bytes[at] = self.rng.random(),
            2 => bytes.splice(at..at, [0xC3, 0x28, 0xFF, b'"', b'\\']).for_each(drop),
            _ => bytes = [b"[".repeat(300), bytes].concat(),
        }
        bytes
    }
}

/// No string anywhere in `value` could drive a terminal.
fn assert_clean(value: &Value, what: &str) {
    match value {
        Value::String(s) => assert_eq!(&clean(s), s, "{what}: a dangerous character survived decoding"),
        Value::Array(items) => items.iter().for_each(|v| assert_clean(v, what)),
        Value::Object(fields) => {
            for (k, v) in fields {
                assert_eq!(&clean(k), k, "{what}: a dangerous key survived decoding");
                match v {
                    // A multi-line field keeps its line breaks, and nothing else.
                    Value::String(s) if MULTILINE_FIELDS.contains(&k.as_str()) => {
                        assert!(s.split('\n').all(|line| clean(line) == line), "{what}: {k} {s:?}")
                    }
                    other => assert_clean(other, what),
                }
            }
        }
        _ => {}
    }
}

/// Decodes as the console does; Ok with the decoded value as JSON again.
fn decode_as(schema: &str, bytes: &[u8]) -> Result<Value, String> {
    fn go<T: serde::de::DeserializeOwned + serde::Serialize>(bytes: &[u8]) -> Result<Value, String> {
        decode_clean::<T>(bytes).map(|v| serde_json::to_value(v).unwrap()).map_err(|e| e.to_string())
    }
    match schema {
        "IncidentPage" => go::<IncidentPage>(bytes),
        "IncidentDetail" => go::<IncidentDetail>(bytes),
        "WhoAmI" => go::<WhoAmI>(bytes),
        "Distribution" => go::<Distribution>(bytes),
        "AgentSummary[]" => go::<Vec<AgentSummary>>(bytes),
        "AuditPage" => go::<AuditPage>(bytes),
        "AttributionStats" => go::<AttributionStats>(bytes),
        "ErrorBody" => go::<ErrorBody>(bytes),
        "InterventionResult" => go::<InterventionResult>(bytes),
        _ => unreachable!("{schema}"),
    }
}

async fn the_document() -> Value {
    let t = start(Db::Sqlite).await;
    let spec = t.get(VIEWER, "/api/v1/openapi.json").await.body;
    t.stop().await;
    spec
}

#[tokio::test]
async fn every_answer_the_console_decodes() {
    let spec = the_document().await;
    let seed = env_number("MANDATE_FUZZ_SEED", 20261122);
    let cases = env_number("MANDATE_FUZZ_CASES", 100_000);
    let mut g = Gen::new(&spec, seed);
    let kinds = [
        "IncidentPage",
        "IncidentDetail",
        "WhoAmI",
        "Distribution",
        "AgentSummary[]",
        "AuditPage",
        "AttributionStats",
        "ErrorBody",
        "InterventionResult",
    ];
    // (allowed by the schema, of which decoded), per kind.
    let mut allowed = vec![(0u64, 0u64); kinds.len()];
    for case in 0..cases {
        let k = (case % kinds.len() as u64) as usize;
        let schema = match kinds[k].strip_suffix("[]") {
            Some(item) => json!({"type": "array", "items": {"$ref": format!("#/components/schemas/{item}")}}),
            None => json!({"$ref": format!("#/components/schemas/{}", kinds[k])}),
        };
        let mut value = g.instance(&schema, 0);
        let intact = g.chance(0.4);
        if !intact {
            for _ in 0..g.rng.random_range(1..4) {
                g.mangle(&mut value);
            }
        }
        let bytes = if intact { serde_json::to_vec(&value).unwrap() } else { g.bytes(&value) };
        let what = format!("{} case {case} (seed {seed})", kinds[k]);
        match decode_as(kinds[k], &bytes) {
            Ok(decoded) => {
                assert_clean(&decoded, &what);
                if intact {
                    allowed[k].1 += 1;
                }
            }
            Err(message) => {
                assert!(!message.is_empty(), "{what}: an error says what was wrong");
                let shown: String = value.to_string().chars().take(600).collect();
                assert!(!intact, "{what}: the schema allows it, the console refused it: {message}\n{shown}");
            }
        }
        if intact {
            allowed[k].0 += 1;
        }
    }
    for (k, (total, decoded)) in allowed.iter().enumerate() {
        assert!(*total > 0 && total == decoded, "{}: {decoded} of {total} allowed instances decoded", kinds[k]);
    }
}

/// A parameter's value as it goes in a URL: from its schema, or not.
fn parameter(g: &mut Gen, name: &str, schema: &Value) -> String {
    if name == "wait" {
        return "0".to_owned(); // a long poll would only make the run slow
    }
    let value = if g.chance(0.8) { g.instance(schema, 3) } else { g.wrong() };
    let raw = match value {
        Value::String(s) => s,
        other => other.to_string(),
    };
    form_urlencoded::byte_serialize(raw.as_bytes()).collect()
}

#[tokio::test]
async fn every_operation_of_the_api_from_its_own_schema() {
    let t = start(Db::Sqlite).await;
    let spec = t.get(VIEWER, "/api/v1/openapi.json").await.body;
    let seed = env_number("MANDATE_FUZZ_SEED", 20261122);
    let per_operation = env_number("MANDATE_FUZZ_REQUESTS", 150);
    let mut g = Gen::new(&spec, seed);
    // Something to act on, so valid requests reach deep into the handlers.
    let mut e = common::event_body("fuzz-0", -1.0, "agent-1", "deploy", "payments-service", "error");
    e["error_code"] = "E".into();
    t.post(AGENT, "/api/v1/events", &e).await.succeeded();
    t.send(t.http.put(t.url("/api/v1/catalog")).bearer_auth(ADMIN).json(&common::seed_catalog())).await.succeeded();
    let run = t.post(AGENT, "/api/v1/runs", &common::run_body()).await.body["run_id"].as_str().unwrap().to_owned();
    // A gated action waiting: approval request #1.
    let mut routing = t.get(VIEWER, "/api/v1/routing").await.succeeded();
    routing["critical_point"] =
        json!([{"name": "drops", "reason": "irreversible", "match": {"action_type": "drop_table"}}]);
    // A Prometheus that is down: an incident's impact answers, saying so.
    let closed = format!("http://127.0.0.1:{}", common::monitors::free_port());
    routing["metrics"] = json!({"prometheus": closed, "timeout": "1s",
                                "impact": [{"service": "payments-service", "requests": "sum(rate(x[5m]))"}]});
    t.send(t.http.put(t.url("/api/v1/routing")).bearer_auth(ADMIN).json(&routing)).await.succeeded();
    let ask = json!({"agent_id": "agent-1", "action_type": "drop_table", "summary": "drop", "request_key": "k"});
    t.post(AGENT, "/api/v1/approvals", &ask).await.succeeded();

    let mut answered = std::collections::BTreeMap::<String, Vec<u16>>::new();
    let mut undocumented = std::collections::BTreeSet::<String>::new();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            let parameters = operation["parameters"].as_array().cloned().unwrap_or_default();
            let body_schema = operation["requestBody"]["content"]["application/json"]["schema"].clone();
            for case in 0..per_operation {
                let mut url = path.clone();
                let mut query = vec![];
                let mut key = None;
                for p in &parameters {
                    let (name, schema) = (p["name"].as_str().unwrap(), &p["schema"]);
                    match p["in"].as_str() {
                        Some("path") => {
                            // Half the time a real id, so the handler goes past its lookup.
                            let real = if name == "run_id" { run.clone() } else { "1".to_owned() };
                            let value = if g.chance(0.5) { real } else { parameter(&mut g, name, schema) };
                            url = url.replace(&format!("{{{name}}}"), &value);
                        }
                        Some("query") if g.chance(0.6) => {
                            query.push(format!("{name}={}", parameter(&mut g, name, schema)))
                        }
                        Some("header") => key = Some(format!("fuzz-{case}-{}", g.rng.random::<u32>())),
                        _ => {}
                    }
                }
                if g.chance(0.1) {
                    query.push(format!("{}=1", parameter(&mut g, "x", &json!({"type": "string"}))));
                }
                if !query.is_empty() {
                    url = format!("{url}?{}", query.join("&"));
                }
                let token = [Some(ADMIN), Some(ADMIN), Some(ADMIN), Some(RESPONDER), Some(AGENT), Some(VIEWER), None]
                    [g.rng.random_range(0..7)];
                let mut request = t.http.request(method.to_uppercase().parse().unwrap(), t.url(&url));
                if let Some(token) = token {
                    request = request.bearer_auth(token);
                }
                if let Some(key) = key {
                    request = request.header("idempotency-key", key);
                }
                if !body_schema.is_null() || method != "get" {
                    let mut body = if body_schema.is_null() { g.wrong() } else { g.instance(&body_schema, 0) };
                    // Half the time a person acting in their own name, as the server demands.
                    let me = [(ADMIN, "root-admin"), (RESPONDER, "alice")].iter().find(|(t, _)| Some(*t) == token);
                    if let (Some((_, name)), Some(fields)) = (me, body.as_object_mut())
                        && fields.contains_key("actor_id")
                        && g.chance(0.5)
                    {
                        fields.insert("actor_type".into(), "HUMAN".into());
                        fields.insert("actor_id".into(), (*name).into());
                    }
                    if g.chance(0.5) {
                        g.mangle(&mut body);
                    }
                    let bytes = g.bytes(&body);
                    let content_type = if g.chance(0.95) { "application/json" } else { "text/plain" };
                    request = request.header("content-type", content_type).body(bytes);
                }
                let answer = t.send(request).await;
                let body: String = answer.body.to_string().chars().take(600).collect();
                let what = format!("{} {url} case {case} (seed {seed}): {body}", method.to_uppercase());
                assert!(answer.status < 500, "a server error: {what}");
                if operation["responses"].get(answer.status.to_string()).is_none() {
                    let code = answer.body["code"].as_str().unwrap_or("-");
                    undocumented.insert(format!("{} {path} {} {code}", method.to_uppercase(), answer.status));
                }
                if answer.status >= 400 {
                    let (code, message) = (answer.body["code"].as_str(), answer.body["message"].as_str());
                    assert!(code.is_some_and(|c| !c.is_empty()), "an error without a code: {what}");
                    assert!(message.is_some_and(|m| !m.is_empty()), "an error without a message: {what}");
                }
                if std::env::var_os("MANDATE_FUZZ_SHOW").is_some() && answer.status >= 400 {
                    println!("{} {path} {} {}", method.to_uppercase(), answer.status, answer.body["message"]);
                }
                answered.entry(format!("{} {path}", method.to_uppercase())).or_default().push(answer.status);
            }
        }
    }
    assert!(
        undocumented.is_empty(),
        "answers the document does not list:\n{}",
        Vec::from_iter(undocumented).join("\n")
    );
    // The generator must get past validation, or it tests nothing but refusals.
    for (operation, statuses) in &answered {
        let succeeded = statuses.iter().filter(|s| (200..300).contains(*s)).count();
        println!("{operation}: {succeeded} of {} succeeded", statuses.len());
    }
    let reached = answered.values().filter(|s| s.iter().any(|s| (200..300).contains(s))).count();
    assert!(reached * 5 >= answered.len() * 4, "most operations succeed at least once: {answered:?}");
    t.stop().await;
}

/// Whether `value` meets a condition of the document's `if`: each property's
/// `const` or `enum`, and `required`; an `anyOf` of such conditions.
fn holds(condition: &Value, value: &Value) -> bool {
    if let Some(options) = condition["anyOf"].as_array() {
        return options.iter().any(|c| holds(c, value));
    }
    let required = condition["required"].as_array().into_iter().flatten().filter_map(Value::as_str);
    if required.clone().any(|name| value.get(name).is_none()) {
        return false;
    }
    condition["properties"].as_object().into_iter().flatten().all(|(name, rule)| {
        let Some(field) = value.get(name) else { return true };
        if let Some(expected) = rule.get("const") {
            return field == expected;
        }
        if rule["not"]["type"] == "null" {
            return !field.is_null();
        }
        rule["enum"].as_array().is_none_or(|options| options.contains(field))
    })
}
