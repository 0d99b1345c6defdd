//! Revoked tokens, shared by the servers of one database.

use super::{Store, StoreError, to_millis};
use chrono::{DateTime, Utc};
use sqlx::{Any, Row, Transaction};
use std::collections::HashSet;

impl Store {
    /// Every revoked token's digest.
    pub async fn revoked_tokens(&self) -> Result<HashSet<[u8; 32]>, StoreError> {
        let rows = sqlx::query("SELECT sha256 FROM revoked_tokens").fetch_all(&self.read).await?;
        let mut digests = HashSet::with_capacity(rows.len());
        for row in rows {
            let mut digest = [0u8; 32];
            if hex::decode_to_slice(row.try_get::<String, _>("sha256")?, &mut digest).is_ok() {
                digests.insert(digest);
            }
        }
        Ok(digests)
    }

    /// Records `revoked` (name, hex digest); the ones not known before.
    pub(crate) async fn record_revocations(
        &self,
        tx: &mut Transaction<'_, Any>,
        revoked: &[(String, String)],
        at: DateTime<Utc>,
    ) -> Result<Vec<(String, String)>, StoreError> {
        let mut fresh = Vec::new();
        for (name, sha256) in revoked {
            let inserted = sqlx::query(
                "INSERT INTO revoked_tokens (sha256, name, revoked_at) VALUES ($1, $2, $3) ON CONFLICT (sha256) DO NOTHING",
            )
            .bind(sha256.clone())
            .bind(name.clone())
            .bind(to_millis(at))
            .execute(&mut **tx)
            .await?
            .rows_affected();
            if inserted > 0 {
                fresh.push((name.clone(), sha256.clone()));
            }
        }
        Ok(fresh)
    }
}
