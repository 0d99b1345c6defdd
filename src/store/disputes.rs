//! Disputed attribution: one open dispute per event at a time
//! (`ux_disputes_open`), resolved once.

use super::{Store, StoreError, from_millis, to_millis};
use crate::api::{Dispute, DisputeClaim, DisputeResolution, DisputeState};
use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::{Any, AnyConnection, FromRow, Row, Transaction};

const COLUMNS: &str = "id, event_id, run_id, incident_id, claim, reason, opened_by, opened_at, resolution, \
     resolved_by, resolved_at, note";

/// A dispute's row as stored.
#[derive(sqlx::FromRow)]
struct DisputeRow {
    id: i64,
    event_id: String,
    run_id: Option<String>,
    incident_id: Option<i64>,
    claim: String,
    reason: String,
    opened_by: String,
    opened_at: i64,
    resolution: Option<String>,
    resolved_by: Option<String>,
    resolved_at: Option<i64>,
    note: Option<String>,
}

fn dispute_from_row(row: &AnyRow) -> Result<Dispute, StoreError> {
    let row = DisputeRow::from_row(row)?;
    let state = match row.resolution.as_deref().and_then(DisputeResolution::parse) {
        None => DisputeState::Disputed,
        Some(DisputeResolution::Upheld) => DisputeState::Upheld,
        Some(DisputeResolution::Overturned) => DisputeState::Overturned,
    };
    Ok(Dispute {
        id: row.id,
        event_id: row.event_id,
        run_id: row.run_id,
        incident_id: row.incident_id,
        claim: DisputeClaim::parse(&row.claim).unwrap_or(DisputeClaim::NotThisAgent),
        reason: row.reason,
        opened_by: row.opened_by,
        opened_at: from_millis(row.opened_at),
        state,
        resolved_by: row.resolved_by,
        resolved_at: row.resolved_at.map(from_millis),
        note: row.note,
    })
}

/// Which disputes a listing shows.
#[derive(Debug, Clone, Default)]
pub struct DisputeFilter {
    /// None: all; Some(true): open only; Some(false): resolved only.
    pub open: Option<bool>,
    pub event_id: Option<String>,
    pub run_id: Option<String>,
    pub incident_id: Option<i64>,
}

impl Store {
    /// The event's run and incident, if the event is stored.
    pub(crate) async fn event_context(
        &self,
        conn: &mut AnyConnection,
        event_id: &str,
    ) -> Result<Option<(Option<String>, Option<i64>)>, StoreError> {
        let row = sqlx::query("SELECT run_id, incident_id FROM events WHERE event_id = $1")
            .bind(event_id.to_owned())
            .fetch_optional(&mut *conn)
            .await?;
        row.map(|r| Ok((r.try_get("run_id")?, r.try_get("incident_id")?))).transpose()
    }

    pub(crate) async fn open_dispute_for(
        &self,
        conn: &mut AnyConnection,
        event_id: &str,
    ) -> Result<Option<Dispute>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM disputes WHERE event_id = $1 AND resolution IS NULL");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(event_id.to_owned()).fetch_optional(&mut *conn).await?;
        row.as_ref().map(dispute_from_row).transpose()
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn insert_dispute(
        &self,
        tx: &mut Transaction<'_, Any>,
        event_id: &str,
        run_id: Option<&str>,
        incident_id: Option<i64>,
        claim: DisputeClaim,
        reason: &str,
        by: &str,
        at: DateTime<Utc>,
    ) -> Result<Dispute, StoreError> {
        let sql = format!(
            "INSERT INTO disputes (event_id, run_id, incident_id, claim, reason, opened_by, opened_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING {COLUMNS}"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(event_id.to_owned())
            .bind(run_id.map(str::to_owned))
            .bind(incident_id)
            .bind(claim.as_str())
            .bind(reason.to_owned())
            .bind(by.to_owned())
            .bind(to_millis(at))
            .fetch_one(&mut **tx)
            .await?;
        dispute_from_row(&row)
    }

    pub(crate) async fn dispute_in(&self, conn: &mut AnyConnection, id: i64) -> Result<Option<Dispute>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM disputes WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(&mut *conn).await?;
        row.as_ref().map(dispute_from_row).transpose()
    }

    /// Resolves an open dispute; None when it was resolved already.
    pub(crate) async fn resolve_dispute(
        &self,
        tx: &mut Transaction<'_, Any>,
        id: i64,
        resolution: DisputeResolution,
        by: &str,
        note: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<Option<Dispute>, StoreError> {
        let sql = format!(
            "UPDATE disputes SET resolution = $2, resolved_by = $3, resolved_at = $4, note = $5 \
             WHERE id = $1 AND resolution IS NULL RETURNING {COLUMNS}"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .bind(resolution.as_str())
            .bind(by.to_owned())
            .bind(to_millis(at))
            .bind(note.map(str::to_owned))
            .fetch_optional(&mut **tx)
            .await?;
        row.as_ref().map(dispute_from_row).transpose()
    }

    /// Newest first, at most `limit`.
    pub async fn disputes(&self, filter: &DisputeFilter, limit: u32) -> Result<Vec<Dispute>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM disputes WHERE \
             (CAST($1 AS INTEGER) IS NULL OR (CASE WHEN resolution IS NULL THEN 1 ELSE 0 END) = $1) \
             AND (CAST($2 AS TEXT) IS NULL OR event_id = $2) \
             AND (CAST($3 AS TEXT) IS NULL OR run_id = $3) \
             AND (CAST($4 AS BIGINT) IS NULL OR incident_id = $4) \
             ORDER BY id DESC LIMIT $5"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(filter.open.map(i32::from))
            .bind(filter.event_id.clone())
            .bind(filter.run_id.clone())
            .bind(filter.incident_id)
            .bind(i64::from(limit))
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(dispute_from_row).collect()
    }

    /// The latest dispute of each of `event_ids`.
    pub async fn disputes_of_events(&self, event_ids: &[String]) -> Result<Vec<Dispute>, StoreError> {
        let mut found = Vec::new();
        for chunk in event_ids.chunks(200) {
            let sql = format!(
                "SELECT {COLUMNS} FROM disputes WHERE event_id IN ({}) ORDER BY id",
                super::events::list(1, chunk.len())
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for id in chunk {
                q = q.bind(id.clone());
            }
            for row in q.fetch_all(&self.read).await? {
                found.push(dispute_from_row(&row)?);
            }
        }
        // Later ones replace earlier ones of the same event.
        let mut latest: std::collections::BTreeMap<String, Dispute> = Default::default();
        for d in found {
            latest.insert(d.event_id.clone(), d);
        }
        Ok(latest.into_values().collect())
    }
}
