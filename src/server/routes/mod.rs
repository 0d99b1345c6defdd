//! The HTTP routes, one file per resource. Each handler extracts, calls the
//! store or a plain function, and maps errors; nothing else.

pub mod activity;
pub mod alerts;
pub mod approvals;
pub mod control;
pub mod decisions;
pub mod degradations;
pub mod disputes;
pub mod events;
pub mod incidents;
pub mod interventions;
pub mod learning;
pub mod metrics;
pub mod notifications;
pub mod operations;
pub mod otlp;
pub mod rollout;
pub mod routing;
pub mod runs;
pub mod silences;
pub mod slack;
pub mod stops;
pub mod system;

/// The client for the server's own calls out (Slack's Web API, the team's
/// Prometheus), made once.
pub(crate) fn outbound() -> &'static reqwest::Client {
    static HTTP: std::sync::LazyLock<reqwest::Client> =
        std::sync::LazyLock::new(|| crate::sdk::http_client_builder().build().expect("an HTTP client builds"));
    &HTTP
}
