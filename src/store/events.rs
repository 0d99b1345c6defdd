use super::{Store, StoreError, from_millis, to_millis};
use crate::api::{Event, EventFlag, Outcome, SequenceGap};
use crate::attribution::ActorType;
use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::{Any, AnyConnection, FromRow, Row, Transaction};
use std::collections::BTreeSet;

/// An incident's events read for its detail: the first ones, by time.
pub const INCIDENT_EVENTS: usize = 10_000;

pub(super) const EVENT_COLUMNS: &str = "event_id, agent_id, actor_type, actor_id, origin_system_id, run_id, parent_event_id, \
     action_type, tool, resource, scope, outcome, error_code, error_message, trace_id, seq, occurred_at, received_at, \
     metadata, flags, incident_id";

pub(super) fn json_list(raw: &str) -> Vec<String> {
    serde_json::from_str(raw).unwrap_or_default()
}

impl super::Backend {
    /// `column` is one of the strings in parameter `param`, a JSON array:
    /// one parameter however many values (binding hundreds costs more).
    pub(super) fn in_json_list(self, column: &str, param: usize) -> String {
        match self {
            super::Backend::Sqlite => format!("{column} IN (SELECT value FROM json_each(${param}))"),
            super::Backend::Postgres => format!("{column} IN (SELECT json_array_elements_text(${param}::json))"),
        }
    }

    /// `inner` (a query) as one row with one column, `rows_json`: a JSON
    /// array holding, per row of `inner`, the array of `fields` (its
    /// columns, or expressions over them). One row costs the driver far
    /// more than its bytes, so tens of thousands come back as one.
    pub(super) fn json_rows(self, inner: &str, fields: &[String]) -> String {
        let fields = fields.join(", ");
        match self {
            super::Backend::Sqlite => {
                format!("SELECT json_group_array(json_array({fields})) AS rows_json FROM ({inner})")
            }
            super::Backend::Postgres => format!(
                "SELECT COALESCE(json_agg(json_build_array({fields})), '[]'::json)::text AS rows_json FROM ({inner}) AS x"
            ),
        }
    }
}

/// An event read back: its row as stored, then each column parsed.
pub(super) fn event_from_row(row: &AnyRow) -> Result<Event, StoreError> {
    Ok(StoredEvent::from_row(row)?.into())
}

impl From<StoredEvent> for Event {
    fn from(row: StoredEvent) -> Event {
        let flags: Vec<String> = json_list(&row.flags);
        Event {
            event_id: row.event_id,
            agent_id: row.agent_id,
            actor_type: row.actor_type.as_deref().and_then(ActorType::parse),
            actor_id: row.actor_id,
            origin_system_id: row.origin_system_id,
            run_id: row.run_id,
            parent_event_id: row.parent_event_id,
            action_type: row.action_type,
            tool: row.tool,
            resource: row.resource,
            scope: json_list(&row.scope),
            outcome: Outcome::parse(&row.outcome).unwrap_or(Outcome::Error),
            error_code: row.error_code,
            error_message: row.error_message,
            trace_id: row.trace_id,
            seq: row.seq,
            occurred_at: from_millis(row.occurred_at),
            received_at: from_millis(row.received_at),
            metadata: serde_json::from_str(&row.metadata).unwrap_or_default(),
            flags: flags.iter().filter_map(|f| EventFlag::parse(f)).collect(),
            incident_id: row.incident_id,
        }
    }
}

/// An event exactly as its row holds it: what the chain hashes, so a
/// verification reads back the same bytes that were linked at insert.
#[derive(Debug, Clone, PartialEq, serde::Serialize, sqlx::FromRow)]
pub struct StoredEvent {
    event_id: String,
    agent_id: Option<String>,
    actor_type: Option<String>,
    actor_id: Option<String>,
    origin_system_id: Option<String>,
    run_id: Option<String>,
    parent_event_id: Option<String>,
    action_type: Option<String>,
    tool: Option<String>,
    resource: Option<String>,
    scope: String,
    outcome: String,
    error_code: Option<String>,
    error_message: Option<String>,
    trace_id: Option<String>,
    seq: Option<i64>,
    occurred_at: i64,
    received_at: i64,
    metadata: String,
    flags: String,
    incident_id: Option<i64>,
}

