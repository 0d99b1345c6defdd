//! Answers in Slack: the message acted on, updated in place for everyone
//! (Slack's `chat.update` with the app's bot token, or else the
//! interaction's `response_url` with `replace_original`), and refusals only
//! the clicker sees (an ephemeral message through `response_url`).
//!
//! Slack asks for an interaction's HTTP answer within 3 seconds, so these go
//! out after it, each tried a few times: a 429 waits what Retry-After says
//! (up to 10 s), a 5xx or no answer within 10 s is tried again after a
//! second, and Slack's own refusal (`"ok": false`) is logged, not retried.

use serde_json::{Value, json};
use std::time::Duration;

const ATTEMPTS: u32 = 3;
const TIMEOUT: Duration = Duration::from_secs(10);
const LONGEST_WAIT: Duration = Duration::from_secs(10);

/// Where the message acted on is, and how to reach it.
#[derive(Debug, Clone)]
pub struct Place {
    pub channel: Option<String>,
    pub ts: Option<String>,
    pub response_url: Option<String>,
}

/// Slack's Web API, unless the routing file says otherwise.
pub const SLACK_API_URL: &str = "https://slack.com/api";

/// The app's Web API and bot token, when it has one (`chat.update`).
pub struct WebApi {
    pub url: String,
    pub bot_token: Result<String, String>,
}

/// The message, updated in place with `text` and `blocks`: through the Web
/// API with the bot token, else the interaction's `response_url`.
pub async fn update(http: &reqwest::Client, api: Option<&WebApi>, place: &Place, text: &str, blocks: Vec<Value>) {
    let sent = match (api.map(|a| (&a.url, &a.bot_token)), &place.channel, &place.ts, &place.response_url) {
        (Some((url, Ok(token))), Some(channel), Some(ts), _) => {
            let url = format!("{}/chat.update", url.trim_end_matches('/'));
            let body = json!({ "channel": channel, "ts": ts, "text": text, "blocks": blocks });
            let request = || http.post(&url).bearer_auth(token).json(&body);
            post(request, "chat.update").await
        }
        (Some((_, Err(e))), ..) => Err(format!("channel.slack.bot_token: {e}")),
        (None, _, _, Some(url)) => {
            let body = json!({ "replace_original": true, "text": text, "blocks": blocks });
            post(|| http.post(url).json(&body), "response_url").await
        }
        _ => Err("neither a bot token with the message's place nor a response_url to update it with".into()),
    };
    if let Err(e) = sent {
        tracing::warn!(error = %e, "slack: the message acted on was not updated");
    }
}

/// A message only the person who clicked sees.
pub async fn tell(http: &reqwest::Client, place: &Place, text: &str) {
    let Some(url) = &place.response_url else {
        tracing::warn!("slack: no response_url to answer the person who clicked");
        return;
    };
    let body = json!({ "response_type": "ephemeral", "replace_original": false, "text": text });
    if let Err(e) = post(|| http.post(url).json(&body), "response_url").await {
        tracing::warn!(error = %e, "slack: the person who clicked was not answered");
    }
}

async fn post(request: impl Fn() -> reqwest::RequestBuilder, what: &str) -> Result<(), String> {
    let mut last = String::new();
    for attempt in 1..=ATTEMPTS {
        let wait = match request().timeout(TIMEOUT).send().await {
            Err(e) => {
                last = if e.is_timeout() { "no answer within 10 s".into() } else { format!("cannot reach Slack: {e}") };
                Duration::from_secs(1)
            }
            Ok(r) if r.status().as_u16() == 429 => {
                last = "429: rate limited".into();
                crate::sdk::retry_after(r.headers()).unwrap_or(Duration::from_secs(1)).min(LONGEST_WAIT)
            }
            Ok(r) if r.status().is_server_error() => {
                last = format!("HTTP {}", r.status().as_u16());
                Duration::from_secs(1)
            }
            Ok(r) if !r.status().is_success() => return Err(format!("{what}: HTTP {}", r.status().as_u16())),
            Ok(r) => {
                // The Web API answers 200 with "ok": false for its refusals;
                // a response_url answers plain "ok".
                let text = r.text().await.unwrap_or_default();
                return match serde_json::from_str::<Value>(&text) {
                    Ok(v) if v["ok"] == false => {
                        Err(format!("{what}: Slack refused it: {}", v["error"].as_str().unwrap_or("no reason given")))
                    }
                    _ => Ok(()),
                };
            }
        };
        if attempt < ATTEMPTS {
            tokio::time::sleep(wait).await;
        }
    }
    Err(format!("{what}: {last}, after {ATTEMPTS} attempts"))
}
