//! Gated actions wait for a person (seed 004 §4.3): an action a critical
//! point or a learned rule gates becomes an approval request, opened as an
//! incident so that routing pages its approvers (the critical point's, else
//! the resource's owners) and escalates while nobody answers. A person
//! approves or denies it (four eyes and two approvers when the critical
//! point says so); nobody deciding in time ends it as the critical point
//! says. Every ending closes its incident, stops its paging and is recorded
//! in the audit log with a digest of what the approver was shown.
//!
//! A decision is committed as a configuration change: every server of the
//! database hears it at once, and the agent's SDK waiting on any of them
//! is answered.

use super::change::Committed;
use super::{Desk, InterventionError};
use crate::api::{
    ActionDecision, ApprovalFriction, ApprovalRequest, ApprovalStatus, ApprovalVote, GateAnswer, GateFriction,
    IncidentStatus, NoticeKind, Resolution, ResolutionKind, RoutingVerdict, Severity,
};
use crate::routing::{ActionInput, AgentHistory, RoutingInput};
use crate::store::{ApprovalEnd, IncidentRecord, NewApproval, StoreError};
use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};
use std::sync::Weak;

/// Who timeouts and the requests' incidents are recorded as.
pub const APPROVALS_ACTOR: &str = "mandate approvals";
/// The share of actions gating may take (seed 004 §4.3: under 5 %).
pub const FRICTION_BUDGET: f64 = 0.05;
/// The friction report's window.
pub const FRICTION_DAYS: i64 = 7;
/// A request its SDK was not waiting on for this long before its end was
/// abandoned. An SDK waits in polls of a few seconds and polls again within
/// milliseconds of an answer; a poll counts as waiting until its own end
/// (an HTTP server does not hear a client vanish mid-poll), so an agent that
/// dies is noticed within one poll.
const ABANDONED_AFTER: Duration = Duration::seconds(2);

/// An agent about to act, asking.
#[derive(Debug, Clone)]
pub struct GateRequest {
    pub agent_id: String,
    pub action_type: String,
    pub resource: Option<String>,
    pub summary: String,
    pub run_id: Option<String>,
    pub on_behalf_of: Option<String>,
    pub actor_type: Option<String>,
    /// The SDK's key for this action; the same key finds the same request.
    pub request_key: String,
}

/// A person's decision on a request.
#[derive(Debug, Clone)]
pub struct ApprovalDecision {
    pub id: i64,
    pub approve: bool,
    pub reason: String,
    /// The digest of the request as the person was shown it.
    pub digest: String,
    pub actor_id: String,
    pub attribution: serde_json::Value,
}

/// What gates an action, beside its decision: who decides, and how many.
#[derive(Debug, Clone, Default)]
pub(super) struct GatePlan {
    pub approvers: Vec<String>,
    pub approvals_needed: u8,
}

impl Desk {
    /// The decision for an action agent `agent` is about to take: a critical
    /// point (its trust criterion read from the agent's history, only when
    /// one asks for it), else an active learned rule, else monitored.
    pub async fn decide_action(
        &self,
        agent: &str,
        action_type: Option<&str>,
        resource: Option<&str>,
        actor_type: Option<&str>,
    ) -> Result<ActionDecision, StoreError> {
        Ok(self.plan_action(agent, action_type, resource, actor_type).await?.0)
    }

    pub(super) async fn plan_action(
        &self,
        agent: &str,
        action_type: Option<&str>,
        resource: Option<&str>,
        actor_type: Option<&str>,
    ) -> Result<(ActionDecision, GatePlan), StoreError> {
        let now = Utc::now();
        let routing = self.routing();
        let catalog = self.catalog();
        let input = ActionInput { agent, action_type, resource, actor_type, now };
        let candidates = routing.critical_points_for(&catalog, &input);
        if !candidates.is_empty() {
            let history = match candidates.iter().any(|p| p.new_agent.is_some()) {
                true => self.store.agent_history(agent).await?,
                false => AgentHistory::default(),
            };
            if let Some(point) = candidates.into_iter().find(|p| p.new_agent.is_none_or(|n| n.holds(&history, now))) {
                let plan = GatePlan { approvers: point.approvers.clone(), approvals_needed: point.approvals_needed() };
                return Ok((point.decision(), plan));
            }
        }
        Ok((self.decide_by_rules(action_type, resource, now), GatePlan { approvals_needed: 1, ..GatePlan::default() }))
    }

