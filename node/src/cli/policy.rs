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
    /// Sign a policy with the Transferpunt's node key, after checking it (run a what-if first).
    Sign {
        /// The policy file.
        file: PathBuf,
        /// The Transferpunt's node key (node.key).
        #[arg(long)]
        key: PathBuf,
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
            out: path,
        } => {
            let body = std::fs::read_to_string(&file)
                .with_context(|| format!("cannot read {}", file.display()))?;
            let key_pem = std::fs::read_to_string(&key)
                .with_context(|| format!("cannot read {}", key.display()))?;
            let signed = crate::distribution::SignedPolicy::sign(&body, &key_pem)
                .with_context(|| format!("policy {} is not signed", file.display()))?;
            std::fs::write(&path, serde_json::to_string_pretty(&signed)?)?;
            let p = Policy::load(&body)?;
            writeln!(
                out,
                "Signed {} version {} (effective {}): {}",
                p.meta.name,
                p.meta.version,
                p.meta.effective_from,
                path.display()
            )?;
            Ok(0)
        }
        PolicyCommand::Publish { .. } => {
            bail!("policy publish runs through the node (internal error: dispatched wrongly)")
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
