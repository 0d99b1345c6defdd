//! The one table every list screen draws: a marker column, only the rows
//! that fit with the selected one kept in sight, marked and highlighted,
//! headings cut to their columns, and where the rows shown are among all.

use super::{column_widths, ellipsize, pane};
use crate::console::theme::{StyleKey as K, Theme};
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::widgets::{Cell, Row, Table};

/// A list's shape: its columns after the marker, its length, the selected
/// row, and how the marker column looks.
pub(in crate::console) struct ListTable<'c, 'a> {
    columns: &'c [(String, Constraint)],
    len: usize,
    selected: usize,
    marker_width: u16,
    marker: Box<dyn Fn(usize, bool) -> Cell<'a> + 'c>,
    position_row: Option<Rect>,
}

impl<'c, 'a> ListTable<'c, 'a> {
    pub fn new(columns: &'c [(String, Constraint)], len: usize, selected: usize) -> Self {
        ListTable {
            columns,
            len,
            selected,
            marker_width: 1,
            marker: Box::new(|_, selected| Cell::from(if selected { "▶" } else { " " })),
            position_row: None,
        }
    }

    /// A marker column `width` wide whose cell for row `n` (selected or not)
    /// `marker` gives: for lists that mark more than the selection.
    pub fn marker(mut self, width: u16, marker: impl Fn(usize, bool) -> Cell<'a> + 'c) -> Self {
        self.marker_width = width;
        self.marker = Box::new(marker);
        self
    }

    /// Says `a–b of n` on `row` (a block's title row) rather than at the
    /// right of the heading row.
    pub fn position_on(mut self, row: Rect) -> Self {
        self.position_row = Some(Rect { height: 1, ..row });
        self
    }

    /// Draws the list into `area`. `cells` gives a row's cells after the
    /// marker, from its index, whether it is selected, and the columns'
    /// widths (the marker's first).
    pub fn draw(
        self,
        theme: &Theme,
        frame: &mut Frame,
        area: Rect,
        mut cells: impl FnMut(usize, bool, &[usize]) -> Vec<Cell<'a>>,
    ) {
        let widths: Vec<Constraint> = std::iter::once(Constraint::Length(self.marker_width))
            .chain(self.columns.iter().map(|(_, w)| *w))
            .collect();
        let cols = column_widths(widths.clone(), area);
        let height = area.height.saturating_sub(1) as usize;
        let offset = self.selected.saturating_sub(height.saturating_sub(1));
        let rows: Vec<Row> = (offset..self.len)
            .take(height)
            .map(|n| {
                let is_selected = n == self.selected;
                let mut row = vec![(self.marker)(n, is_selected)];
                row.extend(cells(n, is_selected, &cols));
                let row = Row::new(row);
                if is_selected { row.style(theme.style(K::Selection)) } else { row }
            })
            .collect();
        let names = std::iter::once("").chain(self.columns.iter().map(|(n, _)| n.as_str()));
        let header = Row::new(names.zip(&cols).map(|(n, w)| ellipsize(n, *w))).style(theme.style(K::Header));
        frame.render_widget(Table::new(rows, widths).header(header).column_spacing(1), area);
        let position_row = self.position_row.unwrap_or(Rect { height: 1, ..area });
        pane::position(theme, frame, position_row, offset, height, self.len);
    }
}
