//! User over-reliance (seed 11.3): a person who confirms causes faster than
//! the evidence can be read, or confirms nearly every LIKELY, is told so on
//! the root-cause screen.

use super::Judgement;
use crate::api::{Band, Reliance, Verdict};
use chrono::{DateTime, Utc};

/// Reading one evidence line takes at least this long…
pub const READ_PER_LINE_MS: i64 = 2_000;
/// …and a verdict, at least this long after opening the incident.
pub const READ_MIN_MS: i64 = 5_000;
/// Quick confirmations are pointed out from this many timed ones on…
pub const QUICK_MIN_TIMED: i64 = 4;
/// …when at least half of them were quick.
pub const QUICK_SHARE: f64 = 0.5;
/// Confirming LIKELY causes is pointed out from this many judged…
pub const LIKELY_MIN_JUDGED: i64 = 10;
/// …when this share or more were confirmed.
pub const LIKELY_SHARE: f64 = 0.95;

/// Whether a confirmation came faster than its evidence can be read.
pub fn too_quick(j: &Judgement) -> Option<bool> {
    let needed = READ_MIN_MS.max(READ_PER_LINE_MS * j.evidence_lines as i64);
    j.read_ms.map(|ms| ms < needed)
}

pub fn reliance(person: &str, judgements: &[Judgement], since: DateTime<Utc>) -> Reliance {
    let mine: Vec<&Judgement> = judgements.iter().filter(|j| j.actor_id == person).collect();
    let confirmations: Vec<&&Judgement> = mine.iter().filter(|j| j.verdict == Verdict::Confirmed).collect();
    let timed: Vec<bool> = confirmations.iter().filter_map(|j| too_quick(j)).collect();
    let quick = timed.iter().filter(|q| **q).count() as i64;
    let likely: Vec<&&Judgement> =
        mine.iter().filter(|j| j.band == Band::Likely && j.verdict != Verdict::Investigate).collect();
    let likely_confirmed = likely.iter().filter(|j| j.verdict == Verdict::Confirmed).count() as i64;
    let mut prompts = Vec::new();
    let timed_n = timed.len() as i64;
    if timed_n >= QUICK_MIN_TIMED && quick as f64 >= QUICK_SHARE * timed_n as f64 {
        prompts.push(format!(
            "{quick} of your last {timed_n} confirmations came faster than their evidence can be read: \
             a score is a guess, read the evidence before you confirm"
        ));
    }
    let likely_n = likely.len() as i64;
    if likely_n >= LIKELY_MIN_JUDGED && likely_confirmed as f64 >= LIKELY_SHARE * likely_n as f64 {
        prompts.push(format!(
            "you confirmed {likely_confirmed} of the {likely_n} LIKELY causes you judged: LIKELY means 70–90 %, \
             so some should be wrong; was this one checked?"
        ));
    }
    Reliance {
        person: person.to_owned(),
        since,
        confirmations: confirmations.len() as i64,
        timed: timed_n,
        quick,
        likely_judged: likely_n,
        likely_confirmed,
        prompts,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn judged(verdict: Verdict, scored: u8, read_ms: Option<i64>) -> Judgement {
        Judgement { read_ms, ..crate::learning::judged(verdict, scored) }
    }

    #[test]
    fn quick_confirmations_and_confirming_every_likely_are_pointed_out() {
        let careful: Vec<_> = (0..4).map(|_| judged(Verdict::Confirmed, 80, Some(30_000))).collect();
        assert!(reliance("alice", &careful, Utc::now()).prompts.is_empty());
        // 4 evidence lines take 8 s to read: 3 s is too quick.
        let hasty: Vec<_> =
            (0..4).map(|i| judged(Verdict::Confirmed, 80, Some(if i < 2 { 3_000 } else { 30_000 }))).collect();
        let r = reliance("alice", &hasty, Utc::now());
        assert_eq!((r.quick, r.timed), (2, 4));
        assert!(r.prompts[0].contains("2 of your last 4"), "{:?}", r.prompts);
        assert!(reliance("bob", &hasty, Utc::now()).prompts.is_empty(), "per person");

        let mut likely: Vec<_> = (0..10).map(|_| judged(Verdict::Confirmed, 85, None)).collect();
        let r = reliance("alice", &likely, Utc::now());
        assert!(r.prompts.iter().any(|p| p.contains("10 of the 10 LIKELY")), "{:?}", r.prompts);
        likely[0].verdict = Verdict::Rejected;
        assert!(reliance("alice", &likely, Utc::now()).prompts.is_empty(), "9 of 10 is under 95 %");
    }
}
