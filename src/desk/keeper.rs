//! The record keeper, one of the background duties: it anchors the
//! events' chain in the audit log and removes what expired, on the one
//! server that holds the duties.

use super::Desk;
use crate::audit::Anchor;
use crate::store::{Cutoffs, Pruned, StoreError};
use chrono::{DateTime, Duration, Utc};
use std::sync::Weak;

/// The keeper's name in the audit log.
pub const KEEPER: &str = "mandate records";

/// How long each kind of record is kept (None: for ever), and how often the
/// keeper runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    pub events: Option<Duration>,
    pub runs: Option<Duration>,
    pub idempotency_keys: Option<Duration>,
    pub access_log: Option<Duration>,
    pub rejections: Option<Duration>,
    pub every: std::time::Duration,
}

impl Default for Retention {
    fn default() -> Self {
        Retention {
            events: Some(Duration::days(365)),
            runs: Some(Duration::days(365)),
            idempotency_keys: Some(Duration::days(7)),
            access_log: Some(Duration::days(365)),
            rejections: Some(Duration::days(90)),
            every: std::time::Duration::from_secs(60),
        }
    }
}

impl Retention {
    pub fn cutoffs(&self, now: DateTime<Utc>) -> Cutoffs {
        let before = |keep: Option<Duration>| keep.map(|d| now - d);
        Cutoffs {
            events: before(self.events),
            runs: before(self.runs),
            idempotency_keys: before(self.idempotency_keys),
            access_log: before(self.access_log),
            rejections: before(self.rejections),
        }
    }
}

/// What one pass of the keeper did.
#[derive(Debug, Clone, Default)]
pub struct KeeperPass {
    pub pruned: Pruned,
    pub anchor: Option<Anchor>,
    /// Active rules idle too long, proposed for sunset in this pass.
    pub sunsets: Vec<i64>,
}

impl Desk {
    /// One pass: prune what expired, then anchor the chain's head if it moved.
    pub async fn keep_records(&self) -> Result<KeeperPass, StoreError> {
        let now = self.clock.now();
        let pruned = self.store.prune(self.retention.cutoffs(now), now, KEEPER).await?;
        if pruned.events > 0 {
            // What is kept of events read before is read again.
            self.caches.forget_events();
        }
        if !pruned.is_empty() {
            tracing::info!(
                events = pruned.events,
                runs = pruned.runs,
                idempotency_keys = pruned.idempotency_keys,
                access_log = pruned.access_log,
                attribution_rejections = pruned.attribution_rejections,
                "expired records removed"
            );
        }
        let mut tx = self.store.write.begin().await?;
        let anchor = self.store.anchor_events(&mut tx, now, KEEPER).await?;
        tx.commit().await?;
        let sunsets = self.propose_sunsets().await?;
        Ok(KeeperPass { pruned, anchor, sunsets })
    }
}

impl Desk {
    /// Anchors the events' chain head in the audit log now (when it moved
    /// since the last anchor): at shutdown, so that nothing stored by this
    /// server is left after the last anchor.
    pub async fn anchor_now(&self) -> Result<Option<Anchor>, StoreError> {
        let mut tx = self.store.write.begin().await?;
        let anchor = self.store.anchor_events(&mut tx, self.clock.now(), KEEPER).await?;
        tx.commit().await?;
        Ok(anchor)
    }
}

pub(super) fn spawn(desk: Weak<Desk>, every: std::time::Duration) {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(every).await;
            let Some(desk) = desk.upgrade() else { return };
            if !desk.store.holds_duties() {
                continue;
            }
            if let Err(e) = desk.keep_records().await {
                tracing::warn!(error = %e, "the record keeper's pass failed; it runs again later");
            }
        }
    });
}
