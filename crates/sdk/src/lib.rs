//! The Rust SDK: creates and completes runs against a Mandate server,
//! checks each action against the stops in force before it runs
//! ([`Agent`], [`Control`]), and records actions in batches ([`Recorder`]).
//!
//! Attribution is validated before any network call, under the enforcement
//! mode from `AOS_ATTRIBUTION_ENFORCEMENT` / `AOS_ALLOW_ATTRIBUTION_LEGACY`
//! (hard by default). An invalid run in hard mode never leaves the process.

use chrono::Utc;
mod agent;
mod control;
mod gate;
mod recorder;
mod retry;
mod secret;

pub use agent::{Action, Agent, AgentOptions, Done};
pub use control::{Control, OutOfContact, Refusal};
pub use gate::Clearance;
pub use recorder::{Counts, LINGER, MAX_BATCH, QUEUE, Recorder};
pub use retry::{Backoff, retry_after};
pub use secret::Secret;

use mandate_contract::api::{
    CompleteRunRequest, CreateRunRequest, Dimension, Distribution, ErrorBody, RiskLevel, Run, RunPage, RunSource,
    RunStatus, Topic, WhoAmI,
};
use mandate_contract::attribution::{AttributionContext, AttributionError, Enforcer};
use serde::Serialize;
use serde::de::DeserializeOwned;
use std::time::Duration;

#[derive(Debug, thiserror::Error)]
pub enum SdkError {
    /// Rejected before sending: fix the calling code.
    #[error("attribution rejected before sending: {0}")]
    Attribution(#[from] AttributionError),
    /// The server answered with an error.
    #[error("the server answered {status}: {body}")]
    Api { status: u16, body: ErrorBody },
    /// The server could not be reached, or the answer could not be read.
    #[error("cannot reach the Mandate API: {0}")]
    Transport(#[from] reqwest::Error),
    #[error("{0}")]
    Config(String),
    /// The CA file given to trust cannot be used.
    #[error("cannot use the CA file {path}: {message}")]
    CaFile { path: std::path::PathBuf, message: String },
}

/// What a run is besides its attribution.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunOptions {
    pub source: RunSource,
    pub provider_type: String,
    pub risk_level: RiskLevel,
}

impl RunOptions {
    /// A run created through the SDK (`source = SDK`).
    pub fn new(provider_type: &str, risk_level: RiskLevel) -> Self {
        RunOptions { source: RunSource::Sdk, provider_type: provider_type.to_owned(), risk_level }
    }
}

/// An HTTP client builder with TLS set up (rustls with the ring provider).
pub fn http_client_builder() -> reqwest::ClientBuilder {
    // Installing twice is harmless; the first provider wins.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .connect_timeout(Duration::from_secs(2))
        .user_agent(concat!("mandate/", env!("CARGO_PKG_VERSION")))
}

/// `http_client_builder`, trusting only the CA certificates in `ca_file`
/// (PEM) when one is given: for a server whose certificate a private CA
/// signed (`mandate serve --tls-cert`).
pub fn http_client_trusting(ca_file: Option<&std::path::Path>) -> Result<reqwest::ClientBuilder, SdkError> {
    let builder = http_client_builder();
    let Some(path) = ca_file else { return Ok(builder) };
    let pem = std::fs::read(path).map_err(|e| SdkError::CaFile { path: path.to_owned(), message: e.to_string() })?;
    let certs = reqwest::Certificate::from_pem_bundle(&pem)
        .map_err(|e| SdkError::CaFile { path: path.to_owned(), message: e.to_string() })?;
    if certs.is_empty() {
        return Err(SdkError::CaFile { path: path.to_owned(), message: "no certificate in it (PEM)".into() });
    }
    Ok(builder.tls_certs_only(certs))
}

/// A connection to one Mandate server with one token.
#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base_url: String,
    token: String,
    enforcer: Enforcer,
    /// The server's deprecation warning was logged (once per client).
    warned: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

/// What every request says about this SDK (`Mandate-Sdk`).
pub const SDK_HEADER: &str = "mandate-sdk";
/// `Mandate-Sdk`'s value: `rust/VERSION`.
pub const SDK_SAYS: &str = concat!("rust/", env!("CARGO_PKG_VERSION"));
/// A server's warning to this SDK (deprecated, or a version it cannot read).
pub const WARNING_HEADER: &str = "mandate-sdk-warning";

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The token is never printed.
        f.debug_struct("Client")
            .field("base_url", &self.base_url)
            .field("enforcer", &self.enforcer)
            .finish_non_exhaustive()
    }
}

