//! `weerthuis bijzonder`: disclosures outside the policy's flows (Afspraak 8f, bijzondere situaties) — asked for by
//! a medewerker, decided on by another person, the privacy officer (see `crate::bijzonder`).

use std::io::Write;
use std::path::PathBuf;

use clap::Subcommand;

use super::admin::DirArg;
use crate::app;
use crate::bijzonder::Grond;
use crate::store::{CaseId, User};

/// `weerthuis bijzonder …`.
#[derive(Debug, Subcommand)]
pub enum BijzonderCommand {
    /// Ask for a disclosure outside the flows: the case, the recipient, the fields, the ground and the reason.
    Aanvragen {
        /// The data directory.
        #[command(flatten)]
        dir: DirArg,
        /// The case id.
        #[arg(long)]
        casus: String,
        /// Who receives it (a partner, or a third party such as a crisisdienst), by name.
        #[arg(long)]
        ontvanger: String,
        /// A field to disclose, `form.field` (repeat for several).
        #[arg(long = "veld", required = true)]
        velden: Vec<String>,
        /// The ground of Afspraak 8f.
        #[arg(long, value_enum)]
        grond: Grond,
        /// Why the disclosure is necessary, in words (stays at this node, never in the audit log).
        #[arg(long)]
        reden: String,
        /// The sign-in name of the medewerker who asks.
        #[arg(long)]
        door: String,
    },
    /// Decide on a request, as the privacy officer (not the person who asked). Approved, the values are written
    /// for the recipient to `--out` (JSON).
    Besluiten {
        /// The data directory.
        #[command(flatten)]
        dir: DirArg,
        /// The request's id.
        id: String,
        /// Approve it.
        #[arg(
            long,
            conflicts_with = "afwijzen",
            required_unless_present = "afwijzen"
        )]
        goedkeuren: bool,
        /// Refuse it: nothing is disclosed.
        #[arg(long)]
        afwijzen: bool,
        /// The privacy officer's sign-in name.
        #[arg(long)]
        door: String,
        /// Where to write the approved values (JSON), for the recipient.
        #[arg(long, required_if_eq("goedkeuren", "true"))]
        out: Option<PathBuf>,
    },
    /// List the requests and their decisions (no values; the reason is shown, as it is this node's own record).
    Lijst(DirArg),
}

/// A user of the node by sign-in name (or id), not revoked.
async fn user(node: &crate::service::Node, login: &str) -> anyhow::Result<User> {
    node.store()
        .list_users()
        .await?
        .into_iter()
        .find(|u| !u.revoked && (u.login.as_deref() == Some(login) || u.id == login))
        .ok_or_else(|| {
            anyhow::anyhow!(
                "--door {login:?}: no such user at this node (see `weerthuis user list`)"
            )
        })
}

/// Run a `weerthuis bijzonder` command.
pub async fn run(cmd: BijzonderCommand, w: &mut impl Write) -> anyhow::Result<()> {
    match cmd {
        BijzonderCommand::Aanvragen {
            dir,
            casus,
            ontvanger,
            velden,
            grond,
            reden,
            door,
        } => {
            let (_, node) = app::open(&dir.dir).await?;
            let case: CaseId = casus
                .parse()
                .map_err(|_| anyhow::anyhow!("--casus {casus:?} is not a case id"))?;
            let by = user(&node, &door).await?;
            let d = node
                .request_special_disclosure(&by, &case, &ontvanger, &velden, grond, &reden)
                .await?;
            writeln!(
                w,
                "bijzondere verstrekking {} aangevraagd: {} aan {} ({}); wacht op het besluit van de privacyfunctionaris",
                d.id,
                d.fields.join(", "),
                d.recipient,
                grond.basis()
            )?;
            node.store().close().await;
        }
        BijzonderCommand::Besluiten {
            dir,
            id,
            goedkeuren,
            afwijzen: _,
            door,
            out,
        } => {
            let (_, node) = app::open(&dir.dir).await?;
            let by = user(&node, &door).await?;
            let (d, export) = node.decide_special_disclosure(&by, &id, goedkeuren).await?;
            match (export, out) {
                (Some(export), Some(out)) => {
                    std::fs::write(&out, serde_json::to_vec_pretty(&export)?)?;
                    writeln!(
                        w,
                        "bijzondere verstrekking {} goedgekeurd: {} gegevens voor {} in {}",
                        d.id,
                        export.gegevens.len(),
                        d.recipient,
                        out.display()
                    )?;
                }
                _ => writeln!(
                    w,
                    "bijzondere verstrekking {} afgewezen: niets verstrekt",
                    d.id
                )?,
            }
            node.store().close().await;
        }
        BijzonderCommand::Lijst(dir) => {
            let (_, node) = app::open(&dir.dir).await?;
            for d in node.store().special_disclosures().await? {
                writeln!(
                    w,
                    "{}\t{}\t{}\t{}\t{}\t{}\t{}",
                    d.id,
                    d.case,
                    d.recipient,
                    d.fields.join(","),
                    d.ground,
                    d.decision.as_deref().unwrap_or("open"),
                    d.reason
                )?;
            }
            node.store().close().await;
        }
    }
    Ok(())
}
