//! `weerthuis-sim replay`: a proposed policy against the disclosures a node recorded in its audit log.
//!
//! A privacy officer has a node's data directory (or its database URL) and a proposed policy file. For every
//! disclosure the node made (audit entries of operation `disclosure`, status OK) this decides, field by field,
//! whether the proposed policy would still have allowed it, and which fields the proposed policy would have added
//! to the same disclosure; it lists every invariant the proposal breaks. The report is Dutch Markdown and HTML,
//! tells one example per kind of change in words (field names, roles and relations, a short pseudonymous dossier
//! number — never a value, a BSN or a case id), and the exit status is 1 when the proposal breaks an invariant.
//!
//! The analysis ([`replay`]) is a pure function over [`RecordedDisclosure`]s; [`read_node`] reads them from a node.
//!
//! # How a past disclosure is re-decided
//!
//! An audit entry names the receiver, the fields, the flows and the policy version, but not the facts the policy
//! decided on (the receiver's and the sender's relations, phase, consent, BW/MO). Those facts **are** recorded,
//! at the moment of every disclosure, in a place the node keeps anyway: the `_meta` section of the projection the
//! sender writes for the receiver (`node::sync::plan` puts there exactly the facts it decided on). A projection is
//! an Automerge document whose history the sending node keeps, also after a rotation (the retired generation stays
//! in its store); every rewrite is one change stamped with the node's clock. So the facts of a disclosure at time
//! *t* are the projection's `_meta` as of its last change at or before *t*: the generation the entry names for a
//! projection, the latest generation to the same receiver for a case document shared whole.
//!
//! We chose this over both options of the brief:
//! - (a) re-deriving the facts from the node's case as it stands now is wrong for every case whose facts changed
//!   (a corporatie that refused is now an `eerdere_corporatie`; the phase moved on), so replaying even the policy
//!   in force would report changes that are none. It remains the **fallback** when no projection to the receiver
//!   exists (documents shared whole between co-writers only), and the report counts how many disclosures were
//!   judged that way.
//! - (b) adding the facts to the disclosure's audit entry would need a new field in `node::audit::AuditEntry`,
//!   whose other constructors (`node::service`, the node's tests) are not ours to change, and it would only help
//!   disclosures made after the change — while the projections already hold the facts for every past one.
//!
//! Change times have whole seconds, and a node writes several changes a second, so time alone does not pick the
//! state: a projection's disclosure names all the fields the projection held when it was sent (`plan.projected`),
//! so the state taken is the latest at or before the disclosure whose fields are exactly the ones recorded (within
//! a generation the fields only grow; a narrowing starts a new generation, which the entry names). Only a change
//! of facts that changed no field, within the same second, could lend a disclosure facts a moment too new. A case
//! document shared whole is matched on time alone.
//!
//! "Would newly be disclosed" needs to know what the sender held. The audit log names only the fields it sent, so
//! this counts, for a disclosure of a projection, the fields the proposed policy allows under its facts that the
//! policy in force then (by the recorded version) did not, and that the node holds for the case **now** — the
//! case's current state, an upper bound of what it held then. Disclosures whose policy version this node no
//! longer knows are counted, but not searched for new fields.
//!
//! Reading the cases to find the facts is not audited as a read: no value leaves the node, only facts and names.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use node::audit::{Operation, Status};
use node::monitor::jaarverslag::{esc, html_page, html_table};
use node::service::Node;
use node::store::CaseId;
use node::sync::projection::Meta;
use node::sync::wire::WireDoc;
use policies::policy::space::Access;
use policies::{CaseFacts, DocumentKind, FieldId, FieldSet, PartnerId, Policy, Role};
use time::OffsetDateTime;

/// Options of `weerthuis-sim replay`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The node's data directory (weerthuis.toml, the database).
    #[arg(long, value_name = "NODE_DIR", required_unless_present = "database")]
    pub dir: Option<PathBuf>,
    /// The node's database instead (`sqlite://…` or `postgres://…`); then `--partner` says whose it is.
    #[arg(long, value_name = "URL", conflicts_with = "dir", requires = "partner")]
    pub database: Option<String>,
    /// The partner whose database `--database` is (`zorgaanbieder:kwadrant`).
    #[arg(long, value_name = "PARTNER")]
    pub partner: Option<PartnerId>,
    /// The proposed policy file (TOML).
    #[arg(long, value_name = "FILE")]
    pub proposed: PathBuf,
    /// Where to write `replay.md` and `replay.html`.
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,
}

