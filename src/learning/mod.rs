//! The learning loop (seed 004 2.2, 3.7, 9.4, 10, 11.2–11.3): how well
//! scores matched verdicts, whether people lean on them too much, what
//! became of suggestions, and the rules learned from repeat incidents.

pub mod calibration;
pub mod outcomes;
pub mod reliance;
pub mod rules;
