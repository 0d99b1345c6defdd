use crate::api::Role;
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::collections::HashMap;

/// Prefix that makes a leaked token easy to recognise (and to scan for).
const TOKEN_PREFIX: &str = "mdt_";

/// A new random token: `mdt_` and 64 hex digits (256 bits).
pub fn generate_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!("{TOKEN_PREFIX}{}", hex::encode(bytes))
}

/// What the server stores instead of the token.
pub fn token_digest(token: &str) -> [u8; 32] {
    Sha256::digest(token.as_bytes()).into()
}

/// The authenticated caller behind a token.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    pub name: String,
    pub role: Role,
    /// The agents an agent token may act for: ids, or prefixes ending in
    /// `*`. None: any agent.
    pub agents: Option<Vec<String>>,
    /// SHA-256 of the client certificate (DER) the token must come with.
    pub client_cert: Option<[u8; 32]>,
}

impl Principal {
    /// Whether this principal may post runs and events as `agent_id`.
    pub fn may_act_for(&self, agent_id: &str) -> bool {
        match &self.agents {
            None => true,
            Some(patterns) => patterns.iter().any(|p| crate::api::pattern::matches(p, agent_id)),
        }
    }
}

/// Token digests to principals, for lookups on every request.
#[derive(Debug, Clone, Default)]
pub struct TokenTable {
    by_digest: HashMap<[u8; 32], Principal>,
}

impl TokenTable {
    pub fn insert(&mut self, digest: [u8; 32], principal: Principal) {
        self.by_digest.insert(digest, principal);
    }

    /// Adds a plaintext token: for tests and the in-process demo.
    pub fn with_token(mut self, token: &str, name: &str, role: Role) -> Self {
        self.insert(token_digest(token), Principal { name: name.to_owned(), role, agents: None, client_cert: None });
        self
    }

    pub fn authenticate(&self, token: &str) -> Option<&Principal> {
        self.by_digest.get(&token_digest(token))
    }

    /// The principal of a token, by its digest.
    pub fn get(&self, digest: &[u8; 32]) -> Option<&Principal> {
        self.by_digest.get(digest)
    }

    pub fn len(&self) -> usize {
        self.by_digest.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_digest.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_agent_token_acts_for_its_ids_and_prefixes_only() {
        let bound = Principal {
            name: "fleet".into(),
            role: Role::Agent,
            agents: Some(vec!["deployer".into(), "payments-*".into()]),
            client_cert: None,
        };
        assert!(bound.may_act_for("deployer") && bound.may_act_for("payments-db-migrator"));
        assert!(!bound.may_act_for("deployer-2") && !bound.may_act_for("payment") && !bound.may_act_for(""));
        assert!(Principal { agents: None, ..bound }.may_act_for("anyone"));
    }

    #[test]
    fn tokens_are_long_random_and_recognisable() {
        let (a, b) = (generate_token(), generate_token());
        assert_ne!(a, b);
        assert!(a.starts_with("mdt_") && a.len() == 4 + 64, "{a}");
    }

    #[test]
    fn only_the_exact_token_authenticates() {
        let table = TokenTable::default().with_token("mdt_abc", "alice", Role::Responder);
        assert_eq!(table.authenticate("mdt_abc").unwrap().name, "alice");
        assert!(table.authenticate("mdt_abd").is_none());
        assert!(table.authenticate("").is_none());
    }
}
