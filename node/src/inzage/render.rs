//! The inzage report as a Dutch HTML page a person can read: one self-contained file, print- and PDF-ready (its
//! own print CSS, no script, no outside resources), and the same content as JSON.

use maud::{DOCTYPE, Markup, html};

use super::{Casus, Rapport, Stroom};

const CSS: &str = "
body{font-family:'Noto Sans',Arial,sans-serif;font-size:11pt;line-height:1.45;color:#111;max-width:60rem;margin:2rem auto;padding:0 1rem}
h1{font-size:1.6rem}h2{font-size:1.3rem;border-bottom:2px solid #154273;padding-bottom:.2rem;margin-top:2rem}
h3{font-size:1.1rem;margin-top:1.4rem}
table{border-collapse:collapse;width:100%;margin:.5rem 0 1rem}
th,td{border:1px solid #999;padding:.3rem .5rem;text-align:left;vertical-align:top}
th{background:#eef2f7}
caption{text-align:left;font-weight:bold;padding:.3rem 0}
.klein{font-size:.9em;color:#333}
@media print{body{margin:0;max-width:none;font-size:10pt}h2{break-after:avoid}tr,table{break-inside:avoid}
@page{size:A4;margin:18mm}a{color:inherit;text-decoration:none}}
";

fn datum(t: &time::OffsetDateTime) -> String {
    format!(
        "{:02}-{:02}-{} {:02}:{:02}",
        t.day(),
        u8::from(t.month()),
        t.year(),
        t.hour(),
        t.minute()
    )
}

fn stromen(list: &[Stroom]) -> Markup {
    html! {
        @for s in list {
            div {
                strong { (s.naam) }
                @if let Some(d) = &s.doel { br; "Doel: " (d) }
                @if let Some(g) = &s.grondslag { br; span.klein { "Grondslag: " (g) } }
            }
        }
    }
}

fn casus(c: &Casus) -> Markup {
    html! {
        section {
            h2 { "Dossier " code { (c.casus) } }
            p.klein { "Bij ons bekend sinds " (datum(&c.sinds)) "." }
            h3 { "Formulieren die wij zelf bijhouden" }
            @if c.formulieren.is_empty() { p { "Geen." } }
            @for f in &c.formulieren {
                table {
                    caption { "Formulier " (f.document) " — ingevuld door " (f.geschreven_door.join(", ")) }
                    thead { tr { th scope="col" { "Gegeven" } th scope="col" { "Waarde" } } }
                    tbody { @for v in &f.velden { tr { td { (v.omschrijving) } td { (v.waarde) } } } }
                }
            }
            h3 { "Gegevens die wij van partners ontvingen" }
            @if c.ontvangen.is_empty() { p { "Geen." } }
            @for o in &c.ontvangen {
                table {
                    caption { "Van " (o.afzender) ": " (o.document) }
                    thead { tr { th scope="col" { "Gegeven" } th scope="col" { "Waarde" } th scope="col" { "Gedeeld volgens afspraak" } } }
                    tbody { @for v in &o.velden { tr {
                        td { (v.omschrijving) } td { (v.waarde) } td { (v.stroom.clone().unwrap_or_else(|| "onbekend".into())) }
                    } } }
                }
                @if !o.stromen.is_empty() { div.klein { (stromen(&o.stromen)) } }
            }
            @if !c.ontvangsten.is_empty() {
                table {
                    caption { "Wanneer wij gegevens ontvingen" }
                    thead { tr { th scope="col" { "Tijdstip" } th scope="col" { "Van" } th scope="col" { "Gegevens" } th scope="col" { "Wat" } } }
                    tbody { @for r in &c.ontvangsten { tr {
                        td { (datum(&r.tijdstip)) } td { (r.afzender) } td { (r.velden.join(", ")) } td { (r.handeling) }
                    } } }
                }
            }
            h3 { "Aan wie wij gegevens over u verstrekten" }
            @if c.verstrekkingen.is_empty() { p { "Wij hebben geen gegevens over u aan partners verstrekt." } }
            @else {
                table {
                    caption { "Verstrekkingen (uit ons logboek)" }
                    thead { tr {
                        th scope="col" { "Tijdstip" } th scope="col" { "Aan" } th scope="col" { "Welke gegevens" }
                        th scope="col" { "Doel en grondslag" }
                    } }
                    tbody { @for d in &c.verstrekkingen { tr {
                        td { (datum(&d.tijdstip)) }
                        td { (d.ontvanger) }
                        td { (d.velden.join(", ")) }
                        td { (stromen(&d.stromen)) span.klein { (d.doel) @if let Some(b) = &d.beleid { " (beleid " (b) ")" } } }
                    } } }
                }
            }
        }
    }
}

/// The report as one HTML page.
pub fn html(r: &Rapport) -> String {
    let page = html! {
        (DOCTYPE)
        html lang="nl" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { "Inzage in uw gegevens — " (r.partner) }
                style { (maud::PreEscaped(CSS)) }
            }
            body {
                main {
                    h1 { "Inzage in uw gegevens" }
                    p { "Dit overzicht laat zien welke gegevens " strong { (r.partner) } " over u bewaart binnen het Convenant Weer Thuis, van wie wij ze kregen en aan wie wij ze gaven (Algemene verordening gegevensbescherming, artikel 15)." }
                    p.klein { "Gemaakt op " (datum(&r.gemaakt_op)) ", onder beleid " (r.beleid) "." }
                    @if r.casussen.is_empty() {
                        p { "Wij hebben geen gegevens over u." }
                    }
                    @for c in &r.casussen { (casus(c)) }
                    h2 { "Partners die gegevens over u van ons kregen" }
                    @if r.ontvangers.is_empty() { p { "Geen." } }
                    @else {
                        p { "Iedere partner is zelf verantwoordelijk voor wat hij over u bewaart. U kunt ook bij hen inzage vragen; wij kunnen uw verzoek namens u aan hen doorsturen:" }
                        ul { @for o in &r.ontvangers { li { (o) } } }
                    }
                }
            }
        }
    };
    page.into_string()
}

/// The report as JSON.
pub fn json(r: &Rapport) -> String {
    serde_json::to_string_pretty(r).expect("a report serialises")
}
