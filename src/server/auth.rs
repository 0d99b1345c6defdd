//! Who is calling, and whether their role may do what they ask. Every route
//! states its permission through [`Caller::require`]; the grants live in one
//! table, [`Permission::granted_to`].

use super::auth_throttle;
use super::{ApiError, AppState};
use crate::api::Role;
use crate::attribution::ActorType;
use crate::auth::Principal;
use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use std::net::SocketAddr;
use std::time::Instant;

/// What a route needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Incidents, activity, agents, audit, attribution figures.
    ReadOperations,
    /// Single runs and run listings (agents may read what they wrote).
    ReadRuns,
    /// Create and complete runs, post events.
    WriteRuns,
    /// Human interventions on incidents and agents.
    Intervene,
    /// The service catalog and other configuration.
    Administer,
    /// Post alerts from a monitor.
    WriteAlerts,
    /// Scrape `/metrics`.
    ReadMetrics,
}

impl Permission {
    pub fn granted_to(self, role: Role) -> bool {
        use Permission::*;
        match role {
            Role::Viewer => matches!(self, ReadOperations | ReadRuns | ReadMetrics),
            Role::Responder => matches!(self, ReadOperations | ReadRuns | Intervene | ReadMetrics),
            Role::Admin => true,
            Role::Agent => matches!(self, ReadRuns | WriteRuns),
            Role::Monitor => matches!(self, WriteAlerts | ReadMetrics),
        }
    }

    fn describe(self) -> &'static str {
        match self {
            Permission::ReadOperations => "read operational data",
            Permission::ReadRuns => "read runs",
            Permission::WriteRuns => "create or complete runs",
            Permission::Intervene => "intervene",
            Permission::Administer => "administer Mandate",
            Permission::WriteAlerts => "post alerts",
            Permission::ReadMetrics => "read metrics",
        }
    }
}

/// The authenticated caller of a request.
#[derive(Debug, Clone)]
pub struct Caller(pub Principal);

impl Caller {
    pub fn require(&self, permission: Permission) -> Result<(), ApiError> {
        if permission.granted_to(self.0.role) {
            Ok(())
        } else {
            Err(ApiError::forbidden(format!(
                "the {} role of {:?} may not {}",
                self.0.role,
                self.0.name,
                permission.describe()
            )))
        }
    }

    /// People act only in their own name: HUMAN attribution from a person's
    /// token (viewer, responder, admin) must carry that person's actor_id.
    /// Agent tokens belong to integrations that act for the people they
    /// name; their origin_system_id says which.
    pub fn may_claim(&self, actor_type: Option<&str>, actor_id: Option<&str>) -> Result<(), ApiError> {
        let human = actor_type.and_then(ActorType::parse) == Some(ActorType::Human);
        if self.0.role == Role::Agent || !human {
            return Ok(());
        }
        self.is(actor_id.unwrap_or_default())
    }

    /// An agent token bound to agents (`mandate token create --agent`)
    /// posts runs and events for those agents only, naming one: else 403
    /// AGENT_NOT_ALLOWED.
    /// Whether this caller's token is bound to some agents (an agent token
    /// with `--agent`), rather than free to act for any.
    pub fn acts_for_some_agents_only(&self) -> bool {
        self.0.agents.is_some()
    }

    pub fn may_act_for(&self, agent_id: Option<&str>) -> Result<(), ApiError> {
        let Some(allowed) = &self.0.agents else { return Ok(()) };
        match agent_id {
            Some(agent) if self.0.may_act_for(agent) => Ok(()),
            _ => Err(ApiError::new(
                StatusCode::FORBIDDEN,
                crate::api::ErrorType::Authorization,
                "AGENT_NOT_ALLOWED",
                format!(
                    "the token {:?} acts for {} only, not {}",
                    self.0.name,
                    allowed.join(", "),
                    agent_id.map(|a| format!("{a:?}")).unwrap_or_else(|| "an unnamed agent".to_owned())
                ),
            )
            .with_field("agent_id")),
        }
    }

