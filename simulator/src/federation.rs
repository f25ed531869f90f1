//! A deterministic in-memory federation: every client's path written at the partners' nodes and shared the way
//! the nodes share it, with the nodes' own code deciding.
//!
//! For every event of a case, in date order:
//! 1. the author's node decides the write exactly as `Node::write_form` does — [`Validator::form`], then
//!    [`node::service::decide_write`] (rules across forms, own clients only, the policy's write rules);
//! 2. the change travels: every node holding something of the case re-plans what it shares with every partner
//!    involved in the case (and with one uninvolved partner of each role, a *bystander*, standing in for all of
//!    them — the policy cannot tell uninvolved partners of a role apart) using [`node::sync::plan::plan`];
//!    whole documents and projections arrive as the receiving node would store them
//!    ([`node::projection::content_of`], [`node::case::LoadedCase::add_projection`]), and nodes that
//!    received something plan again, until nothing changes.
//!
//! The network is perfect and instant here: faults are [`crate::faults`]' business, with real nodes over real QUIC.
//! Every field that crosses from one partner to another is a [`Disclosure`], with the flow that allowed it.
//!
//! Cases are independent, so they are simulated on all cores; results are merged in client order, so the outcome
//! does not depend on scheduling.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicUsize, Ordering};

use node::case::{LoadedCase, LocalDoc};
use node::facts::facts_of;
use node::projection::{self, Content};
use node::service::decide_write;
use node::store::CaseId;
use node::store::DocKey;
use node::sync::accept;
use node::sync::plan::{Plan, plan};
use policies::{DocumentKind, FieldId, PartnerId, Policy, Role, Validator};
use serde_json::{Map, Value as Json};

use crate::population::{Client, Event, Partners, Population};

/// The flow recorded for a projected field no flow explains. `plan` projects only allowed fields, so this never
/// shows unless that invariant breaks — and then the report shows it rather than hiding it.
pub const UNEXPLAINED: &str = "zonder stroom (fout in de node)";

/// A flow of the policy a run used, by its position in [`Policy::flows`]; `None`: [`UNEXPLAINED`].
pub type FlowIndex = Option<u16>;

/// The name of a flow index under a policy.
pub fn flow_name(policy: &Policy, flow: FlowIndex) -> &str {
    flow.and_then(|i| policy.flows.get(usize::from(i)))
        .map_or(UNEXPLAINED, |f| f.name.as_str())
}

/// Roles that get a bystander: an uninvolved partner standing in for every uninvolved partner of its role.
pub const BYSTANDER_ROLES: [Role; 4] = [
    Role::Gemeente,
    Role::Corporatie,
    Role::Zorgaanbieder,
    Role::Huurdersorganisatie,
];

/// One field that crossed from one partner to another in one case (the first time it did).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Disclosure {
    /// The sender.
    pub sender: PartnerId,
    /// The receiver.
    pub receiver: PartnerId,
    /// The field.
    pub field: FieldId,
}

/// What is known of a disclosure beyond its key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisclosureInfo {
    /// The flow that allowed it.
    pub flow: FlowIndex,
    /// Whether the receiver is a bystander (uninvolved in the case).
    pub bystander: bool,
    /// The receiver's relations to the case, as the sender saw them.
    pub relations: Vec<policies::Relation>,
    /// A case attribute the decision may depend on that the case did not record yet (`herkomstgemeente`,
    /// `BW/MO`) whenever this disclosure was made: a change in such a disclosure is *uncertain* — it may go either
    /// way once the attribute is known. Cleared when the same disclosure is made again with the case complete.
    pub missing: Option<&'static str>,
    /// The index of the event after which it happened.
    pub event: usize,
}

/// A write the author's node refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RefusedWrite {
    /// The index of the event.
    pub event: usize,
    /// Why, as the node says it.
    pub reason: String,
}

/// The outcome of one client's case.
#[derive(Debug, Clone)]
pub struct CaseOutcome {
    /// The client's number.
    pub client: u32,
    /// Every disclosure.
    pub disclosures: BTreeMap<Disclosure, DisclosureInfo>,
    /// Writes refused.
    pub refused: Vec<RefusedWrite>,
    /// What the Transferpunt holds at the end, for its monitor.
    pub transferpunt: node::monitor::MonitorCase,
    /// Plans evaluated (for benchmarks).
    pub plans: usize,
}

