//! `mandate` (or `mandate console`): the terminal incident console.

pub mod app;
pub mod blast;
pub mod capabilities;
pub mod clipboard;
pub mod config;
pub mod intent;
pub mod keymap;
pub mod overlay;
pub mod paste;
pub mod poller;
pub mod sanitize;
pub mod screens;
pub mod screenshot;
pub mod terminal;
pub mod theme;
pub mod view;

use config::{ConsoleArgs, ConsoleConfig};

/// What to tell someone who started the console with nothing to connect to.
pub const NOT_CONFIGURED: &str = "mandate: no API configured.

Connect to a Mandate server with any of:
  mandate --api-url https://mandate.internal --token-file ~/.config/mandate/token
  MANDATE_API_URL=https://mandate.internal MANDATE_TOKEN=… mandate
  api_url and token_command in ~/.config/mandate/config.toml

Or see the whole product on this machine: mandate demo
Run your own server: mandate serve (then: mandate token create --name you --role responder)";

/// What to tell someone who named a server but gave no token for it.
pub fn no_token(url: &str) -> String {
    format!(
        "mandate: no token for {url}.

The server is named, but the console has no token to show it. Give one with any of:
  mandate --api-url {url} --token-file ~/.config/mandate/token
  MANDATE_TOKEN=… mandate --api-url {url}
  token_command in ~/.config/mandate/config.toml

An admin creates one on the server: mandate token create --name you --role responder"
    )
}

/// Starts the console; returns the process exit code.
pub fn main(args: ConsoleArgs) -> Result<std::process::ExitCode, String> {
    let config = ConsoleConfig::resolve(&args, &|name| std::env::var(name).ok()).map_err(|e| e.to_string())?;
    let (api_url, token) = match (config.api_url.clone(), config.token.clone()) {
        (Some(url), Some(token)) => (url, token),
        (Some(url), None) => {
            eprintln!("{}", no_token(&url));
            return Ok(std::process::ExitCode::from(2));
        }
        _ => {
            eprintln!("{NOT_CONFIGURED}");
            return Ok(std::process::ExitCode::from(2));
        }
    };
    init_file_logging();
    let runtime = tokio::runtime::Runtime::new().map_err(|e| format!("cannot start the async runtime: {e}"))?;
    terminal::exit_code(runtime.block_on(terminal::run(config, api_url, token)))
}

/// Logs go to `$XDG_STATE_HOME/mandate/console.log`, never to the screen.
pub fn init_file_logging() {
    let Some(dir) = dirs::state_dir().or_else(dirs::cache_dir) else { return };
    let dir = dir.join("mandate");
    if std::fs::create_dir_all(&dir).is_err() {
        return;
    }
    let Ok(file) = std::fs::OpenOptions::new().create(true).append(true).open(dir.join("console.log")) else { return };
    let filter = tracing_subscriber::EnvFilter::try_from_env("MANDATE_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(std::sync::Mutex::new(file))
        .try_init();
}