    /// An agent about to act asks: monitored and flagged actions proceed at
    /// once (a flagged one tells people); a gated one becomes an approval
    /// request, or finds the one its key made before.
    pub async fn gate(&self, request: GateRequest) -> Result<GateAnswer, StoreError> {
        if let Some(existing) = self.store.approval_by_key(&request_key(&request)).await? {
            return Ok(GateAnswer { decision: decision_of(&existing), approval: Some(existing) });
        }
        let (decision, plan) = self
            .plan_action(
                &request.agent_id,
                Some(&request.action_type),
                request.resource.as_deref(),
                request.actor_type.as_deref(),
            )
            .await?;
        match decision.decision {
            RoutingVerdict::Gated => {
                let approval = self.open_approval(&request, &decision, &plan).await?;
                Ok(GateAnswer { decision, approval: Some(approval) })
            }
            RoutingVerdict::Flagged => {
                self.flag_action(&request, &decision).await?;
                Ok(GateAnswer { decision, approval: None })
            }
            _ => Ok(GateAnswer { decision, approval: None }),
        }
    }

    async fn open_approval(
        &self,
        request: &GateRequest,
        decision: &ActionDecision,
        plan: &GatePlan,
    ) -> Result<ApprovalRequest, StoreError> {
        let now = Utc::now();
        let catalog = self.catalog();
        let blast_preview = match &request.resource {
            Some(r) => {
                let radius = crate::incident::blast_radius(&catalog, std::slice::from_ref(r), std::slice::from_ref(r));
                radius.definitely.iter().chain(&radius.likely).map(|s| s.service.clone()).filter(|s| s != r).collect()
            }
            None => vec![],
        };
        let past_incidents = self.store.past_incidents_of_action(&request.action_type, now).await?;
        let timeout = decision.timeout_seconds.unwrap_or(crate::routing::DEFAULT_GATE_TIMEOUT);
        let mut approval = ApprovalRequest {
            id: 0,
            status: ApprovalStatus::Waiting,
            proceed: false,
            agent_id: request.agent_id.clone(),
            run_id: request.run_id.clone(),
            on_behalf_of: request.on_behalf_of.clone(),
            action_type: request.action_type.clone(),
            resource: request.resource.clone(),
            summary: request.summary.clone(),
            critical_point: decision.critical_point.clone(),
            rule: decision.rule.clone(),
            reason: decision.reason.clone(),
            blast_preview,
            past_incidents,
            incident_id: None,
            created_at: crate::store::from_millis(crate::store::to_millis(now)),
            expires_at: crate::store::from_millis(crate::store::to_millis(now + Duration::seconds(timeout as i64))),
            on_timeout: decision.on_timeout.clone().unwrap_or_else(|| "deny".to_owned()),
            four_eyes: decision.four_eyes,
            approvals_needed: plan.approvals_needed.clamp(1, 2),
            approvals: vec![],
            decided_at: None,
            decided_by: None,
            decision_reason: None,
            digest: String::new(),
        };
        approval.digest = digest_of(&approval);

        let (mut state, mut tx) = self.begin_change().await?;
        // Asked again meanwhile (a retry racing its first attempt): the first stands.
        let key = request_key(request);
        if let Some(existing) = self.store.approval_by_key(&key).await? {
            return Ok(existing);
        }
        let version = state.version + 1;
        let id = state.next_incident;
        let what = approval.action();
        let title = format!("APPROVAL NEEDED: {} wants to {what}", approval.agent_id);
        let resources: Vec<String> =
            approval.resource.iter().cloned().chain(std::iter::once(approval.agent_id.clone())).collect();
        let mut record = IncidentRecord::opened(id, title, Severity::High, resources.clone(), now);
        record.created_by = Some(APPROVALS_ACTOR.to_owned());
        record.summary.version = version;
        self.store.save_incident(&mut tx, &record).await?;
        approval.incident_id = Some(id);
        let stored =
            self.store.insert_approval(&mut tx, &NewApproval { request_key: &key, approval: &approval }).await?;

        // Paged at once: the critical point's approvers, then the
        // resource's owner chain as routing escalates it; without
        // approvers, that chain from its first level.
        let routing = self.routing();
        let mut escalation = routing.decide(
            &catalog,
            &RoutingInput {
                severity: Severity::Critical,
                resources: &resources,
                action_type: Some(&approval.action_type),
                actor_type: None,
                past_incidents: 0,
                now,
                blast: None,
                incident: Some(id),
            },
        );
        let gate = approval.critical_point.as_deref().or(approval.rule.as_deref()).unwrap_or("gated");
        let why = format!(
            "approve or deny #{}: {} wants to {what} ({}); it waits until {} UTC, then is {}",
            stored.id,
            approval.agent_id,
            approval.reason,
            approval.expires_at.format("%H:%M:%S"),
            approval.on_timeout_outcome(),
        );
        let paging = if plan.approvers.is_empty() {
            for n in &mut escalation.notifications {
                n.reason = format!("{why}: {}", n.reason);
            }
            escalation.decision = crate::api::RoutingVerdict::Gated;
            escalation.rule_matched = Some(gate.to_owned());
            escalation
        } else {
            let mut paging = super::paging::page_at_once(&routing, &plan.approvers, &why, gate, "approvers", id);
            // The owners' chain follows one escalation step later.
            let step = escalation.notifications.iter().map(|n| n.delay_seconds).filter(|d| *d > 0).min().unwrap_or(300);
            for mut n in escalation.notifications {
                n.delay_seconds += step;
                if !paging.escalation_path.contains(&n.target) {
                    paging.escalation_path.push(n.target.clone());
                }
                paging.notifications.push(n);
            }
            paging
        };
        let targets = paging.escalation_path.clone();
        self.store.record_routing_in(&mut tx, id, &paging, now).await?;
        let queued =
            self.sync_pages(&mut tx, id, (IncidentStatus::Open, Severity::Critical), &paging, self.clock.now()).await?;
        let details = serde_json::json!({
            "approval": stored.id, "agent_id": approval.agent_id, "action_type": approval.action_type,
            "resource": approval.resource, "summary": approval.summary, "critical_point": approval.critical_point,
            "rule": approval.rule, "expires_at": approval.expires_at, "digest": approval.digest, "paged": targets,
        });
        self.store
            .append_audit(
                &mut tx,
                now,
                &approval.agent_id,
                "approval_requested",
                &format!("approval:{}", stored.id),
                details,
            )
            .await?;
        self.commit_change(&mut state, tx, Committed { version, config: true, paging: queued > 0 }).await?;
        state.next_incident = id + 1;
        drop(state);
        self.configured();
        self.queued(queued);
        Ok(stored)
    }

