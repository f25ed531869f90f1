//! The authoritative facts of a case at one node: what every disclosure and every acceptance is decided on.
//!
//! The policy decides on finite facts — consent, BW/MO, phase, and how each partner relates to the case — and a
//! node rarely holds every form they come from. Where a fact comes from therefore decides what can be forged:
//!
//! - **This node's own data first.** Facts derived from the forms this node holds (its own, those shared with it
//!   whole, the fields projected to it) — `policies::CaseDocuments::facts`.
//! - **Then only the partner that decides the fact**, as declared in the `_meta` of the projection it sent
//!   ([`authorities`]): the Transferpunt (it holds the whole case with consent, and assigns), and the betrokken
//!   zorgaanbieder (its registratie holds consent, BW/MO and the gemeenten). Never an OR over what every sender
//!   says: a `_meta` from any other partner changes nothing here.
//! - **The Transferpunt judges on its own data alone**: it holds every form of a case whose client consented.
//! - **A withdrawal wins at once**: consent stands only while no authority says it was withdrawn, whatever the
//!   stored forms still say.
//!
//! A partner's word about *itself* may let this node take that partner's own data ([`accepting`]), never give it
//! anything: what this node discloses is decided on [`facts_of`] alone.

use policies::{CaseFacts, DocumentKind, PartnerId, Relation, Role};

use crate::case::LoadedCase;
use crate::projection::Meta;

/// Whether a partner of role `role` decides relation `r` of another partner to a case, so that its declaration
/// of it counts: the Transferpunt decides every relation (it assigns the corporatie and chooses the
/// uitstroomgemeente); the betrokken zorgaanbieder's registratie names the gemeenten of verblijf and herkomst, and
/// its vervolg wonen and plaatsing the uitstroomgemeente.
pub fn decides(role: Role, r: Relation) -> bool {
    match role {
        Role::Transferpunt => true,
        Role::Zorgaanbieder => matches!(
            r,
            Relation::Verblijfgemeente | Relation::Herkomstgemeente | Relation::Uitstroomgemeente
        ),
        _ => false,
    }
}

/// The senders whose `_meta` counts at `me`, with what they declared: the Transferpunt, and the zorgaanbieder
/// that is the case's betrokken one by this node's data — or, where this node's data names none (a gemeente does
/// not receive that field), a zorgaanbieder that says it is. The Transferpunt itself counts only the betrokken
/// zorgaanbieder by its own data, and only for a withdrawal of consent.
pub fn authorities<'a>(me: &PartnerId, loaded: &'a LoadedCase) -> Vec<(&'a PartnerId, &'a Meta)> {
    let named = loaded
        .docs
        .first(DocumentKind::Registratie)
        .and_then(|f| f.text("betrokken_zorgaanbieder"));
    loaded
        .declarations
        .iter()
        .filter(|(sender, meta)| match sender.role() {
            Role::Transferpunt => me.role() != Role::Transferpunt,
            Role::Zorgaanbieder => match named {
                Some(named) => named == sender.to_string(),
                None => {
                    me.role() != Role::Transferpunt
                        && meta
                            .sender_relations
                            .contains(&Relation::BetrokkenZorgaanbieder)
                }
            },
            _ => false,
        })
        .collect()
}

