//! Small records: idempotency keys, catalog versions, interventions and
//! attribution rejections.

use super::{Store, StoreError, from_millis, to_millis};
use crate::api::{InterventionKind, InterventionNote};
use crate::catalog::CatalogDocument;
use crate::routing::RoutingDocument;
use chrono::{DateTime, Utc};
use sqlx::{Any, Row, Transaction};

/// The configuration documents kept with every version.
#[derive(Debug, Clone, Copy)]
enum Versioned {
    Catalog,
    Routing,
}

impl Versioned {
    fn table(self) -> &'static str {
        match self {
            Versioned::Catalog => "catalog_versions",
            Versioned::Routing => "routing_versions",
        }
    }

    fn name(self) -> &'static str {
        match self {
            Versioned::Catalog => "catalog",
            Versioned::Routing => "routing",
        }
    }
}

/// What a request with an `Idempotency-Key` finds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IdempotencyClaim {
    /// First use: go ahead, then call `finish_idempotency`.
    Claimed,
    /// Done before with the same request: answer the same.
    Replay { status: u16, body: String },
    /// The same key is being processed right now.
    InFlight,
    /// The key was used for a different request.
    Mismatch,
}

/// One intervention as recorded beside its audit entry.
#[derive(Debug, Clone, Copy)]
pub struct InterventionRecord<'a> {
    pub kind: &'a str,
    pub incident_id: Option<i64>,
    pub agent_id: Option<&'a str>,
    pub actor_id: &'a str,
    pub reason: Option<&'a str>,
    pub details: &'a serde_json::Value,
    pub at: DateTime<Utc>,
}

/// One row of the attribution figures' inputs.
#[derive(Debug, Clone)]
pub struct Rejection {
    pub subject: &'static str,
    pub agent_id: Option<String>,
    pub origin_system_id: Option<String>,
    pub codes: Vec<String>,
    pub override_claimed: bool,
    /// The attribution fields as sent (see migration 0012): never a secret.
    pub payload: serde_json::Value,
}

impl Store {
    pub async fn claim_idempotency(
        &self,
        principal: &str,
        key: &str,
        request_hash: &str,
    ) -> Result<IdempotencyClaim, StoreError> {
        let inserted = sqlx::query(
            "INSERT INTO idempotency_keys (principal, idem_key, request_hash, state, created_at) VALUES ($1, $2, $3, 'in_flight', $4) \
             ON CONFLICT (principal, idem_key) DO NOTHING",
        )
        .bind(principal.to_owned())
        .bind(key.to_owned())
        .bind(request_hash.to_owned())
        .bind(to_millis(Utc::now()))
        .execute(&self.write)
        .await?
        .rows_affected();
        if inserted == 1 {
            return Ok(IdempotencyClaim::Claimed);
        }
        let row = sqlx::query(
            "SELECT request_hash, state, status, body FROM idempotency_keys WHERE principal = $1 AND idem_key = $2",
        )
        .bind(principal.to_owned())
        .bind(key.to_owned())
        .fetch_one(&self.read)
        .await?;
        if row.try_get::<String, _>("request_hash")? != request_hash {
            return Ok(IdempotencyClaim::Mismatch);
        }
        match row.try_get::<String, _>("state")?.as_str() {
            "done" => Ok(IdempotencyClaim::Replay {
                status: row.try_get::<Option<i64>, _>("status")?.unwrap_or(200) as u16,
                body: row.try_get::<Option<String>, _>("body")?.unwrap_or_default(),
            }),
            _ => Ok(IdempotencyClaim::InFlight),
        }
    }

    pub async fn finish_idempotency(
        &self,
        principal: &str,
        key: &str,
        status: u16,
        body: &str,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE idempotency_keys SET state = 'done', status = $1, body = $2 WHERE principal = $3 AND idem_key = $4",
        )
        .bind(i64::from(status))
        .bind(body.to_owned())
        .bind(principal.to_owned())
        .bind(key.to_owned())
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// Lets a retry proceed after a failure that changed nothing.
    pub async fn release_idempotency(&self, principal: &str, key: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM idempotency_keys WHERE principal = $1 AND idem_key = $2 AND state = 'in_flight'")
            .bind(principal.to_owned())
            .bind(key.to_owned())
            .execute(&self.write)
            .await?;
        Ok(())
    }