/// Run `weerthuis-sim replay`: prints the Markdown report; exit status 1 when the proposal breaks an invariant.
pub async fn main(args: Args) -> anyhow::Result<ExitCode> {
    // Parsed, not loaded: a proposal that breaks an invariant must still be replayed, to show what it would do.
    let proposed = crate::run::read_policy(&args.proposed)?;
    let node = match (&args.dir, &args.database, &args.partner) {
        (Some(dir), _, _) => node::app::open(dir).await?.1,
        (None, Some(url), Some(partner)) => {
            let store = node::store::Store::open(url).await?;
            // Nothing is written, so the pseudonymiser's key does not matter.
            Arc::new(Node::new(
                partner.clone(),
                store,
                Arc::new(Policy::covenant()),
                Arc::new(policies::Gemeenten::friesland()),
                node::audit::Pseudonymiser::new(rand::random()),
                Arc::new(OffsetDateTime::now_utc),
            ))
        }
        _ => anyhow::bail!("give --dir, or --database with --partner"),
    };
    let recorded = read_node(&node).await?;
    let report = replay(&recorded.disclosures, &proposed, &recorded.in_force);
    let md = markdown(&report, &recorded.partner);
    if let Some(out) = &args.out {
        std::fs::create_dir_all(out).with_context(|| format!("cannot create {}", out.display()))?;
        std::fs::write(out.join("replay.md"), &md)?;
        std::fs::write(out.join("replay.html"), html(&report, &recorded.partner))?;
    }
    print!("{md}");
    node.store().close().await;
    Ok(if report.blocking() {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    })
}

/// Where the facts a disclosure is re-decided on come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FactsSource {
    /// The `_meta` of the projection to the receiver as it stood at the disclosure: the facts decided on then.
    Projection,
    /// The case as the node holds it now (no projection to the receiver exists).
    CurrentCase,
    /// Neither: the case is gone. The disclosure cannot be judged.
    Unknown,
}

/// One disclosure a node recorded, with what is needed to decide it again. Holds names and facts, no values.
#[derive(Debug, Clone)]
pub struct RecordedDisclosure {
    /// The audit entry's seq.
    pub seq: u64,
    /// When it was made.
    pub at: OffsetDateTime,
    /// The case as a short pseudonymous number (1, 2, … in order of first disclosure), never its id.
    pub case: u32,
    /// The node that disclosed.
    pub sender: PartnerId,
    /// To whom.
    pub receiver: PartnerId,
    /// The case document that travelled whole, or `None` for a projection.
    pub whole: Option<DocumentKind>,
    /// The fields disclosed.
    pub fields: Vec<FieldId>,
    /// The flows named in the entry (`processing_activity_id`, `; `-separated).
    pub activity: String,
    /// The policy version it was made under.
    pub policy_version: Option<String>,
    /// The facts it is re-decided on.
    pub facts: Option<CaseFacts>,
    /// Where those facts come from.
    pub facts_source: FactsSource,
    /// The fields the sender holds for the case that could go to this receiver (now): for new disclosures.
    pub held: FieldSet,
}

/// What [`read_node`] found.
#[derive(Debug, Clone)]
pub struct Recorded {
    /// The node's partner.
    pub partner: PartnerId,
    /// Every disclosure it recorded, in log order.
    pub disclosures: Vec<RecordedDisclosure>,
    /// The policy versions this node knows, by version: the ones disclosures were made under.
    pub in_force: BTreeMap<String, Policy>,
}

/// One projection generation through its history: after each change, its time in seconds, the fields the
/// projection then held, and its facts.
type MetaHistory = Vec<(i64, FieldSet, Option<Meta>)>;

