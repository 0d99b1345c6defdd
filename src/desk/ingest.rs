use super::change::Committed;
use super::stops;
use super::{Desk, DeskState};
use crate::api::{
    ErrorBody, ErrorType, Event, IncidentStatus, IncidentTraits, IngestReport, NoticeKind, RejectedEvent, Severity,
};
use crate::incident::{Placement, blast_radius, severity};
use crate::store::{AgentSighting, IncidentRecord, StoreError};
use chrono::{DateTime, Duration, Utc};
use std::collections::BTreeMap;
use std::collections::btree_map::Entry;

/// How many merges an event follows to its incident's survivor (merging
/// keeps them one step away; older links may be longer).
const MERGE_HOPS: usize = 8;

/// How late an event may arrive and still join its incident; grouping state
/// older than this (past its window) is forgotten.
pub(super) const LATE_EVENTS: Duration = Duration::hours(1);

/// Shorter than this and recovered by itself: a flash incident (seed 7.4).
const FLASH: Duration = Duration::minutes(2);

fn title_for(e: &Event) -> String {
    match (&e.error_code, &e.resource, &e.agent_id) {
        (Some(code), Some(resource), _) => format!("{code} on {resource}"),
        (None, Some(resource), _) => format!("errors on {resource}"),
        (Some(code), None, Some(agent)) => format!("{code} from {agent}"),
        (None, None, Some(agent)) => format!("errors from {agent}"),
        (Some(code), None, None) => code.clone(),
        (None, None, None) => "errors from an unknown source".to_owned(),
    }
}

fn new_record(id: i64, e: &Event, now: DateTime<Utc>) -> IncidentRecord {
    let mut record =
        IncidentRecord::opened(id, title_for(e), Severity::Medium, e.resource.iter().cloned().collect(), e.occurred_at);
    record.summary.updated_at = now;
    record
}

/// The refusal of an event whose id is taken by an event that says something else.
fn id_conflict(id: &str, first: &Event) -> ErrorBody {
    let whose = match &first.agent_id {
        Some(agent) => format!("agent {agent:?}'s event"),
        None => "an event".to_owned(),
    };
    let message = format!(
        "event_id {id:?} is already {whose} with other content: an event is stored once and never changed; \
         a replay must say the same, and a new event needs a new id"
    );
    ErrorBody::new(ErrorType::Conflict, "EVENT_ID_CONFLICT", message).with_field("event_id")
}