    /// `actor_id` is the caller, or 403 ACTOR_MISMATCH.
    pub fn is(&self, actor_id: &str) -> Result<(), ApiError> {
        if actor_id == self.0.name {
            return Ok(());
        }
        Err(ApiError::new(
            StatusCode::FORBIDDEN,
            crate::api::ErrorType::Authorization,
            "ACTOR_MISMATCH",
            format!("actor_id {actor_id:?} is not the caller {:?}: no one acts in someone else's name", self.0.name),
        )
        .with_field("actor_id"))
    }
}

impl FromRequestParts<AppState> for Caller {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Self::Rejection> {
        let client = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|c| auth_throttle::client_of(c.0.ip(), &parts.headers, state.trusted_proxies()));
        let now = Instant::now();
        if let Some(ip) = client
            && state.auth_throttle().blocked(ip, now)
        {
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                crate::api::ErrorType::Authentication,
                "TOO_MANY_FAILED_ATTEMPTS",
                format!(
                    "{} wrong tokens from this address within {} s; retry later",
                    state.auth_throttle().limit,
                    auth_throttle::WINDOW.as_secs()
                ),
            )
            .with_retry_after(auth_throttle::WINDOW.as_secs() as u16));
        }
        let caller = match authenticate(parts, state) {
            Ok(caller) => caller,
            Err(e) => {
                // Only a token presented is a guess; no token costs nothing.
                if let Some(ip) = client
                    && bearer_token(parts).is_some()
                {
                    state.auth_throttle().failed(ip, now);
                }
                return Err(e);
            }
        };
        if let Err(wait) = state.token_rate().take(&caller.0.name, now) {
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                crate::api::ErrorType::InvalidRequest,
                "RATE_LIMITED",
                format!(
                    "the token {:?} is past its {} requests per second; retry after the time Retry-After gives",
                    caller.0.name,
                    state.token_rate().rate
                ),
            )
            .with_retry_after(wait.as_secs_f64().ceil().clamp(1.0, 3600.0) as u16));
        }
        Ok(caller)
    }
}

/// The token of an `Authorization: Bearer <token>` header, if there is one.
fn bearer_token(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() => {
            Some(token.trim())
        }
        _ => None,
    }
}

/// The caller behind the Authorization header, or 401.
fn authenticate(parts: &Parts, state: &AppState) -> Result<Caller, ApiError> {
    let header = parts
        .headers
        .get(header::AUTHORIZATION)
        .ok_or_else(|| ApiError::unauthenticated("missing Authorization: Bearer <token> header"))?;
    let value = header.to_str().map_err(|_| ApiError::unauthenticated("the Authorization header is not valid text"))?;
    let token = match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() => token.trim(),
        _ => {
            return Err(ApiError::unauthenticated("the Authorization header must be: Bearer <token>"));
        }
    };
    // A token revoked on any server of this database is refused here too,
    // in the same words as an unknown one.
    let digest = crate::auth::token_digest(token);
    let principal = state
        .tokens()
        .get(&digest)
        .filter(|_| !state.desk().is_revoked(&digest))
        .cloned()
        .ok_or_else(|| ApiError::unauthenticated("the bearer token is not valid (unknown or revoked)"))?;
    if let Some(bound) = principal.client_cert
        && parts.extensions.get::<super::ClientCert>().map(|c| c.0) != Some(bound)
    {
        return Err(ApiError::unauthenticated(format!(
            "the token {:?} is accepted only with its client certificate, over HTTPS",
            principal.name
        )));
    }
    tracing::Span::current().record("principal", principal.name.as_str());
    Ok(Caller(principal))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_grant_table() {
        use Permission::*;
        let table = |role| {
            [ReadOperations, ReadRuns, WriteRuns, Intervene, Administer, WriteAlerts, ReadMetrics]
                .map(|p| p.granted_to(role))
        };
        assert_eq!(table(Role::Viewer), [true, true, false, false, false, false, true]);
        assert_eq!(table(Role::Responder), [true, true, false, true, false, false, true]);
        assert_eq!(table(Role::Admin), [true, true, true, true, true, true, true]);
        assert_eq!(table(Role::Agent), [false, true, true, false, false, false, false]);
        assert_eq!(table(Role::Monitor), [false, false, false, false, false, true, true]);
    }
}
