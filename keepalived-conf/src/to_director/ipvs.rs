//! keepalived's `virtual_server` settings as lvs-ipvs types (pure).

use std::net::IpAddr;

use std::net::SocketAddr;

use lvs_director::{ServiceGroup, VirtualServer};
use lvs_ipvs::{Family, PersistenceMask, Protocol, SchedFlags, Service, ServiceKey};

use crate::{
    GroupMember, VirtualServer as CfgVirtualServer, VirtualServerAddr, VirtualServerGroup,
};

/// The kernel service key of a configured virtual server. A fwmark service
/// takes its family from `ip_family`, else from its real and sorry servers
/// when they agree, else IPv4 (as keepalived).
pub(crate) fn service_key(vs: &CfgVirtualServer) -> ServiceKey {
    match vs.addr {
        VirtualServerAddr::Socket(addr) => addr_key(vs.protocol, addr),
        VirtualServerAddr::Fwmark(mark) => ServiceKey::fwmark(real_server_family(vs), mark),
    }
}

fn addr_key(protocol: Protocol, addr: SocketAddr) -> ServiceKey {
    match protocol {
        Protocol::Tcp => ServiceKey::tcp(addr),
        Protocol::Udp => ServiceKey::udp(addr),
        Protocol::Sctp => ServiceKey::sctp(addr),
    }
}

/// keepalived: `ip_family`, else the family its real and sorry servers
/// share, else IPv4.
fn real_server_family(vs: &CfgVirtualServer) -> Family {
    let mut ips = vs
        .real_servers
        .iter()
        .map(|r| r.addr.ip())
        .chain(vs.sorry_server.map(|s| s.ip()));
    let shared = ips.next().filter(|first| {
        let v6 = first.is_ipv6();
        ips.all(|ip| ip.is_ipv6() == v6)
    });
    vs.ip_family.unwrap_or(match shared {
        Some(IpAddr::V6(_)) => Family::Inet6,
        _ => Family::Inet,
    })
}

/// The kernel keys of a group's members, as keepalived makes them: an
/// address member with the virtual server's protocol; a fwmark with its
/// stated family, else the family of the group's addresses, else of the
/// real servers.
pub(crate) fn group_keys(vs: &CfgVirtualServer, g: &VirtualServerGroup) -> Vec<ServiceKey> {
    let mark_family = match g.families() {
        (true, false) => Family::Inet,
        (false, true) => Family::Inet6,
        _ => real_server_family(vs),
    };
    g.members()
        .map(|m| match m {
            GroupMember::Socket(addr) => addr_key(vs.protocol, addr),
            GroupMember::Fwmark { mark, ipv6 } => {
                let family = match ipv6 {
                    Some(true) => Family::Inet6,
                    Some(false) => Family::Inet,
                    None => mark_family,
                };
                ServiceKey::fwmark(family, mark)
            }
        })
        .collect()
}

/// A `virtual_server group NAME` as one director virtual server over every
/// member: [`service`]'s settings under each member's key.
pub(crate) fn group_server(vs: &CfgVirtualServer, g: &VirtualServerGroup) -> VirtualServer {
    let keys = group_keys(vs, g);
    let mut svc = service(vs);
    // The builder refuses an empty group; the first key is the group's own.
    if let Some(first) = keys.first() {
        svc.key = *first;
        if let Some(p) = svc.persistence.as_mut() {
            p.mask = mask(first.family(), vs);
        }
    }
    VirtualServer::new(svc).with_group(ServiceGroup::new(
        &g.name,
        keys.get(1..).unwrap_or_default().to_vec(),
    ))
}

/// The persistence mask for `family`: `persistence_granularity` if of that
/// family, else the host mask.
fn mask(family: Family, vs: &CfgVirtualServer) -> PersistenceMask {
    match (family, vs.persistence_granularity) {
        (Family::Inet, Some(IpAddr::V4(m))) => PersistenceMask::V4(m),
        (Family::Inet6, Some(IpAddr::V6(m))) => {
            PersistenceMask::V6Prefix(u128::from(m).leading_ones() as u8)
        }
        (family, _) => PersistenceMask::host(family),
    }
}

/// The kernel service (without destinations) of a configured virtual server.
pub(crate) fn service(vs: &CfgVirtualServer) -> Service {
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
        svc = svc.with_persistence(timeout, mask(key.family(), vs));
    }
    svc
}
