//! The audit log, newest first.

use super::{Component, Reading, ScreenData, Selection, Step};
use crate::api::{AuditPage, IncidentDetail, Verdict};
use crate::console::app::{App, Screen, Watch};
use crate::console::keymap::{KeyAction, Mode};
use crate::console::theme::{StyleKey as K, Theme};
use crate::console::view;
use crate::console::view::{ellipsize, not_known, titled, verdict_word};
use ratatui::Frame;
use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Cell, Paragraph};
use unicode_width::UnicodeWidthStr;

#[derive(Debug, Clone, Default)]
pub struct AuditView {
    pub page: Option<AuditPage>,
    /// The selected entry, by its sequence number.
    pub selected: Selection<i64>,
}

impl AuditView {
    fn seqs(&self) -> Vec<i64> {
        self.page.iter().flat_map(|p| &p.entries).map(|e| e.seq).collect()
    }

    /// The selected entry, whole.
    fn reading(&self) -> Option<Reading> {
        let page = self.page.as_ref()?;
        let row = self.selected.row(page.entries.iter().map(|e| &e.seq)).unwrap_or(0);
        let e = page.entries.get(row)?;
        let mut fields = vec![
            ("at (UTC)".to_owned(), e.at.format("%Y-%m-%d %H:%M:%S%.3f").to_string()),
            ("actor".to_owned(), e.actor.clone()),
            ("action".to_owned(), action_words(e)),
            ("target".to_owned(), e.target.clone()),
        ];
        if let Some(map) = e.details.as_object() {
            for (k, v) in map {
                let text = match v {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                fields.push((k.replace('_', " "), text));
            }
        }
        fields.push(("hash".to_owned(), e.hash.clone()));
        fields.push(("previous".to_owned(), e.prev_hash.clone()));
        Some(Reading { title: format!("Audit entry #{}", e.seq), fields })
    }
}

impl Component for AuditView {
    fn screen(&self) -> Screen {
        Screen::Audit
    }

    fn mode(&self) -> Mode {
        Mode::Audit
    }

    fn watch(&self) -> Watch {
        Watch::Audit
    }

    fn on_key(&mut self, action: KeyAction, _detail: Option<&IncidentDetail>) -> Step {
        if action == KeyAction::Open {
            return self.reading().map_or(Step::Stay, |r| Step::Show(Box::new(r)));
        }
        let seqs = self.seqs();
        self.selected.on_key(action, &seqs)
    }

    fn receive(&mut self, data: ScreenData) -> bool {
        match data {
            ScreenData::Audit(page) => {
                let was = self.selected.row(self.page.iter().flat_map(|p| &p.entries).map(|e| &e.seq)).unwrap_or(0);
                let seqs: Vec<i64> = page.entries.iter().map(|e| e.seq).collect();
                self.selected.settle_at(&seqs, was);
                self.page = Some(*page);
                true
            }
            _ => false,
        }
    }

    fn draw(&self, app: &App, theme: &Theme, frame: &mut Frame, area: Rect) {
        audit(app, self, theme, frame, area)
    }
}

/// What an entry did, in words: "verdict UNRELATED", "pause_agent deployer".
fn action_words(e: &crate::api::AuditEntry) -> String {
    let verdict = e.details.get("verdict").and_then(|v| v.as_str()).and_then(Verdict::parse);
    let agent = e.details.get("agent").and_then(|a| a.as_str()).filter(|_| !e.target.starts_with("agent:"));
    let words = match (verdict, agent) {
        (Some(v), _) if e.action == "verdict" => format!("verdict {}", verdict_word(v)),
        (_, Some(agent)) => format!("{} {agent}", e.action),
        _ => e.action.clone(),
    };
    // Done by a person in Slack, as they would have in the console.
    if e.details["attribution"]["agent_id"] == crate::slack::SLACK_AGENT {
        format!("{words} from Slack")
    } else {
        words
    }
}

fn audit(app: &App, view: &AuditView, theme: &Theme, frame: &mut Frame, area: Rect) {
    let block = titled(theme, " Audit log — newest first ".to_owned());
    let inner = block.inner(area);
    frame.render_widget(block, area);
    let Some(page) = &view.page else { return not_known(app, theme, frame, inner, "the audit log") };
    let [chain, table] = Layout::vertical([Constraint::Length(1), Constraint::Min(1)]).areas(inner);
    let c = &page.chain;
    let line = if c.verified {
        Line::from(Span::styled(
            format!(
                "✓ chain verified: {}, each linked to the one before",
                view::plural(c.entries_checked as usize, "entry")
            ),
            theme.style(K::Success),
        ))
    } else {
        Line::from(Span::styled(
            format!(
                "✗ CHAIN BROKEN at entry #{}: {} — the log was altered",
                c.first_broken_seq.map_or("?".to_owned(), |s| s.to_string()),
                c.problem.as_deref().unwrap_or("unknown problem")
            ),
            theme.style(K::Error),
        ))
    };
    frame.render_widget(Paragraph::new(line), chain);
    if page.entries.is_empty() {
        return view::muted(theme, frame, table, "no intervention yet");
    }
    // Columns as wide as what they hold (up to a cap), the reason takes the
    // rest: at 80 columns it still reads; Enter shows an entry whole.
    let fit = |cap: usize, f: &dyn Fn(&crate::api::AuditEntry) -> usize, name: &str| {
        Constraint::Length(view::widest(&page.entries, f, usize::MAX).max(name.len()).min(cap) as u16)
    };
    let wide = table.width >= 120;
    let mut columns = vec![
        (if wide { "AT (UTC)" } else { "AT" }.to_owned(), Constraint::Length(if wide { 14 } else { 8 })),
        ("ACTOR".to_owned(), fit(if wide { 24 } else { 12 }, &|e| e.actor.width(), "ACTOR")),
        ("ACTION".to_owned(), fit(if wide { 28 } else { 18 }, &|e| action_words(e).width(), "ACTION")),
        ("TARGET".to_owned(), fit(if wide { 28 } else { 14 }, &|e| e.target.width(), "TARGET")),
        ("REASON".to_owned(), Constraint::Fill(1)),
    ];
    if wide {
        columns.insert(0, ("SEQ".to_owned(), Constraint::Length(5)));
        columns.push(("HASH".to_owned(), Constraint::Length(8)));
    }
    let selected = view.selected.row(page.entries.iter().map(|e| &e.seq)).unwrap_or(0);
    view::list_table(theme, frame, table, &columns, (page.entries.len(), selected), |n, _, cols| {
        let e = &page.entries[n];
        let reason = e.details.get("reason").and_then(|r| r.as_str()).unwrap_or("");
        let at = if wide { e.at.format("%m-%d %H:%M:%S") } else { e.at.format("%H:%M:%S") };
        let c = if wide { &cols[2..] } else { &cols[1..] };
        let mut row = vec![
            Cell::from(at.to_string()),
            Cell::from(ellipsize(&e.actor, c[1])),
            Cell::from(Span::styled(ellipsize(&action_words(e), c[2]), theme.style(K::Accent))),
            Cell::from(ellipsize(&e.target, c[3])),
            Cell::from(ellipsize(reason, c[4])),
        ];
        if wide {
            row.insert(0, Cell::from(format!("#{}", e.seq)));
            row.push(Cell::from(Span::styled(e.hash.chars().take(8).collect::<String>(), theme.style(K::Muted))));
        }
        row
    });
}
