//! Telling typing from pasting. A terminal that brackets pastes says so
//! (`Event::Paste`); one that does not, or a multiplexer that strips the
//! brackets, delivers the text as a rapid run of key presses. No person
//! types two keys within [`BURST_GAP`] of each other, so key presses that
//! arrive that close together are a paste: text, never commands.

use super::app::Action;
use ratatui::crossterm::event::{Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use std::time::Duration;

/// Key presses closer together than this belong to one burst. Typing, even
/// key repeat (about 30 ms apart), is slower; a paste arrives within
/// microseconds, in one read or several back to back.
pub const BURST_GAP: Duration = Duration::from_millis(10);

/// The actions for events that arrived together (each within
/// [`BURST_GAP`] of the one before): two key presses or more are a paste
/// of their text; one is a key; other events pass through in order.
pub fn actions(events: Vec<Event>) -> Vec<Action> {
    let keys: Vec<&KeyEvent> = events
        .iter()
        .filter_map(|e| match e {
            Event::Key(k) if k.kind != KeyEventKind::Release => Some(k),
            _ => None,
        })
        .collect();
    // Arrow and page keys held down over a slow link also arrive together;
    // they move about and act on nothing, so they stay keys.
    let moving = keys.iter().all(|k| {
        matches!(
            k.code,
            KeyCode::Up | KeyCode::Down | KeyCode::Left | KeyCode::Right | KeyCode::PageUp | KeyCode::PageDown
        )
    });
    let presses = if moving { 1 } else { keys.len() };
    let mut out = Vec::new();
    let mut text = String::new();
    for event in events {
        match event {
            Event::Key(key) if key.kind == KeyEventKind::Release => {}
            Event::Key(key) if presses >= 2 => push_text(&mut text, &key),
            Event::Key(key) => out.push(Action::Key(key)),
            Event::Paste(pasted) => text.push_str(&pasted),
            Event::Resize(..) => out.push(Action::Resize),
            _ => {}
        }
    }
    if !text.is_empty() || presses >= 2 {
        out.push(Action::Paste(text));
    }
    out
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

    #[test]
    fn one_key_is_a_key_and_a_run_of_keys_is_text() {
        assert!(matches!(actions(vec![press('a')]).as_slice(), [Action::Key(_)]));
        let burst =
            vec![press('d'), press('e'), Event::Key(KeyEvent::new(KeyCode::Enter, KeyModifiers::NONE)), press('y')];
        match actions(burst).as_slice() {
            [Action::Paste(text)] => assert_eq!(text, "de\ny"),
            other => panic!("{other:?}"),
        }
        // Two keys together are already a burst: "ay" must not acknowledge.
        assert!(matches!(actions(vec![press('a'), press('y')]).as_slice(), [Action::Paste(t)] if t == "ay"));
    }

    #[test]
    fn arrows_that_arrive_together_still_move() {
        let down = Event::Key(KeyEvent::new(KeyCode::Down, KeyModifiers::NONE));
        let got = actions(vec![down.clone(), down.clone(), down]);
        assert!(matches!(got.as_slice(), [Action::Key(_), Action::Key(_), Action::Key(_)]), "{got:?}");
        let mixed = actions(vec![Event::Key(KeyEvent::new(KeyCode::Down, KeyModifiers::NONE)), press('a')]);
        assert!(matches!(mixed.as_slice(), [Action::Paste(t)] if t == "a"), "{mixed:?}");
    }

    #[test]
    fn a_bracketed_paste_is_text_and_a_resize_still_resizes() {
        let got = actions(vec![Event::Paste("kubectl rollout undo".into()), Event::Resize(80, 24)]);
        assert!(matches!(got.as_slice(), [Action::Resize, Action::Paste(t)] if t == "kubectl rollout undo"));
    }
}
