//! Failed authentication, throttled per client address: more than the limit
//! (20 by default) of bad tokens within `WINDOW` from one address, and every request
//! from it that needs a token is answered `429 TOO_MANY_FAILED_ATTEMPTS`
//! for `WINDOW`, without looking at the token, so guessing gains nothing.
//! Clients behind one address share its budget.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

pub const WINDOW: Duration = Duration::from_secs(10);
/// Addresses remembered at most; the oldest are forgotten first.
const REMEMBERED: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Tally {
    since: Instant,
    failures: u32,
    blocked_until: Option<Instant>,
}

#[derive(Debug)]
pub struct AuthThrottle {
    /// Failures allowed per window; 0: no limit.
    pub limit: u32,
    tallies: Mutex<HashMap<IpAddr, Tally>>,
}

impl AuthThrottle {
    pub fn new(limit: u32) -> Self {
        AuthThrottle { limit, tallies: Mutex::default() }
    }

    /// Whether `ip` is blocked now.
    pub fn blocked(&self, ip: IpAddr, now: Instant) -> bool {
        let tallies = self.tallies.lock().unwrap_or_else(|p| p.into_inner());
        tallies.get(&ip).and_then(|t| t.blocked_until).is_some_and(|until| now < until)
    }

    /// A bad token from `ip`.
    pub fn failed(&self, ip: IpAddr, now: Instant) {
        if self.limit == 0 {
            return;
        }
        let mut tallies = self.tallies.lock().unwrap_or_else(|p| p.into_inner());
        if tallies.len() >= REMEMBERED {
            tallies.retain(|_, t| now.duration_since(t.since) < WINDOW || t.blocked_until.is_some_and(|u| now < u));
        }
        let tally = tallies.entry(ip).or_insert(Tally { since: now, failures: 0, blocked_until: None });
        if now.duration_since(tally.since) >= WINDOW {
            *tally = Tally { since: now, failures: 0, blocked_until: None };
        }
        tally.failures += 1;
        if tally.failures > self.limit {
            tally.blocked_until = Some(now + WINDOW);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_is_blocked_after_too_many_failures_and_free_after_the_window() {
        let throttle = AuthThrottle::new(20);
        let (ip, other): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let t0 = Instant::now();
        for _ in 0..20 {
            throttle.failed(ip, t0);
        }
        assert!(!throttle.blocked(ip, t0), "the budget itself is allowed");
        throttle.failed(ip, t0);
        assert!(throttle.blocked(ip, t0));
        assert!(!throttle.blocked(other, t0), "per address");
        assert!(!throttle.blocked(ip, t0 + WINDOW), "for one window");
    }
}
