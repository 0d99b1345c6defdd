//! The paging outbox. A routing decision's notifications become rows in the
//! transaction that changed the incident; the paging worker takes the due
//! ones, delivers them and records how it went. A row whose time has not
//! come is an escalation timer: it lives here, so it survives restarts.

use super::{Store, StoreError, from_millis, to_millis};
use crate::api::{
    DeliveryState, IncidentStatus, NoticeKind, Page, RoutingDecision, RoutingVerdict, StateCount, Urgency,
};
use crate::routing::{BLAST_RADIUS, COORDINATION, Routing};
use chrono::{DateTime, Duration, Utc};
use sqlx::any::AnyRow;
use sqlx::{Any, Row, Transaction};
use std::collections::BTreeMap;

/// Ids per `IN (…)` list: well under both databases' parameter limits.
const IDS_PER_STATEMENT: usize = 500;

/// "$4, $5, $6" for `n` parameters from `first`.
fn placeholders(first: usize, n: usize) -> String {
    (first..first + n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

const COLUMNS: &str = "id, incident_id, kind, target, channel, level, step, urgency, reason, digest, state, due_at, \
     next_attempt, attempts, last_error, delivery, sent_at";

/// A notification with what only the worker needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRow {
    pub page: Page,
    /// 0 for the first level paged, 1 for the next …; -1 when not a level.
    pub step: i64,
}

fn page_from_row(row: &AnyRow) -> Result<PageRow, StoreError> {
    let page = Page {
        id: row.try_get("id")?,
        incident_id: row.try_get("incident_id")?,
        kind: NoticeKind::parse(&row.try_get::<String, _>("kind")?).unwrap_or(NoticeKind::Page),
        target: row.try_get("target")?,
        channel: row.try_get("channel")?,
        level: row.try_get("level")?,
        urgency: Urgency::parse(&row.try_get::<String, _>("urgency")?).unwrap_or(Urgency::High),
        reason: row.try_get("reason")?,
        digest: row.try_get::<i64, _>("digest")? != 0,
        state: DeliveryState::parse(&row.try_get::<String, _>("state")?).unwrap_or(DeliveryState::Pending),
        due_at: from_millis(row.try_get("due_at")?),
        next_attempt_at: from_millis(row.try_get("next_attempt")?),
        attempts: row.try_get("attempts")?,
        last_error: row.try_get("last_error")?,
        sent_at: row.try_get::<Option<i64>, _>("sent_at")?.map(from_millis),
        delivery: row.try_get("delivery")?,
    };
    Ok(PageRow { page, step: row.try_get("step")? })
}

/// How a delivery attempt ended, for every notification it carried.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    Delivered {
        at: DateTime<Utc>,
    },
    /// Tried again at `retry_at`.
    Failed {
        error: String,
        retry_at: DateTime<Utc>,
    },
    /// Given up.
    Dead {
        error: String,
    },
}

/// A new row's fields.
struct NewPage<'a> {
    incident_id: i64,
    kind: NoticeKind,
    target: &'a str,
    channel: &'a str,
    level: &'a str,
    step: i64,
    urgency: Urgency,
    reason: &'a str,
    digest: bool,
    due_at: DateTime<Utc>,
    /// Why it can never be delivered (its channel has no receiver): then it
    /// is written dead at once, and no worker pass is spent on it.
    undeliverable: Option<String>,
}

