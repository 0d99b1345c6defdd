//! Where the console connects and how it looks: flags, then environment
//! (`MANDATE_API_URL`, `MANDATE_TOKEN`), then `$XDG_CONFIG_HOME/mandate/config.toml`.
//!
//! ```toml
//! api_url = "https://mandate.internal"
//! token_command = "pass show mandate/token"   # or token = "…", token_file = "…"
//! environment = "prod"                        # a loud banner on prod
//! theme = "dark"
//! readonly = false
//! [keys.incidents]
//! "a" = "open"
//! ```

use super::keymap::{Keymap, KeymapError};
use super::theme::{Theme, ThemeError, no_color_requested};
use std::path::{Path, PathBuf};

/// A token: never printed, never logged.
pub use crate::sdk::Secret;

/// What the command line gave.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct ConsoleArgs {
    /// The Mandate API, e.g. https://mandate.internal; several servers, comma-separated, for failover [env: MANDATE_API_URL]
    #[arg(long)]
    pub api_url: Option<String>,
    /// API token (prefer --token-file or --token-command: argv is visible to other users) [env: MANDATE_TOKEN]
    #[arg(long, hide_env_values = true)]
    pub token: Option<String>,
    /// Read the token from this file
    #[arg(long)]
    pub token_file: Option<PathBuf>,
    /// Run this command and use its output as the token, e.g. "pass show mandate"
    #[arg(long)]
    pub token_command: Option<String>,
    /// Trust only this CA (PEM) for the API's HTTPS certificate: a server with a private CA's certificate [env: MANDATE_CA_FILE]
    #[arg(long, value_name = "PEM")]
    pub ca_file: Option<PathBuf>,
    /// Config file [default: $XDG_CONFIG_HOME/mandate/config.toml]
    #[arg(long, env = "MANDATE_CONFIG")]
    pub config: Option<PathBuf>,
    /// Environment label shown in the status bar (prod gets a loud banner)
    #[arg(long)]
    pub environment: Option<String>,
    /// Theme: dark, light, high-contrast, solarized-dark, mono, or a file in <config dir>/themes
    #[arg(long)]
    pub theme: Option<String>,
    /// Never send an intervention from this session
    #[arg(long)]
    pub readonly: bool,
    /// Open this incident at once (what a page says to run)
    #[arg(long, value_name = "ID", value_parser = clap::value_parser!(i64).range(1..))]
    pub incident: Option<i64>,
    /// Draw with ASCII only, whatever the terminal claims [env: MANDATE_ASCII]
    #[arg(long)]
    pub ascii: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config file {path}: {message}")]
    File { path: String, message: String },
    #[error("{0}")]
    Token(String),
    #[error("{0}")]
    Tls(String),
    #[error(transparent)]
    Theme(#[from] ThemeError),
    #[error(transparent)]
    Keymap(#[from] KeymapError),
}

/// Everything the console needs to start.
#[derive(Debug, Clone)]
pub struct ConsoleConfig {
    pub api_url: Option<String>,
    /// The CA (PEM) the API's certificate is checked against, instead of the system's.
    pub ca_file: Option<PathBuf>,
    pub token: Option<Secret>,
    pub environment: Option<String>,
    pub theme: Theme,
    pub keymap: Keymap,
    pub readonly: bool,
    pub config_path: PathBuf,
    /// An incident to open at start.
    pub incident: Option<i64>,
    /// What the terminal can show (colour, Unicode, private modes).
    pub capabilities: super::capabilities::Capabilities,
}

pub fn default_config_path() -> PathBuf {
    dirs::config_dir().unwrap_or_else(|| PathBuf::from(".")).join("mandate").join("config.toml")
}

fn run_token_command(command: &str) -> Result<Secret, ConfigError> {
    let output = std::process::Command::new("sh")
        .args(["-c", command])
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| ConfigError::Token(format!("token command could not start: {e}")))?;
    if !output.status.success() {
        return Err(ConfigError::Token(format!("token command failed ({})", output.status)));
    }
    let token = String::from_utf8_lossy(&output.stdout).trim().to_owned();
    if token.is_empty() {
        return Err(ConfigError::Token("token command printed nothing".into()));
    }
    Ok(Secret::new(token))
}