/// Read every disclosure a node recorded, with the facts to re-decide it (see the module docs).
pub async fn read_node(node: &Node) -> anyhow::Result<Recorded> {
    let me = node.partner().clone();
    let store = node.store();
    let mut in_force = BTreeMap::new();
    for p in [Policy::covenant(), (*node.policy()).clone()] {
        in_force.insert(p.meta.version.clone(), p);
    }
    for stored in store.policies().await? {
        if let Ok(p) = Policy::parse(&stored.body) {
            in_force.insert(p.meta.version.clone(), p);
        }
    }

    let mut numbers: HashMap<String, u32> = HashMap::new();
    let mut histories: HashMap<String, Vec<(String, PartnerId, MetaHistory)>> = HashMap::new();
    let mut current: HashMap<(String, PartnerId), Option<CaseFacts>> = HashMap::new();
    let mut holdings: HashMap<String, Vec<(Option<PartnerId>, FieldSet)>> = HashMap::new();
    let mut out = Vec::new();
    let mut after = 0;
    loop {
        let page = store.audit_records(after, 1000).await?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for r in &page {
            let Ok(stored) = r.parse() else { continue };
            let e = stored.entry;
            if e.name != Operation::Disclosure || e.status_code != Status::Ok {
                continue;
            }
            let (Some(case_id), Some(peer)) = (&e.case_id, &e.peer) else {
                continue;
            };
            let (Ok(case), Ok(receiver)) = (case_id.parse::<CaseId>(), peer.parse::<PartnerId>())
            else {
                continue;
            };
            let next = numbers.len() as u32 + 1;
            let number = *numbers.entry(case_id.clone()).or_insert(next);
            let wire = e.document.as_deref().and_then(WireDoc::parse);
            let whole = match &wire {
                Some(WireDoc::Form(k)) => Some(k.kind),
                _ => None,
            };
            let named_generation = match &wire {
                Some(WireDoc::Projection { .. }) => e.document.clone(),
                _ => None,
            };

            if !histories.contains_key(case_id) {
                let h = projection_histories(node, &case).await;
                histories.insert(case_id.clone(), h);
            }
            let t = stored
                .recorded_at
                .unix_timestamp()
                .max(e.start_time.unix_timestamp());
            let recorded: FieldSet = e.fields.iter().filter_map(|f| FieldId::parse(f)).collect();
            // The state the disclosure sent: the latest at or before it whose fields are the ones recorded (a
            // projection's disclosure names all of its fields); failing that, the latest at or before it.
            let mut best: Option<(bool, i64, &Meta)> = None;
            for (wire_id, to, history) in &histories[case_id] {
                if to != &receiver || named_generation.as_ref().is_some_and(|n| n != wire_id) {
                    continue;
                }
                for (ts, fields, meta) in history.iter().filter(|(ts, _, _)| *ts <= t) {
                    let Some(meta) = meta else { continue };
                    let matches = whole.is_none() && *fields == recorded;
                    if best.is_none_or(|(m, b, _)| (matches, *ts) >= (m, b)) {
                        best = Some((matches, *ts, meta));
                    }
                }
            }
            let (facts, source) = match best {
                Some((_, _, meta)) => (Some(meta.facts(&me, &receiver)), FactsSource::Projection),
                None => {
                    let key = (case_id.clone(), receiver.clone());
                    if !current.contains_key(&key) {
                        let f = node
                            .load_case(&case)
                            .await
                            .ok()
                            .map(|l| node::service::facts_of(&me, &l, &[&receiver]));
                        current.insert(key.clone(), f);
                    }
                    match &current[&key] {
                        Some(f) => (Some(f.clone()), FactsSource::CurrentCase),
                        None => (None, FactsSource::Unknown),
                    }
                }
            };
            if !holdings.contains_key(case_id) {
                let h = held_fields(node, &case).await;
                holdings.insert(case_id.clone(), h);
            }
            let held = holdings[case_id]
                .iter()
                .filter(|(instance, _)| {
                    // A partner never gets another partner-of-its-role's instance (`sync::plan`).
                    instance
                        .as_ref()
                        .is_none_or(|p| p.role() != receiver.role() || p == &receiver)
                })
                .fold(FieldSet::EMPTY, |acc, (_, f)| acc.union(*f));
            out.push(RecordedDisclosure {
                seq: stored.seq,
                at: e.start_time,
                case: number,
                sender: me.clone(),
                receiver,
                whole,
                fields: recorded.iter().collect(),
                activity: e.processing_activity_id.clone(),
                policy_version: e.policy_version.clone(),
                facts,
                facts_source: source,
                held,
            });
        }
    }
    Ok(Recorded {
        partner: me,
        disclosures: out,
        in_force,
    })
}

/// Every projection this node wrote for a case: (wire id, receiver, its `_meta` after each change).
async fn projection_histories(node: &Node, case: &CaseId) -> Vec<(String, PartnerId, MetaHistory)> {
    let me = node.partner().to_string();
    let Ok(records) = node.store().projections_of_case(case).await else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for p in records.into_iter().filter(|p| p.sender == me) {
        let (Ok(receiver), Ok(mut am)) = (
            p.receiver.parse::<PartnerId>(),
            node::doc::load(&p.snapshot, []),
        ) else {
            continue;
        };
        let changes = am.get_changes(&[]);
        let mut history = Vec::with_capacity(changes.len());
        let mut heads = Vec::with_capacity(changes.len());
        for c in &changes {
            heads.push(c.hash());
            // The document as it stood after this change: `fork_at` takes these changes and their ancestors.
            let content = am
                .fork_at(&heads)
                .ok()
                .and_then(|f| node::doc::read_json(&f).ok());
            let (fields, meta) = match content {
                Some(serde_json::Value::Object(root)) => (
                    node::sync::projection::fields_of(&root),
                    root.get(node::sync::projection::META)
                        .and_then(|m| serde_json::from_value::<Meta>(m.clone()).ok()),
                ),
                _ => (FieldSet::EMPTY, None),
            };
            history.push((c.timestamp(), fields, meta));
        }
        out.push((p.wire_id, receiver, history));
    }
    out
}

