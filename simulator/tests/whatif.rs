//! The what-if: the same report for the same seed, a blocking finding for a proposal that breaks the covenant, and
//! zero findings with the exact difference for harmless ones.

use std::process::Command;

use policies::{Policy, Role};
use simulator::federation;
use simulator::population::{self, Scale};
use simulator::whatif::{self, Direction, Grade};

const COVENANT: &str = include_str!("../../policies/covenant/policy.toml");

fn edit(from: &str, to: &str) -> String {
    assert!(COVENANT.contains(from), "the covenant policy has {from:?}");
    COVENANT.replacen(from, to, 1)
}

/// The proposal a privacy officer must stop: the reden van dakloosheid in the corporatie's aanmeldbericht.
fn reden_to_corporatie() -> String {
    edit(
        r#"fields = ["aanmeldbericht.*"]"#,
        r#"fields = ["aanmeldbericht.*", "registratie.reden_dakloosheid"]"#,
    )
}

#[test]
fn same_seed_gives_byte_identical_reports_and_a_blocking_finding_fails_the_command() {
    let dir = tempfile::tempdir().unwrap();
    let current = dir.path().join("current.toml");
    let proposed = dir.path().join("proposed.toml");
    std::fs::write(&current, COVENANT).unwrap();
    std::fs::write(&proposed, reden_to_corporatie()).unwrap();
    let run = |out: &str| {
        let status = Command::new(env!("CARGO_BIN_EXE_weerthuis-sim"))
            .args(["what-if", "--seed", "5", "--every", "4", "--current"])
            .arg(&current)
            .arg("--proposed")
            .arg(&proposed)
            .arg("--out")
            .arg(dir.path().join(out))
            .stdout(std::process::Stdio::null())
            .status()
            .unwrap();
        let md = std::fs::read(dir.path().join(out).join("wat-als.md")).unwrap();
        let html = std::fs::read(dir.path().join(out).join("wat-als.html")).unwrap();
        (status, md, html)
    };
    // Two processes: hash maps are seeded differently in each, so this also shows no order leaks into the report.
    let (s1, md1, html1) = run("a");
    let (s2, md2, html2) = run("b");
    assert_eq!(s1.code(), Some(1), "a blocking finding exits with status 1");
    assert_eq!(s2.code(), Some(1));
    assert_eq!(md1, md2, "same seed, same Markdown, byte for byte");
    assert_eq!(html1, html2, "same seed, same HTML, byte for byte");
    let md = String::from_utf8(md1).unwrap();
    assert!(md.contains(
        "[blokkerend] Invariant geschonden: corporatie ziet nooit de reden van dakloosheid"
    ));
    assert!(md.contains("**Blokkerend**"));
    // No value of a field in the report: the synthetic reason, names and BSNs stay out.
    assert!(!md.contains("Huisuitzetting na relatiebreuk"));
    assert!(!md.contains(&population::bsn(1)));
    let html = String::from_utf8(html1).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>") && html.contains("lang=\"nl\""));
}

#[test]
fn reden_dakloosheid_to_corporaties_is_blocking_with_rule_fix_and_example() {
    let current = Policy::covenant();
    let proposed = Policy::parse(&reden_to_corporatie()).unwrap();
    let pop = population::generate(Scale::Friesland, 3).sample(3);
    let a = whatif::analyse(&current, &proposed, &pop, &|_, _| {});
    assert!(a.blocking());
    let blocking: Vec<_> = a
        .findings
        .iter()
        .filter(|f| f.grade == Grade::Blocking)
        .collect();
    assert_eq!(blocking.len(), 1, "{blocking:#?}");
    let f = blocking[0];
    assert!(
        f.rule
            .contains("aanmeldbericht naar de toegewezen corporatie")
    );
    assert!(f.fix.contains("registratie.reden_dakloosheid"));
    assert!(f.example.starts_with("Cliënt "), "{}", f.example);
    assert!(f.example.contains("de toegewezen woningcorporatie"));
    // Newly disclosed: exactly the reden, to corporaties, once per corporatie that received an aanmeldbericht.
    let newly: Vec<_> = a
        .changes
        .iter()
        .filter(|(k, _)| k.direction == Direction::Newly)
        .collect();
    assert_eq!(newly.len(), 1);
    let (key, stats) = newly[0];
    assert_eq!(key.role, Role::Corporatie);
    assert_eq!(key.field.qualified_name(), "registratie.reden_dakloosheid");
    let aanmeldberichten: usize = pop
        .clients
        .iter()
        .flat_map(|c| &c.events)
        .filter(|e| e.kind == policies::DocumentKind::Aanmeldbericht)
        .count();
    assert_eq!(stats.disclosures, aanmeldberichten);
    assert!(a.findings.iter().any(|f| f.grade == Grade::Risk));
}

