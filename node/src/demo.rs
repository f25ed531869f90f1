//! `weerthuis demo`: a whole federation in one process, to see the system work with one command.
//!
//! It creates a federation CA and a certificate per node, starts seven nodes — the Transferpunt, gemeenten
//! Leeuwarden and Heerenveen, corporaties Elkien and Accolade, zorgaanbieders Kwadrant and Limor — each with its own
//! SQLite database, its own QUIC endpoint on 127.0.0.1 (mutual TLS, ports chosen by the operating system) and its own
//! local API, and plays a scripted bemiddeling through them: a request sent back as incomplete, a corporatie that
//! asks for information and then refuses with a reason, a first offer the client refuses, a 3-partijen lease; a
//! second case straight through in another gemeente; a third case without consent that never leaves its
//! zorgaanbieder. Every step waits (with a bound) until the data it needs has arrived over the federation.
//!
//! Then it prints what each node holds — per case the sections and their field names, never a value — and the
//! monitor's summary computed from the Transferpunt's data, and the URL and a bearer token of every node's API.
//! The nodes keep running until Ctrl-C, unless asked to exit after the scenario.
//!
//! The people in the demo are made up; their BSNs are generated to pass the elfproef.

use std::collections::BTreeMap;
use std::future::Future;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use policies::{DocumentKind as D, PartnerId};
use protocol::{Admitted, Directory, DirectoryEntry, FederationCa, PeerId, TlsSetup};
use serde_json::{Value, json};
use time::{Duration as TimeDuration, OffsetDateTime};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::metrics::Registry;
use crate::service::Node;
use crate::store::{CaseId, User};
use crate::sync::{Federation, FederationConfig};

/// How the demo runs.
#[derive(Debug, Clone, Default)]
pub struct Options {
    /// Where to put the CA, certificates and databases (created; must be new or empty). `None`: a temporary
    /// directory, removed on exit.
    pub dir: Option<PathBuf>,
    /// Stop the nodes and return once the scenario has played, instead of waiting for the shutdown signal.
    pub exit_after_scenario: bool,
}

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

/// The demo's partners, in the order they are shown, with their names.
pub const PARTNERS: [(&str, &str); 7] = [
    (TRANSFERPUNT, "Transferpunt Weer Thuis"),
    (LEEUWARDEN, "Gemeente Leeuwarden"),
    (HEERENVEEN, "Gemeente Heerenveen"),
    (ELKIEN, "Elkien"),
    (ACCOLADE, "Accolade"),
    (KWADRANT, "Kwadrant"),
    (LIMOR, "Limor"),
];

/// The longest the demo waits for one step's data to arrive.
pub const WAIT: Duration = Duration::from_secs(60);

/// One running node of the demo.
struct DemoNode {
    id: PartnerId,
    name: &'static str,
    node: Arc<Node>,
    fed: Option<Federation>,
    user: User,
    token: String,
    quic: SocketAddr,
    api: SocketAddr,
    api_stop: Option<oneshot::Sender<()>>,
    api_task: Option<JoinHandle<std::io::Result<()>>>,
}

/// The running demo federation.
struct Demo {
    nodes: BTreeMap<&'static str, DemoNode>,
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

/// Write a secret file readable by its owner only.
fn write_private(path: &Path, text: &str) -> anyhow::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    opts.open(path)
        .and_then(|mut f| f.write_all(text.as_bytes()))
        .with_context(|| format!("cannot write {}", path.display()))
}

fn write_public(path: &Path, text: &str) -> anyhow::Result<()> {
    std::fs::write(path, text).with_context(|| format!("cannot write {}", path.display()))
}

/// Run the demo: start the federation, play the scenario, print what each node holds and the monitor's summary,
/// then (unless [`Options::exit_after_scenario`]) wait for `shutdown`; always stop every node gracefully.
pub async fn run<W: Write>(
    options: Options,
    out: &mut W,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let (root, _temp) = match &options.dir {
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            if std::fs::read_dir(dir)?.next().is_some() {
                bail!(
                    "{} is not empty: give the demo a new or empty directory",
                    dir.display()
                );
            }
            (dir.canonicalize()?, None)
        }
        None => {
            let temp = tempfile::Builder::new()
                .prefix("weerthuis-demo-")
                .tempdir()
                .context("cannot create a temporary directory")?;
            (temp.path().to_path_buf(), Some(temp))
        }
    };
    writeln!(out, "Weer Thuis — demo federation")?;
    writeln!(out, "Data directory: {}", root.display())?;
    if options.dir.is_none() {
        writeln!(
            out,
            "  (temporary: removed when the demo stops; keep it with --dir DIR)"
        )?;
    }
    writeln!(out)?;

    let mut demo = start(&root, out).await?;
    let result = async {
        demo.wait_connected(out).await?;
        let cases = demo.scenario(out).await?;
        demo.print_holdings(out, &cases).await?;
        demo.print_monitor(out).await?;
        demo.print_apis(out)?;
        writeln!(
            out,
            "Scenario done in {:.1} s.",
            started.elapsed().as_secs_f64()
        )?;
        anyhow::Ok(())
    }
    .await;
    if result.is_ok() && !options.exit_after_scenario {
        writeln!(out, "The nodes keep running. Press Ctrl-C to stop them.")?;
        out.flush()?;
        shutdown.await;
    }
    writeln!(out, "Stopping the nodes…")?;
    out.flush()?;
    demo.stop().await;
    writeln!(out, "Stopped.")?;
    result
}

