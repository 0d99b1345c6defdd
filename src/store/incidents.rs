use super::events::{json_list, list};
use super::{Store, StoreError, from_millis, to_millis};
use crate::api::{IncidentStatus, IncidentSummary, Resolution, Severity, Signature, StatusCounts, Verdict};
use crate::incident::PastIncident;
use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::{Any, FromRow, Row, Transaction};

/// An incident as stored: its summary and what only the server needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IncidentRecord {
    pub summary: IncidentSummary,
    pub last_error_at: DateTime<Utc>,
    pub created_by: Option<String>,
    pub signature: Option<Signature>,
    /// How a person resolved it; None while open, or when it ended by itself.
    pub resolution: Option<Resolution>,
    /// Who set its severity by hand: then new events no longer recompute it.
    pub severity_set_by: Option<String>,
}

impl IncidentRecord {
    /// A new open incident: nobody responding yet, nothing counted.
    pub fn opened(id: i64, title: String, severity: Severity, resources: Vec<String>, at: DateTime<Utc>) -> Self {
        IncidentRecord {
            summary: IncidentSummary {
                id,
                title,
                severity,
                status: IncidentStatus::Open,
                started_at: at,
                updated_at: at,
                resolved_at: None,
                duration_seconds: 0,
                resources,
                responders: vec![],
                coordinator: None,
                escalation_level: 0,
                auto_recovered: false,
                flagged_for_review: false,
                event_count: 0,
                version: 0,
                silenced: None,
                merged_into: None,
            },
            last_error_at: at,
            created_by: None,
            signature: None,
            resolution: None,
            severity_set_by: None,
        }
    }
}

const INCIDENT_COLUMNS: &str = "id, title, severity, status, started_at, updated_at, last_error_at, resolved_at, resources, \
     responders, coordinator, escalation_level, auto_recovered, flagged_for_review, event_count, created_by, signature, version, \
     resolution, severity_set_by, silence, merged_into";

/// An incident's row as stored.
#[derive(sqlx::FromRow)]
struct IncidentRow {
    id: i64,
    title: String,
    severity: String,
    status: String,
    started_at: i64,
    updated_at: i64,
    last_error_at: i64,
    resolved_at: Option<i64>,
    resources: String,
    responders: String,
    coordinator: Option<String>,
    escalation_level: i64,
    auto_recovered: i64,
    flagged_for_review: i64,
    event_count: i64,
    created_by: Option<String>,
    signature: Option<String>,
    version: i64,
    resolution: Option<String>,
    severity_set_by: Option<String>,
    silence: Option<String>,
    merged_into: Option<i64>,
}

fn incident_from_row(row: &AnyRow) -> Result<IncidentRecord, StoreError> {
    let row = IncidentRow::from_row(row)?;
    let started_at = from_millis(row.started_at);
    let updated_at = from_millis(row.updated_at);
    let resolved_at = row.resolved_at.map(from_millis);
    let end = resolved_at.unwrap_or(updated_at);
    let summary = IncidentSummary {
        id: row.id,
        title: row.title,
        severity: Severity::parse(&row.severity).unwrap_or(Severity::Medium),
        status: IncidentStatus::parse(&row.status).unwrap_or(IncidentStatus::Open),
        started_at,
        updated_at,
        resolved_at,
        duration_seconds: (end - started_at).num_seconds().max(0),
        resources: json_list(&row.resources),
        responders: json_list(&row.responders),
        coordinator: row.coordinator,
        escalation_level: row.escalation_level,
        auto_recovered: row.auto_recovered != 0,
        flagged_for_review: row.flagged_for_review != 0,
        event_count: row.event_count,
        version: row.version,
        silenced: row.silence.and_then(|s| serde_json::from_str(&s).ok()),
        merged_into: row.merged_into,
    };
    Ok(IncidentRecord {
        summary,
        last_error_at: from_millis(row.last_error_at),
        created_by: row.created_by,
        signature: row.signature.and_then(|s| serde_json::from_str(&s).ok()),
        resolution: row.resolution.and_then(|s| serde_json::from_str(&s).ok()),
        severity_set_by: row.severity_set_by,
    })
}

fn summaries(rows: &[AnyRow]) -> Result<Vec<IncidentSummary>, StoreError> {
    rows.iter().map(|r| incident_from_row(r).map(|i| i.summary)).collect()
}

/// Position after the last incident of a page: newest first.
pub fn encode_incident_cursor(s: &IncidentSummary) -> String {
    format!("{}.{}", s.started_at.timestamp_millis(), s.id)
}

