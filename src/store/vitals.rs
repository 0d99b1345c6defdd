//! What a scrape of `/metrics` reads from the database: open incidents by
//! severity, the paging outbox's backlog, when the events' chain was last
//! anchored, and how long a round trip to the database takes. Each is one
//! indexed or small query on the read pool.

use super::{ANCHORED, Store, StoreError, from_millis, to_millis};
use chrono::{DateTime, Utc};
use sqlx::Row;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Default)]
pub struct Vitals {
    /// Incidents not resolved, by severity.
    pub open_by_severity: Vec<(String, i64)>,
    /// Notifications due and not delivered yet (pending or being sent).
    pub outbox_due: i64,
    /// The earliest time one of them was due.
    pub outbox_oldest_due: Option<DateTime<Utc>>,
    /// When the events' chain was last anchored in the audit log.
    pub last_anchor: Option<DateTime<Utc>>,
    /// Gated actions waiting for a person.
    pub approvals_waiting: i64,
    /// One `SELECT 1` on the read pool.
    pub round_trip: Duration,
}

impl Store {
    pub async fn vitals(&self, now: DateTime<Utc>) -> Result<Vitals, StoreError> {
        let started = Instant::now();
        sqlx::query("SELECT 1").fetch_one(&self.read).await?;
        let round_trip = started.elapsed();
        let open_by_severity =
            sqlx::query("SELECT severity, COUNT(*) AS n FROM incidents WHERE status <> 'resolved' GROUP BY severity")
                .fetch_all(&self.read)
                .await?
                .iter()
                .map(|row| Ok((row.try_get::<String, _>("severity")?, row.try_get::<i64, _>("n")?)))
                .collect::<Result<Vec<_>, sqlx::Error>>()?;
        let outbox = sqlx::query(
            "SELECT COUNT(*) AS n, MIN(next_attempt) AS oldest FROM notifications \
             WHERE state IN ('pending', 'sending') AND next_attempt <= $1",
        )
        .bind(to_millis(now))
        .fetch_one(&self.read)
        .await?;
        let last_anchor: Option<i64> =
            sqlx::query_scalar("SELECT at FROM audit_log WHERE action = $1 ORDER BY seq DESC LIMIT 1")
                .bind(ANCHORED)
                .fetch_optional(&self.read)
                .await?;
        let approvals_waiting: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM approvals WHERE status = 'waiting'").fetch_one(&self.read).await?;
        Ok(Vitals {
            approvals_waiting,
            open_by_severity,
            outbox_due: outbox.try_get::<i64, _>("n")?,
            outbox_oldest_due: outbox.try_get::<Option<i64>, _>("oldest")?.map(from_millis),
            last_anchor: last_anchor.map(from_millis),
            round_trip,
        })
    }
}