/// Create the CA and certificates, start every node, and publish the directory with their addresses.
async fn start<W: Write>(root: &Path, out: &mut W) -> anyhow::Result<Demo> {
    let ca = FederationCa::create(
        "Federatie Weer Thuis (demo)",
        now() - TimeDuration::days(1),
        now() + TimeDuration::days(30),
    )?;
    let ca_dir = root.join("ca");
    std::fs::create_dir_all(&ca_dir)?;
    write_public(&ca_dir.join(crate::cli::pki::CA_CERT), ca.cert_pem())?;
    write_private(&ca_dir.join(crate::cli::pki::CA_KEY), &ca.key_pem())?;
    writeln!(
        out,
        "Federation CA created: {}",
        ca_dir.join(crate::cli::pki::CA_CERT).display()
    )?;

    let mut directory = Directory {
        version: 1,
        partners: PARTNERS
            .iter()
            .map(|(id, name)| {
                Ok(DirectoryEntry {
                    id: id.parse()?,
                    name: name.to_string(),
                    endpoint: None,
                    contacts: vec![],
                    // Both corporaties work in both gemeenten.
                    werkgebied: if id.starts_with("corporatie:") {
                        vec!["GM0080".into(), "GM0074".into()]
                    } else {
                        vec![]
                    },
                })
            })
            .collect::<anyhow::Result<_>>()?,
    };
    let mut demo = Demo {
        nodes: BTreeMap::new(),
    };
    for (id, name) in PARTNERS {
        let n = start_node(root, &ca, &directory, id, name)
            .await
            .with_context(|| format!("starting {id}"))?;
        demo.nodes.insert(id, n);
    }
    // The endpoints are known only now (port 0): publish them to every node, as the Transferpunt would by signing
    // a new directory version.
    for e in &mut directory.partners {
        e.endpoint = demo.nodes.get(e.id.as_str()).map(|n| n.quic.to_string());
    }
    directory.version += 1;
    for n in demo.nodes.values_mut() {
        if let Some(f) = n.fed.as_mut() {
            f.set_directory(directory.clone());
        }
    }
    writeln!(
        out,
        "Started {} nodes (each: its own SQLite database, certificate, QUIC endpoint and local API):",
        demo.nodes.len()
    )?;
    for (id, _) in PARTNERS {
        let n = &demo.nodes[id];
        writeln!(
            out,
            "  {:<24} {:<26} quic {:<21} api http://{}",
            n.id.to_string(),
            n.name,
            n.quic,
            n.api
        )?;
    }
    writeln!(out)?;
    Ok(demo)
}

async fn start_node(
    root: &Path,
    ca: &FederationCa,
    directory: &Directory,
    id: &str,
    name: &'static str,
) -> anyhow::Result<DemoNode> {
    let partner: PartnerId = id.parse()?;
    let dir = root.join(id.replace(':', "-"));
    crate::app::init(&dir, partner.clone(), None).await?;
    let (_, node) = crate::app::open(&dir).await?;
    let new_user = node
        .store()
        .create_user("demo", "demo: het gescripte scenario en de API")
        .await?;
    let cert = ca.issue(
        &id.parse::<PeerId>()?,
        now() - TimeDuration::days(1),
        now() + TimeDuration::days(30),
    )?;
    write_public(&dir.join(crate::cli::pki::NODE_CERT), &cert.cert_pem)?;
    write_private(&dir.join(crate::cli::pki::NODE_KEY), &cert.key_pem)?;
    let tls = TlsSetup::from_pem(
        &cert.cert_pem,
        &cert.key_pem,
        ca.cert_pem(),
        Admitted::default(),
    )?;
    let fed = Federation::start(
        node.clone(),
        FederationConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 0)),
            tls,
            directory: directory.clone(),
            faults: None,
        },
    )?;
    let quic = fed.local_addr()?;
    let metrics = Arc::new(Registry::new());
    metrics.attach_federation(fed.probe());
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    let api = listener.local_addr()?;
    let (api_stop, stopped) = oneshot::channel::<()>();
    let api_task = tokio::spawn(crate::app::serve_with_metrics(
        listener,
        node.clone(),
        crate::config::DEFAULT_MAX_BODY_BYTES,
        metrics,
        async {
            let _ = stopped.await;
        },
    ));
    Ok(DemoNode {
        id: partner,
        name,
        node,
        fed: Some(fed),
        user: new_user.user,
        token: new_user.token,
        quic,
        api,
        api_stop: Some(api_stop),
        api_task: Some(api_task),
    })
}

/// A fake person of the demo.
struct Person {
    name: &'static str,
    bsn: String,
}

/// A BSN that passes the elfproef, derived from `seed` (made up, like the names).
fn fake_bsn(seed: u32) -> String {
    let mut n = 100_000_000 + (seed.wrapping_mul(7_919) % 800_000_000);
    loop {
        let s = format!("{n:09}");
        if policies::bsn::Bsn::parse(&s).is_ok() {
            return s;
        }
        n += 1;
    }
}

/// The cases of the scenario, by label, in order.
type Cases = Vec<(&'static str, &'static str, CaseId)>;

impl Demo {
    fn node(&self, id: &str) -> &DemoNode {
        &self.nodes[id]
    }

    async fn new_case(&self, at: &str) -> anyhow::Result<CaseId> {
        let c = self.node(at).node.create_case().await?;
        Ok(c.id.parse()?)
    }

    async fn write(&self, at: &str, case: &CaseId, kind: D, form: Value) -> anyhow::Result<()> {
        let n = self.node(at);
        n.node
            .write_form(&n.user, case, kind, None, &form)
            .await
            .with_context(|| format!("{at} writes {kind}"))?;
        Ok(())
    }

