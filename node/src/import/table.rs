//! A workbook's sheet or a CSV file as rows of cells, with the row numbers a person sees in Excel.
//!
//! xlsx (and xlsm, xls, ods) through calamine; CSV through `csv`, as Excel writes it in the Netherlands: `;` as the
//! list separator, a UTF-8 byte order mark or Windows-1252 ("CSV (gescheiden door lijstscheidingsteken)").

use std::path::Path;

use calamine::{Data, Reader};
use time::{Date, Month};

use super::ImportError;

/// One cell, as far as the import needs to tell cells apart.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Nothing, or only spaces.
    Empty,
    /// Text (trimmed).
    Text(String),
    /// A number without a date format.
    Number(f64),
    /// A cell with a date format (the time of day, if any, is dropped).
    Date(Date),
    /// TRUE or FALSE.
    Bool(bool),
    /// An Excel error value (`#N/A`, `#REF!`).
    Error(String),
}

impl Cell {
    /// Whether the cell holds nothing.
    pub fn is_empty(&self) -> bool {
        matches!(self, Cell::Empty)
    }

    /// The cell as a person reads it: for reports, and for text columns.
    pub fn display(&self) -> String {
        match self {
            Cell::Empty => String::new(),
            Cell::Text(s) => s.clone(),
            Cell::Number(n) => number_text(*n),
            Cell::Date(d) => format!("{:02}-{:02}-{}", d.day(), d.month() as u8, d.year()),
            Cell::Bool(true) => "WAAR".into(),
            Cell::Bool(false) => "ONWAAR".into(),
            Cell::Error(e) => e.clone(),
        }
    }
}

/// A number as Excel shows it in a general cell: whole numbers without `.0` (a BSN typed as a number).
pub fn number_text(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

/// Where rows come from, for messages: a sheet of a workbook, or a CSV file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Place {
    /// A sheet of a workbook, by name.
    Blad(String),
    /// A CSV file, by file name.
    Bestand(String),
}

impl std::fmt::Display for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Place::Blad(name) => write!(f, "Blad '{name}'"),
            Place::Bestand(name) => write!(f, "Bestand '{name}'"),
        }
    }
}

/// The rows of one sheet, each with its row number as Excel shows it (from 1).
#[derive(Debug, Clone)]
pub struct Table {
    /// Where the rows come from.
    pub place: Place,
    /// The rows that hold anything, in order, with their row number.
    pub rows: Vec<(u32, Vec<Cell>)>,
}

