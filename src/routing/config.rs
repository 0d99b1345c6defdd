//! The routing configuration: escalation levels and the rules that choose
//! where an incident starts, how far it may climb and on which channels
//! (seed 004 5.1–5.3). Written in TOML; every error names its path.

use crate::api::{Automation, RoutingVerdict, Urgency};
use crate::paging::{Delivery, Limits, Receivers, Storm};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::Path;

/// Above this many rules the checker suggests consolidating (seed 5.2).
pub const SOFT_RULE_CAP: usize = 100;

use crate::paging::CHANNELS;

/// The file as written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoutingDocument {
    /// Who is told when a target resolves to nobody (no owner, no on-call).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fallback: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_hours: Option<BusinessHours>,
    /// Change-freeze windows: `change_freeze = true` in a rule matches inside one.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub change_freeze: Vec<Freeze>,
    /// The escalation chain, first level first; the last has no timeout.
    #[serde(default, rename = "level", skip_serializing_if = "Vec::is_empty")]
    pub levels: Vec<Level>,
    /// Tried in order; the first that matches decides.
    #[serde(default, rename = "rule", skip_serializing_if = "Vec::is_empty")]
    pub rules: Vec<Rule>,
    /// On-call rotations: `resource.team.oncall` asks them first.
    #[serde(default, rename = "schedule", skip_serializing_if = "Vec::is_empty")]
    pub schedules: Vec<Schedule>,
    /// Where each channel delivers.
    #[serde(default, rename = "channel", skip_serializing_if = "Receivers::is_empty")]
    pub receivers: Receivers,
    #[serde(default, skip_serializing_if = "is_default")]
    pub storm: Storm,
    #[serde(default, skip_serializing_if = "is_default")]
    pub delivery: Delivery,
    /// The attribution rollout's plan: its dates, and where its weekly
    /// status and outreach go (seed 000).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attribution: Option<crate::rollout::RolloutPlan>,
    /// Standing silences and maintenance windows (weekly or once), each
    /// with an owner, a reason and an end.
    #[serde(default, rename = "silence", skip_serializing_if = "Vec::is_empty")]
    pub silences: Vec<RoutingSilence>,
    /// The rare actions that must not run unseen (seed 004 §4.4).
    #[serde(default, rename = "critical_point", skip_serializing_if = "Vec::is_empty")]
    pub critical_points: Vec<super::critical::CriticalPoint>,
    /// The team's Prometheus, and the slow-burn rules asked of it (seed 004 §7.3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metrics: Option<crate::metrics_in::MetricsSource>,
}

/// A silence written in the routing file. Applying the file makes it (as a
/// silence listed in `:silences`, owned by `owner`); applying it again keeps
/// it while it is unchanged, and ends it when it is changed or removed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RoutingSilence {
    /// Unique in the file: how the silence is known across applies.
    pub name: String,
    /// Who answers for it: `@someone`.
    pub owner: String,
    pub reason: String,
    /// What it matches, as a silence made over the API does: at least one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agent: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub severity: Option<crate::api::Severity>,
    /// A weekly window (UTC) it recurs in until `until`; none: it holds
    /// from `from` to `until`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weekly: Option<crate::api::WeeklyWindow>,
    /// When it begins; none: when the file is applied.
    #[serde(default, deserialize_with = "crate::moment::optional", skip_serializing_if = "Option::is_none")]
    pub from: Option<chrono::DateTime<chrono::Utc>>,
    /// Mandatory: every silence ends (7 days after it begins at most; a
    /// weekly window 90 days).
    #[serde(deserialize_with = "crate::moment::required")]
    pub until: chrono::DateTime<chrono::Utc>,
}

impl RoutingSilence {
    pub fn matches(&self) -> crate::api::SilenceMatch {
        crate::api::SilenceMatch {
            resource: self.resource.clone(),
            agent: self.agent.clone(),
            action_type: self.action_type.clone(),
            severity: self.severity,
        }
    }

