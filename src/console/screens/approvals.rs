//! Gated actions waiting for a person (`:approvals`): the waiting ones
//! first, soonest to run out first, then the latest decided; each with the
//! agent, what it will do and on what, what gated it and how long it
//! waits. `a` approves and `d` denies the selected one (a reason, then
//! Ctrl-Y); `enter` reads it whole: everything the approver decides on.
//! The title says what gating costs people (seed 004 §4.3's 5 % budget).

use super::{Component, Reading, ScreenData, Selection, Step};
use crate::api::{ApprovalFriction, ApprovalList, ApprovalRequest, ApprovalStatus, IncidentDetail};
use crate::console::app::{App, Screen, Watch};
use crate::console::keymap::{KeyAction, Mode};
use crate::console::theme::{StyleKey as K, Theme};
use crate::console::view::{ellipsize, not_known, titled};
use chrono::{DateTime, Utc};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph};

#[derive(Debug, Clone, Default)]
pub struct ApprovalsView {
    /// None until the first answer: "none waiting" and "not known" differ.
    pub list: Option<ApprovalList>,
    /// By request id.
    pub selected: Selection<i64>,
}

impl ApprovalsView {
    fn ids(&self) -> Vec<i64> {
        self.list.iter().flat_map(|l| &l.approvals).map(|a| a.id).collect()
    }

    pub fn selected_approval(&self) -> Option<&ApprovalRequest> {
        let list = self.list.as_ref()?;
        self.selected.row(list.approvals.iter().map(|a| &a.id)).map(|n| &list.approvals[n])
    }
}

impl Component for ApprovalsView {
    fn screen(&self) -> Screen {
        Screen::Approvals
    }

    fn mode(&self) -> Mode {
        Mode::Approvals
    }

    fn watch(&self) -> Watch {
        // Fetched for the status bar on every screen.
        Watch::Nothing
    }

    fn on_key(&mut self, action: KeyAction, _detail: Option<&IncidentDetail>) -> Step {
        match action {
            KeyAction::Open => self.selected_approval().map_or(Step::Stay, |a| Step::Show(Box::new(reading(a)))),
            _ => self.selected.on_key(action, &self.ids()),
        }
    }

    fn receive(&mut self, data: ScreenData) -> bool {
        match data {
            ScreenData::Approvals(list) => {
                self.list = Some(*list);
                let ids = self.ids();
                self.selected.settle(&ids);
                true
            }
            _ => false,
        }
    }

    fn draw(&self, app: &App, theme: &Theme, frame: &mut Frame, area: Rect) {
        approvals(app, self, theme, frame, area)
    }
}

/// How long it still waits, or how it ended: "4m12s left", "approved by alice".
pub fn state_words(a: &ApprovalRequest, now: DateTime<Utc>) -> String {
    match a.status {
        ApprovalStatus::Waiting => {
            let left = (a.expires_at - now).num_seconds().max(0);
            let then = a.on_timeout_outcome();
            let votes = match (a.approvals_needed, a.approvals.len()) {
                (2, n) => format!(", {n} of 2 approvals"),
                _ => String::new(),
            };
            format!("{}m{:02}s left, then {then}{votes}", left / 60, left % 60)
        }
        ApprovalStatus::Approved | ApprovalStatus::Denied => {
            format!("{} by {}", a.status, a.decided_by.as_deref().unwrap_or("?"))
        }
        ApprovalStatus::TimedOut => {
            format!("timed out: {}", if a.proceed { "approved" } else { "denied" })
        }
        ApprovalStatus::Abandoned => "abandoned: the agent stopped waiting".to_owned(),
    }
}

