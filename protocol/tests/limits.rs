//! The transport's bounds, each hit: half-open handshakes stall nobody, the number of handshakes in progress is
//! bounded and enforced, a handshake that never finishes is abandoned, and a connection ends when the peer's
//! certificate expires.
//!
//! A half-open handshake is made reliably, without timing: a real client's first datagram (its QUIC Initial) is
//! captured on a plain UDP socket, then replayed to the server from another socket that never answers. The server
//! sees a genuine connection attempt whose client never finishes.

use std::net::{SocketAddr, UdpSocket};
use std::time::Duration as StdDuration;

use protocol::endpoint::{CLOSE_CERTIFICATE_EXPIRED, HandshakeLimits};
use protocol::pki::CertifiedKey;
use protocol::{Admitted, Endpoint, EndpointError, FederationCa, Message, PeerId, TlsSetup};
use time::{Duration, OffsetDateTime};
use tokio::sync::mpsc;

/// Generous: outcomes are asserted, never how fast they came, except "well within this".
const PATIENCE: StdDuration = StdDuration::from_secs(30);

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

fn id(s: &str) -> PeerId {
    s.parse().unwrap()
}

fn ca() -> FederationCa {
    FederationCa::create(
        "federatie",
        now() - Duration::days(1),
        now() + Duration::days(365),
    )
    .unwrap()
}

fn issue(ca: &FederationCa, peer: &str) -> CertifiedKey {
    ca.issue(
        &id(peer),
        now() - Duration::days(1),
        now() + Duration::days(30),
    )
    .unwrap()
}

fn tls(ca: &FederationCa, cert: &CertifiedKey, admitted: &Admitted) -> TlsSetup {
    TlsSetup::from_pem(
        &cert.cert_pem,
        &cert.key_pem,
        ca.cert_pem(),
        admitted.clone(),
    )
    .unwrap()
}

fn local() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

fn admitted() -> Admitted {
    Admitted::new([
        id("transferpunt:sdf"),
        id("corporatie:elkien"),
        id("gemeente:GM0080"),
    ])
}

/// The first datagram a real client sends when dialling: a QUIC Initial with a fresh connection id.
async fn capture_initial(client: &Endpoint) -> Vec<u8> {
    let trap = UdpSocket::bind(local()).unwrap();
    trap.set_read_timeout(Some(PATIENCE)).unwrap();
    let to = trap.local_addr().unwrap();
    let dialler = client.clone();
    let dial = tokio::spawn(async move { dialler.connect(to, &id("transferpunt:sdf")).await });
    let datagram = tokio::task::spawn_blocking(move || {
        let mut buf = vec![0u8; 65536];
        let (n, _) = trap
            .recv_from(&mut buf)
            .expect("the client sends an Initial");
        buf.truncate(n);
        buf
    })
    .await
    .unwrap();
    dial.abort();
    datagram
}

/// Open `n` half-open handshakes with `server`: each a captured Initial replayed from a socket that never answers.
/// The sockets are returned so they stay open.
async fn stall(client: &Endpoint, server: SocketAddr, n: usize) -> Vec<UdpSocket> {
    let mut sockets = Vec::new();
    for _ in 0..n {
        let initial = capture_initial(client).await;
        let s = UdpSocket::bind(local()).unwrap();
        s.send_to(&initial, server).unwrap();
        sockets.push(s);
    }
    sockets
}

/// Wait until `cond` holds, checking every 20 ms, for at most [`PATIENCE`].
async fn until(what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while !cond() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "gave up waiting until {what}"
        );
        tokio::time::sleep(StdDuration::from_millis(20)).await;
    }
}

