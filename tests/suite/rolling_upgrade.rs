//! A rolling upgrade and its rollback on one PostgreSQL, under load: two
//! servers of the release before this one (built from its tagged commit by
//! `tests/upgrade/build-previous`) serve while this release's `migrate up`
//! applies its expand migration; each is replaced by this release, one at a
//! time; then each is replaced by the previous release again and the
//! previous release's `migrate down` undoes what it never knew, from the
//! database's own record. Meanwhile an agent fleet posts events to
//! whichever server answers, as a client with several addresses does.
//! Nothing acknowledged is lost, nothing is stored twice, incidents keep
//! their ids, and the audit log, events and runs verify at the end.

use crate::common::{self, Served, as_alice, create_token, serve_command};
use serde_json::{Value, json};
use std::collections::BTreeSet;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn previous_release() -> Option<String> {
    std::env::var("MANDATE_PREVIOUS_RELEASE").ok().filter(|p| std::path::Path::new(p).exists())
}

fn this_release() -> &'static str {
    env!("CARGO_BIN_EXE_mandate")
}

fn serve(binary: &str, url: &str, tokens: &str) -> Served {
    serve_command(Command::new(binary), url, tokens, "127.0.0.1:0", &[])
}

fn migrate(binary: &str, args: &[&str], url: &str) -> String {
    let out = Command::new(binary).arg("migrate").args(args).args(["--database-url", url]).output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{binary} migrate {args:?}:\n{text}");
    text
}

/// The servers in service: the fleet posts to them in turn, and moves on
/// when one does not answer.
type Addresses = Arc<Mutex<Vec<String>>>;

