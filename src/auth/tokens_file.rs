use super::{Principal, TokenTable, generate_token, token_digest};
use crate::api::Role;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// `$XDG_CONFIG_HOME/mandate/tokens.toml`
pub fn default_tokens_path() -> PathBuf {
    dirs::config_dir().unwrap_or_else(|| PathBuf::from(".")).join("mandate").join("tokens.toml")
}

/// One token as stored: its name, role and digest, never the token itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokenRecord {
    pub name: String,
    pub role: Role,
    /// Hex SHA-256 of the token.
    pub sha256: String,
    pub created_at: DateTime<Utc>,
    /// Agent tokens: the agents it may act for (ids, or prefixes ending in
    /// `*`); absent: any agent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub agents: Option<Vec<String>>,
    /// Hex SHA-256 of the client certificate (DER) the token must come
    /// with, over TLS (`mandate serve --tls-client-ca`); absent: none needed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_cert: Option<String>,
}

/// A revoked token: kept so every server sharing a database refuses it
/// (a server reading this file shares it through the database), even one
/// whose own tokens file still holds the token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RevokedRecord {
    pub name: String,
    /// Hex SHA-256 of the token.
    pub sha256: String,
    pub revoked_at: DateTime<Utc>,
}

/// The tokens file: `[[tokens]]` tables of [`TokenRecord`], and the
/// `[[revoked]]` ones.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TokensFile {
    #[serde(default)]
    pub tokens: Vec<TokenRecord>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub revoked: Vec<RevokedRecord>,
}

#[derive(Debug, thiserror::Error)]
pub enum TokensFileError {
    #[error("cannot read tokens file {path}: {source}")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("cannot write tokens file {path}: {source}")]
    Write { path: PathBuf, source: std::io::Error },
    #[error("tokens file {path} is not valid: {message}")]
    Invalid { path: PathBuf, message: String },
    #[error("a token named {0:?} already exists; revoke it first or choose another name")]
    DuplicateName(String),
    #[error("no token named {0:?}")]
    UnknownName(String),
    #[error("{0:?} is not an agent id, or a prefix of one ending in '*'")]
    BadAgent(String),
    #[error("token name must be 1-64 characters of letters, digits, '.', '_', '-' or '@': {0:?}")]
    BadName(String),
}

/// An agent id, or a prefix of one ending in `*`.
fn valid_agent_pattern(p: &str) -> bool {
    let id = p.strip_suffix('*').unwrap_or(p);
    !id.is_empty() && id.len() <= 256 && crate::api::pattern::well_formed(p) && !id.chars().any(char::is_control)
}

fn valid_name(name: &str) -> bool {
    (1..=64).contains(&name.len()) && name.chars().all(|c| c.is_ascii_alphanumeric() || "._-@".contains(c))
}

