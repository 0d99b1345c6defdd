//! Three real `mandate serve` processes on one private PostgreSQL database,
//! clients posting events round-robin at 2,000 events/s while a random
//! server is SIGKILLed every 10 s and restarted. Afterwards nothing
//! acknowledged is lost, each failing resource has the one incident a single
//! server would have made with its exact count, the audit chain verifies,
//! every long-poll client followed every change, and no page went out twice.
//!
//! Bounded in time: `MANDATE_CHAOS_SECONDS` (60 by default) of load.

use crate::common::{self, BIN, Served, as_alice, create_token, event_body, serve_binary_with};
use mandate::paging::inbox::Inbox;
use mandate::routing::RoutingDocument;
use serde_json::{Value, json};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

const SERVERS: usize = 3;
const EVENTS_PER_SECOND: usize = 2000;
const BATCH: usize = 50;
/// Resources that fail all along (one incident each), and healthy ones.
const FAILING: usize = 12;
const HEALTHY: usize = 40;

/// The servers' addresses as they are now: a killed server's slot is empty
/// until it is back (on a new port).
type Addresses = Arc<RwLock<Vec<Option<String>>>>;

fn live(addresses: &Addresses) -> Vec<String> {
    addresses.read().unwrap().iter().flatten().cloned().collect()
}

