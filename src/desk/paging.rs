//! Where incident changes meet the paging outbox: a routing decision's
//! notifications are queued in the transaction of the change that caused
//! them, acknowledgement and resolution stop what is not yet sent and tell
//! the receivers, escalation brings the next level forward, and a dead
//! notification can be retried by a responder.

use super::change::Committed;
use super::{Desk, InterventionError, InterventionRequest};
use crate::api::{
    Automation, BlastRadius, DeliveryState, IncidentDetail, IncidentStatus, IncidentTraits, InterventionKind,
    NoticeKind, Notification, Page, RoutingDecision, RoutingVerdict, Severity, SilenceMark, Urgency,
};
use crate::routing::{Routing, RoutingInput};
use crate::store::{IncidentRecord, StoreError};
use chrono::{DateTime, Utc};
use sqlx::{Any, Transaction};

/// The incident a legacy attribution marker raises (seed 000 §7).
pub const LEGACY_TITLE: &str = "Attribution enforcement breach: legacy markers";
const LEGACY_RESOURCE: &str = "attribution-enforcement";

/// The level name of the weekly digest of departed owners (seed 6.2).
pub const DEPARTED_DIGEST: &str = "departed owners";

/// Who escalations made by routing itself are recorded as.
pub const ROUTING_ACTOR: &str = "mandate routing";

/// What the desk holds for the paging worker: its wake-up, its heartbeat,
/// the paging counter last heard from another server, and which weekly
/// digests are queued.
pub(super) struct PagingHandles {
    /// Notified when a change queued a notification.
    pub wake: std::sync::Arc<tokio::sync::Notify>,
    /// When the worker last finished a pass (system time, ms; 0: never).
    pub beat: std::sync::atomic::AtomicI64,
    /// The paging counter last heard from another server.
    pub heard: std::sync::atomic::AtomicI64,
    /// The ISO week whose digest of departed owners is queued.
    pub digest_week: parking_lot::Mutex<Option<String>>,
    /// The weekly rollout status last queued or found queued.
    pub status_week: parking_lot::Mutex<Option<String>>,
    /// The daily flash digest last queued or found queued.
    pub flash_day: parking_lot::Mutex<Option<String>>,
}

impl PagingHandles {
    pub fn new(heard: i64) -> PagingHandles {
        PagingHandles {
            wake: Default::default(),
            beat: Default::default(),
            heard: std::sync::atomic::AtomicI64::new(heard),
            digest_week: Default::default(),
            status_week: Default::default(),
            flash_day: Default::default(),
        }
    }
}

impl Desk {
    /// Decides the incident's routing from what ingest knows (its severity,
    /// resources and blast radius; the suspect comes later, with the
    /// analysis) and queues the notifications, in `tx`. How many were queued.
    ///
    /// A silence in force that matches the incident (its severity and
    /// resources, the agents and action types of its events: `seen` holds
    /// those of events not stored yet) holds its pages until the silence
    /// ends, and marks it so.
    pub(super) async fn route_in(
        &self,
        tx: &mut Transaction<'_, Any>,
        record: &IncidentRecord,
        radius: &BlastRadius,
        seen: IncidentTraits,
        now: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        let s = &record.summary;
        self.silence_in(tx, record, seen, now).await?;
        let routing = self.routing();
        let decision = routing.decide(
            &self.catalog(),
            &RoutingInput {
                severity: s.severity,
                resources: &s.resources,
                action_type: None,
                actor_type: None,
                past_incidents: 0,
                now,
                blast: Some(radius),
                incident: Some(s.id),
            },
        );
        self.store.record_routing_in(tx, s.id, &decision, now).await?;
        self.sync_pages(tx, s.id, (s.status, s.severity), &decision, now).await
    }

