//! A synthetic population: partners, clients and every form of each client's path through the covenant, dated.
//!
//! Calibrated on the 2025 evaluation of the Convenant Weer Thuis (DOMAIN.md, "Figures from the evaluation"): per
//! year the bemiddeling requests, the bemiddelingen, the mean lead time from request to move, the share returned
//! to the herkomstgemeente and the lease types are *targets* the generator meets by construction (exact counts
//! and shares, lead times shifted to the target mean). [`crate::calibration`] then measures them back with the
//! node's own monitor over what the simulated Transferpunt received — so the figures prove the whole path:
//! forms, policy, projections, monitor.
//!
//! What the evaluation does not publish is an **assumption**, named in [`Assumptions`] and printed in every
//! report: how often a request is sent back incomplete and how long completing takes, how often a corporatie
//! refuses, regular outflow, uitval, and the national outflow (see [`Scale::National`]).
//!
//! Everything is drawn from one seeded PCG generator per client (PCG's output is fixed by its specification), so
//! a seed means the same population on every machine.

use std::collections::BTreeMap;

use policies::{DocumentKind, Gemeenten, PartnerId, Role};
use rand::{RngExt, SeedableRng};
use rand_pcg::Pcg64Mcg;
use serde_json::{Value as Json, json};
use time::{Date, Duration};

/// The evaluation's figures for one year.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct YearTarget {
    /// The year.
    pub year: i32,
    /// Bemiddeling requests (by request date).
    pub requests: u32,
    /// Successful bemiddelingen (by the date of the move).
    pub bemiddelingen: u32,
    /// Mean lead time from request to move, in months.
    pub lead_time_months: f64,
    /// Share of bemiddelingen returned to the herkomstgemeente.
    pub herkomst_share: f64,
    /// Lease types (3-partijen, own name, unknown) as published; `None` where the evaluation has none.
    pub lease: Option<[f64; 3]>,
}

/// The evaluation's table (2022–2024). 2024 publishes no lease types.
pub const EVALUATION: [YearTarget; 3] = [
    YearTarget {
        year: 2022,
        requests: 95,
        bemiddelingen: 45,
        lead_time_months: 4.2,
        herkomst_share: 0.53,
        lease: Some([0.34, 0.61, 0.05]),
    },
    YearTarget {
        year: 2023,
        requests: 135,
        bemiddelingen: 71,
        lead_time_months: 6.1,
        herkomst_share: 0.64,
        lease: Some([0.25, 0.71, 0.04]),
    },
    YearTarget {
        year: 2024,
        requests: 141,
        bemiddelingen: 52,
        lead_time_months: 7.2,
        herkomst_share: 0.70,
        lease: None,
    },
];

/// What the evaluation does not publish, and the simulation must assume.
#[derive(Debug, Clone, PartialEq)]
pub struct Assumptions {
    /// Share of requests sent back incomplete at least once (the evaluation's main failure).
    pub sent_back: f64,
    /// Mean days a provider needs to complete a request sent back (BW 2024: 60 days).
    pub days_to_complete: f64,
    /// Share of aanmeldberichten a corporatie refuses with a reason (nobody counted it; see the evaluation).
    pub corporatie_refusal: f64,
    /// Share of first offers the client refuses.
    pub first_offer_refused: f64,
    /// Regular outflow per bemiddeling (moves without the Transferpunt, reported to it).
    pub regular_per_bemiddeling: f64,
    /// Uitval (return to a provider, eviction) per bemiddeling.
    pub uitval_per_bemiddeling: f64,
    /// Lease types where the evaluation publishes none (2024): the 2023 shares.
    pub lease_fallback: [f64; 3],
    /// Share of clients who consent to data exchange.
    pub consent: f64,
    /// Share of registraties saved before the herkomstgemeente is known (filled in at the aanmelding).
    pub herkomst_unknown: f64,
    /// Share of clients still in care whose herkomstgemeente stays unknown (no known last address).
    pub herkomst_never_known: f64,
    /// Share of placed clients the uitstroomgemeente's gebiedsteam writes an ondersteuningsplan for.
    pub ondersteuningsplan: f64,
    /// Share of placed clients about whom a corporatie files a melding.
    pub melding: f64,
    /// Clients in BW/MO per Frisian client with an outflow path, for the stock that only registers.
    pub stock_per_outflow: f64,
    /// Life after placement (issue #17 item 3; the evaluation publishes none of these): the share of bemiddelde
    /// placements where the old zorgaanbieder walks along (Afspraak 4e), always ending within the three months.
    pub meeloop: f64,
    /// Share of placements whose support is scaled down after about half a year (Afspraak 5).
    pub afschaling: f64,
    /// Share of placements whose support the gemeente scales up with an adjusted beschikking (Afspraak 5c).
    pub opschaling: f64,
    /// Share of 3-partijen leases whose evaluation after a year turns them into a regular lease (Afspraak 2f); the
    /// rest are evaluated again half a year later and then turned over.
    pub omklap_na_een_jaar: f64,
    /// Share of placements ending in a huisuitzetting within two years, after an overleg (Afspraak 2h): uitval after
    /// outflow, counted in its own year.
    pub huisuitzetting: f64,
    /// Share of placements whose support ends within the simulated time, with a waakvlam discussed (Afspraak 6).
    pub einde_met_waakvlam: f64,
}

impl Default for Assumptions {
    fn default() -> Self {
        Assumptions {
            sent_back: 0.40,
            days_to_complete: 60.0,
            corporatie_refusal: 0.25,
            first_offer_refused: 0.15,
            regular_per_bemiddeling: 1.5,
            uitval_per_bemiddeling: 0.2,
            lease_fallback: [0.25, 0.71, 0.04],
            consent: 0.95,
            herkomst_unknown: 0.03,
            herkomst_never_known: 0.01,
            ondersteuningsplan: 0.5,
            melding: 0.05,
            stock_per_outflow: 2.5,
            meeloop: 0.5,
            afschaling: 0.4,
            opschaling: 0.1,
            omklap_na_een_jaar: 0.7,
            huisuitzetting: 0.03,
            einde_met_waakvlam: 0.3,
        }
    }
}

/// How big a federation to simulate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum Scale {
    /// Friesland: 18 gemeenten, 9 corporaties, 24 zorgaanbieders; the evaluation's years 2022–2024.
    Friesland,
    /// The Netherlands: 342 gemeenten, 280 corporaties, 2,000 zorgaanbieders, 25,400 clients in BW/MO; one year.
    ///
    /// No national outflow is published. Assumed: Friesland's 2024 rates per client in BW/MO hold nationally.
    /// Friesland has 3.6 % of the Dutch population, so ~915 of the 25,400 clients; its 141 requests and 52
    /// bemiddelingen in 2024 scale by 25,400 / 915 to ~3,910 requests and ~1,440 bemiddelingen a year.
    National,
    /// The demo's seven partners (the Transferpunt, gemeenten Leeuwarden and Heerenveen, corporaties Elkien and
    /// Accolade, zorgaanbieders Kwadrant and Limor) with a tenth of Friesland's 2024 clients: small enough to play
    /// through real nodes, which is how the in-memory federation is checked against them.
    Demo,
}

/// Friesland's share of the Dutch population (CBS 2024: 0.66 of 18.0 million), for scaling to national size.
pub const FRIESLAND_SHARE: f64 = 0.036;
/// Clients in beschermd wonen and maatschappelijke opvang nationally (2024).
pub const NATIONAL_CLIENTS: u32 = 25_400;

impl Scale {
    /// Its name in reports.
    pub fn label_nl(self) -> &'static str {
        match self {
            Scale::Friesland => "Friesland",
            Scale::National => "landelijk",
            Scale::Demo => "demo (zeven partners)",
        }
    }

    /// The yearly targets at this scale.
    pub fn targets(self) -> Vec<YearTarget> {
        match self {
            Scale::Friesland => EVALUATION.to_vec(),
            Scale::Demo => {
                let t = EVALUATION[2];
                vec![YearTarget {
                    requests: t.requests / 10,
                    bemiddelingen: t.bemiddelingen / 10,
                    ..t
                }]
            }
            Scale::National => {
                let factor = national_factor();
                let t = EVALUATION[2];
                vec![YearTarget {
                    requests: (f64::from(t.requests) * factor).round() as u32,
                    bemiddelingen: (f64::from(t.bemiddelingen) * factor).round() as u32,
                    ..t
                }]
            }
        }
    }
}

/// National clients per Frisian client.
pub fn national_factor() -> f64 {
    f64::from(NATIONAL_CLIENTS) / (f64::from(NATIONAL_CLIENTS) * FRIESLAND_SHARE)
}

/// The partners of the simulated federation.
#[derive(Debug, Clone)]
pub struct Partners {
    /// The Transferpunt.
    pub transferpunt: PartnerId,
    /// The gemeenten.
    pub gemeenten: Vec<PartnerId>,
    /// The corporaties.
    pub corporaties: Vec<PartnerId>,
    /// Per gemeente code, the corporaties working there (indices into `corporaties`), in round-robin order.
    pub werkgebied: BTreeMap<String, Vec<usize>>,
    /// The zorgaanbieders.
    pub zorgaanbieders: Vec<PartnerId>,
    /// The huurdersorganisaties (in stuur- and projectgroep, never in cases).
    pub huurdersorganisaties: Vec<PartnerId>,
    /// The gemeenten a form may name.
    pub register: Gemeenten,
}

