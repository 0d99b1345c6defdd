//! The run-attribution contract (layer 1 of three): who or what started a run.
//!
//! Every part of Mandate — the SDK, the API server and the simulator — validates
//! attribution with this module, so the rules, their order and the error codes
//! cannot drift between layers.

mod actor_type;
mod context;
mod enforcement;
mod error;
mod validate;

pub use actor_type::ActorType;
pub use context::AttributionContext;
pub use enforcement::{ALLOW_LEGACY_ENV, ENFORCEMENT_ENV, EnforcementMode, Enforcer, log_violations};
pub use error::{AttributionError, AttributionErrorCode};
pub use validate::{LEGACY_AGENT_ID, LEGACY_ORIGIN_SYSTEM_ID, validate};
