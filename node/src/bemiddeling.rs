//! The Transferpunt's steps in a bemiddeling that software can take off its hands: choosing the next corporatie
//! in the uitstroomgemeente "om en om" (evaluation §4.1), and writing the aanmeldbericht from what the case holds.

use policies::form::Form;
use policies::{DocumentKind, PartnerId, Role};
use serde_json::{Map, Value as Json, json};

use crate::case::LoadedCase;
use crate::service::{FormWrite, Node, ServiceError};
use crate::store::{CaseId, User};

/// The case is not ready for this step, or it was taken already: HTTP 409.
fn conflict(msg: impl Into<String>) -> ServiceError {
    ServiceError::Conflict(msg.into())
}

/// The forms of a kind in a loaded case with their instance names (own documents and projected sections).
fn with_instances(loaded: &LoadedCase, kind: DocumentKind) -> Vec<(String, Json)> {
    let mut out = Vec::new();
    for (section, form) in &loaded.projected_sections {
        if form.kind() == kind {
            let instance = section
                .split_once('/')
                .map(|(_, i)| i.to_string())
                .unwrap_or_default();
            out.push((instance, form.to_json()));
        }
    }
    out
}

/// Assign the case to the next corporatie in the chosen uitstroomgemeente and send it the aanmeldbericht.
///
/// Rules: the request is submitted and the gemeente has given its akkoord; the corporatie now assigned (if any)
/// has refused; corporaties that refused this case are skipped (one refusal must not cause another, Afspraak 1g);
/// among the rest, the one with the fewest cases assigned so far goes first (ties by id) — "om en om" across the
/// gemeente's corporaties.
///
/// One atomic step: the choice is made and the beoordeling and the aanmeldbericht are written under the node's
/// write guard, and both changes are stored in one transaction. A second call at the same time waits for the
/// guard, then finds the corporatie assigned and not refused, and is refused ([`ServiceError::Conflict`]): a case
/// is never assigned twice. The choice itself is [`Turn::candidates`] and [`fairest`], pure.
pub async fn assign_corporatie(
    node: &Node,
    user: &User,
    case: &CaseId,
) -> Result<PartnerId, ServiceError> {
    if node.partner().role() != Role::Transferpunt {
        return Err(ServiceError::NotAllowed(
            "alleen het Transferpunt wijst een woningcorporatie toe".into(),
        ));
    }
    node.case_exists(case).await?;
    let guard = node.write_guard().await;
    let loaded = node.load_case(case).await?;
    let (beoordeling, gemeente) = approved_request(&loaded)?;
    let mut turn = Turn::of(&loaded, beoordeling);
    let candidates = turn.candidates(&gemeente, node.corporaties_in(&gemeente))?;
    let times_asked = times_asked(node, &candidates).await?;
    let chosen = fairest(&candidates, &times_asked);
    let today = policies::form::format_date(node.clock_now().date());
    let beoordeling = turn.assign(beoordeling.to_json(), &chosen, &today);
    let writes = vec![
        FormWrite {
            kind: DocumentKind::Beoordeling,
            instance: None,
            json: beoordeling,
        },
        FormWrite {
            kind: DocumentKind::Aanmeldbericht,
            instance: Some(chosen.to_string()),
            json: aanmeldbericht(&loaded, &chosen, &today, &gemeente),
        },
    ];
    node.write_forms_locked(&guard, user, case, writes).await?;
    Ok(chosen)
}

/// The case's beoordeling and the uitstroomgemeente it chose, once the request is submitted and that gemeente
/// has given its akkoord.
fn approved_request(loaded: &LoadedCase) -> Result<(&Form, String), ServiceError> {
    if !loaded.docs.submitted() {
        return Err(conflict("het bemiddelingsverzoek is nog niet ingediend"));
    }
    let beoordeling = loaded
        .docs
        .first(DocumentKind::Beoordeling)
        .ok_or_else(|| conflict("beoordeel het bemiddelingsverzoek eerst"))?;
    let gemeente = beoordeling
        .text("gekozen_uitstroomgemeente")
        .ok_or_else(|| conflict("kies eerst de uitstroomgemeente"))?
        .to_string();
    let akkoord = loaded
        .docs
        .all(DocumentKind::Gemeente)
        .iter()
        .any(|g| g.text("akkoord_uitstroom") == Some("akkoord"));
    if !akkoord {
        return Err(conflict(format!(
            "gemeente {gemeente} heeft nog geen akkoord gegeven op de uitstroom"
        )));
    }
    Ok((beoordeling, gemeente))
}

