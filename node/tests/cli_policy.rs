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

/// A Transferpunt node's data directory with a certificate and key from a fresh federation CA.
fn transferpunt_dir(root: &std::path::Path) -> std::path::PathBuf {
    let ok = |args: &[&str]| {
        let (code, out, err) = weerthuis(args);
        assert_eq!(code, 0, "weerthuis {args:?}: {out}{err}");
    };
    let ca = root.join("ca");
    let tp = root.join("tp");
    ok(&["ca", "create", "--out", ca.to_str().unwrap()]);
    ok(&[
        "init",
        "--dir",
        tp.to_str().unwrap(),
        "--partner",
        "transferpunt:sdf",
    ]);
    ok(&[
        "ca",
        "issue",
        "--ca",
        ca.to_str().unwrap(),
        "--partner",
        "transferpunt:sdf",
        "--out",
        tp.to_str().unwrap(),
    ]);
    let mut cfg = std::fs::read_to_string(tp.join("weerthuis.toml")).unwrap();
    cfg.push_str(
        "\n[federation]\nlisten = \"127.0.0.1:0\"\ncertificate = \"node.pem\"\nkey = \"node.key\"\n\
         ca = \"federation-ca.pem\"\ndirectory = \"directory.json\"\n",
    );
    std::fs::write(tp.join("weerthuis.toml"), cfg).unwrap();
    tp
}

