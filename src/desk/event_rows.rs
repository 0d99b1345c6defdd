//! Whole rows of the events a detail lists. Scoring reads a projection of
//! the thousands of actions around an incident; the few dozen it lists
//! are read whole, and they are mostly the same ones from one change of
//! the incident to the next. A stored event does not change, so a row
//! read once is kept and only the ones not seen yet are read. Events are
//! only ever removed by retention, a year after they happened: the keeper
//! forgets the kept rows when it removes any.

use crate::api::Event;
use crate::store::{Store, StoreError};
use parking_lot::Mutex;
use std::collections::HashMap;

/// Rows kept: the listed events of a few war rooms.
const KEPT: usize = 2_000;

#[derive(Default)]
pub(super) struct EventRows {
    kept: Mutex<HashMap<String, Event>>,
}

impl EventRows {
    /// The stored events among `ids`, whole, in no particular order.
    pub(super) async fn read(&self, store: &Store, ids: &[&str]) -> Result<Vec<Event>, StoreError> {
        let (mut found, missing) = {
            let kept = self.kept.lock();
            let mut found = Vec::with_capacity(ids.len());
            let mut missing = Vec::new();
            for id in ids {
                match kept.get(*id) {
                    Some(e) => found.push(e.clone()),
                    None => missing.push(*id),
                }
            }
            (found, missing)
        };
        if missing.is_empty() {
            return Ok(found);
        }
        let read = store.events_by_id(&missing).await?;
        {
            let mut kept = self.kept.lock();
            // Full: start again rather than track which were used last; the
            // next detail reads its few dozen again.
            if kept.len() + read.len() > KEPT {
                kept.clear();
            }
            kept.extend(read.iter().map(|e| (e.event_id.clone(), e.clone())));
        }
        found.extend(read);
        Ok(found)
    }

    pub(super) fn clear(&self) {
        self.kept.lock().clear();
    }
}
