//! The events' chain in the database: its tail, the events in storage
//! order for verification, and the anchors the audit log holds.

use super::events::{EVENT_COLUMNS, StoredEvent};
use super::{Backend, Store, StoreError};
use crate::audit::{Anchor, ChainedEvent, EntryMark, EventChainStatus, EventMark, EventProgress, GENESIS, RecordHead};
use chrono::{DateTime, Utc};
use sqlx::{Any, AnyConnection, FromRow, Row, Transaction};

/// The audit action of an anchor, and of a prune (which also anchors).
pub const ANCHORED: &str = "events_anchored";
pub const PRUNED: &str = "records_pruned";

impl Backend {
    /// The column giving an event's place in storage order.
    pub(super) fn event_position(self) -> &'static str {
        match self {
            Backend::Sqlite => "rowid",
            Backend::Postgres => "stored_seq",
        }
    }
}

impl Store {
    /// The hash the next event stored links to.
    pub(crate) async fn chain_tail(&self, conn: &mut AnyConnection) -> Result<String, StoreError> {
        let position = self.backend().event_position();
        let sql =
            format!("SELECT chain_hash FROM events WHERE chain_hash IS NOT NULL ORDER BY {position} DESC LIMIT 1");
        if let Some(row) = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_optional(&mut *conn).await? {
            return Ok(row.try_get("chain_hash")?);
        }
        // Everything chained was pruned: the chain goes on from the prune's anchor.
        Ok(self.pruned_anchor(conn).await?.map(|a| a.hash).unwrap_or_else(|| GENESIS.to_owned()))
    }

