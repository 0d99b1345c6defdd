//! Patterns as records (seed 10.1–10.4): a signature, when it was first and
//! last seen, and the incidents that matched it, each with its level and
//! score; and, per incident, the cause its analysis put first.

use super::{Store, StoreError, from_millis, to_millis};
use crate::api::{IncidentStatus, MatchLevel, PatternIncident, Signature};
use chrono::{DateTime, Utc};
use sqlx::{Any, Row, Transaction};

#[derive(Debug, Clone, PartialEq)]
pub struct StoredPattern {
    pub id: i64,
    pub signature: Signature,
    pub first_seen: DateTime<Utc>,
    pub last_seen: DateTime<Utc>,
    pub escalated_incident: Option<i64>,
}

fn pattern_from_row(r: &sqlx::any::AnyRow) -> Result<Option<StoredPattern>, StoreError> {
    let raw: String = r.try_get("signature")?;
    let Ok(signature) = serde_json::from_str(&raw) else { return Ok(None) };
    Ok(Some(StoredPattern {
        id: r.try_get("id")?,
        signature,
        first_seen: from_millis(r.try_get("first_seen")?),
        last_seen: from_millis(r.try_get("last_seen")?),
        escalated_incident: r.try_get::<Option<i64>, _>("escalated_incident")?.filter(|id| *id > 0),
    }))
}

const COLUMNS: &str = "id, signature, first_seen, last_seen, escalated_incident";

