//! Property tests of the evaluator against a brute-force reference written here, independently of the
//! evaluator's own code paths:
//!
//! - (a) `allowed_fields` returns exactly the fields of the flows whose roles, relations and conditions match
//!   the case, each credited to the first such flow;
//! - (b) `decide` agrees with the reference over random requests;
//! - (c) `check_write` never allows a field no write rule allows for the author's relations;
//! - (d) a randomly generated policy either fails to load, or keeps every baseline invariant over the whole
//!   request space; and it fails exactly when the reference finds a request it allows that an invariant forbids.
//!
//! (a)–(c) run against the shipped policy and against random policies.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::LazyLock;

use policies::partner::Fase;
use policies::policy::space::Access;
use policies::policy::{Flow, Invariant, Request};
use policies::{
    CaseFacts, FieldId, FieldSet, PartnerId, Policy, PolicyError, Relation, Role, Voorziening,
};
use proptest::prelude::*;
use proptest::sample::{select, subsequence};

static COVENANT: LazyLock<Policy> = LazyLock::new(Policy::covenant);

// ---------------------------------------------------------------------------------------------------------------
// The reference

/// A partner's relations as the facts give them (the Transferpunt always relates).
fn relations(facts: &CaseFacts, p: &PartnerId) -> Vec<Relation> {
    if p.role() == Role::Transferpunt {
        return vec![Relation::Transferpunt];
    }
    match facts.relations.get(p) {
        Some(r) => r.clone(),
        None => vec![Relation::Geen],
    }
}

fn any_in(have: &[Relation], wanted: &[Relation]) -> bool {
    have.iter().any(|r| wanted.contains(r))
}

fn conditions_hold(flow: &Flow, consent: bool, phase: Fase, v: Option<Voorziening>) -> bool {
    let c = &flow.conditions;
    if c.consent && !consent {
        return false;
    }
    if !c.phases.is_empty() && !c.phases.contains(&phase) {
        return false;
    }
    if !c.voorziening.is_empty() {
        match v {
            Some(v) if c.voorziening.contains(&v) => {}
            _ => return false,
        }
    }
    true
}

/// Whether a flow lets anything travel from `sender` to `receiver` in a case with these facts.
fn flow_applies(flow: &Flow, facts: &CaseFacts, sender: &PartnerId, receiver: &PartnerId) -> bool {
    let from = relations(facts, sender);
    let to = relations(facts, receiver);
    flow.from == sender.role()
        && (flow.from_relations.is_empty() || any_in(&from, &flow.from_relations))
        && flow.to == receiver.role()
        && any_in(&to, &flow.relations)
        && conditions_hold(flow, facts.consent, facts.phase, facts.voorziening)
}

/// Field by field: the first flow (in file order) that applies and carries the field.
fn reference_allowed(
    p: &Policy,
    facts: &CaseFacts,
    sender: &PartnerId,
    receiver: &PartnerId,
) -> BTreeMap<FieldId, usize> {
    let mut out = BTreeMap::new();
    for field in FieldId::all() {
        for (i, flow) in p.flows.iter().enumerate() {
            if flow.fields.contains(field) && flow_applies(flow, facts, sender, receiver) {
                out.insert(field, i);
                break;
            }
        }
    }
    out
}

fn reference_decide(p: &Policy, r: &Request) -> bool {
    match r.access {
        Access::Receive => p.flows.iter().any(|f| {
            f.to == r.role
                && f.relations.contains(&r.relation)
                && conditions_hold(f, r.consent, r.phase, Some(r.voorziening))
                && f.fields.contains(r.field)
        }),
        Access::Write => p.writes.iter().any(|w| {
            w.role == r.role && w.relations.contains(&r.relation) && w.fields.contains(r.field)
        }),
    }
}

fn reference_writable(p: &Policy, facts: &CaseFacts, author: &PartnerId) -> FieldSet {
    let rels = relations(facts, author);
    let mut set = FieldSet::EMPTY;
    for w in &p.writes {
        if w.role == author.role() && any_in(&rels, &w.relations) {
            for f in w.fields.iter() {
                set.insert(f);
            }
        }
    }
    set
}

