//! A melding about a tenant the corporatie holds no case of (issue #17 item 2; Bijlage 2, situatie 1 and "Rol
//! Transferpunt"). A former client who found a home through the regular route, or whose case the Transferpunt
//! closed after the omklap, is a tenant like any other at the corporatie: it holds nothing of the case, and the
//! covenant gives it no right to (Afspraak 2a: "een uitstromer heeft recht op een nieuwe start en mag daarin ook
//! anonimiteit nastreven"). When something goes wrong, Bijlage 2 has the Transferpunt bring about the contact that
//! the regular way cannot.
//!
//! So the corporatie's vaste contactpersoon sends the Transferpunt a *huurdermelding*: the tenant's BSN, what
//! happened, and whom to call back. The Transferpunt looks the BSN up in its own BSN index. A tenant it knows gets
//! the melding in their case (melder `corporatie`, status `open`), where the Transferpunt's werkplek and monitor
//! show it, and the Transferpunt brings the partners together; a tenant it does not know leaves nothing behind at
//! the Transferpunt but a record without the BSN. Either way the corporatie gets the same answer, so it never learns
//! from the federation whether its tenant was a client — and finds the gemeente's gebiedsteam in its werkplek for
//! what cannot wait ([`Node::bereikbaarheid_zonder_dossier`]).
//!
//! On the wire it is an `Artefact` of kind [`KIND_MELDING`] over the authenticated connection (only a corporatie
//! sends one, only the Transferpunt takes one), confirmed with [`KIND_ONTVANGEN`]. The corporatie keeps it queued
//! and offers it on every connection until it is confirmed; then it keeps only the date, the soort and the answer
//! (the BSN and the text are the Transferpunt's now).

use serde::{Deserialize, Serialize};
use time::{Date, OffsetDateTime};

use crate::audit::{AuditEntry, Operation};
use crate::bereikbaarheid::{Bereikbaarheid, BetrokkenPartner};
use crate::service::{Node, ServiceError};
use crate::store::User;
use policies::{DocumentKind, PartnerId, Role};
use protocol::pki::Directory;

/// The `Artefact` kind of a huurdermelding.
pub const KIND_MELDING: &str = "huurdermelding";
/// The `Artefact` kind of the Transferpunt's confirmation (its data: [`Ontvangen`] as JSON).
pub const KIND_ONTVANGEN: &str = "huurdermelding-ontvangen";
/// The most bytes a huurdermelding may have on the wire: a few short texts.
pub const MAX_LEN: usize = 8192;
/// The most characters of the omschrijving.
pub const MAX_OMSCHRIJVING: usize = 2000;
/// The processing activity of a huurdermelding sent or taken (in the register, `crate::logboek::register`).
pub const ACTIVITY: &str = "bijlage2.huurdermelding";
/// Its purpose.
pub const PURPOSE: &str = "het contact tot stand brengen over een huurder om wie een corporatie zich zorgen maakt (Bijlage 2, rol Transferpunt)";

/// The answer the Transferpunt gives to every huurdermelding, whether it knows the tenant or not.
pub const ANTWOORD: &str = "Het Transferpunt heeft de melding ontvangen. Is de huurder bij het Transferpunt bekend, \
dan brengt het Transferpunt het contact met de betrokken partijen tot stand en belt het u terug. Wat niet kan \
wachten: bel het gebiedsteam van de woongemeente.";

/// A huurdermelding as the corporatie makes it and as it travels. The wire names are the covenant's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Huurdermelding {
    /// A random id (UUID form), made by the sending node.
    #[serde(default)]
    pub id: String,
    /// The tenant's BSN (elfproef).
    pub bsn: String,
    /// When it happened or was noticed (`YYYY-MM-DD`).
    #[serde(with = "iso_date")]
    pub datum_melding: Date,
    /// `signaal`, `knelpunt`, `incident`, `calamiteit` or `dreigende_huisuitzetting`.
    pub soort: String,
    /// The AVE level it is at (1–4).
    pub ave_niveau: u8,
    /// What happened, in the corporatie's words.
    pub omschrijving: String,
    /// For an incident or calamiteit: whether it was reported to the Toezichthouder (Afspraak 7h).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gemeld_bij_toezichthouder: Option<bool>,
    /// The gemeente the home is in (CBS code): whose gebiedsteam to call.
    pub woongemeente: String,
    /// Who sends it: one of the corporatie's vaste contactpersonen in the directory (Afspraak 3g).
    pub contactpersoon: String,
    /// Where the Transferpunt calls back.
    pub telefoonnummer: String,
}

time::serde::format_description!(iso_date, Date, "[year]-[month]-[day]");

/// The Transferpunt's confirmation of a huurdermelding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ontvangen {
    /// The melding's id.
    pub id: String,
    /// What the Transferpunt answers (always [`ANTWOORD`]).
    pub antwoord: String,
}

