//! Membership: an organisation's participants register and revoke its further participants
//! (the port operator may too, for any organisation), and the port operator claims DCSA party
//! codes and names for participants (the party directory). Organisations themselves are
//! admitted by governance ([`super::governance`]).

use crate::documents::check_reference;
use crate::error::RuleError;
use crate::genesis::{Role, MAX_NAME_LEN};
use crate::rules::Tx;
use crate::state::{DocumentKey, Member, PartyIds, StateView};
use crate::transaction::Payload;

/// An organisation onboards and revokes its own people: a participant may register or revoke
/// participants of its own organisation; the port operator may for any organisation.
fn own_people_or_port<V: StateView>(t: &Tx<'_, V>, organisation: &str) -> Result<(), RuleError> {
    if t.member.organisation == organisation || t.member.role == Role::PortOperator {
        Ok(())
    } else {
        Err(RuleError::RoleNotPermitted {
            action: t.action,
            needed: "port_operator, or a participant of that organisation",
            role: t.member.role.as_str(),
        })
    }
}

pub(super) fn check_name(field: &'static str, name: &str) -> Result<(), RuleError> {
    check_reference(field, name, MAX_NAME_LEN)?;
    if name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.')
    {
        Ok(())
    } else {
        Err(RuleError::InvalidField {
            field,
            reason: format!("{name:?} may only hold letters, digits, '-', '_' and '.'"),
        })
    }
}

pub(super) fn apply<V: StateView>(t: &mut Tx<'_, V>, p: &Payload) -> Result<(), RuleError> {
    match p {
        Payload::RegisterParticipant {
            alias,
            public_key,
            encryption_key,
            organisation,
        } => {
            own_people_or_port(t, organisation)?;
            check_name("alias", alias)?;
            let role =
                t.view
                    .organisation_role(organisation)
                    .ok_or_else(|| RuleError::NotFound {
                        kind: "organisation",
                        reference: organisation.clone(),
                    })?;
            if t.view.alias(alias).is_some() {
                return Err(RuleError::AlreadyExists {
                    kind: "participant alias",
                    reference: alias.clone(),
                });
            }
            if t.view.member(public_key).is_some() {
                return Err(RuleError::AlreadyExists {
                    kind: "participant key",
                    reference: public_key.to_hex(),
                });
            }
            t.fx.changes.participants.insert(
                *public_key,
                Member {
                    alias: alias.clone(),
                    organisation: organisation.clone(),
                    role,
                    encryption_key: *encryption_key,
                    revoked_at: None,
                },
            );
            t.touch(DocumentKey::Participant(*public_key));
            t.involve([*public_key]);
        }
        Payload::RevokeParticipant { participant } => {
            let mut m = t
                .view
                .member(participant)
                .ok_or(RuleError::UnknownParty(*participant))?;
            own_people_or_port(t, &m.organisation)?;
            if let Some(height) = m.revoked_at {
                return Err(RuleError::RevokedParticipant {
                    participant: *participant,
                    alias: m.alias,
                    height,
                });
            }
            m.revoked_at = Some(t.ctx.height);
            t.fx.changes.participants.insert(*participant, m);
            t.touch(DocumentKey::Participant(*participant));
            t.involve([*participant]);
        }
        Payload::ClaimPartyId { id, participant } => {
            t.require_role(Role::PortOperator)?;
            id.validate()?;
            t.registered(participant)?;
            if let Some(holder) = t.view.record::<PartyIds, _>(id) {
                return Err(RuleError::AlreadyExists {
                    kind: "party directory entry",
                    reference: format!("{id}, claimed for {}", t.describe(&holder)),
                });
            }
            t.fx.changes.party_ids.insert(id.clone(), *participant);
            t.touch(DocumentKey::Participant(*participant));
            t.involve([*participant]);
        }
        _ => unreachable!("dispatched only membership payloads"),
    }
    Ok(())
}
