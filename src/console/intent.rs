//! Interventions from the console. A key becomes a [`Plan`] (what, on which
//! target, inferred from what is on screen); the ones that matter go through
//! a [`Dialog`] that previews the effect and defaults to No; a confirmed plan
//! becomes an [`Intent`]: HUMAN attribution for the operator, validated
//! before any network call, and one Idempotency-Key that every retry reuses.

use super::app::App;
use super::keymap::KeyAction;
use crate::api::{
    DisputeBody, DisputeClaim, InterventionBody, InterventionKind, ResolutionKind, StopBody, StopScope, Verdict,
    VerdictBody, WhoAmI,
};
use crate::attribution::{AttributionContext, validate};
use serde_json::Value;
use std::time::{Duration, Instant};

/// Who acts for the operator, in every intervention's attribution.
pub const CONSOLE_AGENT_ID: &str = "mandate-console";
pub const CONSOLE_ORIGIN: &str = "mandate-console";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Incident(i64),
    Agent(String),
    /// A notification, by id.
    Notification(String),
    /// An origin system, by name (the attribution rollout).
    Service(String),
    /// What a stop covers: a run, one agent, `prefix*`, or `*` (the fleet).
    Stop(StopScope, String),
    /// A silence, by id.
    Silence(i64),
    /// A gated action's approval request, by id.
    Approval(i64),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum What {
    Intervention(InterventionKind),
    Verdict(Verdict),
    /// "This was not me / not this agent" on the candidate's attribution.
    Dispute(DisputeClaim),
    /// Send a dead notification again.
    RetryNotification,
    /// Send a non-compliant service's owner seed 000 §5's message.
    Outreach,
    /// Stop what the target covers.
    Stop,
    /// Lift the stop on the target.
    Lift,
    /// Silence what the typed match covers (made from an incident).
    Silence,
    /// End a silence now.
    LiftSilence,
    /// Let a gated action run.
    Approve,
    /// Refuse a gated action.
    Deny,
}

/// What the operator asked for, before it is confirmed and sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub what: What,
    pub target: Target,
    pub target_agent: Option<String>,
    pub event_id: Option<String>,
    pub tool: Option<String>,
    pub command: Option<String>,
    pub resource: Option<String>,
    pub rule: Option<String>,
    pub title: Option<String>,
    pub reason: Option<String>,
    /// Escalating: who the routing would reach next, for the preview.
    pub next_level: Option<String>,
    /// What the operator must know and the action does not do: "the other
    /// suspect, agent X, is not paused".
    pub cautions: Vec<String>,
    /// How long a stop lasts, as typed ("30m", "2h"); none: until lifted.
    pub until: Option<String>,
    /// The incident a stop is made from.
    pub incident: Option<i64>,
    /// The agents listed when the stop was planned, to say which it covers.
    pub known_agents: Option<Vec<String>>,
    /// How a resolve ends the incident, as typed: confirmed, undetermined
    /// or not-an-incident.
    pub resolution: Option<String>,
    /// A severity, as typed.
    pub severity: Option<String>,
    /// What a silence matches, as typed: `resource=payments-db severity=high`.
    pub matches: Option<String>,
    /// When a reported incident began, as typed: `15m` (ago) or `14:05` (UTC).
    pub began: Option<String>,
    /// The person added or handed the incident.
    pub responder: Option<String>,
    /// The incident a duplicate is merged into, as typed: `12` or `#12`.
    pub into: Option<String>,
    /// An approval request as the operator read it: what it says, and the
    /// digest of that, sent with the decision.
    pub approval: Option<Box<crate::api::ApprovalRequest>>,
}

impl Plan {
    pub fn new(what: What, target: Target) -> Plan {
        Plan {
            what,
            target,
            target_agent: None,
            event_id: None,
            tool: None,
            command: None,
            resource: None,
            rule: None,
            title: None,
            reason: None,
            next_level: None,
            cautions: Vec::new(),
            until: None,
            incident: None,
            known_agents: None,
            resolution: None,
            severity: None,
            matches: None,
            began: None,
            responder: None,
            into: None,
            approval: None,
        }
    }

    /// A stop or lift on `scope` and `target`, said of it in the preview.
    pub fn stop(what: What, scope: StopScope, target: String) -> Plan {
        Plan::new(what, Target::Stop(scope, target))
    }

    /// What a stop or lift covers, in words: "agents deployer-*", "the fleet".
    fn covered(&self) -> String {
        match &self.target {
            Target::Stop(scope, target) => scope.label(target),
            _ => "?".to_owned(),
        }
    }

    /// The person added or handed the incident, as `@name`.
    fn who(&self) -> String {
        match self.responder.as_deref().map(|r| r.trim_start_matches('@')) {
            Some(r) if !r.is_empty() => format!("@{r}"),
            _ => "(name them below)".to_owned(),
        }
    }

    /// What approving or denying does, with everything the request says.
    fn decision_effects(&self) -> Vec<String> {
        let on = self.target_name();
        let Some(a) = &self.approval else { return vec![format!("decide {on}")] };
        let what = a.action();
        let mut lines = match self.what {
            What::Approve if a.approvals_needed == 2 && a.approvals.is_empty() => vec![
                format!("give the first of two approvals to {on}: {} will {what}", a.agent_id),
                "it waits on until a second, different person approves".to_owned(),
            ],
            What::Approve => vec![format!("let agent {} {what} now: its waiting call returns at once", a.agent_id)],
            _ => vec![format!(
                "refuse agent {} its {what}: it never runs, and the agent is told who and why",
                a.agent_id
            )],
        };
        lines.push(format!("in its words: {}", a.summary));
        lines.push(format!("gated by {}: {}", a.gate(), a.reason));
        if let Some(h) = &a.on_behalf_of {
            lines.push(format!(
                "done for {h}{}",
                if a.four_eyes { " (four eyes: they may not approve it)" } else { "" }
            ));
        }
        lines.push(match a.blast_preview.is_empty() {
            true => "blast radius: nothing else depends on it".to_owned(),
            false => format!("blast radius: {}", a.blast_preview.join(", ")),
        });
        if !a.past_incidents.is_empty() {
            let past: Vec<String> = a.past_incidents.iter().map(|p| format!("#{} {}", p.id, p.title)).collect();
            lines.push(format!("past incidents with {}: {}", a.action_type, past.join("; ")));
        }
        lines.push(format!(
            "its incident's paging stops; this cannot be undone (digest {})",
            &a.digest[..a.digest.len().min(12)]
        ));
        lines
    }

    /// How a resolve ends the incident, in words for the preview.
    fn resolution_words(&self) -> String {
        match self.resolution.as_deref().map(|r| (r, resolution_of(r))) {
            Some((_, Some(ResolutionKind::CauseConfirmed))) => match (&self.event_id, &self.title) {
                (Some(_), Some(action)) => format!("the cause confirmed: {action}"),
                (Some(event), None) => format!("the cause confirmed: {event}"),
                _ => "the cause confirmed (no candidate is confirmed yet: confirm one with C first)".to_owned(),
            },
            Some((_, Some(ResolutionKind::CauseUndetermined))) => {
                "its cause undetermined (counted toward investigating the pattern)".to_owned()
            }
            Some((_, Some(ResolutionKind::NotAnIncident))) => "not an incident".to_owned(),
            Some((raw, None)) => format!("{raw:?} is not a resolution: confirmed, undetermined or not-an-incident"),
            None => "say how: confirmed, undetermined or not-an-incident".to_owned(),
        }
    }

    /// The agent this plan acts on, if any.
    pub fn agent(&self) -> Option<&str> {
        match &self.target {
            Target::Agent(a) => Some(a),
            Target::Incident(_) => self.target_agent.as_deref(),
            Target::Stop(StopScope::Agent, a) => Some(a),
            Target::Approval(_) => self.approval.as_ref().map(|a| a.agent_id.as_str()),
            Target::Notification(_) | Target::Service(_) | Target::Stop(..) | Target::Silence(_) => None,
        }
    }

