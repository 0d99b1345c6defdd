//! What the parser enforces, stated in the API document, so that a request
//! the document calls valid is accepted and one it calls invalid is
//! refused. The derive states types and lengths; this adds what the
//! handlers check beyond them, each from the code that checks it:
//!
//! - identifiers (every query value and string path segment, and the
//!   identifier fields of bodies) hold none of the characters of
//!   [`crate::api::identifier::FORBIDDEN`], and required ones are not blank;
//!   free text holds no NUL;
//! - numeric ids in paths are positive; cursors have the shape the server
//!   writes;
//! - an operation that takes an `Idempotency-Key` may answer 409 when the key
//!   was used for another request, or one is still being answered.

use crate::api::identifier::{WHITE_SPACE, pattern};
use crate::api::limits::{self, Limit};
use serde_json::{Map, Value, json};

/// Body fields that are identifiers (see `Fields::optional_id`).
const IDENTIFIER_FIELDS: [&str; 19] = [
    "event_id",
    "agent_id",
    "actor_id",
    "origin_system_id",
    "run_id",
    "parent_event_id",
    "action_type",
    "tool",
    "resource",
    "error_code",
    "trace_id",
    "provider_type",
    "origin_ip",
    "target_agent",
    "severity",
    "actor_type",
    "on_behalf_of",
    "request_key",
    "digest",
];

/// The request bodies read field by field (`Fields`): every field they
/// hold is named in the document (`additionalProperties: false`).
const BODIES: [&str; 20] = [
    "CreateRunRequest",
    "EventBody",
    "InterventionBody",
    "VerdictBody",
    "RetryBody",
    "OutreachBody",
    "DisputeBody",
    "ResolutionBody",
    "ProposeRule",
    "RuleMatch",
    "RuleTransition",
    "StopBody",
    "LiftBody",
    "RefusalReport",
    "SilenceBody",
    "SilenceMatch",
    "WeeklyWindow",
    "LiftSilenceBody",
    "GateBody",
    "ApprovalDecisionBody",
];

/// Query parameters a handler requires, though typed optional.
const REQUIRED_QUERY: [(&str, &str); 2] = [("/api/v1/oncall", "team"), ("/api/v1/decisions", "agent_id")];

/// Bodies whose strings lists are lists of identifiers.
const IDENTIFIER_LISTS: [(&str, &str); 1] = [("EventBody", "scope")];

/// A cursor of `GET /api/v1/incidents`: `{started_at_ms}.{id}`.
const INCIDENT_CURSOR: &str = "^-?[0-9]{1,18}\\.[0-9]{1,18}$";

