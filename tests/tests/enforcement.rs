//! The findings of the outside security review (issue #11), each reproduced end to end over real nodes and real
//! QUIC, and named after the finding. They test the behaviour the review demands, not the current
//! implementation: a test that fails shows the finding is still open.
//!
//! 1. A zorgaanbieder's melding reaches the assigned corporatie only as its summary (the seven fields of the flow
//!    "melding op hoofdlijnen aan de toegewezen corporatie"), never its omschrijving.
//! 2. A verblijfgemeente's own `gemeente` form does not reach the herkomstgemeente.
//! 3. A withdrawal of consent stops every new field — also when other partners declared consent in the `_meta` of
//!    projections they sent — and the policy's `[consent] on_withdrawal` decides what receivers keep: `"keep"`
//!    (the default: what they lawfully received) or `"forget"` (they are told to delete it).
//! 4. A sync request with no changes, for a document the peer may not hold whole, is answered `NotAvailable` and
//!    carries no data — also when the peer may write *some* field of that kind, and also after the peer declared
//!    a relation about itself in a projection.
//! 5. The assigned corporatie cannot push into another corporatie's reactie or another partner's melding: refused,
//!    recorded as a security event, nothing stored, the monitor counts nothing for the other corporatie.
//! 6. A `_meta` forged by a partner with nothing to do with the case (consent, relations, a closed phase) changes
//!    nothing: no field of a client without consent travels, and flows of an open case go on.
//! 7. Without consent, the gemeenten (and the Transferpunt) learn nothing of a case, not even a `_meta`-only
//!    projection with its phase and BW/MO.
//! 8. A document a peer held whole (the bemiddelingsverzoek at the Transferpunt) is deleted there once it may no
//!    longer hold it (consent withdrawn, `on_withdrawal = "forget"`).
//! 9. A disclosure whose audit record cannot be written is not sent.
//!
//! The method is the canary method: every test gives its client unique values (a BSN that passes the elfproef, a
//! name, free texts) and searches the other nodes' data directories (database, CRDT history, write-ahead log) for
//! them as raw bytes. A test that asserts something did *not* arrive first proves the channel works — a later,
//! allowed change has arrived at the same node — and then watches for a short settle period.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use automerge::AutoCommit;
use automerge::sync::{State, SyncDoc};
use node::scenario::Person as Canaries;
use node::store::CaseId;
use policies::examples::{self as ex, fictitious_bsn as canary_bsn};
use policies::{DocumentKind as D, Fase, Relation, Voorziening};
use protocol::{
    Admitted, Connection, DirectoryEntry, Endpoint, FederationCa, Message, PeerId, TlsSetup,
};
use serde_json::{Value, json};
use simulator::live::{LiveNet, LiveOptions, eventually, files_contain, wait_until};
use time::{Duration as TimeDuration, OffsetDateTime};
use weerthuis_tests::{TestNet, asking, authored_as, carries_changes, carrying_changes};

const ZA: &str = "zorgaanbieder:kwadrant";
const TP: &str = "transferpunt:sdf";
/// Leeuwarden: verblijfgemeente of every test client.
const LWD: &str = "gemeente:GM0080";
/// Heerenveen.
const HRV: &str = "gemeente:GM0074";
const ELK: &str = "corporatie:elkien";
/// A corporatie in the directory without a node of its own: driven by hand.
const ROGUE: &str = "corporatie:rogue";
/// Another such corporatie, with nothing to do with any case.
const INTRUDER: &str = "corporatie:indringer";

const MO: &str = "maatschappelijke_opvang";
const WAIT: Duration = Duration::from_secs(30);
/// How long a test watches for something that must not arrive, after proving the channel works.
const SETTLE: Duration = Duration::from_secs(2);

/// The seven fields of the flow "melding op hoofdlijnen aan de toegewezen corporatie".
const MELDING_SUMMARY: [&str; 7] = [
    "datum_melding",
    "melder",
    "soort",
    "ave_niveau",
    "status",
    "terugkoppeling_aan_melder",
    "datum_afgehandeld",
];

// ---------------------------------------------------------------------------------------------------------------
// Canaries, forms and waiting

/// Canaries no other test uses: a BSN (elfproef) and texts marked "handhaving" with the test's own tag.
fn canaries(tag: u64) -> Canaries {
    Canaries {
        bsn: canary_bsn(91_000 + tag),
        name: format!("Handhaving{tag}x, H."),
        reden: format!("handhaving-reden-{tag}x"),
        weigering: String::new(),
    }
}

/// A free-text canary unique to this file.
fn text_canary(what: &str, tag: u64) -> String {
    format!("handhaving-{what}-{tag}x")
}

/// The zorgaanbieder's registratie with these canaries, staying in `verblijf`, coming from `herkomst`.
fn registratie(c: &Canaries, consent: bool, herkomst: &str, verblijf: &str) -> Value {
    let mut r = ex::registratie(&c.client(), ZA, consent, MO, herkomst, "2025-06-01");
    r["verblijfgemeente"] = json!(verblijf);
    r
}

/// A new MO case at the zorgaanbieder: registratie and aanmelding.
async fn aanmelden(
    net: &TestNet,
    c: &Canaries,
    consent: bool,
    herkomst: &str,
    verblijf: &str,
) -> CaseId {
    net.case_with(
        ZA,
        &[
            (D::Registratie, registratie(c, consent, herkomst, verblijf)),
            (D::Aanmelding, ex::aanmelding(&c.client(), "2025-06-10")),
        ],
    )
    .await
}

/// The aanmelding rewritten with a new value in a free-text field.
async fn rewrite_aanmelding(net: &TestNet, case: &CaseId, c: &Canaries, text: &str) {
    let mut a = ex::aanmelding(&c.client(), "2025-06-10");
    a["naam_vorige_verhuurder_of_instantie"] = json!(text);
    net.write(ZA, case, D::Aanmelding, None, a).await.unwrap();
}

/// The client withdraws consent: the zorgaanbieder rewrites the registratie.
async fn withdraw_consent(net: &TestNet, case: &CaseId, c: &Canaries, herkomst: &str) {
    net.write(
        ZA,
        case,
        D::Registratie,
        None,
        registratie(c, false, herkomst, "GM0080"),
    )
    .await
    .expect("the zorgaanbieder records the withdrawal");
}

async fn held(net: &TestNet, at: &str, case: &CaseId, section: &str, field: &str) -> Option<Value> {
    net.holds(at, case)
        .await
        .get(section)
        .and_then(|s| s.get(field))
        .cloned()
}