    /// The action a verdict is on, in words; its event id when not known.
    fn action(&self) -> &str {
        self.title.as_deref().or(self.event_id.as_deref()).unwrap_or("?")
    }

    /// What the plan acts on: "incident #12" or "agent deployer".
    fn target_name(&self) -> String {
        match &self.target {
            Target::Incident(id) => format!("incident #{id}"),
            Target::Agent(a) => format!("agent {a}"),
            Target::Notification(_) => format!("the notification to {}", self.title.as_deref().unwrap_or("?")),
            Target::Service(name) => format!("service {name}"),
            Target::Stop(..) => self.covered(),
            Target::Silence(id) => format!("silence #{id}"),
            Target::Approval(id) => format!("approval #{id}"),
        }
    }

    /// A short name for messages: "pause agent deployer".
    pub fn label(&self) -> String {
        let on = self.target_name();
        match self.what {
            What::Intervention(InterventionKind::PauseAgent) => format!("stop agent {}", self.agent().unwrap_or("?")),
            What::Intervention(InterventionKind::ResumeAgent) => {
                format!("resume agent {}", self.agent().unwrap_or("?"))
            }
            What::Intervention(InterventionKind::DisableTool) => format!(
                "disable tool {} for agent {}",
                self.tool.as_deref().unwrap_or("?"),
                self.agent().unwrap_or("?")
            ),
            What::Intervention(kind) => format!("{} {on}", kind.as_str().replace('_', " ")),
            // The verdict first: a cut title still says what it does.
            What::Verdict(v) => format!("mark {} on {on}: {}", verdict_word(v), self.action()),
            What::RetryNotification => format!("retry {on}"),
            What::Outreach => format!("reach out to the owner of {on}"),
            What::Stop => format!("stop {on}"),
            What::Lift => format!("lift the stop on {on}"),
            What::Silence => format!("silence {}", self.matches.as_deref().unwrap_or("?")),
            What::LiftSilence => format!("lift {on}"),
            What::Approve => format!("approve {on}"),
            What::Deny => format!("deny {on}"),
            What::Dispute(_) => format!("dispute the attribution of {}", self.event_id.as_deref().unwrap_or("?")),
        }
    }

    /// Whether the operator confirms in a dialog first: everything that
    /// cannot be undone, stops an agent or pages people, or settles a cause.
    pub fn needs_confirmation(&self) -> bool {
        match self.what {
            // Stopping an agent, paging, ending or reopening paging, settling
            // a cause, or words that need typing.
            What::Intervention(kind) => {
                kind.needs_reason()
                    || matches!(
                        kind,
                        InterventionKind::PauseAgent | InterventionKind::Escalate | InterventionKind::AddResponder
                    )
            }
            // Verdicts feed calibration: each of the three is asked alike.
            What::Verdict(_) => true,
            // A reason is required.
            What::Dispute(_) => true,
            // It pages someone.
            What::RetryNotification => true,
            // It messages a person in the operator's name.
            What::Outreach => true,
            // It stops agents, or lets them act again.
            What::Stop | What::Lift => true,
            // It holds people's pages, or releases them.
            What::Silence | What::LiftSilence => true,
            // An agent acts, or is refused, at once: it cannot be undone.
            What::Approve | What::Deny => true,
        }
    }

    /// "This will: …": the preview shown in the dialog.
    pub fn effects(&self) -> Vec<String> {
        let agent = self.agent().unwrap_or("?");
        let on = self.target_name();
        let mut lines = match self.what {
            What::Intervention(kind) => match kind {
                InterventionKind::Acknowledge => vec![format!("mark {on} acknowledged, with you as a responder")],
                InterventionKind::FlagForReview => vec![format!("queue {on} for later review")],
                InterventionKind::PauseAgent => vec![
                    format!("stop agent {agent}: its SDK refuses its next actions before they run"),
                    "its new runs are refused (409 AGENT_PAUSED)".to_owned(),
                    "an action it records anyway is flagged and pages you and its owner".to_owned(),
                    match self.until.as_deref() {
                        Some(d) => format!("it ends by itself after {d}; or resume (u)"),
                        None => "until resumed (u)".to_owned(),
                    },
                ],
                InterventionKind::ResumeAgent => vec![format!("let agent {agent} act and start runs again")],
                InterventionKind::Escalate => vec![
                    format!("raise {on} to the next escalation level, with you as a responder"),
                    match &self.next_level {
                        Some(next) => format!("page the next level now: {next}"),
                        None => "no later level is waiting to be paged: the level is recorded only".to_owned(),
                    },
                ],
                InterventionKind::CreateIncident => vec![
                    format!("open a new formal incident record ({})", self.title.as_deref().unwrap_or("untitled")),
                    "this cannot be undone".to_owned(),
                ],
                InterventionKind::TriggerRollback => vec![
                    format!("record a rollback request on {on}"),
                    format!("for a human to run: {}", self.command.as_deref().unwrap_or("(no command)")),
                    "Mandate does not execute it; the request cannot be withdrawn".to_owned(),
                ],
                InterventionKind::DisableTool => vec![
                    format!(
                        "remove tool {} from agent {agent}: its events using it are refused",
                        self.tool.as_deref().unwrap_or("?")
                    ),
                    "this cannot be undone from the console".to_owned(),
                ],
                InterventionKind::UpdateRule => vec![
                    format!("propose a rule: {}", self.rule.as_deref().unwrap_or("?")),
                    "it matches this incident's suspected action and resource; an admin approves it before it \
                     acts (:patterns)"
                        .to_owned(),
                    "the proposal stays in the record; an admin may reject it".to_owned(),
                ],
                InterventionKind::Resolve => vec![
                    format!("resolve {on}: {}", self.resolution_words()),
                    "paging stops; whoever was paged is told it is resolved".to_owned(),
                    "new errors on its resources open it again".to_owned(),
                ],
                InterventionKind::Reopen => vec![
                    format!("open {on} again"),
                    "routing decides again, and its receivers are paged from now".to_owned(),
                ],
                InterventionKind::Note => vec![format!("add your note to the timeline of {on}")],
                InterventionKind::AddResponder => vec![
                    format!("page {} now about {on}, on the channels its routing pages by", self.who()),
                    "list them as a responder".to_owned(),
                ],
                InterventionKind::HandOver => vec![
                    format!("hand {on} over to {}: they are paged now and coordinate it", self.who()),
                    "you stay listed as a responder".to_owned(),
                ],
                InterventionKind::Merge => vec![
                    format!(
                        "merge {on} into {}: its events, interventions and pages become that incident's",
                        match self.into.as_deref().map(|i| i.trim_start_matches('#')) {
                            Some(i) if !i.is_empty() => format!("incident #{i}"),
                            _ => "(name the incident below)".to_owned(),
                        }
                    ),
                    "its pages stop and whoever was paged is told where it went; new errors join the survivor"
                        .to_owned(),
                    "this cannot be undone".to_owned(),
                ],
                InterventionKind::ChangeSeverity => vec![
                    format!("set the severity of {on} to {}", self.severity.as_deref().unwrap_or("?")),
                    "it holds against new events; routing decides again who is paged".to_owned(),
                ],
            },
            What::Verdict(v) => vec![
                format!("record that {} is {} for {on}", self.action(), verdict_word(v)),
                format!("the event: {}", self.event_id.as_deref().unwrap_or("?")),
                "the ranking is recomputed by the server; calibration learns from it".to_owned(),
            ],
            What::Dispute(claim) => vec![
                format!(
                    "mark the attribution of {} ({}) DISPUTED: {}",
                    self.event_id.as_deref().unwrap_or("?"),
                    self.title.as_deref().unwrap_or("?"),
                    match claim {
                        DisputeClaim::NotMe => "this was not me",
                        DisputeClaim::NotThisAgent => "this was not this agent",
                    }
                ),
                format!("on {on}, for every console; an admin finds it upheld or overturned"),
            ],
            What::Outreach => vec![
                format!(
                    "send {} the attribution outreach message about {on}: its violations and the change it needs",
                    self.title.as_deref().unwrap_or("its owner")
                ),
                self.rule.clone().unwrap_or_default(),
                "by the owner's channel in the routing's [attribution] (once a day per service)".to_owned(),
            ]
            .into_iter()
            .filter(|l| !l.is_empty())
            .collect(),
            What::Stop => self.stop_effects(),
            What::Silence => {
                let mut lines = vec![
                    format!(
                        "hold the paging of incidents matching {} for {}",
                        self.matches.as_deref().unwrap_or("?"),
                        self.until.as_deref().unwrap_or("?")
                    ),
                    "they are still detected, recorded and analysed, and say SILENCED".to_owned(),
                    "one still open when the silence ends is paged then; lift it early from :silences".to_owned(),
                ];
                match silence_match(self.matches.as_deref().unwrap_or_default()) {
                    Ok(m) if m.may_hold_critical() => lines.push(
                        "it could hold a CRITICAL incident's pages (add severity=high to exclude them)".to_owned(),
                    ),
                    Ok(_) => {}
                    Err(e) => lines.push(e),
                }
                lines
            }
            What::LiftSilence => vec![format!("end {on} now: the open incidents it held are paged at once")],
            What::Approve | What::Deny => self.decision_effects(),
            What::Lift => vec![
                format!("lift the stop on {on}: what it covers may act again"),
                "other stops covering the same agents stay in force".to_owned(),
            ],
            What::RetryNotification => vec![
                format!("send {on} again now, with a fresh set of attempts"),
                self.rule.clone().map(|e| format!("its last failure: {e}")).unwrap_or_default(),
            ]
            .into_iter()
            .filter(|l| !l.is_empty())
            .collect(),
        };
        lines.extend(self.cautions.iter().map(|c| format!("⚠ {c}")));
        match &self.reason {
            Some(note) if self.what == What::Intervention(InterventionKind::Note) => {
                lines.push(format!("the note: {note}"))
            }
            Some(reason) => lines.push(format!("give the reason: {reason}")),
            None => {}
        }
        lines.push("record it in the audit log under your name".to_owned());
        lines
    }

