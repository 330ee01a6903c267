//! Signed transactions: one transition of one document (or of membership), by one participant.

use serde::{Deserialize, Serialize};

use crate::codec::{self, CodecError};
use crate::crypto::{Domain, Hash, Keypair, PublicKey, Signature, SignatureError};
use crate::documents::anchor::DocumentType;
use crate::documents::credit::{CreditAmendment, CreditTerms};
use crate::documents::customs::DeclarationData;
use crate::documents::party::PartyId;
use crate::documents::tracking::TrackingCode;
use crate::documents::transport::{AmendmentReason, KeyShare, TransportDocumentData};

/// Who an eBL is endorsed to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Endorsement {
    /// To (the order of) a named party.
    To(PublicKey),
    /// In blank: the eBL becomes a bearer document; any possessor is entitled.
    Blank,
}

/// What a transaction does.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Payload {
    // --- governance (validator organisations, by vote) ---
    /// Propose a change of the consortium; the proposer's organisation votes for it.
    Propose {
        /// The proposal's id, never reused.
        id: String,
        /// What it changes.
        action: crate::governance::Action,
    },
    /// Vote on an open proposal, once per validator organisation.
    Vote {
        /// The proposal.
        id: String,
        /// For (true) or against.
        approve: bool,
    },
    /// Rotate the signer's organisation's node key (its consensus key and libp2p identity):
    /// both keys sign the [`crate::governance::NodeKeyRotation`]. A validator seat is re-keyed
    /// from `ACTIVATION_DELAY` heights on; no vote is needed.
    RotateNodeKey {
        /// The new node key.
        new_key: PublicKey,
        /// The node key in use, over the rotation.
        old_key_signature: crate::crypto::Signature,
        /// The new node key, over the rotation.
        new_key_signature: crate::crypto::Signature,
    },

    // --- membership ---
    /// Revoke a participant of the signer's own organisation (the port operator may revoke
    /// anyone's): its key signs nothing more.
    RevokeParticipant {
        /// The participant's key.
        participant: PublicKey,
    },
    /// Register a new participant key for an organisation.
    RegisterParticipant {
        /// Unique alias.
        alias: String,
        /// Its key.
        public_key: PublicKey,
        /// Its X25519 key, for document keys wrapped for it.
        encryption_key: crate::sealed::EncryptionKey,
        /// Its organisation.
        organisation: String,
    },
    /// Claim a DCSA party code or party name for a registered participant (the party directory).
    ClaimPartyId {
        /// The code or name.
        id: PartyId,
        /// The participant it names.
        participant: PublicKey,
    },

    // --- transport documents ---
    /// Carrier drafts a transport document.
    DraftTransportDocument(Box<TransportDocumentData>),
    /// Shipper approves the draft.
    ApproveDraft {
        /// Document reference.
        reference: String,
    },
    /// Carrier issues: from the draft (`document` = None) or directly.
    IssueTransportDocument {
        /// Document reference.
        reference: String,
        /// The document, when issued without a draft.
        document: Option<Box<TransportDocumentData>>,
        /// First possessor (default: the shipper).
        issue_to: Option<PublicKey>,
    },
    /// Possessor transfers possession.
    Transfer {
        /// Document reference.
        reference: String,
        /// New possessor.
        to: PublicKey,
    },
    /// Possessor-endorsee endorses a to-order eBL.
    Endorse {
        /// Document reference.
        reference: String,
        /// New endorsee, or blank.
        to: Endorsement,
    },
    /// Entitled holder requests surrender for delivery.
    SurrenderForDelivery {
        /// Document reference.
        reference: String,
    },
    /// Possessor requests surrender for amendment.
    SurrenderForAmendment {
        /// Document reference.
        reference: String,
        /// Why.
        reason: AmendmentReason,
    },
    /// Carrier accepts the pending surrender.
    AcceptSurrender {
        /// Document reference.
        reference: String,
    },
    /// Carrier rejects the pending surrender.
    RejectSurrender {
        /// Document reference.
        reference: String,
        /// Why.
        reason: String,
    },
    /// The party just handed a sealed eBL (by issue, transfer or honour) hands it back to the
    /// party it came from, within [`crate::documents::transport::HAND_BACK_WINDOW_MS`], because
    /// its copy does not open or does not match the record: no holder stays in control of a
    /// document it cannot read.
    HandBack {
        /// Document reference.
        reference: String,
        /// Why (for example "the key wrap does not open").
        reason: String,
    },
    /// Carrier voids a document surrendered for amendment.
    VoidTransportDocument {
        /// Document reference.
        reference: String,
    },

    // --- letters of credit ---
    /// Applicant applies for a credit.
    ApplyCredit(Box<CreditTerms>),
    /// Issuing bank issues it.
    IssueCredit {
        /// Credit number.
        number: String,
    },
    /// Advising bank advises it.
    AdviseCredit {
        /// Credit number.
        number: String,
    },
    /// Confirming bank confirms it.
    ConfirmCredit {
        /// Credit number.
        number: String,
    },
    /// Issuing bank proposes an amendment.
    ProposeCreditAmendment {
        /// Credit number.
        number: String,
        /// The changes.
        changes: CreditAmendment,
    },
    /// Beneficiary (or confirming bank) accepts the pending amendment.
    AcceptCreditAmendment {
        /// Credit number.
        number: String,
    },
    /// Beneficiary (or confirming bank) rejects the pending amendment.
    RejectCreditAmendment {
        /// Credit number.
        number: String,
    },
    /// Beneficiary presents the eBL and anchored documents.
    PresentDocuments {
        /// Credit number.
        number: String,
        /// The eBL presented.
        transport_document: String,
        /// Anchored commercial documents presented.
        documents: Vec<Hash>,
    },
    /// Issuing bank examines: no discrepancies means complying.
    ExamineDocuments {
        /// Credit number.
        number: String,
        /// Discrepancies found.
        discrepancies: Vec<String>,
    },
    /// Applicant waives the discrepancies.
    WaiveDiscrepancies {
        /// Credit number.
        number: String,
    },
    /// Issuing bank honours; the eBL passes to the applicant in the same transaction.
    Honour {
        /// Credit number.
        number: String,
        /// Payment reference.
        payment_reference: String,
    },
    /// Issuing bank refuses; the eBL returns to the beneficiary.
    RefusePresentation {
        /// Credit number.
        number: String,
    },
    /// Beneficiary consents to cancellation.
    ConsentToCancel {
        /// Credit number.
        number: String,
    },
    /// Issuing bank cancels.
    CancelCredit {
        /// Credit number.
        number: String,
    },

    // --- customs ---
    /// Declarant lodges a declaration.
    LodgeDeclaration(Box<DeclarationData>),
    /// Customs accepts it.
    AcceptDeclaration {
        /// Declaration number.
        number: String,
    },
    /// Customs rejects it.
    RejectDeclaration {
        /// Declaration number.
        number: String,
        /// Why.
        reason: String,
    },
    /// Customs holds it for a check.
    HoldDeclaration {
        /// Declaration number.
        number: String,
        /// Why.
        reason: String,
    },
    /// Customs clears the hold.
    ClearHold {
        /// Declaration number.
        number: String,
    },
    /// Customs assesses duty.
    AssessDuty {
        /// Declaration number.
        number: String,
        /// The duty, sealed for the declarant and the customs auditor.
        duty: crate::documents::customs::SealedDuty,
    },
    /// Declarant pays the duty.
    PayDuty {
        /// Declaration number.
        number: String,
        /// Payment reference.
        payment_reference: String,
    },
    /// Customs releases the goods.
    ReleaseDeclaration {
        /// Declaration number.
        number: String,
    },
    /// Customs detains the goods.
    DetainDeclaration {
        /// Declaration number.
        number: String,
        /// Why.
        reason: String,
    },

    // --- cargo release ---
    /// Carrier confirms collect freight paid.
    ConfirmFreightPaid {
        /// Transport document reference.
        reference: String,
    },
    /// Carrier issues the delivery order.
    IssueDeliveryOrder {
        /// Transport document reference.
        reference: String,
        /// The party entitled to take delivery.
        to: PublicKey,
    },
    /// Port operator releases the cargo at the gate.
    ReleaseCargo {
        /// Transport document reference.
        reference: String,
        /// One container, or all when `None`.
        container: Option<String>,
    },

    // --- shipment tracking ---
    /// A party records a tracking event it saw (GTIN, LOAD, DEPA, ARRI, DISC; GTOT only comes
    /// from [`Payload::ReleaseCargo`]).
    RecordTrackingEvent {
        /// Transport document reference.
        reference: String,
        /// The container (ISO 6346), listed on the document.
        container: String,
        /// What happened.
        code: TrackingCode,
        /// Where (UN/LOCODE).
        location: String,
        /// When, milliseconds since the Unix epoch; never after the block time.
        event_time_ms: u64,
    },

    // --- commercial documents ---
    /// Anchor a document's hash.
    AnchorDocument {
        /// SHA-256 of the file.
        hash: Hash,
        /// Its type.
        doc_type: DocumentType,
        /// Related transport documents or credits.
        references: Vec<String>,
    },
    /// The issuer revokes (or supersedes) an anchored document.
    RevokeDocument {
        /// The anchored hash.
        hash: Hash,
        /// Replacement, if superseded.
        superseded_by: Option<Hash>,
    },
}