/// What a run keeps of a case: counts and the Transferpunt's view, not every disclosure — so a national run holds
/// little more than the monitor's data.
#[derive(Debug, Clone)]
pub struct CaseSummary {
    /// The client's number.
    pub client: u32,
    /// Disclosures per (flow, receiving role, field).
    pub per_flow: BTreeMap<(FlowIndex, Role, FieldId), u32>,
    /// The fields each partner received, and whether it was a bystander.
    pub received: BTreeMap<PartnerId, (policies::FieldSet, bool)>,
    /// The pairs of partners that exchanged data (smaller id first): the connections the case needs.
    pub pairs: BTreeSet<(PartnerId, PartnerId)>,
    /// Writes refused.
    pub refused: Vec<RefusedWrite>,
    /// What the Transferpunt holds at the end.
    pub transferpunt: node::monitor::MonitorCase,
    /// Plans evaluated.
    pub plans: usize,
}

impl CaseSummary {
    /// All disclosures of the case.
    pub fn disclosures(&self) -> usize {
        self.per_flow.values().map(|&n| n as usize).sum()
    }
}

impl CaseOutcome {
    /// Keep the counts and the Transferpunt's view.
    pub fn summarise(self) -> CaseSummary {
        let mut per_flow: BTreeMap<(FlowIndex, Role, FieldId), u32> = BTreeMap::new();
        let mut received: BTreeMap<PartnerId, (policies::FieldSet, bool)> = BTreeMap::new();
        let mut pairs = BTreeSet::new();
        for (d, info) in self.disclosures {
            let pair = if d.sender < d.receiver {
                (d.sender, d.receiver.clone())
            } else {
                (d.receiver.clone(), d.sender)
            };
            pairs.insert(pair);
            *per_flow
                .entry((info.flow, d.receiver.role(), d.field))
                .or_default() += 1;
            let e = received.entry(d.receiver).or_default();
            e.0.insert(d.field);
            e.1 |= info.bystander;
        }
        CaseSummary {
            client: self.client,
            per_flow,
            received,
            pairs,
            refused: self.refused,
            transferpunt: self.transferpunt,
            plans: self.plans,
        }
    }
}

/// A node's holdings of one case.
#[derive(Debug, Clone, Default)]
struct Holding {
    /// Its own documents and those shared whole with it.
    docs: BTreeMap<(DocumentKind, String), LocalDoc>,
    /// Projections received, by sender: the content and what the node reads in it.
    received: BTreeMap<PartnerId, (Map<String, Json>, Content)>,
}

impl Holding {
    fn loaded(&self) -> LoadedCase {
        let mut docs = policies::CaseDocuments::new();
        for d in self.docs.values() {
            docs.insert(d.form.clone());
        }
        let mut loaded = LoadedCase::new(docs, Vec::new());
        for (sender, (_, content)) in &self.received {
            loaded.add_projection(Some(sender.clone()), content.clone());
        }
        loaded
    }

    fn local_docs(&self) -> Vec<LocalDoc> {
        self.docs.values().cloned().collect()
    }
}

/// Runs cases under one policy.
#[derive(Debug)]
pub struct Engine<'a> {
    policy: &'a Policy,
    partners: &'a Partners,
    flow_index: BTreeMap<&'a str, u16>,
}

impl<'a> Engine<'a> {
    /// An engine for a policy and a federation.
    pub fn new(policy: &'a Policy, partners: &'a Partners) -> Self {
        let flow_index = policy
            .flows
            .iter()
            .enumerate()
            .rev()
            .map(|(i, f)| (f.name.as_str(), i as u16))
            .collect();
        Engine {
            policy,
            partners,
            flow_index,
        }
    }

    /// Simulate one client's case.
    pub fn run_case(&self, client: &Client) -> CaseOutcome {
        self.run_case_observed(client, None)
    }

