//! Customs declarations (UN/EDIFACT CUSRES outcomes, WCO data model).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::crypto::{Keypair, PublicKey};
use crate::documents::transport::MAX_REFERENCE;
use crate::documents::{
    check_country, check_currency, check_hs_code, check_reference, check_sealed, check_text,
};
use crate::error::RuleError;
use crate::sealed::{DecryptionKey, EncryptionKey, KeyWrap, SealError, Sealed, MAX_WRAPS};

/// Longest declaration number.
pub const MAX_NUMBER: usize = 35;

/// Import or export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Direction {
    /// Goods entering the territory.
    Import,
    /// Goods leaving the territory.
    Export,
}

impl Direction {
    /// The name as in domain.md.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Import => "IMPORT",
            Self::Export => "EXPORT",
        }
    }
}

/// One line of a declaration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeclarationLine {
    /// Harmonized System code.
    pub hs_code: String,
    /// Description of the goods.
    pub description: String,
    /// ISO 3166 country of origin.
    pub origin_country: String,
    /// Customs value in minor units.
    pub value_minor: u64,
    /// ISO 4217 currency of the value.
    pub currency: String,
}

/// The confidential part of a declaration: its goods lines (codes, descriptions, origins,
/// values). No rule reads them; they travel sealed for the declarant and the customs auditor.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeclarationBody {
    /// Goods lines.
    pub lines: Vec<DeclarationLine>,
}

impl DeclarationBody {
    /// Checks the lines (by the client that seals them: validators cannot).
    pub fn validate(&self) -> Result<(), RuleError> {
        if self.lines.is_empty() || self.lines.len() > 1000 {
            return Err(RuleError::InvalidField {
                field: "lines",
                reason: "must list 1 to 1000 lines".into(),
            });
        }
        for l in &self.lines {
            check_hs_code("lines.hs_code", &l.hs_code)?;
            check_text("lines.description", &l.description, 1000)?;
            check_country("lines.origin_country", &l.origin_country)?;
            check_currency("lines.currency", &l.currency)?;
        }
        Ok(())
    }
}

/// A declaration as the declarant lodges it: the public header the rules read, and its
/// [`DeclarationBody`] sealed, with the key wrapped for the declarant and the customs
/// auditor of genesis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeclarationData {
    /// Declaration number, unique on the ledger.
    pub number: String,
    /// Import or export.
    pub direction: Direction,
    /// The transport document it covers.
    pub transport_document: String,
    /// The containers of that document it covers; empty means all of them.
    #[serde(default)]
    pub containers: Vec<String>,
    /// The goods lines ([`DeclarationBody`]), sealed under the declaration's own key.
    pub body: Sealed,
    /// The declaration's key, wrapped for the declarant and the customs auditor.
    pub keys: Vec<KeyWrap>,
}

impl DeclarationData {
    /// The goods lines, opened with `reader`'s key and checked against the commitment.
    pub fn open(&self, reader: &Keypair) -> Result<DeclarationBody, SealError> {
        DecryptionKey::of(reader)
            .unwrap_any(&self.keys)?
            .open(&self.body)
    }

    /// Checks the fields on their own.
    pub fn validate(&self) -> Result<(), RuleError> {
        check_reference("number", &self.number, MAX_NUMBER)?;
        check_reference(
            "transport_document",
            &self.transport_document,
            MAX_REFERENCE,
        )?;
        check_sealed("body", &self.body)?;
        if self.keys.len() > MAX_WRAPS {
            return Err(RuleError::InvalidField {
                field: "keys",
                reason: "at most 32 key wraps".into(),
            });
        }
        if self.containers.len() > 1000 {
            return Err(RuleError::InvalidField {
                field: "containers",
                reason: "at most 1000 containers".into(),
            });
        }
        let mut seen = std::collections::BTreeSet::new();
        for c in &self.containers {
            crate::documents::check_container("containers", c)?;
            if !seen.insert(c.as_str()) {
                return Err(RuleError::InvalidField {
                    field: "containers",
                    reason: format!("container {c} is listed twice"),
                });
            }
        }
        Ok(())
    }
}

