//! The attribution rollout over two simulated weeks (seed 000): a fleet of
//! compliant, overriding, violating, silent and fixed services posts runs
//! through the HTTP API each day on a manual clock; statuses, trends, the
//! weekly status and the outreach are checked against the seed's templates,
//! and the messages reach local receivers in their channels' formats.

use crate::common::{self, ADMIN, AGENT, Db, RESPONDER, StoreGuard, TestServer, VIEWER, as_alice, tokens};
use mandate::desk::{Desk, DeskConfig, LEGACY_TITLE};
use mandate::paging::Clock;
use mandate::paging::inbox::Inbox;
use mandate::routing::{Routing, RoutingDocument};
use serde_json::{Value, json};
use std::time::Duration;

const WAIT: Duration = Duration::from_secs(15);

/// Monday 2026-11-16, 10:00 UTC: day 0.
const DAY_0: &str = "2026-11-16T10:00:00Z";

const ROUTING: &str = r##"
fallback = "@platform-oncall"

[[level]]
name = "primary"
targets = ["resource.owner"]

[[rule]]
name = "everything"
channels = ["webhook"]

[attribution]
shadow_begins = "2026-11-09T00:00:00Z"
soft_fail_begins = "2026-11-23T00:00:00Z"
override_disabled = "2026-11-27T00:00:00Z"
hard_fail_begins = "2026-11-30T00:00:00Z"
status_to = "@platform-team"
status_channels = ["email"]
status_at = "mon 09:00"
outreach_channels = ["slack"]
support = "#attribution-help"
"##;

fn catalog() -> Value {
    json!({ "service": [
        {"name": "svc-compliant", "owner": "@carla", "team": "payments"},
        {"name": "svc-fixed", "owner": "@fay", "team": "payments"},
        {"name": "svc-override", "owner": "@olga", "team": "search"},
        {"name": "svc-violating", "owner": "@vic", "team": "reports"},
        {"name": "svc-silent", "owner": "@sid", "team": "batch"},
    ]})
}

struct Fleet {
    t: TestServer,
    inbox: Inbox,
    clock: Clock,
    _guard: StoreGuard,
}

impl Fleet {
    async fn start(db: Db, at: &str) -> Fleet {
        let inbox = Inbox::start().await.unwrap();
        let mut document: RoutingDocument = toml::from_str(ROUTING).unwrap();
        document.receivers = inbox.receivers();
        let routing = Routing::new(document, "test routing").unwrap();
        let guard = common::store(db).await;
        let clock = Clock::manual(at.parse().unwrap());
        let config = DeskConfig { routing: Some(routing), clock: clock.clone(), ..DeskConfig::default() };
        let desk = Desk::open(guard.store.clone(), None, config).await.unwrap();
        let server = mandate::server::start_desk(desk, tokens(), "127.0.0.1:0".parse().unwrap()).await.unwrap();
        let t = TestServer::wrap(server);
        let put = t.send(t.http.put(t.url("/api/v1/catalog")).bearer_auth(ADMIN).json(&catalog())).await;
        assert_eq!(put.status, 200, "{:?}", put.body);
        Fleet { t, inbox, clock, _guard: guard }
    }

    /// A run from `service`; `actor_type` None leaves it out (a violation);
    /// `override_used` says the SDK let it through with the legacy override.
    async fn run(&self, service: &str, agent: &str, actor_type: Option<&str>, override_used: bool) -> u16 {
        let mut body = json!({
            "goal": "nightly export with a secret-looking goal: token=abc123",
            "agent_id": agent, "origin_system_id": service,
            "source": "SDK", "provider_type": "internal", "risk_level": "low",
        });
        if let Some(t) = actor_type {
            body["actor_type"] = t.into();
        }
        let mut request = self.t.http.post(self.t.url("/api/v1/runs")).bearer_auth(AGENT).json(&body);
        if override_used {
            request = request.header("mandate-attribution-override", "true");
        }
        self.t.send(request).await.status
    }

    /// One day of the fleet, at 10:00 of day `day`.
    async fn day(&self, day: i64) {
        for _ in 0..2 {
            assert_eq!(self.run("svc-compliant", "agent-compliant", Some("SYSTEM"), false).await, 201);
            assert_eq!(self.run("svc-override", "agent-override", None, true).await, 400);
            assert_eq!(self.run("svc-violating", "agent-violating", None, false).await, 400);
            if day <= 3 {
                assert_eq!(self.run("svc-silent", "agent-silent", Some("SYSTEM"), false).await, 201);
            }
            let fixed = if day <= 5 { None } else { Some("SYSTEM") };
            self.run("svc-fixed", "agent-fixed", fixed, false).await;
        }
    }

