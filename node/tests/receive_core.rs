//! The receive core (`node::sync::receive`) without a network, a database or a runtime: one message in, the
//! effects out. Each test is a rule of what a node takes from a peer; the same rules over real nodes and QUIC are
//! in `tests/tests/enforcement.rs` and `tests/tests/adversarial.rs`.

use automerge::AutoCommit;
use automerge::sync::{State, SyncDoc};
use node::case::LoadedCase;
use node::case::{LocalDoc, authors_of};
use node::projection::Meta;
use node::store::CaseId;
use node::store::DocKey;
use node::sync::plan::Plan;
use node::sync::receive::{
    self, Context, Counter, Effect, MAX_DEFERRED, Need, PeerState, View, on_message,
};
use node::sync::wire::WireDoc;
use policies::{
    CaseDocuments, DocumentKind as D, Fase, Form, Gemeenten, PartnerId, Policy, Relation, Validator,
};
use protocol::Message;
use protocol::sync::SyncSession;
use serde_json::{Value as Json, json};
use time::macros::date;

const ZA: &str = "zorgaanbieder:kwadrant";
const TP: &str = "transferpunt:sdf";
const ELKIEN: &str = "corporatie:elkien";
const ACCOLADE: &str = "corporatie:accolade";
const GM_ELSEWHERE: &str = "gemeente:GM0014";

fn pid(s: &str) -> PartnerId {
    s.parse().unwrap()
}

fn case() -> CaseId {
    CaseId::from_bytes([7; 16])
}

fn form(kind: D, json: &Json) -> Form {
    Validator::new(&Gemeenten::friesland(), date!(2026 - 01 - 01))
        .partial_form(kind, json)
        .unwrap_or_else(|e| panic!("{kind}: {e}"))
}

fn registratie() -> Form {
    form(
        D::Registratie,
        &json!({
            "achternaam_voorletters": "Kern, K.", "bsn": "123456782", "geboortedatum": "1990-04-12",
            "soort_voorziening": "maatschappelijke_opvang", "herkomstgemeente": "GM0074",
            "verblijfgemeente": "GM0080", "start_verblijf_opvang": "2025-09-01", "betrokken_zorgaanbieder": ZA,
            "reden_dakloosheid": "Huisuitzetting", "toestemming_gegevensdeling": true,
            "datum_toestemming": "2025-09-01"
        }),
    )
}

fn beoordeling() -> Form {
    form(
        D::Beoordeling,
        &json!({ "status": "goedgekeurd", "datum_ontvangen": "2025-11-04", "gekozen_uitstroomgemeente": "GM0080",
                 "toegewezen_corporatie": ELKIEN }),
    )
}

fn reactie() -> Form {
    form(
        D::Reactie,
        &json!({ "besluit": "geweigerd", "datum_besluit": "2025-10-24", "reden_weigering": "huurachterstand" }),
    )
}

fn key(kind: D, instance: &str) -> DocKey {
    DocKey {
        case: case(),
        kind,
        instance: instance.into(),
    }
}

fn name(k: &DocKey) -> String {
    WireDoc::Form(k.clone(), 0).to_string()
}

/// The Transferpunt's case: registered, and assigned to Elkien.
fn at_transferpunt() -> LoadedCase {
    let mut docs = CaseDocuments::new();
    docs.insert(registratie());
    docs.insert(beoordeling());
    LoadedCase::new(docs, Vec::new())
}

/// A document `author` wrote alone, as Automerge has it.
fn written_by(author: &str, f: &Form) -> AutoCommit {
    let mut am = node::doc::new_document(&pid(author));
    node::doc::write_form(&mut am, f).unwrap();
    node::doc::commit(&mut am, 1_760_000_000);
    am
}

/// The same document as this node keeps it for planning.
fn local(k: DocKey, mut am: AutoCommit) -> LocalDoc {
    let (authors, creator) = authors_of(&mut am, k.kind);
    let json = node::doc::read_json(&am).unwrap();
    LocalDoc {
        form: form(k.kind, &json),
        key: k,
        authors,
        creator,
        generation: 0,
    }
}

/// A sync message carrying every change of `doc`, as a peer sends it to a node it believes holds nothing of it.
fn carrying(doc: &mut AutoCommit) -> Vec<u8> {
    SyncSession::for_empty_peer()
        .generate(doc)
        .expect("a message with every change")
}

/// A sync request: no changes, only "what do you have".
fn asking() -> Vec<u8> {
    AutoCommit::new()
        .sync()
        .generate_sync_message(&mut State::new())
        .unwrap()
        .encode()
}

