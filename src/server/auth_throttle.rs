//! Failed authentication, throttled per client: after the limit (20 by
//! default) of wrong tokens within `WINDOW` from one client, every request
//! from it that needs a token is answered `429 TOO_MANY_FAILED_ATTEMPTS` for
//! `WINDOW`, without looking at the token, so guessing gains nothing.
//!
//! Only guesses count: a request with no token, or a header that is not
//! `Bearer <token>`, is a 401 that costs nothing, so it can lock nobody out.
//! A client is its address, an IPv6 one by its /64 (one host's share); behind
//! a trusted proxy, the address `X-Forwarded-For` gives (see [`client_of`]).

use axum::http::HeaderMap;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::time::{Duration, Instant};

pub const WINDOW: Duration = Duration::from_secs(10);
/// Clients remembered at most; the oldest are forgotten first.
const REMEMBERED: usize = 100_000;

#[derive(Debug, Clone, Copy)]
struct Tally {
    since: Instant,
    failures: u32,
    blocked_until: Option<Instant>,
}

#[derive(Debug)]
pub struct AuthThrottle {
    /// Guesses allowed per window; 0: no limit.
    pub limit: u32,
    tallies: Mutex<HashMap<IpAddr, Tally>>,
}

/// Who a request comes from: its peer's address, or when the peer is one
/// of `trusted_proxies`, the right-most address of `X-Forwarded-For` that
/// is not (proxies append the address they heard from). IPv6 addresses are
/// taken by their /64.
pub fn client_of(peer: IpAddr, headers: &HeaderMap, trusted_proxies: &[ipnet::IpNet]) -> IpAddr {
    let trusted = |ip: &IpAddr| trusted_proxies.iter().any(|net| net.contains(ip));
    let mut client = peer.to_canonical();
    if trusted(&client) {
        let forwarded = headers.get_all("x-forwarded-for").iter().filter_map(|v| v.to_str().ok());
        let hops: Vec<IpAddr> =
            forwarded.flat_map(|v| v.split(',')).filter_map(|hop| hop.trim().parse::<IpAddr>().ok()).collect();
        for hop in hops.iter().rev() {
            client = hop.to_canonical();
            if !trusted(&client) {
                break;
            }
        }
    }
    match client {
        IpAddr::V6(v6) => {
            let s = v6.segments();
            IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
        v4 => v4,
    }
}

impl AuthThrottle {
    pub fn new(limit: u32) -> Self {
        AuthThrottle { limit, tallies: Mutex::default() }
    }

    /// Whether `client` is blocked now.
    pub fn blocked(&self, client: IpAddr, now: Instant) -> bool {
        let tallies = self.tallies.lock();
        tallies.get(&client).and_then(|t| t.blocked_until).is_some_and(|until| now < until)
    }

    /// A wrong token from `client`. The guess that reaches the limit blocks
    /// the client (and is logged with its address): the next request is a 429.
    pub fn failed(&self, client: IpAddr, now: Instant) {
        if self.limit == 0 {
            return;
        }
        let mut tallies = self.tallies.lock();
        if tallies.len() >= REMEMBERED {
            tallies.retain(|_, t| now.duration_since(t.since) < WINDOW || t.blocked_until.is_some_and(|u| now < u));
        }
        let tally = tallies.entry(client).or_insert(Tally { since: now, failures: 0, blocked_until: None });
        if now.duration_since(tally.since) >= WINDOW {
            *tally = Tally { since: now, failures: 0, blocked_until: None };
        }
        tally.failures += 1;
        if tally.failures >= self.limit && tally.blocked_until.is_none() {
            tally.blocked_until = Some(now + WINDOW);
            tracing::warn!(
                client = %client,
                failures = tally.failures,
                blocked_seconds = WINDOW.as_secs(),
                "failed authentications: client blocked"
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_client_is_blocked_at_the_limit_and_free_after_the_window() {
        let throttle = AuthThrottle::new(20);
        let (ip, other): (IpAddr, IpAddr) = ("10.0.0.1".parse().unwrap(), "10.0.0.2".parse().unwrap());
        let t0 = Instant::now();
        for _ in 0..19 {
            throttle.failed(ip, t0);
        }
        assert!(!throttle.blocked(ip, t0), "19 guesses");
        throttle.failed(ip, t0);
        assert!(throttle.blocked(ip, t0), "the 20th guess is the last");
        assert!(!throttle.blocked(other, t0), "per client");
        assert!(!throttle.blocked(ip, t0 + WINDOW), "for one window");
    }

    #[test]
    fn clients_are_told_apart_by_address_v6_prefix_and_trusted_proxies() {
        let none = HeaderMap::new();
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        assert_eq!(client_of(ip("2001:db8:1:2:aaaa::1"), &none, &[]), ip("2001:db8:1:2::"), "one /64");
        assert_eq!(client_of(ip("::ffff:10.1.2.3"), &none, &[]), ip("10.1.2.3"));

        let proxies: Vec<ipnet::IpNet> = vec!["10.0.0.0/8".parse().unwrap()];
        let mut forwarded = HeaderMap::new();
        forwarded.insert("x-forwarded-for", "203.0.113.9, 198.51.100.7, 10.0.0.5".parse().unwrap());
        // Behind two trusted hops: the address the outer proxy heard from.
        assert_eq!(client_of(ip("10.0.0.1"), &forwarded, &proxies), ip("198.51.100.7"));
        // A header from an untrusted peer is the peer's own say: ignored.
        assert_eq!(client_of(ip("192.0.2.1"), &forwarded, &proxies), ip("192.0.2.1"));
        // A trusted proxy with no header is the client itself.
        assert_eq!(client_of(ip("10.0.0.1"), &none, &proxies), ip("10.0.0.1"));
    }
}