/// The facts of a case at `me`, for `me` and `others`: this node's data, and the declarations of the partners that
/// decide them (see the module documentation). What this node discloses is decided on these.
pub fn facts_of(me: &PartnerId, loaded: &LoadedCase, others: &[&PartnerId]) -> CaseFacts {
    let mut facts = loaded.docs.facts(others.iter().copied().chain([me]));
    let authorities = authorities(me, loaded);
    facts.consent = consent(me, loaded, &authorities, facts.consent);
    if me.role() == Role::Transferpunt {
        return facts;
    }
    let transferpunt = authorities
        .iter()
        .find(|(s, _)| s.role() == Role::Transferpunt)
        .map(|(_, m)| *m);
    let zorgaanbieder = authorities
        .iter()
        .find(|(s, _)| s.role() == Role::Zorgaanbieder)
        .map(|(_, m)| *m);
    if facts.voorziening.is_none() {
        facts.voorziening = transferpunt
            .and_then(|m| m.voorziening)
            .or(zorgaanbieder.and_then(|m| m.voorziening));
    }
    // The phase as the forms define it: the Transferpunt holds them all; else the zorgaanbieder that wrote most of
    // them; never below what this node's own forms show.
    if let Some(m) = transferpunt.or(zorgaanbieder) {
        facts.phase = facts.phase.max(m.phase);
    }
    let mine = facts.relations.entry(me.clone()).or_default();
    for (sender, meta) in &authorities {
        add_relations(
            mine,
            meta.receiver_relations
                .iter()
                .copied()
                .filter(|r| decides(sender.role(), *r)),
        );
    }
    // How the partners this node exchanges data with relate, as the Transferpunt told it (`plan::betrokkenen`):
    // a corporatie's melding reaches the uitstroomgemeente and the betrokken zorgaanbieder only so.
    if let Some(told) = transferpunt.map(|m| &m.others) {
        for other in others.iter().filter(|o| **o != me) {
            if let Some(relations) = told.get(&other.to_string()) {
                add_relations(
                    facts.relations.entry((*other).clone()).or_default(),
                    relations.iter().copied(),
                );
            }
        }
    }
    facts
}

/// Whether the client consents, at `me`. The zorgaanbieder that holds the registratie decides on its own data. A
/// node that received the consent field (the Transferpunt) takes it from there, unless the betrokken zorgaanbieder
/// has since declared it withdrawn: a withdrawal wins at once. Any other node takes the word of its authorities,
/// all of which must say so; without one there is no consent.
fn consent(
    me: &PartnerId,
    loaded: &LoadedCase,
    authorities: &[(&PartnerId, &Meta)],
    from_data: bool,
) -> bool {
    let owns_registratie = loaded
        .keys
        .iter()
        .any(|k| k.kind == DocumentKind::Registratie);
    if owns_registratie {
        return from_data;
    }
    if holds_consent_field(loaded) {
        return from_data
            && authorities
                .iter()
                .filter(|(s, _)| s.role() == Role::Zorgaanbieder)
                .all(|(_, m)| m.consent);
    }
    me.role() != Role::Transferpunt
        && !authorities.is_empty()
        && authorities.iter().all(|(_, m)| m.consent)
}

/// The facts for taking data from `sender` at `me`: [`facts_of`], plus — except at the Transferpunt, which judges
/// on its own data — the relations `sender` declared about itself. Its word about itself lets this node take its
/// own data; it never makes this node give anything.
pub fn accepting(me: &PartnerId, loaded: &LoadedCase, sender: &PartnerId) -> CaseFacts {
    let mut facts = facts_of(me, loaded, &[sender]);
    if me.role() != Role::Transferpunt
        && let Some(meta) = loaded.declarations.get(sender)
    {
        add_relations(
            facts.relations.entry(sender.clone()).or_default(),
            meta.sender_relations.iter().copied(),
        );
    }
    facts
}

/// Whether `me` knows the client's consent from an authority or its own data (and so need not take a sender's
/// word for it when it checks what the sender sends).
pub fn knows_consent(me: &PartnerId, loaded: &LoadedCase) -> bool {
    me.role() == Role::Transferpunt
        || holds_consent_field(loaded)
        || !authorities(me, loaded).is_empty()
}

/// Whether this node holds the registratie's consent field (its own registratie, or one projected to it).
fn holds_consent_field(loaded: &LoadedCase) -> bool {
    loaded
        .docs
        .first(DocumentKind::Registratie)
        .and_then(|f| f.bool("toestemming_gegevensdeling"))
        .is_some()
}

/// Whether `me` knows the case's phase from its own data as a whole (the Transferpunt) or from an authority.
pub fn knows_phase(me: &PartnerId, loaded: &LoadedCase) -> bool {
    me.role() == Role::Transferpunt || !authorities(me, loaded).is_empty()
}

/// Add relations to a partner's known ones: `geen` only stands when nothing else does.
pub fn add_relations(known: &mut Vec<Relation>, more: impl IntoIterator<Item = Relation>) {
    known.extend(more);
    if known.len() > 1 {
        known.retain(|r| *r != Relation::Geen);
    }
    known.sort();
    known.dedup();
}
