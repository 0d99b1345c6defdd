//! The actions around an incident, kept between its changes. In a war
//! room an incident changes every few seconds and its correlation window
//! holds thousands of actions: reading them all again for each change
//! costs more than everything else the detail does. The window read for
//! the last change is kept with the storage position it was read at, and
//! the next change reads only what may add to it (see
//! [`Store::related_actions_since`]): what was stored since, what its
//! window newly covers, and what a new failing resource or trace brings.
//! The deploys and migrations on its resources (their change history, for
//! rollbacks) are kept the same way.
//!
//! It is the same set a full read gives (`tests/suite/war_room.rs` compares it
//! with a server that reads it whole): anything else reads it whole again
//! — an earlier first error, a window or set of resources that shrank, a
//! read that reached its limit, a window that was not kept.

use super::Desk;
use crate::api::{Event, Outcome};
use crate::incident::ScoringMemo;
use crate::store::{HISTORY, MAX_ACTIONS, MAX_NESTED, Related, Store, StoreError, newest_first};
use chrono::{DateTime, Utc};
use parking_lot::Mutex;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

/// Windows kept: a handful of war rooms. One holds up to
/// [`MAX_ACTIONS`] projected actions, a few MiB.
const KEPT: usize = 8;

/// What one incident's actions were read for, and what was read.
struct Window {
    from: DateTime<Utc>,
    to: DateTime<Utc>,
    resources: BTreeSet<String>,
    traces: BTreeSet<String>,
    /// The storage position everything up to was read.
    through: i64,
    actions: Arc<Vec<Event>>,
    ids: HashSet<String>,
    /// [`Store::change_history`] of `resources`.
    history: Arc<Vec<Event>>,
    /// Nested calls among `actions`.
    nested: usize,
    used: u64,
    /// Names `actions`: a list only ever appended to, made by a full read.
    list: u64,
    /// What scoring kept of `actions`; None while a computation has it.
    scoring: Option<ScoringMemo>,
}

/// The kept windows, by incident.
#[derive(Default)]
pub(super) struct ActionWindows {
    kept: Mutex<HashMap<i64, Window>>,
    clock: std::sync::atomic::AtomicU64,
    /// The last list of actions made (see `Window::list`).
    lists: std::sync::atomic::AtomicU64,
    /// Windows read whole, and extended (see `CacheCounts`).
    pub(super) read_whole: std::sync::atomic::AtomicU64,
    pub(super) extended: std::sync::atomic::AtomicU64,
    /// Analyses that folded every action again, and that reused what
    /// scoring kept.
    pub(super) refolded: std::sync::atomic::AtomicU64,
    pub(super) reused: std::sync::atomic::AtomicU64,
}

impl ActionWindows {
    /// Takes incident `id`'s window: a computation running beside this one
    /// for the same incident reads its own.
    fn take(&self, id: i64) -> Option<Window> {
        self.kept.lock().remove(&id)
    }

    pub(super) fn clear(&self) {
        self.kept.lock().clear();
    }

    fn put(&self, id: i64, mut window: Window) {
        window.used = self.clock.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut kept = self.kept.lock();
        super::make_room(&mut kept, id, KEPT, |w| w.used);
        kept.insert(id, window);
    }
}

/// What is read around an incident: the actions in its correlation window
/// and the change history of its resources; and what scoring kept of the
/// actions, to be given back (see [`Desk::keep_scoring`]).
pub(super) struct Around {
    pub actions: Arc<Vec<Event>>,
    pub history: Arc<Vec<Event>>,
    /// Names `actions` for scoring (0: not kept).
    pub list: u64,
    pub scoring: ScoringMemo,
}

/// What the actions around an incident are read for.
pub(super) struct Wanted<'a> {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub resources: &'a [String],
    pub traces: &'a [String],
}

