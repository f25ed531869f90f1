//! The federation directory's rules without a running federation (issue #13 item 6): what a valid directory is
//! (at most two contact persons per partner, exactly one Transferpunt, …), that versions only go up in the store
//! on both back ends, which directory a node starts with, and the commands `directory sign | show | install` and
//! `ca renew | fingerprint`.

mod common;

use node::directory::{self, DirectoryError};
use protocol::pki::{
    Contact, Directory, DirectoryEntry, FederationCa, RevokedKey, SignedDirectory,
};
use time::{Duration, OffsetDateTime};

const TP: &str = "transferpunt:sdf";
const ZA: &str = "zorgaanbieder:kwadrant";
const GM: &str = "gemeente:GM0080";

fn contact(n: u32) -> Contact {
    Contact {
        naam: format!("Contactpersoon {n}"),
        email: format!("contact{n}@voorbeeld.nl"),
        telefoon: None,
    }
}

fn entry(id: &str, contacts: usize) -> DirectoryEntry {
    DirectoryEntry {
        id: id.parse().unwrap(),
        name: format!("Partner {id}"),
        endpoint: Some("127.0.0.1:4433".into()),
        contacts: (1..=contacts as u32).map(contact).collect(),
        werkgebied: vec![],
        bereikbaar: None,
        telefoon_24_uur: None,
    }
}

fn directory(version: u64) -> Directory {
    Directory {
        version,
        partners: vec![entry(TP, 2), entry(ZA, 1), entry(GM, 0)],
        revoked: vec![],
    }
}

fn ca() -> FederationCa {
    let now = OffsetDateTime::now_utc();
    FederationCa::create("test", now - Duration::days(1), now + Duration::days(30)).unwrap()
}

fn problems(dir: &Directory) -> Vec<String> {
    match directory::validate(dir) {
        Err(DirectoryError::Invalid { problems, .. }) => problems,
        other => panic!("expected problems, got {other:?}"),
    }
}

#[test]
fn a_third_contact_person_is_refused_naming_the_partner_and_the_rule() {
    assert!(directory::validate(&directory(1)).is_ok());
    let mut dir = directory(1);
    dir.partners[1] = entry(ZA, 3);
    let p = problems(&dir);
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(
        p[0].contains(ZA) && p[0].contains("at most 2") && p[0].contains("Afspraak 3g"),
        "{}",
        p[0]
    );
    // Two is the maximum, and a contact needs a name and an e-mail address.
    dir.partners[1] = entry(ZA, 2);
    dir.partners[1].contacts[1].email = "geen adres".into();
    dir.partners[1].contacts[0].naam = " ".into();
    let p = problems(&dir);
    assert!(p.iter().any(|p| p.contains("contacts[1].email")), "{p:?}");
    assert!(p.iter().any(|p| p.contains("contacts[0].naam")), "{p:?}");
}

/// Bijlage 2: whom to call, also out of office hours. A partner may list when it can be reached and a number that
/// answers 24 hours a day; both are checked, and a directory signed before they existed still verifies.
#[test]
fn reachability_is_checked_naming_the_field_and_older_directories_still_read() {
    let mut dir = directory(1);
    dir.partners[1].bereikbaar = Some("werkdagen 8:30-17:00".into());
    dir.partners[1].telefoon_24_uur = Some("+31 (0)58 233 8010".into());
    assert!(directory::validate(&dir).is_ok());
    dir.partners[1].telefoon_24_uur = Some("bel de receptie".into());
    dir.partners[1].bereikbaar = Some(" ".into());
    let p = problems(&dir);
    assert!(
        p.iter()
            .any(|p| p.contains(ZA) && p.contains("field `telefoon_24_uur`")),
        "{p:?}"
    );
    assert!(p.iter().any(|p| p.contains("field `bereikbaar`")), "{p:?}");
    dir.partners[1].telefoon_24_uur = Some("0582".into());
    assert!(
        problems(&dir)
            .iter()
            .any(|p| p.contains("field `telefoon_24_uur`"))
    );
    // Without the fields, an entry is written as before: a directory signed then verifies and reads the same.
    let ca = ca();
    let old = ca.sign_directory(&directory(3)).unwrap();
    let text = String::from_utf8(old.body.clone()).unwrap();
    assert!(!text.contains("telefoon_24_uur"), "{text}");
    let read = directory::verify(&old, ca.cert_pem()).unwrap();
    assert_eq!(read.partners[1].telefoon_24_uur, None);
}

