//! The incident desk: the one place where incidents change. Event ingest,
//! interventions, verdicts and catalog replacements pass through it one at a
//! time (see `change`), so grouping state, sequence tracking and the
//! change-feed version stay consistent with what is committed, in this
//! process and across servers sharing one database. Reads (incident detail)
//! do not queue here.

mod action_window;
mod approvals;
mod caches;
mod change;
mod configuration;
mod decisions;
mod degradations;
mod detail;
mod detail_cache;
mod disputes;
mod event_rows;
mod flash;
mod incident_events;
mod ingest;
mod interventions;
mod keeper;
mod learning;
mod listener;
mod outbox;
mod paging;
mod revocations;
mod rollout;
mod silences;
mod stops;

pub use approvals::{APPROVALS_ACTOR, ApprovalDecision, FRICTION_BUDGET, GateRequest, digest_of};
pub use caches::CacheCounts;
pub use decisions::InForce;
pub use detail_cache::{ServedDetail, etag_of};
pub use interventions::{
    InterventionError, InterventionOutcome, InterventionRequest, InterventionTarget, VerdictRequest,
};
pub use keeper::{KEEPER, KeeperPass, Retention};
pub use learning::{PatternHistory, UNDETERMINED_TO_ESCALATE};
pub use paging::{LEGACY_TITLE, ROUTING_ACTOR};
pub use rollout::OutreachRefused;
pub use silences::SilenceRequest;
pub use stops::StopRequest;

use change::Committed;

use crate::catalog::{Catalog, CatalogDocument};
use crate::incident::{Grouper, GroupingConfig, SequenceTracker};
use crate::paging::Clock;
use crate::routing::Routing;
use crate::store::{AgentControl, Store, StoreError};
use chrono::Utc;

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{Mutex, watch};

#[derive(Debug, Clone, Default)]
pub struct DeskConfig {
    pub grouping: GroupingConfig,
    /// The time paging goes by: the system's, or a test's.
    pub clock: Clock,
    /// A routing file: replaces the stored routing when it differs.
    pub routing: Option<Routing>,
    /// How far from the server's clock an event's `occurred_at` may be.
    pub event_window: EventWindow,
    /// How long records are kept, and how often the keeper runs.
    pub retention: Retention,
    /// Learned rules marked `auto` carry out their automation; without
    /// this, they gate instead.
    pub allow_auto_rules: bool,
}

/// Events are accepted from `max_age` before the server's clock to
/// `max_ahead` after it: a year-9999 event would top every list forever,
/// a year-1 one would make durations absurd.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventWindow {
    pub max_age: chrono::Duration,
    pub max_ahead: chrono::Duration,
}

impl Default for EventWindow {
    fn default() -> Self {
        EventWindow { max_age: chrono::Duration::days(30), max_ahead: chrono::Duration::minutes(5) }
    }
}

#[derive(Debug, Clone)]
struct DeskState {
    grouper: Grouper,
    /// The newest event time seen, never ahead of the clock: grouping state
    /// expires against it, so late events still find their incident.
    watermark: chrono::DateTime<Utc>,
    sequences: SequenceTracker,
    next_incident: i64,
    version: i64,
    /// Shared databases: the configuration version the controls, catalog and
    /// routing in memory were read at, the paging counter and the last event
    /// replayed; and whether this state is known to match the database.
    config_version: i64,
    paging: i64,
    event_seq: i64,
    synced: bool,
    /// The events' chain hash the next event links to; None: read it from
    /// the database (at start, after a failed commit, after another server wrote).
    chain_tail: Option<String>,
}

/// When an agent's SDK last polled its controls, and which SDK it said it is.
type Contact = (chrono::DateTime<Utc>, Option<String>);

