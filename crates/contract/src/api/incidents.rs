use super::Event;
use crate::attribution::ActorType;
use crate::wire_enum;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

wire_enum! {
    pub enum Severity {
        Low = "low",
        Medium = "medium",
        High = "high",
        Critical = "critical",
    }
}

wire_enum! {
    pub enum IncidentStatus {
        Open = "open",
        Acknowledged = "acknowledged",
        Resolved = "resolved",
    }
}

wire_enum! {
    /// Confidence bands of seed 11.1.
    pub enum Band {
        /// Over 90 %: only after a human confirmed it.
        Confirmed = "CONFIRMED",
        /// 70 to 90 %: several signals agree.
        Likely = "LIKELY",
        /// 40 to 70 %: a single signal, such as time alone.
        Suspected = "SUSPECTED",
        /// Under 40 %: weak, listed for completeness.
        Possible = "POSSIBLE",
    }
}

impl Band {
    pub fn of(confidence: u8) -> Band {
        match confidence {
            91.. => Band::Confirmed,
            70..=90 => Band::Likely,
            40..=69 => Band::Suspected,
            _ => Band::Possible,
        }
    }
}

wire_enum! {
    /// A human's word on a root-cause candidate.
    pub enum Verdict {
        Confirmed = "confirmed",
        Rejected = "rejected",
        Investigate = "investigate",
    }
}

/// One row of the incident list.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct IncidentSummary {
    pub id: i64,
    pub title: String,
    pub severity: Severity,
    pub status: IncidentStatus,
    pub started_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub duration_seconds: i64,
    pub resources: Vec<String>,
    pub responders: Vec<String>,
    pub coordinator: Option<String>,
    pub escalation_level: i64,
    pub auto_recovered: bool,
    pub flagged_for_review: bool,
    pub event_count: i64,
    /// The change-feed version at which this incident last changed.
    pub version: i64,
    /// A silence holding (or that held) its paging.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub silenced: Option<super::SilenceMark>,
    /// A duplicate merged into another incident: the survivor's id. Its
    /// events, interventions and paging are shown and continued there.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub merged_into: Option<i64>,
}

