//! Routing configuration and decisions (seed 004 5.1–5.4, 6.1–6.5): the
//! seed's escalation example in Mandate's format, errors named by path, and
//! every ownership case resolved to the right people with the reason said.

use crate::common;
use chrono::{DateTime, Utc};
use mandate::api::{RoutingVerdict, Severity, Urgency};
use mandate::catalog::Catalog;
use mandate::routing::{Routing, RoutingInput};

fn catalog() -> Catalog {
    Catalog::from_toml(
        r#"
[[service]]
name = "payments-service"
owner = "@alice"
team = "payments"
on_call = "@payments-oncall"
escalation = ["@payments-lead"]
sensitivity = "critical"
tags = ["pci", "production"]

[[service]]
name = "billing-service"
owner = "@bea"
owner_status = "departed"
backup = "@bill-backup"
team = "billing"
on_call = "@billing-oncall"

[[service]]
name = "search-service"
owner = "@sam"
owner_status = "unavailable"
on_call = "@search-oncall"

[[service]]
name = "user-db"
owner = "@dana"
also_claimed_by = ["@umar"]

[[service]]
name = "card-gateway"
external = { name = "GatewayCo", contact = "support@gatewayco.example", channel = "email", sla = "4h" }

[[service]]
name = "orphan-queue"
kind = "queue"
"#,
        "catalog",
    )
    .unwrap()
}

fn at(raw: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(raw).unwrap().with_timezone(&Utc)
}

fn input(severity: Severity, resources: &[String]) -> RoutingInput<'_> {
    RoutingInput {
        severity,
        resources,
        action_type: Some("deploy"),
        actor_type: Some("SYSTEM"),
        past_incidents: 0,
        now: at("2026-12-02T10:00:00Z"),
        blast: None,
        incident: Some(12),
    }
}

/// (target, level, delay in seconds) of each notification.
fn pages(d: &mandate::api::RoutingDecision) -> Vec<(String, String, u64)> {
    d.notifications.iter().map(|n| (n.target.clone(), n.level.clone(), n.delay_seconds)).collect()
}

#[test]
fn the_seeds_escalation_example_loads_and_behaves_as_the_seed_says() {
    let routing = Routing::from_toml(&common::escalation_example("12m", false), "seed-5.3.toml").unwrap();
    let catalog = catalog();
    let payments = ["payments-service".to_owned()];

    // Critical: the owner at once, the on-call after 5 min, management at
    // 12 min (skipped to, before the chain's 15), the executive after 42.
    let critical = routing.decide(&catalog, &input(Severity::Critical, &payments));
    assert_eq!(critical.rule_matched.as_deref(), Some("critical"));
    assert_eq!(
        pages(&critical),
        [
            ("@alice".into(), "primary".into(), 0),
            ("@payments-oncall".into(), "secondary".into(), 300),
            ("@payments-lead".into(), "management".into(), 720),
            ("@vp-engineering".into(), "executive".into(), 2700),
        ]
    );
    assert_eq!(critical.escalation_path, ["@alice", "@payments-oncall", "@payments-lead", "@vp-engineering"]);
    assert!(critical.notifications.iter().all(|n| n.open_with == "mandate --incident 12"), "how to open it");
    assert_eq!(critical.notifications[0].urgency, Urgency::Critical);
    assert!(critical.notifications[0].reason.contains("owner of payments-service"), "{:?}", critical.notifications);

    // Low: never past the team's on-call.
    let low = routing.decide(&catalog, &input(Severity::Low, &payments));
    assert_eq!(low.rule_matched.as_deref(), Some("low"));
    assert_eq!(
        pages(&low),
        [("@alice".into(), "primary".into(), 0), ("@payments-oncall".into(), "secondary".into(), 300)]
    );

    // Neither: the whole chain, by its timeouts.
    let high = routing.decide(&catalog, &input(Severity::High, &payments));
    assert_eq!(high.rule_matched, None);
    assert_eq!(pages(&high).last().unwrap(), &("@vp-engineering".into(), "executive".into(), 2700));
    assert_eq!(high.decision, RoutingVerdict::Flagged);
}