pub struct Desk {
    store: Store,
    /// The single writer's state: one change at a time holds it.
    state: Mutex<DeskState>,
    /// What decisions are made by: catalog, routing, controls, rules, revocations.
    config: configuration::Configuration,
    /// What reads are served from.
    caches: caches::Caches,
    /// The paging worker's handles.
    paging: paging::PagingHandles,
    versions: watch::Sender<i64>,
    /// This server, as `desk_head.writer` names it.
    instance: String,
    clock: Clock,
    event_window: EventWindow,
    retention: Retention,
    /// When agents' SDKs asked for their controls, not yet written.
    contacts: parking_lot::Mutex<HashMap<String, Contact>>,
    /// Refusals reported by agents' SDKs, not yet written: by stop.
    refusals: parking_lot::Mutex<HashMap<(crate::api::StopScope, String), i64>>,
}

impl Desk {
    /// Restores the desk from the store. A catalog given from a file replaces
    /// the stored one when it differs (recorded in the audit log).
    pub async fn open(
        store: Store,
        file_catalog: Option<Catalog>,
        config: DeskConfig,
    ) -> Result<Arc<Desk>, StoreError> {
        store.claim_to_serve().await?;
        // Read first: whatever is stored after it is replayed by the first change.
        let head = if store.shared() { Some(store.read_head().await?) } else { None };
        let (max_id, version) = store.incident_high_water().await?;
        let mut grouper = Grouper::new(config.grouping);
        let now = Utc::now();
        for event in store.recent_errors(now - config.grouping.window - ingest::LATE_EVENTS).await? {
            grouper.restore(&event, event.incident_id);
        }
        let mut sequences = SequenceTracker::default();
        let mut controls = HashMap::new();
        for (agent, control, seq) in store.agent_states().await? {
            if let Some((s, at)) = seq {
                sequences.restore(&agent, s, at);
            }
            controls.insert(agent, control);
        }
        let stored = store.latest_catalog().await?;
        let catalog = match (file_catalog, stored) {
            (Some(file), Some((_, doc))) if &doc == file.document() => file,
            (Some(file), _) => {
                let mut tx = store.write.begin().await?;
                store.save_catalog(&mut tx, file.document(), "mandate serve --catalog", now).await?;
                let details = serde_json::json!({ "services": file.len(), "source": "file" });
                store
                    .append_audit(&mut tx, now, "mandate serve --catalog", "catalog_replaced", "catalog", details)
                    .await?;
                config_changed(&store, &mut tx).await?;
                tx.commit().await?;
                file
            }
            (None, Some((_, doc))) => Catalog::new(doc, "stored catalog").unwrap_or_default(),
            (None, None) => Catalog::default(),
        };
        let routing = match (config.routing, store.latest_routing().await?) {
            (Some(file), Some((_, doc))) if &doc == file.document() => file,
            (Some(file), _) => {
                let mut tx = store.write.begin().await?;
                // One server at a time: replicas starting together with the
                // same file would each see no routing silence yet and each
                // make them. After the lock, the other's are committed and seen.
                if store.shared() {
                    store.lock_head(&mut tx).await?;
                }
                store.save_routing(&mut tx, file.document(), "mandate serve --routing", now).await?;
                let by = "mandate serve --routing";
                let silences =
                    silences::apply_routing_silences(&store, &mut tx, &file, by, config.clock.now(), version).await?;
                let details = serde_json::json!({
                    "rules": file.rules().len(), "source": "file",
                    "silences": { "made": silences.made, "ended": silences.ended, "released": silences.released },
                });
                store
                    .append_audit(&mut tx, now, "mandate serve --routing", "routing_replaced", "routing", details)
                    .await?;
                config_changed(&store, &mut tx).await?;
                tx.commit().await?;
                file
            }
            (None, Some((_, doc))) => Routing::new(doc, "stored routing").unwrap_or_else(|_| Routing::builtin()),
            (None, None) => Routing::builtin(),
        };
        let revoked = store.revoked_tokens().await?;
        let stops = store.wide_stops(now).await?;
        let active_rules = store.rules(Some(crate::api::RuleState::Active), now).await?;
        let head = head.unwrap_or_default();
        let version = version.max(head.version);
        let (versions, _) = watch::channel(version);
        let shared = store.shared();
        let desk = Arc::new(Desk {
            store,
            state: Mutex::new(DeskState {
                grouper,
                watermark: now,
                sequences,
                next_incident: max_id + 1,
                version,
                config_version: head.config_version,
                paging: head.paging,
                event_seq: head.event_seq,
                synced: false,
                chain_tail: None,
            }),
            config: configuration::Configuration::new(
                (catalog, routing),
                (controls, stops),
                active_rules,
                config.allow_auto_rules,
                revoked,
                head.config_version,
            ),
            caches: caches::Caches::default(),
            paging: paging::PagingHandles::new(head.paging),
            versions,
            instance: uuid::Uuid::now_v7().to_string(),
            clock: config.clock,
            event_window: config.event_window,
            retention: config.retention,
            contacts: parking_lot::Mutex::default(),
            refusals: parking_lot::Mutex::default(),
        });
        spawn_analysis_worker(Arc::downgrade(&desk));
        keeper::spawn(Arc::downgrade(&desk), config.retention.every);
        crate::paging::Worker::spawn(Arc::downgrade(&desk));
        stops::spawn_contact_writer(Arc::downgrade(&desk));
        approvals::spawn_expiry(Arc::downgrade(&desk));
        degradations::spawn_watch(Arc::downgrade(&desk));
        if shared {
            listener::spawn(Arc::downgrade(&desk));
        }
        Ok(desk)
    }

