//! The trade documents held on the ledger, and the checks on their fields.
//!
//! Each submodule holds one document family: its data as submitted, its record on the ledger and
//! its states (spelled as in domain.md). The transitions live in [`crate::rules`].

pub mod anchor;
pub mod credit;
pub mod customs;
pub mod party;
pub mod tracking;
pub mod transport;

use crate::error::RuleError;

/// Checks a document reference or number: 1 to `max` printable ASCII characters, no spaces.
pub fn check_reference(field: &'static str, value: &str, max: usize) -> Result<(), RuleError> {
    if value.is_empty() || value.len() > max || !value.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(RuleError::InvalidField {
            field,
            reason: format!(
                "must be 1 to {max} printable characters without spaces, got {value:?}"
            ),
        });
    }
    Ok(())
}

/// Checks free text: at most `max` bytes.
pub fn check_text(field: &'static str, value: &str, max: usize) -> Result<(), RuleError> {
    if value.len() > max {
        return Err(RuleError::InvalidField {
            field,
            reason: format!("must be at most {max} bytes, got {}", value.len()),
        });
    }
    Ok(())
}

/// Checks a sealed body's size (the rules cannot read it; they bound it).
pub fn check_sealed(field: &'static str, sealed: &crate::sealed::Sealed) -> Result<(), RuleError> {
    let n = sealed.ciphertext.0.len();
    if n > crate::sealed::MAX_SEALED_BYTES {
        return Err(RuleError::InvalidField {
            field,
            reason: format!(
                "the sealed body must be at most {} bytes, got {n}",
                crate::sealed::MAX_SEALED_BYTES
            ),
        });
    }
    Ok(())
}

/// Checks a UN/LOCODE: two letters of country, three letters or digits 2-9 of place.
pub fn check_locode(field: &'static str, value: &str) -> Result<(), RuleError> {
    let b = value.as_bytes();
    let ok = b.len() == 5
        && b[..2].iter().all(u8::is_ascii_uppercase)
        && b[2..]
            .iter()
            .all(|c| c.is_ascii_uppercase() || (b'2'..=b'9').contains(c));
    if ok {
        Ok(())
    } else {
        Err(RuleError::InvalidField {
            field,
            reason: format!("must be a UN/LOCODE such as NLRTM (5 characters), got {value:?}"),
        })
    }
}

/// Checks an ISO 4217 currency code (three capital letters).
pub fn check_currency(field: &'static str, value: &str) -> Result<(), RuleError> {
    if value.len() == 3 && value.bytes().all(|c| c.is_ascii_uppercase()) {
        Ok(())
    } else {
        Err(RuleError::InvalidField {
            field,
            reason: format!("must be an ISO 4217 currency code such as USD, got {value:?}"),
        })
    }
}

/// Checks an ISO 3166 alpha-2 country code.
pub fn check_country(field: &'static str, value: &str) -> Result<(), RuleError> {
    if value.len() == 2 && value.bytes().all(|c| c.is_ascii_uppercase()) {
        Ok(())
    } else {
        Err(RuleError::InvalidField {
            field,
            reason: format!("must be an ISO 3166 country code such as CN, got {value:?}"),
        })
    }
}

/// Checks an HS code: 6 to 10 digits.
pub fn check_hs_code(field: &'static str, value: &str) -> Result<(), RuleError> {
    if (6..=10).contains(&value.len()) && value.bytes().all(|c| c.is_ascii_digit()) {
        Ok(())
    } else {
        Err(RuleError::InvalidField {
            field,
            reason: format!("must be a Harmonized System code of 6 to 10 digits, got {value:?}"),
        })
    }
}

/// The ISO 6346 check digit of the first ten characters of a container number.
fn iso6346_check_digit(code: &[u8]) -> Option<u32> {
    let mut sum: u32 = 0;
    for (i, &c) in code.iter().take(10).enumerate() {
        let v = if c.is_ascii_digit() {
            u32::from(c - b'0')
        } else if c.is_ascii_uppercase() {
            // A=10, B=12, ...: consecutive values that skip multiples of 11.
            let mut v = 10;
            for _ in b'A'..c {
                v += 1;
                if v % 11 == 0 {
                    v += 1;
                }
            }
            v
        } else {
            return None;
        };
        sum += v << i;
    }
    Some(sum % 11 % 10)
}

