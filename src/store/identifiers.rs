//! Identifiers already stored that this version would refuse (see
//! [`crate::api::identifier`]): written by an older version, or straight
//! into the database. `mandate audit verify` reports each.

use super::{Store, StoreError};
use sqlx::Row;

/// The identifier columns read, as `(table, column)`.
const COLUMNS: [(&str, &str); 14] = [
    ("events", "event_id"),
    ("events", "agent_id"),
    ("events", "actor_id"),
    ("events", "origin_system_id"),
    ("events", "run_id"),
    ("events", "resource"),
    ("events", "tool"),
    ("runs", "run_id"),
    ("runs", "agent_id"),
    ("runs", "actor_id"),
    ("runs", "origin_system_id"),
    ("agents", "agent_id"),
    ("interventions", "agent_id"),
    ("incident_resources", "resource"),
];

/// A stored identifier that would be refused today.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookalikeIdentifier {
    pub table: &'static str,
    pub column: &'static str,
    /// The value with every refused character written as `\u{…}`.
    pub shown: String,
    /// Why: the refusal's message.
    pub problem: String,
}

impl Store {
    /// Every distinct stored identifier that this version would refuse.
    pub async fn lookalike_identifiers(&self) -> Result<Vec<LookalikeIdentifier>, StoreError> {
        let mut found = Vec::new();
        for (table, column) in COLUMNS {
            let sql = format!("SELECT DISTINCT {column} AS id FROM {table} WHERE {column} IS NOT NULL");
            let rows = match sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(&self.read).await {
                Ok(rows) => rows,
                // A column this schema does not have holds nothing to report.
                Err(sqlx::Error::Database(_)) => continue,
                Err(e) => return Err(e.into()),
            };
            for row in rows {
                let value: String = row.try_get("id")?;
                if let Some(refusal) = crate::api::identifier::refusal(&value) {
                    let shown = value
                        .chars()
                        .map(|c| match crate::api::identifier::forbidden(c) {
                            Some(_) => format!("\\u{{{:04X}}}", c as u32),
                            None => c.to_string(),
                        })
                        .collect();
                    found.push(LookalikeIdentifier { table, column, shown, problem: refusal.message(column) });
                }
            }
        }
        Ok(found)
    }
}
