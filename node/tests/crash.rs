//! The crash test of issue 3: the real `weerthuis run` process is killed with SIGKILL while writes are in flight,
//! then restarted on the same data directory. After each restart: the database opens, every acknowledged write is
//! there with exactly the content that was acknowledged, `weerthuis audit verify` passes, and the node accepts new
//! writes.
//!
//! Three kill points, one after the other on the same data directory:
//! 1. while cases are being created and their registratie written (a young database);
//! 2. while the same few registraties are updated over and over, past the compaction threshold
//!    (`store::DEFAULT_COMPACT_AFTER`), so kills can land in or around a compaction;
//! 3. during a mix of new cases and updates on a database that already went through two crashes.
//!
//! Nothing here relies on timing: the kill comes after a counted number of acknowledged writes, and at that moment
//! one request is guaranteed to be in flight (written in full on its own connection, its answer never read), while
//! the writer threads keep sending. A write whose answer was not read may or may not have been stored; the test
//! accepts either state for it, and nothing else.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::net::{Ipv4Addr, SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use serde_json::{Value as Json, json};

const BIN: &str = env!("CARGO_BIN_EXE_weerthuis");
const PARTNER: &str = "zorgaanbieder:kwadrant";

/// How often to poll `/api/v1/health` before giving up on a start, and the pause between two polls.
const HEALTH_POLLS: u32 = 600;
const HEALTH_PAUSE: Duration = Duration::from_millis(50);
/// How often to try a fresh port when the one picked was taken before the node bound it.
const PORT_ATTEMPTS: u32 = 5;

/// The registratie every write starts from (its `betrokken_zorgaanbieder` is this node).
fn base_registratie() -> Json {
    policies::examples::registratie(
        &policies::examples::Client::new("Jansen, P.", 1),
        PARTNER,
        true,
        "maatschappelijke_opvang",
        "GM0080",
        "2025-09-01",
    )
}

/// A registratie that differs from every other one the test writes.
fn registratie(marker: &str) -> Json {
    let mut reg = base_registratie();
    reg["reden_dakloosheid"] = json!(format!("crashtest {marker}"));
    reg
}

