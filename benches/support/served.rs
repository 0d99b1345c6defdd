//! Real `mandate serve` processes (the release build) for the benchmarks,
//! and a fresh PostgreSQL database with a tokens file for them.

use serde_json::Value;
use std::io::BufRead;
use std::time::Duration;

pub const BIN: &str = env!("CARGO_BIN_EXE_mandate");

pub struct Server {
    pub child: std::process::Child,
    pub addr: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    pub fn start(url: &str, tokens: &str) -> Server {
        let mut child = std::process::Command::new(BIN)
            .args(["serve", "--listen", "127.0.0.1:0", "--log-format", "json", "--tokens-file", tokens])
            .args(["--database-url", url])
            .env("RUST_LOG", "warn,mandate=info")
            .stderr(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .spawn()
            .unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let stderr = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            let mut lines = std::io::BufReader::new(stderr).lines().map_while(Result::ok);
            for line in lines.by_ref() {
                let v: Value = serde_json::from_str(&line).unwrap_or(Value::Null);
                if let Some(addr) = v["fields"]["addr"].as_str() {
                    let _ = tx.send(addr.to_owned());
                    break;
                }
            }
            // Drained, not read: the benchmark's own CPU is for its clients.
            lines.for_each(drop);
        });
        let addr = rx.recv_timeout(Duration::from_secs(30)).expect("the server reports its address");
        Server { child, addr }
    }

    /// Resident memory of the server process, MiB.
    pub fn resident_mib(&self) -> f64 {
        super::resident_mib_of(&self.child.id().to_string())
    }
}

/// A fresh database in the cluster, a tokens file, and an admin and agent token.
pub struct Setup {
    pub url: String,
    pub tokens: String,
    pub admin: String,
    pub agent: String,
    _dir: tempfile::TempDir,
}

pub async fn setup() -> Setup {
    let admin_url = std::env::var("MANDATE_TEST_PG_URL")
        .expect("MANDATE_TEST_PG_URL: start a cluster with tests/pg/cluster.sh start and source its output");
    sqlx::any::install_default_drivers();
    let name = format!("mandate_b_{}", uuid::Uuid::new_v4().simple());
    let pool = sqlx::AnyPool::connect(&admin_url).await.unwrap();
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&pool).await.unwrap();
    pool.close().await;
    let url = format!("{}/{name}", admin_url.rsplit_once('/').unwrap().0);
    with_tokens(url, tempfile::tempdir().unwrap())
}

/// A SQLite database in a temporary directory, with the same tokens.
pub fn setup_sqlite() -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("bench.db").display());
    with_tokens(url, dir)
}

fn with_tokens(url: String, dir: tempfile::TempDir) -> Setup {
    let tokens = dir.path().join("tokens.toml").display().to_string();
    let token = |name: &str, role: &str| {
        let out = std::process::Command::new(BIN)
            .args(["token", "create", "--name", name, "--role", role, "--tokens-file", &tokens])
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap().trim().to_owned()
    };
    let (admin, agent) = (token("root", "admin"), token("fleet", "agent"));
    Setup { url, tokens, admin, agent, _dir: dir }
}
