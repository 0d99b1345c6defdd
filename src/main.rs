use clap::{CommandFactory, Parser};
use mandate::auth::{TokensFile, default_tokens_path};
use mandate::cli::{
    AttributionCommand, AuditCommand, Cli, Command, LogFormat, MigrateCommand, RoutingCommand, ServeArgs, TokenCommand,
};
use mandate::incident::GroupingConfig;
use mandate::server::{ServeOptions, serve};
use mandate::store::default_sqlite_url;
use std::process::ExitCode;
use tracing_subscriber::EnvFilter;

fn main() -> ExitCode {
    let cli = Cli::parse();
    // A command that prints and ends stops quietly when its reader does
    // (`mandate migrate status | head`), as Unix tools do; the console and
    // the server keep Rust's default, a write error.
    let prints_and_ends = cli.version
        || matches!(
            cli.command,
            Some(
                Command::Migrate(_)
                    | Command::Audit(_)
                    | Command::Routing(_)
                    | Command::Token(_)
                    | Command::Completions { .. }
                    | Command::Man
                    | Command::Attribution(_)
            )
        );
    if prints_and_ends {
        // SAFETY: at the start of main, before any thread exists.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
    if cli.version {
        return print_versions(&cli.console);
    }
    let result = match cli.command {
        None => return console_exit(mandate::console::main(cli.console)),
        Some(Command::Console(args)) => return console_exit(mandate::console::main(args)),
        Some(Command::Serve(args)) => run_serve(args),
        Some(Command::Token(command)) => run_token(command),
        Some(Command::Audit(AuditCommand::Verify { database_url, expect_head })) => {
            run_audit_verify(database_url, expect_head)
        }
        Some(Command::Audit(AuditCommand::Head { database_url })) => run_audit_head(database_url),
        Some(Command::Routing(command)) => run_routing(command),
        Some(Command::Migrate(command)) => return run_migrate(command),
        Some(Command::Attribution(AttributionCommand::Report(args))) => mandate::cli::attribution_report::report(args),
        Some(Command::Demo(args)) => return console_exit(mandate::demo::main(args)),
        Some(Command::Sim(args)) => {
            init_logging(LogFormat::Text);
            mandate::sim::main(args)
        }
        Some(Command::Completions { shell }) => {
            clap_complete::generate(shell, &mut Cli::command(), "mandate", &mut std::io::stdout());
            Ok(())
        }
        Some(Command::Man) => clap_mangen::Man::new(Cli::command())
            .render(&mut std::io::stdout())
            .map_err(|e| format!("cannot write the man page: {e}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

fn console_exit(result: Result<ExitCode, String>) -> ExitCode {
    result.unwrap_or_else(|message| {
        eprintln!("error: {message}");
        ExitCode::FAILURE
    })
}

fn init_logging(format: LogFormat) {
    let filter = EnvFilter::try_from_env("MANDATE_LOG").unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        LogFormat::Json => builder.json().init(),
    }
}

fn run_serve(args: ServeArgs) -> Result<(), String> {
    init_logging(args.log_format);
    let options = ServeOptions {
        listen: args.listen,
        otlp_listen: args.otlp_listen,
        no_migrate: args.no_migrate,
        sdk_minimum: args.sdk_minimum,
        sdk_deprecated_below: args.sdk_deprecated_below,
        metrics: args.metrics,
        database_url: args.database_url.unwrap_or_else(default_sqlite_url),
        tokens_file: args.tokens_file.unwrap_or_else(default_tokens_path),
        catalog: args.catalog,
        routing: args.routing,
        standby: args.standby,
        grouping: GroupingConfig { window: chrono::Duration::minutes(i64::from(args.incident_window_minutes)) },
        event_window: mandate::desk::EventWindow {
            max_age: chrono::Duration::days(i64::from(args.event_max_age_days)),
            max_ahead: chrono::Duration::minutes(i64::from(args.event_max_ahead_minutes)),
        },
        allow_auto_rules: args.allow_auto_rules,
        tls: args.tls_cert.zip(args.tls_key),
        tls_client_ca: args.tls_client_ca,
        retention: {
            let days = |d: u32| (d > 0).then(|| chrono::Duration::days(i64::from(d)));
            mandate::desk::Retention {
                events: days(args.retain_events_days),
                runs: days(args.retain_runs_days),
                idempotency_keys: days(args.retain_idempotency_days),
                access_log: days(args.retain_access_log_days),
                rejections: days(args.retain_rejections_days),
                every: std::time::Duration::from_secs(u64::from(args.records_every_seconds)),
            }
        },
        connections: mandate::server::ConnectionLimits {
            max_connections: args
                .max_connections
                .map(|n| n as usize)
                .unwrap_or_else(mandate::server::connections::default_max_connections),
            header_timeout: std::time::Duration::from_secs(u64::from(args.header_timeout_seconds)),
            failed_auth_limit: args.failed_auth_limit,
            trusted_proxies: args.trusted_proxies.clone(),
            token_rate: args.token_rate_limit,
        },
    };
    let runtime = tokio::runtime::Runtime::new().map_err(|e| format!("cannot start the async runtime: {e}"))?;
    runtime.block_on(serve(options)).map_err(|e| e.to_string())
}

fn run_token(command: TokenCommand) -> Result<(), String> {
    match command {
        TokenCommand::Create { name, role, agents, client_cert, tokens_file } => {
            let path = tokens_file.unwrap_or_else(default_tokens_path);
            let mut file = TokensFile::load(&path).map_err(|e| e.to_string())?;
            if (!agents.is_empty() || client_cert.is_some()) && role != mandate::api::Role::Agent {
                return Err(format!(
                    "--agent and --client-cert bind agent tokens; a {role} token acts as the person it names"
                ));
            }
            let bound = (!agents.is_empty()).then_some(agents);
            let cert = client_cert.as_deref().map(mandate::server::certificate_digest).transpose()?;
            let token = file.create(&name, role, bound, cert).map_err(|e| e.to_string())?;
            file.save(&path).map_err(|e| e.to_string())?;
            eprintln!("Created {role} token {name:?} in {}. It is shown once; store it now:", path.display());
            println!("{token}");
            Ok(())
        }
        TokenCommand::Rotate { name, tokens_file } => {
            let path = tokens_file.unwrap_or_else(default_tokens_path);
            let mut file = TokensFile::load(&path).map_err(|e| e.to_string())?;
            let token = file.rotate(&name).map_err(|e| e.to_string())?;
            file.save(&path).map_err(|e| e.to_string())?;
            eprintln!(
                "Rotated {name:?} in {}: the previous token stays valid until `mandate token revoke --name {name} --previous`. The new one is shown once; store it now:",
                path.display()
            );
            println!("{token}");
            Ok(())
        }
        TokenCommand::List { tokens_file } => {
            let path = tokens_file.unwrap_or_else(default_tokens_path);
            let file = TokensFile::load(&path).map_err(|e| e.to_string())?;
            if file.tokens.is_empty() {
                eprintln!("no tokens in {}", path.display());
            }
            for (i, record) in file.tokens.iter().enumerate() {
                let replaced = file.tokens[i + 1..].iter().any(|r| r.name == record.name);
                let agents = match (&record.agents, record.role) {
                    (Some(agents), _) => format!("  agents {}", agents.join(", ")),
                    (None, mandate::api::Role::Agent) => "  any agent".to_owned(),
                    (None, _) => String::new(),
                };
                let cert = match &record.client_cert {
                    Some(digest) => format!("  client cert sha256:{}…", &digest[..16.min(digest.len())]),
                    None => String::new(),
                };
                println!(
                    "{:<24} {:<10} created {}{agents}{cert}{}",
                    record.name,
                    record.role.as_str(),
                    record.created_at.format("%Y-%m-%d %H:%M UTC"),
                    if replaced { "  (rotated: revoke with --previous)" } else { "" }
                );
            }
            Ok(())
        }
        TokenCommand::Revoke { name, previous, tokens_file } => {
            let path = tokens_file.unwrap_or_else(default_tokens_path);
            let mut file = TokensFile::load(&path).map_err(|e| e.to_string())?;
            if previous {
                let n = file.revoke_previous(&name).map_err(|e| e.to_string())?;
                file.save(&path).map_err(|e| e.to_string())?;
                eprintln!("Revoked {n} previous token(s) of {name:?}; the newest stays valid.");
            } else {
                file.revoke(&name).map_err(|e| e.to_string())?;
                file.save(&path).map_err(|e| e.to_string())?;
                eprintln!("Revoked {name:?}.");
            }
            eprintln!("A running server reading {} applies this within a second.", path.display());
            Ok(())
        }
    }
}

fn run_routing(command: RoutingCommand) -> Result<(), String> {
    use mandate::routing::Routing;
    match command {
        RoutingCommand::Defaults => {
            print!("{}", mandate::routing::BUILTIN);
            Ok(())
        }
        RoutingCommand::Check { file, catalog } => {
            let routing = Routing::load(&file).map_err(|e| e.to_string())?;
            let levels: Vec<&str> = routing.levels().iter().map(|l| l.name.as_str()).collect();
            println!(
                "{}: {} level{} ({}), {} rule{}: valid",
                file.display(),
                levels.len(),
                if levels.len() == 1 { "" } else { "s" },
                levels.join(" → "),
                routing.rules().len(),
                if routing.rules().len() == 1 { "" } else { "s" }
            );
            for warning in routing.warnings() {
                println!("warning: {warning}");
            }
            if let Some(path) = catalog {
                let catalog = mandate::catalog::Catalog::load(&path).map_err(|e| e.to_string())?;
                for gap in routing.unreachable(&catalog) {
                    println!("warning: {gap}");
                }
            }
            Ok(())
        }
    }
}

fn run_audit_head(database_url: Option<String>) -> Result<(), String> {
    let url = database_url.unwrap_or_else(default_sqlite_url);
    let runtime = tokio::runtime::Runtime::new().map_err(|e| format!("cannot start the async runtime: {e}"))?;
    runtime.block_on(async {
        let store = mandate::store::Store::connect(&url).await.map_err(|e| e.to_string())?;
        let head = store.record_head(chrono::Utc::now()).await.map_err(|e| e.to_string());
        store.close().await;
        println!("{}", serde_json::to_string(&head?).map_err(|e| e.to_string())?);
        Ok(())
    })
}

fn run_audit_verify(database_url: Option<String>, expect_head: Option<std::path::PathBuf>) -> Result<(), String> {
    let url = database_url.unwrap_or_else(default_sqlite_url);
    let heads = match &expect_head {
        None => vec![],
        Some(path) => {
            let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
            mandate::audit::parse_heads(&text).map_err(|e| format!("{}: {e}", path.display()))?
        }
    };
    let runtime = tokio::runtime::Runtime::new().map_err(|e| format!("cannot start the async runtime: {e}"))?;
    runtime.block_on(async {
        let store = mandate::store::Store::connect(&url).await.map_err(|e| e.to_string())?;
        let mut progress = mandate::audit::Progress::default();
        store.verify_audit(&mut progress, |_| {}).await.map_err(|e| e.to_string())?;
        let status = progress.status();
        let events = store.verify_events(|_| {}).await.map_err(|e| e.to_string());
        let runs = store.verify_runs().await.map_err(|e| e.to_string());
        let lookalikes = store.lookalike_identifiers().await.map_err(|e| e.to_string());
        let mut against_heads = Vec::new();
        for head in &heads {
            against_heads.push(store.check_record_head(head).await.map_err(|e| e.to_string()));
        }
        store.close().await;
        let (events, runs, lookalikes) = (events?, runs?, lookalikes?);
        let mut broken = Vec::new();
        match status.first_broken_seq {
            None => println!("audit log intact: {} entries verified", status.entries_checked),
            Some(seq) => broken.push(format!(
                "audit log broken at entry {seq}: {} ({} entries verified before it)",
                status.problem.unwrap_or_default(),
                status.entries_checked
            )),
        }
        let unchained = match events.unchained {
            0 => String::new(),
            n => format!("; {n} stored before the chain began, not linked"),
        };
        if events.verified {
            println!(
                "events intact: {} links and {} anchors verified{unchained}",
                events.events_checked, events.anchors_checked
            );
        } else {
            let at = events.first_broken_event.as_deref().map(|e| format!(" at event {e}")).unwrap_or_default();
            broken.push(format!(
                "events broken{at}: {} ({} links verified before it)",
                events.problem.unwrap_or_default(),
                events.events_checked
            ));
        }
        if runs.verified {
            let unrecorded = match runs.unrecorded {
                0 => String::new(),
                n => format!("; {n} stored before the record began, without one"),
            };
            println!(
                "runs intact: {} records and {} runs verified{unrecorded}",
                runs.records_checked, runs.runs_checked
            );
        } else {
            let at = runs.first_broken_run.as_deref().map(|r| format!(" at run {r}")).unwrap_or_default();
            broken.push(format!(
                "runs broken{at}: {} ({} records verified)",
                runs.problem.unwrap_or_default(),
                runs.records_checked
            ));
        }
        let mut head_problems = Vec::new();
        for problem in against_heads {
            head_problems.extend(problem?);
        }
        match (heads.len(), head_problems.first()) {
            (0, _) => {}
            (n, None) => println!("heads kept outside: both chains still reach all {n}"),
            (_, Some(first)) => broken.push(format!("against the heads kept outside: {first}")),
        }
        match lookalikes.len() {
            0 => println!("identifiers clean: none holds a control, invisible, bidi or private-use character"),
            n => broken.push(format!(
                "{n} stored identifiers hold characters this version refuses (written by an older version or \
                 straight into the database; each reads as another name):\n{}",
                lookalikes
                    .iter()
                    .map(|l| format!("  {}.{} \"{}\": {}", l.table, l.column, l.shown, l.problem))
                    .collect::<Vec<_>>()
                    .join("\n")
            )),
        }
        if broken.is_empty() { Ok(()) } else { Err(broken.join("\n")) }
    })
}

/// `mandate migrate status | up [--dry-run] | down --to V [--dry-run] [--force] | verify`.
fn run_migrate(command: MigrateCommand) -> ExitCode {
    use mandate::store::{MigrationDirection, SchemaStatus, Store};
    let fail = |message: String| {
        eprintln!("error: {message}");
        ExitCode::FAILURE
    };
    let url = match &command {
        MigrateCommand::Status { database_url }
        | MigrateCommand::Verify { database_url }
        | MigrateCommand::Up { database_url, .. }
        | MigrateCommand::Down { database_url, .. } => database_url.clone(),
    }
    .unwrap_or_else(default_sqlite_url);
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => return fail(format!("cannot start the async runtime: {e}")),
    };
    let (backend, status) = match runtime.block_on(Store::schema_status(&url)) {
        Ok(found) => found,
        Err(e) => return fail(format!("{}: {e}", mandate::store::redact(&url))),
    };
    let describe = |status: &SchemaStatus| {
        let applied = status.known.iter().filter(|m| m.applied == Some(true)).count();
        let pending = status.pending().count();
        println!(
            "{} ({backend:?}): schema at {:04}; {applied} of this binary's {} migrations applied, {pending} pending",
            mandate::store::redact(&url),
            status.current(),
            status.known.len()
        );
        for m in &status.known {
            let state = match (m.applied, m.altered) {
                (Some(true), true) => "ALTERED",
                (Some(true), false) => "applied",
                (Some(false), _) => "FAILED ",
                (None, _) => "pending",
            };
            println!("  {state}  {:04} {:<20} {}", m.version, m.description, m.phase.as_str());
        }
        for m in &status.unknown {
            let phase = m.phase.map_or("phase not recorded", |p| p.as_str());
            println!("  NEWER    {:04} {:<20} {phase} (applied by a newer release)", m.version, m.description);
        }
        for i in &status.interrupted {
            let at = chrono::DateTime::from_timestamp_millis(i.started_at)
                .map(|t| t.format("%Y-%m-%d %H:%M:%S UTC").to_string())
                .unwrap_or_default();
            let name = status
                .known
                .iter()
                .find(|m| m.version == i.version)
                .map(|m| m.description.to_owned())
                .or_else(|| status.unknown.iter().find(|m| m.version == i.version).map(|m| m.description.clone()))
                .unwrap_or_default();
            let verb = match i.direction {
                MigrationDirection::Up => "up",
                MigrationDirection::Down => "down",
            };
            if i.running {
                println!(
                    "  RUNNING  {:04} {name}: `{verb}` began {at} on {} (pid {}) and is running now",
                    i.version, i.host, i.pid
                );
            } else {
                println!(
                    "  INTERRUPTED {:04} {name}: `{verb}` began {at} on {} (pid {}) and did not finish. It ran in one transaction, so the database undid all of it: the schema is as before it began. `mandate migrate {verb}` {} it.",
                    i.version,
                    i.host,
                    i.pid,
                    if verb == "up" { "applies" } else { "undoes" }
                );
            }
        }
    };
    let (up, dry_run, verify, down, up_to) = match command {
        MigrateCommand::Status { .. } => (false, false, false, None, None),
        MigrateCommand::Up { dry_run, to, .. } => (true, dry_run, false, None, to),
        MigrateCommand::Verify { .. } => (false, false, true, None, None),
        MigrateCommand::Down { to, dry_run, force, .. } => (false, dry_run, false, Some((to, force)), None),
    };
    describe(&status);
    if let Ok(Some(servers)) = runtime.block_on(Store::servers_at(&url)) {
        let now = chrono::Utc::now().timestamp_millis();
        match servers.len() {
            0 => println!("No server is serving this database (none seen in the last 2 minutes)."),
            n => println!("{n} server{} serving this database:", if n == 1 { " is" } else { "s are" }),
        }
        for s in &servers {
            println!(
                "  {}: mandate {} (API {}), seen {} s ago",
                s.name,
                s.version,
                s.api,
                (now - s.seen_at).max(0) / 1000
            );
        }
    }
    if let Some((to, force)) = down {
        if to < 0 || to >= status.current() {
            return fail(format!("the schema is at {:04}: --to must be below it (and 0 or more)", status.current()));
        }
        let print = |step: &mandate::store::MigrationApplied| {
            println!("Undid {:04} {} in {} ms.", step.version, step.description, step.took.as_millis());
        };
        return match runtime.block_on(Store::migrate_down(&url, to, force, dry_run, print)) {
            Ok(plan) if dry_run => {
                for step in &plan {
                    println!("\n-- undo {:04} {}", step.version, step.description);
                    println!("{}", step.sql.trim_end());
                    for (table, predicate, rows) in &step.losses {
                        let what = predicate.as_ref().map_or(table.clone(), |p| format!("{table} where {p}"));
                        println!("-- DROPS {rows} row(s) of {what}: going up again cannot bring them back");
                    }
                    println!("-- locks:");
                    for lock in mandate::store::migration_locks(&step.sql, backend) {
                        println!("--   {lock}");
                    }
                }
                println!("\nNothing was changed (--dry-run).");
                ExitCode::SUCCESS
            }
            Ok(plan) => {
                println!("The schema is at {to:04}: {} migration(s) undone.", plan.len());
                ExitCode::SUCCESS
            }
            Err(e) => fail(format!("{e}\n`mandate migrate status` says where the schema stands.")),
        };
    }
    if let Some(why) = status.unservable() {
        return fail(format!("this binary cannot serve this schema: {why}"));
    }
    let pending: Vec<_> = status.pending().filter(|m| !up || up_to.is_none_or(|to| m.version <= to)).cloned().collect();
    if verify {
        let altered: Vec<String> =
            status.known.iter().filter(|m| m.altered).map(|m| format!("{:04} {}", m.version, m.description)).collect();
        if !altered.is_empty() {
            return fail(format!(
                "applied from other SQL than this binary's, so the schema may differ from what it expects: {}",
                altered.join(", ")
            ));
        }
        if !pending.is_empty() {
            return fail(format!("{} migration(s) pending: run `mandate migrate up`", pending.len()));
        }
        if !status.unknown.is_empty() {
            return fail(format!(
                "the schema holds {} migration(s) of a newer release, which this binary serves but cannot verify the shape of",
                status.unknown.len()
            ));
        }
        println!("schema as this binary expects: {} migrations, none altered, none newer", status.known.len());
        drop(runtime);
        return match run_audit_verify(Some(url), None) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(e),
        };
    }
    if !up {
        match pending.len() {
            0 if status.unknown.is_empty() => println!("This binary serves this schema as it is."),
            0 => println!(
                "This binary serves this schema: what a newer release added is only expand migrations, which it does not use."
            ),
            n => println!(
                "This binary can serve this schema once its {n} pending migration{} {} applied: `mandate serve` applies them when it starts (unless --no-migrate), or `mandate migrate up` now.",
                if n == 1 { "" } else { "s" },
                if n == 1 { "is" } else { "are" }
            ),
        }
        return ExitCode::SUCCESS;
    }
    if pending.is_empty() {
        println!("Nothing to apply.");
        return ExitCode::SUCCESS;
    }
    if dry_run {
        for m in &pending {
            println!("\n-- {:04} {} ({})", m.version, m.description, m.phase.as_str());
            println!("{}", m.sql.trim_end());
            println!("-- locks:");
            for lock in mandate::store::migration_locks(m.sql, backend) {
                println!("--   {lock}");
            }
        }
        println!("\nNothing was applied (--dry-run).");
        return ExitCode::SUCCESS;
    }
    let print = |step: &mandate::store::MigrationApplied| {
        println!("Applied {:04} {} in {} ms.", step.version, step.description, step.took.as_millis());
    };
    match runtime.block_on(Store::migrate_up(&url, up_to, print)) {
        Ok(after) => {
            println!("Applied {} migration{}.", pending.len(), if pending.len() == 1 { "" } else { "s" });
            describe(&after);
            ExitCode::SUCCESS
        }
        Err(e) => fail(format!("the migration stopped: {e}; `mandate migrate status` says where")),
    }
}

/// `mandate --version`: this binary's side, then the configured server's.
fn print_versions(console: &mandate::console::config::ConsoleArgs) -> ExitCode {
    use mandate::server::versions::{API, SERVER, SdkWindow};
    let window = SdkWindow::default_for_this_server();
    println!("mandate {SERVER} (API {API})");
    println!(
        "serves SDKs {} and newer, {} and newer without a deprecation warning (this release and the two before it)",
        window.minimum, window.deprecated_below
    );
    let env = |name: &str| std::env::var(name).ok();
    let api_url = mandate::console::config::ConsoleConfig::resolve(console, &env)
        .ok()
        .and_then(|c| c.api_url)
        .or_else(|| console.api_url.clone())
        .or_else(|| env("MANDATE_API_URL").filter(|v| !v.is_empty()));
    let Some(api_url) = api_url else {
        println!("server: none configured (--api-url, MANDATE_API_URL or the console's config file)");
        return ExitCode::SUCCESS;
    };
    let base = mandate::console::poller::servers(&api_url).into_iter().next().unwrap_or(api_url);
    let said = tokio::runtime::Builder::new_current_thread().enable_all().build().map(|runtime| {
        runtime.block_on(async {
            let http = mandate::sdk::http_client_builder().timeout(std::time::Duration::from_secs(3)).build()?;
            http.get(format!("{base}/healthz")).send().await
        })
    });
    let clean = |v: Option<&reqwest::header::HeaderValue>| -> String {
        v.map(|v| String::from_utf8_lossy(v.as_bytes()).chars().filter(|c| c.is_ascii_graphic()).take(40).collect())
            .unwrap_or_else(|| "not said".into())
    };
    match said {
        Ok(Ok(response)) if response.headers().contains_key("mandate-version") => println!(
            "server {base}: mandate {} (API {})",
            clean(response.headers().get("mandate-version")),
            clean(response.headers().get("mandate-api"))
        ),
        Ok(Ok(response)) => println!(
            "server {base}: answered {} without saying its version (a release before 0.2.0, or not Mandate)",
            response.status().as_u16()
        ),
        Ok(Err(e)) => println!("server {base}: not reached ({e})"),
        Err(e) => println!("server {base}: not asked ({e})"),
    }
    ExitCode::SUCCESS
}
