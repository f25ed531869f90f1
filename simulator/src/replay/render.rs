//! The replay's report in Dutch, as Markdown and HTML from one list of sections: counts per receiver, flow and
//! field, and one example per kind of change told in words (never a value, a BSN or a case id).

use std::fmt::Write as _;

use node::monitor::jaarverslag::{esc, html_page, html_table};
use policies::{CaseFacts, FieldId, PartnerId, Role};

use super::decide::{ChangeKind, Counts, Example, ReplayReport};
use super::read::FactsSource;

/// Where the facts came from, as the report says it.
pub(super) fn source_name(s: FactsSource) -> &'static str {
    match s {
        FactsSource::Projection => "feiten uit de projectie op het moment van verstrekking",
        FactsSource::CurrentCase => "feiten uit de huidige stand van het dossier",
        FactsSource::Unknown => "niet te beoordelen (dossier niet meer aanwezig)",
    }
}

/// A role in Dutch, with its article ("de gemeente").
pub(super) fn role_nl(r: Role) -> &'static str {
    match r {
        Role::Transferpunt => "het Transferpunt",
        Role::Gemeente => "de gemeente",
        Role::Corporatie => "de woningcorporatie",
        Role::Zorgaanbieder => "de zorgaanbieder",
        Role::Huurdersorganisatie => "de huurdersorganisatie",
    }
}

/// A role as a table heading ("gemeente").
fn role_word(r: Role) -> &'static str {
    role_nl(r).split_once(' ').map_or(r.name(), |(_, w)| w)
}

pub(super) fn field_nl(f: FieldId) -> String {
    f.spec().label.to_string()
}

fn field_cell(f: FieldId) -> String {
    format!("{} ({})", f.spec().label, f.qualified_name())
}

fn relations_nl(facts: &CaseFacts, p: &PartnerId) -> String {
    let rels = facts.relations_of(p);
    let words: Vec<String> = rels.iter().map(|r| r.label_nl(p.role())).collect();
    words.join(" en ")
}

fn facts_nl(facts: &CaseFacts) -> String {
    let phase: &str = facts.phase.label_nl();
    let voorziening = facts
        .voorziening
        .map_or("voorziening nog onbekend".to_string(), |v| {
            v.label_nl().to_string()
        });
    format!(
        "het dossier was in de fase {phase}, de cliënt had {} gegeven, voorziening: {voorziening}",
        if facts.consent {
            "toestemming"
        } else {
            "geen toestemming"
        },
    )
}

/// One example told in Dutch words.
pub fn story_nl(e: &Example, proposed_version: &str) -> String {
    let field = format!(
        "‘{}’ ({})",
        field_nl(e.field),
        e.field.document().spec().label
    );
    let receiver = format!(
        "{} (als {})",
        role_nl(e.receiver.role()),
        relations_nl(&e.facts, &e.receiver)
    );
    match e.kind {
        ChangeKind::NoLongerAllowed => format!(
            "Op {} verstrekte deze node ({}) in dossier #{} het veld {field} aan {receiver}, onder de stroom ‘{}’ \
             van beleid {}; {}. Onder het voorgestelde beleid {proposed_version} laat geen stroom dit veld in deze \
             situatie nog toe: deze verstrekking zou niet meer mogen.",
            crate::report::date_nl(e.at.date()),
            role_word(e.sender.role()),
            e.case,
            e.flow,
            e.policy_version,
            facts_nl(&e.facts),
        ),
        ChangeKind::NewlyDisclosed => format!(
            "Op {} verstrekte deze node ({}) in dossier #{} gegevens aan {receiver} onder beleid {}; {}. Onder het \
             voorgestelde beleid {proposed_version} zou daarbij ook het veld {field} zijn meegestuurd, via de stroom \
             ‘{}’: deze node heeft dat veld voor dit dossier.",
            crate::report::date_nl(e.at.date()),
            role_word(e.sender.role()),
            e.case,
            e.policy_version,
            facts_nl(&e.facts),
            e.flow,
        ),
    }
}

fn counts_row(first: Vec<String>, c: &Counts) -> Vec<String> {
    let mut r = first;
    r.extend([
        c.still_allowed.to_string(),
        c.no_longer_allowed.to_string(),
        c.newly_disclosed.to_string(),
    ]);
    r
}

/// The report's sections as (heading, paragraphs, tables): one source for Markdown and HTML.
struct Section {
    heading: String,
    paragraphs: Vec<String>,
    table: Option<(Vec<String>, Vec<Vec<String>>)>,
}

