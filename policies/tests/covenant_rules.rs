//! One test per rule of the shipped covenant policy (`policies/covenant/policy.toml`) and of the baseline
//! invariants (`policies/covenant/invariants.toml`), each named after the article of the covenant it encodes.
//!
//! Every test asserts both sides of each condition of its rule: the relation, consent, phase and voorziening
//! under which a field travels, and a neighbouring request that must be refused. Invariants are also checked by
//! loading a policy that breaks them: it must be refused, naming the invariant and its basis.

use std::sync::LazyLock;

use policies::partner::Fase;
use policies::policy::space::{Access, Context};
use policies::policy::{COVENANT_POLICY, Flow, Invariant, Request, WriteRule};
use policies::{
    CaseDocuments, CaseFacts, DocumentKind, FieldId, FieldSet, Gemeenten, PartnerId, Policy,
    PolicyError, Relation, Role, Validator, Voorziening,
};
use serde_json::json;
use time::macros::date;

use Fase::{Aanmelding, Afgesloten, Bemiddeling, Plaatsing, Registratie, VervolgWonen};
use Relation::*;
use Voorziening::{BeschermdWonen as BW, MaatschappelijkeOpvang as MO};

static POLICY: LazyLock<Policy> = LazyLock::new(Policy::covenant);

fn p() -> &'static Policy {
    &POLICY
}

fn f(name: &str) -> FieldId {
    FieldId::parse(name).unwrap_or_else(|| panic!("no field {name} in the model"))
}

fn set(names: &[&str]) -> FieldSet {
    names.iter().map(|n| f(n)).collect()
}

fn doc(kind: DocumentKind) -> FieldSet {
    FieldSet::document(kind)
}

/// Whether a partner with this role and relation receives the field, in a case in this state.
fn receives(
    role: Role,
    relation: Relation,
    phase: Fase,
    consent: bool,
    v: Voorziening,
    field: &str,
) -> bool {
    p().decide(&Request {
        role,
        relation,
        phase,
        consent,
        voorziening: v,
        field: f(field),
        access: Access::Receive,
    })
}

/// Whether a partner with this role and relation may write the field (writes have no case conditions).
fn writes(role: Role, relation: Relation, field: &str) -> bool {
    let decided: Vec<bool> = Context::all()
        .filter(|c| c.role == role && c.relation == relation && c.access == Access::Write)
        .map(|c| p().decide(&c.with(f(field))))
        .collect();
    assert!(
        !decided.is_empty(),
        "{role} cannot have relation {relation}"
    );
    assert!(
        decided.iter().all(|d| *d == decided[0]),
        "a write rule depends on the case state"
    );
    decided[0]
}

fn flow(name: &str) -> (usize, &'static Flow) {
    p().flows
        .iter()
        .enumerate()
        .find(|(_, f)| f.name == name)
        .unwrap_or_else(|| panic!("the shipped policy has no flow {name:?}"))
}

fn write_rule(name: &str) -> &'static WriteRule {
    p().writes
        .iter()
        .find(|w| w.name == name)
        .unwrap_or_else(|| panic!("the shipped policy has no write rule {name:?}"))
}

fn invariant(name: &str) -> &'static Invariant {
    p().invariants
        .iter()
        .find(|i| i.name == name)
        .unwrap_or_else(|| panic!("the shipped policy has no invariant {name:?}"))
}

fn assert_basis(basis: &str, article: &str) {
    assert!(
        basis.contains(article),
        "basis {basis:?} does not cite {article}"
    );
}

fn pid(s: &str) -> PartnerId {
    s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
}

/// Facts of a case in which the named partners have the given relations.
fn facts(
    phase: Fase,
    consent: bool,
    v: Option<Voorziening>,
    relations: &[(&str, &[Relation])],
) -> CaseFacts {
    CaseFacts {
        phase,
        consent,
        voorziening: v,
        relations: relations
            .iter()
            .map(|(p, r)| (pid(p), r.to_vec()))
            .collect(),
    }
}

/// The fields `from` may send `to`, as a set, checking every field names a flow that carries it.
fn sends(facts: &CaseFacts, from: &str, to: &str) -> FieldSet {
    let allowed = p().allowed_fields(facts, &pid(from), &pid(to));
    for a in &allowed {
        assert!(
            p().flows[a.flow].fields.contains(a.field),
            "{} credited to a flow without it",
            a.field
        );
    }
    allowed.iter().map(|a| a.field).collect()
}

/// What `from` sends `to` besides the Transferpunt's terugkoppeling on a voorgelegde melding (tested on its own).
fn sends_besides_terugkoppeling(facts: &CaseFacts, from: &str, to: &str) -> FieldSet {
    sends(facts, from, to).difference(doc(DocumentKind::Voorlegging))
}

/// The flows credited besides the terugkoppeling flows (tested on their own).
fn credited_besides_terugkoppeling(facts: &CaseFacts, from: &str, to: &str) -> Vec<usize> {
    credited(facts, from, to)
        .into_iter()
        .filter(|i| {
            !p().flows[*i]
                .name
                .starts_with("terugkoppeling van het Transferpunt")
        })
        .collect()
}

/// The flows credited for what `from` sends `to`.
fn credited(facts: &CaseFacts, from: &str, to: &str) -> Vec<usize> {
    let mut flows: Vec<usize> = p()
        .allowed_fields(facts, &pid(from), &pid(to))
        .iter()
        .map(|a| a.flow)
        .collect();
    flows.sort();
    flows.dedup();
    flows
}

/// The shipped policy plus `extra` TOML must be refused for breaking `invariant`, naming it and its basis.
fn assert_refused_for(extra: &str, invariant_name: &str) {
    let inv = invariant(invariant_name);
    let text = format!("{COVENANT_POLICY}\n{extra}\n");
    match Policy::load(&text) {
        Err(PolicyError::Invariants(v)) => {
            let hit = v.iter().find(|v| v.invariant == invariant_name);
            let hit =
                hit.unwrap_or_else(|| panic!("refused, but not for {invariant_name:?}: {v:#?}"));
            assert_eq!(hit.basis, inv.basis);
            assert_eq!(hit.baseline, inv.baseline);
            let message = PolicyError::Invariants(v.clone()).to_string();
            assert!(message.contains(invariant_name), "{message}");
            assert!(message.contains(&inv.basis), "{message}");
        }
        Err(e) => panic!("refused for another reason: {e}"),
        Ok(_) => panic!("a policy breaking {invariant_name:?} was accepted"),
    }
}

const TP: &str = "transferpunt:sdf";
const ZA: &str = "zorgaanbieder:de-zijlen";
const ZA2: &str = "zorgaanbieder:kwadrant";
const GM_VERBLIJF: &str = "gemeente:GM0080";
const GM_HERKOMST: &str = "gemeente:GM0090";
const GM_UITSTROOM: &str = "gemeente:GM0074";
const ELKIEN: &str = "corporatie:elkien";
const ACCOLADE: &str = "corporatie:accolade";

/// A case with every kind of partner in its usual relation.
fn case(phase: Fase, consent: bool, v: Voorziening) -> CaseFacts {
    facts(
        phase,
        consent,
        Some(v),
        &[
            (ZA, &[BetrokkenZorgaanbieder]),
            (ZA2, &[OndersteunendeZorgaanbieder]),
            (GM_VERBLIJF, &[Verblijfgemeente]),
            (GM_HERKOMST, &[Herkomstgemeente]),
            (GM_UITSTROOM, &[Uitstroomgemeente]),
            (ELKIEN, &[ToegewezenCorporatie]),
            (ACCOLADE, &[EerdereCorporatie]),
        ],
    )
}

const MELDING_OP_HOOFDLIJNEN: &[&str] = &[
    "melding.datum_melding",
    "melding.melder",
    "melding.soort",
    "melding.ave_niveau",
    "melding.status",
    "melding.terugkoppeling_aan_melder",
    "melding.datum_afgehandeld",
];

/// What of the Transferpunt's voorlegging travels back to the melder (Afspraak 7e, 7g).
const TERUGKOPPELING_AAN_MELDER: &[&str] = &[
    "voorlegging.datum_ontvangen",
    "voorlegging.datum_overleg",
    "voorlegging.regie_na_overleg",
    "voorlegging.afspraken",
    "voorlegging.datum_afgehandeld",
    "voorlegging.terugkoppeling_aan_melder",
    "voorlegging.datum_terugkoppeling",
];
const ONDERSTEUNINGSVERLOOP_OP_HOOFDLIJNEN: &[&str] =
    &["ondersteuningsverloop.soort", "ondersteuningsverloop.datum"];

const REGISTRATIE_VOOR_GEMEENTE: &[&str] = &[
    "registratie.achternaam_voorletters",
    "registratie.bsn",
    "registratie.geboortedatum",
    "registratie.herkomstgemeente",
    "registratie.soort_voorziening",
    "registratie.start_verblijf_opvang",
    "registratie.contact_begeleider",
    "registratie.betrokkenheid_gebiedsteam",
];

// ---------------------------------------------------------------------------------------------------------------
// Coverage: every rule of the policy has a test below.

/// The rules covered by a test in this file. A new rule in the policy must get a test (and a line here).
const TESTED_RULES: &[&str] = &[
    "zorgaanbieder vult de formulieren in",
    "Transferpunt beoordeelt en bemiddelt",
    "toegewezen corporatie reageert",
    "gemeente legt akkoord, beschikking en gebiedsteam vast",
    "gebiedsteam stelt het ondersteuningsplan op",
    "Transferpunt registreert meldingen",
    "zorgaanbieder meldt signalen en knelpunten",
    "gemeente meldt signalen en knelpunten",
    "corporatie meldt signalen en knelpunten",
    "formulieren naar het Transferpunt",
    "ingediend bemiddelingsverzoek naar het Transferpunt",
    "Transferpunt ontvangt geen bemiddelingsverzoek voordat het is ingediend",
    "reactie van de corporatie naar het Transferpunt",
    "gemeentegegevens naar het Transferpunt",
    "meldingen van de zorgaanbieder naar het Transferpunt",
    "meldingen van de gemeente naar het Transferpunt",
    "meldingen van de corporatie naar het Transferpunt",
    "aanmelding bij de gemeente van verblijf",
    "aanmelding MO bij de herkomstgemeente",
    "aanmelding BW bij het gebiedsteam van de nieuwe gemeente",
    "melding aan de gemeente van uitstroom",
    "plaatsing en huurcontract naar de gemeente van uitstroom",
    "aanmeldbericht naar de toegewezen corporatie",
    "bereikbaarheid na afsluiting naar de verhurende corporatie",
    "voortgang naar de betrokken zorgaanbieder",
    "ondersteuningsplan naar de uitvoerende zorgaanbieder",
    "warme overdracht naar de betrokken zorgaanbieder",
    "melding van de zorgaanbieder aan de gemeente",
    "melding van de corporatie aan de gemeente",
    "melding van de corporatie aan de zorgaanbieder",
    "melding op hoofdlijnen aan de toegewezen corporatie",
    "zorgaanbieder ziet de afwegingen van het Transferpunt over een andere gemeente niet",
    "corporatie ziet de weigering van een andere corporatie niet",
    "corporatie ziet nooit het ondersteuningsplan",
    "corporatie ziet nooit de reden van dakloosheid",
    "corporatie ziet nooit inkomen of schulden",
    "corporatie alleen voor toegewezen casussen",
    "corporatie alleen met toestemming",
    "huurdersorganisatie ontvangt geen persoonsgegevens",
    "BSN nergens heen zonder toestemming",
    "geen gegevens aan partners zonder betrokkenheid",
    "corporatie schrijft alleen haar reactie en meldingen",
    "Transferpunt legt de voorlegging, het overleg en de bindende afspraken vast",
    "terugkoppeling van het Transferpunt aan de melder (corporatie)",
    "terugkoppeling van het Transferpunt aan de melder (zorgaanbieder)",
    "terugkoppeling van het Transferpunt aan de melder (gemeente)",
    "de interne afhandeling van een voorlegging blijft bij het Transferpunt (corporatie)",
    "de interne afhandeling van een voorlegging blijft bij het Transferpunt (zorgaanbieder)",
    "de interne afhandeling van een voorlegging blijft bij het Transferpunt (gemeente)",
    "alleen het gebiedsteam schrijft het ondersteuningsplan",
    "verhurende corporatie legt het huurverloop vast",
    "zorgaanbieder legt het ondersteuningsverloop vast",
    "gemeente van uitstroom legt op- en afschalen en waakvlam vast",
    "huurverloop naar het Transferpunt",
    "huurverloop naar de gemeente van uitstroom",
    "huurverloop naar de zorgaanbieder",
    "ondersteuningsverloop van de zorgaanbieder naar het Transferpunt",
    "ondersteuningsverloop van de zorgaanbieder naar de gemeente van uitstroom",
    "ondersteuningsverloop van de gemeente naar het Transferpunt",
    "ondersteuningsverloop van de gemeente naar de zorgaanbieder",
    "ondersteuningsverloop op hoofdlijnen aan de verhurende corporatie",
    "corporatie ziet de inhoud van de ondersteuning na uitstroom niet",
];

