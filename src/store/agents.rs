use super::events::{json_list, list, placeholders};
use super::{Store, StoreError, from_millis, to_millis};
pub use crate::api::AgentSummary;
use chrono::{DateTime, Duration, Utc};
use sqlx::{Any, FromRow, Row, Transaction};
use std::collections::{BTreeMap, BTreeSet};

/// When an agent was last seen, and its latest sequence number with its time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AgentSighting {
    pub last_seen: DateTime<Utc>,
    pub latest_seq: Option<(i64, DateTime<Utc>)>,
    /// Events and errors in this batch, counted into the current hour.
    pub events: i64,
    pub errors: i64,
}

/// What interventions have done to an agent.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AgentControl {
    pub paused: bool,
    /// When the pause in force began, and who made it.
    pub paused_since: Option<DateTime<Utc>>,
    pub paused_by: Option<String>,
    pub paused_reason: Option<String>,
    /// When the pause ends by itself.
    pub paused_until: Option<DateTime<Utc>>,
    /// The incident it was made from.
    pub paused_for: Option<i64>,
    pub disabled_tools: BTreeSet<String>,
}

impl AgentControl {
    /// Agent `agent`'s own stop, in the API's words, while it holds or
    /// is yet to end by itself.
    pub fn stop(&self, agent: &str) -> Option<crate::api::AgentStop> {
        self.paused.then(|| crate::api::AgentStop {
            by: self.paused_by.clone().unwrap_or_default(),
            reason: self.paused_reason.clone(),
            since: self.paused_since.unwrap_or_default(),
            until: self.paused_until,
            scope: crate::api::StopScope::Agent,
            target: agent.to_owned(),
            incident_id: self.paused_for,
        })
    }

    /// Whether its pause holds at `at` (not ended by itself).
    pub fn paused_at(&self, at: DateTime<Utc>) -> bool {
        self.paused && self.paused_until.is_none_or(|until| at < until)
    }
}

/// An agent's controls as stored, with the latest pause's reason and incident.
#[derive(sqlx::FromRow)]
struct ControlRow {
    agent_id: String,
    status: String,
    paused_at: Option<i64>,
    paused_by: Option<String>,
    paused_until: Option<i64>,
    paused_reason: Option<String>,
    paused_for: Option<i64>,
    disabled_tools: String,
    last_seq: Option<i64>,
    last_seq_at: Option<i64>,
}

/// An agent's row as the agents list shows it.
#[derive(sqlx::FromRow)]
struct SummaryRow {
    agent_id: String,
    status: String,
    paused_at: Option<i64>,
    paused_by: Option<String>,
    paused_until: Option<i64>,
    disabled_tools: String,
    last_seen: i64,
    refused_since_stop: i64,
    last_contact: Option<i64>,
    sdk: Option<String>,
}

