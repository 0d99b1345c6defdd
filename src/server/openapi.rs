//! The answers every route can give by construction, added to each
//! operation of the OpenAPI document, so it lists every status code a route
//! can return: the handlers' own answers are in their annotations; these
//! come from the layers every request goes through.

use serde_json::{Value, json};

/// (status, when): what the layers answer, and for which operations.
fn common_answers(secured: bool, has_body: bool, static_answer: bool) -> Vec<(u16, &'static str)> {
    let mut answers = vec![(
        400,
        "Refused as sent: an unknown, repeated or malformed query parameter, a path segment that is not an \\
         identifier (control characters, bad percent-encoding), or a body that fails validation",
    )];
    if secured {
        answers.push((401, "No valid bearer token (UNAUTHENTICATED)"));
        answers
            .push((403, "The token's role may not do this (FORBIDDEN), or acts for other agents (AGENT_NOT_ALLOWED)"));
        answers.push((
            429,
            "Too many failed authentications from this address (TOO_MANY_FAILED_ATTEMPTS), or the token is past \\
             its request rate (RATE_LIMITED); Retry-After says when to retry",
        ));
    }
    if has_body {
        answers.push((408, "The body took longer than 30 s to arrive (BODY_TIMEOUT)"));
        answers.push((413, "The body is over the route's limit (BODY_TOO_LARGE), stated in the message"));
        answers.push((415, "The body is not application/json (UNSUPPORTED_MEDIA_TYPE)"));
    }
    if !static_answer {
        answers.push((500, "An unexpected error; the log says more (INTERNAL)"));
        answers
            .push((503, "The database cannot be reached, or another server is refusing (UNAVAILABLE); Retry-After: 1"));
    }
    answers
}

/// What the derive cannot say: a batch holds at most 1,000 events.
pub(super) fn batch_limit(doc: &mut Value) {
    if let Some(many) = doc.pointer_mut("/components/schemas/EventBatch/oneOf/1") {
        many["maxItems"] = json!(crate::server::routes::events::MAX_BATCH);
        many["minItems"] = json!(1);
    }
}

pub(super) fn answers_every_route_gives(doc: &mut Value) {
    let error = json!({ "application/json": { "schema": { "$ref": "#/components/schemas/ErrorBody" } } });
    let Some(paths) = doc.get_mut("paths").and_then(Value::as_object_mut) else { return };
    for (path, item) in paths.iter_mut() {
        let Some(item) = item.as_object_mut() else { continue };
        for (_, operation) in item.iter_mut() {
            let secured = operation.get("security").is_some();
            let has_body = operation.get("requestBody").is_some();
            let static_answer = path == "/api/v1/openapi.json";
            let responses = operation
                .as_object_mut()
                .and_then(|o| o.entry("responses").or_insert_with(|| json!({})).as_object_mut());
            let Some(responses) = responses else { continue };
            for (status, when) in common_answers(secured, has_body, static_answer) {
                let entry = responses
                    .entry(status.to_string())
                    .or_insert_with(|| json!({ "description": when, "content": error.clone() }));
                // A route's own answer keeps its words; every error is this JSON body.
                if let Some(o) = entry.as_object_mut() {
                    o.entry("content").or_insert_with(|| error.clone());
                }
            }
        }
    }
}