/// Decide on one message at `me`, with the core's own rules and the covenant.
fn decide(me: &str, state: &mut PeerState, msg: Message, view: View) -> Vec<Effect> {
    // Built once: the covenant is checked against its invariants when it is loaded.
    static POLICY: std::sync::LazyLock<Policy> = std::sync::LazyLock::new(Policy::covenant);
    let policy = &*POLICY;
    let gemeenten = Gemeenten::friesland();
    let validator = Validator::new(&gemeenten, date!(2026 - 01 - 01));
    let me = pid(me);
    let cx = Context {
        policy,
        me: &me,
        validator: &validator,
        now: 1_760_000_000,
    };
    on_message(state, &cx, msg, view)
}

fn stores(effects: &[Effect]) -> bool {
    effects.iter().any(|e| {
        matches!(
            e,
            Effect::StoreChange { .. } | Effect::StoreProjection(_) | Effect::DeleteDocument(_)
        )
    })
}

fn sends_data(effects: &[Effect]) -> bool {
    effects
        .iter()
        .any(|e| matches!(e, Effect::Disclose { .. } | Effect::Answer { .. }))
}

/// Elkien, assigned to the case, pushes a reactie it wrote into `reactie/<instance>` at the Transferpunt.
fn elkien_pushes_reactie(instance: &str) -> (DocKey, PeerState, Vec<Effect>) {
    let k = key(D::Reactie, instance);
    let data = carrying(&mut written_by(ELKIEN, &reactie()));
    let mut state = PeerState::new(pid(ELKIEN));
    let view = View {
        case: Some(at_transferpunt()),
        ..View::default()
    };
    let msg = Message::Sync {
        doc: name(&k),
        data,
        traceparent: None,
    };
    let effects = decide(TP, &mut state, msg, view);
    (k, state, effects)
}

#[test]
fn a_push_into_another_corporaties_reactie_is_refused_recorded_and_stored_nowhere() {
    // Elkien writes "accolade's" reactie: a forged refusal in another corporatie's name.
    let (k, state, effects) = elkien_pushes_reactie(ACCOLADE);
    assert!(!stores(&effects), "{effects:?}");
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::Count(Counter::Refused)))
    );
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::Record(r) if r.status == node::audit::Status::Error)),
        "a security event is recorded: {effects:?}"
    );
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::Send(Message::Refused { .. }))),
        "{effects:?}"
    );
    assert!(state.blocked.contains(&name(&k)), "and no longer synced");
}

#[test]
fn the_assigned_corporaties_own_reactie_is_stored_with_its_receipt_then_answered() {
    let (_, _, effects) = elkien_pushes_reactie(ELKIEN);
    let Some(Effect::StoreChange { record, .. }) = effects.first() else {
        panic!("stored first: {effects:?}");
    };
    let besluit = D::Reactie.field("besluit").unwrap();
    assert!(
        record.fields.contains(&besluit),
        "the receipt names the fields: {record:?}"
    );
    assert!(matches!(effects[1], Effect::Count(Counter::Accepted)));
    assert!(matches!(&effects[2], Effect::Notify(c) if *c == case()));
    assert!(
        matches!(effects.last(), Some(Effect::Answer { always: true, .. })),
        "new here: answered, to ask for what it lacks: {effects:?}"
    );
}

#[test]
fn a_request_for_a_document_the_plan_does_not_share_whole_gets_not_available() {
    // The zorgaanbieder's melding: the corporatie may write meldingen, but not hold this one whole.
    let melding = form(
        D::Melding,
        &json!({ "datum_melding": "2025-12-01", "melder": "zorgaanbieder", "soort": "signaal", "ave_niveau": 2,
                 "status": "in_behandeling", "omschrijving": "vrije tekst over de cliënt" }),
    );
    let k = key(D::Melding, "signaal-1");
    let am = written_by(ZA, &melding);
    let mut docs = CaseDocuments::new();
    docs.insert(registratie());
    docs.insert(beoordeling());
    docs.insert(melding.clone());
    let view = View {
        case: Some(LoadedCase::new(docs, Vec::new())),
        docs: vec![local(k.clone(), am.clone())],
        doc: Some((am, SyncSession::new())),
        stored: true,
        ..View::default()
    };
    let mut state = PeerState::new(pid(ELKIEN));
    let effects = decide(
        ZA,
        &mut state,
        Message::Sync {
            doc: name(&k),
            data: asking(),
            traceparent: None,
        },
        view,
    );
    assert!(!sends_data(&effects), "{effects:?}");
    assert!(
        matches!(
            effects.as_slice(),
            [Effect::Send(Message::NotAvailable { .. })]
        ),
        "{effects:?}"
    );
}

