//! This node's register of processing activities (AVG art. 30; the Logboek's "Register" component): every
//! activity an audit entry can name, with its name, purpose and legal basis, and the URI the Logboek's
//! `dpl.core.processing_activity_id` carries for it.
//!
//! The activities are the policy's flows this node's role sends under (a disclosure names its flow), the local
//! API's purpose, the federation's receipts and refusals, and the node's own activities (inzage, datalek,
//! erasure, import, policy decisions, sign-ins). [`activity_id`] maps what a stored entry says (its operation and
//! `processing_activity_id`) to the register's id: a total function, so every entry — also one written before the
//! register existed — resolves to exactly one activity. Entries keep the register's **identifier**; the **URI** is
//! `<this node's entity URI>/verwerkingsactiviteiten/<id>` ([`activity_uri`]), served at
//! `GET /api/v1/verwerkingsactiviteiten/<id>` and written into the OTLP export.
//!
//! The shape follows the Logius register OpenAPI (`media/rvva-openapi.json` in
//! Logius-standaarden/logboek-dataverwerkingen): `id`, `active`, `name`, `purpose`, `legalBasis`,
//! `processingOptions` (DPV processing operations), `version`, `validFrom`.
//!
//! **Architecture invariant:** pure — no I/O, no clock; the caller passes the policies.

use std::collections::BTreeMap;

use policies::{PartnerId, Policy};
use serde::Serialize;

use crate::audit::Operation;

/// Where the register lives under an entity URI, and under `/api/v1`.
pub const PATH: &str = "verwerkingsactiviteiten";

/// The prefix of a flow's id: `stroom.<flow name as a slug>`.
const FLOW_PREFIX: &str = "stroom.";

/// One processing activity, as served.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Activity {
    /// The register's identifier (`stroom.aanmeldbericht-naar-de-toegewezen-corporatie`, `api.v1`).
    pub id: String,
    /// The URI audit entries name it by (`dpl.core.processing_activity_id`).
    pub uri: String,
    /// Whether the policy in force still has it (a flow of an earlier version is kept, inactive, so older
    /// entries still resolve).
    pub active: bool,
    /// Its name.
    pub name: String,
    /// Why (doelbinding).
    pub purpose: String,
    /// The legal or covenant basis, in the policy's words.
    pub legal_basis: Vec<String>,
    /// What is done, as DPV processing operations (`Disclose`, `Obtain`, `Use`, …).
    pub processing_options: Vec<&'static str>,
    /// The policy version its description comes from (`None` for the node's own activities, fixed in code).
    pub version: Option<String>,
    /// When that version took effect (`YYYY-MM-DD`).
    pub valid_from: Option<String>,
}

/// The register of one node.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Register {
    activities: BTreeMap<String, Activity>,
}

impl Register {
    /// The register of node `me` under the policy in force `current`; `earlier` are the other policy versions
    /// this node knows (their flows stay, inactive, so entries made under them resolve).
    pub fn build(me: &PartnerId, current: &Policy, earlier: &[Policy]) -> Register {
        let entity = crate::audit::entity_uri(me);
        let mut activities = BTreeMap::new();
        let mut add = |a: Activity| {
            activities.entry(a.id.clone()).or_insert(a);
        };
        let role = me.role();
        for (policy, active) in
            std::iter::once((current, true)).chain(earlier.iter().map(|p| (p, false)))
        {
            for flow in policy.flows.iter().filter(|f| f.from == role) {
                let id = flow_id(&flow.name);
                add(Activity {
                    uri: activity_uri(&entity, &id),
                    id,
                    active,
                    name: flow.name.clone(),
                    purpose: flow.purpose.clone(),
                    legal_basis: vec![flow.basis.clone()],
                    processing_options: vec!["Disclose", "Transfer"],
                    version: Some(policy.meta.version.clone()),
                    valid_from: Some(policy.meta.effective_from.to_string()),
                });
            }
        }
        let version = Some(current.meta.version.clone());
        let valid_from = Some(current.meta.effective_from.to_string());
        let write_bases = bases(
            current
                .writes
                .iter()
                .filter(|w| w.role == role)
                .map(|w| &w.basis),
        );
        let receive_bases = bases(
            current
                .flows
                .iter()
                .filter(|f| f.to == role)
                .map(|f| &f.basis),
        );
        let from_policy =
            |id: &str, name: &str, purpose: &str, basis: Vec<String>, ops: Vec<&'static str>| {
                Activity {
                    id: id.into(),
                    uri: activity_uri(&entity, id),
                    active: true,
                    name: name.into(),
                    purpose: purpose.into(),
                    legal_basis: basis,
                    processing_options: ops,
                    version: version.clone(),
                    valid_from: valid_from.clone(),
                }
            };
        add(from_policy(
            API,
            "lezen en vastleggen via de werkplek, de lokale API en de CLI",
            crate::service::PURPOSE_API,
            write_bases.clone(),
            vec!["Obtain", "Store", "Use"],
        ));
        add(from_policy(
            SHARED_DOCUMENT,
            "gezamenlijk document terug naar een mede-schrijver",
            "een document dat partners samen invullen, bij elk van hen gelijk houden",
            write_bases,
            vec!["Disclose", "Transfer"],
        ));
        add(from_policy(
            RECEIPT,
            "ontvangst van een partner",
            "gegevens die een partner volgens het convenantbeleid aan deze node verstrekt, ontvangen en bewaren",
            receive_bases,
            vec!["Obtain", "Store"],
        ));
        for (id, name, purpose, basis, ops) in OWN {
            add(Activity {
                id: (*id).into(),
                uri: activity_uri(&entity, id),
                active: true,
                name: (*name).into(),
                purpose: (*purpose).into(),
                legal_basis: vec![(*basis).into()],
                processing_options: ops.to_vec(),
                version: None,
                valid_from: None,
            });
        }
        Register { activities }
    }

    /// Every activity, by id.
    pub fn activities(&self) -> impl Iterator<Item = &Activity> {
        self.activities.values()
    }

    /// One activity.
    pub fn get(&self, id: &str) -> Option<&Activity> {
        self.activities.get(id)
    }

    /// The activity a stored entry names ([`activity_id`]). `None` only for a disclosure under a flow no policy
    /// this node knows has (its policy text lost).
    pub fn resolve(&self, operation: Operation, processing_activity_id: &str) -> Option<&Activity> {
        self.get(&activity_id(operation, processing_activity_id))
    }
}