    pub fn store(&self) -> &Store {
        &self.store
    }

    pub fn clock(&self) -> &Clock {
        &self.clock
    }

    pub fn event_window(&self) -> EventWindow {
        self.event_window
    }

    /// How long ago the paging worker last finished a pass; None: never.
    pub fn paging_idle(&self) -> Option<chrono::Duration> {
        match self.paging.beat.load(std::sync::atomic::Ordering::Relaxed) {
            0 => None,
            ms => Some(Utc::now() - crate::store::from_millis(ms)),
        }
    }

    /// Whether paging can wake anyone: the receivers routing has, and the
    /// pages that died in the last day.
    pub async fn paging_health(&self) -> Result<crate::api::PagingHealth, StoreError> {
        let routing = self.routing();
        let receivers = routing.receivers().channels().into_iter().map(str::to_owned).collect();
        let dead_last_day = self.store.dead_since(Utc::now() - chrono::Duration::days(1)).await?;
        Ok(crate::api::PagingHealth { receivers, dead_last_day })
    }

    pub fn catalog(&self) -> Arc<Catalog> {
        self.config.catalog.read().clone()
    }

    /// The change-feed version: it moves whenever an incident changes.
    pub fn version(&self) -> i64 {
        *self.versions.borrow()
    }

    pub fn subscribe(&self) -> watch::Receiver<i64> {
        self.versions.subscribe()
    }

    /// The routing in force: the stored one, or the built-in defaults.
    pub fn routing(&self) -> Arc<Routing> {
        self.config.routing.read().clone()
    }

    /// Replaces the routing (admin), recorded in the audit log; its version.
    pub async fn replace_routing(&self, routing: Routing, by: &str) -> Result<i64, StoreError> {
        let (mut state, mut tx) = self.begin_change().await?;
        let now = Utc::now();
        let version = self.store.save_routing(&mut tx, routing.document(), by, now).await?;
        // Every open incident's routing may have changed: consoles fetch again.
        let feed = state.version + 1;
        let silences =
            silences::apply_routing_silences(&self.store, &mut tx, &routing, by, self.clock.now(), feed).await?;
        let details = serde_json::json!({
            "rules": routing.rules().len(), "routing_version": version,
            "silences": { "made": silences.made, "ended": silences.ended, "released": silences.released },
        });
        self.store.append_audit(&mut tx, now, by, "routing_replaced", "routing", details).await?;
        let paging = !silences.released.is_empty();
        self.commit_change(&mut state, tx, Committed { version: feed, config: true, paging }).await?;
        *self.config.routing.write() = Arc::new(routing);
        self.configured();
        self.queued(silences.released.len());
        Ok(version)
    }

