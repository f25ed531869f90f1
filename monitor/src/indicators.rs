//! The monitor's figures per year: the nine indicators of Afspraak 3d, the evaluation's table (requests,
//! bemiddelingen, mean lead time, share returned to the herkomstgemeente, lease types), the step durations of the
//! evaluation's figure 4, and refusals by corporatie with their reasons.
//!
//! Attribution to a year: a request by `bemiddelingsverzoek.datum_verzoek`, once submitted (`datum_ingediend`; a
//! draft is no request yet, and a resubmission after a send-back is the same request); an outflow, uitval and the end of a
//! stay by `plaatsing.datum_mutatie`; a refusal by `reactie.datum_besluit`; the start of a stay by
//! `registratie.start_verblijf_opvang`; a completed request by `beoordeling.datum_volledig`; a rejection or
//! withdrawal by `beoordeling.datum_afgesloten` (else `datum_ontvangen`).
//!
//! Definitions: *uitstroom* is `soort_mutatie = uitstroom_zelfstandig`; it is *bemiddeld* when
//! `wijze_van_toewijzing = bemiddeling`, or when that is unknown and the case has a bemiddelingsverzoek; otherwise
//! *regulier*. *Uitval* is every other mutatie, and after placement a huisuitzetting (`huurverloop`) or a return to
//! beschermd wonen (`ondersteuningsverloop`), each in the year of its own `datum`. Lead time runs from `datum_verzoek` to `datum_mutatie` of a
//! bemiddelde uitstroom.
//!
//! Per zorgaanbieder (Bijlage 3: the jaarverslag informs "op het niveau van Gemeenten, Zorgaanbieder en
//! Woningcorporatie"): the `registratie.betrokken_zorgaanbieder`'s requests, bemiddelde and regular uitstroom and
//! lead time, attributed as above. Instroom per gemeente (Bijlage 1, 1d: "of op regioniveau de spreiding van in- en
//! uitstroom in balans is"): a stay started (`start_verblijf_opvang`) in a voorziening in the gemeente
//! `registratie.verblijfgemeente`, against the uitstroom into the gemeente (its uitstroomgemeente).

use std::collections::BTreeMap;

use policies::form::Form;
use policies::{DocumentKind as K, Value};
use time::Date;

use crate::{MonitorCase, as_months, days};

/// A running mean.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Mean {
    /// Sum of the values.
    pub sum: f64,
    /// Number of values.
    pub n: u32,
}

impl Mean {
    /// Add a value.
    pub fn add(&mut self, v: f64) {
        self.sum += v;
        self.n += 1;
    }

    /// The mean, when there are values.
    pub fn value(&self) -> Option<f64> {
        (self.n > 0).then(|| self.sum / f64::from(self.n))
    }
}

/// Figures of one corporatie in a year.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CorporatieCijfers {
    /// Aanmeldberichten received (by `datum_verzonden`).
    pub aanmeldberichten: u32,
    /// Bemiddelingen accepted (by `datum_besluit`).
    pub geaccepteerd: u32,
    /// Information requested (by `datum_besluit`).
    pub informatie_gevraagd: u32,
    /// Refused, per reason (by `datum_besluit`).
    pub weigeringen: BTreeMap<String, u32>,
    /// Housing offers made (by `datum_aanbod`).
    pub aanbiedingen: u32,
    /// Offers the client refused (by `datum_aanbod`).
    pub aanbiedingen_geweigerd_door_client: u32,
    /// Days from aanmeldbericht to the corporatie's answer.
    pub dagen_tot_besluit: Mean,
    /// Days from aanmeldbericht to the first offer.
    pub dagen_tot_aanbod: Mean,
}

impl CorporatieCijfers {
    /// All refusals.
    pub fn weigeringen_totaal(&self) -> u32 {
        self.weigeringen.values().sum()
    }
}

/// Figures of one gemeente in a year.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GemeenteCijfers {
    /// Bemiddelingsverzoeken with this herkomstgemeente.
    pub verzoeken_herkomst: u32,
    /// Bemiddelde uitstroom into this gemeente.
    pub uitstroom_bemiddeld: u32,
    /// Regular uitstroom into this gemeente.
    pub uitstroom_regulier: u32,
    /// Uitval of clients with this herkomstgemeente.
    pub uitval: u32,
    /// Stays started in a voorziening in this gemeente (it is their verblijfgemeente), by `start_verblijf_opvang`.
    pub instroom: u32,
}

