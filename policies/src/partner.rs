//! Who takes part: roles, partner ids, and how a partner relates to a case.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

/// The role of a covenant partner. A node's role comes from its certificate, never from what it says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// The central Transferpunt (Sociaal Domein Fryslân).
    Transferpunt,
    /// A gemeente, by CBS code.
    Gemeente,
    /// A woningcorporatie.
    Corporatie,
    /// A provider of beschermd wonen or maatschappelijke opvang.
    Zorgaanbieder,
    /// A tenants' organisation: aggregate reports only.
    Huurdersorganisatie,
}

impl Role {
    /// Every role.
    pub const ALL: [Role; 5] = [
        Role::Transferpunt,
        Role::Gemeente,
        Role::Corporatie,
        Role::Zorgaanbieder,
        Role::Huurdersorganisatie,
    ];

    /// The role's name in policies and partner ids.
    pub fn name(self) -> &'static str {
        match self {
            Role::Transferpunt => "transferpunt",
            Role::Gemeente => "gemeente",
            Role::Corporatie => "corporatie",
            Role::Zorgaanbieder => "zorgaanbieder",
            Role::Huurdersorganisatie => "huurdersorganisatie",
        }
    }

    /// Parse a role name.
    pub fn from_name(s: &str) -> Option<Role> {
        Self::ALL.into_iter().find(|r| r.name() == s)
    }

    /// The relations a partner of this role can have to a case.
    pub fn relations(self) -> &'static [Relation] {
        use Relation::*;
        match self {
            Role::Transferpunt => &[Transferpunt],
            Role::Gemeente => &[Verblijfgemeente, Herkomstgemeente, Uitstroomgemeente, Geen],
            Role::Corporatie => &[ToegewezenCorporatie, EerdereCorporatie, Geen],
            Role::Zorgaanbieder => &[BetrokkenZorgaanbieder, OndersteunendeZorgaanbieder, Geen],
            Role::Huurdersorganisatie => &[Geen],
        }
    }

    /// The role with an indefinite article, in Dutch ("een woningcorporatie").
    pub fn label_nl(self) -> &'static str {
        match self {
            Role::Transferpunt => "het Transferpunt",
            Role::Gemeente => "een gemeente",
            Role::Corporatie => "een woningcorporatie",
            Role::Zorgaanbieder => "een zorgaanbieder",
            Role::Huurdersorganisatie => "een huurdersorganisatie",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Role {
    type Err = PartnerIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::from_name(s).ok_or_else(|| PartnerIdError::UnknownRole(s.to_string()))
    }
}

/// A partner of the federation: `<role>:<code>` (`gemeente:GM0080`, `corporatie:elkien`).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PartnerId {
    role: Role,
    code: String,
}

/// A partner id that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PartnerIdError {
    /// No `:` between role and code.
    #[error("partner id {0:?} is not of the form <role>:<code>")]
    Format(String),
    /// The role is not one of the covenant's.
    #[error(
        "unknown role {0:?}; expected one of transferpunt, gemeente, corporatie, zorgaanbieder, huurdersorganisatie"
    )]
    UnknownRole(String),
    /// The code has characters outside `[A-Za-z0-9_-]`, or is empty or too long.
    #[error("partner code {0:?} must be 1-64 characters of letters, digits, '-' or '_'")]
    Code(String),
    /// A gemeente's code must be a CBS code.
    #[error("a gemeente's code must be a CBS gemeentecode like GM0080, not {0:?}")]
    GemeenteCode(String),
}

impl PartnerId {
    /// A partner id from its parts, checked.
    pub fn new(role: Role, code: &str) -> Result<Self, PartnerIdError> {
        let valid = !code.is_empty()
            && code.len() <= 64
            && code
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if !valid {
            return Err(PartnerIdError::Code(code.to_string()));
        }
        if role == Role::Gemeente && !crate::gemeenten::is_cbs_code_format(code) {
            return Err(PartnerIdError::GemeenteCode(code.to_string()));
        }
        Ok(PartnerId {
            role,
            code: code.to_string(),
        })
    }