impl Store {
    /// Every stored pattern, most recently seen first.
    pub async fn patterns(&self) -> Result<Vec<StoredPattern>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM patterns ORDER BY last_seen DESC, id DESC LIMIT 2000");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(&self.read).await?;
        Ok(rows.iter().map(pattern_from_row).collect::<Result<Vec<_>, _>>()?.into_iter().flatten().collect())
    }

    pub async fn pattern(&self, id: i64) -> Result<Option<StoredPattern>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM patterns WHERE id = $1");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_all(&self.read).await?;
        Ok(match rows.first() {
            Some(r) => pattern_from_row(r)?,
            None => None,
        })
    }

    /// The pattern with this key, created when there is none, seen from
    /// `first` to `last`; its id.
    pub(crate) async fn upsert_pattern(
        &self,
        tx: &mut Transaction<'_, Any>,
        key: &str,
        signature: &Signature,
        (first, last): (DateTime<Utc>, DateTime<Utc>),
    ) -> Result<i64, StoreError> {
        let row = sqlx::query(
            "INSERT INTO patterns (key, signature, first_seen, last_seen) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (key) DO UPDATE SET \
             last_seen = CASE WHEN excluded.last_seen > patterns.last_seen THEN excluded.last_seen ELSE patterns.last_seen END, \
             first_seen = CASE WHEN excluded.first_seen < patterns.first_seen THEN excluded.first_seen ELSE patterns.first_seen END \
             RETURNING id",
        )
        .bind(key.to_owned())
        .bind(serde_json::to_string(signature).unwrap_or_default())
        .bind(to_millis(first))
        .bind(to_millis(last))
        .fetch_one(&mut **tx)
        .await?;
        Ok(row.try_get(0)?)
    }

    /// A stored pattern was seen again at `at`.
    pub(crate) async fn saw_pattern(
        &self,
        tx: &mut Transaction<'_, Any>,
        id: i64,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE patterns SET first_seen = CASE WHEN $1 < first_seen THEN $1 ELSE first_seen END, \
             last_seen = CASE WHEN $1 > last_seen THEN $1 ELSE last_seen END WHERE id = $2",
        )
        .bind(to_millis(at))
        .bind(id)
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Replaces an incident's links to patterns.
    pub(crate) async fn link_incident(
        &self,
        tx: &mut Transaction<'_, Any>,
        incident_id: i64,
        links: &[(i64, MatchLevel, u8)],
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM pattern_incidents WHERE incident_id = $1")
            .bind(incident_id)
            .execute(&mut **tx)
            .await?;
        for (pattern_id, level, score) in links {
            sqlx::query(
                "INSERT INTO pattern_incidents (pattern_id, incident_id, level, score, at) VALUES ($1, $2, $3, $4, $5) \
                 ON CONFLICT (pattern_id, incident_id) DO UPDATE SET level = $3, score = $4",
            )
            .bind(*pattern_id)
            .bind(incident_id)
            .bind(level.as_str())
            .bind(i64::from(*score))
            .bind(to_millis(now))
            .execute(&mut **tx)
            .await?;
        }
        Ok(())
    }

    /// Links one more incident to a pattern, leaving its other links.
    pub(crate) async fn add_link(
        &self,
        tx: &mut Transaction<'_, Any>,
        pattern_id: i64,
        incident_id: i64,
        level: MatchLevel,
        score: u8,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO pattern_incidents (pattern_id, incident_id, level, score, at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (pattern_id, incident_id) DO NOTHING",
        )
        .bind(pattern_id)
        .bind(incident_id)
        .bind(level.as_str())
        .bind(i64::from(score))
        .bind(to_millis(now))
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// The pattern an incident belongs to: its exact or similar link.
    pub async fn pattern_of(&self, incident_id: i64) -> Result<Option<i64>, StoreError> {
        let row = sqlx::query(
            "SELECT pattern_id FROM pattern_incidents WHERE incident_id = $1 AND level <> 'possible' \
             ORDER BY score DESC, pattern_id LIMIT 1",
        )
        .bind(incident_id)
        .fetch_all(&self.read)
        .await?;
        Ok(row.first().map(|r| r.try_get(0)).transpose()?)
    }

    /// The incidents linked to a pattern, oldest first.
    pub async fn pattern_incidents(&self, pattern_id: i64) -> Result<Vec<PatternIncident>, StoreError> {
        let rows = sqlx::query(
            "SELECT p.incident_id, p.level, p.score, i.title, i.started_at, i.status, i.undetermined \
             FROM pattern_incidents p JOIN incidents i ON i.id = p.incident_id \
             WHERE p.pattern_id = $1 ORDER BY i.started_at, i.id LIMIT 500",
        )
        .bind(pattern_id)
        .fetch_all(&self.read)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            out.push(PatternIncident {
                incident_id: r.try_get("incident_id")?,
                title: r.try_get("title")?,
                started_at: from_millis(r.try_get("started_at")?),
                status: IncidentStatus::parse(&r.try_get::<String, _>("status")?).unwrap_or(IncidentStatus::Open),
                level: MatchLevel::parse(&r.try_get::<String, _>("level")?).unwrap_or(MatchLevel::Possible),
                score: r.try_get::<i64, _>("score")?.clamp(0, 100) as u8,
                undetermined: r.try_get::<i64, _>("undetermined")? != 0,
            });
        }
        Ok(out)
    }

    /// Records the cause an incident's analysis puts first, and whether it
    /// found none.
    pub(crate) async fn set_cause(
        &self,
        incident_id: i64,
        cause_event_id: Option<&str>,
        undetermined: bool,
    ) -> Result<(), StoreError> {
        // A person's resolution decides the cause; the analysis only while
        // there is none.
        sqlx::query("UPDATE incidents SET cause_event_id = $1, undetermined = $2 WHERE id = $3 AND resolution IS NULL")
            .bind(cause_event_id.map(str::to_owned))
            .bind(i64::from(undetermined))
            .bind(incident_id)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// The cause a person's resolution settles, in its transaction:
    /// confirmed (the event), undetermined, or none (not an incident).
    pub(crate) async fn settle_cause(
        &self,
        tx: &mut Transaction<'_, Any>,
        incident_id: i64,
        cause_event_id: Option<&str>,
        undetermined: bool,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE incidents SET cause_event_id = $1, undetermined = $2 WHERE id = $3")
            .bind(cause_event_id.map(str::to_owned))
            .bind(i64::from(undetermined))
            .bind(incident_id)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// Other incidents whose analysis puts `event_id` first, oldest first.
    pub async fn sharing_cause(&self, event_id: &str, except: i64) -> Result<Vec<i64>, StoreError> {
        let rows = sqlx::query(
            "SELECT id FROM incidents WHERE cause_event_id = $1 AND id <> $2 ORDER BY started_at, id LIMIT 50",
        )
        .bind(event_id.to_owned())
        .bind(except)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
    }

    /// Claims a pattern's escalation (seed 10.7): true for the one caller
    /// that gets it.
    pub(crate) async fn claim_escalation(&self, pattern_id: i64) -> Result<bool, StoreError> {
        let done =
            sqlx::query("UPDATE patterns SET escalated_incident = 0 WHERE id = $1 AND escalated_incident IS NULL")
                .bind(pattern_id)
                .execute(&self.write)
                .await?;
        Ok(done.rows_affected() == 1)
    }

    pub(crate) async fn set_escalation(&self, pattern_id: i64, incident_id: Option<i64>) -> Result<(), StoreError> {
        sqlx::query("UPDATE patterns SET escalated_incident = $1 WHERE id = $2")
            .bind(incident_id)
            .bind(pattern_id)
            .execute(&self.write)
            .await?;
        Ok(())
    }
}
