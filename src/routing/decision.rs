//! From an incident to a `RoutingDecision`: the first rule that matches the
//! incident's inputs (seed 004 5.1) chooses the levels and channels; each
//! level's targets are resolved against the catalog, owners who cannot be
//! reached giving way to their backup (6.1–6.5), with the reason said.

use super::config::{Match, Resolved, Routing, parse_duration};
use crate::api::{
    AffectedService, Automation, BlastRadius, Notification, RoutingDecision, RoutingVerdict, Severity, Urgency,
};
use crate::catalog::{Catalog, OwnerStatus, Service};
use crate::paging::{BLAST_RADIUS, CHANNELS, COORDINATION};
use chrono::{DateTime, Datelike, Utc};

/// Seed 6.7: how long several teams may be affected with nobody coordinating.
const COORDINATION_AFTER: u64 = 600;

/// What routing looks at (seed 5.1).
#[derive(Debug, Clone)]
pub struct RoutingInput<'a> {
    pub severity: Severity,
    /// The failing resources, the first being where it started.
    pub resources: &'a [String],
    /// The suspected action's type and its actor's type (SYSTEM, HUMAN, SERVICE).
    pub action_type: Option<&'a str>,
    pub actor_type: Option<&'a str>,
    /// Earlier incidents on the first resource.
    pub past_incidents: u32,
    pub now: DateTime<Utc>,
    /// Who else is affected (seed 8.2): their owners are told too.
    pub blast: Option<&'a BlastRadius>,
    /// The incident's number, for "how to open it".
    pub incident: Option<i64>,
}

impl Routing {
    /// The rule that applies: the first that matches, or the defaults.
    pub fn rule_for(&self, catalog: &Catalog, input: &RoutingInput) -> &Resolved {
        self.rules().iter().find(|r| self.matches(&r.matches, catalog, input)).unwrap_or(self.default_rule())
    }

    pub(super) fn matches(&self, m: &Match, catalog: &Catalog, input: &RoutingInput) -> bool {
        let service = input.resources.first().and_then(|r| catalog.get(r));
        let any = |wanted: &[String], have: Option<&str>| {
            wanted.is_empty() || have.is_some_and(|h| wanted.iter().any(|w| w.eq_ignore_ascii_case(h)))
        };
        let resource = m.resource.is_empty()
            || input
                .resources
                .iter()
                .any(|r| m.resource.iter().any(|pattern| crate::api::pattern::matches(pattern, r)));
        let tags = m.tags.is_empty() || service.is_some_and(|s| s.tags.iter().any(|t| m.tags.contains(t)));
        any(&m.severity, Some(input.severity.as_str()))
            && resource
            && any(&m.sensitivity, service.map(|s| s.sensitivity.as_str()))
            && tags
            && any(&m.action_type, input.action_type)
            && any(&m.actor_type, input.actor_type)
            && m.business_hours.is_none_or(|want| self.business_hours(input.now) == want)
            && m.change_freeze.is_none_or(|want| self.change_freeze(input.now) == want)
            && m.min_past_incidents.is_none_or(|n| input.past_incidents >= n)
    }

    /// Inside the configured business hours (UTC); always, when none are set.
    pub fn business_hours(&self, now: DateTime<Utc>) -> bool {
        let Some(hours) = &self.document().business_hours else { return true };
        let day = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"][now.weekday().num_days_from_monday() as usize];
        let time = now.time().format("%H:%M").to_string();
        hours.days.iter().any(|d| d == day) && time >= hours.start && time < hours.end
    }

    /// Inside a change-freeze window.
    pub fn change_freeze(&self, now: DateTime<Utc>) -> bool {
        self.document().change_freeze.iter().any(|f| f.from <= now && now < f.until)
    }

    /// Who is told, how and when, for an incident.
    pub fn decide(&self, catalog: &Catalog, input: &RoutingInput) -> RoutingDecision {
        self.decide_by(self.rule_for(catalog, input), catalog, input)
    }

    /// A rule learned from incidents, routed like the defaults with its
    /// own name, decision and automation.
    pub fn learned_rule(&self, name: String, decision: RoutingVerdict, automation: Option<Automation>) -> Resolved {
        Resolved { name, decision, automation, matches: Match::default(), ..self.default_rule().clone() }
    }