impl Desk {
    /// The actions around incident `id` (see [`Store::related_actions`])
    /// and the change history of their resources: read whole the first
    /// time, then extended by what was stored since. `through` is
    /// [`Store::events_stored_through`] read before this is called.
    pub(super) async fn around(&self, id: i64, wanted: &Wanted<'_>, through: i64) -> Result<Around, StoreError> {
        use std::sync::atomic::Ordering;
        if let Some(window) = self.caches.windows.take(id).filter(|w| w.extends_to(wanted, through))
            && let Some(mut window) = extend(&self.store, window, wanted, through).await?
        {
            self.caches.windows.extended.fetch_add(1, Ordering::Relaxed);
            let around = Around {
                actions: window.actions.clone(),
                history: window.history.clone(),
                list: window.list,
                scoring: window.scoring.take().unwrap_or_default(),
            };
            self.caches.windows.put(id, window);
            return Ok(around);
        }
        self.caches.windows.read_whole.fetch_add(1, Ordering::Relaxed);
        let (related, history) = tokio::join!(
            self.store.related_actions(wanted.from, wanted.to, wanted.resources, wanted.traces),
            self.store.change_history(wanted.resources)
        );
        let history = Arc::new(history?);
        let list = self.caches.windows.lists.fetch_add(1, Ordering::Relaxed) + 1;
        match Window::read(related?, history.clone(), wanted, through, list) {
            Ok(mut window) => {
                let actions = window.actions.clone();
                let scoring = window.scoring.take().unwrap_or_default();
                self.caches.windows.put(id, window);
                Ok(Around { actions, history, list, scoring })
            }
            // It reached a limit: not kept, the next change reads it whole.
            Err(related) => {
                Ok(Around { actions: Arc::new(related.actions), history, list: 0, scoring: ScoringMemo::default() })
            }
        }
    }

    /// Gives back what scoring kept of the actions `around` gave, for the
    /// next change: kept if the window still holds that list and nothing
    /// newer was given back.
    pub(super) fn keep_scoring(&self, id: i64, list: u64, scoring: ScoringMemo) {
        let counter = if scoring.refolded { &self.caches.windows.refolded } else { &self.caches.windows.reused };
        counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut kept = self.caches.windows.kept.lock();
        if let Some(window) = kept.get_mut(&id).filter(|w| w.list == list && list != 0 && w.scoring.is_none()) {
            window.scoring = Some(scoring);
        }
    }
}

impl Window {
    /// A window read whole, if it is whole: no query reached its limit.
    fn read(
        related: Related,
        history: Arc<Vec<Event>>,
        wanted: &Wanted<'_>,
        through: i64,
        list: u64,
    ) -> Result<Window, Related> {
        if !related.complete {
            return Err(related);
        }
        let ids: HashSet<String> = related.actions.iter().map(|e| e.event_id.clone()).collect();
        let nested = related.actions.iter().filter(|e| !matches_directly(e, wanted)).count();
        Ok(Window {
            from: wanted.from,
            to: wanted.to,
            resources: wanted.resources.iter().cloned().collect(),
            traces: wanted.traces.iter().cloned().collect(),
            through,
            actions: Arc::new(related.actions),
            ids,
            history,
            nested,
            used: 0,
            list,
            scoring: None,
        })
    }

    /// Adds `e`, unless it is there already.
    fn add(&mut self, e: Event, wanted: &Wanted<'_>) {
        if self.ids.insert(e.event_id.clone()) {
            self.nested += usize::from(!matches_directly(&e, wanted));
            Arc::make_mut(&mut self.actions).push(e);
        }
    }

    /// Whether this window, read at `self.through`, can be brought to
    /// `wanted` at `through` by adding to it.
    fn extends_to(&self, wanted: &Wanted<'_>, through: i64) -> bool {
        self.from == wanted.from
            && self.to <= wanted.to
            && self.through <= through
            && self.resources.iter().all(|r| wanted.resources.contains(r))
            && self.traces.iter().all(|t| wanted.traces.contains(t))
    }
}

