//! Runs in the record. A run's row may change once (LIVE to its outcome) and
//! retention removes finished ones, so the row itself cannot be chained the
//! way an event is. Instead each run's creation (its attribution, goal and
//! kind, as stored) and its completion (outcome and time) are written as
//! records in a hash chain of their own, in the same transaction as the row.
//! `mandate audit verify` then holds every run row to its records: a
//! rewritten attribution, a completion written by hand, a run inserted by
//! hand or removed outside retention is named.

use super::{Backend, Store, StoreError};
use crate::audit::GENESIS;
use sha2::{Digest, Sha256};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};
use std::collections::{HashMap, HashSet};

pub(super) const CREATED: &str = "created";
pub(super) const COMPLETED: &str = "completed";

/// What a run's creation record says: its fixed columns, as stored.
pub(super) fn created_record(row: &AnyRow) -> Result<String, StoreError> {
    let text = |c: &str| row.try_get::<Option<String>, _>(c);
    Ok(serde_json::json!([
        text("run_id")?,
        text("goal")?,
        text("agent_id")?,
        text("actor_type")?,
        text("actor_id")?,
        text("origin_system_id")?,
        text("source")?,
        text("provider_type")?,
        text("risk_level")?,
        row.try_get::<Option<i64>, _>("origin_ts")?,
        text("origin_ip")?,
        row.try_get::<i64, _>("created_at")?,
    ])
    .to_string())
}

/// What a run's completion record says; None while it is LIVE.
pub(super) fn completed_record(row: &AnyRow) -> Result<Option<String>, StoreError> {
    let state: String = row.try_get("state")?;
    if state == "LIVE" {
        return Ok(None);
    }
    let record = serde_json::json!([
        row.try_get::<String, _>("run_id")?,
        state,
        row.try_get::<String, _>("status")?,
        row.try_get::<Option<i64>, _>("completed_at")?,
    ]);
    Ok(Some(record.to_string()))
}

/// The link of a record after `prev` (the previous record's link, or
/// [`GENESIS`] for the first).
pub fn run_link(prev: &str, kind: &str, record: &str) -> String {
    let mut hasher = Sha256::new();
    for part in [prev, "\n", kind, "\n", record] {
        hasher.update(part.as_bytes());
    }
    hex::encode(hasher.finalize())
}

fn digest(record: &str) -> [u8; 32] {
    Sha256::digest(record.as_bytes()).into()
}

/// The outcome of holding every run to its records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunChainStatus {
    pub verified: bool,
    /// Records whose link was recomputed and held.
    pub records_checked: i64,
    /// Runs held to their records.
    pub runs_checked: i64,
    /// Runs stored before the record began, without a creation record.
    pub unrecorded: i64,
    pub first_broken_run: Option<String>,
    pub problem: Option<String>,
}

/// What the records say of one run.
#[derive(Default)]
struct Recorded {
    created: Option<[u8; 32]>,
    created_at: i64,
    completed: Option<[u8; 32]>,
    completed_at: i64,
}

/// One record of the runs' chain: the run it is of, what it records, and
/// what it says.
pub(super) struct RunRecord {
    run_id: String,
    kind: &'static str,
    record: String,
}

/// Appends records to the runs' chain, inside the caller's transaction so
/// they commit with the rows they describe.
pub(super) async fn append_run_records(
    conn: &mut AnyConnection,
    backend: Backend,
    records: &[RunRecord],
) -> Result<(), StoreError> {
    if records.is_empty() {
        return Ok(());
    }
    if backend == Backend::Postgres {
        // Appends are serialised across servers so the chain never forks.
        sqlx::query("LOCK TABLE run_records IN EXCLUSIVE MODE").execute(&mut *conn).await?;
    }
    let mut tail = runs_head(conn).await?.map(|(_, hash)| hash).unwrap_or_else(|| GENESIS.to_owned());
    for chunk in records.chunks(200) {
        let sql = format!(
            "INSERT INTO run_records (run_id, kind, record, chain_hash) VALUES {}",
            super::events::placeholders(chunk.len(), 4)
        );
        let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
        for RunRecord { run_id, kind, record } in chunk {
            tail = run_link(&tail, kind, record);
            query = query.bind(run_id.clone()).bind(kind.to_string()).bind(record.clone()).bind(tail.clone());
        }
        query.execute(&mut *conn).await?;
    }
    Ok(())
}

