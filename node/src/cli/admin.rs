//! `weerthuis init | run | user | audit | import | case | jaarverslag`: set up and operate a node from its data
//! directory.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use clap::{Args, Subcommand};
use policies::{DocumentKind, PartnerId};
use time::OffsetDateTime;

use crate::access::UserRole;
use crate::app;
use crate::store::{CaseId, User};
use crate::werkplek::auth::{NewAccount, create_account};

/// Where the node's data directory is.
#[derive(Debug, Args)]
pub struct DirArg {
    /// The node's data directory (holds weerthuis.toml, the audit key and, by default, the SQLite database).
    #[arg(long, env = "WEERTHUIS_DIR", default_value = ".")]
    pub dir: PathBuf,
}

/// Manage API users.
#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a user and print its bearer token (shown once; only its hash is stored).
    Add {
        /// The data directory.
        #[command(flatten)]
        dir: DirArg,
        /// Who it is, e.g. "Anna de Vries" or "koppeling zaaksysteem".
        #[arg(long)]
        name: String,
        /// What it does, e.g. begeleider, uitstroomcoordinator, koppeling (the audit log's words).
        #[arg(long, default_value = "medewerker")]
        purpose: String,
        /// What it may reach: medewerker (cases), analist (monitor), privacyfunctionaris (audit log),
        /// beheerder (users).
        #[arg(long, default_value = "medewerker")]
        role: UserRole,
        /// A person's sign-in name for the werkplek: prints a password and a TOTP secret instead of a token.
        #[arg(long)]
        login: Option<String>,
    },
    /// List users (never their tokens).
    List(DirArg),
    /// Revoke a user's token.
    Revoke {
        /// The data directory.
        #[command(flatten)]
        dir: DirArg,
        /// The user id (from `user list`).
        id: String,
    },
}

/// The audit log.
#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Verify the hash chain: finds a changed, removed or reordered entry.
    Verify {
        /// The data directory.
        #[command(flatten)]
        dir: DirArg,
        /// A head printed by an earlier verify (SEQ:HASH): also detects entries cut from the end since.
        #[arg(long)]
        expect_head: Option<String>,
    },
    /// Export the log as OpenTelemetry spans (one per entry; a receipt links to the sender's disclosure), for a
    /// partner that collects traces. Names and pseudonyms only: the log holds no field values or BSNs. The chain
    /// is verified first; a broken chain exports nothing.
    Export {
        /// The data directory.
        #[command(flatten)]
        dir: DirArg,
        /// The format: an OTLP/JSON ExportTraceServiceRequest.
        #[arg(long, value_enum, default_value_t = ExportFormat::OtlpJson)]
        format: ExportFormat,
        /// Only entries that started on or after this day (YYYY-MM-DD, UTC).
        #[arg(long)]
        van: Option<String>,
        /// Only entries that started on or before this day (YYYY-MM-DD, UTC).
        #[arg(long)]
        tot: Option<String>,
        /// Write to this file instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
}

/// How `audit export` writes the log.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    /// OpenTelemetry OTLP/JSON (`ExportTraceServiceRequest`).
    OtlpJson,
}

