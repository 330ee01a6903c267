//! Genesis: the chain's founding file. It names the chain, the organisations and their roles,
//! the validators (in proposer order), the participants' keys, and the consensus parameters.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::crypto::{Hash, PublicKey};

/// What an organisation may do on the ledger (domain.md, "Parties and roles").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Port or terminal operator; also the consortium's governance.
    PortOperator,
    /// Shipping line.
    Carrier,
    /// Issuing, advising or confirming bank.
    Bank,
    /// Customs administration.
    Customs,
    /// Exporter or importer.
    Trader,
}

impl Role {
    /// The name used in genesis and in messages.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::PortOperator => "port_operator",
            Role::Carrier => "carrier",
            Role::Bank => "bank",
            Role::Customs => "customs",
            Role::Trader => "trader",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An organisation listed in genesis.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Organisation {
    /// Unique name.
    pub name: String,
    /// Its one role.
    pub role: Role,
    /// Whether it runs a voting validator.
    #[serde(default)]
    pub validator: bool,
    /// The key its node signs consensus messages with, and its libp2p identity. Required for
    /// validators; an organisation that runs a non-voting observer node may give one too.
    #[serde(default)]
    pub validator_key: Option<PublicKey>,
}

/// A participant: one key acting for one organisation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Participant {
    /// Short unique name (`buyer`, `carrier`, ...).
    pub alias: String,
    /// The participant's signing key.
    pub public_key: PublicKey,
    /// Its X25519 key: document keys are wrapped for it ([`crate::sealed`]).
    pub encryption_key: crate::sealed::EncryptionKey,
    /// The organisation it acts for.
    pub organisation: String,
}

/// Consensus parameters, all in milliseconds where they are times.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ConsensusParams {
    /// Base timeout for each of propose, prevote and precommit in round 0.
    pub timeout_base_ms: u64,
    /// Added to each timeout per round.
    pub timeout_delta_ms: u64,
    /// Cap on any timeout, however high the round.
    pub timeout_max_ms: u64,
    /// An idle chain commits an empty block this often.
    pub heartbeat_ms: u64,
    /// How far ahead of a validator's clock a block time may be.
    pub max_clock_drift_ms: u64,
    /// Most transactions in one block.
    pub max_block_txs: u32,
    /// Most bytes of encoded transactions in one block.
    pub max_block_bytes: u32,
    /// Largest encoded transaction.
    pub max_tx_bytes: u32,
}

impl ConsensusParams {
    /// Checks the parameters are usable: timeouts and limits above zero, caps above bases.
    pub fn check(&self) -> Result<(), String> {
        if self.timeout_base_ms == 0 || self.timeout_max_ms < self.timeout_base_ms {
            return Err(
                "consensus timeouts: timeout_base_ms must be > 0 and <= timeout_max_ms".into(),
            );
        }
        if self.max_block_txs == 0
            || self.max_tx_bytes == 0
            || self.max_block_bytes < self.max_tx_bytes
        {
            return Err("consensus limits: max_block_txs and max_tx_bytes must be > 0 and max_block_bytes >= max_tx_bytes".into());
        }
        if self.heartbeat_ms == 0 {
            return Err("consensus heartbeat_ms must be > 0".into());
        }
        Ok(())
    }
}

impl Default for ConsensusParams {
    fn default() -> Self {
        ConsensusParams {
            timeout_base_ms: 1000,
            timeout_delta_ms: 500,
            timeout_max_ms: 10_000,
            heartbeat_ms: 10_000,
            max_clock_drift_ms: 2_000,
            max_block_txs: 10_000,
            max_block_bytes: 8 * 1024 * 1024,
            max_tx_bytes: 64 * 1024,
        }
    }
}

/// The genesis format this ledger reads and writes. Version 2 added this field (a file without
/// it is version 1, which this ledger refuses with a message that says to regenerate it).
pub const GENESIS_VERSION: u16 = 3;

