//! The whole picture of the rollout at one moment: phase and milestones,
//! trends, every origin system worst first, the breach, the action items.

use super::compliance::{Activity, fails_in, standing, trends};
use super::plan::RolloutPlan;
use super::{NO_ORIGIN, compliance};
use crate::api::{
    Breach, ComplianceStatus, NextPhase, OutreachNote, OwnerTarget, Phase, RolloutStatus, ServiceCompliance,
};
use crate::catalog::Catalog;
use chrono::{DateTime, Utc};
use std::collections::BTreeMap;

/// Which services a caller wants: some statuses, a piece of the name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Filter {
    /// Empty: every status.
    pub statuses: Vec<ComplianceStatus>,
    pub text: Option<String>,
}

impl Filter {
    pub fn keeps(&self, s: &ServiceCompliance) -> bool {
        (self.statuses.is_empty() || self.statuses.contains(&s.status))
            && self.text.as_deref().is_none_or(|t| s.name.to_lowercase().contains(&t.to_lowercase()))
    }
}

/// What the rollout's messages need of the routing file: where a message
/// for nobody in particular goes, which channels have a receiver, and who
/// owns a service. The routing implements it.
pub trait Directory {
    /// The routing's fallback recipient.
    fn fallback(&self) -> Option<String>;
    fn has_receiver(&self, channel: &str) -> bool;
    /// The owners to notify about `service` at `now`, each with why.
    fn owners_of(&self, catalog: &Catalog, service: &str, now: DateTime<Utc>) -> Vec<(String, String)>;
}

/// Who receives the weekly status, and on which channels.
pub fn status_route(plan: &RolloutPlan, routing: &impl Directory) -> (String, Vec<String>) {
    let to = plan.status_to.clone().or_else(|| routing.fallback()).unwrap_or_else(|| "@platform-oncall".to_owned());
    let channels = plan.status_channels.clone().unwrap_or_else(|| prefer(routing, &["email", "slack", "webhook"]));
    (to, channels)
}

/// The channels a direct message to an owner goes by.
pub fn outreach_channels(plan: &RolloutPlan, routing: &impl Directory) -> Vec<String> {
    plan.outreach_channels.clone().unwrap_or_else(|| prefer(routing, &["slack", "email", "webhook"]))
}

/// The first of `order` with a receiver; the first of them when none has.
fn prefer(routing: &impl Directory, order: &[&str]) -> Vec<String> {
    let pick = order.iter().find(|c| routing.has_receiver(c)).unwrap_or(&order[0]);
    vec![(*pick).to_owned()]
}

/// What the rollout looks like at `now`, every service in it (a reader's
/// [`Filter`] is applied to it afterwards).
pub fn rollout_status(
    activity: &Activity,
    plan: &RolloutPlan,
    catalog: &Catalog,
    routing: &impl Directory,
    outreach: &BTreeMap<String, OutreachNote>,
    breach: Option<Breach>,
    now: DateTime<Utc>,
) -> RolloutStatus {
    let phase = plan.phase_at(now);
    let next_milestone = plan.next_milestone(now);
    let mut services: Vec<ServiceCompliance> = activity
        .services
        .iter()
        .map(|(name, a)| {
            let st = standing(a, now);
            let entry = catalog.get(name);
            let owners = if name == NO_ORIGIN {
                Vec::new()
            } else {
                routing.owners_of(catalog, name, now).into_iter().map(|(who, why)| OwnerTarget { who, why }).collect()
            };
            ServiceCompliance {
                name: name.clone(),
                status: st.status,
                since: st.since,
                previous_status: st.was,
                first_seen: a.first_seen.unwrap_or(now),
                last_seen: a.last_seen.unwrap_or(now),
                runs_24h: st.runs_24h,
                runs_7d: st.runs_7d,
                violations_24h: st.violations_24h,
                violations_7d: st.violations_7d,
                violations_by_code: compliance::ranked_codes(&a.codes_7d),
                override_use_7d: st.override_use_7d,
                legacy_use_7d: st.legacy_use_7d,
                first_violation: st.first_violation,
                team: entry.and_then(|s| s.team.clone()),
                owners,
                fails_next_phase: next_milestone.as_ref().is_some_and(|m| fails_in(m.phase, st.status)),
                latest_violation: a.latest_violation.clone(),
                last_outreach: outreach.get(name).cloned(),
            }
        })
        .collect();
    services.sort_by(|a, b| {
        a.status
            .cmp(&b.status)
            .then(b.violations_24h.cmp(&a.violations_24h))
            .then(b.violations_7d.cmp(&a.violations_7d))
            .then(a.name.cmp(&b.name))
    });
    let next = next_milestone.map(|milestone| NextPhase {
        would_fail: services.iter().filter(|s| fails_in(milestone.phase, s.status)).map(|s| s.name.clone()).collect(),
        unknown: services.iter().filter(|s| s.status == ComplianceStatus::Silent).map(|s| s.name.clone()).collect(),
        milestone,
    });
    let action_items = action_items(&services, plan, phase, breach.as_ref(), now);
    let weekly_status = plan.is_planned().then(|| {
        let (to, channels) = status_route(plan, routing);
        let (day, time) = plan.status_slot();
        format!("{day} {} UTC to {to} via {}", time.format("%H:%M"), channels.join(", ")).to_lowercase()
    });
    RolloutStatus {
        now,
        phase,
        planned: plan.is_planned(),
        milestones: plan.milestones(now),
        next,
        metrics: trends(activity, now),
        services_total: services.len(),
        services,
        breach,
        action_items,
        weekly_status,
    }
}

