//! Repeat incidents (seed 10.1–10.6): a signature of six weighted features,
//! matched against past incidents as exact, similar (≥ 80 % of the weight)
//! or possible (≥ 50 %); on the third exact or similar occurrence, a rule to
//! consider.

use crate::api::{
    CausalAnalysis, Event, MatchLevel, PatternFeature, PatternMatch, PreviousOccurrence, Signature, Verdict, Weight,
};
use chrono::{DateTime, Datelike, Timelike, Utc, Weekday};

/// `PAT-007`.
pub fn pattern_name(id: i64) -> String {
    format!("PAT-{id:03}")
}

#[derive(Debug, Clone)]
pub struct PastIncident {
    pub id: i64,
    pub started_at: DateTime<Utc>,
    pub signature: Signature,
}

/// `payments-service` → `payments-*`; names without a dash stay as they are.
fn resource_pattern(resource: &str) -> String {
    match resource.split_once('-') {
        Some((head, _)) if !head.is_empty() => format!("{head}-*"),
        _ => resource.to_owned(),
    }
}

/// Digits vary between replicas of one agent: `worker-7` → `worker-*`.
fn actor_pattern(agent: &str) -> String {
    let trimmed = agent.trim_end_matches(|c: char| c.is_ascii_digit());
    if trimmed.len() < agent.len() { format!("{trimmed}*") } else { agent.to_owned() }
}

/// Weekdays 09:00–18:00 UTC are business hours; the rest is after hours.
pub fn time_pattern(at: DateTime<Utc>) -> &'static str {
    let weekday = !matches!(at.weekday(), Weekday::Sat | Weekday::Sun);
    if weekday && (9..18).contains(&at.hour()) { "business_hours" } else { "after_hours" }
}

pub fn signature(incident_events: &[Event], analysis: &CausalAnalysis) -> Signature {
    let first = incident_events.iter().filter(|e| e.is_error()).min_by_key(|e| e.occurred_at);
    let top = analysis.candidates.iter().find(|c| c.verdict != Some(Verdict::Rejected) && c.confidence >= 40);
    // The actions just before the suspected one, in time order.
    let mut before: Vec<_> = analysis
        .candidates
        .iter()
        .filter(|c| c.verdict != Some(Verdict::Rejected))
        .filter(|c| top.is_some_and(|t| c.occurred_at < t.occurred_at))
        .filter_map(|c| c.action_type.as_deref().map(|a| (c.occurred_at, a)))
        .collect();
    before.sort();
    let sequence: Vec<&str> = before.iter().rev().take(2).rev().map(|(_, a)| *a).collect();
    Signature {
        action_type: top.and_then(|c| c.action_type.clone()),
        resource_pattern: first.and_then(|e| e.resource.as_deref()).map(resource_pattern),
        failure_mode: first.and_then(|e| e.error_code.clone()),
        actor_pattern: top.and_then(|c| c.agent_id.as_deref()).map(actor_pattern),
        time_pattern: first.map(|e| time_pattern(e.occurred_at).to_owned()),
        sequence_pattern: (!sequence.is_empty()).then(|| sequence.join(" > ")),
    }
}

