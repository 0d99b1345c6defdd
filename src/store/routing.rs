//! Routing decisions as they changed: an incident's history, and how often
//! each rule matched (for rule hygiene, seed 004 5.2).

use super::{Store, StoreError, from_millis, to_millis};
use crate::api::RoutingDecision;
use chrono::{DateTime, Utc};
use sqlx::{Any, Row, Transaction};

/// How a rule has been used since some time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleUse {
    /// None: the defaults.
    pub rule: Option<String>,
    pub incidents: i64,
    pub last_matched: DateTime<Utc>,
}

impl Store {
    /// Records `decision` for the incident unless it is the one recorded
    /// last, in the caller's transaction; whether it was recorded.
    pub(crate) async fn record_routing_in(
        &self,
        tx: &mut Transaction<'_, Any>,
        incident_id: i64,
        decision: &RoutingDecision,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let text = serde_json::to_string(decision).unwrap_or_default();
        let last =
            sqlx::query("SELECT decision FROM routing_decisions WHERE incident_id = $1 ORDER BY id DESC LIMIT 1")
                .bind(incident_id)
                .fetch_optional(&mut **tx)
                .await?;
        if last.map(|r| r.try_get::<String, _>("decision")).transpose()?.as_deref() == Some(text.as_str()) {
            return Ok(false);
        }
        sqlx::query("INSERT INTO routing_decisions (incident_id, at, rule, decision) VALUES ($1, $2, $3, $4)")
            .bind(incident_id)
            .bind(to_millis(at))
            .bind(decision.rule_matched.clone())
            .bind(text)
            .execute(&mut **tx)
            .await?;
        Ok(true)
    }

    /// The routing decision recorded last for the incident, in the caller's
    /// transaction.
    pub(crate) async fn latest_routing_in(
        &self,
        tx: &mut Transaction<'_, Any>,
        incident_id: i64,
    ) -> Result<Option<RoutingDecision>, StoreError> {
        let last =
            sqlx::query("SELECT decision FROM routing_decisions WHERE incident_id = $1 ORDER BY id DESC LIMIT 1")
                .bind(incident_id)
                .fetch_optional(&mut **tx)
                .await?;
        Ok(last.map(|r| r.try_get::<String, _>("decision")).transpose()?.and_then(|t| serde_json::from_str(&t).ok()))
    }

    /// Every routing decision the incident was given, oldest first.
    pub async fn routing_history(&self, incident_id: i64) -> Result<Vec<(DateTime<Utc>, RoutingDecision)>, StoreError> {
        let rows = sqlx::query("SELECT at, decision FROM routing_decisions WHERE incident_id = $1 ORDER BY id")
            .bind(incident_id)
            .fetch_all(&self.read)
            .await?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let Ok(decision) = serde_json::from_str(&row.try_get::<String, _>("decision")?) else { continue };
            out.push((from_millis(row.try_get("at")?), decision));
        }
        Ok(out)
    }

    /// For each rule that matched since `since`: on how many incidents, and when last.
    pub async fn rule_usage(&self, since: DateTime<Utc>) -> Result<Vec<RuleUse>, StoreError> {
        let rows = sqlx::query(
            "SELECT rule, COUNT(DISTINCT incident_id) AS incidents, MAX(at) AS last FROM routing_decisions \
             WHERE at >= $1 GROUP BY rule ORDER BY rule",
        )
        .bind(to_millis(since))
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(RuleUse {
                    rule: r.try_get("rule")?,
                    incidents: r.try_get("incidents")?,
                    last_matched: from_millis(r.try_get("last")?),
                })
            })
            .collect()
    }
}
