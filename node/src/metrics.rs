//! Prometheus metrics of a node, served at `GET /metrics` on the local API in the text exposition format
//! (version 0.0.4, written by hand: no extra crate).
//!
//! The metrics hold no personal data: partner ids, counts and durations only. What they show:
//!
//! | metric | type | meaning |
//! |---|---|---|
//! | `weerthuis_info{partner,version}` | gauge | always 1; who this node is |
//! | `weerthuis_uptime_seconds` | gauge | since the metrics registry was made (the process started) |
//! | `weerthuis_database_up` | gauge | 1 when the database answered the count of cases |
//! | `weerthuis_cases_stored` | gauge | cases in the database (own and received) |
//! | `weerthuis_federation_running` | gauge | 1 when the federation side runs |
//! | `weerthuis_peer_connected{peer}` | gauge | 1 when a QUIC connection to the peer is up, per partner in the directory; 0 is normal for a partner other than the Transferpunt that no case names now (connected on demand, closed when idle) |
//! | `weerthuis_peers_connected` | gauge | how many peers are connected |
//! | `weerthuis_sync_messages_sent_total` | counter | sync messages sent |
//! | `weerthuis_sync_messages_accepted_total` | counter | sync messages received that passed every check and were stored |
//! | `weerthuis_sync_messages_refused_total` | counter | messages and handshakes refused: security events |
//! | `weerthuis_sync_bytes_sent_total` | counter | bytes of sync payload sent |
//! | `weerthuis_sync_seconds_since_last_message{peer}` | gauge | sync lag, simply: how long ago the peer's last message arrived |
//! | `weerthuis_directory_version` | gauge | the version of the signed federation directory in force |
//! | `weerthuis_certificate_not_after_timestamp_seconds{certificate}` | gauge | when this node's certificate (`node`) and the federation CA's (`ca`) expire, Unix time |
//! | `weerthuis_certificate_expires_in_seconds{certificate}` | gauge | seconds until then; alert below 30 days (2592000), when the node also logs a warning |
//!
//! The last one grows while a federation is quiet (nodes only talk when something changes), so alert on it together
//! with `weerthuis_peer_connected` and with how long ago this node itself changed something, not on its own. Alert on
//! a lost connection only for the Transferpunt (and, at the Transferpunt, for every partner): those pairs stay
//! connected; the others connect while a case names them (`sync::reach`).
//!
//! The [`Registry`] is shared (in an `Arc`) by the API, which renders it, and whoever starts the federation, which
//! attaches a [`Probe`] to it.

use std::fmt::Write as _;
use std::sync::RwLock;
use std::time::{Duration, Instant};

use crate::service::Node;
use crate::sync::{Probe, Reading};

/// The `Content-Type` of the text exposition format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// What `GET /metrics` reports: the node's own state, and the federation once one is attached.
#[derive(Debug)]
pub struct Registry {
    federation: RwLock<Option<Probe>>,
    started: Instant,
}

impl Default for Registry {
    fn default() -> Self {
        Registry::new()
    }
}

impl Registry {
    /// A registry without a federation (the API alone); uptime counts from now.
    pub fn new() -> Registry {
        Registry {
            federation: RwLock::new(None),
            started: Instant::now(),
        }
    }

    /// Report this federation's connections and counters from now on (replacing any attached before).
    pub fn attach_federation(&self, probe: Probe) {
        *self.federation.write().expect("metrics lock") = Some(probe);
    }

    /// The metrics now, in the text exposition format.
    pub async fn render(&self, node: &Node) -> String {
        let cases = match node.store().list_cases_count().await {
            Ok(n) => Some(n),
            Err(e) => {
                tracing::warn!(error = %e, "metrics: the database did not answer");
                None
            }
        };
        let reading = self
            .federation
            .read()
            .expect("metrics lock")
            .as_ref()
            .and_then(Probe::read);
        render(&Snapshot {
            partner: node.partner().to_string(),
            uptime: self.started.elapsed(),
            cases,
            federation: reading,
        })
    }
}

/// Everything one rendering of the metrics reports.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// The node's partner id.
    pub partner: String,
    /// Since the registry was made.
    pub uptime: Duration,
    /// Cases stored; `None` when the database did not answer.
    pub cases: Option<u64>,
    /// The federation, if one runs.
    pub federation: Option<Reading>,
}

