//! What the monitor keeps of a case once the case itself is gone (the bewaartermijn, AVG art. 5(1)(e)): its
//! contribution to the yearly figures as aggregate rows — a year, an indicator, the partner or key it is counted
//! under, a count and (for a mean) a sum — with no case id, no BSN, no name. Rows add up: the figures of a year are
//! those of the cases still held plus the rows kept ([`per_jaar_met`]), so a year's figures do not change when its
//! cases are purged.
//!
//! Every figure of [`Jaarcijfers`] is a count or a mean (a sum and a count), so its rows are exact; a new figure
//! needs a row here too, which [`tests`] checks by taking a rich year apart and putting it back together.

use std::collections::BTreeMap;

use crate::MonitorCase;
use crate::indicators::{
    CorporatieCijfers, GemeenteCijfers, Jaarcijfers, Mean, ZorgaanbiederCijfers, per_jaar,
};

/// One aggregate row: how much one indicator counted in one year, under one partner and key.
#[derive(Debug, Clone, PartialEq)]
pub struct Cijfer {
    /// The year the figure belongs to.
    pub jaar: i32,
    /// The indicator (`verzoeken`, `gemeente.uitval`, `corporatie.weigeringen`, …): see [`Jaarcijfers`].
    pub indicator: String,
    /// The gemeente (code) or corporatie (partner id) of a per-partner figure, else empty.
    pub partij: String,
    /// The key within the indicator (a reason, a voorziening, a kind of mutatie or woning), else empty.
    pub sleutel: String,
    /// The count (of a mean: how many values).
    pub aantal: u32,
    /// Of a mean: the sum of its values; else 0.
    pub som: f64,
}

/// An indicator name a row carries that this version does not know: kept rows from a newer version, or a damaged
/// table. Refused rather than skipped, since skipping would change a year's figures without a word.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown monitor indicator {0:?} in the kept aggregates")]
pub struct UnknownIndicator(pub String);

struct Rows<'a> {
    jaar: i32,
    out: &'a mut Vec<Cijfer>,
}

impl Rows<'_> {
    fn count(&mut self, indicator: &str, partij: &str, sleutel: &str, n: u32) {
        self.out.push(Cijfer {
            jaar: self.jaar,
            indicator: indicator.to_string(),
            partij: partij.to_string(),
            sleutel: sleutel.to_string(),
            aantal: n,
            som: 0.0,
        });
    }

    fn mean(&mut self, indicator: &str, partij: &str, m: &Mean) {
        self.out.push(Cijfer {
            jaar: self.jaar,
            indicator: indicator.to_string(),
            partij: partij.to_string(),
            sleutel: String::new(),
            aantal: m.n,
            som: m.sum,
        });
    }

    fn map(&mut self, indicator: &str, partij: &str, m: &BTreeMap<String, u32>) {
        for (k, n) in m {
            self.count(indicator, partij, k, *n);
        }
    }
}

