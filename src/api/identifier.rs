//! What an identifier (agent, actor, origin, run, event, resource, tool, …)
//! may hold: it must be what it looks like. Control characters, invisible
//! characters (zero-width, fillers, variation selectors), bidi controls and
//! private-use characters are refused, so `pay-x` and `pay-x\u{200B}` can
//! never be two agents that read the same; what remains is stored in
//! Unicode NFC, so one name written two ways is one identifier.

use unicode_normalization::UnicodeNormalization;

/// The kind of character an identifier may not hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Forbidden {
    Nul,
    Control,
    Invisible,
    Bidi,
    PrivateUse,
}

/// Why an identifier was refused: the first character it may not hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Refusal {
    pub kind: Forbidden,
    pub character: char,
    /// 1-based, in characters.
    pub position: usize,
}

impl Refusal {
    /// The API's error code.
    pub fn code(&self) -> &'static str {
        match self.kind {
            Forbidden::Nul | Forbidden::Control => "FIELD_INVALID_VALUE",
            Forbidden::Invisible | Forbidden::Bidi | Forbidden::PrivateUse => "FIELD_LOOKALIKE_CHARACTER",
        }
    }

    /// The message, naming the field, the character and where it stands.
    pub fn message(&self, field: &str) -> String {
        let (c, at) = (self.character as u32, self.position);
        match self.kind {
            Forbidden::Nul => format!("{field} must not contain NUL (U+0000, at character {at})"),
            Forbidden::Control => format!("{field} must not contain control characters (U+{c:04X} at character {at})"),
            Forbidden::Invisible => format!(
                "{field} must not contain invisible characters (U+{c:04X} at character {at}): an identifier must read as what it is"
            ),
            Forbidden::Bidi => format!(
                "{field} must not contain bidirectional controls (U+{c:04X} at character {at}): an identifier must read as what it is"
            ),
            Forbidden::PrivateUse => {
                format!("{field} must not contain private-use characters (U+{c:04X} at character {at})")
            }
        }
    }
}

/// What kind of forbidden character `c` is, if it is one.
pub fn forbidden(c: char) -> Option<Forbidden> {
    let u = c as u32;
    Some(match u {
        0 => Forbidden::Nul,
        _ if c.is_control() => Forbidden::Control,
        0x061C | 0x200E | 0x200F | 0x202A..=0x202E | 0x2066..=0x2069 => Forbidden::Bidi,
        // Format characters (Unicode category Cf) and the characters that
        // draw nothing: soft hyphen, combining grapheme joiner, Hangul and
        // Khmer fillers, Mongolian separators, zero-width characters, word
        // joiner and invisible operators, variation selectors, BOM, tags.
        0x00AD
        | 0x034F
        | 0x0600..=0x0605
        | 0x06DD
        | 0x070F
        | 0x0890..=0x0891
        | 0x08E2
        | 0x115F
        | 0x1160
        | 0x17B4
        | 0x17B5
        | 0x180B..=0x180F
        | 0x200B..=0x200D
        | 0x2028..=0x2029
        | 0x2060..=0x2065
        | 0x206A..=0x206F
        | 0x3164
        | 0xFE00..=0xFE0F
        | 0xFEFF
        | 0xFFA0
        | 0xFFF9..=0xFFFB
        | 0x110BD
        | 0x110CD
        | 0x13430..=0x1343F
        | 0x1BCA0..=0x1BCA3
        | 0x1D173..=0x1D17A
        | 0xE0000..=0xE0FFF => Forbidden::Invisible,
        0xE000..=0xF8FF | 0xF0000..=0xFFFFD | 0x100000..=0x10FFFD => Forbidden::PrivateUse,
        _ => return None,
    })
}

/// The first character `value` may not hold as an identifier, if any.
pub fn refusal(value: &str) -> Option<Refusal> {
    value
        .chars()
        .enumerate()
        .find_map(|(i, character)| forbidden(character).map(|kind| Refusal { kind, character, position: i + 1 }))
}

/// `value` in Unicode NFC (unchanged, and not copied, when it already is).
pub fn normalized(value: String) -> String {
    if unicode_normalization::is_nfc_quick(value.chars()) == unicode_normalization::IsNormalized::Yes {
        value
    } else {
        value.nfc().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookalikes_are_refused_naming_the_character_and_its_place() {
        for (id, kind, at) in [
            ("pay-x\u{200B}", Forbidden::Invisible, 6),
            ("pay\u{2060}-x", Forbidden::Invisible, 4),
            ("\u{3164}pay-x", Forbidden::Invisible, 1),
            ("pay-x\u{FE0F}", Forbidden::Invisible, 6),
            ("pay-\u{202E}x", Forbidden::Bidi, 5),
            ("pay-\u{2067}x", Forbidden::Bidi, 5),
            ("pay-x\u{E000}", Forbidden::PrivateUse, 6),
            ("pay-x\u{F0000}", Forbidden::PrivateUse, 6),
            ("pay\u{1b}[2J", Forbidden::Control, 4),
            ("pay\u{0}", Forbidden::Nul, 4),
        ] {
            let refusal = refusal(id).unwrap_or_else(|| panic!("{id:?} accepted"));
            assert_eq!((refusal.kind, refusal.position), (kind, at), "{id:?}");
        }
        let message = refusal("pay-x\u{200B}").unwrap().message("agent_id");
        assert_eq!(
            message,
            "agent_id must not contain invisible characters (U+200B at character 6): an identifier must read as what it is"
        );
    }

    #[test]
    fn real_names_in_any_script_are_kept() {
        for id in ["pay-x", "déploiement", "部署-1", "агент", "نشر", "🚀-deployer", "a b", "x.y/z:1@2"] {
            assert_eq!(refusal(id), None, "{id:?}");
        }
    }

    #[test]
    fn one_name_written_two_ways_is_one_identifier() {
        let decomposed = "de\u{301}ploy".to_owned();
        assert_eq!(normalized(decomposed), "d\u{e9}ploy");
        assert_eq!(normalized("d\u{e9}ploy".to_owned()), "d\u{e9}ploy");
    }
}
