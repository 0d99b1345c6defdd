//! An incident's life in a person's hands: resolved with a resolution,
//! opened again, a note left on its timeline, its severity changed. Each
//! tells paging in the same transaction, as recovery and new errors do.

use super::{Intervention, InterventionError, Step, add_responder, unchanged};
use crate::api::{IncidentStatus, InterventionKind, NoticeKind, Resolution, ResolutionKind};
use crate::desk::Desk;
use crate::incident::blast_radius;
use sqlx::{Any, Transaction};

use InterventionError::{Conflict, Invalid};

impl Desk {
    /// The incident ends by a person's word: how (the cause confirmed, not
    /// found, or nothing was wrong) and why. Paging stops and whoever was
    /// paged is told, as when the resource recovers; the cause it settles is
    /// what learning counts, and the analysis no longer overrides it.
    pub(super) async fn resolve(
        &self,
        tx: &mut Transaction<'static, Any>,
        it: &mut Intervention<'_>,
    ) -> Result<Step, InterventionError> {
        let request = it.request;
        let record = it.incident.as_mut().expect("an incident, checked");
        let id = record.summary.id;
        if record.summary.status == IncidentStatus::Resolved {
            let how = match &record.resolution {
                Some(r) => format!(" by {} ({})", r.by, r.kind),
                None => " (its resource recovered)".to_owned(),
            };
            return Err(Conflict("INCIDENT_RESOLVED", format!("incident #{id} is already resolved{how}")));
        }
        let kind = request.resolution.ok_or_else(|| {
            Invalid("FIELD_MISSING", "resolution", format!("resolve needs one of {}", ResolutionKind::allowed()))
        })?;
        let cause = match (kind, &request.event_id) {
            (ResolutionKind::CauseConfirmed, Some(event)) => {
                if self.store.events_by_id(&[event.as_str()]).await?.is_empty() {
                    return Err(Invalid("EVENT_NOT_FOUND", "event_id", format!("no event {event:?} is stored")));
                }
                Some(event.clone())
            }
            (ResolutionKind::CauseConfirmed, None) => {
                return Err(Invalid("FIELD_MISSING", "event_id", "cause_confirmed names its event_id".into()));
            }
            _ => None,
        };
        let reason = request.reason.clone().unwrap_or_default();
        let now = self.clock.now();
        record.summary.status = IncidentStatus::Resolved;
        record.summary.resolved_at = Some(it.now);
        record.summary.auto_recovered = false;
        add_responder(&mut record.summary, &request.actor_id);
        record.resolution =
            Some(Resolution { kind, by: request.actor_id.clone(), at: it.now, reason, event_id: cause.clone() });
        self.store.settle_cause(tx, id, cause.as_deref(), kind == ResolutionKind::CauseUndetermined).await?;
        let told = self.store.close_pages(tx, id, NoticeKind::Resolved, now).await?;
        it.queued += told;
        it.changed_incident = true;
        it.analyse = true;
        it.details["resolution"] = kind.as_str().into();
        it.details["event_id"] = cause.clone().into();
        let how = match (kind, &cause) {
            (ResolutionKind::CauseConfirmed, Some(event)) => format!("cause confirmed: {event}"),
            (ResolutionKind::CauseUndetermined, _) => "cause undetermined".to_owned(),
            _ => "not an incident".to_owned(),
        };
        let told = match told {
            0 => "nobody had been paged".to_owned(),
            1 => "1 receiver told".to_owned(),
            n => format!("{n} receivers told"),
        };
        Ok(Step::Done(format!("incident #{id} resolved ({how}): paging stopped, {told}")))
    }

    /// A resolved incident opened again by a person: it is routed afresh
    /// and everyone its routing names is paged again, from now.
    pub(super) async fn reopen(
        &self,
        tx: &mut Transaction<'static, Any>,
        it: &mut Intervention<'_>,
    ) -> Result<Step, InterventionError> {
        let record = it.incident.as_mut().expect("an incident, checked");
        let id = record.summary.id;
        if record.summary.status != IncidentStatus::Resolved {
            return Err(Conflict(
                "INCIDENT_NOT_RESOLVED",
                format!("incident #{id} is {}: only a resolved incident is reopened", record.summary.status),
            ));
        }
        let now = self.clock.now();
        record.summary.status = IncidentStatus::Open;
        record.summary.resolved_at = None;
        record.summary.auto_recovered = false;
        record.resolution = None;
        self.store.settle_cause(tx, id, None, false).await?;
        let mut queued = self.store.reopen_pages(tx, id, now).await? as usize;
        let radius = blast_radius(&self.catalog(), &[], &record.summary.resources);
        queued += self.route_in(tx, record, &radius, Default::default(), now).await?;
        it.queued += queued;
        it.changed_incident = true;
        it.analyse = true;
        Ok(Step::Done(format!("incident #{id} reopened: routed again, {queued} notification(s) queued")))
    }

