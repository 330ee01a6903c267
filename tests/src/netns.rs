//! Linux network namespaces for partition tests: one namespace per node and a hub namespace with
//! two bridges. Every node has a p2p interface on the hub's p2p bridge (its libp2p traffic, in a
//! subnet that exists only inside these namespaces) and an API interface on the hub's API bridge,
//! which one veth pair joins to the test's own namespace so that the test reaches every node's
//! API. Cutting a node brings its p2p interface down: its peers are gone while its API still
//! answers. Everything is created under names `pl-<pid>-*` and removed on drop; namespaces left
//! by test processes that died are removed first.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::process::Command;

use anyhow::{bail, Context};

use crate::cluster::NodeLayout;

/// The port every node's libp2p listens on, inside its own namespace.
pub const P2P_PORT: u16 = 7000;
/// The port every node's API listens on, inside its own namespace.
pub const API_PORT: u16 = 8080;

/// Runs `ip ARGS`; fails with its stderr.
fn ip(args: &[&str]) -> anyhow::Result<String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .context("running ip (iproute2)")?;
    if !out.status.success() {
        bail!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// Removes `pl-<pid>-*` namespaces whose process is gone.
pub fn remove_stale() {
    let Ok(list) = ip(&["netns", "list"]) else {
        return;
    };
    for line in list.lines() {
        let Some(name) = line.split_whitespace().next() else {
            continue;
        };
        let Some(pid) = name
            .strip_prefix("pl-")
            .and_then(|r| r.split('-').next())
            .and_then(|p| p.parse::<u32>().ok())
        else {
            continue;
        };
        if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            let _ = ip(&["netns", "del", name]);
        }
    }
}

/// A set of namespaces for `n` nodes; removed on drop.
pub struct Netns {
    prefix: String,
    n: usize,
    p2p_net: [u8; 3],
    api_net: [u8; 3],
    created: Vec<String>,
}

impl Netns {
    /// Creates the namespaces, bridges and links for `n` nodes. Fails when this process may
    /// not create namespaces (not root, no iproute2, EPERM): the caller skips with the reason.
    pub fn create(n: usize) -> anyhow::Result<Netns> {
        if n == 0 || n > 200 {
            bail!("between 1 and 200 nodes");
        }
        remove_stale();
        let pid = std::process::id();
        let taken = format!("{}\n{}", ip(&["-4", "-o", "addr"])?, ip(&["-4", "route"])?);
        // Two /24 subnets in 10/8 that this machine does not use yet, chosen by pid.
        let mut nets = (0..250u32)
            .map(|k| {
                let v = (pid + k * 7919) % 60_000;
                [10, 100 + (v / 250 % 150) as u8, (v % 250) as u8]
            })
            .filter(|[a, b, c]| !taken.contains(&format!("{a}.{b}.{c}.")));
        let (Some(p2p_net), Some(api_net)) = (nets.next(), nets.next()) else {
            bail!("no free 10.x.y.0/24 subnet");
        };
        let mut me = Netns {
            prefix: format!("pl-{pid}"),
            n,
            p2p_net,
            api_net,
            created: Vec::new(),
        };
        me.build()?;
        Ok(me)
    }

    fn ns(&self, which: &str) -> String {
        format!("{}-{which}", self.prefix)
    }

    fn root_link(&self) -> String {
        format!("pl{}", std::process::id())
    }

    fn add_ns(&mut self, name: String) -> anyhow::Result<()> {
        ip(&["netns", "add", &name])?;
        self.created.push(name.clone());
        ip(&["-n", &name, "link", "set", "lo", "up"])?;
        Ok(())
    }

    fn build(&mut self) -> anyhow::Result<()> {
        let hub = self.ns("h");
        self.add_ns(hub.clone())?;
        for br in ["brp", "bra"] {
            ip(&["-n", &hub, "link", "add", br, "type", "bridge"])?;
            ip(&["-n", &hub, "link", "set", br, "up"])?;
        }
        // The test's namespace reaches the API bridge.
        let root = self.root_link();
        ip(&[
            "link", "add", &root, "type", "veth", "peer", "name", "root0", "netns", &hub,
        ])?;
        ip(&["-n", &hub, "link", "set", "root0", "master", "bra", "up"])?;
        let [a, b, c] = self.api_net;
        ip(&["addr", "add", &format!("{a}.{b}.{c}.254/24"), "dev", &root])?;
        ip(&["link", "set", &root, "up"])?;
        for i in 0..self.n {
            let ns = self.ns(&i.to_string());
            self.add_ns(ns.clone())?;
            for (inner, outer, br, net) in [
                ("p2p0", format!("p{i}"), "brp", self.p2p_net),
                ("api0", format!("a{i}"), "bra", self.api_net),
            ] {
                ip(&[
                    "-n", &ns, "link", "add", inner, "type", "veth", "peer", "name", &outer,
                    "netns", &hub,
                ])?;
                ip(&["-n", &hub, "link", "set", &outer, "master", br, "up"])?;
                let [a, b, c] = net;
                let addr = format!("{a}.{b}.{c}.{}/24", i + 1);
                ip(&["-n", &ns, "addr", "add", &addr, "dev", inner])?;
                ip(&["-n", &ns, "link", "set", inner, "up"])?;
            }
        }
        Ok(())
    }

    /// Where node `i` listens and how it is started.
    pub fn layout(&self, i: usize) -> NodeLayout {
        let at = |[a, b, c]: [u8; 3], port| {
            SocketAddr::new(IpAddr::V4(Ipv4Addr::new(a, b, c, i as u8 + 1)), port)
        };
        NodeLayout {
            prefix: vec![
                "ip".into(),
                "netns".into(),
                "exec".into(),
                self.ns(&i.to_string()),
            ],
            p2p: at(self.p2p_net, P2P_PORT),
            api: at(self.api_net, API_PORT),
        }
    }

    /// Cuts node `i` off from its peers (its API stays reachable).
    pub fn cut(&self, i: usize) -> anyhow::Result<()> {
        ip(&[
            "-n",
            &self.ns(&i.to_string()),
            "link",
            "set",
            "p2p0",
            "down",
        ])?;
        Ok(())
    }

    /// Joins node `i` to its peers again.
    pub fn heal(&self, i: usize) -> anyhow::Result<()> {
        ip(&["-n", &self.ns(&i.to_string()), "link", "set", "p2p0", "up"])?;
        Ok(())
    }
}

impl Drop for Netns {
    fn drop(&mut self) {
        // Deleting a namespace deletes the veth pairs with an end in it, the root link too.
        for name in self.created.iter().rev() {
            let _ = ip(&["netns", "del", name]);
        }
        let _ = ip(&["link", "del", &self.root_link()]);
    }
}