/// Seed 10.2's features with their weights: high counts 3, medium 2, low 1.
pub fn features(s: &Signature) -> [(&'static str, &Option<String>, Weight); 6] {
    [
        ("action_type", &s.action_type, Weight::High),
        ("resource_pattern", &s.resource_pattern, Weight::High),
        ("failure_mode", &s.failure_mode, Weight::High),
        ("actor_pattern", &s.actor_pattern, Weight::Medium),
        ("time_pattern", &s.time_pattern, Weight::Low),
        ("sequence_pattern", &s.sequence_pattern, Weight::Medium),
    ]
}

/// The features as the API lists them.
pub fn feature_list(s: &Signature) -> Vec<PatternFeature> {
    features(s)
        .into_iter()
        .map(|(name, value, weight)| PatternFeature { name: name.to_owned(), value: value.clone(), weight })
        .collect()
}

fn points(w: Weight) -> u32 {
    match w {
        Weight::High => 3,
        Weight::Medium => 2,
        Weight::Low => 1,
    }
}

/// The weighted share of the features either signature has that both share,
/// in percent; None when neither has any.
pub fn overlap(current: &Signature, past: &Signature) -> Option<u8> {
    let pairs = features(current).into_iter().zip(features(past));
    let considered: u32 =
        pairs.clone().filter(|((_, a, _), (_, b, _))| a.is_some() || b.is_some()).map(|((_, _, w), _)| points(w)).sum();
    if considered == 0 {
        return None;
    }
    let same: u32 = pairs.filter(|((_, a, _), (_, b, _))| a.is_some() && a == b).map(|((_, _, w), _)| points(w)).sum();
    Some((same * 100 / considered) as u8)
}

/// Seed 10.4's levels by overlap.
pub fn level_of(score: u8) -> Option<MatchLevel> {
    match score {
        100 => Some(MatchLevel::Exact),
        80.. => Some(MatchLevel::Similar),
        50.. => Some(MatchLevel::Possible),
        _ => None,
    }
}

/// A signature's identity: two incidents with the same key are one pattern.
pub fn key(s: &Signature) -> String {
    features(s).iter().map(|(_, v, _)| v.as_deref().unwrap_or("-")).collect::<Vec<_>>().join("|")
}

/// Matches `current` (started at `started_at`) against earlier incidents.
pub fn match_pattern(current: &Signature, started_at: DateTime<Utc>, past: &[PastIncident]) -> Option<PatternMatch> {
    let mut previous: Vec<PreviousOccurrence> = past
        .iter()
        .filter(|p| p.started_at < started_at)
        .filter_map(|p| {
            let score = overlap(current, &p.signature)?;
            level_of(score).map(|level| PreviousOccurrence {
                incident_id: p.id,
                started_at: p.started_at,
                level,
                score,
            })
        })
        .collect();
    previous.sort_by_key(|p| std::cmp::Reverse(p.started_at));
    let best = previous.iter().map(|p| p.level).min()?;
    let repeats = previous.iter().filter(|p| p.level != MatchLevel::Possible).count();
    let occurrence = repeats + 1;
    let suggested_rule = (occurrence >= 3).then(|| {
        let mut rule = format!(
            "- name: \"Gate {} on {} (occurrence {occurrence})\"\n  match:\n",
            current.action_type.as_deref().unwrap_or("actions"),
            current.resource_pattern.as_deref().unwrap_or("this resource")
        );
        if let Some(a) = &current.action_type {
            rule.push_str(&format!("    action_type: \"{a}\"\n"));
        }
        if let Some(r) = &current.resource_pattern {
            rule.push_str(&format!("    resource: \"{r}\"\n"));
        }
        if current.time_pattern.as_deref() == Some("after_hours") {
            rule.push_str("    time.business_hours: false\n");
        }
        rule.push_str("  decision: gated_execute\n  status: suggested\n");
        rule
    });
    let score = previous.iter().map(|p| p.score).max().unwrap_or(0);
    Some(PatternMatch {
        level: best,
        signature: current.clone(),
        previous,
        occurrence,
        suggested_rule,
        pattern_id: None,
        score,
        suggestions: Vec::new(),
        rule: None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incident::grouping::tests::at;

    fn sig(action: &str, resource: &str, failure: &str, actor: &str, time: &str) -> Signature {
        let some = |s: &str| (!s.is_empty()).then(|| s.to_owned());
        Signature {
            action_type: some(action),
            resource_pattern: some(resource),
            failure_mode: some(failure),
            actor_pattern: some(actor),
            time_pattern: some(time),
            sequence_pattern: None,
        }
    }

    #[test]
    fn features_are_normalised() {
        assert_eq!(resource_pattern("payments-service"), "payments-*");
        assert_eq!(resource_pattern("redis"), "redis");
        assert_eq!(actor_pattern("worker-17"), "worker-*");
        assert_eq!(actor_pattern("deployer"), "deployer");
        assert_eq!(time_pattern(at(0)), "business_hours", "a Monday at 14:00 UTC");
        assert_eq!(time_pattern(at(60 * 9)), "after_hours");
    }

    /// Seed 10.4 and 10.6: exact, similar, possible; the third occurrence suggests a rule.
    #[test]
    fn repeat_incidents_are_recognised_and_the_third_suggests_a_rule() {
        let current = sig("deploy", "payments-*", "TIMEOUT", "deployer", "after_hours");
        let past = [
            PastIncident { id: 15, started_at: at(-20_000), signature: current.clone() },
            PastIncident {
                id: 23,
                started_at: at(-10_000),
                signature: sig("deploy", "payments-*", "TIMEOUT", "deployer", "business_hours"),
            },
            PastIncident {
                id: 30,
                started_at: at(-5_000),
                signature: sig("deploy", "payments-*", "TIMEOUT", "other", "business_hours"),
            },
            PastIncident {
                id: 31,
                started_at: at(-4_000),
                signature: sig("db_write", "users-*", "OOM", "other", "business_hours"),
            },
            PastIncident { id: 99, started_at: at(10), signature: current.clone() },
        ];
        let m = match_pattern(&current, at(0), &past).unwrap();
        assert_eq!(m.level, MatchLevel::Exact);
        let previous: Vec<_> = m.previous.iter().map(|p| (p.incident_id, p.level)).collect();
        assert_eq!(previous, [(30, MatchLevel::Possible), (23, MatchLevel::Similar), (15, MatchLevel::Exact)]);
        assert_eq!(m.occurrence, 3);
        let rule = m.suggested_rule.unwrap();
        assert!(
            rule.contains("action_type: \"deploy\"")
                && rule.contains("resource: \"payments-*\"")
                && rule.contains("business_hours: false"),
            "{rule}"
        );

        let second = match_pattern(&current, at(0), &past[..1]).unwrap();
        assert_eq!((second.occurrence, second.suggested_rule), (2, None));
        assert!(match_pattern(&current, at(0), &past[3..4]).is_none(), "under 50 % is no match");
    }
}
