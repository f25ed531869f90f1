//! From Excel to the federation: the Transferpunt's Excel uitstroommonitor (or a CSV export of it) read into real
//! cases of the Transferpunt's node, so the monitor and the jaarverslag count the years before the federation
//! exactly as they count cases that came through it (`weerthuis import --xlsx monitor.xlsx`).
//!
//! - [`table`]: a sheet (calamine) or a CSV file (`csv`) as rows of cells with Excel's row numbers.
//! - [`mapping`]: the monitor's columns in the evaluation's layout, and the mapping file for other headers,
//!   sheets and spellings of values.
//! - [`rows`]: a row → the forms of a case (registratie; bemiddelingsverzoek and beoordeling; plaatsing), each
//!   field remembering its cell.
//! - `write`: the node side — every form through `policies::Validator` (`form`, then `in_case`), every field
//!   against what the policy lets the Transferpunt hold, the same client not twice; then all cases, documents and
//!   audit records (operation `import`) in one transaction.
//!
//! Every problem names the sheet, the row, the column and the rule, in Dutch: "Blad 'Monitor', rij 14, kolom
//! 'BSN': 123456789 — dit BSN klopt niet: het voldoet niet aan de elfproef …". Nothing is imported unless every row
//! is valid; with `skip_invalid` the valid rows are and the report lists the rows left out.
//!
//! **Consent.** An imported registratie records `toestemming_gegevensdeling = false`: the Excel monitor has no
//! consent as the federation records it (a date, for this exchange). Every flow of personal data in the covenant's
//! policy needs consent, and without it a partner learns nothing of the client, not even that the case exists, so
//! the imported history stays at the Transferpunt. Cell values are reported to the person running the import
//! (they are theirs) and never logged; the audit log holds field names only.

mod write;

pub mod mapping;
pub mod rows;
pub mod table;

use std::fmt;
use std::io::Write;
use std::path::PathBuf;

use policies::Role;

pub use mapping::Mapping;
pub use write::{ACTIVITY, PURPOSE};

use crate::service::{Node, ServiceError};
use crate::store::{CaseId, User};

/// Why an import could not start or finish: the file, its sheet or its header, the mapping file, or the node.
/// Messages are in Dutch: they are about the user's workbook.
#[derive(Debug, thiserror::Error)]
pub enum ImportError {
    /// The file cannot be read as a workbook or CSV.
    #[error("{path} kan niet worden gelezen: {reason}")]
    Workbook {
        /// The file.
        path: String,
        /// Why (the reader's words).
        reason: String,
    },
    /// The sheet asked for is not in the workbook.
    #[error("het werkboek heeft geen blad '{wanted}'; wel: {}", present.join(", "))]
    NoSuchSheet {
        /// The sheet asked for.
        wanted: String,
        /// The sheets it has.
        present: Vec<String>,
    },
    /// The sheet's header cannot be read as the monitor's.
    #[error("{place}: {reason}")]
    Sheet {
        /// The sheet or file.
        place: String,
        /// What is wrong.
        reason: String,
    },
    /// The mapping file is not valid.
    #[error("mappingbestand {file}: {reason}")]
    Mapping {
        /// The file.
        file: String,
        /// What is wrong.
        reason: String,
    },
    /// Only the Transferpunt keeps the uitstroommonitor.
    #[error("de uitstroommonitor is van het Transferpunt; deze node is {0}")]
    NotTransferpunt(String),
    /// The node could not check or store the cases; nothing was stored.
    #[error(transparent)]
    Node(#[from] ServiceError),
}

impl From<crate::doc::DocError> for ImportError {
    fn from(e: crate::doc::DocError) -> Self {
        ImportError::Node(e.into())
    }
}

/// One problem with the workbook, on a row and a cell where it has one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The sheet or file (`Blad 'Monitor'`).
    pub place: String,
    /// The row as Excel numbers it.
    pub row: Option<u32>,
    /// The column's header as in the workbook.
    pub column: Option<String>,
    /// The cell as written (shown to the person importing; never logged).
    pub value: Option<String>,
    /// What is wrong, and the rule.
    pub message: String,
}

/// Longest cell text repeated in a message.
const SHOWN: usize = 60;

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.place)?;
        if let Some(r) = self.row {
            write!(f, ", rij {r}")?;
        }
        if let Some(c) = &self.column {
            write!(f, ", kolom '{c}'")?;
        }
        write!(f, ": ")?;
        if let Some(v) = &self.value {
            let shown: String = v.chars().take(SHOWN).collect();
            let more = if v.chars().count() > SHOWN { "…" } else { "" };
            write!(f, "{shown}{more} — ")?;
        }
        write!(f, "{}", self.message)
    }
}

/// What to read.
#[derive(Debug, Clone)]
pub enum Source {
    /// A workbook: xlsx (also xlsm, xls, ods).
    Workbook(PathBuf),
    /// A CSV file.
    Csv(PathBuf),
}

