//! Edit latency across the federation, against the raw QUIC round trip measured in the same run.
//!
//! Two real nodes — a zorgaanbieder and the Transferpunt — over real QUIC with mutual TLS on 127.0.0.1. After a
//! warm-up, the zorgaanbieder changes one field of the aanmelding of one case (`telefoonnummer`, a new value each
//! time) `WEERTHUIS_BENCH_EDITS` times (default 1,000). Each edit is timed from the `write` call returning to the
//! moment the new value is visible at the Transferpunt: the bench waits for the Transferpunt node's change
//! notification for the case and then reads what the Transferpunt holds. Between edits the federation is left to
//! go quiet, so one edit's acknowledgements do not overlap the next edit.
//!
//! Interleaved with the edits (one round trip after each edit, so both see the same load on a shared machine), a
//! `Message::Sync` carrying a payload of the size a typical edit puts on the wire is echoed over a second pair of
//! `protocol::Endpoint`s with the same two certificates, and the *floor* is measured: one durable commit of the
//! same size at each end around that round trip — a SQLite transaction in WAL mode with `synchronous = FULL` (as
//! the node's store opens it) on the same disk as the nodes' data, before the send and after the echo. That is
//! the least an edit can cost when each side must have it on disk before it counts (issue #14: the goal is an
//! edit's p99 within 1.5× the floor's). The table gives median, p90, p99 and max of each and the ratios.
//!
//! Run: `cargo bench -p weerthuis-tests --bench latency`.

use std::time::{Duration, Instant};

#[path = "backend.rs"]
mod backend;

use node::store::CaseId;
use policies::DocumentKind as D;
use protocol::{Admitted, Endpoint, EndpointError, Message, PeerId, TlsSetup};
use simulator::live::wait_until;
use tokio::sync::broadcast::error::RecvError;
use weerthuis_tests::{TestNet, client_aanmelding, client_registratie, telefoon};

const ZA: &str = "zorgaanbieder:kwadrant";
const TP: &str = "transferpunt:sdf";
const WARMUP: usize = 50;

/// The telefoonnummer the Transferpunt holds for the case, in whichever section it arrived.
async fn tp_telefoon(net: &TestNet, case: &CaseId) -> Option<String> {
    net.holds(TP, case)
        .await
        .values()
        .find_map(|s| s.get("telefoonnummer")?.as_str().map(str::to_string))
}

/// Wait until neither node has sent a sync message for `quiet`.
async fn settle(net: &TestNet, quiet: Duration) {
    let sent = |id: &str| {
        net.node(id)
            .fed
            .as_ref()
            .map(|f| f.stats().sent.load(std::sync::atomic::Ordering::Relaxed))
            .unwrap_or(0)
    };
    let deadline = Instant::now() + Duration::from_secs(2);
    let mut last = (sent(ZA), sent(TP));
    let mut since = Instant::now();
    while Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(2)).await;
        let now = (sent(ZA), sent(TP));
        if now != last {
            last = now;
            since = Instant::now();
        } else if since.elapsed() >= quiet {
            return;
        }
    }
}

struct Edit {
    /// From the `write` call returning to the value visible at the Transferpunt.
    after_write: Duration,
    /// From the `write` call starting (includes the local validation, fsync and audit record).
    from_call: Duration,
}

/// One edit: write a new telefoonnummer, wait until the Transferpunt holds it.
async fn edit(net: &TestNet, case: &CaseId, seed: u32, i: usize) -> Edit {
    let mut changes = net.node(TP).node().subscribe();
    let want = telefoon(i as u64);
    let call = Instant::now();
    net.write(
        ZA,
        case,
        D::Aanmelding,
        None,
        client_aanmelding(seed.into(), i as u64),
    )
    .await
    .expect("edit");
    let written = Instant::now();
    // The notification may already be queued (the sync runs while `write` returns): the value is then checked at
    // once, and the time is still measured from `written`.
    if tp_telefoon(net, case).await.as_deref() != Some(want.as_str()) {
        loop {
            match tokio::time::timeout(Duration::from_secs(10), changes.recv()).await {
                Err(_) => panic!("edit {i} did not arrive at the Transferpunt within 10 s"),
                Ok(Ok(c)) if &c == case => {
                    let seen = Instant::now();
                    if tp_telefoon(net, case).await.as_deref() == Some(want.as_str()) {
                        return Edit {
                            after_write: seen - written,
                            from_call: seen - call,
                        };
                    }
                }
                Ok(Ok(_)) | Ok(Err(RecvError::Lagged(_))) => {}
                Ok(Err(RecvError::Closed)) => panic!("the Transferpunt node closed"),
            }
        }
    }
    let seen = Instant::now();
    Edit {
        after_write: seen - written,
        from_call: seen - call,
    }
}