    /// Simulate one client's case, showing `observe` what every partner holds after each event (accepted or
    /// refused): how the simulation is checked against real nodes.
    pub fn run_case_observed(
        &self,
        client: &Client,
        mut observe: Option<&mut Observer<'_>>,
    ) -> CaseOutcome {
        let case_id = case_id(client.number);
        let mut holdings: BTreeMap<PartnerId, Holding> = BTreeMap::new();
        let mut involved: BTreeSet<PartnerId> =
            BTreeSet::from([self.partners.transferpunt.clone()]);
        let mut out = CaseOutcome {
            client: client.number,
            disclosures: BTreeMap::new(),
            refused: Vec::new(),
            transferpunt: node::monitor::MonitorCase::default(),
            plans: 0,
        };
        for (i, event) in client.events.iter().enumerate() {
            involved.insert(event.author.clone());
            collect_partners(&event.form, &mut involved);
            if let Err(reason) = self.write(&case_id, &mut holdings, event) {
                out.refused.push(RefusedWrite { event: i, reason });
            } else {
                let peers: Vec<(PartnerId, bool)> = involved
                    .iter()
                    .map(|p| (p.clone(), false))
                    .chain(self.bystanders(&involved).into_iter().map(|p| (p, true)))
                    .collect();
                self.propagate(&mut holdings, &event.author, &peers, i, &mut out);
            }
            if let Some(observe) = observe.as_mut() {
                observe(i, &view(&holdings));
            }
        }
        let tp = holdings
            .remove(&self.partners.transferpunt)
            .unwrap_or_default();
        out.transferpunt = node::monitor::MonitorCase::from_loaded(
            &format!("client-{:05}", client.number),
            &transferpunt_view(&tp),
        );
        out
    }

    /// The first uninvolved partner of each bystander role.
    fn bystanders(&self, involved: &BTreeSet<PartnerId>) -> Vec<PartnerId> {
        BYSTANDER_ROLES
            .iter()
            .filter_map(|role| {
                self.partners
                    .of_role(*role)
                    .iter()
                    .find(|p| !involved.contains(*p))
                    .cloned()
            })
            .collect()
    }

    /// The author's node decides the write as `Node::write_form` does.
    fn write(
        &self,
        case_id: &CaseId,
        holdings: &mut BTreeMap<PartnerId, Holding>,
        event: &Event,
    ) -> Result<(), String> {
        let validator = Validator::new(&self.partners.register, event.date);
        let form = validator
            .form(event.kind, &event.form)
            .map_err(|e| node::service::ServiceError::from(e).to_string())?;
        let holding = holdings.entry(event.author.clone()).or_default();
        let key = (event.kind, event.instance.clone());
        let old = holding.docs.get(&key).map(|d| d.form.to_json());
        let mut loaded = holding.loaded();
        let touched = decide_write(
            self.policy,
            &validator,
            &event.author,
            &mut loaded,
            old.as_ref(),
            &form,
        )
        .map_err(|e| e.to_string())?;
        let doc = holding.docs.entry(key).or_insert_with(|| LocalDoc {
            key: DocKey {
                case: case_id.clone(),
                kind: event.kind,
                instance: event.instance.clone(),
            },
            form: form.clone(),
            authors: BTreeMap::new(),
            creator: Some(node::doc::actor_for(&event.author)),
            generation: 0,
        });
        doc.form = form;
        let written = doc
            .authors
            .entry(node::doc::actor_for(&event.author))
            .or_default();
        for f in touched {
            written.insert(f);
        }
        Ok(())
    }