/// How to import.
#[derive(Debug, Clone)]
pub struct Options {
    /// The file.
    pub source: Source,
    /// Headers, sheet and spellings.
    pub mapping: Mapping,
    /// Import the valid rows and leave the others out (reported), instead of nothing at all.
    pub skip_invalid: bool,
}

/// What an import did.
#[derive(Debug, Clone)]
pub struct Report {
    /// The sheet or file read.
    pub place: String,
    /// Rows read under the header.
    pub rows: usize,
    /// The rows imported, each with its new case.
    pub imported: Vec<(u32, CaseId)>,
    /// The rows not imported because of a problem.
    pub left_out: Vec<u32>,
    /// Every problem found.
    pub problems: Vec<Problem>,
    /// Headers the import does not read.
    pub unread_columns: Vec<String>,
    /// Whether rows with problems were left out (`skip_invalid`) rather than the whole import refused.
    pub skip_invalid: bool,
}

impl Report {
    /// Whether every row was imported.
    pub fn complete(&self) -> bool {
        self.problems.is_empty() && self.left_out.is_empty()
    }

    /// The report in Dutch, for the person who ran the import.
    pub fn write_nl(&self, out: &mut impl Write) -> std::io::Result<()> {
        writeln!(out, "{}: {} rij(en) gelezen.", self.place, self.rows)?;
        if !self.unread_columns.is_empty() {
            writeln!(
                out,
                "Niet gelezen kolommen (geen kolom van de monitor): {}",
                self.unread_columns
                    .iter()
                    .map(|c| format!("'{c}'"))
                    .collect::<Vec<_>>()
                    .join(", ")
            )?;
        }
        if !self.problems.is_empty() {
            writeln!(out, "{} probleem/problemen:", self.problems.len())?;
            for p in &self.problems {
                writeln!(out, "- {p}")?;
            }
        }
        if !self.skip_invalid && !self.left_out.is_empty() {
            writeln!(
                out,
                "Niets geïmporteerd: {} rij(en) hebben een probleem. Herstel ze, of importeer de andere rijen met \
                 --skip-invalid.",
                self.left_out.len()
            )?;
            return Ok(());
        }
        if !self.left_out.is_empty() {
            writeln!(
                out,
                "Weggelaten: {} rij(en): {}.",
                self.left_out.len(),
                self.left_out
                    .iter()
                    .map(u32::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            )?;
        }
        writeln!(
            out,
            "Geïmporteerd: {} cliënt(en) als casus van deze node.",
            self.imported.len()
        )?;
        Ok(())
    }
}

/// Import a workbook or CSV file into the Transferpunt's node: read, check every row, then store every valid row
/// in one transaction — all rows, or (with `skip_invalid`) the valid ones; nothing when a row has a problem
/// otherwise. Holds the node's write guard throughout, so no local write interleaves.
pub async fn import(node: &Node, user: &User, options: &Options) -> Result<Report, ImportError> {
    if node.partner().role() != Role::Transferpunt {
        return Err(ImportError::NotTransferpunt(node.partner().to_string()));
    }
    let table = match &options.source {
        Source::Workbook(path) => table::read_workbook(path, options.mapping.sheet.as_deref())?,
        Source::Csv(path) => table::read_csv(path)?,
    };
    let place = table.place.to_string();
    let layout = rows::layout(&table, &options.mapping)?;
    let (clients, mut problems) =
        rows::read_rows(&table, &layout, &options.mapping, node.gemeenten());
    let count = clients.len();
    // A row with a cell that could not be read is still checked whole (every problem at once), never stored.
    let mut bad_cells: Vec<u32> = problems.iter().filter_map(|p| p.row).collect();
    bad_cells.sort_unstable();
    bad_cells.dedup();

    let _guard = node.write_guard().await;
    let held = write::held_clients(node).await?;
    let mut checks = write::check_rows(node, &place, clients, &held);
    checks
        .valid
        .retain(|c| bad_cells.binary_search(&c.row).is_err());
    problems.append(&mut checks.problems);
    problems.sort_by_key(|p| p.row);
    let mut left_out = bad_cells;
    left_out.extend(checks.invalid_rows);
    left_out.sort_unstable();
    left_out.dedup();
    tracing::info!(
        rows = count,
        valid = checks.valid.len(),
        problems = problems.len(),
        "uitstroommonitor read"
    );
    let mut report = Report {
        place,
        rows: count,
        imported: Vec::new(),
        left_out,
        problems,
        unread_columns: layout.unread,
        skip_invalid: options.skip_invalid,
    };
    if report.left_out.is_empty() || options.skip_invalid {
        report.imported = write::store_rows(node, user, &checks.valid).await?;
        tracing::info!(
            cases = report.imported.len(),
            left_out = report.left_out.len(),
            "uitstroommonitor imported"
        );
    }
    Ok(report)
}
