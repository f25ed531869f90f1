//! The in-memory federation checked against real nodes.
//!
//! The what-if's claim is that a simulated disclosure is one the nodes would make. This plays the same clients
//! through a [`LiveNet`] of the demo's seven partners — SQLite, certificates, QUIC on 127.0.0.1 — and after every
//! event requires every node to hold exactly what [`Engine`] says it holds: the same sections, fields and values,
//! and nothing at all where the simulation has nothing. A write the simulation refuses must be refused by the real
//! node too.
//!
//! Since the simulation runs the same `node::sync::plan` as the nodes, agreement cannot show a wrong `plan`. So the
//! conformance [`oracle`](crate::oracle) runs as well after every event: every value every node stores, history
//! included, against what the policy itself lets that node hold. Its violations are reported next to the
//! comparison, with the flows and write rules the run exercised.

use std::collections::{BTreeMap, BTreeSet};
use std::process::ExitCode;
use std::time::Duration;

use node::store::CaseId;
use policies::Policy;
use serde_json::Value as Json;

use crate::federation::{Engine, HoldingsView, merge_section};
use crate::live::{LiveNet, eventually};
use crate::oracle::{Coverage, Found, Oracle};
use crate::population::{self, Client, Event, Population, Scale};

/// Options of `weerthuis-sim crosscheck`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The seed of the population (at the demo's scale: seven partners).
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// Play every N-th client only.
    #[arg(long, default_value_t = 1)]
    pub every: usize,
    /// Play the conformance oracle's population instead (`population::oracle`): this many bemiddelde clients,
    /// with every kind of document written by every role that may write it, late and withdrawn consent, refusals
    /// and every phase.
    #[arg(long)]
    pub oracle_population: Option<usize>,
    /// How long to wait, at most, for the nodes to agree after an event, in seconds.
    #[arg(long, default_value_t = 60)]
    pub limit: u64,
}

/// Where the real nodes and the simulation disagree.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("client {client}, event {event} ({what}): {detail}")]
pub struct Mismatch {
    /// The client.
    pub client: u32,
    /// The index of its event.
    pub event: usize,
    /// The event, in words.
    pub what: String,
    /// The difference.
    pub detail: String,
}

/// What a passing check compared, and what the oracle found.
#[derive(Debug, Clone)]
pub struct Checked {
    /// Clients played.
    pub clients: usize,
    /// Events written.
    pub events: usize,
    /// Writes refused, by both.
    pub refused: usize,
    /// Node holdings compared (one node, one case, after one event).
    pub comparisons: usize,
    /// What the conformance oracle found after every event and in a final check of every case and every data
    /// directory: each violation once, with the event after which it was first seen.
    pub violations: Vec<Found>,
    /// The flows and write rules of the covenant the run exercised, as the oracle saw them.
    pub coverage: Coverage,
}

/// What a real node holds of a case, per section, as the simulation's [`HoldingsView`] shows it.
pub async fn live_view(net: &LiveNet, at: &str, case: &CaseId) -> BTreeMap<String, Json> {
    let mut sections = net.documents(at, case).await;
    if let Ok(loaded) = net.get(at).node().load_case(case).await {
        for (section, form) in &loaded.projected_sections {
            merge_section(&mut sections, section, form.to_json());
        }
    }
    sections
}

fn first_difference(expected: &BTreeMap<String, Json>, live: &BTreeMap<String, Json>) -> String {
    let sections: BTreeSet<&String> = expected.keys().chain(live.keys()).collect();
    for s in sections {
        match (expected.get(s), live.get(s)) {
            (Some(e), Some(l)) if e != l => {
                return format!("section {s}: simulation {e}, node {l}");
            }
            (Some(_), None) => {
                return format!("section {s}: simulation holds it, the node does not");
            }
            (None, Some(_)) => {
                return format!("section {s}: the node holds it, the simulation does not");
            }
            _ => {}
        }
    }
    "no difference".into()
}

/// Play a population through real nodes (which run the shipped covenant policy) and compare after every event with
/// the simulation under `policy` — the covenant, unless the check itself is being tested.
pub async fn check(
    pop: &Population,
    policy: &Policy,
    limit: Duration,
) -> Result<Checked, Mismatch> {
    let ids: Vec<String> = pop.partners.all().map(|p| p.to_string()).collect();
    let refs: Vec<&str> = ids.iter().map(String::as_str).collect();
    let net = LiveNet::start(&refs)
        .await
        .map_err(|e| mismatch(0, 0, "start".into(), e.to_string()))?;
    let live = Live {
        net: &net,
        ids: &ids,
        limit,
    };
    let engine = Engine::new(policy, &pop.partners);
    let mut checked = Checked {
        clients: 0,
        events: 0,
        refused: 0,
        comparisons: 0,
        violations: Vec::new(),
        coverage: Coverage::default(),
    };
    // The oracle judges the nodes by the policy they run: the covenant.
    let mut oracle = Oracle::covenant();
    for client in &pop.clients {
        check_client(&live, &engine, &mut oracle, client, &mut checked).await?;
        checked.clients += 1;
    }
    let last = oracle
        .observe(&net, None)
        .await
        .map_err(|e| oracle_failed(0, 0, "the final check", e))?;
    checked.violations.extend(
        last.violations
            .into_iter()
            .chain(oracle.canaries(&net))
            .map(|violation| Found {
                client: 0,
                event: 0,
                what: "the final check".into(),
                violation,
            }),
    );
    checked.coverage = oracle.coverage();
    Ok(checked)
}

/// The real nodes a check plays on, the partners whose holdings it compares, and how long they may take to agree.
struct Live<'a> {
    net: &'a LiveNet,
    ids: &'a [String],
    limit: Duration,
}

