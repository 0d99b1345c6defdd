//! Paging end to end: a real server on a real database pages local receivers
//! that speak each channel's published format (Standard Webhooks, Slack,
//! PagerDuty Events v2, SMTP) and fail the way they do (500, 429 with
//! Retry-After, a hang, a refusal). Escalation time is a manual clock.

use crate::common::{self, ADMIN, AGENT, Db, RESPONDER, StoreGuard, TestServer, VIEWER, as_alice, event_body, tokens};
use mandate::desk::{Desk, DeskConfig};
use mandate::paging::Clock;
use mandate::paging::inbox::{Answer, Inbox};
use mandate::routing::{Routing, RoutingDocument};
use serde_json::{Value, json};
use std::time::Duration;

pub(crate) const WAIT: Duration = Duration::from_secs(15);

/// Services for every ownership case of seed 6.x.
pub(crate) fn catalog() -> Value {
    json!({
        "service": [
            {"name": "payments-service", "owner": "@alice", "team": "payments", "on_call": "@payments-oncall",
             "escalation": ["@payments-lead"], "sensitivity": "critical"},
            {"name": "reports", "owner": "@rita", "team": "reports", "on_call": "@reports-oncall",
             "escalation": ["@reports-lead"], "sensitivity": "low"},
            {"name": "search", "owner": "@sam", "owner_status": "unavailable", "backup": "@sue", "team": "search"},
            {"name": "ledger", "owner": "@carol", "owner_status": "departed", "backup": "@bill", "team": "finance"},
            {"name": "vendor-api", "team": "partners",
             "external": {"name": "Acme", "contact": "@acme-support", "channel": "email", "sla": "4h"}},
            {"name": "shared-cache", "owner": "@alice", "also_claimed_by": ["@lee"], "team": "platform"},
            {"name": "orphan-job", "team": "batch"},
        ]
    })
}

/// The owner paged on every channel; each attempt has 1 s, and there are
/// `attempts` before a notification is dead.
fn owner_on_every_channel(attempts: u32) -> String {
    format!(
        "[[level]]\nname = \"primary\"\ntargets = [\"resource.owner\"]\n\
         channels = [\"webhook\", \"slack\", \"pagerduty\", \"email\"]\n\
         [delivery]\ntimeout = \"1s\"\nmax_attempts = {attempts}\n"
    )
}

pub(crate) struct Paging {
    pub(crate) t: TestServer,
    pub(crate) inbox: Inbox,
    clock: Clock,
    _guard: StoreGuard,
}

impl Paging {
    /// With every service but the one whose owner departed: its weekly
    /// digest would be one more email in tests about other things.
    pub(crate) async fn start(db: Db, routing: &str) -> Paging {
        let mut services = catalog();
        services["service"].as_array_mut().unwrap().retain(|s| s["name"] != "ledger");
        Paging::start_with(db, routing, services).await
    }

    async fn start_with(db: Db, routing: &str, catalog: Value) -> Paging {
        let inbox = Inbox::start().await.unwrap();
        let mut document: RoutingDocument = toml::from_str(routing).unwrap();
        document.receivers = inbox.receivers();
        // Pages here are about who is paged and when, not the flash hold
        // (its own tests set it).
        if !routing.contains("flash_hold") {
            document.storm.flash_hold = "0s".into();
        }
        let routing = Routing::new(document, "test routing").unwrap();
        let guard = common::store(db).await;
        let clock = Clock::manual(chrono::Utc::now());
        let config = DeskConfig { routing: Some(routing), clock: clock.clone(), ..DeskConfig::default() };
        let desk = Desk::open(guard.store.clone(), None, config).await.unwrap();
        let server = mandate::server::start_desk(desk, tokens(), "127.0.0.1:0".parse().unwrap()).await.unwrap();
        let t = TestServer::wrap(server);
        let put = t.send(t.http.put(t.url("/api/v1/catalog")).bearer_auth(ADMIN).json(&catalog)).await;
        assert_eq!(put.status, 200, "{:?}", put.body);
        Paging { t, inbox, clock, _guard: guard }
    }

    /// A failure on `resource`: the incident it opened.
    pub(crate) async fn fail(&self, id: &str, resource: &str) -> i64 {
        // An agent of its own: one incident per call.
        let mut e = event_body(id, -0.5, &format!("agent-{id}"), "tool_call", resource, "error");
        e["error_code"] = "E_TIMEOUT".into();
        let report = self.t.post(AGENT, "/api/v1/events", &e).await;
        assert_eq!(report.status, 200, "{:?}", report.body);
        report.body["incidents"][0].as_i64().unwrap()
    }

    pub(crate) async fn pages(&self, incident: i64) -> Vec<Value> {
        let d = self.t.get(VIEWER, &format!("/api/v1/incidents/{incident}")).await.body;
        d["pages"].as_array().cloned().unwrap_or_default()
    }

    /// Waits until the incident's notifications satisfy `ok`.
    pub(crate) async fn pages_until(&self, incident: i64, what: &str, ok: impl Fn(&[Value]) -> bool) -> Vec<Value> {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let pages = self.pages(incident).await;
            if ok(&pages) {
                return pages;
            }
            assert!(tokio::time::Instant::now() < deadline, "{what}: {pages:#?}");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    pub(crate) fn advance(&self, by: chrono::Duration) {
        self.clock.advance(by);
    }
}

fn of<'a>(pages: &'a [Value], target: &str, channel: &str) -> Option<&'a Value> {
    pages.iter().find(|p| p["target"] == target && p["channel"] == channel && p["kind"] == "page")
}

pub(crate) fn state(pages: &[Value], target: &str, channel: &str) -> String {
    of(pages, target, channel).map(|p| p["state"].as_str().unwrap().to_owned()).unwrap_or_else(|| "absent".into())
}