/// Run a `weerthuis` command to completion; panic with its output unless it succeeds.
fn weerthuis(args: &[&str]) -> String {
    let out = Command::new(BIN)
        .args(args)
        .env("WEERTHUIS_LOG", "warn")
        .env_remove("WEERTHUIS_DIR")
        .stdin(Stdio::null())
        .output()
        .expect("run weerthuis");
    assert!(
        out.status.success(),
        "weerthuis {args:?} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

/// A port nobody listens on right now. Another process may take it before the node binds it; [`NodeProcess::start`]
/// then tries again with another.
fn free_port() -> u16 {
    let l = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind 127.0.0.1:0");
    l.local_addr().expect("local addr").port()
}

fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        // Loopback only: never through a proxy from the environment.
        .proxy(None)
        .timeout_global(Some(Duration::from_secs(30)))
        .build()
        .into()
}

/// The running `weerthuis run` process. Killed when dropped, so a failing test leaves nothing behind.
struct NodeProcess {
    child: Child,
    addr: SocketAddr,
    log: PathBuf,
}

impl NodeProcess {
    /// Start the node on a free port and wait until its health check answers.
    fn start(dir: &Path, generation: u32) -> NodeProcess {
        let log = dir.join(format!("node-{generation}.log"));
        for attempt in 0..PORT_ATTEMPTS {
            let addr = SocketAddr::from((Ipv4Addr::LOCALHOST, free_port()));
            let log_file = std::fs::File::create(&log).expect("log file");
            let child = Command::new(BIN)
                .args(["run", "--dir"])
                .arg(dir)
                .env("WEERTHUIS_API_LISTEN", addr.to_string())
                .env("WEERTHUIS_LOG", "warn")
                .env_remove("WEERTHUIS_DIR")
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(log_file)
                .spawn()
                .expect("spawn weerthuis run");
            let mut node = NodeProcess {
                child,
                addr,
                log: log.clone(),
            };
            match node.wait_healthy() {
                Ok(()) => return node,
                Err(exited) => {
                    let text = std::fs::read_to_string(&log).unwrap_or_default();
                    assert!(
                        text.contains("in use"),
                        "weerthuis run exited ({exited}) before answering:\n{text}"
                    );
                    eprintln!(
                        "port {} was taken (attempt {attempt}); trying another",
                        addr
                    );
                }
            }
        }
        panic!("no free port after {PORT_ATTEMPTS} attempts");
    }

    /// Poll the health check a bounded number of times. `Err` when the process exited first.
    fn wait_healthy(&mut self) -> Result<(), String> {
        let agent = agent();
        let url = format!("http://{}/api/v1/health", self.addr);
        for _ in 0..HEALTH_POLLS {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return Err(status.to_string());
            }
            if let Ok(mut res) = agent.get(&url).call()
                && res.status() == 200
            {
                let body: Json =
                    serde_json::from_str(&res.body_mut().read_to_string().expect("body"))
                        .expect("health JSON");
                assert_eq!(body["status"], "ok", "health: {body}");
                assert_eq!(body["partner"], PARTNER, "another process answers: {body}");
                return Ok(());
            }
            thread::sleep(HEALTH_PAUSE);
        }
        panic!(
            "the node did not answer {url} after {HEALTH_POLLS} polls; its log:\n{}",
            std::fs::read_to_string(&self.log).unwrap_or_default()
        );
    }

    fn base(&self) -> String {
        format!("http://{}/api/v1", self.addr)
    }

    /// SIGKILL: no shutdown handler runs, no connection is closed cleanly, nothing is flushed.
    fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("reap");
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What the test knows about one case's registratie.
#[derive(Debug, Default, Clone)]
struct CaseState {
    /// The last registratie acknowledged (200), or the one found stored after a restart.
    acked: Option<Json>,
    /// A write sent after it whose answer was never read: it may or may not have been stored.
    pending: Option<Json>,
}

/// Every acknowledged write, by case id. A case is only entered here once its creation was acknowledged (201).
#[derive(Debug, Default)]
struct Ledger {
    cases: Mutex<BTreeMap<String, CaseState>>,
    /// Cases created (201) whose id the API then refuses in every URL (see [`refused_in_urls`]); checked after a
    /// restart with `weerthuis case show` instead.
    unreachable: Mutex<Vec<String>>,
    acks: AtomicUsize,
}

impl Ledger {
    fn case_created(&self, id: &str) {
        self.cases
            .lock()
            .unwrap()
            .insert(id.to_string(), CaseState::default());
        self.acks.fetch_add(1, Ordering::SeqCst);
    }

    fn sending(&self, id: &str, form: &Json) {
        self.cases
            .lock()
            .unwrap()
            .get_mut(id)
            .expect("known case")
            .pending = Some(form.clone());
    }

    fn acknowledged(&self, id: &str, form: &Json) {
        let mut cases = self.cases.lock().unwrap();
        let state = cases.get_mut(id).expect("known case");
        state.acked = Some(form.clone());
        state.pending = None;
        drop(cases);
        self.acks.fetch_add(1, Ordering::SeqCst);
    }

    fn acks(&self) -> usize {
        self.acks.load(Ordering::SeqCst)
    }
}

/// Whether the API's "no BSN in a URL" guard refuses every URL holding this case id. A random UUID's first group
/// is 8 hex digits; about 1 in 480 times they are all decimal and pass the elfproef, and `no_bsn_in_url`
/// (node/src/api/mod.rs) then answers 400 to every request about that case. That bug has its own test below
/// ([`a_case_whose_id_looks_like_a_bsn_is_reachable`]); this test steps around such cases instead of failing at
/// random on them, and checks they survive through the CLI.
fn refused_in_urls(id: &str) -> bool {
    id.split(|c: char| !c.is_ascii_alphanumeric())
        .any(|part| (8..=9).contains(&part.len()) && policies::bsn::Bsn::parse(part).is_ok())
}

/// A client of one running node, with one user's token.
struct Client {
    agent: ureq::Agent,
    base: String,
    auth: String,
}

/// The connection failed: the node went away. (An answer other than success fails the test instead.)
#[derive(Debug)]
struct Gone(String);

impl Client {
    fn new(node: &NodeProcess, token: &str) -> Client {
        Client {
            agent: agent(),
            base: node.base(),
            auth: format!("Bearer {token}"),
        }
    }

    /// Create a case the API can be asked about: a case whose id the API refuses in URLs is set aside (it was
    /// created all the same) and another is created.
    fn create_usable_case(&self, ledger: &Ledger) -> Result<String, Gone> {
        loop {
            let id = self.create_case()?;
            if !refused_in_urls(&id) {
                ledger.case_created(&id);
                return Ok(id);
            }
            eprintln!(
                "case {id}: the API refuses its id in URLs (BSN look-alike); setting it aside"
            );
            ledger.unreachable.lock().unwrap().push(id);
            ledger.acks.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn create_case(&self) -> Result<String, Gone> {
        let mut res = self
            .agent
            .post(format!("{}/casussen", self.base))
            .header("Authorization", &self.auth)
            .send_empty()
            .map_err(|e| Gone(e.to_string()))?;
        let status = res.status().as_u16();
        let body = res
            .body_mut()
            .read_to_string()
            .map_err(|e| Gone(e.to_string()))?;
        // An answer other than success is a bug, not the crash: fail the test.
        assert_eq!(status, 201, "POST casussen: {body}");
        let body: Json = serde_json::from_str(&body).expect("case JSON");
        Ok(body["id"].as_str().expect("case id").to_string())
    }

    /// PUT a registratie; `Ok` only once the 200 and its body have been read.
    fn put_registratie(&self, id: &str, form: &Json) -> Result<(), Gone> {
        let mut res = self
            .agent
            .put(format!(
                "{}/casussen/{id}/documenten/registratie",
                self.base
            ))
            .header("Authorization", &self.auth)
            .content_type("application/json")
            .send(form.to_string())
            .map_err(|e| Gone(e.to_string()))?;
        let status = res.status().as_u16();
        let body = res
            .body_mut()
            .read_to_string()
            .map_err(|e| Gone(e.to_string()))?;
        assert_eq!(status, 200, "PUT registratie of {id}: {body}");
        let view: Json = serde_json::from_str(&body).expect("form JSON");
        assert_eq!(
            &view["velden"], form,
            "the acknowledged form is not what was sent"
        );
        Ok(())
    }

    /// GET a case's registratie: `None` when the node has none.
    fn get_registratie(&self, id: &str) -> Option<Json> {
        let mut res = self
            .agent
            .get(format!(
                "{}/casussen/{id}/documenten/registratie",
                self.base
            ))
            .header("Authorization", &self.auth)
            .call()
            .expect("GET registratie");
        let status = res.status().as_u16();
        let body = res.body_mut().read_to_string().expect("body");
        match status {
            200 => {
                let view: Json = serde_json::from_str(&body).expect("form JSON");
                Some(view["velden"].clone())
            }
            404 => None,
            _ => panic!("GET registratie of {id}: {status} {body}"),
        }
    }

    fn case_status(&self, id: &str) -> u16 {
        let mut res = self
            .agent
            .get(format!("{}/casussen/{id}", self.base))
            .header("Authorization", &self.auth)
            .call()
            .expect("GET casus");
        let _ = res.body_mut().read_to_string();
        res.status().as_u16()
    }
}

/// What a writer thread does.
#[derive(Debug, Clone)]
enum Work {
    /// Create cases and write their registratie.
    NewCases,
    /// Update the registratie of these cases, round robin.
    Update(Vec<String>),
    /// Alternate: a new case, then an update of one of these.
    Mixed(Vec<String>),
}

fn writer(
    client: Client,
    ledger: Arc<Ledger>,
    stop: Arc<AtomicBool>,
    work: Work,
    name: String,
) -> usize {
    let mut n = 0usize;
    let result = (|| -> Result<(), Gone> {
        while !stop.load(Ordering::SeqCst) {
            n += 1;
            let marker = format!("{name} #{n}");
            let new_case = |n: usize| -> Result<(), Gone> {
                let id = client.create_usable_case(&ledger)?;
                let form = registratie(&format!("{marker} new {n}"));
                ledger.sending(&id, &form);
                client.put_registratie(&id, &form)?;
                ledger.acknowledged(&id, &form);
                Ok(())
            };
            let update = |ids: &[String]| -> Result<(), Gone> {
                let id = &ids[n % ids.len()];
                let form = registratie(&format!("{marker} update"));
                ledger.sending(id, &form);
                client.put_registratie(id, &form)?;
                ledger.acknowledged(id, &form);
                Ok(())
            };
            match &work {
                Work::NewCases => new_case(n)?,
                Work::Update(ids) => update(ids)?,
                Work::Mixed(_) if n.is_multiple_of(2) => new_case(n)?,
                Work::Mixed(ids) => update(ids)?,
            }
        }
        Ok(())
    })();
    match result {
        Ok(()) => 0,
        // Interrupted by the kill: the last request's answer never came.
        Err(Gone(why)) => {
            if !stop.load(Ordering::SeqCst) {
                eprintln!("{name}: connection failed (the kill): {why}");
            }
            1
        }
    }
}

/// One request written in full on its own connection, whose answer is never read: in flight at the kill.
fn send_unanswered(node: &NodeProcess, token: &str, id: &str, form: &Json) -> TcpStream {
    let body = form.to_string();
    let mut s = TcpStream::connect(node.addr).expect("connect");
    write!(
        s,
        "PUT /api/v1/casussen/{id}/documenten/registratie HTTP/1.1\r\nHost: {}\r\nAuthorization: Bearer {token}\r\n\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        node.addr,
        body.len()
    )
    .expect("send");
    s.flush().expect("flush");
    s
}

/// Run `work` on `threads` writers until `after` more writes are acknowledged, then kill the node with a request
/// in flight. Returns how many writers saw the connection fail (mid-request, or on their next request).
fn write_then_kill(
    node: NodeProcess,
    token: &str,
    ledger: &Arc<Ledger>,
    works: Vec<Work>,
    after: usize,
    inflight_case: &str,
) -> usize {
    let stop = Arc::new(AtomicBool::new(false));
    let target = ledger.acks() + after;
    let handles: Vec<_> = works
        .into_iter()
        .enumerate()
        .map(|(i, work)| {
            let (client, ledger, stop) = (Client::new(&node, token), ledger.clone(), stop.clone());
            thread::spawn(move || writer(client, ledger, stop, work, format!("writer {i}")))
        })
        .collect();
    // Wait for the acknowledgements, bounded: the writers are running, so this is progress, not a timer.
    let deadline = Instant::now() + Duration::from_secs(120);
    while ledger.acks() < target {
        assert!(
            handles.iter().any(|h| !h.is_finished()),
            "every writer stopped before {target} acknowledged writes; node log:\n{}",
            std::fs::read_to_string(&node.log).unwrap_or_default()
        );
        assert!(
            Instant::now() < deadline,
            "only {} of {target} writes acknowledged",
            ledger.acks()
        );
        thread::sleep(Duration::from_millis(2));
    }
    let form = registratie(&format!("in flight at kill after {target}"));
    ledger.sending(inflight_case, &form);
    let _conn = send_unanswered(&node, token, inflight_case, &form);
    node.kill();
    stop.store(true, Ordering::SeqCst);
    handles
        .into_iter()
        .map(|h| h.join().expect("writer panicked"))
        .sum()
}

/// After a restart: every case whose creation was acknowledged exists, every registratie holds the last
/// acknowledged content or the one write after it that was in flight. What is found becomes the new baseline.
fn check_everything(client: &Client, ledger: &Ledger) -> (usize, usize) {
    let mut cases = ledger.cases.lock().unwrap();
    let (mut forms, mut inflight_stored) = (0, 0);
    for (id, state) in cases.iter_mut() {
        assert_eq!(
            client.case_status(id),
            200,
            "case {id} was acknowledged but is gone"
        );
        let found = client.get_registratie(id);
        let ok = found == state.acked
            || (state.pending.is_some() && found.as_ref() == state.pending.as_ref());
        assert!(
            ok,
            "case {id}: registratie after the crash is\n  {found:?}\nbut the last acknowledged write was\n  {:?}\n\
             (and the write in flight {:?})",
            state.acked, state.pending
        );
        if found.is_some() {
            forms += 1;
        }
        if state.pending.is_some() && found.is_some() && found != state.acked {
            inflight_stored += 1;
        }
        state.acked = found;
        state.pending = None;
    }
    (forms, inflight_stored)
}

#[test]
fn acknowledged_writes_survive_sigkill() {
    let started = Instant::now();
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("node");
    let dir_s = dir.to_str().expect("utf-8 path");
    weerthuis(&["init", "--dir", dir_s, "--partner", PARTNER]);
    let out = weerthuis(&["user", "add", "--dir", dir_s, "--name", "crashtest"]);
    let token = out.lines().last().expect("token line").trim().to_string();

    let ledger = Arc::new(Ledger::default());
    let mut node = NodeProcess::start(&dir, 0);

    // A case of the test's own, for the request that is in flight at each kill.
    let inflight_case = {
        let client = Client::new(&node, &token);
        let id = client.create_usable_case(&ledger).expect("create");
        let form = registratie("first");
        ledger.sending(&id, &form);
        client.put_registratie(&id, &form).expect("write");
        ledger.acknowledged(&id, &form);
        id
    };

    let compact_after = node::store::DEFAULT_COMPACT_AFTER as usize;
    for round in 1..=3u32 {
        let known: Vec<String> = {
            let cases = ledger.cases.lock().unwrap();
            cases
                .iter()
                .filter(|(id, s)| s.acked.is_some() && **id != inflight_case)
                .map(|(id, _)| id.clone())
                .collect()
        };
        let (works, after) = match round {
            1 => (vec![Work::NewCases, Work::NewCases, Work::NewCases], 30),
            // Two writers, each updating one case of its own: about `after / 2` changes per document, past the
            // compaction point. (A case is only ever written by one writer, so "the last acknowledged" is well
            // defined.)
            2 => (
                vec![
                    Work::Update(vec![known[0].clone()]),
                    Work::Update(vec![known[1].clone()]),
                ],
                compact_after * 2 + 20,
            ),
            _ => (
                vec![
                    Work::Mixed(known[2..4].to_vec()),
                    Work::Mixed(known[4..6].to_vec()),
                    Work::NewCases,
                ],
                40,
            ),
        };
        let cut = write_then_kill(node, &token, &ledger, works, after, &inflight_case);

        // The crashed database, before any node opens it again: the audit chain verifies.
        weerthuis(&["audit", "verify", "--dir", dir_s]);

        node = NodeProcess::start(&dir, round);
        let client = Client::new(&node, &token);
        let (forms, inflight_stored) = check_everything(&client, &ledger);
        for id in ledger.unreachable.lock().unwrap().iter() {
            weerthuis(&["case", "show", "--dir", dir_s, id]);
        }
        weerthuis(&["audit", "verify", "--dir", dir_s]);

        // It keeps accepting writes.
        let id = client
            .create_usable_case(&ledger)
            .expect("create after restart");
        let form = registratie(&format!("after restart {round}"));
        ledger.sending(&id, &form);
        client
            .put_registratie(&id, &form)
            .expect("write after restart");
        ledger.acknowledged(&id, &form);
        assert_eq!(client.get_registratie(&id), Some(form));

        eprintln!(
            "round {round}: killed after {} acknowledged writes ({cut} writers saw their connection fail); \
             after restart {} cases and {forms} registraties checked, {inflight_stored} in-flight write(s) found stored; \
             {:.1} s",
            ledger.acks(),
            ledger.cases.lock().unwrap().len(),
            started.elapsed().as_secs_f64()
        );
    }
    node.kill();
    weerthuis(&["audit", "verify", "--dir", dir_s]);
}

/// Regression: a case id is a random UUID, and when its first group happens to be 8 decimal digits passing the
/// elfproef (about 1 case in 480), `no_bsn_in_url` took it for a BSN and answered 400 to every request about that
/// case. Whole UUIDs are now skipped by the guard.
#[test]
fn a_case_whose_id_looks_like_a_bsn_is_reachable() {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dir = tmp.path().join("node");
    let dir_s = dir.to_str().expect("utf-8 path");
    weerthuis(&["init", "--dir", dir_s, "--partner", PARTNER]);
    let out = weerthuis(&["user", "add", "--dir", dir_s, "--name", "bsn-lookalike"]);
    let token = out.lines().last().expect("token line").trim().to_string();

    // 12345684 passes the elfproef (as 012345684); the id is what `CaseId::random` returns for these bytes.
    let mut bytes = [0u8; 16];
    bytes[..4].copy_from_slice(&[0x12, 0x34, 0x56, 0x84]);
    let id = node::store::CaseId::from_bytes(bytes);
    assert!(id.as_str().starts_with("12345684-"), "{id}");
    assert!(refused_in_urls(id.as_str()));
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let (_, node) = node::app::open(&dir).await.expect("open");
        node.store().create_case(&id).await.expect("create case");
        node.store().close().await;
    });

    let node = NodeProcess::start(&dir, 0);
    let client = Client::new(&node, &token);
    assert_eq!(client.case_status(id.as_str()), 200, "GET /casussen/{id}");
}
