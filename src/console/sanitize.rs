//! Terminal safety: strings from the API are cleaned once, where they enter
//! the console, so escape sequences, C0 and C1 controls, DEL and bidi
//! overrides in an agent name or an error message never reach the terminal.

use serde_json::Value;

/// Shown where a dangerous character was: visible, harmless.
pub const REPLACEMENT: char = '\u{FFFD}';

fn dangerous(c: char) -> bool {
    matches!(c,
        '\u{0}'..='\u{1F}'            // C0 controls, ESC among them
        | '\u{7F}'                    // DEL
        | '\u{80}'..='\u{9F}'         // C1 controls (CSI, OSC, …)
        | '\u{200E}' | '\u{200F}'     // left-to-right and right-to-left marks
        | '\u{202A}'..='\u{202E}'     // bidi embeddings and overrides
        | '\u{2066}'..='\u{2069}'     // bidi isolates
        | '\u{061C}'                  // Arabic letter mark
    )
}

/// A copy of `s` safe to draw: tabs become spaces, every other control or
/// bidi character becomes [`REPLACEMENT`].
pub fn clean(s: &str) -> String {
    if !s.chars().any(dangerous) {
        return s.to_owned();
    }
    s.chars()
        .map(|c| {
            if c == '\t' {
                ' '
            } else if dangerous(c) {
                REPLACEMENT
            } else {
                c
            }
        })
        .collect()
}

/// Text the operator pasted or typed, for a text field: line breaks become
/// `\n` in a multi-line field and a space elsewhere; tabs become spaces;
/// every other control or bidi character is dropped.
pub fn clean_typed(text: &str, multiline: bool) -> String {
    let text = text.replace("\r\n", "\n").replace('\r', "\n");
    text.chars()
        .filter_map(|c| match c {
            '\n' if multiline => Some('\n'),
            '\n' | '\t' => Some(' '),
            c if dangerous(c) => None,
            c => Some(c),
        })
        .collect()
}

/// Fields whose text may span lines (a proposed rule, what an intervention
/// carried): their line breaks are kept as `\n`, and the views draw each line
/// on its own. Every other control character is cleaned as anywhere else.
pub const MULTILINE_FIELDS: [&str; 3] = ["rule", "suggested_rule", "detail"];

/// A copy of `s` safe to draw line by line: line breaks become `\n`, each
/// line is cleaned as by [`clean`].
pub fn clean_lines(s: &str) -> String {
    s.replace("\r\n", "\n").replace('\r', "\n").split('\n').map(clean).collect::<Vec<_>>().join("\n")
}

/// Cleans every string and object key in a JSON document, in place.
pub fn clean_json(value: &mut Value) {
    match value {
        Value::String(s) if s.chars().any(dangerous) => *s = clean(s),
        Value::Array(items) => items.iter_mut().for_each(clean_json),
        Value::Object(map) => {
            if map.keys().any(|k| k.chars().any(dangerous)) {
                let entries: Vec<(String, Value)> = std::mem::take(map).into_iter().collect();
                for (k, v) in entries {
                    map.insert(clean(&k), v);
                }
            }
            for (k, v) in map.iter_mut() {
                match v {
                    Value::String(s) if MULTILINE_FIELDS.contains(&k.as_str()) => *s = clean_lines(s),
                    other => clean_json(other),
                }
            }
        }
        _ => {}
    }
}

/// Parses an API answer into `T` with every string cleaned.
pub fn decode_clean<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, serde_json::Error> {
    let mut value: Value = serde_json::from_slice(bytes)?;
    clean_json(&mut value);
    serde_json::from_value(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_strings_lose_every_control_and_bidi_character() {
        let hostile = [
            "\u{1b}[2J\u{1b}]0;pwned\u{7}agent", // clear screen, set title, BEL
            "\u{9b}31mred via C1 CSI",           // C1 CSI
            "rm -rf \u{202E}fdp.exe",            // right-to-left override
            "isolate\u{2066}x\u{2069}",          // bidi isolates
            "del\u{7f}ete\r\nnew line\u{0}nul",
        ];
        for s in hostile {
            let out = clean(s);
            assert!(!out.chars().any(dangerous), "{out:?}");
            assert!(!out.contains('\u{1b}') && !out.contains('\n'));
        }
        assert_eq!(clean("\u{1b}[31mred"), "\u{FFFD}[31mred", "what was there stays visible");
        assert_eq!(clean("tab\there"), "tab here");
        assert_eq!(clean("plain ascii, ünïcødé and 日本語"), "plain ascii, ünïcødé and 日本語");
    }

    #[test]
    fn a_rule_keeps_its_lines_and_loses_its_escapes() {
        let mut doc = serde_json::json!({"rule": "when: deploy\r\nthen: \u{1b}[2Jpage", "title": "a\nb"});
        clean_json(&mut doc);
        assert_eq!(doc["rule"], "when: deploy\nthen: \u{FFFD}[2Jpage");
        assert_eq!(doc["title"], "a\u{FFFD}b", "a one-line field keeps no line break");
    }

    #[test]
    fn pasted_text_keeps_its_lines_only_where_a_field_has_lines() {
        let pasted = "deploy\r\nrollback \u{1b}[2Jnow\rthen\ttab";
        assert_eq!(clean_typed(pasted, true), "deploy\nrollback [2Jnow\nthen tab");
        assert_eq!(clean_typed(pasted, false), "deploy rollback [2Jnow then tab");
    }

    #[test]
    fn every_string_of_a_document_is_cleaned() {
        #[derive(serde::Deserialize)]
        struct Doc {
            name: String,
            nested: Vec<std::collections::BTreeMap<String, String>>,
        }
        let doc: Doc = decode_clean(br#"{"name": "a\u001b[1mb", "nested": [{"k\u009b": "v\u202e"}]}"#).unwrap();
        assert_eq!(doc.name, "a\u{FFFD}[1mb");
        let (k, v) = doc.nested[0].iter().next().unwrap();
        assert_eq!((k.as_str(), v.as_str()), ("k\u{FFFD}", "v\u{FFFD}"));
    }
}
