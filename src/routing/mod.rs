//! Routing: who is told about an incident, on which channel and when
//! (seed 004 Part E). The configuration (`config`) and the decision it gives
//! for an incident (`decision`) are plain data and plain functions; so are
//! the critical points that gate an agent's action (`critical`).

mod config;
mod critical;
mod decision;

pub use config::{
    BusinessHours, Freeze, Level, Match, OnCall, Override, Resolved, Routing, RoutingDocument, RoutingError,
    RoutingSilence, Rule, SOFT_RULE_CAP, Schedule, SkipTo, parse_duration,
};
pub use critical::{ActionInput, AgentHistory, CriticalPoint, DEFAULT_TIMEOUT as DEFAULT_GATE_TIMEOUT, NewAgent};
pub use decision::RoutingInput;

/// The built-in routing file: used when none is given.
pub const BUILTIN: &str = include_str!("default.toml");

/// Moments as the routing file writes them (see [`crate::moment`]).
#[cfg(test)]
mod moments {
    use crate::routing::Routing;
    use chrono::{DateTime, Utc};

    fn at(s: &str) -> DateTime<Utc> {
        s.parse().unwrap()
    }

    /// The built-in routing with `section` added.
    fn read(section: &str) -> Result<Routing, String> {
        Routing::from_toml(&format!("{}\n{section}\n", super::BUILTIN), "routing.toml").map_err(|e| e.to_string())
    }

    #[test]
    fn dates_are_read_quoted_unquoted_or_as_a_day_and_a_missing_offset_is_named() {
        for date in [
            "\"2026-12-14T00:00:00Z\"",
            "2026-12-14T00:00:00Z",
            "2026-12-14T01:00:00+01:00",
            "2026-12-14",
            "\"2026-12-14\"",
        ] {
            let routing =
                read(&format!("[attribution]\nhard_fail_begins = {date}")).unwrap_or_else(|e| panic!("{date}: {e}"));
            let plan = routing.document().attribution.clone().unwrap();
            assert_eq!(plan.hard_fail_begins, Some(at("2026-12-14T00:00:00Z")), "{date}");
            // A freeze is written the same way.
            let routing = read(&format!("[[change_freeze]]\nfrom = {date}\nuntil = 2026-12-15"))
                .unwrap_or_else(|e| panic!("{date}: {e}"));
            assert_eq!(routing.document().change_freeze[0].from, at("2026-12-14T00:00:00Z"), "{date}");
        }
        let e = read("[attribution]\nhard_fail_begins = 2026-12-14T00:00:00").unwrap_err();
        assert!(e.contains("attribution.hard_fail_begins") && e.contains("has no offset: add Z"), "{e}");
        let e = read("[attribution]\nsoft_fail_begins = \"next monday\"").unwrap_err();
        assert!(e.contains("attribution.soft_fail_begins") && e.contains("\"next monday\" is not a date"), "{e}");
        let e = read("[attribution]\nshadow_begins = 12").unwrap_err();
        assert!(e.contains("attribution.shadow_begins") && e.contains("expected a date and time"), "{e}");
        let e = read("[[change_freeze]]\nfrom = 2026-12-14T09:00:00\nuntil = 2026-12-15").unwrap_err();
        assert!(e.contains("change_freeze[0].from") && e.contains("has no offset"), "{e}");
    }
}