fn version_one() -> u16 {
    1
}

/// The genesis file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Genesis {
    /// The format version, [`GENESIS_VERSION`].
    #[serde(default = "version_one")]
    pub version: u16,
    /// Chain identifier; every transaction and vote names it.
    pub chain_id: String,
    /// Genesis time (milliseconds since the Unix epoch); block 1 must be later.
    pub genesis_time_ms: u64,
    /// The organisations, validators in proposer order.
    pub organisations: Vec<Organisation>,
    /// The participants known at genesis; the port operator may register more.
    pub participants: Vec<Participant>,
    /// Consensus parameters.
    #[serde(default)]
    pub consensus: ConsensusParams,
    /// The customs auditor's X25519 key: the key of every sealed declaration is wrapped for
    /// it as well as for its declarant ([`crate::sealed`]); never a credit's (bank secrecy).
    #[serde(default)]
    pub customs_auditor: Option<crate::sealed::EncryptionKey>,
}

/// What is wrong with a genesis file.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum GenesisError {
    /// Not valid JSON, or a field of the wrong shape, or an unknown field.
    #[error("genesis is not valid: {0}")]
    Parse(String),
    /// A rule about the contents is broken.
    #[error("genesis is not valid: {0}")]
    Invalid(String),
}

/// Chain ids are short printable names.
pub const MAX_NAME_LEN: usize = 64;

fn check_name(kind: &str, name: &str) -> Result<(), GenesisError> {
    let ok = !name.is_empty()
        && name.len() <= MAX_NAME_LEN
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_' || c == '.');
    if ok {
        Ok(())
    } else {
        Err(GenesisError::Invalid(format!(
            "{kind} {name:?} must be 1 to {MAX_NAME_LEN} characters of letters, digits, '-', '_' or '.'"
        )))
    }
}

impl Genesis {
    /// Parses and validates a genesis JSON document.
    pub fn from_json(text: &str) -> Result<Genesis, GenesisError> {
        let g: Genesis =
            serde_json::from_str(text).map_err(|e| GenesisError::Parse(e.to_string()))?;
        g.validate()?;
        Ok(g)
    }

    /// Pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// A hash of the canonical encoding; nodes compare it to refuse peers on another genesis.
    pub fn hash(&self) -> Hash {
        Hash::of_encoded(self)
    }

    /// Checks every rule: unique names, aliases and keys, validators have keys, at least one
    /// validator, a port operator exists, participants name known organisations, sane parameters.
    pub fn validate(&self) -> Result<(), GenesisError> {
        if self.version != GENESIS_VERSION {
            return Err(GenesisError::Invalid(format!(
                "genesis version {} is not supported: this build reads version {GENESIS_VERSION} \
                 (regenerate it with `portledger-node testnet`, or remove the devnet folder for `dev`)",
                self.version
            )));
        }
        check_name("chain_id", &self.chain_id)?;
        let mut org_names = BTreeSet::new();
        let mut node_keys = BTreeSet::new();
        for o in &self.organisations {
            check_name("organisation name", &o.name)?;
            if !org_names.insert(o.name.as_str()) {
                return Err(GenesisError::Invalid(format!(
                    "organisation {:?} is listed twice",
                    o.name
                )));
            }
            if o.validator && o.validator_key.is_none() {
                return Err(GenesisError::Invalid(format!(
                    "organisation {:?} is a validator but has no validator_key",
                    o.name
                )));
            }
            if let Some(k) = o.validator_key {
                if !node_keys.insert(k) {
                    return Err(GenesisError::Invalid(format!(
                        "validator_key {k} is used by more than one organisation"
                    )));
                }
            }
        }
        if !self.organisations.iter().any(|o| o.validator) {
            return Err(GenesisError::Invalid(
                "at least one organisation must be a validator".into(),
            ));
        }
        if !self
            .organisations
            .iter()
            .any(|o| o.role == Role::PortOperator)
        {
            return Err(GenesisError::Invalid(
                "an organisation with role port_operator is required (it governs membership)"
                    .into(),
            ));
        }
        let mut aliases = BTreeSet::new();
        let mut keys = BTreeSet::new();
        for p in &self.participants {
            check_name("participant alias", &p.alias)?;
            if !aliases.insert(p.alias.as_str()) {
                return Err(GenesisError::Invalid(format!(
                    "participant alias {:?} is listed twice",
                    p.alias
                )));
            }
            if !keys.insert(p.public_key) {
                return Err(GenesisError::Invalid(format!(
                    "public key {} belongs to more than one participant",
                    p.public_key
                )));
            }
            if !org_names.contains(p.organisation.as_str()) {
                return Err(GenesisError::Invalid(format!(
                    "participant {:?} names organisation {:?}, which is not in genesis",
                    p.alias, p.organisation
                )));
            }
        }
        self.consensus.check().map_err(GenesisError::Invalid)?;
        Ok(())
    }

