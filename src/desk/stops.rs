//! Stops over a run, an agent, a prefix of agents or the whole fleet: made
//! and lifted by people, served to the agents' SDKs from memory, checked at
//! ingest, and listed with whether they hold. One agent's stop is its pause
//! (the `pause_agent` intervention); the others live in the `stops` table.

use super::change::Committed;
use super::configuration::WideStop;
use super::{Desk, InterventionError, InterventionRequest, InterventionTarget};
use crate::api::{AgentControlState, AgentStop, InterventionKind, StopResult, StopScope, StopSummary};
use crate::store::{AgentControl, StoreError};
use chrono::{DateTime, Utc};
use std::collections::HashMap;
use std::sync::{Arc, Weak};

/// A person's stop, validated.
#[derive(Debug, Clone)]
pub struct StopRequest {
    pub scope: StopScope,
    /// A run id, an agent name, `prefix*`, or `*`.
    pub target: String,
    pub reason: Option<String>,
    pub until: Option<DateTime<Utc>>,
    pub incident_id: Option<i64>,
    pub actor_id: String,
    pub attribution: serde_json::Value,
}

/// Actions one stop did not hold back, in one batch of events.
pub(super) struct Breach {
    stop: AgentStop,
    agents: Vec<String>,
    events: Vec<String>,
    count: i64,
}

/// The event ids a breach's page and audit entry name, at most.
const BREACH_EVENTS_NAMED: usize = 20;

/// Notes that `agent` acted (event `event_id`) while `stop` held.
pub(super) fn note_breach(breaches: &mut Vec<Breach>, agent: &str, stop: &AgentStop, event_id: &str) {
    let at = match breaches.iter().position(|b| b.stop == *stop) {
        Some(at) => at,
        None => {
            breaches.push(Breach { stop: stop.clone(), agents: vec![], events: vec![], count: 0 });
            breaches.len() - 1
        }
    };
    let breach = &mut breaches[at];
    breach.count += 1;
    if !breach.agents.iter().any(|a| a == agent) {
        breach.agents.push(agent.to_owned());
    }
    if breach.events.len() < BREACH_EVENTS_NAMED {
        breach.events.push(event_id.to_owned());
    }
}

/// The incident that collects one stop's breaches, until it is resolved.
fn breach_title(stop: &AgentStop) -> String {
    format!(
        "ACTED WHILE STOPPED: {} (stopped by {} at {} UTC)",
        stop.scope_label(),
        stop.by,
        stop.since.format("%Y-%m-%d %H:%M:%S")
    )
}

/// How often each server writes when agents' SDKs last asked for their
/// controls, and the refusals they reported.
const NOTED_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// Every stop in force at `now` that covers agent `agent` or one of its
/// runs: its own pause first, then the wider ones in the order made.
fn stops_on(agent: &str, control: Option<&AgentControl>, wide: &[WideStop], now: DateTime<Utc>) -> Vec<AgentStop> {
    let own = control.filter(|c| c.paused_at(now)).and_then(|c| c.stop(agent));
    let wider = wide.iter().filter(|(s, run_agent)| {
        let covers = match s.scope {
            // A run whose agent is not known yet is served to every agent:
            // its SDK knows which run it is in.
            StopScope::Run => run_agent.as_deref().is_none_or(|a| a == agent),
            _ => s.covers(agent, None),
        };
        covers && s.until.is_none_or(|until| now < until)
    });
    own.into_iter().chain(wider.map(|(s, _)| s.clone())).collect()
}

/// The stop, among those in force, that held over an action of `run` at
/// `at`: the action was taken while stopped.
pub(super) fn held_over<'s>(
    stops: &'s [AgentStop],
    agent: &str,
    run: Option<&str>,
    at: DateTime<Utc>,
) -> Option<&'s AgentStop> {
    stops.iter().find(|s| s.covers(agent, run) && s.holds_at(at))
}

impl Desk {
    /// What agent `agent_id` must obey, as this server knows it: every change
    /// made here, and every one another server of the database made once its
    /// notice is heard (see [`Desk::config_changes`]). The tag is a digest of
    /// the stops and the disabled tools.
    pub fn agent_control_state(&self, agent_id: &str) -> AgentControlState {
        let control = self.agent_control(agent_id);
        let stops = stops_on(agent_id, Some(&control), &self.config.stops.read(), Utc::now());
        self.control_state(agent_id, control, stops)
    }

