//! Governance: proposals and votes by the validator organisations ([`crate::governance`]).
//!
//! Only a participant of an organisation seated in the validator set in force at the
//! transaction's height proposes or votes, once per organisation. The vote that brings a quorum
//! of that set in favour adopts the proposal in the same transaction: an admitted organisation
//! exists from the next transaction on; a change of the validator set or of the consensus
//! parameters is written under the height `h + ACTIVATION_DELAY` it governs from. An action is
//! checked against the state when it is proposed and again when it is adopted (another proposal
//! may have made it moot), and a vote that would adopt a moot action is refused with the reason.

use crate::error::RuleError;
use crate::governance::{
    Action, NodeKeyRotation, Proposal, ProposalStatus, Tally, ACTIVATION_DELAY,
    MAX_FIRST_PARTICIPANTS,
};
use crate::rules::membership::check_name;
use crate::rules::Tx;
use crate::state::{DocumentKey, Member, NodeKeys, Proposals, StateView, ValidatorSets};
use crate::transaction::Payload;
use crate::ValidatorSet;

pub(super) fn apply<V: StateView>(t: &mut Tx<'_, V>, p: &Payload) -> Result<(), RuleError> {
    let seated = t.view.validators_at(t.ctx.height);
    let organisation = t.member.organisation.clone();
    if seated.key_of(&organisation).is_none() {
        return Err(RuleError::NotAValidator {
            action: t.action,
            organisation,
        });
    }
    let mut proposal = match p {
        Payload::Propose { id, action } => {
            check_name("id", id)?;
            if t.view.record::<Proposals, str>(id).is_some() {
                return Err(RuleError::AlreadyExists {
                    kind: "governance proposal",
                    reference: id.clone(),
                });
            }
            check_action(t.view, action)?;
            Proposal {
                id: id.clone(),
                action: action.clone(),
                proposer: t.signer,
                proposed_height: t.ctx.height,
                votes: [(organisation, true)].into_iter().collect(),
                status: ProposalStatus::Open,
            }
        }
        Payload::Vote { id, approve } => {
            let mut proposal =
                t.view
                    .record::<Proposals, str>(id)
                    .ok_or_else(|| RuleError::NotFound {
                        kind: "governance proposal",
                        reference: id.clone(),
                    })?;
            if proposal.status != ProposalStatus::Open {
                return Err(super::wrong_state(
                    t.action,
                    "governance proposal",
                    id,
                    proposal.status.as_str(),
                    "open",
                ));
            }
            if proposal.votes.contains_key(&organisation) {
                return Err(RuleError::AlreadyVoted {
                    id: id.clone(),
                    organisation,
                });
            }
            proposal.votes.insert(organisation, *approve);
            proposal
        }
        _ => unreachable!("dispatched only governance payloads"),
    };
    let tally = Tally::of(&proposal.votes, &seated);
    let height = t.ctx.height;
    if tally.adopts() {
        check_action(t.view, &proposal.action)?;
        let effective_height = adopt(t, &proposal.action);
        proposal.status = ProposalStatus::Adopted {
            height,
            effective_height,
        };
    } else if tally.rejects() {
        proposal.status = ProposalStatus::Rejected { height };
    }
    t.touch(DocumentKey::Proposal(proposal.id.clone()));
    t.fx.changes.proposals.insert(proposal.id.clone(), proposal);
    Ok(())
}

/// A node key rotation by a participant of the organisation, consented to by both keys: the
/// new key replaces the old one at once for connections, and in the organisation's validator
/// seat (if it holds or is to take one) from `ACTIVATION_DELAY` heights on, so that every
/// validator switches at the same height. The old key's votes count no more from that height.
pub(super) fn rotate_node_key<V: StateView>(
    t: &mut Tx<'_, V>,
    new_key: &crate::PublicKey,
    old_key_signature: &crate::crypto::Signature,
    new_key_signature: &crate::crypto::Signature,
) -> Result<(), RuleError> {
    let organisation = t.member.organisation.clone();
    let Some(old_key) = t.view.record::<NodeKeys, str>(&organisation) else {
        return Err(RuleError::ValidatorSet(format!(
            "{organisation} has no node key to rotate"
        )));
    };
    if let Some(holder) = t.view.node_key_owner(new_key) {
        return Err(RuleError::AlreadyExists {
            kind: "node key",
            reference: format!("{new_key}, the node key of {holder}"),
        });
    }
    let rotation = NodeKeyRotation {
        chain_id: t.view.chain_id().to_string(),
        organisation: organisation.clone(),
        old_key,
        new_key: *new_key,
    };
    for (field, key, sig) in [
        ("old_key_signature", old_key, old_key_signature),
        ("new_key_signature", *new_key, new_key_signature),
    ] {
        if !rotation.verify(&key, sig) {
            return Err(RuleError::InvalidField {
                field,
                reason: format!(
                    "not a signature by {key} over the rotation of {organisation}'s node key {old_key} to {new_key} on this chain"
                ),
            });
        }
    }
    t.fx.changes
        .node_keys
        .insert(organisation.clone(), *new_key);
    t.touch(DocumentKey::Organisation(organisation.clone()));
    let set = last_scheduled(t.view);
    if set.key_of(&organisation).is_some() {
        let effective = t.ctx.height + ACTIVATION_DELAY;
        schedule(t, effective, set.rekeyed(&organisation, *new_key));
    }
    Ok(())
}