/// Escape a label value: backslash, double quote and newline.
fn label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn family(out: &mut String, name: &str, kind: &str, help: &str) {
    let _ = writeln!(out, "# HELP {name} {help}");
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn sample(out: &mut String, name: &str, value: impl std::fmt::Display) {
    let _ = writeln!(out, "{name} {value}");
}

/// Render a snapshot in the text exposition format.
///
/// Node families first, then the federation's; the federation families are left out altogether while
/// none runs. Keep this order: it is part of the output the tests compare.
pub fn render(s: &Snapshot) -> String {
    let mut out = String::new();
    render_node(&mut out, s);
    if let Some(f) = &s.federation {
        render_peers(&mut out, f);
        render_sync_counters(&mut out, f);
        render_silence(&mut out, f);
        render_directory(&mut out, f);
    }
    out
}

/// The directory in force and when the certificates expire.
fn render_directory(out: &mut String, f: &Reading) {
    family(
        out,
        "weerthuis_directory_version",
        "gauge",
        "The version of the signed federation directory in force.",
    );
    sample(out, "weerthuis_directory_version", f.directory_version);
    for (name, help, value) in [
        (
            "weerthuis_certificate_not_after_timestamp_seconds",
            "When the certificate expires (Unix time): node = this node's, ca = the federation CA's.",
            (|c: &crate::sync::CertificateReading| c.not_after) as fn(&_) -> i64,
        ),
        (
            "weerthuis_certificate_expires_in_seconds",
            "Seconds until the certificate expires (negative: expired); the node warns from 30 days before.",
            |c: &crate::sync::CertificateReading| c.expires_in,
        ),
    ] {
        family(out, name, "gauge", help);
        for c in &f.certificates {
            let _ = writeln!(
                out,
                "{name}{{certificate=\"{}\"}} {}",
                label(c.certificate),
                value(c)
            );
        }
    }
}

/// The node's own families: identity, uptime, database, stored cases, and whether a federation runs.
fn render_node(out: &mut String, s: &Snapshot) {
    family(
        out,
        "weerthuis_info",
        "gauge",
        "The node: its partner id and program version (always 1).",
    );
    let _ = writeln!(
        out,
        "weerthuis_info{{partner=\"{}\",version=\"{}\"}} 1",
        label(&s.partner),
        env!("CARGO_PKG_VERSION")
    );
    family(
        out,
        "weerthuis_uptime_seconds",
        "gauge",
        "Seconds since the node started.",
    );
    sample(
        out,
        "weerthuis_uptime_seconds",
        format!("{:.3}", s.uptime.as_secs_f64()),
    );
    family(
        out,
        "weerthuis_database_up",
        "gauge",
        "Whether the database answered (1) or not (0).",
    );
    sample(out, "weerthuis_database_up", u8::from(s.cases.is_some()));
    if let Some(n) = s.cases {
        family(
            out,
            "weerthuis_cases_stored",
            "gauge",
            "Cases stored on this node, own and received.",
        );
        sample(out, "weerthuis_cases_stored", n);
    }
    family(
        out,
        "weerthuis_federation_running",
        "gauge",
        "Whether the federation side runs (1) or not (0).",
    );
    sample(
        out,
        "weerthuis_federation_running",
        u8::from(s.federation.is_some()),
    );
}

/// Per-peer connection state, and how many peers are connected now.
fn render_peers(out: &mut String, f: &Reading) {
    family(
        out,
        "weerthuis_peer_connected",
        "gauge",
        "Whether a connection to the peer is up (1) or not (0), per partner in the federation directory.",
    );
    for p in &f.peers {
        let _ = writeln!(
            out,
            "weerthuis_peer_connected{{peer=\"{}\"}} {}",
            label(&p.peer.to_string()),
            u8::from(p.connected)
        );
    }
    family(
        out,
        "weerthuis_peers_connected",
        "gauge",
        "Peers connected now.",
    );
    sample(
        out,
        "weerthuis_peers_connected",
        f.peers.iter().filter(|p| p.connected).count(),
    );
}

/// The federation's running totals of sync traffic.
fn render_sync_counters(out: &mut String, f: &Reading) {
    for (name, help, value) in [
        (
            "weerthuis_sync_messages_sent_total",
            "Sync messages sent.",
            f.sent,
        ),
        (
            "weerthuis_sync_messages_accepted_total",
            "Sync messages received that passed every check and were stored.",
            f.accepted,
        ),
        (
            "weerthuis_sync_messages_refused_total",
            "Messages and handshakes refused: security events (see the log and the audit log).",
            f.refused,
        ),
        (
            "weerthuis_sync_bytes_sent_total",
            "Bytes of sync payload sent.",
            f.bytes_sent,
        ),
    ] {
        family(out, name, "counter", help);
        sample(out, name, value);
    }
}

/// Seconds since each peer was last heard from; peers not heard from since the start get no sample
/// (rather than a made-up age).
fn render_silence(out: &mut String, f: &Reading) {
    family(
        out,
        "weerthuis_sync_seconds_since_last_message",
        "gauge",
        "Seconds since the last message from the peer arrived (peers heard from since the start only).",
    );
    for p in &f.peers {
        if let Some(d) = p.since_last_message {
            let _ = writeln!(
                out,
                "weerthuis_sync_seconds_since_last_message{{peer=\"{}\"}} {:.3}",
                label(&p.peer.to_string()),
                d.as_secs_f64()
            );
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sync::PeerReading;

    #[test]
    fn renders_every_family_with_help_type_and_escaped_labels() {
        let text = render(&Snapshot {
            partner: "gemeente:GM0080".into(),
            uptime: Duration::from_millis(1500),
            cases: Some(3),
            federation: Some(Reading {
                peers: vec![
                    PeerReading {
                        peer: "corporatie:elkien".parse().unwrap(),
                        connected: true,
                        since_last_message: Some(Duration::from_millis(250)),
                    },
                    PeerReading {
                        peer: "transferpunt:sdf".parse().unwrap(),
                        connected: false,
                        since_last_message: None,
                    },
                ],
                sent: 10,
                accepted: 7,
                refused: 1,
                bytes_sent: 2048,
                directory_version: 4,
                certificates: vec![crate::sync::CertificateReading {
                    certificate: "node",
                    not_after: 1_800_000_000,
                    expires_in: 86_400,
                }],
            }),
        });
        for line in [
            "weerthuis_info{partner=\"gemeente:GM0080\",version=\"0.1.0\"} 1",
            "weerthuis_uptime_seconds 1.500",
            "weerthuis_cases_stored 3",
            "weerthuis_federation_running 1",
            "weerthuis_peer_connected{peer=\"corporatie:elkien\"} 1",
            "weerthuis_peer_connected{peer=\"transferpunt:sdf\"} 0",
            "weerthuis_peers_connected 1",
            "weerthuis_sync_messages_sent_total 10",
            "weerthuis_sync_messages_accepted_total 7",
            "weerthuis_sync_messages_refused_total 1",
            "weerthuis_sync_bytes_sent_total 2048",
            "weerthuis_sync_seconds_since_last_message{peer=\"corporatie:elkien\"} 0.250",
            "# TYPE weerthuis_sync_messages_refused_total counter",
            "weerthuis_directory_version 4",
            "weerthuis_certificate_not_after_timestamp_seconds{certificate=\"node\"} 1800000000",
            "weerthuis_certificate_expires_in_seconds{certificate=\"node\"} 86400",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in\n{text}");
        }
        assert!(!text.contains("seconds_since_last_message{peer=\"transferpunt:sdf\"}"));
        // Every sample belongs to a family declared before it.
        let mut declared = Vec::new();
        for l in text.lines() {
            if let Some(rest) = l.strip_prefix("# TYPE ") {
                declared.push(rest.split(' ').next().unwrap().to_string());
            } else if !l.starts_with('#') {
                let name = l.split(['{', ' ']).next().unwrap();
                assert_eq!(declared.last().map(String::as_str), Some(name), "{l}");
            }
        }
        assert_eq!(label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
    }

    #[test]
    fn without_federation_or_database() {
        let text = render(&Snapshot {
            partner: "corporatie:elkien".into(),
            ..Snapshot::default()
        });
        assert!(text.contains("weerthuis_database_up 0\n"));
        assert!(text.contains("weerthuis_federation_running 0\n"));
        assert!(!text.contains("weerthuis_cases_stored"));
        assert!(!text.contains("weerthuis_peer_connected"));
    }
}