#[test]
fn every_rule_of_the_shipped_policy_has_a_test() {
    let mut in_policy: Vec<&str> = p()
        .flows
        .iter()
        .map(|f| f.name.as_str())
        .chain(p().writes.iter().map(|w| w.name.as_str()))
        .chain(p().invariants.iter().map(|i| i.name.as_str()))
        .collect();
    in_policy.sort();
    let mut tested = TESTED_RULES.to_vec();
    tested.sort();
    assert_eq!(
        in_policy, tested,
        "rules without a test (left) or tests without a rule (right)"
    );
}

#[test]
fn every_rule_cites_an_afspraak_or_bijlage() {
    let cites = |basis: &str| basis.contains("Afspraak") || basis.contains("Bijlage");
    let mut checked = 0;
    for fl in &p().flows {
        assert!(
            cites(&fl.basis),
            "flow {:?} (line {}) cites no article: {:?}",
            fl.name,
            fl.location.line,
            fl.basis
        );
        checked += 1;
    }
    for w in &p().writes {
        assert!(
            cites(&w.basis),
            "write {:?} (line {}) cites no article: {:?}",
            w.name,
            w.location.line,
            w.basis
        );
        checked += 1;
    }
    for i in &p().invariants {
        assert!(
            cites(&i.basis),
            "never {:?} (line {}) cites no article: {:?}",
            i.name,
            i.location.line,
            i.basis
        );
        checked += 1;
    }
    assert_eq!(checked, TESTED_RULES.len());
}

#[test]
fn the_shipped_policy_loads_with_baseline_and_own_invariants() {
    let baseline = p().invariants.iter().filter(|i| i.baseline).count();
    let own = p().invariants.iter().filter(|i| !i.baseline).count();
    assert_eq!((baseline, own), (11, 6));
    assert!(p().violations().is_empty());
    assert!(p().failing_examples().is_empty());
    assert_eq!(p().meta.version, "2026.1");
    let years = |r| p().retention.for_role(r).years;
    // Afspraak 8e: joint documents 7 years; the Wmo's own parties (college, aanbieder) 15 (art. 5.3.4).
    assert_eq!(
        [
            years(Role::Transferpunt),
            years(Role::Corporatie),
            years(Role::Gemeente),
            years(Role::Zorgaanbieder),
        ],
        [7, 7, 15, 15]
    );
}

// ---------------------------------------------------------------------------------------------------------------
// Who holds what, over the whole request space.

#[test]
fn bijlage_3_transferpunt_holds_every_field_of_the_model_with_consent() {
    for phase in Fase::ALL {
        for v in Voorziening::ALL {
            let received =
                p().receivable(Role::Transferpunt, &[Transferpunt], true, phase, Some(v));
            let written = p().writable(Role::Transferpunt, &[Transferpunt]);
            let held = received.union(written);
            // Before submission the bemiddelingsverzoek is a draft at the zorgaanbieder.
            let expected = if matches!(phase, Registratie | Aanmelding | VervolgWonen) {
                FieldSet::all()
                    .difference(doc(DocumentKind::Bemiddelingsverzoek).difference(written))
            } else {
                FieldSet::all()
            };
            let missing: Vec<_> = expected
                .difference(held)
                .iter()
                .map(|f| f.qualified_name())
                .collect();
            assert!(
                missing.is_empty(),
                "the Transferpunt lacks {missing:?} in phase {phase}, {v}"
            );
        }
    }
    // Without consent it holds only the meldingen it receives and what it writes itself.
    let received = p().receivable(
        Role::Transferpunt,
        &[Transferpunt],
        false,
        Bemiddeling,
        Some(MO),
    );
    assert_eq!(received, doc(DocumentKind::Melding));
}

#[test]
fn bijlage_3_corporatie_holds_only_aanmeldbericht_and_melding_summary_when_assigned_and_with_consent()
 {
    let expected = doc(DocumentKind::Aanmeldbericht)
        .union(set(MELDING_OP_HOOFDLIJNEN))
        .union(set(TERUGKOPPELING_AAN_MELDER))
        .union(set(ONDERSTEUNINGSVERLOOP_OP_HOOFDLIJNEN));
    let mut union = FieldSet::EMPTY;
    for c in Context::all().filter(|c| c.role == Role::Corporatie && c.access == Access::Receive) {
        let got = p().allowed_in(&c);
        if c.relation == ToegewezenCorporatie && c.consent {
            assert!(
                got.difference(expected).is_empty(),
                "{c:?}: more than the aanmeldbericht: {:?}",
                got.difference(expected)
            );
        } else {
            assert!(got.is_empty(), "{c:?}: {got:?}");
        }
        union = union.union(got);
    }
    assert_eq!(union, expected);
    // And in the phases the aanmeldbericht travels, it is all of it.
    let got = p().receivable(
        Role::Corporatie,
        &[ToegewezenCorporatie],
        true,
        Bemiddeling,
        Some(BW),
    );
    assert_eq!(got, expected);
    // Nothing else the corporatie writes but its reactie and meldingen.
    assert_eq!(
        p().writable(Role::Corporatie, &[ToegewezenCorporatie]),
        doc(DocumentKind::Reactie)
            .union(doc(DocumentKind::Melding))
            .union(doc(DocumentKind::Huurverloop))
    );
}

#[test]
fn afspraak_3h_huurdersorganisatie_holds_nothing() {
    for c in Context::all().filter(|c| c.role == Role::Huurdersorganisatie) {
        assert!(p().allowed_in(&c).is_empty(), "{c:?}");
    }
}

// ---------------------------------------------------------------------------------------------------------------
// A real case, built from forms as staff fill them in.

#[test]
fn bijlage_3_end_to_end_only_the_assigned_corporatie_gets_the_aanmeldbericht() {
    let gemeenten = Gemeenten::friesland();
    let v = Validator::new(&gemeenten, date!(2026 - 03 - 01));
    let forms = [
        (
            DocumentKind::Registratie,
            json!({
                "achternaam_voorletters": "Jansen, P.",
                "bsn": "123456782",
                "geboortedatum": "1990-05-17",
                "herkomstgemeente": "GM0090",
                "verblijfgemeente": "GM0080",
                "soort_voorziening": "maatschappelijke_opvang",
                "start_verblijf_opvang": "2025-09-01",
                "betrokken_zorgaanbieder": ZA,
                "reden_dakloosheid": "huisuitzetting na huurachterstand",
                "toestemming_gegevensdeling": true,
                "datum_toestemming": "2025-09-01",
            }),
        ),
        (
            DocumentKind::Aanmelding,
            json!({
                "achternaam_voorletters": "Jansen, P.",
                "datum_aanmelding": "2025-09-10",
                "leefsituatie": "alleenstaand",
                "hoofdinkomen": "participatiewet",
            }),
        ),
        (
            DocumentKind::Bemiddelingsverzoek,
            json!({ "datum_verzoek": "2026-01-05", "woonwens": "eenkamerwoning in Leeuwarden",
                "datum_ingediend": "2026-01-05" }),
        ),
        (
            DocumentKind::Beoordeling,
            json!({
                "status": "goedgekeurd",
                "datum_ontvangen": "2026-01-06",
                "gekozen_uitstroomgemeente": "GM0090",
                "toegewezen_corporatie": ELKIEN,
            }),
        ),
        (
            DocumentKind::Aanmeldbericht,
            json!({
                "corporatie": ELKIEN,
                "datum_verzonden": "2026-01-20",
                "bsn": "123456782",
                "achternaam_initialen": "Jansen, P.",
                "leefsituatie": "alleenstaand",
                "beoogde_uitstroomgemeente": "GM0090",
                "ondersteuningsprofiel": "ambulante begeleiding, twee uur per week",
            }),
        ),
    ];
    let mut case = CaseDocuments::new();
    for (kind, json) in forms {
        let form = v
            .form(kind, &json)
            .unwrap_or_else(|e| panic!("{kind}: {e}"));
        v.in_case(&form, &case)
            .unwrap_or_else(|e| panic!("{kind} in case: {e}"));
        case.insert(form);
    }
    assert_eq!(case.phase(), Bemiddeling);
    let (tp, elkien, accolade) = (pid(TP), pid(ELKIEN), pid(ACCOLADE));
    let facts = case.facts([&tp, &elkien, &accolade, &pid(ZA), &pid(GM_HERKOMST)]);
    assert!(facts.consent);
    assert_eq!(facts.voorziening, Some(MO));
    assert_eq!(facts.relations_of(&elkien), vec![ToegewezenCorporatie]);
    assert_eq!(facts.relations_of(&accolade), vec![Geen]);
    assert_eq!(
        facts.relations_of(&pid(GM_HERKOMST)),
        vec![Herkomstgemeente, Uitstroomgemeente]
    );

    let mut allowed = p().allowed_fields(&facts, &tp, &elkien);
    // Besides: the Transferpunt's terugkoppeling on a melding the corporatie presented (its own test below).
    allowed.retain(|a| a.field.document() != DocumentKind::Voorlegging);
    let fields: Vec<FieldId> = allowed.iter().map(|a| a.field).collect();
    let expected: Vec<FieldId> = DocumentKind::Aanmeldbericht.fields().collect();
    assert_eq!(fields, expected, "exactly the aanmeldbericht");
    let (aanmeldbericht_flow, _) = flow("aanmeldbericht naar de toegewezen corporatie");
    assert!(allowed.iter().all(|a| a.flow == aanmeldbericht_flow));

    assert!(
        p().allowed_fields(&facts, &tp, &accolade).is_empty(),
        "accolade is not assigned"
    );

    // The same case without consent: nothing for elkien.
    let mut no_consent = facts.clone();
    no_consent.consent = false;
    assert!(p().allowed_fields(&no_consent, &tp, &elkien).is_empty());
}

// ---------------------------------------------------------------------------------------------------------------
// [[writes]]

#[test]
fn bijlage_3_zorgaanbieder_vult_de_formulieren_in() {
    assert_basis(
        &write_rule("zorgaanbieder vult de formulieren in").basis,
        "Bijlage 3",
    );
    for field in [
        "registratie.bsn",
        "aanmelding.leefsituatie",
        "vervolg_wonen.uitstroomgemeente",
        "plaatsing.datum_mutatie",
        "bemiddelingsverzoek.woonwens",
    ] {
        assert!(
            writes(Role::Zorgaanbieder, BetrokkenZorgaanbieder, field),
            "{field}"
        );
        assert!(
            !writes(Role::Zorgaanbieder, OndersteunendeZorgaanbieder, field),
            "{field}"
        );
        assert!(!writes(Role::Zorgaanbieder, Geen, field), "{field}");
    }
    // What the Transferpunt marks is not the provider's to write.
    assert!(!writes(
        Role::Zorgaanbieder,
        BetrokkenZorgaanbieder,
        "bemiddelingsverzoek.ontbrekende_gegevens"
    ));
    assert!(!writes(
        Role::Zorgaanbieder,
        BetrokkenZorgaanbieder,
        "bemiddelingsverzoek.toelichting_transferpunt"
    ));
    assert!(!writes(
        Role::Zorgaanbieder,
        BetrokkenZorgaanbieder,
        "beoordeling.status"
    ));
    assert!(!writes(
        Role::Zorgaanbieder,
        BetrokkenZorgaanbieder,
        "ondersteuningsplan.netwerk"
    ));
}

