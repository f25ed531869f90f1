//! A Transferpunt with many peers restarts, and every peer reconnects at once (issue #14, goal 3).
//!
//! One process holds every node: the Transferpunt and `WEERTHUIS_BENCH_PEERS` peers (default 2,600: gemeenten,
//! corporaties and zorgaanbieders in the national proportions 342 : 280 : 1,978), each a real node with its own
//! SQLite database, its own QUIC endpoint on 127.0.0.1 and its own certificate; they share the process, the tokio
//! runtime (2 worker threads) and the disk. `WEERTHUIS_BENCH_CASES` cases (default 25,000) are made at the
//! zorgaanbieders, round-robin, each a registratie and an aanmelding of a client staying in one of the 18 Frisian
//! gemeenten and coming from another (the node knows the Frisian gemeenten only: the other gemeenten hold no
//! cases), and synced to the Transferpunt and onwards.
//!
//! Then the Transferpunt crashes and is reopened from its data directory; every peer redials it. Measured: the
//! time until the Transferpunt is connected with every peer, until every one of its sessions has finished the
//! reconcile it begins with, and until nothing more is sent; how many cases those reconciles looked at (the
//! change marks of migration 0014 against every case for every peer); the process's open file descriptors and
//! peak RSS (the whole process: every node is in it); and the connections open per node (only the pairs with the
//! Transferpunt stay connected, `node::sync::reach`).
//!
//! With `WEERTHUIS_TEST_POSTGRES_URL` set, the whole run is repeated with the Transferpunt on a PostgreSQL
//! database of its own (the peers keep their SQLite files), beside the SQLite run (issue #14, goal 4).
//!
//! Run: `cargo bench -p weerthuis-tests --bench reconnect` (`WEERTHUIS_BENCH_PEERS=260 WEERTHUIS_BENCH_CASES=2500`
//! for a quick run).

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

#[path = "backend.rs"]
mod backend;

use policies::DocumentKind as D;
use simulator::live::wait_until;
use weerthuis_tests::TestNet;

const TP: &str = "transferpunt:sdf";
/// The Frisian gemeenten a case names (verblijf and herkomst).
const FRIESE: [&str; 18] = [
    "GM0059", "GM0060", "GM0072", "GM0074", "GM0080", "GM0085", "GM0086", "GM0088", "GM0090",
    "GM0093", "GM0096", "GM0098", "GM0737", "GM1891", "GM1900", "GM1940", "GM1949", "GM1970",
];
const WAIT: Duration = Duration::from_secs(600);

fn env(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn proc_status(field: &str) -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with(field))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kib| kib / 1024.0)
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count())
}

/// The peers: gemeenten (the Frisian ones first, then made-up codes), corporaties, zorgaanbieders.
fn peers(n: usize) -> (Vec<String>, Vec<String>, Vec<String>) {
    let gemeenten = (n * 342 / 2_600).max(FRIESE.len());
    let corporaties = (n * 280 / 2_600).max(1);
    let zorgaanbieders = n.saturating_sub(gemeenten + corporaties).max(1);
    let g = (0..gemeenten)
        .map(|i| match FRIESE.get(i) {
            Some(code) => format!("gemeente:{code}"),
            None => format!("gemeente:GM{:04}", 2_000 + i),
        })
        .collect();
    let c = (0..corporaties)
        .map(|i| format!("corporatie:c{i:04}"))
        .collect();
    let z = (0..zorgaanbieders)
        .map(|i| format!("zorgaanbieder:z{i:04}"))
        .collect();
    (g, c, z)
}