    /// The person who owns it, without `@`.
    pub fn owner_name(&self) -> &str {
        self.owner.trim_start_matches('@')
    }

    /// What is wrong with it at `now`, as (field, message); Ok(true) when it
    /// has already ended (it is then kept out of force, with a warning).
    fn check(&self, now: chrono::DateTime<chrono::Utc>) -> Result<bool, (&'static str, String)> {
        use crate::api::silences::{MAX_RECURRING, MAX_SILENCE};
        if self.name.trim().is_empty() {
            return Err(("name", "is empty".into()));
        }
        if !(self.owner.starts_with('@') && self.owner.len() > 1) {
            return Err(("owner", format!("{:?} is not a person: write @someone", self.owner)));
        }
        if self.reason.trim().is_empty() {
            return Err(("reason", "say why: it shows on every incident it holds".into()));
        }
        if self.matches().is_empty() {
            return Err(("resource", "name what it matches (resource, agent, action_type or severity): an empty match would silence everything".into()));
        }
        if let Some(problem) = self.weekly.as_ref().and_then(|w| w.problem()) {
            return Err(problem);
        }
        let from = self.from.unwrap_or(now);
        if self.until <= from {
            return Err(("until", "ends before it begins".into()));
        }
        let (max, what) = match self.weekly {
            Some(_) => (MAX_RECURRING, "a weekly window recurs for 90 days at most"),
            None => (MAX_SILENCE, "a silence holds for 7 days at most"),
        };
        if self.until - from > max {
            return Err(("until", format!("{what} from when it begins: end it sooner, and renew it")));
        }
        Ok(self.until <= now)
    }
}

fn is_default<T: Default + PartialEq>(value: &T) -> bool {
    value == &T::default()
}

/// A team's on-call rotation: people take turns of `length`, from `start`,
/// in order; an override puts someone else on call for a while.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Schedule {
    pub team: String,
    pub rotation: Vec<String>,
    /// When the first person's first turn began (the handoff time).
    #[serde(deserialize_with = "crate::moment::required")]
    pub start: chrono::DateTime<chrono::Utc>,
    /// One turn: "7d", "12h".
    pub length: String,
    #[serde(default, rename = "override", skip_serializing_if = "Vec::is_empty")]
    pub overrides: Vec<Override>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Override {
    pub who: String,
    #[serde(deserialize_with = "crate::moment::required")]
    pub from: chrono::DateTime<chrono::Utc>,
    #[serde(deserialize_with = "crate::moment::required")]
    pub until: chrono::DateTime<chrono::Utc>,
}

/// Who is on call, until when, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OnCall {
    pub who: String,
    pub until: chrono::DateTime<chrono::Utc>,
    /// "rotation" or "override".
    pub source: &'static str,
}

