//! The federation directory at a running federation (see `crate::directory` for the rules): applying a new
//! version without a restart, the dialler that follows it, taking in a stored version (`weerthuis directory
//! install` from another process), erasing what was received when this node finds itself removed, and the
//! certificate-expiry warning.

use std::collections::BTreeSet;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use policies::PartnerId;
use protocol::{Directory, SignedDirectory};
use tokio::task::JoinSet;
use tracing::Instrument as _;

use super::{Dial, Inner, corporaties, dial_loop, partner_of, reach};

/// How often the certificate-expiry warning is considered (and logged, while it applies).
const EXPIRY_CHECK_EVERY: Duration = Duration::from_secs(24 * 3600);

/// Put a directory in force now: the handshake admits exactly its partners and refuses its revoked keys, the
/// Transferpunt's round-robin takes its corporaties, and every session and the dialler are told (sessions whose
/// peer is refused now close — the Transferpunt's after handing the peer this directory —, new and moved partners
/// are dialled, removed ones no longer). A directory without a signature (a test harness) keeps the signed one
/// held before, which is still what the Transferpunt passes on.
pub(super) fn apply(inner: &Arc<Inner>, directory: Directory, signed: Option<SignedDirectory>) {
    let mut current = inner.directory.write().expect("directory lock");
    put(inner, &mut current, directory, signed);
}

/// [`apply`] only when `directory` is newer than the one in force (checked under the lock, so two sessions taking
/// the same version apply it once). Returns whether it was applied.
pub(super) fn apply_if_newer(
    inner: &Arc<Inner>,
    directory: Directory,
    signed: SignedDirectory,
) -> bool {
    let mut current = inner.directory.write().expect("directory lock");
    if directory.version <= current.version {
        return false;
    }
    put(inner, &mut current, directory, Some(signed));
    true
}

fn put(
    inner: &Arc<Inner>,
    current: &mut Directory,
    directory: Directory,
    signed: Option<SignedDirectory>,
) {
    inner.admitted.replace_all(
        directory.partners.iter().map(|p| p.id.clone()),
        directory.revoked.iter().map(|r| r.key.clone()),
    );
    inner.node.set_corporaties(corporaties(&directory));
    inner.named.clear();
    let me = inner.me.to_string();
    inner.node.set_vaste_contactpersonen(
        directory
            .partners
            .iter()
            .filter(|p| p.id.as_str() == me)
            .flat_map(|p| p.contacts.iter().map(|c| c.naam.clone()))
            .collect(),
    );
    inner.node.set_directory(directory.clone());
    let listed = directory.partners.iter().any(|p| p.id.as_str() == me);
    let was_removed = inner.removed.swap(!listed, Ordering::SeqCst);
    if !listed && !was_removed {
        tracing::error!(
            version = directory.version,
            "this node is not in the federation directory any more: it stops federating and erases what it received"
        );
    }
    let version = directory.version;
    let before = current.version;
    *current = directory;
    if signed.is_some() {
        *inner
            .signed_directory
            .write()
            .expect("signed directory lock") = signed;
    }
    tracing::info!(version, before, "federation directory in force");
    inner.directory_changed.send_replace(version);
}

/// The signed directory in force (or, under a harness's unsigned one, the last signed one): what the Transferpunt
/// passes on.
pub(super) fn signed(inner: &Inner) -> Option<SignedDirectory> {
    inner
        .signed_directory
        .read()
        .expect("signed directory lock")
        .clone()
}

/// The partners this node stays connected with and dials: those of [`reach::permanent`] pairs (a pair with a
/// Transferpunt) in the directory with an endpoint and a larger partner id — or, when this node has no endpoint of
/// its own (a small partner behind a firewall without an open port), every such partner with an endpoint, since
/// none of them can dial it. Either way one side of every such pair dials. Every other pair is dialled on demand
/// (`reach`).
fn to_dial(inner: &Inner) -> Vec<(PartnerId, SocketAddr)> {
    let me = inner.me.to_string();
    let directory = inner.directory.read().expect("directory lock");
    let listening = directory
        .partners
        .iter()
        .any(|e| e.id.as_str() == me && e.endpoint.is_some());
    directory
        .partners
        .iter()
        .filter_map(|e| {
            let id = partner_of(&e.id)?;
            let addr = e.endpoint.as_deref()?.parse().ok()?;
            let dials = reach::permanent(&inner.me, &id)
                && if listening {
                    id.to_string() > me
                } else {
                    id.to_string() != me
                };
            dials.then_some((id, addr))
        })
        .collect()
}

