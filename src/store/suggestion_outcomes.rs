//! Each suggestion shown on an incident, and what became of it (seed 2.2,
//! 9.4): acted on, superseded, or ignored until the incident resolved.

use super::{Store, StoreError, from_millis, to_millis};
use crate::api::{InterventionKind, Suggestion, SuggestionKind, SuggestionState};
use crate::learning::outcomes::SuggestionOutcome;
use chrono::{DateTime, Utc};
use sqlx::{Any, Row, Transaction};

/// A suggestion's identity on its incident: its kind and title.
pub fn suggestion_key(s: &Suggestion) -> String {
    format!("{}:{}", s.kind.as_str(), s.title)
}

/// What a suggestion's intervention would act on.
fn target(s: &Suggestion) -> Option<String> {
    match s.intervention? {
        InterventionKind::PauseAgent | InterventionKind::ResumeAgent => s.agent_id.clone(),
        InterventionKind::DisableTool => s.tool.clone(),
        InterventionKind::TriggerRollback => s.resource.clone(),
        _ => None,
    }
}

impl Store {
    /// Brings an incident's tracked suggestions up to what it shows now:
    /// new ones are shown from `now`, those no longer shown are superseded,
    /// and on a resolved incident what is still shown was ignored.
    pub(crate) async fn sync_suggestions(
        &self,
        tx: &mut Transaction<'_, Any>,
        incident_id: i64,
        shown: &[Suggestion],
        resolved: bool,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let at = to_millis(now);
        let keys: Vec<String> = shown.iter().map(suggestion_key).collect();
        if !resolved {
            let rows = sqlx::query("SELECT key FROM suggestion_outcomes WHERE incident_id = $1 AND state = 'shown'")
                .bind(incident_id)
                .fetch_all(&mut **tx)
                .await?;
            for row in rows {
                let key: String = row.try_get(0)?;
                if !keys.contains(&key) {
                    sqlx::query(
                        "UPDATE suggestion_outcomes SET state = 'superseded', closed_at = $1 \
                         WHERE incident_id = $2 AND key = $3 AND state = 'shown'",
                    )
                    .bind(at)
                    .bind(incident_id)
                    .bind(key)
                    .execute(&mut **tx)
                    .await?;
                }
            }
        }
        for (s, key) in shown.iter().zip(keys) {
            sqlx::query(
                "INSERT INTO suggestion_outcomes (incident_id, key, kind, title, intervention, target, first_shown, state) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, 'shown') \
                 ON CONFLICT (incident_id, key) DO UPDATE SET state = 'shown', closed_at = NULL \
                 WHERE suggestion_outcomes.state = 'superseded'",
            )
            .bind(incident_id)
            .bind(key)
            .bind(s.kind.as_str())
            .bind(s.title.clone())
            .bind(s.intervention.map(|k| k.as_str()))
            .bind(target(s))
            .bind(at)
            .execute(&mut **tx)
            .await?;
        }
        if resolved {
            // Resolved with them on screen: ignored.
            sqlx::query(
                "UPDATE suggestion_outcomes SET state = 'ignored', closed_at = $1 WHERE incident_id = $2 AND state = 'shown'",
            )
            .bind(at)
            .bind(incident_id)
            .execute(&mut **tx)
            .await?;
        }
        Ok(())
    }

    /// An intervention on an incident carries out the suggestions shown for
    /// it that name it (and its agent, tool or resource).
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn suggestions_acted(
        &self,
        tx: &mut Transaction<'_, Any>,
        incident_id: i64,
        kind: InterventionKind,
        targets: &[&str],
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let done = sqlx::query(
            "UPDATE suggestion_outcomes SET state = 'acted', acted_kind = $1, acted_by = $2, closed_at = $3 \
             WHERE incident_id = $4 AND state = 'shown' AND intervention = $1 \
             AND (target IS NULL OR target = $5 OR target = $6 OR target = $7)",
        )
        .bind(kind.as_str())
        .bind(by.to_owned())
        .bind(to_millis(now))
        .bind(incident_id)
        .bind(targets.first().copied().unwrap_or_default().to_owned())
        .bind(targets.get(1).copied().unwrap_or_default().to_owned())
        .bind(targets.get(2).copied().unwrap_or_default().to_owned())
        .execute(&mut **tx)
        .await?;
        Ok(done.rows_affected())
    }

    /// Suggestions first shown since `since`, or shown on `incidents`.
    pub async fn suggestion_outcomes(
        &self,
        since: Option<DateTime<Utc>>,
        incidents: &[i64],
    ) -> Result<Vec<SuggestionOutcome>, StoreError> {
        let columns = "incident_id, kind, title, first_shown, state, acted_kind, acted_by, closed_at";
        let rows = match since {
            Some(since) => {
                let sql = format!(
                    "SELECT {columns} FROM suggestion_outcomes WHERE first_shown >= $1 ORDER BY first_shown LIMIT 100000"
                );
                sqlx::query(sqlx::AssertSqlSafe(sql)).bind(to_millis(since)).fetch_all(&self.read).await?
            }
            None if incidents.is_empty() => return Ok(vec![]),
            None => {
                let ids: Vec<String> = incidents.iter().take(500).map(i64::to_string).collect();
                let sql = format!(
                    "SELECT {columns} FROM suggestion_outcomes WHERE incident_id IN ({}) ORDER BY first_shown",
                    ids.join(", ")
                );
                sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(&self.read).await?
            }
        };
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let (Some(kind), Some(state)) = (
                SuggestionKind::parse(&r.try_get::<String, _>("kind")?),
                SuggestionState::parse(&r.try_get::<String, _>("state")?),
            ) else {
                continue;
            };
            out.push(SuggestionOutcome {
                incident_id: r.try_get("incident_id")?,
                kind,
                title: r.try_get("title")?,
                first_shown: from_millis(r.try_get("first_shown")?),
                state,
                acted_kind: r.try_get::<Option<String>, _>("acted_kind")?.as_deref().and_then(InterventionKind::parse),
                acted_by: r.try_get("acted_by")?,
                closed_at: r.try_get::<Option<i64>, _>("closed_at")?.map(from_millis),
            });
        }
        Ok(out)
    }
}
