//! First light: a registratie travels from a zorgaanbieder to the Transferpunt whole, and to the gemeente of stay
//! as a projection.

use std::time::Duration;

use policies::DocumentKind;
use serde_json::json;
use weerthuis_tests::{TestNet, eventually};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn registratie_reaches_transferpunt_and_gemeente() {
    let net = TestNet::start(&[
        "zorgaanbieder:kwadrant",
        "transferpunt:sdf",
        "gemeente:GM0080",
    ])
    .await;
    let case = net.new_case("zorgaanbieder:kwadrant").await;
    net.write("zorgaanbieder:kwadrant", &case, DocumentKind::Registratie, None, json!({
        "achternaam_voorletters": "Jansen, P.", "bsn": "123456782", "geboortedatum": "1990-04-12",
        "soort_voorziening": "maatschappelijke_opvang", "herkomstgemeente": "GM0080", "verblijfgemeente": "GM0080",
        "start_verblijf_opvang": "2025-09-01", "betrokken_zorgaanbieder": "zorgaanbieder:kwadrant",
        "reden_dakloosheid": "Huisuitzetting", "toestemming_gegevensdeling": true, "datum_toestemming": "2025-09-01"
    })).await.unwrap();
    net.write("zorgaanbieder:kwadrant", &case, DocumentKind::Aanmelding, None, json!({
        "achternaam_voorletters": "Jansen, P.", "datum_aanmelding": "2025-09-10", "leefsituatie": "alleenstaand"
    })).await.unwrap();

    eventually(
        "the Transferpunt holds the registratie",
        Duration::from_secs(20),
        || async {
            net.holds("transferpunt:sdf", &case)
                .await
                .get("registratie")
                .and_then(|r| r.get("bsn"))
                .is_some()
        },
    )
    .await;
    eventually(
        "the gemeente holds the aanmelding",
        Duration::from_secs(20),
        || async {
            net.holds("gemeente:GM0080", &case)
                .await
                .get("aanmelding")
                .is_some()
        },
    )
    .await;
    let gm = net.holds("gemeente:GM0080", &case).await;
    println!("{gm:#?}");
    assert!(
        gm["registratie"].get("reden_dakloosheid").is_none(),
        "not for the gemeente"
    );
    assert_eq!(gm["registratie"]["bsn"], "123456782");
}
