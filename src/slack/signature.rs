//! Slack's request signing: `X-Slack-Signature` is `v0=` and the hex
//! HMAC-SHA256, under the app's signing secret, of `v0:{timestamp}:{body}`,
//! with the timestamp from `X-Slack-Request-Timestamp`. A request more than
//! five minutes from the server's clock is refused, so a captured request
//! cannot be replayed later.

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// How far a request's timestamp may be from the server's clock.
pub const MAX_SKEW_SECONDS: i64 = 5 * 60;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("X-Slack-Request-Timestamp and X-Slack-Signature are required")]
    Missing,
    #[error("the request's timestamp is more than 5 minutes from the server's clock: a replay, or a clock to fix")]
    Stale,
    #[error("the request's signature does not match: it was not signed with this app's signing secret")]
    Mismatch,
}

/// The signature Slack would send for `body` at `timestamp`.
pub fn sign(secret: &[u8], timestamp: &str, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(b"v0:");
    mac.update(timestamp.as_bytes());
    mac.update(b":");
    mac.update(body);
    format!("v0={}", hex::encode(mac.finalize().into_bytes()))
}

/// Checks a request as Slack documents, in constant time.
pub fn verify(
    secret: &[u8],
    timestamp: Option<&str>,
    signature: Option<&str>,
    body: &[u8],
    now: i64,
) -> Result<(), Refused> {
    let (Some(timestamp), Some(signature)) = (timestamp, signature) else { return Err(Refused::Missing) };
    let at: i64 = timestamp.trim().parse().map_err(|_| Refused::Stale)?;
    if (now - at).abs() > MAX_SKEW_SECONDS {
        return Err(Refused::Stale);
    }
    let given = signature.strip_prefix("v0=").and_then(|h| hex::decode(h).ok()).ok_or(Refused::Mismatch)?;
    let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC takes any key length");
    mac.update(b"v0:");
    mac.update(timestamp.as_bytes());
    mac.update(b":");
    mac.update(body);
    mac.verify_slice(&given).map_err(|_| Refused::Mismatch)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The example of Slack's "Verifying requests from Slack".
    #[test]
    fn slacks_published_example_verifies() {
        let secret = b"8f742231b10e8888abcd99yyyzzz85a5";
        let body = b"token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";
        let signature = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";
        assert_eq!(sign(secret, "1531420618", body), signature);
        assert_eq!(verify(secret, Some("1531420618"), Some(signature), body, 1531420618 + 60), Ok(()));
        assert_eq!(verify(secret, Some("1531420618"), Some(signature), body, 1531420618 + 301), Err(Refused::Stale));
        let mut forged = body.to_vec();
        forged[6] ^= 1;
        assert_eq!(verify(secret, Some("1531420618"), Some(signature), &forged, 1531420618), Err(Refused::Mismatch));
        assert_eq!(verify(secret, None, Some(signature), body, 1531420618), Err(Refused::Missing));
        assert_eq!(verify(secret, Some("1531420618"), Some("v0=zz"), body, 1531420618), Err(Refused::Mismatch));
    }
}
