//! Silences as records: made, lifted early, listed with how many incidents
//! each held; the mark a held incident carries; and moving an incident's
//! held pages to now when its silence is lifted.

use super::{Store, StoreError, from_millis, to_millis};
use crate::api::{IncidentTraits, Silence, SilenceMark, SilenceMatch, SilenceState, WeeklyWindow};
use chrono::{DateTime, Utc};
use sqlx::{Any, FromRow, Row, Transaction};

const COLUMNS: &str = "id, match_json, owner, reason, starts_at, ends_at, weekly_json, created_at, lifted_at, lifted_by, incidents, \
     routing_name";

/// A silence's row as stored.
#[derive(sqlx::FromRow)]
struct SilenceRow {
    id: i64,
    match_json: String,
    owner: String,
    reason: String,
    starts_at: i64,
    ends_at: i64,
    weekly_json: Option<String>,
    created_at: i64,
    lifted_at: Option<i64>,
    lifted_by: Option<String>,
    incidents: i64,
    routing_name: Option<String>,
}

/// A silence as read at `now`: its state, and whether it ended unused.
fn silence_from(row: &sqlx::any::AnyRow, now: DateTime<Utc>) -> Result<Silence, StoreError> {
    let row = SilenceRow::from_row(row)?;
    let mut silence = Silence {
        id: row.id,
        matches: serde_json::from_str(&row.match_json).unwrap_or_default(),
        owner: row.owner,
        reason: row.reason,
        starts_at: from_millis(row.starts_at),
        ends_at: from_millis(row.ends_at),
        weekly: row.weekly_json.and_then(|w| serde_json::from_str::<WeeklyWindow>(&w).ok()),
        created_at: from_millis(row.created_at),
        lifted_at: row.lifted_at.map(from_millis),
        lifted_by: row.lifted_by,
        incidents: row.incidents,
        state: SilenceState::Scheduled,
        unused: false,
        routing_name: row.routing_name,
    };
    silence.state = silence.state_at(now);
    silence.unused = matches!(silence.state, SilenceState::Expired | SilenceState::Lifted) && silence.incidents == 0;
    Ok(silence)
}

/// A silence about to be made.
pub struct NewSilence<'a> {
    pub matches: &'a SilenceMatch,
    pub owner: &'a str,
    pub reason: &'a str,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub weekly: Option<&'a WeeklyWindow>,
    pub incident_id: Option<i64>,
    pub at: DateTime<Utc>,
    /// Written in the routing file under this name.
    pub routing_name: Option<&'a str>,
}

impl Store {
    pub(crate) async fn insert_silence(
        &self,
        tx: &mut Transaction<'_, Any>,
        new: &NewSilence<'_>,
    ) -> Result<Silence, StoreError> {
        let sql = format!(
            "INSERT INTO silences (match_json, owner, reason, starts_at, ends_at, weekly_json, incident_id, created_at, \
             routing_name) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) RETURNING {COLUMNS}"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(serde_json::to_string(new.matches).unwrap_or_default())
            .bind(new.owner.to_owned())
            .bind(new.reason.to_owned())
            .bind(to_millis(new.starts_at))
            .bind(to_millis(new.ends_at))
            .bind(new.weekly.and_then(|w| serde_json::to_string(w).ok()))
            .bind(new.incident_id)
            .bind(to_millis(new.at))
            .bind(new.routing_name.map(str::to_owned))
            .fetch_one(&mut **tx)
            .await?;
        silence_from(&row, new.at)
    }

    pub async fn silence(&self, id: i64, now: DateTime<Utc>) -> Result<Option<Silence>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM silences WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(&self.read).await?;
        row.map(|r| silence_from(&r, now)).transpose()
    }

    /// Silences not ended by `now` (active or scheduled), then the last 200
    /// ended ones, newest first.
    pub async fn list_silences(&self, now: DateTime<Utc>) -> Result<Vec<Silence>, StoreError> {
        let live = format!(
            "SELECT {COLUMNS} FROM silences WHERE ends_at > $1 AND lifted_at IS NULL ORDER BY starts_at, id LIMIT 1000"
        );
        let ended = format!(
            "SELECT {COLUMNS} FROM silences WHERE ends_at <= $1 OR lifted_at IS NOT NULL \
             ORDER BY COALESCE(lifted_at, ends_at) DESC, id DESC LIMIT 200"
        );
        let mut out = Vec::new();
        for sql in [live, ended] {
            for row in sqlx::query(sqlx::AssertSqlSafe(sql)).bind(to_millis(now)).fetch_all(&self.read).await? {
                out.push(silence_from(&row, now)?);
            }
        }
        Ok(out)
    }

    /// Silences begun and not ended at `now`, as committed: on any server of
    /// the database, the one deciding an incident's paging reads them here.
    pub(crate) async fn silences_in_force(
        &self,
        tx: &mut Transaction<'_, Any>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Silence>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM silences WHERE starts_at <= $1 AND ends_at > $1 AND lifted_at IS NULL ORDER BY id"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(to_millis(now)).fetch_all(&mut **tx).await?;
        rows.iter().map(|r| silence_from(r, now)).collect()
    }

