//! Deadline alerts, each addressed to the partner who must act. An alert is open from a date (the day after the
//! deadline, or earlier for the rules that warn ahead) until the action is recorded. The same rules also give a
//! partner its own duties ([`case_duties`]), each from the day it begins (the table's "open from" or the event
//! that starts it, whichever is earlier): what a werkplek shows before a deadline passes. A 3-partijen lease
//! longer than 2 years needs no alert: validation refuses it.
//!
//! | rule | who acts | deadline | open from |
//! |---|---|---|---|
//! | aanmelding (MO) within 2 weeks of the start of the stay | zorgaanbieder | start + 14 days | day after |
//! | bemiddeling at least 3 months before a BW beschikking ends | zorgaanbieder | end − 3 months | 1 month ahead |
//! | corporatie answers the aanmeldbericht | corporatie | sent + 5 werkdagen | day after |
//! | an offer after the aanmeldbericht | corporatie | sent + 3 months | day after |
//! | a second offer after a grounded refusal by the client | corporatie | first offer + 3 months | day after |
//! | a 3-partijen lease ends (max 2 years) | corporatie | end date | 3 months ahead |
//! | gebiedsteam contact known before the move | uitstroomgemeente | move (signing) | accepted offer |
//! | a request sent back is completed and submitted again | zorgaanbieder | sent back + 10 werkdagen | sent back |
//! | the chosen uitstroomgemeente gives its akkoord (or not) | uitstroomgemeente | complete + 10 werkdagen | complete |
//! | BW: aanmelding at the new gemeente's gebiedsteam (Bijlage 1, 1d.2) | verblijfgemeente | BW end − 6 months | 1 month ahead |
//! | BW: aanmelding within 2 weeks of the registratie (Bijlage 3) | zorgaanbieder | registratie + 14 days | day after |
//! | support after outflow: a beschikking or a start date (Bijlage 1, 4d) | uitstroomgemeente | the move | the move |
//! | a melding is taken up: regie recorded (Afspraak 7c) | its maker | melding + 5 werkdagen | the melding |
//! | an incident or calamiteit reported to the Toezichthouder (Afspraak 7h) | its maker | melding + 3 werkdagen | the melding |
//! | a voorgelegde melding gets its overleg (Afspraak 7d) | Transferpunt | voorgelegd + 10 werkdagen | voorgelegd |
//! | the melder hears the outcome (Bijlage 1, 7g) | Transferpunt | afgehandeld + 5 werkdagen | afgehandeld |
//! | a binding afspraak of the overleg is kept (Afspraak 7e) | Transferpunt | its termijn | day after |
//! | omklap goals of a 3-partijen lease evaluated (Afspraak 2f) | corporatie | signing + 1 year, at the latest end − 3 months | 1 month ahead |
//! | overleg on a dreigende huisuitzetting settled (Afspraak 2h) | corporatie | melding + 10 werkdagen | day after |
//! | the old zorgaanbieder walks along at most 3 months (Afspraak 4e) | betrokken zorgaanbieder | start + 3 months | day after |
//! | waakvlam discussed when the support ends (Afspraak 6a) | uitstroomgemeente | end of support | day after |
//!
//! Life after placement (issue #17 item 3) reads the huurverloop and ondersteuningsverloop events. The covenant asks
//! for the omklap "voorafgaand aan de afloop" and the issue for "after about a year": the evaluation is due a year
//! after signing, or three months before the lease ends when that is earlier (time to settle the omklap); an outcome
//! `later_opnieuw` sets the next one six months on. The overleg before an eviction (Afspraak 2h) is a melding
//! `dreigende_huisuitzetting`: 10 werkdagen to settle it is this federation's choice, as for the akkoord. A
//! walk-along with a planned end within the three months needs nothing more; one without, or planned longer, alerts.
//!
//! The covenant names no term for the akkoord and the send-back; 10 werkdagen is this federation's choice, so both
//! show up in the werkplek as soon as there is something to do, and turn overdue when the case has waited two weeks.
//!
//! The registratie's date is `registratie.datum_aanmelding_transferpunt` (Bijlage 3: the zorgaanbieder sends the
//! registratieformulier to the Transferpunt). Support after outflow follows the evaluation's recommendation to make
//! temporary support after outflow the rule: an uitstroom to a home (`uitstroom_zelfstandig`) needs a Wmo
//! beschikking for support at home (ambulant, nazorg or waakvlam) of the uitstroomgemeente, or the plaatsing's
//! `startdatum_ondersteuning`; the beschikking "sluit naadloos aan" on the day of outflow (Bijlage 1, 4d). The alert
//! lapses three months after the move — the longest the old zorgaanbieder walks along (Bijlage 1, 4e) — so cases
//! placed long ago, or imported from the Excel monitor without these fields, do not alert forever.
//!
//! Meldingen (issue #17; Afspraak 7, Bijlage 1 7c–h): the seeds name no term for any step, so these are this
//! federation's choices. Taking a melding up (7c, "pakt eerst zelf de melding op"): 5 werkdagen, the covenant's own
//! term for a partner's first answer (a corporatie's reactie, evaluation §4.1); done when the melding names who
//! holds regie. The Toezichthouder (7h: "altijd gemeld"): the Wmo 2015 (art. 3.4) says "onverwijld"; 3 werkdagen
//! is how this federation reads that, short enough that a report that waits shows at once; done when
//! `gemeld_bij_toezichthouder` is recorded. The overleg (7d): 10 werkdagen from the voorlegging, the term this
//! federation also gives the Transferpunt's other requests (akkoord, send-back); done with `datum_overleg`. The
//! terugkoppeling (7g): 5 werkdagen after the afhandeling; done with `datum_terugkoppeling`. A binding afspraak
//! (7e): its own termijn, until it is marked nagekomen. The Transferpunt's duties are addressed to the role
//! (`transferpunt`: the covenant has one).