    /// What the dialog lets the operator type, prefilled from the plan.
    pub fn fields(&self) -> Vec<Field> {
        let mut fields = Vec::new();
        if let What::Intervention(kind) = self.what {
            match kind {
                InterventionKind::DisableTool => fields.push(Field::new(FieldName::Tool, self.tool.clone(), true)),
                InterventionKind::TriggerRollback => {
                    fields.push(Field::new(FieldName::Command, self.command.clone(), true))
                }
                InterventionKind::UpdateRule => fields.push(Field::new(FieldName::Rule, self.rule.clone(), true)),
                InterventionKind::CreateIncident => {
                    fields.push(Field::new(FieldName::Title, self.title.clone(), false));
                    let on_incident = matches!(self.target, Target::Incident(_));
                    fields.push(Field::new(FieldName::Resource, self.resource.clone(), on_incident));
                    fields.push(Field::new(FieldName::Began, self.began.clone(), false));
                }
                InterventionKind::Resolve => {
                    fields.push(Field::new(FieldName::Resolution, self.resolution.clone(), true))
                }
                InterventionKind::ChangeSeverity => {
                    fields.push(Field::new(FieldName::Severity, self.severity.clone(), true))
                }
                InterventionKind::AddResponder | InterventionKind::HandOver => {
                    fields.push(Field::new(FieldName::Responder, self.responder.clone(), true))
                }
                InterventionKind::Merge => fields.push(Field::new(FieldName::Into, self.into.clone(), true)),
                _ => {}
            }
            let reason = if kind == InterventionKind::Note { FieldName::Note } else { FieldName::Reason };
            fields.push(Field::new(reason, None, kind.needs_reason()));
            if kind == InterventionKind::PauseAgent {
                fields.push(Field::new(FieldName::Until, self.until.clone(), false));
            }
        } else if let (What::Stop, Target::Stop(scope, target)) = (self.what, &self.target) {
            if *scope == StopScope::Agents {
                fields.push(Field::new(FieldName::Prefix, Some(target.clone()), true));
            }
            let wide = matches!(scope, StopScope::Agents | StopScope::Fleet);
            fields.push(Field::new(FieldName::Reason, self.reason.clone(), wide));
            fields.push(Field::new(FieldName::Until, self.until.clone(), false));
        } else if self.what == What::Silence {
            fields.push(Field::new(FieldName::Match, self.matches.clone(), true));
            fields.push(Field::new(FieldName::Reason, self.reason.clone(), true));
            fields.push(Field::new(FieldName::For, self.until.clone(), true));
        } else if let What::Approve | What::Deny = self.what {
            // Recorded with the decision, and told to the agent when denied.
            fields.push(Field::new(FieldName::Reason, None, true));
        } else if let What::Dispute(_) | What::Verdict(_) = self.what {
            // A verdict teaches calibration; its reason is what a reviewer reads.
            fields.push(Field::new(FieldName::Reason, None, true));
        } else {
            fields.push(Field::new(FieldName::Reason, None, false));
        }
        fields
    }

    fn set(&mut self, name: FieldName, value: &str) {
        let value = Some(value.trim().to_owned()).filter(|v| !v.is_empty());
        match name {
            FieldName::Reason | FieldName::Note => self.reason = value,
            FieldName::Resolution => self.resolution = value,
            FieldName::Match => self.matches = value,
            FieldName::Resource => self.resource = value,
            FieldName::Began => self.began = value,
            FieldName::Responder => self.responder = value,
            FieldName::Into => self.into = value,
            FieldName::For => self.until = value,
            FieldName::Severity => self.severity = value,
            FieldName::Tool => self.tool = value,
            FieldName::Command => self.command = value,
            FieldName::Rule => self.rule = value,
            FieldName::Title => self.title = value,
            FieldName::Until => self.until = value,
            FieldName::Prefix => {
                if let (Target::Stop(_, target), Some(v)) = (&mut self.target, value) {
                    *target = v;
                }
            }
        }
    }

    /// "3 agents listed now: a, b, c"; nothing when the list is not known.
    fn listed(&self, covers: impl Fn(&str) -> bool) -> String {
        let Some(known) = &self.known_agents else { return String::new() };
        let covered: Vec<&str> = known.iter().map(String::as_str).filter(|a| covers(a)).collect();
        let names = covered.iter().take(4).copied().collect::<Vec<_>>().join(", ");
        let more = if covered.len() > 4 { format!(" and {} more", covered.len() - 4) } else { String::new() };
        match covered.len() {
            0 => "no agent listed now matches (agents seen later are covered)".to_owned(),
            n => format!("{n} agent{} listed now: {names}{more}", if n == 1 { "" } else { "s" }),
        }
    }

    /// A stop's preview: what it covers now, and what it does not do.
    fn stop_effects(&self) -> Vec<String> {
        let Target::Stop(scope, target) = &self.target else { return vec![] };
        let on = self.covered();
        let mut lines = match scope {
            StopScope::Run => vec![
                format!(
                    "stop run {target}{}: its SDK refuses the run's next actions",
                    self.target_agent.as_deref().map(|a| format!(" of agent {a}")).unwrap_or_default()
                ),
                "the agent's other runs go on".to_owned(),
            ],
            StopScope::Agent => vec![format!("stop agent {target}: its SDK refuses its next actions")],
            StopScope::Agents => vec![
                format!("stop every agent whose name starts with {}", target.trim_end_matches('*')),
                self.listed(|a| a.starts_with(target.trim_end_matches('*'))),
                "their SDKs refuse their next actions; their new runs are refused".to_owned(),
            ],
            StopScope::Fleet => vec![
                "stop EVERY agent: each SDK refuses its next action; new runs are refused".to_owned(),
                self.listed(|_| true),
                "an admin's stop; lift it with :lift fleet".to_owned(),
            ],
        };
        lines.retain(|l| !l.is_empty());
        lines.push(match self.until.as_deref() {
            Some(d) => format!("it ends by itself after {d}, or when lifted"),
            None => format!("it holds until lifted (:lift {})", on.replace("the fleet", "fleet")),
        });
        lines.push("an action recorded anyway is flagged ACTED WHILE STOPPED and pages you".to_owned());
        lines
    }
}

