//! Actions recorded as events without making the agent wait: each is
//! queued, and a background task posts them in batches (up to
//! [`MAX_BATCH`], or whatever arrived within [`LINGER`]), retrying with
//! backoff while the server cannot take them; a retried batch keeps its
//! event ids, so the server stores each once. What the process holds is
//! bounded (the capacity counts the batch being sent): when it is full (the
//! server unreachable for long), a new record is refused and counted as
//! dropped, never blocking the agent.

use crate::{Backoff, Client, SdkError};
use mandate_contract::api::{AgentStop, EventBody};
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;

/// Events in one request, at most (the API takes 1,000).
pub const MAX_BATCH: usize = 500;
/// How long the first event of a batch waits for others.
pub const LINGER: Duration = Duration::from_millis(50);
/// Events held at most, by default (waiting, and the batch being sent).
pub const QUEUE: usize = 10_000;

/// What became of the events recorded so far.
#[derive(Debug, Default)]
pub struct Counts {
    pub queued: AtomicU64,
    /// Stored (or already stored: a replay is a no-op).
    pub sent: AtomicU64,
    /// Refused by the server, each with its reason in the log.
    pub rejected: AtomicU64,
    /// Not queued: the queue was full.
    pub dropped: AtomicU64,
    /// Requests that delivered a batch.
    pub batches: AtomicU64,
}

/// A queue of events posted in the background. Dropping it stops the
/// task; [`Recorder::flush`] first to send what is queued.
pub struct Recorder {
    queue: mpsc::UnboundedSender<EventBody>,
    /// Events held now, and at most.
    held: Arc<AtomicU64>,
    capacity: u64,
    counts: Arc<Counts>,
    /// Stops the server said hold on agents of the events sent.
    stopped: Arc<Mutex<BTreeMap<String, AgentStop>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Recorder {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl Recorder {
    /// Starts the background task (a tokio runtime must be running),
    /// holding at most [`QUEUE`] events.
    pub fn start(client: &Client) -> Recorder {
        Recorder::with_capacity(client, QUEUE)
    }

    /// [`Recorder::start`], holding at most `capacity` events.
    pub fn with_capacity(client: &Client, capacity: usize) -> Recorder {
        let (queue, receiver) = mpsc::unbounded_channel();
        let counts = Arc::new(Counts::default());
        let held = Arc::new(AtomicU64::new(0));
        let stopped = Arc::new(Mutex::new(BTreeMap::new()));
        let task = tokio::spawn(send(client.clone(), receiver, counts.clone(), held.clone(), stopped.clone()));
        Recorder { queue, held, capacity: capacity.max(1) as u64, counts, stopped, task }
    }

    /// Keeps `event` to send; never waits. False when the buffer is full
    /// (the event is counted as dropped).
    pub fn record(&self, event: EventBody) -> bool {
        let room =
            self.held.fetch_update(Ordering::AcqRel, Ordering::Acquire, |n| (n < self.capacity).then_some(n + 1));
        if room.is_err() || self.queue.send(event).is_err() {
            if room.is_ok() {
                self.held.fetch_sub(1, Ordering::AcqRel);
            }
            let dropped = self.counts.dropped.fetch_add(1, Ordering::Relaxed) + 1;
            if dropped % 1000 == 1 {
                tracing::warn!(capacity = self.capacity, dropped, "the buffer holds the most events it may; dropping");
            }
            return false;
        }
        self.counts.queued.fetch_add(1, Ordering::Relaxed);
        true
    }

    pub fn counts(&self) -> &Counts {
        &self.counts
    }

    /// The stops the server said were in force on the agents of the events
    /// sent so far: an agent without a control subscription learns here.
    pub fn stopped(&self) -> BTreeMap<String, AgentStop> {
        self.stopped.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Waits until every event queued so far is sent or refused, at most
    /// `limit`; whether it got there.
    pub async fn flush(&self, limit: Duration) -> bool {
        let started = tokio::time::Instant::now();
        loop {
            let c = &self.counts;
            let done = c.sent.load(Ordering::Relaxed) + c.rejected.load(Ordering::Relaxed);
            if done >= c.queued.load(Ordering::Relaxed) {
                return true;
            }
            if started.elapsed() >= limit {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }
}

async fn send(
    client: Client,
    mut receiver: mpsc::UnboundedReceiver<EventBody>,
    counts: Arc<Counts>,
    held: Arc<AtomicU64>,
    stopped: Arc<Mutex<BTreeMap<String, AgentStop>>>,
) {
    let backoff = Backoff { base: Duration::from_millis(200), cap: Duration::from_secs(15) };
    while let Some(first) = receiver.recv().await {
        let mut batch = vec![first];
        let linger = tokio::time::sleep(LINGER);
        tokio::pin!(linger);
        while batch.len() < MAX_BATCH {
            tokio::select! {
                next = receiver.recv() => match next {
                    Some(event) => batch.push(event),
                    None => break,
                },
                () = &mut linger => break,
            }
        }
        let mut attempt = 0u32;
        loop {
            match client.post_events(&batch).await {
                Ok(report) => {
                    counts.batches.fetch_add(1, Ordering::Relaxed);
                    counts.sent.fetch_add((report.accepted + report.duplicates) as u64, Ordering::Relaxed);
                    counts.rejected.fetch_add(report.rejected.len() as u64, Ordering::Relaxed);
                    for r in &report.rejected {
                        tracing::warn!(event_id = ?r.event_id, code = %r.error.code, "event refused: {}", r.error.message);
                    }
                    let mut known = stopped.lock().unwrap_or_else(|e| e.into_inner());
                    let agents: Vec<&str> = batch.iter().filter_map(|e| e.agent_id.as_deref()).collect();
                    known.retain(|agent, _| !agents.contains(&agent.as_str()));
                    known.extend(report.stopped);
                    held.fetch_sub(batch.len() as u64, Ordering::AcqRel);
                    break;
                }
                // The whole batch refused as it is: retrying cannot help.
                Err(SdkError::Api { status, body }) if (400..500).contains(&status) && status != 429 => {
                    counts.rejected.fetch_add(batch.len() as u64, Ordering::Relaxed);
                    tracing::warn!(status, code = %body.code, "{} events refused: {}", batch.len(), body.message);
                    held.fetch_sub(batch.len() as u64, Ordering::AcqRel);
                    break;
                }
                Err(e) => {
                    let asked = match &e {
                        SdkError::Api { status: 429, .. } => Some(Duration::from_secs(1)),
                        _ => None,
                    };
                    tracing::warn!("cannot send {} events yet, retrying: {e}", batch.len());
                    let jitter = f64::from(chrono::Utc::now().timestamp_subsec_nanos() % 1000) / 1000.0;
                    tokio::time::sleep(backoff.delay(attempt, jitter, asked)).await;
                    attempt = attempt.saturating_add(1);
                }
            }
        }
    }
}
