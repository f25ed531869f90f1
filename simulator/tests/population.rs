//! The synthetic population is valid data: every write is accepted by the node's own write path under the shipped
//! covenant policy, and the same seed gives the same population.

use policies::Policy;
use simulator::federation;
use simulator::population::{self, Scale};

#[test]
fn every_write_of_the_population_is_accepted_under_the_covenant() {
    let pop = population::generate(Scale::Friesland, 7);
    let policy = Policy::covenant();
    let outcomes = federation::run(&policy, &pop, &|_, _| {});
    let mut refused = Vec::new();
    for (client, o) in pop.clients.iter().zip(&outcomes) {
        for r in &o.refused {
            let e = &client.events[r.event];
            refused.push(format!(
                "client {} {:?} {} {} by {}: {}",
                client.number, client.path, e.kind, e.instance, e.author, r.reason
            ));
        }
    }
    assert!(
        refused.is_empty(),
        "{} refused writes, the first:\n{}",
        refused.len(),
        refused
            .iter()
            .take(15)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n")
    );
    let events: usize = pop.clients.iter().map(|c| c.events.len()).sum();
    assert!(events > 2_000, "{events} events");
}

#[test]
fn the_transferpunts_monitor_reproduces_the_evaluations_figures() {
    let pop = population::generate(Scale::Friesland, 11);
    let policy = Policy::covenant();
    let outcomes = federation::run(&policy, &pop, &|_, _| {});
    let tp: Vec<_> = outcomes.into_iter().map(|o| o.transferpunt).collect();
    let rows = simulator::calibration::calibrate(&pop, &tp);
    for r in &rows {
        eprintln!(
            "{} {:<32} target {:>8.3} simulated {:?} met {}",
            r.year,
            r.figure,
            r.target,
            r.simulated,
            r.met()
        );
    }
    assert_eq!(rows.len(), 3 * 4 + 2 * 3);
    let failed: Vec<_> = rows.iter().filter(|r| !r.met()).collect();
    assert!(failed.is_empty(), "outside tolerance: {failed:#?}");
}
