//! Anchored commercial documents: invoices, packing lists, certificates of origin. Not
//! transferable: the ledger proves who anchored which file when, and whether it still stands.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::crypto::{Hash, PublicKey};
use crate::genesis::Role;

/// Types of anchored documents (the `--type` of `doc anchor`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DocumentType {
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
    /// Anything else.
    Other,
}

impl DocumentType {
    /// The name used on the command line and in JSON.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::CommercialInvoice => "commercial_invoice",
            Self::PackingList => "packing_list",
            Self::CertificateOfOrigin => "certificate_of_origin",
            Self::InspectionCertificate => "inspection_certificate",
            Self::InsuranceCertificate => "insurance_certificate",
            Self::Other => "other",
        }
    }
}

impl DocumentType {
    /// A certificate that an authority (a `customs` organisation) may issue for the
    /// beneficiary: of origin, or of inspection.
    pub fn is_certificate(self) -> bool {
        matches!(
            self,
            Self::CertificateOfOrigin | Self::InspectionCertificate
        )
    }
}

impl fmt::Display for DocumentType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An anchored document as recorded on the ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AnchoredDocument {
    /// SHA-256 of the file.
    pub hash: Hash,
    /// Its type.
    pub doc_type: DocumentType,
    /// The participant who anchored it.
    pub issuer: PublicKey,
    /// The issuer's role when anchoring (a certificate of origin by `customs` is by an authority).
    pub issuer_role: Role,
    /// References to transport documents or credits.
    pub references: Vec<String>,
    /// Block height at which it was anchored.
    pub anchored_height: u64,
    /// Block time at which it was anchored (ms).
    pub anchored_time_ms: u64,
    /// Revoked by its issuer.
    pub revoked: bool,
    /// The document that superseded it, if any.
    pub superseded_by: Option<Hash>,
}

impl AnchoredDocument {
    /// Whether it was issued by an authority (a certificate of origin anchored by customs).
    pub fn by_authority(&self) -> bool {
        self.issuer_role == Role::Customs
    }
}