impl TokensFile {
    /// A missing file is an empty one: the server starts, and says no one can log in.
    pub fn load(path: &Path) -> Result<TokensFile, TokensFileError> {
        let text = match std::fs::read_to_string(path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(TokensFile::default()),
            Err(source) => {
                return Err(TokensFileError::Read { path: path.to_owned(), source });
            }
        };
        let invalid = |message: String| TokensFileError::Invalid { path: path.to_owned(), message };
        let file: TokensFile = toml::from_str(&text).map_err(|e| invalid(e.to_string()))?;
        for (i, record) in file.revoked.iter().enumerate() {
            if record.sha256.len() != 64 || !record.sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
                return Err(invalid(format!("revoked[{i}].sha256 must be 64 hex digits")));
            }
        }
        for (i, record) in file.tokens.iter().enumerate() {
            if !valid_name(&record.name) {
                return Err(invalid(format!("tokens[{i}].name {:?} is not a valid name", record.name)));
            }
            let hex64 = |h: &str| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit());
            if !hex64(&record.sha256) {
                return Err(invalid(format!("tokens[{i}].sha256 must be 64 hex digits")));
            }
            if record.client_cert.as_deref().is_some_and(|c| !hex64(c)) {
                return Err(invalid(format!("tokens[{i}].client_cert must be 64 hex digits")));
            }
            // A name appears again only after a rotation: the same principal.
            if file.tokens[..i]
                .iter()
                .any(|r| r.name == record.name && (r.role != record.role || r.agents != record.agents))
            {
                return Err(invalid(format!(
                    "tokens[{i}].name {:?} appears twice with different roles or agents",
                    record.name
                )));
            }
            if let Some(agents) = &record.agents
                && let Some(bad) = agents.iter().find(|a| !valid_agent_pattern(a))
            {
                return Err(invalid(format!("tokens[{i}].agents: {bad:?} is not an agent id or prefix*")));
            }
        }
        Ok(file)
    }

    /// Writes atomically (temporary file, then rename), readable by the owner only.
    pub fn save(&self, path: &Path) -> Result<(), TokensFileError> {
        let write_err = |source| TokensFileError::Write { path: path.to_owned(), source };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(write_err)?;
        }
        let text = toml::to_string_pretty(self).expect("tokens serialise");
        let tmp = path.with_extension("toml.tmp");
        {
            use std::io::Write;
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create(true).truncate(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options.open(&tmp).map_err(write_err)?;
            file.write_all(text.as_bytes()).map_err(write_err)?;
            file.sync_all().map_err(write_err)?;
        }
        std::fs::rename(&tmp, path).map_err(write_err)
    }

    /// Adds a token and returns it: the only time it is ever visible.
    /// `agents` binds an agent token to the agents it may act for.
    pub fn create(
        &mut self,
        name: &str,
        role: Role,
        agents: Option<Vec<String>>,
        client_cert: Option<String>,
    ) -> Result<String, TokensFileError> {
        if !valid_name(name) {
            return Err(TokensFileError::BadName(name.to_owned()));
        }
        if self.tokens.iter().any(|r| r.name == name) {
            return Err(TokensFileError::DuplicateName(name.to_owned()));
        }
        if let Some(bad) = agents.iter().flatten().find(|a| !valid_agent_pattern(a)) {
            return Err(TokensFileError::BadAgent(bad.clone()));
        }
        Ok(self.push(name, role, agents, client_cert))
    }

    fn push(&mut self, name: &str, role: Role, agents: Option<Vec<String>>, client_cert: Option<String>) -> String {
        let token = generate_token();
        self.tokens.push(TokenRecord {
            name: name.to_owned(),
            role,
            sha256: hex::encode(token_digest(&token)),
            created_at: Utc::now(),
            agents,
            client_cert,
        });
        token
    }

    /// A new token for an existing name, with its role and agents; the
    /// previous ones stay valid until `revoke_previous`, so clients can
    /// move over without a gap. The new token, shown once.
    pub fn rotate(&mut self, name: &str) -> Result<String, TokensFileError> {
        let current = self.tokens.iter().rev().find(|r| r.name == name).cloned();
        let current = current.ok_or_else(|| TokensFileError::UnknownName(name.to_owned()))?;
        Ok(self.push(name, current.role, current.agents, current.client_cert))
    }

    /// Revokes every token of `name`.
    pub fn revoke(&mut self, name: &str) -> Result<(), TokensFileError> {
        if !self.tokens.iter().any(|r| r.name == name) {
            return Err(TokensFileError::UnknownName(name.to_owned()));
        }
        self.revoke_where(|r| r.name == name);
        Ok(())
    }

    /// Moves the tokens `which` picks to the revoked ones.
    fn revoke_where(&mut self, which: impl Fn(&TokenRecord) -> bool) -> usize {
        let now = Utc::now();
        let (gone, kept): (Vec<TokenRecord>, Vec<TokenRecord>) = self.tokens.drain(..).partition(|r| which(r));
        self.tokens = kept;
        let n = gone.len();
        self.revoked.extend(gone.into_iter().map(|r| RevokedRecord {
            name: r.name,
            sha256: r.sha256,
            revoked_at: now,
        }));
        n
    }

    /// Revokes the tokens of `name` a rotation replaced, keeping the newest;
    /// how many went.
    pub fn revoke_previous(&mut self, name: &str) -> Result<usize, TokensFileError> {
        let newest = self.tokens.iter().rposition(|r| r.name == name);
        let newest = newest.ok_or_else(|| TokensFileError::UnknownName(name.to_owned()))?;
        let keep = self.tokens[newest].sha256.clone();
        Ok(self.revoke_where(|r| r.name == name && r.sha256 != keep))
    }

    /// The revoked tokens, as (name, hex digest).
    pub fn revoked_digests(&self) -> Vec<(String, String)> {
        self.revoked.iter().map(|r| (r.name.clone(), r.sha256.to_ascii_lowercase())).collect()
    }

    pub fn table(&self) -> TokenTable {
        let mut table = TokenTable::default();
        for record in &self.tokens {
            let mut digest = [0u8; 32];
            if hex::decode_to_slice(&record.sha256, &mut digest).is_ok() {
                let principal = Principal {
                    name: record.name.clone(),
                    role: record.role,
                    agents: record.agents.clone(),
                    client_cert: record.client_cert.as_deref().and_then(|hex| {
                        let mut digest = [0u8; 32];
                        hex::decode_to_slice(hex, &mut digest).ok().map(|_| digest)
                    }),
                };
                table.insert(digest, principal);
            }
        }
        table
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_tokens_survive_a_round_trip_and_only_their_digest_is_stored() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nested/tokens.toml");
        let mut file = TokensFile::default();
        let token = file.create("alice", Role::Responder, None, None).unwrap();
        file.save(&path).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(!text.contains(&token), "the plaintext token must never be written");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let loaded = TokensFile::load(&path).unwrap();
        let principal = loaded.table().authenticate(&token).cloned().unwrap();
        assert_eq!(
            principal,
            Principal { name: "alice".into(), role: Role::Responder, agents: None, client_cert: None }
        );
    }

    #[test]
    fn names_are_unique_and_revocable() {
        let mut file = TokensFile::default();
        file.create("bob", Role::Viewer, None, None).unwrap();
        assert!(matches!(file.create("bob", Role::Admin, None, None), Err(TokensFileError::DuplicateName(_))));
        assert!(matches!(file.create("bad name", Role::Admin, None, None), Err(TokensFileError::BadName(_))));
        file.revoke("bob").unwrap();
        assert!(matches!(file.revoke("bob"), Err(TokensFileError::UnknownName(_))));
    }

    #[test]
    fn a_rotation_keeps_both_tokens_until_the_previous_is_revoked() {
        let mut file = TokensFile::default();
        let old = file.create("fleet", Role::Agent, Some(vec!["deployer".into()]), None).unwrap();
        let new = file.rotate("fleet").unwrap();
        let table = file.table();
        let (a, b) = (table.authenticate(&old).cloned().unwrap(), table.authenticate(&new).cloned().unwrap());
        assert_eq!(a, b, "the same principal, bound to the same agents");
        assert_eq!(file.revoke_previous("fleet").unwrap(), 1);
        let table = file.table();
        assert!(table.authenticate(&old).is_none() && table.authenticate(&new).is_some());
        assert!(matches!(
            file.create("x", Role::Agent, Some(vec!["a*b".into()]), None),
            Err(TokensFileError::BadAgent(_))
        ));
    }

    #[test]
    fn a_broken_file_is_an_error_naming_the_file_and_the_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tokens.toml");
        std::fs::write(
            &path,
            "[[tokens]]\nname = \"x\"\nrole = \"root\"\nsha256 = \"00\"\ncreated_at = \"2026-01-01T00:00:00Z\"\n",
        )
        .unwrap();
        let err = TokensFile::load(&path).unwrap_err().to_string();
        assert!(err.contains("tokens.toml") && err.contains("root"), "{err}");
        std::fs::write(
            &path,
            "[[tokens]]\nname = \"x\"\nrole = \"admin\"\nsha256 = \"00\"\ncreated_at = \"2026-01-01T00:00:00Z\"\n",
        )
        .unwrap();
        let err = TokensFile::load(&path).unwrap_err().to_string();
        assert!(err.contains("tokens[0].sha256"), "{err}");
        assert!(TokensFile::load(&dir.path().join("absent.toml")).unwrap().tokens.is_empty());
    }
}