use policies::form::Form;
use policies::werkdagen::Werkdagen;
use policies::{DocumentKind as K, Value};
use time::{Date, Duration};

use crate::{MonitorCase, add_months};

/// What an alert is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum AlertKind {
    /// MO: aanmelding at the Transferpunt within 2 weeks of the start of the stay.
    AanmeldingMo,
    /// BW: bemiddeling requested at least 3 months before the beschikking ends.
    BemiddelingVoorEindeBeschikking,
    /// The corporatie answers within 5 werkdagen of the aanmeldbericht.
    ReactieCorporatie,
    /// An offer within 3 months of the aanmeldbericht.
    Aanbod,
    /// A second offer within 3 months after a grounded refusal by the client.
    TweedeAanbod,
    /// A 3-partijen lease ends; the omklap to a regular lease must be settled.
    DriePartijenLooptAf,
    /// The gebiedsteam's contact must be known before the move ("zachte landing").
    GebiedsteamVoorVerhuizing,
    /// A bemiddelingsverzoek sent back as incomplete is completed and submitted again.
    VerzoekAanvullen,
    /// The chosen uitstroomgemeente answers the Transferpunt's request for its akkoord.
    AkkoordUitstroomgemeente,
    /// BW: the gemeente of the stay registers the client with the gebiedsteam of the new gemeente at least half a
    /// year before the beschikking ends (Bijlage 1, 1d.2).
    AanmeldingGebiedsteamBw,
    /// BW: the aanmeldformulier within 2 weeks of the registratie (Bijlage 3, aanmeldfase).
    AanmeldingBw,
    /// An uitstroom to a home without a Wmo beschikking or a start date for support (Bijlage 1, 4d; the
    /// evaluation's recommendation of temporary support after outflow).
    OndersteuningNaUitstroom,
    /// A melding is taken up by the partner that made it: who holds regie is recorded (Afspraak 7c).
    MeldingOppakken,
    /// An incident or calamiteit is reported to the Toezichthouder Sociaal Domein (Afspraak 7h).
    MeldingToezichthouder,
    /// The Transferpunt holds the overleg on a melding presented to it (Afspraak 7d).
    OverlegVoorlegging,
    /// The Transferpunt tells the melder the outcome (Bijlage 1, 7g).
    TerugkoppelingMelder,
    /// A binding afspraak of the overleg is kept by its termijn (Afspraak 7e).
    AfspraakNakomen,
    /// The omklap goals of a 3-partijen lease are evaluated, with an outcome (Afspraak 2f; Bijlage 1, 2d).
    OmklapEvaluatie,
    /// The overleg before a huisuitzetting during a 3-partijen lease is settled (Afspraak 2h).
    OverlegHuisuitzetting,
    /// The old zorgaanbieder walks along at most three months (Afspraak 4e; Bijlage 1, 4e).
    MeeloopOudeZorgaanbieder,
    /// When the support ends, waakvlam support is discussed (Afspraak 6a).
    WaakvlamBespreken,
}

impl AlertKind {
    /// Every kind, in the order the rules run (the API's list of `soort` values).
    pub const ALL: [AlertKind; 21] = [
        AlertKind::AanmeldingMo,
        AlertKind::BemiddelingVoorEindeBeschikking,
        AlertKind::ReactieCorporatie,
        AlertKind::Aanbod,
        AlertKind::TweedeAanbod,
        AlertKind::DriePartijenLooptAf,
        AlertKind::GebiedsteamVoorVerhuizing,
        AlertKind::VerzoekAanvullen,
        AlertKind::AkkoordUitstroomgemeente,
        AlertKind::AanmeldingGebiedsteamBw,
        AlertKind::AanmeldingBw,
        AlertKind::OndersteuningNaUitstroom,
        AlertKind::MeldingOppakken,
        AlertKind::MeldingToezichthouder,
        AlertKind::OverlegVoorlegging,
        AlertKind::TerugkoppelingMelder,
        AlertKind::AfspraakNakomen,
        AlertKind::OmklapEvaluatie,
        AlertKind::OverlegHuisuitzetting,
        AlertKind::MeeloopOudeZorgaanbieder,
        AlertKind::WaakvlamBespreken,
    ];

