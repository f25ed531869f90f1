//! Fault injection over real nodes and real QUIC: each fault kind over several seeds must end converged with no
//! canary leaked; the same seed gives the same report byte for byte; and the checks can fail (negative controls:
//! a canary planted where it must not be, a receiver that lost what it was sent).
//!
//! Seeds: 1..=3 per kind by default; `WEERTHUIS_FAULT_SEEDS=N` runs 1..=N, `WEERTHUIS_FAULT_SEEDS=A..B` runs A..B.
//! A failing seed is printed with the command that replays it.

use simulator::faults::{Kind, RunOptions, replay_command, run};

fn seeds() -> Vec<u64> {
    match std::env::var("WEERTHUIS_FAULT_SEEDS") {
        Ok(v) => match v.split_once("..") {
            Some((a, b)) => {
                (a.trim().parse().expect("seed")..b.trim().parse().expect("seed")).collect()
            }
            None => (1..=v.trim().parse().expect("a number of seeds")).collect(),
        },
        Err(_) => (1..=3).collect(),
    }
}

fn init_logging() {
    if let Ok(filter) = std::env::var("WEERTHUIS_TEST_LOG") {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::new(filter))
            .with_test_writer()
            .try_init();
    }
}

async fn every_seed(kind: Kind) {
    init_logging();
    let mut failed = Vec::new();
    for seed in seeds() {
        let started = std::time::Instant::now();
        let r = run(seed, kind, &RunOptions::default())
            .await
            .expect("the federation runs");
        eprintln!(
            "seed {seed} {}: {} in {:.1} s ({})",
            kind.name(),
            if r.passed { "passed" } else { "FAILED" },
            started.elapsed().as_secs_f64(),
            r.counts
        );
        if !r.passed {
            eprintln!("{}", r.report);
            failed.push(replay_command(seed, kind));
        }
    }
    assert!(
        failed.is_empty(),
        "failing seeds; replay with:\n{}",
        failed.join("\n")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn converges_without_leaks_under_partitions() {
    every_seed(Kind::Partition).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn converges_without_leaks_under_crashes_and_restarts() {
    every_seed(Kind::Crash).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn converges_without_leaks_under_message_loss() {
    every_seed(Kind::Loss).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn converges_without_leaks_under_duplication() {
    every_seed(Kind::Duplication).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn converges_without_leaks_under_reordering() {
    every_seed(Kind::Reordering).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_same_seed_gives_the_same_report_byte_for_byte() {
    init_logging();
    // A partition: its report has the most that the seed decides (the cut, the steps, the length).
    let a = run(4, Kind::Partition, &RunOptions::default())
        .await
        .unwrap();
    let b = run(4, Kind::Partition, &RunOptions::default())
        .await
        .unwrap();
    assert!(a.passed && b.passed, "{}\n{}", a.report, b.report);
    assert_eq!(a.report, b.report);
    assert!(
        a.report
            .contains("weerthuis-sim faults --seed 4 --kind partition")
    );
    assert!(a.report.contains("content digest"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_checks_can_fail() {
    init_logging();
    // A canary written where the policy never lets it be: the first case's reden_dakloosheid at a corporatie.
    // And a gemeente that lost every projection the Transferpunt sent it, with no federation to repair it.
    let options = RunOptions {
        settle: Some(std::time::Duration::from_secs(5)),
        plant: Some((1, "reden_dakloosheid", "corporatie:elkien")),
        diverge: Some(("gemeente:GM0080", "transferpunt:sdf")),
        ..RunOptions::default()
    };
    let r = run(1, Kind::Reordering, &options).await.unwrap();
    assert!(!r.passed, "{}", r.report);
    assert!(
        r.report.contains(
            "case 1: reden_dakloosheid found in the data directory of `corporatie:elkien`, which may not hold it"
        ),
        "{}",
        r.report
    );
    assert!(r.report.contains("converged: no"), "{}", r.report);
    assert!(
        r.report
            .contains("transferpunt:sdf → gemeente:GM0080: holds no live projection"),
        "{}",
        r.report
    );
    assert!(r.report.contains("Result: **FAILED**"));
    // Nothing else leaked: only the planted canary is named.
    assert_eq!(
        r.report.matches("which may not hold it").count(),
        1,
        "{}",
        r.report
    );
}

/// A projection whose change touches only its facts (`_meta`) must make the receiver re-plan the case: here the
/// zorgaanbieder withdraws consent, its projection to the gemeente changes only its facts, and the gemeente must
/// then bring what it shares with the Transferpunt in line at once. Before the fix such a receiver waited for the
/// next reconnect — found by the convergence check of every fault run. (Without consent a gemeente learns nothing
/// of a client at all: `tests/tests/enforcement.rs`.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_facts_only_projection_makes_the_receiver_replan() {
    use simulator::live::{LiveNet, eventually};
    init_logging();
    const ZA: &str = "zorgaanbieder:kwadrant";
    const GM: &str = "gemeente:GM0080";
    const TP: &str = "transferpunt:sdf";
    let net = LiveNet::start(&[ZA, GM, TP]).await.unwrap();
    let case = net.new_case(ZA).await.unwrap();
    let client = policies::examples::Client::new("Zonder, Z.", 6);
    let registratie = |consent: bool| {
        policies::examples::registratie(
            &client,
            ZA,
            consent,
            "maatschappelijke_opvang",
            "GM0080",
            "2025-09-01",
        )
    };
    net.write(
        ZA,
        &case,
        policies::DocumentKind::Registratie,
        None,
        &registratie(true),
    )
    .await
    .unwrap();
    net.write(
        ZA,
        &case,
        policies::DocumentKind::Aanmelding,
        None,
        &policies::examples::aanmelding(&client, "2025-09-10"),
    )
    .await
    .unwrap();
    let limit = std::time::Duration::from_secs(60);
    let holds = eventually(limit, || async {
        net.holds(GM, &case).await.contains_key("aanmelding")
    })
    .await;
    assert!(holds, "the gemeente holds the aanmelding");
    net.write(
        ZA,
        &case,
        policies::DocumentKind::Registratie,
        None,
        &registratie(false),
    )
    .await
    .unwrap();
    let sent = eventually(limit, || async {
        net.plan_differences(GM, TP, &case).await.is_empty()
            && net.plan(GM, TP, &case).await.is_some_and(|p| !p.consent)
    })
    .await;
    assert!(sent, "{:?}", net.plan_differences(GM, TP, &case).await);
}
