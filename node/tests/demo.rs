//! `weerthuis demo --exit-after-scenario` as a newcomer runs it: the real binary, seven nodes over real QUIC. Its
//! output must show every node, a corporatie holding only its own aanmeldbericht and reactie, the Transferpunt
//! holding the whole case, the case without consent only at its zorgaanbieder, no personal data on the terminal,
//! and the monitor's counts. And `GET /metrics`, in process, with and without a federation.

use std::collections::{BTreeMap, BTreeSet};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::http::{Request, StatusCode};
use node::scenario::{
    ACCOLADE, ELKIEN, HEERENVEEN, KWADRANT, LEEUWARDEN, LIMOR, PARTNERS, TRANSFERPUNT, WHOLE_WAY,
};
use protocol::{Admitted, Directory, DirectoryEntry, FederationCa, TlsSetup};
use time::{Duration as TimeDuration, OffsetDateTime};
use tower::ServiceExt;

/// Long enough for a debug build on a busy two-core machine; the demo takes seconds when idle.
const LIMIT: Duration = Duration::from_secs(300);

/// Sections per (node, case label), parsed from the "What each node holds" part of the output.
fn holdings(out: &str) -> BTreeMap<(String, String), BTreeSet<String>> {
    let mut held = BTreeMap::new();
    let (mut node, mut case) = (String::new(), String::new());
    for line in out.lines() {
        if let Some(rest) = line.strip_prefix("node ") {
            node = rest.split(' ').next().unwrap().to_string();
        } else if let Some(rest) = line.strip_prefix("  case ") {
            case = rest.split(' ').next().unwrap().to_string();
            held.insert((node.clone(), case.clone()), BTreeSet::new());
        } else if let Some(rest) = line.strip_prefix("    ")
            && !node.is_empty()
            && let Some((section, _fields)) = rest.split_once(": ")
            && let Some(s) = held.get_mut(&(node.clone(), case.clone()))
        {
            s.insert(section.to_string());
        }
        if line.starts_with("Uitstroommonitor") {
            break;
        }
    }
    held
}

fn set(items: &[String]) -> BTreeSet<String> {
    items.iter().cloned().collect()
}

