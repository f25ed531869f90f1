//! The columns of the Excel uitstroommonitor, and the mapping file for a workbook that names them otherwise.
//!
//! The default layout is the evaluation's monitor (one row per client, the columns of its tables): who the client
//! is, the zorgaanbieder and voorziening, herkomstgemeente, the bemiddelingsverzoek and its outcome, the outflow
//! with gemeente, corporatie, lease type and kind of home. A workbook with other headers, on another sheet or with
//! its own spellings of values is read through a mapping file (TOML, Dutch keys as the monitor's staff write them):
//!
//! ```toml
//! blad = "Uitstroom"              # the sheet (default: "Monitor", else the first)
//! kopregel = 2                    # the header row as Excel numbers it (default: the first row with anything)
//!
//! [kolommen]                      # column = header in this workbook
//! bsn = "Burgerservicenummer"
//! datum_verzoek = "Aanvraag bemiddeling"
//!
//! [waarden.soort_huurcontract]    # a spelling in this workbook = the value in the forms
//! "3P" = "drie_partijen"
//!
//! [zorgaanbieders]                # a name in this workbook = the partner id in the federation
//! "Limor Wonen" = "zorgaanbieder:limor"
//! ```

use std::collections::BTreeMap;

use policies::model::FieldType;
use policies::{DocumentKind, PartnerId, Role};
use serde::Deserialize;

use super::ImportError;

/// How a column's cells are read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ColumnKind {
    /// Text as written.
    Text,
    /// A BSN: digits, a number cell, or digits with spaces or dots.
    Bsn,
    /// A date: a date cell, `JJJJ-MM-DD`, `DD-MM-JJJJ` (or with `/` or `.`), or an Excel serial number.
    Date,
    /// A gemeente by name or CBS code.
    Gemeente,
    /// A zorgaanbieder by name or partner id.
    Zorgaanbieder,
    /// One of the values the schema allows for a field: the value itself, a spelling the import knows, or one
    /// from the mapping file.
    Choice(DocumentKind, &'static str),
}

/// A column of the monitor.
#[derive(Debug, Clone, Copy)]
pub struct Column {
    /// Its key in the mapping file.
    pub key: &'static str,
    /// Its header in the evaluation's layout.
    pub header: &'static str,
    /// Other headers it is known by.
    pub aliases: &'static [&'static str],
    /// How its cells are read.
    pub kind: ColumnKind,
    /// Whether a sheet without it cannot be imported (the registratie's required fields).
    pub required: bool,
}

const fn col(
    key: &'static str,
    header: &'static str,
    aliases: &'static [&'static str],
    kind: ColumnKind,
    required: bool,
) -> Column {
    Column {
        key,
        header,
        aliases,
        kind,
        required,
    }
}

use ColumnKind::{Bsn, Choice, Date, Gemeente, Text, Zorgaanbieder};
use DocumentKind::{Beoordeling as Beo, Plaatsing as Pl, Registratie as Reg};