    pub async fn latest_catalog(&self) -> Result<Option<(i64, CatalogDocument)>, StoreError> {
        self.latest_document(Versioned::Catalog).await
    }

    pub(crate) async fn save_catalog(
        &self,
        tx: &mut Transaction<'_, Any>,
        doc: &CatalogDocument,
        by: &str,
        at: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        self.save_document(tx, Versioned::Catalog, doc, by, at).await
    }

    pub async fn latest_routing(&self) -> Result<Option<(i64, RoutingDocument)>, StoreError> {
        self.latest_document(Versioned::Routing).await
    }

    pub(crate) async fn save_routing(
        &self,
        tx: &mut Transaction<'_, Any>,
        doc: &RoutingDocument,
        by: &str,
        at: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        self.save_document(tx, Versioned::Routing, doc, by, at).await
    }

    /// The newest version of a configuration document, with its number.
    async fn latest_document<T: serde::de::DeserializeOwned>(
        &self,
        kind: Versioned,
    ) -> Result<Option<(i64, T)>, StoreError> {
        let sql = format!("SELECT version, document FROM {} ORDER BY version DESC LIMIT 1", kind.table());
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_optional(&self.read).await?;
        match row {
            None => Ok(None),
            Some(r) => {
                let raw: String = r.try_get("document")?;
                let doc = serde_json::from_str(&raw)
                    .map_err(|e| StoreError::Refused(format!("stored {} is unreadable: {e}", kind.name())))?;
                Ok(Some((r.try_get("version")?, doc)))
            }
        }
    }

    /// Stores a new version of a configuration document; its number.
    async fn save_document<T: serde::Serialize>(
        &self,
        tx: &mut Transaction<'_, Any>,
        kind: Versioned,
        doc: &T,
        by: &str,
        at: DateTime<Utc>,
    ) -> Result<i64, StoreError> {
        let table = kind.table();
        let sql = format!("SELECT COALESCE(MAX(version), 0) AS v FROM {table}");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_one(&mut **tx).await?;
        let version = row.try_get::<i64, _>("v")? + 1;
        let sql = format!("INSERT INTO {table} (version, document, updated_at, updated_by) VALUES ($1, $2, $3, $4)");
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(version)
            .bind(serde_json::to_string(doc).unwrap_or_default())
            .bind(to_millis(at))
            .bind(by.to_owned())
            .execute(&mut **tx)
            .await?;
        Ok(version)
    }

