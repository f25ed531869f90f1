//! The Transferpunt's steps in a bemiddeling that software can take off its hands: choosing the next corporatie
//! in the uitstroomgemeente "om en om" (evaluation §4.1), and writing the aanmeldbericht from what the case holds.

use policies::{DocumentKind, PartnerId, Role};
use serde_json::{Map, Value as Json, json};

use crate::service::{LoadedCase, Node, ServiceError};
use crate::store::{CaseId, User};

fn bad(msg: impl Into<String>) -> ServiceError {
    ServiceError::BadRequest(msg.into())
}

/// The forms of a kind in a loaded case with their instance names (own documents and projected sections).
fn with_instances(loaded: &LoadedCase, kind: DocumentKind) -> Vec<(String, Json)> {
    let mut out = Vec::new();
    for (section, form) in loaded.projected.iter().zip(&loaded.projected_forms) {
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
/// Rules: the gemeente has given its akkoord; the corporatie now assigned (if any) has refused; corporaties that
/// refused this case are skipped (one refusal must not cause another, Afspraak 1g); among the rest, the one with
/// the fewest cases assigned so far goes first (ties by id) — "om en om" across the gemeente's corporaties.
pub async fn assign_corporatie(
    node: &Node,
    user: &User,
    case: &CaseId,
) -> Result<PartnerId, ServiceError> {
    if node.partner().role() != Role::Transferpunt {
        return Err(bad(
            "alleen het Transferpunt wijst een woningcorporatie toe",
        ));
    }
    let loaded = node.load_case(case).await?;
    let beoordeling = loaded
        .docs
        .first(DocumentKind::Beoordeling)
        .ok_or_else(|| bad("beoordeel het bemiddelingsverzoek eerst"))?;
    let gemeente = beoordeling
        .text("gekozen_uitstroomgemeente")
        .ok_or_else(|| bad("kies eerst de uitstroomgemeente"))?
        .to_string();
    let akkoord = loaded
        .docs
        .all(DocumentKind::Gemeente)
        .iter()
        .any(|g| g.text("akkoord_uitstroom") == Some("akkoord"));
    if !akkoord {
        return Err(bad(format!(
            "gemeente {gemeente} heeft nog geen akkoord gegeven op de uitstroom"
        )));
    }
    let mut json = beoordeling.to_json();
    let mut history: Vec<Json> = json
        .get("corporatie_historie")
        .and_then(Json::as_array)
        .cloned()
        .unwrap_or_default();
    let refused: Vec<String> = with_instances(&loaded, DocumentKind::Reactie)
        .into_iter()
        .filter(|(_, r)| r.get("besluit").and_then(Json::as_str) == Some("geweigerd"))
        .map(|(i, _)| i)
        .collect();
    if let Some(current) = beoordeling.text("toegewezen_corporatie")
        && !refused.iter().any(|r| r == current)
    {
        return Err(bad(format!(
            "{current} is nog aan zet: wacht op haar besluit"
        )));
    }
    for h in &mut history {
        let c = h
            .get("corporatie")
            .and_then(Json::as_str)
            .unwrap_or_default()
            .to_string();
        if refused.contains(&c) {
            h["uitkomst"] = json!("geweigerd");
        }
    }
    let asked: Vec<String> = history
        .iter()
        .filter_map(|h| {
            h.get("corporatie")
                .and_then(Json::as_str)
                .map(str::to_string)
        })
        .collect();
    let candidates: Vec<PartnerId> = node
        .corporaties_in(&gemeente)
        .into_iter()
        .filter(|c| !asked.contains(&c.to_string()))
        .collect();
    if candidates.is_empty() {
        return Err(bad(format!(
            "geen woningcorporatie in {gemeente} meer over; gemeente en zorgaanbieder zoeken verder (Afspraak 1k)"
        )));
    }
    // Fairness: how many cases each candidate was asked for before.
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
    let pick = (0..candidates.len())
        .min_by_key(|&i| (counts[i], candidates[i].to_string()))
        .expect("candidates is not empty");
    let chosen = candidates[pick].clone();
    let today = policies::form::format_date(node.clock_now().date());
    history.push(
        json!({"corporatie": chosen.to_string(), "datum_aanmelding": today, "uitkomst": "lopend"}),
    );
    json["toegewezen_corporatie"] = json!(chosen.to_string());
    json["corporatie_historie"] = Json::Array(history);
    node.write_form(user, case, DocumentKind::Beoordeling, None, &json)
        .await?;

    let mut bericht = Map::new();
    bericht.insert("corporatie".into(), json!(chosen.to_string()));
    bericht.insert("datum_verzonden".into(), json!(today));
    bericht.insert("beoogde_uitstroomgemeente".into(), json!(gemeente));
    let take = |kind: DocumentKind, field: &str| {
        loaded
            .docs
            .first(kind)
            .and_then(|f| f.get(field))
            .map(|v| v.to_json())
    };
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
        if let Some(v) = take(kind, from) {
            bericht.insert(to.into(), v);
        }
    }
    node.write_form(
        user,
        case,
        DocumentKind::Aanmeldbericht,
        Some(&chosen.to_string()),
        &Json::Object(bericht),
    )
    .await?;
    Ok(chosen)
}