    /// Executes, in `tx`, the outbox plan incident `id`'s routing decision
    /// makes under the routing in force. How many were queued. Its first
    /// page waits the flash hold unless it is critical, and a silence's end
    /// while one holds it.
    pub(super) async fn sync_pages(
        &self,
        tx: &mut Transaction<'_, Any>,
        id: i64,
        (status, severity): (IncidentStatus, Severity),
        decision: &RoutingDecision,
        now: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        let routing = self.routing();
        let (limits, receivers) = (routing.limits(), routing.receivers());
        // A silence holding the incident: its pages wait for its end.
        let hold = self.store.silence_mark_in(tx, id).await?.map(|m| m.until).filter(|until| *until > now);
        let plan = |existing: &[_], first_paged| {
            let flash = if severity == Severity::Critical { chrono::Duration::zero() } else { limits.flash_hold };
            let from = hold.map_or(first_paged + flash, |until: DateTime<Utc>| until.max(first_paged + flash));
            crate::paging::plan(id, status, decision, existing, from, &limits, receivers)
        };
        let queued = self.store.sync_pages(tx, id, now, plan).await?;
        if let Some(until) = hold {
            self.store.hold_pages(tx, id, until, now).await?;
        }
        Ok(queued)
    }

    /// Marks the incident held by the first silence in force that matches
    /// it, if any (a mark already there stays, as the record of what held it).
    async fn silence_in(
        &self,
        tx: &mut Transaction<'_, Any>,
        record: &IncidentRecord,
        mut traits: IncidentTraits,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let silences = self.store.silences_in_force(tx, now).await?;
        if silences.is_empty() {
            return Ok(());
        }
        let s = &record.summary;
        traits.severity = Some(s.severity);
        traits.resources.extend(s.resources.iter().cloned());
        self.store.incident_traits(tx, s.id, &mut traits).await?;
        let held = silences
            .iter()
            .filter(|silence| silence.matches.matches(&traits))
            .find_map(|silence| silence.holds_until(now).map(|until| (silence, until)));
        let Some((silence, until)) = held else { return Ok(()) };
        let was = self.store.silence_mark_in(tx, s.id).await?;
        if was.as_ref().is_some_and(|m| m.id == silence.id && m.until == until) {
            return Ok(());
        }
        let mark = SilenceMark { id: silence.id, owner: silence.owner.clone(), reason: silence.reason.clone(), until };
        let newly = was.is_none_or(|m| m.id != silence.id);
        self.store.mark_silenced(tx, s.id, Some(&mark), newly).await
    }

    /// Seed 000 §4 and §7: a run with a legacy attribution marker after
    /// enforcement raises a P1 at once and pages the platform target. One
    /// incident collects every such run until it is resolved; its number.
    pub async fn legacy_marker_seen(&self, agent: Option<&str>, origin: Option<&str>) -> Result<i64, StoreError> {
        let (mut state, mut tx) = self.begin_change().await?;
        let now = Utc::now();
        let version = state.version + 1;
        let open = self.store.open_incident_titled(&mut tx, LEGACY_TITLE).await?;
        let fresh = open.is_none();
        let mut record = open.unwrap_or_else(|| {
            let resources = vec![LEGACY_RESOURCE.to_owned()];
            let mut r = IncidentRecord::opened(
                state.next_incident,
                LEGACY_TITLE.to_owned(),
                Severity::Critical,
                resources,
                now,
            );
            r.created_by = Some(ROUTING_ACTOR.to_owned());
            r
        });
        record.summary.event_count += 1;
        record.summary.updated_at = now;
        record.last_error_at = now;
        record.summary.version = version;
        self.store.save_incident(&mut tx, &record).await?;
        let mut queued = 0;
        if fresh {
            let routing = self.routing();
            let admin = routing.document().fallback.clone().unwrap_or_else(|| "@platform-oncall".to_owned());
            let why = format!(
                "runs with legacy attribution markers after enforcement (agent {}, origin {}): P1 by the attribution contract",
                agent.unwrap_or("?"),
                origin.unwrap_or("?")
            );
            let decision =
                page_at_once(&routing, &[admin], &why, "legacy attribution marker", "platform", record.summary.id);
            self.store.record_routing_in(&mut tx, record.summary.id, &decision, now).await?;
            queued = self
                .sync_pages(
                    &mut tx,
                    record.summary.id,
                    (IncidentStatus::Open, Severity::Critical),
                    &decision,
                    self.clock.now(),
                )
                .await?;
            let details = serde_json::json!({ "agent_id": agent, "origin_system_id": origin });
            self.store
                .append_audit(
                    &mut tx,
                    now,
                    ROUTING_ACTOR,
                    "legacy_marker_incident",
                    &format!("incident:{}", record.summary.id),
                    details,
                )
                .await?;
        }
        self.commit_change(&mut state, tx, Committed { version, config: false, paging: queued > 0 }).await?;
        if fresh {
            state.next_incident = record.summary.id + 1;
            drop(state);
            // :attribution links the breach at once, not when its figures age.
            self.rollout_changed().await;
        }
        self.queued(queued);
        Ok(record.summary.id)
    }

