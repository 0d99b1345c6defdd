//! Where pages go and how hard Mandate tries: the receivers of each channel,
//! storm control and delivery limits, written in the routing file under
//! `[channel.*]`, `[storm]` and `[delivery]`. Secrets are never written in
//! the file, only where to find them: `{ env = "NAME" }` or `{ file = "PATH" }`.

use crate::moment::parse_duration;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The channels Mandate knows how to name.
pub const CHANNELS: [&str; 4] = ["slack", "pagerduty", "email", "webhook"];

/// The level name of seed 6.7's page to management: the coordinator of
/// an incident several teams are working on.
pub const COORDINATION: &str = "coordination";

/// Where a secret is kept. Its value is read when a delivery needs it, so a
/// rotated secret takes effect without a restart, and is never logged.
#[derive(Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SecretRef {
    /// An environment variable of `mandate serve`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub env: Option<String>,
    /// A file readable by `mandate serve`; surrounding whitespace is ignored.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
}

impl std::fmt::Debug for SecretRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match (&self.env, &self.file) {
            (Some(v), _) => write!(f, "env:{v}"),
            (_, Some(p)) => write!(f, "file:{p}"),
            _ => f.write_str("(nowhere)"),
        }
    }
}

impl<'de> Deserialize<'de> for SecretRef {
    /// A table with `env` or `file`; a bare string is refused with what to
    /// write instead, so a secret pasted into the file is never accepted.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl<'de> serde::de::Visitor<'de> for Visitor {
            type Value = SecretRef;

            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("{ env = \"NAME\" } or { file = \"PATH\" }")
            }

            fn visit_str<E: serde::de::Error>(self, _: &str) -> Result<SecretRef, E> {
                Err(E::custom(
                    "a secret is not written in the routing file: write { env = \"NAME\" } or { file = \"PATH\" }",
                ))
            }

            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<SecretRef, A::Error> {
                let mut out = SecretRef { env: None, file: None };
                while let Some(key) = map.next_key::<String>()? {
                    match key.as_str() {
                        "env" => out.env = Some(map.next_value()?),
                        "file" => out.file = Some(map.next_value()?),
                        other => {
                            return Err(serde::de::Error::unknown_field(other, &["env", "file"]));
                        }
                    }
                }
                Ok(out)
            }
        }
        d.deserialize_any(Visitor)
    }
}

pub use crate::sdk::Secret;

impl SecretRef {
    /// Reads the secret; the error names where it looked, never a value.
    pub fn read(&self) -> Result<Secret, String> {
        let value = match (&self.env, &self.file) {
            (Some(var), None) => std::env::var(var).map_err(|_| format!("environment variable {var} is not set"))?,
            (None, Some(path)) => std::fs::read_to_string(path).map_err(|e| format!("cannot read {path}: {e}"))?,
            _ => return Err("a secret is given by env = \"NAME\" or file = \"PATH\", one of them".into()),
        };
        let value = value.trim().to_owned();
        if value.is_empty() {
            return Err(format!("the secret in {self:?} is empty"));
        }
        Ok(Secret::new(value))
    }

    pub(crate) fn check(&self) -> Result<(), String> {
        match (&self.env, &self.file) {
            (Some(v), None) if !v.trim().is_empty() => Ok(()),
            (None, Some(p)) if !p.trim().is_empty() => Ok(()),
            _ => Err("write exactly one of env = \"NAME\" or file = \"PATH\"".into()),
        }
    }
}

/// The receivers, one per channel; a channel without one cannot deliver and
/// its notifications are marked dead with the reason.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Receivers {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub webhook: Option<WebhookReceiver>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub slack: Option<SlackReceiver>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pagerduty: Option<PagerDutyReceiver>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub email: Option<EmailReceiver>,
}

impl Receivers {
    pub fn is_empty(&self) -> bool {
        self == &Receivers::default()
    }

    /// The channels that have a receiver, in [`CHANNELS`] order.
    pub fn channels(&self) -> Vec<&'static str> {
        CHANNELS.into_iter().filter(|c| self.has(c)).collect()
    }

    /// Whether `channel` has a receiver.
    pub fn has(&self, channel: &str) -> bool {
        match channel {
            "webhook" => self.webhook.is_some(),
            "slack" => self.slack.is_some(),
            "pagerduty" => self.pagerduty.is_some(),
            "email" => self.email.is_some(),
            _ => false,
        }
    }
}

/// A generic webhook, signed per the Standard Webhooks specification.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct WebhookReceiver {
    pub url: String,
    /// The signing secret, `whsec_` followed by base64 (or raw text).
    pub secret: SecretRef,
}

