//! The seed's messages from live figures: the weekly status (seed 000 §6)
//! and the direct message to a non-compliant service's owner (§5). Markdown,
//! the same text whether printed, emailed or posted.

use super::plan::RolloutPlan;
use crate::api::{ComplianceStatus, Milestone, Phase, RolloutStatus, ServiceCompliance, Trend, TrendMetric};
use crate::attribution::{LEGACY_AGENT_ID, LEGACY_ORIGIN_SYSTEM_ID};
use chrono::{DateTime, Utc};
use std::fmt::Write;

const DEFAULT_SUPPORT: &str = "#aos-sdk-support";

fn day(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d").to_string()
}

fn when(at: DateTime<Utc>) -> String {
    at.format("%Y-%m-%d %H:%M UTC").to_string()
}

/// "93.5%", "12"; "—" when nothing measured it.
pub fn value_text(m: &TrendMetric, value: Option<f64>) -> String {
    match value {
        None => "—".to_owned(),
        Some(v) if m.key == "validation_success_rate" => format!("{:.1}%", v * 100.0),
        Some(v) => format!("{v:.0}"),
    }
}

/// How far off a milestone still ahead is: "today", "in 1 day", "in 4 days".
pub fn in_days(m: &Milestone) -> String {
    match m.days_remaining {
        0 => "today".to_owned(),
        1 => "in 1 day".to_owned(),
        n => format!("in {n} days"),
    }
}

/// "UP (from 80.1%)".
fn trend_text(m: &TrendMetric) -> String {
    if m.key == "legacy_bucket_growth" {
        return if m.value.unwrap_or(0.0) == 0.0 { "Should be 0".to_owned() } else { "BREACH: should be 0".to_owned() };
    }
    if m.previous.is_none() {
        return "NEW (no runs the week before)".to_owned();
    }
    let word = match m.trend {
        Trend::Up => "UP",
        Trend::Down => "DOWN",
        Trend::Stable => "STABLE",
    };
    format!("{word} (from {})", value_text(m, m.previous))
}

/// The §6 table's notes for one service.
fn notes(s: &ServiceCompliance, plan: &RolloutPlan) -> String {
    let since = s.since.map(|d| d.format("%m-%d").to_string());
    match s.status {
        ComplianceStatus::Compliant => match (since, s.previous_status) {
            (Some(d), Some(ComplianceStatus::Violating | ComplianceStatus::UsingOverride)) => format!("Fixed {d}"),
            (Some(d), _) => format!("Compliant since {d}"),
            (None, _) => "Compliant throughout".to_owned(),
        },
        ComplianceStatus::UsingOverride => match plan.override_disabled {
            Some(at) => format!("Deadline {}", at.format("%m-%d")),
            None => "No deadline planned".to_owned(),
        },
        ComplianceStatus::Violating => {
            let count = format!("{} in 24h", s.violations_24h);
            match &s.last_outreach {
                Some(o) => format!("{count}; Escalated {} by {}", o.at.format("%m-%d"), o.by),
                None => format!("{count}; owner not yet contacted"),
            }
        }
        ComplianceStatus::Silent => format!("Nothing since {}", s.last_seen.format("%m-%d")),
    }
}

/// Markdown table cells cannot hold a pipe or a line break.
fn cell(text: &str) -> String {
    text.replace('|', "\\|").replace(['\n', '\r'], " ")
}

/// Seed 000 §6: (subject, Markdown body).
pub fn weekly_status(status: &RolloutStatus, plan: &RolloutPlan) -> (String, String) {
    let week = status.now.format("%G-W%V");
    let subject = format!("Attribution Enforcement — Weekly Status Update {week}");
    let mut out = String::new();
    let _ = writeln!(out, "**Rollout Status: {}**", status.phase.title());
    if !status.planned {
        let _ = writeln!(out, "\nNo rollout is planned: the API refuses every violation (hard).");
    }
    let _ = writeln!(out, "\n**Metrics Summary:**\n");
    let _ = writeln!(out, "| Metric | Value | Trend |\n|--------|-------|-------|");
    for m in &status.metrics {
        let _ = writeln!(out, "| {} | {} | {} |", m.label, value_text(m, m.value), trend_text(m));
    }
    let _ = writeln!(out, "\n**Services Status:**\n");
    if status.services.is_empty() {
        let _ = writeln!(out, "No origin system has created or attempted a run yet.");
    } else {
        let _ = writeln!(out, "| Service | Status | Notes |\n|---------|--------|-------|");
        for s in &status.services {
            let _ = writeln!(out, "| {} | {} | {} |", cell(&s.name), s.status.title(), cell(&notes(s, plan)));
        }
    }
    let _ = writeln!(out, "\n**Upcoming Milestones:**\n");
    if status.milestones.is_empty() {
        let _ = writeln!(out, "- None planned");
    }
    for m in &status.milestones {
        let left = if m.passed { "done".to_owned() } else { in_days(m) };
        let _ = writeln!(out, "- {}: {} ({left})", day(m.at), m.name);
    }
    if let Some(next) = &status.next
        && !next.would_fail.is_empty()
    {
        let _ = writeln!(
            out,
            "\nIf {} began now, runs from these would be refused: {}.",
            next.milestone.name.to_lowercase(),
            next.would_fail.join(", ")
        );
    }
    if let Some(b) = &status.breach {
        let _ = writeln!(
            out,
            "\n**Breach:** incident #{} ({}, opened {}): `mandate --incident {}`",
            b.incident_id,
            b.status,
            when(b.opened_at),
            b.incident_id
        );
    }
    let _ = writeln!(out, "\n**Action Items:**\n");
    for item in &status.action_items {
        let _ = writeln!(out, "- {}", cell(item));
    }
    (subject, out)
}

