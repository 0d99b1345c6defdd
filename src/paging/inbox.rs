//! Local receivers for every channel, speaking each one's published format:
//! a Standard Webhooks endpoint, a Slack incoming webhook, the PagerDuty
//! Events API v2 and an SMTP relay. `mandate demo` pages into them, and the
//! tests and benchmarks use them, including their failures: a scripted
//! answer per channel (500, 429 with Retry-After, a hang, a refusal).

use super::config::{EmailReceiver, PagerDutyReceiver, Receivers, SecretRef, SlackReceiver, WebhookReceiver};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use chrono::{DateTime, Utc};
use parking_lot::Mutex;
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::Notify;

/// How a receiver answers its next request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Answer {
    /// As the real service does when all is well.
    Accept,
    /// An HTTP status (or an SMTP reply code for email) with the service's
    /// own error body: 500, 503, 400, 404 …; 451 or 550 for email.
    Fail(u16),
    /// 429 with Retry-After in seconds.
    Throttle(u64),
    /// Never answers.
    Hang,
}

/// One request as it arrived.
#[derive(Debug, Clone)]
pub struct Received {
    /// webhook, slack, pagerduty or email.
    pub channel: String,
    pub at: DateTime<Utc>,
    /// Lower-case names.
    pub headers: HashMap<String, String>,
    /// The body as sent; for email, the message (headers and text).
    pub body: String,
    /// For email: the envelope recipient.
    pub to: Option<String>,
    /// Whether it was accepted (false: answered with a failure).
    pub accepted: bool,
}

impl Received {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).unwrap_or(serde_json::Value::Null)
    }
}

#[derive(Default)]
struct Shared {
    received: Mutex<Vec<Received>>,
    script: Mutex<HashMap<String, VecDeque<Answer>>>,
    arrived: Notify,
}

impl Shared {
    fn next_answer(&self, channel: &str) -> Answer {
        self.script.lock().get_mut(channel).and_then(VecDeque::pop_front).unwrap_or(Answer::Accept)
    }

    fn record(&self, r: Received) {
        self.received.lock().push(r);
        self.arrived.notify_waiters();
    }
}

/// The receivers, running until dropped.
pub struct Inbox {
    pub http: SocketAddr,
    pub smtp: SocketAddr,
    shared: Arc<Shared>,
    secrets: tempfile::TempDir,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

impl Drop for Inbox {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// The webhook signing secret the inbox verifies with.
const WEBHOOK_SECRET: &str = "whsec_bWFuZGF0ZS1sb2NhbC1pbmJveC1zZWNyZXQ=";
/// The Slack app's signing secret and bot token, as the inbox's Slack knows them.
const SLACK_SIGNING_SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
const SLACK_BOT_TOKEN: &str = "xoxb-0000000000-0000000000000-inboxbottokeninbox0000";

impl Inbox {
    /// Starts every receiver on loopback, on ports of its own.
    pub async fn start() -> std::io::Result<Inbox> {
        let shared = Arc::new(Shared::default());
        let http = TcpListener::bind("127.0.0.1:0").await?;
        let smtp = TcpListener::bind("127.0.0.1:0").await?;
        let (http_addr, smtp_addr) = (http.local_addr()?, smtp.local_addr()?);
        let app = Router::new()
            .route("/{channel}", post(receive))
            .route("/slack-api/{method}", post(slack_api))
            .with_state(shared.clone());
        let web = tokio::spawn(async move {
            let _ = axum::serve(http, app).await;
        });
        let mail = tokio::spawn(smtp_relay(smtp, shared.clone()));
        let secrets = tempfile::tempdir()?;
        std::fs::write(secrets.path().join("webhook.secret"), WEBHOOK_SECRET)?;
        std::fs::write(secrets.path().join("slack.url"), format!("http://{http_addr}/slack"))?;
        std::fs::write(secrets.path().join("pagerduty.key"), "R0UTINGKEY0000000000000000000001")?;
        std::fs::write(secrets.path().join("slack.signing"), SLACK_SIGNING_SECRET)?;
        std::fs::write(secrets.path().join("slack.bot"), SLACK_BOT_TOKEN)?;
        Ok(Inbox { http: http_addr, smtp: smtp_addr, shared, secrets, tasks: vec![web, mail] })
    }

    /// Receivers for every channel pointing here, secrets by file reference.
    pub fn receivers(&self) -> Receivers {
        let file =
            |name: &str| SecretRef { env: None, file: Some(self.secrets.path().join(name).display().to_string()) };
        Receivers {
            webhook: Some(WebhookReceiver {
                url: format!("http://{}/webhook", self.http),
                secret: file("webhook.secret"),
            }),
            slack: Some(SlackReceiver { url: file("slack.url"), signing_secret: None, bot_token: None, api_url: None }),
            pagerduty: Some(PagerDutyReceiver {
                routing_key: file("pagerduty.key"),
                url: Some(format!("http://{}/pagerduty", self.http)),
            }),
            email: Some(EmailReceiver {
                smtp: self.smtp.to_string(),
                from: "mandate@example.com".into(),
                address: "{name}@example.com".into(),
                addresses: Default::default(),
                username: None,
                password: None,
            }),
        }
    }