/// Cases.
#[derive(Debug, Subcommand)]
pub enum CaseCommand {
    /// List cases, newest first: id, phase, forms and how many fields are still missing.
    List(DirArg),
    /// Show a case: its forms, phase, what is missing and the voorwaarden for bemiddeling (audited as a read).
    Show {
        /// The data directory.
        #[command(flatten)]
        dir: DirArg,
        /// The case id.
        id: String,
    },
    /// Erase a case at this node (vergetelheid, AVG art. 17): its documents with their whole history, the
    /// projections received and sent, sync states; an audit tombstone stays. Every partner that received part of
    /// it is told to delete that, at once or at its next connection.
    Erase {
        /// The data directory.
        #[command(flatten)]
        dir: DirArg,
        /// The case id.
        id: String,
        /// The ground for erasure (AVG art. 17(1) a–e), recorded in the audit log.
        #[arg(long, value_enum)]
        grond: crate::vergetelheid::Grond,
    },
    /// Correct values in this node's own forms (rectificatie, AVG art. 16) and rewrite each form without its
    /// history, so the wrong value is gone from every stored version. Every partner that received part of the
    /// case is told to replace what it holds, at once or at its next connection.
    Rectify {
        /// The data directory.
        #[command(flatten)]
        dir: DirArg,
        /// The case id.
        id: String,
        /// A corrected value: `FORM.FIELD=VALUE` (`FORM/INSTANCE.FIELD=VALUE` for kinds a case holds several of),
        /// e.g. `registratie.achternaam_voorletters="Jansen, P."`; the value is read as JSON when it is JSON
        /// (`true`, `3`, `["a"]`), otherwise as text. Repeat for several fields and forms: one rectification.
        #[arg(long = "set", value_name = "FORM.FIELD=VALUE")]
        set: Vec<String>,
        /// A value that should not be there at all: `FORM.FIELD` is removed.
        #[arg(long = "remove", value_name = "FORM.FIELD")]
        remove: Vec<String>,
    },
}

/// `weerthuis import`: cases from JSON files, or the Transferpunt's Excel uitstroommonitor.
#[derive(Debug, Args)]
pub struct ImportArgs {
    /// The data directory.
    #[command(flatten)]
    pub dir: DirArg,
    /// JSON files, one case per file (one entry per document).
    #[arg(required_unless_present_any = ["xlsx", "csv"], conflicts_with_all = ["xlsx", "csv"])]
    pub files: Vec<PathBuf>,
    /// The Excel uitstroommonitor (xlsx; also xlsm, xls, ods): one row per client, the evaluation's columns.
    /// Only at the Transferpunt's node.
    #[arg(long, conflicts_with = "csv")]
    pub xlsx: Option<PathBuf>,
    /// The uitstroommonitor as CSV (`;` or `,`, UTF-8 or Windows-1252, as Excel saves it).
    #[arg(long)]
    pub csv: Option<PathBuf>,
    /// A mapping file (TOML) for a workbook with other headers, another sheet or its own spellings of values.
    #[arg(long)]
    pub mapping: Option<PathBuf>,
    /// Import the valid rows and report the rows left out, instead of importing nothing when a row has a problem.
    #[arg(long)]
    pub skip_invalid: bool,
}

/// Run `weerthuis import`. Exit status 0 when everything was imported, 1 when a file or row was not.
pub async fn import_command(args: ImportArgs, out: &mut impl Write) -> anyhow::Result<u8> {
    let source = match (args.xlsx, args.csv) {
        (Some(p), _) => crate::import::Source::Workbook(p),
        (None, Some(p)) => crate::import::Source::Csv(p),
        (None, None) if args.mapping.is_some() || args.skip_invalid => {
            bail!("--mapping and --skip-invalid are for --xlsx or --csv, not JSON files")
        }
        (None, None) => return import(&args.dir.dir, &args.files, out).await,
    };
    let mapping = match &args.mapping {
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .with_context(|| format!("cannot read {}", path.display()))?;
            crate::import::Mapping::parse(&path.display().to_string(), &text)?
        }
        None => crate::import::Mapping::standard(),
    };
    let options = crate::import::Options {
        source,
        mapping,
        skip_invalid: args.skip_invalid,
    };
    let (_, node) = app::open(&args.dir.dir).await?;
    let result = crate::import::import(&node, &cli_user("import"), &options).await;
    node.store().close().await;
    let report = result?;
    report.write_nl(out)?;
    Ok(if report.complete() { 0 } else { 1 })
}

/// The user CLI actions are recorded under in the audit log.
fn cli_user(what: &str) -> User {
    User {
        id: format!("cli:{what}"),
        name: format!("weerthuis {what} (command line)"),
        purpose: what.into(),
        role: crate::access::UserRole::Medewerker,
        login: None,
        created_at: OffsetDateTime::now_utc(),
        revoked: false,
    }
}

