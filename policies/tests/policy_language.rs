//! The policy language: parse errors point at the line of the mistake, a policy that breaks a baseline invariant
//! or one of its own examples is refused with the reason, `diff` is exact, and `why` names the rule that allows
//! a request or the conditions that failed.

use policies::partner::Fase;
use policies::policy::space::{Access, DiffEntry};
use policies::policy::{COVENANT_POLICY, Diagnostic, Request};
use policies::{DocumentKind, FieldId, Policy, PolicyError, Relation, Role, Voorziening};

const HEAD: &str = r#"[policy]
name = "test"
version = "t.1"
effective_from = "2026-01-01"

[retention]
years = 7
basis = "Wmo 2015"
"#;

/// The 1-based line of the first line of `text` containing `needle`.
fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("{needle:?} not in the text"))
        + 1
}

fn f(name: &str) -> FieldId {
    FieldId::parse(name).unwrap_or_else(|| panic!("no field {name}"))
}

fn invalid(text: &str) -> Vec<Diagnostic> {
    match Policy::parse(text) {
        Err(PolicyError::Invalid(d)) => d,
        Err(e) => panic!("expected unknown names, got: {e}"),
        Ok(_) => panic!("accepted:\n{text}"),
    }
}

/// Exactly one diagnostic, on the line of `needle`, saying `says`.
fn assert_one_error_at(text: &str, needle: &str, says: &str) {
    let d = invalid(text);
    assert_eq!(d.len(), 1, "{d:#?}");
    assert_eq!(d[0].location.line, line_of(text, needle), "{}", d[0]);
    assert!(
        d[0].message.contains(says),
        "{:?} does not say {says:?}",
        d[0].message
    );
    // The message a person sees names the line.
    let shown = PolicyError::Invalid(d.clone()).to_string();
    assert!(
        shown.contains(&format!("line {}", d[0].location.line)),
        "{shown}"
    );
}

fn flow(to: &str, relations: &str, fields: &str) -> String {
    format!(
        r#"{HEAD}
[[flows]]
name = "een stroom"
from = "transferpunt"
to = "{to}"
{relations}
requires = ["toestemming"]
fields = [
  "aanmelding.leefsituatie",
  {fields}
]
purpose = "test"
basis = "Afspraak 3b"
"#
    )
}

// ---------------------------------------------------------------------------------------------------------------
// Parse errors point at the line

#[test]
fn a_minimal_policy_parses() {
    let p = Policy::load(&flow(
        "gemeente",
        r#"relations = ["uitstroomgemeente"]"#,
        r#""aanmelding.herkomstgemeente""#,
    ))
    .unwrap();
    assert_eq!(p.flows.len(), 1);
    assert_eq!(p.flows[0].relations, vec![Relation::Uitstroomgemeente]);
    assert_eq!(p.flows[0].fields.len(), 2);
    assert_eq!(p.retention.years, 7);
    // The baseline invariants are there though the file has none.
    assert_eq!(p.invariants.iter().filter(|i| i.baseline).count(), 11);
}

#[test]
fn a_syntax_error_points_at_its_line() {
    let text = format!("{HEAD}\n[[flows]]\nname = \"kapot\"\npurpose = \nto = \"gemeente\"\n");
    match Policy::parse(&text) {
        Err(PolicyError::Syntax(d)) => {
            assert_eq!(d.location.line, line_of(&text, "purpose ="), "{d}");
            assert!(
                d.to_string()
                    .starts_with(&format!("line {}", d.location.line))
            );
        }
        other => panic!("expected a syntax error, got {other:?}"),
    }
}

#[test]
fn an_unknown_key_points_at_its_line() {
    let text = format!(
        "{HEAD}\n[[flows]]\nname = \"x\"\nfrom = \"transferpunt\"\nontvanger = \"gemeente\"\n"
    );
    match Policy::parse(&text) {
        Err(PolicyError::Syntax(d)) => {
            assert_eq!(d.location.line, line_of(&text, "ontvanger"), "{d}");
            assert!(d.message.contains("ontvanger"), "{d}");
        }
        other => panic!("expected a syntax error, got {other:?}"),
    }
}