/// The fields this node holds for a case now, per document, with the partner an instance belongs to.
async fn held_fields(node: &Node, case: &CaseId) -> Vec<(Option<PartnerId>, FieldSet)> {
    let Ok(loaded) = node.load_case(case).await else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for key in &loaded.keys {
        let Ok(Some(stored)) = node.store().load_document(key).await else {
            continue;
        };
        let Ok(am) = stored.to_automerge(node.partner()) else {
            continue;
        };
        let Ok(json) = node::doc::read_json(&am) else {
            continue;
        };
        let set = key
            .kind
            .fields()
            .filter(|f| json.get(f.name()).is_some_and(|v| !v.is_null()))
            .collect();
        out.push((key.instance.parse().ok(), set));
    }
    for (section, form) in loaded.projected.iter().zip(&loaded.projected_forms) {
        let instance = section.split_once('/').and_then(|(_, i)| i.parse().ok());
        out.push((instance, form.field_ids().collect()));
    }
    out
}

/// How a recorded field disclosure fares under the proposed policy.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    /// Recorded, and still allowed.
    pub still_allowed: u64,
    /// Recorded, and no longer allowed.
    pub no_longer_allowed: u64,
    /// Not recorded, and newly disclosed: the proposed policy would have added it to the same disclosure.
    pub newly_disclosed: u64,
}

impl Counts {
    fn add(&mut self, o: Counts) {
        self.still_allowed += o.still_allowed;
        self.no_longer_allowed += o.no_longer_allowed;
        self.newly_disclosed += o.newly_disclosed;
    }
}

/// A kind of change, for the examples.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ChangeKind {
    /// A recorded field the proposal would no longer allow.
    NoLongerAllowed,
    /// A field the proposal would have added.
    NewlyDisclosed,
}

/// One change, to be told as a story: names, roles, relations and facts only.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Example {
    /// The kind of change.
    pub kind: ChangeKind,
    /// The pseudonymous dossier number.
    pub case: u32,
    /// When the disclosure was made.
    pub at: OffsetDateTime,
    /// The sender.
    pub sender: PartnerId,
    /// The receiver.
    pub receiver: PartnerId,
    /// The field.
    pub field: FieldId,
    /// The flow that allowed it then (no longer allowed) or would allow it (newly disclosed).
    pub flow: String,
    /// The facts decided on.
    pub facts: CaseFacts,
    /// The policy version the disclosure was made under.
    pub policy_version: String,
}

/// An invariant the proposal breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Breach {
    /// The invariant.
    pub invariant: String,
    /// Its basis.
    pub basis: String,
    /// Whether it is one of the covenant's baseline invariants.
    pub baseline: bool,
    /// The rule that breaks it, and its line.
    pub rule: String,
    /// Its line in the proposed policy file.
    pub line: usize,
    /// The fields it lets through.
    pub fields: Vec<FieldId>,
    /// One offending request, in Dutch.
    pub example: String,
    /// How many requests of the space are affected.
    pub requests: usize,
}

/// The outcome of a replay.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReplayReport {
    /// The proposed policy's version.
    pub proposed_version: String,
    /// Disclosures replayed.
    pub disclosures: usize,
    /// Disclosures per source of their facts.
    pub by_source: BTreeMap<String, usize>,
    /// Disclosures not searched for new fields: their policy version is unknown here.
    pub version_unknown: usize,
    /// Distinct dossiers.
    pub cases: usize,
    /// Per (receiver role, flow, field).
    pub rows: BTreeMap<(Role, String, FieldId), Counts>,
    /// Distinct dossiers with a field no longer allowed / newly disclosed.
    pub cases_changed: (usize, usize),
    /// The first example of each kind of change.
    pub examples: Vec<Example>,
    /// Every invariant the proposal breaks.
    pub breaches: Vec<Breach>,
    /// The proposal's own examples that fail (a warning: `Policy::load` would refuse the file).
    pub failing_examples: Vec<String>,
}

impl ReplayReport {
    /// The totals over every row.
    pub fn totals(&self) -> Counts {
        let mut c = Counts::default();
        for r in self.rows.values() {
            c.add(*r);
        }
        c
    }