impl From<&Event> for StoredEvent {
    fn from(e: &Event) -> StoredEvent {
        StoredEvent {
            event_id: e.event_id.clone(),
            agent_id: e.agent_id.clone(),
            actor_type: e.actor_type.map(|t| t.as_str().to_owned()),
            actor_id: e.actor_id.clone(),
            origin_system_id: e.origin_system_id.clone(),
            run_id: e.run_id.clone(),
            parent_event_id: e.parent_event_id.clone(),
            action_type: e.action_type.clone(),
            tool: e.tool.clone(),
            resource: e.resource.clone(),
            scope: serde_json::to_string(&e.scope).unwrap_or_else(|_| "[]".into()),
            outcome: e.outcome.as_str().to_owned(),
            error_code: e.error_code.clone(),
            error_message: e.error_message.clone(),
            trace_id: e.trace_id.clone(),
            seq: e.seq,
            occurred_at: to_millis(e.occurred_at),
            received_at: to_millis(e.received_at),
            metadata: serde_json::to_string(&e.metadata).unwrap_or_else(|_| "{}".into()),
            flags: serde_json::to_string(&e.flags).unwrap_or_else(|_| "[]".into()),
            incident_id: e.incident_id,
        }
    }
}

impl StoredEvent {
    pub fn event_id(&self) -> &str {
        &self.event_id
    }

    /// The bytes the chain hashes: the row's columns in a fixed order.
    pub fn canonical(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    fn bind<'q>(
        self,
        q: sqlx::query::Query<'q, Any, sqlx::any::AnyArguments>,
    ) -> sqlx::query::Query<'q, Any, sqlx::any::AnyArguments> {
        q.bind(self.event_id)
            .bind(self.agent_id)
            .bind(self.actor_type)
            .bind(self.actor_id)
            .bind(self.origin_system_id)
            .bind(self.run_id)
            .bind(self.parent_event_id)
            .bind(self.action_type)
            .bind(self.tool)
            .bind(self.resource)
            .bind(self.scope)
            .bind(self.outcome)
            .bind(self.error_code)
            .bind(self.error_message)
            .bind(self.trace_id)
            .bind(self.seq)
            .bind(self.occurred_at)
            .bind(self.received_at)
            .bind(self.metadata)
            .bind(self.flags)
            .bind(self.incident_id)
    }
}

