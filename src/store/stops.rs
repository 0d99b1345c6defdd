//! Stops wider or narrower than one agent (a run, a prefix of agents, the
//! fleet), kept until lifted; and when each agent's SDK last asked for its
//! controls. One agent's own stop is its pause (`agents.rs`).

use super::{Store, StoreError, from_millis, to_millis};
use crate::api::{AgentStop, StopScope, StopSummary};
use chrono::{DateTime, Duration, Utc};
use sqlx::{Any, FromRow, Row, Transaction};

/// An SDK that has not asked for its controls for this long is out of
/// contact: a healthy one asks again at least every 30 seconds.
pub const OUT_OF_CONTACT: Duration = Duration::seconds(75);

/// A stop's row as stored.
#[derive(sqlx::FromRow)]
struct StopRow {
    stopped_by: String,
    reason: Option<String>,
    since: i64,
    until: Option<i64>,
    scope: String,
    target: String,
    incident_id: Option<i64>,
}

fn stop_from(r: &sqlx::any::AnyRow) -> Result<AgentStop, StoreError> {
    let row = StopRow::from_row(r)?;
    Ok(AgentStop {
        by: row.stopped_by,
        reason: row.reason,
        since: from_millis(row.since),
        until: row.until.map(from_millis),
        scope: StopScope::parse(&row.scope).unwrap_or(StopScope::Fleet),
        target: row.target,
        incident_id: row.incident_id,
    })
}

/// The SQL condition on `events` (and the values it binds after the first
/// `from` placeholders) for the actions a stop covers.
fn covered(stop: &AgentStop, column: &str, at: usize) -> (String, Option<String>) {
    match stop.scope {
        StopScope::Run => (format!("run_id = ${at}"), Some(stop.target.clone())),
        StopScope::Agent => (format!("{column} = ${at}"), Some(stop.target.clone())),
        StopScope::Agents => {
            let prefix = stop.target.trim_end_matches('*').to_owned();
            (format!("substr({column}, 1, {}) = ${at}", prefix.chars().count()), Some(prefix))
        }
        StopScope::Fleet => ("1 = 1".to_owned(), None),
    }
}

impl Store {
    /// Stops (not one agent's) not lifted and not ended by `now`, each with
    /// its run's agent when known.
    pub(crate) async fn wide_stops(&self, now: DateTime<Utc>) -> Result<Vec<(AgentStop, Option<String>)>, StoreError> {
        let rows = self.stops_in_force(now).await?;
        rows.iter().map(|r| Ok((stop_from(r)?, r.try_get("agent_id")?))).collect()
    }

    /// The rows of the stops not lifted and not ended by `now`, oldest first.
    async fn stops_in_force(&self, now: DateTime<Utc>) -> Result<Vec<sqlx::any::AnyRow>, StoreError> {
        Ok(sqlx::query(
            "SELECT scope, target, agent_id, incident_id, stopped_by, reason, since, until, refused FROM stops \
             WHERE lifted_at IS NULL AND (until IS NULL OR until > $1) ORDER BY id",
        )
        .bind(to_millis(now))
        .fetch_all(&self.read)
        .await?)
    }

