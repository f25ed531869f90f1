//! Names of documents on the wire. Case documents: `c/<case>/<kind>[/<instance>]`, the same on every node that
//! holds them. Projections: `p/<case>/<sender>/<receiver>/<generation>`.

use std::fmt;

use policies::{DocumentKind, PartnerId};

use crate::store::{CaseId, DocKey};

/// A document as named between nodes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum WireDoc {
    /// A case document (a form), synced whole between the partners allowed to hold all of it.
    Form(DocKey),
    /// A projection written by `sender` for `receiver`.
    Projection {
        /// The case.
        case: CaseId,
        /// Who writes it.
        sender: PartnerId,
        /// Whom it is for.
        receiver: PartnerId,
        /// Rises with every rotation.
        generation: u64,
    },
}

impl WireDoc {
    /// The case.
    pub fn case(&self) -> &CaseId {
        match self {
            WireDoc::Form(k) => &k.case,
            WireDoc::Projection { case, .. } => case,
        }
    }

    /// Parse a wire name; `None` for anything malformed.
    pub fn parse(s: &str) -> Option<WireDoc> {
        let parts: Vec<&str> = s.split('/').collect();
        match parts.as_slice() {
            ["c", case, kind] | ["c", case, kind, _] => {
                let instance = parts.get(3).copied().unwrap_or("");
                let kind = DocumentKind::from_name(kind)?;
                if kind.spec().multiple == instance.is_empty() {
                    return None;
                }
                Some(WireDoc::Form(DocKey {
                    case: case.parse().ok()?,
                    kind,
                    instance: instance.to_string(),
                }))
            }
            ["p", case, sender, receiver, generation] => Some(WireDoc::Projection {
                case: case.parse().ok()?,
                sender: sender.parse().ok()?,
                receiver: receiver.parse().ok()?,
                generation: generation.parse().ok()?,
            }),
            _ => None,
        }
    }
}

impl fmt::Display for WireDoc {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WireDoc::Form(k) if k.instance.is_empty() => write!(f, "c/{}/{}", k.case, k.kind),
            WireDoc::Form(k) => write!(f, "c/{}/{}/{}", k.case, k.kind, k.instance),
            WireDoc::Projection {
                case,
                sender,
                receiver,
                generation,
            } => write!(f, "p/{case}/{sender}/{receiver}/{generation}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        let case = CaseId::random();
        for s in [
            format!("c/{case}/registratie"),
            format!("c/{case}/reactie/corporatie:elkien"),
            format!("p/{case}/transferpunt:sdf/corporatie:elkien/3"),
        ] {
            assert_eq!(WireDoc::parse(&s).unwrap().to_string(), s);
        }
        for bad in [
            format!("c/{case}/registratie/x"),
            format!("c/{case}/reactie"),
            format!("c/{case}/paspoort"),
            "c/123456782/registratie".to_string(),
            format!("p/{case}/transferpunt:sdf/corporatie:elkien"),
            "x".to_string(),
        ] {
            assert!(WireDoc::parse(&bad).is_none(), "{bad}");
        }
    }
}