    /// A Dutch description (shown).
    pub fn description(self) -> &'static str {
        match self {
            AlertKind::AanmeldingMo => {
                "Aanmelding bij het Transferpunt binnen 2 weken na start verblijf (MO)"
            }
            AlertKind::BemiddelingVoorEindeBeschikking => {
                "Bemiddeling aanvragen uiterlijk 3 maanden voor einde BW-beschikking"
            }
            AlertKind::ReactieCorporatie => "Reactie op aanmeldbericht binnen 5 werkdagen",
            AlertKind::Aanbod => "Woningaanbod binnen 3 maanden na aanmelding",
            AlertKind::TweedeAanbod => "Tweede aanbod binnen 3 maanden na gegronde weigering",
            AlertKind::DriePartijenLooptAf => "3-partijenhuurovereenkomst loopt af: omklap regelen",
            AlertKind::GebiedsteamVoorVerhuizing => "Contact gebiedsteam vóór de verhuizing",
            AlertKind::VerzoekAanvullen => {
                "Teruggestuurd bemiddelingsverzoek aanvullen en opnieuw indienen"
            }
            AlertKind::AkkoordUitstroomgemeente => "Akkoord op de uitstroom in deze gemeente geven",
            AlertKind::AanmeldingGebiedsteamBw => {
                "Aanmelding bij het gebiedsteam van de nieuwe gemeente uiterlijk een half jaar voor einde BW-beschikking"
            }
            AlertKind::AanmeldingBw => "Aanmeldformulier binnen 2 weken na registratie (BW)",
            AlertKind::OndersteuningNaUitstroom => {
                "Uitgestroomd zonder Wmo-beschikking of startdatum ondersteuning"
            }
            AlertKind::MeldingOppakken => {
                "Melding oppakken: leg binnen 5 werkdagen vast wie de regie heeft (Afspraak 7c)"
            }
            AlertKind::MeldingToezichthouder => {
                "Incident of calamiteit melden bij de Toezichthouder Sociaal Domein (Afspraak 7h)"
            }
            AlertKind::OverlegVoorlegging => {
                "Overleg organiseren over een voorgelegde melding binnen 10 werkdagen (Afspraak 7d)"
            }
            AlertKind::TerugkoppelingMelder => {
                "Afhandeling terugkoppelen aan de melder binnen 5 werkdagen (Bijlage 1, 7g)"
            }
            AlertKind::AfspraakNakomen => "Bindende afspraak uit het overleg nakomen (Afspraak 7e)",
            AlertKind::OmklapEvaluatie => {
                "Omklapdoelen van de 3-partijenhuurovereenkomst evalueren (Afspraak 2f)"
            }
            AlertKind::OverlegHuisuitzetting => {
                "Overleg over een dreigende huisuitzetting afronden (Afspraak 2h)"
            }
            AlertKind::MeeloopOudeZorgaanbieder => {
                "Oude zorgaanbieder loopt maximaal 3 maanden mee (Afspraak 4e)"
            }
            AlertKind::WaakvlamBespreken => {
                "Waakvlamondersteuning bespreken bij afloop van de ondersteuning (Afspraak 6a)"
            }
        }
    }

    /// A stable name (`reactie_corporatie`), for APIs.
    pub fn name(self) -> &'static str {
        match self {
            AlertKind::AanmeldingMo => "aanmelding_mo",
            AlertKind::BemiddelingVoorEindeBeschikking => "bemiddeling_voor_einde_beschikking",
            AlertKind::ReactieCorporatie => "reactie_corporatie",
            AlertKind::Aanbod => "aanbod",
            AlertKind::TweedeAanbod => "tweede_aanbod",
            AlertKind::DriePartijenLooptAf => "drie_partijen_loopt_af",
            AlertKind::GebiedsteamVoorVerhuizing => "gebiedsteam_voor_verhuizing",
            AlertKind::VerzoekAanvullen => "verzoek_aanvullen",
            AlertKind::AkkoordUitstroomgemeente => "akkoord_uitstroomgemeente",
            AlertKind::AanmeldingGebiedsteamBw => "aanmelding_gebiedsteam_bw",
            AlertKind::AanmeldingBw => "aanmelding_bw",
            AlertKind::OndersteuningNaUitstroom => "ondersteuning_na_uitstroom",
            AlertKind::MeldingOppakken => "melding_oppakken",
            AlertKind::MeldingToezichthouder => "melding_toezichthouder",
            AlertKind::OverlegVoorlegging => "overleg_voorlegging",
            AlertKind::TerugkoppelingMelder => "terugkoppeling_melder",
            AlertKind::AfspraakNakomen => "afspraak_nakomen",
            AlertKind::OmklapEvaluatie => "omklap_evaluatie",
            AlertKind::OverlegHuisuitzetting => "overleg_huisuitzetting",
            AlertKind::MeeloopOudeZorgaanbieder => "meeloop_oude_zorgaanbieder",
            AlertKind::WaakvlamBespreken => "waakvlam_bespreken",
        }
    }
}

/// An open alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Alert {
    /// The case.
    pub case: String,
    /// What it is about.
    pub kind: AlertKind,
    /// The partner who must act (`corporatie:elkien`, `gemeente:GM0080`, `zorgaanbieder:…`), or the role when no
    /// partner is known (`zorgaanbieder`).
    pub addressee: String,
    /// The deadline.
    pub deadline: Date,
    /// Whether the deadline has passed.
    pub overdue: bool,
}

/// The alerts of one case on `today`, as the rules find them.
struct Collector<'a> {
    case: &'a MonitorCase,
    today: Date,
    /// Whether duties count from the day they begin (a partner's own signalen) rather than from the day the
    /// monitor opens them (for most rules, once overdue).
    duties: bool,
    alerts: Vec<Alert>,
}

impl Collector<'_> {
    /// An alert about `kind` for `addressee` with its `deadline`, kept when it is open (from `from` on) today.
    fn open(&mut self, kind: AlertKind, addressee: &str, deadline: Date, from: Date) {
        self.open_since(kind, addressee, deadline, from, from);
    }

    /// As [`Collector::open`], for a duty that begins on `since`, before the monitor opens it.
    fn open_since(
        &mut self,
        kind: AlertKind,
        addressee: &str,
        deadline: Date,
        from: Date,
        since: Date,
    ) {
        let from = if self.duties { since.min(from) } else { from };
        if self.today >= from {
            self.alerts.push(Alert {
                case: self.case.id.clone(),
                kind,
                addressee: addressee.to_string(),
                deadline,
                overdue: self.today > deadline,
            });
        }
    }
}