/// The candidates tied with `event` by a concurrent modification.
fn tied_with<'a>(d: &'a crate::api::IncidentDetail, event: &'a str) -> impl Iterator<Item = &'a crate::api::Candidate> {
    d.analysis.concurrent_modifications.iter().filter_map(move |(a, b)| {
        let other = if a == event {
            b
        } else if b == event {
            a
        } else {
            return None;
        };
        d.analysis.candidates.iter().find(|c| c.event_id == *other)
    })
}

/// A candidate's action as a responder names it: "config_change on
/// payments-db by config-gen at 14:02:11".
fn action_words(c: &crate::api::Candidate) -> String {
    let what = c.action_type.as_deref().unwrap_or("the action");
    let on = c.resource.as_deref().map(|r| format!(" on {r}")).unwrap_or_default();
    let by = c.actor_id.as_deref().or(c.agent_id.as_deref()).map(|w| format!(" by {w}")).unwrap_or_default();
    format!("{what}{on}{by} at {}", c.occurred_at.format("%H:%M:%S"))
}

fn verdict_word(v: Verdict) -> &'static str {
    match v {
        Verdict::Confirmed => "the confirmed cause",
        Verdict::Rejected => "unrelated",
        Verdict::Investigate => "under investigation",
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldName {
    Reason,
    Tool,
    Command,
    Rule,
    Title,
    /// How long a stop lasts.
    Until,
    /// Which agents a stop covers: `prefix*`.
    Prefix,
    /// How a resolve ends the incident.
    Resolution,
    Severity,
    /// A note's text (sent as the reason).
    Note,
    /// What a silence matches.
    Match,
    /// How long a silence holds.
    For,
    /// The resource a reported incident names.
    Resource,
    /// When a reported incident began.
    Began,
    /// The person added to or handed an incident.
    Responder,
    /// The incident a duplicate is merged into.
    Into,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    pub name: FieldName,
    pub value: String,
    pub required: bool,
}

impl Field {
    fn new(name: FieldName, value: Option<String>, required: bool) -> Field {
        Field { name, value: value.unwrap_or_default(), required }
    }

    /// A rule may span lines; every other field is one line.
    pub fn multiline(&self) -> bool {
        self.name == FieldName::Rule
    }

    fn limit(&self) -> usize {
        if self.multiline() { RULE_LIMIT } else { FIELD_LIMIT }
    }

    pub fn label(&self) -> &'static str {
        match self.name {
            FieldName::Reason => "reason",
            FieldName::Tool => "tool",
            FieldName::Command => "command",
            FieldName::Rule => "rule",
            FieldName::Title => "title",
            FieldName::Until => "for (30m, 2h; empty: until lifted)",
            FieldName::Prefix => "agents",
            FieldName::Resolution => "resolution (confirmed, undetermined, not-an-incident)",
            FieldName::Severity => "severity (low, medium, high, critical)",
            FieldName::Note => "note",
            FieldName::Match => "match (resource= agent= action= severity=)",
            FieldName::For => "for (30m, 2h, up to 7d)",
            FieldName::Resource => "resource (or service) failing",
            FieldName::Began => "began (now, 15m ago, or 14:05 UTC)",
            FieldName::Responder => "who (a person: bob or @bob)",
            FieldName::Into => "into incident # (the one that stays)",
        }
    }
}

/// How long after a dialog opens before it can be confirmed: keys already
/// on their way when it opened (a stray line of text, a double press) must
/// not answer a question the operator has not read.
pub const CONFIRM_GUARD: Duration = Duration::from_millis(600);

/// The longest text a field takes; a rule may span lines and is longer.
const FIELD_LIMIT: usize = 500;
const RULE_LIMIT: usize = 4000;

/// The confirmation dialog: the preview, the fields, and the buttons.
/// Focus starts on the first field, so typed words go into it; No is the
/// default. A reversible intervention is confirmed with `y` on the buttons;
/// one that cannot be undone only with Ctrl-Y, which no pasted or typed line
/// of text produces. Neither is taken within [`CONFIRM_GUARD`] of opening.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dialog {
    pub plan: Plan,
    pub fields: Vec<Field>,
    /// An index into `fields`; `fields.len()` is the buttons.
    pub focus: usize,
    /// Why the last confirmation was refused, or a paste ignored.
    pub problem: Option<String>,
    pub opened_at: Instant,
}

/// What a key did to the dialog.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DialogOutcome {
    Open,
    Cancelled,
    Confirmed(Box<Plan>),
}

impl Dialog {
    pub fn new(plan: Plan) -> Dialog {
        let fields = plan.fields();
        Dialog { plan, fields, focus: 0, problem: None, opened_at: Instant::now() }
    }

    pub fn on_buttons(&self) -> bool {
        self.focus >= self.fields.len()
    }

    /// Whether the intervention cannot be undone: confirmed with Ctrl-Y only.
    pub fn irreversible(&self) -> bool {
        matches!(self.plan.what, What::Intervention(kind) if !kind.reversible())
            || matches!(self.plan.what, What::Approve | What::Deny)
            || matches!((self.plan.what, &self.plan.target), (What::Stop, Target::Stop(StopScope::Fleet, _)))
            || (self.plan.what == What::Silence
                && silence_match(self.current_plan().matches.as_deref().unwrap_or_default())
                    .is_ok_and(|m| m.may_hold_critical()))
    }

