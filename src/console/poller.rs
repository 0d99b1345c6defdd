//! The network side of the console, on tasks of its own: it owns the HTTP
//! client and only ever sends [`Action`]s; the UI never waits on it.
//!
//! - the feed loads the incident list by cursor, then long-polls only its
//!   changes (`since`/`wait`/`changed_after`);
//! - the watcher fetches what the screen shows (with ETags) when the feed
//!   moves, when the screen changes, and every few seconds for run data;
//! - each intent is sent on a task of its own, retried with the same
//!   Idempotency-Key, so a flaky link never acts twice.

use super::app::{Action, MAX_INCIDENTS, Watch};
use super::config::Secret;
use super::intent::Intent;
use super::sanitize::{clean_lines, decode_clean};
use super::screens::ScreenData;
use crate::api::{
    AgentSummary, AuditPage, Distribution, ErrorBody, IncidentDetail, IncidentPage, InterventionResult, RolloutStatus,
    Topic, WhoAmI,
};
use chrono::Utc;
use rand::Rng;
use reqwest::StatusCode;
use reqwest::header::{ACCEPT_ENCODING, CONTENT_ENCODING, ETAG, IF_NONE_MATCH};
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
    /// One incident's detail, once.
    FetchDetail(i64),
    /// A resolved incident's draft postmortem, once.
    FetchPostmortem(i64),
}

/// How long a long poll waits on the server (it answers at once on change).
const WAIT_SECONDS: u64 = 25;
const BACKOFF_BASE: Duration = Duration::from_millis(500);
const BACKOFF_CAP: Duration = Duration::from_secs(30);
/// While the API cannot be reached at all, it is probed at least this
/// often, so the console is live again within 2 s of its return. A server
/// that answers with errors is given the full [`BACKOFF_CAP`].
const RECONNECT_CAP: Duration = Duration::from_millis(1500);
/// A refused token is asked again this rarely, or at once on Ctrl-R.
const UNAUTHORIZED_RETRY: Duration = Duration::from_secs(300);
/// Run data (activity, agents, audit, attribution) has no change feed.
const SCREEN_PERIOD: Duration = Duration::from_secs(5);
/// Tries of one intent before it is reported as failed.
const SEND_TRIES: u32 = 4;

/// A random wait up to `base · 2^attempt` ([`crate::sdk::Backoff`]), capped
/// at `cap`; never shorter than the server's Retry-After.
pub fn backoff(attempt: u32, retry_after: Option<Duration>, cap: Duration) -> Duration {
    let policy = crate::sdk::Backoff { base: BACKOFF_BASE, cap };
    policy.delay(attempt, rand::rng().random(), retry_after)
}

#[derive(Debug)]
enum Failure {
    /// The server was not reached: for the status bar.
    Network(String),
    /// The server answered with an error; how long it asked us to wait.
    Answer(String, Option<Duration>),
    /// The server refused the token: asking again will not help.
    Unauthorized(String),
    /// 404: what was asked for does not exist.
    NotFound(String),
}

impl Failure {
    /// How long to wait before the `attempt`-th retry.
    fn pause(&self, attempt: u32) -> Duration {
        match self {
            Failure::Network(_) => backoff(attempt, None, RECONNECT_CAP),
            Failure::Answer(_, retry_after) => backoff(attempt, *retry_after, BACKOFF_CAP),
            Failure::Unauthorized(_) => UNAUTHORIZED_RETRY,
            Failure::NotFound(_) => backoff(attempt, None, BACKOFF_CAP),
        }
    }

    fn reason(&self) -> &str {
        match self {
            Failure::Network(r) | Failure::Answer(r, _) | Failure::Unauthorized(r) | Failure::NotFound(r) => r,
        }
    }
}

/// The console's HTTP side: the servers, the token, one client with its
/// pool. `api_url` may name several servers, comma-separated: when the one in
/// use cannot be reached, the next is tried.
pub struct Http {
    client: reqwest::Client,
    bases: Vec<String>,
    /// Index into `bases` of the server in use.
    current: std::sync::atomic::AtomicUsize,
    token: Secret,
    /// What the server last said of itself: "0.2.0 (API v1)".
    server_said: parking_lot::Mutex<Option<String>>,
}

