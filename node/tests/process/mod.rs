//! Shared by the tests that run the `weerthuis` binary as an operator would: the command, free ports, a running
//! process killed when dropped, HTTP calls to a node's API, a node's data directory with a [federation] section.

#![allow(dead_code, unreachable_pub)]

use std::net::{Ipv4Addr, TcpListener, UdpSocket};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::Duration;

use serde_json::Value;

pub const BIN: &str = env!("CARGO_BIN_EXE_weerthuis");

pub fn weerthuis(args: &[&str]) -> String {
    let out = Command::new(BIN)
        .args(args)
        .env_remove("WEERTHUIS_DIR")
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "weerthuis {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

pub fn free_tcp() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn free_udp() -> u16 {
    UdpSocket::bind((Ipv4Addr::LOCALHOST, 0))
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub struct Running(pub Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

pub fn agent() -> ureq::Agent {
    ureq::Agent::config_builder()
        .http_status_as_error(false)
        .proxy(None)
        .timeout_global(Some(Duration::from_secs(10)))
        .build()
        .into()
}

/// An API call; the answer's status (0: no answer) and JSON body (`Null` when it is not JSON).
pub fn call(method: &str, url: &str, token: &str, body: Option<&Value>) -> (u16, Value) {
    call_host(method, url, None, token, body)
}

/// [`call`] with the `Host` header set to `host` (a tenant of `weerthuis host`) instead of the URL's.
pub fn call_host(
    method: &str,
    url: &str,
    host: Option<&str>,
    token: &str,
    body: Option<&Value>,
) -> (u16, Value) {
    let a = agent();
    let auth = format!("Bearer {token}");
    let res = match (method, body) {
        ("POST", _) => with_host(a.post(url), host)
            .header("Authorization", &auth)
            .send_empty(),
        ("PUT", Some(b)) => with_host(a.put(url), host)
            .header("Authorization", &auth)
            .content_type("application/json")
            .send(b.to_string()),
        _ => with_host(a.get(url), host)
            .header("Authorization", &auth)
            .call(),
    };
    match res {
        Ok(mut r) => {
            let status = r.status().as_u16();
            let text = r.body_mut().read_to_string().unwrap_or_default();
            (status, serde_json::from_str(&text).unwrap_or(Value::Null))
        }
        Err(_) => (0, Value::Null),
    }
}

/// Write `directory` (JSON) and sign it with the CA in `root/ca` into `root/directory.signed.json`, the file
/// [`join_federation`] hands every node.
pub fn sign_directory(root: &Path, directory: &Value) {
    let unsigned = root.join("directory.json");
    std::fs::write(&unsigned, directory.to_string()).unwrap();
    weerthuis(&[
        "directory",
        "sign",
        "--ca",
        root.join("ca").to_str().unwrap(),
        unsigned.to_str().unwrap(),
        "--out",
        root.join("directory.signed.json").to_str().unwrap(),
    ]);
}

/// The bearer token of a new API user named `name` of the node in `dir` (`weerthuis user add`).
pub fn token(dir: &Path, name: &str) -> String {
    weerthuis(&[
        "user",
        "add",
        "--dir",
        dir.to_str().unwrap(),
        "--name",
        name,
    ])
    .lines()
    .last()
    .unwrap()
    .to_string()
}

fn with_host<B>(r: ureq::RequestBuilder<B>, host: Option<&str>) -> ureq::RequestBuilder<B> {
    match host {
        Some(h) => r.header("Host", h),
        None => r,
    }
}

/// A node's data directory `root/name` for `partner`: `init`, a certificate from the CA in `root/ca`, the signed
/// directory `root/directory.signed.json`, and a [federation] section listening on `udp`.
pub fn setup_node(root: &Path, name: &str, partner: &str, udp: u16) -> std::path::PathBuf {
    let dir = root.join(name);
    weerthuis(&["init", "--dir", dir.to_str().unwrap(), "--partner", partner]);
    join_federation(root, &dir, partner, udp);
    dir
}

/// Give the node in `dir` a certificate from the CA in `root/ca`, the signed directory
/// `root/directory.signed.json`, and a [federation] section listening on `udp` (0: any port, for a node that
/// only dials out).
pub fn join_federation(root: &Path, dir: &Path, partner: &str, udp: u16) {
    let d = dir.to_str().unwrap();
    let ca = root.join("ca");
    weerthuis(&[
        "ca",
        "issue",
        "--ca",
        ca.to_str().unwrap(),
        "--partner",
        partner,
        "--out",
        d,
    ]);
    let signed = root.join("directory.signed.json");
    std::fs::copy(&signed, dir.join("directory.json")).unwrap();
    let mut cfg = std::fs::read_to_string(dir.join("weerthuis.toml")).unwrap();
    cfg.push_str(&format!(
        "\n[federation]\nlisten = \"127.0.0.1:{udp}\"\ncertificate = \"node.pem\"\nkey = \"node.key\"\n\
         ca = \"federation-ca.pem\"\ndirectory = \"directory.json\"\n"
    ));
    std::fs::write(dir.join("weerthuis.toml"), cfg).unwrap();
}

pub fn start(dir: &Path, api: u16) -> Running {
    let log = std::fs::File::create(dir.join("node.log")).unwrap();
    Running(
        Command::new(BIN)
            .args(["run", "--dir", dir.to_str().unwrap()])
            .env("WEERTHUIS_API_LISTEN", format!("127.0.0.1:{api}"))
            .env_remove("WEERTHUIS_DIR")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap(),
    )
}

pub fn wait_until(what: &str, mut f: impl FnMut() -> bool) {
    for _ in 0..600 {
        if f() {
            return;
        }
        thread::sleep(Duration::from_millis(50));
    }
    panic!("timed out waiting until {what}");
}
