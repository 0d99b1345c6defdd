//! Test harness: real servers on loopback over a real SQLite file or the
//! throwaway PostgreSQL cluster that `tests/run` starts.
#![allow(dead_code)]

use mandate::api::Role;
use mandate::auth::TokenTable;
use mandate::server::{self, RunningServer};
use mandate::store::Store;
use serde_json::Value;
use tempfile::TempDir;

pub mod monitors;

pub const ADMIN: &str = "mdt_test_admin";
pub const RESPONDER: &str = "mdt_test_responder";
pub const VIEWER: &str = "mdt_test_viewer";
pub const AGENT: &str = "mdt_test_agent";
pub const MONITOR: &str = "mdt_test_monitor";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Db {
    Sqlite,
    Postgres,
}

/// Keeps whatever backs a store alive for the test's duration.
pub struct StoreGuard {
    pub store: Store,
    /// The database's URL, to connect again (after a restart).
    pub url: String,
    _dir: Option<TempDir>,
}

/// Whether a test that needs `what` (PostgreSQL, tmux) must be skipped. A
/// plain `cargo test` on a machine without it passes the rest and says on
/// stderr what it skipped (written past the test harness's capture, so it
/// shows); `tests/run` sets MANDATE_TEST_REQUIRE_ALL, and there a missing
/// prerequisite fails the test instead.
pub fn skip_without(what: &str, available: bool, test: &str) -> bool {
    if available {
        return false;
    }
    if std::env::var_os("MANDATE_TEST_REQUIRE_ALL").is_some() {
        panic!("{test} needs {what}, and MANDATE_TEST_REQUIRE_ALL is set: run the suite with tests/run");
    }
    use std::io::Write;
    let _ = writeln!(std::io::stderr(), "SKIPPED {test}: needs {what} (tests/run sets it up)");
    true
}

/// Whether this PostgreSQL test must be skipped (see [`skip_without`]).
pub fn skip_postgres(test: &str) -> bool {
    skip_without("PostgreSQL (MANDATE_TEST_PG_URL)", std::env::var_os("MANDATE_TEST_PG_URL").is_some(), test)
}

pub async fn sqlite_store() -> StoreGuard {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("mandate.db").display());
    StoreGuard { store: Store::connect(&url).await.unwrap(), url, _dir: Some(dir) }
}

/// A fresh database in the test cluster, so tests never see each other's rows.
pub async fn postgres_store() -> StoreGuard {
    let admin_url = std::env::var("MANDATE_TEST_PG_URL").unwrap_or_else(|_| {
        panic!("MANDATE_TEST_PG_URL is not set: run the suite with `tests/run`, which starts a throwaway PostgreSQL")
    });
    sqlx::any::install_default_drivers();
    let name = format!("mandate_t_{}", uuid::Uuid::new_v4().simple());
    let admin = sqlx::AnyPool::connect(&admin_url).await.expect("connect to the test cluster");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&admin).await.unwrap();
    admin.close().await;
    let url = format!("{}/{name}", admin_url.rsplit_once('/').unwrap().0);
    StoreGuard { store: Store::connect(&url).await.unwrap(), url, _dir: None }
}

/// A fresh, empty database in the test cluster (no schema): its URL.
pub async fn postgres_database() -> String {
    let admin_url = std::env::var("MANDATE_TEST_PG_URL").expect("MANDATE_TEST_PG_URL: run the suite with `tests/run`");
    sqlx::any::install_default_drivers();
    let name = format!("mandate_e_{}", uuid::Uuid::new_v4().simple());
    let admin = sqlx::AnyPool::connect(&admin_url).await.expect("connect to the test cluster");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&admin).await.unwrap();
    admin.close().await;
    format!("{}/{name}", admin_url.rsplit_once('/').unwrap().0)
}

pub async fn store(db: Db) -> StoreGuard {
    match db {
        Db::Sqlite => sqlite_store().await,
        Db::Postgres => postgres_store().await,
    }
}

