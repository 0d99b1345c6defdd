//! Approval requests as records: asked once per agent's key, read and
//! waited on, decided once (a conditional update: two servers deciding at
//! once cannot both win), and counted for the friction report.

use super::{Store, StoreError, from_millis, to_millis};
use crate::api::{ApprovalPastIncident, ApprovalRequest, ApprovalStatus, ApprovalVote};
use crate::routing::AgentHistory;
use chrono::{DateTime, Utc};
use sqlx::{Any, FromRow, Row, Transaction};

const COLUMNS: &str = "id, request_key, agent_id, run_id, on_behalf_of, action_type, resource, summary, critical_point, \
     rule_name, reason, context_json, incident_id, status, proceed, created_at, expires_at, on_timeout, four_eyes, \
     approvals_needed, approvals_json, decided_at, decided_by, decision_reason, digest";

#[derive(sqlx::FromRow)]
struct ApprovalRow {
    id: i64,
    #[allow(dead_code)]
    request_key: String,
    agent_id: String,
    run_id: Option<String>,
    on_behalf_of: Option<String>,
    action_type: String,
    resource: Option<String>,
    summary: String,
    critical_point: Option<String>,
    rule_name: Option<String>,
    reason: String,
    context_json: String,
    incident_id: Option<i64>,
    status: String,
    proceed: i64,
    created_at: i64,
    expires_at: i64,
    on_timeout: String,
    four_eyes: i64,
    approvals_needed: i64,
    approvals_json: String,
    decided_at: Option<i64>,
    decided_by: Option<String>,
    decision_reason: Option<String>,
    digest: String,
}

/// What the request shows beside its own fields: the blast radius preview
/// and past incidents, kept as one JSON column.
#[derive(Debug, Default, serde::Serialize, serde::Deserialize)]
pub struct ApprovalContext {
    #[serde(default)]
    pub blast_preview: Vec<String>,
    #[serde(default)]
    pub past_incidents: Vec<ApprovalPastIncident>,
}

fn approval_from(row: &sqlx::any::AnyRow) -> Result<ApprovalRequest, StoreError> {
    let row = ApprovalRow::from_row(row)?;
    let context: ApprovalContext = serde_json::from_str(&row.context_json).unwrap_or_default();
    Ok(ApprovalRequest {
        id: row.id,
        status: ApprovalStatus::parse(&row.status).unwrap_or(ApprovalStatus::Waiting),
        proceed: row.proceed != 0,
        agent_id: row.agent_id,
        run_id: row.run_id,
        on_behalf_of: row.on_behalf_of,
        action_type: row.action_type,
        resource: row.resource,
        summary: row.summary,
        critical_point: row.critical_point,
        rule: row.rule_name,
        reason: row.reason,
        blast_preview: context.blast_preview,
        past_incidents: context.past_incidents,
        incident_id: row.incident_id,
        created_at: from_millis(row.created_at),
        expires_at: from_millis(row.expires_at),
        on_timeout: row.on_timeout,
        four_eyes: row.four_eyes != 0,
        approvals_needed: row.approvals_needed.clamp(1, 2) as u8,
        approvals: serde_json::from_str(&row.approvals_json).unwrap_or_default(),
        decided_at: row.decided_at.map(from_millis),
        decided_by: row.decided_by,
        decision_reason: row.decision_reason,
        digest: row.digest,
    })
}

/// A request about to be made: `approval` as it will read, but for its id.
pub struct NewApproval<'a> {
    pub request_key: &'a str,
    pub approval: &'a ApprovalRequest,
}

/// How a request ends.
pub struct ApprovalEnd<'a> {
    pub status: ApprovalStatus,
    pub proceed: bool,
    pub approvals: &'a [ApprovalVote],
    pub at: DateTime<Utc>,
    pub by: &'a str,
    pub reason: &'a str,
}

/// One request as the friction report counts it.
pub struct ApprovalTally {
    pub status: ApprovalStatus,
    pub created_at: DateTime<Utc>,
    pub decided_at: Option<DateTime<Utc>>,
    /// A person decided (not the timeout, not the agent going away).
    pub by_person: bool,
    pub gate: String,
}

