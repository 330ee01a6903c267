//! Node configuration: a TOML file where every field has a default, overridable by environment
//! variables `PORTLEDGER_<FIELD>` (for example `PORTLEDGER_API_LISTEN=127.0.0.1:9000`).

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use portledger_ledger::PublicKey;
use serde::{Deserialize, Serialize};

/// A peer to dial: its node key (libp2p identity) and address.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerAddress {
    /// The peer's node key, as in genesis.
    pub key: PublicKey,
    /// Its libp2p TCP address: `HOST:PORT` (a DNS name, resolved at each dial) or `IP:PORT`.
    pub address: crate::network::PeerAddr,
}

/// The node's configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct NodeConfig {
    /// Where libp2p listens.
    pub p2p_listen: SocketAddr,
    /// Where the HTTP API listens (loopback by default).
    pub api_listen: SocketAddr,
    /// Peers to dial.
    pub peers: Vec<PeerAddress>,
    /// Genesis file, relative to the node's home.
    pub genesis: PathBuf,
    /// Node key file (the validator key and libp2p identity), relative to the home.
    pub node_key: PathBuf,
    /// Data directory (sled), relative to the home.
    pub data_dir: PathBuf,
    /// Overrides genesis `timeout_base_ms` for this node's timers.
    pub timeout_base_ms: Option<u64>,
    /// Overrides genesis `timeout_delta_ms`.
    pub timeout_delta_ms: Option<u64>,
    /// Overrides genesis `timeout_max_ms`.
    pub timeout_max_ms: Option<u64>,
    /// Overrides genesis `heartbeat_ms` (idle chains commit an empty block this often).
    pub heartbeat_ms: Option<u64>,
    /// Most transactions held in the mempool.
    pub mempool_max_txs: usize,
    /// Log filter (`info`, `portledger_node=debug`, ...); `RUST_LOG` wins when set.
    pub log_level: String,
    /// Where `/metrics` is served on its own; when unset it is served, public, on the API.
    pub metrics_listen: Option<SocketAddr>,
    /// How far a signed read's time may be from this node's clock, either way (ms).
    pub read_window_ms: u64,
}

impl Default for NodeConfig {
    fn default() -> Self {
        NodeConfig {
            p2p_listen: SocketAddr::from(([127, 0, 0, 1], 7000)),
            api_listen: SocketAddr::from(([127, 0, 0, 1], 8080)),
            peers: Vec::new(),
            genesis: PathBuf::from("genesis.json"),
            node_key: PathBuf::from("node.key"),
            data_dir: PathBuf::from("data"),
            timeout_base_ms: None,
            timeout_delta_ms: None,
            timeout_max_ms: None,
            heartbeat_ms: None,
            mempool_max_txs: 50_000,
            log_level: "info".into(),
            metrics_listen: None,
            read_window_ms: 30_000,
        }
    }
}

/// A configuration that could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("config file {path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// The cause.
        source: std::io::Error,
    },
    /// The file or an override is not valid.
    #[error("config {path}: {reason}")]
    Invalid {
        /// The file.
        path: String,
        /// What is wrong.
        reason: String,
    },
}

/// The fields that `PORTLEDGER_<FIELD>` may set.
pub const FIELDS: [&str; 14] = [
    "p2p_listen",
    "api_listen",
    "peers",
    "genesis",
    "node_key",
    "data_dir",
    "timeout_base_ms",
    "timeout_delta_ms",
    "timeout_max_ms",
    "heartbeat_ms",
    "mempool_max_txs",
    "log_level",
    "metrics_listen",
    "read_window_ms",
];

/// What each field does, for the commented file `portledger-node init` writes.
const FIELD_HELP: [(&str, &str); 14] = [
    (
        "p2p_listen",
        "Where libp2p listens for the other nodes (0.0.0.0:PORT on a host of its own).",
    ),
    (
        "api_listen",
        "Where the HTTP API listens. Keep it on loopback or behind a TLS proxy.",
    ),
    ("peers", ""),
    ("genesis", "The genesis file."),
    (
        "node_key",
        "The node key: the validator's consensus key and its libp2p identity (mode 0600).",
    ),
    ("data_dir", "The sled data directory."),
    (
        "timeout_base_ms",
        "Overrides genesis timeout_base_ms for this node's timers.",
    ),
    ("timeout_delta_ms", "Overrides genesis timeout_delta_ms."),
    ("timeout_max_ms", "Overrides genesis timeout_max_ms."),
    (
        "heartbeat_ms",
        "Overrides genesis heartbeat_ms (an idle chain commits an empty block this often).",
    ),
    ("mempool_max_txs", "Most transactions held in the mempool."),
    (
        "log_level",
        "Log filter: info, debug, portledger_node=debug, ...; RUST_LOG wins when set.",
    ),
    (
        "metrics_listen",
        "Serve /metrics on its own address; when unset it is served, public, on the API.",
    ),
    (
        "read_window_ms",
        "How far a signed read's time may be from this node's clock, either way (ms).",
    ),
];

