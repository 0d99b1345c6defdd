//! The network side of the console, on tasks of its own: it owns the HTTP
//! client and only ever sends [`Action`]s; the UI never waits on it.
//!
//! - the feed long-polls the incident list (`since`/`wait`);
//! - the watcher fetches what the screen shows (with ETags) when the feed
//!   moves, when the screen changes, and every few seconds for run data;
//! - each intent is sent on a task of its own, retried with the same
//!   Idempotency-Key, so a flaky link never acts twice.

use super::app::{Action, Watch};
use super::config::Secret;
use super::intent::Intent;
use super::sanitize::decode_clean;
use crate::api::{
    AgentSummary, AttributionStats, AuditPage, Distribution, ErrorBody, IncidentDetail, IncidentPage,
    InterventionResult, Topic, WhoAmI,
};
use chrono::Utc;
use rand::Rng;
use reqwest::StatusCode;
use reqwest::header::{ETAG, IF_NONE_MATCH, RETRY_AFTER};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Notify, mpsc, watch};

/// What the UI asks of the poller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    Watch(Watch),
    Refresh,
    Send(Intent),
}

/// How long a long poll waits on the server (it answers at once on change).
const WAIT_SECONDS: u64 = 25;
const BACKOFF_BASE: Duration = Duration::from_millis(500);
const BACKOFF_CAP: Duration = Duration::from_secs(30);
/// Run data (activity, agents, audit, attribution) has no change feed.
const SCREEN_PERIOD: Duration = Duration::from_secs(5);
/// Tries of one intent before it is reported as failed.
const SEND_TRIES: u32 = 4;

/// Full jitter: a random wait up to `base · 2^attempt`, capped.
pub fn backoff(attempt: u32, retry_after: Option<Duration>) -> Duration {
    let ceiling = BACKOFF_BASE.saturating_mul(2u32.saturating_pow(attempt.min(16))).min(BACKOFF_CAP);
    let jitter = Duration::from_millis(rand::rng().random_range(0..=ceiling.as_millis() as u64));
    jitter.max(retry_after.unwrap_or_default()).min(BACKOFF_CAP.max(retry_after.unwrap_or_default()))
}

#[derive(Debug)]
enum Failure {
    /// The server was not reached: for the status bar.
    Network(String),
    /// The server answered with an error; how long it asked us to wait.
    Answer(String, Option<Duration>),
}

impl Failure {
    fn reason(&self) -> &str {
        match self {
            Failure::Network(r) | Failure::Answer(r, _) => r,
        }
    }
}

/// The console's HTTP side: base URL, token, one client with its pool.
pub struct Http {
    client: reqwest::Client,
    base: String,
    token: Secret,
}

impl Http {
    pub fn new(base: &str, token: Secret) -> Http {
        let client = crate::sdk::http_client_builder().build().expect("an HTTP client");
        Http { client, base: base.trim_end_matches('/').to_owned(), token }
    }

    async fn get(
        &self,
        path: &str,
        etag: Option<&str>,
        timeout: Duration,
    ) -> Result<(StatusCode, Option<String>, Vec<u8>), Failure> {
        let mut request =
            self.client.get(format!("{}{path}", self.base)).bearer_auth(self.token.expose()).timeout(timeout);
        if let Some(tag) = etag {
            request = request.header(IF_NONE_MATCH, tag);
        }
        let response = request.send().await.map_err(|e| Failure::Network(describe(&e)))?;
        let status = response.status();
        let retry_after = retry_after(&response);
        let tag = response.headers().get(ETAG).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let body = response.bytes().await.map_err(|e| Failure::Network(describe(&e)))?;
        match status {
            s if s.is_success() || s == StatusCode::NOT_MODIFIED => Ok((status, tag, body.to_vec())),
            StatusCode::UNAUTHORIZED => Err(Failure::Answer("the token was refused (401)".into(), Some(BACKOFF_CAP))),
            StatusCode::FORBIDDEN => {
                Err(Failure::Answer("this token may not read this (403)".into(), Some(BACKOFF_CAP)))
            }
            s => Err(Failure::Answer(format!("the API answered {}", s.as_u16()), retry_after)),
        }
    }

