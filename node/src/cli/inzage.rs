//! `weerthuis inzage` (AVG art. 15, the federated inzage and the privacy officer's queue) and `weerthuis datalek`
//! (Afspraak 8d).

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::{Args, Subcommand};

use super::admin::DirArg;
use crate::app;
use crate::inzage::{self, Subject, datalek, render, verzoek};
use crate::service::Node;
use crate::store::CaseId;

/// `weerthuis inzage`: a person's inzage, or the queue of partners' inzageverzoeken.
#[derive(Debug, Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct InzageArgs {
    /// The queue, or marking a request handled.
    #[command(subcommand)]
    pub command: Option<InzageCommand>,
    /// The data directory.
    #[command(flatten)]
    pub dir: DirArg,
    /// The person's BSN (nine digits, checked with the elfproef).
    #[arg(long, conflicts_with = "casus")]
    pub bsn: Option<String>,
    /// A case id instead of a BSN (as a partner's inzageverzoek names the person).
    #[arg(long)]
    pub casus: Option<String>,
    /// Print the machine-readable JSON instead of the HTML report.
    #[arg(long)]
    pub json: bool,
    /// Write the report to this file instead of standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Also send a signed inzageverzoek to every partner that received data about the person from this node
    /// (the running node delivers them).
    #[arg(long)]
    pub verzoek: bool,
}

/// The privacy officer's queue of inzageverzoeken from partners.
#[derive(Debug, Subcommand)]
pub enum InzageCommand {
    /// List the inzageverzoeken partners sent this node (open ones first), and the ones this node sent.
    Queue {
        /// The data directory.
        #[command(flatten)]
        dir: DirArg,
        /// As JSON.
        #[arg(long)]
        json: bool,
    },
}

/// The datalek report's arguments.
#[derive(Debug, Args)]
pub struct DatalekArgs {
    /// The data directory.
    #[command(flatten)]
    pub dir: DirArg,
    /// The partner that received (`corporatie:elkien`).
    #[arg(long)]
    pub peer: String,
    /// First day of the window (YYYY-MM-DD, UTC, inclusive).
    #[arg(long)]
    pub van: String,
    /// Last day of the window (YYYY-MM-DD, UTC, inclusive).
    #[arg(long)]
    pub tot: String,
    /// Only this field (`document.veld`, e.g. `registratie.bsn`).
    #[arg(long)]
    pub veld: Option<String>,
    /// Only this case.
    #[arg(long)]
    pub casus: Option<String>,
    /// Also show each subject's name from the registratie this node holds.
    #[arg(long)]
    pub namen: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = DatalekFormat::Markdown)]
    pub format: DatalekFormat,
    /// Write to this file instead of standard output.
    #[arg(long)]
    pub out: Option<PathBuf>,
}

/// How the datalek report is written.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
pub enum DatalekFormat {
    /// Dutch text (Markdown).
    Markdown,
    /// JSON.
    Json,
    /// CSV, one disclosed field per row.
    Csv,
}

/// Parse and check a BSN given on the command line: the error names the rule.
pub fn parse_bsn(text: &str) -> anyhow::Result<policies::bsn::Bsn> {
    policies::bsn::Bsn::parse(text).map_err(|e| match e {
        policies::bsn::BsnError::Format => {
            anyhow::anyhow!("--bsn: a BSN has 9 digits (8 are padded with a leading 0)")
        }
        policies::bsn::BsnError::Elfproef => {
            anyhow::anyhow!("--bsn: not a valid BSN: it fails the elfproef (11-check)")
        }
    })
}

fn parse_case(text: &str, arg: &str) -> anyhow::Result<CaseId> {
    text.parse()
        .map_err(|_| anyhow::anyhow!("{arg}: not a case id (8-4-4-4-12 lowercase hex)"))
}

fn parse_day(text: &str, arg: &str) -> anyhow::Result<time::Date> {
    let format = time::macros::format_description!("[year]-[month]-[day]");
    time::Date::parse(text, &format)
        .map_err(|_| anyhow::anyhow!("{arg}: expected a date as YYYY-MM-DD, got {text:?}"))
}

fn emit(out: &mut impl Write, file: Option<&Path>, text: &str) -> anyhow::Result<()> {
    match file {
        Some(path) => {
            std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))?;
            writeln!(out, "written: {}", path.display())?;
        }
        None => out.write_all(text.as_bytes())?,
    }
    Ok(())
}

/// The node's private key from its federation files, to sign inzageverzoeken with.
fn load_signing_key(dir: &Path, node: &Node) -> anyhow::Result<()> {
    let cfg = crate::config::Config::load(dir)?;
    let files = cfg
        .federation
        .as_ref()
        .context("this node has no [federation] section: no partner to send an inzageverzoek to")?
        .resolved(dir);
    let key = std::fs::read_to_string(&files.key)
        .with_context(|| format!("reading the node key {}", files.key.display()))?;
    node.set_signing_key(key);
    Ok(())
}