    /// A flagged action proceeds; its critical point's open incident
    /// collects it, paging the resource's owners once when it opens.
    async fn flag_action(&self, request: &GateRequest, decision: &ActionDecision) -> Result<(), StoreError> {
        let point = decision.critical_point.as_deref().or(decision.rule.as_deref()).unwrap_or("flagged");
        let resources: Vec<String> =
            request.resource.iter().chain(std::iter::once(&request.agent_id)).cloned().collect();
        let collecting = super::paging::Collecting {
            title: format!("FLAGGED: {point}"),
            severity: Severity::Medium,
            created_by: APPROVALS_ACTOR,
            resources: &resources,
            count: 1,
        };
        let opening = |routing: &crate::routing::Routing, catalog: &crate::catalog::Catalog, now| {
            let mut targets: Vec<String> = match &request.resource {
                Some(r) => routing.owners_of(catalog, r, now).into_iter().map(|(o, _)| o).collect(),
                None => vec![],
            };
            if targets.is_empty() {
                targets = vec![routing.admin()];
            }
            let why = format!("{}: {} did {} ({})", point, request.agent_id, request.action_type, decision.reason);
            super::paging::OpeningPage { targets, why, rule: point.to_owned(), level: "flagged" }
        };
        let details = serde_json::json!({
            "agent_id": request.agent_id, "action_type": request.action_type, "resource": request.resource,
            "summary": request.summary, "critical_point": decision.critical_point, "rule": decision.rule,
        });
        self.collect_in_titled(collecting, opening, (&request.agent_id, "action_flagged", details)).await
    }