#[test]
fn a_message_that_does_not_decode_is_refused_whole() {
    let k = key(D::Reactie, ELKIEN);
    let mut state = PeerState::new(pid(ELKIEN));
    let effects = decide(
        TP,
        &mut state,
        Message::Sync {
            doc: name(&k),
            data: vec![0x42; 64],
            traceparent: None,
        },
        View {
            case: Some(at_transferpunt()),
            ..View::default()
        },
    );
    assert!(!stores(&effects));
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::Send(Message::Refused { .. })))
    );
}

#[test]
fn a_projection_declaring_facts_from_a_partner_unrelated_to_the_case_is_not_taken() {
    // A gemeente with no part in the case sends the Transferpunt a projection claiming consent and a relation.
    let meta = Meta {
        receiver_relations: vec![Relation::Transferpunt],
        sender_relations: vec![Relation::Verblijfgemeente],
        phase: Fase::Afgesloten,
        consent: true,
        voorziening: None,
        policy_version: "2026.1".into(),
        others: Default::default(),
    };
    let mut sections = serde_json::Map::new();
    sections.insert("_meta".into(), serde_json::to_value(&meta).unwrap());
    let mut am = node::doc::new_document(&pid(GM_ELSEWHERE));
    node::doc::write_sections(&mut am, &sections).unwrap();
    node::doc::commit(&mut am, 1_760_000_000);
    let wire = WireDoc::Projection {
        case: case(),
        sender: pid(GM_ELSEWHERE),
        receiver: pid(TP),
        generation: 1,
    };
    let mut state = PeerState::new(pid(GM_ELSEWHERE));
    let msg = Message::Sync {
        doc: wire.to_string(),
        data: carrying(&mut am),
        traceparent: None,
    };
    assert_eq!(
        receive::need(&state, &pid(TP), &msg),
        Need::Projection { wire, case: true }
    );
    let effects = decide(
        TP,
        &mut state,
        msg,
        View {
            case: Some(at_transferpunt()),
            ..View::default()
        },
    );
    assert!(!stores(&effects), "{effects:?}");
    assert!(!effects.iter().any(|e| matches!(e, Effect::Notify(_))));
}

#[test]
fn a_forget_deletes_a_document_only_when_the_peer_created_it() {
    let k = key(D::Reactie, ELKIEN);
    let view = || View {
        case: Some(at_transferpunt()),
        doc: Some((written_by(ELKIEN, &reactie()), SyncSession::new())),
        stored: true,
        ..View::default()
    };
    let forget = || Message::Forget {
        doc: name(&k),
        reason: "no longer shared".into(),
    };
    let by_other = decide(TP, &mut PeerState::new(pid(ACCOLADE)), forget(), view());
    assert!(by_other.is_empty(), "{by_other:?}");
    let by_creator = decide(TP, &mut PeerState::new(pid(ELKIEN)), forget(), view());
    assert!(
        matches!(by_creator.as_slice(), [Effect::DeleteDocument(d), Effect::Scrub, ..] if *d == k.clone()),
        "{by_creator:?}"
    );
}

#[test]
fn a_policy_artefact_from_a_partner_that_is_not_the_transferpunt_is_a_security_event() {
    let artefact = || Message::Artefact {
        kind: node::distribution::POLICY_KIND.into(),
        data: b"signed by nobody".to_vec(),
    };
    let from_corporatie = decide(
        ZA,
        &mut PeerState::new(pid(ELKIEN)),
        artefact(),
        View::default(),
    );
    assert!(
        from_corporatie
            .iter()
            .any(|e| matches!(e, Effect::Count(Counter::Refused)))
    );
    assert!(
        !from_corporatie
            .iter()
            .any(|e| matches!(e, Effect::TakePolicy { .. }))
    );
    let from_transferpunt = decide(
        ZA,
        &mut PeerState::new(pid(TP)),
        artefact(),
        View::default(),
    );
    assert!(matches!(
        from_transferpunt.as_slice(),
        [Effect::TakePolicy { .. }]
    ));
}

