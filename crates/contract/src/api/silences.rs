//! Silences and maintenance windows: what they match (like a routing rule),
//! who owns them, why, and when they hold. A silenced incident is still
//! detected, grouped, analysed and recorded; only its paging waits until
//! the silence ends.

use super::Severity;
use crate::wire_enum;
use chrono::{DateTime, Datelike, Duration, NaiveTime, Utc};
use serde::{Deserialize, Serialize};

/// The longest one silence holds, from its start to its end.
pub const MAX_SILENCE: Duration = Duration::days(7);
/// The longest a weekly maintenance window recurs, from its start to its end.
pub const MAX_RECURRING: Duration = Duration::days(90);
/// The longest one weekly window lasts.
pub const MAX_WINDOW_MINUTES: u32 = 24 * 60;

/// What a silence matches: every field given must match; at least one is
/// given (an empty match would silence everything).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SilenceMatch {
    /// A resource or service name, or `prefix*`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// An agent's name, or `prefix*`: an incident with an action of it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action_type: Option<String>,
    /// Incidents of this severity only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<Severity>,
}

/// What is known of an incident when its paging is decided.
#[derive(Debug, Clone, Default)]
pub struct IncidentTraits {
    pub severity: Option<Severity>,
    pub resources: Vec<String>,
    pub agents: Vec<String>,
    pub action_types: Vec<String>,
}

impl SilenceMatch {
    pub fn is_empty(&self) -> bool {
        self.resource.is_none() && self.agent.is_none() && self.action_type.is_none() && self.severity.is_none()
    }

    /// Whether an incident with these traits is matched.
    pub fn matches(&self, i: &IncidentTraits) -> bool {
        let any = |pattern: &Option<String>, names: &[String]| match pattern {
            None => true,
            Some(p) => names.iter().any(|n| super::pattern::matches(p, n)),
        };
        !self.is_empty()
            && any(&self.resource, &i.resources)
            && any(&self.agent, &i.agents)
            && self.action_type.as_ref().is_none_or(|a| i.action_types.iter().any(|t| t == a))
            && self.severity.is_none_or(|s| i.severity == Some(s))
    }

    /// Whether a critical incident can be matched: then making it is
    /// confirmed like an irreversible intervention.
    pub fn may_hold_critical(&self) -> bool {
        self.severity.is_none_or(|s| s == Severity::Critical)
    }

    /// "resource=payments-db agent=deployer-*", for screens and messages.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(r) = &self.resource {
            parts.push(format!("resource={r}"));
        }
        if let Some(a) = &self.agent {
            parts.push(format!("agent={a}"));
        }
        if let Some(t) = &self.action_type {
            parts.push(format!("action={t}"));
        }
        if let Some(s) = self.severity {
            parts.push(format!("severity={s}"));
        }
        parts.join(" ")
    }
}

/// A weekly maintenance window, in UTC: on each of `days`, from `start` for
/// `minutes`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct WeeklyWindow {
    /// `mon` … `sun`.
    pub days: Vec<String>,
    /// `HH:MM`, UTC.
    pub start: String,
    pub minutes: u32,
}

/// The days of the week as a window names them, Monday first.
pub const WEEKDAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];

impl WeeklyWindow {
    /// What is wrong with it, if anything, naming the field.
    pub fn problem(&self) -> Option<(&'static str, String)> {
        if self.days.is_empty() {
            return Some(("weekly.days", "a weekly window names at least one day".to_owned()));
        }
        if let Some(bad) = self.days.iter().find(|d| !WEEKDAYS.contains(&d.as_str())) {
            return Some(("weekly.days", format!("{bad:?} is not a day: one of {}", WEEKDAYS.join(", "))));
        }
        // Exactly HH:MM, as the API document's pattern says.
        let digits = self.start.len() == 5
            && self.start.bytes().enumerate().all(|(i, b)| if i == 2 { b == b':' } else { b.is_ascii_digit() });
        if !digits || NaiveTime::parse_from_str(&self.start, "%H:%M").is_err() {
            return Some(("weekly.start", format!("{:?} is not a time of day as HH:MM (UTC)", self.start)));
        }
        if self.minutes == 0 || self.minutes > MAX_WINDOW_MINUTES {
            return Some(("weekly.minutes", format!("a window lasts 1 to {MAX_WINDOW_MINUTES} minutes")));
        }
        None
    }

