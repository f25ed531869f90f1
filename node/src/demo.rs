//! `weerthuis demo`: a whole federation in one process, to see the system work with one command.
//!
//! It starts the [`crate::scenario`]'s seven nodes on the one harness ([`crate::harness`]), with a federation CA and
//! a certificate per node — the Transferpunt, gemeenten
//! Leeuwarden and Heerenveen, corporaties Elkien and Accolade, zorgaanbieders Kwadrant and Limor — each with its own
//! SQLite database, its own QUIC endpoint on 127.0.0.1 (mutual TLS, ports chosen by the operating system) and its own
//! local API, and plays the scenario through them, printing its narration. Every step waits (with a bound) until
//! the data it needs has arrived over the federation.
//!
//! Then it prints what each node holds — per case the sections and their field names, never a value — and the
//! monitor's summary, computed by the Transferpunt's own [`crate::monitor`] over its data, and the URL and a bearer
//! token of every node's API. The nodes keep running until Ctrl-C, unless asked to exit after the scenario.
//!
//! The people in the demo are made up; their BSNs are fictitious (`policies::examples::fictitious_bsn`).

use std::future::Future;
use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

use crate::access::UserRole;
use crate::harness::{LiveNet, LiveOptions, eventually};
use crate::monitor::indicators;
use crate::scenario::{self, LABELS, PARTNERS, TRANSFERPUNT};
use crate::werkplek::auth::create_account;

/// How the demo runs.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Where to put the CA, certificates and databases (created; must be new or empty). `None`: a temporary
    /// directory, removed on exit.
    pub dir: Option<PathBuf>,
    /// Stop the nodes and return once the scenario has played, instead of waiting for the shutdown signal.
    pub exit_after_scenario: bool,
}

/// The longest the demo waits for one step's data to arrive.
pub const WAIT: Duration = Duration::from_secs(60);

/// Run the demo: start the federation, play the scenario, print what each node holds and the monitor's summary,
/// then (unless [`Options::exit_after_scenario`]) wait for `shutdown`; always stop every node gracefully.
pub async fn run<W: Write>(
    options: Options,
    out: &mut W,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let (root, _temp) = match &options.dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            if std::fs::read_dir(dir)?.next().is_some() {
                bail!(
                    "{} is not empty: give the demo a new or empty directory",
                    dir.display()
                );
            }
            (dir.canonicalize()?, None)
        }
        None => {
            let temp = tempfile::Builder::new()
                .prefix("weerthuis-demo-")
                .tempdir()
                .context("cannot create a temporary directory")?;
            (temp.path().to_path_buf(), Some(temp))
        }
    };
    writeln!(out, "Weer Thuis — demo federation")?;
    writeln!(out, "Data directory: {}", root.display())?;
    if options.dir.is_none() {
        writeln!(
            out,
            "  (temporary: removed when the demo stops; keep it with --dir DIR)"
        )?;
    }
    writeln!(out)?;

    let mut net = start(&root, out).await?;
    let result = async {
        wait_connected(&net, out).await?;
        let play = play(&net, out).await?;
        print_holdings(&net, &play, out).await?;
        print_monitor(&net, out).await?;
        print_apis(&net, out).await?;
        writeln!(
            out,
            "Scenario done in {:.1} s.",
            started.elapsed().as_secs_f64()
        )?;
        anyhow::Ok(())
    }
    .await;
    if result.is_ok() && !options.exit_after_scenario {
        writeln!(out, "The nodes keep running. Press Ctrl-C to stop them.")?;
        out.flush()?;
        shutdown.await;
    }
    writeln!(out, "Stopping the nodes…")?;
    out.flush()?;
    net.shutdown().await;
    writeln!(out, "Stopped.")?;
    result
}

/// Start every node on the harness, with the CA and certificates in `root`, and list them.
async fn start<W: Write>(root: &std::path::Path, out: &mut W) -> anyhow::Result<LiveNet> {
    let ids: Vec<&str> = PARTNERS.iter().map(|(id, _)| *id).collect();
    let net = LiveNet::start_with(
        &ids,
        LiveOptions {
            root: Some(root.to_path_buf()),
            api: true,
            ca_name: Some("Federatie Weer Thuis (demo)".into()),
            ..LiveOptions::default()
        },
    )
    .await?;
    writeln!(
        out,
        "Federation CA created: {}",
        root.join("ca").join(crate::cli::pki::CA_CERT).display()
    )?;
    writeln!(
        out,
        "Started {} nodes (each: its own SQLite database, certificate, QUIC endpoint and local API):",
        net.nodes.len()
    )?;
    for (id, name) in PARTNERS {
        let n = net.get(id);
        writeln!(
            out,
            "  {:<24} {:<26} quic {:<21} api http://{}",
            id,
            name,
            n.last_addr.map(|a| a.to_string()).unwrap_or_default(),
            n.api_addr().map(|a| a.to_string()).unwrap_or_default()
        )?;
    }
    writeln!(out)?;
    Ok(net)
}

