//! The confirmation dialog: what will happen, to what, the fields the seed
//! asks for, and No as the default.

use crate::console::intent::Dialog;
use crate::console::theme::{StyleKey as K, Theme};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Clear, Paragraph, Wrap};

pub fn dialog(d: &Dialog, theme: &Theme, frame: &mut Frame, area: Rect) {
    let mut lines = vec![Line::from(Span::styled("This will:", theme.style(K::Header)))];
    for effect in d.plan.effects() {
        lines.push(Line::from(format!(" • {effect}")));
    }
    lines.push(Line::from(""));
    for (n, f) in d.fields.iter().enumerate() {
        let focused = n == d.focus;
        let required = if f.required { "*" } else { " " };
        let cursor = if focused { "▏" } else { "" };
        let marker = if focused { "▶ " } else { "  " };
        lines.push(Line::from(vec![
            Span::styled(format!("{marker}{:>8}{required} ", f.label()), theme.style(K::KeyHint)),
            Span::styled(
                format!("{}{cursor}", f.value),
                if focused { theme.style(K::Selection) } else { theme.style(K::Text) },
            ),
        ]));
    }
    if let Some(p) = &d.problem {
        lines.push(Line::from(Span::styled(format!("  {p}"), theme.style(K::Error))));
    }
    lines.push(Line::from(""));
    let on_buttons = d.on_buttons();
    let no = if on_buttons { "▶[ No ]" } else { " [ No ]" };
    lines.push(Line::from(vec![
        Span::styled(no, if on_buttons { theme.style(K::Selection) } else { theme.style(K::Text) }),
        Span::raw("   "),
        Span::styled("[ y: Yes, do it ]", theme.style(K::Warning)),
    ]));
    let help = if on_buttons {
        "y confirms · n, esc or enter cancel · tab back to the fields"
    } else {
        "type, then enter or tab to the buttons · esc cancels"
    };
    lines.push(Line::from(Span::styled(help, theme.style(K::Muted))));

    let width = area.width.min(72);
    let inner_width = width.saturating_sub(2).max(1) as usize;
    let rows: usize = lines.iter().map(|l| l.width().max(1).div_ceil(inner_width)).sum();
    let height = area.height.min(rows as u16 + 2);
    let popup = Rect { x: area.x + (area.width - width) / 2, y: area.y + (area.height - height) / 2, width, height };
    frame.render_widget(Clear, popup);
    let block = Block::default()
        .borders(Borders::ALL)
        .border_style(theme.style(K::Warning))
        .title(Span::styled(format!(" Confirm: {} ", d.plan.label()), theme.style(K::Title)));
    frame.render_widget(Paragraph::new(lines).block(block).wrap(Wrap { trim: false }), popup);
}