fn reference_forbids(inv: &Invariant, r: &Request) -> bool {
    let fields = match r.access {
        Access::Receive => inv.receive,
        Access::Write => inv.write,
    };
    inv.role.is_none_or(|role| role == r.role)
        && (inv.relations.is_empty() || inv.relations.contains(&r.relation))
        && inv.when_consent.is_none_or(|c| c == r.consent)
        && (inv.phases.is_empty() || inv.phases.contains(&r.phase))
        && fields.contains(r.field)
}

/// Every request, enumerated here rather than by the crate.
fn every_request() -> impl Iterator<Item = Request> {
    Role::ALL.into_iter().flat_map(|role| {
        role.relations().iter().flat_map(move |&relation| {
            Fase::ALL.into_iter().flat_map(move |phase| {
                [false, true].into_iter().flat_map(move |consent| {
                    Voorziening::ALL.into_iter().flat_map(move |voorziening| {
                        Access::ALL.into_iter().flat_map(move |access| {
                            FieldId::all().map(move |field| Request {
                                role,
                                relation,
                                phase,
                                consent,
                                voorziening,
                                field,
                                access,
                            })
                        })
                    })
                })
            })
        })
    })
}

// ---------------------------------------------------------------------------------------------------------------
// Strategies

fn role() -> impl Strategy<Value = Role> {
    select(Role::ALL.to_vec())
}

fn partner() -> impl Strategy<Value = PartnerId> {
    (role(), 0..3usize).prop_map(|(role, i)| {
        let code = if role == Role::Gemeente {
            ["GM0080", "GM0074", "GM0090"][i]
        } else {
            ["a", "b", "c"][i]
        };
        PartnerId::new(role, code).expect("valid partner id")
    })
}

/// A partner with a random subset (possibly empty) of the relations its role can have.
fn partner_with_relations() -> impl Strategy<Value = (PartnerId, Vec<Relation>)> {
    partner().prop_flat_map(|p| {
        let rels = p.role().relations().to_vec();
        let n = rels.len();
        (Just(p), subsequence(rels, 0..=n))
    })
}

fn facts() -> impl Strategy<Value = CaseFacts> {
    (
        select(Fase::ALL.to_vec()),
        any::<bool>(),
        prop::option::of(select(Voorziening::ALL.to_vec())),
        prop::collection::vec(partner_with_relations(), 0..8),
    )
        .prop_map(|(phase, consent, voorziening, rels)| CaseFacts {
            phase,
            consent,
            voorziening,
            relations: rels.into_iter().collect(),
        })
}

fn field() -> impl Strategy<Value = FieldId> {
    (0..FieldId::all().count()).prop_map(|i| FieldId::from_index(i).expect("in range"))
}

fn request() -> impl Strategy<Value = Request> {
    (
        role(),
        any::<prop::sample::Index>(),
        select(Fase::ALL.to_vec()),
        any::<bool>(),
        select(Voorziening::ALL.to_vec()),
        field(),
        select(Access::ALL.to_vec()),
    )
        .prop_map(
            |(role, rel, phase, consent, voorziening, field, access)| Request {
                role,
                relation: *rel.get(role.relations()),
                phase,
                consent,
                voorziening,
                field,
                access,
            },
        )
}

/// Field selectors for generated policies: sensitive ones, whole documents, categories and everything.
const SELECTORS: &[&str] = &[
    "*",
    "registratie.*",
    "registratie.bsn",
    "registratie.reden_dakloosheid",
    "registratie.achternaam_voorletters",
    "aanmelding.leefsituatie",
    "aanmelding.hoofdinkomen",
    "aanmeldbericht.*",
    "aanmeldbericht.leefsituatie",
    "ondersteuningsplan.*",
    "ondersteuningsplan.daginvulling",
    "melding.soort",
    "melding.*",
    "reactie.besluit",
    "reactie.reden_weigering",
    "gemeente.akkoord_uitstroom",
    "beoordeling.status",
    "beoordeling.reden_andere_gemeente",
    "@bsn",
    "@financieel",
    "@identificerend",
    "vervolg_wonen.*",
    "plaatsing.datum_mutatie",
    "melding.status",
    "beoordeling.datum_ontvangen",
];