/// Wait (bounded) until every node is connected to the Transferpunt (the pairs that stay connected; the others
/// connect when a case names them); report how far it got.
async fn wait_connected<W: Write>(net: &LiveNet, out: &mut W) -> anyhow::Result<()> {
    let t = Instant::now();
    let all = net.connections().1;
    if eventually(WAIT, || async { net.connections().0 == all }).await {
        writeln!(
            out,
            "All {all} connections with the Transferpunt up (QUIC, mutual TLS) in {:.1} s; other pairs connect when a case names them.",
            t.elapsed().as_secs_f64()
        )?;
    } else {
        writeln!(
            out,
            "Only {} of {all} connections with the Transferpunt up; the scenario goes on (sync catches up on connect).",
            net.connections().0
        )?;
    }
    writeln!(out)?;
    Ok(())
}

/// Play the scenario with the demo's people, printing its narration.
async fn play<W: Write>(net: &LiveNet, out: &mut W) -> anyhow::Result<scenario::Play> {
    writeln!(out, "Scenario")?;
    let steps = scenario::steps(&scenario::demo_people());
    let mut n = 0;
    let play = scenario::play(net, &steps, WAIT, |play, step, done| {
        if matches!(step.act, scenario::Act::Create) {
            writeln!(
                out,
                "  Case {} = {} ({})",
                LABELS[step.case - 1],
                play.case(step.case),
                done.writer
            )?;
        }
        if let Some(line) = play.narration(step) {
            n += 1;
            writeln!(out, "  {n:>2}. {line}")?;
        }
        Ok(())
    })
    .await?;
    writeln!(out)?;
    Ok(play)
}

/// Per node, per case: the sections it holds and their field names — never a value.
async fn print_holdings<W: Write>(
    net: &LiveNet,
    play: &scenario::Play,
    out: &mut W,
) -> anyhow::Result<()> {
    writeln!(
        out,
        "What each node holds (per case: sections and their field names; no values)"
    )?;
    for (id, _) in PARTNERS {
        let mut held = Vec::new();
        for (i, label) in LABELS.iter().enumerate() {
            let case = play.case(i + 1);
            let h = net.holds(id, case).await;
            if !h.is_empty() {
                held.push((label, case, h));
            }
        }
        writeln!(out, "node {id} holds {} case(s)", held.len())?;
        for (label, case, sections) in held {
            writeln!(out, "  case {label} {case}")?;
            for (section, form) in sections {
                let fields: Vec<&str> = form
                    .as_object()
                    .map(|o| o.keys().map(String::as_str).collect())
                    .unwrap_or_default();
                writeln!(out, "    {section}: {}", fields.join(", "))?;
            }
        }
    }
    writeln!(
        out,
        "Compare: the Transferpunt holds every section; a corporatie only the aanmeldbericht of the cases assigned \
         to it and its own reactie (one that refused keeps only its reactie); a gemeente the fields the policy \
         gives it of cases in its gemeente; case C, without consent, stays at its zorgaanbieder."
    )?;
    writeln!(out)?;
    Ok(())
}

