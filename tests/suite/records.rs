//! The record: events chained by hash and anchored in the audit log,
//! `mandate audit verify` naming the first broken event, and retention
//! removing only what expired, with the chain still verifiable.

use crate::common::{self, ADMIN, AGENT, Db, RESPONDER, TestServer, VIEWER, event_body, run_body, tokens};
use mandate::desk::{Desk, DeskConfig, Retention};
use mandate::paging::Clock;
use mandate::store::{Backend, StoredEvent};
use serde_json::{Value, json};
use sqlx::FromRow;
use std::sync::Arc;

struct Record {
    t: TestServer,
    desk: Arc<Desk>,
    clock: Clock,
    url: String,
    _guard: common::StoreGuard,
}

async fn record(db: Db) -> Record {
    let guard = common::store(db).await;
    let clock = Clock::manual(chrono::Utc::now());
    let retention = Retention { every: std::time::Duration::from_secs(3600), ..Retention::default() };
    let config = DeskConfig { clock: clock.clone(), retention, ..DeskConfig::default() };
    let desk = Desk::open(guard.store.clone(), None, config).await.unwrap();
    let server = mandate::server::start_desk(desk.clone(), tokens(), "127.0.0.1:0".parse().unwrap()).await.unwrap();
    Record { t: TestServer::wrap(server), desk, clock, url: guard.url.clone(), _guard: guard }
}

impl Record {
    async fn post(&self, events: Vec<Value>) {
        let answer = self.t.post(AGENT, "/api/v1/events", &Value::Array(events)).await;
        assert_eq!(answer.status, 200, "{:?}", answer.body);
        assert!(answer.body["rejected"].as_array().unwrap().is_empty(), "{:?}", answer.body);
    }

    fn position(&self) -> &'static str {
        match self.desk.store().backend() {
            Backend::Sqlite => "rowid",
            Backend::Postgres => "stored_seq",
        }
    }

    /// Runs SQL as someone who bypasses the triggers (the database's owner).
    async fn tamper(&self, sql: &str) {
        let pool = sqlx::AnyPool::connect(&self.url).await.unwrap();
        let mut conn = pool.acquire().await.unwrap();
        match self.desk.store().backend() {
            Backend::Sqlite => {
                for trigger in ["trg_events_no_update", "trg_events_no_delete"] {
                    sqlx::query(sqlx::AssertSqlSafe(format!("DROP TRIGGER IF EXISTS {trigger}")))
                        .execute(&mut *conn)
                        .await
                        .unwrap();
                }
            }
            Backend::Postgres => {
                sqlx::query("ALTER TABLE events DISABLE TRIGGER trg_events_append_only")
                    .execute(&mut *conn)
                    .await
                    .unwrap();
            }
        }
        sqlx::query(sqlx::AssertSqlSafe(sql.to_owned())).execute(&mut *conn).await.unwrap();
        drop(conn);
        pool.close().await;
    }

    /// Runs SQL as the database's owner with every trigger in place.
    async fn raw(&self, sql: &str) -> Result<(), sqlx::Error> {
        let pool = sqlx::AnyPool::connect(&self.url).await.unwrap();
        let result = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned())).execute(&pool).await.map(|_| ());
        pool.close().await;
        result
    }

    /// `mandate audit verify` on this database: (exit code, stdout, stderr).
    /// Run off the test's runtime, which keeps serving meanwhile.
    async fn verify_cli(&self) -> (i32, String, String) {
        let out = common::mandate_cli(&["audit", "verify", "--database-url", &self.url]).await;
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

fn ok(id: &str, resource: &str) -> Value {
    event_body(id, -1.0, "agent-deployer", "deploy", resource, "ok")
}

async fn chained_events_verify_and_a_change_is_named(db: Db) {
    let r = record(db).await;
    r.post((1..=12).map(|i| ok(&format!("e-{i:02}"), "svc-a")).collect()).await;
    r.post(vec![ok("e-13", "svc-b"), ok("e-14", "svc-b")]).await;
    let status = r.desk.store().verify_events(|_| {}).await.unwrap();
    assert!(status.verified, "{status:?}");
    assert_eq!((status.events_checked, status.unchained), (14, 0));
    let (code, out, err) = r.verify_cli().await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("events intact: 14 links"), "{out}");

    // Someone with the database's keys rewrites who did it.
    r.tamper("UPDATE events SET agent_id = 'agent-innocent' WHERE event_id = 'e-07'").await;
    let status = r.desk.store().verify_events(|_| {}).await.unwrap();
    assert!(!status.verified);
    assert_eq!(status.first_broken_event.as_deref(), Some("e-07"), "{status:?}");
    assert_eq!(status.events_checked, 6, "the six before it hold");
    let (code, out, err) = r.verify_cli().await;
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("events broken at event e-07"), "{err}");
    assert!(out.contains("audit log intact"), "the audit log itself was not touched: {out}");
}

