//! The burgerservicenummer and its elfproef.

use std::fmt;

/// A BSN that passed the elfproef. Its `Debug` never shows the number, so it cannot slip into a log line.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Bsn([u8; 9]);

/// Why a BSN was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BsnError {
    /// Not 8 or 9 digits.
    #[error("een BSN bestaat uit 9 cijfers (8 mag, dan komt er een 0 voor)")]
    Format,
    /// The digits fail the elfproef (or are all zero).
    #[error(
        "dit BSN klopt niet: het voldoet niet aan de elfproef; controleer het nummer op het identiteitsbewijs"
    )]
    Elfproef,
}

impl Bsn {
    /// Parse and check a BSN. Eight digits are left-padded with a zero, as the BSN rules allow.
    pub fn parse(s: &str) -> Result<Bsn, BsnError> {
        let s = s.trim();
        if !(8..=9).contains(&s.len()) || !s.bytes().all(|b| b.is_ascii_digit()) {
            return Err(BsnError::Format);
        }
        let mut digits = [0u8; 9];
        let pad = 9 - s.len();
        for (i, b) in s.bytes().enumerate() {
            digits[pad + i] = b - b'0';
        }
        if !elfproef(&digits) {
            return Err(BsnError::Elfproef);
        }
        Ok(Bsn(digits))
    }

    /// The nine digits.
    pub fn as_digits(&self) -> String {
        self.0.iter().map(|d| char::from(b'0' + d)).collect()
    }
}

/// 9·d1 + 8·d2 + … + 2·d8 − 1·d9 must be divisible by 11, and 000000000 is not a BSN.
fn elfproef(d: &[u8; 9]) -> bool {
    if d.iter().all(|x| *x == 0) {
        return false;
    }
    let sum: i32 = d[..8]
        .iter()
        .zip((2..=9).rev())
        .map(|(x, w)| i32::from(*x) * w)
        .sum::<i32>()
        - i32::from(d[8]);
    sum % 11 == 0
}

impl fmt::Debug for Bsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Bsn(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_valid_numbers_pass() {
        for ok in ["123456782", "999993653", "111222333"] {
            assert_eq!(Bsn::parse(ok).map(|b| b.as_digits()), Ok(ok.to_string()));
        }
        // Eight digits are padded: 010000008 passes (8·1 − 8 = 0).
        assert_eq!(Bsn::parse("10000008").unwrap().as_digits(), "010000008");
    }

    #[test]
    fn wrong_numbers_fail_with_the_rule() {
        assert_eq!(Bsn::parse("123456789"), Err(BsnError::Elfproef));
        assert_eq!(Bsn::parse("000000000"), Err(BsnError::Elfproef));
        assert_eq!(Bsn::parse("12345"), Err(BsnError::Format));
        assert_eq!(Bsn::parse("12345678a"), Err(BsnError::Format));
        assert_eq!(Bsn::parse("1234567820"), Err(BsnError::Format));
    }

    #[test]
    fn a_single_changed_digit_is_always_caught() {
        let good = "999993653";
        for pos in 0..9 {
            for d in b'0'..=b'9' {
                let mut b = good.as_bytes().to_vec();
                if b[pos] == d {
                    continue;
                }
                b[pos] = d;
                let s = String::from_utf8(b).unwrap();
                assert!(Bsn::parse(&s).is_err(), "{s}");
            }
        }
    }

    #[test]
    fn debug_never_shows_the_number() {
        let b = Bsn::parse("123456782").unwrap();
        assert!(!format!("{b:?}").contains("123456782"));
        assert_eq!(b.as_digits(), "123456782");
    }
}