impl GemeenteCijfers {
    /// All uitstroom (indicator 1).
    pub fn uitstroom(&self) -> u32 {
        self.uitstroom_bemiddeld + self.uitstroom_regulier
    }
}

/// Figures of one zorgaanbieder (the registratie's `betrokken_zorgaanbieder`) in a year.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ZorgaanbiederCijfers {
    /// Bemiddelingsverzoeken submitted (by `datum_verzoek`).
    pub verzoeken: u32,
    /// Bemiddelde uitstroom (by `datum_mutatie`).
    pub uitstroom_bemiddeld: u32,
    /// Regular uitstroom (by `datum_mutatie`).
    pub uitstroom_regulier: u32,
    /// Lead time in days from request to bemiddelde uitstroom.
    pub doorlooptijd_dagen: Mean,
}

impl ZorgaanbiederCijfers {
    /// All uitstroom: the zorgaanbieder's clients placed in a home.
    pub fn uitstroom(&self) -> u32 {
        self.uitstroom_bemiddeld + self.uitstroom_regulier
    }
}

/// The monitor's figures for one year.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Jaarcijfers {
    /// The year.
    pub jaar: i32,
    /// Bemiddelingsverzoeken submitted (by `datum_verzoek`).
    pub verzoeken: u32,
    /// Requests rejected or withdrawn by the Transferpunt, per reason.
    pub afwijzingen: BTreeMap<String, u32>,
    /// Indicator 3: bemiddelde uitstroom (the evaluation's "bemiddelingen").
    pub bemiddeld: u32,
    /// Indicator 2: regular uitstroom per landlord type (`sociale_huur`, `particuliere_huur`, other types as named).
    pub regulier: BTreeMap<String, u32>,
    /// Indicator 1: uitstroom per gemeente, and per gemeente the other figures.
    pub per_gemeente: BTreeMap<String, GemeenteCijfers>,
    /// Indicator 4: 3-partijen leases among uitstroom (by `plaatsing.soort_huurcontract`).
    pub drie_partijen: u32,
    /// Leases on the client's own name among uitstroom.
    pub eigen_naam: u32,
    /// Uitstroom with the lease type unknown.
    pub huurcontract_onbekend: u32,
    /// Indicator 5 and refusals: per corporatie.
    pub per_corporatie: BTreeMap<String, CorporatieCijfers>,
    /// Indicator 6: uitval per kind of mutatie.
    pub uitval: BTreeMap<String, u32>,
    /// Indicator 7: stays started, per voorziening.
    pub gestart: BTreeMap<String, u32>,
    /// Indicator 8: stays ended, per voorziening.
    pub beeindigd: BTreeMap<String, u32>,
    /// Indicator 9: uitstroom with a known registration date at a corporatie.
    pub inschrijving_bekend: u32,
    /// Indicator 9: months registered at a corporatie (earliest registration to outflow), uitstroom only.
    pub inschrijfduur_maanden: Mean,
    /// Lead time in days from request to bemiddelde uitstroom.
    pub doorlooptijd_dagen: Mean,
    /// Bemiddelde uitstroom with both herkomst- and uitstroomgemeente known.
    pub herkomst_bekend: u32,
    /// Of those, the ones that returned to the herkomstgemeente.
    pub terug_naar_herkomst: u32,
    /// Step: days from request received to request complete (by `datum_volledig`).
    pub dagen_tot_volledig: Mean,
    /// Step: requests sent back incomplete at least once (by `datum_ontvangen`).
    pub teruggestuurd: u32,
    /// Uitstroom where the gebiedsteam's first contact is known and came on or before the move.
    pub gebiedsteam_voor_verhuizing: u32,
    /// Uitstroom where the gebiedsteam's first contact came after the move or is not known.
    pub gebiedsteam_na_of_onbekend: u32,
    /// Per zorgaanbieder (Bijlage 3): requests, uitstroom and lead time.
    pub per_zorgaanbieder: BTreeMap<String, ZorgaanbiederCijfers>,
    /// Meldingen (Afspraak 7) by the year of `datum_melding`, per `soort:AVE-niveau` (`knelpunt:3`; the level
    /// the melding reached).
    pub meldingen: BTreeMap<String, u32>,
    /// Meldingen per outcome: `afgehandeld_na_voorlegging` (the Transferpunt's voorlegging is afgehandeld), or the
    /// melding's own status (`open`, `in_behandeling`, `voorgelegd_transferpunt`, `afgehandeld`).
    pub meldingen_uitkomst: BTreeMap<String, u32>,
    /// Incidents and calamiteiten reported to the Toezichthouder Sociaal Domein (Afspraak 7h).
    pub meldingen_toezichthouder: u32,
    /// Afspraak 2f: the omklap evaluations of 3-partijen leases in the year, per outcome (`omklap`,
    /// `later_opnieuw`, `geen_omklap`).
    pub omklap: BTreeMap<String, u32>,
    /// Afspraak 4e, 5 and 6: the changes of support after placement in the year, per soort (meeloop of the old
    /// zorgaanbieder, opschaling, afschaling, waakvlam, einde).
    pub ondersteuning: BTreeMap<String, u32>,
}