/// Take every outcome of `server.accept()` into a channel.
fn accept_all(
    server: Endpoint,
) -> mpsc::UnboundedReceiver<Result<protocol::Connection, EndpointError>> {
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Some(outcome) = server.accept().await {
            if tx.send(outcome).is_err() {
                break;
            }
        }
    });
    rx
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_open_handshakes_do_not_stall_an_honest_peer() {
    let ca = ca();
    let admitted = admitted();
    // A handshake timeout far beyond the test: the stalled handshakes stay in progress throughout.
    let limits = HandshakeLimits {
        max_in_progress: 16,
        timeout: StdDuration::from_secs(600),
    };
    let tp = Endpoint::bind_limited(
        local(),
        &tls(&ca, &issue(&ca, "transferpunt:sdf"), &admitted),
        None,
        limits,
    )
    .unwrap();
    let attacker = Endpoint::bind(
        local(),
        &tls(&ca, &issue(&ca, "gemeente:GM0080"), &admitted),
    )
    .unwrap();
    let corp = Endpoint::bind(
        local(),
        &tls(&ca, &issue(&ca, "corporatie:elkien"), &admitted),
    )
    .unwrap();
    let server_addr = tp.local_addr().unwrap();

    let _stalled = stall(&attacker, server_addr, 8).await;
    let server = tp.clone();
    until("the server is in 8 handshakes", move || {
        server.handshakes_in_progress() == 8
    })
    .await;

    // An honest partner connects, and the server's accept hands it over while the 8 are still hanging: the
    // handshakes are concurrent (awaited one by one, the first would block accept until quinn's 30 s idle
    // timeout).
    let mut accepted = accept_all(tp.clone());
    let conn = tokio::time::timeout(PATIENCE, corp.connect(server_addr, &id("transferpunt:sdf")))
        .await
        .expect("connect finishes")
        .expect("the honest partner connects");
    let server_side = tokio::time::timeout(PATIENCE, accepted.recv())
        .await
        .expect("accept hands over the connection")
        .unwrap()
        .expect("admitted");
    assert_eq!(server_side.peer(), &id("corporatie:elkien"));
    assert_eq!(
        tp.handshakes_in_progress(),
        8,
        "the half-open handshakes are still in progress"
    );
    // And it works.
    let msg = Message::NotAvailable { doc: "ping".into() };
    conn.send(&msg).await.unwrap();
    assert_eq!(server_side.recv().await.unwrap(), Some(msg));
    assert_eq!(
        tp.handshake_counts()
            .refused_at_capacity
            .load(std::sync::atomic::Ordering::Relaxed),
        0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_handshake_bound_refuses_attempts_beyond_it_and_the_timeout_frees_the_slots() {
    use std::sync::atomic::Ordering::Relaxed;
    let ca = ca();
    let admitted = admitted();
    let limits = HandshakeLimits {
        max_in_progress: 2,
        timeout: StdDuration::from_secs(10),
    };
    let tp = Endpoint::bind_limited(
        local(),
        &tls(&ca, &issue(&ca, "transferpunt:sdf"), &admitted),
        None,
        limits,
    )
    .unwrap();
    assert_eq!(tp.handshake_limits(), limits);
    let attacker = Endpoint::bind(
        local(),
        &tls(&ca, &issue(&ca, "gemeente:GM0080"), &admitted),
    )
    .unwrap();
    let corp = Endpoint::bind(
        local(),
        &tls(&ca, &issue(&ca, "corporatie:elkien"), &admitted),
    )
    .unwrap();
    let server_addr = tp.local_addr().unwrap();
    let mut accepted = accept_all(tp.clone());

    let _stalled = stall(&attacker, server_addr, 2).await;
    let server = tp.clone();
    until("both slots are taken", move || {
        server.handshakes_in_progress() == 2
    })
    .await;

    // A third attempt, even an honest one, is refused at once: not queued, not handshaken.
    let refused =
        tokio::time::timeout(PATIENCE, corp.connect(server_addr, &id("transferpunt:sdf")))
            .await
            .expect("the refusal comes at once, not after a timeout");
    assert!(refused.is_err(), "admitted beyond the bound: {refused:?}");
    assert_eq!(tp.handshake_counts().refused_at_capacity.load(Relaxed), 1);
    assert_eq!(tp.handshakes_in_progress(), 2);

    // The half-open handshakes are abandoned after the handshake timeout, reported by accept, and free their slots.
    for _ in 0..2 {
        let outcome = tokio::time::timeout(PATIENCE, accepted.recv())
            .await
            .expect("the stalled handshakes time out")
            .unwrap();
        match outcome {
            Err(EndpointError::HandshakeTimeout { timeout, .. }) => {
                assert_eq!(timeout, limits.timeout)
            }
            other => panic!("expected a handshake timeout, got {other:?}"),
        }
    }
    assert_eq!(tp.handshake_counts().timed_out.load(Relaxed), 2);
    let server = tp.clone();
    until("the slots are free", move || {
        server.handshakes_in_progress() == 0
    })
    .await;

    // Now the honest partner gets in.
    corp.connect(server_addr, &id("transferpunt:sdf"))
        .await
        .expect("connects once slots are free");
    let server_side = tokio::time::timeout(PATIENCE, accepted.recv())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(server_side.peer(), &id("corporatie:elkien"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_is_closed_when_the_peer_certificate_expires_and_cannot_come_back() {
    let ca = ca();
    let admitted = admitted();
    let tp = Endpoint::bind(
        local(),
        &tls(&ca, &issue(&ca, "transferpunt:sdf"), &admitted),
    )
    .unwrap();
    // Valid for a few seconds: long enough to connect on a slow machine, short for a test.
    let not_after = now() + Duration::seconds(6);
    let short = ca
        .issue(
            &id("corporatie:elkien"),
            now() - Duration::days(1),
            not_after,
        )
        .unwrap();
    let corp = Endpoint::bind(local(), &tls(&ca, &short, &admitted)).unwrap();
    let server_addr = tp.local_addr().unwrap();
    let mut accepted = accept_all(tp.clone());

    let conn = corp
        .connect(server_addr, &id("transferpunt:sdf"))
        .await
        .expect("connects while the certificate is valid");
    let server_side = accepted.recv().await.unwrap().unwrap();
    // Both ends know when the other's certificate ends (to the second: X.509 keeps seconds).
    assert_eq!(
        server_side.peer_not_after().unix_timestamp(),
        not_after.unix_timestamp()
    );
    assert!(conn.peer_not_after() > now() + Duration::days(29));

    // The Transferpunt closes the connection once the corporatie's certificate has expired.
    tokio::time::timeout(PATIENCE, server_side.closed())
        .await
        .expect("closed at expiry");
    assert!(now() > not_after, "closed before the certificate expired");
    let client_reason = tokio::time::timeout(PATIENCE, conn.closed()).await.unwrap();
    assert!(
        client_reason.contains("certificate expired")
            && client_reason.contains(&format!("{CLOSE_CERTIFICATE_EXPIRED}")),
        "{client_reason}"
    );

    // A new handshake with the expired certificate is refused.
    if let Ok(again) = corp.connect(server_addr, &id("transferpunt:sdf")).await {
        let _ = again.send(&Message::NotAvailable { doc: "x".into() }).await;
        tokio::time::timeout(PATIENCE, again.closed())
            .await
            .unwrap();
    }
    let refused = tokio::time::timeout(PATIENCE, accepted.recv())
        .await
        .unwrap()
        .unwrap();
    let err = refused
        .expect_err("an expired certificate is refused")
        .to_string();
    assert!(
        err.to_lowercase().contains("expired") || err.contains("certificate"),
        "{err}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_inbox_holds_no_more_than_its_byte_budget() {
    let ca = ca();
    let admitted = admitted();
    let tp = Endpoint::bind(
        local(),
        &tls(&ca, &issue(&ca, "transferpunt:sdf"), &admitted),
    )
    .unwrap();
    let corp = Endpoint::bind(
        local(),
        &tls(&ca, &issue(&ca, "corporatie:elkien"), &admitted),
    )
    .unwrap();
    let mut accepted = accept_all(tp.clone());
    let conn = corp
        .connect(tp.local_addr().unwrap(), &id("transferpunt:sdf"))
        .await
        .unwrap();
    let server_side = accepted.recv().await.unwrap().unwrap();

    const SIZE: usize = 100_000;
    const BUDGET: usize = 250_000;
    let mut inbox = server_side.inbox(BUDGET);
    assert_eq!(inbox.max_bytes(), BUDGET);
    let sender = conn.clone();
    let sending = tokio::spawn(async move {
        for i in 0..10u8 {
            let msg = Message::Sync {
                doc: format!("case-{i}/registratie"),
                data: vec![i; SIZE],
                traceparent: None,
            };
            sender.send(&msg).await.unwrap();
        }
    });
    // Nobody takes from the inbox: it fills to two messages and stays there while the peer sends ten.
    let deadline = tokio::time::Instant::now() + PATIENCE;
    while inbox.queued_bytes() < 2 * SIZE {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the inbox never filled"
        );
        tokio::time::sleep(StdDuration::from_millis(20)).await;
    }
    tokio::time::sleep(StdDuration::from_millis(300)).await;
    let queued = inbox.queued_bytes();
    assert!(
        (2 * SIZE..=BUDGET).contains(&queued),
        "{queued} bytes queued for a budget of {BUDGET}"
    );

    // Taking frees room; every message arrives, in order, intact.
    for i in 0..10u8 {
        let got = tokio::time::timeout(PATIENCE, inbox.recv())
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(
            got,
            Message::Sync {
                doc: format!("case-{i}/registratie"),
                data: vec![i; SIZE],
                traceparent: None,
            }
        );
        assert!(inbox.queued_bytes() <= BUDGET);
    }
    sending.await.unwrap();
    // A malformed frame is an item, not the end; the end of the connection is.
    conn.send_raw(b"\x01\x00\x00\x00\x04\xff\xff\xff\xff")
        .await
        .unwrap();
    assert!(matches!(inbox.recv().await, Some(Err(_))));
    conn.close("done");
    assert!(
        tokio::time::timeout(PATIENCE, inbox.recv())
            .await
            .unwrap()
            .is_none()
    );
}
