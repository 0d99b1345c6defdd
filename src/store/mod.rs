//! Persistence: one code path over SQLite (the embedded default) and
//! PostgreSQL (real deployments), through sqlx's `Any` driver.
//!
//! SQL here is written once, in the dialect both databases share: `$N`
//! placeholders, `ON CONFLICT`, `RETURNING`, times as integer milliseconds.

mod access_log;
mod actions;
mod agents;
mod approvals;
mod audit;
mod chain;
mod claim;
mod connect;
mod degradations;
mod disputes;
mod error;
mod events;
mod head;
mod identifiers;
mod incidents;
mod judgements;
mod migrate;
pub mod outage;
mod pages;
mod patterns;
mod records;
mod retention;
mod revocations;
mod rollout;
mod routing;
mod rules;
mod run_records;
mod run_writer;
mod runs;
mod servers;
mod silences;
mod stops;
mod suggestion_outcomes;
mod vitals;

pub use actions::{HISTORY, MAX_ACTIONS, MAX_NESTED, Related, newest_first};
pub use agents::{AgentControl, AgentSighting, AgentSummary};
pub use approvals::{ApprovalEnd, ApprovalTally, NewApproval};
pub use chain::{ANCHORED, PRUNED};
pub use claim::holder_name as server_name;
pub use connect::{Backend, Store, default_sqlite_url, redact};
pub use disputes::DisputeFilter;
pub use error::StoreError;
pub use events::{INCIDENT_EVENTS, StoredEvent};
pub use head::{CHANGES_CHANNEL, Head, LISTENER_NAME, listen};
pub use identifiers::LookalikeIdentifier;
pub use incidents::{IncidentRecord, decode_incident_cursor, encode_incident_cursor};
pub use migrate::{
    Applied as MigrationApplied, Direction as MigrationDirection, DownPlan, DownStep, KnownMigration, NewerMigration,
    Phase, SchemaStatus, locks as migration_locks, steps as migration_steps,
};
pub use patterns::StoredPattern;
pub use records::{IdempotencyClaim, InterventionRecord, Rejection};
pub use retention::{Cutoffs, Pruned};
pub use routing::RuleUse;
pub use rules::NewRule;
pub use run_records::{RunChainStatus, run_link};
pub use runs::{CompleteOutcome, FinishedRun, NewRun, RunCursor, RunFilter};
pub use servers::{GONE_AFTER_MS, ServerSeen};
pub use silences::NewSilence;
pub use stops::OUT_OF_CONTACT;
pub use suggestion_outcomes::suggestion_key;
pub use vitals::Vitals;

use chrono::{DateTime, TimeZone, Utc};

/// Times are stored as milliseconds since the Unix epoch, in both databases.
pub(crate) fn to_millis(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub(crate) fn from_millis(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
}