/// Writes into the OpenAPI document what the parser enforces. Long because
/// it is a list of facts, one per rule of the parser, each stated once.
pub(super) fn state_what_is_enforced(doc: &mut Value) {
    let identifier = pattern(false);
    let required_identifier = pattern(true);
    if let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) {
        for (path, item) in paths.iter_mut() {
            let Some(item) = item.as_object_mut() else { continue };
            for (_, operation) in item.iter_mut() {
                let Some(operation) = operation.as_object_mut() else { continue };
                let mut idempotent = false;
                for parameter in operation.get_mut("parameters").and_then(Value::as_array_mut).into_iter().flatten() {
                    let name = parameter["name"].as_str().unwrap_or_default().to_owned();
                    let place = parameter["in"].as_str().unwrap_or_default().to_owned();
                    idempotent |= name == "Idempotency-Key";
                    let Some(schema) = parameter.get_mut("schema").and_then(Value::as_object_mut) else { continue };
                    if is_integer(schema) && (place == "path" || name.ends_with("_id")) {
                        schema.entry("minimum").or_insert(json!(1));
                    }
                    if let Some(closed) = closed_set(path, &name) {
                        schema.insert("pattern".into(), json!(closed));
                        continue;
                    }
                    if name == "Idempotency-Key" {
                        // Any header text of 1 to 128 bytes (see `interventions::intervene`).
                        schema.insert(
                            "pattern".into(),
                            json!("^[\\u0021-\\u007E]([\\u0020-\\u007E]{0,126}[\\u0021-\\u007E])?$"),
                        );
                        continue;
                    }
                    if !is_string(schema) || schema.contains_key("enum") {
                        continue;
                    }
                    if REQUIRED_QUERY.contains(&(path.as_str(), name.as_str())) {
                        parameter["required"] = json!(true);
                        parameter["schema"]["pattern"] = json!(required_identifier);
                        continue;
                    }
                    let Some(schema) = parameter.get_mut("schema").and_then(Value::as_object_mut) else { continue };
                    let shape = match (name.as_str(), path.as_str()) {
                        ("cursor", "/api/v1/incidents") => INCIDENT_CURSOR.to_owned(),
                        ("cursor", _) => format!("^-?[0-9]{{1,18}}\\.{}", &required_identifier[1..]),
                        _ if place == "path" => required_identifier.clone(),
                        _ => identifier.clone(),
                    };
                    schema.insert("pattern".into(), json!(shape));
                }
                if idempotent && let Some(responses) = operation.get_mut("responses").and_then(Value::as_object_mut) {
                    let conflict = responses.entry("409").or_insert_with(|| {
                        json!({
                            "description": "",
                            "content": { "application/json": { "schema": { "$ref": "#/components/schemas/ErrorBody" } } },
                        })
                    });
                    let said = conflict["description"].as_str().unwrap_or_default().to_owned();
                    let reuse = "the Idempotency-Key was used for another request (IDEMPOTENCY_KEY_REUSED), or such a \
                                 request is still being answered (IDEMPOTENCY_IN_FLIGHT)";
                    conflict["description"] = json!(match said.as_str() {
                        "" => format!("{}{}", reuse[..1].to_uppercase(), &reuse[1..]),
                        _ => format!("{said}; or {reuse}"),
                    });
                }
            }
        }
    }
    interventions_per_route(doc);
    let Some(schemas) = doc.pointer_mut("/components/schemas").and_then(Value::as_object_mut) else { return };
    attribution_is_required(schemas);
    interventions_per_kind(schemas);
    // A run completes with an outcome: `running` is where it comes from.
    if let Some(status) = schemas.get_mut("CompleteRunRequest").and_then(|s| s.pointer_mut("/properties/status")) {
        *status = json!({ "type": "string", "enum": ["succeeded", "failed", "cancelled"] });
    }
    // How long each field may be, from the figures the parser holds it to.
    for (body, field, limit) in limits::FIELDS {
        let Some(property) = schemas.get_mut(*body).and_then(|b| b.pointer_mut(&format!("/properties/{field}"))) else {
            panic!("api::limits bounds {body}.{field}, which the document does not have");
        };
        match limit {
            Limit::Chars(n) => property["maxLength"] = json!(n),
            Limit::Items(n) => property["maxItems"] = json!(n),
        }
    }
    for (body, list) in IDENTIFIER_LISTS {
        if let Some(items) = schemas.get_mut(body).and_then(|b| b.pointer_mut(&format!("/properties/{list}/items"))) {
            items["pattern"] = json!(identifier);
        }
    }
    // A service has a name; routing has at least one level (`catalog`, `routing::config`).
    // (Names of configuration are free text, not blank: `trim().is_empty()` is refused.)
    let not_blank = format!("[^{WHITE_SPACE}]");
    if let Some(name) = schemas.get_mut("Service").and_then(|s| s.pointer_mut("/properties/name")) {
        name["pattern"] = json!(not_blank);
    }
    if let Some(level) = schemas.get_mut("RoutingDocument").and_then(|s| s.pointer_mut("/properties/level")) {
        level["minItems"] = json!(1);
    }
    if let Some(name) = schemas.get_mut("Level").and_then(|s| s.pointer_mut("/properties/name")) {
        name["pattern"] = json!(not_blank);
    }
    if let Some(targets) = schemas.get_mut("Level").and_then(|s| s.pointer_mut("/properties/targets")) {
        targets["minItems"] = json!(1);
    }
    if let Some(names) = schemas.get_mut("Service").and_then(|s| s.pointer_mut("/properties/depends_on/items")) {
        names["pattern"] = json!(not_blank);
    }
    // An event says when it happened (`events::parse_event`).
    if let Some(required) =
        schemas.get_mut("EventBody").and_then(|s| s.get_mut("required")).and_then(Value::as_array_mut)
        && !required.contains(&json!("occurred_at"))
    {
        required.push(json!("occurred_at"));
    }
    if let Some(at) = schemas.get_mut("EventBody").and_then(|s| s.pointer_mut("/properties/occurred_at")) {
        at["type"] = json!("string");
    }
    // A rule matches an action type or a resource (`learning::rules::check_match`).
    if let Some(matches) = schemas.get_mut("ProposeRule").and_then(|s| s.pointer_mut("/properties/match")) {
        let either =
            ["action_type", "resource"].map(|f| json!({ "required": [f], "properties": { f: { "type": "string" } } }));
        *matches = json!({ "allOf": [matches.clone(), { "anyOf": either }] });
    }
    // An automatic rule says what it does (`learning::propose_rule`).
    if let Some(rule) = schemas.get_mut("ProposeRule").and_then(Value::as_object_mut) {
        rule.insert(
            "allOf".into(),
            json!([{
                "if": { "properties": { "decision": { "const": "auto" } } },
                "then": { "properties": { "automation": { "not": { "type": "null" } } }, "required": ["automation"] },
            }]),
        );
    }
    for body in BODIES {
        let Some(schema) = schemas.get_mut(body).and_then(Value::as_object_mut) else { continue };
        schema.insert("additionalProperties".into(), json!(false));
        let required: Vec<String> = schema
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).map(str::to_owned).collect())
            .unwrap_or_default();
        let Some(properties) = schema.get_mut("properties").and_then(Value::as_object_mut) else { continue };
        for (name, property) in properties.iter_mut() {
            let Some(property) = property.as_object_mut() else { continue };
            if !is_string(property) || property.contains_key("enum") {
                continue;
            }
            let shape = match (IDENTIFIER_FIELDS.contains(&name.as_str()), required.contains(name)) {
                (true, true) => required_identifier.clone(),
                (true, false) => identifier.clone(),
                (false, true) => format!("^[^\\u0000]*[^\\u0000{WHITE_SPACE}][^\\u0000]*$"),
                (false, false) => "^[^\\u0000]*$".to_owned(),
            };
            property.insert("pattern".into(), json!(shape));
        }
    }
    // Whole numbers the parser reads as ids are 0 or more (`Fields::optional_integer`).
    for (body, field) in [("ProposeRule", "pattern_id"), ("StopBody", "incident_id"), ("SilenceBody", "incident_id")] {
        if let Some(n) = schemas.get_mut(body).and_then(|b| b.pointer_mut(&format!("/properties/{field}"))) {
            n["minimum"] = json!(0);
        }
    }
    stops_and_silences(schemas);
    approvals(schemas);
}