impl Schedule {
    /// Who is on call at `now`: an override covering it, else the rotation.
    pub fn on_call(&self, now: chrono::DateTime<chrono::Utc>) -> OnCall {
        if let Some(o) = self.overrides.iter().find(|o| o.from <= now && now < o.until) {
            return OnCall { who: o.who.clone(), until: o.until, source: "override" };
        }
        let length = parse_duration(&self.length).unwrap_or(1).max(1) as i64;
        let elapsed = (now - self.start).num_seconds();
        let turn = elapsed.div_euclid(length);
        let who = self.rotation[turn.rem_euclid(self.rotation.len() as i64) as usize].clone();
        let until = self.start + chrono::Duration::seconds((turn + 1) * length);
        // An override that starts before the turn ends cuts it short.
        let until = self.overrides.iter().map(|o| o.from).filter(|f| *f > now && *f < until).min().unwrap_or(until);
        OnCall { who, until, source: "rotation" }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BusinessHours {
    /// mon, tue, wed, thu, fri, sat, sun.
    pub days: Vec<String>,
    /// "09:00", in UTC.
    pub start: String,
    /// "18:00", in UTC.
    pub end: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Freeze {
    #[serde(deserialize_with = "crate::moment::required")]
    pub from: chrono::DateTime<chrono::Utc>,
    #[serde(deserialize_with = "crate::moment::required")]
    pub until: chrono::DateTime<chrono::Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Level {
    pub name: String,
    /// `resource.owner`, `resource.team.oncall`, `resource.team.lead` or `@someone`.
    pub targets: Vec<String>,
    /// "5m", "1h", "90s"; none on the last, terminal level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout: Option<String>,
    /// Channels for this level; the rule's when not given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channels: Option<Vec<String>>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Rule {
    pub name: String,
    /// Another rule's name: its settings, overridden by this one's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub extends: Option<String>,
    #[serde(default, rename = "match")]
    pub matches: Match,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub decision: Option<RoutingVerdict>,
    /// With `decision = "auto"` only: what Mandate does by itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub automation: Option<Automation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub start_level: Option<String>,
    /// Page this level once this much time has passed, whatever the chain says.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skip_to: Option<SkipTo>,
    /// Never escalate past this level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_level: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub channels: Option<Vec<String>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub urgency: Option<Urgency>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SkipTo {
    pub level: String,
    /// Since the incident opened: "15m".
    pub after: String,
}

/// What a rule matches: every field given must hold (seed 5.1's inputs).
/// A list matches any of its values.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Match {
    #[serde(default, deserialize_with = "one_or_many", skip_serializing_if = "Vec::is_empty")]
    pub severity: Vec<String>,
    /// Resource names; a trailing `*` matches a prefix.
    #[serde(default, deserialize_with = "one_or_many", skip_serializing_if = "Vec::is_empty")]
    pub resource: Vec<String>,
    #[serde(default, deserialize_with = "one_or_many", skip_serializing_if = "Vec::is_empty")]
    pub sensitivity: Vec<String>,
    /// Matches when the resource has any of these tags.
    #[serde(default, deserialize_with = "one_or_many", skip_serializing_if = "Vec::is_empty")]
    pub tags: Vec<String>,
    #[serde(default, deserialize_with = "one_or_many", skip_serializing_if = "Vec::is_empty")]
    pub action_type: Vec<String>,
    /// SYSTEM, HUMAN or SERVICE: who took the suspected action.
    #[serde(default, deserialize_with = "one_or_many", skip_serializing_if = "Vec::is_empty")]
    pub actor_type: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_hours: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub change_freeze: Option<bool>,
    /// At least this many earlier incidents on the resource.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub min_past_incidents: Option<u32>,
}

/// `"critical"` or `["critical", "high"]`.
fn one_or_many<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum OneOrMany {
        One(String),
        Many(Vec<String>),
    }
    Ok(match OneOrMany::deserialize(d)? {
        OneOrMany::One(s) => vec![s],
        OneOrMany::Many(v) => v,
    })
}

/// A rule with everything it extends folded in, durations parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    pub name: String,
    pub matches: Match,
    pub decision: RoutingVerdict,
    pub automation: Option<Automation>,
    pub start_level: usize,
    pub skip_to: Option<(usize, u64)>,
    pub max_level: usize,
    pub channels: Vec<String>,
    pub urgency: Option<Urgency>,
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("routing {source_name}: {path}: {message}")]
pub struct RoutingError {
    pub source_name: String,
    /// Where in the file: `rule[2].skip_to.level`.
    pub path: String,
    pub message: String,
}

/// A checked routing configuration, ready to route with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Routing {
    document: RoutingDocument,
    /// Level timeouts in seconds (None: terminal).
    timeouts: Vec<Option<u64>>,
    rules: Vec<Resolved>,
    /// The rule applied when none matches.
    default_rule: Resolved,
    limits: Limits,
    warnings: Vec<String>,
}

pub use crate::moment::parse_duration;

fn valid_target(t: &str) -> bool {
    matches!(t, "resource.owner" | "resource.team.oncall" | "resource.team.lead")
        || (t.starts_with('@') && t.len() > 1 && !t.contains(char::is_whitespace))
}