/// A raw QUIC pair with the nodes' certificates: the client side, connected to an echo server.
async fn echo_pair(net: &TestNet) -> (protocol::Connection, Endpoint, Endpoint) {
    let admitted = Admitted::new([ZA.parse::<PeerId>().unwrap(), TP.parse::<PeerId>().unwrap()]);
    let bind = |id: &str| {
        let cert = &net.node(id).cert;
        let tls = TlsSetup::from_pem(
            &cert.cert_pem,
            &cert.key_pem,
            net.ca.cert_pem(),
            admitted.clone(),
        )
        .expect("tls");
        Endpoint::bind("127.0.0.1:0".parse().unwrap(), &tls).expect("bind")
    };
    let server = bind(TP);
    let client = bind(ZA);
    let s = server.clone();
    tokio::spawn(async move {
        while let Some(Ok(conn)) = s.accept().await {
            tokio::spawn(async move {
                loop {
                    match conn.recv().await {
                        Ok(Some(m)) => {
                            if conn.send(&m).await.is_err() {
                                break;
                            }
                        }
                        Ok(None) | Err(EndpointError::Connection { .. }) => break,
                        Err(_) => {}
                    }
                }
            });
        }
    });
    let conn = client
        .connect(server.local_addr().unwrap(), &TP.parse().unwrap())
        .await
        .expect("connect");
    (conn, client, server)
}

/// Where the floor's durable commits go: a database of the bench's back end, on the same disk or server as the
/// nodes' data.
enum FloorDb {
    /// A SQLite file opened as the node's store opens one (WAL, `synchronous = FULL`).
    Sqlite(sqlx::SqlitePool),
    /// A PostgreSQL database (`synchronous_commit = on`, the server's default, as the node uses it).
    Postgres(sqlx::PgPool),
}

impl FloorDb {
    async fn sqlite(dir: &std::path::Path, name: &str) -> FloorDb {
        use sqlx::sqlite::{
            SqliteConnectOptions, SqliteJournalMode, SqlitePoolOptions, SqliteSynchronous,
        };
        let options = SqliteConnectOptions::new()
            .filename(dir.join(name))
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Full);
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .connect_with(options)
            .await
            .expect("open the floor's database");
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS floor (id INTEGER PRIMARY KEY, payload BLOB NOT NULL)",
        )
        .execute(&pool)
        .await
        .expect("create the floor's table");
        FloorDb::Sqlite(pool)
    }

    async fn postgres(url: &str) -> FloorDb {
        let pool = sqlx::postgres::PgPoolOptions::new()
            .max_connections(1)
            .connect(url)
            .await
            .expect("connect the floor's database");
        sqlx::query(
            "CREATE TABLE IF NOT EXISTS floor (id BIGSERIAL PRIMARY KEY, payload BYTEA NOT NULL)",
        )
        .execute(&pool)
        .await
        .expect("create the floor's table");
        FloorDb::Postgres(pool)
    }

    /// One durable commit: a write transaction storing `payload`.
    async fn commit(&self, payload: &[u8]) {
        match self {
            FloorDb::Sqlite(pool) => {
                let mut tx = pool.begin_with("BEGIN IMMEDIATE").await.expect("begin");
                sqlx::query("INSERT INTO floor (payload) VALUES ($1)")
                    .bind(payload)
                    .execute(&mut *tx)
                    .await
                    .expect("insert");
                tx.commit().await.expect("commit");
            }
            FloorDb::Postgres(pool) => {
                let mut tx = pool.begin().await.expect("begin");
                sqlx::query("INSERT INTO floor (payload) VALUES ($1)")
                    .bind(payload)
                    .execute(&mut *tx)
                    .await
                    .expect("insert");
                tx.commit().await.expect("commit");
            }
        }
    }
}

