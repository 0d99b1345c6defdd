//! `mandate migrate status | up | down | verify` and `mandate serve
//! --no-migrate`, on both databases, as an operator runs them: a dry run
//! applies nothing and says what each statement locks, `up` applies, every
//! migration's down step brings back exactly the schema before it, `down`
//! refuses to drop data unless forced and the chains verify after an
//! up-down-up cycle, a schema a newer binary migrated is served only when
//! what it added is expand migrations, and a migration killed half-way is
//! named by `status` and finished by the next `up` or `down`.

use crate::common::{self, Db};

/// A database no server has touched.
async fn fresh(db: Db) -> (String, Option<tempfile::TempDir>) {
    match db {
        Db::Sqlite => {
            let dir = tempfile::tempdir().unwrap();
            (format!("sqlite://{}", dir.path().join("m.db").display()), Some(dir))
        }
        Db::Postgres => {
            let admin_url = std::env::var("MANDATE_TEST_PG_URL").unwrap();
            sqlx::any::install_default_drivers();
            let name = format!("mandate_m_{}", uuid::Uuid::new_v4().simple());
            let admin = sqlx::AnyPool::connect(&admin_url).await.unwrap();
            sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}"))).execute(&admin).await.unwrap();
            admin.close().await;
            (format!("{}/{name}", admin_url.rsplit_once('/').unwrap().0), None)
        }
    }
}

async fn migrate(args: &[&str], url: &str) -> (bool, String, String) {
    let mut all: Vec<&str> = vec!["migrate"];
    all.extend(args);
    all.extend(["--database-url", url]);
    let out = common::mandate_cli(&all).await;
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

async fn status_dry_run_up_and_a_newer_schema(db: Db) {
    let (url, _dir) = fresh(db).await;
    let (ok, out, _) = migrate(&["status"], &url).await;
    assert!(ok, "{out}");
    assert!(out.contains("schema at 0000; 0 of this binary's 24 migrations applied, 24 pending"), "{out}");
    assert!(out.contains("  pending  0024 servers              expand"), "{out}");

    let (ok, out, _) = migrate(&["up", "--dry-run"], &url).await;
    assert!(ok, "{out}");
    assert!(out.contains("-- 0001 runs") && out.contains("CREATE TABLE runs"), "the SQL is printed");
    assert!(out.contains("-- locks:"), "{out}");
    if db == Db::Postgres {
        assert!(out.contains("none on existing tables (a new table)"), "{out}");
    }
    assert!(out.trim_end().ends_with("Nothing was applied (--dry-run)."), "{out}");
    let (_, out, _) = migrate(&["status"], &url).await;
    assert!(out.contains("0 of this binary's 24 migrations applied"), "a dry run applies nothing: {out}");

    let (ok, out, err) = migrate(&["up"], &url).await;
    assert!(ok, "{out}{err}");
    assert!(out.contains("Applied 24 migrations."), "{out}");
    let (ok, out, _) = migrate(&["status"], &url).await;
    assert!(ok && out.contains("24 of this binary's 24 migrations applied, 0 pending"), "{out}");
    assert!(out.contains("This binary serves this schema as it is."), "{out}");
    let (ok, out, _) = migrate(&["up"], &url).await;
    assert!(ok && out.contains("Nothing to apply."), "{out}");

    let (ok, out, err) = migrate(&["verify"], &url).await;
    assert!(ok, "{out}{err}");
    assert!(out.contains("schema as this binary expects: 24 migrations, none altered, none newer"), "{out}");
    assert!(out.contains("audit log intact") && out.contains("events intact"), "the chains are verified too: {out}");

    // A migration applied from other SQL than this binary's: said.
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&url).await.unwrap();
    let checksum = if db == Db::Sqlite { "X'00'" } else { "'\\x00'::bytea" };
    let sql = format!("UPDATE _sqlx_migrations SET checksum = {checksum} WHERE version = 5");
    sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&pool).await.unwrap();
    let (ok, out, err) = migrate(&["verify"], &url).await;
    assert!(!ok, "{out}");
    assert!(out.contains("ALTERED  0005 paging"), "{out}");
    assert!(err.contains("applied from other SQL than this binary's") && err.contains("0005 paging"), "{err}");

    // A newer binary migrated it: said, and refused for serving.
    let success = if db == Db::Sqlite { "1" } else { "true" };
    let sql = format!(
        "INSERT INTO _sqlx_migrations (version, description, installed_on, success, checksum, execution_time) \
         VALUES (999, 'from the future', CURRENT_TIMESTAMP, {success}, {checksum}, 0)"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql)).execute(&pool).await.unwrap();
    pool.close().await;
    let (ok, out, err) = migrate(&["status"], &url).await;
    assert!(!ok, "{out}");
    assert!(out.contains("NEWER    0999 from the future      phase not recorded"), "{out}");
    assert!(
        err.contains(
            "this binary cannot serve this schema: a newer release applied 0999 from the future (phase not recorded)"
        ),
        "{err}"
    );
    assert!(err.contains("`mandate migrate down --to 998`"), "{err}");
    // Recorded as an expand migration, it is served.
    let pool = sqlx::AnyPool::connect(&url).await.unwrap();
    sqlx::query("INSERT INTO mandate_schema (version, description, phase, down_sql) VALUES (999, 'from the future', 'expand', 'SELECT 1;')")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;
    let (ok, out, err) = migrate(&["status"], &url).await;
    assert!(ok, "{out}{err}");
    assert!(out.contains("NEWER    0999 from the future      expand"), "{out}");
    assert!(
        out.contains("This binary serves this schema: what a newer release added is only expand migrations"),
        "{out}"
    );
    // And this binary undoes it from the database's record of its down step.
    let (ok, out, err) = migrate(&["down", "--to", "24"], &url).await;
    assert!(ok, "{out}{err}");
    assert!(out.contains("Undid 0999 from the future"), "{out}");
    let (ok, out, _) = migrate(&["verify"], &url).await;
    assert!(!ok && out.contains("schema at 0024"), "{out}");
}