impl Routing {
    /// Checks every name, reference, duration and target, and folds `extends`.
    ///
    /// Long because it checks the whole file in one reading, so that every
    /// error names its path (`rule[2].skip_to.level`) in the file's order.
    pub fn new(document: RoutingDocument, source_name: &str) -> Result<Routing, RoutingError> {
        let err = |path: String, message: String| RoutingError { source_name: source_name.to_owned(), path, message };
        if document.levels.is_empty() {
            return Err(err("level".into(), "at least one escalation level is needed".into()));
        }
        let mut level_index = BTreeMap::new();
        let mut timeouts = Vec::new();
        let last = document.levels.len() - 1;
        for (i, level) in document.levels.iter().enumerate() {
            let at = |field: &str| format!("level[{i}].{field}");
            if level.name.trim().is_empty() {
                return Err(err(at("name"), "is empty".into()));
            }
            if level_index.insert(level.name.clone(), i).is_some() {
                return Err(err(at("name"), format!("{:?} appears twice", level.name)));
            }
            if level.targets.is_empty() {
                return Err(err(at("targets"), "name at least one target".into()));
            }
            for (t, target) in level.targets.iter().enumerate() {
                if !valid_target(target) {
                    return Err(err(
                        format!("level[{i}].targets[{t}]"),
                        format!(
                            "{target:?} is not a target: write resource.owner, resource.team.oncall, resource.team.lead or @someone"
                        ),
                    ));
                }
            }
            if let Some((path, message)) =
                unknown_channel(level.channels.as_deref().unwrap_or_default(), &at("channels"))
            {
                return Err(err(path, message));
            }
            let timeout = match (&level.timeout, i == last) {
                (Some(_), true) => {
                    return Err(err(at("timeout"), "the last level is terminal: it has no timeout".into()));
                }
                (None, false) => {
                    return Err(err(at("timeout"), "every level but the last needs a timeout, e.g. \"5m\"".into()));
                }
                (Some(raw), false) => Some(parse_duration(raw).filter(|s| *s > 0).ok_or_else(|| {
                    err(at("timeout"), format!("{raw:?} is not a duration: write 90s, 5m, 2h or 1d"))
                })?),
                (None, true) => None,
            };
            timeouts.push(timeout);
        }
        let by_name: BTreeMap<&str, usize> =
            document.rules.iter().enumerate().map(|(i, r)| (r.name.as_str(), i)).collect();
        let mut rules = Vec::new();
        for (i, rule) in document.rules.iter().enumerate() {
            let at = |field: &str| format!("rule[{i}].{field}");
            if rule.name.trim().is_empty() {
                return Err(err(at("name"), "is empty".into()));
            }
            if by_name.get(rule.name.as_str()) != Some(&i) {
                return Err(err(at("name"), format!("{:?} appears twice", rule.name)));
            }
            // Fold the chain of extends, most general first; a cycle is an error.
            let mut chain = vec![rule];
            let mut seen = vec![rule.name.as_str()];
            while let Some(parent) = chain.last().and_then(|r| r.extends.as_deref()) {
                let Some(&p) = by_name.get(parent) else {
                    return Err(err(at("extends"), format!("no rule is named {parent:?}")));
                };
                if seen.contains(&parent) {
                    return Err(err(at("extends"), format!("extends itself through {}", seen.join(" → "))));
                }
                seen.push(parent);
                chain.push(&document.rules[p]);
            }
            let mut merged = Rule { name: rule.name.clone(), ..Rule::default() };
            for r in chain.iter().rev() {
                merged = fold(merged, r);
            }
            rules.push(resolve(&merged, &level_index, &timeouts, &|field: &str, message: String| {
                err(at(field), message)
            })?);
        }
        let default_rule = resolve(
            &Rule { name: "defaults".into(), ..Rule::default() },
            &level_index,
            &timeouts,
            &|field: &str, message: String| err(field.to_owned(), message),
        )?;
        let mut warnings = Vec::new();
        if document.rules.len() > SOFT_RULE_CAP {
            warnings.push(format!(
                "{} rules: above the soft cap of {SOFT_RULE_CAP}; consider merging rules, matching tags rather than services",
                document.rules.len()
            ));
        }
        if let Some(hours) = &document.business_hours {
            check_hours(hours, &err)?;
        }
        for (i, f) in document.change_freeze.iter().enumerate() {
            if f.until <= f.from {
                return Err(err(format!("change_freeze[{i}].until"), "ends before it starts".into()));
            }
        }
        for (i, s) in document.schedules.iter().enumerate() {
            let at = |field: &str| format!("schedule[{i}].{field}");
            if s.team.trim().is_empty() {
                return Err(err(at("team"), "is empty".into()));
            }
            if document.schedules[..i].iter().any(|o| o.team == s.team) {
                return Err(err(at("team"), format!("{:?} has two schedules", s.team)));
            }
            if s.rotation.is_empty() {
                return Err(err(at("rotation"), "name at least one person".into()));
            }
            if let Some((n, who)) = s.rotation.iter().enumerate().find(|(_, w)| !(w.starts_with('@') && w.len() > 1)) {
                return Err(err(
                    format!("schedule[{i}].rotation[{n}]"),
                    format!("{who:?} is not a person: write @someone"),
                ));
            }
            if parse_duration(&s.length).is_none_or(|l| l == 0) {
                return Err(err(at("length"), format!("{:?} is not a duration: write 12h or 7d", s.length)));
            }
            for (n, o) in s.overrides.iter().enumerate() {
                if o.until <= o.from {
                    return Err(err(format!("schedule[{i}].override[{n}].until"), "ends before it starts".into()));
                }
                if !(o.who.starts_with('@') && o.who.len() > 1) {
                    return Err(err(
                        format!("schedule[{i}].override[{n}].who"),
                        format!("{:?} is not a person", o.who),
                    ));
                }
            }
        }
        if let Some(fallback) = &document.fallback
            && !(fallback.starts_with('@') && fallback.len() > 1)
        {
            return Err(err("fallback".into(), format!("{fallback:?} is not a person or group: write @someone")));
        }
        let limits = crate::paging::check_receivers(&document.receivers, &document.storm, &document.delivery)
            .map_err(|(path, message)| err(path, message))?;
        if let Some(plan) = &document.attribution {
            plan.check().map_err(|(path, message)| err(format!("attribution.{path}"), message))?;
        }
        for (i, point) in document.critical_points.iter().enumerate() {
            point.check().map_err(|(field, message)| err(format!("critical_point[{i}].{field}"), message))?;
            if document.critical_points[..i].iter().any(|o| o.name == point.name) {
                return Err(err(
                    format!("critical_point[{i}].name"),
                    format!("{:?} names two critical points", point.name),
                ));
            }
        }
        if let Some(metrics) = &document.metrics {
            metrics.check().map_err(|(path, message)| err(format!("metrics.{path}"), message))?;
        }
        let now = chrono::Utc::now();
        for (i, silence) in document.silences.iter().enumerate() {
            let ended = silence.check(now).map_err(|(field, message)| err(format!("silence[{i}].{field}"), message))?;
            if document.silences[..i].iter().any(|o| o.name == silence.name) {
                return Err(err(format!("silence[{i}].name"), format!("{:?} names two silences", silence.name)));
            }
            if ended {
                warnings.push(format!("silence[{i}] ({}) ended {}: it holds nothing", silence.name, silence.until));
            }
        }
        let mut used: Vec<&str> =
            rules.iter().chain([&default_rule]).flat_map(|r| r.channels.iter()).map(String::as_str).collect();
        used.extend(document.levels.iter().flat_map(|l| l.channels.iter().flatten()).map(String::as_str));
        used.sort();
        used.dedup();
        for channel in used.into_iter().filter(|c| !document.receivers.has(c)) {
            warnings.push(format!(
                "{channel} is used but has no receiver ([channel.{channel}]): its notifications are recorded as undeliverable"
            ));
        }
        Ok(Routing { document, timeouts, rules, default_rule, limits, warnings })
    }

