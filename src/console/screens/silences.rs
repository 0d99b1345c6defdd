//! Silences and maintenance windows (`:silences`): active and scheduled
//! first, then the ended ones, each with what it matches, who made it and
//! why, until when, and how many incidents it held (UNUSED when it ended
//! having held none). `U` lifts the selected one; `enter` reads it whole.

use super::{Component, Reading, ScreenData, Selection, Step};
use crate::api::{IncidentDetail, Silence, SilenceList, SilenceState};
use crate::console::app::{App, Screen, Watch};
use crate::console::keymap::{KeyAction, Mode};
use crate::console::theme::{StyleKey as K, Theme};
use crate::console::view::{ellipsize, not_known, titled};
use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph};

#[derive(Debug, Clone, Default)]
pub struct SilencesView {
    /// None until the first answer: "none" and "not known" differ.
    pub list: Option<SilenceList>,
    /// By silence id.
    pub selected: Selection<i64>,
}

impl SilencesView {
    fn ids(&self) -> Vec<i64> {
        self.list.iter().flat_map(|l| &l.silences).map(|s| s.id).collect()
    }

    pub fn selected_silence(&self) -> Option<&Silence> {
        let list = self.list.as_ref()?;
        self.selected.row(list.silences.iter().map(|s| &s.id)).map(|n| &list.silences[n])
    }
}

impl Component for SilencesView {
    fn screen(&self) -> Screen {
        Screen::Silences
    }

    fn mode(&self) -> Mode {
        Mode::Silences
    }

    fn watch(&self) -> Watch {
        Watch::Silences
    }

    fn on_key(&mut self, action: KeyAction, _detail: Option<&IncidentDetail>) -> Step {
        match action {
            KeyAction::Open => self.selected_silence().map_or(Step::Stay, |s| Step::Show(Box::new(reading(s)))),
            _ => self.selected.on_key(action, &self.ids()),
        }
    }

    fn receive(&mut self, data: ScreenData) -> bool {
        match data {
            ScreenData::Silences(list) => {
                self.list = Some(*list);
                let ids = self.ids();
                self.selected.settle(&ids);
                true
            }
            _ => false,
        }
    }

    fn draw(&self, app: &App, theme: &Theme, frame: &mut Frame, area: Rect) {
        silences(app, self, theme, frame, area)
    }
}

/// "until 14:00", "until 12-09 14:00": the day said when it is not today.
pub fn until_words(at: DateTime<Utc>, now: DateTime<Utc>) -> String {
    if at.date_naive() == now.date_naive() {
        format!("until {}", at.format("%H:%M"))
    } else {
        format!("until {}", at.format("%m-%d %H:%M"))
    }
}

/// When it holds, in words: its weekly window, or its end.
fn when(s: &Silence, now: DateTime<Utc>) -> String {
    match (&s.weekly, s.state) {
        (Some(w), SilenceState::Active | SilenceState::Scheduled) => {
            format!("{}, {}", w.describe(), until_words(s.ends_at, now))
        }
        (_, SilenceState::Scheduled) => {
            format!("from {} {}", s.starts_at.format("%m-%d %H:%M"), until_words(s.ends_at, now))
        }
        (_, SilenceState::Active) => until_words(s.ends_at, now),
        (_, SilenceState::Lifted) => {
            format!(
                "lifted {} by {}",
                s.lifted_at.unwrap_or(s.ends_at).format("%m-%d %H:%M"),
                s.lifted_by.as_deref().unwrap_or("?")
            )
        }
        (_, SilenceState::Expired) => format!("ended {}", s.ends_at.format("%m-%d %H:%M")),
    }
}

fn state_span(theme: &Theme, s: &Silence) -> Span<'static> {
    match (s.state, s.unused) {
        (SilenceState::Active, _) => Span::styled("ACTIVE", theme.style(K::Warning)),
        (SilenceState::Scheduled, _) => Span::styled("scheduled", theme.style(K::Accent)),
        (_, true) => Span::styled("UNUSED", theme.style(K::Error)),
        (SilenceState::Lifted, _) => Span::styled("lifted", theme.style(K::Muted)),
        (SilenceState::Expired, _) => Span::styled("ended", theme.style(K::Muted)),
    }
}

