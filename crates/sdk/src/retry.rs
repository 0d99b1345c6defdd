//! When to try again: one exponential backoff with jitter, and one reader of
//! a server's `Retry-After`, for every client Mandate ships (the SDK, the
//! console's poller, the paging worker's deliveries).

use reqwest::header::{HeaderMap, RETRY_AFTER};
use std::time::Duration;

/// Attempt `n` (from 0) waits up to `base · 2ⁿ`, capped at `cap`: the upper
/// half of that at random (equal jitter), so a crowd of retries spreads out
/// and none comes back at once; never less than the server asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    pub base: Duration,
    pub cap: Duration,
}

impl Backoff {
    /// The wait before retry `attempt` (0 for the first retry); `random` in
    /// 0..=1 draws the jitter, `asked` is the server's Retry-After.
    pub fn delay(&self, attempt: u32, random: f64, asked: Option<Duration>) -> Duration {
        let ceiling = self.base.saturating_mul(1u32 << attempt.min(16)).min(self.cap);
        let drawn = ceiling / 2 + ceiling.mul_f64(random.clamp(0.0, 1.0) / 2.0);
        drawn.max(asked.unwrap_or_default())
    }
}

/// A `Retry-After` header: delta-seconds, or an HTTP date (its distance
/// from now; a date past is no wait).
pub fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    let value = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    if let Ok(seconds) = value.parse::<u64>() {
        return Some(Duration::from_secs(seconds));
    }
    let at = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    Some((at.with_timezone(&chrono::Utc) - chrono::Utc::now()).to_std().unwrap_or(Duration::ZERO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_backoff_doubles_with_jitter_is_capped_and_honours_the_server() {
        let b = Backoff { base: Duration::from_secs(2), cap: Duration::from_secs(300) };
        assert_eq!(b.delay(0, 0.0, None), Duration::from_secs(1));
        assert_eq!(b.delay(0, 1.0, None), Duration::from_secs(2));
        assert_eq!(b.delay(2, 1.0, None), Duration::from_secs(8));
        assert_eq!(b.delay(30, 1.0, None), b.cap);
        assert_eq!(b.delay(30, 0.0, None), b.cap / 2);
        assert_eq!(b.delay(0, 0.5, Some(Duration::from_secs(60))), Duration::from_secs(60));
    }

    #[test]
    fn retry_after_reads_seconds_and_http_dates() {
        let mut h = HeaderMap::new();
        assert_eq!(retry_after(&h), None);
        h.insert(RETRY_AFTER, " 120 ".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::from_secs(120)));
        let later = (chrono::Utc::now() + chrono::Duration::seconds(90)).format("%a, %d %b %Y %H:%M:%S GMT");
        h.insert(RETRY_AFTER, later.to_string().parse().unwrap());
        let wait = retry_after(&h).unwrap();
        assert!((Duration::from_secs(85)..=Duration::from_secs(90)).contains(&wait), "{wait:?}");
        h.insert(RETRY_AFTER, "Sun, 06 Nov 1994 08:49:37 GMT".parse().unwrap());
        assert_eq!(retry_after(&h), Some(Duration::ZERO), "a date past");
        h.insert(RETRY_AFTER, "soon".parse().unwrap());
        assert_eq!(retry_after(&h), None);
    }
}