pub fn tokens() -> TokenTable {
    TokenTable::default()
        .with_token(ADMIN, "root-admin", Role::Admin)
        .with_token(RESPONDER, "alice", Role::Responder)
        .with_token(VIEWER, "victor", Role::Viewer)
        .with_token(AGENT, "fleet", Role::Agent)
        .with_token(MONITOR, "monitoring", Role::Monitor)
}

pub struct TestServer {
    pub server: RunningServer,
    pub http: reqwest::Client,
    _guard: StoreGuard,
}

pub async fn start(db: Db) -> TestServer {
    let guard = store(db).await;
    let server = server::start(guard.store.clone(), tokens(), "127.0.0.1:0".parse().unwrap()).await.unwrap();
    TestServer { server, http: mandate::sdk::http_client_builder().build().unwrap(), _guard: guard }
}

/// `start` without the limit on failed authentications: for tests that
/// send bad tokens by the hundred on purpose.
pub async fn start_unthrottled(db: Db) -> TestServer {
    let guard = store(db).await;
    let desk = mandate::desk::Desk::open(guard.store.clone(), None, Default::default()).await.unwrap();
    let limits = server::ConnectionLimits { failed_auth_limit: 0, ..Default::default() };
    let server = server::start_desk_with(desk, tokens(), "127.0.0.1:0".parse().unwrap(), limits).await.unwrap();
    TestServer { server, http: mandate::sdk::http_client_builder().build().unwrap(), _guard: guard }
}

/// A response, read whole.
#[derive(Debug)]
#[must_use = "check its status: a setup call that failed unnoticed makes the rest of the test say nothing"]
pub struct Answer {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Answer {
    /// The body of a 2xx answer; anything else fails the test, saying what
    /// the server answered.
    #[track_caller]
    pub fn succeeded(self) -> Value {
        assert!((200..300).contains(&self.status), "the server answered {}: {}", self.status, self.body);
        self.body
    }
}

impl TestServer {
    /// A server the test started itself (its store lives elsewhere).
    pub fn wrap(server: RunningServer) -> TestServer {
        let store = server.state.store().clone();
        TestServer {
            server,
            http: mandate::sdk::http_client_builder().build().unwrap(),
            _guard: StoreGuard { store, url: String::new(), _dir: None },
        }
    }

    /// Keeps `guard` (the store's database) alive as long as this server.
    pub fn keep(&mut self, guard: StoreGuard) {
        self._guard = guard;
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.server.url())
    }

    pub async fn send(&self, request: reqwest::RequestBuilder) -> Answer {
        let response = request.send().await.unwrap();
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        let body =
            if text.is_empty() { Value::Null } else { serde_json::from_str(&text).unwrap_or(Value::String(text)) };
        Answer { status, headers, body }
    }

    pub async fn get(&self, token: &str, path: &str) -> Answer {
        self.send(self.http.get(self.url(path)).bearer_auth(token)).await
    }

    pub async fn post(&self, token: &str, path: &str, body: &Value) -> Answer {
        self.send(self.http.post(self.url(path)).bearer_auth(token).json(body)).await
    }

    pub async fn stop(self) {
        self.server.stop().await;
    }
}

/// A valid create-run body to vary from.
pub fn run_body() -> Value {
    serde_json::json!({
        "goal": "rotate the payments-db credentials",
        "agent_id": "agent-deployer",
        "actor_type": "SYSTEM",
        "origin_system_id": "deploy-pipeline",
        "source": "SDK",
        "provider_type": "anthropic",
        "risk_level": "high",
    })
}

/// Generates `sqlite` and `postgres` tests from one `async fn(Db)` scenario.
#[macro_export]
macro_rules! on_both_databases {
    ($($scenario:ident),+ $(,)?) => {
        $(
            mod $scenario {
                #[tokio::test]
                async fn sqlite() {
                    super::$scenario($crate::common::Db::Sqlite).await;
                }

                #[tokio::test]
                async fn postgres() {
                    if $crate::common::skip_postgres(concat!(stringify!($scenario), "::postgres")) {
                        return;
                    }
                    super::$scenario($crate::common::Db::Postgres).await;
                }
            }
        )+
    };
}

