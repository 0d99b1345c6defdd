//! The chain of stored events. Each event's `chain_hash` is the SHA-256 of
//! the previous event's hash and the event as stored, in the order events
//! were stored, so changing, inserting or removing an event breaks every
//! link after it. Anchors in the audit log (itself chained) record the
//! hash at a point: rewriting the events and re-linking all that follow
//! still disagrees with the anchor, and the retention job's anchor is
//! where the chain resumes after a prune.

use sha2::{Digest, Sha256};
use std::collections::BTreeMap;

/// The link of an event, given as its canonical bytes as stored, after
/// `prev` (the previous event's hash; for the first event chained,
/// [`super::GENESIS`]).
pub fn event_link(prev: &str, canonical: &[u8]) -> String {
    let mut hasher = Sha256::new();
    hasher.update(prev.as_bytes());
    hasher.update(b"\n");
    hasher.update(canonical);
    hex::encode(hasher.finalize())
}

/// One stored event as the chain sees it.
#[derive(Debug, Clone)]
pub struct ChainedEvent {
    /// Its storage position.
    pub position: i64,
    /// Its stored link; none for an event stored before the chain began.
    pub hash: Option<String>,
    pub event_id: String,
    /// Its canonical bytes, as linked.
    pub canonical: Vec<u8>,
}

/// A recorded point of the chain: the event stored at `position` had `hash`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Anchor {
    pub position: i64,
    pub hash: String,
    /// The audit entry that recorded it.
    #[serde(default)]
    pub audit_seq: i64,
}

/// The outcome of checking the events' chain.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct EventChainStatus {
    pub verified: bool,
    /// Events whose link was recomputed and held.
    pub events_checked: i64,
    /// Events stored before the chain began (by an older version), not linked.
    pub unchained: i64,
    /// Anchors from the audit log that matched the chain.
    pub anchors_checked: i64,
    /// The first event whose link or anchor does not hold.
    pub first_broken_event: Option<String>,
    pub problem: Option<String>,
}

/// How far a verification of the events has come, a batch at a time.
#[derive(Debug, Clone)]
pub struct EventProgress {
    /// The storage position checked last.
    pub after: i64,
    /// No event may be stored at or before this position: the server never
    /// writes one at 0 or below, and a prune removed all up to its anchor.
    floor: i64,
    prev_hash: String,
    started: bool,
    checked: i64,
    unchained: i64,
    anchors: BTreeMap<i64, Anchor>,
    anchors_checked: i64,
    broken: Option<EventChainStatus>,
}

impl EventProgress {
    /// From the start of what is stored: after `pruned` (the retention
    /// job's last anchor) if anything was pruned, checking `anchors` on the way.
    pub fn new(pruned: Option<Anchor>, anchors: Vec<Anchor>) -> EventProgress {
        let (floor, prev_hash, started) = match &pruned {
            Some(a) => (a.position.max(0), a.hash.clone(), true),
            None => (0, super::GENESIS.to_owned(), false),
        };
        // Read from the first row that exists, wherever it stands.
        let after = i64::MIN;
        EventProgress {
            after,
            floor,
            prev_hash,
            started,
            checked: 0,
            unchained: 0,
            anchors: anchors.into_iter().filter(|a| a.position > floor).map(|a| (a.position, a)).collect(),
            anchors_checked: 0,
            broken: None,
        }
    }

    pub fn is_broken(&self) -> bool {
        self.broken.is_some()
    }

    fn fail(&mut self, event: &str, problem: String) {
        self.broken = Some(EventChainStatus {
            first_broken_event: Some(event.to_owned()),
            problem: Some(problem),
            verified: false,
            ..self.counts()
        });
    }

    fn counts(&self) -> EventChainStatus {
        EventChainStatus {
            verified: true,
            events_checked: self.checked,
            unchained: self.unchained,
            anchors_checked: self.anchors_checked,
            first_broken_event: None,
            problem: None,
        }
    }

    /// Checks the events that follow, in storage order.
    pub fn advance<'a>(&mut self, rows: impl IntoIterator<Item = &'a ChainedEvent>) {
        for ChainedEvent { position, hash, event_id, canonical } in rows {
            if self.broken.is_some() {
                return;
            }
            let id = event_id.as_str();
            if *position <= self.floor {
                let problem = match self.floor {
                    0 => format!(
                        "event {id} is stored at #{position}, a position the server never writes: it was inserted by hand"
                    ),
                    floor => format!(
                        "event {id} is stored at #{position}, at or before #{floor} where records were pruned: it was inserted by hand"
                    ),
                };
                return self.fail(id, problem);
            }
            if let Some((_, gone)) = self.anchors.range(..*position).next() {
                let problem = format!(
                    "the event stored at #{} that audit entry {} anchors is gone: events before {id} were removed",
                    gone.position, gone.audit_seq
                );
                return self.fail(id, problem);
            }
            let Some(hash) = hash else {
                if self.started {
                    return self.fail(
                        id,
                        format!("event {id} (stored #{position}) has no link: it was inserted or its link removed"),
                    );
                }
                self.unchained += 1;
                self.after = *position;
                continue;
            };
            self.started = true;
            if event_link(&self.prev_hash, canonical) != *hash {
                let problem = format!(
                    "event {id} (stored #{position}) does not match its link: it was changed, or an event before it was removed or inserted"
                );
                return self.fail(id, problem);
            }
            if let Some(anchor) = self.anchors.remove(position) {
                if anchor.hash != *hash {
                    let problem = format!(
                        "event {id} (stored #{position}) differs from the anchor in audit entry {}: the chain was rewritten up to it",
                        anchor.audit_seq
                    );
                    return self.fail(id, problem);
                }
                self.anchors_checked += 1;
            }
            self.prev_hash = hash.clone();
            self.after = *position;
            self.checked += 1;
        }
    }

    /// The result once every stored event was advanced over.
    pub fn finish(&mut self) -> EventChainStatus {
        if let Some(broken) = &self.broken {
            return broken.clone();
        }
        if let Some((_, anchor)) = self.anchors.iter().next() {
            let last = match self.after {
                i64::MIN => "none is stored".to_owned(),
                after => format!("the last one stored is #{after}"),
            };
            let problem = format!(
                "audit entry {} anchors an event stored at #{}, and {last}: events were removed from the end",
                anchor.audit_seq, anchor.position
            );
            let status =
                EventChainStatus { verified: false, first_broken_event: None, problem: Some(problem), ..self.counts() };
            self.broken = Some(status.clone());
            return status;
        }
        self.counts()
    }
}
