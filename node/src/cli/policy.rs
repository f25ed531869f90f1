//! `weerthuis policy …`: check, explain, why and diff a policy file, for a privacy officer and for the
//! Transferpunt before it signs a new version.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand, ValueEnum};
use policies::policy::COVENANT_POLICY;
use policies::policy::space::{Access, Request};
use policies::{
    CaseDocuments, DocumentKind, Fase, FieldId, Gemeenten, PartnerId, Policy, Relation, Role,
    Validator, Voorziening,
};

/// Work with a policy file (the covenant's data agreements as data).
#[derive(Debug, Subcommand)]
pub enum PolicyCommand {
    /// Parse a policy, prove its invariants over every request and run its examples.
    Check(FileArg),
    /// Print, per role, which fields it receives under which flow, purpose and basis, in plain Dutch (Markdown).
    Explain {
        /// The policy file.
        #[command(flatten)]
        file: FileArg,
        /// Only this role.
        #[arg(long, value_parser = parse_role)]
        role: Option<Role>,
    },
    /// Explain why a partner does or does not get (or may write) a field of a described case.
    Why(WhyArgs),
    /// Sign a policy with the Transferpunt's node key under a sequence number, after checking it (run a what-if
    /// first). The sequence must be above every one published before: nodes refuse a lower one as a replay.
    Sign {
        /// The policy file.
        file: PathBuf,
        /// The Transferpunt's node key (node.key).
        #[arg(long)]
        key: PathBuf,
        /// The version's sequence number (1, 2, …), signed with it; decides which version is newest.
        #[arg(long)]
        sequence: u64,
        /// Where to write the signed policy (JSON).
        #[arg(long)]
        out: PathBuf,
    },
    /// At the Transferpunt: store a signed policy version, to be passed to every partner and put in force on its
    /// effective date.
    Publish {
        /// The data directory.
        #[command(flatten)]
        dir: crate::cli::admin::DirArg,
        /// The signed policy (from `policy sign`).
        signed: PathBuf,
    },
    /// At the Transferpunt: sign "revoke sequence N" with the node key and store it, to be passed to every
    /// partner. No node puts that version in force (again); one that has it in force falls back to the highest
    /// version before it.
    Revoke {
        /// The data directory.
        #[command(flatten)]
        dir: crate::cli::admin::DirArg,
        /// The sequence number of the version to revoke.
        #[arg(long)]
        sequence: u64,
        /// The Transferpunt's node key; by default the key of the node's [federation] section.
        #[arg(long)]
        key: Option<PathBuf>,
    },
    /// For this node's privacy officer: the stored versions not yet in force, and for each, in Dutch, what this
    /// node would newly disclose under it (the exact diff, restricted to this node's role as sender).
    Pending {
        /// The data directory.
        #[command(flatten)]
        dir: crate::cli::admin::DirArg,
    },
    /// For this node's privacy officer: accept a version that widens what this node discloses, so it is put in
    /// force on its date (recorded in the node's store and audit log).
    Accept {
        /// The data directory.
        #[command(flatten)]
        dir: crate::cli::admin::DirArg,
        /// The version, by label (2026.3) or sequence number (3).
        version: String,
        /// Who accepts it (name or function), for the audit log.
        #[arg(long, default_value = "privacy officer")]
        by: String,
    },
    /// Show exactly which fields became allowed or disallowed, per role and relation, from OLD to NEW.
    Diff {
        /// The policy in force.
        old: PathBuf,
        /// The proposed policy.
        new: PathBuf,
        /// Exit with status 1 when NEW allows anything OLD did not (a "no new disclosure" gate).
        #[arg(long)]
        deny_new: bool,
    },
}

/// The policy file to read.
#[derive(Debug, Args)]
pub struct FileArg {
    /// The policy file (TOML). Without it: the covenant policy shipped with this release.
    pub file: Option<PathBuf>,
}

