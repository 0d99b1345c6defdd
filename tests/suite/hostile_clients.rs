//! Clients that connect and say nothing, send half a request, or send too
//! much cannot stall a real `mandate serve`: idle and half-sent connections
//! are closed after the header timeout, and at the connection cap the one
//! idle longest makes room, so real requests keep being answered; a long
//! poll in progress is never the one closed.

use crate::common::{self, create_token, serve_binary_with};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

const CAP: usize = 64;

async fn server() -> (common::Served, String, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens.toml").display().to_string();
    let admin = create_token(&tokens, "root", "admin");
    let url = format!("sqlite://{}", dir.path().join("m.db").display());
    let cap = CAP.to_string();
    let served =
        serve_binary_with(&url, &tokens, "127.0.0.1:0", &["--max-connections", &cap, "--header-timeout-seconds", "2"]);
    (served, admin, dir)
}

/// One request on a fresh connection, by hand: its status line.
async fn get(addr: &str, path: &str, token: &str) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let request =
        format!("GET {path} HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {token}\r\nconnection: close\r\n\r\n");
    s.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut answer)).await.expect("answered").unwrap();
    String::from_utf8_lossy(&answer).lines().next().unwrap_or_default().to_owned()
}

#[tokio::test]
async fn idle_and_half_sent_connections_never_lock_out_real_requests() {
    let (served, admin, _dir) = server().await;
    let addr = served.addr.clone();

    // A long poll in progress, then a flood of connections far beyond the cap:
    // half of them silent, half stopping halfway through their headers.
    let poll = {
        let (addr, admin) = (addr.clone(), admin.clone());
        tokio::spawn(async move { get(&addr, "/api/v1/incidents?since=0&wait=4", &admin).await })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut flood = Vec::new();
    for i in 0..(CAP * 4) {
        let mut s = TcpStream::connect(&addr).await.unwrap();
        if i % 2 == 1 {
            s.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\nx-slow: ").await.unwrap();
        }
        flood.push(s);
    }

    // Real requests still answered, each on a new connection.
    let mut took = Vec::new();
    for _ in 0..50 {
        let started = Instant::now();
        assert_eq!(get(&addr, "/healthz", "").await, "HTTP/1.1 200 OK");
        took.push(started.elapsed());
        assert_eq!(get(&addr, "/api/v1/incidents", &admin).await, "HTTP/1.1 200 OK");
    }
    took.sort();
    println!("/healthz during the flood: p50 {:?}, worst {:?}", took[25], took[49]);

    // The long poll was never closed: it ends at its deadline with 304.
    assert_eq!(poll.await.unwrap(), "HTTP/1.1 304 Not Modified", "a long poll in progress is never evicted");

    // Every flooding connection has been closed by the server by now: the
    // cap evicted most, the header timeout (2 s) the rest.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let mut closed = 0;
    for mut s in flood {
        let mut buf = [0u8; 64];
        match tokio::time::timeout(Duration::from_millis(500), s.read(&mut buf)).await {
            Ok(Ok(0)) | Ok(Err(_)) => closed += 1,
            // A request timeout answer (408) before closing also counts.
            Ok(Ok(_)) => closed += 1,
            Err(_) => {}
        }
    }
    assert_eq!(closed, CAP * 4, "idle and half-sent connections are closed");
    served.stop();
}

#[tokio::test]
async fn a_body_over_the_limit_is_refused_with_the_true_limit() {
    let (served, admin, _dir) = server().await;
    let http = mandate::sdk::http_client_builder().build().unwrap();
    for (path, limit, bytes) in [("/api/v1/runs", "1 MiB", 1 << 20), ("/api/v1/events", "4 MiB", 4 << 20)] {
        // Just over: the whole body is sent before the answer comes.
        let body = format!("{{\"goal\": \"{}\"}}", "x".repeat(bytes + 1024));
        let r = http
            .post(format!("http://{}{path}", served.addr))
            .bearer_auth(&admin)
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 413);
        let answer: serde_json::Value = r.json().await.unwrap();
        assert_eq!(answer["code"], "BODY_TOO_LARGE");
        assert!(answer["message"].as_str().unwrap().contains(limit), "{path}: {answer}");
    }
    served.stop();
}