fn mismatch(client: u32, event: usize, what: String, detail: String) -> Mismatch {
    Mismatch {
        client,
        event,
        what,
        detail,
    }
}

fn oracle_failed(client: u32, event: usize, what: &str, e: crate::oracle::OracleError) -> Mismatch {
    Mismatch {
        client,
        event,
        what: what.to_string(),
        detail: format!("the oracle could not read a node: {e}"),
    }
}

/// Play one client's events through the nodes: after each, the nodes must hold what the simulation holds, and the
/// oracle's violations are collected into `checked`.
async fn check_client(
    live: &Live<'_>,
    engine: &Engine<'_>,
    oracle: &mut Oracle,
    client: &Client,
    checked: &mut Checked,
) -> Result<(), Mismatch> {
    // The simulation runs first, keeping what every partner holds after each event to compare with.
    let mut steps: Vec<HoldingsView> = Vec::new();
    let outcome = engine.run_case_observed(client, Some(&mut |_, v| steps.push(v.clone())));
    let refused: BTreeSet<usize> = outcome.refused.iter().map(|r| r.event).collect();
    let mut case: Option<CaseId> = None;
    for (i, event) in client.events.iter().enumerate() {
        let what = format!("{} writes {} {}", event.author, event.kind, event.instance);
        let fail = |detail: String| mismatch(client.number, i, what.clone(), detail);
        // The case is created on the first event's author's node.
        let c = match &case {
            Some(c) => c.clone(),
            None => {
                let c = live
                    .net
                    .new_case(&event.author.to_string())
                    .await
                    .map_err(|e| fail(e.to_string()))?;
                case = Some(c.clone());
                c
            }
        };
        if write_as_simulated(live.net, &c, event, refused.contains(&i))
            .await
            .map_err(fail)?
        {
            checked.refused += 1;
        }
        compare_holdings(live, &c, &steps[i]).await.map_err(fail)?;
        let report = oracle
            .observe(live.net, Some(std::slice::from_ref(&c)))
            .await
            .map_err(|e| oracle_failed(client.number, i, &what, e))?;
        checked
            .violations
            .extend(report.violations.into_iter().map(|violation| Found {
                client: client.number,
                event: i,
                what: what.clone(),
                violation,
            }));
        checked.events += 1;
        checked.comparisons += live.ids.len();
    }
    Ok(())
}

/// Write `event` on its author's node, which must refuse it exactly when the simulation did. `Ok(true)` when both
/// refused it; otherwise the disagreement, in words.
async fn write_as_simulated(
    net: &LiveNet,
    case: &CaseId,
    event: &Event,
    simulation_refuses: bool,
) -> Result<bool, String> {
    let instance = (!event.instance.is_empty()).then_some(event.instance.as_str());
    let written = net
        .write(
            &event.author.to_string(),
            case,
            event.kind,
            instance,
            &event.form,
        )
        .await;
    match (&written, simulation_refuses) {
        (Ok(_), true) => Err("the simulation refuses this write, the node accepts it".into()),
        (Err(e), false) => Err(format!(
            "the node refuses this write, the simulation accepts it: {e}"
        )),
        (Err(_), true) => Ok(true),
        (Ok(_), false) => Ok(false),
    }
}

/// Wait, up to the limit, for every node to hold what the simulation says it holds of `case`; if one does not,
/// the first difference at the first such node, in words.
async fn compare_holdings(
    live: &Live<'_>,
    case: &CaseId,
    expected: &HoldingsView,
) -> Result<(), String> {
    let want = |id: &String| {
        expected
            .get(&id.parse().expect("partner ids parse"))
            .cloned()
            .unwrap_or_default()
    };
    let agree = || async {
        for id in live.ids {
            if live_view(live.net, id, case).await != want(id) {
                return false;
            }
        }
        true
    };
    if eventually(live.limit, agree).await {
        return Ok(());
    }
    // Convergence timed out: look once more, node by node, to name what differs.
    for id in live.ids {
        let want = want(id);
        let held = live_view(live.net, id, case).await;
        if held != want {
            return Err(format!("at {id}: {}", first_difference(&want, &held)));
        }
    }
    Ok(())
}

/// Run `weerthuis-sim crosscheck`.
pub async fn main(args: Args) -> anyhow::Result<ExitCode> {
    let pop = match args.oracle_population {
        Some(n) => population::oracle(args.seed, n),
        None => population::generate(Scale::Demo, args.seed).sample(args.every),
    };
    eprintln!(
        "playing {} clients ({} events) through seven real nodes",
        pop.clients.len(),
        pop.clients.iter().map(|c| c.events.len()).sum::<usize>()
    );
    match check(&pop, &Policy::covenant(), Duration::from_secs(args.limit)).await {
        Ok(c) => {
            println!(
                "The simulation and the real nodes agree: {} clients, {} events ({} refused by both), {} node \
                 holdings compared after every event.",
                c.clients, c.events, c.refused, c.comparisons
            );
            print!("{}", c.coverage);
            if c.violations.is_empty() {
                println!(
                    "The conformance oracle found no value held that the policy does not allow."
                );
                Ok(ExitCode::SUCCESS)
            } else {
                println!(
                    "The conformance oracle found {} value(s) held that the policy does not allow:",
                    c.violations.len()
                );
                for v in &c.violations {
                    println!("- {v}");
                }
                Ok(ExitCode::from(1))
            }
        }
        Err(m) => {
            println!("The simulation and the real nodes disagree: {m}");
            println!(
                "Replay: weerthuis-sim crosscheck --seed {} --every {}",
                args.seed, args.every
            );
            Ok(ExitCode::from(1))
        }
    }
}
