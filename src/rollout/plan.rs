//! The rollout's plan, written under `[attribution]` in the routing file:
//! when shadow mode, soft fail, the end of the override and hard fail begin
//! (seed 000 §9), and where the weekly status (§6) and the outreach to
//! owners (§5) go.
//!
//! ```toml
//! [attribution]
//! shadow_begins = "2026-11-09T00:00:00Z"
//! soft_fail_begins = "2026-11-30T00:00:00Z"
//! override_disabled = "2026-12-07T00:00:00Z"
//! hard_fail_begins = "2026-12-14T00:00:00Z"
//! status_to = "@platform-team"
//! status_channels = ["email"]
//! status_at = "mon 09:00"
//! support = "#aos-sdk-support"
//! ```
//!
//! A date may also be written unquoted, as TOML's own date and time
//! (`2026-12-14T00:00:00Z`), or as a day alone (`2026-12-14`, midnight UTC).

use crate::api::{Milestone, Phase};
use chrono::{DateTime, Datelike, Duration, NaiveTime, Utc, Weekday};
use serde::{Deserialize, Serialize};

/// When the weekly status goes out unless the plan says otherwise.
pub const DEFAULT_STATUS_AT: &str = "mon 09:00";

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RolloutPlan {
    #[serde(default, deserialize_with = "crate::moment::optional", skip_serializing_if = "Option::is_none")]
    pub shadow_begins: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "crate::moment::optional", skip_serializing_if = "Option::is_none")]
    pub soft_fail_begins: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "crate::moment::optional", skip_serializing_if = "Option::is_none")]
    pub override_disabled: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "crate::moment::optional", skip_serializing_if = "Option::is_none")]
    pub hard_fail_begins: Option<DateTime<Utc>>,
    /// Who receives the weekly status; the routing's fallback when not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_to: Option<String>,
    /// Its channels; email when it has a receiver, else slack.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_channels: Option<Vec<String>>,
    /// "mon 09:00", in UTC: when it goes out each week.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_at: Option<String>,
    /// Channels of the direct message to an owner; slack when it has a
    /// receiver, else email.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outreach_channels: Option<Vec<String>>,
    /// Where owners ask for help, quoted in the messages.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub support: Option<String>,
}

impl RolloutPlan {
    /// The planned dates in order, each with the phase it begins.
    fn dates(&self) -> Vec<(Phase, &'static str, DateTime<Utc>)> {
        [
            (Phase::Shadow, "Shadow mode begins", self.shadow_begins),
            (Phase::Soft, "Soft fail begins", self.soft_fail_begins),
            (Phase::SoftNoOverride, "Override flag disabled", self.override_disabled),
            (Phase::Hard, "Hard fail enforcement", self.hard_fail_begins),
        ]
        .into_iter()
        .filter_map(|(phase, name, at)| at.map(|at| (phase, name, at)))
        .collect()
    }

    /// Whether any date is planned.
    pub fn is_planned(&self) -> bool {
        !self.dates().is_empty()
    }

    /// The phase in force at `now`: the last milestone passed, else
    /// announced. With no plan at all, hard: what the API enforces anyway.
    pub fn phase_at(&self, now: DateTime<Utc>) -> Phase {
        let dates = self.dates();
        if dates.is_empty() {
            return Phase::Hard;
        }
        dates.iter().rev().find(|(_, _, at)| *at <= now).map(|(p, _, _)| *p).unwrap_or(Phase::Announced)
    }

    pub fn milestones(&self, now: DateTime<Utc>) -> Vec<Milestone> {
        self.dates()
            .into_iter()
            .map(|(phase, name, at)| Milestone {
                phase,
                name: name.to_owned(),
                at,
                days_remaining: days_until(now, at),
                passed: at <= now,
            })
            .collect()
    }

    /// The first milestone still ahead.
    pub fn next_milestone(&self, now: DateTime<Utc>) -> Option<Milestone> {
        self.milestones(now).into_iter().find(|m| !m.passed)
    }

    /// The weekly slot: (weekday, time of day).
    pub fn status_slot(&self) -> (Weekday, NaiveTime) {
        parse_slot(self.status_at.as_deref().unwrap_or(DEFAULT_STATUS_AT)).expect("checked when the routing was read")
    }

    /// The latest weekly slot at or before `now`.
    pub fn last_status_slot(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        let (day, time) = self.status_slot();
        let back = (now.weekday().num_days_from_monday() + 7 - day.num_days_from_monday()) % 7;
        let slot = (now.date_naive() - Duration::days(i64::from(back))).and_time(time).and_utc();
        if slot > now { slot - Duration::days(7) } else { slot }
    }

