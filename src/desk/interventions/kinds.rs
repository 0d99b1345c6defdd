//! Each kind of intervention (design rule 4.1): what it changes on the
//! incident or the agent it acts on, and what it says. The shared step in
//! `mod.rs` persists, audits and commits it.

use super::{Intervention, InterventionError, Step, add_responder, agent_state, unchanged};
use crate::api::{IncidentStatus, InterventionKind, InterventionResult, Severity};
use crate::desk::Desk;
use crate::store::IncidentRecord;
use sqlx::{Any, Transaction};

use InterventionError::{Conflict, Invalid};

impl Desk {
    /// The responder takes the incident: paging stops, the receivers are
    /// told, and the first to answer for an ambiguous resource is recorded
    /// as its de facto owner (6.6).
    pub(super) async fn acknowledge(
        &self,
        tx: &mut Transaction<'static, Any>,
        it: &mut Intervention<'_>,
    ) -> Result<Step, InterventionError> {
        let actor = &it.request.actor_id;
        let record = it.incident.as_mut().expect("an incident, checked");
        let id = record.summary.id;
        if record.summary.status == IncidentStatus::Resolved {
            return Err(Conflict("INCIDENT_RESOLVED", format!("incident #{id} is already resolved")));
        }
        let joined = !record.summary.responders.contains(actor);
        if record.summary.status == IncidentStatus::Acknowledged && !joined {
            let by = record.summary.responders.join(", ");
            let said = format!("incident #{id} is already acknowledged (by {by})");
            return Ok(Step::Unchanged(Box::new(unchanged(InterventionKind::Acknowledge, said, it.incident.take()))));
        }
        let message = if record.summary.status == IncidentStatus::Acknowledged {
            format!("incident #{id} was already acknowledged; {actor} joins the responders")
        } else {
            format!("incident #{id} acknowledged by {actor}")
        };
        record.summary.status = IncidentStatus::Acknowledged;
        add_responder(&mut record.summary, actor);
        it.changed_incident = true;
        let (notices, owner) = self.acknowledged_in(tx, id, actor, self.clock.now()).await?;
        it.queued += notices;
        Ok(Step::Done(match owner {
            Some(resource) => {
                it.details["de_facto_owner"] = serde_json::json!({ "resource": resource, "owner": actor });
                format!("{message}; {actor} answered first and is recorded as the de facto owner of {resource}")
            }
            None => message,
        }))
    }

    /// A tool taken from an agent; never one the catalog marks critical (9.3).
    pub(super) fn disable_tool(&self, it: &mut Intervention<'_>) -> Result<Step, InterventionError> {
        let tool = it
            .request
            .tool
            .clone()
            .ok_or_else(|| Invalid("FIELD_MISSING", "tool", "disable_tool needs tool".into()))?;
        if self.catalog().is_critical_tool(&tool) {
            return Err(Conflict(
                "TOOL_CRITICAL",
                format!("{tool} is marked critical in the catalog and cannot be disabled"),
            ));
        }
        it.control.as_mut().expect("an agent, checked").disabled_tools.insert(tool.clone());
        it.details["tool"] = tool.clone().into();
        Ok(Step::Done(format!("tool {tool} disabled for agent {}", it.agent.as_deref().unwrap_or_default())))
    }

    /// The next escalation level, paged now when routing has one waiting.
    pub(super) async fn escalate(
        &self,
        tx: &mut Transaction<'static, Any>,
        it: &mut Intervention<'_>,
    ) -> Result<Step, InterventionError> {
        let record = it.incident.as_mut().expect("an incident, checked");
        let levels =
            crate::incident::escalation_path(&self.catalog(), record.summary.resources.first().map(String::as_str))
                .len()
                .max(1) as i64;
        if record.summary.escalation_level >= (levels - 1).max(3) {
            return Err(Conflict(
                "ESCALATION_AT_TOP",
                format!("incident #{} is at the last escalation level", record.summary.id),
            ));
        }
        record.summary.escalation_level += 1;
        add_responder(&mut record.summary, &it.request.actor_id);
        it.changed_incident = true;
        it.details["level"] = record.summary.escalation_level.into();
        let escalated =
            format!("incident #{} escalated to level {}", record.summary.id, record.summary.escalation_level);
        let id = record.summary.id;
        let decision = self.store.latest_routing_in(tx, id).await?;
        // The same function the console's preview reads: the level after the
        // one the incident was at, acknowledged or not.
        let next = decision.and_then(|d| crate::paging::next_level(&d, record.summary.escalation_level - 1));
        let Some(next) = next else {
            return Ok(Step::Done(format!("{escalated}; routing has no later level to page")));
        };
        let routing = self.routing();
        let targets = self.store.page_level_now(tx, id, &next, routing.receivers(), self.clock.now()).await?;
        it.queued += next.notifications.len();
        it.details["paged"] = serde_json::json!({ "level": next.level, "targets": targets });
        Ok(Step::Done(format!("{escalated}: paging {} now (routing level {})", targets.join(", "), next.level)))
    }