#[test]
fn afspraak_3b_transferpunt_beoordeelt_en_bemiddelt() {
    assert_basis(
        &write_rule("Transferpunt beoordeelt en bemiddelt").basis,
        "Afspraak 3b",
    );
    for field in [
        "beoordeling.status",
        "beoordeling.toegewezen_corporatie",
        "aanmeldbericht.bsn",
        "bemiddelingsverzoek.ontbrekende_gegevens",
        "bemiddelingsverzoek.toelichting_transferpunt",
    ] {
        assert!(writes(Role::Transferpunt, Transferpunt, field), "{field}");
    }
    for field in [
        "bemiddelingsverzoek.woonwens",
        "registratie.bsn",
        "reactie.besluit",
        "gemeente.akkoord_uitstroom",
        "ondersteuningsplan.netwerk",
    ] {
        assert!(!writes(Role::Transferpunt, Transferpunt, field), "{field}");
    }
}

#[test]
fn afspraak_1g_toegewezen_corporatie_reageert() {
    assert_basis(
        &write_rule("toegewezen corporatie reageert").basis,
        "Afspraak 1g",
    );
    assert!(writes(
        Role::Corporatie,
        ToegewezenCorporatie,
        "reactie.besluit"
    ));
    assert!(writes(
        Role::Corporatie,
        ToegewezenCorporatie,
        "reactie.aanbiedingen"
    ));
    assert!(!writes(
        Role::Corporatie,
        EerdereCorporatie,
        "reactie.besluit"
    ));
    assert!(!writes(Role::Corporatie, Geen, "reactie.besluit"));
    assert!(!writes(
        Role::Corporatie,
        ToegewezenCorporatie,
        "aanmeldbericht.bsn"
    ));
}

#[test]
fn afspraak_4a_gemeente_legt_akkoord_beschikking_en_gebiedsteam_vast() {
    let w = write_rule("gemeente legt akkoord, beschikking en gebiedsteam vast");
    assert_basis(&w.basis, "Afspraak 3b, 4a en 4d");
    for rel in [Verblijfgemeente, Herkomstgemeente, Uitstroomgemeente] {
        assert!(
            writes(Role::Gemeente, rel, "gemeente.akkoord_uitstroom"),
            "{rel}"
        );
        assert!(
            writes(Role::Gemeente, rel, "gemeente.beschikking_einddatum"),
            "{rel}"
        );
        assert!(
            !writes(Role::Gemeente, rel, "beoordeling.gekozen_uitstroomgemeente"),
            "{rel}"
        );
    }
    assert!(!writes(Role::Gemeente, Geen, "gemeente.akkoord_uitstroom"));
}

#[test]
fn afspraak_4b_gebiedsteam_van_de_uitstroomgemeente_stelt_het_ondersteuningsplan_op() {
    assert_basis(
        &write_rule("gebiedsteam stelt het ondersteuningsplan op").basis,
        "Afspraak 4b",
    );
    assert!(writes(
        Role::Gemeente,
        Uitstroomgemeente,
        "ondersteuningsplan.daginvulling"
    ));
    assert!(writes(
        Role::Gemeente,
        Uitstroomgemeente,
        "ondersteuningsplan.voorwaarden_omklap"
    ));
    assert!(!writes(
        Role::Gemeente,
        Verblijfgemeente,
        "ondersteuningsplan.daginvulling"
    ));
    assert!(!writes(
        Role::Gemeente,
        Herkomstgemeente,
        "ondersteuningsplan.daginvulling"
    ));
    assert!(!writes(
        Role::Gemeente,
        Geen,
        "ondersteuningsplan.daginvulling"
    ));
}

#[test]
fn afspraak_7d_transferpunt_registreert_meldingen() {
    assert_basis(
        &write_rule("Transferpunt registreert meldingen").basis,
        "Afspraak 7d",
    );
    assert!(writes(
        Role::Transferpunt,
        Transferpunt,
        "melding.omschrijving"
    ));
    assert!(writes(
        Role::Transferpunt,
        Transferpunt,
        "melding.voorgelegd_aan_transferpunt"
    ));
}

#[test]
fn afspraak_7a_zorgaanbieder_meldt_signalen_en_knelpunten() {
    assert_basis(
        &write_rule("zorgaanbieder meldt signalen en knelpunten").basis,
        "Afspraak 7a",
    );
    assert!(writes(
        Role::Zorgaanbieder,
        BetrokkenZorgaanbieder,
        "melding.omschrijving"
    ));
    assert!(writes(
        Role::Zorgaanbieder,
        OndersteunendeZorgaanbieder,
        "melding.omschrijving"
    ));
    assert!(!writes(Role::Zorgaanbieder, Geen, "melding.omschrijving"));
}

#[test]
fn afspraak_7a_gemeente_meldt_signalen_en_knelpunten() {
    assert_basis(
        &write_rule("gemeente meldt signalen en knelpunten").basis,
        "Afspraak 7a",
    );
    for rel in [Verblijfgemeente, Herkomstgemeente, Uitstroomgemeente] {
        assert!(writes(Role::Gemeente, rel, "melding.ave_niveau"), "{rel}");
    }
    assert!(!writes(Role::Gemeente, Geen, "melding.ave_niveau"));
}

#[test]
fn afspraak_2h_corporatie_meldt_signalen_en_knelpunten() {
    assert_basis(
        &write_rule("corporatie meldt signalen en knelpunten").basis,
        "Afspraak 2h",
    );
    assert!(writes(
        Role::Corporatie,
        ToegewezenCorporatie,
        "melding.soort"
    ));
    assert!(!writes(
        Role::Corporatie,
        EerdereCorporatie,
        "melding.soort"
    ));
    assert!(!writes(Role::Corporatie, Geen, "melding.soort"));
    assert!(!writes(Role::Huurdersorganisatie, Geen, "melding.soort"));
}

// ---------------------------------------------------------------------------------------------------------------
// [[flows]] to the Transferpunt

#[test]
fn bijlage_3_formulieren_naar_het_transferpunt_met_toestemming() {
    let (i, fl) = flow("formulieren naar het Transferpunt");
    assert_basis(&fl.basis, "Bijlage 3");
    let forms = [
        DocumentKind::Registratie,
        DocumentKind::Aanmelding,
        DocumentKind::VervolgWonen,
        DocumentKind::Plaatsing,
    ]
    .into_iter()
    .fold(FieldSet::EMPTY, |a, k| a.union(doc(k)));
    for phase in Fase::ALL {
        let with = case(phase, true, MO);
        // The bemiddelingsverzoek travels under its own flow, once submitted.
        let submitted = matches!(phase, Bemiddeling | Plaatsing | Afgesloten);
        let verzoek = if submitted {
            doc(DocumentKind::Bemiddelingsverzoek)
        } else {
            FieldSet::EMPTY
        };
        assert_eq!(
            sends(&with, ZA, TP),
            forms
                .union(doc(DocumentKind::Melding))
                .union(verzoek)
                .union(doc(DocumentKind::Ondersteuningsverloop)),
            "{phase}"
        );
        assert!(credited(&with, ZA, TP).contains(&i));
        // Without consent only the meldingen (which need none).
        let without = case(phase, false, BW);
        assert_eq!(
            sends(&without, ZA, TP),
            doc(DocumentKind::Melding),
            "{phase}"
        );
    }
    // Only from the zorgaanbieder that registered the client (the one giving support after outflow sends its
    // meldingen and ondersteuningsverloop, Afspraak 3c.4).
    assert_eq!(
        sends(&case(Bemiddeling, true, MO), ZA2, TP),
        doc(DocumentKind::Melding).union(doc(DocumentKind::Ondersteuningsverloop))
    );
    assert!(sends(&case(Bemiddeling, true, MO), "zorgaanbieder:onbekend", TP).is_empty());
    assert!(receives(
        Role::Transferpunt,
        Transferpunt,
        Registratie,
        true,
        BW,
        "registratie.reden_dakloosheid"
    ));
    assert!(!receives(
        Role::Transferpunt,
        Transferpunt,
        Registratie,
        false,
        BW,
        "registratie.reden_dakloosheid"
    ));
}

#[test]
fn afspraak_3d_reactie_van_de_corporatie_naar_het_transferpunt() {
    let (i, fl) = flow("reactie van de corporatie naar het Transferpunt");
    assert_basis(&fl.basis, "Afspraak 1g-1k, 3d.4 en 3d.5");
    let with = case(Bemiddeling, true, MO);
    assert_eq!(
        sends(&with, ELKIEN, TP),
        doc(DocumentKind::Reactie)
            .union(doc(DocumentKind::Melding))
            .union(doc(DocumentKind::Huurverloop))
    );
    assert!(credited(&with, ELKIEN, TP).contains(&i));
    // Not without consent. A corporatie that refused (an earlier one) still sends its reactie — its refusal must
    // stay countable at the Transferpunt (Afspraak 3d.5) — but no longer its meldingen.
    assert_eq!(
        sends(&case(Bemiddeling, false, MO), ELKIEN, TP),
        doc(DocumentKind::Melding)
    );
    assert_eq!(sends(&with, ACCOLADE, TP), doc(DocumentKind::Reactie));
}

#[test]
fn afspraak_3d_gemeentegegevens_en_ondersteuningsplan_naar_het_transferpunt() {
    let (_, fl) = flow("gemeentegegevens naar het Transferpunt");
    assert_basis(&fl.basis, "Afspraak 3c.4 en 3d");
    let expected = doc(DocumentKind::Gemeente)
        .union(doc(DocumentKind::Ondersteuningsplan))
        .union(doc(DocumentKind::Melding));
    for gm in [GM_VERBLIJF, GM_HERKOMST, GM_UITSTROOM] {
        // The uitstroomgemeente also sends the ondersteuningsverloop it records (Afspraak 5c, 6a).
        let expected = if gm == GM_UITSTROOM {
            expected.union(doc(DocumentKind::Ondersteuningsverloop))
        } else {
            expected
        };
        assert_eq!(sends(&case(Plaatsing, true, BW), gm, TP), expected, "{gm}");
        assert_eq!(
            sends(&case(Plaatsing, false, BW), gm, TP),
            doc(DocumentKind::Melding),
            "{gm}"
        );
    }
    assert!(
        sends(&case(Plaatsing, true, BW), "gemeente:GM0098", TP).is_empty(),
        "uninvolved gemeente"
    );
}

#[test]
fn afspraak_7d_meldingen_van_de_zorgaanbieder_naar_het_transferpunt() {
    let (i, fl) = flow("meldingen van de zorgaanbieder naar het Transferpunt");
    assert_basis(&fl.basis, "Afspraak 3e, 7d");
    for za in [ZA, ZA2] {
        let without = case(Registratie, false, MO);
        assert_eq!(sends(&without, za, TP), doc(DocumentKind::Melding), "{za}");
        assert_eq!(credited(&without, za, TP), vec![i]);
    }
    assert!(sends(&case(Registratie, false, MO), "zorgaanbieder:onbekend", TP).is_empty());
}

#[test]
fn afspraak_7d_meldingen_van_de_gemeente_naar_het_transferpunt() {
    let (i, fl) = flow("meldingen van de gemeente naar het Transferpunt");
    assert_basis(&fl.basis, "Afspraak 3e, 7d");
    for gm in [GM_VERBLIJF, GM_HERKOMST, GM_UITSTROOM] {
        let without = case(VervolgWonen, false, BW);
        assert_eq!(sends(&without, gm, TP), doc(DocumentKind::Melding), "{gm}");
        assert_eq!(credited(&without, gm, TP), vec![i]);
    }
    assert!(sends(&case(VervolgWonen, false, BW), "gemeente:GM0098", TP).is_empty());
}

#[test]
fn afspraak_7d_meldingen_van_de_corporatie_naar_het_transferpunt() {
    let (i, fl) = flow("meldingen van de corporatie naar het Transferpunt");
    assert_basis(&fl.basis, "Afspraak 3e, 7d");
    let without = case(Plaatsing, false, MO);
    assert_eq!(sends(&without, ELKIEN, TP), doc(DocumentKind::Melding));
    assert_eq!(credited(&without, ELKIEN, TP), vec![i]);
    assert!(
        sends(&without, ACCOLADE, TP).is_empty(),
        "a corporatie no longer assigned"
    );
}

