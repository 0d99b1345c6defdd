//! The learning loop at the desk: after each change of an incident, what it
//! teaches is stored (its cause, the suggestions shown, its pattern, the
//! rule a third occurrence proposes, an escalation of a cause left
//! undetermined three times); rules learned from incidents are proposed,
//! approved, activated and sunset here, and active ones act on events and
//! incidents.

use super::Desk;
use super::change::Committed;
use super::interventions::{InterventionError, InterventionRequest};
use crate::api::{
    Event, IncidentDetail, IncidentStatus, InterventionKind, LearnedRule, MatchLevel, PatternMatch, RuleDecision,
    RuleState, Severity, SharedCause, Signature, Verdict,
};
use crate::incident::patterns::{key, level_of, overlap, pattern_name};
use crate::learning::outcomes::ignored_again;
use crate::learning::rules::{self as learned, LEARNING_ACTOR};
use crate::store::{NewRule, StoreError};
use chrono::{Duration, Utc};
use std::sync::Arc;

/// What a stored pattern has gathered: see `Desk::pattern_history`.
pub struct PatternHistory {
    pub incidents: Vec<crate::api::PatternIncident>,
    pub repeats: i64,
    pub suggestions: Vec<crate::api::SuggestionHistory>,
    pub rule: Option<LearnedRule>,
}

/// Incidents of one pattern left UNDETERMINED before it is escalated (seed 10.7).
pub const UNDETERMINED_TO_ESCALATE: usize = 3;

impl Desk {
    /// Active rules, as this server last read them.
    pub fn active_rules(&self) -> Arc<Vec<LearnedRule>> {
        self.config.rules.read().clone()
    }

    pub(super) async fn load_rules(&self) -> Result<(), StoreError> {
        let active = self.store.rules(Some(RuleState::Active), Utc::now()).await?;
        *self.config.rules.write() = Arc::new(active);
        self.configured();
        Ok(())
    }

    /// The first active rule matching an action on `resources` at `at`.
    pub(super) fn learned_rule_for(
        &self,
        action_type: Option<&str>,
        resources: &[&str],
        at: chrono::DateTime<Utc>,
    ) -> Option<LearnedRule> {
        let rules = self.active_rules();
        let business_hours = in_business_hours(at);
        rules.iter().find(|r| learned::matches(&r.matches, action_type, resources, business_hours)).cloned()
    }

    pub fn auto_rules_allowed(&self) -> bool {
        self.config.allow_auto_rules
    }

    pub(super) fn rule_decision(&self, rule: &LearnedRule) -> RuleDecision {
        learned::effective(rule, self.config.allow_auto_rules)
    }

    /// Active rules fire on the events that match them (recorded in the
    /// ingest's transaction; an event fires a rule once).
    pub(super) async fn fire_on_events(
        &self,
        tx: &mut sqlx::Transaction<'static, sqlx::Any>,
        events: &[Event],
    ) -> Result<(), StoreError> {
        let rules = self.active_rules();
        if rules.is_empty() {
            return Ok(());
        }
        let now = Utc::now();
        for e in events.iter().filter(|e| e.action_type.is_some() && !e.is_error()) {
            let touched: Vec<&str> = e.touched().collect();
            let business_hours = in_business_hours(e.occurred_at);
            for rule in rules
                .iter()
                .filter(|r| learned::matches(&r.matches, e.action_type.as_deref(), &touched, business_hours))
            {
                let decision = self.rule_decision(rule);
                self.store.record_firing(tx, rule.id, Some(&e.event_id), None, decision.as_str(), false, now).await?;
            }
        }
        Ok(())
    }

    /// A stored pattern's incidents, how many repeat it (exact or similar),
    /// the suggestions they kept ignoring, and the rule learned from it.
    pub async fn pattern_history(&self, pattern_id: i64) -> Result<PatternHistory, StoreError> {
        let incidents = self.store.pattern_incidents(pattern_id).await?;
        let ids: Vec<i64> =
            incidents.iter().filter(|l| l.level != MatchLevel::Possible).map(|l| l.incident_id).collect();
        Ok(PatternHistory {
            repeats: ids.len() as i64,
            suggestions: ignored_again(&self.store.suggestion_outcomes(None, &ids).await?),
            rule: self.store.pattern_rule(pattern_id, Utc::now()).await?,
            incidents,
        })
    }

    /// The stored pattern an incident belongs to, its rule and the
    /// suggestions its incidents kept ignoring, into the detail's match.
    pub(super) async fn attach_pattern(&self, id: i64, pattern: &mut PatternMatch) -> Result<(), StoreError> {
        let Some(pattern_id) = self.store.pattern_of(id).await? else { return Ok(()) };
        let history = self.pattern_history(pattern_id).await?;
        pattern.pattern_id = Some(pattern_id);
        pattern.suggestions = history.suggestions;
        pattern.rule = history.rule;
        Ok(())
    }

