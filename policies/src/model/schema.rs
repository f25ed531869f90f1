//! The forms of a case, field by field: Bijlage 3 of the covenant, the ondersteuningsplan of Afspraak 4b and the
//! bemiddeling process of the 2025 evaluation (§3–4). This table is the single source for validation,
//! completeness, the policy's field names and the Dutch labels in every report.

use super::types::{Categories, Category, Cond, FieldSpec, FieldType, Required};

use Category::{Bijzonder as B, Bsn as N, Financieel as F, Identificerend as I};
use Required::{Always, ForSubmission as Sub, Optional as Opt};

/// `f!(name, label, type, required, categories...)`
macro_rules! f {
    ($name:literal, $label:literal, $ty:expr, $req:expr $(, $cat:expr)* $(,)?) => {
        FieldSpec {
            name: $name,
            label: $label,
            ty: $ty,
            required: $req,
            categories: Categories::NONE $(.with($cat))*,
        }
    };
}

const fn when(field: &'static str, any_of: &'static [&'static str]) -> Cond {
    Cond { field, any_of }
}

const PAST: FieldType = FieldType::Date { not_future: true };
const DATE: FieldType = FieldType::Date { not_future: false };
const T: FieldType = FieldType::Text;
const LT: FieldType = FieldType::LongText;
const GM: FieldType = FieldType::Gemeente;

/// Yes / no / unknown, as the forms ask it.
pub const JA_NEE_ONBEKEND: &[&str] = &["ja", "nee", "onbekend"];
/// The two kinds of shelter the covenant covers.
pub const SOORT_VOORZIENING: &[&str] = &["beschermd_wonen", "maatschappelijke_opvang"];
/// The uitstroomprofiel: where a client is expected to (or did) go.
pub const UITSTROOMPROFIEL: &[&str] = &[
    "zelfstandig_wonen",
    "zelfstandig_wonen_met_ondersteuning",
    "beschermd_thuis",
    "beschermd_wonen",
    "maatschappelijke_opvang",
    "buiten_friesland",
    "anders",
];
/// The client's household.
pub const LEEFSITUATIE: &[&str] = &[
    "alleenstaand",
    "alleenstaand_met_kinderen",
    "samenwonend",
    "samenwonend_met_kinderen",
    "anders",
];
/// Where the client lived before.
pub const WOONSITUATIE: &[&str] = &[
    "huurwoning_corporatie",
    "huurwoning_particulier",
    "koopwoning",
    "inwonend_bij_familie_of_vrienden",
    "kamerhuur",
    "instelling",
    "detentie",
    "zonder_vaste_woonplek",
    "anders",
];
/// Main source of income.
pub const HOOFDINKOMEN: &[&str] = &[
    "werk",
    "participatiewet",
    "uwv_uitkering",
    "wajong",
    "studiefinanciering",
    "geen_inkomen",
    "anders",
];
/// Support for debts.
pub const VORM_SCHULDEN: &[&str] = &[
    "geen",
    "budgetbeheer",
    "beschermingsbewind",
    "schuldhulpverlening",
    "wsnp",
    "anders",
];
/// Kind of home.
pub const TYPE_WONING: &[&str] = &[
    "sociale_huur",
    "particuliere_huur",
    "kamer",
    "koopwoning",
    "beschermd_wonen",
    "anders",
];
/// Lease type (Afspraak 2).
pub const SOORT_HUURCONTRACT: &[&str] = &["eigen_naam", "drie_partijen", "onbekend"];
/// How the home was allocated.
pub const WIJZE_TOEWIJZING: &[&str] = &["regulier", "bemiddeling", "urgentie", "anders"];
/// What changed in the client's stay (plaatsing; uitval for Afspraak 3d.6).
pub const SOORT_MUTATIE: &[&str] = &[
    "uitstroom_zelfstandig",
    "uitstroom_andere_voorziening",
    "terugkeer_zorgaanbieder",
    "huisuitzetting",
    "vertrokken_buiten_regio",
    "overleden",
    "onbekend",
];
/// Regular outflow or bemiddeling.
pub const SOORT_UITSTROOM: &[&str] = &["regulier", "bemiddeling"];
/// Identity documents (Wmo 2015 art. 5.2.8).
pub const IDENTITEITSBEWIJS: &[&str] = &["paspoort", "id_kaart", "verblijfsdocument", "rijbewijs"];
/// Daytime activity.
pub const DAGINVULLING: &[&str] = &[
    "werk",
    "opleiding",
    "dagbesteding",
    "vrijwilligerswerk",
    "anders",
];
/// The Transferpunt's assessment of a bemiddelingsverzoek.
pub const BEOORDELING_STATUS: &[&str] = &[
    "ontvangen",
    "teruggestuurd_onvolledig",
    "in_behandeling",
    "goedgekeurd",
    "afgewezen",
    "ingetrokken",
];
/// Why a request was refused or withdrawn (evaluation, figure 2).
pub const REDEN_AFWIJZING: &[&str] = &[
    "onvolledige_informatie",
    "onvoldoende_eigen_inspanning",
    "niet_aan_voorwaarden",
    "regulier_uitgestroomd",
    "client_trekt_in",
    "anders",
];
/// Why the uitstroomgemeente is not the herkomstgemeente (Bijlage 1, 1d; evaluation §4.1).
pub const REDEN_ANDERE_GEMEENTE: &[&str] = &[
    "veiligheid",
    "negatief_netwerk",
    "huiselijk_geweld",
    "verslavingsnetwerk",
    "geen_herkomstgemeente_in_friesland",
    "anders",
];
/// The corporatie's answer to an aanmeldbericht.
pub const BESLUIT_CORPORATIE: &[&str] = &[
    "in_behandeling",
    "geaccepteerd",
    "informatie_gevraagd",
    "geweigerd",
];
/// Grounded reasons for a corporatie to refuse (Afspraak 1g; evaluation §4.1).
pub const REDEN_WEIGERING_CORPORATIE: &[&str] = &[
    "overlast",
    "hennepteelt",
    "huurachterstand",
    "schade_aan_woning",
    "anders",
];
/// Outcome of one corporatie in the round-robin.
pub const UITKOMST_CORPORATIE: &[&str] = &["lopend", "geaccepteerd", "geweigerd", "teruggetrokken"];
/// The client's answer to an offer.
pub const REACTIE_CLIENT: &[&str] = &["openstaand", "geaccepteerd", "geweigerd"];
/// The gemeente's consent to the chosen uitstroomgemeente.
pub const AKKOORD: &[&str] = &["akkoord", "niet_akkoord"];
/// Kind of Wmo beschikking.
pub const SOORT_BESCHIKKING: &[&str] = &[
    "beschermd_wonen",
    "maatschappelijke_opvang",
    "ambulante_ondersteuning",
    "nazorg",
    "waakvlam",
];
/// Kind of melding (Afspraak 7).
/// `dreigende_huisuitzetting` is the overleg of Afspraak 2h: a corporatie that means to evict during a 3-partijen
/// lease first records it as a melding and settles it with the partners involved (see [`HUURVERLOOP`]).
pub const SOORT_MELDING: &[&str] = &[
    "signaal",
    "knelpunt",
    "incident",
    "calamiteit",
    "dreigende_huisuitzetting",
];
/// Who reported.
pub const MELDER: &[&str] = &[
    "zorgaanbieder",
    "gemeente",
    "corporatie",
    "transferpunt",
    "client",
    "omwonende",
    "anders",
];
/// Progress of a melding.
pub const STATUS_MELDING: &[&str] = &[
    "open",
    "in_behandeling",
    "voorgelegd_transferpunt",
    "afgehandeld",
];

/// Who holds regie over a melding (Bijlage 2: the AVE ladder says who is responsible at each step — AVE 1 the
/// inwoner, AVE 2 the gebiedsteam, AVE 3 the Zorg- en Veiligheidshuis; in the regular course the zorgaanbieder's
/// begeleider, and after a crisis the crisisdienst or the police). The Transferpunt never holds it: it has "geen
/// actieve rol" after outflow and sits in the overleg "als onafhankelijke adviserende partij" (Bijlage 1, 7d).
pub const REGIE_MELDING: &[&str] = &[
    "client",
    "zorgaanbieder",
    "gebiedsteam",
    "corporatie",
    "zorg_en_veiligheidshuis",
    "crisisdienst_of_politie",
];

/// One step up the AVE ladder of a melding (Bijlage 2): kept, never overwritten.
pub const ESCALATIE: &[FieldSpec] = &[
    f!("datum", "Datum opschaling", PAST, Always),
    f!(
        "van_niveau",
        "Van AVE-niveau",
        FieldType::Integer { min: 1, max: 4 },
        Always
    ),
    f!(
        "naar_niveau",
        "Naar AVE-niveau",
        FieldType::Integer { min: 1, max: 4 },
        Always
    ),
    f!("door", "Opgeschaald door (naam en functie)", T, Always, I),
    f!("reden", "Reden van opschaling", LT, Always, B),
];

/// One binding afspraak made in the overleg with the Transferpunt (Afspraak 7e: "afspraak = afspraak").
pub const AFSPRAAK_OVERLEG: &[FieldSpec] = &[
    f!("afspraak", "Afspraak", LT, Always, B),
    f!("partij", "Wie voert de afspraak uit", T, Always),
    f!("termijn", "Uiterlijk op", DATE, Always),
    f!(
        "nagekomen",
        "Nagekomen",
        FieldType::Enum(JA_NEE_ONBEKEND),
        Opt
    ),
];

const INSCHRIJVING: &[FieldSpec] = &[
    f!("corporatie", "Woningcorporatie of verhuurder", T, Always),
    f!("datum_inschrijving", "Datum inschrijving", PAST, Always),
];

const CONTACTPERSOON: &[FieldSpec] = &[
    f!("naam", "Naam", T, Always, I),
    f!("organisatie", "Organisatie", T, Always),
    f!("functie", "Functie", T, Opt),
    f!(
        "telefoonnummer",
        "Telefoonnummer",
        FieldType::Telefoon,
        Opt,
        I
    ),
    f!("mailadres", "E-mailadres", FieldType::Email, Opt, I),
];

const AANBIEDING: &[FieldSpec] = &[
    f!("datum_aanbod", "Datum aanbod", PAST, Always),
    f!("adres", "Adres van de aangeboden woning", T, Always, I),
    f!(
        "type_woning",
        "Type woning",
        FieldType::Enum(TYPE_WONING),
        Opt
    ),
    f!(
        "reactie_client",
        "Reactie cliënt",
        FieldType::Enum(REACTIE_CLIENT),
        Always
    ),
    f!(
        "reden_weigering_client",
        "Reden weigering door cliënt",
        LT,
        Required::AlwaysWhen(when("reactie_client", &["geweigerd"])),
        B
    ),
];

const CORPORATIE_HISTORIE: &[FieldSpec] = &[
    f!("corporatie", "Woningcorporatie", FieldType::Partner, Always),
    f!("datum_aanmelding", "Datum aanmeldbericht", PAST, Always),
    f!(
        "uitkomst",
        "Uitkomst",
        FieldType::Enum(UITKOMST_CORPORATIE),
        Always
    ),
];

/// Registratie: at intake, by the zorgaanbieder with the client (Bijlage 3, registratiefase).
pub const REGISTRATIE: &[FieldSpec] = &[
    f!(
        "achternaam_voorletters",
        "Achternaam en voorletters",
        T,
        Always,
        I
    ),
    f!("bsn", "Burgerservicenummer", FieldType::Bsn, Always, N, I),
    f!("geboortedatum", "Geboortedatum", PAST, Always, I),
    f!(
        "identiteit_vastgesteld_met",
        "Identiteit vastgesteld met",
        FieldType::Enum(IDENTITEITSBEWIJS),
        Sub
    ),
    f!("huidig_adres", "Huidig adres (of briefadres)", T, Sub, I),
    f!("herkomstgemeente", "Herkomstgemeente", GM, Sub),
    f!("laatste_woonplaats", "Laatste woonplaats", T, Sub, I),
    f!(
        "soort_voorziening",
        "Soort voorziening",
        FieldType::Enum(SOORT_VOORZIENING),
        Always
    ),
    f!(
        "eerste_aanmelding_opvang",
        "Eerste aanmelding opvang",
        PAST,
        Sub
    ),
    f!("start_verblijf_opvang", "Start verblijf opvang", PAST, Sub),
    f!(
        "datum_aanmelding_transferpunt",
        "Datum aanmelding Transferpunt",
        PAST,
        Sub
    ),
    f!(
        "betrokken_zorgaanbieder",
        "Betrokken zorgaanbieder",
        FieldType::Partner,
        Always
    ),
    f!(
        "locatie_opvang",
        "Locatie maatschappelijke opvang / beschermd wonen",
        T,
        Sub
    ),
    f!("verblijfgemeente", "Gemeente van verblijf", GM, Sub),
    f!("contact_begeleider", "Contactgegevens begeleider", T, Sub),
    f!("casusregisseur", "Naam casusregisseur", T, Opt),
    f!("procesregisseur", "Naam procesregisseur", T, Opt),
    f!("reden_dakloosheid", "Reden dakloosheid", LT, Sub, B),
    f!(
        "datum_start_dakloosheid",
        "Datum start dakloosheid",
        PAST,
        Opt,
        B
    ),
    f!(
        "betrokkenheid_gebiedsteam",
        "Betrokkenheid gebiedsteam",
        FieldType::Enum(JA_NEE_ONBEKEND),
        Sub
    ),
    f!(
        "toestemming_gegevensdeling",
        "Toestemming gegevensuitwisseling met het Transferpunt",
        FieldType::Bool,
        Always
    ),
    f!(
        "datum_toestemming",
        "Datum toestemming",
        PAST,
        Required::AlwaysWhen(when("toestemming_gegevensdeling", &["true"]))
    ),
];

/// Aanmelding: within two weeks of registration (Bijlage 3, aanmeldfase; Bijlage 1, 1d).
pub const AANMELDING: &[FieldSpec] = &[
    f!(
        "achternaam_voorletters",
        "Achternaam en voorletters",
        T,
        Always,
        I
    ),
    f!("datum_aanmelding", "Datum aanmelding", PAST, Always),
    f!(
        "telefoonnummer",
        "Telefoonnummer",
        FieldType::Telefoon,
        Opt,
        I
    ),
    f!("mailadres", "E-mailadres", FieldType::Email, Opt, I),
    f!("herkomstgemeente", "Herkomstgemeente", GM, Sub),
    f!(
        "leefsituatie",
        "Leefsituatie",
        FieldType::Enum(LEEFSITUATIE),
        Sub
    ),
    f!(
        "laatste_woonsituatie",
        "Laatste woonsituatie",
        FieldType::Enum(WOONSITUATIE),
        Sub
    ),
    f!(
        "naam_vorige_verhuurder_of_instantie",
        "Naam vorige verhuurder of instantie van vorige woonsituatie",
        T,
        Opt
    ),
    f!(
        "inschrijvingen_woningcorporaties",
        "Inschrijvingen en data woningcorporaties",
        FieldType::Records(INSCHRIJVING),
        Sub
    ),
    f!(
        "hoofdinkomen",
        "Hoofdinkomen",
        FieldType::Enum(HOOFDINKOMEN),
        Sub,
        F
    ),
    f!(
        "gemeente_participatie_uitkering",
        "Verantwoordelijke gemeente participatie-uitkering",
        GM,
        Opt,
        F
    ),
    f!(
        "schuldenproblematiek",
        "Bestaan schuldenproblematiek",
        FieldType::Enum(JA_NEE_ONBEKEND),
        Sub,
        F
    ),
    f!(
        "vorm_ondersteuning_schulden",
        "Vorm van ondersteuning bij schulden",
        FieldType::Enum(VORM_SCHULDEN),
        Required::ForSubmissionWhen(when("schuldenproblematiek", &["ja"])),
        F
    ),
    f!(
        "verwacht_uitstroomprofiel",
        "Verwacht uitstroomprofiel",
        FieldType::Enum(UITSTROOMPROFIEL),
        Sub
    ),
    f!(
        "uitzetting_in_verleden",
        "Uitzetting uit een woning in het verleden",
        FieldType::Enum(JA_NEE_ONBEKEND),
        Sub,
        B
    ),
    f!(
        "noodzaak_inzet_transferpunt",
        "Noodzaak inzet Transferpunt",
        FieldType::Enum(JA_NEE_ONBEKEND),
        Sub
    ),
    f!(
        "reden_inzet_transferpunt",
        "Reden inzet Transferpunt",
        LT,
        Required::ForSubmissionWhen(when("noodzaak_inzet_transferpunt", &["ja"]))
    ),
];

/// Vervolg wonen: working towards outflow (Bijlage 3, fase vervolg wonen).
pub const VERVOLG_WONEN: &[FieldSpec] = &[
    f!(
        "achternaam_voorletters",
        "Achternaam en voorletters",
        T,
        Always,
        I
    ),
    f!("datum_formulier", "Datum formulier", PAST, Always),
    f!(
        "uitstroomprofiel",
        "Uitstroomprofiel",
        FieldType::Enum(UITSTROOMPROFIEL),
        Sub
    ),
    f!(
        "naam_verhuurder_of_instantie",
        "Naam verhuurder of instantie van uitstroom",
        T,
        Opt
    ),
    f!("uitstroomgemeente", "Uitstroomgemeente", GM, Sub),
    f!(
        "soort_uitstroom",
        "Soort uitstroom",
        FieldType::Enum(SOORT_UITSTROOM),
        Sub
    ),
    f!(
        "noodzaak_inzet_transferpunt",
        "Noodzaak inzet Transferpunt",
        FieldType::Enum(JA_NEE_ONBEKEND),
        Sub
    ),
    f!(
        "reden_inzet_transferpunt",
        "Reden inzet Transferpunt",
        LT,
        Required::ForSubmissionWhen(when("noodzaak_inzet_transferpunt", &["ja"]))
    ),
];

const UITGESTROOMD: &[&str] = &["uitstroom_zelfstandig", "uitstroom_andere_voorziening"];

/// Plaatsing: the afmelding, for bemiddelde and regular outflow and for uitval (Bijlage 3; Afspraak 1l).
pub const PLAATSING: &[FieldSpec] = &[
    f!(
        "achternaam_voorletters",
        "Achternaam en voorletters",
        T,
        Always,
        I
    ),
    f!(
        "soort_mutatie",
        "Soort mutatie",
        FieldType::Enum(SOORT_MUTATIE),
        Always
    ),
    f!("datum_mutatie", "Datum mutatie", PAST, Always),
    f!(
        "mutatie_adres",
        "Adres na mutatie",
        T,
        Required::ForSubmissionWhen(when("soort_mutatie", UITGESTROOMD)),
        I
    ),
    f!(
        "definitief_uitstroomprofiel",
        "Definitief uitstroomprofiel",
        FieldType::Enum(UITSTROOMPROFIEL),
        Required::ForSubmissionWhen(when("soort_mutatie", UITGESTROOMD))
    ),
    f!(
        "naam_verhuurder",
        "Naam verhuurder",
        T,
        Required::ForSubmissionWhen(when("soort_mutatie", UITGESTROOMD))
    ),
    f!(
        "definitieve_uitstroomgemeente",
        "Definitieve uitstroomgemeente",
        GM,
        Required::ForSubmissionWhen(when("soort_mutatie", UITGESTROOMD))
    ),
    f!(
        "type_woning",
        "Type woning van uitstroom",
        FieldType::Enum(TYPE_WONING),
        Required::ForSubmissionWhen(when("soort_mutatie", UITGESTROOMD))
    ),
    f!(
        "type_intensiteit_ondersteuning",
        "Type en intensiteit van ondersteuning",
        T,
        Opt,
        B
    ),
    f!(
        "startdatum_ondersteuning",
        "Startdatum ondersteuning",
        DATE,
        Opt
    ),
    f!(
        "naam_ondersteunende_instantie",
        "Naam ondersteunende instantie",
        T,
        Opt
    ),
    f!(
        "soort_huurcontract",
        "Soort huurcontract",
        FieldType::Enum(SOORT_HUURCONTRACT),
        Required::ForSubmissionWhen(when("soort_mutatie", &["uitstroom_zelfstandig"]))
    ),
    f!(
        "wijze_van_toewijzing",
        "Wijze van toewijzing",
        FieldType::Enum(WIJZE_TOEWIJZING),
        Required::ForSubmissionWhen(when("soort_mutatie", &["uitstroom_zelfstandig"]))
    ),
    f!(
        "gedragsaanwijzing",
        "Gedragsaanwijzing",
        FieldType::Enum(JA_NEE_ONBEKEND),
        Opt,
        B
    ),
];

/// Bemiddelingsverzoek: the request for bemiddeling, with the 8 voorwaarden of evaluation §3.1 step 2.
/// The Transferpunt writes `ontbrekende_gegevens` and `toelichting_transferpunt` when it sends it back.
pub const BEMIDDELINGSVERZOEK: &[FieldSpec] = &[
    f!("datum_verzoek", "Datum verzoek", PAST, Always),
    f!(
        "datum_orienterend_gesprek",
        "Datum oriënterend gesprek met het Transferpunt",
        PAST,
        Opt
    ),
    f!(
        "achttien_jaar_of_ouder",
        "Voorwaarde: 18 jaar of ouder",
        FieldType::Bool,
        Sub
    ),
    f!(
        "verblijf_mo_of_bw_indicatie",
        "Voorwaarde: verblijf in MO of BW-indicatie",
        FieldType::Bool,
        Sub
    ),
    f!(
        "ingeschreven_meerdere_corporaties",
        "Voorwaarde: ingeschreven bij meerdere Friese woningcorporaties",
        FieldType::Bool,
        Sub
    ),
    f!(
        "documenten_in_portaal_corporatie",
        "Voorwaarde: alle vereiste documenten in het portaal van de corporatie",
        FieldType::Bool,
        Sub
    ),
    f!(
        "actief_gezocht",
        "Voorwaarde: actief gezocht naar woonruimte",
        FieldType::Bool,
        Sub
    ),
    f!("toelichting_zoekgedrag", "Toelichting zoekgedrag", LT, Sub),
    f!(
        "voldoende_zelfredzaam",
        "Voorwaarde: voldoende zelfredzaam (ondersteuningsplan opgesteld)",
        FieldType::Bool,
        Sub
    ),
    f!(
        "stabiele_daginvulling",
        "Voorwaarde: stabiele daginvulling",
        FieldType::Bool,
        Sub
    ),
    f!(
        "soort_daginvulling",
        "Soort daginvulling",
        FieldType::Enum(DAGINVULLING),
        Required::ForSubmissionWhen(when("stabiele_daginvulling", &["true"]))
    ),
    f!(
        "inkomen_en_schulden_in_beeld",
        "Voorwaarde: stabiel inkomen, schulden in beeld met afspraken",
        FieldType::Bool,
        Sub,
        F
    ),
    f!(
        "woonwens",
        "Woonwens (huurprijs, grootte, ligging)",
        LT,
        Sub
    ),
    f!("ondersteuningsprofiel", "Ondersteuningsprofiel", LT, Sub, B),
    f!(
        "einddatum_beschikking_bw",
        "Einddatum Wmo-beschikking beschermd wonen",
        DATE,
        Opt
    ),
    f!(
        "contactpersonen",
        "Contactgegevens betrokken contactpersonen",
        FieldType::Records(CONTACTPERSOON),
        Sub
    ),
    f!(
        "ontbrekende_gegevens",
        "Ontbrekende gegevens (Transferpunt)",
        FieldType::FieldList,
        Opt
    ),
    f!(
        "toelichting_transferpunt",
        "Toelichting Transferpunt",
        LT,
        Opt
    ),
    // Where a voorwaarde cannot be met, the begeleider says why; the request may then be submitted without it.
    // Special and financial: a reason may name health or debts.
    f!(
        "toelichting_voorwaarden",
        "Toelichting bij voorwaarden waaraan (nog) niet voldaan kan worden",
        FieldType::Records(VOORWAARDE_TOELICHTING),
        Opt,
        B,
        F
    ),
    // Set by indienen: a request without it is a draft at its writer, and the case is in bemiddeling from it on.
    f!(
        "datum_ingediend",
        "Datum ingediend bij het Transferpunt",
        PAST,
        Opt
    ),
    // Counts submissions, so a request sent back is known to be answered by a later one even on the same day.
    f!(
        "aantal_keer_ingediend",
        "Aantal keer ingediend",
        FieldType::Integer { min: 1, max: 99 },
        Opt
    ),
];

/// The 8 voorwaarden for bemiddeling by their field in the bemiddelingsverzoek (evaluation §3.1, step 2).
pub const VOORWAARDEN: &[&str] = &[
    "achttien_jaar_of_ouder",
    "verblijf_mo_of_bw_indicatie",
    "ingeschreven_meerdere_corporaties",
    "documenten_in_portaal_corporatie",
    "actief_gezocht",
    "voldoende_zelfredzaam",
    "stabiele_daginvulling",
    "inkomen_en_schulden_in_beeld",
];

/// Why a voorwaarde cannot be met.
const VOORWAARDE_TOELICHTING: &[FieldSpec] = &[
    f!(
        "voorwaarde",
        "Voorwaarde",
        FieldType::Enum(VOORWAARDEN),
        Always
    ),
    f!("toelichting", "Toelichting", LT, Always, B, F),
];

/// Beoordeling: the Transferpunt's assessment, choice of gemeente and corporatie (evaluation §3–4).
pub const BEOORDELING: &[FieldSpec] = &[
    f!(
        "status",
        "Status verzoek",
        FieldType::Enum(BEOORDELING_STATUS),
        Always
    ),
    f!("datum_ontvangen", "Datum verzoek ontvangen", PAST, Always),
    f!(
        "datum_teruggestuurd",
        "Datum teruggestuurd voor aanvulling",
        PAST,
        Required::AlwaysWhen(when("status", &["teruggestuurd_onvolledig"]))
    ),
    f!(
        "ontbrekende_gegevens",
        "Ontbrekende gegevens",
        FieldType::FieldList,
        Required::AlwaysWhen(when("status", &["teruggestuurd_onvolledig"]))
    ),
    f!(
        "aantal_keer_teruggestuurd",
        "Aantal keer teruggestuurd",
        FieldType::Integer { min: 0, max: 99 },
        Opt
    ),
    f!("datum_volledig", "Datum verzoek volledig", PAST, Opt),
    f!(
        "reden_afwijzing",
        "Reden afwijzing of intrekking",
        FieldType::Enum(REDEN_AFWIJZING),
        Required::AlwaysWhen(when("status", &["afgewezen", "ingetrokken"]))
    ),
    f!(
        "gekozen_uitstroomgemeente",
        "Gekozen uitstroomgemeente",
        GM,
        Opt
    ),
    f!(
        "reden_andere_gemeente",
        "Reden uitstroom buiten herkomstgemeente",
        FieldType::Enum(REDEN_ANDERE_GEMEENTE),
        Opt,
        B
    ),
    f!(
        "toelichting_andere_gemeente",
        "Toelichting keuze uitstroomgemeente",
        LT,
        Opt,
        B
    ),
    f!(
        "toegewezen_corporatie",
        "Toegewezen woningcorporatie",
        FieldType::Partner,
        Opt
    ),
    f!(
        "corporatie_historie",
        "Benaderde woningcorporaties",
        FieldType::Records(CORPORATIE_HISTORIE),
        Opt
    ),
    f!("datum_afgesloten", "Datum dossier afgesloten", PAST, Opt),
];

/// Aanmeldbericht: the only personal data a corporatie receives (Bijlage 3, fase vervolg wonen; Bijlage 1, 4a).
pub const AANMELDBERICHT: &[FieldSpec] = &[
    f!("corporatie", "Woningcorporatie", FieldType::Partner, Always),
    f!("datum_verzonden", "Datum verzonden", PAST, Always),
    f!(
        "bsn",
        "Burgerservicenummer hoofdbewoner",
        FieldType::Bsn,
        Always,
        N,
        I
    ),
    f!(
        "achternaam_initialen",
        "Achternaam en initialen",
        T,
        Always,
        I
    ),
    f!(
        "leefsituatie",
        "Leefsituatie",
        FieldType::Enum(LEEFSITUATIE),
        Sub
    ),
    f!(
        "beoogde_uitstroomgemeente",
        "Beoogde gemeente van uitstroom",
        GM,
        Always
    ),
    f!(
        "ondersteuningsprofiel",
        "Ondersteuningsprofiel uitstromer",
        LT,
        Sub,
        B
    ),
    f!(
        "contactpersonen",
        "Contactgegevens betrokken contactpersonen",
        FieldType::Records(CONTACTPERSOON),
        Sub
    ),
];

/// Reactie: the corporatie's answer, offers and lease (evaluation §4.1; Afspraak 1g–1k, 2).
pub const REACTIE: &[FieldSpec] = &[
    f!(
        "besluit",
        "Besluit",
        FieldType::Enum(BESLUIT_CORPORATIE),
        Always
    ),
    f!("datum_besluit", "Datum besluit", PAST, Always),
    f!(
        "informatieverzoek",
        "Gevraagde aanvullende informatie",
        LT,
        Required::AlwaysWhen(when("besluit", &["informatie_gevraagd"]))
    ),
    f!(
        "reden_weigering",
        "Reden weigering",
        FieldType::Enum(REDEN_WEIGERING_CORPORATIE),
        Required::AlwaysWhen(when("besluit", &["geweigerd"])),
        B
    ),
    f!(
        "toelichting_weigering",
        "Toelichting weigering",
        LT,
        Required::AlwaysWhen(when("besluit", &["geweigerd"])),
        B
    ),
    f!(
        "aanbiedingen",
        "Woningaanbiedingen",
        FieldType::Records(AANBIEDING),
        Opt
    ),
    f!(
        "soort_huurcontract",
        "Soort huurcontract",
        FieldType::Enum(SOORT_HUURCONTRACT),
        Opt
    ),
    f!(
        "datum_ondertekening",
        "Datum ondertekening huurcontract",
        DATE,
        Required::AlwaysWhen(when("soort_huurcontract", &["eigen_naam", "drie_partijen"]))
    ),
    f!(
        "einddatum_drie_partijen",
        "Einddatum 3-partijen-huurovereenkomst",
        DATE,
        Required::AlwaysWhen(when("soort_huurcontract", &["drie_partijen"]))
    ),
    f!(
        "omklapvoorwaarden",
        "Voorwaarden omklap naar huurcontract op eigen naam (bijlage bij de 3-partijen-huurovereenkomst)",
        LT,
        Required::AlwaysWhen(when("soort_huurcontract", &["drie_partijen"])),
        B
    ),
];

/// Gemeente: akkoord on the uitstroomgemeente, the Wmo beschikking and the gebiedsteam contact (Afspraak 3b, 4).
pub const GEMEENTE: &[FieldSpec] = &[
    f!(
        "akkoord_uitstroom",
        "Akkoord gemeente op uitstroom",
        FieldType::Enum(AKKOORD),
        Opt
    ),
    f!(
        "datum_akkoord",
        "Datum akkoord",
        PAST,
        Required::AlwaysWhen(when("akkoord_uitstroom", &["akkoord", "niet_akkoord"]))
    ),
    f!(
        "toelichting_niet_akkoord",
        "Toelichting geen akkoord",
        LT,
        Required::AlwaysWhen(when("akkoord_uitstroom", &["niet_akkoord"]))
    ),
    f!(
        "client_toe_aan_uitstroom",
        "Cliënt toe aan uitstroom (herbeoordeling)",
        FieldType::Enum(JA_NEE_ONBEKEND),
        Opt
    ),
    f!(
        "soort_beschikking",
        "Soort Wmo-beschikking",
        FieldType::Enum(SOORT_BESCHIKKING),
        Opt
    ),
    f!(
        "beschikking_startdatum",
        "Startdatum Wmo-beschikking",
        DATE,
        Required::AlwaysWhen(when("soort_beschikking", SOORT_BESCHIKKING))
    ),
    f!(
        "beschikking_einddatum",
        "Einddatum Wmo-beschikking",
        DATE,
        Opt
    ),
    // Bijlage 1, 1d.2: the gemeente where a BW client stays registers the client with the gebiedsteam of the gemeente
    // where the client will live, at least half a year before the BW beschikking ends. No other field records that
    // act (the new gemeente's `datum_start_onderzoek` is its own, later step), and the monitor's alert needs it.
    f!(
        "datum_aanmelding_gebiedsteam",
        "Datum aanmelding bij het gebiedsteam van de nieuwe gemeente (beschermd wonen)",
        PAST,
        Opt
    ),
    f!(
        "datum_start_onderzoek",
        "Start onderzoek ondersteuningsbehoefte",
        PAST,
        Opt
    ),
    f!(
        "gebiedsteam_contactpersoon",
        "Contactpersoon gebiedsteam",
        T,
        Opt,
        I
    ),
    f!(
        "datum_contact_gebiedsteam",
        "Datum eerste contact gebiedsteam met cliënt",
        PAST,
        Opt
    ),
];

/// Ondersteuningsplan: by the gebiedsteam of the gemeente where the client will live, the 14 topics of Afspraak 4b
/// (Bijlage 1, 4b). Never to a corporatie (Bijlage 1, 4a).
pub const ONDERSTEUNINGSPLAN: &[FieldSpec] = &[
    f!("datum_vastgesteld", "Datum vastgesteld", PAST, Always),
    f!("gebiedsteam", "Gebiedsteam", T, Always),
    f!(
        "uitvoerende_zorgaanbieder",
        "Zorgaanbieder die de ondersteuning uitvoert",
        FieldType::Partner,
        Sub
    ),
    f!(
        "duur_en_intensiteit",
        "1. Duur en intensiteit van de ondersteuning",
        LT,
        Sub,
        B
    ),
    f!(
        "contactmomenten",
        "2. Contactmomenten om voortgang te bespreken en te evalueren",
        LT,
        Sub,
        B
    ),
    f!(
        "bereikbaarheid_contactgegevens",
        "3. Bereikbaarheid en contactgegevens van betrokken medewerkers",
        LT,
        Sub,
        B
    ),
    f!(
        "financien_verzekering_inkomen",
        "4. Financiën, verzekering, inkomen en budgetbeheer",
        LT,
        Sub,
        B,
        F
    ),
    f!(
        "schulden_schuldhulpverlening",
        "5. Schulden en schuldhulpverlening",
        LT,
        Sub,
        B,
        F
    ),
    f!("daginvulling", "6. Daginvulling", LT, Sub, B),
    f!("netwerk", "7. Netwerk", LT, Sub, B),
    f!(
        "woonvaardigheden_huurderschap",
        "8. Woonvaardigheden en goed huurderschap",
        LT,
        Sub,
        B
    ),
    f!(
        "nabuurschap",
        "9. Nabuurschap en kennismaking met de buurt",
        LT,
        Sub,
        B
    ),
    f!(
        "algemene_voorzieningen",
        "10. Gebruik van algemene voorzieningen in de woonplaats",
        LT,
        Sub,
        B
    ),
    f!(
        "voorwaarden_omklap",
        "11. Voorwaarden voor de omklap van het huurcontract",
        LT,
        Sub,
        B
    ),
    f!(
        "op_en_afschalen",
        "12. Op- en afschalen van de ondersteuning",
        LT,
        Sub,
        B
    ),
    f!("hulpkaart_mee", "13. Hulpkaart MEE Friesland", LT, Sub, B),
    f!(
        "lidmaatschap_huurdersorganisatie",
        "14. Lidmaatschap huurdersorganisatie",
        LT,
        Sub,
        B
    ),
];

/// Melding: signalen en knelpunten (Afspraak 7; Bijlage 2, the AVE ladder).
pub const MELDING: &[FieldSpec] = &[
    f!("datum_melding", "Datum melding", PAST, Always),
    f!("melder", "Melder", FieldType::Enum(MELDER), Always),
    f!(
        "soort",
        "Soort melding",
        FieldType::Enum(SOORT_MELDING),
        Always
    ),
    f!(
        "ave_niveau",
        "AVE-niveau",
        FieldType::Integer { min: 1, max: 4 },
        Always
    ),
    f!("omschrijving", "Omschrijving", LT, Always, B),
    f!("status", "Status", FieldType::Enum(STATUS_MELDING), Always),
    f!(
        "voorgelegd_aan_transferpunt",
        "Voorgelegd aan het Transferpunt",
        FieldType::Bool,
        Opt
    ),
    f!(
        "voorgelegd_door_vaste_contactpersoon",
        "Voorgelegd door een vaste contactpersoon",
        FieldType::Bool,
        Required::AlwaysWhen(when("voorgelegd_aan_transferpunt", &["true"]))
    ),
    f!(
        "gemeld_bij_toezichthouder",
        "Gemeld bij de Toezichthouder Sociaal Domein",
        FieldType::Bool,
        Required::AlwaysWhen(when("soort", &["incident", "calamiteit"]))
    ),
    f!(
        "afhandeling",
        "Afhandeling",
        LT,
        Required::AlwaysWhen(when("status", &["afgehandeld"])),
        B
    ),
    f!(
        "terugkoppeling_aan_melder",
        "Terugkoppeling aan melder",
        LT,
        Opt
    ),
    f!(
        "datum_afgehandeld",
        "Datum afgehandeld",
        PAST,
        Required::AlwaysWhen(when("status", &["afgehandeld"]))
    ),
    // Issue #17: the melding as a process.
    f!(
        "regie",
        "Regie over de melding",
        FieldType::Enum(REGIE_MELDING),
        Required::AlwaysWhen(when("voorgelegd_aan_transferpunt", &["true"]))
    ),
    f!(
        "escalaties",
        "Opschalingen op de AVE-ladder",
        FieldType::Records(ESCALATIE),
        Opt
    ),
    f!(
        "lokale_aanpak",
        "Wat lokaal is geprobeerd (Afspraak 7d)",
        LT,
        Required::AlwaysWhen(when("voorgelegd_aan_transferpunt", &["true"])),
        B
    ),
    f!(
        "voorgelegd_door",
        "Voorgelegd door (vaste contactpersoon, Afspraak 3g)",
        T,
        Required::AlwaysWhen(when("voorgelegd_aan_transferpunt", &["true"])),
        I
    ),
    f!(
        "datum_voorgelegd",
        "Datum voorgelegd aan het Transferpunt",
        PAST,
        Required::AlwaysWhen(when("voorgelegd_aan_transferpunt", &["true"]))
    ),
    f!(
        "datum_gemeld_toezichthouder",
        "Datum gemeld bij de Toezichthouder Sociaal Domein",
        PAST,
        Required::AlwaysWhen(when("gemeld_bij_toezichthouder", &["true"]))
    ),
];

/// Voorlegging: the Transferpunt's handling of a melding a partner's vaste contactpersoon presented to it
/// (Afspraak 7d–g; Bijlage 1, 7d–g). One per melding, written by the Transferpunt only; its instance names the
/// partner that presented it and that partner's melding ([`voorlegging_instance`]), so it goes back to that partner
/// alone.
pub const VOORLEGGING: &[FieldSpec] = &[
    f!("datum_ontvangen", "Datum ontvangen", PAST, Always),
    f!("datum_overleg", "Datum overleg", PAST, Opt),
    f!(
        "deelnemers",
        "Deelnemers aan het overleg (organisaties)",
        LT,
        Opt
    ),
    f!(
        "uitstromer_aanwezig",
        "Uitstromer aanwezig bij het overleg (Afspraak 7f)",
        FieldType::Enum(JA_NEE_ONBEKEND),
        Opt
    ),
    f!(
        "reden_uitstromer_afwezig",
        "Waarom zonder de uitstromer",
        LT,
        Required::AlwaysWhen(when("uitstromer_aanwezig", &["nee"])),
        B
    ),
    f!(
        "regie_na_overleg",
        "Regie na het overleg",
        FieldType::Enum(REGIE_MELDING),
        Opt
    ),
    f!(
        "afspraken",
        "Bindende afspraken (Afspraak 7e)",
        FieldType::Records(AFSPRAAK_OVERLEG),
        Opt
    ),
    f!(
        "afhandeling",
        "Afhandeling (intern, Transferpunt)",
        LT,
        Opt,
        B
    ),
    f!("datum_afgehandeld", "Datum afgehandeld", PAST, Opt),
    f!(
        "terugkoppeling_aan_melder",
        "Terugkoppeling aan de melder (voor zover de privacyregels dit toelaten, Bijlage 1, 7g)",
        LT,
        Opt
    ),
    f!(
        "datum_terugkoppeling",
        "Datum terugkoppeling aan de melder",
        PAST,
        Opt
    ),
];

/// The instance name of the Transferpunt's voorlegging of `melding` (an instance name) presented by `melder`:
/// `<melder>:<melding>` (`corporatie:elkien:melding-1`). The partner in front is whom it goes back to
/// ([`voorlegging_addressee`]); the whole name is never a partner id (a code has no `:`), so no rule that reads an
/// instance as its addressee's own form applies to it.
pub fn voorlegging_instance(melder: &str, melding: &str) -> String {
    format!("{melder}:{melding}")
}

/// The partner a voorlegging instance goes back to: its first two `:`-separated parts, if they are a partner id
/// and a melding name follows.
pub fn voorlegging_addressee(instance: &str) -> Option<crate::partner::PartnerId> {
    let mut parts = instance.splitn(3, ':');
    let (role, code, melding) = (parts.next()?, parts.next()?, parts.next()?);
    if melding.is_empty() {
        return None;
    }
    format!("{role}:{code}").parse().ok()
}
// ---------------------------------------------------------------------------------------------------------------
// Life after placement (issue #17 item 3): every event its own instance document, so nothing is overwritten.

/// What happened to the lease after placement (Afspraak 2).
pub const SOORT_HUURVERLOOP: &[&str] = &["omklap_evaluatie", "huisuitzetting", "huur_beeindigd"];
/// The outcome of evaluating the omklap goals of a 3-partijen lease (Afspraak 2f; Bijlage 1, 2d).
pub const UITKOMST_OMKLAP: &[&str] = &["omklap", "later_opnieuw", "geen_omklap"];
/// How far the omklap goals were met.
pub const DOELEN_BEHAALD: &[&str] = &["ja", "gedeeltelijk", "nee"];

/// Huurverloop: one event of the lease after placement, written by the corporatie that rents to the client — the
/// evaluation of the omklap goals with its outcome (Afspraak 2d–2g), or the end of the lease: a huisuitzetting,
/// which during a 3-partijen lease needs a prior overleg recorded as a melding (Afspraak 2h).
pub const HUURVERLOOP: &[FieldSpec] = &[
    f!(
        "soort",
        "Soort gebeurtenis",
        FieldType::Enum(SOORT_HUURVERLOOP),
        Always
    ),
    f!("datum", "Datum", PAST, Always),
    f!(
        "doelen_behaald",
        "Omklapdoelen behaald",
        FieldType::Enum(DOELEN_BEHAALD),
        Required::AlwaysWhen(when("soort", &["omklap_evaluatie"]))
    ),
    f!(
        "uitkomst_evaluatie",
        "Uitkomst van de evaluatie",
        FieldType::Enum(UITKOMST_OMKLAP),
        Required::AlwaysWhen(when("soort", &["omklap_evaluatie"]))
    ),
    f!(
        "datum_omklap",
        "Datum omklap naar huurcontract op eigen naam",
        DATE,
        Required::AlwaysWhen(when("uitkomst_evaluatie", &["omklap"]))
    ),
    f!(
        "datum_overleg",
        "Datum overleg met de betrokken partijen (Afspraak 2h)",
        PAST,
        Opt
    ),
    f!("toelichting", "Toelichting", LT, Opt, B),
];

/// What changed in the support after placement (Afspraak 4e, 5, 6).
pub const SOORT_ONDERSTEUNINGSVERLOOP: &[&str] = &[
    "meeloop_oude_zorgaanbieder",
    "opschaling",
    "afschaling",
    "terugkeer_beschermd_wonen",
    "einde_ondersteuning",
    "waakvlam",
];
/// The form of waakvlam support (Afspraak 6; Bijlage 1, 6a–c).
pub const VORM_WAAKVLAM: &[&str] = &[
    "maatwerk",
    "algemene_voorziening",
    "contact_zorgaanbieder",
    "geen",
];

/// Ondersteuningsverloop: one event of the support after placement, written by a zorgaanbieder or the gemeente of
/// uitstroom — the old zorgaanbieder walking alongside (at most three months, Afspraak 4e), scaling support up or
/// down or a voluntary temporary return to beschermd wonen (Afspraak 5), the end of the beschikking and the waakvlam
/// (Afspraak 6).
pub const ONDERSTEUNINGSVERLOOP: &[FieldSpec] = &[
    f!(
        "soort",
        "Soort gebeurtenis",
        FieldType::Enum(SOORT_ONDERSTEUNINGSVERLOOP),
        Always
    ),
    f!("datum", "Datum", PAST, Always),
    f!(
        "einddatum_meeloop",
        "Einddatum meelopen oude zorgaanbieder",
        DATE,
        Opt
    ),
    f!(
        "aangepaste_beschikking",
        "Aangepaste Wmo-beschikking (Afspraak 5c)",
        FieldType::Bool,
        Opt
    ),
    f!(
        "vorm_waakvlam",
        "Vorm waakvlamondersteuning",
        FieldType::Enum(VORM_WAAKVLAM),
        Required::AlwaysWhen(when("soort", &["waakvlam"]))
    ),
    f!("toelichting", "Toelichting", LT, Opt, B),
];
