//! Mandate: an incident console and API for fleets of autonomous agents.
//!
//! - [`attribution`]: the run-attribution contract, shared by every layer.
//! - [`api`]: the wire types of the HTTP API.
//! - [`sdk`]: the Rust client agents use to create runs.
//! - [`server`] and [`store`]: `mandate serve` and its database.
//! - [`auth`]: API tokens.
//! - [`console`]: the terminal incident console.
//! - [`rollout`]: the attribution rollout: compliance by service, trends, weekly status, outreach.
//! - [`otlp`]: OpenTelemetry traces in, as runs and events.
//! - [`sim`] and [`demo`]: the simulated fleet and `mandate demo`.

pub mod alerts;
pub mod audit;
pub mod auth;
pub mod catalog;
pub mod cli;
pub mod console;
pub mod demo;
pub mod desk;
pub mod incident;
pub mod learning;
pub mod metrics;
pub mod metrics_in;
pub mod moment;
pub mod otlp;
pub mod paging;
pub mod rollout;
pub mod routing;
pub mod server;
pub mod sim;
pub mod slack;
pub mod store;

pub use mandate_contract::{api, attribution};
pub use mandate_sdk as sdk;
