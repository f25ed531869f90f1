//! Real QUIC with real certificates on 127.0.0.1: who gets in, who is refused at the handshake, and that a hostile
//! frame costs a connection nothing but that one stream.

use std::net::SocketAddr;

use protocol::frame::{MAX_FRAME_LEN, PROTOCOL_VERSION};
use protocol::pki::CertifiedKey;
use protocol::{
    Admitted, Endpoint, EndpointError, FederationCa, FrameError, Message, PeerId, TlsSetup,
};
use time::{Duration, OffsetDateTime};

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

fn ca(name: &str) -> FederationCa {
    FederationCa::create(name, now() - Duration::days(1), now() + Duration::days(365)).unwrap()
}

fn id(s: &str) -> PeerId {
    s.parse().unwrap()
}

fn issue(ca: &FederationCa, peer: &str) -> CertifiedKey {
    ca.issue(
        &id(peer),
        now() - Duration::days(1),
        now() + Duration::days(30),
    )
    .unwrap()
}

fn node(ca: &FederationCa, cert: &CertifiedKey, admitted: &Admitted) -> Endpoint {
    let tls = TlsSetup::from_pem(
        &cert.cert_pem,
        &cert.key_pem,
        ca.cert_pem(),
        admitted.clone(),
    )
    .unwrap();
    Endpoint::bind("127.0.0.1:0".parse().unwrap(), &tls).unwrap()
}

fn addr(e: &Endpoint) -> SocketAddr {
    e.local_addr().unwrap()
}

/// Accept connections on `server` and echo each message back until the connection closes.
fn spawn_echo(server: Endpoint) -> tokio::task::JoinHandle<Vec<String>> {
    tokio::spawn(async move {
        let mut log = Vec::new();
        while let Some(conn) = server.accept().await {
            let conn = match conn {
                Ok(c) => c,
                Err(e) => {
                    log.push(format!("refused: {e}"));
                    continue;
                }
            };
            log.push(format!("accepted {}", conn.peer()));
            loop {
                match conn.recv().await {
                    Ok(Some(m)) => conn.send(&m).await.unwrap(),
                    Ok(None) => break,
                    Err(EndpointError::Frame(e)) => log.push(format!("bad frame: {e}")),
                    Err(_) => break,
                }
            }
            return log;
        }
        log
    })
}

#[tokio::test]
async fn admitted_partners_connect_and_learn_each_others_identity() {
    let ca = ca("federatie");
    let admitted = Admitted::new([id("transferpunt:sdf"), id("corporatie:elkien")]);
    let tp = node(&ca, &issue(&ca, "transferpunt:sdf"), &admitted);
    let corp = node(&ca, &issue(&ca, "corporatie:elkien"), &admitted);
    let echo = spawn_echo(tp.clone());

    let conn = corp
        .connect(addr(&tp), &id("transferpunt:sdf"))
        .await
        .unwrap();
    assert_eq!(
        conn.peer(),
        &id("transferpunt:sdf"),
        "identity comes from the certificate"
    );
    let msg = Message::Sync {
        doc: "case-1/aanmeldbericht".into(),
        data: vec![1, 2, 3],
        traceparent: None,
    };
    conn.send(&msg).await.unwrap();
    assert_eq!(conn.recv().await.unwrap(), Some(msg));
    conn.close("done");
    let log = echo.await.unwrap();
    assert_eq!(log[0], "accepted corporatie:elkien");
}