impl Jaarcijfers {
    /// All uitstroom (bemiddeld and regulier).
    pub fn uitstroom(&self) -> u32 {
        self.bemiddeld + self.regulier_totaal()
    }

    /// All regular uitstroom.
    pub fn regulier_totaal(&self) -> u32 {
        self.regulier.values().sum()
    }

    /// Mean lead time in months.
    pub fn doorlooptijd_maanden(&self) -> Option<f64> {
        self.doorlooptijd_dagen.value().map(as_months)
    }

    /// Share of bemiddelde uitstroom back to the herkomstgemeente (0..=1).
    pub fn aandeel_herkomst(&self) -> Option<f64> {
        (self.herkomst_bekend > 0)
            .then(|| f64::from(self.terug_naar_herkomst) / f64::from(self.herkomst_bekend))
    }

    /// All refusals by corporaties (indicator 5).
    pub fn weigeringen(&self) -> u32 {
        self.per_corporatie
            .values()
            .map(CorporatieCijfers::weigeringen_totaal)
            .sum()
    }

    /// Refusals per reason, over all corporaties.
    pub fn weigeringen_per_reden(&self) -> BTreeMap<String, u32> {
        let mut out = BTreeMap::new();
        for c in self.per_corporatie.values() {
            for (r, n) in &c.weigeringen {
                *out.entry(r.clone()).or_default() += n;
            }
        }
        out
    }

    /// All uitval.
    pub fn uitval_totaal(&self) -> u32 {
        self.uitval.values().sum()
    }
}

/// The figures for every year that has any, in year order.
pub fn per_jaar(cases: &[MonitorCase]) -> BTreeMap<i32, Jaarcijfers> {
    let mut years = BTreeMap::new();
    for case in cases {
        add_case(case, &mut years);
    }
    years
}

type Years = BTreeMap<i32, Jaarcijfers>;

fn yr(years: &mut Years, d: Date) -> &mut Jaarcijfers {
    years.entry(d.year()).or_insert_with(|| Jaarcijfers {
        jaar: d.year(),
        ..Default::default()
    })
}

/// The figures of one year (empty when nothing happened that year).
pub fn jaar(cases: &[MonitorCase], jaar: i32) -> Jaarcijfers {
    per_jaar(cases).remove(&jaar).unwrap_or(Jaarcijfers {
        jaar,
        ..Default::default()
    })
}

fn key(s: Option<&str>) -> String {
    s.unwrap_or("onbekend").to_string()
}

