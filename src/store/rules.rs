//! Rules learned from incidents (seed 10.5, 10.6) and each time one fired.
//! A pattern has at most one live (proposed, approved or active) rule
//! (`ux_learned_rules_pattern`).

use super::{Store, StoreError, from_millis, to_millis};
use crate::api::{Automation, LearnedRule, RuleDecision, RuleMatch, RuleState};
use chrono::{DateTime, Duration, Utc};
use sqlx::any::AnyRow;
use sqlx::{Any, FromRow, Row, Transaction};

/// A rule to store as proposed.
#[derive(Debug, Clone)]
pub struct NewRule<'a> {
    pub name: &'a str,
    pub pattern_id: Option<i64>,
    pub matches: &'a RuleMatch,
    pub decision: RuleDecision,
    pub automation: Option<Automation>,
    pub source: &'a str,
    pub proposed_by: &'a str,
}

fn select(since_7d: i64) -> String {
    format!(
        "SELECT r.id, r.name, r.pattern_id, r.match_json, r.decision, r.automation, r.state, r.source, r.proposed_by, \
         r.proposed_at, r.decided_by, r.decided_at, r.activated_at, r.ended_at, r.sunset_proposed_at, r.last_fired_at, \
         (SELECT COUNT(*) FROM rule_firings f WHERE f.rule_id = r.id) AS fired, \
         (SELECT COUNT(*) FROM rule_firings f WHERE f.rule_id = r.id AND f.interrupted = 1 AND f.at >= {since_7d}) AS interruptions \
         FROM learned_rules r"
    )
}

/// A learned rule's row as stored, with its firing counts.
#[derive(sqlx::FromRow)]
struct RuleRow {
    id: i64,
    name: String,
    pattern_id: Option<i64>,
    match_json: String,
    decision: String,
    automation: Option<String>,
    state: String,
    source: String,
    proposed_by: String,
    proposed_at: i64,
    decided_by: Option<String>,
    decided_at: Option<i64>,
    activated_at: Option<i64>,
    ended_at: Option<i64>,
    sunset_proposed_at: Option<i64>,
    last_fired_at: Option<i64>,
    fired: i64,
    interruptions: i64,
}

fn rule_from_row(r: &AnyRow) -> Result<LearnedRule, StoreError> {
    let row = RuleRow::from_row(r)?;
    Ok(LearnedRule {
        id: row.id,
        name: row.name,
        pattern_id: row.pattern_id,
        matches: serde_json::from_str(&row.match_json).unwrap_or_default(),
        decision: RuleDecision::parse(&row.decision).unwrap_or(RuleDecision::Flagged),
        automation: row.automation.as_deref().and_then(Automation::parse),
        state: RuleState::parse(&row.state).unwrap_or(RuleState::Proposed),
        source: row.source,
        proposed_by: row.proposed_by,
        proposed_at: from_millis(row.proposed_at),
        decided_by: row.decided_by,
        decided_at: row.decided_at.map(from_millis),
        activated_at: row.activated_at.map(from_millis),
        ended_at: row.ended_at.map(from_millis),
        sunset_proposed_at: row.sunset_proposed_at.map(from_millis),
        last_fired_at: row.last_fired_at.map(from_millis),
        fired: row.fired,
        interruptions_7d: row.interruptions,
    })
}

impl Store {
    /// Stores a proposed rule; None when its pattern has a live rule already.
    pub(crate) async fn propose_rule(
        &self,
        tx: &mut Transaction<'_, Any>,
        rule: &NewRule<'_>,
        now: DateTime<Utc>,
    ) -> Result<Option<i64>, StoreError> {
        let row = sqlx::query(
            "INSERT INTO learned_rules (name, pattern_id, match_json, decision, automation, state, source, proposed_by, proposed_at) \
             VALUES ($1, $2, $3, $4, $5, 'proposed', $6, $7, $8) ON CONFLICT DO NOTHING RETURNING id",
        )
        .bind(rule.name.to_owned())
        .bind(rule.pattern_id)
        .bind(serde_json::to_string(rule.matches).unwrap_or_default())
        .bind(rule.decision.as_str())
        .bind(rule.automation.map(|a| a.as_str()))
        .bind(rule.source.to_owned())
        .bind(rule.proposed_by.to_owned())
        .bind(to_millis(now))
        .fetch_optional(&mut **tx)
        .await?;
        Ok(row.map(|r| r.try_get(0)).transpose()?)
    }