    /// Records a stop wider or narrower than one agent (`run_agent`: the
    /// run's agent, when known).
    pub(crate) async fn insert_stop(
        &self,
        tx: &mut Transaction<'_, Any>,
        stop: &AgentStop,
        run_agent: Option<&str>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO stops (scope, target, agent_id, incident_id, stopped_by, reason, since, until) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(stop.scope.as_str().to_owned())
        .bind(stop.target.clone())
        .bind(run_agent.map(str::to_owned))
        .bind(stop.incident_id)
        .bind(stop.by.clone())
        .bind(stop.reason.clone())
        .bind(to_millis(stop.since))
        .bind(stop.until.map(to_millis))
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Lifts the stop in force on (`scope`, `target`); whether there was one.
    pub(crate) async fn lift_stop(
        &self,
        tx: &mut Transaction<'_, Any>,
        (scope, target): (StopScope, &str),
        by: &str,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE stops SET lifted_at = $3, lifted_by = $4 WHERE scope = $1 AND target = $2 \
             AND lifted_at IS NULL AND (until IS NULL OR until > $3)",
        )
        .bind(scope.as_str().to_owned())
        .bind(target.to_owned())
        .bind(to_millis(at))
        .bind(by.to_owned())
        .execute(&mut **tx)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// The agent a run belongs to, if the run is known.
    pub(crate) async fn run_agent(&self, run_id: &str) -> Result<Option<String>, StoreError> {
        let row = sqlx::query("SELECT agent_id FROM runs WHERE run_id = $1")
            .bind(run_id.to_owned())
            .fetch_optional(&self.read)
            .await?;
        Ok(row.map(|r| r.try_get(0)).transpose()?)
    }

    /// Attempts refused under the wide stop in force on (`scope`,
    /// `target`); whether there is one to count them against.
    pub async fn count_stop_refusals(
        &self,
        (scope, target): (StopScope, &str),
        attempts: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE stops SET refused = refused + $3 WHERE scope = $1 AND target = $2 \
             AND lifted_at IS NULL AND (until IS NULL OR until > $4)",
        )
        .bind(scope.as_str().to_owned())
        .bind(target.to_owned())
        .bind(attempts)
        .bind(to_millis(Utc::now()))
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Every stop in force, one agent's pauses included, with whether it
    /// holds: actions recorded since, attempts refused, covered agents out
    /// of contact. Oldest first.
    pub async fn list_stops(&self, now: DateTime<Utc>) -> Result<Vec<StopSummary>, StoreError> {
        let mut stops: Vec<(AgentStop, i64)> = Vec::new();
        for r in &self.stops_in_force(now).await? {
            stops.push((stop_from(r)?, r.try_get("refused")?));
        }
        for (agent, control, _) in self.agent_states().await? {
            if let Some(stop) = control.stop(&agent).filter(|_| control.paused_at(now)) {
                let refused = sqlx::query("SELECT refused_since_stop FROM agents WHERE agent_id = $1")
                    .bind(agent.clone())
                    .fetch_one(&self.read)
                    .await?
                    .try_get(0)?;
                stops.push((stop, refused));
            }
        }
        stops.sort_by_key(|(s, _)| s.since);
        let mut listed = Vec::with_capacity(stops.len());
        for (stop, refused) in stops {
            let (condition, value) = covered(&stop, "agent_id", 2);
            let sql = format!(
                "SELECT COUNT(*) FROM events WHERE occurred_at >= $1 AND {condition} AND flags LIKE '%acted_while_stopped%'"
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(to_millis(stop.since));
            if let Some(v) = value {
                q = q.bind(v);
            }
            let acted: i64 = q.fetch_one(&self.read).await?.try_get(0)?;
            let out_of_contact = self.out_of_contact_under(&stop, now).await?;
            listed.push(StopSummary { stop, acted, refused, out_of_contact });
        }
        Ok(listed)
    }

    /// Agents a stop covers whose SDK has asked for its controls before, but
    /// not for [`OUT_OF_CONTACT`].
    async fn out_of_contact_under(&self, stop: &AgentStop, now: DateTime<Utc>) -> Result<i64, StoreError> {
        let stale = to_millis(now - OUT_OF_CONTACT);
        let (condition, value) = match stop.scope {
            StopScope::Run => {
                ("agent_id = (SELECT agent_id FROM runs WHERE run_id = $2)".to_owned(), Some(stop.target.clone()))
            }
            _ => covered(stop, "agent_id", 2),
        };
        let sql = format!("SELECT COUNT(*) FROM agents WHERE last_contact < $1 AND {condition}");
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(stale);
        if let Some(v) = value {
            q = q.bind(v);
        }
        Ok(q.fetch_one(&self.read).await?.try_get(0)?)
    }

    /// Notes when agents' SDKs last asked for their controls (an agent not
    /// yet known is added).
    /// When each agent's SDK last asked for its controls, and which SDK it
    /// said it is (kept when it did not say).
    pub async fn record_contacts(
        &self,
        contacts: &[(String, DateTime<Utc>, Option<String>)],
    ) -> Result<(), StoreError> {
        for chunk in contacts.chunks(200) {
            let sql = format!(
                "INSERT INTO agents (agent_id, last_seen, last_contact, sdk) VALUES {} ON CONFLICT (agent_id) DO UPDATE SET \
                 last_contact = CASE WHEN agents.last_contact > excluded.last_contact THEN agents.last_contact \
                 ELSE excluded.last_contact END, sdk = COALESCE(excluded.sdk, agents.sdk)",
                super::events::placeholders(chunk.len(), 4)
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (agent, at, sdk) in chunk {
                q = q.bind(agent.clone()).bind(to_millis(*at)).bind(to_millis(*at)).bind(sdk.clone());
            }
            q.execute(&self.write).await?;
        }
        Ok(())
    }
}
