//! `weerthuis host init | add | list`: set up a host of several small partners of one role (see `crate::host`).
//! `weerthuis host run` is in `main.rs`, beside `weerthuis run`, since both own the process's signals and logging.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Subcommand};
use policies::{PartnerId, Role};

use crate::config::ApiConfig;
use crate::host::{self, HostConfig};

/// Where the host's directory is.
#[derive(Debug, Args)]
pub struct HostDirArg {
    /// The host's directory (holds weerthuis-host.toml and, under tenants/, each hosted partner's data directory).
    #[arg(long, env = "WEERTHUIS_HOST_DIR", default_value = ".")]
    pub dir: PathBuf,
}

/// Host several small partners of one role in one process, each its own node and controller.
#[derive(Debug, Subcommand)]
pub enum HostCommand {
    /// Create a host's directory for partners of one role.
    Init {
        /// The host's directory.
        #[command(flatten)]
        dir: HostDirArg,
        /// The role every tenant has: zorgaanbieder, corporatie or gemeente.
        #[arg(long)]
        role: Role,
        /// Where the one HTTP listener of every tenant's werkplek and API listens.
        #[arg(long, default_value = "127.0.0.1:8080")]
        listen: SocketAddr,
    },
    /// Add a partner as a tenant: its own data directory (configuration, database, keys, first beheerder) under
    /// tenants/. Then give it a certificate (`weerthuis ca issue --out <its dir>`) and a [federation] section,
    /// as for any node.
    Add {
        /// The host's directory.
        #[command(flatten)]
        dir: HostDirArg,
        /// The partner, e.g. zorgaanbieder:ZA-12.
        #[arg(long)]
        partner: PartnerId,
        /// The host name its staff and systems reach it by (requests with this Host header go to it).
        #[arg(long)]
        hostname: String,
        /// A PostgreSQL URL for this tenant alone; default: an SQLite file in its data directory.
        #[arg(long)]
        database: Option<String>,
    },
    /// List the tenants: partner, host name, data directory.
    List {
        /// The host's directory.
        #[command(flatten)]
        dir: HostDirArg,
    },
    /// Run every tenant (its federation side, its purge) and serve them all on the host's HTTP listener until
    /// Ctrl-C or SIGTERM.
    Run {
        /// The host's directory.
        #[command(flatten)]
        dir: HostDirArg,
    },
}

/// Run `host init`, `host add` or `host list` (`host run` is the binary's).
pub async fn run(cmd: HostCommand, out: &mut impl Write) -> anyhow::Result<()> {
    match cmd {
        HostCommand::Init { dir, role, listen } => {
            if role == Role::Transferpunt {
                anyhow::bail!(
                    "--role transferpunt: the covenant has one Transferpunt, which runs its own node (rule: a host serves small partners)"
                );
            }
            host::init(
                &dir.dir,
                role,
                ApiConfig {
                    listen,
                    ..ApiConfig::default()
                },
            )?;
            writeln!(
                out,
                "Created a host for {role} partners in {} (HTTP on {listen})",
                dir.dir.display()
            )?;
            writeln!(
                out,
                "Next: weerthuis host add --dir {} --partner {role}:<code> --hostname <name>",
                dir.dir.display()
            )?;
        }
        HostCommand::Add {
            dir,
            partner,
            hostname,
            database,
        } => {
            let (tenant, tenant_dir) =
                host::add_tenant(&dir.dir, partner, &hostname, database).await?;
            writeln!(
                out,
                "Added tenant {} at http://{}/ (data directory {})",
                tenant.partner,
                tenant.hostname,
                tenant_dir.display()
            )?;
            crate::cli::admin::first_beheerder(&tenant_dir, out).await?;
            writeln!(
                out,
                "Next: weerthuis ca issue --ca <ca dir> --partner {} --out {}, add a [federation] section to its \
                 weerthuis.toml (its own UDP port), list that port as its endpoint in the directory, then \
                 weerthuis host run --dir {}",
                tenant.partner,
                tenant_dir.display(),
                dir.dir.display()
            )?;
        }
        HostCommand::List { dir } => {
            let cfg = HostConfig::load(&dir.dir)?;
            writeln!(
                out,
                "{} tenant(s), role {}, HTTP on {}",
                cfg.tenants.len(),
                cfg.role,
                cfg.api.listen
            )?;
            for t in &cfg.tenants {
                writeln!(
                    out,
                    "  {}  {}  {}",
                    t.partner,
                    t.hostname,
                    cfg.tenant_dir(&dir.dir, t).display()
                )?;
            }
        }
        HostCommand::Run { .. } => {
            anyhow::bail!("weerthuis host run is run by the binary, which owns the signals")
        }
    }
    Ok(())
}
