//! Life after placement (issue #17 item 3, Afspraak 2d-2h, 4e, 5, 6) on real nodes over QUIC: after the move the
//! corporatie records the omklap evaluation of the 3-partijen lease and, once the overleg of Afspraak 2h is settled
//! as a melding, a huisuitzetting (refused before it); the zorgaanbieder records the afschaling of support. Each
//! event is a document of its own, so the plaatsing keeps the uitstroom; each reaches only whom the policy allows,
//! shown by canary values searched as bytes in every node's files.

use node::harness::files_contain;
use policies::DocumentKind as D;
use policies::examples as ex;
use serde_json::json;
use weerthuis_tests::{TestNet, canary_client, wait_for};

const ZA: &str = "zorgaanbieder:kwadrant";
const TP: &str = "transferpunt:sdf";
const ELK: &str = "corporatie:elkien";
const ACC: &str = "corporatie:accolade";
const GM: &str = "gemeente:GM0080";
const GM_ANDERS: &str = "gemeente:GM0074";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn events_after_placement_reach_only_whom_the_policy_allows_and_no_eviction_without_overleg()
{
    let net = TestNet::start(&[ZA, TP, ELK, ACC, GM, GM_ANDERS]).await;
    let (client, _) = canary_client("nazorg", "Huurder", 670_000, 1);
    let case = net
        .assigned_case(&client, "zoekgedrag-nazorg-1", ELK, "ambulant", json!([]))
        .await;

    // The move: a 3-partijen lease signed, the plaatsing recorded.
    let offers = [ex::aanbod("2025-11-01", "Tuinstraat 5, Leeuwarden", true)];
    net.write(
        ELK,
        &case,
        D::Reactie,
        None,
        ex::reactie_gehuurd("2025-10-24", &offers, "drie_partijen", "2025-11-15"),
    )
    .await
    .unwrap();
    let plaatsing = ex::plaatsing(
        &client,
        "2025-11-15",
        "Tuinstraat 5",
        "GM0080",
        "drie_partijen",
    );
    net.write(ZA, &case, D::Plaatsing, None, &plaatsing)
        .await
        .unwrap();
    wait_for(
        &net,
        TP,
        &case,
        "plaatsing",
        "soort_mutatie",
        json!("uitstroom_zelfstandig"),
    )
    .await;

    // Afspraak 2f: the corporatie evaluates the omklap goals after about a year; not yet.
    let evaluatie = "omklapevaluatie-nazorg-canary-1";
    net.write(
        ELK,
        &case,
        D::Huurverloop,
        Some("evaluatie-1"),
        ex::omklap_evaluatie("2026-10-20", "later_opnieuw", evaluatie),
    )
    .await
    .unwrap();
    for at in [TP, ZA, GM] {
        wait_for(
            &net,
            at,
            &case,
            "huurverloop/evaluatie-1",
            "toelichting",
            json!(evaluatie),
        )
        .await;
    }

    // Afspraak 2h: an eviction during the 3-partijen lease is refused without a settled overleg, naming the rule,
    // and nothing of it is stored.
    let uitzetting = "huisuitzetting-nazorg-canary-1";
    let mut eviction = ex::huisuitzetting("2026-11-20", "2026-11-10");
    eviction["toelichting"] = json!(uitzetting);
    let refused = net
        .write(ELK, &case, D::Huurverloop, Some("uitzetting-1"), &eviction)
        .await
        .unwrap_err();
    match &refused {
        node::service::ServiceError::Invalid(e) => {
            assert!(e.has("soort", "huisuitzetting_zonder_overleg"), "{e}");
            assert!(e.to_string().contains("Afspraak 2h"), "{e}");
        }
        other => panic!("refused for another reason: {other}"),
    }
    let elkien = net.node(ELK).path().to_path_buf();
    assert!(
        !files_contain(&elkien, uitzetting),
        "a refused write stores nothing"
    );
    // The overleg, as a melding with its own deadline, settled; then the eviction is taken.
    let overleg = "overleg-nazorg-canary-1";
    net.write(
        ELK,
        &case,
        D::Melding,
        Some("overleg-1"),
        ex::overleg_huisuitzetting("2026-11-02", "2026-11-10", overleg),
    )
    .await
    .unwrap();
    net.write(ELK, &case, D::Huurverloop, Some("uitzetting-1"), &eviction)
        .await
        .unwrap();
    for at in [TP, ZA, GM] {
        wait_for(
            &net,
            at,
            &case,
            "huurverloop/uitzetting-1",
            "soort",
            json!("huisuitzetting"),
        )
        .await;
    }

    // Afspraak 5: the zorgaanbieder scales support down; the corporatie learns only what and when.
    let afschaling = "afschaling-nazorg-canary-1";
    net.write(
        ZA,
        &case,
        D::Ondersteuningsverloop,
        Some("afschaling-1"),
        ex::ondersteuningsverloop("afschaling", "2026-06-01", afschaling),
    )
    .await
    .unwrap();
    for at in [TP, GM] {
        wait_for(
            &net,
            at,
            &case,
            "ondersteuningsverloop/afschaling-1",
            "toelichting",
            json!(afschaling),
        )
        .await;
    }
    wait_for(
        &net,
        ELK,
        &case,
        "ondersteuningsverloop/afschaling-1",
        "soort",
        json!("afschaling"),
    )
    .await;

    // Nothing overwritten: the plaatsing still says uitstroom, and the Transferpunt's monitor counts the uitstroom
    // in 2025 and the huisuitzetting as uitval in 2026.
    wait_for(
        &net,
        TP,
        &case,
        "plaatsing",
        "soort_mutatie",
        json!("uitstroom_zelfstandig"),
    )
    .await;
    let tp = net.node(TP);
    let cases = node::monitor::load_cases(tp.node()).await.unwrap();
    let years = node::monitor::indicators::per_jaar(&cases);
    assert_eq!(years[&2025].uitstroom(), 1);
    assert_eq!(years[&2025].uitval_totaal(), 0);
    assert_eq!(years[&2026].uitval.get("huisuitzetting"), Some(&1));

    // Canaries in every node's files: each event only where a flow lets it go.
    let allowed: &[(&str, &[&str])] = &[
        (evaluatie, &[ELK, TP, ZA, GM]),
        (uitzetting, &[ELK, TP, ZA, GM]),
        (afschaling, &[ZA, TP, GM]),
    ];
    // The overleg is a melding and travels as meldingen of the corporatie do (Afspraak 7): at least to the
    // Transferpunt, never to a partner not involved.
    for at in [ACC, GM_ANDERS] {
        assert!(
            !files_contain(net.node(at).path(), overleg),
            "{overleg} at {at}"
        );
    }
    for at in [ELK, TP] {
        assert!(
            files_contain(net.node(at).path(), overleg),
            "{overleg} at {at}"
        );
    }
    for (canary, holders) in allowed {
        for at in [ZA, TP, ELK, ACC, GM, GM_ANDERS] {
            let path = net.node(at).path().to_path_buf();
            assert_eq!(
                files_contain(&path, canary),
                holders.contains(&at),
                "{canary} at {at}"
            );
        }
    }
}
