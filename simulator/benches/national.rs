//! A national year against Friesland's three years, in one run: wall time, clients and plans per second, peak
//! memory. `cargo bench -p simulator --bench national` (a bench command, not criterion: one national run takes tens
//! of seconds, and what matters is that one run fits in a minute on a 2-core machine).

use std::time::Instant;

use policies::Policy;
use simulator::federation;
use simulator::population::{self, Scale};

fn peak_rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
        })
        .map_or(f64::NAN, |kib| kib / 1024.0)
}

fn main() {
    // `cargo bench` passes `--bench`; a filter argument is not used.
    let policy = Policy::covenant();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("threads: {threads}");
    for scale in [Scale::Friesland, Scale::National] {
        let t = Instant::now();
        let pop = population::generate(scale, 1);
        let generated = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let outcomes = federation::run(&policy, &pop, &|_, _| {});
        let ran = t.elapsed().as_secs_f64();
        let events: usize = pop.clients.iter().map(|c| c.events.len()).sum();
        let plans: usize = outcomes.iter().map(|o| o.plans).sum();
        let disclosures: usize = outcomes.iter().map(|o| o.disclosures()).sum();
        println!(
            "{:<9} clients {:>6}  events {:>7}  plans {:>9}  disclosures {:>9}  generate {:>5.2} s  run {:>6.2} s  \
             {:>7.0} clients/s  {:>7.0} plans/s  {:>5.1} µs/plan  peak RSS {:>6.1} MiB",
            scale.label_nl(),
            pop.clients.len(),
            events,
            plans,
            disclosures,
            generated,
            ran,
            pop.clients.len() as f64 / ran,
            plans as f64 / ran,
            ran * 1e6 * threads as f64 / plans as f64,
            peak_rss_mib()
        );
    }
}
