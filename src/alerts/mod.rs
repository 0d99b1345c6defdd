//! Alerts in: a monitor's alerts (Alertmanager's webhook, or the generic
//! JSON shape) become events on the resources they name, so an alert joins
//! the incident on its service or opens one, with the blast radius and the
//! agent and human actions before it ranked as candidate causes.
//!
//! - [`alertmanager`]: Alertmanager's webhook payload, version 4, as it is.
//! - [`event`]: one alert as an event: its id (repeats are one alert), its
//!   resource (from labels, through the catalog), what is kept of it.

pub mod alertmanager;
pub mod event;

pub use event::{Alert, AlertEvent, to_event};
