//! What Mandate concludes about incidents, as plain functions over plain data:
//! no database, no HTTP. The server feeds them stored events and the catalog;
//! tests feed them the seed's scenarios directly.

mod blast_radius;
mod grouping;
pub mod patterns;
pub mod postmortem;
mod root_cause;
mod sequence;
mod severity;
mod suggestions;

pub use blast_radius::blast_radius;
pub use grouping::{Grouper, GroupingConfig, Placement};
pub use patterns::{PastIncident, match_pattern, signature, time_pattern};
pub use root_cause::{AnalysisInput, CORRELATION_WINDOW, ScoringMemo, analyze, analyze_kept};
pub use sequence::SequenceTracker;
pub use severity::{escalation_path, severity};
pub use suggestions::{SuggestionInput, suggest, top3};