fn stat(net: &TestNet, id: &str, f: impl Fn(&node::sync::Stats) -> u64) -> u64 {
    net.node(id).fed.as_ref().map_or(0, |fed| f(fed.stats()))
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let n_peers = env("WEERTHUIS_BENCH_PEERS", 2_600);
    let n_cases = env("WEERTHUIS_BENCH_CASES", 25_000);
    let (gemeenten, corporaties, zorgaanbieders) = peers(n_peers);
    let mut all: Vec<&str> = vec![TP];
    all.extend(gemeenten.iter().map(String::as_str));
    all.extend(corporaties.iter().map(String::as_str));
    all.extend(zorgaanbieders.iter().map(String::as_str));
    println!(
        "peers: {} gemeenten, {} corporaties, {} zorgaanbieders; cases: {n_cases}",
        gemeenten.len(),
        corporaties.len(),
        zorgaanbieders.len()
    );
    for backend in backend::backends() {
        println!();
        println!(
            "=== the Transferpunt on {} (every peer on its SQLite file)",
            backend.name()
        );
        // Only the Transferpunt, the large partner, moves to PostgreSQL: a database per peer would measure the
        // server's connection limit, not the node.
        let (options, databases) = backend::options(&backend, &[TP]).await;
        run(&all, &zorgaanbieders, n_cases, options).await;
        if let Some(dbs) = databases {
            dbs.drop_all().await;
        }
    }
}

