//! `POST /api/v1/slack/interactions`: Slack's Request URL for the buttons of
//! Mandate's pages (see [`crate::slack`]). No bearer token: Slack signs
//! each request with the app's signing secret, checked before anything is
//! read. Slack gets its 200 at once; the message is updated, or the person
//! told why nothing was done, right after.

use crate::api::{InterventionKind, ResolutionKind};
use crate::desk::{InterventionError, InterventionRequest};
use crate::server::{ApiError, AppState};
use crate::slack::buttons::{self, Click, Target};
use crate::slack::interaction::Payload;
use crate::slack::reply::{self, Place};
use crate::slack::{SLACK_AGENT, signature};
use crate::store::IdempotencyClaim;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

pub const PATH: &str = "/api/v1/slack/interactions";

fn refused(code: &str, message: String) -> ApiError {
    ApiError::new(StatusCode::UNAUTHORIZED, crate::api::ErrorType::Authentication, code, message)
}

/// Answers a Slack interaction.
#[utoipa::path(
    post, path = "/api/v1/slack/interactions", tag = "alerts",
    request_body(content = String, content_type = "application/x-www-form-urlencoded", description = "Slack's interaction payload: payload=<JSON>, signed (X-Slack-Signature, X-Slack-Request-Timestamp)"),
    responses(
        (status = 200, description = "Taken: the message is updated, or the person told, right after"),
        (status = 400, body = crate::api::ErrorBody),
        (status = 401, description = "Not signed by the Slack app, or older than 5 minutes", body = crate::api::ErrorBody),
        (status = 404, description = "Slack interactivity is not configured", body = crate::api::ErrorBody),
    )
)]
pub async fn interactions(
    State(state): State<AppState>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    let routing = state.desk().routing();
    let Some(receiver) = routing.receivers().slack.clone().filter(|r| r.interactive()) else {
        return Err(ApiError::not_found(
            "SLACK_NOT_CONFIGURED",
            "Slack interactivity is off: give the Slack app's signing_secret in the routing file's [channel.slack]",
        ));
    };
    let secret = receiver.signing_secret.as_ref().expect("interactive").read().map_err(|e| {
        tracing::error!(error = %e, "slack: the signing secret cannot be read; no interaction can be verified");
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            crate::api::ErrorType::Unavailable,
            "SLACK_SECRET_UNAVAILABLE",
            "the Slack signing secret cannot be read; the server log says why",
        )
    })?;
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let now = chrono::Utc::now().timestamp();
    let verified = signature::verify(
        secret.expose().as_bytes(),
        header("x-slack-request-timestamp"),
        header("x-slack-signature"),
        &body,
        now,
    );
    if let Err(e) = verified {
        tracing::warn!(error = %e, "slack: an interaction was refused");
        let code = match e {
            signature::Refused::Stale => "SLACK_REQUEST_STALE",
            _ => "SLACK_SIGNATURE_INVALID",
        };
        return Err(refused(code, e.to_string()));
    }
    let payload = Payload::from_form(&body).map_err(|m| ApiError::invalid_request("SLACK_PAYLOAD_INVALID", m))?;
    let (Some(action), "block_actions") = (payload.actions.first(), payload.kind.as_str()) else {
        // Another kind of interaction (a closed view…): nothing to do.
        return Ok(StatusCode::OK.into_response());
    };
    let (channel, ts) = payload.message_at().unzip();
    let place = Place { channel, ts, response_url: payload.response_url.clone() };
    let Some(person) = state.desk().catalog().person_by_slack(&payload.user.id).map(str::to_owned) else {
        tracing::warn!(slack_user = %payload.user.id, "slack: an interaction from someone the catalog does not name");
        let text = format!(
            "Sorry, Mandate does not know who you are, so nothing was done. An admin can add you to the \
             catalog: a [[person]] with name = \"@you\" and slack = \"{}\".",
            payload.user.id.chars().filter(|c| c.is_ascii_alphanumeric()).collect::<String>()
        );
        tokio::spawn(async move { reply::tell(super::outbound(), &place, &text).await });
        return Ok(StatusCode::OK.into_response());
    };
    let click = match buttons::read(&action.action_id, &action.block_id, action.value.as_deref()) {
        Ok(click) => click,
        Err(why) => {
            let text = format!("Nothing was done: {why}.");
            tokio::spawn(async move { reply::tell(super::outbound(), &place, &text).await });
            return Ok(StatusCode::OK.into_response());
        }
    };
    // One click acts once: Slack retries an answer it did not get in time,
    // and a captured request could be sent again within its 5 minutes.
    let key = format!("slack:{}:{}:{}", action.action_ts, action.block_id, action.action_id);
    let fingerprint = crate::server::routes::interventions::request_fingerprint(PATH, &Default::default());
    match state.store().claim_idempotency(&person, &key, &fingerprint).await? {
        IdempotencyClaim::Claimed => {}
        _ => return Ok(StatusCode::OK.into_response()),
    }
    let team = payload.team.as_ref().map(|t| t.id.as_str()).unwrap_or("unknown");
    let block = buttons::base(&action.block_id).to_owned();
    let outcome = act(&state, &person, team, click, &block).await;
    state.store().finish_idempotency(&person, &key, 200, "").await?;
    let message = payload.message.clone();
    let api = receiver.bot_token.as_ref().map(|token| reply::WebApi {
        url: receiver.api_url.clone().unwrap_or_else(|| reply::SLACK_API_URL.to_owned()),
        bot_token: token.read().map(|t| t.expose().to_owned()),
    });
    tokio::spawn(async move {
        match (outcome, message) {
            (Ok(with), Some(message)) => {
                let blocks = buttons::replace(&message.blocks, &block, with);
                reply::update(super::outbound(), api.as_ref(), &place, &message.text, blocks).await;
            }
            (Ok(_), None) => tracing::warn!("slack: the interaction carries no message to update"),
            (Err(text), _) => reply::tell(super::outbound(), &place, &text).await,
        }
    });
    Ok(StatusCode::OK.into_response())
}

