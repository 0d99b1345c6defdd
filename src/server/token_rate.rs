//! Requests per token, limited: each token name has a bucket of `rate`
//! requests refilled at `rate` per second, so a client may burst one
//! second's worth and then goes at the rate. Past it: `429 RATE_LIMITED`
//! with `Retry-After`, before the handler does any work. A rotated token
//! shares its name's bucket with the token it replaces.

use parking_lot::Mutex;
use std::collections::HashMap;
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

#[derive(Debug)]
pub struct TokenRate {
    /// Requests per second per token; 0: no limit.
    pub rate: u32,
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl TokenRate {
    pub fn new(rate: u32) -> Self {
        TokenRate { rate, buckets: Mutex::default() }
    }

    /// Takes one request from `name`'s bucket, or says how long until one
    /// is there.
    pub fn take(&self, name: &str, now: Instant) -> Result<(), Duration> {
        if self.rate == 0 {
            return Ok(());
        }
        let rate = f64::from(self.rate);
        let mut buckets = self.buckets.lock();
        let bucket = match buckets.get_mut(name) {
            Some(b) => b,
            None => buckets.entry(name.to_owned()).or_insert(Bucket { tokens: rate, at: now }),
        };
        bucket.tokens = (bucket.tokens + now.duration_since(bucket.at).as_secs_f64() * rate).min(rate);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            Err(Duration::from_secs_f64((1.0 - bucket.tokens) / rate))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_second_of_burst_then_the_rate() {
        let limit = TokenRate::new(5);
        let t0 = Instant::now();
        for _ in 0..5 {
            assert!(limit.take("fleet", t0).is_ok());
        }
        let wait = limit.take("fleet", t0).unwrap_err();
        assert!(wait > Duration::from_millis(150) && wait <= Duration::from_millis(200), "{wait:?}");
        assert!(limit.take("alice", t0).is_ok(), "each token has its own bucket");
        assert!(limit.take("fleet", t0 + Duration::from_millis(200)).is_ok());
        assert!(limit.take("fleet", t0 + Duration::from_millis(200)).is_err());
        assert!(TokenRate::new(0).take("fleet", t0).is_ok(), "0: no limit");
    }
}
