//! Where each origin system stands, and the fleet's trends, from hourly
//! counts of accepted and refused runs (seed 000 §6).
//!
//! A service's status at an hour looks at the 24 hours ending there: any
//! refusal without the override makes it violating; else any override use,
//! using override; else any accepted run, compliant; else silent. Its
//! "since" is where the current status began, found by walking the history.

use crate::api::{ComplianceStatus, CountBy, Phase, Trend, TrendMetric, ViolationSample};
use chrono::{DateTime, Duration, TimeZone, Utc};
use std::collections::BTreeMap;

/// How far back statuses are walked: a rollout's calendar (seed 000 §9).
pub const HISTORY_DAYS: i64 = 35;
/// The sparklines' length.
pub const TREND_DAYS: i64 = 14;
const HOUR_MS: i64 = 3_600_000;

/// One origin system's counts in one hour.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct HourCounts {
    pub accepted: i64,
    /// Refused runs and events, override or not.
    pub refused: i64,
    /// Of those, the ones whose SDK claimed the soft-mode override.
    pub overrides: i64,
    /// Of those, the ones carrying a legacy sentinel.
    pub legacy: i64,
    /// Of those, the runs (not events): the success rate's denominator.
    pub runs_refused: i64,
}

impl HourCounts {
    fn add(&mut self, o: &HourCounts) {
        self.accepted += o.accepted;
        self.refused += o.refused;
        self.overrides += o.overrides;
        self.legacy += o.legacy;
        self.runs_refused += o.runs_refused;
    }

    fn sub(&mut self, o: &HourCounts) {
        self.accepted -= o.accepted;
        self.refused -= o.refused;
        self.overrides -= o.overrides;
        self.legacy -= o.legacy;
        self.runs_refused -= o.runs_refused;
    }

    fn status(&self) -> ComplianceStatus {
        if self.refused > self.overrides {
            ComplianceStatus::Violating
        } else if self.overrides > 0 {
            ComplianceStatus::UsingOverride
        } else if self.accepted > 0 {
            ComplianceStatus::Compliant
        } else {
            ComplianceStatus::Silent
        }
    }
}

/// What the store knows of one origin system.
#[derive(Debug, Clone, Default)]
pub struct ServiceActivity {
    /// Hour number (milliseconds / 3,600,000) → counts, within the history.
    pub hours: BTreeMap<i64, HourCounts>,
    pub first_seen: Option<DateTime<Utc>>,
    pub last_seen: Option<DateTime<Utc>>,
    /// `ATTR_…` code → refusals, last 7 days.
    pub codes_7d: BTreeMap<String, i64>,
    pub latest_violation: Option<ViolationSample>,
}

/// Everything the rollout's figures are computed from.
#[derive(Debug, Clone, Default)]
pub struct Activity {
    pub services: BTreeMap<String, ServiceActivity>,
    /// Hour → runs stored with a legacy sentinel (the database refuses them:
    /// anything here is a breach of its constraints).
    pub legacy_stored: BTreeMap<i64, i64>,
}

/// One service's standing, before the catalog and outreach are added.
#[derive(Debug, Clone, PartialEq)]
pub struct Standing {
    pub status: ComplianceStatus,
    pub since: Option<DateTime<Utc>>,
    /// The status before the current one, if the history holds it.
    pub was: Option<ComplianceStatus>,
    pub runs_24h: i64,
    pub runs_7d: i64,
    pub violations_24h: i64,
    pub violations_7d: i64,
    pub override_use_7d: i64,
    pub legacy_use_7d: i64,
    pub first_violation: Option<DateTime<Utc>>,
    pub last_violation: Option<DateTime<Utc>>,
}

pub fn hour_of(at: DateTime<Utc>) -> i64 {
    at.timestamp_millis().div_euclid(HOUR_MS)
}

fn hour_start(hour: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(hour * HOUR_MS).single().unwrap_or_default()
}

