//! What the attribution rollout's figures are computed from: hourly counts
//! of accepted and refused runs per origin system, the codes, the latest
//! refusal's fields, the breach incident, and who reached out to whom.

use super::{Store, StoreError, from_millis, to_millis};
use crate::api::{IncidentSummary, OutreachNote, ViolationSample};
use crate::rollout::{Activity, HISTORY_DAYS, NO_ORIGIN};
use chrono::{DateTime, Duration, Utc};
use sqlx::Row;
use std::collections::BTreeMap;

const LEGACY: &str = "(agent_id = 'legacy-unknown' OR origin_system_id = 'legacy-migration')";

fn columns(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| (*n).to_owned()).collect()
}

fn unreadable(e: serde_json::Error) -> StoreError {
    StoreError::Refused(format!("unreadable rollout figures: {e}"))
}

impl Store {
    /// The history the rollout looks at, up to `now`.
    pub async fn rollout_activity(&self, now: DateTime<Utc>) -> Result<Activity, StoreError> {
        let (from, to) = (to_millis(now - Duration::days(HISTORY_DAYS)), to_millis(now));
        let week = to_millis(now - Duration::days(7));
        let mut activity = Activity::default();
        // Tens of thousands of (service, hour) groups: each query answers
        // one JSON array, not a row per group (a row costs far more).
        let runs = "SELECT origin_system_id AS s, created_at / 3600000 AS h, COUNT(*) AS n FROM runs \
             WHERE created_at >= $1 AND created_at <= $2 GROUP BY origin_system_id, created_at / 3600000";
        let sql = self.backend().json_rows(runs, &columns(&["s", "h", "n"]));
        let raw: String =
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(from).bind(to).fetch_one(&self.read).await?.try_get(0)?;
        let rows: Vec<(String, i64, i64)> = serde_json::from_str(&raw).map_err(unreadable)?;
        for (name, hour, n) in rows {
            activity.services.entry(name).or_default().hours.entry(hour).or_default().accepted += n;
        }
        let refused = format!(
            "SELECT origin_system_id AS s, at / 3600000 AS h, subject, override_claimed AS o, \
             CASE WHEN {LEGACY} THEN 1 ELSE 0 END AS l, COUNT(*) AS n FROM attribution_rejections \
             WHERE at >= $1 AND at <= $2 GROUP BY origin_system_id, at / 3600000, subject, override_claimed, \
             CASE WHEN {LEGACY} THEN 1 ELSE 0 END"
        );
        let sql = self.backend().json_rows(&refused, &columns(&["s", "h", "subject", "o", "l", "n"]));
        let raw: String =
            sqlx::query(sqlx::AssertSqlSafe(sql)).bind(from).bind(to).fetch_one(&self.read).await?.try_get(0)?;
        let rows: Vec<(Option<String>, i64, String, i64, i64, i64)> = serde_json::from_str(&raw).map_err(unreadable)?;
        for (name, hour, subject, claimed, legacy, n) in rows {
            let name = name.unwrap_or_else(|| NO_ORIGIN.to_owned());
            let c = activity.services.entry(name).or_default().hours.entry(hour).or_default();
            c.refused += n;
            if claimed != 0 {
                c.overrides += n;
            }
            if legacy != 0 {
                c.legacy += n;
            }
            if subject == "run" {
                c.runs_refused += n;
            }
        }
        let codes = sqlx::query(
            "SELECT origin_system_id AS s, codes, COUNT(*) AS n FROM attribution_rejections \
             WHERE at >= $1 AND at <= $2 GROUP BY origin_system_id, codes",
        )
        .bind(week)
        .bind(to)
        .fetch_all(&self.read)
        .await?;
        for r in &codes {
            let name = r.try_get::<Option<String>, _>("s")?.unwrap_or_else(|| NO_ORIGIN.to_owned());
            let n: i64 = r.try_get("n")?;
            let s = activity.services.entry(name).or_default();
            for code in r.try_get::<String, _>("codes")?.split(',').filter(|c| !c.is_empty()) {
                *s.codes_7d.entry(code.to_owned()).or_insert(0) += n;
            }
        }
        for table in [
            "SELECT origin_system_id AS s, MIN(created_at) AS a, MAX(created_at) AS b FROM runs \
             WHERE created_at <= $1 GROUP BY origin_system_id",
            "SELECT origin_system_id AS s, MIN(at) AS a, MAX(at) AS b FROM attribution_rejections \
             WHERE at <= $1 GROUP BY origin_system_id",
        ] {
            for r in sqlx::query(table).bind(to).fetch_all(&self.read).await? {
                let name = r.try_get::<Option<String>, _>("s")?.unwrap_or_else(|| NO_ORIGIN.to_owned());
                let (a, b) = (from_millis(r.try_get("a")?), from_millis(r.try_get("b")?));
                let s = activity.services.entry(name).or_default();
                s.first_seen = Some(s.first_seen.map_or(a, |f| f.min(a)));
                s.last_seen = Some(s.last_seen.map_or(b, |l| l.max(b)));
            }
        }
        let latest = sqlx::query(
            "SELECT s, at, subject, codes, o, payload FROM (SELECT origin_system_id AS s, at, subject, codes, \
             override_claimed AS o, payload, ROW_NUMBER() OVER (PARTITION BY origin_system_id ORDER BY at DESC, id DESC) AS rn \
             FROM attribution_rejections WHERE at >= $1 AND at <= $2) latest WHERE rn = 1",
        )
        .bind(from)
        .bind(to)
        .fetch_all(&self.read)
        .await?;
        for r in &latest {
            let name = r.try_get::<Option<String>, _>("s")?.unwrap_or_else(|| NO_ORIGIN.to_owned());
            let payload: Option<String> = r.try_get("payload")?;
            let fields: BTreeMap<String, String> =
                payload.and_then(|p| serde_json::from_str(&p).ok()).unwrap_or_default();
            activity.services.entry(name).or_default().latest_violation = Some(ViolationSample {
                at: from_millis(r.try_get("at")?),
                subject: r.try_get("subject")?,
                codes: r
                    .try_get::<String, _>("codes")?
                    .split(',')
                    .filter(|c| !c.is_empty())
                    .map(str::to_owned)
                    .collect(),
                override_claimed: r.try_get::<i64, _>("o")? != 0,
                fields,
            });
        }
        let sql = format!(
            "SELECT created_at / 3600000 AS h, COUNT(*) AS n FROM runs WHERE {LEGACY} AND created_at >= $1 \
             AND created_at <= $2 GROUP BY created_at / 3600000"
        );
        for r in sqlx::query(sqlx::AssertSqlSafe(sql)).bind(from).bind(to).fetch_all(&self.read).await? {
            activity.legacy_stored.insert(r.try_get("h")?, r.try_get("n")?);
        }
        Ok(activity)
    }