    /// The partner's role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The code within the role (`GM0080`, `elkien`).
    pub fn code(&self) -> &str {
        &self.code
    }
}

impl fmt::Display for PartnerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.role, self.code)
    }
}

impl FromStr for PartnerId {
    type Err = PartnerIdError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let (role, code) = s
            .split_once(':')
            .ok_or_else(|| PartnerIdError::Format(s.to_string()))?;
        PartnerId::new(role.parse()?, code)
    }
}

impl Serialize for PartnerId {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PartnerId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

/// How a partner relates to a case. Relations come from the case itself, never from the partner's claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Relation {
    /// The Transferpunt: every case of the region.
    Transferpunt,
    /// The zorgaanbieder that registered the client.
    BetrokkenZorgaanbieder,
    /// The zorgaanbieder that gives the support after outflow (Afspraak 4f).
    OndersteunendeZorgaanbieder,
    /// The gemeente where the client stays now.
    Verblijfgemeente,
    /// The gemeente the client came from.
    Herkomstgemeente,
    /// The gemeente chosen (or expected) for outflow.
    Uitstroomgemeente,
    /// The corporatie the Transferpunt sent the aanmeldbericht to, now.
    ToegewezenCorporatie,
    /// A corporatie that was asked before and refused or withdrew.
    EerdereCorporatie,
    /// No relation to this case.
    Geen,
}

impl Relation {
    /// Every relation.
    pub const ALL: [Relation; 9] = [
        Relation::Transferpunt,
        Relation::BetrokkenZorgaanbieder,
        Relation::OndersteunendeZorgaanbieder,
        Relation::Verblijfgemeente,
        Relation::Herkomstgemeente,
        Relation::Uitstroomgemeente,
        Relation::ToegewezenCorporatie,
        Relation::EerdereCorporatie,
        Relation::Geen,
    ];

    /// The relation's name in policies.
    pub fn name(self) -> &'static str {
        match self {
            Relation::Transferpunt => "transferpunt",
            Relation::BetrokkenZorgaanbieder => "betrokken_zorgaanbieder",
            Relation::OndersteunendeZorgaanbieder => "ondersteunende_zorgaanbieder",
            Relation::Verblijfgemeente => "verblijfgemeente",
            Relation::Herkomstgemeente => "herkomstgemeente",
            Relation::Uitstroomgemeente => "uitstroomgemeente",
            Relation::ToegewezenCorporatie => "toegewezen_corporatie",
            Relation::EerdereCorporatie => "eerdere_corporatie",
            Relation::Geen => "geen",
        }
    }

    /// Parse a relation name.
    pub fn from_name(s: &str) -> Option<Relation> {
        Self::ALL.into_iter().find(|r| r.name() == s)
    }

    /// The role a partner with this relation has (`None` for [`Relation::Geen`], which any role can have).
    pub fn role(self) -> Option<Role> {
        Role::ALL
            .into_iter()
            .find(|r| self != Relation::Geen && r.relations().contains(&self))
    }

    /// The partner with this relation, in Dutch, with article ("de toegewezen woningcorporatie").
    pub fn label_nl(self, role: Role) -> String {
        match self {
            Relation::Transferpunt => "het Transferpunt".into(),
            Relation::BetrokkenZorgaanbieder => "de betrokken zorgaanbieder".into(),
            Relation::OndersteunendeZorgaanbieder => {
                "de zorgaanbieder die de ondersteuning na uitstroom biedt".into()
            }
            Relation::Verblijfgemeente => "de gemeente waar de cliënt verblijft".into(),
            Relation::Herkomstgemeente => "de herkomstgemeente".into(),
            Relation::Uitstroomgemeente => "de (beoogde) uitstroomgemeente".into(),
            Relation::ToegewezenCorporatie => "de toegewezen woningcorporatie".into(),
            Relation::EerdereCorporatie => "een eerder benaderde woningcorporatie".into(),
            Relation::Geen if role == Role::Huurdersorganisatie => "een huurdersorganisatie".into(),
            Relation::Geen => format!("{} zonder betrokkenheid bij de casus", role.label_nl()),
        }
    }
}

