use super::{Backend, Store, StoreError, from_millis, to_millis};
use crate::audit::{AuditEntry, GENESIS, entry_hash};
use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::{Any, FromRow, Row, Transaction};

/// An audit entry's row as stored.
#[derive(sqlx::FromRow)]
struct EntryRow {
    seq: i64,
    at: i64,
    actor: String,
    action: String,
    target: String,
    details: String,
    prev_hash: String,
    hash: String,
}

fn entry_from_row(row: &AnyRow) -> Result<AuditEntry, StoreError> {
    let row = EntryRow::from_row(row)?;
    Ok(AuditEntry {
        seq: row.seq,
        at: from_millis(row.at),
        actor: row.actor,
        action: row.action,
        target: row.target,
        details: serde_json::from_str(&row.details).unwrap_or(serde_json::Value::Null),
        prev_hash: row.prev_hash,
        hash: row.hash,
    })
}

impl Store {
    /// Appends to the chain inside the caller's transaction, so the entry and
    /// the change it records commit together or not at all.
    pub(crate) async fn append_audit(
        &self,
        tx: &mut Transaction<'_, Any>,
        at: DateTime<Utc>,
        actor: &str,
        action: &str,
        target: &str,
        details: serde_json::Value,
    ) -> Result<AuditEntry, StoreError> {
        if self.backend() == Backend::Postgres {
            // Appends are serialised so the chain never forks.
            sqlx::query("LOCK TABLE audit_log IN EXCLUSIVE MODE").execute(&mut **tx).await?;
        }
        let last =
            sqlx::query("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1").fetch_optional(&mut **tx).await?;
        let (seq, prev_hash) = match last {
            Some(row) => (row.try_get::<i64, _>("seq")? + 1, row.try_get::<String, _>("hash")?),
            None => (1, GENESIS.to_owned()),
        };
        let at = crate::store::from_millis(to_millis(at));
        let hash = entry_hash(&prev_hash, seq, to_millis(at), actor, action, target, &details);
        sqlx::query(
            "INSERT INTO audit_log (seq, at, actor, action, target, details, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(seq)
        .bind(to_millis(at))
        .bind(actor.to_owned())
        .bind(action.to_owned())
        .bind(target.to_owned())
        .bind(details.to_string())
        .bind(prev_hash.clone())
        .bind(hash.clone())
        .execute(&mut **tx)
        .await?;
        Ok(AuditEntry {
            seq,
            at,
            actor: actor.into(),
            action: action.into(),
            target: target.into(),
            details,
            prev_hash,
            hash,
        })
    }

    /// Newest first, `limit` entries before `before_seq`.
    pub async fn audit_page(&self, before_seq: Option<i64>, limit: u32) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT seq, at, actor, action, target, details, prev_hash, hash FROM audit_log \
             WHERE (CAST($1 AS BIGINT) IS NULL OR seq < $1) ORDER BY seq DESC LIMIT $2",
        )
        .bind(before_seq)
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(entry_from_row).collect()
    }

    /// Entries after `after_seq`, oldest first, at most `limit`: the chain a
    /// batch at a time, for verification.
    pub async fn audit_after(&self, after_seq: i64, limit: i64) -> Result<Vec<AuditEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT seq, at, actor, action, target, details, prev_hash, hash FROM audit_log \
             WHERE seq > $1 ORDER BY seq LIMIT $2",
        )
        .bind(after_seq)
        .bind(limit)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(entry_from_row).collect()
    }

    /// Advances `progress` over every entry not checked yet, a batch at a
    /// time; `after_batch` sees how far it has come.
    pub async fn verify_audit(
        &self,
        progress: &mut crate::audit::Progress,
        mut after_batch: impl FnMut(&crate::audit::Progress),
    ) -> Result<(), StoreError> {
        const BATCH: i64 = 10_000;
        while !progress.is_broken() {
            let batch = self.audit_after(progress.next_seq - 1, BATCH).await?;
            progress.advance(&batch);
            after_batch(progress);
            if (batch.len() as i64) < BATCH {
                break;
            }
        }
        Ok(())
    }

    /// The whole chain, oldest first, for verification.
    pub async fn audit_chain(&self) -> Result<Vec<AuditEntry>, StoreError> {
        let rows =
            sqlx::query("SELECT seq, at, actor, action, target, details, prev_hash, hash FROM audit_log ORDER BY seq")
                .fetch_all(&self.read)
                .await?;
        rows.iter().map(entry_from_row).collect()
    }
}
