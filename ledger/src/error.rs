//! Why the ledger refuses a transaction, in words a user understands.

use crate::crypto::PublicKey;

/// A broken rule. Each variant names the rule; [`RuleError::code`] gives a stable
/// machine-readable code for APIs.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum RuleError {
    /// The signature does not verify.
    #[error("bad signature: the transaction is not signed by its signer {0}")]
    BadSignature(PublicKey),
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
    /// The signer is not the party the rule names.
    #[error("not permitted: {action} may only be done by {who}")]
    NotParty {
        /// The action.
        action: &'static str,
        /// Who may.
        who: String,
    },
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
    /// Singularity: the reference is taken.
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
    /// Port release refused: a condition is not met.
    #[error("release refused: {0}")]
    ReleaseCondition(String),
    /// A tracking event does not follow the container's latest event in the plausible order.
    #[error("tracking out of order: {0}")]
    TrackingOutOfOrder(String),
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
    /// Any other rule of the documents, stated in words.
    #[error("{0}")]
    Rule(String),
}

impl RuleError {
    /// A stable snake_case code for APIs.
    pub fn code(&self) -> &'static str {
        match self {
            RuleError::BadSignature(_) => "bad_signature",
            RuleError::WrongChain { .. } => "wrong_chain",
            RuleError::BadNonce { .. } => "bad_nonce",
            RuleError::UnknownSigner(_) => "unknown_signer",
            RuleError::UnknownParty(_) => "unknown_party",
            RuleError::RoleNotPermitted { .. } => "role_not_permitted",
            RuleError::NotParty { .. } => "not_permitted",
            RuleError::WrongState { .. } => "wrong_state",
            RuleError::NotFound { .. } => "not_found",
            RuleError::AlreadyExists { .. } => "already_exists",
            RuleError::InvalidField { .. } => "invalid_field",
            RuleError::Deadline(_) => "deadline",
            RuleError::ReleaseCondition(_) => "release_condition",
            RuleError::TrackingOutOfOrder(_) => "tracking_out_of_order",
            RuleError::UnknownContainer { .. } => "unknown_container",
            RuleError::EventInFuture { .. } => "event_in_future",
            RuleError::ExportNotReleased(_) => "export_not_released",
            RuleError::Rule(_) => "rule",
        }
    }
}