    fn control_state(&self, agent_id: &str, control: AgentControl, stops: Vec<AgentStop>) -> AgentControlState {
        let stop = stops.iter().find(|s| s.scope != StopScope::Run).cloned();
        let disabled_tools: Vec<String> = control.disabled_tools.into_iter().collect();
        let gates = self.gated_action_types(agent_id);
        use sha2::Digest;
        let digest = sha2::Sha256::digest(serde_json::to_vec(&(&stops, &disabled_tools, &gates)).unwrap_or_default());
        let tag = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
        AgentControlState { agent_id: agent_id.to_owned(), stop, stops, disabled_tools, gates, tag }
    }

    /// The stops in force on each of `agents` now, from a snapshot of the
    /// controls (for one batch of events).
    pub(super) fn stops_snapshot(
        &self,
        controls: &HashMap<String, AgentControl>,
    ) -> impl Fn(&str) -> Vec<AgentStop> + use<> {
        let wide = self.config.stops.read().clone();
        let controls: HashMap<String, AgentControl> =
            controls.iter().filter(|(_, c)| c.paused).map(|(a, c)| (a.clone(), c.clone())).collect();
        let now = Utc::now();
        move |agent| stops_on(agent, controls.get(agent), &wide, now)
    }

    /// The stop that refuses agent `agent_id` new runs, if any: on a database
    /// several servers share, as committed (a stop made through another
    /// server holds here at once).
    pub async fn stop_on_agent(&self, agent_id: &str) -> Result<Option<AgentStop>, StoreError> {
        let now = Utc::now();
        if !self.store.shared() {
            return Ok(self.agent_control_state(agent_id).stop);
        }
        if self.store.agent_paused(agent_id).await? {
            // The stop's details as last heard; that it holds is committed.
            let stop = self.agent_control(agent_id).stop(agent_id);
            return Ok(Some(stop.unwrap_or_else(|| AgentStop {
                by: "another server's operator".to_owned(),
                reason: None,
                since: now,
                until: None,
                scope: StopScope::Agent,
                target: agent_id.to_owned(),
                incident_id: None,
            })));
        }
        let wide = self.store.wide_stops(now).await?;
        Ok(stops_on(agent_id, None, &wide, now).into_iter().find(|s| s.scope != StopScope::Run))
    }

    /// Makes a stop, recorded in the audit log with the person's HUMAN
    /// attribution. One agent's stop is its pause; a stop already in force
    /// on the same scope and target is said so and changes nothing.
    pub async fn make_stop(&self, request: StopRequest) -> Result<StopResult, InterventionError> {
        if request.scope == StopScope::Agent {
            return self.pause_for_stop(request, InterventionKind::PauseAgent).await;
        }
        let (mut state, mut tx) = self.begin_change().await?;
        let now = Utc::now();
        let label = request.scope.label(&request.target);
        let in_force = self
            .config
            .stops
            .read()
            .iter()
            .find(|(s, _)| s.scope == request.scope && s.target == request.target && s.until.is_none_or(|u| now < u))
            .cloned();
        if let Some((s, _)) = in_force {
            return Ok(StopResult {
                message: format!("{label} is already stopped (by {} since {})", s.by, s.since.format("%H:%M:%S")),
                stop: Some(s),
                audit_seq: None,
            });
        }
        if let Some(id) = request.incident_id
            && self.store.get_incident_in(&mut tx, id).await?.is_none()
        {
            return Err(InterventionError::NotFound("INCIDENT_NOT_FOUND", format!("no incident #{id}")));
        }
        let run_agent = match request.scope {
            StopScope::Run => self.store.run_agent(&request.target).await?,
            _ => None,
        };
        let stop = AgentStop {
            by: request.actor_id.clone(),
            reason: request.reason.clone(),
            since: now,
            until: request.until,
            scope: request.scope,
            target: request.target.clone(),
            incident_id: request.incident_id,
        };
        self.store.insert_stop(&mut tx, &stop, run_agent.as_deref()).await?;
        let details = serde_json::json!({
            "scope": stop.scope.as_str(), "target": stop.target, "reason": stop.reason, "until": stop.until,
            "incident_id": stop.incident_id, "run_agent": run_agent, "attribution": request.attribution,
        });
        let entry = self
            .store
            .append_audit(&mut tx, now, &request.actor_id, "stop", &audit_target(stop.scope, &stop.target), details)
            .await?;
        let version = state.version;
        self.commit_change(&mut state, tx, Committed { version, config: true, paging: false }).await?;
        let mut wide: Vec<WideStop> = self.config.stops.read().as_ref().clone();
        wide.push((stop.clone(), run_agent.clone()));
        *self.config.stops.write() = Arc::new(wide);
        self.configured();
        let unknown = match (stop.scope, &run_agent) {
            (StopScope::Run, None) => " (no such run is known yet: every agent's SDK is told)",
            _ => "",
        };
        Ok(StopResult {
            message: format!("{label} stopped: its next actions are refused{unknown}"),
            stop: Some(stop),
            audit_seq: Some(entry.seq),
        })
    }