    /// The validator set, in proposer order.
    pub fn validator_set(&self) -> ValidatorSet {
        ValidatorSet::new(
            self.organisations
                .iter()
                .filter(|o| o.validator)
                .filter_map(|o| o.validator_key.map(|k| (o.name.clone(), k)))
                .collect(),
        )
    }

    /// Every key allowed to run a node (validators and observers): the network's allow-list.
    pub fn node_keys(&self) -> Vec<PublicKey> {
        self.organisations
            .iter()
            .filter_map(|o| o.validator_key)
            .collect()
    }

    /// Participants at genesis by public key, with their organisation's role.
    pub fn participant_roles(&self) -> BTreeMap<PublicKey, crate::state::Member> {
        let roles: BTreeMap<&str, Role> = self
            .organisations
            .iter()
            .map(|o| (o.name.as_str(), o.role))
            .collect();
        self.participants
            .iter()
            .filter_map(|p| {
                roles.get(p.organisation.as_str()).map(|r| {
                    (
                        p.public_key,
                        crate::state::Member {
                            alias: p.alias.clone(),
                            organisation: p.organisation.clone(),
                            role: *r,
                            encryption_key: p.encryption_key,
                            revoked_at: None,
                        },
                    )
                })
            })
            .collect()
    }
}

/// The validators, in proposer order, with equal weight: (organisation name, consensus key).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ValidatorSet {
    members: Vec<(String, PublicKey)>,
}

impl ValidatorSet {
    /// A set from (name, key) pairs in proposer order.
    pub fn new(members: Vec<(String, PublicKey)>) -> ValidatorSet {
        ValidatorSet { members }
    }

    /// Number of validators, n.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// True when there are no validators.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// Faults tolerated: f = floor((n - 1) / 3).
    pub fn max_faulty(&self) -> usize {
        self.len().saturating_sub(1) / 3
    }

    /// Quorum q = n - f.
    pub fn quorum(&self) -> usize {
        self.len() - self.max_faulty()
    }

    /// The validator keys in order.
    pub fn keys(&self) -> impl Iterator<Item = &PublicKey> {
        self.members.iter().map(|(_, k)| k)
    }

    /// (name, key) pairs in order.
    pub fn members(&self) -> &[(String, PublicKey)] {
        &self.members
    }

    /// Position of a key in proposer order.
    pub fn index_of(&self, key: &PublicKey) -> Option<usize> {
        self.members.iter().position(|(_, k)| k == key)
    }

    /// Whether a key is a validator.
    pub fn contains(&self, key: &PublicKey) -> bool {
        self.index_of(key).is_some()
    }

    /// The key of an organisation's seat, if it holds one.
    pub fn key_of(&self, organisation: &str) -> Option<PublicKey> {
        self.members
            .iter()
            .find(|(o, _)| o == organisation)
            .map(|(_, k)| *k)
    }

