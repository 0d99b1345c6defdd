//! The OpenAPI document is generated from the code and lists every route.

use crate::common::{self, ADMIN, Db, start};
const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

#[tokio::test]
async fn the_document_lists_every_route_the_router_serves() {
    let t = start(Db::Sqlite).await;
    let spec = t.send(t.http.get(t.url("/api/v1/openapi.json"))).await.body;
    assert!(spec["openapi"].as_str().unwrap().starts_with("3.1"), "OpenAPI 3.1: {}", spec["openapi"]);
    let paths = spec["paths"].as_object().unwrap();
    let documented: Vec<String> = paths
        .iter()
        .flat_map(|(path, item)| {
            item.as_object()
                .unwrap()
                .keys()
                .filter(|m| METHODS.contains(&m.as_str()))
                .map(move |m| format!("{} {path}", m.to_uppercase()))
        })
        .collect();
    let mut expected = vec![
        "GET /healthz",
        "GET /readyz",
        "GET /api/v1/whoami",
        "GET /api/v1/openapi.json",
        "GET /api/v1/runs",
        "POST /api/v1/runs",
        "GET /api/v1/runs/{run_id}",
        "POST /api/v1/runs/{run_id}/complete",
        "GET /api/v1/activity/runs/live/by-dimension",
        "GET /api/v1/activity/runs/completed/by-dimension",
        "POST /api/v1/events",
        "POST /api/v1/alerts",
        "POST /api/v1/alerts/alertmanager",
        "POST /api/v1/slack/interactions",
        "GET /api/v1/degradations",
        "GET /api/v1/incidents/{id}/impact",
        "GET /api/v1/incidents",
        "GET /api/v1/incidents/{id}",
        "GET /api/v1/incidents/{id}/postmortem",
        "GET /api/v1/interventions",
        "POST /api/v1/incidents/{id}/interventions",
        "POST /api/v1/agents/{agent_id}/interventions",
        "POST /api/v1/incidents/{id}/verdicts",
        "GET /api/v1/agents",
        "GET /api/v1/agents/{agent_id}/control",
        "POST /api/v1/agents/{agent_id}/refusals",
        "POST /api/v1/stops",
        "GET /api/v1/stops",
        "POST /api/v1/stops/lift",
        "POST /api/v1/silences",
        "GET /api/v1/silences",
        "POST /api/v1/silences/{id}/lift",
        "GET /api/v1/audit",
        "GET /api/v1/catalog",
        "PUT /api/v1/catalog",
        "GET /api/v1/routing",
        "PUT /api/v1/routing",
        "GET /api/v1/routing/usage",
        "GET /api/v1/incidents/{id}/routing",
        "GET /api/v1/oncall",
        "GET /api/v1/decisions",
        "POST /api/v1/approvals",
        "GET /api/v1/approvals",
        "GET /api/v1/approvals/{id}",
        "POST /api/v1/approvals/{id}/decision",
        "GET /api/v1/notifications",
        "POST /api/v1/notifications/{notification_id}/retry",
        "GET /api/v1/attribution/stats",
        "GET /api/v1/attribution/rollout",
        "GET /api/v1/attribution/report",
        "POST /api/v1/attribution/services/{service}/outreach",
        "GET /api/v1/access-log",
        "GET /api/v1/disputes",
        "POST /api/v1/disputes",
        "POST /api/v1/disputes/{id}/resolution",
        "GET /api/v1/calibration",
        "GET /api/v1/calibration/reliance",
        "GET /api/v1/suggestions/stats",
        "GET /api/v1/patterns",
        "GET /api/v1/patterns/{id}",
        "GET /api/v1/rules",
        "POST /api/v1/rules",
        "POST /api/v1/rules/{id}/transition",
    ];
    let mut documented_sorted = documented.clone();
    documented_sorted.sort();
    expected.sort();
    assert_eq!(documented_sorted, expected);

    // Every documented (method, path) is served, and every other method on a
    // documented path is refused: the router serves exactly the document.
    for (path, item) in paths {
        let concrete = path
            .replace("{run_id}", "some-run")
            .replace("{id}", "1")
            .replace("{agent_id}", "some-agent")
            .replace("{notification_id}", "some-notification");
        for method in METHODS {
            let request = t
                .http
                .request(method.to_uppercase().parse().unwrap(), t.url(&concrete))
                .bearer_auth(ADMIN)
                .header("content-type", "application/json")
                .body("{}");
            let answer = t.send(request).await;
            if item.get(method).is_some() {
                assert_ne!(answer.body["code"], "ROUTE_NOT_FOUND", "{method} {path} is documented but not served");
                assert_ne!(answer.status, 405, "{method} {path} is documented but not served");
            } else {
                assert_eq!(answer.status, 405, "{method} {path} is served but not documented");
            }
        }
    }
    // Every schema the document references exists.
    let text = serde_json::to_string(&spec).unwrap();
    let schemas = spec["components"]["schemas"].as_object().unwrap();
    for reference in text.split("\"#/components/schemas/").skip(1) {
        let name = reference.split('"').next().unwrap();
        assert!(schemas.contains_key(name), "dangling schema reference {name}");
    }
    assert!(spec["components"]["securitySchemes"]["bearer"].is_object());

    // The events body is what clients send: one event, or an array of up to 1,000.
    let batch = &spec["components"]["schemas"]["EventBatch"]["oneOf"];
    assert_eq!(batch[0]["$ref"], "#/components/schemas/EventBody", "{batch}");
    assert_eq!((batch[1]["type"].as_str(), batch[1]["maxItems"].as_u64()), (Some("array"), Some(1000)), "{batch}");
    let event = &spec["components"]["schemas"]["EventBody"];
    assert_eq!(event["properties"]["event_id"]["maxLength"], 128, "lengths the server enforces");
    assert_eq!(event["additionalProperties"], false, "unknown fields are refused");
    // A stated length is the length the server enforces, to the character.
    let most = spec["components"]["schemas"]["CreateRunRequest"]["properties"]["goal"]["maxLength"].as_u64().unwrap();
    for (length, status) in [(most, 201), (most + 1, 400)] {
        let mut run = common::run_body();
        run["goal"] = "g".repeat(length as usize).into();
        let answer = t.post(common::AGENT, "/api/v1/runs", &run).await;
        assert_eq!(answer.status, status, "a goal of {length} characters: {:?}", answer.body);
    }
    // Every length the parser holds a field to is the one the document states.
    for (body, field, limit) in mandate::api::limits::FIELDS {
        let schema = &spec["components"]["schemas"][*body];
        // Where the attribution rule wraps a body in `allOf`, its fields are in the first part.
        let stated = schema
            .pointer(&format!("/properties/{field}"))
            .or_else(|| schema.pointer(&format!("/allOf/0/properties/{field}")))
            .cloned()
            .into_iter()
            .collect::<Vec<_>>();
        let (key, n) = match limit {
            mandate::api::limits::Limit::Chars(n) => ("maxLength", n),
            mandate::api::limits::Limit::Items(n) => ("maxItems", n),
        };
        assert!(
            !stated.is_empty() && stated.iter().all(|p| p[key] == *n as u64),
            "{body}.{field}: {key} {n} in {stated:?}"
        );
    }
    // Ranges are stated, and the answers every layer gives are listed on every route.
    for (path, item) in paths {
        for (method, operation) in item.as_object().unwrap() {
            let responses = operation["responses"].as_object().unwrap();
            for status in ["400", "500", "503"] {
                let expected = !(path == "/api/v1/openapi.json" && status != "400");
                assert_eq!(responses.contains_key(status), expected, "{method} {path} lists {status}");
            }
            if operation.get("security").is_some() {
                for status in ["401", "403", "429"] {
                    assert!(responses.contains_key(status), "{method} {path} lists {status}");
                }
            }
            if operation.get("requestBody").is_some() {
                for status in ["408", "413", "415"] {
                    assert!(responses.contains_key(status), "{method} {path} lists {status}");
                }
            }
            for p in operation["parameters"].as_array().into_iter().flatten() {
                if p["name"] == "limit" {
                    assert!(
                        p["schema"]["minimum"].is_number() && p["schema"]["maximum"].is_number(),
                        "{method} {path}: {p}"
                    );
                }
            }
        }
    }
    t.stop().await;
}

