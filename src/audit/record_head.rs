//! The heads of both chains, to keep outside the database. Anchors catch a
//! rewrite of the events, but whoever can write the database can also
//! remove the newest events *and* the audit entries after them, anchors
//! included: both chains still verify. A head kept elsewhere (`mandate audit
//! head`, appended to a write-once file or a SIEM) says how far each chain
//! reached when it was taken; `mandate audit verify --expect-head FILE`
//! checks that both still reach that far and hold the same hashes there.

use chrono::{DateTime, Utc};

/// How far both chains reached, at `taken_at`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct RecordHead {
    pub taken_at: DateTime<Utc>,
    /// The newest audit entry: its seq and hash.
    pub audit: Option<EntryMark>,
    /// The newest event chained: its storage position and link.
    pub events: Option<EventMark>,
    /// The newest run record: its position and link.
    #[serde(default)]
    pub runs: Option<EventMark>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EntryMark {
    pub seq: i64,
    pub hash: String,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EventMark {
    pub position: i64,
    pub hash: String,
}

/// Heads as kept: one JSON object, or one per line (an append-only file of
/// heads taken over time; each is checked).
pub fn parse_heads(text: &str) -> Result<Vec<RecordHead>, String> {
    let lines: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect();
    if lines.is_empty() {
        return Err("no head in it: write what `mandate audit head` printed".into());
    }
    let whole = serde_json::from_str::<RecordHead>(text.trim()).map(|h| vec![h]);
    whole.or_else(|_| {
        lines
            .iter()
            .enumerate()
            .map(|(i, line)| {
                serde_json::from_str(line)
                    .map_err(|e| format!("line {}: not a head as `mandate audit head` prints one: {e}", i + 1))
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn heads_are_read_whole_or_a_line_at_a_time() {
        let head = RecordHead {
            taken_at: Utc::now(),
            audit: Some(EntryMark { seq: 4, hash: "ab".into() }),
            events: Some(EventMark { position: 9, hash: "cd".into() }),
            runs: None,
        };
        let one = serde_json::to_string_pretty(&head).unwrap();
        assert_eq!(parse_heads(&one).unwrap(), vec![head.clone()]);
        let lines = format!("{}\n\n{}\n", serde_json::to_string(&head).unwrap(), serde_json::to_string(&head).unwrap());
        assert_eq!(parse_heads(&lines).unwrap().len(), 2);
        assert!(parse_heads("{\"taken_at\": 3}\n").unwrap_err().starts_with("line 1:"));
        assert!(parse_heads("  ").is_err());
    }
}
