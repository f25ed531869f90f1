//! Statistical disclosure control for the jaarverslag's tables: cells under a threshold are suppressed (primary),
//! and further cells (secondary) so that no suppressed value can be recovered from the published cells and totals.
//!
//! A table is seen with its margins: each row with its row total (when shown), each column with its column total,
//! and the totals row with the grand total. Every such line is an equation. A suppressed value is recoverable when
//! it follows from these equations and the published values; [`recoverable`] decides that exactly (Gaussian
//! elimination over the suppressed entries), and [`Table::suppress`] adds secondary suppressions until nothing is.
//! Zero cells are not primary-suppressed (a zero reveals no one), but may be suppressed secondarily.

/// A table of counts with optional row totals and column totals.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Table {
    /// The table's title (Dutch).
    pub title: String,
    /// The label above the row labels.
    pub row_heading: String,
    /// Row labels.
    pub rows: Vec<String>,
    /// Column labels.
    pub columns: Vec<String>,
    /// The counts, by row then column.
    pub cells: Vec<Vec<u32>>,
    /// Whether the columns add up to a meaningful row total (shown as a last column).
    pub row_totals: bool,
    /// A difference of two columns shown after them (the balance of in- and outflow), when the table has one.
    pub saldo: Option<Saldo>,
}

/// A derived column: `plus − minus` of two of the table's columns, per row and for the totals row. It is computed
/// from the *published* entries only, and shown only where both are published, so it adds no equation and reveals
/// nothing the published table does not: suppression ignores it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Saldo {
    /// The column's heading (Dutch, shown).
    pub label: String,
    /// The column added.
    pub plus: usize,
    /// The column subtracted.
    pub minus: usize,
}

/// A published table: every entry a value or suppressed (`None`), margins included.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Published {
    /// The table it came from.
    pub table: Table,
    /// Entries of the extended table: rows then the totals row; columns then (when shown) the total column.
    pub entries: Vec<Vec<Option<u32>>>,
}

impl Table {
    /// A table; `cells` must be `rows × columns`.
    pub fn new(
        title: &str,
        row_heading: &str,
        rows: Vec<String>,
        columns: Vec<String>,
        cells: Vec<Vec<u32>>,
        row_totals: bool,
    ) -> Self {
        assert_eq!(cells.len(), rows.len(), "one row of cells per row label");
        assert!(cells.iter().all(|r| r.len() == columns.len()));
        // A single column's row total would repeat the cell.
        let row_totals = row_totals && columns.len() > 1;
        Table {
            title: title.into(),
            row_heading: row_heading.into(),
            rows,
            columns,
            cells,
            row_totals,
            saldo: None,
        }
    }

    /// The table with a derived column `plus − minus` ([`Saldo`]).
    pub fn with_saldo(mut self, label: &str, plus: usize, minus: usize) -> Self {
        assert!(plus < self.columns.len() && minus < self.columns.len());
        self.saldo = Some(Saldo {
            label: label.into(),
            plus,
            minus,
        });
        self
    }

    /// The extended table: cells with a row-total column (when shown) and a totals row.
    pub fn extended(&self) -> Vec<Vec<u32>> {
        let cols = self.columns.len();
        let mut ext: Vec<Vec<u32>> = self
            .cells
            .iter()
            .map(|r| {
                let mut r = r.clone();
                if self.row_totals {
                    r.push(r.iter().sum());
                }
                r
            })
            .collect();
        let width = cols + usize::from(self.row_totals);
        let totals = (0..width).map(|j| ext.iter().map(|r| r[j]).sum()).collect();
        ext.push(totals);
        ext
    }

    /// Publish with cells (and totals) `0 < v < threshold` suppressed, plus secondary suppressions.
    pub fn suppress(&self, threshold: u32) -> Published {
        let ext = self.extended();
        let mut hidden: Vec<Vec<bool>> = ext
            .iter()
            .map(|r| r.iter().map(|&v| v > 0 && v < threshold).collect())
            .collect();
        while let Some((i, _)) = first_recoverable(self, &ext, &hidden) {
            // Hide one more entry on the recoverable one's row: the smallest visible inner cell, else the row's
            // total, else (a row with nothing left) the smallest visible entry anywhere.
            let row = &ext[i];
            let inner = self.columns.len();
            let pick = (0..inner)
                .filter(|&j| !hidden[i][j])
                .min_by_key(|&j| (row[j], j))
                .or_else(|| (self.row_totals && !hidden[i][inner]).then_some(inner));
            match pick {
                Some(j) => hidden[i][j] = true,
                None => {
                    let (a, b) = (0..ext.len())
                        .flat_map(|a| (0..ext[a].len()).map(move |b| (a, b)))
                        .filter(|&(a, b)| !hidden[a][b])
                        .min_by_key(|&(a, b)| (ext[a][b], a, b))
                        .expect("something is still visible while something is recoverable");
                    hidden[a][b] = true;
                }
            }
        }
        let entries = ext
            .iter()
            .zip(&hidden)
            .map(|(r, h)| r.iter().zip(h).map(|(&v, &h)| (!h).then_some(v)).collect())
            .collect();
        Published {
            table: self.clone(),
            entries,
        }
    }
}