impl Partners {
    /// Every partner.
    pub fn all(&self) -> impl Iterator<Item = &PartnerId> {
        std::iter::once(&self.transferpunt)
            .chain(&self.gemeenten)
            .chain(&self.corporaties)
            .chain(&self.zorgaanbieders)
            .chain(&self.huurdersorganisaties)
    }

    /// The partners with this role.
    pub fn of_role(&self, role: Role) -> &[PartnerId] {
        match role {
            Role::Transferpunt => std::slice::from_ref(&self.transferpunt),
            Role::Gemeente => &self.gemeenten,
            Role::Corporatie => &self.corporaties,
            Role::Zorgaanbieder => &self.zorgaanbieders,
            Role::Huurdersorganisatie => &self.huurdersorganisaties,
        }
    }

    /// How many partners have this role.
    pub fn count(&self, role: Role) -> usize {
        self.of_role(role).len()
    }
}

const FRISIAN_CORPORATIES: [&str; 9] = [
    "elkien",
    "accolade",
    "woonfriesland",
    "thus-wonen",
    "wonen-noordwest-friesland",
    "woningbouw-achtkarspelen",
    "woningstichting-weststellingwerf",
    "harlinger-bouwvereniging",
    "dynhus",
];

fn partner(role: Role, code: &str) -> PartnerId {
    PartnerId::new(role, code).expect("generated partner codes are valid")
}

/// The partners at a scale. National gemeenten beyond Friesland's 18 get synthetic codes `GM2000`–`GM2323`, outside
/// the CBS range in use, and names `Simulatiegemeente N`.
pub fn partners(scale: Scale) -> Partners {
    if scale == Scale::Demo {
        return demo_partners();
    }
    let mut register = Gemeenten::friesland();
    let (n_gemeenten, n_corporaties, n_zorg): (usize, usize, usize) = match scale {
        Scale::Friesland => (18, 9, 24),
        Scale::National => (342, 280, 2_000),
        Scale::Demo => unreachable!("the demo's partners are named"),
    };
    let mut codes: Vec<String> = register.iter().map(|(c, _)| c.to_string()).collect();
    for i in 0..n_gemeenten.saturating_sub(codes.len()) {
        let code = format!("GM{}", 2000 + i);
        register
            .add(&code, &format!("Simulatiegemeente {}", i + 1))
            .expect("synthetic gemeente codes are valid");
        codes.push(code);
    }
    let gemeenten: Vec<PartnerId> = codes.iter().map(|c| partner(Role::Gemeente, c)).collect();
    let corporaties: Vec<PartnerId> = (0..n_corporaties)
        .map(|i| match FRISIAN_CORPORATIES.get(i) {
            Some(name) => partner(Role::Corporatie, name),
            None => partner(Role::Corporatie, &format!("corporatie-{:03}", i + 1)),
        })
        .collect();
    // Every gemeente has two or three corporaties; big ones (the first of each block) work in many gemeenten.
    let mut werkgebied: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (g, code) in codes.iter().enumerate() {
        let first = g * n_corporaties / codes.len();
        let mut here = vec![first, (first + 1) % n_corporaties];
        if g % 3 == 0 {
            here.push((first + n_corporaties / 2) % n_corporaties);
        }
        here.sort_unstable();
        here.dedup();
        werkgebied.insert(code.clone(), here);
    }
    let zorgaanbieders = (0..n_zorg)
        .map(|i| partner(Role::Zorgaanbieder, &format!("zorgaanbieder-{:04}", i + 1)))
        .collect();
    Partners {
        transferpunt: partner(Role::Transferpunt, "sdf"),
        gemeenten,
        corporaties,
        werkgebied,
        zorgaanbieders,
        huurdersorganisaties: vec![partner(Role::Huurdersorganisatie, "huurdersplatform")],
        register,
    }
}

/// The demo's partners (`weerthuis demo`).
fn demo_partners() -> Partners {
    Partners {
        transferpunt: partner(Role::Transferpunt, "sdf"),
        gemeenten: vec![
            partner(Role::Gemeente, "GM0074"),
            partner(Role::Gemeente, "GM0080"),
        ],
        corporaties: vec![
            partner(Role::Corporatie, "accolade"),
            partner(Role::Corporatie, "elkien"),
        ],
        werkgebied: ["GM0074", "GM0080"]
            .into_iter()
            .map(|g| (g.to_string(), vec![0, 1]))
            .collect(),
        zorgaanbieders: vec![
            partner(Role::Zorgaanbieder, "kwadrant"),
            partner(Role::Zorgaanbieder, "limor"),
        ],
        huurdersorganisaties: Vec::new(),
        register: Gemeenten::friesland(),
    }
}

/// One write in a client's path: who writes which form when.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    /// When.
    pub date: Date,
    /// The writing partner.
    pub author: PartnerId,
    /// The form.
    pub kind: DocumentKind,
    /// Its instance (`corporatie:elkien` for a reactie), or `""`.
    pub instance: String,
    /// The whole form as the author saves it.
    pub form: Json,
    /// The step, in plain Dutch, for the example stories of a report.
    pub step: &'static str,
}

/// How a client's path ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Path {
    /// Still in BW/MO: registered and aangemeld only.
    InZorg,
    /// Moved with the Transferpunt's bemiddeling.
    Bemiddeld,
    /// A request that was refused, withdrawn, or still running at the end.
    VerzoekZonderBemiddeling,
    /// Moved without the Transferpunt.
    Regulier,
    /// Uitval: eviction or return to a provider.
    Uitval,
}

/// One synthetic client and every write of its path, in date order.
#[derive(Debug, Clone)]
pub struct Client {
    /// Its number (the only identifier reports use).
    pub number: u32,
    /// How its path ends.
    pub path: Path,
    /// The writes, in date order.
    pub events: Vec<Event>,
}

/// The simulated federation and its clients.
#[derive(Debug, Clone)]
pub struct Population {
    /// The scale.
    pub scale: Scale,
    /// The seed.
    pub seed: u64,
    /// The partners.
    pub partners: Partners,
    /// The clients, by number.
    pub clients: Vec<Client>,
    /// The targets the population was built to.
    pub targets: Vec<YearTarget>,
    /// The assumptions.
    pub assumptions: Assumptions,
    /// 1, or N when only every N-th client is simulated ([`Population::sample`]).
    pub every: usize,
}

impl Population {
    /// Every `every`-th client only, for a quick look (and quick tests). Each path keeps its share, but the
    /// calibration no longer holds: the targets are for the whole population.
    pub fn sample(mut self, every: usize) -> Population {
        self.every = every.max(1);
        let every = self.every as u32;
        self.clients.retain(|c| c.number % every == 0);
        self
    }

    /// A client by number.
    pub fn client(&self, number: u32) -> Option<&Client> {
        self.clients
            .binary_search_by_key(&number, |c| c.number)
            .ok()
            .map(|i| &self.clients[i])
    }
}

/// What one bemiddeled or requesting client's path is to be, decided at year level before its forms are drawn.
#[derive(Debug, Clone)]
struct Plan {
    path: Path,
    /// Request date (bemiddeling paths), or the date of the move (regular, uitval), or the registration.
    anchor: Date,
    /// Days from request to move (bemiddeld).
    lead_days: i64,
    to_herkomst: bool,
    lease: &'static str,
    /// How a request without bemiddeling ends; `None` for every other path.
    ending: Option<RequestEnding>,
}

/// How a bemiddelingsverzoek that leads to no bemiddeling ends (the Transferpunt's `reden_afwijzing`, or still
/// running when the simulated years end).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RequestEnding {
    /// Still in behandeling at the end.
    StillRunning,
    /// Refused: the information stayed incomplete (`onvolledige_informatie`).
    IncompleteInformation,
    /// Refused: the client did not do enough itself (`onvoldoende_eigen_inspanning`).
    InsufficientOwnEffort,
    /// Withdrawn by the client (`client_trekt_in`).
    ClientWithdraws,
}

/// A registered client: what the rest of its path refers to.
struct Registered {
    zorg: PartnerId,
    herkomst: String,
    consent: bool,
    /// The name the forms write ("Cliënt 00042").
    name: String,
    registered: Date,
    aangemeld: Date,
}

/// Where a bemiddeld client moves, for the steps from the approval on.
struct Move<'a> {
    plan: &'a Plan,
    zorg: &'a PartnerId,
    /// The client's name as the forms write it.
    name: &'a str,
    /// The uitstroomgemeente's code, and the gemeente.
    uitstroom: String,
    gemeente: PartnerId,
    /// The date of the move.
    moved: Date,
}

fn date(year: i32, day_of_year: u16) -> Date {
    Date::from_ordinal_date(year, day_of_year.clamp(1, 365)).expect("valid ordinal")
}

fn day_in(rng: &mut Pcg64Mcg, year: i32) -> Date {
    date(year, rng.random_range(1..=365u16))
}