/// The columns of the Excel uitstroommonitor, in the order the generated layout writes them.
pub const COLUMNS: &[Column] = &[
    col(
        "naam",
        "Naam",
        &["achternaam en voorletters", "cliënt", "client"],
        Text,
        true,
    ),
    col("bsn", "BSN", &["burgerservicenummer"], Bsn, true),
    col("geboortedatum", "Geboortedatum", &[], Date, true),
    col(
        "zorgaanbieder",
        "Zorgaanbieder",
        &["betrokken zorgaanbieder"],
        Zorgaanbieder,
        true,
    ),
    col(
        "soort_voorziening",
        "Voorziening",
        &["soort voorziening", "bw/mo"],
        Choice(Reg, "soort_voorziening"),
        true,
    ),
    col("herkomstgemeente", "Herkomstgemeente", &[], Gemeente, false),
    col(
        "start_verblijf",
        "Start verblijf",
        &["start verblijf opvang", "startdatum bw/mo", "instroomdatum"],
        Date,
        false,
    ),
    col(
        "datum_verzoek",
        "Datum verzoek",
        &["datum bemiddelingsverzoek", "datum aanvraag"],
        Date,
        false,
    ),
    col(
        "status_verzoek",
        "Status verzoek",
        &["status"],
        Choice(Beo, "status"),
        false,
    ),
    col(
        "reden_afwijzing",
        "Reden afwijzing",
        &["reden afwijzing of intrekking", "reden intrekking"],
        Choice(Beo, "reden_afwijzing"),
        false,
    ),
    col(
        "datum_afgesloten",
        "Datum afgesloten",
        &["datum afwijzing", "datum intrekking"],
        Date,
        false,
    ),
    col(
        "datum_uitstroom",
        "Datum uitstroom",
        &["datum mutatie", "datum verhuizing", "uitstroomdatum"],
        Date,
        false,
    ),
    col(
        "soort_mutatie",
        "Soort mutatie",
        &[],
        Choice(Pl, "soort_mutatie"),
        false,
    ),
    col(
        "wijze_van_toewijzing",
        "Soort uitstroom",
        &["wijze van toewijzing", "bemiddeld of regulier"],
        Choice(Pl, "wijze_van_toewijzing"),
        false,
    ),
    col(
        "uitstroomgemeente",
        "Uitstroomgemeente",
        &["definitieve uitstroomgemeente", "gemeente van uitstroom"],
        Gemeente,
        false,
    ),
    col(
        "reden_andere_gemeente",
        "Reden andere gemeente",
        &["reden uitstroom buiten herkomstgemeente"],
        Choice(Beo, "reden_andere_gemeente"),
        false,
    ),
    col(
        "corporatie",
        "Corporatie",
        &["woningcorporatie", "verhuurder", "naam verhuurder"],
        Text,
        false,
    ),
    col(
        "soort_huurcontract",
        "Huurcontract",
        &[
            "soort huurcontract",
            "type huurovereenkomst",
            "huurovereenkomst",
        ],
        Choice(Pl, "soort_huurcontract"),
        false,
    ),
    col(
        "type_woning",
        "Type woning",
        &[],
        Choice(Pl, "type_woning"),
        false,
    ),
];

/// The column with this key.
pub fn column(key: &str) -> Option<&'static Column> {
    COLUMNS.iter().find(|c| c.key == key)
}

/// Spellings of values the monitor's staff used, per field, besides the values themselves (compared after
/// [`normalise`]).
const SPELLINGS: &[(&str, &[(&str, &str)])] = &[
    (
        "soort_voorziening",
        &[
            ("bw", "beschermd_wonen"),
            ("mo", "maatschappelijke_opvang"),
            ("opvang", "maatschappelijke_opvang"),
        ],
    ),
    (
        "soort_huurcontract",
        &[
            ("3_partijen", "drie_partijen"),
            ("driepartijen", "drie_partijen"),
            ("driepartijenhuurovereenkomst", "drie_partijen"),
            ("3_partijenhuurovereenkomst", "drie_partijen"),
            ("3_partijen_huurovereenkomst", "drie_partijen"),
            ("op_eigen_naam", "eigen_naam"),
            ("eigen_naam_huurovereenkomst", "eigen_naam"),
        ],
    ),
    (
        "wijze_van_toewijzing",
        &[
            ("bemiddeld", "bemiddeling"),
            ("via_bemiddeling", "bemiddeling"),
            ("via_transferpunt", "bemiddeling"),
            ("reguliere_uitstroom", "regulier"),
        ],
    ),
    (
        "status",
        &[
            ("akkoord", "goedgekeurd"),
            ("toegekend", "goedgekeurd"),
            ("lopend", "in_behandeling"),
            ("teruggestuurd", "teruggestuurd_onvolledig"),
            ("onvolledig", "teruggestuurd_onvolledig"),
        ],
    ),
    (
        "reden_afwijzing",
        &[
            ("ontbrekende_informatie", "onvolledige_informatie"),
            ("informatie_ontbreekt", "onvolledige_informatie"),
            ("onvoldoende_inspanning", "onvoldoende_eigen_inspanning"),
            ("voldoet_niet_aan_voorwaarden", "niet_aan_voorwaarden"),
        ],
    ),
    (
        "soort_mutatie",
        &[
            ("uitstroom", "uitstroom_zelfstandig"),
            ("zelfstandig", "uitstroom_zelfstandig"),
            ("uitzetting", "huisuitzetting"),
        ],
    ),
    (
        "type_woning",
        &[
            ("sociaal", "sociale_huur"),
            ("sociale_huurwoning", "sociale_huur"),
            ("particulier", "particuliere_huur"),
            ("particuliere_huurwoning", "particuliere_huur"),
        ],
    ),
];