/// The monitor's summary: the Transferpunt's own indicators ([`crate::monitor::indicators`]) over its cases.
async fn print_monitor<W: Write>(net: &LiveNet, out: &mut W) -> anyhow::Result<()> {
    let tp = net.get(TRANSFERPUNT).node();
    let years = indicators::per_jaar(&crate::monitor::load_cases(tp).await?);
    let name = |code: &str| {
        tp.gemeenten()
            .name(code)
            .map_or_else(|| code.to_string(), |n| format!("{code} {n}"))
    };
    writeln!(
        out,
        "Uitstroommonitor (samenvatting, door de monitor berekend uit de gegevens van {TRANSFERPUNT})"
    )?;
    writeln!(
        out,
        "  {:<4}  {:>21}  {:>9}  {:>22}  {:>10}  {:>10}",
        "jaar",
        "bemiddelingsverzoeken",
        "bemiddeld",
        "weigeringen corporatie",
        "3-partijen",
        "eigen naam"
    )?;
    for (year, j) in &years {
        writeln!(
            out,
            "  {:<4}  {:>21}  {:>9}  {:>22}  {:>10}  {:>10}",
            year,
            j.verzoeken,
            j.bemiddeld,
            j.weigeringen(),
            j.drie_partijen,
            j.eigen_naam
        )?;
    }
    writeln!(out, "  Uitstroom per gemeente:")?;
    for (year, j) in &years {
        for (gemeente, g) in &j.per_gemeente {
            if g.uitstroom() > 0 {
                writeln!(out, "    {year}  {}: {}", name(gemeente), g.uitstroom())?;
            }
        }
    }
    writeln!(out, "  Weigeringen door corporaties, met reden:")?;
    let mut geweigerd_door_client = 0;
    let mut any = false;
    for (year, j) in &years {
        for (corporatie, c) in &j.per_corporatie {
            geweigerd_door_client += c.aanbiedingen_geweigerd_door_client;
            for (reden, n) in &c.weigeringen {
                any = true;
                writeln!(out, "    {year}  {corporatie}  {reden}: {n}")?;
            }
        }
    }
    if !any {
        writeln!(out, "    geen")?;
    }
    writeln!(
        out,
        "  Woningaanbiedingen geweigerd door de cliënt: {geweigerd_door_client}"
    )?;
    writeln!(out)?;
    Ok(())
}

/// The demo accounts' password (the demo's data directory is removed on exit; never use it elsewhere).
const DEMO_PASSWORD: &str = "weerthuis-demo";

async fn print_apis<W: Write>(net: &LiveNet, out: &mut W) -> anyhow::Result<()> {
    writeln!(
        out,
        "Werkplek per node (sign in with the login and password below, then the code: \
         `weerthuis totp <key>` prints it, or type the key into an authenticator app)"
    )?;
    let api = |id: &str| {
        net.get(id)
            .api_addr()
            .map(|a| a.to_string())
            .unwrap_or_default()
    };
    for (id, _) in PARTNERS {
        let node = net.get(id).node();
        let account = create_account(
            node,
            "Demo medewerker",
            "demo",
            UserRole::Medewerker,
            Some(DEMO_PASSWORD),
        )
        .await?;
        writeln!(out, "  {id:<24} http://{}/werkplek", api(id))?;
        writeln!(
            out,
            "  {:<24} login demo, password {DEMO_PASSWORD}, TOTP key {}",
            "", account.totp_secret
        )?;
    }
    let analist = create_account(
        net.get(TRANSFERPUNT).node(),
        "Demo analist",
        "analist",
        UserRole::Analist,
        Some(DEMO_PASSWORD),
    )
    .await?;
    writeln!(
        out,
        "  the Transferpunt's monitor: login analist, password {DEMO_PASSWORD}, TOTP key {}",
        analist.totp_secret
    )?;
    writeln!(out)?;
    writeln!(
        out,
        "Local APIs (one bearer token per node; GET /metrics needs none)"
    )?;
    for (id, _) in PARTNERS {
        writeln!(out, "  {id:<24} http://{}/api/v1", api(id))?;
        writeln!(out, "  {:<24} token {}", "", net.get(id).token)?;
    }
    let tp = api(TRANSFERPUNT);
    // The monitor is for the analist role (aggregates only): its own token.
    let token = net
        .get(TRANSFERPUNT)
        .node()
        .store()
        .create_user_with_role("demo monitor", "uitstroommonitor", UserRole::Analist)
        .await?
        .token;
    writeln!(
        out,
        "Uitstroommonitor (the Transferpunt's page, with its token): http://{tp}/api/v1/monitor"
    )?;
    writeln!(out, "Try:")?;
    writeln!(
        out,
        "  curl -H 'Authorization: Bearer {}' http://{tp}/api/v1/casussen",
        net.get(TRANSFERPUNT).token
    )?;
    writeln!(out, "  curl http://{tp}/metrics")?;
    writeln!(
        out,
        "  curl -H 'Authorization: Bearer {token}' http://{tp}/api/v1/monitor > monitor.html"
    )?;
    writeln!(out)?;
    Ok(())
}
