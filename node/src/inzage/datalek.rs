//! The datalek report (Afspraak 8d; AVG art. 33-34): from the disclosure log, which data subjects' which fields
//! went to whom in a window — the list the privacy officer needs within 72 hours of an incident at a partner.
//!
//! Subjects are named as the log names them, pseudonymised (`data_subject_id`); the privacy officer resolves
//! them here, locally, to the case ids this node holds (each pseudonym is checked by recomputing it under the
//! node's key) and, if asked, to the names in the registratie this node holds. The report itself is recorded in
//! the audit log (field names only).

use std::collections::{BTreeMap, BTreeSet};

use policies::{DocumentKind, FieldId};
use serde::Serialize;
use time::{Date, OffsetDateTime};

use crate::audit::{AuditEntry, Operation};
use crate::service::Node;
use crate::store::{CaseId, User};

/// The processing activity a datalek report is recorded under.
pub const ACTIVITY_DATALEK: &str = "avg.art33.datalek";

/// What to report on.
#[derive(Debug, Clone, Serialize)]
pub struct Filter {
    /// The partner that received (`corporatie:elkien`); `None`: every partner.
    pub partner: Option<String>,
    /// From this day (UTC, inclusive).
    pub van: Date,
    /// To this day (UTC, inclusive).
    pub tot: Date,
    /// Only this field (`document.veld`).
    pub veld: Option<String>,
    /// Only this case.
    pub casus: Option<String>,
}

/// One field disclosed to one partner about one subject: the report's unit (a row of the CSV).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Regel {
    /// The audit log entry.
    pub volgnummer: u64,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub tijdstip: OffsetDateTime,
    /// To whom.
    pub ontvanger: String,
    /// The data subject, pseudonymised as in the log.
    pub betrokkene: String,
    /// The case this node holds for it (resolved locally), if it still holds it.
    pub casus: Option<String>,
    /// Which document or projection.
    pub document: Option<String>,
    /// The field (`document.veld`).
    pub veld: String,
    /// Under which flows (the entry's processing activity).
    pub stromen: String,
}

/// One data subject in the window: which fields went to whom.
#[derive(Debug, Clone, Serialize)]
pub struct Betrokkene {
    /// The pseudonym.
    pub betrokkene: String,
    /// The case this node holds for it.
    pub casus: Option<String>,
    /// The name in the registratie this node holds (only when asked for).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub naam: Option<String>,
    /// Per receiving partner, the fields it received.
    pub ontvangen_door: BTreeMap<String, BTreeSet<String>>,
}

/// A datalek report.
#[derive(Debug, Clone, Serialize)]
pub struct Datalek {
    /// This node.
    pub partner: String,
    /// When made.
    #[serde(with = "time::serde::rfc3339")]
    pub gemaakt_op: OffsetDateTime,
    /// The filter.
    pub filter: Filter,
    /// How many disclosures (audit entries) matched.
    pub verstrekkingen: usize,
    /// Every field disclosed, one row each.
    pub regels: Vec<Regel>,
    /// Per subject.
    pub betrokkenen: Vec<Betrokkene>,
}