/// Approvals (`routes::approvals`): an agent asks for itself in one of the
/// actor types; a decision is approve or deny, with a reason, confirmed.
fn approvals(schemas: &mut Map<String, Value>) {
    let not_blank = format!("^[^\\u0000]*[^\\u0000{WHITE_SPACE}][^\\u0000]*$");
    if let Some(p) = schemas.get_mut("GateBody").and_then(|s| s.get_mut("properties")) {
        p["actor_type"] = json!({ "type": ["string", "null"], "enum": ["HUMAN", "SYSTEM", "SERVICE", null] });
        p["summary"]["pattern"] = json!(not_blank);
    }
    if let Some(p) = schemas.get_mut("ApprovalDecisionBody").and_then(|s| s.get_mut("properties")) {
        p["decision"] = json!({ "type": "string", "enum": ["approve", "deny"] });
        p["reason"]["pattern"] = json!(not_blank);
        p["confirm"] = json!({ "type": "boolean", "const": true });
    }
}

/// Stops and silences (`routes::stops::parse_stop`, `routes::control`,
/// `routes::silences::parse_silence`): a stop's target by its scope, and
/// the reason and confirmation a wide stop needs; a silence's match (at
/// least one field; names or prefixes), its weekly window, and the
/// confirmation a silence that could hold a critical incident needs. What
/// is relative to the clock (an end ahead, at most 7 or 90 days on) is told
/// to the contract tool in `tests/contract/hooks.py`.
fn stops_and_silences(schemas: &mut Map<String, Value>) {
    use crate::api::identifier::forbidden_class;
    use crate::api::silences::{MAX_WINDOW_MINUTES, WEEKDAYS};
    let f = forbidden_class();
    let name = format!("[^*{WHITE_SPACE}{f}]+");
    let any_target = format!("^\\*$|^{name}\\*?$");
    let not_blank = format!("^[^\\u0000]*[^\\u0000{WHITE_SPACE}][^\\u0000]*$");
    let target = |pattern: String| json!({ "type": "string", "pattern": pattern });
    for (body, making) in [("StopBody", true), ("LiftBody", false)] {
        let Some(schema) = schemas.get_mut(body).and_then(Value::as_object_mut) else { continue };
        if let Some(t) = schema.get_mut("properties").and_then(|p| p.get_mut("target")) {
            t["pattern"] = json!(any_target);
        }
        let wide = |extra: Value| {
            let mut then = extra;
            if making {
                then["properties"]["reason"] = json!({ "type": "string", "pattern": not_blank });
                if let Some(required) = then["required"].as_array_mut() {
                    required.push(json!("reason"));
                }
            }
            then
        };
        let mut fleet = wide(json!({ "properties": { "target": { "enum": ["*", null] } }, "required": [] }));
        if making {
            fleet["properties"]["confirm"] = json!({ "const": true });
            if let Some(required) = fleet["required"].as_array_mut() {
                required.push(json!("confirm"));
            }
        }
        let agents =
            wide(json!({ "properties": { "target": target(format!("^{name}\\*$")) }, "required": ["target"] }));
        let one = json!({ "properties": { "target": target(format!("^{name}$")) }, "required": ["target"] });
        let rules = schema.entry("allOf").or_insert_with(|| json!([]));
        if let Some(rules) = rules.as_array_mut() {
            for (scopes, then) in
                [(json!(["fleet"]), fleet), (json!(["agents"]), agents), (json!(["run", "agent"]), one)]
            {
                rules.push(json!({ "if": { "properties": { "scope": { "enum": scopes } }, "required": ["scope"] }, "then": then }));
            }
        }
    }
    if let Some(t) = schemas.get_mut("RefusalReport").and_then(|s| s.pointer_mut("/properties/target")) {
        t["pattern"] = json!(any_target);
    }
    // A silence's match: names or prefixes (not `*` alone), at least one field.
    let matched = format!("^([^*{f}]+\\*?|)$");
    if let Some(properties) = schemas.get_mut("SilenceMatch").and_then(|s| s.get_mut("properties")) {
        for field in ["resource", "agent"] {
            properties[field]["pattern"] = json!(matched);
        }
        properties["action_type"]["pattern"] = json!(pattern(false));
    }
    if let Some(window) = schemas.get_mut("WeeklyWindow").and_then(|s| s.get_mut("properties")) {
        window["days"]["minItems"] = json!(1);
        window["days"]["maxItems"] = json!(7);
        window["days"]["items"] = json!({ "type": "string", "enum": WEEKDAYS });
        window["start"]["pattern"] = json!("^([01][0-9]|2[0-3]):[0-5][0-9]$");
        window["minutes"]["minimum"] = json!(1);
        window["minutes"]["maximum"] = json!(MAX_WINDOW_MINUTES);
    }
    if let Some(body) = schemas.get_mut("SilenceBody").and_then(Value::as_object_mut) {
        let some = ["resource", "agent", "action_type", "severity"]
            .map(|f| json!({ "required": [f], "properties": { f: { "not": { "type": "null" } } } }));
        if let Some(m) = body.get_mut("properties").and_then(|p| p.get_mut("match")) {
            *m = json!({ "allOf": [m.clone(), { "anyOf": some }] });
        }
        let lower: Vec<&str> = ["low", "medium", "high"].to_vec();
        let rules = body.entry("allOf").or_insert_with(|| json!([]));
        if let Some(rules) = rules.as_array_mut() {
            rules.push(json!({
                "if": { "properties": { "match": { "properties": { "severity": { "enum": lower } }, "required": ["severity"] } } },
                "else": { "properties": { "confirm": { "const": true } }, "required": ["confirm"] },
            }));
        }
    }
}