    /// The Slack receiver with interactivity: buttons on its pages, the
    /// app's signing secret, and its Web API here (`chat.update` at
    /// `/slack-api/chat.update`, channel `slack-api`).
    pub fn interactive_slack(&self) -> SlackReceiver {
        let file =
            |name: &str| SecretRef { env: None, file: Some(self.secrets.path().join(name).display().to_string()) };
        SlackReceiver {
            url: file("slack.url"),
            signing_secret: Some(file("slack.signing")),
            bot_token: Some(file("slack.bot")),
            api_url: Some(format!("http://{}/slack-api", self.http)),
        }
    }

    /// Where an interaction's `response_url` points here (channel `slack-response`).
    pub fn slack_response_url(&self) -> String {
        format!("http://{}/slack-response", self.http)
    }

    pub fn slack_signing_secret(&self) -> &'static str {
        SLACK_SIGNING_SECRET
    }

    pub fn webhook_secret(&self) -> &'static str {
        WEBHOOK_SECRET
    }

    /// The next answers of a channel, in order; after them, Accept.
    pub fn script(&self, channel: &str, answers: impl IntoIterator<Item = Answer>) {
        self.shared.script.lock().entry(channel.to_owned()).or_default().extend(answers);
    }

    /// Everything a channel received so far, accepted or not.
    pub fn received(&self, channel: &str) -> Vec<Received> {
        self.shared.received.lock().iter().filter(|r| r.channel == channel).cloned().collect()
    }

    /// Everything every channel received so far.
    pub fn all(&self) -> Vec<Received> {
        self.shared.received.lock().clone()
    }

    /// Waits until `channel` has accepted `n` requests, or `within` passes;
    /// what it accepted.
    pub async fn accepted(&self, channel: &str, n: usize, within: Duration) -> Vec<Received> {
        let deadline = tokio::time::Instant::now() + within;
        loop {
            let arrived = self.shared.arrived.notified();
            let got: Vec<Received> = self.received(channel).into_iter().filter(|r| r.accepted).collect();
            if got.len() >= n || tokio::time::Instant::now() >= deadline {
                return got;
            }
            let _ = tokio::time::timeout_at(deadline, arrived).await;
        }
    }
}

/// The headers as a receiver logs them: lower-case names, text values.
fn names_and_values(headers: &HeaderMap) -> HashMap<String, String> {
    headers.iter().map(|(k, v)| (k.as_str().to_owned(), v.to_str().unwrap_or_default().to_owned())).collect()
}

async fn receive(
    State(shared): State<Arc<Shared>>,
    Path(channel): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let answer = shared.next_answer(&channel);
    let body = String::from_utf8_lossy(&body).into_owned();
    let headers = names_and_values(&headers);
    if answer == Answer::Hang {
        // Recorded as it arrived, and never answered.
        shared.record(Received { channel, at: Utc::now(), headers, body, to: None, accepted: false });
        return std::future::pending().await;
    }
    let mut accepted = answer == Answer::Accept;
    if channel == "webhook" && accepted {
        // A receiver verifies the signature; an unsigned or forged one is refused.
        let id = headers.get("webhook-id").cloned().unwrap_or_default();
        let ts = headers.get("webhook-timestamp").and_then(|t| t.parse().ok()).unwrap_or(0);
        let sig = headers.get("webhook-signature").cloned().unwrap_or_default();
        accepted = super::verify_webhook(WEBHOOK_SECRET, &id, ts, &body, &sig);
    }
    let dedup =
        serde_json::from_str::<serde_json::Value>(&body).ok().and_then(|v| v["dedup_key"].as_str().map(str::to_owned));
    shared.record(Received { channel: channel.clone(), at: Utc::now(), headers, body, to: None, accepted });
    let status = |code: u16| StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    match (answer, channel.as_str()) {
        (Answer::Accept, _) if !accepted => (StatusCode::UNAUTHORIZED, "signature does not verify").into_response(),
        (Answer::Accept, "slack" | "slack-response") => (StatusCode::OK, "ok").into_response(),
        (Answer::Accept, "pagerduty") => (
            StatusCode::ACCEPTED,
            axum::Json(serde_json::json!({"status": "success", "message": "Event processed", "dedup_key": dedup})),
        )
            .into_response(),
        (Answer::Accept, _) => StatusCode::NO_CONTENT.into_response(),
        (Answer::Throttle(secs), "pagerduty") => {
            (StatusCode::TOO_MANY_REQUESTS, [("retry-after", secs.to_string())], "").into_response()
        }
        (Answer::Throttle(secs), _) => {
            (StatusCode::TOO_MANY_REQUESTS, [("retry-after", secs.to_string())], "rate_limited").into_response()
        }
        (Answer::Fail(code), "slack") => {
            let reason = match code {
                400 => "invalid_payload",
                403 => "action_prohibited",
                404 => "no_service",
                410 => "channel_is_archived",
                _ => "internal_error",
            };
            (status(code), reason).into_response()
        }
        (Answer::Fail(code), "pagerduty") if code < 500 => (
            status(code),
            axum::Json(serde_json::json!({"status": "invalid event", "message": "Event object is invalid", "errors": ["'payload' is invalid or missing"]})),
        )
            .into_response(),
        (Answer::Fail(code), _) => (status(code), "receiver failure").into_response(),
        (Answer::Hang, _) => unreachable!("answered above"),
    }
}

