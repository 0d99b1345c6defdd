//! A pane of text that scrolls on its own: lines wrapped to its width with
//! their indent kept, the scroll clamped to what there is, and its position
//! ("12–33 of 80") on its title row when it does not all fit.

use crate::console::screens::Scroll;
use crate::console::theme::{StyleKey as K, Theme};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;
use unicode_width::UnicodeWidthChar;

/// Wraps each line to `width` columns at spaces where it can; a continued
/// line starts under the text of the first, past its indent and bullet.
pub(in crate::console) fn wrap(lines: Vec<Line<'static>>, width: u16) -> Vec<Line<'static>> {
    let width = width.max(8) as usize;
    let mut out = Vec::with_capacity(lines.len());
    for line in lines {
        if line.width() <= width {
            out.push(line);
            continue;
        }
        let cells: Vec<(char, Style)> =
            line.spans.iter().flat_map(|s| s.content.chars().map(move |c| (c, line.style.patch(s.style)))).collect();
        let indent = cells.iter().take_while(|(c, _)| *c == ' ').count();
        // Past a bullet or a mark ("• ", "✓ ", "· ") too, when there is one.
        let hang = match cells.get(indent..indent + 2) {
            Some([(mark, _), (' ', _)]) if !mark.is_alphanumeric() => indent + 2,
            _ => indent,
        }
        .min(width / 2);
        let mut start = 0;
        let mut first = true;
        while start < cells.len() {
            let room = if first { width } else { width - hang };
            let mut end = start;
            let mut used = 0;
            while end < cells.len() && used + cells[end].0.width().unwrap_or(0) <= room {
                used += cells[end].0.width().unwrap_or(0);
                end += 1;
            }
            if end < cells.len()
                && let Some(space) = (start + 1..end).rev().find(|&i| cells[i].0 == ' ')
            {
                end = space + 1;
            }
            let end = end.max(start + 1);
            let mut spans = Vec::new();
            if !first {
                spans.push(Span::raw(" ".repeat(hang)));
            }
            let mut text = String::new();
            let mut style = cells[start].1;
            for &(c, s) in &cells[start..end] {
                if s != style {
                    spans.push(Span::styled(std::mem::take(&mut text), style));
                    style = s;
                }
                text.push(c);
            }
            spans.push(Span::styled(text.trim_end().to_owned(), style));
            out.push(Line::from(spans));
            start = end;
            while start < cells.len() && cells[start].0 == ' ' {
                start += 1;
            }
            first = false;
        }
    }
    out
}

/// Draws `lines` in `inner`, wrapped, from the app's scroll position
/// (clamped: `G` asks for the end); `title` is the pane's title row, where
/// its position goes when it does not all fit.
pub(in crate::console) fn scrolled(
    scroll: &Scroll,
    theme: &Theme,
    frame: &mut Frame,
    inner: Rect,
    title: Rect,
    lines: Vec<Line<'static>>,
) {
    let lines = wrap(lines, inner.width);
    let height = inner.height as usize;
    let limit = lines.len().saturating_sub(height);
    let top = clamp(scroll, limit);
    position(theme, frame, title, top, height, lines.len());
    frame.render_widget(Paragraph::new(lines).scroll((top as u16, 0)), inner);
}

/// Where a scroll is, given the most it can be; the screen remembers the
/// limit for its next keys.
pub(in crate::console) fn clamp(scroll: &Scroll, limit: usize) -> usize {
    scroll.limit.set(limit.min(u16::MAX as usize) as u16);
    (scroll.top as usize).min(limit)
}

/// " 12–33 of 80 " at the right of the title row, when not all of it fits.
pub(in crate::console) fn position(
    theme: &Theme,
    frame: &mut Frame,
    title: Rect,
    top: usize,
    height: usize,
    total: usize,
) {
    if total <= height {
        return;
    }
    let text = format!(" {}–{} of {} ", top + 1, (top + height).min(total), total);
    let width = text.chars().count() as u16;
    if title.width > width + 2 {
        let at = Rect { x: title.right() - width - 1, y: title.y, width, height: 1 };
        frame.render_widget(Paragraph::new(Span::styled(text, theme.style(K::Muted))), at);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(lines: &[Line]) -> Vec<String> {
        lines.iter().map(|l| l.spans.iter().map(|s| s.content.as_ref()).collect()).collect()
    }

    #[test]
    fn wrapped_lines_keep_their_indent_and_break_at_spaces() {
        let lines = vec![Line::from("    · touched payments-db, a dependency of payments-service, which failed")];
        assert_eq!(
            texts(&wrap(lines, 40)),
            ["    · touched payments-db, a dependency", "      of payments-service, which failed"]
        );
        let short = vec![Line::from("fits")];
        assert_eq!(texts(&wrap(short, 40)), ["fits"]);
    }
}
