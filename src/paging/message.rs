//! What a notification says, whatever the channel: why this person, the
//! incident, the suspected cause with its confidence, what to check first,
//! and how to open it (seed 004 8.2).

use crate::api::{IncidentDetail, IncidentStatus, IncidentSummary, NoticeKind, Page, Severity};
use std::sync::Arc;

/// What is known of an incident when its notifications go out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context {
    pub incident_id: i64,
    pub title: String,
    pub severity: Severity,
    pub status: IncidentStatus,
    pub resources: Vec<String>,
    /// "deploy by deployer-7 on payments-db (confidence 82%)"; None: no suspect yet.
    pub suspect: Option<String>,
    /// The agent behind the suspected cause, which can be stopped from the
    /// message (Slack's buttons).
    pub suspect_agent: Option<String>,
    /// The first thing to look at.
    pub check: Option<String>,
    pub open_with: String,
    /// Whether the analysis was consulted (not in a storm of many incidents).
    pub analysed: bool,
}

impl Context {
    pub fn from_detail(detail: &IncidentDetail) -> Context {
        let s = &detail.summary;
        let top = detail.analysis.candidates.iter().find(|c| c.confidence > 0);
        let suspect_agent = top.and_then(|c| c.agent_id.clone());
        let suspect = top.map(|c| {
            let action = c.action_type.as_deref().unwrap_or("an action");
            let by = c.agent_id.as_deref().or(c.actor_id.as_deref()).unwrap_or("an unknown actor");
            let on = c.resource.as_deref().map(|r| format!(" on {r}")).unwrap_or_default();
            format!("{action} by {by}{on} (confidence {}%)", c.confidence)
        });
        let check = detail.top3.first().or(detail.suggestions.first()).map(|s| match &s.command {
            Some(cmd) => format!("{} — {cmd}", s.title),
            None => s.title.clone(),
        });
        Context { suspect, suspect_agent, check, analysed: true, ..Context::from_summary(s) }
    }

    /// From the summary alone: no suspect or advice (said as not known).
    pub fn from_summary(s: &IncidentSummary) -> Context {
        Context {
            incident_id: s.id,
            title: s.title.clone(),
            severity: s.severity,
            status: s.status,
            resources: s.resources.clone(),
            suspect: None,
            suspect_agent: None,
            check: None,
            open_with: format!("mandate --incident {}", s.id),
            analysed: false,
        }
    }

    /// When the incident cannot be read: its number, and how to open it.
    /// Incident 0 is none: a digest about the catalog.
    pub fn unknown(incident_id: i64) -> Context {
        if incident_id == 0 {
            return Context {
                incident_id,
                title: "weekly digest".to_owned(),
                severity: Severity::Low,
                status: IncidentStatus::Open,
                resources: vec![],
                suspect: None,
                suspect_agent: None,
                check: None,
                open_with: "mandate, then :routing".to_owned(),
                analysed: false,
            };
        }
        Context {
            incident_id,
            title: format!("incident #{incident_id}"),
            severity: Severity::High,
            status: IncidentStatus::Open,
            resources: vec![],
            suspect: None,
            suspect_agent: None,
            check: None,
            open_with: format!("mandate --incident {incident_id}"),
            analysed: false,
        }
    }
}

/// One notification with its incident.
#[derive(Debug, Clone)]
pub struct Item {
    pub page: Page,
    pub context: Arc<Context>,
}

/// A message about no incident (the attribution rollout's weekly status and
/// outreach to owners): its level starts with this, and its reason is the
/// subject, a blank line, and the Markdown body.
pub const MESSAGE_LEVEL: &str = "attribution ";

/// A degradation's notice to its service's owner: a message like the above.
pub const DEGRADATION_LEVEL: &str = "degradation ";

/// The daily digest of flash incidents: a message like the above.
pub const FLASH_LEVEL: &str = "flash ";

