//! The IPVS table the director wants: the configuration minus the real
//! servers whose checks failed (pure; unit-tested without a kernel).

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};

use lvs_ipvs::{
    Destination, Family, PersistenceMask, Protocol, SchedFlags, Service, ServiceKey, VirtualServer,
};

use lvs_keepalived_conf::{
    Config, RealServer, VirtualServer as CfgVirtualServer, VirtualServerAddr, VirtualServerKey,
};

/// What the health checks say about one real server.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RealServerHealth {
    /// Every check of the server passes (or it has none).
    pub up: bool,
    /// A weight asked for by a `misc_dynamic` check, replacing the configured one.
    pub dynamic_weight: Option<u32>,
}

impl Default for RealServerHealth {
    fn default() -> Self {
        RealServerHealth {
            up: true,
            dynamic_weight: None,
        }
    }
}

/// Health of every real server, by virtual server and real server address;
/// a server missing from the map counts as up.
pub type HealthMap = HashMap<(VirtualServerKey, SocketAddr), RealServerHealth>;

/// The kernel service key of a configured virtual server. A fwmark service
/// takes its family from its first real server (IPv4 without any).
pub fn service_key(vs: &CfgVirtualServer) -> ServiceKey {
    match vs.addr {
        VirtualServerAddr::Socket(addr) => match vs.protocol {
            Protocol::Tcp => ServiceKey::tcp(addr),
            Protocol::Udp => ServiceKey::udp(addr),
            Protocol::Sctp => ServiceKey::sctp(addr),
        },
        VirtualServerAddr::Fwmark(mark) => {
            let family = match vs.real_servers.first().map(|r| r.addr.ip()) {
                Some(IpAddr::V6(_)) => Family::Inet6,
                _ => Family::Inet,
            };
            ServiceKey::fwmark(family, mark)
        }
    }
}

/// The kernel service (without destinations) of a configured virtual server.
pub fn service(vs: &CfgVirtualServer) -> Service {
    let key = service_key(vs);
    let mut svc = Service::new(key, vs.scheduler.clone());
    let f = vs.scheduler_flags;
    let mut flags = SchedFlags::empty();
    if f.sh_fallback || f.mh_fallback || f.flag_1 {
        flags |= SchedFlags::FALLBACK;
    }
    if f.sh_port || f.mh_port || f.flag_2 {
        flags |= SchedFlags::PORT;
    }
    if f.flag_3 {
        flags |= SchedFlags::SCHED3;
    }
    svc = svc.with_sched_flags(flags);
    svc.one_packet = f.ops;
    if let Some(timeout) = vs.persistence_timeout {
        let mask = match (key.family(), vs.persistence_granularity) {
            (Family::Inet, Some(IpAddr::V4(m))) => PersistenceMask::V4(m),
            (Family::Inet6, Some(IpAddr::V6(m))) => {
                PersistenceMask::V6Prefix(u128::from(m).leading_ones() as u8)
            }
            (family, _) => PersistenceMask::host(family),
        };
        svc = svc.with_persistence(timeout, mask);
    }
    svc
}

fn destination(rs: &RealServer, weight: u32) -> Destination {
    let mut d = Destination::new(rs.addr, rs.forwarding).with_weight(weight);
    d.upper_threshold = rs.upper_threshold.unwrap_or(0);
    d.lower_threshold = rs.lower_threshold.unwrap_or(0);
    d
}

/// The desired entry of one virtual server given its servers' health:
/// a healthy server with its weight, a failed one removed — or kept with
/// weight 0 under `inhibit_on_failure`. When the live weight falls below
/// `quorum` and a `sorry_server` is configured, the sorry server is added.
pub fn virtual_server(vs: &CfgVirtualServer, health: &HealthMap) -> VirtualServer {
    let key = vs.key();
    let mut destinations = Vec::new();
    let mut live_weight: u64 = 0;
    for rs in &vs.real_servers {
        let h = health.get(&(key, rs.addr)).copied().unwrap_or_default();
        let weight = h
            .dynamic_weight
            .unwrap_or_else(|| u32::try_from(rs.weight).unwrap_or(0));
        if h.up {
            live_weight += u64::from(weight);
            destinations.push(destination(rs, weight));
        } else if rs.inhibit_on_failure {
            destinations.push(destination(rs, 0));
        }
    }
    if live_weight < u64::from(vs.quorum)
        && let Some(sorry) = vs.sorry_server
        && !destinations.iter().any(|d| d.addr == sorry)
    {
        destinations.push(Destination::new(sorry, vs.sorry_server_forwarding).with_weight(1));
    }
    VirtualServer {
        service: service(vs),
        destinations,
    }
}

/// The whole desired table: every configured virtual server, in file order.
pub fn table(config: &Config, health: &HealthMap) -> Vec<VirtualServer> {
    config
        .virtual_servers
        .iter()
        .map(|vs| virtual_server(vs, health))
        .collect()
}
