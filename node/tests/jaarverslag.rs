//! `weerthuis jaarverslag` through the real binary: a node with imported cases writes the Markdown, HTML and CSV
//! files, with small counts suppressed by default.

use std::process::Command;

fn ok(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_weerthuis"))
        .args(args)
        .env_remove("WEERTHUIS_DIR")
        .output()
        .expect("the weerthuis binary runs");
    let (stdout, stderr) = (
        String::from_utf8(out.stdout).unwrap(),
        String::from_utf8(out.stderr).unwrap(),
    );
    assert!(
        out.status.success(),
        "weerthuis {args:?} failed:\n{stdout}\n{stderr}"
    );
    stdout
}

#[test]
fn jaarverslag_from_stored_cases() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("node");
    let dir = dir.to_str().unwrap();
    ok(&["init", "--dir", dir, "--partner", "zorgaanbieder:kwadrant"]);
    let mut files = Vec::new();
    for (i, bsn) in ["123456782", "999993653"].iter().enumerate() {
        let case = serde_json::json!({
            "registratie": {
                "achternaam_voorletters": "Jansen, P.", "bsn": bsn, "geboortedatum": "1990-04-12",
                "soort_voorziening": "maatschappelijke_opvang", "herkomstgemeente": "GM0080",
                "verblijfgemeente": "GM0080", "start_verblijf_opvang": "2025-09-01",
                "betrokken_zorgaanbieder": "zorgaanbieder:kwadrant",
                "reden_dakloosheid": "Huisuitzetting", "toestemming_gegevensdeling": true,
                "datum_toestemming": "2025-09-01"
            },
            "bemiddelingsverzoek": policies::examples::ingediend(
                policies::examples::bemiddelingsverzoek("2025-11-03", "Kwadrant", Some("Een woning")),
                "2025-11-03",
                1,
            )
        });
        let f = tmp.path().join(format!("case{i}.json"));
        std::fs::write(&f, case.to_string()).unwrap();
        files.push(f.to_str().unwrap().to_string());
    }
    let mut args = vec!["import", "--dir", dir];
    args.extend(files.iter().map(String::as_str));
    ok(&args);

    let out_dir = tmp.path().join("verslag");
    let out_dir_s = out_dir.to_str().unwrap();
    let out = ok(&[
        "jaarverslag",
        "--dir",
        dir,
        "--jaar",
        "2025",
        "--out",
        out_dir_s,
        "--drempel",
        "1",
    ]);
    assert!(out.contains("2 casussen gelezen"), "{out}");
    let md = std::fs::read_to_string(out_dir.join("jaarverslag-2025.md")).unwrap();
    assert!(md.contains("| 2025 | 2 | 0 |"), "{md}");
    assert!(md.contains("| Leeuwarden | 2 |"), "{md}");
    let csv = std::fs::read_to_string(
        out_dir.join("jaarverslag-2025-bemiddelingsverzoeken-per-herkomstgemeente.csv"),
    )
    .unwrap();
    assert_eq!(csv, "Herkomstgemeente,Aantal\nLeeuwarden,2\nTotaal,2\n");
    // Per zorgaanbieder (Bijlage 3), and the balance of in- and outflow (Bijlage 1, 1d): both stays started in
    // Leeuwarden in 2025, nobody left yet.
    let csv = |name: &str| std::fs::read_to_string(out_dir.join(name)).unwrap();
    assert_eq!(
        csv("jaarverslag-2025-bemiddelingsverzoeken-per-zorgaanbieder.csv"),
        "Zorgaanbieder,Aantal\nkwadrant,2\nTotaal,2\n"
    );
    assert_eq!(
        csv("jaarverslag-2025-instroom-en-uitstroom-per-gemeente-bijlage-1-1d.csv"),
        "Gemeente,Instroom (gemeente van verblijf),Uitstroom naar een woning (uitstroomgemeente),\
         Saldo (uitstroom − instroom)\nLeeuwarden,2,0,-2\nTotaal,2,0,-2\n"
    );
    // Afspraak 1h: no bemiddeling yet in the covenant's term.
    assert!(
        md.contains("| Voortgang naar 300 woningen (Afspraak 1h), t/m 2025 | 0,0 | % van 300 |"),
        "{md}"
    );
    assert!(out_dir.join("jaarverslag-2025.html").exists());
    assert!(out_dir.join("jaarverslag-2025.xlsx").exists());

    // With the default threshold of 5, two requests are not shown.
    ok(&[
        "jaarverslag",
        "--dir",
        dir,
        "--jaar",
        "2025",
        "--out",
        out_dir_s,
    ]);
    let md = std::fs::read_to_string(out_dir.join("jaarverslag-2025.md")).unwrap();
    assert!(md.contains("| 2025 | * | 0 |"), "{md}");
    assert!(!md.contains("| Leeuwarden | 2 |"), "{md}");
}
