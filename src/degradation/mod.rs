//! Slow-burn degradation (seed 004 §7.3): a metric that drifts for days
//! never trips an alert's threshold, yet users feel it. Rules in the routing
//! file's `[metrics]` compare a metric's mean over a recent window with its
//! mean over a longer baseline before it, queried from the team's
//! Prometheus; past the threshold, a *degradation* opens: not an incident,
//! a notice to the service's owner with the trend and the changes made to
//! the service in the window. A Prometheus that cannot be asked makes the
//! rule "metrics unavailable", never healthy.
//!
//! - [`config`]: the `[metrics]` table: where Prometheus is, the rules.
//! - [`prometheus`]: Prometheus's HTTP API, one instant query at a time.
//! - [`slow_burn`]: one rule evaluated: healthy, degraded or unavailable.

pub mod config;
pub mod prometheus;
pub mod slow_burn;

pub use config::{MetricsSource, SlowBurnRule};
pub use slow_burn::{Check, evaluate};