async fn a_relinked_rewrite_or_a_removed_tail_disagrees_with_the_anchor(db: Db) {
    let r = record(db).await;
    r.post((1..=6).map(|i| ok(&format!("a-{i}"), "svc-a")).collect()).await;
    let pass = r.desk.keep_records().await.unwrap();
    let anchor = pass.anchor.expect("the chain's head is anchored");
    assert!(r.desk.keep_records().await.unwrap().anchor.is_none(), "nothing new: no second anchor");
    r.post(vec![ok("a-7", "svc-a"), ok("a-8", "svc-a")]).await;

    // The newest two are anchored, then removed: every link left holds,
    // the anchor names an event that is gone.
    let later = r.desk.keep_records().await.unwrap().anchor.expect("a-8 anchored");
    assert!(later.position > anchor.position);
    let pos = r.position();
    r.tamper("DELETE FROM events WHERE event_id IN ('a-7', 'a-8')").await;
    let status = r.desk.store().verify_events(|_| {}).await.unwrap();
    assert!(!status.verified, "{status:?}");
    assert!(status.problem.as_deref().unwrap().contains("removed from the end"), "{status:?}");

    // A rewrite of a-3 with every later link recomputed: each link holds,
    // the anchor for a-6 does not.
    let r = record(db).await;
    r.post((1..=6).map(|i| ok(&format!("a-{i}"), "svc-a")).collect()).await;
    r.desk.keep_records().await.unwrap().anchor.expect("anchored");
    r.tamper("UPDATE events SET resource = 'svc-elsewhere' WHERE event_id = 'a-3'").await;
    let pool = sqlx::AnyPool::connect(&r.url).await.unwrap();
    let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {pos} AS position, chain_hash, event_id, agent_id, actor_type, actor_id, origin_system_id, run_id, \
         parent_event_id, action_type, tool, resource, scope, outcome, error_code, error_message, trace_id, seq, \
         occurred_at, received_at, metadata, flags, incident_id FROM events ORDER BY {pos}"
    )))
    .fetch_all(&pool)
    .await
    .unwrap();
    let mut prev = mandate::audit::GENESIS.to_owned();
    let mut relinked = Vec::new();
    for row in &rows {
        let event = StoredEvent::from_row(row).unwrap();
        prev = mandate::audit::event_link(&prev, &event.canonical());
        relinked.push(format!("UPDATE events SET chain_hash = '{prev}' WHERE event_id = '{}'", event.event_id()));
    }
    pool.close().await;
    for sql in relinked {
        r.tamper(&sql).await;
    }
    let status = r.desk.store().verify_events(|_| {}).await.unwrap();
    assert!(!status.verified, "{status:?}");
    assert_eq!(status.first_broken_event.as_deref(), Some("a-6"), "{status:?}");
    assert!(status.problem.as_deref().unwrap().contains("anchor"), "{status:?}");
}

