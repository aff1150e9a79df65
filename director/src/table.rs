//! The IPVS entries a virtual server should have given its real servers'
//! health (one per member of a group, with the same destinations), and the
//! minimal delta between two such sets of entries (pure).

use std::collections::HashMap;
use std::net::SocketAddr;

use lvs_ipvs::{Destination, Op, VirtualServer as IpvsVirtualServer};

use crate::config::{RealServer, VirtualServer};

/// What the checks say about one real server.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Health {
    /// Every probe passes (or it has none).
    pub up: bool,
    /// A weight asked for by a dynamic (`misc_dynamic`) check.
    pub dynamic_weight: Option<u32>,
    /// What its file checks (keepalived's `FILE_CHECK`) add to the weight.
    pub file_weight: i64,
}

impl Health {
    /// The IPVS weight of `rs` while up: its configured (or dynamic)
    /// weight plus the file checks', within IPVS's 0..=`i32::MAX`, as
    /// keepalived's effective weight.
    pub fn weight(&self, rs: &RealServer) -> u32 {
        let base = i64::from(self.dynamic_weight.unwrap_or(rs.destination.weight));
        (base + self.file_weight).clamp(0, i64::from(i32::MAX)) as u32
    }
}

/// The desired kernel entries of `vs`, one per member in
/// [`VirtualServer::member_keys`] order, `health[i]` being the health of
/// `vs.real_servers[i]`: a healthy server with its weight, a failed one
/// removed, or kept at weight 0 under `inhibit_on_failure`; the sorry
/// server while the quorum is not held (see [`quorum_held`]). A group's quorum is
/// the group's (one live weight, as the real servers are shared), so every
/// member gets the same destinations.
pub(crate) fn desired(
    vs: &VirtualServer,
    health: &[Health],
    quorum_held: bool,
) -> Vec<IpvsVirtualServer> {
    let mut destinations = Vec::with_capacity(vs.real_servers.len());
    for (rs, h) in vs.real_servers.iter().zip(health) {
        if h.up {
            destinations.push(rs.destination.with_weight(h.weight(rs)));
        } else if rs.inhibit_on_failure {
            destinations.push(rs.destination.with_weight(0));
        }
    }
    if !quorum_held
        && let Some(sorry) = vs.sorry_server
        && !destinations.iter().any(|d| d.addr == sorry.addr)
    {
        destinations.push(sorry);
    }
    // The kernel fills a Maglev table from its destination list in order:
    // directors behind ECMP must add them in one order to hash alike.
    if vs.service.scheduler == lvs_ipvs::Scheduler::Maglev {
        destinations.sort_by_key(|d| d.addr);
    }
    vs.member_services()
        .map(|service| IpvsVirtualServer {
            service,
            destinations: destinations.clone(),
        })
        .collect()
}

/// The operations that turn the members `old` into `new`, matched by key:
/// members only in `old` deleted, only in `new` added, the others edited.
pub(crate) fn delta_members(old: &[IpvsVirtualServer], new: &[IpvsVirtualServer]) -> Vec<Op> {
    let mut ops = Vec::new();
    // Groups are small next to the table; a linear match keeps a
    // one-service virtual server free of any map.
    for o in old {
        if !new.iter().any(|n| n.service.key == o.service.key) {
            ops.extend(delta(Some(o), None));
        }
    }
    for n in new {
        let o = old.iter().find(|o| o.service.key == n.service.key);
        ops.extend(delta(o, Some(n)));
    }
    ops
}

/// The summed weight of the healthy real servers (what the quorum is
/// compared with).
pub(crate) fn live_weight(vs: &VirtualServer, health: &[Health]) -> u64 {
    vs.real_servers
        .iter()
        .zip(health)
        .filter(|(_, h)| h.up)
        .map(|(rs, h)| u64::from(h.weight(rs)))
        .sum()
}

