//! What became of suggestions (seed 2.2, 9.4): acceptance and time to
//! action by kind, and a suggestion's history across a pattern's incidents.

use crate::api::{
    ActedWith, InterventionKind, SuggestionHistory, SuggestionKind, SuggestionKindStats, SuggestionState,
    SuggestionStats,
};
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, BTreeSet};

/// A suggestion shown on an incident, and what became of it.
#[derive(Debug, Clone, PartialEq)]
pub struct SuggestionOutcome {
    pub incident_id: i64,
    pub kind: SuggestionKind,
    pub title: String,
    pub first_shown: DateTime<Utc>,
    pub state: SuggestionState,
    pub acted_kind: Option<InterventionKind>,
    pub acted_by: Option<String>,
    pub closed_at: Option<DateTime<Utc>>,
}

pub fn stats(outcomes: &[SuggestionOutcome], since: DateTime<Utc>) -> SuggestionStats {
    let mut kinds = Vec::new();
    for kind in [SuggestionKind::Contain, SuggestionKind::Investigate, SuggestionKind::Coordinate] {
        let mine: Vec<&SuggestionOutcome> = outcomes.iter().filter(|o| o.kind == kind).collect();
        let count = |s: SuggestionState| mine.iter().filter(|o| o.state == s).count() as i64;
        let (acted, superseded, ignored) =
            (count(SuggestionState::Acted), count(SuggestionState::Superseded), count(SuggestionState::Ignored));
        let known = acted + superseded + ignored;
        let mut waits: Vec<i64> = mine
            .iter()
            .filter(|o| o.state == SuggestionState::Acted)
            .filter_map(|o| o.closed_at.map(|at| (at - o.first_shown).num_seconds().max(0)))
            .collect();
        waits.sort_unstable();
        let mut with: BTreeMap<(crate::api::InterventionKind, String), i64> = BTreeMap::new();
        for o in mine.iter().filter(|o| o.state == SuggestionState::Acted) {
            if let (Some(k), Some(by)) = (o.acted_kind, &o.acted_by) {
                *with.entry((k, by.clone())).or_default() += 1;
            }
        }
        kinds.push(SuggestionKindStats {
            kind,
            shown: mine.len() as i64,
            acted,
            superseded,
            ignored,
            acceptance: (known > 0).then(|| acted as f64 / known as f64),
            time_to_action_p50_s: waits.get(waits.len().saturating_sub(1) / 2).copied(),
            time_to_action_max_s: waits.last().copied(),
            acted_with: with
                .into_iter()
                .map(|((intervention, by), count)| ActedWith { intervention, by, count })
                .collect(),
        });
    }
    SuggestionStats { since, kinds }
}

/// One suggestion's tally across incidents.
#[derive(Default)]
struct Tally {
    suggested: i64,
    acted: i64,
    ignored: i64,
    incidents: BTreeSet<i64>,
}

/// Suggestions ignored more than once across a pattern's incidents.
pub fn ignored_again(outcomes: &[SuggestionOutcome]) -> Vec<SuggestionHistory> {
    let mut by: BTreeMap<(String, SuggestionKind), Tally> = BTreeMap::new();
    for o in outcomes {
        let t = by.entry((o.title.clone(), o.kind)).or_default();
        t.suggested += 1;
        t.acted += i64::from(o.state == SuggestionState::Acted);
        t.ignored += i64::from(o.state == SuggestionState::Ignored);
        t.incidents.insert(o.incident_id);
    }
    let mut out: Vec<SuggestionHistory> = by
        .into_iter()
        .filter(|(_, t)| t.ignored >= 2)
        .map(|((title, kind), t)| SuggestionHistory {
            title,
            kind,
            suggested: t.suggested,
            acted: t.acted,
            ignored: t.ignored,
            incidents: t.incidents.len() as i64,
        })
        .collect();
    out.sort_by(|a, b| b.ignored.cmp(&a.ignored).then(a.title.cmp(&b.title)));
    out
}

/// "suggested 3 times, ignored 3 times, 3 incidents".
pub fn describe(h: &SuggestionHistory) -> String {
    let times = |n: i64| if n == 1 { "once".to_owned() } else { format!("{n} times") };
    format!(
        "{}: suggested {}, ignored {}, {} incident{}",
        h.title,
        times(h.suggested),
        times(h.ignored),
        h.incidents,
        if h.incidents == 1 { "" } else { "s" }
    )
}
