//! What can go wrong in the client, and the exit code each failure maps to.

/// A client failure. [`ClientError::exit_code`] gives the `portledger` exit code.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    /// The ledger refused (a rule, not found, not permitted): the node's error code names the rule.
    #[error("{code}: {message}")]
    Refused {
        /// HTTP status of the answer.
        status: u16,
        /// The rule (`bad_nonce`, `wrong_state`, `not_permitted`, `not_found`, ...).
        code: String,
        /// The node's explanation.
        message: String,
        /// The whole error object the node sent, with the refusal's structured fields (for
        /// `bad_nonce`: `expected`; for `release_condition`: `unmet`); `Null` when none.
        fields: serde_json::Value,
    },
    /// The node could not be reached.
    #[error("node unreachable at {url}: {reason}")]
    Unreachable {
        /// The URL asked.
        url: String,
        /// Why.
        reason: String,
    },
    /// Waiting for the node took too long.
    #[error("timed out: {0}")]
    Timeout(String),
    /// The node failed on its side (5xx) or answered something unexpected.
    #[error("node error: {0}")]
    Node(String),
    /// The user's input (a file, an option) is malformed.
    #[error("invalid input: {0}")]
    Input(String),
    /// A party that is neither a registered alias nor a public key.
    #[error("unknown party {0:?}: neither a registered alias nor a public key in hex")]
    UnknownParty(String),
    /// A chain or proof does not verify.
    #[error("verification failed: {0}")]
    Verification(String),
}

impl ClientError {
    /// The exit code of `portledger`: 1 refused / not found / not permitted / does not verify,
    /// 2 usage (bad input), 3 node unreachable or timed out.
    pub fn exit_code(&self) -> u8 {
        match self {
            ClientError::Refused { .. }
            | ClientError::UnknownParty(_)
            | ClientError::Verification(_) => 1,
            ClientError::Input(_) => 2,
            ClientError::Unreachable { .. } | ClientError::Timeout(_) | ClientError::Node(_) => 3,
        }
    }

    /// The rule code, when the ledger refused.
    pub fn rule(&self) -> Option<&str> {
        match self {
            ClientError::Refused { code, .. } => Some(code),
            _ => None,
        }
    }
}

/// A client result.
pub type Result<T> = std::result::Result<T, ClientError>;
