//! Whom to call about a case (issue #17 item 2; Bijlage 2, Werkwijze Bereikbaarheid, situatie 1).
//!
//! A medewerker of a woningcorporatie with a crisis at a tenant's door — the police there, a neighbour calling —
//! must find out whether a zorgaanbieder or gebiedsteam is involved and who answers now. This gathers it from what
//! this node lawfully holds of the case (so never more than the policy let it receive): the contact persons named
//! in its forms (the aanmeldbericht's, which the assigned corporatie keeps after the case is closed), the
//! agreements on reachability of an ondersteuningsplan where this node holds one, and the partners it knows to be
//! involved, each with its fixed contacts, office hours and 24-hour number from the signed federation directory —
//! and the Transferpunt last, for when the regular way fails (Bijlage 2, "Rol Transferpunt").

use policies::{DocumentKind, PartnerId, Relation, Role};
use protocol::pki::{Directory, DirectoryEntry};

use crate::case::LoadedCase;

/// A contact person named in one of the case's forms.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contactpersoon {
    /// Name.
    pub naam: String,
    /// Organisation.
    pub organisatie: Option<String>,
    /// Function.
    pub functie: Option<String>,
    /// Phone.
    pub telefoon: Option<String>,
    /// E-mail.
    pub email: Option<String>,
}

/// A partner involved in the case, why, and how the directory says to reach it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BetrokkenPartner {
    /// The partner.
    pub partner: PartnerId,
    /// Why it is listed, in Dutch ("de betrokken zorgaanbieder").
    pub waarom: String,
    /// Its directory entry, when the directory lists it.
    pub entry: Option<DirectoryEntry>,
}

/// Whom to call about a case, from what this node holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Bereikbaarheid {
    /// Contact persons named in the case's forms, each once.
    pub contactpersonen: Vec<Contactpersoon>,
    /// The ondersteuningsplan's agreements on reachability (topic 3 of Afspraak 4b), where this node holds them.
    pub afspraken: Vec<String>,
    /// The partners involved, the Transferpunt last.
    pub partners: Vec<BetrokkenPartner>,
}

