//! The seed's scenarios as scripts: each is a list of steps (events to post,
//! runs to create) with the times they happened. A script is a pure function
//! of the seed, the round and the moment it starts, so a seed replays the
//! same bad day.

use crate::attribution::{LEGACY_AGENT_ID, LEGACY_ORIGIN_SYSTEM_ID};
use chrono::{DateTime, Duration, Utc};
use rand::Rng;
use rand::rngs::StdRng;
use serde_json::{Value, json};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scenario {
    /// Seed 3.4: a human approves, the deployer deploys, config-gen writes a
    /// bad config, payments fails. The approval is context, not a cause.
    BadDeploy,
    /// Seed 3.6: a config change whose effect shows 45 minutes later.
    DelayedConfig,
    /// Seed 3.9: two agents write the same resource within seconds.
    ConcurrentWrites,
    /// Seed 10.3: a heavy query exhausts user-db's connections; three services fail.
    DbExhaustion,
    /// Seed 7.4: an error that recovers by itself within two minutes.
    FlashIncident,
    /// Seed 10.6: the same failure for the third time proposes a rule; the
    /// platform lead adopts it, and the fourth time it gates the incident.
    RepeatPattern,
    /// Seed 000: a service still sending the legacy sentinel, refused and counted.
    LegacySentinel,
    /// Seed 13.3: an agent's sequence numbers skip; events may be missing.
    SequenceGap,
}

impl Scenario {
    pub const ALL: [Scenario; 8] = [
        Scenario::BadDeploy,
        Scenario::DelayedConfig,
        Scenario::ConcurrentWrites,
        Scenario::DbExhaustion,
        Scenario::FlashIncident,
        Scenario::RepeatPattern,
        Scenario::LegacySentinel,
        Scenario::SequenceGap,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Scenario::BadDeploy => "bad-deploy",
            Scenario::DelayedConfig => "delayed-config",
            Scenario::ConcurrentWrites => "concurrent-writes",
            Scenario::DbExhaustion => "db-exhaustion",
            Scenario::FlashIncident => "flash-incident",
            Scenario::RepeatPattern => "repeat-pattern",
            Scenario::LegacySentinel => "legacy-sentinel",
            Scenario::SequenceGap => "sequence-gap",
        }
    }
}

/// One thing the simulator does.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    /// `POST /api/v1/events`.
    Event(Value),
    /// `POST /api/v1/runs` with a raw body, as a service without the SDK would.
    RawRun(Value),
    /// Let this much (simulated) time pass before the next step.
    Pause(Duration),
    /// As the platform lead: approve and activate the rule proposed for
    /// this action type (with an admin token; without one, skipped).
    AdoptRule { action_type: &'static str },
}

/// Builds events with the scenario's ids and times.
struct Script {
    prefix: String,
    base: DateTime<Utc>,
    n: u32,
    steps: Vec<Step>,
}

/// What an event says beyond who, what and where.
#[derive(Default)]
struct Extra<'a> {
    tool: Option<&'a str>,
    error: Option<(&'a str, &'a str)>,
    actor: Option<&'a str>,
    metadata: Option<Value>,
    seq: Option<i64>,
}

impl Script {
    fn event(&mut self, minutes: f64, agent: &str, action: &str, resource: &str, ok: bool, extra: Extra) {
        self.n += 1;
        let at = self.base + Duration::milliseconds((minutes * 60_000.0) as i64);
        let mut e = json!({
            "event_id": format!("{}-{}", self.prefix, self.n),
            "agent_id": agent,
            "actor_type": if extra.actor.is_some() { "HUMAN" } else { "SYSTEM" },
            "origin_system_id": "sim-fleet",
            "action_type": action,
            "resource": resource,
            "outcome": if ok { "ok" } else { "error" },
            "occurred_at": at.to_rfc3339(),
        });
        if let Some(actor) = extra.actor {
            e["actor_id"] = actor.into();
        }
        if let Some(tool) = extra.tool {
            e["tool"] = tool.into();
        }
        if let Some((code, message)) = extra.error {
            e["error_code"] = code.into();
            e["error_message"] = message.into();
        }
        if let Some(m) = extra.metadata {
            e["metadata"] = m;
        }
        if let Some(seq) = extra.seq {
            e["seq"] = seq.into();
        }
        self.steps.push(Step::Event(e));
    }

    fn pause(&mut self, seconds: i64) {
        self.steps.push(Step::Pause(Duration::seconds(seconds)));
    }
}

/// `at`, or as little before it as it takes for `[at - before, at + after]`
/// to fall within one time pattern (business hours, or after hours):
/// occurrences on both sides of 09:00 would differ by it, and match each
/// other only as possible repeats.
fn within_one_time_pattern(at: DateTime<Utc>, before: Duration, after: Duration) -> DateTime<Utc> {
    use crate::incident::time_pattern;
    (0..=before.num_minutes() + after.num_minutes() + 1)
        .map(|back| at - Duration::minutes(back))
        .find(|at| time_pattern(*at - before) == time_pattern(*at + after))
        .unwrap_or(at)
}

