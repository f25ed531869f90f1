//! Meldingen as a process (issue #17 item 1; Afspraak 7, Bijlage 1 7c–h, Bijlage 2): the rule of the write path
//! that needs the federation directory — a melding is presented to the Transferpunt only through one of the
//! partner's vaste contactpersonen (Afspraak 3g: at most two per partner, as the signed directory lists them;
//! Bijlage 1, 7d: "Alleen de vaste contactpersoon van Partij mag de melding voorleggen aan het Transferpunt").
//!
//! The rest of the process is data and policy: the AVE ladder and its history are validated with the melding
//! (`policies::validate`), the Transferpunt's overleg, bindende afspraken and terugkoppeling are its
//! `voorlegging` (one per melding, `policies::model::voorlegging_instance`), which goes back to the presenting
//! partner only (`sync::plan`), and the deadlines are the monitor's (`monitor::alerts`).

use policies::validate::Rule;
use policies::{DocumentKind, Form, ValidationError, ValidationErrors};
use serde_json::Value as Json;

/// Whether `form` (a melding) may be written by this partner, whose vaste contactpersonen the directory in force
/// names as `contacts` (`None`: no directory in force yet). Only a write that presents the melding — sets
/// `voorgelegd_aan_transferpunt`, or changes who presented it — is judged: a contact who leaves later does not
/// make the melding's earlier voorlegging unwritable. Pure.
pub fn check_voorlegger(
    form: &Form,
    old: Option<&Json>,
    contacts: Option<&[String]>,
) -> Result<(), ValidationErrors> {
    if form.kind() != DocumentKind::Melding
        || form.bool("voorgelegd_aan_transferpunt") != Some(true)
    {
        return Ok(());
    }
    let door = form.text("voorgelegd_door").unwrap_or_default();
    let was = |field: &str| old.and_then(|o| o.get(field)).cloned();
    if was("voorgelegd_aan_transferpunt") == Some(Json::Bool(true))
        && was("voorgelegd_door").as_ref().and_then(Json::as_str) == Some(door)
    {
        return Ok(());
    }
    let refuse = |field: &str, reden: String| {
        Err(ValidationErrors(vec![ValidationError {
            document: DocumentKind::Melding,
            field: field.into(),
            rule: Rule::VasteContactpersoon { reden },
        }]))
    };
    if form.bool("voorgelegd_door_vaste_contactpersoon") != Some(true) {
        return refuse(
            "voorgelegd_door_vaste_contactpersoon",
            "de melding is voorgelegd, maar niet door een vaste contactpersoon".into(),
        );
    }
    let Some(contacts) = contacts else {
        return refuse(
            "voorgelegd_door",
            "deze node heeft nog geen federatiegids, dus geen vaste contactpersonen om tegen te controleren".into(),
        );
    };
    let same = |c: &String| c.trim().to_lowercase() == door.trim().to_lowercase();
    if contacts.iter().any(same) {
        Ok(())
    } else if contacts.is_empty() {
        refuse(
            "voorgelegd_door",
            "de federatiegids noemt geen vaste contactpersoon voor deze partij".into(),
        )
    } else {
        // The names the directory lists are no secret between partners (the directory is shared), but the refused
        // name is: it is not repeated.
        refuse(
            "voorgelegd_door",
            format!(
                "'voorgelegd_door' is niet één van de vaste contactpersonen van deze partij in de federatiegids ({})",
                contacts.join(", ")
            ),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use policies::{Gemeenten, Validator};
    use serde_json::json;
    use time::macros::date;

    fn melding(door: &str, vast: bool) -> Form {
        let g = Gemeenten::friesland();
        Validator::new(&g, date!(2026 - 06 - 01))
            .form(
                DocumentKind::Melding,
                &json!({
                    "datum_melding": "2026-05-01", "melder": "corporatie", "soort": "knelpunt", "ave_niveau": 3,
                    "omschrijving": "Overlast", "status": "voorgelegd_transferpunt", "regie": "gebiedsteam",
                    "lokale_aanpak": "Overleg in het Zorg- en Veiligheidshuis", "voorgelegd_aan_transferpunt": true,
                    "voorgelegd_door_vaste_contactpersoon": vast, "voorgelegd_door": door,
                    "datum_voorgelegd": "2026-05-20"
                }),
            )
            .expect("valid melding")
    }

    #[test]
    fn only_a_vaste_contactpersoon_in_the_directory_presents() {
        let contacts = vec!["Anna de Vries".to_string(), "Piet Bakker".to_string()];
        assert!(check_voorlegger(&melding("anna de vries", true), None, Some(&contacts)).is_ok());
        let e =
            check_voorlegger(&melding("Iemand Anders", true), None, Some(&contacts)).unwrap_err();
        assert!(e.has("voorgelegd_door", "vaste_contactpersoon"), "{e}");
        assert!(e.to_string().contains("Afspraak 3g"), "{e}");
        assert!(!e.to_string().contains("Iemand Anders"), "{e}");
        let e =
            check_voorlegger(&melding("Anna de Vries", false), None, Some(&contacts)).unwrap_err();
        assert!(
            e.has(
                "voorgelegd_door_vaste_contactpersoon",
                "vaste_contactpersoon"
            ),
            "{e}"
        );
        let e = check_voorlegger(&melding("Anna de Vries", true), None, None).unwrap_err();
        assert!(e.has("voorgelegd_door", "vaste_contactpersoon"), "{e}");
        // Presented before, by someone who was a contact then: a later write (a status) is not judged again.
        let old = json!({"voorgelegd_aan_transferpunt": true, "voorgelegd_door": "Oud Contact"});
        assert!(
            check_voorlegger(&melding("Oud Contact", true), Some(&old), Some(&contacts)).is_ok()
        );
    }
}