    /// Why confirming takes Ctrl-Y: what makes it weighty.
    pub fn weighty(&self) -> &'static str {
        match (self.plan.what, &self.plan.target) {
            (What::Silence, _) => "it could hold a critical incident's pages",
            (What::Stop, Target::Stop(StopScope::Fleet, _)) => "it stops every agent",
            _ => "this cannot be undone",
        }
    }

    /// [`Dialog::weighty`], as the confirming button says it.
    pub fn weighty_briefly(&self) -> &'static str {
        match (self.plan.what, &self.plan.target) {
            (What::Silence, _) => "it may hold critical pages",
            (What::Stop, Target::Stop(StopScope::Fleet, _)) => "it stops every agent",
            _ => "it cannot be undone",
        }
    }

    /// The plan with what has been typed so far: what the preview shows and
    /// what is sent.
    pub fn current_plan(&self) -> Plan {
        let mut plan = self.plan.clone();
        for f in &self.fields {
            plan.set(f.name, &f.value);
        }
        plan
    }

    /// Pasted text goes into the focused field, never to the buttons.
    pub fn paste(&mut self, text: &str) {
        if self.on_buttons() {
            self.problem = Some("pasted text ignored: the buttons take only keys".to_owned());
            return;
        }
        let field = &mut self.fields[self.focus];
        let text = super::sanitize::clean_typed(text, field.multiline());
        let room = field.limit().saturating_sub(field.value.chars().count());
        field.value.extend(text.chars().take(room));
        self.problem = None;
    }

    pub fn on_key(&mut self, key: ratatui::crossterm::event::KeyEvent) -> DialogOutcome {
        use ratatui::crossterm::event::{KeyCode, KeyModifiers};
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        let stops = self.fields.len() + 1;
        match key.code {
            KeyCode::Esc => return DialogOutcome::Cancelled,
            KeyCode::Char('c') if ctrl => return DialogOutcome::Cancelled,
            KeyCode::Tab => self.focus = (self.focus + 1) % stops,
            KeyCode::BackTab => self.focus = (self.focus + stops - 1) % stops,
            KeyCode::Down => self.focus = (self.focus + 1).min(self.fields.len()),
            KeyCode::Up => self.focus = self.focus.saturating_sub(1),
            KeyCode::Enter if !self.on_buttons() => self.focus += 1,
            // On the buttons, Enter takes the default: No.
            KeyCode::Enter => return DialogOutcome::Cancelled,
            KeyCode::Char('y' | 'Y') if self.on_buttons() && ctrl => return self.confirm(),
            KeyCode::Char('y' | 'Y') if self.on_buttons() && self.irreversible() => {
                self.problem = Some(format!("{}: press Ctrl-Y to confirm", self.weighty()));
            }
            KeyCode::Char('y' | 'Y') if self.on_buttons() => return self.confirm(),
            KeyCode::Char('n' | 'N' | 'q') if self.on_buttons() => return DialogOutcome::Cancelled,
            KeyCode::Char('u') if ctrl && !self.on_buttons() => self.fields[self.focus].value.clear(),
            KeyCode::Backspace if !self.on_buttons() => {
                self.fields[self.focus].value.pop();
            }
            KeyCode::Char(c) if !self.on_buttons() && !ctrl && !c.is_control() => {
                let field = &mut self.fields[self.focus];
                if field.value.chars().count() < field.limit() {
                    field.value.push(c);
                }
            }
            _ => {}
        }
        DialogOutcome::Open
    }

    fn confirm(&mut self) -> DialogOutcome {
        if self.opened_at.elapsed() < CONFIRM_GUARD {
            self.problem = Some("read it first: nothing is confirmed in the first moment after it opens".to_owned());
            return DialogOutcome::Open;
        }
        if let Some(missing) = self.fields.iter().find(|f| f.required && f.value.trim().is_empty()) {
            self.problem = Some(format!("{} is required", missing.label()));
            self.focus = self.fields.iter().position(|f| f.name == missing.name).unwrap_or(0);
            return DialogOutcome::Open;
        }
        DialogOutcome::Confirmed(Box::new(self.current_plan()))
    }
}

/// A request ready for the network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Intent {
    /// Sent as Idempotency-Key, the same on every retry.
    pub key: String,
    pub label: String,
    pub path: String,
    pub body: Value,
}

/// Why `action` may not be sent from this console, if so. A dispute is a
/// person's word on their own record: viewers may send one; `--readonly`
/// still sends nothing.
pub fn refusal(app: &App, action: KeyAction) -> Option<String> {
    if action != KeyAction::Dispute {
        return readonly_reason(app);
    }
    if app.readonly {
        return Some("read-only (--readonly)".to_owned());
    }
    app.operator.is_none().then(|| "not yet known who you are (waiting for the server)".to_owned())
}

/// Why no intervention may be sent from this console, if so. The one place
/// read-only is decided.
pub fn readonly_reason(app: &App) -> Option<String> {
    if app.readonly {
        return Some("read-only (--readonly)".to_owned());
    }
    match &app.operator {
        Some(who) if app.is_readonly() => {
            Some(format!("read-only: {} is a {} and may not intervene", who.name, who.role))
        }
        Some(_) => None,
        None => Some("not yet known who you are (waiting for the server)".to_owned()),
    }
}

/// The operator's HUMAN attribution, checked against the contract before
/// anything is sent: (actor_type, actor_id, agent_id, origin_system_id).
pub fn attribution(operator: &WhoAmI) -> Result<AttributionContext, String> {
    let ctx = AttributionContext::human(CONSOLE_AGENT_ID, &operator.name, CONSOLE_ORIGIN);
    if let Some(v) = validate(&ctx).first() {
        return Err(format!("cannot attribute this to {:?}: {v}", operator.name));
    }
    Ok(ctx)
}

