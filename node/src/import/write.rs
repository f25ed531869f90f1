//! Imported rows into the node: every form validated as a local write is (`Validator::form`, then
//! `Validator::in_case` on the case as it grows), every field checked against what the policy lets the
//! Transferpunt hold, the same client not taken twice; then every case with every document and its audit record
//! in one transaction.

use std::collections::BTreeMap;

use policies::form::Form;
use policies::{CaseDocuments, DocumentKind, FieldSet, Relation, Role, ValidationErrors};
use time::OffsetDateTime;

use super::Problem;
use super::rows::ClientRow;
use crate::audit::{AuditEntry, Operation};
use crate::doc;
use crate::service::{Node, ServiceError};
use crate::store::{CaseId, Change, DocKey, User};

/// The processing activity an import is recorded under (`dpl.core.processing_activity_id`).
pub const ACTIVITY: &str = "import.uitstroommonitor";
/// The purpose an import is recorded under.
pub const PURPOSE: &str = "overname van de Excel-uitstroommonitor van het Transferpunt in de monitor van de \
     federatie (Afspraak 3c en 3d)";

/// A row checked and ready to store.
#[derive(Debug)]
pub(super) struct Checked {
    pub row: u32,
    pub forms: Vec<Form>,
}

/// What [`check_rows`] found: the rows that may be stored, and every problem of the others.
#[derive(Debug, Default)]
pub(super) struct Checks {
    pub valid: Vec<Checked>,
    pub invalid_rows: Vec<u32>,
    pub problems: Vec<Problem>,
}

/// The fields the policy lets the Transferpunt hold of a case in this phase and voorziening: what it writes
/// itself, and what any flow lets it receive from the partner that writes it. The import uses the flows with
/// consent: the monitor held these fields under the covenant's Bijlage 3 before the federation existed; without
/// recorded consent they stay at the Transferpunt (see `ARCHITECTURE.md`, "Importing the Excel monitor").
fn holdable(node: &Node, docs: &CaseDocuments) -> FieldSet {
    let policy = node.policy();
    let me = [Relation::Transferpunt];
    policy
        .writable(Role::Transferpunt, &me)
        .union(policy.receivable(
            Role::Transferpunt,
            &me,
            true,
            docs.phase(),
            docs.voorziening(),
        ))
}

/// Check every row: the validator's rules on each form and across the case's forms, the policy, the same client
/// twice (in the file, or already held by this node). `held` maps (BSN, key date) of the cases this node holds to
/// nothing but their presence.
pub(super) fn check_rows(
    node: &Node,
    place: &str,
    rows: Vec<ClientRow>,
    held: &BTreeMap<(String, String), ()>,
) -> Checks {
    let validator = policies::Validator::new(node.gemeenten(), node.clock_now().date());
    let mut out = Checks::default();
    let mut seen: BTreeMap<(String, String), u32> = BTreeMap::new();
    for client in rows {
        let mut problems = Vec::new();
        let mut docs = CaseDocuments::new();
        let mut forms = Vec::new();
        let at = |kind: DocumentKind, field: &str, message: String| {
            let origin = kind
                .field(field)
                .and_then(|f| client.origin.get(&(kind, f.name())));
            Problem {
                place: place.to_string(),
                row: Some(client.row),
                column: origin.map(|(h, _)| h.clone()),
                value: origin.map(|(_, v)| v.clone()).filter(|v| !v.is_empty()),
                // A field no column fed (a default of the import) is named as the form's field.
                message: match origin {
                    Some(_) => message,
                    None => format!("{kind}.{field}: {message}"),
                },
            }
        };
        let from_errors = |e: ValidationErrors, problems: &mut Vec<Problem>| {
            for err in e.0 {
                let reported = err
                    .document
                    .field(&err.field)
                    .is_some_and(|f| client.unreadable.contains(&(err.document, f.name())));
                if reported {
                    continue;
                }
                problems.push(at(
                    err.document,
                    &err.field,
                    format!("{} (regel {})", err.rule.message(), err.rule.code()),
                ));
            }
        };
        for (kind, json) in &client.forms {
            match validator.form(*kind, json) {
                Ok(form) => {
                    if let Err(e) = validator.in_case(&form, &docs) {
                        from_errors(e, &mut problems);
                    }
                    docs.insert(form.clone());
                    forms.push(form);
                }
                Err(e) => from_errors(e, &mut problems),
            }
        }
        if problems.is_empty() {
            let allowed = holdable(node, &docs);
            for form in &forms {
                for f in form.field_ids().filter(|f| !allowed.contains(*f)) {
                    problems.push(at(
                        f.document(),
                        f.name(),
                        format!(
                            "het beleid ({}) laat het Transferpunt dit veld niet bewaren",
                            node.policy().meta.version
                        ),
                    ));
                }
            }
        }
        if let (Some(bsn), Some((kind, field, date))) = (&client.bsn, &client.key_date) {
            let key = (bsn.clone(), format!("{kind}.{field}={date}"));
            if let Some(first) = seen.get(&key) {
                problems.push(at(
                    *kind,
                    field,
                    format!(
                        "deze cliënt staat met dezelfde datum ook in rij {first}; één rij per cliënt en traject"
                    ),
                ));
            } else if held.contains_key(&key) {
                problems.push(at(
                    *kind,
                    field,
                    "deze cliënt staat met dezelfde datum al in de node (eerder geïmporteerd, of via de federatie \
                     ontvangen); de rij zou dubbel tellen"
                        .into(),
                ));
            } else {
                seen.insert(key, client.row);
            }
        }
        if problems.is_empty() {
            out.valid.push(Checked {
                row: client.row,
                forms,
            });
        } else {
            out.invalid_rows.push(client.row);
            out.problems.append(&mut problems);
        }
    }
    out
}