/// The document states the identifier rule the parser enforces: every
/// sample the document's pattern allows is accepted as an agent, every one
/// it refuses is refused, and the document's 4xx answers are listed.
#[tokio::test]
async fn the_document_states_the_identifier_rule_the_parser_enforces() {
    let t = start(Db::Sqlite).await;
    let spec = t.send(t.http.get(t.url("/api/v1/openapi.json"))).await.body;
    let pattern = spec.pointer("/components/schemas/CreateRunRequest/allOf/0/properties/agent_id/pattern").unwrap();
    let pattern = regex::Regex::new(pattern.as_str().unwrap()).unwrap();
    for (i, sample) in [
        "agent-7",
        "déploiement",
        "部署-1",
        "🚀 deployer",
        "pay-x\u{200B}",
        "pay-\u{3164}x",
        "pay-\u{202E}x",
        "pay-x\u{FE0F}",
        "pay-x\u{E000}",
        "pay-x\u{10FFFD}",
        "pay-x\u{E0041}",
        "a\u{1b}b",
        "a\u{85}b",
        "   ",
        "\u{3000}",
    ]
    .into_iter()
    .enumerate()
    {
        let mut run = common::run_body();
        run["agent_id"] = sample.into();
        run["goal"] = format!("sample {i}").into();
        let answer = t.post(common::AGENT, "/api/v1/runs", &run).await;
        assert_eq!(pattern.is_match(sample), answer.status == 201, "{sample:?}: {}", answer.body);
    }
}
