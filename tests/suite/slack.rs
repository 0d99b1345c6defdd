//! Acting from Slack, against a real server on both databases and a local
//! Slack (the inbox: an incoming webhook, the Web API's `chat.update`, an
//! interaction's `response_url`) that speaks Slack's published formats and
//! its failures. A page carries buttons; a click, signed as Slack signs it,
//! acts in the person's name (found through the catalog) with HUMAN
//! attribution, and the message is updated in place. Forged, stale and
//! replayed requests, and people the catalog does not name, act on nothing.

use crate::common::{self, AGENT, Db, TestServer, VIEWER};
use mandate::desk::{Desk, DeskConfig};
use mandate::paging::inbox::{Answer, Inbox};
use mandate::routing::{Routing, RoutingDocument};
use serde_json::{Value, json};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(15);

struct Slack {
    t: TestServer,
    inbox: Inbox,
    _guard: common::StoreGuard,
}

/// The seed catalog's owners, with Alice and Umar known by their Slack ids.
fn catalog() -> Value {
    let mut c = common::seed_catalog();
    c["person"] = json!([{"name": "@alice", "slack": "U0ALICE"}, {"name": "umar", "slack": "U0UMAR"}]);
    c
}

impl Slack {
    async fn start(db: Db) -> Slack {
        let inbox = Inbox::start().await.unwrap();
        let routing = "[[level]]\nname = \"primary\"\ntargets = [\"resource.owner\"]\nchannels = [\"slack\"]\n";
        let mut document: RoutingDocument = toml::from_str(routing).unwrap();
        document.receivers.slack = Some(inbox.interactive_slack());
        document.storm.flash_hold = "0s".into();
        let routing = Routing::new(document, "test routing").unwrap();
        let guard = common::store(db).await;
        let desk =
            Desk::open(guard.store.clone(), None, DeskConfig { routing: Some(routing), ..DeskConfig::default() })
                .await
                .unwrap();
        let server = mandate::server::start_desk(desk, common::tokens(), "127.0.0.1:0".parse().unwrap()).await.unwrap();
        let t = TestServer::wrap(server);
        t.send(t.http.put(t.url("/api/v1/catalog")).bearer_auth(common::ADMIN).json(&catalog())).await.succeeded();
        Slack { t, inbox, _guard: guard }
    }

