//! One agent as it acts: before each action, the stop subscription's local
//! copy is checked (no network); a refused action never runs; an action
//! that ran is recorded as an event, in the background, with the agent's
//! attribution (validated once, when the agent is made).

use crate::control::{Control, OutOfContact, Refusal};
use crate::gate::Clearance;
use crate::recorder::Recorder;
use crate::{Client, SdkError};
use mandate_contract::api::GateBody;
use mandate_contract::api::{EventBody, Outcome};
use mandate_contract::attribution::AttributionContext;
use std::sync::atomic::{AtomicI64, Ordering};

/// An action to check and record: a tool call, or any action the agent takes.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Action {
    /// `tool_call` when not said.
    pub action_type: Option<String>,
    pub tool: Option<String>,
    pub resource: Option<String>,
    pub run_id: Option<String>,
    /// What it will do, in words, for the person asked to approve it.
    pub summary: Option<String>,
    /// The person the agent acts for (four eyes: they may not approve it).
    pub on_behalf_of: Option<String>,
}

impl Action {
    /// A call of `tool` on `resource`.
    pub fn tool_call(tool: &str, resource: &str) -> Action {
        Action { tool: Some(tool.to_owned()), resource: Some(resource.to_owned()), ..Action::default() }
    }

    pub fn in_run(mut self, run_id: &str) -> Action {
        self.run_id = Some(run_id.to_owned());
        self
    }

    pub fn of_type(mut self, action_type: &str) -> Action {
        self.action_type = Some(action_type.to_owned());
        self
    }

    /// What it will do, for an approver.
    pub fn described(mut self, summary: &str) -> Action {
        self.summary = Some(summary.to_owned());
        self
    }

    /// The person it is done for.
    pub fn for_person(mut self, person: &str) -> Action {
        self.on_behalf_of = Some(person.to_owned());
        self
    }

    fn kind(&self) -> &str {
        self.action_type.as_deref().unwrap_or("tool_call")
    }
}

/// What an action that ran came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Done {
    Ok,
    Failed { code: String, message: String },
}

/// How an agent behaves beyond its attribution.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AgentOptions {
    /// What it does while it cannot hear the server.
    pub out_of_contact: OutOfContact,
    /// Events held at most while the server cannot take them.
    pub buffer: usize,
}

impl Default for AgentOptions {
    fn default() -> Self {
        AgentOptions { out_of_contact: OutOfContact::KeepActing, buffer: crate::recorder::QUEUE }
    }
}

pub struct Agent {
    client: Client,
    attribution: AttributionContext,
    control: Control,
    recorder: Recorder,
    seq: AtomicI64,
}

impl Agent {
    /// An agent acting under `attribution` (its `agent_id` names it), with
    /// its stop subscription and its event queue started. The attribution is
    /// checked against the contract here, under the client's enforcement:
    /// an agent that would be refused never starts.
    pub fn start(client: &Client, attribution: AttributionContext, policy: OutOfContact) -> Result<Agent, SdkError> {
        Agent::start_with(client, attribution, AgentOptions { out_of_contact: policy, ..AgentOptions::default() })
    }

    /// [`Agent::start`] with every option.
    pub fn start_with(
        client: &Client,
        attribution: AttributionContext,
        options: AgentOptions,
    ) -> Result<Agent, SdkError> {
        client.enforcer().enforce(&attribution)?;
        let agent = attribution.agent_id.clone().unwrap_or_default();
        Ok(Agent {
            client: client.clone(),
            control: Control::subscribe(client, &agent, options.out_of_contact),
            recorder: Recorder::with_capacity(client, options.buffer),
            attribution,
            seq: AtomicI64::new(0),
        })
    }

    pub fn id(&self) -> &str {
        self.attribution.agent_id.as_deref().unwrap_or_default()
    }

    /// Whether `action` may run now, by the local copy of the controls.
    pub fn check(&self, action: &Action) -> Result<(), Refusal> {
        self.control.check_run(action.run_id.as_deref(), action.tool.as_deref())
    }

