//! Names of documents on the wire. Case documents: `c/<case>/<kind>[/<instance>][@<generation>]`, the same on every
//! node that holds them (generation 0, before any rectification, is written without its suffix). Projections:
//! `p/<case>/<sender>/<receiver>/<generation>`.

use std::fmt;

use policies::{DocumentKind, PartnerId};

use crate::store::{CaseId, DocKey};

/// A document as named between nodes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum WireDoc {
    /// A case document (a form), synced whole between the partners allowed to hold all of it, at a generation:
    /// its creator rewrites it without history as the next one when a value is rectified, and a message for
    /// another generation is never merged into the one held.
    Form(DocKey, u64),
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
            WireDoc::Form(k, _) => &k.case,
            WireDoc::Projection { case, .. } => case,
        }
    }

    /// Parse a wire name; `None` for anything malformed.
    pub fn parse(s: &str) -> Option<WireDoc> {
        if let Some(rest) = s.strip_prefix("c/") {
            let (name, generation) = match rest.rsplit_once('@') {
                Some((name, g)) => (name, g.parse::<u64>().ok().filter(|g| *g > 0)?),
                None => (rest, 0),
            };
            return match Self::parse_parts(&format!("c/{name}"))? {
                WireDoc::Form(k, _) => Some(WireDoc::Form(k, generation)),
                WireDoc::Projection { .. } => None,
            };
        }
        Self::parse_parts(s)
    }

    fn parse_parts(s: &str) -> Option<WireDoc> {
        let parts: Vec<&str> = s.split('/').collect();
        match parts.as_slice() {
            ["c", case, kind] | ["c", case, kind, _] => {
                let instance = parts.get(3).copied().unwrap_or("");
                let kind = DocumentKind::from_name(kind)?;
                if kind.spec().multiple == instance.is_empty() {
                    return None;
                }
                Some(WireDoc::Form(
                    DocKey {
                        case: case.parse().ok()?,
                        kind,
                        instance: instance.to_string(),
                    },
                    0,
                ))
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
            WireDoc::Form(k, g) => {
                write!(f, "c/{}/{}", k.case, k.kind)?;
                if !k.instance.is_empty() {
                    write!(f, "/{}", k.instance)?;
                }
                if *g > 0 {
                    write!(f, "@{g}")?;
                }
                Ok(())
            }
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
            format!("c/{case}/registratie@2"),
            format!("c/{case}/reactie/corporatie:elkien@1"),
            format!("p/{case}/transferpunt:sdf/corporatie:elkien/3"),
        ] {
            assert_eq!(WireDoc::parse(&s).unwrap().to_string(), s);
        }
        for bad in [
            format!("c/{case}/registratie/x"),
            format!("c/{case}/reactie"),
            format!("c/{case}/paspoort"),
            format!("c/{case}/registratie@0"),
            format!("c/{case}/registratie@x"),
            format!("p/{case}/transferpunt:sdf/corporatie:elkien/3@1"),
            "c/123456782/registratie".to_string(),
            format!("p/{case}/transferpunt:sdf/corporatie:elkien"),
            "x".to_string(),
        ] {
            assert!(WireDoc::parse(&bad).is_none(), "{bad}");
        }
    }
}
