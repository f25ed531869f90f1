//! From a row of the monitor to the forms of a case: the registratie, and where the row has them the
//! bemiddelingsverzoek with the Transferpunt's beoordeling, and the plaatsing. Each field remembers the column it
//! came from, so a validation error is reported on the cell.

use std::collections::BTreeMap;

use policies::form::format_date;
use policies::{DocumentKind, Gemeenten};
use serde_json::{Map, Value as Json, json};
use time::{Date, Duration, Month};

use super::mapping::{COLUMNS, Column, ColumnKind, Mapping, allowed, column, normalise};
use super::table::{Cell, Table};
use super::{ImportError, Problem};

/// A row read as forms, not yet validated.
#[derive(Debug, Clone)]
pub struct ClientRow {
    /// The row number as Excel shows it.
    pub row: u32,
    /// The forms, in process order (registratie first), as JSON for the validator.
    pub forms: Vec<(DocumentKind, Json)>,
    /// Which column (header as in the workbook) and cell text each field came from (empty text: an empty cell).
    pub origin: BTreeMap<(DocumentKind, &'static str), (String, String)>,
    /// Fields whose cell could not be read (already reported): the validator's word on them is not repeated.
    pub unreadable: std::collections::BTreeSet<(DocumentKind, &'static str)>,
    /// The BSN as read (for finding the same client twice; never logged).
    pub bsn: Option<String>,
    /// The date that tells this client's trajectory apart: the request, else the outflow, else the start of
    /// the stay.
    pub key_date: Option<(DocumentKind, &'static str, String)>,
}

/// The columns of a sheet found under its header row: which column index holds which column.
#[derive(Debug)]
pub struct Layout {
    header_row: u32,
    at: Vec<(&'static Column, usize, String)>,
    /// Headers no column of the monitor has (not read).
    pub unread: Vec<String>,
}

/// Find the header row and the columns under it; a required column missing, or a column found twice, stops the
/// import before any row is read.
pub fn layout(table: &Table, mapping: &Mapping) -> Result<Layout, ImportError> {
    let (header_row, headers) = match mapping.header_row {
        Some(n) => table
            .rows
            .iter()
            .find(|(r, _)| *r == n)
            .ok_or_else(|| ImportError::Sheet {
                place: table.place.to_string(),
                reason: format!("rij {n} (de kopregel uit het mappingbestand) is leeg"),
            })?,
        None => table.rows.first().ok_or_else(|| ImportError::Sheet {
            place: table.place.to_string(),
            reason: "het blad is leeg".into(),
        })?,
    };
    let mut at: Vec<(&'static Column, usize, String)> = Vec::new();
    let mut unread = Vec::new();
    for (i, cell) in headers.iter().enumerate() {
        let header = cell.display();
        if header.is_empty() {
            continue;
        }
        match COLUMNS.iter().find(|c| mapping.matches(c, &header)) {
            Some(c) => {
                if let Some((_, _, first)) = at.iter().find(|(k, _, _)| k.key == c.key) {
                    return Err(ImportError::Sheet {
                        place: table.place.to_string(),
                        reason: format!(
                            "de kolommen '{first}' en '{header}' zijn allebei '{}'; laat er één staan of noem de \
                             juiste in het mappingbestand",
                            c.key
                        ),
                    });
                }
                at.push((c, i, header));
            }
            None => unread.push(header),
        }
    }
    let missing: Vec<String> = COLUMNS
        .iter()
        .filter(|c| c.required && !at.iter().any(|(k, _, _)| k.key == c.key))
        .map(|c| format!("'{}'", mapping.header_of(c)))
        .collect();
    if !missing.is_empty() {
        return Err(ImportError::Sheet {
            place: table.place.to_string(),
            reason: format!(
                "in de kopregel (rij {header_row}) ontbreekt: {}; noem de kolommen met een andere kop in het \
                 mappingbestand (--mapping), onder [kolommen]",
                missing.join(", ")
            ),
        });
    }
    Ok(Layout {
        header_row: *header_row,
        at,
        unread,
    })
}

/// Read every row under the header as forms. Problems with single cells (a date that is no date, a value not in
/// the list) are returned per row; the validator judges the rest.
pub fn read_rows(
    table: &Table,
    layout: &Layout,
    mapping: &Mapping,
    gemeenten: &Gemeenten,
) -> (Vec<ClientRow>, Vec<Problem>) {
    let mut rows = Vec::new();
    let mut problems = Vec::new();
    for (row, cells) in table.rows.iter().filter(|(r, _)| *r > layout.header_row) {
        let mut reader = RowReader {
            row: *row,
            place: &table.place.to_string(),
            mapping,
            gemeenten,
            values: BTreeMap::new(),
            origin: BTreeMap::new(),
            headers: BTreeMap::new(),
            failed: Default::default(),
            problems: Vec::new(),
        };
        for (c, i, header) in &layout.at {
            let cell = cells.get(*i).unwrap_or(&Cell::Empty);
            reader.headers.insert(c.key, header.clone());
            reader.read(c, header, cell);
        }
        if reader.values.is_empty() && reader.failed.is_empty() {
            continue;
        }
        let client = reader.forms();
        problems.append(&mut reader.problems);
        rows.push(client);
    }
    (rows, problems)
}

struct RowReader<'a> {
    row: u32,
    place: &'a str,
    mapping: &'a Mapping,
    gemeenten: &'a Gemeenten,
    /// Column key → value as the forms take it.
    values: BTreeMap<&'static str, String>,
    /// Column key → (header, cell text).
    origin: BTreeMap<&'static str, (String, String)>,
    /// Column key → header, for every column the sheet has (an empty cell is still named by its column).
    headers: BTreeMap<&'static str, String>,
    /// Column keys whose cell could not be read.
    failed: std::collections::BTreeSet<&'static str>,
    problems: Vec<Problem>,
}

impl RowReader<'_> {
    fn problem(&mut self, header: &str, cell: &Cell, message: String) {
        self.problems.push(Problem {
            place: self.place.to_string(),
            row: Some(self.row),
            column: Some(header.to_string()),
            value: Some(cell.display()).filter(|v| !v.is_empty()),
            message,
        });
    }

    fn read(&mut self, c: &'static Column, header: &str, cell: &Cell) {
        if cell.is_empty() {
            return;
        }
        if let Cell::Error(e) = cell {
            let message =
                format!("de cel bevat een Excel-fout ({e}); vul een waarde in of maak de cel leeg");
            self.problem(header, cell, message);
            return;
        }
        let value = match c.kind {
            ColumnKind::Text => Ok(cell.display()),
            ColumnKind::Bsn => Ok(match cell {
                Cell::Text(s) => s.chars().filter(|c| !matches!(c, ' ' | '.' | '-')).collect(),
                other => other.display(),
            }),
            ColumnKind::Date => date_of(cell).map(format_date).ok_or_else(|| {
                "geen datum; gebruik een datumcel of schrijf de datum als DD-MM-JJJJ of JJJJ-MM-DD, zoals \
                 31-03-2023"
                    .to_string()
            }),
            // A name becomes its code; anything else goes to the validator, which names the rule.
            ColumnKind::Gemeente => {
                let text = cell.display();
                let n = normalise(&text);
                Ok(self
                    .gemeenten
                    .iter()
                    .find(|(code, name)| normalise(code) == n || normalise(name) == n)
                    .map_or(text, |(code, _)| code.to_string()))
            }
            ColumnKind::Zorgaanbieder => self
                .mapping
                .zorgaanbieder(&cell.display())
                .map(|p| p.to_string()),
            ColumnKind::Choice(kind, field) => {
                self.mapping.choice(c, &cell.display()).ok_or_else(|| {
                    format!(
                        "onbekende waarde; kies één van: {} (of geef de eigen schrijfwijze in het mappingbestand \
                         onder [waarden.{}])",
                        allowed(kind, field).join(", "),
                        c.key
                    )
                })
            }
        };
        match value {
            Ok(v) => {
                self.values.insert(c.key, v);
                self.origin
                    .insert(c.key, (header.to_string(), cell.display()));
            }
            Err(message) => {
                self.failed.insert(c.key);
                self.problem(header, cell, message)
            }
        }
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.values.get(key).map(String::as_str)
    }

    /// The forms of this row; a column that belongs to a step the row does not have is a problem on its cell.
    fn forms(&mut self) -> ClientRow {
        let mut forms = Vec::new();
        let mut origin = BTreeMap::new();
        let mut unreadable = std::collections::BTreeSet::new();
        let failed = self.failed.clone();
        let mut set = |obj: &mut Map<String, Json>,
                       kind: DocumentKind,
                       field: &'static str,
                       key: &'static str,
                       values: &BTreeMap<&'static str, String>,
                       origins: &BTreeMap<&'static str, (String, String)>| {
            if failed.contains(key) {
                unreadable.insert((kind, field));
            }
            if let Some(v) = values.get(key) {
                obj.insert(field.into(), json!(v));
            }
            if let Some(o) = origins.get(key) {
                origin.insert((kind, field), o.clone());
            }
        };
        // Every column the sheet has names its fields, an empty cell with an empty text.
        let mut origins = self.origin.clone();
        for (key, header) in &self.headers {
            origins
                .entry(*key)
                .or_insert_with(|| (header.clone(), String::new()));
        }
        let values = self.values.clone();

        // The registratie. Consent to exchange data is not taken over: the monitor never recorded it as the
        // federation does (a date, for this exchange), so nothing of an imported client travels to a partner.
        let mut reg = Map::new();
        for (field, key) in [
            ("achternaam_voorletters", "naam"),
            ("bsn", "bsn"),
            ("geboortedatum", "geboortedatum"),
            ("betrokken_zorgaanbieder", "zorgaanbieder"),
            ("soort_voorziening", "soort_voorziening"),
            ("herkomstgemeente", "herkomstgemeente"),
            ("start_verblijf_opvang", "start_verblijf"),
        ] {
            set(
                &mut reg,
                DocumentKind::Registratie,
                field,
                key,
                &values,
                &origins,
            );
        }
        reg.insert("toestemming_gegevensdeling".into(), json!(false));
        forms.push((DocumentKind::Registratie, Json::Object(reg)));

        // A step whose date could not be read is still there: its other cells are checked, not reported as lost.
        let placed =
            self.get("datum_uitstroom").is_some() || self.failed.contains("datum_uitstroom");
        let requested =
            self.get("datum_verzoek").is_some() || self.failed.contains("datum_verzoek");
        if requested {
            // A request in the monitor was one the Transferpunt received: submitted on the day it was made.
            let mut verzoek = Map::new();
            set(
                &mut verzoek,
                DocumentKind::Bemiddelingsverzoek,
                "datum_verzoek",
                "datum_verzoek",
                &values,
                &origins,
            );
            set(
                &mut verzoek,
                DocumentKind::Bemiddelingsverzoek,
                "datum_ingediend",
                "datum_verzoek",
                &values,
                &origins,
            );
            verzoek.insert("aantal_keer_ingediend".into(), json!(1));
            forms.push((DocumentKind::Bemiddelingsverzoek, Json::Object(verzoek)));

            let mut beoordeling = Map::new();
            set(
                &mut beoordeling,
                DocumentKind::Beoordeling,
                "datum_ontvangen",
                "datum_verzoek",
                &values,
                &origins,
            );
            for (field, key) in [
                ("status", "status_verzoek"),
                ("reden_afwijzing", "reden_afwijzing"),
                ("datum_afgesloten", "datum_afgesloten"),
                ("reden_andere_gemeente", "reden_andere_gemeente"),
            ] {
                set(
                    &mut beoordeling,
                    DocumentKind::Beoordeling,
                    field,
                    key,
                    &values,
                    &origins,
                );
            }
            // No status written down: approved when the row ends in a bemiddelde outflow, else still running.
            if !beoordeling.contains_key("status") {
                let bemiddeld = placed && self.get("wijze_van_toewijzing") != Some("regulier");
                let status = if bemiddeld {
                    "goedgekeurd"
                } else {
                    "in_behandeling"
                };
                beoordeling.insert("status".into(), json!(status));
            }
            forms.push((DocumentKind::Beoordeling, Json::Object(beoordeling)));
        } else {
            self.outside_step(
                &[
                    "status_verzoek",
                    "reden_afwijzing",
                    "datum_afgesloten",
                    "reden_andere_gemeente",
                ],
                "datum_verzoek",
                "een bemiddelingsverzoek",
            );
        }

        if placed {
            let mut plaatsing = Map::new();
            for (field, key) in [
                ("achternaam_voorletters", "naam"),
                ("datum_mutatie", "datum_uitstroom"),
                ("soort_mutatie", "soort_mutatie"),
                ("wijze_van_toewijzing", "wijze_van_toewijzing"),
                ("definitieve_uitstroomgemeente", "uitstroomgemeente"),
                ("naam_verhuurder", "corporatie"),
                ("soort_huurcontract", "soort_huurcontract"),
                ("type_woning", "type_woning"),
            ] {
                set(
                    &mut plaatsing,
                    DocumentKind::Plaatsing,
                    field,
                    key,
                    &values,
                    &origins,
                );
            }
            // The monitor lists outflow; a row with an outflow date and no kind of mutatie is an outflow.
            plaatsing
                .entry("soort_mutatie")
                .or_insert_with(|| json!("uitstroom_zelfstandig"));
            forms.push((DocumentKind::Plaatsing, Json::Object(plaatsing)));
        } else {
            self.outside_step(
                &[
                    "soort_mutatie",
                    "wijze_van_toewijzing",
                    "uitstroomgemeente",
                    "corporatie",
                    "soort_huurcontract",
                    "type_woning",
                ],
                "datum_uitstroom",
                "een uitstroom",
            );
        }

        let key_date = [
            (
                "datum_verzoek",
                DocumentKind::Bemiddelingsverzoek,
                "datum_verzoek",
            ),
            ("datum_uitstroom", DocumentKind::Plaatsing, "datum_mutatie"),
            (
                "start_verblijf",
                DocumentKind::Registratie,
                "start_verblijf_opvang",
            ),
        ]
        .into_iter()
        .find_map(|(key, kind, field)| self.get(key).map(|d| (kind, field, d.to_string())));
        ClientRow {
            row: self.row,
            forms,
            origin,
            unreadable,
            bsn: self.get("bsn").map(str::to_string),
            key_date,
        }
    }

    /// Cells filled in for a step whose date column is empty: reported, since they would be lost.
    fn outside_step(&mut self, keys: &[&str], date_key: &str, step: &str) {
        let date_header = self.headers.get(date_key).cloned().unwrap_or_else(|| {
            column(date_key).map_or_else(String::new, |c| self.mapping.header_of(c))
        });
        for key in keys {
            if let Some((header, text)) = self.origin.get(key).cloned() {
                let cell = Cell::Text(text);
                self.problem(
                    &header,
                    &cell,
                    format!(
                        "hoort bij {step}, maar kolom '{date_header}' is leeg; vul de datum in of maak deze cel leeg"
                    ),
                );
            }
        }
    }
}

/// A date from a cell: a date cell, an Excel serial number, or text as `JJJJ-MM-DD` or `DD-MM-JJJJ` (also with
/// `/` or `.`).
pub fn date_of(cell: &Cell) -> Option<Date> {
    match cell {
        Cell::Date(d) => Some(*d),
        // An unformatted date: Excel's serial day number (1900 system, day 60 the non-existent 29 February 1900).
        Cell::Number(n) if (1.0..2_958_466.0).contains(n) => {
            let days = n.floor() as i64;
            let epoch = Date::from_calendar_date(1899, Month::December, 30).ok()?;
            let days = if days < 60 { days + 1 } else { days };
            epoch.checked_add(Duration::days(days))
        }
        Cell::Text(s) => {
            let s = s.split_whitespace().next()?;
            let parts: Vec<&str> = s.split(['-', '/', '.']).collect();
            let [a, b, c] = parts.as_slice() else {
                return None;
            };
            let (y, m, d) = if a.len() == 4 { (a, b, c) } else { (c, b, a) };
            if y.len() != 4 {
                return None;
            }
            let month = Month::try_from(m.parse::<u8>().ok()?).ok()?;
            Date::from_calendar_date(y.parse().ok()?, month, d.parse().ok()?).ok()
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::date;

    #[test]
    fn dates_are_read_as_excel_writes_them() {
        let t = |s: &str| date_of(&Cell::Text(s.into()));
        assert_eq!(t("2023-03-31"), Some(date!(2023 - 03 - 31)));
        assert_eq!(t("31-03-2023"), Some(date!(2023 - 03 - 31)));
        assert_eq!(t("1/2/2022"), Some(date!(2022 - 02 - 01)));
        assert_eq!(t("31.12.2024 00:00"), Some(date!(2024 - 12 - 31)));
        assert_eq!(t("31-02-2023"), None);
        assert_eq!(t("maart 2023"), None);
        assert_eq!(t("31-03-23"), None);
        // 44927 is 1 January 2023 in Excel's 1900 system.
        assert_eq!(date_of(&Cell::Number(44927.0)), Some(date!(2023 - 01 - 01)));
    }
}
