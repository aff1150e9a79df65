//! `lvs_route_announce`, an lvs extension (keepalived has no such block):
//! active-active directors announce each healthy VIP as a route the local
//! routing engine advertises. Its values are checked here, where their
//! place in the file is known; the cross-checks against the virtual
//! servers and VRRP instances run once every block is read.

use super::*;
use crate::model::RouteAnnounceBlock;

impl Builder<'_> {
    pub(super) fn route_announce(&mut self, n: &Node) -> RouteAnnounceBlock {
        let mut b = RouteAnnounceBlock::new(n.loc().clone());
        for c in nodes(n) {
            match c.keyword() {
                "table" => {
                    if let Some(t) = c.args.first() {
                        match parse_int(t.text(), 1, i64::from(u32::MAX)) {
                            Some(v) if !(253..=255).contains(&v) => b.announce.table = v as u32,
                            _ => self.invalid(
                                "table",
                                t,
                                "a routing table of its own: 1 to 4294967295, not 253, 254 or 255 (the kernel's)",
                            ),
                        }
                    }
                }
                "protocol" => {
                    if let Some(t) = c.args.first() {
                        match parse_int(t.text(), 5, 255) {
                            Some(v) => b.announce.protocol = v as u8,
                            None => self.invalid(
                                "protocol",
                                t,
                                "a route protocol number of its own, 5 to 255 (0-4 are the kernel's and `ip route`'s)",
                            ),
                        }
                    }
                }
                "vips" => {
                    for tok in items(c).iter().flatten() {
                        if let Some(a) = self.ip("vips", tok) {
                            if b.announce.vips.contains(&a) {
                                self.error(
                                    &tok.location,
                                    ErrorKind::Duplicate {
                                        what: format!("VIP {a} in lvs_route_announce"),
                                    },
                                );
                            } else {
                                b.announce.vips.push(a);
                                b.vip_locs.push(tok.location.clone());
                            }
                        }
                    }
                }
                "drain_timeout" => {
                    if let Some(d) = self.secs(c) {
                        b.announce.drain_timeout = d;
                    }
                }
                "drain_on_sigterm" => b.announce.drain_on_sigterm = true,
                "sloppy_tcp" => b.sloppy_tcp = true,
                "sync_daemon" => b.sync_daemon = self.lvs_sync_daemon(c),
                _ => self.unhandled(c),
            }
        }
        if let Some(sd) = &b.sync_daemon
            && sd.vrrp_instance.is_some()
        {
            self.error(
                n.loc(),
                ErrorKind::Invalid {
                    message: "lvs_route_announce sync_daemon runs as master and backup on every \
                              director: it names no vrrp_instance"
                        .into(),
                },
            );
        }
        b
    }

    /// Once every block is read: each listed VIP is some virtual server's
    /// address and none is a VRRP instance's (its connected route would
    /// shadow the announced one); one sync daemon only.
    pub(super) fn check_route_announce(
        &mut self,
        b: &RouteAnnounceBlock,
        virtual_servers: &[VirtualServer],
        groups: &[VirtualServerGroup],
        vrrp_instances: &[VrrpInstance],
        global: &GlobalDefs,
    ) {
        let served = served_addresses(virtual_servers, groups);
        if b.announce.vips.is_empty() && served.is_empty() {
            self.error(
                &b.location,
                ErrorKind::Invalid {
                    message: "lvs_route_announce: no virtual_server has an address to announce"
                        .into(),
                },
            );
        }
        for (vip, loc) in b.announce.vips.iter().zip(&b.vip_locs) {
            if !served.contains(vip) {
                self.error(
                    loc,
                    ErrorKind::Invalid {
                        message: format!("VIP {vip} is the address of no virtual_server"),
                    },
                );
            }
        }
        let announced: Vec<IpAddr> = if b.announce.vips.is_empty() {
            served
        } else {
            b.announce.vips.clone()
        };
        for inst in vrrp_instances {
            let vips = inst.virtual_ipaddresses.iter().map(|v| v.addr);
            if let Some(v) = vips.into_iter().find(|v| announced.contains(v)) {
                self.error(
                    &b.location,
                    ErrorKind::Invalid {
                        message: format!(
                            "VIP {v} is announced by lvs_route_announce and is also an address of \
                             vrrp_instance `{}`: an announced VIP must not be an interface address \
                             (its connected route would shadow the announced one)",
                            inst.name
                        ),
                    },
                );
            }
        }
        if b.sync_daemon.is_some() && global.lvs_sync_daemon.is_some() {
            self.error(
                &b.location,
                ErrorKind::Invalid {
                    message: "both global_defs lvs_sync_daemon and lvs_route_announce sync_daemon \
                              are given: keep one"
                        .into(),
                },
            );
        }
    }
}

impl Builder<'_> {
    /// Warnings for what works on one director but not on several behind
    /// ECMP: a scheduler that is not `mh`, `mh` without `mh-fallback`, a
    /// real server deleted (not set to weight 0) when it fails.
    pub(super) fn warn_ecmp_data_plane(
        &mut self,
        b: &RouteAnnounceBlock,
        virtual_servers: &[VirtualServer],
        locs: &[Location],
    ) {
        for (vs, loc) in virtual_servers.iter().zip(locs) {
            let VirtualServerAddr::Socket(s) = vs.addr else {
                continue;
            };
            if !b.announce.vips.is_empty() && !b.announce.vips.contains(&s.ip()) {
                continue;
            }
            let name = vs.key();
            if vs.scheduler != lvs_ipvs::Scheduler::Maglev {
                self.warn(
                    loc,
                    format!(
                        "virtual_server {name} is announced behind ECMP with lb_algo {}: each                          director then picks real servers on its own, so a flow ECMP moves to                          another director lands elsewhere; use `lb_algo mh` with `mh-fallback`",
                        vs.scheduler
                    ),
                );
            } else if !vs.scheduler_flags.mh_fallback {
                self.warn(
                    loc,
                    format!(
                        "virtual_server {name}: `mh` without `mh-fallback` sends the flows of a                          failed (weight 0) real server nowhere"
                    ),
                );
            }
            if let Some(rs) = vs.real_servers.iter().find(|r| !r.inhibit_on_failure) {
                self.warn(
                    loc,
                    format!(
                        "virtual_server {name}: real server {} is deleted when it fails, which                          reshuffles the other directors' Maglev tables differently; add                          `inhibit_on_failure` (weight 0 instead)",
                        rs.addr
                    ),
                );
            }
        }
    }
}

/// Every virtual server's address, a group's members included.
fn served_addresses(vss: &[VirtualServer], groups: &[VirtualServerGroup]) -> Vec<IpAddr> {
    let mut out = Vec::new();
    for vs in vss {
        if let VirtualServerAddr::Socket(s) = vs.addr {
            out.push(s.ip());
        }
        let group = vs
            .group
            .as_deref()
            .and_then(|g| groups.iter().find(|x| x.name == g));
        for m in group.into_iter().flat_map(|g| g.members()) {
            if let GroupMember::Socket(s) = m {
                out.push(s.ip());
            }
        }
    }
    out
}