// ---------------------------------------------------------------------------------------------------------------
// [[flows]] to the gemeenten

#[test]
fn afspraak_3b_aanmelding_bij_gemeente_van_verblijf() {
    let (i, fl) = flow("aanmelding bij de gemeente van verblijf");
    assert_basis(&fl.basis, "Afspraak 3b");
    let expected = set(REGISTRATIE_VOOR_GEMEENTE)
        .union(set(&["registratie.locatie_opvang"]))
        .union(doc(DocumentKind::Aanmelding));
    for phase in [Aanmelding, VervolgWonen, Bemiddeling, Plaatsing] {
        for v in Voorziening::ALL {
            let with = case(phase, true, v);
            assert_eq!(
                sends(&with, ZA, GM_VERBLIJF),
                expected.union(doc(DocumentKind::Melding)),
                "{phase} {v}"
            );
            assert!(credited(&with, ZA, GM_VERBLIJF).contains(&i));
            assert!(receives(
                Role::Gemeente,
                Verblijfgemeente,
                phase,
                true,
                v,
                "aanmelding.leefsituatie"
            ));
            assert!(!receives(
                Role::Gemeente,
                Verblijfgemeente,
                phase,
                false,
                v,
                "aanmelding.leefsituatie"
            ));
            assert!(!receives(
                Role::Gemeente,
                Verblijfgemeente,
                phase,
                true,
                v,
                "registratie.reden_dakloosheid"
            ));
        }
    }
    for phase in [Registratie, Afgesloten] {
        assert!(
            !receives(
                Role::Gemeente,
                Verblijfgemeente,
                phase,
                true,
                MO,
                "aanmelding.leefsituatie"
            ),
            "{phase}"
        );
    }
    // Only from the zorgaanbieder of the case.
    assert_eq!(
        sends(&case(Aanmelding, true, MO), ZA2, GM_VERBLIJF),
        doc(DocumentKind::Melding)
    );
    // A BW herkomstgemeente that is neither verblijf- nor uitstroomgemeente gets nothing.
    assert!(!receives(
        Role::Gemeente,
        Herkomstgemeente,
        Aanmelding,
        true,
        BW,
        "aanmelding.leefsituatie"
    ));
}

#[test]
fn bijlage_1_1d3_aanmelding_mo_bij_de_herkomstgemeente() {
    let (i, fl) = flow("aanmelding MO bij de herkomstgemeente");
    assert_basis(&fl.basis, "Bijlage 1, 1d.3");
    let expected = set(REGISTRATIE_VOOR_GEMEENTE).union(doc(DocumentKind::Aanmelding));
    for phase in [Aanmelding, VervolgWonen, Bemiddeling, Plaatsing] {
        let mo = case(phase, true, MO);
        assert_eq!(sends(&mo, ZA, GM_HERKOMST), expected, "{phase}");
        assert_eq!(credited(&mo, ZA, GM_HERKOMST), vec![i]);
        assert!(
            sends(&case(phase, true, BW), ZA, GM_HERKOMST).is_empty(),
            "BW: {phase}"
        );
        assert!(
            sends(&case(phase, false, MO), ZA, GM_HERKOMST).is_empty(),
            "no consent: {phase}"
        );
    }
    assert!(sends(&case(Registratie, true, MO), ZA, GM_HERKOMST).is_empty());
    assert!(sends(&case(Afgesloten, true, MO), ZA, GM_HERKOMST).is_empty());
    // The location of the shelter is for the gemeente of stay only.
    assert!(!receives(
        Role::Gemeente,
        Herkomstgemeente,
        Aanmelding,
        true,
        MO,
        "registratie.locatie_opvang"
    ));
    // An unknown voorziening meets no flow limited to MO.
    assert!(
        sends(
            &facts(
                Aanmelding,
                true,
                None,
                &[
                    (ZA, &[BetrokkenZorgaanbieder]),
                    (GM_HERKOMST, &[Herkomstgemeente])
                ]
            ),
            ZA,
            GM_HERKOMST
        )
        .is_empty()
    );
}

#[test]
fn bijlage_1_1d2_aanmelding_bw_bij_het_gebiedsteam_van_de_nieuwe_gemeente() {
    let (i, fl) = flow("aanmelding BW bij het gebiedsteam van de nieuwe gemeente");
    assert_basis(&fl.basis, "Bijlage 1, 1d.2");
    let expected = set(REGISTRATIE_VOOR_GEMEENTE).union(doc(DocumentKind::Aanmelding));
    for phase in [Aanmelding, VervolgWonen, Bemiddeling, Plaatsing] {
        let bw = case(phase, true, BW);
        assert_eq!(sends(&bw, GM_VERBLIJF, GM_UITSTROOM), expected, "{phase}");
        assert_eq!(credited(&bw, GM_VERBLIJF, GM_UITSTROOM), vec![i]);
        assert!(
            sends(&case(phase, true, MO), GM_VERBLIJF, GM_UITSTROOM).is_empty(),
            "MO: {phase}"
        );
        assert!(
            sends(&case(phase, false, BW), GM_VERBLIJF, GM_UITSTROOM).is_empty(),
            "no consent: {phase}"
        );
        // From the herkomstgemeente, or to the herkomstgemeente: no.
        assert!(sends(&bw, GM_HERKOMST, GM_UITSTROOM).is_empty());
        assert!(sends(&bw, GM_VERBLIJF, GM_HERKOMST).is_empty());
    }
    assert!(sends(&case(Registratie, true, BW), GM_VERBLIJF, GM_UITSTROOM).is_empty());
}

#[test]
fn bijlage_3_ingediend_bemiddelingsverzoek_naar_het_transferpunt() {
    let (i, fl) = flow("ingediend bemiddelingsverzoek naar het Transferpunt");
    assert_basis(&fl.basis, "Bijlage 3");
    let verzoek = doc(DocumentKind::Bemiddelingsverzoek);
    for phase in Fase::ALL {
        let with = case(phase, true, MO);
        let sent = sends(&with, ZA, TP).intersection(verzoek);
        if matches!(phase, Bemiddeling | Plaatsing | Afgesloten) {
            assert_eq!(sent, verzoek, "submitted, {phase}");
            assert!(credited(&with, ZA, TP).contains(&i));
        } else {
            assert!(
                sent.is_empty(),
                "a draft stays at the zorgaanbieder: {phase}"
            );
        }
        assert!(
            sends(&case(phase, false, MO), ZA, TP)
                .intersection(verzoek)
                .is_empty(),
            "no consent: {phase}"
        );
    }
    // Only from the zorgaanbieder that registered the client.
    assert!(
        sends(&case(Bemiddeling, true, MO), ZA2, TP)
            .intersection(verzoek)
            .is_empty()
    );
}

#[test]
fn baseline_transferpunt_ontvangt_geen_bemiddelingsverzoek_voordat_het_is_ingediend() {
    let inv = p()
        .invariants
        .iter()
        .find(|i| {
            i.name == "Transferpunt ontvangt geen bemiddelingsverzoek voordat het is ingediend"
        })
        .expect("the invariant");
    assert!(inv.baseline);
    assert_basis(&inv.basis, "Bijlage 3");
    for phase in [Registratie, Aanmelding, VervolgWonen] {
        for v in Voorziening::ALL {
            let held = p().receivable(Role::Transferpunt, &[Transferpunt], true, phase, Some(v));
            assert!(
                held.intersection(doc(DocumentKind::Bemiddelingsverzoek))
                    .is_empty(),
                "{phase}, {v}"
            );
        }
    }
    // A policy that sends the draft along is refused.
    let widened = include_str!("../covenant/policy.toml").replace(
        r#"phases = ["bemiddeling", "plaatsing", "afgesloten"]
fields = ["bemiddelingsverzoek.*"]"#,
        r#"fields = ["bemiddelingsverzoek.*"]"#,
    );
    assert_ne!(widened, include_str!("../covenant/policy.toml"));
    assert!(Policy::load(&widened).is_err());
}

#[test]
fn afspraak_3b_melding_aan_de_gemeente_van_uitstroom() {
    let (i, fl) = flow("melding aan de gemeente van uitstroom");
    assert_basis(&fl.basis, "Afspraak 3b");
    let expected = set(REGISTRATIE_VOOR_GEMEENTE)
        .union(set(&[
            "registratie.betrokken_zorgaanbieder",
            "bemiddelingsverzoek.ondersteuningsprofiel",
            "bemiddelingsverzoek.woonwens",
            "bemiddelingsverzoek.einddatum_beschikking_bw",
            "bemiddelingsverzoek.contactpersonen",
            "beoordeling.status",
            "beoordeling.gekozen_uitstroomgemeente",
            "beoordeling.toegewezen_corporatie",
            "beoordeling.datum_volledig",
        ]))
        .union(doc(DocumentKind::Aanmelding))
        .union(doc(DocumentKind::VervolgWonen));
    for phase in [Aanmelding, VervolgWonen, Bemiddeling] {
        let with = case(phase, true, MO);
        assert_eq!(
            sends_besides_terugkoppeling(&with, TP, GM_UITSTROOM),
            expected,
            "{phase}"
        );
        assert_eq!(
            credited_besides_terugkoppeling(&with, TP, GM_UITSTROOM),
            vec![i]
        );
        assert!(sends_besides_terugkoppeling(&case(phase, false, MO), TP, GM_UITSTROOM).is_empty());
        assert!(
            sends_besides_terugkoppeling(&with, TP, GM_VERBLIJF).is_empty(),
            "not to the gemeente of stay"
        );
    }
    assert!(
        sends_besides_terugkoppeling(&case(Registratie, true, MO), TP, GM_UITSTROOM).is_empty()
    );
    assert!(
        sends_besides_terugkoppeling(&case(Afgesloten, true, MO), TP, GM_UITSTROOM)
            .difference(doc(DocumentKind::Huurverloop))
            .is_empty(),
        "after closing only the huurverloop is passed on"
    );
    // The reasons for another gemeente stay with the Transferpunt.
    assert!(!receives(
        Role::Gemeente,
        Uitstroomgemeente,
        Bemiddeling,
        true,
        MO,
        "beoordeling.reden_andere_gemeente"
    ));
}

#[test]
fn afspraak_2f_plaatsing_en_huurcontract_naar_de_gemeente_van_uitstroom() {
    let (i, fl) = flow("plaatsing en huurcontract naar de gemeente van uitstroom");
    assert_basis(&fl.basis, "Afspraak 2d, 2f en 4d");
    let lease = set(&[
        "reactie.soort_huurcontract",
        "reactie.datum_ondertekening",
        "reactie.einddatum_drie_partijen",
        "reactie.omklapvoorwaarden",
    ]);
    let (melding, _) = flow("melding aan de gemeente van uitstroom");
    let before = sends_besides_terugkoppeling(&case(Bemiddeling, true, BW), TP, GM_UITSTROOM);
    let plaatsing = case(Plaatsing, true, BW);
    assert_eq!(
        sends_besides_terugkoppeling(&plaatsing, TP, GM_UITSTROOM),
        before
            .union(doc(DocumentKind::Plaatsing))
            .union(lease)
            .union(doc(DocumentKind::Huurverloop)),
        "in plaatsing: what it had, plus the plaatsing, the lease and the huurverloop passed on"
    );
    let (huurverloop, _) = flow("huurverloop naar de gemeente van uitstroom");
    assert_eq!(
        credited_besides_terugkoppeling(&plaatsing, TP, GM_UITSTROOM),
        vec![melding, i, huurverloop]
    );
    assert!(
        before
            .intersection(doc(DocumentKind::Plaatsing).union(lease))
            .is_empty()
    );
    assert!(receives(
        Role::Gemeente,
        Uitstroomgemeente,
        Plaatsing,
        true,
        MO,
        "reactie.omklapvoorwaarden"
    ));
    assert!(!receives(
        Role::Gemeente,
        Uitstroomgemeente,
        Bemiddeling,
        true,
        MO,
        "reactie.omklapvoorwaarden"
    ));
    assert!(!receives(
        Role::Gemeente,
        Uitstroomgemeente,
        Plaatsing,
        false,
        MO,
        "reactie.omklapvoorwaarden"
    ));
    assert!(!receives(
        Role::Gemeente,
        Verblijfgemeente,
        Plaatsing,
        true,
        MO,
        "plaatsing.datum_mutatie"
    ));
    assert!(!receives(
        Role::Gemeente,
        Uitstroomgemeente,
        Plaatsing,
        true,
        MO,
        "reactie.reden_weigering"
    ));
}

