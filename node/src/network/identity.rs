//! The ledger's ed25519 keys as libp2p identities.

use libp2p::{identity, PeerId};
use portledger_ledger::{Keypair, PublicKey};

use super::NetworkError;

/// Multihash code of the identity hash, used by PeerIds of keys of at most 42 bytes.
const IDENTITY_MULTIHASH: u64 = 0x00;

/// The libp2p PeerId of the node with this ledger public key.
pub fn peer_id(key: &PublicKey) -> Result<PeerId, NetworkError> {
    let ed = identity::ed25519::PublicKey::try_from_bytes(key.as_bytes()).map_err(|e| {
        NetworkError::InvalidKey {
            key: *key,
            reason: e.to_string(),
        }
    })?;
    Ok(identity::PublicKey::from(ed).to_peer_id())
}

/// The ledger public key embedded in an ed25519 PeerId (the inverse of [`peer_id`]).
pub fn public_key(peer: &PeerId) -> Result<PublicKey, NetworkError> {
    let multihash = peer.as_ref();
    if multihash.code() != IDENTITY_MULTIHASH {
        return Err(NetworkError::NotEd25519PeerId(peer.to_base58()));
    }
    let key = identity::PublicKey::try_decode_protobuf(multihash.digest())
        .map_err(|_| NetworkError::NotEd25519PeerId(peer.to_base58()))?;
    let ed = key
        .try_into_ed25519()
        .map_err(|_| NetworkError::NotEd25519PeerId(peer.to_base58()))?;
    Ok(PublicKey(ed.to_bytes()))
}

/// The libp2p keypair of a ledger keypair (same ed25519 secret).
pub(crate) fn libp2p_keypair(key: &Keypair) -> Result<identity::Keypair, NetworkError> {
    // `ed25519_from_bytes` zeroes the buffer it is given: it gets a copy of the seed.
    identity::Keypair::ed25519_from_bytes(key.seed())
        .map_err(|e| NetworkError::Identity(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peer_id_round_trips_to_the_ledger_key() {
        let key = Keypair::for_testing("validator-0");
        let id = peer_id(&key.public()).expect("valid key");
        assert_eq!(public_key(&id).expect("ed25519 peer id"), key.public());
    }

    #[test]
    fn libp2p_identity_matches_the_ledger_key() {
        let key = Keypair::for_testing("validator-1");
        let libp2p_key = libp2p_keypair(&key).expect("valid seed");
        assert_eq!(
            libp2p_key.public().to_peer_id(),
            peer_id(&key.public()).expect("valid key")
        );
    }

    #[test]
    fn a_random_peer_id_is_not_a_ledger_key() {
        assert!(public_key(&PeerId::random()).is_err());
    }
}