fn quoted(names: &[&str]) -> String {
    names
        .iter()
        .map(|n| format!("{n:?}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn names<T: Copy>(items: &[T], name: fn(T) -> &'static str) -> Vec<&'static str> {
    items.iter().map(|i| name(*i)).collect()
}

/// Relations for a rule about `role`: for the Transferpunt sometimes left out (implied), otherwise a non-empty
/// subset of those the role can have.
/// Relations without `geen` are drawn more often, so that some generated policies do load.
fn rule_relations(role: Role) -> impl Strategy<Value = Option<Vec<Relation>>> {
    let rels = role.relations().to_vec();
    let n = rels.len();
    let some = subsequence(rels, 1..=n).prop_map(Some);
    let involved: Vec<Relation> = role
        .relations()
        .iter()
        .copied()
        .filter(|r| *r != Relation::Geen)
        .collect();
    let m = involved.len();
    match (role, m) {
        (Role::Transferpunt, _) => prop_oneof![Just(None), some].boxed(),
        (_, 0) => some.boxed(),
        _ => prop_oneof![1 => some, 3 => subsequence(involved, 1..=m).prop_map(Some)].boxed(),
    }
}

#[derive(Debug, Clone)]
struct GenFlow {
    from: Role,
    from_relations: Vec<Relation>,
    to: Role,
    relations: Option<Vec<Relation>>,
    consent: bool,
    phases: Vec<Fase>,
    voorziening: Vec<Voorziening>,
    fields: Vec<&'static str>,
}

#[derive(Debug, Clone)]
struct GenWrite {
    role: Role,
    relations: Option<Vec<Relation>>,
    fields: Vec<&'static str>,
}

fn gen_flow() -> impl Strategy<Value = GenFlow> {
    (role(), role()).prop_flat_map(|(from, to)| {
        let from_rels = from.relations().to_vec();
        let n = from_rels.len();
        (
            subsequence(from_rels, 0..=n),
            rule_relations(to),
            prop::bool::weighted(0.9),
            subsequence(Fase::ALL.to_vec(), 0..=3),
            subsequence(Voorziening::ALL.to_vec(), 0..=1),
            subsequence(SELECTORS.to_vec(), 1..=3),
        )
            .prop_map(
                move |(from_relations, relations, consent, phases, voorziening, fields)| GenFlow {
                    from,
                    from_relations,
                    to,
                    relations,
                    consent,
                    phases,
                    voorziening,
                    fields,
                },
            )
    })
}

fn gen_write() -> impl Strategy<Value = GenWrite> {
    role().prop_flat_map(|role| {
        (rule_relations(role), subsequence(SELECTORS.to_vec(), 1..=2)).prop_map(
            move |(relations, fields)| GenWrite {
                role,
                relations,
                fields,
            },
        )
    })
}

fn policy_text(flows: &[GenFlow], writes: &[GenWrite]) -> String {
    let mut t = String::from(
        "[policy]\nname = \"gegenereerd\"\nversion = \"p.1\"\neffective_from = \"2026-01-01\"\n\n\
         [retention]\nyears = 7\nbasis = \"Wmo 2015\"\n",
    );
    for (i, w) in writes.iter().enumerate() {
        let _ = write!(
            t,
            "\n[[writes]]\nname = \"w{i}\"\nrole = {:?}\n",
            w.role.name()
        );
        if let Some(r) = &w.relations {
            let _ = writeln!(t, "relations = [{}]", quoted(&names(r, Relation::name)));
        }
        let _ = write!(
            t,
            "fields = [{}]\nbasis = \"Afspraak 1\"\n",
            quoted(&w.fields)
        );
    }
    for (i, f) in flows.iter().enumerate() {
        let _ = write!(
            t,
            "\n[[flows]]\nname = \"f{i}\"\nfrom = {:?}\nto = {:?}\n",
            f.from.name(),
            f.to.name()
        );
        if !f.from_relations.is_empty() {
            let _ = writeln!(
                t,
                "from_relations = [{}]",
                quoted(&names(&f.from_relations, Relation::name))
            );
        }
        if let Some(r) = &f.relations {
            let _ = writeln!(t, "relations = [{}]", quoted(&names(r, Relation::name)));
        }
        if f.consent {
            t.push_str("requires = [\"toestemming\"]\n");
        }
        if !f.phases.is_empty() {
            let _ = writeln!(t, "phases = [{}]", quoted(&names(&f.phases, Fase::name)));
        }
        if !f.voorziening.is_empty() {
            let _ = writeln!(
                t,
                "voorziening = [{}]",
                quoted(&names(&f.voorziening, Voorziening::name))
            );
        }
        let _ = write!(
            t,
            "fields = [{}]\npurpose = \"test\"\nbasis = \"Afspraak 1\"\n",
            quoted(&f.fields)
        );
    }
    t
}

fn gen_policy() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(gen_flow(), 0..4),
        prop::collection::vec(gen_write(), 0..3),
    )
        .prop_map(|(flows, writes)| policy_text(&flows, &writes))
}