    /// A person approves or denies request `decision.id`. An approval toward
    /// a request that needs two is recorded and the request waits on.
    pub async fn decide_approval(&self, decision: ApprovalDecision) -> Result<ApprovalRequest, InterventionError> {
        use InterventionError::{Conflict, NotFound};
        let (mut state, mut tx) = self.begin_change().await?;
        let now = Utc::now();
        let id = decision.id;
        let Some(mut approval) = self.store.approval_in(&mut tx, id).await? else {
            return Err(NotFound("APPROVAL_NOT_FOUND", format!("no approval request #{id}")));
        };
        if approval.status.is_final() {
            let by = approval.decided_by.clone().unwrap_or_default();
            let at = approval.decided_at.map(|t| t.format("%H:%M:%S UTC").to_string()).unwrap_or_default();
            return Err(Conflict(
                "APPROVAL_DECIDED",
                format!("approval request #{id} is already {} (by {by} at {at})", approval.status.as_str()),
            ));
        }
        if now >= approval.expires_at {
            return Err(Conflict(
                "APPROVAL_EXPIRED",
                format!(
                    "approval request #{id} ran out at {} UTC: it is {} as its critical point says",
                    approval.expires_at.format("%H:%M:%S"),
                    approval.on_timeout_outcome()
                ),
            ));
        }
        if decision.digest != approval.digest {
            return Err(Conflict(
                "APPROVAL_DIGEST_MISMATCH",
                format!("what you were shown is not approval request #{id} as it stands: read it again, then decide"),
            ));
        }
        let who = decision.actor_id.as_str();
        if decision.approve {
            if approval.four_eyes && approval.on_behalf_of.as_deref().is_some_and(|h| same_person(h, who)) {
                return Err(Conflict(
                    "FOUR_EYES",
                    format!("{who} asked for this action: another person must approve it (four eyes)"),
                ));
            }
            if approval.approvals.iter().any(|v| same_person(&v.by, who)) {
                return Err(Conflict(
                    "ALREADY_APPROVED",
                    format!("{who} approved #{id} already: it needs a second, different person"),
                ));
            }
        }
        let version = state.version + 1;
        let target = format!("approval:{id}");
        if decision.approve {
            approval.approvals.push(ApprovalVote { by: who.to_owned(), at: now, reason: decision.reason.clone() });
            if approval.approvals.len() < usize::from(approval.approvals_needed) {
                self.store.add_approval_vote(&mut tx, id, &approval.approvals).await?;
                let details = serde_json::json!({
                    "approval": id, "reason": decision.reason, "digest": approval.digest,
                    "approvals": approval.approvals.len(), "needed": approval.approvals_needed,
                    "attribution": decision.attribution,
                });
                self.store.append_audit(&mut tx, now, who, "approval_vote", &target, details).await?;
                self.commit_change(&mut state, tx, Committed { version, config: true, paging: false }).await?;
                drop(state);
                self.configured();
                return Ok(approval);
            }
        }
        let status = if decision.approve { ApprovalStatus::Approved } else { ApprovalStatus::Denied };
        let end = ApprovalEnd {
            status,
            proceed: decision.approve,
            approvals: &approval.approvals,
            at: now,
            by: who,
            reason: &decision.reason,
        };
        if !self.store.end_approval(&mut tx, id, &end).await? {
            return Err(Conflict("APPROVAL_DECIDED", format!("approval request #{id} was decided meanwhile")));
        }
        let verb = if decision.approve { "approved" } else { "denied" };
        let queued = self
            .close_approval_incident(&mut tx, &approval, version, who, &format!("{verb}: {}", decision.reason))
            .await?;
        let details = serde_json::json!({
            "approval": id, "decision": verb, "reason": decision.reason, "digest": approval.digest,
            "approvals": approval.approvals, "attribution": decision.attribution,
        });
        self.store.append_audit(&mut tx, now, who, &format!("approval_{verb}"), &target, details).await?;
        self.commit_change(&mut state, tx, Committed { version, config: true, paging: queued > 0 }).await?;
        drop(state);
        self.configured();
        self.queued(queued);
        approval.status = status;
        approval.proceed = decision.approve;
        approval.decided_at = Some(crate::store::from_millis(crate::store::to_millis(now)));
        approval.decided_by = Some(who.to_owned());
        approval.decision_reason = Some(decision.reason);
        Ok(approval)
    }

