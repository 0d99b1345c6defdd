//! What happened, counted as it happens. Process-wide, as Prometheus
//! clients keep them: a counter only ever grows, and a restart shows as a
//! reset Prometheus's `rate()` already understands.

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::sync::LazyLock;
use std::time::Duration;

pub(super) type Labels = Vec<(&'static str, String)>;

pub(super) struct Recorded {
    pub registry: Registry,
    events: Family<Labels, Counter>,
    refusals: Family<Labels, Counter>,
    alerts: Family<Labels, Counter>,
    pages: Family<Labels, Counter>,
    ingest: Histogram,
}

pub(super) static RECORDED: LazyLock<Recorded> = LazyLock::new(|| {
    let mut registry = Registry::with_prefix("mandate");
    let events = Family::<Labels, Counter>::default();
    registry.register("events", "Events received, by result: stored or a duplicate of one stored", events.clone());
    let refusals = Family::<Labels, Counter>::default();
    registry.register(
        "refusals",
        "Requests, and events of a batch, refused, by error code (the code of the API's error body)",
        refusals.clone(),
    );
    let alerts = Family::<Labels, Counter>::default();
    registry.register(
        "alerts",
        "Alerts received from monitors, by result: recorded, repeat (already recorded) or unmatched (no catalog service)",
        alerts.clone(),
    );
    let pages = Family::<Labels, Counter>::default();
    registry.register(
        "pages",
        "Notification deliveries, by channel and outcome: sent, retried (failed, tried again later) or dead (given up)",
        pages.clone(),
    );
    let ingest = Histogram::new(exponential_buckets(0.0005, 2.0, 14));
    registry.register(
        "ingest_transaction_seconds",
        "How long a batch of events took to store, group and page, in its one transaction",
        ingest.clone(),
    );
    // Known from the start, at 0: a rate over them holds from the first scrape.
    for result in ["stored", "duplicate"] {
        events.get_or_create(&vec![("result", result.to_owned())]).inc_by(0);
    }
    for result in ["recorded", "repeat", "unmatched"] {
        alerts.get_or_create(&vec![("result", result.to_owned())]).inc_by(0);
    }
    Recorded { registry, events, refusals, alerts, pages, ingest }
});

/// A batch stored `accepted` new events and found `duplicates` already stored.
pub fn events_stored(accepted: usize, duplicates: usize) {
    let r = &*RECORDED;
    r.events.get_or_create(&vec![("result", "stored".to_owned())]).inc_by(accepted as u64);
    r.events.get_or_create(&vec![("result", "duplicate".to_owned())]).inc_by(duplicates as u64);
}

/// A refusal with the API error code `code` (one of the server's own).
pub fn refused(code: &str) {
    RECORDED.refusals.get_or_create(&vec![("code", code.to_owned())]).inc();
}

pub fn alerts_recorded(recorded: usize, repeats: usize, unmatched: usize) {
    let r = &*RECORDED;
    for (result, n) in [("recorded", recorded), ("repeat", repeats), ("unmatched", unmatched)] {
        r.alerts.get_or_create(&vec![("result", result.to_owned())]).inc_by(n as u64);
    }
}

/// `n` notifications delivered on `channel` with `outcome`: sent, retried or dead.
pub fn page_outcome(channel: &str, outcome: &'static str, n: usize) {
    RECORDED
        .pages
        .get_or_create(&vec![("channel", channel.to_owned()), ("outcome", outcome.to_owned())])
        .inc_by(n as u64);
}

pub fn ingest_took(took: Duration) {
    RECORDED.ingest.observe(took.as_secs_f64());
}