impl Payload {
    /// The documents this payload names directly.
    pub fn mentions(&self) -> Vec<crate::state::DocumentKey> {
        use crate::state::DocumentKey as K;
        let td = |r: &String| K::TransportDocument(r.clone());
        let lc = |n: &String| K::Credit(n.clone());
        let cd = |n: &String| K::Declaration(n.clone());
        match self {
            Payload::Propose { id, .. } | Payload::Vote { id, .. } => vec![K::Proposal(id.clone())],
            Payload::RotateNodeKey { .. } => vec![],
            Payload::RevokeParticipant { participant } => vec![K::Participant(*participant)],
            Payload::RegisterParticipant { public_key, .. } => vec![K::Participant(*public_key)],
            Payload::ClaimPartyId { participant, .. } => vec![K::Participant(*participant)],
            Payload::DraftTransportDocument(d) => vec![td(&d.reference)],
            Payload::IssueTransportDocument { reference, .. }
            | Payload::ApproveDraft { reference }
            | Payload::Transfer { reference, .. }
            | Payload::Endorse { reference, .. }
            | Payload::SurrenderForDelivery { reference }
            | Payload::SurrenderForAmendment { reference, .. }
            | Payload::AcceptSurrender { reference }
            | Payload::RejectSurrender { reference, .. }
            | Payload::HandBack { reference, .. }
            | Payload::VoidTransportDocument { reference }
            | Payload::ConfirmFreightPaid { reference }
            | Payload::IssueDeliveryOrder { reference, .. }
            | Payload::ReleaseCargo { reference, .. }
            | Payload::RecordTrackingEvent { reference, .. } => vec![td(reference)],
            Payload::ApplyCredit(t) => vec![lc(&t.number)],
            Payload::PresentDocuments {
                number,
                transport_document,
                documents,
            } => {
                let mut v = vec![lc(number), td(transport_document)];
                v.extend(documents.iter().map(|h| K::Anchor(*h)));
                v
            }
            Payload::IssueCredit { number }
            | Payload::AdviseCredit { number }
            | Payload::ConfirmCredit { number }
            | Payload::ProposeCreditAmendment { number, .. }
            | Payload::AcceptCreditAmendment { number }
            | Payload::RejectCreditAmendment { number }
            | Payload::ExamineDocuments { number, .. }
            | Payload::WaiveDiscrepancies { number }
            | Payload::Honour { number, .. }
            | Payload::RefusePresentation { number }
            | Payload::ConsentToCancel { number }
            | Payload::CancelCredit { number } => vec![lc(number)],
            Payload::LodgeDeclaration(d) => vec![cd(&d.number), td(&d.transport_document)],
            Payload::AcceptDeclaration { number }
            | Payload::RejectDeclaration { number, .. }
            | Payload::HoldDeclaration { number, .. }
            | Payload::ClearHold { number }
            | Payload::AssessDuty { number, .. }
            | Payload::PayDuty { number, .. }
            | Payload::ReleaseDeclaration { number }
            | Payload::DetainDeclaration { number, .. } => vec![cd(number)],
            Payload::AnchorDocument { hash, .. } => vec![K::Anchor(*hash)],
            Payload::RevokeDocument {
                hash,
                superseded_by,
            } => {
                let mut v = vec![K::Anchor(*hash)];
                v.extend(superseded_by.map(K::Anchor));
                v
            }
        }
    }

