//! Routing: who is told about an incident, on which channel and when
//! (seed 004 Part E). The configuration (`config`) and the decision it gives
//! for an incident (`decision`) are plain data and plain functions.

mod config;
mod decision;
pub mod moment;

pub use config::{
    BusinessHours, CHANNELS, Freeze, Level, Match, OnCall, Override, Resolved, Routing, RoutingDocument, RoutingError,
    Rule, SOFT_RULE_CAP, Schedule, SkipTo, parse_duration,
};
pub use decision::{BLAST_RADIUS, COORDINATION, RoutingInput};

/// The built-in routing file: used when none is given.
pub const BUILTIN: &str = include_str!("default.toml");
