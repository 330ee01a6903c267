//! Documentary letters of credit (ICC UCP 600, eUCP 2.0).

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::crypto::{Hash, Keypair, PublicKey};
use crate::date::Date;
use crate::documents::anchor::DocumentType;
use crate::documents::{check_currency, check_locode, check_reference, check_sealed, check_text};
use crate::error::RuleError;
use crate::sealed::{DecryptionKey, KeyWrap, SealError, Sealed, TermsKey, MAX_WRAPS};

/// Longest credit number.
pub const MAX_NUMBER: usize = 35;

/// UCP 600 art. 14c default presentation period.
pub const DEFAULT_PRESENTATION_DAYS: u32 = 21;

/// A document a credit requires: the transport document, or an anchored commercial document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RequiredDocument {
    /// The transport document (eBL).
    TransportDocument,
    /// Commercial invoice.
    CommercialInvoice,
    /// Packing list.
    PackingList,
    /// Certificate of origin.
    CertificateOfOrigin,
    /// Inspection certificate.
    InspectionCertificate,
    /// Insurance certificate.
    InsuranceCertificate,
    /// Any other anchored document.
    Other,
}

impl RequiredDocument {
    /// The anchored document type this requirement is met by, if it is not the eBL.
    pub fn anchored_type(self) -> Option<DocumentType> {
        match self {
            Self::TransportDocument => None,
            Self::CommercialInvoice => Some(DocumentType::CommercialInvoice),
            Self::PackingList => Some(DocumentType::PackingList),
            Self::CertificateOfOrigin => Some(DocumentType::CertificateOfOrigin),
            Self::InspectionCertificate => Some(DocumentType::InspectionCertificate),
            Self::InsuranceCertificate => Some(DocumentType::InsuranceCertificate),
            Self::Other => Some(DocumentType::Other),
        }
    }
}

/// The confidential terms of a credit: no rule reads them, so they travel and are stored
/// sealed ([`crate::sealed`]), readable by the credit's parties only (`CreditTerms::body`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreditBody {
    /// ISO 4217 currency.
    pub currency: String,
    /// Amount in minor units (cents).
    pub amount_minor: u64,
    /// Tolerance in percent (UCP 600 art. 30).
    pub tolerance_percent: u8,
    /// Description of the goods.
    pub goods: String,
}

impl CreditBody {
    /// Checks the fields on their own (by the client that seals them: validators cannot).
    pub fn validate(&self) -> Result<(), RuleError> {
        check_currency("currency", &self.currency)?;
        if self.amount_minor == 0 {
            return Err(RuleError::InvalidField {
                field: "amount",
                reason: "must be greater than zero".into(),
            });
        }
        if self.tolerance_percent > 100 {
            return Err(RuleError::InvalidField {
                field: "tolerance_percent",
                reason: "must be between 0 and 100".into(),
            });
        }
        check_text("goods", &self.goods, 2000)
    }
}

/// The terms of a credit, as the applicant applies for it: the public header the rules read
/// (parties, dates, places, required documents) and the confidential [`CreditBody`], sealed,
/// with its key wrapped for each party.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreditTerms {
    /// Credit number, unique on the ledger.
    pub number: String,
    /// Applicant (buyer).
    pub applicant: PublicKey,
    /// Beneficiary (seller).
    pub beneficiary: PublicKey,
    /// Issuing bank.
    pub issuing_bank: PublicKey,
    /// Advising bank, if any.
    pub advising_bank: Option<PublicKey>,
    /// Confirming bank, if any.
    pub confirming_bank: Option<PublicKey>,
    /// Expiry date for presentation.
    pub expiry_date: Date,
    /// Place of expiry (UN/LOCODE or free text).
    pub expiry_place: String,
    /// Latest shipment date.
    pub latest_shipment_date: Option<Date>,
    /// Port of loading, if restricted.
    pub port_of_loading: Option<String>,
    /// Port of discharge, if restricted.
    pub port_of_discharge: Option<String>,
    /// Documents required for a complying presentation.
    pub documents_required: Vec<RequiredDocument>,
    /// Days after shipment within which documents must be presented.
    pub presentation_days: u32,
    /// The confidential terms ([`CreditBody`]), sealed under the credit's own key.
    pub body: Sealed,
    /// The credit's key, wrapped for each of its parties (and nobody else).
    pub keys: Vec<KeyWrap>,
}

impl CreditTerms {
    /// Its parties: applicant, beneficiary, issuing bank, and the advising and confirming
    /// banks when named. They, and only they, read its sealed body.
    pub fn parties(&self) -> Vec<PublicKey> {
        let mut p = vec![self.applicant, self.beneficiary, self.issuing_bank];
        p.extend(self.advising_bank);
        p.extend(self.confirming_bank);
        p
    }

