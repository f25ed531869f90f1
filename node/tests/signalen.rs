//! `Node::signalen` on a real node (SQLite, fixed clock): the deadline alerts of issue 17 reach the partner who
//! must act, in Dutch, through the same path as the werkplek and `GET /api/v1/signalen`.

use std::sync::Arc;

use policies::DocumentKind;
use time::macros::datetime;

/// A zorgaanbieder's node on `today`, with a BW client registered at the Transferpunt on 2 March 2026 and no
/// aanmelding yet; the signalen it shows.
async fn signalen_on(
    today: time::OffsetDateTime,
    aanmelding: bool,
) -> Vec<node::signalen::Signaal> {
    let dir = tempfile::tempdir().unwrap();
    node::app::init(dir.path(), "zorgaanbieder:kwadrant".parse().unwrap(), None)
        .await
        .unwrap();
    let clock = Arc::new(move || today);
    let (_, node) = node::app::open_with_clock(dir.path(), clock).await.unwrap();
    let user = node
        .store()
        .create_user("Sietske de Boer", "begeleider")
        .await
        .unwrap()
        .user;
    let case = node.create_case().await.unwrap().id.parse().unwrap();
    let client = policies::examples::Client::new("Bakker, J.", 17);
    let mut registratie = policies::examples::registratie(
        &client,
        "zorgaanbieder:kwadrant",
        true,
        "beschermd_wonen",
        "GM0080",
        "2024-01-15",
    );
    registratie["datum_aanmelding_transferpunt"] = serde_json::json!("2026-03-02");
    node.write_form(&user, &case, DocumentKind::Registratie, None, &registratie)
        .await
        .unwrap();
    if aanmelding {
        node.write_form(
            &user,
            &case,
            DocumentKind::Aanmelding,
            None,
            &policies::examples::aanmelding(&client, "2026-03-10"),
        )
        .await
        .unwrap();
    }
    node.signalen().await.unwrap()
}

/// Bijlage 3, aanmeldfase: "Binnen 2 weken na registratie wordt het aanmeldformulier door de Zorgaanbieder met de
/// Uitstromer ingevuld" — for a BW client too. Registered 2 March 2026: due 16 March.
#[tokio::test]
async fn bijlage_3_the_zorgaanbieder_sees_its_bw_aanmelding_due_two_weeks_after_registratie() {
    let on_time = signalen_on(datetime!(2026-03-16 10:00 UTC), false).await;
    let s = on_time
        .iter()
        .find(|s| s.soort == "aanmelding_bw")
        .expect("the duty shows from the registratie on");
    assert_eq!(
        s.tekst,
        "Aanmeldformulier binnen 2 weken na registratie (BW)"
    );
    assert_eq!(s.termijn, time::macros::date!(2026 - 03 - 16));
    assert!(!s.verlopen, "the day of the deadline is in time");

    let late = signalen_on(datetime!(2026-03-17 10:00 UTC), false).await;
    assert!(
        late.iter()
            .any(|s| s.soort == "aanmelding_bw" && s.verlopen)
    );

    let done = signalen_on(datetime!(2026-03-17 10:00 UTC), true).await;
    assert!(done.iter().all(|s| s.soort != "aanmelding_bw"), "{done:?}");
}
