//! `GET /werkplek/huurdermeldingen` and `POST`: at a corporatie, the medewerker's melding to the Transferpunt about
//! a tenant the corporatie holds no case of (`crate::huurdermelding`; Bijlage 2), whom to call meanwhile, and the
//! meldingen sent with the Transferpunt's answers.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;

use super::{PageError, Signed, layout};
use crate::access::Permission;
use crate::api::ApiState;
use crate::huurdermelding::Huurdermelding;
use policies::Role;

/// The form as the browser posts it.
#[derive(Debug, Default, Deserialize)]
pub(super) struct MeldingForm {
    #[serde(default)]
    bsn: String,
    #[serde(default)]
    datum_melding: String,
    #[serde(default)]
    soort: String,
    #[serde(default)]
    ave_niveau: String,
    #[serde(default)]
    omschrijving: String,
    #[serde(default)]
    gemeld_bij_toezichthouder: String,
    #[serde(default)]
    woongemeente: String,
    #[serde(default)]
    contactpersoon: String,
    #[serde(default)]
    telefoonnummer: String,
}

/// `GET /werkplek/huurdermeldingen`.
pub(super) async fn page(
    State(state): State<ApiState>,
    signed: Signed,
) -> Result<Response, PageError> {
    signed.need(Permission::Cases)?;
    render(&state, &signed, None, &MeldingForm::default()).await
}

/// `POST /werkplek/huurdermeldingen`: the melding made (and queued for the Transferpunt), or what is wrong with it.
pub(super) async fn make(
    State(state): State<ApiState>,
    signed: Signed,
    body: axum::body::Bytes,
) -> Result<Response, PageError> {
    signed.need(Permission::Cases)?;
    let form: MeldingForm = serde_urlencoded::from_bytes(&body)
        .map_err(|e| PageError::BadRequest(format!("Het formulier is onvolledig: {e}.")))?;
    let datum = time::Date::parse(
        &form.datum_melding,
        time::macros::format_description!("[year]-[month]-[day]"),
    );
    let notice = match datum {
        Err(_) => fout("Datum: vul een datum in (dag, maand, jaar)."),
        Ok(datum_melding) => {
            let melding = Huurdermelding {
                id: String::new(),
                bsn: form.bsn.trim().to_string(),
                datum_melding,
                soort: form.soort.clone(),
                ave_niveau: form.ave_niveau.parse().unwrap_or(0),
                omschrijving: form.omschrijving.clone(),
                gemeld_bij_toezichthouder: match form.gemeld_bij_toezichthouder.as_str() {
                    "ja" => Some(true),
                    "nee" => Some(false),
                    _ => None,
                },
                woongemeente: form.woongemeente.clone(),
                contactpersoon: form.contactpersoon.clone(),
                telefoonnummer: form.telefoonnummer.clone(),
            };
            match state.node.meld_huurder(&signed.session.user, melding).await {
                Ok(_) => {
                    let notice = html! {
                        div.melding.goed role="status" {
                            p { "De melding staat klaar voor het Transferpunt en gaat mee met de eerstvolgende verbinding. Het antwoord verschijnt hieronder." }
                        }
                    };
                    return render(&state, &signed, Some(notice), &MeldingForm::default()).await;
                }
                Err(crate::service::ServiceError::BadRequest(why)) => fout(&why),
                Err(e) => return Err(e.into()),
            }
        }
    };
    render(&state, &signed, Some(notice), &form).await
}

fn fout(why: &str) -> Markup {
    html! {
        div.melding.fout role="alert" {
            p { "De melding is niet verstuurd:" }
            ul { @for reden in why.lines() { li { (reden) } } }
        }
    }
}

