//! The paging outbox. A routing decision's notifications become rows in the
//! transaction that changed the incident; the paging worker takes the due
//! ones, delivers them and records how it went. A row whose time has not
//! come is an escalation timer: it lives here, so it survives restarts.

use super::{Store, StoreError, from_millis, to_millis};
use crate::api::{DeliveryState, NoticeKind, Page, StateCount, Urgency};
use crate::paging::{Attempt, LastSent, NO_LONGER_ASKED, NewPage, NextLevel, OutboxPlan, PageRow};
use chrono::{DateTime, Utc};
use sqlx::any::AnyRow;
use sqlx::{Any, FromRow, Row, Transaction};
use std::collections::BTreeMap;

/// Ids per `IN (…)` list: well under both databases' parameter limits.
const IDS_PER_STATEMENT: usize = 500;

/// "$4, $5, $6" for `n` parameters from `first`.
fn placeholders(first: usize, n: usize) -> String {
    (first..first + n).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ")
}

const COLUMNS: &str = "id, incident_id, kind, target, channel, level, step, urgency, reason, digest, state, due_at, \
     next_attempt, attempts, last_error, delivery, sent_at";

/// A notification's row as stored.
#[derive(sqlx::FromRow)]
struct NotificationRow {
    id: String,
    incident_id: i64,
    kind: String,
    target: String,
    channel: String,
    level: String,
    step: i64,
    urgency: String,
    reason: String,
    digest: i64,
    state: String,
    due_at: i64,
    next_attempt: i64,
    attempts: i64,
    last_error: Option<String>,
    delivery: Option<String>,
    sent_at: Option<i64>,
}

fn page_from_row(row: &AnyRow) -> Result<PageRow, StoreError> {
    let row = NotificationRow::from_row(row)?;
    let page = Page {
        id: row.id,
        incident_id: row.incident_id,
        kind: NoticeKind::parse(&row.kind).unwrap_or(NoticeKind::Page),
        target: row.target,
        channel: row.channel,
        level: row.level,
        urgency: Urgency::parse(&row.urgency).unwrap_or(Urgency::High),
        reason: row.reason,
        digest: row.digest != 0,
        state: DeliveryState::parse(&row.state).unwrap_or(DeliveryState::Pending),
        due_at: from_millis(row.due_at),
        next_attempt_at: from_millis(row.next_attempt),
        attempts: row.attempts,
        last_error: row.last_error,
        sent_at: row.sent_at.map(from_millis),
        delivery: row.delivery,
    };
    Ok(PageRow { page, step: row.step })
}

impl Store {
    async fn insert_page(
        &self,
        tx: &mut Transaction<'_, Any>,
        p: &NewPage,
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
        .bind(p.target.clone())
        .bind(p.channel.clone())
        .bind(p.level.clone())
        .bind(p.step)
        .bind(p.urgency.as_str())
        .bind(p.reason.clone())
        .bind(i64::from(p.digest))
        .bind(to_millis(p.due_at))
        .bind(to_millis(now))
        .bind(if p.undeliverable.is_some() { "dead" } else { "pending" })
        .bind(p.undeliverable.clone())
        .execute(&mut **tx)
        .await?;
        Ok(done.rows_affected() > 0)
    }

