//! Mandate's own metrics, for the Prometheus that watches it: what it took
//! in and refused, what it paged, and (read at each scrape) what is open,
//! waiting or in force now. Served by `GET /metrics` in the OpenMetrics text
//! format Prometheus scrapes, encoded by the `prometheus-client` crate.
//!
//! - [`record`]: the counters and the histogram, kept for the process's
//!   life and bumped where things happen (ingest, refusals, paging).
//! - [`scrape`]: the gauges, read when scraped.

pub mod record;
pub mod scrape;

pub use record::{alerts_recorded, events_stored, ingest_took, page_outcome, refused};
pub use scrape::{CONTENT_TYPE, Now, render};
