//! The network side of the console, on its own task: it owns the HTTP client,
//! long-polls the incident feed, fetches the watched incident with ETags, and
//! only ever sends [`Action`]s. The UI never waits on it.

use super::app::Action;
use super::config::Secret;
use super::sanitize::decode_clean;
use crate::api::{IncidentDetail, IncidentPage, WhoAmI};
use chrono::Utc;
use rand::Rng;
use reqwest::StatusCode;
use reqwest::header::{ETAG, IF_NONE_MATCH, RETRY_AFTER};
use std::time::Duration;
use tokio::sync::mpsc;

/// What the UI asks of the poller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Request {
    Watch(Option<i64>),
    Refresh,
}

/// How long a long poll waits on the server (it answers at once on change).
const WAIT_SECONDS: u64 = 25;
const BACKOFF_BASE: Duration = Duration::from_millis(500);
const BACKOFF_CAP: Duration = Duration::from_secs(30);

/// Full jitter: a random wait up to `base · 2^attempt`, capped.
pub fn backoff(attempt: u32, retry_after: Option<Duration>) -> Duration {
    let ceiling = BACKOFF_BASE.saturating_mul(2u32.saturating_pow(attempt.min(16))).min(BACKOFF_CAP);
    let jitter = Duration::from_millis(rand::rng().random_range(0..=ceiling.as_millis() as u64));
    jitter.max(retry_after.unwrap_or_default()).min(BACKOFF_CAP.max(retry_after.unwrap_or_default()))
}

#[derive(Debug)]
enum Failure {
    /// Why, for the status bar, and how long the server asked us to wait.
    Down(String, Option<Duration>),
}

pub struct Poller {
    http: reqwest::Client,
    base: String,
    token: Secret,
    actions: mpsc::Sender<Action>,
}

impl Poller {
    pub fn spawn(base: &str, token: Secret, actions: mpsc::Sender<Action>) -> mpsc::UnboundedSender<Request> {
        let http = crate::sdk::http_client_builder().build().expect("an HTTP client");
        let (tx, rx) = mpsc::unbounded_channel();
        let poller = Poller { http, base: base.trim_end_matches('/').to_owned(), token, actions };
        tokio::spawn(poller.run(rx));
        tx
    }

    async fn get(
        &self,
        path: &str,
        etag: Option<&str>,
        timeout: Duration,
    ) -> Result<(StatusCode, Option<String>, Vec<u8>), Failure> {
        let mut request =
            self.http.get(format!("{}{path}", self.base)).bearer_auth(self.token.expose()).timeout(timeout);
        if let Some(tag) = etag {
            request = request.header(IF_NONE_MATCH, tag);
        }
        let response = request.send().await.map_err(|e| Failure::Down(describe(&e), None))?;
        let status = response.status();
        let retry_after = response
            .headers()
            .get(RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.parse::<u64>().ok())
            .map(Duration::from_secs);
        let tag = response.headers().get(ETAG).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let body = response.bytes().await.map_err(|e| Failure::Down(describe(&e), None))?;
        match status {
            s if s.is_success() || s == StatusCode::NOT_MODIFIED => Ok((status, tag, body.to_vec())),
            StatusCode::UNAUTHORIZED => Err(Failure::Down("the token was refused (401)".into(), Some(BACKOFF_CAP))),
            StatusCode::FORBIDDEN => {
                Err(Failure::Down("this token may not read incidents (403)".into(), Some(BACKOFF_CAP)))
            }
            s => Err(Failure::Down(format!("the API answered {}", s.as_u16()), retry_after)),
        }
    }

    async fn run(self, mut requests: mpsc::UnboundedReceiver<Request>) {
        let mut attempt = 0u32;
        let mut since: Option<i64> = None;
        let mut watched: Option<i64> = None;
        let mut detail_tag: Option<String> = None;
        let mut who_known = false;
        loop {
            if !who_known
                && let Ok((_, _, body)) = self.get("/api/v1/whoami", None, Duration::from_secs(10)).await
                && let Ok(who) = decode_clean::<WhoAmI>(&body)
            {
                who_known = true;
                let _ = self.actions.send(Action::Whoami(who)).await;
            }
            let path = match since {
                None => "/api/v1/incidents?limit=500".to_owned(),
                Some(v) => format!("/api/v1/incidents?limit=500&since={v}&wait={WAIT_SECONDS}"),
            };
            let poll = self.get(&path, None, Duration::from_secs(WAIT_SECONDS + 10));
            let outcome = tokio::select! {
                outcome = poll => Some(outcome),
                request = requests.recv() => match request {
                    None => return, // the UI is gone
                    Some(Request::Watch(id)) => {
                        watched = id;
                        detail_tag = None;
                        None
                    }
                    Some(Request::Refresh) => {
                        since = None;
                        detail_tag = None;
                        None
                    }
                },
            };
            let changed = match outcome {
                None => true,
                Some(Ok((StatusCode::NOT_MODIFIED, _, _))) => false,
                Some(Ok((_, _, body))) => match decode_clean::<IncidentPage>(&body) {
                    Ok(page) => {
                        attempt = 0;
                        since = Some(page.version);
                        if self.actions.send(Action::Incidents(Box::new(page), Utc::now())).await.is_err() {
                            return;
                        }
                        true
                    }
                    Err(e) => {
                        self.fail(&mut attempt, Failure::Down(format!("unreadable answer: {e}"), None)).await;
                        false
                    }
                },
                Some(Err(failure)) => {
                    since = None;
                    self.fail(&mut attempt, failure).await;
                    false
                }
            };
            if let (true, Some(id)) = (changed, watched) {
                match self.get(&format!("/api/v1/incidents/{id}"), detail_tag.as_deref(), Duration::from_secs(10)).await
                {
                    Ok((StatusCode::NOT_MODIFIED, _, _)) => {}
                    Ok((_, tag, body)) => {
                        if let Ok(detail) = decode_clean::<IncidentDetail>(&body) {
                            detail_tag = tag;
                            let _ = self.actions.send(Action::Detail(Box::new(detail))).await;
                        }
                    }
                    Err(failure) => self.fail(&mut attempt, failure).await,
                }
            }
        }
    }

    async fn fail(&self, attempt: &mut u32, failure: Failure) {
        let Failure::Down(reason, retry_after) = failure;
        let _ = self.actions.send(Action::Offline(reason)).await;
        let wait = backoff(*attempt, retry_after);
        *attempt = attempt.saturating_add(1);
        tokio::time::sleep(wait).await;
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
