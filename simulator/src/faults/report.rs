//! The Markdown report of a run: the same bytes for the same seed and kind when the run passes.

use std::fmt::Write as _;

use node::scenario;
use serde_json::Value;

use super::cli::replay_command;
use super::params::per_mille;
use super::runner::Runner;

impl Runner {
    pub(super) fn report(
        &self,
        converged: bool,
        leaks: &[String],
        digest: &[(String, usize, Vec<String>, u64)],
        passed: bool,
    ) -> String {
        let p = &self.params;
        let mut r = String::new();
        let _ = writeln!(
            r,
            "# Fault injection: seed {}, {}\n\nResult: **{}**. Replay: `{}`\n",
            p.seed,
            p.kind.name(),
            if passed { "passed" } else { "FAILED" },
            replay_command(p.seed, p.kind)
        );
        let _ = writeln!(r, "## Faults drawn from the seed\n");
        if let Some(d) = &p.disruption {
            let _ = writeln!(
                r,
                "- {}: from before step {}, for at most {} steps, held {} ms after the last step it spans",
                d.describe(),
                p.from_step + 1,
                p.max_steps,
                p.hold.as_millis()
            );
        }
        if p.lossy() {
            let _ = writeln!(
                r,
                "- every socket, each datagram: lost {}, duplicated {}, reordered {} (its own PCG stream per \
                 node and incarnation)",
                per_mille(p.loss),
                per_mille(p.duplication),
                per_mille(p.reordering)
            );
        }
        let _ = writeln!(r, "\n## Scenario\n");
        let _ = writeln!(r, "| step | case | at | what |\n|---:|---:|---|---|");
        for (i, (case, at, what)) in self.done.iter().enumerate() {
            let _ = writeln!(r, "| {} | {case} | `{at}` | {what} |", i + 1);
        }
        if !self.log.is_empty() {
            let _ = writeln!(r, "\nDisruption:\n");
            for l in &self.log {
                let _ = writeln!(r, "- {l}");
            }
        }
        let _ = writeln!(r, "\n## Outcome\n");
        let _ = writeln!(r, "- converged: {}", if converged { "yes" } else { "no" });
        if leaks.is_empty() {
            let _ = writeln!(r, "- leaks: none");
        } else {
            let _ = writeln!(r, "- leaks:");
            for l in leaks {
                let _ = writeln!(r, "  - {l}");
            }
        }
        for e in &self.errors {
            let _ = writeln!(r, "- error: {e}");
        }
        let _ = writeln!(
            r,
            "\n## Canaries: who may hold them (from the policy)\n\n| case | canary | may be held by |\n|---:|---|---|"
        );
        for case in 1..=scenario::CASES {
            for (label, value) in scenario::canaries(p.seed)[case - 1].labelled() {
                let (may, _) = self.models[case - 1].canary(value);
                let _ = writeln!(
                    r,
                    "| {case} | {label} | {} |",
                    may.iter()
                        .map(|m| format!("`{m}`"))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
            }
        }
        if !digest.is_empty() {
            let _ = writeln!(
                r,
                "\n## Holdings after convergence\n\n| node | case | sections | content digest |\n|---|---:|---|---|"
            );
            for (id, case, sections, d) in digest {
                let _ = writeln!(
                    r,
                    "| `{id}` | {case} | {} | `{d:016x}` |",
                    if sections.is_empty() {
                        "—".to_string()
                    } else {
                        sections.join(", ")
                    }
                );
            }
        }
        r
    }
}

/// JSON with object keys in order, whatever serde_json's map keeps.
pub(super) fn canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(m) => {
            out.push('{');
            let mut keys: Vec<&String> = m.keys().collect();
            keys.sort();
            for k in keys {
                out.push_str(&Value::from(k.as_str()).to_string());
                out.push(':');
                canonical(&m[k], out);
                out.push(',');
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for x in a {
                canonical(x, out);
                out.push(',');
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

/// FNV-1a, 64 bits: a stable digest (the same on every machine and in every version).
pub(super) fn fnv(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}