    pub(crate) async fn record_intervention(
        &self,
        tx: &mut Transaction<'_, Any>,
        record: &InterventionRecord<'_>,
    ) -> Result<(), StoreError> {
        let InterventionRecord { kind, incident_id, agent_id, actor_id, reason, details, at } = *record;
        sqlx::query(
            "INSERT INTO interventions (kind, incident_id, agent_id, actor_id, reason, details, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(kind.to_owned())
        .bind(incident_id)
        .bind(agent_id.map(str::to_owned))
        .bind(actor_id.to_owned())
        .bind(reason.map(str::to_owned))
        .bind(details.to_string())
        .bind(to_millis(at))
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// The interventions on an incident, oldest first.
    /// `members`: the incident and the duplicates merged into it.
    pub async fn incident_interventions(&self, members: &[i64]) -> Result<Vec<InterventionNote>, StoreError> {
        let sql = format!(
            "SELECT kind, actor_id, reason, agent_id, details, created_at FROM interventions \
             WHERE incident_id IN ({}) ORDER BY created_at, id",
            super::events::list(1, members.len())
        );
        let q = members.iter().fold(sqlx::query(sqlx::AssertSqlSafe(sql)), |q, id| q.bind(*id));
        let rows = q.fetch_all(&self.read).await?;
        let mut notes = Vec::with_capacity(rows.len());
        for row in rows {
            let Some(kind) = InterventionKind::parse(&row.try_get::<String, _>("kind")?) else { continue };
            let details: serde_json::Value =
                serde_json::from_str(&row.try_get::<String, _>("details")?).unwrap_or_default();
            let detail = match kind {
                InterventionKind::Resolve => {
                    details["resolution"].as_str().map(|r| match details["event_id"].as_str() {
                        Some(event) => format!("({}: {event})", r.replace('_', " ")),
                        None => format!("({})", r.replace('_', " ")),
                    })
                }
                InterventionKind::ChangeSeverity => match (details["from"].as_str(), details["to"].as_str()) {
                    (Some(from), Some(to)) => Some(format!("{from} → {to}")),
                    _ => None,
                },
                _ => None,
            };
            let detail = detail.or_else(|| {
                ["command", "tool", "rule", "level", "created_incident", "responder", "merged"]
                    .iter()
                    .find_map(|k| match &details[k] {
                        serde_json::Value::String(s) => Some(s.clone()),
                        serde_json::Value::Number(n) => Some(n.to_string()),
                        _ => None,
                    })
                    .map(|v| match kind {
                        InterventionKind::Escalate => format!("to level {v}"),
                        InterventionKind::CreateIncident => format!("#{v}"),
                        _ => v,
                    })
            });
            notes.push(InterventionNote {
                kind,
                actor_id: row.try_get("actor_id")?,
                at: from_millis(row.try_get("created_at")?),
                reason: row.try_get("reason")?,
                agent_id: row.try_get("agent_id")?,
                detail,
                via: (details["attribution"]["agent_id"] == crate::slack::SLACK_AGENT).then(|| "slack".to_owned()),
            });
        }
        Ok(notes)
    }

    pub async fn record_rejections(&self, rejections: &[Rejection], at: DateTime<Utc>) -> Result<(), StoreError> {
        let now = to_millis(at);
        for r in rejections {
            sqlx::query(
                "INSERT INTO attribution_rejections (at, subject, agent_id, origin_system_id, codes, override_claimed, payload) VALUES ($1, $2, $3, $4, $5, $6, $7)",
            )
            .bind(now)
            .bind(r.subject)
            .bind(r.agent_id.clone())
            .bind(r.origin_system_id.clone())
            .bind(r.codes.join(","))
            .bind(i64::from(r.override_claimed))
            .bind(r.payload.to_string())
            .execute(&self.write)
            .await?;
        }
        Ok(())
    }

    /// Rejections since `since`: (subject, codes, origin, override claimed).
    pub async fn rejections_since(
        &self,
        since: DateTime<Utc>,
    ) -> Result<Vec<(String, String, Option<String>, bool)>, StoreError> {
        let rows = sqlx::query(
            "SELECT subject, codes, origin_system_id, override_claimed FROM attribution_rejections WHERE at >= $1",
        )
        .bind(to_millis(since))
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?, r.try_get::<i64, _>(3)? != 0))).collect()
    }

    /// Runs accepted since `since`, and runs carrying a legacy sentinel (must be 0).
    pub async fn run_acceptance(&self, since: DateTime<Utc>) -> Result<(i64, i64), StoreError> {
        let accepted: i64 = sqlx::query("SELECT COUNT(*) FROM runs WHERE created_at >= $1")
            .bind(to_millis(since))
            .fetch_one(&self.read)
            .await?
            .try_get(0)?;
        let legacy: i64 = sqlx::query(
            "SELECT COUNT(*) FROM runs WHERE agent_id = 'legacy-unknown' OR origin_system_id = 'legacy-migration'",
        )
        .fetch_one(&self.read)
        .await?
        .try_get(0)?;
        Ok((accepted, legacy))
    }
}