    /// Ends every waiting request whose time ran out: timed out (approved
    /// or denied as its critical point says), or abandoned when its agent
    /// had stopped waiting. How many ended here.
    pub async fn expire_approvals(&self) -> Result<usize, StoreError> {
        let now = Utc::now();
        let mut ended = 0;
        for approval in self.store.expired_approvals(now).await? {
            let waited = self.store.approval_waited_at(approval.id).await?.unwrap_or(approval.created_at);
            let abandoned = waited < approval.expires_at - ABANDONED_AFTER;
            let (status, proceed, how) = match (abandoned, approval.on_timeout.as_str()) {
                (true, _) => (ApprovalStatus::Abandoned, false, "abandoned: its agent stopped waiting"),
                (false, "approve") => {
                    (ApprovalStatus::TimedOut, true, "timed out: approved, as its critical point says")
                }
                (false, _) => (ApprovalStatus::TimedOut, false, "timed out: denied, as its critical point says"),
            };
            let (mut state, mut tx) = self.begin_change().await?;
            let end = ApprovalEnd {
                status,
                proceed,
                approvals: &approval.approvals,
                at: now,
                by: APPROVALS_ACTOR,
                reason: how,
            };
            if !self.store.end_approval(&mut tx, approval.id, &end).await? {
                continue;
            }
            let version = state.version + 1;
            let queued = self.close_approval_incident(&mut tx, &approval, version, APPROVALS_ACTOR, how).await?;
            let details = serde_json::json!({
                "approval": approval.id, "status": status.as_str(), "proceed": proceed, "waited_at": waited,
            });
            let what = format!("approval_{}", status.as_str());
            self.store
                .append_audit(&mut tx, now, APPROVALS_ACTOR, &what, &format!("approval:{}", approval.id), details)
                .await?;
            self.commit_change(&mut state, tx, Committed { version, config: true, paging: queued > 0 }).await?;
            drop(state);
            self.configured();
            self.queued(queued);
            ended += 1;
        }
        Ok(ended)
    }

    /// Closes a request's incident: its paging stops and whoever was paged
    /// is told. How many notices were queued.
    async fn close_approval_incident(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        approval: &ApprovalRequest,
        version: i64,
        by: &str,
        how: &str,
    ) -> Result<usize, StoreError> {
        let Some(id) = approval.incident_id else { return Ok(0) };
        let Some(mut record) = self.store.get_incident_in(tx, id).await? else { return Ok(0) };
        if record.summary.status == IncidentStatus::Resolved {
            return Ok(0);
        }
        let now = Utc::now();
        record.summary.status = IncidentStatus::Resolved;
        record.summary.resolved_at = Some(now);
        record.summary.updated_at = now;
        record.summary.version = version;
        record.resolution = Some(Resolution {
            kind: ResolutionKind::NotAnIncident,
            by: by.to_owned(),
            at: now,
            reason: format!("approval request #{} {how}", approval.id),
            event_id: None,
        });
        self.store.save_incident(tx, &record).await?;
        self.store.close_pages(tx, id, NoticeKind::Resolved, self.clock.now()).await
    }