/// A query parameter that takes one of a closed set of words (or a
/// comma-separated list of them), as its handler parses it.
fn closed_set(path: &str, name: &str) -> Option<String> {
    let words: &[&str] = match (path, name) {
        ("/api/v1/attribution/rollout", "status") => &["violating", "using_override", "silent", "compliant"],
        ("/api/v1/rules", "state") => &["proposed", "approved", "active", "sunset", "rejected"],
        ("/api/v1/disputes", "state") => &["open", "resolved", "all"],
        _ => return None,
    };
    let one = format!("({})", words.join("|"));
    Some(match name {
        "status" => format!("^{one}(,{one})*$"),
        _ => format!("^{one}$"),
    })
}

fn types(schema: &Map<String, Value>) -> Vec<&str> {
    match schema.get("type") {
        Some(Value::String(t)) => vec![t.as_str()],
        Some(Value::Array(ts)) => ts.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    }
}

fn is_string(schema: &Map<String, Value>) -> bool {
    types(schema).contains(&"string")
}

fn is_integer(schema: &Map<String, Value>) -> bool {
    types(schema).contains(&"integer")
}

/// Runs carry complete attribution (seeds 000–003): agent, actor type and
/// origin are required and never the legacy sentinels, and a person's run
/// names the person. Events may carry none (then flagged "actor unknown"),
/// but one that carries any carries all of it.
fn attribution_is_required(schemas: &mut Map<String, Value>) {
    use crate::attribution::{LEGACY_AGENT_ID, LEGACY_ORIGIN_SYSTEM_ID};
    let required = pattern(true);
    let attributed = json!({
        "properties": {
            "agent_id": { "type": "string", "pattern": required, "not": { "const": LEGACY_AGENT_ID } },
            "origin_system_id": { "type": "string", "pattern": required, "not": { "const": LEGACY_ORIGIN_SYSTEM_ID } },
            "actor_type": { "type": "string", "enum": ["HUMAN", "SYSTEM", "SERVICE"] },
        },
        "required": ["agent_id", "actor_type", "origin_system_id"],
    });
    let actor = json!({
        "if": { "properties": { "actor_type": { "const": "HUMAN" } } },
        "then": {
            "properties": { "actor_id": { "type": "string", "pattern": required } },
            "required": ["actor_id"],
        },
        "else": {
            "properties": { "actor_id": { "type": ["string", "null"], "pattern": format!("^[{WHITE_SPACE}]*$") } },
        },
    });
    // A person's own: HUMAN, and naming the person.
    let mut human = attributed.clone();
    human["properties"]["actor_type"] = json!({ "type": "string", "enum": ["HUMAN"] });
    human["properties"]["actor_id"] = json!({ "type": "string", "pattern": required });
    human["required"] = json!(["agent_id", "actor_type", "actor_id", "origin_system_id"]);
    for body in [
        "InterventionBody",
        "VerdictBody",
        "RetryBody",
        "OutreachBody",
        "StopBody",
        "LiftBody",
        "SilenceBody",
        "LiftSilenceBody",
        "ApprovalDecisionBody",
    ] {
        if let Some(schema) = schemas.get_mut(body).and_then(Value::as_object_mut) {
            schema.insert("allOf".into(), json!([human.clone()]));
        }
    }
    if let Some(run) = schemas.get_mut("CreateRunRequest").and_then(Value::as_object_mut) {
        run.insert("allOf".into(), json!([attributed.clone(), actor.clone()]));
    }
    if let Some(event) = schemas.get_mut("EventBody").and_then(Value::as_object_mut) {
        let any = ["agent_id", "actor_type", "actor_id", "origin_system_id"]
            .map(|f| json!({ "required": [f], "properties": { f: { "not": { "type": "null" } } } }));
        event.insert("allOf".into(), json!([{ "if": { "anyOf": any }, "then": { "allOf": [attributed, actor] } }]));
    }
}