#[tokio::test]
async fn guessing_tokens_is_throttled_per_client_and_only_guesses_count() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens.toml").display().to_string();
    let admin = create_token(&tokens, "root", "admin");
    let url = format!("sqlite://{}", dir.path().join("m.db").display());
    // Behind a load balancer on loopback, which names the client.
    let served = serve_binary_with(&url, &tokens, "127.0.0.1:0", &["--trusted-proxy", "127.0.0.0/8"]);
    let http = mandate::sdk::http_client_builder().build().unwrap();
    let url = format!("http://{}/api/v1/incidents", served.addr);
    let from = |client: &str| http.get(&url).header("x-forwarded-for", format!("{client}, 127.0.0.9"));

    // Requests with no token, or no bearer token, are 401 and cost nothing:
    // a crowd of them locks nobody out.
    for i in 0..40 {
        let request =
            if i % 2 == 0 { from("203.0.113.7") } else { from("203.0.113.7").header("authorization", "Basic x") };
        assert_eq!(request.send().await.unwrap().status(), 401);
    }
    assert_eq!(from("203.0.113.7").bearer_auth(&admin).send().await.unwrap().status(), 200);

    // The documented number is the real one: 20 guesses, then 429 for
    // everyone at that client, the right token included.
    for i in 0..20 {
        let r = from("198.51.100.1").bearer_auth(format!("mdt_guess{i}")).send().await.unwrap();
        assert_eq!(r.status(), 401, "guess {} is told apart from a throttle", i + 1);
    }
    for token in ["mdt_guess21", admin.as_str()] {
        let r = from("198.51.100.1").bearer_auth(token).send().await.unwrap();
        assert_eq!(r.status(), 429);
        assert_eq!(r.headers()["retry-after"], "10");
        let body: serde_json::Value = r.json().await.unwrap();
        assert_eq!(body["code"], "TOO_MANY_FAILED_ATTEMPTS", "{body}");
    }
    // Another client behind the same balancer is not locked out.
    assert_eq!(from("198.51.100.2").bearer_auth(&admin).send().await.unwrap().status(), 200);
    // Requests that need no token still answer.
    let health = http.get(format!("http://{}/healthz", served.addr)).send().await.unwrap();
    assert_eq!(health.status(), 200);
    // The block is logged with the client's address, never the tokens.
    let log = served.log.lock().unwrap().join("\n");
    let blocked = log.lines().find(|l| l.contains("client blocked")).expect("the block is logged");
    assert!(blocked.contains("198.51.100.1"), "{blocked}");
    assert!(!log.contains("mdt_guess"), "no guessed token reaches the log");
    served.stop();
}

#[tokio::test]
async fn a_token_past_its_rate_waits_and_others_do_not() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens.toml").display().to_string();
    let fleet = create_token(&tokens, "fleet", "agent");
    let alice = create_token(&tokens, "alice", "responder");
    let url = format!("sqlite://{}", dir.path().join("m.db").display());
    let served = serve_binary_with(&url, &tokens, "127.0.0.1:0", &["--token-rate-limit", "3"]);
    let http = mandate::sdk::http_client_builder().build().unwrap();
    let runs = format!("http://{}/api/v1/runs", served.addr);
    // Flat out: a second's worth passes, then 429 (however slow this machine is,
    // forty requests take less than the thirteen seconds they would need).
    let mut limited = None;
    let mut passed = 0;
    for _ in 0..40 {
        let r = http.get(&runs).bearer_auth(&fleet).send().await.unwrap();
        if r.status() == 429 {
            limited = Some(r);
            break;
        }
        assert_eq!(r.status(), 200);
        passed += 1;
    }
    let limited = limited.expect("the fleet token is limited");
    assert!(passed >= 3, "a second's worth passes first: {passed}");
    let wait: u64 = limited.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert_eq!(wait, 1);
    let body: serde_json::Value = limited.json().await.unwrap();
    assert_eq!(body["code"], "RATE_LIMITED", "{body}");
    assert!(body["message"].as_str().unwrap().contains("\"fleet\""), "{body}");
    // Another token is not held back by the fleet's traffic.
    let r = http.get(format!("http://{}/api/v1/incidents", served.addr)).bearer_auth(&alice).send().await.unwrap();
    assert_eq!(r.status(), 200);
    // After the wait it was told, the fleet goes on.
    tokio::time::sleep(Duration::from_secs(wait)).await;
    let r = http.get(&runs).bearer_auth(&fleet).send().await.unwrap();
    assert_eq!(r.status(), 200);
    served.stop();
}