#[test]
fn a_valid_directory_has_exactly_one_transferpunt_and_no_partner_twice() {
    let mut dir = directory(1);
    dir.partners.push(entry("transferpunt:rogue", 0));
    let p = problems(&dir);
    assert!(
        p.iter()
            .any(|p| p.contains("2 Transferpunten") && p.contains("transferpunt:rogue")),
        "{p:?}"
    );
    let mut dir = directory(1);
    dir.partners.retain(|p| p.id.as_str() != TP);
    assert!(problems(&dir).iter().any(|p| p.contains("no Transferpunt")));
    let mut dir = directory(1);
    dir.partners.push(entry(GM, 0));
    assert!(problems(&dir).iter().any(|p| p.contains("listed twice")));
    let mut dir = directory(0);
    dir.partners[2].id = "woonbond:x".parse().unwrap();
    dir.partners[2].endpoint = Some("node.example:4433".into());
    dir.revoked.push(RevokedKey {
        partner: ZA.parse().unwrap(),
        key: "abc".into(),
        reason: None,
    });
    let p = problems(&dir);
    assert_eq!(p.len(), 4, "every problem at once: {p:?}");
}

#[test]
fn a_signature_from_another_ca_is_refused() {
    let (ours, theirs) = (ca(), ca());
    let signed = theirs.sign_directory(&directory(2)).unwrap();
    assert!(matches!(
        directory::verify(&signed, ours.cert_pem()),
        Err(DirectoryError::Signature(_))
    ));
    // An invalid directory does not pass even with the right signature.
    let mut dir = directory(2);
    dir.partners[0].contacts.push(contact(3));
    let signed = ours.sign_directory(&dir).unwrap();
    assert!(matches!(
        directory::verify(&signed, ours.cert_pem()),
        Err(DirectoryError::Invalid { .. })
    ));
}

/// Versions only go up, on SQLite and (when `WEERTHUIS_TEST_POSTGRES_URL` is set) PostgreSQL.
#[tokio::test]
async fn a_lower_version_or_another_text_under_a_version_is_refused_on_both_back_ends() {
    let ca = ca();
    let mut dbs = vec![common::sqlite()];
    dbs.extend(
        common::postgres("a_lower_version_or_another_text_under_a_version_is_refused").await,
    );
    for db in dbs {
        let dir = tempfile::tempdir().unwrap();
        node::app::init(dir.path(), ZA.parse().unwrap(), Some(db.url()))
            .await
            .unwrap();
        let (_, node) = node::app::open(dir.path()).await.unwrap();
        let store = node.store();
        let sign = |d: &Directory| ca.sign_directory(d).unwrap();
        let v3 = sign(&directory(3));
        let bytes = directory::to_bytes(&v3);
        let (d, _, new) = directory::receive(store, &bytes, ca.cert_pem())
            .await
            .unwrap();
        assert!(new && d.version == 3);
        // The same again: a repeat, not an event.
        let (_, _, new) = directory::receive(store, &bytes, ca.cert_pem())
            .await
            .unwrap();
        assert!(!new);
        // Lower: a replay.
        let v2 = directory::to_bytes(&sign(&directory(2)));
        match directory::receive(store, &v2, ca.cert_pem()).await {
            Err(DirectoryError::Replay {
                version: 2,
                highest: 3,
            }) => {}
            other => panic!("expected a replay: {other:?}"),
        }
        // Another text under version 3.
        let mut other = directory(3);
        other.partners[2].name = "anders".into();
        let forked = directory::to_bytes(&sign(&other));
        let err = directory::receive(store, &forked, ca.cert_pem())
            .await
            .unwrap_err();
        assert!(
            matches!(err, DirectoryError::VersionTaken { version: 3 }),
            "{err}"
        );
        assert!(
            err.to_string()
                .contains("one signed text per directory version")
        );
        // Higher: stored, and the latest.
        let v5 = sign(&directory(5));
        directory::receive(store, &directory::to_bytes(&v5), ca.cert_pem())
            .await
            .unwrap();
        let (latest, signed) = directory::latest(store, ca.cert_pem())
            .await
            .unwrap()
            .unwrap();
        assert_eq!((latest.version, signed.body), (5, v5.body.clone()));
        // At start, a file older than what the federation brought keeps the newer; a newer file wins and is stored.
        let (started, _) = directory::at_start(store, &v3, ca.cert_pem())
            .await
            .unwrap();
        assert_eq!(started.version, 5, "sqlite: {}", db.is_sqlite());
        let v7 = sign(&directory(7));
        let (started, _) = directory::at_start(store, &v7, ca.cert_pem())
            .await
            .unwrap();
        assert_eq!(started.version, 7);
        assert_eq!(store.latest_directory_version().await.unwrap(), 7);
        store.close().await;
    }
}

