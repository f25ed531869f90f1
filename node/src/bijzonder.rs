//! Bijzondere situaties (Afspraak 8f): a disclosure outside the policy's flows.
//!
//! The covenant's parties exchange data as Afspraak 8 prescribes; beyond that, 8f names when it may be necessary to
//! exchange data anyway, "waaronder met derden": (i) serious multi-problem situations, acute danger to life of the
//! client or another, serious harm or neglect, public safety; (ii) a legal duty to provide it to a third party. Such a
//! disclosure mostly goes to someone outside the federation (a crisisdienst, the police, a GGD), so it does not
//! travel as a projection — the receiving nodes' accept rules would refuse a field no flow allows, rightly.
//!
//! What the node does is make the exception accountable:
//! - a medewerker **asks** for it: the case, the recipient, the fields (`form.field`), the ground (8f i or ii) and
//!   the reason in her own words — the reason stays in this node's table (it may name the person), the audit log
//!   records the field names and the ground;
//! - the **privacyfunctionaris decides** — another person than the one who asked (four eyes); refused, nothing is
//!   disclosed;
//! - approved, the disclosure is **recorded as a disclosure** in the audit log, under the processing activity
//!   "bijzondere situatie (Afspraak 8f)", with the recipient, the ground and the fields — and the values are handed
//!   over as a JSON export for the recipient (the read is that disclosure);
//! - the **jaarverslag counts** the approved ones per ground ([`Node::special_disclosure_counts`]).

use serde::Serialize;
use serde_json::{Map, Value as Json};

use crate::access::UserRole;
use crate::audit::Operation;
use crate::service::{Node, ServiceError};
use crate::store::{CaseId, StoredSpecialDisclosure, User};

/// The processing activity an approved disclosure is recorded under.
pub const ACTIVITY: &str = "bijzondere situatie (Afspraak 8f)";

/// The grounds of Afspraak 8f.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Grond {
    /// 8f-i: serious multi-problem situation, acute danger to life or serious harm, to the client or another, or
    /// public safety.
    Noodsituatie,
    /// 8f-ii: the disclosure to a third party is needed to meet a legal duty.
    WettelijkeVerplichting,
}

impl Grond {
    /// As stored.
    pub fn code(self) -> &'static str {
        match self {
            Grond::Noodsituatie => "noodsituatie",
            Grond::WettelijkeVerplichting => "wettelijke-verplichting",
        }
    }

    /// The covenant's words, for the audit log and the jaarverslag.
    pub fn basis(self) -> &'static str {
        match self {
            Grond::Noodsituatie => {
                "Afspraak 8f onder i: ernstige multiproblematiek, acuut levensgevaar of ernstige schade"
            }
            Grond::WettelijkeVerplichting => {
                "Afspraak 8f onder ii: verstrekking aan een derde om aan een wettelijke verplichting te voldoen"
            }
        }
    }

    fn of_code(code: &str) -> Option<Grond> {
        [Grond::Noodsituatie, Grond::WettelijkeVerplichting]
            .into_iter()
            .find(|g| g.code() == code)
    }
}

/// What an approval hands over: the values of the approved fields, for the recipient.
#[derive(Debug, Clone, Serialize)]
pub struct Export {
    /// The request's id.
    pub verstrekking: String,
    /// The case.
    pub casus: String,
    /// The recipient.
    pub ontvanger: String,
    /// The ground, in the covenant's words.
    pub grond: String,
    /// `form.field` → value, for the fields this node holds.
    pub gegevens: Map<String, Json>,
}

impl Node {
    /// Ask for a disclosure outside the flows (see the module docs). Every field must be a field of a covenant
    /// form (`form.field`); recipient and reason must be given.
    pub async fn request_special_disclosure(
        &self,
        user: &User,
        case: &CaseId,
        recipient: &str,
        fields: &[String],
        grond: Grond,
        reason: &str,
    ) -> Result<StoredSpecialDisclosure, ServiceError> {
        if !matches!(
            user.role,
            UserRole::Medewerker | UserRole::Privacyfunctionaris
        ) {
            return Err(ServiceError::NotAllowed(
                "een bijzondere verstrekking vraagt een medewerker of de privacyfunctionaris aan"
                    .into(),
            ));
        }
        self.case_exists(case).await?;
        let recipient = recipient.trim();
        if recipient.is_empty() || recipient.chars().count() > 200 {
            return Err(ServiceError::BadRequest(
                "ontvanger: verplicht, ten hoogste 200 tekens".into(),
            ));
        }
        if reason.trim().is_empty() {
            return Err(ServiceError::BadRequest(
                "reden: verplicht (Afspraak 8f: waarom de verstrekking noodzakelijk is)".into(),
            ));
        }
        if fields.is_empty() {
            return Err(ServiceError::BadRequest(
                "velden: ten minste één veld (formulier.veld)".into(),
            ));
        }
        let mut ids = Vec::new();
        for f in fields {
            ids.push(field_id(f)?);
        }
        let now = self.clock_now();
        let stored = StoredSpecialDisclosure {
            id: crate::store::CaseId::random().to_string(),
            case: case.clone(),
            recipient: recipient.to_string(),
            fields: ids.iter().map(|f| f.qualified_name()).collect(),
            ground: grond.code().to_string(),
            reason: reason.trim().to_string(),
            requested_by: user.id.clone(),
            requested_at: now,
            decision: None,
            decided_by: None,
            decided_at: None,
        };
        let entry = self
            .case_entry(
                Operation::SpecialDisclosure,
                ACTIVITY,
                &format!("aangevraagd; {}", grond.basis()),
                case,
                now,
            )
            .user(Some(user.id.clone()))
            .fields(ids.iter());
        self.store()
            .request_special_disclosure(&stored, &entry)
            .await?;
        tracing::info!(id = %stored.id, fields = ids.len(), "a disclosure outside the flows was asked for (Afspraak 8f)");
        Ok(stored)
    }