/// Whom to call about `loaded` at `me`, with the partners' entries from `directory` (none yet: ids only).
pub fn of_case(
    me: &PartnerId,
    loaded: &LoadedCase,
    directory: Option<&Directory>,
) -> Bereikbaarheid {
    let entry = |p: &PartnerId| {
        directory.and_then(|d| {
            d.partners
                .iter()
                .find(|e| e.id.as_str() == p.to_string())
                .cloned()
        })
    };
    let mut out = Bereikbaarheid::default();
    for form in loaded.docs.iter() {
        for (spec, value) in form.fields() {
            if spec.name == "contactpersonen"
                && let Some(records) = value.as_records()
            {
                for r in records {
                    let text = |f: &str| r.get(f).and_then(|v| v.as_text()).map(str::to_string);
                    let Some(naam) = text("naam") else { continue };
                    let c = Contactpersoon {
                        naam,
                        organisatie: text("organisatie"),
                        functie: text("functie"),
                        telefoon: text("telefoonnummer"),
                        email: text("mailadres"),
                    };
                    if !out.contactpersonen.contains(&c) {
                        out.contactpersonen.push(c);
                    }
                }
            }
        }
    }
    out.afspraken = loaded
        .docs
        .all(DocumentKind::Ondersteuningsplan)
        .iter()
        .filter_map(|f| f.text("bereikbaarheid_contactgegevens"))
        .map(str::to_string)
        .collect();

    // Whom the facts may relate: the directory's partners, and — a directory not stored yet, or a partner not in
    // it — the gemeenten the case's forms name and whoever sent this node data about it.
    let mut known: Vec<PartnerId> = directory
        .map(|d| {
            d.partners
                .iter()
                .filter_map(|e| e.id.as_str().parse().ok())
                .collect()
        })
        .unwrap_or_default();
    let named = [
        loaded.docs.herkomstgemeente(),
        loaded.docs.uitstroomgemeente(),
        loaded
            .docs
            .first(DocumentKind::Registratie)
            .and_then(|f| f.text("verblijfgemeente")),
    ];
    let more = named
        .into_iter()
        .flatten()
        .filter_map(|code| PartnerId::new(Role::Gemeente, code).ok())
        .chain(loaded.section_senders.values().cloned())
        .chain(loaded.declarations.keys().cloned())
        .collect::<Vec<_>>();
    for p in more {
        if !known.contains(&p) {
            known.push(p);
        }
    }
    let others: Vec<&PartnerId> = known.iter().filter(|p| *p != me).collect();
    let facts = crate::facts::facts_of(me, loaded, &others);
    let add = |out: &mut Bereikbaarheid, partner: PartnerId, waarom: String| {
        if &partner == me || partner.role() == Role::Transferpunt {
            return;
        }
        match out.partners.iter_mut().find(|b| b.partner == partner) {
            Some(b) if !b.waarom.contains(&waarom) => b.waarom = format!("{}; {waarom}", b.waarom),
            Some(_) => {}
            None => out.partners.push(BetrokkenPartner {
                entry: entry(&partner),
                partner,
                waarom,
            }),
        }
    };
    for p in &others {
        for r in facts.relations_of(p) {
            // A corporatie that refused is no one to call about the tenant; Geen is no relation.
            if !matches!(r, Relation::Geen | Relation::EerdereCorporatie) {
                add(&mut out, (*p).clone(), r.label_nl(p.role()));
            }
        }
    }
    // The gemeente the client lives in or moves to: its gebiedsteam, also where this node knows only its code.
    let gemeente = loaded.docs.uitstroomgemeente().or_else(|| {
        loaded
            .docs
            .all(DocumentKind::Aanmeldbericht)
            .iter()
            .find_map(|f| f.text("beoogde_uitstroomgemeente"))
    });
    if let Some(partner) = gemeente.and_then(|code| PartnerId::new(Role::Gemeente, code).ok()) {
        add(
            &mut out,
            partner,
            "het gebiedsteam van de uitstroomgemeente".into(),
        );
    }
    for sender in loaded.section_senders.values() {
        add(
            &mut out,
            sender.clone(),
            "stuurde gegevens over deze casus".into(),
        );
    }
    let transferpunt = known
        .iter()
        .find(|p| p.role() == Role::Transferpunt && *p != me);
    if let Some(tp) = transferpunt {
        out.partners.push(BetrokkenPartner {
            partner: tp.clone(),
            waarom: "als contact via de gewone weg niet lukt, brengt het Transferpunt het tot stand (Bijlage 2)"
                .into(),
            entry: entry(tp),
        });
    }
    out
}

impl crate::service::Node {
    /// Whom to call about a case, for `user` (see the module): from this node's own holdings and the signed
    /// directory it holds. Audited as a read of the contact fields it shows; a read whose record fails is refused.
    pub async fn bereikbaarheid(
        &self,
        user: &crate::store::User,
        case: &crate::store::CaseId,
    ) -> Result<Bereikbaarheid, crate::service::ServiceError> {
        let start = self.clock_now();
        let loaded = self.load_case(case).await?;
        let directory = self.directory_in_force().await?;
        let found = of_case(self.partner(), &loaded, directory.as_deref());
        let used: Vec<policies::FieldId> = loaded
            .docs
            .iter()
            .flat_map(|f| f.field_ids().collect::<Vec<_>>())
            .filter(|id| {
                let name = id.to_string();
                name.ends_with(".contactpersonen")
                    || name == "ondersteuningsplan.bereikbaarheid_contactgegevens"
            })
            .collect();
        let entry = self.entry(
            crate::audit::Operation::Read,
            Some(user),
            case,
            DocumentKind::Aanmeldbericht,
            &used,
            start,
        );
        self.store().append_audit(&entry).await?;
        Ok(found)
    }
}