impl fmt::Display for Relation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The phase of a case, derived from the documents it holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Fase {
    /// Registered at intake.
    Registratie,
    /// Aanmelding done.
    Aanmelding,
    /// Working towards outflow.
    VervolgWonen,
    /// A bemiddelingsverzoek is in.
    Bemiddeling,
    /// Placed (afmelding received).
    Plaatsing,
    /// Closed by the Transferpunt.
    Afgesloten,
}

impl Fase {
    /// Every phase, in order.
    pub const ALL: [Fase; 6] = [
        Fase::Registratie,
        Fase::Aanmelding,
        Fase::VervolgWonen,
        Fase::Bemiddeling,
        Fase::Plaatsing,
        Fase::Afgesloten,
    ];

    /// The phase's name in policies.
    pub fn name(self) -> &'static str {
        match self {
            Fase::Registratie => "registratie",
            Fase::Aanmelding => "aanmelding",
            Fase::VervolgWonen => "vervolg_wonen",
            Fase::Bemiddeling => "bemiddeling",
            Fase::Plaatsing => "plaatsing",
            Fase::Afgesloten => "afgesloten",
        }
    }

    /// Parse a phase name.
    pub fn from_name(s: &str) -> Option<Fase> {
        Self::ALL.into_iter().find(|r| r.name() == s)
    }

    /// The phase in Dutch words.
    pub fn label_nl(self) -> &'static str {
        match self {
            Fase::Registratie => "registratie",
            Fase::Aanmelding => "aanmelding",
            Fase::VervolgWonen => "vervolg wonen",
            Fase::Bemiddeling => "bemiddeling",
            Fase::Plaatsing => "plaatsing",
            Fase::Afgesloten => "afgesloten",
        }
    }
}

impl fmt::Display for Fase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Beschermd wonen or maatschappelijke opvang: some flows differ (Bijlage 1, 1d).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Voorziening {
    /// Beschermd wonen (BW).
    BeschermdWonen,
    /// Maatschappelijke opvang (MO).
    MaatschappelijkeOpvang,
}

impl Voorziening {
    /// Both kinds.
    pub const ALL: [Voorziening; 2] = [
        Voorziening::BeschermdWonen,
        Voorziening::MaatschappelijkeOpvang,
    ];

    /// The name in policies (as in the registratie form).
    pub fn name(self) -> &'static str {
        match self {
            Voorziening::BeschermdWonen => "beschermd_wonen",
            Voorziening::MaatschappelijkeOpvang => "maatschappelijke_opvang",
        }
    }

    /// Parse a name.
    pub fn from_name(s: &str) -> Option<Voorziening> {
        Self::ALL.into_iter().find(|r| r.name() == s)
    }

    /// In Dutch words.
    pub fn label_nl(self) -> &'static str {
        match self {
            Voorziening::BeschermdWonen => "beschermd wonen",
            Voorziening::MaatschappelijkeOpvang => "maatschappelijke opvang",
        }
    }
}

impl fmt::Display for Voorziening {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn partner_ids_parse_and_print() {
        let p: PartnerId = "gemeente:GM0080".parse().unwrap();
        assert_eq!(p.role(), Role::Gemeente);
        assert_eq!(p.to_string(), "gemeente:GM0080");
        assert!("gemeente:Leeuwarden".parse::<PartnerId>().is_err());
        assert!("bank:x".parse::<PartnerId>().is_err());
        assert!("corporatie".parse::<PartnerId>().is_err());
        assert!("corporatie:a b".parse::<PartnerId>().is_err());
    }

    #[test]
    fn every_relation_but_geen_belongs_to_one_role() {
        for r in Relation::ALL {
            let owners = Role::ALL
                .iter()
                .filter(|role| role.relations().contains(&r))
                .count();
            if r == Relation::Geen {
                assert_eq!(owners, 4, "geen: every role but the Transferpunt");
            } else {
                assert_eq!(owners, 1, "{r}");
            }
        }
    }
}