    /// deployer-7 deploys payments-service, which then fails: the incident,
    /// and the page Alice gets in Slack (its blocks).
    async fn paged(&self) -> (i64, Vec<Value>) {
        let deploy = common::event_body("deploy-1", -3.0, "deployer-7", "deploy", "payments-service", "ok");
        self.t.post(AGENT, "/api/v1/events", &deploy).await.succeeded();
        let mut failure =
            common::event_body("fail-1", -1.0, "payments-runtime", "tool_call", "payments-service", "error");
        failure["error_code"] = "E_TIMEOUT".into();
        let report = self.t.post(AGENT, "/api/v1/events", &failure).await.succeeded();
        let id = report["incidents"][0].as_i64().unwrap();
        // The owner's page (the dependents' owners are told too).
        let deadline = tokio::time::Instant::now() + WAIT;
        let page = loop {
            let got = self.inbox.received("slack");
            let page =
                got.iter().map(|r| r.json()).find(|m| m.to_string().contains("Why you: owner of payments-service"));
            if let Some(page) = page {
                break page;
            }
            assert!(tokio::time::Instant::now() < deadline, "Alice is paged in Slack: {:?}", self.inbox.all());
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        (id, page["blocks"].as_array().unwrap().clone())
    }

    /// Posts an interaction as Slack does: form-encoded, signed at `at`
    /// (seconds) with `secret`.
    async fn post(&self, payload: &Value, secret: &str, at: i64) -> common::Answer {
        let body: String =
            form_urlencoded::Serializer::new(String::new()).append_pair("payload", &payload.to_string()).finish();
        let signature = mandate::slack::signature::sign(secret.as_bytes(), &at.to_string(), body.as_bytes());
        let request = self
            .t
            .http
            .post(self.t.url("/api/v1/slack/interactions"))
            .header("content-type", "application/x-www-form-urlencoded")
            .header("x-slack-request-timestamp", at.to_string())
            .header("x-slack-signature", signature)
            .body(body);
        self.t.send(request).await
    }

    async fn click(&self, payload: &Value) -> common::Answer {
        self.post(payload, self.inbox.slack_signing_secret(), chrono::Utc::now().timestamp()).await
    }

    /// The n-th `chat.update` the local Slack accepted.
    async fn updated(&self, n: usize) -> Value {
        let got = self.inbox.accepted("slack-api", n, WAIT).await;
        assert!(got.len() >= n, "chat.update {n} came: {:?}", self.inbox.received("slack-api"));
        let update = &got[n - 1];
        assert!(update.headers["authorization"].starts_with("Bearer xoxb-"), "with the bot token");
        update.json()
    }

    async fn detail(&self, id: i64) -> Value {
        self.t.get(VIEWER, &format!("/api/v1/incidents/{id}")).await.succeeded()
    }
}

/// The interaction Slack posts when `user` clicks `action_id` in `blocks`.
fn clicked(user: &str, blocks: &[Value], action_id: &str, typed: Option<&str>, response_url: &str) -> Value {
    let (block, element) = blocks
        .iter()
        .find_map(|b| {
            let elements = b["elements"].as_array().map(|e| e.to_vec()).unwrap_or_else(|| vec![b["element"].clone()]);
            elements.into_iter().find(|e| e["action_id"] == action_id).map(|e| (b.clone(), e))
        })
        .unwrap_or_else(|| panic!("no {action_id} in {blocks:#?}"));
    let value = typed.map(str::to_owned).or_else(|| element["value"].as_str().map(str::to_owned));
    json!({
        "type": "block_actions",
        "user": {"id": user, "username": "someone", "team_id": "T0MANDATE"},
        "team": {"id": "T0MANDATE", "domain": "mandate"},
        "api_app_id": "A0MANDATE",
        "channel": {"id": "C0PAGES", "name": "pages"},
        "container": {"type": "message", "message_ts": "1796650000.000100", "channel_id": "C0PAGES", "is_ephemeral": false},
        "message": {"type": "message", "ts": "1796650000.000100", "text": "PAGE", "blocks": blocks},
        "response_url": response_url,
        "trigger_id": "1.2.3",
        "actions": [{"type": element["type"], "action_id": action_id, "block_id": block["block_id"], "value": value,
                     "action_ts": format!("{}.{}", chrono::Utc::now().timestamp(), rand_suffix())}],
    })
}

fn rand_suffix() -> u32 {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(100);
    N.fetch_add(1, Ordering::Relaxed)
}

fn said(blocks: &Value) -> Vec<String> {
    blocks.as_array().unwrap().iter().filter_map(|b| b["text"]["text"].as_str().map(str::to_owned)).collect()
}

async fn a_page_in_slack_is_acted_on_from_slack(db: Db) {
    let s = Slack::start(db).await;
    let (id, blocks) = s.paged().await;
    let buttons: Vec<&str> = blocks
        .iter()
        .filter(|b| b["type"] == "actions")
        .flat_map(|b| b["elements"].as_array().unwrap())
        .map(|e| e["text"]["text"].as_str().unwrap())
        .collect();
    assert_eq!(buttons, ["Acknowledge", "Escalate…", "Stop deployer-7…", "Resolve…"]);
    let response_url = s.inbox.slack_response_url();

    // Acknowledge: done in Alice's name, from Slack, and the message says so.
    let ack = clicked("U0ALICE", &blocks, "mandate_acknowledge", None, &response_url);
    assert_eq!(s.click(&ack).await.status, 200);
    let update = s.updated(1).await;
    assert_eq!((update["channel"].as_str(), update["ts"].as_str()), (Some("C0PAGES"), Some("1796650000.000100")));
    assert!(said(&update["blocks"]).iter().any(|t| t.starts_with("Acknowledged by @alice from Slack")), "{update}");
    let detail = s.detail(id).await;
    assert_eq!(detail["status"], "acknowledged");
    let note = &detail["interventions"][0];
    assert_eq!(
        (note["kind"].as_str(), note["actor_id"].as_str(), note["via"].as_str()),
        (Some("acknowledge"), Some("alice"), Some("slack"))
    );
    let audit: Value = s.t.get(common::ADMIN, "/api/v1/audit").await.succeeded();
    let entry = audit["entries"].as_array().unwrap().iter().find(|e| e["action"] == "acknowledge").unwrap();
    assert_eq!(entry["actor"], "alice");
    assert_eq!(entry["details"]["attribution"]["actor_type"], "HUMAN");
    assert_eq!(entry["details"]["attribution"]["agent_id"], "mandate-slack");
    assert_eq!(entry["details"]["attribution"]["origin_system_id"], "slack:T0MANDATE");

    // The same click again (Slack's retry, or a replay within 5 minutes): nothing twice.
    assert_eq!(s.click(&ack).await.status, 200);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(s.detail(id).await["interventions"].as_array().unwrap().len(), 1);
    assert_eq!(s.inbox.received("slack-api").len(), 1);

    // Stopping the suspect takes two steps; the first stops nothing.
    let blocks = update["blocks"].as_array().unwrap().clone();
    assert_eq!(s.click(&clicked("U0UMAR", &blocks, "mandate_stop", None, &response_url)).await.status, 200);
    let asked = s.updated(2).await;
    assert!(said(&asked["blocks"]).iter().any(|t| t.starts_with("Stop agent deployer-7?")), "{asked}");
    let control: Value = s.t.get(AGENT, "/api/v1/agents/deployer-7/control").await.succeeded();
    assert_eq!(control["stop"], Value::Null, "not stopped by the first click");
    let blocks = asked["blocks"].as_array().unwrap().clone();
    assert_eq!(s.click(&clicked("U0UMAR", &blocks, "mandate_stop_confirmed", None, &response_url)).await.status, 200);
    let stopped = s.updated(3).await;
    assert!(said(&stopped["blocks"]).iter().any(|t| t.starts_with("Agent deployer-7 stopped by @umar from Slack")));
    let control: Value = s.t.get(AGENT, "/api/v1/agents/deployer-7/control").await.succeeded();
    assert_ne!(control["stop"], Value::Null, "stopped: {control}");

    // Escalating asks first too; cancel puts the buttons back.
    let blocks = stopped["blocks"].as_array().unwrap().clone();
    assert_eq!(s.click(&clicked("U0ALICE", &blocks, "mandate_escalate", None, &response_url)).await.status, 200);
    let blocks = s.updated(4).await["blocks"].as_array().unwrap().clone();
    assert_eq!(s.click(&clicked("U0ALICE", &blocks, "mandate_cancel", None, &response_url)).await.status, 200);
    let blocks = s.updated(5).await["blocks"].as_array().unwrap().clone();
    assert!(blocks.iter().any(|b| b["elements"][0]["action_id"] == "mandate_acknowledge"), "buttons again");
    assert!(!s.detail(id).await["interventions"].to_string().contains("escalate"), "cancelled: nothing escalated");

    // Resolving asks for the reason, typed and sent with Enter.
    assert_eq!(s.click(&clicked("U0ALICE", &blocks, "mandate_resolve", None, &response_url)).await.status, 200);
    let blocks = s.updated(6).await["blocks"].as_array().unwrap().clone();
    let typed = clicked("U0ALICE", &blocks, "mandate_resolve_reason", Some("rolled back deploy-1"), &response_url);
    assert_eq!(s.click(&typed).await.status, 200);
    let resolved = s.updated(7).await;
    assert!(
        said(&resolved["blocks"])
            .iter()
            .any(|t| t.contains("Resolved by @alice from Slack") && t.ends_with("rolled back deploy-1"))
    );
    let detail = s.detail(id).await;
    assert_eq!(detail["status"], "resolved");
    assert_eq!(detail["resolution"]["reason"], "rolled back deploy-1");
    let kinds: Vec<(&str, &str)> = detail["interventions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| (n["kind"].as_str().unwrap(), n["via"].as_str().unwrap_or("-")))
        .collect();
    assert_eq!(kinds, [("acknowledge", "slack"), ("pause_agent", "slack"), ("resolve", "slack")]);

    // A button on a resolved incident: told why, to the clicker alone.
    assert_eq!(s.click(&clicked("U0ALICE", &blocks, "mandate_cancel", None, &response_url)).await.status, 200);
    let blocks = s.updated(8).await["blocks"].as_array().unwrap().clone();
    let late = clicked("U0ALICE", &blocks, "mandate_acknowledge", None, &response_url);
    assert_eq!(s.click(&late).await.status, 200);
    let told = s.inbox.accepted("slack-response", 1, WAIT).await;
    let told = told[0].json();
    assert_eq!((told["response_type"].as_str(), told["replace_original"].as_bool()), (Some("ephemeral"), Some(false)));
    assert!(told["text"].as_str().unwrap().starts_with("Nothing was done"), "{told}");
}

async fn forged_stale_and_unknown_clicks_act_on_nothing(db: Db) {
    let s = Slack::start(db).await;
    let (id, blocks) = s.paged().await;
    let response_url = s.inbox.slack_response_url();
    let ack = clicked("U0ALICE", &blocks, "mandate_acknowledge", None, &response_url);
    let now = chrono::Utc::now().timestamp();
    let refused = |a: common::Answer, code: &str| {
        assert_eq!((a.status, a.body["code"].as_str()), (401, Some(code)), "{}", a.body);
    };
    refused(s.post(&ack, "not-the-signing-secret", now).await, "SLACK_SIGNATURE_INVALID");
    refused(s.post(&ack, s.inbox.slack_signing_secret(), now - 6 * 60).await, "SLACK_REQUEST_STALE");
    let unsigned = s.t.http.post(s.t.url("/api/v1/slack/interactions")).body("payload=%7B%7D");
    refused(s.t.send(unsigned).await, "SLACK_SIGNATURE_INVALID");
    // Signed, but not a payload.
    let garbled = s.post(&json!("not an object"), s.inbox.slack_signing_secret(), now).await;
    assert_eq!((garbled.status, garbled.body["code"].as_str()), (400, Some("SLACK_PAYLOAD_INVALID")));

    // Someone the catalog does not name: politely refused, in Slack, to them alone.
    let stranger = clicked("U0MALLORY", &blocks, "mandate_acknowledge", None, &response_url);
    assert_eq!(s.click(&stranger).await.status, 200);
    let told = s.inbox.accepted("slack-response", 1, WAIT).await;
    let told = told[0].json();
    assert_eq!(told["response_type"], "ephemeral");
    assert!(told["text"].as_str().unwrap().contains("does not know who you are"), "{told}");
    assert!(told["text"].as_str().unwrap().contains("U0MALLORY"));

    let detail = s.detail(id).await;
    assert_eq!(detail["status"], "open");
    assert_eq!(detail["interventions"], json!([]));
    assert!(s.inbox.received("slack-api").is_empty(), "no message was changed");
}

/// Slack's Web API throttles, fails, or has lost the message: throttled and
/// failed updates are tried again; a refusal is not.
async fn updates_survive_slacks_failures(db: Db) {
    let s = Slack::start(db).await;
    let (_, blocks) = s.paged().await;
    let response_url = s.inbox.slack_response_url();
    s.inbox.script("slack-api", [Answer::Throttle(1), Answer::Fail(500)]);
    let ack = clicked("U0ALICE", &blocks, "mandate_acknowledge", None, &response_url);
    assert_eq!(s.click(&ack).await.status, 200);
    let update = s.updated(1).await;
    assert!(said(&update["blocks"]).iter().any(|t| t.starts_with("Acknowledged by @alice")));
    assert_eq!(s.inbox.received("slack-api").len(), 3, "429, 500, then delivered");

    s.inbox.script("slack-api", [Answer::Fail(404)]);
    let blocks = update["blocks"].as_array().unwrap().clone();
    assert_eq!(s.click(&clicked("U0ALICE", &blocks, "mandate_escalate", None, &response_url)).await.status, 200);
    tokio::time::sleep(Duration::from_secs(3)).await;
    let tries = s.inbox.received("slack-api");
    assert_eq!(tries.len(), 4, "message_not_found is Slack's answer, not tried again");
}

crate::on_both_databases!(
    a_page_in_slack_is_acted_on_from_slack,
    forged_stale_and_unknown_clicks_act_on_nothing,
    updates_survive_slacks_failures,
);

/// Without a signing secret there are no buttons and no endpoint.
#[tokio::test]
async fn slack_interactivity_is_off_without_a_signing_secret() {
    let t = common::start(Db::Sqlite).await;
    let answer = t.send(t.http.post(t.url("/api/v1/slack/interactions")).body("payload=%7B%7D")).await;
    assert_eq!((answer.status, answer.body["code"].as_str()), (404, Some("SLACK_NOT_CONFIGURED")));
}