    /// Share until nothing changes: every node that changed plans for every peer.
    fn propagate(
        &self,
        holdings: &mut BTreeMap<PartnerId, Holding>,
        author: &PartnerId,
        peers: &[(PartnerId, bool)],
        event: usize,
        out: &mut CaseOutcome,
    ) {
        let missing = missing_attribute(holdings);
        let mut dirty: BTreeSet<PartnerId> = BTreeSet::from([author.clone()]);
        // Every round moves data one hop; a case has few hops (author → Transferpunt → corporatie), so a bound
        // this size is never reached by a policy that converges.
        for _ in 0..16 {
            if dirty.is_empty() {
                break;
            }
            let mut next = BTreeSet::new();
            for sender in std::mem::take(&mut dirty) {
                let Some(h) = holdings.get(&sender) else {
                    continue;
                };
                let loaded = h.loaded();
                let docs = h.local_docs();
                let validator = Validator::new(&self.partners.register, time::Date::MAX);
                for (peer, bystander) in peers.iter().filter(|(p, _)| *p != sender) {
                    let offer = self.offer(&sender, peer, &loaded, &docs);
                    out.plans += 1;
                    let facts = facts_of(&sender, &loaded, &[peer]);
                    let mut log = DisclosureLog {
                        disclosures: &mut out.disclosures,
                        sender: &sender,
                        receiver: peer,
                        bystander: *bystander,
                        relations: facts.relations_of(peer),
                        missing,
                        event,
                    };
                    // A projected field counts as disclosed once planned, whether or not the receiver takes
                    // the projection in this round.
                    for f in offer.plan.projection_fields.iter() {
                        log.record(f, offer.flows.get(&f).copied().flatten());
                    }
                    let target = holdings.entry(peer.clone()).or_default();
                    // The receiver takes data in with the node's own accept code (`node::sync::accept`), judging
                    // by what it held before this round.
                    let target_loaded = target.loaded();
                    let took_documents =
                        self.take_documents(&offer, target, &target_loaded, &mut log);
                    let took_projection =
                        self.take_projection(&offer, target, &target_loaded, &validator);
                    if took_documents || took_projection {
                        next.insert(peer.clone());
                    }
                }
            }
            dirty = next;
        }
    }

    /// What `sender` shares with `peer`, as the node plans it, with the flow (by index) behind each field.
    fn offer<'s>(
        &self,
        sender: &'s PartnerId,
        peer: &'s PartnerId,
        loaded: &LoadedCase,
        docs: &'s [LocalDoc],
    ) -> Offer<'s> {
        let plan = plan(self.policy, sender, peer, loaded, docs);
        let flows = plan
            .flows
            .iter()
            .map(|(f, name)| (*f, self.flow_index.get(name.as_str()).copied()))
            .collect();
        Offer {
            sender,
            peer,
            plan,
            docs,
            flows,
        }
    }

    /// The peer takes in the documents shared whole with it, each as the real node's accept code would; true if
    /// that changed what it holds.
    fn take_documents(
        &self,
        offer: &Offer,
        target: &mut Holding,
        target_loaded: &LoadedCase,
        log: &mut DisclosureLog,
    ) -> bool {
        let (sender, peer) = (offer.sender, offer.peer);
        let mut changed = false;
        for key in &offer.plan.full {
            let Some(doc) = offer
                .docs
                .iter()
                .find(|d| d.key.kind == key.kind && d.key.instance == key.instance)
            else {
                continue;
            };
            let creator = target
                .docs
                .get(&(key.kind, key.instance.clone()))
                .and_then(|d| d.creator.clone())
                .or_else(|| doc.creator.clone());
            // Judged on the case as the document leaves it, as the node's receive core does.
            let target_facts = accept::pushed_facts(peer, target_loaded, sender, &doc.form);
            let cx = accept::FormContext {
                policy: self.policy,
                me: peer,
                peer: sender,
                key,
                creator: creator.as_ref(),
                facts: &target_facts,
            };
            let sent = doc
                .authors
                .get(&node::doc::actor_for(sender))
                .copied()
                .unwrap_or_default();
            if let Err(refusal) = accept::form_fields(&cx, sent.iter()) {
                tracing::warn!(sender = %sender, receiver = %peer, doc = ?key, %refusal, "the receiver refuses a whole document the sender shares");
                continue;
            }
            // Fields no flow lets the peer receive are the peer's own writes in the shared document:
            // nothing is disclosed by handing them back.
            for f in doc.form.field_ids() {
                if let Some(flow) = offer.flows.get(&f) {
                    log.record(f, *flow);
                }
            }
            let slot = (key.kind, key.instance.clone());
            let same = target
                .docs
                .get(&slot)
                .is_some_and(|d| d.form == doc.form && d.authors == doc.authors);
            if !same {
                target.docs.insert(slot, doc.clone());
                changed = true;
            }
        }
        changed
    }

    /// The peer takes in the sender's projection if it is new and its accept code lets it, or drops the one it
    /// held when the sender has nothing left to project; true if that changed what it holds.
    fn take_projection(
        &self,
        offer: &Offer,
        target: &mut Holding,
        target_loaded: &LoadedCase,
        validator: &Validator<'_>,
    ) -> bool {
        let (sender, peer, p) = (offer.sender, offer.peer, &offer.plan);
        if p.projection.is_empty() {
            // A projection that would hold nothing is withdrawn (rotated away in the real node).
            return target.received.remove(sender).is_some();
        }
        if target.received.get(sender).map(|(m, _)| m) == Some(&p.projection) {
            // Taken in already: nothing changes.
            return false;
        }
        let content = projection::content_of(&p.projection, validator);
        let taken = content
            .meta
            .as_ref()
            .ok_or_else(|| accept::Refusal::new("a projection without _meta"))
            .and_then(|meta| {
                accept::projection_facts(peer, sender, target_loaded, meta, &content.forms)
            })
            .and_then(|facts| {
                accept::projection_fields(self.policy, sender, peer, &facts, p.projection_fields)
            });
        match taken {
            Ok(()) => {
                target
                    .received
                    .insert(sender.clone(), (p.projection.clone(), content));
                true
            }
            Err(refusal) => {
                tracing::debug!(sender = %sender, receiver = %peer, %refusal, "the receiver does not take the projection (yet)");
                false
            }
        }
    }
}