    /// What a node holds of a case: every form (own, received whole, projected), as JSON per section.
    async fn holds(&self, at: &str, case: &CaseId) -> BTreeMap<String, Value> {
        let n = self.node(at);
        let mut out = BTreeMap::new();
        let Ok(loaded) = n.node.load_case(case).await else {
            return out;
        };
        for key in &loaded.keys {
            if let Ok(Some(stored)) = n.node.store().load_document(key).await
                && let Ok(am) = stored.to_automerge(&n.id)
                && let Ok(json) = crate::doc::read_json(&am)
            {
                let name = if key.instance.is_empty() {
                    key.kind.name().to_string()
                } else {
                    format!("{}/{}", key.kind, key.instance)
                };
                out.insert(name, json);
            }
        }
        for (section, form) in loaded.projected.iter().zip(&loaded.projected_forms) {
            out.entry(section.clone()).or_insert_with(|| form.to_json());
        }
        out
    }

    /// Wait until `check` holds, polling, for at most [`WAIT`].
    async fn until<F, Fut>(&self, what: &str, mut check: F) -> anyhow::Result<()>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = bool>,
    {
        let deadline = Instant::now() + WAIT;
        loop {
            if check().await {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("timed out after {} s waiting until {what}", WAIT.as_secs());
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// Wait until node `at` holds `section.field = value` for the case.
    async fn wait_for(
        &self,
        at: &str,
        case: &CaseId,
        section: &str,
        field: &str,
        value: Value,
    ) -> anyhow::Result<()> {
        self.until(&format!("{at} holds {section}.{field}"), || async {
            self.holds(at, case)
                .await
                .get(section)
                .and_then(|s| s.get(field))
                == Some(&value)
        })
        .await
    }

    /// Wait (bounded) until every node is connected to every other; report how far it got.
    async fn wait_connected<W: Write>(&self, out: &mut W) -> anyhow::Result<()> {
        let t = Instant::now();
        let others = self.nodes.len() - 1;
        let count = || {
            self.nodes
                .values()
                .map(|n| n.fed.as_ref().map_or(0, |f| f.connected().len()))
                .sum::<usize>()
                / 2
        };
        let all = self.nodes.len() * others / 2;
        let done = self
            .until("every node is connected", || async { count() == all })
            .await;
        match done {
            Ok(()) => writeln!(
                out,
                "All {all} connections up (QUIC, mutual TLS) in {:.1} s.",
                t.elapsed().as_secs_f64()
            )?,
            Err(_) => writeln!(
                out,
                "Only {} of {all} connections up; the scenario goes on (sync catches up on connect).",
                count()
            )?,
        }
        writeln!(out)?;
        Ok(())
    }

    /// Play the scripted bemiddeling. Returns the cases (label, zorgaanbieder, id).
    async fn scenario<W: Write>(&self, out: &mut W) -> anyhow::Result<Cases> {
        let mut n = 0;
        let mut step = |out: &mut W, text: &str| -> std::io::Result<()> {
            n += 1;
            writeln!(out, "  {n:>2}. {text}")
        };
        writeln!(out, "Scenario")?;

        // === Case A: Kwadrant, Leeuwarden — the long way round.
        let a_person = Person {
            name: "Visser, J.",
            bsn: fake_bsn(1),
        };
        let a = self.new_case(KWADRANT).await?;
        writeln!(out, "  Case A = {a} (zorgaanbieder:kwadrant)")?;
        self.write(
            KWADRANT,
            &a,
            D::Registratie,
            registratie(
                &a_person,
                KWADRANT,
                true,
                "maatschappelijke_opvang",
                "GM0080",
                "2025-06-01",
            ),
        )
        .await?;
        self.write(
            KWADRANT,
            &a,
            D::Aanmelding,
            aanmelding(&a_person, "2025-06-10"),
        )
        .await?;
        self.write(
            KWADRANT,
            &a,
            D::VervolgWonen,
            vervolg(&a_person, "GM0080", "2025-09-01"),
        )
        .await?;
        self.write(
            KWADRANT,
            &a,
            D::Bemiddelingsverzoek,
            verzoek("2025-10-01", "Kwadrant", None),
        )
        .await?;
        step(
            out,
            "zorgaanbieder:kwadrant registers case A (with consent) and asks for bemiddeling — without a woonwens",
        )?;

        // Case C: no consent; it never leaves Kwadrant.
        let c_person = Person {
            name: "Bakker, T.",
            bsn: fake_bsn(3),
        };
        let c = self.new_case(KWADRANT).await?;
        writeln!(out, "  Case C = {c} (zorgaanbieder:kwadrant)")?;
        self.write(
            KWADRANT,
            &c,
            D::Registratie,
            registratie(
                &c_person,
                KWADRANT,
                false,
                "maatschappelijke_opvang",
                "GM0080",
                "2025-07-01",
            ),
        )
        .await?;
        self.write(
            KWADRANT,
            &c,
            D::Aanmelding,
            aanmelding(&c_person, "2025-07-05"),
        )
        .await?;
        step(
            out,
            "zorgaanbieder:kwadrant registers case C without consent (toestemming_gegevensdeling = nee)",
        )?;

        // The Transferpunt finds the request incomplete and sends it back, marking the missing field.
        self.wait_for(
            TRANSFERPUNT,
            &a,
            "bemiddelingsverzoek",
            "datum_verzoek",
            json!("2025-10-01"),
        )
        .await?;
        self.write(TRANSFERPUNT, &a, D::Beoordeling, json!({
            "status": "teruggestuurd_onvolledig", "datum_ontvangen": "2025-10-02", "datum_teruggestuurd": "2025-10-03",
            "ontbrekende_gegevens": ["bemiddelingsverzoek.woonwens"], "aantal_keer_teruggestuurd": 1
        }))
        .await?;
        let mut v = self.holds(TRANSFERPUNT, &a).await["bemiddelingsverzoek"].clone();
        v["ontbrekende_gegevens"] = json!(["bemiddelingsverzoek.woonwens"]);
        self.write(TRANSFERPUNT, &a, D::Bemiddelingsverzoek, v)
            .await?;
        step(
            out,
            "transferpunt:sdf sends the bemiddelingsverzoek of case A back as onvolledig (ontbreekt: woonwens)",
        )?;

        // The begeleider sees what is missing and completes it; both edits merge in the shared document.
        self.wait_for(
            KWADRANT,
            &a,
            "bemiddelingsverzoek",
            "ontbrekende_gegevens",
            json!(["bemiddelingsverzoek.woonwens"]),
        )
        .await?;
        self.wait_for(
            KWADRANT,
            &a,
            "beoordeling",
            "status",
            json!("teruggestuurd_onvolledig"),
        )
        .await?;
        let woonwens = "Eenpersoonswoning in Leeuwarden, huur tot 650 euro";
        let mut v = self.holds(KWADRANT, &a).await["bemiddelingsverzoek"].clone();
        v["woonwens"] = json!(woonwens);
        self.write(KWADRANT, &a, D::Bemiddelingsverzoek, v).await?;
        self.wait_for(
            TRANSFERPUNT,
            &a,
            "bemiddelingsverzoek",
            "woonwens",
            json!(woonwens),
        )
        .await?;
        step(
            out,
            "zorgaanbieder:kwadrant completes the request (woonwens added)",
        )?;

        // Complete: the herkomstgemeente is chosen and asked for its akkoord.
        self.write(TRANSFERPUNT, &a, D::Beoordeling, json!({
            "status": "goedgekeurd", "datum_ontvangen": "2025-10-02", "datum_teruggestuurd": "2025-10-03",
            "ontbrekende_gegevens": ["bemiddelingsverzoek.woonwens"], "aantal_keer_teruggestuurd": 1,
            "datum_volledig": "2025-10-20", "gekozen_uitstroomgemeente": "GM0080"
        }))
        .await?;
        self.wait_for(
            LEEUWARDEN,
            &a,
            "beoordeling",
            "gekozen_uitstroomgemeente",
            json!("GM0080"),
        )
        .await?;
        step(
            out,
            "transferpunt:sdf approves case A and chooses uitstroomgemeente GM0080 (Leeuwarden)",
        )?;
        self.write(LEEUWARDEN, &a, D::Gemeente, json!({
            "akkoord_uitstroom": "akkoord", "datum_akkoord": "2025-10-22",
            "gebiedsteam_contactpersoon": "Gebiedsteam Leeuwarden-Oost", "datum_contact_gebiedsteam": "2025-10-23"
        }))
        .await?;
        self.wait_for(
            TRANSFERPUNT,
            &a,
            &format!("gemeente/{LEEUWARDEN}"),
            "akkoord_uitstroom",
            json!("akkoord"),
        )
        .await?;
        step(out, "gemeente:GM0080 gives its akkoord on the uitstroom")?;

        // Round-robin: the first corporatie asks for information, then refuses with a reason.
        let first = self.assign(&a).await?;
        self.wait_for(
            &first,
            &a,
            &format!("aanmeldbericht/{first}"),
            "bsn",
            json!(a_person.bsn),
        )
        .await?;
        step(
            out,
            &format!(
                "transferpunt:sdf assigns case A to {first} (om en om); the aanmeldbericht arrives there"
            ),
        )?;
        self.write(
            &first,
            &a,
            D::Reactie,
            json!({
                "besluit": "informatie_gevraagd", "datum_besluit": "2025-10-24",
                "informatieverzoek": "Graag een verklaring over de schuldsanering"
            }),
        )
        .await?;
        self.wait_for(
            KWADRANT,
            &a,
            &format!("reactie/{first}"),
            "besluit",
            json!("informatie_gevraagd"),
        )
        .await?;
        step(
            out,
            &format!(
                "{first} asks for information (informatieverzoek); zorgaanbieder:kwadrant sees the question"
            ),
        )?;
        self.write(&first, &a, D::Reactie, json!({
            "besluit": "geweigerd", "datum_besluit": "2025-10-28", "reden_weigering": "huurachterstand",
            "toelichting_weigering": "Huurachterstand bij een eerdere verhuurder, nog niet afgelost"
        }))
        .await?;
        self.wait_for(
            TRANSFERPUNT,
            &a,
            &format!("reactie/{first}"),
            "besluit",
            json!("geweigerd"),
        )
        .await?;
        step(
            out,
            &format!("{first} refuses case A (reden_weigering: huurachterstand)"),
        )?;

        // The next corporatie in the gemeente; the one that refused loses the aanmeldbericht.
        let second = self.assign(&a).await?;
        self.wait_for(
            &second,
            &a,
            &format!("aanmeldbericht/{second}"),
            "bsn",
            json!(a_person.bsn),
        )
        .await?;
        let reactie_only = vec![format!("reactie/{first}")];
        self.until(
            &format!("{first} no longer holds the aanmeldbericht"),
            || async {
                self.holds(&first, &a)
                    .await
                    .keys()
                    .cloned()
                    .collect::<Vec<_>>()
                    == reactie_only
            },
        )
        .await?;
        step(
            out,
            &format!(
                "transferpunt:sdf assigns case A to {second}; {first} no longer holds the aanmeldbericht"
            ),
        )?;

        // An offer refused by the client, a second accepted, a 3-partijen lease with its omklap conditions.
        let offer1 = json!({"datum_aanbod": "2025-11-10", "adres": "Tuinstraat 5, Leeuwarden",
            "type_woning": "sociale_huur", "reactie_client": "geweigerd",
            "reden_weigering_client": "Te ver van de dagbesteding"});
        self.write(
            &second,
            &a,
            D::Reactie,
            json!({"besluit": "geaccepteerd", "datum_besluit": "2025-11-03", "aanbiedingen": [offer1]}),
        )
        .await?;
        step(
            out,
            &format!(
                "{second} accepts case A and offers a woning; the client refuses this first offer"
            ),
        )?;
        let offer2 = json!({"datum_aanbod": "2025-11-20", "adres": "Kerkstraat 9, Leeuwarden",
            "type_woning": "sociale_huur", "reactie_client": "geaccepteerd"});
        self.write(&second, &a, D::Reactie, json!({
            "besluit": "geaccepteerd", "datum_besluit": "2025-11-03", "aanbiedingen": [offer1, offer2],
            "soort_huurcontract": "drie_partijen", "datum_ondertekening": "2025-11-24",
            "einddatum_drie_partijen": "2027-11-24",
            "omklapvoorwaarden": "Huur volledig en op tijd betalen, geen overlast, woning als goed huurder gebruiken"
        }))
        .await?;
        self.wait_for(
            KWADRANT,
            &a,
            &format!("reactie/{second}"),
            "soort_huurcontract",
            json!("drie_partijen"),
        )
        .await?;
        step(
            out,
            &format!(
                "the client accepts a second offer; {second} signs a 3-partijen huurovereenkomst"
            ),
        )?;
        self.write(KWADRANT, &a, D::Plaatsing, json!({
            "achternaam_voorletters": a_person.name, "soort_mutatie": "uitstroom_zelfstandig",
            "datum_mutatie": "2025-11-24", "mutatie_adres": "Kerkstraat 9, Leeuwarden",
            "definitief_uitstroomprofiel": "zelfstandig_wonen_met_ondersteuning", "naam_verhuurder": "Woningcorporatie",
            "definitieve_uitstroomgemeente": "GM0080", "type_woning": "sociale_huur",
            "soort_huurcontract": "drie_partijen", "wijze_van_toewijzing": "bemiddeling"
        }))
        .await?;
        self.wait_for(
            TRANSFERPUNT,
            &a,
            "plaatsing",
            "soort_mutatie",
            json!("uitstroom_zelfstandig"),
        )
        .await?;
        self.wait_for(
            LEEUWARDEN,
            &a,
            "plaatsing",
            "datum_mutatie",
            json!("2025-11-24"),
        )
        .await?;
        step(
            out,
            "zorgaanbieder:kwadrant reports the plaatsing of case A",
        )?;

        // === Case B: Limor, Heerenveen — straight through, a lease in the client's own name.
        let b_person = Person {
            name: "de Vries, M.",
            bsn: fake_bsn(2),
        };
        let b = self.new_case(LIMOR).await?;
        writeln!(out, "  Case B = {b} (zorgaanbieder:limor)")?;
        self.write(
            LIMOR,
            &b,
            D::Registratie,
            registratie(
                &b_person,
                LIMOR,
                true,
                "maatschappelijke_opvang",
                "GM0074",
                "2026-01-05",
            ),
        )
        .await?;
        self.write(
            LIMOR,
            &b,
            D::Aanmelding,
            aanmelding(&b_person, "2026-01-12"),
        )
        .await?;
        self.write(
            LIMOR,
            &b,
            D::VervolgWonen,
            vervolg(&b_person, "GM0074", "2026-03-01"),
        )
        .await?;
        self.write(
            LIMOR,
            &b,
            D::Bemiddelingsverzoek,
            verzoek(
                "2026-03-10",
                "Limor",
                Some("Eenpersoonswoning in Heerenveen, dicht bij het werk"),
            ),
        )
        .await?;
        step(
            out,
            "zorgaanbieder:limor registers case B (with consent) and asks for bemiddeling in Heerenveen",
        )?;
        self.wait_for(
            TRANSFERPUNT,
            &b,
            "bemiddelingsverzoek",
            "datum_verzoek",
            json!("2026-03-10"),
        )
        .await?;
        self.write(TRANSFERPUNT, &b, D::Beoordeling, json!({
            "status": "goedgekeurd", "datum_ontvangen": "2026-03-11", "datum_volledig": "2026-03-11",
            "gekozen_uitstroomgemeente": "GM0074"
        }))
        .await?;
        self.wait_for(
            HEERENVEEN,
            &b,
            "beoordeling",
            "gekozen_uitstroomgemeente",
            json!("GM0074"),
        )
        .await?;
        step(
            out,
            "transferpunt:sdf approves case B at once and chooses uitstroomgemeente GM0074 (Heerenveen)",
        )?;
        self.write(HEERENVEEN, &b, D::Gemeente, json!({
            "akkoord_uitstroom": "akkoord", "datum_akkoord": "2026-03-13",
            "gebiedsteam_contactpersoon": "Gebiedsteam Heerenveen", "datum_contact_gebiedsteam": "2026-03-16"
        }))
        .await?;
        self.wait_for(
            TRANSFERPUNT,
            &b,
            &format!("gemeente/{HEERENVEEN}"),
            "akkoord_uitstroom",
            json!("akkoord"),
        )
        .await?;
        step(out, "gemeente:GM0074 gives its akkoord on the uitstroom")?;
        let corp = self.assign(&b).await?;
        self.wait_for(
            &corp,
            &b,
            &format!("aanmeldbericht/{corp}"),
            "bsn",
            json!(b_person.bsn),
        )
        .await?;
        step(
            out,
            &format!(
                "transferpunt:sdf assigns case B to {corp} (om en om); the aanmeldbericht arrives there"
            ),
        )?;
        self.write(
            &corp,
            &b,
            D::Reactie,
            json!({
                "besluit": "geaccepteerd", "datum_besluit": "2026-03-20",
                "aanbiedingen": [{"datum_aanbod": "2026-04-02", "adres": "Molenweg 12, Heerenveen",
                    "type_woning": "sociale_huur", "reactie_client": "geaccepteerd"}],
                "soort_huurcontract": "eigen_naam", "datum_ondertekening": "2026-04-15"
            }),
        )
        .await?;
        self.wait_for(
            LIMOR,
            &b,
            &format!("reactie/{corp}"),
            "soort_huurcontract",
            json!("eigen_naam"),
        )
        .await?;
        step(
            out,
            &format!(
                "{corp} accepts case B; the client accepts the first offer, a lease in eigen naam"
            ),
        )?;
        self.write(LIMOR, &b, D::Plaatsing, json!({
            "achternaam_voorletters": b_person.name, "soort_mutatie": "uitstroom_zelfstandig",
            "datum_mutatie": "2026-04-15", "mutatie_adres": "Molenweg 12, Heerenveen",
            "definitief_uitstroomprofiel": "zelfstandig_wonen_met_ondersteuning", "naam_verhuurder": "Woningcorporatie",
            "definitieve_uitstroomgemeente": "GM0074", "type_woning": "sociale_huur",
            "soort_huurcontract": "eigen_naam", "wijze_van_toewijzing": "bemiddeling"
        }))
        .await?;
        self.wait_for(
            TRANSFERPUNT,
            &b,
            "plaatsing",
            "soort_mutatie",
            json!("uitstroom_zelfstandig"),
        )
        .await?;
        self.wait_for(
            HEERENVEEN,
            &b,
            "plaatsing",
            "datum_mutatie",
            json!("2026-04-15"),
        )
        .await?;
        step(out, "zorgaanbieder:limor reports the plaatsing of case B")?;
        writeln!(out)?;
        Ok(vec![
            ("A", KWADRANT, a),
            ("B", LIMOR, b),
            ("C", KWADRANT, c),
        ])
    }

    /// The Transferpunt assigns the case to the next corporatie.
    async fn assign(&self, case: &CaseId) -> anyhow::Result<String> {
        let tp = self.node(TRANSFERPUNT);
        let corp = crate::bemiddeling::assign_corporatie(&tp.node, &tp.user, case)
            .await
            .context("transferpunt:sdf assigns a corporatie")?;
        Ok(corp.to_string())
    }

    /// Per node, per case: the sections it holds and their field names — never a value.
    async fn print_holdings<W: Write>(&self, out: &mut W, cases: &Cases) -> anyhow::Result<()> {
        writeln!(
            out,
            "What each node holds (per case: sections and their field names; no values)"
        )?;
        for (id, _) in PARTNERS {
            let held: Vec<_> = {
                let mut v = Vec::new();
                for (label, _, case) in cases {
                    let h = self.holds(id, case).await;
                    if !h.is_empty() {
                        v.push((label, case, h));
                    }
                }
                v
            };
            writeln!(out, "node {id} holds {} case(s)", held.len())?;
            for (label, case, sections) in held {
                writeln!(out, "  case {label} {case}")?;
                for (section, form) in sections {
                    let fields: Vec<&str> = form
                        .as_object()
                        .map(|o| o.keys().map(String::as_str).collect())
                        .unwrap_or_default();
                    writeln!(out, "    {section}: {}", fields.join(", "))?;
                }
            }
        }
        writeln!(
            out,
            "Compare: the Transferpunt holds every section; a corporatie only the aanmeldbericht of the cases assigned \
             to it and its own reactie (one that refused keeps only its reactie); a gemeente the fields the policy \
             gives it of cases in its gemeente; case C, without consent, stays at its zorgaanbieder."
        )?;
        writeln!(out)?;
        Ok(())
    }

    /// The monitor's summary, computed from what the Transferpunt holds.
    async fn print_monitor<W: Write>(&self, out: &mut W) -> anyhow::Result<()> {
        let tp = self.node(TRANSFERPUNT);
        let mut cases = Vec::new();
        for rec in tp.node.store().list_cases().await? {
            cases.push(self.holds(TRANSFERPUNT, &rec.id).await);
        }
        let m = monitor(&cases);
        let name = |code: &str| {
            tp.node
                .gemeenten()
                .name(code)
                .map_or_else(|| code.to_string(), |n| format!("{code} {n}"))
        };
        writeln!(
            out,
            "Uitstroommonitor (samenvatting, berekend uit de gegevens van {TRANSFERPUNT})"
        )?;
        writeln!(
            out,
            "  {:<4}  {:<20}  {:>21}  {:>11}  {:>22}  {:>10}  {:>10}",
            "jaar",
            "gemeente",
            "bemiddelingsverzoeken",
            "plaatsingen",
            "weigeringen corporatie",
            "3-partijen",
            "eigen naam"
        )?;
        for ((year, gemeente), r) in &m.rows {
            writeln!(
                out,
                "  {:<4}  {:<20}  {:>21}  {:>11}  {:>22}  {:>10}  {:>10}",
                year,
                name(gemeente),
                r.bemiddelingsverzoeken,
                r.plaatsingen,
                r.weigeringen,
                r.drie_partijen,
                r.eigen_naam
            )?;
        }
        writeln!(out, "  Weigeringen door corporaties, met reden:")?;
        if m.weigeringen.is_empty() {
            writeln!(out, "    geen")?;
        }
        for ((year, gemeente, corporatie, reden), n) in &m.weigeringen {
            writeln!(
                out,
                "    {year}  {}  {corporatie}  {reden}: {n}",
                name(gemeente)
            )?;
        }
        writeln!(
            out,
            "  Woningaanbiedingen geweigerd door de cliënt: {}",
            m.aanbiedingen_geweigerd
        )?;
        writeln!(out)?;
        Ok(())
    }

    fn print_apis<W: Write>(&self, out: &mut W) -> anyhow::Result<()> {
        writeln!(
            out,
            "Local APIs (one bearer token per node; GET /metrics needs none)"
        )?;
        for (id, _) in PARTNERS {
            let n = self.node(id);
            writeln!(out, "  {id:<24} http://{}/api/v1", n.api)?;
            writeln!(out, "  {:<24} token {}", "", n.token)?;
        }
        let tp = self.node(TRANSFERPUNT);
        writeln!(
            out,
            "Uitstroommonitor (the Transferpunt's page, with its token): http://{}/api/v1/monitor",
            tp.api
        )?;
        writeln!(out, "Try:")?;
        writeln!(
            out,
            "  curl -H 'Authorization: Bearer {}' http://{}/api/v1/casussen",
            tp.token, tp.api
        )?;
        writeln!(out, "  curl http://{}/metrics", tp.api)?;
        writeln!(
            out,
            "  curl -H 'Authorization: Bearer {}' http://{}/api/v1/monitor > monitor.html",
            tp.token, tp.api
        )?;
        writeln!(out)?;
        Ok(())
    }

    /// Stop every node: its federation side first (closing connections), then its API (which closes its database).
    async fn stop(&mut self) {
        for n in self.nodes.values_mut() {
            if let Some(f) = n.fed.take() {
                f.shutdown().await;
            }
        }
        for n in self.nodes.values_mut() {
            if let Some(stop) = n.api_stop.take() {
                let _ = stop.send(());
            }
            if let Some(task) = n.api_task.take() {
                match task.await {
                    Ok(Ok(())) => {}
                    Ok(Err(e)) => {
                        tracing::warn!(node = %n.id, error = %e, "API stopped with an error")
                    }
                    Err(e) => tracing::warn!(node = %n.id, error = %e, "API task failed"),
                }
            }
        }
    }
}

fn registratie(
    p: &Person,
    zorgaanbieder: &str,
    consent: bool,
    voorziening: &str,
    herkomst: &str,
    start: &str,
) -> Value {
    let mut r = json!({
        "achternaam_voorletters": p.name, "bsn": p.bsn, "geboortedatum": "1988-05-17",
        "soort_voorziening": voorziening, "herkomstgemeente": herkomst, "verblijfgemeente": "GM0080",
        "start_verblijf_opvang": start, "betrokken_zorgaanbieder": zorgaanbieder,
        "reden_dakloosheid": "Huisuitzetting na relatiebreuk", "toestemming_gegevensdeling": consent
    });
    if consent {
        r["datum_toestemming"] = json!(start);
    }
    r
}

fn aanmelding(p: &Person, datum: &str) -> Value {
    json!({
        "achternaam_voorletters": p.name, "datum_aanmelding": datum, "leefsituatie": "alleenstaand",
        "hoofdinkomen": "participatiewet", "schuldenproblematiek": "ja", "vorm_ondersteuning_schulden": "budgetbeheer",
        "inschrijvingen_woningcorporaties": [
            {"corporatie": "Elkien", "datum_inschrijving": "2025-06-02"},
            {"corporatie": "Accolade", "datum_inschrijving": "2025-06-03"}
        ]
    })
}

fn vervolg(p: &Person, gemeente: &str, datum: &str) -> Value {
    json!({"achternaam_voorletters": p.name, "datum_formulier": datum,
        "uitstroomprofiel": "zelfstandig_wonen_met_ondersteuning", "uitstroomgemeente": gemeente,
        "soort_uitstroom": "bemiddeling"})
}

fn verzoek(datum: &str, organisatie: &str, woonwens: Option<&str>) -> Value {
    let mut v = json!({
        "datum_verzoek": datum, "achttien_jaar_of_ouder": true, "verblijf_mo_of_bw_indicatie": true,
        "ingeschreven_meerdere_corporaties": true, "documenten_in_portaal_corporatie": true, "actief_gezocht": true,
        "toelichting_zoekgedrag": "Reageert wekelijks via FrieslandHuurt", "voldoende_zelfredzaam": true,
        "stabiele_daginvulling": true, "soort_daginvulling": "dagbesteding", "inkomen_en_schulden_in_beeld": true,
        "ondersteuningsprofiel": "Ambulante begeleiding twee keer per week",
        "contactpersonen": [{"naam": "Begeleider", "organisatie": organisatie, "functie": "begeleider"}]
    });
    if let Some(w) = woonwens {
        v["woonwens"] = json!(w);
    }
    v
}

/// One row of the monitor's summary: a year and a gemeente.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct MonitorRow {
    /// Bemiddelingsverzoeken (by the year of `datum_verzoek`, the chosen uitstroomgemeente).
    pub bemiddelingsverzoeken: u32,
    /// Plaatsingen (by the year of `datum_mutatie`, the definitive uitstroomgemeente).
    pub plaatsingen: u32,
    /// Refusals by corporaties (by the year of `datum_besluit`).
    pub weigeringen: u32,
    /// Plaatsingen with a 3-partijen lease.
    pub drie_partijen: u32,
    /// Plaatsingen with a lease in the client's own name.
    pub eigen_naam: u32,
}

/// The monitor's summary: a small stand-in for the full uitstroommonitor, over what the Transferpunt holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Monitor {
    /// Per (year, gemeente code).
    pub rows: BTreeMap<(String, String), MonitorRow>,
    /// Refusals per (year, gemeente code, corporatie, reden_weigering).
    pub weigeringen: BTreeMap<(String, String, String, String), u32>,
    /// Offers the client refused.
    pub aanbiedingen_geweigerd: u32,
}

fn text<'a>(case: &'a BTreeMap<String, Value>, section: &str, field: &str) -> Option<&'a str> {
    case.get(section)?.get(field)?.as_str()
}