#[test]
fn an_unknown_document_points_at_its_line() {
    let text = flow(
        "gemeente",
        r#"relations = ["uitstroomgemeente"]"#,
        r#""dossier.bsn""#,
    );
    assert_one_error_at(&text, "dossier.bsn", "unknown document \"dossier\"");
}

#[test]
fn an_unknown_field_points_at_its_line() {
    let text = flow(
        "gemeente",
        r#"relations = ["uitstroomgemeente"]"#,
        r#""registratie.schoenmaat""#,
    );
    assert_one_error_at(
        &text,
        "schoenmaat",
        "unknown field \"registratie.schoenmaat\"",
    );
}

#[test]
fn an_unknown_category_points_at_its_line() {
    let text = flow(
        "gemeente",
        r#"relations = ["uitstroomgemeente"]"#,
        r#""@medisch""#,
    );
    assert_one_error_at(&text, "@medisch", "unknown field category");
}

#[test]
fn an_unknown_role_points_at_its_line() {
    let text = flow(
        "bank",
        r#"relations = ["geen"]"#,
        r#""aanmelding.herkomstgemeente""#,
    );
    assert_one_error_at(&text, "\"bank\"", "unknown role \"bank\"");
}

#[test]
fn an_unknown_relation_points_at_its_line() {
    let text = flow(
        "gemeente",
        r#"relations = ["buurgemeente"]"#,
        r#""aanmelding.herkomstgemeente""#,
    );
    assert_one_error_at(&text, "buurgemeente", "unknown relation \"buurgemeente\"");
}

#[test]
fn a_relation_the_role_cannot_have_points_at_its_line() {
    let text = flow(
        "corporatie",
        r#"relations = ["verblijfgemeente"]"#,
        r#""aanmelding.herkomstgemeente""#,
    );
    assert_one_error_at(
        &text,
        "\"verblijfgemeente\"",
        "a corporatie cannot be \"verblijfgemeente\"",
    );
}