/// Create a node's data directory.
pub async fn init(
    dir: &Path,
    partner: PartnerId,
    database: Option<String>,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let cfg = app::init(dir, partner, database).await?;
    writeln!(out, "Initialised node {} in {}", cfg.partner, dir.display())?;
    writeln!(
        out,
        "  config:   {}",
        dir.join(crate::config::CONFIG_FILE).display()
    )?;
    writeln!(out, "  database: {}", redact(&cfg.database))?;
    first_beheerder(dir, out).await?;
    writeln!(
        out,
        "Next: weerthuis run --dir {}, sign in at http://{}/werkplek and make the other accounts there \
         (or: weerthuis user add --dir {} --name \"<naam>\" --login <naam> --role medewerker)",
        dir.display(),
        cfg.api.listen,
        dir.display()
    )?;
    Ok(())
}

/// Make the first beheerder of a new node, so the werkplek can be used to make everyone else's account, and print
/// what she needs to sign in (shown only now).
pub async fn first_beheerder(dir: &Path, out: &mut impl Write) -> anyhow::Result<()> {
    let (_, node) = app::open(dir).await?;
    let first = create_account(
        &node,
        "Eerste beheerder",
        "beheerder",
        UserRole::Beheerder,
        None,
    )
    .await?;
    node.store().close().await;
    writeln!(out, "The first beheerder of the werkplek (shown only now):")?;
    print_account(out, &first)
}

/// Print what a person needs to sign in, once.
fn print_account(out: &mut impl Write, new: &NewAccount) -> anyhow::Result<()> {
    writeln!(
        out,
        "  login:    {}  (role {})",
        new.user.login.as_deref().unwrap_or_default(),
        new.user.role
    )?;
    writeln!(out, "  password: {}", new.password)?;
    writeln!(
        out,
        "  TOTP key: {}  (type it into an authenticator app)",
        new.totp_secret
    )?;
    writeln!(out, "  TOTP URI: {}", new.otpauth_uri)?;
    Ok(())
}

/// Hide a password in a database URL.
fn redact(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(s), Some(at)) if at > s => {
            let creds = &url[s + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..s + 3], &url[at..]),
                None => url.to_string(),
            }
        }
        _ => url.to_string(),
    }
}

/// Run a user command.
pub async fn user(cmd: UserCommand, out: &mut impl Write) -> anyhow::Result<()> {
    match cmd {
        UserCommand::Add {
            dir,
            name,
            purpose,
            role,
            login,
        } => {
            let (_, node) = app::open(&dir.dir).await?;
            match login {
                Some(login) => {
                    let new = create_account(&node, &name, &login, role, None).await?;
                    print_account(out, &new)?;
                }
                None => {
                    let new = node
                        .store()
                        .create_user_with_role(&name, &purpose, role)
                        .await?;
                    writeln!(
                        out,
                        "Created user {} ({name}, {purpose}, role {role}). Its token, shown only now:",
                        new.user.id
                    )?;
                    writeln!(out, "{}", new.token)?;
                }
            }
            node.store().close().await;
        }
        UserCommand::List(dir) => {
            let (_, node) = app::open(&dir.dir).await?;
            for u in node.store().list_users().await? {
                writeln!(
                    out,
                    "{}\t{}\t{}\t{}\t{}\t{}{}",
                    u.id,
                    u.name,
                    u.login.as_deref().unwrap_or("-"),
                    u.role,
                    u.purpose,
                    u.created_at.date(),
                    if u.revoked { "\tINGETROKKEN" } else { "" }
                )?;
            }
            node.store().close().await;
        }
        UserCommand::Revoke { dir, id } => {
            let (_, node) = app::open(&dir.dir).await?;
            if !node.store().revoke_user(&id).await? {
                bail!("no user {id}");
            }
            writeln!(out, "Revoked {id}.")?;
            node.store().close().await;
        }
    }
    Ok(())
}