/// A confirmed plan as a request, with a fresh Idempotency-Key. The body is
/// the server's own request type, serialized: the two cannot drift apart.
pub fn intent(plan: &Plan, operator: &WhoAmI) -> Result<Intent, String> {
    attribution(operator)?;
    let until = match plan.until.as_deref() {
        None => None,
        Some(raw) => {
            let seconds = crate::routing::parse_duration(raw)
                .filter(|s| *s > 0)
                .ok_or_else(|| format!("for how long: {raw:?} is not a duration such as 30m or 2h"))?;
            Some(chrono::Utc::now() + chrono::Duration::seconds(seconds as i64))
        }
    };
    let (actor_type, actor_id) = ("HUMAN".to_owned(), operator.name.clone());
    let (agent_id, origin_system_id) = (CONSOLE_AGENT_ID.to_owned(), CONSOLE_ORIGIN.to_owned());
    let (path, body) = match (plan.what, &plan.target) {
        (What::Approve | What::Deny, Target::Approval(id)) => {
            let digest = plan.approval.as_ref().map(|a| a.digest.clone()).ok_or("the request was not read")?;
            let body = crate::api::ApprovalDecisionBody {
                decision: if plan.what == What::Approve { "approve" } else { "deny" }.to_owned(),
                reason: plan.reason.clone().unwrap_or_default(),
                digest,
                confirm: true,
                actor_type,
                actor_id,
                agent_id: Some(agent_id),
                origin_system_id: Some(origin_system_id),
            };
            (format!("/api/v1/approvals/{id}/decision"), serde_json::to_value(body))
        }
        (What::Approve | What::Deny, _) => return Err("only an approval request is approved or denied".to_owned()),
        (
            What::Verdict(_) | What::Dispute(_),
            Target::Agent(_)
            | Target::Notification(_)
            | Target::Service(_)
            | Target::Stop(..)
            | Target::Silence(_)
            | Target::Approval(_),
        ) => {
            return Err("a verdict or a dispute is given on an incident's candidate".to_owned());
        }
        (What::Dispute(claim), Target::Incident(id)) => {
            let body = DisputeBody {
                event_id: plan.event_id.clone().unwrap_or_default(),
                incident_id: Some(*id),
                claim,
                reason: plan.reason.clone().unwrap_or_default(),
            };
            ("/api/v1/disputes".to_owned(), serde_json::to_value(body))
        }
        (What::RetryNotification, Target::Notification(id)) => {
            let segment: String = form_urlencoded::byte_serialize(id.as_bytes()).collect();
            let body = serde_json::json!({
                "actor_type": actor_type, "actor_id": actor_id, "agent_id": agent_id,
                "origin_system_id": origin_system_id, "reason": plan.reason,
            });
            (format!("/api/v1/notifications/{segment}/retry"), Ok(body))
        }
        (What::RetryNotification, _) => return Err("only a notification can be retried".to_owned()),
        (What::Outreach, Target::Service(name)) => {
            let segment: String = form_urlencoded::byte_serialize(name.as_bytes()).collect();
            let body = crate::api::OutreachBody {
                actor_type,
                actor_id,
                agent_id,
                origin_system_id,
                reason: plan.reason.clone(),
            };
            (format!("/api/v1/attribution/services/{segment}/outreach"), serde_json::to_value(body))
        }
        (What::Outreach, _) => return Err("outreach is to a service's owner".to_owned()),
        (What::Stop | What::Lift, Target::Stop(scope, target)) => {
            let body = StopBody {
                scope: *scope,
                target: Some(target.clone()),
                reason: plan.reason.clone(),
                until,
                incident_id: plan.incident,
                confirm: *scope == StopScope::Fleet,
                actor_type,
                actor_id,
                agent_id,
                origin_system_id,
            };
            let mut body = serde_json::to_value(body);
            if plan.what == What::Lift
                && let Ok(Value::Object(fields)) = &mut body
            {
                for only_when_made in ["until", "incident_id", "confirm"] {
                    fields.remove(only_when_made);
                }
            }
            let path = if plan.what == What::Lift { "/api/v1/stops/lift" } else { "/api/v1/stops" };
            (path.to_owned(), body)
        }
        (What::Stop | What::Lift, _) => return Err("a stop names what it covers".to_owned()),
        (What::Silence, _) => {
            let matches = silence_match(plan.matches.as_deref().unwrap_or_default())?;
            let Some(ends_at) = until else {
                return Err("for how long: a silence always ends (30m, 2h, 7d)".to_owned());
            };
            let body = crate::api::SilenceBody {
                confirm: matches.may_hold_critical(),
                matches,
                reason: plan.reason.clone().unwrap_or_default(),
                starts_at: None,
                ends_at,
                weekly: None,
                incident_id: plan.incident,
                actor_type,
                actor_id,
                agent_id,
                origin_system_id,
            };
            ("/api/v1/silences".to_owned(), serde_json::to_value(body))
        }
        (What::LiftSilence, Target::Silence(id)) => {
            let body = crate::api::LiftSilenceBody {
                reason: plan.reason.clone(),
                actor_type,
                actor_id,
                agent_id,
                origin_system_id,
            };
            (format!("/api/v1/silences/{id}/lift"), serde_json::to_value(body))
        }
        (What::LiftSilence, _) => return Err("only a silence is lifted here".to_owned()),
        (What::Verdict(verdict), Target::Incident(id)) => {
            let body = VerdictBody {
                event_id: plan.event_id.clone().unwrap_or_default(),
                verdict,
                actor_type,
                actor_id,
                agent_id,
                origin_system_id,
                reason: plan.reason.clone(),
            };
            (format!("/api/v1/incidents/{id}/verdicts"), serde_json::to_value(body))
        }
        (What::Intervention(kind), target) => {
            let path = match target {
                Target::Stop(..) => return Err("a stop is made, not intervened on".to_owned()),
                Target::Notification(_) => return Err("a notification is retried, not intervened on".to_owned()),
                Target::Service(_) => return Err("a service is reached out to, not intervened on".to_owned()),
                Target::Silence(_) => return Err("a silence is lifted, not intervened on".to_owned()),
                Target::Approval(_) => return Err("an approval request is decided, not intervened on".to_owned()),
                Target::Incident(id) => format!("/api/v1/incidents/{id}/interventions"),
                Target::Agent(a) => {
                    let segment: String = form_urlencoded::byte_serialize(a.as_bytes()).collect();
                    format!("/api/v1/agents/{segment}/interventions")
                }
            };
            let body = InterventionBody {
                kind,
                actor_type,
                actor_id,
                agent_id,
                origin_system_id,
                confirm: !kind.reversible(),
                reason: plan.reason.clone(),
                target_agent: plan.target_agent.clone().filter(|_| matches!(target, Target::Incident(_))),
                tool: plan.tool.clone(),
                command: plan.command.clone(),
                resource: plan.resource.clone(),
                rule: plan.rule.clone(),
                title: plan.title.clone(),
                severity: match plan.severity.as_deref() {
                    Some(raw) if kind == InterventionKind::ChangeSeverity => Some(
                        crate::api::Severity::parse(raw)
                            .ok_or_else(|| format!("severity {raw:?} is not one of low, medium, high, critical"))?,
                    ),
                    _ => None,
                },
                until,
                responder: plan
                    .responder
                    .clone()
                    .filter(|_| matches!(kind, InterventionKind::AddResponder | InterventionKind::HandOver)),
                started_at: match plan.began.as_deref() {
                    Some(raw) if kind == InterventionKind::CreateIncident => Some(began_at(raw, chrono::Utc::now())?),
                    _ => None,
                },
                resolution: match plan.resolution.as_deref() {
                    Some(raw) if kind == InterventionKind::Resolve => Some(resolution_of(raw).ok_or_else(|| {
                        format!("resolution {raw:?} is not one of confirmed, undetermined, not-an-incident")
                    })?),
                    _ => None,
                },
                event_id: plan.event_id.clone().filter(|_| {
                    plan.resolution.as_deref().and_then(resolution_of) == Some(ResolutionKind::CauseConfirmed)
                }),
                into_incident: match plan.into.as_deref() {
                    Some(raw) if kind == InterventionKind::Merge => Some(
                        raw.trim()
                            .trim_start_matches('#')
                            .parse::<i64>()
                            .ok()
                            .filter(|i| *i > 0)
                            .ok_or_else(|| format!("into: {raw:?} is not an incident number (12 or #12)"))?,
                    ),
                    _ => None,
                },
            };
            (path, serde_json::to_value(body))
        }
    };
    let body = body.map_err(|e| format!("cannot encode the request: {e}"))?;
    Ok(Intent { key: uuid::Uuid::now_v7().to_string(), label: plan.label(), path, body })
}

/// When a reported incident began, as typed: a duration ago (`15m`,
/// `15m ago`, `2h`) or a time of day in UTC (`14:05`, the last one past).
pub fn began_at(raw: &str, now: chrono::DateTime<chrono::Utc>) -> Result<chrono::DateTime<chrono::Utc>, String> {
    let raw = raw.trim();
    if raw.eq_ignore_ascii_case("now") {
        return Ok(now);
    }
    let ago = raw.strip_suffix("ago").unwrap_or(raw).trim();
    if let Some(seconds) = crate::routing::parse_duration(ago) {
        return Ok(now - chrono::Duration::seconds(seconds as i64));
    }
    let time = chrono::NaiveTime::parse_from_str(raw, "%H:%M")
        .map_err(|_| format!("began: {raw:?} is neither a time ago (15m) nor a time of day (14:05 UTC)"))?;
    let today = now.date_naive().and_time(time).and_utc();
    Ok(if today > now { today - chrono::Duration::days(1) } else { today })
}

/// A silence's match as typed: `resource=payments-db severity=high`
/// (`action=` for action_type). An error names what is wrong.
pub fn silence_match(typed: &str) -> Result<crate::api::SilenceMatch, String> {
    let mut m = crate::api::SilenceMatch::default();
    for word in typed.split_whitespace() {
        let Some((key, value)) = word.split_once('=').filter(|(_, v)| !v.is_empty()) else {
            return Err(format!("match: {word:?} is not key=value (resource=, agent=, action=, severity=)"));
        };
        match key {
            "resource" => m.resource = Some(value.to_owned()),
            "agent" => m.agent = Some(value.to_owned()),
            "action" | "action_type" => m.action_type = Some(value.to_owned()),
            "severity" => {
                m.severity =
                    Some(crate::api::Severity::parse(value).ok_or_else(|| {
                        format!("match: severity {value:?} is not one of low, medium, high, critical")
                    })?)
            }
            other => return Err(format!("match: {other:?} is not one of resource, agent, action, severity")),
        }
    }
    if m.is_empty() {
        return Err("match: say what to silence (an empty match would silence everything)".to_owned());
    }
    Ok(m)
}

/// A resolution as typed in the dialog: the wire's words, or their short
/// forms.
fn resolution_of(raw: &str) -> Option<ResolutionKind> {
    let raw = raw.trim().to_ascii_lowercase().replace(['-', ' '], "_");
    match raw.as_str() {
        "confirmed" | "cause" => Some(ResolutionKind::CauseConfirmed),
        "undetermined" | "unknown" => Some(ResolutionKind::CauseUndetermined),
        "not_an_incident" | "not_incident" | "none" => Some(ResolutionKind::NotAnIncident),
        other => ResolutionKind::parse(other),
    }
}

/// "deployer-eu-2" → "deployer-eu-*": the agent's name up to its last
/// separator, the usual way a class of agents is named.
fn prefix_of(agent: &str) -> String {
    match agent.rfind(['-', '_', '.', '/']) {
        Some(at) if at > 0 => format!("{}*", &agent[..=at]),
        _ => format!("{agent}*"),
    }
}