#[test]
fn a_peer_cannot_grow_the_set_of_documents_offered_again_without_bound() {
    let mut state = PeerState::new(pid(ELKIEN));
    for i in 0..MAX_DEFERRED + 50 {
        let effects = decide(
            TP,
            &mut state,
            Message::NotAvailable {
                doc: format!("c/{}/reactie/n{i}", case()),
            },
            View::default(),
        );
        assert!(matches!(effects.as_slice(), [Effect::ResetSession(_)]));
    }
    assert_eq!(state.unavailable.len(), MAX_DEFERRED);
}

#[test]
fn a_message_with_changes_goes_out_only_as_a_disclosure_naming_its_fields_and_flows() {
    let k = key(D::Reactie, ELKIEN);
    let besluit = D::Reactie.field("besluit").unwrap();
    let plan = Plan {
        full: vec![k.clone()],
        flows: vec![(besluit, "reactie naar transferpunt".into())],
        ..Plan::default()
    };
    let state = PeerState::new(pid(TP));
    let effects = receive::next_message(
        &state,
        WireDoc::Form(k.clone(), 0),
        written_by(ELKIEN, &reactie()),
        SyncSession::for_empty_peer(),
        &plan,
    );
    let Some(Effect::Disclose { record, .. }) = effects.first() else {
        panic!("a disclosure first: {effects:?}");
    };
    assert!(record.fields.contains(&besluit));
    assert_eq!(record.activity, "reactie naar transferpunt");
    assert!(matches!(effects.last(), Some(Effect::KeepSession { .. })));
}

/// A message whose changes wait for one it did not bring — what a peer sends when its Bloom filter of what this node
/// holds gives a false positive (about one change in a hundred where both sides write; the fault runs met it as a
/// bemiddelingsverzoek that stayed different at the zorgaanbieder and the Transferpunt). The node reads the
/// document anew for every message, so the waiting change would be lost while the peer counts it as delivered:
/// the document starts over instead of being answered as if all was taken.
#[test]
fn a_message_whose_changes_wait_for_a_change_it_did_not_bring_starts_the_document_over() {
    let k = key(D::Reactie, ELKIEN);
    let mut at_elkien = written_by(ELKIEN, &reactie());
    // Several edits, so that what is sent later is a small part of the document: Automerge sends the whole
    // document instead when a message would carry more than a third of it.
    let edit = |am: &mut AutoCommit, day: u32, at: i64| {
        let mut edited = reactie().to_json();
        edited["datum_besluit"] = json!(format!("2025-10-{day}"));
        node::doc::write_form(am, &form(D::Reactie, &edited)).unwrap();
        node::doc::commit(am, at);
    };
    for day in 25..30 {
        edit(&mut at_elkien, day, 1_760_000_000 + i64::from(day));
    }
    // Elkien's session believes the Transferpunt holds the first change: it synced it to a document just like it.
    let mut believed = AutoCommit::new();
    let (mut to_believed, mut at_believed) = (SyncSession::new(), SyncSession::new());
    for _ in 0..10 {
        let a = to_believed.generate(&mut at_elkien);
        if let Some(m) = &a {
            at_believed.receive(&mut believed, m).unwrap();
        }
        let b = at_believed.generate(&mut believed);
        if let Some(m) = &b {
            to_believed.receive(&mut at_elkien, m).unwrap();
        }
        if a.is_none() && b.is_none() {
            break;
        }
    }
    edit(&mut at_elkien, 30, 1_760_000_100);
    let data = to_believed
        .generate(&mut at_elkien)
        .expect("the edit is sent");
    let sent = automerge::sync::Message::decode(&data).unwrap();
    assert_eq!(sent.changes.len(), 1, "only the second change travels");

    let mut state = PeerState::new(pid(ELKIEN));
    let view = View {
        case: Some(at_transferpunt()),
        ..View::default()
    };
    let msg = Message::Sync {
        doc: name(&k),
        data,
        traceparent: None,
    };
    let effects = decide(TP, &mut state, msg, view);
    assert!(
        !effects.iter().any(|e| matches!(e, Effect::Answer { .. })),
        "not answered as if all was taken: {effects:?}"
    );
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::Send(Message::NotAvailable { doc }) if *doc == name(&k))),
        "the peer is told to start over, with every change: {effects:?}"
    );
    assert!(
        effects
            .iter()
            .any(|e| matches!(e, Effect::DropSession(d) if *d == name(&k))),
        "and this side's session starts over too: {effects:?}"
    );
}