/// A described case and the question to explain.
#[derive(Debug, Args)]
pub struct WhyArgs {
    #[command(flatten)]
    file: FileArg,
    /// The field, as document.field (e.g. registratie.reden_dakloosheid).
    #[arg(long)]
    field: String,
    /// Ask about writing the field instead of receiving it.
    #[arg(long)]
    write: bool,
    /// A case as JSON ({"registratie": {...}, "aanmeldbericht": [{...}], ...}); with --partner, the facts (phase,
    /// consent, relations) are derived from it.
    #[arg(long, requires = "partner", conflicts_with_all = ["role", "relation", "phase", "consent", "voorziening"])]
    case: Option<PathBuf>,
    /// The partner asked about, with --case (e.g. corporatie:elkien).
    #[arg(long)]
    partner: Option<PartnerId>,
    /// The partner's role, when describing the case by hand.
    #[arg(long, value_parser = parse_role, required_unless_present = "case")]
    role: Option<Role>,
    /// The partner's relation to the case (e.g. toegewezen_corporatie, herkomstgemeente, geen).
    #[arg(long, value_parser = parse_relation)]
    relation: Option<Relation>,
    /// The case's phase.
    #[arg(long, value_parser = parse_phase, default_value = "bemiddeling")]
    phase: Fase,
    /// Whether the client consented to data exchange.
    #[arg(long, value_enum, default_value_t = YesNo::Yes)]
    consent: YesNo,
    /// Beschermd wonen or maatschappelijke opvang.
    #[arg(long, value_parser = parse_voorziening, default_value = "maatschappelijke_opvang")]
    voorziening: Voorziening,
}

/// yes or no.
#[derive(Debug, Clone, Copy, ValueEnum)]
pub enum YesNo {
    /// Yes.
    Yes,
    /// No.
    No,
}

fn parse_role(s: &str) -> Result<Role, String> {
    Role::from_name(s).ok_or_else(|| {
        format!(
            "unknown role; one of: {}",
            Role::ALL.map(|r| r.name()).join(", ")
        )
    })
}

fn parse_relation(s: &str) -> Result<Relation, String> {
    Relation::from_name(s).ok_or_else(|| {
        format!(
            "unknown relation; one of: {}",
            Relation::ALL.map(|r| r.name()).join(", ")
        )
    })
}

fn parse_phase(s: &str) -> Result<Fase, String> {
    Fase::from_name(s).ok_or_else(|| {
        format!(
            "unknown phase; one of: {}",
            Fase::ALL.map(|r| r.name()).join(", ")
        )
    })
}

fn parse_voorziening(s: &str) -> Result<Voorziening, String> {
    Voorziening::from_name(s)
        .ok_or_else(|| "expected beschermd_wonen or maatschappelijke_opvang".to_string())
}

fn read(file: &FileArg) -> anyhow::Result<(String, String)> {
    match &file.file {
        None => Ok((
            "the shipped covenant policy".into(),
            COVENANT_POLICY.to_string(),
        )),
        Some(p) => Ok((
            p.display().to_string(),
            std::fs::read_to_string(p)
                .with_context(|| format!("cannot read policy file {}", p.display()))?,
        )),
    }
}

fn load(name: &str, text: &str) -> anyhow::Result<Policy> {
    Policy::load(text).with_context(|| format!("policy {name} is refused"))
}

