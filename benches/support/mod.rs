//! Measuring helpers shared by the benchmarks.
#![allow(dead_code)]

use std::time::Duration;

pub fn env_number(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// `p` in 0..=1 of latencies sorted ascending.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() as f64 - 1.0) * p).round() as usize]
}

pub fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}

/// This process's resident memory, from /proc.
pub fn resident_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        .unwrap_or(0.0)
        / 1024.0
}

/// The change-feed version the server at `base` (`http://host:port`) is at.
pub async fn feed_version(http: &reqwest::Client, base: &str, token: &str) -> i64 {
    let page: serde_json::Value = http
        .get(format!("{base}/api/v1/incidents?limit=1"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    page["version"].as_i64().unwrap()
}
