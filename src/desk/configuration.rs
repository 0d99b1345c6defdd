//! What the desk decides by, as this server last read it: the catalog, the
//! routing, the agents' controls, the active learned rules and the revoked
//! tokens. A read is a clone of an `Arc` (or of one agent's controls); every
//! change moves the epoch, so that details computed before it are not
//! served after it.

use crate::api::{AgentStop, LearnedRule};
use crate::catalog::Catalog;
use crate::routing::Routing;
use crate::store::AgentControl;
use parking_lot::RwLock;
use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::sync::atomic::AtomicI64;

/// A stop wider or narrower than one agent, with its run's agent when it
/// is a known run's.
pub(super) type WideStop = (AgentStop, Option<String>);

pub(super) struct Configuration {
    pub catalog: RwLock<Arc<Catalog>>,
    pub routing: RwLock<Arc<Routing>>,
    pub controls: RwLock<HashMap<String, AgentControl>>,
    /// Stops in force wider or narrower than one agent, each with its run's
    /// agent when it is a known run's.
    pub stops: RwLock<Arc<Vec<WideStop>>>,
    /// Active learned rules.
    pub rules: RwLock<Arc<Vec<LearnedRule>>>,
    /// Learned rules marked `auto` carry out their automation; without
    /// this, they gate instead.
    pub allow_auto_rules: bool,
    /// Digests of tokens revoked on any server of this database.
    pub revoked: RwLock<HashSet<[u8; 32]>>,
    /// The configuration version last heard from another server.
    pub heard: AtomicI64,
    /// Moves on every change; waiters (an agent's control long poll) are woken.
    epoch: tokio::sync::watch::Sender<u64>,
}

impl Configuration {
    pub fn new(
        (catalog, routing): (Catalog, Routing),
        (controls, stops): (HashMap<String, AgentControl>, Vec<WideStop>),
        rules: Vec<LearnedRule>,
        allow_auto_rules: bool,
        revoked: HashSet<[u8; 32]>,
        heard: i64,
    ) -> Configuration {
        Configuration {
            catalog: RwLock::new(Arc::new(catalog)),
            routing: RwLock::new(Arc::new(routing)),
            controls: RwLock::new(controls),
            stops: RwLock::new(Arc::new(stops)),
            rules: RwLock::new(Arc::new(rules)),
            allow_auto_rules,
            revoked: RwLock::new(revoked),
            heard: AtomicI64::new(heard),
            epoch: tokio::sync::watch::Sender::new(0),
        }
    }

    /// Moves whenever anything here changed.
    pub fn epoch(&self) -> u64 {
        *self.epoch.borrow()
    }

    /// Wakes on each change.
    pub fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.epoch.subscribe()
    }

    /// Something here changed (call after the change is in place).
    pub fn changed(&self) {
        self.epoch.send_modify(|e| *e += 1);
    }
}
