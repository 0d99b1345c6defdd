//! Themes are TOML files of semantic styles (`severity_critical`,
//! `confidence_likely`, `selection`, `live`, …). The built-ins are embedded;
//! `<config dir>/themes/NAME.toml` is looked up first; a user file overrides
//! only the keys it sets, on top of `extends` (default: dark).

use mandate_contract::wire_enum;
use ratatui::style::{Color, Modifier, Style};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

wire_enum! {
    /// What a style is for, not which widget draws it.
    pub enum StyleKey {
        Text = "text",
        Muted = "muted",
        Border = "border",
        Title = "title",
        Accent = "accent",
        Selection = "selection",
        Header = "header",
        KeyHint = "key_hint",
        NewMarker = "new_marker",
        SeverityCritical = "severity_critical",
        SeverityHigh = "severity_high",
        SeverityMedium = "severity_medium",
        SeverityLow = "severity_low",
        StatusOpen = "status_open",
        StatusAcknowledged = "status_acknowledged",
        StatusResolved = "status_resolved",
        ConfidenceConfirmed = "confidence_confirmed",
        ConfidenceLikely = "confidence_likely",
        ConfidenceSuspected = "confidence_suspected",
        ConfidencePossible = "confidence_possible",
        Live = "live",
        Stale = "stale",
        Offline = "offline",
        Readonly = "readonly",
        Environment = "environment",
        EnvironmentProd = "environment_prod",
        Error = "error",
        Success = "success",
        Warning = "warning",
        Gap = "gap",
    }
}

/// The built-in themes, embedded in the binary.
pub const BUILTIN: &[(&str, &str)] = &[
    ("dark", include_str!("../../themes/dark.toml")),
    ("light", include_str!("../../themes/light.toml")),
    ("high-contrast", include_str!("../../themes/high-contrast.toml")),
    ("solarized-dark", include_str!("../../themes/solarized-dark.toml")),
    ("mono", include_str!("../../themes/mono.toml")),
];

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("theme {source_name}: {message}")]
pub struct ThemeError {
    pub source_name: String,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    pub name: String,
    styles: BTreeMap<StyleKey, Style>,
}

fn parse_color(raw: &str) -> Option<Color> {
    let named = match raw.to_ascii_lowercase().replace('-', "_").as_str() {
        "reset" | "default" => Color::Reset,
        "black" => Color::Black,
        "red" => Color::Red,
        "green" => Color::Green,
        "yellow" => Color::Yellow,
        "blue" => Color::Blue,
        "magenta" => Color::Magenta,
        "cyan" => Color::Cyan,
        "gray" | "grey" => Color::Gray,
        "dark_gray" | "dark_grey" => Color::DarkGray,
        "light_red" => Color::LightRed,
        "light_green" => Color::LightGreen,
        "light_yellow" => Color::LightYellow,
        "light_blue" => Color::LightBlue,
        "light_magenta" => Color::LightMagenta,
        "light_cyan" => Color::LightCyan,
        "white" => Color::White,
        hex if hex.starts_with('#') && hex.len() == 7 => {
            let n = u32::from_str_radix(&hex[1..], 16).ok()?;
            Color::Rgb((n >> 16) as u8, (n >> 8) as u8, n as u8)
        }
        _ => return None,
    };
    Some(named)
}

const COLOUR_HELP: &str = "a colour is a name (red, light_cyan, dark_gray, reset, …) or #rrggbb";

fn parse_style(value: &toml::Value, key: &str) -> Result<Style, String> {
    let colour = |v: &toml::Value, field: &str| -> Result<Color, String> {
        let raw = v.as_str().ok_or_else(|| format!("styles.{key}.{field} must be a string; {COLOUR_HELP}"))?;
        parse_color(raw).ok_or_else(|| format!("styles.{key}.{field}: unknown colour {raw:?}; {COLOUR_HELP}"))
    };
    match value {
        toml::Value::String(raw) => parse_color(raw)
            .map(|c| Style::new().fg(c))
            .ok_or_else(|| format!("styles.{key}: unknown colour {raw:?}; {COLOUR_HELP}")),
        toml::Value::Table(table) => {
            let mut style = Style::new();
            for (field, v) in table {
                style = match field.as_str() {
                    "fg" => style.fg(colour(v, field)?),
                    "bg" => style.bg(colour(v, field)?),
                    "bold" | "dim" | "italic" | "underline" | "reverse" => {
                        let on = v.as_bool().ok_or_else(|| format!("styles.{key}.{field} must be true or false"))?;
                        let m = match field.as_str() {
                            "bold" => Modifier::BOLD,
                            "dim" => Modifier::DIM,
                            "italic" => Modifier::ITALIC,
                            "underline" => Modifier::UNDERLINED,
                            _ => Modifier::REVERSED,
                        };
                        if on { style.add_modifier(m) } else { style.remove_modifier(m) }
                    }
                    other => {
                        return Err(format!(
                            "styles.{key}: unknown field {other:?}; use fg, bg, bold, dim, italic, underline, reverse"
                        ));
                    }
                };
            }
            Ok(style)
        }
        _ => Err(format!("styles.{key} must be a colour or a table such as {{ fg = \"red\", bold = true }}")),
    }
}