/// A Slack incoming webhook; its URL is the secret. With the Slack app's
/// signing secret, its messages carry buttons (acknowledge, escalate, stop
/// the suspect, resolve) answered at `POST /api/v1/slack/interactions`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SlackReceiver {
    pub url: SecretRef,
    /// The Slack app's signing secret: interactions are verified with it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_secret: Option<SecretRef>,
    /// The app's bot token (`xoxb-…`): the message acted on is updated in
    /// place with `chat.update`; without it, through the interaction's
    /// `response_url`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bot_token: Option<SecretRef>,
    /// Slack's Web API. Default: https://slack.com/api.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_url: Option<String>,
}

pub use crate::slack::reply::SLACK_API_URL;

impl SlackReceiver {
    /// Whether its messages carry buttons: people can act from Slack.
    pub fn interactive(&self) -> bool {
        self.signing_secret.is_some()
    }
}

/// PagerDuty Events API v2.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PagerDutyReceiver {
    /// The integration (routing) key of the PagerDuty service.
    pub routing_key: SecretRef,
    /// Defaults to https://events.pagerduty.com/v2/enqueue.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
}

pub const PAGERDUTY_EVENTS_URL: &str = "https://events.pagerduty.com/v2/enqueue";

/// Email over SMTP.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct EmailReceiver {
    /// host:port of the relay.
    pub smtp: String,
    pub from: String,
    /// A target's address: `{name}` is the target without its `@`.
    pub address: String,
    /// Addresses that do not follow the pattern, by target.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub addresses: BTreeMap<String, String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<SecretRef>,
}

impl EmailReceiver {
    pub fn address_of(&self, target: &str) -> String {
        self.addresses
            .get(target)
            .cloned()
            .unwrap_or_else(|| self.address.replace("{name}", target.trim_start_matches('@')))
    }
}

/// Storm control, after Alertmanager's grouping: what follows a page for
/// the same target and channel within `group_interval` is sent together, as
/// one message, when the interval ends. A new incident below critical is
/// held `flash_hold` before its first page (Alertmanager's group_wait): one
/// that recovers by itself within it is logged, not paged, and counted in
/// the daily flash digest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Storm {
    #[serde(default = "Storm::default_group_interval")]
    pub group_interval: String,
    /// How long possibly-affected owners' notes wait to be collected into one digest.
    #[serde(default = "Storm::default_digest_wait")]
    pub digest_wait: String,
    /// How long a new incident below critical waits before its first page:
    /// 0s to 5m, 30s unless set. Critical incidents are never held.
    #[serde(default = "Storm::default_flash_hold")]
    pub flash_hold: String,
}

impl Storm {
    fn default_group_interval() -> String {
        "60s".into()
    }
    fn default_digest_wait() -> String {
        "15m".into()
    }
    fn default_flash_hold() -> String {
        "30s".into()
    }
}

impl Default for Storm {
    fn default() -> Self {
        Storm {
            group_interval: Storm::default_group_interval(),
            digest_wait: Storm::default_digest_wait(),
            flash_hold: Storm::default_flash_hold(),
        }
    }
}

/// How hard a delivery is tried.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Delivery {
    /// One attempt's time limit.
    #[serde(default = "Delivery::default_timeout")]
    pub timeout: String,
    /// Attempts before a notification is dead.
    #[serde(default = "Delivery::default_attempts")]
    pub max_attempts: u32,
}

impl Delivery {
    fn default_timeout() -> String {
        "10s".into()
    }
    fn default_attempts() -> u32 {
        8
    }
}

impl Default for Delivery {
    fn default() -> Self {
        Delivery { timeout: Delivery::default_timeout(), max_attempts: Delivery::default_attempts() }
    }
}

/// The parsed limits the worker runs with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub group_interval: chrono::Duration,
    pub digest_wait: chrono::Duration,
    /// How long a new incident below critical waits before its first page.
    pub flash_hold: chrono::Duration,
    pub timeout: std::time::Duration,
    pub max_attempts: u32,
}

impl Default for Limits {
    fn default() -> Self {
        check(&Receivers::default(), &Storm::default(), &Delivery::default()).expect("the defaults are valid")
    }
}

/// The longest a flash hold may be, in seconds.
const MAX_FLASH_HOLD: u64 = 300;

