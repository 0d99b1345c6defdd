//! Root-cause candidates (seed 3.4–3.9, 11.1–11.2): actions in the correlation
//! window on the failing resources or their dependencies, each with a
//! confidence, its band and the evidence behind it.
//!
//! Scoring, out of 100:
//! - time before the first error: ≤ 5 min 45, ≤ 2 h 40, ≤ 6 h 30, else 20;
//! - touched a failing resource +25, or one of its dependencies +15;
//! - carries a failing event's trace id +25;
//! - an error message names its resource, config key, version or tool +20;
//! - humans confirmed the same kind of action on the same resource as the
//!   cause of another incident +10; rejected it twice or more −10.
//!
//! Time and a dependency hop alone are one signal: capped at 69 (Suspected).
//! Machines never claim more than 90 (Likely): only a human confirms (100).
//! Actions that modified one resource within 5 s of each other are both held
//! at Suspected: the system does not guess which one it was.

use crate::api::{Band, Candidate, CausalAnalysis, Contribution, ContributionRole, Event, Evidence, Verdict};
use crate::catalog::Catalog;
use chrono::{DateTime, Duration, Utc};
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// How far back actions are considered (seed 3.6).
pub const CORRELATION_WINDOW: Duration = Duration::hours(24);
const CONCURRENCY: Duration = Duration::seconds(5);
const MACHINE_CEILING: u8 = 90;
const SINGLE_SIGNAL_CEILING: u8 = 69;
/// Candidates listed, best first (all of them are scored).
pub const MAX_CANDIDATES: usize = 50;

pub struct AnalysisInput<'a> {
    /// The incident's own events (its errors and recoveries).
    pub incident_events: &'a [Event],
    /// Other events that may be related: the correlation window's actions.
    pub actions: &'a [Event],
    pub catalog: &'a Catalog,
    /// Human verdicts: event id, verdict, who.
    pub verdicts: &'a [(String, Verdict, String)],
    /// Causes humans confirmed in past incidents: incident, action type, resource.
    pub past_causes: &'a [(i64, String, String)],
    /// Causes humans rejected in past incidents: action type, resource, times.
    pub past_rejections: &'a [(String, String, u32)],
}

/// Rejections of the same kind of action on the same resource before a
/// candidate loses points: once may be bad luck, twice is a lesson.
pub const REJECTIONS_TO_LEARN: u32 = 2;
/// What a confirmation adds, and repeated rejections take away.
pub const LEARNED_POINTS: u8 = 10;

fn time_score(minutes_before: i64) -> u8 {
    match minutes_before {
        ..=5 => 45,
        6..=120 => 40,
        121..=360 => 30,
        _ => 20,
    }
}

/// One initiating action, scored: the signals found, from which its
/// evidence is written only if it is listed.
struct Scored<'e> {
    root: &'e Event,
    /// When it happened (`root.occurred_at`, at hand: ranking compares it
    /// across thousands).
    at: DateTime<Utc>,
    /// What it and the calls nested under it touched, sorted.
    touched: &'e [String],
    signals: &'e Signals,
    /// Actions that modified the same resource within 5 s of it.
    concurrent_with: Vec<&'e str>,
}

/// What was found for one initiating action.
#[derive(Debug, Clone)]
struct Signals {
    minutes_before: i64,
    same: Option<String>,
    hop: Option<(String, String)>,
    trace: Option<String>,
    named: Option<String>,
    past: Option<i64>,
    rejected: Option<u32>,
    score: u8,
}

