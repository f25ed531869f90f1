//! `weerthuis bewaartermijn`: purge the cases past this partner's bewaartermijn, or with `--dry-run` list them (see
//! `crate::bewaartermijn`). The running node does the same every day by itself.

use std::io::Write;

use clap::Args;
use time::Date;

use super::admin::DirArg;
use crate::app;
use crate::bewaartermijn::report;

/// `weerthuis bewaartermijn [--dry-run [--op DATE]]`.
#[derive(Debug, Args)]
pub struct BewaartermijnArgs {
    /// The data directory.
    #[command(flatten)]
    pub dir: DirArg,
    /// List the cases that would be purged and why, and change nothing.
    #[arg(long)]
    pub dry_run: bool,
    /// With --dry-run: the day to judge on instead of today (YYYY-MM-DD), to see what a later purge takes.
    #[arg(long, requires = "dry_run", value_parser = parse_day)]
    pub op: Option<Date>,
}

fn parse_day(s: &str) -> Result<Date, String> {
    policies::form::parse_date(s).ok_or_else(|| format!("{s:?} is not a date like 2026-01-31"))
}

/// Run `weerthuis bewaartermijn`: open the node in `args.dir`, judge on `args.op` or `today`, and print the Dutch
/// report. `today` is the caller's "now" (the system date from `main`; a test passes its own).
pub async fn run(args: &BewaartermijnArgs, today: Date, w: &mut impl Write) -> anyhow::Result<()> {
    let (_, node) = app::open(&args.dir.dir).await?;
    if args.dry_run {
        let day = args.op.unwrap_or(today);
        let verlopen = node.expired_cases(day).await?;
        write!(w, "{}", report(day, &verlopen, true))?;
    } else {
        let done = node.purge_expired(today).await?;
        write!(w, "{}", report(today, &done.verlopen, false))?;
        if done.cijfers_bewaard > 0 {
            writeln!(
                w,
                "De bijdrage van deze casussen aan de cijfers van de monitor is bewaard als {} telling(en), zonder persoonsgegevens.",
                done.cijfers_bewaard
            )?;
        }
    }
    node.store().close().await;
    Ok(())
}
