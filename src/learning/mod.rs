//! The learning loop (seed 004 2.2, 3.7, 9.4, 10, 11.2–11.3): how well
//! scores matched verdicts, whether people lean on them too much, what
//! became of suggestions, and the rules learned from repeat incidents.

pub mod calibration;
mod judgement;
pub mod outcomes;
pub mod reliance;
pub mod rules;

pub use judgement::{Judged, Judgement};

/// A verdict of alice's on a candidate scored `scored`, for the tests.
#[cfg(test)]
pub(crate) fn judged(verdict: crate::api::Verdict, scored: u8) -> Judgement {
    Judgement {
        incident_id: 1,
        event_id: "e".into(),
        verdict,
        actor_id: "alice".into(),
        at: chrono::Utc::now(),
        scored,
        band: crate::api::Band::of(scored),
        cause_type: None,
        evidence_lines: 4,
        read_ms: None,
    }
}
