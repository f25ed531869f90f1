//! Inzage (AVG art. 15, issue #13): everything this node holds about a person, and every disclosure it made
//! about them — as a Dutch report a person can read (`render`) and as JSON — plus the federated inzage
//! (`verzoek`: signed requests to the partners that received data) and the datalek report (`datalek`, Afspraak
//! 8d: which subjects' fields went to whom in a window).
//!
//! The person is found by BSN through the keyed-hash index (`crate::bsn_index`), or by case id (how a partner's
//! inzageverzoek names the person: the federation's case id, never the BSN). The report holds values — it is for
//! the person — but the inzage is recorded in the audit log with field names only, like every other processing.

pub mod datalek;
pub mod render;
pub mod verzoek;

use std::collections::{BTreeMap, BTreeSet};

use policies::bsn::Bsn;
use policies::{DocumentKind, FieldId, PartnerId, Policy};
use serde::Serialize;
use serde_json::Value as Json;
use time::OffsetDateTime;

use crate::audit::{AuditEntry, Operation, Status, StoredEntry};
use crate::service::{Node, ServiceError};
use crate::store::{CaseId, Store, StoreError, User};

/// The processing activity an inzage is recorded under.
pub const ACTIVITY_INZAGE: &str = "avg.art15.inzage";
/// The purpose recorded for an inzage.
pub const PURPOSE_INZAGE: &str = "inzageverzoek van de betrokkene (AVG art. 15)";

/// Whom an inzage is about.
#[derive(Debug, Clone)]
pub enum Subject {
    /// The person with this BSN (looked up in the BSN index).
    Bsn(Bsn),
    /// One case (a partner's inzageverzoek names the case, not the BSN).
    Case(CaseId),
}

/// A flow of the policy, as the report names it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Stroom {
    /// The flow's name in the policy.
    pub naam: String,
    /// Its purpose (doelbinding), if the policy in force still has it.
    pub doel: Option<String>,
    /// Its basis in law or covenant.
    pub grondslag: Option<String>,
}

impl Stroom {
    fn of(policy: &Policy, name: &str) -> Stroom {
        let flow = policy.flows.iter().find(|f| f.name == name);
        Stroom {
            naam: name.to_string(),
            doel: flow.map(|f| f.purpose.clone()),
            grondslag: flow.map(|f| f.basis.clone()),
        }
    }
}

/// One field with its value, as held.
#[derive(Debug, Clone, Serialize)]
pub struct Veld {
    /// `document.veld`.
    pub veld: String,
    /// The label on the form.
    pub omschrijving: String,
    /// The value as held, in words (lists and groups as JSON).
    pub waarde: String,
    /// For a received field: the flow it was sent under (as the sender's declared facts and this node's
    /// policy decide it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stroom: Option<String>,
}

/// A form document this node holds whole.
#[derive(Debug, Clone, Serialize)]
pub struct Formulier {
    /// The document (`registratie`, `reactie/corporatie:elkien`).
    pub document: String,
    /// Who wrote in it: this node's partner and any partner it shares the document with.
    pub geschreven_door: Vec<String>,
    /// Its fields.
    pub velden: Vec<Veld>,
}

/// What a partner projected to this node.
#[derive(Debug, Clone, Serialize)]
pub struct Ontvangen {
    /// The sender.
    pub afzender: String,
    /// The section (`registratie`, `aanmeldbericht/corporatie:elkien`).
    pub document: String,
    /// Its fields, each with its flow.
    pub velden: Vec<Veld>,
    /// The flows it came under.
    pub stromen: Vec<Stroom>,
}

/// One disclosure of this node to a partner, from the audit log.
#[derive(Debug, Clone, Serialize)]
pub struct Verstrekking {
    /// Its position in the audit log.
    pub volgnummer: u64,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub tijdstip: OffsetDateTime,
    /// To whom.
    pub ontvanger: String,
    /// Which document or projection.
    pub document: Option<String>,
    /// Which fields (names).
    pub velden: Vec<String>,
    /// Under which flows, with purpose and basis.
    pub stromen: Vec<Stroom>,
    /// The purpose recorded.
    pub doel: String,
    /// The policy version.
    pub beleid: Option<String>,
}

/// One receipt from a partner, from the audit log.
#[derive(Debug, Clone, Serialize)]
pub struct Ontvangst {
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub tijdstip: OffsetDateTime,
    /// From whom.
    pub afzender: String,
    /// Which document or projection.
    pub document: Option<String>,
    /// Which fields (names).
    pub velden: Vec<String>,
    /// What happened (`projectie ontvangen`).
    pub handeling: String,
}

/// Everything about one case.
#[derive(Debug, Clone, Serialize)]
pub struct Casus {
    /// The case id.
    pub casus: String,
    /// When this node first held it.
    #[serde(with = "time::serde::rfc3339")]
    pub sinds: OffsetDateTime,
    /// The forms this node holds whole.
    pub formulieren: Vec<Formulier>,
    /// What partners projected to it.
    pub ontvangen: Vec<Ontvangen>,
    /// Receipts recorded in the audit log.
    pub ontvangsten: Vec<Ontvangst>,
    /// Disclosures recorded in the audit log.
    pub verstrekkingen: Vec<Verstrekking>,
    /// The partners that received data about the person from this node.
    pub ontvangers: Vec<String>,
}

