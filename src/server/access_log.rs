//! Who looked: a person's read of an incident's detail or of the audit
//! log is recorded in the access log, at most once a minute per person and
//! thing read (a console refreshing an open incident is one reader, not
//! sixty rows a minute). Rows are written by a task of their own, in
//! batches, so a read never waits on a write.

use crate::api::{AccessEntry, Role};
use crate::auth::Principal;
use crate::store::Store;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// One row per person and thing read within this time.
pub const ONCE_PER: Duration = Duration::from_secs(60);
const QUEUED: usize = 10_000;
const BATCH: usize = 500;

#[derive(Debug)]
pub struct AccessLog {
    queue: mpsc::Sender<AccessEntry>,
    recent: Mutex<HashMap<(String, &'static str, String), Instant>>,
}

impl AccessLog {
    pub fn start(store: Store) -> AccessLog {
        let (queue, mut rx) = mpsc::channel::<AccessEntry>(QUEUED);
        tokio::spawn(async move {
            let mut batch = Vec::with_capacity(BATCH);
            while rx.recv_many(&mut batch, BATCH).await > 0 {
                if let Err(e) = store.record_access(&batch).await {
                    tracing::warn!(error = %e, reads = batch.len(), "cannot write to the access log");
                }
                batch.clear();
            }
        });
        AccessLog { queue, recent: Mutex::default() }
    }

    /// `who` read `what` (`incident_detail`, `audit_log`) of `target`.
    /// Agents' reads are not people looking, and are not recorded.
    pub fn looked(&self, who: &Principal, what: &'static str, target: String) {
        if who.role == Role::Agent {
            return;
        }
        let now = Instant::now();
        {
            let mut recent = self.recent.lock();
            if recent.len() >= QUEUED {
                recent.retain(|_, at| now.duration_since(*at) < ONCE_PER);
            }
            let key = (who.name.clone(), what, target.clone());
            if recent.get(&key).is_some_and(|at| now.duration_since(*at) < ONCE_PER) {
                return;
            }
            recent.insert(key, now);
        }
        let entry = AccessEntry {
            id: 0,
            at: chrono::Utc::now(),
            principal: who.name.clone(),
            role: who.role,
            what: what.to_owned(),
            target,
        };
        if self.queue.try_send(entry).is_err() {
            tracing::warn!(principal = %who.name, what, "the access log's queue is full: a read was not recorded");
        }
    }
}
