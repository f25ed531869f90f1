//! `replay` on a real node history: a zorgaanbieder, the Transferpunt and a gemeente federate over real QUIC on
//! 127.0.0.1; the zorgaanbieder registers a client with consent and writes the aanmelding, so its node discloses
//! to the Transferpunt and to the gemeente of verblijf. Then the federation stops, and the zorgaanbieder's audit
//! log is replayed against the current policy, a narrowing-and-widening proposal, and one that breaks an
//! invariant (also through the `weerthuis-sim` binary).

use std::sync::Arc;
use std::time::Duration;

use node::audit::{Operation, Status};
use node::service::Node;
use node::store::{CaseId, User};
use node::sync::Federation;
use policies::{DocumentKind as D, FieldId, Policy, Role};
use protocol::{Directory, DirectoryEntry, FederationCa, PeerId};
use serde_json::json;
use simulator::replay::{self, ChangeKind, FactsSource};
use time::{Duration as TimeDuration, OffsetDateTime};

const ZA: &str = "zorgaanbieder:kwadrant";
const TP: &str = "transferpunt:sdf";
const GM: &str = "gemeente:GM0080";
const VERBLIJF: &str = "aanmelding bij de gemeente van verblijf";
const WAIT: Duration = Duration::from_secs(60);

struct Member {
    node: Arc<Node>,
    fed: Federation,
    dir: tempfile::TempDir,
    user: User,
}

/// Start real nodes (own data directory and SQLite database, certificate from a fresh CA, QUIC on 127.0.0.1:0),
/// then give each the directory with everyone's address.
async fn federation(partners: &[&str]) -> Vec<Member> {
    let now = OffsetDateTime::now_utc();
    let ca = FederationCa::create(
        "replay-test",
        now - TimeDuration::days(1),
        now + TimeDuration::days(1),
    )
    .unwrap();
    let mut directory = Directory {
        version: 1,
        partners: partners
            .iter()
            .map(|p| DirectoryEntry {
                id: p.parse().unwrap(),
                name: p.to_string(),
                endpoint: None,
                contacts: vec![],
                werkgebied: vec![],
                bereikbaar: None,
                telefoon_24_uur: None,
            })
            .collect(),
        revoked: vec![],
    };
    let mut members = Vec::new();
    for p in partners {
        let dir = tempfile::tempdir().unwrap();
        node::app::init(dir.path(), p.parse().unwrap(), None)
            .await
            .unwrap();
        let (_, node) = node::app::open(dir.path()).await.unwrap();
        let user = node.store().create_user("test", "test").await.unwrap().user;
        let cert = ca
            .issue(
                &p.parse::<PeerId>().unwrap(),
                now - TimeDuration::days(1),
                now + TimeDuration::days(1),
            )
            .unwrap();
        // Started the way an operator's node is (`weerthuis run`): from its files.
        let signed = ca.sign_directory(&directory).unwrap();
        let file = |name: &str, text: &str| {
            let path = dir.path().join(name);
            std::fs::write(&path, text).unwrap();
            path
        };
        let files = node::config::FederationFiles {
            listen: "127.0.0.1:0".parse().unwrap(),
            certificate: file("node.pem", &cert.cert_pem),
            key: file("node.key", &cert.key_pem),
            ca: file("ca.pem", ca.cert_pem()),
            directory: file("directory.json", &serde_json::to_string(&signed).unwrap()),
            idle_close_secs: None,
        };
        let fed = node::app::start_federation(dir.path(), &files, node.clone())
            .await
            .unwrap();
        members.push(Member {
            node,
            fed,
            dir,
            user,
        });
    }
    for (e, m) in directory.partners.iter_mut().zip(&members) {
        e.endpoint = Some(m.fed.local_addr().unwrap().to_string());
    }
    directory.version += 1;
    for m in &mut members {
        m.fed.set_directory(directory.clone());
    }
    members
}

/// Wait until a node holds a field of a case (own or projected), polling with a generous bound.
async fn wait_holds(m: &Member, case: &CaseId, field: FieldId) {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        if let Ok(l) = m.node.load_case(case).await
            && l.docs
                .iter()
                .any(|f| f.kind() == field.document() && f.get(field.name()).is_some())
        {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting until {} holds {}",
            m.node.partner(),
            field.qualified_name()
        );
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
}

fn field(q: &str) -> FieldId {
    FieldId::parse(q).unwrap()
}