    /// Executes the outbox plan `plan` makes for an incident from its
    /// notifications as they stand and when its first page was queued, in
    /// the transaction that changed the incident. How many were queued.
    pub(crate) async fn sync_pages(
        &self,
        tx: &mut Transaction<'_, Any>,
        incident_id: i64,
        now: DateTime<Utc>,
        plan: impl FnOnce(&[PageRow], DateTime<Utc>) -> OutboxPlan,
    ) -> Result<usize, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS}, created_at FROM notifications WHERE incident_id = $1 AND kind = 'page'"
        )))
        .bind(incident_id)
        .fetch_all(&mut **tx)
        .await?;
        let mut first_paged = now;
        let mut existing = Vec::with_capacity(rows.len());
        for row in &rows {
            first_paged = first_paged.min(from_millis(row.try_get("created_at")?));
            existing.push(page_from_row(row)?);
        }
        let OutboxPlan { queue, reword, cancel } = plan(&existing, first_paged);
        for (id, reason) in reword {
            sqlx::query("UPDATE notifications SET reason = $2 WHERE id = $1 AND state = 'pending'")
                .bind(id)
                .bind(reason)
                .execute(&mut **tx)
                .await?;
        }
        let mut queued = 0;
        for page in &queue {
            queued += usize::from(self.insert_page(tx, page, now).await?);
        }
        for id in cancel {
            self.cancel_page(tx, &id, NO_LONGER_ASKED).await?;
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
            target: target.to_owned(),
            channel: channel.to_owned(),
            level: level.to_owned(),
            step: -1,
            urgency: Urgency::Low,
            reason: reason.to_owned(),
            digest: true,
            due_at: now,
            undeliverable,
        };
        self.insert_page(tx, &page, now).await
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
        let why = match kind {
            NoticeKind::Resolved => "the incident was resolved",
            _ => "the incident was acknowledged",
        };
        self.close_pages_because(tx, incident_id, kind, why, now).await
    }

    /// [`Store::close_pages`], saying why in the receivers' own words.
    pub(crate) async fn close_pages_because(
        &self,
        tx: &mut Transaction<'_, Any>,
        incident_id: i64,
        kind: NoticeKind,
        why: &str,
        now: DateTime<Utc>,
    ) -> Result<usize, StoreError> {
        let digests = kind == NoticeKind::Resolved;
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
                target,
                channel,
                level: String::new(),
                step: -1,
                urgency: Urgency::Low,
                reason: why.to_owned(),
                digest: false,
                due_at: now,
                undeliverable: None,
            };
            queued += usize::from(self.insert_page(tx, &page, now).await?);
        }
        Ok(queued)
    }

    /// Escalate now: every notification of `next` is due at `now`, from
    /// wherever it stands: one waiting for its time is brought forward, one
    /// an acknowledgement cancelled is queued again, one never queued is
    /// queued; one already sent is not sent twice. Who it reaches, each once.
    pub(crate) async fn page_level_now(
        &self,
        tx: &mut Transaction<'_, Any>,
        incident_id: i64,
        next: &NextLevel,
        receivers: &crate::paging::Receivers,
        now: DateTime<Utc>,
    ) -> Result<Vec<String>, StoreError> {
        for n in &next.notifications {
            let undeliverable = (!receivers.has(&n.channel)).then(|| crate::paging::no_receiver(&n.channel));
            let again = sqlx::query(
                "UPDATE notifications SET state = $6, attempts = 0, last_error = $7, delivery = NULL, \
                 due_at = $5, next_attempt = $5, step = $8 \
                 WHERE incident_id = $1 AND kind = 'page' AND target = $2 AND channel = $3 AND level = $4 \
                 AND state IN ('pending', 'cancelled')",
            )
            .bind(incident_id)
            .bind(n.target.clone())
            .bind(n.channel.clone())
            .bind(n.level.clone())
            .bind(to_millis(now))
            .bind(if undeliverable.is_some() { "dead" } else { "pending" })
            .bind(undeliverable.clone())
            .bind(next.step)
            .execute(&mut **tx)
            .await?;
            if again.rows_affected() == 0 {
                let page = NewPage {
                    incident_id,
                    kind: NoticeKind::Page,
                    target: n.target.clone(),
                    channel: n.channel.clone(),
                    level: n.level.clone(),
                    step: next.step,
                    urgency: n.urgency,
                    reason: n.reason.clone(),
                    digest: false,
                    due_at: now,
                    undeliverable,
                };
                self.insert_page(tx, &page, now).await?;
            }
        }
        Ok(next.targets().into_iter().map(str::to_owned).collect())
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
    pub async fn last_sent(&self, since: DateTime<Utc>) -> Result<LastSent, StoreError> {
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
    /// `members`: the incident and the duplicates merged into it.
    pub async fn incident_pages(&self, members: &[i64]) -> Result<Vec<Page>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM notifications WHERE incident_id IN ({}) ORDER BY due_at, step, target, channel",
            super::events::list(1, members.len())
        );
        let q = members.iter().fold(sqlx::query(sqlx::AssertSqlSafe(sql)), |q, id| q.bind(*id));
        let rows = q.fetch_all(&self.read).await?;
        rows.iter().map(|r| page_from_row(r).map(|p| p.page)).collect()
    }

    /// Notifications, in one state or all: what is about to happen first
    /// (due or being retried, soonest first), then what happened (sent,
    /// dead) most recent first, then the cancelled ones, most recent first.
    pub async fn list_pages(&self, state: Option<DeliveryState>, limit: i64) -> Result<Vec<Page>, StoreError> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM notifications WHERE ($1 = '' OR state = $1) \
             ORDER BY CASE WHEN state IN ('pending', 'sending') THEN 0 WHEN state = 'cancelled' THEN 2 ELSE 1 END, \
             CASE WHEN state IN ('pending', 'sending') THEN next_attempt \
                  WHEN state = 'cancelled' THEN -due_at ELSE -COALESCE(sent_at, next_attempt) END, \
             id DESC LIMIT $2"
        )))
        .bind(state.map(|s| s.as_str()).unwrap_or_default())
        .bind(limit)
        .fetch_all(&self.read)
        .await?;
        rows.iter().map(|r| page_from_row(r).map(|p| p.page)).collect()
    }

    /// Notifications that died (given up, or undeliverable) since `since`.
    pub async fn dead_since(&self, since: DateTime<Utc>) -> Result<i64, StoreError> {
        let row = sqlx::query("SELECT COUNT(*) AS n FROM notifications WHERE state = 'dead' AND next_attempt >= $1")
            .bind(to_millis(since))
            .fetch_one(&self.read)
            .await?;
        Ok(row.try_get("n")?)
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
