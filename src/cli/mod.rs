//! The command line: the console, `serve`, `demo`, `sim`, `token`, `audit`,
//! `routing`, `completions` and `man`.

pub mod attribution_report;

use crate::api::Role;
use clap::{Parser, Subcommand, ValueEnum};
use std::net::SocketAddr;
use std::path::PathBuf;

#[derive(Debug, Parser)]
#[command(
    name = "mandate",
    disable_version_flag = true,
    about = "Incident console and API for fleets of autonomous agents",
    long_about = "Mandate shows on-call engineers what their agents and people did, what broke, \
                  who is affected and what to do next, and records every human intervention. \
                  Without a subcommand, `mandate` opens the incident console.",
    args_conflicts_with_subcommands = true
)]
pub struct Cli {
    /// Print this binary's version, the API and SDK versions it serves, and the configured server's (--api-url, MANDATE_API_URL)
    #[arg(short = 'V', long)]
    pub version: bool,
    #[command(subcommand)]
    pub command: Option<Command>,
    #[command(flatten)]
    pub console: crate::console::config::ConsoleArgs,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Open the incident console (the default)
    Console(crate::console::config::ConsoleArgs),
    /// Run the Mandate API server
    Serve(ServeArgs),
    /// Server, simulated agent fleet and console in one command
    Demo(crate::demo::DemoArgs),
    /// Drive a server with a simulated agent fleet and the seed's scenarios
    Sim(crate::sim::SimArgs),
    /// Create, list and revoke API tokens
    #[command(subcommand)]
    Token(TokenCommand),
    /// Check the audit log and the events' chain
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Check a routing file, or print the built-in one
    #[command(subcommand)]
    Routing(RoutingCommand),
    /// See and apply the database's schema migrations
    #[command(subcommand)]
    Migrate(MigrateCommand),
    /// The attribution rollout: the weekly status report
    #[command(subcommand)]
    Attribution(AttributionCommand),
    /// Print shell completions (bash, zsh, fish, elvish, powershell)
    Completions { shell: clap_complete::Shell },
    /// Print the man page (roff) generated from this command line
    Man,
}

