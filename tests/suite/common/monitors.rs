//! Real monitors on loopback: Prometheus Alertmanager and Prometheus, from
//! their Debian packages (`tests/prerequisites` installs them), each in a
//! directory of its own and killed when the test ends.

use super::KillOnDrop;
use std::path::PathBuf;
use std::time::{Duration, Instant};
use tempfile::TempDir;

/// The first of `names` on PATH.
fn binary(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).flat_map(|dir| names.iter().map(move |n| dir.join(n))).find(|p| p.is_file())
}

/// A free loopback port (free when asked; the monitor binds it next).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

/// Whether `test` must be skipped for lack of `what` (see `skip_without`).
fn skip(what: &str, found: &Option<PathBuf>, test: &str) -> bool {
    super::skip_without(what, found.is_some(), test)
}

/// A monitor process and where it answers.
pub struct Monitor {
    pub url: String,
    pub dir: TempDir,
    _process: KillOnDrop,
    log: PathBuf,
}

impl Monitor {
    async fn spawn(program: PathBuf, args: Vec<String>, dir: TempDir, port: u16, ready: &str) -> Monitor {
        let log = dir.path().join("log");
        let out = std::fs::File::create(&log).unwrap();
        let child = std::process::Command::new(program)
            .args(args)
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .unwrap();
        let monitor = Monitor { url: format!("http://127.0.0.1:{port}"), dir, _process: KillOnDrop(child), log };
        let deadline = Instant::now() + Duration::from_secs(30);
        let probe = format!("{}{ready}", monitor.url);
        let http = mandate::sdk::http_client_builder().build().unwrap();
        loop {
            let up = http.get(&probe).send().await.map(|r| r.status().is_success()).unwrap_or(false);
            if up {
                return monitor;
            }
            assert!(Instant::now() < deadline, "the monitor did not come up; its log:\n{}", monitor.log_text());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

/// Alertmanager with one receiver: Mandate's webhook at `webhook` with
/// `token`, grouping by every label, sending at once and repeating often.
pub async fn alertmanager(webhook: &str, token: &str, test: &str) -> Option<Monitor> {
    let program = binary(&["prometheus-alertmanager", "alertmanager"]);
    if skip("Prometheus Alertmanager (Debian package prometheus-alertmanager)", &program, test) {
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let config = format!(
        "route:\n  receiver: mandate\n  group_by: ['...']\n  group_wait: 0s\n  group_interval: 1s\n  repeat_interval: 2s\n\
         receivers:\n- name: mandate\n  webhook_configs:\n  - url: {webhook}\n    send_resolved: true\n    \
         http_config:\n      authorization:\n        credentials: {token}\n"
    );
    std::fs::write(dir.path().join("alertmanager.yml"), config).unwrap();
    let port = free_port();
    let args = vec![
        format!("--config.file={}", dir.path().join("alertmanager.yml").display()),
        format!("--storage.path={}", dir.path().join("data").display()),
        format!("--web.listen-address=127.0.0.1:{port}"),
        "--cluster.listen-address=".to_owned(),
        "--log.level=debug".to_owned(),
    ];
    Some(Monitor::spawn(program.unwrap(), args, dir, port, "/-/ready").await)
}

/// Prometheus scraping `targets` (`host:port`, path `/metrics`) every
/// second, with `bearer` for each when given, and `rules` (a rule file's
/// text) evaluated every second.
pub async fn prometheus(targets: &[(&str, Option<&str>)], test: &str) -> Option<Monitor> {
    let program = binary(&["prometheus"]);
    if skip("Prometheus (Debian package prometheus)", &program, test) {
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let mut config = String::from("global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nscrape_configs:\n");
    for (i, (target, bearer)) in targets.iter().enumerate() {
        config.push_str(&format!("- job_name: target{i}\n  static_configs:\n  - targets: ['{target}']\n"));
        if let Some(token) = bearer {
            config.push_str(&format!("  authorization:\n    credentials: {token}\n"));
        }
    }
    std::fs::write(dir.path().join("prometheus.yml"), config).unwrap();
    let port = free_port();
    let args = vec![
        format!("--config.file={}", dir.path().join("prometheus.yml").display()),
        format!("--storage.tsdb.path={}", dir.path().join("data").display()),
        format!("--web.listen-address=127.0.0.1:{port}"),
    ];
    Some(Monitor::spawn(program.unwrap(), args, dir, port, "/-/ready").await)
}