    /// A person sets the severity: it holds against new events, and routing
    /// decides again who is told (unless the incident is resolved).
    pub(super) async fn change_severity(
        &self,
        tx: &mut Transaction<'static, Any>,
        it: &mut Intervention<'_>,
    ) -> Result<Step, InterventionError> {
        let request = it.request;
        let severity = request
            .severity
            .ok_or_else(|| Invalid("FIELD_MISSING", "severity", "change_severity needs severity".into()))?;
        let record = it.incident.as_mut().expect("an incident, checked");
        let id = record.summary.id;
        let was = record.summary.severity;
        if was == severity {
            let said = format!("incident #{id} is already {severity}: nothing to do");
            return Ok(Step::Unchanged(Box::new(unchanged(
                InterventionKind::ChangeSeverity,
                said,
                it.incident.take(),
            ))));
        }
        record.summary.severity = severity;
        record.severity_set_by = Some(request.actor_id.clone());
        it.changed_incident = true;
        it.details["from"] = was.as_str().into();
        it.details["to"] = severity.as_str().into();
        let changed = format!("incident #{id} severity {was} → {severity}");
        if record.summary.status == IncidentStatus::Resolved {
            return Ok(Step::Done(format!("{changed}; it is resolved, so nobody is paged")));
        }
        let now = self.clock.now();
        let radius = blast_radius(&self.catalog(), &[], &record.summary.resources);
        let queued = self.route_in(tx, record, &radius, Default::default(), now).await?;
        it.queued += queued;
        Ok(Step::Done(format!("{changed}: routing decided again, {queued} notification(s) queued")))
    }
}

impl Desk {
    /// A named person paged now on the incident's channels (those its
    /// routing pages by, else every channel with a receiver) and listed as a
    /// responder; handing over also makes them its coordinator.
    pub(super) async fn add_responder(
        &self,
        tx: &mut Transaction<'static, Any>,
        it: &mut Intervention<'_>,
        hand_over: bool,
    ) -> Result<Step, InterventionError> {
        let request = it.request;
        let person = request
            .responder
            .clone()
            .ok_or_else(|| Invalid("FIELD_MISSING", "responder", "name the person: responder".into()))?;
        let record = it.incident.as_mut().expect("an incident, checked");
        let id = record.summary.id;
        if hand_over && record.summary.coordinator.as_deref() == Some(person.as_str()) {
            let said = format!("incident #{id} is already {person}'s");
            return Ok(Step::Unchanged(Box::new(unchanged(InterventionKind::HandOver, said, it.incident.take()))));
        }
        if !hand_over && record.summary.responders.contains(&person) {
            let said = format!("{person} is already a responder of incident #{id}: nobody paged again");
            return Ok(Step::Unchanged(Box::new(unchanged(InterventionKind::AddResponder, said, it.incident.take()))));
        }
        let now = self.clock.now();
        let routing = self.routing();
        let decided = self.store.latest_routing_in(tx, id).await?;
        let mut channels: Vec<String> = Vec::new();
        for n in decided.iter().flat_map(|d| d.notifications.iter()).filter(|n| !n.digest) {
            if !channels.contains(&n.channel) {
                channels.push(n.channel.clone());
            }
        }
        if channels.is_empty() {
            channels = routing.receivers().channels().into_iter().map(str::to_owned).collect();
        }
        if channels.is_empty() {
            channels = routing.default_rule().channels.clone();
        }
        let by = &request.actor_id;
        let why = match (hand_over, &request.reason) {
            (true, Some(r)) => format!("handed over to you by {by}: {r}"),
            (true, None) => format!("handed over to you by {by}"),
            (false, Some(r)) => format!("added as a responder by {by}: {r}"),
            (false, None) => format!("added as a responder by {by}"),
        };
        let target = format!("@{person}");
        let level = format!("responder {target}");
        let notifications = channels
            .iter()
            .map(|channel| crate::api::Notification {
                target: target.clone(),
                channel: channel.clone(),
                urgency: crate::api::Urgency::High,
                reason: why.clone(),
                delay_seconds: 0,
                level: level.clone(),
                digest: false,
                open_with: format!("mandate --incident {id}"),
            })
            .collect::<Vec<_>>();
        let next = crate::paging::NextLevel { step: -1, level, notifications };
        self.store.page_level_now(tx, id, &next, routing.receivers(), now).await?;
        it.queued += next.notifications.len();
        if !record.summary.responders.contains(&person) {
            record.summary.responders.push(person.clone());
        }
        let was = record.summary.coordinator.clone();
        if hand_over {
            record.summary.coordinator = Some(person.clone());
            it.details["from"] = was.clone().into();
        }
        it.changed_incident = true;
        it.details["responder"] = person.clone().into();
        it.details["channels"] = serde_json::json!(channels);
        let paging = format!("{target} paged now on {}", channels.join(", "));
        Ok(Step::Done(if hand_over {
            format!("incident #{id} handed over from {} to {person}; {paging}", was.as_deref().unwrap_or("nobody"))
        } else {
            format!("{person} added to incident #{id}; {paging}")
        }))
    }
}

/// A responder's note on the incident's timeline, in their words (`reason`).
pub(super) fn note(it: &mut Intervention<'_>) -> Step {
    let id = it.incident.as_ref().map(|r| r.summary.id).unwrap_or_default();
    Step::Done(format!("note added to incident #{id}"))
}
