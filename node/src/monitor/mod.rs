//! The Transferpunt's uitstroommonitor at a node: the pure monitor lives in the `monitor` crate (indicators,
//! alerts, jaarverslag, suppression, the page's HTML) and is re-exported here, so `node::monitor::…` names it;
//! what needs the node is here: reading every case from the store ([`load_cases`]) and how a node's loaded case
//! (whole documents and projected sections) becomes a [`MonitorCase`] ([`HeldCase`] for [`LoadedCase`]).

pub use ::monitor::{
    HeldCase, Instance, Melding, MonitorCase, add_months, alerts, as_months, bewaard, days,
    indicators, jaarverslag, page, suppress,
};

use policies::DocumentKind;
use policies::form::Form;

use crate::case::LoadedCase;
use crate::service::{Node, ServiceError};

/// Instance forms come from the projected sections (`reactie/corporatie:elkien`, `gemeente/gemeente:GM0080`)
/// and from the instance documents the node stores itself, whose keys name the instance.
impl HeldCase for LoadedCase {
    fn documents(&self) -> &policies::CaseDocuments {
        &self.docs
    }

    fn meldingen(&self) -> Vec<Melding> {
        self.meldingen_held()
    }

    fn instances(&self, kind: DocumentKind) -> Vec<Instance> {
        let mut out: Vec<Instance> = self
            .projected_sections
            .iter()
            .filter_map(|(section, form)| {
                let (k, partner) = section.split_once('/')?;
                (k == kind.name()).then(|| instance(partner, form))
            })
            .collect();
        // Instance documents the node stores itself (not as projections): their keys name the instance, in the
        // order the forms were read.
        let projected = out.len();
        let stored: Vec<_> = self.keys.iter().filter(|k| k.kind == kind).collect();
        let forms = self.docs.all(kind);
        if forms.len() == projected + stored.len() {
            for (key, form) in stored.iter().zip(forms) {
                out.push(instance(&key.instance, form));
            }
        }
        out
    }
}

impl LoadedCase {
    /// The meldingen this node holds with who made each: a projected one is its sender's, a stored one this
    /// node's own (a melding is only its maker's to write, so no node stores another's) — `by` left empty for the
    /// caller, who knows its own id.
    fn meldingen_held(&self) -> Vec<Melding> {
        let mut out: Vec<Melding> = self
            .projected_sections
            .iter()
            .filter_map(|(section, form)| {
                let name = section.strip_prefix("melding/")?;
                Some(Melding {
                    by: self
                        .section_senders
                        .get(section)
                        .map(ToString::to_string)
                        .unwrap_or_default(),
                    name: name.to_string(),
                    form: form.clone(),
                })
            })
            .collect();
        let projected = out.len();
        let stored: Vec<_> = self
            .keys
            .iter()
            .filter(|k| k.kind == DocumentKind::Melding)
            .collect();
        let forms = self.docs.all(DocumentKind::Melding);
        if forms.len() == projected + stored.len() {
            for (key, form) in stored.iter().zip(forms) {
                out.push(Melding {
                    by: String::new(),
                    name: key.instance.clone(),
                    form: form.clone(),
                });
            }
        }
        out
    }
}

fn instance(partner: &str, form: &Form) -> Instance {
    Instance {
        partner: partner.to_string(),
        form: form.clone(),
    }
}

/// Load every case the node holds, for the monitor.
pub async fn load_cases(node: &Node) -> Result<Vec<MonitorCase>, ServiceError> {
    let mut cases = Vec::new();
    for record in node.store().list_cases().await? {
        let loaded = node.load_case(&record.id).await?;
        let mut case = MonitorCase::from_loaded(&record.id.to_string(), &loaded);
        for m in &mut case.meldingen {
            if m.by.is_empty() {
                m.by = node.partner().to_string();
            }
        }
        cases.push(case);
    }
    Ok(cases)
}
