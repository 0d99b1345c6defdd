//! Gated actions, as the agent waits on them: an action whose type the
//! controls name as possibly gated asks the server first; gated, it waits
//! for a person (long polls, across lost answers and server restarts, up to
//! the request's end), and runs only if approved. Every other action runs
//! without asking.

use crate::control::Refusal;
use crate::{Client, SdkError};
use mandate_contract::api::{ApprovalRequest, ApprovalStatus, GateAnswer, GateBody};
use std::time::Duration;

/// The longest one wait on a request lasts: short, so that the server
/// knows within seconds when an agent stopped waiting (it is abandoned).
const WAIT_SECONDS: u64 = 5;
/// How long the server may stay unreachable while asking, before the
/// action is refused: a gated action never runs unseen.
const ASK_FOR: Duration = Duration::from_secs(30);
/// Past a request's end, how long the SDK keeps asking for its outcome.
const GRACE: Duration = Duration::from_secs(30);
const BACKOFF: crate::Backoff = crate::Backoff { base: Duration::from_millis(200), cap: Duration::from_secs(5) };

/// What an action was cleared with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Clearance {
    /// Nothing gates it (or it was never asked about).
    Free,
    /// Asked: monitored or flagged; it proceeds.
    Decided(mandate_contract::api::ActionDecision),
    /// Gated, and approved (or timed out with approval on timeout).
    Approved(Box<ApprovalRequest>),
}

impl Client {
    /// Asks about an action agent `body.agent_id` is about to take.
    pub async fn ask_approval(&self, body: &GateBody) -> Result<GateAnswer, SdkError> {
        self.post("/api/v1/approvals", body).await
    }

    /// Approval request `id`: at once, or when decided or `wait` seconds pass.
    pub async fn approval(&self, id: i64, wait: u64) -> Result<ApprovalRequest, SdkError> {
        self.get(&format!("/api/v1/approvals/{id}?wait={}", wait.min(30))).await
    }
}

/// Whether an error is worth trying again: the server unreachable or failing.
fn transient(e: &SdkError) -> bool {
    match e {
        SdkError::Transport(_) => true,
        SdkError::Api { status, .. } => *status >= 500 || *status == 429,
        _ => false,
    }
}

/// Asks, and waits while gated. `Ok` when the action may run.
pub(crate) async fn clear(client: &Client, body: GateBody) -> Result<Clearance, Refusal> {
    let agent = body.agent_id.clone();
    let unreachable = |why: String| Refusal::ApprovalUnavailable { agent: agent.clone(), why };
    let started = tokio::time::Instant::now();
    let mut attempt = 0;
    let answer = loop {
        match client.ask_approval(&body).await {
            Ok(answer) => break answer,
            Err(e) if transient(&e) && started.elapsed() < ASK_FOR => {
                tokio::time::sleep(BACKOFF.delay(attempt, rand_unit(), None)).await;
                attempt += 1;
            }
            Err(e) => return Err(unreachable(e.to_string())),
        }
    };
    let Some(mut approval) = answer.approval else { return Ok(Clearance::Decided(answer.decision)) };
    let mut attempt = 0;
    while approval.status == ApprovalStatus::Waiting {
        let left = (approval.expires_at - chrono::Utc::now()).to_std().unwrap_or_default();
        match client.approval(approval.id, (left.as_secs() + 1).min(WAIT_SECONDS)).await {
            Ok(now) => {
                approval = now;
                attempt = 0;
            }
            Err(e) if transient(&e) && chrono::Utc::now() < approval.expires_at + GRACE => {
                tokio::time::sleep(BACKOFF.delay(attempt, rand_unit(), None)).await;
                attempt += 1;
            }
            // Out of contact past its end, or refused: never run unseen.
            Err(e) => {
                return Err(Refusal::ApprovalTimedOut {
                    agent: agent.clone(),
                    approval: Box::new(approval),
                    why: format!("no answer from the server about it: {e}"),
                });
            }
        }
    }
    match approval.status {
        _ if approval.proceed => Ok(Clearance::Approved(Box::new(approval))),
        ApprovalStatus::Denied => Err(Refusal::Denied { agent, approval: Box::new(approval) }),
        _ => Err(Refusal::ApprovalTimedOut { agent, approval: Box::new(approval), why: String::new() }),
    }
}

fn rand_unit() -> f64 {
    f64::from(chrono::Utc::now().timestamp_subsec_nanos() % 1000) / 1000.0
}