fn offers(reactie: &Form) -> Vec<(Date, Option<&str>)> {
    let mut v: Vec<_> = reactie
        .get("aanbiedingen")
        .and_then(Value::as_records)
        .unwrap_or_default()
        .iter()
        .filter_map(|o| {
            let d = o.get("datum_aanbod").and_then(Value::as_date)?;
            Some((d, o.get("reactie_client").and_then(Value::as_text)))
        })
        .collect();
    v.sort();
    v
}

/// Whether the client has moved (the plaatsing is recorded).
fn placed(case: &MonitorCase) -> bool {
    case.form(K::Plaatsing).is_some()
}

/// The zorgaanbieder who acts for the client, or the role when the registratie names none.
fn zorgaanbieder(case: &MonitorCase) -> &str {
    case.text(K::Registratie, "betrokken_zorgaanbieder")
        .unwrap_or("zorgaanbieder")
}

/// The open alerts of one case on `today`.
pub fn case_alerts(case: &MonitorCase, today: Date, cal: &Werkdagen) -> Vec<Alert> {
    collect(case, today, cal, false)
}

/// The duties of one case on `today`: the same rules and deadlines as [`case_alerts`], but each from the day the
/// duty begins — a corporatie sees its five-werkdagen answer deadline from the day the aanmeldbericht arrives, not
/// only once it has passed. What a partner's werkplek shows of its own work.
pub fn case_duties(case: &MonitorCase, today: Date, cal: &Werkdagen) -> Vec<Alert> {
    collect(case, today, cal, true)
}

fn collect(case: &MonitorCase, today: Date, cal: &Werkdagen, duties: bool) -> Vec<Alert> {
    let mut c = Collector {
        case,
        today,
        duties,
        alerts: Vec::new(),
    };
    aanmelding_mo(&mut c);
    bemiddeling_voor_einde_beschikking(&mut c);
    per_aanmeldbericht(&mut c, cal);
    drie_partijen_loopt_af(&mut c);
    gebiedsteam_voor_verhuizing(&mut c);
    verzoek_aanvullen(&mut c, cal);
    akkoord_uitstroomgemeente(&mut c, cal);
    aanmelding_gebiedsteam_bw(&mut c);
    aanmelding_bw(&mut c);
    ondersteuning_na_uitstroom(&mut c);
    melding_oppakken(&mut c, cal);
    melding_toezichthouder(&mut c, cal);
    overleg_voorlegging(&mut c, cal);
    terugkoppeling_melder(&mut c, cal);
    afspraak_nakomen(&mut c);
    omklap_evaluatie(&mut c);
    overleg_huisuitzetting(&mut c, cal);
    meeloop_oude_zorgaanbieder(&mut c);
    waakvlam_bespreken(&mut c);
    c.alerts
}

/// The working days to settle the overleg on a dreigende huisuitzetting (this federation's choice; Afspraak 2h
/// names none).
pub const OVERLEG_HUISUITZETTING_WERKDAGEN: i64 = 10;

/// Whether the lease has ended or turned into a regular one: an omklap, a final outcome, a huisuitzetting or an end.
fn lease_settled(case: &MonitorCase) -> bool {
    case.docs.all(K::Huurverloop).iter().any(|e| {
        matches!(e.text("soort"), Some("huisuitzetting" | "huur_beeindigd"))
            || matches!(e.text("uitkomst_evaluatie"), Some("omklap" | "geen_omklap"))
    })
}

/// Afspraak 2f: the omklap goals of a 3-partijen lease are evaluated before it turns into a regular lease.
fn omklap_evaluatie(c: &mut Collector<'_>) {
    let case = c.case;
    if lease_settled(case) {
        return;
    }
    let last_later = case
        .docs
        .all(K::Huurverloop)
        .iter()
        .filter(|e| e.text("uitkomst_evaluatie") == Some("later_opnieuw"))
        .filter_map(|e| e.date("datum"))
        .max();
    for inst in &case.reacties {
        let r = &inst.form;
        if r.text("soort_huurcontract") != Some("drie_partijen") {
            continue;
        }
        let Some(getekend) = r.date("datum_ondertekening") else {
            continue;
        };
        let mut deadline = match last_later {
            Some(d) => add_months(d, 6),
            None => add_months(getekend, 12),
        };
        if let Some(einde) = r.date("einddatum_drie_partijen") {
            deadline = deadline.min(add_months(einde, -3));
        }
        c.open_since(
            AlertKind::OmklapEvaluatie,
            &inst.partner,
            deadline,
            add_months(deadline, -1),
            getekend,
        );
    }
}

/// The corporatie that rents to the client: the one with a signed lease, else the assigned one.
fn verhurende_corporatie(case: &MonitorCase) -> String {
    case.reacties
        .iter()
        .find(|r| r.form.date("datum_ondertekening").is_some())
        .map(|r| r.partner.clone())
        .or_else(|| {
            case.text(K::Beoordeling, "toegewezen_corporatie")
                .map(str::to_string)
        })
        .unwrap_or_else(|| "corporatie".into())
}