impl Store {
    async fn insert_page(
        &self,
        tx: &mut Transaction<'_, Any>,
        p: NewPage<'_>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(
            "INSERT INTO notifications (id, incident_id, kind, target, channel, level, step, urgency, reason, digest, \
             state, last_error, due_at, next_attempt, attempts, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $13, $14, $11, $11, 0, $12) \
             ON CONFLICT (incident_id, kind, target, channel, level) DO NOTHING",
        )
        .bind(uuid::Uuid::now_v7().to_string())
        .bind(p.incident_id)
        .bind(p.kind.as_str())
        .bind(p.target.to_owned())
        .bind(p.channel.to_owned())
        .bind(p.level.to_owned())
        .bind(p.step)
        .bind(p.urgency.as_str())
        .bind(p.reason.to_owned())
        .bind(i64::from(p.digest))
        .bind(to_millis(p.due_at))
        .bind(to_millis(now))
        .bind(if p.undeliverable.is_some() { "dead" } else { "pending" })
        .bind(p.undeliverable)
        .execute(&mut **tx)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Makes the outbox match an incident's routing decision, inside the
    /// transaction that changed it: notifications it asks for and that were
    /// never queued are queued, due when their level comes (timed from the
    /// incident's first page); pending ones it no longer asks for are
    /// cancelled; sent ones stay sent. An incident that is not open, or a
    /// decision that only monitors, pages nobody new. How many were queued.
    pub(crate) async fn sync_pages(
        &self,
        tx: &mut Transaction<'_, Any>,
        incident_id: i64,
        status: IncidentStatus,
        decision: &RoutingDecision,
        routing: &Routing,
        now: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        let digest_wait = routing.limits().digest_wait;
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS}, created_at FROM notifications WHERE incident_id = $1 AND kind = 'page'"
        )))
        .bind(incident_id)
        .fetch_all(&mut **tx)
        .await?;
        let mut base = now;
        let mut existing = Vec::with_capacity(rows.len());
        for row in &rows {
            base = base.min(from_millis(row.try_get("created_at")?));
            existing.push(page_from_row(row)?);
        }
        // Acknowledgement and resolution close paging themselves (`close_pages`).
        if status != IncidentStatus::Open {
            return Ok(0);
        }
        let wanted: Vec<_> = match decision.decision {
            RoutingVerdict::Monitored => Vec::new(),
            _ => decision.notifications.iter().collect(),
        };
        // Steps count the escalation levels in the order the decision reaches them.
        let mut levels: Vec<&str> = Vec::new();
        for n in wanted.iter().filter(|n| n.level != BLAST_RADIUS && n.level != COORDINATION) {
            if !levels.contains(&n.level.as_str()) {
                levels.push(&n.level);
            }
        }
        let mut queued = 0;
        for n in &wanted {
            let key = |p: &PageRow| p.page.target == n.target && p.page.channel == n.channel && p.page.level == n.level;
            if let Some(old) = existing.iter().find(|p| key(p)) {
                if old.page.state == DeliveryState::Pending && old.page.reason != n.reason {
                    sqlx::query("UPDATE notifications SET reason = $2 WHERE id = $1")
                        .bind(old.page.id.clone())
                        .bind(n.reason.clone())
                        .execute(&mut **tx)
                        .await?;
                }
                continue;
            }
            let step = levels.iter().position(|l| *l == n.level).map_or(-1, |s| s as i64);
            let wait = if n.digest { digest_wait } else { Duration::seconds(n.delay_seconds as i64) };
            let page = NewPage {
                incident_id,
                kind: NoticeKind::Page,
                target: &n.target,
                channel: &n.channel,
                level: &n.level,
                step,
                urgency: n.urgency,
                reason: &n.reason,
                digest: n.digest,
                due_at: base + wait,
                undeliverable: (!routing.receivers().has(&n.channel)).then(|| crate::paging::no_receiver(&n.channel)),
            };
            queued += usize::from(self.insert_page(tx, page, now).await?);
        }
        for old in existing.iter().filter(|p| p.page.state == DeliveryState::Pending) {
            let asked = wanted
                .iter()
                .any(|n| old.page.target == n.target && old.page.channel == n.channel && old.page.level == n.level);
            if !asked {
                self.cancel_page(tx, &old.page.id, "no longer in the incident's routing decision").await?;
            }
        }
        Ok(queued)
    }

    /// Cancels pending notifications, saying why.
    pub async fn cancel_pages(&self, ids: &[String], why: &str) -> Result<(), StoreError> {
        let mut tx = self.write.begin().await?;
        for id in ids {
            self.cancel_page(&mut tx, id, why).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn cancel_page(&self, tx: &mut Transaction<'_, Any>, id: &str, why: &str) -> Result<(), StoreError> {
        sqlx::query(
            "UPDATE notifications SET state = 'cancelled', last_error = $2 WHERE id = $1 AND state = 'pending'",
        )
        .bind(id.to_owned())
        .bind(why.to_owned())
        .execute(&mut **tx)
        .await?;
        Ok(())
    }

    /// A notification about no incident (incident 0): a digest, due now.
    /// Queued once per level name; whether it was.
    pub(crate) async fn queue_digest(
        &self,
        tx: &mut Transaction<'_, Any>,
        (target, channel): (&str, &str),
        level: &str,
        reason: &str,
        undeliverable: Option<String>,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let page = NewPage {
            incident_id: 0,
            kind: NoticeKind::Page,
            target,
            channel,
            level,
            step: -1,
            urgency: Urgency::Low,
            reason,
            digest: true,
            due_at: now,
            undeliverable,
        };
        self.insert_page(tx, page, now).await
    }

    /// A resolved incident came back: its pages start over from now, each
    /// level after the same delay as the first time, and the notices of its
    /// acknowledgement and resolution are cleared so the next ones are sent.
    pub(crate) async fn reopen_pages(
        &self,
        tx: &mut Transaction<'_, Any>,
        incident_id: i64,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        sqlx::query("DELETE FROM notifications WHERE incident_id = $1 AND kind <> 'page'")
            .bind(incident_id)
            .execute(&mut **tx)
            .await?;
        let base = sqlx::query("SELECT MIN(created_at) AS base FROM notifications WHERE incident_id = $1")
            .bind(incident_id)
            .fetch_one(&mut **tx)
            .await?
            .try_get::<Option<i64>, _>("base")?;
        let Some(base) = base else { return Ok(0) };
        let done = sqlx::query(
            "UPDATE notifications SET state = 'pending', attempts = 0, delivery = NULL, last_error = NULL, \
             sent_at = NULL, due_at = due_at - $2 + $3, next_attempt = due_at - $2 + $3, created_at = $3 \
             WHERE incident_id = $1 AND kind = 'page' AND state IN ('sent', 'cancelled', 'dead')",
        )
        .bind(incident_id)
        .bind(base)
        .bind(to_millis(now))
        .execute(&mut **tx)
        .await?;
        Ok(done.rows_affected())
    }

    /// An incident was acknowledged or resolved: pages not yet sent are
    /// cancelled (a resolved incident's digests too), and every receiver that
    /// was paged and can be told is told, once. How many notices were queued.
    pub(crate) async fn close_pages(
        &self,
        tx: &mut Transaction<'_, Any>,
        incident_id: i64,
        kind: NoticeKind,
        now: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        let (why, digests) = match kind {
            NoticeKind::Resolved => ("the incident was resolved", true),
            _ => ("the incident was acknowledged", false),
        };
        sqlx::query(
            "UPDATE notifications SET state = 'cancelled', last_error = $2 \
             WHERE incident_id = $1 AND kind = 'page' AND state = 'pending' AND (digest = 0 OR $3 = 1)",
        )
        .bind(incident_id)
        .bind(why.to_owned())
        .bind(i64::from(digests))
        .execute(&mut **tx)
        .await?;
        // PagerDuty is acknowledged and resolved; Slack and webhooks are told
        // both; email is not written to again.
        let paged = sqlx::query(
            "SELECT DISTINCT target, channel FROM notifications \
             WHERE incident_id = $1 AND kind = 'page' AND state = 'sent' AND digest = 0 AND channel <> 'email'",
        )
        .bind(incident_id)
        .fetch_all(&mut **tx)
        .await?;
        let mut queued = 0;
        for row in paged {
            let (target, channel): (String, String) = (row.try_get("target")?, row.try_get("channel")?);
            let page = NewPage {
                incident_id,
                kind,
                target: &target,
                channel: &channel,
                level: "",
                step: -1,
                urgency: Urgency::Low,
                reason: why,
                digest: false,
                due_at: now,
                undeliverable: None,
            };
            queued += usize::from(self.insert_page(tx, page, now).await?);
        }
        Ok(queued)
    }

    /// Escalate now: the next level's pages, not yet due, become due at
    /// `now`. That level's name and targets, if there is one.
    pub(crate) async fn bring_forward(
        &self,
        tx: &mut Transaction<'_, Any>,
        incident_id: i64,
        now: DateTime<Utc>,
    ) -> Result<Option<(String, Vec<String>)>, StoreError> {
        let next = sqlx::query(
            "SELECT MIN(step) AS step FROM notifications \
             WHERE incident_id = $1 AND kind = 'page' AND state = 'pending' AND step > 0 AND due_at > $2",
        )
        .bind(incident_id)
        .bind(to_millis(now))
        .fetch_one(&mut **tx)
        .await?;
        let Some(step) = next.try_get::<Option<i64>, _>("step")? else { return Ok(None) };
        let rows = sqlx::query(
            "UPDATE notifications SET due_at = $3, next_attempt = $3 \
             WHERE incident_id = $1 AND kind = 'page' AND state = 'pending' AND step = $2 RETURNING level, target",
        )
        .bind(incident_id)
        .bind(step)
        .bind(to_millis(now))
        .fetch_all(&mut **tx)
        .await?;
        let level = rows.first().map(|r| r.try_get::<String, _>("level")).transpose()?.unwrap_or_default();
        let mut targets: Vec<String> = rows.iter().map(|r| r.try_get("target")).collect::<Result<_, _>>()?;
        targets.sort();
        targets.dedup();
        Ok(Some((level, targets)))
    }

    /// Notifications due by `now` (and ones whose sender vanished), at most
    /// `limit`, oldest first; not yet taken.
    pub async fn due_pages(&self, now: DateTime<Utc>, limit: i64) -> Result<Vec<PageRow>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM notifications WHERE state IN ('pending', 'sending') AND next_attempt <= $1 \
             ORDER BY next_attempt, id LIMIT $2"
        )))
        .bind(to_millis(now))
        .bind(limit)
        .fetch_all(&self.write)
        .await?;
        rows.iter().map(page_from_row).collect()
    }

    /// When the next notification is due, if any is waiting.
    pub async fn next_due(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        let row =
            sqlx::query("SELECT MIN(next_attempt) AS at FROM notifications WHERE state IN ('pending', 'sending')")
                .fetch_one(&self.read)
                .await?;
        Ok(row.try_get::<Option<i64>, _>("at")?.map(from_millis))
    }

    /// When each (target, channel) was last sent a page, and (separately)
    /// a notice, for those sent to since `since`: the key's flag is true
    /// for pages.
    pub async fn last_sent(
        &self,
        since: DateTime<Utc>,
    ) -> Result<BTreeMap<(String, String, bool), DateTime<Utc>>, StoreError> {
        let rows = sqlx::query(
            "SELECT target, channel, kind = 'page' AS page, MAX(sent_at) AS at FROM notifications \
             WHERE sent_at >= $1 GROUP BY target, channel, kind = 'page'",
        )
        .bind(to_millis(since))
        .fetch_all(&self.write)
        .await?;
        let mut out = BTreeMap::new();
        for r in rows {
            let page = match r.try_get::<bool, _>("page") {
                Ok(b) => b,
                Err(_) => r.try_get::<i64, _>("page")? != 0,
            };
            out.insert((r.try_get("target")?, r.try_get("channel")?, page), from_millis(r.try_get("at")?));
        }
        Ok(out)
    }

    /// Puts off notifications until `until` (storm control), without an attempt.
    pub async fn defer_pages(&self, ids: &[String], until: DateTime<Utc>) -> Result<(), StoreError> {
        let mut tx = self.write.begin().await?;
        for id in ids {
            sqlx::query("UPDATE notifications SET next_attempt = $2 WHERE id = $1 AND state = 'pending'")
                .bind(id.clone())
                .bind(to_millis(until))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Takes notifications for one delivery: they are `sending` under
    /// `delivery` until `lease_until`, and their attempt is counted. Only the
    /// ones still pending (or abandoned by a sender) are taken; those are returned.
    pub async fn take_pages(
        &self,
        ids: &[String],
        delivery: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Vec<String>, StoreError> {
        let mut tx = self.write.begin().await?;
        let mut taken = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(IDS_PER_STATEMENT) {
            let sql = format!(
                "UPDATE notifications SET state = 'sending', delivery = $1, attempts = attempts + 1, next_attempt = $3 \
                 WHERE id IN ({}) AND state IN ('pending', 'sending') AND next_attempt <= $2 RETURNING id",
                placeholders(4, chunk.len())
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(delivery.to_owned())
                .bind(to_millis(now))
                .bind(to_millis(lease_until));
            for id in chunk {
                q = q.bind(id.clone());
            }
            for row in q.fetch_all(&mut *tx).await? {
                taken.push(row.try_get("id")?);
            }
        }
        tx.commit().await?;
        Ok(taken)
    }

    /// Records how a delivery went for the notifications it carried.
    pub async fn finish_pages(&self, ids: &[String], attempt: &Attempt) -> Result<(), StoreError> {
        let mut tx = self.write.begin().await?;
        for chunk in ids.chunks(IDS_PER_STATEMENT) {
            let q = match attempt {
                Attempt::Delivered { at } => sqlx::query(sqlx::AssertSqlSafe(format!(
                    "UPDATE notifications SET state = 'sent', sent_at = $1, last_error = NULL \
                     WHERE id IN ({}) AND state = 'sending'",
                    placeholders(2, chunk.len())
                )))
                .bind(to_millis(*at)),
                Attempt::Failed { error, retry_at } => sqlx::query(sqlx::AssertSqlSafe(format!(
                    "UPDATE notifications SET state = 'pending', last_error = $1, next_attempt = $2 \
                     WHERE id IN ({}) AND state = 'sending'",
                    placeholders(3, chunk.len())
                )))
                .bind(error.clone())
                .bind(to_millis(*retry_at)),
                Attempt::Dead { error } => sqlx::query(sqlx::AssertSqlSafe(format!(
                    "UPDATE notifications SET state = 'dead', last_error = $1 \
                     WHERE id IN ({}) AND state IN ('sending', 'pending')",
                    placeholders(2, chunk.len())
                )))
                .bind(error.clone()),
            };
            chunk.iter().fold(q, |q, id| q.bind(id.clone())).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Notifications a killed server was sending are due again at once:
    /// the server taking the background duties calls this, before its worker starts.
    pub async fn reclaim_sending(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let done = sqlx::query("UPDATE notifications SET state = 'pending', next_attempt = $1 WHERE state = 'sending'")
            .bind(to_millis(now))
            .execute(&self.write)
            .await?;
        Ok(done.rows_affected())
    }

    /// A dead notification, due again now with its attempts reset; its
    /// incident, if it was dead.
    pub(crate) async fn revive_page(
        &self,
        tx: &mut Transaction<'_, Any>,
        id: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<PageRow>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM notifications WHERE id = $1")))
            .bind(id.to_owned())
            .fetch_optional(&mut **tx)
            .await?;
        let Some(row) = row.as_ref().map(page_from_row).transpose()? else { return Ok(None) };
        sqlx::query(
            "UPDATE notifications SET state = 'pending', attempts = 0, next_attempt = $2, delivery = NULL WHERE id = $1 AND state = 'dead'",
        )
        .bind(id.to_owned())
        .bind(to_millis(now))
        .execute(&mut **tx)
        .await?;
        Ok(Some(row))
    }

    /// One notification.
    pub async fn page(&self, id: &str) -> Result<Option<Page>, StoreError> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!("SELECT {COLUMNS} FROM notifications WHERE id = $1")))
            .bind(id.to_owned())
            .fetch_optional(&self.read)
            .await?;
        Ok(row.as_ref().map(page_from_row).transpose()?.map(|p| p.page))
    }

    /// An incident's notifications, by due time.
    pub async fn incident_pages(&self, incident_id: i64) -> Result<Vec<Page>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM notifications WHERE incident_id = $1 ORDER BY due_at, step, target, channel"
        )))
        .bind(incident_id)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(|r| page_from_row(r).map(|p| p.page)).collect()
    }

    /// Notifications, in one state or all: what happened (sent, dead, being
    /// sent or retried) most recent first; then what is only scheduled (a
    /// later level, a digest), soonest first; cancelled ones last.
    pub async fn list_pages(&self, state: Option<DeliveryState>, limit: i64) -> Result<Vec<Page>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM notifications WHERE ($1 = '' OR state = $1) \
             ORDER BY CASE WHEN state = 'cancelled' THEN 2 WHEN state = 'pending' AND attempts = 0 THEN 1 ELSE 0 END, \
             CASE WHEN state = 'pending' AND attempts = 0 THEN next_attempt \
                  WHEN state = 'cancelled' THEN -due_at ELSE -COALESCE(sent_at, next_attempt) END, \
             id DESC LIMIT $2"
        )))
        .bind(state.map(|s| s.as_str()).unwrap_or_default())
        .bind(limit)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(|r| page_from_row(r).map(|p| p.page)).collect()
    }

    pub async fn page_counts(&self) -> Result<Vec<StateCount>, StoreError> {
        let rows = sqlx::query("SELECT state, COUNT(*) AS n FROM notifications GROUP BY state ORDER BY state")
            .fetch_all(&self.read)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(StateCount {
                    state: DeliveryState::parse(&r.try_get::<String, _>("state")?).unwrap_or(DeliveryState::Pending),
                    count: r.try_get("n")?,
                })
            })
            .collect()
    }
}