impl Theme {
    /// Parses a theme file. `base` supplies the keys a partial file leaves out.
    pub fn from_toml(text: &str, source_name: &str, base: Option<&Theme>) -> Result<Theme, ThemeError> {
        let err = |message: String| ThemeError { source_name: source_name.to_owned(), message };
        let doc: toml::Table = toml::from_str(text).map_err(|e| err(e.to_string()))?;
        let mut styles = base.map(|b| b.styles.clone()).unwrap_or_default();
        let mut name = base.map(|b| b.name.clone()).unwrap_or_default();
        for (field, value) in &doc {
            match field.as_str() {
                "name" => name = value.as_str().ok_or_else(|| err("name must be a string".into()))?.to_owned(),
                "extends" => {}
                "styles" => {
                    let table = value.as_table().ok_or_else(|| err("styles must be a table".into()))?;
                    for (key, value) in table {
                        let style_key = StyleKey::parse(key).ok_or_else(|| {
                            err(format!("styles.{key}: unknown style key; known keys: {}", StyleKey::allowed()))
                        })?;
                        styles.insert(style_key, parse_style(value, key).map_err(err)?);
                    }
                }
                other => return Err(err(format!("unknown top-level key {other:?}; expected name, extends, styles"))),
            }
        }
        if let Some(missing) = StyleKey::ALL.iter().find(|k| !styles.contains_key(k)) {
            return Err(err(format!(
                "styles.{missing} is missing (a user theme can set `extends = \"dark\"` to inherit)"
            )));
        }
        Ok(Theme { name, styles })
    }

    pub fn builtin(name: &str) -> Option<Theme> {
        let (_, text) = BUILTIN.iter().find(|(n, _)| *n == name)?;
        Some(Theme::from_toml(text, &format!("(built-in {name})"), None).expect("built-in themes are complete"))
    }

    pub fn names() -> Vec<&'static str> {
        BUILTIN.iter().map(|(n, _)| *n).collect()
    }

    /// `<themes_dir>/NAME.toml` if it exists (partial, on top of its
    /// `extends` or dark), else the built-in NAME.
    pub fn load(name: &str, themes_dir: Option<&Path>) -> Result<Theme, ThemeError> {
        if let Some(path) = themes_dir.map(|d| d.join(format!("{name}.toml"))).filter(|p| p.exists()) {
            return Theme::load_file(&path);
        }
        Theme::builtin(name).ok_or_else(|| ThemeError {
            source_name: name.to_owned(),
            message: format!("no such theme; built-in themes: {}", Theme::names().join(", ")),
        })
    }

    pub fn load_file(path: &PathBuf) -> Result<Theme, ThemeError> {
        let source_name = path.display().to_string();
        let text = std::fs::read_to_string(path)
            .map_err(|e| ThemeError { source_name: source_name.clone(), message: format!("cannot read: {e}") })?;
        let doc: toml::Table = toml::from_str(&text)
            .map_err(|e| ThemeError { source_name: source_name.clone(), message: e.to_string() })?;
        let base_name = doc.get("extends").and_then(|v| v.as_str()).unwrap_or("dark");
        let base = Theme::builtin(base_name).ok_or_else(|| ThemeError {
            source_name: source_name.clone(),
            message: format!(
                "extends: no built-in theme {base_name:?}; built-in themes: {}",
                Theme::names().join(", ")
            ),
        })?;
        Theme::from_toml(&text, &source_name, Some(&base))
    }

    pub fn style(&self, key: StyleKey) -> Style {
        self.styles.get(&key).copied().unwrap_or_default()
    }

    /// True when no style sets a colour: the selection must then stand out
    /// by reverse video or a marker, never by colour.
    pub fn is_colourless(&self) -> bool {
        self.styles
            .values()
            .all(|s| matches!(s.fg, None | Some(Color::Reset)) && matches!(s.bg, None | Some(Color::Reset)))
    }
}

