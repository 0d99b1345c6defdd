//! Revoked tokens, the same on every server of a database: a server whose
//! tokens file revokes a token records it in the database, as a
//! configuration change, and every server refuses it from then on (the
//! others hear of it by the change feed), whatever their own file says.

use super::Desk;
use super::change::Committed;
use crate::store::StoreError;
use chrono::Utc;

/// Who records a revocation in the audit log.
const TOKENS_FILE: &str = "mandate serve: tokens file";

impl Desk {
    /// Whether the token with this digest was revoked on any server.
    pub fn is_revoked(&self, digest: &[u8; 32]) -> bool {
        self.config.revoked.read().contains(digest)
    }

    /// Records the revocations of a tokens file (name, hex digest); how
    /// many were new. Each new one is audited.
    pub async fn share_revocations(&self, revoked: &[(String, String)]) -> Result<usize, StoreError> {
        let known = {
            let set = self.config.revoked.read();
            revoked.iter().all(|(_, sha)| {
                let mut digest = [0u8; 32];
                hex::decode_to_slice(sha, &mut digest).is_ok() && set.contains(&digest)
            })
        };
        if known {
            return Ok(0);
        }
        let (mut state, mut tx) = self.begin_change().await?;
        let now = Utc::now();
        let fresh = self.store.record_revocations(&mut tx, revoked, now).await?;
        for (name, sha256) in &fresh {
            let details = serde_json::json!({ "sha256_prefix": &sha256[..12.min(sha256.len())] });
            self.store
                .append_audit(&mut tx, now, TOKENS_FILE, "token_revoked", &format!("token:{name}"), details)
                .await?;
        }
        let change = Committed { version: state.version, config: !fresh.is_empty(), paging: false };
        self.commit_change(&mut state, tx, change).await?;
        self.load_revocations().await?;
        Ok(fresh.len())
    }

    pub(super) async fn load_revocations(&self) -> Result<(), StoreError> {
        let revoked = self.store.revoked_tokens().await?;
        *self.config.revoked.write() = revoked;
        Ok(())
    }
}
