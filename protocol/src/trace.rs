//! The W3C Trace Context `traceparent` a sync message carries: `00-<trace id>-<parent id>-<flags>`, the sender's
//! disclosure record named for the receiver's `foreign_operation` (Logboek Dataverwerkingen, "Component:
//! Applicatie": trace context metadata accepted and turned into a `foreign_operation`).
//!
//! Only the shape is checked here: version `00`, 32 and 16 lowercase hex digits, neither all zeros, two hex digits
//! of flags. What it refers to is the sender's business; a receiver stores it as given and decides nothing on it.

/// The longest `traceparent` accepted (version 00 is exactly 55 characters).
pub const TRACEPARENT_LEN: usize = 55;

/// A `traceparent` whose shape is right: its trace id and parent (span) id, as lowercase hex.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TraceParent {
    /// The trace id: 32 lowercase hex digits, not all zeros.
    pub trace_id: String,
    /// The span id of the sender's operation: 16 lowercase hex digits, not all zeros.
    pub span_id: String,
}

/// Why a `traceparent` was not taken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TraceParentError {
    /// Not `00-` + 32 hex + `-` + 16 hex + `-` + 2 hex.
    #[error("traceparent must be 00-<32 lowercase hex>-<16 lowercase hex>-<2 hex> (55 characters)")]
    Shape,
    /// The trace id or span id is all zeros, which W3C Trace Context calls invalid.
    #[error("traceparent trace id and span id must not be all zeros")]
    Zero,
}

impl TraceParent {
    /// Check and split a `traceparent`.
    pub fn parse(s: &str) -> Result<TraceParent, TraceParentError> {
        if s.len() != TRACEPARENT_LEN {
            return Err(TraceParentError::Shape);
        }
        let mut parts = s.split('-');
        let (Some("00"), Some(trace), Some(span), Some(flags), None) = (
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
            parts.next(),
        ) else {
            return Err(TraceParentError::Shape);
        };
        if !lower_hex(trace, 32) || !lower_hex(span, 16) || !lower_hex(flags, 2) {
            return Err(TraceParentError::Shape);
        }
        if trace.bytes().all(|b| b == b'0') || span.bytes().all(|b| b == b'0') {
            return Err(TraceParentError::Zero);
        }
        Ok(TraceParent {
            trace_id: trace.to_string(),
            span_id: span.to_string(),
        })
    }
}

impl std::fmt::Display for TraceParent {
    /// As sent: version 00, flag "sampled" (every processing is logged; the Logboek forbids sampling).
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "00-{}-{}-01", self.trace_id, self.span_id)
    }
}

fn lower_hex(s: &str, len: usize) -> bool {
    s.len() == len
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_well_formed_traceparent_round_trips() {
        let t = TraceParent {
            trace_id: "4bf92f3577b34da6a3ce929d0e0e4736".into(),
            span_id: "00f067aa0ba902b7".into(),
        };
        assert_eq!(TraceParent::parse(&t.to_string()), Ok(t));
    }

    #[test]
    fn bad_shapes_are_refused() {
        let good = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
        for bad in [
            "",
            "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
            "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e473-600f067aa0ba902b7-01",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902bz-01",
            "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        ] {
            assert_eq!(
                TraceParent::parse(bad),
                Err(TraceParentError::Shape),
                "{bad}"
            );
        }
        assert!(TraceParent::parse(good).is_ok());
        assert_eq!(
            TraceParent::parse("00-00000000000000000000000000000000-00f067aa0ba902b7-01"),
            Err(TraceParentError::Zero)
        );
    }
}