    /// Sends an intent: retried on network errors, 5xx and "in flight" with
    /// the same Idempotency-Key, so the server acts at most once. The answer
    /// is the server's message, or its error code and text.
    pub async fn send(&self, intent: &Intent) -> Result<String, String> {
        let mut last = String::new();
        for attempt in 0..SEND_TRIES {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_millis(250 << attempt)).await;
            }
            let sent = self
                .client
                .post(format!("{}{}", self.base, intent.path))
                .bearer_auth(self.token.expose())
                .header("idempotency-key", &intent.key)
                .json(&intent.body)
                .timeout(Duration::from_secs(10))
                .send()
                .await;
            let response = match sent {
                Ok(r) => r,
                Err(e) => {
                    last = describe(&e);
                    continue;
                }
            };
            let status = response.status();
            let body = match response.bytes().await {
                Ok(b) => b,
                Err(e) => {
                    last = describe(&e);
                    continue;
                }
            };
            if status.is_success() {
                return Ok(match decode_clean::<InterventionResult>(&body) {
                    Ok(result) => format!("{} (audit #{})", result.message, result.audit_seq),
                    Err(_) => match decode_clean::<serde_json::Value>(&body) {
                        Ok(v) => format!("recorded (audit #{})", v["audit_seq"]),
                        Err(_) => "done".to_owned(),
                    },
                });
            }
            let error = decode_clean::<ErrorBody>(&body)
                .map(|e| format!("{} {}", e.code, e.message))
                .unwrap_or_else(|_| format!("the API answered {}", status.as_u16()));
            let in_flight = status == StatusCode::CONFLICT && error.starts_with("IDEMPOTENCY_IN_FLIGHT");
            if status.is_server_error() || in_flight {
                last = error;
                continue;
            }
            return Err(error);
        }
        Err(format!("{last}; gave up after {SEND_TRIES} tries (one Idempotency-Key: never applied twice)"))
    }
}

fn retry_after(response: &reqwest::Response) -> Option<Duration> {
    response
        .headers()
        .get(RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok())
        .map(Duration::from_secs)
}

pub struct Poller;

impl Poller {
    pub fn spawn(base: &str, token: Secret, actions: mpsc::Sender<Action>) -> mpsc::UnboundedSender<Request> {
        let http = Arc::new(Http::new(base, token));
        let (tx, rx) = mpsc::unbounded_channel();
        let (watch_tx, watch_rx) = watch::channel(Watch::Nothing);
        let (version_tx, version_rx) = watch::channel(0i64);
        let refresh = Arc::new(Notify::new());
        let kick = Arc::new(Notify::new());
        tokio::spawn(feed(http.clone(), actions.clone(), version_tx, refresh.clone()));
        tokio::spawn(watcher(http.clone(), actions.clone(), watch_rx, version_rx, kick.clone()));
        tokio::spawn(dispatch(rx, http, actions, watch_tx, refresh, kick));
        tx
    }
}

async fn dispatch(
    mut requests: mpsc::UnboundedReceiver<Request>,
    http: Arc<Http>,
    actions: mpsc::Sender<Action>,
    watch_tx: watch::Sender<Watch>,
    refresh: Arc<Notify>,
    kick: Arc<Notify>,
) {
    while let Some(request) = requests.recv().await {
        match request {
            Request::Watch(w) => {
                watch_tx.send_replace(w);
            }
            Request::Refresh => {
                refresh.notify_one();
                // Marks the watch changed: ETags are dropped and all is fetched.
                watch_tx.send_modify(|_| {});
            }
            Request::Send(intent) => {
                let (http, actions, kick) = (http.clone(), actions.clone(), kick.clone());
                tokio::spawn(async move {
                    let outcome = http.send(&intent).await;
                    let _ = actions.send(Action::Sent { key: intent.key.clone(), outcome }).await;
                    kick.notify_one();
                });
            }
        }
    }
}

/// Long-polls the incident list; publishes each new version to the watcher.
async fn feed(http: Arc<Http>, actions: mpsc::Sender<Action>, version: watch::Sender<i64>, refresh: Arc<Notify>) {
    let mut attempt = 0u32;
    let mut since: Option<i64> = None;
    let mut who_known = false;
    loop {
        if !who_known
            && let Ok((_, _, body)) = http.get("/api/v1/whoami", None, Duration::from_secs(10)).await
            && let Ok(who) = decode_clean::<WhoAmI>(&body)
        {
            who_known = true;
            let _ = actions.send(Action::Whoami(who)).await;
        }
        let path = match since {
            None => "/api/v1/incidents?limit=500".to_owned(),
            Some(v) => format!("/api/v1/incidents?limit=500&since={v}&wait={WAIT_SECONDS}"),
        };
        let outcome = tokio::select! {
            outcome = http.get(&path, None, Duration::from_secs(WAIT_SECONDS + 10)) => outcome,
            _ = refresh.notified() => {
                since = None;
                continue;
            }
        };
        let failure = match outcome {
            Ok((StatusCode::NOT_MODIFIED, _, _)) => continue,
            Ok((_, _, body)) => match decode_clean::<IncidentPage>(&body) {
                Ok(page) => {
                    attempt = 0;
                    since = Some(page.version);
                    version.send_replace(page.version);
                    if actions.send(Action::Incidents(Box::new(page), Utc::now())).await.is_err() {
                        return; // the UI is gone
                    }
                    continue;
                }
                Err(e) => Failure::Answer(format!("unreadable answer: {e}"), None),
            },
            Err(failure) => {
                since = None;
                failure
            }
        };
        let retry_after = match &failure {
            Failure::Answer(_, r) => *r,
            Failure::Network(_) => None,
        };
        if actions.send(Action::Offline(failure.reason().to_owned())).await.is_err() {
            return;
        }
        tokio::time::sleep(backoff(attempt, retry_after)).await;
        attempt = attempt.saturating_add(1);
    }
}