/// `GET /api/v1/incidents`
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct IncidentPage {
    pub incidents: Vec<IncidentSummary>,
    /// Pass as `since` to long-poll for the next change.
    pub version: i64,
    pub counts: StatusCounts,
    pub next_cursor: Option<String>,
    /// Whether paging can wake anyone; absent from older servers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub paging: Option<super::PagingHealth>,
    /// Open degradations, and slow-burn rules whose metrics are
    /// unavailable or degraded: shown above the incidents, as their own kind.
    #[serde(default, skip_serializing_if = "super::DegradationList::is_empty")]
    pub watch: super::DegradationList,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StatusCounts {
    pub open: i64,
    pub acknowledged: i64,
    pub resolved: i64,
}

/// Why a service is in the blast radius.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "reason", rename_all = "snake_case")]
pub enum AffectedBecause {
    /// Named in an action's declared scope.
    InScope,
    /// Reported errors itself.
    Failed,
    /// Directly depends on an affected service.
    DependsOn { service: String },
    /// Shares a data store with an affected service.
    Shares { datastore: String },
    /// Depends on an affected service through others.
    Transitive { via: String },
}

/// One affected service with its owners.
impl AffectedBecause {
    /// Why, in words: "depends on payments-service".
    pub fn describe(&self) -> String {
        match self {
            AffectedBecause::InScope => "in the action's declared scope".to_owned(),
            AffectedBecause::Failed => "failed".to_owned(),
            AffectedBecause::DependsOn { service } => format!("depends on {service}"),
            AffectedBecause::Shares { datastore } => format!("shares {datastore}"),
            AffectedBecause::Transitive { via } => format!("depends on it through {via}"),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct AffectedService {
    pub service: String,
    /// False when the resource is not in the catalog: no owner can be found.
    pub in_catalog: bool,
    pub owner: Option<String>,
    pub team: Option<String>,
    pub on_call: Option<String>,
    pub because: Vec<AffectedBecause>,
    pub ownership: Vec<OwnershipFlag>,
}

/// Seed 8.1: lower bound, likely, upper bound, and who to notify.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct BlastRadius {
    pub definitely: Vec<AffectedService>,
    pub likely: Vec<AffectedService>,
    pub possibly: Vec<AffectedService>,
    /// From the definitely and likely affected (seed 8.2).
    pub owners_to_notify: Vec<String>,
}

/// What supports a root-cause candidate.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Evidence {
    /// The action came this long before the first error.
    TimeProximity { minutes_before: i64 },
    /// It touched a resource that failed.
    SameResource { resource: String },
    /// It touched a dependency of a resource that failed.
    DependencyHop { resource: String, dependency_of: String },
    /// It carries the trace id of a failing event.
    TraceMatch { trace_id: String },
    /// An error message names what it changed.
    ErrorMentions { text: String },
    /// Another action modified the same resource within 5 s (seed 3.9).
    ConcurrentModification { other_event_id: String },
    /// Humans confirmed the same kind of action on this resource as the
    /// cause of a past incident (+10; seed 3.7).
    PastPattern { incident_id: i64 },
    /// Humans rejected the same kind of action on this resource as the cause
    /// this many times before (−10 from the second; seed 3.7).
    PastRejections { times: u32 },
    /// Over 30 minutes between action and impact (seed 3.6).
    DelayedEffect { minutes: i64 },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Candidate {
    pub event_id: String,
    /// The initiating actor (nested calls are folded into it).
    pub agent_id: Option<String>,
    pub actor_type: Option<ActorType>,
    pub actor_id: Option<String>,
    pub action_type: Option<String>,
    pub tool: Option<String>,
    pub resource: Option<String>,
    /// The run the action was part of: a stop can name it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<String>,
    pub occurred_at: DateTime<Utc>,
    /// 0 to 100.
    #[schema(maximum = 100)]
    pub confidence: u8,
    pub band: Band,
    /// What the machine scored before any human verdict (calibration
    /// compares it with the verdicts).
    #[serde(default)]
    #[schema(maximum = 90)]
    pub scored: u8,
    pub evidence: Vec<Evidence>,
    pub verdict: Option<Verdict>,
    pub verdict_by: Option<String>,
    /// The action's attribution is disputed, or was (seed 13.2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dispute: Option<super::DisputeMark>,
    /// The verdict was given while the attribution was disputed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub verdict_while_disputed: bool,
}

wire_enum! {
    /// A role in a multi-actor chain (seed 3.4).
    pub enum ContributionRole {
        Confirmed = "confirmed",
        Likely = "likely",
        Suspected = "suspected",
        /// Enabled the action (a human approval), not a cause.
        Context = "context",
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Contribution {
    pub event_id: String,
    pub role: ContributionRole,
    pub agent_id: Option<String>,
    pub actor_type: Option<ActorType>,
    pub actor_id: Option<String>,
    pub action_type: Option<String>,
    pub resource: Option<String>,
    pub occurred_at: DateTime<Utc>,
    pub note: String,
}

/// Seed 3.7, 3.4, 3.9, 11: ranked candidates and the chain.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct CausalAnalysis {
    /// Ranked by confidence; rejected candidates are at the end with
    /// confidence 0. The best 50, and every candidate a human has judged.
    pub candidates: Vec<Candidate>,
    /// How many actions were scored.
    pub considered: usize,
    /// No candidate reaches 40 %: the cause is not known.
    pub undetermined: bool,
    pub contributing: Vec<Contribution>,
    /// Pairs of actions that modified the same resource within 5 s.
    pub concurrent_modifications: Vec<(String, String)>,
}

wire_enum! {
    /// The order of "Top 3 now" (seed 12.5).
    pub enum SuggestionKind {
        /// Stop the bleeding.
        Contain = "contain",
        /// Find the cause.
        Investigate = "investigate",
        /// Loop in others.
        Coordinate = "coordinate",
    }
}

wire_enum! {
    pub enum Risk {
        Low = "low",
        Medium = "medium",
        High = "high",
    }
}

/// A recovery suggestion: advisory, never executed by Mandate (seed 9).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Suggestion {
    pub kind: SuggestionKind,
    pub title: String,
    pub reason: String,
    pub risk: Risk,
    /// 0 to 100.
    #[schema(maximum = 100)]
    pub confidence: u8,
    /// What a human would run.
    pub command: Option<String>,
    /// The intervention that carries it out, when there is one.
    pub intervention: Option<InterventionKind>,
    pub agent_id: Option<String>,
    pub tool: Option<String>,
    pub resource: Option<String>,
    /// Set when suggestions address different hypotheses (seed 12.6):
    /// "A", "B", … in the recommended order.
    pub alternative: Option<String>,
    pub warnings: Vec<String>,
}

wire_enum! {
    pub enum MatchLevel {
        /// The same signature.
        Exact = "exact",
        /// 80 % or more of the features.
        Similar = "similar",
        /// 50 % or more.
        Possible = "possible",
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PreviousOccurrence {
    /// Weighted feature overlap, in percent.
    #[serde(default)]
    #[schema(maximum = 100)]
    pub score: u8,
    pub incident_id: i64,
    pub started_at: DateTime<Utc>,
    pub level: MatchLevel,
}

/// Seed 10.4 and 10.6.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct PatternMatch {
    pub level: MatchLevel,
    pub signature: Signature,
    pub previous: Vec<PreviousOccurrence>,
    /// This incident's rank among exact and similar occurrences (1 = first).
    pub occurrence: usize,
    /// On the third occurrence: a rule to consider (never applied by itself).
    pub suggested_rule: Option<String>,
    /// The stored pattern this incident belongs to (`PAT-{id}`).
    #[serde(default)]
    pub pattern_id: Option<i64>,
    /// Weighted feature overlap with the closest earlier incident, in percent.
    #[serde(default)]
    #[schema(maximum = 100)]
    pub score: u8,
    /// Suggestions ignored more than once across the pattern's incidents.
    #[serde(default)]
    pub suggestions: Vec<super::SuggestionHistory>,
    /// The rule learned from the pattern (proposed, approved, active, …).
    #[serde(default)]
    pub rule: Option<super::LearnedRule>,
}

/// The features a pattern is matched on (seed 10.2).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Signature {
    pub action_type: Option<String>,
    pub resource_pattern: Option<String>,
    pub failure_mode: Option<String>,
    pub actor_pattern: Option<String>,
    pub time_pattern: Option<String>,
    /// The kinds of the actions just before the first error, in order:
    /// `config_change > deploy`.
    #[serde(default)]
    pub sequence_pattern: Option<String>,
}

/// A gap in an agent's sequence numbers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SequenceGap {
    pub agent_id: String,
    /// The missing sequence numbers, inclusive.
    pub first_missing: i64,
    pub last_missing: i64,
    /// "Events may be missing between T1 and T2."
    pub after: DateTime<Utc>,
    pub before: DateTime<Utc>,
}

/// One line of an incident's timeline.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "entry", rename_all = "snake_case")]
pub enum TimelineEntry {
    Event {
        event: Box<Event>,
        related: bool,
    },
    Gap {
        gap: SequenceGap,
    },
    /// What a person did about the incident.
    Intervention {
        intervention: InterventionNote,
    },
}

/// An intervention on an incident, as its detail shows it: who, what, when
/// and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct InterventionNote {
    pub kind: InterventionKind,
    pub actor_id: String,
    pub at: DateTime<Utc>,
    pub reason: Option<String>,
    /// The agent it acted on, if any.
    pub agent_id: Option<String>,
    /// What it carried: the command, tool, rule or escalation level.
    pub detail: Option<String>,
    /// Where the person did it when not in Mandate's own console or API:
    /// `slack`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
}

/// `GET /api/v1/incidents/{id}`: everything about one incident.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct IncidentDetail {
    #[serde(flatten)]
    pub summary: IncidentSummary,
    pub escalation_path: Vec<String>,
    pub timeline: Vec<TimelineEntry>,
    pub blast_radius: BlastRadius,
    pub analysis: CausalAnalysis,
    pub suggestions: Vec<Suggestion>,
    /// Contain, then investigate, then coordinate.
    pub top3: Vec<Suggestion>,
    pub pattern: Option<PatternMatch>,
    /// Every intervention on the incident, oldest first.
    #[serde(default)]
    pub interventions: Vec<InterventionNote>,
    /// Who is told, how and when (seed 5.4).
    #[serde(default)]
    pub routing: Option<super::RoutingDecision>,
    /// Every notification sent or due for the incident, by due time: who was
    /// paged, on which channel, delivered or not, and who is next.
    #[serde(default)]
    pub pages: Vec<super::Page>,
    /// Other incidents whose analysis puts the same action first (seed 10.3).
    #[serde(default)]
    pub shared_cause: Option<super::SharedCause>,
    /// How a person resolved it, when one did (and it was not reopened since).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resolution: Option<Resolution>,
    /// The person who reported it (a user-reported incident): its analysis
    /// starts from the resource and time they named.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reported_by: Option<String>,
    /// For a reported incident: incidents opened by errors on the same
    /// resources within an hour of its start.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub related_incidents: Vec<i64>,
    /// Duplicates merged into this incident: their events, interventions
    /// and pages are part of this one's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub merged_from: Vec<i64>,
}