    /// Checks the plan; errors are (path under `attribution`, message).
    pub fn check(&self) -> Result<(), (String, String)> {
        let dates = self.dates();
        for pair in dates.windows(2) {
            if pair[1].2 < pair[0].2 {
                return Err((
                    field_of(pair[1].0).to_owned(),
                    format!("{} comes before {} ({})", pair[1].2, field_of(pair[0].0), pair[0].2),
                ));
            }
        }
        if let Some(raw) = &self.status_at
            && parse_slot(raw).is_none()
        {
            return Err(("status_at".into(), format!("{raw:?} is not a weekly time: write \"mon 09:00\" (UTC)")));
        }
        if let Some(to) = &self.status_to
            && !(to.starts_with('@') || to.starts_with('#'))
        {
            return Err(("status_to".into(), format!("{to:?} is not a person, group or channel: write @someone")));
        }
        for (field, channels) in
            [("status_channels", &self.status_channels), ("outreach_channels", &self.outreach_channels)]
        {
            for (i, c) in channels.iter().flatten().enumerate() {
                if c == "pagerduty" {
                    return Err((
                        format!("{field}[{i}]"),
                        "pagerduty pages someone: the weekly status and outreach go by slack, email or webhook".into(),
                    ));
                }
                if !crate::paging::CHANNELS.contains(&c.as_str()) {
                    return Err((format!("{field}[{i}]"), format!("{c:?} is not a channel: slack, email or webhook")));
                }
            }
        }
        Ok(())
    }
}

fn field_of(phase: Phase) -> &'static str {
    match phase {
        Phase::Shadow | Phase::Announced => "shadow_begins",
        Phase::Soft => "soft_fail_begins",
        Phase::SoftNoOverride => "override_disabled",
        Phase::Hard => "hard_fail_begins",
    }
}

/// Whole days from `now` to `at`, rounded up (a milestone 36 h away is in 2
/// days); negative once passed.
pub fn days_until(now: DateTime<Utc>, at: DateTime<Utc>) -> i64 {
    let seconds = (at - now).num_seconds();
    if seconds > 0 { (seconds + 86_399) / 86_400 } else { seconds / 86_400 }
}

/// "mon 09:00" → (Monday, 09:00).
fn parse_slot(raw: &str) -> Option<(Weekday, NaiveTime)> {
    let (day, time) = raw.trim().split_once(' ')?;
    let day: Weekday = day.parse().ok()?;
    let time = NaiveTime::parse_from_str(time.trim(), "%H:%M").ok()?;
    Some((day, time))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    fn plan() -> RolloutPlan {
        RolloutPlan {
            shadow_begins: Some(at("2026-11-09T00:00:00Z")),
            soft_fail_begins: Some(at("2026-11-30T00:00:00Z")),
            override_disabled: Some(at("2026-12-07T00:00:00Z")),
            hard_fail_begins: Some(at("2026-12-14T00:00:00Z")),
            ..RolloutPlan::default()
        }
    }

    #[test]
    fn the_phase_is_the_last_milestone_passed() {
        let p = plan();
        assert_eq!(p.phase_at(at("2026-11-01T00:00:00Z")), Phase::Announced);
        assert_eq!(p.phase_at(at("2026-11-09T00:00:00Z")), Phase::Shadow);
        assert_eq!(p.phase_at(at("2026-12-01T12:00:00Z")), Phase::Soft);
        assert_eq!(p.phase_at(at("2026-12-08T00:00:00Z")), Phase::SoftNoOverride);
        assert_eq!(p.phase_at(at("2027-01-01T00:00:00Z")), Phase::Hard);
        assert_eq!(RolloutPlan::default().phase_at(at("2026-01-01T00:00:00Z")), Phase::Hard, "no plan: hard");
        let next = p.next_milestone(at("2026-12-05T12:00:00Z")).unwrap();
        assert_eq!((next.phase, next.days_remaining), (Phase::SoftNoOverride, 2));
    }

    #[test]
    fn a_plan_out_of_order_or_a_bad_slot_is_refused_naming_the_field() {
        let mut p = plan();
        p.hard_fail_begins = Some(at("2026-12-01T00:00:00Z"));
        assert_eq!(p.check().unwrap_err().0, "hard_fail_begins");
        let p = RolloutPlan { status_at: Some("monday 9am".into()), ..plan() };
        assert_eq!(p.check().unwrap_err().0, "status_at");
        let p = RolloutPlan { outreach_channels: Some(vec!["pagerduty".into()]), ..plan() };
        assert_eq!(p.check().unwrap_err().0, "outreach_channels[0]");
    }

    #[test]
    fn the_weekly_slot_is_the_last_one_passed() {
        let p = plan();
        // 2026-12-02 is a Wednesday.
        assert_eq!(p.last_status_slot(at("2026-12-02T10:00:00Z")), at("2026-11-30T09:00:00Z"));
        assert_eq!(p.last_status_slot(at("2026-11-30T08:59:00Z")), at("2026-11-23T09:00:00Z"));
        assert_eq!(p.last_status_slot(at("2026-11-30T09:00:00Z")), at("2026-11-30T09:00:00Z"));
    }
}