    /// The totals per receiver role.
    pub fn per_role(&self) -> BTreeMap<Role, Counts> {
        let mut m: BTreeMap<Role, Counts> = BTreeMap::new();
        for ((role, _, _), c) in &self.rows {
            m.entry(*role).or_default().add(*c);
        }
        m
    }

    /// The totals per (receiver role, flow).
    pub fn per_flow(&self) -> BTreeMap<(Role, String), Counts> {
        let mut m: BTreeMap<(Role, String), Counts> = BTreeMap::new();
        for ((role, flow, _), c) in &self.rows {
            m.entry((*role, flow.clone())).or_default().add(*c);
        }
        m
    }

    /// Whether the proposal breaks an invariant: it must not be signed.
    pub fn blocking(&self) -> bool {
        !self.breaches.is_empty()
    }
}

/// The activity of a whole document the receiver writes part of itself.
const JOINT: &str = "gezamenlijk document";

/// Decide every recorded disclosure again under `proposed`; `in_force` holds the policy versions they were made
/// under (by version), to tell which fields the proposal adds.
pub fn replay(
    disclosures: &[RecordedDisclosure],
    proposed: &Policy,
    in_force: &BTreeMap<String, Policy>,
) -> ReplayReport {
    let mut report = ReplayReport {
        proposed_version: proposed.meta.version.clone(),
        disclosures: disclosures.len(),
        by_source: BTreeMap::new(),
        version_unknown: 0,
        cases: disclosures
            .iter()
            .map(|d| d.case)
            .collect::<BTreeSet<_>>()
            .len(),
        rows: BTreeMap::new(),
        cases_changed: (0, 0),
        examples: Vec::new(),
        breaches: breaches(proposed),
        failing_examples: proposed
            .failing_examples()
            .iter()
            .map(|d| d.to_string())
            .collect(),
    };
    let (mut gone, mut added) = (BTreeSet::new(), BTreeSet::new());
    for d in disclosures {
        *report
            .by_source
            .entry(source_name(d.facts_source).to_string())
            .or_default() += 1;
        let Some(facts) = &d.facts else { continue };
        let role = d.receiver.role();
        let flows_of = |p: &Policy| -> BTreeMap<FieldId, String> {
            p.allowed_fields(facts, &d.sender, &d.receiver)
                .into_iter()
                .map(|a| (a.field, p.flows[a.flow].name.clone()))
                .collect()
        };
        let new = flows_of(proposed);
        let old = d
            .policy_version
            .as_ref()
            .and_then(|v| in_force.get(v))
            .map(flows_of);
        // A co-writer holds the fields it writes itself: a whole document echoed back needs no flow.
        let writes_new = proposed.writable(role, &facts.relations_of(&d.receiver));
        let recorded: FieldSet = d.fields.iter().copied().collect();
        let version = d.policy_version.clone().unwrap_or_default();
        let mut example = |kind: ChangeKind, field: FieldId, flow: &str| {
            if !report.examples.iter().any(|e| e.kind == kind) {
                report.examples.push(Example {
                    kind,
                    case: d.case,
                    at: d.at,
                    sender: d.sender.clone(),
                    receiver: d.receiver.clone(),
                    field,
                    flow: flow.to_string(),
                    facts: facts.clone(),
                    policy_version: version.clone(),
                });
            }
        };
        for &f in &d.fields {
            let (flow, still) = match new.get(&f) {
                Some(flow) => (flow.clone(), true),
                None if d.whole.is_some() && writes_new.contains(f) => (JOINT.to_string(), true),
                None => {
                    let then = old.as_ref().and_then(|o| o.get(&f).cloned());
                    let flow = then.unwrap_or_else(|| match d.activity.split("; ").count() {
                        1 => d.activity.clone(),
                        _ => format!("een van: {}", d.activity),
                    });
                    (flow, false)
                }
            };
            let c = report.rows.entry((role, flow.clone(), f)).or_default();
            if still {
                c.still_allowed += 1;
            } else {
                c.no_longer_allowed += 1;
                gone.insert(d.case);
                example(ChangeKind::NoLongerAllowed, f, &flow);
            }
        }
        // New fields ride along in the projection; a whole document already carries all of its own.
        if d.whole.is_some() {
            continue;
        }
        let Some(old) = &old else {
            report.version_unknown += 1;
            continue;
        };
        for (f, flow) in &new {
            if !old.contains_key(f) && d.held.contains(*f) && !recorded.contains(*f) {
                report
                    .rows
                    .entry((role, flow.clone(), *f))
                    .or_default()
                    .newly_disclosed += 1;
                added.insert(d.case);
                example(ChangeKind::NewlyDisclosed, *f, flow);
            }
        }
    }
    report.cases_changed = (gone.len(), added.len());
    report.examples.sort_by_key(|e| e.kind);
    report
}

