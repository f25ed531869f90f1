//! Two real `weerthuis run` processes federated the way an operator sets them up: `ca create`, `ca issue`,
//! `directory sign`, a `[federation]` section in each node's configuration. A registratie written through the
//! zorgaanbieder's API is read through the Transferpunt's API.

mod process;

use process::{
    call, free_tcp, free_udp, setup_node, sign_directory, start, token, wait_until, weerthuis,
};
use serde_json::{Value, json};

#[test]
fn two_processes_federate_with_cli_made_certificates() {
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    let ca = r.join("ca");
    let out = weerthuis(&["ca", "create", "--out", ca.to_str().unwrap()]);
    assert!(out.contains("Created federation CA"), "{out}");

    let (udp_tp, udp_za) = (free_udp(), free_udp());
    let directory = json!({"version": 1, "partners": [
        {"id": "transferpunt:sdf", "name": "Transferpunt Sociaal Domein Fryslân", "endpoint": format!("127.0.0.1:{udp_tp}"),
         "contacts": [{"naam": "Uitstroomcoördinator", "email": "transferpunt@example.invalid"}]},
        {"id": "zorgaanbieder:kwadrant", "name": "Kwadrant", "endpoint": format!("127.0.0.1:{udp_za}")}
    ]});
    sign_directory(r, &directory);
    let signed = r.join("directory.signed.json");
    let shown = weerthuis(&[
        "directory",
        "show",
        "--ca",
        ca.join("federation-ca.pem").to_str().unwrap(),
        signed.to_str().unwrap(),
    ]);
    assert!(
        shown.contains("signature valid") && shown.contains("zorgaanbieder:kwadrant"),
        "{shown}"
    );

    let tp = setup_node(r, "tp", "transferpunt:sdf", udp_tp);
    let za = setup_node(r, "za", "zorgaanbieder:kwadrant", udp_za);

    // The Transferpunt signs and publishes a new policy version (here: the shipped one, renumbered).
    let shipped = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../policies/covenant/policy.toml"
    ))
    .unwrap();
    let proposal = r.join("policy-2026.2.toml");
    std::fs::write(
        &proposal,
        shipped.replace("version = \"2026.1\"", "version = \"2026.2\""),
    )
    .unwrap();
    let signed_policy = r.join("policy-2026.2.signed.json");
    let out = weerthuis(&[
        "policy",
        "sign",
        proposal.to_str().unwrap(),
        "--key",
        tp.join("node.key").to_str().unwrap(),
        "--sequence",
        "1",
        "--out",
        signed_policy.to_str().unwrap(),
    ]);
    assert!(out.contains("version 2026.2"), "{out}");
    let out = weerthuis(&[
        "policy",
        "publish",
        "--dir",
        tp.to_str().unwrap(),
        signed_policy.to_str().unwrap(),
    ]);
    assert!(out.contains("Published"), "{out}");
    let (tp_token, za_token) = (token(&tp, "test"), token(&za, "test"));
    let (api_tp, api_za) = (free_tcp(), free_tcp());
    let _tp_proc = start(&tp, api_tp);
    let _za_proc = start(&za, api_za);
    let za_api = format!("http://127.0.0.1:{api_za}/api/v1");
    let tp_api = format!("http://127.0.0.1:{api_tp}/api/v1");
    wait_until("both nodes answer", || {
        call("GET", &format!("{za_api}/health"), "", None).0 == 200
            && call("GET", &format!("{tp_api}/health"), "", None).0 == 200
    });

    let (status, case) = call("POST", &format!("{za_api}/casussen"), &za_token, None);
    assert_eq!(status, 201);
    let id = case["id"].as_str().unwrap().to_string();
    let fixture: Value =
        serde_json::from_str(include_str!("fixtures/case_bemiddeling.json")).unwrap();
    let (status, _) = call(
        "PUT",
        &format!("{za_api}/casussen/{id}/documenten/registratie"),
        &za_token,
        Some(&fixture["registratie"]),
    );
    assert_eq!(status, 200);

    wait_until("the Transferpunt's API shows the registratie", || {
        call(
            "GET",
            &format!("{tp_api}/casussen/{id}/documenten/registratie"),
            &tp_token,
            None,
        )
        .0 == 200
    });
    let (_, view) = call(
        "GET",
        &format!("{tp_api}/casussen/{id}/documenten/registratie"),
        &tp_token,
        None,
    );
    assert_eq!(view["velden"]["bsn"], "123456782");
    assert_eq!(
        view["velden"]["reden_dakloosheid"],
        fixture["registratie"]["reden_dakloosheid"]
    );
    let (_, list) = call("GET", &format!("{tp_api}/casussen"), &tp_token, None);
    assert!(
        list[0]["documenten"]
            .as_array()
            .unwrap()
            .contains(&json!("registratie")),
        "{list}"
    );

    // The zorgaanbieder received the signed version and put it in force.
    wait_until("the zorgaanbieder runs policy 2026.2", || {
        call("GET", &format!("{za_api}/health"), "", None).1["beleid"] == "2026.2"
    });
}
