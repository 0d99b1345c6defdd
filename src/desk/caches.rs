//! What the desk keeps to serve reads fast, and what it counts of them:
//! incident details once per change, the actions around incidents, whole
//! event rows, the incidents' own events and the rollout's figures. Each is
//! an owned cache with its own lock; none is the record.

use super::{action_window, detail_cache, event_rows, incident_events, rollout};
use std::sync::atomic::Ordering;

#[derive(Default)]
pub(super) struct Caches {
    /// Incident details, once per change.
    pub details: detail_cache::DetailCache,
    /// The actions around the incidents whose detail was computed last.
    pub windows: action_window::ActionWindows,
    /// Whole rows of the events details list.
    pub event_rows: event_rows::EventRows,
    /// The events of the incidents whose detail was computed last.
    pub incident_events: incident_events::IncidentEvents,
    /// The rollout's figures, shared by every reader for a few seconds.
    pub rollout: rollout::RolloutCache,
}

/// What the caches did since the server started: how often each read came
/// from what was kept, and how often from the database.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CacheCounts {
    /// Incident details computed (not served from what was kept).
    pub details_computed: u64,
    /// Action windows read whole, and extended by what was stored since.
    pub windows_read_whole: u64,
    pub windows_extended: u64,
    /// Analyses that folded every action again, and that reused what scoring kept.
    pub scorings_refolded: u64,
    pub scorings_reused: u64,
    /// Incidents' own events read whole, and read since what was kept.
    pub incident_events_whole: u64,
    pub incident_events_since: u64,
}

impl Caches {
    pub fn counts(&self) -> CacheCounts {
        let load = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
        let (incident_events_whole, incident_events_since) = self.incident_events.reads();
        CacheCounts {
            details_computed: self.details.computed(),
            windows_read_whole: load(&self.windows.read_whole),
            windows_extended: load(&self.windows.extended),
            scorings_refolded: load(&self.windows.refolded),
            scorings_reused: load(&self.windows.reused),
            incident_events_whole,
            incident_events_since,
        }
    }

    /// Forgets what is kept of events read before (they were removed).
    pub fn forget_events(&self) {
        self.windows.clear();
        self.incident_events.clear();
        self.event_rows.clear();
    }
}