fn breaches(p: &Policy) -> Vec<Breach> {
    p.violations()
        .into_iter()
        .map(|v| {
            let r = &v.example;
            let what = match r.access {
                Access::Receive => "ontvangt",
                Access::Write => "schrijft",
            };
            let example = format!(
                "{} ({}) {what} ‘{}’ ({}), in de fase {}, {}, {}",
                role_nl(r.role),
                r.relation.label_nl(r.role),
                field_nl(r.field),
                r.field.document().spec().label,
                r.phase.label_nl(),
                if r.consent {
                    "met toestemming"
                } else {
                    "zonder toestemming"
                },
                r.voorziening.label_nl(),
            );
            Breach {
                invariant: v.invariant,
                basis: v.basis,
                baseline: v.baseline,
                rule: v.rule,
                line: v.rule_location.line,
                fields: v.fields,
                example,
                requests: v.requests,
            }
        })
        .collect()
}

fn source_name(s: FactsSource) -> &'static str {
    match s {
        FactsSource::Projection => "feiten uit de projectie op het moment van verstrekking",
        FactsSource::CurrentCase => "feiten uit de huidige stand van het dossier",
        FactsSource::Unknown => "niet te beoordelen (dossier niet meer aanwezig)",
    }
}

/// A role in Dutch, with its article ("de gemeente").
fn role_nl(r: Role) -> &'static str {
    match r {
        Role::Transferpunt => "het Transferpunt",
        Role::Gemeente => "de gemeente",
        Role::Corporatie => "de woningcorporatie",
        Role::Zorgaanbieder => "de zorgaanbieder",
        Role::Huurdersorganisatie => "de huurdersorganisatie",
    }
}

/// A role as a table heading ("gemeente").
fn role_word(r: Role) -> &'static str {
    role_nl(r).split_once(' ').map_or(r.name(), |(_, w)| w)
}

fn field_nl(f: FieldId) -> String {
    f.spec().label.to_string()
}

fn field_cell(f: FieldId) -> String {
    format!("{} ({})", f.spec().label, f.qualified_name())
}

fn relations_nl(facts: &CaseFacts, p: &PartnerId) -> String {
    let rels = facts.relations_of(p);
    let words: Vec<String> = rels.iter().map(|r| r.label_nl(p.role())).collect();
    words.join(" en ")
}

fn facts_nl(facts: &CaseFacts) -> String {
    let phase: &str = facts.phase.label_nl();
    let voorziening = facts
        .voorziening
        .map_or("voorziening nog onbekend".to_string(), |v| {
            v.label_nl().to_string()
        });
    format!(
        "het dossier was in de fase {phase}, de cliënt had {} gegeven, voorziening: {voorziening}",
        if facts.consent {
            "toestemming"
        } else {
            "geen toestemming"
        },
    )
}

/// One example told in Dutch words.
pub fn story_nl(e: &Example, proposed_version: &str) -> String {
    let field = format!(
        "‘{}’ ({})",
        field_nl(e.field),
        e.field.document().spec().label
    );
    let receiver = format!(
        "{} (als {})",
        role_nl(e.receiver.role()),
        relations_nl(&e.facts, &e.receiver)
    );
    match e.kind {
        ChangeKind::NoLongerAllowed => format!(
            "Op {} verstrekte deze node ({}) in dossier #{} het veld {field} aan {receiver}, onder de stroom ‘{}’ \
             van beleid {}; {}. Onder het voorgestelde beleid {proposed_version} laat geen stroom dit veld in deze \
             situatie nog toe: deze verstrekking zou niet meer mogen.",
            crate::report::date_nl(e.at.date()),
            role_word(e.sender.role()),
            e.case,
            e.flow,
            e.policy_version,
            facts_nl(&e.facts),
        ),
        ChangeKind::NewlyDisclosed => format!(
            "Op {} verstrekte deze node ({}) in dossier #{} gegevens aan {receiver} onder beleid {}; {}. Onder het \
             voorgestelde beleid {proposed_version} zou daarbij ook het veld {field} zijn meegestuurd, via de stroom \
             ‘{}’: deze node heeft dat veld voor dit dossier.",
            crate::report::date_nl(e.at.date()),
            role_word(e.sender.role()),
            e.case,
            e.policy_version,
            facts_nl(&e.facts),
            e.flow,
        ),
    }
}

fn counts_row(first: Vec<String>, c: &Counts) -> Vec<String> {
    let mut r = first;
    r.extend([
        c.still_allowed.to_string(),
        c.no_longer_allowed.to_string(),
        c.newly_disclosed.to_string(),
    ]);
    r
}