/// An event body `minutes` from now (negative: in the past).
pub fn event_body(id: &str, minutes: f64, agent: &str, action: &str, resource: &str, outcome: &str) -> Value {
    let at = chrono::Utc::now() + chrono::Duration::milliseconds((minutes * 60_000.0) as i64);
    serde_json::json!({
        "event_id": id,
        "agent_id": agent,
        "actor_type": "SYSTEM",
        "origin_system_id": "test-fleet",
        "action_type": action,
        "resource": resource,
        "outcome": outcome,
        "occurred_at": at.to_rfc3339(),
    })
}

/// The seed's services, as a catalog document for `PUT /api/v1/catalog`.
pub fn seed_catalog() -> Value {
    serde_json::json!({
        "service": [
            {"name": "payments-db", "kind": "datastore", "owner": "@dana", "team": "data", "sensitivity": "critical"},
            {"name": "payments-service", "owner": "@alice", "team": "payments", "on_call": "@payments-oncall",
             "escalation": ["@payments-lead", "@vp-engineering"], "sensitivity": "critical", "depends_on": ["payments-db"]},
            {"name": "user-db", "kind": "datastore", "owner": "@dana"},
            {"name": "user-service", "owner": "@umar", "team": "users", "depends_on": ["payments-service", "user-db"]},
            {"name": "billing-service", "owner": "@bea", "team": "billing", "depends_on": ["payments-db"]},
            {"name": "api-gateway", "owner": "@gus", "depends_on": ["user-service"]},
            {"name": "notifications", "owner": "@nina", "depends_on": ["api-gateway"]},
        ],
        "critical_tools": ["kubectl"],
    })
}

/// `body` with `changes` made: each field set, or removed when null.
pub fn with(mut body: Value, changes: Value) -> Value {
    for (k, v) in changes.as_object().unwrap() {
        if v.is_null() {
            body.as_object_mut().unwrap().remove(k);
        } else {
            body[k] = v.clone();
        }
    }
    body
}

/// HUMAN attribution for the responder token's principal, "alice".
pub fn as_alice(mut body: Value) -> Value {
    for (k, v) in [
        ("actor_type", "HUMAN"),
        ("actor_id", "alice"),
        ("agent_id", "mandate-console"),
        ("origin_system_id", "console@test"),
    ] {
        body[k] = v.into();
    }
    body
}

/// `GET url` with `token`, its body read as JSON.
pub async fn get_json(http: &reqwest::Client, url: &str, token: &str) -> Value {
    http.get(url).bearer_auth(token).send().await.unwrap().json().await.unwrap()
}

/// The real `mandate` binary.
pub const BIN: &str = env!("CARGO_BIN_EXE_mandate");

/// The real binary with `args`, run off the test's runtime (which keeps
/// serving meanwhile), without a database URL from the environment.
pub async fn mandate_cli(args: &[&str]) -> std::process::Output {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    tokio::task::spawn_blocking(move || {
        std::process::Command::new(BIN).args(&args).env_remove("MANDATE_DATABASE_URL").output().unwrap()
    })
    .await
    .unwrap()
}

/// `mandate token create`: the token, alone on stdout.
pub fn create_token(tokens_file: &str, name: &str, role: &str) -> String {
    let out = std::process::Command::new(BIN)
        .args(["token", "create", "--name", name, "--role", role, "--tokens-file", tokens_file])
        .env_remove("MANDATE_TOKENS_FILE")
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert_eq!(stdout.lines().count(), 1, "stdout is the token alone, for scripts");
    stdout.trim().to_owned()
}