/// Read one sheet of a workbook: `sheet` by name, else a sheet called "Monitor", else the first.
pub fn read_workbook(path: &Path, sheet: Option<&str>) -> Result<Table, ImportError> {
    let mut book = calamine::open_workbook_auto(path).map_err(|e| ImportError::Workbook {
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    let names = book.sheet_names();
    let name = match sheet {
        Some(wanted) => names
            .iter()
            .find(|n| n.eq_ignore_ascii_case(wanted.trim()))
            .cloned()
            .ok_or_else(|| ImportError::NoSuchSheet {
                wanted: wanted.to_string(),
                present: names.clone(),
            })?,
        None => names
            .iter()
            .find(|n| n.trim().eq_ignore_ascii_case("monitor"))
            .or(names.first())
            .cloned()
            .ok_or_else(|| ImportError::NoSuchSheet {
                wanted: "Monitor".into(),
                present: Vec::new(),
            })?,
    };
    let range = book
        .worksheet_range(&name)
        .map_err(|e| ImportError::Workbook {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
    // A range starts at its first used cell; Excel numbers rows from 1 at the top of the sheet.
    let first_row = range.start().map_or(0, |(r, _)| r);
    let first_col = range.start().map_or(0, |(_, c)| c) as usize;
    let mut rows = Vec::new();
    for (i, row) in range.rows().enumerate() {
        let mut cells: Vec<Cell> = vec![Cell::Empty; first_col];
        cells.extend(row.iter().map(cell_of));
        if cells.iter().any(|c| !c.is_empty()) {
            rows.push((first_row + i as u32 + 1, cells));
        }
    }
    Ok(Table {
        place: Place::Blad(name),
        rows,
    })
}

fn cell_of(d: &Data) -> Cell {
    match d {
        Data::Empty => Cell::Empty,
        Data::String(s) | Data::DurationIso(s) => text(s),
        Data::Int(i) => Cell::Number(*i as f64),
        Data::Float(f) => Cell::Number(*f),
        Data::Bool(b) => Cell::Bool(*b),
        Data::DateTime(dt) if dt.is_datetime() => {
            let (y, m, d, ..) = dt.to_ymd_hms_milli();
            Month::try_from(m)
                .ok()
                .and_then(|m| Date::from_calendar_date(i32::from(y), m, d).ok())
                .map_or_else(|| Cell::Number(dt.as_f64()), Cell::Date)
        }
        Data::DateTime(dt) => Cell::Number(dt.as_f64()),
        // ISO text from an ods or a strict-xlsx file: the date part, as text the date parser reads.
        Data::DateTimeIso(s) => text(s.split('T').next().unwrap_or(s)),
        Data::Error(e) => Cell::Error(e.to_string()),
    }
}

/// Excel's error values in English and Dutch, as a CSV export writes them out as text.
const ERROR_TEXTS: &[&str] = &[
    "#N/A", "#N/B", "#REF!", "#VERW!", "#DIV/0!", "#DEEL/0!", "#VALUE!", "#WAARDE!", "#NAME?",
    "#NAAM?", "#NUM!", "#GETAL!", "#NULL!", "#LEEG!",
];

fn text(s: &str) -> Cell {
    let t = s.trim();
    if t.is_empty() {
        Cell::Empty
    } else if ERROR_TEXTS.iter().any(|e| e.eq_ignore_ascii_case(t)) {
        Cell::Error(t.to_string())
    } else {
        Cell::Text(t.to_string())
    }
}

/// Read a CSV file as Excel writes it: the separator (`;`, `,` or tab) from the first line, UTF-8 with or without
/// a byte order mark, or else Windows-1252.
pub fn read_csv(path: &Path) -> Result<Table, ImportError> {
    let bytes = std::fs::read(path).map_err(|e| ImportError::Workbook {
        path: path.display().to_string(),
        reason: e.to_string(),
    })?;
    let decoded = decode(&bytes);
    let first = decoded.lines().find(|l| !l.trim().is_empty()).unwrap_or("");
    let delimiter = [b';', b',', b'\t']
        .into_iter()
        .max_by_key(|d| first.bytes().filter(|b| b == d).count())
        .unwrap_or(b';');
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(delimiter)
        .has_headers(false)
        .flexible(true)
        .from_reader(decoded.as_bytes());
    let mut rows = Vec::new();
    for (i, record) in reader.records().enumerate() {
        let record = record.map_err(|e| ImportError::Workbook {
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
        let cells: Vec<Cell> = record.iter().map(text).collect();
        if cells.iter().any(|c| !c.is_empty()) {
            rows.push((i as u32 + 1, cells));
        }
    }
    let name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into(),
    );
    Ok(Table {
        place: Place::Bestand(name),
        rows,
    })
}

/// UTF-8 (a byte order mark dropped), or Windows-1252, which Excel uses for "CSV (gescheiden door
/// lijstscheidingsteken)" on a Dutch Windows.
fn decode(bytes: &[u8]) -> String {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(s) => s.to_string(),
        Err(_) => encoding_rs::WINDOWS_1252.decode(bytes).0.into_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_1252_csv_is_read() {
        // "Súdwest-Fryslân" in Windows-1252.
        let bytes = b"Herkomstgemeente\nS\xfadwest-Frysl\xe2n\n";
        assert_eq!(decode(bytes), "Herkomstgemeente\nSúdwest-Fryslân\n");
        assert_eq!(decode(b"\xEF\xBB\xBFBSN\n"), "BSN\n");
    }

    #[test]
    fn whole_numbers_show_without_a_fraction() {
        assert_eq!(number_text(999993653.0), "999993653");
        assert_eq!(number_text(1.5), "1.5");
    }
}