/// A silence made from the incident in view: its match prefilled from the
/// incident (its first resource, and its severity unless critical, so that
/// a critical incident there still pages), for an hour unless changed.
fn silence_like(app: &App) -> Result<Plan, String> {
    let id = app.focused_incident().ok_or("no incident selected")?;
    let summary = app.focused_detail().map(|d| &d.summary).or_else(|| app.summary(id));
    let summary = summary.ok_or_else(|| format!("incident #{id} is not known yet"))?;
    let mut words = Vec::new();
    if let Some(resource) = summary.resources.first() {
        words.push(format!("resource={resource}"));
    }
    if summary.severity != crate::api::Severity::Critical {
        words.push(format!("severity={}", summary.severity));
    }
    let mut plan = Plan::new(What::Silence, Target::Incident(id));
    plan.matches = Some(words.join(" ")).filter(|m| !m.is_empty());
    plan.incident = Some(id);
    plan.until = Some("1h".to_owned());
    if let Some(mark) = summary.silenced.as_ref().filter(|m| m.until > app.now) {
        plan.cautions.push(format!(
            "incident #{id} is already silenced {} by {} ({})",
            super::screens::until_words(mark.until, app.now),
            mark.owner,
            mark.reason
        ));
    }
    Ok(plan)
}

/// The stop of the run of the suspected action (the incident screen) or of
/// the selected candidate (the root causes).
fn stop_run(app: &App) -> Result<Plan, String> {
    let id = app.focused_incident().ok_or("no incident selected")?;
    let candidate = match app.screen() {
        super::app::Screen::RootCauses { .. } => app.selected_candidate(),
        _ => app.focused_detail().and_then(|d| d.analysis.candidates.iter().find(|c| c.confidence > 0)),
    };
    let candidate = candidate.ok_or("no suspected action: nothing names a run to stop")?;
    let run = candidate
        .run_id
        .clone()
        .ok_or_else(|| format!("{} names no run: stop its agent instead (p)", action_words(candidate)))?;
    let mut plan = Plan::stop(What::Stop, StopScope::Run, run);
    plan.target_agent = candidate.agent_id.clone();
    plan.incident = Some(id);
    Ok(plan)
}

/// The escalation level after the incident's current one in its routing,
/// with who it reaches ("secondary: @payments-oncall"): the function the
/// server's escalate pages by.
fn next_level(detail: &crate::api::IncidentDetail) -> Option<String> {
    let routing = detail.routing.as_ref()?;
    crate::paging::next_level(routing, detail.summary.escalation_level).map(|n| n.describe())
}

/// The incident an intervention key must read first: its preview and its
/// target (the suspect agent, the rollback's command, the next level) come
/// from the incident's detail, which the list does not hold.
pub fn needs_detail(app: &App, action: KeyAction) -> Option<i64> {
    use InterventionKind as K;
    let kind = match action {
        KeyAction::Intervene(kind) => kind,
        // The run comes from the suspected action.
        KeyAction::StopRun => K::PauseAgent,
        _ => return None,
    };
    if matches!(kind, K::Acknowledge | K::FlagForReview | K::CreateIncident | K::Reopen | K::Note | K::ChangeSeverity) {
        return None;
    }
    if matches!(app.screen(), super::app::Screen::Agents) {
        return None;
    }
    let id = app.focused_incident()?;
    app.focused_detail().is_none().then_some(id)
}