    /// The newest silence of each name the routing file has made, ended or
    /// not, as committed.
    pub(crate) async fn routing_silences(
        &self,
        tx: &mut Transaction<'_, Any>,
        now: DateTime<Utc>,
    ) -> Result<Vec<Silence>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM silences s WHERE routing_name IS NOT NULL \
             AND id = (SELECT MAX(id) FROM silences o WHERE o.routing_name = s.routing_name) ORDER BY id"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(&mut **tx).await?;
        rows.iter().map(|r| silence_from(r, now)).collect()
    }

    /// Ends silence `id` now; whether it was still to end.
    pub(crate) async fn lift_silence(
        &self,
        tx: &mut Transaction<'_, Any>,
        id: i64,
        by: &str,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE silences SET lifted_at = $1, lifted_by = $2 WHERE id = $3 AND lifted_at IS NULL AND ends_at > $1",
        )
        .bind(to_millis(now))
        .bind(by.to_owned())
        .bind(id)
        .execute(&mut **tx)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// The agents and action types of incident `id`'s stored events (a few
    /// hundred at most), for a silence's match.
    pub(crate) async fn incident_traits(
        &self,
        tx: &mut Transaction<'_, Any>,
        id: i64,
        traits: &mut IncidentTraits,
    ) -> Result<(), StoreError> {
        let rows = sqlx::query(
            "SELECT DISTINCT agent_id, action_type FROM events WHERE incident_id = $1 AND agent_id IS NOT NULL LIMIT 500",
        )
        .bind(id)
        .fetch_all(&mut **tx)
        .await?;
        for r in rows {
            if let Some(agent) = r.try_get::<Option<String>, _>("agent_id")? {
                traits.agents.push(agent);
            }
            if let Some(action) = r.try_get::<Option<String>, _>("action_type")? {
                traits.action_types.push(action);
            }
        }
        Ok(())
    }

    /// The silence mark incident `id` carries, as committed.
    pub(crate) async fn silence_mark_in(
        &self,
        tx: &mut Transaction<'_, Any>,
        id: i64,
    ) -> Result<Option<SilenceMark>, StoreError> {
        let row = sqlx::query("SELECT silence FROM incidents WHERE id = $1").bind(id).fetch_optional(&mut **tx).await?;
        Ok(row
            .map(|r| r.try_get::<Option<String>, _>("silence"))
            .transpose()?
            .flatten()
            .and_then(|s| serde_json::from_str(&s).ok()))
    }

    /// Marks incident `id` as held by a silence (counted once per incident
    /// and silence), or clears the mark.
    pub(crate) async fn mark_silenced(
        &self,
        tx: &mut Transaction<'_, Any>,
        id: i64,
        mark: Option<&SilenceMark>,
        newly: bool,
    ) -> Result<(), StoreError> {
        sqlx::query("UPDATE incidents SET silence = $1, silence_id = $2 WHERE id = $3")
            .bind(mark.and_then(|m| serde_json::to_string(m).ok()))
            .bind(mark.map(|m| m.id))
            .bind(id)
            .execute(&mut **tx)
            .await?;
        if let (Some(m), true) = (mark, newly) {
            sqlx::query("UPDATE silences SET incidents = incidents + 1 WHERE id = $1")
                .bind(m.id)
                .execute(&mut **tx)
                .await?;
        }
        Ok(())
    }

    /// Pages of incident `id` still to send and due before `until` (pages
    /// queued again when it reopened) wait for it, keeping their spacing.
    pub(crate) async fn hold_pages(
        &self,
        tx: &mut Transaction<'_, Any>,
        id: i64,
        until: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE notifications SET due_at = due_at + $1, next_attempt = next_attempt + $1 \
             WHERE incident_id = $2 AND state = 'pending' AND kind = 'page' AND due_at < $3",
        )
        .bind(to_millis(until) - to_millis(now))
        .bind(id)
        .bind(to_millis(until))
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// A silence lifted at `now`: the pages it held on open incidents are
    /// brought forward by what was left of the hold (escalation keeps its
    /// spacing), and each mark says it ended now (at change version
    /// `version`). The incidents released.
    pub(crate) async fn release_silenced(
        &self,
        tx: &mut Transaction<'_, Any>,
        silence_id: i64,
        now: DateTime<Utc>,
        version: i64,
    ) -> Result<Vec<i64>, StoreError> {
        let rows = sqlx::query("SELECT id, silence, status FROM incidents WHERE silence_id = $1")
            .bind(silence_id)
            .fetch_all(&mut **tx)
            .await?;
        let mut released = Vec::new();
        for r in rows {
            let id: i64 = r.try_get("id")?;
            let Some(mut mark) =
                r.try_get::<Option<String>, _>("silence")?.and_then(|s| serde_json::from_str::<SilenceMark>(&s).ok())
            else {
                continue;
            };
            if mark.until <= now {
                continue;
            }
            let left = to_millis(mark.until) - to_millis(now);
            if r.try_get::<String, _>("status")? != "resolved" {
                sqlx::query(
                    "UPDATE notifications SET due_at = due_at - $1, next_attempt = next_attempt - $1 \
                     WHERE incident_id = $2 AND state = 'pending' AND due_at > $3",
                )
                .bind(left)
                .bind(id)
                .bind(to_millis(now))
                .execute(&mut **tx)
                .await?;
                released.push(id);
            }
            mark.until = now;
            sqlx::query("UPDATE incidents SET silence = $1, version = $2, updated_at = $3 WHERE id = $4")
                .bind(serde_json::to_string(&mark).unwrap_or_default())
                .bind(version)
                .bind(to_millis(now))
                .bind(id)
                .execute(&mut **tx)
                .await?;
        }
        Ok(released)
    }
}
