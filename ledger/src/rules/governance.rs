//! Membership: the port operator registers organisations and claims DCSA party codes and names
//! for participants (the party directory); an organisation's participants register its further
//! participants (the port operator may too, for any organisation).

use crate::documents::check_reference;
use crate::error::RuleError;
use crate::genesis::{Role, MAX_NAME_LEN};
use crate::rules::Tx;
use crate::state::{DocumentKey, Member, PartyIds, StateView};
use crate::transaction::Payload;

fn check_name(field: &'static str, name: &str) -> Result<(), RuleError> {
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
    // An organisation onboards its own people: a participant may register another participant
    // of its own organisation (with that organisation's role, nothing more). Everything else
    // here is the port operator's.
    let own_people = matches!(p, Payload::RegisterParticipant { organisation, .. }
        if *organisation == t.member.organisation);
    if !own_people {
        if matches!(p, Payload::RegisterParticipant { .. }) && t.member.role != Role::PortOperator {
            return Err(RuleError::RoleNotPermitted {
                action: t.action,
                needed: "port_operator, or a participant of that organisation",
                role: t.member.role.as_str(),
            });
        }
        t.require_role(Role::PortOperator)?;
    }
    match p {
        Payload::RegisterOrganisation { name, role } => {
            check_name("name", name)?;
            if t.view.organisation_role(name).is_some() {
                return Err(RuleError::AlreadyExists {
                    kind: "organisation",
                    reference: name.clone(),
                });
            }
            t.fx.changes.organisations.insert(name.clone(), *role);
            t.touch(DocumentKey::Organisation(name.clone()));
        }
        Payload::RegisterParticipant {
            alias,
            public_key,
            encryption_key,
            organisation,
        } => {
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
                },
            );
            t.touch(DocumentKey::Participant(*public_key));
            t.involve([*public_key]);
        }
        Payload::ClaimPartyId { id, participant } => {
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
