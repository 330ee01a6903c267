//! The party directory: DCSA party identifiers (a code from a code list provider, such as an LEI
//! from GLEIF or a carrier's SMDG code, or a party name) claimed for registered participants
//! through governance (decisions.md, "Identity, governance and keys"). DCSA documents name their
//! parties by these identifiers; the directory says which participant each one is.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::RuleError;

/// Longest `codeListProvider` (DCSA `IdentifyingCode`).
pub const MAX_PROVIDER: usize = 100;
/// Longest `partyCode` (DCSA `IdentifyingCode`).
pub const MAX_PARTY_CODE: usize = 150;
/// Longest `partyName` (DCSA party objects).
pub const MAX_PARTY_NAME: usize = 70;

/// A code from a code list: DCSA `identifyingCodes[]` (`codeListProvider`, `partyCode`), or a
/// document's `carrierCodeListProvider` and `carrierCode`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PartyCode {
    /// The code list provider (`GLEIF`, `SMDG`, `NMFTA`, `DCSA`, an eBL platform, ...).
    pub provider: String,
    /// The code in that list.
    pub code: String,
}

impl PartyCode {
    /// A code from `provider`'s list.
    pub fn new(provider: &str, code: &str) -> PartyCode {
        PartyCode {
            provider: provider.to_string(),
            code: code.to_string(),
        }
    }
}

/// One identifier a participant can be named by in a DCSA document.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PartyId {
    /// A code from a code list.
    Code(PartyCode),
    /// A `partyName`, exactly as documents spell it.
    Name(String),
}

fn check_token(field: &'static str, value: &str, max: usize) -> Result<(), RuleError> {
    // DCSA's pattern for these strings: no leading or trailing whitespace, not empty.
    if value.is_empty()
        || value.len() > max
        || value.trim() != value
        || value.chars().any(char::is_control)
    {
        return Err(RuleError::InvalidField {
            field,
            reason: format!(
                "must be 1 to {max} bytes without leading or trailing spaces or control characters, got {value:?}"
            ),
        });
    }
    Ok(())
}

impl PartyId {
    /// Checks the identifier's form.
    pub fn validate(&self) -> Result<(), RuleError> {
        match self {
            PartyId::Code(c) => {
                check_token("party_id.provider", &c.provider, MAX_PROVIDER)?;
                check_token("party_id.code", &c.code, MAX_PARTY_CODE)
            }
            PartyId::Name(n) => check_token("party_id.name", n, MAX_PARTY_NAME),
        }
    }
}

impl fmt::Display for PartyCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} (provider {})", self.code, self.provider)
    }
}

impl fmt::Display for PartyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PartyId::Code(c) => write!(f, "party code {c}"),
            PartyId::Name(n) => write!(f, "party name {n:?}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        assert!(
            PartyId::Code(PartyCode::new("GLEIF", "529900T8BM49AURSDO55"))
                .validate()
                .is_ok()
        );
        assert!(PartyId::Name("DCSA CTK".into()).validate().is_ok());
        assert!(PartyId::Name(" DCSA".into()).validate().is_err());
        assert!(PartyId::Name(String::new()).validate().is_err());
        assert!(PartyId::Name("x".repeat(71)).validate().is_err());
        assert!(PartyId::Code(PartyCode::new("", "X")).validate().is_err());
    }
}