fn read_token_file(path: &Path) -> Result<Secret, ConfigError> {
    let text =
        std::fs::read_to_string(path).map_err(|e| ConfigError::Token(format!("token file {}: {e}", path.display())))?;
    let token = text.trim().to_owned();
    if token.is_empty() {
        return Err(ConfigError::Token(format!("token file {} is empty", path.display())));
    }
    Ok(Secret::new(token))
}

impl ConsoleConfig {
    /// Resolves flags > environment > file. `env` reads an environment variable.
    pub fn resolve(args: &ConsoleArgs, env: &dyn Fn(&str) -> Option<String>) -> Result<ConsoleConfig, ConfigError> {
        let config_path = args.config.clone().unwrap_or_else(default_config_path);
        let file_err = |message: String| ConfigError::File { path: config_path.display().to_string(), message };
        let file: toml::Table = match std::fs::read_to_string(&config_path) {
            Ok(text) => toml::from_str(&text).map_err(|e| file_err(e.to_string()))?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && args.config.is_none() => toml::Table::new(),
            Err(e) => return Err(file_err(format!("cannot read: {e}"))),
        };
        const KNOWN: [&str; 9] =
            ["api_url", "ca_file", "token", "token_file", "token_command", "environment", "theme", "readonly", "keys"];
        if let Some(unknown) = file.keys().find(|k| !KNOWN.contains(&k.as_str())) {
            return Err(file_err(format!("unknown key {unknown:?}; known keys: {}", KNOWN.join(", "))));
        }
        let text = |key: &str| -> Result<Option<String>, ConfigError> {
            match file.get(key) {
                None => Ok(None),
                Some(toml::Value::String(s)) => Ok(Some(s.clone())),
                Some(_) => Err(file_err(format!("{key} must be a string"))),
            }
        };
        let api_url =
            args.api_url.clone().or_else(|| env("MANDATE_API_URL").filter(|v| !v.is_empty())).or(text("api_url")?);
        let token = if let Some(t) = &args.token {
            Some(Secret::new(t.clone()))
        } else if let Some(path) = &args.token_file {
            Some(read_token_file(path)?)
        } else if let Some(cmd) = &args.token_command {
            Some(run_token_command(cmd)?)
        } else if let Some(t) = env("MANDATE_TOKEN").filter(|v| !v.is_empty()) {
            Some(Secret::new(t))
        } else if let Some(t) = text("token")? {
            Some(Secret::new(t))
        } else if let Some(path) = text("token_file")? {
            Some(read_token_file(Path::new(&path))?)
        } else if let Some(cmd) = text("token_command")? {
            Some(run_token_command(&cmd)?)
        } else {
            None
        };
        let readonly = args.readonly
            || match file.get("readonly") {
                None => false,
                Some(toml::Value::Boolean(b)) => *b,
                Some(_) => return Err(file_err("readonly must be true or false".into())),
            };
        let theme_name = args.theme.clone().or(text("theme")?).unwrap_or_else(|| "dark".to_owned());
        let themes_dir = config_path.parent().map(|d| d.join("themes"));
        let capabilities = super::capabilities::Capabilities::detect(env, args.ascii);
        // A terminal without colour gets the theme made of bold and reverse.
        let theme = if no_color_requested(env("NO_COLOR").as_deref()) || !capabilities.colour {
            Theme::builtin("mono").expect("mono is built in")
        } else {
            Theme::load(&theme_name, themes_dir.as_deref())?
        };
        let keymap = match file.get("keys") {
            None => Keymap::default(),
            Some(toml::Value::Table(keys)) => Keymap::with_overrides(keys, &config_path.display().to_string())?,
            Some(_) => return Err(file_err("keys must be a table of [keys.MODE] tables".into())),
        };
        let ca_file = args
            .ca_file
            .clone()
            .or_else(|| env("MANDATE_CA_FILE").filter(|v| !v.is_empty()).map(PathBuf::from))
            .or(text("ca_file")?.map(PathBuf::from));
        if let Some(path) = &ca_file {
            // Checked now, so a wrong path is said before the screen opens.
            let _ = crate::sdk::http_client_trusting(Some(path)).map_err(|e| ConfigError::Tls(e.to_string()))?;
        }
        Ok(ConsoleConfig {
            api_url,
            ca_file,
            token,
            environment: args.environment.clone().or(text("environment")?),
            theme,
            keymap,
            readonly,
            config_path,
            incident: args.incident,
            capabilities,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> + use<> {
        let map: HashMap<String, String> = vars.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        move |k| map.get(k).cloned()
    }

    fn with_file(text: &str) -> (tempfile::TempDir, ConsoleArgs) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("config.toml");
        std::fs::write(&path, text).unwrap();
        (dir, ConsoleArgs { config: Some(path), ..ConsoleArgs::default() })
    }

    #[test]
    fn flags_beat_environment_beats_file() {
        let (_dir, mut args) =
            with_file("api_url = \"http://file\"\ntoken = \"file-token\"\nenvironment = \"staging\"\n");
        let c = ConsoleConfig::resolve(&args, &env(&[])).unwrap();
        assert_eq!(
            (c.api_url.as_deref(), c.token.as_ref().map(Secret::expose)),
            (Some("http://file"), Some("file-token"))
        );
        let vars = env(&[("MANDATE_API_URL", "http://env"), ("MANDATE_TOKEN", "env-token")]);
        let c = ConsoleConfig::resolve(&args, &vars).unwrap();
        assert_eq!(
            (c.api_url.as_deref(), c.token.as_ref().map(Secret::expose)),
            (Some("http://env"), Some("env-token"))
        );
        args.api_url = Some("http://flag".into());
        args.token_command = Some("echo cmd-token".into());
        let c = ConsoleConfig::resolve(&args, &vars).unwrap();
        assert_eq!(
            (c.api_url.as_deref(), c.token.as_ref().map(Secret::expose)),
            (Some("http://flag"), Some("cmd-token"))
        );
        assert_eq!(c.environment.as_deref(), Some("staging"));
    }

    #[test]
    fn the_token_can_come_from_a_file_or_a_command_and_is_never_printed() {
        let (dir, mut args) = with_file("");
        let token_path = dir.path().join("token");
        std::fs::write(&token_path, "mdt_secret\n").unwrap();
        args.token_file = Some(token_path);
        let c = ConsoleConfig::resolve(&args, &env(&[])).unwrap();
        assert_eq!(c.token.as_ref().unwrap().expose(), "mdt_secret");
        assert!(!format!("{c:?}").contains("mdt_secret"), "Debug never shows the token");
        args.token_file = None;
        args.token_command = Some("exit 3".into());
        let err = ConsoleConfig::resolve(&args, &env(&[])).unwrap_err().to_string();
        assert!(err.contains("token command failed"), "{err}");
    }

    #[test]
    fn nothing_configured_is_none_not_invented() {
        let dir = tempfile::tempdir().unwrap();
        let args = ConsoleArgs { config: None, ..ConsoleArgs::default() };
        let vars = env(&[("XDG_CONFIG_HOME", dir.path().to_str().unwrap())]);
        let c = ConsoleConfig::resolve(
            &ConsoleArgs { config: Some(dir.path().join("absent.toml")), ..args.clone() },
            &vars,
        );
        assert!(c.is_err(), "an explicit --config that is missing is an error");
        let (_d, args) = with_file("");
        let c = ConsoleConfig::resolve(&args, &env(&[])).unwrap();
        assert!(c.api_url.is_none() && c.token.is_none());
    }

    #[test]
    fn no_color_selects_mono_and_bad_files_are_named() {
        let (_dir, args) = with_file("theme = \"light\"\n");
        assert_eq!(ConsoleConfig::resolve(&args, &env(&[("NO_COLOR", "1")])).unwrap().theme.name, "mono");
        assert_eq!(ConsoleConfig::resolve(&args, &env(&[("NO_COLOR", "")])).unwrap().theme.name, "light");
        let (_dir, args) = with_file("api_urll = \"x\"\n");
        let err = ConsoleConfig::resolve(&args, &env(&[])).unwrap_err().to_string();
        assert!(err.contains("config.toml: unknown key \"api_urll\""), "{err}");
        let (_dir, args) = with_file("[keys.incidents]\n\"x\" = \"fly\"\n");
        let err = ConsoleConfig::resolve(&args, &env(&[])).unwrap_err().to_string();
        assert!(err.contains("config.toml: keys.incidents.\"x\": unknown action \"fly\""), "{err}");
    }
}
