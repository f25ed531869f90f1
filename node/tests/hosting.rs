//! Small partners (issue #15 item 5), set up the way an operator would, with real `weerthuis` processes:
//! - two small zorgaanbieders hosted by one `weerthuis host` process, each its own data directory, database, keys
//!   and users, reached on one HTTP port by host name;
//! - a third zorgaanbieder that runs its own node without an open port: it has no endpoint in the directory and
//!   dials out to the Transferpunt.
//!
//! Each writes a registratie with canary values; the Transferpunt receives all three, and no zorgaanbieder's files
//! hold another's canaries.

mod process;

use std::process::{Command, Stdio};

use node::harness::files_contain;
use process::{
    Running, call, call_host, free_tcp, free_udp, join_federation, setup_node, sign_directory,
    start, token, wait_until, weerthuis,
};
use serde_json::{Value, json};

const TP: &str = "transferpunt:sdf";
const ZA_A: &str = "zorgaanbieder:za-noord";
const ZA_B: &str = "zorgaanbieder:za-zuid";
const ZA_C: &str = "zorgaanbieder:za-eigen";
const HOST_A: &str = "za-noord.host.example";
const HOST_B: &str = "za-zuid.host.example";

/// A registratie of the fixture, with this partner as betrokken zorgaanbieder and a name and reason no other
/// case has (the canaries).
fn registratie(partner: &str, canary: &str) -> Value {
    let fixture: Value =
        serde_json::from_str(include_str!("fixtures/case_bemiddeling.json")).unwrap();
    let mut r = fixture["registratie"].clone();
    r["betrokken_zorgaanbieder"] = json!(partner);
    r["achternaam_voorletters"] = json!(format!("{canary}, Q."));
    r["reden_dakloosheid"] = json!(format!("Reden {canary}"));
    r
}

/// Create a case through an API and write its registratie; the case id.
fn write_case(api: &str, host: Option<&str>, token: &str, form: &Value) -> String {
    let (status, case) = call_host("POST", &format!("{api}/casussen"), host, token, None);
    assert_eq!(status, 201, "{case}");
    let id = case["id"].as_str().unwrap().to_string();
    let (status, body) = call_host(
        "PUT",
        &format!("{api}/casussen/{id}/documenten/registratie"),
        host,
        token,
        Some(form),
    );
    assert_eq!(status, 200, "{body}");
    id
}

