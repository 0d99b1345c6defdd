//! The simulator against a real server with the demo catalog: one round of
//! the seed's scenarios, fast, and what the server made of each.

use crate::common::{ADMIN, AGENT, Db, RESPONDER, TestServer, VIEWER, store, tokens};
use mandate::api::{ContributionRole, Evidence, IncidentDetail, IncidentPage, IncidentSummary, RunPage, TimelineEntry};
use mandate::desk::{Desk, DeskConfig};
use mandate::sim::SimArgs;
use std::collections::BTreeSet;

async fn detail(t: &TestServer, incidents: &[IncidentSummary], title: &str) -> Vec<IncidentDetail> {
    let mut found = Vec::new();
    for i in incidents.iter().filter(|i| i.title == title) {
        found
            .push(serde_json::from_value(t.get(RESPONDER, &format!("/api/v1/incidents/{}", i.id)).await.body).unwrap());
    }
    assert!(!found.is_empty(), "no incident {title:?} in {:?}", incidents.iter().map(|i| &i.title).collect::<Vec<_>>());
    found
}

async fn one_round_of_the_seeds_bad_day(db: Db) {
    one_round(db, false).await;
}

/// The same bad day, every run and event sent as OpenTelemetry spans, comes
/// out the same.
#[tokio::test]
async fn one_round_through_opentelemetry() {
    one_round(Db::Sqlite, true).await;
}

