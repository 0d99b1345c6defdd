//! Where a database shared by several servers stands (PostgreSQL only): the
//! `desk_head` row every change to incidents takes `FOR UPDATE`, and what a
//! server reads to catch up with changes other servers made. The queue of
//! analyses due is here too: it is written with each change, on both
//! databases, and worked off by whichever server holds the background duties.

use super::{Backend, Store, StoreError, from_millis};
use crate::api::{Event, Outcome};
use sqlx::{Any, FromRow, Row, Transaction};

/// The `desk_head` row.
#[derive(Debug, Clone, Default, PartialEq, Eq, sqlx::FromRow)]
pub struct Head {
    /// The change-feed version: one sequence for the whole database.
    pub version: i64,
    /// Moves when agent controls, the catalog or the routing change.
    pub config_version: i64,
    /// Moves when a change queued notifications.
    pub paging: i64,
    /// The last event stored (`events.stored_seq`).
    pub event_seq: i64,
    /// The server that made the last change.
    pub writer: String,
}

impl Head {
    /// Reads a notification's payload: "version config_version paging writer".
    pub fn from_payload(payload: &str) -> Option<Head> {
        let mut parts = payload.splitn(4, ' ');
        Some(Head {
            version: parts.next()?.parse().ok()?,
            config_version: parts.next()?.parse().ok()?,
            paging: parts.next()?.parse().ok()?,
            event_seq: 0,
            writer: parts.next().unwrap_or_default().to_owned(),
        })
    }
}

fn head_from_row(row: &sqlx::any::AnyRow) -> Result<Head, StoreError> {
    Ok(Head::from_row(row)?)
}

const HEAD_COLUMNS: &str = "version, config_version, paging, event_seq, writer";

/// The channel every committed change is announced on.
pub const CHANGES_CHANNEL: &str = "mandate_changes";

impl Store {
    /// Whether servers share this database through `desk_head`: PostgreSQL.
    /// A SQLite file has one server (see `claim`).
    pub fn shared(&self) -> bool {
        self.backend() == Backend::Postgres
    }

    /// Takes the head for this transaction: other servers' changes wait
    /// until it commits. What it returns is the latest committed.
    pub(crate) async fn lock_head(&self, tx: &mut Transaction<'_, Any>) -> Result<Head, StoreError> {
        let sql = format!("SELECT {HEAD_COLUMNS} FROM desk_head WHERE id = 1 FOR UPDATE");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_one(&mut **tx).await?;
        head_from_row(&row)
    }

    /// Records this change in the head (which notifies every server once
    /// the transaction commits); the last event stored.
    pub(crate) async fn write_head(&self, tx: &mut Transaction<'_, Any>, head: &Head) -> Result<i64, StoreError> {
        let row = sqlx::query(
            "UPDATE desk_head SET version = $1, config_version = $2, paging = $3, writer = $4, \
             event_seq = (SELECT COALESCE(MAX(stored_seq), 0) FROM events) WHERE id = 1 RETURNING event_seq",
        )
        .bind(head.version)
        .bind(head.config_version)
        .bind(head.paging)
        .bind(head.writer.clone())
        .fetch_one(&mut **tx)
        .await?;
        Ok(row.try_get("event_seq")?)
    }