#[test]
fn owners_who_cannot_be_reached_give_way_with_the_reason_said() {
    let routing = Routing::builtin();
    let catalog = catalog();
    let first = |resource: &str| {
        let resources = [resource.to_owned()];
        let d = routing.decide(&catalog, &input(Severity::Low, &resources));
        let primary: Vec<(String, String)> = d
            .notifications
            .iter()
            .filter(|n| n.level == "primary")
            .map(|n| (n.target.clone(), n.reason.clone()))
            .collect();
        primary
    };
    let departed = first("billing-service");
    assert_eq!(departed[0].0, "@bill-backup");
    assert!(departed[0].1.contains("@bea, who has left") && departed[0].1.contains("orphaned"), "{departed:?}");
    let away = first("search-service");
    assert_eq!(away[0].0, "@search-oncall", "no backup: the on-call");
    assert!(away[0].1.contains("@sam, who is away"), "{away:?}");
    let ambiguous: Vec<String> = first("user-db").into_iter().map(|(who, _)| who).collect();
    assert_eq!(ambiguous, ["@dana", "@umar"], "every claimant");
    let vendor = first("card-gateway");
    assert_eq!(vendor[0].0, "support@gatewayco.example");
    assert!(vendor[0].1.contains("GatewayCo") && vendor[0].1.contains("SLA 4h"), "{vendor:?}");
    let nobody = first("orphan-queue");
    assert_eq!(nobody[0].0, "@platform-oncall", "the fallback");
    assert!(nobody[0].1.contains("no owner"), "{nobody:?}");
}

#[test]
fn rules_match_on_tags_resources_hours_freezes_and_history_and_extend_each_other() {
    let text = r#"
fallback = "@platform"
business_hours = { days = ["mon", "tue", "wed", "thu", "fri"], start = "09:00", end = "18:00" }
change_freeze = [{ from = "2026-12-20T00:00:00Z", until = "2027-01-04T00:00:00Z", reason = "holidays" }]

[[level]]
name = "team"
targets = ["resource.team.oncall"]
timeout = "5m"

[[level]]
name = "lead"
targets = ["resource.team.lead"]

[[rule]]
name = "freeze"
match = { change_freeze = true }
decision = "gated"
urgency = "critical"

# The narrower rule first: rules are tried in order.
[[rule]]
name = "pci-after-hours"
extends = "pci"
match = { business_hours = false }
start_level = "lead"

[[rule]]
name = "pci"
match = { tags = "pci", action_type = ["deploy", "config_change"] }
channels = ["pagerduty"]

[[rule]]
name = "repeat"
match = { resource = "search-*", min_past_incidents = 2 }
start_level = "lead"
"#;
    let routing = Routing::from_toml(text, "r.toml").unwrap();
    let catalog = catalog();
    let payments = ["payments-service".to_owned()];
    let mut i = input(Severity::Medium, &payments);
    // A weekday afternoon, a deploy on a pci service: "pci".
    assert_eq!(routing.rule_for(&catalog, &i).name, "pci");
    assert_eq!(routing.decide(&catalog, &i).notifications[0].channel, "pagerduty");
    // At night the narrower rule, which inherits pci's match and channels.
    i.now = at("2026-12-02T22:00:00Z");
    let night = routing.decide(&catalog, &i);
    assert_eq!(night.rule_matched.as_deref(), Some("pci-after-hours"));
    assert_eq!(pages(&night), [("@payments-lead".into(), "lead".into(), 0)], "it starts at the lead");
    assert_eq!(night.notifications[0].channel, "pagerduty");
    // Not a deploy: neither; the defaults apply.
    i.action_type = Some("db_write");
    assert_eq!(routing.decide(&catalog, &i).rule_matched, None);
    i.now = at("2026-12-24T10:00:00Z");
    let frozen = routing.decide(&catalog, &i);
    assert_eq!((frozen.rule_matched.as_deref(), frozen.decision), (Some("freeze"), RoutingVerdict::Gated));
    let search = ["search-service".to_owned()];
    let mut s = input(Severity::Medium, &search);
    assert_ne!(routing.rule_for(&catalog, &s).name, "repeat");
    s.past_incidents = 2;
    assert_eq!(routing.rule_for(&catalog, &s).name, "repeat");

    // Extends folds the parent in: the child keeps the parent's match and channels.
    let child = routing.rules().iter().find(|r| r.name == "pci-after-hours").unwrap();
    assert_eq!(child.matches.tags, ["pci"]);
    assert_eq!(child.matches.business_hours, Some(false));
    assert_eq!(child.channels, ["pagerduty"]);
    assert_eq!(child.start_level, 1);
}

