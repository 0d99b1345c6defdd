//! The paging worker: every tick (and whenever a change queued something) it
//! takes the due notifications, groups them per target and channel, sends
//! each group as one delivery, and records the outcome.

use super::channels::{self, Refusal};
use super::message::{Context, Item, Outgoing};
use super::outbox::{Attempt, Outbox, PageRow};
use crate::api::{DeliveryState, NoticeKind};
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::{Arc, Weak};
use std::time::Duration;

/// The longest the worker sleeps: it wakes when a change queues something,
/// when the next notification is due, and at least this often (a manual
/// clock moved by a test, a row written by hand).
pub const IDLE: Duration = Duration::from_secs(1);
/// The shortest: never a busy loop.
const NAP: Duration = Duration::from_millis(20);
/// Notifications taken per tick.
const BATCH: i64 = 2000;
/// At most this many incidents in one tick, and their notifications carry
/// the full analysis (the suspect, what to check first); more is a storm,
/// and they carry each incident's summary.
const ANALYSED: usize = 25;
/// Deliveries in flight at once.
const PARALLEL: usize = 16;
/// Backoff: the first retry after about 2 s, doubling, up to 5 minutes.
const BACKOFF: crate::sdk::Backoff =
    crate::sdk::Backoff { base: Duration::from_secs(2), cap: Duration::from_secs(300) };
/// A receiver's Retry-After is honoured up to this.
const RETRY_AFTER_CAP: Duration = Duration::from_secs(3600);

/// What one tick did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TickReport {
    pub delivered: usize,
    pub failed: usize,
    pub dead: usize,
    /// Put off by storm control.
    pub deferred: usize,
}