    pub fn from_toml(text: &str, source_name: &str) -> Result<Routing, RoutingError> {
        let deserializer = toml::Deserializer::parse(text).map_err(|e| RoutingError {
            source_name: source_name.to_owned(),
            path: "(file)".into(),
            message: e.message().to_owned(),
        })?;
        let document: RoutingDocument = serde_path_to_error::deserialize(deserializer).map_err(|e| RoutingError {
            source_name: source_name.to_owned(),
            path: e.path().to_string(),
            message: e.inner().message().to_owned(),
        })?;
        Routing::new(document, source_name)
    }

    pub fn load(path: &Path) -> Result<Routing, RoutingError> {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| RoutingError {
            source_name: name.clone(),
            path: "(file)".into(),
            message: format!("cannot read: {e}"),
        })?;
        Routing::from_toml(&text, &name)
    }

    /// What ships with Mandate: seed 5.3's chain, and rules by severity.
    pub fn builtin() -> Routing {
        Routing::from_toml(super::BUILTIN, "built-in routing").expect("the built-in routing is valid")
    }

    pub fn document(&self) -> &RoutingDocument {
        &self.document
    }

    pub fn levels(&self) -> &[Level] {
        &self.document.levels
    }

    /// The timeout of each level in seconds; None for the terminal one.
    pub fn timeouts(&self) -> &[Option<u64>] {
        &self.timeouts
    }

    pub fn rules(&self) -> &[Resolved] {
        &self.rules
    }

    pub fn default_rule(&self) -> &Resolved {
        &self.default_rule
    }

    /// The schedule of a team, if it has one.
    pub fn schedule(&self, team: &str) -> Option<&Schedule> {
        self.document.schedules.iter().find(|s| s.team == team)
    }

    /// Storm control and delivery limits.
    pub fn limits(&self) -> Limits {
        self.limits
    }

    pub fn receivers(&self) -> &Receivers {
        &self.document.receivers
    }

    /// Advice that does not stop the file from loading.
    pub fn warnings(&self) -> &[String] {
        &self.warnings
    }
}