impl Scored<'_> {
    fn evidence(&self) -> Vec<Evidence> {
        let s = self.signals;
        let mut evidence = vec![Evidence::TimeProximity { minutes_before: s.minutes_before }];
        if let Some(resource) = &s.same {
            evidence.push(Evidence::SameResource { resource: resource.clone() });
        } else if let Some((resource, of)) = &s.hop {
            evidence.push(Evidence::DependencyHop { resource: resource.clone(), dependency_of: of.clone() });
        }
        if let Some(trace_id) = &s.trace {
            evidence.push(Evidence::TraceMatch { trace_id: trace_id.clone() });
        }
        if let Some(named) = &s.named {
            evidence.push(Evidence::ErrorMentions { text: named.clone() });
        }
        if let Some(incident_id) = s.past {
            evidence.push(Evidence::PastPattern { incident_id });
        }
        if let Some(times) = s.rejected {
            evidence.push(Evidence::PastRejections { times });
        }
        if s.minutes_before > 30 {
            evidence.push(Evidence::DelayedEffect { minutes: s.minutes_before });
        }
        evidence.extend(
            self.concurrent_with
                .iter()
                .map(|other| Evidence::ConcurrentModification { other_event_id: (*other).to_owned() }),
        );
        evidence
    }
}

/// An action's final confidence, its score before a verdict, the verdict
/// and who gave it.
type Ranked<'a, 'e> = (u8, u8, Option<(Verdict, &'a str)>, &'a Scored<'e>);

/// A map keyed by short strings, hashed fast: scoring looks up every
/// action of a busy window.
type FastMap<K, V> = HashMap<K, V, foldhash::fast::RandomState>;
type FastSet<K> = std::collections::HashSet<K, foldhash::fast::RandomState>;

/// What scoring keeps of one incident's actions between its changes. In a
/// war room the incident changes every few seconds and its window holds
/// thousands of actions, of which a change adds a few: the actions already
/// folded into their initiating ones stay folded, and the signals of an
/// initiating action are found again only when it gained a nested call or
/// what they depend on changed. The result is the one [`analyze`] gives
/// from nothing (`tests/suite/war_room.rs` compares them).
#[derive(Default)]
pub struct ScoringMemo {
    /// The list of actions this was computed from, which is only ever
    /// appended to (0: none), and how many of them were folded.
    list: u64,
    seen: usize,
    fold: Option<FoldKey>,
    context: Option<Context>,
    /// The error messages, lowercase, sorted, and which names they mention.
    messages: Vec<String>,
    mentioned: FastMap<String, bool>,
    /// Folded actions by id, and per action the entry of its root in `roots`.
    by_id: FastMap<String, usize>,
    entry: Vec<Option<usize>>,
    /// Parents named by folded actions but not among them.
    missing_parents: FastSet<String>,
    /// Actions after the last error: folded once the last error reaches them.
    later: Vec<usize>,
    roots: Vec<Root>,
    /// `roots` in time order (then by id): kept, so that sorting again
    /// after a change only places the new ones.
    order: Vec<usize>,
    /// Whether the last analysis folded every action again: for tests.
    pub refolded: bool,
}

/// What folding depends on besides the actions.
#[derive(PartialEq)]
struct FoldKey {
    first: DateTime<Utc>,
}

/// What every action's signals depend on besides the action, the error
/// messages and the verdicts.
#[derive(PartialEq)]
struct Context {
    first: DateTime<Utc>,
    failed: BTreeSet<String>,
    dependency_of: BTreeMap<String, String>,
    traces: BTreeSet<String>,
    past_causes: Vec<(i64, String, String)>,
    past_rejections: Vec<(String, String, u32)>,
}

/// An initiating action, what it and the calls under it touched, and its
/// signals (None: to be found; Some(None): not on an affected resource).
struct Root {
    action: usize,
    at: DateTime<Utc>,
    /// An approval: context for the chain, not a cause.
    approval: bool,
    touched: Vec<String>,
    signals: Option<Option<Signals>>,
}

impl ScoringMemo {
    fn clear(&mut self) {
        *self = ScoringMemo { refolded: true, ..ScoringMemo::default() };
    }
}

pub fn analyze(input: &AnalysisInput) -> CausalAnalysis {
    analyze_kept(input, &mut ScoringMemo::default(), 0)
}

/// [`analyze`], reusing what `memo` holds from the last analysis of the
/// same incident. `list` names `input.actions`: a list that is only ever
/// appended to, and 0 for one that is not kept.
pub fn analyze_kept(input: &AnalysisInput, memo: &mut ScoringMemo, list: u64) -> CausalAnalysis {
    let errors: Vec<&Event> = input.incident_events.iter().filter(|e| e.is_error()).collect();
    let (Some(first), Some(last)) =
        (errors.iter().map(|e| e.occurred_at).min(), errors.iter().map(|e| e.occurred_at).max())
    else {
        return CausalAnalysis { undetermined: true, ..CausalAnalysis::default() };
    };
    let own: BTreeSet<&str> = input.incident_events.iter().map(|e| e.event_id.as_str()).collect();
    memo.refolded = false;
    fold(input.actions, &own, first, last, memo, list);

    // What every action's signals depend on.
    let failed: BTreeSet<String> = errors.iter().filter_map(|e| e.resource.clone()).collect();
    let mut dependency_of = BTreeMap::new();
    for r in &failed {
        for dep in input.catalog.get(r).map(|s| s.depends_on.as_slice()).unwrap_or_default() {
            dependency_of.entry(dep.clone()).or_insert_with(|| r.clone());
        }
    }
    let context = Context {
        first,
        failed,
        dependency_of,
        traces: errors.iter().filter_map(|e| e.trace_id.clone()).collect(),
        past_causes: input.past_causes.to_vec(),
        past_rejections: input.past_rejections.to_vec(),
    };
    // A busy incident repeats one message many times: each is searched once.
    let mut messages: Vec<String> =
        errors.iter().filter_map(|e| e.error_message.as_deref()).map(str::to_lowercase).collect();
    messages.sort_unstable();
    messages.dedup();
    let mut all_again = memo.context.as_ref() != Some(&context);
    if messages != memo.messages {
        let added: Vec<&String> = messages.iter().filter(|m| memo.messages.binary_search(m).is_err()).collect();
        if added.len() + memo.messages.len() != messages.len() {
            // One went: what it mentioned is looked for again.
            memo.mentioned.clear();
            all_again = true;
        } else {
            // Only new ones: a name they mention changes what names it.
            for (name, found) in memo.mentioned.iter_mut().filter(|(_, found)| !**found) {
                if added.iter().any(|m| m.contains(name.to_lowercase().as_str())) {
                    *found = true;
                    all_again = true;
                }
            }
        }
        memo.messages = messages;
    }
    memo.context = Some(context);
    let ScoringMemo { roots, mentioned, messages, context, order, .. } = memo;
    let context = context.as_ref().expect("set above");
    for root in roots.iter_mut().filter(|r| (all_again || r.signals.is_none()) && !r.approval) {
        root.touched.sort_unstable();
        root.touched.dedup();
        root.signals = Some(signals(&input.actions[root.action], &root.touched, context, messages, mentioned));
    }

    // Stable, and the order is kept: what was sorted before is one run.
    order.sort_by(|a, b| {
        let (a, b) = (&roots[*a], &roots[*b]);
        a.at.cmp(&b.at).then_with(|| input.actions[a.action].event_id.cmp(&input.actions[b.action].event_id))
    });
    let mut approvals = Vec::new();
    let mut scored: Vec<Scored> = Vec::new();
    for root in order.iter().map(|i| &roots[*i]) {
        let action = &input.actions[root.action];
        if root.approval {
            approvals.push(action);
            continue;
        }
        let Some(Some(signals)) = &root.signals else { continue };
        scored.push(Scored { root: action, at: root.at, touched: &root.touched, signals, concurrent_with: Vec::new() });
    }
    rank(input, &errors, scored, &approvals)
}

/// Folds the actions not folded yet into the actor that initiated them
/// (seed 3.5), or all of them again when what was folded no longer holds.
fn fold(
    actions: &[Event],
    own: &BTreeSet<&str>,
    first: DateTime<Utc>,
    last: DateTime<Utc>,
    memo: &mut ScoringMemo,
    list: u64,
) {
    let key = FoldKey { first };
    let holds = list != 0
        && memo.list == list
        && memo.seen <= actions.len()
        && memo.fold.as_ref() == Some(&key)
        // The incident's own events are neither causes nor roots: one
        // folded before it was known as the incident's is folded again.
        && !own.iter().any(|id| memo.by_id.contains_key(*id))
        // A parent that arrived after its calls: they fold under it.
        && !actions[memo.seen..].iter().any(|a| memo.missing_parents.contains(&a.event_id));
    if !holds {
        memo.clear();
    }
    memo.list = list;
    memo.fold = Some(key);
    let from = memo.seen;
    memo.seen = actions.len();
    memo.entry.resize(actions.len(), None);
    let mut new: Vec<usize> = Vec::new();
    for (i, action) in actions.iter().enumerate().skip(from) {
        if own.contains(action.event_id.as_str()) {
            continue;
        }
        memo.by_id.insert(action.event_id.clone(), i);
        new.push(i);
    }
    for &i in &new {
        if let Some(parent) = actions[i].parent_event_id.as_deref()
            && !memo.by_id.contains_key(parent)
        {
            memo.missing_parents.insert(parent.to_owned());
        }
    }
    // Those after the last error before, which it may reach now.
    let later = std::mem::take(&mut memo.later);
    for i in later.into_iter().chain(new) {
        let action = &actions[i];
        // A monitor's alert is a symptom, never a cause.
        if action.is_error() || action.is_alert() || action.occurred_at < first - CORRELATION_WINDOW {
            continue;
        }
        if action.occurred_at > last {
            memo.later.push(i);
            continue;
        }
        let root = root_of(actions, &memo.by_id, i);
        let entry = match memo.entry[root] {
            Some(entry) => {
                // It gained a call: its signals are found again.
                memo.roots[entry].signals = None;
                entry
            }
            None => {
                memo.roots.push(Root {
                    action: root,
                    at: actions[root].occurred_at,
                    approval: actions[root].action_type.as_deref() == Some("approval"),
                    touched: actions[root].touched().map(str::to_owned).collect(),
                    signals: None,
                });
                memo.entry[root] = Some(memo.roots.len() - 1);
                memo.order.push(memo.roots.len() - 1);
                memo.roots.len() - 1
            }
        };
        if root != i {
            memo.roots[entry].touched.extend(action.touched().map(str::to_owned));
        }
    }
}

/// The action a nested call was made from, up to the initiating one (seed 3.5).
fn root_of(actions: &[Event], by_id: &FastMap<String, usize>, mut current: usize) -> usize {
    let mut hops = 0;
    while let Some(&parent) = actions[current].parent_event_id.as_deref().and_then(|p| by_id.get(p)) {
        current = parent;
        hops += 1;
        if hops > 64 {
            break; // a cycle in client-made ids; stop rather than loop
        }
    }
    current
}

/// One initiating action's signals; None: it is not on an affected
/// resource, nor on a failing trace.
fn signals(
    root: &Event,
    touched: &[String],
    context: &Context,
    messages: &[String],
    mentioned: &mut FastMap<String, bool>,
) -> Option<Signals> {
    let minutes_before = (context.first - root.occurred_at).num_minutes().max(0);
    let same = touched.iter().find(|r| context.failed.contains(*r));
    let hop = touched.iter().find_map(|r| context.dependency_of.get(r).map(|of| (r.clone(), of.clone())));
    let trace = root.trace_id.as_ref().filter(|t| context.traces.contains(*t));
    if same.is_none() && hop.is_none() && trace.is_none() {
        return None; // not on an affected resource or its dependencies
    }
    let mut score = time_score(minutes_before);
    let mut corroborated = false;
    if same.is_some() {
        score += 25;
        corroborated = true;
    } else if hop.is_some() {
        score += 15;
    }
    if trace.is_some() {
        score += 25;
        corroborated = true;
    }
    // A busy window repeats names (versions, tools): each is looked for once.
    let mut names = [root.metadata_str("config_key"), root.metadata_str("version"), root.tool.as_deref()]
        .into_iter()
        .flatten()
        .chain(touched.iter().map(String::as_str).filter(|r| !context.failed.contains(*r)))
        .filter(|n| n.len() >= 3);
    let named = names.find(|n| match mentioned.get(*n) {
        Some(found) => *found,
        None => {
            let lower = n.to_lowercase();
            let found = messages.iter().any(|m| m.contains(&lower));
            mentioned.insert((*n).to_owned(), found);
            found
        }
    });
    if named.is_some() {
        score += 20;
        corroborated = true;
    }
    let applies = |action_type: &str, resource: &str| {
        root.action_type.as_deref() == Some(action_type) && touched.iter().any(|t| t == resource)
    };
    let past = context.past_causes.iter().find(|(_, a, r)| applies(a, r)).map(|(incident_id, _, _)| *incident_id);
    if past.is_some() {
        score += LEARNED_POINTS;
        corroborated = true;
    }
    let rejected = context
        .past_rejections
        .iter()
        .filter(|(a, r, _)| applies(a, r))
        .map(|(_, _, times)| *times)
        .max()
        .filter(|times| *times >= REJECTIONS_TO_LEARN);
    let penalty = rejected.map_or(0, |_| LEARNED_POINTS);
    let ceiling = if corroborated { MACHINE_CEILING } else { SINGLE_SIGNAL_CEILING };
    Some(Signals {
        minutes_before,
        same: same.cloned(),
        hop,
        trace: trace.cloned(),
        named: named.map(str::to_owned),
        past,
        rejected,
        score: score.min(ceiling).saturating_sub(penalty),
    })
}

/// The scored actions, in time order then by id, ranked: concurrent
/// modifications held at suspected, verdicts applied, the best listed as
/// candidates with their evidence.
fn rank(input: &AnalysisInput, errors: &[&Event], mut scored: Vec<Scored>, approvals: &[&Event]) -> CausalAnalysis {
    // Concurrent modifications: both suspected, neither preferred. A sweep
    // in time order (then by id: the same whatever order actions came in)
    // compares only actions within 5 s of each other.
    let mut concurrent: Vec<(String, String)> = Vec::new();
    for i in 0..scored.len() {
        for j in i + 1..scored.len() {
            if scored[j].at - scored[i].at > CONCURRENCY {
                break;
            }
            let overlap = scored[i].touched.iter().any(|r| scored[j].touched.contains(r));
            if overlap {
                let (a, b) = (scored[i].root.event_id.as_str(), scored[j].root.event_id.as_str());
                scored[i].concurrent_with.push(b);
                scored[j].concurrent_with.push(a);
                concurrent.push((a.to_owned(), b.to_owned()));
            }
        }
    }

    let verdicts: FastMap<&str, (Verdict, &str)> =
        input.verdicts.iter().map(|(id, v, by)| (id.as_str(), (*v, by.as_str()))).collect();
    // Each action's final confidence, and its verdict: every one is ranked,
    // only the listed ones become candidates.
    let mut ranked: Vec<Ranked> = scored
        .iter()
        .map(|s| {
            let mut confidence = s.signals.score;
            if !s.concurrent_with.is_empty() {
                confidence = confidence.clamp(40, SINGLE_SIGNAL_CEILING);
            }
            let scored = confidence;
            let verdict = if verdicts.is_empty() { None } else { verdicts.get(s.root.event_id.as_str()).copied() };
            match verdict {
                Some((Verdict::Confirmed, _)) => confidence = 100,
                Some((Verdict::Rejected, _)) => confidence = 0,
                _ => {}
            }
            (confidence, scored, verdict, s)
        })
        .collect();
    let rejected = |v: &Option<(Verdict, &str)>| matches!(v, Some((Verdict::Rejected, _)));
    let order = |(ca, _, va, a): &Ranked, (cb, _, vb, b): &Ranked| {
        rejected(va)
            .cmp(&rejected(vb))
            .then(cb.cmp(ca))
            .then(b.at.cmp(&a.at))
            .then_with(|| a.root.event_id.cmp(&b.root.event_id))
    };
    let undetermined = !ranked.iter().any(|(confidence, _, v, _)| !rejected(v) && *confidence >= 40);
    let considered = ranked.len();
    // A responder reads the top of the list: keep the best, and every one a
    // human has judged. The best are found without sorting them all.
    if ranked.len() > MAX_CANDIDATES {
        ranked.select_nth_unstable_by(MAX_CANDIDATES - 1, order);
    }
    let rest = ranked.split_off(ranked.len().min(MAX_CANDIDATES));
    ranked.extend(rest.into_iter().filter(|(_, _, verdict, _)| verdict.is_some()));
    ranked.sort_unstable_by(order);
    let candidates: Vec<Candidate> = ranked
        .into_iter()
        .map(|(confidence, scored, verdict, s)| Candidate {
            event_id: s.root.event_id.clone(),
            agent_id: s.root.agent_id.clone(),
            actor_type: s.root.actor_type,
            actor_id: s.root.actor_id.clone(),
            action_type: s.root.action_type.clone(),
            tool: s.root.tool.clone(),
            resource: s.root.resource.clone(),
            run_id: s.root.run_id.clone(),
            occurred_at: s.root.occurred_at,
            confidence,
            band: Band::of(confidence),
            scored,
            evidence: s.evidence(),
            verdict: verdict.map(|v| v.0),
            verdict_by: verdict.map(|v| v.1.to_owned()),
            dispute: None,
            verdict_while_disputed: false,
        })
        .collect();
    let listed: BTreeSet<&str> = candidates.iter().map(|c| c.event_id.as_str()).collect();
    concurrent.retain(|(a, b)| listed.contains(a.as_str()) && listed.contains(b.as_str()));
    let contributing = contributions(errors, &candidates, approvals);
    CausalAnalysis { candidates, considered, undetermined, contributing, concurrent_modifications: concurrent }
}

/// The multi-actor chain (seed 3.4): the failing action is the direct cause
/// (a monitor's alert is no action: it causes nothing), candidates are
/// likely or suspected by their band, approvals are context.
fn contributions(errors: &[&Event], candidates: &[Candidate], approvals: &[&Event]) -> Vec<Contribution> {
    let mut chain = Vec::new();
    if let Some(direct) = errors.iter().filter(|e| !e.is_alert()).min_by_key(|e| e.occurred_at) {
        chain.push(Contribution {
            event_id: direct.event_id.clone(),
            role: ContributionRole::Confirmed,
            agent_id: direct.agent_id.clone(),
            actor_type: direct.actor_type,
            actor_id: direct.actor_id.clone(),
            action_type: direct.action_type.clone(),
            resource: direct.resource.clone(),
            occurred_at: direct.occurred_at,
            note: format!(
                "direct cause: {} on {}",
                direct.error_code.as_deref().unwrap_or("error"),
                direct.resource.as_deref().unwrap_or("an unknown resource")
            ),
        });
    }
    for c in candidates.iter().filter(|c| c.verdict != Some(Verdict::Rejected)) {
        let role = match (c.verdict, c.band) {
            (Some(Verdict::Confirmed), _) => ContributionRole::Confirmed,
            (_, Band::Likely) => ContributionRole::Likely,
            (_, Band::Suspected) => ContributionRole::Suspected,
            _ => continue,
        };
        chain.push(Contribution {
            event_id: c.event_id.clone(),
            role,
            agent_id: c.agent_id.clone(),
            actor_type: c.actor_type,
            actor_id: c.actor_id.clone(),
            action_type: c.action_type.clone(),
            resource: c.resource.clone(),
            occurred_at: c.occurred_at,
            note: format!("{} {}%", c.band, c.confidence),
        });
    }
    for a in approvals {
        chain.push(Contribution {
            event_id: a.event_id.clone(),
            role: ContributionRole::Context,
            agent_id: a.agent_id.clone(),
            actor_type: a.actor_type,
            actor_id: a.actor_id.clone(),
            action_type: a.action_type.clone(),
            resource: a.resource.clone(),
            occurred_at: a.occurred_at,
            note: "an approval enabled the action; it is context, not a cause".to_owned(),
        });
    }
    chain.sort_by(|a, b| a.occurred_at.cmp(&b.occurred_at).then(a.event_id.cmp(&b.event_id)));
    chain
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::Outcome;
    use crate::attribution::ActorType;
    use crate::incident::blast_radius::tests::seed_catalog;
    use crate::incident::grouping::tests::event;

    fn action(id: &str, minutes: i64, agent: &str, action_type: &str, resource: &str) -> Event {
        let mut e = event(id, minutes, resource, Outcome::Ok);
        e.agent_id = Some(agent.into());
        e.action_type = Some(action_type.into());
        e
    }

    fn run(incident: &[Event], actions: &[Event], verdicts: &[(String, Verdict, String)]) -> CausalAnalysis {
        let catalog = seed_catalog();
        analyze(&AnalysisInput {
            incident_events: incident,
            actions,
            catalog: &catalog,
            verdicts,
            past_causes: &[],
            past_rejections: &[],
        })
    }

    fn failure(minutes: i64, resource: &str, message: &str) -> Event {
        let mut e = event("err", minutes, resource, Outcome::Error);
        e.agent_id = Some("payments-runtime".into());
        e.error_message = Some(message.into());
        e
    }

    /// Seed 3.4: human approves → deployer deploys → config-gen updates
    /// config → the system fails processing it.
    #[test]
    fn the_deploy_chain_of_seed_3_4() {
        let mut approval = action("approve", -10, "change-portal", "approval", "payments-service");
        approval.actor_type = Some(ActorType::Human);
        approval.actor_id = Some("alice".into());
        let deploy = action("deploy", -9, "deployer", "deploy", "payments-service");
        let mut config = action("config", -5, "config-gen", "config_change", "payments-service");
        config.metadata.insert("config_key".into(), "pool_size".into());
        let incident = [failure(0, "payments-service", "invalid pool_size in generated config")];
        let a = run(&incident, &[approval, deploy, config], &[]);

        let ranked: Vec<_> = a.candidates.iter().map(|c| (c.event_id.as_str(), c.band, c.confidence)).collect();
        assert_eq!(ranked, [("config", Band::Likely, 90), ("deploy", Band::Suspected, 65)]);
        assert!(a.candidates[0].evidence.contains(&Evidence::ErrorMentions { text: "pool_size".into() }));
        let chain: Vec<_> = a.contributing.iter().map(|c| (c.event_id.as_str(), c.role)).collect();
        assert_eq!(
            chain,
            [
                ("approve", ContributionRole::Context),
                ("deploy", ContributionRole::Suspected),
                ("config", ContributionRole::Likely),
                ("err", ContributionRole::Confirmed),
            ]
        );
        assert!(!a.undetermined);
    }

    /// Seed 3.7: time (and a dependency) alone is suspected at most.
    #[test]
    fn time_alone_never_rises_above_suspected() {
        let incident = [failure(0, "user-service", "timeout")];
        for minutes in [-1, -30, -120, -600] {
            let deploy = action("d", minutes, "deployer", "deploy", "payments-service");
            let a = run(&incident, &[deploy], &[]);
            let c = &a.candidates[0];
            assert!(c.confidence <= 69 && c.band != Band::Likely, "{minutes} min: {c:?}");
            assert!(c.evidence.contains(&Evidence::DependencyHop {
                resource: "payments-service".into(),
                dependency_of: "user-service".into()
            }));
        }
        let unrelated = action("u", -1, "deployer", "deploy", "notifications");
        assert!(run(&incident, &[unrelated], &[]).candidates.is_empty(), "unrelated resources are not candidates");
    }

    #[test]
    fn only_a_human_confirms_and_rejections_sink() {
        let incident = [failure(0, "payments-service", "boom")];
        let actions = [
            action("a", -3, "deployer", "deploy", "payments-service"),
            action("b", -60, "config-gen", "config_change", "payments-service"),
        ];
        let before = run(&incident, &actions, &[]);
        assert!(before.candidates.iter().all(|c| c.band != Band::Confirmed));
        let verdicts = [
            ("b".to_owned(), Verdict::Confirmed, "alice".to_owned()),
            ("a".to_owned(), Verdict::Rejected, "alice".to_owned()),
        ];
        let after = run(&incident, &actions, &verdicts);
        assert_eq!(after.candidates[0].event_id, "b");
        assert_eq!((after.candidates[0].band, after.candidates[0].confidence), (Band::Confirmed, 100));
        assert_eq!(after.candidates[0].verdict_by.as_deref(), Some("alice"));
        assert_eq!((after.candidates[1].event_id.as_str(), after.candidates[1].confidence), ("a", 0));
    }

    /// Seed 3.9: two agents write one resource within seconds — both suspected.
    #[test]
    fn concurrent_writes_are_both_suspected() {
        let incident = [failure(0, "user-db", "constraint violation on user-db")];
        let mut first = action("w1", -2, "sync-agent", "db_write", "user-db");
        let mut second = action("w2", -2, "cleanup-agent", "db_write", "user-db");
        first.occurred_at += Duration::seconds(1);
        second.occurred_at += Duration::seconds(4);
        let a = run(&incident, &[first, second], &[]);
        assert_eq!(a.concurrent_modifications.len(), 1);
        for c in &a.candidates {
            assert_eq!(c.band, Band::Suspected, "{c:?}");
            assert!(c.evidence.iter().any(|e| matches!(e, Evidence::ConcurrentModification { .. })));
        }
    }

    #[test]
    fn nested_calls_are_attributed_to_the_initiating_actor() {
        let incident = [failure(0, "payments-service", "pull failed")];
        let deploy = action("deploy", -4, "deployer", "deploy", "payments-service");
        let mut nested = action("k8s-apply", -4, "kubernetes", "tool_call", "registry");
        nested.parent_event_id = Some("deploy".into());
        let a = run(&incident, &[deploy, nested], &[]);
        assert_eq!(a.candidates.len(), 1);
        assert_eq!(
            (a.candidates[0].event_id.as_str(), a.candidates[0].agent_id.as_deref()),
            ("deploy", Some("deployer"))
        );
    }

    #[test]
    fn a_trace_match_corroborates_and_nothing_is_undetermined_only_when_weak() {
        let mut incident = failure(0, "api-gateway", "bad gateway");
        incident.trace_id = Some("t-9".into());
        let mut call = action("call", -1, "router-agent", "tool_call", "api-gateway");
        call.trace_id = Some("t-9".into());
        let a = run(&[incident.clone()], &[call], &[]);
        assert_eq!(a.candidates[0].confidence, 90);
        let weak = action("weak", -900, "deployer", "deploy", "user-service");
        let b = run(&[incident], &[weak], &[]);
        assert!(b.undetermined, "{:?}", b.candidates);
    }
}