impl Store {
    /// Records that agents were seen (and their latest sequence numbers).
    pub(crate) async fn touch_agents(
        &self,
        tx: &mut Transaction<'_, Any>,
        seen: &BTreeMap<String, AgentSighting>,
    ) -> Result<(), StoreError> {
        let sightings: Vec<(&String, &AgentSighting)> = seen.iter().collect();
        for chunk in sightings.chunks(200) {
            let sql = format!(
                "INSERT INTO agents (agent_id, last_seen, last_seq, last_seq_at) VALUES {} \
                 ON CONFLICT (agent_id) DO UPDATE SET \
                 last_seen = CASE WHEN agents.last_seen > excluded.last_seen THEN agents.last_seen ELSE excluded.last_seen END, \
                 last_seq = CASE WHEN excluded.last_seq IS NULL OR (agents.last_seq IS NOT NULL AND agents.last_seq > excluded.last_seq) \
                            THEN agents.last_seq ELSE excluded.last_seq END, \
                 last_seq_at = CASE WHEN excluded.last_seq IS NULL OR (agents.last_seq IS NOT NULL AND agents.last_seq > excluded.last_seq) \
                            THEN agents.last_seq_at ELSE excluded.last_seq_at END",
                placeholders(chunk.len(), 4)
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (agent, sighting) in chunk {
                q = q
                    .bind((*agent).clone())
                    .bind(to_millis(sighting.last_seen))
                    .bind(sighting.latest_seq.map(|s| s.0))
                    .bind(sighting.latest_seq.map(|s| to_millis(s.1)));
            }
            q.execute(&mut **tx).await?;
            let sql = format!(
                "INSERT INTO agent_hourly (agent_id, hour, events, errors) VALUES {} ON CONFLICT (agent_id, hour) DO UPDATE SET \
                 events = agent_hourly.events + excluded.events, errors = agent_hourly.errors + excluded.errors",
                placeholders(chunk.len(), 4)
            );
            let hour = Utc::now().timestamp_millis() / 3_600_000;
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
            for (agent, sighting) in chunk {
                q = q.bind((*agent).clone()).bind(hour).bind(sighting.events).bind(sighting.errors);
            }
            q.execute(&mut **tx).await?;
        }
        Ok(())
    }

    pub(crate) async fn set_agent_control(
        &self,
        tx: &mut Transaction<'_, Any>,
        agent: &str,
        control: &AgentControl,
        by: &str,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let tools: Vec<&String> = control.disabled_tools.iter().collect();
        sqlx::query(
            "INSERT INTO agents (agent_id, status, paused_at, paused_by, disabled_tools, last_seen, paused_until) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (agent_id) DO UPDATE SET status = $2, disabled_tools = $5, \
             paused_at = CASE WHEN $8 = 0 AND agents.status = 'paused' AND $2 = 'paused' THEN agents.paused_at ELSE $3 END, \
             paused_by = CASE WHEN $8 = 0 AND agents.status = 'paused' AND $2 = 'paused' THEN agents.paused_by ELSE $4 END, \
             paused_until = CASE WHEN $8 = 0 AND agents.status = 'paused' AND $2 = 'paused' THEN agents.paused_until ELSE $7 END, \
             refused_since_stop = CASE WHEN $8 = 0 AND agents.status = 'paused' AND $2 = 'paused' \
             THEN agents.refused_since_stop ELSE 0 END",
        )
        .bind(agent.to_owned())
        .bind(if control.paused { "paused" } else { "active" })
        .bind(control.paused.then(|| to_millis(at)))
        .bind(control.paused.then(|| by.to_owned()))
        .bind(serde_json::to_string(&tools).unwrap_or_default())
        .bind(to_millis(at))
        .bind(control.paused_until.filter(|_| control.paused).map(to_millis))
        .bind(i64::from(control.paused && control.paused_since == Some(at)))
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// Attempts `agent`'s SDK refused while it is stopped, as reported:
    /// counted against the stop in force; none when it is not stopped.
    /// Whether they were counted.
    pub async fn count_refusals(&self, agent: &str, attempts: i64) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE agents SET refused_since_stop = refused_since_stop + $2 WHERE agent_id = $1 AND status = 'paused' \
             AND (paused_until IS NULL OR paused_until > $3)",
        )
        .bind(agent.to_owned())
        .bind(attempts)
        .bind(to_millis(Utc::now()))
        .execute(&self.write)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Whether an agent is paused, as committed now.
    pub async fn agent_paused(&self, agent: &str) -> Result<bool, StoreError> {
        let row = sqlx::query(
            "SELECT agent_id FROM agents WHERE agent_id = $1 AND status = 'paused' \
             AND (paused_until IS NULL OR paused_until > $2)",
        )
        .bind(agent.to_owned())
        .bind(to_millis(Utc::now()))
        .fetch_optional(&self.read)
        .await?;
        Ok(row.is_some())
    }

    /// Every agent's controls and latest sequence number, to restore state at start.
    pub(crate) async fn agent_states(
        &self,
    ) -> Result<Vec<(String, AgentControl, Option<(i64, DateTime<Utc>)>)>, StoreError> {
        let rows = sqlx::query(
            "SELECT agent_id, status, paused_at, paused_by, paused_until, disabled_tools, last_seq, last_seq_at, \
             (SELECT reason FROM interventions i WHERE i.agent_id = agents.agent_id AND i.kind = 'pause_agent' \
              ORDER BY i.id DESC LIMIT 1) AS paused_reason, \
             (SELECT incident_id FROM interventions i WHERE i.agent_id = agents.agent_id AND i.kind = 'pause_agent' \
              ORDER BY i.id DESC LIMIT 1) AS paused_for FROM agents",
        )
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                let row = ControlRow::from_row(r)?;
                let paused = row.status == "paused";
                let control = AgentControl {
                    paused,
                    paused_since: row.paused_at.map(from_millis).filter(|_| paused),
                    paused_by: row.paused_by.filter(|_| paused),
                    paused_reason: row.paused_reason.filter(|_| paused),
                    paused_until: row.paused_until.map(from_millis).filter(|_| paused),
                    paused_for: row.paused_for.filter(|_| paused),
                    disabled_tools: json_list(&row.disabled_tools).into_iter().collect(),
                };
                let seq = match (row.last_seq, row.last_seq_at) {
                    (Some(s), Some(at)) => Some((s, from_millis(at))),
                    _ => None,
                };
                Ok((row.agent_id, control, seq))
            })
            .collect()
    }

    pub async fn list_agents(&self, now: DateTime<Utc>) -> Result<Vec<AgentSummary>, StoreError> {
        let rows = sqlx::query(
            "SELECT agent_id, status, paused_at, paused_by, paused_until, disabled_tools, last_seen, refused_since_stop, \
             last_contact, sdk FROM agents \
             ORDER BY agent_id LIMIT 5000",
        )
        .fetch_all(&self.read)
        .await?;
        let mut agents: Vec<AgentSummary> = rows
            .iter()
            .map(|r| {
                let row = SummaryRow::from_row(r)?;
                let paused_until = row.paused_until.map(from_millis);
                let ended = paused_until.is_some_and(|until| until <= now);
                Ok(AgentSummary {
                    agent_id: row.agent_id,
                    status: if ended { "active".to_owned() } else { row.status },
                    paused_until,
                    last_contact: row.last_contact.map(from_millis),
                    paused_at: row.paused_at.map(from_millis),
                    paused_by: row.paused_by,
                    last_seen: from_millis(row.last_seen),
                    live_runs: 0,
                    failure_rate: 0.0,
                    disabled_tools: json_list(&row.disabled_tools),
                    acted_while_stopped: 0,
                    refused_attempts: row.refused_since_stop,
                    sdk: row.sdk,
                })
            })
            .collect::<Result<_, StoreError>>()?;
        // Whether each stop held: what the stopped agents did since.
        for agent in agents.iter_mut().filter(|a| a.status == "paused") {
            let Some(since) = agent.paused_at else { continue };
            let row = sqlx::query(
                "SELECT COUNT(*) AS n FROM events WHERE agent_id = $1 AND occurred_at >= $2 \
                 AND flags LIKE '%acted_while_stopped%'",
            )
            .bind(agent.agent_id.clone())
            .bind(to_millis(since))
            .fetch_one(&self.read)
            .await?;
            agent.acted_while_stopped = row.try_get("n")?;
        }
        let live: BTreeMap<String, i64> = sqlx::query(
            "SELECT value, run_count FROM runs_o2_counts WHERE state = 'LIVE' AND dim = 'agent_id' AND run_count > 0",
        )
        .fetch_all(&self.read)
        .await?
        .iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect::<Result<_, StoreError>>()?;
        // Failed runs and error events over the last 24 hours, from the
        // hourly counters kept as they are written.
        let since_hour = (now - Duration::hours(24)).timestamp_millis() / 3_600_000;
        let mut outcomes: BTreeMap<String, (i64, i64)> = BTreeMap::new();
        let rows = sqlx::query(
            "SELECT agent_id, CAST(SUM(errors + runs_failed) AS BIGINT), CAST(SUM(events + runs_done) AS BIGINT) \
             FROM agent_hourly WHERE hour > $1 GROUP BY agent_id",
        )
        .bind(since_hour)
        .fetch_all(&self.read)
        .await?;
        for r in rows {
            outcomes.insert(r.try_get(0)?, (r.try_get(1)?, r.try_get(2)?));
        }
        for agent in &mut agents {
            agent.live_runs = live.get(&agent.agent_id).copied().unwrap_or(0);
            if let Some((failed, total)) = outcomes.get(&agent.agent_id).filter(|(_, t)| *t > 0) {
                agent.failure_rate = *failed as f64 / *total as f64;
            }
        }
        Ok(agents)
    }

    /// Whether each of `agents` is known and paused.
    pub async fn paused_agents(&self, agents: &[String]) -> Result<BTreeSet<String>, StoreError> {
        if agents.is_empty() {
            return Ok(BTreeSet::new());
        }
        let sql =
            format!("SELECT agent_id FROM agents WHERE status = 'paused' AND agent_id IN ({})", list(1, agents.len()));
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for a in agents {
            q = q.bind(a.clone());
        }
        q.fetch_all(&self.read).await?.iter().map(|r| Ok(r.try_get(0)?)).collect()
    }
}
