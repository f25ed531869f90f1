//! Who may do what inside one node: the roles of its users (people and systems) and what each role may reach.
//! The policy decides what travels between partners; this decides which of a partner's own people see it.
//!
//! One table ([`UserRole::may`]) answers for the werkplek's pages and the API alike, so a route cannot be
//! guarded in one and forgotten in the other.

use std::fmt;
use std::str::FromStr;

/// The role of a user of this node (issue #12; the BIO asks for need-to-know inside an organisation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum UserRole {
    /// Works cases: the begeleider, the Transferpunt's consultant, the woonconsulent, the gebiedsteam.
    Medewerker,
    /// The Transferpunt's monitor and jaarverslag: aggregates only, no person (Bijlage 3).
    Analist,
    /// The audit log, policy acceptance, requests from data subjects.
    Privacyfunctionaris,
    /// Manages users; sees no personal data.
    Beheerder,
}

/// Something a route gives access to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Permission {
    /// Read and write cases, their forms and the signalen about them (personal data).
    Cases,
    /// The monitor and the jaarverslag (aggregates).
    Monitor,
    /// The audit log and the policy versions waiting for acceptance.
    Audit,
    /// The node's users.
    Users,
}

impl UserRole {
    /// Every role, in the order the werkplek lists them.
    pub const ALL: [UserRole; 4] = [
        UserRole::Medewerker,
        UserRole::Analist,
        UserRole::Privacyfunctionaris,
        UserRole::Beheerder,
    ];

    /// Whether this role may use `permission`. Each role reaches exactly one kind of thing: a person who needs
    /// two gets two accounts, so every account's reach can be read off its role.
    pub fn may(self, permission: Permission) -> bool {
        matches!(
            (self, permission),
            (UserRole::Medewerker, Permission::Cases)
                | (UserRole::Analist, Permission::Monitor)
                | (UserRole::Privacyfunctionaris, Permission::Audit)
                | (UserRole::Beheerder, Permission::Users)
        )
    }

    /// The name stored and typed (`medewerker`).
    pub fn name(self) -> &'static str {
        match self {
            UserRole::Medewerker => "medewerker",
            UserRole::Analist => "analist",
            UserRole::Privacyfunctionaris => "privacyfunctionaris",
            UserRole::Beheerder => "beheerder",
        }
    }

    /// What the role does, in Dutch, for the werkplek.
    pub fn description_nl(self) -> &'static str {
        match self {
            UserRole::Medewerker => "werkt casussen",
            UserRole::Analist => "monitor en jaarverslag (alleen totalen)",
            UserRole::Privacyfunctionaris => "auditlog, beleid en verzoeken van betrokkenen",
            UserRole::Beheerder => "gebruikers; geen persoonsgegevens",
        }
    }
}

impl fmt::Display for UserRole {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A role name that is not one of [`UserRole::ALL`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role {0:?}: expected one of medewerker, analist, privacyfunctionaris, beheerder")]
pub struct UnknownRole(pub String);

impl FromStr for UserRole {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        UserRole::ALL
            .into_iter()
            .find(|r| r.name() == s)
            .ok_or_else(|| UnknownRole(s.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_role_reaches_exactly_one_thing() {
        let all = [
            Permission::Cases,
            Permission::Monitor,
            Permission::Audit,
            Permission::Users,
        ];
        for role in UserRole::ALL {
            assert_eq!(all.iter().filter(|p| role.may(**p)).count(), 1, "{role}");
        }
        assert!(!UserRole::Beheerder.may(Permission::Cases));
        assert!(!UserRole::Analist.may(Permission::Cases));
    }

    #[test]
    fn names_round_trip() {
        for role in UserRole::ALL {
            assert_eq!(role.name().parse::<UserRole>(), Ok(role));
        }
        assert!("admin".parse::<UserRole>().is_err());
    }
}