/// The steps of `scenario` in `round`, its impact `at` (events are dated
/// around it, some in the past: they arrive late, as real ones do).
///
/// Long on purpose: one arm per scenario, each the script of a bad day read
/// top to bottom; split, a scenario would be read across functions.
pub fn script(scenario: Scenario, seed: u64, round: u64, at: DateTime<Utc>, rng: &mut StdRng) -> Vec<Step> {
    let mut s = Script { prefix: format!("sim{seed}-r{round}-{}", scenario.name()), base: at, n: 0, steps: vec![] };
    let burst = rng.random_range(3..=5);
    match scenario {
        Scenario::BadDeploy => {
            let approver = ["dana", "sam", "priya"][rng.random_range(0..3)];
            s.event(
                -12.0,
                "change-portal",
                "approval",
                "payments-service",
                true,
                Extra { actor: Some(approver), ..Extra::default() },
            );
            s.event(
                -10.0,
                "deployer",
                "deploy",
                "payments-service",
                true,
                Extra { tool: Some("helm"), ..Extra::default() },
            );
            s.event(
                -6.0,
                "config-gen",
                "config_change",
                "payments-service",
                true,
                Extra {
                    tool: Some("config_writer"),
                    metadata: Some(json!({"config_key": "pool_size"})),
                    ..Extra::default()
                },
            );
            for i in 0..burst {
                s.pause(1);
                s.event(
                    f64::from(i) * 0.2,
                    "payment-processor",
                    "tool_call",
                    "payments-service",
                    false,
                    Extra {
                        tool: Some("charge_card"),
                        error: Some(("CONFIG_INVALID", "invalid pool_size in generated config")),
                        ..Extra::default()
                    },
                );
            }
        }
        Scenario::DelayedConfig => {
            s.event(
                -45.0,
                "config-gen",
                "config_change",
                "billing-service",
                true,
                Extra {
                    tool: Some("config_writer"),
                    metadata: Some(json!({"config_key": "retry_limit"})),
                    ..Extra::default()
                },
            );
            for i in 0..burst {
                s.pause(1);
                s.event(
                    f64::from(i) * 0.3,
                    "invoice-runner",
                    "tool_call",
                    "billing-service",
                    false,
                    Extra {
                        tool: Some("send_invoice"),
                        error: Some(("RETRY_EXHAUSTED", "retry_limit=0: every retry was refused")),
                        ..Extra::default()
                    },
                );
            }
        }
        Scenario::ConcurrentWrites => {
            s.event(
                -3.0,
                "config-gen",
                "config_change",
                "notifications",
                true,
                Extra {
                    tool: Some("config_writer"),
                    metadata: Some(json!({"config_key": "rate_limit"})),
                    ..Extra::default()
                },
            );
            s.event(
                -3.0 + 3.0 / 60.0,
                "policy-bot",
                "config_change",
                "notifications",
                true,
                Extra {
                    tool: Some("policy_apply"),
                    metadata: Some(json!({"config_key": "rate_limit"})),
                    ..Extra::default()
                },
            );
            for i in 0..burst {
                s.pause(1);
                s.event(
                    f64::from(i) * 0.25,
                    "notifier",
                    "tool_call",
                    "notifications",
                    false,
                    Extra {
                        tool: Some("send_push"),
                        error: Some(("CONFIG_CONFLICT", "rate_limit has two values")),
                        ..Extra::default()
                    },
                );
            }
        }
        Scenario::DbExhaustion => {
            s.event(
                -7.0,
                "report-generator",
                "query",
                "user-db",
                true,
                Extra { tool: Some("sql"), metadata: Some(json!({"rows_scanned": 48_000_000})), ..Extra::default() },
            );
            for (i, agent) in ["user-service", "billing-service", "payment-processor"].iter().enumerate() {
                s.pause(1);
                s.event(
                    i as f64 * 0.3,
                    agent,
                    "db_query",
                    "user-db",
                    false,
                    Extra {
                        tool: Some("sql"),
                        error: Some(("DB_POOL_EXHAUSTED", "connection pool exhausted on user-db")),
                        ..Extra::default()
                    },
                );
            }
        }
        Scenario::FlashIncident => {
            s.event(
                -1.5,
                "search-indexer",
                "tool_call",
                "search-service",
                false,
                Extra {
                    tool: Some("reindex"),
                    error: Some(("HTTP_503", "search-service unavailable")),
                    ..Extra::default()
                },
            );
            s.pause(5);
            s.event(
                -1.0,
                "search-indexer",
                "tool_call",
                "search-service",
                true,
                Extra { tool: Some("reindex"), ..Extra::default() },
            );
        }
        Scenario::RepeatPattern => {
            // Four occurrences, 17 minutes apart: wider than the incident
            // window, and all within the hour late events may arrive in. The
            // third proposes a rule; it is adopted before the fourth.
            s.base = within_one_time_pattern(s.base, Duration::minutes(52), Duration::minutes(1));
            for (n, start) in [-50.0, -33.0, -16.0, 1.0].into_iter().enumerate() {
                if n == 3 {
                    s.steps.push(Step::AdoptRule { action_type: "cache_flush" });
                }
                s.event(
                    start - 2.0,
                    "cache-warmer",
                    "cache_flush",
                    "cache-cluster",
                    true,
                    Extra { tool: Some("redis_flush"), ..Extra::default() },
                );
                s.event(
                    start,
                    "api-gateway",
                    "cache_read",
                    "cache-cluster",
                    false,
                    Extra {
                        tool: Some("redis_get"),
                        error: Some(("CACHE_STAMPEDE", "cache-cluster overloaded after flush")),
                        ..Extra::default()
                    },
                );
                if n < 3 {
                    s.event(
                        start + 4.0,
                        "api-gateway",
                        "cache_read",
                        "cache-cluster",
                        true,
                        Extra { tool: Some("redis_get"), ..Extra::default() },
                    );
                }
                s.pause(1);
            }
        }
        Scenario::LegacySentinel => {
            for _ in 0..rng.random_range(1..=3) {
                s.steps.push(Step::RawRun(json!({
                    "goal": "nightly invoice export",
                    "agent_id": LEGACY_AGENT_ID,
                    "actor_type": "SYSTEM",
                    "origin_system_id": LEGACY_ORIGIN_SYSTEM_ID,
                    "source": "API",
                    "provider_type": "internal",
                    "risk_level": "low",
                })));
            }
        }
        Scenario::SequenceGap => {
            let first = (round as i64) * 100 + 1;
            for (i, seq) in [first, first + 1, first + 2, first + 6].into_iter().enumerate() {
                s.event(
                    -4.0 + i as f64,
                    "report-generator",
                    "export",
                    "reports-db",
                    true,
                    Extra { tool: Some("sql"), seq: Some(seq), ..Extra::default() },
                );
            }
            s.pause(1);
            s.event(
                0.0,
                "report-generator",
                "export",
                "reports-db",
                false,
                Extra {
                    tool: Some("sql"),
                    seq: Some(first + 7),
                    error: Some(("EXPORT_FAILED", "export aborted: reports-db read timeout")),
                    ..Extra::default()
                },
            );
        }
    }
    s.steps
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn all(seed: u64) -> Vec<Step> {
        let at = DateTime::parse_from_rfc3339("2026-11-22T03:00:00Z").unwrap().with_timezone(&Utc);
        let mut rng = StdRng::seed_from_u64(seed);
        Scenario::ALL.iter().flat_map(|s| script(*s, seed, 0, at, &mut rng)).collect()
    }

    /// The repeat pattern's four occurrences share a time pattern whenever
    /// the day is played: at 09:20 on a Monday, all of them before 09:00.
    #[test]
    fn the_repeats_never_straddle_the_start_of_business_hours() {
        let at = |s: &str| DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc);
        let (before, after) = (Duration::minutes(52), Duration::minutes(1));
        let moved = within_one_time_pattern(at("2026-11-23T09:20:00Z"), before, after);
        assert_eq!(moved, at("2026-11-23T08:58:00Z"));
        for t in ["2026-11-23T14:00:00Z", "2026-11-23T09:53:00Z", "2026-11-22T03:00:00Z"] {
            assert_eq!(within_one_time_pattern(at(t), before, after), at(t), "{t}: nothing to move");
        }
        let evening = within_one_time_pattern(at("2026-11-23T18:30:00Z"), before, after);
        assert_eq!(evening, at("2026-11-23T17:58:00Z"));
    }

    #[test]
    fn a_seed_replays_the_same_day_and_another_seed_does_not() {
        assert_eq!(all(7), all(7));
        assert_ne!(all(7), all(8));
    }

    #[test]
    fn every_event_is_attributed_and_ids_are_unique() {
        let steps = all(1);
        let mut ids = std::collections::BTreeSet::new();
        for step in &steps {
            if let Step::Event(e) = step {
                assert!(ids.insert(e["event_id"].as_str().unwrap().to_owned()), "{e}");
                for field in ["agent_id", "actor_type", "origin_system_id"] {
                    assert!(e[field].is_string(), "{field} in {e}");
                }
                assert_eq!(e["actor_type"] == "HUMAN", e["actor_id"].is_string(), "{e}");
            }
        }
        assert!(ids.len() > 25);
    }
}
