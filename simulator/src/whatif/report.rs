//! The what-if report: one document model (Markdown and HTML), in Dutch, section by section.

use policies::Policy;

use super::analysis::{Analysis, Direction};
use super::findings::Grade;
use super::story::{field_label, plural, story};
use crate::population::Population;
use crate::report::{Doc, n};
use crate::run::{calibration_table, describe_population};

/// The report.
pub fn report(a: &Analysis, current: &Policy, proposed: &Policy, pop: &Population) -> Doc {
    let mut doc = Doc::new(format!(
        "Wat-als-analyse: {} {} → {} {}",
        current.meta.name, current.meta.version, proposed.meta.name, proposed.meta.version
    ));
    summary(&mut doc, a);
    doc.h(1, "Scenario");
    describe_population(&mut doc, pop);
    findings(&mut doc, a);
    changes(&mut doc, a, pop);
    new_receivers(&mut doc, a, pop);
    violations(&mut doc, a);
    unused(&mut doc, a);
    space_diff(&mut doc, a);
    doc.h(1, "Kalibratie onder beide beleidsversies");
    doc.h(2, "Huidig beleid");
    calibration_table(&mut doc, &a.calibration.0);
    doc.h(2, "Voorgesteld beleid");
    calibration_table(&mut doc, &a.calibration.1);
    doc
}

/// The verdict and the figures a reader needs first.
fn summary(doc: &mut Doc, a: &Analysis) {
    doc.h(1, "Samenvatting");
    let verdict = if a.blocking() {
        "**Blokkerend**: dit beleid schendt een invariant of faalt op een eigen voorbeeld en kan niet ondertekend worden."
    } else if a.findings.is_empty() {
        "Geen bevindingen."
    } else {
        "Niet blokkerend; lees de bevindingen voordat het beleid wordt ondertekend."
    };
    doc.p(verdict);
    doc.list(vec![
        format!(
            "Bevindingen: {} blokkerend, {} risico, {} waarschuwing, {} suggestie.",
            a.count(Grade::Blocking),
            a.count(Grade::Risk),
            a.count(Grade::Warning),
            a.count(Grade::Suggestion)
        ),
        format!(
            "Verstrekkingen in de simulatie: {} onder het huidige beleid, {} onder het voorgestelde.",
            n(a.totals.0),
            n(a.totals.1)
        ),
        format!(
            "Toets \"geen nieuwe verstrekking\": {} ({} nieuw verstrekt).",
            if a.newly_disclosed() == 0 { "geslaagd" } else { "**niet geslaagd**" },
            n(a.newly_disclosed())
        ),
        format!(
            "Verschil over alle situaties (niet alleen de gesimuleerde): {} verschil(len) per rol, relatie, \
             afzender en veld, in {} aanvragen.",
            n(a.diff.entries.len()),
            n(a.diff.changed_requests())
        ),
    ]);
}

/// Every finding with its rule, fix and example.
fn findings(doc: &mut Doc, a: &Analysis) {
    doc.h(1, "Bevindingen");
    if a.findings.is_empty() {
        doc.p("Geen.");
    }
    for (i, f) in a.findings.iter().enumerate() {
        doc.h(
            2,
            format!("{}. [{}] {}", i + 1, f.grade.label_nl(), f.title),
        );
        doc.list(vec![
            format!("**Regel:** {}", f.rule),
            format!("**Oplossing:** {}", f.fix),
            format!("**Voorbeeld:** {}", f.example),
        ]);
    }
}

/// The changed disclosures per direction, with one example each.
fn changes(doc: &mut Doc, a: &Analysis, pop: &Population) {
    doc.h(1, "Verstrekkingen per stroom, rol en veld");
    for direction in [Direction::Newly, Direction::NoLonger, Direction::Uncertain] {
        let rows: Vec<Vec<String>> = a
            .changes
            .iter()
            .filter(|(k, _)| k.direction == direction)
            .map(|(k, s)| {
                vec![
                    k.flow.clone(),
                    k.role.label_nl().to_string(),
                    field_label(k.field),
                    n(s.disclosures),
                    n(s.cases),
                ]
            })
            .collect();
        doc.h(
            2,
            format!("{} ({})", capitalise(direction.label_nl()), rows.len()),
        );
        if rows.is_empty() {
            doc.p("Geen.");
        } else {
            doc.table(
                &["stroom", "ontvanger", "veld", "verstrekkingen", "casussen"],
                rows,
            );
            if let Some((k, s)) = a.changes.iter().find(|(k, _)| k.direction == direction) {
                doc.p(format!(
                    "Voorbeeld: {}",
                    story(&s.example, k.direction, &k.flow, pop)
                ));
            }
        }
    }
}