async fn wait_for(
    net: &TestNet,
    at: &str,
    case: &CaseId,
    section: &str,
    field: &str,
    value: Value,
) {
    wait_until(
        &format!("{at} holds {section}.{field} = {value}"),
        WAIT,
        || async { held(net, at, case, section, field).await.as_ref() == Some(&value) },
    )
    .await;
}

fn found(net: &TestNet, at: &str, needle: &str) -> bool {
    files_contain(net.node(at).path(), needle)
}

/// The names of `at`'s files that contain `needle`.
fn files_with(net: &TestNet, at: &str, needle: &str) -> Vec<String> {
    simulator::live::files_of(net.node(at).path())
        .into_iter()
        .filter(|(_, bytes)| bytes.windows(needle.len()).any(|w| w == needle.as_bytes()))
        .map(|(path, _)| {
            path.file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned()
        })
        .collect()
}

/// Wait until none of `at`'s files contains any of `needles`; panic naming the files that still do.
async fn wait_until_gone(net: &TestNet, at: &str, what: &str, needles: &[&str]) {
    let gone = eventually(WAIT, || async {
        needles.iter().all(|n| !found(net, at, n))
    })
    .await;
    if !gone {
        let left: Vec<String> = needles
            .iter()
            .map(|n| format!("{n} in {:?}", files_with(net, at, n)))
            .collect();
        panic!("{what} is still in {at}'s files: {}", left.join("; "));
    }
}

/// Whether `needle` shows up in `at`'s files within the settle period (polled: it fails fast when it does).
async fn shows_up(net: &TestNet, at: &str, needle: &str) -> bool {
    eventually(SETTLE, || async { found(net, at, needle) }).await
}

/// A witness: a second client with consent (MO from `herkomst`, staying in Leeuwarden), registered after whatever
/// must not travel, whose aanmelding reaches every node in `at` — so the zorgaanbieder's sessions to them have run
/// since.
async fn witness_reaches(net: &TestNet, tag: u64, herkomst: &str, at: &[&str]) {
    let w = canaries(tag);
    let case = aanmelden(net, &w, true, herkomst, "GM0080").await;
    for p in at {
        wait_for(
            net,
            p,
            &case,
            "aanmelding",
            "achternaam_voorletters",
            json!(w.name),
        )
        .await;
    }
}

/// The covenant policy with `[consent] on_withdrawal = mode` (the table replaced if the shipped policy has one).
fn policy_with_withdrawal(mode: &str) -> String {
    let base = policies::policy::COVENANT_POLICY;
    let setting = format!("on_withdrawal = \"{mode}\"");
    let header = "\n[consent]";
    let Some(start) = base.find(header) else {
        return format!("{base}\n[consent]\n{setting}\n");
    };
    let body_start = start + header.len();
    let body_end = base[body_start..]
        .find("\n[")
        .map_or(base.len(), |i| body_start + i);
    let body = &base[body_start..body_end];
    let body = if body.contains("on_withdrawal") {
        body.lines()
            .map(|l| {
                if l.trim_start().starts_with("on_withdrawal") {
                    setting.clone()
                } else {
                    l.to_string()
                }
            })
            .collect::<Vec<_>>()
            .join("\n")
    } else {
        format!("\n{setting}{body}")
    };
    format!("{}{body}{}", &base[..body_start], &base[body_end..])
}

/// A federation whose every node runs `policy`.
async fn start_with_policy(partners: &[&str], policy: String) -> TestNet {
    weerthuis_tests::init_logging();
    TestNet(
        LiveNet::start_with(
            partners,
            LiveOptions {
                policy: Some(policy),
                ..LiveOptions::default()
            },
        )
        .await
        .expect("the federation starts with the policy (does the policy language know [consent] on_withdrawal?)"),
    )
}

/// The zorgaanbieder asks for bemiddeling; the Transferpunt approves it and assigns `corporatie`, with its
/// aanmeldbericht. `historie`: the corporaties approached before.
async fn assign(net: &TestNet, case: &CaseId, c: &Canaries, corporatie: &str, historie: Value) {
    wait_until("the Transferpunt holds the registratie", WAIT, || async {
        net.holds(TP, case).await.contains_key("registratie")
    })
    .await;
    if !net
        .holds(TP, case)
        .await
        .contains_key("bemiddelingsverzoek")
    {
        net.write(
            ZA,
            case,
            D::Bemiddelingsverzoek,
            None,
            ex::ingediend(
                ex::bemiddelingsverzoek("2025-10-01", "Kwadrant", Some("Eenpersoonswoning")),
                "2025-10-01",
                1,
            ),
        )
        .await
        .unwrap();
        wait_until(
            "the Transferpunt holds the bemiddelingsverzoek",
            WAIT,
            || async {
                net.holds(TP, case)
                    .await
                    .contains_key("bemiddelingsverzoek")
            },
        )
        .await;
    }
    net.write(
        TP,
        case,
        D::Beoordeling,
        None,
        json!({
            "status": "goedgekeurd", "datum_ontvangen": "2025-10-02", "datum_volledig": "2025-10-02",
            "gekozen_uitstroomgemeente": "GM0080", "toegewezen_corporatie": corporatie,
            "corporatie_historie": historie
        }),
    )
    .await
    .unwrap();
    net.write(
        TP,
        case,
        D::Aanmeldbericht,
        Some(corporatie),
        json!({
            "corporatie": corporatie, "datum_verzonden": "2025-10-20", "bsn": c.bsn,
            "achternaam_initialen": c.name, "beoogde_uitstroomgemeente": "GM0080"
        }),
    )
    .await
    .unwrap();
}

/// A melding by the zorgaanbieder, its omschrijving a canary.
fn melding(omschrijving: &str) -> Value {
    json!({
        "datum_melding": "2025-11-25", "melder": "zorgaanbieder", "soort": "signaal", "ave_niveau": 2,
        "omschrijving": omschrijving, "status": "in_behandeling",
        "terugkoppeling_aan_melder": "Begeleider is op de hoogte"
    })
}