    /// Who is told, how and when, by `rule`.
    pub fn decide_by(&self, rule: &Resolved, catalog: &Catalog, input: &RoutingInput) -> RoutingDecision {
        let urgency = rule.urgency.unwrap_or(match input.severity {
            Severity::Critical => Urgency::Critical,
            Severity::High => Urgency::High,
            _ => Urgency::Low,
        });
        let service = input.resources.first().and_then(|r| catalog.get(r));
        let resource = input.resources.first().map(String::as_str).unwrap_or("the failing resource");
        let mut notifications = Vec::new();
        let mut path: Vec<String> = Vec::new();
        // When each level is reached: after the timeouts of the ones before,
        // or sooner when the rule skips to it.
        let mut at = 0u64;
        for (n, level) in self.levels().iter().enumerate().take(rule.max_level + 1).skip(rule.start_level) {
            let delay = match rule.skip_to {
                Some((to, after)) if n == to => at.min(after),
                _ => at,
            };
            let channels = level.channels.as_ref().unwrap_or(&rule.channels);
            // A level that reaches only the fallback (nobody owns it) times
            // out in half the time: an orphan escalates faster (seed 6.5). A
            // vendor is reached on its own channel and given its SLA (6.3).
            let mut orphan = true;
            let mut sla = None;
            for target in &level.targets {
                let vendor = service.and_then(|s| s.external.as_ref()).filter(|_| target == "resource.owner");
                let vendor_channel =
                    vendor.filter(|e| CHANNELS.contains(&e.channel.as_str())).map(|e| vec![e.channel.clone()]);
                if let Some(e) = vendor {
                    sla = parse_duration(&e.sla);
                }
                for (who, why) in self.resolve(target, service, resource, input.now) {
                    orphan &= why.ends_with("the fallback");
                    if !path.contains(&who) {
                        path.push(who.clone());
                    }
                    for channel in vendor_channel.as_ref().unwrap_or(channels) {
                        notifications.push(Notification {
                            target: who.clone(),
                            channel: channel.clone(),
                            urgency,
                            reason: format!("{why} (level {})", level.name),
                            delay_seconds: delay,
                            level: level.name.clone(),
                            digest: false,
                            open_with: String::new(),
                        });
                    }
                }
            }
            let timeout = sla.or(self.timeouts()[n]).unwrap_or(0);
            at = at.saturating_add(if orphan { timeout / 2 } else { timeout });
        }
        if let Some(br) = input.blast {
            self.blast_tiers(catalog, br, input, rule, urgency, &mut notifications);
            if rule.decision != RoutingVerdict::Monitored {
                let channel = rule.channels.first().map(String::as_str).unwrap_or("slack");
                self.coordination(catalog, br, input, (urgency, channel), &mut notifications);
            }
        }
        let open_with = input.incident.map(|id| format!("mandate --incident {id}")).unwrap_or_default();
        for n in &mut notifications {
            n.open_with = open_with.clone();
        }
        RoutingDecision {
            decision: rule.decision,
            notifications,
            escalation_path: path,
            rule_matched: (rule.name != "defaults").then(|| rule.name.clone()),
            automation: rule.automation,
        }
    }

    /// Seed 8.2: owners of definitely affected services are told at once on
    /// every channel, of likely ones at once on the first channel, of
    /// possibly affected ones in a digest by email. Nobody is told twice at once.
    fn blast_tiers(
        &self,
        catalog: &Catalog,
        br: &BlastRadius,
        input: &RoutingInput,
        rule: &Resolved,
        urgency: Urgency,
        notifications: &mut Vec<Notification>,
    ) {
        let first = &rule.channels[..1];
        let tiers: [(&str, &[AffectedService], &[String], bool); 3] = [
            ("definitely affected", &br.definitely, &rule.channels, false),
            ("likely affected", &br.likely, first, false),
            ("possibly affected", &br.possibly, &[], true),
        ];
        let email = ["email".to_owned()];
        for (tier, services, channels, digest) in tiers {
            let channels = if digest { &email[..] } else { channels };
            for affected in services.iter().filter(|a| !input.resources.contains(&a.service)) {
                let why = affected.because.first().map(|b| b.describe()).unwrap_or_default();
                for (who, role) in
                    self.resolve("resource.owner", catalog.get(&affected.service), &affected.service, input.now)
                {
                    if notifications.iter().any(|n| n.target == who && n.delay_seconds == 0) {
                        continue;
                    }
                    for channel in channels {
                        notifications.push(Notification {
                            target: who.clone(),
                            channel: channel.clone(),
                            urgency: if digest { Urgency::Low } else { urgency },
                            reason: format!("{} {tier}: {why} ({role})", affected.service),
                            delay_seconds: 0,
                            level: BLAST_RADIUS.to_owned(),
                            digest,
                            open_with: String::new(),
                        });
                    }
                }
            }
        }
    }

    /// Seed 6.7: more than two teams affected and nobody coordinating after
    /// 10 minutes: management is paged (acknowledging names a coordinator
    /// and cancels it).
    fn coordination(
        &self,
        catalog: &Catalog,
        br: &BlastRadius,
        input: &RoutingInput,
        (urgency, channel): (Urgency, &str),
        notifications: &mut Vec<Notification>,
    ) {
        let mut teams: Vec<&str> = input
            .resources
            .iter()
            .filter_map(|r| catalog.get(r))
            .filter_map(|s| s.team.as_deref())
            .chain(br.definitely.iter().chain(&br.likely).filter_map(|a| a.team.as_deref()))
            .collect();
        teams.sort();
        teams.dedup();
        if teams.len() <= 2 {
            return;
        }
        let why = format!("{} teams affected ({}) and no coordinator after 10 minutes", teams.len(), teams.join(", "));
        let service = input.resources.first().and_then(|r| catalog.get(r));
        let resource = input.resources.first().map(String::as_str).unwrap_or("the failing resource");
        for (who, role) in self.resolve("resource.team.lead", service, resource, input.now) {
            notifications.push(Notification {
                target: who,
                channel: channel.to_owned(),
                urgency,
                reason: format!("{why}: {role}"),
                delay_seconds: COORDINATION_AFTER,
                level: COORDINATION.to_owned(),
                digest: false,
                open_with: String::new(),
            });
        }
    }

