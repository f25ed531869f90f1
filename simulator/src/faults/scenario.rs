//! The scenario a fault run plays: three cases across six partners, written step by step.
//!
//! Case 1 (MO, Leeuwarden) goes the whole way: registered with consent, a bemiddelingsverzoek, the Transferpunt's
//! assessment, the gemeente's akkoord, a first corporatie that refuses with a reason, a second that accepts, and
//! the placement. Case 2 (BW, from Heerenveen) is assigned to the other corporatie, which accepts. Case 3 has no
//! consent: nothing of it may leave the zorgaanbieder.
//!
//! Every case carries canaries — a BSN (elfproef), a name, a reden_dakloosheid, for case 1 a refusal's
//! toelichting — unique to the seed, to be searched for as raw bytes in every node's files afterwards.
//!
//! A step that needs data from another node first waits until the writer holds it; the data's route (author,
//! relays, writer) is declared, so a fault plan can tell from the scenario alone — not from timing — which step
//! cannot be taken while a partition or crash lasts.

use policies::DocumentKind as D;
use serde_json::{Value, json};

/// The Transferpunt.
pub const TP: &str = "transferpunt:sdf";
/// Leeuwarden.
pub const LWD: &str = "gemeente:GM0080";
/// Heerenveen.
pub const HRV: &str = "gemeente:GM0074";
/// A corporatie.
pub const ACC: &str = "corporatie:accolade";
/// Another corporatie.
pub const ELK: &str = "corporatie:elkien";
/// The zorgaanbieder.
pub const ZA: &str = "zorgaanbieder:kwadrant";

/// The partners, in id order.
pub const PARTNERS: [&str; 6] = [ACC, ELK, HRV, LWD, TP, ZA];

/// Who acts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    /// A fixed partner.
    Node(&'static str),
    /// The corporatie the case is assigned to at this point.
    Assigned,
}

/// What a step waits for: the writer holds `section.field == value`, which came along `route`.
#[derive(Debug, Clone)]
pub struct Need {
    /// The section (`{toegewezen}` stands for the assigned corporatie).
    pub section: &'static str,
    /// The field.
    pub field: &'static str,
    /// Its value (`Value::Null`: any value).
    pub value: Value,
    /// The data's way: its author first, then every node relaying it; the writer is the last hop.
    pub route: Vec<Actor>,
}

/// What a step does.
#[derive(Debug, Clone)]
pub enum Act {
    /// Create the case at the writer (the case's first step).
    Create,
    /// Write a whole form.
    Write(D, Value),
    /// The Transferpunt assigns the next corporatie (round-robin).
    Assign,
}

/// One step.
#[derive(Debug, Clone)]
pub struct Step {
    /// The case (1-based).
    pub case: usize,
    /// The writer.
    pub at: Actor,
    /// What it waits for first.
    pub need: Option<Need>,
    /// What it does.
    pub act: Act,
}

/// The canaries of one case.
#[derive(Debug, Clone)]
pub struct Canaries {
    /// A BSN that passes the elfproef.
    pub bsn: String,
    /// The client's name.
    pub name: String,
    /// reden_dakloosheid.
    pub reden: String,
    /// A refusal's toelichting (empty if the case has no refusal).
    pub weigering: String,
}

impl Canaries {
    /// The canaries with a label each, in a fixed order.
    pub fn labelled(&self) -> Vec<(&'static str, &str)> {
        let mut v = vec![
            ("bsn", self.bsn.as_str()),
            ("naam", self.name.as_str()),
            ("reden_dakloosheid", self.reden.as_str()),
        ];
        if !self.weigering.is_empty() {
            v.push(("toelichting_weigering", self.weigering.as_str()));
        }
        v
    }
}

/// A valid BSN (elfproef) unique to `n`.
pub fn canary_bsn(n: u64) -> String {
    let mut x = 100_000_000 + (n.wrapping_mul(7_919) % 800_000_000);
    loop {
        let s = format!("{x:09}");
        if policies::bsn::Bsn::parse(&s).is_ok() {
            return s;
        }
        x += 1;
    }
}

/// The canaries of case `case` for `seed`.
pub fn canaries(seed: u64, case: usize) -> Canaries {
    Canaries {
        bsn: canary_bsn(seed.wrapping_mul(10).wrapping_add(case as u64)),
        name: format!("Kanarie{seed}x{case}, K."),
        reden: format!("kanarie-reden-{seed}-{case}"),
        weigering: if case == 1 {
            format!("kanarie-weigering-{seed}-{case}")
        } else {
            String::new()
        },
    }
}

/// Whether the case's client consented.
pub fn consents(case: usize) -> bool {
    case != 3
}