/// Where an on-demand partner listens, if it is in the directory with an endpoint.
fn endpoint_of(inner: &Inner, peer: &PartnerId) -> Option<SocketAddr> {
    let id = peer.to_string();
    inner
        .directory
        .read()
        .expect("directory lock")
        .partners
        .iter()
        .find(|e| e.id.as_str() == id)?
        .endpoint
        .as_deref()?
        .parse()
        .ok()
}

/// The dial loops running, by partner: one per permanent partner for the federation's life, one per on-demand
/// partner until its connection goes idle.
struct Dialler {
    inner: Arc<Inner>,
    dialing: BTreeSet<PartnerId>,
    loops: JoinSet<PartnerId>,
}

impl Dialler {
    fn dial(&mut self, peer: PartnerId, addr: SocketAddr, mode: Dial) {
        if self.dialing.insert(peer.clone()) {
            self.loops
                .spawn(dial_loop(self.inner.clone(), peer, addr, mode).in_current_span());
        }
    }

    /// The on-demand partners not connected and not being dialled now.
    fn unreached(&self) -> Vec<PartnerId> {
        let partners = {
            let directory = self.inner.directory.read().expect("directory lock");
            reach::on_demand_partners(&self.inner.me, &directory)
        };
        let connected = self.inner.connected.read().expect("connected lock");
        partners
            .into_iter()
            .filter(|p| !self.dialing.contains(p) && !connected.contains_key(p))
            .collect()
    }

    /// Dial the on-demand partners among `peers` that have an endpoint.
    fn dial_on_demand(&mut self, peers: BTreeSet<PartnerId>) {
        for peer in peers {
            if let Some(addr) = endpoint_of(&self.inner, &peer) {
                self.dial(peer, addr, Dial::OnDemand);
            }
        }
    }

    /// Dial every on-demand partner this node has reason to reach (a full look at its cases).
    async fn dial_wanted(&mut self) {
        let unreached = self.unreached();
        let wanted = reach::wanted(&self.inner.node, &unreached).await;
        self.dial_on_demand(wanted);
    }

    /// A case changed: dial the partners it names that are not reached yet. Nothing is read when every on-demand
    /// partner is connected already.
    async fn case_changed(&mut self, case: &crate::store::CaseId) {
        let unreached = self.unreached();
        if unreached.is_empty() {
            return;
        }
        let named = match reach::named_by_case(&self.inner.node, &unreached, case).await {
            Some(named) => named,
            // Unreadable now (erased, or it kept changing): at least those owed something of it.
            None => match self.inner.node.store().exchanged_with(Some(case)).await {
                Ok(owed) => unreached
                    .into_iter()
                    .filter(|p| owed.contains(&p.to_string()))
                    .collect(),
                Err(_) => return,
            },
        };
        self.dial_on_demand(named);
    }

    /// Something is owed to a partner outside any case's documents (an inzageverzoek queued).
    async fn owed(&mut self) {
        let unreached = self.unreached();
        if unreached.is_empty() {
            return;
        }
        match self.inner.node.store().exchanged_with(None).await {
            Ok(owed) => self.dial_on_demand(
                unreached
                    .into_iter()
                    .filter(|p| owed.contains(&p.to_string()))
                    .collect(),
            ),
            Err(e) => tracing::warn!(error = %e, "cannot read whom this node owes data"),
        }
    }
}