    /// A rule, in the responder's words, proposed from what the incident's
    /// signature saw; an admin approves it before it acts (10.5).
    pub(super) async fn update_rule(
        &self,
        tx: &mut Transaction<'static, Any>,
        it: &mut Intervention<'_>,
    ) -> Result<Step, InterventionError> {
        let rule =
            it.request.rule.clone().ok_or_else(|| Invalid("FIELD_MISSING", "rule", "update_rule needs rule".into()))?;
        it.details["rule"] = rule.clone().into();
        let record = it.incident.as_ref().expect("an incident, checked");
        let id = record.summary.id;
        let matches = record.signature.as_ref().map(crate::learning::rules::match_of);
        let Some(matches) = matches.filter(|m| crate::learning::rules::check_match(m).is_ok()) else {
            return Ok(Step::Done(
                "rule text recorded; no rule proposed: the incident has no suspected action or resource to match yet"
                    .to_owned(),
            ));
        };
        let pattern_id = self.store.pattern_of(id).await?;
        let name: String = rule.lines().next().unwrap_or_default().chars().take(120).collect();
        let source = format!("proposed by {} on incident #{id}: {rule}", it.request.actor_id);
        let new = crate::store::NewRule {
            name: &name,
            pattern_id,
            matches: &matches,
            decision: crate::api::RuleDecision::Gated,
            automation: None,
            source: &source,
            proposed_by: &it.request.actor_id,
        };
        Ok(Step::Done(match self.store.propose_rule(tx, &new, it.now).await? {
            Some(rule_id) => {
                it.details["proposed_rule"] = rule_id.into();
                it.details["match"] = serde_json::json!(matches);
                format!("rule #{rule_id} proposed: an admin approves it before it acts (:patterns)")
            }
            None => format!(
                "rule text recorded; {} already has a rule proposed, approved or active (:patterns)",
                pattern_id.map(crate::incident::patterns::pattern_name).unwrap_or_default()
            ),
        }))
    }
}

/// The incident, or the agent, queued for a later look.
pub(super) fn flag_for_review(it: &mut Intervention<'_>) -> Step {
    Step::Done(match it.incident.as_mut() {
        Some(record) => {
            record.summary.flagged_for_review = true;
            it.changed_incident = true;
            format!("incident #{} queued for review", record.summary.id)
        }
        None => format!("agent {} queued for review", it.agent.as_deref().unwrap_or_default()),
    })
}

/// The agent paused (its new runs refused) or resumed.
pub(super) fn pause_or_resume(it: &mut Intervention<'_>, pause: bool) -> Step {
    let kind = it.request.kind;
    let name = it.agent.as_deref().unwrap_or_default();
    let control = it.control.as_mut().expect("an agent, checked");
    if control.paused_at(it.now) == pause {
        let already = if pause { "already paused" } else { "not paused" };
        return Step::Unchanged(Box::new(InterventionResult {
            agent: Some(agent_state(name, control)),
            ..unchanged(kind, format!("agent {name} is {already}: nothing to do"), it.incident.take())
        }));
    }
    control.paused = pause;
    control.paused_since = pause.then_some(it.now);
    control.paused_by = pause.then(|| it.request.actor_id.clone());
    control.paused_reason = it.request.reason.clone().filter(|_| pause);
    control.paused_until = it.request.until.filter(|_| pause);
    control.paused_for = it.incident.as_ref().map(|r| r.summary.id).filter(|_| pause);
    Step::Done(if pause {
        let until = match it.request.until {
            Some(at) => format!("until {} UTC or until resumed", at.format("%Y-%m-%d %H:%M:%S")),
            None => "until resumed".to_owned(),
        };
        format!("agent {name} paused: its next actions and new runs are refused {until}")
    } else {
        format!("agent {name} resumed")
    })
}

/// A formal incident opened by hand, its opener coordinating it. A person's
/// report names the resource and (by default now) the time it began: its
/// analysis starts from them, as an error's would.
pub(super) fn create_incident(it: &mut Intervention<'_>) -> Result<Step, InterventionError> {
    let request = it.request;
    let by_person = request.attribution["actor_type"] == "HUMAN";
    if by_person && request.resource.is_none() && it.agent.is_none() {
        return Err(Invalid(
            "FIELD_MISSING",
            "resource",
            "a reported incident names the resource (or catalog service) that is failing".into(),
        ));
    }
    let started = request.started_at.unwrap_or(it.now);
    if started > it.now + chrono::Duration::minutes(1) {
        return Err(Invalid("FIELD_INVALID_VALUE", "started_at", "started_at is in the future".into()));
    }
    let id = it.next_incident;
    let title = request.title.clone().unwrap_or_else(|| match (&it.agent, &it.incident) {
        (Some(a), _) => format!("reported: agent {a}"),
        (None, Some(i)) => format!("follow-up of incident #{}", i.summary.id),
        _ => "reported incident".to_owned(),
    });
    let mut record = IncidentRecord::opened(
        id,
        title,
        request.severity.unwrap_or(Severity::High),
        request.resource.iter().cloned().collect(),
        started,
    );
    record.summary.updated_at = it.now;
    record.summary.responders = vec![request.actor_id.clone()];
    record.summary.coordinator = Some(request.actor_id.clone());
    record.created_by = Some(request.actor_id.clone());
    it.details["created_incident"] = id.into();
    it.details["started_at"] = serde_json::json!(started);
    it.created = Some(record);
    Ok(Step::Done(format!("incident #{id} created")))
}

/// The command a human runs to roll back, recorded; Mandate does not run it (2.1).
pub(super) fn trigger_rollback(it: &mut Intervention<'_>) -> Result<Step, InterventionError> {
    let command = it.request.command.clone().ok_or_else(|| {
        Invalid(
            "FIELD_MISSING",
            "command",
            "trigger_rollback records the command a human runs: command is required".into(),
        )
    })?;
    it.details["command"] = command.clone().into();
    it.details["resource"] = it.request.resource.clone().into();
    let record = it.incident.as_mut().expect("an incident, checked");
    add_responder(&mut record.summary, &it.request.actor_id);
    it.changed_incident = true;
    Ok(Step::Done(format!(
        "rollback requested for incident #{}: run `{command}` (Mandate does not execute it)",
        record.summary.id
    )))
}
