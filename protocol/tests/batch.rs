//! Batches over a real connection: several messages sent as one compressed frame arrive as the messages they
//! were, in order, through both `recv` and the inbox; and a malformed batch costs its stream only.

use std::net::SocketAddr;

use protocol::{Admitted, Endpoint, FederationCa, Message, PeerId, TlsSetup};
use time::{Duration, OffsetDateTime};

fn id(s: &str) -> PeerId {
    s.parse().unwrap()
}

fn local() -> SocketAddr {
    "127.0.0.1:0".parse().unwrap()
}

async fn pair() -> (
    protocol::Connection,
    protocol::Connection,
    Endpoint,
    Endpoint,
) {
    let now = OffsetDateTime::now_utc();
    let ca = FederationCa::create(
        "federatie",
        now - Duration::days(1),
        now + Duration::days(365),
    )
    .unwrap();
    let admitted = Admitted::new([id("zorgaanbieder:a"), id("transferpunt:tp")]);
    let bind = |peer: &str| {
        let cert = ca
            .issue(&id(peer), now - Duration::days(1), now + Duration::days(30))
            .unwrap();
        let tls = TlsSetup::from_pem(
            &cert.cert_pem,
            &cert.key_pem,
            ca.cert_pem(),
            admitted.clone(),
        )
        .unwrap();
        Endpoint::bind(local(), &tls).unwrap()
    };
    let server = bind("transferpunt:tp");
    let client = bind("zorgaanbieder:a");
    let addr = server.local_addr().unwrap();
    let accepting = server.clone();
    let accepted = tokio::spawn(async move { accepting.accept().await.unwrap().unwrap() });
    let dialled = client.connect(addr, &id("transferpunt:tp")).await.unwrap();
    (dialled, accepted.await.unwrap(), client, server)
}

fn sync(i: usize) -> Message {
    Message::Sync {
        doc: format!("p/case-{i:05}/zorgaanbieder:a/transferpunt:tp/1"),
        data: (0..400).map(|j| ((i + j) % 13) as u8).collect(),
        traceparent: None,
    }
}

#[tokio::test]
async fn many_messages_sent_together_arrive_as_they_were_in_order() {
    let (client, server, _c, _s) = pair().await;
    assert!(
        client.takes_batches() && server.takes_batches(),
        "both speak version 2"
    );
    // More than one batch's worth, so the sender splits them.
    let msgs: Vec<Message> = (0..4_000).map(sync).collect();
    let before = client.wire_bytes_sent();
    client.send_many(&msgs).await.unwrap();
    let mut inbox = server.inbox(protocol::INBOX_MAX_BYTES);
    for (i, want) in msgs.iter().enumerate() {
        let got = inbox.recv().await.expect("open").expect("well formed");
        assert_eq!(&got, want, "message {i}");
    }
    let plain: usize = msgs.iter().map(Message::heap_len).sum();
    let wire = client.wire_bytes_sent() - before;
    assert!(
        (wire as usize) < plain / 2,
        "compressed on the wire: {wire} B for {plain} B of messages"
    );
}

#[tokio::test]
async fn a_malformed_batch_costs_its_stream_and_the_connection_goes_on() {
    let (client, server, _c, _s) = pair().await;
    let bad = protocol::frame::encode(&Message::Batch {
        data: vec![0xff; 32],
    })
    .unwrap();
    client.send_raw(&bad).await.unwrap();
    client.send(&sync(1)).await.unwrap();
    let err = server.recv().await.expect_err("refused");
    assert!(err.to_string().contains("batch"), "{err}");
    assert_eq!(server.recv().await.unwrap(), Some(sync(1)));
}