    /// The set with `organisation` seated last, under `key`.
    pub fn with(&self, organisation: &str, key: PublicKey) -> ValidatorSet {
        let mut members = self.members.clone();
        members.push((organisation.to_string(), key));
        ValidatorSet { members }
    }

    /// The set without `organisation`'s seat.
    pub fn without(&self, organisation: &str) -> ValidatorSet {
        ValidatorSet {
            members: self
                .members
                .iter()
                .filter(|(o, _)| o != organisation)
                .cloned()
                .collect(),
        }
    }

    /// The set with `organisation`'s seat re-keyed to `key`, in the same place.
    pub fn rekeyed(&self, organisation: &str, key: PublicKey) -> ValidatorSet {
        ValidatorSet {
            members: self
                .members
                .iter()
                .map(|(o, k)| (o.clone(), if o == organisation { key } else { *k }))
                .collect(),
        }
    }

    /// Proposer of height h, round r: `validators[(h + r) mod n]`.
    pub fn proposer(&self, height: u64, round: u32) -> PublicKey {
        let n = self.members.len() as u64;
        let i = (height.wrapping_add(u64::from(round))) % n.max(1);
        self.members[i as usize].1
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::Keypair;

    fn sample() -> Genesis {
        Genesis {
            version: GENESIS_VERSION,
            chain_id: "test-chain".into(),
            genesis_time_ms: 1,
            organisations: vec![
                Organisation {
                    name: "port".into(),
                    role: Role::PortOperator,
                    validator: true,
                    validator_key: Some(Keypair::for_testing("v0").public()),
                },
                Organisation {
                    name: "bank".into(),
                    role: Role::Bank,
                    validator: true,
                    validator_key: Some(Keypair::for_testing("v1").public()),
                },
            ],
            participants: vec![Participant {
                alias: "port".into(),
                public_key: Keypair::for_testing("p").public(),
                encryption_key: Keypair::for_testing("p").encryption_key(),
                organisation: "port".into(),
            }],
            consensus: ConsensusParams::default(),
            customs_auditor: None,
        }
    }

    #[test]
    fn json_round_trip_and_validation() {
        let g = sample();
        assert_eq!(Genesis::from_json(&g.to_json()), Ok(g.clone()));
        let mut bad = g.clone();
        bad.participants[0].organisation = "nobody".into();
        let e = Genesis::from_json(&bad.to_json()).expect_err("must fail");
        assert!(e.to_string().contains("not in genesis"), "{e}");
        let mut bad = g.clone();
        bad.organisations[1].validator_key = None;
        assert!(bad
            .validate()
            .expect_err("no key")
            .to_string()
            .contains("no validator_key"));
        let unknown = g
            .to_json()
            .replacen("\"chain_id\"", "\"colour\": 1, \"chain_id\"", 1);
        assert!(matches!(
            Genesis::from_json(&unknown),
            Err(GenesisError::Parse(_))
        ));
        let v1 = g.to_json().replacen("\"version\": 3,", "", 1);
        assert_ne!(v1, g.to_json());
        let e = Genesis::from_json(&v1).expect_err("version 1 is refused");
        assert!(e.to_string().contains("genesis version 1"), "{e}");
    }

    #[test]
    fn proposer_rotation_and_quorum() {
        let vs = ValidatorSet::new(
            (0..4)
                .map(|i| {
                    (
                        format!("v{i}"),
                        Keypair::for_testing(&format!("v{i}")).public(),
                    )
                })
                .collect(),
        );
        assert_eq!(vs.quorum(), 3);
        assert_eq!(vs.max_faulty(), 1);
        assert_eq!(vs.proposer(1, 0), vs.members()[1].1);
        assert_eq!(vs.proposer(1, 3), vs.members()[0].1);
        assert_eq!(vs.proposer(2, 0), vs.members()[2].1);
        let seven = ValidatorSet::new(vec![("x".into(), Keypair::for_testing("x").public()); 7]);
        assert_eq!((seven.max_faulty(), seven.quorum()), (2, 5));
    }
}
