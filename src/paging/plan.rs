//! The outbox plan: what an incident's routing decision asks of its
//! notifications, given those already queued. A pure function: the store
//! only executes the plan, in the transaction of the change that made it.

use super::config::{Limits, Receivers};
use super::outbox::PageRow;
use crate::api::{DeliveryState, IncidentStatus, NoticeKind, RoutingDecision, RoutingVerdict, Urgency};
use chrono::{DateTime, Duration, Utc};

/// The level name of notifications to owners of affected services (seed 8.2):
/// not an escalation level.
pub const BLAST_RADIUS: &str = "blast radius";

/// A notification to queue.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPage {
    pub incident_id: i64,
    pub kind: NoticeKind,
    pub target: String,
    pub channel: String,
    pub level: String,
    /// 0 for the first escalation level, 1 for the next …; -1 when not a level.
    pub step: i64,
    pub urgency: Urgency,
    pub reason: String,
    pub digest: bool,
    pub due_at: DateTime<Utc>,
    /// Why it can never be delivered (its channel has no receiver): then it
    /// is written dead at once, and no worker pass is spent on it.
    pub undeliverable: Option<String>,
}

/// What to change in one incident's outbox.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OutboxPlan {
    /// Asked for and never queued.
    pub queue: Vec<NewPage>,
    /// Still pending, now for another reason: `(id, reason)`.
    pub reword: Vec<(String, String)>,
    /// Pending, and no longer asked for.
    pub cancel: Vec<String>,
}

/// Why a plan cancels a notification.
pub const NO_LONGER_ASKED: &str = "no longer in the incident's routing decision";

/// Makes the outbox match an incident's routing decision: notifications it
/// asks for and that were never queued are queued, due when their level
/// comes (timed from `first_paged`, when the incident's first page was
/// queued, or the end of a silence holding it); pending ones it no longer
/// asks for are cancelled; sent ones stay sent. An incident that is not
/// open, or a decision that only monitors, pages nobody new
/// (acknowledgement and resolution close paging themselves).
pub fn plan(
    incident_id: i64,
    status: IncidentStatus,
    decision: &RoutingDecision,
    existing: &[PageRow],
    first_paged: DateTime<Utc>,
    limits: &Limits,
    receivers: &Receivers,
) -> OutboxPlan {
    let mut plan = OutboxPlan::default();
    if status != IncidentStatus::Open {
        return plan;
    }
    let wanted: Vec<_> = match decision.decision {
        RoutingVerdict::Monitored => Vec::new(),
        _ => decision.notifications.iter().collect(),
    };
    // Steps count the escalation levels in the order the decision reaches them.
    let mut levels: Vec<&str> = Vec::new();
    for n in wanted.iter().filter(|n| n.level != BLAST_RADIUS && n.level != super::COORDINATION) {
        if !levels.contains(&n.level.as_str()) {
            levels.push(&n.level);
        }
    }
    for n in &wanted {
        let same = |p: &PageRow| p.page.target == n.target && p.page.channel == n.channel && p.page.level == n.level;
        if let Some(old) = existing.iter().find(|p| same(p)) {
            if old.page.state == DeliveryState::Pending && old.page.reason != n.reason {
                plan.reword.push((old.page.id.clone(), n.reason.clone()));
            }
            continue;
        }
        let step = levels.iter().position(|l| *l == n.level).map_or(-1, |s| s as i64);
        let wait = if n.digest { limits.digest_wait } else { Duration::seconds(n.delay_seconds as i64) };
        plan.queue.push(NewPage {
            incident_id,
            kind: NoticeKind::Page,
            target: n.target.clone(),
            channel: n.channel.clone(),
            level: n.level.clone(),
            step,
            urgency: n.urgency,
            reason: n.reason.clone(),
            digest: n.digest,
            due_at: first_paged + wait,
            undeliverable: (!receivers.has(&n.channel)).then(|| super::no_receiver(&n.channel)),
        });
    }
    for old in existing.iter().filter(|p| p.page.state == DeliveryState::Pending) {
        let asked = wanted
            .iter()
            .any(|n| old.page.target == n.target && old.page.channel == n.channel && old.page.level == n.level);
        if !asked {
            plan.cancel.push(old.page.id.clone());
        }
    }
    plan
}
