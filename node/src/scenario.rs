//! The bemiddeling, written once as data and played by `weerthuis demo`, the end-to-end test
//! (`tests/tests/federation.rs`) and the simulator's fault runs, all on the one harness ([`crate::harness`]).
//!
//! Seven partners, three cases. Case A (Kwadrant, MO, Leeuwarden) goes the long way round: a draft request that
//! stays at Kwadrant until submitted, sent back as incomplete, completed and submitted again, the gemeente's akkoord, a corporatie that asks for information and then refuses with
//! a reason, the next corporatie accepting, a first offer the client refuses, a 3-partijen lease. Case B (Limor,
//! Heerenveen) goes straight through to a lease in the client's own name. Case C has no consent: nothing of it may
//! leave Kwadrant.
//!
//! A step is who acts ([`Actor`]), what it waits for first ([`Need`]: some node holds a value, or no longer holds a
//! section, and the data's route there), what it does ([`Act`]) and, for the demo, a line of narration. The route
//! lets a fault plan tell from the scenario alone — not from timing — which step cannot be taken while a partition
//! or crash lasts. The people ([`Person`]) are parameters: the demo's made-up clients, or canaries unique to a
//! seed, searched for as raw bytes in every node's files afterwards.

use std::time::Duration;

use policies::DocumentKind as D;
use policies::examples::{self as ex, Client, fictitious_bsn};
use serde_json::{Value, json};

use crate::harness::{LiveNet, eventually};
use crate::store::CaseId;

/// The Transferpunt.
pub const TRANSFERPUNT: &str = "transferpunt:sdf";
/// Gemeente Leeuwarden.
pub const LEEUWARDEN: &str = "gemeente:GM0080";
/// Gemeente Heerenveen.
pub const HEERENVEEN: &str = "gemeente:GM0074";
/// Woningcorporatie Elkien.
pub const ELKIEN: &str = "corporatie:elkien";
/// Woningcorporatie Accolade.
pub const ACCOLADE: &str = "corporatie:accolade";
/// Zorgaanbieder Kwadrant.
pub const KWADRANT: &str = "zorgaanbieder:kwadrant";
/// Zorgaanbieder Limor.
pub const LIMOR: &str = "zorgaanbieder:limor";

/// The partners with their names, in the order the demo shows them.
pub const PARTNERS: [(&str, &str); 7] = [
    (TRANSFERPUNT, "Transferpunt Weer Thuis"),
    (LEEUWARDEN, "Gemeente Leeuwarden"),
    (HEERENVEEN, "Gemeente Heerenveen"),
    (ELKIEN, "Elkien"),
    (ACCOLADE, "Accolade"),
    (KWADRANT, "Kwadrant"),
    (LIMOR, "Limor"),
];

/// The partner ids, in id order.
pub const IDS: [&str; 7] = [
    ACCOLADE,
    ELKIEN,
    HEERENVEEN,
    LEEUWARDEN,
    TRANSFERPUNT,
    KWADRANT,
    LIMOR,
];

/// The number of cases.
pub const CASES: usize = 3;

/// The case documents of a case that went the whole way (every partner's reactie or akkoord aside).
pub const WHOLE_WAY: [&str; 6] = [
    "registratie",
    "aanmelding",
    "vervolg_wonen",
    "bemiddelingsverzoek",
    "beoordeling",
    "plaatsing",
];

/// The cases' labels (case 1 is A).
pub const LABELS: [&str; CASES] = ["A", "B", "C"];

/// Whether the client of case `case` (1-based) consented.
pub fn consents(case: usize) -> bool {
    case != 3
}

/// Who acts, or holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Actor {
    /// A fixed partner.
    Node(&'static str),
    /// The corporatie the case is assigned to now (`{toegewezen}` in sections and narration).
    Assigned,
    /// The corporatie it was assigned to before (`{vorige}`).
    Previous,
}