/// The local API (werkplek, API, CLI): reads and writes of this node's own cases.
pub const API: &str = "api.v1";
/// A document partners write together, sent back to a co-writer: no flow needed.
pub const SHARED_DOCUMENT: &str = "federatie.gezamenlijk-document";
/// What a partner sent, received.
pub const RECEIPT: &str = "federatie.ontvangst";
/// What a partner sent, refused (a security event).
pub const REFUSAL: &str = "federatie.weigering";

/// The node's own activities, fixed in code: id, name, purpose, basis, DPV operations.
type Own = (
    &'static str,
    &'static str,
    &'static str,
    &'static str,
    &'static [&'static str],
);
const OWN: &[Own] = &[
    (
        REFUSAL,
        "weigering van wat een partner stuurde",
        "niets bewaren wat het convenantbeleid deze node niet toestaat te ontvangen; het voorval vastleggen",
        "AVG art. 5(1)(c) en 32 (minimale gegevensverwerking, beveiliging)",
        &["Obtain", "Remove"],
    ),
    (
        crate::inzage::ACTIVITY_INZAGE,
        "inzage door de betrokkene",
        crate::inzage::PURPOSE_INZAGE,
        "AVG art. 15",
        &["Use", "Disclose"],
    ),
    (
        crate::inzage::verzoek::ACTIVITY_SENT,
        "inzageverzoek aan een partner verzonden",
        crate::inzage::PURPOSE_INZAGE,
        "AVG art. 15 en 19",
        &["Transfer"],
    ),
    (
        crate::inzage::verzoek::ACTIVITY_RECEIVED,
        "inzageverzoek van een partner ontvangen",
        crate::inzage::PURPOSE_INZAGE,
        "AVG art. 15 en 19",
        &["Obtain"],
    ),
    (
        crate::inzage::verzoek::ACTIVITY_HANDLED,
        "inzageverzoek van een partner afgehandeld",
        crate::inzage::PURPOSE_INZAGE,
        "AVG art. 15 en 19",
        &["Use"],
    ),
    (
        crate::inzage::datalek::ACTIVITY_DATALEK,
        "datalekrapport",
        "datalek: welke gegevens gingen naar wie (Afspraak 8d)",
        "AVG art. 33 en 34; Afspraak 8d",
        &["Use"],
    ),
    (
        ERASURE,
        "wissen van een casus (vergetelheid)",
        "het recht op vergetelheid van de betrokkene uitvoeren en de ontvangers inlichten",
        "AVG art. 17 en 19",
        &["Remove", "Disclose"],
    ),
    (
        RECTIFICATION,
        "rectificatie (correctie uit elke geschiedenis)",
        "een onjuist gegeven corrigeren, ook in de opgeslagen geschiedenis, en de ontvangers inlichten",
        "AVG art. 16 en 19",
        &["Transform", "Remove", "Disclose"],
    ),
    (
        SPECIAL_DISCLOSURE,
        "bijzondere verstrekking buiten de gegevensstromen",
        "gegevens verstrekken in een noodsituatie of om aan een wettelijke plicht te voldoen, na besluit van de privacyfunctionaris",
        "Convenant Weer Thuis Friesland, Afspraak 8f",
        &["Disclose"],
    ),
    (
        crate::huurdermelding::ACTIVITY,
        "huurdermelding van een corporatie aan het Transferpunt",
        crate::huurdermelding::PURPOSE,
        "Convenant Weer Thuis Friesland, Bijlage 2 (rol Transferpunt); Afspraak 7a en 7c",
        &["Transfer", "Obtain"],
    ),
    (
        crate::import::ACTIVITY,
        "overname van de Excel-uitstroommonitor",
        crate::import::PURPOSE,
        "Convenant Weer Thuis Friesland, Bijlage 3 (registratie en monitoring)",
        &["Obtain", "Store"],
    ),
    (
        POLICY_DECISION,
        "besluit over het convenantbeleid",
        "vastleggen welke beleidsversie in werking is en wie een verruiming aanvaardde",
        "AVG art. 5(2) (verantwoordingsplicht)",
        &["Use"],
    ),
    (
        AUTHENTICATION,
        "aanmelden bij de werkplek",
        "toegang tot de werkplek (BIO 9.4)",
        "BIO 9.4 en 12.4 (toegangsbeveiliging en logging)",
        &["Use"],
    ),
    (
        DATA_SUBJECT_REQUEST,
        "verzoek van de betrokkene",
        "een verzoek van de betrokkene onder de AVG afhandelen",
        "AVG art. 12 tot en met 22",
        &["Use"],
    ),
];

