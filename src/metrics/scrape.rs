//! The gauges, read when Prometheus scrapes: each scrape asks the database
//! and the server what holds now, so a value is never older than the scrape.

use super::record::{Labels, RECORDED};
use chrono::{DateTime, Utc};
use prometheus_client::encoding::text::{encode_eof, encode_registry};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;
use std::sync::atomic::AtomicU64;

/// What `GET /metrics` answers with: OpenMetrics text, which Prometheus asks for.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// What is so at the moment of a scrape.
#[derive(Debug, Clone, Default)]
pub struct Now {
    pub at: DateTime<Utc>,
    /// Incidents not resolved, by severity.
    pub open_by_severity: Vec<(String, i64)>,
    /// Notifications due and not delivered yet, and the earliest due.
    pub outbox_due: i64,
    pub outbox_oldest_due: Option<DateTime<Utc>>,
    pub approvals_waiting: i64,
    /// When the events' chain was last anchored.
    pub last_anchor: Option<DateTime<Utc>>,
    /// One query's round trip to the database, at this scrape.
    pub round_trip: std::time::Duration,
    pub stops_in_force: usize,
    pub gates_in_force: usize,
    /// Agents' SDKs holding a control long poll (hearing stops at once).
    pub sdk_subscribers: usize,
    /// Consoles and clients holding a long poll on the incident feed.
    pub long_poll_waiters: usize,
    /// Since the paging worker last finished a pass; None: never.
    pub paging_idle: Option<std::time::Duration>,
}

fn gauge(registry: &mut Registry, name: &str, help: &str, value: i64) {
    let g = Gauge::<i64>::default();
    g.set(value);
    registry.register(name, help, g);
}

fn seconds(registry: &mut Registry, name: &str, help: &str, value: f64) {
    let g = Gauge::<f64, AtomicU64>::default();
    g.set(value);
    registry.register(name, help, g);
}

/// Everything, as the text a scrape receives.
pub fn render(now: &Now) -> String {
    let mut r = Registry::with_prefix("mandate");
    let open = Family::<Labels, Gauge>::default();
    for severity in ["critical", "high", "medium", "low"] {
        let n = now.open_by_severity.iter().find(|(s, _)| s == severity).map_or(0, |(_, n)| *n);
        open.get_or_create(&vec![("severity", severity.to_owned())]).set(n);
    }
    r.register("incidents_open", "Incidents not resolved, by severity", open);
    gauge(&mut r, "outbox_due", "Notifications due and not delivered yet", now.outbox_due);
    let lag = now.outbox_oldest_due.map_or(0.0, |due| (now.at - due).num_milliseconds().max(0) as f64 / 1000.0);
    seconds(&mut r, "outbox_lag_seconds", "How long the oldest notification due has waited (0: none waits)", lag);
    gauge(
        &mut r,
        "stops_in_force",
        "Stops in force: over agents, tools, resources or everything, and paused agents",
        now.stops_in_force as i64,
    );
    gauge(
        &mut r,
        "gates_in_force",
        "Critical points and learned rules that gate agents' actions",
        now.gates_in_force as i64,
    );
    gauge(&mut r, "approvals_waiting", "Gated actions waiting for a person's decision", now.approvals_waiting);
    gauge(
        &mut r,
        "sdk_subscribers",
        "Agents' SDKs holding a control long poll on this server",
        now.sdk_subscribers as i64,
    );
    gauge(
        &mut r,
        "long_poll_waiters",
        "Clients holding a long poll on the incident feed on this server",
        now.long_poll_waiters as i64,
    );
    seconds(
        &mut r,
        "database_round_trip_seconds",
        "One query's round trip to the database, measured at this scrape",
        now.round_trip.as_secs_f64(),
    );
    if let Some(anchor) = now.last_anchor {
        let age = (now.at - anchor).num_milliseconds().max(0) as f64 / 1000.0;
        seconds(&mut r, "chain_anchor_age_seconds", "Since the events' chain was last anchored in the audit log", age);
    }
    if let Some(idle) = now.paging_idle {
        seconds(&mut r, "paging_idle_seconds", "Since the paging worker last finished a pass", idle.as_secs_f64());
    }
    let info = Family::<Labels, Gauge>::default();
    info.get_or_create(&vec![("version", env!("CARGO_PKG_VERSION").to_owned())]).set(1);
    r.register("build_info", "This server's version", info);

    let mut text = String::new();
    encode_registry(&mut text, &RECORDED.registry).expect("writing to a String");
    encode_registry(&mut text, &r).expect("writing to a String");
    encode_eof(&mut text).expect("writing to a String");
    text
}