impl Jaarcijfers {
    /// The year as aggregate rows. Every per-partner figure is written, zero counts too, so the partner is listed
    /// in the year as it was; a year's scalar figures only when not zero.
    pub fn cijfers(&self) -> Vec<Cijfer> {
        let mut out = Vec::new();
        let mut r = Rows {
            jaar: self.jaar,
            out: &mut out,
        };
        for (name, n) in [
            ("verzoeken", self.verzoeken),
            ("bemiddeld", self.bemiddeld),
            ("drie_partijen", self.drie_partijen),
            ("eigen_naam", self.eigen_naam),
            ("huurcontract_onbekend", self.huurcontract_onbekend),
            ("inschrijving_bekend", self.inschrijving_bekend),
            ("herkomst_bekend", self.herkomst_bekend),
            ("terug_naar_herkomst", self.terug_naar_herkomst),
            ("teruggestuurd", self.teruggestuurd),
            (
                "gebiedsteam_voor_verhuizing",
                self.gebiedsteam_voor_verhuizing,
            ),
            (
                "gebiedsteam_na_of_onbekend",
                self.gebiedsteam_na_of_onbekend,
            ),
            ("meldingen_toezichthouder", self.meldingen_toezichthouder),
        ] {
            if n > 0 {
                r.count(name, "", "", n);
            }
        }
        r.map("afwijzingen", "", &self.afwijzingen);
        r.map("regulier", "", &self.regulier);
        r.map("uitval", "", &self.uitval);
        r.map("gestart", "", &self.gestart);
        r.map("beeindigd", "", &self.beeindigd);
        r.map("meldingen", "", &self.meldingen);
        r.map("meldingen_uitkomst", "", &self.meldingen_uitkomst);
        r.map("omklap", "", &self.omklap);
        r.map("ondersteuning", "", &self.ondersteuning);
        for (name, m) in [
            ("inschrijfduur_maanden", &self.inschrijfduur_maanden),
            ("doorlooptijd_dagen", &self.doorlooptijd_dagen),
            ("dagen_tot_volledig", &self.dagen_tot_volledig),
        ] {
            if m.n > 0 {
                r.mean(name, "", m);
            }
        }
        for (g, c) in &self.per_gemeente {
            r.count("gemeente.verzoeken_herkomst", g, "", c.verzoeken_herkomst);
            r.count("gemeente.uitstroom_bemiddeld", g, "", c.uitstroom_bemiddeld);
            r.count("gemeente.uitstroom_regulier", g, "", c.uitstroom_regulier);
            r.count("gemeente.uitval", g, "", c.uitval);
            r.count("gemeente.instroom", g, "", c.instroom);
        }
        for (z, c) in &self.per_zorgaanbieder {
            r.count("zorgaanbieder.verzoeken", z, "", c.verzoeken);
            r.count(
                "zorgaanbieder.uitstroom_bemiddeld",
                z,
                "",
                c.uitstroom_bemiddeld,
            );
            r.count(
                "zorgaanbieder.uitstroom_regulier",
                z,
                "",
                c.uitstroom_regulier,
            );
            r.mean("zorgaanbieder.doorlooptijd_dagen", z, &c.doorlooptijd_dagen);
        }
        for (k, c) in &self.per_corporatie {
            r.count("corporatie.aanmeldberichten", k, "", c.aanmeldberichten);
            r.count("corporatie.geaccepteerd", k, "", c.geaccepteerd);
            r.count(
                "corporatie.informatie_gevraagd",
                k,
                "",
                c.informatie_gevraagd,
            );
            r.map("corporatie.weigeringen", k, &c.weigeringen);
            r.count("corporatie.aanbiedingen", k, "", c.aanbiedingen);
            r.count(
                "corporatie.aanbiedingen_geweigerd_door_client",
                k,
                "",
                c.aanbiedingen_geweigerd_door_client,
            );
            r.mean("corporatie.dagen_tot_besluit", k, &c.dagen_tot_besluit);
            r.mean("corporatie.dagen_tot_aanbod", k, &c.dagen_tot_aanbod);
        }
        out
    }

