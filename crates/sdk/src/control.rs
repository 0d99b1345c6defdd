//! The agent's side of a stop: a subscription that keeps the controls the
//! server holds for this agent (the stop in force, the disabled tools) in a
//! local copy, and a check against that copy before every action, which
//! never waits on the network.
//!
//! The subscription is a long poll of `GET /api/v1/agents/{id}/control`: the
//! server answers as soon as the controls change (a pause on any server of
//! its database), and with 304 after 25 s otherwise. When the server cannot
//! be heard, the last controls known stay in force, the poll is retried
//! with backoff, and [`OutOfContact`] says whether actions go on meanwhile.

use crate::{Backoff, Client, SdkError};
use chrono::Utc;
use mandate_contract::api::{AgentControlState, AgentStop, ApprovalRequest, StopScope};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

/// Seconds a long poll waits on the server.
const WAIT_SECONDS: u32 = 25;

/// After a change, the next poll waits a random time up to this.
const REPOLL_SPREAD: Duration = Duration::from_millis(500);

/// What the agent does while it cannot hear the server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutOfContact {
    /// Keep acting on the last controls known (the seed's "don't block").
    KeepActing,
    /// Refuse every action after this long without an answer.
    RefuseAfter(Duration),
}

/// Why an action may not run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// A stop covers the agent or the run: who made it, why, since when,
    /// until when, over what, from which incident.
    #[error("agent {agent} is stopped ({}) by {} since {}{}{}", stop.scope_label(), stop.by, stop.since.to_rfc3339(),
        stop.reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default(),
        stop.incident_id.map(|i| format!(" (incident #{i})")).unwrap_or_default())]
    Stopped { agent: String, stop: Box<AgentStop> },
    #[error("tool {tool} is disabled for agent {agent}")]
    ToolDisabled { agent: String, tool: String },
    #[error("agent {agent} has not heard the server for {}s and refuses to act out of contact", out_for.as_secs())]
    OutOfContact { agent: String, out_for: Duration },
    /// A person denied the gated action: who, and why.
    #[error("agent {agent}'s {} was denied by {} (approval #{}): {}", approval.action(),
        approval.decided_by.as_deref().unwrap_or("a person"), approval.id,
        approval.decision_reason.as_deref().unwrap_or("no reason given"))]
    Denied { agent: String, approval: Box<ApprovalRequest> },
    /// Nobody approved the gated action in time (or the request was
    /// abandoned, or its outcome could not be heard): it never runs.
    #[error("agent {agent}'s {} was not approved in time (approval #{}, {}){}", approval.action(), approval.id,
        approval.status.as_str(), if why.is_empty() { String::new() } else { format!(": {why}") })]
    ApprovalTimedOut { agent: String, approval: Box<ApprovalRequest>, why: String },
    /// The gated action could not be asked about: the server did not answer.
    #[error("agent {agent} cannot ask whether its action may run, so it does not: {why}")]
    ApprovalUnavailable { agent: String, why: String },
}

struct Known {
    state: Option<AgentControlState>,
    /// When the server last answered.
    heard: Option<Instant>,
    /// Since when it has not.
    lost: Option<Instant>,
}

/// How often refused attempts are reported, at most.
const REPORT_EVERY: Duration = Duration::from_millis(250);

/// A live subscription to one agent's controls. Dropping it stops the poll.
pub struct Control {
    agent: String,
    known: Arc<RwLock<Known>>,
    policy: OutOfContact,
    started: Instant,
    /// Attempts refused under each stop, not yet reported.
    refused: Refused,
    /// Wakes the reporter when there is something to report.
    to_report: Arc<tokio::sync::Notify>,
    poll: tokio::task::JoinHandle<()>,
    report: tokio::task::JoinHandle<()>,
}

impl Drop for Control {
    fn drop(&mut self) {
        self.poll.abort();
        self.report.abort();
    }
}

impl Control {
    /// Subscribes to `agent`'s controls through `client` (a tokio runtime
    /// must be running). The first answer comes in the background; until
    /// then, nothing is known to refuse.
    pub fn subscribe(client: &Client, agent: &str, policy: OutOfContact) -> Control {
        let known = Arc::new(RwLock::new(Known { state: None, heard: None, lost: None }));
        let poll = tokio::spawn(poll(client.clone(), agent.to_owned(), known.clone()));
        let refused = Refused::default();
        let to_report = Arc::new(tokio::sync::Notify::new());
        let report = tokio::spawn(report(client.clone(), agent.to_owned(), refused.clone(), to_report.clone()));
        Control { agent: agent.to_owned(), known, policy, started: Instant::now(), refused, to_report, poll, report }
    }

    /// Whether the agent's next action (with `tool`, when it uses one) may
    /// run, by the local copy: no network, a read of a lock. A stop on one
    /// run is not seen here: see [`Control::check_run`].
    pub fn check(&self, tool: Option<&str>) -> Result<(), Refusal> {
        self.check_run(None, tool)
    }

    /// Whether the next action of run `run` (with `tool`) may run. An
    /// attempt refused by a stop is counted and reported in the background.
    pub fn check_run(&self, run: Option<&str>, tool: Option<&str>) -> Result<(), Refusal> {
        let refusal = match self.peek_run(run, tool) {
            None => return Ok(()),
            Some(refusal) => refusal,
        };
        if let Refusal::Stopped { stop, .. } = &refusal {
            // Counted, and reported in the background: the server shows
            // whether the stop holds.
            *self
                .refused
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .entry((stop.scope, stop.target.clone()))
                .or_default() += 1;
            self.to_report.notify_one();
        }
        Err(refusal)
    }

