//! A consortium set up by its organisations, each on its own host, with no shared secrets:
//!
//! 1. `portledger-node init`: an organisation makes its own keys (the node key, which is the
//!    consensus key and the libp2p identity, and its first participants' keys), a commented
//!    `config.toml`, and a public [`OrgDescription`] (names, role, public keys, the address its
//!    node is reached at).
//! 2. `portledger-node genesis`: anyone assembles the genesis from the public descriptions
//!    alone ([`assemble`]).
//! 3. `portledger-node genesis verify`: each organisation checks that the genesis lists it as it
//!    described itself ([`check_member`]), prints the hash to compare with the others, installs
//!    it and takes its peers from the others' descriptions ([`install`]).
//!
//! `portledger-node testnet` runs the same steps for the demo consortium on one machine.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use portledger_ledger::genesis::{ConsensusParams, Organisation, Participant, Role};
use portledger_ledger::sealed::EncryptionKey;
use portledger_ledger::{keyfile, Genesis, Keypair, PublicKey};
use serde::{Deserialize, Serialize};

use crate::config::{NodeConfig, PeerAddress};
use crate::network::PeerAddr;

/// The format of [`OrgDescription`] files.
pub const DESCRIPTION_VERSION: u16 = 1;

/// The file `init` writes into the home: the organisation's public description.
pub const DESCRIPTION_FILE: &str = "organisation.json";

/// Every role, in the order `--role` lists them.
pub const ROLES: [Role; 5] = [
    Role::PortOperator,
    Role::Carrier,
    Role::Bank,
    Role::Customs,
    Role::Trader,
];

/// Parses a role by its genesis name (`port_operator`, `carrier`, `bank`, `customs`, `trader`).
pub fn parse_role(text: &str) -> Result<Role, String> {
    ROLES
        .iter()
        .copied()
        .find(|r| r.as_str() == text)
        .ok_or_else(|| {
            let names: Vec<&str> = ROLES.iter().map(|r| r.as_str()).collect();
            format!("unknown role {text:?}: one of {}", names.join(", "))
        })
}

/// A participant key in a description: public halves only.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ParticipantKey {
    /// Its alias on the ledger.
    pub alias: String,
    /// Its signing key.
    pub public_key: PublicKey,
    /// Its X25519 key (document keys are wrapped for it).
    pub encryption_key: EncryptionKey,
}

/// An organisation's public description: everything genesis needs from it, nothing secret.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OrgDescription {
    /// [`DESCRIPTION_VERSION`].
    pub version: u16,
    /// The organisation's unique name.
    pub organisation: String,
    /// Its role.
    pub role: Role,
    /// Whether it runs a voting validator.
    pub validator: bool,
    /// Its node's key (consensus key and libp2p identity); absent when it runs no node.
    pub node_key: Option<PublicKey>,
    /// Where its node is reached by the others (`HOST:PORT`).
    pub address: Option<PeerAddr>,
    /// Its first participants.
    pub participants: Vec<ParticipantKey>,
    /// For a customs administration: the auditor key every transport document, declaration
    /// and anchored record is wrapped for (its first participant's X25519 key).
    pub customs_auditor: Option<EncryptionKey>,
}

impl OrgDescription {
    /// Reads and checks a description file.
    pub fn read(path: &Path) -> anyhow::Result<OrgDescription> {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let d: OrgDescription = serde_json::from_str(&text)
            .with_context(|| format!("{} is not an organisation description", path.display()))?;
        if d.version != DESCRIPTION_VERSION {
            bail!(
                "{}: description version {} is not supported (this build reads {DESCRIPTION_VERSION})",
                path.display(),
                d.version
            );
        }
        if d.validator && d.node_key.is_none() {
            bail!(
                "{}: organisation {:?} is a validator but names no node_key",
                path.display(),
                d.organisation
            );
        }
        Ok(d)
    }

    /// Pretty JSON.
    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }
}

/// What `init` makes.
#[derive(Debug, Clone)]
pub struct InitOptions {
    /// The organisation's name.
    pub organisation: String,
    /// Its role.
    pub role: Role,
    /// Whether its node votes.
    pub validator: bool,
    /// Aliases of its first participants (one key file each).
    pub participants: Vec<String>,
    /// The node to set up, if it runs one.
    pub node: Option<NodeOptions>,
}

/// The node part of `init`.
#[derive(Debug, Clone)]
pub struct NodeOptions {
    /// Where the others reach it.
    pub address: PeerAddr,
    /// Where libp2p listens.
    pub p2p_listen: SocketAddr,
    /// Where the API listens.
    pub api_listen: SocketAddr,
}

