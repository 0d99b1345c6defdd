//! OSC 52: the terminal puts text on the clipboard. It works over SSH and
//! tmux (with `set-clipboard on`), needs no X or Wayland on the bastion, and
//! is write-only: the console never asks to read the clipboard.

use crate::api::{IncidentDetail, IncidentSummary};
use base64::Engine;

/// The escape sequence that sets the clipboard to `text`. The text is
/// base64-encoded, so nothing in it can end the sequence early.
pub fn osc52(text: &str) -> String {
    format!("\x1b]52;c;{}\x07", base64::engine::general_purpose::STANDARD.encode(text.as_bytes()))
}

/// The incident in a few lines, for a chat or a ticket.
pub fn incident_summary(s: &IncidentSummary, detail: Option<&IncidentDetail>) -> String {
    let mut text = format!(
        "Incident #{} [{} {}] {}\nStarted {} UTC · resources: {} · responders: {}",
        s.id,
        s.severity.as_str().to_uppercase(),
        s.status.as_str().to_uppercase(),
        s.title,
        s.started_at.format("%Y-%m-%d %H:%M:%S"),
        if s.resources.is_empty() { "unknown".to_owned() } else { s.resources.join(", ") },
        if s.responders.is_empty() { "nobody yet".to_owned() } else { s.responders.join(", ") },
    );
    if let Some(d) = detail {
        match d.analysis.candidates.first() {
            Some(c) if !d.analysis.undetermined => text.push_str(&format!(
                "\nTop cause: {} {} on {} by {} ({} {}%)",
                c.action_type.as_deref().unwrap_or("action"),
                c.event_id,
                c.resource.as_deref().unwrap_or("?"),
                c.agent_id.as_deref().unwrap_or("unknown actor"),
                c.band,
                c.confidence
            )),
            _ => text.push_str("\nCause: UNDETERMINED"),
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sequence_carries_only_base64() {
        let seq = osc52("#12 payments \x1b]0;pwned\x07 down");
        let payload = seq.strip_prefix("\x1b]52;c;").and_then(|s| s.strip_suffix('\x07')).unwrap();
        assert!(payload.bytes().all(|b| b.is_ascii_alphanumeric() || b"+/=".contains(&b)), "{payload}");
        let decoded = base64::engine::general_purpose::STANDARD.decode(payload).unwrap();
        assert_eq!(decoded, "#12 payments \x1b]0;pwned\x07 down".as_bytes());
        assert!(!seq.contains(";?"), "never a read request");
    }
}
