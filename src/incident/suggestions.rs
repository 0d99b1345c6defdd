//! Recovery suggestions (seed 9.1–9.3) and "Top 3 now" (12.5), with
//! alternatives labelled (12.6). Advisory: Mandate never executes them.

use crate::api::{BlastRadius, CausalAnalysis, Event, InterventionKind, Risk, Suggestion, SuggestionKind, Verdict};
use crate::catalog::{Catalog, ServiceKind};
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

const MIGRATIONS: [&str; 3] = ["migration", "db_migration", "schema_migration"];

pub struct SuggestionInput<'a> {
    pub analysis: &'a CausalAnalysis,
    pub radius: &'a BlastRadius,
    pub catalog: &'a Catalog,
    pub incident_events: &'a [Event],
    /// Deploys and migrations on the affected resources, any age.
    pub history: &'a [Event],
    /// When earlier incidents on each resource started.
    pub incident_starts: &'a [(String, DateTime<Utc>)],
    /// Agents with events after the incident began.
    pub still_active: &'a [String],
    pub paused_agents: &'a [String],
    /// (agent, tool) pairs already disabled.
    pub disabled_tools: &'a [(String, String)],
    /// How many incidents each tool appears in, this one included.
    pub tool_incidents: &'a [(String, i64)],
    pub responders: &'a [String],
    /// Who paging reached, and when: they are aware, but may not answer.
    pub paged: &'a [(String, DateTime<Utc>)],
    /// A resolved incident needs no containing and nobody woken.
    pub resolved: bool,
    pub now: DateTime<Utc>,
}

fn age(from: DateTime<Utc>, now: DateTime<Utc>) -> String {
    let minutes = (now - from).num_minutes().max(0);
    match minutes {
        0..=119 => format!("{minutes} min"),
        120..=2879 => format!("{} h", minutes / 60),
        _ => format!("{} days", minutes / 1440),
    }
}

fn base(kind: SuggestionKind, title: String, reason: String, risk: Risk, confidence: u8) -> Suggestion {
    Suggestion {
        kind,
        title,
        reason,
        risk,
        confidence,
        command: None,
        intervention: None,
        agent_id: None,
        tool: None,
        resource: None,
        alternative: None,
        warnings: vec![],
    }
}

pub fn suggest(input: &SuggestionInput) -> Vec<Suggestion> {
    let mut out = suggest_all(input);
    if input.resolved {
        out.retain(|s| s.kind == SuggestionKind::Investigate);
        label_alternatives(&mut out);
    }
    out
}

/// The person to tell about an affected service: its owner, or whoever the
/// ownership flags route to when the owner has left or cannot be reached
/// (the blast radius's own answer).
fn contact(affected: &crate::api::AffectedService) -> Option<String> {
    use crate::catalog::OwnershipFlag;
    let routed = affected.ownership.iter().find_map(|f| match f {
        OwnershipFlag::OrphanedOwner { route_to, .. } | OwnershipFlag::OwnerUnavailable { route_to, .. } => {
            Some(route_to.clone())
        }
        _ => None,
    });
    match routed {
        Some(route_to) => route_to.or(affected.on_call.clone()),
        None => affected.owner.clone().or(affected.on_call.clone()),
    }
}

