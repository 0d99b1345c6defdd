//! Metrics in: what Mandate reads from the team's Prometheus (the routing
//! file's `[metrics]`).
//!
//! Slow-burn degradation (seed 004 §7.3): a metric that drifts for days
//! never trips an alert's threshold, yet users feel it. Rules compare a
//! metric's mean over a recent window with its mean over a longer baseline
//! before it; past the threshold, a *degradation* opens: not an incident, a
//! notice to the service's owner with the trend and the changes made to the
//! service in the window. A Prometheus that cannot be asked makes the rule
//! "metrics unavailable", never healthy.
//!
//! Impact (seed 004 §8.3): an incident's affected services, measured while
//! it runs: error rate, latency and request rate, and the requests that
//! failed since it began.
//!
//! - [`config`]: the `[metrics]` table: where Prometheus is, the rules, the
//!   impact queries.
//! - [`prometheus`]: Prometheus's HTTP API, one instant query at a time.
//! - [`slow_burn`]: one rule evaluated: healthy, degraded or unavailable.
//! - [`impact`]: an incident's services measured.

pub mod config;
pub mod impact;
pub mod prometheus;
pub mod slow_burn;

pub use config::{ImpactQueries, MetricsSource, SlowBurnRule};
pub use slow_burn::{Check, evaluate};