    /// Every rule, newest first; `state`: those in it only.
    pub async fn rules(&self, state: Option<RuleState>, now: DateTime<Utc>) -> Result<Vec<LearnedRule>, StoreError> {
        let sql = format!(
            "{} WHERE ($1 = '' OR r.state = $1) ORDER BY r.id DESC LIMIT 1000",
            select(to_millis(now - Duration::days(7)))
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(state.map(|s| s.as_str()).unwrap_or_default())
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(rule_from_row).collect()
    }

    pub async fn rule(&self, id: i64, now: DateTime<Utc>) -> Result<Option<LearnedRule>, StoreError> {
        let sql = format!("{} WHERE r.id = $1", select(to_millis(now - Duration::days(7))));
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_all(&self.read).await?;
        rows.first().map(rule_from_row).transpose()
    }

    /// The live rule learned from a pattern (proposed, approved or active).
    pub async fn pattern_rule(&self, pattern_id: i64, now: DateTime<Utc>) -> Result<Option<LearnedRule>, StoreError> {
        let sql = format!(
            "{} WHERE r.pattern_id = $1 ORDER BY CASE WHEN r.state IN ('proposed', 'approved', 'active') THEN 0 ELSE 1 END, r.id DESC LIMIT 1",
            select(to_millis(now - Duration::days(7)))
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(pattern_id).fetch_all(&self.read).await?;
        rows.first().map(rule_from_row).transpose()
    }

    /// Moves a rule from one of `from` to `to`; false when it was not in one.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn move_rule(
        &self,
        tx: &mut Transaction<'_, Any>,
        id: i64,
        from: &[RuleState],
        to: RuleState,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let from: Vec<String> = from.iter().map(|s| format!("'{}'", s.as_str())).collect();
        let sql = format!(
            "UPDATE learned_rules SET state = $1, decided_by = $2, decided_at = $3, \
             activated_at = CASE WHEN $1 = 'active' THEN $3 ELSE activated_at END, \
             ended_at = CASE WHEN $1 IN ('sunset', 'rejected') THEN $3 ELSE ended_at END, \
             sunset_proposed_at = CASE WHEN $1 = 'active' THEN NULL ELSE sunset_proposed_at END \
             WHERE id = $4 AND state IN ({})",
            from.join(", ")
        );
        let done = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(to.as_str())
            .bind(by.to_owned())
            .bind(to_millis(now))
            .bind(id)
            .execute(&mut **tx)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Records that a rule fired on an event or an incident (once each);
    /// whether this is the first time.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn record_firing(
        &self,
        tx: &mut Transaction<'_, Any>,
        rule_id: i64,
        event_id: Option<&str>,
        incident_id: Option<i64>,
        decision: &str,
        interrupted: bool,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO rule_firings (rule_id, at, event_id, incident_id, decision, interrupted) \
             VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
        )
        .bind(rule_id)
        .bind(to_millis(now))
        .bind(event_id.map(str::to_owned))
        .bind(incident_id)
        .bind(decision.to_owned())
        .bind(i64::from(interrupted))
        .execute(&mut **tx)
        .await?;
        if done.rows_affected() == 0 {
            return Ok(false);
        }
        sqlx::query(
            "UPDATE learned_rules SET last_fired_at = $1, sunset_proposed_at = NULL WHERE id = $2 \
             AND (last_fired_at IS NULL OR last_fired_at < $1)",
        )
        .bind(to_millis(now))
        .bind(rule_id)
        .execute(&mut **tx)
        .await?;
        Ok(true)
    }

    /// Active rules that have not fired since `cutoff` (nor been activated
    /// since) are proposed for sunset; their ids.
    pub(crate) async fn propose_sunsets(
        &self,
        tx: &mut Transaction<'_, Any>,
        cutoff: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<Vec<i64>, StoreError> {
        let rows = sqlx::query(
            "UPDATE learned_rules SET sunset_proposed_at = $1 WHERE state = 'active' AND sunset_proposed_at IS NULL \
             AND COALESCE(last_fired_at, activated_at, proposed_at) < $2 RETURNING id",
        )
        .bind(to_millis(now))
        .bind(to_millis(cutoff))
        .fetch_all(&mut **tx)
        .await?;
        rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
    }

    /// Incidents rules routed to people since `since`.
    pub async fn interruptions(&self, since: DateTime<Utc>) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) FROM rule_firings WHERE interrupted = 1 AND at >= $1")
            .bind(to_millis(since))
            .fetch_all(&self.read)
            .await?;
        Ok(row.first().map(|r| r.try_get(0)).transpose()?.unwrap_or(0))
    }
}