/// A huurdermelding as the corporatie keeps it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verzonden {
    /// Its id.
    pub id: String,
    /// To whom (the Transferpunt).
    pub aan: String,
    /// Its soort.
    pub soort: String,
    /// When it was made.
    #[serde(with = "time::serde::rfc3339")]
    pub gedaan_op: OffsetDateTime,
    /// When the Transferpunt confirmed it; `None` while it waits to be sent or confirmed.
    #[serde(with = "time::serde::rfc3339::option")]
    pub ontvangen_op: Option<OffsetDateTime>,
    /// The Transferpunt's answer, once confirmed.
    pub antwoord: Option<String>,
}

impl Huurdermelding {
    /// Check every field; each problem names the field and the rule, in Dutch (the corporatie's medewerker reads
    /// them). `contacts`: the sending corporatie's vaste contactpersonen in the directory.
    pub fn check(
        &self,
        gemeenten: &policies::Gemeenten,
        today: Date,
        contacts: &[String],
    ) -> Result<(), ServiceError> {
        let mut problems = Vec::new();
        if let Err(e) = policies::bsn::Bsn::parse(&self.bsn) {
            problems.push(format!("bsn: {e} (regel: elfproef)"));
        }
        if self.datum_melding > today {
            problems.push("datum_melding: ligt in de toekomst (regel: niet na vandaag)".into());
        }
        let soorten = policies::model::SOORT_MELDING;
        if !soorten.contains(&self.soort.as_str()) {
            problems.push(format!(
                "soort: '{}' is geen soort melding (regel: één van {})",
                self.soort,
                soorten.join(", ")
            ));
        }
        if matches!(self.soort.as_str(), "incident" | "calamiteit")
            && self.gemeld_bij_toezichthouder.is_none()
        {
            problems.push(format!(
                "gemeld_bij_toezichthouder: verplicht omdat soort '{}' is (regel: verplicht_omdat, Afspraak 7h)",
                self.soort
            ));
        }
        if !(1..=4).contains(&self.ave_niveau) {
            problems.push(format!(
                "ave_niveau: {} (regel: AVE-niveau 1 tot en met 4, Bijlage 2)",
                self.ave_niveau
            ));
        }
        let omschrijving = self.omschrijving.trim();
        if omschrijving.is_empty() || omschrijving.chars().count() > MAX_OMSCHRIJVING {
            problems.push(format!(
                "omschrijving: leeg of langer dan {MAX_OMSCHRIJVING} tekens (regel: verplicht, kort)"
            ));
        }
        if !gemeenten.contains(&self.woongemeente) {
            problems.push(format!(
                "woongemeente: '{}' is geen bekende gemeente (regel: CBS-code van een gemeente, GM0080)",
                self.woongemeente
            ));
        }
        let same =
            |c: &String| c.trim().to_lowercase() == self.contactpersoon.trim().to_lowercase();
        if !contacts.iter().any(same) {
            // The name refused is not repeated: it may be anyone's.
            problems.push(
                "contactpersoon: niet één van de vaste contactpersonen van deze corporatie in de federatiegids \
                 (regel: vaste_contactpersoon, Afspraak 3g)"
                    .into(),
            );
        }
        let digits = self
            .telefoonnummer
            .chars()
            .filter(char::is_ascii_digit)
            .count();
        if !(10..=15).contains(&digits)
            || !self
                .telefoonnummer
                .chars()
                .all(|c| c.is_ascii_digit() || " +-()".contains(c))
        {
            problems.push(
                "telefoonnummer: geen telefoonnummer (regel: 10 tot 15 cijfers, met spaties, +, - of haakjes)"
                    .into(),
            );
        }
        if self.id.len() > 64
            || !self
                .id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-')
        {
            problems.push("id: geen geldig id (regel: UUID)".into());
        }
        if problems.is_empty() {
            Ok(())
        } else {
            // One problem per line: a message may hold a `;` of its own (the elfproef's does).
            Err(ServiceError::BadRequest(problems.join("\n")))
        }
    }

    /// The melding the Transferpunt writes into the tenant's case: the corporatie's words, and whom to call back.
    fn as_melding(&self, from: &PartnerId, naam: &str) -> serde_json::Value {
        serde_json::json!({
            "datum_melding": self.datum_melding.to_string(),
            "melder": "corporatie",
            "soort": self.soort,
            "ave_niveau": self.ave_niveau,
            "omschrijving": format!(
                "{}\n\nHuurdermelding van {naam} ({from}), Bijlage 2. Terugbellen: {}, {}.",
                self.omschrijving.trim(),
                self.contactpersoon.trim(),
                self.telefoonnummer.trim()
            ),
            "status": "open",
            "gemeld_bij_toezichthouder": self.gemeld_bij_toezichthouder,
        })
    }