/// Run an audit command. Returns the exit status: 0 when the chain is intact, 1 when it is not.
pub async fn audit(cmd: AuditCommand, out: &mut impl Write) -> anyhow::Result<u8> {
    match cmd {
        AuditCommand::Export {
            dir,
            format: ExportFormat::OtlpJson,
            van,
            tot,
            out: file,
        } => {
            export(
                &dir.dir,
                van.as_deref(),
                tot.as_deref(),
                file.as_deref(),
                out,
            )
            .await
        }
        AuditCommand::Verify { dir, expect_head } => {
            let anchor = expect_head.as_deref().map(parse_head).transpose()?;
            let (_, node) = app::open(&dir.dir).await?;
            let mut result = node.store().verify_audit().await.map_err(|e| e.to_string());
            if let (Ok(head), Some((seq, hash))) = (&result, anchor) {
                let at = if seq == 0 {
                    Some(crate::audit::GENESIS.to_vec())
                } else {
                    node.store()
                        .audit_records(seq - 1, 1)
                        .await?
                        .into_iter()
                        .find(|r| r.seq == seq)
                        .map(|r| r.hash)
                };
                if at.as_deref() != Some(&hash[..]) {
                    result = Err(format!(
                        "the log holds {} entries and does not contain the head recorded earlier ({seq}:{}): entries were removed or rewritten",
                        head.seq,
                        crate::audit::hex(&hash)
                    ));
                }
            }
            node.store().close().await;
            match result {
                Ok(head) => {
                    writeln!(
                        out,
                        "OK: audit chain intact, {} entries; head {head}",
                        head.seq
                    )?;
                    writeln!(
                        out,
                        "Record the head elsewhere: a later verify against it also detects entries cut from the end."
                    )?;
                    Ok(0)
                }
                Err(e) => {
                    writeln!(out, "BROKEN: {e}")?;
                    Ok(1)
                }
            }
        }
    }
}

/// `audit export`: the log as OTLP/JSON, to `file` or `out`.
async fn export(
    dir: &Path,
    van: Option<&str>,
    tot: Option<&str>,
    file: Option<&Path>,
    out: &mut impl Write,
) -> anyhow::Result<u8> {
    let day = |text: &str, arg: &str| {
        let format = time::macros::format_description!("[year]-[month]-[day]");
        time::Date::parse(text, &format)
            .map_err(|_| anyhow::anyhow!("{arg}: expected a date as YYYY-MM-DD, got {text:?}"))
    };
    let from = van.map(|t| day(t, "--van")).transpose()?;
    let to = tot.map(|t| day(t, "--tot")).transpose()?;
    if let (Some(f), Some(t)) = (from, to)
        && t < f
    {
        bail!("--tot ({t}) lies before --van ({f})");
    }
    let (_, node) = app::open(dir).await?;
    let result = crate::logboek::export_otlp(&node, from, to).await;
    node.store().close().await;
    let request = match result {
        Ok(r) => r,
        Err(e @ crate::logboek::ExportError::Chain(_)) => {
            writeln!(out, "BROKEN: {e}")?;
            return Ok(1);
        }
        Err(e) => return Err(e.into()),
    };
    let spans: usize = request
        .resource_spans
        .iter()
        .flat_map(|r| &r.scope_spans)
        .map(|s| s.spans.len())
        .sum();
    let json = serde_json::to_string_pretty(&request)?;
    match file {
        Some(path) => {
            std::fs::write(path, json + "\n")
                .with_context(|| format!("writing {}", path.display()))?;
            writeln!(out, "written: {} ({spans} spans)", path.display())?;
        }
        None => writeln!(out, "{json}")?,
    }
    Ok(0)
}

/// Parse `SEQ:HASH` as printed by `audit verify`.
fn parse_head(s: &str) -> anyhow::Result<(u64, [u8; 32])> {
    let (seq, hash) = s
        .split_once(':')
        .context("expected SEQ:HASH as printed by audit verify")?;
    let seq = seq.parse().context("SEQ must be a number")?;
    if hash.len() != 64 {
        bail!("HASH must be 64 hex digits");
    }
    let mut out = [0u8; 32];
    for (i, b) in out.iter_mut().enumerate() {
        *b = u8::from_str_radix(&hash[2 * i..2 * i + 2], 16).context("HASH must be hex")?;
    }
    Ok((seq, out))
}

