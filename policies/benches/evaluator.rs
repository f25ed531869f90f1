//! Benchmarks of the policy evaluator on one core: field decisions per second (`decide` over a fixed set of
//! requests, `allowed_fields` for a realistic case), enumerating the whole request space to check every
//! invariant (`violations`), and an exhaustive diff of two policies.
//!
//! Run: `cargo bench -p policies --bench evaluator -- --warm-up-time 1 --measurement-time 3`

use std::hint::black_box;

use criterion::{Criterion, Throughput};
use policies::model::FIELD_COUNT;
use policies::partner::Fase;
use policies::policy::{COVENANT_POLICY, Request};
use policies::{CaseFacts, PartnerId, Policy, Relation, Voorziening};

fn pid(s: &str) -> PartnerId {
    s.parse().expect("valid partner id")
}

/// A case in bemiddeling with every kind of partner involved, plus uninvolved ones.
fn realistic_case() -> (CaseFacts, Vec<PartnerId>) {
    let relations = [
        (
            "zorgaanbieder:de-zijlen",
            vec![Relation::BetrokkenZorgaanbieder],
        ),
        (
            "zorgaanbieder:kwadrant",
            vec![Relation::OndersteunendeZorgaanbieder],
        ),
        ("gemeente:GM0080", vec![Relation::Verblijfgemeente]),
        (
            "gemeente:GM0090",
            vec![Relation::Herkomstgemeente, Relation::Uitstroomgemeente],
        ),
        ("corporatie:elkien", vec![Relation::ToegewezenCorporatie]),
        ("corporatie:accolade", vec![Relation::EerdereCorporatie]),
    ];
    let facts = CaseFacts {
        phase: Fase::Bemiddeling,
        consent: true,
        voorziening: Some(Voorziening::MaatschappelijkeOpvang),
        relations: relations.iter().map(|(p, r)| (pid(p), r.clone())).collect(),
    };
    let mut partners: Vec<PartnerId> = relations.iter().map(|(p, _)| pid(p)).collect();
    partners.extend(
        [
            "transferpunt:sdf",
            "corporatie:dynhus",
            "huurdersorganisatie:huurdersbelang",
        ]
        .map(pid),
    );
    (facts, partners)
}

fn bench(c: &mut Criterion) {
    let policy = Policy::covenant();

    // decide: every 7th request of the space, a fixed mix of roles, relations, states and fields.
    let requests: Vec<Request> = Request::all().step_by(7).collect();
    let mut g = c.benchmark_group("decide");
    g.throughput(Throughput::Elements(requests.len() as u64));
    g.bench_function("covenant, fixed request mix", |b| {
        b.iter(|| {
            requests
                .iter()
                .filter(|r| policy.decide(black_box(r)))
                .count()
        })
    });
    g.finish();

    // allowed_fields: every sender to every receiver of one case; each call decides every field of the model.
    let (facts, partners) = realistic_case();
    let pairs: Vec<(&PartnerId, &PartnerId)> = partners
        .iter()
        .flat_map(|s| partners.iter().map(move |r| (s, r)))
        .collect();
    let mut g = c.benchmark_group("allowed_fields");
    g.throughput(Throughput::Elements((pairs.len() * FIELD_COUNT) as u64));
    g.bench_function(
        format!(
            "{} sender-receiver pairs x {FIELD_COUNT} fields",
            pairs.len()
        ),
        |b| {
            b.iter(|| {
                pairs
                    .iter()
                    .map(|(s, r)| policy.allowed_fields(black_box(&facts), s, r).len())
                    .sum::<usize>()
            })
        },
    );
    g.finish();

    // The proof: every request of the space against every invariant.
    let space = Request::all().count() as u64;
    let mut g = c.benchmark_group("request_space");
    g.throughput(Throughput::Elements(space));
    g.bench_function(format!("violations over {space} requests"), |b| {
        b.iter(|| black_box(&policy).violations().len())
    });

    // The exact diff: both policies over every request.
    let needle = r#"fields = ["aanmeldbericht.*"]"#;
    let changed = Policy::load(&COVENANT_POLICY.replace(
        needle,
        r#"fields = ["aanmeldbericht.*", "registratie.geboortedatum"]"#,
    ))
    .expect("the changed policy loads");
    g.bench_function(format!("diff over {space} requests"), |b| {
        b.iter(|| black_box(&policy).diff(black_box(&changed)).entries.len())
    });
    g.finish();

    // Parse + prove + examples, as a node does on receiving a new policy version.
    let mut g = c.benchmark_group("load");
    g.throughput(Throughput::Elements(1));
    g.bench_function("Policy::load(covenant)", |b| {
        b.iter(|| Policy::load(black_box(COVENANT_POLICY)).is_ok())
    });
    g.finish();
}

// `criterion_main!` by hand: the generated group function would have no doc comment (workspace lint).
fn main() {
    let mut c = Criterion::default().configure_from_args();
    bench(&mut c);
    c.final_summary();
}
