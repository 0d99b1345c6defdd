//! Several real `mandate serve` processes on one PostgreSQL database, each
//! taking reads and writes: incident ids, grouping, counts, agent controls,
//! duplicates and the change feed hold across them as on one server, and
//! background work (paging) runs once, moving when its server dies.

use crate::common::{self, Served, as_alice, create_token, event_body, serve_binary_with};
use futures_util::future::join_all;
use mandate::paging::inbox::{Answer, Inbox};
use mandate::routing::RoutingDocument;
use serde_json::{Value, json};
use std::time::{Duration, Instant};

/// Servers on one fresh database, and who may call them.
struct Fleet {
    servers: Vec<Served>,
    url: String,
    admin: String,
    responder: String,
    agent: String,
    http: reqwest::Client,
    _dir: tempfile::TempDir,
    _guard: common::StoreGuard,
}

impl Fleet {
    async fn start(n: usize, more: &[&str]) -> Fleet {
        let dir = tempfile::tempdir().unwrap();
        let tokens = dir.path().join("tokens.toml").display().to_string();
        let admin = create_token(&tokens, "root", "admin");
        let responder = create_token(&tokens, "alice", "responder");
        let agent = create_token(&tokens, "fleet", "agent");
        let guard = common::postgres_store().await;
        guard.store.close().await;
        let url = guard.url.clone();
        let servers = (0..n).map(|_| serve_binary_with(&url, &tokens, "127.0.0.1:0", more)).collect();
        let http = mandate::sdk::http_client_builder().build().unwrap();
        Fleet { servers, url, admin, responder, agent, http, _dir: dir, _guard: guard }
    }

    fn at(&self, server: usize, path: &str) -> String {
        format!("http://{}{path}", self.servers[server].addr)
    }

    async fn post(&self, server: usize, token: &str, path: &str, body: &Value) -> (u16, Value) {
        let r = self.http.post(self.at(server, path)).bearer_auth(token).json(body).send().await.unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, server: usize, path: &str) -> (u16, Value) {
        let r = self.http.get(self.at(server, path)).bearer_auth(&self.admin).send().await.unwrap();
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    }

    async fn incidents(&self, server: usize) -> Vec<Value> {
        let (status, page) = self.get(server, "/api/v1/incidents?limit=200").await;
        assert_eq!(status, 200, "{page}");
        page["incidents"].as_array().unwrap().clone()
    }

    fn stop(self) {
        for s in self.servers {
            assert!(s.stop().success());
        }
    }
}

/// An error on `resource`, from an agent of its own (one agent's
/// consecutive failures are one incident).
fn error_event(id: &str, resource: &str) -> Value {
    let mut e = event_body(id, -0.5, &format!("agent-of-{resource}"), "tool_call", resource, "error");
    e["error_code"] = "E".into();
    e
}

async fn errors_for_one_resource_are_one_incident_across_servers() {
    let fleet = Fleet::start(2, &[]).await;
    // 40 errors on one resource and 40 on another, one per request, all at
    // once, alternating servers.
    let posts = (0..80).map(|i| {
        let resource = if i % 2 == 0 { "payments-db" } else { "orders-db" };
        let body = error_event(&format!("e{i}"), resource);
        let fleet = &fleet;
        async move { fleet.post((i / 2) % 2, &fleet.agent, "/api/v1/events", &body).await }
    });
    for (status, body) in join_all(posts).await {
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["accepted"], 1, "{body}");
    }
    for server in 0..2 {
        let incidents = fleet.incidents(server).await;
        let mut seen: Vec<(String, i64)> = incidents
            .iter()
            .map(|i| (i["title"].as_str().unwrap().to_owned(), i["event_count"].as_i64().unwrap()))
            .collect();
        seen.sort();
        assert_eq!(
            seen,
            vec![("E on orders-db".to_owned(), 40), ("E on payments-db".to_owned(), 40)],
            "server {server}: one incident per resource, every event counted"
        );
        let ids: Vec<i64> = incidents.iter().map(|i| i["id"].as_i64().unwrap()).collect();
        assert_ne!(ids[0], ids[1], "distinct ids");
        assert!(incidents.iter().all(|i| i["resources"].as_array().unwrap().len() == 1), "never merged");
    }
    fleet.stop();
}