impl Published {
    /// The derived column's values per row of the extended table (the totals row last): `None` where either of its
    /// columns is suppressed; empty when the table has no [`Saldo`].
    pub fn saldo(&self) -> Vec<Option<i64>> {
        let Some(s) = &self.table.saldo else {
            return Vec::new();
        };
        self.entries
            .iter()
            .map(|r| Some(i64::from(r[s.plus]?) - i64::from(r[s.minus]?)))
            .collect()
    }
}

/// The equations of the extended table, as lists of entries (the last entry of each is the total).
fn lines(table: &Table, ext: &[Vec<u32>]) -> Vec<Vec<(usize, usize)>> {
    let rows = ext.len();
    let width = ext[0].len();
    let mut out = Vec::new();
    if table.row_totals {
        for i in 0..rows {
            out.push((0..width).map(|j| (i, j)).collect());
        }
    }
    for j in 0..width {
        out.push((0..rows).map(|i| (i, j)).collect());
    }
    out
}

fn first_recoverable(
    table: &Table,
    ext: &[Vec<u32>],
    hidden: &[Vec<bool>],
) -> Option<(usize, usize)> {
    let unknowns: Vec<(usize, usize)> = (0..ext.len())
        .flat_map(|i| (0..ext[i].len()).map(move |j| (i, j)))
        .filter(|&(i, j)| hidden[i][j])
        .collect();
    if unknowns.is_empty() {
        return None;
    }
    let index = |c: (usize, usize)| unknowns.iter().position(|&u| u == c);
    // Each line: inner entries minus the total = 0, restricted to the unknowns.
    let matrix: Vec<Vec<f64>> = lines(table, ext)
        .into_iter()
        .map(|line| {
            let mut row = vec![0.0; unknowns.len()];
            let last = line.len() - 1;
            for (k, &c) in line.iter().enumerate() {
                if let Some(u) = index(c) {
                    row[u] += if k == last { -1.0 } else { 1.0 };
                }
            }
            row
        })
        .filter(|r| r.iter().any(|&v| v != 0.0))
        .collect();
    let rank = rank(matrix.clone());
    unknowns.iter().enumerate().find_map(|(u, &c)| {
        let mut with = matrix.clone();
        let mut unit = vec![0.0; unknowns.len()];
        unit[u] = 1.0;
        with.push(unit);
        (self::rank(with) == rank).then_some(c)
    })
}

/// Whether any suppressed entry of a published table follows from its published entries.
pub fn recoverable(published: &Published) -> Option<(usize, usize)> {
    let ext = published.table.extended();
    let hidden: Vec<Vec<bool>> = published
        .entries
        .iter()
        .map(|r| r.iter().map(Option::is_none).collect())
        .collect();
    first_recoverable(&published.table, &ext, &hidden)
}