/// Where one service stands at `now`.
pub fn standing(activity: &ServiceActivity, now: DateTime<Utc>) -> Standing {
    let now_hour = hour_of(now);
    let start = now_hour - HISTORY_DAYS * 24;
    let (day, week) =
        (total(&activity.hours, now_hour - 23, now_hour), total(&activity.hours, now_hour - 7 * 24 + 1, now_hour));
    // Walk the history hour by hour with a 24-hour window.
    let mut window = HourCounts::default();
    let (mut current, mut began, mut was): (Option<ComplianceStatus>, Option<i64>, Option<ComplianceStatus>) =
        (None, None, None);
    let first_active = activity.hours.range(start..=now_hour).next().map(|(h, _)| *h);
    let seen_before = activity.first_seen.is_some_and(|f| hour_of(f) < start);
    for hour in start..=now_hour {
        if let Some(c) = activity.hours.get(&hour) {
            window.add(c);
        }
        if let Some(c) = activity.hours.get(&(hour - 24)) {
            window.sub(c);
        }
        if !seen_before && first_active.is_none_or(|f| hour < f) {
            continue;
        }
        let status = window.status();
        if current != Some(status) {
            // "Was" skips a silent spell: a fixed service that paused a
            // few hours before its next run was violating, not silent.
            if let Some(before) = current.filter(|c| *c != ComplianceStatus::Silent) {
                was = Some(before).filter(|b| *b != status);
            }
            current = Some(status);
            began = Some(hour);
        }
    }
    let status = current.unwrap_or(ComplianceStatus::Silent);
    // Never before the service was first seen (hours are whole, events not).
    let since = began
        .filter(|b| !(*b == start && seen_before))
        .map(hour_start)
        .map(|s| activity.first_seen.map_or(s, |f| s.max(f)));
    let refusing = |c: &&HourCounts| c.refused > 0;
    let first_violation = activity.hours.iter().find(|(_, c)| refusing(c)).map(|(h, _)| hour_start(*h));
    let last_violation = activity.hours.iter().rev().find(|(_, c)| refusing(c)).map(|(h, _)| hour_start(*h));
    Standing {
        status,
        since,
        was,
        runs_24h: day.accepted,
        runs_7d: week.accepted,
        violations_24h: day.refused,
        violations_7d: week.refused,
        override_use_7d: week.overrides,
        legacy_use_7d: week.legacy,
        first_violation,
        last_violation: activity.latest_violation.as_ref().map(|v| v.at).or(last_violation),
    }
}

/// Whether a service in `status` has its runs refused once `phase` begins.
pub fn fails_in(phase: Phase, status: ComplianceStatus) -> bool {
    match status {
        ComplianceStatus::Violating => matches!(phase, Phase::Soft | Phase::SoftNoOverride | Phase::Hard),
        ComplianceStatus::UsingOverride => !phase.honours_override(),
        ComplianceStatus::Silent | ComplianceStatus::Compliant => false,
    }
}

/// Refusals by code, most first.
pub fn ranked_codes(codes: &BTreeMap<String, i64>) -> Vec<CountBy> {
    let mut v: Vec<CountBy> = codes.iter().map(|(key, count)| CountBy { key: key.clone(), count: *count }).collect();
    v.sort_by(|a, b| b.count.cmp(&a.count).then(a.key.cmp(&b.key)));
    v
}

/// The fleet's totals per hour, all services together.
fn fleet_hours(activity: &Activity) -> BTreeMap<i64, HourCounts> {
    let mut out: BTreeMap<i64, HourCounts> = BTreeMap::new();
    for s in activity.services.values() {
        for (h, c) in &s.hours {
            out.entry(*h).or_default().add(c);
        }
    }
    out
}

fn total(hours: &BTreeMap<i64, HourCounts>, from: i64, to: i64) -> HourCounts {
    let mut t = HourCounts::default();
    for (_, c) in hours.range(from..=to) {
        t.add(c);
    }
    t
}