async fn retention_prunes_what_expired_and_the_chain_still_verifies(db: Db) {
    let r = record(db).await;
    r.post((1..=5).map(|i| ok(&format!("old-{i}"), "svc-a")).collect()).await;
    // An incident still open: its evidence, and all after it, stays.
    let mut failing = event_body("open-1", -0.5, "agent-x", "tool_call", "svc-b", "error");
    failing["error_code"] = "E_TIMEOUT".into();
    r.post(vec![failing]).await;
    r.post((1..=3).map(|i| ok(&format!("late-{i}"), "svc-c")).collect()).await;
    let run = r.t.post(AGENT, "/api/v1/runs", &run_body()).await;
    let run_id = run.body["run_id"].as_str().unwrap().to_owned();
    let done = r.t.post(AGENT, &format!("/api/v1/runs/{run_id}/complete"), &json!({"status": "succeeded"})).await;
    assert_eq!(done.status, 200, "{:?}", done.body);
    let live = r.t.post(AGENT, "/api/v1/runs", &run_body()).await.body["run_id"].as_str().unwrap().to_owned();

    // Nothing expired yet: nothing removed, no audit row.
    let pass = r.desk.keep_records().await.unwrap();
    assert!(pass.pruned.is_empty(), "{:?}", pass.pruned);

    r.clock.advance(chrono::Duration::days(400));
    let pass = r.desk.keep_records().await.unwrap();
    assert_eq!(pass.pruned.events, 5, "the five before the open incident's event: {:?}", pass.pruned);
    assert_eq!(pass.pruned.runs, 1, "the finished run, not the live one: {:?}", pass.pruned);
    assert!(pass.pruned.anchor.is_some());
    let gone = r.t.get(ADMIN, &format!("/api/v1/runs/{run_id}")).await;
    assert_eq!(gone.status, 404, "{:?}", gone.body);
    assert_eq!(r.t.get(ADMIN, &format!("/api/v1/runs/{live}")).await.status, 200);

    // One audit row says what the prune removed, and the audit chain holds.
    let audit = r.t.get(ADMIN, "/api/v1/audit?limit=50").await;
    let prunes: Vec<&Value> =
        audit.body["entries"].as_array().unwrap().iter().filter(|e| e["action"] == "records_pruned").collect();
    assert_eq!(prunes.len(), 1, "{:?}", audit.body);
    assert_eq!(prunes[0]["details"]["events"], 5);
    assert_eq!(prunes[0]["actor"], "mandate records");

    // What is left verifies from the prune's anchor, and so does what comes next.
    r.post(vec![ok("after-1", "svc-d")]).await;
    let status = r.desk.store().verify_events(|_| {}).await.unwrap();
    assert!(status.verified, "{status:?}");
    assert_eq!(status.events_checked, 5, "open-1, three late ones and after-1");
    let (code, out, err) = r.verify_cli().await;
    assert_eq!(code, 0, "{out}{err}");

    // Outside the keeper, deleting is still refused.
    let pool = sqlx::AnyPool::connect(&r.url).await.unwrap();
    let refused = sqlx::query("DELETE FROM events WHERE event_id = 'late-1'").execute(&pool).await;
    assert!(refused.unwrap_err().to_string().contains("append-only"));
    let refused =
        sqlx::query(sqlx::AssertSqlSafe(format!("DELETE FROM runs WHERE run_id = '{live}'"))).execute(&pool).await;
    assert!(refused.unwrap_err().to_string().contains("append-only"));
    pool.close().await;
}