/// A `mandate serve` process: its address once it accepts, and its JSON log.
pub struct Served {
    pub child: std::process::Child,
    pub addr: String,
    pub log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

/// Starts `mandate serve` on `listen` and waits until it reports its address.
pub fn serve_binary(database_url: &str, tokens_file: &str, listen: &str) -> Served {
    serve_binary_with(database_url, tokens_file, listen, &[])
}

/// `serve_binary` with more arguments (`--routing FILE`, …).
pub fn serve_binary_with(database_url: &str, tokens_file: &str, listen: &str, more: &[&str]) -> Served {
    serve_command(std::process::Command::new(BIN), database_url, tokens_file, listen, more)
}

/// `serve_binary_with` as `command` runs it: `command` is the binary, or a
/// wrapper (`prlimit … --`) whose next argument is.
pub fn serve_command(
    mut command: std::process::Command,
    database_url: &str,
    tokens_file: &str,
    listen: &str,
    more: &[&str],
) -> Served {
    use std::io::BufRead;
    let mut child = command
        .args(["serve", "--listen", listen, "--log-format", "json", "--tokens-file", tokens_file])
        .args(["--database-url", database_url])
        .args(more)
        .stderr(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let (tx, rx) = std::sync::mpsc::channel();
    let lines = log.clone();
    let stderr = child.stderr.take().unwrap();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
            let addr =
                serde_json::from_str::<Value>(&line).ok().and_then(|v| v["fields"]["addr"].as_str().map(str::to_owned));
            if let Some(addr) = addr {
                let _ = tx.send(addr);
            }
            lines.lock().unwrap().push(line);
        }
    });
    let addr = rx.recv_timeout(std::time::Duration::from_secs(30)).expect("the server reports its address");
    Served { child, addr, log }
}

/// A child process killed when the test ends, passing or failing.
pub struct KillOnDrop(pub std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// A test that fails midway never leaves its servers running.
impl Drop for Served {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Served {
    /// Stops the server with SIGTERM, as an operator would; how it exited.
    pub fn stop(mut self) -> std::process::ExitStatus {
        signal(&self.child, "TERM");
        self.child.wait().unwrap()
    }

    /// SIGKILL, and waits until it is gone.
    pub fn kill(&mut self) {
        signal(&self.child, "KILL");
        self.child.wait().unwrap();
    }
}

/// Sends signal `name` (TERM, HUP, …) to a child process.
pub fn signal(child: &std::process::Child, name: &str) {
    let sent = std::process::Command::new("kill").args([&format!("-{name}"), &child.id().to_string()]).status();
    assert!(sent.unwrap().success(), "kill -{name}");
}

/// The design's escalation example (rule 5.3) as a Mandate routing file:
/// four levels, `critical` skipping to management after `skip_after` and
/// `low` capped at the on-call. The design says 15 m, which is also when the
/// chain itself reaches management; 12 m makes the skip visible. With
/// `paging`, a fallback, the channels each rule pages on, and a last rule
/// for the rest, as the paging tests deliver.
pub fn escalation_example(skip_after: &str, paging: bool) -> String {
    let (fallback, critical, low, rest) = if paging {
        (
            "fallback = \"@platform-admin\"\n",
            "channels = [\"webhook\", \"pagerduty\"]\n",
            "channels = [\"webhook\"]\n",
            "\n[[rule]]\nname = \"the rest\"\nchannels = [\"webhook\"]\n",
        )
    } else {
        ("", "", "", "")
    };
    format!(
        r#"{fallback}
[[level]]
name = "primary"
targets = ["resource.owner"]
timeout = "5m"

[[level]]
name = "secondary"
targets = ["resource.team.oncall"]
timeout = "10m"

[[level]]
name = "management"
targets = ["resource.team.lead"]
timeout = "30m"

[[level]]
name = "executive"
targets = ["@vp-engineering"]

[[rule]]
name = "critical"
match = {{ severity = "critical" }}
start_level = "primary"
skip_to = {{ level = "management", after = "{skip_after}" }}
{critical}
[[rule]]
name = "low"
match = {{ severity = "low" }}
start_level = "primary"
max_level = "secondary"
{low}{rest}"#
    )
}