// ---------------------------------------------------------------------------------------------------------------
// The properties

fn check_allowed_fields(
    p: &Policy,
    facts: &CaseFacts,
    sender: &PartnerId,
    receiver: &PartnerId,
) -> Result<(), TestCaseError> {
    let got = p.allowed_fields(facts, sender, receiver);
    let expected = reference_allowed(p, facts, sender, receiver);
    // Sound: each field returned is in a flow that matches, credited to the first one.
    let mut seen = FieldSet::EMPTY;
    for a in &got {
        prop_assert!(!seen.contains(a.field), "{} returned twice", a.field);
        seen.insert(a.field);
        let flow = &p.flows[a.flow];
        prop_assert!(
            flow.fields.contains(a.field),
            "{} credited to flow {:?} without it",
            a.field,
            flow.name
        );
        prop_assert!(
            flow_applies(flow, facts, sender, receiver),
            "{} credited to flow {:?} that does not apply",
            a.field,
            flow.name
        );
        prop_assert_eq!(
            expected.get(&a.field),
            Some(&a.flow),
            "{} credited to another flow than the first",
            a.field
        );
    }
    // Exact: every field of a matching flow is returned.
    let got_map: BTreeMap<FieldId, usize> = got.iter().map(|a| (a.field, a.flow)).collect();
    prop_assert_eq!(got_map, expected);
    // In model order.
    prop_assert!(got.windows(2).all(|w| w[0].field < w[1].field));
    Ok(())
}

