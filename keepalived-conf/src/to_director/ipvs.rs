//! keepalived's `virtual_server` settings as lvs-ipvs types (pure).

use std::net::IpAddr;

use lvs_ipvs::{Family, PersistenceMask, Protocol, SchedFlags, Service, ServiceKey};

use crate::{VirtualServer as CfgVirtualServer, VirtualServerAddr};

/// The kernel service key of a configured virtual server. A fwmark service
/// takes its family from `ip_family`, else from its real and sorry servers
/// when they agree, else IPv4 (as keepalived).
pub(crate) fn service_key(vs: &CfgVirtualServer) -> ServiceKey {
    match vs.addr {
        VirtualServerAddr::Socket(addr) => match vs.protocol {
            Protocol::Tcp => ServiceKey::tcp(addr),
            Protocol::Udp => ServiceKey::udp(addr),
            Protocol::Sctp => ServiceKey::sctp(addr),
        },
        VirtualServerAddr::Fwmark(mark) => {
            // keepalived: `ip_family`, else the family its real and sorry
            // servers share, else IPv4.
            let mut ips = vs
                .real_servers
                .iter()
                .map(|r| r.addr.ip())
                .chain(vs.sorry_server.map(|s| s.ip()));
            let shared = ips.next().filter(|first| {
                let v6 = first.is_ipv6();
                ips.all(|ip| ip.is_ipv6() == v6)
            });
            let family = vs.ip_family.unwrap_or(match shared {
                Some(IpAddr::V6(_)) => Family::Inet6,
                _ => Family::Inet,
            });
            ServiceKey::fwmark(family, mark)
        }
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