    /// Seed 10.3: other incidents whose analysis puts the same action first.
    pub(super) async fn shared_cause(
        &self,
        id: i64,
        analysis: &crate::api::CausalAnalysis,
    ) -> Result<Option<SharedCause>, StoreError> {
        let Some(top) = top_cause(analysis) else { return Ok(None) };
        let others = self.store.sharing_cause(top, id).await?;
        Ok((!others.is_empty()).then(|| SharedCause { event_id: top.to_owned(), incidents: others }))
    }

    /// What an incident's change teaches, stored after the change.
    pub(super) async fn learn(
        &self,
        detail: &IncidentDetail,
        signature: &Signature,
        signature_changed: bool,
        fired: Option<&LearnedRule>,
    ) -> Result<(), StoreError> {
        let id = detail.summary.id;
        if detail.summary.merged_into.is_some() {
            // A merged duplicate teaches nothing of its own: its survivor's
            // analysis covers its events.
            return Ok(());
        }
        let resolved = detail.summary.status == IncidentStatus::Resolved;
        let now = Utc::now();
        self.store.set_cause(id, top_cause(&detail.analysis), detail.analysis.undetermined).await?;
        let mut tx = self.store.write.begin().await?;
        self.store.sync_suggestions(&mut tx, id, &detail.suggestions, resolved, now).await?;
        if let Some(rule) = fired {
            let decision = self.rule_decision(rule);
            self.store.record_firing(&mut tx, rule.id, None, Some(id), decision.as_str(), true, now).await?;
        }
        tx.commit().await?;

        let pattern_id = match self.store.pattern_of(id).await? {
            Some(p) if !signature_changed => Some(p),
            _ => self.link_pattern(detail, signature).await?,
        };
        let Some(pattern_id) = pattern_id else { return Ok(()) };
        if detail.pattern.as_ref().is_some_and(|p| p.suggested_rule.is_some()) {
            self.propose_from_pattern(pattern_id, id, signature).await?;
        }
        // A person's resolution says whether the cause was found; without
        // one, the analysis does.
        let undetermined = match &detail.resolution {
            Some(r) => r.kind == crate::api::ResolutionKind::CauseUndetermined,
            None => detail.analysis.undetermined,
        };
        if resolved && undetermined {
            self.escalate_undetermined(pattern_id).await?;
        }
        Ok(())
    }

    /// After `learn`: when what it stored shows on the incident (the
    /// pattern it now belongs to, the rule learned from it) and the detail
    /// served does not show it yet, the incident moves to a new version, so
    /// every server computes its detail again and every console waiting on
    /// it is told. The next analysis finds them equal and stops there.
    pub(super) async fn show_learning(&self, detail: &IncidentDetail) -> Result<(), StoreError> {
        let id = detail.summary.id;
        // Only a detail that matches a pattern shows a stored one (see
        // `attach_pattern`, which reads what is compared here).
        let Some(matched) = &detail.pattern else { return Ok(()) };
        let pattern = self.store.pattern_of(id).await?;
        let shown = matched.pattern_id;
        let rule = match pattern {
            Some(p) => self.store.pattern_rule(p, Utc::now()).await?.map(|r| (r.id, r.state)),
            None => None,
        };
        let shown_rule = matched.rule.as_ref().map(|r| (r.id, r.state));
        if pattern == shown && rule == shown_rule {
            return Ok(());
        }
        // A new version and nothing else: what learning stored is stored,
        // and analysing again would learn nothing new.
        let (mut state, mut tx) = self.begin_change().await?;
        let version = state.version + 1;
        self.store.set_versions(&mut tx, &[id], version).await?;
        self.commit_change(&mut state, tx, Committed::version(version)).await
    }