/// Sign `text` as the Transferpunt under `sequence`; the path of the signed file.
fn sign(root: &std::path::Path, tp: &std::path::Path, text: &str, sequence: &str) -> String {
    let file = root.join(format!("policy-{sequence}-{}.toml", text.len()));
    std::fs::write(&file, text).unwrap();
    let signed = root.join(format!("policy-{sequence}-{}.signed.json", text.len()));
    let (code, out, err) = weerthuis(&[
        "policy",
        "sign",
        file.to_str().unwrap(),
        "--key",
        tp.join("node.key").to_str().unwrap(),
        "--sequence",
        sequence,
        "--out",
        signed.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains(&format!("as sequence {sequence}")), "{out}");
    signed.to_str().unwrap().to_string()
}

#[test]
fn pending_shows_in_dutch_what_this_node_would_newly_disclose_and_accept_puts_it_on_record() {
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    let tp = transferpunt_dir(r);
    let dir = tp.to_str().unwrap();
    let shipped =
        std::fs::read_to_string(format!("{}/../{SHIPPED}", env!("CARGO_MANIFEST_DIR"))).unwrap();
    // The Transferpunt would also send the uitstroomgemeente the date it received the request.
    let wider = shipped
        .replace(
            r#""beoordeling.status", "beoordeling.gekozen_uitstroomgemeente""#,
            r#""beoordeling.status", "beoordeling.datum_ontvangen", "beoordeling.gekozen_uitstroomgemeente""#,
        )
        .replace("version = \"2026.1\"", "version = \"2026.2\"");
    assert!(wider.contains("datum_ontvangen") && wider.contains("2026.2"));
    let signed = sign(r, &tp, &wider, "1");
    let (code, out, err) = weerthuis(&["policy", "publish", "--dir", dir, &signed]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("sequence 1"), "{out}");

    let (code, out, err) = weerthuis(&["policy", "pending", "--dir", dir]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Nu in werking: versie 2026.1"), "{out}");
    assert!(
        out.contains("Versie 2026.2 (volgnummer 1)") && out.contains("WACHT OP UW AKKOORD"),
        "{out}"
    );
    assert!(
        out.contains("gemeente (uitstroomgemeente) — ontvangen van transferpunt")
            && out.contains("+ nieuw toegestaan")
            && out.contains("beoordeling.datum_ontvangen"),
        "the diff, restricted to what the Transferpunt sends: {out}"
    );
    assert!(!out.contains("niet meer toegestaan"), "{out}");
    assert!(out.contains("weerthuis policy accept 1"), "{out}");
    assert!(out.contains("1 versie(s) wacht(en)"), "{out}");

    let (code, out, err) =
        weerthuis(&["policy", "accept", "--dir", dir, "2026.2", "--by", "FG SDF"]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.contains("Aanvaard: beleidsversie 2026.2 (volgnummer 1) door FG SDF"),
        "{out}"
    );
    let (_, out, _) = weerthuis(&["policy", "accept", "--dir", dir, "1"]);
    assert!(out.contains("was al aanvaard"), "{out}");
    let (_, out, _) = weerthuis(&["policy", "pending", "--dir", dir]);
    assert!(
        out.contains("aanvaard door FG SDF") && out.contains("0 versie(s) wacht(en)"),
        "{out}"
    );
    // On record: the audit log still verifies, with the acceptance in it.
    let (code, out, err) = weerthuis(&["audit", "verify", "--dir", dir]);
    assert_eq!(code, 0, "{out}{err}");
    let db = std::fs::read(tp.join("node.db")).unwrap_or_default();
    let wal = std::fs::read(tp.join("node.db-wal")).unwrap_or_default();
    let text = String::from_utf8_lossy(&[db, wal].concat()).into_owned();
    assert!(
        text.contains("aanvaard door de privacy officer (FG SDF)"),
        "in the audit log"
    );

    let (code, _, err) = weerthuis(&["policy", "accept", "--dir", dir, "2099.9"]);
    assert_ne!(code, 0);
    assert!(
        err.contains("no policy version with label or sequence \"2099.9\""),
        "{err}"
    );
}

#[test]
fn publish_refuses_a_sequence_that_is_not_new_and_revoke_takes_a_version_out_for_good() {
    let root = tempfile::tempdir().unwrap();
    let r = root.path();
    let tp = transferpunt_dir(r);
    let dir = tp.to_str().unwrap();
    let shipped =
        std::fs::read_to_string(format!("{}/../{SHIPPED}", env!("CARGO_MANIFEST_DIR"))).unwrap();
    let v =
        |label: &str| shipped.replace("version = \"2026.1\"", &format!("version = \"{label}\""));
    for (label, seq) in [("2026.2", "1"), ("2026.3", "3")] {
        let signed = sign(r, &tp, &v(label), seq);
        let (code, _, err) = weerthuis(&["policy", "publish", "--dir", dir, &signed]);
        assert_eq!(code, 0, "{err}");
    }
    // Another text under sequence 3, and sequence 2 after 3: both refused, naming the numbers.
    let signed = sign(r, &tp, &format!("{}\n", v("2026.3b")), "3");
    let (code, _, err) = weerthuis(&["policy", "publish", "--dir", dir, &signed]);
    assert_ne!(code, 0);
    assert!(
        err.contains("`sequence` 3 already belongs to version 2026.3"),
        "{err}"
    );
    let signed = sign(r, &tp, &format!("{}\n\n", v("2026.1b")), "2");
    let (code, _, err) = weerthuis(&["policy", "publish", "--dir", dir, &signed]);
    assert_ne!(code, 0);
    assert!(
        err.contains("`sequence` is 2, not above sequence 3"),
        "both numbers: {err}"
    );
    let (code, _, err) = weerthuis(&[
        "policy",
        "sign",
        SHIPPED,
        "--key",
        tp.join("node.key").to_str().unwrap(),
        "--sequence",
        "0",
        "--out",
        r.join("x.json").to_str().unwrap(),
    ]);
    assert_ne!(code, 0);
    assert!(err.contains("`sequence` is 0"), "{err}");

    let (code, out, err) = weerthuis(&["policy", "revoke", "--dir", dir, "--sequence", "3"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Revoked version 2026.3 (sequence 3)"), "{out}");
    let (_, out, _) = weerthuis(&["policy", "pending", "--dir", dir]);
    assert!(
        out.contains("Ingetrokken (nooit meer in werking): volgnummer 3")
            && !out.contains("Versie 2026.3"),
        "{out}"
    );
    let (code, _, err) = weerthuis(&["policy", "accept", "--dir", dir, "3"]);
    assert_ne!(code, 0);
    assert!(err.contains("2026.3 (sequence 3) is revoked"), "{err}");
    let (code, _, err) = weerthuis(&["policy", "revoke", "--dir", dir, "--sequence", "9"]);
    assert_ne!(code, 0);
    assert!(err.contains("\"9\""), "{err}");

    // Only the Transferpunt revokes.
    let gm = r.join("gm");
    let (code, _, err) = weerthuis(&[
        "init",
        "--dir",
        gm.to_str().unwrap(),
        "--partner",
        "gemeente:GM0080",
    ]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = weerthuis(&[
        "policy",
        "revoke",
        "--dir",
        gm.to_str().unwrap(),
        "--sequence",
        "1",
    ]);
    assert_ne!(code, 0);
    assert!(err.contains("only the Transferpunt revokes"), "{err}");
}
