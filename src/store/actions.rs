//! What root-cause scoring reads of the actions around an incident: a light
//! projection of them, read whole once and then only what was stored since.

use super::events::json_text;
use super::{Store, StoreError, from_millis, to_millis};
use crate::api::{Event, Outcome};
use crate::attribution::ActorType;
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::any::AnyRow;
use std::collections::BTreeSet;

/// Actions read per query when looking for a root cause: a day of a busy
/// fleet's changes to the failing services and their dependencies.
pub const MAX_ACTIONS: usize = 20_000;

/// Nested calls read under the actions found, at most.
pub const MAX_NESTED: usize = 5_000;

/// Deploys and migrations read per incident, newest first.
pub const HISTORY: usize = 500;

/// Newest first, then by id: the order of a change history. (An
/// aggregate's order is the database's choice.)
pub fn newest_first(events: &mut [Event]) {
    events.sort_by(|a, b| b.occurred_at.cmp(&a.occurred_at).then(b.event_id.cmp(&a.event_id)));
}

/// The actions around an incident, as [`Store::related_actions`] reads them.
#[derive(Debug)]
pub struct Related {
    pub actions: Vec<Event>,
    /// False when a query stopped at its limit: there were more.
    pub complete: bool,
}

/// What root-cause scoring reads of an action: who, what, where, when, how
/// it nests, and the two metadata fields an error message may name. The
/// rest (payload, flags, error text) is read only for what is listed.
/// The rows come back as one JSON array: one row per action would cost a
/// hand-off between the database's thread and the runtime for each.
const ACTION_COLUMNS: &str = "event_id, agent_id, actor_type, actor_id, action_type, tool, resource, scope, trace_id, \
     parent_event_id, occurred_at, outcome";

/// The metadata fields scoring matches against error messages, and the
/// ones suggestions quote (how to roll back or revert a change).
const NAMED_IN_METADATA: [&str; 4] = ["config_key", "version", "rollback_command", "revert_command"];

/// One action as [`Backend::actions_json`] gives it.
type ActionTuple = (
    String,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Option<String>,
    Vec<String>,
    Option<String>,
    Option<String>,
    i64,
    String,
    [serde_json::Value; 4],
);

impl super::Backend {
    /// A query giving the actions `filter` selects (a `WHERE … ORDER BY …
    /// LIMIT …` over `events`) as one JSON array of [`ActionTuple`]s (see
    /// [`Backend::json_rows`]).
    fn actions_json(self, filter: &str) -> String {
        let mut fields: Vec<String> = ACTION_COLUMNS.split(", ").map(str::to_owned).collect();
        match self {
            super::Backend::Sqlite => {
                fields[7] = "json(scope)".to_owned();
                // Several paths: one parse, an array of their values.
                let paths: Vec<String> = NAMED_IN_METADATA.iter().map(|key| format!("'$.{key}'")).collect();
                fields.push(format!("json_extract(metadata, {})", paths.join(", ")));
                self.json_rows(&format!("SELECT {ACTION_COLUMNS}, metadata FROM events {filter}"), &fields)
            }
            super::Backend::Postgres => {
                fields[7] = "scope::json".to_owned();
                let named: Vec<String> = NAMED_IN_METADATA.iter().map(|key| format!("m -> '{key}'")).collect();
                fields.push(format!("json_build_array({})", named.join(", ")));
                self.json_rows(&format!("SELECT {ACTION_COLUMNS}, metadata::json AS m FROM events {filter}"), &fields)
            }
        }
    }
}