/// `base` with whatever `over` sets.
fn fold(base: Rule, over: &Rule) -> Rule {
    let m = &over.matches;
    let pick = |a: &Vec<String>, b: Vec<String>| if a.is_empty() { b } else { a.clone() };
    Rule {
        name: base.name,
        extends: None,
        matches: Match {
            severity: pick(&m.severity, base.matches.severity),
            resource: pick(&m.resource, base.matches.resource),
            sensitivity: pick(&m.sensitivity, base.matches.sensitivity),
            tags: pick(&m.tags, base.matches.tags),
            action_type: pick(&m.action_type, base.matches.action_type),
            actor_type: pick(&m.actor_type, base.matches.actor_type),
            business_hours: m.business_hours.or(base.matches.business_hours),
            change_freeze: m.change_freeze.or(base.matches.change_freeze),
            min_past_incidents: m.min_past_incidents.or(base.matches.min_past_incidents),
        },
        decision: over.decision.or(base.decision),
        automation: over.automation.or(base.automation),
        start_level: over.start_level.clone().or(base.start_level),
        skip_to: over.skip_to.clone().or(base.skip_to),
        max_level: over.max_level.clone().or(base.max_level),
        channels: over.channels.clone().or(base.channels),
        urgency: over.urgency.or(base.urgency),
    }
}

