//! The pure core of enforcement, without a network or a database: what `sync::plan` shares, what `sync::accept`
//! takes and which facts `node::facts` decides on. Millisecond tests, one per rule of issue #11; the same rules
//! over real nodes and QUIC are in `tests/tests/enforcement.rs`.

use std::collections::BTreeMap;

use node::case::LoadedCase;
use node::case::LocalDoc;
use node::projection::Meta;
use node::store::CaseId;
use node::store::DocKey;
use node::sync::accept::{self, FormContext};
use node::sync::plan::{self, may_write_into};
use policies::{
    CaseDocuments, DocumentKind as D, Fase, FieldSet, Form, Gemeenten, PartnerId, Policy, Relation,
    Validator,
};
use serde_json::{Value as Json, json};
use time::macros::date;

const ZA: &str = "zorgaanbieder:kwadrant";
const TP: &str = "transferpunt:sdf";
const ELKIEN: &str = "corporatie:elkien";
const ACCOLADE: &str = "corporatie:accolade";
const GM_VERBLIJF: &str = "gemeente:GM0080";
const GM_HERKOMST: &str = "gemeente:GM0074";

fn pid(s: &str) -> PartnerId {
    s.parse().unwrap()
}

fn form(kind: D, json: &Json) -> Form {
    let gemeenten = Gemeenten::friesland();
    Validator::new(&gemeenten, date!(2026 - 01 - 01))
        .partial_form(kind, json)
        .unwrap_or_else(|e| panic!("{kind}: {e}"))
}

fn registratie(consent: bool) -> Form {
    let client = policies::examples::Client::new("Kern, K.", 5);
    let j = policies::examples::registratie(
        &client,
        ZA,
        consent,
        "maatschappelijke_opvang",
        "GM0074",
        "2025-09-01",
    );
    form(D::Registratie, &j)
}

fn beoordeling(corporatie: &str) -> Form {
    form(
        D::Beoordeling,
        &json!({ "status": "goedgekeurd", "datum_ontvangen": "2025-11-04", "gekozen_uitstroomgemeente": "GM0080",
                 "toegewezen_corporatie": corporatie }),
    )
}

fn melding() -> Form {
    form(
        D::Melding,
        &json!({ "datum_melding": "2025-12-01", "melder": "zorgaanbieder", "soort": "signaal", "ave_niveau": 2,
                 "status": "in_behandeling", "omschrijving": "vrije tekst over de cliënt" }),
    )
}

fn key(kind: D, instance: &str) -> DocKey {
    DocKey {
        case: CaseId::from_bytes([7; 16]),
        kind,
        instance: instance.into(),
    }
}

/// A document written by `author` alone: every field it holds, its changes'.
fn own_doc(author: &str, kind: D, instance: &str, form: Form) -> LocalDoc {
    let actor = node::doc::actor_for(&pid(author));
    let fields: FieldSet = form.field_ids().collect();
    LocalDoc {
        key: key(kind, instance),
        form,
        authors: BTreeMap::from([(actor.clone(), fields)]),
        creator: Some(actor),
        generation: 0,
    }
}

/// A node's view of a case from the forms it holds whole.
fn holding(forms: &[Form]) -> LoadedCase {
    let mut docs = CaseDocuments::new();
    for f in forms {
        docs.insert(f.clone());
    }
    LoadedCase::new(docs, Vec::new())
}

fn meta(ontvanger: &[Relation], afzender: &[Relation], consent: bool) -> Meta {
    Meta {
        receiver_relations: ontvanger.to_vec(),
        sender_relations: afzender.to_vec(),
        phase: Fase::Bemiddeling,
        consent,
        voorziening: None,
        policy_version: "2026.1".into(),
        others: Default::default(),
    }
}

