//! Slow-burn rules' last words and the degradations they opened. A rule's
//! check is replaced at each evaluation; a degradation is opened once per
//! rule (a partial unique index: two servers cannot both open one), cleared
//! once, and kept.

use super::{Store, StoreError, to_millis};
use crate::api::{Degradation, DegradationList, DegradationStatus, SlowBurnCheck, WatchState};
use chrono::{DateTime, Utc};
use sqlx::{Any, Row, Transaction};

/// Cleared degradations `GET /api/v1/degradations` lists.
const CLEARED_LISTED: usize = 50;

fn decode<T: serde::de::DeserializeOwned>(body: &str) -> Result<T, StoreError> {
    serde_json::from_str(body).map_err(|e| StoreError::Refused(format!("a stored degradation does not read: {e}")))
}

impl Store {
    /// Records a rule's last word.
    pub(crate) async fn save_check(
        &self,
        tx: &mut Transaction<'_, Any>,
        check: &SlowBurnCheck,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO slow_burn_checks (rule, state, checked_at, body) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (rule) DO UPDATE SET state = excluded.state, checked_at = excluded.checked_at, body = excluded.body",
        )
        .bind(check.rule.clone())
        .bind(check.state.as_str())
        .bind(to_millis(check.checked_at))
        .bind(serde_json::to_string(check).unwrap_or_default())
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// The rules' last words, by rule.
    pub async fn checks(&self) -> Result<Vec<SlowBurnCheck>, StoreError> {
        let rows = sqlx::query("SELECT body FROM slow_burn_checks ORDER BY rule").fetch_all(&self.read).await?;
        rows.iter().map(|r| decode(&r.try_get::<String, _>("body")?)).collect()
    }

    /// Whether a rule not in `rules` has a check or an open degradation.
    pub(crate) async fn holds_other_rules(&self, rules: &[String]) -> Result<bool, StoreError> {
        let list = serde_json::to_string(rules).unwrap_or_default();
        let other = self.backend().in_json_list("rule", 1);
        let sql = format!(
            "SELECT (SELECT COUNT(*) FROM slow_burn_checks WHERE NOT ({other})) \
             + (SELECT COUNT(*) FROM degradations WHERE status = 'open' AND NOT ({other}))"
        );
        let n: i64 = sqlx::query_scalar(sqlx::AssertSqlSafe(sql)).bind(list).fetch_one(&self.read).await?;
        Ok(n > 0)
    }

    /// Forgets the checks of rules no longer in the routing file; their open
    /// degradations, which nothing will clear now.
    pub(crate) async fn drop_checks_except(
        &self,
        tx: &mut Transaction<'_, Any>,
        rules: &[String],
    ) -> Result<Vec<Degradation>, StoreError> {
        let list = serde_json::to_string(rules).unwrap_or_default();
        let sql = format!("DELETE FROM slow_burn_checks WHERE NOT ({})", self.backend().in_json_list("rule", 1));
        sqlx::query(sqlx::AssertSqlSafe(sql)).bind(list.clone()).execute(&mut **tx).await?;
        let sql = format!(
            "SELECT id, body FROM degradations WHERE status = 'open' AND NOT ({})",
            self.backend().in_json_list("rule", 1)
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(list).fetch_all(&mut **tx).await?;
        rows.iter().map(degradation_from).collect()
    }

    /// The open degradation of `rule`, if any.
    pub(crate) async fn open_degradation(
        &self,
        tx: &mut Transaction<'_, Any>,
        rule: &str,
    ) -> Result<Option<Degradation>, StoreError> {
        let row = sqlx::query("SELECT id, body FROM degradations WHERE rule = $1 AND status = 'open'")
            .bind(rule.to_owned())
            .fetch_optional(&mut **tx)
            .await?;
        row.map(|r| degradation_from(&r)).transpose()
    }

    /// Opens `d` (its id is given here).
    pub(crate) async fn insert_degradation(
        &self,
        tx: &mut Transaction<'_, Any>,
        d: &Degradation,
    ) -> Result<i64, StoreError> {
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO degradations (rule, service, status, opened_at, body) VALUES ($1, $2, 'open', $3, $4) RETURNING id",
        )
        .bind(d.rule.clone())
        .bind(d.service.clone())
        .bind(to_millis(d.opened_at))
        .bind(serde_json::to_string(d).unwrap_or_default())
        .fetch_one(&mut **tx)
        .await?;
        Ok(id)
    }

    /// Clears the open degradation `id` at `at`.
    pub(crate) async fn clear_degradation(
        &self,
        tx: &mut Transaction<'_, Any>,
        d: &Degradation,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut cleared = d.clone();
        cleared.status = DegradationStatus::Cleared;
        cleared.cleared_at = Some(at);
        sqlx::query(
            "UPDATE degradations SET status = 'cleared', cleared_at = $1, body = $2 WHERE id = $3 AND status = 'open'",
        )
        .bind(to_millis(at))
        .bind(serde_json::to_string(&cleared).unwrap_or_default())
        .bind(d.id)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Every rule's last word, the open degradations and the latest cleared.
    pub async fn degradations(&self) -> Result<DegradationList, StoreError> {
        let mut list = DegradationList { checks: self.checks().await?, degradations: self.open_degradations().await? };
        let sql = format!(
            "SELECT id, body FROM degradations WHERE status = 'cleared' ORDER BY cleared_at DESC, id DESC LIMIT {CLEARED_LISTED}"
        );
        for row in sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(&self.read).await? {
            list.degradations.push(degradation_from(&row)?);
        }
        Ok(list)
    }

    /// What the incident list carries: open degradations, and the rules
    /// not healthy.
    pub async fn watch_list(&self) -> Result<DegradationList, StoreError> {
        let checks = self.checks().await?.into_iter().filter(|c| c.state != WatchState::Healthy).collect();
        Ok(DegradationList { checks, degradations: self.open_degradations().await? })
    }

    /// Open degradations, newest first.
    async fn open_degradations(&self) -> Result<Vec<Degradation>, StoreError> {
        let sql = "SELECT id, body FROM degradations WHERE status = 'open' ORDER BY opened_at DESC, id DESC";
        let rows = sqlx::query(sql).fetch_all(&self.read).await?;
        rows.iter().map(degradation_from).collect()
    }
}

fn degradation_from(row: &sqlx::any::AnyRow) -> Result<Degradation, StoreError> {
    let mut d: Degradation = decode(&row.try_get::<String, _>("body")?)?;
    d.id = row.try_get("id")?;
    Ok(d)
}
