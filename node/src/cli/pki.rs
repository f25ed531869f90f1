//! `weerthuis ca | directory`: the Transferpunt's PKI chores — create the federation CA, issue and renew node
//! certificates, print a key's fingerprint (for the directory's revocation list), sign, show and install the
//! federation directory.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use clap::Subcommand;
use protocol::PeerId;
use protocol::pki::{Directory, FederationCa, certs_from_pem, key_fingerprint};
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
    /// Renew a node certificate before it expires: the same partner id, a new key (node.pem, node.key in the
    /// output directory). Revoke the old key in the directory if it may have been stolen.
    Renew {
        /// The CA directory.
        #[arg(long)]
        ca: PathBuf,
        /// The certificate to renew (the node's node.pem).
        #[arg(long)]
        cert: PathBuf,
        /// Where to write the new node.pem and node.key (must not hold them yet).
        #[arg(long)]
        out: PathBuf,
        /// Validity in days.
        #[arg(long, default_value_t = 397)]
        days: i64,
    },
    /// Print a certificate's key fingerprint (SHA-256 of its public key), what the directory's `revoked` list
    /// names, and when it expires.
    Fingerprint {
        /// The certificate (PEM).
        cert: PathBuf,
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
    /// Verify a signed directory against the CA certificate and print it: partners, contact persons, revoked
    /// keys.
    Show {
        /// The CA certificate (federation-ca.pem).
        #[arg(long)]
        ca: PathBuf,
        /// The signed directory.
        input: PathBuf,
    },
    /// Give a node a signed directory: verified against the node's federation CA and stored (refused when its
    /// version is below one the node holds). A running node puts it in force within a second, without a
    /// restart; at the Transferpunt it is then passed on to every partner.
    Install {
        /// The data directory.
        #[command(flatten)]
        dir: crate::cli::admin::DirArg,
        /// The signed directory (from `directory sign`).
        signed: PathBuf,
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
        CaCommand::Renew {
            ca,
            cert,
            out: dir,
            days,
        } => {
            let ca = load_ca(&ca)?;
            let old = certs_from_pem(&read(&cert)?)?.remove(0);
            let (partner, ck) = ca
                .renew(
                    &old,
                    now,
                    now - Duration::hours(1),
                    now + Duration::days(days),
                )
                .with_context(|| format!("{} is not renewed", cert.display()))?;
            std::fs::create_dir_all(&dir)?;
            write_secret(&dir.join(NODE_KEY), &ck.key_pem)?;
            std::fs::write(dir.join(NODE_CERT), &ck.cert_pem)?;
            let new = certs_from_pem(&ck.cert_pem)?.remove(0);
            writeln!(
                out,
                "Renewed the certificate of {partner}, valid {days} days, with a new key, in {}",
                dir.display()
            )?;
            writeln!(out, "  old key: {}", key_fingerprint(&old)?)?;
            writeln!(out, "  new key: {}", key_fingerprint(&new)?)?;
            writeln!(
                out,
                "  install it at the node and restart it; if the old key may have been stolen, list it under \
                 `revoked` in the next directory"
            )?;
        }
        CaCommand::Fingerprint { cert } => {
            let der = certs_from_pem(&read(&cert)?)?.remove(0);
            let partner = protocol::pki::peer_id_of(&der)
                .map(|p| p.to_string())
                .unwrap_or_else(|e| format!("(no partner id: {e})"));
            writeln!(out, "partner:   {partner}")?;
            writeln!(out, "key:       {}", key_fingerprint(&der)?)?;
            writeln!(out, "not after: {}", protocol::pki::not_after(&der)?)?;
        }
    }
    Ok(())
}

/// Run a directory command that works on a node's data directory (`install`).
pub async fn directory_on_node(cmd: DirectoryCommand, out: &mut impl Write) -> anyhow::Result<()> {
    let DirectoryCommand::Install { dir, signed } = cmd else {
        return directory(cmd, out);
    };
    let (cfg, node) = crate::app::open(&dir.dir).await?;
    let result = async {
        let files = cfg.federation.as_ref().with_context(|| {
            format!(
                "{} has no [federation] section: there is no federation CA to verify the directory against",
                dir.dir.display()
            )
        })?;
        let ca_pem = read(&files.resolved(&dir.dir).ca)?;
        let file = crate::app::read_signed_directory(&signed)?;
        let verified = crate::directory::verify(&file, &ca_pem)
            .with_context(|| format!("{} is not installed", signed.display()))?;
        let new = crate::directory::store(node.store(), &file, &verified)
            .await
            .with_context(|| format!("{} is not installed", signed.display()))?;
        anyhow::Ok((verified, new))
    }
    .await;
    node.store().close().await;
    let (verified, new) = result?;
    if new {
        writeln!(
            out,
            "Installed directory version {} ({} partners, {} revoked keys); a running node puts it in force within \
             a second",
            verified.version,
            verified.partners.len(),
            verified.revoked.len()
        )?;
    } else {
        writeln!(
            out,
            "Directory version {} was installed already",
            verified.version
        )?;
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
            crate::directory::validate(&dir)
                .with_context(|| format!("{} is not signed", input.display()))?;
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
            if let Err(e) = crate::directory::validate(&dir) {
                writeln!(out, "  INVALID: {e}")?;
            }
            for p in &dir.partners {
                writeln!(
                    out,
                    "  {}\t{}\t{}",
                    p.id,
                    p.name,
                    p.endpoint.as_deref().unwrap_or("-")
                )?;
                for c in &p.contacts {
                    writeln!(
                        out,
                        "      contact: {} <{}>{}",
                        c.naam,
                        c.email,
                        c.telefoon
                            .as_deref()
                            .map(|t| format!(", {t}"))
                            .unwrap_or_default()
                    )?;
                }
            }
            if !dir.revoked.is_empty() {
                writeln!(out, "Revoked keys:")?;
                for r in &dir.revoked {
                    writeln!(
                        out,
                        "  {}\t{}\t{}",
                        r.partner,
                        r.key,
                        r.reason.as_deref().unwrap_or("-")
                    )?;
                }
            }
        }
        DirectoryCommand::Install { .. } => {
            anyhow::bail!("directory install runs on a node (internal error: dispatched wrongly)")
        }
    }
    Ok(())
}