    /// The fields it carries, for the audit log (names, never values).
    fn fields() -> Vec<policies::FieldId> {
        [
            ("registratie", "bsn"),
            ("melding", "datum_melding"),
            ("melding", "soort"),
            ("melding", "ave_niveau"),
            ("melding", "omschrijving"),
        ]
        .into_iter()
        .filter_map(|(d, f)| policies::FieldId::lookup(d, f))
        .collect()
    }
}

/// The Transferpunt in `directory`.
fn transferpunt_in(directory: &Directory) -> Option<PartnerId> {
    directory
        .partners
        .iter()
        .filter_map(|e| e.id.as_str().parse::<PartnerId>().ok())
        .find(|p| p.role() == Role::Transferpunt)
}

/// Why a huurdermelding from a peer was not taken.
#[derive(Debug, thiserror::Error)]
pub enum TakeError {
    /// It does not read or does not pass its checks: refused, not confirmed (the sender's medewerker sees it wait).
    #[error("{0}")]
    Refused(String),
    /// This node could not store it: not confirmed, offered again on the next connection.
    #[error("{0}")]
    Failed(#[from] ServiceError),
}

impl Node {
    fn record(
        &self,
        op: Operation,
        user: Option<&User>,
        id: &str,
        start: OffsetDateTime,
    ) -> AuditEntry {
        AuditEntry::new(op, ACTIVITY, PURPOSE, start)
            .ended(self.clock_now())
            .case(id, self.pseudonymiser().data_subject_id(id))
            .user(user.map(|u| u.id.clone()))
            .document(Some(KIND_MELDING.into()))
            .fields(&Huurdermelding::fields())
            .policy_version(&self.policy().meta.version)
    }

    /// Make a huurdermelding at this corporatie (see the module): checked, queued for the Transferpunt with its
    /// audit record, and sent on the next (or the open) connection.
    pub async fn meld_huurder(
        &self,
        user: &User,
        mut melding: Huurdermelding,
    ) -> Result<Verzonden, ServiceError> {
        let start = self.clock_now();
        if self.partner().role() != Role::Corporatie {
            return Err(ServiceError::NotAllowed(
                "een huurdermelding maakt een corporatie (Bijlage 2); andere partners melden in de casus".into(),
            ));
        }
        melding.id = crate::store::CaseId::random().to_string();
        let contacts = self.vaste_contactpersonen().unwrap_or_default();
        melding.check(self.gemeenten(), start.date(), &contacts)?;
        let directory = self.directory_in_force().await?;
        let aan = directory
            .as_deref()
            .and_then(transferpunt_in)
            .ok_or_else(|| {
                ServiceError::Conflict(
                    "deze node heeft nog geen federatiegids met een Transferpunt".into(),
                )
            })?;
        let body = serde_json::to_string(&melding).expect("a huurdermelding serializes");
        let entry = self
            .record(Operation::Disclosure, Some(user), &melding.id, start)
            .peer(&aan.to_string());
        let verzonden = Verzonden {
            id: melding.id.clone(),
            aan: aan.to_string(),
            soort: melding.soort.clone(),
            gedaan_op: start,
            ontvangen_op: None,
            antwoord: None,
        };
        self.store()
            .queue_huurdermelding(&verzonden, &body, &entry)
            .await?;
        tracing::info!(melding = %melding.id, "huurdermelding queued for the Transferpunt");
        self.outgoing_requests_changed();
        Ok(verzonden)
    }

    /// This corporatie's huurdermeldingen, newest first: what was sent, and the Transferpunt's answer.
    pub async fn huurdermeldingen(&self) -> Result<Vec<Verzonden>, ServiceError> {
        Ok(self.store().huurdermeldingen().await?)
    }