/// Builds `($1, …, $n), (…)` for `rows` rows of `width` parameters.
pub(super) fn placeholders(rows: usize, width: usize) -> String {
    (0..rows)
        .map(|r| format!("({})", (1..=width).map(|c| format!("${}", r * width + c)).collect::<Vec<_>>().join(", ")))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `$start, $start+1, …` for an `IN (…)` list.
/// Strings as one JSON array, for [`Backend::in_json_list`].
pub(super) fn json_text(values: &[String]) -> String {
    serde_json::to_string(values).expect("strings serialize")
}

pub(super) fn list(start: usize, n: usize) -> String {
    (start..start + n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

impl Store {
    /// Which of `ids` are stored already.
    pub(crate) async fn existing_event_ids(
        &self,
        conn: &mut AnyConnection,
        ids: &[&str],
    ) -> Result<BTreeSet<String>, StoreError> {
        let mut found = BTreeSet::new();
        for chunk in ids.chunks(500) {
            let sql = format!("SELECT event_id FROM events WHERE event_id IN ({})", list(1, chunk.len()));
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for id in chunk {
                query = query.bind(*id);
            }
            for row in query.fetch_all(&mut *conn).await? {
                found.insert(row.try_get::<String, _>(0)?);
            }
        }
        Ok(found)
    }

    /// Stores `events` in this order, each linked to the one before it
    /// (`tail`: the chain hash of the last event stored). Returns the new tail.
    pub(crate) async fn insert_events(
        &self,
        tx: &mut Transaction<'_, Any>,
        events: &[Event],
        tail: &str,
    ) -> Result<String, StoreError> {
        const WIDTH: usize = 22;
        let mut tail = tail.to_owned();
        for chunk in events.chunks(self.backend().rows_per_insert()) {
            let sql =
                format!("INSERT INTO events ({EVENT_COLUMNS}, chain_hash) VALUES {}", placeholders(chunk.len(), WIDTH));
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for e in chunk {
                let row = StoredEvent::from(e);
                tail = crate::audit::event_link(&tail, &row.canonical());
                q = row.bind(q).bind(tail.clone());
            }
            q.execute(&mut **tx).await?;
        }
        Ok(tail)
    }

    pub(crate) async fn insert_gap(&self, tx: &mut Transaction<'_, Any>, gap: &SequenceGap) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sequence_gaps (agent_id, first_missing, last_missing, after_ts, before_ts) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (agent_id, first_missing) DO NOTHING",
        )
        .bind(gap.agent_id.clone())
        .bind(gap.first_missing)
        .bind(gap.last_missing)
        .bind(to_millis(gap.after))
        .bind(to_millis(gap.before))
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// An incident's events, oldest first: the first [`INCIDENT_EVENTS`].
    /// `members` is the incident and the duplicates merged into it.
    pub async fn incident_events(&self, members: &[i64]) -> Result<Vec<Event>, StoreError> {
        self.incident_events_since(members, None).await
    }

    /// An incident's events (`members`: it and the duplicates merged into
    /// it) stored after storage position `through` (see
    /// [`Store::events_stored_through`]), oldest first: the first
    /// [`INCIDENT_EVENTS`]; None: all of them.
    pub async fn incident_events_since(&self, members: &[i64], through: Option<i64>) -> Result<Vec<Event>, StoreError> {
        let n = members.len();
        let since = match through {
            Some(_) => format!("AND {} > ${}", self.backend().event_position(), n + 1),
            None => String::new(),
        };
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE incident_id IN ({}) {since} \
             ORDER BY occurred_at, event_id LIMIT {INCIDENT_EVENTS}",
            list(1, n)
        );
        let q = members.iter().fold(sqlx::query(sqlx::AssertSqlSafe(sql)), |q, id| q.bind(*id));
        let q = match through {
            Some(through) => q.bind(through),
            None => q,
        };
        q.fetch_all(&self.read).await?.iter().map(event_from_row).collect()
    }

    /// Events by id, whole; unknown ids are skipped.
    pub async fn events_by_id(&self, ids: &[&str]) -> Result<Vec<Event>, StoreError> {
        let mut conn = self.read.acquire().await?;
        self.events_by_id_in(&mut conn, ids).await
    }

    /// [`Store::events_by_id`] on `conn` (inside a transaction, say).
    pub(crate) async fn events_by_id_in(
        &self,
        conn: &mut AnyConnection,
        ids: &[&str],
    ) -> Result<Vec<Event>, StoreError> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(500) {
            let sql = format!("SELECT {EVENT_COLUMNS} FROM events WHERE event_id IN ({})", list(1, chunk.len()));
            let q = chunk.iter().fold(sqlx::query(sqlx::AssertSqlSafe(sql)), |q, id| q.bind(id.to_string()));
            for row in q.fetch_all(&mut *conn).await? {
                out.push(event_from_row(&row)?);
            }
        }
        Ok(out)
    }
    /// In how many incidents a tool appears.
    pub async fn tool_incident_count(&self, tool: &str) -> Result<i64, StoreError> {
        let row = sqlx::query(
            "SELECT COUNT(DISTINCT incident_id) AS n FROM events WHERE tool = $1 AND incident_id IS NOT NULL",
        )
        .bind(tool)
        .fetch_one(&self.read)
        .await?;
        Ok(row.try_get("n")?)
    }

    /// Gaps of `agents` that overlap `[from, to]`.
    pub async fn gaps(
        &self,
        agents: &[String],
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<SequenceGap>, StoreError> {
        if agents.is_empty() {
            return Ok(vec![]);
        }
        let sql = format!(
            "SELECT agent_id, first_missing, last_missing, after_ts, before_ts FROM sequence_gaps \
             WHERE agent_id IN ({}) AND before_ts >= $1 AND after_ts <= $2 ORDER BY after_ts",
            list(3, agents.len().min(200))
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(to_millis(from)).bind(to_millis(to));
        for a in agents.iter().take(200) {
            q = q.bind(a.clone());
        }
        q.fetch_all(&self.read)
            .await?
            .iter()
            .map(|r| {
                Ok(SequenceGap {
                    agent_id: r.try_get("agent_id")?,
                    first_missing: r.try_get("first_missing")?,
                    last_missing: r.try_get("last_missing")?,
                    after: from_millis(r.try_get("after_ts")?),
                    before: from_millis(r.try_get("before_ts")?),
                })
            })
            .collect()
    }

    /// Error events since `since`, oldest first: to rebuild grouping after a restart.
    pub(crate) async fn recent_errors(&self, since: DateTime<Utc>) -> Result<Vec<Event>, StoreError> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE outcome = 'error' AND occurred_at >= $1 \
             ORDER BY occurred_at, event_id LIMIT 200000"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(to_millis(since)).fetch_all(&self.read).await?;
        rows.iter().map(event_from_row).collect()
    }
}