    /// The end of the window open at `at`, if one is.
    pub fn open_until(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let start = NaiveTime::parse_from_str(&self.start, "%H:%M").ok()?;
        let length = Duration::minutes(i64::from(self.minutes));
        // A window begun yesterday may still be open (it crosses midnight).
        [at.date_naive() - Duration::days(1), at.date_naive()].into_iter().find_map(|day| {
            let name = WEEKDAYS[day.weekday().num_days_from_monday() as usize];
            let opens = day.and_time(start).and_utc();
            (self.days.iter().any(|d| d == name) && opens <= at && at < opens + length).then_some(opens + length)
        })
    }

    /// "sat 02:00 for 2h", for screens.
    pub fn describe(&self) -> String {
        let length = match self.minutes {
            m if m % 60 == 0 => format!("{}h", m / 60),
            m => format!("{m}m"),
        };
        format!("{} {} UTC for {length}", self.days.join(","), self.start)
    }
}

wire_enum! {
    /// Where a silence stands now.
    pub enum SilenceState {
        /// Not begun, or a weekly window not open now.
        Scheduled = "scheduled",
        Active = "active",
        /// Its end has passed.
        Expired = "expired",
        /// Ended early by a person.
        Lifted = "lifted",
    }
}

/// `GET /api/v1/silences`: one silence.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Silence {
    pub id: i64,
    #[serde(rename = "match")]
    pub matches: SilenceMatch,
    /// The person who made it.
    pub owner: String,
    pub reason: String,
    pub starts_at: DateTime<Utc>,
    /// Mandatory: every silence ends.
    pub ends_at: DateTime<Utc>,
    /// A recurring maintenance window; none: held from start to end.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weekly: Option<WeeklyWindow>,
    pub created_at: DateTime<Utc>,
    #[serde(default)]
    pub lifted_at: Option<DateTime<Utc>>,
    #[serde(default)]
    pub lifted_by: Option<String>,
    /// Incidents whose paging it held.
    pub incidents: i64,
    /// As of when it was read.
    pub state: SilenceState,
    /// Ended without holding anything: a silence nobody needed, or one that
    /// matches the wrong thing.
    pub unused: bool,
    /// A silence written in the routing file: its name there. Applying the
    /// file again keeps it while unchanged, and ends it when changed or
    /// removed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub routing_name: Option<String>,
}

impl Silence {
    /// When the hold it puts on paging at `at` ends, if it holds then.
    pub fn holds_until(&self, at: DateTime<Utc>) -> Option<DateTime<Utc>> {
        let over = self.lifted_at.map_or(self.ends_at, |l| l.min(self.ends_at));
        if at < self.starts_at || at >= over {
            return None;
        }
        match &self.weekly {
            None => Some(over),
            Some(w) => w.open_until(at).map(|end| end.min(over)),
        }
    }

    /// Where it stands at `at`.
    pub fn state_at(&self, at: DateTime<Utc>) -> SilenceState {
        match self.lifted_at {
            Some(l) if l <= at && l < self.ends_at => SilenceState::Lifted,
            _ if at >= self.ends_at => SilenceState::Expired,
            _ if self.holds_until(at).is_some() => SilenceState::Active,
            _ => SilenceState::Scheduled,
        }
    }
}

/// A silence holding an incident's paging, as the incident shows it:
/// "SILENCED until 14:00 by alice (payments-db migration)".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SilenceMark {
    pub id: i64,
    pub owner: String,
    pub reason: String,
    /// When paging starts, unless the incident is acknowledged or resolved first.
    pub until: DateTime<Utc>,
}

/// `POST /api/v1/silences`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SilenceBody {
    #[serde(rename = "match")]
    pub matches: SilenceMatch,
    pub reason: String,
    /// Default: now.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starts_at: Option<DateTime<Utc>>,
    /// Required: at most 7 days after the start (90 with a weekly window).
    pub ends_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weekly: Option<WeeklyWindow>,
    /// Required (true) when a critical incident could be matched.
    #[serde(default)]
    pub confirm: bool,
    /// The incident it was made from, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub incident_id: Option<i64>,
    /// HUMAN attribution of the person: actor_id is the caller's principal.
    #[schema(value_type = crate::attribution::ActorType)]
    pub actor_type: String,
    pub actor_id: String,
    pub agent_id: String,
    pub origin_system_id: String,
}

