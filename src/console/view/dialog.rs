//! The confirmation dialog: what will be sent, to what, the fields the seed
//! asks for, and No as the default; and the quit prompt.

use crate::console::intent::Dialog;
use crate::console::theme::{StyleKey as K, Theme};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

pub fn dialog(d: &Dialog, theme: &Theme, frame: &mut Frame, area: Rect) {
    // The preview is built from what has been typed: it is what will be sent.
    let plan = d.current_plan();
    let mut lines = vec![Line::from(Span::styled("This will:", theme.style(K::Header)))];
    for effect in plan.effects() {
        let mut rows = effect.lines();
        lines.push(Line::from(format!(" • {}", rows.next().unwrap_or_default())));
        // A multi-line rule keeps its lines, indented under its bullet.
        lines.extend(rows.map(|row| Line::from(format!("   {row}"))));
    }
    lines.push(Line::from(""));
    for (n, f) in d.fields.iter().enumerate() {
        let focused = n == d.focus;
        let required = if f.required { "*" } else { " " };
        let marker = if focused { "▶ " } else { "  " };
        let label = Span::styled(format!("{marker}{:>8}{required} ", f.label()), theme.style(K::KeyHint));
        let style = if focused { theme.style(K::Selection) } else { theme.style(K::Text) };
        let mut rows: Vec<&str> = f.value.split('\n').collect();
        let last = rows.pop().unwrap_or_default();
        let cursor = if focused { "▏" } else { "" };
        let mut first = true;
        for row in rows.into_iter().map(|r| r.to_owned()).chain([format!("{last}{cursor}")]) {
            let head = if first { label.clone() } else { Span::raw(" ".repeat(12)) };
            lines.push(Line::from(vec![head, Span::styled(row, style)]));
            first = false;
        }
    }
    if let Some(p) = &d.problem {
        lines.push(Line::from(Span::styled(format!("  {p}"), theme.style(K::Error))));
    }
    lines.push(Line::from(""));
    let on_buttons = d.on_buttons();
    let no = if on_buttons { "▶[ No ]" } else { " [ No ]" };
    let yes: String = if d.irreversible() {
        format!("[ Ctrl-Y: Yes, {} ]", d.weighty_briefly())
    } else {
        "[ y: Yes, do it ]".to_owned()
    };
    lines.push(Line::from(vec![
        Span::styled(no, if on_buttons { theme.style(K::Selection) } else { theme.style(K::Text) }),
        Span::raw("   "),
        Span::styled(yes, theme.style(K::Warning)),
    ]));
    let help = match (on_buttons, d.irreversible()) {
        (true, true) => "Ctrl-Y confirms · n, esc or enter cancel · tab/shift-tab to the fields",
        (true, false) => "y confirms · n, esc or enter cancel · tab/shift-tab to the fields",
        (false, _) => "type here · tab/shift-tab move between fields and buttons · esc cancels",
    };
    lines.push(Line::from(Span::styled(help, theme.style(K::Muted))));

    // The target ends the label ("… on incident #12", "… agent deployer"):
    // a long one is cut in the middle, so the target stays.
    let room = (area.width.min(72) as usize).saturating_sub(14);
    let title = format!(" Confirm: {} ", cut_middle(&plan.label(), room));
    popup(theme, frame, area, title, lines);
}

/// `text` at most `width` characters, cut in its middle.
fn cut_middle(text: &str, width: usize) -> String {
    let n = text.chars().count();
    if n <= width || width < 8 {
        return text.to_owned();
    }
    let head = (width - 1) / 3;
    let tail = width - 1 - head;
    let chars: Vec<char> = text.chars().collect();
    format!("{}…{}", chars[..head].iter().collect::<String>(), chars[n - tail..].iter().collect::<String>())
}

/// "Quit mandate?": a run of `q` presses never leaves without this prompt.
pub fn quit(pending: usize, theme: &Theme, frame: &mut Frame, area: Rect) {
    let mut lines = vec![Line::from("Leave the console?")];
    if pending > 0 {
        lines.push(Line::from(Span::styled(
            format!(
                "{pending} intervention{} still on its way: leaving now, you will not see whether it was applied \
                 (the audit log will say).",
                if pending == 1 { " is" } else { "s are" }
            ),
            theme.style(K::Warning),
        )));
    }
    lines.extend([
        Line::from(""),
        Line::from(vec![
            Span::styled("▶[ No ]", theme.style(K::Selection)),
            Span::raw("   "),
            Span::styled("[ y: Yes, quit ]", theme.style(K::Warning)),
        ]),
        Line::from(Span::styled("y quits · any other key stays", theme.style(K::Muted))),
    ]);
    popup(theme, frame, area, " Quit mandate? ".to_owned(), lines);
}

/// A bordered box in the middle of `area`, as tall as its wrapped lines.
fn popup(theme: &Theme, frame: &mut Frame, area: Rect, title: String, lines: Vec<Line<'static>>) {
    let width = area.width.min(72);
    let lines = super::pane::wrap(lines, width.saturating_sub(2));
    let height = area.height.min(lines.len() as u16 + 2);
    let popup = Rect { x: area.x + (area.width - width) / 2, y: area.y + (area.height - height) / 2, width, height };
    frame.render_widget(Clear, popup);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.style(K::Warning))
        .title(Span::styled(title, theme.style(K::Title)));
    frame.render_widget(Paragraph::new(lines).block(block), popup);
}
