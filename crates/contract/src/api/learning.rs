//! The learning loop's wire types (seed 004 2.2, 3.7, 9.4, 10, 11.2–11.3):
//! calibration, over-reliance, suggestion outcomes, patterns and the rules
//! learned from them.

use super::{Automation, Band, IncidentStatus, InterventionKind, MatchLevel, Signature, SuggestionKind};
use crate::wire_enum;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

wire_enum! {
    /// How a band's observed confirmation rate compares with its range.
    pub enum CalibrationFlag {
        /// Observed within the band's range.
        WithinRange = "within_range",
        /// Confirmed less often than the band claims.
        Overconfident = "overconfident",
        /// Confirmed more often than the band claims.
        Underconfident = "underconfident",
        /// Fewer verdicts than it takes to judge the band.
        TooFew = "too_few",
    }
}

/// `GET /api/v1/calibration`: were our 80 % right 80 % of the time (seed 11.2)?
/// Confirmations count 1, rejections 0; "investigate" verdicts are not counted.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Calibration {
    pub since: DateTime<Utc>,
    pub until: DateTime<Utc>,
    pub judged: i64,
    pub confirmed: i64,
    /// Verdicts of "investigate": not a yes or a no.
    pub investigating: i64,
    /// Mean of (score − verdict)², the score read as a probability: 0 is
    /// perfect, 0.25 is a coin toss. Null without verdicts.
    pub brier: Option<f64>,
    /// A band needs this many verdicts before it is judged.
    pub min_judged: i64,
    pub bands: Vec<BandCalibration>,
    pub cause_types: Vec<CauseTypeCalibration>,
    /// Predicted against observed, by decile of the score.
    pub reliability: Vec<ReliabilityBin>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BandCalibration {
    pub band: Band,
    /// The band's range in percent (seed 11.1).
    #[schema(maximum = 100)]
    pub low: u8,
    #[schema(maximum = 100)]
    pub high: u8,
    pub judged: i64,
    pub confirmed: i64,
    /// Share confirmed; null when nothing was judged.
    pub observed: Option<f64>,
    pub mean_score: Option<f64>,
    pub flag: CalibrationFlag,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CauseTypeCalibration {
    /// The candidate's action type (`deploy`, `config_change`, …).
    pub cause_type: String,
    pub judged: i64,
    pub confirmed: i64,
    pub observed: Option<f64>,
    pub mean_score: Option<f64>,
    pub brier: Option<f64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReliabilityBin {
    /// Scores from `from` to `to` percent, inclusive.
    #[schema(maximum = 100)]
    pub from: u8,
    #[schema(maximum = 100)]
    pub to: u8,
    pub judged: i64,
    pub predicted: Option<f64>,
    pub observed: Option<f64>,
}

/// `GET /api/v1/calibration/reliance`: how the caller judges causes (seed 11.3).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Reliance {
    pub person: String,
    pub since: DateTime<Utc>,
    pub confirmations: i64,
    /// Confirmations whose reading time is known (the detail was opened
    /// through the API first).
    pub timed: i64,
    /// Confirmed faster than the evidence can be read.
    pub quick: i64,
    pub likely_judged: i64,
    pub likely_confirmed: i64,
    /// What the console says on the root-cause screen; empty when all is well.
    pub prompts: Vec<String>,
}

wire_enum! {
    /// What became of a suggestion (seed 2.2, 9.4).
    pub enum SuggestionState {
        /// Still shown on an incident that is not resolved.
        Shown = "shown",
        /// A human carried out its intervention.
        Acted = "acted",
        /// It stopped being suggested before anyone acted on it.
        Superseded = "superseded",
        /// Shown until the incident was resolved, and not acted on.
        Ignored = "ignored",
    }
}

/// `GET /api/v1/suggestions/stats`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SuggestionStats {
    pub since: DateTime<Utc>,
    pub kinds: Vec<SuggestionKindStats>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SuggestionKindStats {
    pub kind: SuggestionKind,
    pub shown: i64,
    pub acted: i64,
    pub superseded: i64,
    pub ignored: i64,
    /// Acted on over those whose outcome is known (acted, superseded, ignored).
    pub acceptance: Option<f64>,
    /// From first shown to the intervention, in seconds.
    pub time_to_action_p50_s: Option<i64>,
    pub time_to_action_max_s: Option<i64>,
    /// Which interventions carried them out.
    pub acted_with: Vec<ActedWith>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ActedWith {
    pub intervention: InterventionKind,
    pub by: String,
    pub count: i64,
}

/// One suggestion across a pattern's incidents: "suggested 3 times,
/// ignored 3 times, 3 incidents".
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SuggestionHistory {
    pub title: String,
    pub kind: SuggestionKind,
    pub suggested: i64,
    pub acted: i64,
    pub ignored: i64,
    pub incidents: i64,
}

wire_enum! {
    /// Weights of seed 10.2's features.
    pub enum Weight {
        High = "high",
        Medium = "medium",
        Low = "low",
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PatternFeature {
    /// `action_type`, `resource_pattern`, `failure_mode`, `actor_pattern`,
    /// `time_pattern`, `sequence_pattern`.
    pub name: String,
    pub value: Option<String>,
    pub weight: Weight,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PatternIncident {
    pub incident_id: i64,
    pub title: String,
    pub started_at: DateTime<Utc>,
    pub status: IncidentStatus,
    pub level: MatchLevel,
    /// Weighted feature overlap with the pattern, in percent.
    #[schema(maximum = 100)]
    pub score: u8,
    /// Resolved with no cause found.
    pub undetermined: bool,
}

/// A recurring incident signature (seed 10.1), kept as a record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Pattern {
    pub id: i64,
    /// `PAT-007`.
    pub name: String,
    pub signature: Signature,
    pub features: Vec<PatternFeature>,
    /// Exact and similar matches.
    pub frequency: i64,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    pub incidents: Vec<PatternIncident>,
    /// Suggestions ignored more than once across its incidents.
    pub suggestions: Vec<SuggestionHistory>,
    /// The rule learned from it, if any.
    pub rule: Option<LearnedRule>,
    /// Left UNDETERMINED three times: the incident opened to investigate it (seed 10.7).
    pub escalated_incident: Option<i64>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PatternList {
    pub patterns: Vec<Pattern>,
}

/// Seed 10.3: incidents whose analysis puts the same action first.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SharedCause {
    pub event_id: String,
    /// The other incidents, oldest first.
    pub incidents: Vec<i64>,
}

wire_enum! {
    /// A learned rule's life (seed 10.5, 10.6).
    pub enum RuleState {
        Proposed = "proposed",
        /// An admin approved it; not yet acting.
        Approved = "approved",
        Active = "active",
        /// Retired: no longer acts.
        Sunset = "sunset",
        Rejected = "rejected",
    }
}

wire_enum! {
    /// What an active rule does when it matches (the routing decisions).
    pub enum RuleDecision {
        /// People are told, by the routing chain.
        Flagged = "flagged",
        /// People are told and a human must decide before anything proceeds.
        Gated = "gated",
        /// Its automation runs, when the server opts in (`--allow-auto-rules`).
        Auto = "auto",
    }
}

impl From<RuleDecision> for super::RoutingVerdict {
    fn from(d: RuleDecision) -> Self {
        match d {
            RuleDecision::Flagged => super::RoutingVerdict::Flagged,
            RuleDecision::Gated => super::RoutingVerdict::Gated,
            RuleDecision::Auto => super::RoutingVerdict::Auto,
        }
    }
}

/// What a learned rule matches: every field given must hold.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleMatch {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action_type: Option<String>,
    /// A resource name; a trailing `*` matches a prefix.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// Inside (true) or outside (false) business hours, as the pattern's
    /// time feature reads them: weekdays 09:00–18:00 UTC.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub business_hours: Option<bool>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct LearnedRule {
    pub id: i64,
    pub name: String,
    pub pattern_id: Option<i64>,
    #[serde(rename = "match")]
    pub matches: RuleMatch,
    pub decision: RuleDecision,
    pub automation: Option<Automation>,
    pub state: RuleState,
    /// `pattern:PAT-007 (incident #34)`, `proposed by alice on incident #12`.
    pub source: String,
    pub proposed_by: String,
    pub proposed_at: DateTime<Utc>,
    /// Who approved, rejected, activated or sunset it last, and when.
    pub decided_by: Option<String>,
    pub decided_at: Option<DateTime<Utc>>,
    pub activated_at: Option<DateTime<Utc>>,
    pub ended_at: Option<DateTime<Utc>>,
    /// An active rule that did not fire for the idle period is proposed for sunset.
    pub sunset_proposed_at: Option<DateTime<Utc>>,
    pub last_fired_at: Option<DateTime<Utc>>,
    /// Matching events and incidents since it became active.
    pub fired: i64,
    /// Incidents it routed to people (flagged, gated or automated) in the last 7 days.
    pub interruptions_7d: i64,
}

/// `POST /api/v1/rules`: a rule to consider.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProposeRule {
    pub name: String,
    #[serde(rename = "match")]
    pub matches: RuleMatch,
    pub decision: RuleDecision,
    #[serde(default)]
    pub automation: Option<Automation>,
    #[serde(default)]
    pub pattern_id: Option<i64>,
    #[serde(default)]
    pub reason: Option<String>,
}

/// `POST /api/v1/rules/{id}/transition`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RuleTransition {
    pub to: RuleState,
    #[serde(default)]
    pub reason: Option<String>,
}

/// `GET /api/v1/rules`: every learned rule and the friction they cause.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RuleList {
    pub rules: Vec<LearnedRule>,
    pub friction: Friction,
}

/// Seed 10.6: how often rules interrupted people, against a budget.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Friction {
    pub window_days: i64,
    pub interruptions: i64,
    pub budget: i64,
    pub over_budget: bool,
    /// An active rule that has not fired for this many days is proposed for sunset.
    pub idle_days: i64,
    /// Automatic interventions of `auto` rules are carried out.
    pub auto_allowed: bool,
}