#[test]
fn hosted_small_partners_sync_with_the_transferpunt_and_see_none_of_each_others_data() {
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    let ca = r.join("ca");
    weerthuis(&["ca", "create", "--out", ca.to_str().unwrap()]);

    // The directory: the Transferpunt and the two hosted tenants listen (each tenant on a port of the host);
    // the third zorgaanbieder has no endpoint.
    let (udp_tp, udp_a, udp_b) = (free_udp(), free_udp(), free_udp());
    let directory = json!({"version": 1, "partners": [
        {"id": TP, "name": "Transferpunt", "endpoint": format!("127.0.0.1:{udp_tp}")},
        {"id": ZA_A, "name": "Zorg Noord", "endpoint": format!("127.0.0.1:{udp_a}")},
        {"id": ZA_B, "name": "Zorg Zuid", "endpoint": format!("127.0.0.1:{udp_b}")},
        {"id": ZA_C, "name": "Zorg op eigen kracht"}
    ]});
    sign_directory(r, &directory);

    // The host: made, two tenants added, each given its certificate and federation section.
    let host = r.join("host");
    let http = free_tcp();
    let out = weerthuis(&[
        "host",
        "init",
        "--dir",
        host.to_str().unwrap(),
        "--role",
        "zorgaanbieder",
        "--listen",
        &format!("127.0.0.1:{http}"),
    ]);
    assert!(out.contains("Created a host for zorgaanbieder"), "{out}");
    let mut tenant_dirs = Vec::new();
    for (partner, hostname, udp) in [(ZA_A, HOST_A, udp_a), (ZA_B, HOST_B, udp_b)] {
        let out = weerthuis(&[
            "host",
            "add",
            "--dir",
            host.to_str().unwrap(),
            "--partner",
            partner,
            "--hostname",
            hostname,
        ]);
        assert!(out.contains("first beheerder"), "{out}");
        let dir = host.join("tenants").join(partner.replace(':', "-"));
        assert!(dir.join("weerthuis.toml").exists(), "{out}");
        join_federation(r, &dir, partner, udp);
        tenant_dirs.push(dir);
    }
    // A partner of another role, or a host name taken, is refused, naming the field, and nothing is made.
    let refused = Command::new(process::BIN)
        .args(["host", "add", "--dir", host.to_str().unwrap()])
        .args([
            "--partner",
            "corporatie:elkien",
            "--hostname",
            "elkien.example",
        ])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(
        !refused.status.success() && said.contains("field `partner`"),
        "{said}"
    );
    assert!(!host.join("tenants").join("corporatie-elkien").exists());
    let refused = Command::new(process::BIN)
        .args(["host", "add", "--dir", host.to_str().unwrap()])
        .args(["--partner", "zorgaanbieder:za-west", "--hostname", HOST_A])
        .output()
        .unwrap();
    let said = String::from_utf8_lossy(&refused.stderr);
    assert!(
        !refused.status.success() && said.contains("field `hostname`"),
        "{said}"
    );
    let listed = weerthuis(&["host", "list", "--dir", host.to_str().unwrap()]);
    assert!(
        listed.contains("2 tenant(s)") && listed.contains(ZA_A) && listed.contains(HOST_B),
        "{listed}"
    );

    let tp = setup_node(r, "tp", TP, udp_tp);
    // No open port: it listens on whatever port the system gives, which nobody is told.
    let za_c = r.join("za-eigen");
    weerthuis(&["init", "--dir", za_c.to_str().unwrap(), "--partner", ZA_C]);
    join_federation(r, &za_c, ZA_C, 0);

    let (tp_token, a_token, b_token, c_token) = (
        token(&tp, "koppeling"),
        token(&tenant_dirs[0], "koppeling"),
        token(&tenant_dirs[1], "koppeling"),
        token(&za_c, "koppeling"),
    );
    let (api_tp, api_c) = (free_tcp(), free_tcp());
    let _tp = start(&tp, api_tp);
    let _c = start(&za_c, api_c);
    let log = std::fs::File::create(r.join("host.log")).unwrap();
    let _host = Running(
        Command::new(process::BIN)
            .args(["host", "run", "--dir", host.to_str().unwrap()])
            .env_remove("WEERTHUIS_HOST_DIR")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap(),
    );
    let host_api = format!("http://127.0.0.1:{http}/api/v1");
    let tp_api = format!("http://127.0.0.1:{api_tp}/api/v1");
    let c_api = format!("http://127.0.0.1:{api_c}/api/v1");
    wait_until("the nodes and both tenants answer", || {
        call("GET", &format!("{tp_api}/health"), "", None).0 == 200
            && call("GET", &format!("{c_api}/health"), "", None).0 == 200
            && call_host("GET", &format!("{host_api}/health"), Some(HOST_A), "", None).0 == 200
            && call_host("GET", &format!("{host_api}/health"), Some(HOST_B), "", None).0 == 200
    });

    // Each tenant's werkplek is reached by its host name.
    let (status, _) = call_host(
        "GET",
        &format!("http://127.0.0.1:{http}/werkplek/aanmelden"),
        Some(HOST_A),
        "",
        None,
    );
    assert_eq!(status, 200, "the werkplek's sign-in page at {HOST_A}");

    // A request for a host name no tenant has reaches no tenant.
    let (status, problem) = call_host(
        "GET",
        &format!("{host_api}/casussen"),
        Some("za-west.host.example"),
        &a_token,
        None,
    );
    assert_eq!(status, 404, "{problem}");
    assert_eq!(problem["title"], "Onbekende partner", "{problem}");

    let (canary_a, canary_b, canary_c) = (
        "Kanarie-Noord-5e1f",
        "Kanarie-Zuid-93ac",
        "Kanarie-Eigen-20d7",
    );
    let id_a = write_case(
        &host_api,
        Some(HOST_A),
        &a_token,
        &registratie(ZA_A, canary_a),
    );
    let id_b = write_case(
        &host_api,
        Some(HOST_B),
        &b_token,
        &registratie(ZA_B, canary_b),
    );
    let id_c = write_case(&c_api, None, &c_token, &registratie(ZA_C, canary_c));

    // Each tenant sees its own case only; one tenant's token means nothing at the other.
    let (_, list_a) = call_host(
        "GET",
        &format!("{host_api}/casussen"),
        Some(HOST_A),
        &a_token,
        None,
    );
    let ids = |list: &Value| -> Vec<String> {
        list.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|c| c["id"].as_str().map(String::from))
                    .collect()
            })
            .unwrap_or_default()
    };
    assert_eq!(ids(&list_a), vec![id_a.clone()], "{list_a}");
    let (status, _) = call_host(
        "GET",
        &format!("{host_api}/casussen/{id_a}"),
        Some(HOST_B),
        &b_token,
        None,
    );
    assert_eq!(status, 404, "tenant B must not find tenant A's case");
    let (status, _) = call_host(
        "GET",
        &format!("{host_api}/casussen"),
        Some(HOST_B),
        &a_token,
        None,
    );
    assert_eq!(status, 401, "tenant A's token must not open tenant B");

    // The Transferpunt receives all three: from the two tenants of the host, and from the node that dialled out.
    for (id, canary) in [(&id_a, canary_a), (&id_b, canary_b), (&id_c, canary_c)] {
        wait_until(
            &format!("the Transferpunt holds {canary}'s registratie"),
            || {
                let (status, view) = call(
                    "GET",
                    &format!("{tp_api}/casussen/{id}/documenten/registratie"),
                    &tp_token,
                    None,
                );
                status == 200
                    && view["velden"]["achternaam_voorletters"]
                        .as_str()
                        .is_some_and(|n| n.starts_with(canary))
            },
        );
    }

    // Stop everything, so every database file is complete, then search the files as bytes.
    drop((_host, _tp, _c));
    let (dir_a, dir_b) = (&tenant_dirs[0], &tenant_dirs[1]);
    for canary in [canary_a, canary_b, canary_c] {
        assert!(
            files_contain(&tp, canary),
            "the Transferpunt holds {canary}"
        );
    }
    let holds = [
        (dir_a, canary_a, [canary_b, canary_c]),
        (dir_b, canary_b, [canary_a, canary_c]),
        (&za_c, canary_c, [canary_a, canary_b]),
    ];
    for (dir, own, others) in holds {
        assert!(
            files_contain(dir, own),
            "{} holds its own {own}",
            dir.display()
        );
        for other in others {
            assert!(
                !files_contain(dir, other),
                "{} holds {other}, another partner's canary",
                dir.display()
            );
        }
    }
    // The host's log, which every tenant writes to, names no value of theirs.
    let log = std::fs::read(r.join("host.log")).unwrap();
    let text = String::from_utf8_lossy(&log);
    for partner in [ZA_A, ZA_B] {
        assert!(
            text.contains(&format!("node{{partner={partner}}}")),
            "the host's log names which tenant's federation side wrote a line: {text}"
        );
    }
    for canary in [canary_a, canary_b] {
        assert!(
            !log.windows(canary.len()).any(|w| w == canary.as_bytes()),
            "the host's log holds {canary}"
        );
    }
    // Nothing of a tenant lies in the host's own directory outside the tenants' directories.
    for entry in std::fs::read_dir(&host).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() {
            let bytes = std::fs::read(&path).unwrap();
            for canary in [canary_a, canary_b] {
                assert!(
                    !bytes.windows(canary.len()).any(|w| w == canary.as_bytes()),
                    "{} holds {canary}",
                    path.display()
                );
            }
        }
    }
}