/// Draw `n` values with mean `mean` (days), at least `min`: a gamma(2)-shaped spread, shifted so the sample mean
/// is the target (the evaluation publishes means; the spread is an assumption).
fn lead_times(rng: &mut Pcg64Mcg, n: usize, mean: f64, min: i64) -> Vec<i64> {
    if n == 0 {
        return Vec::new();
    }
    let mut v: Vec<f64> = (0..n)
        .map(|_| {
            let a: f64 = rng.random_range(f64::EPSILON..1.0);
            let b: f64 = rng.random_range(f64::EPSILON..1.0);
            -(mean / 2.0) * (a.ln() + b.ln())
        })
        .collect();
    for _ in 0..20 {
        let shift = mean - v.iter().sum::<f64>() / n as f64;
        for x in &mut v {
            *x = (*x + shift).max(min as f64);
        }
    }
    let mut days: Vec<i64> = v.iter().map(|x| x.round() as i64).collect();
    // Rounding: put the remainder where it keeps every value above the minimum, so the integer mean is exact.
    let target = (mean * n as f64).round() as i64;
    let mut diff = target - days.iter().sum::<i64>();
    let mut i = 0;
    while diff != 0 && i < 10 * n {
        let d = &mut days[i % n];
        if diff > 0 {
            *d += 1;
            diff -= 1;
        } else if *d > min {
            *d -= 1;
            diff += 1;
        }
        i += 1;
    }
    days
}

/// Exactly `round(share × n)` of `n` flags set, in a seeded order.
fn exact_flags(rng: &mut Pcg64Mcg, n: usize, share: f64) -> Vec<bool> {
    let k = (share * n as f64).round() as usize;
    let mut v: Vec<bool> = (0..n).map(|i| i < k).collect();
    shuffle(rng, &mut v);
    v
}

fn shuffle<T>(rng: &mut Pcg64Mcg, v: &mut [T]) {
    for i in (1..v.len()).rev() {
        let j = rng.random_range(0..=i);
        v.swap(i, j);
    }
}

/// Lease types for `n` moves with exactly these shares (largest remainder).
fn exact_leases(rng: &mut Pcg64Mcg, n: usize, shares: [f64; 3]) -> Vec<&'static str> {
    const KINDS: [&str; 3] = ["drie_partijen", "eigen_naam", "onbekend"];
    let raw: Vec<f64> = shares.iter().map(|s| s * n as f64).collect();
    let mut counts: Vec<usize> = raw.iter().map(|r| r.floor() as usize).collect();
    let mut order: Vec<usize> = (0..3).collect();
    order.sort_by(|&a, &b| {
        (raw[b] - raw[b].floor())
            .partial_cmp(&(raw[a] - raw[a].floor()))
            .expect("finite")
    });
    for &i in order.iter().cycle().take(n - counts.iter().sum::<usize>()) {
        counts[i] += 1;
    }
    let mut v: Vec<&'static str> = counts
        .iter()
        .enumerate()
        .flat_map(|(i, &c)| std::iter::repeat_n(KINDS[i], c))
        .collect();
    shuffle(rng, &mut v);
    v
}

/// Generate the population for a scale and seed.
pub fn generate(scale: Scale, seed: u64) -> Population {
    generate_with(scale, seed, Assumptions::default())
}

/// Generate the population for a scale and seed under other assumptions (the calibration holds for the
/// default ones only).
pub fn generate_with(scale: Scale, seed: u64, assumptions: Assumptions) -> Population {
    let partners = partners(scale);
    let targets = scale.targets();
    let mut rng = Pcg64Mcg::seed_from_u64(seed);
    // Every draw below comes from `rng` in this order; changing the order changes every population.
    let (mut plans, successful_requests) = bemiddeld_plans(&mut rng, &targets, &assumptions);
    plans.extend(other_outflow_plans(
        &mut rng,
        &targets,
        &assumptions,
        &successful_requests,
    ));
    let outflow = plans.len();
    let stock = match scale {
        Scale::National => (NATIONAL_CLIENTS as usize).saturating_sub(outflow),
        Scale::Friesland | Scale::Demo => (outflow as f64 * assumptions.stock_per_outflow) as usize,
    };
    plans.extend(stock_plans(&mut rng, &targets, stock));
    let clients = draw_clients(&mut rng, &plans, &partners, &assumptions);
    Population {
        scale,
        seed,
        partners,
        clients,
        targets,
        assumptions,
        every: 1,
    }
}

/// Every year's bemiddelingen, built to the year's figures (lead time, herkomst share, lease types), and per year
/// how many of their requests fell in it: their requests fall in their own year or the one before.
fn bemiddeld_plans(
    rng: &mut Pcg64Mcg,
    targets: &[YearTarget],
    assumptions: &Assumptions,
) -> (Vec<Plan>, BTreeMap<i32, u32>) {
    let mut plans: Vec<Plan> = Vec::new();
    let mut successful_requests: BTreeMap<i32, u32> = BTreeMap::new();
    for t in targets {
        let n = t.bemiddelingen as usize;
        let leads = lead_times(rng, n, t.lead_time_months * 365.25 / 12.0, MIN_LEAD_DAYS);
        let herkomst = exact_flags(rng, n, t.herkomst_share);
        let leases = exact_leases(rng, n, t.lease.unwrap_or(assumptions.lease_fallback));
        for i in 0..n {
            let moved = day_in(rng, t.year);
            let request = moved - Duration::days(leads[i]);
            *successful_requests.entry(request.year()).or_default() += 1;
            plans.push(Plan {
                path: Path::Bemiddeld,
                anchor: request,
                lead_days: leads[i],
                to_herkomst: herkomst[i],
                lease: leases[i],
                ending: None,
            });
        }
    }
    (plans, successful_requests)
}

/// Per year, the rest of the requests (ending without a bemiddeling, or still running at the end of the last
/// year), regular outflow and uitval in proportion to the bemiddelingen.
fn other_outflow_plans(
    rng: &mut Pcg64Mcg,
    targets: &[YearTarget],
    assumptions: &Assumptions,
    successful_requests: &BTreeMap<i32, u32>,
) -> Vec<Plan> {
    let last_year = targets.last().map(|t| t.year).unwrap_or(2024);
    let mut plans: Vec<Plan> = Vec::new();
    for t in targets {
        let requests_in_year = successful_requests.get(&t.year).copied().unwrap_or(0);
        // The rest of the year's requests end without a bemiddeling (or are still running at the end).
        for _ in 0..t.requests.saturating_sub(requests_in_year) {
            let r: f64 = rng.random_range(0.0..1.0);
            let ending = if t.year == last_year && r < 0.35 {
                RequestEnding::StillRunning
            } else if r < 0.55 {
                RequestEnding::IncompleteInformation
            } else if r < 0.80 {
                RequestEnding::InsufficientOwnEffort
            } else {
                RequestEnding::ClientWithdraws
            };
            // A request still running at the end was made late in the year.
            let request = if ending == RequestEnding::StillRunning {
                date(t.year, rng.random_range(200..=330u16))
            } else {
                date(t.year, rng.random_range(1..=300u16))
            };
            plans.push(Plan {
                path: Path::VerzoekZonderBemiddeling,
                anchor: request,
                lead_days: 0,
                to_herkomst: false,
                lease: "",
                ending: Some(ending),
            });
        }
        let regular = (f64::from(t.bemiddelingen) * assumptions.regular_per_bemiddeling).round();
        for _ in 0..regular as u32 {
            plans.push(Plan {
                path: Path::Regulier,
                anchor: day_in(rng, t.year),
                lead_days: 0,
                to_herkomst: rng.random_bool(t.herkomst_share),
                lease: "eigen_naam",
                ending: None,
            });
        }
        let uitval = (f64::from(t.bemiddelingen) * assumptions.uitval_per_bemiddeling).round();
        for _ in 0..uitval as u32 {
            plans.push(Plan {
                path: Path::Uitval,
                anchor: day_in(rng, t.year),
                lead_days: 0,
                to_herkomst: false,
                lease: "",
                ending: None,
            });
        }
    }
    plans
}

/// `stock` clients still in care, registered in a random year of the targets.
fn stock_plans(rng: &mut Pcg64Mcg, targets: &[YearTarget], stock: usize) -> Vec<Plan> {
    let first_year = targets.first().map(|t| t.year).unwrap_or(2022);
    let last_year = targets.last().map(|t| t.year).unwrap_or(2024);
    let mut plans: Vec<Plan> = Vec::new();
    for _ in 0..stock {
        let year = rng.random_range(first_year..=last_year);
        plans.push(Plan {
            path: Path::InZorg,
            anchor: day_in(rng, year),
            lead_days: 0,
            to_herkomst: false,
            lease: "",
            ending: None,
        });
    }
    plans
}

/// Every plan's client with its forms, each from its own seed (drawn here, in plan order), numbered from 1.
fn draw_clients(
    rng: &mut Pcg64Mcg,
    plans: &[Plan],
    partners: &Partners,
    assumptions: &Assumptions,
) -> Vec<Client> {
    let client_seeds: Vec<u64> = plans.iter().map(|_| rng.random()).collect();
    plans
        .iter()
        .zip(client_seeds)
        .enumerate()
        .map(|(i, (plan, s))| {
            let number = i as u32 + 1;
            let mut writer = ClientGen {
                rng: Pcg64Mcg::seed_from_u64(s),
                partners,
                assumptions,
                number,
                events: Vec::new(),
            };
            writer.path(plan);
            let mut events = writer.events;
            events.sort_by_key(|e| e.date);
            Client {
                number,
                path: plan.path,
                events,
            }
        })
        .collect()
}

/// The shortest lead time from request to move: completing, assessing, the corporatie's answer, an offer.
const MIN_LEAD_DAYS: i64 = 45;

/// A valid, made-up BSN (elfproef) for client `n`: distinct per client, from the range never issued
/// ([`policies::examples::fictitious_bsn`]).
pub fn bsn(n: u32) -> String {
    policies::examples::fictitious_bsn(u64::from(n))
}