/// The servers an `api_url` names: one, or several separated by commas.
pub fn servers(api_url: &str) -> Vec<String> {
    api_url.split(',').map(|u| u.trim().trim_end_matches('/').to_owned()).filter(|u| !u.is_empty()).collect()
}

/// A server's address as the status bar shows it.
pub fn host_of(base: &str) -> String {
    base.trim_start_matches("http://").trim_start_matches("https://").trim_end_matches('/').to_owned()
}

impl Http {
    pub fn new(api_url: &str, token: Secret) -> Http {
        Http::with_client(api_url, token, crate::sdk::http_client_builder().build().expect("an HTTP client"))
    }

    /// `new`, with this HTTP client (one trusting a private CA).
    pub fn with_client(api_url: &str, token: Secret, client: reqwest::Client) -> Http {
        let mut bases = servers(api_url);
        if bases.is_empty() {
            bases.push(api_url.to_owned());
        }
        Http { client, bases, current: 0.into(), token, server_said: Default::default() }
    }

    /// The server in use.
    pub fn base(&self) -> &str {
        &self.bases[self.current.load(std::sync::atomic::Ordering::Relaxed) % self.bases.len()]
    }

    /// `base` could not be reached: the next server is used from now on
    /// (unless another request moved on already).
    fn fail_over(&self, base: &str) {
        use std::sync::atomic::Ordering;
        let at = self.current.load(Ordering::Relaxed);
        if self.bases[at % self.bases.len()] == base && self.bases.len() > 1 {
            let _ =
                self.current.compare_exchange(at, (at + 1) % self.bases.len(), Ordering::Relaxed, Ordering::Relaxed);
            tracing::warn!(from = base, to = self.base(), "server unreachable; failing over");
        }
    }

    /// What the server last said of its version and API, kept printable.
    pub fn server_said(&self) -> Option<String> {
        self.server_said.lock().clone()
    }

