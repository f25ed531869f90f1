//! The gemeenten known to the federation, by CBS gemeentecode. The 18 Frisian gemeenten are built in; others can
//! be added (the national scheme of 2027 brings all 342).

use std::collections::BTreeMap;

/// The 18 Frisian gemeenten (CBS codes, 2024).
pub const FRIESE_GEMEENTEN: [(&str, &str); 18] = [
    ("GM0059", "Achtkarspelen"),
    ("GM0060", "Ameland"),
    ("GM1891", "Dantumadiel"),
    ("GM1940", "De Fryske Marren"),
    ("GM0072", "Harlingen"),
    ("GM0074", "Heerenveen"),
    ("GM0080", "Leeuwarden"),
    ("GM1970", "Noardeast-Fryslân"),
    ("GM0085", "Ooststellingwerf"),
    ("GM0086", "Opsterland"),
    ("GM0088", "Schiermonnikoog"),
    ("GM0090", "Smallingerland"),
    ("GM1900", "Súdwest-Fryslân"),
    ("GM0093", "Terschelling"),
    ("GM0737", "Tytsjerksteradiel"),
    ("GM0096", "Vlieland"),
    ("GM1949", "Waadhoeke"),
    ("GM0098", "Weststellingwerf"),
];

/// Whether `code` has the shape of a CBS gemeentecode: `GM` and four digits.
pub fn is_cbs_code_format(code: &str) -> bool {
    code.len() == 6 && code.starts_with("GM") && code[2..].bytes().all(|b| b.is_ascii_digit())
}

/// Why a gemeente could not be added.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GemeenteError {
    /// Not `GM` and four digits.
    #[error("{0:?} is geen CBS-gemeentecode (verwacht: GM en vier cijfers, zoals GM0080)")]
    Format(String),
    /// Empty name.
    #[error("gemeente {0} heeft geen naam")]
    EmptyName(String),
    /// A CSV line of the wrong shape.
    #[error("regel {line}: verwacht 'code,naam'")]
    Line {
        /// 1-based line number.
        line: usize,
    },
}

/// The gemeenten a node accepts.
#[derive(Debug, Clone)]
pub struct Gemeenten {
    by_code: BTreeMap<String, String>,
}

impl Default for Gemeenten {
    fn default() -> Self {
        Self::friesland()
    }
}

impl Gemeenten {
    /// The 18 Frisian gemeenten.
    pub fn friesland() -> Self {
        Gemeenten {
            by_code: FRIESE_GEMEENTEN
                .iter()
                .map(|(c, n)| (c.to_string(), n.to_string()))
                .collect(),
        }
    }

    /// Add (or rename) a gemeente.
    pub fn add(&mut self, code: &str, name: &str) -> Result<(), GemeenteError> {
        if !is_cbs_code_format(code) {
            return Err(GemeenteError::Format(code.to_string()));
        }
        if name.trim().is_empty() {
            return Err(GemeenteError::EmptyName(code.to_string()));
        }
        self.by_code
            .insert(code.to_string(), name.trim().to_string());
        Ok(())
    }

    /// Add gemeenten from `code,naam` lines (a header line starting with `code` is skipped).
    pub fn add_csv(&mut self, text: &str) -> Result<usize, GemeenteError> {
        let mut added = 0;
        for (i, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || (i == 0 && line.to_ascii_lowercase().starts_with("code")) {
                continue;
            }
            let (code, name) = line
                .split_once(',')
                .ok_or(GemeenteError::Line { line: i + 1 })?;
            self.add(code.trim(), name)?;
            added += 1;
        }
        Ok(added)
    }

    /// The name of the gemeente with this code, if known.
    pub fn name(&self, code: &str) -> Option<&str> {
        self.by_code.get(code).map(String::as_str)
    }

    /// Whether the code is known.
    pub fn contains(&self, code: &str) -> bool {
        self.by_code.contains_key(code)
    }

    /// All known gemeenten, by code.
    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.by_code.iter().map(|(c, n)| (c.as_str(), n.as_str()))
    }

    /// How many are known.
    pub fn len(&self) -> usize {
        self.by_code.len()
    }

    /// Whether none are known.
    pub fn is_empty(&self) -> bool {
        self.by_code.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_eighteen_frisian_gemeenten_are_known() {
        let g = Gemeenten::friesland();
        assert_eq!(g.len(), 18);
        assert_eq!(g.name("GM0080"), Some("Leeuwarden"));
        assert_eq!(g.name("GM1900"), Some("Súdwest-Fryslân"));
        assert!(!g.contains("GM0363"), "Amsterdam is not Frisian");
    }

    #[test]
    fn others_can_be_added_for_the_national_scheme() {
        let mut g = Gemeenten::friesland();
        let n = g
            .add_csv("code,naam\nGM0363,Amsterdam\nGM0014,Groningen\n")
            .unwrap();
        assert_eq!(n, 2);
        assert_eq!(g.name("GM0363"), Some("Amsterdam"));
        assert!(matches!(
            g.add("0363", "Amsterdam"),
            Err(GemeenteError::Format(_))
        ));
        assert!(matches!(
            g.add_csv("GM0001"),
            Err(GemeenteError::Line { line: 1 })
        ));
    }
}
