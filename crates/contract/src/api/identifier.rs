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

/// Every character an identifier may not hold, as inclusive ranges: the one
/// statement of the rule, read by the parser ([`forbidden`]) and by the
/// API document ([`pattern`]).
pub const FORBIDDEN: &[(u32, u32, Forbidden)] = &[
    (0x0000, 0x0000, Forbidden::Nul),
    (0x0001, 0x001F, Forbidden::Control),
    (0x007F, 0x009F, Forbidden::Control),
    // Format characters (Unicode category Cf) and the characters that draw
    // nothing: soft hyphen, combining grapheme joiner, Hangul and Khmer
    // fillers, Mongolian separators, zero-width characters, line and
    // paragraph separators, word joiner and invisible operators, variation
    // selectors, BOM, interlinear annotation, tags.
    (0x00AD, 0x00AD, Forbidden::Invisible),
    (0x034F, 0x034F, Forbidden::Invisible),
    (0x0600, 0x0605, Forbidden::Invisible),
    (0x061C, 0x061C, Forbidden::Bidi),
    (0x06DD, 0x06DD, Forbidden::Invisible),
    (0x070F, 0x070F, Forbidden::Invisible),
    (0x0890, 0x0891, Forbidden::Invisible),
    (0x08E2, 0x08E2, Forbidden::Invisible),
    (0x115F, 0x1160, Forbidden::Invisible),
    (0x17B4, 0x17B5, Forbidden::Invisible),
    (0x180B, 0x180F, Forbidden::Invisible),
    (0x200B, 0x200D, Forbidden::Invisible),
    (0x200E, 0x200F, Forbidden::Bidi),
    (0x2028, 0x2029, Forbidden::Invisible),
    (0x202A, 0x202E, Forbidden::Bidi),
    (0x2060, 0x2065, Forbidden::Invisible),
    (0x2066, 0x2069, Forbidden::Bidi),
    (0x206A, 0x206F, Forbidden::Invisible),
    (0x3164, 0x3164, Forbidden::Invisible),
    (0xE000, 0xF8FF, Forbidden::PrivateUse),
    (0xFE00, 0xFE0F, Forbidden::Invisible),
    (0xFEFF, 0xFEFF, Forbidden::Invisible),
    (0xFFA0, 0xFFA0, Forbidden::Invisible),
    (0xFFF9, 0xFFFB, Forbidden::Invisible),
    (0x110BD, 0x110BD, Forbidden::Invisible),
    (0x110CD, 0x110CD, Forbidden::Invisible),
    (0x13430, 0x1343F, Forbidden::Invisible),
    (0x1BCA0, 0x1BCA3, Forbidden::Invisible),
    (0x1D173, 0x1D17A, Forbidden::Invisible),
    (0xE0000, 0xE0FFF, Forbidden::Invisible),
    (0xF0000, 0x10FFFF, Forbidden::PrivateUse),
];

/// What kind of forbidden character `c` is, if it is one.
pub fn forbidden(c: char) -> Option<Forbidden> {
    let u = c as u32;
    let at = FORBIDDEN.partition_point(|(_, last, _)| *last < u);
    FORBIDDEN.get(at).filter(|(first, _, _)| *first <= u).map(|(_, _, kind)| *kind)
}

/// The characters of [`FORBIDDEN`] as the inside of a regular-expression
/// class, in escapes both ECMA-262-with-`u` readers and Rust's and Python's
/// engines accept for the Basic Multilingual Plane (`\uXXXX`), and Rust's
/// and Python's for the planes above (`\UXXXXXXXX`).
pub fn forbidden_class() -> String {
    let escape = |u: u32| if u <= 0xFFFF { format!("\\u{u:04X}") } else { format!("\\U{u:08X}") };
    FORBIDDEN
        .iter()
        .map(|&(first, last, _)| match first == last {
            true => escape(first),
            false => format!("{}-{}", escape(first), escape(last)),
        })
        .collect()
}

/// The characters Rust's `char::is_whitespace` (and `str::trim`) takes for
/// white space, for the class of a non-blank identifier.
pub const WHITE_SPACE: &str =
    "\\u0009-\\u000D\\u0020\\u0085\\u00A0\\u1680\\u2000-\\u200A\\u2028\\u2029\\u202F\\u205F\\u3000";

/// The pattern of an identifier; `required`: one that must not be blank.
pub fn pattern(required: bool) -> String {
    let allowed = format!("[^{}]", forbidden_class());
    match required {
        false => format!("^{allowed}*$"),
        true => format!("^{allowed}*[^{}{WHITE_SPACE}]{allowed}*$", forbidden_class()),
    }
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
    fn the_table_and_its_pattern_say_the_same() {
        // Sorted, without overlaps: the search in `forbidden` relies on it.
        assert!(FORBIDDEN.windows(2).all(|w| w[0].1 < w[1].0));
        assert_eq!(forbidden('\u{0}'), Some(Forbidden::Nul));
        assert_eq!(forbidden('\u{10FFFF}'), Some(Forbidden::PrivateUse));
        assert_eq!(forbidden('a'), None);
        let class = forbidden_class();
        assert!(class.starts_with("\\u0000\\u0001-\\u001F"), "{class}");
        assert!(class.ends_with("\\U000F0000-\\U0010FFFF"), "{class}");
        assert!(pattern(true).contains("\\u3000]"), "{}", pattern(true));
    }

    #[test]
    fn one_name_written_two_ways_is_one_identifier() {
        let decomposed = "de\u{301}ploy".to_owned();
        assert_eq!(normalized(decomposed), "d\u{e9}ploy");
        assert_eq!(normalized("d\u{e9}ploy".to_owned()), "d\u{e9}ploy");
    }
}
