//! OSC 52: the terminal puts text on the clipboard. It works over SSH and
//! tmux (with `set-clipboard on`), needs no X or Wayland on the bastion, and
//! is write-only: the console never asks to read the clipboard.

use base64::Engine;

/// The escape sequence that sets the clipboard to `text`. The text is
/// base64-encoded, so nothing in it can end the sequence early.
pub fn osc52(text: &str) -> String {
    format!("\x1b]52;c;{}\x07", base64::engine::general_purpose::STANDARD.encode(text.as_bytes()))
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