impl Item {
    /// (subject, body) of a message that is not about an incident.
    pub fn message(&self) -> Option<(&str, &str)> {
        let message =
            [MESSAGE_LEVEL, FLASH_LEVEL, DEGRADATION_LEVEL].iter().any(|prefix| self.page.level.starts_with(prefix));
        if self.context.incident_id != 0 || !message {
            return None;
        }
        Some(self.page.reason.split_once("\n\n").unwrap_or((&self.page.reason, "")))
    }

    /// One line: "PAGE #12 critical: E_TIMEOUT on payments-db".
    pub fn headline(&self) -> String {
        if let Some((subject, _)) = self.message() {
            return subject.to_owned();
        }
        let c = &self.context;
        let what = match self.page.kind {
            NoticeKind::Page if c.incident_id == 0 => return format!("DIGEST {}", self.page.level),
            NoticeKind::Page => format!("{} #{}", self.page.urgency.as_str().to_uppercase(), c.incident_id),
            NoticeKind::Acknowledged => format!("ACKNOWLEDGED #{}", c.incident_id),
            NoticeKind::Resolved => format!("RESOLVED #{}", c.incident_id),
        };
        format!("{what} [{}] {}", c.severity, c.title)
    }

    /// The lines under the headline.
    pub fn body(&self) -> Vec<String> {
        if let Some((_, body)) = self.message() {
            return body.lines().map(str::to_owned).collect();
        }
        let c = &self.context;
        let mut lines = vec![format!("Why you: {}", self.page.reason)];
        if self.page.kind == NoticeKind::Page && c.incident_id != 0 {
            lines.push(match &c.suspect {
                Some(s) => format!("Suspected cause: {s}"),
                None if c.analysed => "Suspected cause: not known yet".to_owned(),
                None => "Suspected cause: not in this grouped message — open the incident".to_owned(),
            });
            if let Some(check) = &c.check {
                lines.push(format!("Check first: {check}"));
            }
        }
        lines.push(format!("Open it: {}", c.open_with));
        lines
    }

    /// The fields every structured receiver gets.
    pub fn json(&self) -> serde_json::Value {
        let c = &self.context;
        serde_json::json!({
            "id": self.page.id,
            "kind": self.page.kind,
            "incident_id": c.incident_id,
            "title": c.title,
            "severity": c.severity,
            "status": c.status,
            "resources": c.resources,
            "target": self.page.target,
            "level": self.page.level,
            "urgency": self.page.urgency,
            "reason": self.page.reason,
            "digest": self.page.digest,
            "due_at": self.page.due_at,
            "suspected_cause": c.suspect,
            "check_first": c.check,
            "open_with": c.open_with,
        })
    }
}

/// Everything one delivery carries to one target on one channel.
#[derive(Debug, Clone)]
pub struct Outgoing {
    /// Stable across retries: receivers deduplicate on it.
    pub id: String,
    pub target: String,
    pub channel: String,
    pub items: Vec<Item>,
}

impl Outgoing {
    /// A subject line: the one item's headline, or how many are grouped.
    pub fn subject(&self) -> String {
        match self.items.as_slice() {
            [one] => one.headline(),
            many => {
                let incidents: std::collections::BTreeSet<i64> = many.iter().map(|i| i.context.incident_id).collect();
                format!("Mandate: {} notifications for {} ({} incidents)", many.len(), self.target, incidents.len())
            }
        }
    }

    /// Plain text of the whole delivery.
    pub fn text(&self) -> String {
        let mut out = String::new();
        for (n, item) in self.items.iter().enumerate() {
            if n > 0 {
                out.push('\n');
            }
            out.push_str(&item.headline());
            out.push('\n');
            // A message's Markdown keeps its own layout.
            let indent = if item.message().is_some() { "" } else { "  " };
            for line in item.body() {
                out.push_str(indent);
                out.push_str(&line);
                out.push('\n');
            }
        }
        out
    }
}
