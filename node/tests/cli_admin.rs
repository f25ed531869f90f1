//! The operator's commands through the real binary: init, users, import, case list/show, audit verify — and the
//! audit verify that catches a changed entry and entries cut from the end.

use std::path::Path;
use std::process::Command;

fn weerthuis(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_weerthuis"))
        .args(args)
        .env_remove("WEERTHUIS_DIR")
        .output()
        .expect("the weerthuis binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    )
}

fn ok(args: &[&str]) -> String {
    let (code, out, err) = weerthuis(args);
    assert_eq!(code, 0, "weerthuis {args:?} failed:\n{out}\n{err}");
    out
}

fn fixture_case() -> serde_json::Value {
    serde_json::from_str(include_str!("fixtures/case_bemiddeling.json")).unwrap()
}

/// A case file a zorgaanbieder moving over from e-mail and Excel would have: its own forms only.
fn zorgaanbieder_case(bsn: &str) -> String {
    let fixture = fixture_case();
    let mut reg = fixture["registratie"].clone();
    reg["bsn"] = bsn.into();
    serde_json::json!({
        "registratie": reg,
        "aanmelding": {"achternaam_voorletters": "Jansen, P.", "datum_aanmelding": "2025-09-10",
            "inschrijvingen_woningcorporaties": [
                {"corporatie": "Elkien", "datum_inschrijving": "2025-09-02"},
                {"corporatie": "WoonFriesland", "datum_inschrijving": "2025-09-03"}]},
        "bemiddelingsverzoek": fixture["bemiddelingsverzoek"],
    })
    .to_string()
}

fn dir_arg(p: &Path) -> String {
    p.to_str().unwrap().to_string()
}

#[test]
fn init_users_import_show_and_verify() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = dir_arg(&tmp.path().join("node"));
    let out = ok(&["init", "--dir", &dir, "--partner", "zorgaanbieder:kwadrant"]);
    assert!(
        out.contains("Initialised node zorgaanbieder:kwadrant"),
        "{out}"
    );
    let (code, _, err) = weerthuis(&["init", "--dir", &dir, "--partner", "zorgaanbieder:kwadrant"]);
    assert_ne!(code, 0, "a second init must not overwrite a node");
    assert!(err.contains("refusing to overwrite"), "{err}");

    let out = ok(&[
        "user",
        "add",
        "--dir",
        &dir,
        "--name",
        "Anna de Vries",
        "--purpose",
        "begeleider",
    ]);
    let token = out.lines().last().unwrap();
    assert!(token.starts_with("wt1."), "{out}");
    let list = ok(&["user", "list", "--dir", &dir]);
    assert!(
        list.contains("Anna de Vries") && !list.contains(token),
        "tokens are never listed: {list}"
    );

    let good = tmp.path().join("jansen.json");
    std::fs::write(&good, zorgaanbieder_case("123456782")).unwrap();
    let bad = tmp.path().join("fout.json");
    std::fs::write(&bad, zorgaanbieder_case("123456789")).unwrap();
    let (code, out, _) = weerthuis(&[
        "import",
        "--dir",
        &dir,
        good.to_str().unwrap(),
        bad.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "one file refused: {out}");
    assert!(
        out.contains("case ") && out.contains("with 3 form(s)"),
        "{out}"
    );
    assert!(
        out.contains("NOT imported") && out.contains("bsn_elfproef"),
        "{out}"
    );
    assert!(out.contains("1 imported, 1 refused"), "{out}");

    let list = ok(&["case", "list", "--dir", &dir]);
    assert_eq!(
        list.lines().count(),
        1,
        "the refused file left no case behind: {list}"
    );
    let id = list.split('\t').next().unwrap();
    assert!(list.contains("bemiddeling"), "{list}");

    let shown = ok(&["case", "show", "--dir", &dir, id]);
    let shown: serde_json::Value = serde_json::from_str(&shown).unwrap();
    assert_eq!(shown["formulieren"]["registratie"]["bsn"], "123456782");
    assert_eq!(shown["casus"]["fase"], "bemiddeling");
    assert_eq!(
        shown["casus"]["voorwaarden_bemiddeling"][2]["status"], "voldaan",
        "two inschrijvingen"
    );

    let out = ok(&["audit", "verify", "--dir", &dir]);
    assert!(out.starts_with("OK: audit chain intact"), "{out}");
    let head = out
        .lines()
        .next()
        .unwrap()
        .split("head ")
        .nth(1)
        .unwrap()
        .trim()
        .to_string();
    ok(&["audit", "verify", "--dir", &dir, "--expect-head", &head]);
}

async fn tamper(db: &Path, sql: &'static str) {
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}", db.display()))
        .await
        .unwrap();
    sqlx::raw_sql("DROP TRIGGER audit_log_no_update; DROP TRIGGER audit_log_no_delete;")
        .execute(&pool)
        .await
        .unwrap();
    sqlx::raw_sql(sql).execute(&pool).await.unwrap();
    pool.close().await;
}