    /// Seed 2.1's opt-in automations: when the routing decision is `auto`,
    /// the rule's action is taken once per incident, as SYSTEM, in the
    /// rule's name. Pausing needs a suspected agent; until the analysis
    /// names one, nothing is done.
    pub(super) async fn automate(&self, detail: &IncidentDetail) -> Result<(), StoreError> {
        let Some(r) = &detail.routing else { return Ok(()) };
        let (RoutingVerdict::Auto, Some(automation)) = (r.decision, r.automation) else { return Ok(()) };
        if detail.summary.status != IncidentStatus::Open {
            return Ok(());
        }
        let kind = match automation {
            Automation::PauseAgent => InterventionKind::PauseAgent,
            Automation::Escalate => InterventionKind::Escalate,
        };
        if detail.interventions.iter().any(|i| i.actor_id == ROUTING_ACTOR && i.kind == kind) {
            return Ok(());
        }
        let target_agent = match automation {
            Automation::PauseAgent => {
                let suspect =
                    detail.analysis.candidates.iter().find(|c| c.confidence > 0).and_then(|c| c.agent_id.clone());
                let Some(agent) = suspect else { return Ok(()) };
                Some(agent)
            }
            Automation::Escalate => None,
        };
        let rule = r.rule_matched.clone().unwrap_or_default();
        let request = InterventionRequest {
            target_agent,
            ..InterventionRequest::by_system(
                kind,
                detail.summary.id,
                (ROUTING_ACTOR, "mandate-routing"),
                &rule,
                format!("automation of routing rule {rule} (decision auto)"),
            )
        };
        match self.intervene(request).await {
            Ok(done) => tracing::info!(incident = detail.summary.id, rule = %rule, "{}", done.message),
            Err(InterventionError::Store(e)) => return Err(e),
            Err(refused) => {
                tracing::warn!(incident = detail.summary.id, rule = %rule, error = %refused, "automation not applied")
            }
        }
        Ok(())
    }

    /// Seed 6.2: once a week, the platform/admin target gets a digest of the
    /// services whose owner has left. Queued on the first tick of an ISO week
    /// (by the paging clock) that has any to report; whether it was queued.
    pub async fn queue_departed_digest(&self) -> Result<bool, StoreError> {
        let now = self.clock.now();
        let week = now.format("%G-W%V").to_string();
        if self.paging.digest_week.lock().as_deref() == Some(week.as_str()) {
            return Ok(false);
        }
        let catalog = self.catalog();
        let departed: Vec<String> = catalog
            .services()
            .filter(|s| s.owner_status == crate::catalog::OwnerStatus::Departed)
            .map(|s| {
                let backup = s.backup.as_deref().or(s.on_call.as_deref()).unwrap_or("nobody");
                format!("{} (owner {} has left; paging {backup})", s.name, s.owner.as_deref().unwrap_or("?"))
            })
            .collect();
        if departed.is_empty() {
            return Ok(false);
        }
        let routing = self.routing();
        let admin = routing.document().fallback.clone().unwrap_or_else(|| "@platform-oncall".to_owned());
        let channel = if routing.receivers().has("email") {
            "email".to_owned()
        } else {
            routing.default_rule().channels.first().cloned().unwrap_or_else(|| "email".to_owned())
        };
        let reason = format!(
            "weekly digest: {} with an owner who has left: {} — assign new owners in the catalog",
            if departed.len() == 1 { "1 service".to_owned() } else { format!("{} services", departed.len()) },
            departed.join("; ")
        );
        let undeliverable = (!routing.receivers().has(&channel)).then(|| crate::paging::no_receiver(&channel));
        let mut tx = self.store.write.begin().await?;
        let queued = self
            .store
            .queue_digest(
                &mut tx,
                (&admin, &channel),
                &format!("{DEPARTED_DIGEST} {week}"),
                &reason,
                undeliverable,
                now,
            )
            .await?;
        tx.commit().await?;
        *self.paging.digest_week.lock() = Some(week);
        Ok(queued)
    }

