//! Reports as a small document model written out twice: Markdown (for a review in git) and HTML (for a privacy
//! officer's browser), so both always say the same.

use node::monitor::jaarverslag::{esc, html_page};

/// A block of a report.
#[derive(Debug, Clone, PartialEq)]
pub enum Block {
    /// A heading of level 1–3.
    Heading(u8, String),
    /// A paragraph.
    Paragraph(String),
    /// A bulleted list.
    List(Vec<String>),
    /// A table: header and rows.
    Table(Vec<String>, Vec<Vec<String>>),
}

/// A report.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Doc {
    /// Its title.
    pub title: String,
    /// Its blocks, in order.
    pub blocks: Vec<Block>,
}

impl Doc {
    /// An empty report with a title.
    pub fn new(title: impl Into<String>) -> Self {
        Doc {
            title: title.into(),
            blocks: Vec::new(),
        }
    }

    /// Add a heading.
    pub fn h(&mut self, level: u8, text: impl Into<String>) {
        self.blocks.push(Block::Heading(level, text.into()));
    }

    /// Add a paragraph.
    pub fn p(&mut self, text: impl Into<String>) {
        self.blocks.push(Block::Paragraph(text.into()));
    }

    /// Add a list.
    pub fn list(&mut self, items: Vec<String>) {
        if !items.is_empty() {
            self.blocks.push(Block::List(items));
        }
    }

    /// Add a table.
    pub fn table(&mut self, header: &[&str], rows: Vec<Vec<String>>) {
        self.blocks.push(Block::Table(
            header.iter().map(|s| s.to_string()).collect(),
            rows,
        ));
    }

    /// Markdown.
    pub fn markdown(&self) -> String {
        let mut out = format!("# {}\n", self.title);
        for b in &self.blocks {
            out.push('\n');
            match b {
                Block::Heading(level, text) => {
                    out.push_str(&format!("{} {text}\n", "#".repeat(usize::from(*level) + 1)))
                }
                Block::Paragraph(text) => out.push_str(&format!("{text}\n")),
                Block::List(items) => {
                    for i in items {
                        out.push_str(&format!("- {i}\n"));
                    }
                }
                Block::Table(header, rows) => {
                    let cell = |s: &str| s.replace('|', "\\|").replace('\n', " ");
                    out.push_str(&format!(
                        "| {} |\n",
                        header
                            .iter()
                            .map(|h| cell(h))
                            .collect::<Vec<_>>()
                            .join(" | ")
                    ));
                    out.push_str(&format!("|{}\n", "---|".repeat(header.len())));
                    for r in rows {
                        out.push_str(&format!(
                            "| {} |\n",
                            r.iter().map(|c| cell(c)).collect::<Vec<_>>().join(" | ")
                        ));
                    }
                }
            }
        }
        out
    }

    /// A whole HTML page (Dutch, no scripts, styles inline as the jaarverslag's).
    pub fn html(&self) -> String {
        let mut body = String::new();
        for b in &self.blocks {
            match b {
                Block::Heading(level, text) => {
                    let l = level + 1;
                    body.push_str(&format!("<h{l}>{}</h{l}>\n", inline(text)));
                }
                Block::Paragraph(text) => body.push_str(&format!("<p>{}</p>\n", inline(text))),
                Block::List(items) => {
                    body.push_str("<ul>\n");
                    for i in items {
                        body.push_str(&format!("<li>{}</li>\n", inline(i)));
                    }
                    body.push_str("</ul>\n");
                }
                Block::Table(header, rows) => {
                    body.push_str("<table>\n<thead><tr>");
                    for h in header {
                        body.push_str(&format!("<th>{}</th>", inline(h)));
                    }
                    body.push_str("</tr></thead>\n<tbody>\n");
                    for r in rows {
                        body.push_str("<tr>");
                        for c in r {
                            body.push_str(&format!("<td>{}</td>", inline(c)));
                        }
                        body.push_str("</tr>\n");
                    }
                    body.push_str("</tbody>\n</table>\n");
                }
            }
        }
        // Text tables read left-aligned (the jaarverslag's page style right-aligns its figures).
        html_page(
            &self.title,
            &format!(
                "<style>td,th{{text-align:left;vertical-align:top}}</style>\n<h1>{}</h1>\n{body}",
                esc(&self.title)
            ),
        )
    }
}

/// Escape text for HTML and turn Markdown's `**bold**` and `` `code` `` into tags.
fn inline(text: &str) -> String {
    let escaped = esc(text);
    let mut out = String::new();
    let mut bold = false;
    let mut code = false;
    let mut chars = escaped.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '*' && chars.peek() == Some(&'*') && !code {
            chars.next();
            out.push_str(if bold { "</strong>" } else { "<strong>" });
            bold = !bold;
        } else if c == '`' {
            out.push_str(if code { "</code>" } else { "<code>" });
            code = !code;
        } else {
            out.push(c);
        }
    }
    out
}

/// A date as Dutch prose writes it: `4 mei 2022`.
pub fn date_nl(d: time::Date) -> String {
    const MONTHS: [&str; 12] = [
        "januari",
        "februari",
        "maart",
        "april",
        "mei",
        "juni",
        "juli",
        "augustus",
        "september",
        "oktober",
        "november",
        "december",
    ];
    format!(
        "{} {} {}",
        d.day(),
        MONTHS[usize::from(u8::from(d.month())) - 1],
        d.year()
    )
}

/// A number with a thin space between thousands, as Dutch reports write it (`25 400`).
pub fn n(v: usize) -> String {
    let s = v.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push('.');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_renderings_carry_the_same_content() {
        let mut d = Doc::new("Titel");
        d.h(1, "Kop");
        d.p("Een **vet** woord en `code` <script>");
        d.table(&["a", "b"], vec![vec!["1|2".into(), "x".into()]]);
        let md = d.markdown();
        assert!(md.contains("## Kop\n"));
        assert!(md.contains("| 1\\|2 | x |"));
        let html = d.html();
        assert!(html.contains("<strong>vet</strong>"));
        assert!(html.contains("<code>code</code>"));
        assert!(html.contains("&lt;script&gt;"));
        assert!(!html.contains("<script>"));
    }

    #[test]
    fn thousands_are_separated_with_a_point() {
        assert_eq!(n(25_400), "25.400");
        assert_eq!(n(999), "999");
        assert_eq!(n(1_234_567), "1.234.567");
    }
}