struct ClientGen<'a> {
    rng: Pcg64Mcg,
    partners: &'a Partners,
    assumptions: &'a Assumptions,
    number: u32,
    events: Vec<Event>,
}

fn fmt(d: Date) -> String {
    policies::form::format_date(d)
}

impl ClientGen<'_> {
    fn pick<'p>(&mut self, v: &'p [PartnerId]) -> &'p PartnerId {
        &v[self.rng.random_range(0..v.len())]
    }

    fn push(
        &mut self,
        date: Date,
        author: &PartnerId,
        kind: DocumentKind,
        form: Json,
        step: &'static str,
    ) {
        self.push_instance(date, author, kind, String::new(), form, step);
    }

    fn push_instance(
        &mut self,
        date: Date,
        author: &PartnerId,
        kind: DocumentKind,
        instance: String,
        form: Json,
        step: &'static str,
    ) {
        self.events.push(Event {
            date,
            author: author.clone(),
            kind,
            instance,
            form,
            step,
        });
    }

    /// A client's path: registered and aangemeld by its zorgaanbieder, then what its plan says.
    fn path(&mut self, plan: &Plan) {
        let Registered {
            zorg,
            herkomst,
            consent,
            name,
            registered,
            aangemeld,
        } = self.register(plan);
        let aanmelding = json!({
            "achternaam_voorletters": name,
            "datum_aanmelding": fmt(aangemeld),
            "leefsituatie": "alleenstaand",
            "hoofdinkomen": "participatiewet",
            "schuldenproblematiek": "ja",
            "vorm_ondersteuning_schulden": "budgetbeheer",
            "inschrijvingen_woningcorporaties": [
                {"corporatie": "Woningcorporatie", "datum_inschrijving": fmt(registered - Duration::days(400))},
                {"corporatie": "Tweede woningcorporatie", "datum_inschrijving": fmt(registered - Duration::days(380))}
            ]
        });
        self.push(
            aangemeld,
            &zorg,
            DocumentKind::Aanmelding,
            aanmelding,
            "meldt de cliënt aan",
        );
        match plan.path {
            Path::InZorg => {}
            Path::Regulier => self.regular(plan, &zorg, &name, &herkomst),
            Path::Uitval => {
                let soort = if self.rng.random_bool(0.5) {
                    "terugkeer_zorgaanbieder"
                } else {
                    "huisuitzetting"
                };
                self.push(
                    plan.anchor,
                    &zorg,
                    DocumentKind::Plaatsing,
                    json!({"achternaam_voorletters": name, "soort_mutatie": soort, "datum_mutatie": fmt(plan.anchor)}),
                    "meldt uitval",
                );
            }
            Path::Bemiddeld | Path::VerzoekZonderBemiddeling => {
                self.bemiddeling(plan, &zorg, &name, &herkomst, consent)
            }
        }
    }

    /// Who the client is (zorgaanbieder, gemeenten, voorziening, consent) and its registratie: saved whole, or first
    /// without the herkomstgemeente (completed at the aanmelding, or never known for a client in care).
    fn register(&mut self, plan: &Plan) -> Registered {
        let p = self.partners;
        let zorg = self.pick(&p.zorgaanbieders).clone();
        let herkomst = self.pick(&p.gemeenten).code().to_string();
        let verblijf = if self.rng.random_bool(0.6) {
            herkomst.clone()
        } else {
            self.pick(&p.gemeenten).code().to_string()
        };
        let mo = self.rng.random_bool(0.45);
        // A bemiddeling needs the client's consent (nothing reaches the Transferpunt without it); only clients in
        // care, regular outflow and uitval can be without.
        let bemiddeling = matches!(plan.path, Path::Bemiddeld | Path::VerzoekZonderBemiddeling);
        let consent = bemiddeling || self.rng.random_bool(self.assumptions.consent);
        let name = format!("Cliënt {:05}", self.number);
        let request = plan.anchor;
        // The registration: long enough before what follows (requests come after months in care).
        let registered = match plan.path {
            Path::InZorg => plan.anchor,
            Path::Bemiddeld | Path::VerzoekZonderBemiddeling => {
                request - Duration::days(self.rng.random_range(120..=540))
            }
            Path::Regulier | Path::Uitval => {
                plan.anchor - Duration::days(self.rng.random_range(90..=720))
            }
        };
        let voorziening = if mo {
            "maatschappelijke_opvang"
        } else {
            "beschermd_wonen"
        };
        // Bemiddeling is for clients of 18 and older (a voorwaarde the node checks on submission): a client drawn
        // younger than that at the request is made 19 then (the same draws, so the rest of the population
        // is unchanged).
        let born = date(
            self.rng.random_range(1960..=2004),
            self.rng.random_range(1..=365u16),
        );
        let adult = date(plan.anchor.year() - 19, 1);
        let mut reg = json!({
            "achternaam_voorletters": name,
            "bsn": bsn(self.number),
            "geboortedatum": fmt(born.min(adult)),
            "soort_voorziening": voorziening,
            "herkomstgemeente": herkomst,
            "verblijfgemeente": verblijf,
            "start_verblijf_opvang": fmt(registered),
            "betrokken_zorgaanbieder": zorg.to_string(),
            "reden_dakloosheid": "Huisuitzetting na relatiebreuk",
            "toestemming_gegevensdeling": consent,
        });
        if consent {
            reg["datum_toestemming"] = json!(fmt(registered));
        }
        let aangemeld = registered + Duration::days(self.rng.random_range(3..=13));
        self.save_registratie(plan, &zorg, reg, registered, aangemeld);
        Registered {
            zorg,
            herkomst,
            consent,
            name,
            registered,
            aangemeld,
        }
    }

    /// The registratie saved whole on `registered`; or, by chance, without the herkomstgemeente: never known (a
    /// client in care), or completed at the aanmelding.
    fn save_registratie(
        &mut self,
        plan: &Plan,
        zorg: &PartnerId,
        mut reg: Json,
        registered: Date,
        aangemeld: Date,
    ) {
        let never_known = plan.path == Path::InZorg
            && self.rng.random_bool(self.assumptions.herkomst_never_known);
        if never_known {
            reg.as_object_mut()
                .expect("object")
                .remove("herkomstgemeente");
            self.push(
                registered,
                zorg,
                DocumentKind::Registratie,
                reg.clone(),
                "registreert de cliënt (herkomstgemeente onbekend)",
            );
        } else if self.rng.random_bool(self.assumptions.herkomst_unknown) {
            // Saved as a concept without the herkomstgemeente (often unknown at intake in the opvang); completed at
            // the aanmelding.
            let mut concept = reg.clone();
            concept
                .as_object_mut()
                .expect("object")
                .remove("herkomstgemeente");
            self.push(
                registered,
                zorg,
                DocumentKind::Registratie,
                concept,
                "registreert de cliënt (herkomstgemeente nog onbekend)",
            );
            self.push(
                aangemeld,
                zorg,
                DocumentKind::Registratie,
                reg.clone(),
                "vult de herkomstgemeente aan",
            );
        } else {
            self.push(
                registered,
                zorg,
                DocumentKind::Registratie,
                reg.clone(),
                "registreert de cliënt",
            );
        }
    }

    fn regular(&mut self, plan: &Plan, zorg: &PartnerId, name: &str, herkomst: &str) {
        let gemeente = if plan.to_herkomst {
            herkomst.to_string()
        } else {
            self.pick(&self.partners.gemeenten).code().to_string()
        };
        let vervolg_date = plan.anchor - Duration::days(self.rng.random_range(20..=60));
        self.push(
            vervolg_date,
            zorg,
            DocumentKind::VervolgWonen,
            json!({"achternaam_voorletters": name, "datum_formulier": fmt(vervolg_date),
                "uitstroomprofiel": "zelfstandig_wonen", "uitstroomgemeente": gemeente, "soort_uitstroom": "regulier"}),
            "legt de verwachte uitstroom vast",
        );
        let woning = if self.rng.random_bool(0.7) {
            "sociale_huur"
        } else {
            "particuliere_huur"
        };
        self.push(
            plan.anchor,
            zorg,
            DocumentKind::Plaatsing,
            json!({"achternaam_voorletters": name, "soort_mutatie": "uitstroom_zelfstandig",
                "datum_mutatie": fmt(plan.anchor), "mutatie_adres": format!("Adres {}", self.number),
                "definitief_uitstroomprofiel": "zelfstandig_wonen", "naam_verhuurder": "Verhuurder",
                "definitieve_uitstroomgemeente": gemeente, "type_woning": woning,
                "soort_huurcontract": plan.lease, "wijze_van_toewijzing": "regulier"}),
            "meldt de reguliere uitstroom",
        );
    }

    /// A bemiddeling path: the request, its assessment, and — when it leads to a move — the gemeente's akkoord,
    /// the corporaties asked in turn, the offer and lease, the move and what follows it.
    ///
    /// The steps draw from the client's generator in a fixed order; changing that order changes every population.
    fn bemiddeling(
        &mut self,
        plan: &Plan,
        zorg: &PartnerId,
        name: &str,
        herkomst: &str,
        consent: bool,
    ) {
        let uitstroom = self.uitstroomgemeente(plan, herkomst);
        let Some((mut beoordeling, complete)) = self.request(plan, zorg, name, herkomst) else {
            return;
        };
        if let Some(ending) = plan.ending {
            self.close_without_bemiddeling(ending, beoordeling, complete);
            return;
        }
        // Bemiddeld: the Transferpunt approves and picks the uitstroomgemeente; the gemeente agrees.
        let to = Move {
            plan,
            zorg,
            name,
            gemeente: partner(Role::Gemeente, &uitstroom),
            uitstroom,
            moved: plan.anchor + Duration::days(plan.lead_days.max(MIN_LEAD_DAYS)),
        };
        let (gemeente_form, akkoord) = self.approve(&mut beoordeling, &to, herkomst, complete);
        let Some((corp, accepted)) = self.ask_corporaties(&mut beoordeling, &to, akkoord) else {
            return;
        };
        self.offer_and_lease(&to, &corp, accepted);
        self.after_move(&to, gemeente_form, &corp, consent);
    }

    /// Where a bemiddeld client goes: another gemeente than it came from, unless the plan sends it back home (a
    /// request that leads to no move names the herkomstgemeente).
    fn uitstroomgemeente(&mut self, plan: &Plan, herkomst: &str) -> String {
        let p = self.partners;
        if plan.path == Path::Bemiddeld && !plan.to_herkomst {
            loop {
                let g = self.pick(&p.gemeenten).code().to_string();
                if g != herkomst {
                    break g;
                }
            }
        } else {
            herkomst.to_string()
        }
    }

    /// The zorgaanbieder's vervolg wonen and bemiddelingsverzoek, sent back once as incomplete by chance: the
    /// Transferpunt's beoordeling so far (`datum_volledig` set) and the date the request was complete, or `None`
    /// when the request was closed because it stayed incomplete.
    fn request(
        &mut self,
        plan: &Plan,
        zorg: &PartnerId,
        name: &str,
        herkomst: &str,
    ) -> Option<(Json, Date)> {
        let p = self.partners;
        let tp = &p.transferpunt;
        let q = plan.anchor;
        let vervolg_date = q - Duration::days(self.rng.random_range(14..=45));
        self.push(
            vervolg_date,
            zorg,
            DocumentKind::VervolgWonen,
            json!({"achternaam_voorletters": name, "datum_formulier": fmt(vervolg_date),
                "uitstroomprofiel": "zelfstandig_wonen_met_ondersteuning", "uitstroomgemeente": herkomst,
                "soort_uitstroom": "bemiddeling"}),
            "legt de verwachte uitstroom vast",
        );
        let verzoek = json!({
            "datum_verzoek": fmt(q), "achttien_jaar_of_ouder": true, "verblijf_mo_of_bw_indicatie": true,
            "ingeschreven_meerdere_corporaties": true, "documenten_in_portaal_corporatie": true, "actief_gezocht": true,
            "toelichting_zoekgedrag": "Reageert wekelijks op woningaanbod", "voldoende_zelfredzaam": true,
            "stabiele_daginvulling": true, "soort_daginvulling": "dagbesteding", "inkomen_en_schulden_in_beeld": true,
            "ondersteuningsprofiel": "Ambulante begeleiding twee keer per week",
            "woonwens": "Eenkamerwoning",
            "contactpersonen": [{"naam": "Begeleider", "organisatie": zorg.to_string(), "functie": "begeleider"}],
            "datum_ingediend": fmt(q), "aantal_keer_ingediend": 1
        });
        let received = q;
        let mut beoordeling = json!({"status": "ontvangen", "datum_ontvangen": fmt(received)});
        let complete = if self.rng.random_bool(self.assumptions.sent_back) {
            // Only a complete request can be submitted; the Transferpunt sends one back when what it says is not
            // enough to mediate on (here: a woonwens that names no rent, size or place).
            let mut vague = verzoek.clone();
            vague["woonwens"] = json!("Een woning");
            self.push(
                q,
                zorg,
                DocumentKind::Bemiddelingsverzoek,
                vague,
                "dient een bemiddelingsverzoek in met een te vage woonwens",
            );
            let back = q + Duration::days(2);
            beoordeling = json!({"status": "teruggestuurd_onvolledig", "datum_ontvangen": fmt(received),
                "datum_teruggestuurd": fmt(back), "ontbrekende_gegevens": ["bemiddelingsverzoek.woonwens"],
                "aantal_keer_teruggestuurd": 1});
            self.push(
                back,
                tp,
                DocumentKind::Beoordeling,
                beoordeling.clone(),
                "stuurt het verzoek terug: onvolledig",
            );
            // Completing takes the provider weeks; within a bemiddeling it leaves time for the rest.
            let drawn = (-self.assumptions.days_to_complete
                * self.rng.random_range(f64::EPSILON..1.0f64).ln())
            .round() as i64;
            let most = if plan.path == Path::Bemiddeld {
                (plan.lead_days.max(MIN_LEAD_DAYS) - 30) / 2
            } else {
                180
            };
            let complete = back + Duration::days(drawn.clamp(3, most.max(3)));
            if plan.ending == Some(RequestEnding::IncompleteInformation) {
                let closed = back + Duration::days(90);
                beoordeling["status"] = json!("afgewezen");
                beoordeling["reden_afwijzing"] = json!("onvolledige_informatie");
                beoordeling["datum_afgesloten"] = json!(fmt(closed));
                self.push(
                    closed,
                    tp,
                    DocumentKind::Beoordeling,
                    beoordeling,
                    "wijst het verzoek af: onvolledig gebleven",
                );
                return None;
            }
            let mut again = verzoek;
            again["datum_ingediend"] = json!(fmt(complete));
            again["aantal_keer_ingediend"] = json!(2);
            self.push(
                complete,
                zorg,
                DocumentKind::Bemiddelingsverzoek,
                again,
                "vult het verzoek aan en dient het opnieuw in",
            );
            complete
        } else {
            self.push(
                q,
                zorg,
                DocumentKind::Bemiddelingsverzoek,
                verzoek,
                "dient een bemiddelingsverzoek in",
            );
            q + Duration::days(1)
        };
        beoordeling["datum_volledig"] = json!(fmt(complete));
        Some((beoordeling, complete))
    }

    /// The Transferpunt's last word on a complete request that leads to no move: still in behandeling at the end of
    /// the simulated years, or closed.
    fn close_without_bemiddeling(
        &mut self,
        ending: RequestEnding,
        mut beoordeling: Json,
        complete: Date,
    ) {
        let p = self.partners;
        let tp = &p.transferpunt;
        let (status, reden) = match ending {
            RequestEnding::StillRunning => {
                beoordeling["status"] = json!("in_behandeling");
                self.push(
                    complete,
                    tp,
                    DocumentKind::Beoordeling,
                    beoordeling,
                    "neemt het verzoek in behandeling",
                );
                return;
            }
            RequestEnding::ClientWithdraws => ("ingetrokken", "client_trekt_in"),
            // A request that was complete the first time cannot be closed for being incomplete: the Transferpunt
            // closes it for lack of the client's own effort instead.
            RequestEnding::IncompleteInformation | RequestEnding::InsufficientOwnEffort => {
                ("afgewezen", "onvoldoende_eigen_inspanning")
            }
        };
        let closed = complete + Duration::days(self.rng.random_range(10..=60));
        beoordeling["status"] = json!(status);
        beoordeling["reden_afwijzing"] = json!(reden);
        beoordeling["datum_afgesloten"] = json!(fmt(closed));
        self.push(
            closed,
            tp,
            DocumentKind::Beoordeling,
            beoordeling,
            "sluit het verzoek af zonder bemiddeling",
        );
    }

    /// The Transferpunt approves and chooses the uitstroomgemeente (with a reason when it is not the
    /// herkomstgemeente); the gemeente gives its akkoord the next day. The gemeente's form and the akkoord's date.
    fn approve(
        &mut self,
        beoordeling: &mut Json,
        to: &Move<'_>,
        herkomst: &str,
        complete: Date,
    ) -> (Json, Date) {
        let p = self.partners;
        beoordeling["status"] = json!("goedgekeurd");
        beoordeling["gekozen_uitstroomgemeente"] = json!(to.uitstroom);
        if to.uitstroom != herkomst {
            beoordeling["reden_andere_gemeente"] = json!(
                [
                    "veiligheid",
                    "negatief_netwerk",
                    "huiselijk_geweld",
                    "verslavingsnetwerk"
                ][self.rng.random_range(0..4)]
            );
        }
        self.push(
            complete,
            &p.transferpunt,
            DocumentKind::Beoordeling,
            beoordeling.clone(),
            "keurt het verzoek goed en kiest de uitstroomgemeente",
        );
        let akkoord = complete + Duration::days(1);
        let gemeente_form = json!({"akkoord_uitstroom": "akkoord", "datum_akkoord": fmt(akkoord)});
        self.push_instance(
            akkoord,
            &to.gemeente,
            DocumentKind::Gemeente,
            to.gemeente.to_string(),
            gemeente_form.clone(),
            "geeft akkoord op de uitstroom",
        );
        (gemeente_form, akkoord)
    }

    /// Round-robin in the gemeente's werkgebied, starting at a seeded place: each corporatie gets the
    /// aanmeldbericht in turn and may refuse, while there is time before the move; the last one asked accepts.
    /// The corporatie that accepted and the date, with the acceptance recorded on the beoordeling; `None` if the
    /// werkgebied has no corporatie.
    fn ask_corporaties(
        &mut self,
        beoordeling: &mut Json,
        to: &Move<'_>,
        akkoord: Date,
    ) -> Option<(PartnerId, Date)> {
        let p = self.partners;
        let tp = &p.transferpunt;
        let (zorg, name, uitstroom) = (to.zorg, to.name, &to.uitstroom);
        let area = &p.werkgebied[uitstroom];
        let start = self.rng.random_range(0..area.len());
        let mut historie: Vec<Json> = Vec::new();
        let mut sent = akkoord + Duration::days(1);
        let deadline = to.moved - Duration::days(25);
        let mut chosen = None;
        for k in 0..area.len() {
            let corp = p.corporaties[area[(start + k) % area.len()]].clone();
            historie.push(json!({"corporatie": corp.to_string(), "datum_aanmelding": fmt(sent), "uitkomst": "lopend"}));
            beoordeling["toegewezen_corporatie"] = json!(corp.to_string());
            beoordeling["corporatie_historie"] = json!(historie);
            self.push(
                sent,
                tp,
                DocumentKind::Beoordeling,
                beoordeling.clone(),
                "wijst een woningcorporatie toe",
            );
            let bericht = json!({"corporatie": corp.to_string(), "datum_verzonden": fmt(sent),
                "bsn": bsn(self.number), "achternaam_initialen": name, "leefsituatie": "alleenstaand",
                "beoogde_uitstroomgemeente": uitstroom,
                "ondersteuningsprofiel": "Ambulante begeleiding twee keer per week",
                "contactpersonen": [{"naam": "Begeleider", "organisatie": zorg.to_string(), "functie": "begeleider"}]});
            self.push_instance(
                sent,
                tp,
                DocumentKind::Aanmeldbericht,
                corp.to_string(),
                bericht,
                "stuurt het aanmeldbericht",
            );
            let answered = sent + Duration::days(4);
            let last = k + 1 == area.len();
            if !last
                && answered + Duration::days(10) < deadline
                && self.rng.random_bool(self.assumptions.corporatie_refusal)
            {
                let reden = [
                    "overlast",
                    "huurachterstand",
                    "schade_aan_woning",
                    "hennepteelt",
                ][self.rng.random_range(0..4)];
                self.push_instance(answered, &corp, DocumentKind::Reactie, corp.to_string(),
                    json!({"besluit": "geweigerd", "datum_besluit": fmt(answered), "reden_weigering": reden,
                        "toelichting_weigering": "Eerdere problemen bij een vorige verhuurder"}),
                    "weigert de kandidaat met een reden");
                if let Some(h) = historie.last_mut() {
                    h["uitkomst"] = json!("geweigerd");
                }
                sent = answered + Duration::days(3);
                continue;
            }
            chosen = Some((corp, answered));
            break;
        }
        let (corp, accepted) = chosen?;
        if let Some(h) = historie.last_mut() {
            h["uitkomst"] = json!("geaccepteerd");
        }
        beoordeling["corporatie_historie"] = json!(historie);
        self.push(
            accepted,
            tp,
            DocumentKind::Beoordeling,
            beoordeling.clone(),
            "legt de acceptatie vast",
        );
        Some((corp, accepted))
    }

    /// The corporatie's reactie: its acceptance, an offer the client may refuse first, the accepted offer and the
    /// lease (a 3-partijen lease with its end date and omklap conditions).
    fn offer_and_lease(&mut self, to: &Move<'_>, corp: &PartnerId, accepted: Date) {
        let (plan, moved) = (to.plan, to.moved);
        let mut reactie = json!({"besluit": "geaccepteerd", "datum_besluit": fmt(accepted)});
        self.push_instance(
            accepted,
            corp,
            DocumentKind::Reactie,
            corp.to_string(),
            reactie.clone(),
            "accepteert de kandidaat",
        );
        let offer_date = moved - Duration::days(14);
        let mut offers = Vec::new();
        let room = (offer_date - accepted).whole_days();
        if room > 30 && self.rng.random_bool(self.assumptions.first_offer_refused) {
            let first = accepted + Duration::days(room / 2);
            offers.push(json!({"datum_aanbod": fmt(first), "adres": format!("Eerste adres {}", self.number),
                "type_woning": "sociale_huur", "reactie_client": "geweigerd", "reden_weigering_client": "Te ver van de dagbesteding"}));
            reactie["aanbiedingen"] = json!(offers);
            self.push_instance(
                first,
                corp,
                DocumentKind::Reactie,
                corp.to_string(),
                reactie.clone(),
                "doet een aanbod dat de cliënt weigert",
            );
        }
        offers.push(
            json!({"datum_aanbod": fmt(offer_date), "adres": format!("Adres {}", self.number),
            "type_woning": "sociale_huur", "reactie_client": "geaccepteerd"}),
        );
        reactie["aanbiedingen"] = json!(offers);
        if plan.lease != "onbekend" {
            reactie["soort_huurcontract"] = json!(plan.lease);
            reactie["datum_ondertekening"] = json!(fmt(moved - Duration::days(3)));
        }
        if plan.lease == "drie_partijen" {
            // At most two years (Afspraak 2d), counted from the signing.
            reactie["einddatum_drie_partijen"] = json!(fmt(moved + Duration::days(700)));
            reactie["omklapvoorwaarden"] = json!("Huur op tijd betalen, geen overlast");
        }
        self.push_instance(
            moved - Duration::days(3),
            corp,
            DocumentKind::Reactie,
            corp.to_string(),
            reactie,
            "legt het aanbod en het huurcontract vast",
        );
    }

    /// Around the move: the gebiedsteam's contact (before or after), the zorgaanbieder's plaatsing, and by chance
    /// an ondersteuningsplan and, with consent, the corporatie's first signal.
    fn after_move(
        &mut self,
        to: &Move<'_>,
        mut gemeente_form: Json,
        corp: &PartnerId,
        consent: bool,
    ) {
        let (plan, zorg, name, gemeente, moved) =
            (to.plan, to.zorg, to.name, &to.gemeente, to.moved);
        gemeente_form["gebiedsteam_contactpersoon"] = json!("Gebiedsteam");
        let contact = if self.rng.random_bool(0.6) {
            moved - Duration::days(7)
        } else {
            moved + Duration::days(14)
        };
        gemeente_form["datum_contact_gebiedsteam"] = json!(fmt(contact));
        self.push_instance(
            contact,
            gemeente,
            DocumentKind::Gemeente,
            gemeente.to_string(),
            gemeente_form,
            "legt het contact met het gebiedsteam vast",
        );
        self.push(
            moved,
            zorg,
            DocumentKind::Plaatsing,
            json!({"achternaam_voorletters": name, "soort_mutatie": "uitstroom_zelfstandig",
                "datum_mutatie": fmt(moved), "mutatie_adres": format!("Adres {}", self.number),
                "definitief_uitstroomprofiel": "zelfstandig_wonen_met_ondersteuning", "naam_verhuurder": "Woningcorporatie",
                "definitieve_uitstroomgemeente": to.uitstroom, "type_woning": "sociale_huur",
                "soort_huurcontract": plan.lease, "wijze_van_toewijzing": "bemiddeling"}),
            "meldt de verhuizing",
        );
        if self.rng.random_bool(self.assumptions.ondersteuningsplan) {
            let d = moved + Duration::days(10);
            self.push(d, gemeente, DocumentKind::Ondersteuningsplan,
                json!({"datum_vastgesteld": fmt(d), "gebiedsteam": "Gebiedsteam",
                    "uitvoerende_zorgaanbieder": zorg.to_string(), "daginvulling": "Dagbesteding drie dagen",
                    "netwerk": "Zus en een vriend"}),
                "stelt het ondersteuningsplan op");
        }
        if consent && self.rng.random_bool(self.assumptions.melding) {
            let d = moved + Duration::days(60);
            self.push_instance(d, corp, DocumentKind::Melding, format!("{corp}-1"),
                json!({"datum_melding": fmt(d), "melder": "corporatie", "soort": "signaal", "ave_niveau": 1,
                    "omschrijving": "Geluidsoverlast gemeld door buren", "status": "open"}),
                "meldt een signaal");
        }
        self.life_after_placement(to, corp);
    }

    /// Life after placement (issue #17 item 3), each event a document of its own: the old zorgaanbieder walking
    /// along (Afspraak 4e), support scaled down or up (5), the omklap evaluation of a 3-partijen lease (2f), by
    /// chance a huisuitzetting after a settled overleg (2h), and the end of support with a waakvlam (6). Drawn after
    /// every other step of the client, so the earlier steps of every population stay as they were.
    fn life_after_placement(&mut self, to: &Move<'_>, corp: &PartnerId) {
        let a = self.assumptions;
        let (zorg, gemeente, moved) = (to.zorg, &to.gemeente, to.moved);
        let meeloop = self.rng.random_bool(a.meeloop);
        let afschaling = self.rng.random_bool(a.afschaling);
        let opschaling = self.rng.random_bool(a.opschaling);
        let omklap_na_een_jaar = self.rng.random_bool(a.omklap_na_een_jaar);
        let uitzetting = self.rng.random_bool(a.huisuitzetting);
        let einde = self.rng.random_bool(a.einde_met_waakvlam);
        let ov = |soort: &str, d: Date, toelichting: &str| {
            policies::examples::ondersteuningsverloop(soort, &fmt(d), toelichting)
        };
        let ondersteuning = DocumentKind::Ondersteuningsverloop;
        if meeloop {
            let mut e = ov(
                "meeloop_oude_zorgaanbieder",
                moved,
                "Oude begeleider loopt mee",
            );
            e["einddatum_meeloop"] = json!(fmt(moved + Duration::days(60)));
            self.push_instance(
                moved,
                zorg,
                ondersteuning,
                format!("{zorg}-meeloop"),
                e,
                "loopt als oude zorgaanbieder mee",
            );
        }
        if opschaling {
            let d = moved + Duration::days(90);
            self.push_instance(
                d,
                gemeente,
                ondersteuning,
                format!("{gemeente}-opschaling"),
                ov("opschaling", d, "Meer begeleiding na terugval"),
                "schaalt de ondersteuning op",
            );
        }
        if afschaling {
            let d = moved + Duration::days(180);
            self.push_instance(
                d,
                zorg,
                ondersteuning,
                format!("{zorg}-afschaling"),
                ov("afschaling", d, "Minder uren begeleiding"),
                "schaalt de ondersteuning af",
            );
        }
        // The beschikking ends before the omklap ("ingaande op de datum waarop de Wmo beschikking afloopt",
        // Bijlage 1, 2d) and the gebiedsteam discusses the waakvlam (Afspraak 6a).
        if einde && !uitzetting {
            let d = moved + Duration::days(330);
            self.push_instance(
                d,
                zorg,
                ondersteuning,
                format!("{zorg}-einde"),
                ov(
                    "einde_ondersteuning",
                    d,
                    "Doelen behaald, beschikking loopt af",
                ),
                "beëindigt de ondersteuning",
            );
            self.push_instance(
                d,
                gemeente,
                ondersteuning,
                format!("{gemeente}-waakvlam"),
                ov("waakvlam", d, "Maandelijks telefonisch contact"),
                "bespreekt de waakvlam",
            );
        }
        // The 3-partijen lease: evaluated after a year; turned over then, or half a year later — unless it ends in
        // a huisuitzetting.
        let huurverloop = DocumentKind::Huurverloop;
        if to.plan.lease == "drie_partijen" {
            let d = moved + Duration::days(365);
            let meteen = omklap_na_een_jaar && !uitzetting;
            let uitkomst = if meteen { "omklap" } else { "later_opnieuw" };
            self.push_instance(
                d,
                corp,
                huurverloop,
                format!("{corp}-evaluatie-1"),
                policies::examples::omklap_evaluatie(
                    &fmt(d),
                    uitkomst,
                    "Doelen besproken met huurder en begeleider",
                ),
                "evalueert de omklapdoelen",
            );
            if !meteen && !uitzetting {
                let d = moved + Duration::days(545);
                self.push_instance(
                    d,
                    corp,
                    huurverloop,
                    format!("{corp}-evaluatie-2"),
                    policies::examples::omklap_evaluatie(
                        &fmt(d),
                        "omklap",
                        "Doelen alsnog behaald",
                    ),
                    "klapt de huurovereenkomst om",
                );
            }
        }
        // A huisuitzetting: the overleg of Afspraak 2h first, as a melding settled in time.
        if uitzetting {
            let gemeld = moved + Duration::days(410);
            let overleg = moved + Duration::days(430);
            let d = moved + Duration::days(450);
            // The melding is open when made and settled on the day of the overleg.
            let settled = policies::examples::overleg_huisuitzetting(
                &fmt(gemeld),
                &fmt(overleg),
                "Huurachterstand van drie maanden",
            );
            let mut open = settled.clone();
            open["status"] = json!("open");
            for gone in ["datum_afgehandeld", "afhandeling"] {
                open.as_object_mut().expect("object").remove(gone);
            }
            self.push_instance(
                gemeld,
                corp,
                DocumentKind::Melding,
                format!("{corp}-overleg"),
                open,
                "meldt een dreigende huisuitzetting en vraagt overleg",
            );
            self.push_instance(
                overleg,
                corp,
                DocumentKind::Melding,
                format!("{corp}-overleg"),
                settled,
                "legt het overleg over de dreigende huisuitzetting vast",
            );
            self.push_instance(
                d,
                corp,
                huurverloop,
                format!("{corp}-huisuitzetting"),
                policies::examples::huisuitzetting(&fmt(d), &fmt(overleg)),
                "zet de huurder uit",
            );
        }
    }
}

