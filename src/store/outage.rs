//! Whether the database has just been found unreachable: every error that
//! says so (a pool that timed out or closed, a broken connection) marks the
//! moment, so a request still waiting on the database can be answered 503
//! at the outage bound instead of waiting out one timeout after another.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How long one finding of "unreachable" stands for the whole database.
const STANDS_FOR: Duration = Duration::from_secs(5);

/// Milliseconds after [`epoch`] at which the database was last found
/// unreachable, plus one (0: never).
static LAST_FOUND: AtomicU64 = AtomicU64::new(0);

fn epoch() -> Instant {
    static EPOCH: std::sync::OnceLock<Instant> = std::sync::OnceLock::new();
    *EPOCH.get_or_init(Instant::now)
}

/// The database was just found unreachable.
pub fn found_unreachable() {
    let ms = epoch().elapsed().as_millis() as u64 + 1;
    LAST_FOUND.fetch_max(ms, Ordering::Relaxed);
}

/// Whether the database was found unreachable within the last few seconds.
pub fn unreachable_lately() -> bool {
    match LAST_FOUND.load(Ordering::Relaxed) {
        0 => false,
        found => epoch().elapsed().saturating_sub(Duration::from_millis(found - 1)) < STANDS_FOR,
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_finding_stands_for_a_few_seconds() {
        super::found_unreachable();
        assert!(super::unreachable_lately());
    }
}