/// What each kind of intervention needs (`InterventionKind::spec`, and the
/// desk's checks): an irreversible one `"confirm": true` and a reason;
/// `disable_tool` the tool, `trigger_rollback` the command, `update_rule`
/// the rule, `resolve` a resolution, `change_severity` a severity; a
/// severity is one of the severities.
fn interventions_per_kind(schemas: &mut Map<String, Value>) {
    use crate::api::{InterventionKind, ResolutionKind, Severity};
    let Some(body) = schemas.get_mut("InterventionBody").and_then(Value::as_object_mut) else { return };
    let reason = format!("^[^\\u0000]*[^\\u0000{WHITE_SPACE}][^\\u0000]*$");
    let mut rules: Vec<Value> = body.get("allOf").and_then(Value::as_array).cloned().unwrap_or_default();
    for kind in InterventionKind::ALL {
        let spec = kind.spec();
        let (mut properties, mut required) = (Map::new(), Vec::new());
        if spec.requires_confirmation {
            properties.insert("confirm".into(), json!({ "const": true }));
            required.push("confirm");
        }
        if spec.requires_reason {
            properties.insert("reason".into(), json!({ "type": "string", "pattern": reason }));
            required.push("reason");
        }
        let field = match kind {
            InterventionKind::DisableTool => Some(("tool", json!({ "type": "string", "pattern": pattern(false) }))),
            InterventionKind::TriggerRollback => {
                Some(("command", json!({ "type": "string", "pattern": "^[^\\u0000]*$" })))
            }
            InterventionKind::UpdateRule => Some(("rule", json!({ "type": "string", "pattern": "^[^\\u0000]*$" }))),
            InterventionKind::Resolve => Some((
                "resolution",
                json!({ "type": "string", "enum": ResolutionKind::ALL.iter().map(|r| r.as_str()).collect::<Vec<_>>() }),
            )),
            InterventionKind::ChangeSeverity => Some((
                "severity",
                json!({ "type": "string", "enum": Severity::ALL.iter().map(|s| s.as_str()).collect::<Vec<_>>() }),
            )),
            InterventionKind::AddResponder | InterventionKind::HandOver => {
                Some(("responder", json!({ "type": "string", "pattern": pattern(false) })))
            }
            InterventionKind::Merge => Some(("into_incident", json!({ "type": "integer", "minimum": 1 }))),
            _ => None,
        };
        if let Some((name, schema)) = field {
            properties.insert(name.into(), schema);
            required.push(name);
        }
        // Fields that belong to other kinds are refused: null or absent here.
        let owners: [(&str, &[InterventionKind]); 4] = [
            ("resolution", &[InterventionKind::Resolve]),
            ("responder", &[InterventionKind::AddResponder, InterventionKind::HandOver]),
            ("started_at", &[InterventionKind::CreateIncident]),
            ("into_incident", &[InterventionKind::Merge]),
        ];
        for (name, kinds) in owners {
            if !kinds.contains(kind) {
                properties.insert(name.into(), json!({ "type": "null" }));
            }
        }
        if !properties.is_empty() || !required.is_empty() {
            rules.push(json!({
                "if": { "properties": { "kind": { "const": kind.as_str() } } },
                "then": { "properties": properties, "required": required },
            }));
        }
    }
    // A confirmed cause names its event; no other resolution takes one.
    rules.push(json!({
        "if": { "properties": { "resolution": { "const": ResolutionKind::CauseConfirmed.as_str() } }, "required": ["resolution"] },
        "then": { "required": ["event_id"] },
    }));
    let unconfirmed: Vec<&str> =
        ResolutionKind::ALL.iter().filter(|r| **r != ResolutionKind::CauseConfirmed).map(|r| r.as_str()).collect();
    rules.push(json!({
        "if": { "properties": { "resolution": { "enum": unconfirmed } }, "required": ["resolution"] },
        "then": { "properties": { "event_id": { "type": "null" } } },
    }));
    body.insert("allOf".into(), json!(rules));
    if let Some(severity) = body.get_mut("properties").and_then(|p| p.get_mut("severity")) {
        let names: Vec<&str> = Severity::ALL.iter().map(|s| s.as_str()).collect();
        *severity = json!({ "type": ["string", "null"], "enum": names.iter().map(|n| json!(n)).chain([Value::Null]).collect::<Vec<_>>() });
    }
}