/// Every suggestion the design's rules (9.1–9.3, 12.5) make, in the order of
/// those rules: long because it is that list, one rule after another.
fn suggest_all(input: &SuggestionInput) -> Vec<Suggestion> {
    let mut out = Vec::new();
    let top = input.analysis.candidates.iter().find(|c| c.verdict != Some(Verdict::Rejected) && c.confidence >= 40);
    let started_at = input.incident_events.iter().map(|e| e.occurred_at).min().unwrap_or(input.now);

    // Contain: the suspected agent is still acting.
    if let Some(agent) = top.and_then(|c| c.agent_id.as_ref())
        && input.still_active.contains(agent)
        && !input.paused_agents.contains(agent)
    {
        let mut s = base(
            SuggestionKind::Contain,
            format!("Pause agent {agent}"),
            "it is still making changes after the incident began".to_owned(),
            Risk::Low,
            top.map_or(0, |c| c.confidence),
        );
        s.intervention = Some(InterventionKind::PauseAgent);
        s.agent_id = Some(agent.clone());
        s.command = Some(format!("POST /api/v1/agents/{agent}/interventions {{\"kind\": \"pause_agent\"}}"));
        out.push(s);
    }

    // Contain: undo the suspected change.
    if let (Some(c), Some(resource)) = (top, top.and_then(|c| c.resource.clone())) {
        let candidate_event = input.history.iter().find(|e| e.event_id == c.event_id);
        match c.action_type.as_deref() {
            Some("deploy") => out.extend(rollback(input, c.confidence, &resource, c.occurred_at, candidate_event)),
            Some("config_change") => {
                let key = candidate_event.and_then(|e| e.metadata_str("config_key")).unwrap_or("the change");
                // Two changes at the same moment: which one caused it is not
                // guessed (seed 3.9).
                let tied = input
                    .analysis
                    .concurrent_modifications
                    .iter()
                    .find_map(|(a, b)| (*a == c.event_id).then_some(b).or_else(|| (*b == c.event_id).then_some(a)));
                let reason = match tied {
                    Some(other) => format!(
                        "changed the same resource within seconds of {other}: which one caused the errors is for a human to decide"
                    ),
                    None => format!(
                        "the config change {} before the first error is the leading cause",
                        age(c.occurred_at, started_at)
                    ),
                };
                let mut s = base(
                    SuggestionKind::Contain,
                    format!("Revert config {key} on {resource}"),
                    reason,
                    Risk::Low,
                    c.confidence,
                );
                s.intervention = Some(InterventionKind::TriggerRollback);
                s.resource = Some(resource.clone());
                s.command = candidate_event.and_then(|e| e.metadata_str("revert_command")).map(str::to_owned);
                out.push(s);
            }
            _ => {}
        }
    }

    // Contain: a tool that keeps causing incidents (never a critical one).
    if let Some(c) = top
        && let (Some(tool), Some(agent)) = (&c.tool, &c.agent_id)
    {
        let count = input.tool_incidents.iter().find(|(t, _)| t == tool).map_or(0, |(_, n)| *n);
        let disabled = input.disabled_tools.iter().any(|(a, t)| a == agent && t == tool);
        if count >= 2 && !disabled && !input.catalog.is_critical_tool(tool) {
            let mut s = base(
                SuggestionKind::Contain,
                format!("Disable tool {tool} for agent {agent}"),
                format!("{tool} appears in {count} incidents"),
                Risk::Medium,
                c.confidence.saturating_sub(10),
            );
            s.warnings.push(format!("{agent} will no longer be able to use {tool}"));
            s.intervention = Some(InterventionKind::DisableTool);
            s.agent_id = Some(agent.clone());
            s.tool = Some(tool.clone());
            s.command = Some(format!(
                "POST /api/v1/agents/{agent}/interventions {{\"kind\": \"disable_tool\", \"tool\": \"{tool}\", \"confirm\": true}}"
            ));
            out.push(s);
        }
    }

    // Investigate: a dependency several failing services share (seed 10.3).
    let failing: Vec<&str> = {
        let mut f: Vec<&str> =
            input.incident_events.iter().filter(|e| e.is_error()).filter_map(|e| e.resource.as_deref()).collect();
        f.sort();
        f.dedup();
        f
    };
    let mut shared: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for &r in &failing {
        for dep in input.catalog.get(r).map(|s| s.depends_on.as_slice()).unwrap_or_default() {
            shared.entry(dep.as_str()).or_default().push(r);
        }
    }
    if let Some((dep, users)) = shared.iter().filter(|(_, users)| users.len() >= 2).max_by_key(|(_, u)| u.len()) {
        let store = input.catalog.get(dep).is_some_and(|s| s.kind == ServiceKind::Datastore);
        let mut s = base(
            SuggestionKind::Investigate,
            format!("Investigate {dep}{}", if store { " (connections, locks, capacity)" } else { "" }),
            format!("{} failing services depend on it: {}", users.len(), users.join(", ")),
            Risk::Low,
            (40 + 10 * users.len() as u8).min(80),
        );
        s.resource = Some((*dep).to_owned());
        out.push(s);
    } else if let Some(named) = mentioned_resource(input, &failing) {
        let mut s = base(
            SuggestionKind::Investigate,
            format!("Check {named}"),
            format!("error messages mention {named}"),
            Risk::Low,
            50,
        );
        s.resource = Some(named);
        out.push(s);
    } else if input.analysis.undetermined
        && let Some(primary) = failing.first()
    {
        let mut s = base(
            SuggestionKind::Investigate,
            format!("Investigate recent changes to {primary}"),
            "no recorded action explains the errors: the cause is undetermined; look for untracked changes".to_owned(),
            Risk::Low,
            30,
        );
        s.resource = Some((*primary).to_owned());
        out.push(s);
    }

    // Coordinate: owners of likely-affected services who are not responding.
    for affected in &input.radius.likely {
        let Some(owner) = contact(affected) else { continue };
        if input.responders.iter().any(|r| owner.trim_start_matches('@') == r.trim_start_matches('@')) {
            continue;
        }
        let why = affected
            .because
            .first()
            .map(|b| match b {
                crate::api::AffectedBecause::DependsOn { service } => {
                    format!("{} depends on {service}", affected.service)
                }
                crate::api::AffectedBecause::Shares { datastore } => format!("{} shares {datastore}", affected.service),
                _ => format!("{} is likely affected", affected.service),
            })
            .unwrap_or_default();
        let team = affected.team.as_deref().map(|t| format!(" ({t})")).unwrap_or_default();
        let paged = input.paged.iter().filter(|(who, _)| *who == owner).map(|(_, at)| *at).min();
        let mut s = match paged {
            Some(at) => base(
                SuggestionKind::Coordinate,
                format!("Follow up with {owner}{team}"),
                match (input.now - at).num_minutes() {
                    ..=0 => format!("paged just now, no answer yet; {why}"),
                    _ => format!("paged {} ago, not responding; {why}", age(at, input.now)),
                },
                Risk::Low,
                60,
            ),
            None => base(
                SuggestionKind::Coordinate,
                format!("Notify {owner}{team}"),
                format!("not yet aware; {why}"),
                Risk::Low,
                70,
            ),
        };
        s.resource = Some(affected.service.clone());
        out.push(s);
    }

    label_alternatives(&mut out);
    out
}