fn check_write(
    p: &Policy,
    facts: &CaseFacts,
    author: &PartnerId,
    fields: &[FieldId],
) -> Result<(), TestCaseError> {
    let allowed = reference_writable(p, facts, author);
    match p.check_write(facts, author, fields.iter().copied()) {
        Ok(()) => {
            for f in fields {
                prop_assert!(
                    allowed.contains(*f),
                    "{author} may write {f}, but no write rule allows it"
                );
            }
        }
        Err(denied) => {
            let first = fields.iter().find(|f| !allowed.contains(**f));
            prop_assert!(
                first.is_some(),
                "{author} was refused though every field is allowed: {denied}"
            );
            prop_assert_eq!(denied.field, first.unwrap().qualified_name());
            prop_assert_eq!(denied.author, author.to_string());
        }
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    /// (a) on the shipped policy.
    #[test]
    fn allowed_fields_is_exactly_what_matching_flows_carry(facts in facts(), sender in partner(), receiver in partner()) {
        check_allowed_fields(&COVENANT, &facts, &sender, &receiver)?;
    }

    /// (a) with sender and receiver drawn from the partners the case knows, so relations match more often.
    #[test]
    fn allowed_fields_is_exact_for_partners_of_the_case(facts in facts(), i in any::<prop::sample::Index>(), j in any::<prop::sample::Index>()) {
        let known: Vec<PartnerId> = facts.relations.keys().cloned().chain([PartnerId::new(Role::Transferpunt, "sdf").unwrap()]).collect();
        check_allowed_fields(&COVENANT, &facts, i.get(&known), j.get(&known))?;
    }

    /// (b) on the shipped policy.
    #[test]
    fn decide_agrees_with_the_reference(r in request()) {
        prop_assert_eq!(COVENANT.decide(&r), reference_decide(&COVENANT, &r), "{}", r);
    }

    /// (c) on the shipped policy.
    #[test]
    fn check_write_never_allows_a_field_no_rule_allows(
        facts in facts(),
        author in partner(),
        fields in prop::collection::vec(field(), 0..8),
    ) {
        check_write(&COVENANT, &facts, &author, &fields)?;
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// (a), (b) and (c) on random policies, which have shapes the shipped one lacks.
    #[test]
    fn the_evaluator_matches_the_reference_on_random_policies(
        text in gen_policy(),
        cases in prop::collection::vec((facts(), partner(), partner()), 1..6),
        requests in prop::collection::vec(request(), 1..64),
        writes in prop::collection::vec((facts(), partner(), prop::collection::vec(field(), 0..6)), 1..6),
    ) {
        let p = Policy::parse(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        for (facts, sender, receiver) in &cases {
            check_allowed_fields(&p, facts, sender, receiver)?;
        }
        for r in &requests {
            prop_assert_eq!(p.decide(r), reference_decide(&p, r), "{}", r);
        }
        for (facts, author, fields) in &writes {
            check_write(&p, facts, author, fields)?;
        }
    }

    /// (d) a random policy loads only if it keeps every baseline invariant, everywhere; and it is refused only
    /// for a request it really allows that an invariant really forbids.
    #[test]
    fn a_random_policy_loads_only_if_it_keeps_every_invariant(text in gen_policy()) {
        let parsed = Policy::parse(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert!(parsed.invariants.iter().all(|i| i.baseline));
        let broken: Vec<(Request, &Invariant)> = every_request()
            .filter(|r| reference_decide(&parsed, r))
            .flat_map(|r| parsed.invariants.iter().filter(move |i| reference_forbids(i, &r)).map(move |i| (r, i)))
            .collect();
        match Policy::load(&text) {
            Ok(p) => {
                prop_assert!(broken.is_empty(), "loaded, but allows {} (forbidden by {:?})\n{text}", broken[0].0, broken[0].1.name);
                prop_assert!(p.violations().is_empty());
                for r in Request::all() {
                    if p.invariants.iter().any(|i| i.baseline && reference_forbids(i, &r)) {
                        prop_assert!(!p.decide(&r), "{r} is allowed but forbidden\n{text}");
                    }
                }
            }
            Err(PolicyError::Invariants(violations)) => {
                prop_assert!(!broken.is_empty(), "refused though no request breaks an invariant\n{text}");
                prop_assert!(!violations.is_empty());
                for v in &violations {
                    let inv = parsed.invariants.iter().find(|i| i.name == v.invariant).expect("a known invariant");
                    prop_assert!(reference_decide(&parsed, &v.example), "example {} is not allowed", v.example);
                    prop_assert!(reference_forbids(inv, &v.example), "example {} is not forbidden by {:?}", v.example, inv.name);
                    prop_assert!(v.fields.contains(&v.example.field));
                    prop_assert!(v.requests >= v.fields.len());
                }
                // Every broken (invariant, request) pair is reported under its invariant.
                for (r, inv) in &broken {
                    prop_assert!(
                        violations.iter().any(|v| v.invariant == inv.name && v.fields.contains(&r.field)),
                        "{r} breaks {:?} but is not reported", inv.name
                    );
                }
            }
            Err(e) => prop_assert!(false, "refused for another reason: {e}\n{text}"),
        }
    }
}

#[test]
fn the_request_space_is_enumerated_alike() {
    let mine: Vec<Request> = every_request().collect();
    let theirs: Vec<Request> = Request::all().collect();
    assert_eq!(mine.len(), theirs.len());
    assert_eq!(mine, theirs);
}

#[test]
fn decide_agrees_with_the_reference_over_the_whole_space() {
    for r in every_request() {
        assert_eq!(COVENANT.decide(&r), reference_decide(&COVENANT, &r), "{r}");
    }
}