/// A `[[silence]]` named "s" on db, owned by @o, with `rest` after it.
fn silence(rest: &str) -> String {
    format!("[[silence]]\nname = \"s\"\nowner = \"@o\"\nreason = \"r\"\nresource = \"db\"\n{rest}")
}

/// A `[[critical_point]]` named "p" with `rest` after it.
fn point(rest: &str) -> String {
    format!("[[critical_point]]\nname = \"p\"\nreason = \"r\"\n{rest}")
}

/// A day from now, as TOML writes a date and time.
fn soon() -> String {
    (chrono::Utc::now() + chrono::Duration::days(1)).format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

#[test]
fn a_bad_file_is_refused_with_the_path_of_what_is_wrong() {
    let levels = "[[level]]\nname = \"a\"\ntargets = [\"resource.owner\"]\ntimeout = \"5m\"\n[[level]]\nname = \"b\"\ntargets = [\"@x\"]\n";
    for (text, path, says) in [
        ("", "level", "at least one escalation level"),
        ("[[level]]\nname = \"a\"\ntargets = [\"resource.owner\"]\ntimeout = \"5m\"\n", "level[0].timeout", "terminal"),
        ("[[level]]\nname = \"a\"\ntargets = [\"owner\"]\n", "level[0].targets[0]", "is not a target"),
        (
            &format!("{levels}[[rule]]\nname = \"r\"\nstart_level = \"c\"\n"),
            "rule[0].start_level",
            "no level is named \"c\"",
        ),
        (
            &format!("{levels}[[rule]]\nname = \"r\"\nskip_to = {{ level = \"b\", after = \"soon\" }}\n"),
            "rule[0].skip_to.after",
            "not a duration",
        ),
        (
            &format!("{levels}[[rule]]\nname = \"r\"\nextends = \"s\"\n[[rule]]\nname = \"s\"\nextends = \"r\"\n"),
            "rule[0].extends",
            "extends itself",
        ),
        (&format!("{levels}[[rule]]\nname = \"r\"\nchannels = [\"pigeon\"]\n"), "rule[0].channels[0]", "pigeon"),
        (
            &format!("{levels}[[rule]]\nname = \"r\"\nmatch = {{ severity = \"dire\" }}\n"),
            "rule[0].match.severity[0]",
            "dire",
        ),
        (&format!("{levels}[[rule]]\nname = \"r\"\nmatch = {{ sevrity = \"high\" }}\n"), "rule[0].match", "sevrity"),
        (
            &format!("{levels}[[rule]]\nname = \"r\"\ndecision = \"auto\"\n"),
            "rule[0].automation",
            "needs an automation",
        ),
        (
            &format!("{levels}[[silence]]\nname = \"s\"\nowner = \"@o\"\nreason = \"r\"\nresource = \"db\"\n"),
            "silence[0]",
            "until",
        ),
        (&format!("{levels}{}", silence("until = 2099-01-01\n")), "silence[0].until", "7 days at most"),
        (
            &format!("{levels}{}", silence(&format!("until = {}\n", soon()))).replace("resource = \"db\"\n", ""),
            "silence[0].resource",
            "silence everything",
        ),
        (
            &format!(
                "{levels}{}",
                silence(&format!("until = {}\nowner = \"o\"\n", soon())).replace("owner = \"@o\"\n", "")
            ),
            "silence[0].owner",
            "not a person",
        ),
        (
            &format!(
                "{levels}{}",
                silence(&format!(
                    "until = {}\nweekly = {{ days = [\"someday\"], start = \"02:00\", minutes = 60 }}\n",
                    soon()
                ))
            ),
            "silence[0].weekly.days",
            "someday",
        ),
        (
            &format!("{levels}{}", silence(&format!("until = {}\nsevrity = \"high\"\n", soon()))),
            "silence[0]",
            "sevrity",
        ),
        (
            &format!(
                "{levels}{}{}",
                silence(&format!("until = {}\n", soon())),
                silence(&format!("until = {}\n", soon()))
            ),
            "silence[1].name",
            "names two silences",
        ),
        (&format!("{levels}{}", point("")), "critical_point[0].match", "gates them all"),
        (
            &format!("{levels}{}", point("match = { severity = \"high\" }\n")),
            "critical_point[0].match.severity",
            "not an action's",
        ),
        (
            &format!("{levels}{}", point("match = { action_type = \"drop\" }\ntimeout = \"3d\"\n")),
            "critical_point[0].timeout",
            "between 10s and 24h",
        ),
        (
            &format!("{levels}{}", point("match = { action_type = \"drop\" }\non_timeout = \"shrug\"\n")),
            "critical_point[0].on_timeout",
            "deny or approve",
        ),
        (
            &format!("{levels}{}", point("match = { action_type = \"drop\" }\ndecision = \"auto\"\n")),
            "critical_point[0].decision",
            "gated",
        ),
        (&format!("{levels}{}", point("agent = [\"*\"]\n")), "critical_point[0].agent", "prefix ending in one *"),
        (&format!("{levels}{}", point("match = { acton_type = \"drop\" }\n")), "critical_point[0]", "acton_type"),
    ] {
        let err = Routing::from_toml(text, "routing.toml").unwrap_err();
        assert!(err.path.starts_with(path), "{text}\n→ {err} (path {:?}, wanted {path})", err.path);
        assert!(err.to_string().contains(says), "{err}");
        assert!(err.to_string().starts_with("routing routing.toml: "), "{err}");
    }
}

#[test]
fn more_than_a_hundred_rules_load_with_a_warning() {
    let mut text = "[[level]]\nname = \"only\"\ntargets = [\"resource.owner\"]\n".to_owned();
    for n in 0..101 {
        text.push_str(&format!("[[rule]]\nname = \"r{n}\"\nmatch = {{ resource = \"svc-{n}\" }}\n"));
    }
    let routing = Routing::from_toml(&text, "big.toml").unwrap();
    assert_eq!(routing.rules().len(), 101);
    assert!(routing.warnings()[0].contains("soft cap of 100"), "{:?}", routing.warnings());
    // The built-in routing names channels but no receivers: it says so, and nothing else.
    let builtin = Routing::builtin();
    assert!(!builtin.warnings().is_empty());
    assert!(builtin.warnings().iter().all(|w| w.contains("has no receiver")), "{:?}", builtin.warnings());
}

#[test]
fn owners_of_affected_services_are_told_by_tier() {
    use mandate::api::{AffectedBecause, AffectedService, BlastRadius};
    let routing = Routing::builtin();
    let catalog = catalog();
    let affected = |service: &str, because: AffectedBecause| AffectedService {
        service: service.into(),
        in_catalog: true,
        owner: None,
        team: None,
        on_call: None,
        because: vec![because],
        ownership: vec![],
    };
    let blast = BlastRadius {
        definitely: vec![affected("payments-service", AffectedBecause::Failed)],
        likely: vec![affected("billing-service", AffectedBecause::Shares { datastore: "payments-db".into() })],
        possibly: vec![affected("search-service", AffectedBecause::DependsOn { service: "billing-service".into() })],
        ..BlastRadius::default()
    };
    let resources = ["user-db".to_owned()];
    let mut i = input(Severity::Critical, &resources);
    i.blast = Some(&blast);
    let d = routing.decide(&catalog, &i);
    let told = |who: &str| -> Vec<(String, bool, u64)> {
        d.notifications
            .iter()
            .filter(|n| n.target == who)
            .map(|n| (n.channel.clone(), n.digest, n.delay_seconds))
            .collect()
    };
    // Definitely affected: at once, on every channel of the rule.
    assert_eq!(told("@alice"), [("pagerduty".into(), false, 0), ("slack".into(), false, 0)]);
    // Likely: at once, the first channel; the departed owner's backup.
    assert_eq!(told("@bill-backup"), [("pagerduty".into(), false, 0)]);
    let why = d.notifications.iter().find(|n| n.target == "@bill-backup").unwrap();
    assert!(why.reason.contains("billing-service likely affected: shares payments-db"), "{}", why.reason);
    // Possibly: a digest by email.
    assert_eq!(told("@search-oncall"), [("email".into(), true, 0)]);
}

#[test]
fn an_on_call_schedule_answers_who_is_on_call_now_with_handoffs_and_overrides() {
    let text = format!(
        "{}\n[[schedule]]\nteam = \"payments\"\nrotation = [\"@ana\", \"@ben\", \"@cid\"]\nstart = \"2026-11-30T09:00:00Z\"\nlength = \"7d\"\n[[schedule.override]]\nwho = \"@dee\"\nfrom = \"2026-12-10T00:00:00Z\"\nuntil = \"2026-12-11T00:00:00Z\"\n",
        common::escalation_example("12m", false)
    );
    let routing = Routing::from_toml(&text, "r.toml").unwrap();
    let schedule = routing.schedule("payments").unwrap();
    let who = |t: &str| schedule.on_call(at(t));
    assert_eq!(who("2026-12-02T10:00:00Z").who, "@ana");
    assert_eq!(who("2026-12-02T10:00:00Z").until, at("2026-12-07T09:00:00Z"), "the next handoff");
    assert_eq!(who("2026-12-07T09:00:00Z").who, "@ben", "handed off on the hour");
    assert_eq!(who("2026-12-07T08:59:59Z").who, "@ana");
    assert_eq!(who("2026-12-14T09:00:00Z").who, "@cid");
    assert_eq!(who("2026-12-21T09:00:00Z").who, "@ana", "round again");
    assert_eq!(who("2026-11-29T09:00:00Z").who, "@cid", "before the start, backwards");
    let overridden = who("2026-12-10T12:00:00Z");
    assert_eq!((overridden.who.as_str(), overridden.source), ("@dee", "override"));
    assert_eq!(who("2026-12-09T12:00:00Z").until, at("2026-12-10T00:00:00Z"), "an override cuts a turn short");

    // resource.team.oncall asks the schedule before the catalog's on_call.
    let catalog = catalog();
    let payments = ["payments-service".to_owned()];
    let mut i = input(Severity::High, &payments);
    i.now = at("2026-12-08T12:00:00Z");
    let d = routing.decide(&catalog, &i);
    let second = d.notifications.iter().find(|n| n.level == "secondary").unwrap();
    assert_eq!(second.target, "@ben", "until the override takes over");
    assert!(second.reason.contains("on call for payments by rotation until 12-10 00:00"), "{}", second.reason);

    let bad = format!(
        "{}\n[[schedule]]\nteam = \"t\"\nrotation = [\"ana\"]\nstart = \"2026-11-30T09:00:00Z\"\nlength = \"7d\"\n",
        common::escalation_example("12m", false)
    );
    let err = Routing::from_toml(&bad, "r.toml").unwrap_err();
    assert_eq!(err.path, "schedule[0].rotation[0]", "{err}");
}

#[test]
fn a_critical_point_gates_or_flags_the_actions_it_matches_and_nothing_else() {
    use mandate::api::RoutingVerdict;
    use mandate::routing::{ActionInput, AgentHistory};
    let routing = Routing::from_toml(
        r#"
[business_hours]
days = ["mon", "tue", "wed", "thu", "fri"]
start = "09:00"
end = "18:00"

[[level]]
name = "only"
targets = ["resource.owner"]

[[critical_point]]
name = "production data deletion"
reason = "Irreversible production data operation"
match = { action_type = ["delete", "drop_table"], sensitivity = ["critical"] }
timeout = "5m"
four_eyes = true

[[critical_point]]
name = "off-hours deploy"
reason = "Off-hours deploy to a critical service"
match = { action_type = "deploy", business_hours = false }
decision = "flagged"

[[critical_point]]
name = "new agents on payments"
reason = "an untried agent on payments"
agent = ["trial-*"]
match = { resource = "payments-*" }
on_timeout = "approve"
"#,
        "routing.toml",
    )
    .unwrap();
    let catalog = catalog();
    let weekday = at("2026-03-04T10:00:00Z");
    let night = at("2026-03-04T23:00:00Z");
    let decide = |agent: &str, action: &str, resource: &str, now| {
        routing
            .critical_decision(
                &catalog,
                &ActionInput {
                    agent,
                    action_type: Some(action),
                    resource: Some(resource),
                    actor_type: Some("SYSTEM"),
                    now,
                },
                &AgentHistory { first_seen: Some(at("2026-01-01T00:00:00Z")), actions: 5000 },
            )
            .map(|(_, d)| d)
    };
    let drop = decide("db-migrator", "drop_table", "payments-service", weekday).expect("critical");
    assert_eq!(
        (
            drop.decision,
            drop.critical_point.as_deref(),
            drop.timeout_seconds,
            drop.on_timeout.as_deref(),
            drop.four_eyes
        ),
        (RoutingVerdict::Gated, Some("production data deletion"), Some(300), Some("deny"), true)
    );
    assert_eq!(drop.reason, "Irreversible production data operation");
    assert!(decide("db-migrator", "drop_table", "search", weekday).is_none(), "not a critical service");
    assert!(decide("db-migrator", "select", "payments-service", weekday).is_none(), "not a deletion");
    let nowhere = ActionInput {
        agent: "db-migrator",
        action_type: Some("drop_table"),
        resource: None,
        actor_type: Some("SYSTEM"),
        now: weekday,
    };
    assert!(
        routing.critical_decision(&catalog, &nowhere, &AgentHistory::default()).is_none(),
        "no resource: no sensitivity to match"
    );
    let deploy = decide("deployer", "deploy", "search", night).expect("off hours");
    assert_eq!((deploy.decision, deploy.timeout_seconds), (RoutingVerdict::Flagged, None));
    assert!(decide("deployer", "deploy", "search", weekday).is_none(), "inside business hours");
    let trial = decide("trial-bot", "read", "payments-service", weekday).expect("a trial agent on payments");
    assert_eq!(
        (trial.critical_point.as_deref(), trial.on_timeout.as_deref()),
        (Some("new agents on payments"), Some("approve"))
    );
    assert!(decide("steady-bot", "read", "payments-service", weekday).is_none(), "another agent");
    assert_eq!(
        routing.gated_action_types("db-migrator"),
        ["deploy", "delete", "drop_table"]
            .map(String::from)
            .iter()
            .cloned()
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect::<Vec<_>>(),
        "what the SDK asks about"
    );
    assert_eq!(
        routing.gated_action_types("trial-bot").first().map(String::as_str),
        Some("*"),
        "any action of a trial agent"
    );
}

#[test]
fn a_critical_point_for_new_agents_holds_until_the_agent_has_a_history() {
    use mandate::routing::{ActionInput, AgentHistory};
    let routing = Routing::from_toml(
        r#"
[[level]]
name = "only"
targets = ["resource.owner"]

[[critical_point]]
name = "untried agents on payments"
reason = "a new actor on a sensitive resource"
match = { resource = "payments-*" }
new_agent = { days = 7, actions = 100 }
approvals = 2
approvers = ["@dba-lead"]
"#,
        "routing.toml",
    )
    .unwrap();
    let catalog = catalog();
    let now = at("2026-03-04T10:00:00Z");
    let action = ActionInput {
        agent: "writer",
        action_type: Some("write"),
        resource: Some("payments-service"),
        actor_type: Some("SYSTEM"),
        now,
    };
    let gated = |history: AgentHistory| {
        routing.critical_decision(&catalog, &action, &history).map(|(p, _)| p.approvals_needed())
    };
    assert_eq!(gated(AgentHistory::default()), Some(2), "never seen: new");
    let veteran = AgentHistory { first_seen: Some(at("2026-01-01T00:00:00Z")), actions: 5000 };
    assert_eq!(gated(veteran), None, "seen for months, thousands of actions");
    assert_eq!(gated(AgentHistory { actions: 40, ..veteran }), Some(2), "too few actions");
    assert_eq!(gated(AgentHistory { first_seen: Some(at("2026-03-01T00:00:00Z")), ..veteran }), Some(2), "3 days old");
    for (bad, path) in [
        ("new_agent = {}", "new_agent"),
        ("new_agent = { days = 0 }", "new_agent"),
        ("approvals = 3", "approvals"),
        ("new_agent = { weeks = 2 }", "weeks"),
    ] {
        let text = format!(
            "[[level]]\nname = \"only\"\ntargets = [\"resource.owner\"]\n[[critical_point]]\nname = \"p\"\nreason = \"r\"\nmatch = {{ resource = \"x\" }}\n{bad}\n"
        );
        let err = Routing::from_toml(&text, "routing.toml").unwrap_err().to_string();
        assert!(err.contains(path), "{bad}: {err}");
    }
}