#[test]
fn rewording_and_reordering_a_policy_changes_nothing() {
    // Another version, a reworded purpose, two flows swapped: harmless.
    let mut text = edit(
        "purpose = \"bemiddeling naar passende woonruimte\"",
        "purpose = \"bemiddeling naar een passende woning\"",
    );
    let a_start = text
        .find("[[flows]]\nname = \"aanmeldbericht naar de toegewezen corporatie\"")
        .unwrap();
    let a_end = a_start + text[a_start..].find("\n# ---").unwrap();
    let block = text[a_start..a_end].to_string();
    text.replace_range(a_start..a_end, "");
    text.push('\n');
    text.push_str(&block);
    let proposed = Policy::load(&text).expect("still a valid policy");
    let current = Policy::covenant();
    let pop = population::generate(Scale::Friesland, 4).sample(4);
    let a = whatif::analyse(&current, &proposed, &pop, &|_, _| {});
    assert!(a.findings.is_empty(), "{:#?}", a.findings);
    assert!(a.changes.is_empty());
    assert!(a.diff.entries.is_empty());
    assert_eq!(a.totals.0, a.totals.1);
    assert!(a.totals.0 > 10_000, "{:?}", a.totals);
}

#[test]
fn narrowing_a_flow_shows_zero_findings_and_exactly_the_disclosures_that_stop() {
    let text = edit(
        "\"registratie.achternaam_voorletters\", \"registratie.bsn\", \"registratie.geboortedatum\",\n  \"registratie.herkomstgemeente\", \"registratie.soort_voorziening\", \"registratie.start_verblijf_opvang\",\n  \"registratie.locatie_opvang\"",
        "\"registratie.achternaam_voorletters\", \"registratie.bsn\",\n  \"registratie.herkomstgemeente\", \"registratie.soort_voorziening\", \"registratie.start_verblijf_opvang\",\n  \"registratie.locatie_opvang\"",
    );
    let proposed = Policy::load(&text).expect("a narrower policy loads");
    let current = Policy::covenant();
    let pop = population::generate(Scale::Friesland, 6).sample(4);
    let a = whatif::analyse(&current, &proposed, &pop, &|_, _| {});
    assert!(a.findings.is_empty(), "{:#?}", a.findings);
    // The exact difference over the whole space: the verblijfgemeente no longer receives the geboortedatum from
    // the betrokken zorgaanbieder, with consent, in the flow's four phases, for BW and MO.
    assert!(!a.diff.entries.is_empty());
    for e in &a.diff.entries {
        assert!(!e.added);
        assert_eq!(e.role, Role::Gemeente);
        assert_eq!(e.relation, policies::Relation::Verblijfgemeente);
        assert_eq!(e.field.qualified_name(), "registratie.geboortedatum");
        assert_eq!(e.contexts.len(), 8, "{}", e.contexts_summary());
    }
    // Every change is the geboortedatum to a gemeente no longer made, and the count matches two plain runs.
    assert!(a.changes.keys().all(|k| k.direction != Direction::Newly
        && k.role == Role::Gemeente
        && k.field.qualified_name() == "registratie.geboortedatum"));
    let count = |policy: &Policy| {
        federation::run(policy, &pop, &|_, _| {})
            .iter()
            .flat_map(|o| &o.per_flow)
            .filter(|((_, role, field), _)| {
                *role == Role::Gemeente && field.qualified_name() == "registratie.geboortedatum"
            })
            .map(|(_, n)| *n as usize)
            .sum::<usize>()
    };
    // Clients whose herkomstgemeente is unknown: their verblijfgemeente might also be their herkomstgemeente, which
    // the policy may treat differently, so those changes are uncertain, and told so.
    let uncertain: Vec<_> = a
        .changes
        .iter()
        .filter(|(k, _)| k.direction == Direction::Uncertain)
        .collect();
    assert!(!uncertain.is_empty());
    let story = whatif::story(
        &uncertain[0].1.example,
        Direction::Uncertain,
        &uncertain[0].0.flow,
        &pop,
    );
    assert!(story.contains("nog geen herkomstgemeente"), "{story}");
    let stopped: usize = a.changes.values().map(|s| s.disclosures).sum();
    assert_eq!(stopped, count(&current) - count(&proposed));
    assert!(stopped > 300, "{stopped}");
}

#[test]
fn a_proposal_that_does_not_parse_is_an_error_naming_the_place_not_a_finding() {
    let dir = tempfile::tempdir().unwrap();
    let proposed = dir.path().join("proposed.toml");
    std::fs::write(
        &proposed,
        edit(
            r#"fields = ["aanmeldbericht.*"]"#,
            r#"fields = ["aanmeldbericht.bestaat_niet"]"#,
        ),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_weerthuis-sim"))
        .args([
            "what-if",
            "--current",
            "../policies/covenant/policy.toml",
            "--proposed",
        ])
        .arg(&proposed)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2), "2: the command could not run");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("proposed.toml"), "{err}");
    assert!(err.contains("aanmeldbericht.bestaat_niet"), "{err}");
    assert!(out.stdout.is_empty());
}