    /// The credit's key, as `reader` unwraps it.
    pub fn key_for(&self, reader: &Keypair) -> Result<TermsKey, SealError> {
        DecryptionKey::of(reader).unwrap_any(&self.keys)
    }

    /// The confidential terms, opened with `reader`'s key and checked against the commitment.
    pub fn open(&self, reader: &Keypair) -> Result<CreditBody, SealError> {
        self.key_for(reader)?.open(&self.body)
    }

    /// Checks the fields on their own.
    pub fn validate(&self) -> Result<(), RuleError> {
        check_reference("number", &self.number, MAX_NUMBER)?;
        let invalid = |field, reason: &str| {
            Err(RuleError::InvalidField {
                field,
                reason: reason.to_string(),
            })
        };
        check_sealed("body", &self.body)?;
        if self.keys.len() > MAX_WRAPS {
            return invalid("keys", "at most 32 key wraps");
        }
        if self.applicant == self.beneficiary {
            return invalid("beneficiary", "must differ from the applicant");
        }
        check_text("expiry_place", &self.expiry_place, 100)?;
        if let Some(p) = &self.port_of_loading {
            check_locode("port_of_loading", p)?;
        }
        if let Some(p) = &self.port_of_discharge {
            check_locode("port_of_discharge", p)?;
        }
        if let Some(l) = self.latest_shipment_date {
            if l > self.expiry_date {
                return invalid("latest_shipment_date", "must not be after the expiry date");
            }
        }
        if self.presentation_days == 0 || self.presentation_days > 365 {
            return invalid("presentation_days", "must be 1 to 365 days");
        }
        if self.documents_required.len() > 20 {
            return invalid("documents_required", "at most 20 documents");
        }
        Ok(())
    }
}

/// States of a letter of credit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CreditState {
    /// Applied for by the applicant.
    Applied,
    /// Issued by the issuing bank.
    Issued,
    /// Advised to the beneficiary.
    Advised,
    /// Confirmed by a confirming bank.
    Confirmed,
    /// Documents presented.
    Presented,
    /// Presentation found complying (or discrepancies waived).
    Complying,
    /// Presentation found discrepant.
    Discrepant,
    /// Paid: documents against payment.
    Honoured,
    /// Presentation refused.
    Refused,
    /// Cancelled with the beneficiary's consent.
    Cancelled,
}

impl CreditState {
    /// The name as in domain.md.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Applied => "APPLIED",
            Self::Issued => "ISSUED",
            Self::Advised => "ADVISED",
            Self::Confirmed => "CONFIRMED",
            Self::Presented => "PRESENTED",
            Self::Complying => "COMPLYING",
            Self::Discrepant => "DISCREPANT",
            Self::Honoured => "HONOURED",
            Self::Refused => "REFUSED",
            Self::Cancelled => "CANCELLED",
        }
    }

    /// Operative: the credit is available for presentation.
    pub fn is_operative(self) -> bool {
        matches!(self, Self::Issued | Self::Advised | Self::Confirmed)
    }
}

impl fmt::Display for CreditState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Changes an amendment proposes; `None` leaves a term as it is.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreditAmendment {
    /// New confidential terms (amount, goods, ...), sealed under the credit's key.
    pub body: Option<Sealed>,
    /// New expiry date.
    pub expiry_date: Option<Date>,
    /// New latest shipment date.
    pub latest_shipment_date: Option<Date>,
    /// New presentation period.
    pub presentation_days: Option<u32>,
    /// New list of required documents.
    pub documents_required: Option<Vec<RequiredDocument>>,
}

/// An amendment waiting for acceptance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingAmendment {
    /// Sequence number of the amendment (1, 2, ...).
    pub sequence: u32,
    /// The proposed changes.
    pub changes: CreditAmendment,
    /// Parties whose acceptance is still needed.
    pub awaiting: Vec<PublicKey>,
}

/// A presentation of documents under the credit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Presentation {
    /// The eBL presented.
    pub transport_document: String,
    /// Hashes of anchored commercial documents presented.
    pub documents: Vec<Hash>,
    /// Block time of the presentation (ms).
    pub presented_at_ms: u64,
    /// Discrepancies found on examination.
    pub discrepancies: Vec<String>,
    /// Whether the applicant waived the discrepancies.
    pub waived: bool,
}

/// A letter of credit as recorded on the ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LetterOfCredit {
    /// Its terms, with accepted amendments applied.
    pub terms: CreditTerms,
    /// Current state.
    pub state: CreditState,
    /// The pending amendment, if any.
    pub pending_amendment: Option<PendingAmendment>,
    /// Amendments accepted so far.
    pub amendments_accepted: u32,
    /// Amendments proposed so far.
    pub amendments_proposed: u32,
    /// The current presentation.
    pub presentation: Option<Presentation>,
    /// Payment reference once honoured.
    pub payment_reference: Option<String>,
    /// The beneficiary has consented to cancellation.
    pub cancellation_consented: bool,
}