/// A page goes out on every channel in that channel's format, says why,
/// what is suspected, what to check and how to open it; acknowledging and
/// resolving tell the receivers that support it.
async fn every_channel_is_paged_in_its_own_format(db: Db) {
    let routing = r#"
[[level]]
name = "primary"
targets = ["resource.owner"]
channels = ["webhook", "slack", "pagerduty", "email"]
"#;
    let p = Paging::start(db, routing).await;
    let id = p.fail("f1", "reports").await;

    let hook = p.inbox.accepted("webhook", 1, WAIT).await;
    assert_eq!(hook.len(), 1, "{:?}", p.inbox.all());
    let h = &hook[0];
    assert!(h.headers.contains_key("webhook-id") && h.headers.contains_key("webhook-timestamp"));
    assert!(h.headers["webhook-signature"].starts_with("v1,"), "the inbox verified the signature: {:?}", h.headers);
    let body = h.json();
    assert_eq!(body["type"], "incident.page");
    let n = &body["data"]["notifications"][0];
    assert_eq!((n["incident_id"].as_i64(), n["target"].as_str()), (Some(id), Some("@rita")));
    assert!(n["reason"].as_str().unwrap().contains("owner of reports"), "why this person: {n}");
    assert_eq!(n["open_with"], format!("mandate --incident {id}"));
    assert!(n.get("suspected_cause").is_some() && n.get("check_first").is_some(), "{n}");

    let slack = p.inbox.accepted("slack", 1, WAIT).await[0].json();
    assert_eq!(slack["blocks"][0]["type"], "header");
    assert!(slack["text"].as_str().unwrap().contains(&format!("#{id}")), "{slack}");
    let section = slack["blocks"][1]["text"]["text"].as_str().unwrap();
    assert!(section.contains("Why you: owner of reports") && section.contains("Suspected cause:"), "{section}");

    let pd = p.inbox.accepted("pagerduty", 1, WAIT).await[0].json();
    assert_eq!(pd["event_action"], "trigger");
    assert_eq!(pd["routing_key"], "R0UTINGKEY0000000000000000000001", "read from the secret file");
    assert_eq!(pd["dedup_key"], format!("mandate-incident-{id}"));
    assert!(["critical", "error", "warning", "info"].contains(&pd["payload"]["severity"].as_str().unwrap()));
    assert_eq!(pd["payload"]["source"], "reports");
    assert_eq!(pd["payload"]["custom_details"]["open_with"], format!("mandate --incident {id}"));

    let mail = &p.inbox.accepted("email", 1, WAIT).await[0];
    assert_eq!(mail.to.as_deref(), Some("rita@example.com"));
    assert!(mail.body.contains("Subject:") && mail.body.contains(&format!("mandate --incident {id}")), "{}", mail.body);
    assert!(mail.body.contains("Why you: owner of reports"), "{}", mail.body);

    let pages = p.pages_until(id, "every page sent", |ps| ps.iter().all(|p| p["state"] == "sent")).await;
    assert_eq!(pages.len(), 4);
    assert!(pages.iter().all(|p| p["attempts"] == 1 && p["sent_at"].is_string()));

    // Acknowledged: PagerDuty is acknowledged on the same alert, Slack and
    // the webhook are told; email is not written to again.
    let ack = p
        .t
        .post(RESPONDER, &format!("/api/v1/incidents/{id}/interventions"), &as_alice(json!({"kind": "acknowledge"})))
        .await;
    assert_eq!(ack.status, 200, "{:?}", ack.body);
    let pd = p.inbox.accepted("pagerduty", 2, WAIT).await;
    assert_eq!(
        (pd[1].json()["event_action"].as_str(), pd[1].json()["dedup_key"].as_str()),
        (Some("acknowledge"), Some(format!("mandate-incident-{id}").as_str()))
    );
    assert_eq!(p.inbox.accepted("webhook", 2, WAIT).await[1].json()["type"], "incident.acknowledged");
    assert!(p.inbox.accepted("slack", 2, WAIT).await[1].json()["text"].as_str().unwrap().starts_with("ACKNOWLEDGED"));

    // Resolved by recovery: PagerDuty resolves the alert.
    let ok = event_body("ok1", 0.0, "agent-f1", "tool_call", "reports", "ok");
    p.t.post(AGENT, "/api/v1/events", &ok).await.succeeded();
    // Notices to one receiver are grouped like pages: the acknowledgement
    // went out less than group_interval ago.
    tokio::time::sleep(Duration::from_millis(300)).await;
    p.advance(chrono::Duration::seconds(61));
    let pd = p.inbox.accepted("pagerduty", 3, WAIT).await;
    assert_eq!(pd.get(2).map(|r| r.json()["event_action"].clone()), Some(json!("resolve")));
    assert_eq!(p.inbox.accepted("webhook", 3, WAIT).await[2].json()["type"], "incident.resolved");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(p.inbox.received("email").len(), 1, "email is sent the page only");

    // Errors come back: the incident reopens and its owner is paged again,
    // a new PagerDuty trigger on the same alert key.
    let mut back = event_body("f2", 0.1, "agent-f1", "tool_call", "reports", "error");
    back["error_code"] = "E_TIMEOUT".into();
    p.t.post(AGENT, "/api/v1/events", &back).await.succeeded();
    assert_eq!(p.t.get(VIEWER, &format!("/api/v1/incidents/{id}")).await.body["status"], "open");
    tokio::time::sleep(Duration::from_millis(300)).await;
    p.advance(chrono::Duration::seconds(61));
    let pd = p.inbox.accepted("pagerduty", 4, WAIT).await;
    assert_eq!(pd.get(3).map(|r| r.json()["event_action"].clone()), Some(json!("trigger")), "paged again");
    assert_eq!(p.inbox.accepted("email", 2, WAIT).await.len(), 2, "by email too");
    p.t.stop().await;
}