async fn who_looked_is_recorded_for_admins_and_expires(db: Db) {
    let r = record(db).await;
    let mut failing = event_body("f-1", -0.5, "agent-x", "tool_call", "svc-b", "error");
    failing["error_code"] = "E_TIMEOUT".into();
    let report = r.t.post(AGENT, "/api/v1/events", &failing).await;
    let incident = report.body["incidents"][0].as_i64().unwrap();
    let detail = format!("/api/v1/incidents/{incident}");
    for _ in 0..3 {
        assert_eq!(r.t.get(RESPONDER, &detail).await.status, 200);
    }
    assert_eq!(r.t.get(VIEWER, "/api/v1/audit").await.status, 200);
    assert_eq!(r.t.get(AGENT, "/api/v1/runs").await.status, 200);
    assert_eq!(r.t.get(VIEWER, "/api/v1/incidents/999999").await.status, 404);

    // Written off the request path: it shows within a moment.
    let mut entries = Vec::new();
    for _ in 0..100 {
        let page = r.t.get(ADMIN, "/api/v1/access-log").await;
        assert_eq!(page.status, 200, "{:?}", page.body);
        entries = page.body["entries"].as_array().unwrap().clone();
        if entries.len() >= 2 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let seen: Vec<(&str, &str, &str)> = entries
        .iter()
        .map(|e| (e["principal"].as_str().unwrap(), e["what"].as_str().unwrap(), e["target"].as_str().unwrap()))
        .collect();
    let target = format!("incident:{incident}");
    assert_eq!(
        seen,
        vec![("victor", "audit_log", "audit"), ("alice", "incident_detail", target.as_str())],
        "newest first; three reads in a minute are one row; agents and misses are not people looking"
    );
    let alice = r.t.get(ADMIN, "/api/v1/access-log?principal=alice").await;
    assert_eq!(alice.body["entries"].as_array().unwrap().len(), 1);
    let refused = r.t.get(RESPONDER, "/api/v1/access-log").await;
    assert_eq!(refused.status, 403, "admins only");
    let unknown = r.t.get(ADMIN, "/api/v1/access-log?who=alice").await;
    assert_eq!((unknown.status, unknown.body["code"].as_str()), (400, Some("UNKNOWN_PARAMETER")));

    // It has a retention of its own.
    r.clock.advance(chrono::Duration::days(366));
    let pass = r.desk.keep_records().await.unwrap();
    assert!(pass.pruned.access_log >= 2, "{:?}", pass.pruned);
    let page = r.t.get(ADMIN, "/api/v1/access-log?principal=alice").await;
    assert!(page.body["entries"].as_array().unwrap().is_empty(), "{:?}", page.body);
}

async fn an_event_forged_at_position_zero_or_below_is_refused_and_caught(db: Db) {
    let r = record(db).await;
    r.post((1..=3).map(|i| ok(&format!("p-{i}"), "svc-a")).collect()).await;
    let columns = "agent_id, actor_type, actor_id, origin_system_id, run_id, parent_event_id, action_type, tool, \
                   resource, scope, outcome, error_code, error_message, trace_id, seq, occurred_at, received_at, \
                   metadata, flags, incident_id";
    let (position, forge, unguard) = match r.desk.store().backend() {
        Backend::Sqlite => (
            -7,
            format!(
                "INSERT INTO events (rowid, event_id, {columns}) SELECT -7, 'forged', {columns} FROM events \
                 WHERE event_id = 'p-2'"
            ),
            "DROP TRIGGER trg_events_position_positive",
        ),
        Backend::Postgres => (
            0,
            format!(
                "INSERT INTO events (stored_seq, event_id, {columns}) OVERRIDING SYSTEM VALUE \
                 SELECT 0, 'forged', {columns} FROM events WHERE event_id = 'p-2'"
            ),
            "ALTER TABLE events DROP CONSTRAINT chk_events_stored_seq_positive",
        ),
    };
    let refused = r.raw(&forge).await.expect_err("the schema refuses a position at 0 or below");
    assert!(refused.to_string().contains("positions from 1") || refused.to_string().contains("stored_seq_positive"));

    // The database's owner drops the guard and forges the row anyway.
    r.tamper(unguard).await;
    r.tamper(&forge).await;
    let status = r.desk.store().verify_events(|_| {}).await.unwrap();
    assert!(!status.verified, "{status:?}");
    assert_eq!(status.first_broken_event.as_deref(), Some("forged"), "{status:?}");
    let problem = status.problem.unwrap();
    assert!(problem.contains(&format!("stored at #{position}, a position the server never writes")), "{problem}");
    let (code, out, err) = r.verify_cli().await;
    assert_eq!(code, 1, "{out}{err}");
    assert!(err.contains("events broken at event forged"), "{err}");
}

async fn removing_both_tails_disagrees_with_a_head_kept_outside(db: Db) {
    let r = record(db).await;
    r.post((1..=6).map(|i| ok(&format!("t-{i}"), "svc-a")).collect()).await;
    r.desk.keep_records().await.unwrap().anchor.expect("anchored");
    r.post(vec![ok("t-7", "svc-a"), ok("t-8", "svc-a")]).await;
    let last = r.desk.keep_records().await.unwrap().anchor.expect("t-8 anchored");

    // The operator appends the head to storage outside the database.
    let head = common::mandate_cli(&["audit", "head", "--database-url", &r.url]).await;
    assert!(head.status.success(), "{}", String::from_utf8_lossy(&head.stderr));
    let line = String::from_utf8(head.stdout).unwrap();
    let kept: Value = serde_json::from_str(line.trim()).unwrap();
    assert_eq!(kept["events"]["position"], last.position, "{line}");
    assert_eq!(kept["audit"]["seq"], last.audit_seq, "{line}");
    let dir = tempfile::tempdir().unwrap();
    let heads = dir.path().join("heads.jsonl");
    std::fs::write(&heads, &line).unwrap();

    // Both tails go: the newest events, and the audit entries from the
    // anchor that named them on.
    r.tamper("DELETE FROM events WHERE event_id IN ('t-7', 't-8')").await;
    let (drop_audit_guard, audit) = match r.desk.store().backend() {
        Backend::Sqlite => ("DROP TRIGGER trg_audit_log_no_delete", "audit_log"),
        Backend::Postgres => ("ALTER TABLE audit_log DISABLE TRIGGER trg_audit_log_append_only", "audit_log"),
    };
    r.tamper(drop_audit_guard).await;
    r.tamper(&format!("DELETE FROM {audit} WHERE seq >= {}", last.audit_seq)).await;

    // Each chain on its own still holds: that is the gap the head closes.
    let (code, out, err) = r.verify_cli().await;
    assert_eq!(code, 0, "both chains verify without the head: {out}{err}");
    let heads_arg = heads.display().to_string();
    let out = common::mandate_cli(&["audit", "verify", "--database-url", &r.url, "--expect-head", &heads_arg]).await;
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("against the heads kept outside"), "{err}");
    assert!(
        err.contains(&format!("names the audit entry #{}", last.audit_seq)) && err.contains("removed from the end"),
        "{err}"
    );
}