fn sections(r: &ReplayReport, partner: &PartnerId) -> Vec<Section> {
    let mut out = vec![judgement(r, partner)];
    out.extend(count_tables(r));
    out.push(examples(r));
    out.push(invariants(r));
    if !r.failing_examples.is_empty() {
        out.push(Section {
            heading: "Waarschuwing: voorbeelden in het voorstel falen".into(),
            paragraphs: r.failing_examples.clone(),
            table: None,
        });
    }
    out
}

/// A counts table's header: the given first columns, then the three counts.
fn counts_header(first: &[&str]) -> Vec<String> {
    first
        .iter()
        .map(|s| s.to_string())
        .chain([
            "nog toegestaan".to_string(),
            "niet meer toegestaan".to_string(),
            "nieuw verstrekt".to_string(),
        ])
        .collect()
}

/// The verdict, the totals, and how the disclosures were judged.
fn judgement(r: &ReplayReport, partner: &PartnerId) -> Section {
    let t = r.totals();
    let verdict = if r.blocking() {
        format!(
            "**Blokkerend**: het voorgestelde beleid {} breekt {} invariant(en); het mag niet worden ondertekend.",
            r.proposed_version,
            r.breaches.len()
        )
    } else if t.no_longer_allowed + t.newly_disclosed == 0 {
        format!(
            "Geen wijzigingen: onder het voorgestelde beleid {} was elke vastgelegde verstrekking precies zo \
             gedaan.",
            r.proposed_version
        )
    } else {
        format!(
            "Het voorgestelde beleid {} breekt geen invariant, maar verandert wat deze node verstrekt.",
            r.proposed_version
        )
    };
    let mut intro = vec![
        verdict,
        format!(
            "Deze node ({}) legde {} verstrekking(en) vast in {}. Per veld in een verstrekking: {} nog \
             toegestaan, {} niet meer toegestaan (in {}), {} nieuw verstrekt (in {}).",
            role_word(partner.role()),
            r.disclosures,
            dossiers(r.cases),
            t.still_allowed,
            t.no_longer_allowed,
            dossiers(r.cases_changed.0),
            t.newly_disclosed,
            dossiers(r.cases_changed.1),
        ),
    ];
    let sources: Vec<String> = r
        .by_source
        .iter()
        .map(|(s, n)| format!("{n} × {s}"))
        .collect();
    intro.push(format!(
        "Herbeoordeeld op: {}. Dossiers heten hier met een volgnummer (#1, #2, …), nooit met hun kenmerk.",
        sources.join("; ")
    ));
    if r.version_unknown > 0 {
        intro.push(format!(
            "Bij {} verstrekkingen is de beleidsversie van toen op deze node onbekend: daar is niet gezocht naar \
             velden die nieuw zouden worden verstrekt.",
            r.version_unknown
        ));
    }
    intro.push(
        "‘Nieuw verstrekt’ telt velden die het voorgestelde beleid aan dezelfde verstrekking had toegevoegd en \
         die deze node nu voor het dossier heeft (een bovengrens voor wat ze toen had)."
            .into(),
    );
    Section {
        heading: "Oordeel".into(),
        paragraphs: intro,
        table: None,
    }
}

/// The counts per receiver role, per flow, and the fields that change.
fn count_tables(r: &ReplayReport) -> [Section; 3] {
    let per_role: Vec<Vec<String>> = r
        .per_role()
        .iter()
        .map(|(role, c)| counts_row(vec![role_word(*role).to_string()], c))
        .collect();
    let per_role = Section {
        heading: "Per ontvanger".into(),
        paragraphs: vec![],
        table: Some((counts_header(&["ontvanger (rol)"]), per_role)),
    };
    let per_flow: Vec<Vec<String>> = r
        .per_flow()
        .iter()
        .map(|((role, flow), c)| counts_row(vec![flow.clone(), role_word(*role).to_string()], c))
        .collect();
    let per_flow = Section {
        heading: "Per stroom".into(),
        paragraphs: vec![],
        table: Some((counts_header(&["stroom", "ontvanger"]), per_flow)),
    };
    let changed: Vec<Vec<String>> = r
        .rows
        .iter()
        .filter(|(_, c)| c.no_longer_allowed + c.newly_disclosed > 0)
        .map(|((role, flow, field), c)| {
            counts_row(
                vec![
                    field_cell(*field),
                    role_word(*role).to_string(),
                    flow.clone(),
                ],
                c,
            )
        })
        .collect();
    let changed = Section {
        heading: "Velden die veranderen".into(),
        paragraphs: if changed.is_empty() {
            vec!["Geen.".into()]
        } else {
            vec![]
        },
        table: (!changed.is_empty())
            .then(|| (counts_header(&["veld", "ontvanger", "stroom"]), changed)),
    };
    [per_role, per_flow, changed]
}