fn rollback(
    input: &SuggestionInput,
    confidence: u8,
    resource: &str,
    deployed_at: DateTime<Utc>,
    candidate: Option<&Event>,
) -> Option<Suggestion> {
    let current = candidate.and_then(|e| e.metadata_str("version"));
    let deploys: Vec<&Event> = input
        .history
        .iter()
        .filter(|e| e.action_type.as_deref() == Some("deploy") && e.resource.as_deref() == Some(resource))
        .collect();
    // The latest earlier version with no incident while it was live (from its
    // deploy to the next one).
    let previous = deploys
        .iter()
        .filter(|e| {
            e.occurred_at < deployed_at && e.metadata_str("version").is_some() && e.metadata_str("version") != current
        })
        .filter(|e| {
            let replaced_at =
                deploys.iter().map(|d| d.occurred_at).filter(|t| *t > e.occurred_at).min().unwrap_or(deployed_at);
            !input.incident_starts.iter().any(|(r, t)| r == resource && *t >= e.occurred_at && *t < replaced_at)
        })
        .max_by_key(|e| e.occurred_at)?;
    let version = previous.metadata_str("version")?;
    let mut s = base(
        SuggestionKind::Contain,
        format!("Roll back {resource} to {version}"),
        format!("last version with no incidents, deployed {} ago", age(previous.occurred_at, input.now)),
        Risk::Low,
        confidence,
    );
    let stores: Vec<&str> =
        input.catalog.get(resource).map(|s| s.depends_on.iter().map(String::as_str).collect()).unwrap_or_default();
    let migration = input.history.iter().find(|e| {
        MIGRATIONS.contains(&e.action_type.as_deref().unwrap_or(""))
            && e.occurred_at > previous.occurred_at
            && e.touched().any(|r| r == resource || stores.contains(&r))
    });
    if let Some(m) = migration {
        s.risk = Risk::Medium;
        s.warnings.push(format!(
            "a migration ran on {} since {version}: rollback may not revert the schema",
            m.resource.as_deref().unwrap_or(resource)
        ));
    }
    s.intervention = Some(InterventionKind::TriggerRollback);
    s.resource = Some(resource.to_owned());
    s.command = Some(
        candidate
            .and_then(|e| e.metadata_str("rollback_command"))
            .map(str::to_owned)
            .unwrap_or_else(|| format!("kubectl rollout undo deployment/{resource}")),
    );
    Some(s)
}