/// Runs for the federation's life: dials the permanent partners of the directory in force (again whenever it
/// changes) and the on-demand partners a case names (`reach`), takes in a newer directory stored by another
/// process, erases what was received once this node is removed, and warns of certificates about to expire.
pub(super) async fn directory_loop(inner: Arc<Inner>) {
    let mut shutdown = inner.shutdown.clone();
    let mut changed = inner.directory_changed.subscribe();
    let mut cases = inner.node.subscribe();
    let mut requests = inner.node.watch_outgoing_requests();
    let mut tick = tokio::time::interval(super::ADOPT_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut dialler = Dialler {
        inner: inner.clone(),
        dialing: BTreeSet::new(),
        loops: JoinSet::new(),
    };
    let mut forgotten_for: Option<u64> = None;
    let mut refused_stored: Option<u64> = None;
    let mut next_expiry_check = tokio::time::Instant::now();
    let mut policy_in_force = String::new();
    loop {
        let version = inner.directory.read().expect("directory lock").version;
        let removed = inner.removed.load(Ordering::SeqCst);
        if removed {
            if forgotten_for != Some(version) {
                match crate::directory::forget_after_removal(&inner.node, version).await {
                    Ok(_) => forgotten_for = Some(version),
                    Err(e) => {
                        tracing::error!(error = %e, "what this node received could not be erased after its removal; tried again")
                    }
                }
            }
        } else {
            for (peer, addr) in to_dial(&inner) {
                dialler.dial(peer, addr, Dial::Permanent);
            }
            // A new directory (new partners) or a new policy (new flows) may name partners not reached yet.
            policy_in_force = inner.node.policy().meta.version.clone();
            dialler.dial_wanted().await;
        }
        if tokio::time::Instant::now() >= next_expiry_check {
            warn_expiry(&inner);
            next_expiry_check += EXPIRY_CHECK_EVERY;
        }
        // Wait for what makes the dialler look at the directory and the cases again; a changed case or a queued
        // request only dials what it names.
        loop {
            tokio::select! {
                _ = tick.tick() => {
                    take_stored(&inner, &mut refused_stored).await;
                    if !removed && inner.node.policy().meta.version != policy_in_force {
                        break;
                    }
                }
                r = changed.changed() => if r.is_err() { return dialler.stop().await } else { break },
                c = cases.recv(), if !removed => match c {
                    Ok(case) => dialler.case_changed(&case).await,
                    Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => break,
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return dialler.stop().await,
                },
                r = requests.changed(), if !removed => match r {
                    Ok(()) => dialler.owed().await,
                    Err(_) => return dialler.stop().await,
                },
                Some(done) = dialler.loops.join_next(), if !dialler.loops.is_empty() => {
                    if let Ok(peer) = done {
                        dialler.dialing.remove(&peer);
                    }
                }
                _ = shutdown.changed() => return dialler.stop().await,
            }
        }
    }
}

impl Dialler {
    async fn stop(mut self) {
        while self.loops.join_next().await.is_some() {}
    }
}

/// A directory stored at this node that is newer than the one in force — installed by `weerthuis directory
/// install` while the node runs — is verified again and put in force.
async fn take_stored(inner: &Arc<Inner>, refused: &mut Option<u64>) {
    let store = inner.node.store();
    let Ok(stored) = store.latest_directory_version().await else {
        return;
    };
    let current = inner.directory.read().expect("directory lock").version;
    if stored <= current || *refused == Some(stored) {
        return;
    }
    match crate::directory::latest(store, &inner.ca_pem).await {
        Ok(Some((dir, signed))) => {
            apply_if_newer(inner, dir, signed);
        }
        Ok(None) => {}
        Err(e) => {
            *refused = Some(stored);
            tracing::error!(version = stored, error = %e, "a stored federation directory does not verify: not put in force");
        }
    }
}

/// Log a warning when this node's certificate or the federation CA's expires within a month
/// (`crate::directory::EXPIRY_WARNING`).
fn warn_expiry(inner: &Inner) {
    let now = time::OffsetDateTime::now_utc();
    for (what, at) in [
        ("this node's certificate", inner.own_not_after),
        ("the federation CA's certificate", inner.ca_not_after),
    ] {
        if let Some(at) = at
            && let Some(warning) = crate::directory::expiry_warning(what, at, now)
        {
            tracing::warn!(not_after = %at, "{warning}");
        }
    }
}

/// Whether the session's peer may no longer be connected: it left the directory, its key is revoked, or this node
/// itself left the federation. The reason, in words.
pub(super) fn refusal(inner: &Inner, conn: &protocol::Connection) -> Option<String> {
    if inner.removed.load(Ordering::SeqCst) {
        return Some("this node is no longer in the federation directory".into());
    }
    inner.admitted.refusal(conn.peer(), conn.peer_certificate())
}