crate::on_both_databases!(status_dry_run_up_and_a_newer_schema);

/// `serve --no-migrate` refuses a pending migration, naming it, and starts
/// once `migrate up` applied it.
#[tokio::test]
async fn serve_no_migrate_refuses_a_pending_migration() {
    let (url, dir) = fresh(Db::Sqlite).await;
    let dir = dir.unwrap();
    let tokens = dir.path().join("tokens.toml").display().to_string();
    common::create_token(&tokens, "alice", "responder");
    let out = common::mandate_cli(&[
        "serve",
        "--no-migrate",
        "--listen",
        "127.0.0.1:0",
        "--database-url",
        &url,
        "--tokens-file",
        &tokens,
    ])
    .await;
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("24 pending migration(s) (0001 runs,"), "{err}");
    assert!(err.contains("mandate migrate up"), "{err}");
    let (ok, _, _) = migrate(&["up"], &url).await;
    assert!(ok);
    let served = common::serve_binary_with(&url, &tokens, "127.0.0.1:0", &["--no-migrate"]);
    assert!(!served.addr.is_empty());
    assert!(served.stop().success());
}

/// The schema as the database describes it (the migration ledger aside),
/// one line per column, index, constraint, trigger, function and view.
async fn shape(url: &str, db: Db) -> Vec<String> {
    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(url).await.unwrap();
    let queries: &[&str] = match db {
        Db::Sqlite => &[
            "SELECT m.name || '.' || p.name || ' ' || p.type || ' notnull=' || p.\"notnull\" || ' default=' \
             || coalesce(p.dflt_value, '') || ' pk=' || p.pk FROM sqlite_master m JOIN pragma_table_info(m.name) p \
             WHERE m.type = 'table'",
            "SELECT type || ' ' || name || ' on ' || tbl_name || ': ' || coalesce(sql, '') FROM sqlite_master \
             WHERE type <> 'table'",
        ],
        Db::Postgres => &[
            "SELECT table_name || '.' || column_name || ' ' || data_type || ' nullable=' || is_nullable || ' default=' \
             || coalesce(column_default, '') || ' identity=' || is_identity FROM information_schema.columns \
             WHERE table_schema = 'public'",
            "SELECT indexdef FROM pg_indexes WHERE schemaname = 'public'",
            "SELECT conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(oid) FROM pg_constraint \
             WHERE connamespace = 'public'::regnamespace",
            "SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE NOT tgisinternal",
            "SELECT proname || ': ' || prosrc FROM pg_proc WHERE pronamespace = 'public'::regnamespace",
            "SELECT viewname || ': ' || definition FROM pg_views WHERE schemaname = 'public'",
        ],
    };
    let mut lines = Vec::new();
    for sql in queries {
        let rows: Vec<String> = sqlx::query_scalar(*sql).fetch_all(&pool).await.unwrap();
        lines.extend(
            rows.into_iter()
                .filter(|l| !l.contains("_sqlx_migrations") && !l.contains("mandate_schema") && !l.contains("sqlite_"))
                .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ")),
        );
    }
    pool.close().await;
    lines.sort();
    lines
}