/// keepalived's quorum state after a health change, from the state `was`:
/// lost when the live weight is 0 or below `quorum - hysteresis`, gained
/// when it is non-zero and at least `quorum + hysteresis`, else unchanged.
pub(crate) fn quorum_held(vs: &VirtualServer, health: &[Health], was: bool) -> bool {
    let live = live_weight(vs, health);
    let (quorum, margin) = (u64::from(vs.quorum), u64::from(vs.hysteresis));
    if was {
        !(live == 0 || live < quorum.saturating_sub(margin))
    } else {
        live > 0 && live >= quorum + margin
    }
}

/// The operations that turn `old` into `new` (same service key, or `None`
/// for a service that is not there).
pub(crate) fn delta(old: Option<&IpvsVirtualServer>, new: Option<&IpvsVirtualServer>) -> Vec<Op> {
    let mut ops = Vec::new();
    match (old, new) {
        (None, None) => {}
        (Some(o), None) => ops.push(Op::DeleteService(o.service.key)),
        (None, Some(n)) => {
            ops.push(Op::AddService(n.service.clone()));
            let key = n.service.key;
            ops.extend(n.destinations.iter().map(|d| Op::AddDestination(key, *d)));
        }
        (Some(o), Some(n)) => {
            let key = n.service.key;
            if o.service != n.service {
                ops.push(Op::EditService(n.service.clone()));
            }
            let have: HashMap<SocketAddr, &Destination> =
                o.destinations.iter().map(|d| (d.addr, d)).collect();
            let want: HashMap<SocketAddr, &Destination> =
                n.destinations.iter().map(|d| (d.addr, d)).collect();
            for d in &o.destinations {
                if !want.contains_key(&d.addr) {
                    ops.push(Op::DeleteDestination(key, d.addr));
                }
            }
            for d in &n.destinations {
                match have.get(&d.addr) {
                    None => ops.push(Op::AddDestination(key, *d)),
                    Some(h) if **h != *d => ops.push(Op::EditDestination(key, *d)),
                    Some(_) => {}
                }
            }
        }
    }
    ops
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::RealServer;
    use lvs_ipvs::{ForwardMethod, Scheduler, Service, ServiceKey};

    fn vs() -> VirtualServer {
        let dr = |a: &str| {
            RealServer::new(Destination::new(
                a.parse().expect("address"),
                ForwardMethod::DirectRoute,
            ))
        };
        VirtualServer::new(Service::new(
            ServiceKey::tcp("172.20.0.83:80".parse().expect("address")),
            Scheduler::RoundRobin,
        ))
        .with_real_server(dr("172.20.0.85:80"))
        .with_real_server(dr("172.20.0.86:80"))
    }

    const UP: Health = Health {
        up: true,
        dynamic_weight: None,
        file_weight: 0,
    };
    const DOWN: Health = Health {
        up: false,
        dynamic_weight: None,
        file_weight: 0,
    };

    #[test]
    fn one_server_down_is_one_delete() {
        let v = vs();
        let before = want(&v, &[UP, UP]);
        let after = want(&v, &[UP, DOWN]);
        let ops = delta_members(&before, &after);
        assert_eq!(
            ops,
            vec![Op::DeleteDestination(
                v.service.key,
                "172.20.0.86:80".parse().expect("address")
            )]
        );
        assert!(delta_members(&after, &after).is_empty());
    }

    #[test]
    fn inhibit_is_one_edit_to_weight_zero() {
        let mut v = vs();
        v.real_servers[0].inhibit_on_failure = true;
        let ops = delta_members(&want(&v, &[UP, UP]), &want(&v, &[DOWN, UP]));
        assert_eq!(ops.len(), 1);
        assert!(matches!(&ops[0], Op::EditDestination(_, d) if d.weight == 0));
    }

    /// The entries for `health`, the quorum state followed from held.
    fn want(v: &VirtualServer, health: &[Health]) -> Vec<IpvsVirtualServer> {
        desired(v, health, quorum_held(v, health, true))
    }

    #[test]
    fn the_quorum_state_keeps_its_hysteresis() {
        let mut v = vs();
        for rs in &mut v.real_servers {
            rs.destination = rs.destination.with_weight(1);
        }
        v.quorum = 2;
        v.hysteresis = 1;
        // Held: lost only below quorum - hysteresis (1), or at 0.
        assert!(quorum_held(&v, &[UP, DOWN], true));
        assert!(!quorum_held(&v, &[DOWN, DOWN], true));
        // Lost: gained only at quorum + hysteresis (3): two servers are not enough.
        assert!(!quorum_held(&v, &[UP, UP], false));
        v.hysteresis = 0;
        assert!(quorum_held(&v, &[UP, UP], false));
        assert!(!quorum_held(&v, &[UP, DOWN], true));
    }

    #[test]
    fn sorry_server_below_quorum() {
        let mut v = vs();
        let sorry = Destination::new(
            "172.20.0.99:80".parse().expect("address"),
            ForwardMethod::Masquerade,
        );
        v.sorry_server = Some(sorry);
        let d = want(&v, &[DOWN, DOWN]);
        assert_eq!(d[0].destinations, vec![sorry]);
        let d = want(&v, &[UP, DOWN]);
        assert_eq!(d[0].destinations.len(), 1);
        assert_ne!(d[0].destinations[0].addr, sorry.addr);
    }

    #[test]
    fn added_and_removed_services() {
        let v = vs();
        let d = want(&v, &[UP, UP]);
        let add = delta_members(&[], &d);
        assert_eq!(add.len(), 3);
        assert!(matches!(add[0], Op::AddService(_)));
        assert_eq!(
            delta_members(&d, &[]),
            vec![Op::DeleteService(v.service.key)]
        );
    }

    fn group() -> VirtualServer {
        vs().with_group(crate::config::ServiceGroup::new(
            "G",
            vec![
                ServiceKey::tcp("172.20.0.84:80".parse().expect("address")),
                ServiceKey::fwmark(lvs_ipvs::Family::Inet, 7),
            ],
        ))
    }

    #[test]
    fn a_group_is_one_entry_per_member_with_the_same_destinations() {
        let g = group();
        let d = want(&g, &[UP, UP]);
        assert_eq!(d.len(), 3);
        let keys: Vec<ServiceKey> = d.iter().map(|e| e.service.key).collect();
        assert_eq!(keys, g.member_keys().collect::<Vec<_>>());
        assert!(
            d.iter().all(|e| e.destinations == d[0].destinations
                && e.service.scheduler == g.service.scheduler)
        );
        // One real server down: one delete per member, nothing else.
        let ops = delta_members(&d, &want(&g, &[DOWN, UP]));
        let down: SocketAddr = "172.20.0.85:80".parse().expect("address");
        assert_eq!(
            ops,
            keys.iter()
                .map(|k| Op::DeleteDestination(*k, down))
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn a_member_left_out_is_deleted_and_a_new_one_added() {
        let g = group();
        let mut h = g.clone();
        let fw8 = ServiceKey::fwmark(lvs_ipvs::Family::Inet, 8);
        if let Some(grp) = h.group.as_mut() {
            grp.more_keys = vec![fw8];
        }
        let ops = delta_members(&want(&g, &[UP, UP]), &want(&h, &[UP, UP]));
        assert_eq!(ops.len(), 2 + 1 + 2);
        assert!(ops.contains(&Op::DeleteService(ServiceKey::tcp(
            "172.20.0.84:80".parse().expect("address")
        ))));
        assert!(ops.contains(&Op::DeleteService(ServiceKey::fwmark(
            lvs_ipvs::Family::Inet,
            7
        ))));
        assert!(matches!(&ops[2], Op::AddService(s) if s.key == fw8));
    }

    #[test]
    fn maglev_destinations_are_in_address_order_whatever_the_file_says() {
        let mut v = vs();
        v.real_servers.reverse();
        let order = |v: &VirtualServer| -> Vec<String> {
            desired(v, &[UP, UP], true)[0]
                .destinations
                .iter()
                .map(|d| d.addr.to_string())
                .collect()
        };
        assert_eq!(
            order(&v),
            ["172.20.0.86:80", "172.20.0.85:80"],
            "rr keeps the file's order"
        );
        v.service.scheduler = Scheduler::Maglev;
        assert_eq!(order(&v), ["172.20.0.85:80", "172.20.0.86:80"]);
    }
}
