//! What the terminal can show, from its name and the locale: colour,
//! characters beyond ASCII, and the newer private modes (synchronized
//! output, bracketed paste). A VT100 over a serial console or a bastion's
//! `TERM=dumb` gets plain ASCII with no colour and none of those sequences;
//! `--ascii` (or `MANDATE_ASCII=1`) forces ASCII anywhere.

use ratatui::buffer::Buffer;
use unicode_width::UnicodeWidthStr;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Capabilities {
    /// Colour escape sequences are understood.
    pub colour: bool,
    /// Characters beyond ASCII (box drawing, ▶, …) are shown.
    pub unicode: bool,
    /// Synchronized output and bracketed paste are understood (or ignored
    /// harmlessly): every terminal emulator of the last decades.
    pub modern: bool,
}

impl Capabilities {
    /// Everything: what tests and screenshots draw with.
    pub const FULL: Capabilities = Capabilities { colour: true, unicode: true, modern: true };

    /// From the environment (`TERM`, the locale) and `--ascii`.
    pub fn detect(env: &dyn Fn(&str) -> Option<String>, ascii: bool) -> Capabilities {
        let term = env("TERM").unwrap_or_default().to_ascii_lowercase();
        // Hardware terminals and their emulations by name: no colour, no
        // Unicode, no private modes. No TERM at all says nothing either way.
        let hardware = term == "dumb"
            || term.starts_with("vt") && !term.contains("color")
            || term == "ansi"
            || term.starts_with("adm")
            || term.starts_with("wy");
        // The first locale variable that is set decides the character set.
        let locale = ["LC_ALL", "LC_CTYPE", "LANG"].iter().find_map(|v| env(v).filter(|s| !s.is_empty()));
        let utf8 = locale.is_none_or(|l| {
            let l = l.to_ascii_lowercase();
            l.contains("utf-8") || l.contains("utf8")
        });
        let forced = ascii || env("MANDATE_ASCII").is_some_and(|v| !v.is_empty() && v != "0");
        Capabilities { colour: !hardware, unicode: !hardware && utf8 && !forced, modern: !hardware }
    }
}

/// Makes every cell of `buffer` ASCII, keeping each cell's width: box
/// drawing becomes `-`, `|` and `+`, marks their nearest ASCII, and anything
/// else (a name in another script, an emoji) `?`.
pub fn asciify(buffer: &mut Buffer) {
    for cell in buffer.content.iter_mut() {
        let symbol = cell.symbol();
        if symbol.is_ascii() {
            continue;
        }
        let ascii = match symbol {
            "─" | "━" | "—" | "–" | "═" | "╌" => "-",
            "│" | "┃" | "║" | "▏" | "╎" => "|",
            "┌" | "┐" | "└" | "┘" | "├" | "┤" | "┬" | "┴" | "┼" | "╭" | "╮" | "╯" | "╰" => {
                "+"
            }
            "▶" | "→" | "›" | "»" => ">",
            "←" | "‹" | "«" => "<",
            "↑" => "^",
            "↓" => "v",
            "●" | "•" | "★" => "*",
            "·" | "░" => ".",
            "█" | "▇" | "▆" | "▅" | "▄" | "▃" | "▂" | "▁" => "#",
            "…" => "~",
            "✓" | "✔" => "+",
            "✗" | "✘" | "×" => "x",
            "⚠" => "!",
            "↻" => "~",
            "⏎" => "/",
            "§" => "S",
            other => {
                // Keep the width, so the cells after it stay where they are.
                if other.width() >= 2 { "??" } else { "?" }
            }
        };
        cell.set_symbol(ascii);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env<'a>(pairs: &'a [(&'a str, &'a str)]) -> impl Fn(&str) -> Option<String> + 'a {
        move |name| pairs.iter().find(|(k, _)| *k == name).map(|(_, v)| (*v).to_owned())
    }

    #[test]
    fn a_vt100_gets_ascii_no_colour_and_no_private_modes() {
        let vt100 = Capabilities::detect(&env(&[("TERM", "vt100"), ("LANG", "en_US.UTF-8")]), false);
        assert_eq!(vt100, Capabilities { colour: false, unicode: false, modern: false });
        assert_eq!(Capabilities::detect(&env(&[("TERM", "dumb")]), false), vt100);
        assert_eq!(Capabilities::detect(&env(&[]), false), Capabilities::FULL, "no TERM says nothing");
        let xterm = Capabilities::detect(&env(&[("TERM", "xterm-256color"), ("LANG", "en_US.UTF-8")]), false);
        assert_eq!(xterm, Capabilities::FULL);
        let latin1 = Capabilities::detect(&env(&[("TERM", "xterm"), ("LC_ALL", "de_DE.ISO-8859-1")]), false);
        assert_eq!(latin1, Capabilities { colour: true, unicode: false, modern: true }, "a non-UTF-8 locale");
        let forced = Capabilities::detect(&env(&[("TERM", "xterm-256color")]), true);
        assert!(!forced.unicode && forced.colour, "--ascii keeps colour");
        assert!(!Capabilities::detect(&env(&[("TERM", "screen"), ("MANDATE_ASCII", "1")]), false).unicode);
    }

    #[test]
    fn every_cell_becomes_ascii_and_keeps_its_width() {
        use ratatui::layout::Rect;
        let mut buffer = Buffer::empty(Rect::new(0, 0, 12, 1));
        buffer.set_string(0, 0, "┌▶ 界 ✓…─┐", ratatui::style::Style::default());
        asciify(&mut buffer);
        let text: String = buffer.content.iter().map(|c| c.symbol()).collect();
        assert!(text.is_ascii(), "{text:?}");
        assert!(text.starts_with("+> ??"), "{text:?}");
    }
}
