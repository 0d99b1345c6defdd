//! The tamper-evident audit log: each entry holds the SHA-256 of the previous
//! entry's canonical encoding, so changing or removing any row breaks the
//! chain from that row on, and `verify` names the first broken row.

pub use crate::api::{AuditEntry, ChainStatus};
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
    let mut expected_prev = GENESIS.to_owned();
    let mut checked = 0;
    for (expected_seq, e) in (1..).zip(entries) {
        let broken = |problem: String| ChainStatus {
            verified: false,
            entries_checked: checked,
            first_broken_seq: Some(e.seq),
            problem: Some(problem),
        };
        if e.seq != expected_seq {
            return broken(format!("expected entry {expected_seq}, found {}: an entry was removed or inserted", e.seq));
        }
        if e.prev_hash != expected_prev {
            return broken(format!("entry {} does not link to the entry before it", e.seq));
        }
        let hash = entry_hash(&e.prev_hash, e.seq, e.at.timestamp_millis(), &e.actor, &e.action, &e.target, &e.details);
        if hash != e.hash {
            return broken(format!("entry {} was changed after it was written", e.seq));
        }
        expected_prev = e.hash.clone();
        checked += 1;
    }
    ChainStatus { verified: true, entries_checked: checked, first_broken_seq: None, problem: None }
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
}