    /// Add one aggregate row of this year to the figures.
    pub fn add_cijfer(&mut self, c: &Cijfer) -> Result<(), UnknownIndicator> {
        fn add(m: &mut Mean, c: &Cijfer) {
            m.sum += c.som;
            m.n += c.aantal;
        }
        let n = c.aantal;
        let key = || c.sleutel.clone();
        match c.indicator.as_str() {
            "verzoeken" => self.verzoeken += n,
            "bemiddeld" => self.bemiddeld += n,
            "drie_partijen" => self.drie_partijen += n,
            "eigen_naam" => self.eigen_naam += n,
            "huurcontract_onbekend" => self.huurcontract_onbekend += n,
            "inschrijving_bekend" => self.inschrijving_bekend += n,
            "herkomst_bekend" => self.herkomst_bekend += n,
            "terug_naar_herkomst" => self.terug_naar_herkomst += n,
            "teruggestuurd" => self.teruggestuurd += n,
            "gebiedsteam_voor_verhuizing" => self.gebiedsteam_voor_verhuizing += n,
            "gebiedsteam_na_of_onbekend" => self.gebiedsteam_na_of_onbekend += n,
            "meldingen_toezichthouder" => self.meldingen_toezichthouder += n,
            "meldingen" => *self.meldingen.entry(key()).or_default() += n,
            "meldingen_uitkomst" => *self.meldingen_uitkomst.entry(key()).or_default() += n,
            "omklap" => *self.omklap.entry(key()).or_default() += n,
            "ondersteuning" => *self.ondersteuning.entry(key()).or_default() += n,
            "afwijzingen" => *self.afwijzingen.entry(key()).or_default() += n,
            "regulier" => *self.regulier.entry(key()).or_default() += n,
            "uitval" => *self.uitval.entry(key()).or_default() += n,
            "gestart" => *self.gestart.entry(key()).or_default() += n,
            "beeindigd" => *self.beeindigd.entry(key()).or_default() += n,
            "inschrijfduur_maanden" => add(&mut self.inschrijfduur_maanden, c),
            "doorlooptijd_dagen" => add(&mut self.doorlooptijd_dagen, c),
            "dagen_tot_volledig" => add(&mut self.dagen_tot_volledig, c),
            other => {
                if let Some(field) = other.strip_prefix("gemeente.") {
                    let g: &mut GemeenteCijfers =
                        self.per_gemeente.entry(c.partij.clone()).or_default();
                    match field {
                        "verzoeken_herkomst" => g.verzoeken_herkomst += n,
                        "uitstroom_bemiddeld" => g.uitstroom_bemiddeld += n,
                        "uitstroom_regulier" => g.uitstroom_regulier += n,
                        "uitval" => g.uitval += n,
                        "instroom" => g.instroom += n,
                        _ => return Err(UnknownIndicator(other.to_string())),
                    }
                } else if let Some(field) = other.strip_prefix("zorgaanbieder.") {
                    let z: &mut ZorgaanbiederCijfers =
                        self.per_zorgaanbieder.entry(c.partij.clone()).or_default();
                    match field {
                        "verzoeken" => z.verzoeken += n,
                        "uitstroom_bemiddeld" => z.uitstroom_bemiddeld += n,
                        "uitstroom_regulier" => z.uitstroom_regulier += n,
                        "doorlooptijd_dagen" => add(&mut z.doorlooptijd_dagen, c),
                        _ => return Err(UnknownIndicator(other.to_string())),
                    }
                } else if let Some(field) = other.strip_prefix("corporatie.") {
                    let k: &mut CorporatieCijfers =
                        self.per_corporatie.entry(c.partij.clone()).or_default();
                    match field {
                        "aanmeldberichten" => k.aanmeldberichten += n,
                        "geaccepteerd" => k.geaccepteerd += n,
                        "informatie_gevraagd" => k.informatie_gevraagd += n,
                        "weigeringen" => *k.weigeringen.entry(key()).or_default() += n,
                        "aanbiedingen" => k.aanbiedingen += n,
                        "aanbiedingen_geweigerd_door_client" => {
                            k.aanbiedingen_geweigerd_door_client += n
                        }
                        "dagen_tot_besluit" => add(&mut k.dagen_tot_besluit, c),
                        "dagen_tot_aanbod" => add(&mut k.dagen_tot_aanbod, c),
                        _ => return Err(UnknownIndicator(other.to_string())),
                    }
                } else {
                    return Err(UnknownIndicator(other.to_string()));
                }
            }
        }
        Ok(())
    }
}

/// What one case adds to the figures, as aggregate rows: what the Transferpunt keeps before the case is purged.
pub fn bijdrage(case: &MonitorCase) -> Vec<Cijfer> {
    per_jaar(std::slice::from_ref(case))
        .values()
        .flat_map(Jaarcijfers::cijfers)
        .collect()
}

