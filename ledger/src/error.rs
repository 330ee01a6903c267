//! Why the ledger refuses a transaction, in words a user understands, under a stable code.
//!
//! Every refusal has its own code ([`RuleError::code`]), listed with its meaning and the rule it
//! enforces in `ledger/RULES.md`; [`ALL_CODES`] is that list, and a test checks the two agree.
//! Where a client needs more than the code, [`RuleError::fields`] gives structured fields (for
//! `bad_nonce`: `expected`; for `release_condition`: every unmet condition), which the API puts
//! beside `code` and `message`.

use serde_json::{json, Map, Value};

use crate::crypto::PublicKey;

/// A broken rule. Each variant names the rule and has its own code.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum RuleError {
    // --- the envelope ---
    /// The signature does not verify.
    #[error("bad signature: the transaction is not signed by its signer {0}")]
    BadSignature(PublicKey),
    /// A format version this ledger does not read.
    #[error("unsupported version: {what} version {found}, this ledger reads version {supported}")]
    UnsupportedVersion {
        /// What carries the version (`transaction`).
        what: &'static str,
        /// The version found.
        found: u16,
        /// The version this ledger reads.
        supported: u16,
    },
    /// Transaction for another chain.
    #[error("wrong chain: transaction is for chain {found:?}, this ledger is {expected:?}")]
    WrongChain {
        /// This chain.
        expected: String,
        /// The transaction's.
        found: String,
    },
    /// Nonce is not the signer's next one.
    #[error("bad nonce: expected nonce {expected} for this signer, got {found} (replayed or out of order)")]
    BadNonce {
        /// The signer's next nonce.
        expected: u64,
        /// The transaction's.
        found: u64,
    },
    /// The signer is not a registered participant.
    #[error("unknown signer: {0} is not a registered participant")]
    UnknownSigner(PublicKey),
    /// A named party is not a registered participant.
    #[error("unknown party: {0} is not a registered participant")]
    UnknownParty(PublicKey),

    /// A transaction makes a party a reader of a sealed transport document (possessor,
    /// endorsee) without sharing the document key with it: no holder may end in control of a
    /// document it cannot read.
    #[error("key not shared: {reference} would have a reader, {alias}, for whom the document key is not wrapped; share it in the transaction (shares)")]
    KeyNotShared {
        /// The transport document.
        reference: String,
        /// The reader without a wrap.
        party: PublicKey,
        /// Its alias.
        alias: String,
    },

    // --- who may ---
    /// The signer's role may not do this.
    #[error(
        "not permitted: {action} needs role {needed}, the signer's organisation has role {role}"
    )]
    RoleNotPermitted {
        /// The action.
        action: &'static str,
        /// What it needs.
        needed: &'static str,
        /// What the signer has.
        role: &'static str,
    },
    /// The signer's organisation holds no validator seat at this height (governance).
    #[error("not a validator: {action} is for validator organisations, and {organisation} holds no seat at this height")]
    NotAValidator {
        /// The action.
        action: &'static str,
        /// The signer's organisation.
        organisation: String,
    },
    /// The signer's organisation has already voted on the proposal.
    #[error("already voted: {organisation} has already voted on proposal {id}")]
    AlreadyVoted {
        /// The proposal.
        id: String,
        /// The organisation.
        organisation: String,
    },
    /// The signer, or a party named, is a revoked participant.
    #[error("revoked participant: {alias} was revoked by its organisation at height {height} and may not sign or be named")]
    RevokedParticipant {
        /// The participant.
        participant: PublicKey,
        /// Its alias.
        alias: String,
        /// The height it was revoked at.
        height: u64,
    },
    /// A change of the validator set that would leave it unusable or is already made.
    #[error("validator set: {0}")]
    ValidatorSet(String),
    /// The signer is not the party the rule names.
    #[error("not permitted: {action} may only be done by {who}")]
    NotParty {
        /// The action.
        action: &'static str,
        /// Who may.
        who: String,
    },
    /// The signer (or the party named) is not entitled to the goods or the document.
    #[error("not entitled: {0}")]
    NotEntitled(String),

    // --- documents and states ---
    /// The document is in a state that does not allow this action.
    #[error("wrong state: {action} is not allowed while {kind} {reference} is {state} (allowed from {allowed})")]
    WrongState {
        /// The action.
        action: &'static str,
        /// Kind of document.
        kind: &'static str,
        /// Its reference.
        reference: String,
        /// Its state.
        state: &'static str,
        /// States that allow it.
        allowed: &'static str,
    },
    /// The document does not exist.
    #[error("not found: no {kind} with reference {reference}")]
    NotFound {
        /// Kind of document.
        kind: &'static str,
        /// Reference asked for.
        reference: String,
    },
    /// Singularity: the reference is taken (a reference is never reused, even once voided).
    #[error("already exists: {kind} {reference} is already on the ledger")]
    AlreadyExists {
        /// Kind.
        kind: &'static str,
        /// Reference.
        reference: String,
    },
    /// A field is malformed.
    #[error("invalid {field}: {reason}")]
    InvalidField {
        /// The field.
        field: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A deadline has passed, judged by the block's time.
    #[error("too late: {0}")]
    Deadline(String),

    // --- transport documents ---
    /// Singularity across documents: the container is already on another live document.
    #[error("container on live document: container {container} is already on live transport document {reference}, which does not declare it shared")]
    ContainerOnLiveDocument {
        /// The container.
        container: String,
        /// The live document that holds it.
        reference: String,
    },
    /// A voided document already has its one replacement.
    #[error("replacement exists: {replaced} was already replaced by {replacement}")]
    ReplacementExists {
        /// The voided document.
        replaced: String,
        /// Its replacement.
        replacement: String,
    },
    /// A replacement that breaks a rule of replacement (not voided, another carrier, another
    /// first holder).
    #[error("not replaceable: {0}")]
    NotReplaceable(String),
    /// A sea waybill is never transferred, endorsed or surrendered.
    #[error("not transferable: {0}")]
    NotTransferable(String),
    /// Only to-order documents are endorsed.
    #[error("not to order: {0}")]
    NotToOrder(String),
    /// A transfer to the party that already possesses the document.
    #[error("already possessor: {0}")]
    AlreadyPossessor(String),

    // --- release ---
    /// Port release refused: conditions are not met (every unmet one is listed).
    #[error("release refused for {reference}: {}", unmet.join("; "))]
    ReleaseCondition {
        /// The transport document.
        reference: String,
        /// Every unmet condition, in words.
        unmet: Vec<String>,
    },
    /// Every container asked for has already gated out.
    #[error("already released: container {container} of {reference} has already gated out")]
    AlreadyReleased {
        /// The transport document.
        reference: String,
        /// The container.
        container: String,
    },
    /// Freight confirmation of a prepaid document.
    #[error("freight prepaid: {0}")]
    FreightPrepaid(String),
    /// Freight confirmed twice.
    #[error("freight already paid: {0}")]
    FreightAlreadyPaid(String),

    // --- tracking and export ---
    /// A tracking event does not follow the container's latest event in the plausible order.
    #[error("tracking out of order: {0}")]
    TrackingOutOfOrder(String),
    /// GTOT is recorded only by the port's cargo release.
    #[error("gate out only by release: {0}")]
    GateOutByRelease(String),
    /// The container is not listed on the transport document.
    #[error("unknown container: {container} is not listed on transport document {reference}")]
    UnknownContainer {
        /// The container.
        container: String,
        /// The transport document.
        reference: String,
    },
    /// An event is dated after the block that records it.
    #[error("event in the future: event time {event_time} is after the block time {block_time}")]
    EventInFuture {
        /// The event's time (ISO 8601).
        event_time: String,
        /// The block's time (ISO 8601).
        block_time: String,
    },
    /// Loading refused: the export declaration is not released.
    #[error("export not released: {0}")]
    ExportNotReleased(String),

    // --- credits ---
    /// The credit does not name the party the action needs (no advising bank, ...).
    #[error("party not named: {0}")]
    PartyNotNamed(String),
    /// The issuing bank may not confirm its own credit.
    #[error("own credit: {0}")]
    OwnCredit(String),
    /// An amendment already awaits acceptance.
    #[error("amendment pending: {0}")]
    AmendmentPending(String),
    /// There is no amendment to answer.
    #[error("no pending amendment: {0}")]
    NoPendingAmendment(String),
    /// A presentation lacks a document the credit requires.
    #[error("missing document: credit {credit} requires a {doc_type} and none presented is one (anchored by the beneficiary, or by an authority for a certificate)")]
    MissingDocument {
        /// The credit.
        credit: String,
        /// The required type.
        doc_type: String,
    },
    /// The presented eBL is no longer held by the issuing bank.
    #[error("presentation not held: {0}")]
    PresentationNotHeld(String),
    /// Honour while discrepancies stand unwaived.
    #[error("discrepancies not waived: {0}")]
    DiscrepanciesNotWaived(String),
    /// Cancellation without the beneficiary's consent.
    #[error("consent required: {0}")]
    ConsentRequired(String),

    // --- anchored documents ---
    /// The anchored document was revoked.
    #[error("document revoked: {0}")]
    DocumentRevoked(String),
    /// A document may be superseded only by one its issuer anchored.
    #[error("not own document: {0}")]
    NotOwnDocument(String),
}