pub fn decode_incident_cursor(raw: &str) -> Option<(i64, i64)> {
    let (ms, id) = raw.split_once('.')?;
    Some((ms.parse().ok()?, id.parse().ok()?))
}

impl Store {
    /// An incident's change version as stored now; None: no such incident.
    pub async fn incident_version(&self, id: i64) -> Result<Option<i64>, StoreError> {
        let row =
            sqlx::query("SELECT version FROM incidents WHERE id = $1").bind(id).fetch_optional(&self.read).await?;
        row.map(|r| r.try_get("version")).transpose().map_err(Into::into)
    }

    pub async fn get_incident(&self, id: i64) -> Result<Option<IncidentRecord>, StoreError> {
        let sql = format!("SELECT {INCIDENT_COLUMNS} FROM incidents WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(&self.read).await?;
        row.as_ref().map(incident_from_row).transpose()
    }

    /// Gives these incidents the change-feed version `version`: something
    /// about them a console shows changed (their paging), not the incident.
    pub(crate) async fn set_versions(
        &self,
        tx: &mut Transaction<'_, Any>,
        ids: &[i64],
        version: i64,
    ) -> Result<(), StoreError> {
        for chunk in ids.chunks(500) {
            let list: Vec<String> = (2..chunk.len() + 2).map(|i| format!("${i}")).collect();
            let sql = format!("UPDATE incidents SET version = $1 WHERE id IN ({})", list.join(", "));
            let q = chunk.iter().fold(sqlx::query(sqlx::AssertSqlSafe(sql)).bind(version), |q, id| q.bind(*id));
            q.execute(&mut **tx).await?;
        }
        Ok(())
    }

    /// Several incidents at once, in no particular order; unknown ids are skipped.
    pub async fn incidents_by_id(&self, ids: &[i64]) -> Result<Vec<IncidentRecord>, StoreError> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(500) {
            let list: Vec<String> = (1..=chunk.len()).map(|i| format!("${i}")).collect();
            let sql = format!("SELECT {INCIDENT_COLUMNS} FROM incidents WHERE id IN ({})", list.join(", "));
            let q = chunk.iter().fold(sqlx::query(sqlx::AssertSqlSafe(sql)), |q, id| q.bind(*id));
            for row in q.fetch_all(&self.read).await? {
                out.push(incident_from_row(&row)?);
            }
        }
        Ok(out)
    }