    /// For each service of the catalog, the levels whose targets fall to the
    /// fallback because the catalog names nobody: what `routing check` warns of.
    pub fn unreachable(&self, catalog: &Catalog) -> Vec<String> {
        let mut gaps = Vec::new();
        for service in catalog.services() {
            for level in self.levels() {
                for target in &level.targets {
                    if self
                        .resolve(target, Some(service), &service.name, Utc::now())
                        .iter()
                        .any(|(_, why)| why.ends_with("the fallback"))
                    {
                        gaps.push(format!(
                            "{}: level {} ({target}) reaches no one named in the catalog; the fallback is paged",
                            service.name, level.name
                        ));
                    }
                }
            }
        }
        gaps
    }

    /// Who owns a service, as a page to its owner would reach them: the
    /// owner, the backup when away or gone, every claimant, the vendor, or
    /// the fallback. Each with why.
    pub fn owners_of(&self, catalog: &Catalog, service: &str, now: DateTime<Utc>) -> Vec<(String, String)> {
        self.resolve("resource.owner", catalog.get(service), service, now)
    }

    /// The platform/admin target: the fallback.
    pub fn admin(&self) -> String {
        self.document().fallback.clone().unwrap_or_else(|| "@platform-oncall".to_owned())
    }

    /// A level's target as people, each with why: `resource.owner` gives way
    /// to the backup when the owner is away or gone, to every claimant when
    /// ownership is ambiguous, to the vendor when external; a target that
    /// resolves to nobody goes to the fallback.
    fn resolve(
        &self,
        target: &str,
        service: Option<&Service>,
        resource: &str,
        now: DateTime<Utc>,
    ) -> Vec<(String, String)> {
        let fallback = |what: &str| vec![(self.admin(), format!("{resource} has no {what}: the fallback"))];
        let Some(s) = service else {
            return match target.strip_prefix('@') {
                Some(_) => vec![(target.to_owned(), "named in the escalation chain".to_owned())],
                None => fallback("entry in the catalog"),
            };
        };
        let backup = || s.backup.clone().or_else(|| s.on_call.clone());
        match target {
            "resource.owner" => {
                if let Some(ext) = &s.external {
                    return vec![(
                        ext.contact.clone(),
                        format!("{} runs {resource} (via {}, SLA {})", ext.name, ext.channel, ext.sla),
                    )];
                }
                let Some(owner) = s.owner.clone() else { return fallback("owner") };
                match (s.owner_status, backup()) {
                    (OwnerStatus::Unavailable, Some(b)) => {
                        vec![(b, format!("backup for {owner}, who is away, on {resource}"))]
                    }
                    (OwnerStatus::Departed, Some(b)) => vec![
                        (b, format!("backup for {owner}, who has left; {resource} is orphaned")),
                        (
                            self.admin(),
                            format!(
                                "admin alert: {owner}, owner of {resource}, has left: assign a new owner in the catalog"
                            ),
                        ),
                    ],
                    (OwnerStatus::Available, _) if !s.also_claimed_by.is_empty() => std::iter::once(owner)
                        .chain(s.also_claimed_by.iter().cloned())
                        .map(|c| (c, format!("claims {resource} (ownership is ambiguous)")))
                        .collect(),
                    (OwnerStatus::Available, _) => vec![(owner, format!("owner of {resource}"))],
                    (_, None) => fallback("reachable owner or backup"),
                }
            }
            "resource.team.oncall" => {
                let team = s.team.as_deref().unwrap_or(resource);
                match (s.team.as_deref().and_then(|t| self.schedule(t)), &s.on_call) {
                    (Some(schedule), _) => {
                        let on = schedule.on_call(now);
                        let by = if on.source == "override" { "by override" } else { "by rotation" };
                        vec![(on.who, format!("on call for {team} {by} until {}", on.until.format("%m-%d %H:%M")))]
                    }
                    (None, Some(oncall)) => vec![(oncall.clone(), format!("on call for {team}"))],
                    (None, None) => fallback("on-call"),
                }
            }
            "resource.team.lead" => match s.escalation.first() {
                Some(lead) => vec![(lead.clone(), format!("leads {}", s.team.as_deref().unwrap_or(resource)))],
                None => fallback("team lead"),
            },
            named => vec![(named.to_owned(), "named in the escalation chain".to_owned())],
        }
    }
}

impl crate::rollout::Directory for Routing {
    fn fallback(&self) -> Option<String> {
        self.document().fallback.clone()
    }

    fn has_receiver(&self, channel: &str) -> bool {
        self.receivers().has(channel)
    }

    fn owners_of(&self, catalog: &Catalog, service: &str, now: DateTime<Utc>) -> Vec<(String, String)> {
        Routing::owners_of(self, catalog, service, now)
    }
}