impl NodeOptions {
    /// Listens on the address itself when it is an IP literal, else on all interfaces at its
    /// port; the API on loopback at `api_listen`.
    pub fn at(address: PeerAddr, api_listen: SocketAddr) -> NodeOptions {
        let p2p_listen = address
            .socket_addr()
            .unwrap_or_else(|| SocketAddr::from(([0, 0, 0, 0], address.port)));
        NodeOptions {
            address,
            p2p_listen,
            api_listen,
        }
    }
}

/// Writes an organisation's keys and, with a node, its `node.key` and `config.toml` into
/// `home`; participant keys go to `keys_dir/<alias>.key`. Never overwrites a file. Returns the
/// public description (also written to `home/organisation.json` when there is a node).
pub fn init(home: &Path, keys_dir: &Path, opts: &InitOptions) -> anyhow::Result<OrgDescription> {
    if home.join(DESCRIPTION_FILE).exists() {
        bail!(
            "{} already holds an organisation ({DESCRIPTION_FILE} exists)",
            home.display()
        );
    }
    if opts.validator && opts.node.is_none() {
        bail!("a validator organisation runs a node");
    }
    let mut seen = std::collections::BTreeSet::new();
    for alias in &opts.participants {
        if !seen.insert(alias.as_str()) {
            bail!("participant alias {alias:?} is given twice");
        }
    }
    std::fs::create_dir_all(keys_dir)
        .with_context(|| format!("creating {}", keys_dir.display()))?;
    let mut participants = Vec::new();
    for alias in &opts.participants {
        let key = Keypair::generate();
        let path = keys_dir.join(format!("{alias}.key"));
        keyfile::write(&path, &key).with_context(|| format!("writing {}", path.display()))?;
        participants.push(ParticipantKey {
            alias: alias.clone(),
            public_key: key.public(),
            encryption_key: key.encryption_key(),
        });
    }
    let customs_auditor = if opts.role == Role::Customs {
        participants.first().map(|p| p.encryption_key)
    } else {
        None
    };
    let mut description = OrgDescription {
        version: DESCRIPTION_VERSION,
        organisation: opts.organisation.clone(),
        role: opts.role,
        validator: opts.validator,
        node_key: None,
        address: None,
        participants,
        customs_auditor,
    };
    if let Some(node) = &opts.node {
        std::fs::create_dir_all(home).with_context(|| format!("creating {}", home.display()))?;
        let key = Keypair::generate();
        keyfile::write(&home.join("node.key"), &key)
            .with_context(|| format!("writing {}", home.join("node.key").display()))?;
        let cfg = NodeConfig {
            p2p_listen: node.p2p_listen,
            api_listen: node.api_listen,
            ..NodeConfig::default()
        };
        write_new(&home.join("config.toml"), &cfg.to_commented_toml())?;
        description.node_key = Some(key.public());
        description.address = Some(node.address.clone());
        write_new(&home.join(DESCRIPTION_FILE), &description.to_json())?;
    }
    Ok(description)
}

/// Writes `text` and a newline to a new file; an existing file is never overwritten.
pub fn write_new(path: &Path, text: &str) -> anyhow::Result<()> {
    use std::io::Write;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .with_context(|| format!("writing {}", path.display()))?;
    f.write_all(text.as_bytes())
        .and_then(|()| f.write_all(b"\n"))
        .with_context(|| format!("writing {}", path.display()))
}