    /// Request `id` as it stands; with `wait`, answered as soon as it is
    /// decided (here or on another server) or the wait passes. The agent's
    /// SDK waiting on it is noted: a request nobody waits on is abandoned.
    pub async fn wait_approval(
        &self,
        id: i64,
        wait: std::time::Duration,
        by_agent: bool,
    ) -> Result<Option<ApprovalRequest>, StoreError> {
        let deadline = tokio::time::Instant::now() + wait;
        let mut changes = self.config_changes();
        // Until it is dropped: the wait answered, or its agent went away.
        let mut noted: Option<Waiting> = None;
        loop {
            changes.borrow_and_update();
            let Some(approval) = self.store.approval(id).await? else { return Ok(None) };
            if approval.status.is_final() {
                return Ok(Some(approval));
            }
            let now = Utc::now();
            if now >= approval.expires_at {
                self.expire_approvals().await?;
                if let Some(ended) = self.store.approval(id).await?.filter(|a| a.status.is_final()) {
                    return Ok(Some(ended));
                }
            }
            if by_agent && noted.is_none() {
                let until = crate::store::from_millis(crate::store::to_millis(
                    now + Duration::from_std(wait).unwrap_or_default(),
                ));
                self.store.note_approval_waited(id, until).await?;
                noted = Some(Waiting { store: self.store.clone(), id, until });
            }
            let until_end =
                (approval.expires_at - now).to_std().unwrap_or_default() + std::time::Duration::from_millis(20);
            let wake = deadline.min(tokio::time::Instant::now() + until_end);
            if tokio::time::Instant::now() >= deadline {
                return Ok(Some(approval));
            }
            tokio::select! {
                changed = changes.changed() => if changed.is_err() { return Ok(Some(approval)) },
                _ = tokio::time::sleep_until(wake) => {}
            }
        }
    }

    /// Waiting requests (soonest to end first), then the latest decided.
    pub async fn list_approvals(&self) -> Result<Vec<ApprovalRequest>, StoreError> {
        self.store.list_approvals().await
    }

    /// What gating cost over the last [`FRICTION_DAYS`] days.
    pub async fn approval_friction(&self) -> Result<ApprovalFriction, StoreError> {
        let since = Utc::now() - Duration::days(FRICTION_DAYS);
        let (tallies, recorded) = self.store.approval_tallies(since).await?;
        Ok(friction_of(&tallies, recorded))
    }
}

/// An agent's SDK waiting on a request; when the wait ends (answered, or
/// the agent disconnected), the request is noted as waited on until now.
struct Waiting {
    store: crate::store::Store,
    id: i64,
    until: DateTime<Utc>,
}

impl Drop for Waiting {
    fn drop(&mut self) {
        let (store, id, until) = (self.store.clone(), self.id, self.until);
        tokio::spawn(async move {
            if let Err(e) = store.note_approval_left(id, until, Utc::now()).await {
                tracing::warn!(error = %e, approval = id, "cannot note that an agent stopped waiting");
            }
        });
    }
}