impl Store {
    /// The request agent's SDK made under `key`, if any.
    pub async fn approval_by_key(&self, key: &str) -> Result<Option<ApprovalRequest>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM approvals WHERE request_key = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(key.to_owned()).fetch_optional(&self.read).await?;
        row.as_ref().map(approval_from).transpose()
    }

    pub(crate) async fn insert_approval(
        &self,
        tx: &mut Transaction<'_, Any>,
        new: &NewApproval<'_>,
    ) -> Result<ApprovalRequest, StoreError> {
        let a = new.approval;
        let context =
            ApprovalContext { blast_preview: a.blast_preview.clone(), past_incidents: a.past_incidents.clone() };
        let sql = format!(
            "INSERT INTO approvals (request_key, agent_id, run_id, on_behalf_of, action_type, resource, summary, \
             critical_point, rule_name, reason, context_json, incident_id, status, proceed, created_at, expires_at, \
             on_timeout, four_eyes, approvals_needed, digest, waited_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'waiting', 0, $13, $14, $15, $16, $17, $18, $13) \
             RETURNING {COLUMNS}"
        );
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(new.request_key.to_owned())
            .bind(a.agent_id.clone())
            .bind(a.run_id.clone())
            .bind(a.on_behalf_of.clone())
            .bind(a.action_type.clone())
            .bind(a.resource.clone())
            .bind(a.summary.clone())
            .bind(a.critical_point.clone())
            .bind(a.rule.clone())
            .bind(a.reason.clone())
            .bind(serde_json::to_string(&context).unwrap_or_else(|_| "{}".to_owned()))
            .bind(a.incident_id)
            .bind(to_millis(a.created_at))
            .bind(to_millis(a.expires_at))
            .bind(a.on_timeout.clone())
            .bind(i64::from(a.four_eyes))
            .bind(i64::from(a.approvals_needed))
            .bind(a.digest.clone())
            .fetch_one(&mut **tx)
            .await?;
        approval_from(&row)
    }

    pub async fn approval(&self, id: i64) -> Result<Option<ApprovalRequest>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM approvals WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(&self.read).await?;
        row.as_ref().map(approval_from).transpose()
    }

    pub(crate) async fn approval_in(
        &self,
        tx: &mut Transaction<'_, Any>,
        id: i64,
    ) -> Result<Option<ApprovalRequest>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM approvals WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(&mut **tx).await?;
        row.as_ref().map(approval_from).transpose()
    }

    /// Waiting requests, soonest to expire first, then the latest 100
    /// decided, newest first.
    pub async fn list_approvals(&self) -> Result<Vec<ApprovalRequest>, StoreError> {
        let waiting =
            format!("SELECT {COLUMNS} FROM approvals WHERE status = 'waiting' ORDER BY expires_at, id LIMIT 1000");
        let decided = format!(
            "SELECT {COLUMNS} FROM approvals WHERE status <> 'waiting' ORDER BY decided_at DESC, id DESC LIMIT 100"
        );
        let mut out = Vec::new();
        for sql in [waiting, decided] {
            for row in sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(&self.read).await? {
                out.push(approval_from(&row)?);
            }
        }
        Ok(out)
    }

    /// Waiting requests whose time ran out by `now`.
    pub(crate) async fn expired_approvals(&self, now: DateTime<Utc>) -> Result<Vec<ApprovalRequest>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM approvals WHERE status = 'waiting' AND expires_at <= $1 ORDER BY expires_at LIMIT 500"
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql)).bind(to_millis(now)).fetch_all(&self.read).await?;
        rows.iter().map(approval_from).collect()
    }

    /// When the earliest waiting request runs out, if any waits.
    pub(crate) async fn next_approval_expiry(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let at: Option<i64> = sqlx::query_scalar("SELECT MIN(expires_at) FROM approvals WHERE status = 'waiting'")
            .fetch_one(&self.read)
            .await?;
        Ok(at.map(from_millis))
    }

    /// Records an approval toward a request still waiting; false when it is not.
    pub(crate) async fn add_approval_vote(
        &self,
        tx: &mut Transaction<'_, Any>,
        id: i64,
        votes: &[ApprovalVote],
    ) -> Result<bool, StoreError> {
        let done = sqlx::query("UPDATE approvals SET approvals_json = $1 WHERE id = $2 AND status = 'waiting'")
            .bind(serde_json::to_string(votes).unwrap_or_else(|_| "[]".to_owned()))
            .bind(id)
            .execute(&mut **tx)
            .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Ends a request still waiting; false when it was not (decided
    /// meanwhile, here or on another server).
    pub(crate) async fn end_approval(
        &self,
        tx: &mut Transaction<'_, Any>,
        id: i64,
        end: &ApprovalEnd<'_>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "UPDATE approvals SET status = $1, proceed = $2, approvals_json = $3, decided_at = $4, decided_by = $5, \
             decision_reason = $6 WHERE id = $7 AND status = 'waiting'",
        )
        .bind(end.status.as_str())
        .bind(i64::from(end.proceed))
        .bind(serde_json::to_string(end.approvals).unwrap_or_else(|_| "[]".to_owned()))
        .bind(to_millis(end.at))
        .bind(end.by.to_owned())
        .bind(end.reason.to_owned())
        .bind(id)
        .execute(&mut **tx)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// The agent's SDK stopped waiting on request `id` at `at`, in the wait
    /// that was to last until `until` (unless a later wait moved it since).
    pub async fn note_approval_left(&self, id: i64, until: DateTime<Utc>, at: DateTime<Utc>) -> Result<(), StoreError> {
        sqlx::query("UPDATE approvals SET waited_at = $1 WHERE id = $2 AND waited_at = $3")
            .bind(to_millis(at))
            .bind(id)
            .bind(to_millis(until))
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// The agent's SDK waits on request `id` until `at` at least.
    pub async fn note_approval_waited(&self, id: i64, at: DateTime<Utc>) -> Result<(), StoreError> {
        sqlx::query("UPDATE approvals SET waited_at = $1 WHERE id = $2 AND waited_at < $1")
            .bind(to_millis(at))
            .bind(id)
            .execute(&self.write)
            .await?;
        Ok(())
    }

    /// When the agent's SDK last waited on request `id`.
    pub(crate) async fn approval_waited_at(&self, id: i64) -> Result<Option<DateTime<Utc>>, StoreError> {
        let at: Option<i64> = sqlx::query_scalar("SELECT waited_at FROM approvals WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.read)
            .await?;
        Ok(at.map(from_millis))
    }

    /// Agent `agent`'s recorded history: its first hour with an action and
    /// how many actions it took.
    pub async fn agent_history(&self, agent: &str) -> Result<AgentHistory, StoreError> {
        let row = sqlx::query(
            "SELECT MIN(hour), CAST(COALESCE(SUM(events), 0) AS BIGINT) FROM agent_hourly WHERE agent_id = $1",
        )
        .bind(agent.to_owned())
        .fetch_one(&self.read)
        .await?;
        let first: Option<i64> = row.try_get(0)?;
        let actions: i64 = row.try_get(1)?;
        Ok(AgentHistory { first_seen: first.map(|h| from_millis(h * 3_600_000)), actions: actions.max(0) as u64 })
    }

    /// The latest incidents (up to 3) whose events include an action of type
    /// `action_type`, over the last 90 days.
    pub(crate) async fn past_incidents_of_action(
        &self,
        action_type: &str,
        now: DateTime<Utc>,
    ) -> Result<Vec<ApprovalPastIncident>, StoreError> {
        let since = to_millis(now - chrono::Duration::days(90));
        let rows = sqlx::query(
            "SELECT i.id, i.title, i.status FROM incidents i WHERE i.id IN (SELECT DISTINCT incident_id FROM events \
             WHERE action_type = $1 AND incident_id IS NOT NULL AND occurred_at > $2) ORDER BY i.id DESC LIMIT 3",
        )
        .bind(action_type.to_owned())
        .bind(since)
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| Ok(ApprovalPastIncident { id: r.try_get(0)?, title: r.try_get(1)?, status: r.try_get(2)? }))
            .collect()
    }

    /// Requests made since `since`, for the friction report, and the actions
    /// recorded over the same hours.
    pub async fn approval_tallies(&self, since: DateTime<Utc>) -> Result<(Vec<ApprovalTally>, i64), StoreError> {
        let rows = sqlx::query(
            "SELECT status, created_at, decided_at, decided_by, critical_point, rule_name FROM approvals \
             WHERE created_at >= $1 LIMIT 100000",
        )
        .bind(to_millis(since))
        .fetch_all(&self.read)
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let status = ApprovalStatus::parse(&r.try_get::<String, _>(0)?).unwrap_or(ApprovalStatus::Waiting);
            let by: Option<String> = r.try_get(3)?;
            let point: Option<String> = r.try_get(4)?;
            let rule: Option<String> = r.try_get(5)?;
            out.push(ApprovalTally {
                status,
                created_at: from_millis(r.try_get(1)?),
                decided_at: r.try_get::<Option<i64>, _>(2)?.map(from_millis),
                by_person: matches!(status, ApprovalStatus::Approved | ApprovalStatus::Denied) && by.is_some(),
                gate: match (point, rule) {
                    (Some(p), _) => format!("critical point {p}"),
                    (None, Some(r)) => format!("rule {r}"),
                    (None, None) => "unknown".to_owned(),
                },
            });
        }
        let hour = since.timestamp_millis() / 3_600_000;
        let actions: i64 =
            sqlx::query_scalar("SELECT CAST(COALESCE(SUM(events), 0) AS BIGINT) FROM agent_hourly WHERE hour >= $1")
                .bind(hour)
                .fetch_one(&self.read)
                .await?;
        Ok((out, actions))
    }
}
