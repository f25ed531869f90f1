//! `weerthuis`: run and manage a node of the Weer Thuis federation.

#![cfg_attr(not(test), deny(clippy::unwrap_used))]

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use node::cli::admin::{AuditCommand, CaseCommand, DirArg, ImportArgs, UserCommand};
use node::cli::pki::{CaCommand, DirectoryCommand};
use node::cli::policy::PolicyCommand;
use node::config::LogFormat;
use policies::PartnerId;

/// A node of the Weer Thuis federation: each covenant partner's own records, shared as the covenant's policy allows.
#[derive(Debug, Parser)]
#[command(name = "weerthuis", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create a node's data directory: configuration, audit key and database.
    Init {
        /// The data directory.
        #[command(flatten)]
        dir: DirArg,
        /// The partner this node is, e.g. gemeente:GM0080, zorgaanbieder:kwadrant, corporatie:elkien.
        #[arg(long)]
        partner: PartnerId,
        /// A PostgreSQL URL (postgres://user:password@host/db); default: an SQLite file in the data directory.
        #[arg(long)]
        database: Option<String>,
    },
    /// Run the node: its local API (and, once configured, its federation side) until Ctrl-C or SIGTERM.
    Run(DirArg),
    /// Host several small partners of one role in one process (for a partner that cannot run a server): each
    /// its own data directory, database, keys and users, served on one HTTP listener by host name.
    #[command(subcommand)]
    Host(node::cli::host::HostCommand),
    /// Manage the API's users and their tokens.
    #[command(subcommand)]
    User(UserCommand),
    /// Print the current werkplek sign-in code for a TOTP key, as an authenticator app would (for the demo and
    /// for testing a fresh account; a person keeps the key in an app, not on the command line).
    Totp {
        /// The key printed by `user add --login` or by the demo.
        key: String,
    },
    /// Verify the audit log.
    #[command(subcommand)]
    Audit(AuditCommand),
    /// Import cases: from JSON files (one case per file, one entry per document), or the Transferpunt's Excel
    /// uitstroommonitor (--xlsx or --csv; all rows or nothing, unless --skip-invalid).
    Import(ImportArgs),
    /// Show cases.
    #[command(subcommand)]
    Case(CaseCommand),
    /// Write the jaarverslag of a year (Markdown, HTML with charts, CSV and XLSX tables) from the cases this node holds.
    Jaarverslag {
        /// The data directory.
        #[command(flatten)]
        dir: DirArg,
        /// The year.
        #[arg(long)]
        jaar: i32,
        /// Where to write the files.
        #[arg(long)]
        out: PathBuf,
        /// Counts below this are suppressed.
        #[arg(long, default_value_t = 5)]
        drempel: u32,
    },
    /// A person's inzage (AVG art. 15): what this node holds about them and to whom it disclosed it, as a Dutch
    /// HTML report (or JSON); `--verzoek` also asks every partner that received data; `inzage queue` lists the
    /// partners' inzageverzoeken for the privacy officer.
    Inzage(node::cli::inzage::InzageArgs),
    /// Which data subjects' fields went to a partner in a window, from the disclosure log (Afspraak 8d).
    Datalek(node::cli::inzage::DatalekArgs),
    /// Purge the cases past this partner's bewaartermijn (the policy's term for its role), as an erasure does;
    /// `--dry-run` lists them and changes nothing. The running node purges daily by itself.
    Bewaartermijn(node::cli::bewaartermijn::BewaartermijnArgs),
    /// Disclosures outside the policy's flows (Afspraak 8f, bijzondere situaties): asked for by a medewerker,
    /// decided on by the privacy officer, recorded in the audit log and counted in the jaarverslag.
    #[command(subcommand)]
    Bijzonder(node::cli::bijzonder::BijzonderCommand),
    /// Check, explain, compare a policy, or ask why a partner gets a field.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// The federation CA (at the Transferpunt): create it, issue node certificates.
    #[command(subcommand)]
    Ca(CaCommand),
    /// The signed federation directory: partners, roles, endpoints, contact persons.
    #[command(subcommand)]
    Directory(DirectoryCommand),
    /// The local API's description.
    #[command(subcommand)]
    Api(ApiCommand),
    /// A whole demo federation in this process: seven nodes over real QUIC on 127.0.0.1, a scripted bemiddeling,
    /// what each node holds, the monitor's summary; then the nodes keep running until Ctrl-C.
    Demo {
        /// Where to put the CA, certificates and databases (a new or empty directory; kept afterwards).
        /// Default: a temporary directory, removed on exit.
        #[arg(long)]
        dir: Option<PathBuf>,
        /// Stop the nodes and exit once the scenario has played (for tests and CI).
        #[arg(long)]
        exit_after_scenario: bool,
    },
}

#[derive(Debug, Subcommand)]
enum ApiCommand {
    /// Print the OpenAPI 3 description (the same as GET /api/v1/openapi.json).
    Openapi,
}