/// Sends `raw` on a fresh connection and reads the whole answer.
async fn raw(addr: &str, request: &[u8]) -> (u16, String, serde_json::Value) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    let _ = s.write_all(request).await;
    let mut answer = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut answer)).await.expect("answered");
    let text = String::from_utf8_lossy(&answer).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let status = head.get(9..12).and_then(|s| s.parse().ok()).unwrap_or(0);
    (status, head.to_ascii_lowercase(), serde_json::from_str(body).unwrap_or_default())
}

#[tokio::test]
async fn the_http_layers_own_refusals_are_json_too() {
    let (served, admin, _dir) = server().await;
    let addr = served.addr.clone();
    let long_uri = format!("GET /healthz?{} HTTP/1.1\r\nhost: x\r\n\r\n", "a".repeat(70_000));
    let many_headers = format!(
        "GET /healthz HTTP/1.1\r\nhost: x\r\n{}\r\n",
        (0..150).map(|i| format!("x-h{i}: v\r\n")).collect::<String>()
    );
    let huge_header = format!("GET /healthz HTTP/1.1\r\nhost: x\r\nx-big: {}\r\n\r\n", "v".repeat(500_000));
    // Within the parser's buffer, past the server's own limit of 64 KiB.
    let big_header = format!("GET /healthz HTTP/1.1\r\nhost: x\r\nx-big: {}\r\n\r\n", "v".repeat(100_000));
    let bad_path = format!(
        "GET /api/v1/runs/%FF HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {admin}\r\nconnection: close\r\n\r\n"
    );
    let cases: [(&str, &[u8], u16, &str); 6] = [
        ("a URI over 64 KiB", long_uri.as_bytes(), 414, "URI_TOO_LONG"),
        ("150 headers", many_headers.as_bytes(), 431, "HEADERS_TOO_LARGE"),
        ("a 500 KB header", huge_header.as_bytes(), 431, "HEADERS_TOO_LARGE"),
        ("a 100 KB header", big_header.as_bytes(), 431, "HEADERS_TOO_LARGE"),
        ("not HTTP", b"BLAH\r\n\r\n", 400, "INVALID_REQUEST"),
        ("a path that is not UTF-8", bad_path.as_bytes(), 400, "INVALID_REQUEST"),
    ];
    for (what, request, status, code) in cases {
        let (got, head, body) = raw(&addr, request).await;
        assert_eq!(got, status, "{what}: {head}");
        assert!(head.contains("content-type: application/json"), "{what}: {head}");
        assert_eq!(body["code"], code, "{what}: {body}");
        assert!(!body["message"].as_str().unwrap_or_default().is_empty(), "{what}: {body}");
    }
    // Every route refuses an unknown parameter the same way, the open ones too.
    for path in ["/healthz?x=1", "/readyz?x=1", "/api/v1/openapi.json?x=1"] {
        let (status, _, body) =
            raw(&addr, format!("GET {path} HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").as_bytes()).await;
        assert_eq!((status, body["code"].as_str()), (400, Some("UNKNOWN_PARAMETER")), "{path}: {body}");
    }
    served.stop();
}

/// A connection from loopback address `from` (127.0.0.0/8 is all this machine's).
async fn connect_from(from: &str, addr: &str) -> std::io::Result<TcpStream> {
    let socket = tokio::net::TcpSocket::new_v4()?;
    socket.bind(format!("{from}:0").parse().unwrap())?;
    socket.connect(addr.parse().unwrap()).await
}