    /// Lifts the stop in force on (`scope`, `target`), recorded in the audit
    /// log; other stops covering the same agents stay in force.
    pub async fn lift_stop(&self, request: StopRequest) -> Result<StopResult, InterventionError> {
        if request.scope == StopScope::Agent {
            return self.pause_for_stop(request, InterventionKind::ResumeAgent).await;
        }
        let (mut state, mut tx) = self.begin_change().await?;
        let now = Utc::now();
        let key = (request.scope, request.target.as_str());
        let lifted = self.config.stops.read().iter().find(|(s, _)| (s.scope, s.target.as_str()) == key).cloned();
        let label = request.scope.label(&request.target);
        if !self.store.lift_stop(&mut tx, key, &request.actor_id, now).await? {
            return Ok(StopResult { message: format!("{label} is not stopped"), stop: None, audit_seq: None });
        }
        let details = serde_json::json!({
            "scope": request.scope.as_str(), "target": request.target, "reason": request.reason,
            "attribution": request.attribution,
        });
        let target = audit_target(request.scope, &request.target);
        let entry = self.store.append_audit(&mut tx, now, &request.actor_id, "lift_stop", &target, details).await?;
        let version = state.version;
        self.commit_change(&mut state, tx, Committed { version, config: true, paging: false }).await?;
        let wide: Vec<WideStop> =
            self.config.stops.read().iter().filter(|(s, _)| (s.scope, s.target.as_str()) != key).cloned().collect();
        *self.config.stops.write() = Arc::new(wide);
        self.configured();
        Ok(StopResult {
            message: format!("{label}: stop lifted"),
            stop: lifted.map(|(s, _)| s),
            audit_seq: Some(entry.seq),
        })
    }

    /// One agent's stop is its pause, made or lifted as the intervention.
    async fn pause_for_stop(
        &self,
        request: StopRequest,
        kind: InterventionKind,
    ) -> Result<StopResult, InterventionError> {
        let agent = request.target.clone();
        let seen = self.config.controls.read().contains_key(&agent);
        let (target, target_agent) = match request.incident_id {
            Some(id) => (InterventionTarget::Incident(id), Some(agent.clone())),
            None => (InterventionTarget::Agent(agent.clone()), None),
        };
        let done = self
            .intervene(InterventionRequest {
                target,
                target_agent,
                until: request.until,
                reason: request.reason,
                attribution: request.attribution,
                ..InterventionRequest::by_system(kind, 0, (&request.actor_id, "mandate"), "", String::new())
            })
            .await?;
        let stop = self.agent_control(&agent).stop(&agent);
        let mut message = done.message;
        if !seen && kind == InterventionKind::PauseAgent && done.audit_seq.is_some() {
            message.push_str(" (no agent of that name has been seen yet: the stop holds from its first action)");
        }
        Ok(StopResult { message, stop, audit_seq: done.audit_seq })
    }