#[derive(Debug, Subcommand)]
pub enum MigrateCommand {
    /// Which migrations are applied and pending, and whether this binary can serve the schema (exit 1 when it cannot)
    Status {
        /// sqlite://PATH or postgres://… [default: sqlite under $XDG_DATA_HOME/mandate]
        #[arg(long, env = "MANDATE_DATABASE_URL", hide_env_values = true)]
        database_url: Option<String>,
    },
    /// Check the schema is what this binary expects (every migration applied, none altered, none newer) and that the audit log, events and runs still verify (exit 1 if not)
    Verify {
        /// sqlite://PATH or postgres://… [default: sqlite under $XDG_DATA_HOME/mandate]
        #[arg(long, env = "MANDATE_DATABASE_URL", hide_env_values = true)]
        database_url: Option<String>,
    },
    /// Apply the pending migrations; with --dry-run, print their SQL and the locks each statement takes, and apply nothing
    Up {
        /// sqlite://PATH or postgres://… [default: sqlite under $XDG_DATA_HOME/mandate]
        #[arg(long, env = "MANDATE_DATABASE_URL", hide_env_values = true)]
        database_url: Option<String>,
        /// Apply only the migrations up to this version (a staged upgrade)
        #[arg(long, value_name = "VERSION")]
        to: Option<i64>,
        #[arg(long)]
        dry_run: bool,
    },
    /// Undo the migrations above VERSION, newest first (the database's own record of each down step is used, so an older binary undoes what a newer one applied); refuses to drop rows that exist unless --force
    Down {
        /// sqlite://PATH or postgres://… [default: sqlite under $XDG_DATA_HOME/mandate]
        #[arg(long, env = "MANDATE_DATABASE_URL", hide_env_values = true)]
        database_url: Option<String>,
        /// The version to bring the schema back to (0: nothing left)
        #[arg(long, value_name = "VERSION")]
        to: i64,
        /// Print the SQL each step runs and what it would drop, and change nothing
        #[arg(long)]
        dry_run: bool,
        /// Go down even where a step drops rows that going up again cannot bring back
        #[arg(long)]
        force: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum AttributionCommand {
    /// Print the weekly rollout status (seed 000 §6) from the server's live figures, as Markdown
    Report(crate::console::config::ConsoleArgs),
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Recompute the audit log's chain and the events' chain (with every anchor), and name the first entry or event that breaks either (exit 1 if any)
    Verify {
        /// sqlite://PATH or postgres://… [default: sqlite under $XDG_DATA_HOME/mandate]
        #[arg(long, env = "MANDATE_DATABASE_URL", hide_env_values = true)]
        database_url: Option<String>,
        /// A file of heads kept outside the database (what `mandate audit head` printed, one per line): both chains must still reach each, with the same hashes (catches removal from the end of both)
        #[arg(long, value_name = "FILE")]
        expect_head: Option<PathBuf>,
    },
    /// Print how far the audit log and the events' chain reach now, as one line of JSON: append it to storage outside the database, and give the file to `verify --expect-head`
    Head {
        /// sqlite://PATH or postgres://… [default: sqlite under $XDG_DATA_HOME/mandate]
        #[arg(long, env = "MANDATE_DATABASE_URL", hide_env_values = true)]
        database_url: Option<String>,
    },
}

#[derive(Debug, Subcommand)]
pub enum RoutingCommand {
    /// Validate a routing file: errors name their path (exit 1); with a catalog,
    /// also say which services reach no one at some level
    Check {
        file: PathBuf,
        /// A service catalog (TOML) to resolve targets against
        #[arg(long)]
        catalog: Option<PathBuf>,
    },
    /// Print the routing Mandate uses when none is given, to start one from
    Defaults,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines
    Text,
    /// One JSON object per line
    Json,
}

#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on
    #[arg(long, env = "MANDATE_LISTEN", default_value = "127.0.0.1:7400")]
    pub listen: SocketAddr,
    /// Also receive OpenTelemetry traces (OTLP/HTTP, POST /v1/traces) on this address, 4318 by convention; the API address receives them too
    #[arg(long, env = "MANDATE_OTLP_LISTEN")]
    pub otlp_listen: Option<SocketAddr>,
    /// Mandate's own metrics for Prometheus (GET /metrics): off; token (on the API's address, for a monitor, viewer, responder or admin token); or an address of their own, served without a token
    #[arg(long, env = "MANDATE_METRICS", default_value = "off", value_name = "off|token|ADDRESS")]
    pub metrics: crate::server::routes::metrics::MetricsExposure,
    /// sqlite://PATH or postgres://USER:PASSWORD@HOST/DB [default: sqlite under $XDG_DATA_HOME/mandate]
    #[arg(long, env = "MANDATE_DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,
    /// API tokens file [default: $XDG_CONFIG_HOME/mandate/tokens.toml]
    #[arg(long, env = "MANDATE_TOKENS_FILE")]
    pub tokens_file: Option<PathBuf>,
    /// Service catalog (TOML): owners, dependencies, sensitivity
    #[arg(long, env = "MANDATE_CATALOG")]
    pub catalog: Option<PathBuf>,
    /// Refuse to start while a schema migration is pending, instead of applying it (apply it with `mandate migrate up`, in a window of your choosing)
    #[arg(long, env = "MANDATE_NO_MIGRATE")]
    pub no_migrate: bool,
    /// Refuse SDKs older than this version (raises the default window: this release and the two before it)
    #[arg(long, env = "MANDATE_SDK_MINIMUM", value_name = "VERSION", value_parser = parse_version)]
    pub sdk_minimum: Option<crate::server::versions::Version>,
    /// Warn SDKs older than this version that they are deprecated (default: older than the release before this one)
    #[arg(long, env = "MANDATE_SDK_DEPRECATED_BELOW", value_name = "VERSION", value_parser = parse_version)]
    pub sdk_deprecated_below: Option<crate::server::versions::Version>,
    /// Routing (TOML): escalation levels and rules [default: the stored one, or `mandate routing defaults`]
    #[arg(long, env = "MANDATE_ROUTING")]
    pub routing: Option<PathBuf>,
    /// Stand by: wait while another server serves the database, and take over
    /// (claim it, then listen) within a second of its stopping or dying
    #[arg(long, env = "MANDATE_STANDBY")]
    pub standby: bool,
    /// Errors closer than this many minutes to an incident's latest error join it
    #[arg(long, env = "MANDATE_INCIDENT_WINDOW_MINUTES", default_value_t = 15, value_parser = clap::value_parser!(u32).range(1..=1440))]
    pub incident_window_minutes: u32,
    /// Events whose occurred_at is older than this many days are refused
    #[arg(long, env = "MANDATE_EVENT_MAX_AGE_DAYS", default_value_t = 30, value_parser = clap::value_parser!(u32).range(1..=3650))]
    pub event_max_age_days: u32,
    /// Events whose occurred_at is more than this many minutes ahead of the server's clock are refused
    #[arg(long, env = "MANDATE_EVENT_MAX_AHEAD_MINUTES", default_value_t = 5, value_parser = clap::value_parser!(u32).range(0..=1440))]
    pub event_max_ahead_minutes: u32,
    /// Open connections at most; at the cap the one idle longest is closed [default: 16384, or fewer when the open-files limit is lower]
    #[arg(long, env = "MANDATE_MAX_CONNECTIONS", value_parser = clap::value_parser!(u32).range(8..=1_000_000))]
    pub max_connections: Option<u32>,
    /// Seconds a client has to send a request's headers, from connecting or from its previous answer
    #[arg(long, env = "MANDATE_HEADER_TIMEOUT_SECONDS", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..=300))]
    pub header_timeout_seconds: u32,
    /// Wrong tokens allowed per client (an address; an IPv6 /64) in 10 s before its requests get 429 for 10 s (0: no limit)
    #[arg(long, env = "MANDATE_FAILED_AUTH_LIMIT", default_value_t = 20)]
    pub failed_auth_limit: u32,
    /// A proxy (address or CIDR, repeatable or comma-separated) whose X-Forwarded-For names the client, for the failed-authentication limit
    #[arg(long = "trusted-proxy", env = "MANDATE_TRUSTED_PROXIES", value_delimiter = ',', value_parser = parse_proxy)]
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Serve HTTPS with this PEM certificate (chain); read again on SIGHUP. Needs --tls-key
    #[arg(long, env = "MANDATE_TLS_CERT", requires = "tls_key")]
    pub tls_cert: Option<PathBuf>,
    /// The PEM private key of --tls-cert; read again on SIGHUP
    #[arg(long, env = "MANDATE_TLS_KEY", requires = "tls_cert")]
    pub tls_key: Option<PathBuf>,
    /// Ask HTTPS clients for a certificate signed by this CA (PEM): tokens created with --client-cert are accepted only with theirs
    #[arg(long, env = "MANDATE_TLS_CLIENT_CA", requires = "tls_cert")]
    pub tls_client_ca: Option<PathBuf>,
    /// Requests per second each token may make (a second's worth at once), past which 429 RATE_LIMITED (0: no limit)
    #[arg(long, env = "MANDATE_TOKEN_RATE_LIMIT", default_value_t = 0)]
    pub token_rate_limit: u32,
    /// Days events are kept (0: for ever); events of an incident still open are kept until it resolves
    #[arg(long, env = "MANDATE_RETAIN_EVENTS_DAYS", default_value_t = 365, value_parser = clap::value_parser!(u32).range(0..=36500))]
    pub retain_events_days: u32,
    /// Days finished runs are kept (0: for ever)
    #[arg(long, env = "MANDATE_RETAIN_RUNS_DAYS", default_value_t = 365, value_parser = clap::value_parser!(u32).range(0..=36500))]
    pub retain_runs_days: u32,
    /// Days idempotency keys are kept, so a retry within them is answered from the first request (0: for ever)
    #[arg(long, env = "MANDATE_RETAIN_IDEMPOTENCY_DAYS", default_value_t = 7, value_parser = clap::value_parser!(u32).range(0..=36500))]
    pub retain_idempotency_days: u32,
    /// Days the access log (who read incident detail and the audit log) is kept (0: for ever)
    #[arg(long, env = "MANDATE_RETAIN_ACCESS_LOG_DAYS", default_value_t = 365, value_parser = clap::value_parser!(u32).range(0..=36500))]
    pub retain_access_log_days: u32,
    /// Days records of refused runs and events (the attribution rollout's figures) are kept (0: for ever)
    #[arg(long, env = "MANDATE_RETAIN_REJECTIONS_DAYS", default_value_t = 90, value_parser = clap::value_parser!(u32).range(0..=36500))]
    pub retain_rejections_days: u32,
    /// Seconds between passes of the record keeper (retention, and anchoring the events' chain in the audit log)
    #[arg(long, env = "MANDATE_RECORDS_EVERY_SECONDS", default_value_t = 60, value_parser = clap::value_parser!(u32).range(1..=86400))]
    pub records_every_seconds: u32,
    /// Let learned rules marked auto carry out their automation (pause the suspected agent, escalate); without it they gate instead
    #[arg(long, env = "MANDATE_ALLOW_AUTO_RULES")]
    pub allow_auto_rules: bool,
    /// Log line format (logs go to stderr; filter with MANDATE_LOG, e.g. "debug")
    #[arg(long, env = "MANDATE_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
}

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create a token and print it once; only its SHA-256 digest is stored
    Create {
        /// Principal name (interventions are attributed to it)
        #[arg(long)]
        name: String,
        /// What the token may do
        #[arg(long, value_parser = parse_role)]
        role: Role,
        /// Agent tokens: an agent it may act for, or a prefix ending in '*' (repeatable); without it, any agent
        #[arg(long = "agent", value_name = "AGENT_ID")]
        agents: Vec<String>,
        /// Agent tokens: accepted only with this client certificate (PEM), over HTTPS with `serve --tls-client-ca`
        #[arg(long, value_name = "PEM")]
        client_cert: Option<PathBuf>,
        /// Tokens file [default: $XDG_CONFIG_HOME/mandate/tokens.toml]
        #[arg(long, env = "MANDATE_TOKENS_FILE")]
        tokens_file: Option<PathBuf>,
    },
    /// A new token for a name, with its role and agents; the previous one stays valid until `revoke --previous`
    Rotate {
        #[arg(long)]
        name: String,
        #[arg(long, env = "MANDATE_TOKENS_FILE")]
        tokens_file: Option<PathBuf>,
    },
    /// List token names and roles (never the tokens)
    List {
        #[arg(long, env = "MANDATE_TOKENS_FILE")]
        tokens_file: Option<PathBuf>,
    },
    /// Revoke a name's tokens (a running server applies it within a second)
    Revoke {
        #[arg(long)]
        name: String,
        /// Only the tokens a rotation replaced; the newest stays valid
        #[arg(long)]
        previous: bool,
        #[arg(long, env = "MANDATE_TOKENS_FILE")]
        tokens_file: Option<PathBuf>,
    },
}