/// Store a signed policy version at the Transferpunt's node, after checking its signature against the node's own
/// certificate and proving its invariants.
pub async fn publish_policy(dir: &Path, signed: &Path, out: &mut impl Write) -> anyhow::Result<()> {
    let (cfg, node) = app::open(dir).await?;
    if node.partner().role() != policies::Role::Transferpunt {
        bail!(
            "only the Transferpunt publishes policy versions; this node is {}",
            node.partner()
        );
    }
    let files = cfg
        .federation
        .as_ref()
        .context("publishing needs the [federation] section (the node's certificate checks the signature)")?
        .resolved(dir);
    let cert_pem = std::fs::read_to_string(&files.certificate)?;
    let cert = protocol::pki::certs_from_pem(&cert_pem)?.remove(0);
    let text = std::fs::read_to_string(signed)
        .with_context(|| format!("cannot read {}", signed.display()))?;
    let signed = crate::distribution::SignedPolicy::from_bytes(text.as_bytes())?;
    let policy = signed.verify(&cert)?;
    let new = crate::distribution::store(&node, &signed, &policy).await;
    node.store().close().await;
    if !new? {
        writeln!(
            out,
            "Already published: {} version {} (sequence {}).",
            policy.meta.name, policy.meta.version, signed.sequence
        )?;
        return Ok(());
    }
    writeln!(
        out,
        "Published {} version {} (sequence {}): passed to every partner, in force from {} (where it widens what \
         a partner discloses, once that partner's privacy officer accepts it).",
        policy.meta.name, policy.meta.version, signed.sequence, policy.meta.effective_from
    )?;
    Ok(())
}

/// Import cases from JSON files: each file one case, an object with a form (or a list of forms, for documents a
/// case holds several of) per document. Everything is validated and checked as through the API; a file with any
/// error is reported and skipped whole.
pub async fn import(dir: &Path, files: &[PathBuf], out: &mut impl Write) -> anyhow::Result<u8> {
    let (_, node) = app::open(dir).await?;
    let user = cli_user("import");
    let mut failed = 0;
    for file in files {
        match import_one(&node, &user, file).await {
            Ok((id, n)) => writeln!(out, "{}: case {id} with {n} form(s)", file.display())?,
            Err(e) => {
                failed += 1;
                writeln!(out, "{}: NOT imported: {e:#}", file.display())?;
            }
        }
    }
    node.store().close().await;
    writeln!(out, "{} imported, {failed} refused.", files.len() - failed)?;
    Ok(if failed == 0 { 0 } else { 1 })
}

/// Forms are written in process order, so a registratie precedes what depends on it.
async fn import_one(
    node: &crate::service::Node,
    user: &User,
    file: &Path,
) -> anyhow::Result<(String, usize)> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("cannot read {}", file.display()))?;
    let json: serde_json::Value = serde_json::from_str(&text).context("not valid JSON")?;
    let obj = json
        .as_object()
        .context("expected an object with one entry per document")?;
    for name in obj.keys() {
        if DocumentKind::from_name(name).is_none() {
            bail!("unknown document {name:?}");
        }
    }
    // Check every form before the case exists, so a refused file leaves nothing behind.
    let gemeenten = policies::Gemeenten::friesland();
    let validator = policies::Validator::new(&gemeenten, OffsetDateTime::now_utc().date());
    for kind in DocumentKind::ALL {
        for form in forms_of(obj.get(kind.name())) {
            validator
                .form(kind, &form)
                .map_err(|e| anyhow::anyhow!("{e}"))?;
        }
    }
    let case = node.create_case().await?;
    let id: CaseId = case.id.parse().expect("ids the store makes parse");
    let mut n = 0;
    for kind in DocumentKind::ALL {
        for (i, form) in forms_of(obj.get(kind.name())).into_iter().enumerate() {
            let instance = matches!(
                kind,
                DocumentKind::Melding
                    | DocumentKind::Huurverloop
                    | DocumentKind::Ondersteuningsverloop
            )
            .then(|| format!("{kind}-{}", i + 1));
            node.write_form(user, &id, kind, instance.as_deref(), &form)
                .await
                .map_err(|e| {
                    anyhow::anyhow!(
                        "{kind}: {e} (case {id} was created and holds the forms before it)"
                    )
                })?;
            n += 1;
        }
    }
    Ok((case.id, n))
}