/// One silence, whole.
fn reading(s: &Silence) -> Reading {
    let at = |t: DateTime<Utc>| t.format("%Y-%m-%d %H:%M:%S UTC").to_string();
    let mut fields = vec![
        (
            "state".to_owned(),
            if s.unused { format!("{} (unused: it held no incident)", s.state) } else { s.state.to_string() },
        ),
        ("matches".to_owned(), s.matches.describe()),
        ("owner".to_owned(), s.owner.clone()),
        ("reason".to_owned(), s.reason.clone()),
        ("from".to_owned(), at(s.starts_at)),
        ("until".to_owned(), at(s.ends_at)),
    ];
    if let Some(w) = &s.weekly {
        fields.push(("window".to_owned(), w.describe()));
    }
    if let (Some(l), Some(by)) = (s.lifted_at, &s.lifted_by) {
        fields.push(("lifted".to_owned(), format!("{} by {by}", at(l))));
    }
    fields.push(("incidents held".to_owned(), s.incidents.to_string()));
    if let Some(name) = &s.routing_name {
        fields.push(("written in".to_owned(), format!("the routing file, as {name:?} (change it there)")));
    }
    Reading { title: format!("Silence #{}", s.id), fields }
}

/// `:silences`: every silence in force or to come, then the ended ones.
fn silences(app: &App, view: &SilencesView, theme: &Theme, frame: &mut Frame, area: Rect) {
    let title = match &view.list {
        Some(l) => {
            let n = |st: SilenceState| l.silences.iter().filter(|s| s.state == st).count();
            let unused = l.silences.iter().filter(|s| s.unused).count();
            format!(
                " Silences — {} active, {} scheduled, {} ended ({unused} unused) ",
                n(SilenceState::Active),
                n(SilenceState::Scheduled),
                n(SilenceState::Expired) + n(SilenceState::Lifted)
            )
        }
        None => " Silences ".to_owned(),
    };
    let block = titled(theme, title);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let Some(list) = &view.list else { return not_known(app, theme, frame, inner, "the silences") };
    if list.silences.is_empty() {
        let text = "No silences. m on an incident silences what it matches, for a time you give.";
        frame.render_widget(Paragraph::new(Line::from(Span::styled(text, theme.style(K::Muted)))), inner);
        return;
    }
    let wide = inner.width >= 110;
    // As wide as what they hold, up to a cap that leaves the reason room.
    let fit = |f: &dyn Fn(&Silence) -> String, narrow: usize, cap: usize| {
        let w = crate::console::view::widest(&list.silences, |s| f(s).chars().count(), if wide { cap } else { narrow });
        Constraint::Length(w.max(5) as u16)
    };
    let mut columns = vec![
        ("#", Constraint::Length(4)),
        ("STATE", Constraint::Length(9)),
        ("MATCH", fit(&|s| s.matches.describe(), if inner.width < 70 { 14 } else { 20 }, 48)),
        ("WHEN", fit(&|s| when(s, app.now), 13, 44)),
    ];
    if wide {
        columns.extend([("OWNER", Constraint::Length(12)), ("HELD", Constraint::Length(4))]);
    }
    columns.push(("REASON", Constraint::Fill(1)));
    let columns: Vec<(String, Constraint)> = columns.into_iter().map(|(n, w)| (n.to_owned(), w)).collect();
    let selected = view.selected.row(list.silences.iter().map(|s| &s.id)).unwrap_or(0);
    crate::console::view::list_table(theme, frame, inner, &columns, (list.silences.len(), selected), |n, _, cols| {
        let s = &list.silences[n];
        let mut cells = vec![
            Cell::from(format!("#{}", s.id)),
            Cell::from(state_span(theme, s)),
            Cell::from(ellipsize(&s.matches.describe(), cols[3])),
            Cell::from(ellipsize(&when(s, app.now), cols[4])),
        ];
        if wide {
            cells.push(Cell::from(ellipsize(&s.owner, cols[5])));
            cells.push(Cell::from(s.incidents.to_string()));
        }
        let mut reason = if wide { s.reason.clone() } else { format!("{} — {}", s.owner, s.reason) };
        if let Some(name) = &s.routing_name {
            reason = format!("{reason} (routing file: {name})");
        }
        cells.push(Cell::from(ellipsize(&reason, *cols.last().unwrap_or(&10))));
        cells
    });
}
