use super::{Store, StoreError, from_millis, to_millis};
use crate::api::{Bucket, Dimension, RiskLevel, Run, RunSource, RunState, RunStatus, Topic};
use crate::attribution::ActorType;
use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::{FromRow, Row};

/// A run that passed validation, ready to insert.
#[derive(Debug, Clone)]
pub struct NewRun {
    pub run_id: String,
    pub goal: String,
    pub agent_id: String,
    pub actor_type: ActorType,
    pub actor_id: Option<String>,
    pub origin_system_id: String,
    pub source: RunSource,
    pub provider_type: String,
    pub risk_level: RiskLevel,
    pub origin_ts: Option<DateTime<Utc>>,
    pub origin_ip: Option<String>,
    pub created_at: DateTime<Utc>,
}

/// A run that had ended before it was reported, and how.
#[derive(Debug, Clone)]
pub struct FinishedRun {
    pub run: NewRun,
    /// succeeded, failed or cancelled.
    pub status: RunStatus,
    pub completed_at: DateTime<Utc>,
}

/// Which runs `list_runs` returns.
#[derive(Debug, Clone, Default)]
pub struct RunFilter {
    pub agent_id: Option<String>,
    pub state: Option<RunState>,
}

/// Position after the last run of a page: runs are listed newest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunCursor {
    pub created_at_ms: i64,
    pub run_id: String,
}

impl RunCursor {
    pub fn encode(&self) -> String {
        format!("{}.{}", self.created_at_ms, self.run_id)
    }

    pub fn decode(raw: &str) -> Option<RunCursor> {
        let (ms, id) = raw.split_once('.')?;
        Some(RunCursor { created_at_ms: ms.parse().ok()?, run_id: id.to_owned() }).filter(|c| !c.run_id.is_empty())
    }
}

pub(super) const RUN_COLUMNS: &str = "run_id, goal, agent_id, actor_type, actor_id, origin_system_id, source, state, status, \
     provider_type, risk_level, origin_ts, origin_ip, created_at, completed_at";

/// A run's row as stored.
#[derive(sqlx::FromRow)]
struct RunRow {
    run_id: String,
    goal: String,
    agent_id: String,
    actor_type: String,
    actor_id: Option<String>,
    origin_system_id: String,
    source: String,
    state: String,
    status: String,
    provider_type: String,
    risk_level: String,
    origin_ts: Option<i64>,
    origin_ip: Option<String>,
    created_at: i64,
    completed_at: Option<i64>,
}

fn decode<T>(column: &str, raw: &str, parse: fn(&str) -> Option<T>) -> Result<T, StoreError> {
    parse(raw).ok_or_else(|| StoreError::Refused(format!("runs.{column} holds an unknown value {raw:?}")))
}

pub(super) fn run_from_row(row: &AnyRow) -> Result<Run, StoreError> {
    let row = RunRow::from_row(row)?;
    Ok(Run {
        actor_type: decode("actor_type", &row.actor_type, ActorType::parse)?,
        source: decode("source", &row.source, RunSource::parse)?,
        state: decode("state", &row.state, RunState::parse)?,
        status: decode("status", &row.status, RunStatus::parse)?,
        risk_level: decode("risk_level", &row.risk_level, RiskLevel::parse)?,
        run_id: row.run_id,
        goal: row.goal,
        agent_id: row.agent_id,
        actor_id: row.actor_id,
        origin_system_id: row.origin_system_id,
        provider_type: row.provider_type,
        origin_ts: row.origin_ts.map(from_millis),
        origin_ip: row.origin_ip,
        created_at: from_millis(row.created_at),
        completed_at: row.completed_at.map(from_millis),
        dispute: None,
    })
}

/// Why a run could not be completed.
#[derive(Debug)]
pub enum CompleteOutcome {
    Completed(Run),
    NotFound,
    AlreadyCompleted(Run),
}

impl Store {
    /// Inserts a validated run. Concurrent inserts share one commit.
    pub async fn insert_run(&self, run: NewRun) -> Result<Run, StoreError> {
        self.run_writer.insert(run).await
    }