    /// What would refuse `action` now, without counting an attempt.
    pub fn peek(&self, action: &Action) -> Option<Refusal> {
        self.control.peek_run(action.run_id.as_deref(), action.tool.as_deref())
    }

    /// Records an action that ran; never waits. False when the queue is full.
    pub fn record(&self, action: &Action, done: &Done) -> bool {
        let (outcome, error_code, error_message) = match done {
            Done::Ok => (Outcome::Ok, None, None),
            Done::Failed { code, message } => (Outcome::Error, Some(code.clone()), Some(message.clone())),
        };
        let a = &self.attribution;
        self.recorder.record(EventBody {
            event_id: uuid::Uuid::now_v7().to_string(),
            agent_id: a.agent_id.clone(),
            actor_type: a.actor_type.as_deref().and_then(mandate_contract::attribution::ActorType::parse),
            actor_id: a.actor_id.clone(),
            origin_system_id: a.origin_system_id.clone(),
            run_id: action.run_id.clone(),
            parent_event_id: None,
            action_type: Some(action.action_type.clone().unwrap_or_else(|| "tool_call".to_owned())),
            tool: action.tool.clone(),
            resource: action.resource.clone(),
            scope: None,
            outcome,
            error_code,
            error_message,
            trace_id: None,
            seq: Some(self.seq.fetch_add(1, Ordering::Relaxed) + 1),
            occurred_at: Some(chrono::Utc::now()),
            metadata: None,
        })
    }

    /// Clears `action` with the server when its type may be gated (the
    /// controls say which): monitored and flagged actions proceed; a gated
    /// one waits for a person's decision, up to its request's end, and is
    /// refused ([`Refusal::Denied`], [`Refusal::ApprovalTimedOut`]) unless
    /// approved. Any other action is cleared at once, without the network.
    pub async fn clear(&self, action: &Action) -> Result<Clearance, Refusal> {
        if !self.control.may_gate(action.kind()) {
            return Ok(Clearance::Free);
        }
        let a = &self.attribution;
        let body = GateBody {
            agent_id: self.id().to_owned(),
            action_type: action.kind().to_owned(),
            resource: action.resource.clone(),
            summary: action.summary.clone().unwrap_or_else(|| describe(action)),
            run_id: action.run_id.clone(),
            on_behalf_of: action
                .on_behalf_of
                .clone()
                .or_else(|| (a.actor_type.as_deref() == Some("HUMAN")).then(|| a.actor_id.clone()).flatten()),
            actor_type: a.actor_type.as_deref().map(str::to_uppercase),
            request_key: uuid::Uuid::now_v7().to_string(),
        };
        crate::gate::clear(&self.client, body).await
    }

    /// Checks `action` (its stops, then its gate), runs `act` only if it
    /// may, and records what it came to. A refusal is returned before
    /// anything ran.
    pub async fn act<T, E: std::fmt::Display>(
        &self,
        action: &Action,
        act: impl Future<Output = Result<T, E>>,
    ) -> Result<Result<T, E>, Refusal> {
        self.check(action)?;
        self.clear(action).await?;
        // Stopped while it waited: still refused.
        self.check(action)?;
        let result = act.await;
        let done = match &result {
            Ok(_) => Done::Ok,
            Err(e) => Done::Failed { code: "ACTION_FAILED".to_owned(), message: e.to_string() },
        };
        self.record(action, &done);
        Ok(result)
    }

    pub fn control(&self) -> &Control {
        &self.control
    }

    pub fn recorder(&self) -> &Recorder {
        &self.recorder
    }
}

/// "drop_table on orders-db with tool psql", when the agent said nothing.
fn describe(action: &Action) -> String {
    let mut text = action.kind().to_owned();
    if let Some(r) = &action.resource {
        text.push_str(&format!(" on {r}"));
    }
    if let Some(t) = &action.tool {
        text.push_str(&format!(" with tool {t}"));
    }
    text
}
