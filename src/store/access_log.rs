//! Who looked: reads of incident detail and of the audit log by people.

use super::{Store, StoreError, from_millis, to_millis};
use crate::api::{AccessEntry, Role};
use sqlx::Row;

impl Store {
    /// Appends reads, in one transaction.
    pub async fn record_access(&self, entries: &[AccessEntry]) -> Result<(), StoreError> {
        let mut tx = self.write.begin().await?;
        for e in entries {
            sqlx::query("INSERT INTO access_log (at, principal, role, what, target) VALUES ($1, $2, $3, $4, $5)")
                .bind(to_millis(e.at))
                .bind(e.principal.clone())
                .bind(e.role.as_str())
                .bind(e.what.clone())
                .bind(e.target.clone())
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Newest first: `limit` entries with an id below `before`, of
    /// `principal` and on `target` when given.
    pub async fn access_page(
        &self,
        before: Option<i64>,
        limit: u32,
        principal: Option<&str>,
        target: Option<&str>,
    ) -> Result<Vec<AccessEntry>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, at, principal, role, what, target FROM access_log \
             WHERE (CAST($1 AS BIGINT) IS NULL OR id < $1) \
             AND (CAST($2 AS TEXT) IS NULL OR principal = $2) \
             AND (CAST($3 AS TEXT) IS NULL OR target = $3) \
             ORDER BY id DESC LIMIT $4",
        )
        .bind(before)
        .bind(principal.map(str::to_owned))
        .bind(target.map(str::to_owned))
        .bind(i64::from(limit))
        .fetch_all(&self.read)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(AccessEntry {
                    id: r.try_get("id")?,
                    at: from_millis(r.try_get("at")?),
                    principal: r.try_get("principal")?,
                    role: Role::parse(&r.try_get::<String, _>("role")?).unwrap_or(Role::Viewer),
                    what: r.try_get("what")?,
                    target: r.try_get("target")?,
                })
            })
            .collect()
    }
}