/// Run a policy command, writing its report to `out`. Returns the process exit status.
pub fn run(cmd: PolicyCommand, out: &mut impl Write) -> anyhow::Result<u8> {
    match cmd {
        PolicyCommand::Check(file) => {
            let (name, text) = read(&file)?;
            let p = load(&name, &text)?;
            let requests = Request::all().count();
            writeln!(
                out,
                "OK: {name}: {} version {} (effective {}): {} flows, {} write rules, {} invariants ({} baseline) hold \
                 over all {requests} requests; {} examples pass.",
                p.meta.name,
                p.meta.version,
                p.meta.effective_from,
                p.flows.len(),
                p.writes.len(),
                p.invariants.len(),
                p.invariants.iter().filter(|i| i.baseline).count(),
                p.examples.len()
            )?;
            Ok(0)
        }
        PolicyCommand::Explain { file, role } => {
            let (name, text) = read(&file)?;
            let p = load(&name, &text)?;
            write!(out, "{}", p.explain_markdown(role))?;
            Ok(0)
        }
        PolicyCommand::Why(args) => why(args, out),
        PolicyCommand::Sign {
            file,
            key,
            sequence,
            out: path,
        } => {
            let body = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let key_pem = std::fs::read_to_string(&key)
                .with_context(|| format!("cannot read {}", key.display()))?;
            let signed = crate::distribution::SignedPolicy::sign(&body, sequence, &key_pem)
                .with_context(|| format!("policy {} is not signed", file.display()))?;
            std::fs::write(&path, serde_json::to_string_pretty(&signed)?)?;
            let p = Policy::load(&body)?;
            writeln!(
                out,
                "Signed {} version {} as sequence {sequence} (effective {}): {}",
                p.meta.name,
                p.meta.version,
                p.meta.effective_from,
                path.display()
            )?;
            Ok(0)
        }
        PolicyCommand::Publish { .. }
        | PolicyCommand::Revoke { .. }
        | PolicyCommand::Pending { .. }
        | PolicyCommand::Accept { .. } => {
            bail!("this policy command runs on a node (internal error: dispatched wrongly)")
        }
        PolicyCommand::Diff { old, new, deny_new } => {
            let old_p = load_path(&old)?;
            let new_p = load_path(&new)?;
            let diff = old_p.diff(&new_p);
            writeln!(
                out,
                "# Verschil {} {} → {} {}",
                old_p.meta.name, old_p.meta.version, new_p.meta.name, new_p.meta.version
            )?;
            write!(out, "{diff}")?;
            let widened = diff.entries.iter().any(|e| e.added);
            Ok(if deny_new && widened { 1 } else { 0 })
        }
    }
}

impl PolicyCommand {
    /// Whether the command works on a node's data directory ([`run_on_node`]) rather than on files ([`run`]).
    pub fn needs_node(&self) -> bool {
        matches!(
            self,
            PolicyCommand::Publish { .. }
                | PolicyCommand::Revoke { .. }
                | PolicyCommand::Pending { .. }
                | PolicyCommand::Accept { .. }
        )
    }
}

/// Run a policy command that works on a node's data directory (`publish`, `revoke`, `pending`, `accept`).
/// Returns the process exit status.
pub async fn run_on_node(cmd: PolicyCommand, out: &mut impl Write) -> anyhow::Result<u8> {
    match cmd {
        PolicyCommand::Publish { dir, signed } => {
            crate::cli::admin::publish_policy(&dir.dir, &signed, out).await?;
            Ok(0)
        }
        PolicyCommand::Revoke { dir, sequence, key } => {
            revoke(&dir.dir, sequence, key.as_deref(), out).await?;
            Ok(0)
        }
        PolicyCommand::Pending { dir } => pending(&dir.dir, out).await,
        PolicyCommand::Accept { dir, version, by } => {
            let (_, node) = crate::app::open(&dir.dir).await?;
            let result = crate::distribution::accept(&node, &version, &by).await;
            node.store().close().await;
            let (v, new) =
                result.with_context(|| format!("policy version {version} is not accepted"))?;
            if new {
                writeln!(
                    out,
                    "Aanvaard: beleidsversie {} (volgnummer {}) door {by}. Deze node past haar toe vanaf {} \
                     (vastgelegd in het auditlog).",
                    v.version, v.sequence, v.effective_from
                )?;
            } else {
                writeln!(
                    out,
                    "Beleidsversie {} (volgnummer {}) was al aanvaard.",
                    v.version, v.sequence
                )?;
            }
            Ok(0)
        }
        other => run(other, out),
    }
}

