//! Lost events (seed 13.3): per-agent sequence numbers, and the gaps in them.

use crate::api::SequenceGap;
use chrono::{DateTime, Utc};
use std::collections::HashMap;

#[derive(Debug, Clone)]
struct Seen {
    seq: i64,
    at: DateTime<Utc>,
}

/// The highest sequence number seen per agent. A jump opens a gap; a late
/// event inside a gap is not a new gap.
#[derive(Debug, Default, Clone)]
pub struct SequenceTracker {
    latest: HashMap<String, Seen>,
}

impl SequenceTracker {
    /// Starts from what the store already holds.
    pub fn restore(&mut self, agent_id: &str, seq: i64, at: DateTime<Utc>) {
        self.latest.insert(agent_id.to_owned(), Seen { seq, at });
    }

    /// Records `seq` for `agent_id`; returns the gap it reveals, if any.
    pub fn observe(&mut self, agent_id: &str, seq: i64, at: DateTime<Utc>) -> Option<SequenceGap> {
        match self.latest.get_mut(agent_id) {
            None => {
                self.latest.insert(agent_id.to_owned(), Seen { seq, at });
                None
            }
            Some(seen) if seq > seen.seq + 1 => {
                let gap = SequenceGap {
                    agent_id: agent_id.to_owned(),
                    first_missing: seen.seq + 1,
                    last_missing: seq - 1,
                    after: seen.at,
                    before: at,
                };
                *seen = Seen { seq, at };
                Some(gap)
            }
            Some(seen) if seq > seen.seq => {
                *seen = Seen { seq, at };
                None
            }
            Some(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::incident::grouping::tests::at;

    #[test]
    fn a_jump_in_sequence_numbers_is_a_gap_between_two_times() {
        let mut t = SequenceTracker::default();
        assert_eq!(t.observe("a", 1, at(0)), None);
        assert_eq!(t.observe("a", 2, at(1)), None);
        let gap = t.observe("a", 6, at(9)).unwrap();
        assert_eq!((gap.first_missing, gap.last_missing, gap.after, gap.before), (3, 5, at(1), at(9)));
        assert_eq!(t.observe("a", 4, at(10)), None, "a late event inside the gap is not a new gap");
        assert_eq!(t.observe("a", 7, at(11)), None);
        assert_eq!(t.observe("b", 40, at(0)), None, "an agent's first event starts its sequence");
    }
}