/// The (BSN, key date) of every case this node holds, in the shape [`check_rows`] compares: a client imported
/// before, or received through the federation, is not imported again.
pub(super) async fn held_clients(
    node: &Node,
) -> Result<BTreeMap<(String, String), ()>, ServiceError> {
    let mut out = BTreeMap::new();
    for record in node.store().list_cases().await? {
        let loaded = node.load_case(&record.id).await?;
        let Some(bsn) = loaded
            .docs
            .first(DocumentKind::Registratie)
            .and_then(|r| r.text("bsn"))
        else {
            continue;
        };
        for (kind, field) in [
            (DocumentKind::Bemiddelingsverzoek, "datum_verzoek"),
            (DocumentKind::Plaatsing, "datum_mutatie"),
            (DocumentKind::Registratie, "start_verblijf_opvang"),
        ] {
            if let Some(d) = loaded.docs.first(kind).and_then(|f| f.date(field)) {
                let date = policies::form::format_date(d);
                out.insert((bsn.to_string(), format!("{kind}.{field}={date}")), ());
            }
        }
    }
    Ok(out)
}

/// Store the checked rows: a new case each, every form an Automerge document written by this node, every change
/// with its audit record (an import, field names only), all in one transaction. Returns the case of each row.
pub(super) async fn store_rows(
    node: &Node,
    user: &User,
    rows: &[Checked],
) -> Result<Vec<(u32, CaseId)>, ServiceError> {
    let start = node.clock_now();
    let version = node.policy().meta.version.clone();
    let mut cases = Vec::with_capacity(rows.len());
    let mut writes = Vec::new();
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let case = CaseId::random();
        for form in &row.forms {
            let mut am = doc::new_document(node.partner());
            doc::write_form(&mut am, form)?;
            doc::commit(&mut am, start.unix_timestamp());
            let Some(change) = Change::take(&mut am) else {
                continue;
            };
            let fields: Vec<_> = form.field_ids().collect();
            let entry = entry(node, user, &case, form.kind(), &fields, start, &version);
            writes.push((DocKey::single(case.clone(), form.kind()), change, entry));
        }
        out.push((row.row, case.clone()));
        cases.push(case);
    }
    node.store()
        .create_cases_with_documents(&cases, &writes)
        .await?;
    for case in &cases {
        node.notify_changed(case);
    }
    Ok(out)
}

fn entry(
    node: &Node,
    user: &User,
    case: &CaseId,
    kind: DocumentKind,
    fields: &[policies::FieldId],
    start: OffsetDateTime,
    version: &str,
) -> AuditEntry {
    AuditEntry::new(Operation::Import, ACTIVITY, PURPOSE, start)
        .ended(node.clock_now())
        .case(
            case.as_str(),
            node.pseudonymiser().data_subject_id(case.as_str()),
        )
        .user(Some(user.id.clone()))
        .document(Some(kind.name().into()))
        .fields(fields)
        .policy_version(version)
}
