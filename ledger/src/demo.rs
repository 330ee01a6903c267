//! The demo consortium: the organisations and participants that `portledger-node testnet` writes
//! and that the tests use. One port, two banks, customs, a carrier, a seller and a buyer.

use crate::crypto::{Keypair, PublicKey};
use crate::genesis::{ConsensusParams, Genesis, Organisation, Participant, Role};
use crate::sealed::EncryptionKey;

/// The demo participants: (alias, organisation, role). The first four organisations validate
/// (in this order) when there are four validators.
pub const PARTICIPANTS: [(&str, &str, Role); 7] = [
    ("port", "port-authority", Role::PortOperator),
    ("issuing-bank", "first-bank", Role::Bank),
    ("customs", "customs-authority", Role::Customs),
    ("carrier", "ocean-carrier", Role::Carrier),
    ("advising-bank", "second-bank", Role::Bank),
    ("seller", "seller-co", Role::Trader),
    ("buyer", "buyer-co", Role::Trader),
];

/// A genesis for the demo consortium with the given validator keys and participant keys (in the
/// order of [`PARTICIPANTS`]). Validators beyond the first four organisations are added as
/// further port-operator organisations `validator-<i>`.
pub fn genesis(
    chain_id: &str,
    genesis_time_ms: u64,
    validator_keys: &[PublicKey],
    participant_keys: &[(PublicKey, EncryptionKey); 7],
    consensus: ConsensusParams,
) -> Genesis {
    let mut organisations: Vec<Organisation> = PARTICIPANTS
        .iter()
        .enumerate()
        .map(|(i, (_, org, role))| Organisation {
            name: (*org).to_string(),
            role: *role,
            validator: i < validator_keys.len() && i < 4,
            validator_key: if i < 4 {
                validator_keys.get(i).copied()
            } else {
                None
            },
        })
        .collect();
    // Validators first, in proposer order.
    organisations.sort_by_key(|o| !o.validator);
    for (i, k) in validator_keys.iter().enumerate().skip(4) {
        organisations.insert(
            i,
            Organisation {
                name: format!("validator-{i}"),
                role: Role::PortOperator,
                validator: true,
                validator_key: Some(*k),
            },
        );
    }
    let participants = PARTICIPANTS
        .iter()
        .zip(participant_keys)
        .map(|((alias, org, _), (key, encryption_key))| Participant {
            alias: (*alias).to_string(),
            public_key: *key,
            encryption_key: *encryption_key,
            organisation: (*org).to_string(),
        })
        .collect();
    Genesis {
        version: crate::genesis::GENESIS_VERSION,
        chain_id: chain_id.to_string(),
        genesis_time_ms,
        organisations,
        participants,
        consensus,
        // The demo's customs administration audits with its participant's own key.
        customs_auditor: participant_keys
            .iter()
            .zip(PARTICIPANTS.iter())
            .find(|(_, (_, _, role))| *role == Role::Customs)
            .map(|((_, e), _)| *e),
    }
}

/// A deterministic demo world for tests: validator keys `validator-<i>` and participant keys
/// named by alias, from [`Keypair::for_testing`].
pub fn testing(validators: usize) -> (Genesis, Vec<Keypair>, Vec<(String, Keypair)>) {
    let vkeys: Vec<Keypair> = (0..validators)
        .map(|i| Keypair::for_testing(&format!("validator-{i}")))
        .collect();
    let pkeys: Vec<(String, Keypair)> = PARTICIPANTS
        .iter()
        .map(|(a, _, _)| ((*a).to_string(), Keypair::for_testing(a)))
        .collect();
    let mut pubs = [(PublicKey([0; 32]), EncryptionKey([0; 32])); 7];
    for (slot, (_, k)) in pubs.iter_mut().zip(&pkeys) {
        *slot = (k.public(), k.encryption_key());
    }
    let vpubs: Vec<PublicKey> = vkeys.iter().map(Keypair::public).collect();
    let g = genesis(
        "portledger-test",
        1_750_000_000_000,
        &vpubs,
        &pubs,
        ConsensusParams::default(),
    );
    (g, vkeys, pkeys)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_genesis_is_valid_for_several_sizes() {
        for n in [1, 4, 7] {
            let (g, v, _) = testing(n);
            g.validate().expect("valid");
            let vs = g.validator_set();
            assert_eq!(vs.len(), n);
            for (i, k) in v.iter().enumerate() {
                assert_eq!(vs.members()[i].1, k.public(), "validator order");
            }
        }
    }
}
