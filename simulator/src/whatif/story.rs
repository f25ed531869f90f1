//! Changes told in plain Dutch words for a privacy officer: who the client is, what happened, what the proposal
//! would change. Clients by number only; no value of a field.

use policies::{FieldId, PartnerId, Role};

use super::analysis::{Direction, Example};
use crate::population::{Client, Population};

/// A field as the report names it: its qualified name and its label.
pub(super) fn field_label(f: FieldId) -> String {
    format!("`{}` ({})", f.qualified_name(), f.spec().label)
}

/// "wijst het Transferpunt een woningcorporatie toe": after "Op <datum>" Dutch puts the verb before the subject.
pub(super) fn clause(author: &PartnerId, step: &str, pop: &Population) -> String {
    let (verb, rest) = step.split_once(' ').unwrap_or((step, ""));
    format!("{verb} {} {rest}", partner_label(author, pop))
        .trim_end()
        .to_string()
}

/// A partner as the report names it: the Transferpunt and gemeenten by name, others by id.
pub(super) fn partner_label(p: &PartnerId, pop: &Population) -> String {
    match p.role() {
        Role::Transferpunt => "het Transferpunt".to_string(),
        Role::Gemeente => pop
            .partners
            .register
            .name(p.code())
            .map(|n| format!("gemeente {n}"))
            .unwrap_or_else(|| p.to_string()),
        _ => p.to_string(),
    }
}

/// The example told as a story: who the client is, what happened, what the proposal would change.
pub fn story(ex: &Example, direction: Direction, flow: &str, pop: &Population) -> String {
    let client: &Client = pop
        .client(ex.client)
        .expect("examples name simulated clients");
    let event = &client.events[ex.info.event];
    let voorziening = client
        .events
        .iter()
        .find_map(|e| e.form.get("soort_voorziening").and_then(|v| v.as_str()))
        .map(|v| v.replace('_', " "))
        .unwrap_or_else(|| "opvang".into());
    let relations: Vec<String> = ex
        .info
        .relations
        .iter()
        .map(|r| r.label_nl(ex.disclosure.receiver.role()))
        .collect();
    let receiver = format!(
        "{} ({})",
        partner_label(&ex.disclosure.receiver, pop),
        if ex.info.bystander {
            format!(
                "zonder relatie tot de casus; staat voor alle {} zonder relatie",
                plural(ex.disclosure.receiver.role())
            )
        } else {
            relations.join(", ")
        }
    );
    let what = match (direction, ex.change) {
        (Direction::Newly, _) | (Direction::Uncertain, Direction::Newly) => {
            "ontvangt onder het voorgestelde beleid"
        }
        _ => "ontving onder het huidige beleid, maar onder het voorgestelde niet meer,",
    };
    let mut s = format!(
        "Cliënt {:05} verblijft in {voorziening}. Op {} {} (formulier {}). Daarna {what} {receiver} van {} het veld \
         {}",
        client.number,
        crate::report::date_nl(event.date),
        clause(&event.author, event.step, pop),
        event.kind.name(),
        partner_label(&ex.disclosure.sender, pop),
        field_label(ex.disclosure.field),
    );
    s.push_str(&format!(" (stroom \"{flow}\")."));
    if let Some(missing) = ex.info.missing {
        s.push_str(&format!(
            " De casus had op dat moment nog geen {missing}; als die bekend is, kan de beslissing anders uitvallen."
        ));
    }
    s
}

/// A role in the plural, for "all … without a relation".
pub(super) fn plural(role: Role) -> &'static str {
    match role {
        Role::Transferpunt => "Transferpunten",
        Role::Gemeente => "gemeenten",
        Role::Corporatie => "woningcorporaties",
        Role::Zorgaanbieder => "zorgaanbieders",
        Role::Huurdersorganisatie => "huurdersorganisaties",
    }
}