/// The whole measurement with one Transferpunt back end.
async fn run(
    all: &[&str],
    zorgaanbieders: &[String],
    n_cases: usize,
    options: simulator::live::LiveOptions,
) {
    let all = all.to_vec();
    let t = Instant::now();
    let net = TestNet::start_with(&all, options).await;
    net.wait_connected().await;
    let fds_idle = open_fds();
    println!(
        "started {} nodes in {:.1} s; open file descriptors {fds_idle}; RSS {:.0} MiB",
        all.len(),
        t.elapsed().as_secs_f64(),
        proc_status("VmRSS:")
    );

    // --- Fill: the zorgaanbieders make the cases, a few at a time (each write validated, audited, fsynced).
    let t = Instant::now();
    // Eight writers at a time, each a task of its own writing at one zorgaanbieder's node.
    let mut writers = tokio::task::JoinSet::new();
    let mut made = 0usize;
    for i in 0..n_cases {
        if writers.len() >= 8 {
            writers
                .join_next()
                .await
                .expect("a writer")
                .expect("the writer ends");
            made += 1;
        }
        let za = &zorgaanbieders[i % zorgaanbieders.len()];
        let (node, user) = (net.node(za).node().clone(), net.node(za).user.clone());
        let za = za.clone();
        writers.spawn(async move {
            let client = policies::examples::Client::numbered(i as u64);
            let mut r = policies::examples::registratie(
                &client,
                &za,
                true,
                "maatschappelijke_opvang",
                FRIESE[i % FRIESE.len()],
                "2025-06-01",
            );
            r["verblijfgemeente"] = serde_json::json!(FRIESE[(i / FRIESE.len()) % FRIESE.len()]);
            let case: node::store::CaseId = node
                .create_case()
                .await
                .expect("case")
                .id
                .parse()
                .expect("id");
            node.write_form(&user, &case, D::Registratie, None, &r)
                .await
                .expect("registratie");
            node.write_form(
                &user,
                &case,
                D::Aanmelding,
                None,
                &policies::examples::aanmelding(&client, "2025-06-10"),
            )
            .await
            .expect("aanmelding");
        });
    }
    while let Some(w) = writers.join_next().await {
        w.expect("the writer ends");
        made += 1;
    }
    println!("made {made} cases in {:.1} s", t.elapsed().as_secs_f64());
    wait_until("the Transferpunt holds every case", WAIT, || async {
        net.node(TP)
            .node()
            .store()
            .list_cases_count()
            .await
            .is_ok_and(|c| c as usize >= n_cases)
    })
    .await;
    quiet(&net, &all).await;
    println!(
        "synced to the Transferpunt and onwards in {:.1} s after the first write",
        t.elapsed().as_secs_f64()
    );
    report_connections(&net, &all);

    // A Transferpunt that has been running has its sessions' marks stored (every few seconds,
    // `keep_marks_loop`): wait until it has, so the crash is one of a node in its steady state, not one in the
    // middle of the first sync.
    let store = net.node(TP).node().store().clone();
    let counter = store.change_mark().await.unwrap_or(0);
    let peers: Vec<&str> = all.iter().copied().filter(|p| *p != TP).collect();
    let waited = Instant::now();
    let mut kept = 0;
    while waited.elapsed() < Duration::from_secs(120) {
        kept = 0;
        for p in &peers {
            if matches!(store.sync_mark(p).await, Ok(Some((seq, _))) if seq >= counter) {
                kept += 1;
            }
        }
        if kept == peers.len() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    println!(
        "the Transferpunt kept the marks of {kept} of its {} sessions within {:.1} s of quiet",
        peers.len(),
        waited.elapsed().as_secs_f64()
    );

    // --- The Transferpunt crashes and comes back; every peer redials it.
    let mut net = net;
    net.0.crash(TP);
    let t = Instant::now();
    net.0.recover(TP).await.expect("the Transferpunt reopens");
    let reopened = t.elapsed();
    let fds_before = open_fds();
    let mut fds_peak = fds_before;
    let mut connected_at = None;
    let mut reconciled_at = None;
    loop {
        fds_peak = fds_peak.max(open_fds());
        let fed = net.node(TP).fed.as_ref().expect("federation");
        if connected_at.is_none() && fed.connected().len() >= all.len() - 1 {
            connected_at = Some(t.elapsed());
        }
        if reconciled_at.is_none()
            && fed.stats().sessions_reconciled.load(Ordering::Relaxed) as usize >= all.len() - 1
        {
            reconciled_at = Some(t.elapsed());
        }
        if connected_at.is_some() && reconciled_at.is_some() {
            break;
        }
        assert!(t.elapsed() < WAIT, "not reconciled within {WAIT:?}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    quiet(&net, &all).await;
    let done = t.elapsed();
    let looked = stat(&net, TP, |s| s.reconciled_at_start.load(Ordering::Relaxed));
    println!(
        "restart: reopened in {:.2} s; every peer connected after {:.1} s; every session's first reconcile done \
         after {:.1} s; quiet after {:.1} s",
        reopened.as_secs_f64(),
        connected_at.unwrap().as_secs_f64(),
        reconciled_at.unwrap().as_secs_f64(),
        done.as_secs_f64()
    );
    println!(
        "the reconciles looked at {looked} cases, against {} for every case with every peer",
        n_cases * (all.len() - 1)
    );
    println!(
        "open file descriptors (process): {fds_idle} before, {fds_peak} at the peak of the reconnect; \
         peak RSS (process, all {} nodes) {:.0} MiB",
        all.len(),
        proc_status("VmHWM:")
    );
    report_connections(&net, &all);
    net.shutdown().await;
}

/// Wait until no node sends anything for a second.
async fn quiet(net: &TestNet, all: &[&str]) {
    let sent = || -> u64 {
        all.iter()
            .map(|p| stat(net, p, |s| s.sent.load(Ordering::Relaxed)))
            .sum()
    };
    let mut last = sent();
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let now = sent();
        if now == last {
            return;
        }
        last = now;
    }
}

/// Open connections per node: the Transferpunt's, and the largest and the mean of the others.
fn report_connections(net: &TestNet, all: &[&str]) {
    let count = |p: &str| net.node(p).fed.as_ref().map_or(0, |f| f.connected().len());
    let others: Vec<usize> = all.iter().filter(|p| **p != TP).map(|p| count(p)).collect();
    println!(
        "open connections: Transferpunt {}; other nodes at most {}, mean {:.2}; a full mesh would be {} per node",
        count(TP),
        others.iter().max().copied().unwrap_or(0),
        others.iter().sum::<usize>() as f64 / others.len().max(1) as f64,
        all.len() - 1
    );
}