/// Checks a container number in ISO 6346 form: owner code (3 letters), category (U, J or Z)
/// and seven digits. The check digit is not a refusal: DCSA eBL 3.0 says an equipment reference
/// "should" follow ISO 6346 "where possible", and real documents carry numbers that fail it
/// ([`iso6346_check_digit_ok`] says whether one passes, for a warning).
pub fn check_container(field: &'static str, value: &str) -> Result<(), RuleError> {
    let b = value.as_bytes();
    let shape = b.len() == 11
        && b[..3].iter().all(u8::is_ascii_uppercase)
        && matches!(b[3], b'U' | b'J' | b'Z')
        && b[4..].iter().all(u8::is_ascii_digit);
    if !shape {
        return Err(RuleError::InvalidField {
            field,
            reason: format!(
                "must be an ISO 6346 container number such as MSCU1234565, got {value:?}"
            ),
        });
    }
    Ok(())
}

/// Whether a container number of ISO 6346 form carries the right check digit.
pub fn iso6346_check_digit_ok(value: &str) -> bool {
    let b = value.as_bytes();
    b.len() == 11
        && b[10].is_ascii_digit()
        && iso6346_check_digit(b) == Some(u32::from(b[10] - b'0'))
}

/// The ISO 6346 number of a freight container (category `U`) from a three-letter owner code
/// and a serial (taken modulo 1,000,000), with its check digit. `None` when the owner code is
/// not three capital letters.
pub fn container_number(owner: &str, serial: u32) -> Option<String> {
    if owner.len() != 3 || !owner.bytes().all(|b| b.is_ascii_uppercase()) {
        return None;
    }
    let mut s = format!("{owner}U{:06}0", serial % 1_000_000);
    let digit = iso6346_check_digit(s.as_bytes())?;
    s.pop();
    s.push(char::from_digit(digit, 10)?);
    Some(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn made_container_numbers_pass_the_check() {
        for serial in [0, 1, 123_456, 999_999, 1_000_001] {
            let c = container_number("LDT", serial).expect("owner is valid");
            assert!(
                check_container("c", &c).is_ok() && iso6346_check_digit_ok(&c),
                "{c}"
            );
        }
        assert_eq!(
            container_number("MSC", 123_456).as_deref(),
            Some("MSCU1234566")
        );
        assert_eq!(container_number("ms", 1), None);
    }

    #[test]
    fn container_numbers() {
        for ok in ["CSQU3054383", "MSCU1234566", "MAEU1234567", "TGHU7654320"] {
            assert!(check_container("c", ok).is_ok(), "{ok}");
        }
        for bad in ["CSQ3054383", "csqu3054383", "CSQX3054383", "CSQU305438"] {
            assert!(check_container("c", bad).is_err(), "{bad}");
        }
        // A wrong check digit is accepted (DCSA: "should ... where possible"), and told apart.
        assert!(check_container("c", "CSQU3054384").is_ok());
        assert!(!iso6346_check_digit_ok("CSQU3054384"));
        assert!(iso6346_check_digit_ok("CSQU3054383"));
    }

    #[test]
    fn codes() {
        assert!(check_locode("p", "NLRTM").is_ok());
        assert!(check_locode("p", "CNSH1").is_err());
        assert!(check_locode("p", "nlrtm").is_err());
        assert!(check_currency("c", "USD").is_ok());
        assert!(check_currency("c", "US").is_err());
        assert!(check_hs_code("h", "850440").is_ok());
        assert!(check_hs_code("h", "85A440").is_err());
        assert!(check_reference("r", "ABC-1", 20).is_ok());
        assert!(check_reference("r", "A B", 20).is_err());
        assert!(check_reference("r", &"x".repeat(21), 20).is_err());
    }
}
