//! `weerthuis-sim replay`: a proposed policy against the disclosures a node recorded in its audit log.
//!
//! A privacy officer has a node's data directory (or its database URL) and a proposed policy file. For every
//! disclosure the node made (audit entries of operation `disclosure`, status OK) this decides, field by field,
//! whether the proposed policy would still have allowed it, and which fields the proposed policy would have added
//! to the same disclosure; it lists every invariant the proposal breaks. The report is Dutch Markdown and HTML,
//! tells one example per kind of change in words (field names, roles and relations, a short pseudonymous dossier
//! number — never a value, a BSN or a case id), and the exit status is 1 when the proposal breaks an invariant.
//!
//! The analysis ([`replay()`], in `decide.rs`) is a pure function over [`RecordedDisclosure`]s; [`read_node`]
//! (`read.rs`) reads them from a node, the only I/O; `render.rs` writes the report.
//!
//! # How a past disclosure is re-decided
//!
//! An audit entry names the receiver, the fields, the flows and the policy version, but not the facts the policy
//! decided on (the receiver's and the sender's relations, phase, consent, BW/MO). Those facts **are** recorded,
//! at the moment of every disclosure, in a place the node keeps anyway: the `_meta` section of the projection the
//! sender writes for the receiver (`node::sync::plan` puts there exactly the facts it decided on). A projection is
//! an Automerge document whose history the sending node keeps, also after a rotation (the retired generation stays
//! in its store); every rewrite is one change stamped with the node's clock. So the facts of a disclosure at time
//! *t* are the projection's `_meta` as of its last change at or before *t*: the generation the entry names for a
//! projection, the latest generation to the same receiver for a case document shared whole.
//!
//! We chose this over both options of the brief:
//! - (a) re-deriving the facts from the node's case as it stands now is wrong for every case whose facts changed
//!   (a corporatie that refused is now an `eerdere_corporatie`; the phase moved on), so replaying even the policy
//!   in force would report changes that are none. It remains the **fallback** when no projection to the receiver
//!   exists (documents shared whole between co-writers only), and the report counts how many disclosures were
//!   judged that way.
//! - (b) adding the facts to the disclosure's audit entry would need a new field in `node::audit::AuditEntry`,
//!   whose other constructors (`node::service`, the node's tests) are not ours to change, and it would only help
//!   disclosures made after the change — while the projections already hold the facts for every past one.
//!
//! Change times have whole seconds, and a node writes several changes a second, so time alone does not pick the
//! state: a projection's disclosure names all the fields the projection held when it was sent (`plan.projected`),
//! so the state taken is the latest at or before the disclosure whose fields are exactly the ones recorded (within
//! a generation the fields only grow; a narrowing starts a new generation, which the entry names). Only a change
//! of facts that changed no field, within the same second, could lend a disclosure facts a moment too new. A case
//! document shared whole is matched on time alone.
//!
//! "Would newly be disclosed" needs to know what the sender held. The audit log names only the fields it sent, so
//! this counts, for a disclosure of a projection, the fields the proposed policy allows under its facts that the
//! policy in force then (by the recorded version) did not, and that the node holds for the case **now** — the
//! case's current state, an upper bound of what it held then. Disclosures whose policy version this node no
//! longer knows are counted, but not searched for new fields.
//!
//! Reading the cases to find the facts is not audited as a read: no value leaves the node, only facts and names.

mod decide;
mod read;
mod render;

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use node::service::Node;
use policies::{PartnerId, Policy};
use time::OffsetDateTime;

pub use decide::{Breach, ChangeKind, Counts, Example, ReplayReport, replay};
pub use read::{FactsSource, ReadError, Recorded, RecordedDisclosure, read_node};
pub use render::{html, markdown, story_nl};

/// Options of `weerthuis-sim replay`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The node's data directory (weerthuis.toml, the database).
    #[arg(long, value_name = "NODE_DIR", required_unless_present = "database")]
    pub dir: Option<PathBuf>,
    /// The node's database instead (`sqlite://…` or `postgres://…`); then `--partner` says whose it is.
    #[arg(long, value_name = "URL", conflicts_with = "dir", requires = "partner")]
    pub database: Option<String>,
    /// The partner whose database `--database` is (`zorgaanbieder:kwadrant`).
    #[arg(long, value_name = "PARTNER")]
    pub partner: Option<PartnerId>,
    /// The proposed policy file (TOML).
    #[arg(long, value_name = "FILE")]
    pub proposed: PathBuf,
    /// Where to write `replay.md` and `replay.html`.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// Run `weerthuis-sim replay`: prints the Markdown report; exit status 1 when the proposal breaks an invariant.
pub async fn main(args: Args) -> anyhow::Result<ExitCode> {
    // Parsed, not loaded: a proposal that breaks an invariant must still be replayed, to show what it would do.
    let proposed = crate::run::read_policy(&args.proposed)?;
    let node = match (&args.dir, &args.database, &args.partner) {
        (Some(dir), _, _) => node::app::open(dir).await?.1,
        (None, Some(url), Some(partner)) => {
            let store = node::store::Store::open(url).await?;
            // Nothing is written, so the pseudonymiser's key does not matter.
            Arc::new(Node::new(
                partner.clone(),
                store,
                Arc::new(Policy::covenant()),
                Arc::new(policies::Gemeenten::friesland()),
                node::audit::Pseudonymiser::new(rand::random()),
                Arc::new(OffsetDateTime::now_utc),
            ))
        }
        _ => anyhow::bail!("give --dir, or --database with --partner"),
    };
    let recorded = read_node(&node).await?;
    let report = replay(&recorded.disclosures, &proposed, &recorded.in_force);
    let md = markdown(&report, &recorded.partner);
    if let Some(out) = &args.out {
        std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
        std::fs::write(out.join("replay.md"), &md)?;
        std::fs::write(out.join("replay.html"), html(&report, &recorded.partner))?;
    }
    print!("{md}");
    node.store().close().await;
    Ok(if report.blocking() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}