#[test]
fn a_rule_for_another_role_than_the_transferpunt_must_name_its_relations() {
    let text = flow("gemeente", "", r#""aanmelding.herkomstgemeente""#);
    let d = invalid(&text);
    assert_eq!(d.len(), 1, "{d:#?}");
    assert!(
        d[0].message.contains("must say for which relations"),
        "{}",
        d[0]
    );
    // The error points into the flow that lacks them.
    let start = line_of(&text, "[[flows]]");
    let end = line_of(&text, "basis = \"Afspraak 3b\"");
    assert!(
        (start..=end).contains(&d[0].location.line),
        "{} not in {start}..={end}",
        d[0]
    );
    assert_eq!(d[0].location.line, start, "at the [[flows]] header");
    // For the Transferpunt the relation is implied.
    let to_tp = text.replace("to = \"gemeente\"", "to = \"transferpunt\"");
    let p = Policy::load(&to_tp).unwrap();
    assert_eq!(p.flows[0].relations, vec![Relation::Transferpunt]);
    // Writes too.
    let write = format!(
        "{HEAD}\n[[writes]]\nname = \"w\"\nrole = \"zorgaanbieder\"\nfields = [\"melding.*\"]\nbasis = \"Afspraak 7a\"\n"
    );
    let d = invalid(&write);
    assert_eq!(d.len(), 1, "{d:#?}");
    assert!(
        d[0].message.contains("must say for which relations"),
        "{}",
        d[0]
    );
}

#[test]
fn every_unknown_name_is_reported_at_once() {
    let text = format!(
        r#"{HEAD}
[[flows]]
name = "veel fouten"
from = "bank"
to = "gemeente"
relations = ["buurgemeente"]
requires = ["toestemming"]
phases = ["nazorg"]
fields = ["dossier.bsn", "registratie.schoenmaat"]
purpose = "test"
basis = "Afspraak 3b"
"#
    );
    let d = invalid(&text);
    let lines: Vec<usize> = d.iter().map(|d| d.location.line).collect();
    assert_eq!(
        lines,
        vec![
            line_of(&text, "\"bank\""),
            line_of(&text, "buurgemeente"),
            line_of(&text, "nazorg"),
            line_of(&text, "dossier.bsn"),
            line_of(&text, "schoenmaat"),
        ],
        "{d:#?}"
    );
}

// ---------------------------------------------------------------------------------------------------------------
// Invariants and examples

/// The shipped policy without its own [[never]] rules: only the built-in baseline remains.
fn covenant_without_nevers() -> String {
    let mut out = Vec::new();
    let mut skipping = false;
    for line in COVENANT_POLICY.lines() {
        if line.starts_with('[') {
            skipping = line.trim() == "[[never]]";
        }
        if !skipping {
            out.push(line);
        }
    }
    let text = out.join("\n");
    assert!(!text.contains("[[never]]"));
    text
}

const DAKLOOSHEID_NAAR_CORPORATIE: &str = r#"
[[flows]]
name = "reden dakloosheid naar de corporatie"
from = "transferpunt"
to = "corporatie"
relations = ["toegewezen_corporatie"]
requires = ["toestemming"]
fields = ["aanmeldbericht.*", "registratie.reden_dakloosheid"]
purpose = "bemiddeling"
basis = "Bijlage 3"
"#;

#[test]
fn reden_dakloosheid_to_a_corporatie_is_refused_even_without_the_policys_own_nevers() {
    let stripped = covenant_without_nevers();
    let p = Policy::load(&stripped).expect("the covenant without its own nevers still loads");
    assert_eq!(p.invariants.len(), 11);
    assert!(p.invariants.iter().all(|i| i.baseline));

    let text = format!("{stripped}\n{DAKLOOSHEID_NAAR_CORPORATIE}");
    let err = Policy::load(&text).expect_err("reden_dakloosheid to a corporatie must be refused");
    let PolicyError::Invariants(violations) = &err else {
        panic!("refused for another reason: {err}");
    };
    assert_eq!(violations.len(), 1, "{violations:#?}");
    let v = &violations[0];
    assert_eq!(
        v.invariant,
        "corporatie ziet nooit de reden van dakloosheid"
    );
    assert!(v.baseline);
    assert!(v.basis.contains("Bijlage 1, 4a"), "{}", v.basis);
    assert_eq!(v.rule, "reden dakloosheid naar de corporatie");
    let rule_start = line_of(&text, "name = \"reden dakloosheid naar de corporatie\"") - 1;
    assert_eq!(
        v.rule_location.line, rule_start,
        "at the rule's [[flows]] header"
    );
    assert_eq!(v.fields, vec![f("registratie.reden_dakloosheid")]);
    assert_eq!(v.example.role, Role::Corporatie);
    assert_eq!(v.example.relation, Relation::ToegewezenCorporatie);
    assert_eq!(v.example.field, f("registratie.reden_dakloosheid"));
    assert!(v.example.consent);
    // Every phase, both voorzieningen, with consent: 6 × 2 requests.
    assert_eq!(v.requests, 12);

    let message = err.to_string();
    assert!(
        message.contains("corporatie ziet nooit de reden van dakloosheid"),
        "{message}"
    );
    assert!(message.contains(&v.basis), "{message}");
    assert!(
        message.contains("registratie.reden_dakloosheid"),
        "{message}"
    );
    assert!(message.contains("baseline"), "{message}");

    // Parse alone (for the what-if) still shows what the proposal would do.
    let proposal = Policy::parse(&text).unwrap();
    assert_eq!(proposal.violations(), violations.clone());
}

#[test]
fn a_policy_breaking_its_own_never_is_refused_naming_it() {
    let text = format!(
        "{COVENANT_POLICY}\n{}",
        r#"
[[flows]]
name = "reden andere gemeente naar de zorgaanbieder"
from = "transferpunt"
to = "zorgaanbieder"
relations = ["betrokken_zorgaanbieder"]
requires = ["toestemming"]
fields = ["beoordeling.toelichting_andere_gemeente"]
purpose = "test"
basis = "Bijlage 3"
"#
    );
    let Err(PolicyError::Invariants(v)) = Policy::load(&text) else {
        panic!("accepted")
    };
    assert_eq!(v.len(), 1, "{v:#?}");
    assert!(!v[0].baseline);
    assert_eq!(
        v[0].invariant_location.line,
        line_of(COVENANT_POLICY, "zorgaanbieder ziet de afwegingen") - 1
    );
    assert!(v[0].to_string().contains("policy, line"), "{}", v[0]);
}

#[test]
fn a_failing_example_is_refused() {
    let example = r#"
[[examples]]
name = "corporatie krijgt de registratie"
role = "corporatie"
relation = "toegewezen_corporatie"
phase = "bemiddeling"
toestemming = true
field = "registratie.bsn"
expect = "allow"
"#;
    let text = format!("{COVENANT_POLICY}\n{example}");
    match Policy::load(&text) {
        Err(PolicyError::Examples(d)) => {
            assert_eq!(d.len(), 1, "{d:#?}");
            assert!(
                d[0].message.contains("corporatie krijgt de registratie"),
                "{}",
                d[0]
            );
            assert!(
                d[0].message.contains("expects allow but the policy denies"),
                "{}",
                d[0]
            );
            let start = line_of(&text, "name = \"corporatie krijgt de registratie\"") - 1;
            assert_eq!(
                d[0].location.line, start,
                "at the [[examples]] header: {}",
                d[0]
            );
        }
        other => panic!("expected a failing example, got {:?}", other.map(|_| ())),
    }
    // The same example expecting deny passes.
    let ok = format!(
        "{COVENANT_POLICY}\n{}",
        example.replace("expect = \"allow\"", "expect = \"deny\"")
    );
    assert_eq!(
        Policy::load(&ok).unwrap().examples.len(),
        Policy::covenant().examples.len() + 1
    );
}

#[test]
fn a_malformed_example_is_an_error_at_its_line() {
    let text = format!(
        "{COVENANT_POLICY}\n{}",
        r#"
[[examples]]
name = "kapot"
role = "corporatie"
relation = "toegewezen_corporatie"
field = "registratie.bsn"
expect = "misschien"
"#
    );
    let d = invalid(&text);
    assert_eq!(d.len(), 1, "{d:#?}");
    assert_eq!(d[0].location.line, line_of(&text, "misschien"));
}

// ---------------------------------------------------------------------------------------------------------------
// diff

#[test]
fn diff_of_a_policy_with_itself_is_empty() {
    let p = Policy::covenant();
    let d = p.diff(&p);
    assert!(d.is_empty());
    assert_eq!(d.changed_requests(), 0);
    assert!(d.to_string().starts_with("Geen verschil"));
}

#[test]
fn diff_of_one_extra_field_in_a_flow_is_exact() {
    let old = Policy::covenant();
    let needle = r#"fields = ["aanmeldbericht.*"]"#;
    assert_eq!(COVENANT_POLICY.matches(needle).count(), 1);
    let text = COVENANT_POLICY.replace(
        needle,
        r#"fields = ["aanmeldbericht.*", "registratie.geboortedatum"]"#,
    );
    let new = Policy::load(&text).unwrap();
    let d = old.diff(&new);
    use Fase::{Bemiddeling, Plaatsing};
    use Voorziening::{BeschermdWonen as BW, MaatschappelijkeOpvang as MO};
    assert_eq!(
        d.entries,
        vec![DiffEntry {
            role: Role::Corporatie,
            relation: Relation::ToegewezenCorporatie,
            access: Access::Receive,
            from: Some((Role::Transferpunt, Relation::Transferpunt)),
            field: f("registratie.geboortedatum"),
            added: true,
            contexts: vec![
                (Bemiddeling, true, BW),
                (Bemiddeling, true, MO),
                (Plaatsing, true, BW),
                (Plaatsing, true, MO)
            ],
        }]
    );
    assert_eq!(d.changed_requests(), 4);
    assert_eq!(
        d.entries[0].contexts_summary(),
        "fase bemiddeling/plaatsing, met toestemming"
    );
    // And back: the same entry, no longer allowed.
    let back = new.diff(&old);
    assert_eq!(back.entries.len(), 1);
    assert!(!back.entries[0].added);
    assert_eq!(back.entries[0].contexts, d.entries[0].contexts);
    let shown = d.to_string();
    assert!(
        shown.contains("corporatie (toegewezen_corporatie)"),
        "{shown}"
    );
    assert!(shown.contains("+ nieuw toegestaan"), "{shown}");
    assert!(shown.contains("registratie.geboortedatum"), "{shown}");
}

/// The shipped policy without the flow named `name`.
fn without_flow(name: &str) -> String {
    let lines: Vec<&str> = COVENANT_POLICY.lines().collect();
    let at = lines
        .iter()
        .position(|l| *l == format!("name = {name:?}"))
        .expect("flow exists");
    let start = at - 1;
    assert_eq!(lines[start], "[[flows]]");
    let end = (at..lines.len())
        .find(|&i| lines[i].starts_with('[') || lines[i].starts_with("# ---"))
        .unwrap();
    lines[..start]
        .iter()
        .chain(&lines[end..])
        .copied()
        .collect::<Vec<_>>()
        .join("\n")
}

#[test]
fn diff_of_a_removed_flow_is_exact() {
    let old = Policy::covenant();
    let new = Policy::load(&without_flow(
        "plaatsing en huurcontract naar de gemeente van uitstroom",
    ))
    .unwrap();
    assert_eq!(new.flows.len(), old.flows.len() - 1);
    let d = old.diff(&new);
    use Fase::Plaatsing;
    use Voorziening::{BeschermdWonen as BW, MaatschappelijkeOpvang as MO};
    let expected: Vec<DiffEntry> = DocumentKind::Plaatsing
        .fields()
        .chain(
            [
                "reactie.soort_huurcontract",
                "reactie.datum_ondertekening",
                "reactie.einddatum_drie_partijen",
                "reactie.omklapvoorwaarden",
            ]
            .map(f),
        )
        .map(|field| DiffEntry {
            role: Role::Gemeente,
            relation: Relation::Uitstroomgemeente,
            access: Access::Receive,
            from: Some((Role::Transferpunt, Relation::Transferpunt)),
            field,
            added: false,
            contexts: vec![(Plaatsing, true, BW), (Plaatsing, true, MO)],
        })
        .collect();
    assert_eq!(expected.len(), 18);
    assert_eq!(d.entries, expected);
    assert_eq!(d.changed_requests(), 36);
    assert!(d.to_string().contains("- niet meer toegestaan"));
}

#[test]
fn diff_sees_a_change_of_sender() {
    // Regression: removing a corporatie → gemeente flow changed what a gemeente receives from the corporatie,
    // but not what it may hold at all, and the diff used to miss it.
    let old = Policy::covenant();
    let new = Policy::load(&without_flow("melding van de corporatie aan de gemeente")).unwrap();
    let d = old.diff(&new);
    assert!(!d.is_empty());
    assert_eq!(d.entries.len(), DocumentKind::Melding.fields().count());
    for e in &d.entries {
        assert_eq!(
            (e.role, e.relation, e.access, e.from, e.added),
            (
                Role::Gemeente,
                Relation::Uitstroomgemeente,
                Access::Receive,
                Some((Role::Corporatie, Relation::ToegewezenCorporatie)),
                false
            )
        );
        assert_eq!(e.field.document(), DocumentKind::Melding);
    }
    assert!(
        d.to_string()
            .contains("ontvangen van corporatie (toegewezen_corporatie)")
    );
}

#[test]
fn diff_of_a_write_rule_change_is_exact() {
    let old = Policy::covenant();
    let text = COVENANT_POLICY.replace(
        r#"relations = ["verblijfgemeente", "herkomstgemeente", "uitstroomgemeente"]
fields = ["gemeente.*"]"#,
        r#"relations = ["verblijfgemeente", "uitstroomgemeente"]
fields = ["gemeente.*"]"#,
    );
    assert_ne!(text, COVENANT_POLICY);
    let new = Policy::load(&text).unwrap();
    let d = old.diff(&new);
    let fields: Vec<FieldId> = d.entries.iter().map(|e| e.field).collect();
    assert_eq!(fields, DocumentKind::Gemeente.fields().collect::<Vec<_>>());
    for e in &d.entries {
        assert_eq!(
            (e.role, e.relation, e.access, e.added),
            (
                Role::Gemeente,
                Relation::Herkomstgemeente,
                Access::Write,
                false
            )
        );
        // A write depends on no case state: every (phase, consent, voorziening).
        assert_eq!(e.contexts.len(), Fase::ALL.len() * 2 * 2);
        assert_eq!(e.contexts_summary(), "altijd");
    }
}

// ---------------------------------------------------------------------------------------------------------------
// why

fn request(relation: Relation, phase: Fase, consent: bool, field: &str) -> Request {
    Request {
        role: Role::Corporatie,
        relation,
        phase,
        consent,
        voorziening: Voorziening::MaatschappelijkeOpvang,
        field: f(field),
        access: Access::Receive,
    }
}

#[test]
fn why_names_the_allowing_flow() {
    let p = Policy::covenant();
    let r = request(
        Relation::ToegewezenCorporatie,
        Fase::Bemiddeling,
        true,
        "aanmeldbericht.bsn",
    );
    let why = p.why(&r);
    assert!(why.allowed);
    assert_eq!(why.allowed_by.len(), 1);
    assert_eq!(
        why.allowed_by[0].name,
        "aanmeldbericht naar de toegewezen corporatie"
    );
    assert_eq!(
        why.allowed_by[0].line,
        line_of(
            COVENANT_POLICY,
            "name = \"aanmeldbericht naar de toegewezen corporatie\""
        ) - 1
    );
    assert!(
        why.allowed_by[0]
            .sentence
            .starts_with("De toegewezen woningcorporatie ontvangt van het Transferpunt"),
        "{}",
        why.allowed_by[0].sentence
    );
    assert!(why.forbidden_by.is_empty());
    assert!(why.to_string().starts_with("JA"));
}

#[test]
fn why_gives_the_failing_conditions_of_a_denied_request() {
    let p = Policy::covenant();
    let r = request(
        Relation::ToegewezenCorporatie,
        Fase::VervolgWonen,
        false,
        "aanmeldbericht.bsn",
    );
    let why = p.why(&r);
    assert!(!why.allowed);
    assert!(why.allowed_by.is_empty());
    assert_eq!(why.near_misses.len(), 1, "{:#?}", why.near_misses);
    let (rule, failed) = &why.near_misses[0];
    assert_eq!(rule.name, "aanmeldbericht naar de toegewezen corporatie");
    assert_eq!(
        failed,
        &vec![
            "de cliënt heeft geen toestemming gegeven".to_string(),
            "de casus is in de fase vervolg wonen".to_string()
        ]
    );
    let forbidden: Vec<&str> = why.forbidden_by.iter().map(|r| r.name.as_str()).collect();
    assert_eq!(
        forbidden,
        vec![
            "corporatie alleen met toestemming",
            "BSN nergens heen zonder toestemming"
        ]
    );
    let shown = why.to_string();
    assert!(shown.starts_with("NEE"), "{shown}");
    assert!(shown.contains("geen toestemming"), "{shown}");

    // The wrong corporatie: the relation is what fails.
    let why = p.why(&request(
        Relation::EerdereCorporatie,
        Fase::Bemiddeling,
        true,
        "aanmeldbericht.bsn",
    ));
    assert!(!why.allowed);
    let (_, failed) = &why.near_misses[0];
    assert_eq!(failed.len(), 1);
    assert!(
        failed[0].contains("een eerder benaderde woningcorporatie"),
        "{failed:?}"
    );

    // A field no rule sends to a corporatie: no near miss, only the invariant.
    let why = p.why(&request(
        Relation::ToegewezenCorporatie,
        Fase::Bemiddeling,
        true,
        "registratie.reden_dakloosheid",
    ));
    assert!(!why.allowed && why.near_misses.is_empty());
    assert_eq!(
        why.forbidden_by[0].name,
        "corporatie ziet nooit de reden van dakloosheid"
    );
    assert!(why.to_string().contains("Geen enkele regel"));
}

#[test]
fn why_agrees_with_decide_everywhere() {
    let p = Policy::covenant();
    for r in Request::all().step_by(7) {
        assert_eq!(p.why(&r).allowed, p.decide(&r), "{r}");
    }
}

#[test]
fn a_policy_with_one_retention_term_gives_it_to_every_role() {
    // Every signed policy version before per-role terms reads like this, and must keep meaning what it meant.
    let p = Policy::load(HEAD).unwrap();
    for role in Role::ALL {
        assert_eq!(p.retention.for_role(role).years, 7, "{role:?}");
        assert_eq!(p.retention.for_role(role).basis, "Wmo 2015");
    }
}

#[test]
fn retention_terms_per_role_override_the_default() {
    let text = format!(
        "{HEAD}\n[[retention.role]]\nrole = \"gemeente\"\nyears = 15\nbasis = \"Wmo 2015 art. 5.3.4\"\n"
    );
    let p = Policy::load(&text).unwrap();
    assert_eq!(p.retention.for_role(Role::Gemeente).years, 15);
    assert_eq!(
        p.retention.for_role(Role::Gemeente).basis,
        "Wmo 2015 art. 5.3.4"
    );
    assert_eq!(p.retention.for_role(Role::Transferpunt).years, 7);
    assert!(p.explain_markdown(None).contains("Een gemeente: 15 jaar"));
}

#[test]
fn a_retention_term_for_an_unknown_or_repeated_role_is_refused_with_its_line() {
    let text = format!(
        "{HEAD}\n[[retention.role]]\nrole = \"gemeente\"\nyears = 15\nbasis = \"a\"\n\
         [[retention.role]]\nrole = \"gemeente\"\nyears = 10\nbasis = \"b\"\n\
         [[retention.role]]\nrole = \"bakker\"\nyears = 0\nbasis = \"c\"\n"
    );
    match Policy::parse(&text) {
        Err(PolicyError::Invalid(d)) => {
            let messages: Vec<String> = d.iter().map(|d| d.to_string()).collect();
            assert!(
                messages
                    .iter()
                    .any(|m| m.contains("\"gemeente\" has a term already")),
                "{messages:?}"
            );
            assert!(
                messages
                    .iter()
                    .any(|m| m.contains("unknown role \"bakker\"")),
                "{messages:?}"
            );
            assert!(d.iter().all(|d| d.location.line > 8), "{messages:?}");
        }
        other => panic!("expected an invalid policy, got {other:?}"),
    }
}