/// Every migration's down step brings back exactly the schema before it,
/// on both databases: applied one by one, then undone one by one to
/// nothing, then applied again.
async fn every_down_step_restores_the_schema_before_its_migration(db: Db) {
    use mandate::store::Store;
    let (url, _dir) = fresh(db).await;
    let last = mandate::store::migration_steps(mandate::store::Backend::Sqlite).len() as i64;
    Store::migrate_up(&url, Some(0), |_| {}).await.unwrap();
    let mut shapes = vec![shape(&url, db).await];
    assert!(shapes[0].is_empty(), "nothing but the ledger at 0000: {:#?}", shapes[0]);
    for version in 1..=last {
        Store::migrate_up(&url, Some(version), |_| {}).await.unwrap();
        shapes.push(shape(&url, db).await);
        assert_ne!(shapes[version as usize], shapes[version as usize - 1], "{version:04} changes the schema");
    }
    for version in (0..last).rev() {
        let plan = Store::migrate_down(&url, version, false, false, |_| {}).await.unwrap();
        assert_eq!(plan.len(), 1);
        let now = shape(&url, db).await;
        let before = &shapes[version as usize];
        let extra: Vec<_> = now.iter().filter(|l| !before.contains(l)).collect();
        let missing: Vec<_> = before.iter().filter(|l| !now.contains(l)).collect();
        assert!(
            extra.is_empty() && missing.is_empty(),
            "undoing {:04} left {extra:#?}\nand did not bring back {missing:#?}",
            version + 1
        );
    }
    Store::migrate_up(&url, None, |_| {}).await.unwrap();
    assert_eq!(shape(&url, db).await, shapes[last as usize], "up again: the same schema");
}

crate::on_both_databases!(every_down_step_restores_the_schema_before_its_migration);

/// A database a real server wrote to: `down` refuses to drop what up cannot
/// bring back and changes nothing; a lossless down and up again leave the
/// append-only rules in force and the audit log, events and runs verifying.
async fn down_keeps_data_unless_forced_and_the_chains_survive_up_down_up(db: Db) {
    let (url, dir) = fresh(db).await;
    let dir = dir.unwrap_or_else(|| tempfile::tempdir().unwrap());
    let tokens = dir.path().join("tokens.toml").display().to_string();
    let admin = common::create_token(&tokens, "root", "admin");
    let agent = common::create_token(&tokens, "fleet", "agent");
    let alice = common::create_token(&tokens, "alice", "responder");
    let served = common::serve_binary(&url, &tokens, "127.0.0.1:0");
    let http = mandate::sdk::http_client_builder().build().unwrap();
    let base = format!("http://{}", served.addr);
    let post = |token: &str, path: &str, body: serde_json::Value| {
        http.post(format!("{base}{path}")).bearer_auth(token.to_owned()).json(&body).send()
    };
    let catalog = http.put(format!("{base}/api/v1/catalog")).bearer_auth(&admin).json(&common::seed_catalog());
    assert!(catalog.send().await.unwrap().status().is_success());
    assert!(post(&agent, "/api/v1/runs", common::run_body()).await.unwrap().status().is_success());
    for (i, outcome) in ["ok", "error", "error"].iter().enumerate() {
        let body = common::event_body(&format!("e{i}"), -(i as f64), "deployer", "deploy", "payments-service", outcome);
        assert!(post(&agent, "/api/v1/events", body).await.unwrap().status().is_success());
    }
    let body = common::as_alice(serde_json::json!({"kind": "acknowledge"}));
    assert!(post(&alice, "/api/v1/incidents/1/interventions", body).await.unwrap().status().is_success());
    let (_, out, _) = migrate(&["status"], &url).await;
    let running = "1 server is serving this database:\n  mandate serve on ";
    assert!(out.contains(running), "the server running is listed: {out}");
    assert!(out.contains(&format!(": mandate {} (API v1), seen ", env!("CARGO_PKG_VERSION"))), "{out}");
    assert!(served.stop().success());
    let (_, out, _) = migrate(&["status"], &url).await;
    assert!(out.contains("No server is serving this database"), "a stopped server leaves the list: {out}");

    let (ok, out, err) = migrate(&["down", "--to", "13"], &url).await;
    assert!(!ok, "{out}");
    assert!(err.contains("would drop data that going up again cannot bring back, so nothing was changed"), "{err}");
    assert!(err.contains("0014 run records: 1 row(s) of run_records"), "{err}");
    assert!(err.contains("--force"), "{err}");
    let (_, out, _) = migrate(&["status"], &url).await;
    assert!(out.contains("schema at 0024"), "nothing was undone: {out}");

    let (ok, out, _) = migrate(&["down", "--to", "13", "--dry-run"], &url).await;
    assert!(ok, "{out}");
    assert!(out.contains("-- undo 0014 run records") && out.contains("DROP TABLE run_records"), "{out}");
    assert!(out.contains("-- DROPS 1 row(s) of run_records"), "{out}");
    assert!(out.contains("Nothing was changed (--dry-run)."), "{out}");

    let (ok, out, err) = migrate(&["down", "--to", "20"], &url).await;
    assert!(ok, "nothing is lost undoing 0021-0023 here: {out}{err}");
    assert!(out.contains("Undid 0023 degradations") && out.contains("The schema is at 0020"), "{out}");
    let (ok, out, err) = migrate(&["up"], &url).await;
    assert!(ok, "{out}{err}");
    let (ok, out, err) = migrate(&["verify"], &url).await;
    assert!(ok, "{out}{err}");
    assert!(out.contains("audit log intact") && out.contains("events intact"), "{out}");

    sqlx::any::install_default_drivers();
    let pool = sqlx::AnyPool::connect(&url).await.unwrap();
    for sql in ["UPDATE events SET tool = 'rewritten'", "DELETE FROM audit_log", "DELETE FROM runs"] {
        let refused = sqlx::query(sql).execute(&pool).await;
        assert!(refused.is_err(), "the append-only rules survive the cycle: {sql}");
    }
    pool.close().await;
}

