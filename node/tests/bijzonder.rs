//! Bijzondere situaties (Afspraak 8f, issue #13 item 5): a disclosure outside the policy's flows is asked for with
//! its ground and reason, decided on by the privacy officer — another person than the one who asked — recorded in
//! the audit log (field names and ground, never a value or the reason), handed over only when approved, and counted
//! in the jaarverslag. On SQLite and PostgreSQL.

mod common;

use common::Db;
use node::access::UserRole;
use node::audit::Operation;
use node::bijzonder::{ACTIVITY, Grond};
use node::service::ServiceError;
use node::store::{CaseId, User};
use policies::DocumentKind as K;
use policies::examples as ex;
use serde_json::json;

backend_tests!(an_emergency_disclosure_is_asked_decided_by_another_person_audited_and_counted,);

fn person(id: &str, role: UserRole) -> User {
    User {
        id: id.into(),
        name: id.into(),
        purpose: "test".into(),
        role,
        login: Some(id.into()),
        created_at: time::OffsetDateTime::now_utc(),
        revoked: false,
    }
}

const TELEFOON: &str = "0612398745";
const REDEN: &str = "reden-canary: acuut gevaar bij de cliënt thuis";

async fn an_emergency_disclosure_is_asked_decided_by_another_person_audited_and_counted(db: &Db) {
    let dir = tempfile::tempdir().unwrap();
    node::cli::admin::init(
        dir.path(),
        "zorgaanbieder:kwadrant".parse().unwrap(),
        Some(db.url()),
        &mut Vec::new(),
    )
    .await
    .unwrap();
    let (_, node) = node::app::open(dir.path()).await.unwrap();
    let anna = person("anna", UserRole::Medewerker);
    let piet = person("piet", UserRole::Privacyfunctionaris);
    let analist = person("ada", UserRole::Analist);
    let client = ex::Client::numbered(8);
    let case: CaseId = node.create_case().await.unwrap().id.parse().unwrap();
    let registratie = ex::registratie(
        &client,
        "zorgaanbieder:kwadrant",
        true,
        "maatschappelijke_opvang",
        "GM0080",
        "2025-06-01",
    );
    node.write_form(&anna, &case, K::Registratie, None, &registratie)
        .await
        .unwrap();
    let mut aanmelding = ex::aanmelding(&client, "2025-06-10");
    aanmelding["telefoonnummer"] = json!(TELEFOON);
    node.write_form(&anna, &case, K::Aanmelding, None, &aanmelding)
        .await
        .unwrap();
    let velden = vec![
        "aanmelding.telefoonnummer".to_string(),
        "registratie.achternaam_voorletters".to_string(),
    ];

    // Bad input is named, and nothing is stored.
    let bad = node
        .request_special_disclosure(
            &anna,
            &case,
            "Crisisdienst GGZ",
            &["aanmelding.schoenmaat".to_string()],
            Grond::Noodsituatie,
            REDEN,
        )
        .await
        .expect_err("an unknown field is refused");
    assert!(bad.to_string().contains("aanmelding.schoenmaat"), "{bad}");
    let no_reason = node
        .request_special_disclosure(
            &anna,
            &case,
            "Crisisdienst GGZ",
            &velden,
            Grond::Noodsituatie,
            " ",
        )
        .await
        .expect_err("a request without a reason is refused");
    assert!(no_reason.to_string().contains("reden"), "{no_reason}");
    assert!(matches!(
        node.request_special_disclosure(
            &analist,
            &case,
            "Crisisdienst GGZ",
            &velden,
            Grond::Noodsituatie,
            REDEN
        )
        .await,
        Err(ServiceError::NotAllowed(_))
    ));
    assert!(node.store().special_disclosures().await.unwrap().is_empty());

    // Asked for by the begeleider.
    let asked = node
        .request_special_disclosure(
            &anna,
            &case,
            "Crisisdienst GGZ",
            &velden,
            Grond::Noodsituatie,
            REDEN,
        )
        .await
        .unwrap();
    assert_eq!(asked.fields, velden);
    assert_eq!(asked.decision, None);

    // Only the privacy officer decides, and never on her own request.
    assert!(matches!(
        node.decide_special_disclosure(&anna, &asked.id, true).await,
        Err(ServiceError::NotAllowed(_))
    ));
    let own = node
        .request_special_disclosure(
            &piet,
            &case,
            "Politie",
            &velden,
            Grond::WettelijkeVerplichting,
            REDEN,
        )
        .await
        .unwrap();
    assert!(matches!(
        node.decide_special_disclosure(&piet, &own.id, true).await,
        Err(ServiceError::NotAllowed(_))
    ));

    // Approved: the values for the recipient, once.
    let (decided, export) = node
        .decide_special_disclosure(&piet, &asked.id, true)
        .await
        .unwrap();
    assert_eq!(decided.decision.as_deref(), Some("goedgekeurd"));
    assert_eq!(decided.decided_by.as_deref(), Some("piet"));
    let export = export.expect("an approval hands over the values");
    assert_eq!(
        export.gegevens["aanmelding.telefoonnummer"],
        json!(TELEFOON)
    );
    assert_eq!(
        export.gegevens["registratie.achternaam_voorletters"],
        json!(client.name)
    );
    assert!(matches!(
        node.decide_special_disclosure(&piet, &asked.id, false)
            .await,
        Err(ServiceError::Conflict(_))
    ));
    // Refused by another privacy officer: nothing handed over.
    let anne = person("anne", UserRole::Privacyfunctionaris);
    let (refused, none) = node
        .decide_special_disclosure(&anne, &own.id, false)
        .await
        .unwrap();
    assert_eq!(refused.decision.as_deref(), Some("afgewezen"));
    assert!(none.is_none());

    // The audit log: the request, the approved disclosure under its activity with the fields, the refusal — and
    // neither a value nor the reason.
    let records = node.store().audit_records(0, u32::MAX).await.unwrap();
    let entries: Vec<_> = records.iter().map(|r| r.parse().unwrap().entry).collect();
    let disclosed: Vec<_> = entries
        .iter()
        .filter(|e| e.name == Operation::Disclosure && e.processing_activity_id == ACTIVITY)
        .collect();
    assert_eq!(disclosed.len(), 1, "one approved disclosure recorded");
    assert_eq!(disclosed[0].fields, velden);
    assert!(disclosed[0].purpose.contains("Crisisdienst GGZ"));
    assert!(disclosed[0].purpose.contains("Afspraak 8f onder i"));
    assert_eq!(
        entries
            .iter()
            .filter(|e| e.name == Operation::SpecialDisclosure)
            .count(),
        3,
        "two requests and one refusal"
    );
    for r in &records {
        assert!(!r.entry.contains(TELEFOON), "no value in the audit log");
        assert!(
            !r.entry.contains("reden-canary"),
            "no reason in the audit log"
        );
    }
    // Every entry resolves in the register of processing activities.
    let register = node::logboek::register_of(&node).await.unwrap();
    for e in &entries {
        assert!(
            register
                .resolve(e.name, &e.processing_activity_id)
                .is_some(),
            "{:?} {}",
            e.name,
            e.processing_activity_id
        );
    }

    // The jaarverslag counts the approved one under its ground (a threshold of 1 shows every count).
    let year = time::OffsetDateTime::now_utc().year();
    assert_eq!(
        node.special_disclosure_counts(year).await.unwrap(),
        vec![
            (Grond::Noodsituatie.basis().to_string(), 1),
            (Grond::WettelijkeVerplichting.basis().to_string(), 0),
        ]
    );
    node.store().close().await;
    let out = tempfile::tempdir().unwrap();
    node::cli::admin::jaarverslag(dir.path(), year, 1, out.path(), &mut Vec::new())
        .await
        .unwrap();
    let md = std::fs::read_to_string(out.path().join(format!("jaarverslag-{year}.md"))).unwrap();
    assert!(
        md.contains("## Bijzondere verstrekkingen buiten de gegevensstromen (Afspraak 8f)"),
        "{md}"
    );
    let row = md
        .lines()
        .find(|l| l.contains("Afspraak 8f onder i:"))
        .expect("the ground's row");
    assert!(row.contains("| 1"), "{row}");
}