fn mentioned_resource(input: &SuggestionInput, failing: &[&str]) -> Option<String> {
    let messages: Vec<String> =
        input.incident_events.iter().filter_map(|e| e.error_message.as_deref()).map(str::to_lowercase).collect();
    input
        .catalog
        .services()
        .map(|s| s.name.as_str())
        .filter(|n| !failing.contains(n))
        .find(|n| messages.iter().any(|m| m.contains(&n.to_lowercase())))
        .map(str::to_owned)
}

/// Fixes that address different hypotheses are alternatives: label them A,
/// B, … lowest risk first, then highest confidence (seed 12.6).
fn label_alternatives(suggestions: &mut [Suggestion]) {
    let fixes: Vec<usize> = suggestions
        .iter()
        .enumerate()
        .filter(|(_, s)| {
            matches!(s.intervention, Some(InterventionKind::TriggerRollback) | Some(InterventionKind::DisableTool))
                || (s.kind == SuggestionKind::Investigate && s.resource.is_some())
        })
        .map(|(i, _)| i)
        .collect();
    let hypotheses: std::collections::BTreeSet<Option<&String>> =
        fixes.iter().map(|&i| suggestions[i].resource.as_ref()).collect();
    if fixes.len() < 2 || hypotheses.len() < 2 {
        return;
    }
    let mut order = fixes.clone();
    order.sort_by_key(|&i| (suggestions[i].risk, std::cmp::Reverse(suggestions[i].confidence)));
    for (n, i) in order.into_iter().enumerate() {
        suggestions[i].alternative = Some(((b'A' + n as u8) as char).to_string());
    }
}