    pub async fn get_run(&self, run_id: &str) -> Result<Option<Run>, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!("SELECT {RUN_COLUMNS} FROM runs WHERE run_id = $1"));
        let row = sqlx::query(sql).bind(run_id).fetch_optional(&self.read).await?;
        row.as_ref().map(run_from_row).transpose()
    }

    /// The agent of each run in `run_ids` that is stored; unknown ids are left out.
    pub async fn run_agents(&self, run_ids: &[&str]) -> Result<std::collections::BTreeMap<String, String>, StoreError> {
        let mut agents = std::collections::BTreeMap::new();
        for chunk in run_ids.chunks(500) {
            let sql =
                format!("SELECT run_id, agent_id FROM runs WHERE run_id IN ({})", super::events::list(1, chunk.len()));
            let q = chunk.iter().fold(sqlx::query(sqlx::AssertSqlSafe(sql)), |q, id| q.bind(id.to_string()));
            for row in q.fetch_all(&self.read).await? {
                agents.insert(row.try_get("run_id")?, row.try_get("agent_id")?);
            }
        }
        Ok(agents)
    }

    /// Stores runs that had already finished when Mandate heard of them (an
    /// OpenTelemetry `invoke_agent` span arrives when it ends), as COMPLETED,
    /// all in one transaction. A run_id already stored is left as it is, so
    /// a re-sent batch changes nothing. Returns how many were new.
    pub async fn record_finished_runs(&self, runs: &[FinishedRun]) -> Result<usize, StoreError> {
        let mut seen = std::collections::HashSet::new();
        let runs: Vec<&FinishedRun> = runs.iter().filter(|r| seen.insert(r.run.run_id.as_str())).collect();
        if runs.is_empty() {
            return Ok(0);
        }
        let mut tx = self.write.begin().await?;
        let mut stored = 0;
        for chunk in runs.chunks(self.backend().rows_per_insert()) {
            let sql = format!(
                "INSERT INTO runs ({RUN_COLUMNS}) VALUES {} ON CONFLICT (run_id) DO NOTHING RETURNING {RUN_COLUMNS}",
                super::events::placeholders(chunk.len(), 15)
            );
            let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
            for FinishedRun { run, status, completed_at } in chunk.iter().copied() {
                query = super::run_writer::bind_run(
                    query,
                    run,
                    *status,
                    Some(to_millis((*completed_at).max(run.created_at))),
                );
            }
            let rows = query.fetch_all(&mut *tx).await?;
            let records = super::run_records::records_of(&rows, true)?;
            super::run_records::append_run_records(&mut tx, self.backend(), &records).await?;
            stored += rows.len();
        }
        tx.commit().await?;
        Ok(stored)
    }

    /// Moves a LIVE run to COMPLETED with its final status.
    pub async fn complete_run(
        &self,
        run_id: &str,
        status: RunStatus,
        at: DateTime<Utc>,
    ) -> Result<CompleteOutcome, StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "UPDATE runs SET state = 'COMPLETED', status = $1, completed_at = $2 \
             WHERE run_id = $3 AND state = 'LIVE' RETURNING {RUN_COLUMNS}"
        ));
        let mut tx = self.write.begin().await?;
        let row =
            sqlx::query(sql).bind(status.as_str()).bind(to_millis(at)).bind(run_id).fetch_optional(&mut *tx).await?;
        if let Some(row) = &row {
            let records = super::run_records::records_of(std::slice::from_ref(row), false)?;
            super::run_records::append_run_records(&mut tx, self.backend(), &records).await?;
        }
        tx.commit().await?;
        match row {
            Some(row) => Ok(CompleteOutcome::Completed(run_from_row(&row)?)),
            None => Ok(match self.get_run(run_id).await? {
                Some(run) => CompleteOutcome::AlreadyCompleted(run),
                None => CompleteOutcome::NotFound,
            }),
        }
    }

    /// Newest first, `limit` at most, after `cursor` when given.
    pub async fn list_runs(
        &self,
        filter: &RunFilter,
        cursor: Option<&RunCursor>,
        limit: u32,
    ) -> Result<(Vec<Run>, Option<RunCursor>), StoreError> {
        let sql = sqlx::AssertSqlSafe(format!(
            "SELECT {RUN_COLUMNS} FROM runs \
             WHERE (CAST($1 AS TEXT) IS NULL OR agent_id = $1) \
               AND (CAST($2 AS TEXT) IS NULL OR state = $2) \
               AND (CAST($3 AS BIGINT) IS NULL OR created_at < $3 OR (created_at = $3 AND run_id < $4)) \
             ORDER BY created_at DESC, run_id DESC LIMIT $5"
        ));
        let rows = sqlx::query(sql)
            .bind(filter.agent_id.as_deref())
            .bind(filter.state.map(RunState::as_str))
            .bind(cursor.map(|c| c.created_at_ms))
            .bind(cursor.map(|c| c.run_id.as_str()).unwrap_or(""))
            .bind(i64::from(limit) + 1)
            .fetch_all(&self.read)
            .await?;
        let mut runs = rows.iter().map(run_from_row).collect::<Result<Vec<_>, _>>()?;
        let next = if runs.len() > limit as usize {
            runs.truncate(limit as usize);
            runs.last().map(|r| RunCursor { created_at_ms: to_millis(r.created_at), run_id: r.run_id.clone() })
        } else {
            None
        };
        Ok((runs, next))
    }

    /// Run counts in one topic cut by one dimension, largest first. Reads the
    /// counts kept beside `v_runs_o2`, so the cost does not grow with the runs.
    pub async fn distribution(&self, topic: Topic, dim: Dimension) -> Result<Vec<Bucket>, StoreError> {
        let rows = sqlx::query(
            "SELECT value, run_count FROM runs_o2_counts \
             WHERE state = $1 AND dim = $2 AND run_count > 0 \
             ORDER BY run_count DESC, value ASC",
        )
        .bind(topic.as_str())
        .bind(dim.as_str())
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(|row| Ok(Bucket { value: row.try_get("value")?, count: row.try_get("run_count")? })).collect()
    }
}