/// Afspraak 7: every melding the holder has, counted in the year it was made.
fn add_meldingen(case: &MonitorCase, years: &mut Years) {
    for m in &case.meldingen {
        let Some(d) = m.form.date("datum_melding") else {
            continue;
        };
        let soort = key(m.form.text("soort"));
        let ave = m
            .form
            .get("ave_niveau")
            .and_then(policies::Value::as_integer)
            .map_or_else(|| "onbekend".to_string(), |n| n.to_string());
        let uitkomst = if case
            .voorlegging_of(m)
            .is_some_and(|v| v.date("datum_afgehandeld").is_some())
        {
            "afgehandeld_na_voorlegging".to_string()
        } else {
            key(m.form.text("status"))
        };
        let y = yr(years, d);
        *y.meldingen.entry(format!("{soort}:{ave}")).or_default() += 1;
        *y.meldingen_uitkomst.entry(uitkomst).or_default() += 1;
        if m.form.bool("gemeld_bij_toezichthouder") == Some(true) {
            y.meldingen_toezichthouder += 1;
        }
    }
}

fn add_case(case: &MonitorCase, years: &mut Years) {
    add_meldingen(case, years);
    let herkomst = case.docs.herkomstgemeente();
    let voorziening = key(case.text(K::Registratie, "soort_voorziening"));
    let zorgaanbieder = key(case.text(K::Registratie, "betrokken_zorgaanbieder"));
    let verzoek = case
        .docs
        .submitted()
        .then(|| case.date(K::Bemiddelingsverzoek, "datum_verzoek"))
        .flatten();

    if let Some(d) = verzoek {
        let y = yr(years, d);
        y.verzoeken += 1;
        y.per_gemeente
            .entry(key(herkomst))
            .or_default()
            .verzoeken_herkomst += 1;
        y.per_zorgaanbieder
            .entry(zorgaanbieder.clone())
            .or_default()
            .verzoeken += 1;
    }
    if let Some(d) = case.date(K::Registratie, "start_verblijf_opvang") {
        let y = yr(years, d);
        *y.gestart.entry(voorziening.clone()).or_default() += 1;
        y.per_gemeente
            .entry(key(case.text(K::Registratie, "verblijfgemeente")))
            .or_default()
            .instroom += 1;
    }
    if let Some(b) = case.form(K::Beoordeling) {
        add_beoordeling(b, years);
    }
    add_corporaties(case, years);
    add_mutatie(case, years, herkomst, voorziening, verzoek);
    add_na_plaatsing(case, years, herkomst);
}

/// Uitval after placement (issue #17 item 3): a huisuitzetting in the huurverloop and a return to beschermd wonen
/// in the ondersteuningsverloop, each counted in the year it happens. These are events of their own, so the
/// plaatsing keeps the uitstroom, counted in its own year; before they existed a later huisuitzetting could only
/// overwrite the plaatsing's `soort_mutatie`, and the uitstroom vanished from its year.
fn add_na_plaatsing(case: &MonitorCase, years: &mut Years, herkomst: Option<&str>) {
    let events = case
        .docs
        .all(K::Huurverloop)
        .iter()
        .filter(|e| e.text("soort") == Some("huisuitzetting"))
        .map(|e| ("huisuitzetting", e))
        .chain(
            case.docs
                .all(K::Ondersteuningsverloop)
                .iter()
                .filter(|e| e.text("soort") == Some("terugkeer_beschermd_wonen"))
                .map(|e| ("terugkeer_zorgaanbieder", e)),
        );
    for (mutatie, e) in events {
        let Some(d) = e.date("datum") else { continue };
        let y = yr(years, d);
        *y.uitval.entry(mutatie.to_string()).or_default() += 1;
        y.per_gemeente.entry(key(herkomst)).or_default().uitval += 1;
    }
    for e in case.docs.all(K::Huurverloop) {
        if e.text("soort") == Some("omklap_evaluatie")
            && let Some(d) = e.date("datum")
        {
            *yr(years, d)
                .omklap
                .entry(key(e.text("uitkomst_evaluatie")))
                .or_default() += 1;
        }
    }
    for e in case.docs.all(K::Ondersteuningsverloop) {
        // A return to beschermd wonen is uitval, counted above.
        if e.text("soort") != Some("terugkeer_beschermd_wonen")
            && let Some(d) = e.date("datum")
        {
            *yr(years, d)
                .ondersteuning
                .entry(key(e.text("soort")))
                .or_default() += 1;
        }
    }
}