/// Posts one batch until a server acknowledges it, round-robin from `turn`;
/// the same event ids each time, so a retry after a lost answer is a
/// duplicate no-op.
async fn post_until_acknowledged(
    http: &reqwest::Client,
    addresses: &Addresses,
    token: &str,
    turn: usize,
    batch: &Value,
) {
    for attempt in 0.. {
        let servers = live(addresses);
        if !servers.is_empty() {
            let server = &servers[(turn + attempt) % servers.len()];
            let sent = http
                .post(format!("http://{server}/api/v1/events"))
                .bearer_auth(token)
                .timeout(Duration::from_secs(10))
                .json(batch)
                .send()
                .await;
            if let Ok(r) = sent {
                if r.status() == 200 {
                    return;
                }
                let status = r.status();
                let body = r.text().await.unwrap_or_default();
                assert!(status.is_server_error(), "refused, not failed: {status} {body}");
            }
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// One long-poll client: follows the feed on one server (the next when it
/// dies) and keeps the newest version it saw of each incident.
async fn follow(
    http: reqwest::Client,
    addresses: Addresses,
    token: String,
    first: usize,
    stop: Arc<AtomicBool>,
) -> Follower {
    let mut seen = Follower::default();
    let mut since = 0i64;
    let mut turn = first;
    while !stop.load(Ordering::Relaxed) {
        let servers = live(&addresses);
        if servers.is_empty() {
            tokio::time::sleep(Duration::from_millis(20)).await;
            continue;
        }
        let server = &servers[turn % servers.len()];
        let waited = http
            .get(format!("http://{server}/api/v1/incidents?since={since}&wait=2"))
            .bearer_auth(&token)
            .timeout(Duration::from_secs(5))
            .send()
            .await;
        match waited {
            Ok(r) if r.status() == 200 || r.status() == 304 => {}
            _ => {
                turn += 1;
                seen.failovers += 1;
                continue;
            }
        }
        // Everything changed after what this client has: page by version.
        loop {
            let page = http
                .get(format!("http://{server}/api/v1/incidents?changed_after={since}&limit=200"))
                .bearer_auth(&token)
                .timeout(Duration::from_secs(5))
                .send()
                .await;
            let Ok(page) = page else { break };
            let status = page.status();
            let Ok(page) = page.json::<Value>().await else { break };
            if status != 200 {
                // Only a server on its way down may refuse; the next is asked.
                seen.refusals.push(format!("{status} {}", page["code"]));
                turn += 1;
                break;
            }
            let incidents = page["incidents"].as_array().cloned().unwrap_or_default();
            for i in &incidents {
                let version = i["version"].as_i64().unwrap();
                seen.incidents.insert(i["id"].as_i64().unwrap(), (version, i["event_count"].as_i64().unwrap()));
            }
            let upto = page["version"].as_i64().unwrap();
            assert!(upto >= since, "the feed went back: {since} then {upto}");
            since = upto;
            if incidents.len() < 200 {
                break;
            }
        }
    }
    seen.since = since;
    seen
}

#[derive(Debug, Default)]
struct Follower {
    /// incident → (version, event_count), the newest seen.
    incidents: BTreeMap<i64, (i64, i64)>,
    since: i64,
    failovers: usize,
    /// Answers other than a page, with their codes.
    refusals: Vec<String>,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_servers_lose_nothing_while_one_is_killed_every_10_s() {
    if common::skip_postgres("three_servers_lose_nothing_while_one_is_killed_every_10_s") {
        return;
    }
    let seconds: u64 = std::env::var("MANDATE_CHAOS_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(60);
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens.toml").display().to_string();
    let admin = create_token(&tokens, "root", "admin");
    let responder = create_token(&tokens, "alice", "responder");
    let agent = create_token(&tokens, "fleet", "agent");
    let guard = common::postgres_store().await;
    guard.store.close().await;
    let url = guard.url.clone();
    let inbox = Inbox::start().await.unwrap();
    let mut document: RoutingDocument = toml::from_str(
        "[[level]]\nname = \"primary\"\ntargets = [\"@oncall\"]\nchannels = [\"webhook\"]\n\
         [delivery]\ntimeout = \"5s\"\n[storm]\ngroup_interval = \"1s\"\nflash_hold = \"0s\"\n",
    )
    .unwrap();
    document.receivers = inbox.receivers();
    let routing = dir.path().join("routing.toml");
    std::fs::write(&routing, toml::to_string(&document).unwrap()).unwrap();
    let routing = routing.display().to_string();
    let more = ["--routing", routing.as_str()];

    let mut servers: Vec<Served> =
        (0..SERVERS).map(|_| serve_binary_with(&url, &tokens, "127.0.0.1:0", &more)).collect();
    let addresses: Addresses = Arc::new(RwLock::new(servers.iter().map(|s| Some(s.addr.clone())).collect()));
    let http = mandate::sdk::http_client_builder().pool_max_idle_per_host(0).build().unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let followers: Vec<_> = (0..SERVERS)
        .map(|i| tokio::spawn(follow(http.clone(), addresses.clone(), admin.clone(), i, stop.clone())))
        .collect();

    // The load: every 25 ms a batch of 50 events, in flight at most 16.
    let errors_per_resource: Arc<Mutex<HashMap<String, usize>>> = Default::default();
    let sent = Arc::new(AtomicUsize::new(0));
    let in_flight = Arc::new(tokio::sync::Semaphore::new(16));
    let started = Instant::now();
    let load = {
        let (http, addresses, agent, errors_per_resource, sent) =
            (http.clone(), addresses.clone(), agent.clone(), errors_per_resource.clone(), sent.clone());
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(Duration::from_millis((1000 * BATCH / EVENTS_PER_SECOND) as u64));
            let mut posts = Vec::new();
            let mut n = 0usize;
            for turn in 0.. {
                tick.tick().await;
                if started.elapsed() >= Duration::from_secs(seconds) {
                    break;
                }
                let mut events = Vec::with_capacity(BATCH);
                for _ in 0..BATCH {
                    n += 1;
                    // One in five is an error on a failing resource.
                    let e = if n.is_multiple_of(5) {
                        let resource = format!("failing-{}", n / 5 % FAILING);
                        *errors_per_resource.lock().unwrap().entry(resource.clone()).or_default() += 1;
                        let mut e = event_body(
                            &format!("c{n}"),
                            -0.01,
                            &format!("agent-{resource}"),
                            "tool_call",
                            &resource,
                            "error",
                        );
                        e["error_code"] = "E".into();
                        e
                    } else {
                        let resource = format!("healthy-{}", n % HEALTHY);
                        event_body(&format!("c{n}"), -0.01, &format!("agent-{resource}"), "tool_call", &resource, "ok")
                    };
                    events.push(e);
                }
                let batch = Value::Array(events);
                let permit = in_flight.clone().acquire_owned().await.unwrap();
                let (http, addresses, agent, sent) = (http.clone(), addresses.clone(), agent.clone(), sent.clone());
                posts.push(tokio::spawn(async move {
                    post_until_acknowledged(&http, &addresses, &agent, turn, &batch).await;
                    sent.fetch_add(BATCH, Ordering::Relaxed);
                    drop(permit);
                }));
            }
            for p in posts {
                p.await.unwrap();
            }
        })
    };

    // Acknowledging incidents (audited interventions) through random servers,
    // and the kills: every 10 s a random server dies and comes back.
    let mut kills = 0;
    let mut acknowledged: BTreeSet<i64> = BTreeSet::new();
    let mut next_kill = Instant::now() + Duration::from_secs(10);
    while !load.is_finished() {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let servers_now = live(&addresses);
        if let Some(server) = servers_now.first() {
            let list =
                http.get(format!("http://{server}/api/v1/incidents?status=open")).bearer_auth(&admin).send().await;
            if let Ok(list) = list
                && let Ok(list) = list.json::<Value>().await
            {
                // One already paged: acknowledging stops pages not yet sent.
                let paged: BTreeSet<i64> = inbox
                    .received("webhook")
                    .iter()
                    .flat_map(|r| r.json()["data"]["notifications"].as_array().cloned().unwrap_or_default())
                    .filter_map(|n| n["incident_id"].as_i64())
                    .collect();
                let open = list["incidents"].as_array().cloned().unwrap_or_default();
                for i in open.iter().filter(|i| paged.contains(&i["id"].as_i64().unwrap_or(0))).take(1) {
                    let id = i["id"].as_i64().unwrap();
                    let ack = http
                        .post(format!(
                            "http://{}/api/v1/incidents/{id}/interventions",
                            servers_now[id as usize % servers_now.len()]
                        ))
                        .bearer_auth(&responder)
                        .json(&as_alice(json!({"kind": "acknowledge"})))
                        .send()
                        .await;
                    if ack.is_ok_and(|r| r.status() == 200) {
                        acknowledged.insert(id);
                    }
                }
            }
        }
        if Instant::now() >= next_kill && started.elapsed() < Duration::from_secs(seconds) {
            next_kill += Duration::from_secs(10);
            let victim = (started.elapsed().as_nanos() as usize / 7) % SERVERS;
            addresses.write().unwrap()[victim] = None;
            servers[victim].kill();
            kills += 1;
            servers[victim] = serve_binary_with(&url, &tokens, "127.0.0.1:0", &more);
            addresses.write().unwrap()[victim] = Some(servers[victim].addr.clone());
        }
    }
    load.await.unwrap();
    let elapsed = started.elapsed();
    // Let the followers and the paging worker see the last changes.
    tokio::time::sleep(Duration::from_secs(3)).await;
    stop.store(true, Ordering::Relaxed);
    let followers: Vec<Follower> =
        futures_util::future::join_all(followers).await.into_iter().map(Result::unwrap).collect();
    let sent = sent.load(Ordering::Relaxed);
    println!(
        "{sent} events acknowledged in {elapsed:?} ({:.0}/s) across {SERVERS} servers, {kills} killed and restarted, \
         {} incidents acknowledged; long-poll failovers {:?}, refusals {:?}",
        sent as f64 / elapsed.as_secs_f64(),
        acknowledged.len(),
        followers.iter().map(|f| f.failovers).collect::<Vec<_>>(),
        followers.iter().map(|f| &f.refusals).collect::<Vec<_>>()
    );

    // A refusal is only ever "unavailable, retry": never a wrong answer.
    for f in &followers {
        assert!(f.refusals.iter().all(|r| r.starts_with("503")), "{:?}", f.refusals);
    }

    // Stored = acknowledged.
    let db = sqlx::AnyPool::connect(&url).await.unwrap();
    let count = |sql: &'static str| {
        let db = db.clone();
        async move { sqlx::query_scalar::<_, i64>(sql).fetch_one(&db).await.unwrap() }
    };
    assert_eq!(count("SELECT COUNT(*) FROM events").await as usize, sent, "every acknowledged event is stored, once");

    // The incidents a single server would have made: one per failing
    // resource, its count exact; none for a healthy one.
    let server = live(&addresses)[0].clone();
    let list = common::get_json(&http, &format!("http://{server}/api/v1/incidents?limit=200"), &admin).await;
    let incidents = list["incidents"].as_array().unwrap();
    let expected = errors_per_resource.lock().unwrap().clone();
    let mut by_resource: BTreeMap<String, Vec<i64>> = BTreeMap::new();
    for i in incidents {
        let resources = i["resources"].as_array().unwrap();
        assert_eq!(resources.len(), 1, "never merged: {i}");
        let resource = resources[0].as_str().unwrap().to_owned();
        assert_eq!(
            i["event_count"].as_i64().unwrap() as usize,
            expected[&resource],
            "{resource}: every error counted once"
        );
        by_resource.entry(resource).or_default().push(i["id"].as_i64().unwrap());
    }
    assert_eq!(by_resource.len(), expected.len(), "{by_resource:?}");
    assert!(by_resource.values().all(|ids| ids.len() == 1), "one incident per failing resource: {by_resource:?}");

    // Every long-poll client followed every change to its last version.
    let latest: BTreeMap<i64, (i64, i64)> = incidents
        .iter()
        .map(|i| (i["id"].as_i64().unwrap(), (i["version"].as_i64().unwrap(), i["event_count"].as_i64().unwrap())))
        .collect();
    for (n, f) in followers.iter().enumerate() {
        assert_eq!(f.incidents, latest, "long-poll client {n} missed a change");
    }

    // The audit chain verifies.
    let verify = std::process::Command::new(BIN).args(["audit", "verify", "--database-url", &url]).output().unwrap();
    assert!(verify.status.success(), "{}", String::from_utf8_lossy(&verify.stdout));

    // Each incident paged once; a page resent after a kill keeps its
    // delivery id, so the receiver can tell it is the same.
    tokio::time::sleep(Duration::from_secs(2)).await;
    let mut deliveries: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    let mut paged: BTreeMap<i64, usize> = BTreeMap::new();
    for r in inbox.received("webhook").iter().filter(|r| r.accepted) {
        let body = r.json();
        for n in body["data"]["notifications"].as_array().cloned().unwrap_or_default() {
            let id = n["id"].as_str().unwrap().to_owned();
            let first = deliveries.entry(id).or_default();
            if first.is_empty() && n["kind"] == "page" {
                *paged.entry(n["incident_id"].as_i64().unwrap()).or_default() += 1;
            }
            first.insert(r.headers["webhook-id"].clone());
        }
    }
    assert!(deliveries.values().all(|d| d.len() == 1), "a notification went out in two deliveries: {deliveries:?}");
    let incident_ids: BTreeSet<i64> = latest.keys().copied().collect();
    assert_eq!(paged.keys().copied().collect::<BTreeSet<_>>(), incident_ids, "every incident paged");
    assert!(paged.values().all(|n| *n == 1), "each once: {paged:?}");

    db.close().await;
    for s in servers {
        assert!(s.stop().success());
    }
}
