//! The audit log refuses UPDATE and DELETE in the database itself, and
//! `mandate audit verify` names the first entry that breaks after tampering.

use crate::common::{self, Db, RESPONDER, as_alice, event_body, start};
use serde_json::json;
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_mandate");

async fn write_some_history(t: &common::TestServer) {
    let mut e = event_body("e", -1.0, "deployer", "deploy", "payments-service", "error");
    e["error_code"] = "E".into();
    t.post(common::AGENT, "/api/v1/events", &e).await.succeeded();
    for kind in ["acknowledge", "escalate", "flag_for_review"] {
        let answer = t.post(RESPONDER, "/api/v1/incidents/1/interventions", &as_alice(json!({ "kind": kind }))).await;
        assert_eq!(answer.status, 200, "{kind}: {:?}", answer.body);
    }
}

async fn the_database_refuses_edits(db: Db) {
    let t = start(db).await;
    write_some_history(&t).await;
    let pool = t.server.state.store().pool().clone();
    for sql in ["UPDATE audit_log SET actor = 'mallory' WHERE seq = 2", "DELETE FROM audit_log WHERE seq = 2"] {
        let err = sqlx::query(sql).execute(&pool).await.unwrap_err().to_string();
        assert!(err.contains("append-only"), "{db:?} {sql}: {err}");
    }
    t.stop().await;
}

on_both_databases!(the_database_refuses_edits);

#[tokio::test]
async fn verify_names_the_first_tampered_entry() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("audit.db").display());
    {
        let store = mandate::store::Store::connect(&url).await.unwrap();
        let server = mandate::server::start(store, common::tokens(), "127.0.0.1:0".parse().unwrap()).await.unwrap();
        let t = common::TestServer::wrap(server);
        write_some_history(&t).await;
        t.stop().await;
    }
    let verify = || Command::new(BIN).args(["audit", "verify", "--database-url", &url]).output().unwrap();
    let intact = verify();
    assert!(intact.status.success(), "{}", String::from_utf8_lossy(&intact.stderr));
    assert_eq!(
        String::from_utf8_lossy(&intact.stdout).trim(),
        "audit log intact: 4 entries verified\nevents intact: 1 links and 1 anchors verified\n\
         runs intact: 0 records and 0 runs verified\n\
         identifiers clean: none holds a control, invisible, bidi or private-use character"
    );

    // Someone with database access drops the guard and rewrites history.
    let store = mandate::store::Store::connect(&url).await.unwrap();
    sqlx::query("DROP TRIGGER trg_audit_log_no_update").execute(store.pool()).await.unwrap();
    sqlx::query("UPDATE audit_log SET actor = 'mallory' WHERE seq = 2").execute(store.pool()).await.unwrap();
    store.close().await;
    let broken = verify();
    assert!(!broken.status.success());
    let stderr = String::from_utf8_lossy(&broken.stderr);
    assert!(stderr.contains("broken at entry 2") && stderr.contains("changed after it was written"), "{stderr}");
}