    /// Each stop that did not hold is an incident, critical, paging at once
    /// the stop's author and the owners of the agents that acted (their
    /// catalog entries, else the fallback). Later breaches of the same stop
    /// join its incident while it is open, without paging again.
    pub(super) async fn page_breaches(&self, breaches: Vec<Breach>) -> Result<(), StoreError> {
        for breach in breaches {
            let collecting = super::paging::Collecting {
                title: breach_title(&breach.stop),
                severity: crate::api::Severity::Critical,
                created_by: super::ROUTING_ACTOR,
                resources: &breach.agents,
                count: breach.count,
            };
            let opening = |routing: &crate::routing::Routing, catalog: &crate::catalog::Catalog, now| {
                let mut targets: Vec<String> = Vec::new();
                if breach.stop.by != super::ROUTING_ACTOR {
                    targets.push(format!("@{}", breach.stop.by.trim_start_matches('@')));
                }
                for agent in &breach.agents {
                    for (owner, _) in routing.owners_of(catalog, agent, now) {
                        if !targets.contains(&owner) {
                            targets.push(owner);
                        }
                    }
                }
                let why = format!(
                    "{} acted {} time(s) while stopped ({} by {}{}): the stop did not hold",
                    breach.agents.join(", "),
                    breach.count,
                    breach.stop.scope_label(),
                    breach.stop.by,
                    breach.stop.reason.as_deref().map(|r| format!(": {r}")).unwrap_or_default()
                );
                super::paging::OpeningPage { targets, why, rule: "acted while stopped".to_owned(), level: "stop" }
            };
            let details = serde_json::json!({
                "agents": breach.agents, "events": breach.events, "count": breach.count,
                "stop": { "scope": breach.stop.scope.as_str(), "target": breach.stop.target, "by": breach.stop.by },
            });
            self.collect_in_titled(collecting, opening, (super::ROUTING_ACTOR, "acted_while_stopped", details)).await?;
        }
        Ok(())
    }

    /// Every stop in force with whether it holds.
    pub async fn list_stops(&self) -> Result<Vec<StopSummary>, StoreError> {
        self.write_noted().await?;
        self.store.list_stops(Utc::now()).await
    }

    /// Every agent, with the refusals reported here counted.
    pub async fn list_agents(&self) -> Result<Vec<crate::api::AgentSummary>, StoreError> {
        self.write_noted().await?;
        self.store.list_agents(Utc::now()).await
    }

    /// Agent `agent_id`'s SDK (`sdk`, when it said which) asked for its
    /// controls now.
    pub fn note_contact(&self, agent_id: &str, sdk: Option<String>) {
        self.contacts.lock().insert(agent_id.to_owned(), (Utc::now(), sdk));
    }

    /// Agent `agent_id`'s SDK refused `attempts` under the stop on (`scope`,
    /// `target`; for the agent's own stop, its name): counted against it,
    /// in memory and written within [`NOTED_EVERY`], so that a fleet's
    /// reports cost no write each. Whether that stop is in force here.
    pub fn note_refusals(&self, agent_id: &str, (scope, target): (StopScope, &str), attempts: i64) -> bool {
        let target = if scope == StopScope::Agent { agent_id } else { target };
        let stops = stops_on(agent_id, Some(&self.agent_control(agent_id)), &self.config.stops.read(), Utc::now());
        let holds = stops.iter().any(|s| s.scope == scope && s.target == target);
        if holds {
            *self.refusals.lock().entry((scope, target.to_owned())).or_default() += attempts;
        }
        holds
    }

    /// Writes the contacts and refusals noted since the last write.
    pub async fn write_noted(&self) -> Result<(), StoreError> {
        let noted: Vec<(String, DateTime<Utc>, Option<String>)> =
            std::mem::take(&mut *self.contacts.lock()).into_iter().map(|(a, (at, sdk))| (a, at, sdk)).collect();
        if !noted.is_empty() {
            self.store.record_contacts(&noted).await?;
        }
        let refused: Vec<((StopScope, String), i64)> = std::mem::take(&mut *self.refusals.lock()).into_iter().collect();
        for ((scope, target), n) in refused {
            let counted = match scope {
                StopScope::Agent => self.store.count_refusals(&target, n).await,
                _ => self.store.count_stop_refusals((scope, &target), n).await,
            };
            if let Err(e) = counted {
                // Kept for the next write.
                *self.refusals.lock().entry((scope, target)).or_default() += n;
                return Err(e);
            }
        }
        Ok(())
    }
}

/// "run:r-1", "agents:deployer-*", "fleet".
fn audit_target(scope: StopScope, target: &str) -> String {
    match scope {
        StopScope::Fleet => "fleet".to_owned(),
        scope => format!("{scope}:{target}"),
    }
}

/// Writes the contacts every few seconds, for as long as the desk lives.
pub(super) fn spawn_contact_writer(desk: Weak<Desk>) {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(NOTED_EVERY).await;
            let Some(desk) = desk.upgrade() else { return };
            if let Err(e) = desk.write_noted().await {
                tracing::warn!(error = %e, "could not write agents' contacts and refusals; tried again later");
            }
        }
    });
}
