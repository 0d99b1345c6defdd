use super::action_window::Wanted;
use super::{Desk, ServedDetail};
use crate::api::{Band, Event, IncidentDetail, Signature, TimelineEntry, Verdict};
use crate::incident::{
    AnalysisInput, CORRELATION_WINDOW, SuggestionInput, analyze_kept, blast_radius, escalation_path, match_pattern,
    signature, suggest, top3,
};
use crate::routing::RoutingInput;
use crate::store::StoreError;
use chrono::{Duration, Utc};
use std::collections::BTreeSet;
use std::sync::Arc;

impl Desk {
    /// Everything about one incident, as stored now: computed once per
    /// change of the incident (see `detail_cache`). It only reads: what
    /// needs storing is stored by `refresh_analysis`.
    pub async fn incident_detail(&self, id: i64) -> Result<Option<Arc<ServedDetail>>, StoreError> {
        let config = self.config.epoch();
        let Some(version) = self.incident_version(id).await? else { return Ok(None) };
        let compute = || async {
            let analysed = self.analyse(id).await?;
            Ok(analysed.map(|a| ServedDetail::new(a.detail, a.signature, a.learned)))
        };
        self.caches.details.detail(id, version, config, compute).await
    }

    /// An incident's version as the database holds it when this is called
    /// (one read shared by the callers that arrived before it began);
    /// None: no such incident.
    pub async fn incident_version(&self, id: i64) -> Result<Option<i64>, StoreError> {
        let store = self.store.clone();
        self.caches.details.version(id, move || Box::pin(async move { store.incident_version(id).await })).await
    }

    /// What the caches did since the server started.
    pub fn cache_counts(&self) -> super::CacheCounts {
        self.caches.counts()
    }

    /// Stores what an incident's change changed: its pattern signature and
    /// its routing decision (kept as history when it differs). The
    /// background work after an incident changes, never a read.
    pub async fn refresh_analysis(&self, id: i64) -> Result<(), StoreError> {
        // The detail readers are served, computed once for this version.
        let Some(served) = self.incident_detail(id).await? else { return Ok(()) };
        let Some(record) = self.store.get_incident(id).await? else { return Ok(()) };
        let (detail, signature) = (&served.detail, &served.signature);
        let changed = record.signature.as_ref() != Some(signature);
        if changed {
            self.store.set_signature(id, signature).await?;
        }
        self.learn(detail, signature, changed, served.learned.as_ref()).await?;
        if let Some(routing) = &detail.routing {
            // The decision, now with the suspect known, and the outbox change
            // it makes, together.
            let now = self.clock.now();
            let mut tx = self.store.write.begin().await?;
            self.store.record_routing_in(&mut tx, id, routing, now).await?;
            let queued =
                self.sync_pages(&mut tx, id, (detail.summary.status, detail.summary.severity), routing, now).await?;
            tx.commit().await?;
            self.queued(queued);
        }
        self.automate(detail).await?;
        self.show_learning(detail).await
    }

