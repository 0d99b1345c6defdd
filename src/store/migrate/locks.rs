//! How long each statement of a migration locks what, as far as its text
//! says: `mandate migrate up --dry-run` prints it.

use super::super::Backend;

/// The statements of a migration, comments left out, on one line each. A
/// `;` inside `$$ … $$` or a trigger's `BEGIN … END` does not end one.
pub fn statements(sql: &str) -> Vec<String> {
    let text: Vec<&str> = sql.lines().map(|l| l.split("--").next().unwrap_or_default()).collect();
    let mut out = Vec::new();
    let mut current = String::new();
    for piece in text.join(" ").split_inclusive(';') {
        current.push_str(piece);
        let upper = current.to_uppercase();
        let in_dollars = current.matches("$$").count() % 2 == 1;
        // A trigger's body ends at `; END;` (an `END` closing a CASE inside
        // it comes before a `;` of its own statement, not after one).
        let closed = upper.trim_end().trim_end_matches(';').trim_end();
        let in_trigger = upper.trim_start().starts_with("CREATE TRIGGER")
            && upper.contains(" BEGIN ")
            && !(closed.ends_with("END") && closed[..closed.len() - 3].trim_end().ends_with(';'));
        if !in_dollars && !in_trigger {
            let statement = current.trim().trim_end_matches(';').split_whitespace().collect::<Vec<_>>().join(" ");
            if !statement.is_empty() {
                out.push(statement);
            }
            current.clear();
        }
    }
    out
}

/// What `sql` locks while it runs, as far as its statements say (PostgreSQL's
/// lock levels; SQLite locks the whole database for any write).
pub fn locks(sql: &str, backend: Backend) -> Vec<String> {
    let mut out = Vec::new();
    for statement in statements(sql) {
        let upper = statement.to_uppercase();
        let words: Vec<&str> = upper.split_whitespace().collect();
        let after =
            |w: &str| words.iter().position(|x| *x == w).and_then(|i| words.get(i + 1)).map(|t| t.to_lowercase());
        let lock = match (backend, words.first().copied(), words.get(1).copied()) {
            (Backend::Sqlite, _, _) => "the database's write lock, for the statement".to_owned(),
            (_, Some("CREATE"), Some("TABLE")) => "none on existing tables (a new table)".to_owned(),
            (_, Some("CREATE"), _) if upper.contains(" INDEX ") && upper.contains("CONCURRENTLY") => {
                "SHARE UPDATE EXCLUSIVE: writes go on".to_owned()
            }
            (_, Some("CREATE"), _) if upper.contains(" INDEX ") => format!(
                "SHARE on {} while the index is built: writes to it wait",
                after("ON").unwrap_or_else(|| "its table".into())
            ),
            (_, Some("CREATE"), _) if upper.contains(" TRIGGER ") => {
                format!("SHARE ROW EXCLUSIVE on {}: brief", after("ON").unwrap_or_else(|| "its table".into()))
            }
            // An identity or generated column fills every row: a rewrite.
            (_, Some("ALTER"), Some("TABLE"))
                if upper.contains("ADD COLUMN") && (upper.contains(" GENERATED ") || upper.contains("NEXTVAL")) =>
            {
                format!(
                    "ACCESS EXCLUSIVE on {}: rewrites the table; reads and writes wait while it runs",
                    words.get(2).map(|t| t.to_lowercase()).unwrap_or_default()
                )
            }
            (_, Some("ALTER"), Some("TABLE")) if upper.contains("NOT VALID") || upper.contains("ADD COLUMN") => {
                format!(
                    "ACCESS EXCLUSIVE on {}: brief (no rewrite, no scan)",
                    words.get(2).map(|t| t.to_lowercase()).unwrap_or_default()
                )
            }
            (_, Some("ALTER"), Some("TABLE")) => format!(
                "ACCESS EXCLUSIVE on {}: reads and writes wait while it runs",
                words.get(2).map(|t| t.to_lowercase()).unwrap_or_default()
            ),
            (_, Some("UPDATE" | "DELETE" | "INSERT"), _) => "ROW EXCLUSIVE: the rows it changes".to_owned(),
            (_, Some(w), _) => format!("{}: as its statement takes", w.to_lowercase()),
            (_, None, _) => continue,
        };
        let head: String = statement.chars().take(60).collect();
        out.push(format!("{head}{} → {lock}", if statement.chars().count() > 60 { "…" } else { "" }));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_statement_is_named_with_its_lock() {
        let sql = "-- a comment; with a semicolon\nCREATE TABLE t (a INT);\n\
                   CREATE INDEX ix_t ON events (a);\nALTER TABLE events ADD CONSTRAINT c CHECK (a > 0) NOT VALID;\n\
                   CREATE TRIGGER trg BEFORE UPDATE ON audit_log BEGIN SELECT RAISE(ABORT, 'no'); END;\n\
                   CREATE FUNCTION f() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'no'; END; $$ LANGUAGE plpgsql;";
        let locks = locks(sql, Backend::Postgres);
        assert_eq!(locks.len(), 5, "{locks:#?}");
        assert!(locks[0].ends_with("none on existing tables (a new table)"));
        assert!(locks[1].ends_with("SHARE on events while the index is built: writes to it wait"), "{}", locks[1]);
        assert!(locks[2].contains("ACCESS EXCLUSIVE on events: brief"), "{}", locks[2]);
        assert!(locks[3].contains("SHARE ROW EXCLUSIVE on audit_log"), "{}", locks[3]);
        assert!(locks[4].starts_with("CREATE FUNCTION f()"), "{}", locks[4]);
        let identity =
            super::locks("ALTER TABLE events ADD COLUMN seq BIGINT GENERATED ALWAYS AS IDENTITY;", Backend::Postgres);
        assert!(identity[0].ends_with("rewrites the table; reads and writes wait while it runs"), "{identity:?}");
    }

    #[test]
    fn a_case_inside_a_trigger_does_not_end_it() {
        let sql = "CREATE TRIGGER t AFTER UPDATE ON runs BEGIN INSERT INTO h VALUES (CASE WHEN 1 THEN 1 ELSE 0 END); END;\nDROP TABLE x;";
        assert_eq!(statements(sql).len(), 2, "{:#?}", statements(sql));
    }
}