/// What a [`Need`] waits for at its holder.
#[derive(Debug, Clone, PartialEq)]
pub enum Want {
    /// The section's field has this value.
    Value(&'static str, Value),
    /// The section is not held (any more).
    Gone,
}

/// What a step waits for: the last node of `route` holds (or no longer holds) something of `section`.
#[derive(Debug, Clone)]
pub struct Need {
    /// The section (`{toegewezen}`, `{vorige}` stand for the corporaties).
    pub section: &'static str,
    /// What must be so.
    pub want: Want,
    /// The data's way: its author first, then every node relaying it; the holder is the last hop.
    pub route: Vec<Actor>,
}

impl Need {
    /// The node that must hold it.
    pub fn holder(&self) -> Actor {
        *self.route.last().expect("a route has a holder")
    }
}

/// What a step does.
#[derive(Debug, Clone)]
pub enum Act {
    /// Create the case at the writer (the case's first step).
    Create,
    /// Write a whole form.
    Write(D, Value),
    /// Set these fields in the form as the writer holds it now, and write it (a co-written form).
    Edit(D, Value),
    /// The writer (the zorgaanbieder) submits the case's bemiddelingsverzoek (indienen).
    Submit,
    /// The Transferpunt sends the request back as incomplete, these items ticked, with this explanation.
    SendBack(&'static [&'static str], &'static str),
    /// The Transferpunt assigns the next corporatie (round-robin).
    Assign,
    /// Nothing: only wait for the needs.
    Wait,
}

/// One step.
#[derive(Debug, Clone)]
pub struct Step {
    /// The case (1-based).
    pub case: usize,
    /// The writer.
    pub at: Actor,
    /// What it waits for first.
    pub needs: Vec<Need>,
    /// What it does.
    pub act: Act,
    /// The demo's line for it, if any (`{toegewezen}`, `{vorige}` filled in).
    pub says: Option<&'static str>,
}

/// A case's client as the forms carry them, and the text of a refusal: made-up values, or canaries.
#[derive(Debug, Clone)]
pub struct Person {
    /// A fictitious BSN.
    pub bsn: String,
    /// The client's name.
    pub name: String,
    /// reden_dakloosheid.
    pub reden: String,
    /// The toelichting of a corporatie's refusal (empty if the case has none).
    pub weigering: String,
}

impl Person {
    /// The client for the example forms.
    pub fn client(&self) -> Client {
        Client {
            name: self.name.clone(),
            bsn: self.bsn.clone(),
            reden_dakloosheid: self.reden.clone(),
        }
    }