async fn a_server_anchors_the_chain_when_it_stops(db: Db) {
    let r = record(db).await;
    r.post((1..=3).map(|i| ok(&format!("s-{i}"), "svc-a")).collect()).await;
    let url = r.url.clone();
    r.t.stop().await;
    let pool = sqlx::AnyPool::connect(&url).await.unwrap();
    let action: String =
        sqlx::query_scalar("SELECT action FROM audit_log ORDER BY seq DESC LIMIT 1").fetch_one(&pool).await.unwrap();
    assert_eq!(action, "events_anchored", "nothing stored is left after the last anchor");
    pool.close().await;
}

/// Three runs: a person's, one completed, one still LIVE.
async fn three_runs(r: &Record) -> (String, String, String) {
    let human = r.t.post(AGENT, "/api/v1/runs", &common::as_alice(run_body())).await;
    assert_eq!(human.status, 201, "{}", human.body);
    let done = r.t.post(AGENT, "/api/v1/runs", &run_body()).await.body["run_id"].as_str().unwrap().to_owned();
    let completed = r.t.post(AGENT, &format!("/api/v1/runs/{done}/complete"), &json!({"status": "succeeded"})).await;
    assert_eq!(completed.status, 200, "{}", completed.body);
    let live = r.t.post(AGENT, "/api/v1/runs", &run_body()).await.body["run_id"].as_str().unwrap().to_owned();
    (human.body["run_id"].as_str().unwrap().to_owned(), done, live)
}

impl Record {
    /// Runs SQL on `runs` as its owner, with its user triggers off.
    async fn tamper_runs(&self, sql: &str) {
        let unguard: &[&str] = match self.desk.store().backend() {
            Backend::Sqlite => &[
                "DROP TRIGGER IF EXISTS trg_runs_attribution_immutable",
                "DROP TRIGGER IF EXISTS trg_runs_only_complete",
                "DROP TRIGGER IF EXISTS trg_runs_completion_final",
            ],
            Backend::Postgres => &["ALTER TABLE runs DISABLE TRIGGER USER"],
        };
        for statement in unguard {
            self.raw(statement).await.unwrap();
        }
        self.raw(sql).await.unwrap();
    }

    async fn broken_run(&self) -> (String, String) {
        let status = self.desk.store().verify_runs().await.unwrap();
        assert!(!status.verified, "{status:?}");
        let (code, out, err) = self.verify_cli().await;
        assert_eq!(code, 1, "{out}{err}");
        assert!(err.contains("runs broken at run"), "{err}");
        (status.first_broken_run.unwrap(), status.problem.unwrap())
    }
}

