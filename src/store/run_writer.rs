//! Group commit for new runs: inserts that arrive while the database is busy
//! are written together, as one multi-row INSERT, so a burst of runs costs
//! one commit instead of one each, with their creation records (see
//! `run_records`). Callers are answered after the commit.

use super::events::placeholders;
use super::runs::{RUN_COLUMNS, run_from_row};
use super::{Backend, NewRun, StoreError, to_millis};
use crate::api::{Run, RunStatus};
use sqlx::AnyPool;
use std::collections::HashMap;
use tokio::sync::{mpsc, oneshot};

/// At most this many runs share one commit.
const MAX_BATCH: usize = 256;

struct Pending {
    run: NewRun,
    reply: oneshot::Sender<Result<Run, StoreError>>,
}

#[derive(Clone, Debug)]
pub(crate) struct RunWriter {
    queue: mpsc::Sender<Pending>,
}

impl std::fmt::Debug for Pending {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pending").field("run_id", &self.run.run_id).finish()
    }
}

impl RunWriter {
    pub(crate) fn spawn(pool: AnyPool, backend: Backend) -> RunWriter {
        let (queue, receiver) = mpsc::channel(4 * MAX_BATCH);
        tokio::spawn(write_batches(pool, backend, receiver));
        RunWriter { queue }
    }

    pub(crate) async fn insert(&self, run: NewRun) -> Result<Run, StoreError> {
        let (reply, answer) = oneshot::channel();
        let closed = || StoreError::Config("the store is closed".to_owned());
        self.queue.send(Pending { run, reply }).await.map_err(|_| closed())?;
        answer.await.map_err(|_| closed())?
    }
}

async fn write_batches(pool: AnyPool, backend: Backend, mut receiver: mpsc::Receiver<Pending>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while receiver.recv_many(&mut batch, MAX_BATCH).await > 0 {
        let results = write(&pool, backend, &batch).await;
        for (pending, result) in batch.drain(..).zip(results) {
            let _ = pending.reply.send(result);
        }
    }
}

/// One multi-row INSERT: atomic on its own, one commit for the whole batch.
/// If the database refuses any row, every row is retried alone so each
/// caller gets its own answer and one bad row never fails its neighbours.
async fn write(pool: &AnyPool, backend: Backend, batch: &[Pending]) -> Vec<Result<Run, StoreError>> {
    match insert(pool, backend, batch).await {
        Ok(mut stored) => batch
            .iter()
            .map(|p| {
                stored
                    .remove(&p.run.run_id)
                    .ok_or_else(|| StoreError::Config(format!("run {} was not returned by its INSERT", p.run.run_id)))
            })
            .collect(),
        Err(e) if batch.len() == 1 => vec![Err(e)],
        Err(_) => {
            let mut results = Vec::with_capacity(batch.len());
            for pending in batch {
                let one = insert(pool, backend, std::slice::from_ref(pending)).await;
                results.push(one.map(|mut stored| stored.remove(&pending.run.run_id).expect("the row inserted")));
            }
            results
        }
    }
}

/// Binds one row of `RUN_COLUMNS`: the run, LIVE while `status` is running,
/// else COMPLETED at `completed_at`.
pub(super) fn bind_run<'q>(
    query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments>,
    run: &NewRun,
    status: RunStatus,
    completed_at: Option<i64>,
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments> {
    query
        .bind(run.run_id.clone())
        .bind(run.goal.clone())
        .bind(run.agent_id.clone())
        .bind(run.actor_type.as_str())
        .bind(run.actor_id.clone())
        .bind(run.origin_system_id.clone())
        .bind(run.source.as_str())
        .bind(if status == RunStatus::Running { "LIVE" } else { "COMPLETED" })
        .bind(status.as_str())
        .bind(run.provider_type.clone())
        .bind(run.risk_level.as_str())
        .bind(run.origin_ts.map(to_millis))
        .bind(run.origin_ip.clone())
        .bind(to_millis(run.created_at))
        .bind(completed_at)
}

async fn insert(pool: &AnyPool, backend: Backend, batch: &[Pending]) -> Result<HashMap<String, Run>, StoreError> {
    let sql =
        format!("INSERT INTO runs ({RUN_COLUMNS}) VALUES {} RETURNING {RUN_COLUMNS}", placeholders(batch.len(), 15));
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for Pending { run, .. } in batch {
        query = bind_run(query, run, RunStatus::Running, None);
    }
    let mut tx = pool.begin().await?;
    let rows = query.fetch_all(&mut *tx).await?;
    super::run_records::append_run_records(&mut tx, backend, &super::run_records::records_of(&rows, true)?).await?;
    tx.commit().await?;
    rows.iter().map(|row| run_from_row(row).map(|run| (run.run_id.clone(), run))).collect()
}
