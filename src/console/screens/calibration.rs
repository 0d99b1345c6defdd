//! How well the scores matched the verdicts (seed 11.2), and what became
//! of suggestions (2.2, 9.4), over the last 30 days.

use super::{Component, ScreenData, Scroll, Step};
use crate::api::{Calibration, CalibrationFlag, IncidentDetail, SuggestionKindStats, SuggestionStats};
use crate::console::app::{App, Screen, Watch};
use crate::console::keymap::{KeyAction, Mode};
use crate::console::theme::{StyleKey as K, Theme};
use crate::console::view;
use crate::console::view::learning::muted;
use crate::console::view::{heading, not_known, plural, titled};
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::{Line, Span};

#[derive(Debug, Clone, Default)]
pub struct CalibrationView {
    pub calibration: Option<Calibration>,
    pub suggestions: Option<SuggestionStats>,
    pub scroll: Scroll,
}

impl Component for CalibrationView {
    fn screen(&self) -> Screen {
        Screen::Calibration
    }

    fn mode(&self) -> Mode {
        Mode::Calibration
    }

    fn watch(&self) -> Watch {
        Watch::Calibration
    }

    fn on_key(&mut self, action: KeyAction, _detail: Option<&IncidentDetail>) -> Step {
        self.scroll.on_key(action)
    }

    fn receive(&mut self, data: ScreenData) -> bool {
        match data {
            ScreenData::Calibration(c) => {
                self.calibration = Some(*c);
                true
            }
            ScreenData::SuggestionStats(s) => {
                self.suggestions = Some(*s);
                true
            }
            _ => false,
        }
    }

    fn draw(&self, app: &App, theme: &Theme, frame: &mut Frame, area: Rect) {
        calibration(app, self, theme, frame, area)
    }
}

fn calibration(app: &App, view: &CalibrationView, theme: &Theme, frame: &mut Frame, area: Rect) {
    let block = titled(theme, " Calibration — were our 80% right 80% of the time? (last 30 days) ".to_owned());
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let Some(c) = &view.calibration else { return not_known(app, theme, frame, inner, "calibration figures") };
    let mut lines = Vec::new();
    let brier = match c.brier {
        Some(b) => format!("Brier score {b:.3} (0 is perfect, 0.25 a coin toss)"),
        None => "no Brier score yet".to_owned(),
    };
    lines.push(Line::from(format!(
        "{} judged, {} confirmed{} · {brier}",
        plural(c.judged as usize, "cause"),
        c.confirmed,
        if c.investigating > 0 {
            format!(" ({} left to investigate, not counted)", c.investigating)
        } else {
            String::new()
        }
    )));
    if c.judged == 0 {
        lines.push(muted(theme, "Nobody has confirmed or rejected a cause in this period: nothing to measure yet."));
    }
    lines.push(Line::from(""));
    lines.push(heading(theme, &format!("{:<12} {:>7}  {:>6}  {:>9}", "Per band", "range", "judged", "confirmed")));
    for b in &c.bands {
        let (mark, text, key) = match b.flag {
            CalibrationFlag::WithinRange => ("✓", "in range".to_owned(), K::Success),
            CalibrationFlag::Overconfident => ("✗", "OVERCONFIDENT".to_owned(), K::Error),
            CalibrationFlag::Underconfident => ("✗", "UNDERCONFIDENT".to_owned(), K::Warning),
            CalibrationFlag::TooFew => ("·", format!("too few (< {})", c.min_judged), K::Muted),
        };
        lines.push(Line::from(vec![
            Span::raw(format!(
                "  {:<10} {:>7}  {:>6}  {:>9}  ",
                b.band.as_str(),
                format!("{}–{}%", b.low, b.high),
                b.judged,
                percent(b.observed)
            )),
            Span::styled(format!("{mark} {text}"), theme.style(key)),
        ]));
    }
    lines.push(muted(
        theme,
        "  A band is flagged when the share of its causes humans confirmed falls outside its range.",
    ));
    lines.push(Line::from(""));
    lines.push(heading(
        theme,
        &format!("{:<12} {:>7}  {:>6}  {:>9}  {:>8}", "Reliability", "score", "judged", "predicted", "observed"),
    ));
    let judged_bins: Vec<_> = c.reliability.iter().filter(|r| r.judged > 0).collect();
    if judged_bins.is_empty() {
        lines.push(muted(theme, "  no verdicts yet"));
    }
    for r in judged_bins {
        let gap = r.observed.zip(r.predicted).map(|(o, p)| o - p).unwrap_or(0.0);
        let key = if gap.abs() > 0.2 { K::Warning } else { K::Text };
        lines.push(Line::from(Span::styled(
            format!(
                "  {:<10} {:>7}  {:>6}  {:>9}  {:>8}",
                "",
                format!("{}–{}%", r.from, r.to),
                r.judged,
                percent(r.predicted),
                percent(r.observed)
            ),
            theme.style(key),
        )));
    }
    lines.push(Line::from(""));
    lines.push(heading(
        theme,
        &format!("{:<16} {:>6}  {:>9}  {:>10}  Brier", "Per cause type", "judged", "confirmed", "mean score"),
    ));
    if c.cause_types.is_empty() {
        lines.push(muted(theme, "  no verdicts yet"));
    }
    for t in &c.cause_types {
        lines.push(Line::from(format!(
            "  {:<14} {:>6}  {:>9}  {:>10}  {}",
            t.cause_type.chars().take(14).collect::<String>(),
            t.judged,
            percent(t.observed),
            percent(t.mean_score),
            t.brier.map(|b| format!("{b:.3}")).unwrap_or_else(|| "—".to_owned())
        )));
    }
    lines.push(Line::from(""));
    lines.push(heading(theme, "Suggestions  shown  open  acted  ignored  superseded  accepted  to act (median)"));
    match &view.suggestions {
        None => lines.push(muted(theme, "  not known yet: waiting for the server")),
        Some(s) => s.kinds.iter().for_each(|k| lines.push(suggestion_row(k))),
    }
    view::pane::scrolled(&view.scroll, theme, frame, inner, Rect { height: 1, ..area }, lines);
}

fn suggestion_row(k: &SuggestionKindStats) -> Line<'static> {
    let wait = k.time_to_action_p50_s.map(duration).unwrap_or_else(|| "—".to_owned());
    let open = k.shown - k.acted - k.ignored - k.superseded;
    Line::from(format!(
        "  {:<11}{:>5}  {:>4}  {:>5}  {:>7}  {:>10}  {:>8}  {wait}",
        k.kind.as_str(),
        k.shown,
        open,
        k.acted,
        k.ignored,
        k.superseded,
        percent(k.acceptance)
    ))
}

fn duration(s: i64) -> String {
    match s {
        ..60 => format!("{s} s"),
        60..3600 => format!("{} min", s / 60),
        _ => format!("{}h{:02}", s / 3600, s % 3600 / 60),
    }
}

fn percent(share: Option<f64>) -> String {
    share.map(|s| format!("{:.0}%", s * 100.0)).unwrap_or_else(|| "—".to_owned())
}
