//! Keeping a backend suppressed: rtnetlink events plus a periodic check.
//!
//! The kernel announces link and address changes on rtnetlink multicast
//! groups, so a VIP deleted from `lo` or an interface recreated (its
//! `conf/<iface>` values reset) is seen at once. `arp_ignore` and
//! `arp_announce` changes emit no event (netconf notifications cover
//! forwarding and rp_filter, not ARP), so [`BackendGuard::watch`] also
//! re-checks every `period`.

use std::net::IpAddr;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use netlink_packet_core::NetlinkMessage;
use netlink_packet_route::RouteNetlinkMessage;
use netlink_packet_route::address::AddressAttribute;
use netlink_packet_route::route::RouteMessage;
use netlink_packet_route::rule::RuleMessage;
use netlink_sys::{Socket, SocketAddr, protocols::NETLINK_ROUTE};

use crate::addr::{BackendVip, BackendVipUndo};
use crate::error::{Error, Result};
use crate::rtnl::Rtnl;
use crate::sysctl::{SysctlChange, SysctlRecord, SysctlScope, apply_sysctls};

// rtnetlink multicast groups (enum rtnetlink_groups).
const RTNLGRP_LINK: u32 = 1;
const RTNLGRP_IPV4_IFADDR: u32 = 5;
const RTNLGRP_IPV6_IFADDR: u32 = 9;
const RTNLGRP_IPV4_NETCONF: u32 = 24;
const RTNLGRP_IPV4_ROUTE: u32 = 7;
const RTNLGRP_IPV4_RULE: u32 = 8;
const RTNLGRP_IPV6_ROUTE: u32 = 11;
const RTNLGRP_IPV6_RULE: u32 = 19;
// Message types the route message enum does not model.
const RTM_NEWNETCONF: u16 = 80;
const RTM_DELNETCONF: u16 = 81;

/// A change the kernel reported.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum WatchEvent {
    /// A link appeared, changed or went away.
    Link {
        /// Interface index.
        index: u32,
        /// Interface name, when reported.
        name: Option<String>,
        /// `RTM_DELLINK`.
        removed: bool,
        /// Whether the link has carrier now ([`crate::Link::carrier`]);
        /// `None` for a removed link. A carrier change (a cable pulled, a
        /// veth peer set down) arrives as one of these events.
        carrier: Option<bool>,
    },
    /// An address was added or removed.
    Address {
        /// Interface index.
        index: u32,
        /// The address.
        addr: Option<IpAddr>,
        /// `RTM_DELADDR`.
        removed: bool,
    },
    /// A route was added or removed (only after
    /// [`Watcher::watch_routing`]).
    Route {
        /// `RTM_DELROUTE`.
        removed: bool,
        /// The route as the kernel reported it.
        route: Box<RouteMessage>,
    },
    /// A policy-routing rule was added or removed (only after
    /// [`Watcher::watch_routing`]).
    Rule {
        /// `RTM_DELRULE`.
        removed: bool,
        /// The rule as the kernel reported it.
        rule: Box<RuleMessage>,
    },
    /// An IPv4 netconf change (forwarding, rp_filter, ...).
    Netconf,
    /// Something else on the subscribed groups.
    Other(u16),
    /// The socket's receive queue overflowed (`ENOBUFS`): the kernel
    /// dropped notifications, so any change may have gone unreported and
    /// the caller must read the state afresh.
    Overrun,
}

/// A route-netlink socket subscribed to link, address and netconf events.
#[derive(Debug)]
pub struct Watcher {
    socket: Socket,
}

impl Watcher {
    /// Subscribes in `ns`.
    pub fn open(ns: Option<BorrowedFd<'_>>) -> Result<Watcher> {
        crate::netns::run(ns, || {
            let mut socket =
                Socket::new(NETLINK_ROUTE).map_err(|e| Error::io("socket(NETLINK_ROUTE)", e))?;
            socket
                .bind(&SocketAddr::new(0, 0))
                .map_err(|e| Error::io("bind netlink socket", e))?;
            for group in [
                RTNLGRP_LINK,
                RTNLGRP_IPV4_IFADDR,
                RTNLGRP_IPV6_IFADDR,
                RTNLGRP_IPV4_NETCONF,
            ] {
                socket
                    .add_membership(group)
                    .map_err(|e| Error::io(format!("join rtnetlink group {group}"), e))?;
            }
            Ok(Watcher { socket })
        })
    }

    /// Also reports IPv4 and IPv6 routes and rules ([`WatchEvent::Route`],
    /// [`WatchEvent::Rule`]). Separate from [`open`](Self::open) because a
    /// host with a large, busy routing table makes many of these.
    pub fn watch_routing(&mut self) -> Result<()> {
        for group in [
            RTNLGRP_IPV4_ROUTE,
            RTNLGRP_IPV6_ROUTE,
            RTNLGRP_IPV4_RULE,
            RTNLGRP_IPV6_RULE,
        ] {
            self.socket
                .add_membership(group)
                .map_err(|e| Error::io(format!("join rtnetlink group {group}"), e))?;
        }
        Ok(())
    }