    /// The detail, its signature, and what learning needs of it.
    ///
    /// Long because it is one sequence of reads, each bounded by the one
    /// before (the window by the incident's events, the causes by the window),
    /// computed once per change: the steps are named inside.
    async fn analyse(&self, id: i64) -> Result<Option<Analysed>, StoreError> {
        let store = &self.store;
        // What was stored through is read first: what is read since it
        // is at least everything committed by then.
        let (record, read) = tokio::join!(store.get_incident(id), async {
            let merged_from = store.merged_from(id).await?;
            let members: Vec<i64> = std::iter::once(id).chain(merged_from.iter().copied()).collect();
            let through = store.events_stored_through().await?;
            let events = self.caches.incident_events.read(store, &members, through).await?;
            Ok::<_, StoreError>((through, members, merged_from, events))
        });
        let Some(record) = record? else { return Ok(None) };
        let (through, members, merged_from, events) = read?;
        // A person's report is its first error: the resources and the time
        // they named start the analysis, as an error's would.
        let reported_by = record.created_by.clone().filter(|by| by != super::ROUTING_ACTOR);
        let events = match &reported_by {
            Some(by) if !events.iter().any(Event::is_error) && !record.summary.resources.is_empty() => {
                let mut with = events.as_ref().clone();
                let at = record.summary.started_at;
                with.extend(record.summary.resources.iter().map(|r| reported_event(id, by, r, at)));
                std::sync::Arc::new(with)
            }
            _ => events,
        };
        let catalog = self.catalog();
        let errors: Vec<&Event> = events.iter().filter(|e| e.is_error()).collect();
        let first = errors.iter().map(|e| e.occurred_at).min().unwrap_or(record.summary.started_at);
        let last = record.last_error_at.max(first);

        let mut failed: Vec<String> = errors.iter().filter_map(|e| e.resource.clone()).collect();
        failed.sort();
        failed.dedup();
        let mut scope: BTreeSet<String> = events.iter().flat_map(|e| e.scope.iter().cloned()).collect();
        let mut related_resources: BTreeSet<String> = failed.iter().cloned().collect();
        for r in &failed {
            if let Some(s) = catalog.get(r) {
                related_resources.extend(s.depends_on.iter().cloned());
            }
        }
        related_resources.extend(scope.iter().cloned());
        let related_resources: Vec<String> = related_resources.into_iter().collect();
        let traces: Vec<String> =
            events.iter().filter_map(|e| e.trace_id.clone()).collect::<BTreeSet<_>>().into_iter().collect();
        let wanted =
            Wanted { from: first - CORRELATION_WINDOW, to: last, resources: &related_resources, traces: &traces };
        // Everything below depends only on the incident's own events: fetch it
        // side by side on the read pool.
        let near = async {
            match &reported_by {
                Some(_) => {
                    store.incidents_near(&failed, first - Duration::hours(1), first + Duration::hours(1), id).await
                }
                None => Ok(Vec::new()),
            }
        };
        let (around, verdicts, past_causes, rejections, starts, past, interventions, pages, near) = tokio::join!(
            self.around(id, &wanted, through),
            store.verdicts(id),
            store.past_causes(id),
            store.past_rejections(id),
            store.incident_starts(&failed, id),
            store.past_signatures(record.summary.started_at),
            store.incident_interventions(&members),
            store.incident_pages(&members),
            near,
        );
        let (mut around, verdicts, past_causes, rejections, starts, past, interventions, pages, near) =
            (around?, verdicts?, past_causes?, rejections?, starts?, past?, interventions?, pages?, near?);
        let history: &[Event] = &around.history;
        let own: BTreeSet<&str> = events.iter().map(|e| e.event_id.as_str()).collect();
        // The incident's own events are among them: scoring leaves them out.
        let actions: &[Event] = &around.actions;

        let mut scoring = std::mem::take(&mut around.scoring);
        let mut analysis = analyze_kept(
            &AnalysisInput {
                incident_events: &events,
                actions,
                catalog: &catalog,
                verdicts: &verdicts,
                past_causes: &past_causes,
                past_rejections: &rejections,
            },
            &mut scoring,
            around.list,
        );
        self.keep_scoring(id, around.list, scoring);
        let current = signature(&events, &analysis);
        let mut pattern = match_pattern(&current, record.summary.started_at, &past);

        // The timeline: the incident's events, the actions related to it, and
        // the gaps in the sequence numbers of every agent involved.
        let candidates: BTreeSet<&str> = analysis
            .candidates
            .iter()
            .filter(|c| c.verdict != Some(Verdict::Rejected))
            .map(|c| c.event_id.as_str())
            .chain(analysis.contributing.iter().map(|c| c.event_id.as_str()))
            .collect();
        // Scoring read a projection of the actions: the ones listed are read whole.
        let listed: Vec<&str> = candidates.iter().copied().filter(|id| !own.contains(id)).collect();
        let listed_times = analysis
            .candidates
            .iter()
            .filter(|c| c.verdict != Some(Verdict::Rejected))
            .map(|c| c.occurred_at)
            .chain(analysis.contributing.iter().map(|c| c.occurred_at));
        let span_start =
            events.iter().map(|e| e.occurred_at).chain(listed_times).min().unwrap_or(first) - Duration::minutes(1);
        let agents = distinct(events.iter().chain(actions.iter()).filter_map(|e| e.agent_id.as_deref()));
        let tools: Vec<String> = analysis
            .candidates
            .iter()
            .filter_map(|c| c.tool.clone())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .take(5)
            .collect();
        // What the analysis leads to, read side by side.
        let (disputes, tool_incidents, shared_cause, listed, gaps, attached) = tokio::join!(
            self.disputes_of(id, &analysis.candidates),
            futures_util::future::try_join_all(tools.into_iter().map(|tool| async move {
                let n = store.tool_incident_count(&tool).await?;
                Ok::<_, StoreError>((tool, n.max(1)))
            })),
            self.shared_cause(id, &analysis),
            self.caches.event_rows.read(store, &listed),
            store.gaps(&agents, span_start, last.max(record.summary.updated_at)),
            async {
                match pattern.as_mut() {
                    Some(p) => self.attach_pattern(id, p).await,
                    None => Ok(()),
                }
            },
        );
        let (disputes, tool_incidents, shared_cause, listed, gaps) =
            (disputes?, tool_incidents?, shared_cause?, listed?, gaps?);
        attached?;
        disputes.mark(&mut analysis.candidates);

        // An action that is likely (or confirmed) to be the cause brings its
        // declared scope into the lower bound of the blast radius.
        let causes: BTreeSet<&str> = analysis
            .candidates
            .iter()
            .filter(|c| matches!(c.band, Band::Likely | Band::Confirmed))
            .map(|c| c.event_id.as_str())
            .collect();
        if !causes.is_empty() {
            for e in actions.iter().filter(|e| causes.contains(e.event_id.as_str())) {
                scope.extend(e.touched().map(str::to_owned));
            }
        }
        let scope: Vec<String> = scope.into_iter().collect();
        let radius = blast_radius(&catalog, &scope, &failed);

        let still_active = distinct(
            actions
                .iter()
                .chain(events.iter())
                .filter(|e| e.occurred_at >= first)
                .filter_map(|e| e.agent_id.as_deref()),
        );
        let controls = self.controls_snapshot();
        let paused: Vec<String> = controls.iter().filter(|(_, c)| c.paused).map(|(a, _)| a.clone()).collect();
        let disabled: Vec<(String, String)> =
            controls.iter().flat_map(|(a, c)| c.disabled_tools.iter().map(move |t| (a.clone(), t.clone()))).collect();
        let suggestions = suggest(&SuggestionInput {
            analysis: &analysis,
            radius: &radius,
            catalog: &catalog,
            incident_events: &events,
            history,
            incident_starts: &starts,
            still_active: &still_active,
            paused_agents: &paused,
            disabled_tools: &disabled,
            tool_incidents: &tool_incidents,
            responders: &record.summary.responders,
            paged: &pages
                .iter()
                .filter(|p| p.kind == crate::api::NoticeKind::Page && p.state == crate::api::DeliveryState::Sent)
                .filter_map(|p| Some((p.target.clone(), p.sent_at?)))
                .collect::<Vec<_>>(),
            resolved: record.summary.status == crate::api::IncidentStatus::Resolved,
            now: Utc::now(),
        });
        let top = top3(&suggestions);

        let mut timeline: Vec<(chrono::DateTime<Utc>, TimelineEntry)> = events
            .iter()
            .map(|e| (e.occurred_at, TimelineEntry::Event { event: Box::new(e.clone()), related: false }))
            .chain(
                listed.into_iter().map(|e| (e.occurred_at, TimelineEntry::Event { event: Box::new(e), related: true })),
            )
            .collect();
        for gap in gaps {
            timeline.push((gap.after, TimelineEntry::Gap { gap }));
        }
        timeline.extend(interventions.iter().map(|i| (i.at, TimelineEntry::Intervention { intervention: i.clone() })));
        timeline.sort_by_key(|(t, _)| *t);

        let primary = errors.iter().min_by_key(|e| e.occurred_at).and_then(|e| e.resource.as_deref());
        // Routing looks at where it started first, and at the suspected action.
        let resources: Vec<String> = primary
            .map(str::to_owned)
            .into_iter()
            .chain(failed.iter().filter(|r| Some(r.as_str()) != primary).cloned())
            .collect();
        let suspect = analysis.candidates.iter().find(|c| c.confidence > 0);
        let actor_type = suspect.and_then(|c| c.actor_type).map(|t| t.as_str());
        let routing_input = RoutingInput {
            severity: record.summary.severity,
            resources: &resources,
            action_type: suspect.and_then(|c| c.action_type.as_deref()),
            actor_type,
            past_incidents: starts.iter().filter(|(r, _)| Some(r.as_str()) == primary).count() as u32,
            now: Utc::now(),
            blast: Some(&radius),
            incident: Some(id),
        };
        let touched: Vec<&str> =
            resources.iter().map(String::as_str).chain(suspect.and_then(|c| c.resource.as_deref())).collect();
        let learned = suspect
            .filter(|c| c.confidence >= 40)
            .and_then(|c| self.learned_rule_for(c.action_type.as_deref(), &touched, first));
        let routing = match &learned {
            Some(rule) => {
                let decision = self.rule_decision(rule);
                let automation = (decision == crate::api::RuleDecision::Auto).then_some(rule.automation).flatten();
                let resolved =
                    self.routing().learned_rule(format!("learned: {}", rule.name), decision.into(), automation);
                self.routing().decide_by(&resolved, &catalog, &routing_input)
            }
            None => self.routing().decide(&catalog, &routing_input),
        };
        let detail = IncidentDetail {
            escalation_path: escalation_path(&catalog, primary),
            summary: record.summary,
            timeline: timeline.into_iter().map(|(_, e)| e).collect(),
            blast_radius: radius,
            analysis,
            suggestions,
            top3: top,
            pattern,
            interventions,
            routing: Some(routing),
            pages,
            shared_cause,
            resolution: record.resolution,
            reported_by,
            related_incidents: near,
            merged_from,
        };
        Ok(Some(Analysed { detail, signature: current, learned }))
    }
}