async fn runs_are_in_the_record_and_each_tamper_is_named(db: Db) {
    let r = record(db).await;
    let (human, done, _live) = three_runs(&r).await;
    let status = r.desk.store().verify_runs().await.unwrap();
    assert!(status.verified, "{status:?}");
    assert_eq!((status.records_checked, status.runs_checked, status.unrecorded), (4, 3, 0));
    let (code, out, err) = r.verify_cli().await;
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("runs intact: 4 records and 3 runs verified"), "{out}");

    // A person's run said to be someone else's.
    r.tamper_runs(&format!("UPDATE runs SET actor_id = 'mallory' WHERE run_id = '{human}'")).await;
    let (run, problem) = r.broken_run().await;
    assert_eq!(run, human);
    assert!(problem.contains("attribution, goal or kind was rewritten"), "{problem}");

    // A completed run removed through a retention grant the keeper never wrote.
    let r = record(db).await;
    let (_, done_2, _) = three_runs(&r).await;
    let grant = "INSERT INTO retention_grants (kind, through) VALUES ('runs', 99999999999999)";
    r.raw(grant).await.unwrap();
    r.raw(&format!("DELETE FROM runs WHERE run_id = '{done_2}'")).await.unwrap();
    r.raw("DELETE FROM retention_grants WHERE kind = 'runs'").await.unwrap();
    let (run, problem) = r.broken_run().await;
    assert_eq!(run, done_2);
    assert!(problem.contains("recorded and gone, and retention did not remove it"), "{problem}");

    // A LIVE run completed by SQL (the triggers allow the one change).
    let r = record(db).await;
    let (_, _, live) = three_runs(&r).await;
    r.raw(&format!(
        "UPDATE runs SET state = 'COMPLETED', status = 'succeeded', completed_at = 1 WHERE run_id = '{live}'"
    ))
    .await
    .unwrap();
    let (run, problem) = r.broken_run().await;
    assert_eq!(run, live);
    assert!(problem.contains("completed with no completion record"), "{problem}");

    // Retention's own removal passes: the finished run goes, the LIVE ones stay.
    let r = record(db).await;
    three_runs(&r).await;
    r.clock.advance(chrono::Duration::days(366));
    let pass = r.desk.keep_records().await.unwrap();
    assert_eq!(pass.pruned.runs, 1, "{:?}", pass.pruned);
    let status = r.desk.store().verify_runs().await.unwrap();
    assert!(status.verified, "{status:?}");
    assert_eq!((status.records_checked, status.runs_checked), (4, 2));
    drop(done);
}

async fn a_relinked_rewrite_of_the_runs_record_disagrees_with_its_anchor(db: Db) {
    let r = record(db).await;
    let (human, _, _) = three_runs(&r).await;
    r.desk.keep_records().await.unwrap();
    // The owner rewrites who the person was, in the row and in its record,
    // and links every record again from there.
    r.tamper_runs(&format!("UPDATE runs SET actor_id = 'mallory' WHERE run_id = '{human}'")).await;
    let unguard = match r.desk.store().backend() {
        Backend::Sqlite => "DROP TRIGGER trg_run_records_no_update",
        Backend::Postgres => "ALTER TABLE run_records DISABLE TRIGGER trg_run_records_append_only",
    };
    r.raw(unguard).await.unwrap();
    let pool = sqlx::AnyPool::connect(&r.url).await.unwrap();
    let rows: Vec<(i64, String, String)> =
        sqlx::query_as("SELECT position, kind, record FROM run_records ORDER BY position")
            .fetch_all(&pool)
            .await
            .unwrap();
    let mut prev = mandate::audit::GENESIS.to_owned();
    for (position, kind, record) in rows {
        let record = record.replace("\"alice\"", "\"mallory\"");
        prev = mandate::store::run_link(&prev, &kind, &record);
        sqlx::query("UPDATE run_records SET record = $1, chain_hash = $2 WHERE position = $3")
            .bind(&record)
            .bind(&prev)
            .bind(position)
            .execute(&pool)
            .await
            .unwrap();
    }
    pool.close().await;
    let (_, problem) = r.broken_run().await;
    assert!(problem.contains("differs from the anchor in audit entry"), "{problem}");
}

on_both_databases!(
    a_relinked_rewrite_of_the_runs_record_disagrees_with_its_anchor,
    runs_are_in_the_record_and_each_tamper_is_named,
    removing_both_tails_disagrees_with_a_head_kept_outside,
    a_server_anchors_the_chain_when_it_stops,
    an_event_forged_at_position_zero_or_below_is_refused_and_caught,
    who_looked_is_recorded_for_admins_and_expires,
    chained_events_verify_and_a_change_is_named,
    a_relinked_rewrite_or_a_removed_tail_disagrees_with_the_anchor,
    retention_prunes_what_expired_and_the_chain_still_verifies,
);