    /// The privacy officer's decision on a request. Approved, the disclosure is recorded in the audit log and its
    /// values returned for the recipient; refused, nothing is disclosed. Only a `privacyfunctionaris` decides, and
    /// never on her own request; a request is decided once.
    pub async fn decide_special_disclosure(
        &self,
        user: &User,
        id: &str,
        approve: bool,
    ) -> Result<(StoredSpecialDisclosure, Option<Export>), ServiceError> {
        if user.role != UserRole::Privacyfunctionaris {
            return Err(ServiceError::NotAllowed(
                "alleen de privacyfunctionaris besluit over een bijzondere verstrekking (Afspraak 8f)".into(),
            ));
        }
        let store = self.store();
        let request = store
            .special_disclosure(id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("bijzondere verstrekking {id}")))?;
        if request.requested_by == user.id {
            return Err(ServiceError::NotAllowed(
                "wie de verstrekking aanvroeg, besluit er niet over: een andere privacyfunctionaris (vier ogen)"
                    .into(),
            ));
        }
        let grond = Grond::of_code(&request.ground).ok_or(ServiceError::Store(
            crate::store::StoreError::Corrupt {
                what: "bijzondere verstrekking: grond",
            },
        ))?;
        let ids = request
            .fields
            .iter()
            .map(|f| field_id(f))
            .collect::<Result<Vec<_>, _>>()?;
        let now = self.clock_now();
        let case = &request.case;
        let export = if approve {
            let loaded = self.load_case(case).await?;
            let mut gegevens = Map::new();
            for f in &ids {
                if let Some(v) = loaded
                    .docs
                    .first(f.document())
                    .and_then(|form| form.to_json().get(f.name()).cloned())
                {
                    gegevens.insert(f.qualified_name(), v);
                }
            }
            Some(Export {
                verstrekking: request.id.clone(),
                casus: case.to_string(),
                ontvanger: request.recipient.clone(),
                grond: grond.basis().to_string(),
                gegevens,
            })
        } else {
            None
        };
        let (operation, decision, purpose) = match approve {
            true => (
                Operation::Disclosure,
                "goedgekeurd",
                format!(
                    "goedgekeurd, verstrekt aan {}; {}",
                    request.recipient,
                    grond.basis()
                ),
            ),
            false => (
                Operation::SpecialDisclosure,
                "afgewezen",
                format!("afgewezen; {}", grond.basis()),
            ),
        };
        let entry = self
            .case_entry(operation, ACTIVITY, &purpose, case, now)
            .user(Some(user.id.clone()))
            .fields(ids.iter());
        if !store
            .decide_special_disclosure(id, decision, &user.id, &entry)
            .await?
        {
            return Err(ServiceError::Conflict(format!(
                "over bijzondere verstrekking {id} is al besloten"
            )));
        }
        tracing::info!(id = %id, approved = approve, "a disclosure outside the flows was decided on (Afspraak 8f)");
        let decided = store
            .special_disclosure(id)
            .await?
            .ok_or_else(|| ServiceError::NotFound(format!("bijzondere verstrekking {id}")))?;
        Ok((decided, export))
    }

    /// The approved disclosures outside the flows decided in `year`, counted per ground (the covenant's words):
    /// what the jaarverslag shows.
    pub async fn special_disclosure_counts(
        &self,
        year: i32,
    ) -> Result<Vec<(String, u32)>, ServiceError> {
        let mut counts: Vec<(String, u32)> = [Grond::Noodsituatie, Grond::WettelijkeVerplichting]
            .into_iter()
            .map(|g| (g.basis().to_string(), 0))
            .collect();
        for d in self.store().special_disclosures().await? {
            let approved_in_year = d.decision.as_deref() == Some("goedgekeurd")
                && d.decided_at.is_some_and(|t| t.year() == year);
            if let (true, Some(g)) = (approved_in_year, Grond::of_code(&d.ground))
                && let Some(c) = counts.iter_mut().find(|(b, _)| b == g.basis())
            {
                c.1 += 1;
            }
        }
        Ok(counts)
    }
}

/// A `form.field` name as a field of the covenant's forms, or an error naming it.
fn field_id(name: &str) -> Result<policies::FieldId, ServiceError> {
    name.split_once('.')
        .and_then(|(form, field)| policies::DocumentKind::from_name(form)?.field(field))
        .ok_or_else(|| {
            ServiceError::BadRequest(format!(
                "velden: {name:?} is geen veld van een formulier van het convenant (formulier.veld)"
            ))
        })
}