async fn a_pause_or_tool_ban_through_one_server_holds_on_the_other() {
    let fleet = Fleet::start(2, &[]).await;
    let agent_path = "/api/v1/agents/agent-deployer/interventions";
    let (status, body) = fleet.post(0, &fleet.responder, agent_path, &as_alice(json!({"kind": "pause_agent"}))).await;
    assert_eq!(status, 200, "{body}");
    let (status, body) = fleet.post(1, &fleet.agent, "/api/v1/runs", &common::run_body()).await;
    assert_eq!((status, body["code"].as_str()), (409, Some("AGENT_PAUSED")), "paused on the other server at once");
    let (status, _) = fleet.post(1, &fleet.responder, agent_path, &as_alice(json!({"kind": "resume_agent"}))).await;
    assert_eq!(status, 200);
    let (status, body) = fleet.post(0, &fleet.agent, "/api/v1/runs", &common::run_body()).await;
    assert_eq!(status, 201, "resumed through the other server: {body}");

    let ban =
        as_alice(json!({"kind": "disable_tool", "tool": "helm", "confirm": true, "reason": "helm keeps failing"}));
    assert_eq!(fleet.post(0, &fleet.responder, agent_path, &ban).await.0, 200);
    let mut with_tool = event_body("t1", -0.1, "agent-deployer", "deploy", "payments-service", "ok");
    with_tool["tool"] = "helm".into();
    let (status, body) = fleet.post(1, &fleet.agent, "/api/v1/events", &with_tool).await;
    assert_eq!((status, body["code"].as_str()), (409, Some("TOOL_DISABLED")), "banned on the other server at once");
    fleet.stop();
}