/// Fetches the screen's data: on a new screen, when the feed moves, after
/// an intent, and every [`SCREEN_PERIOD`] for run data.
async fn watcher(
    http: Arc<Http>,
    actions: mpsc::Sender<Action>,
    mut watched: watch::Receiver<Watch>,
    mut version: watch::Receiver<i64>,
    kick: Arc<Notify>,
) {
    let mut etags: HashMap<String, String> = HashMap::new();
    loop {
        let current = watched.borrow_and_update().clone();
        fetch(&http, &actions, &current, &mut etags).await;
        let period = match current {
            Watch::Nothing | Watch::Incident(_) => None,
            _ => Some(SCREEN_PERIOD),
        };
        let timer = async {
            match period {
                Some(p) => tokio::time::sleep(p).await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            changed = watched.changed() => {
                if changed.is_err() {
                    return; // the UI is gone
                }
                // A new screen starts empty: fetch it whole.
                etags.clear();
            }
            changed = version.changed() => {
                if changed.is_err() {
                    return;
                }
            }
            _ = kick.notified() => {}
            _ = timer => {}
        }
    }
}

async fn fetch(http: &Http, actions: &mpsc::Sender<Action>, watch: &Watch, etags: &mut HashMap<String, String>) {
    let paths: Vec<String> = match watch {
        Watch::Nothing => return,
        Watch::Incident(id) => vec![format!("/api/v1/incidents/{id}")],
        Watch::Activity(dim) => [Topic::Live, Topic::Completed]
            .iter()
            .map(|t| format!("/api/v1/activity/runs/{}/by-dimension?dim={}", t.path_segment(), dim.as_str()))
            .collect(),
        Watch::Agents => vec!["/api/v1/agents".to_owned()],
        Watch::Audit => vec!["/api/v1/audit?limit=200".to_owned()],
        Watch::Attribution => vec!["/api/v1/attribution/stats".to_owned()],
    };
    for path in paths {
        let body = match http.get(&path, etags.get(&path).map(String::as_str), Duration::from_secs(10)).await {
            Ok((StatusCode::NOT_MODIFIED, _, _)) => continue,
            Ok((_, tag, body)) => {
                if let Some(tag) = tag {
                    etags.insert(path.clone(), tag);
                }
                body
            }
            // The feed reports the connection; say only what it cannot.
            Err(Failure::Network(_)) => return,
            Err(Failure::Answer(reason, _)) => {
                let _ = actions.send(Action::FetchFailed(format!("{path}: {reason}"))).await;
                return;
            }
        };
        let action = match watch {
            Watch::Incident(_) => decode_clean::<IncidentDetail>(&body).map(|d| Action::Detail(Box::new(d))),
            Watch::Activity(_) => decode_clean::<Distribution>(&body).map(|d| Action::Distribution(Box::new(d))),
            Watch::Agents => decode_clean::<Vec<AgentSummary>>(&body).map(Action::Agents),
            Watch::Audit => decode_clean::<AuditPage>(&body).map(|p| Action::Audit(Box::new(p))),
            Watch::Attribution => decode_clean::<AttributionStats>(&body).map(|s| Action::Attribution(Box::new(s))),
            Watch::Nothing => return,
        };
        let action = action.unwrap_or_else(|e| {
            etags.remove(&path);
            Action::FetchFailed(format!("{path}: unreadable answer: {e}"))
        });
        if actions.send(action).await.is_err() {
            return;
        }
    }
}

/// A short reason for the status bar: never the URL's credentials or the token.
fn describe(e: &reqwest::Error) -> String {
    if e.is_timeout() {
        "timed out".to_owned()
    } else if e.is_connect() {
        "cannot connect".to_owned()
    } else {
        "network error".to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_is_jittered_capped_and_honours_retry_after() {
        for attempt in 0..40 {
            let d = backoff(attempt, None);
            assert!(d <= BACKOFF_CAP, "{attempt}: {d:?}");
            assert!(d <= BACKOFF_BASE * 2u32.pow(attempt.min(16)), "{attempt}: {d:?}");
        }
        assert!(backoff(0, Some(Duration::from_secs(7))) >= Duration::from_secs(7));
        let spread: std::collections::BTreeSet<_> = (0..50).map(|_| backoff(10, None)).collect();
        assert!(spread.len() > 10, "full jitter spreads retries");
    }
}