/// The proposal text: the shipped policy with `edit` applied to the flow named `flow`, under a new version.
fn proposal(flow: &str, edit: impl Fn(&str) -> String) -> String {
    let text = policies::policy::COVENANT_POLICY;
    let start = text.find(&format!("name = \"{flow}\"")).unwrap();
    let end = text[start..].find("[[").map_or(text.len(), |i| start + i);
    let changed = format!(
        "{}{}{}",
        &text[..start],
        edit(&text[start..end]),
        &text[end..]
    );
    changed.replacen("version = \"2026.1\"", "version = \"2026.2-voorstel\"", 1)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn replay_of_a_real_zorgaanbieder_log() {
    let members = federation(&[ZA, TP, GM]).await;
    let (za, tp, gm) = (&members[0], &members[1], &members[2]);

    // A client in MO at Leeuwarden (verblijf), from Heerenveen (herkomst, not in this federation), with consent.
    let case: CaseId = za.node.create_case().await.unwrap().id.parse().unwrap();
    let registratie = json!({
        "achternaam_voorletters": "Jansen, P.", "bsn": "111222333", "geboortedatum": "1988-05-17",
        "soort_voorziening": "maatschappelijke_opvang", "herkomstgemeente": "GM0074", "verblijfgemeente": "GM0080",
        "start_verblijf_opvang": "2025-06-01", "betrokken_zorgaanbieder": ZA,
        "reden_dakloosheid": "huisuitzetting", "toestemming_gegevensdeling": true, "datum_toestemming": "2025-06-01"
    });
    za.node
        .write_form(&za.user, &case, D::Registratie, None, &registratie)
        .await
        .unwrap();
    wait_holds(tp, &case, field("registratie.bsn")).await;
    let aanmelding = json!({
        "achternaam_voorletters": "Jansen, P.", "datum_aanmelding": "2025-06-10", "leefsituatie": "alleenstaand",
        "hoofdinkomen": "participatiewet", "schuldenproblematiek": "nee",
        "inschrijvingen_woningcorporaties": [{"corporatie": "Elkien", "datum_inschrijving": "2025-06-02"}]
    });
    za.node
        .write_form(&za.user, &case, D::Aanmelding, None, &aanmelding)
        .await
        .unwrap();
    wait_holds(tp, &case, field("aanmelding.leefsituatie")).await;
    wait_holds(gm, &case, field("aanmelding.leefsituatie")).await;
    wait_holds(gm, &case, field("registratie.bsn")).await;

    // Stop, so the log holds still; then read it as `replay` does, and count on our own what it recorded.
    let dir = za.dir.path().to_path_buf();
    let mut members = members;
    let za = members.remove(0);
    for m in members {
        m.fed.shutdown().await;
    }
    za.fed.shutdown().await;
    let mut entries = Vec::new();
    for r in za.node.store().audit_records(0, 100_000).await.unwrap() {
        let e = r.parse().unwrap().entry;
        if e.name == Operation::Disclosure && e.status_code == Status::Ok {
            entries.push(e);
        }
    }
    let to = |who: &'static str| {
        entries
            .iter()
            .filter(move |e| e.peer.as_deref() == Some(who))
    };
    let to_gm = to(GM).count() as u64;
    let to_tp = to(TP).count() as u64;
    let gm_with_bsn = to(GM)
        .filter(|e| e.fields.iter().any(|f| f == "registratie.bsn"))
        .count() as u64;
    let field_disclosures: u64 = entries.iter().map(|e| e.fields.len() as u64).sum();
    let gm_with_fields = to(GM).filter(|e| !e.fields.is_empty()).count() as u64;
    let sizes = |who| {
        to(who)
            .map(|e| e.fields.len())
            .collect::<std::collections::BTreeSet<_>>()
    };
    // How many sync messages carried changes depends on timing; what each carried does not. The Transferpunt got
    // the 11 fields of the registratie, then those and the 6 of the aanmelding. The gemeente of verblijf got a
    // projection with only the facts while the case was in the phase registratie (it relates, but may receive
    // nothing yet), then 6 fields of the registratie (the BSN among them) and the 6 of the aanmelding.
    assert_eq!(sizes(TP), [11, 17].into());
    assert!(sizes(GM).is_subset(&[0, 12].into()) && sizes(GM).contains(&12));
    assert_eq!(entries.len() as u64, to_gm + to_tp);
    assert_eq!(gm_with_bsn, gm_with_fields);

    let recorded = replay::read_node(&za.node).await.unwrap();
    assert_eq!(recorded.disclosures.len(), entries.len());
    // Every disclosure went as a projection, so every one is decided on the facts of its moment: the first ones
    // to the Transferpunt in the phase registratie, the later ones in aanmelding.
    assert!(
        recorded
            .disclosures
            .iter()
            .all(|d| d.facts_source == FactsSource::Projection && d.whole.is_none())
    );
    let phases: std::collections::BTreeSet<_> = recorded
        .disclosures
        .iter()
        .map(|d| d.facts.as_ref().unwrap().phase)
        .collect();
    assert_eq!(
        phases,
        [policies::Fase::Registratie, policies::Fase::Aanmelding].into()
    );

    // (1) The policy in force: nothing changes.
    let current = replay::replay(
        &recorded.disclosures,
        &Policy::covenant(),
        &recorded.in_force,
    );
    let t = current.totals();
    assert_eq!(t.still_allowed, field_disclosures);
    assert_eq!((t.no_longer_allowed, t.newly_disclosed), (0, 0));
    assert!(current.breaches.is_empty() && !current.blocking());
    assert!(current.examples.is_empty());
    assert_eq!(current.cases, 1);

    // (2) The verblijfgemeente no longer gets the BSN, but does get the reason for homelessness.
    let text = proposal(VERBLIJF, |flow| {
        flow.replacen("\"registratie.bsn\", ", "", 1).replacen(
            "\"aanmelding.*\",",
            "\"aanmelding.*\", \"registratie.reden_dakloosheid\",",
            1,
        )
    });
    let proposed = Policy::parse(&text).unwrap();
    let r = replay::replay(&recorded.disclosures, &proposed, &recorded.in_force);
    let t = r.totals();
    assert_eq!(t.no_longer_allowed, gm_with_bsn);
    assert_eq!(t.still_allowed, field_disclosures - gm_with_bsn);
    assert_eq!(t.newly_disclosed, gm_with_fields);
    let bsn = &r.rows[&(
        Role::Gemeente,
        VERBLIJF.to_string(),
        field("registratie.bsn"),
    )];
    assert_eq!((bsn.still_allowed, bsn.no_longer_allowed), (0, gm_with_bsn));
    let reden = &r.rows[&(
        Role::Gemeente,
        VERBLIJF.to_string(),
        field("registratie.reden_dakloosheid"),
    )];
    assert_eq!(reden.newly_disclosed, gm_with_fields);
    assert_eq!(r.per_role()[&Role::Transferpunt].no_longer_allowed, 0);
    assert_eq!(r.per_role()[&Role::Transferpunt].newly_disclosed, 0);
    assert_eq!(r.cases_changed, (1, 1));
    assert!(!r.blocking());
    let kinds: Vec<ChangeKind> = r.examples.iter().map(|e| e.kind).collect();
    assert_eq!(
        kinds,
        [ChangeKind::NoLongerAllowed, ChangeKind::NewlyDisclosed]
    );
    let md = replay::markdown(&r, &recorded.partner);
    assert!(md.contains("dossier #1"), "{md}");
    assert!(md.contains("het veld ‘Burgerservicenummer’"), "{md}");
    assert!(md.contains("het veld ‘Reden dakloosheid’"), "{md}");
    // No personal data in the report: not the BSN, the name, the reason, nor the case id.
    for secret in ["111222333", "Jansen", "huisuitzetting", case.as_str()] {
        assert!(!md.contains(secret), "the report holds {secret}");
        assert!(!replay::html(&r, &recorded.partner).contains(secret));
    }

    // (3) The reason for homelessness to the assigned corporatie: an invariant broken — blocking.
    let text = proposal("aanmeldbericht naar de toegewezen corporatie", |flow| {
        flow.replacen(
            "fields = [\"aanmeldbericht.*\"]",
            "fields = [\"aanmeldbericht.*\", \"registratie.reden_dakloosheid\"]",
            1,
        )
    });
    let proposed = Policy::parse(&text).unwrap();
    let r = replay::replay(&recorded.disclosures, &proposed, &recorded.in_force);
    assert!(r.blocking());
    assert_eq!(r.breaches.len(), 1);
    let b = &r.breaches[0];
    assert_eq!(
        b.invariant,
        "corporatie ziet nooit de reden van dakloosheid"
    );
    assert!(b.baseline);
    assert_eq!(b.rule, "aanmeldbericht naar de toegewezen corporatie");
    assert_eq!(b.fields, [field("registratie.reden_dakloosheid")]);
    let t = r.totals();
    assert_eq!(
        (t.still_allowed, t.no_longer_allowed, t.newly_disclosed),
        (field_disclosures, 0, 0)
    );
    za.node.store().close().await;

    // The binary: exit status 1, the Dutch report on stdout and in both files.
    let work = tempfile::tempdir().unwrap();
    let file = work.path().join("voorstel.toml");
    std::fs::write(&file, &text).unwrap();
    let out = work.path().join("rapport");
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_weerthuis-sim"))
        .args(["replay", "--dir"])
        .arg(&dir)
        .arg("--proposed")
        .arg(&file)
        .arg("--out")
        .arg(&out)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert_eq!(
        run.status.code(),
        Some(1),
        "{stdout}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(stdout.contains("**Blokkerend**"), "{stdout}");
    assert!(stdout.contains("corporatie ziet nooit de reden van dakloosheid"));
    let md = std::fs::read_to_string(out.join("replay.md")).unwrap();
    assert_eq!(md, stdout);
    let html = std::fs::read_to_string(out.join("replay.html")).unwrap();
    assert!(html.contains("<html lang=\"nl\">") && html.contains("<strong>Blokkerend</strong>"));

    // And through `--database` (the node's own URL) with the policy in force: no change, exit status 0.
    let current = work.path().join("huidig.toml");
    std::fs::write(&current, policies::policy::COVENANT_POLICY).unwrap();
    let url = node::config::Config::load(&dir).unwrap().database;
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_weerthuis-sim"))
        .args(["replay", "--database", &url, "--partner", ZA, "--proposed"])
        .arg(&current)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&run.stderr)
    );
    assert!(stdout.contains("Geen wijzigingen"), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "{field_disclosures} nog toegestaan, 0 niet meer toegestaan"
        )),
        "{stdout}"
    );
}
