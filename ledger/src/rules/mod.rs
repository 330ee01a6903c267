//! The state machine: `apply(state, tx) -> Result<Effects, RuleError>`.
//!
//! Pure and deterministic: the same state, transaction and block context give the same answer on
//! every validator. Time comes only from the block ([`BlockContext`]). Each document family's
//! transitions live in their own module; this one checks what every transaction must satisfy
//! (signature, chain id, registered signer, nonce) and dispatches.

mod anchor;
mod credit;
mod customs;
mod governance;
mod key_shares;
mod membership;
mod release;
mod tracking;
mod transport;

pub use release::release_unmet;

use crate::crypto::PublicKey;
use crate::documents::anchor::AnchoredDocument;
use crate::documents::credit::LetterOfCredit;
use crate::documents::customs::CustomsDeclaration;
use crate::documents::transport::TransportDocument;
use crate::error::RuleError;
use crate::genesis::Role;
use crate::state::{Changes, DocumentKey, Member, StateView};
use crate::transaction::{Payload, Transaction, TRANSACTION_VERSION};

/// The block a transaction is applied in: its height and its timestamp (milliseconds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BlockContext {
    /// Block height.
    pub height: u64,
    /// Block time, milliseconds since the Unix epoch.
    pub time_ms: u64,
}

/// What a valid transaction does: its writes, and the documents and parties it concerns (for
/// the history and party indexes).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Effects {
    /// The writes.
    pub changes: Changes,
    /// Documents whose history gains this transaction.
    pub touched: Vec<DocumentKey>,
    /// Parties involved (signer, counterparties), for the party -> documents index.
    pub parties: Vec<PublicKey>,
    /// Tracking events recorded, for the container and document tracking indexes.
    pub tracking: Vec<crate::documents::tracking::TrackingEvent>,
}

/// Applies a transaction: checks its signature and every rule, and returns its effects.
pub fn apply(
    view: &impl StateView,
    tx: &Transaction,
    ctx: &BlockContext,
) -> Result<Effects, RuleError> {
    tx.verify_signature()
        .map_err(|_| RuleError::BadSignature(tx.body.signer))?;
    apply_verified(view, tx, ctx)
}

/// Like [`apply`] for a transaction whose signature the caller has already checked (for example
/// in a batch, or once on entry to the mempool).
pub fn apply_verified(
    view: &impl StateView,
    tx: &Transaction,
    ctx: &BlockContext,
) -> Result<Effects, RuleError> {
    let body = &tx.body;
    if body.version != TRANSACTION_VERSION {
        return Err(RuleError::UnsupportedVersion {
            what: "transaction",
            found: body.version,
            supported: TRANSACTION_VERSION,
        });
    }
    if body.chain_id != view.chain_id() {
        return Err(RuleError::WrongChain {
            expected: view.chain_id().to_string(),
            found: body.chain_id.clone(),
        });
    }
    let member = view
        .member(&body.signer)
        .ok_or(RuleError::UnknownSigner(body.signer))?;
    not_revoked(&body.signer, &member)?;
    let expected = view.nonce(&body.signer).saturating_add(1);
    if body.nonce != expected {
        return Err(RuleError::BadNonce {
            expected,
            found: body.nonce,
        });
    }
    let mut t = Tx {
        view,
        signer: body.signer,
        member,
        ctx: *ctx,
        action: body.payload.action(),
        fx: Effects::default(),
    };
    t.fx.changes.nonces.insert(body.signer, body.nonce);
    t.fx.parties.push(body.signer);
    match &body.payload {
        Payload::Propose { .. } | Payload::Vote { .. } => governance::apply(&mut t, &body.payload)?,
        Payload::RotateNodeKey {
            new_key,
            old_key_signature,
            new_key_signature,
        } => governance::rotate_node_key(&mut t, new_key, old_key_signature, new_key_signature)?,
        Payload::RegisterParticipant { .. }
        | Payload::RevokeParticipant { .. }
        | Payload::ClaimPartyId { .. } => membership::apply(&mut t, &body.payload)?,
        Payload::DraftTransportDocument(_)
        | Payload::ApproveDraft { .. }
        | Payload::IssueTransportDocument { .. }
        | Payload::Transfer { .. }
        | Payload::Endorse { .. }
        | Payload::SurrenderForDelivery { .. }
        | Payload::SurrenderForAmendment { .. }
        | Payload::AcceptSurrender { .. }
        | Payload::RejectSurrender { .. }
        | Payload::HandBack { .. }
        | Payload::VoidTransportDocument { .. } => transport::apply(&mut t, &body.payload)?,
        Payload::ApplyCredit(_)
        | Payload::IssueCredit { .. }
        | Payload::AdviseCredit { .. }
        | Payload::ConfirmCredit { .. }
        | Payload::ProposeCreditAmendment { .. }
        | Payload::AcceptCreditAmendment { .. }
        | Payload::RejectCreditAmendment { .. }
        | Payload::PresentDocuments { .. }
        | Payload::ExamineDocuments { .. }
        | Payload::WaiveDiscrepancies { .. }
        | Payload::Honour { .. }
        | Payload::RefusePresentation { .. }
        | Payload::ConsentToCancel { .. }
        | Payload::CancelCredit { .. } => credit::apply(&mut t, &body.payload)?,
        Payload::LodgeDeclaration(_)
        | Payload::AcceptDeclaration { .. }
        | Payload::RejectDeclaration { .. }
        | Payload::HoldDeclaration { .. }
        | Payload::ClearHold { .. }
        | Payload::AssessDuty { .. }
        | Payload::PayDuty { .. }
        | Payload::ReleaseDeclaration { .. }
        | Payload::DetainDeclaration { .. } => customs::apply(&mut t, &body.payload)?,
        Payload::ConfirmFreightPaid { .. }
        | Payload::IssueDeliveryOrder { .. }
        | Payload::ReleaseCargo { .. } => release::apply(&mut t, &body.payload)?,
        Payload::RecordTrackingEvent { .. } => tracking::apply(&mut t, &body.payload)?,
        Payload::AnchorDocument { .. } | Payload::RevokeDocument { .. } => {
            anchor::apply(&mut t, &body.payload)?
        }
    }
    key_shares::settle(&mut t, &body.shares)?;
    t.fx.parties.sort();
    t.fx.parties.dedup();
    Ok(t.fx)
}