    async fn rollout(&self, query: &str) -> Value {
        let answer = self.t.get(VIEWER, &format!("/api/v1/attribution/rollout{query}")).await;
        assert_eq!(answer.status, 200, "{:?}", answer.body);
        answer.body
    }

    /// The legacy sentinels of seed 000, exactly as the simulator sends them.
    async fn legacy_run(&self) -> u16 {
        let body = json!({
            "goal": "nightly invoice export", "agent_id": "legacy-unknown", "actor_type": "SYSTEM",
            "origin_system_id": "legacy-migration", "source": "API", "provider_type": "internal", "risk_level": "low",
        });
        self.t.post(AGENT, "/api/v1/runs", &body).await.status
    }

    async fn breach_incidents(&self) -> usize {
        let list = self.t.get(VIEWER, "/api/v1/incidents?limit=200").await.body;
        list["incidents"].as_array().unwrap().iter().filter(|i| i["title"] == LEGACY_TITLE).count()
    }
}

fn service<'a>(status: &'a Value, name: &str) -> &'a Value {
    status["services"].as_array().unwrap().iter().find(|s| s["name"] == name).unwrap_or_else(|| panic!("{name}"))
}

fn metric<'a>(status: &'a Value, key: &str) -> &'a Value {
    status["metrics"].as_array().unwrap().iter().find(|m| m["key"] == key).unwrap()
}

