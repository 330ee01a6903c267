//! Where a peer is dialled: an IP literal or a host name (resolved by DNS at each dial, so a
//! peer that moves to a new address is found again), and a TCP port.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::str::FromStr;

use libp2p::multiaddr::{Multiaddr, Protocol};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Longest host name (RFC 1035: 253 characters in text form).
const MAX_HOST_LEN: usize = 253;

/// The host part of a [`PeerAddr`].
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Host {
    /// An IPv4 or IPv6 literal.
    Ip(IpAddr),
    /// A DNS name (`validator.bank.example`, `localhost`).
    Name(String),
}

/// A peer's address: `host:port`, `a.b.c.d:port` or `[v6]:port`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct PeerAddr {
    /// Host name or IP literal.
    pub host: Host,
    /// TCP port.
    pub port: u16,
}

/// Why a text is not a peer address.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("peer address {text:?}: {reason} (expected HOST:PORT, IP:PORT or [IPv6]:PORT)")]
pub struct PeerAddrError {
    text: String,
    reason: &'static str,
}

fn valid_host_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_HOST_LEN
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

impl FromStr for PeerAddr {
    type Err = PeerAddrError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let err = |reason| PeerAddrError {
            text: text.to_string(),
            reason,
        };
        if let Ok(sa) = text.parse::<SocketAddr>() {
            return Ok(PeerAddr::from(sa));
        }
        let (host, port) = text.rsplit_once(':').ok_or_else(|| err("no port"))?;
        let port: u16 = port.parse().map_err(|_| err("the port is not 0-65535"))?;
        if host.starts_with('[') || host.contains(':') {
            return Err(err("not a valid IPv6 literal"));
        }
        if let Ok(ip) = host.parse::<IpAddr>() {
            return Ok(PeerAddr {
                host: Host::Ip(ip),
                port,
            });
        }
        if !valid_host_name(host) {
            return Err(err(
                "the host is neither an IP address nor a DNS name (letters, digits, '-' and '.')",
            ));
        }
        Ok(PeerAddr {
            host: Host::Name(host.to_ascii_lowercase()),
            port,
        })
    }
}

impl From<SocketAddr> for PeerAddr {
    fn from(sa: SocketAddr) -> Self {
        PeerAddr {
            host: Host::Ip(sa.ip()),
            port: sa.port(),
        }
    }
}

impl fmt::Display for PeerAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.host {
            Host::Ip(ip) => write!(f, "{}", SocketAddr::new(*ip, self.port)),
            Host::Name(name) => write!(f, "{name}:{}", self.port),
        }
    }
}

impl PeerAddr {
    /// `/ip4/../tcp/P`, `/ip6/../tcp/P` or `/dns/NAME/tcp/P` (resolved when dialled).
    pub fn multiaddr(&self) -> Multiaddr {
        let host = match &self.host {
            Host::Ip(ip) => Protocol::from(*ip),
            Host::Name(name) => Protocol::Dns(name.as_str().into()),
        };
        Multiaddr::empty().with(host).with(Protocol::Tcp(self.port))
    }

    /// The socket address, when the host is an IP literal.
    pub fn socket_addr(&self) -> Option<SocketAddr> {
        match self.host {
            Host::Ip(ip) => Some(SocketAddr::new(ip, self.port)),
            Host::Name(_) => None,
        }
    }
}

impl Serialize for PeerAddr {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for PeerAddr {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_ip_literals_and_host_names() {
        for (text, shown, multi) in [
            (
                "127.0.0.1:7000",
                "127.0.0.1:7000",
                "/ip4/127.0.0.1/tcp/7000",
            ),
            ("[::1]:9", "[::1]:9", "/ip6/::1/tcp/9"),
            (
                "localhost:7001",
                "localhost:7001",
                "/dns/localhost/tcp/7001",
            ),
            (
                "Validator-1.Bank.example:7000",
                "validator-1.bank.example:7000",
                "/dns/validator-1.bank.example/tcp/7000",
            ),
        ] {
            let a: PeerAddr = text.parse().expect(text);
            assert_eq!(a.to_string(), shown);
            assert_eq!(a.multiaddr().to_string(), multi);
            let back: PeerAddr = a.to_string().parse().expect("round trip");
            assert_eq!(back, a);
        }
        assert_eq!(
            "10.0.0.2:7000"
                .parse::<PeerAddr>()
                .expect("ip")
                .socket_addr(),
            Some(SocketAddr::from(([10, 0, 0, 2], 7000)))
        );
        assert_eq!(
            "host:1".parse::<PeerAddr>().expect("name").socket_addr(),
            None
        );
    }

    #[test]
    fn refuses_what_is_not_an_address_and_says_why() {
        for (text, why) in [
            ("validator", "no port"),
            ("validator:99999", "port"),
            ("validator:", "port"),
            (":7000", "neither"),
            ("bad_name:7000", "neither"),
            ("-lead.example:7000", "neither"),
            ("a..b:7000", "neither"),
            ("::1:7000", "IPv6"),
            ("[::1:7000", "IPv6"),
            ("host name:7000", "neither"),
        ] {
            let e = text.parse::<PeerAddr>().expect_err(text).to_string();
            assert!(e.contains(why), "{text}: {e}");
            assert!(e.contains("HOST:PORT"), "{e}");
        }
    }
}