#[test]
fn demo_plays_the_scenario_and_shows_what_each_node_holds() {
    let work = tempfile::tempdir().unwrap();
    let stdout_path = work.path().join("stdout");
    let stderr_path = work.path().join("stderr");
    let mut child = Command::new(env!("CARGO_BIN_EXE_weerthuis"))
        .args(["demo", "--exit-after-scenario"])
        .env_remove("WEERTHUIS_LOG")
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&stdout_path).unwrap())
        .stderr(std::fs::File::create(&stderr_path).unwrap())
        .spawn()
        .expect("start weerthuis demo");
    let started = Instant::now();
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > LIMIT {
            let _ = child.kill();
            let _ = child.wait();
            panic!(
                "the demo did not finish within {LIMIT:?}; output so far:\n{}\n{}",
                std::fs::read_to_string(&stdout_path).unwrap_or_default(),
                std::fs::read_to_string(&stderr_path).unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    let out = std::fs::read_to_string(&stdout_path).unwrap();
    let err = std::fs::read_to_string(&stderr_path).unwrap();
    assert!(status.success(), "exit {status}\n{out}\n{err}");
    assert!(
        out.contains("All 6 connections with the Transferpunt up"),
        "{out}"
    );
    assert!(out.trim_end().ends_with("Stopped."), "{out}");

    // The temporary data directory is gone afterwards.
    let data_dir = out
        .lines()
        .find_map(|l| l.strip_prefix("Data directory: "))
        .expect("data directory line");
    assert!(
        !std::path::Path::new(data_dir).exists(),
        "{data_dir} left behind"
    );

    // Every node started, and listed with what it holds.
    for (id, _) in PARTNERS {
        assert!(
            out.lines().any(|l| l.starts_with(&format!("  {id} "))),
            "{id} not in the list of nodes:\n{out}"
        );
        assert!(
            out.lines()
                .any(|l| l.starts_with(&format!("node {id} holds "))),
            "{id} not in the holdings:\n{out}"
        );
    }
    // Every step of the scenario was played.
    for step in [
        "onvolledig",
        "informatieverzoek",
        "refuses case A (reden_weigering: huurachterstand)",
        "refuses this first offer",
        "3-partijen huurovereenkomst",
        "reports the plaatsing of case B",
    ] {
        assert!(out.contains(step), "{step}:\n{out}");
    }

    let held = holdings(&out);
    let of = |node: &str, case: &str| {
        held.get(&(node.to_string(), case.to_string()))
            .cloned()
            .unwrap_or_default()
    };
    // A corporatie holds only its own aanmeldbericht and reactie.
    for corp in [ELKIEN, ACCOLADE] {
        let mine = set(&[format!("aanmeldbericht/{corp}"), format!("reactie/{corp}")]);
        for ((node, case), sections) in &held {
            if node == corp {
                assert!(
                    sections.is_subset(&mine),
                    "{corp} holds {sections:?} of case {case}"
                );
            }
        }
    }
    // Case A: Accolade refused (its reactie only, the aanmeldbericht withdrawn), Elkien placed it.
    assert_eq!(of(ACCOLADE, "A"), set(&[format!("reactie/{ACCOLADE}")]));
    assert_eq!(
        of(ELKIEN, "A"),
        set(&[
            format!("aanmeldbericht/{ELKIEN}"),
            format!("reactie/{ELKIEN}")
        ])
    );
    // The Transferpunt holds the whole of case A: registratie … plaatsing, and every partner's answer.
    let tp = of(TRANSFERPUNT, "A");
    let answers = [
        format!("reactie/{ACCOLADE}"),
        format!("reactie/{ELKIEN}"),
        format!("gemeente/{LEEUWARDEN}"),
    ];
    for section in WHOLE_WAY
        .iter()
        .copied()
        .chain(answers.iter().map(String::as_str))
    {
        assert!(
            tp.contains(section),
            "the Transferpunt lacks {section}: {tp:?}"
        );
    }
    for section in [
        "registratie",
        "bemiddelingsverzoek",
        "beoordeling",
        "plaatsing",
    ] {
        assert!(of(TRANSFERPUNT, "B").contains(section), "case B: {section}");
    }
    // The gemeente not involved in case A holds nothing of it; case B reached Heerenveen.
    assert!(of(HEERENVEEN, "A").is_empty());
    assert!(of(HEERENVEEN, "B").contains(&format!("gemeente/{HEERENVEEN}")));
    // The case without consent never left Kwadrant.
    for (id, _) in PARTNERS {
        assert_eq!(
            of(id, "C").is_empty(),
            id != KWADRANT,
            "case C at {id}: {:?}",
            of(id, "C")
        );
    }
    assert!(of(LIMOR, "A").is_empty() && of(KWADRANT, "B").is_empty());
    // Field names only: nothing personal reaches the terminal.
    for value in [
        "Visser",
        "de Vries",
        "Bakker",
        "Huisuitzetting",
        "Kerkstraat",
        "schuldsanering",
    ] {
        assert!(!out.contains(value), "{value} printed:\n{out}");
        assert!(!err.contains(value), "{value} logged:\n{err}");
    }

    // The monitor's summary, by the Transferpunt's own monitor over its data.
    let rows: Vec<Vec<&str>> = out
        .lines()
        .skip_while(|l| !l.starts_with("Uitstroommonitor"))
        .filter(|l| l.starts_with("  20"))
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        rows,
        vec![
            vec!["2025", "1", "1", "1", "1", "0"],
            vec!["2026", "1", "1", "0", "0", "1"],
        ],
        "{out}"
    );
    assert!(out.contains("    2025  GM0080 Leeuwarden: 1"), "{out}");
    assert!(out.contains("    2026  GM0074 Heerenveen: 1"), "{out}");
    assert!(
        out.contains("2025  corporatie:accolade  huurachterstand: 1"),
        "{out}"
    );
    assert!(out.contains("Woningaanbiedingen geweigerd door de cliënt: 1"));

    // Every node's werkplek with an account, and the monitor's analist.
    assert_eq!(out.matches("/werkplek\n").count(), PARTNERS.len(), "{out}");
    assert_eq!(
        out.matches("login demo, password").count(),
        PARTNERS.len(),
        "{out}"
    );
    assert!(
        out.contains("the Transferpunt's monitor: login analist"),
        "{out}"
    );

    // Every node's API with a token.
    assert_eq!(out.matches(" token wt1.").count(), PARTNERS.len(), "{out}");
    assert!(out.contains("/metrics"));
    assert!(
        out.contains(
            "Uitstroommonitor (the Transferpunt's page, with its token): http://127.0.0.1:"
        ),
        "{out}"
    );
    assert!(out.contains("/api/v1/monitor"), "{out}");
}

