//! The federation's own life cycle while the nodes run (issue #13 item 6): a signed directory installed at the
//! Transferpunt reaches every node and is applied without a restart — a new partner joins and syncs, a removed one
//! is cut off, refused at the handshake and erases what it received (Afspraak 11) —; a revoked certificate key is
//! closed and refused while the partner's renewed certificate works; a lower directory version, another text
//! under a held version, or a directory from anyone but the Transferpunt is refused as a security event.

use std::sync::atomic::Ordering;
use std::time::Duration;

use policies::DocumentKind;
use protocol::pki::{Directory, RevokedKey, SignedDirectory};
use serde_json::json;
use simulator::live::{files_contain, wait_until};
use weerthuis_tests::TestNet;

const TP: &str = "transferpunt:sdf";
const ZA: &str = "zorgaanbieder:kwadrant";
const GM: &str = "gemeente:GM0080";
const NEW: &str = "gemeente:GM0074";
const WAIT: Duration = Duration::from_secs(30);

/// The next version of the harness's directory, changed by `change`, signed by the federation CA and kept as the
/// harness's directory (so a later restart republishes it, not an older one).
fn next_directory(net: &mut TestNet, change: impl FnOnce(&mut Directory)) -> SignedDirectory {
    let mut dir = net.directory.clone();
    dir.version += 1;
    change(&mut dir);
    net.0.directory = dir.clone();
    net.ca.sign_directory(&dir).expect("the CA signs")
}

/// Install a signed directory at the Transferpunt only: it reaches the others through the federation.
async fn install_at_transferpunt(net: &TestNet, signed: &SignedDirectory) {
    let new = net
        .node(TP)
        .fed
        .as_ref()
        .expect("the Transferpunt runs")
        .install_directory(signed)
        .await
        .expect("the Transferpunt takes the directory");
    assert!(new, "a new version at the Transferpunt");
}

fn version_in_force(net: &TestNet, p: &str) -> u64 {
    net.node(p)
        .fed
        .as_ref()
        .map_or(0, |f| f.directory().version)
}

fn connected(net: &TestNet, p: &str) -> Vec<String> {
    net.node(p)
        .fed
        .as_ref()
        .map(|f| f.connected().iter().map(|c| c.to_string()).collect())
        .unwrap_or_default()
}

/// A case at the zorgaanbieder for a client in the maatschappelijke opvang of GM0080 who comes from GM0074: the
/// aanmelding (with `canary` as the name) goes to both gemeenten once they are in the federation.
async fn case_with(net: &TestNet, canary: &str) -> node::store::CaseId {
    let case = net.new_case(ZA).await;
    net.write(ZA, &case, DocumentKind::Registratie, None, json!({
        "achternaam_voorletters": canary, "bsn": "999993653", "geboortedatum": "1979-02-03",
        "soort_voorziening": "maatschappelijke_opvang", "herkomstgemeente": "GM0074", "verblijfgemeente": "GM0080",
        "start_verblijf_opvang": "2025-05-01", "betrokken_zorgaanbieder": ZA, "reden_dakloosheid": "Schulden",
        "toestemming_gegevensdeling": true, "datum_toestemming": "2025-05-01"
    })).await.unwrap();
    net.write(ZA, &case, DocumentKind::Aanmelding, None, json!({
        "achternaam_voorletters": canary, "datum_aanmelding": "2025-05-08", "leefsituatie": "alleenstaand",
        "hoofdinkomen": "participatiewet"
    }))
    .await
    .unwrap();
    case
}

async fn holds_canary(net: &TestNet, at: &str, case: &node::store::CaseId, canary: &str) -> bool {
    net.holds(at, case)
        .await
        .get("aanmelding")
        .and_then(|a| a.get("achternaam_voorletters"))
        .is_some_and(|v| v == canary)
}

