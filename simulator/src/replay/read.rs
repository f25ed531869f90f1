//! Reading a node: every disclosure its audit log recorded, with the facts to re-decide it (see the module docs of
//! [`crate::replay`]). The only part of the replay that does I/O.

use std::collections::{BTreeMap, HashMap};

use node::audit::{Operation, Status, StoredEntry};
use node::projection::Meta;
use node::service::Node;
use node::store::{CaseId, StoreError};
use node::sync::wire::WireDoc;
use policies::{CaseFacts, DocumentKind, FieldId, FieldSet, PartnerId, Policy};
use time::OffsetDateTime;

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

/// Why a node's recorded disclosures could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReadError {
    /// The store could not list the node's policy versions.
    #[error("cannot read the node's policy versions")]
    Policies(#[source] StoreError),
    /// The store could not read the audit log.
    #[error("cannot read the node's audit log after entry {after}")]
    AuditLog {
        /// The last entry read before.
        after: u64,
        /// What the store reported.
        #[source]
        source: StoreError,
    },
}

/// One projection generation through its history: after each change, its time in seconds, the fields the
/// projection then held, and its facts.
type MetaHistory = Vec<(i64, FieldSet, Option<Meta>)>;

/// Read every disclosure a node recorded, with the facts to re-decide it (see the module docs).
pub async fn read_node(node: &Node) -> Result<Recorded, ReadError> {
    let in_force = known_policies(node).await?;
    let mut reader = Reader::new(node);
    let mut disclosures = Vec::new();
    let mut after = 0;
    loop {
        let page = node
            .store()
            .audit_records(after, 1000)
            .await
            .map_err(|source| ReadError::AuditLog { after, source })?;
        let Some(last) = page.last() else { break };
        after = last.seq;
        for r in &page {
            let Ok(stored) = r.parse() else { continue };
            if let Some(d) = reader.disclosure(stored).await {
                disclosures.push(d);
            }
        }
    }
    Ok(Recorded {
        partner: reader.me,
        disclosures,
        in_force,
    })
}

/// The policy versions this node knows, by version: the covenant's, its own, and every stored one that parses.
async fn known_policies(node: &Node) -> Result<BTreeMap<String, Policy>, ReadError> {
    let mut in_force = BTreeMap::new();
    for p in [Policy::covenant(), (*node.policy()).clone()] {
        in_force.insert(p.meta.version.clone(), p);
    }
    for stored in node.store().policies().await.map_err(ReadError::Policies)? {
        if let Ok(p) = Policy::parse(&stored.body) {
            in_force.insert(p.meta.version.clone(), p);
        }
    }
    Ok(in_force)
}

/// Reads the disclosures of an audit log one entry at a time; what it reads of a case (its projections' histories,
/// its facts now, the fields held now) it reads once.
struct Reader<'a> {
    node: &'a Node,
    me: PartnerId,
    /// Case id → the pseudonymous number, in order of first disclosure.
    numbers: HashMap<String, u32>,
    histories: HashMap<String, Vec<(String, PartnerId, MetaHistory)>>,
    current: HashMap<(String, PartnerId), Option<CaseFacts>>,
    holdings: HashMap<String, Vec<(Option<PartnerId>, FieldSet)>>,
}

impl<'a> Reader<'a> {
    fn new(node: &'a Node) -> Self {
        Reader {
            node,
            me: node.partner().clone(),
            numbers: HashMap::new(),
            histories: HashMap::new(),
            current: HashMap::new(),
            holdings: HashMap::new(),
        }
    }

