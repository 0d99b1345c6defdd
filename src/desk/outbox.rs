//! The paging worker's view of the desk: the outbox in the store, the
//! routing in force, the incidents the notifications are about.

use super::Desk;
use crate::paging::{Attempt, Context, LastSent, Limits, Outbox, PageRow, Receivers};
use crate::store::StoreError;
use chrono::{DateTime, Utc};
use std::sync::Arc;
use tokio::sync::Notify;

impl Outbox for Desk {
    type Error = StoreError;

    fn wake(&self) -> Arc<Notify> {
        self.paging.wake.clone()
    }

    fn holds_duties(&self) -> bool {
        self.store.holds_duties()
    }

    fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    fn beat(&self) {
        self.paging.beat.store(Utc::now().timestamp_millis(), std::sync::atomic::Ordering::Relaxed);
    }

    fn delivery(&self) -> (Limits, Receivers) {
        let routing = self.routing();
        (routing.limits(), routing.receivers().clone())
    }

    async fn queue_scheduled(&self) -> Result<(), StoreError> {
        self.queue_departed_digest().await?;
        self.queue_weekly_status().await?;
        self.queue_flash_digest().await?;
        Ok(())
    }

    async fn reclaim_sending(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        self.store.reclaim_sending(now).await
    }

    async fn next_due(&self) -> Result<Option<DateTime<Utc>>, StoreError> {
        self.store.next_due().await
    }

    async fn due(&self, now: DateTime<Utc>, limit: i64) -> Result<Vec<PageRow>, StoreError> {
        self.store.due_pages(now, limit).await
    }

    async fn last_sent(&self, since: DateTime<Utc>) -> Result<LastSent, StoreError> {
        self.store.last_sent(since).await
    }

    async fn coordinator(&self, incident: i64) -> Result<Option<String>, StoreError> {
        Ok(self.store.get_incident(incident).await?.and_then(|i| i.summary.coordinator))
    }

    async fn cancel(&self, ids: &[String], why: &str) -> Result<(), StoreError> {
        self.store.cancel_pages(ids, why).await
    }

    async fn defer(&self, ids: &[String], until: DateTime<Utc>) -> Result<(), StoreError> {
        self.store.defer_pages(ids, until).await
    }

    async fn take(
        &self,
        ids: &[String],
        delivery: &str,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
    ) -> Result<Vec<String>, StoreError> {
        self.store.take_pages(ids, delivery, now, lease_until).await
    }

    async fn finish(&self, ids: &[String], attempt: &Attempt) -> Result<(), StoreError> {
        self.store.finish_pages(ids, attempt).await
    }

    async fn analysed(&self, incident: i64) -> Option<Context> {
        match self.incident_detail(incident).await {
            Ok(Some(served)) => Some(Context::from_detail(&served.detail)),
            _ => None,
        }
    }

    async fn summaries(&self, incidents: &[i64]) -> Result<Vec<Context>, StoreError> {
        Ok(self.store.incidents_by_id(incidents).await?.iter().map(|r| Context::from_summary(&r.summary)).collect())
    }

    async fn changed(&self, incidents: &[i64]) -> Result<(), StoreError> {
        self.pages_changed(incidents).await
    }

    async fn escalated(&self, incident: i64, step: i64) -> Result<(), StoreError> {
        self.escalated_by_routing(incident, step).await
    }
}