/// One example per kind of change, and every invariant broken, told in words.
fn examples(r: &ReplayReport) -> Section {
    let mut stories: Vec<String> = r
        .examples
        .iter()
        .map(|e| {
            let title = match e.kind {
                ChangeKind::NoLongerAllowed => "Niet meer toegestaan",
                ChangeKind::NewlyDisclosed => "Nieuw verstrekt",
            };
            format!("**{title}.** {}", story_nl(e, &r.proposed_version))
        })
        .collect();
    for b in &r.breaches {
        stories.push(format!(
            "**Invariant gebroken (blokkerend).** De regel ‘{}’ (regel {} van het voorstel) laat {} toe, wat de \
             invariant ‘{}’{} verbiedt ({}). Bijvoorbeeld: {}. Dit geldt voor {} situaties. Oplossing: haal deze \
             velden uit de regel, of beperk de regel tot relaties en fasen waarin de invariant niet geldt.",
            b.rule,
            b.line,
            b.fields
                .iter()
                .map(|f| format!("‘{}’", field_nl(*f)))
                .collect::<Vec<_>>()
                .join(", "),
            b.invariant,
            if b.baseline {
                " (een basisinvariant van het convenant)"
            } else {
                ""
            },
            b.basis,
            b.example,
            b.requests,
        ));
    }
    if stories.is_empty() {
        stories.push("Geen wijzigingen om te beschrijven.".into());
    }
    Section {
        heading: "Voorbeelden".into(),
        paragraphs: stories,
        table: None,
    }
}

/// The invariants the proposal breaks, as a table.
fn invariants(r: &ReplayReport) -> Section {
    let breach_rows: Vec<Vec<String>> = r
        .breaches
        .iter()
        .map(|b| {
            vec![
                b.invariant.clone(),
                format!("{} (regel {})", b.rule, b.line),
                b.fields
                    .iter()
                    .map(|f| f.qualified_name())
                    .collect::<Vec<_>>()
                    .join(", "),
                b.requests.to_string(),
            ]
        })
        .collect();
    Section {
        heading: "Invarianten".into(),
        paragraphs: if breach_rows.is_empty() {
            vec!["Het voorgestelde beleid houdt zich aan elke invariant.".into()]
        } else {
            vec![]
        },
        table: (!breach_rows.is_empty()).then(|| {
            (
                ["invariant", "regel", "velden", "situaties"]
                    .map(String::from)
                    .to_vec(),
                breach_rows,
            )
        }),
    }
}

fn dossiers(n: usize) -> String {
    match n {
        1 => "1 dossier".into(),
        n => format!("{n} dossiers"),
    }
}

fn title(r: &ReplayReport) -> String {
    format!(
        "Terugblik: voorgesteld beleid {} tegen de vastgelegde verstrekkingen",
        r.proposed_version
    )
}

/// The report in Dutch Markdown.
pub fn markdown(r: &ReplayReport, partner: &PartnerId) -> String {
    let mut out = format!("# {}\n\n", title(r));
    for s in sections(r, partner) {
        let _ = write!(out, "## {}\n\n", s.heading);
        for p in &s.paragraphs {
            let _ = write!(out, "{p}\n\n");
        }
        if let Some((header, rows)) = &s.table {
            let _ = writeln!(out, "| {} |", header.join(" | "));
            // Counts right-aligned, words left.
            let numeric = |i: usize| rows.iter().all(|r| r[i].parse::<u64>().is_ok());
            let align: String = (0..header.len())
                .map(|i| if numeric(i) { "---:|" } else { "---|" })
                .collect();
            let _ = writeln!(out, "|{align}");
            for row in rows {
                let cells: Vec<String> = row.iter().map(|c| c.replace('|', "\\|")).collect();
                let _ = writeln!(out, "| {} |", cells.join(" | "));
            }
            out.push('\n');
        }
    }
    out
}

/// The report in Dutch HTML (one page, no scripts).
pub fn html(r: &ReplayReport, partner: &PartnerId) -> String {
    let mut body = format!("<h1>{}</h1>\n", esc(&title(r)));
    for s in sections(r, partner) {
        let _ = writeln!(body, "<h2>{}</h2>", esc(&s.heading));
        for p in &s.paragraphs {
            let _ = writeln!(body, "<p>{}</p>", bold(&esc(p)));
        }
        if let Some((header, rows)) = &s.table {
            html_table(&mut body, header, rows);
        }
    }
    html_page(&title(r), &body)
}

/// Markdown's `**…**` as `<strong>` in escaped text.
fn bold(s: &str) -> String {
    let mut out = String::new();
    for (i, part) in s.split("**").enumerate() {
        if i % 2 == 1 {
            let _ = write!(out, "<strong>{part}</strong>");
        } else {
            out.push_str(part);
        }
    }
    out
}
