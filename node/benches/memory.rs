//! The node's resident memory with 100,000 stored cases (issue 3: a national decade).
//!
//! Run: `cargo bench -p node --bench memory` (several minutes in release; `WEERTHUIS_BENCH_CASES=N` for fewer).
//!
//! What it does, in one process unless said otherwise:
//! 1. opens a fresh node (SQLite in a temporary directory) and fills it through `Node::write_form` with N cases,
//!    each with a registratie and an aanmelding (validated, policy-checked, audited, fsynced like any API write),
//!    from a few concurrent tasks, printing the fill rate as it goes;
//! 2. serves the API on 127.0.0.1:0 and lists a page of cases over HTTP (`GET /api/v1/casussen?limit=100`);
//! 3. closes the node and opens the store again in the same process, and lists a page again;
//! 4. starts *this program again* as a fresh process on the filled directory (`--reopen DIR`): a node restarted on
//!    N stored cases, which opens the store, serves the API and lists a page.
//!
//! At each step it prints VmRSS (resident now) and VmHWM (peak resident so far) from `/proc/self/status`, and at the
//! end the size of the database files. Memory that was freed is not always returned to the OS, so the in-process
//! figures after reopening include what the fill left behind; the fresh process of step 4 is the restart figure.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use node::service::Node;
use node::store::{CaseId, User};
use policies::{DocumentKind, PartnerId};
use serde_json::{Value as Json, json};
use tokio::runtime::Runtime;

const PARTNER: &str = "zorgaanbieder:kwadrant";
const DEFAULT_CASES: usize = 100_000;
/// Tasks filling at once (writes are serialised in the node; the rest of a write overlaps).
const FILL_TASKS: usize = 4;

/// VmRSS and VmHWM in KiB.
fn memory() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .unwrap_or(0)
    };
    (field("VmRSS:"), field("VmHWM:"))
}

fn mib(kib: u64) -> f64 {
    kib as f64 / 1024.0
}

fn report(step: &str) {
    let (rss, hwm) = memory();
    println!(
        "  {step:<58} VmRSS {:>8.1} MiB   VmHWM {:>8.1} MiB",
        mib(rss),
        mib(hwm)
    );
}

fn runtime() -> Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime")
}

fn registratie(i: usize) -> Json {
    let mut reg = policies::examples::registratie(
        &policies::examples::Client::numbered(i as u64),
        "zorgaanbieder:kwadrant",
        true,
        "maatschappelijke_opvang",
        "GM0080",
        "2025-09-01",
    );
    reg["reden_dakloosheid"] = json!(format!("Huisuitzetting na relatiebreuk (casus {i})"));
    reg
}

fn aanmelding(i: usize) -> Json {
    policies::examples::aanmelding(
        &policies::examples::Client::numbered(i as u64),
        "2025-09-10",
    )
}

async fn fill_one(node: &Node, user: &User, i: usize) {
    let id: CaseId = node
        .create_case()
        .await
        .expect("create case")
        .id
        .parse()
        .expect("case id");
    node.write_form(user, &id, DocumentKind::Registratie, None, &registratie(i))
        .await
        .expect("registratie");
    node.write_form(user, &id, DocumentKind::Aanmelding, None, &aanmelding(i))
        .await
        .expect("aanmelding");
}

/// Serve the API on loopback, list the first page of cases over HTTP, stop serving. Returns the time the list took
/// and how many cases it returned.
fn list_page(rt: &Runtime, node: &Arc<Node>, token: &str) -> (Duration, usize) {
    let (addr, stop, served) = rt.block_on(async {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        // `serve` closes the store when it stops; serve a clone-free router instead so the node stays usable.
        let app = node::api::router(node.clone(), node::config::DEFAULT_MAX_BODY_BYTES);
        let served = tokio::spawn(async move {
            axum_serve(listener, app, async move {
                let _ = stopped.await;
            })
            .await
        });
        (addr, stop, served)
    });
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .http_status_as_error(false)
        .proxy(None)
        .timeout_global(Some(Duration::from_secs(600)))
        .build()
        .into();
    let start = Instant::now();
    let mut res = agent
        .get(format!("http://{addr}/api/v1/casussen?limit=100"))
        .header("Authorization", &format!("Bearer {token}"))
        .call()
        .expect("GET casussen");
    let body = res.body_mut().read_to_string().expect("body");
    let took = start.elapsed();
    assert_eq!(res.status(), 200, "{body}");
    let page: Vec<Json> = serde_json::from_str(&body).expect("list JSON");
    let _ = stop.send(());
    rt.block_on(served).expect("server task").expect("serve");
    (took, page.len())
}