/// Receivers that fail, throttle, hang and refuse: retried with backoff,
/// Retry-After honoured to the second, the same delivery id every time,
/// dead after the configured attempts or at once when retrying cannot
/// help; a responder retries a dead one (audited).
async fn failing_receivers_are_retried_then_dead_letters_retried_by_hand(db: Db) {
    let p = Paging::start(db, &owner_on_every_channel(3)).await;
    p.inbox.script("webhook", [Answer::Fail(500), Answer::Throttle(7)]);
    p.inbox.script("slack", [Answer::Fail(500), Answer::Fail(503), Answer::Fail(500)]);
    p.inbox.script("pagerduty", [Answer::Fail(400)]);
    p.inbox.script("email", [Answer::Hang, Answer::Fail(451)]);
    let id = p.fail("f1", "reports").await;

    let pages = p
        .pages_until(id, "first attempts", |ps| {
            ps.iter().all(|p| p["attempts"] == 1 && p["state"] != "sending")
                && state(ps, "@rita", "pagerduty") == "dead"
        })
        .await;
    let hook = of(&pages, "@rita", "webhook").unwrap();
    assert_eq!(hook["state"], "pending");
    assert!(hook["last_error"].as_str().unwrap().starts_with("HTTP 500"), "{hook}");
    let pd = of(&pages, "@rita", "pagerduty").unwrap();
    assert!(pd["last_error"].as_str().unwrap().contains("invalid"), "a 400 is not retried: {pd}");
    let mail = of(&pages, "@rita", "email").unwrap();
    assert!(mail["last_error"].as_str().unwrap().contains("no answer"), "a hang times out: {mail}");

    // The backoff after a first failure is at most 2 s.
    p.advance(chrono::Duration::seconds(2));
    let pages = p
        .pages_until(id, "second attempts", |ps| {
            ps.iter().filter(|p| p["attempts"] == 2 && p["state"] != "sending").count() == 3
        })
        .await;
    let hook = of(&pages, "@rita", "webhook").unwrap();
    assert!(hook["last_error"].as_str().unwrap().starts_with("HTTP 429"), "{hook}");
    // Retry-After: 7 is honoured: not at 6 s, at 7 s.
    p.advance(chrono::Duration::seconds(6));
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(p.inbox.received("webhook").len(), 2, "not before Retry-After");
    p.advance(chrono::Duration::seconds(1));
    let hooks = p.inbox.accepted("webhook", 1, WAIT).await;
    assert_eq!(hooks.len(), 1);
    let ids: std::collections::BTreeSet<String> =
        p.inbox.received("webhook").iter().map(|r| r.headers["webhook-id"].clone()).collect();
    assert_eq!(ids.len(), 1, "every attempt carries the same delivery id");
    assert_eq!(p.inbox.accepted("email", 1, WAIT).await.len(), 1, "email got through on its third attempt");

    // Slack failed three times: dead, with the receiver's words.
    let pages = p.pages_until(id, "slack dead", |ps| state(ps, "@rita", "slack") == "dead").await;
    let slack = of(&pages, "@rita", "slack").unwrap();
    assert!(slack["last_error"].as_str().unwrap().contains("gave up after 3 attempts"), "{slack}");
    let dead = p.t.get(VIEWER, "/api/v1/notifications?state=dead").await.body;
    assert_eq!(dead["notifications"].as_array().unwrap().len(), 2, "{dead}");
    assert!(dead["counts"].as_array().unwrap().iter().any(|c| c["state"] == "dead" && c["count"] == 2));

    // A responder retries the dead Slack page once the receiver is fixed.
    let slack_id = slack["id"].as_str().unwrap();
    let viewer = p.t.post(VIEWER, &format!("/api/v1/notifications/{slack_id}/retry"), &as_alice(json!({}))).await;
    assert_eq!(viewer.status, 403);
    let retry =
        p.t.post(RESPONDER, &format!("/api/v1/notifications/{slack_id}/retry"), &as_alice(json!({"reason": "fixed"})))
            .await;
    assert_eq!((retry.status, retry.body["state"].as_str()), (200, Some("pending")), "{:?}", retry.body);
    assert_eq!(p.inbox.accepted("slack", 1, WAIT).await.len(), 1);
    let again = p.t.post(RESPONDER, &format!("/api/v1/notifications/{slack_id}/retry"), &as_alice(json!({}))).await;
    assert_eq!((again.status, again.body["code"].as_str()), (409, Some("NOTIFICATION_NOT_DEAD")));
    let missing = p.t.post(RESPONDER, "/api/v1/notifications/nope/retry", &as_alice(json!({}))).await;
    assert_eq!(missing.status, 404);
    let audit = p.t.get(ADMIN, "/api/v1/audit").await.body;
    assert!(
        audit["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "retry_notification" && e["actor"] == "alice")
    );
    p.t.stop().await;
}

/// Every channel rides out a 500, a 429 with Retry-After and a hang, and
/// delivers on the fourth attempt under the delivery id of the first.
async fn every_channel_rides_out_a_500_a_429_and_a_hang(db: Db) {
    let p = Paging::start(db, &owner_on_every_channel(5)).await;
    for channel in ["webhook", "slack", "pagerduty"] {
        p.inbox.script(channel, [Answer::Fail(500), Answer::Throttle(3), Answer::Hang]);
    }
    p.inbox.script("email", [Answer::Fail(451), Answer::Throttle(3), Answer::Hang]);
    let id = p.fail("f1", "reports").await;
    let settled = |n: i64| move |ps: &[Value]| ps.iter().all(|p| p["attempts"] == n && p["state"] == "pending");
    let pages = p.pages_until(id, "a first failure everywhere", settled(1)).await;
    for page in &pages {
        assert!(
            page["last_error"].as_str().unwrap().contains("500")
                || page["last_error"].as_str().unwrap().contains("451"),
            "{page}"
        );
    }
    p.advance(chrono::Duration::seconds(2));
    let pages = p.pages_until(id, "throttled everywhere", settled(2)).await;
    // The HTTP receivers' Retry-After: 3 is honoured to the millisecond (SMTP has none: backoff).
    for page in pages.iter().filter(|p| p["channel"] != "email") {
        let waits = chrono::DateTime::parse_from_rfc3339(page["next_attempt_at"].as_str().unwrap()).unwrap();
        let off = waits.with_timezone(&chrono::Utc) - (p.clock.now() + chrono::Duration::seconds(3));
        assert!(off.num_milliseconds().abs() <= 1, "Retry-After: {page}");
    }
    // Retry-After for the HTTP ones; SMTP's backoff after a second failure is at most 4 s.
    p.advance(chrono::Duration::seconds(4));
    let pages = p.pages_until(id, "a hang everywhere", settled(3)).await;
    for page in &pages {
        assert!(page["last_error"].as_str().unwrap().contains("no answer"), "{page}");
    }
    p.advance(chrono::Duration::seconds(8));
    p.pages_until(id, "delivered everywhere", |ps| ps.iter().all(|p| p["state"] == "sent" && p["attempts"] == 4)).await;
    // The same delivery each time, as each receiver can tell.
    let ids = |channel: &str, id: &dyn Fn(&mandate::paging::inbox::Received) -> String| {
        let seen: std::collections::BTreeSet<String> = p.inbox.received(channel).iter().map(id).collect();
        assert_eq!(seen.len(), 1, "{channel}: {seen:?}");
    };
    ids("webhook", &|r| r.headers["webhook-id"].clone());
    ids("pagerduty", &|r| r.json()["dedup_key"].as_str().unwrap().to_owned());
    ids("slack", &|r| {
        let footer = r.json()["blocks"].as_array().unwrap().last().unwrap()["elements"][0]["text"].clone();
        footer.as_str().unwrap().rsplit("delivery ").next().unwrap().to_owned()
    });
    let mails = p.inbox.received("email");
    let delivered: Vec<_> = mails.iter().filter(|m| m.accepted).collect();
    assert_eq!(delivered.len(), 1, "{mails:?}");
    p.t.stop().await;
}

/// How a delivery went is news for every console: the change feed moves,
/// so a long poll wakes and the incident is fetched again.
async fn a_delivery_outcome_moves_the_change_feed(db: Db) {
    let routing = "[[level]]\nname = \"primary\"\ntargets = [\"@oncall\"]\nchannels = [\"webhook\"]\n\
                   [delivery]\ntimeout = \"1s\"\n";
    let p = Paging::start(db, routing).await;
    p.inbox.script("webhook", [Answer::Hang]);
    let id = p.fail("f1", "reports").await;
    let since = p.t.get(VIEWER, "/api/v1/incidents").await.body["version"].as_i64().unwrap();
    // The receiver hangs for the delivery timeout (1 s); then the failure is recorded.
    let woke = p.t.get(VIEWER, &format!("/api/v1/incidents?since={since}&wait=10")).await.body;
    let changed: Vec<i64> = woke["incidents"].as_array().unwrap().iter().map(|i| i["id"].as_i64().unwrap()).collect();
    assert_eq!(changed, [id], "the long poll woke for the delivery's outcome: {woke}");
    let pages = p.pages(id).await;
    assert!(pages[0]["last_error"].as_str().unwrap_or_default().contains("no answer"), "{pages:?}");
    p.t.stop().await;
}

/// Seed 5.3's example: the owner first; unacknowledged after 5 minutes the
/// team's on-call; at 15 minutes (skip_to) management; acknowledging stops
/// the rest. A low incident never climbs past the on-call.
async fn the_seed_escalation_example_escalates_by_itself_and_stops_on_acknowledge(db: Db) {
    let p = Paging::start(db, &common::escalation_example("15m", true)).await;
    let id = p.fail("f1", "payments-service").await;
    let detail = p.t.get(VIEWER, &format!("/api/v1/incidents/{id}")).await.body;
    assert_eq!(detail["severity"], "critical");
    let pages = p.pages_until(id, "owner paged", |ps| state(ps, "@alice", "webhook") == "sent").await;
    assert_eq!(state(&pages, "@payments-oncall", "webhook"), "pending", "the next level is a timer");
    assert_eq!(state(&pages, "@payments-lead", "webhook"), "pending");

    p.advance(chrono::Duration::minutes(4));
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(state(&p.pages(id).await, "@payments-oncall", "webhook"), "pending", "not before 5 minutes");
    p.advance(chrono::Duration::minutes(1));
    p.pages_until(id, "on-call paged at 5 min", |ps| state(ps, "@payments-oncall", "webhook") == "sent").await;
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let level = p.t.get(VIEWER, &format!("/api/v1/incidents/{id}")).await.body["escalation_level"].clone();
        if level == 1 {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the incident's escalation level follows: {level}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let audit = p.t.get(ADMIN, "/api/v1/audit").await.body;
    assert!(
        audit["entries"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["action"] == "escalate" && e["actor"] == "mandate routing")
    );

    p.advance(chrono::Duration::minutes(10));
    p.pages_until(id, "management at 15 min", |ps| state(ps, "@payments-lead", "webhook") == "sent").await;
    assert_eq!(state(&p.pages(id).await, "@vp-engineering", "webhook"), "pending");

    let ack = p
        .t
        .post(RESPONDER, &format!("/api/v1/incidents/{id}/interventions"), &as_alice(json!({"kind": "acknowledge"})))
        .await;
    assert_eq!(ack.status, 200);
    let pages = p.pages(id).await;
    let exec = of(&pages, "@vp-engineering", "webhook").unwrap();
    assert_eq!(
        (exec["state"].as_str(), exec["last_error"].as_str()),
        (Some("cancelled"), Some("the incident was acknowledged"))
    );
    p.advance(chrono::Duration::hours(2));
    tokio::time::sleep(Duration::from_millis(600)).await;
    let pages = p.pages(id).await;
    assert_eq!(state(&pages, "@vp-engineering", "webhook"), "cancelled", "nobody is paged after the acknowledgement");
    let pd: Vec<Value> = p.inbox.received("pagerduty").iter().map(|r| r.json()).collect();
    assert_eq!(pd.iter().filter(|e| e["event_action"] == "trigger").count(), 3, "owner, on-call, management");
    // :notifications lists what happened, newest first, and cancelled ones last.
    let list = p.t.get(VIEWER, "/api/v1/notifications").await.body;
    let states: Vec<&str> =
        list["notifications"].as_array().unwrap().iter().map(|n| n["state"].as_str().unwrap()).collect();
    let first_cancelled = states.iter().position(|s| *s == "cancelled").unwrap();
    assert!(states[first_cancelled..].iter().all(|s| *s == "cancelled"), "{states:?}");
    let sent: Vec<&Value> = list["notifications"].as_array().unwrap().iter().filter(|n| n["state"] == "sent").collect();
    assert!(sent.windows(2).all(|w| w[0]["sent_at"].as_str() >= w[1]["sent_at"].as_str()), "newest first: {sent:?}");
    assert!(pd.iter().any(|e| e["event_action"] == "acknowledge"));

    // Low: primary, then secondary, and never management.
    let low = p.fail("f2", "reports").await;
    assert_eq!(p.t.get(VIEWER, &format!("/api/v1/incidents/{low}")).await.body["severity"], "low");
    p.pages_until(low, "low: owner paged", |ps| state(ps, "@rita", "webhook") == "sent").await;
    p.advance(chrono::Duration::hours(3));
    let pages = p.pages_until(low, "low: on-call paged", |ps| state(ps, "@reports-oncall", "webhook") == "sent").await;
    assert!(of(&pages, "@reports-lead", "webhook").is_none(), "max_level secondary: {pages:#?}");
    p.t.stop().await;
}

/// Seed 6.2: once a week the platform target gets a digest of services
/// whose owner has left, by email; the next week, another.
async fn a_weekly_digest_names_the_departed_owners(db: Db) {
    let p = Paging::start_with(db, &common::escalation_example("15m", true), catalog()).await;
    let digests = |mails: Vec<mandate::paging::inbox::Received>| -> Vec<String> {
        // Quoted-printable: soft line breaks joined.
        mails.into_iter().map(|m| m.body.replace("=\n", "")).filter(|b| b.contains("DIGEST departed owners")).collect()
    };
    let first = loop {
        let got = digests(p.inbox.accepted("email", 1, WAIT).await);
        if let Some(d) = got.first() {
            break d.clone();
        }
    };
    assert!(first.contains("ledger (owner @carol has left; paging @bill)"), "{first}");
    assert_eq!(p.inbox.received("email")[0].to.as_deref(), Some("platform-admin@example.com"));
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(digests(p.inbox.received("email")).len(), 1, "once a week");
    let list = p.t.get(VIEWER, "/api/v1/notifications").await.body;
    assert!(list["notifications"].as_array().unwrap().iter().any(|n| n["incident_id"] == 0 && n["state"] == "sent"));
    p.advance(chrono::Duration::days(7));
    let deadline = tokio::time::Instant::now() + WAIT;
    while digests(p.inbox.received("email")).len() < 2 {
        assert!(tokio::time::Instant::now() < deadline, "no digest the next week");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    p.t.stop().await;
}

/// Seed 6.7: more than two teams affected and nobody coordinating after 10
/// minutes pages the team's lead; someone coordinating cancels that page.
async fn several_teams_and_no_coordinator_page_the_lead(db: Db) {
    let teams = json!({"service": [
        {"name": "core", "owner": "@cora", "team": "core", "escalation": ["@core-lead"]},
        {"name": "shop", "owner": "@sho", "team": "shop", "depends_on": ["core"]},
        {"name": "mail", "owner": "@mai", "team": "mail", "depends_on": ["core"]},
        {"name": "core2", "owner": "@cora", "team": "core", "escalation": ["@core-lead"]},
        {"name": "ads", "owner": "@ada", "team": "ads", "depends_on": ["core2"]},
        {"name": "feed", "owner": "@fee", "team": "feed", "depends_on": ["core2"]},
    ]});
    let routing = "[[level]]\nname = \"primary\"\ntargets = [\"resource.owner\"]\nchannels = [\"webhook\"]\n";
    let p = Paging::start_with(db, routing, teams).await;
    let alone = p.fail("a", "core").await;
    let led = p.fail("b", "core2").await;
    let coordination = |ps: &[Value]| ps.iter().find(|p| p["level"] == "coordination").cloned();
    let pages = p.pages_until(alone, "a coordination timer", |ps| coordination(ps).is_some()).await;
    let c = coordination(&pages).unwrap();
    assert_eq!((c["target"].as_str(), c["state"].as_str()), (Some("@core-lead"), Some("pending")));
    // Someone takes charge of the second incident: the first responder coordinates.
    let body = as_alice(json!({"kind": "trigger_rollback", "command": "undo", "reason": "revert", "confirm": true}));
    let taken = p.t.post(RESPONDER, &format!("/api/v1/incidents/{led}/interventions"), &body).await;
    assert_eq!(taken.status, 200, "{:?}", taken.body);
    p.advance(chrono::Duration::minutes(10));
    p.pages_until(alone, "the lead paged", |ps| coordination(ps).is_some_and(|c| c["state"] == "sent")).await;
    let pages = p
        .pages_until(led, "no page: someone coordinates", |ps| {
            coordination(ps).is_some_and(|c| c["state"] == "cancelled")
        })
        .await;
    assert_eq!(coordination(&pages).unwrap()["last_error"], "alice coordinates");
    p.t.stop().await;
}

/// `escalate` pages the next level at once, and says whom.
async fn escalate_pages_the_next_level_at_once(db: Db) {
    let p = Paging::start(db, &common::escalation_example("15m", true)).await;
    let id = p.fail("f1", "payments-service").await;
    p.pages_until(id, "owner paged", |ps| state(ps, "@alice", "webhook") == "sent").await;
    let body = as_alice(json!({"kind": "escalate", "reason": "owner asleep"}));
    let answer = p.t.post(RESPONDER, &format!("/api/v1/incidents/{id}/interventions"), &body).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    let message = answer.body["message"].as_str().unwrap();
    assert!(message.contains("paging @payments-oncall now"), "{message}");
    p.pages_until(id, "on-call paged without waiting", |ps| state(ps, "@payments-oncall", "webhook") == "sent").await;
    assert_eq!(state(&p.pages(id).await, "@payments-lead", "webhook"), "pending", "only the next level");
    p.t.stop().await;
}

/// Acknowledging cancels the timers, yet `escalate` still pages the next
/// level of the chain, and again the one after it: from wherever the
/// incident stands. The detail's routing names the same level first.
async fn escalate_after_acknowledging_pages_the_next_level(db: Db) {
    let p = Paging::start(db, &common::escalation_example("15m", true)).await;
    let id = p.fail("f1", "payments-service").await;
    p.pages_until(id, "owner paged", |ps| state(ps, "@alice", "webhook") == "sent").await;
    let ack = p
        .t
        .post(RESPONDER, &format!("/api/v1/incidents/{id}/interventions"), &as_alice(json!({"kind": "acknowledge"})))
        .await;
    assert_eq!(ack.status, 200, "{:?}", ack.body);
    p.pages_until(id, "timers cancelled", |ps| state(ps, "@payments-oncall", "webhook") == "cancelled").await;
    let escalate = as_alice(json!({"kind": "escalate", "reason": "need the on-call"}));
    let answer = p.t.post(RESPONDER, &format!("/api/v1/incidents/{id}/interventions"), &escalate).await;
    assert_eq!(answer.status, 200, "{:?}", answer.body);
    let message = answer.body["message"].as_str().unwrap();
    assert!(message.contains("paging @payments-oncall now (routing level secondary)"), "{message}");
    p.pages_until(id, "the on-call's receiver got it", |ps| state(ps, "@payments-oncall", "webhook") == "sent").await;
    assert_eq!(state(&p.pages(id).await, "@payments-lead", "webhook"), "cancelled", "only the next level");
    let again = p.t.post(RESPONDER, &format!("/api/v1/incidents/{id}/interventions"), &escalate).await;
    assert!(again.body["message"].as_str().unwrap().contains("paging @payments-lead now"), "{:?}", again.body);
    p.pages_until(id, "the lead's receiver got it", |ps| state(ps, "@payments-lead", "webhook") == "sent").await;
    let detail = p.t.get(RESPONDER, &format!("/api/v1/incidents/{id}")).await.body;
    assert_eq!(detail["status"], "acknowledged", "escalating does not reopen it");
    assert_eq!(detail["escalation_level"], 2);
    p.t.stop().await;
}

/// Each ownership case of seed 6.x, through the API.
async fn every_ownership_case_reaches_the_right_people(db: Db) {
    let p = Paging::start_with(db, &common::escalation_example("15m", true), catalog()).await;
    let reason = |pages: &[Value], who: &str| -> String {
        pages.iter().find(|p| p["target"] == who).map(|p| p["reason"].as_str().unwrap().to_owned()).unwrap_or_default()
    };
    // Unavailable: the backup, saying why.
    let id = p.fail("u", "search").await;
    let pages = p.pages_until(id, "backup paged", |ps| state(ps, "@sue", "webhook") == "sent").await;
    assert!(reason(&pages, "@sue").contains("backup for @sam, who is away"), "{pages:#?}");
    assert!(of(&pages, "@sam", "webhook").is_none());
    // Departed: the backup, and an admin alert.
    let id = p.fail("d", "ledger").await;
    let pages = p
        .pages_until(id, "backup and admin", |ps| {
            state(ps, "@bill", "webhook") == "sent" && state(ps, "@platform-admin", "webhook") == "sent"
        })
        .await;
    assert!(reason(&pages, "@platform-admin").contains("admin alert: @carol, owner of ledger, has left"), "{pages:#?}");
    // External: the vendor's contact on the vendor's channel, the SLA as timeout.
    let id = p.fail("x", "vendor-api").await;
    let pages = p.pages(id).await;
    let vendor = pages.iter().find(|p| p["target"] == "@acme-support").expect("the vendor is paged");
    assert_eq!(vendor["channel"], "email", "the vendor's channel");
    assert!(vendor["reason"].as_str().unwrap().contains("SLA 4h"));
    let next = pages.iter().find(|p| p["level"] == "secondary").expect("a next level");
    let due = |p: &Value| chrono::DateTime::parse_from_rfc3339(p["due_at"].as_str().unwrap()).unwrap();
    assert_eq!(due(next) - due(vendor), chrono::Duration::hours(4), "the SLA is the level's timeout");
    // Ambiguous: every claimant; whoever acknowledges first is recorded as owner.
    let id = p.fail("a", "shared-cache").await;
    let pages = p
        .pages_until(id, "both claimants", |ps| {
            state(ps, "@alice", "webhook") == "sent" && state(ps, "@lee", "webhook") == "sent"
        })
        .await;
    assert!(reason(&pages, "@lee").contains("ownership is ambiguous"));
    let ack = p
        .t
        .post(RESPONDER, &format!("/api/v1/incidents/{id}/interventions"), &as_alice(json!({"kind": "acknowledge"})))
        .await;
    assert!(ack.body["message"].as_str().unwrap().contains("de facto owner of shared-cache"), "{:?}", ack.body);
    let audit = p.t.get(ADMIN, "/api/v1/audit").await.body;
    let entry = audit["entries"].as_array().unwrap().iter().find(|e| e["action"] == "acknowledge").unwrap().clone();
    assert_eq!(entry["details"]["de_facto_owner"], json!({"resource": "shared-cache", "owner": "alice"}));
    // No owner: the platform/admin target, escalating in half the time.
    let id = p.fail("o", "orphan-job").await;
    // The admin was paged for the departed owner less than a minute ago:
    // storm control holds this page until group_interval has passed.
    tokio::time::sleep(Duration::from_millis(300)).await;
    p.advance(chrono::Duration::seconds(61));
    let pages = p.pages_until(id, "fallback paged", |ps| state(ps, "@platform-admin", "webhook") == "sent").await;
    assert!(reason(&pages, "@platform-admin").contains("has no owner: the fallback"), "{pages:#?}");
    let first = pages.iter().find(|p| p["level"] == "primary").unwrap();
    let second = pages.iter().find(|p| p["level"] == "secondary").unwrap();
    assert_eq!(due(second) - due(first), chrono::Duration::seconds(150), "5 minutes halved");
    p.t.stop().await;
}

/// Storm control: twenty incidents for one owner are one page, then one
/// grouped message when group_interval ends; none is lost or sent twice.
async fn storm_control_groups_what_goes_to_one_person(db: Db) {
    let routing = r#"
[[level]]
name = "primary"
targets = ["@oncall"]
channels = ["webhook"]

[storm]
group_interval = "60s"
"#;
    let p = Paging::start(db, routing).await;
    let mut incidents = Vec::new();
    for n in 0..20 {
        incidents.push(p.fail(&format!("s{n}"), &format!("svc-{n}")).await);
    }
    let first = p.inbox.accepted("webhook", 1, WAIT).await;
    tokio::time::sleep(Duration::from_millis(800)).await;
    let before = p.inbox.received("webhook").len();
    assert!(before <= 2, "at most the first page(s) before the interval ends: {before}");
    p.advance(chrono::Duration::seconds(61));
    let all = p.inbox.accepted("webhook", before + 1, WAIT).await;
    let mut carried: Vec<i64> = all
        .iter()
        .flat_map(|r| r.json()["data"]["notifications"].as_array().cloned().unwrap_or_default())
        .map(|n| n["incident_id"].as_i64().unwrap())
        .collect();
    carried.sort();
    assert_eq!(carried, incidents, "every incident paged exactly once");
    assert_eq!(all.len(), before + 1, "the rest in one grouped message");
    assert!(!first[0].json()["data"]["notifications"].as_array().unwrap().is_empty());
    assert_eq!(all.last().unwrap().json()["type"], "incident.page");
    p.t.stop().await;
}

/// Seed 000 §4 and §7: a run with a legacy marker after enforcement is
/// refused, raises a P1 incident at once and pages the platform target;
/// more such runs join that incident without paging again.
async fn a_legacy_marker_raises_a_p1_and_pages_the_platform(db: Db) {
    let p = Paging::start(db, &common::escalation_example("15m", true)).await;
    let mut run = common::run_body();
    run["agent_id"] = "legacy-unknown".into();
    let refused = p.t.post(AGENT, "/api/v1/runs", &run).await;
    assert_eq!((refused.status, refused.body["code"].as_str()), (400, Some("ATTR_AGENT_MISSING")));
    let list = p.t.get(VIEWER, "/api/v1/incidents").await.body;
    let incident = list["incidents"][0].clone();
    assert_eq!(incident["title"], mandate::desk::LEGACY_TITLE);
    assert_eq!((incident["severity"].as_str(), incident["status"].as_str()), (Some("critical"), Some("open")));
    let id = incident["id"].as_i64().unwrap();
    let hook = p.inbox.accepted("webhook", 1, WAIT).await;
    let n = &hook[0].json()["data"]["notifications"][0];
    assert_eq!((n["target"].as_str(), n["incident_id"].as_i64()), (Some("@platform-admin"), Some(id)));
    assert!(n["reason"].as_str().unwrap().contains("legacy attribution markers"), "{n}");
    assert_eq!(p.inbox.accepted("pagerduty", 1, WAIT).await[0].json()["payload"]["severity"], "critical");

    let mut again = common::run_body();
    again["origin_system_id"] = "legacy-migration".into();
    assert_eq!(p.t.post(AGENT, "/api/v1/runs", &again).await.status, 400);
    let list = p.t.get(VIEWER, "/api/v1/incidents").await.body;
    assert_eq!(list["incidents"].as_array().unwrap().len(), 1, "one incident collects them");
    assert_eq!(list["incidents"][0]["event_count"], 2);
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(p.inbox.received("webhook").len(), 1, "paged once");
    p.t.stop().await;
}

/// An agent acting while stopped is stored (nothing lost), flagged, and
/// raises a critical incident that pages at once the stop's author and the
/// agent's owner; further breaches of the same stop join that incident
/// without paging again; acting before the stop pages nobody.
async fn acting_while_stopped_pages_the_stops_author_and_the_agents_owner(db: Db) {
    let mut services = catalog();
    services["service"].as_array_mut().unwrap().retain(|s| s["name"] != "ledger");
    services["service"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "deployer-eu", "owner": "@dana", "team": "deploys"}));
    let p = Paging::start_with(db, &common::escalation_example("15m", true), services).await;
    let before = event_body("before", -1.0, "deployer-eu", "deploy", "reports", "ok");
    p.t.post(AGENT, "/api/v1/events", &before).await.succeeded();
    let stop = as_alice(json!({"scope": "agents", "target": "deployer-*", "reason": "bad deploys"}));
    p.t.post(RESPONDER, "/api/v1/stops", &stop).await.succeeded();
    let late = event_body("late", -0.5, "deployer-eu", "deploy", "reports", "ok");
    let answer = p.t.post(AGENT, "/api/v1/events", &late).await.succeeded();
    assert_eq!(answer["accepted"], 1);
    assert!(
        p.t.get(VIEWER, "/api/v1/incidents").await.body["incidents"].as_array().unwrap().is_empty(),
        "done before the stop: no alarm"
    );
    let acted = event_body("acted", 0.05, "deployer-eu", "deploy", "reports", "ok");
    let answer = p.t.post(AGENT, "/api/v1/events", &acted).await.succeeded();
    assert_eq!(
        (answer["accepted"].as_i64(), answer["stopped"]["deployer-eu"]["by"].as_str()),
        (Some(1), Some("alice"))
    );
    let list = p.t.get(VIEWER, "/api/v1/incidents").await.body;
    let incident = list["incidents"][0].clone();
    assert!(
        incident["title"].as_str().unwrap().starts_with("ACTED WHILE STOPPED: agents deployer-* (stopped by alice"),
        "{incident}"
    );
    assert_eq!(incident["severity"], "critical");
    let hooks = p.inbox.accepted("webhook", 2, WAIT).await;
    let mut targets: Vec<String> =
        hooks.iter().map(|h| h.json()["data"]["notifications"][0]["target"].as_str().unwrap().to_owned()).collect();
    targets.sort();
    assert_eq!(targets, ["@alice", "@dana"], "the stop's author and the agent's owner");
    let reason = hooks[0].json()["data"]["notifications"][0]["reason"].as_str().unwrap().to_owned();
    assert!(reason.contains("deployer-eu acted 1 time(s) while stopped") && reason.contains("bad deploys"), "{reason}");
    // Again: the same incident counts it, nobody is paged twice.
    let again = event_body("acted-2", 0.1, "deployer-eu", "deploy", "reports", "ok");
    p.t.post(AGENT, "/api/v1/events", &again).await.succeeded();
    let list = p.t.get(VIEWER, "/api/v1/incidents").await.body;
    let breaches: Vec<&Value> =
        list["incidents"].as_array().unwrap().iter().filter(|i| i["title"] == incident["title"]).collect();
    assert_eq!((breaches.len(), breaches[0]["event_count"].as_i64()), (1, Some(2)), "{list}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(p.inbox.received("webhook").len(), 2, "paged once each");
    let audit = p.t.get(ADMIN, "/api/v1/audit?limit=20").await.body;
    let named: Vec<&Value> = audit["entries"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["action"] == "acted_while_stopped")
        .map(|e| &e["details"]["events"])
        .collect();
    assert_eq!(named, [&json!(["acted-2"]), &json!(["acted"])], "each breach audited, newest first");
    p.t.stop().await;
}

/// Seed 2.1: an automation runs only where a rule says `auto` and names
/// it; it acts once, as SYSTEM, in the rule's name, and is audited.
async fn an_auto_rule_pauses_the_suspected_agent_once(db: Db) {
    for (bad, path) in
        [("decision = \"auto\"", "rule[0].automation"), ("automation = \"pause_agent\"", "rule[0].decision")]
    {
        let text = format!("[[level]]\nname = \"p\"\ntargets = [\"@x\"]\n[[rule]]\nname = \"r\"\n{bad}\n");
        let err = Routing::from_toml(&text, "auto.toml").unwrap_err();
        assert_eq!(err.path, path, "{err}");
    }
    let routing = r#"
[[level]]
name = "primary"
targets = ["resource.owner"]
channels = ["webhook"]

[[rule]]
name = "stop the deployer"
match = { severity = "critical" }
decision = "auto"
automation = "pause_agent"
"#;
    let p = Paging::start(db, routing).await;
    let deploy = event_body("d1", -3.0, "deployer-x", "deploy", "payments-service", "ok");
    let mut failure = event_body("f1", -1.0, "payment-processor", "tool_call", "payments-service", "error");
    failure["error_code"] = "E_TIMEOUT".into();
    assert_eq!(p.t.post(AGENT, "/api/v1/events", &json!([deploy, failure])).await.status, 200);
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let agents = p.t.get(VIEWER, "/api/v1/agents").await.body;
        let paused =
            agents.as_array().unwrap().iter().any(|a| a["agent_id"] == "deployer-x" && a["status"] == "paused");
        if paused {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "the suspected agent was not paused: {agents}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // More errors: analysed again, not paused again.
    let mut again = event_body("f2", -0.5, "payment-processor", "tool_call", "payments-service", "error");
    again["error_code"] = "E_TIMEOUT".into();
    p.t.post(AGENT, "/api/v1/events", &again).await.succeeded();
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let audit = p.t.get(ADMIN, "/api/v1/audit").await.body;
    let pauses: Vec<&Value> =
        audit["entries"].as_array().unwrap().iter().filter(|e| e["action"] == "pause_agent").collect();
    assert_eq!(pauses.len(), 1, "once: {pauses:?}");
    assert_eq!(pauses[0]["actor"], "mandate routing");
    assert_eq!(pauses[0]["details"]["attribution"]["actor_type"], "SYSTEM");
    assert_eq!(pauses[0]["details"]["attribution"]["rule"], "stop the deployer");
    p.t.stop().await;
}

/// A server killed with SIGKILL while a page is on its way: after the
/// restart the page is delivered, with the same delivery id, exactly once.
/// The page is delayed, never lost.
async fn a_killed_server_delays_a_page_and_never_loses_it(db: Db) {
    let inbox = Inbox::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let tokens_file = dir.path().join("tokens.toml").display().to_string();
    let agent = common::create_token(&tokens_file, "fleet", "agent");
    let url = match db {
        Db::Sqlite => format!("sqlite://{}", dir.path().join("mandate.db").display()),
        Db::Postgres => common::postgres_store().await.url.clone(),
    };
    let mut document: RoutingDocument = toml::from_str(
        "[[level]]\nname = \"primary\"\ntargets = [\"@oncall\"]\nchannels = [\"webhook\"]\n[delivery]\ntimeout = \"60s\"\n",
    )
    .unwrap();
    document.receivers = inbox.receivers();
    document.storm.flash_hold = "0s".into();
    let routing_file = dir.path().join("routing.toml");
    std::fs::write(&routing_file, toml::to_string(&document).unwrap()).unwrap();
    let routing_arg = routing_file.display().to_string();
    let more = ["--routing", routing_arg.as_str()];

    // The receiver takes the first delivery and never answers: the server
    // is killed with the page in flight.
    inbox.script("webhook", [Answer::Hang]);
    let mut first = common::serve_binary_with(&url, &tokens_file, "127.0.0.1:0", &more);
    let http = mandate::sdk::http_client_builder().build().unwrap();
    let mut e = event_body("k1", -0.5, "agent-k", "tool_call", "svc-k", "error");
    e["error_code"] = "E".into();
    let posted =
        http.post(format!("http://{}/api/v1/events", first.addr)).bearer_auth(&agent).json(&e).send().await.unwrap();
    assert_eq!(posted.status(), 200);
    let deadline = tokio::time::Instant::now() + WAIT;
    while inbox.received("webhook").is_empty() {
        assert!(tokio::time::Instant::now() < deadline, "the page never left: {:#?}", first.log.lock().unwrap());
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    first.kill();

    let second = common::serve_binary_with(&url, &tokens_file, "127.0.0.1:0", &more);
    let accepted = inbox.accepted("webhook", 1, WAIT).await;
    assert_eq!(accepted.len(), 1, "delivered after the restart: {:?}", inbox.all());
    let ids: Vec<String> = inbox.received("webhook").iter().map(|r| r.headers["webhook-id"].clone()).collect();
    assert!(ids.iter().all(|id| *id == ids[0]), "one delivery id, so the receiver can deduplicate: {ids:?}");
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(inbox.received("webhook").iter().filter(|r| r.accepted).count(), 1, "and only once");
    second.stop();
}

on_both_databases!(
    a_delivery_outcome_moves_the_change_feed,
    several_teams_and_no_coordinator_page_the_lead,
    a_weekly_digest_names_the_departed_owners,
    every_channel_rides_out_a_500_a_429_and_a_hang,
    an_auto_rule_pauses_the_suspected_agent_once,
    a_legacy_marker_raises_a_p1_and_pages_the_platform,
    acting_while_stopped_pages_the_stops_author_and_the_agents_owner,
    a_killed_server_delays_a_page_and_never_loses_it,
    every_channel_is_paged_in_its_own_format,
    failing_receivers_are_retried_then_dead_letters_retried_by_hand,
    the_seed_escalation_example_escalates_by_itself_and_stops_on_acknowledge,
    escalate_pages_the_next_level_at_once,
    escalate_after_acknowledging_pages_the_next_level,
    every_ownership_case_reaches_the_right_people,
    storm_control_groups_what_goes_to_one_person,
);