// ---------------------------------------------------------------------------------------------------------------
// [[flows]] to the corporatie

#[test]
fn bijlage_3_aanmeldbericht_alleen_naar_toegewezen_corporatie() {
    let (i, fl) = flow("aanmeldbericht naar de toegewezen corporatie");
    assert_basis(&fl.basis, "Bijlage 3, fase vervolg wonen");
    for phase in [Bemiddeling, Plaatsing] {
        for v in Voorziening::ALL {
            let with = case(phase, true, v);
            assert_eq!(
                sends_besides_terugkoppeling(&with, TP, ELKIEN),
                doc(DocumentKind::Aanmeldbericht),
                "{phase} {v}"
            );
            assert_eq!(credited_besides_terugkoppeling(&with, TP, ELKIEN), vec![i]);
            assert!(
                sends_besides_terugkoppeling(&with, TP, ACCOLADE).is_empty(),
                "eerdere corporatie"
            );
            assert!(
                sends_besides_terugkoppeling(&with, TP, "corporatie:dynhus").is_empty(),
                "uninvolved corporatie"
            );
            assert!(
                sends_besides_terugkoppeling(&case(phase, false, v), TP, ELKIEN).is_empty(),
                "no consent"
            );
        }
    }
    for phase in [Registratie, Aanmelding, VervolgWonen] {
        assert!(
            sends_besides_terugkoppeling(&case(phase, true, MO), TP, ELKIEN).is_empty(),
            "{phase}"
        );
    }
    // Once the case is closed only who to call stays (the next test).
    assert!(
        !sends_besides_terugkoppeling(&case(Afgesloten, true, MO), TP, ELKIEN)
            .contains(f("aanmeldbericht.bsn"))
    );
    // The corporatie never gets the Transferpunt's own documents, even the ones naming it.
    assert!(!receives(
        Role::Corporatie,
        ToegewezenCorporatie,
        Bemiddeling,
        true,
        MO,
        "beoordeling.toegewezen_corporatie"
    ));
    assert!(!receives(
        Role::Corporatie,
        ToegewezenCorporatie,
        Bemiddeling,
        true,
        MO,
        "registratie.bsn"
    ));
}

// ---------------------------------------------------------------------------------------------------------------
// [[flows]] to the zorgaanbieders

/// Bijlage 2, situatie 1: a corporatie housing a former client must know who is involved and whom to call. After
/// the Transferpunt closes the case the aanmeldbericht no longer travels; the assigned corporatie keeps exactly its
/// tenant's name, the gemeente whose gebiedsteam is involved and the contact persons — with consent, never another
/// corporatie, never the BSN.
#[test]
fn bijlage_2_na_afsluiting_weet_de_verhurende_corporatie_wie_te_bellen() {
    let (i, fl) = flow("bereikbaarheid na afsluiting naar de verhurende corporatie");
    assert_basis(&fl.basis, "Bijlage 2, situatie 1");
    let contacts = set(&[
        "aanmeldbericht.corporatie",
        "aanmeldbericht.achternaam_initialen",
        "aanmeldbericht.beoogde_uitstroomgemeente",
        "aanmeldbericht.contactpersonen",
    ]);
    for v in Voorziening::ALL {
        let closed = case(Afgesloten, true, v);
        assert_eq!(
            sends_besides_terugkoppeling(&closed, TP, ELKIEN),
            contacts,
            "{v}"
        );
        assert_eq!(
            credited_besides_terugkoppeling(&closed, TP, ELKIEN),
            vec![i]
        );
        assert!(
            sends_besides_terugkoppeling(&closed, TP, ACCOLADE).is_empty(),
            "eerdere corporatie"
        );
        assert!(
            sends_besides_terugkoppeling(&closed, TP, "corporatie:dynhus").is_empty(),
            "uninvolved corporatie"
        );
        assert!(
            sends_besides_terugkoppeling(&case(Afgesloten, false, v), TP, ELKIEN).is_empty(),
            "no consent"
        );
    }
    for f in [
        "aanmeldbericht.bsn",
        "aanmeldbericht.leefsituatie",
        "aanmeldbericht.ondersteuningsprofiel",
    ] {
        assert!(
            !receives(
                Role::Corporatie,
                ToegewezenCorporatie,
                Afgesloten,
                true,
                MO,
                f
            ),
            "{f}"
        );
    }
}
#[test]
fn bijlage_3_voortgang_naar_de_betrokken_zorgaanbieder() {
    let (i, fl) = flow("voortgang naar de betrokken zorgaanbieder");
    assert_basis(&fl.basis, "Bijlage 3, fase vervolg wonen");
    for phase in [Bemiddeling, Plaatsing, Afgesloten] {
        let with = case(phase, true, MO);
        let got = sends_besides_terugkoppeling(&with, TP, ZA);
        assert!(got.contains(f("beoordeling.status")), "{phase}");
        assert!(got.contains(f("reactie.besluit")), "{phase}");
        assert!(
            got.contains(f("bemiddelingsverzoek.ontbrekende_gegevens")),
            "{phase}"
        );
        assert_eq!(credited_besides_terugkoppeling(&with, TP, ZA)[0], i);
        assert!(!got.contains(f("beoordeling.reden_andere_gemeente")));
        assert!(
            !got.contains(f("reactie.reden_weigering")),
            "a refusal's reason stays with the Transferpunt"
        );
        assert!(sends_besides_terugkoppeling(&case(phase, false, MO), TP, ZA).is_empty());
        assert!(
            sends_besides_terugkoppeling(&with, TP, ZA2)
                .difference(doc(DocumentKind::Huurverloop))
                .is_empty(),
            "the provider of support after outflow gets no progress (only the huurverloop passed on)"
        );
    }
    for phase in [Registratie, Aanmelding, VervolgWonen] {
        assert!(
            sends_besides_terugkoppeling(&case(phase, true, MO), TP, ZA).is_empty(),
            "{phase}"
        );
    }
}

#[test]
fn afspraak_4g_ondersteuningsplan_naar_de_uitvoerende_zorgaanbieder() {
    let (i, fl) = flow("ondersteuningsplan naar de uitvoerende zorgaanbieder");
    assert_basis(&fl.basis, "Afspraak 4b, 4f en 4g");
    for phase in Fase::ALL {
        let with = case(phase, true, BW);
        assert_eq!(
            sends(&with, GM_UITSTROOM, ZA2),
            doc(DocumentKind::Ondersteuningsplan).union(doc(DocumentKind::Ondersteuningsverloop)),
            "{phase}"
        );
        assert!(credited(&with, GM_UITSTROOM, ZA2).contains(&i));
        assert!(sends(&case(phase, false, BW), GM_UITSTROOM, ZA2).is_empty());
        assert!(
            sends(&with, GM_VERBLIJF, ZA2).is_empty(),
            "only the gemeente whose gebiedsteam wrote it"
        );
    }
    // The provider the client is leaving gets the warme-overdracht parts only, never daily life details.
    assert!(!receives(
        Role::Zorgaanbieder,
        BetrokkenZorgaanbieder,
        Plaatsing,
        true,
        BW,
        "ondersteuningsplan.daginvulling"
    ));
    assert!(receives(
        Role::Zorgaanbieder,
        OndersteunendeZorgaanbieder,
        Plaatsing,
        true,
        BW,
        "ondersteuningsplan.daginvulling"
    ));
}

#[test]
fn afspraak_4e_warme_overdracht_naar_de_betrokken_zorgaanbieder() {
    let (i, fl) = flow("warme overdracht naar de betrokken zorgaanbieder");
    assert_basis(&fl.basis, "Afspraak 4e en 4g");
    let expected = set(&[
        "ondersteuningsplan.datum_vastgesteld",
        "ondersteuningsplan.gebiedsteam",
        "ondersteuningsplan.uitvoerende_zorgaanbieder",
        "ondersteuningsplan.duur_en_intensiteit",
        "ondersteuningsplan.contactmomenten",
        "ondersteuningsplan.bereikbaarheid_contactgegevens",
        "ondersteuningsplan.voorwaarden_omklap",
        "ondersteuningsplan.op_en_afschalen",
        "gemeente.akkoord_uitstroom",
        "gemeente.datum_akkoord",
        "gemeente.client_toe_aan_uitstroom",
        "gemeente.soort_beschikking",
        "gemeente.beschikking_startdatum",
        "gemeente.beschikking_einddatum",
        "gemeente.gebiedsteam_contactpersoon",
        "gemeente.datum_contact_gebiedsteam",
    ]);
    for phase in [Bemiddeling, Plaatsing] {
        let with = case(phase, true, MO);
        assert_eq!(
            sends(&with, GM_UITSTROOM, ZA),
            expected.union(doc(DocumentKind::Ondersteuningsverloop)),
            "{phase}"
        );
        assert!(credited(&with, GM_UITSTROOM, ZA).contains(&i));
        assert!(sends(&case(phase, false, MO), GM_UITSTROOM, ZA).is_empty());
        assert!(sends(&with, GM_HERKOMST, ZA).is_empty());
    }
    for phase in [Registratie, Aanmelding, VervolgWonen, Afgesloten] {
        assert!(
            sends(&case(phase, true, MO), GM_UITSTROOM, ZA)
                .intersection(expected)
                .is_empty(),
            "{phase}"
        );
    }
}

// ---------------------------------------------------------------------------------------------------------------
// [[flows]] of meldingen between the partners involved

#[test]
fn afspraak_7c_melding_van_de_zorgaanbieder_aan_de_gemeente() {
    let (i, fl) = flow("melding van de zorgaanbieder aan de gemeente");
    assert_basis(&fl.basis, "Afspraak 5a, 7c");
    let without = case(Registratie, false, BW);
    for za in [ZA, ZA2] {
        for gm in [GM_VERBLIJF, GM_UITSTROOM] {
            assert_eq!(
                sends(&without, za, gm),
                doc(DocumentKind::Melding),
                "{za} → {gm}"
            );
            assert_eq!(credited(&without, za, gm), vec![i]);
        }
        assert!(
            sends(&without, za, GM_HERKOMST).is_empty(),
            "not to the herkomstgemeente"
        );
    }
    assert!(sends(&without, "zorgaanbieder:onbekend", GM_VERBLIJF).is_empty());
}

#[test]
fn afspraak_7c_melding_van_de_corporatie_aan_de_gemeente() {
    let (i, fl) = flow("melding van de corporatie aan de gemeente");
    assert_basis(&fl.basis, "Afspraak 2h, 7c");
    let without = case(Plaatsing, false, MO);
    assert_eq!(
        sends(&without, ELKIEN, GM_UITSTROOM),
        doc(DocumentKind::Melding)
    );
    assert_eq!(credited(&without, ELKIEN, GM_UITSTROOM), vec![i]);
    assert!(sends(&without, ELKIEN, GM_VERBLIJF).is_empty());
    assert!(sends(&without, ACCOLADE, GM_UITSTROOM).is_empty());
}

#[test]
fn afspraak_2h_melding_van_de_corporatie_aan_de_zorgaanbieder() {
    let (i, fl) = flow("melding van de corporatie aan de zorgaanbieder");
    assert_basis(&fl.basis, "Afspraak 2h, 4g en 7c");
    let without = case(Plaatsing, false, MO);
    for za in [ZA, ZA2] {
        assert_eq!(
            sends(&without, ELKIEN, za),
            doc(DocumentKind::Melding),
            "{za}"
        );
        assert_eq!(credited(&without, ELKIEN, za), vec![i]);
        assert!(sends(&without, ACCOLADE, za).is_empty());
    }
    assert!(sends(&without, ELKIEN, "zorgaanbieder:onbekend").is_empty());
}

