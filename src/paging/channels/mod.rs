//! The channels a page can go out on. Each turns one `Outgoing` into the
//! receiver's published format and says how the receiver answered, so the
//! worker knows whether to retry, when, or give up.

mod email;
mod pagerduty;
mod slack;
mod webhook;

pub use webhook::{sign, verify};

use super::config::Receivers;
use super::message::Outgoing;
use std::time::Duration;

/// Why a delivery did not go through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The receiver's own words where it gave any: "HTTP 500: no_service".
    pub error: String,
    /// Asked to wait (429 or 503 with Retry-After).
    pub retry_after: Option<Duration>,
    /// Trying again cannot help (a payload or address the receiver rejects).
    pub permanent: bool,
}

impl Refusal {
    pub fn transient(error: impl Into<String>) -> Refusal {
        Refusal { error: error.into(), retry_after: None, permanent: false }
    }

    pub fn permanent(error: impl Into<String>) -> Refusal {
        Refusal { error: error.into(), retry_after: None, permanent: true }
    }

    /// From an HTTP answer that is not a success: 408, 429 and 5xx are worth
    /// retrying, honouring Retry-After; any other 4xx is not.
    pub async fn from_response(response: reqwest::Response) -> Refusal {
        let status = response.status();
        let retry_after = crate::sdk::retry_after(response.headers());
        let body = response.text().await.unwrap_or_default();
        let body: String = body.chars().filter(|c| !c.is_control()).take(200).collect();
        let error = if body.is_empty() {
            format!("HTTP {}", status.as_u16())
        } else {
            format!("HTTP {}: {body}", status.as_u16())
        };
        let retry = status.is_server_error() || status.as_u16() == 408 || status.as_u16() == 429;
        Refusal { error, retry_after, permanent: !retry }
    }

    /// From a request that got no answer: the network, a timeout.
    pub fn from_error(e: &reqwest::Error) -> Refusal {
        let what = if e.is_timeout() {
            "no answer within the delivery timeout".to_owned()
        } else if e.is_connect() {
            "cannot connect to the receiver".to_owned()
        } else {
            format!("request failed: {}", error_chain(e))
        };
        Refusal::transient(what)
    }
}

/// Why a channel cannot deliver anything.
pub fn no_receiver(channel: &str) -> String {
    format!("no receiver is configured for {channel} ([channel.{channel}] in the routing file)")
}

/// Sends `out` on its channel.
pub async fn send(
    http: &reqwest::Client,
    receivers: &Receivers,
    out: &Outgoing,
    timeout: Duration,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), Refusal> {
    let missing = || Refusal::permanent(no_receiver(&out.channel));
    match out.channel.as_str() {
        "webhook" => webhook::send(http, receivers.webhook.as_ref().ok_or_else(missing)?, out, timeout, now).await,
        "slack" => slack::send(http, receivers.slack.as_ref().ok_or_else(missing)?, out, timeout).await,
        "pagerduty" => {
            pagerduty::send(http, receivers.pagerduty.as_ref().ok_or_else(missing)?, out, timeout, now).await
        }
        "email" => email::send(receivers.email.as_ref().ok_or_else(missing)?, out, timeout).await,
        other => Err(Refusal::permanent(format!("unknown channel {other:?}"))),
    }
}

/// A POST of JSON with a time limit, read as delivered or refused.
async fn post_json(
    request: reqwest::RequestBuilder,
    body: &serde_json::Value,
    timeout: Duration,
) -> Result<reqwest::Response, Refusal> {
    let response = request
        .timeout(timeout)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body.to_string())
        .send()
        .await
        .map_err(|e| Refusal::from_error(&e))?;
    if response.status().is_success() { Ok(response) } else { Err(Refusal::from_response(response).await) }
}

/// An error with its causes: "error sending request: connection reset".
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}