/// The actions of an [`Backend::actions_json`] row: events whose metadata
/// holds only the fields scoring reads.
fn actions_from_row(row: &AnyRow) -> Result<Vec<Event>, StoreError> {
    let raw: String = row.try_get("rows_json")?;
    let tuples: Vec<ActionTuple> =
        serde_json::from_str(&raw).map_err(|e| StoreError::Refused(format!("unreadable actions: {e}")))?;
    Ok(tuples
        .into_iter()
        .map(
            |(
                event_id,
                agent_id,
                actor_type,
                actor_id,
                action_type,
                tool,
                resource,
                scope,
                trace_id,
                parent,
                at,
                outcome,
                named,
            )| {
                let occurred_at = from_millis(at);
                let mut metadata = serde_json::Map::new();
                // Only strings: what `Event::metadata_str` reads.
                for (name, value) in NAMED_IN_METADATA.into_iter().zip(named) {
                    if value.is_string() {
                        metadata.insert(name.to_owned(), value);
                    }
                }
                Event {
                    event_id,
                    agent_id,
                    actor_type: actor_type.as_deref().and_then(ActorType::parse),
                    actor_id,
                    origin_system_id: None,
                    run_id: None,
                    parent_event_id: parent,
                    action_type,
                    tool,
                    resource,
                    scope,
                    outcome: Outcome::parse(&outcome).unwrap_or(Outcome::Error),
                    error_code: None,
                    error_message: None,
                    trace_id,
                    seq: None,
                    occurred_at,
                    received_at: occurred_at,
                    metadata,
                    flags: vec![],
                    incident_id: None,
                }
            },
        )
        .collect())
}

impl Store {
    /// The calls in `[from, to]` made from one of `parents`, projected.
    pub async fn children_of(
        &self,
        parents: &[String],
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<Event>, StoreError> {
        let sql = self.backend().actions_json(&format!(
            "WHERE {} AND occurred_at >= $1 AND occurred_at <= $2",
            self.backend().in_json_list("parent_event_id", 3)
        ));
        let q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(to_millis(from)).bind(to_millis(to));
        actions_from_row(&q.bind(json_text(parents)).fetch_one(&self.read).await?)
    }

    /// Successful actions in `[from, to]` on `resources` or carrying one of
    /// `traces`, with the calls nested under them: the candidates for a root
    /// cause, newest first, at most [`MAX_ACTIONS`] per query. A light
    /// projection (see [`ACTION_COLUMNS`]): what scoring reads, no more;
    /// [`Store::events_by_id`] reads the full rows of what is listed. The
    /// per-resource queries run side by side on the read pool.
    pub async fn related_actions(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        resources: &[String],
        traces: &[String],
    ) -> Result<Related, StoreError> {
        let backend = self.backend();
        let query = |column: &'static str, values: &[String]| {
            let list = (!values.is_empty()).then(|| json_text(values));
            async move {
                let Some(list) = list else { return Ok::<_, StoreError>(vec![]) };
                // One more than is kept: whether there were more.
                let sql = backend.actions_json(&format!(
                    "WHERE {} AND outcome = 'ok' AND occurred_at >= $1 AND occurred_at <= $2 \
                     ORDER BY occurred_at DESC LIMIT {}",
                    backend.in_json_list(column, 3),
                    MAX_ACTIONS + 1
                ));
                let q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(to_millis(from)).bind(to_millis(to));
                actions_from_row(&q.bind(list).fetch_one(&self.read).await?)
            }
        };
        let (by_resource, by_trace) = tokio::join!(query("resource", resources), query("trace_id", traces));
        let mut related = Related { actions: Vec::new(), complete: true };
        let mut seen = BTreeSet::new();
        for batch in [by_resource?, by_trace?] {
            related.complete &= batch.len() <= MAX_ACTIONS;
            for e in batch {
                if seen.insert(e.event_id.clone()) {
                    related.actions.push(e);
                }
            }
        }
        // Calls nested under what was found, a level at a time (at most
        // 16 levels and MAX_NESTED calls), by their parent.
        let mut frontier: Vec<String> = related.actions.iter().map(|e| e.event_id.clone()).collect();
        let mut nested = 0;
        for _ in 0..16 {
            if frontier.is_empty() {
                break;
            }
            if nested >= MAX_NESTED {
                related.complete = false;
                break;
            }
            let children = self.children_of(&frontier, from, to).await?;
            frontier = Vec::new();
            for e in children {
                if seen.insert(e.event_id.clone()) {
                    frontier.push(e.event_id.clone());
                    related.actions.push(e);
                    nested += 1;
                }
            }
        }
        Ok(related)
    }

    /// Where the storage of events stands: the position of the last event
    /// stored. Events are stored one change at a time (SQLite's one writer;
    /// on PostgreSQL, under the `desk_head` lock), so an event stored after
    /// this was read has a greater position.
    pub async fn events_stored_through(&self) -> Result<i64, StoreError> {
        let position = self.backend().event_position();
        let sql = format!("SELECT COALESCE(MAX({position}), 0) AS through FROM events");
        Ok(sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_one(&self.read).await?.try_get("through")?)
    }

