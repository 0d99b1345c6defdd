//! Group commit for new runs: inserts that arrive while the database is busy
//! are written together, as one multi-row INSERT in one transaction, so a
//! burst of runs costs one commit instead of one each.

use super::runs::{RUN_COLUMNS, run_from_row};
use super::{NewRun, StoreError, to_millis};
use crate::api::Run;
use sqlx::AnyPool;
use std::collections::HashMap;
use tokio::sync::{mpsc, oneshot};

/// At most this many runs go into one statement (12 parameters each).
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
    pub(crate) fn spawn(pool: AnyPool) -> RunWriter {
        let (queue, receiver) = mpsc::channel(4 * MAX_BATCH);
        tokio::spawn(write_batches(pool, receiver));
        RunWriter { queue }
    }

    pub(crate) async fn insert(&self, run: NewRun) -> Result<Run, StoreError> {
        let (reply, answer) = oneshot::channel();
        let closed = || StoreError::Config("the store is closed".to_owned());
        self.queue.send(Pending { run, reply }).await.map_err(|_| closed())?;
        answer.await.map_err(|_| closed())?
    }
}

async fn write_batches(pool: AnyPool, mut receiver: mpsc::Receiver<Pending>) {
    let mut batch = Vec::with_capacity(MAX_BATCH);
    while receiver.recv_many(&mut batch, MAX_BATCH).await > 0 {
        match insert_many(&pool, &batch).await {
            Ok(mut stored) => {
                for pending in batch.drain(..) {
                    let result = stored.remove(&pending.run.run_id).ok_or_else(|| {
                        StoreError::Config(format!("run {} was not returned by its INSERT", pending.run.run_id))
                    });
                    let _ = pending.reply.send(result);
                }
            }
            // One bad row must not fail its neighbours: retry them one by one,
            // so each caller gets its own answer.
            Err(_) if batch.len() > 1 => {
                for pending in batch.drain(..) {
                    let result = insert_many(&pool, std::slice::from_ref(&pending))
                        .await
                        .map(|mut stored| stored.remove(&pending.run.run_id).expect("the one row inserted"));
                    let _ = pending.reply.send(result);
                }
            }
            Err(e) => {
                if let Some(pending) = batch.pop() {
                    let _ = pending.reply.send(Err(e));
                }
            }
        }
    }
}

async fn insert_many(pool: &AnyPool, batch: &[Pending]) -> Result<HashMap<String, Run>, StoreError> {
    let mut sql = format!("INSERT INTO runs ({RUN_COLUMNS}) VALUES ");
    for i in 0..batch.len() {
        let p = i * 12;
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push_str(&format!(
            "(${}, ${}, ${}, ${}, ${}, ${}, ${}, 'LIVE', 'running', ${}, ${}, ${}, ${}, ${}, NULL)",
            p + 1,
            p + 2,
            p + 3,
            p + 4,
            p + 5,
            p + 6,
            p + 7,
            p + 8,
            p + 9,
            p + 10,
            p + 11,
            p + 12
        ));
    }
    sql.push_str(&format!(" RETURNING {RUN_COLUMNS}"));
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for Pending { run, .. } in batch {
        query = query
            .bind(run.run_id.clone())
            .bind(run.goal.clone())
            .bind(run.agent_id.clone())
            .bind(run.actor_type.as_str())
            .bind(run.actor_id.clone())
            .bind(run.origin_system_id.clone())
            .bind(run.source.as_str())
            .bind(run.provider_type.clone())
            .bind(run.risk_level.as_str())
            .bind(run.origin_ts.map(to_millis))
            .bind(run.origin_ip.clone())
            .bind(to_millis(run.created_at));
    }
    let rows = query.fetch_all(pool).await?;
    rows.iter().map(|row| run_from_row(row).map(|run| (run.run_id.clone(), run))).collect()
}