    /// Wakes the paging worker when something was queued.
    pub(super) fn queued(&self, n: usize) {
        if n > 0 {
            self.paging.wake.notify_one();
        }
    }

    /// A later level was paged because nobody acknowledged in time: the
    /// incident's escalation level rises to it, recorded in the audit log as
    /// routing's doing.
    pub async fn escalated_by_routing(&self, incident_id: i64, step: i64) -> Result<(), StoreError> {
        let (mut state, mut tx) = self.begin_change().await?;
        let now = Utc::now();
        let Some(mut record) = self.store.get_incident_in(&mut tx, incident_id).await? else { return Ok(()) };
        if record.summary.escalation_level >= step || record.summary.status != IncidentStatus::Open {
            return Ok(());
        }
        let version = state.version + 1;
        record.summary.escalation_level = step;
        record.summary.updated_at = now;
        record.summary.version = version;
        self.store.save_incident(&mut tx, &record).await?;
        let details = serde_json::json!({ "level": step, "reason": "not acknowledged before the level's timeout" });
        self.store
            .append_audit(&mut tx, now, ROUTING_ACTOR, "escalate", &format!("incident:{incident_id}"), details)
            .await?;
        self.commit_change(&mut state, tx, Committed::version(version)).await
    }

    /// Deliveries of these incidents' notifications went through, failed or
    /// died: their version moves, so every console showing them (the list
    /// feed, an open incident) fetches them again instead of showing a page
    /// as still on its way.
    pub async fn pages_changed(&self, incidents: &[i64]) -> Result<(), StoreError> {
        let incidents: Vec<i64> = incidents.iter().copied().filter(|id| *id != 0).collect();
        if incidents.is_empty() {
            return Ok(());
        }
        let (mut state, mut tx) = self.begin_change().await?;
        let version = state.version + 1;
        self.store.set_versions(&mut tx, &incidents, version).await?;
        self.commit_change(&mut state, tx, Committed::version(version)).await
    }

    /// Sends a dead notification again (a responder's intervention, audited).
    pub async fn retry_page(&self, id: &str, actor: &str, reason: Option<String>) -> Result<Page, InterventionError> {
        let (mut state, mut tx) = self.begin_change().await?;
        let now = self.clock.now();
        let row =
            self.store.revive_page(&mut tx, id, now).await?.ok_or_else(|| {
                InterventionError::NotFound("NOTIFICATION_NOT_FOUND", format!("no notification {id:?}"))
            })?;
        if row.page.state != DeliveryState::Dead {
            return Err(InterventionError::Conflict(
                "NOTIFICATION_NOT_DEAD",
                format!("notification {id} is {}: only a dead one can be retried", row.page.state),
            ));
        }
        let details = serde_json::json!({
            "incident_id": row.page.incident_id, "target": row.page.target, "channel": row.page.channel,
            "last_error": row.page.last_error, "reason": reason,
        });
        self.store
            .append_audit(&mut tx, Utc::now(), actor, "retry_notification", &format!("notification:{id}"), details)
            .await?;
        let version = state.version + 1;
        self.store.set_versions(&mut tx, &[row.page.incident_id], version).await?;
        self.commit_change(&mut state, tx, Committed { version, config: false, paging: true }).await?;
        self.queued(1);
        // As committed: the worker may take it the moment it is woken.
        let mut page = row.page;
        page.state = DeliveryState::Pending;
        page.attempts = 0;
        page.next_attempt_at = now;
        page.delivery = None;
        Ok(page)
    }

    /// The acknowledgement's effect on paging, in its transaction: pages not
    /// yet sent stop, paged receivers are told; when ownership was
    /// ambiguous, the claimant who answered first is named the de facto
    /// owner (seed 6.4).
    pub(super) async fn acknowledged_in(
        &self,
        tx: &mut Transaction<'_, Any>,
        incident_id: i64,
        actor: &str,
        now: DateTime<Utc>,
    ) -> Result<(usize, Option<String>), StoreError> {
        let pages = self.store.incident_pages(&[incident_id]).await?;
        let owner = pages
            .iter()
            .find(|p| p.reason.contains("ownership is ambiguous") && p.target.trim_start_matches('@') == actor)
            .map(|p| p.reason.split(" (ownership").next().unwrap_or_default().trim_start_matches("claims ").to_owned());
        let queued = self.store.close_pages(tx, incident_id, NoticeKind::Acknowledged, now).await?;
        Ok((queued, owner))
    }
}

