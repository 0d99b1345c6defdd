//! The real `mandate` binary: token management, `serve`, logs, signals.

use crate::common::{BIN, Served, create_token, serve_binary, signal};
use serde_json::{Value, json};
use std::process::Command;
use std::time::Duration;

fn mandate(args: &[&str]) -> std::process::Output {
    Command::new(BIN).args(args).env_remove("MANDATE_TOKENS_FILE").output().unwrap()
}

fn serve(dir: &std::path::Path, tokens: &str) -> Served {
    serve_binary(&format!("sqlite://{}", dir.join("db/mandate.db").display()), tokens, "127.0.0.1:0")
}

#[test]
fn help_is_complete() {
    let out = mandate(&["--help"]);
    let text = String::from_utf8(out.stdout).unwrap();
    for needle in ["serve", "token", "Usage: mandate"] {
        assert!(text.contains(needle), "{needle} in:\n{text}");
    }
    let serve = String::from_utf8(mandate(&["serve", "--help"]).stdout).unwrap();
    for needle in [
        "--listen",
        "MANDATE_LISTEN",
        "127.0.0.1:7400",
        "--database-url",
        "MANDATE_DATABASE_URL",
        "--tokens-file",
        "MANDATE_TOKENS_FILE",
    ] {
        assert!(serve.contains(needle), "{needle} in:\n{serve}");
    }
}

#[test]
fn a_bad_database_url_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens.toml");
    let out = Command::new(BIN)
        .args(["serve", "--listen", "127.0.0.1:0", "--database-url", "mysql://root:hunter2@db/x", "--tokens-file"])
        .arg(&tokens)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(stderr.contains("unsupported database URL") && !stderr.contains("hunter2"), "{stderr}");
}

