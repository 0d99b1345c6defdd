//! What sits over a screen and takes every key while it is up: help, the
//! filter or command line, a confirmation dialog, the quit prompt. Only one
//! is up at a time; the screen under it keeps its state.

use super::app::{App, COMMANDS, Effect, Screen, open_screen, to_list};
use super::intent::{Dialog, DialogOutcome};
use super::keymap::{KeyAction, Keymap, Mode};
use super::sanitize::clean_typed;
use super::screens::Scroll;
use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Overlay {
    /// The keys of the screen, the `:` commands and the legend, scrolled
    /// like any text screen when they do not all fit.
    Help {
        scroll: Scroll,
    },
    Input(Input),
    Dialog(Box<Dialog>),
    /// "Quit mandate?": only `y` quits, so a run of `q` never leaves.
    Quit,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    Filter(String),
    Command(String),
}

/// A key for the overlay that is up. The overlay is put back unless the
/// key closed it.
pub fn on_key(app: &mut App, overlay: Overlay, key: KeyEvent, keymap: &Keymap) -> Vec<Effect> {
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    // A notice stays up while help is read; any other overlay's key clears it.
    if !matches!(overlay, Overlay::Help { .. }) {
        app.message = None;
    }
    match overlay {
        // Help closes with the keys the keymap gives it, and scrolls.
        Overlay::Help { mut scroll } => match keymap.lookup(Mode::Help, &key) {
            Some(KeyAction::Close) => vec![],
            Some(KeyAction::Quit) => vec![Effect::Quit],
            action => {
                if let Some(action) = action {
                    scroll.on_key(action);
                }
                app.overlay = Some(Overlay::Help { scroll });
                vec![]
            }
        },
        Overlay::Quit => match key.code {
            KeyCode::Char('y' | 'Y') if !ctrl => vec![Effect::Quit],
            KeyCode::Char('c') if ctrl => vec![Effect::Quit],
            _ => {
                app.message = Some("still here".to_owned());
                vec![]
            }
        },
        Overlay::Input(input) => on_input(app, input, key),
        Overlay::Dialog(mut dialog) => match dialog.on_key(key) {
            DialogOutcome::Open => {
                app.overlay = Some(Overlay::Dialog(dialog));
                vec![]
            }
            DialogOutcome::Cancelled => {
                app.message = Some(format!("cancelled: {} (nothing sent)", dialog.plan.label()));
                vec![]
            }
            DialogOutcome::Confirmed(plan) => super::app::send(app, *plan),
        },
    }
}

/// Pasted text, bracketed by the terminal or a burst of keys: text goes into
/// the text field that is up; anywhere else it is dropped, never taken as
/// keys.
pub fn on_paste(app: &mut App, text: &str) {
    match app.overlay.take() {
        Some(Overlay::Input(Input::Filter(mut t))) => {
            t.push_str(&clean_typed(text, false));
            app.set_filter(t.clone());
            app.overlay = Some(Overlay::Input(Input::Filter(t)));
        }
        Some(Overlay::Input(Input::Command(mut t))) => {
            t.push_str(&clean_typed(text, false));
            app.overlay = Some(Overlay::Input(Input::Command(t)));
        }
        Some(Overlay::Dialog(mut dialog)) => {
            dialog.paste(text);
            app.overlay = Some(Overlay::Dialog(dialog));
        }
        other => {
            app.overlay = other;
            let n = text.chars().count();
            app.message = Some(format!(
                "ignored pasted text ({n} character{}): a paste is never taken as keys",
                if n == 1 { "" } else { "s" }
            ));
        }
    }
}

fn on_input(app: &mut App, input: Input, key: KeyEvent) -> Vec<Effect> {
    let (mut text, is_filter) = match input {
        Input::Filter(t) => (t, true),
        Input::Command(t) => (t, false),
    };
    let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
    match key.code {
        // Esc cancels: the filter goes back to what it was before.
        KeyCode::Esc if is_filter => {
            let before = app.list.filter_before_edit.take().unwrap_or_default();
            app.set_filter(before);
            return vec![];
        }
        KeyCode::Esc => return vec![],
        KeyCode::Char('c') if ctrl => return vec![],
        KeyCode::Enter if is_filter => {
            app.list.filter_before_edit = None;
            app.set_filter(text);
            return vec![];
        }
        KeyCode::Enter => return run_command(app, text.trim()),
        KeyCode::Tab if !is_filter => {
            let typed = text.trim().to_owned();
            let matches: Vec<&&str> = COMMANDS.iter().filter(|c| c.starts_with(&typed)).collect();
            match matches.as_slice() {
                [one] => text = format!("{one} "),
                [] => app.message = Some(format!("no command starts with {typed:?}")),
                many => {
                    let common = common_prefix(many);
                    if common.len() > typed.len() {
                        text = common;
                    }
                    app.message = Some(many.iter().map(|c| format!(":{c}")).collect::<Vec<_>>().join("  "));
                }
            }
        }
        KeyCode::Char('u') if ctrl => text.clear(),
        KeyCode::Backspace => {
            text.pop();
        }
        KeyCode::Char(c) if !ctrl => text.push(c),
        _ => {}
    }
    if is_filter {
        // The list filters as you type.
        app.set_filter(text.clone());
        app.overlay = Some(Overlay::Input(Input::Filter(text)));
    } else {
        app.overlay = Some(Overlay::Input(Input::Command(text)));
    }
    vec![]
}

fn common_prefix(words: &[&&str]) -> String {
    let first = words[0];
    let mut end = first.len();
    for w in &words[1..] {
        end = end.min(first.bytes().zip(w.bytes()).take_while(|(a, b)| a == b).count());
    }
    first[..end].to_owned()
}

/// `:incidents`, `:audit`, `:123` (or `#123`: open incident 123), `:theme NAME`, `:q`.
fn run_command(app: &mut App, line: &str) -> Vec<Effect> {
    let mut words = line.split_whitespace();
    let first = words.next();
    if let Some(id) = first.map(|w| w.trim_start_matches('#')).and_then(|w| w.parse::<i64>().ok()) {
        return super::app::jump_to_incident(app, id);
    }
    match (first, words.next()) {
        (Some("q" | "quit"), _) => vec![Effect::Quit],
        (Some("incidents"), _) => {
            to_list(app);
            vec![]
        }
        (Some("theme"), Some(name)) => vec![Effect::SetTheme(name.to_owned())],
        (Some("theme"), None) => {
            app.message = Some(format!("usage: :theme NAME ({})", super::theme::Theme::names().join(", ")));
            vec![]
        }
        (Some("activity"), _) => open_screen(app, Screen::Activity),
        (Some("agents"), _) => open_screen(app, Screen::Agents),
        (Some("audit"), _) => open_screen(app, Screen::Audit),
        (Some("attribution"), _) => open_screen(app, Screen::Attribution),
        (Some("routing"), _) => open_screen(app, Screen::Routing),
        (Some("notifications"), _) => open_screen(app, Screen::Notifications),
        (Some("calibration"), _) => open_screen(app, Screen::Calibration),
        (Some("patterns"), _) => open_screen(app, Screen::Patterns),
        (Some(other), _) => {
            app.message = Some(format!("unknown command :{other} (Tab completes: {})", COMMANDS.join(", ")));
            vec![]
        }
        (None, _) => vec![],
    }
}