/// A stop made through one server reaches an agent's SDK subscribed to
/// another, and holds there for runs and events; lifted through the
/// second, the agent acts again. An SDK moved to the first server (its
/// own gone) hears the current state before its next action.
async fn a_stop_made_on_one_server_reaches_an_sdk_on_another() {
    use mandate::sdk::{Client, Control, OutOfContact, Refusal};
    let fleet = Fleet::start(2, &[]).await;
    let on_second = Client::new(&format!("http://{}", fleet.servers[1].addr), &fleet.agent).unwrap();
    let control = Control::subscribe(&on_second, "deployer-eu", OutOfContact::KeepActing);
    let started = Instant::now();
    while control.state().is_none() {
        assert!(started.elapsed() < Duration::from_secs(10), "no first answer");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let stop = as_alice(json!({"scope": "agents", "target": "deployer-*", "reason": "bad deploys"}));
    let (status, body) = fleet.post(0, &fleet.responder, "/api/v1/stops", &stop).await;
    assert_eq!(status, 200, "{body}");
    let made = Instant::now();
    while control.check(None).is_ok() {
        assert!(made.elapsed() < Duration::from_secs(10), "the stop never reached the SDK on the other server");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    eprintln!("stop on server 0 refused by an SDK on server 1 after {:?}", made.elapsed());
    assert!(matches!(control.check(None), Err(Refusal::Stopped { .. })));
    let mut run = common::run_body();
    run["agent_id"] = "deployer-eu".into();
    let (status, body) = fleet.post(1, &fleet.agent, "/api/v1/runs", &run).await;
    assert_eq!((status, body["code"].as_str()), (409, Some("AGENT_PAUSED")), "{body}");
    let event = event_body("eu-1", 0.05, "deployer-eu", "deploy", "payments-service", "ok");
    let (_, answer) = fleet.post(1, &fleet.agent, "/api/v1/events", &event).await;
    assert_eq!(answer["stopped"]["deployer-eu"]["target"], "deployer-*", "{answer}");
    // Its server gone, an SDK on the first server hears the stop at once.
    let on_first = Client::new(&format!("http://{}", fleet.servers[0].addr), &fleet.agent).unwrap();
    let moved = Control::subscribe(&on_first, "deployer-eu", OutOfContact::KeepActing);
    while moved.state().is_none() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert!(matches!(moved.check(None), Err(Refusal::Stopped { .. })), "the current state before its next action");
    let lift = as_alice(json!({"scope": "agents", "target": "deployer-*"}));
    assert_eq!(fleet.post(1, &fleet.responder, "/api/v1/stops/lift", &lift).await.0, 200);
    let lifted = Instant::now();
    while moved.check(None).is_err() {
        assert!(lifted.elapsed() < Duration::from_secs(10), "the lift never reached the SDK on the first server");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    fleet.stop();
}

/// A learned rule activated through one server acts on the events the
/// other receives: its active rules are reloaded with the configuration.
async fn a_rule_activated_through_one_server_acts_on_the_other() {
    let fleet = Fleet::start(2, &[]).await;
    let rule = json!({"name": "gate payments deploys", "match": {"action_type": "deploy", "resource": "payments-*"}, "decision": "gated"});
    let (status, body) = fleet.post(0, &fleet.responder, "/api/v1/rules", &rule).await;
    assert_eq!(status, 201, "{body}");
    let path = format!("/api/v1/rules/{}/transition", body["id"]);
    for to in ["approved", "active"] {
        let (status, body) = fleet.post(0, &fleet.admin, &path, &json!({"to": to})).await;
        assert_eq!(status, 200, "{body}");
    }
    let deploy = event_body("deploy-1", -0.1, "agent-deployer", "deploy", "payments-service", "ok");
    let (status, body) = fleet.post(1, &fleet.agent, "/api/v1/events", &deploy).await;
    assert_eq!(status, 200, "{body}");
    let (_, rules) = fleet.get(0, "/api/v1/rules?state=active").await;
    assert_eq!(rules["rules"][0]["fired"], 1, "fired on the other server: {rules}");
    fleet.stop();
}

async fn the_same_event_id_on_both_servers_is_a_duplicate() {
    let fleet = Fleet::start(2, &[]).await;
    let posts = (0..20).flat_map(|i| {
        let body = error_event(&format!("twice-{i}"), "payments-db");
        let fleet = &fleet;
        [0, 1].map(move |server| {
            let body = body.clone();
            async move { fleet.post(server, &fleet.agent, "/api/v1/events", &body).await }
        })
    });
    let (mut accepted, mut duplicates) = (0, 0);
    for (status, body) in join_all(posts).await {
        assert_eq!(status, 200, "a duplicate is a no-op, not an error: {body}");
        accepted += body["accepted"].as_i64().unwrap();
        duplicates += body["duplicates"].as_i64().unwrap();
    }
    assert_eq!((accepted, duplicates), (20, 20));
    assert_eq!(fleet.incidents(1).await[0]["event_count"], 20);
    fleet.stop();
}

/// Waits on server `server`'s list feed past `since`: the version it
/// answered with, and how long it took.
async fn long_poll(fleet: &Fleet, server: usize, since: i64) -> (i64, Duration) {
    let started = Instant::now();
    let (status, page) = fleet.get(server, &format!("/api/v1/incidents?since={since}&wait=20")).await;
    assert_eq!(status, 200, "woken by the change, not the deadline: {page}");
    (page["version"].as_i64().unwrap(), started.elapsed())
}

async fn a_long_poll_on_one_server_wakes_for_a_change_on_another() {
    let fleet = Fleet::start(2, &[]).await;
    let mut woke = Vec::new();
    for round in 0..10 {
        let (_, page) = fleet.get(0, "/api/v1/incidents").await;
        let since = page["version"].as_i64().unwrap();
        let waiter = long_poll(&fleet, 0, since);
        let change = async {
            tokio::time::sleep(Duration::from_millis(100)).await;
            let (status, _) = fleet
                .post(1, &fleet.agent, "/api/v1/events", &error_event(&format!("w{round}"), &format!("svc-{round}")))
                .await;
            assert_eq!(status, 200);
        };
        let ((version, took), ()) = tokio::join!(waiter, change);
        assert!(version > since, "the version moved on the waiting server too");
        // The page from the waiting server holds the other server's change.
        let (_, changed) = fleet.get(0, &format!("/api/v1/incidents?changed_after={since}")).await;
        let titles: Vec<&str> =
            changed["incidents"].as_array().unwrap().iter().map(|i| i["title"].as_str().unwrap()).collect();
        assert!(titles.contains(&format!("E on svc-{round}").as_str()), "{changed}");
        woke.push(took.saturating_sub(Duration::from_millis(100)));
    }
    woke.sort();
    println!("long poll on A woken by a change on B: worst {:?} of 10 (posting included)", woke[9]);
    fleet.stop();
}

/// A war room on two servers: consoles read an incident's detail from A
/// while B takes the changes. A never answers with the detail from before
/// a change B made (it reads the incident's version from the database on
/// every request), and A's waiters on the incident wake for B's change.
async fn an_incident_detail_is_never_older_than_the_database_on_any_server() {
    let fleet = Fleet::start(2, &[]).await;
    let (status, _) = fleet.post(1, &fleet.agent, "/api/v1/events", &error_event("d0", "payments")).await;
    assert_eq!(status, 200);
    let id = fleet.incidents(1).await[0]["id"].as_i64().unwrap();
    let detail_path = format!("/api/v1/incidents/{id}");
    let read = |etag: Option<String>, path: String| {
        let mut request = fleet.http.get(fleet.at(0, &path)).bearer_auth(&fleet.admin);
        if let Some(tag) = etag {
            request = request.header("if-none-match", tag);
        }
        async move {
            let r = request.send().await.unwrap();
            let status = r.status().as_u16();
            let tag = r.headers().get("etag").map(|v| v.to_str().unwrap().to_owned());
            (status, tag, r.json::<Value>().await.unwrap_or(Value::Null))
        }
    };
    let (_, mut etag, detail) = read(None, detail_path.clone()).await;
    assert_eq!(detail["event_count"], 1);
    for round in 1..=5 {
        // Through B: one more error on the incident.
        let (status, _) =
            fleet.post(1, &fleet.agent, "/api/v1/events", &error_event(&format!("d{round}"), "payments")).await;
        assert_eq!(status, 200);
        // At once from A, with the ETag from before: the new detail.
        let (status, tag, detail) = read(etag.clone(), detail_path.clone()).await;
        assert_eq!(status, 200, "round {round}: A serves B's change at once");
        assert_eq!(detail["event_count"], round + 1, "round {round}");
        etag = tag;
    }
    // A waiter on A wakes for B's acknowledgement.
    let since = read(None, detail_path.clone()).await.2["version"].as_i64().unwrap();
    let waiter = read(etag, format!("{detail_path}?since={since}&wait=20"));
    let change = async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        let ack = as_alice(json!({"kind": "acknowledge"}));
        let (status, body) =
            fleet.post(1, &fleet.responder, &format!("/api/v1/incidents/{id}/interventions"), &ack).await;
        assert_eq!(status, 200, "{body}");
        Instant::now()
    };
    let ((status, _, detail), changed) = tokio::join!(waiter, change);
    assert_eq!(status, 200);
    assert_eq!(detail["status"], "acknowledged");
    assert!(changed.elapsed() < Duration::from_secs(5), "woken by the change, not the deadline");
    fleet.stop();
}

async fn the_feed_catches_up_when_the_listening_connection_is_lost() {
    let fleet = Fleet::start(2, &[]).await;
    let (_, page) = fleet.get(0, "/api/v1/incidents").await;
    let since = page["version"].as_i64().unwrap();
    // Server A's listening connection is cut; B changes an incident while
    // A cannot hear it. A's waiter still wakes: A reads the head when it
    // is back.
    let admin = sqlx::AnyPool::connect(&fleet.url).await.unwrap();
    let cut = sqlx::query(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1 \
         AND datname = current_database()",
    )
    .bind(mandate::store::LISTENER_NAME)
    .fetch_all(&admin)
    .await
    .unwrap();
    assert_eq!(cut.len(), 2, "each server listens on a connection of its own");
    let (status, _) = fleet.post(1, &fleet.agent, "/api/v1/events", &error_event("lost-1", "svc-lost")).await;
    assert_eq!(status, 200);
    let (version, took) = long_poll(&fleet, 0, since).await;
    assert!(version > since);
    println!("caught up {took:?} after the listening connection was cut");
    let (_, changed) = fleet.get(0, &format!("/api/v1/incidents?changed_after={since}")).await;
    assert_eq!(changed["incidents"][0]["title"], "E on svc-lost", "{changed}");
    // And it hears again.
    let (_, page) = fleet.get(0, "/api/v1/incidents").await;
    let since = page["version"].as_i64().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while sqlx::query("SELECT 1 FROM pg_stat_activity WHERE application_name = $1 AND datname = current_database()")
        .bind(mandate::store::LISTENER_NAME)
        .fetch_all(&admin)
        .await
        .unwrap()
        .len()
        < 2
    {
        assert!(Instant::now() < deadline, "the listening connections came back");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let poll = long_poll(&fleet, 0, since);
    let change = async {
        tokio::time::sleep(Duration::from_millis(100)).await;
        fleet.post(1, &fleet.agent, "/api/v1/events", &error_event("lost-2", "svc-back")).await
    };
    let ((version, _), (status, _)) = tokio::join!(poll, change);
    assert!(status == 200 && version > since);
    admin.close().await;
    fleet.stop();
}

/// Which servers say they hold the background duties.
async fn duty_holders(fleet: &Fleet, alive: &[usize]) -> Vec<usize> {
    let mut holders = Vec::new();
    for &s in alive {
        // A server that has just taken the duties is not ready until its
        // paging worker finished a pass.
        let deadline = Instant::now() + Duration::from_secs(5);
        let body: Value = loop {
            let r = fleet.http.get(fleet.at(s, "/readyz")).send().await.unwrap();
            let status = r.status();
            let body: Value = r.json().await.unwrap();
            if status == 200 || Instant::now() > deadline {
                break body;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        if body["duties"] == "here" {
            holders.push(s);
        } else {
            assert_eq!(body["duties"], "another server", "{body}");
        }
    }
    holders
}

/// Waits (20 s at most) until `n` notifications were accepted; how many
/// were, each counted once, after checking none was accepted twice (storm
/// control may carry several in one delivery).
async fn paged_once(inbox: &Inbox, n: usize) -> usize {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let mut ids: Vec<String> = inbox
            .received("webhook")
            .iter()
            .filter(|r| r.accepted)
            .flat_map(|r| {
                r.json()["data"]["notifications"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                    .into_iter()
                    .map(|n| n["id"].to_string())
            })
            .collect();
        let all = ids.len();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), all, "a notification accepted twice: {:?}", inbox.all());
        if all >= n || Instant::now() > deadline {
            return all;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn paging_runs_once_and_moves_when_its_server_dies() {
    let inbox = Inbox::start().await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut document: RoutingDocument = toml::from_str(
        "[[level]]\nname = \"primary\"\ntargets = [\"@oncall\"]\nchannels = [\"webhook\"]\n[delivery]\ntimeout = \"5s\"\n[storm]\ngroup_interval = \"1s\"\nflash_hold = \"0s\"\n",
    )
    .unwrap();
    document.receivers = inbox.receivers();
    let routing = dir.path().join("routing.toml");
    std::fs::write(&routing, toml::to_string(&document).unwrap()).unwrap();
    let routing = routing.display().to_string();
    let mut fleet = Fleet::start(3, &["--routing", &routing]).await;
    let all = [0, 1, 2];
    let deadline = Instant::now() + Duration::from_secs(10);
    let holder = loop {
        let holders = duty_holders(&fleet, &all).await;
        assert!(holders.len() <= 1, "one server holds the duties at a time: {holders:?}");
        if let [one] = holders[..] {
            break one;
        }
        assert!(Instant::now() < deadline, "nobody took the duties");
        tokio::time::sleep(Duration::from_millis(50)).await;
    };

    // An incident opened through each server: each pages once.
    for s in all {
        let (status, _) =
            fleet.post(s, &fleet.agent, "/api/v1/events", &error_event(&format!("p{s}"), &format!("svc-{s}"))).await;
        assert_eq!(status, 200);
    }
    let paged = paged_once(&inbox, 3).await;
    assert_eq!(paged, 3, "{:?}", inbox.all());
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(paged_once(&inbox, 3).await, 3, "never twice, whichever server took the event");

    // The holder dies; another takes the duties and pages within seconds,
    // however the incident came in.
    inbox.script("webhook", [Answer::Accept]);
    fleet.servers.remove(holder).kill();
    let killed = Instant::now();
    let alive = [0, 1];
    let (status, _) = fleet.post(0, &fleet.agent, "/api/v1/events", &error_event("after", "svc-after")).await;
    assert_eq!(status, 200);
    assert_eq!(paged_once(&inbox, 4).await, 4, "paged after the holder died: {:?}", inbox.all());
    println!("paged {:?} after the server holding the duties was killed", killed.elapsed());
    let holders = duty_holders(&fleet, &alive).await;
    assert_eq!(holders.len(), 1, "a survivor holds the duties: {holders:?}");
    fleet.stop();
}

/// A token revoked in one server's tokens file is refused by every server
/// of the database, even one whose own file still holds it.
async fn a_token_revoked_on_one_server_is_refused_by_all() {
    let dir = tempfile::tempdir().unwrap();
    let first = dir.path().join("first.toml").display().to_string();
    let admin = create_token(&first, "root", "admin");
    let fleet_token = create_token(&first, "fleet", "agent");
    // The second server's own copy, made before the revocation: it never changes.
    let second = dir.path().join("second.toml").display().to_string();
    std::fs::copy(&first, &second).unwrap();
    let guard = common::postgres_store().await;
    guard.store.close().await;
    let a = serve_binary_with(&guard.url, &first, "127.0.0.1:0", &[]);
    let b = serve_binary_with(&guard.url, &second, "127.0.0.1:0", &[]);
    let http = mandate::sdk::http_client_builder().build().unwrap();
    let status = |addr: String| {
        let http = http.clone();
        let token = fleet_token.clone();
        async move {
            http.get(format!("http://{addr}/api/v1/runs")).bearer_auth(token).send().await.unwrap().status().as_u16()
        }
    };
    assert_eq!((status(a.addr.clone()).await, status(b.addr.clone()).await), (200, 200));

    let out = std::process::Command::new(common::BIN)
        .args(["token", "revoke", "--name", "fleet", "--tokens-file", &first])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let revoked = Instant::now();
    // The first server reads its file within a second and shares the revocation.
    while status(b.addr.clone()).await != 401 {
        assert!(revoked.elapsed() < Duration::from_secs(10), "the other server refuses the revoked token");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!("refused by the other server {:?} after the revocation", revoked.elapsed());
    assert_eq!(status(a.addr.clone()).await, 401);
    // Others' tokens are untouched; the revocation is audited once.
    let audit = common::get_json(&http, &format!("http://{}/api/v1/audit", b.addr), &admin).await;
    let revocations: Vec<&Value> =
        audit["entries"].as_array().unwrap().iter().filter(|e| e["action"] == "token_revoked").collect();
    assert_eq!(revocations.len(), 1, "{audit}");
    assert_eq!(revocations[0]["target"], "token:fleet");
    // A server started later with the stale file refuses it as well.
    let c = serve_binary_with(&guard.url, &second, "127.0.0.1:0", &[]);
    assert_eq!(status(c.addr.clone()).await, 401);
    for s in [a, b, c] {
        s.stop();
    }
}

/// A duplicate merged through one server: the other, whose grouping still
/// knows the duplicate, puts what would have joined it in the survivor.
async fn a_merge_made_on_one_server_holds_on_the_other() {
    let fleet = Fleet::start(2, &[]).await;
    let (_, first) = fleet.post(0, &fleet.agent, "/api/v1/events", &error_event("s1", "payments-db")).await;
    let survivor = first["incidents"][0].as_i64().unwrap();
    let (_, second) = fleet.post(1, &fleet.agent, "/api/v1/events", &error_event("d1", "orders-db")).await;
    let duplicate = second["incidents"][0].as_i64().unwrap();
    assert_ne!(survivor, duplicate);
    let merge = as_alice(json!({"kind": "merge", "into_incident": survivor, "confirm": true, "reason": "one outage"}));
    let path = format!("/api/v1/incidents/{duplicate}/interventions");
    let (status, body) = fleet.post(0, &fleet.responder, &path, &merge).await;
    assert_eq!(status, 200, "{body}");
    // Another agent's error of the same code on the duplicate's resource,
    // through each server in turn.
    for (server, id) in [(1, "d2"), (0, "d3")] {
        let mut event = error_event(id, "orders-db");
        event["agent_id"] = format!("another-agent-{id}").into();
        let (status, report) = fleet.post(server, &fleet.agent, "/api/v1/events", &event).await;
        assert_eq!(status, 200, "{report}");
        assert_eq!(report["incidents"], json!([survivor]), "server {server}: {report}");
    }
    let (_, detail) = fleet.get(1, &format!("/api/v1/incidents/{survivor}")).await;
    assert_eq!((detail["event_count"].as_i64(), &detail["merged_from"]), (Some(4), &json!([duplicate])));
    fleet.stop();
}

/// A gated action asked through one server and approved through the other:
/// the SDK waiting on the first hears the decision at once; a second,
/// denied the same way, is refused with who denied it.
async fn a_decision_made_on_one_server_reaches_the_sdk_waiting_on_another() {
    use mandate::sdk::{Action, Agent, Clearance, Client, OutOfContact, Refusal};
    let fleet = Fleet::start(2, &[]).await;
    let routing = json!({"level": [{"name": "only", "targets": ["@ops"]}], "critical_point": [
        {"name": "drops", "reason": "irreversible", "match": {"action_type": "drop_table"}}]});
    let put = fleet.http.put(fleet.at(0, "/api/v1/routing")).bearer_auth(&fleet.admin).json(&routing).send().await;
    assert!(put.unwrap().status().is_success());
    let on_second = Client::new(&format!("http://{}", fleet.servers[1].addr), &fleet.agent).unwrap();
    let attribution = mandate::attribution::AttributionContext::system("db-migrator", "ci");
    let agent = std::sync::Arc::new(Agent::start(&on_second, attribution, OutOfContact::KeepActing).unwrap());
    let started = Instant::now();
    while !agent.control().may_gate("drop_table") {
        assert!(started.elapsed() < Duration::from_secs(10), "the routing never reached the SDK on the other server");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    for (verdict, reason) in [("approve", "backup taken"), ("deny", "not now")] {
        let waiting = {
            let agent = agent.clone();
            tokio::spawn(async move {
                let cleared = agent.clear(&Action::tool_call("psql", "orders-db").of_type("drop_table")).await;
                (cleared, Instant::now())
            })
        };
        let approval = loop {
            let (_, list) = fleet.get(0, "/api/v1/approvals").await;
            if let Some(a) = list["approvals"].as_array().unwrap().iter().find(|a| a["status"] == "waiting") {
                break a.clone();
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        };
        tokio::time::sleep(Duration::from_millis(100)).await;
        let body =
            as_alice(json!({"decision": verdict, "reason": reason, "digest": approval["digest"], "confirm": true}));
        let pressed = Instant::now();
        let path = format!("/api/v1/approvals/{}/decision", approval["id"]);
        let (status, decided) = fleet.post(0, &fleet.responder, &path, &body).await;
        assert_eq!(status, 200, "{decided}");
        let (cleared, returned) = waiting.await.unwrap();
        eprintln!("{verdict} on server 0 reached the SDK on server 1 after {:?}", returned - pressed);
        assert!(returned - pressed < Duration::from_secs(3), "heard when decided, not when its 5 s poll ends");
        match (verdict, cleared) {
            ("approve", Ok(Clearance::Approved(a))) => assert_eq!(a.decided_by.as_deref(), Some("alice")),
            ("deny", Err(r @ Refusal::Denied { .. })) => {
                assert!(r.to_string().ends_with("was denied by alice (approval #2): not now"), "{r}")
            }
            (verdict, other) => panic!("{verdict}: {other:?}"),
        }
    }
    drop(agent);
    fleet.stop();
}

/// Replicas started together with the same new routing file: its silence
/// is made once, not once per server (each takes the database's head lock
/// to apply the file, then sees what another made).
async fn replicas_starting_together_make_a_routing_files_silence_once() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens.toml").display().to_string();
    let admin = create_token(&tokens, "root", "admin");
    let guard = common::postgres_store().await;
    guard.store.close().await;
    let routing = dir.path().join("routing.toml");
    let until = (chrono::Utc::now() + chrono::Duration::days(2)).to_rfc3339();
    std::fs::write(
        &routing,
        format!(
            "[[level]]\nname = \"only\"\ntargets = [\"@ops\"]\n\n[[silence]]\nname = \"nightly\"\nowner = \"@rita\"\n\
             reason = \"batch restarts\"\nresource = \"reports\"\nuntil = \"{until}\"\n"
        ),
    )
    .unwrap();
    let routing = routing.display().to_string();
    let servers: Vec<Served> = std::thread::scope(|scope| {
        let started: Vec<_> = (0..3)
            .map(|_| scope.spawn(|| serve_binary_with(&guard.url, &tokens, "127.0.0.1:0", &["--routing", &routing])))
            .collect();
        started.into_iter().map(|s| s.join().unwrap()).collect()
    });
    let http = mandate::sdk::http_client_builder().build().unwrap();
    let url = format!("http://{}/api/v1/silences", servers[0].addr);
    let list: Value = http.get(url).bearer_auth(&admin).send().await.unwrap().json().await.unwrap();
    let made: Vec<&Value> =
        list["silences"].as_array().unwrap().iter().filter(|s| s["routing_name"] == "nightly").collect();
    assert_eq!(made.len(), 1, "one silence for the file's one: {list:#}");
    for s in servers {
        assert!(s.stop().success());
    }
}

macro_rules! on_postgres {
    ($($scenario:ident),+ $(,)?) => {
        $(
            #[tokio::test]
            async fn $scenario() {
                if $crate::common::skip_postgres(stringify!($scenario)) {
                    return;
                }
                super::$scenario().await;
            }
        )+
    };
}

mod postgres {
    on_postgres!(
        errors_for_one_resource_are_one_incident_across_servers,
        a_pause_or_tool_ban_through_one_server_holds_on_the_other,
        a_stop_made_on_one_server_reaches_an_sdk_on_another,
        a_rule_activated_through_one_server_acts_on_the_other,
        the_same_event_id_on_both_servers_is_a_duplicate,
        a_long_poll_on_one_server_wakes_for_a_change_on_another,
        the_feed_catches_up_when_the_listening_connection_is_lost,
        an_incident_detail_is_never_older_than_the_database_on_any_server,
        paging_runs_once_and_moves_when_its_server_dies,
        a_token_revoked_on_one_server_is_refused_by_all,
        a_merge_made_on_one_server_holds_on_the_other,
        a_decision_made_on_one_server_reaches_the_sdk_waiting_on_another,
        replicas_starting_together_make_a_routing_files_silence_once,
    );
}