impl Desk {
    /// Stores a batch of validated events: duplicates are no-ops, events for a
    /// disabled tool are refused, the rest are grouped into incidents, all in
    /// one transaction.
    ///
    /// Long because it is the single writer's one transaction: every step
    /// (duplicates, refusals, grouping, the chain, routing, paging) sees what
    /// the ones before it wrote, and splitting it would pass that state around.
    pub async fn ingest(&self, events: Vec<Event>) -> Result<IngestReport, StoreError> {
        let mut report =
            IngestReport { accepted: 0, duplicates: 0, rejected: vec![], incidents: vec![], stopped: BTreeMap::new() };
        let started = std::time::Instant::now();
        let (mut state, mut tx) = self.begin_change().await?;
        let controls = self.controls_snapshot();
        let stops_on = self.stops_snapshot(&controls);
        let mut stops_seen: BTreeMap<String, Vec<crate::api::AgentStop>> = BTreeMap::new();
        // Actions taken while stopped: each stop's breach is paged.
        let mut breaches: Vec<stops::Breach> = Vec::new();
        let ids: Vec<&str> = events.iter().map(|e| e.event_id.as_str()).collect();
        let stored = self.store.existing_event_ids(&mut tx, &ids).await?;
        // An id says one thing for ever: a replay is a no-op only when it
        // says the same, otherwise it is refused, never silently dropped.
        let mut said: BTreeMap<String, Event> = BTreeMap::new();
        if !stored.is_empty() {
            let stored: Vec<&str> = stored.iter().map(String::as_str).collect();
            for e in self.store.events_by_id_in(&mut tx, &stored).await? {
                said.insert(e.event_id.clone(), e);
            }
        }
        let mut fresh: Vec<Event> = Vec::new();
        // Ids first seen in this batch: where in `fresh` they are.
        let mut in_batch: BTreeMap<String, usize> = BTreeMap::new();
        for (index, event) in events.into_iter().enumerate() {
            let first = said.get(&event.event_id).or_else(|| in_batch.get(&event.event_id).map(|&i| &fresh[i]));
            if let Some(first) = first {
                if first.same_content(&event) {
                    report.duplicates += 1;
                } else {
                    report.rejected.push(RejectedEvent {
                        index,
                        event_id: Some(event.event_id.clone()),
                        error: id_conflict(&event.event_id, first),
                    });
                }
                continue;
            }
            let disabled = match (&event.agent_id, &event.tool) {
                (Some(agent), Some(tool)) => controls.get(agent).is_some_and(|c| c.disabled_tools.contains(tool)),
                _ => false,
            };
            if disabled {
                let message = format!(
                    "tool {:?} is disabled for agent {:?} by an intervention",
                    event.tool.as_deref().unwrap_or_default(),
                    event.agent_id.as_deref().unwrap_or_default()
                );
                report.rejected.push(RejectedEvent {
                    index,
                    event_id: Some(event.event_id.clone()),
                    error: ErrorBody::new(ErrorType::Conflict, "TOOL_DISABLED", message).with_field("tool"),
                });
                continue;
            }
            // A stopped agent's event is a record of what it did: kept,
            // flagged when it acted while the stop held, and the poster told.
            let mut event = event;
            if let Some(agent) = event.agent_id.clone() {
                let stops = stops_seen.entry(agent.clone()).or_insert_with(|| stops_on(&agent));
                let run = event.run_id.as_deref();
                if let Some(stop) = stops::held_over(stops, &agent, run, event.occurred_at) {
                    event.flags.push(crate::api::EventFlag::ActedWhileStopped);
                    stops::note_breach(&mut breaches, &agent, stop, &event.event_id);
                    report.stopped.insert(agent.clone(), stop.clone());
                } else if let Some(stop) = stops.iter().find(|s| s.covers(&agent, run)) {
                    report.stopped.insert(agent, stop.clone());
                }
            }
            in_batch.insert(event.event_id.clone(), fresh.len());
            fresh.push(event);
        }
        fresh.sort_by_key(|e| e.occurred_at);

        // Work on a copy: if the transaction fails, the desk is as it was.
        let mut next: DeskState = state.clone();
        let now = Utc::now();
        next.grouper.expire(next.watermark - LATE_EVENTS);
        if let Some(newest) = fresh.last() {
            next.watermark = next.watermark.max(newest.occurred_at).min(now);
        }
        let mut touched: BTreeMap<i64, IncidentRecord> = BTreeMap::new();
        // What each touched incident was before this batch (None: new).
        let mut before: BTreeMap<i64, Option<(Severity, IncidentStatus)>> = BTreeMap::new();
        let mut gaps = Vec::new();
        let mut agents_seen: BTreeMap<String, AgentSighting> = BTreeMap::new();
        let mut seen_in: BTreeMap<i64, IncidentTraits> = BTreeMap::new();
        // The incidents this batch will join or recover, read in one query
        // rather than one each: a dry run of the grouping says which. Nothing
        // is written before the loop below ends, so these are as stored.
        let mut prefetched: BTreeMap<i64, IncidentRecord> = {
            let mut dry = next.grouper.clone();
            let mut ids: Vec<i64> = fresh
                .iter()
                .filter_map(|e| match dry.place(e, || -1) {
                    Placement::Joined(id) | Placement::Recovered(id) if id >= 0 => Some(id),
                    _ => None,
                })
                .collect();
            ids.sort_unstable();
            ids.dedup();
            self.store.get_incidents_in(&mut tx, &ids).await?.into_iter().map(|r| (r.summary.id, r)).collect()
        };
        for event in &mut fresh {
            if let Some(agent) = &event.agent_id {
                let seen = agents_seen.entry(agent.clone()).or_insert(AgentSighting {
                    last_seen: event.occurred_at,
                    latest_seq: None,
                    events: 0,
                    errors: 0,
                });
                seen.last_seen = seen.last_seen.max(event.occurred_at);
                seen.events += 1;
                seen.errors += i64::from(event.is_error());
                if let Some(seq) = event.seq {
                    gaps.extend(next.sequences.observe(agent, seq, event.occurred_at));
                    if seen.latest_seq.is_none_or(|(s, _)| seq > s) {
                        seen.latest_seq = Some((seq, event.occurred_at));
                    }
                }
            }
            let DeskState { grouper, next_incident, .. } = &mut next;
            let placement = grouper.place(event, || {
                let id = *next_incident;
                *next_incident += 1;
                id
            });
            let mut id = match placement {
                Placement::None => continue,
                Placement::Opened(id) | Placement::Joined(id) | Placement::Recovered(id) => id,
            };
            // A duplicate merged away (here, by another server, or before a
            // restart) gives way to its survivor, for this event and the next.
            let mut stored = None;
            if !matches!(placement, Placement::Opened(_)) {
                for _ in 0..MERGE_HOPS {
                    if touched.contains_key(&id) {
                        break;
                    }
                    let record = self.incident_as_stored(&mut tx, &mut prefetched, id).await?;
                    match record.as_ref().and_then(|r| r.summary.merged_into) {
                        Some(into) => {
                            next.grouper.merge(id, into);
                            id = into;
                        }
                        None => {
                            stored = Some(record);
                            break;
                        }
                    }
                }
            }
            event.incident_id = Some(id);
            // What a silence matches on, of events not stored yet.
            let traits = seen_in.entry(id).or_default();
            if let Some(agent) = event.agent_id.as_ref().filter(|a| !traits.agents.contains(a)) {
                traits.agents.push(agent.clone());
            }
            if let Some(action) = event.action_type.as_ref().filter(|a| !traits.action_types.contains(a)) {
                traits.action_types.push(action.clone());
            }
            let record = match touched.entry(id) {
                Entry::Occupied(slot) => slot.into_mut(),
                Entry::Vacant(slot) => {
                    let stored = match (placement, stored) {
                        (Placement::Opened(_), _) => None,
                        (_, Some(stored)) => stored,
                        (_, None) => self.incident_as_stored(&mut tx, &mut prefetched, id).await?,
                    };
                    before.insert(id, stored.as_ref().map(|r| (r.summary.severity, r.summary.status)));
                    slot.insert(stored.unwrap_or_else(|| new_record(id, event, now)))
                }
            };
            let summary = &mut record.summary;
            summary.event_count += 1;
            if let Some(resource) = event.resource.as_ref().filter(|r| !summary.resources.contains(r)) {
                summary.resources.push(resource.clone());
            }
            if event.is_error() {
                record.last_error_at = record.last_error_at.max(event.occurred_at);
                summary.started_at = summary.started_at.min(event.occurred_at);
                if summary.status == IncidentStatus::Resolved {
                    // Errors came back within the window: open again, and a
                    // person's resolution no longer holds.
                    summary.auto_recovered = false;
                    summary.status = IncidentStatus::Open;
                    summary.resolved_at = None;
                    record.resolution = None;
                }
            } else if summary.status != IncidentStatus::Resolved && event.occurred_at >= record.last_error_at {
                // The failing resource works again: resolved. Under two minutes
                // from the first error, it was a flash incident (seed 7.4).
                summary.auto_recovered = event.occurred_at - summary.started_at < FLASH;
                summary.status = IncidentStatus::Resolved;
                summary.resolved_at = Some(event.occurred_at);
            }
        }

        let catalog = self.catalog();
        // The change feed moves only when an incident changed.
        let version = next.version + i64::from(!touched.is_empty());
        let mut queued = 0;
        let mut radii = BTreeMap::new();
        for record in touched.values_mut() {
            let radius = blast_radius(&catalog, &[], &record.summary.resources);
            if record.severity_set_by.is_none() {
                record.summary.severity = severity(&catalog, &radius);
            }
            record.summary.updated_at = now;
            record.summary.version = version;
            radii.insert(record.summary.id, radius);
        }
        // Every changed incident in one statement, before any is paged.
        self.store.save_incidents(&mut tx, &touched.values().collect::<Vec<_>>()).await?;
        for record in touched.values_mut() {
            let radius = radii.remove(&record.summary.id).expect("each touched incident has its radius");
            // Paging changes with the incident, in its transaction: a new or
            // reopened incident, or a new severity, is routed (again); a
            // resolved one stops paging and tells who was paged.
            let (severity, status) = (record.summary.severity, record.summary.status);
            let was = before.get(&record.summary.id).copied().flatten();
            let now = self.clock.now();
            if status == IncidentStatus::Resolved {
                if was.is_some_and(|(_, s)| s != IncidentStatus::Resolved) {
                    queued += self.store.close_pages(&mut tx, record.summary.id, NoticeKind::Resolved, now).await?;
                }
            } else if was.is_none_or(|(sev, s)| sev != severity || s == IncidentStatus::Resolved) {
                if was.is_some_and(|(_, s)| s == IncidentStatus::Resolved) {
                    // Back after resolving: everyone is paged again, from now.
                    queued += self.store.reopen_pages(&mut tx, record.summary.id, now).await? as usize;
                }
                let seen = seen_in.remove(&record.summary.id).unwrap_or_default();
                queued += self.route_in(&mut tx, record, &radius, seen, now).await?;
            }
        }
        let tail = match next.chain_tail.take() {
            Some(tail) => tail,
            None => self.store.chain_tail(&mut tx).await?,
        };
        next.chain_tail = Some(self.store.insert_events(&mut tx, &fresh, &tail).await?);
        self.fire_on_events(&mut tx, &fresh).await?;
        for gap in &gaps {
            self.store.insert_gap(&mut tx, gap).await?;
        }
        self.store.touch_agents(&mut tx, &agents_seen).await?;
        report.incidents = touched.keys().copied().collect();
        self.store.mark_analysis_due(&mut tx, &report.incidents, version).await?;
        let change = Committed { version, config: false, paging: queued > 0 };
        if let Err(e) = self.commit_change(&mut next, tx, change).await {
            state.synced = next.synced;
            state.chain_tail = None;
            return Err(e);
        }

        report.accepted = fresh.len();
        *state = next;
        drop(state);
        crate::metrics::ingest_took(started.elapsed());
        crate::metrics::events_stored(report.accepted, report.duplicates);
        self.queued(queued);
        // Stored whatever happens next: the page is the alarm, not the record.
        if let Err(e) = self.page_breaches(breaches).await {
            tracing::warn!(error = %e, "an agent acted while stopped, and its page could not be queued");
        }
        Ok(report)
    }

    /// Incident `id` as stored: the batch's prefetched copy (taken: the
    /// batch changes it from here), or read now.
    async fn incident_as_stored(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        prefetched: &mut BTreeMap<i64, IncidentRecord>,
        id: i64,
    ) -> Result<Option<IncidentRecord>, StoreError> {
        match prefetched.remove(&id) {
            Some(record) => Ok(Some(record)),
            None => self.store.get_incident_in(tx, id).await,
        }
    }
}