/// `POST /api/v1/silences/{id}/lift`: ends a silence early.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LiftSilenceBody {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[schema(value_type = crate::attribution::ActorType)]
    pub actor_type: String,
    pub actor_id: String,
    pub agent_id: String,
    pub origin_system_id: String,
}

/// What making or lifting a silence did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SilenceResult {
    pub message: String,
    pub silence: Silence,
    pub audit_seq: Option<i64>,
}

/// `GET /api/v1/silences`: active and scheduled first, then the ended ones,
/// newest first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SilenceList {
    pub silences: Vec<Silence>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(d: u32, h: u32, m: u32) -> DateTime<Utc> {
        // 2026-12-05 is a Saturday.
        Utc.with_ymd_and_hms(2026, 12, d, h, m, 0).unwrap()
    }

    #[test]
    fn a_weekly_window_opens_on_its_days_and_may_cross_midnight() {
        let w = WeeklyWindow { days: vec!["sat".into()], start: "23:00".into(), minutes: 120 };
        assert_eq!(w.open_until(at(5, 23, 30)), Some(at(6, 1, 0)));
        assert_eq!(w.open_until(at(6, 0, 59)), Some(at(6, 1, 0)), "still open after midnight");
        assert_eq!(w.open_until(at(6, 1, 0)), None, "closed at its end");
        assert_eq!(w.open_until(at(4, 23, 30)), None, "a friday");
        assert!(w.problem().is_none());
        let bad = WeeklyWindow { days: vec!["saturday".into()], start: "2am".into(), minutes: 0 };
        assert_eq!(bad.problem().map(|(f, _)| f), Some("weekly.days"));
    }

    #[test]
    fn a_silence_matches_every_field_given_and_never_everything() {
        let traits = IncidentTraits {
            severity: Some(Severity::High),
            resources: vec!["payments-db".into()],
            agents: vec!["migrator-1".into()],
            action_types: vec!["migration".into()],
        };
        let m = |r: Option<&str>, a: Option<&str>, s: Option<Severity>| SilenceMatch {
            resource: r.map(Into::into),
            agent: a.map(Into::into),
            action_type: None,
            severity: s,
        };
        assert!(m(Some("payments-*"), None, None).matches(&traits));
        assert!(m(Some("payments-db"), Some("migrator-*"), Some(Severity::High)).matches(&traits));
        assert!(!m(Some("payments-db"), Some("deployer-*"), None).matches(&traits), "every field must match");
        assert!(!m(Some("payments-db"), None, Some(Severity::Critical)).matches(&traits));
        assert!(!SilenceMatch::default().matches(&traits), "an empty match silences nothing");
        assert!(m(Some("x"), None, None).may_hold_critical());
        assert!(!m(Some("x"), None, Some(Severity::Low)).may_hold_critical());
    }

    #[test]
    fn a_silence_holds_from_its_start_to_its_end_or_its_lifting() {
        let mut s = Silence {
            id: 1,
            matches: SilenceMatch { resource: Some("db".into()), ..Default::default() },
            owner: "alice".into(),
            reason: "migration".into(),
            starts_at: at(5, 10, 0),
            ends_at: at(5, 12, 0),
            weekly: None,
            created_at: at(5, 9, 0),
            lifted_at: None,
            lifted_by: None,
            incidents: 0,
            state: SilenceState::Scheduled,
            unused: false,
            routing_name: None,
        };
        assert_eq!(s.state_at(at(5, 9, 59)), SilenceState::Scheduled);
        assert_eq!(s.holds_until(at(5, 10, 0)), Some(at(5, 12, 0)));
        assert_eq!(s.state_at(at(5, 12, 0)), SilenceState::Expired);
        s.lifted_at = Some(at(5, 11, 0));
        assert_eq!(s.holds_until(at(5, 10, 30)), Some(at(5, 11, 0)));
        assert_eq!(s.state_at(at(5, 11, 0)), SilenceState::Lifted);
        assert_eq!(s.holds_until(at(5, 11, 0)), None);
    }
}
