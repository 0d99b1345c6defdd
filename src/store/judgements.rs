//! What the machine said of a candidate when a human judged it (seed 11.2),
//! and the verdicts scoring learns from (3.7).

use super::{Store, StoreError, from_millis, to_millis};
use crate::api::{Band, Verdict};
use crate::learning::{Judged, Judgement};
use chrono::{DateTime, Utc};
use sqlx::{Any, FromRow, Row, Transaction};

/// A verdict's row with what was judged.
#[derive(sqlx::FromRow)]
struct JudgementRow {
    incident_id: i64,
    event_id: String,
    verdict: String,
    actor_id: String,
    at: i64,
    scored: i64,
    band: String,
    cause_type: Option<String>,
    evidence: Option<String>,
    read_ms: Option<i64>,
}

impl Store {
    pub(crate) async fn save_judgement(
        &self,
        tx: &mut Transaction<'_, Any>,
        incident_id: i64,
        event_id: &str,
        judged: &Judged,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE candidate_verdicts SET scored = $1, band = $2, cause_type = $3, cause_resource = $4, \
             evidence = $5, read_ms = $6 WHERE incident_id = $7 AND event_id = $8",
        )
        .bind(i64::from(judged.scored))
        .bind(judged.band.as_str())
        .bind(judged.cause_type.clone())
        .bind(judged.cause_resource.clone())
        .bind(judged.evidence.to_string())
        .bind(judged.read_ms)
        .bind(incident_id)
        .bind(event_id.to_owned())
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Verdicts given from `since` to `until` (both included: a verdict of
    /// this very millisecond counts) with what was judged; `by`:
    /// one person's only.
    pub async fn judgements(
        &self,
        since: DateTime<Utc>,
        until: DateTime<Utc>,
        by: Option<&str>,
    ) -> Result<Vec<Judgement>, StoreError> {
        let rows = sqlx::query(
            "SELECT incident_id, event_id, verdict, actor_id, at, scored, band, cause_type, evidence, read_ms \
             FROM candidate_verdicts WHERE scored IS NOT NULL AND at >= $1 AND at <= $2 \
             AND ($3 = '' OR actor_id = $3) ORDER BY at LIMIT 100000",
        )
        .bind(to_millis(since))
        .bind(to_millis(until))
        .bind(by.unwrap_or_default().to_owned())
        .fetch_all(&self.read)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let row = JudgementRow::from_row(&r)?;
            let (Some(verdict), Some(band)) = (Verdict::parse(&row.verdict), Band::parse(&row.band)) else {
                continue;
            };
            let evidence_lines = row
                .evidence
                .and_then(|e| serde_json::from_str::<serde_json::Value>(&e).ok())
                .and_then(|v| v.as_array().map(Vec::len))
                .unwrap_or(0);
            out.push(Judgement {
                incident_id: row.incident_id,
                event_id: row.event_id,
                verdict,
                actor_id: row.actor_id,
                at: from_millis(row.at),
                scored: row.scored.clamp(0, 100) as u8,
                band,
                cause_type: row.cause_type,
                evidence_lines,
                read_ms: row.read_ms,
            });
        }
        Ok(out)
    }

    /// Causes humans rejected in other incidents: (action type, resource, times).
    pub async fn past_rejections(&self, except: i64) -> Result<Vec<(String, String, u32)>, StoreError> {
        let rows = sqlx::query(
            "SELECT e.action_type, e.resource, COUNT(*) FROM candidate_verdicts v JOIN events e ON e.event_id = v.event_id \
             WHERE v.verdict = 'rejected' AND v.incident_id <> $1 AND e.action_type IS NOT NULL AND e.resource IS NOT NULL \
             GROUP BY e.action_type, e.resource LIMIT 1000",
        )
        .bind(except)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get::<i64, _>(2)?.clamp(0, u32::MAX as i64) as u32)))
            .collect()
    }

    /// When `person` last gave a verdict on incident `id`.
    pub async fn last_verdict_at(&self, person: &str, id: i64) -> Result<Option<DateTime<Utc>>, StoreError> {
        let rows = sqlx::query("SELECT MAX(at) FROM candidate_verdicts WHERE incident_id = $1 AND actor_id = $2")
            .bind(id)
            .bind(person.to_owned())
            .fetch_all(&self.read)
            .await?;
        let last = rows.first().map(|r| r.try_get::<Option<i64>, _>(0)).transpose()?.flatten();
        Ok(last.map(from_millis))
    }

    /// When `person` first read incident `id`'s detail, by the access log.
    pub async fn first_read(&self, person: &str, id: i64) -> Result<Option<DateTime<Utc>>, StoreError> {
        let row = sqlx::query(
            "SELECT MIN(at) FROM access_log WHERE principal = $1 AND what = 'incident_detail' AND target = $2",
        )
        .bind(person.to_owned())
        .bind(format!("incident:{id}"))
        .fetch_all(&self.read)
        .await?;
        let first = row.first().map(|r| r.try_get::<Option<i64>, _>(0)).transpose()?.flatten();
        Ok(first.map(from_millis))
    }
}
