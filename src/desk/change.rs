//! A change to incidents, one at a time: the desk's lock in this process,
//! and on a database several servers share, the `desk_head` row in the
//! database. A server that finds another server made the last change
//! catches up from the database before it decides anything: the events
//! stored since it last looked (grouping and sequence tracking), the
//! highest incident id, the change-feed version and, when they changed,
//! agent controls, catalog and routing.

use super::ingest::LATE_EVENTS;
use super::{Desk, DeskState};
use crate::catalog::Catalog;
use crate::routing::Routing;
use crate::store::{Head, StoreError};
use chrono::Utc;
use sqlx::{Any, Transaction};
use std::sync::Arc;
use tokio::sync::MutexGuard;

/// What a committed change did, for the head and the change feed.
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Committed {
    /// The change-feed version after it (the same as before: nothing moved).
    pub version: i64,
    /// Agent controls, the catalog or the routing changed.
    pub config: bool,
    /// Notifications were queued.
    pub paging: bool,
}

impl Committed {
    pub fn version(version: i64) -> Committed {
        Committed { version, ..Committed::default() }
    }
}

impl Desk {
    /// Begins a change: the desk's state, current with the database, and
    /// the transaction to make it in.
    pub(super) async fn begin_change(
        &self,
    ) -> Result<(MutexGuard<'_, DeskState>, Transaction<'static, Any>), StoreError> {
        let mut state = self.state.lock().await;
        let mut tx = self.store.write.begin().await?;
        if self.store.shared() {
            let head = self.store.lock_head(&mut tx).await?;
            if !state.synced || head.writer != self.instance {
                state.synced = false;
                self.catch_up(&mut state, &mut tx, &head).await?;
            }
        }
        if state.chain_tail.is_none() {
            state.chain_tail = Some(self.store.chain_tail(&mut tx).await?);
        }
        Ok((state, tx))
    }

    /// Commits a change begun by `begin_change` and publishes its version.
    pub(super) async fn commit_change(
        &self,
        state: &mut DeskState,
        mut tx: Transaction<'static, Any>,
        change: Committed,
    ) -> Result<(), StoreError> {
        let version = change.version.max(state.version);
        let config_version = state.config_version + i64::from(change.config);
        let paging = state.paging + i64::from(change.paging);
        let mut event_seq = state.event_seq;
        if self.store.shared() {
            let head = Head { version, config_version, paging, event_seq, writer: self.instance.clone() };
            match self.store.write_head(&mut tx, &head).await {
                Ok(seq) => event_seq = seq,
                Err(e) => {
                    state.synced = false;
                    state.chain_tail = None;
                    return Err(e);
                }
            }
        }
        if let Err(e) = tx.commit().await {
            // Whether it committed is unknown: the next change catches up.
            state.synced = false;
            state.chain_tail = None;
            return Err(e.into());
        }
        let moved = version > state.version;
        state.version = version;
        state.config_version = config_version;
        state.paging = paging;
        state.event_seq = event_seq;
        if moved {
            self.publish(version);
        }
        Ok(())
    }

    /// Brings `state` up to `head`, which another server wrote.
    async fn catch_up(
        &self,
        state: &mut DeskState,
        tx: &mut Transaction<'static, Any>,
        head: &Head,
    ) -> Result<(), StoreError> {
        let now = Utc::now();
        let events = self.store.events_after(tx, state.event_seq).await?;
        for (seq, event) in &events {
            state.grouper.restore(event, event.incident_id);
            if let (Some(agent), Some(s)) = (&event.agent_id, event.seq) {
                state.sequences.observe(agent, s, event.occurred_at);
            }
            state.watermark = state.watermark.max(event.occurred_at).min(now);
            state.event_seq = *seq;
        }
        state.grouper.expire(state.watermark - LATE_EVENTS);
        state.chain_tail = None;
        state.event_seq = state.event_seq.max(head.event_seq);
        state.next_incident = self.store.max_incident_id(tx).await? + 1;
        state.version = state.version.max(head.version);
        if head.config_version != state.config_version {
            self.reload_config().await?;
            state.config_version = head.config_version;
        }
        state.paging = head.paging;
        state.synced = true;
        self.publish(state.version);
        if !events.is_empty() {
            tracing::debug!(events = events.len(), version = head.version, writer = %head.writer, "caught up");
        }
        Ok(())
    }

    /// Agent controls, catalog and routing as stored now.
    pub(super) async fn reload_config(&self) -> Result<(), StoreError> {
        self.load_revocations().await?;
        self.load_rules().await?;
        let controls =
            self.store.agent_states().await?.into_iter().map(|(agent, control, _)| (agent, control)).collect();
        *self.config.controls.write() = controls;
        *self.config.stops.write() = Arc::new(self.store.wide_stops(Utc::now()).await?);
        if let Some((_, doc)) = self.store.latest_catalog().await? {
            let catalog = Catalog::new(doc, "stored catalog").unwrap_or_default();
            *self.config.catalog.write() = Arc::new(catalog);
        }
        if let Some((_, doc)) = self.store.latest_routing().await? {
            let routing = Routing::new(doc, "stored routing").unwrap_or_else(|_| Routing::builtin());
            *self.config.routing.write() = Arc::new(routing);
        }
        self.configured();
        Ok(())
    }
}