/// Two weeks of the fleet: statuses with their dates, trends against the
/// previous week, phases and who fails next, the report, the breach.
async fn two_weeks_of_a_rollout(db: Db) {
    let f = Fleet::start(db, DAY_0).await;
    for day in 0..14 {
        if day > 0 {
            f.clock.advance(chrono::Duration::days(1));
        }
        f.day(day).await;
        if day == 3 {
            // Shadow mode: a legacy marker is a violation of its service,
            // not yet the P1 of §7.
            assert_eq!(f.legacy_run().await, 400);
            assert_eq!(f.breach_incidents().await, 0, "no breach before hard fail");
        }
        if day == 6 {
            // Mid-way, before the fix settled: the fixed service was violating.
            let s = f.rollout("?q=FIXED").await;
            assert_eq!((s["services"].as_array().unwrap().len(), s["services_total"].as_u64()), (1, Some(6)));
            assert_eq!(s["phase"], "shadow");
        }
    }
    // Day 13: Sunday 2026-11-29, 10:00; the next day hard fail begins.
    f.clock.advance(chrono::Duration::minutes(1));
    let s = f.rollout("").await;
    assert_eq!(s["phase"], "soft_no_override");
    let order: Vec<&str> = s["services"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(
        order,
        ["svc-violating", "svc-override", "legacy-migration", "svc-silent", "svc-compliant", "svc-fixed"],
        "worst first"
    );
    let status_of = |name: &str| service(&s, name)["status"].as_str().unwrap().to_owned();
    assert_eq!(status_of("svc-compliant"), "compliant");
    assert_eq!(status_of("svc-override"), "using_override");
    assert_eq!(status_of("svc-violating"), "violating");
    assert_eq!(status_of("svc-silent"), "silent");
    let fixed = service(&s, "svc-fixed");
    assert_eq!((fixed["status"].as_str(), fixed["previous_status"].as_str()), (Some("compliant"), Some("violating")));
    assert_eq!(fixed["since"], "2026-11-22T10:00:00Z", "compliant since its first clean run, 11-22");
    assert_eq!(service(&s, "svc-silent")["since"], "2026-11-20T10:00:00Z", "24 h after its last run");
    assert_eq!(service(&s, "svc-compliant")["since"], "2026-11-16T10:00:00Z", "since it was first seen");

    let v = service(&s, "svc-violating");
    assert_eq!(
        (v["runs_24h"].as_i64(), v["violations_24h"].as_i64(), v["violations_7d"].as_i64()),
        (Some(0), Some(2), Some(14))
    );
    assert_eq!(v["violations_by_code"][0]["key"], "ATTR_ACTOR_TYPE_MISSING");
    assert_eq!(v["owners"][0]["who"], "@vic");
    assert_eq!(v["team"], "reports");
    assert_eq!(v["fails_next_phase"], true);
    let fields = &v["latest_violation"]["fields"];
    assert_eq!(
        (fields["agent_id"].as_str(), fields["actor_type"].as_str()),
        (Some("agent-violating"), Some("(missing)"))
    );
    assert!(!v["latest_violation"].to_string().contains("token=abc123"), "never the goal: {}", v["latest_violation"]);
    let o = service(&s, "svc-override");
    assert_eq!((o["override_use_7d"].as_i64(), o["violations_7d"].as_i64()), (Some(14), Some(14)));
    let c = service(&s, "svc-compliant");
    assert_eq!(
        (c["runs_24h"].as_i64(), c["runs_7d"].as_i64(), c["violations_7d"].as_i64()),
        (Some(2), Some(14), Some(0))
    );
    assert_eq!(c["first_seen"], "2026-11-16T10:00:00Z");
    assert_eq!(service(&s, "legacy-migration")["status"], "silent", "its one run was on day 3");

    // Trends: this week (days 7–13) against the last (days 0–6).
    let rate = metric(&s, "validation_success_rate");
    assert_eq!((rate["trend"].as_str(), rate["improving"].as_bool()), (Some("up"), Some(true)));
    assert!((rate["value"].as_f64().unwrap() - 28.0 / 56.0).abs() < 1e-9, "{rate}");
    assert!((rate["previous"].as_f64().unwrap() - 24.0 / 65.0).abs() < 1e-9, "{rate}");
    let violations = metric(&s, "violations");
    assert_eq!((violations["value"].as_f64(), violations["previous"].as_f64()), (Some(28.0), Some(41.0)));
    assert_eq!(violations["trend"], "down");
    assert_eq!(violations["daily"].as_array().unwrap().len(), 14);
    assert_eq!(violations["daily"][13], 4.0, "today: svc-override and svc-violating, twice each");
    let overrides = metric(&s, "override_use");
    assert_eq!((overrides["value"].as_f64(), overrides["trend"].as_str()), (Some(14.0), Some("stable")));
    assert_eq!(metric(&s, "legacy_bucket_growth")["value"], 0.0);
    assert_eq!(metric(&s, "legacy_attempts")["previous"], 1.0);

    // Milestones and who fails next.
    let next = &s["next"];
    assert_eq!(
        (next["milestone"]["phase"].as_str(), next["milestone"]["days_remaining"].as_i64()),
        (Some("hard"), Some(1))
    );
    assert_eq!(next["would_fail"], json!(["svc-violating", "svc-override"]));
    assert_eq!(next["unknown"], json!(["legacy-migration", "svc-silent"]));
    assert_eq!(s["milestones"].as_array().unwrap().len(), 4);
    assert!(
        s["action_items"].as_array().unwrap().contains(&json!(
            "reports: Complete migration of svc-violating by now (its runs are refused in this phase)"
        ))
    );

    // Filters.
    let bad = f.rollout("?status=violating,using_override").await;
    let names: Vec<&str> = bad["services"].as_array().unwrap().iter().map(|s| s["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["svc-violating", "svc-override"]);
    let refused = f.t.get(VIEWER, "/api/v1/attribution/rollout?status=broken").await;
    assert_eq!((refused.status, refused.body["field"].as_str()), (400, Some("status")));

    // The weekly status, on demand, is seed 000 §6 from these figures.
    let report = f.t.get(VIEWER, "/api/v1/attribution/report").await;
    assert_eq!(report.status, 200);
    assert!(report.headers["content-type"].to_str().unwrap().starts_with("text/markdown"));
    let text = report.body.as_str().unwrap();
    for line in [
        "**Subject:** Attribution Enforcement — Weekly Status Update 2026-W48",
        "**Rollout Status: Soft fail, override disabled**",
        "| Validation success rate | 50.0% | UP (from 36.9%) |",
        "| Total violations (7d) | 28 | DOWN (from 41) |",
        "| Override usage | 14 | STABLE (from 14) |",
        "| Legacy bucket growth | 0 | Should be 0 |",
        "| svc-fixed | Compliant | Fixed 11-22 |",
        "| svc-compliant | Compliant | Compliant since 11-16 |",
        "| svc-override | Using Override | Deadline 11-27 |",
        "| svc-violating | Violations | 2 in 24h; owner not yet contacted |",
        "| svc-silent | Silent | Nothing since 11-19 |",
        "- 2026-11-23: Soft fail begins (done)",
        "- 2026-11-30: Hard fail enforcement (in 1 day)",
        "- search: Remove override flag from svc-override by now (its runs are refused in this phase)",
        "- Platform: Monitor legacy bucket for breaches",
    ] {
        assert!(text.contains(line), "{line:?} missing from:\n{text}");
    }

    // Hard fail: the legacy markers are now the P1 of §7, linked here.
    f.clock.advance(chrono::Duration::days(1));
    assert_eq!(f.legacy_run().await, 400);
    assert_eq!(f.breach_incidents().await, 1);
    let s = f.rollout("").await;
    assert_eq!(s["phase"], "hard");
    let breach = &s["breach"];
    let detail = f.t.get(VIEWER, &format!("/api/v1/incidents/{}", breach["incident_id"])).await.body;
    assert_eq!((detail["title"].as_str(), detail["severity"].as_str()), (Some(LEGACY_TITLE), Some("critical")));
    assert_eq!(breach["status"], "open");
    assert_eq!(service(&s, "legacy-migration")["status"], "violating");
    f.t.stop().await;
    drop(f.inbox);
}

/// The weekly status goes out by itself once its slot passes, once a week,
/// to its target on its channel; the outreach reaches the owner's channel
/// with the service's own violations, once a day, audited.
async fn the_weekly_status_and_the_outreach_reach_people(db: Db) {
    // Day 0's runs at 08:00; at 10:00 this week's status (09:00) is due.
    let f = Fleet::start(db, "2026-11-16T08:00:00Z").await;
    f.day(0).await;
    f.clock.advance(chrono::Duration::hours(2));
    let email = f.inbox.accepted("email", 1, WAIT).await;
    assert_eq!(email.len(), 1, "{:?}", f.inbox.all());
    assert_eq!(email[0].to.as_deref(), Some("platform-team@example.com"), "{:?}", email[0].to);
    assert!(email[0].body.contains("Weekly Status Update 2026-W47"), "{}", email[0].body);
    assert!(email[0].body.contains("| svc-violating | Violations |"), "{}", email[0].body);
    for day in 1..8 {
        f.clock.advance(chrono::Duration::days(1));
        f.day(day).await;
    }
    // Day 7: the next Monday's.
    let email = f.inbox.accepted("email", 2, WAIT).await;
    assert!(email[1].body.contains("Weekly Status Update 2026-W48"), "{}", email[1].body);
    assert!(email[1].body.contains("**Rollout Status: Soft fail**"), "{}", email[1].body);
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(f.inbox.received("email").len(), 2, "once a week, not once a tick");

    // Outreach: the operator's attribution, to the owner's channel.
    let path = "/api/v1/attribution/services/svc-violating/outreach";
    let body = as_alice(json!({ "reason": "soft fail began; still violating" }));
    let viewer = f.t.post(VIEWER, path, &body).await;
    assert_eq!(viewer.status, 403);
    let sent = f.t.post(RESPONDER, path, &body).await;
    assert_eq!(sent.status, 200, "{:?}", sent.body);
    assert_eq!(sent.body["sent_to"][0]["who"], "@vic");
    assert_eq!(sent.body["channels"], json!(["slack"]));
    let slack = f.inbox.accepted("slack", 1, WAIT).await[0].json();
    let text = slack["blocks"].to_string();
    for expected in [
        "[URGENT] Your service svc-violating has attribution violations",
        "Hi @vic",
        "Error code: ATTR_ACTOR_TYPE_MISSING (14)",
        "Violation count (last 24h): 2",
        "Current phase:** SOFT",
        "Soft fail (2026-11-23): Runs will be rejected",
        "agent_id=\\\"agent-violating\\\"",
        "origin_system_id=\\\"svc-violating\\\"",
        "Slack: #attribution-help",
    ] {
        assert!(text.contains(expected), "{expected:?} missing from {text}");
    }
    assert!(!text.contains("token=abc123"), "a request's goal is never quoted");
    let again = f.t.post(RESPONDER, path, &body).await;
    assert_eq!((again.status, again.body["code"].as_str()), (409, Some("OUTREACH_ALREADY_SENT")));
    let compliant = f.t.post(RESPONDER, "/api/v1/attribution/services/svc-compliant/outreach", &body).await;
    assert_eq!((compliant.status, compliant.body["code"].as_str()), (409, Some("SERVICE_COMPLIANT")));
    let unknown = f.t.post(RESPONDER, "/api/v1/attribution/services/nobody/outreach", &body).await;
    assert_eq!(unknown.status, 404);
    let unattributed = f.t.post(RESPONDER, path, &json!({})).await;
    assert_eq!(unattributed.status, 400);

    // Audited, and shown on the service and in the next status.
    let audit = f.t.get(ADMIN, "/api/v1/audit?limit=50").await.body;
    let entry = audit["entries"].as_array().unwrap().iter().find(|e| e["action"] == "attribution_outreach").unwrap();
    assert_eq!((entry["actor"].as_str(), entry["target"].as_str()), (Some("alice"), Some("service:svc-violating")));
    let s = f.rollout("").await;
    assert_eq!(service(&s, "svc-violating")["last_outreach"]["by"], "alice");
    let report = f.t.get(VIEWER, "/api/v1/attribution/report").await.body;
    assert!(report.as_str().unwrap().contains("| svc-violating | Violations | 2 in 24h; Escalated 11-23 by alice |"));
    f.t.stop().await;
}

on_both_databases!(two_weeks_of_a_rollout, the_weekly_status_and_the_outreach_reach_people);
