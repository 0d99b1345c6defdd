mod kinds;

mod life;

mod merge;

use kinds::{create_incident, flag_for_review, pause_or_resume, trigger_rollback};
use life::note;

use super::Desk;
use super::change::Committed;
use crate::api::{
    AgentState, IncidentSummary, InterventionKind, InterventionResult, ResolutionKind, Severity, Verdict,
};
use crate::store::{AgentControl, IncidentRecord, InterventionRecord, StoreError};
use chrono::{DateTime, Utc};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InterventionTarget {
    Incident(i64),
    Agent(String),
}

/// A validated intervention by an authenticated human.
#[derive(Debug, Clone)]
pub struct InterventionRequest {
    pub kind: InterventionKind,
    pub target: InterventionTarget,
    /// The principal, already checked against the attribution's actor_id.
    pub actor_id: String,
    pub attribution: serde_json::Value,
    pub reason: Option<String>,
    pub target_agent: Option<String>,
    pub tool: Option<String>,
    pub command: Option<String>,
    pub resource: Option<String>,
    pub rule: Option<String>,
    pub title: Option<String>,
    pub severity: Option<Severity>,
    /// A pause's end; none: until resumed.
    pub until: Option<DateTime<Utc>>,
    /// How a resolve ends the incident, and its confirmed cause.
    pub resolution: Option<ResolutionKind>,
    pub event_id: Option<String>,
    /// create_incident: when it began, as its reporter saw it.
    pub started_at: Option<DateTime<Utc>>,
    /// add_responder, hand_over: the person, without `@`.
    pub responder: Option<String>,
    /// merge: the incident that survives.
    pub into_incident: Option<i64>,
}

impl InterventionRequest {
    /// An intervention Mandate carries out by itself, as SYSTEM: `actor_id`
    /// as the audit log names it, `agent_id` in the attribution, and the rule
    /// it acts for.
    pub fn by_system(
        kind: InterventionKind,
        incident: i64,
        (actor_id, agent_id): (&str, &str),
        rule: &str,
        reason: String,
    ) -> InterventionRequest {
        let attribution = serde_json::json!({
            "actor_type": "SYSTEM", "agent_id": agent_id, "origin_system_id": "mandate", "rule": rule,
        });
        InterventionRequest::on_incident(kind, incident, actor_id, attribution, Some(reason))
    }