    /// A short stable name of the action, as shown in histories (`bl.transfer`, `lc.honour`, ...).
    pub fn action(&self) -> &'static str {
        match self {
            Payload::Propose { .. } => "gov.propose",
            Payload::Vote { .. } => "gov.vote",
            Payload::RotateNodeKey { .. } => "gov.rotate_node_key",
            Payload::RevokeParticipant { .. } => "member.revoke_participant",
            Payload::RegisterParticipant { .. } => "member.register_participant",
            Payload::ClaimPartyId { .. } => "member.claim_party_id",
            Payload::DraftTransportDocument(_) => "bl.draft",
            Payload::ApproveDraft { .. } => "bl.approve",
            Payload::IssueTransportDocument { .. } => "bl.issue",
            Payload::Transfer { .. } => "bl.transfer",
            Payload::Endorse { .. } => "bl.endorse",
            Payload::SurrenderForDelivery { .. } => "bl.surrender",
            Payload::SurrenderForAmendment { .. } => "bl.amend_request",
            Payload::AcceptSurrender { .. } => "bl.accept_surrender",
            Payload::RejectSurrender { .. } => "bl.reject_surrender",
            Payload::HandBack { .. } => "bl.hand_back",
            Payload::VoidTransportDocument { .. } => "bl.void",
            Payload::ApplyCredit(_) => "lc.apply",
            Payload::IssueCredit { .. } => "lc.issue",
            Payload::AdviseCredit { .. } => "lc.advise",
            Payload::ConfirmCredit { .. } => "lc.confirm",
            Payload::ProposeCreditAmendment { .. } => "lc.amend",
            Payload::AcceptCreditAmendment { .. } => "lc.accept_amendment",
            Payload::RejectCreditAmendment { .. } => "lc.reject_amendment",
            Payload::PresentDocuments { .. } => "lc.present",
            Payload::ExamineDocuments { .. } => "lc.examine",
            Payload::WaiveDiscrepancies { .. } => "lc.waive",
            Payload::Honour { .. } => "lc.honour",
            Payload::RefusePresentation { .. } => "lc.refuse",
            Payload::ConsentToCancel { .. } => "lc.consent_cancel",
            Payload::CancelCredit { .. } => "lc.cancel",
            Payload::LodgeDeclaration(_) => "customs.declare",
            Payload::AcceptDeclaration { .. } => "customs.accept",
            Payload::RejectDeclaration { .. } => "customs.reject",
            Payload::HoldDeclaration { .. } => "customs.hold",
            Payload::ClearHold { .. } => "customs.clear_hold",
            Payload::AssessDuty { .. } => "customs.assess",
            Payload::PayDuty { .. } => "customs.pay",
            Payload::ReleaseDeclaration { .. } => "customs.release",
            Payload::DetainDeclaration { .. } => "customs.detain",
            Payload::ConfirmFreightPaid { .. } => "freight.paid",
            Payload::IssueDeliveryOrder { .. } => "delivery_order.issue",
            Payload::ReleaseCargo { .. } => "port.release",
            Payload::RecordTrackingEvent { code, .. } => match code {
                TrackingCode::GateIn => "track.gtin",
                TrackingCode::Load => "track.load",
                TrackingCode::Depart => "track.depa",
                TrackingCode::Arrive => "track.arri",
                TrackingCode::Discharge => "track.disc",
                TrackingCode::GateOut => "track.gtot",
            },
            Payload::AnchorDocument { .. } => "doc.anchor",
            Payload::RevokeDocument { .. } => "doc.revoke",
        }
    }
}