/// Afspraak 2h: a melding `dreigende_huisuitzetting` is the overleg before an eviction; it is settled within
/// [`OVERLEG_HUISUITZETTING_WERKDAGEN`], by the corporatie that rents to the client.
fn overleg_huisuitzetting(c: &mut Collector<'_>, cal: &Werkdagen) {
    let case = c.case;
    for m in case.docs.all(K::Melding) {
        if m.text("soort") != Some("dreigende_huisuitzetting")
            || m.text("status") == Some("afgehandeld")
        {
            continue;
        }
        let Some(gemeld) = m.date("datum_melding") else {
            continue;
        };
        let deadline = cal.add_werkdagen(gemeld, OVERLEG_HUISUITZETTING_WERKDAGEN);
        c.open_since(
            AlertKind::OverlegHuisuitzetting,
            &verhurende_corporatie(case),
            deadline,
            deadline + Duration::DAY,
            gemeld,
        );
    }
}

/// Afspraak 4e: the old zorgaanbieder walks along "een korte periode (maximaal 3 maanden)". Open while no end within
/// the three months is recorded.
fn meeloop_oude_zorgaanbieder(c: &mut Collector<'_>) {
    let case = c.case;
    for e in case.docs.all(K::Ondersteuningsverloop) {
        if e.text("soort") != Some("meeloop_oude_zorgaanbieder") {
            continue;
        }
        let Some(start) = e.date("datum") else {
            continue;
        };
        let deadline = add_months(start, 3);
        if e.date("einddatum_meeloop").is_some_and(|d| d <= deadline) {
            continue;
        }
        c.open_since(
            AlertKind::MeeloopOudeZorgaanbieder,
            zorgaanbieder(case),
            deadline,
            deadline + Duration::DAY,
            start,
        );
    }
}

/// Afspraak 6a: "Bij afloop van de Wmo beschikking wordt [...] standaard de wenselijkheid van
/// waakvlamondersteuning besproken." An end of support with no waakvlam recorded (`geen` counts: it was discussed)
/// from three months before it on, for the uitstroomgemeente; lapses three months after the end.
fn waakvlam_bespreken(c: &mut Collector<'_>) {
    let case = c.case;
    let events = case.docs.all(K::Ondersteuningsverloop);
    for e in events {
        if e.text("soort") != Some("einde_ondersteuning") {
            continue;
        }
        let Some(einde) = e.date("datum") else {
            continue;
        };
        let besproken = events.iter().any(|w| {
            w.text("soort") == Some("waakvlam")
                && w.date("datum").is_some_and(|d| d >= add_months(einde, -3))
        });
        if besproken || c.today > add_months(einde, 3) {
            continue;
        }
        let gemeente = case
            .docs
            .uitstroomgemeente()
            .map(|g| format!("gemeente:{g}"))
            .unwrap_or_else(|| "gemeente".into());
        c.open_since(
            AlertKind::WaakvlamBespreken,
            &gemeente,
            einde,
            einde + Duration::DAY,
            einde,
        );
    }
}

/// Whether the request was sent back and not yet submitted again: the Transferpunt's count of send-backs has
/// caught up with the zorgaanbieder's count of submissions (counts, not dates: both can fall on one day).
pub fn sent_back_open(case: &policies::CaseDocuments) -> bool {
    let beoordeling = case.first(K::Beoordeling);
    if beoordeling.and_then(|b| b.text("status")) != Some("teruggestuurd_onvolledig") {
        return false;
    }
    let count = |form: Option<&Form>, field: &str| {
        form.and_then(|f| f.get(field))
            .and_then(Value::as_integer)
            .unwrap_or(1)
    };
    let teruggestuurd = count(beoordeling, "aantal_keer_teruggestuurd");
    let ingediend = count(case.first(K::Bemiddelingsverzoek), "aantal_keer_ingediend");
    ingediend <= teruggestuurd
}

/// A request sent back: the zorgaanbieder completes it and submits it again, within 10 werkdagen.
fn verzoek_aanvullen(c: &mut Collector<'_>, cal: &Werkdagen) {
    let case = c.case;
    if placed(case) || !sent_back_open(&case.docs) {
        return;
    }
    if let Some(back) = case.date(K::Beoordeling, "datum_teruggestuurd") {
        c.open(
            AlertKind::VerzoekAanvullen,
            zorgaanbieder(case),
            cal.add_werkdagen(back, 10),
            back,
        );
    }
}

/// The uitstroomgemeente the Transferpunt chose for a complete request gives its akkoord (or refuses it), within
/// 10 werkdagen.
fn akkoord_uitstroomgemeente(c: &mut Collector<'_>, cal: &Werkdagen) {
    let case = c.case;
    let open = !placed(case)
        && !matches!(
            case.text(K::Beoordeling, "status"),
            Some("afgewezen" | "ingetrokken")
        );
    let (Some(gemeente), Some(volledig)) = (
        case.text(K::Beoordeling, "gekozen_uitstroomgemeente"),
        case.date(K::Beoordeling, "datum_volledig"),
    ) else {
        return;
    };
    let partner = format!("gemeente:{gemeente}");
    let answered = case
        .gemeenten
        .iter()
        .any(|g| g.partner == partner && g.form.text("akkoord_uitstroom").is_some());
    if open && !answered {
        c.open(
            AlertKind::AkkoordUitstroomgemeente,
            &partner,
            cal.add_werkdagen(volledig, 10),
            volledig,
        );
    }
}

