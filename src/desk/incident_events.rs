//! An incident's own events, kept between its changes. A busy incident
//! has hundreds of errors, and each change adds one or two: the events
//! read for the last change are kept with the storage position they were
//! read at, and the next change reads only those stored since. An event's
//! incident is set when it is stored and never changes, so what was read
//! stays true; the keeper forgets what is kept when it removes events. A
//! duplicate merged into the incident brings its events, which were stored
//! before: what is kept is read whole again when its members change.

use crate::api::Event;
use crate::store::{INCIDENT_EVENTS, Store, StoreError};
use parking_lot::Mutex;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Incidents whose events are kept: a handful of war rooms.
const KEPT: usize = 8;

struct Kept {
    /// The storage position everything up to was read.
    through: i64,
    /// The incidents whose events these are: it and its merged duplicates.
    members: Vec<i64>,
    events: Arc<Vec<Event>>,
    used: u64,
}

#[derive(Default)]
pub(super) struct IncidentEvents {
    kept: Mutex<HashMap<i64, Kept>>,
    clock: AtomicU64,
    /// Reads of an incident's events whole, and of what was stored since.
    read_whole: AtomicU64,
    read_since: AtomicU64,
}

impl IncidentEvents {
    /// An incident's events as [`Store::incident_events`] reads them:
    /// `members` is the incident, then the duplicates merged into it.
    /// `through` is [`Store::events_stored_through`] read before this is
    /// called.
    pub(super) async fn read(
        &self,
        store: &Store,
        members: &[i64],
        through: i64,
    ) -> Result<Arc<Vec<Event>>, StoreError> {
        let id = members[0];
        // Taken: a computation running beside this one reads its own.
        let kept = self.lock().remove(&id).filter(|k| k.through <= through && k.members == members);
        let events = match kept {
            Some(mut kept) => {
                self.read_since.fetch_add(1, Ordering::Relaxed);
                let stored = store.incident_events_since(members, Some(kept.through)).await?;
                if !stored.is_empty() {
                    let known: HashSet<&str> = kept.events.iter().map(|e| e.event_id.as_str()).collect();
                    let new: Vec<Event> = stored.into_iter().filter(|e| !known.contains(e.event_id.as_str())).collect();
                    let events = Arc::make_mut(&mut kept.events);
                    events.extend(new);
                    events.sort_by(|a, b| a.occurred_at.cmp(&b.occurred_at).then(a.event_id.cmp(&b.event_id)));
                    events.truncate(INCIDENT_EVENTS);
                }
                kept.events
            }
            None => {
                self.read_whole.fetch_add(1, Ordering::Relaxed);
                Arc::new(store.incident_events(members).await?)
            }
        };
        self.put(members, through, events.clone());
        Ok(events)
    }

    fn put(&self, members: &[i64], through: i64, events: Arc<Vec<Event>>) {
        let id = members[0];
        let used = self.clock.fetch_add(1, Ordering::Relaxed);
        let mut kept = self.lock();
        if kept.get(&id).is_some_and(|k| k.through > through) {
            return; // a computation beside this one read further
        }
        super::make_room(&mut kept, id, KEPT, |k| k.used);
        kept.insert(id, Kept { through, members: members.to_vec(), events, used });
    }

    pub(super) fn clear(&self) {
        self.lock().clear();
    }

    /// Reads whole, and of what was stored since: for tests and benchmarks.
    pub(super) fn reads(&self) -> (u64, u64) {
        (self.read_whole.load(Ordering::Relaxed), self.read_since.load(Ordering::Relaxed))
    }

    fn lock(&self) -> parking_lot::MutexGuard<'_, HashMap<i64, Kept>> {
        self.kept.lock()
    }
}