/// The transaction format this ledger reads and writes. Version 2 added this field; a body
/// with another version is refused with `unsupported_version`.
pub const TRANSACTION_VERSION: u16 = 5;

/// The signed part of a transaction.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TransactionBody {
    /// The format version, [`TRANSACTION_VERSION`].
    pub version: u16,
    /// The chain it is meant for.
    pub chain_id: String,
    /// The participant who signs it.
    pub signer: PublicKey,
    /// The signer's next nonce: 1 for its first transaction, then one more each time.
    pub nonce: u64,
    /// What it does.
    pub payload: Payload,
    /// Document keys it shares with the readers it makes (at most [`MAX_SHARES`]): the
    /// transferor's wrap for a new possessor, endorsee or presenting bank.
    pub shares: Vec<KeyShare>,
}

/// The most key shares one transaction carries.
pub const MAX_SHARES: usize = 8;

/// A transaction with its signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transaction {
    /// The signed part.
    pub body: TransactionBody,
    /// ed25519 signature over the body in [`Domain::Transaction`].
    pub signature: Signature,
}

impl Transaction {
    /// Builds and signs a transaction.
    pub fn sign(key: &Keypair, chain_id: &str, nonce: u64, payload: Payload) -> Transaction {
        Transaction::sign_sharing(key, chain_id, nonce, payload, Vec::new())
    }

    /// Builds and signs a transaction that shares document keys with the readers it makes.
    pub fn sign_sharing(
        key: &Keypair,
        chain_id: &str,
        nonce: u64,
        payload: Payload,
        shares: Vec<KeyShare>,
    ) -> Transaction {
        let body = TransactionBody {
            version: TRANSACTION_VERSION,
            chain_id: chain_id.to_string(),
            signer: key.public(),
            nonce,
            payload,
            shares,
        };
        let signature = key.sign(Domain::Transaction, &body);
        Transaction { body, signature }
    }

    /// The transaction hash: SHA-256 of its canonical encoding, signature included.
    pub fn hash(&self) -> Hash {
        Hash::of_encoded(self)
    }

    /// Checks the signature.
    pub fn verify_signature(&self) -> Result<(), SignatureError> {
        self.body
            .signer
            .verify(Domain::Transaction, &self.body, &self.signature)
    }

    /// The (key, message, signature) triple for batch verification.
    pub fn signature_item(&self) -> (PublicKey, Vec<u8>, Signature) {
        (
            self.body.signer,
            Domain::Transaction.message(&self.body),
            self.signature,
        )
    }

    /// Canonical bytes.
    pub fn encode(&self) -> Vec<u8> {
        codec::encode(self)
    }

    /// Decodes untrusted bytes with a size limit.
    pub fn decode(bytes: &[u8], limit: usize) -> Result<Transaction, CodecError> {
        codec::decode(bytes, limit)
    }
}