/// MO: aanmelding within 2 weeks of the start of the stay.
fn aanmelding_mo(c: &mut Collector<'_>) {
    let case = c.case;
    if case.text(K::Registratie, "soort_voorziening") == Some("maatschappelijke_opvang")
        && !placed(case)
        && case.date(K::Aanmelding, "datum_aanmelding").is_none()
        && let Some(start) = case.date(K::Registratie, "start_verblijf_opvang")
    {
        let deadline = start + Duration::days(14);
        c.open_since(
            AlertKind::AanmeldingMo,
            zorgaanbieder(case),
            deadline,
            deadline + Duration::DAY,
            start,
        );
    }
}

/// BW: bemiddeling at least 3 months before the beschikking ends, open a month ahead.
fn bemiddeling_voor_einde_beschikking(c: &mut Collector<'_>) {
    let case = c.case;
    let bw = case.text(K::Registratie, "soort_voorziening") == Some("beschermd_wonen")
        || case
            .gemeenten
            .iter()
            .any(|g| g.form.text("soort_beschikking") == Some("beschermd_wonen"));
    if bw
        && !placed(case)
        && case
            .date(K::Bemiddelingsverzoek, "datum_ingediend")
            .is_none()
        && let Some(einde) = case
            .gemeenten
            .iter()
            .filter_map(|g| g.form.date("beschikking_einddatum"))
            .max()
    {
        let deadline = add_months(einde, -3);
        c.open(
            AlertKind::BemiddelingVoorEindeBeschikking,
            zorgaanbieder(case),
            deadline,
            add_months(deadline, -1),
        );
    }
}

/// Whether the client stays in beschermd wonen: the registratie says so, or a gemeente gave a BW beschikking.
fn beschermd_wonen(case: &MonitorCase) -> bool {
    case.text(K::Registratie, "soort_voorziening") == Some("beschermd_wonen")
        || case
            .gemeenten
            .iter()
            .any(|g| g.form.text("soort_beschikking") == Some("beschermd_wonen"))
}

/// The end of the BW beschikking: the latest end of a gemeente's beschikking of that kind, else the end the
/// zorgaanbieder gave in the bemiddelingsverzoek.
fn einde_bw_beschikking(case: &MonitorCase) -> Option<Date> {
    case.gemeenten
        .iter()
        .filter(|g| g.form.text("soort_beschikking") == Some("beschermd_wonen"))
        .filter_map(|g| g.form.date("beschikking_einddatum"))
        .max()
        .or_else(|| case.date(K::Bemiddelingsverzoek, "einddatum_beschikking_bw"))
}

/// BW (Bijlage 1, 1d.2): "uiterlijk een half jaar voor afloop van de Wmo beschikking Beschermd Wonen" the gemeente
/// where the client stays registers the client with the gebiedsteam of the gemeente where the client will live.
/// For that gemeente of the stay (`registratie.verblijfgemeente`, else the gemeente that gave the BW beschikking);
/// done when a gemeente records `datum_aanmelding_gebiedsteam`. Open a month ahead, like the bemiddeling rule.
fn aanmelding_gebiedsteam_bw(c: &mut Collector<'_>) {
    let case = c.case;
    if !beschermd_wonen(case) || placed(case) {
        return;
    }
    let done = case
        .gemeenten
        .iter()
        .any(|g| g.form.date("datum_aanmelding_gebiedsteam").is_some());
    let Some(einde) = einde_bw_beschikking(case) else {
        return;
    };
    if done {
        return;
    }
    let gemeente = case
        .text(K::Registratie, "verblijfgemeente")
        .map(|g| format!("gemeente:{g}"))
        .or_else(|| {
            case.gemeenten
                .iter()
                .find(|g| g.form.text("soort_beschikking") == Some("beschermd_wonen"))
                .map(|g| g.partner.clone())
        })
        .unwrap_or_else(|| "gemeente".into());
    let deadline = add_months(einde, -6);
    c.open(
        AlertKind::AanmeldingGebiedsteamBw,
        &gemeente,
        deadline,
        add_months(deadline, -1),
    );
}

/// BW (Bijlage 3, aanmeldfase): "Binnen 2 weken na registratie wordt het aanmeldformulier door de Zorgaanbieder
/// met de Uitstromer ingevuld". MO has its own rule from the start of the stay ([`aanmelding_mo`]).
fn aanmelding_bw(c: &mut Collector<'_>) {
    let case = c.case;
    if case.text(K::Registratie, "soort_voorziening") == Some("beschermd_wonen")
        && !placed(case)
        && case.date(K::Aanmelding, "datum_aanmelding").is_none()
        && let Some(registratie) = case.date(K::Registratie, "datum_aanmelding_transferpunt")
    {
        let deadline = registratie + Duration::days(14);
        c.open_since(
            AlertKind::AanmeldingBw,
            zorgaanbieder(case),
            deadline,
            deadline + Duration::DAY,
            registratie,
        );
    }
}

/// Kinds of Wmo beschikking that are support at home after outflow.
const ONDERSTEUNING_THUIS: &[&str] = &["ambulante_ondersteuning", "nazorg", "waakvlam"];