fn forms_of(v: Option<&serde_json::Value>) -> Vec<serde_json::Value> {
    match v {
        None => Vec::new(),
        Some(serde_json::Value::Array(items)) => items.clone(),
        Some(other) => vec![other.clone()],
    }
}

/// Run a case command.
pub async fn case(cmd: CaseCommand, out: &mut impl Write) -> anyhow::Result<()> {
    match cmd {
        CaseCommand::List(dir) => {
            let (_, node) = app::open(&dir.dir).await?;
            let mut offset = 0;
            loop {
                let page = node.list_cases(offset, 1000).await?;
                if page.is_empty() {
                    break;
                }
                offset += page.len();
                for c in page {
                    writeln!(
                        out,
                        "{}\t{}\t{}\t{} ontbrekend",
                        c.id,
                        c.fase,
                        c.documenten.join(","),
                        c.ontbrekend.len()
                    )?;
                }
            }
            node.store().close().await;
        }
        CaseCommand::Erase { dir, id, grond } => {
            let (_, node) = app::open(&dir.dir).await?;
            let case_id: CaseId = id
                .parse()
                .map_err(|_| anyhow::anyhow!("{id:?} is not a case id"))?;
            let mut user = cli_user("case-erase");
            user.role = crate::access::UserRole::Privacyfunctionaris;
            let erased = node.erase_case(&user, &case_id, grond).await?;
            writeln!(out, "case {} erased ({})", erased.case, grond.basis())?;
            for t in &erased.told {
                writeln!(out, "  {t} received part of it and is told to delete that")?;
            }
            if erased.told.is_empty() {
                writeln!(out, "  no partner received any of it")?;
            }
            node.store().close().await;
        }
        CaseCommand::Rectify {
            dir,
            id,
            set,
            remove,
        } => {
            let mut by_form: Vec<crate::rectificatie::Correction> = Vec::new();
            let pairs = set
                .iter()
                .map(|pair| {
                    let (target, value) = pair.split_once('=').ok_or_else(|| {
                        anyhow::anyhow!("--set {pair:?}: expected FORM.FIELD=VALUE")
                    })?;
                    let value = serde_json::from_str(value)
                        .unwrap_or_else(|_| serde_json::Value::String(value.to_string()));
                    Ok((target.to_string(), value))
                })
                .chain(
                    remove
                        .iter()
                        .map(|t| Ok((t.clone(), serde_json::Value::Null))),
                )
                .collect::<anyhow::Result<Vec<_>>>()?;
            for (target, value) in pairs {
                let (form, field) = target
                    .split_once('.')
                    .ok_or_else(|| anyhow::anyhow!("{target:?}: expected FORM.FIELD"))?;
                let (form, instance) = match form.split_once('/') {
                    Some((f, i)) => (f, Some(i.to_string())),
                    None => (form, None),
                };
                let kind = policies::DocumentKind::from_name(form).ok_or_else(|| {
                    anyhow::anyhow!("{target:?}: {form:?} is not a form of the covenant")
                })?;
                let at = match by_form
                    .iter()
                    .position(|c| c.kind == kind && c.instance == instance)
                {
                    Some(at) => at,
                    None => {
                        by_form.push(crate::rectificatie::Correction {
                            kind,
                            instance,
                            fields: serde_json::Map::new(),
                        });
                        by_form.len() - 1
                    }
                };
                by_form[at].fields.insert(field.to_string(), value);
            }
            let (_, node) = app::open(&dir.dir).await?;
            let case_id: CaseId = id
                .parse()
                .map_err(|_| anyhow::anyhow!("{id:?} is not a case id"))?;
            let mut user = cli_user("case-rectify");
            user.role = crate::access::UserRole::Privacyfunctionaris;
            let done = node.rectify(&user, &case_id, &by_form).await?;
            writeln!(
                out,
                "case {}: {} corrected; {} rewritten without history",
                done.case,
                done.fields.join(", "),
                done.documents.join(", ")
            )?;
            for t in &done.told {
                writeln!(out, "  {t} received part of it and is told to replace it")?;
            }
            if done.told.is_empty() {
                writeln!(out, "  no partner received any of it")?;
            }
            node.store().close().await;
        }
        CaseCommand::Show { dir, id } => {
            let (_, node) = app::open(&dir.dir).await?;
            let case_id: CaseId = id
                .parse()
                .map_err(|_| anyhow::anyhow!("{id:?} is not a case id"))?;
            let user = cli_user("case-show");
            let detail = node.case_detail(&user, &case_id).await?;
            let mut forms = serde_json::Map::new();
            for doc in &detail.summary.documenten {
                let (kind, instance) = match doc.split_once('/') {
                    Some((k, i)) => (k, Some(i)),
                    None => (doc.as_str(), None),
                };
                let kind = DocumentKind::from_name(kind).expect("stored kinds are known");
                let view = node.read_form(&user, &case_id, kind, instance).await?;
                forms.insert(doc.clone(), view.velden);
            }
            let shown = serde_json::json!({"casus": detail, "formulieren": forms});
            writeln!(out, "{}", serde_json::to_string_pretty(&shown)?)?;
            node.store().close().await;
        }
    }
    Ok(())
}