/// The genesis of a consortium from its organisations' public descriptions: validators first,
/// in the order given (the proposer order), then the others in the order given.
pub fn assemble(
    chain_id: &str,
    genesis_time_ms: u64,
    consensus: ConsensusParams,
    organisations: &[OrgDescription],
) -> anyhow::Result<Genesis> {
    let auditors: Vec<&OrgDescription> = organisations
        .iter()
        .filter(|d| d.customs_auditor.is_some())
        .collect();
    if auditors.len() > 1 {
        bail!(
            "more than one organisation names a customs auditor key: {}",
            auditors
                .iter()
                .map(|d| d.organisation.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    let mut ordered: Vec<&OrgDescription> = organisations.iter().filter(|d| d.validator).collect();
    ordered.extend(organisations.iter().filter(|d| !d.validator));
    let genesis = Genesis {
        version: portledger_ledger::genesis::GENESIS_VERSION,
        chain_id: chain_id.to_string(),
        genesis_time_ms,
        organisations: ordered
            .iter()
            .map(|d| Organisation {
                name: d.organisation.clone(),
                role: d.role,
                validator: d.validator,
                validator_key: d.node_key,
            })
            .collect(),
        participants: ordered
            .iter()
            .flat_map(|d| {
                d.participants.iter().map(|p| Participant {
                    alias: p.alias.clone(),
                    public_key: p.public_key,
                    encryption_key: p.encryption_key,
                    organisation: d.organisation.clone(),
                })
            })
            .collect(),
        consensus,
        customs_auditor: auditors.first().and_then(|d| d.customs_auditor),
    };
    genesis.validate()?;
    Ok(genesis)
}

/// Checks that `genesis` lists the organisation exactly as `own` describes it: its role, its
/// validator flag and node key, every one of its participants with their keys and no others,
/// and its auditor key where it gave one.
pub fn check_member(genesis: &Genesis, own: &OrgDescription) -> anyhow::Result<()> {
    let name = &own.organisation;
    let Some(org) = genesis.organisations.iter().find(|o| &o.name == name) else {
        bail!("genesis does not list organisation {name:?}");
    };
    if org.role != own.role {
        bail!(
            "genesis gives {name:?} the role {}, not {}",
            org.role,
            own.role
        );
    }
    if org.validator != own.validator {
        bail!(
            "genesis {} {name:?} as a validator",
            if org.validator {
                "lists"
            } else {
                "does not list"
            }
        );
    }
    if org.validator_key != own.node_key {
        bail!("genesis names another node key for {name:?}");
    }
    let listed: Vec<&Participant> = genesis
        .participants
        .iter()
        .filter(|p| &p.organisation == name)
        .collect();
    for p in &own.participants {
        let Some(g) = listed.iter().find(|g| g.alias == p.alias) else {
            bail!(
                "genesis does not list participant {:?} of {name:?}",
                p.alias
            );
        };
        if g.public_key != p.public_key || g.encryption_key != p.encryption_key {
            bail!("genesis names other keys for participant {:?}", p.alias);
        }
    }
    if let Some(extra) = listed
        .iter()
        .find(|g| !own.participants.iter().any(|p| p.alias == g.alias))
    {
        bail!(
            "genesis lists participant {:?} for {name:?}, which it did not describe",
            extra.alias
        );
    }
    if own.customs_auditor.is_some() && genesis.customs_auditor != own.customs_auditor {
        bail!("genesis names another customs auditor key than {name:?}'s");
    }
    Ok(())
}

/// What [`install`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Installed {
    /// Where the genesis now is.
    pub genesis: PathBuf,
    /// The peers written into `config.toml`.
    pub peers: Vec<PeerAddress>,
}

/// Installs a checked genesis into an organisation's home: checks the home's own description
/// against it, copies it to `home/genesis.json` (an identical copy may be there already; a
/// different one is never overwritten), and, when `others` are given, checks each against the
/// genesis and writes their nodes as the peers in `config.toml`.
pub fn install(
    home: &Path,
    genesis_text: &str,
    others: &[OrgDescription],
) -> anyhow::Result<Installed> {
    install_as(home, genesis_text, others, false)
}

/// [`install`] for an organisation that joins after genesis (admitted by a governance vote,
/// `portledger gov propose ... add-org --file organisation.json`): the genesis must not list
/// it; the others' descriptions are checked and become its peers as with [`install`].
pub fn install_joining(
    home: &Path,
    genesis_text: &str,
    others: &[OrgDescription],
) -> anyhow::Result<Installed> {
    install_as(home, genesis_text, others, true)
}

fn install_as(
    home: &Path,
    genesis_text: &str,
    others: &[OrgDescription],
    joining: bool,
) -> anyhow::Result<Installed> {
    let genesis = Genesis::from_json(genesis_text)?;
    let own = OrgDescription::read(&home.join(DESCRIPTION_FILE))?;
    if joining {
        if genesis
            .organisations
            .iter()
            .any(|o| o.name == own.organisation)
        {
            bail!(
                "genesis already lists {:?}: use `genesis verify --home`, not `join`",
                own.organisation
            );
        }
        if others.is_empty() {
            bail!("a joining node needs the description of at least one member to reach (--org)");
        }
    } else {
        check_member(&genesis, &own)?;
    }
    let mut peers = Vec::new();
    for d in others {
        check_member(&genesis, d)
            .with_context(|| format!("the description of {:?}", d.organisation))?;
        if d.organisation == own.organisation {
            continue;
        }
        if let (Some(key), Some(address)) = (d.node_key, &d.address) {
            peers.push(PeerAddress {
                key,
                address: address.clone(),
            });
        }
    }
    let target = home.join("genesis.json");
    match std::fs::read_to_string(&target) {
        Ok(existing) => {
            let same = Genesis::from_json(&existing)
                .map(|g| g.hash() == genesis.hash())
                .unwrap_or(false);
            if !same {
                bail!(
                    "{} holds another genesis; remove it first if this one replaces it",
                    target.display()
                );
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            write_new(&target, genesis_text.trim_end())?;
        }
        Err(e) => return Err(e).with_context(|| format!("reading {}", target.display())),
    }
    if !others.is_empty() {
        let path = home.join("config.toml");
        let text = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let mut cfg: NodeConfig =
            toml::from_str(&text).with_context(|| format!("{} is not valid", path.display()))?;
        cfg.peers = peers.clone();
        std::fs::write(&path, cfg.to_commented_toml())
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(Installed {
        genesis: target,
        peers,
    })
}

/// A few lines about a genesis for its reader to check: chain, organisations with roles and
/// validators, participants, the auditor key, and the hash every organisation compares.
pub fn summary(genesis: &Genesis) -> String {
    let mut out = format!(
        "chain id: {}\ngenesis time: {}\n",
        genesis.chain_id,
        portledger_ledger::date::format_ms(genesis.genesis_time_ms)
    );
    for o in &genesis.organisations {
        let aliases: Vec<&str> = genesis
            .participants
            .iter()
            .filter(|p| p.organisation == o.name)
            .map(|p| p.alias.as_str())
            .collect();
        out.push_str(&format!(
            "organisation {} ({}){}: participants {}\n",
            o.name,
            o.role,
            if o.validator { ", validator" } else { "" },
            if aliases.is_empty() {
                "none".to_string()
            } else {
                aliases.join(", ")
            }
        ));
    }
    out.push_str(&format!(
        "customs auditor key: {}\n",
        genesis
            .customs_auditor
            .map(|k| k.to_string())
            .unwrap_or_else(|| "none".into())
    ));
    out.push_str(&format!("genesis hash: {}\n", genesis.hash()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn org(
        dir: &Path,
        name: &str,
        role: Role,
        validator: bool,
        port: u16,
        aliases: &[&str],
    ) -> OrgDescription {
        let home = dir.join(name);
        init(
            &home,
            &home.join("keys"),
            &InitOptions {
                organisation: name.into(),
                role,
                validator,
                participants: aliases.iter().map(|a| (*a).to_string()).collect(),
                node: Some(NodeOptions::at(
                    format!("{name}.example:{port}").parse().expect("addr"),
                    SocketAddr::from(([127, 0, 0, 1], port + 1000)),
                )),
            },
        )
        .expect("init")
    }

    fn four(dir: &Path) -> Vec<OrgDescription> {
        vec![
            org(
                dir,
                "port-authority",
                Role::PortOperator,
                true,
                7000,
                &["port"],
            ),
            org(dir, "first-bank", Role::Bank, true, 7001, &["issuing-bank"]),
            org(
                dir,
                "customs-authority",
                Role::Customs,
                true,
                7002,
                &["customs"],
            ),
            org(
                dir,
                "ocean-carrier",
                Role::Carrier,
                true,
                7003,
                &["carrier", "ops"],
            ),
            org(dir, "buyer-co", Role::Trader, false, 7004, &["buyer"]),
        ]
    }

    #[test]
    fn four_organisations_assemble_a_genesis_from_public_files_alone() {
        let dir = tempfile::tempdir().expect("tmp");
        let orgs = four(dir.path());
        // What init wrote: keys that match the description, a config that loads, no secret in
        // the description.
        let home = dir.path().join("ocean-carrier");
        let node_key = keyfile::read(&home.join("node.key")).expect("node key");
        assert_eq!(orgs[3].node_key, Some(node_key.public()));
        let ops = keyfile::read(&home.join("keys/ops.key")).expect("participant key");
        assert_eq!(orgs[3].participants[1].public_key, ops.public());
        let on_disk = OrgDescription::read(&home.join(DESCRIPTION_FILE)).expect("description");
        assert_eq!(on_disk, orgs[3]);
        assert!(!on_disk.to_json().contains(&hex::encode(ops.seed())));
        let cfg = NodeConfig::load(&home, []).expect("config");
        assert_eq!(cfg.p2p_listen.to_string(), "0.0.0.0:7003");
        assert_eq!(cfg.api_listen.to_string(), "127.0.0.1:8003");

        let mut shuffled = orgs.clone();
        shuffled.rotate_left(4); // buyer-co first: validators still come first
        let g = assemble(
            "consortium-1",
            1_760_000_000_000,
            ConsensusParams::default(),
            &shuffled,
        )
        .expect("genesis");
        let names: Vec<&str> = g.organisations.iter().map(|o| o.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "port-authority",
                "first-bank",
                "customs-authority",
                "ocean-carrier",
                "buyer-co"
            ]
        );
        assert_eq!(g.validator_set().len(), 4);
        assert_eq!(g.participants.len(), 6);
        assert_eq!(g.customs_auditor, orgs[2].customs_auditor);
        assert!(g.customs_auditor.is_some());
        for d in &orgs {
            check_member(&g, d).expect("every organisation finds itself");
        }
        let s = summary(&g);
        assert!(
            s.contains(
                "organisation ocean-carrier (carrier), validator: participants carrier, ops"
            ),
            "{s}"
        );
        assert!(s.contains(&format!("genesis hash: {}", g.hash())), "{s}");

        // Installing: the genesis is copied, the peers are the others' nodes.
        let text = g.to_json();
        let done = install(&home, &text, &orgs).expect("install");
        assert_eq!(done.peers.len(), 4);
        assert!(done
            .peers
            .iter()
            .any(|p| p.address.to_string() == "port-authority.example:7000"));
        let cfg = NodeConfig::load(&home, []).expect("config with peers");
        assert_eq!(cfg.peers, done.peers);
        assert_eq!(cfg.api_listen.to_string(), "127.0.0.1:8003", "kept");
        install(&home, &text, &orgs).expect("installing the same genesis again is fine");
    }

    #[test]
    fn a_genesis_that_misdescribes_an_organisation_is_refused() {
        let dir = tempfile::tempdir().expect("tmp");
        let orgs = four(dir.path());
        let g = assemble("c", 1, ConsensusParams::default(), &orgs).expect("genesis");
        let carrier = &orgs[3];
        let mut cases: Vec<(Genesis, &str)> = Vec::new();
        let mut x = g.clone();
        x.organisations[3].role = Role::Customs;
        cases.push((x, "role"));
        let mut x = g.clone();
        x.organisations[3].validator_key = Some(Keypair::generate().public());
        cases.push((x, "node key"));
        let mut x = g.clone();
        x.organisations[3].validator = false;
        cases.push((x, "validator"));
        let mut x = g.clone();
        let k = Keypair::generate();
        x.participants.push(Participant {
            alias: "mole".into(),
            public_key: k.public(),
            encryption_key: k.encryption_key(),
            organisation: "ocean-carrier".into(),
        });
        cases.push((x, "did not describe"));
        let mut x = g.clone();
        let p = x
            .participants
            .iter_mut()
            .find(|p| p.alias == "ops")
            .expect("ops");
        p.public_key = k.public();
        cases.push((x, "other keys"));
        let mut x = g.clone();
        x.participants.retain(|p| p.alias != "ops");
        cases.push((x, "does not list participant"));
        let mut x = g.clone();
        x.organisations.retain(|o| o.name != "ocean-carrier");
        x.participants.retain(|p| p.organisation != "ocean-carrier");
        cases.push((x, "does not list organisation"));
        for (bad, why) in cases {
            let e = check_member(&bad, carrier).expect_err(why).to_string();
            assert!(e.contains(why), "{why}: {e}");
        }
        let mut x = g.clone();
        x.customs_auditor = Some(k.encryption_key());
        let e = check_member(&x, &orgs[2]).expect_err("auditor").to_string();
        assert!(e.contains("auditor"), "{e}");

        // A second auditor, or a validator without a node, cannot be assembled.
        let mut two = orgs.clone();
        two[1].customs_auditor = Some(k.encryption_key());
        let e = assemble("c", 1, ConsensusParams::default(), &two).expect_err("two auditors");
        assert!(e.to_string().contains("customs auditor"), "{e}");
        // An installed genesis is never replaced by another one.
        let home = dir.path().join("ocean-carrier");
        install(&home, &g.to_json(), &[]).expect("install");
        let other = assemble("c", 2, ConsensusParams::default(), &orgs).expect("genesis");
        let e = install(&home, &other.to_json(), &[]).expect_err("different genesis");
        assert!(e.to_string().contains("another genesis"), "{e}");
        // init never overwrites.
        let e = init(
            &home,
            &home.join("keys"),
            &InitOptions {
                organisation: "ocean-carrier".into(),
                role: Role::Carrier,
                validator: false,
                participants: vec![],
                node: None,
            },
        )
        .expect_err("home in use");
        assert!(e.to_string().contains("already holds"), "{e}");
    }

    #[test]
    fn roles_parse_by_their_genesis_names() {
        for r in ROLES {
            assert_eq!(parse_role(r.as_str()), Ok(r));
        }
        let e = parse_role("admiral").expect_err("unknown");
        assert!(
            e.contains("port_operator, carrier, bank, customs, trader"),
            "{e}"
        );
    }
}
