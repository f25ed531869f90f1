//! The conformance oracle ([`simulator::oracle`]): a population played through seven real nodes with the oracle
//! after every event, a planted leak it must find exactly, and rogue partners of every role whose attempts it
//! judges.

use std::time::{Duration, Instant};

use simulator::oracle::{self, Oracle};
use simulator::population;

const QUIET: Duration = Duration::from_millis(700);
const LIMIT: Duration = Duration::from_secs(30);

/// The real check: after every event no node holds a value the policy does not let it hold. On the code before
/// the policy-enforcement fix this fails, listing the leaks.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_node_ever_holds_a_value_the_policy_does_not_let_it_hold() {
    let started = Instant::now();
    let mut all = Vec::new();
    let mut coverage = Vec::new();
    for seed in [1, 2] {
        let pop = population::oracle(seed, 3);
        let mut oracle = Oracle::covenant();
        let played = oracle::play(&pop, &mut oracle, QUIET, LIMIT)
            .await
            .unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        eprintln!(
            "seed {seed}: {} clients, {} events, {} refused, {} unsettled, {} values checked, {} violations, {:?}",
            played.clients,
            played.events,
            played.refused.len(),
            played.unsettled,
            played.values,
            played.violations.len(),
            started.elapsed()
        );
        for r in &played.refused {
            eprintln!("refused: {r}");
        }
        eprintln!("{}", played.coverage);
        assert!(played.refused.is_empty(), "{:#?}", played.refused);
        assert!(played.values > 1_000, "{played:?}");
        all.extend(played.violations.iter().map(|f| format!("seed {seed} {f}")));
        coverage.push(played.coverage);
    }
    for v in &all {
        eprintln!("{v}");
    }
    // Over the seeds, every flow and every write rule of the covenant was exercised.
    let missing: Vec<String> = coverage[0]
        .missing()
        .into_iter()
        .filter(|m| coverage.iter().all(|c| c.missing().contains(m)))
        .collect();
    assert!(missing.is_empty(), "never exercised: {missing:#?}");
    assert!(all.is_empty(), "{} violations:\n{}", all.len(), all.join("\n"));
}