fn rate(c: &HourCounts) -> Option<f64> {
    let attempts = c.accepted + c.runs_refused;
    (attempts > 0).then(|| c.accepted as f64 / attempts as f64)
}

/// Seed 000 §6's metrics: the last 7 days against the 7 before, and one
/// value a day for the last 14 (today last).
pub fn trends(activity: &Activity, now: DateTime<Utc>) -> Vec<TrendMetric> {
    let hours = fleet_hours(activity);
    let now_hour = hour_of(now);
    let week = 7 * 24;
    let (current, previous) =
        (total(&hours, now_hour - week + 1, now_hour), total(&hours, now_hour - 2 * week + 1, now_hour - week));
    let legacy_stored = |from: i64, to: i64| activity.legacy_stored.range(from..=to).map(|(_, n)| *n).sum::<i64>();
    let today = now.date_naive().and_hms_opt(0, 0, 0).expect("midnight").and_utc();
    let days: Vec<(i64, i64)> = (0..TREND_DAYS)
        .rev()
        .map(|back| {
            let from = hour_of(today - Duration::days(back));
            (from, from + 23)
        })
        .collect();
    let count = |f: fn(&HourCounts) -> i64| -> (Option<f64>, Option<f64>, Vec<Option<f64>>) {
        (
            Some(f(&current) as f64),
            Some(f(&previous) as f64),
            days.iter().map(|(a, b)| Some(f(&total(&hours, *a, *b)) as f64)).collect(),
        )
    };
    let mut out = Vec::new();
    let daily_rate = days.iter().map(|(a, b)| rate(&total(&hours, *a, *b))).collect();
    out.push(metric("validation_success_rate", "Validation success rate", rate(&current), rate(&previous), daily_rate));
    let (v, p, d) = count(|c| c.refused);
    out.push(metric("violations", "Total violations (7d)", v, p, d));
    let (v, p, d) = count(|c| c.overrides);
    out.push(metric("override_use", "Override usage", v, p, d));
    let stored_daily = days.iter().map(|(a, b)| Some(legacy_stored(*a, *b) as f64)).collect();
    out.push(metric(
        "legacy_bucket_growth",
        "Legacy bucket growth",
        Some(legacy_stored(now_hour - week + 1, now_hour) as f64),
        Some(legacy_stored(now_hour - 2 * week + 1, now_hour - week) as f64),
        stored_daily,
    ));
    let (v, p, d) = count(|c| c.legacy);
    out.push(metric("legacy_attempts", "Legacy sentinel attempts (refused)", v, p, d));
    out
}