/// A value or header as compared: lower case, diacritics folded, spaces, `-` and `/` as `_`, runs of them as
/// one, none at the ends ("3-partijen" → `3_partijen`, "Súdwest-Fryslân" → `sudwest_fryslan`).
pub fn normalise(s: &str) -> String {
    let mut out = String::new();
    for c in s.trim().chars().flat_map(char::to_lowercase) {
        let c = fold(c);
        if c.is_alphanumeric() {
            out.push(c);
        } else if matches!(c, ' ' | '-' | '/' | '_' | '.' | '\u{a0}') && !out.ends_with('_') {
            out.push('_');
        }
    }
    out.trim_matches('_').to_string()
}

/// The letter without its diacritic, for the letters Dutch and Frisian names use.
fn fold(c: char) -> char {
    match c {
        'á' | 'à' | 'â' | 'ä' | 'ã' | 'å' => 'a',
        'é' | 'è' | 'ê' | 'ë' => 'e',
        'í' | 'ì' | 'î' | 'ï' => 'i',
        'ó' | 'ò' | 'ô' | 'ö' | 'õ' => 'o',
        'ú' | 'ù' | 'û' | 'ü' => 'u',
        'ý' | 'ÿ' => 'y',
        'ç' => 'c',
        'ñ' => 'n',
        c => c,
    }
}

/// The values the schema allows for a field.
pub fn allowed(kind: DocumentKind, field: &str) -> &'static [&'static str] {
    match kind.field(field).map(|f| f.spec().ty) {
        Some(FieldType::Enum(values)) => values,
        _ => &[],
    }
}

/// The mapping file as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct MappingFile {
    blad: Option<String>,
    kopregel: Option<u32>,
    #[serde(default)]
    kolommen: BTreeMap<String, String>,
    #[serde(default)]
    waarden: BTreeMap<String, BTreeMap<String, String>>,
    #[serde(default)]
    zorgaanbieders: BTreeMap<String, String>,
}

/// How a workbook is read: which sheet, which header row, which header is which column, and spellings of values.
#[derive(Debug, Clone, Default)]
pub struct Mapping {
    /// The sheet (`None`: "Monitor", else the first).
    pub sheet: Option<String>,
    /// The header row as Excel numbers it (`None`: the first row with anything in it).
    pub header_row: Option<u32>,
    /// Headers given for columns, by column key.
    headers: BTreeMap<&'static str, String>,
    /// Spellings of values, by column key: normalised spelling → value.
    values: BTreeMap<&'static str, BTreeMap<String, String>>,
    /// Zorgaanbieders by normalised name.
    zorgaanbieders: BTreeMap<String, PartnerId>,
}

impl Mapping {
    /// The evaluation's layout: default headers and spellings.
    pub fn standard() -> Mapping {
        Mapping::default()
    }