fn init_logging(format: LogFormat) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("WEERTHUIS_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colours only for a person at a terminal: a journal or log file gets plain text.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

/// The demo prints its story on stdout; the nodes' logs go to stderr, warnings only unless `WEERTHUIS_LOG` says
/// otherwise (e.g. `WEERTHUIS_LOG=info` to see connections).
fn init_demo_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("WEERTHUIS_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,sqlx=error"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
    tracing::info!("shutting down");
}

async fn run(command: Command) -> anyhow::Result<u8> {
    let mut stdout = std::io::stdout().lock();
    match command {
        Command::Policy(cmd) if cmd.needs_node() => {
            node::cli::policy::run_on_node(cmd, &mut stdout).await
        }
        Command::Policy(cmd) => node::cli::policy::run(cmd, &mut stdout),
        Command::Ca(cmd) => {
            node::cli::pki::ca(cmd, &mut stdout)?;
            Ok(0)
        }
        Command::Directory(cmd) => {
            node::cli::pki::directory_on_node(cmd, &mut stdout).await?;
            Ok(0)
        }
        Command::Api(ApiCommand::Openapi) => {
            use std::io::Write;
            writeln!(
                stdout,
                "{}",
                serde_json::to_string_pretty(&node::api::openapi::spec())?
            )?;
            Ok(0)
        }
        Command::Init {
            dir,
            partner,
            database,
        } => {
            node::cli::admin::init(&dir.dir, partner, database, &mut stdout).await?;
            Ok(0)
        }
        Command::Run(dir) => {
            drop(stdout);
            let config = node::config::Config::load(&dir.dir)?;
            init_logging(config.log.format);
            let started = node::app::start(&dir.dir).await?;
            let listener = tokio::net::TcpListener::bind(started.config.api.listen).await?;
            tracing::info!(partner = %started.node.partner(), addr = %listener.local_addr()?, "local API listening");
            axum::serve(listener, started.router())
                .with_graceful_shutdown(shutdown_signal())
                .await?;
            started.shutdown().await;
            tracing::info!("stopped");
            Ok(0)
        }
        Command::Host(node::cli::host::HostCommand::Run { dir }) => {
            drop(stdout);
            let config = node::host::HostConfig::load(&dir.dir)?;
            init_logging(config.log.format);
            let (config, running) = node::host::start(&dir.dir).await?;
            let listener = tokio::net::TcpListener::bind(config.api.listen).await?;
            tracing::info!(tenants = config.tenants.len(), addr = %listener.local_addr()?, "host listening");
            axum::serve(listener, running.router())
                .with_graceful_shutdown(shutdown_signal())
                .await?;
            running.shutdown().await;
            tracing::info!("stopped");
            Ok(0)
        }
        Command::Host(cmd) => {
            node::cli::host::run(cmd, &mut stdout).await?;
            Ok(0)
        }
        Command::Demo {
            dir,
            exit_after_scenario,
        } => {
            drop(stdout);
            init_demo_logging();
            let options = node::demo::Options {
                dir,
                exit_after_scenario,
            };
            node::demo::run(options, &mut std::io::stdout(), shutdown_signal()).await?;
            Ok(0)
        }
        Command::User(cmd) => {
            node::cli::admin::user(cmd, &mut stdout).await?;
            Ok(0)
        }
        Command::Totp { key } => match node::werkplek::auth::totp_code_now(key.trim(), 0) {
            Some(code) => {
                std::io::Write::write_all(&mut stdout, format!("{code}\n").as_bytes())?;
                Ok(0)
            }
            None => {
                anyhow::bail!("{key:?} is not a TOTP key (base32, as `user add --login` prints it)")
            }
        },
        Command::Audit(cmd) => node::cli::admin::audit(cmd, &mut stdout).await,
        Command::Import(args) => node::cli::admin::import_command(args, &mut stdout).await,
        Command::Inzage(args) => node::cli::inzage::inzage(args, &mut stdout).await,
        Command::Datalek(args) => node::cli::inzage::datalek(args, &mut stdout).await,
        Command::Case(cmd) => {
            node::cli::admin::case(cmd, &mut stdout).await?;
            Ok(0)
        }
        Command::Jaarverslag {
            dir,
            jaar,
            out,
            drempel,
        } => {
            node::cli::admin::jaarverslag(&dir.dir, jaar, drempel, &out, &mut stdout).await?;
            Ok(0)
        }
        Command::Bewaartermijn(args) => {
            let today = time::OffsetDateTime::now_utc().date();
            node::cli::bewaartermijn::run(&args, today, &mut stdout).await?;
            Ok(0)
        }
        Command::Bijzonder(cmd) => {
            node::cli::bijzonder::run(cmd, &mut stdout).await?;
            Ok(0)
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Runtime::new() {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the async runtime: {e}");
            return ExitCode::from(2);
        }
    };
    match runtime.block_on(run(cli.command)) {
        Ok(code) => ExitCode::from(code),
        Err(e) => {
            // `{:#}` prints the whole chain: "policy x is refused: policy breaks 1 invariant(s): ...".
            eprintln!("error: {e:#}");
            ExitCode::from(2)
        }
    }
}