fn year(date: Option<&str>) -> String {
    date.and_then(|d| d.get(..4))
        .unwrap_or("onbekend")
        .to_string()
}

/// Compute the monitor's summary from cases as the Transferpunt holds them (section → form JSON, as the demo reads
/// them). A case counts in the gemeente the Transferpunt chose, else the uitstroomgemeente asked for, else its
/// herkomstgemeente.
pub fn monitor(cases: &[BTreeMap<String, Value>]) -> Monitor {
    let mut m = Monitor::default();
    for case in cases {
        let gemeente = text(case, "beoordeling", "gekozen_uitstroomgemeente")
            .or_else(|| text(case, "vervolg_wonen", "uitstroomgemeente"))
            .or_else(|| text(case, "registratie", "herkomstgemeente"))
            .unwrap_or("onbekend")
            .to_string();
        if case.contains_key("bemiddelingsverzoek") {
            let y = year(text(case, "bemiddelingsverzoek", "datum_verzoek"));
            m.rows
                .entry((y, gemeente.clone()))
                .or_default()
                .bemiddelingsverzoeken += 1;
        }
        if case.contains_key("plaatsing") {
            let y = year(text(case, "plaatsing", "datum_mutatie"));
            let g = text(case, "plaatsing", "definitieve_uitstroomgemeente")
                .unwrap_or(&gemeente)
                .to_string();
            let row = m.rows.entry((y, g)).or_default();
            row.plaatsingen += 1;
            match text(case, "plaatsing", "soort_huurcontract") {
                Some("drie_partijen") => row.drie_partijen += 1,
                Some("eigen_naam") => row.eigen_naam += 1,
                _ => {}
            }
        }
        for (section, form) in case {
            let Some(corporatie) = section.strip_prefix("reactie/") else {
                continue;
            };
            if form.get("besluit").and_then(Value::as_str) == Some("geweigerd") {
                let y = year(form.get("datum_besluit").and_then(Value::as_str));
                let reden = form
                    .get("reden_weigering")
                    .and_then(Value::as_str)
                    .unwrap_or("onbekend")
                    .to_string();
                m.rows
                    .entry((y.clone(), gemeente.clone()))
                    .or_default()
                    .weigeringen += 1;
                *m.weigeringen
                    .entry((y, gemeente.clone(), corporatie.to_string(), reden))
                    .or_default() += 1;
            }
            m.aanbiedingen_geweigerd +=
                form.get("aanbiedingen")
                    .and_then(Value::as_array)
                    .map_or(0, |offers| {
                        offers
                            .iter()
                            .filter(|o| {
                                o.get("reactie_client").and_then(Value::as_str) == Some("geweigerd")
                            })
                            .count() as u32
                    });
        }
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    fn case(sections: &[(&str, Value)]) -> BTreeMap<String, Value> {
        sections
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }

    #[test]
    fn monitor_counts_per_year_and_gemeente() {
        let a = case(&[
            (
                "bemiddelingsverzoek",
                json!({"datum_verzoek": "2025-10-01"}),
            ),
            (
                "beoordeling",
                json!({"gekozen_uitstroomgemeente": "GM0080"}),
            ),
            (
                "reactie/corporatie:accolade",
                json!({"besluit": "geweigerd", "datum_besluit": "2025-10-28", "reden_weigering": "huurachterstand"}),
            ),
            (
                "reactie/corporatie:elkien",
                json!({"besluit": "geaccepteerd", "aanbiedingen": [{"reactie_client": "geweigerd"}, {"reactie_client": "geaccepteerd"}]}),
            ),
            (
                "plaatsing",
                json!({"datum_mutatie": "2025-11-24", "definitieve_uitstroomgemeente": "GM0080", "soort_huurcontract": "drie_partijen"}),
            ),
        ]);
        let b = case(&[
            ("registratie", json!({"herkomstgemeente": "GM0074"})),
            (
                "bemiddelingsverzoek",
                json!({"datum_verzoek": "2026-03-10"}),
            ),
        ]);
        let m = monitor(&[a, b, BTreeMap::new()]);
        assert_eq!(
            m.rows[&("2025".into(), "GM0080".into())],
            MonitorRow {
                bemiddelingsverzoeken: 1,
                plaatsingen: 1,
                weigeringen: 1,
                drie_partijen: 1,
                eigen_naam: 0
            }
        );
        assert_eq!(
            m.rows[&("2026".into(), "GM0074".into())].bemiddelingsverzoeken,
            1
        );
        assert_eq!(m.rows.len(), 2);
        assert_eq!(
            m.weigeringen[&(
                "2025".into(),
                "GM0080".into(),
                "corporatie:accolade".into(),
                "huurachterstand".into()
            )],
            1
        );
        assert_eq!(m.aanbiedingen_geweigerd, 1);
    }

    #[test]
    fn fake_bsns_pass_the_elfproef_and_differ() {
        let (a, b) = (fake_bsn(1), fake_bsn(2));
        assert_ne!(a, b);
        assert!(policies::bsn::Bsn::parse(&a).is_ok());
    }
}