    /// The newest incident with this title that is not resolved.
    pub(crate) async fn open_incident_titled(
        &self,
        tx: &mut Transaction<'_, Any>,
        title: &str,
    ) -> Result<Option<IncidentRecord>, StoreError> {
        let sql = format!(
            "SELECT {INCIDENT_COLUMNS} FROM incidents WHERE title = $1 AND status <> 'resolved' ORDER BY id DESC LIMIT 1"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(title.to_owned()).fetch_optional(&mut **tx).await?;
        row.as_ref().map(incident_from_row).transpose()
    }

    pub(crate) async fn get_incident_in(
        &self,
        tx: &mut Transaction<'_, Any>,
        id: i64,
    ) -> Result<Option<IncidentRecord>, StoreError> {
        let sql = format!("SELECT {INCIDENT_COLUMNS} FROM incidents WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(&mut **tx).await?;
        row.as_ref().map(incident_from_row).transpose()
    }

    /// The incidents of `ids` as stored, in one query per 500: ingest reads
    /// every incident a batch will touch at once.
    pub(crate) async fn get_incidents_in(
        &self,
        tx: &mut Transaction<'_, Any>,
        ids: &[i64],
    ) -> Result<Vec<IncidentRecord>, StoreError> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(500) {
            let sql = format!(
                "SELECT {INCIDENT_COLUMNS} FROM incidents WHERE id IN ({})",
                super::events::list(1, chunk.len())
            );
            let q = chunk.iter().fold(sqlx::query(sqlx::AssertSqlSafe(sql)), |q, id| q.bind(*id));
            for row in q.fetch_all(&mut **tx).await? {
                out.push(incident_from_row(&row)?);
            }
        }
        Ok(out)
    }

    pub(crate) async fn save_incident(
        &self,
        tx: &mut Transaction<'_, Any>,
        r: &IncidentRecord,
    ) -> Result<(), StoreError> {
        self.save_incidents(tx, &[r]).await
    }

    /// Writes incidents (new or changed) and their resources: one
    /// statement for the incidents and one for their resources per chunk,
    /// whatever their number, as ingest changes many at once.
    pub(crate) async fn save_incidents(
        &self,
        tx: &mut Transaction<'_, Any>,
        records: &[&IncidentRecord],
    ) -> Result<(), StoreError> {
        const WIDTH: usize = 21;
        for chunk in records.chunks(self.backend().rows_per_insert()) {
            let sql = format!(
                "INSERT INTO incidents (id, title, severity, status, started_at, updated_at, last_error_at, resolved_at, resources, \
                 responders, coordinator, escalation_level, auto_recovered, flagged_for_review, event_count, created_by, signature, \
                 version, resolution, severity_set_by, merged_into) VALUES {} \
                 ON CONFLICT (id) DO UPDATE SET title = excluded.title, severity = excluded.severity, status = excluded.status, \
                 updated_at = excluded.updated_at, last_error_at = excluded.last_error_at, resolved_at = excluded.resolved_at, \
                 resources = excluded.resources, responders = excluded.responders, coordinator = excluded.coordinator, \
                 escalation_level = excluded.escalation_level, auto_recovered = excluded.auto_recovered, \
                 flagged_for_review = excluded.flagged_for_review, event_count = excluded.event_count, \
                 signature = excluded.signature, version = excluded.version, resolution = excluded.resolution, \
                 severity_set_by = excluded.severity_set_by, merged_into = excluded.merged_into",
                super::events::placeholders(chunk.len(), WIDTH)
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for r in chunk {
                let s = &r.summary;
                q = q
                    .bind(s.id)
                    .bind(s.title.clone())
                    .bind(s.severity.as_str())
                    .bind(s.status.as_str())
                    .bind(to_millis(s.started_at))
                    .bind(to_millis(s.updated_at))
                    .bind(to_millis(r.last_error_at))
                    .bind(s.resolved_at.map(to_millis))
                    .bind(serde_json::to_string(&s.resources).unwrap_or_default())
                    .bind(serde_json::to_string(&s.responders).unwrap_or_default())
                    .bind(s.coordinator.clone())
                    .bind(s.escalation_level)
                    .bind(i64::from(s.auto_recovered))
                    .bind(i64::from(s.flagged_for_review))
                    .bind(s.event_count)
                    .bind(r.created_by.clone())
                    .bind(r.signature.as_ref().and_then(|sig| serde_json::to_string(sig).ok()))
                    .bind(s.version)
                    .bind(r.resolution.as_ref().and_then(|res| serde_json::to_string(res).ok()))
                    .bind(r.severity_set_by.clone())
                    .bind(s.merged_into);
            }
            q.execute(&mut **tx).await?;
        }
        let resources: Vec<(i64, &String)> =
            records.iter().flat_map(|r| r.summary.resources.iter().map(|res| (r.summary.id, res))).collect();
        for chunk in resources.chunks(self.backend().rows_per_insert() * 4) {
            let sql = format!(
                "INSERT INTO incident_resources (incident_id, resource) VALUES {} ON CONFLICT DO NOTHING",
                super::events::placeholders(chunk.len(), 2)
            );
            let q = chunk
                .iter()
                .fold(sqlx::query(sqlx::AssertSqlSafe(sql)), |q, (id, resource)| q.bind(*id).bind((*resource).clone()));
            q.execute(&mut **tx).await?;
        }
        Ok(())
    }

    /// Newest first, optionally one status, after `cursor`.
    pub async fn list_incidents(
        &self,
        status: Option<IncidentStatus>,
        cursor: Option<(i64, i64)>,
        limit: u32,
    ) -> Result<(Vec<IncidentSummary>, Option<String>), StoreError> {
        let sql = format!(
            "SELECT {INCIDENT_COLUMNS} FROM incidents WHERE (CAST($1 AS TEXT) IS NULL OR status = $1) \
             AND (CAST($2 AS BIGINT) IS NULL OR started_at < $2 OR (started_at = $2 AND id < $3)) \
             ORDER BY started_at DESC, id DESC LIMIT $4"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(status.map(|s| s.as_str()))
            .bind(cursor.map(|c| c.0))
            .bind(cursor.map_or(0, |c| c.1))
            .bind(i64::from(limit) + 1)
            .fetch_all(&self.read)
            .await?;
        let mut list = summaries(&rows)?;
        let next = if list.len() > limit as usize {
            list.truncate(limit as usize);
            list.last().map(encode_incident_cursor)
        } else {
            None
        };
        Ok((list, next))
    }

    /// Incidents changed after `version`, oldest change first, and the
    /// version the caller has everything up to. A page never splits one
    /// version's changes, so asking again from that version loses nothing.
    pub async fn incidents_changed_after(
        &self,
        version: i64,
        limit: u32,
    ) -> Result<(Vec<IncidentSummary>, Option<i64>), StoreError> {
        let sql = format!("SELECT {INCIDENT_COLUMNS} FROM incidents WHERE version > $1 ORDER BY version, id LIMIT $2");
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(version)
            .bind(i64::from(limit) + 1)
            .fetch_all(&self.read)
            .await?;
        let mut list = summaries(&rows)?;
        if list.len() <= limit as usize {
            return Ok((list, None));
        }
        let cut = list[limit as usize].version;
        list.retain(|i| i.version < cut);
        if list.is_empty() {
            // More than a page changed in one version: that version whole.
            let sql = format!("SELECT {INCIDENT_COLUMNS} FROM incidents WHERE version = $1 ORDER BY id");
            let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(cut).fetch_all(&self.read).await?;
            list = summaries(&rows)?;
            return Ok((list, Some(cut)));
        }
        let upto = list.last().map(|i| i.version);
        Ok((list, upto))
    }

    pub async fn status_counts(&self) -> Result<StatusCounts, StoreError> {
        let rows =
            sqlx::query("SELECT status, COUNT(*) AS n FROM incidents GROUP BY status").fetch_all(&self.read).await?;
        let mut counts = StatusCounts::default();
        for row in rows {
            let n: i64 = row.try_get("n")?;
            match IncidentStatus::parse(&row.try_get::<String, _>("status")?) {
                Some(IncidentStatus::Open) => counts.open = n,
                Some(IncidentStatus::Acknowledged) => counts.acknowledged = n,
                Some(IncidentStatus::Resolved) => counts.resolved = n,
                None => {}
            }
        }
        Ok(counts)
    }

    /// The highest incident id and change version stored.
    pub(crate) async fn incident_high_water(&self) -> Result<(i64, i64), StoreError> {
        let row = sqlx::query("SELECT COALESCE(MAX(id), 0) AS id, COALESCE(MAX(version), 0) AS version FROM incidents")
            .fetch_one(&self.read)
            .await?;
        Ok((row.try_get("id")?, row.try_get("version")?))
    }

    /// When other incidents on `resources` started.
    pub async fn incident_starts(
        &self,
        resources: &[String],
        except: i64,
    ) -> Result<Vec<(String, DateTime<Utc>)>, StoreError> {
        if resources.is_empty() {
            return Ok(vec![]);
        }
        let sql = format!(
            "SELECT r.resource, i.started_at FROM incident_resources r JOIN incidents i ON i.id = r.incident_id \
             WHERE r.resource IN ({}) AND r.incident_id <> $1 ORDER BY i.started_at DESC LIMIT 1000",
            list(2, resources.len().min(200))
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(except);
        for r in resources.iter().take(200) {
            q = q.bind(r.clone());
        }
        q.fetch_all(&self.read).await?.iter().map(|r| Ok((r.try_get(0)?, from_millis(r.try_get(1)?)))).collect()
    }

    /// Flash incidents (resolved by themselves within two minutes) that
    /// started from `from` to before `to`: (resource, when it started).
    pub async fn flash_incidents(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<(String, DateTime<Utc>)>, StoreError> {
        let rows = sqlx::query(
            "SELECT r.resource, i.started_at FROM incidents i JOIN incident_resources r ON r.incident_id = i.id \
             WHERE i.auto_recovered = 1 AND i.started_at >= $1 AND i.started_at < $2 LIMIT 100000",
        )
        .bind(to_millis(from))
        .bind(to_millis(to))
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(|r| Ok((r.try_get(0)?, from_millis(r.try_get(1)?)))).collect()
    }

    /// The duplicates merged into incident `id`, by id.
    pub async fn merged_from(&self, id: i64) -> Result<Vec<i64>, StoreError> {
        let rows = sqlx::query("SELECT id FROM incidents WHERE merged_into = $1 ORDER BY id LIMIT 1000")
            .bind(id)
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
    }

    /// Every duplicate merged into `from` now points to `into`, so that a
    /// survivor's members are always one step from it.
    pub(crate) async fn repoint_merged(
        &self,
        tx: &mut Transaction<'_, Any>,
        from: i64,
        into: i64,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE incidents SET merged_into = $1 WHERE merged_into = $2")
            .bind(into)
            .bind(from)
            .execute(&mut **tx)
            .await?;
        Ok(())
    }

    /// Other incidents on any of `resources` that started from `from` to
    /// `to`, oldest first.
    pub async fn incidents_near(
        &self,
        resources: &[String],
        from: DateTime<Utc>,
        to: DateTime<Utc>,
        except: i64,
    ) -> Result<Vec<i64>, StoreError> {
        if resources.is_empty() {
            return Ok(vec![]);
        }
        let sql = format!(
            "SELECT DISTINCT i.id, i.started_at FROM incident_resources r JOIN incidents i ON i.id = r.incident_id \
             WHERE r.resource IN ({}) AND i.id <> $1 AND i.started_at >= $2 AND i.started_at <= $3 \
             ORDER BY i.started_at, i.id LIMIT 50",
            list(4, resources.len().min(200))
        );
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(except).bind(to_millis(from)).bind(to_millis(to));
        for r in resources.iter().take(200) {
            q = q.bind(r.clone());
        }
        q.fetch_all(&self.read).await?.iter().map(|r| Ok(r.try_get(0)?)).collect()
    }

    /// Earlier incidents with a known signature, for pattern matching.
    pub async fn past_signatures(&self, before: DateTime<Utc>) -> Result<Vec<PastIncident>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, started_at, signature FROM incidents WHERE signature IS NOT NULL AND started_at < $1 \
             ORDER BY started_at DESC LIMIT 2000",
        )
        .bind(to_millis(before))
        .fetch_all(&self.read)
        .await?;
        let mut past = Vec::new();
        for row in rows {
            let raw: String = row.try_get("signature")?;
            if let Ok(signature) = serde_json::from_str(&raw) {
                past.push(PastIncident {
                    id: row.try_get("id")?,
                    started_at: from_millis(row.try_get("started_at")?),
                    signature,
                });
            }
        }
        Ok(past)
    }

    /// Stores an incident's signature without touching its change version.
    pub async fn set_signature(&self, id: i64, signature: &Signature) -> Result<(), StoreError> {
        sqlx::query("UPDATE incidents SET signature = $1 WHERE id = $2")
            .bind(serde_json::to_string(signature).unwrap_or_default())
            .bind(id)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    pub async fn verdicts(&self, incident_id: i64) -> Result<Vec<(String, Verdict, String)>, StoreError> {
        let rows = sqlx::query("SELECT event_id, verdict, actor_id FROM candidate_verdicts WHERE incident_id = $1")
            .bind(incident_id)
            .fetch_all(&self.read)
            .await?;
        rows.iter()
            .filter_map(|r| {
                let verdict = Verdict::parse(&r.try_get::<String, _>("verdict").ok()?)?;
                Some(Ok((r.try_get("event_id").ok()?, verdict, r.try_get("actor_id").ok()?)))
            })
            .collect()
    }

    /// The candidates of `incident_id` whose verdict was given while their
    /// attribution was disputed.
    pub async fn verdicts_while_disputed(
        &self,
        incident_id: i64,
    ) -> Result<std::collections::BTreeSet<String>, StoreError> {
        let rows = sqlx::query("SELECT event_id FROM candidate_verdicts WHERE incident_id = $1 AND while_disputed = 1")
            .bind(incident_id)
            .fetch_all(&self.read)
            .await?;
        rows.iter().map(|r| Ok(r.try_get("event_id")?)).collect()
    }

    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn save_verdict(
        &self,
        tx: &mut Transaction<'_, Any>,
        incident_id: i64,
        event_id: &str,
        verdict: Verdict,
        actor_id: &str,
        at: DateTime<Utc>,
        while_disputed: bool,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO candidate_verdicts (incident_id, event_id, verdict, actor_id, at, while_disputed) \
             VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (incident_id, event_id) DO UPDATE SET verdict = $3, actor_id = $4, at = $5, while_disputed = $6",
        )
        .bind(incident_id)
        .bind(event_id.to_owned())
        .bind(verdict.as_str())
        .bind(actor_id.to_owned())
        .bind(to_millis(at))
        .bind(i32::from(while_disputed))
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Causes humans confirmed in other incidents: (incident, action type, resource).
    pub async fn past_causes(&self, except: i64) -> Result<Vec<(i64, String, String)>, StoreError> {
        let rows = sqlx::query(
            "SELECT v.incident_id, e.action_type, e.resource FROM candidate_verdicts v JOIN events e ON e.event_id = v.event_id \
             WHERE v.verdict = 'confirmed' AND v.incident_id <> $1 AND e.action_type IS NOT NULL AND e.resource IS NOT NULL \
             ORDER BY v.at DESC LIMIT 500",
        )
        .bind(except)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?))).collect()
    }
}