/// The population the conformance oracle ([`crate::oracle`]) plays through real nodes: the demo's seven partners,
/// a handful of clients chosen so that every kind of document is written by every role that may write it, and
/// every flow of the covenant is used.
///
/// Drawn like [`generate`] (same seed, same population) under assumptions that make the rare steps common
/// (refusals and re-assignment, meldingen, ondersteuningsplannen, refused offers), then per kept client:
/// - every bemiddeld client also gets meldingen by its zorgaanbieder, the Transferpunt and each gemeente it relates
///   to, and a gemeente form by its verblijf- and herkomstgemeente where these are not the uitstroomgemeente;
/// - the first stays in maatschappelijke opvang elsewhere than it came from and gives consent only after
///   registering (late consent);
/// - the second is in beschermd wonen elsewhere than it will live, and withdraws its consent after the move, after
///   which its zorgaanbieder still updates the aanmelding;
/// - every one but the second is closed by the Transferpunt at last (phase afgesloten: the corporatie keeps only
///   whom to call).
///
/// Besides: one request closed without bemiddeling, one regular outflow, one uitval and one client still in care.
pub fn oracle(seed: u64, bemiddeld: usize) -> Population {
    let assumptions = Assumptions {
        corporatie_refusal: 0.8,
        first_offer_refused: 0.5,
        ondersteuningsplan: 1.0,
        melding: 1.0,
        // Life after placement for every bemiddeld client: each event kind by each role that may write it.
        meeloop: 1.0,
        afschaling: 1.0,
        opschaling: 1.0,
        huisuitzetting: 1.0,
        einde_met_waakvlam: 1.0,
        ..Assumptions::default()
    };
    let mut pop = generate_with(Scale::Demo, seed, assumptions);
    let clients = std::mem::take(&mut pop.clients);
    let take = |path: Path, n: usize, pick: &dyn Fn(&Client) -> bool| -> Vec<Client> {
        clients
            .iter()
            .filter(|c| c.path == path && pick(c))
            .take(n)
            .cloned()
            .collect()
    };
    let closed = |c: &Client| {
        c.events.iter().any(|e| {
            e.kind == DocumentKind::Beoordeling && e.form.get("datum_afgesloten").is_some()
        })
    };
    // The first returns to where it came from, so a verblijfgemeente elsewhere writes a gemeente form of its own.
    let home = |c: &Client| {
        let text = |kind, f: &str| {
            c.events
                .iter()
                .filter(|e| e.kind == kind)
                .find_map(|e| e.form.get(f).and_then(Json::as_str).map(str::to_string))
        };
        text(DocumentKind::Registratie, "herkomstgemeente")
            == text(DocumentKind::Beoordeling, "gekozen_uitstroomgemeente")
    };
    let mut kept = take(Path::Bemiddeld, bemiddeld.min(1), &home);
    let first = kept.first().map(|c| c.number);
    kept.extend(take(
        Path::Bemiddeld,
        bemiddeld.saturating_sub(kept.len()),
        &|c| Some(c.number) != first,
    ));
    kept.extend(take(Path::VerzoekZonderBemiddeling, 1, &closed));
    kept.extend(take(Path::Regulier, 1, &|_| true));
    kept.extend(take(Path::Uitval, 1, &|_| true));
    kept.extend(take(Path::InZorg, 1, &|_| true));
    let partners = pop.partners.clone();
    for (k, client) in kept
        .iter_mut()
        .filter(|c| c.path == Path::Bemiddeld)
        .enumerate()
    {
        oracle_steps(&partners, client, k);
    }
    kept.sort_by_key(|c| c.number);
    pop.clients = kept;
    pop.every = 1;
    pop
}