/// Seed 000 §5: (subject, Markdown body) to `to` about `s`.
pub fn outreach_message(
    s: &ServiceCompliance,
    status: &RolloutStatus,
    plan: &RolloutPlan,
    to: &str,
) -> (String, String) {
    let subject = format!("[URGENT] Your service {} has attribution violations", s.name);
    let mut out = String::new();
    let _ = writeln!(out, "Hi {to},\n");
    let _ = writeln!(out, "Your service **{}** is creating runs without proper attribution.\n", s.name);
    let _ = writeln!(out, "**Violation details:**");
    let codes = if s.violations_by_code.is_empty() {
        "none in the last 7 days".to_owned()
    } else {
        s.violations_by_code.iter().map(|c| format!("{} ({})", c.key, c.count)).collect::<Vec<_>>().join(", ")
    };
    let _ = writeln!(out, "- Error code: {codes}");
    let _ = writeln!(out, "- Violation count (last 24h): {}", s.violations_24h);
    if s.override_use_7d > 0 {
        let _ = writeln!(out, "- Passed only with the legacy override (last 7d): {}", s.override_use_7d);
    }
    let _ = writeln!(out, "- First seen: {}", s.first_violation.map(when).unwrap_or_else(|| "not in 35 days".into()));
    let latest = s.latest_violation.as_ref().map(|v| v.at).or(s.first_violation);
    let _ = writeln!(out, "- Most recent: {}", latest.map(when).unwrap_or_else(|| "not in 35 days".into()));
    let _ = writeln!(out, "\n**Current phase:** {}\n", phase_word(status.phase));
    let _ = writeln!(out, "**Impact if not fixed:**");
    let soft = plan.soft_fail_begins.map(day).unwrap_or_else(|| "not planned".into());
    let hard = plan.hard_fail_begins.or(plan.override_disabled).map(day).unwrap_or_else(|| "not planned".into());
    let _ = writeln!(out, "- Soft fail ({soft}): Runs will be rejected");
    let _ = writeln!(out, "- Hard fail ({hard}): No override available");
    let fields = s.latest_violation.as_ref().map(|v| &v.fields);
    let sent = |name: &str| fields.and_then(|f| f.get(name)).filter(|v| !v.starts_with('(')).cloned();
    let agent = sent("agent_id").filter(|a| a != LEGACY_AGENT_ID).unwrap_or_else(|| format!("{}-agent", s.name));
    let mut current = vec!["goal=\"...\"".to_owned()];
    for name in ["agent_id", "actor_type", "origin_system_id"] {
        if let Some(v) = sent(name) {
            current.push(format!("{name}=\"{}\"", v.replace('"', "'")));
        }
    }
    let _ = writeln!(out, "\n**How to fix:**\n");
    let _ = writeln!(out, "```python\n# Your current code (approximate):\nclient.create_run({})\n", current.join(", "));
    let origin = if s.name == LEGACY_ORIGIN_SYSTEM_ID { "your-service-name" } else { s.name.as_str() };
    let _ = writeln!(
        out,
        "# Required change:\nclient.create_run(\n    goal=\"...\",\n    agent_id=\"{agent}\",\n    \
         actor_type=\"SYSTEM\",  # or HUMAN/SERVICE\n    origin_system_id=\"{origin}\",\n)\n```"
    );
    let _ = writeln!(out, "\n**Need help?**");
    let _ = writeln!(out, "- Reply to this message");
    let _ = writeln!(out, "- Slack: {}", plan.support.as_deref().unwrap_or(DEFAULT_SUPPORT));
    let _ = writeln!(out, "\nPlease confirm receipt and provide an ETA for the fix.");
    (subject, out)
}

fn phase_word(phase: Phase) -> &'static str {
    match phase {
        Phase::Announced => "ANNOUNCED (shadow mode not yet begun)",
        Phase::Shadow => "SHADOW",
        Phase::Soft => "SOFT",
        Phase::SoftNoOverride => "SOFT (override disabled)",
        Phase::Hard => "HARD",
    }
}
