//! Removing what expired: the only deletes the record allows. Events go
//! as a prefix of storage order, so the chain stays whole from the
//! anchor the prune records; never an event of an incident still open,
//! nor a run still live or behind one.

use super::chain::PRUNED;
use super::{Store, StoreError, to_millis};
use crate::audit::Anchor;
use chrono::{DateTime, Utc};
use sqlx::{Any, Row, Transaction};

/// Where each kind of record expires: anything older than its cutoff goes
/// (None: kept for ever).
#[derive(Debug, Clone, Copy, Default)]
pub struct Cutoffs {
    pub events: Option<DateTime<Utc>>,
    pub runs: Option<DateTime<Utc>>,
    pub idempotency_keys: Option<DateTime<Utc>>,
    pub access_log: Option<DateTime<Utc>>,
    pub rejections: Option<DateTime<Utc>>,
}

/// What one prune removed, as its audit row records it.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Pruned {
    pub events: u64,
    pub runs: u64,
    pub idempotency_keys: u64,
    pub access_log: u64,
    pub attribution_rejections: u64,
    /// The last event removed: where the chain resumes.
    pub anchor: Option<Anchor>,
}

impl Pruned {
    pub fn is_empty(&self) -> bool {
        self.events + self.runs + self.idempotency_keys + self.access_log + self.attribution_rejections == 0
    }
}

/// Events removed by one prune at most: a long backlog goes over several
/// passes, none holding the writer for long.
const EVENTS_PER_PRUNE: i64 = 20_000;

impl Store {
    /// Removes what expired before `cutoffs`, in one transaction with its
    /// audit row (none when nothing expired).
    pub async fn prune(&self, cutoffs: Cutoffs, now: DateTime<Utc>, actor: &str) -> Result<Pruned, StoreError> {
        let mut tx = self.write.begin().await?;
        let mut pruned = Pruned::default();
        if let Some(cutoff) = cutoffs.events {
            self.prune_events(&mut tx, cutoff, &mut pruned).await?;
        }
        if let Some(cutoff) = cutoffs.runs {
            sqlx::query("INSERT INTO retention_grants (kind, through) VALUES ('runs', $1)")
                .bind(to_millis(cutoff))
                .execute(&mut *tx)
                .await?;
            pruned.runs = sqlx::query(
                "DELETE FROM runs WHERE state <> 'LIVE' AND created_at < $1 AND run_id NOT IN \
                 (SELECT e.run_id FROM events e JOIN incidents i ON i.id = e.incident_id \
                  WHERE e.run_id IS NOT NULL AND i.status <> 'resolved')",
            )
            .bind(to_millis(cutoff))
            .execute(&mut *tx)
            .await?
            .rows_affected();
            sqlx::query("DELETE FROM retention_grants WHERE kind = 'runs'").execute(&mut *tx).await?;
        }
        pruned.idempotency_keys =
            delete_before(&mut tx, "DELETE FROM idempotency_keys WHERE created_at < $1", cutoffs.idempotency_keys)
                .await?;
        pruned.access_log = delete_before(&mut tx, "DELETE FROM access_log WHERE at < $1", cutoffs.access_log).await?;
        pruned.attribution_rejections =
            delete_before(&mut tx, "DELETE FROM attribution_rejections WHERE at < $1", cutoffs.rejections).await?;
        if pruned.is_empty() {
            tx.rollback().await?;
            return Ok(pruned);
        }
        let iso = |c: Option<DateTime<Utc>>| c.map(|c| c.to_rfc3339());
        let details = serde_json::json!({
            "events": pruned.events,
            "runs": pruned.runs,
            "idempotency_keys": pruned.idempotency_keys,
            "access_log": pruned.access_log,
            "attribution_rejections": pruned.attribution_rejections,
            "anchor": pruned.anchor,
            "cutoffs": {
                "events": iso(cutoffs.events),
                "runs": iso(cutoffs.runs),
                "idempotency_keys": iso(cutoffs.idempotency_keys),
                "access_log": iso(cutoffs.access_log),
                "attribution_rejections": iso(cutoffs.rejections),
            },
        });
        self.append_audit(&mut tx, now, actor, PRUNED, "records", details).await?;
        tx.commit().await?;
        Ok(pruned)
    }

    /// The oldest events, up to the first one to keep: one that is not
    /// older than `cutoff`, or that belongs to an incident not resolved.
    async fn prune_events(
        &self,
        tx: &mut Transaction<'_, Any>,
        cutoff: DateTime<Utc>,
        pruned: &mut Pruned,
    ) -> Result<(), StoreError> {
        let position = self.backend().event_position();
        let sql = format!(
            "SELECT e.{position} AS position, e.chain_hash, e.occurred_at, i.status FROM events e \
             LEFT JOIN incidents i ON i.id = e.incident_id WHERE e.{position} > $1 ORDER BY e.{position} LIMIT $2"
        );
        // A page at a time: when the oldest event is to be kept, one row is read.
        const PAGE: i64 = 1_000;
        let mut last: Option<(i64, Option<String>)> = None;
        let mut seen = 0;
        'pages: while seen < EVENTS_PER_PRUNE {
            let after = last.as_ref().map_or(0, |(p, _)| *p);
            let page = if seen == 0 { 1 } else { PAGE };
            let rows =
                sqlx::query(sqlx::AssertSqlSafe(sql.clone())).bind(after).bind(page).fetch_all(&mut **tx).await?;
            for row in &rows {
                let expired = row.try_get::<i64, _>("occurred_at")? < to_millis(cutoff);
                let open = row.try_get::<Option<String>, _>("status")?.is_some_and(|s| s != "resolved");
                if !expired || open {
                    break 'pages;
                }
                last = Some((row.try_get("position")?, row.try_get("chain_hash")?));
                seen += 1;
            }
            if (rows.len() as i64) < page {
                break;
            }
        }
        let Some((through, hash)) = last else { return Ok(()) };
        sqlx::query("INSERT INTO retention_grants (kind, through) VALUES ('events', $1)")
            .bind(through)
            .execute(&mut **tx)
            .await?;
        let sql = format!("DELETE FROM events WHERE {position} <= $1");
        pruned.events = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(through).execute(&mut **tx).await?.rows_affected();
        sqlx::query("DELETE FROM retention_grants WHERE kind = 'events'").execute(&mut **tx).await?;
        pruned.anchor = hash.map(|hash| Anchor { position: through, hash, audit_seq: 0 });
        Ok(())
    }
}

async fn delete_before(
    tx: &mut Transaction<'_, Any>,
    sql: &'static str,
    cutoff: Option<DateTime<Utc>>,
) -> Result<u64, StoreError> {
    match cutoff {
        None => Ok(0),
        Some(c) => Ok(sqlx::query(sql).bind(to_millis(c)).execute(&mut **tx).await?.rows_affected()),
    }
}
