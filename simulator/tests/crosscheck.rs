//! The in-memory federation against real nodes: after every event of every client, each of seven real nodes
//! (SQLite, certificates, QUIC on 127.0.0.1) holds exactly what the simulation says — and the check notices when
//! they differ.

use std::time::Duration;

use policies::Policy;
use simulator::crosscheck;
use simulator::population::{self, Scale};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn real_nodes_hold_exactly_what_the_simulation_says_after_every_event() {
    let pop = population::generate(Scale::Demo, 2).sample(3);
    let checked = crosscheck::check(&pop, &Policy::covenant(), Duration::from_secs(60))
        .await
        .unwrap_or_else(|m| panic!("{m}\nreplay: weerthuis-sim crosscheck --seed 2 --every 3"));
    assert_eq!(checked.clients, pop.clients.len());
    assert!(checked.events > 60, "{checked:?}");
    assert_eq!(checked.comparisons, checked.events * 7);
    // The conformance oracle ran after every event too; what it finds is asserted in tests/oracle.rs.
    eprint!("{}", checked.coverage);
    for v in &checked.violations {
        eprintln!("oracle: {v}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_simulation_that_differs_from_the_nodes_is_caught() {
    // The simulation believes the verblijfgemeente no longer gets the geboortedatum; the nodes still send it.
    let covenant = include_str!("../../policies/covenant/policy.toml");
    let from = "\"registratie.achternaam_voorletters\", \"registratie.bsn\", \"registratie.geboortedatum\",";
    assert!(covenant.contains(from));
    let narrowed = Policy::load(&covenant.replacen(
        from,
        "\"registratie.achternaam_voorletters\", \"registratie.bsn\",",
        1,
    ))
    .unwrap();
    let pop = population::generate(Scale::Demo, 2).sample(3);
    let m = crosscheck::check(&pop, &narrowed, Duration::from_secs(3))
        .await
        .expect_err("the nodes hold a field the simulation does not");
    assert!(m.detail.contains("gemeente:"), "{m}");
    assert!(m.detail.contains("geboortedatum"), "{m}");
}
