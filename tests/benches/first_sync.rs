//! First full sync: a zorgaanbieder holding many cases meets the Transferpunt for the first time.
//!
//! Two real nodes over real QUIC with mutual TLS on 127.0.0.1. The Transferpunt's federation side is stopped
//! while the zorgaanbieder is filled with `WEERTHUIS_BENCH_CASES` cases (default 10,000), each a registratie and an
//! aanmelding (fill time reported separately: every write is validated, audited and fsynced). Then the
//! Transferpunt starts again and dials; the bench measures the time until the Transferpunt holds every case —
//! counted by its `accepted` counter and then checked in its store (every case, both sections, the values written)
//! — and the Automerge sync payload bytes each side sent (`stats().bytes_sent`), against the size of the same
//! forms as JSON (`serde_json::to_vec` of the forms written, and of the forms the Transferpunt ends up holding).
//! Progress is printed every few seconds, so a rate that falls as the number of synced cases grows shows.
//!
//! Run: `cargo bench -p weerthuis-tests --bench first_sync` (`WEERTHUIS_BENCH_CASES=500` for a quick run).

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

#[path = "backend.rs"]
mod backend;

use node::store::CaseId;
use policies::DocumentKind as D;
use protocol::Message;
use serde_json::Value;
use simulator::live::wait_until;
use weerthuis_tests::{TestNet, client_aanmelding, client_registratie, telefoon};

const ZA: &str = "zorgaanbieder:kwadrant";
const TP: &str = "transferpunt:sdf";
/// No message sent by either side and nothing accepted for this long: the sync has stalled.
const STALL: Duration = Duration::from_secs(20);

#[derive(Clone, Copy, Debug, Default)]
struct Counters {
    sent: u64,
    bytes: u64,
    accepted: u64,
    wire: u64,
}

fn counters(net: &TestNet, id: &str) -> Counters {
    let s = net.node(id).fed.as_ref().expect("federation").stats();
    Counters {
        sent: s.sent.load(Ordering::Relaxed),
        bytes: s.bytes_sent.load(Ordering::Relaxed),
        accepted: s.accepted.load(Ordering::Relaxed),
        wire: s.wire_bytes_sent.load(Ordering::Relaxed),
    }
}

