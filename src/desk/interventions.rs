use super::Desk;
use super::change::Committed;
use crate::api::{
    AgentState, IncidentStatus, IncidentSummary, InterventionKind, InterventionResult, Severity, Verdict,
};
use crate::store::{AgentControl, IncidentRecord, InterventionRecord, StoreError};
use chrono::Utc;

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
        InterventionRequest {
            kind,
            target: InterventionTarget::Incident(incident),
            actor_id: actor_id.to_owned(),
            attribution: serde_json::json!({
                "actor_type": "SYSTEM", "agent_id": agent_id, "origin_system_id": "mandate", "rule": rule,
            }),
            reason: Some(reason),
            target_agent: None,
            tool: None,
            command: None,
            resource: None,
            rule: None,
            title: None,
            severity: None,
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

fn agent_state(agent: &str, control: &AgentControl) -> AgentState {
    AgentState {
        agent_id: agent.to_owned(),
        paused: control.paused,
        disabled_tools: control.disabled_tools.iter().cloned().collect(),
    }
}

impl Desk {
    pub async fn intervene(&self, request: InterventionRequest) -> Result<InterventionOutcome, InterventionError> {
        use InterventionError::*;
        use InterventionKind::*;
        let kind = request.kind;
        let (mut state, mut tx) = self.begin_change().await?;
        let now = Utc::now();
        let mut incident: Option<IncidentRecord> = match &request.target {
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
        let needs_incident = matches!(kind, Acknowledge | Escalate | TriggerRollback | UpdateRule);
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
        let mut control = agent.as_deref().map(|a| self.agent_control(a));
        let mut details = serde_json::json!({ "reason": request.reason, "attribution": request.attribution });
        let mut changed_incident = false;
        let mut queued = 0;
        let mut created: Option<IncidentRecord> = None;
        let message = match kind {
            Acknowledge => {
                let record = incident.as_mut().expect("checked");
                if record.summary.status == IncidentStatus::Resolved {
                    return Err(Conflict(
                        "INCIDENT_RESOLVED",
                        format!("incident #{} is already resolved", record.summary.id),
                    ));
                }
                let id = record.summary.id;
                let joined = !record.summary.responders.contains(&request.actor_id);
                if record.summary.status == IncidentStatus::Acknowledged && !joined {
                    let by = record.summary.responders.join(", ");
                    return Ok(unchanged(kind, format!("incident #{id} is already acknowledged (by {by})"), incident));
                }
                let message = if record.summary.status == IncidentStatus::Acknowledged {
                    format!("incident #{id} was already acknowledged; {} joins the responders", request.actor_id)
                } else {
                    format!("incident #{id} acknowledged by {}", request.actor_id)
                };
                record.summary.status = IncidentStatus::Acknowledged;
                add_responder(&mut record.summary, &request.actor_id);
                changed_incident = true;
                let (notices, owner) = self.acknowledged_in(&mut tx, id, &request.actor_id, self.clock.now()).await?;
                queued += notices;
                match owner {
                    Some(resource) => {
                        details["de_facto_owner"] =
                            serde_json::json!({ "resource": resource, "owner": request.actor_id });
                        format!(
                            "{message}; {} answered first and is recorded as the de facto owner of {resource}",
                            request.actor_id
                        )
                    }
                    None => message,
                }
            }
            FlagForReview => match incident.as_mut() {
                Some(record) => {
                    record.summary.flagged_for_review = true;
                    changed_incident = true;
                    format!("incident #{} queued for review", record.summary.id)
                }
                None => format!("agent {} queued for review", agent.as_deref().unwrap_or_default()),
            },
            PauseAgent | ResumeAgent => {
                let name = agent.as_deref().unwrap_or_default();
                let c = control.as_mut().expect("checked");
                let pause = kind == PauseAgent;
                if c.paused == pause {
                    let already = if pause { "already paused" } else { "not paused" };
                    return Ok(InterventionResult {
                        agent: Some(agent_state(name, c)),
                        ..unchanged(kind, format!("agent {name} is {already}: nothing to do"), incident)
                    });
                }
                c.paused = pause;
                if pause {
                    format!("agent {name} paused: its new runs are refused until resumed")
                } else {
                    format!("agent {name} resumed")
                }
            }
            DisableTool => {
                let tool = request
                    .tool
                    .clone()
                    .ok_or_else(|| Invalid("FIELD_MISSING", "tool", "disable_tool needs tool".into()))?;
                if self.catalog().is_critical_tool(&tool) {
                    return Err(Conflict(
                        "TOOL_CRITICAL",
                        format!("{tool} is marked critical in the catalog and cannot be disabled"),
                    ));
                }
                control.as_mut().expect("checked").disabled_tools.insert(tool.clone());
                details["tool"] = tool.clone().into();
                format!("tool {tool} disabled for agent {}", agent.as_deref().unwrap_or_default())
            }
            Escalate => {
                let record = incident.as_mut().expect("checked");
                let top = crate::incident::escalation_path(
                    &self.catalog(),
                    record.summary.resources.first().map(String::as_str),
                )
                .len()
                .max(1) as i64
                    - 1;
                if record.summary.escalation_level >= top.max(3) {
                    return Err(Conflict(
                        "ESCALATION_AT_TOP",
                        format!("incident #{} is at the last escalation level", record.summary.id),
                    ));
                }
                record.summary.escalation_level += 1;
                add_responder(&mut record.summary, &request.actor_id);
                changed_incident = true;
                details["level"] = record.summary.escalation_level.into();
                let escalated =
                    format!("incident #{} escalated to level {}", record.summary.id, record.summary.escalation_level);
                match self.store.bring_forward(&mut tx, record.summary.id, self.clock.now()).await? {
                    Some((level, targets)) => {
                        queued += targets.len();
                        details["paged"] = serde_json::json!({ "level": level, "targets": targets });
                        format!("{escalated}: paging {} now (routing level {level})", targets.join(", "))
                    }
                    None => format!("{escalated}; routing has no later level waiting to be paged"),
                }
            }
            CreateIncident => {
                let id = state.next_incident;
                let title = request.title.clone().unwrap_or_else(|| match (&agent, &incident) {
                    (Some(a), _) => format!("reported: agent {a}"),
                    (None, Some(i)) => format!("follow-up of incident #{}", i.summary.id),
                    _ => "reported incident".to_owned(),
                });
                let mut record = IncidentRecord::opened(
                    id,
                    title,
                    request.severity.unwrap_or(Severity::High),
                    request.resource.iter().cloned().collect(),
                    now,
                );
                record.summary.responders = vec![request.actor_id.clone()];
                record.summary.coordinator = Some(request.actor_id.clone());
                record.created_by = Some(request.actor_id.clone());
                details["created_incident"] = id.into();
                created = Some(record);
                format!("incident #{id} created")
            }
            TriggerRollback => {
                let record = incident.as_mut().expect("checked");
                let command = request.command.clone().ok_or_else(|| {
                    Invalid(
                        "FIELD_MISSING",
                        "command",
                        "trigger_rollback records the command a human runs: command is required".into(),
                    )
                })?;
                details["command"] = command.clone().into();
                details["resource"] = request.resource.clone().into();
                add_responder(&mut record.summary, &request.actor_id);
                changed_incident = true;
                format!(
                    "rollback requested for incident #{}: run `{command}` (Mandate does not execute it)",
                    record.summary.id
                )
            }
            UpdateRule => {
                let rule = request
                    .rule
                    .clone()
                    .ok_or_else(|| Invalid("FIELD_MISSING", "rule", "update_rule needs rule".into()))?;
                details["rule"] = rule.clone().into();
                let record = incident.as_ref().expect("checked");
                let id = record.summary.id;
                // The text becomes a rule matching what the incident's signature saw.
                let matches = record.signature.as_ref().map(crate::learning::rules::match_of);
                match matches.filter(|m| crate::learning::rules::check_match(m).is_ok()) {
                    None => "rule text recorded; no rule proposed: the incident has no suspected action or resource \
                             to match yet"
                        .to_owned(),
                    Some(matches) => {
                        let pattern_id = self.store.pattern_of(id).await?;
                        let name: String = rule.lines().next().unwrap_or_default().chars().take(120).collect();
                        let source = format!("proposed by {} on incident #{id}: {rule}", request.actor_id);
                        let new = crate::store::NewRule {
                            name: &name,
                            pattern_id,
                            matches: &matches,
                            decision: crate::api::RuleDecision::Gated,
                            automation: None,
                            source: &source,
                            proposed_by: &request.actor_id,
                        };
                        match self.store.propose_rule(&mut tx, &new, now).await? {
                            Some(rule_id) => {
                                details["proposed_rule"] = rule_id.into();
                                details["match"] = serde_json::json!(matches);
                                format!("rule #{rule_id} proposed: an admin approves it before it acts (:patterns)")
                            }
                            None => format!(
                                "rule text recorded; {} already has a rule proposed, approved or active (:patterns)",
                                pattern_id.map(crate::incident::patterns::pattern_name).unwrap_or_default()
                            ),
                        }
                    }
                }
            }
        };

        let target = match (&request.target, &agent) {
            (InterventionTarget::Incident(id), _) => format!("incident:{id}"),
            (InterventionTarget::Agent(a), _) => format!("agent:{a}"),
        };
        if let (Some(a), Some(c)) = (&agent, &control) {
            details["agent"] = a.clone().into();
            self.store.set_agent_control(&mut tx, a, c, &request.actor_id, now).await?;
        }
        let version = state.version + 1;
        if let Some(record) = incident.as_mut() {
            // Its detail lists every intervention made on it: it moves to a
            // new version even when nothing else of it changed (a pause).
            if changed_incident {
                record.summary.updated_at = now;
            }
            record.summary.version = version;
            self.store.save_incident(&mut tx, record).await?;
        }
        if let Some(record) = created.as_mut() {
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
        let config = agent.is_some() && control.is_some();
        self.commit_change(&mut state, tx, Committed { version, config, paging: queued > 0 }).await?;

        if let (Some(a), Some(c)) = (&agent, &control) {
            self.controls.write().unwrap_or_else(|p| p.into_inner()).insert(a.clone(), c.clone());
            self.configured();
        }
        if let Some(record) = &created {
            state.next_incident = record.summary.id + 1;
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
fn unchanged(kind: InterventionKind, message: String, incident: Option<IncidentRecord>) -> InterventionResult {
    InterventionResult { kind, message, incident: incident.map(|r| r.summary), agent: None, audit_seq: None }
}

fn add_responder(summary: &mut IncidentSummary, who: &str) {
    if !summary.responders.iter().any(|r| r == who) {
        summary.responders.push(who.to_owned());
    }
    // The first responder coordinates (seed 6.7); the responder list is the
    // record of who answered.
    if summary.coordinator.is_none() {
        summary.coordinator = Some(who.to_owned());
    }
}