/// The Transferpunt's assessment of the request: sent back, days until complete, rejected or withdrawn.
fn add_beoordeling(b: &Form, years: &mut Years) {
    if let Some(ontvangen) = b.date("datum_ontvangen") {
        if b.date("datum_teruggestuurd").is_some()
            || b.get("aantal_keer_teruggestuurd")
                .is_some_and(|v| matches!(v, Value::Integer(n) if *n > 0))
        {
            yr(years, ontvangen).teruggestuurd += 1;
        }
        if let Some(volledig) = b.date("datum_volledig") {
            add_days(
                &mut yr(years, volledig).dagen_tot_volledig,
                ontvangen,
                volledig,
            );
        }
    }
    if matches!(b.text("status"), Some("afgewezen" | "ingetrokken"))
        && let Some(d) = b.date("datum_afgesloten").or(b.date("datum_ontvangen"))
    {
        *yr(years, d)
            .afwijzingen
            .entry(key(b.text("reden_afwijzing")))
            .or_default() += 1;
    }
}

/// The end of the stay (`plaatsing.datum_mutatie`): uitval, or uitstroom.
fn add_mutatie(
    case: &MonitorCase,
    years: &mut Years,
    herkomst: Option<&str>,
    voorziening: String,
    verzoek: Option<Date>,
) {
    let Some(p) = case.form(K::Plaatsing) else {
        return;
    };
    let Some(mutatie_datum) = p.date("datum_mutatie") else {
        return;
    };
    let mutatie = key(p.text("soort_mutatie"));
    let y = yr(years, mutatie_datum);
    *y.beeindigd.entry(voorziening).or_default() += 1;
    if mutatie != "uitstroom_zelfstandig" {
        *y.uitval.entry(mutatie).or_default() += 1;
        y.per_gemeente.entry(key(herkomst)).or_default().uitval += 1;
        return;
    }
    add_uitstroom(case, p, y, herkomst, verzoek, mutatie_datum);
}

/// An uitstroom on `mutatie_datum`: bemiddeld or regulier, into which gemeente, the lease, the time registered at a
/// corporatie, and whether the gebiedsteam came before the move.
fn add_uitstroom(
    case: &MonitorCase,
    p: &Form,
    y: &mut Jaarcijfers,
    herkomst: Option<&str>,
    verzoek: Option<Date>,
    mutatie_datum: Date,
) {
    let uitstroomgemeente = p
        .text("definitieve_uitstroomgemeente")
        .or(case.docs.uitstroomgemeente());
    let bemiddeld = match p.text("wijze_van_toewijzing") {
        Some("bemiddeling") => true,
        Some(_) => false,
        None => verzoek.is_some(),
    };
    let gemeente = y.per_gemeente.entry(key(uitstroomgemeente)).or_default();
    let zorgaanbieder = y
        .per_zorgaanbieder
        .entry(key(case.text(K::Registratie, "betrokken_zorgaanbieder")))
        .or_default();
    if bemiddeld {
        gemeente.uitstroom_bemiddeld += 1;
        zorgaanbieder.uitstroom_bemiddeld += 1;
        y.bemiddeld += 1;
        if let Some(v) = verzoek {
            add_days(&mut y.doorlooptijd_dagen, v, mutatie_datum);
            add_days(&mut zorgaanbieder.doorlooptijd_dagen, v, mutatie_datum);
        }
        if let (Some(h), Some(u)) = (herkomst, uitstroomgemeente) {
            y.herkomst_bekend += 1;
            if h == u {
                y.terug_naar_herkomst += 1;
            }
        }
    } else {
        gemeente.uitstroom_regulier += 1;
        zorgaanbieder.uitstroom_regulier += 1;
        *y.regulier.entry(key(p.text("type_woning"))).or_default() += 1;
    }
    match p.text("soort_huurcontract") {
        Some("drie_partijen") => y.drie_partijen += 1,
        Some("eigen_naam") => y.eigen_naam += 1,
        _ => y.huurcontract_onbekend += 1,
    }
    let inschrijving = case
        .form(K::Aanmelding)
        .and_then(|a| a.get("inschrijvingen_woningcorporaties"))
        .and_then(Value::as_records)
        .and_then(|rs| {
            rs.iter()
                .filter_map(|r| r.get("datum_inschrijving").and_then(Value::as_date))
                .min()
        });
    if let Some(i) = inschrijving.filter(|&i| i <= mutatie_datum) {
        y.inschrijving_bekend += 1;
        y.inschrijfduur_maanden
            .add(as_months(days(i, mutatie_datum) as f64));
    }
    let contact = case
        .gemeenten
        .iter()
        .filter_map(|g| g.form.date("datum_contact_gebiedsteam"))
        .min();
    if contact.is_some_and(|c| c <= mutatie_datum) {
        y.gebiedsteam_voor_verhuizing += 1;
    } else {
        y.gebiedsteam_na_of_onbekend += 1;
    }
}

