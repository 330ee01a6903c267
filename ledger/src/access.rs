//! Who may read what: the read matrix, one pure function of the reader (its key, organisation
//! and role) and the document, over the committed state.
//!
//! Every read of document data in the node's API asks [`may_read`]; nothing else decides. A
//! reader acts for its organisation: what one participant of an organisation may read, every
//! participant of that organisation may read (a bank's clerks share its credits).
//!
//! | document | who reads it |
//! | --- | --- |
//! | transport document (eBL, sea waybill) | its carrier, shipper, consignee and endorsees; its current and every past possessor; the party whose surrender is pending or was accepted; the delivery order's party; the banks of the credit it is presented under; every customs administration; the port operator (release needs it) |
//! | letter of credit | its applicant, beneficiary, issuing, advising and confirming banks; nobody else (bank secrecy: not customs, not the port) |
//! | customs declaration | its declarant; every customs administration; the port operator (release needs it) |
//! | anchored document | its issuer; whoever may read a transport document or credit it refers to; every customs administration. Anyone may ask whether a file is anchored, and learns only by whom, when and whether it still stands ([`AnchorSummary`]) |
//! | tracking events of a transport document | whoever may read the document; the port operator; customs |
//! | organisations, participants and governance proposals | every registered participant |
//!
//! A reader that is not a registered participant reads nothing here. A document that does not
//! exist is read by nobody, so the API can answer both alike (no oracle).

use serde::Serialize;

use crate::documents::anchor::AnchoredDocument;
use crate::documents::credit::LetterOfCredit;
use crate::documents::customs::CustomsDeclaration;
use crate::documents::transport::TransportDocument;
use crate::genesis::Role;
use crate::state::{DocumentKey, Member, State};
use crate::{Hash, PublicKey};

/// A registered participant reading: its key and membership.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reader {
    /// The key that signed the request.
    pub key: PublicKey,
    /// Its registration (alias, organisation, role).
    pub member: Member,
}

impl Reader {
    /// The reader signing with `key`, if `key` is a registered participant not revoked.
    pub fn of(state: &State, key: &PublicKey) -> Option<Reader> {
        state
            .participants
            .get(key)
            .filter(|m| m.revoked_at.is_none())
            .map(|m| Reader {
                key: *key,
                member: m.clone(),
            })
    }

    /// Its role.
    pub fn role(&self) -> Role {
        self.member.role
    }

    /// Whether `party` is the reader or a participant of the reader's organisation.
    pub fn acts_for(&self, state: &State, party: &PublicKey) -> bool {
        *party == self.key
            || state
                .participants
                .get(party)
                .is_some_and(|m| m.organisation == self.member.organisation)
    }

    fn any(&self, state: &State, parties: &[Option<&PublicKey>]) -> bool {
        parties.iter().flatten().any(|p| self.acts_for(state, p))
    }
}

/// Whether `reader` may read the document `doc` (its record, history and proof).
pub fn may_read(state: &State, reader: &Reader, doc: &DocumentKey) -> bool {
    match doc {
        DocumentKey::TransportDocument(r) => state
            .transport_documents
            .get(r)
            .is_some_and(|d| may_read_transport_document(state, reader, d)),
        DocumentKey::Credit(n) => state
            .credits
            .get(n)
            .is_some_and(|c| may_read_credit(state, reader, c)),
        DocumentKey::Declaration(n) => state
            .declarations
            .get(n)
            .is_some_and(|d| may_read_declaration(state, reader, d)),
        DocumentKey::Anchor(h) => state
            .anchors
            .get(h)
            .is_some_and(|a| may_read_anchor(state, reader, a)),
        DocumentKey::Participant(k) => state.participants.contains_key(k),
        DocumentKey::Organisation(o) => state.organisations.contains_key(o),
        DocumentKey::Proposal(id) => state.proposals.contains_key(id),
    }
}

/// The transport document row of the matrix.
pub fn may_read_transport_document(state: &State, reader: &Reader, d: &TransportDocument) -> bool {
    if matches!(reader.role(), Role::Customs | Role::PortOperator) {
        return true;
    }
    let named = [
        Some(&d.carrier),
        Some(&d.data.shipper),
        d.data.consignee.as_ref(),
        d.data.endorsee.as_ref(),
        d.endorsee.as_ref(),
        d.possessor.as_ref(),
        d.surrendered_by.as_ref(),
        d.delivery_order_to.as_ref(),
        d.pending_surrender.as_ref().map(|p| &p.requester),
    ];
    if reader.any(state, &named) || d.holders.iter().any(|h| reader.acts_for(state, h)) {
        return true;
    }
    d.presented_under
        .as_ref()
        .and_then(|n| state.credits.get(n))
        .is_some_and(|lc| reader.any(state, &banks(lc)))
}

fn banks(lc: &LetterOfCredit) -> [Option<&PublicKey>; 3] {
    [
        Some(&lc.terms.issuing_bank),
        lc.terms.advising_bank.as_ref(),
        lc.terms.confirming_bank.as_ref(),
    ]
}

/// The letter of credit row: its parties only.
pub fn may_read_credit(state: &State, reader: &Reader, lc: &LetterOfCredit) -> bool {
    let [issuing, advising, confirming] = banks(lc);
    reader.any(
        state,
        &[
            Some(&lc.terms.applicant),
            Some(&lc.terms.beneficiary),
            issuing,
            advising,
            confirming,
        ],
    )
}

/// The customs declaration row.
pub fn may_read_declaration(state: &State, reader: &Reader, d: &CustomsDeclaration) -> bool {
    matches!(reader.role(), Role::Customs | Role::PortOperator)
        || reader.acts_for(state, &d.declarant)
}

/// The anchored document row (the whole record; [`AnchorSummary`] is public).
pub fn may_read_anchor(state: &State, reader: &Reader, a: &AnchoredDocument) -> bool {
    reader.role() == Role::Customs
        || reader.acts_for(state, &a.issuer)
        || a.references.iter().any(|r| {
            state
                .transport_documents
                .get(r)
                .is_some_and(|d| may_read_transport_document(state, reader, d))
                || state
                    .credits
                    .get(r)
                    .is_some_and(|c| may_read_credit(state, reader, c))
        })
}

/// Whether `reader` may read the tracking events of the transport document `reference`.
pub fn may_read_tracking(state: &State, reader: &Reader, reference: &str) -> bool {
    matches!(reader.role(), Role::Customs | Role::PortOperator)
        || may_read(
            state,
            reader,
            &DocumentKey::TransportDocument(reference.to_string()),
        )
}

/// What anyone may learn of an anchored file by its hash (whoever asks holds the file): who
/// anchored it, when, and whether it still stands. Not its type or what it refers to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AnchorSummary {
    /// The file's SHA-256.
    pub hash: Hash,
    /// The participant who anchored it.
    pub issuer: PublicKey,
    /// The issuer's role.
    pub issuer_role: Role,
    /// Block height and time (ms) of anchoring.
    pub anchored_height: u64,
    /// Block time (ms).
    pub anchored_time_ms: u64,
    /// Revoked by its issuer.
    pub revoked: bool,
    /// Superseded by another file.
    pub superseded_by: Option<Hash>,
}

impl AnchorSummary {
    /// The summary of an anchored document.
    pub fn of(a: &AnchoredDocument) -> AnchorSummary {
        AnchorSummary {
            hash: a.hash,
            issuer: a.issuer,
            issuer_role: a.issuer_role,
            anchored_height: a.anchored_height,
            anchored_time_ms: a.anchored_time_ms,
            revoked: a.revoked,
            superseded_by: a.superseded_by,
        }
    }
}