    /// The values with a label each, in a fixed order.
    pub fn labelled(&self) -> Vec<(&'static str, &str)> {
        let mut v = vec![
            ("bsn", self.bsn.as_str()),
            ("naam", self.name.as_str()),
            ("reden_dakloosheid", self.reden.as_str()),
        ];
        if !self.weigering.is_empty() {
            v.push(("toelichting_weigering", self.weigering.as_str()));
        }
        v
    }
}

/// The demo's made-up people, cases A, B, C.
pub fn demo_people() -> [Person; CASES] {
    let person = |name: &str, n: u64| Person {
        bsn: fictitious_bsn(n),
        name: name.to_string(),
        reden: "Huisuitzetting na relatiebreuk".to_string(),
        weigering: String::new(),
    };
    let mut a = person("Visser, J.", 1);
    a.weigering = "Huurachterstand bij een eerdere verhuurder, nog niet afgelost".into();
    [a, person("de Vries, M.", 2), person("Bakker, T.", 3)]
}

/// Canaries unique to `seed`, cases A, B, C: values no other run writes, to be searched for as raw bytes.
pub fn canaries(seed: u64) -> [Person; CASES] {
    [1, 2, 3].map(|case| Person {
        bsn: fictitious_bsn(seed.wrapping_mul(10).wrapping_add(case)),
        name: format!("Kanarie{seed}x{case}, K."),
        reden: format!("kanarie-reden-{seed}-{case}"),
        weigering: if case == 1 {
            format!("kanarie-weigering-{seed}-{case}")
        } else {
            String::new()
        },
    })
}

fn step(case: usize, at: Actor, needs: Vec<Need>, act: Act, says: Option<&'static str>) -> Step {
    Step {
        case,
        at,
        needs,
        act,
        says,
    }
}

fn holds(section: &'static str, field: &'static str, value: Value, route: &[Actor]) -> Need {
    Need {
        section,
        want: Want::Value(field, value),
        route: route.to_vec(),
    }
}

/// A case created at `at` and these forms written one after another; `says` after the last.
fn intake(case: usize, at: Actor, forms: Vec<(D, Value)>, says: &'static str) -> Vec<Step> {
    let last = forms.len();
    let mut steps = vec![step(case, at, vec![], Act::Create, None)];
    for (i, (kind, form)) in forms.into_iter().enumerate() {
        let says = (i + 1 == last).then_some(says);
        steps.push(step(case, at, vec![], Act::Write(kind, form), says));
    }
    steps
}

/// The steps, with these people in cases A, B and C. A data table: one step a line (or a few).
#[rustfmt::skip]
pub fn steps(people: &[Person; CASES]) -> Vec<Step> {
    use Actor::{Assigned, Node as N, Previous};
    let [a, b, c] = [0, 1, 2].map(|i| people[i].client());
    let (za, tp, lwd, hrv, limor) = (N(KWADRANT), N(TRANSFERPUNT), N(LEEUWARDEN), N(HEERENVEEN), N(LIMOR));
    let woonwens = "Eenpersoonswoning in Leeuwarden, huur tot 650 euro";
    let missing = "bemiddelingsverzoek.woonwens";
    const TICKED: &[&str] = &["bemiddelingsverzoek.woonwens"];
    let vraag = "Graag een verklaring over de schuldsanering";
    let offer1 = ex::aanbod("2025-11-10", "Tuinstraat 5, Leeuwarden", false);
    let offer2 = ex::aanbod("2025-11-20", "Kerkstraat 9, Leeuwarden", true);
    let offer_b = ex::aanbod("2026-04-02", "Molenweg 12, Heerenveen", true);
    let mo = "maatschappelijke_opvang";
    let w = |kind, form| Act::Write(kind, form);
    let approved_a = {
        let mut b = ex::beoordeling_teruggestuurd("2025-10-02", "2025-10-03", missing);
        b["status"] = json!("goedgekeurd");
        b["datum_volledig"] = json!("2025-10-20");
        b["gekozen_uitstroomgemeente"] = json!("GM0080");
        b
    };
    let mut steps = Vec::new();
    // === Case A: Kwadrant, Leeuwarden — the long way round.
    steps.extend(intake(1, za, vec![
        (D::Registratie, ex::registratie(&a, KWADRANT, true, mo, "GM0080", "2025-06-01")),
        (D::Aanmelding, ex::aanmelding(&a, "2025-06-10")),
        (D::VervolgWonen, ex::vervolg_wonen(&a, "GM0080", "2025-09-01")),
        (D::Bemiddelingsverzoek, ex::bemiddelingsverzoek("2025-10-01", "Kwadrant", None)),
    ], "zorgaanbieder:kwadrant registers case A (with consent) and drafts a bemiddelingsverzoek — without a \
        woonwens it cannot be submitted, and the draft stays at Kwadrant"));
    // === Case C: no consent; it never leaves Kwadrant.
    steps.extend(intake(3, za, vec![
        (D::Registratie, ex::registratie(&c, KWADRANT, false, mo, "GM0080", "2025-07-01")),
        (D::Aanmelding, ex::aanmelding(&c, "2025-07-05")),
    ], "zorgaanbieder:kwadrant registers case C without consent (toestemming_gegevensdeling = nee)"));
    steps.extend([
        // A woonwens makes the request complete; submitted, it travels to the Transferpunt.
        step(1, za, vec![], Act::Edit(D::Bemiddelingsverzoek, json!({"woonwens": "Een woning"})), None),
        step(1, za, vec![], Act::Submit, Some("zorgaanbieder:kwadrant submits the bemiddelingsverzoek of case A")),
        // The Transferpunt finds the woonwens too vague and sends the request back, ticking it.
        step(1, tp, vec![holds("bemiddelingsverzoek", "datum_verzoek", json!("2025-10-01"), &[za, tp])],
            Act::SendBack(TICKED, "Graag huurprijs, grootte en ligging"),
            Some("transferpunt:sdf sends the bemiddelingsverzoek of case A back as onvolledig (woonwens te vaag)")),
        // The begeleider sees what is ticked, completes it and submits again; the edits merge in the shared
        // document.
        step(1, za, vec![
                holds("bemiddelingsverzoek", "ontbrekende_gegevens", json!([missing]), &[tp, za]),
                holds("beoordeling", "status", json!("teruggestuurd_onvolledig"), &[tp, za]),
            ],
            Act::Edit(D::Bemiddelingsverzoek, json!({"woonwens": woonwens})), None),
        step(1, za, vec![], Act::Submit,
            Some("zorgaanbieder:kwadrant completes the request (woonwens) and submits it again")),
        // Complete: the herkomstgemeente is chosen and asked for its akkoord.
        step(1, tp, vec![holds("bemiddelingsverzoek", "woonwens", json!(woonwens), &[za, tp])],
            w(D::Beoordeling, approved_a),
            Some("transferpunt:sdf approves case A and chooses uitstroomgemeente GM0080 (Leeuwarden)")),
        step(1, lwd, vec![holds("beoordeling", "gekozen_uitstroomgemeente", json!("GM0080"), &[tp, lwd])],
            w(D::Gemeente, ex::gemeente_akkoord("2025-10-22", "Gebiedsteam Leeuwarden-Oost", "2025-10-23")),
            Some("gemeente:GM0080 gives its akkoord on the uitstroom")),
        // Round-robin: the first corporatie asks for information, then refuses with a reason.
        step(1, tp, vec![holds("gemeente/gemeente:GM0080", "akkoord_uitstroom", json!("akkoord"), &[lwd, tp])],
            Act::Assign, Some("transferpunt:sdf assigns case A to {toegewezen} (om en om)")),
        step(1, Assigned, vec![holds("aanmeldbericht/{toegewezen}", "bsn", json!(a.bsn), &[tp, Assigned])],
            w(D::Reactie, ex::reactie_informatie("2025-10-24", vraag)),
            Some("{toegewezen} asks for information (informatieverzoek)")),
        step(1, Assigned, vec![
                holds("reactie/{toegewezen}", "besluit", json!("informatie_gevraagd"), &[Assigned, tp]),
                holds("reactie/{toegewezen}", "informatieverzoek", json!(vraag), &[Assigned, tp, za]),
            ],
            w(D::Reactie, ex::reactie_geweigerd("2025-10-28", &people[0].weigering)),
            Some("{toegewezen} refuses case A (reden_weigering: huurachterstand)")),
        // The next corporatie in the gemeente; the one that refused loses the aanmeldbericht.
        step(1, tp, vec![holds("reactie/{toegewezen}", "besluit", json!("geweigerd"), &[Assigned, tp])],
            Act::Assign, Some("transferpunt:sdf assigns case A to {toegewezen}")),
        // An offer refused by the client, a second accepted, a 3-partijen lease with its omklap conditions.
        step(1, Assigned, vec![
                holds("aanmeldbericht/{toegewezen}", "achternaam_initialen", json!(a.name), &[tp, Assigned]),
                Need { section: "aanmeldbericht/{vorige}", want: Want::Gone, route: vec![tp, Previous] },
            ],
            w(D::Reactie, ex::reactie_geaccepteerd("2025-11-03", std::slice::from_ref(&offer1))),
            Some("{toegewezen} accepts case A and offers a woning; the client refuses this first offer; \
                  {vorige} no longer holds the aanmeldbericht")),
        step(1, Assigned, vec![],
            w(D::Reactie, ex::reactie_gehuurd("2025-11-03", &[offer1, offer2], "drie_partijen", "2025-11-24")),
            Some("the client accepts a second offer; {toegewezen} signs a 3-partijen huurovereenkomst")),
        step(1, za, vec![holds("reactie/{toegewezen}", "soort_huurcontract", json!("drie_partijen"), &[Assigned, tp, za])],
            w(D::Plaatsing, ex::plaatsing(&a, "2025-11-24", "Kerkstraat 9, Leeuwarden", "GM0080", "drie_partijen")),
            Some("zorgaanbieder:kwadrant reports the plaatsing of case A")),
    ]);
    // === Case B: Limor, Heerenveen — straight through, a lease in the client's own name.
    steps.extend(intake(2, limor, vec![
        (D::Registratie, ex::registratie(&b, LIMOR, true, mo, "GM0074", "2026-01-05")),
        (D::Aanmelding, ex::aanmelding(&b, "2026-01-12")),
        (D::VervolgWonen, ex::vervolg_wonen(&b, "GM0074", "2026-03-01")),
        (D::Bemiddelingsverzoek,
            ex::bemiddelingsverzoek("2026-03-10", "Limor", Some("Eenpersoonswoning in Heerenveen, dicht bij het werk"))),
    ], "zorgaanbieder:limor registers case B (with consent) and writes a bemiddelingsverzoek for Heerenveen"));
    steps.extend([
        step(2, limor, vec![], Act::Submit, Some("zorgaanbieder:limor submits it")),
        step(2, tp, vec![holds("bemiddelingsverzoek", "datum_verzoek", json!("2026-03-10"), &[limor, tp])],
            w(D::Beoordeling, ex::beoordeling_goedgekeurd("2026-03-11", "2026-03-11", "GM0074")),
            Some("transferpunt:sdf approves case B at once and chooses uitstroomgemeente GM0074 (Heerenveen)")),
        step(2, hrv, vec![holds("beoordeling", "gekozen_uitstroomgemeente", json!("GM0074"), &[tp, hrv])],
            w(D::Gemeente, ex::gemeente_akkoord("2026-03-13", "Gebiedsteam Heerenveen", "2026-03-16")),
            Some("gemeente:GM0074 gives its akkoord on the uitstroom")),
        step(2, tp, vec![holds("gemeente/gemeente:GM0074", "akkoord_uitstroom", json!("akkoord"), &[hrv, tp])],
            Act::Assign, Some("transferpunt:sdf assigns case B to {toegewezen} (om en om)")),
        step(2, Assigned, vec![holds("aanmeldbericht/{toegewezen}", "bsn", json!(b.bsn), &[tp, Assigned])],
            w(D::Reactie, ex::reactie_gehuurd("2026-03-20", &[offer_b], "eigen_naam", "2026-04-15")),
            Some("{toegewezen} accepts case B; the client accepts the first offer, a lease in eigen naam")),
        step(2, limor, vec![holds("reactie/{toegewezen}", "soort_huurcontract", json!("eigen_naam"), &[Assigned, tp, limor])],
            w(D::Plaatsing, ex::plaatsing(&b, "2026-04-15", "Molenweg 12, Heerenveen", "GM0074", "eigen_naam")),
            Some("zorgaanbieder:limor reports the plaatsing of case B")),
        // Both placements have arrived where the monitor and the gemeenten need them.
        step(1, tp, vec![
                holds("plaatsing", "soort_mutatie", json!("uitstroom_zelfstandig"), &[za, tp]),
                holds("plaatsing", "datum_mutatie", json!("2025-11-24"), &[za, tp, lwd]),
            ], Act::Wait, None),
        step(2, tp, vec![
                holds("plaatsing", "soort_mutatie", json!("uitstroom_zelfstandig"), &[limor, tp]),
                holds("plaatsing", "datum_mutatie", json!("2026-04-15"), &[limor, tp, hrv]),
            ], Act::Wait, None),
    ]);
    steps
}

/// A step could not be taken.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct ScenarioError(String);

/// What a step did.
#[derive(Debug, Clone)]
pub struct Done {
    /// Who did it.
    pub writer: String,
    /// What, in words (for a report).
    pub what: String,
    /// The sections the writer changed.
    pub touched: Vec<String>,
}

/// The state of a scenario being played: the cases created and who they were assigned to.
#[derive(Debug, Clone, Default)]
pub struct Play {
    /// Per case, once created.
    pub cases: Vec<Option<CaseId>>,
    /// Per case, the corporaties it was assigned to, in order.
    pub assigned: Vec<Vec<String>>,
}

impl Play {
    /// Nothing played yet.
    pub fn new() -> Play {
        Play {
            cases: vec![None; CASES],
            assigned: vec![Vec::new(); CASES],
        }
    }