/// An erasure.
const ERASURE: &str = "avg.art17";
/// A rectification.
const RECTIFICATION: &str = "avg.art16";
/// A disclosure outside the flows (Afspraak 8f).
const SPECIAL_DISCLOSURE: &str = "afspraak8f";
/// A decision about the policy.
const POLICY_DECISION: &str = "beleid";
/// A sign-in or sign-out.
const AUTHENTICATION: &str = "werkplek.toegang";
/// A data subject's request not otherwise named.
const DATA_SUBJECT_REQUEST: &str = "avg.verzoek";

/// The register id of what a stored entry names: its operation and `processing_activity_id` (a disclosure's
/// flows, `; `-separated, or the activity's own name). Total: anything not named specifically falls to its
/// operation's activity. A disclosure under several flows names the first (the entry keeps them all).
pub fn activity_id(operation: Operation, processing_activity_id: &str) -> String {
    let named = |id: &str| OWN.iter().any(|o| o.0 == id) || id == API;
    match operation {
        Operation::Disclosure | Operation::SpecialDisclosure
            if processing_activity_id == crate::bijzonder::ACTIVITY =>
        {
            SPECIAL_DISCLOSURE.into()
        }
        Operation::Disclosure | Operation::Receipt
            if processing_activity_id == crate::huurdermelding::ACTIVITY =>
        {
            processing_activity_id.into()
        }
        Operation::Disclosure => match processing_activity_id.split("; ").next() {
            Some("gezamenlijk document") | None | Some("") => SHARED_DOCUMENT.into(),
            Some(flow) => flow_id(flow),
        },
        Operation::Receipt => RECEIPT.into(),
        Operation::Refusal => REFUSAL.into(),
        Operation::Erasure => ERASURE.into(),
        Operation::Rectification => RECTIFICATION.into(),
        Operation::Import => crate::import::ACTIVITY.into(),
        Operation::PolicyDecision => POLICY_DECISION.into(),
        Operation::Authentication => AUTHENTICATION.into(),
        Operation::DataSubjectRequest if named(processing_activity_id) => {
            processing_activity_id.into()
        }
        Operation::DataSubjectRequest => DATA_SUBJECT_REQUEST.into(),
        Operation::Read | Operation::Write if named(processing_activity_id) => {
            processing_activity_id.into()
        }
        _ => API.into(),
    }
}

/// The URI of activity `id` in the register of the node with entity URI `entity`.
pub fn activity_uri(entity: &str, id: &str) -> String {
    format!("{entity}/{PATH}/{id}")
}

/// A flow's id: `stroom.` and its name in lowercase ASCII letters and digits, other characters as `-`.
pub fn flow_id(name: &str) -> String {
    let mut slug = String::with_capacity(name.len());
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c.to_ascii_lowercase());
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    format!("{FLOW_PREFIX}{}", slug.trim_end_matches('-'))
}

fn bases<'a>(it: impl Iterator<Item = &'a String>) -> Vec<String> {
    let mut v: Vec<String> = it.cloned().collect();
    v.sort();
    v.dedup();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flow_ids_are_path_safe_slugs() {
        assert_eq!(
            flow_id("aanmelding MO bij de herkomstgemeente"),
            "stroom.aanmelding-mo-bij-de-herkomstgemeente"
        );
        assert_eq!(flow_id("a — b"), "stroom.a-b");
    }

    #[test]
    fn every_operation_maps_to_an_id() {
        assert_eq!(
            activity_id(Operation::Receipt, "projectie ontvangen"),
            RECEIPT
        );
        assert_eq!(activity_id(Operation::Refusal, "anything at all"), REFUSAL);
        assert_eq!(activity_id(Operation::Write, "api.v1"), API);
        assert_eq!(
            activity_id(Operation::Read, "avg.art33.datalek"),
            "avg.art33.datalek"
        );
        assert_eq!(activity_id(Operation::Disclosure, "x y; z"), "stroom.x-y");
        assert_eq!(
            activity_id(Operation::Authentication, "afmelden"),
            AUTHENTICATION
        );
    }
}