/// The last validator set scheduled: the one every further change builds on.
fn last_scheduled(view: &impl StateView) -> ValidatorSet {
    view.latest::<ValidatorSets>(u64::MAX)
        .map(|(_, s)| s)
        .unwrap_or_else(|| ValidatorSet::new(Vec::new()))
}

/// Whether the action can be made in this state.
fn check_action(view: &impl StateView, action: &Action) -> Result<(), RuleError> {
    match action {
        Action::AddOrganisation {
            name,
            node_key,
            validator,
            participants,
            ..
        } => {
            check_name("action.name", name)?;
            if view.organisation_role(name).is_some() {
                return Err(RuleError::AlreadyExists {
                    kind: "organisation",
                    reference: name.clone(),
                });
            }
            if participants.is_empty() || participants.len() > MAX_FIRST_PARTICIPANTS {
                return Err(RuleError::InvalidField {
                    field: "action.participants",
                    reason: format!(
                        "an organisation is admitted with 1 to {MAX_FIRST_PARTICIPANTS} participants, not {}",
                        participants.len()
                    ),
                });
            }
            for (i, p) in participants.iter().enumerate() {
                check_name("action.participants.alias", &p.alias)?;
                let twice = participants[..i]
                    .iter()
                    .any(|q| q.alias == p.alias || q.public_key == p.public_key);
                if twice || view.alias(&p.alias).is_some() || view.member(&p.public_key).is_some() {
                    return Err(RuleError::AlreadyExists {
                        kind: "participant alias or key",
                        reference: p.alias.clone(),
                    });
                }
            }
            match node_key {
                Some(k) => {
                    if let Some(holder) = view.node_key_owner(k) {
                        return Err(RuleError::AlreadyExists {
                            kind: "node key",
                            reference: format!("{k}, the node key of {holder}"),
                        });
                    }
                }
                None if *validator => {
                    return Err(RuleError::ValidatorSet(format!(
                        "{name} would take a validator seat without a node key"
                    )))
                }
                None => {}
            }
            Ok(())
        }
        Action::AddValidator { organisation } => {
            if view.organisation_role(organisation).is_none() {
                return Err(RuleError::NotFound {
                    kind: "organisation",
                    reference: organisation.clone(),
                });
            }
            if view
                .record::<crate::state::NodeKeys, str>(organisation)
                .is_none()
            {
                return Err(RuleError::ValidatorSet(format!(
                    "{organisation} has no node key to take a seat under"
                )));
            }
            if last_scheduled(view).key_of(organisation).is_some() {
                return Err(RuleError::ValidatorSet(format!(
                    "{organisation} already holds (or is scheduled to take) a validator seat"
                )));
            }
            Ok(())
        }
        Action::RemoveValidator { organisation } => {
            let set = last_scheduled(view);
            if set.key_of(organisation).is_none() {
                return Err(RuleError::ValidatorSet(format!(
                    "{organisation} holds no validator seat (or is already scheduled to leave)"
                )));
            }
            if set.len() == 1 {
                return Err(RuleError::ValidatorSet(format!(
                    "{organisation} holds the last validator seat"
                )));
            }
            Ok(())
        }
        Action::SetConsensusParams(params) => {
            params.check().map_err(|reason| RuleError::InvalidField {
                field: "action.params",
                reason,
            })
        }
    }
}

/// Makes an adopted action; returns the first height it governs.
fn adopt<V: StateView>(t: &mut Tx<'_, V>, action: &Action) -> u64 {
    let height = t.ctx.height;
    let effective = height + ACTIVATION_DELAY;
    match action {
        Action::AddOrganisation {
            name,
            role,
            node_key,
            validator,
            participants,
        } => {
            t.fx.changes.organisations.insert(name.clone(), *role);
            t.touch(DocumentKey::Organisation(name.clone()));
            for p in participants {
                t.fx.changes.participants.insert(
                    p.public_key,
                    Member {
                        alias: p.alias.clone(),
                        organisation: name.clone(),
                        role: *role,
                        encryption_key: p.encryption_key,
                        revoked_at: None,
                    },
                );
                t.touch(DocumentKey::Participant(p.public_key));
                t.involve([p.public_key]);
            }
            if let Some(k) = node_key {
                t.fx.changes.node_keys.insert(name.clone(), *k);
                if *validator {
                    schedule(t, effective, last_scheduled(t.view).with(name, *k));
                    return effective;
                }
            }
            height
        }
        Action::AddValidator { organisation } => {
            if let Some(k) = t.view.record::<crate::state::NodeKeys, str>(organisation) {
                schedule(t, effective, last_scheduled(t.view).with(organisation, k));
            }
            effective
        }
        Action::RemoveValidator { organisation } => {
            schedule(t, effective, last_scheduled(t.view).without(organisation));
            effective
        }
        Action::SetConsensusParams(params) => {
            t.fx.changes.param_sets.insert(effective, params.clone());
            effective
        }
    }
}

fn schedule<V: StateView>(t: &mut Tx<'_, V>, effective: u64, set: ValidatorSet) {
    t.fx.changes.validator_sets.insert(effective, set);
}
