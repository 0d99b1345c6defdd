//! The wire types of the Mandate API: every request and response body, shared
//! by the server, the SDK client and the console so the sides cannot drift.

mod activity;
mod alerts;
mod approvals;
mod auth;
mod control;
mod degradations;
mod disputes;
mod error;
mod events;
pub mod identifier;
mod incidents;
mod interventions;
mod learning;
pub mod limits;
mod operations;
mod paging;
pub mod pattern;
mod rollout;
mod routing;
mod runs;
pub mod silences;

pub use activity::{Bucket, Dimension, Distribution, Topic};
pub use alerts::{
    ALERT_ACTION_TYPE, AlertBatch, AlertBody, AlertNote, AlertReport, AlertStatus, MAX_ALERTS, MAX_LABELS,
    RESOURCE_LABELS,
};
pub use approvals::{
    ApprovalDecisionBody, ApprovalFriction, ApprovalList, ApprovalPastIncident, ApprovalRequest, ApprovalStatus,
    ApprovalVote, GateAnswer, GateBody, GateFriction,
};
pub use auth::{Role, WhoAmI};
pub use control::{
    AgentControlState, AgentStop, LiftBody, RefusalReport, StopBody, StopResult, StopScope, StopSummary,
    target_shape_ok,
};
pub use degradations::{
    Degradation, DegradationList, DegradationStatus, ImpactReport, ServiceImpact, SlowBurnCheck, WatchState,
    WindowChange,
};
pub use disputes::{
    Dispute, DisputeBody, DisputeClaim, DisputeList, DisputeMark, DisputeResolution, DisputeState, ResolutionBody,
};
pub use error::{ErrorBody, ErrorDetail, ErrorType};
pub use events::{Event, EventBatch, EventBody, EventFlag, IngestReport, Outcome, RejectedEvent};
pub use incidents::{
    AffectedBecause, AffectedService, Band, BlastRadius, Candidate, CausalAnalysis, Contribution, ContributionRole,
    Evidence, IncidentDetail, IncidentPage, IncidentStatus, IncidentSummary, InterventionKind, InterventionNote,
    MatchLevel, OwnershipFlag, PatternMatch, PreviousOccurrence, Resolution, ResolutionKind, Risk, SequenceGap,
    Severity, Signature, StatusCounts, Suggestion, SuggestionKind, TimelineEntry, Verdict,
};
pub use interventions::{AgentState, InterventionBody, InterventionResult, InterventionSpec, VerdictBody};
pub use learning::{
    ActedWith, BandCalibration, Calibration, CalibrationFlag, CauseTypeCalibration, Friction, LearnedRule, Pattern,
    PatternFeature, PatternIncident, PatternList, ProposeRule, ReliabilityBin, Reliance, RuleDecision, RuleList,
    RuleMatch, RuleState, RuleTransition, SharedCause, SuggestionHistory, SuggestionKindStats, SuggestionState,
    SuggestionStats, Weight,
};
pub use operations::{
    AccessEntry, AccessPage, AgentSummary, AttributionStats, AuditEntry, AuditPage, ChainStatus, CountBy,
};
pub use paging::{DeliveryState, NoticeKind, Page, PageList, PagingHealth, RetryBody, StateCount};
pub use rollout::{
    Breach, ComplianceStatus, Milestone, NextPhase, OutreachBody, OutreachNote, OutreachSent, OwnerTarget, Phase,
    RolloutStatus, ServiceCompliance, Trend, TrendMetric, ViolationSample,
};
pub use routing::{
    ActionDecision, Automation, Notification, OnCallAnswer, RoutingChange, RoutingDecision, RoutingUsage,
    RoutingVerdict, RuleUsage, Urgency,
};
pub use runs::{
    CompleteRunRequest, CreateRunRequest, OVERRIDE_HEADER, RiskLevel, Run, RunPage, RunSource, RunState, RunStatus,
};
pub use silences::{
    IncidentTraits, LiftSilenceBody, Silence, SilenceBody, SilenceList, SilenceMark, SilenceMatch, SilenceResult,
    SilenceState, WeeklyWindow,
};

/// Every route lives under this prefix.
pub const API_PREFIX: &str = "/api/v1";