#[tokio::test]
async fn serve_authenticates_logs_without_tokens_and_reloads_on_sighup() {
    let dir = tempfile::tempdir().unwrap();
    let tokens = dir.path().join("tokens.toml");
    let tokens = tokens.to_str().unwrap();
    let agent = create_token(tokens, "fleet", "agent");
    let viewer = create_token(tokens, "victor", "viewer");
    assert!(!std::fs::read_to_string(tokens).unwrap().contains(&agent));
    let dup = mandate(&["token", "create", "--name", "fleet", "--role", "admin", "--tokens-file", tokens]);
    assert!(!dup.status.success());

    let mut served = serve(dir.path(), tokens);
    let http = mandate::sdk::http_client_builder().build().unwrap();
    let base = format!("http://{}", served.addr);
    let run = json!({"goal": "g", "agent_id": "legacy-unknown", "actor_type": "SYSTEM", "origin_system_id": "o",
                     "source": "SDK", "provider_type": "p", "risk_level": "low"});
    let rejected = http.post(format!("{base}/api/v1/runs")).bearer_auth(&agent).json(&run).send().await.unwrap();
    assert_eq!(rejected.status(), 400);
    let whoami: Value =
        http.get(format!("{base}/api/v1/whoami")).bearer_auth(&viewer).send().await.unwrap().json().await.unwrap();
    assert_eq!(whoami, json!({"name": "victor", "role": "viewer"}));
    // No routing file, so no receivers: ready (once the paging worker has
    // made its first pass, which a loaded machine may delay), and saying
    // nobody is woken.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    let ready: Value = loop {
        let answer = http.get(format!("{base}/readyz")).send().await.unwrap();
        let ok = answer.status().is_success();
        let body: Value = answer.json().await.unwrap();
        if ok || std::time::Instant::now() > deadline {
            break body;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert_eq!(ready["paging"]["warning"], "no receivers — nobody is woken", "{ready}");
    assert_eq!(ready["paging"]["receivers"], json!([]));
    let feed: Value =
        http.get(format!("{base}/api/v1/incidents")).bearer_auth(&viewer).send().await.unwrap().json().await.unwrap();
    assert_eq!(feed["paging"]["receivers"], json!([]), "every console is told: {feed}");
    assert!(feed["paging"]["dead_last_day"].is_i64(), "{feed}");

    // The weekly rollout status on demand, from the live figures.
    let token_file = dir.path().join("viewer.token");
    std::fs::write(&token_file, &viewer).unwrap();
    let no_config = dir.path().join("empty-config.toml");
    std::fs::write(&no_config, "").unwrap();
    let report_args = |api: &str| {
        vec![
            "attribution".to_owned(),
            "report".to_owned(),
            "--api-url".to_owned(),
            api.to_owned(),
            "--token-file".to_owned(),
            token_file.display().to_string(),
            "--config".to_owned(),
            no_config.display().to_string(),
        ]
    };
    let args = report_args(&base);
    let out = Command::new(BIN).args(&args).env_remove("MANDATE_TOKEN").output().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert!(text.starts_with("**Subject:** Attribution Enforcement — Weekly Status Update "), "{text}");
    assert!(text.contains("**Rollout Status: Hard fail**") && text.contains("| o | Violations |"), "{text}");
    let args = report_args("http://127.0.0.1:9");
    let dead = Command::new(BIN).args(&args).env_remove("MANDATE_TOKEN").output().unwrap();
    assert!(!dead.status.success());
    assert!(String::from_utf8_lossy(&dead.stderr).contains("cannot reach the API: http://127.0.0.1:9"));

    // Revoke the viewer; SIGHUP makes the running server forget it.
    assert!(mandate(&["token", "revoke", "--name", "victor", "--tokens-file", tokens]).status.success());
    signal(&served.child, "HUP");
    let mut status = 0;
    for _ in 0..50 {
        status = http.get(format!("{base}/api/v1/whoami")).bearer_auth(&viewer).send().await.unwrap().status().as_u16();
        if status == 401 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(status, 401, "a revoked token stops working after SIGHUP");

    signal(&served.child, "TERM");
    let exit = served.child.wait().unwrap();
    assert!(exit.success(), "SIGTERM is a clean shutdown: {exit:?}");
    let log = served.log.lock().unwrap().join("\n");
    assert!(log.contains("attribution_validation_failed"), "the rejection is logged:\n{log}");
    let warning = log.lines().find(|l| l.contains("no paging receivers")).unwrap_or_else(|| panic!("{log}"));
    assert!(warning.contains("WARN") && warning.contains("[channel.webhook]"), "names the setting: {warning}");
    assert!(log.contains("\"principal\":\"fleet\""), "requests are attributed in the log:\n{log}");
    for secret in [&agent, &viewer] {
        assert!(!log.contains(secret.as_str()), "a token reached the log");
    }
    let list = String::from_utf8(mandate(&["token", "list", "--tokens-file", tokens]).stdout).unwrap();
    assert!(list.contains("fleet") && !list.contains("victor") && !list.contains(&agent), "{list}");
}

#[test]
fn a_server_named_without_a_token_is_said_as_such() {
    let home = tempfile::tempdir().unwrap();
    let out = Command::new(BIN)
        .args(["--api-url", "http://127.0.0.1:9"])
        .env_remove("MANDATE_TOKEN")
        .env_remove("MANDATE_API_URL")
        .env("XDG_CONFIG_HOME", home.path())
        .env("HOME", home.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(said.starts_with("mandate: no token for http://127.0.0.1:9."), "{said}");
    assert!(!said.contains("no API configured"), "{said}");
}

#[test]
fn completions_and_the_man_page_come_from_the_cli_definition() {
    for shell in ["bash", "zsh", "fish"] {
        let out = mandate(&["completions", shell]);
        assert!(out.status.success(), "{shell}");
        let text = String::from_utf8(out.stdout).unwrap();
        for sub in ["serve", "demo", "sim", "token"] {
            assert!(text.contains(sub), "{shell} completion lacks {sub}");
        }
    }
    let out = mandate(&["completions", "tcsh"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("invalid value 'tcsh'"));
    let out = mandate(&["man"]);
    assert!(out.status.success());
    let page = String::from_utf8(out.stdout).unwrap();
    assert!(page.starts_with(".ie \\n(.g .ds Aq") || page.contains(".TH mandate"), "{}", &page[..200.min(page.len())]);
    assert!(page.contains("demo") && page.contains("Incident console"), "the subcommands and the about text");
}

#[test]
fn sim_refuses_a_bad_speed_and_a_dead_api_clearly() {
    let out = mandate(&["sim", "--token", "x", "--speed", "0"]);
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("is not a number above 0"), "{out:?}");
    let out = mandate(&["sim", "--api", "http://127.0.0.1:9", "--token", "x", "--rounds", "1"]);
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("cannot reach the Mandate API"), "{err}");
}

#[test]
fn routing_check_names_the_path_of_an_error_and_the_defaults_pass_it() {
    let dir = tempfile::tempdir().unwrap();
    let defaults = mandate(&["routing", "defaults"]);
    assert!(defaults.status.success());
    let file = dir.path().join("routing.toml");
    std::fs::write(&file, &defaults.stdout).unwrap();
    let ok = mandate(&["routing", "check", file.to_str().unwrap()]);
    let out = String::from_utf8_lossy(&ok.stdout);
    assert!(ok.status.success() && out.contains("4 levels (primary → secondary → management → executive)"), "{out}");
    let bad = dir.path().join("bad.toml");
    std::fs::write(
        &bad,
        "[[level]]\nname = \"a\"\ntargets = [\"resource.owner\"]\n[[rule]]\nname = \"r\"\nmax_level = \"z\"\n",
    )
    .unwrap();
    let refused = mandate(&["routing", "check", bad.to_str().unwrap()]);
    let err = String::from_utf8_lossy(&refused.stderr);
    assert_eq!(refused.status.code(), Some(1));
    assert!(err.contains("rule[0].max_level") && err.contains("no level is named \"z\""), "{err}");
}