/// `NO_COLOR` (set and non-empty) chooses mono, whatever the configuration says.
pub fn no_color_requested(value: Option<&str>) -> bool {
    value.is_some_and(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_defines_every_key_and_mono_has_no_colour() {
        for name in Theme::names() {
            let theme = Theme::builtin(name).unwrap();
            assert_eq!(theme.name, name);
        }
        let mono = Theme::builtin("mono").unwrap();
        assert!(mono.is_colourless());
        assert!(mono.style(StyleKey::Selection).add_modifier.contains(Modifier::REVERSED));
        assert!(!Theme::builtin("dark").unwrap().is_colourless());
    }

    #[test]
    fn severity_and_confidence_never_look_like_the_selection() {
        for name in Theme::names() {
            let theme = Theme::builtin(name).unwrap();
            let selection = theme.style(StyleKey::Selection);
            for key in [
                StyleKey::SeverityCritical,
                StyleKey::SeverityHigh,
                StyleKey::ConfidenceConfirmed,
                StyleKey::ConfidenceLikely,
            ] {
                assert_ne!(theme.style(key), selection, "{name}: {key:?} looks selected");
            }
        }
    }

    #[test]
    fn muted_text_and_borders_stay_readable_on_a_light_background() {
        let light = Theme::builtin("light").unwrap();
        for key in [StyleKey::Muted, StyleKey::Border, StyleKey::ConfidencePossible] {
            // Gray and white are ANSI's light greys: nearly invisible on white.
            let fg = light.style(key).fg;
            assert!(!matches!(fg, Some(Color::Gray | Color::White | Color::LightYellow)), "{key:?}: {fg:?}");
        }
    }

    #[test]
    fn the_default_uses_only_the_sixteen_standard_colours() {
        let dark = Theme::builtin("dark").unwrap();
        for key in StyleKey::ALL {
            let s = dark.style(*key);
            for c in [s.fg, s.bg].into_iter().flatten() {
                assert!(!matches!(c, Color::Rgb(..) | Color::Indexed(_)), "{key}: {c:?}");
            }
        }
    }

    #[test]
    fn a_partial_user_theme_overrides_only_its_keys() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("mine.toml"),
            "extends = \"light\"\n[styles]\nselection = { fg = \"#ff0000\", bold = true }\n",
        )
        .unwrap();
        let mine = Theme::load("mine", Some(dir.path())).unwrap();
        let light = Theme::builtin("light").unwrap();
        assert_eq!(mine.style(StyleKey::Selection).fg, Some(Color::Rgb(255, 0, 0)));
        assert_eq!(mine.style(StyleKey::Live), light.style(StyleKey::Live));
        assert_eq!(Theme::load("dark", Some(dir.path())).unwrap().name, "dark", "built-ins when no file");
    }

    #[test]
    fn each_bad_theme_file_gets_an_exact_error() {
        let dir = tempfile::tempdir().unwrap();
        let cases = [
            (
                "[styles]\nselection = \"redd\"\n",
                "styles.selection: unknown colour \"redd\"; a colour is a name (red, light_cyan, dark_gray, reset, …) or #rrggbb",
            ),
            (
                "[styles]\nseverity_criticl = \"red\"\n",
                "styles.severity_criticl: unknown style key; known keys: text, muted,",
            ),
            (
                "[styles]\nlive = { fg = \"red\", blink = true }\n",
                "styles.live: unknown field \"blink\"; use fg, bg, bold, dim, italic, underline, reverse",
            ),
            ("[styles]\nlive = { bold = \"yes\" }\n", "styles.live.bold must be true or false"),
            (
                "extends = \"neon\"\n",
                "extends: no built-in theme \"neon\"; built-in themes: dark, light, high-contrast, solarized-dark, mono",
            ),
            ("colours = 1\n", "unknown top-level key \"colours\"; expected name, extends, styles"),
            ("[styles\n", "TOML parse error"),
        ];
        for (i, (text, expected)) in cases.into_iter().enumerate() {
            let path = dir.path().join(format!("bad{i}.toml"));
            std::fs::write(&path, text).unwrap();
            let err = Theme::load(&format!("bad{i}"), Some(dir.path())).unwrap_err().to_string();
            assert!(err.starts_with(&format!("theme {}: ", path.display())), "{err}");
            assert!(err.contains(expected), "case {i}: {err}");
        }
        assert!(Theme::load("nope", None).unwrap_err().to_string().contains("no such theme"));
    }

    #[test]
    fn no_color_must_be_non_empty() {
        assert!(no_color_requested(Some("1")));
        assert!(!no_color_requested(Some("")));
        assert!(!no_color_requested(None));
    }
}
