//! The tamper-evident audit log: each entry holds the SHA-256 of the previous
//! entry's canonical encoding, so changing or removing any row breaks the
//! chain from that row on, and `verify` names the first broken row.

mod events;
mod record_head;

pub use crate::api::{AuditEntry, ChainStatus};
pub use events::{Anchor, ChainedEvent, EventChainStatus, EventProgress, event_link};
pub use record_head::{EntryMark, EventMark, RecordHead, parse_heads};
use sha2::{Digest, Sha256};

/// The `prev_hash` of the first entry.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// SHA-256 over a canonical JSON array of the entry's fields. serde_json
/// sorts object keys, so equal details always encode to equal bytes.
pub fn entry_hash(
    prev_hash: &str,
    seq: i64,
    at_ms: i64,
    actor: &str,
    action: &str,
    target: &str,
    details: &serde_json::Value,
) -> String {
    let canonical = serde_json::json!([seq, at_ms, actor, action, target, details, prev_hash]).to_string();
    hex::encode(Sha256::digest(canonical.as_bytes()))
}

/// Checks entries given in `seq` order.
pub fn verify<'a>(entries: impl IntoIterator<Item = &'a AuditEntry>) -> ChainStatus {
    let mut progress = Progress::default();
    progress.advance(entries);
    progress.status()
}

/// How far a verification has come: the next entry it expects, the hash
/// that entry must link to, and what it found. Advanced a batch at a time,
/// so a chain of a million entries is checked once and then only what was
/// appended since.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Progress {
    pub next_seq: i64,
    prev_hash: String,
    checked: i64,
    broken: Option<ChainStatus>,
}

impl Default for Progress {
    fn default() -> Self {
        Progress { next_seq: 1, prev_hash: GENESIS.to_owned(), checked: 0, broken: None }
    }
}

impl Progress {
    /// Checks the entries that follow, in `seq` order. Once broken, it stays
    /// broken at the first broken entry.
    pub fn advance<'a>(&mut self, entries: impl IntoIterator<Item = &'a AuditEntry>) {
        for e in entries {
            if self.broken.is_some() {
                return;
            }
            let problem = if e.seq != self.next_seq {
                Some(format!("expected entry {}, found {}: an entry was removed or inserted", self.next_seq, e.seq))
            } else if e.prev_hash != self.prev_hash {
                Some(format!("entry {} does not link to the entry before it", e.seq))
            } else if entry_hash(
                &e.prev_hash,
                e.seq,
                e.at.timestamp_millis(),
                &e.actor,
                &e.action,
                &e.target,
                &e.details,
            ) != e.hash
            {
                Some(format!("entry {} was changed after it was written", e.seq))
            } else {
                None
            };
            match problem {
                Some(problem) => {
                    self.broken = Some(ChainStatus {
                        verified: false,
                        entries_checked: self.checked,
                        first_broken_seq: Some(e.seq),
                        problem: Some(problem),
                    });
                }
                None => {
                    self.prev_hash = e.hash.clone();
                    self.next_seq += 1;
                    self.checked += 1;
                }
            }
        }
    }

    pub fn is_broken(&self) -> bool {
        self.broken.is_some()
    }

    pub fn status(&self) -> ChainStatus {
        self.broken.clone().unwrap_or(ChainStatus {
            verified: true,
            entries_checked: self.checked,
            first_broken_seq: None,
            problem: None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::DateTime;

    fn chain(n: i64) -> Vec<AuditEntry> {
        let mut prev = GENESIS.to_owned();
        (1..=n)
            .map(|seq| {
                let at = DateTime::from_timestamp_millis(1_700_000_000_000 + seq).unwrap();
                let details = serde_json::json!({"reason": "test", "n": seq});
                let hash =
                    entry_hash(&prev, seq, at.timestamp_millis(), "alice", "acknowledge", "incident:1", &details);
                let e = AuditEntry {
                    seq,
                    at,
                    actor: "alice".into(),
                    action: "acknowledge".into(),
                    target: "incident:1".into(),
                    details,
                    prev_hash: prev.clone(),
                    hash: hash.clone(),
                };
                prev = hash;
                e
            })
            .collect()
    }

    #[test]
    fn an_intact_chain_verifies() {
        assert_eq!(
            verify(&chain(5)),
            ChainStatus { verified: true, entries_checked: 5, first_broken_seq: None, problem: None }
        );
    }

    #[test]
    fn any_tampering_names_the_first_broken_entry() {
        let mut changed = chain(5);
        changed[2].actor = "mallory".into();
        assert_eq!(verify(&changed).first_broken_seq, Some(3));
        let mut removed = chain(5);
        removed.remove(1);
        assert_eq!(verify(&removed).first_broken_seq, Some(3));
        let mut rehashed = chain(5);
        rehashed[1].details = serde_json::json!({"reason": "edited"});
        rehashed[1].hash = entry_hash(
            &rehashed[1].prev_hash,
            2,
            rehashed[1].at.timestamp_millis(),
            "alice",
            "acknowledge",
            "incident:1",
            &rehashed[1].details,
        );
        assert_eq!(verify(&rehashed).first_broken_seq, Some(3), "re-hashing one row breaks the next link");
    }

    #[test]
    fn verifying_in_steps_finds_what_verifying_at_once_finds() {
        let whole = chain(7);
        let mut steps = Progress::default();
        steps.advance(&whole[..3]);
        steps.advance(&whole[3..]);
        assert_eq!(steps.status(), verify(&whole));
        let mut changed = chain(7);
        changed[5].target = "incident:2".into();
        let mut steps = Progress::default();
        steps.advance(&changed[..4]);
        assert!(steps.status().verified);
        steps.advance(&changed[4..]);
        assert_eq!(steps.status(), verify(&changed));
        assert_eq!(steps.status().first_broken_seq, Some(6));
    }
}