/// Connect to `to` with `from`'s certificate and key (a fresh endpoint): whether the handshake is admitted.
async fn handshake_admitted(
    net: &TestNet,
    from_cert: &protocol::pki::CertifiedKey,
    to: &str,
) -> bool {
    let tls = protocol::TlsSetup::from_pem(
        &from_cert.cert_pem,
        &from_cert.key_pem,
        net.ca.cert_pem(),
        protocol::Admitted::new([to.parse().unwrap()]),
    )
    .unwrap();
    let endpoint = protocol::Endpoint::bind("127.0.0.1:0".parse().unwrap(), &tls).unwrap();
    let addr = net.node(to).fed.as_ref().unwrap().local_addr().unwrap();
    let admitted = match endpoint.connect(addr, &to.parse().unwrap()).await {
        // The server may refuse the client's certificate only after the client finished its side: a refused
        // connection is closed at once, so it receives nothing and ends.
        Ok(conn) => tokio::time::timeout(Duration::from_secs(2), conn.closed())
            .await
            .is_err(),
        Err(_) => false,
    };
    endpoint.close();
    admitted
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_partner_joins_and_a_removed_one_is_cut_off_without_restarts() {
    let mut net = TestNet::start(&[TP, ZA, GM]).await;
    net.wait_connected().await;
    let canary = format!(
        "Kanarie-{}, Q.",
        weerthuis_tests::seed_for("directory-join") % 100_000
    );
    let case = case_with(&net, &canary).await;
    wait_until("GM0080 holds the aanmelding", WAIT, || async {
        holds_canary(&net, GM, &case, &canary).await
    })
    .await;
    let incarnations: Vec<u32> = [TP, ZA, GM]
        .iter()
        .map(|p| net.node(p).incarnation)
        .collect();

    // A new gemeente joins: its node starts; the others learn of it from the directory installed at the
    // Transferpunt alone.
    net.0.join(NEW).await.unwrap();
    let joined = next_directory(&mut net, |_| {});
    let v_join = net.directory.version;
    install_at_transferpunt(&net, &joined).await;
    for p in [TP, ZA, GM, NEW] {
        wait_until(
            &format!("{p} has directory {v_join} in force"),
            WAIT,
            || async { version_in_force(&net, p) == v_join },
        )
        .await;
    }
    // The Transferpunt stays connected with it; the zorgaanbieder dials it because its case names it.
    wait_until(
        "the new gemeente is connected to the Transferpunt and the zorgaanbieder",
        WAIT,
        || async {
            let c = connected(&net, NEW);
            c.contains(&TP.to_string()) && c.contains(&ZA.to_string())
        },
    )
    .await;
    wait_until(
        "the new gemeente (the client's herkomstgemeente) receives the aanmelding",
        WAIT,
        || async { holds_canary(&net, NEW, &case, &canary).await },
    )
    .await;
    // Every version was stored where it arrived, signed as the CA signed it.
    for p in [ZA, GM, NEW] {
        let stored = net
            .node(p)
            .node()
            .store()
            .latest_directory()
            .await
            .unwrap()
            .unwrap();
        assert_eq!(stored.version, v_join, "{p}");
        assert_eq!(stored.body, joined.body, "{p}");
    }

    // GM0080 leaves (Afspraak 11): removed from the directory.
    let removed = next_directory(&mut net, |d| d.partners.retain(|p| p.id.as_str() != GM));
    let v_removed = net.directory.version;
    install_at_transferpunt(&net, &removed).await;
    for p in [TP, ZA, NEW] {
        wait_until(
            &format!("{p} has directory {v_removed} in force"),
            WAIT,
            || async { version_in_force(&net, p) == v_removed },
        )
        .await;
    }
    wait_until("nobody is connected to GM0080 any more", WAIT, || async {
        connected(&net, GM).is_empty()
            && [TP, ZA, NEW]
                .iter()
                .all(|p| !connected(&net, p).contains(&GM.to_string()))
    })
    .await;
    // It was handed the directory that removes it, verified it, and erased what it received from the others.
    wait_until("GM0080 erased what it received", WAIT, || async {
        net.holds(GM, &case).await.is_empty()
    })
    .await;
    assert_eq!(
        version_in_force(&net, GM),
        v_removed,
        "GM0080 took the directory that removes it"
    );
    // The write-ahead log is checkpointed after the deletes: the bytes go a moment after the data.
    wait_until("the canary is gone from GM0080's files", WAIT, || async {
        !files_contain(net.node(GM).path(), &canary)
    })
    .await;
    let tombstones: Vec<String> = net
        .audit(GM)
        .await
        .into_iter()
        .map(|r| r.entry)
        .filter(|e| e.contains("Afspraak 11"))
        .collect();
    assert!(
        !tombstones.is_empty(),
        "the erasure is in GM0080's audit log"
    );
    assert!(
        tombstones.iter().all(|e| !e.contains(&canary)),
        "no personal data in the tombstone"
    );
    // The others still hold it, and keep syncing among themselves: a new value reaches the new gemeente only.
    assert!(holds_canary(&net, NEW, &case, &canary).await);
    let changed = format!("{canary}-2");
    net.write(ZA, &case, DocumentKind::Aanmelding, None, json!({
        "achternaam_voorletters": changed, "datum_aanmelding": "2025-05-08", "leefsituatie": "alleenstaand",
        "hoofdinkomen": "participatiewet"
    }))
    .await
    .unwrap();
    wait_until("the change reaches the new gemeente", WAIT, || async {
        holds_canary(&net, NEW, &case, &changed).await
    })
    .await;
    assert!(
        net.holds(GM, &case).await.is_empty(),
        "nothing reaches the removed gemeente"
    );
    // Its certificate is still valid, but the handshake refuses it now.
    let gm_cert = net.node(GM).cert.clone();
    for to in [TP, ZA] {
        assert!(
            !handshake_admitted(&net, &gm_cert, to).await,
            "{to} refuses GM0080"
        );
    }
    // Nobody restarted, and the honest nodes recorded no security event.
    let after: Vec<u32> = [TP, ZA, GM]
        .iter()
        .map(|p| net.node(p).incarnation)
        .collect();
    assert_eq!(incarnations, after, "no node was restarted");
    for p in [TP, ZA, NEW] {
        assert!(
            net.refusals(p).await.is_empty(),
            "{p}: {:?}",
            net.refusals(p).await
        );
    }
    net.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_revoked_key_is_closed_and_refused_and_the_renewed_certificate_works() {
    let mut net = TestNet::start(&[TP, ZA, GM]).await;
    net.wait_connected().await;
    let stolen = net.node(ZA).cert.clone();
    let der = protocol::pki::certs_from_pem(&stolen.cert_pem)
        .unwrap()
        .remove(0);
    let key = protocol::pki::key_fingerprint(&der).unwrap();
    // The zorgaanbieder's key is revoked; the zorgaanbieder stays in the directory.
    let revoked = next_directory(&mut net, |d| {
        d.revoked.push(RevokedKey {
            partner: ZA.parse().unwrap(),
            key: key.clone(),
            reason: Some("sleutel gestolen".into()),
        })
    });
    install_at_transferpunt(&net, &revoked).await;
    wait_until(
        "the connections with the revoked key are closed",
        WAIT,
        || async {
            [TP, GM]
                .iter()
                .all(|p| !connected(&net, p).contains(&ZA.to_string()))
                && version_in_force(&net, GM) == net.directory.version
        },
    )
    .await;
    assert!(net.directory.partners.iter().any(|p| p.id.as_str() == ZA));
    for to in [TP, GM] {
        assert!(
            !handshake_admitted(&net, &stolen, to).await,
            "{to} refuses the revoked key"
        );
    }
    // TP and GM0080 keep their own connection.
    assert!(connected(&net, TP).contains(&GM.to_string()));

    // The CA renews the zorgaanbieder's certificate (same partner id, a new key): it is admitted again.
    net.0.renew_certificate(ZA).await.unwrap();
    assert_ne!(net.node(ZA).cert.cert_pem, stolen.cert_pem);
    // It stays connected with the Transferpunt; GM0080 it dials once a case names it (below).
    wait_until(
        "the renewed zorgaanbieder is connected again",
        WAIT,
        || async { connected(&net, ZA).contains(&TP.to_string()) },
    )
    .await;
    let canary = format!(
        "Vernieuwd-{}, R.",
        weerthuis_tests::seed_for("directory-renew") % 100_000
    );
    let case = case_with(&net, &canary).await;
    wait_until(
        "GM0080 receives what the renewed zorgaanbieder writes",
        WAIT,
        || async { holds_canary(&net, GM, &case, &canary).await },
    )
    .await;
    // The stolen key is still refused.
    assert!(!handshake_admitted(&net, &stolen, TP).await);
    net.shutdown().await;
}

/// Send `to` one directory artefact over a new connection made with `from`'s own certificate; the reason of the
/// `Refused` that comes back.
async fn send_directory(
    net: &TestNet,
    from: &str,
    to: &str,
    signed: &SignedDirectory,
) -> Option<String> {
    let me = net.node(from);
    let tls = protocol::TlsSetup::from_pem(
        &me.cert.cert_pem,
        &me.cert.key_pem,
        net.ca.cert_pem(),
        protocol::Admitted::new([to.parse().unwrap()]),
    )
    .unwrap();
    let endpoint = protocol::Endpoint::bind("127.0.0.1:0".parse().unwrap(), &tls).unwrap();
    let addr = net.node(to).fed.as_ref().unwrap().local_addr().unwrap();
    let conn = endpoint.connect(addr, &to.parse().unwrap()).await.unwrap();
    conn.send(&protocol::Message::Artefact {
        kind: node::directory::DIRECTORY_KIND.into(),
        data: node::directory::to_bytes(signed),
    })
    .await
    .unwrap();
    let reason = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match conn.recv().await {
                Ok(Some(protocol::Message::Refused { doc, reason })) if doc == "adresboek" => {
                    break Some(reason);
                }
                Ok(Some(_)) | Err(protocol::EndpointError::Frame(_)) => {}
                _ => break None,
            }
        }
    })
    .await
    .unwrap_or(None);
    endpoint.close();
    reason
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_lower_directory_version_is_refused_as_a_security_event() {
    let mut net = TestNet::start(&[TP, ZA, GM]).await;
    net.wait_connected().await;
    let first = next_directory(&mut net, |_| {});
    let v1 = net.directory.version;
    install_at_transferpunt(&net, &first).await;
    // The zorgaanbieder holds the first version before the second is made: the Transferpunt passes on only the one
    // in force, so without this wait it may never see the first (and then that one is "lower than held", refused).
    wait_until(
        "the zorgaanbieder has the first version in force",
        WAIT,
        || async { version_in_force(&net, ZA) == v1 },
    )
    .await;
    let second = next_directory(&mut net, |d| {
        d.partners
            .iter_mut()
            .for_each(|p| p.name = format!("{} (v2)", p.name))
    });
    let v2 = net.directory.version;
    install_at_transferpunt(&net, &second).await;
    wait_until(
        "the zorgaanbieder has the second version in force",
        WAIT,
        || async { version_in_force(&net, ZA) == v2 },
    )
    .await;
    let refused_before = net
        .node(ZA)
        .fed
        .as_ref()
        .unwrap()
        .stats()
        .refused
        .load(Ordering::Relaxed);

    // An older version this node holds, repeated: harmless, ignored (the Transferpunt passes on what it has).
    assert_eq!(send_directory(&net, TP, ZA, &first).await, None);
    // An older version it never held, genuinely signed by the CA, over the Transferpunt's own connection.
    let mut old = net.directory.clone();
    old.version = v1 - 1;
    old.partners.retain(|p| p.id.as_str() != GM);
    let old = net.ca.sign_directory(&old).unwrap();
    let reason = send_directory(&net, TP, ZA, &old).await.expect("refused");
    assert!(
        reason.contains(&format!("version {} refused", v1 - 1))
            && reason.contains(&format!("version {v2}")),
        "{reason}"
    );
    // Another text under the version held.
    let mut other = net.directory.clone();
    other.partners[0].name = "iets anders".into();
    let forked = net.ca.sign_directory(&other).unwrap();
    let reason = send_directory(&net, TP, ZA, &forked)
        .await
        .expect("refused");
    assert!(reason.contains("another text under version"), "{reason}");
    // A directory signed by another CA.
    let other_ca = protocol::FederationCa::create(
        "nep",
        time::OffsetDateTime::now_utc() - time::Duration::days(1),
        time::OffsetDateTime::now_utc() + time::Duration::days(1),
    )
    .unwrap();
    let mut newer = net.directory.clone();
    newer.version += 10;
    let reason = send_directory(&net, TP, ZA, &other_ca.sign_directory(&newer).unwrap())
        .await
        .expect("refused");
    assert!(reason.contains("signature"), "{reason}");
    // A newer, genuine directory from a partner that is not the Transferpunt: not taken.
    let genuine_newer = net.ca.sign_directory(&newer).unwrap();
    assert_eq!(send_directory(&net, GM, ZA, &genuine_newer).await, None);

    assert_eq!(
        version_in_force(&net, ZA),
        v2,
        "nothing moved the zorgaanbieder's directory"
    );
    let stored = net
        .node(ZA)
        .node()
        .store()
        .latest_directory()
        .await
        .unwrap()
        .unwrap();
    assert_eq!((stored.version, stored.body), (v2, second.body.clone()));
    let refusals = net.refusals(ZA).await;
    assert_eq!(refusals.len(), 4, "{refusals:?}");
    assert!(
        refusals
            .iter()
            .any(|r| r.contains("not by the Transferpunt")),
        "{refusals:?}"
    );
    let refused_after = net
        .node(ZA)
        .fed
        .as_ref()
        .unwrap()
        .stats()
        .refused
        .load(Ordering::Relaxed);
    assert_eq!(refused_after - refused_before, 4);
    net.shutdown().await;
}