/// Successful, and on a wanted resource or trace: an action found by
/// itself rather than as a call nested under one.
fn matches_directly(e: &Event, wanted: &Wanted<'_>) -> bool {
    e.outcome == Outcome::Ok
        && (e.resource.as_ref().is_some_and(|r| wanted.resources.contains(r))
            || e.trace_id.as_ref().is_some_and(|t| wanted.traces.contains(t)))
}

/// `window` brought to `wanted` at storage position `through`; None when
/// it would pass a limit a full read has.
async fn extend(
    store: &Store,
    mut window: Window,
    wanted: &Wanted<'_>,
    through: i64,
) -> Result<Option<Window>, StoreError> {
    let new_resources: Vec<String> =
        wanted.resources.iter().filter(|r| !window.resources.contains(*r)).cloned().collect();
    let new_traces: Vec<String> = wanted.traces.iter().filter(|t| !window.traces.contains(*t)).cloned().collect();
    let brought = async {
        if new_resources.is_empty() && new_traces.is_empty() {
            return Ok(Related { actions: vec![], complete: true });
        }
        store.related_actions(wanted.from, wanted.to, &new_resources, &new_traces).await
    };
    // What was stored since, and what the window newly covers, as of a
    // read that began after `through` was.
    let since = store.related_actions_since(
        window.through,
        (wanted.from, wanted.to),
        window.to,
        wanted.resources,
        wanted.traces,
    );
    // The history of new resources is read whole; of the others, what
    // was stored since is added to it.
    let history = async {
        if new_resources.is_empty() {
            store.change_history_since(window.through, wanted.resources).await
        } else {
            store.change_history(wanted.resources).await
        }
    };
    let (brought, since, history) = tokio::join!(brought, since, history);
    let (brought, Some(since), history) = (brought?, since?, history?) else { return Ok(None) };
    if !brought.complete {
        return Ok(None);
    }
    if new_resources.is_empty() {
        if !history.is_empty() {
            let kept = Arc::make_mut(&mut window.history);
            let known: HashSet<&str> = kept.iter().map(|e| e.event_id.as_str()).collect();
            let added: Vec<Event> = history.into_iter().filter(|e| !known.contains(e.event_id.as_str())).collect();
            kept.extend(added);
            newest_first(kept);
            kept.truncate(HISTORY);
        }
    } else {
        window.history = Arc::new(history);
    }
    for e in brought.actions {
        window.add(e, wanted);
    }
    // The calls among what was stored since nest under what is known, or
    // under one another: a pass per level, as a full read goes.
    let mut pending: Vec<Event> = since.into_iter().filter(|e| !window.ids.contains(&e.event_id)).collect();
    let mut added = Vec::new();
    for _ in 0..=16 {
        let before = pending.len();
        let (found, rest): (Vec<Event>, Vec<Event>) = pending.into_iter().partition(|e| {
            matches_directly(e, wanted) || e.parent_event_id.as_ref().is_some_and(|p| window.ids.contains(p))
        });
        pending = rest;
        for e in found {
            added.push(e.event_id.clone());
            window.add(e, wanted);
        }
        if pending.len() == before {
            break;
        }
    }
    // Calls stored before the action they were made from (a client may
    // send a call first): read under it now, a level at a time.
    let mut frontier = added;
    for _ in 0..16 {
        if frontier.is_empty() || window.nested > MAX_NESTED {
            break;
        }
        let calls = store.children_of(&frontier, wanted.from, wanted.to).await?;
        frontier = calls.iter().filter(|e| !window.ids.contains(&e.event_id)).map(|e| e.event_id.clone()).collect();
        for e in calls {
            window.add(e, wanted);
        }
    }
    if window.actions.len() > MAX_ACTIONS || window.nested > MAX_NESTED {
        return Ok(None);
    }
    window.to = wanted.to;
    window.resources = wanted.resources.iter().cloned().collect();
    window.traces = wanted.traces.iter().cloned().collect();
    window.through = through;
    Ok(Some(window))
}