#[tokio::test]
async fn one_token_cannot_fill_the_server_with_long_polls() {
    let (served, admin, dir) = server().await;
    let tokens = dir.path().join("tokens.toml").display().to_string();
    let viewer = create_token(&tokens, "wall-screen", "viewer");
    // A second token, read by the running server on SIGHUP.
    common::signal(&served.child, "HUP");
    tokio::time::sleep(Duration::from_millis(500)).await;
    let addr = served.addr.clone();
    let poll = |token: String| {
        let addr = addr.clone();
        tokio::spawn(async move { get(&addr, "/api/v1/incidents?since=0&wait=5", &token).await })
    };
    // CAP is 64: a token's share is 16 waiting long polls.
    let polls: Vec<_> = (0..40).map(|_| poll(viewer.clone())).collect();
    tokio::time::sleep(Duration::from_millis(800)).await;
    // Meanwhile health checks, other requests and another token's long poll get in.
    for _ in 0..10 {
        assert_eq!(get(&addr, "/healthz", "").await, "HTTP/1.1 200 OK");
    }
    assert_eq!(get(&addr, "/api/v1/incidents", &admin).await, "HTTP/1.1 200 OK");
    let other = poll(admin.clone());
    let mut answers: Vec<String> = Vec::new();
    for p in polls {
        answers.push(p.await.unwrap());
    }
    let waited = answers.iter().filter(|a| *a == "HTTP/1.1 304 Not Modified").count();
    let refused = answers.iter().filter(|a| *a == "HTTP/1.1 429 Too Many Requests").count();
    assert_eq!((waited, refused), (16, 24), "{answers:?}");
    assert_eq!(other.await.unwrap(), "HTTP/1.1 304 Not Modified", "another token is not held back");
    let log = served.log.lock().unwrap().join("\n");
    let line = log.lines().find(|l| l.contains("long poll refused")).expect("refusals are logged");
    assert!(line.contains("wall-screen") && line.contains("127.0.0.1"), "{line}");
    assert!(!log.contains(&viewer), "never the token itself");
    served.stop();
}

#[tokio::test]
async fn clients_opening_connections_never_close_a_real_one_under_it() {
    let (served, _admin, _dir) = server().await;
    let addr = served.addr.clone();
    // Forty addresses keep the table full of silent connections, each
    // opening another as soon as one of theirs is closed.
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut churners = Vec::new();
    for i in 0..40 {
        let (addr, stop) = (addr.clone(), stop.clone());
        churners.push(tokio::spawn(async move {
            let from = format!("127.0.0.{}", 10 + i);
            let mut held = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                if let Ok(s) = connect_from(&from, &addr).await {
                    held.push(s);
                }
                held.retain(|s: &TcpStream| s.peer_addr().is_ok());
                if held.len() > 8 {
                    held.remove(0);
                }
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }));
    }
    tokio::time::sleep(Duration::from_millis(500)).await;
    // A real client connects, takes 50 ms, then sends its request.
    let (mut answered, mut refused) = (0, 0);
    for _ in 0..30 {
        let mut s = connect_from("127.0.0.200", &addr).await.unwrap();
        tokio::time::sleep(Duration::from_millis(50)).await;
        let _ = s.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\nconnection: close\r\n\r\n").await;
        let mut answer = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut answer)).await.expect("answered");
        let status = String::from_utf8_lossy(&answer).lines().next().unwrap_or_default().to_owned();
        match status.as_str() {
            "HTTP/1.1 200 OK" => answered += 1,
            // At the cap with every connection its client's only fresh one:
            // refused at once, said so, before it sent anything.
            "HTTP/1.1 503 Service Unavailable" => refused += 1,
            other => panic!("a real client's connection was closed under it: {other:?}"),
        }
    }
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    for c in churners {
        c.await.unwrap();
    }
    println!("real requests among churners: {answered} answered, {refused} refused at the door");
    assert!(answered > 0, "some real requests get through");
    served.stop();
}
