//! What the paging worker reads and writes: the outbox of notifications,
//! the routing in force, the incidents they are about. The desk implements
//! it over the store; the worker knows nothing else of either.

use super::config::{Limits, Receivers};
use super::message::Context;
use crate::api::Page;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use tokio::sync::Notify;

/// A notification with what only the worker needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRow {
    pub page: Page,
    /// 0 for the first level paged, 1 for the next …; -1 when not a level.
    pub step: i64,
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

/// When each target and channel was last sent to: `(target, channel, page)`
/// (pages and notices are grouped apart).
pub type LastSent = BTreeMap<(String, String, bool), DateTime<Utc>>;

/// The outbox the worker drains, and what it tells when it did.
pub trait Outbox: Send + Sync + 'static {
    type Error: std::fmt::Display + Send;

    /// Notified when a change queued something.
    fn wake(&self) -> Arc<Notify>;
    /// Only the server holding the background duties pages.
    fn holds_duties(&self) -> bool;
    fn now(&self) -> DateTime<Utc>;
    /// A tick went through: the worker is alive.
    fn beat(&self);
    /// The routing's delivery limits and receivers, as in force now.
    fn delivery(&self) -> (Limits, Receivers);

    /// Queues what is due on a schedule (digests, the weekly status).
    fn queue_scheduled(&self) -> impl Future<Output = Result<(), Self::Error>> + Send;
    /// Makes what a stopped server was sending due again; how many.
    fn reclaim_sending(&self, now: DateTime<Utc>) -> impl Future<Output = Result<u64, Self::Error>> + Send;
    /// When the next notification is due.
    fn next_due(&self) -> impl Future<Output = Result<Option<DateTime<Utc>>, Self::Error>> + Send;
    /// At most `limit` notifications due at `now`, oldest first.
    fn due(&self, now: DateTime<Utc>, limit: i64) -> impl Future<Output = Result<Vec<PageRow>, Self::Error>> + Send;
    fn last_sent(&self, since: DateTime<Utc>) -> impl Future<Output = Result<LastSent, Self::Error>> + Send;
    /// Who coordinates the incident, if anyone does.
    fn coordinator(&self, incident: i64) -> impl Future<Output = Result<Option<String>, Self::Error>> + Send;
    fn cancel(&self, ids: &[String], why: &str) -> impl Future<Output = Result<(), Self::Error>> + Send;
    /// Storm control: these wait until `until`.
    fn defer(&self, ids: &[String], until: DateTime<Utc>) -> impl Future<Output = Result<(), Self::Error>> + Send;
    /// Leases these to `delivery` until `lease_until`; the ids taken (another
    /// server may have taken some).
    fn take(
        &self,
        ids: &[String],
        delivery: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<String>, Self::Error>> + Send;
    fn finish(&self, ids: &[String], attempt: &Attempt) -> impl Future<Output = Result<(), Self::Error>> + Send;
    /// The incident's full analysis for its notifications, when it can be had.
    fn analysed(&self, incident: i64) -> impl Future<Output = Option<Context>> + Send;
    /// Each incident's summary, read together.
    fn summaries(&self, incidents: &[i64]) -> impl Future<Output = Result<Vec<Context>, Self::Error>> + Send;
    /// Deliveries changed these incidents' paging state.
    fn changed(&self, incidents: &[i64]) -> impl Future<Output = Result<(), Self::Error>> + Send;
    /// The page of level `step` reached its target.
    fn escalated(&self, incident: i64, step: i64) -> impl Future<Output = Result<(), Self::Error>> + Send;
}