/// The zorgaanbieder's registratie carrying a case's canaries (verblijf in Leeuwarden).
pub fn registratie(c: &Canaries, consent: bool, voorziening: &str, herkomst: &str) -> Value {
    let mut r = json!({
        "achternaam_voorletters": c.name, "bsn": c.bsn, "geboortedatum": "1988-05-17",
        "soort_voorziening": voorziening, "herkomstgemeente": herkomst, "verblijfgemeente": "GM0080",
        "start_verblijf_opvang": "2025-06-01", "betrokken_zorgaanbieder": ZA,
        "reden_dakloosheid": c.reden, "toestemming_gegevensdeling": consent
    });
    if consent {
        r["datum_toestemming"] = json!("2025-06-01");
    }
    r
}

/// The aanmelding carrying a case's name canary.
pub fn aanmelding(c: &Canaries) -> Value {
    json!({
        "achternaam_voorletters": c.name, "datum_aanmelding": "2025-06-10", "leefsituatie": "alleenstaand",
        "hoofdinkomen": "participatiewet", "schuldenproblematiek": "ja", "vorm_ondersteuning_schulden": "budgetbeheer",
        "inschrijvingen_woningcorporaties": [
            {"corporatie": "Elkien", "datum_inschrijving": "2025-06-02"},
            {"corporatie": "Accolade", "datum_inschrijving": "2025-06-03"}
        ]
    })
}

/// Vervolg wonen, expecting outflow to `gemeente` through bemiddeling.
pub fn vervolg(c: &Canaries, gemeente: &str) -> Value {
    json!({"achternaam_voorletters": c.name, "datum_formulier": "2025-09-01",
        "uitstroomprofiel": "zelfstandig_wonen_met_ondersteuning", "uitstroomgemeente": gemeente,
        "soort_uitstroom": "bemiddeling"})
}

/// A complete bemiddelingsverzoek with this woonwens.
pub fn verzoek(woonwens: &str) -> Value {
    json!({
        "datum_verzoek": "2025-10-01", "achttien_jaar_of_ouder": true, "verblijf_mo_of_bw_indicatie": true,
        "ingeschreven_meerdere_corporaties": true, "documenten_in_portaal_corporatie": true, "actief_gezocht": true,
        "toelichting_zoekgedrag": "Reageert wekelijks via FrieslandHuurt", "voldoende_zelfredzaam": true,
        "stabiele_daginvulling": true, "soort_daginvulling": "dagbesteding", "inkomen_en_schulden_in_beeld": true,
        "ondersteuningsprofiel": "Ambulante begeleiding twee keer per week",
        "contactpersonen": [{"naam": "M. de Boer", "organisatie": "Kwadrant", "functie": "begeleider"}],
        "woonwens": woonwens
    })
}

fn beoordeling(gemeente: &str) -> Value {
    json!({
        "status": "goedgekeurd", "datum_ontvangen": "2025-10-02", "datum_volledig": "2025-10-02",
        "gekozen_uitstroomgemeente": gemeente
    })
}

fn step(case: usize, at: Actor, need: Option<Need>, act: Act) -> Step {
    Step {
        case,
        at,
        need,
        act,
    }
}

fn need(section: &'static str, field: &'static str, value: Value, route: &[Actor]) -> Option<Need> {
    Some(Need {
        section,
        field,
        value,
        route: route.to_vec(),
    })
}