    /// Links an incident to the stored pattern it matches (80 % or more of
    /// the weight), or stores a new one when earlier incidents repeat it;
    /// patterns it only possibly matches link it as possible.
    async fn link_pattern(&self, detail: &IncidentDetail, signature: &Signature) -> Result<Option<i64>, StoreError> {
        let id = detail.summary.id;
        let now = Utc::now();
        let stored = self.store.patterns().await?;
        let mut scored: Vec<(i64, u8)> =
            stored.iter().filter_map(|p| Some((p.id, overlap(signature, &p.signature)?))).collect();
        scored.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let mut links: Vec<(i64, MatchLevel, u8)> = Vec::new();
        let mut tx = self.store.write.begin().await?;
        let home = match scored.first().filter(|(_, score)| *score >= 80) {
            Some(&(pattern_id, score)) => {
                self.store.saw_pattern(&mut tx, pattern_id, detail.summary.started_at).await?;
                links.push((pattern_id, level_of(score).unwrap_or(MatchLevel::Similar), score));
                Some(pattern_id)
            }
            None => match detail.pattern.as_ref().filter(|p| p.level != MatchLevel::Possible) {
                Some(m) => {
                    let seen = m.previous.iter().map(|p| p.started_at).chain([detail.summary.started_at]);
                    let span = (seen.clone().min().expect("one at least"), seen.max().expect("one at least"));
                    let pattern_id = self.store.upsert_pattern(&mut tx, &key(signature), signature, span).await?;
                    for previous in &m.previous {
                        self.store
                            .add_link(&mut tx, pattern_id, previous.incident_id, previous.level, previous.score, now)
                            .await?;
                    }
                    links.push((pattern_id, MatchLevel::Exact, 100));
                    Some(pattern_id)
                }
                None => None,
            },
        };
        for &(pattern_id, score) in scored.iter().filter(|(p, s)| Some(*p) != home && (50..80).contains(s)) {
            links.push((pattern_id, MatchLevel::Possible, score));
        }
        self.store.link_incident(&mut tx, id, &links, now).await?;
        tx.commit().await?;
        Ok(home)
    }

    /// The third occurrence proposes a rule (seed 10.6), once per pattern.
    async fn propose_from_pattern(
        &self,
        pattern_id: i64,
        incident: i64,
        signature: &Signature,
    ) -> Result<(), StoreError> {
        // Once per pattern: a rule rejected or sunset is not proposed again.
        if self.store.pattern_rule(pattern_id, Utc::now()).await?.is_some() {
            return Ok(());
        }
        let name = pattern_name(pattern_id);
        let Some((title, matches)) = learned::from_signature(&name, signature) else { return Ok(()) };
        let source = format!("pattern:{name} (third occurrence, incident #{incident})");
        let rule = NewRule {
            name: &title,
            pattern_id: Some(pattern_id),
            matches: &matches,
            decision: RuleDecision::Gated,
            automation: None,
            source: &source,
            proposed_by: LEARNING_ACTOR,
        };
        match self.store_rule(&rule, None).await {
            Ok(_) | Err(InterventionError::Conflict(..)) => Ok(()),
            Err(InterventionError::Store(e)) => Err(e),
            Err(other) => {
                tracing::warn!(pattern = %name, error = %other, "rule not proposed");
                Ok(())
            }
        }
    }

    /// Seed 10.7: the third incident of a pattern resolved with its cause
    /// undetermined opens an incident to investigate, with that history.
    async fn escalate_undetermined(&self, pattern_id: i64) -> Result<(), StoreError> {
        let linked = self.store.pattern_incidents(pattern_id).await?;
        let undetermined: Vec<_> = linked
            .iter()
            .filter(|l| l.level != MatchLevel::Possible && l.undetermined && l.status == IncidentStatus::Resolved)
            .collect();
        if undetermined.len() < UNDETERMINED_TO_ESCALATE || !self.store.claim_escalation(pattern_id).await? {
            return Ok(());
        }
        let name = pattern_name(pattern_id);
        let history: Vec<String> = undetermined
            .iter()
            .map(|l| format!("#{} {} ({})", l.incident_id, l.title, l.started_at.format("%Y-%m-%d %H:%M")))
            .collect();
        let resource = self.store.pattern(pattern_id).await?.and_then(|p| p.signature.resource_pattern);
        let reason = format!(
            "{name}: cause left UNDETERMINED {} times: {}; needs investigation",
            undetermined.len(),
            history.join("; ")
        );
        let last = undetermined.last().map(|l| l.incident_id).unwrap_or_default();
        let request = InterventionRequest {
            resource: resource.map(|r| r.trim_end_matches('*').trim_end_matches('-').to_owned()),
            title: Some(format!("investigate {name}: cause undetermined {} times", undetermined.len())),
            severity: Some(Severity::Medium),
            ..InterventionRequest::by_system(
                InterventionKind::CreateIncident,
                last,
                (LEARNING_ACTOR, LEARNING_ACTOR),
                &name,
                reason,
            )
        };
        match self.intervene(request).await {
            Ok(done) => {
                let created = done.incident.map(|s| s.id);
                self.store.set_escalation(pattern_id, created).await?;
                tracing::info!(pattern = %name, incident = ?created, "undetermined pattern escalated");
            }
            Err(InterventionError::Store(e)) => {
                self.store.set_escalation(pattern_id, None).await?;
                return Err(e);
            }
            Err(refused) => {
                self.store.set_escalation(pattern_id, None).await?;
                tracing::warn!(pattern = %name, error = %refused, "undetermined pattern not escalated");
            }
        }
        Ok(())
    }