fn metric(key: &str, label: &str, value: Option<f64>, previous: Option<f64>, daily: Vec<Option<f64>>) -> TrendMetric {
    let is_rate = key == "validation_success_rate";
    let trend = match (value, previous) {
        (Some(v), Some(p)) if is_rate => {
            let points = (v - p) * 100.0;
            if points >= 0.5 {
                Trend::Up
            } else if points <= -0.5 {
                Trend::Down
            } else {
                Trend::Stable
            }
        }
        (Some(v), Some(p)) => {
            let change = (v - p) / p.max(1.0);
            if change.abs() < 0.05 {
                Trend::Stable
            } else if v > p {
                Trend::Up
            } else {
                Trend::Down
            }
        }
        _ => Trend::Stable,
    };
    let improving = match key {
        "validation_success_rate" => trend != Trend::Down,
        "legacy_bucket_growth" => value.unwrap_or(0.0) == 0.0,
        _ => trend != Trend::Up,
    };
    TrendMetric { key: key.to_owned(), label: label.to_owned(), value, previous, trend, improving, daily }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn service(events: &[(&str, HourCounts)]) -> ServiceActivity {
        let mut s = ServiceActivity::default();
        for (when, c) in events {
            s.hours.entry(hour_of(at(when))).or_default().add(c);
            s.first_seen = Some(s.first_seen.map_or(at(when), |f| f.min(at(when))));
            s.last_seen = Some(s.last_seen.map_or(at(when), |f| f.max(at(when))));
        }
        s
    }

    const OK: HourCounts = HourCounts { accepted: 1, refused: 0, overrides: 0, legacy: 0, runs_refused: 0 };
    const BAD: HourCounts = HourCounts { accepted: 0, refused: 1, overrides: 0, legacy: 0, runs_refused: 1 };
    const OVERRIDE: HourCounts = HourCounts { accepted: 0, refused: 1, overrides: 1, legacy: 0, runs_refused: 1 };

    #[test]
    fn a_fixed_service_is_compliant_since_its_last_violation_left_the_window() {
        let s = service(&[("2026-11-20T10:00:00Z", BAD), ("2026-11-23T10:00:00Z", BAD), ("2026-11-24T12:00:00Z", OK)]);
        let now = at("2026-12-02T12:00:00Z");
        let st = standing(&s, now);
        // Silent from 11-25 12:00 on: nothing in 24 hours.
        assert_eq!(st.status, ComplianceStatus::Silent);
        let s = service(&[
            ("2026-11-20T10:00:00Z", BAD),
            ("2026-11-23T10:00:00Z", BAD),
            ("2026-11-24T12:00:00Z", OK),
            ("2026-11-25T09:00:00Z", OK),
            ("2026-11-26T08:00:00Z", OK),
        ]);
        let st = standing(&s, at("2026-11-26T09:00:00Z"));
        assert_eq!((st.status, st.was), (ComplianceStatus::Compliant, Some(ComplianceStatus::Violating)));
        assert_eq!(st.since, Some(at("2026-11-24T12:00:00Z")), "its first accepted run after the violations");
        assert_eq!(st.first_violation, Some(at("2026-11-20T10:00:00Z")));
    }

    #[test]
    fn the_worst_in_the_window_decides() {
        let s = service(&[("2026-12-02T08:00:00Z", OK), ("2026-12-02T09:00:00Z", OVERRIDE)]);
        assert_eq!(standing(&s, at("2026-12-02T10:00:00Z")).status, ComplianceStatus::UsingOverride);
        let s = service(&[("2026-12-02T08:00:00Z", OVERRIDE), ("2026-12-02T09:00:00Z", BAD)]);
        let st = standing(&s, at("2026-12-02T10:00:00Z"));
        assert_eq!((st.status, st.violations_24h, st.override_use_7d), (ComplianceStatus::Violating, 2, 1));
        assert!(fails_in(Phase::Soft, ComplianceStatus::Violating));
        assert!(!fails_in(Phase::Soft, ComplianceStatus::UsingOverride));
        assert!(fails_in(Phase::SoftNoOverride, ComplianceStatus::UsingOverride));
    }

    #[test]
    fn trends_compare_the_last_seven_days_with_the_seven_before() {
        let mut a = Activity::default();
        let mut events = vec![];
        for d in 1..=14 {
            let when = format!("2026-11-{:02}T10:00:00Z", 16 + d);
            events.push((when.clone(), if d <= 7 { BAD } else { OK }));
        }
        let borrowed: Vec<(&str, HourCounts)> = events.iter().map(|(w, c)| (w.as_str(), *c)).collect();
        a.services.insert("svc".into(), service(&borrowed));
        let t = trends(&a, at("2026-11-30T23:00:00Z"));
        let rate = &t[0];
        assert_eq!((rate.value, rate.previous, rate.trend, rate.improving), (Some(1.0), Some(0.0), Trend::Up, true));
        let violations = &t[1];
        assert_eq!((violations.value, violations.previous, violations.trend), (Some(0.0), Some(7.0), Trend::Down));
        assert_eq!(violations.daily.len(), 14);
        assert_eq!(violations.daily[0], Some(1.0), "11-17 had one");
        assert_eq!(violations.daily[13], Some(0.0), "today had none");
    }
}