#[test]
fn afspraak_7g_melding_op_hoofdlijnen_aan_de_toegewezen_corporatie() {
    let (i, fl) = flow("melding op hoofdlijnen aan de toegewezen corporatie");
    assert_basis(&fl.basis, "Afspraak 4g en 7g");
    assert_basis(&fl.basis, "Bijlage 1, 4a");
    for za in [ZA, ZA2] {
        let with = case(Plaatsing, true, MO);
        assert_eq!(
            sends(&with, za, ELKIEN),
            set(MELDING_OP_HOOFDLIJNEN).union(set(ONDERSTEUNINGSVERLOOP_OP_HOOFDLIJNEN)),
            "{za}"
        );
        assert!(credited(&with, za, ELKIEN).contains(&i));
        assert!(
            sends(&case(Plaatsing, false, MO), za, ELKIEN).is_empty(),
            "no consent"
        );
        assert!(sends(&with, za, ACCOLADE).is_empty(), "not assigned");
    }
    // The content of the care stays out.
    for field in ["melding.omschrijving", "melding.afhandeling"] {
        assert!(
            !receives(
                Role::Corporatie,
                ToegewezenCorporatie,
                Plaatsing,
                true,
                MO,
                field
            ),
            "{field}"
        );
    }
}

// ---------------------------------------------------------------------------------------------------------------
// [[never]] of the policy itself

#[test]
fn bijlage_1_1d_zorgaanbieder_ziet_de_reden_voor_een_andere_gemeente_niet() {
    let name =
        "zorgaanbieder ziet de afwegingen van het Transferpunt over een andere gemeente niet";
    assert_basis(&invariant(name).basis, "Bijlage 1, 1d");
    assert!(!invariant(name).baseline);
    for c in Context::all().filter(|c| c.role == Role::Zorgaanbieder && c.access == Access::Receive)
    {
        for field in [
            "beoordeling.reden_andere_gemeente",
            "beoordeling.toelichting_andere_gemeente",
        ] {
            assert!(!p().decide(&c.with(f(field))), "{c:?} {field}");
        }
    }
    // It does see which gemeente was chosen.
    assert!(receives(
        Role::Zorgaanbieder,
        BetrokkenZorgaanbieder,
        Bemiddeling,
        true,
        MO,
        "beoordeling.gekozen_uitstroomgemeente"
    ));
    assert_refused_for(
        r#"[[flows]]
name = "reden naar de zorgaanbieder"
from = "transferpunt"
to = "zorgaanbieder"
relations = ["betrokken_zorgaanbieder"]
requires = ["toestemming"]
fields = ["beoordeling.reden_andere_gemeente"]
purpose = "test"
basis = "test""#,
        name,
    );
}

#[test]
fn afspraak_1g_corporatie_ziet_de_weigering_van_een_andere_corporatie_niet() {
    let name = "corporatie ziet de weigering van een andere corporatie niet";
    assert_basis(&invariant(name).basis, "Afspraak 1g");
    for c in Context::all().filter(|c| c.role == Role::Corporatie && c.access == Access::Receive) {
        for field in [
            "reactie.reden_weigering",
            "reactie.toelichting_weigering",
            "beoordeling.corporatie_historie",
        ] {
            assert!(!p().decide(&c.with(f(field))), "{c:?} {field}");
        }
    }
    // But it writes its own refusal.
    assert!(writes(
        Role::Corporatie,
        ToegewezenCorporatie,
        "reactie.reden_weigering"
    ));
    assert_refused_for(
        r#"[[flows]]
name = "historie naar de corporatie"
from = "transferpunt"
to = "corporatie"
relations = ["toegewezen_corporatie"]
requires = ["toestemming"]
fields = ["beoordeling.corporatie_historie"]
purpose = "test"
basis = "test""#,
        name,
    );
}

// ---------------------------------------------------------------------------------------------------------------
// [[never]] of the baseline (invariants.toml): kept whatever the policy says

fn bad_flow_to_corporatie(relation: &str, requires: &str, field: &str) -> String {
    format!(
        r#"[[flows]]
name = "te veel naar de corporatie"
from = "transferpunt"
to = "corporatie"
relations = ["{relation}"]
requires = [{requires}]
fields = ["{field}"]
purpose = "test"
basis = "test""#
    )
}

#[test]
fn bijlage_1_4a_corporatie_ziet_nooit_ondersteuningsplan() {
    let name = "corporatie ziet nooit het ondersteuningsplan";
    assert!(invariant(name).baseline);
    assert_basis(&invariant(name).basis, "Bijlage 1, 4a");
    for c in Context::all().filter(|c| c.role == Role::Corporatie && c.access == Access::Receive) {
        assert!(
            p().allowed_in(&c)
                .intersection(doc(DocumentKind::Ondersteuningsplan))
                .is_empty(),
            "{c:?}"
        );
    }
    // Even the omklap conditions come to it through the lease it signs, not through the plan.
    assert!(!receives(
        Role::Corporatie,
        ToegewezenCorporatie,
        Plaatsing,
        true,
        BW,
        "ondersteuningsplan.voorwaarden_omklap"
    ));
    assert!(receives(
        Role::Corporatie,
        ToegewezenCorporatie,
        Plaatsing,
        true,
        BW,
        "aanmeldbericht.ondersteuningsprofiel"
    ));
    assert_refused_for(
        &bad_flow_to_corporatie(
            "toegewezen_corporatie",
            "\"toestemming\"",
            "ondersteuningsplan.*",
        ),
        name,
    );
}

#[test]
fn bijlage_1_4a_corporatie_ziet_nooit_reden_dakloosheid() {
    let name = "corporatie ziet nooit de reden van dakloosheid";
    assert!(invariant(name).baseline);
    assert_basis(&invariant(name).basis, "Bijlage 1, 4a");
    for c in Context::all().filter(|c| c.role == Role::Corporatie && c.access == Access::Receive) {
        assert!(
            !p().decide(&c.with(f("registratie.reden_dakloosheid"))),
            "{c:?}"
        );
        assert!(
            !p().decide(&c.with(f("registratie.datum_start_dakloosheid"))),
            "{c:?}"
        );
    }
    assert!(receives(
        Role::Corporatie,
        ToegewezenCorporatie,
        Bemiddeling,
        true,
        MO,
        "aanmeldbericht.leefsituatie"
    ));
    assert_refused_for(
        &bad_flow_to_corporatie(
            "toegewezen_corporatie",
            "\"toestemming\"",
            "registratie.reden_dakloosheid",
        ),
        name,
    );
}

#[test]
fn bijlage_1_4a_corporatie_ziet_nooit_inkomen_of_schulden() {
    let name = "corporatie ziet nooit inkomen of schulden";
    assert!(invariant(name).baseline);
    assert_basis(&invariant(name).basis, "Bijlage 1, 4a");
    let financieel = set(&[
        "aanmelding.hoofdinkomen",
        "aanmelding.gemeente_participatie_uitkering",
        "aanmelding.schuldenproblematiek",
        "aanmelding.vorm_ondersteuning_schulden",
        "bemiddelingsverzoek.inkomen_en_schulden_in_beeld",
        "ondersteuningsplan.financien_verzekering_inkomen",
        "ondersteuningsplan.schulden_schuldhulpverlening",
    ]);
    for c in Context::all().filter(|c| c.role == Role::Corporatie && c.access == Access::Receive) {
        assert!(
            p().allowed_in(&c).intersection(financieel).is_empty(),
            "{c:?}"
        );
    }
    assert_refused_for(
        &bad_flow_to_corporatie(
            "toegewezen_corporatie",
            "\"toestemming\"",
            "aanmelding.hoofdinkomen",
        ),
        name,
    );
    assert_refused_for(
        &bad_flow_to_corporatie(
            "toegewezen_corporatie",
            "\"toestemming\"",
            "aanmelding.schuldenproblematiek",
        ),
        name,
    );
}

#[test]
fn bijlage_3_corporatie_alleen_voor_toegewezen_casussen() {
    let name = "corporatie alleen voor toegewezen casussen";
    assert!(invariant(name).baseline);
    assert_basis(&invariant(name).basis, "Bijlage 3, fase vervolg wonen");
    for rel in [EerdereCorporatie, Geen] {
        for c in Context::all().filter(|c| {
            c.role == Role::Corporatie && c.relation == rel && c.access == Access::Receive
        }) {
            assert!(p().allowed_in(&c).is_empty(), "{c:?}");
        }
    }
    assert!(receives(
        Role::Corporatie,
        ToegewezenCorporatie,
        Bemiddeling,
        true,
        MO,
        "aanmeldbericht.achternaam_initialen"
    ));
    assert!(!receives(
        Role::Corporatie,
        EerdereCorporatie,
        Bemiddeling,
        true,
        MO,
        "aanmeldbericht.achternaam_initialen"
    ));
    assert_refused_for(
        &bad_flow_to_corporatie(
            "eerdere_corporatie",
            "\"toestemming\"",
            "aanmeldbericht.leefsituatie",
        ),
        name,
    );
}

#[test]
fn bijlage_3_corporatie_alleen_met_toestemming() {
    let name = "corporatie alleen met toestemming";
    assert!(invariant(name).baseline);
    assert_basis(&invariant(name).basis, "Bijlage 3");
    for c in Context::all()
        .filter(|c| c.role == Role::Corporatie && !c.consent && c.access == Access::Receive)
    {
        assert!(p().allowed_in(&c).is_empty(), "{c:?}");
    }
    assert!(receives(
        Role::Corporatie,
        ToegewezenCorporatie,
        Plaatsing,
        true,
        BW,
        "aanmeldbericht.beoogde_uitstroomgemeente"
    ));
    assert!(!receives(
        Role::Corporatie,
        ToegewezenCorporatie,
        Plaatsing,
        false,
        BW,
        "aanmeldbericht.beoogde_uitstroomgemeente"
    ));
    assert_refused_for(
        &bad_flow_to_corporatie("toegewezen_corporatie", "", "aanmeldbericht.leefsituatie"),
        name,
    );
}

#[test]
fn afspraak_3h_huurdersorganisatie_ontvangt_geen_persoonsgegevens() {
    let name = "huurdersorganisatie ontvangt geen persoonsgegevens";
    assert!(invariant(name).baseline);
    assert_basis(&invariant(name).basis, "Afspraak 3h");
    for c in Context::all().filter(|c| c.role == Role::Huurdersorganisatie) {
        assert!(p().allowed_in(&c).is_empty(), "{c:?}");
    }
    // Not even a melding's status travels to it.
    assert!(
        sends(
            &case(Plaatsing, true, MO),
            TP,
            "huurdersorganisatie:huurdersbelang"
        )
        .is_empty()
    );
    assert_refused_for(
        r#"[[flows]]
name = "status naar de huurdersorganisatie"
from = "transferpunt"
to = "huurdersorganisatie"
relations = ["geen"]
requires = ["toestemming"]
fields = ["melding.status"]
purpose = "test"
basis = "test""#,
        name,
    );
    assert_refused_for(
        r#"[[writes]]
name = "huurdersorganisatie schrijft"
role = "huurdersorganisatie"
relations = ["geen"]
fields = ["melding.omschrijving"]
basis = "test""#,
        name,
    );
}

#[test]
fn bijlage_3_bsn_nergens_heen_zonder_toestemming() {
    let name = "BSN nergens heen zonder toestemming";
    assert!(invariant(name).baseline);
    assert_basis(&invariant(name).basis, "Bijlage 3");
    let bsn = set(&["registratie.bsn", "aanmeldbericht.bsn"]);
    let mut with_consent = FieldSet::EMPTY;
    for c in Context::all().filter(|c| c.access == Access::Receive) {
        let got = p().allowed_in(&c).intersection(bsn);
        if c.consent {
            with_consent = with_consent.union(got);
        } else {
            assert!(got.is_empty(), "{c:?}");
        }
    }
    assert_eq!(
        with_consent, bsn,
        "with consent both BSN fields do travel somewhere"
    );
    assert!(receives(
        Role::Gemeente,
        Verblijfgemeente,
        Aanmelding,
        true,
        MO,
        "registratie.bsn"
    ));
    assert!(!receives(
        Role::Gemeente,
        Verblijfgemeente,
        Aanmelding,
        false,
        MO,
        "registratie.bsn"
    ));
    assert_refused_for(
        r#"[[flows]]
name = "BSN naar de gemeente zonder toestemming"
from = "transferpunt"
to = "gemeente"
relations = ["uitstroomgemeente"]
fields = ["registratie.bsn"]
purpose = "test"
basis = "test""#,
        name,
    );
}