    /// Waits up to `timeout` for events; an empty list means none came.
    pub fn wait(&mut self, timeout: Duration) -> Result<Vec<WatchEvent>> {
        let deadline = Instant::now() + timeout;
        let ready = lvs_sys::poll_until(self.socket.as_fd(), lvs_sys::PollFlags::IN, deadline)
            .map_err(|e| Error::io("poll netlink socket", e))?;
        if ready.is_empty() {
            return Ok(Vec::new());
        }
        let mut buf: Vec<u8> = Vec::with_capacity(1 << 16);
        match self.socket.recv(&mut buf, 0) {
            Ok(_) => {}
            Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                return Ok(vec![WatchEvent::Overrun]);
            }
            Err(e) => return Err(Error::io("recv netlink event", e)),
        }
        Ok(parse_events(&buf))
    }
}

/// Decodes a datagram of rtnetlink notifications; undecodable messages
/// become [`WatchEvent::Other`] (they still mean "something changed").
pub fn parse_events(mut buf: &[u8]) -> Vec<WatchEvent> {
    let mut out = Vec::new();
    while buf.len() >= 16 {
        let len = u32::from_ne_bytes([buf[0], buf[1], buf[2], buf[3]]) as usize;
        let kind = u16::from_ne_bytes([buf[4], buf[5]]);
        if len < 16 || len > buf.len() {
            out.push(WatchEvent::Other(kind));
            break;
        }
        let msg = &buf[..len];
        buf = &buf[((len + 3) & !3).min(buf.len())..];
        if kind == RTM_NEWNETCONF || kind == RTM_DELNETCONF {
            out.push(WatchEvent::Netconf);
            continue;
        }
        let event = match NetlinkMessage::<RouteNetlinkMessage>::deserialize(msg) {
            Ok(m) => match m.payload {
                netlink_packet_core::NetlinkPayload::InnerMessage(inner) => event_of(inner, kind),
                _ => WatchEvent::Other(kind),
            },
            Err(_) => WatchEvent::Other(kind),
        };
        out.push(event);
    }
    out
}

/// The event one decoded notification (of type `kind`) reports.
fn event_of(inner: RouteNetlinkMessage, kind: u16) -> WatchEvent {
    let removed = matches!(
        inner,
        RouteNetlinkMessage::DelLink(_)
            | RouteNetlinkMessage::DelAddress(_)
            | RouteNetlinkMessage::DelRoute(_)
            | RouteNetlinkMessage::DelRule(_)
    );
    match inner {
        RouteNetlinkMessage::NewLink(l) | RouteNetlinkMessage::DelLink(l) => {
            let link = crate::rtnl::link_from(&l);
            WatchEvent::Link {
                index: link.index,
                name: (!link.name.is_empty()).then_some(link.name),
                removed,
                carrier: (!removed).then_some(link.carrier),
            }
        }
        RouteNetlinkMessage::NewAddress(a) | RouteNetlinkMessage::DelAddress(a) => {
            WatchEvent::Address {
                index: a.header.index,
                addr: a.attributes.iter().find_map(|x| match x {
                    AddressAttribute::Local(ip) | AddressAttribute::Address(ip) => Some(*ip),
                    _ => None,
                }),
                removed,
            }
        }
        RouteNetlinkMessage::NewRoute(r) | RouteNetlinkMessage::DelRoute(r) => WatchEvent::Route {
            removed,
            route: Box::new(r),
        },
        RouteNetlinkMessage::NewRule(r) | RouteNetlinkMessage::DelRule(r) => WatchEvent::Rule {
            removed,
            rule: Box::new(r),
        },
        _ => WatchEvent::Other(kind),
    }
}

/// What [`BackendGuard::repair`] put back.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Repair {
    /// The VIP had gone from its interface and was added again.
    VipRestored,
    /// A sysctl had been lowered and was raised again.
    Sysctl(SysctlChange),
}

/// A backend's VIP and sysctl suppression, kept in place.
#[derive(Debug)]
pub struct BackendGuard {
    // Our own handle on the namespace (a dup of the caller's fd), so the
    // guard outlives the borrow it was installed with.
    ns: Option<OwnedFd>,
    vip: BackendVip,
    ifaces: Vec<String>,
    scope: SysctlScope,
    vip_undo: Option<BackendVipUndo>,
    record: SysctlRecord,
}