#[test]
fn a_melding_reaches_the_assigned_corporatie_as_its_summary_not_whole() {
    let policy = Policy::covenant();
    // The zorgaanbieder knows the assignment from the Transferpunt's progress projection.
    let loaded = holding(&[registratie(true), beoordeling(ELKIEN), melding()]);
    let docs = [own_doc(ZA, D::Melding, "signaal-1", melding())];
    let p = plan::plan(&policy, &pid(ZA), &pid(ELKIEN), &loaded, &docs);
    assert!(
        p.full.is_empty(),
        "a corporatie may write meldingen, but not into the zorgaanbieder's"
    );
    let omschrijving = D::Melding.field("omschrijving").unwrap();
    let soort = D::Melding.field("soort").unwrap();
    assert!(p.projection_fields.contains(soort), "{:?}", p.projection);
    assert!(
        !p.projection_fields.contains(omschrijving),
        "{:?}",
        p.projection
    );
}

#[test]
fn a_melding_instance_is_its_creators_and_a_reactie_its_corporaties() {
    let policy = Policy::covenant();
    let facts = holding(&[registratie(true), beoordeling(ELKIEN)])
        .docs
        .facts([&pid(ELKIEN), &pid(ZA)]);
    let za = node::doc::actor_for(&pid(ZA));
    let elkien = pid(ELKIEN);
    let melding = key(D::Melding, "signaal-1");
    assert!(may_write_into(&policy, &facts, &elkien, &melding, Some(&za)).is_empty());
    assert!(!may_write_into(&policy, &facts, &elkien, &melding, None).is_empty());
    assert!(!may_write_into(&policy, &facts, &elkien, &key(D::Reactie, ELKIEN), None).is_empty());
    assert!(
        may_write_into(&policy, &facts, &elkien, &key(D::Reactie, ACCOLADE), None).is_empty(),
        "elkien may not write accolade's reactie"
    );
}

#[test]
fn a_gemeente_form_does_not_travel_to_another_gemeente() {
    let policy = Policy::covenant();
    let gemeente = form(
        D::Gemeente,
        &json!({ "akkoord_uitstroom": "niet_akkoord", "toelichting_niet_akkoord": "interne afweging" }),
    );
    let loaded = holding(&[registratie(true), gemeente.clone()]);
    let docs = [own_doc(GM_VERBLIJF, D::Gemeente, GM_VERBLIJF, gemeente)];
    let p = plan::plan(
        &policy,
        &pid(GM_VERBLIJF),
        &pid(GM_HERKOMST),
        &loaded,
        &docs,
    );
    assert!(p.full.is_empty());
    assert!(
        p.projection.keys().all(|s| !s.starts_with("gemeente")),
        "{:?}",
        p.projection
    );
}

#[test]
fn a_request_is_answered_only_for_what_the_plan_shares_whole() {
    let p = plan::Plan {
        full: vec![key(D::Bemiddelingsverzoek, "")],
        ..Default::default()
    };
    assert!(accept::answers_pull(&p, &key(D::Bemiddelingsverzoek, "")));
    assert!(!accept::answers_pull(&p, &key(D::Registratie, "")));
}

#[test]
fn a_push_into_another_corporaties_reactie_is_refused_before_any_op() {
    let policy = Policy::covenant();
    let facts = holding(&[registratie(true), beoordeling(ELKIEN)])
        .docs
        .facts([&pid(ELKIEN), &pid(TP)]);
    let (me, peer, k) = (pid(TP), pid(ELKIEN), key(D::Reactie, ACCOLADE));
    let cx = FormContext {
        policy: &policy,
        me: &me,
        peer: &peer,
        key: &k,
        creator: None,
        facts: &facts,
    };
    assert!(!accept::may_push(&cx));
    let besluit = D::Reactie.field("besluit").unwrap();
    let refusal = accept::form_fields(&cx, [besluit]).unwrap_err();
    assert!(refusal.reason.contains("not its instance"), "{refusal}");
}