fn parse_role(raw: &str) -> Result<Role, String> {
    Role::parse(raw).ok_or_else(|| format!("unknown role {raw:?}; one of: {}", Role::allowed()))
}

/// An address or a CIDR block.
fn parse_proxy(raw: &str) -> Result<ipnet::IpNet, String> {
    let raw = raw.trim();
    raw.parse::<ipnet::IpNet>()
        .or_else(|_| raw.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
        .map_err(|_| format!("{raw:?} is not an address or a CIDR block (10.0.0.0/8, 2001:db8::/32, 192.0.2.7)"))
}

fn parse_version(text: &str) -> Result<crate::server::versions::Version, String> {
    crate::server::versions::Version::parse(text)
        .ok_or_else(|| format!("{text:?} is not a version (MAJOR.MINOR.PATCH)"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_cli_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn serve_defaults_to_loopback_7400() {
        let cli = Cli::try_parse_from(["mandate", "serve"]).unwrap();
        let Some(Command::Serve(args)) = cli.command else { panic!("serve") };
        assert_eq!(args.listen.to_string(), "127.0.0.1:7400");
    }

    #[test]
    fn no_subcommand_is_the_console() {
        let cli = Cli::try_parse_from(["mandate", "--api-url", "http://x", "--readonly"]).unwrap();
        assert!(cli.command.is_none());
        assert_eq!(cli.console.api_url.as_deref(), Some("http://x"));
        assert!(cli.console.readonly);
    }

    #[test]
    fn an_unknown_role_is_refused_with_the_allowed_ones() {
        let err = Cli::try_parse_from(["mandate", "token", "create", "--name", "x", "--role", "root"])
            .unwrap_err()
            .to_string();
        assert!(err.contains("viewer, responder, admin, agent"), "{err}");
    }
}
