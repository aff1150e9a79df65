//! The seed's five hosts as network namespaces on one bridge, every host's
//! interface named `ens18`, with the seed's addresses (they exist only in
//! these namespaces).

use std::net::Ipv4Addr;
use std::sync::Arc;

use lvs_testenv::{Lan, Netns};

/// The service address.
pub const VIP: Ipv4Addr = Ipv4Addr::new(172, 20, 0, 83);

/// The lab: FRONTAL (client), NODE01/NODE02 (directors), WWW1/WWW2 (backends).
#[derive(Debug)]
pub struct SeedLab {
    /// The L2 segment.
    pub lan: Lan,
    /// The client, 172.20.0.80.
    pub frontal: Arc<Netns>,
    /// Director, VRRP MASTER (100), 172.20.0.81.
    pub node01: Arc<Netns>,
    /// Director, VRRP BACKUP (90), 172.20.0.82.
    pub node02: Arc<Netns>,
    /// Backend, 172.20.0.85.
    pub www1: Arc<Netns>,
    /// Backend, 172.20.0.86.
    pub www2: Arc<Netns>,
}

impl SeedLab {
    /// Builds the five hosts on one bridge.
    pub fn build() -> SeedLab {
        let lan = Lan::new("lab");
        let frontal = lan.add_host("frontal", &["172.20.0.80/24"]);
        let node01 = lan.add_host("node01", &["172.20.0.81/24"]);
        let node02 = lan.add_host("node02", &["172.20.0.82/24"]);
        let www1 = lan.add_host("www1", &["172.20.0.85/24"]);
        let www2 = lan.add_host("www2", &["172.20.0.86/24"]);
        SeedLab {
            lan,
            frontal,
            node01,
            node02,
            www1,
            www2,
        }
    }

    /// The backends with their names and addresses.
    pub fn backends(&self) -> [(&'static str, &Arc<Netns>, Ipv4Addr); 2] {
        [
            ("www1", &self.www1, Ipv4Addr::new(172, 20, 0, 85)),
            ("www2", &self.www2, Ipv4Addr::new(172, 20, 0, 86)),
        ]
    }
}

/// Starts this program's own HTTP server (`serve-http NAME ADDR`) in `host`.
pub fn start_http(host: &Netns, name: &str, listen: &str) -> u32 {
    let exe = std::env::current_exe()
        .map(|p| p.display().to_string())
        .unwrap_or_else(|_| "lab".to_string());
    host.spawn(&[&exe, "serve-http", name, listen])
}

/// Starts dnsmasq in `host`, answering `who.lab A` with the backend's own address on every
/// address (the VIP on `lo` included, as DR needs).
pub fn start_dns(host: &Netns, name: &str) -> u32 {
    let who = format!(
        "--address=/{}/{}",
        super::dns::WHO,
        super::dns::who_address(name)
    );
    host.spawn(&[
        "dnsmasq",
        "--no-daemon",
        "--conf-file=/dev/null",
        "--no-resolv",
        "--no-hosts",
        "--pid-file=",
        "--user=root",
        "--port=53",
        &who,
    ])
}