/// An uitstroom to a home without support: no `plaatsing.startdatum_ondersteuning` and no beschikking for support
/// at home (ambulant, nazorg, waakvlam) that has not ended before the move. For the uitstroomgemeente, which gives
/// the beschikking (Afspraak 4d); due the day of the move (Bijlage 1, 4d: "sluit naadloos aan"), open from it, and
/// lapsing three months later (Bijlage 1, 4e).
fn ondersteuning_na_uitstroom(c: &mut Collector<'_>) {
    let case = c.case;
    let Some(p) = case.form(K::Plaatsing) else {
        return;
    };
    let (Some("uitstroom_zelfstandig"), Some(verhuizing)) =
        (p.text("soort_mutatie"), p.date("datum_mutatie"))
    else {
        return;
    };
    let beschikking = case.gemeenten.iter().any(|g| {
        g.form
            .text("soort_beschikking")
            .is_some_and(|s| ONDERSTEUNING_THUIS.contains(&s))
            && g.form
                .date("beschikking_einddatum")
                .is_none_or(|einde| einde >= verhuizing)
    });
    if beschikking || p.date("startdatum_ondersteuning").is_some() {
        return;
    }
    if c.today > add_months(verhuizing, 3) {
        return;
    }
    let gemeente = p
        .text("definitieve_uitstroomgemeente")
        .or(case.docs.uitstroomgemeente())
        .map(|g| format!("gemeente:{g}"))
        .unwrap_or_else(|| "gemeente".into());
    c.open(
        AlertKind::OndersteuningNaUitstroom,
        &gemeente,
        verhuizing,
        verhuizing,
    );
}

/// Per aanmeldbericht, while the request is open: an answer within 5 werkdagen, an offer within 3 months, a
/// second offer after a refusal by the client.
fn per_aanmeldbericht(c: &mut Collector<'_>, cal: &Werkdagen) {
    let case = c.case;
    let closed = placed(case)
        || matches!(
            case.text(K::Beoordeling, "status"),
            Some("afgewezen" | "ingetrokken")
        );
    if closed {
        return;
    }
    for bericht in case.docs.all(K::Aanmeldbericht) {
        let (Some(corporatie), Some(verzonden)) =
            (bericht.text("corporatie"), bericht.date("datum_verzonden"))
        else {
            continue;
        };
        let reactie = case.reactie_of(corporatie);
        reactie_corporatie(c, corporatie, verzonden, reactie, cal);
        aanbod(c, corporatie, verzonden, reactie);
        tweede_aanbod(c, corporatie, reactie);
    }
}

/// The corporatie's decision on its reactie, if any.
fn besluit(reactie: Option<&Form>) -> Option<&str> {
    reactie.and_then(|r| r.text("besluit"))
}

/// The corporatie answers the aanmeldbericht sent on `verzonden` within 5 werkdagen.
fn reactie_corporatie(
    c: &mut Collector<'_>,
    corporatie: &str,
    verzonden: Date,
    reactie: Option<&Form>,
    cal: &Werkdagen,
) {
    let answered = besluit(reactie).is_some_and(|b| b != "in_behandeling");
    if !answered {
        let deadline = cal.add_werkdagen(verzonden, 5);
        c.open_since(
            AlertKind::ReactieCorporatie,
            corporatie,
            deadline,
            deadline + Duration::DAY,
            verzonden,
        );
    }
}

/// A corporatie that did not refuse makes an offer within 3 months of the aanmeldbericht.
fn aanbod(c: &mut Collector<'_>, corporatie: &str, verzonden: Date, reactie: Option<&Form>) {
    if besluit(reactie) == Some("geweigerd") {
        return;
    }
    if reactie.map(offers).unwrap_or_default().is_empty() {
        let deadline = add_months(verzonden, 3);
        c.open_since(
            AlertKind::Aanbod,
            corporatie,
            deadline,
            deadline + Duration::DAY,
            verzonden,
        );
    }
}

/// After the client refused the only offer, on grounds, and nothing was signed: a second offer within 3 months.
fn tweede_aanbod(c: &mut Collector<'_>, corporatie: &str, reactie: Option<&Form>) {
    let Some(r) = reactie else {
        return;
    };
    if besluit(reactie) == Some("geweigerd") || r.date("datum_ondertekening").is_some() {
        return;
    }
    if let [(first, Some("geweigerd"))] = offers(r).as_slice() {
        let deadline = add_months(*first, 3);
        c.open_since(
            AlertKind::TweedeAanbod,
            corporatie,
            deadline,
            deadline + Duration::DAY,
            *first,
        );
    }
}

/// A 3-partijen lease ends: open 3 months ahead, for the corporatie.
fn drie_partijen_loopt_af(c: &mut Collector<'_>) {
    // Settled by an omklap or ended (issue #17 item 3): nothing left to arrange.
    if lease_settled(c.case) {
        return;
    }
    for inst in &c.case.reacties {
        let r = &inst.form;
        if r.text("soort_huurcontract") != Some("drie_partijen") {
            continue;
        }
        if let Some(einde) = r.date("einddatum_drie_partijen") {
            c.open(
                AlertKind::DriePartijenLooptAf,
                &inst.partner,
                einde,
                add_months(einde, -3),
            );
        }
    }
}

/// Gebiedsteam contact before the move: from an accepted offer or a signed lease until the move (the signing),
/// for the uitstroomgemeente.
fn gebiedsteam_voor_verhuizing(c: &mut Collector<'_>) {
    let case = c.case;
    if placed(case) {
        return;
    }
    let contact = case.gemeenten.iter().any(|g| {
        g.form.date("datum_contact_gebiedsteam").is_some()
            || g.form.text("gebiedsteam_contactpersoon").is_some()
    });
    let accepted = case.reacties.iter().find_map(|inst| {
        let r = &inst.form;
        let aanbod = offers(r)
            .into_iter()
            .find(|(_, c)| *c == Some("geaccepteerd"))
            .map(|(d, _)| d);
        let getekend = r.date("datum_ondertekening");
        let from = aanbod.or(getekend)?;
        Some((from, getekend.unwrap_or(from)))
    });
    if !contact && let Some((from, deadline)) = accepted {
        let gemeente = case
            .text(K::Beoordeling, "gekozen_uitstroomgemeente")
            .or(case.docs.uitstroomgemeente())
            .map(|g| format!("gemeente:{g}"))
            .unwrap_or_else(|| "gemeente".into());
        c.open(
            AlertKind::GebiedsteamVoorVerhuizing,
            &gemeente,
            deadline,
            from,
        );
    }
}