/// One case's place in the om-en-om, as its beoordeling and the corporaties' reacties show it.
#[derive(Debug, Clone, PartialEq)]
pub struct Turn {
    /// The corporatie assigned now, if any (`toegewezen_corporatie`).
    pub current: Option<String>,
    /// The beoordeling's `corporatie_historie`: every corporatie asked, with the outcome.
    pub history: Vec<Json>,
    /// The corporaties whose reactie on this case is a refusal.
    pub refused: Vec<String>,
}

impl Turn {
    /// The turn of a loaded case whose beoordeling is `beoordeling`.
    pub fn of(loaded: &LoadedCase, beoordeling: &Form) -> Turn {
        Turn {
            current: beoordeling
                .text("toegewezen_corporatie")
                .map(str::to_string),
            history: beoordeling
                .to_json()
                .get("corporatie_historie")
                .and_then(Json::as_array)
                .cloned()
                .unwrap_or_default(),
            refused: with_instances(loaded, DocumentKind::Reactie)
                .into_iter()
                .filter(|(_, r)| r.get("besluit").and_then(Json::as_str) == Some("geweigerd"))
                .map(|(i, _)| i)
                .collect(),
        }
    }

    /// Who may be asked next among `corporaties`, the gemeente's: nobody while the corporatie assigned now has not
    /// refused; otherwise every corporatie not asked for this case before. Marks the refusals in the history.
    pub fn candidates(
        &mut self,
        gemeente: &str,
        corporaties: Vec<PartnerId>,
    ) -> Result<Vec<PartnerId>, ServiceError> {
        if let Some(current) = &self.current
            && !self.refused.contains(current)
        {
            return Err(conflict(format!(
                "{current} is nog aan zet: wacht op haar besluit"
            )));
        }
        for h in &mut self.history {
            let asked = h
                .get("corporatie")
                .and_then(Json::as_str)
                .unwrap_or_default();
            if self.refused.iter().any(|r| r == asked) {
                h["uitkomst"] = json!("geweigerd");
            }
        }
        let asked: Vec<&str> = self
            .history
            .iter()
            .filter_map(|h| h.get("corporatie").and_then(Json::as_str))
            .collect();
        let candidates: Vec<PartnerId> = corporaties
            .into_iter()
            .filter(|c| !asked.contains(&c.to_string().as_str()))
            .collect();
        if candidates.is_empty() {
            return Err(conflict(format!(
                "geen woningcorporatie in {gemeente} meer over; gemeente en zorgaanbieder zoeken verder (Afspraak 1k)"
            )));
        }
        Ok(candidates)
    }

    /// The beoordeling with `chosen` assigned from `today`: added to the history as `lopend`.
    pub fn assign(self, mut beoordeling: Json, chosen: &PartnerId, today: &str) -> Json {
        let mut history = self.history;
        history.push(
            json!({"corporatie": chosen.to_string(), "datum_aanmelding": today, "uitkomst": "lopend"}),
        );
        beoordeling["toegewezen_corporatie"] = json!(chosen.to_string());
        beoordeling["corporatie_historie"] = Json::Array(history);
        beoordeling
    }
}

/// Among `candidates` (not empty), the one asked for the fewest cases so far (`times_asked[i]` for
/// `candidates[i]`); ties go to the lowest id, so the order of the gemeente's list does not matter.
pub fn fairest(candidates: &[PartnerId], times_asked: &[usize]) -> PartnerId {
    let pick = (0..candidates.len())
        .min_by_key(|&i| (times_asked[i], candidates[i].to_string()))
        .expect("candidates is not empty");
    candidates[pick].clone()
}

/// For every candidate, for how many entries of the corporatie history of all of this node's cases it was asked
/// (this case included). A case that does not load is skipped.
async fn times_asked(node: &Node, candidates: &[PartnerId]) -> Result<Vec<usize>, ServiceError> {
    let mut counts = vec![0usize; candidates.len()];
    for rec in node.store().list_cases().await? {
        let Ok(other) = node.load_case(&rec.id).await else {
            continue;
        };
        if let Some(b) = other.docs.first(DocumentKind::Beoordeling)
            && let Some(h) = b.get("corporatie_historie").and_then(|v| v.as_records())
        {
            for r in h {
                if let Some(c) = r.get("corporatie").and_then(|v| v.as_text())
                    && let Some(i) = candidates.iter().position(|p| p.to_string() == c)
                {
                    counts[i] += 1;
                }
            }
        }
    }
    Ok(counts)
}