/// The error a person's report stands for: on `resource`, at `at`, by
/// `by`. It is not stored; the analysis reads it with the incident's events.
fn reported_event(id: i64, by: &str, resource: &str, at: chrono::DateTime<chrono::Utc>) -> Event {
    Event {
        event_id: format!("reported-{id}-{resource}"),
        agent_id: None,
        actor_type: Some(crate::attribution::ActorType::Human),
        actor_id: Some(by.to_owned()),
        origin_system_id: None,
        run_id: None,
        parent_event_id: None,
        action_type: Some("report".to_owned()),
        tool: None,
        resource: Some(resource.to_owned()),
        scope: Vec::new(),
        outcome: crate::api::Outcome::Error,
        error_code: Some("REPORTED".to_owned()),
        error_message: Some(format!("reported by {by}")),
        trace_id: None,
        seq: None,
        occurred_at: at,
        received_at: at,
        metadata: Default::default(),
        flags: Vec::new(),
        incident_id: Some(id),
    }
}

/// The distinct names among `names`, sorted: a window's thousands of
/// actions come from a few dozen agents.
fn distinct<'a>(names: impl Iterator<Item = &'a str>) -> Vec<String> {
    let set: std::collections::HashSet<&str, foldhash::fast::RandomState> = names.collect();
    let mut names: Vec<String> = set.into_iter().map(str::to_owned).collect();
    names.sort_unstable();
    names
}