/// `weerthuis jaarverslag`: open the node in `dir`, build the jaarverslag of `jaar` from every case it holds and
/// write it into `out`.
pub async fn jaarverslag(
    dir: &Path,
    jaar: i32,
    drempel: u32,
    out: &Path,
    w: &mut impl Write,
) -> anyhow::Result<()> {
    let (_, node) = app::open(dir).await?;
    let cases = crate::monitor::load_cases(&node).await?;
    // The counts kept of cases purged after their bewaartermijn: a year's figures stay what they were.
    let bewaard = node.store().monitor_aggregates().await?;
    let mut report = crate::monitor::jaarverslag::build_met(
        &cases,
        &bewaard,
        jaar,
        drempel.max(1),
        node.gemeenten(),
    )?;
    // Disclosures outside the flows approved this year, per ground (Afspraak 8f): counts, suppressed as every
    // table of the report.
    let bijzonder = node.special_disclosure_counts(jaar).await?;
    report.tables.push(
        crate::monitor::suppress::Table::new(
            "Bijzondere verstrekkingen buiten de gegevensstromen (Afspraak 8f)",
            "Grond",
            bijzonder.iter().map(|(g, _)| g.clone()).collect(),
            vec!["Goedgekeurd".to_string()],
            bijzonder.iter().map(|(_, n)| vec![*n]).collect(),
            false,
        )
        .suppress(drempel.max(1)),
    );
    let written = report.write(out)?;
    writeln!(
        w,
        "Jaarverslag {jaar}: {} casussen gelezen, {} bestanden geschreven in {}",
        cases.len(),
        written.len(),
        out.display()
    )?;
    for path in written {
        writeln!(w, "  {}", path.display())?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #[test]
    fn database_passwords_are_not_printed() {
        assert_eq!(
            super::redact("postgres://wt:geheim@db/wt"),
            "postgres://wt:***@db/wt"
        );
        assert_eq!(
            super::redact("sqlite:///var/lib/wt/node.db"),
            "sqlite:///var/lib/wt/node.db"
        );
    }
}