async fn one_round(db: Db, otlp: bool) {
    let guard = store(db).await;
    let desk = Desk::open(guard.store.clone(), Some(mandate::demo::catalog()), DeskConfig::default()).await.unwrap();
    let server = mandate::server::start_desk(desk, tokens(), "127.0.0.1:0".parse().unwrap()).await.unwrap();
    let args = SimArgs {
        api: server.url(),
        token: AGENT.into(),
        seed: 42,
        speed: 200.0,
        // 100 background runs a second at speed 200: enough for every
        // agent to show; 400 made PostgreSQL the test's long pole (see README).
        rate: 0.5,
        rounds: Some(1),
        otlp,
        mixed: false,
        admin_token: Some(ADMIN.into()),
    };
    let t = TestServer::wrap(server);
    let (_stop, stopped) = tokio::sync::watch::channel(false);
    let report = mandate::sim::run(args, stopped).await.unwrap();
    assert!(report.to_string().starts_with("1 rounds"), "{report}");
    if otlp {
        let runs = t.get(RESPONDER, "/api/v1/runs?limit=500").await.body;
        let ids: Vec<&str> = runs["runs"].as_array().unwrap().iter().map(|r| r["run_id"].as_str().unwrap()).collect();
        assert!(!ids.is_empty() && ids.iter().all(|id| id.starts_with("otel-")), "{ids:?}");
    }

    let page: IncidentPage =
        serde_json::from_value(t.get(RESPONDER, "/api/v1/incidents?limit=500").await.succeeded()).unwrap();
    let incidents = page.incidents;

    // 3.4: the approval is context; the config change leads, the deploy follows.
    let bad = &detail(&t, &incidents, "CONFIG_INVALID on payments-service").await[0];
    let roles: Vec<ContributionRole> = bad.analysis.contributing.iter().map(|c| c.role).collect();
    assert!(roles.contains(&ContributionRole::Context), "{roles:?}");
    assert_eq!(bad.analysis.candidates[0].agent_id.as_deref(), Some("config-gen"));
    assert!(bad.blast_radius.owners_to_notify.contains(&"@alice".to_owned()));

    // 3.6: 45 minutes between change and impact.
    let delayed = &detail(&t, &incidents, "RETRY_EXHAUSTED on billing-service").await[0];
    assert!(
        delayed.analysis.candidates[0].evidence.iter().any(|e| matches!(e, Evidence::DelayedEffect { .. })),
        "{:?}",
        delayed.analysis.candidates[0]
    );

    // 3.9: two writers within seconds.
    let conflict = &detail(&t, &incidents, "CONFIG_CONFLICT on notifications").await[0];
    assert_eq!(conflict.analysis.concurrent_modifications.len(), 1);

    // 10.3: one incident on user-db with symptoms from three services.
    let pool = &detail(&t, &incidents, "DB_POOL_EXHAUSTED on user-db").await[0];
    let reporters: BTreeSet<String> = pool
        .timeline
        .iter()
        .filter_map(|e| match e {
            TimelineEntry::Event { event, .. } if event.is_error() => event.agent_id.clone(),
            _ => None,
        })
        .collect();
    assert_eq!(reporters.len(), 3, "{reporters:?}");
    assert!(pool.blast_radius.likely.iter().chain(&pool.blast_radius.definitely).count() >= 3);

    // 7.4: it recovered by itself.
    let flash = &detail(&t, &incidents, "HTTP_503 on search-service").await[0];
    assert!(flash.summary.auto_recovered);

    // 10.6: the third occurrence proposes a rule; the platform lead adopts
    // it; the fourth meets it, gated (signatures and rules are worked out in
    // the background, every 2 s, late on a loaded machine).
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    loop {
        let repeats = detail(&t, &incidents, "CACHE_STAMPEDE on cache-cluster").await;
        assert_eq!(repeats.len(), 4);
        let third = repeats.iter().find(|d| d.pattern.as_ref().is_some_and(|p| p.occurrence == 3));
        let fourth = repeats.iter().max_by_key(|d| d.summary.started_at).unwrap();
        let gated = fourth.routing.as_ref().is_some_and(|r| r.decision == mandate::api::RoutingVerdict::Gated);
        if let (Some(third), true) = (third, gated) {
            assert!(third.pattern.as_ref().unwrap().suggested_rule.is_some());
            let routing = fourth.routing.as_ref().unwrap();
            assert!(routing.rule_matched.as_deref().unwrap_or("").starts_with("learned: Gate"), "{routing:?}");
            break;
        }
        let seen: Vec<_> = repeats.iter().map(|d| (&d.pattern, d.routing.as_ref().map(|r| r.decision))).collect();
        assert!(std::time::Instant::now() < deadline, "no adopted rule met the fourth occurrence ({report}): {seen:?}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
    // The flush fired it as it arrived; the incident, once analysed.
    let rule = loop {
        let rules = t.get(RESPONDER, "/api/v1/rules?state=active").await.body;
        let rule = rules["rules"][0].clone();
        if rule["fired"].as_i64() >= Some(2) {
            break rule;
        }
        assert!(std::time::Instant::now() < deadline, "the fourth flush and its incident: {rule}");
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    };
    assert_eq!(
        (rule["match"]["action_type"].as_str(), rule["decided_by"].as_str()),
        (Some("cache_flush"), Some("root-admin"))
    );
    assert_eq!(rule["interruptions_7d"], 1, "{rule}");
    assert!(report.to_string().ends_with("learned rules adopted 1"), "{report}");

    // 13.3: a gap in report-generator's sequence.
    let gap = &detail(&t, &incidents, "EXPORT_FAILED on reports-db").await[0];
    assert!(gap.timeline.iter().any(|e| matches!(e, TimelineEntry::Gap { .. })), "{:?}", gap.timeline);

    // Seed 000: the legacy sentinel was refused and counted, never stored.
    let stats = t.get(ADMIN, "/api/v1/attribution/stats").await.body;
    assert!(stats["runs_rejected"].as_i64().unwrap() >= 1, "{stats}");
    assert_eq!(stats["legacy_bucket"], 0);
    // ... and its service shows in the rollout's services table, violating,
    // with the legacy sentinel counted against it.
    let rollout = t.get(VIEWER, "/api/v1/attribution/rollout?q=legacy").await.body;
    let legacy = &rollout["services"][0];
    assert_eq!((legacy["name"].as_str(), legacy["status"].as_str()), (Some("legacy-migration"), Some("violating")));
    assert!(legacy["legacy_use_7d"].as_i64().unwrap() >= 1, "{legacy}");
    assert_eq!(rollout["phase"], "hard", "no plan: the API's hard enforcement");
    assert!(rollout["breach"]["incident_id"].as_i64().is_some(), "hard: the legacy run raised the P1: {rollout}");

    // The fleet: a dozen agents, runs in all three attributions.
    let agents = t.get(RESPONDER, "/api/v1/agents").await.body;
    assert!(agents.as_array().unwrap().len() >= 12, "{agents}");
    let runs: RunPage = serde_json::from_value(t.get(RESPONDER, "/api/v1/runs?limit=500").await.body).unwrap();
    let kinds: BTreeSet<String> = runs.runs.iter().map(|r| r.actor_type.as_str().to_owned()).collect();
    assert_eq!(kinds.len(), 3, "{kinds:?}");
    t.stop().await;
}

on_both_databases!(one_round_of_the_seeds_bad_day);