/// Make the report, and record that it was made. `names`: also look up each subject's name in the registratie
/// this node holds (for the privacy officer's own use; the log records only that names were shown).
pub async fn datalek(
    node: &Node,
    user: Option<&User>,
    filter: Filter,
    names: bool,
) -> Result<Datalek, super::InzageError> {
    let start = node.clock_now();
    let log = super::audit_entries(node.store()).await?;
    let mut regels = Vec::new();
    let mut verstrekkingen = 0;
    let mut resolved: BTreeMap<String, Option<String>> = BTreeMap::new();
    for e in &log {
        let a = &e.entry;
        if !super::is_disclosure(a) {
            continue;
        }
        let peer = a.peer.clone().unwrap_or_default();
        let day = a.start_time.to_offset(time::UtcOffset::UTC).date();
        if filter.partner.as_ref().is_some_and(|p| *p != peer)
            || day < filter.van
            || day > filter.tot
        {
            continue;
        }
        if filter.casus.is_some() && a.case_id != filter.casus {
            continue;
        }
        let Some(subject) = a.data_subject_id.clone() else {
            continue;
        };
        let fields: Vec<&String> = a
            .fields
            .iter()
            .filter(|f| filter.veld.as_ref().is_none_or(|v| v == *f))
            .collect();
        if fields.is_empty() {
            continue;
        }
        verstrekkingen += 1;
        // Resolve the pseudonym locally: the entry's case, if the pseudonym is that case's under this node's key
        // and the node still holds it.
        if !resolved.contains_key(&subject) {
            let mut casus = None;
            if let Some(c) = a.case_id.as_deref().and_then(|c| c.parse::<CaseId>().ok())
                && node.pseudonymiser().data_subject_id(c.as_str()) == subject
                && node.store().get_case(&c).await?.is_some()
            {
                casus = Some(c.to_string());
            }
            resolved.insert(subject.clone(), casus);
        }
        for f in fields {
            regels.push(Regel {
                volgnummer: e.seq,
                tijdstip: a.start_time,
                ontvanger: peer.clone(),
                betrokkene: subject.clone(),
                casus: resolved[&subject].clone(),
                document: a.document.clone(),
                veld: f.clone(),
                stromen: a.processing_activity_id.clone(),
            });
        }
    }
    let mut by_subject: BTreeMap<String, Betrokkene> = BTreeMap::new();
    for r in &regels {
        let b = by_subject
            .entry(r.betrokkene.clone())
            .or_insert_with(|| Betrokkene {
                betrokkene: r.betrokkene.clone(),
                casus: r.casus.clone(),
                naam: None,
                ontvangen_door: BTreeMap::new(),
            });
        b.ontvangen_door
            .entry(r.ontvanger.clone())
            .or_default()
            .insert(r.veld.clone());
    }
    if names {
        for b in by_subject.values_mut() {
            let Some(case) = b.casus.as_deref().and_then(|c| c.parse::<CaseId>().ok()) else {
                continue;
            };
            if let Ok(loaded) = node.load_case(&case).await {
                b.naam = loaded
                    .docs
                    .first(DocumentKind::Registratie)
                    .and_then(|f| f.text("achternaam_voorletters"))
                    .map(str::to_string);
            }
        }
    }
    let mut fields: Vec<FieldId> = regels
        .iter()
        .filter_map(|r| FieldId::parse(&r.veld))
        .collect();
    if names {
        fields.extend(FieldId::parse("registratie.achternaam_voorletters"));
    }
    fields.sort();
    fields.dedup();
    let entry = AuditEntry::new(
        Operation::Read,
        ACTIVITY_DATALEK,
        "datalek: welke gegevens gingen naar wie (Afspraak 8d)",
        start,
    )
    .ended(node.clock_now())
    .user(user.map(|u| u.id.clone()))
    .fields(&fields);
    let entry = match &filter.partner {
        Some(p) => entry.peer(p),
        None => entry,
    };
    node.store().append_audit(&entry).await?;
    Ok(Datalek {
        partner: node.partner().to_string(),
        gemaakt_op: start,
        filter,
        verstrekkingen,
        regels,
        betrokkenen: by_subject.into_values().collect(),
    })
}

/// One CSV field (RFC 4180: quoted when it holds a comma, quote or line break).
fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// The rows as CSV (one disclosed field per row).
pub fn csv(d: &Datalek) -> String {
    let mut out =
        String::from("volgnummer,tijdstip,ontvanger,betrokkene,casus,document,veld,stromen\r\n");
    for r in &d.regels {
        let t = r
            .tijdstip
            .format(&time::format_description::well_known::Rfc3339)
            .unwrap_or_default();
        let row = [
            r.volgnummer.to_string(),
            t,
            r.ontvanger.clone(),
            r.betrokkene.clone(),
            r.casus.clone().unwrap_or_default(),
            r.document.clone().unwrap_or_default(),
            r.veld.clone(),
            r.stromen.clone(),
        ];
        out.push_str(
            &row.iter()
                .map(|f| csv_field(f))
                .collect::<Vec<_>>()
                .join(","),
        );
        out.push_str("\r\n");
    }
    out
}

/// The report in Dutch (Markdown: readable as text, and as a page).
pub fn markdown(d: &Datalek) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(s, "# Datalek: verstrekte gegevens\n");
    let _ = writeln!(
        s,
        "Node {}, gemaakt op {}. Venster {} tot en met {}{}{}{}.\n",
        d.partner,
        d.gemaakt_op.date(),
        d.filter.van,
        d.filter.tot,
        d.filter
            .partner
            .as_ref()
            .map(|p| format!(", ontvanger {p}"))
            .unwrap_or_default(),
        d.filter
            .veld
            .as_ref()
            .map(|v| format!(", veld {v}"))
            .unwrap_or_default(),
        d.filter
            .casus
            .as_ref()
            .map(|c| format!(", casus {c}"))
            .unwrap_or_default(),
    );
    let _ = writeln!(
        s,
        "{} verstrekkingen, {} verstrekte gegevens, {} betrokkenen.\n",
        d.verstrekkingen,
        d.regels.len(),
        d.betrokkenen.len()
    );
    for b in &d.betrokkenen {
        let _ = writeln!(
            s,
            "## Betrokkene {}\n\nCasus: {}{}\n",
            &b.betrokkene[..b.betrokkene.len().min(16)],
            b.casus.as_deref().unwrap_or("(niet meer bij deze node)"),
            b.naam
                .as_ref()
                .map(|n| format!(", naam: {n}"))
                .unwrap_or_default()
        );
        for (peer, fields) in &b.ontvangen_door {
            let _ = writeln!(
                s,
                "- {peer}: {}",
                fields.iter().cloned().collect::<Vec<_>>().join(", ")
            );
        }
        let _ = writeln!(s);
    }
    s
}