/// Run `weerthuis inzage`.
pub async fn inzage(args: InzageArgs, out: &mut impl Write) -> anyhow::Result<u8> {
    if let Some(InzageCommand::Queue { dir, json }) = args.command {
        let (_, node) = app::open(&dir.dir).await?;
        let queue = verzoek::queue(&node).await?;
        let sent = node.store().outgoing_requests(None).await?;
        node.store().close().await;
        if json {
            let v = serde_json::json!({
                "ontvangen": queue.iter().map(|q| serde_json::json!({
                    "id": q.request.id, "van": q.request.sender, "casus": q.request.case_id.to_string(),
                    "gedaan_op": q.request.requested_at.to_string(), "ontvangen_op": q.request.received_at.to_string(),
                    "casus_bij_ons": q.held, "afgehandeld_op": q.request.handled_at.map(|t| t.to_string()),
                })).collect::<Vec<_>>(),
                "verzonden": sent.iter().map(|r| serde_json::json!({
                    "id": r.id, "aan": r.peer, "casus": r.case_id.to_string(),
                    "gedaan_op": r.created_at.to_string(), "bezorgd_op": r.delivered_at.map(|t| t.to_string()),
                })).collect::<Vec<_>>(),
            });
            writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
        } else {
            writeln!(out, "received inzageverzoeken ({}):", queue.len())?;
            for q in &queue {
                let r = &q.request;
                writeln!(
                    out,
                    "  {} from {} case {}{} requested {} {}",
                    r.id,
                    r.sender,
                    r.case_id,
                    if q.held { "" } else { " (not held here)" },
                    r.requested_at.date(),
                    match r.handled_at {
                        Some(t) => format!("handled {}", t.date()),
                        None => "OPEN".into(),
                    }
                )?;
            }
            writeln!(out, "sent inzageverzoeken ({}):", sent.len())?;
            for r in &sent {
                writeln!(
                    out,
                    "  {} to {} case {} {}",
                    r.id,
                    r.peer,
                    r.case_id,
                    if r.delivered_at.is_some() {
                        "delivered"
                    } else {
                        "waiting for the partner"
                    }
                )?;
            }
        }
        return Ok(0);
    }
    let subject = match (&args.bsn, &args.casus) {
        (Some(b), _) => Subject::Bsn(parse_bsn(b)?),
        (None, Some(c)) => Subject::Case(parse_case(c, "--casus")?),
        (None, None) => anyhow::bail!("give --bsn (or --casus) of the person"),
    };
    let (_, node) = app::open(&args.dir.dir).await?;
    let rapport = inzage::inzage(&node, None, &subject).await?;
    let text = if args.json {
        render::json(&rapport)
    } else {
        render::html(&rapport)
    };
    let mut sent = Vec::new();
    if args.verzoek && !rapport.casussen.is_empty() {
        // The key is needed only when there is someone to send to.
        let key_error = load_signing_key(&args.dir.dir, &node).err();
        let cases: Vec<CaseId> = rapport
            .casussen
            .iter()
            .filter_map(|c| c.casus.parse().ok())
            .collect();
        sent = match verzoek::request_from_partners(&node, None, &cases).await {
            Err(verzoek::VerzoekError::NoKey) => {
                return Err(key_error.unwrap_or_else(|| verzoek::VerzoekError::NoKey.into()));
            }
            r => r?,
        };
    }
    node.store().close().await;
    emit(out, args.out.as_deref(), &text)?;
    if args.verzoek {
        // On stderr, so the report on stdout stays one document.
        for r in &sent {
            eprintln!("inzageverzoek {} queued for {}", r.id, r.peer);
        }
        if sent.is_empty() {
            eprintln!(
                "no partner received data about this person from this node: no inzageverzoek sent"
            );
        }
    }
    Ok(0)
}

/// Run `weerthuis datalek`.
pub async fn datalek(args: DatalekArgs, out: &mut impl Write) -> anyhow::Result<u8> {
    let van = parse_day(&args.van, "--van")?;
    let tot = parse_day(&args.tot, "--tot")?;
    if tot < van {
        anyhow::bail!("--tot: the window ends ({tot}) before it starts ({van})");
    }
    if let Some(v) = &args.veld
        && policies::FieldId::parse(v).is_none()
    {
        anyhow::bail!(
            "--veld: {v:?} is not a field of the model (document.veld, e.g. registratie.bsn)"
        );
    }
    if let Some(c) = &args.casus {
        parse_case(c, "--casus")?;
    }
    args.peer
        .parse::<policies::PartnerId>()
        .map_err(|e| anyhow::anyhow!("--peer: {e}"))?;
    let (_, node) = app::open(&args.dir.dir).await?;
    let filter = datalek::Filter {
        partner: Some(args.peer.clone()),
        van,
        tot,
        veld: args.veld.clone(),
        casus: args.casus.clone(),
    };
    let report = datalek::datalek(&node, None, filter, args.namen).await?;
    node.store().close().await;
    let text = match args.format {
        DatalekFormat::Markdown => datalek::markdown(&report),
        DatalekFormat::Json => serde_json::to_string_pretty(&report)? + "\n",
        DatalekFormat::Csv => datalek::csv(&report),
    };
    emit(out, args.out.as_deref(), &text)?;
    Ok(0)
}