impl Client {
    /// `base_url` is the server's root, e.g. `http://127.0.0.1:7400`. A
    /// server with a private CA's certificate is trusted through
    /// `MANDATE_CA_FILE` (PEM), or [`Client::with_ca_file`].
    pub fn new(base_url: &str, token: &str) -> Result<Client, SdkError> {
        let ca = std::env::var_os("MANDATE_CA_FILE").filter(|v| !v.is_empty()).map(std::path::PathBuf::from);
        Client::with_ca_file(base_url, token, ca.as_deref())
    }

    /// `new`, trusting only the CA certificates in `ca_file` (PEM).
    pub fn with_ca_file(base_url: &str, token: &str, ca_file: Option<&std::path::Path>) -> Result<Client, SdkError> {
        let mut headers = reqwest::header::HeaderMap::new();
        headers.insert(SDK_HEADER, reqwest::header::HeaderValue::from_static(SDK_SAYS));
        let http = http_client_trusting(ca_file)?.timeout(Duration::from_secs(30)).default_headers(headers).build()?;
        Ok(Client {
            http,
            base_url: base_url.trim_end_matches('/').to_owned(),
            token: token.to_owned(),
            enforcer: Enforcer::from_env(),
            warned: Default::default(),
        })
    }

    /// Overrides the enforcement read from the environment.
    pub fn with_enforcer(mut self, enforcer: Enforcer) -> Self {
        self.enforcer = enforcer;
        self
    }

    pub fn enforcer(&self) -> Enforcer {
        self.enforcer
    }

    /// Creates a run. Attribution is validated first; in hard mode (and soft
    /// mode without the override) a violation returns
    /// [`SdkError::Attribution`] and nothing is sent.
    pub async fn create_run(&self, goal: &str, ctx: AttributionContext, options: RunOptions) -> Result<Run, SdkError> {
        let origin_ts = ctx.origin_ts.unwrap_or_else(Utc::now);
        let ctx = AttributionContext { origin_ts: Some(origin_ts), ..ctx };
        let tolerated = self.enforcer.enforce(&ctx)?;
        // Tell the API when the soft-mode override let a violation through,
        // so override use is counted (seed 000 section 6).
        let override_used =
            !tolerated.is_empty() && self.enforcer.mode == mandate_contract::attribution::EnforcementMode::Soft;
        let request = CreateRunRequest {
            goal: goal.to_owned(),
            agent_id: ctx.agent_id,
            actor_type: ctx.actor_type.map(|t| t.to_uppercase()),
            actor_id: ctx.actor_id,
            origin_system_id: ctx.origin_system_id,
            source: options.source,
            provider_type: options.provider_type,
            risk_level: options.risk_level,
            origin_ts: ctx.origin_ts,
            origin_ip: ctx.origin_ip,
        };
        let mut builder =
            self.http.post(format!("{}/api/v1/runs", self.base_url)).bearer_auth(&self.token).json(&request);
        if override_used {
            builder = builder.header(mandate_contract::api::OVERRIDE_HEADER, "true");
        }
        self.read(builder.send().await?).await
    }

    /// A SYSTEM run: automation, cron, scheduler.
    pub async fn create_system_run(
        &self,
        goal: &str,
        agent_id: &str,
        origin_system_id: &str,
        options: RunOptions,
    ) -> Result<Run, SdkError> {
        self.create_run(goal, AttributionContext::system(agent_id, origin_system_id), options).await
    }

    /// A HUMAN run: `actor_id` names the person.
    pub async fn create_human_run(
        &self,
        goal: &str,
        agent_id: &str,
        actor_id: &str,
        origin_system_id: &str,
        options: RunOptions,
    ) -> Result<Run, SdkError> {
        self.create_run(goal, AttributionContext::human(agent_id, actor_id, origin_system_id), options).await
    }

    /// A SERVICE run: service-to-service.
    pub async fn create_service_run(
        &self,
        goal: &str,
        agent_id: &str,
        origin_system_id: &str,
        options: RunOptions,
    ) -> Result<Run, SdkError> {
        self.create_run(goal, AttributionContext::service(agent_id, origin_system_id), options).await
    }

    pub async fn complete_run(&self, run_id: &str, status: RunStatus) -> Result<Run, SdkError> {
        self.post(&format!("/api/v1/runs/{run_id}/complete"), &CompleteRunRequest { status }).await
    }