/// The last record of the runs' chain, as `(position, link)`.
pub(crate) async fn runs_head(conn: &mut AnyConnection) -> Result<Option<(i64, String)>, StoreError> {
    let row = sqlx::query("SELECT position, chain_hash FROM run_records ORDER BY position DESC LIMIT 1")
        .fetch_optional(&mut *conn)
        .await?;
    row.map(|r| Ok((r.try_get("position")?, r.try_get("chain_hash")?))).transpose()
}

/// The records of runs just written (rows of `RUN_COLUMNS`): the creation
/// of each, and the completion of each already finished.
pub(super) fn records_of(rows: &[AnyRow], created: bool) -> Result<Vec<RunRecord>, StoreError> {
    let mut records = Vec::with_capacity(rows.len());
    for row in rows {
        let run_id: String = row.try_get("run_id")?;
        if created {
            records.push(RunRecord { run_id: run_id.clone(), kind: CREATED, record: created_record(row)? });
        }
        if let Some(record) = completed_record(row)? {
            records.push(RunRecord { run_id, kind: COMPLETED, record });
        }
    }
    Ok(records)
}

impl Store {
    /// Checks every run record's link, then holds every run row to its
    /// records, and every recorded run that is gone to retention's cutoffs.
    ///
    /// Long because each check names its own finding for the operator; the
    /// three passes are marked inside.
    pub async fn verify_runs(&self) -> Result<RunChainStatus, StoreError> {
        const BATCH: i64 = 5_000;
        let mut status = RunChainStatus {
            verified: true,
            records_checked: 0,
            runs_checked: 0,
            unrecorded: 0,
            first_broken_run: None,
            problem: None,
        };
        let broken = |mut status: RunChainStatus, run: &str, problem: String| {
            status.verified = false;
            status.first_broken_run = Some(run.to_owned());
            status.problem = Some(problem);
            Ok(status)
        };

        // Where the audit log anchored the chain: position → (link, audit entry).
        let mut anchors: std::collections::BTreeMap<i64, (String, i64)> = std::collections::BTreeMap::new();
        let rows = sqlx::query("SELECT seq, details FROM audit_log WHERE action = $1 ORDER BY seq")
            .bind(super::ANCHORED)
            .fetch_all(&self.read)
            .await?;
        for row in rows {
            let details: serde_json::Value =
                serde_json::from_str(&row.try_get::<String, _>("details")?).unwrap_or_default();
            let mark = &details["runs_anchor"];
            if let (Some(position), Some(hash)) = (mark["position"].as_i64(), mark["hash"].as_str()) {
                anchors.insert(position, (hash.to_owned(), row.try_get("seq")?));
            }
        }

        // The chain, from the first record that exists.
        let mut recorded: HashMap<String, Recorded> = HashMap::new();
        let (mut after, mut prev) = (i64::MIN, GENESIS.to_owned());
        loop {
            let rows = sqlx::query(
                "SELECT position, run_id, kind, record, chain_hash FROM run_records WHERE position > $1 \
                 ORDER BY position LIMIT $2",
            )
            .bind(after)
            .bind(BATCH)
            .fetch_all(&self.read)
            .await?;
            for row in &rows {
                let position: i64 = row.try_get("position")?;
                let (run, kind, record): (String, String, String) =
                    (row.try_get("run_id")?, row.try_get("kind")?, row.try_get("record")?);
                if position <= 0 {
                    let problem =
                        format!("run record #{position} (run {run}) is at a position never written: inserted by hand");
                    return broken(status, &run, problem);
                }
                if let Some((gone, (_, seq))) = anchors.range(..position).next() {
                    let problem = format!(
                        "the run record at #{gone} that audit entry {seq} anchors is gone: records before #{position} were removed"
                    );
                    return broken(status, &run, problem);
                }
                let link: String = row.try_get("chain_hash")?;
                if let Some((anchored, seq)) = anchors.remove(&position)
                    && anchored != link
                {
                    let problem = format!(
                        "run record #{position} differs from the anchor in audit entry {seq}: the runs' record was rewritten up to it"
                    );
                    return broken(status, &run, problem);
                }
                if run_link(&prev, &kind, &record) != link {
                    let problem = format!(
                        "run record #{position} ({kind} of run {run}) does not match its link: it was changed, or a record before it was removed or inserted"
                    );
                    return broken(status, &run, problem);
                }
                prev = row.try_get("chain_hash")?;
                after = position;
                status.records_checked += 1;
                let entry = recorded.entry(run).or_default();
                if kind == CREATED {
                    entry.created = Some(digest(&record));
                    let fields: serde_json::Value = serde_json::from_str(&record).unwrap_or_default();
                    entry.created_at = fields[11].as_i64().unwrap_or_default();
                } else {
                    entry.completed = Some(digest(&record));
                    let fields: serde_json::Value = serde_json::from_str(&record).unwrap_or_default();
                    entry.completed_at = fields[3].as_i64().unwrap_or_default();
                }
            }
            if (rows.len() as i64) < BATCH {
                break;
            }
        }
        if let Some((position, (_, seq))) = anchors.iter().next() {
            let problem = format!(
                "audit entry {seq} anchors the run record at #{position}, past the last one stored: records were removed from the end"
            );
            return broken(status, "", problem);
        }

        // Every run row, held to what its records say.
        let before: HashSet<String> = sqlx::query_scalar("SELECT run_id FROM runs_before_record")
            .fetch_all(&self.read)
            .await?
            .into_iter()
            .collect();
        let mut cursor = String::new();
        loop {
            let sql =
                format!("SELECT {} FROM runs WHERE run_id > $1 ORDER BY run_id LIMIT $2", super::runs::RUN_COLUMNS);
            let rows =
                sqlx::query(sqlx::AssertSqlSafe(sql)).bind(cursor.clone()).bind(BATCH).fetch_all(&self.read).await?;
            for row in &rows {
                let run: String = row.try_get("run_id")?;
                let entry = recorded.remove(&run).unwrap_or_default();
                let completion = completed_record(row)?;
                match entry.created {
                    None if before.contains(&run) => status.unrecorded += 1,
                    None => {
                        let problem = format!("run {run} has no creation record: it was inserted by hand");
                        return broken(status, &run, problem);
                    }
                    Some(created) if created != digest(&created_record(row)?) => {
                        let problem = format!(
                            "run {run} differs from its creation record: its attribution, goal or kind was rewritten"
                        );
                        return broken(status, &run, problem);
                    }
                    Some(_) => {}
                }
                match (&completion, entry.completed) {
                    (None, Some(_)) => {
                        let problem = format!("run {run} is LIVE, and its completion is recorded: it was rewritten");
                        return broken(status, &run, problem);
                    }
                    (Some(done), Some(recorded)) if digest(done) != recorded => {
                        let problem =
                            format!("run {run} differs from its completion record: its outcome was rewritten");
                        return broken(status, &run, problem);
                    }
                    (Some(_), None) if entry.created.is_some() => {
                        let problem =
                            format!("run {run} is completed with no completion record: it was completed by hand");
                        return broken(status, &run, problem);
                    }
                    _ => {}
                }
                status.runs_checked += 1;
                cursor = run;
            }
            if (rows.len() as i64) < BATCH {
                break;
            }
        }

        // Recorded runs that are gone: only retention removes runs, those
        // created before its cutoff and finished when it ran.
        let prunes = self.runs_prunes().await?;
        let mut gone: Vec<(&String, &Recorded)> = recorded.iter().filter(|(_, r)| r.created.is_some()).collect();
        gone.sort_by_key(|(run, r)| (r.created_at, run.as_str()));
        for (run, entry) in gone {
            let pruned = entry.completed.is_some()
                && prunes.iter().any(|(at, cutoff)| entry.created_at < *cutoff && entry.completed_at <= *at);
            if !pruned {
                let problem =
                    format!("run {run} is recorded and gone, and retention did not remove it: it was deleted");
                return broken(status, run, problem);
            }
        }
        Ok(status)
    }

    /// Each pass of retention that removed runs: when it ran, and the
    /// cutoff it removed finished runs created before (milliseconds).
    async fn runs_prunes(&self) -> Result<Vec<(i64, i64)>, StoreError> {
        let rows = sqlx::query("SELECT at, details FROM audit_log WHERE action = $1")
            .bind(super::PRUNED)
            .fetch_all(&self.read)
            .await?;
        let mut prunes = Vec::new();
        for row in rows {
            let details: serde_json::Value =
                serde_json::from_str(&row.try_get::<String, _>("details")?).unwrap_or_default();
            if let Some(cutoff) =
                details["cutoffs"]["runs"].as_str().and_then(|c| chrono::DateTime::parse_from_rfc3339(c).ok())
            {
                prunes.push((row.try_get::<i64, _>("at")?, cutoff.timestamp_millis()));
            }
        }
        Ok(prunes)
    }
}