#[tokio::test]
async fn a_certificate_from_another_ca_is_refused_at_the_handshake() {
    let ours = ca("federatie");
    let theirs = ca("een andere CA");
    let admitted = Admitted::new([id("transferpunt:sdf"), id("corporatie:elkien")]);
    let tp = node(&ours, &issue(&ours, "transferpunt:sdf"), &admitted);
    // Same partner id, certificate from the wrong CA; it even trusts our CA for the server side.
    let rogue_cert = issue(&theirs, "corporatie:elkien");
    let tls = TlsSetup::from_pem(
        &rogue_cert.cert_pem,
        &rogue_cert.key_pem,
        ours.cert_pem(),
        admitted.clone(),
    )
    .unwrap();
    let rogue = Endpoint::bind("127.0.0.1:0".parse().unwrap(), &tls).unwrap();
    let server = tp.clone();
    let accept =
        tokio::spawn(async move { server.accept().await.map(|r| r.map(|c| c.peer().clone())) });
    let outcome = rogue.connect(addr(&tp), &id("transferpunt:sdf")).await;
    // The client may learn of the refusal only when it uses the connection.
    if let Ok(conn) = outcome {
        let _ = conn.send(&Message::NotAvailable { doc: "x".into() }).await;
        let reason = conn.closed().await;
        assert!(!reason.is_empty());
    }
    let server_side = accept.await.unwrap().unwrap();
    assert!(
        server_side.is_err(),
        "the server refuses the handshake: {server_side:?}"
    );
}

#[tokio::test]
async fn an_expired_certificate_is_refused() {
    let ca = ca("federatie");
    let admitted = Admitted::new([id("transferpunt:sdf"), id("corporatie:elkien")]);
    let tp = node(&ca, &issue(&ca, "transferpunt:sdf"), &admitted);
    let expired = ca
        .issue(
            &id("corporatie:elkien"),
            now() - Duration::days(60),
            now() - Duration::days(1),
        )
        .unwrap();
    let corp = node(&ca, &expired, &admitted);
    let server = tp.clone();
    let accept =
        tokio::spawn(async move { server.accept().await.map(|r| r.map(|c| c.peer().clone())) });
    if let Ok(conn) = corp.connect(addr(&tp), &id("transferpunt:sdf")).await {
        let _ = conn.send(&Message::NotAvailable { doc: "x".into() }).await;
        conn.closed().await;
    }
    let server_side = accept.await.unwrap().unwrap();
    let err = server_side.unwrap_err().to_string();
    assert!(
        err.to_lowercase().contains("expired") || err.contains("certificate"),
        "{err}"
    );
}

/// Remove the corporatie from the Transferpunt's directory and let it dial again: what the Transferpunt's accept
/// makes of it.
async fn dial_after_removal(
    tp: &Endpoint,
    corp: &Endpoint,
    admitted: &Admitted,
) -> Result<PeerId, EndpointError> {
    admitted.replace([id("transferpunt:sdf")]);
    let server = tp.clone();
    let accepted =
        tokio::spawn(async move { server.accept().await.unwrap().map(|c| c.peer().clone()) });
    if let Ok(conn) = corp.connect(addr(tp), &id("transferpunt:sdf")).await {
        let _ = conn.send(&Message::NotAvailable { doc: "x".into() }).await;
        conn.closed().await;
    }
    accepted.await.unwrap()
}

#[tokio::test]
async fn a_partner_removed_from_the_directory_is_refused_at_the_next_handshake() {
    let ca = ca("federatie");
    let admitted = Admitted::new([id("transferpunt:sdf"), id("corporatie:elkien")]);
    let tp = node(&ca, &issue(&ca, "transferpunt:sdf"), &admitted);
    // The corporatie's own view still admits the Transferpunt.
    let corp = node(
        &ca,
        &issue(&ca, "corporatie:elkien"),
        &Admitted::new([id("transferpunt:sdf")]),
    );

    let server = tp.clone();
    let first =
        tokio::spawn(async move { server.accept().await.unwrap().map(|c| c.peer().clone()) });
    let c = corp
        .connect(addr(&tp), &id("transferpunt:sdf"))
        .await
        .unwrap();
    assert_eq!(first.await.unwrap().unwrap(), id("corporatie:elkien"));
    c.close("bye");

    // A new directory without the corporatie takes effect without a restart.
    let err = dial_after_removal(&tp, &corp, &admitted)
        .await
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("not in the federation directory") || err.contains("certificate"),
        "{err}"
    );
}

