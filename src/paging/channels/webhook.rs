//! A generic webhook, signed per the Standard Webhooks specification: the
//! `webhook-id` is the delivery's stable id, `webhook-timestamp` the send
//! time in Unix seconds, and `webhook-signature` is `v1,` and the base64
//! HMAC-SHA256 of `id.timestamp.body` under the secret (`whsec_` + base64).

use super::super::config::WebhookReceiver;
use super::super::message::Outgoing;
use super::{Refusal, post_json};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::time::Duration;

/// The key a secret names: `whsec_` + base64 is decoded; anything else is
/// used as written.
fn key(secret: &str) -> Vec<u8> {
    secret.strip_prefix("whsec_").and_then(|b| STANDARD.decode(b).ok()).unwrap_or_else(|| secret.as_bytes().to_vec())
}

/// The `webhook-signature` value for a message.
pub fn sign(secret: &str, id: &str, timestamp: i64, body: &str) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(&key(secret)).expect("HMAC takes a key of any length");
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    format!("v1,{}", STANDARD.encode(mac.finalize().into_bytes()))
}

/// Whether any of the space-separated signatures in `header` is valid, in
/// constant time: what a receiver does.
pub fn verify(secret: &str, id: &str, timestamp: i64, body: &str, header: &str) -> bool {
    let mut mac = Hmac::<Sha256>::new_from_slice(&key(secret)).expect("HMAC takes a key of any length");
    mac.update(format!("{id}.{timestamp}.{body}").as_bytes());
    header
        .split(' ')
        .filter_map(|s| s.strip_prefix("v1,"))
        .filter_map(|b| STANDARD.decode(b).ok())
        .any(|sig| mac.clone().verify_slice(&sig).is_ok())
}

pub(super) async fn send(
    http: &reqwest::Client,
    receiver: &WebhookReceiver,
    out: &Outgoing,
    timeout: Duration,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), Refusal> {
    let secret = receiver.secret.read().map_err(|e| Refusal::permanent(format!("webhook secret: {e}")))?;
    let kinds: std::collections::BTreeSet<_> = out.items.iter().map(|i| i.page.kind.as_str()).collect();
    let kind = match kinds.len() {
        1 => format!("incident.{}", kinds.first().copied().unwrap_or("page")),
        _ => "incident.notifications".to_owned(),
    };
    let body = serde_json::json!({
        "type": kind,
        "timestamp": now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        "data": {
            "delivery": out.id,
            "target": out.target,
            "summary": out.subject(),
            "notifications": out.items.iter().map(|i| i.json()).collect::<Vec<_>>(),
        }
    });
    let timestamp = now.timestamp();
    let text = body.to_string();
    let signature = sign(secret.expose(), &out.id, timestamp, &text);
    let request = http
        .post(&receiver.url)
        .header("webhook-id", &out.id)
        .header("webhook-timestamp", timestamp.to_string())
        .header("webhook-signature", signature);
    post_json(request, &body, timeout).await.map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The specification's own example: its secret, id, timestamp and
    /// payload give its signature.
    #[test]
    fn signs_as_the_specification_example() {
        let secret = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let id = "msg_p5jXN8AQM9LWM0D4loKWxJek";
        let body = r#"{"test": 2432232314}"#;
        let signature = sign(secret, id, 1614265330, body);
        assert_eq!(signature, "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=");
        assert!(verify(secret, id, 1614265330, body, &format!("v1,bogus {signature}")));
        assert!(!verify(secret, id, 1614265331, body, &signature), "another timestamp");
        assert!(!verify(secret, id, 1614265330, r#"{"test": 2432232315}"#, &signature), "another body");
    }
}