async fn get_metrics(router: axum::Router) -> (StatusCode, String, String) {
    let res = router
        .oneshot(Request::get("/metrics").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = res.status();
    let ct = res.headers()["content-type"].to_str().unwrap().to_string();
    let body = axum::body::to_bytes(res.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, ct, String::from_utf8(body.to_vec()).unwrap())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_report_the_node_and_its_federation() {
    let dir = tempfile::tempdir().unwrap();
    node::app::init(dir.path(), "gemeente:GM0080".parse().unwrap(), None)
        .await
        .unwrap();
    let (_, node) = node::app::open(dir.path()).await.unwrap();
    node.create_case().await.unwrap();

    // Without a federation; no token needed.
    let (status, ct, text) = get_metrics(node::api::router(node.clone(), 65536)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ct, node::metrics::CONTENT_TYPE);
    for line in [
        "weerthuis_info{partner=\"gemeente:GM0080\",version=\"0.1.0\"} 1",
        "weerthuis_database_up 1",
        "weerthuis_cases_stored 1",
        "weerthuis_federation_running 0",
    ] {
        assert!(text.lines().any(|l| l == line), "{line}:\n{text}");
    }

    // With a federation attached: every partner in the directory as a peer, none connected (the Transferpunt has
    // no endpoint), counters at zero.
    let now = OffsetDateTime::now_utc();
    let ca = FederationCa::create(
        "test",
        now - TimeDuration::days(1),
        now + TimeDuration::days(1),
    )
    .unwrap();
    let cert = ca
        .issue(
            &"gemeente:GM0080".parse().unwrap(),
            now - TimeDuration::days(1),
            now + TimeDuration::days(1),
        )
        .unwrap();
    let tls = TlsSetup::from_pem(
        &cert.cert_pem,
        &cert.key_pem,
        ca.cert_pem(),
        Admitted::default(),
    )
    .unwrap();
    let entry = |id: &str| DirectoryEntry {
        id: id.parse().unwrap(),
        name: id.into(),
        endpoint: None,
        contacts: vec![],
        werkgebied: vec![],
        bereikbaar: None,
        telefoon_24_uur: None,
    };
    let fed = node::sync::Federation::start(
        node.clone(),
        node::sync::FederationConfig {
            listen: "127.0.0.1:0".parse().unwrap(),
            tls,
            directory: Directory {
                version: 1,
                partners: vec![entry("gemeente:GM0080"), entry("transferpunt:sdf")],
                revoked: vec![],
            },
            signed_directory: None,
            faults: None,
            idle_close: node::sync::IDLE_CLOSE,
        },
    )
    .unwrap();
    let registry = Arc::new(node::metrics::Registry::new());
    registry.attach_federation(fed.probe());
    let router = node::api::router_with_metrics(node.clone(), 65536, registry.clone());
    let (_, _, text) = get_metrics(router.clone()).await;
    for line in [
        "weerthuis_federation_running 1",
        "weerthuis_peer_connected{peer=\"transferpunt:sdf\"} 0",
        "weerthuis_peers_connected 0",
        "weerthuis_sync_messages_sent_total 0",
        "weerthuis_sync_messages_refused_total 0",
        "# TYPE weerthuis_sync_messages_refused_total counter",
        "# TYPE weerthuis_sync_seconds_since_last_message gauge",
    ] {
        assert!(text.lines().any(|l| l == line), "{line}:\n{text}");
    }
    assert!(
        !text.contains("peer=\"gemeente:GM0080\""),
        "a node is not its own peer"
    );

    // After shutdown the probe reads nothing: the federation is reported as stopped.
    fed.shutdown().await;
    let (_, _, text) = get_metrics(router).await;
    assert!(text.contains("weerthuis_federation_running 0\n"), "{text}");
}

/// The shipped systemd unit runs `weerthuis run` as its own user, hardened, logging JSON.
#[test]
fn systemd_unit_runs_the_node_hardened() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../deploy/weerthuis.service");
    let unit = std::fs::read_to_string(&path).unwrap();
    let lines: BTreeSet<&str> = unit.lines().map(str::trim).collect();
    for line in [
        "ExecStart=/usr/local/bin/weerthuis run --dir /var/lib/weerthuis",
        "User=weerthuis",
        "Restart=on-failure",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ReadWritePaths=/var/lib/weerthuis",
        "PrivateTmp=yes",
        "ProtectHome=yes",
        "Environment=WEERTHUIS_LOG_FORMAT=json",
    ] {
        assert!(
            lines.contains(line),
            "{line} missing from {}",
            path.display()
        );
    }
}