/// Which kinds each intervention route takes: on an agent, the kinds that
/// target agents; on an incident, all, those that act on an agent naming it
/// in `target_agent`.
fn interventions_per_route(doc: &mut Value) {
    use crate::api::InterventionKind;
    let on_agents: Vec<&str> = InterventionKind::ALL
        .iter()
        .filter(|k| k.spec().targets.iter().any(|t| t == "agent"))
        .map(|k| k.as_str())
        .collect();
    let acting_on_agents = [InterventionKind::PauseAgent, InterventionKind::ResumeAgent, InterventionKind::DisableTool];
    let on_incidents: Vec<Value> = acting_on_agents
        .iter()
        .map(|kind| {
            json!({
                "if": { "properties": { "kind": { "const": kind.as_str() } } },
                "then": { "properties": { "target_agent": { "type": "string", "pattern": pattern(false) } }, "required": ["target_agent"] },
            })
        })
        .collect();
    // A person's report names what is failing, or the agent it is about.
    let mut on_incidents = on_incidents;
    on_incidents.push(json!({
        "if": { "properties": { "kind": { "const": InterventionKind::CreateIncident.as_str() } } },
        "then": { "anyOf": [
            { "required": ["resource"], "properties": { "resource": { "type": "string", "pattern": pattern(false) } } },
            { "required": ["target_agent"], "properties": { "target_agent": { "type": "string", "pattern": pattern(false) } } },
        ] },
    }));
    let routes = [
        ("/api/v1/agents/{agent_id}/interventions", json!([{ "properties": { "kind": { "enum": on_agents } } }])),
        ("/api/v1/incidents/{id}/interventions", json!(on_incidents)),
    ];
    for (path, extra) in routes {
        let pointer = format!("/paths/{}/post/requestBody/content/application~1json/schema", path.replace('/', "~1"));
        if let Some(schema) = doc.pointer_mut(&pointer) {
            let mut all = vec![schema.clone()];
            all.extend(extra.as_array().cloned().unwrap_or_default());
            *schema = json!({ "allOf": all });
        }
    }
}