fn offers(reactie: &Form) -> &[policies::form::Record] {
    reactie
        .get("aanbiedingen")
        .and_then(Value::as_records)
        .unwrap_or_default()
}

/// The aanmeldberichten of a case: the Transferpunt's corporatie_historie (which keeps those withdrawn after a
/// refusal), plus aanmeldberichten to corporaties it does not list.
pub fn aanmeldingen(case: &MonitorCase) -> Vec<(String, Date)> {
    let mut out: Vec<(String, Date)> = case
        .form(K::Beoordeling)
        .and_then(|b| b.get("corporatie_historie"))
        .and_then(Value::as_records)
        .unwrap_or_default()
        .iter()
        .filter_map(|r| {
            Some((
                r.get("corporatie")?.as_text()?.to_string(),
                r.get("datum_aanmelding")?.as_date()?,
            ))
        })
        .collect();
    for bericht in case.docs.all(K::Aanmeldbericht) {
        if let (Some(c), Some(d)) = (bericht.text("corporatie"), bericht.date("datum_verzonden"))
            && !out.iter().any(|(known, _)| known == c)
        {
            out.push((c.to_string(), d));
        }
    }
    out
}

/// A duration in days, when it is not negative (a negative one is a data error and left out).
fn add_days(m: &mut Mean, from: Date, to: Date) {
    let d = days(from, to);
    if d >= 0 {
        m.add(d as f64);
    }
}

fn add_corporaties(case: &MonitorCase, years: &mut Years) {
    for (corporatie, verzonden) in aanmeldingen(case) {
        let corporatie = corporatie.as_str();
        let c = yr(years, verzonden)
            .per_corporatie
            .entry(corporatie.to_string())
            .or_default();
        c.aanmeldberichten += 1;
        let Some(reactie) = case.reactie_of(corporatie) else {
            continue;
        };
        if let Some(besluit) = reactie.date("datum_besluit")
            && reactie
                .text("besluit")
                .is_some_and(|b| b != "in_behandeling")
        {
            add_days(&mut c.dagen_tot_besluit, verzonden, besluit);
        }
        if let Some(first) = offers(reactie)
            .iter()
            .filter_map(|o| o.get("datum_aanbod").and_then(Value::as_date))
            .min()
        {
            add_days(&mut c.dagen_tot_aanbod, verzonden, first);
        }
    }
    for inst in &case.reacties {
        let r = &inst.form;
        if let Some(d) = r.date("datum_besluit") {
            let c = yr(years, d)
                .per_corporatie
                .entry(inst.partner.clone())
                .or_default();
            match r.text("besluit") {
                Some("geaccepteerd") => c.geaccepteerd += 1,
                Some("informatie_gevraagd") => c.informatie_gevraagd += 1,
                Some("geweigerd") => {
                    *c.weigeringen
                        .entry(key(r.text("reden_weigering")))
                        .or_default() += 1
                }
                _ => {}
            }
        }
        for o in offers(r) {
            let Some(d) = o.get("datum_aanbod").and_then(Value::as_date) else {
                continue;
            };
            let c = yr(years, d)
                .per_corporatie
                .entry(inst.partner.clone())
                .or_default();
            c.aanbiedingen += 1;
            if o.get("reactie_client").and_then(Value::as_text) == Some("geweigerd") {
                c.aanbiedingen_geweigerd_door_client += 1;
            }
        }
    }
}