/// `policy revoke`: at the Transferpunt, sign a revocation with the node key, check it against the node's own
/// certificate, and store it.
async fn revoke(
    dir: &Path,
    sequence: u64,
    key: Option<&Path>,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let (cfg, node) = crate::app::open(dir).await?;
    if node.partner().role() != Role::Transferpunt {
        bail!(
            "only the Transferpunt revokes policy versions; this node is {}",
            node.partner()
        );
    }
    let files = cfg
        .federation
        .as_ref()
        .context(
            "revoking needs the [federation] section (the node's certificate checks the signature)",
        )?
        .resolved(dir);
    let key_path = key.map_or(files.key.clone(), Path::to_path_buf);
    let key_pem = std::fs::read_to_string(&key_path)
        .with_context(|| format!("cannot read {}", key_path.display()))?;
    let cert_pem = std::fs::read_to_string(&files.certificate)
        .with_context(|| format!("cannot read {}", files.certificate.display()))?;
    let cert = protocol::pki::certs_from_pem(&cert_pem)?.remove(0);
    crate::distribution::SignedRevocation::sign(sequence, &key_pem)?
        .verify(&cert)
        .context("the key does not belong to this node's certificate")?;
    let result = crate::distribution::revoke(&node, sequence, &key_pem).await;
    node.store().close().await;
    let (_, version) = result.with_context(|| format!("sequence {sequence} is not revoked"))?;
    writeln!(
        out,
        "Revoked version {version} (sequence {sequence}): passed to every partner; no node puts it in force \
         (again), and one that has it in force falls back to the highest version before it."
    )?;
    Ok(())
}