#[tokio::test]
async fn old_and_new_serve_one_database_through_an_upgrade_and_a_rollback() {
    let test = "old_and_new_serve_one_database_through_an_upgrade_and_a_rollback";
    if common::skip_postgres(test) {
        return;
    }
    let Some(previous) = previous_release() else {
        assert!(
            std::env::var("MANDATE_TEST_REQUIRE_ALL").is_err(),
            "{test}: MANDATE_PREVIOUS_RELEASE is not set: tests/run builds it (tests/upgrade/build-previous)"
        );
        eprintln!("skipped {test}: no previous release (run tests/upgrade/build-previous)");
        return;
    };
    let version = |binary: &str| {
        let out = Command::new(binary).arg("--version").output().unwrap();
        String::from_utf8_lossy(&out.stdout).lines().next().unwrap_or_default().to_owned()
    };
    assert!(version(&previous).starts_with("mandate 0.1."), "{}", version(&previous));
    assert!(version(this_release()).starts_with(&format!("mandate {}", env!("CARGO_PKG_VERSION"))));

    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens.toml").display().to_string();
    let admin = create_token(&tokens, "root", "admin");
    let responder = create_token(&tokens, "alice", "responder");
    let agent = create_token(&tokens, "fleet", "agent");
    let url = common::postgres_database().await;
    let http = mandate::sdk::http_client_builder().timeout(Duration::from_secs(10)).build().unwrap();

    // The previous release creates the database, as it did in production.
    let mut a = serve(&previous, &url, &tokens);
    let mut b = serve(&previous, &url, &tokens);
    let addresses: Addresses = Arc::new(Mutex::new(vec![a.addr.clone(), b.addr.clone()]));
    let catalog = http
        .put(format!("http://{}/api/v1/catalog", a.addr))
        .bearer_auth(&admin)
        .json(&common::seed_catalog())
        .send()
        .await
        .unwrap();
    assert!(catalog.status().is_success());

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let acknowledged = Arc::new(Mutex::new(BTreeSet::<String>::new()));
    let fleet =
        tokio::spawn(post_events(http.clone(), agent.clone(), addresses.clone(), acknowledged.clone(), stop_rx));
    let settle = || tokio::time::sleep(Duration::from_millis(700));
    settle().await;

    // Upgrade: this release's expand migration, applied under load while
    // the previous release serves.
    let out = migrate(this_release(), &["up"], &url);
    assert!(out.contains("Applied 0024 servers"), "{out}");
    settle().await;
    assert!(healthy(&http, &a).await && healthy(&http, &b).await, "the previous release serves the expanded schema");
    let out = migrate(&previous, &["status"], &url);
    assert!(out.contains("NEWER    0024 servers") && out.contains("only expand migrations"), "{out}");

    // Replica by replica.
    a = replace(a, this_release(), &url, &tokens, &addresses);
    settle().await;
    b = replace(b, this_release(), &url, &tokens, &addresses);
    settle().await;
    let out = migrate(this_release(), &["status"], &url);
    assert!(out.contains("2 servers are serving this database"), "{out}");
    let mid_incidents = incident_ids(&http, &admin, &a).await;
    let open = open_incident(&http, &admin, &a).await;

    // A person acts on the open incident through the new release.
    {
        let id = open.expect("payments-service's incident is open");
        let answer = http
            .post(format!("http://{}/api/v1/incidents/{id}/interventions", b.addr))
            .bearer_auth(&responder)
            .json(&as_alice(json!({"kind": "acknowledge"})))
            .send()
            .await
            .unwrap();
        assert!(answer.status().is_success(), "{}", answer.text().await.unwrap());
    }

    // Rollback: the previous release again, replica by replica, then its
    // `migrate down` undoes 0024 from the database's record of it.
    a = replace(a, &previous, &url, &tokens, &addresses);
    settle().await;
    b = replace(b, &previous, &url, &tokens, &addresses);
    settle().await;
    let out = migrate(&previous, &["down", "--to", "23"], &url);
    assert!(out.contains("Undid 0024 servers"), "{out}");
    settle().await;
    assert!(healthy(&http, &a).await && healthy(&http, &b).await);

    stop_tx.send(true).unwrap();
    let posted = fleet.await.unwrap();
    let after_incidents = incident_ids(&http, &admin, &a).await;
    for id in &mid_incidents {
        assert!(after_incidents.contains(id), "incident {id} kept its id through the rollback");
    }
    assert!(a.stop().success() && b.stop().success());

    // Nothing acknowledged lost, nothing doubled.
    let acknowledged = acknowledged.lock().unwrap().clone();
    assert!(acknowledged.len() >= 200, "the fleet kept posting through it all: {} acknowledged", acknowledged.len());
    let pool = sqlx::AnyPool::connect(&url).await.unwrap();
    let stored: Vec<String> = sqlx::query_scalar("SELECT event_id FROM events WHERE agent_id = 'rolling-fleet'")
        .fetch_all(&pool)
        .await
        .unwrap();
    let stored_set: BTreeSet<String> = stored.iter().cloned().collect();
    assert_eq!(stored.len(), stored_set.len(), "no event stored twice");
    eprintln!(
        "{posted} events posted, {} acknowledged, {} stored; incidents {after_incidents:?}",
        acknowledged.len(),
        stored_set.len()
    );
    let lost: Vec<_> = acknowledged.difference(&stored_set).collect();
    assert!(lost.is_empty(), "{} acknowledged events lost: {lost:?}", lost.len());
    assert!(stored_set.len() <= posted, "only what was posted is stored");
    pool.close().await;

    // The previous release finds its own schema whole, and every chain verifies.
    let out = migrate(&previous, &["verify"], &url);
    assert!(out.contains("schema as this binary expects: 23 migrations"), "{out}");
    assert!(out.contains("audit log intact") && out.contains("events intact"), "{out}");
    let out = Command::new(this_release()).args(["audit", "verify", "--database-url", &url]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

/// Stops `old` (SIGTERM, as a deploy does) and starts `binary` in its place.
fn replace(old: Served, binary: &str, url: &str, tokens: &str, addresses: &Addresses) -> Served {
    addresses.lock().unwrap().retain(|a| *a != old.addr);
    assert!(old.stop().success(), "a server stops cleanly for its replacement");
    let new = serve(binary, url, tokens);
    addresses.lock().unwrap().push(new.addr.clone());
    new
}

async fn healthy(http: &reqwest::Client, server: &Served) -> bool {
    http.get(format!("http://{}/healthz", server.addr)).send().await.is_ok_and(|r| r.status().is_success())
}

async fn incidents(http: &reqwest::Client, admin: &str, server: &Served) -> Vec<Value> {
    let page: Value = http
        .get(format!("http://{}/api/v1/incidents?limit=200", server.addr))
        .bearer_auth(admin)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    page["incidents"].as_array().cloned().unwrap_or_default()
}

async fn open_incident(http: &reqwest::Client, admin: &str, server: &Served) -> Option<i64> {
    incidents(http, admin, server).await.iter().find(|i| i["status"] == "open").and_then(|i| i["id"].as_i64())
}

async fn incident_ids(http: &reqwest::Client, admin: &str, server: &Served) -> Vec<i64> {
    incidents(http, admin, server).await.iter().filter_map(|i| i["id"].as_i64()).collect()
}

/// Posts batches of 10 events (those on payments-service errors) to the servers in
/// service, in turn, until told to stop; a batch a server did not answer
/// goes to the next one, with the same ids. Returns how many were posted.
async fn post_events(
    http: reqwest::Client,
    agent: String,
    addresses: Addresses,
    acknowledged: Arc<Mutex<BTreeSet<String>>>,
    stop: tokio::sync::watch::Receiver<bool>,
) -> usize {
    let mut posted = 0;
    let mut turn = 0usize;
    for batch in 0.. {
        if *stop.borrow() {
            break;
        }
        let ids: Vec<String> = (0..10).map(|i| format!("roll-{batch}-{i}")).collect();
        let body: Vec<Value> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| {
                // payments-service keeps failing: its incident stays open.
                let resource = ["payments-service", "checkout-service", "api-gateway"][(batch + i) % 3];
                let outcome = if resource == "payments-service" { "error" } else { "ok" };
                common::event_body(id, 0.0, "rolling-fleet", "tool_call", resource, outcome)
            })
            .collect();
        posted += ids.len();
        for _attempt in 0..20 {
            let target = {
                let list = addresses.lock().unwrap();
                if list.is_empty() {
                    None
                } else {
                    turn += 1;
                    Some(list[turn % list.len()].clone())
                }
            };
            let Some(target) = target else {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            };
            let sent = http.post(format!("http://{target}/api/v1/events")).bearer_auth(&agent).json(&body).send().await;
            let Ok(answer) = sent else { continue };
            if !answer.status().is_success() {
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
            let report: Value = answer.json().await.unwrap_or(Value::Null);
            let refused = report["rejected"].as_array().map_or(0, Vec::len);
            assert_eq!(refused, 0, "no event refused: {report}");
            acknowledged.lock().unwrap().extend(ids.iter().cloned());
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    posted
}