/// The wait before attempt `attempt + 1` (attempts counted from 1): see
/// [`crate::sdk::Backoff`].
pub fn backoff(attempt: u32, jitter: f64) -> Duration {
    BACKOFF.delay(attempt.saturating_sub(1), jitter, None)
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Group {
    /// A retry keeps the delivery id it was first sent under.
    Retry(String),
    /// Pages and notices (acknowledged, resolved) go separately.
    Fresh { target: String, channel: String, page: bool },
}

pub struct Worker<O> {
    outbox: Arc<O>,
    http: reqwest::Client,
}

impl<O: Outbox> Worker<O> {
    /// Runs in the background until the outbox is dropped, paging while this
    /// server holds the background duties. Notifications a killed
    /// predecessor was sending are due again first.
    pub fn spawn(outbox: Weak<O>) {
        tokio::spawn(async move {
            let Some(first) = outbox.upgrade() else { return };
            let wake = first.wake();
            drop(first);
            // One client for the worker's life: building one costs more than a tick.
            let http = crate::sdk::http_client_builder().build().expect("an HTTP client builds");
            let mut wait = NAP;
            let mut duties = false;
            loop {
                tokio::select! {
                    _ = wake.notified() => {}
                    _ = tokio::time::sleep(wait) => {}
                }
                let Some(outbox) = outbox.upgrade() else { return };
                // Only the server holding the duties pages; the others wait for them.
                if !outbox.holds_duties() {
                    duties = false;
                    wait = IDLE;
                    continue;
                }
                if !duties {
                    // Taking the duties over: what a stopped server was sending is due again.
                    duties = true;
                    match outbox.reclaim_sending(outbox.now()).await {
                        Ok(0) => {}
                        Ok(n) => {
                            tracing::info!(notifications = n, "paging: resending what a stopped server was sending")
                        }
                        Err(e) => tracing::warn!(error = %e, "paging: cannot reclaim notifications being sent"),
                    }
                }
                let worker = Worker { outbox, http: http.clone() };
                loop {
                    let pass = worker.tick().await;
                    if pass.is_ok() {
                        worker.outbox.beat();
                    }
                    match pass {
                        // A full batch: more may be due at once.
                        Ok(r) if r.delivered + r.failed + r.dead >= BATCH as usize => continue,
                        Ok(_) => break,
                        Err(e) => {
                            tracing::warn!(error = %e, "paging: a tick failed; retrying");
                            tokio::time::sleep(Duration::from_secs(1)).await;
                            break;
                        }
                    }
                }
                // Sleep until the next notification is due (a timer fires on
                // time), or IDLE at most.
                wait = match worker.outbox.next_due().await {
                    Ok(Some(at)) => (at - worker.outbox.now()).to_std().unwrap_or(Duration::ZERO).clamp(NAP, IDLE),
                    _ => IDLE,
                };
            }
        });
    }

    /// One pass: everything due now is delivered, retried, given up or put off.
    ///
    /// Long because the pass is one sequence over the same due notifications:
    /// coordination, storm control, leases, delivery, outcomes, escalation.
    pub async fn tick(&self) -> Result<TickReport, O::Error> {
        let outbox = &*self.outbox;
        outbox.queue_scheduled().await?;
        let now = outbox.now();
        let due = outbox.due(now, BATCH).await?;
        let mut report = TickReport::default();
        if due.is_empty() {
            return Ok(report);
        }
        let (limits, receivers) = outbox.delivery();
        let recent = outbox.last_sent(now - limits.group_interval).await?;
        let mut groups: BTreeMap<Group, Vec<PageRow>> = BTreeMap::new();
        let mut later: BTreeMap<DateTime<Utc>, Vec<String>> = BTreeMap::new();
        for row in due {
            // Seed 6.7 pages management only while nobody coordinates.
            if row.page.level == super::COORDINATION
                && row.page.kind == NoticeKind::Page
                && let Some(who) = outbox.coordinator(row.page.incident_id).await?
            {
                outbox.cancel(std::slice::from_ref(&row.page.id), &format!("{who} coordinates")).await?;
                continue;
            }
            let page = &row.page;
            let group = match &page.delivery {
                Some(d) => Group::Retry(d.clone()),
                None => {
                    // Storm control: within group_interval of the last page to
                    // this target and channel, wait and go together.
                    let is_page = page.kind == NoticeKind::Page;
                    if let Some(last) = recent.get(&(page.target.clone(), page.channel.clone(), is_page))
                        && *last + limits.group_interval > now
                    {
                        later.entry(*last + limits.group_interval).or_default().push(page.id.clone());
                        continue;
                    }
                    Group::Fresh { target: page.target.clone(), channel: page.channel.clone(), page: is_page }
                }
            };
            groups.entry(group).or_default().push(row);
        }
        for (until, ids) in &later {
            report.deferred += ids.len();
            outbox.defer(ids, *until).await?;
        }

        let mut taken_groups = Vec::with_capacity(groups.len());
        for (group, rows) in groups {
            let delivery = match &group {
                Group::Retry(d) => d.clone(),
                Group::Fresh { .. } => uuid::Uuid::now_v7().to_string(),
            };
            let ids: Vec<String> = rows.iter().map(|r| r.page.id.clone()).collect();
            let lease = limits.timeout.saturating_mul(rows.len() as u32 + 1) + Duration::from_secs(30);
            let taken: HashSet<String> = outbox.take(&ids, &delivery, now, now + lease).await?.into_iter().collect();
            let rows: Vec<PageRow> = rows.into_iter().filter(|r| taken.contains(&r.page.id)).collect();
            if !rows.is_empty() {
                taken_groups.push((delivery, rows));
            }
        }
        let incidents: Vec<i64> = {
            let mut ids: Vec<i64> =
                taken_groups.iter().flat_map(|(_, rows)| rows.iter().map(|r| r.page.incident_id)).collect();
            ids.sort_unstable();
            ids.dedup();
            ids
        };
        let contexts = self.contexts(&incidents).await?;
        let mut outgoing = Vec::with_capacity(taken_groups.len());
        for (delivery, rows) in taken_groups {
            let mut items = Vec::with_capacity(rows.len());
            let mut steps = Vec::with_capacity(rows.len());
            for row in rows {
                let id = row.page.incident_id;
                let context = contexts.get(&id).cloned().unwrap_or_else(|| Arc::new(Context::unknown(id)));
                steps.push((id, row.step, row.page.kind, row.page.attempts + 1));
                items.push(Item { page: row.page, context });
            }
            let Some(first) = items.first() else { continue };
            let out = Outgoing {
                id: delivery,
                target: first.page.target.clone(),
                channel: first.page.channel.clone(),
                items,
            };
            outgoing.push((out, steps));
        }

        let http = &self.http;
        let results: Vec<_> = futures_util::stream::iter(outgoing)
            .map(|(out, steps)| {
                let receivers = &receivers;
                async move {
                    let result = channels::send(http, receivers, &out, limits.timeout, now).await;
                    (out, steps, result)
                }
            })
            .buffer_unordered(PARALLEL)
            .collect()
            .await;

        let mut escalations: BTreeMap<i64, i64> = BTreeMap::new();
        let mut changed: Vec<i64> = Vec::new();
        for (out, steps, result) in results {
            changed.extend(out.items.iter().map(|i| i.context.incident_id));
            let ids: Vec<String> = out.items.iter().map(|i| i.page.id.clone()).collect();
            let attempts = steps.iter().map(|s| s.3).max().unwrap_or(1);
            let attempt = match result {
                Ok(()) => {
                    report.delivered += ids.len();
                    for (incident, step, kind, _) in &steps {
                        if *kind == NoticeKind::Page && *step > 0 {
                            let e = escalations.entry(*incident).or_default();
                            *e = (*e).max(*step);
                        }
                    }
                    tracing::info!(delivery = %out.id, channel = %out.channel, target = %out.target, notifications = ids.len(), "paging: delivered");
                    crate::metrics::page_outcome(&out.channel, "sent", ids.len());
                    Attempt::Delivered { at: outbox.now() }
                }
                Err(refusal) => self.judge(&out, refusal, attempts, limits.max_attempts, &mut report),
            };
            outbox.finish(&ids, &attempt).await?;
        }
        changed.sort_unstable();
        changed.dedup();
        outbox.changed(&changed).await?;
        for (incident, step) in escalations {
            if let Err(e) = outbox.escalated(incident, step).await {
                tracing::warn!(incident, error = %e, "paging: cannot record the escalation level");
            }
        }
        Ok(report)
    }

    /// What the notifications say of their incidents: the full analysis
    /// (the suspect, what to check first) when few incidents go out at once;
    /// in a storm, each incident's summary, read together (an analysis
    /// costs milliseconds per incident, and the console has it).
    async fn contexts(&self, ids: &[i64]) -> Result<HashMap<i64, Arc<Context>>, O::Error> {
        let mut out = HashMap::with_capacity(ids.len());
        if ids.len() <= ANALYSED {
            for &id in ids {
                if let Some(context) = self.outbox.analysed(id).await {
                    out.insert(id, Arc::new(context));
                }
            }
        }
        let missing: Vec<i64> = ids.iter().copied().filter(|id| !out.contains_key(id)).collect();
        for context in self.outbox.summaries(&missing).await? {
            out.insert(context.incident_id, Arc::new(context));
        }
        Ok(out)
    }

    fn judge(&self, out: &Outgoing, refusal: Refusal, attempts: i64, max: u32, report: &mut TickReport) -> Attempt {
        let Refusal { error, retry_after, permanent } = refusal;
        let given_up = permanent || attempts >= i64::from(max);
        tracing::warn!(
            delivery = %out.id, channel = %out.channel, target = %out.target, attempts, error = %error,
            state = if given_up { DeliveryState::Dead.as_str() } else { "retrying" },
            "paging: not delivered"
        );
        crate::metrics::page_outcome(&out.channel, if given_up { "dead" } else { "retried" }, out.items.len());
        if given_up {
            report.dead += out.items.len();
            let error = if permanent { error } else { format!("{error} (gave up after {attempts} attempts)") };
            return Attempt::Dead { error };
        }
        report.failed += out.items.len();
        let wait = match retry_after {
            Some(asked) => asked.min(RETRY_AFTER_CAP),
            None => backoff(attempts as u32, rand::random::<f64>()),
        };
        let retry_at = self.outbox.now() + chrono::Duration::from_std(wait).unwrap_or(chrono::Duration::seconds(1));
        Attempt::Failed { error, retry_at }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_doubles_with_jitter_and_is_capped() {
        assert_eq!(backoff(1, 0.0), Duration::from_secs(1));
        assert_eq!(backoff(1, 1.0), Duration::from_secs(2));
        assert_eq!(backoff(2, 0.0), Duration::from_secs(2));
        assert_eq!(backoff(3, 1.0), Duration::from_secs(8));
        assert_eq!(backoff(30, 1.0), BACKOFF.cap);
        assert_eq!(backoff(30, 0.0), BACKOFF.cap / 2);
    }
}