#[tokio::test]
async fn audit_verify_finds_a_changed_entry_and_a_cut_tail() {
    for (sql, expect) in [
        (
            "UPDATE audit_log SET entry = replace(entry, 'write', 'read') WHERE seq = 2",
            "entry 2 was changed",
        ),
        (
            "DELETE FROM audit_log WHERE seq = (SELECT max(seq) FROM audit_log)",
            "does not contain the head",
        ),
    ] {
        let tmp = tempfile::tempdir().unwrap();
        let dir = dir_arg(&tmp.path().join("node"));
        ok(&["init", "--dir", &dir, "--partner", "zorgaanbieder:kwadrant"]);
        for bsn in ["123456782", "999993653"] {
            let f = tmp.path().join(format!("{bsn}.json"));
            std::fs::write(&f, zorgaanbieder_case(bsn)).unwrap();
            ok(&["import", "--dir", &dir, f.to_str().unwrap()]);
        }
        let out = ok(&["audit", "verify", "--dir", &dir]);
        let head = out
            .lines()
            .next()
            .unwrap()
            .split("head ")
            .nth(1)
            .unwrap()
            .trim()
            .to_string();

        tamper(&tmp.path().join("node").join("node.db"), sql).await;
        let (code, out, err) =
            weerthuis(&["audit", "verify", "--dir", &dir, "--expect-head", &head]);
        assert_eq!(code, 1, "{out}{err}");
        assert!(out.starts_with("BROKEN") && out.contains(expect), "{out}");
    }
}

/// `init` makes the first beheerder; `user add --login` makes a person (password and TOTP key, shown once),
/// `user add --role` a system's token with that role; `totp` prints the code an authenticator app would show.
#[test]
fn init_makes_a_beheerder_and_user_add_takes_a_role_and_a_login() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = dir_arg(&tmp.path().join("node"));
    let out = ok(&["init", "--dir", &dir, "--partner", "transferpunt:friesland"]);
    assert!(
        out.contains("login:    beheerder  (role beheerder)"),
        "{out}"
    );
    let key = |out: &str| {
        out.lines()
            .find_map(|l| l.trim().strip_prefix("TOTP key: "))
            .and_then(|rest| rest.split_whitespace().next())
            .map(str::to_string)
            .unwrap_or_else(|| panic!("no TOTP key in {out}"))
    };
    let code = ok(&["totp", &key(&out)]);
    assert_eq!(code.trim().len(), 6, "{code}");
    assert!(code.trim().chars().all(|c| c.is_ascii_digit()), "{code}");

    let anna = ok(&[
        "user",
        "add",
        "--dir",
        &dir,
        "--name",
        "Anna de Vries",
        "--login",
        "anna",
        "--role",
        "medewerker",
    ]);
    assert!(anna.contains("login:    anna  (role medewerker)"), "{anna}");
    assert!(anna.contains("password: "), "{anna}");
    let system = ok(&[
        "user",
        "add",
        "--dir",
        &dir,
        "--name",
        "monitor export",
        "--role",
        "analist",
    ]);
    assert!(system.contains("role analist"), "{system}");
    assert!(system.contains("wt1."), "{system}");
    let (code, _, err) = weerthuis(&[
        "user", "add", "--dir", &dir, "--name", "x", "--role", "admin",
    ]);
    assert_ne!(code, 0);
    assert!(err.contains("unknown role"), "{err}");
    let list = ok(&["user", "list", "--dir", &dir]);
    for expected in ["beheerder\tbeheerder", "anna\tmedewerker", "-\tanalist"] {
        assert!(list.contains(expected), "{expected} not in {list}");
    }
}
