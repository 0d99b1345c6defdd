//! A duplicate incident merged into another by a person. The duplicate's
//! events keep their incident id (it is part of the events' chain); it
//! points to the survivor instead, which reads its events, interventions
//! and pages as its own. Paging follows: the duplicate's stops (its
//! receivers are told where it went), the survivor's is decided again over
//! both; what would have joined the duplicate joins the survivor.

use super::{Intervention, InterventionError, Step, add_responder};
use crate::api::{IncidentStatus, NoticeKind};
use crate::desk::Desk;
use crate::incident::{blast_radius, severity};
use crate::store::IncidentRecord;
use sqlx::{Any, Transaction};

use InterventionError::{Conflict, Invalid, NotFound};

impl Desk {
    pub(super) async fn merge(
        &self,
        tx: &mut Transaction<'static, Any>,
        it: &mut Intervention<'_>,
    ) -> Result<Step, InterventionError> {
        let into = it.request.into_incident.ok_or_else(|| {
            Invalid("FIELD_MISSING", "into_incident", "merge names the incident that survives: into_incident".into())
        })?;
        let duplicate = it.incident.as_mut().expect("an incident, checked");
        let id = duplicate.summary.id;
        if into == id {
            return Err(Invalid(
                "FIELD_INVALID_VALUE",
                "into_incident",
                format!("incident #{id} cannot be merged into itself: name the incident it duplicates"),
            ));
        }
        if let Some(survivor) = duplicate.summary.merged_into {
            return Err(Conflict("INCIDENT_MERGED", format!("incident #{id} is already merged into #{survivor}")));
        }
        let mut survivor = self
            .store
            .get_incident_in(tx, into)
            .await?
            .ok_or_else(|| NotFound("INCIDENT_NOT_FOUND", format!("no incident #{into} to merge #{id} into")))?;
        if let Some(further) = survivor.summary.merged_into {
            return Err(Conflict(
                "INCIDENT_MERGED",
                format!("incident #{into} was itself merged into #{further}: merge #{id} into #{further}"),
            ));
        }
        let open = |r: &IncidentRecord| r.summary.status != IncidentStatus::Resolved;
        if open(duplicate) && !open(&survivor) {
            return Err(Conflict(
                "INCIDENT_RESOLVED",
                format!(
                    "incident #{into} is resolved and #{id} is not: reopen #{into} first, or merge #{into} into #{id}"
                ),
            ));
        }
        let now = self.clock.now();

        // The duplicate ends, pointing to the survivor; learning no longer
        // counts it (the survivor's analysis covers its events).
        let was_open = open(duplicate);
        duplicate.summary.merged_into = Some(into);
        if was_open {
            duplicate.summary.status = IncidentStatus::Resolved;
            duplicate.summary.resolved_at = Some(it.now);
        }
        duplicate.summary.auto_recovered = false;
        add_responder(&mut duplicate.summary, &it.request.actor_id);
        let why = format!("incident #{id} was merged into #{into}: paging goes on there");
        let told = self.store.close_pages_because(tx, id, NoticeKind::Resolved, &why, now).await?;
        self.store.link_incident(tx, id, &[], it.now).await?;
        self.store.repoint_merged(tx, id, into).await?;

        // The survivor takes the duplicate's resources, count, span and
        // people; its severity and paging are decided again over both.
        let s = &mut survivor.summary;
        for resource in &duplicate.summary.resources {
            if !s.resources.contains(resource) {
                s.resources.push(resource.clone());
            }
        }
        for person in &duplicate.summary.responders {
            if !s.responders.contains(person) {
                s.responders.push(person.clone());
            }
        }
        s.event_count += duplicate.summary.event_count;
        s.started_at = s.started_at.min(duplicate.summary.started_at);
        s.updated_at = it.now;
        survivor.last_error_at = survivor.last_error_at.max(duplicate.last_error_at);
        let radius = blast_radius(&self.catalog(), &[], &survivor.summary.resources);
        let was = survivor.summary.severity;
        if survivor.severity_set_by.is_none() {
            survivor.summary.severity = severity(&self.catalog(), &radius).max(was);
        }
        let mut queued = told;
        if open(&survivor) && survivor.summary.severity != was {
            queued += self.route_in(tx, &survivor, &radius, Default::default(), now).await?;
        }
        it.queued += queued;
        it.changed_incident = true;
        it.analyse = true;
        it.merged = Some((id, into));
        it.details["into"] = into.into();
        it.details["merged"] = format!("#{id} into #{into}").into();
        let severity_moved = match survivor.summary.severity {
            now if now != was => format!(", its severity {was} → {now}"),
            _ => String::new(),
        };
        it.survivor = Some(survivor);
        let told = match told {
            0 => "nobody had been paged for it".to_owned(),
            1 => "1 receiver told".to_owned(),
            n => format!("{n} receivers told"),
        };
        Ok(Step::Done(format!(
            "incident #{id} merged into #{into}: its events, interventions and pages are #{into}'s{severity_moved}; {told}"
        )))
    }
}