    /// A rule to consider, from a person (`POST /api/v1/rules`, `W`) or a
    /// pattern; its id. Recorded in the audit log.
    pub async fn propose_rule(
        &self,
        rule: &NewRule<'_>,
        reason: Option<&str>,
    ) -> Result<LearnedRule, InterventionError> {
        learned::check_match(rule.matches).map_err(|m| InterventionError::Invalid("RULE_MATCH_EMPTY", "match", m))?;
        let id = self.store_rule(rule, reason).await?;
        Ok(self.store.rule(id, Utc::now()).await?.expect("just stored"))
    }

    async fn store_rule(&self, rule: &NewRule<'_>, reason: Option<&str>) -> Result<i64, InterventionError> {
        let (mut state, mut tx) = self.begin_change().await?;
        let now = Utc::now();
        let Some(id) = self.store.propose_rule(&mut tx, rule, now).await? else {
            return Err(InterventionError::Conflict(
                "RULE_EXISTS",
                format!(
                    "{} has a rule proposed, approved or active already",
                    rule.pattern_id.map(pattern_name).unwrap_or_default()
                ),
            ));
        };
        let details = serde_json::json!({
            "rule": id, "name": rule.name, "match": rule.matches, "decision": rule.decision.as_str(),
            "source": rule.source, "reason": reason,
        });
        self.store
            .append_audit(&mut tx, now, rule.proposed_by, "rule_proposed", &format!("rule:{id}"), details)
            .await?;
        let version = state.version;
        self.commit_change(&mut state, tx, Committed::version(version)).await?;
        Ok(id)
    }

    /// Moves a rule along its life (admin): approve, activate, sunset or
    /// reject. Active rules are reloaded on every server.
    pub async fn move_rule(
        &self,
        id: i64,
        to: RuleState,
        by: &str,
        reason: Option<&str>,
    ) -> Result<LearnedRule, InterventionError> {
        let now = Utc::now();
        let Some(current) = self.store.rule(id, now).await? else {
            return Err(InterventionError::NotFound("RULE_NOT_FOUND", format!("no rule #{id}")));
        };
        let from = learned::allowed_from(to);
        let (mut state, mut tx) = self.begin_change().await?;
        if !self.store.move_rule(&mut tx, id, from, to, by, now).await? {
            let allowed: Vec<&str> = from.iter().map(|s| s.as_str()).collect();
            return Err(InterventionError::Conflict(
                "RULE_STATE",
                format!(
                    "rule #{id} is {}: it becomes {} only from {}",
                    current.state.as_str(),
                    to.as_str(),
                    if allowed.is_empty() { "nothing (rules start proposed)".to_owned() } else { allowed.join(" or ") }
                ),
            ));
        }
        let details = serde_json::json!({
            "rule": id, "name": current.name, "from": current.state.as_str(), "to": to.as_str(), "reason": reason,
        });
        self.store
            .append_audit(&mut tx, now, by, &format!("rule_{}", to.as_str()), &format!("rule:{id}"), details)
            .await?;
        let version = state.version;
        let config = current.state == RuleState::Active || to == RuleState::Active;
        self.commit_change(&mut state, tx, Committed { version, config, paging: false }).await?;
        if config {
            self.load_rules().await?;
        }
        Ok(self.store.rule(id, now).await?.expect("it exists"))
    }

    /// Active rules idle for the idle period are proposed for sunset; their ids.
    pub(super) async fn propose_sunsets(&self) -> Result<Vec<i64>, StoreError> {
        let now = self.clock.now();
        let mut tx = self.store.write.begin().await?;
        let ids = self.store.propose_sunsets(&mut tx, now - Duration::days(learned::IDLE_DAYS), now).await?;
        tx.commit().await?;
        if !ids.is_empty() {
            tracing::info!(rules = ?ids, days = learned::IDLE_DAYS, "idle rules proposed for sunset");
        }
        Ok(ids)
    }
}

/// Business hours as the pattern's time feature reads them, so a rule
/// learned from after-hours incidents means what they saw.
fn in_business_hours(at: chrono::DateTime<Utc>) -> bool {
    crate::incident::patterns::time_pattern(at) == "business_hours"
}

/// The cause an analysis puts first: not rejected, at least SUSPECTED.
fn top_cause(analysis: &crate::api::CausalAnalysis) -> Option<&str> {
    analysis
        .candidates
        .iter()
        .find(|c| c.verdict != Some(Verdict::Rejected) && c.confidence >= 40)
        .map(|c| c.event_id.as_str())
}