fn rank(mut m: Vec<Vec<f64>>) -> usize {
    let cols = m.first().map_or(0, Vec::len);
    let mut rank = 0;
    for c in 0..cols {
        let Some(p) = (rank..m.len()).max_by(|&a, &b| m[a][c].abs().total_cmp(&m[b][c].abs()))
        else {
            break;
        };
        if m[p][c].abs() < 1e-9 {
            continue;
        }
        m.swap(rank, p);
        let pivot = m[rank].clone();
        for (r, row) in m.iter_mut().enumerate() {
            if r != rank {
                let f = row[c] / pivot[c];
                if f != 0.0 {
                    for (x, p) in row.iter_mut().zip(&pivot).skip(c) {
                        *x -= f * p;
                    }
                }
            }
        }
        rank += 1;
    }
    rank
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table(cells: Vec<Vec<u32>>, row_totals: bool) -> Table {
        let rows = (0..cells.len()).map(|i| format!("r{i}")).collect();
        let columns = (0..cells[0].len()).map(|j| format!("k{j}")).collect();
        Table::new("t", "", rows, columns, cells, row_totals)
    }

    /// Every hidden entry is truly unknown: some other solution of the published equations changes it. Checked
    /// by brute force over small non-negative integers, independently of the rank test.
    fn brute_force_safe(p: &Published) -> bool {
        let ext = p.table.extended();
        let hidden: Vec<(usize, usize)> = (0..ext.len())
            .flat_map(|i| (0..ext[i].len()).map(move |j| (i, j)))
            .filter(|&(i, j)| p.entries[i][j].is_none())
            .collect();
        assert!(hidden.len() <= 4, "brute force only on small patterns");
        if hidden.is_empty() {
            return true;
        }
        let max = ext.iter().flatten().copied().max().unwrap_or(0) + 2;
        let mut seen: Vec<std::collections::BTreeSet<u32>> = vec![Default::default(); hidden.len()];
        let mut vals = vec![0u32; hidden.len()];
        loop {
            let mut e = ext.clone();
            for (k, &(i, j)) in hidden.iter().enumerate() {
                e[i][j] = vals[k];
            }
            let ok = lines(&p.table, &ext).iter().all(|line| {
                let (last, inner) = line.split_last().unwrap();
                inner.iter().map(|&(i, j)| e[i][j]).sum::<u32>() == e[last.0][last.1]
            });
            if ok {
                for (k, v) in vals.iter().enumerate() {
                    seen[k].insert(*v);
                }
            }
            // Next assignment.
            let mut k = 0;
            loop {
                if k == vals.len() {
                    return seen.iter().all(|s| s.len() > 1);
                }
                vals[k] += 1;
                if vals[k] <= max {
                    break;
                }
                vals[k] = 0;
                k += 1;
            }
        }
    }

    #[test]
    fn single_small_cell_gets_a_partner_in_row_and_column() {
        let t = table(vec![vec![10, 3, 20], vec![12, 15, 30], vec![8, 9, 7]], true);
        let p = t.suppress(5);
        assert_eq!(p.entries[0][1], None, "primary");
        assert_eq!(recoverable(&p), None);
        let hidden = p.entries.iter().flatten().filter(|e| e.is_none()).count();
        assert!(hidden >= 4, "a 2×2 pattern at least: {:?}", p.entries);
        // Totals stay shown where they reveal nothing.
        assert_eq!(p.entries[3][3], Some(114));
    }

    #[test]
    fn small_total_is_suppressed_too() {
        let t = table(vec![vec![1, 2], vec![10, 20]], true);
        let p = t.suppress(5);
        assert_eq!(p.entries[0][2], None, "row total 3 is itself small");
        assert_eq!(recoverable(&p), None);
    }

    #[test]
    fn single_column_table() {
        let t = table(vec![vec![12], vec![3], vec![40]], false);
        let p = t.suppress(5);
        assert_eq!(p.entries[1][0], None);
        assert_eq!(recoverable(&p), None);
        assert!(p.entries[0][0].is_none() || p.entries[3][0].is_none());
        assert!(brute_force_safe(&p));
    }

    #[test]
    fn rank_test_finds_a_recoverable_cell() {
        let t = table(vec![vec![10, 3], vec![12, 15]], true);
        let mut p = Published {
            entries: t
                .extended()
                .into_iter()
                .map(|r| r.into_iter().map(Some).collect())
                .collect(),
            table: t,
        };
        p.entries[0][1] = None;
        assert_eq!(recoverable(&p), Some((0, 1)));
    }

    #[test]
    fn no_suppressed_value_can_be_recovered_on_many_tables() {
        // A small deterministic generator: tables of 1–4 rows and 1–4 columns, values 0–12.
        let mut seed: u64 = 0x5eed;
        let mut next = |n: u64| {
            seed = seed
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (seed >> 33) % n
        };
        for round in 0..300 {
            let rows = 1 + next(4) as usize;
            let cols = 1 + next(4) as usize;
            let cells = (0..rows)
                .map(|_| (0..cols).map(|_| next(13) as u32).collect())
                .collect();
            let t = table(cells, round % 3 != 0);
            let p = t.suppress(5);
            assert_eq!(recoverable(&p), None, "round {round}: {:?}", p.entries);
            // Every value 1–4 is hidden, in cells and totals.
            for (r, pr) in t.extended().iter().zip(&p.entries) {
                for (&v, e) in r.iter().zip(pr) {
                    if (1..5).contains(&v) {
                        assert_eq!(*e, None, "round {round}");
                    }
                }
            }
        }
    }
}