/// The other of the demo's two gemeenten.
fn other_gemeente(partners: &Partners, code: &str) -> String {
    partners
        .gemeenten
        .iter()
        .map(|g| g.code().to_string())
        .find(|g| g != code)
        .unwrap_or_else(|| code.to_string())
}

/// The extra steps of the `k`-th bemiddeld client of the oracle's population (see [`oracle`]).
fn oracle_steps(partners: &Partners, client: &mut Client, k: usize) {
    let text = |e: &Event, f: &str| e.form.get(f).and_then(Json::as_str).map(str::to_string);
    let Some(reg) = client
        .events
        .iter()
        .find(|e| e.kind == DocumentKind::Registratie)
        .cloned()
    else {
        return;
    };
    let herkomst = text(&reg, "herkomstgemeente").unwrap_or_default();
    let uitstroom = client
        .events
        .iter()
        .filter(|e| e.kind == DocumentKind::Beoordeling)
        .find_map(|e| text(e, "gekozen_uitstroomgemeente"))
        .unwrap_or_else(|| herkomst.clone());
    // The client's own circumstances, in every registratie it has.
    let verblijf = match k {
        0 => other_gemeente(partners, &herkomst),
        1 => other_gemeente(partners, &uitstroom),
        _ => text(&reg, "verblijfgemeente").unwrap_or_default(),
    };
    for e in client
        .events
        .iter_mut()
        .filter(|e| e.kind == DocumentKind::Registratie)
    {
        e.form["verblijfgemeente"] = json!(verblijf);
        match k {
            0 => e.form["soort_voorziening"] = json!("maatschappelijke_opvang"),
            1 => e.form["soort_voorziening"] = json!("beschermd_wonen"),
            _ => {}
        }
    }
    let zorg = reg.author.clone();
    let mut extra: Vec<Event> = Vec::new();
    if k == 0 {
        extra.push(late_consent(client, &zorg));
    }
    let d = client.events.last().map_or(reg.date, |e| e.date) + Duration::days(1);
    let gemeenten = [verblijf, herkomst, uitstroom.clone()];
    extra.extend(signals_of_everyone(
        partners, client, &zorg, &gemeenten, &uitstroom, d,
    ));
    let later = d + Duration::days(1);
    // Every bemiddeld case but the one whose consent is withdrawn is closed at last: the corporatie must then keep
    // only whom to call (Bijlage 2), and everyone else what the closed phase allows.
    if k == 1 {
        extra.extend(withdrawn_consent(client, &zorg, later));
    } else {
        extra.push(closed(client, &partners.transferpunt, later));
    }
    client.events.extend(extra);
    client.events.sort_by_key(|e| e.date);
}