/// Slack's Web API (`chat.update`): a refusal is HTTP 200 with `"ok": false`
/// and its error, as Slack answers; 429 and 5xx are HTTP's own.
async fn slack_api(
    State(shared): State<Arc<Shared>>,
    Path(method): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let channel = "slack-api".to_owned();
    let answer = shared.next_answer(&channel);
    let body = String::from_utf8_lossy(&body).into_owned();
    let headers = names_and_values(&headers);
    let authorized = headers.get("authorization").map(String::as_str) == Some(&format!("Bearer {SLACK_BOT_TOKEN}"));
    let refusal = match (&answer, method.as_str()) {
        (Answer::Hang, _) => {
            shared.record(Received { channel, at: Utc::now(), headers, body, to: None, accepted: false });
            return std::future::pending().await;
        }
        (_, m) if m != "chat.update" => Some("unknown_method"),
        (_, _) if !authorized => Some("invalid_auth"),
        (Answer::Fail(404), _) => Some("message_not_found"),
        (Answer::Fail(400), _) => Some("invalid_blocks"),
        _ => None,
    };
    let accepted = answer == Answer::Accept && refusal.is_none();
    let sent: serde_json::Value = serde_json::from_str(&body).unwrap_or_default();
    shared.record(Received { channel, at: Utc::now(), headers, body, to: None, accepted });
    match (answer, refusal) {
        (Answer::Throttle(secs), None) => {
            (StatusCode::TOO_MANY_REQUESTS, [("retry-after", secs.to_string())], "").into_response()
        }
        (Answer::Fail(code @ 500..), None) => {
            (StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR), "").into_response()
        }
        (_, Some(error)) => axum::Json(serde_json::json!({ "ok": false, "error": error })).into_response(),
        _ => axum::Json(serde_json::json!({
            "ok": true, "channel": sent["channel"], "ts": sent["ts"], "text": sent["text"],
        }))
        .into_response(),
    }
}

/// A small SMTP relay: enough of RFC 5321 for a client to hand it a message.
async fn smtp_relay(listener: TcpListener, shared: Arc<Shared>) {
    loop {
        let Ok((socket, _)) = listener.accept().await else { continue };
        let shared = shared.clone();
        tokio::spawn(async move {
            let answer = shared.next_answer("email");
            if answer == Answer::Hang {
                // Accepts the connection and never greets.
                let _keep = socket;
                return std::future::pending::<()>().await;
            }
            let (read, mut write) = socket.into_split();
            let mut lines = BufReader::new(read).lines();
            let _ = write.write_all(b"220 inbox.local ESMTP\r\n").await;
            let mut to = None;
            while let Ok(Some(line)) = lines.next_line().await {
                let verb = line.split_whitespace().next().unwrap_or_default().to_ascii_uppercase();
                let reply: String = match verb.as_str() {
                    "EHLO" => "250-inbox.local\r\n250 8BITMIME".into(),
                    "HELO" | "MAIL" | "RSET" | "NOOP" => "250 OK".into(),
                    "RCPT" => {
                        if let Answer::Fail(code @ 500..) = answer {
                            shared.record(Received {
                                channel: "email".into(),
                                at: Utc::now(),
                                headers: HashMap::new(),
                                body: String::new(),
                                to: None,
                                accepted: false,
                            });
                            format!("{code} 5.1.1 mailbox unavailable")
                        } else {
                            to = line
                                .split_once(':')
                                .map(|(_, a)| a.trim().trim_matches(|c| c == '<' || c == '>').to_owned());
                            "250 OK".into()
                        }
                    }
                    "DATA" => {
                        let _ = write.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await;
                        let mut message = String::new();
                        while let Ok(Some(l)) = lines.next_line().await {
                            if l == "." {
                                break;
                            }
                            message.push_str(l.strip_prefix('.').unwrap_or(&l));
                            message.push('\n');
                        }
                        let accepted = answer == Answer::Accept;
                        shared.record(Received {
                            channel: "email".into(),
                            at: Utc::now(),
                            headers: HashMap::new(),
                            body: message,
                            to: to.clone(),
                            accepted,
                        });
                        match answer {
                            Answer::Fail(code) => format!("{code} 4.3.0 try again later"),
                            Answer::Throttle(_) => "421 4.7.0 too many messages, try again later".into(),
                            _ => "250 OK queued".into(),
                        }
                    }
                    "QUIT" => {
                        let _ = write.write_all(b"221 bye\r\n").await;
                        return;
                    }
                    _ => "502 command not implemented".into(),
                };
                if write.write_all(format!("{reply}\r\n").as_bytes()).await.is_err() {
                    return;
                }
            }
        });
    }
}