#[tokio::test]
async fn the_client_refuses_a_server_that_is_not_the_partner_dialled() {
    let ca = ca("federatie");
    let admitted = Admitted::new([
        id("transferpunt:sdf"),
        id("corporatie:elkien"),
        id("corporatie:dynhus"),
    ]);
    let impostor = node(&ca, &issue(&ca, "corporatie:dynhus"), &admitted);
    let corp = node(&ca, &issue(&ca, "corporatie:elkien"), &admitted);
    let server = impostor.clone();
    tokio::spawn(async move { while server.accept().await.is_some() {} });
    let err = corp
        .connect(addr(&impostor), &id("transferpunt:sdf"))
        .await
        .unwrap_err();
    assert!(err.to_string().contains("transferpunt:sdf"), "{err}");
}

#[tokio::test]
async fn malformed_and_oversized_frames_cost_only_their_stream() {
    let ca = ca("federatie");
    let admitted = Admitted::new([id("transferpunt:sdf"), id("corporatie:elkien")]);
    let tp = node(&ca, &issue(&ca, "transferpunt:sdf"), &admitted);
    let corp = node(&ca, &issue(&ca, "corporatie:elkien"), &admitted);
    let echo = spawn_echo(tp.clone());
    let conn = corp
        .connect(addr(&tp), &id("transferpunt:sdf"))
        .await
        .unwrap();

    conn.send_raw(b"\x01\x00\x00\x00\x04\xff\xff\xff\xff")
        .await
        .unwrap();
    let mut huge = vec![PROTOCOL_VERSION];
    huge.extend_from_slice(&(MAX_FRAME_LEN + 1).to_be_bytes());
    conn.send_raw(&huge).await.unwrap();
    conn.send_raw(b"\x07\x00\x00\x00\x00").await.unwrap();

    // The honest message after them still gets through.
    let msg = Message::NotAvailable {
        doc: "case-2/registratie".into(),
    };
    conn.send(&msg).await.unwrap();
    assert_eq!(conn.recv().await.unwrap(), Some(msg));
    conn.close("done");
    let log = echo.await.unwrap();
    let bad: Vec<_> = log.iter().filter(|l| l.starts_with("bad frame")).collect();
    assert_eq!(bad.len(), 3, "{log:?}");
    assert!(
        log.iter().any(|l| l.contains("exceeds the maximum")),
        "{log:?}"
    );
    assert!(
        log.iter()
            .any(|l| l.contains("unsupported frame version 7")),
        "{log:?}"
    );
    let _ = FrameError::Truncated; // the error type is public API
}

/// A partner that held a connection long enough to be given session tickets, then was removed from the
/// directory, is refused too: a resumed handshake must not skip the directory check.
#[tokio::test]
async fn a_removed_partner_cannot_resume_an_earlier_session() {
    let ca = ca("federatie");
    let admitted = Admitted::new([id("transferpunt:sdf"), id("corporatie:elkien")]);
    let tp = node(&ca, &issue(&ca, "transferpunt:sdf"), &admitted);
    let corp = node(
        &ca,
        &issue(&ca, "corporatie:elkien"),
        &Admitted::new([id("transferpunt:sdf")]),
    );
    let echo = spawn_echo(tp.clone());
    let c = corp
        .connect(addr(&tp), &id("transferpunt:sdf"))
        .await
        .unwrap();
    // A round trip: by now the server has sent whatever tickets it sends.
    c.send(&Message::NotAvailable { doc: "ping".into() })
        .await
        .unwrap();
    assert!(matches!(c.recv().await, Ok(Some(_))));
    c.close("bye");
    echo.await.unwrap();

    let refused = dial_after_removal(&tp, &corp, &admitted).await;
    assert!(
        refused.is_err(),
        "a removed partner was admitted: {refused:?}"
    );
}