/// An event of the oracle's extra steps.
fn event(
    date: Date,
    author: &PartnerId,
    kind: DocumentKind,
    instance: String,
    form: Json,
    step: &'static str,
) -> Event {
    Event {
        date,
        author: author.clone(),
        kind,
        instance,
        form,
        step,
    }
}

/// Late consent: the first registratie is saved without, and consent is given a day later.
fn late_consent(client: &mut Client, zorg: &PartnerId) -> Event {
    let first = client
        .events
        .iter_mut()
        .find(|e| e.kind == DocumentKind::Registratie)
        .expect("a registratie");
    let mut late = first.form.clone();
    let obj = first.form.as_object_mut().expect("object");
    obj.insert("toestemming_gegevensdeling".into(), json!(false));
    obj.remove("datum_toestemming");
    let date = first.date + Duration::days(1);
    late["datum_toestemming"] = json!(fmt(date));
    event(
        date,
        zorg,
        DocumentKind::Registratie,
        String::new(),
        late,
        "geeft alsnog toestemming",
    )
}

/// On `d`: a melding by the zorgaanbieder, the Transferpunt, every gemeente the client relates to and its
/// corporatie (unless it wrote one already), and a gemeente form by every gemeente but the uitstroomgemeente.
fn signals_of_everyone(
    partners: &Partners,
    client: &Client,
    zorg: &PartnerId,
    gemeenten: &[String; 3],
    uitstroom: &str,
    d: Date,
) -> Vec<Event> {
    let n = client.number;
    let melding = |melder: &str, what: &str| {
        json!({"datum_melding": fmt(d), "melder": melder, "soort": "signaal", "ave_niveau": 2,
            "omschrijving": format!("{what} over cliënt {n:05}"), "status": "open",
            "terugkoppeling_aan_melder": format!("Terugkoppeling {what} {n:05}")})
    };
    let tp = &partners.transferpunt;
    // The zorgaanbieder's melding climbs the AVE ladder and its vaste contactpersoon (as the harness's directory
    // names them) presents it to the Transferpunt (Afspraak 7d, 3g).
    let mut voorgelegd = melding("zorgaanbieder", "Zorgsignaal");
    for (k, v) in [
        (
            "escalaties",
            json!([{"datum": fmt(d), "van_niveau": 1, "naar_niveau": 2,
            "door": "Begeleider", "reden": format!("Terugval cliënt {n:05}")}]),
        ),
        ("regie", json!("gebiedsteam")),
        ("status", json!("voorgelegd_transferpunt")),
        (
            "lokale_aanpak",
            json!(format!("Lokaal overleg over cliënt {n:05}")),
        ),
        ("voorgelegd_aan_transferpunt", json!(true)),
        ("voorgelegd_door_vaste_contactpersoon", json!(true)),
        (
            "voorgelegd_door",
            json!(node::harness::vaste_contactpersoon(&zorg.to_string(), 1)),
        ),
        ("datum_voorgelegd", json!(fmt(d))),
    ] {
        voorgelegd[k] = v;
    }
    let mut out = vec![
        event(
            d,
            zorg,
            DocumentKind::Melding,
            format!("{zorg}-m1"),
            voorgelegd,
            "legt een melding voor aan het Transferpunt (zorgaanbieder)",
        ),
        event(
            d,
            tp,
            DocumentKind::Melding,
            format!("{tp}-m1"),
            melding("transferpunt", "Knelpunt Transferpunt"),
            "registreert een knelpunt (Transferpunt)",
        ),
    ];
    let mut gemeenten = gemeenten.to_vec();
    gemeenten.sort();
    gemeenten.dedup();
    for g in &gemeenten {
        let gemeente = partner(Role::Gemeente, g);
        out.push(event(
            d,
            &gemeente,
            DocumentKind::Melding,
            format!("{gemeente}-m1"),
            melding("gemeente", &format!("Signaal gemeente {g}")),
            "meldt een signaal (gemeente)",
        ));
        if g != uitstroom {
            out.push(event(
                d,
                &gemeente,
                DocumentKind::Gemeente,
                gemeente.to_string(),
                json!({"client_toe_aan_uitstroom": "ja", "datum_start_onderzoek": fmt(d),
                    "gebiedsteam_contactpersoon": format!("Gebiedsteam {g} cliënt {n:05}")}),
                "legt het onderzoek van het gebiedsteam vast",
            ));
        }
    }
    let corporatie = client
        .events
        .iter()
        .rev()
        .find(|e| e.kind == DocumentKind::Reactie)
        .map(|e| e.author.clone());
    if let Some(corp) = &corporatie
        && !client
            .events
            .iter()
            .any(|e| e.kind == DocumentKind::Melding && &e.author == corp)
    {
        out.push(event(
            d,
            corp,
            DocumentKind::Melding,
            format!("{corp}-m1"),
            melding("corporatie", "Overlast"),
            "meldt overlast (corporatie)",
        ));
    }
    // The Transferpunt answers a melding of every role that makes them (Afspraak 7d-7g): its voorlegging goes back
    // to that melder only, with the terugkoppeling, never the afhandeling.
    let mut melders: Vec<(PartnerId, String)> = vec![(zorg.clone(), format!("{zorg}-m1"))];
    if let Some(g) = gemeenten.first() {
        let gemeente = partner(Role::Gemeente, g);
        melders.push((gemeente.clone(), format!("{gemeente}-m1")));
    }
    if let Some(corp) = &corporatie {
        let own = client
            .events
            .iter()
            .chain(out.iter())
            .find(|e| e.kind == DocumentKind::Melding && &e.author == corp)
            .map(|e| e.instance.clone());
        if let Some(instance) = own {
            melders.push((corp.clone(), instance));
        }
    }
    for (melder, melding) in melders {
        out.push(event(
            d,
            tp,
            DocumentKind::Voorlegging,
            policies::model::voorlegging_instance(&melder.to_string(), &melding),
            json!({"datum_ontvangen": fmt(d), "datum_overleg": fmt(d),
                "deelnemers": format!("Deelnemers overleg {n:05}"), "uitstromer_aanwezig": "nee",
                "reden_uitstromer_afwezig": format!("Afwezig {n:05}"), "regie_na_overleg": "gebiedsteam",
                "afspraken": [{"afspraak": format!("Afspraak {n:05}"), "partij": "Gebiedsteam",
                    "termijn": fmt(d + Duration::days(14))}],
                "afhandeling": format!("Afhandeling Transferpunt {melder} {n:05}"), "datum_afgehandeld": fmt(d),
                "terugkoppeling_aan_melder": format!("Terugkoppeling aan {melder} {n:05}"),
                "datum_terugkoppeling": fmt(d)}),
            "beantwoordt een voorgelegde melding (Transferpunt)",
        ));
    }
    out
}