/// Example values of the optional fields, shown commented out when they are unset.
const OPTIONAL_EXAMPLES: [(&str, &str); 5] = [
    ("timeout_base_ms", "1000"),
    ("timeout_delta_ms", "500"),
    ("timeout_max_ms", "10000"),
    ("heartbeat_ms", "10000"),
    ("metrics_listen", "\"127.0.0.1:9100\""),
];

/// Parses an environment value as a TOML value (number, boolean, array), else as a string.
fn env_value(raw: &str) -> toml::Value {
    toml::from_str::<toml::Table>(&format!("v = {raw}"))
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| toml::Value::String(raw.to_string()))
}

/// The file name of a node's next key (a rotation in progress).
pub const NEXT_NODE_KEY: &str = "next-node.key";

impl NodeConfig {
    /// Where `portledger-node rotate-key` writes the node's next key: beside `node_key`, as
    /// `next-node.key`.
    pub fn next_node_key(&self) -> std::path::PathBuf {
        self.node_key.with_file_name(NEXT_NODE_KEY)
    }

    /// Loads `home/config.toml` (absent = defaults), applies `PORTLEDGER_*` overrides from
    /// `env`, and resolves relative paths against `home`.
    pub fn load(
        home: &Path,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<NodeConfig, ConfigError> {
        let path = home.join("config.toml");
        let shown = path.display().to_string();
        let mut table: toml::Table = match std::fs::read_to_string(&path) {
            Ok(text) => toml::from_str(&text).map_err(|e| ConfigError::Invalid {
                path: shown.clone(),
                reason: e.to_string(),
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => toml::Table::new(),
            Err(source) => {
                return Err(ConfigError::Io {
                    path: shown,
                    source,
                })
            }
        };
        for (name, value) in env {
            let Some(field) = name.strip_prefix("PORTLEDGER_") else {
                continue;
            };
            let field = field.to_ascii_lowercase();
            // Only the node's own fields: PORTLEDGER_NODE and PORTLEDGER_KEY belong to the
            // client, and a stray variable must not stop a node from starting.
            if !FIELDS.contains(&field.as_str()) {
                continue;
            }
            table.insert(field, env_value(&value));
        }
        let mut cfg: NodeConfig =
            NodeConfig::deserialize(toml::Value::Table(table)).map_err(|e| {
                ConfigError::Invalid {
                    path: shown,
                    reason: e.to_string(),
                }
            })?;
        for p in [&mut cfg.genesis, &mut cfg.node_key, &mut cfg.data_dir] {
            if p.is_relative() {
                *p = home.join(&*p);
            }
        }
        Ok(cfg)
    }

    /// The TOML text of this configuration.
    pub fn to_toml(&self) -> String {
        toml::to_string_pretty(self).unwrap_or_default()
    }

    /// The TOML text of this configuration with a comment above every field (what it does, its
    /// environment override); optional fields that are unset appear commented out. Paths are
    /// written as given (relative ones are resolved against the home when loaded).
    pub fn to_commented_toml(&self) -> String {
        let table: toml::Table = toml::from_str(&self.to_toml()).unwrap_or_default();
        let mut out = String::from(
            "# portledger-node configuration. Every field has a default; each can be overridden\n\
             # by an environment variable PORTLEDGER_<FIELD> (for example PORTLEDGER_API_LISTEN).\n\
             # Relative paths are relative to this file's folder.\n",
        );
        for (field, help) in FIELD_HELP {
            if field == "peers" {
                continue;
            }
            out.push('\n');
            for line in help.lines() {
                out.push_str("# ");
                out.push_str(line);
                out.push('\n');
            }
            match table.get(field) {
                Some(value) => out.push_str(&format!("{field} = {value}\n")),
                None => {
                    let example = OPTIONAL_EXAMPLES
                        .iter()
                        .find(|(f, _)| *f == field)
                        .map(|(_, e)| *e)
                        .unwrap_or("...");
                    out.push_str(&format!("# {field} = {example}\n"));
                }
            }
        }
        out.push_str(
            "\n# The other nodes to dial: each peer's node key (as in genesis) and its address,\n\
             # HOST:PORT (a DNS name, resolved at each dial) or IP:PORT.\n",
        );
        if self.peers.is_empty() {
            out.push_str(
                "# [[peers]]\n# key = \"<64 hex digits>\"\n# address = \"validator.bank.example:7000\"\n",
            );
        } else {
            let mut peers = toml::Table::new();
            if let Some(p) = table.get("peers") {
                peers.insert("peers".into(), p.clone());
            }
            out.push_str(&toml::to_string(&peers).unwrap_or_default());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_file_and_env_overrides() {
        let dir = tempfile::tempdir().expect("tmp");
        let cfg = NodeConfig::load(dir.path(), []).expect("defaults");
        assert_eq!(cfg.api_listen.to_string(), "127.0.0.1:8080");
        assert_eq!(cfg.data_dir, dir.path().join("data"));
        std::fs::write(
            dir.path().join("config.toml"),
            "api_listen = \"127.0.0.1:9001\"\nheartbeat_ms = 500\n",
        )
        .expect("write");
        let cfg = NodeConfig::load(
            dir.path(),
            [
                ("PORTLEDGER_HEARTBEAT_MS".to_string(), "250".to_string()),
                ("PORTLEDGER_LOG_LEVEL".to_string(), "debug".to_string()),
                ("PORTLEDGER_NODE".to_string(), "http://x".to_string()),
                ("PORTLEDGER_KEY".to_string(), "client.key".to_string()),
                ("PORTLEDGER_LOG".to_string(), "warn".to_string()),
                ("HOME".to_string(), "/root".to_string()),
            ],
        )
        .expect("load");
        assert_eq!(cfg.api_listen.to_string(), "127.0.0.1:9001");
        assert_eq!(cfg.heartbeat_ms, Some(250));
        assert_eq!(cfg.log_level, "debug");
        std::fs::write(dir.path().join("config.toml"), "colour = 1\n").expect("write");
        let e = NodeConfig::load(dir.path(), []).expect_err("unknown field");
        assert!(e.to_string().contains("colour"), "{e}");
        // Every field named in FIELDS is a real field.
        let table: toml::Table = toml::from_str(&NodeConfig::default().to_toml()).expect("toml");
        for f in FIELDS {
            assert!(
                // The optional ones are absent from the defaults.
                table.contains_key(f)
                    || f.starts_with("timeout")
                    || f == "heartbeat_ms"
                    || f == "metrics_listen",
                "{f}"
            );
        }
        // Round trip.
        let text = NodeConfig::default().to_toml();
        std::fs::write(dir.path().join("config.toml"), text).expect("write");
        NodeConfig::load(dir.path(), []).expect("round trip");
    }

    #[test]
    fn the_commented_file_loads_back_to_the_same_configuration() {
        let dir = tempfile::tempdir().expect("tmp");
        for fields in FIELD_HELP.iter().map(|(f, _)| *f).zip(FIELDS) {
            assert_eq!(fields.0, fields.1, "FIELD_HELP follows FIELDS");
        }
        let key = portledger_ledger::Keypair::for_testing("peer").public();
        let mut with_peers = NodeConfig {
            peers: vec![
                PeerAddress {
                    key,
                    address: "validator.bank.example:7000".parse().expect("addr"),
                },
                PeerAddress {
                    key,
                    address: "10.0.0.3:7001".parse().expect("addr"),
                },
            ],
            heartbeat_ms: Some(750),
            ..NodeConfig::default()
        };
        with_peers.genesis = PathBuf::from("genesis.json");
        for cfg in [NodeConfig::default(), with_peers] {
            let text = cfg.to_commented_toml();
            for (field, _) in FIELD_HELP {
                assert!(text.contains(field), "{field} is in the file:\n{text}");
            }
            std::fs::write(dir.path().join("config.toml"), &text).expect("write");
            let mut back = NodeConfig::load(dir.path(), []).expect("loads");
            for p in [&mut back.genesis, &mut back.node_key, &mut back.data_dir] {
                *p = p.strip_prefix(dir.path()).expect("resolved").to_path_buf();
            }
            assert_eq!(back, cfg, "{text}");
        }
    }
}
