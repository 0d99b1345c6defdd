//! The next level of an incident's escalation chain: what `escalate` pages,
//! and what every dialog that offers it says it will page. One function, so
//! the preview and the action cannot disagree.

use super::{BLAST_RADIUS, COORDINATION};
use crate::api::{Notification, RoutingDecision};

/// The level after the incident's current one, with whom it reaches.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NextLevel {
    /// Its position in the chain: 0 for the first level, 1 for the next …
    pub step: i64,
    pub level: String,
    /// Each notification of the level (a target may have several channels).
    pub notifications: Vec<Notification>,
}

impl NextLevel {
    /// Who it reaches, each once, in the order routing lists them.
    pub fn targets(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for n in &self.notifications {
            if !out.contains(&n.target.as_str()) {
                out.push(&n.target);
            }
        }
        out
    }

    /// "secondary: @payments-oncall".
    pub fn describe(&self) -> String {
        format!("{}: {}", self.level, self.targets().join(", "))
    }
}

/// The escalation level after `current` in the decision's chain, whatever
/// has happened to the pages so far (sent, cancelled by an acknowledgement,
/// never queued): escalating pages it from wherever the incident stands.
/// None when the chain has no later level. Blast-radius notices, the
/// coordination page and digests are not levels.
pub fn next_level(decision: &RoutingDecision, current: i64) -> Option<NextLevel> {
    let mut levels: Vec<(&str, Vec<&Notification>)> = Vec::new();
    for n in decision.notifications.iter().filter(|n| n.level != BLAST_RADIUS && n.level != COORDINATION) {
        if n.digest {
            continue;
        }
        match levels.iter_mut().find(|(l, _)| *l == n.level) {
            Some((_, these)) => these.push(n),
            None => levels.push((&n.level, vec![n])),
        }
    }
    let step = current.max(-1) + 1;
    let (level, notifications) = levels.into_iter().nth(usize::try_from(step).ok()?)?;
    Some(NextLevel { step, level: level.to_owned(), notifications: notifications.into_iter().cloned().collect() })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::{RoutingVerdict, Urgency};

    fn n(level: &str, target: &str, channel: &str, digest: bool) -> Notification {
        Notification {
            target: target.to_owned(),
            channel: channel.to_owned(),
            urgency: Urgency::High,
            reason: String::new(),
            delay_seconds: 0,
            level: level.to_owned(),
            digest,
            open_with: String::new(),
        }
    }

    fn decision(notifications: Vec<Notification>) -> RoutingDecision {
        RoutingDecision {
            decision: RoutingVerdict::Flagged,
            notifications,
            escalation_path: vec![],
            rule_matched: None,
            automation: None,
        }
    }

    #[test]
    fn the_level_after_the_current_one_skipping_what_is_not_a_level() {
        let d = decision(vec![
            n("primary", "@alice", "webhook", false),
            n(BLAST_RADIUS, "@bob", "webhook", false),
            n("secondary", "@oncall", "webhook", false),
            n("secondary", "@oncall", "pagerduty", false),
            n("secondary", "@watcher", "email", true),
            n("management", "@lead", "webhook", false),
        ]);
        let next = next_level(&d, 0).unwrap();
        assert_eq!((next.step, next.describe()), (1, "secondary: @oncall".to_owned()));
        assert_eq!(next.notifications.len(), 2, "both channels of the level");
        assert_eq!(next_level(&d, 1).unwrap().describe(), "management: @lead");
        assert_eq!(next_level(&d, 2), None, "the top of the chain");
        assert_eq!(next_level(&d, -1).unwrap().level, "primary");
    }
}