/// The floor: a durable commit at the sending end, the raw round trip, a durable commit at the receiving end.
async fn floor(
    conn: &protocol::Connection,
    msg: &Message,
    sender: &FloorDb,
    receiver: &FloorDb,
) -> Duration {
    let Message::Sync { data, .. } = msg else {
        unreachable!("the probe is a sync message")
    };
    let start = Instant::now();
    sender.commit(data).await;
    round_trip(conn, msg).await;
    receiver.commit(data).await;
    start.elapsed()
}

async fn round_trip(conn: &protocol::Connection, msg: &Message) -> Duration {
    let start = Instant::now();
    conn.send(msg).await.expect("send");
    let back = conn.recv().await.expect("recv").expect("echo");
    let rtt = start.elapsed();
    assert_eq!(&back, msg);
    rtt
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

struct Summary {
    median: Duration,
    p90: Duration,
    p99: Duration,
    max: Duration,
    mean: Duration,
}

fn summary(mut v: Vec<Duration>) -> Summary {
    v.sort();
    let mean = v.iter().sum::<Duration>() / v.len() as u32;
    Summary {
        median: percentile(&v, 0.5),
        p90: percentile(&v, 0.9),
        p99: percentile(&v, 0.99),
        max: *v.last().unwrap(),
        mean,
    }
}

fn ms(d: Duration) -> String {
    format!("{:.3}", d.as_secs_f64() * 1e3)
}

fn row(name: &str, s: &Summary) {
    println!(
        "{name:<44} {:>9} {:>9} {:>9} {:>9} {:>9}",
        ms(s.median),
        ms(s.p90),
        ms(s.p99),
        ms(s.max),
        ms(s.mean)
    );
}

fn stat(net: &TestNet, id: &str) -> (u64, u64) {
    let s = net.node(id).fed.as_ref().expect("federation").stats();
    (
        s.sent.load(std::sync::atomic::Ordering::Relaxed),
        s.bytes_sent.load(std::sync::atomic::Ordering::Relaxed),
    )
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let edits: usize = std::env::var("WEERTHUIS_BENCH_EDITS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000);
    for backend in backend::backends() {
        run(&backend, edits).await;
    }
}

/// The whole measurement on one back end.
async fn run(backend: &backend::Backend, edits: usize) {
    let (options, databases) = backend::options(backend, &[ZA, TP]).await;
    let net = TestNet::start_with(&[ZA, TP], options).await;
    net.wait_connected().await;

    let seed = 1u32;
    let case = net
        .case_with(
            ZA,
            &[
                (D::Registratie, client_registratie(seed.into())),
                (D::Aanmelding, client_aanmelding(seed.into(), 0)),
            ],
        )
        .await;
    wait_until(
        "the Transferpunt holds the aanmelding",
        Duration::from_secs(30),
        || async { tp_telefoon(&net, &case).await.as_deref() == Some(telefoon(0).as_str()) },
    )
    .await;
    settle(&net, Duration::from_millis(50)).await;

    // Warm-up; also learn what one edit puts on the wire.
    let (za_sent0, za_bytes0) = stat(&net, ZA);
    let (tp_sent0, tp_bytes0) = stat(&net, TP);
    for i in 1..=WARMUP {
        edit(&net, &case, seed, i).await;
        settle(&net, Duration::from_millis(10)).await;
    }
    let (za_sent1, za_bytes1) = stat(&net, ZA);
    let (tp_sent1, tp_bytes1) = stat(&net, TP);
    let za_msgs = (za_sent1 - za_sent0) as f64 / WARMUP as f64;
    let za_bytes = (za_bytes1 - za_bytes0) as f64 / WARMUP as f64;
    let tp_msgs = (tp_sent1 - tp_sent0) as f64 / WARMUP as f64;
    let tp_bytes = (tp_bytes1 - tp_bytes0) as f64 / WARMUP as f64;
    // The message that carries the change is nearly all of the zorgaanbieder's bytes per edit.
    let payload = za_bytes.round() as usize;
    let doc_name = format!("p/{case}/{ZA}/{TP}/1");
    let probe = Message::Sync {
        doc: doc_name,
        data: (0..payload).map(|i| (i * 31 % 251) as u8).collect(),
        traceparent: None,
    };

    let (conn, _client, _server) = echo_pair(&net).await;
    // On the disk the nodes' data directories are on (the harness makes them with `tempfile`), or in the nodes'
    // own PostgreSQL databases.
    let floor_dir = tempfile::tempdir().expect("temp dir");
    let (sender_db, receiver_db) = match databases.as_ref() {
        None => (
            FloorDb::sqlite(floor_dir.path(), "sender.sqlite").await,
            FloorDb::sqlite(floor_dir.path(), "receiver.sqlite").await,
        ),
        Some(dbs) => (
            FloorDb::postgres(&dbs.url_of(ZA)).await,
            FloorDb::postgres(&dbs.url_of(TP)).await,
        ),
    };
    for _ in 0..WARMUP {
        round_trip(&conn, &probe).await;
        floor(&conn, &probe, &sender_db, &receiver_db).await;
    }

    let mut after_write = Vec::with_capacity(edits);
    let mut from_call = Vec::with_capacity(edits);
    let mut rtts = Vec::with_capacity(edits);
    let mut floors = Vec::with_capacity(edits);
    let started = Instant::now();
    for i in 0..edits {
        let e = edit(&net, &case, seed, WARMUP + 1 + i).await;
        after_write.push(e.after_write);
        from_call.push(e.from_call);
        settle(&net, Duration::from_millis(10)).await;
        rtts.push(round_trip(&conn, &probe).await);
        floors.push(floor(&conn, &probe, &sender_db, &receiver_db).await);
    }
    let wall = started.elapsed();
    conn.close("done");

    let edit_s = summary(after_write);
    let call_s = summary(from_call);
    let rtt_s = summary(rtts);
    let floor_s = summary(floors);
    println!();
    println!(
        "Edit latency on {}, zorgaanbieder -> Transferpunt, {edits} edits of aanmelding.telefoonnummer (release, loopback, real QUIC + mTLS)",
        backend.name()
    );
    println!(
        "per edit on the wire (sync payload, warm-up mean): zorgaanbieder {za_msgs:.2} msgs / {za_bytes:.0} B, Transferpunt {tp_msgs:.2} msgs / {tp_bytes:.0} B"
    );
    println!(
        "raw round trip: Message::Sync with a {payload} B payload (doc id {} B), echoed over an Endpoint pair with the same certificates",
        probe.doc().map_or(0, str::len)
    );
    println!();
    println!(
        "{:<44} {:>9} {:>9} {:>9} {:>9} {:>9}",
        "ms", "median", "p90", "p99", "max", "mean"
    );
    row("edit: write returned -> visible at TP", &edit_s);
    row("edit: write called -> visible at TP", &call_s);
    row("raw QUIC round trip, same-size message", &rtt_s);
    row("floor: commit + round trip + commit", &floor_s);
    let ratio = |a: Duration, b: Duration| a.as_secs_f64() / b.as_secs_f64();
    for (name, of) in [
        ("ratio edit (after write) / RTT", &rtt_s),
        ("ratio edit (after write) / floor", &floor_s),
    ] {
        println!(
            "{:<44} {:>9.1} {:>9.1} {:>9.1} {:>9.1} {:>9.1}",
            name,
            ratio(edit_s.median, of.median),
            ratio(edit_s.p90, of.p90),
            ratio(edit_s.p99, of.p99),
            ratio(edit_s.max, of.max),
            ratio(edit_s.mean, of.mean)
        );
    }
    println!("(goal, issue #14: p99 of edit / floor <= 1.5)");
    println!(
        "wall time of the measured loop: {:.1} s",
        wall.as_secs_f64()
    );
    drop(net);
    if let Some(dbs) = databases {
        dbs.drop_all().await;
    }
}