    pub async fn get_run(&self, run_id: &str) -> Result<Run, SdkError> {
        self.get(&format!("/api/v1/runs/{run_id}")).await
    }

    pub async fn list_runs(&self, cursor: Option<&str>, limit: u32) -> Result<RunPage, SdkError> {
        let mut path = format!("/api/v1/runs?limit={limit}");
        if let Some(cursor) = cursor {
            path.push_str("&cursor=");
            path.extend(form_urlencoded::byte_serialize(cursor.as_bytes()));
        }
        self.get(&path).await
    }

    pub async fn distribution(&self, topic: Topic, dim: Dimension) -> Result<Distribution, SdkError> {
        self.get(&format!("/api/v1/activity/runs/{}/by-dimension?dim={}", topic.path_segment(), dim)).await
    }

    pub async fn whoami(&self) -> Result<WhoAmI, SdkError> {
        self.get("/api/v1/whoami").await
    }

    /// The agent's controls: at once without `since`; with the tag of the
    /// ones the caller has, when they change or `wait` seconds pass (None:
    /// unchanged).
    pub async fn agent_control(
        &self,
        agent: &str,
        since: Option<&str>,
        wait: u32,
    ) -> Result<Option<mandate_contract::api::AgentControlState>, SdkError> {
        let agent: String = form_urlencoded::byte_serialize(agent.as_bytes()).collect();
        let mut url = format!("{}/api/v1/agents/{agent}/control", self.base_url);
        if let Some(tag) = since {
            let tag: String = form_urlencoded::byte_serialize(tag.as_bytes()).collect();
            url.push_str(&format!("?since={tag}&wait={wait}"));
        }
        let response = self.http.get(url).bearer_auth(&self.token).send().await?;
        if response.status() == reqwest::StatusCode::NOT_MODIFIED {
            return Ok(None);
        }
        self.read(response).await.map(Some)
    }

    /// Posts a batch of events (at most 1,000): what the server stored,
    /// refused, and which of their agents are stopped.
    pub async fn post_events(
        &self,
        events: &[mandate_contract::api::EventBody],
    ) -> Result<mandate_contract::api::IngestReport, SdkError> {
        self.post("/api/v1/events", &events).await
    }

    /// Reports `attempts` the agent's SDK refused because it is stopped.
    pub async fn report_refusals(
        &self,
        agent: &str,
        (scope, target): (mandate_contract::api::StopScope, &str),
        attempts: i64,
    ) -> Result<(), SdkError> {
        let agent: String = form_urlencoded::byte_serialize(agent.as_bytes()).collect();
        let body = serde_json::json!({ "attempts": attempts, "scope": scope, "target": target });
        self.post::<_, serde_json::Value>(&format!("/api/v1/agents/{agent}/refusals"), &body).await.map(|_| ())
    }

    async fn get<T: DeserializeOwned>(&self, path: &str) -> Result<T, SdkError> {
        let response = self.http.get(format!("{}{path}", self.base_url)).bearer_auth(&self.token).send().await?;
        self.read(response).await
    }

    async fn post<B: Serialize, T: DeserializeOwned>(&self, path: &str, body: &B) -> Result<T, SdkError> {
        let response =
            self.http.post(format!("{}{path}", self.base_url)).bearer_auth(&self.token).json(body).send().await?;
        self.read(response).await
    }

    /// Reads an answer, logging the server's warning to this SDK once.
    async fn read<T: DeserializeOwned>(&self, response: reqwest::Response) -> Result<T, SdkError> {
        if let Some(warning) = response.headers().get(WARNING_HEADER)
            && !self.warned.swap(true, std::sync::atomic::Ordering::Relaxed)
        {
            tracing::warn!(server = %self.base_url, "{}", String::from_utf8_lossy(warning.as_bytes()));
        }
        read(response).await
    }
}

async fn read<T: DeserializeOwned>(response: reqwest::Response) -> Result<T, SdkError> {
    let status = response.status();
    if status.is_success() {
        return Ok(response.json().await?);
    }
    let text = response.text().await?;
    let body = serde_json::from_str(&text).unwrap_or_else(|_| {
        ErrorBody::new(
            mandate_contract::api::ErrorType::Internal,
            "UNEXPECTED_RESPONSE",
            text.chars().take(200).collect::<String>(),
        )
    });
    Err(SdkError::Api { status: status.as_u16(), body })
}