/// The best of each kind, topped up with the next best; always in the order
/// contain, investigate, coordinate.
pub fn top3(suggestions: &[Suggestion]) -> Vec<Suggestion> {
    let mut picked: Vec<Suggestion> = Vec::new();
    for kind in [SuggestionKind::Contain, SuggestionKind::Investigate, SuggestionKind::Coordinate] {
        let best =
            suggestions.iter().filter(|s| s.kind == kind).max_by_key(|s| (s.confidence, std::cmp::Reverse(s.risk)));
        if let Some(s) = best {
            picked.push(s.clone());
        }
    }
    for s in suggestions {
        if picked.len() >= 3 {
            break;
        }
        if !picked.contains(s) {
            picked.push(s.clone());
        }
    }
    picked.truncate(3);
    picked.sort_by_key(|s| s.kind);
    picked
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::Outcome;
    use crate::incident::blast_radius::tests::seed_catalog;
    use crate::incident::grouping::tests::{at, event};
    use crate::incident::{AnalysisInput, analyze, blast_radius};

    fn deploy(id: &str, minutes: i64, version: &str) -> Event {
        let mut e = event(id, minutes, "payments-service", Outcome::Ok);
        e.agent_id = Some("deployer".into());
        e.action_type = Some("deploy".into());
        e.tool = Some("helm".into());
        e.metadata.insert("version".into(), version.into());
        e
    }

    struct Case {
        incident: Vec<Event>,
        history: Vec<Event>,
        starts: Vec<(String, DateTime<Utc>)>,
        active: Vec<String>,
        tools: Vec<(String, i64)>,
    }

    fn run(case: &Case) -> Vec<Suggestion> {
        run_as(case, false)
    }

    fn run_as(case: &Case, resolved: bool) -> Vec<Suggestion> {
        run_paged(case, resolved, &[])
    }

    fn run_paged(case: &Case, resolved: bool, paged: &[(String, DateTime<Utc>)]) -> Vec<Suggestion> {
        let catalog = seed_catalog();
        let analysis = analyze(&AnalysisInput {
            incident_events: &case.incident,
            actions: &case.history,
            catalog: &catalog,
            verdicts: &[],
            past_causes: &[],
            past_rejections: &[],
        });
        let failed: Vec<String> = case.incident.iter().filter_map(|e| e.resource.clone()).collect();
        let radius = blast_radius(&catalog, &[], &failed);
        suggest(&SuggestionInput {
            analysis: &analysis,
            radius: &radius,
            catalog: &catalog,
            incident_events: &case.incident,
            history: &case.history,
            incident_starts: &case.starts,
            still_active: &case.active,
            paused_agents: &[],
            disabled_tools: &[],
            tool_incidents: &case.tools,
            responders: &["alice".to_owned()],
            paged,
            resolved,
            now: at(10),
        })
    }

    /// A failing payments-service three minutes after a deploy by an agent
    /// that is still active.
    fn bad_deploy() -> Case {
        Case {
            incident: vec![failure(0, "payments-service")],
            history: vec![deploy("v1", -5000, "v2.2.0"), deploy("v2", -3000, "v2.3.0"), deploy("v3", -3, "v2.3.1")],
            starts: vec![],
            active: vec!["deployer".into()],
            tools: vec![],
        }
    }

    #[test]
    fn a_resolved_incident_asks_nobody_to_contain_or_notify() {
        let case = bad_deploy();
        let open = run_as(&case, false);
        assert!(open.iter().any(|s| s.kind == SuggestionKind::Contain), "the control: {open:?}");
        assert!(open.iter().any(|s| s.kind == SuggestionKind::Coordinate), "the control: {open:?}");
        let resolved = run_as(&case, true);
        assert!(resolved.iter().all(|s| s.kind == SuggestionKind::Investigate), "{resolved:?}");
    }

    /// Someone paging already reached is not "not yet aware": the advice is
    /// to follow up, saying when they were paged.
    #[test]
    fn an_owner_already_paged_is_followed_up_not_notified() {
        let case = bad_deploy();
        let notify: Vec<Suggestion> = run(&case).into_iter().filter(|s| s.kind == SuggestionKind::Coordinate).collect();
        let owner = notify[0].title.trim_start_matches("Notify ").split(' ').next().unwrap().to_owned();
        let paged = run_paged(&case, false, &[(owner.clone(), at(4))]);
        let follow = paged.iter().find(|s| s.title.contains(&owner)).expect("still suggested");
        assert!(follow.title.starts_with("Follow up with"), "{follow:?}");
        assert!(follow.reason.starts_with("paged 6 min ago, not responding"), "{follow:?}");
    }

    #[test]
    fn a_departed_owner_is_never_the_one_to_notify() {
        use crate::catalog::OwnershipFlag;
        let affected = |flags: Vec<OwnershipFlag>| crate::api::AffectedService {
            service: "billing-service".into(),
            in_catalog: true,
            owner: Some("@bea".into()),
            team: None,
            on_call: Some("@billing-oncall".into()),
            ownership: flags,
            because: vec![],
        };
        assert_eq!(contact(&affected(vec![])).as_deref(), Some("@bea"));
        let departed = OwnershipFlag::OrphanedOwner { owner: "@bea".into(), route_to: Some("@bill-backup".into()) };
        assert_eq!(contact(&affected(vec![departed])).as_deref(), Some("@bill-backup"));
        let away = OwnershipFlag::OwnerUnavailable { owner: "@bea".into(), route_to: None };
        assert_eq!(contact(&affected(vec![away])).as_deref(), Some("@billing-oncall"));
    }

    fn failure(minutes: i64, resource: &str) -> Event {
        let mut e = event("err", minutes, resource, Outcome::Error);
        e.error_message = Some("timeout".into());
        e
    }

    #[test]
    fn a_bad_deploy_suggests_pausing_rolling_back_and_notifying_in_that_order() {
        let case = bad_deploy();
        let all = run(&case);
        let rollback = all.iter().find(|s| s.intervention == Some(InterventionKind::TriggerRollback)).unwrap();
        assert_eq!(rollback.title, "Roll back payments-service to v2.3.0");
        assert_eq!(rollback.risk, Risk::Low);
        assert_eq!(rollback.command.as_deref(), Some("kubectl rollout undo deployment/payments-service"));
        let top = top3(&all);
        let kinds: Vec<_> = top.iter().map(|s| (s.kind, s.title.as_str())).collect();
        assert_eq!(kinds[0], (SuggestionKind::Contain, "Roll back payments-service to v2.3.0"));
        assert!(all.iter().any(|s| s.title == "Pause agent deployer"));
        assert_eq!(kinds.last().unwrap().0, SuggestionKind::Coordinate);
        assert!(top.iter().all(|s| !s.reason.is_empty() && s.confidence > 0));
    }

    #[test]
    fn rollback_skips_versions_with_incidents_and_warns_about_migrations() {
        let mut migration = event("m", -100, "payments-db", Outcome::Ok);
        migration.action_type = Some("migration".into());
        let case = Case {
            incident: vec![failure(0, "payments-service")],
            history: vec![
                deploy("v1", -5000, "v2.2.0"),
                deploy("v2", -3000, "v2.3.0"),
                migration,
                deploy("v3", -3, "v2.3.1"),
            ],
            starts: vec![("payments-service".into(), at(-2000))],
            active: vec![],
            tools: vec![],
        };
        let all = run(&case);
        let rollback = all.iter().find(|s| s.intervention == Some(InterventionKind::TriggerRollback)).unwrap();
        assert_eq!(rollback.title, "Roll back payments-service to v2.2.0", "v2.3.0 was followed by an incident");
        assert_eq!(rollback.risk, Risk::Medium);
        assert!(rollback.warnings[0].contains("migration ran on payments-db"), "{:?}", rollback.warnings);
    }

    /// Seed 10.3 and 12.6: connection exhaustion shows in three services; the
    /// shared data store is investigated, offered as an alternative to rollback.
    #[test]
    fn a_shared_dependency_is_investigated_as_an_alternative() {
        let mut errors = vec![failure(0, "payments-service"), failure(1, "billing-service")];
        errors[1].event_id = "err2".into();
        let case = Case {
            incident: errors,
            history: vec![deploy("v1", -5000, "v2.2.0"), deploy("v3", -3, "v2.3.1")],
            starts: vec![],
            active: vec![],
            tools: vec![("helm".into(), 3)],
        };
        let all = run(&case);
        let investigate = all.iter().find(|s| s.kind == SuggestionKind::Investigate).unwrap();
        assert!(investigate.title.starts_with("Investigate payments-db"), "{}", investigate.title);
        assert!(investigate.reason.contains("billing-service, payments-service"));
        let labels: Vec<_> = all.iter().filter_map(|s| s.alternative.clone().map(|a| (a, s.title.clone()))).collect();
        assert!(labels.len() >= 2, "{labels:?}");
        assert_eq!(
            labels.iter().find(|(a, _)| a == "A").unwrap().1,
            "Roll back payments-service to v2.2.0",
            "lowest risk first"
        );
        let disable = all.iter().find(|s| s.intervention == Some(InterventionKind::DisableTool)).unwrap();
        assert_eq!(disable.title, "Disable tool helm for agent deployer");
    }

    #[test]
    fn an_undetermined_cause_points_at_untracked_changes() {
        let case = Case {
            incident: vec![failure(0, "notifications")],
            history: vec![],
            starts: vec![],
            active: vec![],
            tools: vec![],
        };
        let all = run(&case);
        assert_eq!(all[0].title, "Investigate recent changes to notifications");
        assert!(all[0].reason.contains("undetermined"));
    }
}
