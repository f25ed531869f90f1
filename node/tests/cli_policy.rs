//! The `weerthuis policy` commands as a privacy officer runs them: through the real binary.

use std::process::Command;

fn weerthuis(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_weerthuis"))
        .args(args)
        .current_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
        .output()
        .expect("the weerthuis binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

const SHIPPED: &str = "policies/covenant/policy.toml";

fn write_temp(name: &str, text: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("weerthuis-cli-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join("policy.toml");
    std::fs::write(&p, text).unwrap();
    p
}

#[test]
fn check_accepts_the_shipped_policy_and_says_what_it_proved() {
    let (code, out, err) = weerthuis(&["policy", "check", SHIPPED]);
    assert_eq!(code, 0, "{err}");
    assert!(out.starts_with("OK: "), "{out}");
    assert!(
        out.contains("invariants") && out.contains("requests"),
        "{out}"
    );
}

#[test]
fn check_refuses_a_policy_sending_reden_dakloosheid_to_a_corporatie() {
    let shipped =
        std::fs::read_to_string(format!("{}/../{SHIPPED}", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let bad = shipped.replace(
        r#"fields = ["aanmeldbericht.*"]"#,
        r#"fields = ["aanmeldbericht.*", "registratie.reden_dakloosheid"]"#,
    );
    assert_ne!(bad, shipped, "the test must actually change the policy");
    let path = write_temp("dakloosheid", &bad);
    let (code, out, err) = weerthuis(&["policy", "check", path.to_str().unwrap()]);
    assert_ne!(code, 0, "{out}");
    assert!(
        err.contains("corporatie ziet nooit de reden van dakloosheid"),
        "{err}"
    );
    assert!(
        err.contains("Bijlage 1, 4a"),
        "the basis is in the message: {err}"
    );
    assert!(err.contains("registratie.reden_dakloosheid"), "{err}");
}

#[test]
fn check_points_at_the_line_of_an_unknown_field() {
    let text = "[policy]\nname = \"x\"\nversion = \"1\"\neffective_from = \"2026-01-01\"\n[retention]\nyears = 7\n\
                basis = \"b\"\n[[flows]]\nname = \"f\"\nfrom = \"zorgaanbieder\"\nto = \"transferpunt\"\n\
                fields = [\"registratie.bsnn\"]\npurpose = \"p\"\nbasis = \"b\"\n";
    let path = write_temp("unknown-field", text);
    let (code, _, err) = weerthuis(&["policy", "check", path.to_str().unwrap()]);
    assert_ne!(code, 0);
    assert!(
        err.contains("line 12") && err.contains("registratie.bsnn"),
        "{err}"
    );
}

#[test]
fn explain_reads_the_corporatie_rules_in_dutch() {
    let (code, out, err) = weerthuis(&["policy", "explain", SHIPPED, "--role", "corporatie"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("## Een woningcorporatie"), "{out}");
    assert!(
        out.contains(
            "De toegewezen woningcorporatie ontvangt van het Transferpunt het aanmeldbericht"
        ),
        "{out}"
    );
    assert!(
        out.contains("| Als | Van | Velden | Voorwaarden | Doel | Grondslag | Regel |"),
        "{out}"
    );
    assert!(
        !out.contains("## Het Transferpunt"),
        "only the role asked for"
    );
}

#[test]
fn why_names_the_invariant_that_forbids_and_the_flow_that_allows() {
    let (code, out, _) = weerthuis(&[
        "policy",
        "why",
        SHIPPED,
        "--role",
        "corporatie",
        "--relation",
        "toegewezen_corporatie",
        "--field",
        "registratie.reden_dakloosheid",
    ]);
    assert_eq!(code, 0);
    assert!(out.starts_with("NEE"), "{out}");
    assert!(
        out.contains("corporatie ziet nooit de reden van dakloosheid"),
        "{out}"
    );

    let (_, out, _) = weerthuis(&[
        "policy",
        "why",
        SHIPPED,
        "--role",
        "corporatie",
        "--relation",
        "toegewezen_corporatie",
        "--field",
        "aanmeldbericht.bsn",
    ]);
    assert!(out.starts_with("JA"), "{out}");
    assert!(
        out.contains("aanmeldbericht naar de toegewezen corporatie"),
        "{out}"
    );

    let (_, out, _) = weerthuis(&[
        "policy",
        "why",
        SHIPPED,
        "--role",
        "corporatie",
        "--relation",
        "toegewezen_corporatie",
        "--consent",
        "no",
        "--field",
        "aanmeldbericht.bsn",
    ]);
    assert!(
        out.starts_with("NEE") && out.contains("geen toestemming"),
        "{out}"
    );
}

#[test]
fn why_derives_the_facts_from_a_described_case() {
    let case = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/case_bemiddeling.json"
    );
    let ask = |partner: &str| {
        weerthuis(&[
            "policy",
            "why",
            SHIPPED,
            "--case",
            case,
            "--partner",
            partner,
            "--field",
            "aanmeldbericht.bsn",
        ])
    };
    let (code, out, err) = ask("corporatie:elkien");
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("JA — De toegewezen woningcorporatie"),
        "{out}"
    );
    let (_, out, _) = ask("corporatie:accolade");
    assert!(
        out.starts_with("NEE — Een eerder benaderde woningcorporatie"),
        "{out}"
    );
    let (_, out, _) = ask("corporatie:dynhus");
    assert!(
        out.starts_with("NEE — Een woningcorporatie zonder betrokkenheid"),
        "{out}"
    );
}

#[test]
fn diff_is_exact_and_can_gate_new_disclosures() {
    let shipped =
        std::fs::read_to_string(format!("{}/../{SHIPPED}", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let wider = shipped.replace(
        r#""beoordeling.status", "beoordeling.gekozen_uitstroomgemeente""#,
        r#""beoordeling.status", "beoordeling.datum_ontvangen", "beoordeling.gekozen_uitstroomgemeente""#,
    );
    assert_ne!(wider, shipped);
    let path = write_temp("wider", &wider);
    let (code, out, _) = weerthuis(&[
        "policy",
        "diff",
        SHIPPED,
        path.to_str().unwrap(),
        "--deny-new",
    ]);
    assert_eq!(code, 1, "a new disclosure fails the gate: {out}");
    assert!(out.contains("gemeente (uitstroomgemeente)"), "{out}");
    assert!(out.contains("+ nieuw toegestaan"), "{out}");
    assert!(out.contains("beoordeling.datum_ontvangen"), "{out}");
    // Four phases × consent only × both voorzieningen.
    assert!(out.contains("8 verzoek(en) gewijzigd"), "{out}");

    let (code, out, _) = weerthuis(&["policy", "diff", SHIPPED, SHIPPED, "--deny-new"]);
    assert_eq!(code, 0);
    assert!(out.contains("Geen verschil"), "{out}");
}