/// Refusals recorded as security events in a node's audit log.
async fn refusals(net: &TestNet, at: &str) -> Vec<String> {
    net.audit(at)
        .await
        .into_iter()
        .map(|r| r.entry)
        .filter(|e| e.contains(r#""name":"refusal""#))
        .collect()
}

/// The refusals the Transferpunt's monitor counts for a corporatie, over all years.
async fn monitor_refusals(net: &TestNet, corporatie: &str) -> u32 {
    let cases = node::monitor::load_cases(net.node(TP).node())
        .await
        .expect("the monitor reads the cases");
    node::monitor::indicators::per_jaar(&cases)
        .values()
        .filter_map(|y| y.per_corporatie.get(corporatie))
        .map(|c| c.weigeringen_totaal())
        .sum()
}

/// Write a new client at the zorgaanbieder and see it arrive at the Transferpunt.
async fn honest_nodes_keep_syncing(net: &TestNet, tag: u64) {
    let w = canaries(tag);
    let case = aanmelden(net, &w, true, "GM0080", "GM0080").await;
    wait_for(net, TP, &case, "registratie", "bsn", json!(w.bsn)).await;
}

/// Fail with every finding at once.
fn assert_none(failures: &[String]) {
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

// ---------------------------------------------------------------------------------------------------------------
// A partner driven by hand (as in adversarial.rs)

fn peer(s: &str) -> PeerId {
    s.parse().unwrap()
}

/// The `_meta` of a projection, as a sender would declare it.
fn meta(ontvanger: &[Relation], afzender: &[Relation], fase: Fase, toestemming: bool) -> Value {
    json!({
        "ontvanger_relaties": ontvanger, "afzender_relaties": afzender, "fase": fase,
        "toestemming": toestemming, "voorziening": Voorziening::MaatschappelijkeOpvang, "beleid": "2026.1"
    })
}

struct Rogue {
    _endpoint: Endpoint,
    conn: Connection,
    inbox: Arc<Mutex<Vec<Message>>>,
    reader: tokio::task::JoinHandle<()>,
    sentinels: u32,
}

impl Drop for Rogue {
    fn drop(&mut self) {
        self.reader.abort();
        self.conn.close("rogue done");
    }
}

/// Put a partner in the federation directory (without an endpoint: nobody dials it) and hand it to every node.
fn enlist(net: &mut TestNet, id: &str) {
    if !net.directory.partners.iter().any(|p| p.id.as_str() == id) {
        let mut entry: DirectoryEntry = net
            .directory
            .partners
            .iter()
            .find(|p| !p.id.as_str().starts_with("corporatie:"))
            .expect("a partner that is not a corporatie")
            .clone();
        entry.id = peer(id);
        entry.name = id.to_string();
        entry.endpoint = None;
        entry.contacts.clear();
        net.directory.partners.push(entry);
    }
    net.publish_endpoints();
}

fn endpoint_with(ca: &FederationCa, id: &str, admitted: &[&str]) -> Endpoint {
    let now = OffsetDateTime::now_utc();
    let cert = ca
        .issue(
            &peer(id),
            now - TimeDuration::days(1),
            now + TimeDuration::days(30),
        )
        .unwrap();
    let tls = TlsSetup::from_pem(
        &cert.cert_pem,
        &cert.key_pem,
        ca.cert_pem(),
        Admitted::new(admitted.iter().map(|p| peer(p))),
    )
    .unwrap();
    Endpoint::bind("127.0.0.1:0".parse().unwrap(), &tls).unwrap()
}

impl Rogue {
    /// Enlist `id` with a certificate from the federation CA and connect to `to`.
    async fn connect(net: &mut TestNet, id: &str, to: &str) -> Rogue {
        enlist(net, id);
        let endpoint = endpoint_with(&net.ca, id, &[to]);
        let addr = net.node(to).fed.as_ref().unwrap().local_addr().unwrap();
        let conn = endpoint.connect(addr, &peer(to)).await.unwrap();
        let inbox = Arc::new(Mutex::new(Vec::new()));
        let (reader_conn, reader_inbox) = (conn.clone(), inbox.clone());
        let reader = tokio::spawn(async move {
            loop {
                match reader_conn.recv().await {
                    Ok(Some(m)) => reader_inbox.lock().unwrap().push(m),
                    Ok(None) | Err(protocol::EndpointError::Connection { .. }) => break,
                    Err(_) => {}
                }
            }
        });
        Rogue {
            _endpoint: endpoint,
            conn,
            inbox,
            reader,
            sentinels: 0,
        }
    }

    async fn sync(&self, doc: &str, data: Vec<u8>) {
        self.conn
            .send(&Message::Sync {
                doc: doc.to_string(),
                data,
                traceparent: None,
            })
            .await
            .unwrap();
    }

    /// Send `json` as changes of `doc`, authored by `actor`.
    async fn push(&self, doc: &str, actor: &str, json: &Value) {
        let mut am = authored_as(actor, json);
        self.sync(doc, carrying_changes(&mut am)).await;
    }

    fn received(&self) -> Vec<Message> {
        self.inbox.lock().unwrap().clone()
    }

    fn about(&self, doc: &str) -> Vec<Message> {
        self.received()
            .into_iter()
            .filter(|m| m.doc() == Some(doc))
            .collect()
    }

    /// Wait until the node has answered everything sent before (it answers a peer in order, and a document name
    /// that does not parse always with `NotAvailable`).
    async fn settle(&mut self) {
        self.sentinels += 1;
        let doc = format!("sentinel/{}", self.sentinels);
        self.sync(&doc, asking()).await;
        let inbox = self.inbox.clone();
        wait_until("the node answers the sentinel", WAIT, || {
            let found = inbox.lock().unwrap().iter().any(|m| m.doc() == Some(&doc));
            async move { found }
        })
        .await;
    }

    /// Play the receiving side of the sync protocol for `doc` honestly, and return what arrived.
    async fn pull(&mut self, doc: &str) -> AutoCommit {
        let mut am = AutoCommit::new();
        let mut state = State::new();
        let mut seen = 0;
        for _ in 0..4 {
            let msgs: Vec<Vec<u8>> = self
                .about(doc)
                .into_iter()
                .filter_map(|m| match m {
                    Message::Sync { data, .. } => Some(data),
                    _ => None,
                })
                .skip(seen)
                .collect();
            seen += msgs.len();
            for m in msgs {
                let m = automerge::sync::Message::decode(&m).unwrap();
                am.sync().receive_sync_message(&mut state, m).unwrap();
            }
            if let Some(reply) = am.sync().generate_sync_message(&mut state) {
                self.sync(doc, reply.encode()).await;
            }
            self.settle().await;
        }
        am
    }

    /// Ask for each document with an empty request, play the protocol through, and report every one that was
    /// answered with anything but `NotAvailable` or yielded data.
    async fn pulls_nothing(&mut self, docs: &[String]) -> Vec<String> {
        for doc in docs {
            self.sync(doc, asking()).await;
        }
        self.settle().await;
        let mut failures = Vec::new();
        for doc in docs {
            let mut pulled = self.pull(doc).await;
            if !pulled.get_heads().is_empty() {
                failures.push(format!(
                    "{doc}: the pull yielded data: {}",
                    node::doc::read_json(&pulled).unwrap_or_default()
                ));
            }
            let answers = self.about(doc);
            if answers.iter().any(carries_changes) {
                failures.push(format!("{doc}: a sync message carrying changes was sent"));
            }
            if !answers
                .iter()
                .all(|m| matches!(m, Message::NotAvailable { .. }))
            {
                failures.push(format!(
                    "{doc}: answered {:?}, not NotAvailable",
                    answers.iter().map(kind_of).collect::<Vec<_>>()
                ));
            }
        }
        failures
    }
}

fn kind_of(m: &Message) -> &'static str {
    match m {
        Message::Sync { .. } if carries_changes(m) => "Sync with changes",
        Message::Sync { .. } => "Sync",
        Message::Refused { .. } => "Refused",
        Message::NotAvailable { .. } => "NotAvailable",
        Message::Forget { .. } => "Forget",
        _ => "another message",
    }
}

// ---------------------------------------------------------------------------------------------------------------
// 1. Meldingen to the corporatie: the summary only

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_zorgaanbieders_melding_reaches_the_assigned_corporatie_only_as_its_summary() {
    let net = TestNet::start(&[ZA, TP, LWD, ELK]).await;
    let c = canaries(1);
    let omschrijving = text_canary("omschrijving", 1);
    let case = aanmelden(&net, &c, true, "GM0080", "GM0080").await;
    assign(&net, &case, &c, ELK, json!([])).await;
    wait_for(
        &net,
        ELK,
        &case,
        &format!("aanmeldbericht/{ELK}"),
        "bsn",
        json!(c.bsn),
    )
    .await;
    // The zorgaanbieder knows which corporatie is assigned (the Transferpunt's progress report).
    wait_for(
        &net,
        ZA,
        &case,
        "beoordeling",
        "toegewezen_corporatie",
        json!(ELK),
    )
    .await;

    net.write(
        ZA,
        &case,
        D::Melding,
        Some("signaal-1"),
        melding(&omschrijving),
    )
    .await
    .unwrap();
    // The Transferpunt may hold all of it: the canary is findable where it may be.
    wait_for(
        &net,
        TP,
        &case,
        "melding/signaal-1",
        "omschrijving",
        json!(omschrijving),
    )
    .await;
    assert!(
        found(&net, TP, &omschrijving),
        "the canary search finds what is there"
    );
    // The corporatie gets the summary…
    wait_for(
        &net,
        ELK,
        &case,
        "melding/signaal-1",
        "soort",
        json!("signaal"),
    )
    .await;

    // …and nothing else, in no form and no history.
    let mut failures = Vec::new();
    let at_elk = net.holds(ELK, &case).await["melding/signaal-1"].clone();
    for field in at_elk.as_object().unwrap().keys() {
        if !MELDING_SUMMARY.contains(&field.as_str()) {
            failures.push(format!(
                "the corporatie holds melding.{field}, not in the summary"
            ));
        }
    }
    if found(&net, ELK, &omschrijving) {
        failures.push("the melding's omschrijving is in the corporatie's files".into());
    }
    if net
        .documents(ELK, &case)
        .await
        .contains_key("melding/signaal-1")
    {
        failures.push(
            "the corporatie holds the zorgaanbieder's melding document whole (its CRDT history)"
                .into(),
        );
    }
    assert_none(&failures);
}

// ---------------------------------------------------------------------------------------------------------------
// 2. A gemeente's own form stays with the gemeente (and the Transferpunt)

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_verblijfgemeentes_own_gemeente_form_does_not_reach_the_herkomstgemeente() {
    let net = TestNet::start(&[ZA, TP, LWD, HRV]).await;
    let c = canaries(2);
    let toelichting = text_canary("toelichting-niet-akkoord", 2);
    // MO from Heerenveen, staying in Leeuwarden: both gemeenten get the aanmelding.
    let case = aanmelden(&net, &c, true, "GM0074", "GM0080").await;
    wait_for(
        &net,
        HRV,
        &case,
        "aanmelding",
        "achternaam_voorletters",
        json!(c.name),
    )
    .await;
    wait_for(
        &net,
        LWD,
        &case,
        "aanmelding",
        "achternaam_voorletters",
        json!(c.name),
    )
    .await;

    net.write(
        LWD,
        &case,
        D::Gemeente,
        None,
        json!({
            "akkoord_uitstroom": "niet_akkoord", "datum_akkoord": "2025-10-22",
            "toelichting_niet_akkoord": toelichting
        }),
    )
    .await
    .unwrap();
    let section = format!("gemeente/{LWD}");
    // The Transferpunt may have it…
    wait_for(
        &net,
        TP,
        &case,
        &section,
        "toelichting_niet_akkoord",
        json!(toelichting),
    )
    .await;
    // …and the herkomstgemeente keeps receiving the aanmelding after it, but never the form.
    rewrite_aanmelding(&net, &case, &c, "Woonstichting De Kei").await;
    wait_for(
        &net,
        HRV,
        &case,
        "aanmelding",
        "naam_vorige_verhuurder_of_instantie",
        json!("Woonstichting De Kei"),
    )
    .await;
    let mut failures = Vec::new();
    if shows_up(&net, HRV, &toelichting).await {
        failures.push(
            "the verblijfgemeente's toelichting_niet_akkoord is in the herkomstgemeente's files"
                .into(),
        );
    }
    if let Some(form) = net.holds(HRV, &case).await.get(&section) {
        failures.push(format!("the herkomstgemeente holds {section}: {form}"));
    }
    assert_none(&failures);
}

// ---------------------------------------------------------------------------------------------------------------
// 3. Consent withdrawn

/// A consented MO case from Leeuwarden whose registratie and aanmelding the Transferpunt and the gemeente hold.
async fn consented_case_everyone_holds(net: &TestNet, c: &Canaries) -> CaseId {
    let case = aanmelden(net, c, true, "GM0080", "GM0080").await;
    wait_for(net, TP, &case, "registratie", "bsn", json!(c.bsn)).await;
    wait_for(net, LWD, &case, "registratie", "bsn", json!(c.bsn)).await;
    wait_for(
        net,
        LWD,
        &case,
        "aanmelding",
        "achternaam_voorletters",
        json!(c.name),
    )
    .await;
    case
}

/// Whether `at` holds a live projection from `sender` whose `_meta` does not deny consent (it says the client
/// consented, or — should the facts a projection carries change — says nothing of it).
async fn told_consent_by(net: &TestNet, at: &str, sender: &str, case: &CaseId) -> bool {
    let records = net
        .node(at)
        .node()
        .store()
        .projections_of_case(case)
        .await
        .unwrap_or_default();
    records.iter().any(|p| {
        p.sender == sender
            && p.receiver == at
            && !p.retired
            && node::doc::load(&p.snapshot, [])
                .ok()
                .and_then(|am| node::doc::read_json(&am).ok())
                .is_some_and(|j| j["_meta"]["toestemming"] != json!(false))
    })
}

/// The zorgaanbieder expects outflow to Heerenveen and asks for bemiddeling; Heerenveen, the uitstroomgemeente,
/// hears of it from the Transferpunt.
async fn towards_heerenveen(net: &TestNet, case: &CaseId, c: &Canaries) {
    wait_until("the Transferpunt holds the registratie", WAIT, || async {
        net.holds(TP, case).await.contains_key("registratie")
    })
    .await;
    net.write(
        ZA,
        case,
        D::VervolgWonen,
        None,
        ex::vervolg_wonen(&c.client(), "GM0074", "2025-09-01"),
    )
    .await
    .unwrap();
    net.write(
        ZA,
        case,
        D::Bemiddelingsverzoek,
        None,
        ex::ingediend(
            ex::bemiddelingsverzoek("2025-10-01", "Kwadrant", Some("Benedenwoning")),
            "2025-10-01",
            1,
        ),
    )
    .await
    .unwrap();
    wait_for(
        net,
        TP,
        case,
        "bemiddelingsverzoek",
        "woonwens",
        json!("Benedenwoning"),
    )
    .await;
    wait_for(
        net,
        HRV,
        case,
        "vervolg_wonen",
        "uitstroomgemeente",
        json!("GM0074"),
    )
    .await;
}

/// The Transferpunt approves the request and chooses Heerenveen (not the
/// herkomstgemeente: away from a negative network).
async fn approve_for_heerenveen(net: &TestNet, case: &CaseId) {
    net.write(
        TP,
        case,
        D::Beoordeling,
        None,
        json!({ "status": "goedgekeurd", "datum_ontvangen": "2025-10-02", "datum_volledig": "2025-10-02",
                "gekozen_uitstroomgemeente": "GM0074",
                "reden_andere_gemeente": "negatief_netwerk" }),
    )
    .await
    .unwrap();
}

/// After the withdrawal: a new aanmelding value with a canary, then a witness; the canary must reach nobody.
async fn nothing_new_travels(net: &TestNet, case: &CaseId, c: &Canaries, tag: u64) -> Vec<String> {
    let after = text_canary("na-intrekking", tag);
    rewrite_aanmelding(net, case, c, &after).await;
    witness_reaches(net, tag + 50, "GM0080", &[TP, LWD]).await;
    let mut failures = Vec::new();
    for p in [TP, LWD] {
        if shows_up(net, p, &after).await {
            failures.push(format!(
                "a change made after consent was withdrawn reached {p}"
            ));
        }
    }
    failures
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consent_withdrawn_stops_every_new_field() {
    let net = TestNet::start(&[ZA, TP, LWD, HRV]).await;
    let c = canaries(3);
    let case = consented_case_everyone_holds(&net, &c).await;
    towards_heerenveen(&net, &case, &c).await;
    // The Transferpunt reports progress: the zorgaanbieder and the uitstroomgemeente hold it, in projections whose
    // `_meta` says the client consented.
    net.write(
        TP,
        &case,
        D::Beoordeling,
        None,
        json!({ "status": "in_behandeling", "datum_ontvangen": "2025-10-02" }),
    )
    .await
    .unwrap();
    wait_for(
        &net,
        ZA,
        &case,
        "beoordeling",
        "status",
        json!("in_behandeling"),
    )
    .await;
    wait_for(
        &net,
        HRV,
        &case,
        "beoordeling",
        "status",
        json!("in_behandeling"),
    )
    .await;
    assert!(
        told_consent_by(&net, ZA, TP, &case).await,
        "the zorgaanbieder holds the Transferpunt's projection, its _meta declaring consent"
    );
    withdraw_consent(&net, &case, &c, "GM0080").await;
    // Nothing new from the zorgaanbieder, though the Transferpunt told it in its `_meta` that consent was given.
    let mut failures = nothing_new_travels(&net, &case, &c, 3).await;

    // Nor from the Transferpunt, which was told consent was given too: its beoordeling, written after the
    // withdrawal, stays with it — while another client's reaches Heerenveen.
    approve_for_heerenveen(&net, &case).await;
    let w = canaries(63);
    let witness = aanmelden(&net, &w, true, "GM0080", "GM0080").await;
    towards_heerenveen(&net, &witness, &w).await;
    approve_for_heerenveen(&net, &witness).await;
    wait_for(
        &net,
        HRV,
        &witness,
        "beoordeling",
        "status",
        json!("goedgekeurd"),
    )
    .await;
    if eventually(SETTLE, || async {
        held(&net, HRV, &case, "beoordeling", "status").await == Some(json!("goedgekeurd"))
    })
    .await
    {
        failures.push("the Transferpunt's beoordeling, written after the withdrawal, reached the uitstroomgemeente".into());
    }
    if found(&net, HRV, &text_canary("na-intrekking", 3)) {
        failures
            .push("a change made after consent was withdrawn reached the uitstroomgemeente".into());
    }
    assert_none(&failures);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consent_withdrawn_keep_leaves_earlier_data_and_sends_nothing_new() {
    let net = start_with_policy(&[ZA, TP, LWD], policy_with_withdrawal("keep")).await;
    let c = canaries(4);
    let case = consented_case_everyone_holds(&net, &c).await;
    withdraw_consent(&net, &case, &c, "GM0080").await;
    let mut failures = nothing_new_travels(&net, &case, &c, 4).await;
    // What they lawfully received, they keep.
    if held(&net, TP, &case, "registratie", "bsn").await != Some(json!(c.bsn)) {
        failures.push(
            "the Transferpunt no longer holds the BSN it received before the withdrawal".into(),
        );
    }
    if held(&net, LWD, &case, "aanmelding", "achternaam_voorletters").await != Some(json!(c.name)) {
        failures.push(
            "the gemeente no longer holds the aanmelding it received before the withdrawal".into(),
        );
    }
    assert_none(&failures);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn consent_withdrawn_forget_deletes_what_partners_received() {
    let net = start_with_policy(&[ZA, TP, LWD], policy_with_withdrawal("forget")).await;
    let c = canaries(5);
    let case = consented_case_everyone_holds(&net, &c).await;
    withdraw_consent(&net, &case, &c, "GM0080").await;
    for p in [TP, LWD] {
        wait_until(
            &format!("{p} no longer holds the client's BSN or name"),
            WAIT,
            || async {
                let text = serde_json::to_string(&net.holds(p, &case).await).unwrap();
                !text.contains(&c.bsn) && !text.contains(&c.name)
            },
        )
        .await;
        wait_until_gone(&net, p, "the BSN or name", &[&c.bsn, &c.name]).await;
    }
    assert!(
        found(&net, ZA, &c.bsn),
        "the zorgaanbieder keeps its own client"
    );
}

// ---------------------------------------------------------------------------------------------------------------
// 4. Pulls outside the plan

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pull_outside_the_plan_is_not_answered() {
    let mut net = TestNet::start(&[ZA, TP, ELK]).await;
    let c = canaries(6);
    let omschrijving = text_canary("omschrijving", 6);
    let weigering = text_canary("weigering", 6);
    let case = aanmelden(&net, &c, true, "GM0080", "GM0080").await;
    // Elkien is assigned first, and refuses.
    assign(&net, &case, &c, ELK, json!([])).await;
    wait_for(
        &net,
        ELK,
        &case,
        &format!("aanmeldbericht/{ELK}"),
        "bsn",
        json!(c.bsn),
    )
    .await;
    net.write(
        ELK,
        &case,
        D::Reactie,
        None,
        json!({ "besluit": "geweigerd", "datum_besluit": "2025-10-24", "reden_weigering": "huurachterstand",
                "toelichting_weigering": weigering }),
    )
    .await
    .unwrap();
    wait_for(
        &net,
        TP,
        &case,
        &format!("reactie/{ELK}"),
        "toelichting_weigering",
        json!(weigering),
    )
    .await;
    net.write(
        ZA,
        &case,
        D::Melding,
        Some("signaal-1"),
        melding(&omschrijving),
    )
    .await
    .unwrap();
    wait_for(
        &net,
        TP,
        &case,
        "melding/signaal-1",
        "omschrijving",
        json!(omschrijving),
    )
    .await;
    // Then the rogue corporatie is assigned: it may write reacties and meldingen — its own.
    assign(
        &net,
        &case,
        &c,
        ROGUE,
        json!([
            { "corporatie": ELK, "datum_aanmelding": "2025-10-20", "uitkomst": "geweigerd" },
            { "corporatie": ROGUE, "datum_aanmelding": "2025-10-25", "uitkomst": "lopend" }
        ]),
    )
    .await;

    let mut rogue = Rogue::connect(&mut net, ROGUE, TP).await;
    let mut failures = rogue
        .pulls_nothing(&[
            format!("c/{case}/registratie"),
            format!("c/{case}/aanmelding"),
            format!("c/{case}/bemiddelingsverzoek"),
            format!("c/{case}/beoordeling"),
            format!("c/{case}/aanmeldbericht/{ELK}"),
            format!("c/{case}/reactie/{ELK}"),
            format!("c/{case}/melding/signaal-1"),
        ])
        .await;

    // A partner with nothing to do with the case declares itself the assigned corporatie to the zorgaanbieder,
    // then asks for the zorgaanbieder's melding: its word about itself gets it nothing.
    let mut intruder = Rogue::connect(&mut net, INTRUDER, ZA).await;
    let forged = meta(
        &[Relation::BetrokkenZorgaanbieder],
        &[Relation::ToegewezenCorporatie],
        Fase::Bemiddeling,
        true,
    );
    intruder
        .push(
            &format!("p/{case}/{INTRUDER}/{ZA}/1"),
            INTRUDER,
            &json!({ "_meta": forged }),
        )
        .await;
    intruder.settle().await;
    failures.extend(
        intruder
            .pulls_nothing(&[
                format!("c/{case}/melding/signaal-1"),
                format!("c/{case}/registratie"),
                format!("c/{case}/aanmelding"),
                format!("c/{case}/bemiddelingsverzoek"),
            ])
            .await
            .into_iter()
            .map(|f| format!("after declaring itself assigned, at the zorgaanbieder: {f}")),
    );
    assert_none(&failures);
}

// ---------------------------------------------------------------------------------------------------------------
// 5. Pushes into another partner's instance

/// A federation with a case assigned to the rogue corporatie, and the rogue connected to the Transferpunt.
async fn assigned_to_the_rogue(tag: u64) -> (TestNet, CaseId, Canaries, Rogue) {
    let mut net = TestNet::start(&[ZA, TP]).await;
    let c = canaries(tag);
    let case = aanmelden(&net, &c, true, "GM0080", "GM0080").await;
    assign(&net, &case, &c, ROGUE, json!([])).await;
    let rogue = Rogue::connect(&mut net, ROGUE, TP).await;
    (net, case, c, rogue)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_into_another_corporaties_reactie_is_refused() {
    let (net, case, _c, mut rogue) = assigned_to_the_rogue(7).await;
    // Its own reactie is taken: it may write reacties.
    rogue
        .push(
            &format!("c/{case}/reactie/{ROGUE}"),
            ROGUE,
            &json!({ "besluit": "informatie_gevraagd", "datum_besluit": "2025-10-22",
                     "informatieverzoek": "Graag de huurhistorie" }),
        )
        .await;
    wait_for(
        &net,
        TP,
        &case,
        &format!("reactie/{ROGUE}"),
        "besluit",
        json!("informatie_gevraagd"),
    )
    .await;
    let refusals_before = refusals(&net, TP).await.len();

    // Another corporatie's: a refusal in elkien's name.
    let doc = format!("c/{case}/reactie/{ELK}");
    let toelichting = text_canary("valse-weigering", 7);
    rogue
        .push(
            &doc,
            ROGUE,
            &json!({ "besluit": "geweigerd", "datum_besluit": "2025-10-23", "reden_weigering": "huurachterstand",
                     "toelichting_weigering": toelichting }),
        )
        .await;
    rogue.settle().await;
    let answers = rogue.about(&doc);

    let mut failures = Vec::new();
    // Refused (or answered as a document it takes no part in); never synced on.
    if answers.iter().any(|m| matches!(m, Message::Sync { .. })) {
        failures.push(format!(
            "the push was answered {:?}, not refused",
            answers.iter().map(kind_of).collect::<Vec<_>>()
        ));
    }
    if let Some(r) = net.holds(TP, &case).await.get(&format!("reactie/{ELK}")) {
        failures.push(format!(
            "the Transferpunt stored a reactie in elkien's name: {r}"
        ));
    }
    if found(&net, TP, &toelichting) {
        failures.push("the forged toelichting_weigering is in the Transferpunt's files".into());
    }
    let recorded = refusals(&net, TP).await;
    if !recorded[refusals_before..].iter().any(|e| e.contains(&doc)) {
        failures.push("no security event (audit refusal) names the document".into());
    }
    let counted = monitor_refusals(&net, ELK).await;
    if counted != 0 {
        failures.push(format!(
            "the monitor counts {counted} refusal(s) for elkien"
        ));
    }
    assert_none(&failures);
    honest_nodes_keep_syncing(&net, 57).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_push_into_another_partners_melding_is_refused() {
    let (net, case, _c, mut rogue) = assigned_to_the_rogue(8).await;
    let omschrijving = text_canary("omschrijving", 8);
    net.write(
        ZA,
        &case,
        D::Melding,
        Some("signaal-1"),
        melding(&omschrijving),
    )
    .await
    .unwrap();
    wait_for(
        &net,
        TP,
        &case,
        "melding/signaal-1",
        "omschrijving",
        json!(omschrijving),
    )
    .await;
    // Its own melding is taken: it may write meldingen.
    rogue
        .push(
            &format!("c/{case}/melding/rogue-1"),
            ROGUE,
            &json!({ "datum_melding": "2025-11-26", "melder": "corporatie", "soort": "signaal", "ave_niveau": 1,
                     "omschrijving": "Geluidsoverlast gemeld door buren", "status": "open" }),
        )
        .await;
    wait_for(
        &net,
        TP,
        &case,
        "melding/rogue-1",
        "melder",
        json!("corporatie"),
    )
    .await;
    let before = net.holds(TP, &case).await["melding/signaal-1"].clone();
    let refusals_before = refusals(&net, TP).await.len();

    let doc = format!("c/{case}/melding/signaal-1");
    // A field the zorgaanbieder left empty, so the forged value would show (no conflict to lose).
    let forged = text_canary("valse-afhandeling", 8);
    rogue
        .push(&doc, ROGUE, &json!({ "afhandeling": forged }))
        .await;
    rogue.settle().await;
    let answers = rogue.about(&doc);

    let mut failures = Vec::new();
    // Refused (or answered as a document it takes no part in); never synced on.
    if answers.iter().any(|m| matches!(m, Message::Sync { .. })) {
        failures.push(format!(
            "the push was answered {:?}, not refused",
            answers.iter().map(kind_of).collect::<Vec<_>>()
        ));
    }
    let after = net.holds(TP, &case).await["melding/signaal-1"].clone();
    if after != before {
        failures.push(format!(
            "the zorgaanbieder's melding changed at the Transferpunt: {before} -> {after}"
        ));
    }
    if found(&net, TP, &forged) {
        failures.push("the forged afhandeling is in the Transferpunt's files".into());
    }
    let recorded = refusals(&net, TP).await;
    if !recorded[refusals_before..].iter().any(|e| e.contains(&doc)) {
        failures.push("no security event (audit refusal) names the document".into());
    }
    assert_none(&failures);
    honest_nodes_keep_syncing(&net, 58).await;
}

// ---------------------------------------------------------------------------------------------------------------
// 6. Forged facts from a partner with nothing to do with the case

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_meta_from_an_unrelated_partner_changes_nothing() {
    let mut net = TestNet::start(&[ZA, TP, LWD, HRV]).await;
    let c = canaries(9);
    let later = text_canary("na-vervalsing", 9);
    // No consent.
    let case = aanmelden(&net, &c, false, "GM0074", "GM0080").await;

    // The rogue declares consent, a bemiddeling under way and relations, to every node of the case.
    let forgeries: [(&str, Vec<Relation>); 4] = [
        (ZA, vec![Relation::BetrokkenZorgaanbieder]),
        (TP, vec![Relation::Transferpunt]),
        (
            LWD,
            vec![Relation::Verblijfgemeente, Relation::Uitstroomgemeente],
        ),
        (
            HRV,
            vec![Relation::Herkomstgemeente, Relation::Uitstroomgemeente],
        ),
    ];
    let mut rogues = Vec::new();
    for (to, ontvanger) in forgeries {
        let mut rogue = Rogue::connect(&mut net, ROGUE, to).await;
        let forged = meta(
            &ontvanger,
            &[Relation::ToegewezenCorporatie],
            Fase::Bemiddeling,
            true,
        );
        rogue
            .push(
                &format!("p/{case}/{ROGUE}/{to}/1"),
                ROGUE,
                &json!({ "_meta": forged }),
            )
            .await;
        rogue.settle().await;
        rogues.push(rogue);
    }
    // The case changes after the forgery; then a witness proves the zorgaanbieder's sessions ran since.
    rewrite_aanmelding(&net, &case, &c, &later).await;
    witness_reaches(&net, 59, "GM0074", &[TP, LWD, HRV]).await;

    let mut failures = Vec::new();
    for p in [TP, LWD, HRV] {
        for (label, needle) in [
            ("BSN", c.bsn.as_str()),
            ("name", c.name.as_str()),
            ("reden_dakloosheid", c.reden.as_str()),
            ("later change", later.as_str()),
        ] {
            if shows_up(&net, p, needle).await {
                failures.push(format!(
                    "the client without consent: its {label} reached {p}"
                ));
            }
        }
        let holds = net.holds(p, &case).await;
        if !holds.is_empty() {
            failures.push(format!(
                "{p} holds {:?} of the client without consent",
                holds.keys().collect::<Vec<_>>()
            ));
        }
    }
    assert_none(&failures);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_forged_closed_phase_from_an_unrelated_partner_stops_no_flow() {
    let mut net = TestNet::start(&[ZA, TP, LWD]).await;
    let c = canaries(10);
    let case = aanmelden(&net, &c, true, "GM0080", "GM0080").await;
    wait_for(
        &net,
        LWD,
        &case,
        "aanmelding",
        "achternaam_voorletters",
        json!(c.name),
    )
    .await;

    let mut rogues = Vec::new();
    for (to, ontvanger) in [
        (ZA, Relation::BetrokkenZorgaanbieder),
        (TP, Relation::Transferpunt),
        (LWD, Relation::Verblijfgemeente),
    ] {
        let mut rogue = Rogue::connect(&mut net, ROGUE, to).await;
        let forged = meta(
            &[ontvanger],
            &[Relation::ToegewezenCorporatie],
            Fase::Afgesloten,
            true,
        );
        rogue
            .push(
                &format!("p/{case}/{ROGUE}/{to}/1"),
                ROGUE,
                &json!({ "_meta": forged }),
            )
            .await;
        rogue.settle().await;
        rogues.push(rogue);
    }
    // The case is not closed: the gemeente of verblijf keeps receiving the aanmelding (a flow of the open phases).
    rewrite_aanmelding(&net, &case, &c, "Woonstichting Noord").await;
    wait_for(
        &net,
        LWD,
        &case,
        "aanmelding",
        "naam_vorige_verhuurder_of_instantie",
        json!("Woonstichting Noord"),
    )
    .await;
    wait_for(
        &net,
        TP,
        &case,
        "aanmelding",
        "naam_vorige_verhuurder_of_instantie",
        json!("Woonstichting Noord"),
    )
    .await;
    assert_eq!(
        held(&net, LWD, &case, "registratie", "bsn").await,
        Some(json!(c.bsn)),
        "the gemeente still holds the registratie"
    );
}

// ---------------------------------------------------------------------------------------------------------------
// 7. Without consent, not even the facts

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_meta_only_projection_tells_nothing_without_consent() {
    let net = TestNet::start(&[ZA, TP, LWD, HRV]).await;
    let c = canaries(11);
    // MO from Heerenveen, staying in Leeuwarden, no consent.
    let case = aanmelden(&net, &c, false, "GM0074", "GM0080").await;
    // A client with consent and the same gemeenten, registered afterwards, reaches them all.
    let w = canaries(61);
    let witness = aanmelden(&net, &w, true, "GM0074", "GM0080").await;
    for p in [TP, LWD, HRV] {
        wait_for(
            &net,
            p,
            &witness,
            "aanmelding",
            "achternaam_voorletters",
            json!(w.name),
        )
        .await;
    }
    let mut failures = Vec::new();
    for p in [LWD, HRV, TP] {
        if shows_up(&net, p, case.as_str()).await {
            failures.push(format!(
                "{p}'s files contain the id of the case without consent"
            ));
        }
        let projections = net
            .node(p)
            .node()
            .store()
            .projections_of_case(&case)
            .await
            .unwrap_or_default();
        if !projections.is_empty() {
            let names: Vec<_> = projections.iter().map(|r| r.wire_id.as_str()).collect();
            failures.push(format!(
                "{p} holds projections of the case without consent: {names:?}"
            ));
        }
        let holds = net.holds(p, &case).await;
        if !holds.is_empty() {
            failures.push(format!("{p} holds {:?}", holds.keys().collect::<Vec<_>>()));
        }
    }
    assert_none(&failures);
}

// ---------------------------------------------------------------------------------------------------------------
// 8. A whole-document share ends with the relation

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_whole_document_share_is_withdrawn_when_the_relation_ends() {
    let net = start_with_policy(&[ZA, TP], policy_with_withdrawal("forget")).await;
    let c = canaries(12);
    let woonwens = text_canary("woonwens", 12);
    let case = aanmelden(&net, &c, true, "GM0080", "GM0080").await;
    wait_for(&net, TP, &case, "registratie", "bsn", json!(c.bsn)).await;
    net.write(
        ZA,
        &case,
        D::Bemiddelingsverzoek,
        None,
        ex::ingediend(
            ex::bemiddelingsverzoek("2025-10-01", "Kwadrant", Some(woonwens.as_str())),
            "2025-10-01",
            1,
        ),
    )
    .await
    .unwrap();
    wait_for(
        &net,
        TP,
        &case,
        "bemiddelingsverzoek",
        "woonwens",
        json!(woonwens),
    )
    .await;
    assert!(
        net.documents(TP, &case)
            .await
            .contains_key("bemiddelingsverzoek"),
        "the bemiddelingsverzoek is shared whole with the Transferpunt (the premise of this test)"
    );
    withdraw_consent(&net, &case, &c, "GM0080").await;
    wait_until(
        "the Transferpunt no longer holds the bemiddelingsverzoek",
        WAIT,
        || async {
            !net.holds(TP, &case)
                .await
                .contains_key("bemiddelingsverzoek")
        },
    )
    .await;
    wait_until_gone(&net, TP, "the bemiddelingsverzoek's woonwens", &[&woonwens]).await;
}

// ---------------------------------------------------------------------------------------------------------------
// 9. No disclosure without its audit record

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_disclosure_is_not_sent_without_its_audit_record() {
    use sqlx::{Connection as _, Executor as _};

    let net = TestNet::start(&[ZA, TP, LWD]).await;
    // The zorgaanbieder's audit log refuses every disclosure to the Transferpunt (and only those).
    let db = net.node(ZA).path().join("node.db");
    let mut conn = sqlx::SqliteConnection::connect_with(
        &sqlx::sqlite::SqliteConnectOptions::new().filename(&db),
    )
    .await
    .expect("the zorgaanbieder's database opens");
    conn.execute(
        r#"CREATE TRIGGER enforcement_test_audit_fails BEFORE INSERT ON audit_log
           WHEN NEW.entry LIKE '%"name":"disclosure"%' AND NEW.entry LIKE '%"peer":"transferpunt:sdf"%'
           BEGIN SELECT RAISE(ABORT, 'audit log unavailable (test)'); END"#,
    )
    .await
    .expect("the trigger is created");

    let c = canaries(13);
    let case = aanmelden(&net, &c, true, "GM0080", "GM0080").await;
    // The gemeente receives: the zorgaanbieder's sessions ran.
    wait_for(&net, LWD, &case, "registratie", "bsn", json!(c.bsn)).await;
    let mut failures = Vec::new();
    if shows_up(&net, TP, &c.bsn).await {
        failures.push("a disclosure whose audit record failed reached the Transferpunt".into());
    }
    if !net.holds(TP, &case).await.is_empty() {
        failures.push("the Transferpunt holds data sent without an audit record".into());
    }

    // Once the audit log works again, the disclosure is made, with its record.
    conn.execute("DROP TRIGGER enforcement_test_audit_fails")
        .await
        .expect("the trigger is dropped");
    conn.close().await.ok();
    rewrite_aanmelding(&net, &case, &c, "Woonstichting Zuid").await;
    wait_for(
        &net,
        TP,
        &case,
        "aanmelding",
        "naam_vorige_verhuurder_of_instantie",
        json!("Woonstichting Zuid"),
    )
    .await;
    let audit = net.audit(ZA).await;
    let disclosed = audit.iter().any(|r| {
        r.entry.contains(r#""name":"disclosure""#)
            && r.entry.contains(&format!(r#""peer":"{TP}""#))
            && r.entry.contains(case.as_str())
    });
    if !disclosed {
        failures.push("the disclosure to the Transferpunt has no audit record".into());
    }
    assert_none(&failures);
}