fn resolve(
    rule: &Rule,
    levels: &BTreeMap<String, usize>,
    timeouts: &[Option<u64>],
    err: &dyn Fn(&str, String) -> RoutingError,
) -> Result<Resolved, RoutingError> {
    let level = |field: &str, name: &str| {
        levels.get(name).copied().ok_or_else(|| {
            err(
                field,
                format!(
                    "no level is named {name:?}; levels: {}",
                    levels.keys().cloned().collect::<Vec<_>>().join(", ")
                ),
            )
        })
    };
    let start_level = rule.start_level.as_deref().map(|n| level("start_level", n)).transpose()?.unwrap_or(0);
    let max_level = rule.max_level.as_deref().map(|n| level("max_level", n)).transpose()?.unwrap_or(timeouts.len() - 1);
    if max_level < start_level {
        return Err(err("max_level", "is below start_level".into()));
    }
    let skip_to = match &rule.skip_to {
        None => None,
        Some(s) => {
            let to = level("skip_to.level", &s.level)?;
            if to <= start_level || to > max_level {
                return Err(err("skip_to.level", "must lie after start_level and not past max_level".into()));
            }
            let after = parse_duration(&s.after).ok_or_else(|| {
                err("skip_to.after", format!("{:?} is not a duration: write 90s, 5m, 2h or 1d", s.after))
            })?;
            Some((to, after))
        }
    };
    let channels = rule.channels.clone().unwrap_or_else(|| vec!["slack".to_owned()]);
    if let Some((path, message)) = unknown_channel(&channels, "channels") {
        return Err(err(&path, message));
    }
    if channels.is_empty() {
        return Err(err("channels", "name at least one channel".into()));
    }
    let matches = &rule.matches;
    for (i, s) in matches.severity.iter().enumerate() {
        if crate::api::Severity::parse(s).is_none() {
            return Err(err(
                &format!("match.severity[{i}]"),
                format!("{s:?}: expected one of {}", crate::api::Severity::allowed()),
            ));
        }
    }
    for (i, s) in matches.sensitivity.iter().enumerate() {
        if crate::catalog::Sensitivity::parse(s).is_none() {
            return Err(err(
                &format!("match.sensitivity[{i}]"),
                format!("{s:?}: expected one of {}", crate::catalog::Sensitivity::allowed()),
            ));
        }
    }
    for (i, s) in matches.actor_type.iter().enumerate() {
        if crate::attribution::ActorType::parse(s).is_none() {
            return Err(err(&format!("match.actor_type[{i}]"), format!("{s:?}: expected SYSTEM, HUMAN or SERVICE")));
        }
    }
    // Automations are opt-in, twice: the rule names one and says "auto".
    match (rule.decision, rule.automation) {
        (Some(RoutingVerdict::Auto), None) => {
            return Err(err("automation", format!("decision \"auto\" needs an automation: {}", Automation::allowed())));
        }
        (decision, Some(_)) if decision != Some(RoutingVerdict::Auto) => {
            return Err(err("decision", "an automation runs only when the rule says decision = \"auto\"".into()));
        }
        _ => {}
    }
    Ok(Resolved {
        name: rule.name.clone(),
        matches: matches.clone(),
        automation: rule.automation,
        decision: rule.decision.unwrap_or(RoutingVerdict::Flagged),
        start_level,
        skip_to,
        max_level,
        channels,
        urgency: rule.urgency,
    })
}

/// The first channel Mandate does not know: its path and what is wrong.
fn unknown_channel(channels: &[String], path: &str) -> Option<(String, String)> {
    channels
        .iter()
        .enumerate()
        .find(|(_, c)| !CHANNELS.contains(&c.as_str()))
        .map(|(i, c)| (format!("{path}[{i}]"), format!("{c:?}: expected one of {}", CHANNELS.join(", "))))
}

fn check_hours(hours: &BusinessHours, err: &dyn Fn(String, String) -> RoutingError) -> Result<(), RoutingError> {
    const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
    for (i, d) in hours.days.iter().enumerate() {
        if !DAYS.contains(&d.as_str()) {
            return Err(err(
                format!("business_hours.days[{i}]"),
                format!("{d:?}: expected one of {}", DAYS.join(", ")),
            ));
        }
    }
    for (field, value) in [("start", &hours.start), ("end", &hours.end)] {
        if chrono::NaiveTime::parse_from_str(value, "%H:%M").is_err() {
            return Err(err(format!("business_hours.{field}"), format!("{value:?}: write HH:MM, e.g. \"09:00\"")));
        }
    }
    Ok(())
}