/// The steps, for `seed`'s canaries.
pub fn steps(seed: u64) -> Vec<Step> {
    use Actor::{Assigned, Node as N};
    let c1 = canaries(seed, 1);
    let c2 = canaries(seed, 2);
    let c3 = canaries(seed, 3);
    let w1 = "Eenpersoonswoning in Leeuwarden, huur tot 650 euro";
    let w2 = "Benedenwoning in Heerenveen";
    let offer = json!({"datum_aanbod": "2025-11-20", "adres": "Kerkstraat 9, Leeuwarden", "type_woning": "sociale_huur",
        "reactie_client": "geaccepteerd"});
    vec![
        step(1, N(ZA), None, Act::Create),
        step(
            1,
            N(ZA),
            None,
            Act::Write(
                D::Registratie,
                registratie(&c1, true, "maatschappelijke_opvang", "GM0080"),
            ),
        ),
        step(1, N(ZA), None, Act::Write(D::Aanmelding, aanmelding(&c1))),
        step(3, N(ZA), None, Act::Create),
        step(
            3,
            N(ZA),
            None,
            Act::Write(
                D::Registratie,
                registratie(&c3, false, "maatschappelijke_opvang", "GM0080"),
            ),
        ),
        step(2, N(ZA), None, Act::Create),
        step(
            2,
            N(ZA),
            None,
            Act::Write(
                D::Registratie,
                registratie(&c2, true, "beschermd_wonen", "GM0074"),
            ),
        ),
        step(
            1,
            N(ZA),
            None,
            Act::Write(D::VervolgWonen, vervolg(&c1, "GM0080")),
        ),
        step(
            1,
            N(ZA),
            None,
            Act::Write(D::Bemiddelingsverzoek, verzoek(w1)),
        ),
        step(3, N(ZA), None, Act::Write(D::Aanmelding, aanmelding(&c3))),
        step(2, N(ZA), None, Act::Write(D::Aanmelding, aanmelding(&c2))),
        step(
            2,
            N(ZA),
            None,
            Act::Write(D::VervolgWonen, vervolg(&c2, "GM0074")),
        ),
        step(
            2,
            N(ZA),
            None,
            Act::Write(D::Bemiddelingsverzoek, verzoek(w2)),
        ),
        step(
            1,
            N(TP),
            need(
                "bemiddelingsverzoek",
                "woonwens",
                json!(w1),
                &[N(ZA), N(TP)],
            ),
            Act::Write(D::Beoordeling, beoordeling("GM0080")),
        ),
        step(
            2,
            N(TP),
            need(
                "bemiddelingsverzoek",
                "woonwens",
                json!(w2),
                &[N(ZA), N(TP)],
            ),
            Act::Write(D::Beoordeling, beoordeling("GM0074")),
        ),
        step(
            1,
            N(LWD),
            need(
                "beoordeling",
                "gekozen_uitstroomgemeente",
                json!("GM0080"),
                &[N(TP), N(LWD)],
            ),
            Act::Write(
                D::Gemeente,
                json!({
                    "akkoord_uitstroom": "akkoord", "datum_akkoord": "2025-10-22",
                    "gebiedsteam_contactpersoon": "Gebiedsteam Leeuwarden-Oost", "datum_contact_gebiedsteam": "2025-10-23"
                }),
            ),
        ),
        step(
            2,
            N(HRV),
            need(
                "beoordeling",
                "gekozen_uitstroomgemeente",
                json!("GM0074"),
                &[N(TP), N(HRV)],
            ),
            Act::Write(
                D::Gemeente,
                json!({"akkoord_uitstroom": "akkoord", "datum_akkoord": "2025-10-06"}),
            ),
        ),
        step(
            1,
            N(TP),
            need(
                "gemeente/gemeente:GM0080",
                "akkoord_uitstroom",
                json!("akkoord"),
                &[N(LWD), N(TP)],
            ),
            Act::Assign,
        ),
        step(
            2,
            N(TP),
            need(
                "gemeente/gemeente:GM0074",
                "akkoord_uitstroom",
                json!("akkoord"),
                &[N(HRV), N(TP)],
            ),
            Act::Assign,
        ),
        step(
            1,
            Assigned,
            need(
                "aanmeldbericht/{toegewezen}",
                "bsn",
                json!(c1.bsn),
                &[N(TP), Assigned],
            ),
            Act::Write(
                D::Reactie,
                json!({
                    "besluit": "geweigerd", "datum_besluit": "2025-10-28", "reden_weigering": "huurachterstand",
                    "toelichting_weigering": c1.weigering
                }),
            ),
        ),
        step(
            2,
            Assigned,
            need(
                "aanmeldbericht/{toegewezen}",
                "bsn",
                json!(c2.bsn),
                &[N(TP), Assigned],
            ),
            Act::Write(
                D::Reactie,
                json!({
                    "besluit": "geaccepteerd", "datum_besluit": "2025-10-10",
                    "aanbiedingen": [{"datum_aanbod": "2025-10-20", "adres": "Gracht 3, Heerenveen", "reactie_client": "geaccepteerd"}],
                    "soort_huurcontract": "eigen_naam", "datum_ondertekening": "2025-11-01"
                }),
            ),
        ),
        step(
            1,
            N(TP),
            need(
                "reactie/{toegewezen}",
                "besluit",
                json!("geweigerd"),
                &[Assigned, N(TP)],
            ),
            Act::Assign,
        ),
        step(
            1,
            Assigned,
            need(
                "aanmeldbericht/{toegewezen}",
                "bsn",
                json!(c1.bsn),
                &[N(TP), Assigned],
            ),
            Act::Write(
                D::Reactie,
                json!({
                    "besluit": "geaccepteerd", "datum_besluit": "2025-11-03", "aanbiedingen": [offer],
                    "soort_huurcontract": "drie_partijen", "datum_ondertekening": "2025-11-24",
                    "einddatum_drie_partijen": "2027-11-24",
                    "omklapvoorwaarden": "Huur volledig en op tijd betalen, geen overlast"
                }),
            ),
        ),
        step(
            1,
            N(ZA),
            need(
                "reactie/{toegewezen}",
                "soort_huurcontract",
                json!("drie_partijen"),
                &[Assigned, N(TP), N(ZA)],
            ),
            Act::Write(
                D::Plaatsing,
                json!({
                    "achternaam_voorletters": c1.name, "soort_mutatie": "uitstroom_zelfstandig",
                    "datum_mutatie": "2025-11-24", "mutatie_adres": "Kerkstraat 9, Leeuwarden",
                    "definitief_uitstroomprofiel": "zelfstandig_wonen_met_ondersteuning", "naam_verhuurder": "Elkien",
                    "definitieve_uitstroomgemeente": "GM0080", "type_woning": "sociale_huur",
                    "soort_huurcontract": "drie_partijen", "wijze_van_toewijzing": "bemiddeling"
                }),
            ),
        ),
    ]
}

/// The number of cases.
pub const CASES: usize = 3;