impl BackendGuard {
    /// Puts the VIP in place and applies the sysctls on `ifaces`, in `ns`
    /// (`None`: the caller's namespace).
    pub fn install(
        ns: Option<BorrowedFd<'_>>,
        vip: BackendVip,
        ifaces: &[&str],
        scope: SysctlScope,
    ) -> Result<BackendGuard> {
        let owned = ns
            .map(|fd| fd.try_clone_to_owned())
            .transpose()
            .map_err(Error::Namespace)?;
        let mut rtnl = Rtnl::open(ns)?;
        let vip_undo = vip.install(&mut rtnl)?;
        let record = match apply_sysctls(ns, ifaces, scope) {
            Ok(r) => r,
            Err(e) => {
                let _ = vip_undo.undo(&mut rtnl);
                return Err(e);
            }
        };
        Ok(BackendGuard {
            ns: owned,
            vip,
            ifaces: ifaces.iter().map(|s| s.to_string()).collect(),
            scope,
            vip_undo: Some(vip_undo),
            record,
        })
    }

    fn ns(&self) -> Option<BorrowedFd<'_>> {
        self.ns.as_ref().map(AsFd::as_fd)
    }

    /// Re-applies whatever is missing and says what it did.
    pub fn repair(&mut self) -> Result<Vec<Repair>> {
        let mut repairs = Vec::new();
        let mut rtnl = Rtnl::open(self.ns())?;
        if !self.vip.is_present(&mut rtnl)? {
            let again = self.vip.install(&mut rtnl)?;
            if again.address_added {
                repairs.push(Repair::VipRestored);
            }
        }
        let ifaces: Vec<&str> = self.ifaces.iter().map(String::as_str).collect();
        let fresh = apply_sysctls(self.ns(), &ifaces, self.scope)?;
        for change in fresh.changes {
            // Keep the value from before the first install for undo.
            match self
                .record
                .changes
                .iter_mut()
                .find(|c| c.path == change.path)
            {
                Some(c) => c.written = change.written,
                None => self.record.changes.push(change.clone()),
            }
            repairs.push(Repair::Sysctl(change));
        }
        Ok(repairs)
    }

    /// Repairs on every event and at least every `period` until `stop` is
    /// set; returns all repairs made.
    pub fn watch(
        &mut self,
        watcher: &mut Watcher,
        period: Duration,
        stop: &AtomicBool,
    ) -> Result<Vec<Repair>> {
        let mut all = Vec::new();
        let mut next_check = Instant::now();
        while !stop.load(Ordering::Relaxed) {
            let now = Instant::now();
            if now >= next_check {
                all.extend(self.repair()?);
                next_check = now + period;
            }
            // Short waits so `stop` is noticed quickly.
            let wait = next_check
                .saturating_duration_since(Instant::now())
                .min(Duration::from_millis(100));
            if !watcher.wait(wait)?.is_empty() {
                next_check = Instant::now();
            }
        }
        Ok(all)
    }

    /// Restores the previous sysctl values and removes what the install added.
    pub fn undo(self) -> Result<()> {
        self.record.undo(self.ns())?;
        if let Some(u) = &self.vip_undo {
            let mut rtnl = Rtnl::open(self.ns())?;
            u.undo(&mut rtnl)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn garbage_and_unknown_messages_are_reported_not_dropped() {
        // A netconf notification header (type 80) with an empty body.
        let mut netconf = vec![0u8; 20];
        netconf[0..4].copy_from_slice(&20u32.to_ne_bytes());
        netconf[4..6].copy_from_slice(&RTM_NEWNETCONF.to_ne_bytes());
        assert_eq!(parse_events(&netconf), vec![WatchEvent::Netconf]);
        let mut bad = vec![0u8; 16];
        bad[0..4].copy_from_slice(&999u32.to_ne_bytes());
        bad[4..6].copy_from_slice(&20u16.to_ne_bytes());
        assert_eq!(parse_events(&bad), vec![WatchEvent::Other(20)]);
        assert!(parse_events(&[1, 2, 3]).is_empty());
    }

    #[test]
    fn route_and_rule_removals_are_decoded() {
        use netlink_packet_core::{NetlinkHeader, NetlinkPayload};
        use netlink_packet_route::route::RouteAttribute;
        let mut route = RouteMessage::default();
        route.header.destination_prefix_length = 24;
        route.attributes.push(RouteAttribute::Table(100));
        let mut buf = Vec::new();
        for msg in [
            RouteNetlinkMessage::DelRoute(route.clone()),
            RouteNetlinkMessage::DelRule(RuleMessage::default()),
        ] {
            let mut m =
                NetlinkMessage::new(NetlinkHeader::default(), NetlinkPayload::InnerMessage(msg));
            m.finalize();
            let mut b = vec![0u8; m.buffer_len()];
            m.serialize(&mut b);
            buf.extend_from_slice(&b);
        }
        let events = parse_events(&buf);
        assert_eq!(events.len(), 2, "{events:?}");
        assert!(
            matches!(&events[0], WatchEvent::Route { removed: true, route: r } if **r == route)
        );
        assert!(matches!(&events[1], WatchEvent::Rule { removed: true, .. }));
    }
}