    /// What [`Store::related_actions`] may have to add to what it read at
    /// storage position `through` for `[from, to]`, `resources` and `traces`,
    /// now that the window reaches `to` rather than `seen_to`: the events
    /// stored after `through` in the window, and those of `(seen_to, to]`,
    /// that are successful actions on `resources` or `traces`, or calls made
    /// from another event. Which of those calls nest under the actions is for
    /// the caller to say, knowing the actions. None: more than
    /// [`MAX_ACTIONS`] of them, read it all again.
    pub async fn related_actions_since(
        &self,
        through: i64,
        window: (DateTime<Utc>, DateTime<Utc>),
        seen_to: DateTime<Utc>,
        resources: &[String],
        traces: &[String],
    ) -> Result<Option<Vec<Event>>, StoreError> {
        let backend = self.backend();
        let position = backend.event_position();
        let (from, to) = window;
        let wanted = format!(
            "((outcome = 'ok' AND ({} OR {})) OR parent_event_id IS NOT NULL)",
            backend.in_json_list("resource", 3),
            backend.in_json_list("trace_id", 4)
        );
        let (resources, traces) = (json_text(resources), json_text(traces));
        let query = |filter: String, start: i64, through: Option<i64>| {
            let sql = backend.actions_json(&format!("{filter} AND {wanted} LIMIT {}", MAX_ACTIONS + 1));
            let q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(start).bind(to_millis(to));
            let q = q.bind(resources.clone()).bind(traces.clone());
            let q = match through {
                Some(through) => q.bind(through),
                None => q,
            };
            async move { actions_from_row(&q.fetch_one(&self.read).await?) }
        };
        // Two queries, each on its index: stored since (by position: `+ 0`
        // keeps the planner off the index on time, which covers the whole
        // window), and newly covered (by time).
        let (stored, later) = tokio::join!(
            query(
                format!("WHERE {position} > $5 AND occurred_at + 0 >= $1 AND occurred_at + 0 <= $2"),
                to_millis(from),
                Some(through)
            ),
            query("WHERE occurred_at > $1 AND occurred_at <= $2".to_owned(), to_millis(seen_to), None),
        );
        let (stored, later) = (stored?, later?);
        if stored.len() > MAX_ACTIONS || later.len() > MAX_ACTIONS {
            return Ok(None);
        }
        let mut seen = BTreeSet::new();
        Ok(Some(stored.into_iter().chain(later).filter(|e| seen.insert(e.event_id.clone())).collect()))
    }

    /// Deploys and migrations on `resources`, newest first, projected as
    /// [`Store::related_actions`] projects them: at most [`HISTORY`].
    pub async fn change_history(&self, resources: &[String]) -> Result<Vec<Event>, StoreError> {
        self.changes_where(resources, None).await
    }

    /// The deploys and migrations on `resources` stored after position
    /// `through`: what [`Store::change_history`] may have to add to what it
    /// read at `through`.
    pub async fn change_history_since(&self, through: i64, resources: &[String]) -> Result<Vec<Event>, StoreError> {
        self.changes_where(resources, Some(through)).await
    }

    async fn changes_where(&self, resources: &[String], after: Option<i64>) -> Result<Vec<Event>, StoreError> {
        if resources.is_empty() {
            return Ok(vec![]);
        }
        let backend = self.backend();
        // Since a position: by position, kept off the index on resources
        // (all their history) by matching an expression rather than the column.
        let (resource, stored) = match after {
            Some(_) => ("resource || ''", format!("AND {} > $2", backend.event_position())),
            None => ("resource", String::new()),
        };
        let sql = backend.actions_json(&format!(
            "WHERE {} {stored} \
             AND action_type IN ('deploy', 'config_change', 'migration', 'db_migration', 'schema_migration') \
             ORDER BY occurred_at DESC LIMIT {HISTORY}",
            backend.in_json_list(resource, 1)
        ));
        let q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(json_text(resources));
        let q = match after {
            Some(through) => q.bind(through),
            None => q,
        };
        let mut history = actions_from_row(&q.fetch_one(&self.read).await?)?;
        newest_first(&mut history);
        Ok(history)
    }
}