/// The plan for an intervention key on the current screen: its target is
/// what the operator is looking at. An error says what is missing.
pub fn plan(app: &App, action: KeyAction) -> Result<Plan, String> {
    use super::app::Screen;
    use InterventionKind as K;
    let kind = match action {
        KeyAction::Judge(verdict) => {
            let Screen::RootCauses { id } = app.screen() else {
                return Err("open the root causes (c) to judge a candidate".to_owned());
            };
            let candidate = app.selected_candidate().ok_or("no candidate selected")?;
            let mut plan = Plan::new(What::Verdict(verdict), Target::Incident(id));
            plan.event_id = Some(candidate.event_id.clone());
            plan.title = Some(action_words(candidate));
            return Ok(plan);
        }
        KeyAction::Dispute => {
            let Screen::RootCauses { id } = app.screen() else {
                return Err("open the root causes (c) to dispute a candidate's attribution".to_owned());
            };
            let candidate = app.selected_candidate().ok_or("no candidate selected")?;
            if candidate.dispute.as_ref().is_some_and(|d| d.state == crate::api::DisputeState::Disputed) {
                return Err(format!("the attribution of {} is already disputed", candidate.event_id));
            }
            let me = app.operator.as_ref().map(|w| w.name.as_str());
            let mine = candidate.actor_type == Some(crate::attribution::ActorType::Human)
                && candidate.actor_id.as_deref() == me;
            let claim = if mine { DisputeClaim::NotMe } else { DisputeClaim::NotThisAgent };
            let mut plan = Plan::new(What::Dispute(claim), Target::Incident(id));
            plan.event_id = Some(candidate.event_id.clone());
            plan.title = Some(match (&candidate.actor_id, &candidate.agent_id) {
                (Some(person), _) if mine => format!("you, {person}"),
                (_, Some(agent)) => format!("agent {agent}"),
                (Some(person), None) => person.clone(),
                (None, None) => "no one named".to_owned(),
            });
            return Ok(plan);
        }
        KeyAction::Intervene(kind) => kind,
        KeyAction::Outreach => {
            let Some(service) = app.selected_service() else {
                return Err("open :attribution and select a service to reach its owner".to_owned());
            };
            if matches!(service.status, crate::api::ComplianceStatus::Compliant | crate::api::ComplianceStatus::Silent)
            {
                return Err(format!("{} is {}: there is nothing to reach out about", service.name, service.status));
            }
            if service.name == crate::rollout::NO_ORIGIN {
                return Err("runs without an origin_system_id name no service to reach".to_owned());
            }
            let mut plan = Plan::new(What::Outreach, Target::Service(service.name.clone()));
            let owners: Vec<&str> = service.owners.iter().map(|o| o.who.as_str()).collect();
            plan.title = Some(owners.join(", ")).filter(|o| !o.is_empty());
            plan.rule = service
                .last_outreach
                .as_ref()
                .map(|o| format!("last reached {} by {}", o.at.format("%m-%d %H:%M"), o.by));
            return Ok(plan);
        }
        KeyAction::RetryNotification => {
            let Some(page) = app.selected_notification() else {
                return Err("open :notifications and select a dead one to retry".to_owned());
            };
            if page.state != crate::api::DeliveryState::Dead {
                return Err(format!("this notification is {}: only a dead one is retried", page.state));
            }
            let mut plan = Plan::new(What::RetryNotification, Target::Notification(page.id.clone()));
            plan.title = Some(format!("{} via {} (incident #{})", page.target, page.channel, page.incident_id));
            plan.rule = page.last_error.clone();
            return Ok(plan);
        }
        KeyAction::StopRun => return stop_run(app),
        KeyAction::Silence => return silence_like(app),
        KeyAction::LiftSilence => {
            let silence = app.selected_silence().ok_or("open :silences and select one to lift")?;
            if !matches!(silence.state, crate::api::SilenceState::Active | crate::api::SilenceState::Scheduled) {
                return Err(format!("silence #{} has already ended ({})", silence.id, silence.state));
            }
            let mut plan = Plan::new(What::LiftSilence, Target::Silence(silence.id));
            plan.matches = Some(silence.matches.describe());
            return Ok(plan);
        }
        KeyAction::Approve | KeyAction::Deny => {
            let a = app.selected_approval().ok_or("open :approvals and select the request to decide")?;
            if a.status != crate::api::ApprovalStatus::Waiting {
                return Err(format!(
                    "approval #{} is no longer waiting: {}",
                    a.id,
                    super::screens::approval_state_words(a, app.now)
                ));
            }
            let me = app.operator.as_ref().map(|o| o.name.as_str());
            if action == KeyAction::Approve {
                if a.four_eyes && a.on_behalf_of.as_deref().zip(me).is_some_and(|(h, m)| h.trim_start_matches('@') == m)
                {
                    return Err(format!(
                        "approval #{} was asked for you: another person must approve it (four eyes)",
                        a.id
                    ));
                }
                if me.is_some_and(|m| a.approvals.iter().any(|v| v.by == m)) {
                    return Err(format!("you approved #{} already: it needs a second, different person", a.id));
                }
            }
            let what = if action == KeyAction::Approve { What::Approve } else { What::Deny };
            let mut plan = Plan::new(what, Target::Approval(a.id));
            plan.approval = Some(Box::new(a.clone()));
            return Ok(plan);
        }
        KeyAction::StopAgents | KeyAction::StopFleet => {
            let agent = app.selected_agent().map(|a| a.agent_id.clone());
            let mut plan = if action == KeyAction::StopFleet {
                Plan::stop(What::Stop, StopScope::Fleet, "*".to_owned())
            } else {
                let agent = agent.ok_or("select an agent: its name's prefix is prefilled")?;
                Plan::stop(What::Stop, StopScope::Agents, prefix_of(&agent))
            };
            plan.known_agents = app.known_agents();
            return Ok(plan);
        }
        KeyAction::LiftStop => {
            let agent = app.selected_agent().ok_or("no agent selected")?;
            let stops = app.stops.as_deref().ok_or("the stops in force are not known yet")?;
            let mut wider =
                stops.iter().filter(|s| s.stop.scope != StopScope::Agent && s.stop.covers(&agent.agent_id, None));
            let first = wider.next().ok_or_else(|| {
                format!("no stop wider than agent {} covers it (its own stop lifts with u)", agent.agent_id)
            })?;
            let mut plan = Plan::stop(What::Lift, first.stop.scope, first.stop.target.clone());
            for other in wider {
                plan.cautions.push(format!(
                    "the stop on {} still holds on {}",
                    other.stop.scope_label(),
                    agent.agent_id
                ));
            }
            return Ok(plan);
        }
        other => return Err(format!("{other} is not an intervention")),
    };
    if let Screen::Agents = app.screen() {
        let agent = app.selected_agent().ok_or("no agent selected")?;
        let mut plan = Plan::new(What::Intervention(kind), Target::Agent(agent.agent_id.clone()));
        if kind == K::CreateIncident {
            plan.title = Some(format!("agent {} misbehaving", agent.agent_id));
            plan.began = Some("now".to_owned());
        }
        return Ok(plan);
    }
    let id = app.focused_incident().ok_or("no incident selected")?;
    let mut plan = Plan::new(What::Intervention(kind), Target::Incident(id));
    let detail = app.detail.as_ref().filter(|d| d.summary.id == id);
    let on_candidate = matches!(app.screen(), Screen::RootCauses { .. });
    let candidate = if on_candidate {
        app.selected_candidate()
    } else {
        detail.and_then(|d| d.analysis.candidates.iter().find(|c| c.confidence > 0))
    };
    let suggestion = |k: K| detail.and_then(|d| d.suggestions.iter().find(|s| s.intervention == Some(k)));
    match kind {
        K::PauseAgent | K::ResumeAgent | K::DisableTool => {
            let from_suggestion = suggestion(kind).filter(|_| !on_candidate);
            let agent = from_suggestion
                .and_then(|s| s.agent_id.clone())
                .or_else(|| candidate.and_then(|c| c.agent_id.clone()))
                .or_else(|| suggestion(K::PauseAgent).and_then(|s| s.agent_id.clone()));
            let agent = agent.ok_or("no agent to act on: no root-cause candidate names one (see the agents screen)")?;
            // A tie: another agent changed the same resource within seconds,
            // and this key acts on one of them only. Say who is left.
            if let (Some(d), Some(c)) = (detail, candidate) {
                for other in tied_with(d, &c.event_id).filter(|o| o.agent_id.as_deref() != Some(agent.as_str())) {
                    plan.cautions.push(format!(
                        "a tie: {} ({}) changed the same resource within 5 s and is not {}",
                        other
                            .agent_id
                            .as_deref()
                            .map(|a| format!("agent {a}"))
                            .unwrap_or_else(|| "another actor".into()),
                        action_words(other),
                        match kind {
                            K::PauseAgent => "paused",
                            K::ResumeAgent => "resumed",
                            _ => "acted on",
                        }
                    ));
                }
            }
            plan.target_agent = Some(agent);
            if kind == K::DisableTool {
                plan.tool =
                    from_suggestion.and_then(|s| s.tool.clone()).or_else(|| candidate.and_then(|c| c.tool.clone()));
            }
        }
        K::TriggerRollback => {
            let s = suggestion(K::TriggerRollback);
            // The suggestion's command, or what it names ("Revert config
            // pool_size on payments-db") for the responder to make exact.
            plan.command = s.and_then(|s| s.command.clone().or_else(|| Some(s.title.clone())));
            plan.resource = s.and_then(|s| s.resource.clone()).or_else(|| candidate.and_then(|c| c.resource.clone()));
        }
        K::UpdateRule => {
            plan.rule = detail
                .and_then(|d| d.pattern.as_ref().and_then(|p| p.suggested_rule.clone()))
                .or_else(|| suggestion(K::UpdateRule).and_then(|s| s.command.clone()));
        }
        K::CreateIncident => {
            plan.title = Some(format!("follow-up of incident #{id}"));
            plan.began = Some("now".to_owned());
            let summary = detail.map(|d| &d.summary).or_else(|| app.summary(id));
            plan.resource = summary.and_then(|s| s.resources.first().cloned());
        }
        K::Escalate => plan.next_level = detail.and_then(next_level),
        K::Resolve => {
            // A cause a person confirmed is the resolution offered; without
            // one the cause is undetermined until someone says otherwise.
            let confirmed = detail
                .and_then(|d| d.analysis.candidates.iter().find(|c| c.verdict == Some(crate::api::Verdict::Confirmed)));
            let status = detail.map(|d| d.summary.status).or_else(|| app.summary(id).map(|s| s.status));
            if status == Some(crate::api::IncidentStatus::Resolved) {
                return Err(format!("incident #{id} is already resolved (O reopens it)"));
            }
            match confirmed {
                Some(c) => {
                    plan.resolution = Some("confirmed".to_owned());
                    plan.event_id = Some(c.event_id.clone());
                    plan.title = Some(action_words(c));
                }
                None => plan.resolution = Some("undetermined".to_owned()),
            }
        }
        K::Reopen => {
            let status = detail.map(|d| d.summary.status).or_else(|| app.summary(id).map(|s| s.status));
            if let Some(status) = status.filter(|s| *s != crate::api::IncidentStatus::Resolved) {
                return Err(format!("incident #{id} is {status}: only a resolved incident is reopened"));
            }
        }
        K::Merge => {
            let summary = detail.map(|d| &d.summary).or_else(|| app.summary(id));
            if let Some(into) = summary.and_then(|s| s.merged_into) {
                return Err(format!("incident #{id} is already merged into #{into}"));
            }
            // The likeliest survivor: an incident near it on its resources
            // (a reported one's related incidents), else the oldest open one
            // listed on one of its resources.
            let related = detail.and_then(|d| d.related_incidents.first().copied());
            let resources: Vec<String> = summary.map(|s| s.resources.clone()).unwrap_or_default();
            let listed = app
                .incidents
                .iter()
                .filter(|o| o.id != id && o.merged_into.is_none())
                .filter(|o| o.status != crate::api::IncidentStatus::Resolved)
                .filter(|o| o.resources.iter().any(|r| resources.contains(r)))
                .min_by_key(|o| o.id)
                .map(|o| o.id);
            plan.into = related.or(listed).map(|i| i.to_string());
        }
        K::ChangeSeverity => {
            plan.severity = detail
                .map(|d| d.summary.severity)
                .or_else(|| app.summary(id).map(|s| s.severity))
                .map(|s| s.as_str().to_owned());
        }
        _ => {}
    }
    Ok(plan)
}