fn run_cli(f: impl FnOnce(&mut Vec<u8>) -> anyhow::Result<()>) -> anyhow::Result<String> {
    let mut out = Vec::new();
    f(&mut out)?;
    Ok(String::from_utf8(out).unwrap())
}

#[tokio::test]
async fn the_commands_sign_show_install_and_renew() {
    use node::cli::pki::{
        CaCommand, DirectoryCommand, ca, directory as dir_cmd, directory_on_node,
    };
    let work = tempfile::tempdir().unwrap();
    let ca_dir = work.path().join("ca");
    run_cli(|o| {
        ca(
            CaCommand::Create {
                out: ca_dir.clone(),
                name: "test".into(),
                days: 30,
            },
            o,
        )
    })
    .unwrap();
    // Sign: a third contact person is a clear error, and nothing is written.
    let input = work.path().join("directory.json");
    let signed_path = work.path().join("directory.signed.json");
    let mut dir = directory(1);
    dir.partners[1] = entry(ZA, 3);
    std::fs::write(&input, serde_json::to_string(&dir).unwrap()).unwrap();
    let err = run_cli(|o| {
        dir_cmd(
            DirectoryCommand::Sign {
                ca: ca_dir.clone(),
                input: input.clone(),
                out: signed_path.clone(),
            },
            o,
        )
    })
    .unwrap_err();
    let chain = format!("{err:#}");
    assert!(
        chain.contains(ZA) && chain.contains("Afspraak 3g"),
        "{chain}"
    );
    assert!(!signed_path.exists());
    // A valid one is signed and shown with its contacts.
    std::fs::write(&input, serde_json::to_string(&directory(4)).unwrap()).unwrap();
    run_cli(|o| {
        dir_cmd(
            DirectoryCommand::Sign {
                ca: ca_dir.clone(),
                input: input.clone(),
                out: signed_path.clone(),
            },
            o,
        )
    })
    .unwrap();
    let shown = run_cli(|o| {
        dir_cmd(
            DirectoryCommand::Show {
                ca: ca_dir.join("federation-ca.pem"),
                input: signed_path.clone(),
            },
            o,
        )
    })
    .unwrap();
    assert!(shown.contains("Directory version 4"), "{shown}");
    assert!(
        shown.contains("contact: Contactpersoon 2 <contact2@voorbeeld.nl>"),
        "{shown}"
    );

    // Install at a node with a [federation] section.
    let data = work.path().join("node");
    node::app::init(&data, ZA.parse().unwrap(), None)
        .await
        .unwrap();
    run_cli(|o| {
        ca(
            CaCommand::Issue {
                ca: ca_dir.clone(),
                partner: ZA.parse().unwrap(),
                out: data.clone(),
                days: 30,
            },
            o,
        )
    })
    .unwrap();
    std::fs::copy(&signed_path, data.join("directory.json")).unwrap();
    let config = std::fs::read_to_string(data.join("weerthuis.toml")).unwrap();
    std::fs::write(
        data.join("weerthuis.toml"),
        format!(
            "{config}\n[federation]\nlisten = \"127.0.0.1:0\"\ncertificate = \"node.pem\"\nkey = \"node.key\"\n\
             ca = \"federation-ca.pem\"\ndirectory = \"directory.json\"\n"
        ),
    )
    .unwrap();
    let mut out = Vec::new();
    directory_on_node(
        DirectoryCommand::Install {
            dir: node::cli::admin::DirArg { dir: data.clone() },
            signed: signed_path.clone(),
        },
        &mut out,
    )
    .await
    .unwrap();
    assert!(String::from_utf8_lossy(&out).contains("Installed directory version 4"));
    // A lower version is refused by the command too.
    std::fs::write(&input, serde_json::to_string(&directory(3)).unwrap()).unwrap();
    let lower = work.path().join("lower.json");
    run_cli(|o| {
        dir_cmd(
            DirectoryCommand::Sign {
                ca: ca_dir.clone(),
                input: input.clone(),
                out: lower.clone(),
            },
            o,
        )
    })
    .unwrap();
    let err = directory_on_node(
        DirectoryCommand::Install {
            dir: node::cli::admin::DirArg { dir: data.clone() },
            signed: lower,
        },
        &mut Vec::new(),
    )
    .await
    .unwrap_err();
    assert!(
        format!("{err:#}").contains("not above version 4"),
        "{err:#}"
    );

    // Renew: same partner, a new key; the fingerprint command names both.
    let renewed = work.path().join("renewed");
    let said = run_cli(|o| {
        ca(
            CaCommand::Renew {
                ca: ca_dir.clone(),
                cert: data.join("node.pem"),
                out: renewed.clone(),
                days: 60,
            },
            o,
        )
    })
    .unwrap();
    assert!(
        said.contains(&format!("Renewed the certificate of {ZA}")),
        "{said}"
    );
    let old = run_cli(|o| {
        ca(
            CaCommand::Fingerprint {
                cert: data.join("node.pem"),
            },
            o,
        )
    })
    .unwrap();
    let new = run_cli(|o| {
        ca(
            CaCommand::Fingerprint {
                cert: renewed.join("node.pem"),
            },
            o,
        )
    })
    .unwrap();
    let key = |s: &str| {
        s.lines()
            .find_map(|l| l.strip_prefix("key:"))
            .unwrap()
            .trim()
            .to_string()
    };
    assert!(old.contains(ZA) && new.contains(ZA));
    assert_ne!(key(&old), key(&new));
    assert!(said.contains(&key(&old)) && said.contains(&key(&new)));
}

#[test]
fn the_expiry_warning_starts_a_month_ahead() {
    let now = OffsetDateTime::now_utc();
    assert_eq!(
        directory::expiry_warning("x", now + Duration::days(31), now),
        None
    );
    let w = directory::expiry_warning("this node's certificate", now + Duration::days(29), now)
        .unwrap();
    assert!(w.contains("in 29 days") && w.contains("renew"), "{w}");
    assert!(
        directory::expiry_warning("x", now - Duration::days(1), now)
            .unwrap()
            .contains("expired")
    );
}

#[test]
fn a_signed_directory_round_trips_as_an_artefact() {
    let ca = ca();
    let signed = ca.sign_directory(&directory(1)).unwrap();
    let back: SignedDirectory = directory::from_bytes(&directory::to_bytes(&signed)).unwrap();
    assert_eq!(back, signed);
    assert!(matches!(
        directory::from_bytes(b"{}"),
        Err(DirectoryError::Format(_))
    ));
}
