//! `weerthuis ca | directory`: the Transferpunt's PKI chores — create the federation CA, issue node certificates,
//! sign the federation directory.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::Subcommand;
use protocol::PeerId;
use protocol::pki::{Directory, FederationCa};
use time::{Duration, OffsetDateTime};

use crate::app::load_directory;

/// File names inside a CA directory.
pub const CA_CERT: &str = "federation-ca.pem";
/// The CA's private key: keep it offline.
pub const CA_KEY: &str = "federation-ca.key";
/// A node's certificate file name.
pub const NODE_CERT: &str = "node.pem";
/// A node's key file name.
pub const NODE_KEY: &str = "node.key";

/// The federation CA.
#[derive(Debug, Subcommand)]
pub enum CaCommand {
    /// Create a federation CA in a new directory (federation-ca.pem, federation-ca.key).
    Create {
        /// The directory to create.
        #[arg(long)]
        out: PathBuf,
        /// The CA's name.
        #[arg(long, default_value = "Federatie Weer Thuis")]
        name: String,
        /// Validity in days.
        #[arg(long, default_value_t = 3650)]
        days: i64,
    },
    /// Issue a node certificate and key for a partner (node.pem, node.key in the output directory).
    Issue {
        /// The CA directory.
        #[arg(long)]
        ca: PathBuf,
        /// The partner, e.g. gemeente:GM0080.
        #[arg(long)]
        partner: PeerId,
        /// Where to write node.pem and node.key (a node's data directory, or a directory to hand over).
        #[arg(long)]
        out: PathBuf,
        /// Validity in days.
        #[arg(long, default_value_t = 397)]
        days: i64,
    },
}

/// The federation directory.
#[derive(Debug, Subcommand)]
pub enum DirectoryCommand {
    /// Sign a directory (JSON: version, partners with id, name, endpoint, contacts, werkgebied) with the CA key.
    Sign {
        /// The CA directory.
        #[arg(long)]
        ca: PathBuf,
        /// The directory to sign.
        input: PathBuf,
        /// Where to write the signed directory.
        #[arg(long)]
        out: PathBuf,
    },
    /// Verify a signed directory against the CA certificate and print it.
    Show {
        /// The CA certificate (federation-ca.pem).
        #[arg(long)]
        ca: PathBuf,
        /// The signed directory.
        input: PathBuf,
    },
}

fn read(p: &Path) -> anyhow::Result<String> {
    std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))
}

/// Write a file only the owner can read.
pub fn write_secret(path: &Path, text: &str) -> anyhow::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts
        .open(path)
        .with_context(|| format!("cannot create {} (does it exist already?)", path.display()))?;
    f.write_all(text.as_bytes())?;
    Ok(())
}

fn load_ca(dir: &Path) -> anyhow::Result<FederationCa> {
    Ok(FederationCa::from_pem(
        &read(&dir.join(CA_CERT))?,
        &read(&dir.join(CA_KEY))?,
    )?)
}

/// Run a CA command.
pub fn ca(cmd: CaCommand, out: &mut impl Write) -> anyhow::Result<()> {
    let now = OffsetDateTime::now_utc();
    match cmd {
        CaCommand::Create {
            out: dir,
            name,
            days,
        } => {
            std::fs::create_dir_all(&dir)?;
            let ca =
                FederationCa::create(&name, now - Duration::hours(1), now + Duration::days(days))?;
            std::fs::write(dir.join(CA_CERT), ca.cert_pem())?;
            write_secret(&dir.join(CA_KEY), &ca.key_pem())?;
            writeln!(out, "Created federation CA {name:?} in {}", dir.display())?;
            writeln!(out, "  {CA_CERT}: give it to every partner")?;
            writeln!(out, "  {CA_KEY}: keep it offline, at the Transferpunt")?;
        }
        CaCommand::Issue {
            ca,
            partner,
            out: dir,
            days,
        } => {
            let ca = load_ca(&ca)?;
            std::fs::create_dir_all(&dir)?;
            let ck = ca.issue(
                &partner,
                now - Duration::hours(1),
                now + Duration::days(days),
            )?;
            std::fs::write(dir.join(NODE_CERT), &ck.cert_pem)?;
            write_secret(&dir.join(NODE_KEY), &ck.key_pem)?;
            std::fs::write(dir.join(CA_CERT), ca.cert_pem())?;
            writeln!(
                out,
                "Issued a certificate for {partner} ({}), valid {days} days, in {}",
                partner.uri(),
                dir.display()
            )?;
        }
    }
    Ok(())
}

/// Run a directory command.
pub fn directory(cmd: DirectoryCommand, out: &mut impl Write) -> anyhow::Result<()> {
    match cmd {
        DirectoryCommand::Sign {
            ca,
            input,
            out: path,
        } => {
            let ca = load_ca(&ca)?;
            let dir: Directory = serde_json::from_str(&read(&input)?)
                .with_context(|| format!("{} is not a federation directory", input.display()))?;
            let signed = ca.sign_directory(&dir)?;
            std::fs::write(&path, serde_json::to_string_pretty(&signed)?)?;
            writeln!(
                out,
                "Signed directory version {} with {} partners: {}",
                dir.version,
                dir.partners.len(),
                path.display()
            )?;
        }
        DirectoryCommand::Show { ca, input } => {
            let dir = load_directory(&ca, &input)?;
            writeln!(out, "Directory version {} (signature valid):", dir.version)?;
            for p in &dir.partners {
                writeln!(
                    out,
                    "  {}\t{}\t{}",
                    p.id,
                    p.name,
                    p.endpoint.as_deref().unwrap_or("-")
                )?;
            }
        }
    }
    Ok(())
}