/// [`state_words`], brief for the list: "9m50s left", "by alice".
fn brief_state(a: &ApprovalRequest, now: DateTime<Utc>) -> String {
    match a.status {
        ApprovalStatus::Waiting => {
            let left = (a.expires_at - now).num_seconds().max(0);
            let votes = if a.approvals_needed == 2 { format!(" {}/2", a.approvals.len()) } else { String::new() };
            format!("{}m{:02}s left{votes}", left / 60, left % 60)
        }
        ApprovalStatus::Approved | ApprovalStatus::Denied => format!("by {}", a.decided_by.as_deref().unwrap_or("?")),
        ApprovalStatus::TimedOut => (if a.proceed { "ran out: ran" } else { "ran out" }).to_owned(),
        ApprovalStatus::Abandoned => "agent gone".to_owned(),
    }
}

fn status_span(theme: &Theme, a: &ApprovalRequest) -> Span<'static> {
    match a.status {
        ApprovalStatus::Waiting => Span::styled("WAITING", theme.style(K::Error)),
        ApprovalStatus::Approved => Span::styled("approved", theme.style(K::Live)),
        ApprovalStatus::Denied => Span::styled("denied", theme.style(K::Warning)),
        ApprovalStatus::TimedOut => Span::styled("timed out", theme.style(K::Muted)),
        ApprovalStatus::Abandoned => Span::styled("abandoned", theme.style(K::Muted)),
    }
}

/// One request, whole: everything the approver decides on.
pub fn reading(a: &ApprovalRequest) -> Reading {
    let at = |t: DateTime<Utc>| t.format("%Y-%m-%d %H:%M:%S UTC").to_string();
    let mut fields = vec![
        ("status".to_owned(), state_words(a, Utc::now())),
        ("agent".to_owned(), a.agent_id.clone()),
        ("will do".to_owned(), a.action()),
        ("in its words".to_owned(), a.summary.clone()),
    ];
    if let Some(h) = &a.on_behalf_of {
        fields.push(("for".to_owned(), format!("{h} (asked by them)")));
    }
    if let Some(run) = &a.run_id {
        fields.push(("run".to_owned(), run.clone()));
    }
    fields.push(("gated by".to_owned(), format!("{}: {}", a.gate(), a.reason)));
    fields.push((
        "blast radius".to_owned(),
        if a.blast_preview.is_empty() { "nothing else depends on it".to_owned() } else { a.blast_preview.join(", ") },
    ));
    fields.push((
        "past incidents".to_owned(),
        if a.past_incidents.is_empty() {
            format!("none with {} in the last 90 days", a.action_type)
        } else {
            a.past_incidents
                .iter()
                .map(|p| format!("#{} {} ({})", p.id, p.title, p.status))
                .collect::<Vec<_>>()
                .join("; ")
        },
    ));
    let needs = match (a.approvals_needed, a.four_eyes) {
        (2, true) => "two different people, not the one it is done for",
        (2, false) => "two different people",
        (_, true) => "one person, not the one it is done for (four eyes)",
        _ => "one person",
    };
    fields.push(("approved by".to_owned(), needs.to_owned()));
    for v in &a.approvals {
        fields.push(("approval".to_owned(), format!("{} at {}: {}", v.by, at(v.at), v.reason)));
    }
    fields.push(("asked".to_owned(), at(a.created_at)));
    fields.push(("runs out".to_owned(), format!("{} (then {})", at(a.expires_at), a.on_timeout_outcome())));
    if let (Some(when), Some(by)) = (a.decided_at, &a.decided_by) {
        let why = a.decision_reason.as_deref().unwrap_or("");
        fields.push(("decided".to_owned(), format!("{} by {by}: {why}", at(when))));
    }
    if let Some(id) = a.incident_id {
        fields.push(("incident".to_owned(), format!("#{id} (pages its approvers)")));
    }
    fields.push(("digest".to_owned(), a.digest.clone()));
    Reading { title: format!("Approval #{}", a.id), fields }
}