/// The report's sections as (heading, paragraphs, tables): one source for Markdown and HTML.
struct Section {
    heading: String,
    paragraphs: Vec<String>,
    table: Option<(Vec<String>, Vec<Vec<String>>)>,
}

fn sections(r: &ReplayReport, partner: &PartnerId) -> Vec<Section> {
    let counts_header = |first: &[&str]| -> Vec<String> {
        first
            .iter()
            .map(|s| s.to_string())
            .chain([
                "nog toegestaan".to_string(),
                "niet meer toegestaan".to_string(),
                "nieuw verstrekt".to_string(),
            ])
            .collect()
    };
    let t = r.totals();
    let mut out = Vec::new();
    let verdict = if r.blocking() {
        format!(
            "**Blokkerend**: het voorgestelde beleid {} breekt {} invariant(en); het mag niet worden ondertekend.",
            r.proposed_version,
            r.breaches.len()
        )
    } else if t.no_longer_allowed + t.newly_disclosed == 0 {
        format!(
            "Geen wijzigingen: onder het voorgestelde beleid {} was elke vastgelegde verstrekking precies zo \
             gedaan.",
            r.proposed_version
        )
    } else {
        format!(
            "Het voorgestelde beleid {} breekt geen invariant, maar verandert wat deze node verstrekt.",
            r.proposed_version
        )
    };
    let mut intro = vec![
        verdict,
        format!(
            "Deze node ({}) legde {} verstrekking(en) vast in {}. Per veld in een verstrekking: {} nog \
             toegestaan, {} niet meer toegestaan (in {}), {} nieuw verstrekt (in {}).",
            role_word(partner.role()),
            r.disclosures,
            dossiers(r.cases),
            t.still_allowed,
            t.no_longer_allowed,
            dossiers(r.cases_changed.0),
            t.newly_disclosed,
            dossiers(r.cases_changed.1),
        ),
    ];
    let sources: Vec<String> = r
        .by_source
        .iter()
        .map(|(s, n)| format!("{n} × {s}"))
        .collect();
    intro.push(format!(
        "Herbeoordeeld op: {}. Dossiers heten hier met een volgnummer (#1, #2, …), nooit met hun kenmerk.",
        sources.join("; ")
    ));
    if r.version_unknown > 0 {
        intro.push(format!(
            "Bij {} verstrekkingen is de beleidsversie van toen op deze node onbekend: daar is niet gezocht naar \
             velden die nieuw zouden worden verstrekt.",
            r.version_unknown
        ));
    }
    intro.push(
        "‘Nieuw verstrekt’ telt velden die het voorgestelde beleid aan dezelfde verstrekking had toegevoegd en \
         die deze node nu voor het dossier heeft (een bovengrens voor wat ze toen had)."
            .into(),
    );
    out.push(Section {
        heading: "Oordeel".into(),
        paragraphs: intro,
        table: None,
    });

    let per_role: Vec<Vec<String>> = r
        .per_role()
        .iter()
        .map(|(role, c)| counts_row(vec![role_word(*role).to_string()], c))
        .collect();
    out.push(Section {
        heading: "Per ontvanger".into(),
        paragraphs: vec![],
        table: Some((counts_header(&["ontvanger (rol)"]), per_role)),
    });
    let per_flow: Vec<Vec<String>> = r
        .per_flow()
        .iter()
        .map(|((role, flow), c)| counts_row(vec![flow.clone(), role_word(*role).to_string()], c))
        .collect();
    out.push(Section {
        heading: "Per stroom".into(),
        paragraphs: vec![],
        table: Some((counts_header(&["stroom", "ontvanger"]), per_flow)),
    });
    let changed: Vec<Vec<String>> = r
        .rows
        .iter()
        .filter(|(_, c)| c.no_longer_allowed + c.newly_disclosed > 0)
        .map(|((role, flow, field), c)| {
            counts_row(
                vec![
                    field_cell(*field),
                    role_word(*role).to_string(),
                    flow.clone(),
                ],
                c,
            )
        })
        .collect();
    out.push(Section {
        heading: "Velden die veranderen".into(),
        paragraphs: if changed.is_empty() {
            vec!["Geen.".into()]
        } else {
            vec![]
        },
        table: (!changed.is_empty())
            .then(|| (counts_header(&["veld", "ontvanger", "stroom"]), changed)),
    });

    let mut stories: Vec<String> = r
        .examples
        .iter()
        .map(|e| {
            let title = match e.kind {
                ChangeKind::NoLongerAllowed => "Niet meer toegestaan",
                ChangeKind::NewlyDisclosed => "Nieuw verstrekt",
            };
            format!("**{title}.** {}", story_nl(e, &r.proposed_version))
        })
        .collect();
    for b in &r.breaches {
        stories.push(format!(
            "**Invariant gebroken (blokkerend).** De regel ‘{}’ (regel {} van het voorstel) laat {} toe, wat de \
             invariant ‘{}’{} verbiedt ({}). Bijvoorbeeld: {}. Dit geldt voor {} situaties. Oplossing: haal deze \
             velden uit de regel, of beperk de regel tot relaties en fasen waarin de invariant niet geldt.",
            b.rule,
            b.line,
            b.fields
                .iter()
                .map(|f| format!("‘{}’", field_nl(*f)))
                .collect::<Vec<_>>()
                .join(", "),
            b.invariant,
            if b.baseline {
                " (een basisinvariant van het convenant)"
            } else {
                ""
            },
            b.basis,
            b.example,
            b.requests,
        ));
    }
    if stories.is_empty() {
        stories.push("Geen wijzigingen om te beschrijven.".into());
    }
    out.push(Section {
        heading: "Voorbeelden".into(),
        paragraphs: stories,
        table: None,
    });
    let breach_rows: Vec<Vec<String>> = r
        .breaches
        .iter()
        .map(|b| {
            vec![
                b.invariant.clone(),
                format!("{} (regel {})", b.rule, b.line),
                b.fields
                    .iter()
                    .map(|f| f.qualified_name())
                    .collect::<Vec<_>>()
                    .join(", "),
                b.requests.to_string(),
            ]
        })
        .collect();
    out.push(Section {
        heading: "Invarianten".into(),
        paragraphs: if breach_rows.is_empty() {
            vec!["Het voorgestelde beleid houdt zich aan elke invariant.".into()]
        } else {
            vec![]
        },
        table: (!breach_rows.is_empty()).then(|| {
            (
                ["invariant", "regel", "velden", "situaties"]
                    .map(String::from)
                    .to_vec(),
                breach_rows,
            )
        }),
    });
    if !r.failing_examples.is_empty() {
        out.push(Section {
            heading: "Waarschuwing: voorbeelden in het voorstel falen".into(),
            paragraphs: r.failing_examples.clone(),
            table: None,
        });
    }
    out
}