/// A tenant that cannot start (here: its configuration broken by hand) is left out and answers 503, while the
/// other tenant serves on; an unknown host name reaches no tenant.
#[tokio::test]
async fn a_tenant_that_cannot_start_does_not_stop_its_neighbour() {
    use axum::body::Body;
    use axum::http::{Request, StatusCode};
    use tower::ServiceExt as _;

    let root = tempfile::tempdir().unwrap();
    let host = root.path().join("host");
    node::host::init(
        &host,
        policies::Role::Zorgaanbieder,
        node::config::ApiConfig::default(),
    )
    .unwrap();
    node::host::add_tenant(&host, ZA_A.parse().unwrap(), HOST_A, None)
        .await
        .unwrap();
    let (_, broken) = node::host::add_tenant(&host, ZA_B.parse().unwrap(), HOST_B, None)
        .await
        .unwrap();
    std::fs::write(broken.join("weerthuis.toml"), "partner = 42\n").unwrap();

    let (_, running) = node::host::start(&host).await.unwrap();
    assert_eq!(running.nodes().count(), 1);
    assert_eq!(running.failed().len(), 1);
    assert_eq!(running.failed()[0].0.partner.to_string(), ZA_B);
    let router = running.router();
    let status = |hostname: &'static str| {
        let router = router.clone();
        async move {
            let request = Request::get("/api/v1/health")
                .header("Host", hostname)
                .body(Body::empty())
                .unwrap();
            router.oneshot(request).await.unwrap().status()
        }
    };
    assert_eq!(status(HOST_A).await, StatusCode::OK);
    assert_eq!(status(HOST_B).await, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(status("elders.example").await, StatusCode::NOT_FOUND);
    running.shutdown().await;

    // With no tenant able to start, the host does not start: there is nothing to serve.
    let only_broken = root.path().join("host2");
    node::host::init(
        &only_broken,
        policies::Role::Zorgaanbieder,
        node::config::ApiConfig::default(),
    )
    .unwrap();
    let (_, dir) = node::host::add_tenant(&only_broken, ZA_B.parse().unwrap(), HOST_B, None)
        .await
        .unwrap();
    std::fs::write(dir.join("weerthuis.toml"), "partner = 42\n").unwrap();
    let e = node::host::start(&only_broken)
        .await
        .unwrap_err()
        .to_string();
    assert!(e.contains(ZA_B), "{e}");
}