/// The figures per year of the cases held plus the aggregate rows kept of cases purged.
pub fn per_jaar_met(
    cases: &[MonitorCase],
    bewaard: &[Cijfer],
) -> Result<BTreeMap<i32, Jaarcijfers>, UnknownIndicator> {
    let mut years = per_jaar(cases);
    for c in bewaard {
        years
            .entry(c.jaar)
            .or_insert_with(|| Jaarcijfers {
                jaar: c.jaar,
                ..Default::default()
            })
            .add_cijfer(c)?;
    }
    Ok(years)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A year with every figure set to a distinct value: taken apart into rows and put back, it is the same year.
    #[test]
    fn a_year_taken_apart_into_rows_adds_up_to_itself() {
        let mut k = CorporatieCijfers {
            aanmeldberichten: 3,
            geaccepteerd: 4,
            informatie_gevraagd: 5,
            aanbiedingen: 6,
            aanbiedingen_geweigerd_door_client: 7,
            dagen_tot_besluit: Mean { sum: 8.0, n: 2 },
            dagen_tot_aanbod: Mean { sum: 9.5, n: 3 },
            ..Default::default()
        };
        k.weigeringen.insert("geen_passend_aanbod".into(), 2);
        let year = Jaarcijfers {
            jaar: 2024,
            verzoeken: 11,
            afwijzingen: [("onvolledig".to_string(), 1)].into(),
            bemiddeld: 12,
            regulier: [("sociale_huur".to_string(), 13)].into(),
            per_gemeente: [(
                "GM0080".to_string(),
                GemeenteCijfers {
                    verzoeken_herkomst: 1,
                    uitstroom_bemiddeld: 2,
                    uitstroom_regulier: 3,
                    uitval: 4,
                    instroom: 5,
                },
            )]
            .into(),
            drie_partijen: 14,
            eigen_naam: 15,
            huurcontract_onbekend: 16,
            per_corporatie: [
                ("corporatie:elkien".to_string(), k),
                // A corporatie with nothing counted yet is still listed in its year.
                ("corporatie:accolade".to_string(), Default::default()),
            ]
            .into(),
            uitval: [("overleden".to_string(), 17)].into(),
            gestart: [("bw".to_string(), 18)].into(),
            beeindigd: [("mo".to_string(), 19)].into(),
            inschrijving_bekend: 20,
            inschrijfduur_maanden: Mean { sum: 21.25, n: 2 },
            doorlooptijd_dagen: Mean { sum: 22.0, n: 3 },
            herkomst_bekend: 23,
            terug_naar_herkomst: 24,
            dagen_tot_volledig: Mean { sum: 25.0, n: 4 },
            teruggestuurd: 26,
            gebiedsteam_voor_verhuizing: 27,
            gebiedsteam_na_of_onbekend: 28,
            per_zorgaanbieder: [
                (
                    "zorgaanbieder:limor".to_string(),
                    ZorgaanbiederCijfers {
                        verzoeken: 29,
                        uitstroom_bemiddeld: 30,
                        uitstroom_regulier: 31,
                        doorlooptijd_dagen: Mean { sum: 32.5, n: 2 },
                    },
                ),
                // A zorgaanbieder with nothing counted yet is still listed in its year.
                ("zorgaanbieder:onbekend".to_string(), Default::default()),
            ]
            .into(),
            meldingen: [("knelpunt:3".to_string(), 33)].into(),
            meldingen_uitkomst: [("afgehandeld_na_voorlegging".to_string(), 34)].into(),
            meldingen_toezichthouder: 35,
            omklap: [("later_opnieuw".to_string(), 36)].into(),
            ondersteuning: [("afschaling".to_string(), 37)].into(),
        };
        let rows = year.cijfers();
        assert!(rows.iter().all(|r| r.jaar == 2024));
        let back = per_jaar_met(&[], &rows).unwrap();
        assert_eq!(back.get(&2024), Some(&year));
        // Twice the rows: every figure doubles (rows add up).
        let twice = per_jaar_met(&[], &[rows.clone(), rows].concat()).unwrap();
        assert_eq!(twice[&2024].verzoeken, 22);
        assert_eq!(
            twice[&2024].per_corporatie["corporatie:elkien"]
                .dagen_tot_aanbod
                .n,
            6
        );
    }

    #[test]
    fn an_unknown_indicator_is_refused() {
        let row = Cijfer {
            jaar: 2024,
            indicator: "wachtlijst".into(),
            partij: String::new(),
            sleutel: String::new(),
            aantal: 1,
            som: 0.0,
        };
        assert_eq!(
            per_jaar_met(&[], &[row]).unwrap_err(),
            UnknownIndicator("wachtlijst".into())
        );
    }
}
