//! What the machine said of a candidate when a human judged it (seed 11.2):
//! the record scoring, calibration and reliance learn from (3.7).

use crate::api::{Band, Verdict};
use chrono::{DateTime, Utc};

/// A candidate as it stood when judged.
#[derive(Debug, Clone, PartialEq)]
pub struct Judged {
    /// The machine's score before any verdict.
    pub scored: u8,
    pub band: Band,
    pub cause_type: Option<String>,
    pub cause_resource: Option<String>,
    pub evidence: serde_json::Value,
    /// How long the judge had this candidate before them: from their first
    /// read of the incident's detail, or their previous verdict on it when
    /// later, to this verdict. None: they never read the detail.
    pub read_ms: Option<i64>,
}

/// A stored verdict with its judgement.
#[derive(Debug, Clone, PartialEq)]
pub struct Judgement {
    pub incident_id: i64,
    pub event_id: String,
    pub verdict: Verdict,
    pub actor_id: String,
    pub at: DateTime<Utc>,
    pub scored: u8,
    pub band: Band,
    pub cause_type: Option<String>,
    pub evidence_lines: usize,
    pub read_ms: Option<i64>,
}