async fn render(
    state: &ApiState,
    signed: &Signed,
    notice: Option<Markup>,
    form: &MeldingForm,
) -> Result<Response, PageError> {
    let node = &state.node;
    if node.partner().role() != Role::Corporatie {
        return Err(PageError::NotThisPartner(
            "Een huurdermelding maakt een woningcorporatie (Bijlage 2); andere partners melden in de casus.".into(),
        ));
    }
    let sent = node.huurdermeldingen().await?;
    let contacts = node.vaste_contactpersonen().unwrap_or_default();
    let mut gemeenten: Vec<(String, String)> = node
        .gemeenten()
        .iter()
        .map(|(code, name)| (code.to_string(), name.to_string()))
        .collect();
    gemeenten.sort_by(|a, b| a.1.cmp(&b.1));
    let gekozen = if form.woongemeente.is_empty() {
        gemeenten.first().map(|g| g.0.clone()).unwrap_or_default()
    } else {
        form.woongemeente.clone()
    };
    let bellen = node.bereikbaarheid_zonder_dossier(&gekozen).await.ok();
    let vandaag = node.clock_now().date().to_string();
    let datum = if form.datum_melding.is_empty() {
        vandaag.as_str()
    } else {
        form.datum_melding.as_str()
    };
    let csrf = &signed.session.csrf;
    let body = html! {
        h1 { "Melding over een huurder" }
        p { "Voor een huurder van wie deze corporatie geen casus in de federatie heeft: iemand die regulier uitstroomde, of van wie de casus na de omklap is afgesloten. Het Transferpunt zoekt de huurder op en brengt het contact met de betrokken partijen tot stand (Bijlage 2). U hoort niet of de huurder bij het Transferpunt bekend is: iedereen heeft recht op een nieuwe start." }
        @if let Some(n) = notice { (n) }
        @if let Some(b) = &bellen {
            h2 { "Wie belt u nu?" }
            ul {
                @for p in &b.partners {
                    li {
                        strong {
                            @match (&p.entry, node.gemeenten().name(p.partner.code())) {
                                (Some(e), _) => (e.name),
                                (None, Some(naam)) if p.partner.role() == Role::Gemeente => { "Gemeente " (naam) }
                                _ => (p.partner),
                            }
                        }
                        " — " (p.waarom)
                        @if let Some(e) = &p.entry {
                            @if let Some(t) = &e.telefoon_24_uur { ", 24 uur per dag: " (t) }
                            @if let Some(w) = &e.bereikbaar { " (" (w) ")" }
                        }
                    }
                }
            }
        }
        h2 { "Nieuwe melding" }
        form method="post" action="/werkplek/huurdermeldingen" {
            input type="hidden" name="_csrf" value=(csrf);
            div.veld {
                label for="bsn" { "Burgerservicenummer van de huurder" }
                input #bsn type="text" name="bsn" inputmode="numeric" autocomplete="off" required value=(form.bsn);
            }
            div.veld {
                label for="datum_melding" { "Datum" }
                input #datum_melding type="date" name="datum_melding" required value=(datum);
            }
            div.veld {
                label for="soort" { "Soort melding" }
                select #soort name="soort" {
                    @for s in policies::model::SOORT_MELDING {
                        option value=(s) selected[form.soort == *s] { (s.replace('_', " ")) }
                    }
                }
            }
            div.veld {
                label for="ave_niveau" { "AVE-niveau" }
                select #ave_niveau name="ave_niveau" {
                    @for n in 1..=4u8 {
                        option value=(n) selected[form.ave_niveau == n.to_string()] { "AVE " (n) }
                    }
                }
            }
            div.veld {
                label for="omschrijving" { "Wat is er aan de hand?" }
                textarea #omschrijving name="omschrijving" rows="5" required maxlength=(crate::huurdermelding::MAX_OMSCHRIJVING) { (form.omschrijving) }
            }
            div.veld {
                label for="gemeld_bij_toezichthouder" { "Gemeld bij de Toezichthouder (bij een incident of calamiteit)" }
                select #gemeld_bij_toezichthouder name="gemeld_bij_toezichthouder" {
                    option value="" { "niet van toepassing" }
                    option value="ja" selected[form.gemeld_bij_toezichthouder == "ja"] { "ja" }
                    option value="nee" selected[form.gemeld_bij_toezichthouder == "nee"] { "nee" }
                }
            }
            div.veld {
                label for="woongemeente" { "Gemeente waar de woning staat" }
                select #woongemeente name="woongemeente" {
                    @for (code, naam) in &gemeenten {
                        option value=(code) selected[*code == gekozen] { (naam) }
                    }
                }
            }
            div.veld {
                label for="contactpersoon" { "Vaste contactpersoon die meldt" }
                select #contactpersoon name="contactpersoon" {
                    @for c in &contacts {
                        option value=(c) selected[form.contactpersoon == *c] { (c) }
                    }
                }
            }
            div.veld {
                label for="telefoonnummer" { "Telefoonnummer om terug te bellen" }
                input #telefoonnummer type="tel" name="telefoonnummer" autocomplete="tel" required value=(form.telefoonnummer);
            }
            button.primair type="submit" { "Melding versturen" }
        }
        h2 { "Verstuurde meldingen" }
        @if sent.is_empty() { p { "Nog geen." } }
        @else {
            table {
                caption { "Meldingen aan het Transferpunt, nieuwste eerst" }
                thead { tr {
                    th scope="col" { "Gemaakt" } th scope="col" { "Soort" } th scope="col" { "Ontvangen" } th scope="col" { "Antwoord" }
                } }
                tbody { @for m in &sent { tr {
                    td { (m.gedaan_op.date()) }
                    td { (m.soort.replace('_', " ")) }
                    td { @if let Some(t) = m.ontvangen_op { (t.date()) } @else { "nog niet" } }
                    td { (m.antwoord.as_deref().unwrap_or("")) }
                } } }
            }
        }
    };
    Ok(layout::page("Melding over een huurder", Some(&signed.session), body).into_response())
}