    /// Case `n` (1-based). Panics before its creation.
    pub fn case(&self, n: usize) -> &CaseId {
        self.cases[n - 1].as_ref().expect("case created")
    }

    /// The partner `actor` stands for in case `n` now (empty while nobody is assigned).
    pub fn resolve(&self, n: usize, actor: Actor) -> String {
        let assigned = &self.assigned[n - 1];
        match actor {
            Actor::Node(id) => id.to_string(),
            Actor::Assigned => assigned.last().cloned().unwrap_or_default(),
            Actor::Previous => assigned
                .len()
                .checked_sub(2)
                .map(|i| assigned[i].clone())
                .unwrap_or_default(),
        }
    }

    /// A text with `{toegewezen}` and `{vorige}` filled in for case `n`.
    pub fn fill(&self, n: usize, text: &str) -> String {
        text.replace("{toegewezen}", &self.resolve(n, Actor::Assigned))
            .replace("{vorige}", &self.resolve(n, Actor::Previous))
    }

    /// The step's narration, filled in.
    pub fn narration(&self, step: &Step) -> Option<String> {
        step.says.map(|s| self.fill(step.case, s))
    }

    /// Whether a need is met now.
    pub async fn met(&self, net: &LiveNet, case: usize, need: &Need) -> bool {
        let holder = self.resolve(case, need.holder());
        let section = self.fill(case, need.section);
        let held = net.holds(&holder, self.case(case)).await;
        match &need.want {
            Want::Value(field, value) => {
                held.get(&section).and_then(|s| s.get(*field)) == Some(value)
            }
            Want::Gone => !held.contains_key(&section),
        }
    }