/// `policy pending`: what the privacy officer must decide, in Dutch.
async fn pending(dir: &Path, out: &mut impl Write) -> anyhow::Result<u8> {
    let (cfg, node) = crate::app::open(dir).await?;
    let base = crate::app::load_policy(&cfg)?;
    let outlook = crate::distribution::outlook(&node, &base).await;
    node.store().close().await;
    let outlook = outlook.context("cannot read the stored policy versions")?;
    let me = node.partner();
    writeln!(
        out,
        "# Beleidsversies voor {me}\n\nNu in werking: versie {} ({}).",
        outlook.version,
        if outlook.sequence == 0 {
            "het eigen beleid van deze node".to_string()
        } else {
            format!("volgnummer {}", outlook.sequence)
        }
    )?;
    let waiting = outlook
        .upcoming
        .iter()
        .filter(|u| u.standing == crate::distribution::Standing::AwaitsAcceptance)
        .count();
    if outlook.upcoming.is_empty() {
        writeln!(out, "\nEr is geen nieuwere beleidsversie.")?;
    }
    for u in &outlook.upcoming {
        let v = &u.version;
        write!(
            out,
            "\n## Versie {} (volgnummer {}), ingangsdatum {}\n\n",
            v.version, v.sequence, v.effective_from
        )?;
        match &u.standing {
            crate::distribution::Standing::Automatic => writeln!(
                out,
                "Verruimt niet wat deze node verstrekt: gaat vanzelf in op de ingangsdatum."
            )?,
            crate::distribution::Standing::Accepted(a) => writeln!(
                out,
                "Verruimt wat deze node verstrekt; aanvaard door {} op {}: gaat in op de ingangsdatum.",
                a.accepted_by,
                policies::form::format_date(a.accepted_at.date())
            )?,
            crate::distribution::Standing::AwaitsAcceptance => writeln!(
                out,
                "WACHT OP UW AKKOORD. Deze versie verruimt wat deze node ({role}) verstrekt; zij gaat pas in \
                 als de privacy officer haar aanvaardt: weerthuis policy accept {}",
                v.sequence,
                role = me.role()
            )?,
        }
        if !u.newly.is_empty() {
            writeln!(
                out,
                "\nWat deze node onder deze versie nieuw zou verstrekken, per ontvanger en veld:"
            )?;
            write!(out, "{}", u.newly)?;
        }
    }
    if !outlook.revoked.is_empty() {
        writeln!(
            out,
            "\nIngetrokken (nooit meer in werking): volgnummer {}.",
            outlook
                .revoked
                .iter()
                .map(u64::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        )?;
    }
    writeln!(
        out,
        "\n{waiting} versie(s) wacht(en) op het akkoord van de privacy officer."
    )?;
    Ok(0)
}

fn load_path(p: &Path) -> anyhow::Result<Policy> {
    let text = std::fs::read_to_string(p)
        .with_context(|| format!("cannot read policy file {}", p.display()))?;
    load(&p.display().to_string(), &text)
}

fn why(args: WhyArgs, out: &mut impl Write) -> anyhow::Result<u8> {
    let (name, text) = read(&args.file)?;
    let p = load(&name, &text)?;
    let field = FieldId::parse(&args.field).with_context(|| {
        format!(
            "unknown field {:?}; write document.field, e.g. registratie.bsn",
            args.field
        )
    })?;
    let access = if args.write {
        Access::Write
    } else {
        Access::Receive
    };
    let requests: Vec<Request> = match (&args.case, &args.partner) {
        (Some(case_file), Some(partner)) => {
            let case = read_case(case_file)?;
            let facts = case.facts([partner]);
            let Some(voorziening) = facts.voorziening else {
                bail!(
                    "the case has no registratie.soort_voorziening; describe the case by hand with --role instead"
                );
            };
            facts
                .relations_of(partner)
                .into_iter()
                .map(|relation| Request {
                    role: partner.role(),
                    relation,
                    phase: facts.phase,
                    consent: facts.consent,
                    voorziening,
                    field,
                    access,
                })
                .collect()
        }
        _ => {
            let role = args
                .role
                .context("give --role (or --case with --partner)")?;
            let relation = match (args.relation, role) {
                (Some(r), _) => r,
                (None, Role::Transferpunt) => Relation::Transferpunt,
                (None, _) => bail!(
                    "give --relation: a {role} can be {}",
                    role.relations()
                        .iter()
                        .map(|r| r.name())
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            };
            if relation != Relation::Geen && !role.relations().contains(&relation) {
                bail!("a {role} cannot be {relation} to a case");
            }
            vec![Request {
                role,
                relation,
                phase: args.phase,
                consent: matches!(args.consent, YesNo::Yes),
                voorziening: args.voorziening,
                field,
                access,
            }]
        }
    };
    for (i, r) in requests.iter().enumerate() {
        if i > 0 {
            writeln!(out)?;
        }
        write!(out, "{}", p.why(r))?;
    }
    Ok(0)
}

/// Read a case file: an object with a form (or a list of forms) per document kind, validated as a node would.
fn read_case(path: &Path) -> anyhow::Result<CaseDocuments> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read case file {}", path.display()))?;
    let json: serde_json::Value = serde_json::from_str(&text)
        .with_context(|| format!("case file {} is not valid JSON", path.display()))?;
    let obj = json
        .as_object()
        .context("a case file is a JSON object with one entry per document")?;
    let today = time::OffsetDateTime::now_utc().date();
    let gemeenten = Gemeenten::friesland();
    let validator = Validator::new(&gemeenten, today);
    let mut case = CaseDocuments::new();
    for (name, value) in obj {
        let kind = DocumentKind::from_name(name)
            .with_context(|| format!("unknown document {name:?} in the case file"))?;
        let forms = match value {
            serde_json::Value::Array(items) => items.clone(),
            other => vec![other.clone()],
        };
        for f in forms {
            let form = validator
                .form(kind, &f)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
            case.insert(form);
        }
    }
    Ok(case)
}