    /// `kind` on incident `incident` by `actor_id` with `attribution`, and
    /// nothing else set.
    pub fn on_incident(
        kind: InterventionKind,
        incident: i64,
        actor_id: &str,
        attribution: serde_json::Value,
        reason: Option<String>,
    ) -> InterventionRequest {
        InterventionRequest {
            kind,
            target: InterventionTarget::Incident(incident),
            actor_id: actor_id.to_owned(),
            attribution,
            reason,
            target_agent: None,
            tool: None,
            command: None,
            resource: None,
            rule: None,
            title: None,
            severity: None,
            until: None,
            resolution: None,
            event_id: None,
            started_at: None,
            responder: None,
            into_incident: None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct VerdictRequest {
    pub incident_id: i64,
    pub event_id: String,
    pub verdict: Verdict,
    pub actor_id: String,
    pub attribution: serde_json::Value,
    pub reason: Option<String>,
}

pub type InterventionOutcome = InterventionResult;

#[derive(Debug, thiserror::Error)]
pub enum InterventionError {
    #[error("{1}")]
    NotFound(&'static str, String),
    #[error("{1}")]
    Conflict(&'static str, String),
    #[error("{2}")]
    Invalid(&'static str, &'static str, String),
    #[error(transparent)]
    Store(#[from] StoreError),
}

pub(super) fn agent_state(agent: &str, control: &AgentControl) -> AgentState {
    AgentState {
        agent_id: agent.to_owned(),
        paused: control.paused,
        disabled_tools: control.disabled_tools.iter().cloned().collect(),
    }
}

/// One intervention under way: what it acts on and what its kind changed,
/// for the shared step that persists, audits and commits it.
pub(super) struct Intervention<'r> {
    pub request: &'r InterventionRequest,
    pub now: DateTime<Utc>,
    /// The incident it acts on, as it will be saved.
    pub incident: Option<IncidentRecord>,
    /// The agent it acts on, and that agent's controls as they will be saved.
    pub agent: Option<String>,
    pub control: Option<AgentControl>,
    /// What the audit entry records besides the kind and target.
    pub details: serde_json::Value,
    /// The incident's own state changed (not only its list of interventions).
    pub changed_incident: bool,
    /// Notifications queued.
    pub queued: usize,
    /// An incident it opened.
    pub created: Option<IncidentRecord>,
    /// The number a new incident takes.
    pub next_incident: i64,
    /// Its analysis runs again after the change (its cause was settled).
    pub analyse: bool,
    /// A second incident it changed, saved beside the first: a merge's survivor.
    pub survivor: Option<IncidentRecord>,
    /// A merge: (duplicate, survivor), for grouping once it is committed.
    pub merged: Option<(i64, i64)>,
}

/// What an intervention's kind made of it.
pub(super) enum Step {
    /// Done, said so: the shared step records it.
    Done(String),
    /// It would change nothing: said, and not recorded.
    Unchanged(Box<InterventionResult>),
}

impl Desk {
    /// Carries out a human's (or an automation's) intervention: its kind
    /// decides what changes (`kinds.rs`), then one step saves the incident
    /// and the agent's controls, records the intervention and its audit
    /// entry, and commits.
    pub async fn intervene(&self, request: InterventionRequest) -> Result<InterventionOutcome, InterventionError> {
        use InterventionError::*;
        use InterventionKind::*;
        let kind = request.kind;
        let (mut state, mut tx) = self.begin_change().await?;
        let incident: Option<IncidentRecord> = match &request.target {
            InterventionTarget::Incident(id) => Some(
                self.store
                    .get_incident_in(&mut tx, *id)
                    .await?
                    .ok_or_else(|| NotFound("INCIDENT_NOT_FOUND", format!("no incident #{id}")))?,
            ),
            InterventionTarget::Agent(_) => None,
        };
        let agent = match (&request.target, &request.target_agent) {
            (InterventionTarget::Agent(a), _) => Some(a.clone()),
            (_, Some(a)) => Some(a.clone()),
            _ => None,
        };
        let needs_incident = matches!(
            kind,
            Acknowledge
                | Escalate
                | TriggerRollback
                | UpdateRule
                | Resolve
                | Reopen
                | Note
                | ChangeSeverity
                | AddResponder
                | HandOver
                | Merge
        );
        if needs_incident && incident.is_none() {
            return Err(Invalid(
                "INTERVENTION_NOT_APPLICABLE",
                "kind",
                format!("{kind} applies to an incident, not an agent"),
            ));
        }
        let needs_agent = matches!(kind, PauseAgent | ResumeAgent | DisableTool);
        if needs_agent && agent.is_none() {
            return Err(Invalid("FIELD_MISSING", "target_agent", format!("{kind} on an incident needs target_agent")));
        }
        let mut it = Intervention {
            request: &request,
            now: Utc::now(),
            incident,
            control: agent.as_deref().map(|a| self.agent_control(a)),
            agent,
            details: serde_json::json!({ "reason": request.reason, "attribution": request.attribution }),
            changed_incident: false,
            queued: 0,
            created: None,
            next_incident: state.next_incident,
            analyse: false,
            survivor: None,
            merged: None,
        };
        let step = match kind {
            Acknowledge => self.acknowledge(&mut tx, &mut it).await?,
            FlagForReview => flag_for_review(&mut it),
            PauseAgent | ResumeAgent => pause_or_resume(&mut it, kind == PauseAgent),
            DisableTool => self.disable_tool(&mut it)?,
            Escalate => self.escalate(&mut tx, &mut it).await?,
            CreateIncident => create_incident(&mut it)?,
            TriggerRollback => trigger_rollback(&mut it)?,
            UpdateRule => self.update_rule(&mut tx, &mut it).await?,
            Resolve => self.resolve(&mut tx, &mut it).await?,
            Reopen => self.reopen(&mut tx, &mut it).await?,
            Note => note(&mut it),
            ChangeSeverity => self.change_severity(&mut tx, &mut it).await?,
            AddResponder | HandOver => self.add_responder(&mut tx, &mut it, kind == HandOver).await?,
            Merge => self.merge(&mut tx, &mut it).await?,
        };
        let message = match step {
            Step::Done(message) => message,
            Step::Unchanged(result) => return Ok(*result),
        };
        self.record_intervention(&mut state, tx, it, message).await
    }

    /// The step every intervention that changed something ends with: the
    /// incident (a new version, even when only its list of interventions
    /// moved) and the agent's controls saved, the intervention and its audit
    /// entry recorded, the suggestions it acted on marked, all committed as
    /// one change.
    async fn record_intervention(
        &self,
        state: &mut tokio::sync::MutexGuard<'_, super::DeskState>,
        mut tx: sqlx::Transaction<'static, sqlx::Any>,
        it: Intervention<'_>,
        message: String,
    ) -> Result<InterventionOutcome, InterventionError> {
        let Intervention {
            request,
            now,
            mut incident,
            agent,
            control,
            details,
            changed_incident,
            queued,
            mut created,
            analyse,
            mut survivor,
            merged,
            ..
        } = it;
        let kind = request.kind;
        let target = match &request.target {
            InterventionTarget::Incident(id) => format!("incident:{id}"),
            InterventionTarget::Agent(a) => format!("agent:{a}"),
        };
        let mut details = details;
        if let (Some(a), Some(c)) = (&agent, &control) {
            details["agent"] = a.clone().into();
            self.store.set_agent_control(&mut tx, a, c, &request.actor_id, now).await?;
        }
        let version = state.version + 1;
        if let Some(record) = incident.as_mut() {
            if changed_incident {
                record.summary.updated_at = now;
            }
            record.summary.version = version;
            self.store.save_incident(&mut tx, record).await?;
        }
        for record in created.iter_mut().chain(survivor.iter_mut()) {
            record.summary.version = version;
            self.store.save_incident(&mut tx, record).await?;
        }
        let incident_id = incident.as_ref().map(|r| r.summary.id);
        let record = InterventionRecord {
            kind: kind.as_str(),
            incident_id,
            agent_id: agent.as_deref(),
            actor_id: &request.actor_id,
            reason: request.reason.as_deref(),
            details: &details,
            at: now,
        };
        self.store.record_intervention(&mut tx, &record).await?;
        if let Some(id) = incident_id {
            let targets: Vec<&str> = [agent.as_deref(), request.tool.as_deref(), request.resource.as_deref()]
                .into_iter()
                .flatten()
                .collect();
            self.store.suggestions_acted(&mut tx, id, kind, &targets, &request.actor_id, now).await?;
        }
        let entry = self.store.append_audit(&mut tx, now, &request.actor_id, kind.as_str(), &target, details).await?;
        if analyse {
            let due: Vec<i64> = incident_id.into_iter().chain(survivor.as_ref().map(|r| r.summary.id)).collect();
            self.store.mark_analysis_due(&mut tx, &due, version).await?;
        }
        let config = agent.is_some() && control.is_some();
        self.commit_change(state, tx, Committed { version, config, paging: queued > 0 }).await?;

        if let (Some(a), Some(c)) = (&agent, &control) {
            self.config.controls.write().insert(a.clone(), c.clone());
            self.configured();
        }
        if let Some(record) = &created {
            state.next_incident = record.summary.id + 1;
        }
        if let Some((duplicate, into)) = merged {
            state.grouper.merge(duplicate, into);
        }
        self.queued(queued);
        let shown = created.or(incident).map(|r| r.summary);
        Ok(InterventionResult {
            kind,
            message,
            incident: shown,
            agent: agent.as_deref().zip(control.as_ref()).map(|(a, c)| agent_state(a, c)),
            audit_seq: Some(entry.seq),
        })
    }

    /// Records a human's confirmation, rejection or investigation flag,
    /// with what the machine said of the candidate at that moment.
    pub async fn record_verdict(&self, request: VerdictRequest) -> Result<i64, InterventionError> {
        let judged = self.judged(&request).await?;
        let (mut state, mut tx) = self.begin_change().await?;
        let now = Utc::now();
        let mut record = self.store.get_incident_in(&mut tx, request.incident_id).await?.ok_or_else(|| {
            InterventionError::NotFound("INCIDENT_NOT_FOUND", format!("no incident #{}", request.incident_id))
        })?;
        let disputed = self.store.open_dispute_for(&mut tx, &request.event_id).await?;
        self.store
            .save_verdict(
                &mut tx,
                request.incident_id,
                &request.event_id,
                request.verdict,
                &request.actor_id,
                now,
                disputed.is_some(),
            )
            .await?;
        if let Some(judged) = &judged {
            self.store.save_judgement(&mut tx, request.incident_id, &request.event_id, judged).await?;
        }
        let version = state.version + 1;
        add_responder(&mut record.summary, &request.actor_id);
        record.summary.updated_at = now;
        record.summary.version = version;
        self.store.save_incident(&mut tx, &record).await?;
        let mut details = serde_json::json!({
            "event_id": request.event_id, "verdict": request.verdict.as_str(),
            "reason": request.reason, "attribution": request.attribution,
        });
        if let Some(d) = &disputed {
            // The verdict says it was given on a disputed attribution.
            details["while_disputed"] = serde_json::json!({ "dispute": d.id, "claim": d.claim.as_str() });
        }
        let entry = self
            .store
            .append_audit(
                &mut tx,
                now,
                &request.actor_id,
                "verdict",
                &format!("incident:{}", request.incident_id),
                details,
            )
            .await?;
        self.store.mark_analysis_due(&mut tx, &[request.incident_id], version).await?;
        self.commit_change(&mut state, tx, Committed::version(version)).await?;
        Ok(entry.seq)
    }
}

impl Desk {
    /// The candidate as it stands before the verdict (seed 11.2), and how
    /// long the judge had it before them (11.3): since first opening the
    /// incident, or since their previous verdict on it.
    async fn judged(&self, request: &VerdictRequest) -> Result<Option<crate::learning::Judged>, StoreError> {
        let Some(served) = self.incident_detail(request.incident_id).await? else { return Ok(None) };
        let Some(c) = served.detail.analysis.candidates.iter().find(|c| c.event_id == request.event_id) else {
            return Ok(None);
        };
        let first_read = self.store.first_read(&request.actor_id, request.incident_id).await?;
        let previous = self.store.last_verdict_at(&request.actor_id, request.incident_id).await?;
        let since = first_read.map(|read| previous.map_or(read, |v| v.max(read)));
        Ok(Some(crate::learning::Judged {
            scored: c.scored,
            band: crate::api::Band::of(c.scored),
            cause_type: c.action_type.clone(),
            cause_resource: c.resource.clone(),
            evidence: serde_json::to_value(&c.evidence).unwrap_or_default(),
            read_ms: since.map(|at| (Utc::now() - at).num_milliseconds().max(0)),
        }))
    }
}

/// The answer to an intervention that would change nothing: said, and not
/// recorded (no audit entry, no new version).
pub(super) fn unchanged(
    kind: InterventionKind,
    message: String,
    incident: Option<IncidentRecord>,
) -> InterventionResult {
    InterventionResult { kind, message, incident: incident.map(|r| r.summary), agent: None, audit_seq: None }
}

pub(super) fn add_responder(summary: &mut IncidentSummary, who: &str) {
    if !summary.responders.iter().any(|r| r == who) {
        summary.responders.push(who.to_owned());
    }
    // The first responder coordinates (seed 6.7); the responder list is the
    // record of who answered.
    if summary.coordinator.is_none() {
        summary.coordinator = Some(who.to_owned());
    }
}