    /// The last event chained, as `(position, hash)`.
    pub(crate) async fn chain_head(&self, conn: &mut AnyConnection) -> Result<Option<(i64, String)>, StoreError> {
        let position = self.backend().event_position();
        let sql = format!(
            "SELECT {position} AS position, chain_hash FROM events WHERE chain_hash IS NOT NULL \
             ORDER BY {position} DESC LIMIT 1"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_optional(&mut *conn).await?;
        row.map(|r| Ok((r.try_get("position")?, r.try_get("chain_hash")?))).transpose()
    }

    /// Events stored after `after`, in storage order, at most `limit`.
    async fn chained_after(&self, after: i64, limit: i64) -> Result<Vec<ChainedEvent>, StoreError> {
        let position = self.backend().event_position();
        let sql = format!(
            "SELECT {position} AS position, chain_hash, {EVENT_COLUMNS} FROM events \
             WHERE {position} > $1 ORDER BY {position} LIMIT $2"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(after).bind(limit).fetch_all(&self.read).await?;
        rows.iter()
            .map(|r| {
                let event = StoredEvent::from_row(r)?;
                Ok(ChainedEvent {
                    position: r.try_get("position")?,
                    hash: r.try_get("chain_hash")?,
                    event_id: event.event_id().to_owned(),
                    canonical: event.canonical(),
                })
            })
            .collect()
    }

    /// Anchors recorded by `action` in the audit log, oldest first.
    async fn anchors(
        &self,
        conn: &mut AnyConnection,
        action: &str,
        newest_only: bool,
    ) -> Result<Vec<Anchor>, StoreError> {
        let sql = if newest_only {
            "SELECT seq, details FROM audit_log WHERE action = $1 ORDER BY seq DESC LIMIT 1"
        } else {
            "SELECT seq, details FROM audit_log WHERE action = $1 ORDER BY seq"
        };
        let rows = sqlx::query(sql).bind(action.to_owned()).fetch_all(&mut *conn).await?;
        let mut anchors = Vec::with_capacity(rows.len());
        for row in rows {
            let details: String = row.try_get("details")?;
            let value: serde_json::Value = serde_json::from_str(&details).unwrap_or_default();
            if let Ok(mut anchor) = serde_json::from_value::<Anchor>(value["anchor"].clone()) {
                anchor.audit_seq = row.try_get("seq")?;
                anchors.push(anchor);
            }
        }
        Ok(anchors)
    }

    /// Where the chain resumes after the last prune.
    pub(crate) async fn pruned_anchor(&self, conn: &mut AnyConnection) -> Result<Option<Anchor>, StoreError> {
        Ok(self.anchors(conn, PRUNED, true).await?.pop())
    }

    /// Checks every stored event's link, and every anchor, a batch at a
    /// time; `after_batch` sees how far it has come.
    pub async fn verify_events(
        &self,
        mut after_batch: impl FnMut(&EventProgress),
    ) -> Result<EventChainStatus, StoreError> {
        const BATCH: i64 = 5_000;
        let mut conn = self.read.acquire().await?;
        let pruned = self.pruned_anchor(&mut conn).await?;
        let anchors = self.anchors(&mut conn, ANCHORED, false).await?;
        drop(conn);
        let mut progress = EventProgress::new(pruned, anchors);
        while !progress.is_broken() {
            let batch = self.chained_after(progress.after, BATCH).await?;
            progress.advance(&batch);
            after_batch(&progress);
            if (batch.len() as i64) < BATCH {
                break;
            }
        }
        Ok(progress.finish())
    }

    /// How far both chains reach now: to keep outside the database.
    pub async fn record_head(&self, at: DateTime<Utc>) -> Result<RecordHead, StoreError> {
        let mut conn = self.read.acquire().await?;
        let audit = sqlx::query("SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1")
            .fetch_optional(&mut *conn)
            .await?
            .map(|r| Ok::<_, StoreError>(EntryMark { seq: r.try_get("seq")?, hash: r.try_get("hash")? }))
            .transpose()?;
        let events = self.chain_head(&mut conn).await?.map(|(position, hash)| EventMark { position, hash });
        let runs = super::run_records::runs_head(&mut conn).await?.map(|(position, hash)| EventMark { position, hash });
        Ok(RecordHead { taken_at: at, audit, events, runs })
    }

    /// What no longer holds of `head` (taken earlier, kept outside): None
    /// when every chain still reaches as far, with the same hashes there.
    pub async fn check_record_head(&self, head: &RecordHead) -> Result<Option<String>, StoreError> {
        let mut conn = self.read.acquire().await?;
        let taken = head.taken_at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let position = self.backend().event_position();
        let events_at = format!("SELECT chain_hash AS hash FROM events WHERE {position} = $1");
        let marks = [
            (
                "audit log",
                "audit entry",
                "SELECT hash FROM audit_log WHERE seq = $1",
                head.audit.as_ref().map(|m| (m.seq, &m.hash)),
            ),
            (
                "events' chain",
                "event stored at",
                events_at.as_str(),
                head.events.as_ref().map(|m| (m.position, &m.hash)),
            ),
            (
                "runs' record",
                "run record",
                "SELECT chain_hash AS hash FROM run_records WHERE position = $1",
                head.runs.as_ref().map(|m| (m.position, &m.hash)),
            ),
        ];
        for (chain, what, sql, mark) in marks {
            let Some((at, hash)) = mark else { continue };
            let row = sqlx::query(sqlx::AssertSqlSafe(sql.to_owned())).bind(at).fetch_optional(&mut *conn).await?;
            let found = row.map(|r| r.try_get::<Option<String>, _>("hash")).transpose()?.flatten();
            match found {
                Some(found) if found == *hash => {}
                Some(_) => {
                    return Ok(Some(format!(
                        "the {what} #{at} differs from the head taken {taken}: the {chain} was rewritten"
                    )));
                }
                // Events removed by retention, which anchors the last it removes.
                None if chain == "events' chain"
                    && self.pruned_anchor(&mut conn).await?.is_some_and(|a| a.position >= at) => {}
                None => {
                    return Ok(Some(format!(
                        "the head taken {taken} names the {what} #{at}, and the {chain} no longer holds it: \
                         what followed it was removed from the end"
                    )));
                }
            }
        }
        Ok(None)
    }

    /// Records the chain's head in the audit log, unless the last anchor
    /// already holds it. Returns the anchor written.
    pub(crate) async fn anchor_events(
        &self,
        tx: &mut Transaction<'_, Any>,
        at: DateTime<Utc>,
        actor: &str,
    ) -> Result<Option<Anchor>, StoreError> {
        let events = self.chain_head(tx).await?;
        let runs = super::run_records::runs_head(tx).await?;
        let last = sqlx::query("SELECT details FROM audit_log WHERE action = $1 ORDER BY seq DESC LIMIT 1")
            .bind(ANCHORED)
            .fetch_optional(&mut **tx)
            .await?
            .map(|row| row.try_get::<String, _>("details"))
            .transpose()?
            .and_then(|d| serde_json::from_str::<serde_json::Value>(&d).ok())
            .unwrap_or_default();
        let position = |v: &serde_json::Value| v["position"].as_i64();
        let moved = |head: &Option<(i64, String)>, said: &serde_json::Value| {
            head.as_ref().is_some_and(|(p, _)| position(said) != Some(*p))
        };
        if !moved(&events, &last["anchor"]) && !moved(&runs, &last["runs_anchor"]) {
            return Ok(None);
        }
        let mut anchor = events.map(|(position, hash)| Anchor { position, hash, audit_seq: 0 });
        let runs_anchor = runs.map(|(position, hash)| serde_json::json!({ "position": position, "hash": hash }));
        let details = serde_json::json!({ "anchor": anchor, "runs_anchor": runs_anchor });
        let entry = self.append_audit(tx, at, actor, ANCHORED, "events", details).await?;
        if let Some(anchor) = anchor.as_mut() {
            anchor.audit_seq = entry.seq;
        }
        Ok(anchor)
    }
}
