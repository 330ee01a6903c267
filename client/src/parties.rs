//! Parties by alias or public key: the directory of registered participants
//! (`GET /v1/participants`), with
//! the DCSA party codes and names claimed for each (the party directory).

use portledger_ledger::documents::party::PartyId;
use portledger_ledger::sealed::EncryptionKey;
use portledger_ledger::PublicKey;
use serde::Deserialize;

use crate::api::NodeClient;
use crate::error::{ClientError, Result};

/// One registered participant.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct Participant {
    /// Its alias.
    pub alias: String,
    /// Its key.
    pub public_key: PublicKey,
    /// Its X25519 key: document keys are wrapped for it.
    pub encryption_key: EncryptionKey,
    /// Its organisation.
    pub organisation: String,
    /// Its organisation's role (snake_case).
    pub role: String,
    /// The DCSA party codes and names claimed for it in the party directory.
    #[serde(default)]
    pub party_ids: Vec<PartyId>,
}

/// The registered participants.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Directory {
    /// Every participant.
    pub participants: Vec<Participant>,
}

#[derive(Deserialize)]
struct ParticipantList {
    participants: Vec<Participant>,
}

impl Directory {
    /// Fetches the directory from a node.
    pub async fn fetch(node: &NodeClient) -> Result<Directory> {
        let v = node.get("/v1/participants").await?;
        let list: ParticipantList = serde_json::from_value(v)
            .map_err(|e| ClientError::Node(format!("participants do not parse: {e}")))?;
        Ok(Directory {
            participants: list.participants,
        })
    }

    /// The participant with this alias.
    pub fn by_alias(&self, alias: &str) -> Option<&Participant> {
        self.participants.iter().find(|p| p.alias == alias)
    }

    /// The participant the party directory gives for a DCSA party code or name.
    pub fn by_party_id(&self, id: &PartyId) -> Option<PublicKey> {
        self.participants
            .iter()
            .find(|p| p.party_ids.contains(id))
            .map(|p| p.public_key)
    }

    /// The registered encryption key of each of `parties`, to wrap a document key for.
    pub fn encryption_keys(&self, parties: &[PublicKey]) -> Result<Vec<EncryptionKey>> {
        parties
            .iter()
            .map(|k| {
                self.participants
                    .iter()
                    .find(|p| p.public_key == *k)
                    .map(|p| p.encryption_key)
                    .ok_or_else(|| {
                        ClientError::Input(format!(
                            "{k} is not a registered participant: no key to seal its copy for"
                        ))
                    })
            })
            .collect()
    }

    /// The alias of a key, if registered.
    pub fn alias_of(&self, key: &PublicKey) -> Option<&str> {
        self.participants
            .iter()
            .find(|p| p.public_key == *key)
            .map(|p| p.alias.as_str())
    }

    /// A party named by alias or by public key hex (a key need not be registered: the ledger
    /// judges that).
    pub fn resolve(&self, party: &str) -> Result<PublicKey> {
        if let Some(p) = self.by_alias(party) {
            return Ok(p.public_key);
        }
        PublicKey::from_hex(party).map_err(|_| ClientError::UnknownParty(party.to_string()))
    }

    /// A key shown as its alias, or its hex when it has none.
    pub fn show(&self, key: &PublicKey) -> String {
        self.alias_of(key)
            .map_or_else(|| key.to_hex(), str::to_string)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use portledger_ledger::Keypair;

    #[test]
    fn resolves_aliases_and_keys() {
        let k = Keypair::for_testing("buyer").public();
        let d = Directory {
            participants: vec![Participant {
                alias: "buyer".into(),
                public_key: k,
                encryption_key: Keypair::for_testing("buyer").encryption_key(),
                organisation: "buyer-co".into(),
                role: "trader".into(),
                party_ids: Vec::new(),
            }],
        };
        assert_eq!(d.resolve("buyer").ok(), Some(k));
        assert_eq!(d.resolve(&k.to_hex()).ok(), Some(k));
        assert!(matches!(
            d.resolve("nobody"),
            Err(ClientError::UnknownParty(_))
        ));
        assert_eq!(d.show(&k), "buyer");
    }
}