    fn heard(&self, headers: &reqwest::header::HeaderMap) {
        let said = |name: &str| {
            headers.get(name).map(|v| {
                String::from_utf8_lossy(v.as_bytes())
                    .chars()
                    .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | ',' | '-' | '+' | ' '))
                    .take(40)
                    .collect::<String>()
            })
        };
        if let Some(version) = said("mandate-version") {
            let api = said("mandate-api").unwrap_or_else(|| "not said".into());
            *self.server_said.lock() = Some(format!("{version} (API {api})"));
        }
    }

    async fn get(
        &self,
        path: &str,
        etag: Option<&str>,
        timeout: Duration,
    ) -> Result<(StatusCode, Option<String>, Vec<u8>), Failure> {
        let base = self.base().to_owned();
        let mut request = self
            .client
            .get(format!("{base}{path}"))
            .bearer_auth(self.token.expose())
            .header(ACCEPT_ENCODING, "gzip")
            .timeout(timeout);
        if let Some(tag) = etag {
            request = request.header(IF_NONE_MATCH, tag);
        }
        let response = request.send().await.map_err(|e| {
            self.fail_over(&base);
            Failure::Network(describe(&e))
        })?;
        let status = response.status();
        self.heard(response.headers());
        let retry_after = crate::sdk::retry_after(response.headers());
        let tag = response.headers().get(ETAG).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let gzipped = response.headers().get(CONTENT_ENCODING).is_some_and(|v| v.as_bytes() == b"gzip");
        let mut body = response.bytes().await.map_err(|e| Failure::Network(describe(&e)))?.to_vec();
        if gzipped {
            body = gunzip(&body).map_err(|e| Failure::Answer(format!("unreadable gzip answer: {e}"), None))?;
        }
        match status {
            s if s.is_success() || s == StatusCode::NOT_MODIFIED => Ok((status, tag, body)),
            StatusCode::UNAUTHORIZED => Err(Failure::Unauthorized("401".into())),
            StatusCode::NOT_FOUND => Err(Failure::NotFound("the API answered 404".into())),
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
            let base = self.base().to_owned();
            let sent = self
                .client
                .post(format!("{base}{}", intent.path))
                .bearer_auth(self.token.expose())
                .header("idempotency-key", &intent.key)
                .json(&intent.body)
                .timeout(Duration::from_secs(10))
                .send()
                .await;
            let response = match sent {
                Ok(r) => r,
                Err(e) => {
                    // The next try goes to the next server, with the same key.
                    if e.is_connect() {
                        self.fail_over(&base);
                    }
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
                // A stop's answer, and no other, has "stop" (null when nothing changed).
                let is_stop = decode_clean::<serde_json::Value>(&body).is_ok_and(|v| v.get("stop").is_some());
                if is_stop && let Ok(done) = decode_clean::<crate::api::StopResult>(&body) {
                    return Ok(match done.audit_seq {
                        Some(seq) => format!("{} (audit #{seq})", done.message),
                        None => format!("{} (nothing to record)", done.message),
                    });
                }
                // An approval request's answer, and no other, has "digest".
                let is_approval = decode_clean::<serde_json::Value>(&body).is_ok_and(|v| v.get("digest").is_some());
                if is_approval && let Ok(a) = decode_clean::<crate::api::ApprovalRequest>(&body) {
                    let what = a.action();
                    return Ok(match a.status {
                        crate::api::ApprovalStatus::Waiting => format!(
                            "approval #{}: {} of {} approvals given; it waits for another person",
                            a.id,
                            a.approvals.len(),
                            a.approvals_needed
                        ),
                        _ => format!(
                            "{} {}",
                            a.agent_id,
                            match a.proceed {
                                true => format!("goes ahead with {what}"),
                                false => format!("is refused {what}"),
                            }
                        ),
                    });
                }
                // A silence's answer, and no other, has "silence".
                let is_silence = decode_clean::<serde_json::Value>(&body).is_ok_and(|v| v.get("silence").is_some());
                if is_silence && let Ok(done) = decode_clean::<crate::api::SilenceResult>(&body) {
                    return Ok(format!("{} (audit #{})", done.message, done.audit_seq.unwrap_or_default()));
                }
                return Ok(match decode_clean::<InterventionResult>(&body) {
                    Ok(result) => match result.audit_seq {
                        Some(seq) => format!("{} (audit #{seq})", result.message),
                        None => format!("{} (nothing to record)", result.message),
                    },
                    Err(_) => match decode_clean::<crate::api::Dispute>(&body) {
                        Ok(d) => format!("disputed (dispute #{})", d.id),
                        Err(_) if let Ok(o) = decode_clean::<crate::api::OutreachSent>(&body) => {
                            let to: Vec<&str> = o.sent_to.iter().map(|t| t.who.as_str()).collect();
                            format!("sent to {} by {} (audit #{})", to.join(", "), o.channels.join(", "), o.audit_seq)
                        }
                        Err(_) => match decode_clean::<serde_json::Value>(&body) {
                            Ok(v) => format!("recorded (audit #{})", v["audit_seq"]),
                            Err(_) => "done".to_owned(),
                        },
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

/// A gzipped answer, decompressed; at most 64 MiB, like any answer.
fn gunzip(body: &[u8]) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut out = Vec::new();
    flate2::read::GzDecoder::new(body).take(64 << 20).read_to_end(&mut out)?;
    Ok(out)
}

pub struct Poller;

impl Poller {
    pub fn spawn(base: &str, token: Secret, actions: mpsc::Sender<Action>) -> mpsc::UnboundedSender<Request> {
        let client = crate::sdk::http_client_builder().build().expect("an HTTP client");
        Poller::spawn_with(base, token, client, actions)
    }

    /// `spawn`, with this HTTP client (one trusting a private CA).
    pub fn spawn_with(
        base: &str,
        token: Secret,
        client: reqwest::Client,
        actions: mpsc::Sender<Action>,
    ) -> mpsc::UnboundedSender<Request> {
        let http = Arc::new(Http::with_client(base, token, client));
        let (tx, rx) = mpsc::unbounded_channel();
        let (watch_tx, watch_rx) = watch::channel(Watch::Nothing);
        let (version_tx, version_rx) = watch::channel(0i64);
        let refresh = Arc::new(Notify::new());
        let kick = Arc::new(Notify::new());
        tokio::spawn(feed(http.clone(), actions.clone(), version_tx, refresh.clone()));
        tokio::spawn(stops_watcher(http.clone(), actions.clone(), watch_rx.clone()));
        tokio::spawn(approvals_watcher(http.clone(), actions.clone(), version_rx.clone()));
        tokio::spawn(impact_watcher(http.clone(), actions.clone(), watch_rx.clone()));
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
            Request::FetchDetail(id) => {
                let (http, actions) = (http.clone(), actions.clone());
                tokio::spawn(async move {
                    let mut etags = HashMap::new();
                    fetch(&http, &actions, &Watch::Incident(id), &mut etags).await;
                });
            }
            Request::FetchPostmortem(id) => {
                let (http, actions) = (http.clone(), actions.clone());
                tokio::spawn(async move {
                    let path = format!("/api/v1/incidents/{id}/postmortem");
                    let action = match http.get(&path, None, Duration::from_secs(20)).await {
                        // Nothing from the server reaches a terminal unclean,
                        // the file it is written to included.
                        Ok((_, _, body)) => Action::Postmortem(id, clean_lines(&String::from_utf8_lossy(&body))),
                        Err(Failure::Answer(reason, _) | Failure::NotFound(reason)) => {
                            Action::FetchFailed(format!("the postmortem of #{id}: {reason}"))
                        }
                        Err(Failure::Network(reason) | Failure::Unauthorized(reason)) => {
                            Action::FetchFailed(format!("the postmortem of #{id}: {reason}"))
                        }
                    };
                    let _ = actions.send(action).await;
                });
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

/// Incidents per request; the server's largest page.
const PAGE: u32 = 500;

/// What one turn of the feed brought.
enum Feed {
    /// The whole list, page after page.
    Full(IncidentPage),
    /// Only the incidents that changed since the version the console has.
    Changes(IncidentPage),
    /// Nothing changed while the long poll waited.
    Unchanged,
}

/// Loads the whole list by cursor (newest first), at most [`MAX_INCIDENTS`].
/// The version is the first page's, so a change made while paging is
/// fetched again by the next long poll.
async fn load_all(http: &Http) -> Result<Feed, Failure> {
    let get = |path: String| async move { decode_page(http.get(&path, None, Duration::from_secs(10)).await?) };
    let mut all = get(format!("/api/v1/incidents?limit={PAGE}")).await?;
    while all.incidents.len() < MAX_INCIDENTS
        && let Some(cursor) = all.next_cursor.take()
    {
        let page = get(format!("/api/v1/incidents?limit={PAGE}&cursor={}", encode(&cursor))).await?;
        all.incidents.extend(page.incidents);
        all.counts = page.counts;
        all.next_cursor = page.next_cursor;
    }
    all.incidents.truncate(MAX_INCIDENTS);
    all.next_cursor = None;
    Ok(Feed::Full(all))
}

/// Long-polls for the incidents changed after `since`.
async fn changes(http: &Http, since: i64) -> Result<Feed, Failure> {
    let path = format!("/api/v1/incidents?limit={PAGE}&since={since}&wait={WAIT_SECONDS}&changed_after={since}");
    let answer = http.get(&path, None, Duration::from_secs(WAIT_SECONDS + 10)).await?;
    if answer.0 == StatusCode::NOT_MODIFIED {
        return Ok(Feed::Unchanged);
    }
    decode_page(answer).map(Feed::Changes)
}

fn decode_page((_, _, body): (StatusCode, Option<String>, Vec<u8>)) -> Result<IncidentPage, Failure> {
    decode_clean::<IncidentPage>(&body).map_err(|e| Failure::Answer(format!("unreadable answer: {e}"), None))
}

fn encode(raw: &str) -> String {
    form_urlencoded::byte_serialize(raw.as_bytes()).collect()
}

/// Loads the incident list once, then long-polls its changes; publishes
/// each new version to the watcher.
async fn feed(http: Arc<Http>, actions: mpsc::Sender<Action>, version: watch::Sender<i64>, refresh: Arc<Notify>) {
    let mut attempt = 0u32;
    // None: the next turn loads the whole list.
    let mut since: Option<i64> = None;
    let mut who_known = false;
    // The server the list came from: after a failover, it is loaded whole
    // from the new one, and the status bar says which it is.
    let mut serving = String::new();
    loop {
        if http.base() != serving {
            serving = http.base().to_owned();
            since = None;
            let _ = actions.send(Action::Server(host_of(&serving))).await;
        }
        if !who_known
            && let Ok((_, _, body)) = http.get("/api/v1/whoami", None, Duration::from_secs(10)).await
            && let Ok(who) = decode_clean::<WhoAmI>(&body)
        {
            who_known = true;
            let _ = actions.send(Action::Whoami(who, http.server_said())).await;
        }
        let turn = async {
            match since {
                None => load_all(&http).await,
                Some(v) => changes(&http, v).await,
            }
        };
        let outcome = tokio::select! {
            outcome = turn => outcome,
            _ = refresh.notified() => {
                since = None;
                continue;
            }
        };
        let (page_version, action) = match outcome {
            Ok(Feed::Unchanged) => {
                if actions.send(Action::Confirmed(Utc::now())).await.is_err() {
                    return;
                }
                continue;
            }
            Ok(Feed::Full(page)) => (page.version, Action::Incidents(Box::new(page), Utc::now())),
            // The server's history is older than ours (restored or reset):
            // start again from the whole list.
            Ok(Feed::Changes(page)) if since.is_some_and(|v| page.version < v) => {
                since = None;
                continue;
            }
            Ok(Feed::Changes(page)) => (page.version, Action::IncidentChanges(Box::new(page), Utc::now())),
            Err(failure) => {
                since = None;
                let action = match &failure {
                    Failure::Unauthorized(reason) => {
                        who_known = false;
                        Action::Unauthorized(reason.clone())
                    }
                    other => Action::Offline(other.reason().to_owned()),
                };
                if actions.send(action).await.is_err() {
                    return;
                }
                // Ctrl-R asks again at once.
                tokio::select! {
                    _ = tokio::time::sleep(failure.pause(attempt)) => {}
                    _ = refresh.notified() => {}
                }
                attempt = attempt.saturating_add(1);
                continue;
            }
        };
        attempt = 0;
        since = Some(page_version);
        version.send_replace(page_version);
        if actions.send(action).await.is_err() {
            return; // the UI is gone
        }
    }
}

/// Fetches the screen's data: on a new screen, after an intent, and every
/// [`SCREEN_PERIOD`] for run data. The list's screens follow the feed; an
/// open incident follows its own version by long poll, so a war room sees
/// another operator's verdict or acknowledgement as soon as the list would.
async fn watcher(
    http: Arc<Http>,
    actions: mpsc::Sender<Action>,
    mut watched: watch::Receiver<Watch>,
    mut version: watch::Receiver<i64>,
    kick: Arc<Notify>,
) {
    let mut etags: HashMap<String, String> = HashMap::new();
    // The version of the open incident's detail on screen.
    let mut shown: Option<i64> = None;
    loop {
        let current = watched.borrow_and_update().clone();
        if let Some(v) = fetch(&http, &actions, &current, &mut etags).await {
            shown = Some(v);
        }
        let follows_feed = !matches!(current, Watch::Incident(_));
        let wait = async {
            match (&current, shown) {
                (Watch::Incident(id), Some(since)) => {
                    let tag = etags.get(&format!("/api/v1/incidents/{id}")).cloned();
                    follow_incident(&http, &actions, *id, since, tag).await
                }
                (Watch::Nothing | Watch::Incident(_), _) => std::future::pending().await,
                _ => {
                    tokio::time::sleep(SCREEN_PERIOD).await;
                    None
                }
            }
        };
        let mut new_screen = false;
        tokio::select! {
            changed = watched.changed() => {
                if changed.is_err() {
                    return; // the UI is gone
                }
                new_screen = true;
            }
            changed = version.changed(), if follows_feed => {
                if changed.is_err() {
                    return;
                }
            }
            _ = kick.notified() => {}
            followed = wait => {
                if let Some((v, tag)) = followed {
                    shown = Some(v);
                    if let (Watch::Incident(id), Some(tag)) = (&current, tag) {
                        etags.insert(format!("/api/v1/incidents/{id}"), tag);
                    }
                }
            }
        }
        if new_screen {
            // A new screen starts empty: fetch it whole.
            etags.clear();
            shown = None;
        }
    }
}

/// The stops in force, every [`SCREEN_PERIOD`] while an incident is open:
/// their counts (attempts refused, actions since) move without the
/// incident changing. Unchanged answers (304) cost nothing to draw.
async fn stops_watcher(http: Arc<Http>, actions: mpsc::Sender<Action>, watched: watch::Receiver<Watch>) {
    let mut etag: Option<String> = None;
    loop {
        tokio::time::sleep(SCREEN_PERIOD).await;
        if actions.is_closed() {
            return; // the UI is gone
        }
        if !matches!(*watched.borrow(), Watch::Incident(_)) {
            continue;
        }
        let path = "/api/v1/stops";
        if let Ok((status, tag, body)) = http.get(path, etag.as_deref(), Duration::from_secs(10)).await
            && status != StatusCode::NOT_MODIFIED
            && let Ok(stops) = decode_clean::<Vec<crate::api::StopSummary>>(&body)
        {
            etag = tag;
            let _ = actions.send(Action::Stops(stops)).await;
        }
    }
}

/// How often the impact of the incident on screen is measured again.
const IMPACT_PERIOD: Duration = Duration::from_secs(30);

/// The impact of the incident on screen, measured by the server's
/// Prometheus: when it opens and every [`IMPACT_PERIOD`]. A 404 (no
/// Prometheus configured, or an older server) is asked no more for that
/// incident.
async fn impact_watcher(http: Arc<Http>, actions: mpsc::Sender<Action>, mut watched: watch::Receiver<Watch>) {
    loop {
        if actions.is_closed() {
            return; // the UI is gone
        }
        let current = watched.borrow_and_update().clone();
        let Watch::Incident(id) = current else {
            if watched.changed().await.is_err() {
                return;
            }
            continue;
        };
        let path = format!("/api/v1/incidents/{id}/impact");
        match http.get(&path, None, Duration::from_secs(20)).await {
            Ok((_, _, body)) => {
                if let Ok(report) = decode_clean::<crate::api::ImpactReport>(&body) {
                    let _ = actions.send(Action::Impact(Box::new(report))).await;
                }
            }
            Err(Failure::NotFound(_)) => {
                if watched.changed().await.is_err() {
                    return;
                }
                continue;
            }
            Err(_) => {}
        }
        tokio::select! {
            changed = watched.changed() => if changed.is_err() { return },
            _ = tokio::time::sleep(IMPACT_PERIOD) => {}
        }
    }
}

/// How often the approval requests are fetched at most when nothing else
/// says they changed.
const APPROVALS_PERIOD: Duration = Duration::from_secs(3);

/// The approval requests, on every screen (the status bar counts the
/// waiting ones): when the feed moves (a request opens an incident, a
/// decision closes it) and every [`APPROVALS_PERIOD`].
/// A server without approvals (404) is asked no more.
async fn approvals_watcher(http: Arc<Http>, actions: mpsc::Sender<Action>, mut version: watch::Receiver<i64>) {
    loop {
        if actions.is_closed() {
            return; // the UI is gone
        }
        match http.get("/api/v1/approvals", None, Duration::from_secs(10)).await {
            Ok((_, _, body)) => {
                if let Ok(list) = decode_clean::<crate::api::ApprovalList>(&body) {
                    let _ = actions.send(Action::Approvals(Box::new(list))).await;
                }
            }
            Err(Failure::NotFound(_)) => return,
            // A refused token is said by the feed; asked again once the
            // feed is answered again.
            Err(Failure::Unauthorized(_)) => {
                if version.changed().await.is_err() {
                    return;
                }
                continue;
            }
            Err(_) => {}
        }
        tokio::select! {
            changed = version.changed() => if changed.is_err() { return },
            _ = tokio::time::sleep(APPROVALS_PERIOD) => {}
        }
    }
}

/// Waits (long poll) for incident `id` to move past version `since`, or
/// for its detail to differ from `etag` otherwise (by the deadline: what
/// follows the clock and other incidents); sends the new detail. Its version and
/// ETag when it answered with one; None when nothing changed or the request
/// failed (the feed reports the connection; a failure waits a little).
async fn follow_incident(
    http: &Http,
    actions: &mpsc::Sender<Action>,
    id: i64,
    since: i64,
    etag: Option<String>,
) -> Option<(i64, Option<String>)> {
    let path = format!("/api/v1/incidents/{id}?since={since}&wait={WAIT_SECONDS}");
    match http.get(&path, etag.as_deref(), Duration::from_secs(WAIT_SECONDS + 10)).await {
        Ok((StatusCode::NOT_MODIFIED, _, _)) => None,
        Ok((_, tag, body)) => match decode_clean::<IncidentDetail>(&body) {
            Ok(detail) => {
                let version = detail.summary.version;
                let _ = actions.send(Action::Detail(Box::new(detail))).await;
                Some((version, tag))
            }
            Err(e) => {
                let _ = actions.send(Action::FetchFailed(format!("{path}: unreadable answer: {e}"))).await;
                tokio::time::sleep(SCREEN_PERIOD).await;
                None
            }
        },
        Err(_) => {
            tokio::time::sleep(Duration::from_secs(2)).await;
            None
        }
    }
}

/// Fetches what `watch` shows; the version of the incident detail it
/// fetched, if it fetched one.
async fn fetch(
    http: &Http,
    actions: &mpsc::Sender<Action>,
    watch: &Watch,
    etags: &mut HashMap<String, String>,
) -> Option<i64> {
    let mut fetched = None;
    let paths: Vec<String> = match watch {
        Watch::Nothing => return fetched,
        Watch::Incident(id) => vec![
            format!("/api/v1/incidents/{id}"),
            "/api/v1/calibration/reliance".to_owned(),
            "/api/v1/stops".to_owned(),
        ],
        Watch::Activity(dim) => [Topic::Live, Topic::Completed]
            .iter()
            .map(|t| format!("/api/v1/activity/runs/{}/by-dimension?dim={}", t.path_segment(), dim.as_str()))
            .collect(),
        Watch::Agents => vec!["/api/v1/agents".to_owned(), "/api/v1/stops".to_owned()],
        Watch::Audit => vec!["/api/v1/audit?limit=200".to_owned()],
        Watch::Attribution => vec!["/api/v1/attribution/rollout".to_owned()],
        Watch::Routing => vec!["/api/v1/routing".to_owned(), "/api/v1/routing/usage".to_owned()],
        Watch::Notifications => vec!["/api/v1/notifications?limit=200".to_owned()],
        Watch::Calibration => vec!["/api/v1/calibration".to_owned(), "/api/v1/suggestions/stats".to_owned()],
        Watch::Patterns => vec!["/api/v1/patterns".to_owned(), "/api/v1/rules".to_owned()],
        Watch::Silences => vec!["/api/v1/silences".to_owned()],
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
            Err(Failure::Network(_) | Failure::Unauthorized(_)) => return fetched,
            Err(Failure::NotFound(_)) if matches!(watch, Watch::Incident(_)) => {
                if let Watch::Incident(id) = watch {
                    let _ = actions.send(Action::IncidentMissing(*id)).await;
                }
                return fetched;
            }
            Err(Failure::Answer(reason, _) | Failure::NotFound(reason)) => {
                let _ = actions.send(Action::FetchFailed(format!("{path}: {reason}"))).await;
                return fetched;
            }
        };
        let action =
            match watch {
                _ if path == "/api/v1/stops" => decode_clean::<Vec<crate::api::StopSummary>>(&body).map(Action::Stops),
                Watch::Incident(_) if path.ends_with("/reliance") => {
                    decode_clean::<crate::api::Reliance>(&body).map(|r| Action::Reliance(Box::new(r)))
                }
                Watch::Incident(_) => decode_clean::<IncidentDetail>(&body).map(|d| {
                    fetched = Some(d.summary.version);
                    Action::Detail(Box::new(d))
                }),
                Watch::Calibration if path.ends_with("/stats") => decode_clean::<crate::api::SuggestionStats>(&body)
                    .map(|s| Action::Data(ScreenData::SuggestionStats(Box::new(s)))),
                Watch::Calibration => decode_clean::<crate::api::Calibration>(&body)
                    .map(|c| Action::Data(ScreenData::Calibration(Box::new(c)))),
                Watch::Patterns if path.ends_with("/rules") => {
                    decode_clean::<crate::api::RuleList>(&body).map(|r| Action::Data(ScreenData::Rules(Box::new(r))))
                }
                Watch::Patterns => decode_clean::<crate::api::PatternList>(&body)
                    .map(|p| Action::Data(ScreenData::Patterns(Box::new(p)))),
                Watch::Activity(_) => {
                    decode_clean::<Distribution>(&body).map(|d| Action::Data(ScreenData::Distribution(Box::new(d))))
                }
                Watch::Agents => decode_clean::<Vec<AgentSummary>>(&body).map(|a| Action::Data(ScreenData::Agents(a))),
                Watch::Audit => decode_clean::<AuditPage>(&body).map(|p| Action::Data(ScreenData::Audit(Box::new(p)))),
                Watch::Attribution => {
                    decode_clean::<RolloutStatus>(&body).map(|s| Action::Data(ScreenData::Attribution(Box::new(s))))
                }
                Watch::Notifications => decode_clean::<crate::api::PageList>(&body)
                    .map(|l| Action::Data(ScreenData::Notifications(Box::new(l)))),
                Watch::Routing if path.ends_with("/usage") => decode_clean::<crate::api::RoutingUsage>(&body)
                    .map(|u| Action::Data(ScreenData::RoutingUsage(Box::new(u)))),
                Watch::Routing => decode_clean::<crate::routing::RoutingDocument>(&body)
                    .map(|d| Action::Data(ScreenData::Routing(Box::new(d)))),
                Watch::Silences => decode_clean::<crate::api::SilenceList>(&body)
                    .map(|l| Action::Data(ScreenData::Silences(Box::new(l)))),
                Watch::Nothing => return fetched,
            };
        let action = action.unwrap_or_else(|e| {
            etags.remove(&path);
            Action::FetchFailed(format!("{path}: unreadable answer: {e}"))
        });
        if actions.send(action).await.is_err() {
            return fetched;
        }
    }
    fetched
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
            let d = backoff(attempt, None, BACKOFF_CAP);
            assert!(d <= BACKOFF_CAP, "{attempt}: {d:?}");
            assert!(d <= BACKOFF_BASE * 2u32.pow(attempt.min(16)), "{attempt}: {d:?}");
        }
        assert!(backoff(0, Some(Duration::from_secs(7)), BACKOFF_CAP) >= Duration::from_secs(7));
        let spread: std::collections::BTreeSet<_> = (0..50).map(|_| backoff(10, None, BACKOFF_CAP)).collect();
        assert!(spread.len() > 10, "jitter spreads retries");
    }

    #[test]
    fn an_unreachable_api_is_probed_often_enough_to_be_live_within_2_s_of_its_return() {
        let down = Failure::Network("connection refused".into());
        let erring = Failure::Answer("the API answered 503".into(), None);
        let longest = (0..1000).map(|attempt| down.pause(attempt % 40)).max().unwrap();
        assert!(longest <= RECONNECT_CAP && RECONNECT_CAP < Duration::from_secs(2), "{longest:?}");
        assert!((0..1000).map(|_| erring.pause(20)).max().unwrap() > RECONNECT_CAP, "errors back off further");
    }
}