/// What one sender shares with one peer in a round of `propagate`.
struct Offer<'s> {
    sender: &'s PartnerId,
    peer: &'s PartnerId,
    plan: Plan,
    /// The sender's documents, that `plan.full` names.
    docs: &'s [LocalDoc],
    /// The flow that lets each field travel; `None` inside for a flow the engine has no index for.
    flows: BTreeMap<FieldId, FlowIndex>,
}

/// Records the disclosures one sender makes to one peer after one event.
struct DisclosureLog<'o> {
    disclosures: &'o mut BTreeMap<Disclosure, DisclosureInfo>,
    sender: &'o PartnerId,
    receiver: &'o PartnerId,
    bystander: bool,
    /// The receiver's relations to the case, as the sender sees them.
    relations: Vec<policies::Relation>,
    missing: Option<&'static str>,
    event: usize,
}

impl DisclosureLog<'_> {
    /// Record that `field` crossed under `flow`; a disclosure made before keeps its first event and flow.
    fn record(&mut self, field: FieldId, flow: FlowIndex) {
        self.disclosures
            .entry(Disclosure {
                sender: self.sender.clone(),
                receiver: self.receiver.clone(),
                field,
            })
            .and_modify(|known| {
                // Made again once the case is complete: it does not hang on the missing
                // attribute.
                if self.missing.is_none() {
                    known.missing = None;
                }
            })
            .or_insert_with(|| DisclosureInfo {
                flow,
                bystander: self.bystander,
                relations: self.relations.clone(),
                missing: self.missing,
                event: self.event,
            });
    }
}

/// What each partner holds of a case: per section (`registratie`, `reactie/corporatie:elkien`) the fields as JSON —
/// its own and whole-shared documents, and the fields of every projection it received, merged per section.
pub type HoldingsView = BTreeMap<PartnerId, BTreeMap<String, Json>>;

/// Told, after each event of a case (by index), what every partner holds.
pub type Observer<'a> = dyn FnMut(usize, &HoldingsView) + 'a;

fn view(holdings: &BTreeMap<PartnerId, Holding>) -> HoldingsView {
    holdings
        .iter()
        .map(|(p, h)| {
            let mut sections: BTreeMap<String, Json> = h
                .docs
                .values()
                .map(|d| {
                    (
                        projection::section_name(d.key.kind, &d.key.instance),
                        d.form.to_json(),
                    )
                })
                .collect();
            for (_, content) in h.received.values() {
                for (section, form) in &content.forms {
                    merge_section(&mut sections, section, form.to_json());
                }
            }
            (p.clone(), sections)
        })
        .filter(|(_, s)| !s.is_empty())
        .collect()
}