    /// A mapping file's text; `name` is the file's name for messages. Every problem is named, in Dutch.
    pub fn parse(name: &str, text: &str) -> Result<Mapping, ImportError> {
        let bad = |reason: String| ImportError::Mapping {
            file: name.to_string(),
            reason,
        };
        let file: MappingFile = toml::from_str(text).map_err(|e| bad(e.to_string()))?;
        let known = || COLUMNS.iter().map(|c| c.key).collect::<Vec<_>>().join(", ");
        let mut m = Mapping {
            sheet: file.blad,
            header_row: file.kopregel,
            ..Default::default()
        };
        if m.header_row == Some(0) {
            return Err(bad(
                "kopregel telt vanaf 1, zoals Excel de rijen nummert".into()
            ));
        }
        for (key, header) in file.kolommen {
            let c = column(&key).ok_or_else(|| {
                bad(format!(
                    "[kolommen] noemt '{key}', die kolom kent de import niet; bekend zijn: {}",
                    known()
                ))
            })?;
            if header.trim().is_empty() {
                return Err(bad(format!("[kolommen] {key}: de kop is leeg")));
            }
            m.headers.insert(c.key, header);
        }
        for (key, spellings) in file.waarden {
            let c = column(&key).ok_or_else(|| {
                bad(format!(
                    "[waarden.{key}]: die kolom kent de import niet; bekend zijn: {}",
                    known()
                ))
            })?;
            let ColumnKind::Choice(kind, field) = c.kind else {
                return Err(bad(format!(
                    "[waarden.{key}]: kolom '{key}' heeft geen vaste waarden"
                )));
            };
            let codes = allowed(kind, field);
            let table = m.values.entry(c.key).or_default();
            for (spelling, value) in spellings {
                if !codes.contains(&value.as_str()) {
                    return Err(bad(format!(
                        "[waarden.{key}] \"{spelling}\" = \"{value}\": '{value}' is geen waarde van {kind}.{field}; \
                         kies één van: {}",
                        codes.join(", ")
                    )));
                }
                table.insert(normalise(&spelling), value);
            }
        }
        for (spelling, id) in file.zorgaanbieders {
            let partner: PartnerId = id.parse().map_err(|e| {
                bad(format!(
                    "[zorgaanbieders] \"{spelling}\": '{id}' is geen partner-id: {e}"
                ))
            })?;
            if partner.role() != Role::Zorgaanbieder {
                return Err(bad(format!(
                    "[zorgaanbieders] \"{spelling}\": '{id}' is geen zorgaanbieder (verwacht zorgaanbieder:<code>)"
                )));
            }
            m.zorgaanbieders.insert(normalise(&spelling), partner);
        }
        Ok(m)
    }

    /// The header that names a column in this workbook: the mapping's, else the layout's own or an alias.
    pub fn matches(&self, c: &Column, header: &str) -> bool {
        let h = normalise(header);
        match self.headers.get(c.key) {
            Some(given) => normalise(given) == h,
            None => normalise(c.header) == h || c.aliases.iter().any(|a| normalise(a) == h),
        }
    }

    /// The header a column is looked for under (for messages).
    pub fn header_of(&self, c: &Column) -> String {
        self.headers
            .get(c.key)
            .cloned()
            .unwrap_or_else(|| c.header.to_string())
    }

    /// The value a spelling stands for in a choice column: the mapping's, the value itself, or a known spelling.
    pub fn choice(&self, c: &Column, text: &str) -> Option<String> {
        let ColumnKind::Choice(kind, field) = c.kind else {
            return None;
        };
        let n = normalise(text);
        if let Some(v) = self.values.get(c.key).and_then(|t| t.get(&n)) {
            return Some(v.clone());
        }
        let codes = allowed(kind, field);
        if let Some(code) = codes.iter().find(|code| normalise(code) == n) {
            return Some((*code).to_string());
        }
        SPELLINGS
            .iter()
            .find(|(f, _)| *f == field)
            .and_then(|(_, spellings)| spellings.iter().find(|(s, _)| *s == n))
            .map(|(_, v)| (*v).to_string())
            .filter(|v| codes.contains(&v.as_str()))
    }

