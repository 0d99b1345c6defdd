//! `mandate migrate status` and `mandate migrate up [--dry-run]`, and
//! `mandate serve --no-migrate`, on both databases, as an operator runs them:
//! a dry run applies nothing and says what each statement locks, `up`
//! applies, a schema a newer binary migrated is said to be unservable, and a
//! server told not to migrate refuses to start on a pending migration.

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
    assert!(out.contains(": 0 of 23 migrations applied, 23 pending"), "{out}");
    assert!(out.contains("  pending  0023 degradations"), "{out}");

    let (ok, out, _) = migrate(&["up", "--dry-run"], &url).await;
    assert!(ok, "{out}");
    assert!(out.contains("-- 0001 runs") && out.contains("CREATE TABLE runs"), "the SQL is printed");
    assert!(out.contains("-- locks:"), "{out}");
    if db == Db::Postgres {
        assert!(out.contains("none on existing tables (a new table)"), "{out}");
    }
    assert!(out.trim_end().ends_with("Nothing was applied (--dry-run)."), "{out}");
    let (_, out, _) = migrate(&["status"], &url).await;
    assert!(out.contains("0 of 23 migrations applied"), "a dry run applies nothing: {out}");

    let (ok, out, err) = migrate(&["up"], &url).await;
    assert!(ok, "{out}{err}");
    assert!(out.contains("Applied 23 migrations."), "{out}");
    let (ok, out, _) = migrate(&["status"], &url).await;
    assert!(ok && out.contains("23 of 23 migrations applied, 0 pending"), "{out}");
    assert!(out.contains("This binary serves this schema as it is."), "{out}");
    let (ok, out, _) = migrate(&["up"], &url).await;
    assert!(ok && out.contains("Nothing to apply."), "{out}");

    let (ok, out, err) = migrate(&["verify"], &url).await;
    assert!(ok, "{out}{err}");
    assert!(out.contains("schema as this binary expects: 23 migrations, none altered, none newer"), "{out}");
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
    assert!(out.contains("NEWER    0999 from the future"), "{out}");
    assert!(err.contains("this binary cannot serve this schema: a newer binary applied 0999"), "{err}");
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
    assert!(err.contains("23 pending migration(s) (0001 runs,"), "{err}");
    assert!(err.contains("mandate migrate up"), "{err}");
    let (ok, _, _) = migrate(&["up"], &url).await;
    assert!(ok);
    let served = common::serve_binary_with(&url, &tokens, "127.0.0.1:0", &["--no-migrate"]);
    assert!(!served.addr.is_empty());
    assert!(served.stop().success());
}
