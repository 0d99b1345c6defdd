//! A second real `mandate serve` on a SQLite file another server already
//! serves refuses to start and names the holder: two writers on one file
//! would hand out the same incident ids. Once the first is gone, even by
//! SIGKILL, the file can be served again. (Servers sharing one PostgreSQL
//! database are `tests/suite/replicas.rs`.) A standby waits without listening and
//! takes over, on both databases.

use crate::common::{self, BIN, Db, create_token, serve_binary, signal};
use std::process::Command;
use std::time::{Duration, Instant};

/// A database URL for the test, and what keeps it alive.
async fn database(db: Db) -> (String, common::StoreGuard) {
    let guard = common::store(db).await;
    guard.store.close().await;
    (guard.url.clone(), guard)
}

/// Runs a second `mandate serve` until it exits (15 s at most, then it is
/// killed: it started): its exit status, stderr and how long it took.
fn second_server(url: &str, tokens: &str) -> (Option<std::process::ExitStatus>, String, Duration) {
    use std::io::Read;
    let started = Instant::now();
    let mut child = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--tokens-file", tokens, "--database-url", url])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break Some(status);
        }
        if started.elapsed() > Duration::from_secs(15) {
            child.kill().unwrap();
            child.wait().unwrap();
            break None;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut stderr = String::new();
    child.stderr.take().unwrap().read_to_string(&mut stderr).unwrap();
    (status, stderr, started.elapsed())
}

#[tokio::test]
async fn a_second_server_on_one_sqlite_file_is_refused() {
    let db = Db::Sqlite;
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens.toml");
    let tokens = tokens.to_str().unwrap();
    let admin = create_token(tokens, "root", "admin");
    let (url, _guard) = database(db).await;

    let mut first = serve_binary(&url, tokens, "127.0.0.1:0");
    let (status, stderr, took) = second_server(&url, tokens);
    assert!(status.is_some_and(|s| !s.success()), "the second server must not start:\n{stderr}");
    assert!(
        stderr.contains("already served by mandate serve on") && stderr.contains(&format!("pid {}", first.child.id())),
        "the refusal names the server holding the database:\n{stderr}"
    );
    assert!(stderr.contains("does not start"), "and says what it did:\n{stderr}");
    println!("{db:?}: refused in {took:?}");

    // The first server is untouched by the attempt.
    let http = mandate::sdk::http_client_builder().build().unwrap();
    let answer = http.get(format!("http://{}/api/v1/incidents", first.addr)).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(answer.status(), 200);

    // Killed without a chance to clean up, it leaves the database free.
    signal(&first.child, "KILL");
    first.child.wait().unwrap();
    let next = serve_binary(&url, tokens, "127.0.0.1:0");
    let answer = http.get(format!("http://{}/api/v1/incidents", next.addr)).bearer_auth(&admin).send().await.unwrap();
    assert_eq!(answer.status(), 200);
    assert!(next.stop().success());
}

/// A free loopback port, for a server whose address must be known before
/// it listens.
fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// `mandate serve --standby` waits beside the server of its database without
/// listening, and takes over, with the same data, when that server dies.
async fn a_standby_takes_over_when_the_server_dies(db: Db) {
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens.toml");
    let tokens = tokens.to_str().unwrap();
    let admin = create_token(tokens, "root", "admin");
    let agent = create_token(tokens, "fleet", "agent");
    let (url, _guard) = database(db).await;
    let http = mandate::sdk::http_client_builder().build().unwrap();

    let mut first = serve_binary(&url, tokens, "127.0.0.1:0");
    let mut failure = common::event_body("f1", -1.0, "deployer", "deploy", "payments-service", "error");
    failure["error_code"] = "E".into();
    let posted =
        http.post(format!("http://{}/api/v1/events", first.addr)).bearer_auth(&agent).json(&failure).send().await;
    assert_eq!(posted.unwrap().status(), 200);

    let port = free_port();
    let mut standby = common::KillOnDrop(
        Command::new(BIN)
            .args(["serve", "--standby", "--listen", &format!("127.0.0.1:{port}"), "--log-format", "json"])
            .args(["--tokens-file", tokens, "--database-url", &url])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap(),
    );
    let health = format!("http://127.0.0.1:{port}/healthz");
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert!(standby.0.try_wait().unwrap().is_none(), "the standby waits, it does not exit");
    assert!(http.get(&health).send().await.is_err(), "a standby does not listen: load balancers pass it by");

    signal(&first.child, "KILL");
    first.child.wait().unwrap();
    let lost = Instant::now();
    loop {
        if let Ok(r) = http.get(&health).send().await
            && r.status() == 200
        {
            break;
        }
        assert!(lost.elapsed() < Duration::from_secs(15), "the standby did not take over");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    println!("{db:?}: the standby served {:?} after the server was killed", lost.elapsed());
    let page = common::get_json(&http, &format!("http://127.0.0.1:{port}/api/v1/incidents"), &admin).await;
    assert_eq!(page["incidents"][0]["title"], "E on payments-service", "the same database, the same incidents");
    // Ready once it holds the duties and its paging worker has run.
    let ready = format!("http://127.0.0.1:{port}/readyz");
    let deadline = Instant::now() + Duration::from_secs(10);
    let body: serde_json::Value = loop {
        let r = http.get(&ready).send().await.unwrap();
        if r.status() == 200 {
            break r.json().await.unwrap();
        }
        assert!(Instant::now() < deadline, "never ready: {}", r.text().await.unwrap());
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!((body["status"].as_str(), body["duties"].as_str()), (Some("ready"), Some("here")), "{body}");
    signal(&standby.0, "TERM");
    assert!(standby.0.wait().unwrap().success());
    let mut log = String::new();
    std::io::Read::read_to_string(&mut standby.0.stderr.take().unwrap(), &mut log).unwrap();
    assert!(log.contains("standing by") && log.contains("taking over"), "{log}");
}

on_both_databases!(a_standby_takes_over_when_the_server_dies);