#[test]
fn the_receiver_holds_only_what_a_flow_gives_it_not_what_it_may_write() {
    let policy = Policy::covenant();
    let facts = holding(&[registratie(true), beoordeling(ELKIEN)])
        .docs
        .facts([&pid(ELKIEN), &pid(ZA)]);
    let (me, peer, k) = (pid(ELKIEN), pid(ZA), key(D::Melding, "signaal-1"));
    let za = node::doc::actor_for(&peer);
    let cx = FormContext {
        policy: &policy,
        me: &me,
        peer: &peer,
        key: &k,
        creator: Some(&za),
        facts: &facts,
    };
    let omschrijving = D::Melding.field("omschrijving").unwrap();
    let refusal = accept::form_fields(&cx, [omschrijving]).unwrap_err();
    assert!(refusal.reason.contains("no flow allows it"), "{refusal}");
}

#[test]
fn a_meta_from_a_partner_that_decides_nothing_changes_no_fact() {
    let me = pid(GM_VERBLIJF);
    let mut loaded = holding(&[]);
    // The Transferpunt says: no consent. A corporatie claims consent and that this gemeente is the uitstroomgemeente.
    loaded.declarations.insert(
        pid(TP),
        meta(
            &[Relation::Verblijfgemeente],
            &[Relation::Transferpunt],
            false,
        ),
    );
    loaded.declarations.insert(
        pid(ELKIEN),
        meta(
            &[Relation::Uitstroomgemeente],
            &[Relation::ToegewezenCorporatie],
            true,
        ),
    );
    let facts = node::facts::facts_of(&me, &loaded, &[]);
    assert!(!facts.consent);
    assert_eq!(facts.relations_of(&me), vec![Relation::Verblijfgemeente]);
}

#[test]
fn a_withdrawal_by_the_betrokken_zorgaanbieder_wins_over_stored_forms_and_other_senders() {
    // The Transferpunt holds the registratie (consent given) in a projection; the zorgaanbieder has since declared
    // the consent withdrawn.
    let tp = pid(TP);
    let mut loaded = holding(&[registratie(true)]);
    loaded.declarations.insert(
        pid(ZA),
        meta(
            &[Relation::Transferpunt],
            &[Relation::BetrokkenZorgaanbieder],
            false,
        ),
    );
    loaded.declarations.insert(
        pid(GM_VERBLIJF),
        meta(
            &[Relation::Transferpunt],
            &[Relation::Verblijfgemeente],
            true,
        ),
    );
    assert!(!node::facts::facts_of(&tp, &loaded, &[]).consent);
    // At a gemeente, every authority must say so.
    let gm = pid(GM_VERBLIJF);
    let mut at_gemeente = holding(&[]);
    at_gemeente.declarations.insert(
        pid(TP),
        meta(
            &[Relation::Verblijfgemeente],
            &[Relation::Transferpunt],
            true,
        ),
    );
    at_gemeente.declarations.insert(
        pid(ZA),
        meta(
            &[Relation::Verblijfgemeente],
            &[Relation::BetrokkenZorgaanbieder],
            false,
        ),
    );
    assert!(!node::facts::facts_of(&gm, &at_gemeente, &[]).consent);
}

#[test]
fn without_consent_a_partner_learns_nothing_not_even_a_meta() {
    let policy = Policy::covenant();
    let loaded = holding(&[registratie(false)]);
    let docs = [own_doc(ZA, D::Registratie, "", registratie(false))];
    let p = plan::plan(&policy, &pid(ZA), &pid(GM_VERBLIJF), &loaded, &docs);
    assert!(p.projection.is_empty(), "{:?}", p.projection);
    assert!(p.full.is_empty());
    // Only a partner that received the case before is told of the withdrawal (the session decides that).
    assert!(p.withdrawal_notice.is_some());
}

#[test]
fn a_meta_alone_from_an_unrelated_partner_is_not_taken() {
    let me = pid(TP);
    let loaded = holding(&[registratie(true)]);
    let refusal = accept::projection_facts(
        &me,
        &pid("zorgaanbieder:anders"),
        &loaded,
        &meta(
            &[Relation::Transferpunt],
            &[Relation::BetrokkenZorgaanbieder],
            true,
        ),
        &[],
    )
    .unwrap_err();
    assert!(refusal.not_yet, "{refusal}");
}