#[test]
fn a_retired_projection_synced_back_is_told_to_be_deleted_unless_a_rectification_holds_that_back() {
    // The zorgaanbieder rotated its projection for the Transferpunt (a rectification); the Transferpunt, not yet
    // holding the new generation, syncs the old one back.
    let wire = WireDoc::Projection {
        case: case(),
        sender: pid(ZA),
        receiver: pid(TP),
        generation: 1,
    };
    let record = node::store::ProjectionRecord {
        wire_id: wire.to_string(),
        case: case(),
        sender: ZA.into(),
        receiver: TP.into(),
        generation: 1,
        snapshot: written_by(ZA, &registratie()).save(),
        sync_state: None,
        retired: true,
    };
    let synced_back = || Message::Sync {
        doc: wire.to_string(),
        data: asking(),
        traceparent: None,
    };
    let view = |forget_held| View {
        projection: Some(record.clone()),
        forget_held,
        ..View::default()
    };
    let told = decide(ZA, &mut PeerState::new(pid(TP)), synced_back(), view(false));
    assert!(
        matches!(told.as_slice(), [Effect::Send(Message::Forget { doc, .. })] if *doc == wire.to_string()),
        "{told:?}"
    );
    // While the Transferpunt is yet to hold the new generation, the old one is what tells it how the
    // zorgaanbieder relates to the case: told to delete it now, it would take neither generation.
    let held = decide(ZA, &mut PeerState::new(pid(TP)), synced_back(), view(true));
    assert!(held.is_empty(), "{held:?}");
}

#[test]
fn a_huurdermelding_goes_only_from_a_corporatie_to_the_transferpunt() {
    let melding = || Message::Artefact {
        kind: node::huurdermelding::KIND_MELDING.into(),
        data: b"{}".to_vec(),
    };
    // A corporatie to the Transferpunt: taken (the session checks what it says).
    let taken = decide(
        TP,
        &mut PeerState::new(pid(ELKIEN)),
        melding(),
        View::default(),
    );
    assert!(
        matches!(taken.as_slice(), [Effect::TakeHuurdermelding { .. }]),
        "{taken:?}"
    );
    // From a zorgaanbieder, or to a corporatie: a security event, nothing taken.
    for (me, peer) in [(TP, ZA), (ACCOLADE, ELKIEN)] {
        let refused = decide(
            me,
            &mut PeerState::new(pid(peer)),
            melding(),
            View::default(),
        );
        assert!(
            refused
                .iter()
                .any(|e| matches!(e, Effect::Count(Counter::Refused)))
                && !refused
                    .iter()
                    .any(|e| matches!(e, Effect::TakeHuurdermelding { .. })),
            "{me} from {peer}: {refused:?}"
        );
    }
    // The confirmation only from the Transferpunt.
    let ontvangen = Message::Artefact {
        kind: node::huurdermelding::KIND_ONTVANGEN.into(),
        data: b"{}".to_vec(),
    };
    let forged = decide(
        ELKIEN,
        &mut PeerState::new(pid(ZA)),
        ontvangen,
        View::default(),
    );
    assert!(
        !forged
            .iter()
            .any(|e| matches!(e, Effect::TakeHuurdermelding { .. })),
        "{forged:?}"
    );
}

#[test]
fn a_section_addressed_to_another_partner_of_the_same_role_is_never_taken() {
    use node::sync::accept::addressed_elsewhere;
    let elkien = pid(ELKIEN);
    // The Transferpunt's voorlegging goes to the melder it names, and to no one else.
    assert_eq!(
        addressed_elsewhere("voorlegging/corporatie:elkien:m-1", &elkien),
        None
    );
    assert_eq!(
        addressed_elsewhere("voorlegging/corporatie:accolade:m-1", &elkien).as_deref(),
        Some(ACCOLADE)
    );
    assert_eq!(
        addressed_elsewhere("voorlegging/gemeente:GM0080:m-1", &elkien).as_deref(),
        Some("gemeente:GM0080")
    );
    assert!(addressed_elsewhere("voorlegging/zonder-melder", &elkien).is_some());
    // Another corporatie's aanmeldbericht or reactie: not Elkien's; a form of another role's instance may be.
    assert_eq!(
        addressed_elsewhere("aanmeldbericht/corporatie:accolade", &elkien).as_deref(),
        Some(ACCOLADE)
    );
    assert_eq!(
        addressed_elsewhere("aanmeldbericht/corporatie:elkien", &elkien),
        None
    );
    assert_eq!(addressed_elsewhere("registratie", &elkien), None);
    assert_eq!(addressed_elsewhere("melding/melding-1", &elkien), None);
}