    /// The latest outreach to each service, from the audit log.
    pub async fn outreach_notes(&self) -> Result<BTreeMap<String, OutreachNote>, StoreError> {
        let rows = sqlx::query(
            "SELECT at, actor, target, details FROM audit_log WHERE action = 'attribution_outreach' ORDER BY seq",
        )
        .fetch_all(&self.read)
        .await?;
        let mut notes = BTreeMap::new();
        for r in &rows {
            let target: String = r.try_get("target")?;
            let Some(service) = target.strip_prefix("service:") else { continue };
            let details: serde_json::Value =
                serde_json::from_str(&r.try_get::<String, _>("details")?).unwrap_or_default();
            let to = details["to"].as_array().into_iter().flatten().filter_map(|v| v.as_str().map(str::to_owned));
            notes.insert(
                service.to_owned(),
                OutreachNote { at: from_millis(r.try_get("at")?), by: r.try_get("actor")?, to: to.collect() },
            );
        }
        Ok(notes)
    }

    /// The incident titled so that is still open, else the latest one.
    pub async fn latest_incident_titled(&self, title: &str) -> Result<Option<IncidentSummary>, StoreError> {
        let id: Option<i64> = sqlx::query(
            "SELECT id FROM incidents WHERE title = $1 ORDER BY CASE WHEN status = 'resolved' THEN 1 ELSE 0 END, id DESC LIMIT 1",
        )
        .bind(title.to_owned())
        .fetch_optional(&self.read)
        .await?
        .map(|r| r.try_get(0))
        .transpose()?;
        match id {
            Some(id) => Ok(self.get_incident(id).await?.map(|r| r.summary)),
            None => Ok(None),
        }
    }

    /// Whether a notification with this level was ever queued (a weekly
    /// status goes out once, whichever server is first).
    pub async fn notification_level_exists(&self, level: &str) -> Result<bool, StoreError> {
        Ok(sqlx::query("SELECT 1 FROM notifications WHERE incident_id = 0 AND level = $1 LIMIT 1")
            .bind(level.to_owned())
            .fetch_optional(&self.read)
            .await?
            .is_some())
    }
}
