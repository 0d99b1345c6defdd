//! Versions said out loud, with the three SDKs as their users run them:
//! every answer says the server's version and API; every SDK request says
//! the SDK's name and version; an SDK the server deprecates logs the
//! server's warning once, and one below the server's minimum is refused
//! with an error naming the version to upgrade to. A garbled version header
//! is served with a warning, never refused for that alone.

use crate::common::{self, AGENT, Db, TestServer};
use crate::sdk_conformance::{node_project, python, run, which};
use mandate::server::versions::{SdkWindow, Version};
use std::process::Command;

const PY_VERSION: &str = "0.2.0";

/// A server whose window makes this release's SDKs deprecated
/// (`deprecated`) or refused (`refused`).
async fn server_with(deprecated: bool, refused: bool) -> TestServer {
    let t = common::start(Db::Sqlite).await;
    let mut window = SdkWindow::default_for_this_server();
    if deprecated {
        window = window.raised(None, Some(Version(9, 0, 0)));
    }
    if refused {
        window = window.raised(Some(Version(9, 0, 0)), None);
    }
    t.server.state.set_sdk_window(window);
    t
}

#[tokio::test]
async fn every_answer_says_the_servers_version_and_a_garbled_sdk_version_is_served_with_a_warning() {
    let t = common::start(Db::Sqlite).await;
    for path in ["/healthz", "/api/v1/whoami", "/api/v1/no-such-route"] {
        let answer = t.http.get(t.url(path)).bearer_auth(AGENT).send().await.unwrap();
        assert_eq!(answer.headers()["mandate-version"], env!("CARGO_PKG_VERSION"), "{path}");
        assert_eq!(answer.headers()["mandate-api"], "v1", "{path}");
        assert!(answer.headers().get("mandate-sdk-warning").is_none(), "not an SDK: no warning ({path})");
    }
    let garbled = t.http.get(t.url("/api/v1/whoami")).bearer_auth(AGENT).header("mandate-sdk", "python/one.two");
    let answer = garbled.send().await.unwrap();
    assert_eq!(answer.status(), 200, "never refused for a garbled version alone");
    let warning = answer.headers()["mandate-sdk-warning"].to_str().unwrap().to_owned();
    assert!(warning.contains("cannot read the SDK version \"python/one.two\""), "{warning}");

    // Below the minimum, even a plain HTTP client saying it is an SDK is told what to run.
    t.server.state.set_sdk_window(SdkWindow::default_for_this_server().raised(Some(Version(0, 3, 0)), None));
    let old = t.http.get(t.url("/api/v1/whoami")).bearer_auth(AGENT).header("mandate-sdk", "python/0.2.9");
    let answer = old.send().await.unwrap();
    assert_eq!(answer.status(), 400);
    assert_eq!(answer.headers()["mandate-version"], env!("CARGO_PKG_VERSION"));
    let body: serde_json::Value = answer.json().await.unwrap();
    assert_eq!(body["code"], "SDK_UNSUPPORTED");
    assert!(body["message"].as_str().unwrap().ends_with("upgrade it to 0.3.0 or later"), "{body}");
}