/// One transaction being applied: what it reads, who signed, and what it writes so far.
pub(crate) struct Tx<'a, V: StateView> {
    pub view: &'a V,
    pub signer: PublicKey,
    pub member: Member,
    pub ctx: BlockContext,
    pub action: &'static str,
    pub fx: Effects,
}

impl<V: StateView> Tx<'_, V> {
    /// The signer's organisation must have `role`.
    pub fn require_role(&self, role: Role) -> Result<(), RuleError> {
        if self.member.role == role {
            Ok(())
        } else {
            Err(RuleError::RoleNotPermitted {
                action: self.action,
                needed: role.as_str(),
                role: self.member.role.as_str(),
            })
        }
    }

    /// The signer must be `party`, described as `who` in the error.
    pub fn require_party(&self, party: &PublicKey, who: &str) -> Result<(), RuleError> {
        if self.signer == *party {
            Ok(())
        } else {
            Err(RuleError::NotParty {
                action: self.action,
                who: format!("{who} ({})", self.describe(party)),
            })
        }
    }

    /// A party's alias, or its key when it has none.
    pub fn describe(&self, party: &PublicKey) -> String {
        self.view
            .member(party)
            .map(|m| m.alias)
            .unwrap_or_else(|| party.to_hex())
    }

    /// A named party must be registered and not revoked; returns its membership.
    pub fn registered(&self, party: &PublicKey) -> Result<Member, RuleError> {
        let m = self
            .view
            .member(party)
            .ok_or(RuleError::UnknownParty(*party))?;
        not_revoked(party, &m)?;
        Ok(m)
    }

    /// A sealed document's key must be wrapped for each of `readers` (at its registered
    /// encryption key), for `auditor` when given, and for nobody else: no party ends with a document it cannot read, and
    /// no outsider gets the key. The rule cannot open a wrap; the reader's client checks it
    /// opens and matches the commitment.
    pub fn require_key_wraps(
        &self,
        wraps: &[crate::sealed::KeyWrap],
        readers: &[PublicKey],
        auditor: Option<crate::sealed::EncryptionKey>,
    ) -> Result<(), RuleError> {
        let mut expected = Vec::new();
        if let Some(a) = auditor {
            if !wraps.iter().any(|w| w.recipient == a) {
                return Err(RuleError::InvalidField {
                    field: "keys",
                    reason: "the document key is not wrapped for the customs auditor of genesis"
                        .into(),
                });
            }
            expected.push(a);
        }
        for r in readers {
            let m = self.registered(r)?;
            if !wraps.iter().any(|w| w.recipient == m.encryption_key) {
                return Err(RuleError::InvalidField {
                    field: "keys",
                    reason: format!("the document key is not wrapped for {}", m.alias),
                });
            }
            expected.push(m.encryption_key);
        }
        if let Some(w) = wraps.iter().find(|w| !expected.contains(&w.recipient)) {
            return Err(RuleError::InvalidField {
                field: "keys",
                reason: format!(
                    "the document key is wrapped for {}, who may not read it",
                    w.recipient
                ),
            });
        }
        Ok(())
    }

    /// The transport document with this reference.
    pub fn transport_document(&self, reference: &str) -> Result<TransportDocument, RuleError> {
        self.view
            .transport_document(reference)
            .ok_or_else(|| RuleError::NotFound {
                kind: "transport document",
                reference: reference.to_string(),
            })
    }

    /// The transport document with this reference, which must be in force (issued, not
    /// voided); `wrong_state` otherwise.
    pub fn document_in_force(&self, reference: &str) -> Result<TransportDocument, RuleError> {
        let doc = self.transport_document(reference)?;
        if !doc.state.is_in_force() {
            return Err(wrong_state(
                self.action,
                "transport document",
                reference,
                doc.state.as_str(),
                "an issued state",
            ));
        }
        Ok(doc)
    }

    /// The credit with this number.
    pub fn credit(&self, number: &str) -> Result<LetterOfCredit, RuleError> {
        self.view.credit(number).ok_or_else(|| RuleError::NotFound {
            kind: "letter of credit",
            reference: number.to_string(),
        })
    }

    /// The declaration with this number.
    pub fn declaration(&self, number: &str) -> Result<CustomsDeclaration, RuleError> {
        self.view
            .declaration(number)
            .ok_or_else(|| RuleError::NotFound {
                kind: "customs declaration",
                reference: number.to_string(),
            })
    }

    /// Records a transport document write.
    pub fn put_transport_document(&mut self, mut doc: TransportDocument) {
        // The one write path of a transport document records each new possessor.
        if let Some(p) = doc.possessor {
            if !doc.holders.contains(&p) {
                doc.holders.push(p);
            }
        }
        let key = DocumentKey::TransportDocument(doc.data.reference.clone());
        self.touch(key);
        self.fx
            .changes
            .transport_documents
            .insert(doc.data.reference.clone(), doc);
    }

    /// Records a credit write.
    pub fn put_credit(&mut self, lc: LetterOfCredit) {
        self.touch(DocumentKey::Credit(lc.terms.number.clone()));
        self.fx.changes.credits.insert(lc.terms.number.clone(), lc);
    }

    /// Records a declaration write.
    pub fn put_declaration(&mut self, d: CustomsDeclaration) {
        self.touch(DocumentKey::Declaration(d.data.number.clone()));
        self.fx
            .changes
            .declarations
            .insert(d.data.number.clone(), d);
    }

    /// Records an anchored document write.
    pub fn put_anchor(&mut self, a: AnchoredDocument) {
        self.touch(DocumentKey::Anchor(a.hash));
        self.fx.changes.anchors.insert(a.hash, a);
    }

    /// Adds a document to the history index for this transaction.
    pub fn touch(&mut self, key: DocumentKey) {
        if !self.fx.touched.contains(&key) {
            self.fx.touched.push(key);
        }
    }

    /// Adds parties to the party index for this transaction.
    pub fn involve(&mut self, parties: impl IntoIterator<Item = PublicKey>) {
        self.fx.parties.extend(parties);
    }
}

/// A revoked participant signs nothing and is named in nothing.
fn not_revoked(key: &PublicKey, m: &Member) -> Result<(), RuleError> {
    match m.revoked_at {
        Some(height) => Err(RuleError::RevokedParticipant {
            participant: *key,
            alias: m.alias.clone(),
            height,
        }),
        None => Ok(()),
    }
}

/// The error for an action attempted in the wrong state.
pub(crate) fn wrong_state(
    action: &'static str,
    kind: &'static str,
    reference: &str,
    state: &'static str,
    allowed: &'static str,
) -> RuleError {
    RuleError::WrongState {
        action,
        kind,
        reference: reference.to_string(),
        state,
        allowed,
    }
}