fn dossiers(n: usize) -> String {
    match n {
        1 => "1 dossier".into(),
        n => format!("{n} dossiers"),
    }
}

fn title(r: &ReplayReport) -> String {
    format!(
        "Terugblik: voorgesteld beleid {} tegen de vastgelegde verstrekkingen",
        r.proposed_version
    )
}

/// The report in Dutch Markdown.
pub fn markdown(r: &ReplayReport, partner: &PartnerId) -> String {
    let mut out = format!("# {}\n\n", title(r));
    for s in sections(r, partner) {
        let _ = write!(out, "## {}\n\n", s.heading);
        for p in &s.paragraphs {
            let _ = write!(out, "{p}\n\n");
        }
        if let Some((header, rows)) = &s.table {
            let _ = writeln!(out, "| {} |", header.join(" | "));
            // Counts right-aligned, words left.
            let numeric = |i: usize| rows.iter().all(|r| r[i].parse::<u64>().is_ok());
            let align: String = (0..header.len())
                .map(|i| if numeric(i) { "---:|" } else { "---|" })
                .collect();
            let _ = writeln!(out, "|{align}");
            for row in rows {
                let cells: Vec<String> = row.iter().map(|c| c.replace('|', "\\|")).collect();
                let _ = writeln!(out, "| {} |", cells.join(" | "));
            }
            out.push('\n');
        }
    }
    out
}

/// The report in Dutch HTML (one page, no scripts).
pub fn html(r: &ReplayReport, partner: &PartnerId) -> String {
    let mut body = format!("<h1>{}</h1>\n", esc(&title(r)));
    for s in sections(r, partner) {
        let _ = writeln!(body, "<h2>{}</h2>", esc(&s.heading));
        for p in &s.paragraphs {
            let _ = writeln!(body, "<p>{}</p>", bold(&esc(p)));
        }
        if let Some((header, rows)) = &s.table {
            html_table(&mut body, header, rows);
        }
    }
    html_page(&title(r), &body)
}

/// Markdown's `**…**` as `<strong>` in escaped text.
fn bold(s: &str) -> String {
    let mut out = String::new();
    for (i, part) in s.split("**").enumerate() {
        if i % 2 == 1 {
            let _ = write!(out, "<strong>{part}</strong>");
        } else {
            out.push_str(part);
        }
    }
    out
}