#[test]
fn afspraak_8b_geen_gegevens_aan_partners_zonder_betrokkenheid() {
    let name = "geen gegevens aan partners zonder betrokkenheid";
    assert!(invariant(name).baseline);
    assert_basis(&invariant(name).basis, "Afspraak 8b");
    for c in Context::all().filter(|c| c.relation == Geen) {
        assert!(p().allowed_in(&c).is_empty(), "{c:?}");
    }
    assert!(sends(&case(Plaatsing, true, MO), TP, "gemeente:GM0098").is_empty());
    assert!(sends(&case(Plaatsing, true, MO), TP, "zorgaanbieder:onbekend").is_empty());
    assert_refused_for(
        r#"[[flows]]
name = "melding aan iedere gemeente"
from = "transferpunt"
to = "gemeente"
relations = ["geen"]
requires = ["toestemming"]
fields = ["melding.soort"]
purpose = "test"
basis = "test""#,
        name,
    );
}

#[test]
fn afspraak_1g_corporatie_schrijft_alleen_haar_reactie_en_meldingen() {
    let name = "corporatie schrijft alleen haar reactie en meldingen";
    assert!(invariant(name).baseline);
    assert_basis(&invariant(name).basis, "Afspraak 1g-1k");
    for rel in Role::Corporatie.relations() {
        for field in FieldId::all() {
            let allowed = writes(Role::Corporatie, *rel, &field.qualified_name());
            let own = matches!(
                field.document(),
                DocumentKind::Reactie | DocumentKind::Melding | DocumentKind::Huurverloop
            );
            assert!(!allowed || own, "{rel} writes {field}");
        }
    }
    assert_refused_for(
        r#"[[writes]]
name = "corporatie corrigeert het aanmeldbericht"
role = "corporatie"
relations = ["toegewezen_corporatie"]
fields = ["aanmeldbericht.leefsituatie"]
basis = "test""#,
        name,
    );
}

#[test]
fn afspraak_4b_alleen_het_gebiedsteam_schrijft_het_ondersteuningsplan() {
    let name = "alleen het gebiedsteam schrijft het ondersteuningsplan";
    assert!(invariant(name).baseline);
    assert_basis(&invariant(name).basis, "Afspraak 4b");
    for c in Context::all().filter(|c| c.access == Access::Write) {
        let plan = p()
            .allowed_in(&c)
            .intersection(doc(DocumentKind::Ondersteuningsplan));
        let gebiedsteam = c.role == Role::Gemeente && c.relation == Uitstroomgemeente;
        assert_eq!(plan.is_empty(), !gebiedsteam, "{c:?}");
    }
    assert_refused_for(
        r#"[[writes]]
name = "verblijfgemeente schrijft mee"
role = "gemeente"
relations = ["verblijfgemeente"]
fields = ["ondersteuningsplan.netwerk"]
basis = "test""#,
        name,
    );
    assert_refused_for(
        r#"[[writes]]
name = "zorgaanbieder schrijft mee"
role = "zorgaanbieder"
relations = ["ondersteunende_zorgaanbieder"]
fields = ["ondersteuningsplan.daginvulling"]
basis = "test""#,
        name,
    );
}

// ---------------------------------------------------------------------------------------------------------------
// The Transferpunt's answer to a melding presented to it (Afspraak 7d-7g; issue #17)

/// Afspraak 7d: the Transferpunt organises the overleg and records it; only the Transferpunt writes a voorlegging.
#[test]
fn afspraak_7d_alleen_het_transferpunt_legt_het_overleg_vast() {
    let rule =
        write_rule("Transferpunt legt de voorlegging, het overleg en de bindende afspraken vast");
    assert_basis(&rule.basis, "Afspraak 7d");
    assert_basis(&rule.basis, "7e");
    for field in ["voorlegging.afspraken", "voorlegging.afhandeling"] {
        assert!(writes(Role::Transferpunt, Transferpunt, field), "{field}");
        assert!(
            !writes(Role::Corporatie, ToegewezenCorporatie, field),
            "{field}"
        );
        assert!(
            !writes(Role::Zorgaanbieder, BetrokkenZorgaanbieder, field),
            "{field}"
        );
        assert!(!writes(Role::Gemeente, Uitstroomgemeente, field), "{field}");
    }
}

/// Afspraak 7e and 7g (Bijlage 1, 7g: "voor zover de privacyregels dit toelaten"): the melder gets the
/// Transferpunt's terugkoppeling and the binding afspraken, in every phase — the corporatie only with consent (its
/// baseline invariant), the zorgaanbieder and the gemeente also without, as the meldingen themselves travel.
#[test]
fn afspraak_7g_terugkoppeling_aan_de_melder() {
    let back = set(TERUGKOPPELING_AAN_MELDER);
    for (name, to, role, relations) in [
        (
            "terugkoppeling van het Transferpunt aan de melder (corporatie)",
            ELKIEN,
            Role::Corporatie,
            &[ToegewezenCorporatie][..],
        ),
        (
            "terugkoppeling van het Transferpunt aan de melder (zorgaanbieder)",
            ZA,
            Role::Zorgaanbieder,
            &[BetrokkenZorgaanbieder, OndersteunendeZorgaanbieder][..],
        ),
        (
            "terugkoppeling van het Transferpunt aan de melder (gemeente)",
            GM_UITSTROOM,
            Role::Gemeente,
            &[Verblijfgemeente, Herkomstgemeente, Uitstroomgemeente][..],
        ),
    ] {
        let (i, fl) = flow(name);
        assert_basis(&fl.basis, "Afspraak 7e");
        assert_basis(&fl.basis, "7g");
        assert_eq!(fl.fields, back, "{name}");
        for phase in [Plaatsing, Afgesloten] {
            let c = case(phase, true, BW);
            let got = sends(&c, TP, to).intersection(doc(DocumentKind::Voorlegging));
            assert_eq!(got, back, "{name} {phase}");
            assert!(credited(&c, TP, to).contains(&i), "{name}");
        }
        let without =
            sends(&case(Plaatsing, false, MO), TP, to).intersection(doc(DocumentKind::Voorlegging));
        if role == Role::Corporatie {
            assert!(without.is_empty(), "corporatie without consent");
        } else {
            assert_eq!(without, back, "{name} without consent");
        }
        for rel in relations {
            assert!(receives(
                role,
                *rel,
                Plaatsing,
                true,
                BW,
                "voorlegging.terugkoppeling_aan_melder"
            ));
        }
        // Not to a partner that does not relate to the case, nor to a corporatie that refused.
        assert!(!receives(
            role,
            Geen,
            Plaatsing,
            true,
            BW,
            "voorlegging.terugkoppeling_aan_melder"
        ));
    }
    assert!(
        sends(&case(Plaatsing, true, BW), TP, ACCOLADE)
            .intersection(doc(DocumentKind::Voorlegging))
            .is_empty(),
        "eerdere corporatie"
    );
}