/// An inzage report.
#[derive(Debug, Clone, Serialize)]
pub struct Rapport {
    /// The node (its partner id).
    pub partner: String,
    /// When the report was made.
    #[serde(with = "time::serde::rfc3339")]
    pub gemaakt_op: OffsetDateTime,
    /// How the person was found (`bsn` or `casus`).
    pub gezocht_op: String,
    /// The policy version in force.
    pub beleid: String,
    /// Every case this node holds about the person.
    pub casussen: Vec<Casus>,
    /// Every partner that received data about the person from this node (the federated inzage's addressees).
    pub ontvangers: Vec<String>,
}

/// Why an inzage failed.
#[derive(Debug, thiserror::Error)]
pub enum InzageError {
    /// Reading what the node holds failed.
    #[error(transparent)]
    Service(#[from] ServiceError),
    /// The database failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The inzage could not be recorded in the audit log, so it is not given.
    #[error("the inzage could not be recorded in the audit log, so it is not given: {0}")]
    Audit(#[from] crate::store::WriteError),
}

/// Every entry of the audit log, parsed (entries that do not parse are skipped: [`crate::audit::verify`] is
/// the place that reports them).
pub async fn audit_entries(store: &Store) -> Result<Vec<StoredEntry>, StoreError> {
    let mut out = Vec::new();
    let mut after = 0;
    loop {
        let batch = store.audit_records(after, 1000).await?;
        let Some(last) = batch.last() else { break };
        after = last.seq;
        out.extend(batch.iter().filter_map(|r| r.parse().ok()));
    }
    Ok(out)
}

/// The flow names a disclosure entry records (its processing activity: flows joined by `"; "`).
pub fn flows_of(entry: &AuditEntry) -> Vec<String> {
    entry
        .processing_activity_id
        .split("; ")
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// A disclosure that carried fields: what an inzage and a datalek report count.
pub fn is_disclosure(entry: &AuditEntry) -> bool {
    entry.name == Operation::Disclosure && entry.status_code == Status::Ok && entry.peer.is_some()
}

fn value_text(v: &Json) -> String {
    match v {
        Json::String(s) => s.clone(),
        Json::Bool(true) => "ja".into(),
        Json::Bool(false) => "nee".into(),
        other => other.to_string(),
    }
}

fn velden(kind: DocumentKind, json: &Json, flows: &BTreeMap<FieldId, String>) -> Vec<Veld> {
    kind.fields()
        .filter_map(|f| {
            let v = json.get(f.name())?;
            if v.is_null() {
                return None;
            }
            Some(Veld {
                veld: f.qualified_name(),
                omschrijving: f.spec().label.to_string(),
                waarde: value_text(v),
                stroom: flows.get(&f).cloned(),
            })
        })
        .collect()
}

/// Make the inzage report about `subject`, and record it in the audit log (one entry per case, field names
/// only; without a case found, one entry without a subject). `user`: who asked (`None`: the command line).
pub async fn inzage(
    node: &Node,
    user: Option<&User>,
    subject: &Subject,
) -> Result<Rapport, InzageError> {
    let start = node.clock_now();
    let cases = match subject {
        Subject::Bsn(bsn) => node.cases_by_bsn(bsn).await?,
        Subject::Case(id) => match node.store().get_case(id).await? {
            Some(_) => vec![id.clone()],
            None => Vec::new(),
        },
    };
    let log = audit_entries(node.store()).await?;
    let mut casussen = Vec::new();
    for case in &cases {
        casussen.push(case_report(node, case, &log).await?);
    }
    let ontvangers: BTreeSet<String> = casussen
        .iter()
        .flat_map(|c| c.ontvangers.iter().cloned())
        .collect();
    let policy = node.policy();
    // Recorded before it is given: an inzage whose record cannot be stored is not given (fail closed).
    let activity = ACTIVITY_INZAGE;
    let base = AuditEntry::new(
        Operation::DataSubjectRequest,
        activity,
        PURPOSE_INZAGE,
        start,
    )
    .ended(node.clock_now())
    .user(user.map(|u| u.id.clone()))
    .policy_version(&policy.meta.version);
    if casussen.is_empty() {
        node.store().append_audit(&base).await?;
    }
    for c in &casussen {
        let mut fields: Vec<FieldId> = c
            .formulieren
            .iter()
            .flat_map(|f| &f.velden)
            .chain(c.ontvangen.iter().flat_map(|o| &o.velden))
            .filter_map(|v| FieldId::parse(&v.veld))
            .collect();
        fields.sort();
        fields.dedup();
        let entry = base
            .clone()
            .fields(&fields)
            .case(&c.casus, node.pseudonymiser().data_subject_id(&c.casus));
        node.store().append_audit(&entry).await?;
    }
    Ok(Rapport {
        partner: node.partner().to_string(),
        gemaakt_op: start,
        gezocht_op: match subject {
            Subject::Bsn(_) => "bsn".into(),
            Subject::Case(_) => "casus".into(),
        },
        beleid: policy.meta.version.clone(),
        casussen,
        ontvangers: ontvangers.into_iter().collect(),
    })
}

async fn case_report(
    node: &Node,
    case: &CaseId,
    log: &[StoredEntry],
) -> Result<Casus, InzageError> {
    let policy = node.policy();
    let me = node.partner().clone();
    let sinds = node
        .store()
        .get_case(case)
        .await?
        .map_or(node.clock_now(), |r| r.created_at);
    let entries: Vec<&StoredEntry> = log
        .iter()
        .filter(|e| e.entry.case_id.as_deref() == Some(case.as_str()))
        .collect();

    // Partners that may have written in a document held whole: this node and every partner it exchanged
    // anything about the case with.
    let mut partners: BTreeSet<PartnerId> = [me.clone()].into();
    partners.extend(
        entries
            .iter()
            .filter_map(|e| e.entry.peer.as_deref())
            .filter_map(|p| p.parse().ok()),
    );
    let projections = node.store().projections_of_case(case).await?;
    partners.extend(projections.iter().filter_map(|p| p.sender.parse().ok()));
    let by_actor: BTreeMap<automerge::ActorId, String> = partners
        .iter()
        .map(|p| (crate::doc::actor_for(p), p.to_string()))
        .collect();

    let mut formulieren = Vec::new();
    for meta in node.store().list_documents(case).await? {
        let Some(stored) = node.store().load_document(&meta.key).await? else {
            continue;
        };
        let mut am = stored.to_automerge(&me).map_err(ServiceError::Document)?;
        let json = crate::doc::read_json(&am).map_err(ServiceError::Document)?;
        let (authors, _) = crate::case::authors_of(&mut am, meta.key.kind);
        let geschreven_door = authors
            .keys()
            .map(|a| {
                by_actor
                    .get(a)
                    .cloned()
                    .unwrap_or_else(|| "een andere partner".into())
            })
            .collect::<BTreeSet<_>>()
            .into_iter()
            .collect();
        formulieren.push(Formulier {
            document: crate::projection::section_name(meta.key.kind, &meta.key.instance),
            geschreven_door,
            velden: velden(meta.key.kind, &json, &BTreeMap::new()),
        });
    }

    let validator = policies::Validator::new(node.gemeenten(), node.clock_now().date());
    let mut ontvangen = Vec::new();
    for p in projections
        .iter()
        .filter(|p| p.receiver == me.to_string() && !p.retired)
    {
        let Ok(sender) = p.sender.parse::<PartnerId>() else {
            continue;
        };
        let am = crate::doc::load(&p.snapshot, []).map_err(ServiceError::Document)?;
        let content = crate::projection::read(&am, &validator);
        // The flow of each field: the policy over the facts the sender declared it sent under.
        let flows: BTreeMap<FieldId, String> = match &content.meta {
            Some(meta) => policy
                .allowed_fields(&meta.facts(&sender, &me), &sender, &me)
                .into_iter()
                .map(|a| (a.field, policy.flows[a.flow].name.clone()))
                .collect(),
            None => BTreeMap::new(),
        };
        for (section, form) in &content.forms {
            let vs = velden(form.kind(), &form.to_json(), &flows);
            let names: BTreeSet<&String> = vs.iter().filter_map(|v| v.stroom.as_ref()).collect();
            ontvangen.push(Ontvangen {
                afzender: p.sender.clone(),
                document: section.clone(),
                stromen: names.into_iter().map(|n| Stroom::of(&policy, n)).collect(),
                velden: vs,
            });
        }
    }

    let mut ontvangsten = Vec::new();
    let mut verstrekkingen = Vec::new();
    let mut ontvangers = BTreeSet::new();
    for e in &entries {
        let a = &e.entry;
        if is_disclosure(a) {
            let peer = a.peer.clone().unwrap_or_default();
            ontvangers.insert(peer.clone());
            verstrekkingen.push(Verstrekking {
                volgnummer: e.seq,
                tijdstip: a.start_time,
                ontvanger: peer,
                document: a.document.clone(),
                velden: a.fields.clone(),
                stromen: flows_of(a).iter().map(|n| Stroom::of(&policy, n)).collect(),
                doel: a.purpose.clone(),
                beleid: a.policy_version.clone(),
            });
        } else if a.name == Operation::Receipt && a.status_code == Status::Ok {
            ontvangsten.push(Ontvangst {
                tijdstip: a.start_time,
                afzender: a.peer.clone().unwrap_or_default(),
                document: a.document.clone(),
                velden: a.fields.clone(),
                handeling: a.processing_activity_id.clone(),
            });
        }
    }
    Ok(Casus {
        casus: case.to_string(),
        sinds,
        formulieren,
        ontvangen,
        ontvangsten,
        verstrekkingen,
        ontvangers: ontvangers.into_iter().collect(),
    })
}