/// `axum::serve` without closing the store afterwards (what `app::serve` does on shutdown).
async fn axum_serve(
    listener: tokio::net::TcpListener,
    app: axum::Router,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

fn database_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .expect("data dir")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("node.db"))
        .map(|e| e.metadata().map(|m| m.len()).unwrap_or(0))
        .sum()
}

/// Step 4, in a fresh process: open the filled node, serve, list a page.
fn reopen(dir: &Path, token: &str) {
    report("fresh process: started");
    let rt = runtime();
    let start = Instant::now();
    let (_, node) = rt.block_on(node::app::open(dir)).expect("open");
    let opened = start.elapsed();
    report(&format!(
        "fresh process: node opened ({:.2} s)",
        opened.as_secs_f64()
    ));
    let (took, n) = list_page(&rt, &node, token);
    report(&format!(
        "fresh process: listed a page of {n} ({:.2} s)",
        took.as_secs_f64()
    ));
    let (took, n) = list_page(&rt, &node, token);
    report(&format!(
        "fresh process: listed a page of {n} again ({:.2} s)",
        took.as_secs_f64()
    ));
    rt.block_on(node.store().close());
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--reopen") {
        reopen(Path::new(&args[i + 1]), &args[i + 2]);
        return;
    }
    let cases: usize = std::env::var("WEERTHUIS_BENCH_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(DEFAULT_CASES);
    println!("node memory with {cases} cases (registratie + aanmelding each), SQLite:");
    report("start");
    let rt = runtime();
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().to_path_buf();
    let partner: PartnerId = PARTNER.parse().expect("partner");
    let (node, new_user) = rt.block_on(async {
        node::app::init(&dir, partner, None).await.expect("init");
        let (_, node) = node::app::open(&dir).await.expect("open");
        let user = node
            .store()
            .create_user("benchmark", "benchmark")
            .await
            .expect("user");
        (node, user)
    });
    report("empty node open");

    // Fill.
    let start = Instant::now();
    let next = Arc::new(AtomicUsize::new(0));
    let user = Arc::new(new_user.user);
    let token = new_user.token;
    rt.block_on(async {
        let tasks: Vec<_> = (0..FILL_TASKS)
            .map(|_| {
                let (node, user, next) = (node.clone(), user.clone(), next.clone());
                tokio::spawn(async move {
                    loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        if i >= cases {
                            break;
                        }
                        fill_one(&node, &user, i).await;
                        let done = i + 1;
                        if done % 10_000 == 0 || done == 1_000 {
                            let s = start.elapsed().as_secs_f64();
                            println!(
                                "    filled {done:>7} cases in {s:>7.1} s: {:>6.0} cases/s, {:>6.0} writes/s (2 forms + 1 case each)",
                                done as f64 / s,
                                3.0 * done as f64 / s
                            );
                        }
                    }
                })
            })
            .collect();
        for t in tasks {
            t.await.expect("fill task");
        }
    });
    let fill = start.elapsed().as_secs_f64();
    println!(
        "  filled {cases} cases in {fill:.1} s: {:.0} cases/s ({:.0} writes/s, {} tasks)",
        cases as f64 / fill,
        3.0 * cases as f64 / fill,
        FILL_TASKS
    );
    report("after filling");

    let (took, n) = list_page(&rt, &node, &token);
    report(&format!(
        "API served, listed a page of {n} ({:.2} s)",
        took.as_secs_f64()
    ));
    let (took, n) = list_page(&rt, &node, &token);
    report(&format!(
        "listed a page of {n} again ({:.2} s)",
        took.as_secs_f64()
    ));

    rt.block_on(node.store().close());
    drop(node);
    report("node closed and dropped");
    let db = database_bytes(&dir);

    let start = Instant::now();
    let (_, node) = rt.block_on(node::app::open(&dir)).expect("reopen");
    let opened = start.elapsed();
    report(&format!(
        "store reopened in the same process ({:.2} s)",
        opened.as_secs_f64()
    ));
    let (took, n) = list_page(&rt, &node, &token);
    report(&format!(
        "same process: listed a page of {n} ({:.2} s)",
        took.as_secs_f64()
    ));
    rt.block_on(node.store().close());
    drop(node);

    let out = std::process::Command::new(std::env::current_exe().expect("current exe"))
        .arg("--reopen")
        .arg(&dir)
        .arg(&token)
        .output()
        .expect("start the fresh process");
    print!("{}", String::from_utf8_lossy(&out.stdout));
    eprint!("{}", String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "fresh process failed: {}", out.status);

    println!(
        "  database files (node.db*): {:.1} MiB, {:.0} bytes per case",
        db as f64 / (1024.0 * 1024.0),
        db as f64 / cases as f64
    );
}