/// Consent withdrawn after the move (on `later`); the zorgaanbieder still updates the aanmelding the day after.
fn withdrawn_consent(client: &Client, zorg: &PartnerId, later: Date) -> [Event; 2] {
    let n = client.number;
    let latest = |kind: DocumentKind| {
        client
            .events
            .iter()
            .rev()
            .find(|e| e.kind == kind)
            .map(|e| e.form.clone())
    };
    let mut withdrawn = latest(DocumentKind::Registratie).expect("a registratie");
    let obj = withdrawn.as_object_mut().expect("object");
    obj.insert("toestemming_gegevensdeling".into(), json!(false));
    obj.remove("datum_toestemming");
    let mut aanmelding = latest(DocumentKind::Aanmelding).expect("an aanmelding");
    aanmelding["naam_vorige_verhuurder_of_instantie"] =
        json!(format!("Verhuurder na intrekking {n:05}"));
    [
        event(
            later,
            zorg,
            DocumentKind::Registratie,
            String::new(),
            withdrawn,
            "trekt de toestemming in",
        ),
        event(
            later + Duration::days(1),
            zorg,
            DocumentKind::Aanmelding,
            String::new(),
            aanmelding,
            "werkt de aanmelding bij na de intrekking",
        ),
    ]
}

/// The Transferpunt closes the case on `later` (phase afgesloten).
fn closed(client: &Client, tp: &PartnerId, later: Date) -> Event {
    let mut beoordeling = client
        .events
        .iter()
        .rev()
        .find(|e| e.kind == DocumentKind::Beoordeling)
        .expect("a beoordeling")
        .form
        .clone();
    beoordeling["datum_afgesloten"] = json!(fmt(later));
    event(
        later,
        tp,
        DocumentKind::Beoordeling,
        String::new(),
        beoordeling,
        "sluit de casus af",
    )
}