/// Checks the receivers and limits; an error is (path, message).
pub fn check(receivers: &Receivers, storm: &Storm, delivery: &Delivery) -> Result<Limits, (String, String)> {
    let url = |path: &str, raw: &str| -> Result<(), (String, String)> {
        match reqwest::Url::parse(raw) {
            Ok(u) if matches!(u.scheme(), "http" | "https") => Ok(()),
            _ => Err((path.to_owned(), format!("{raw:?} is not an http(s) URL"))),
        }
    };
    let secret = |path: &str, s: &SecretRef| s.check().map_err(|m| (path.to_owned(), m));
    if let Some(w) = &receivers.webhook {
        url("channel.webhook.url", &w.url)?;
        secret("channel.webhook.secret", &w.secret)?;
    }
    if let Some(s) = &receivers.slack {
        secret("channel.slack.url", &s.url)?;
        if let Some(signing) = &s.signing_secret {
            secret("channel.slack.signing_secret", signing)?;
        }
        if let Some(token) = &s.bot_token {
            secret("channel.slack.bot_token", token)?;
        }
        if let Some(u) = &s.api_url {
            url("channel.slack.api_url", u)?;
        }
    }
    if let Some(p) = &receivers.pagerduty {
        secret("channel.pagerduty.routing_key", &p.routing_key)?;
        if let Some(u) = &p.url {
            url("channel.pagerduty.url", u)?;
        }
    }
    if let Some(e) = &receivers.email {
        if e.smtp.rsplit_once(':').is_none_or(|(h, p)| h.is_empty() || p.parse::<u16>().is_err()) {
            return Err((
                "channel.email.smtp".into(),
                format!("{:?}: write host:port, e.g. \"smtp.example.com:25\"", e.smtp),
            ));
        }
        if !e.from.contains('@') {
            return Err(("channel.email.from".into(), format!("{:?} is not an email address", e.from)));
        }
        if !e.address.contains('@') {
            return Err((
                "channel.email.address".into(),
                format!("{:?}: write a pattern such as \"{{name}}@example.com\"", e.address),
            ));
        }
        if let Some(p) = &e.password {
            secret("channel.email.password", p)?;
        }
    }
    let duration = |path: &str, raw: &str| {
        parse_duration(raw).ok_or_else(|| (path.to_owned(), format!("{raw:?} is not a duration: write 90s, 5m or 1h")))
    };
    let group_interval = duration("storm.group_interval", &storm.group_interval)?;
    let digest_wait = duration("storm.digest_wait", &storm.digest_wait)?;
    let flash_hold = duration("storm.flash_hold", &storm.flash_hold)?;
    if flash_hold > MAX_FLASH_HOLD {
        return Err((
            "storm.flash_hold".into(),
            format!("{:?} is longer than 5m: a real incident would wait too long for its page", storm.flash_hold),
        ));
    }
    let timeout = duration("delivery.timeout", &delivery.timeout)?;
    if timeout == 0 {
        return Err(("delivery.timeout".into(), "must be at least 1s".into()));
    }
    if delivery.max_attempts == 0 {
        return Err(("delivery.max_attempts".into(), "must be at least 1".into()));
    }
    Ok(Limits {
        group_interval: chrono::Duration::seconds(group_interval as i64),
        digest_wait: chrono::Duration::seconds(digest_wait as i64),
        flash_hold: chrono::Duration::seconds(flash_hold as i64),
        timeout: std::time::Duration::from_secs(timeout),
        max_attempts: delivery.max_attempts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_secret_is_a_reference_never_a_value() {
        let parsed: SlackReceiver = toml::from_str("url = { env = \"SLACK_URL\" }").unwrap();
        assert_eq!(parsed.url.env.as_deref(), Some("SLACK_URL"));
        let pasted =
            toml::from_str::<SlackReceiver>("url = \"https://hooks.slack.com/services/T0/B0/xyz\"").unwrap_err();
        // What `routing check` and the API say: the message, which never echoes the value.
        assert!(pasted.message().contains("a secret is not written in the routing file"), "{pasted}");
        assert!(!pasted.message().contains("xyz"), "the value is not echoed: {pasted}");
        let odd = toml::from_str::<SlackReceiver>("url = { vault = \"x\" }").unwrap_err();
        assert!(odd.to_string().contains("vault"), "{odd}");
        let json: SlackReceiver = serde_json::from_str(r#"{"url": {"file": "/run/secrets/slack"}}"#).unwrap();
        assert_eq!(format!("{:?}", json.url), "file:/run/secrets/slack");
        assert_eq!(format!("{:?}", Secret::new("hunter2")), "Secret(***)");
    }

    #[test]
    fn the_flash_hold_is_thirty_seconds_unless_set_and_at_most_five_minutes() {
        let (receivers, delivery) = (Receivers::default(), Delivery::default());
        assert_eq!(Limits::default().flash_hold, chrono::Duration::seconds(30));
        let off = Storm { flash_hold: "0s".into(), ..Storm::default() };
        assert_eq!(check(&receivers, &off, &delivery).unwrap().flash_hold, chrono::Duration::zero());
        let long = Storm { flash_hold: "10m".into(), ..Storm::default() };
        assert_eq!(check(&receivers, &long, &delivery).unwrap_err().0, "storm.flash_hold");
        let odd = Storm { flash_hold: "soon".into(), ..Storm::default() };
        assert_eq!(check(&receivers, &odd, &delivery).unwrap_err().0, "storm.flash_hold");
    }
}