/// Does what `click` asks, as `person`; the blocks that take the place of
/// the incident's controls, or what to tell the person instead.
async fn act(
    state: &AppState,
    person: &str,
    team: &str,
    click: Click,
    block: &str,
) -> Result<Vec<serde_json::Value>, String> {
    let attribution = serde_json::json!({
        "agent_id": SLACK_AGENT, "actor_type": "HUMAN", "actor_id": person, "origin_system_id": format!("slack:{team}"),
    });
    let at = chrono::Utc::now().format("%H:%M UTC");
    let intervene = async |kind, target: &Target, reason: Option<String>, agent: Option<String>, resolution| {
        let mut request = InterventionRequest::on_incident(kind, target.incident, person, attribution.clone(), reason);
        request.target_agent = agent;
        request.resolution = resolution;
        state.desk().intervene(request).await.map_err(|e| match e {
            InterventionError::Store(e) => {
                tracing::warn!(error = %e, "slack: an intervention failed");
                "Nothing was done: Mandate could not record it just now; try again.".to_owned()
            }
            other => format!("Nothing was done: {other}"),
        })
    };
    let again = |target: &Target, text: String| vec![buttons::said(block, &text), buttons::controls(block, target)];
    Ok(match click {
        Click::Acknowledge(t) => {
            intervene(InterventionKind::Acknowledge, &t, None, None, None).await?;
            again(&t, format!("Acknowledged by @{person} from Slack at {at}"))
        }
        Click::Escalate(t) => buttons::question_and_buttons(block, &t, true),
        Click::EscalateConfirmed(t) => {
            let done = intervene(InterventionKind::Escalate, &t, None, None, None).await?;
            again(&t, format!("Escalated by @{person} from Slack at {at}: {}", done.message))
        }
        Click::Stop(t) => buttons::question_and_buttons(block, &t, false),
        Click::StopConfirmed(t) => {
            let agent = t.agent.clone();
            let reason = format!("the suspect of incident #{}", t.incident);
            intervene(InterventionKind::PauseAgent, &t, Some(reason), agent.clone(), None).await?;
            again(&t, format!("Agent {} stopped by @{person} from Slack at {at}", agent.unwrap_or_default()))
        }
        Click::Resolve(t) => buttons::reason_blocks(block, &t),
        Click::Resolved(t, reason) => {
            let resolution = Some(ResolutionKind::CauseUndetermined);
            intervene(InterventionKind::Resolve, &t, Some(reason.clone()), None, resolution).await?;
            vec![buttons::said(block, &format!("Resolved by @{person} from Slack at {at}: {reason}"))]
        }
        Click::Cancel(t) => vec![buttons::controls(block, &t)],
    })
}