wire_enum! {
    /// The enumerated interventions of seed 4.1.
    pub enum InterventionKind {
        Acknowledge = "acknowledge",
        FlagForReview = "flag_for_review",
        PauseAgent = "pause_agent",
        ResumeAgent = "resume_agent",
        Escalate = "escalate",
        CreateIncident = "create_incident",
        TriggerRollback = "trigger_rollback",
        DisableTool = "disable_tool",
        UpdateRule = "update_rule",
        Resolve = "resolve",
        Reopen = "reopen",
        Note = "note",
        ChangeSeverity = "change_severity",
        AddResponder = "add_responder",
        HandOver = "hand_over",
        Merge = "merge",
    }
}

impl InterventionKind {
    /// Kinds that say something about the incident in the responder's
    /// words: a reason is required even though they can be undone.
    pub fn needs_reason(self) -> bool {
        !self.reversible()
            || matches!(
                self,
                InterventionKind::Resolve
                    | InterventionKind::Reopen
                    | InterventionKind::Note
                    | InterventionKind::ChangeSeverity
                    | InterventionKind::HandOver
            )
    }
}

wire_enum! {
    /// How a person closed an incident.
    pub enum ResolutionKind {
        /// The cause is known: one of the candidate actions (`event_id`).
        CauseConfirmed = "cause_confirmed",
        /// Over, with its cause not found: counts toward investigating the
        /// pattern, as an automatic undetermined analysis does.
        CauseUndetermined = "cause_undetermined",
        /// Nothing was wrong (a test, a false alarm).
        NotAnIncident = "not_an_incident",
    }
}