/// Every code [`RuleError::code`] can return, in the order of `ledger/RULES.md`.
pub const ALL_CODES: &[&str] = &[
    "bad_signature",
    "unsupported_version",
    "wrong_chain",
    "bad_nonce",
    "unknown_signer",
    "unknown_party",
    "role_not_permitted",
    "not_a_validator",
    "already_voted",
    "revoked_participant",
    "validator_set",
    "not_permitted",
    "not_entitled",
    "wrong_state",
    "not_found",
    "already_exists",
    "invalid_field",
    "deadline",
    "container_on_live_document",
    "replacement_exists",
    "not_replaceable",
    "not_transferable",
    "not_to_order",
    "already_possessor",
    "release_condition",
    "already_released",
    "freight_prepaid",
    "freight_already_paid",
    "tracking_out_of_order",
    "gate_out_by_release",
    "unknown_container",
    "event_in_future",
    "export_not_released",
    "party_not_named",
    "own_credit",
    "amendment_pending",
    "no_pending_amendment",
    "missing_document",
    "presentation_not_held",
    "discrepancies_not_waived",
    "consent_required",
    "document_revoked",
    "not_own_document",
];

impl RuleError {
    /// A stable snake_case code for APIs.
    pub fn code(&self) -> &'static str {
        match self {
            RuleError::BadSignature(_) => "bad_signature",
            RuleError::UnsupportedVersion { .. } => "unsupported_version",
            RuleError::WrongChain { .. } => "wrong_chain",
            RuleError::BadNonce { .. } => "bad_nonce",
            RuleError::UnknownSigner(_) => "unknown_signer",
            RuleError::UnknownParty(_) => "unknown_party",
            RuleError::KeyNotShared { .. } => "key_not_shared",
            RuleError::RoleNotPermitted { .. } => "role_not_permitted",
            RuleError::NotAValidator { .. } => "not_a_validator",
            RuleError::AlreadyVoted { .. } => "already_voted",
            RuleError::RevokedParticipant { .. } => "revoked_participant",
            RuleError::ValidatorSet(_) => "validator_set",
            RuleError::NotParty { .. } => "not_permitted",
            RuleError::NotEntitled(_) => "not_entitled",
            RuleError::WrongState { .. } => "wrong_state",
            RuleError::NotFound { .. } => "not_found",
            RuleError::AlreadyExists { .. } => "already_exists",
            RuleError::InvalidField { .. } => "invalid_field",
            RuleError::Deadline(_) => "deadline",
            RuleError::ContainerOnLiveDocument { .. } => "container_on_live_document",
            RuleError::ReplacementExists { .. } => "replacement_exists",
            RuleError::NotReplaceable(_) => "not_replaceable",
            RuleError::NotTransferable(_) => "not_transferable",
            RuleError::NotToOrder(_) => "not_to_order",
            RuleError::AlreadyPossessor(_) => "already_possessor",
            RuleError::ReleaseCondition { .. } => "release_condition",
            RuleError::AlreadyReleased { .. } => "already_released",
            RuleError::FreightPrepaid(_) => "freight_prepaid",
            RuleError::FreightAlreadyPaid(_) => "freight_already_paid",
            RuleError::TrackingOutOfOrder(_) => "tracking_out_of_order",
            RuleError::GateOutByRelease(_) => "gate_out_by_release",
            RuleError::UnknownContainer { .. } => "unknown_container",
            RuleError::EventInFuture { .. } => "event_in_future",
            RuleError::ExportNotReleased(_) => "export_not_released",
            RuleError::PartyNotNamed(_) => "party_not_named",
            RuleError::OwnCredit(_) => "own_credit",
            RuleError::AmendmentPending(_) => "amendment_pending",
            RuleError::NoPendingAmendment(_) => "no_pending_amendment",
            RuleError::MissingDocument { .. } => "missing_document",
            RuleError::PresentationNotHeld(_) => "presentation_not_held",
            RuleError::DiscrepanciesNotWaived(_) => "discrepancies_not_waived",
            RuleError::ConsentRequired(_) => "consent_required",
            RuleError::DocumentRevoked(_) => "document_revoked",
            RuleError::NotOwnDocument(_) => "not_own_document",
        }
    }

    /// Structured fields a client may rely on, beside the code and the message. Empty where
    /// the code says it all.
    pub fn fields(&self) -> Map<String, Value> {
        let v = match self {
            RuleError::BadSignature(k) | RuleError::UnknownSigner(k) => json!({"signer": k}),
            RuleError::UnknownParty(k) => json!({"party": k}),
            RuleError::KeyNotShared {
                reference, party, ..
            } => json!({"reference": reference, "party": party}),
            RuleError::UnsupportedVersion {
                what,
                found,
                supported,
            } => json!({"what": what, "found": found, "supported": supported}),
            RuleError::WrongChain { expected, found } => {
                json!({"expected": expected, "found": found})
            }
            RuleError::BadNonce { expected, found } => {
                json!({"expected": expected, "found": found})
            }
            RuleError::RoleNotPermitted {
                action,
                needed,
                role,
            } => json!({"action": action, "needed": needed, "role": role}),
            RuleError::NotParty { action, .. } => json!({"action": action}),
            RuleError::NotAValidator {
                action,
                organisation,
            } => json!({"action": action, "organisation": organisation}),
            RuleError::AlreadyVoted { id, organisation } => {
                json!({"id": id, "organisation": organisation})
            }
            RuleError::RevokedParticipant {
                participant,
                height,
                ..
            } => json!({"participant": participant, "height": height}),
            RuleError::WrongState {
                action,
                kind,
                reference,
                state,
                allowed,
            } => json!({"action": action, "kind": kind, "reference": reference,
                        "state": state, "allowed": allowed}),
            RuleError::NotFound { kind, reference }
            | RuleError::AlreadyExists { kind, reference } => {
                json!({"kind": kind, "reference": reference})
            }
            RuleError::InvalidField { field, .. } => json!({"field": field}),
            RuleError::ContainerOnLiveDocument {
                container,
                reference,
            }
            | RuleError::UnknownContainer {
                container,
                reference,
            }
            | RuleError::AlreadyReleased {
                reference,
                container,
            } => json!({"container": container, "reference": reference}),
            RuleError::ReplacementExists {
                replaced,
                replacement,
            } => json!({"replaced": replaced, "replacement": replacement}),
            RuleError::ReleaseCondition { reference, unmet } => {
                json!({"reference": reference, "unmet": unmet})
            }
            RuleError::MissingDocument { credit, doc_type } => {
                json!({"credit": credit, "doc_type": doc_type})
            }
            _ => json!({}),
        };
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }
}