/// Add a projected section's fields to what is held under its name; a field already held is kept.
pub fn merge_section(sections: &mut BTreeMap<String, Json>, section: &str, fields: Json) {
    match (sections.get_mut(section), fields) {
        (Some(Json::Object(held)), Json::Object(more)) => {
            for (k, v) in more {
                held.entry(k).or_insert(v);
            }
        }
        (None, fields) => {
            sections.insert(section.to_string(), fields);
        }
        _ => {}
    }
}

/// The first attribute relations or flows depend on that the case's registratie (wherever it is held whole) does
/// not record yet.
fn missing_attribute(holdings: &BTreeMap<PartnerId, Holding>) -> Option<&'static str> {
    let registratie = holdings
        .values()
        .find_map(|h| h.docs.get(&(DocumentKind::Registratie, String::new())))?;
    if registratie.form.text("herkomstgemeente").is_none() {
        Some("herkomstgemeente")
    } else if registratie.form.text("soort_voorziening").is_none() {
        Some("BW/MO")
    } else {
        None
    }
}

/// The Transferpunt's holding as its node would load it; instance documents it stores itself keep their keys.
fn transferpunt_view(h: &Holding) -> LoadedCase {
    let mut loaded = h.loaded();
    loaded.keys = h
        .docs
        .values()
        .map(|d| {
            node::store::DocKey::instance(d.key.case.clone(), d.key.kind, d.key.instance.clone())
        })
        .collect();
    loaded
}

/// A stable case id for a client: the simulated federation's ids do not come from a random source.
pub fn case_id(client: u32) -> CaseId {
    format!("00000000-0000-4000-8000-{client:012}")
        .parse()
        .expect("a valid UUID")
}

/// Every partner a form names: partner ids (`corporatie:elkien`) and gemeente codes (`GM0080`).
fn collect_partners(form: &Json, into: &mut BTreeSet<PartnerId>) {
    match form {
        Json::String(s) => {
            if let Ok(p) = s.parse::<PartnerId>() {
                into.insert(p);
            } else if policies::gemeenten::is_cbs_code_format(s)
                && let Ok(p) = PartnerId::new(Role::Gemeente, s)
            {
                into.insert(p);
            }
        }
        Json::Array(v) => v.iter().for_each(|x| collect_partners(x, into)),
        Json::Object(m) => m.values().for_each(|x| collect_partners(x, into)),
        _ => {}
    }
}

/// Run every client of a population under a policy, on all cores; `progress` is told how many are done.
pub fn run(
    policy: &Policy,
    population: &Population,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Vec<CaseSummary> {
    let engine = Engine::new(policy, &population.partners);
    run_with(population, progress, |client| {
        engine.run_case(client).summarise()
    })
}

/// Run `f` for every client on all cores and return the results in client order.
pub fn run_with<T: Send>(
    population: &Population,
    progress: &(dyn Fn(usize, usize) + Sync),
    f: impl Fn(&Client) -> T + Sync,
) -> Vec<T> {
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .min(16);
    let total = population.clients.len();
    let done = AtomicUsize::new(0);
    let mut parts: Vec<Vec<(usize, T)>> = Vec::new();
    std::thread::scope(|s| {
        let handles: Vec<_> = (0..threads)
            .map(|t| {
                let done = &done;
                let f = &f;
                s.spawn(move || {
                    let mut mine = Vec::new();
                    for (i, client) in population
                        .clients
                        .iter()
                        .enumerate()
                        .skip(t)
                        .step_by(threads)
                    {
                        mine.push((i, f(client)));
                        let n = done.fetch_add(1, Ordering::Relaxed) + 1;
                        if t == 0 {
                            progress(n, total);
                        }
                    }
                    mine
                })
            })
            .collect();
        for h in handles {
            parts.push(h.join().expect("a simulation thread panicked"));
        }
    });
    progress(total, total);
    let mut all: Vec<(usize, T)> = parts.into_iter().flatten().collect();
    all.sort_by_key(|(i, _)| *i);
    all.into_iter().map(|(_, t)| t).collect()
}