/// The Transferpunt, as an addressee (the covenant has one).
const TRANSFERPUNT: &str = "transferpunt";

/// Who made a melding, or the word when the holder does not know.
fn maker(m: &crate::Melding) -> &str {
    if m.by.is_empty() { "melder" } else { &m.by }
}

/// Afspraak 7c: the partner where the melding was made takes it up; done once it records who holds regie.
fn melding_oppakken(c: &mut Collector<'_>, cal: &Werkdagen) {
    let case = c.case;
    for m in &case.meldingen {
        let Some(d) = m.form.date("datum_melding") else {
            continue;
        };
        if m.form.text("regie").is_none() && m.form.text("status") != Some("afgehandeld") {
            let deadline = cal.add_werkdagen(d, 5);
            c.open_since(
                AlertKind::MeldingOppakken,
                maker(m),
                deadline,
                deadline.next_day().unwrap_or(deadline),
                d,
            );
        }
    }
}

/// Afspraak 7h: an incident or calamiteit is always reported to the Toezichthouder Sociaal Domein.
fn melding_toezichthouder(c: &mut Collector<'_>, cal: &Werkdagen) {
    let case = c.case;
    for m in &case.meldingen {
        let Some(d) = m.form.date("datum_melding") else {
            continue;
        };
        let ernstig = matches!(m.form.text("soort"), Some("incident" | "calamiteit"));
        if ernstig && m.form.bool("gemeld_bij_toezichthouder") != Some(true) {
            let deadline = cal.add_werkdagen(d, 3);
            c.open_since(
                AlertKind::MeldingToezichthouder,
                maker(m),
                deadline,
                deadline.next_day().unwrap_or(deadline),
                d,
            );
        }
    }
}

/// Afspraak 7d: the Transferpunt organises the overleg on a melding a vaste contactpersoon presented to it.
fn overleg_voorlegging(c: &mut Collector<'_>, cal: &Werkdagen) {
    let case = c.case;
    for m in &case.meldingen {
        if m.form.bool("voorgelegd_aan_transferpunt") != Some(true) {
            continue;
        }
        let Some(d) = m.form.date("datum_voorgelegd") else {
            continue;
        };
        let done = case.voorlegging_of(m).is_some_and(|v| {
            v.date("datum_overleg").is_some() || v.date("datum_afgehandeld").is_some()
        });
        if !done {
            let deadline = cal.add_werkdagen(d, 10);
            c.open_since(
                AlertKind::OverlegVoorlegging,
                TRANSFERPUNT,
                deadline,
                deadline.next_day().unwrap_or(deadline),
                d,
            );
        }
    }
}

/// Bijlage 1, 7g: after the afhandeling the melder is informed (as far as the privacy rules allow).
fn terugkoppeling_melder(c: &mut Collector<'_>, cal: &Werkdagen) {
    let case = c.case;
    for v in &case.voorleggingen {
        let Some(d) = v.form.date("datum_afgehandeld") else {
            continue;
        };
        if v.form.date("datum_terugkoppeling").is_none() {
            let deadline = cal.add_werkdagen(d, 5);
            c.open_since(
                AlertKind::TerugkoppelingMelder,
                TRANSFERPUNT,
                deadline,
                deadline.next_day().unwrap_or(deadline),
                d,
            );
        }
    }
}

/// Afspraak 7e: afspraken made in the overleg are binding ("afspraak = afspraak"); one not marked nagekomen by its
/// termijn alerts the Transferpunt, which keeps the overleg's afspraken.
fn afspraak_nakomen(c: &mut Collector<'_>) {
    let case = c.case;
    for v in &case.voorleggingen {
        let afspraken = v
            .form
            .get("afspraken")
            .and_then(Value::as_records)
            .unwrap_or_default();
        for a in afspraken {
            let Some(termijn) = a.get("termijn").and_then(Value::as_date) else {
                continue;
            };
            if a.get("nagekomen").and_then(Value::as_text) != Some("ja") {
                c.open(
                    AlertKind::AfspraakNakomen,
                    TRANSFERPUNT,
                    termijn,
                    termijn.next_day().unwrap_or(termijn),
                );
            }
        }
    }
}

/// The open alerts of every case on `today`, by deadline.
pub fn open_alerts(cases: &[MonitorCase], today: Date, cal: &Werkdagen) -> Vec<Alert> {
    by_deadline(
        cases
            .iter()
            .flat_map(|c| case_alerts(c, today, cal))
            .collect(),
    )
}

/// The duties of every case on `today` ([`case_duties`]), by deadline.
pub fn open_duties(cases: &[MonitorCase], today: Date, cal: &Werkdagen) -> Vec<Alert> {
    by_deadline(
        cases
            .iter()
            .flat_map(|c| case_duties(c, today, cal))
            .collect(),
    )
}

fn by_deadline(mut all: Vec<Alert>) -> Vec<Alert> {
    all.sort_by(|a, b| (a.deadline, &a.addressee, a.kind).cmp(&(b.deadline, &b.addressee, b.kind)));
    all
}