/// "gated 0.8% of 1,204 actions in 7 days (budget 5%) · median 42s, p95 3m10s · 2 denied, 1 timed out".
pub fn friction_words(f: &ApprovalFriction) -> String {
    let seconds = |s: f64| {
        let s = s.round() as i64;
        if s >= 60 { format!("{}m{:02}s", s / 60, s % 60) } else { format!("{s}s") }
    };
    let mut text = format!(
        "gated {:.1}% of {} actions in {} days (budget {:.0}%{})",
        f.share * 100.0,
        f.actions,
        f.window_days,
        f.budget * 100.0,
        if f.over_budget { ", OVER" } else { "" }
    );
    if let (Some(m), Some(p)) = (f.median_seconds, f.p95_seconds) {
        text.push_str(&format!(" · decided in {} median, {} p95", seconds(m), seconds(p)));
    }
    text.push_str(&format!(" · {} denied, {} timed out, {} abandoned", f.denied, f.timed_out, f.abandoned));
    if let Some(top) = f.gates.first() {
        let flag = if top.over_budget { " — over budget: review it" } else { "" };
        text.push_str(&format!(" · most: {} ({}){flag}", top.gate, top.gated));
    }
    text
}

/// `:approvals`: the waiting requests, then the decided ones.
fn approvals(app: &App, view: &ApprovalsView, theme: &Theme, frame: &mut Frame, area: Rect) {
    let title = match &view.list {
        Some(l) => format!(" Approvals — {} waiting ", l.waiting),
        None => " Approvals ".to_owned(),
    };
    let block = titled(theme, title);
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let Some(list) = &view.list else { return not_known(app, theme, frame, inner, "the approval requests") };
    let [head, body] = Layout::vertical([Constraint::Length(1), Constraint::Fill(1)]).areas(inner);
    let key = if list.friction.over_budget { K::Warning } else { K::Muted };
    frame.render_widget(
        Paragraph::new(Line::from(Span::styled(
            ellipsize(&friction_words(&list.friction), head.width as usize),
            theme.style(key),
        ))),
        head,
    );
    if list.approvals.is_empty() {
        let text =
            "No gated action has asked. Critical points in the routing file say which actions wait for a person.";
        frame.render_widget(Paragraph::new(Line::from(Span::styled(text, theme.style(K::Muted)))), body);
        return;
    }
    let wide = body.width >= 110;
    let fit = |f: &dyn Fn(&ApprovalRequest) -> String, narrow: usize, cap: usize| {
        let w =
            crate::console::view::widest(&list.approvals, |a| f(a).chars().count(), if wide { cap } else { narrow });
        Constraint::Length(w.max(5) as u16)
    };
    let mut columns = vec![
        ("#", Constraint::Length(4)),
        ("STATUS", Constraint::Length(9)),
        ("AGENT", fit(&|a| a.agent_id.clone(), 14, 28)),
        ("WILL DO", fit(&|a| a.action(), 20, 40)),
        ("WAITS", fit(&|a| brief_state(a, app.now), 15, 40)),
    ];
    if wide {
        let w = crate::console::view::widest(&list.approvals, |a| a.gate().chars().count(), 30).max(8);
        columns.push(("GATED BY", Constraint::Length(w as u16)));
    }
    columns.push(("WHAT IT SAYS", Constraint::Fill(1)));
    let columns: Vec<(String, Constraint)> = columns.into_iter().map(|(n, w)| (n.to_owned(), w)).collect();
    let selected = view.selected.row(list.approvals.iter().map(|a| &a.id)).unwrap_or(0);
    crate::console::view::list_table(theme, frame, body, &columns, (list.approvals.len(), selected), |n, _, cols| {
        let a = &list.approvals[n];
        let mut cells = vec![
            Cell::from(format!("#{}", a.id)),
            Cell::from(status_span(theme, a)),
            Cell::from(ellipsize(&a.agent_id, cols[3])),
            Cell::from(ellipsize(&a.action(), cols[4])),
            Cell::from(ellipsize(&brief_state(a, app.now), cols[5])),
        ];
        if wide {
            cells.push(Cell::from(ellipsize(&a.gate(), cols[6])));
        }
        cells.push(Cell::from(ellipsize(&a.summary, *cols.last().unwrap_or(&10))));
        cells
    });
}
