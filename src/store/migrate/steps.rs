//! Every schema migration this binary knows, in order, with its phase and
//! its down step. The SQL lives in `src/store/migrations/<database>/`:
//! `NNNN_name.sql` applies it, `NNNN_name.down.sql` undoes it.
//!
//! **Expand, then contract.** A release's migrations only *expand* the
//! schema (new tables, new nullable or defaulted columns, new indexes,
//! constraints new rows already meet), so that the release before it keeps
//! serving the same database during a rolling upgrade and after a rollback
//! of the binaries. What removes or narrows something the release before
//! still uses is a *contract* migration, shipped one release later, once no
//! server of the older release is left: a binary serves a database that
//! holds newer expand migrations, never one that holds a newer contract.
//!
//! A down file starts with what undoing the migration cannot give back:
//! `-- loses: TABLE` (its rows) or `-- loses: TABLE WHERE PREDICATE` (the
//! values of a dropped column). `mandate migrate down` refuses to lose
//! rows that exist unless forced. A migration that cannot be undone says
//! why in `-- irreversible: REASON` and has no statements; `down` stops
//! there.

/// Whether the release before can still serve the schema once it is applied.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Adds only: the release before keeps working on the schema.
    Expand,
    /// Removes or narrows what the release before uses: applied once no
    /// server of that release is left.
    Contract,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Expand => "expand",
            Phase::Contract => "contract",
        }
    }

    pub fn parse(text: &str) -> Option<Phase> {
        match text {
            "expand" => Some(Phase::Expand),
            "contract" => Some(Phase::Contract),
            _ => None,
        }
    }
}

/// One migration as this binary ships it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Step {
    pub version: i64,
    pub description: &'static str,
    pub phase: Phase,
    pub up: &'static str,
    pub down: &'static str,
}

macro_rules! step {
    ($dialect:literal, $version:literal, $file:literal, $description:literal, $phase:ident) => {
        Step {
            version: $version,
            description: $description,
            phase: Phase::$phase,
            up: include_str!(concat!("../migrations/", $dialect, "/", $file, ".sql")),
            down: include_str!(concat!("../migrations/", $dialect, "/", $file, ".down.sql")),
        }
    };
}

macro_rules! steps {
    ($dialect:literal) => {
        &[
            step!($dialect, 1, "0001_runs", "runs", Expand),
            step!($dialect, 2, "0002_incidents", "incidents", Expand),
            step!($dialect, 3, "0003_intervention_index", "intervention index", Expand),
            step!($dialect, 4, "0004_routing", "routing", Expand),
            step!($dialect, 5, "0005_paging", "paging", Expand),
            step!($dialect, 6, "0006_replicas", "replicas", Expand),
            step!($dialect, 7, "0007_append_only", "append only", Expand),
            step!($dialect, 8, "0008_record", "record", Expand),
            step!($dialect, 9, "0009_revocations", "revocations", Expand),
            step!($dialect, 10, "0010_nested_calls", "nested calls", Expand),
            step!($dialect, 11, "0011_learning", "learning", Expand),
            step!($dialect, 12, "0012_rollout", "rollout", Expand),
            step!($dialect, 13, "0013_positions", "positions", Expand),
            step!($dialect, 14, "0014_run_records", "run records", Expand),
            step!($dialect, 15, "0015_refusals", "refusals", Expand),
            step!($dialect, 16, "0016_stops", "stops", Expand),
            step!($dialect, 17, "0017_resolutions", "resolutions", Expand),
            step!($dialect, 18, "0018_silences", "silences", Expand),
            step!($dialect, 19, "0019_merges", "merges", Expand),
            step!($dialect, 20, "0020_routing_silences", "routing silences", Expand),
            step!($dialect, 21, "0021_agent_sdks", "agent sdks", Expand),
            step!($dialect, 22, "0022_approvals", "approvals", Expand),
            step!($dialect, 23, "0023_degradations", "degradations", Expand),
            step!($dialect, 24, "0024_servers", "servers", Expand),
        ]
    };
}

pub const SQLITE: &[Step] = steps!("sqlite");
pub const POSTGRES: &[Step] = steps!("postgres");

/// What a down step says about itself, read from its leading comments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownStep {
    /// Tables whose rows (or, with a predicate, whose dropped values) it
    /// drops, with the `WHERE` predicate when only some rows hold them.
    pub loses: Vec<(String, Option<String>)>,
    /// Why it cannot be undone at all.
    pub irreversible: Option<String>,
}

impl DownStep {
    pub fn read(sql: &str) -> DownStep {
        let mut loses = Vec::new();
        let mut irreversible = None;
        for line in sql.lines() {
            let line = line.trim();
            if let Some(what) = line.strip_prefix("-- loses:") {
                let what = what.trim();
                match what.split_once(" WHERE ") {
                    Some((table, predicate)) => {
                        loses.push((table.trim().to_owned(), Some(predicate.trim().to_owned())))
                    }
                    None => loses.push((what.to_owned(), None)),
                }
            } else if let Some(reason) = line.strip_prefix("-- irreversible:") {
                irreversible = Some(reason.trim().to_owned());
            }
        }
        DownStep { loses, irreversible }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_databases_know_the_same_migrations_each_with_a_down_step() {
        assert_eq!(SQLITE.len(), POSTGRES.len());
        for (i, (s, p)) in SQLITE.iter().zip(POSTGRES).enumerate() {
            assert_eq!(s.version, i as i64 + 1, "versions run 1, 2, 3 … without gaps");
            assert_eq!((s.version, s.description, s.phase), (p.version, p.description, p.phase));
            for step in [s, p] {
                let down = DownStep::read(step.down);
                let statements = super::super::locks::statements(step.down);
                assert!(
                    down.irreversible.is_some() == statements.is_empty(),
                    "{:04}: a down step either undoes it or says why it cannot",
                    step.version
                );
            }
        }
    }

    #[test]
    fn a_down_step_names_what_it_loses() {
        let down =
            DownStep::read("-- loses: degradations\n-- loses: incidents WHERE resolution IS NOT NULL\nDROP TABLE x;");
        assert_eq!(
            down.loses,
            vec![("degradations".into(), None), ("incidents".into(), Some("resolution IS NOT NULL".into()))]
        );
        assert_eq!(
            DownStep::read("-- irreversible: the data is gone\n").irreversible.as_deref(),
            Some("the data is gone")
        );
    }
}