    pub fn agent_control(&self, agent_id: &str) -> AgentControl {
        self.config.controls.read().get(agent_id).cloned().unwrap_or_default()
    }

    /// Wakes whenever the configuration in memory changes: agents' controls,
    /// catalog, routing, rules, revocations.
    pub fn config_changes(&self) -> tokio::sync::watch::Receiver<u64> {
        self.config.subscribe()
    }

    /// The configuration in memory changed (after the change is in place).
    fn configured(&self) {
        self.config.changed();
    }

    fn controls_snapshot(&self) -> HashMap<String, AgentControl> {
        self.config.controls.read().clone()
    }

    /// Moves the change feed forward to `version`; never back.
    fn publish(&self, version: i64) {
        self.versions.send_if_modified(|current| {
            let newer = version > *current;
            if newer {
                *current = version;
            }
            newer
        });
    }

    /// Replaces the catalog (admin), recorded in the audit log.
    pub async fn replace_catalog(&self, document: CatalogDocument, by: &str) -> Result<i64, StoreError> {
        let catalog = Catalog::new(document, "request").map_err(|e| StoreError::Refused(e.to_string()))?;
        let (mut state, mut tx) = self.begin_change().await?;
        let now = Utc::now();
        let version = self.store.save_catalog(&mut tx, catalog.document(), by, now).await?;
        let details = serde_json::json!({ "services": catalog.len(), "catalog_version": version });
        self.store.append_audit(&mut tx, now, by, "catalog_replaced", "catalog", details).await?;
        let feed = state.version + 1;
        self.commit_change(&mut state, tx, Committed { version: feed, config: true, paging: false }).await?;
        *self.config.catalog.write() = Arc::new(catalog);
        self.configured();
        Ok(version)
    }
}

/// A server starting with its own catalog or routing file changed the
/// configuration every server shares: they read it again.
async fn config_changed(store: &Store, tx: &mut sqlx::Transaction<'static, sqlx::Any>) -> Result<(), StoreError> {
    if store.shared() {
        let mut head = store.lock_head(tx).await?;
        head.config_version += 1;
        head.writer = String::new();
        store.write_head(tx, &head).await?;
    }
    Ok(())
}

/// Works off the analyses due (pattern signatures, routing with the suspect
/// known) every 2 s at most, off the ingest path, on the server that holds
/// the background duties: once, whichever server made the change.
fn spawn_analysis_worker(desk: std::sync::Weak<Desk>) {
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(Duration::from_secs(2)).await;
            let Some(desk) = desk.upgrade() else { return };
            if !desk.store.holds_duties() {
                continue;
            }
            let due = match desk.store.analysis_due(500).await {
                Ok(due) => due,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read the analyses due");
                    continue;
                }
            };
            for (id, version) in due {
                let done = match desk.refresh_analysis(id).await {
                    Ok(()) => desk.store.analysis_done(id, version).await,
                    Err(e) => Err(e),
                };
                if let Err(e) = done {
                    tracing::warn!(incident = id, error = %e, "incident analysis failed");
                }
            }
        }
    });
}

/// Makes room in `kept`, which holds at most `limit` incidents, for
/// incident `id`: the one used longest ago goes, unless `id` is already
/// there.
fn make_room<V>(kept: &mut HashMap<i64, V>, id: i64, limit: usize, used: impl Fn(&V) -> u64) {
    if kept.len() >= limit
        && !kept.contains_key(&id)
        && let Some(oldest) = kept.iter().min_by_key(|(_, v)| used(v)).map(|(id, _)| *id)
    {
        kept.remove(&oldest);
    }
}