/// What the Transferpunt holds: (cases holding both sections with the values written, JSON bytes of those forms).
async fn check_transferpunt(net: &TestNet, expect: &[(CaseId, String)]) -> (usize, u64) {
    let tp = net.node(TP).node();
    let mut complete = 0;
    let mut json_bytes = 0u64;
    for (case, tel) in expect {
        let Ok(loaded) = tp.load_case(case).await else {
            continue;
        };
        let mut has_reg = false;
        let mut has_tel = false;
        for (section, form) in &loaded.projected_sections {
            let v = form.to_json();
            json_bytes += serde_json::to_vec(&v).unwrap().len() as u64;
            has_reg |= section == "registratie" && v.get("bsn").is_some();
            has_tel |= section == "aanmelding"
                && v.get("telefoonnummer").and_then(Value::as_str) == Some(tel.as_str());
        }
        if has_reg && has_tel {
            complete += 1;
        }
    }
    (complete, json_bytes)
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let n: u32 = std::env::var("WEERTHUIS_BENCH_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000);
    for backend in backend::backends() {
        println!();
        println!("=== {} ===", backend.name());
        run(&backend, n).await;
    }
}

/// The whole measurement on one back end.
async fn run(backend: &backend::Backend, n: u32) {
    let (options, databases) = backend::options(backend, &[ZA, TP]).await;
    let mut net = TestNet::start_with(&[ZA, TP], options).await;
    net.wait_connected().await;
    net.stop(TP).await;
    wait_until(
        "the zorgaanbieder sees the Transferpunt gone",
        Duration::from_secs(30),
        || async {
            net.node(ZA)
                .fed
                .as_ref()
                .is_some_and(|f| f.connected().is_empty())
        },
    )
    .await;

    // --- Fill the zorgaanbieder while the Transferpunt is away.
    let fill_start = Instant::now();
    let mut expect = Vec::with_capacity(n as usize);
    let mut json_written = 0u64;
    for i in 0..n {
        let case = net.new_case(ZA).await;
        let (r, a) = (
            client_registratie(i.into()),
            client_aanmelding(i.into(), i.into()),
        );
        json_written +=
            (serde_json::to_vec(&r).unwrap().len() + serde_json::to_vec(&a).unwrap().len()) as u64;
        net.write(ZA, &case, D::Registratie, None, r)
            .await
            .expect("registratie");
        net.write(ZA, &case, D::Aanmelding, None, a)
            .await
            .expect("aanmelding");
        expect.push((case, telefoon(i.into())));
        if (i + 1) % 1_000 == 0 {
            eprintln!(
                "filled {} cases in {:.1} s",
                i + 1,
                fill_start.elapsed().as_secs_f64()
            );
        }
    }
    let fill = fill_start.elapsed();
    eprintln!("filled {n} cases in {:.1} s", fill.as_secs_f64());

    // --- The Transferpunt comes (back) and syncs everything.
    let za0 = counters(&net, ZA);
    let start = Instant::now();
    net.restart(TP);
    let mut last_print = Instant::now();
    let mut last_accepted = 0u64;
    let mut last_t = Instant::now();
    let mut progress: Vec<(f64, u64)> = Vec::new();
    let held_at;
    let mut first_at: Option<Duration> = None;
    let mut activity = (0, 0, 0);
    let mut last_activity = Instant::now();
    let nf_fill = f64::from(n);
    loop {
        tokio::time::sleep(Duration::from_millis(20)).await;
        let tp = counters(&net, TP);
        if first_at.is_none() && tp.accepted > 0 {
            first_at = Some(start.elapsed());
        }
        if last_print.elapsed() >= Duration::from_secs(5) {
            let rate = (tp.accepted - last_accepted) as f64 / last_t.elapsed().as_secs_f64();
            eprintln!(
                "{:>7.1} s: Transferpunt accepted {} of {n} ({rate:.0} cases/s over the last interval)",
                start.elapsed().as_secs_f64(),
                tp.accepted
            );
            progress.push((start.elapsed().as_secs_f64(), tp.accepted));
            last_print = Instant::now();
            last_accepted = tp.accepted;
            last_t = Instant::now();
        }
        if tp.accepted >= u64::from(n) {
            held_at = start.elapsed();
            break;
        }
        let za = counters(&net, ZA);
        let now = (za.sent, tp.sent, tp.accepted);
        if now != activity {
            activity = now;
            last_activity = Instant::now();
        } else if last_activity.elapsed() >= STALL {
            let tp_cases = net
                .node(TP)
                .node()
                .store()
                .list_cases_count()
                .await
                .unwrap_or(0);
            println!();
            println!(
                "STALLED: first sync of {n} cases made no progress for {} s (after {:.1} s). Zorgaanbieder sent {} \
                 sync messages ({} B); Transferpunt sent {}, accepted {} with data, knows {tp_cases} cases. \
                 Fill took {:.1} s ({:.0} cases/s).",
                STALL.as_secs(),
                start.elapsed().as_secs_f64(),
                za.sent - za0.sent,
                za.bytes - za0.bytes,
                tp.sent,
                tp.accepted,
                fill.as_secs_f64(),
                nf_fill / fill.as_secs_f64()
            );
            std::process::exit(2);
        }
        if start.elapsed() > Duration::from_secs(3_600) {
            panic!("first sync did not finish within an hour");
        }
    }
    let za1 = counters(&net, ZA);
    let tp1 = counters(&net, TP);
    // Verify in the Transferpunt's store; if anything is missing yet, keep waiting (and count that time too).
    let (complete, json_held) = loop {
        let (complete, json_held) = check_transferpunt(&net, &expect).await;
        if complete == n as usize || start.elapsed() > Duration::from_secs(3_600) {
            break (complete, json_held);
        }
        eprintln!("store check: {complete} of {n} complete; waiting");
        tokio::time::sleep(Duration::from_secs(1)).await;
    };
    let verified_at = start.elapsed();
    assert_eq!(complete, n as usize, "the Transferpunt holds every case");
    // Then let the acknowledgements die down, for the total on the wire.
    let mut quiet = (counters(&net, ZA).sent, counters(&net, TP).sent);
    loop {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let now = (counters(&net, ZA).sent, counters(&net, TP).sent);
        if now == quiet {
            break;
        }
        quiet = now;
    }
    let za2 = counters(&net, ZA);
    let tp2 = counters(&net, TP);

    // Framing per message: header and the document id (a projection's wire id), before QUIC and TLS.
    let wire_id = format!("p/{}/{ZA}/{TP}/1", expect[0].0);
    let framing = protocol::frame::encode(&Message::Sync {
        doc: wire_id,
        data: Vec::new(),
        traceparent: None,
    })
    .unwrap()
    .len() as u64;

    let secs = held_at.as_secs_f64();
    let nf = f64::from(n);
    let za_bytes = za1.bytes - za0.bytes;
    let za_msgs = za1.sent - za0.sent;
    let za_bytes_all = za2.bytes - za0.bytes;
    let za_msgs_all = za2.sent - za0.sent;
    println!();
    println!(
        "First full sync of {n} cases, zorgaanbieder -> Transferpunt (release, loopback, real QUIC + mTLS)"
    );
    println!(
        "fill (zorgaanbieder, TP away): {:.1} s, {:.0} cases/s ({:.0} writes/s incl. create_case)",
        fill.as_secs_f64(),
        nf / fill.as_secs_f64(),
        3.0 * nf / fill.as_secs_f64()
    );
    println!(
        "time until the Transferpunt accepted all {n}: {secs:.2} s = {:.0} cases/s (verified in its store at {:.2} s)",
        nf / secs,
        verified_at.as_secs_f64()
    );
    if let Some(first) = first_at {
        println!(
            "first case accepted at the Transferpunt after {:.3} s",
            first.as_secs_f64()
        );
    }
    if !progress.is_empty() {
        println!("progress (s, accepted): {progress:?}");
    }
    println!(
        "zorgaanbieder sync payload sent until then: {za_bytes} B in {za_msgs} messages = {:.0} B/case; \
         with acknowledgements until quiet: {za_bytes_all} B in {za_msgs_all} messages",
        za_bytes as f64 / nf
    );
    println!(
        "Transferpunt sync payload sent (the other direction): {} B in {} messages until all held; {} B in {} until quiet",
        tp1.bytes, tp1.sent, tp2.bytes, tp2.sent
    );
    println!(
        "framing estimate ({framing} B/message: header + projection id): zorgaanbieder {} B, both directions {} B (until quiet)",
        za_bytes_all + za_msgs_all * framing,
        za_bytes_all + tp2.bytes + (za_msgs_all + tp2.sent) * framing
    );
    println!(
        "JSON of the forms written: {json_written} B = {:.0} B/case; JSON of the forms the Transferpunt holds: {json_held} B",
        json_written as f64 / nf
    );
    println!(
        "ratio zorgaanbieder payload / JSON written: {:.2} (until all held), {:.2} (until quiet); both directions / JSON: {:.2}",
        za_bytes as f64 / json_written as f64,
        za_bytes_all as f64 / json_written as f64,
        (za_bytes_all + tp2.bytes) as f64 / json_written as f64
    );
    // What went on the wire: UDP datagram bytes (QUIC, TLS, frames, batches), counted by each connection.
    let (za_wire, tp_wire) = (za2.wire - za0.wire, tp2.wire);
    println!(
        "on the wire (UDP bytes, QUIC and TLS included) until quiet: zorgaanbieder {za_wire} B = {:.0} B/case, \
         Transferpunt {tp_wire} B = {:.0} B/case; ratio zorgaanbieder wire / JSON written: {:.2}, both directions / \
         JSON: {:.2} (goal, issue #14: <= 0.5)",
        za_wire as f64 / nf,
        tp_wire as f64 / nf,
        za_wire as f64 / json_written as f64,
        (za_wire + tp_wire) as f64 / json_written as f64
    );
    let refused = |id: &str| {
        net.node(id)
            .fed
            .as_ref()
            .map_or(0, |f| f.stats().refused.load(Ordering::Relaxed))
    };
    println!(
        "Transferpunt accepted {} messages; refused: zorgaanbieder {}, Transferpunt {}",
        tp2.accepted,
        refused(ZA),
        refused(TP)
    );
    drop(net);
    if let Some(dbs) = databases {
        dbs.drop_all().await;
    }
}