/// The Rust SDK: its requests say `rust/VERSION`; the warning reaches its
/// log (tracing) once; below the minimum its calls fail naming the version.
#[tokio::test]
async fn the_rust_sdk_says_its_version_logs_a_deprecation_once_and_is_refused_below_the_minimum() {
    use std::sync::{Arc, Mutex};
    #[derive(Clone, Default)]
    struct Log(Arc<Mutex<Vec<u8>>>);
    impl std::io::Write for Log {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let log = Log::default();
    let writer = log.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_env_filter("mandate_sdk=warn")
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    let t = server_with(true, false).await;
    let client = mandate::sdk::Client::new(&t.url(""), AGENT).unwrap();
    for _ in 0..3 {
        client.whoami().await.unwrap();
    }
    let text = String::from_utf8(log.0.lock().unwrap().clone()).unwrap();
    let said = format!("rust SDK {} is deprecated", env!("CARGO_PKG_VERSION"));
    assert_eq!(text.matches(&said).count(), 1, "logged once, for three calls:\n{text}");
    assert!(text.contains("upgrade it to 9.0.0 or later"), "{text}");

    let t = server_with(false, true).await;
    let client = mandate::sdk::Client::new(&t.url(""), AGENT).unwrap();
    let refused = client.whoami().await.unwrap_err().to_string();
    assert!(refused.contains("SDK_UNSUPPORTED") && refused.contains("upgrade it to 9.0.0 or later"), "{refused}");
}

#[tokio::test]
async fn the_python_sdk_says_its_version_logs_a_deprecation_once_and_is_refused_below_the_minimum() {
    let test = "the_python_sdk_says_its_version_logs_a_deprecation_once_and_is_refused_below_the_minimum";
    if common::skip_without("python3", which("python3"), test) {
        return;
    }
    let python = python().await;
    let script = r#"
import logging, sys
import mandate
logging.basicConfig(level=logging.WARNING, stream=sys.stdout, format="%(name)s %(levelname)s %(message)s")
client = mandate.Client(sys.argv[1], sys.argv[2])
try:
    for _ in range(3):
        client.whoami()
    print("served")
except mandate.ApiError as e:
    print(f"refused {e.code}: {e.message}")
"#;
    for (deprecated, refused) in [(true, false), (false, true)] {
        let t = server_with(deprecated, refused).await;
        let mut command = Command::new(&python);
        command.args(["-c", script, &t.url(""), AGENT]);
        let out = String::from_utf8(run(command).await.stdout).unwrap();
        if deprecated {
            let said = format!("mandate.client WARNING python SDK {PY_VERSION} is deprecated");
            assert_eq!(out.matches(&said).count(), 1, "logged once, for three calls:\n{out}");
            assert!(out.contains("upgrade it to 9.0.0 or later") && out.contains("served"), "{out}");
        } else {
            assert!(out.contains("refused SDK_UNSUPPORTED: python SDK 0.2.0 is older than this server"), "{out}");
            assert!(out.contains("upgrade it to 9.0.0 or later"), "{out}");
        }
    }
}

#[tokio::test]
async fn the_typescript_sdk_says_its_version_logs_a_deprecation_once_and_is_refused_below_the_minimum() {
    let test = "the_typescript_sdk_says_its_version_logs_a_deprecation_once_and_is_refused_below_the_minimum";
    if common::skip_without("node and npm", which("node") && which("npm"), test) {
        return;
    }
    let project = node_project().await;
    let script = r#"
import { Client, ApiError, setLogger } from "@mandate/sdk";
setLogger((event, fields) => console.log(`${event} ${fields.warning ?? ""}`));
const client = new Client({ baseUrl: process.argv[2], token: process.argv[3] });
try {
  for (let i = 0; i < 3; i++) await client.whoami();
  console.log("served");
} catch (e) {
  if (!(e instanceof ApiError)) throw e;
  console.log(`refused ${e.code}: ${e.detail}`);
}
"#;
    std::fs::write(project.join("versions.mjs"), script).unwrap();
    for (deprecated, refused) in [(true, false), (false, true)] {
        let t = server_with(deprecated, refused).await;
        let mut command = Command::new("node");
        command.args(["versions.mjs", &t.url(""), AGENT]).current_dir(&project);
        let out = String::from_utf8(run(command).await.stdout).unwrap();
        if deprecated {
            let said = format!("server_warning typescript SDK {PY_VERSION} is deprecated");
            assert_eq!(out.matches(&said).count(), 1, "logged once, for three calls:\n{out}");
            assert!(out.contains("upgrade it to 9.0.0 or later") && out.contains("served"), "{out}");
        } else {
            assert!(out.contains("refused SDK_UNSUPPORTED: typescript SDK 0.2.0 is older than this server"), "{out}");
        }
    }
}

/// `mandate --version` shows both sides: this binary's, and the server's
/// it is configured for, or why it could not say.
#[tokio::test]
async fn mandate_version_shows_this_binary_and_the_server() {
    let t = common::start(Db::Sqlite).await;
    let version = |api_url: &str| {
        let api_url = api_url.to_owned();
        tokio::task::spawn_blocking(move || {
            let out = Command::new(env!("CARGO_BIN_EXE_mandate"))
                .arg("--version")
                .env("MANDATE_API_URL", api_url)
                .env("XDG_CONFIG_HOME", "/nonexistent")
                .output()
                .unwrap();
            assert!(out.status.success());
            String::from_utf8(out.stdout).unwrap()
        })
    };
    let out = version(&t.url("")).await.unwrap();
    let this = env!("CARGO_PKG_VERSION");
    assert!(out.starts_with(&format!("mandate {this} (API v1)\nserves SDKs ")), "{out}");
    assert!(out.contains("(this release and the two before it)"), "{out}");
    assert!(out.contains(&format!("server {}: mandate {this} (API v1)", t.url(""))), "{out}");
    let dead = format!("http://127.0.0.1:{}", common::monitors::free_port());
    let out = version(&dead).await.unwrap();
    assert!(out.contains(&format!("server {dead}: not reached (")), "{out}");
}