/// The friction report from the requests made in the window and the
/// actions recorded over it.
pub(super) fn friction_of(tallies: &[crate::store::ApprovalTally], recorded: i64) -> ApprovalFriction {
    let gated = tallies.len() as i64;
    let actions = recorded.max(gated);
    let share_of = |n: i64| if actions == 0 { 0.0 } else { n as f64 / actions as f64 };
    let count = |s: ApprovalStatus| tallies.iter().filter(|t| t.status == s).count() as i64;
    let mut waits: Vec<f64> = tallies
        .iter()
        .filter(|t| t.by_person)
        .filter_map(|t| t.decided_at.map(|d| (d - t.created_at).num_milliseconds() as f64 / 1000.0))
        .collect();
    waits.sort_by(f64::total_cmp);
    let quantile =
        |q: f64| -> Option<f64> { (!waits.is_empty()).then(|| waits[((waits.len() - 1) as f64 * q).round() as usize]) };
    let mut by_gate: std::collections::BTreeMap<&str, i64> = Default::default();
    for t in tallies {
        *by_gate.entry(t.gate.as_str()).or_default() += 1;
    }
    let mut gates: Vec<GateFriction> = by_gate
        .into_iter()
        .map(|(gate, n)| GateFriction {
            gate: gate.to_owned(),
            gated: n,
            share: share_of(n),
            over_budget: share_of(n) > FRICTION_BUDGET,
        })
        .collect();
    gates.sort_by(|a, b| b.gated.cmp(&a.gated).then_with(|| a.gate.cmp(&b.gate)));
    ApprovalFriction {
        window_days: FRICTION_DAYS,
        actions,
        gated,
        share: share_of(gated),
        budget: FRICTION_BUDGET,
        over_budget: share_of(gated) > FRICTION_BUDGET,
        approved: count(ApprovalStatus::Approved),
        denied: count(ApprovalStatus::Denied),
        timed_out: count(ApprovalStatus::TimedOut),
        abandoned: count(ApprovalStatus::Abandoned),
        waiting: count(ApprovalStatus::Waiting),
        median_seconds: quantile(0.5),
        p95_seconds: quantile(0.95),
        gates,
    }
}

/// The key a request is stored under: the agent's, so one agent's key can
/// never find another's request.
fn request_key(request: &GateRequest) -> String {
    format!("{}\n{}", request.agent_id, request.request_key)
}

/// `@alice` and `alice` are one person.
fn same_person(a: &str, b: &str) -> bool {
    a.trim_start_matches('@').eq_ignore_ascii_case(b.trim_start_matches('@'))
}

/// The decision a stored request was made under.
fn decision_of(approval: &ApprovalRequest) -> ActionDecision {
    ActionDecision {
        decision: RoutingVerdict::Gated,
        reason: approval.reason.clone(),
        critical_point: approval.critical_point.clone(),
        rule: approval.rule.clone(),
        timeout_seconds: Some((approval.expires_at - approval.created_at).num_seconds().max(0) as u64),
        on_timeout: Some(approval.on_timeout.clone()),
        four_eyes: approval.four_eyes,
    }
}

/// A digest of what an approver is shown: every field of the request that
/// never changes once it is made.
pub fn digest_of(a: &ApprovalRequest) -> String {
    let shown = serde_json::json!({
        "agent_id": a.agent_id, "run_id": a.run_id, "on_behalf_of": a.on_behalf_of, "action_type": a.action_type,
        "resource": a.resource, "summary": a.summary, "critical_point": a.critical_point, "rule": a.rule,
        "reason": a.reason, "blast_preview": a.blast_preview, "past_incidents": a.past_incidents,
        "created_at": a.created_at, "expires_at": a.expires_at, "on_timeout": a.on_timeout,
        "four_eyes": a.four_eyes, "approvals_needed": a.approvals_needed,
    });
    hex::encode(Sha256::digest(shown.to_string().as_bytes()))
}

/// Ends requests as their time runs out, on every server (ending one is a
/// conditional update: two servers cannot both end it).
pub(super) fn spawn_expiry(desk: Weak<Desk>) {
    tokio::spawn(async move {
        loop {
            let Some(d) = desk.upgrade() else { return };
            let next = match d.expire_approvals().await {
                Ok(_) => d.store.next_approval_expiry().await.ok().flatten(),
                Err(e) => {
                    tracing::warn!(error = %e, "cannot end approval requests whose time ran out; retrying");
                    None
                }
            };
            let mut changes = d.config_changes();
            drop(d);
            let wait = next
                .map(|at: DateTime<Utc>| (at - Utc::now()).to_std().unwrap_or_default())
                .unwrap_or(std::time::Duration::from_secs(1))
                .clamp(std::time::Duration::from_millis(20), std::time::Duration::from_secs(1));
            tokio::select! {
                _ = changes.changed() => {}
                _ = tokio::time::sleep(wait) => {}
            }
        }
    });
}