/// Per role, the partners that would newly receive data.
fn new_receivers(doc: &mut Doc, a: &Analysis, pop: &Population) {
    doc.h(1, "Partners die gegevens krijgen die ze eerder niet kregen");
    if a.new_receivers.is_empty() {
        doc.p("Geen.");
    } else {
        doc.table(
            &["rol", "partners", "nieuwe velden", "voorbeeld"],
            a.new_receivers
                .iter()
                .map(|(role, (partners, fields, bystander))| {
                    vec![
                        plural(*role).to_string(),
                        if *bystander {
                            format!("alle {} (ook zonder relatie)", n(pop.partners.count(*role)))
                        } else {
                            n(partners.len())
                        },
                        fields
                            .iter()
                            .map(|f| field_label(*f))
                            .collect::<Vec<_>>()
                            .join(", "),
                        partners
                            .iter()
                            .next()
                            .map(|p| p.to_string())
                            .unwrap_or_default(),
                    ]
                })
                .collect(),
        );
    }
}

/// The invariants the proposal breaks, over the whole request space.
fn violations(doc: &mut Doc, a: &Analysis) {
    doc.h(1, "Schendingen van invarianten");
    if a.violations.is_empty() {
        doc.p("Geen: het voorgestelde beleid houdt zich aan alle invarianten, in elke situatie.");
    } else {
        doc.table(
            &["invariant", "regel", "velden", "situaties"],
            a.violations
                .iter()
                .map(|v| {
                    vec![
                        v.invariant.clone(),
                        format!("{} (regel {})", v.rule, v.rule_location.line),
                        v.fields
                            .iter()
                            .map(|f| field_label(*f))
                            .collect::<Vec<_>>()
                            .join(", "),
                        n(v.requests),
                    ]
                })
                .collect(),
        );
    }
}

/// Fields allowed but never sent (data minimisation).
fn unused(doc: &mut Doc, a: &Analysis) {
    doc.h(1, "Toegestaan maar nooit gebruikt (dataminimalisatie)");
    doc.p(
        "Velden die een stroom van het voorgestelde beleid toestaat, maar die in de simulatie nooit via die stroom \
         gingen. Kandidaten om weg te laten — of een teken dat de gesimuleerde populatie een situatie mist.",
    );
    if a.unused.is_empty() {
        doc.p("Geen.");
    } else {
        doc.table(
            &["stroom", "aantal", "velden"],
            a.unused
                .iter()
                .map(|(flow, fields)| {
                    vec![
                        flow.clone(),
                        fields.len().to_string(),
                        fields
                            .iter()
                            .map(|f| format!("`{}`", f.qualified_name()))
                            .collect::<Vec<_>>()
                            .join(", "),
                    ]
                })
                .collect(),
        );
    }
}

/// The exact difference between the policies over the whole request space.
fn space_diff(doc: &mut Doc, a: &Analysis) {
    doc.h(1, "Verschil in de beleidsruimte");
    doc.p(
        "Exact, over elke combinatie van rol, relatie, afzender, fase, toestemming en voorziening — ook situaties \
         die de simulatie niet bereikte.",
    );
    if a.diff.entries.is_empty() {
        doc.p("Geen verschil: beide beleidsversies beslissen in elke situatie hetzelfde.");
    } else {
        doc.table(
            &["", "rol", "relatie", "van", "toegang", "veld", "situaties"],
            a.diff
                .entries
                .iter()
                .map(|e| {
                    vec![
                        if e.added { "+" } else { "−" }.to_string(),
                        e.role.name().to_string(),
                        e.relation.name().to_string(),
                        e.from
                            .map(|(r, rel)| format!("{} ({})", r.name(), rel.name()))
                            .unwrap_or_else(|| "—".into()),
                        e.access.name().to_string(),
                        format!("`{}`", e.field.qualified_name()),
                        e.contexts_summary(),
                    ]
                })
                .collect(),
        );
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().collect::<String>() + c.as_str())
        .unwrap_or_default()
}