/// The aanmeldbericht to `chosen`: the case's identity, leefsituatie, support profile and contacts, as far as the
/// case holds them.
fn aanmeldbericht(loaded: &LoadedCase, chosen: &PartnerId, today: &str, gemeente: &str) -> Json {
    let mut bericht = Map::new();
    bericht.insert("corporatie".into(), json!(chosen.to_string()));
    bericht.insert("datum_verzonden".into(), json!(today));
    bericht.insert("beoogde_uitstroomgemeente".into(), json!(gemeente));
    for (to, kind, from) in [
        ("bsn", DocumentKind::Registratie, "bsn"),
        (
            "achternaam_initialen",
            DocumentKind::Registratie,
            "achternaam_voorletters",
        ),
        ("leefsituatie", DocumentKind::Aanmelding, "leefsituatie"),
        (
            "ondersteuningsprofiel",
            DocumentKind::Bemiddelingsverzoek,
            "ondersteuningsprofiel",
        ),
        (
            "contactpersonen",
            DocumentKind::Bemiddelingsverzoek,
            "contactpersonen",
        ),
    ] {
        if let Some(v) = loaded.docs.first(kind).and_then(|f| f.get(from)) {
            bericht.insert(to.into(), v.to_json());
        }
    }
    Json::Object(bericht)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn corp(code: &str) -> PartnerId {
        format!("corporatie:{code}").parse().unwrap()
    }

    fn asked(code: &str, uitkomst: &str) -> Json {
        json!({"corporatie": format!("corporatie:{code}"), "datum_aanmelding": "2026-01-05", "uitkomst": uitkomst})
    }

    fn turn(current: Option<&str>, history: Vec<Json>, refused: &[&str]) -> Turn {
        Turn {
            current: current.map(|c| format!("corporatie:{c}")),
            history,
            refused: refused.iter().map(|c| format!("corporatie:{c}")).collect(),
        }
    }

    #[test]
    fn a_first_assignment_may_ask_every_corporatie_of_the_gemeente() {
        let mut t = turn(None, vec![], &[]);
        let all = vec![corp("elkien"), corp("accolade")];
        assert_eq!(t.candidates("GM0080", all.clone()).unwrap(), all);
    }

    #[test]
    fn while_the_assigned_corporatie_has_not_refused_nobody_else_is_asked() {
        let mut t = turn(Some("elkien"), vec![asked("elkien", "lopend")], &[]);
        let err = t
            .candidates("GM0080", vec![corp("elkien"), corp("accolade")])
            .unwrap_err();
        assert!(err.to_string().contains("nog aan zet"), "{err}");
    }

    #[test]
    fn after_a_refusal_the_corporaties_not_yet_asked_remain_and_the_refusal_is_recorded() {
        let mut t = turn(
            Some("elkien"),
            vec![asked("wonen", "geweigerd"), asked("elkien", "lopend")],
            &["wonen", "elkien"],
        );
        let left = t
            .candidates(
                "GM0080",
                vec![corp("elkien"), corp("accolade"), corp("wonen")],
            )
            .unwrap();
        assert_eq!(left, [corp("accolade")]);
        assert!(t.history.iter().all(|h| h["uitkomst"] == "geweigerd"));
    }

    #[test]
    fn when_every_corporatie_was_asked_the_gemeente_and_zorgaanbieder_search_on() {
        let mut t = turn(Some("elkien"), vec![asked("elkien", "lopend")], &["elkien"]);
        let err = t.candidates("GM0080", vec![corp("elkien")]).unwrap_err();
        assert!(err.to_string().contains("Afspraak 1k"), "{err}");
    }

    #[test]
    fn the_fairest_is_the_least_asked_and_ties_go_to_the_lowest_id() {
        let c = [corp("wonen"), corp("accolade"), corp("elkien")];
        assert_eq!(fairest(&c, &[0, 2, 1]), corp("wonen"));
        assert_eq!(fairest(&c, &[1, 1, 1]), corp("accolade"));
        assert_eq!(fairest(&c, &[3, 1, 1]), corp("accolade"));
    }

    #[test]
    fn an_assignment_adds_a_running_entry_and_names_the_corporatie() {
        let t = turn(None, vec![asked("wonen", "geweigerd")], &["wonen"]);
        let b = t.assign(
            json!({"status": "goedgekeurd"}),
            &corp("elkien"),
            "2026-02-01",
        );
        assert_eq!(b["toegewezen_corporatie"], "corporatie:elkien");
        assert_eq!(
            b["corporatie_historie"][1],
            asked("elkien", "lopend")
                .as_object()
                .map(|o| {
                    let mut o = o.clone();
                    o.insert("datum_aanmelding".into(), json!("2026-02-01"));
                    Json::Object(o)
                })
                .unwrap()
        );
        assert_eq!(b["status"], "goedgekeurd");
    }
}