/// States of a declaration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum DeclarationState {
    /// Lodged by the declarant.
    Lodged,
    /// Accepted for processing.
    Accepted,
    /// Rejected (terminal).
    Rejected,
    /// Held for a document check or inspection.
    Held,
    /// Duty assessed.
    DutyAssessed,
    /// Duty paid.
    DutyPaid,
    /// Goods released.
    Released,
    /// Goods detained (terminal).
    Detained,
    /// Export: goods loaded at the port of loading.
    ExitConfirmed,
}

impl DeclarationState {
    /// Still being decided (or detained): an import declaration in one of these states on a
    /// document or container blocks the container's release.
    pub fn blocks_release(self) -> bool {
        matches!(
            self,
            Self::Lodged
                | Self::Accepted
                | Self::Held
                | Self::DutyAssessed
                | Self::DutyPaid
                | Self::Detained
        )
    }

    /// The name as in domain.md.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Lodged => "LODGED",
            Self::Accepted => "ACCEPTED",
            Self::Rejected => "REJECTED",
            Self::Held => "HELD",
            Self::DutyAssessed => "DUTY_ASSESSED",
            Self::DutyPaid => "DUTY_PAID",
            Self::Released => "RELEASED",
            Self::Detained => "DETAINED",
            Self::ExitConfirmed => "EXIT_CONFIRMED",
        }
    }
}

impl fmt::Display for DeclarationState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The duty customs assesses on a declaration: sealed, for the declarant and the customs
/// auditor only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DutyBody {
    /// Amount in minor units.
    pub amount_minor: u64,
    /// ISO 4217 currency.
    pub currency: String,
}

/// An assessed duty as it travels and is stored: [`DutyBody`] sealed under a key of its own,
/// wrapped for the declarant and the customs auditor of genesis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SealedDuty {
    /// The duty, sealed.
    pub body: Sealed,
    /// Its key, wrapped for the declarant and the customs auditor.
    pub keys: Vec<KeyWrap>,
}

impl SealedDuty {
    /// Seals `duty` for `readers` (the declarant's and the auditor's keys).
    pub fn seal(duty: &DutyBody, readers: &[EncryptionKey]) -> Result<SealedDuty, SealError> {
        let (_, body, keys) = crate::sealed::seal_for(duty, readers)?;
        Ok(SealedDuty { body, keys })
    }

    /// The duty, opened with `reader`'s key and checked against its commitment.
    pub fn open(&self, reader: &Keypair) -> Result<DutyBody, SealError> {
        DecryptionKey::of(reader)
            .unwrap_any(&self.keys)?
            .open(&self.body)
    }

    /// Checks its bounds.
    pub fn validate(&self) -> Result<(), RuleError> {
        check_sealed("duty.body", &self.body)?;
        if self.keys.len() > MAX_WRAPS {
            return Err(RuleError::InvalidField {
                field: "duty.keys",
                reason: "at most 32 key wraps".into(),
            });
        }
        Ok(())
    }
}

/// A declaration as recorded on the ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomsDeclaration {
    /// Its fields.
    pub data: DeclarationData,
    /// The declarant.
    pub declarant: PublicKey,
    /// The containers it covers (those it lists, or every container of the document when it
    /// lists none), fixed when lodged.
    pub containers: Vec<String>,
    /// Current state.
    pub state: DeclarationState,
    /// Reason given with the last rejection, hold or detention.
    pub reason: Option<String>,
    /// Duty assessed, sealed for the declarant and the customs auditor.
    pub duty: Option<SealedDuty>,
    /// Payment reference of the duty.
    pub duty_payment_reference: Option<String>,
}

impl CustomsDeclaration {
    /// Whether it covers a container.
    pub fn covers(&self, container: &str) -> bool {
        self.containers.iter().any(|c| c == container)
    }
}

/// Checks a reason text.
pub fn check_reason(reason: &str) -> Result<(), RuleError> {
    check_text("reason", reason, 500)
}