crate::on_both_databases!(down_keeps_data_unless_forced_and_the_chains_survive_up_down_up);

/// A migration killed half-way (blocked on a lock another session holds,
/// then SIGKILLed): `status` names it, and that nothing of it is applied;
/// the next `down` or `up` finishes it.
#[tokio::test]
async fn a_migration_killed_half_way_is_named_and_finished() {
    if common::skip_postgres("a_migration_killed_half_way_is_named_and_finished") {
        return;
    }
    let (url, _) = fresh(Db::Postgres).await;
    let (ok, _, err) = migrate(&["up"], &url).await;
    assert!(ok, "{err}");
    let pool = sqlx::AnyPool::connect(&url).await.unwrap();

    // Undoing 0023 goes through; undoing 0022 waits on `approvals`.
    let mut holder = pool.begin().await.unwrap();
    sqlx::query("LOCK TABLE approvals IN ACCESS SHARE MODE").execute(&mut *holder).await.unwrap();
    let killed = run_until_waiting(&pool, &["down", "--to", "21"], &url).await;
    holder.rollback().await.unwrap();
    assert!(!killed.success());
    let (ok, out, err) = migrate(&["status"], &url).await;
    assert!(ok, "{out}{err}");
    assert!(out.contains("schema at 0022"), "0023 was undone before the kill: {out}");
    assert!(
        out.contains("INTERRUPTED 0022 approvals: `down` began")
            && out.contains("did not finish. It ran in one transaction, so the database undid all of it")
            && out.contains("`mandate migrate down` undoes it."),
        "{out}"
    );
    let (ok, out, err) = migrate(&["down", "--to", "21"], &url).await;
    assert!(ok, "{out}{err}");
    let (_, out, _) = migrate(&["status"], &url).await;
    assert!(out.contains("schema at 0021") && !out.contains("INTERRUPTED"), "{out}");

    // Applying 0022 creates `approvals`, then waits on `events` for its index.
    let mut holder = pool.begin().await.unwrap();
    sqlx::query("LOCK TABLE events IN ROW EXCLUSIVE MODE").execute(&mut *holder).await.unwrap();
    let killed = run_until_waiting(&pool, &["up"], &url).await;
    holder.rollback().await.unwrap();
    assert!(!killed.success());
    let (ok, out, err) = migrate(&["status"], &url).await;
    assert!(ok, "{out}{err}");
    assert!(out.contains("INTERRUPTED 0022 approvals: `up` began") && out.contains("pending  0022 approvals"), "{out}");
    let tables: i64 =
        sqlx::query_scalar("SELECT COUNT(*) FROM information_schema.tables WHERE table_name = 'approvals'")
            .fetch_one(&pool)
            .await
            .unwrap();
    assert_eq!(tables, 0, "nothing of the killed migration is left half-applied");
    let (ok, out, err) = migrate(&["up"], &url).await;
    assert!(ok, "{out}{err}");
    let after = out.split_once("Applied 3 migrations.").map(|(_, after)| after).unwrap_or_default();
    assert!(out.contains("Applied 0022 approvals") && !after.contains("INTERRUPTED"), "{out}");
    let (ok, out, err) = migrate(&["verify"], &url).await;
    assert!(ok, "{out}{err}");
    pool.close().await;
}

/// Runs `mandate migrate ARGS`, waits until it waits on a lock, SIGKILLs it.
async fn run_until_waiting(pool: &sqlx::AnyPool, args: &[&str], url: &str) -> std::process::ExitStatus {
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_mandate"))
        .arg("migrate")
        .args(args)
        .args(["--database-url", url])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    loop {
        let waiting: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND datname = current_database()",
        )
        .fetch_one(pool)
        .await
        .unwrap();
        if waiting > 0 {
            break;
        }
        assert!(std::time::Instant::now() < deadline, "the migration never waited on the lock");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    child.kill().unwrap();
    child.wait().unwrap()
}