/// Bijlage 1, 7g: the Transferpunt's own afhandeling, who took part and why the uitstromer was not there never
/// travel back, in any case state, to any role but the Transferpunt; and no policy may let them.
#[test]
fn bijlage_1_7g_de_interne_afhandeling_blijft_bij_het_transferpunt() {
    for role in [Role::Corporatie, Role::Zorgaanbieder, Role::Gemeente] {
        let name = format!(
            "de interne afhandeling van een voorlegging blijft bij het Transferpunt ({})",
            role.name()
        );
        assert_basis(&invariant(&name).basis, "Bijlage 1, 7g");
        for c in Context::all().filter(|c| c.role == role && c.access == Access::Receive) {
            let got = p().allowed_in(&c);
            for field in [
                "voorlegging.afhandeling",
                "voorlegging.deelnemers",
                "voorlegging.reden_uitstromer_afwezig",
            ] {
                assert!(!got.contains(f(field)), "{c:?} {field}");
            }
        }
        let relation = match role {
            Role::Corporatie => "toegewezen_corporatie",
            Role::Zorgaanbieder => "betrokken_zorgaanbieder",
            _ => "uitstroomgemeente",
        };
        assert_refused_for(
            &format!(
                "[[flows]]\nname = \"lek\"\nfrom = \"transferpunt\"\nto = \"{}\"\nrelations = [\"{relation}\"]\n\
                 requires = [\"toestemming\"]\nfields = [\"voorlegging.afhandeling\"]\npurpose = \"x\"\n\
                 basis = \"Afspraak 7\"\n",
                role.name()
            ),
            &name,
        );
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Life after placement (issue #17 item 3): huurverloop (Afspraak 2d-2h) and ondersteuningsverloop (4e, 5, 6)

#[test]
fn afspraak_2f_verhurende_corporatie_legt_het_huurverloop_vast() {
    let rule = write_rule("verhurende corporatie legt het huurverloop vast");
    assert_basis(&rule.basis, "Afspraak 2d-2h");
    for field in [
        "huurverloop.soort",
        "huurverloop.uitkomst_evaluatie",
        "huurverloop.datum_overleg",
    ] {
        assert!(
            writes(Role::Corporatie, ToegewezenCorporatie, field),
            "{field}"
        );
        assert!(
            !writes(Role::Corporatie, EerdereCorporatie, field),
            "{field}"
        );
        assert!(
            !writes(Role::Zorgaanbieder, BetrokkenZorgaanbieder, field),
            "{field}"
        );
        assert!(!writes(Role::Gemeente, Uitstroomgemeente, field), "{field}");
        assert!(!writes(Role::Transferpunt, Transferpunt, field), "{field}");
    }
}

#[test]
fn afspraak_4e_zorgaanbieder_legt_het_ondersteuningsverloop_vast() {
    let rule = write_rule("zorgaanbieder legt het ondersteuningsverloop vast");
    assert_basis(&rule.basis, "Afspraak 4e");
    assert_basis(&rule.basis, "5a en 6c");
    for rel in [BetrokkenZorgaanbieder, OndersteunendeZorgaanbieder] {
        assert!(writes(
            Role::Zorgaanbieder,
            rel,
            "ondersteuningsverloop.einddatum_meeloop"
        ));
    }
    assert!(!writes(
        Role::Zorgaanbieder,
        Geen,
        "ondersteuningsverloop.soort"
    ));
    assert!(!writes(
        Role::Corporatie,
        ToegewezenCorporatie,
        "ondersteuningsverloop.soort"
    ));
}

#[test]
fn afspraak_5c_gemeente_van_uitstroom_legt_op_en_afschalen_en_waakvlam_vast() {
    let rule = write_rule("gemeente van uitstroom legt op- en afschalen en waakvlam vast");
    assert_basis(&rule.basis, "5c");
    assert_basis(&rule.basis, "6a");
    assert!(writes(
        Role::Gemeente,
        Uitstroomgemeente,
        "ondersteuningsverloop.aangepaste_beschikking"
    ));
    for rel in [Verblijfgemeente, Herkomstgemeente] {
        assert!(
            !writes(Role::Gemeente, rel, "ondersteuningsverloop.soort"),
            "{rel}"
        );
    }
}

#[test]
fn afspraak_3d6_huurverloop_naar_het_transferpunt() {
    let (i, fl) = flow("huurverloop naar het Transferpunt");
    assert_basis(&fl.basis, "Afspraak 3d.4 en 3d.6");
    for phase in [Plaatsing, Afgesloten] {
        let with = case(phase, true, BW);
        assert!(credited(&with, ELKIEN, TP).contains(&i));
        assert!(sends(&with, ELKIEN, TP).covers_document(DocumentKind::Huurverloop));
        // Without consent no huurverloop; from a corporatie that refused, nothing of it.
        assert!(
            sends(&case(phase, false, BW), ELKIEN, TP)
                .intersection(doc(DocumentKind::Huurverloop))
                .is_empty()
        );
        assert!(
            sends(&with, ACCOLADE, TP)
                .intersection(doc(DocumentKind::Huurverloop))
                .is_empty()
        );
    }
}

#[test]
fn afspraak_2h_huurverloop_naar_de_gemeente_van_uitstroom() {
    let (i, fl) = flow("huurverloop naar de gemeente van uitstroom");
    assert_basis(&fl.basis, "Afspraak 2f en 2h");
    let huur = doc(DocumentKind::Huurverloop);
    let with = case(Afgesloten, true, MO);
    // Passed on by the Transferpunt, which knows who is involved; the corporatie sends no huurverloop to a
    // gemeente itself.
    assert_eq!(sends(&with, TP, GM_UITSTROOM).intersection(huur), huur);
    assert!(credited(&with, TP, GM_UITSTROOM).contains(&i));
    for gm in [GM_VERBLIJF, GM_HERKOMST] {
        assert!(sends(&with, TP, gm).intersection(huur).is_empty(), "{gm}");
    }
    assert!(
        sends(&with, ELKIEN, GM_UITSTROOM)
            .intersection(huur)
            .is_empty()
    );
    assert!(
        sends(&case(Afgesloten, false, MO), TP, GM_UITSTROOM)
            .intersection(huur)
            .is_empty()
    );
    // Only after placement.
    assert!(
        sends(&case(Bemiddeling, true, MO), TP, GM_UITSTROOM)
            .intersection(huur)
            .is_empty()
    );
}

#[test]
fn afspraak_2c_huurverloop_naar_de_zorgaanbieder() {
    let (i, fl) = flow("huurverloop naar de zorgaanbieder");
    assert_basis(&fl.basis, "Afspraak 2c, 2f en 2h");
    let huur = doc(DocumentKind::Huurverloop);
    let with = case(Plaatsing, true, BW);
    for za in [ZA, ZA2] {
        assert!(
            sends(&with, TP, za).covers_document(DocumentKind::Huurverloop),
            "{za}"
        );
        assert!(credited(&with, TP, za).contains(&i));
        assert!(
            sends(&case(Plaatsing, false, BW), TP, za)
                .intersection(huur)
                .is_empty()
        );
        assert!(sends(&with, ELKIEN, za).intersection(huur).is_empty());
    }
    assert!(sends(&with, TP, "zorgaanbieder:onbekend").is_empty());
}

#[test]
fn afspraak_3c4_ondersteuningsverloop_van_de_zorgaanbieder_naar_het_transferpunt() {
    let (i, fl) = flow("ondersteuningsverloop van de zorgaanbieder naar het Transferpunt");
    assert_basis(&fl.basis, "Afspraak 3c.4");
    for za in [ZA, ZA2] {
        let with = case(Afgesloten, true, BW);
        assert!(
            sends(&with, za, TP).covers_document(DocumentKind::Ondersteuningsverloop),
            "{za}"
        );
        assert!(credited(&with, za, TP).contains(&i));
        assert!(
            sends(&case(Afgesloten, false, BW), za, TP)
                .intersection(doc(DocumentKind::Ondersteuningsverloop))
                .is_empty()
        );
    }
}

#[test]
fn afspraak_4g_ondersteuningsverloop_van_de_zorgaanbieder_naar_de_gemeente_van_uitstroom() {
    let (i, fl) = flow("ondersteuningsverloop van de zorgaanbieder naar de gemeente van uitstroom");
    assert_basis(&fl.basis, "Afspraak 4g");
    let with = case(Plaatsing, true, MO);
    assert!(sends(&with, ZA2, GM_UITSTROOM).covers_document(DocumentKind::Ondersteuningsverloop));
    assert!(credited(&with, ZA2, GM_UITSTROOM).contains(&i));
    for gm in [GM_VERBLIJF, GM_HERKOMST] {
        assert!(
            sends(&with, ZA2, gm)
                .intersection(doc(DocumentKind::Ondersteuningsverloop))
                .is_empty(),
            "{gm}"
        );
    }
}

#[test]
fn afspraak_5c_ondersteuningsverloop_van_de_gemeente_naar_het_transferpunt() {
    let (i, fl) = flow("ondersteuningsverloop van de gemeente naar het Transferpunt");
    assert_basis(&fl.basis, "Afspraak 5c en 6a");
    let with = case(Afgesloten, true, BW);
    assert!(sends(&with, GM_UITSTROOM, TP).covers_document(DocumentKind::Ondersteuningsverloop));
    assert!(credited(&with, GM_UITSTROOM, TP).contains(&i));
    assert!(
        sends(&with, GM_VERBLIJF, TP)
            .intersection(doc(DocumentKind::Ondersteuningsverloop))
            .is_empty()
    );
}

#[test]
fn afspraak_6c_ondersteuningsverloop_van_de_gemeente_naar_de_zorgaanbieder() {
    let (i, fl) = flow("ondersteuningsverloop van de gemeente naar de zorgaanbieder");
    assert_basis(&fl.basis, "Afspraak 4f, 5c en 6c");
    let with = case(Afgesloten, true, BW);
    for za in [ZA, ZA2] {
        assert!(
            sends(&with, GM_UITSTROOM, za).covers_document(DocumentKind::Ondersteuningsverloop)
        );
        assert!(credited(&with, GM_UITSTROOM, za).contains(&i));
        assert!(sends(&case(Afgesloten, false, BW), GM_UITSTROOM, za).is_empty());
    }
}

#[test]
fn afspraak_4g_ondersteuningsverloop_op_hoofdlijnen_aan_de_verhurende_corporatie() {
    let (i, fl) = flow("ondersteuningsverloop op hoofdlijnen aan de verhurende corporatie");
    assert_basis(&fl.basis, "Afspraak 2e en 4g");
    let with = case(Afgesloten, true, MO);
    for za in [ZA, ZA2] {
        assert_eq!(
            sends(&with, za, ELKIEN).intersection(doc(DocumentKind::Ondersteuningsverloop)),
            set(ONDERSTEUNINGSVERLOOP_OP_HOOFDLIJNEN)
        );
        assert!(credited(&with, za, ELKIEN).contains(&i));
        assert!(
            sends(&with, za, ACCOLADE).is_empty(),
            "not the corporatie that refused"
        );
        assert!(
            sends(&case(Afgesloten, false, MO), za, ELKIEN).is_empty(),
            "no consent"
        );
    }
}

#[test]
fn bijlage_1_4a_corporatie_ziet_de_inhoud_van_de_ondersteuning_na_uitstroom_niet() {
    let name = "corporatie ziet de inhoud van de ondersteuning na uitstroom niet";
    assert!(!invariant(name).baseline);
    assert_basis(&invariant(name).basis, "Bijlage 1, 4a");
    for phase in Fase::ALL {
        for field in [
            "ondersteuningsverloop.toelichting",
            "ondersteuningsverloop.vorm_waakvlam",
        ] {
            assert!(!receives(
                Role::Corporatie,
                ToegewezenCorporatie,
                phase,
                true,
                BW,
                field
            ));
        }
    }
    assert_refused_for(
        r#"[[flows]]
name = "waakvlam aan de corporatie"
from = "zorgaanbieder"
from_relations = ["betrokken_zorgaanbieder"]
to = "corporatie"
relations = ["toegewezen_corporatie"]
requires = ["toestemming"]
fields = ["ondersteuningsverloop.vorm_waakvlam"]
purpose = "test"
basis = "test""#,
        name,
    );
}

/// A case at the corporatie that rents under a 3-partijen lease, with a melding and an earlier huurverloop.
fn drie_partijen_case(melding: Option<serde_json::Value>, omklap: bool) -> CaseDocuments {
    let g = Gemeenten::friesland();
    let v = Validator::new(&g, date!(2026 - 06 - 01));
    let mut docs = CaseDocuments::new();
    docs.insert(
        v.form(
            DocumentKind::Reactie,
            &json!({"besluit": "geaccepteerd", "datum_besluit": "2024-01-10",
                    "soort_huurcontract": "drie_partijen", "datum_ondertekening": "2024-03-01",
                    "einddatum_drie_partijen": "2026-03-01", "omklapvoorwaarden": "huur op tijd"}),
        )
        .unwrap(),
    );
    if let Some(m) = melding {
        docs.insert(v.form(DocumentKind::Melding, &m).unwrap());
    }
    if omklap {
        docs.insert(
            v.form(
                DocumentKind::Huurverloop,
                &json!({"soort": "omklap_evaluatie", "datum": "2025-03-01", "doelen_behaald": "ja",
                        "uitkomst_evaluatie": "omklap", "datum_omklap": "2025-03-01"}),
            )
            .unwrap(),
        );
    }
    docs
}

#[test]
fn afspraak_2h_no_eviction_during_a_3_partijen_lease_without_a_settled_overleg() {
    let g = Gemeenten::friesland();
    let v = Validator::new(&g, date!(2026 - 06 - 01));
    let eviction = v
        .form(
            DocumentKind::Huurverloop,
            &json!({"soort": "huisuitzetting", "datum": "2025-11-01", "datum_overleg": "2025-10-01"}),
        )
        .unwrap();
    let overleg = |status: &str, afgehandeld: Option<&str>| {
        let mut m = json!({"datum_melding": "2025-09-20", "melder": "corporatie",
            "soort": "dreigende_huisuitzetting", "ave_niveau": 2, "omschrijving": "huurachterstand",
            "status": status});
        if let Some(d) = afgehandeld {
            m["datum_afgehandeld"] = json!(d);
            m["afhandeling"] = json!("overleg gevoerd met gemeente en zorgaanbieder");
        }
        m
    };
    // No overleg at all: refused, naming the field and the rule.
    let err = v
        .in_case(&eviction, &drie_partijen_case(None, false))
        .unwrap_err();
    assert!(err.has("soort", "huisuitzetting_zonder_overleg"), "{err}");
    assert!(err.to_string().contains("Afspraak 2h"), "{err}");
    // A melding still open, or settled only after the eviction: refused.
    let open = drie_partijen_case(Some(overleg("in_behandeling", None)), false);
    assert!(v.in_case(&eviction, &open).is_err());
    let late = drie_partijen_case(Some(overleg("afgehandeld", Some("2025-11-15"))), false);
    assert!(v.in_case(&eviction, &late).is_err());
    // Settled before: accepted.
    let settled = drie_partijen_case(Some(overleg("afgehandeld", Some("2025-10-01"))), false);
    assert!(v.in_case(&eviction, &settled).is_ok());
    // After the omklap the lease is a regular one: Afspraak 2h no longer applies.
    assert!(
        v.in_case(&eviction, &drie_partijen_case(None, true))
            .is_ok()
    );
    // An omklap evaluation needs no overleg.
    let evaluatie = v
        .form(
            DocumentKind::Huurverloop,
            &json!({"soort": "omklap_evaluatie", "datum": "2025-03-01", "doelen_behaald": "gedeeltelijk",
                    "uitkomst_evaluatie": "later_opnieuw"}),
        )
        .unwrap();
    assert!(
        v.in_case(&evaluatie, &drie_partijen_case(None, false))
            .is_ok()
    );
}

#[test]
fn afspraak_2f_an_omklap_evaluation_states_its_outcome_and_an_omklap_its_date() {
    let g = Gemeenten::friesland();
    let v = Validator::new(&g, date!(2026 - 06 - 01));
    let err = v
        .form(
            DocumentKind::Huurverloop,
            &json!({"soort": "omklap_evaluatie", "datum": "2025-03-01"}),
        )
        .unwrap_err();
    assert!(err.has("uitkomst_evaluatie", "verplicht_omdat"), "{err}");
    assert!(err.has("doelen_behaald", "verplicht_omdat"), "{err}");
    let err = v
        .form(
            DocumentKind::Huurverloop,
            &json!({"soort": "omklap_evaluatie", "datum": "2025-03-01", "doelen_behaald": "ja",
                    "uitkomst_evaluatie": "omklap"}),
        )
        .unwrap_err();
    assert!(err.has("datum_omklap", "verplicht_omdat"), "{err}");
    let err = v
        .form(
            DocumentKind::Ondersteuningsverloop,
            &json!({"soort": "waakvlam", "datum": "2025-03-01"}),
        )
        .unwrap_err();
    assert!(err.has("vorm_waakvlam", "verplicht_omdat"), "{err}");
    // The old zorgaanbieder's walk-along cannot end before it starts.
    let err = v
        .form(
            DocumentKind::Ondersteuningsverloop,
            &json!({"soort": "meeloop_oude_zorgaanbieder", "datum": "2025-03-01",
                    "einddatum_meeloop": "2025-02-01"}),
        )
        .unwrap_err();
    assert!(err.has("einddatum_meeloop", "datum_volgorde"), "{err}");
}