    /// The zorgaanbieder a cell names: a partner id as written, one from the mapping file, or
    /// `zorgaanbieder:<name in lower case, words joined by '-'>`.
    pub fn zorgaanbieder(&self, text: &str) -> Result<PartnerId, String> {
        if let Some(p) = self.zorgaanbieders.get(&normalise(text)) {
            return Ok(p.clone());
        }
        if text.contains(':') {
            let p: PartnerId = text.trim().parse().map_err(|e| format!("{e}"))?;
            return if p.role() == Role::Zorgaanbieder {
                Ok(p)
            } else {
                Err("dit is geen zorgaanbieder".into())
            };
        }
        let code = normalise(text).replace('_', "-");
        PartnerId::new(Role::Zorgaanbieder, &code).map_err(|_| {
            "deze naam is geen zorgaanbieder-code; noem hem in het mappingbestand onder [zorgaanbieders]".into()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spellings_are_normalised() {
        assert_eq!(normalise(" Súdwest-Fryslân "), "sudwest_fryslan");
        assert_eq!(normalise("3-partijen"), "3_partijen");
        assert_eq!(normalise("BW/MO"), "bw_mo");
        let m = Mapping::standard();
        let huur = column("soort_huurcontract").expect("column");
        assert_eq!(
            m.choice(huur, "3-Partijen").as_deref(),
            Some("drie_partijen")
        );
        assert_eq!(
            m.choice(huur, "Op eigen naam").as_deref(),
            Some("eigen_naam")
        );
        assert_eq!(m.choice(huur, "koop"), None);
        let voorziening = column("soort_voorziening").expect("column");
        assert_eq!(
            m.choice(voorziening, "BW").as_deref(),
            Some("beschermd_wonen")
        );
    }

    #[test]
    fn every_choice_column_names_a_field_with_values_and_spellings_are_values() {
        for c in COLUMNS {
            if let ColumnKind::Choice(kind, field) = c.kind {
                assert!(!allowed(kind, field).is_empty(), "{}", c.key);
            }
        }
        for (field, spellings) in SPELLINGS {
            let c = COLUMNS
                .iter()
                .find(|c| matches!(c.kind, ColumnKind::Choice(_, f) if f == *field))
                .unwrap_or_else(|| panic!("{field}"));
            let ColumnKind::Choice(kind, _) = c.kind else {
                unreachable!()
            };
            for (s, v) in *spellings {
                assert_eq!(normalise(s), *s, "{s} is compared normalised");
                assert!(allowed(kind, field).contains(v), "{field}: {v}");
            }
        }
    }

    #[test]
    fn a_mapping_file_is_checked() {
        let m = Mapping::parse(
            "m.toml",
            "blad = \"Uitstroom\"\n[kolommen]\nbsn = \"Burgerservicenummer\"\n[waarden.soort_huurcontract]\n\"3P\" = \"drie_partijen\"\n[zorgaanbieders]\n\"Limor Wonen\" = \"zorgaanbieder:limor\"\n",
        )
        .expect("valid");
        assert_eq!(m.sheet.as_deref(), Some("Uitstroom"));
        let bsn = column("bsn").expect("column");
        assert!(m.matches(bsn, "burgerservicenummer"));
        assert!(
            !m.matches(bsn, "BSN"),
            "a mapped header replaces the default"
        );
        let huur = column("soort_huurcontract").expect("column");
        assert_eq!(m.choice(huur, "3p").as_deref(), Some("drie_partijen"));
        assert_eq!(
            m.zorgaanbieder("limor wonen").map(|p| p.to_string()),
            Ok("zorgaanbieder:limor".into())
        );
        for (text, needle) in [
            ("[kolommen]\nbns = \"x\"\n", "'bns'"),
            ("[waarden.soort_huurcontract]\n\"x\" = \"huur\"\n", "'huur'"),
            ("[waarden.bsn]\n\"x\" = \"y\"\n", "geen vaste waarden"),
            (
                "[zorgaanbieders]\n\"x\" = \"gemeente:GM0080\"\n",
                "geen zorgaanbieder",
            ),
            ("kopregel = 0\n", "kopregel"),
            ("onbekend = 1\n", "onbekend"),
        ] {
            let e = Mapping::parse("m.toml", text).expect_err(text).to_string();
            assert!(e.contains(needle) && e.contains("m.toml"), "{text}: {e}");
        }
    }
}
