//! The servers serving this database and the release each runs (0024):
//! what a rolling upgrade looks like from the database.

use super::{Store, StoreError};
use chrono::{DateTime, Utc};
use sqlx::Row;

/// A row not refreshed for this long is a server that died.
pub const GONE_AFTER_MS: i64 = 120_000;

/// A server seen on the database.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerSeen {
    pub name: String,
    pub version: String,
    pub api: String,
    pub started_at: i64,
    pub seen_at: i64,
}

impl Store {
    /// Says this server is here, running `version` (written at start and
    /// every 30 s).
    pub async fn server_here(
        &self,
        name: &str,
        version: &str,
        api: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let now = now.timestamp_millis();
        sqlx::query(
            "INSERT INTO servers (name, version, api, started_at, seen_at) VALUES ($1, $2, $3, $4, $4) \
             ON CONFLICT (name) DO UPDATE SET version = excluded.version, api = excluded.api, seen_at = excluded.seen_at",
        )
        .bind(name)
        .bind(version)
        .bind(api)
        .bind(now)
        .execute(&self.write)
        .await?;
        Ok(())
    }

    /// This server stopped.
    pub async fn server_gone(&self, name: &str) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM servers WHERE name = $1").bind(name).execute(&self.write).await?;
        Ok(())
    }

    /// The servers seen in the last two minutes, the longest running first.
    pub async fn servers_seen(&self, now: DateTime<Utc>) -> Result<Vec<ServerSeen>, StoreError> {
        let rows = sqlx::query("SELECT name, version, api, started_at, seen_at FROM servers WHERE seen_at > $1")
            .bind(now.timestamp_millis() - GONE_AFTER_MS)
            .fetch_all(&self.read)
            .await?;
        let mut seen = rows
            .into_iter()
            .map(|r| {
                Ok(ServerSeen {
                    name: r.try_get("name")?,
                    version: r.try_get("version")?,
                    api: r.try_get("api")?,
                    started_at: r.try_get("started_at")?,
                    seen_at: r.try_get("seen_at")?,
                })
            })
            .collect::<Result<Vec<_>, sqlx::Error>>()?;
        seen.sort_by_key(|s| (s.started_at, s.name.clone()));
        Ok(seen)
    }
}