    /// Wait (at most `limit` each) until the step's needs are met, then take it.
    pub async fn step(
        &mut self,
        net: &LiveNet,
        step: &Step,
        limit: Duration,
    ) -> Result<Done, ScenarioError> {
        for need in &step.needs {
            if !eventually(limit, || self.met(net, step.case, need)).await {
                let section = self.fill(step.case, need.section);
                let what = match &need.want {
                    Want::Value(field, value) => format!("hold {section}.{field} = {value}"),
                    Want::Gone => format!("no longer hold {section}"),
                };
                return Err(ScenarioError(format!(
                    "{} did not come to {what} within {} s",
                    self.resolve(step.case, need.holder()),
                    limit.as_secs()
                )));
            }
        }
        self.act(net, step).await
    }

    /// Take the step's act (its needs met).
    pub async fn act(&mut self, net: &LiveNet, step: &Step) -> Result<Done, ScenarioError> {
        let writer = self.resolve(step.case, step.at);
        let failed = |e: &dyn std::fmt::Display| ScenarioError(format!("{writer}: {e}"));
        let (what, touched) = match &step.act {
            Act::Create => {
                self.cases[step.case - 1] =
                    Some(net.new_case(&writer).await.map_err(|e| failed(&e))?);
                ("case created".to_string(), vec![])
            }
            Act::Write(kind, _) | Act::Edit(kind, _) => {
                let section = crate::projection::section_name(
                    *kind,
                    if kind.spec().multiple { &writer } else { "" },
                );
                let form = match &step.act {
                    Act::Edit(_, fields) => {
                        let mut held = net
                            .holds(&writer, self.case(step.case))
                            .await
                            .remove(&section)
                            .unwrap_or_else(|| json!({}));
                        for (k, v) in fields.as_object().into_iter().flatten() {
                            held[k] = v.clone();
                        }
                        held
                    }
                    Act::Write(_, form) => form.clone(),
                    _ => unreachable!(),
                };
                net.write(&writer, self.case(step.case), *kind, None, &form)
                    .await
                    .map_err(|e| failed(&format!("writes {kind}: {e}")))?;
                (kind.name().to_string(), vec![section])
            }
            Act::Submit => {
                let at = net.get(&writer);
                at.node()
                    .submit_request(&at.user, self.case(step.case))
                    .await
                    .map_err(|e| failed(&format!("submits the bemiddelingsverzoek: {e}")))?;
                (
                    "bemiddelingsverzoek submitted".to_string(),
                    vec!["bemiddelingsverzoek".to_string()],
                )
            }
            Act::SendBack(items, toelichting) => {
                let tp = net.get(TRANSFERPUNT);
                let items: Vec<String> = items.iter().map(|i| i.to_string()).collect();
                tp.node()
                    .send_back(&tp.user, self.case(step.case), &items, toelichting)
                    .await
                    .map_err(|e| failed(&format!("sends the request back: {e}")))?;
                (
                    format!("request sent back, ticked: {}", items.join(", ")),
                    vec!["beoordeling".to_string(), "bemiddelingsverzoek".to_string()],
                )
            }
            Act::Assign => {
                let tp = net.get(TRANSFERPUNT);
                let chosen = crate::bemiddeling::assign_corporatie(
                    tp.node(),
                    &tp.user,
                    self.case(step.case),
                )
                .await
                .map_err(|e| failed(&format!("assigns a corporatie: {e}")))?;
                self.assigned[step.case - 1].push(chosen.to_string());
                (
                    format!("corporatie assigned: `{chosen}`"),
                    vec![
                        "beoordeling".to_string(),
                        format!("aanmeldbericht/{chosen}"),
                    ],
                )
            }
            Act::Wait => ("waits for the placements to arrive".to_string(), vec![]),
        };
        Ok(Done {
            writer,
            what,
            touched,
        })
    }
}

/// Play every step in order on `net` (each need waited for at most `limit`), calling `each` after every step.
pub async fn play(
    net: &LiveNet,
    steps: &[Step],
    limit: Duration,
    mut each: impl FnMut(&Play, &Step, &Done) -> std::io::Result<()>,
) -> Result<Play, ScenarioError> {
    let mut play = Play::new();
    for (i, s) in steps.iter().enumerate() {
        let done = play
            .step(net, s, limit)
            .await
            .map_err(|e| ScenarioError(format!("step {}: {e}", i + 1)))?;
        each(&play, s, &done).map_err(|e| ScenarioError(e.to_string()))?;
    }
    Ok(play)
}