    /// What would refuse the next action of `run` (with `tool`) now, by the
    /// local copy, without counting an attempt: for saying so, not acting.
    pub fn peek_run(&self, run: Option<&str>, tool: Option<&str>) -> Option<Refusal> {
        let known = self.known.read().unwrap_or_else(|e| e.into_inner());
        if let Some(state) = &known.state {
            let stopped =
                (state.stop.is_some() || !state.stops.is_empty()).then(|| state.stop_for(run, Utc::now())).flatten();
            if let Some(stop) = stopped {
                return Some(Refusal::Stopped { agent: self.agent.clone(), stop: Box::new(stop.clone()) });
            }
            if let Some(tool) = tool.filter(|t| state.disabled_tools.iter().any(|d| d == t)) {
                return Some(Refusal::ToolDisabled { agent: self.agent.clone(), tool: tool.to_owned() });
            }
        }
        if let OutOfContact::RefuseAfter(limit) = self.policy {
            let since = known.lost.or(known.heard.is_none().then_some(self.started));
            if let Some(out_for) = since.map(|s| s.elapsed()).filter(|d| *d > limit) {
                return Some(Refusal::OutOfContact { agent: self.agent.clone(), out_for });
            }
        }
        None
    }

    /// The stop that would refuse an action of `run` now, without counting
    /// an attempt: for saying so (a status page), not for acting.
    pub fn stop_in_force(&self, run: Option<&str>) -> Option<mandate_contract::api::AgentStop> {
        let known = self.known.read().unwrap_or_else(|e| e.into_inner());
        known.state.as_ref()?.stop_for(run, Utc::now()).cloned()
    }

    /// How long the server has not been heard, if it is not now.
    pub fn out_of_contact(&self) -> Option<Duration> {
        self.known.read().unwrap_or_else(|e| e.into_inner()).lost.map(|s| s.elapsed())
    }

    /// Whether an action of type `action_type` may be gated, by the
    /// controls as last heard (then the server is asked before it runs).
    /// Never heard: as the out-of-contact policy says, asked by an agent
    /// that refuses out of contact, not by one that keeps acting.
    pub fn may_gate(&self, action_type: &str) -> bool {
        let known = self.known.read().unwrap_or_else(|e| e.into_inner());
        match &known.state {
            Some(state) => state.gates.iter().any(|g| g == "*" || g == action_type),
            None => matches!(self.policy, OutOfContact::RefuseAfter(_)),
        }
    }

    /// The controls as last heard.
    pub fn state(&self) -> Option<AgentControlState> {
        self.known.read().unwrap_or_else(|e| e.into_inner()).state.clone()
    }
}

/// Attempts refused under each stop (scope, target), not yet reported.
type Refused = Arc<Mutex<HashMap<(StopScope, String), i64>>>;

/// Reports refused attempts, one request per stop per [`REPORT_EVERY`] at
/// most; a report that fails is added to the next. Asleep while there is
/// nothing to report.
async fn report(client: Client, agent: String, refused: Refused, to_report: Arc<tokio::sync::Notify>) {
    loop {
        to_report.notified().await;
        tokio::time::sleep(REPORT_EVERY).await;
        let counts = std::mem::take(&mut *refused.lock().unwrap_or_else(|e| e.into_inner()));
        for ((scope, target), n) in counts {
            if let Err(e) = client.report_refusals(&agent, (scope, &target), n).await {
                *refused.lock().unwrap_or_else(|e| e.into_inner()).entry((scope, target)).or_default() += n;
                to_report.notify_one();
                tracing::warn!(agent = %agent, "cannot report {n} refused attempts yet: {e}");
            }
        }
    }
}

/// The long poll, for as long as the subscription lives.
async fn poll(client: Client, agent: String, known: Arc<RwLock<Known>>) {
    let backoff = Backoff { base: Duration::from_millis(250), cap: Duration::from_secs(15) };
    let mut attempt = 0u32;
    loop {
        // After losing the server, the first poll asks for the controls at
        // once (no `since`): contact is back the moment the server answers,
        // not when a long poll ends.
        let tag = {
            let k = known.read().unwrap_or_else(|e| e.into_inner());
            k.state.as_ref().filter(|_| k.lost.is_none()).map(|s| s.tag.clone())
        };
        match client.agent_control(&agent, tag.as_deref(), WAIT_SECONDS).await {
            Ok(answer) => {
                attempt = 0;
                let changed = answer.is_some();
                {
                    let mut k = known.write().unwrap_or_else(|e| e.into_inner());
                    k.heard = Some(Instant::now());
                    k.lost = None;
                    if let Some(state) = answer {
                        k.state = Some(state);
                    }
                }
                // A change reaches a whole fleet at once: its next polls are
                // spread over REPOLL_SPREAD, so the server answers everyone
                // before it hears them all again. A change made meanwhile is
                // answered at once by that next poll: nothing is missed.
                if changed {
                    let spread = REPOLL_SPREAD.as_millis() as u64;
                    let jitter = u64::from(Utc::now().timestamp_subsec_nanos()) % spread.max(1);
                    tokio::time::sleep(Duration::from_millis(jitter)).await;
                }
            }
            Err(e) => {
                {
                    let mut k = known.write().unwrap_or_else(|e| e.into_inner());
                    k.lost.get_or_insert_with(Instant::now);
                }
                tracing::warn!(agent = %agent, "cannot hear Mandate's controls, keeping the last known: {e}");
                let jitter = f64::from(Utc::now().timestamp_subsec_nanos() % 1000) / 1000.0;
                let asked = match &e {
                    SdkError::Api { status: 429, .. } => Some(Duration::from_secs(2)),
                    _ => None,
                };
                tokio::time::sleep(backoff.delay(attempt, jitter, asked)).await;
                attempt = attempt.saturating_add(1);
            }
        }
    }
}