    /// The head as committed, without waiting for anyone.
    pub async fn read_head(&self) -> Result<Head, StoreError> {
        let sql = format!("SELECT {HEAD_COLUMNS} FROM desk_head WHERE id = 1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_one(&self.read).await?;
        head_from_row(&row)
    }

    /// Events stored after `seq`, in the order they were stored, with their
    /// place in it: what other servers stored since this one last looked.
    /// Only what grouping and sequence tracking replay is read.
    pub(crate) async fn events_after(
        &self,
        tx: &mut Transaction<'_, Any>,
        seq: i64,
    ) -> Result<Vec<(i64, Event)>, StoreError> {
        let rows = sqlx::query(
            "SELECT stored_seq, agent_id, resource, outcome, error_code, trace_id, seq, occurred_at, incident_id \
             FROM events WHERE stored_seq > $1 ORDER BY stored_seq",
        )
        .bind(seq)
        .fetch_all(&mut **tx)
        .await?;
        rows.iter()
            .map(|r| {
                let occurred_at = from_millis(r.try_get("occurred_at")?);
                let event = Event {
                    event_id: String::new(),
                    agent_id: r.try_get("agent_id")?,
                    actor_type: None,
                    actor_id: None,
                    origin_system_id: None,
                    run_id: None,
                    parent_event_id: None,
                    action_type: None,
                    tool: None,
                    resource: r.try_get("resource")?,
                    scope: Vec::new(),
                    outcome: Outcome::parse(&r.try_get::<String, _>("outcome")?).unwrap_or(Outcome::Error),
                    error_code: r.try_get("error_code")?,
                    error_message: None,
                    trace_id: r.try_get("trace_id")?,
                    seq: r.try_get("seq")?,
                    occurred_at,
                    received_at: occurred_at,
                    metadata: Default::default(),
                    flags: Vec::new(),
                    incident_id: r.try_get("incident_id")?,
                };
                Ok((r.try_get("stored_seq")?, event))
            })
            .collect()
    }

    /// The highest incident id, as this transaction sees it.
    pub(crate) async fn max_incident_id(&self, tx: &mut Transaction<'_, Any>) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT COALESCE(MAX(id), 0) AS id FROM incidents").fetch_one(&mut **tx).await?;
        Ok(row.try_get("id")?)
    }

    /// These incidents' analysis is due, as of `version`.
    pub(crate) async fn mark_analysis_due(
        &self,
        tx: &mut Transaction<'_, Any>,
        incidents: &[i64],
        version: i64,
    ) -> Result<(), StoreError> {
        for chunk in incidents.chunks(500) {
            let values: Vec<String> = (0..chunk.len()).map(|i| format!("(${}, $1)", i + 2)).collect();
            let sql = format!(
                "INSERT INTO analysis_due (incident_id, due_version) VALUES {} \
                 ON CONFLICT (incident_id) DO UPDATE SET due_version = excluded.due_version",
                values.join(", ")
            );
            let q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(version);
            chunk.iter().fold(q, |q, id| q.bind(*id)).execute(&mut **tx).await?;
        }
        Ok(())
    }

    /// Analyses due: (incident, as of version), oldest incident first.
    pub async fn analysis_due(&self, limit: i64) -> Result<Vec<(i64, i64)>, StoreError> {
        let rows = sqlx::query("SELECT incident_id, due_version FROM analysis_due ORDER BY incident_id LIMIT $1")
            .bind(limit)
            .fetch_all(&self.write)
            .await?;
        rows.iter().map(|r| Ok((r.try_get("incident_id")?, r.try_get("due_version")?))).collect()
    }

    /// An analysis is done, unless the incident changed again meanwhile.
    pub async fn analysis_done(&self, incident_id: i64, due_version: i64) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM analysis_due WHERE incident_id = $1 AND due_version = $2")
            .bind(incident_id)
            .bind(due_version)
            .execute(&self.write)
            .await?;
        Ok(())
    }
}

/// The `application_name` of the connection that listens, as
/// `pg_stat_activity` shows it.
pub const LISTENER_NAME: &str = "mandate serve: changes";

/// A connection that hears every committed change (PostgreSQL).
pub async fn listen(url: &str) -> Result<sqlx::postgres::PgListener, StoreError> {
    use std::str::FromStr;
    let options = sqlx::postgres::PgConnectOptions::from_str(url)?.application_name(LISTENER_NAME);
    let pool = sqlx::postgres::PgPoolOptions::new().max_connections(1).connect_with(options).await?;
    let mut listener = sqlx::postgres::PgListener::connect_with(&pool).await?;
    listener.listen(CHANGES_CHANNEL).await?;
    Ok(listener)
}
