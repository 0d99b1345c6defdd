//! Telling typing from pasting. A terminal that brackets pastes says so
//! (`Event::Paste`): that is text, always. One that does not, or a
//! multiplexer that strips the brackets, delivers a paste as a rapid run of
//! key presses, which is also what typing looks like over SSH after a stall
//! (the keys typed meanwhile arrive together). A burst is taken as pasted
//! text only when it looks like text no one types ahead: a line break
//! before its last key, or more than [`TYPED_AHEAD`] characters. Shorter
//! bursts are the operator's keys (`j j`, `:12` Enter); the app keeps a
//! dialog from being answered by keys that arrived with the one that
//! opened it (`app::update_batch`).

use super::app::Action;
use ratatui::crossterm::event::{Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use std::time::Duration;

/// Key presses closer together than this belong to one burst. Typing, even
/// key repeat (about 30 ms apart), is slower; a paste arrives within
/// microseconds, in one read or several back to back.
pub const BURST_GAP: Duration = Duration::from_millis(10);

/// The most characters of a burst still taken as typed ahead: a command
/// and its argument (`:notifications` Enter), a few moves and a key.
pub const TYPED_AHEAD: usize = 16;

/// The actions for events that arrived together (each within
/// [`BURST_GAP`] of the one before): a bracketed paste, or a burst that
/// looks pasted, is text; other key presses are keys; other events pass
/// through in order.
pub fn actions(events: Vec<Event>) -> Vec<Action> {
    let keys: Vec<&KeyEvent> = events
        .iter()
        .filter_map(|e| match e {
            Event::Key(k) if k.kind != KeyEventKind::Release => Some(k),
            _ => None,
        })
        .collect();
    let pasted = looks_pasted(&keys);
    let mut out = Vec::new();
    let mut text = String::new();
    let mut bracketed = false;
    for event in events {
        match event {
            Event::Key(key) if key.kind == KeyEventKind::Release => {}
            Event::Key(key) if pasted => push_text(&mut text, &key),
            Event::Key(key) => out.push(Action::Key(key)),
            Event::Paste(p) => {
                bracketed = true;
                text.push_str(&p);
            }
            Event::Resize(..) => out.push(Action::Resize),
            _ => {}
        }
    }
    if pasted || bracketed {
        out.push(Action::Paste(text));
    }
    out
}

/// Whether key presses that arrived together are pasted text rather than
/// keys typed ahead: a line break with keys after it, or more characters
/// than anyone types ahead.
fn looks_pasted(keys: &[&KeyEvent]) -> bool {
    let inner_break = keys.iter().rev().skip(1).any(|k| k.code == KeyCode::Enter);
    let characters = keys.iter().filter(|k| matches!(k.code, KeyCode::Char(_) | KeyCode::Tab)).count();
    inner_break || characters > TYPED_AHEAD
}

/// What a key press in a burst stands for as text.
fn push_text(text: &mut String, key: &KeyEvent) {
    match key.code {
        KeyCode::Char(c) if !key.modifiers.contains(KeyModifiers::CONTROL) => text.push(c),
        KeyCode::Enter => text.push('\n'),
        KeyCode::Tab => text.push('\t'),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn press(c: char) -> Event {
        Event::Key(KeyEvent::new(KeyCode::Char(c), KeyModifiers::NONE))
    }

    fn keys(text: &str) -> Vec<Event> {
        text.chars()
            .map(|c| match c {
                '\n' => Event::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)),
                c => press(c),
            })
            .collect()
    }

    fn typed(got: &[Action]) -> String {
        got.iter()
            .map(|a| match a {
                Action::Key(KeyEvent { code: KeyCode::Char(c), .. }) => c.to_string(),
                Action::Key(KeyEvent { code: KeyCode::Enter, .. }) => "⏎".to_owned(),
                other => panic!("not a key: {other:?}"),
            })
            .collect()
    }

    #[test]
    fn keys_typed_ahead_stay_keys() {
        assert!(matches!(actions(vec![press('a')]).as_slice(), [Action::Key(_)]));
        assert_eq!(typed(&actions(keys("jj"))), "jj");
        assert_eq!(typed(&actions(keys(":12\n"))), ":12⏎", "a command and its Enter");
        assert_eq!(typed(&actions(keys(":notifications\n"))), ":notifications⏎");
        let down = Event::Key(KeyEvent::new(KeyCode::Down, KeyModifiers::NONE));
        let got = actions(vec![down.clone(), down.clone(), down]);
        assert!(matches!(got.as_slice(), [Action::Key(_), Action::Key(_), Action::Key(_)]), "{got:?}");
    }

    #[test]
    fn a_burst_that_looks_pasted_is_text() {
        match actions(keys("de\ny")).as_slice() {
            [Action::Paste(text)] => assert_eq!(text, "de\ny", "a line break inside"),
            other => panic!("{other:?}"),
        }
        let long = "kubectl rollout undo deploy/payments";
        assert!(matches!(actions(keys(long)).as_slice(), [Action::Paste(t)] if t == long), "longer than typed ahead");
    }

    #[test]
    fn a_bracketed_paste_is_text_and_a_resize_still_resizes() {
        let got = actions(vec![Event::Paste("kubectl rollout undo".into()), Event::Resize(80, 24)]);
        // Even one character: a bracketed paste is never a key.
        assert!(matches!(actions(vec![Event::Paste("y".into())]).as_slice(), [Action::Paste(t)] if t == "y"));
        assert!(matches!(got.as_slice(), [Action::Resize, Action::Paste(t)] if t == "kubectl rollout undo"));
    }
}