/// An incident's analysis: the detail, its signature, and the learned rule
/// that matched it.
struct Analysed {
    detail: IncidentDetail,
    signature: Signature,
    learned: Option<crate::api::LearnedRule>,
}

impl Desk {
    /// The disputes of the candidates' attributions, and the verdicts given
    /// while one was open.
    async fn disputes_of(
        &self,
        incident_id: i64,
        candidates: &[crate::api::Candidate],
    ) -> Result<DisputeMarks, StoreError> {
        if candidates.is_empty() {
            return Ok(DisputeMarks::default());
        }
        let ids: Vec<String> = candidates.iter().map(|c| c.event_id.clone()).collect();
        let disputes = self.store.disputes_of_events(&ids).await?;
        if disputes.is_empty() {
            return Ok(DisputeMarks::default());
        }
        let while_disputed = self.store.verdicts_while_disputed(incident_id).await?;
        Ok(DisputeMarks { disputes, while_disputed })
    }
}

/// What candidates say of disputes of their attribution.
#[derive(Default)]
struct DisputeMarks {
    disputes: Vec<crate::api::Dispute>,
    /// Events given a verdict while their attribution was disputed.
    while_disputed: BTreeSet<String>,
}

impl DisputeMarks {
    /// Candidates whose attribution is (or was) disputed say so, and a
    /// verdict given while it was says that too.
    fn mark(&self, candidates: &mut [crate::api::Candidate]) {
        if self.disputes.is_empty() {
            return;
        }
        for c in candidates.iter_mut() {
            c.dispute = self.disputes.iter().find(|d| d.event_id == c.event_id).map(crate::api::DisputeMark::from);
            c.verdict_while_disputed = c.verdict.is_some() && self.while_disputed.contains(&c.event_id);
        }
    }
}