/// An incident that collects what comes by its title while it is open
/// (stop breaches, flagged actions): its resources, how many it collected,
/// and who made it.
pub(super) struct Collecting<'a> {
    pub title: String,
    pub severity: Severity,
    pub created_by: &'a str,
    pub resources: &'a [String],
    pub count: i64,
}

/// Who is paged when a collecting incident opens: its targets and why,
/// with the rule and level the decision is recorded under.
pub(super) struct OpeningPage {
    pub targets: Vec<String>,
    pub why: String,
    pub rule: String,
    pub level: &'static str,
}

impl Desk {
    /// Adds to the open incident titled `c.title`, or opens it, in one
    /// change recorded in the audit log (`actor`, `action`, `details`); only
    /// an incident opened here is paged, as `opening` says, at once.
    pub(super) async fn collect_in_titled(
        &self,
        c: Collecting<'_>,
        opening: impl FnOnce(&Routing, &crate::catalog::Catalog, DateTime<Utc>) -> OpeningPage,
        (actor, action, details): (&str, &str, serde_json::Value),
    ) -> Result<(), StoreError> {
        let (mut state, mut tx) = self.begin_change().await?;
        let now = Utc::now();
        let version = state.version + 1;
        let open = self.store.open_incident_titled(&mut tx, &c.title).await?;
        let fresh = open.is_none();
        let mut record = open.unwrap_or_else(|| {
            let mut r =
                IncidentRecord::opened(state.next_incident, c.title.clone(), c.severity, c.resources.to_vec(), now);
            r.created_by = Some(c.created_by.to_owned());
            r
        });
        record.summary.event_count += c.count;
        record.summary.updated_at = now;
        record.last_error_at = now;
        record.summary.version = version;
        for r in c.resources {
            if !record.summary.resources.contains(r) {
                record.summary.resources.push(r.clone());
            }
        }
        self.store.save_incident(&mut tx, &record).await?;
        let id = record.summary.id;
        let mut queued = 0;
        if fresh {
            let routing = self.routing();
            let page = opening(&routing, &self.catalog(), now);
            let decision = page_at_once(&routing, &page.targets, &page.why, &page.rule, page.level, id);
            self.store.record_routing_in(&mut tx, id, &decision, now).await?;
            let status = (IncidentStatus::Open, c.severity);
            queued = self.sync_pages(&mut tx, id, status, &decision, self.clock.now()).await?;
        }
        self.store.append_audit(&mut tx, now, actor, action, &format!("incident:{id}"), details).await?;
        self.commit_change(&mut state, tx, Committed { version, config: false, paging: queued > 0 }).await?;
        if fresh {
            state.next_incident = id + 1;
        }
        drop(state);
        self.queued(queued);
        Ok(())
    }
}

/// A decision that pages `targets` at once, critical, on every channel with
/// a receiver (the default rule's channels when none has): for the alarms
/// that go around the routing rules, such as a legacy marker after
/// enforcement or an agent acting while stopped.
pub(super) fn page_at_once(
    routing: &Routing,
    targets: &[String],
    why: &str,
    rule: &str,
    level: &str,
    incident: i64,
) -> RoutingDecision {
    let mut channels: Vec<String> = routing.receivers().channels().into_iter().map(str::to_owned).collect();
    if channels.is_empty() {
        channels = routing.default_rule().channels.clone();
    }
    let notifications = targets
        .iter()
        .flat_map(|target| {
            channels.iter().map(move |channel| Notification {
                target: target.clone(),
                channel: channel.clone(),
                urgency: Urgency::Critical,
                reason: why.to_owned(),
                delay_seconds: 0,
                level: level.to_owned(),
                digest: false,
                open_with: format!("mandate --incident {incident}"),
            })
        })
        .collect();
    RoutingDecision {
        decision: RoutingVerdict::Gated,
        notifications,
        escalation_path: targets.to_vec(),
        rule_matched: Some(rule.to_owned()),
        automation: None,
    }
}
