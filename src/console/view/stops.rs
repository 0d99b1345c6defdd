//! A stop in force as the agents and incident screens say it: what it
//! covers, who made it and when, and whether it holds.

use crate::api::{AgentSummary, StopScope, StopSummary};
use crate::console::theme::StyleKey as K;
use crate::store::OUT_OF_CONTACT;
use chrono::{DateTime, Utc};

/// "agents deployer-* · stopped 12:03:04 by alice: 0 actions since, 3
/// attempts refused, 0 out of contact · until 13:00 · bad deploys", in the
/// alarm colour when an action got through or an SDK is not heard; `short`
/// (narrow screens) keeps the counts and drops the words around them.
pub fn stop_line(s: &StopSummary, short: bool) -> (String, K) {
    let stop = &s.stop;
    let style = if s.acted > 0 || s.out_of_contact > 0 { K::Error } else { K::Warning };
    if short {
        // The proof first, so that no width cuts it off.
        let text = format!(
            "{} acted, {} refused, {} out of contact · {} {} {}",
            s.acted,
            s.refused,
            s.out_of_contact,
            stop.scope_label(),
            stop.since.format("%H:%M"),
            stop.by
        );
        return (text, style);
    }
    let until = stop.until.map(|u| format!(" · until {}", u.format("%H:%M:%S"))).unwrap_or_default();
    let reason = stop.reason.as_deref().map(|r| format!(" · {r}")).unwrap_or_default();
    let counts =
        format!("{} since, {} refused, {} out of contact", actions(s.acted), attempts(s.refused), s.out_of_contact);
    let text = format!(
        "{} · stopped {} by {}: {counts}{until}{reason}",
        stop.scope_label(),
        stop.since.format("%H:%M:%S"),
        stop.by
    );
    (text, style)
}

fn actions(n: i64) -> String {
    format!("{n} action{}", if n == 1 { "" } else { "s" })
}

fn attempts(n: i64) -> String {
    format!("{n} attempt{}", if n == 1 { "" } else { "s" })
}

/// How long an agent's SDK has not asked for its controls, when that is
/// longer than it should be.
pub fn out_of_contact(agent: &AgentSummary, now: DateTime<Utc>) -> Option<chrono::Duration> {
    agent.last_contact.map(|at| now - at).filter(|d| *d > OUT_OF_CONTACT)
}

/// The stops wider than one agent that cover `agent` (its own is its row's).
pub fn wider_on<'s>(stops: &'s [StopSummary], agent: &str) -> impl Iterator<Item = &'s StopSummary> {
    stops.iter().filter(move |s| s.stop.scope != StopScope::Agent && s.stop.covers(agent, None))
}