/// Seed 000 §6's action items: per team (the catalog's, else the owner),
/// what each must do by when; and the platform's watch on the legacy bucket.
fn action_items(
    services: &[ServiceCompliance],
    plan: &RolloutPlan,
    phase: Phase,
    breach: Option<&Breach>,
    now: DateTime<Utc>,
) -> Vec<String> {
    let deadline = |fails: &dyn Fn(Phase) -> bool| -> String {
        if fails(phase) {
            return "now (its runs are refused in this phase)".to_owned();
        }
        plan.milestones(now)
            .into_iter()
            .find(|m| !m.passed && fails(m.phase))
            .map(|m| m.at.format("%Y-%m-%d").to_string())
            .unwrap_or_else(|| "the next milestone".to_owned())
    };
    /// A team's services: violating, using the override, silent.
    #[derive(Default)]
    struct Team<'a> {
        violating: Vec<&'a str>,
        overriding: Vec<&'a str>,
        silent: Vec<&'a str>,
    }
    let mut by_team: BTreeMap<String, Team> = BTreeMap::new();
    for s in services {
        let team = s
            .team
            .clone()
            .or_else(|| s.owners.first().map(|o| o.who.clone()))
            .unwrap_or_else(|| "(no owner in the catalog)".to_owned());
        let entry = by_team.entry(team).or_default();
        match s.status {
            ComplianceStatus::Violating => entry.violating.push(&s.name),
            ComplianceStatus::UsingOverride => entry.overriding.push(&s.name),
            ComplianceStatus::Silent => entry.silent.push(&s.name),
            ComplianceStatus::Compliant => {}
        }
    }
    let mut items = Vec::new();
    for (team, Team { violating, overriding, silent }) in by_team {
        if !violating.is_empty() {
            let by = deadline(&|p| fails_in(p, ComplianceStatus::Violating));
            items.push(format!("{team}: Complete migration of {} by {by}", violating.join(", ")));
        }
        if !overriding.is_empty() {
            let by = deadline(&|p| fails_in(p, ComplianceStatus::UsingOverride));
            items.push(format!("{team}: Remove override flag from {} by {by}", overriding.join(", ")));
        }
        if !silent.is_empty() {
            items.push(format!("{team}: Confirm {} still runs (nothing seen in 24 h)", silent.join(", ")));
        }
    }
    items.push(match breach {
        Some(b) if b.status != crate::api::IncidentStatus::Resolved => {
            format!("Platform: Breach incident #{} is open: stop the legacy markers, then resolve it", b.incident_id)
        }
        _ => "Platform: Monitor legacy bucket for breaches".to_owned(),
    });
    items
}