/// An incident resolved by hand: how, by whom, when and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Resolution {
    pub kind: ResolutionKind,
    pub by: String,
    pub at: DateTime<Utc>,
    pub reason: String,
    /// The confirmed cause, for `cause_confirmed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
}

impl InterventionKind {
    /// Seed 4.1: can it be undone without lasting impact?
    pub fn reversible(self) -> bool {
        !matches!(
            self,
            InterventionKind::CreateIncident
                | InterventionKind::TriggerRollback
                | InterventionKind::DisableTool
                | InterventionKind::UpdateRule
                | InterventionKind::Merge
        )
    }
}

/// Something about a service's ownership that the responder must know.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(tag = "flag", rename_all = "snake_case")]
pub enum OwnershipFlag {
    /// The owner cannot be reached now; the backup is notified instead.
    OwnerUnavailable { owner: String, route_to: Option<String> },
    /// The owner has left: the service is orphaned until someone takes it.
    OrphanedOwner { owner: String, route_to: Option<String> },
    /// Several parties claim it: all of them are notified.
    Ambiguous { claimants: Vec<String> },
    /// Nobody owns it: the team on-call or an admin is notified.
    NoOwner,
    /// Owned by a vendor, with its own channel and response time.
    External { name: String, contact: String, channel: String, sla: String, escalation: Option<String> },
}