    /// The disclosure an audit entry records, or `None` if it records none (another operation, a failure, no
    /// case or peer, or a name that does not parse).
    async fn disclosure(&mut self, stored: StoredEntry) -> Option<RecordedDisclosure> {
        let e = stored.entry;
        if e.name != Operation::Disclosure || e.status_code != Status::Ok {
            return None;
        }
        let (Some(case_id), Some(peer)) = (&e.case_id, &e.peer) else {
            return None;
        };
        let (Ok(case), Ok(receiver)) = (case_id.parse::<CaseId>(), peer.parse::<PartnerId>())
        else {
            return None;
        };
        let next = self.numbers.len() as u32 + 1;
        let number = *self.numbers.entry(case_id.clone()).or_insert(next);
        let wire = e.document.as_deref().and_then(WireDoc::parse);
        let whole = match &wire {
            Some(WireDoc::Form(k, _)) => Some(k.kind),
            _ => None,
        };
        let named_generation = match &wire {
            Some(WireDoc::Projection { .. }) => e.document.as_deref(),
            _ => None,
        };
        if !self.histories.contains_key(case_id) {
            let h = projection_histories(self.node, &case).await;
            self.histories.insert(case_id.clone(), h);
        }
        let t = stored
            .recorded_at
            .unix_timestamp()
            .max(e.start_time.unix_timestamp());
        let recorded: FieldSet = e.fields.iter().filter_map(|f| FieldId::parse(f)).collect();
        let sent = meta_sent(
            &self.histories[case_id],
            &receiver,
            named_generation,
            whole,
            recorded,
            t,
        );
        let (facts, facts_source) = match sent {
            Some(meta) => (
                Some(meta.facts(&self.me, &receiver)),
                FactsSource::Projection,
            ),
            None => match self.facts_now(case_id, &case, &receiver).await {
                Some(f) => (Some(f), FactsSource::CurrentCase),
                None => (None, FactsSource::Unknown),
            },
        };
        if !self.holdings.contains_key(case_id) {
            let h = held_fields(self.node, &case).await;
            self.holdings.insert(case_id.clone(), h);
        }
        let held = held_for(&self.holdings[case_id], &receiver);
        Some(RecordedDisclosure {
            seq: stored.seq,
            at: e.start_time,
            case: number,
            sender: self.me.clone(),
            receiver,
            whole,
            fields: recorded.iter().collect(),
            activity: e.processing_activity_id.clone(),
            policy_version: e.policy_version.clone(),
            facts,
            facts_source,
            held,
        })
    }

    /// The facts of the case as the node holds it now, towards `receiver`; `None` if the case is gone.
    async fn facts_now(
        &mut self,
        case_id: &str,
        case: &CaseId,
        receiver: &PartnerId,
    ) -> Option<CaseFacts> {
        let key = (case_id.to_string(), receiver.clone());
        if !self.current.contains_key(&key) {
            let f = self
                .node
                .load_case(case)
                .await
                .ok()
                .map(|l| node::facts::facts_of(&self.me, &l, &[receiver]));
            self.current.insert(key.clone(), f);
        }
        self.current[&key].clone()
    }
}

/// The `_meta` a disclosure sent: of the projections to `receiver` (only the generation the entry names, if it
/// names one), the state at or before `t` whose fields are the ones recorded (a projection's disclosure names all
/// of its fields; a whole document's never matches); failing that, the latest at or before `t`.
fn meta_sent<'h>(
    histories: &'h [(String, PartnerId, MetaHistory)],
    receiver: &PartnerId,
    named_generation: Option<&str>,
    whole: Option<DocumentKind>,
    recorded: FieldSet,
    t: i64,
) -> Option<&'h Meta> {
    let mut best: Option<(bool, i64, &Meta)> = None;
    for (wire_id, to, history) in histories {
        if to != receiver || named_generation.is_some_and(|n| n != wire_id) {
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
    best.map(|(_, _, meta)| meta)
}

/// The fields the sender holds for the case that could go to `receiver`: every document but another
/// partner-of-its-role's instance (`sync::plan` never sends those).
fn held_for(holdings: &[(Option<PartnerId>, FieldSet)], receiver: &PartnerId) -> FieldSet {
    holdings
        .iter()
        .filter(|(instance, _)| {
            instance
                .as_ref()
                .is_none_or(|p| p.role() != receiver.role() || p == receiver)
        })
        .fold(FieldSet::EMPTY, |acc, (_, f)| acc.union(*f))
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
                    node::projection::fields_of(&root),
                    root.get(node::projection::META)
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
    for (section, form) in &loaded.projected_sections {
        let instance = section.split_once('/').and_then(|(_, i)| i.parse().ok());
        out.push((instance, form.field_ids().collect()));
    }
    out
}