    /// Take a huurdermelding from corporatie `peer` at the Transferpunt (see the module). Returns the confirmation
    /// to send back. Taking one again (a confirmation lost) writes nothing twice.
    pub async fn take_huurdermelding(
        &self,
        peer: &PartnerId,
        data: &[u8],
    ) -> Result<Ontvangen, TakeError> {
        let start = self.clock_now();
        if data.len() > MAX_LEN {
            return Err(TakeError::Refused(format!(
                "a huurdermelding of {} bytes (rule: at most {MAX_LEN})",
                data.len()
            )));
        }
        let melding: Huurdermelding = serde_json::from_slice(data)
            .map_err(|e| TakeError::Refused(format!("a huurdermelding that does not read: {e}")))?;
        let directory = self
            .directory_in_force()
            .await
            .map_err(ServiceError::from)?;
        let entry = directory.as_ref().and_then(|d| {
            d.partners
                .iter()
                .find(|e| e.id.as_str() == peer.to_string())
        });
        let contacts: Vec<String> = entry
            .map(|e| e.contacts.iter().map(|c| c.naam.clone()).collect())
            .unwrap_or_default();
        let naam = entry.map_or_else(|| peer.to_string(), |e| e.name.clone());
        // Checked again here: the Transferpunt decides on its own data, not on the sender's word.
        melding
            .check(
                self.gemeenten(),
                start.date() + time::Duration::days(1),
                &contacts,
            )
            .map_err(|e| TakeError::Refused(e.to_string()))?;
        if melding.id.is_empty() {
            return Err(TakeError::Refused("a huurdermelding without an id".into()));
        }
        let bsn = policies::bsn::Bsn::parse(&melding.bsn).expect("checked");
        let cases = match self.cases_by_bsn(&bsn).await {
            Ok(cases) => cases,
            // No BSN index: the tenant cannot be found here, as if unknown.
            Err(ServiceError::Conflict(_)) => Vec::new(),
            Err(e) => return Err(e.into()),
        };
        let instance = format!("huurder-{}", melding.id);
        let user = User {
            id: format!("federatie:{peer}"),
            name: format!("{naam} via de federatie"),
            purpose: "huurdermelding (Bijlage 2)".into(),
            role: crate::access::UserRole::Medewerker,
            login: None,
            created_at: start,
            revoked: false,
        };
        for case in &cases {
            let (_, keys) = self.case_documents(case).await?;
            let written = keys
                .iter()
                .any(|k| k.kind == DocumentKind::Melding && k.instance == instance);
            if !written {
                self.write_form(
                    &user,
                    case,
                    DocumentKind::Melding,
                    Some(&instance),
                    &melding.as_melding(peer, &naam),
                )
                .await?;
            }
        }
        if cases.is_empty() {
            // Nothing of the tenant is kept: a record that a melding came, without the BSN or the text.
            let entry = self
                .record(Operation::Receipt, None, &melding.id, start)
                .peer(&peer.to_string());
            self.store()
                .append_audit(&entry)
                .await
                .map_err(ServiceError::from)?;
        }
        tracing::info!(peer = %peer, known = !cases.is_empty(), "huurdermelding taken");
        Ok(Ontvangen {
            id: melding.id,
            antwoord: ANTWOORD.into(),
        })
    }

    /// The Transferpunt's confirmation of a huurdermelding this corporatie sent: the answer kept, the BSN and the
    /// text dropped. `false` when no melding waited for it.
    pub async fn huurdermelding_ontvangen(
        &self,
        peer: &PartnerId,
        data: &[u8],
    ) -> Result<bool, ServiceError> {
        let Ok(ontvangen) = serde_json::from_slice::<Ontvangen>(&data[..data.len().min(MAX_LEN)])
        else {
            return Ok(false);
        };
        let antwoord: String = ontvangen.antwoord.chars().take(1000).collect();
        let confirmed = self
            .store()
            .confirm_huurdermelding(&ontvangen.id, &peer.to_string(), &antwoord)
            .await?;
        if confirmed && let Err(e) = self.store().scrub().await {
            tracing::warn!(error = %e, "a huurdermelding's BSN may linger in the write-ahead log until the next checkpoint");
        }
        Ok(confirmed)
    }

    /// Whom to call about a tenant this node holds no case of, living in `woongemeente`: that gemeente's
    /// gebiedsteam and the Transferpunt, as the signed directory lists them — nothing about the tenant.
    pub async fn bereikbaarheid_zonder_dossier(
        &self,
        woongemeente: &str,
    ) -> Result<Bereikbaarheid, ServiceError> {
        let gemeente = PartnerId::new(Role::Gemeente, woongemeente)
            .ok()
            .filter(|_| self.gemeenten().contains(woongemeente))
            .ok_or_else(|| {
                ServiceError::BadRequest(format!(
                    "woongemeente: '{woongemeente}' is geen bekende gemeente (regel: CBS-code van een gemeente)"
                ))
            })?;
        let directory = self.directory_in_force().await?;
        let entry = |p: &PartnerId| {
            directory
                .as_ref()
                .and_then(|d| d.partners.iter().find(|e| e.id.as_str() == p.to_string()))
                .cloned()
        };
        let mut partners = vec![BetrokkenPartner {
            entry: entry(&gemeente),
            partner: gemeente,
            waarom: "het gebiedsteam van de woongemeente (Bijlage 2)".into(),
        }];
        if let Some(tp) = directory.as_deref().and_then(transferpunt_in) {
            partners.push(BetrokkenPartner {
                entry: entry(&tp),
                partner: tp,
                waarom: "als contact via de gewone weg niet lukt, brengt het Transferpunt het tot stand (Bijlage 2)"
                    .into(),
            });
        }
        Ok(Bereikbaarheid {
            contactpersonen: Vec::new(),
            afspraken: Vec::new(),
            partners,
        })
    }
}
