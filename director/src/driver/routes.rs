//! Routes, rules and static addresses over rtnetlink (the core's
//! `AddRouting` / `RemoveRouting`), on lvs-arpguard's `Rtnl` socket.
//!
//! Adding is keepalived's default "prepend" (`NLM_F_CREATE` without
//! `NLM_F_EXCL`): an identical route already there is `EEXIST`, which
//! counts as done; removing something absent is done too. Every failure
//! is logged and the rest still carried out, as keepalived does.

use std::net::IpAddr;

use lvs_arpguard::{Change, Error, Rtnl};
use lvs_ipvs::Family;
use netlink_packet_core::{NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteHeader, RouteMessage, RouteProtocol, RouteScope as NlScope,
    RouteType,
};
use netlink_packet_route::rule::{RuleAction, RuleAttribute, RuleMessage};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};
use tracing::{info, warn};

use super::addresses::director_vip;
use crate::routes::{Removed, Route, RouteKind, Routing, Rule};

// Linux errno values meaning "already so".
const ENOENT: i32 = 2;
const ESRCH: i32 = 3;
const EEXIST: i32 = 17;

/// Installs addresses, then routes, then rules.
pub(super) fn add(rtnl: &mut Rtnl, owner: &str, r: &Routing) {
    for a in &r.addresses {
        let v = director_vip(a);
        match v.add(rtnl) {
            Ok(c) => info!(owner, address = %a.addr, iface = %v.iface,
                           changed = (c == Change::Applied), "static address added"),
            Err(e) => warn!(owner, address = %a.addr, error = %e, "cannot add static address"),
        }
    }
    for route in &r.routes {
        match route_message(rtnl, route, false)
            .and_then(|m| change(rtnl, RouteNetlinkMessage::NewRoute(m), NLM_F_CREATE, route))
        {
            Ok(c) => info!(owner, route = %route, changed = (c == Change::Applied), "route added"),
            Err(e) => warn!(owner, route = %route, error = %e, "cannot add route"),
        }
    }
    for rule in &r.rules {
        let m = rule_message(rule);
        let flags = NLM_F_CREATE | NLM_F_EXCL;
        match change(rtnl, RouteNetlinkMessage::NewRule(m), flags, rule) {
            Ok(c) => info!(owner, rule = %rule, changed = (c == Change::Applied), "rule added"),
            Err(e) => warn!(owner, rule = %rule, error = %e, "cannot add rule"),
        }
    }
}

/// Removes rules, then routes, then addresses.
pub(super) fn remove(rtnl: &mut Rtnl, owner: &str, r: &Routing) {
    for rule in &r.rules {
        let m = rule_message(rule);
        match change(rtnl, RouteNetlinkMessage::DelRule(m), 0, rule) {
            Ok(c) => info!(owner, rule = %rule, changed = (c == Change::Applied), "rule removed"),
            Err(e) => warn!(owner, rule = %rule, error = %e, "cannot remove rule"),
        }
    }
    for route in &r.routes {
        let m = match route_message(rtnl, route, true) {
            Ok(m) => m,
            // Its interface is gone, and the route with it.
            Err(Error::NoSuchInterface(_)) => continue,
            Err(e) => {
                warn!(owner, route = %route, error = %e, "cannot remove route");
                continue;
            }
        };
        match change(rtnl, RouteNetlinkMessage::DelRoute(m), 0, route) {
            Ok(c) => {
                info!(owner, route = %route, changed = (c == Change::Applied), "route removed")
            }
            Err(e) => warn!(owner, route = %route, error = %e, "cannot remove route"),
        }
    }
    for a in &r.addresses {
        let v = director_vip(a);
        if let Err(e) = v.remove(rtnl) {
            warn!(owner, address = %a.addr, error = %e, "cannot remove static address");
        }
    }
}

/// Deletes every route of `protocol` in `table`, both families: what an
/// earlier run announced (a crash leaves its routes behind). Returns how
/// many were deleted.
pub(crate) fn flush(rtnl: &mut Rtnl, table: u32, protocol: u8) -> Result<usize, Error> {
    let mut n = 0;
    for family in [AddressFamily::Inet, AddressFamily::Inet6] {
        let mut q = RouteMessage::default();
        q.header.address_family = family;
        let all = dump(rtnl, RouteNetlinkMessage::GetRoute(q), "routes")?;
        for m in all {
            let RouteNetlinkMessage::NewRoute(m) = m else {
                continue;
            };
            let Some(r) = route_from(&m) else { continue };
            if r.table != table || r.protocol != protocol {
                continue;
            }
            let mut del = m.clone();
            del.header.scope = NlScope::NoWhere;
            if change(rtnl, RouteNetlinkMessage::DelRoute(del), 0, &r)? == Change::Applied {
                info!(route = %r, "leftover announced route flushed");
                n += 1;
            }
        }
    }
    Ok(n)
}

/// Whether `removed` is still missing now. The watcher's event may be
/// older than the last `AddRouting` / `AddVip` this loop carried out (its
/// own removal, seen after it put the item back); the kernel's table is
/// asked instead, on the socket every change goes through, so the answer
/// is never older than the core's last command. `false` when the kernel
/// cannot be read: stepping down on a guess would be worse.
pub(super) fn still_gone(rtnl: &mut Rtnl, removed: &Removed) -> bool {
    let result = match removed {
        Removed::Address(a) => rtnl
            .addresses(None)
            .map(|all| !all.iter().any(|x| x.addr == *a)),
        Removed::Route(r) => dump(
            rtnl,
            RouteNetlinkMessage::GetRoute(family_route(r)),
            "routes",
        )
        .map(|all| {
            !all.iter().any(|m| match m {
                RouteNetlinkMessage::NewRoute(m) => route_from(m).is_some_and(|x| r.same_route(&x)),
                _ => false,
            })
        }),
        Removed::Rule(r) => {
            let mut q = RuleMessage::default();
            q.header.family = af(r.family);
            dump(rtnl, RouteNetlinkMessage::GetRule(q), "rules").map(|all| {
                !all.iter().any(|m| match m {
                    RouteNetlinkMessage::NewRule(m) => r.same_rule(&rule_from(m)),
                    _ => false,
                })
            })
        }
    };
    result.unwrap_or_else(|e| {
        warn!(what = %removed, error = %e, "cannot tell whether it is still gone");
        false
    })
}

fn family_route(r: &Route) -> RouteMessage {
    let mut m = RouteMessage::default();
    m.header.address_family = af(r.family());
    m
}

fn dump(
    rtnl: &mut Rtnl,
    q: RouteNetlinkMessage,
    what: &str,
) -> Result<Vec<RouteNetlinkMessage>, Error> {
    rtnl.request(q, NLM_F_DUMP, &|| format!("dump {what}"))
}

/// A route as the kernel reports it, in the core's terms (its interface
/// left out: [`Route::same_route`] does not compare it); `None` for a
/// kind the director never adds (broadcast, anycast, ...).
pub(super) fn route_from(m: &RouteMessage) -> Option<Route> {
    let kind = match m.header.kind {
        RouteType::Unicast => RouteKind::Unicast,
        RouteType::BlackHole => RouteKind::Blackhole,
        RouteType::Unreachable => RouteKind::Unreachable,
        RouteType::Prohibit => RouteKind::Prohibit,
        RouteType::Local => RouteKind::Local,
        _ => return None,
    };
    let ip = |a: &RouteAddress| match a {
        RouteAddress::Inet(v) => Some(IpAddr::V4(*v)),
        RouteAddress::Inet6(v) => Some(IpAddr::V6(*v)),
        _ => None,
    };
    let unspecified = match m.header.address_family {
        AddressFamily::Inet => IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
        AddressFamily::Inet6 => IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
        _ => return None,
    };
    let mut r = Route::new(unspecified, m.header.destination_prefix_length).with_kind(kind);
    r.table = u32::from(m.header.table);
    r.protocol = u8::from(m.header.protocol);
    for a in &m.attributes {
        match a {
            RouteAttribute::Destination(d) => r.dest = ip(d).unwrap_or(unspecified),
            RouteAttribute::Gateway(g) => r.via = ip(g),
            RouteAttribute::PrefSource(s) => r.src = ip(s),
            RouteAttribute::Table(t) => r.table = *t,
            RouteAttribute::Priority(p) => r.metric = Some(*p),
            _ => {}
        }
    }
    Some(r)
}

/// A rule as the kernel reports it, in the core's terms.
pub(super) fn rule_from(m: &RuleMessage) -> Rule {
    let family = match m.header.family {
        AddressFamily::Inet6 => Family::Inet6,
        _ => Family::Inet,
    };
    let mut r = Rule::new(family);
    r.table = u32::from(m.header.table);
    for a in &m.attributes {
        match a {
            RuleAttribute::Table(t) => r.table = *t,
            RuleAttribute::Source(s) => r.from = Some((*s, m.header.src_len)),
            RuleAttribute::Destination(d) => r.to = Some((*d, m.header.dst_len)),
            RuleAttribute::Priority(p) => r.priority = Some(*p),
            RuleAttribute::FwMark(x) => r.fwmark = Some(*x),
            RuleAttribute::FwMask(x) => r.fwmask = Some(*x),
            RuleAttribute::Iifname(i) => r.iif = Some(i.clone()),
            RuleAttribute::Oifname(o) => r.oif = Some(o.clone()),
            _ => {}
        }
    }
    r
}

/// Sends one change; `EEXIST` on an add, `ENOENT` / `ESRCH` on a delete
/// are [`Change::Unchanged`].
fn change(
    rtnl: &mut Rtnl,
    msg: RouteNetlinkMessage,
    flags: u16,
    what: &dyn std::fmt::Display,
) -> Result<Change, Error> {
    let deleting = matches!(
        msg,
        RouteNetlinkMessage::DelRoute(_) | RouteNetlinkMessage::DelRule(_)
    );
    let verb = if deleting { "delete" } else { "add" };
    match rtnl.request(msg, NLM_F_ACK | flags, &|| format!("{verb} {what}")) {
        Ok(_) => Ok(Change::Applied),
        Err(Error::Netlink { source, .. })
            if matches!(
                (deleting, source.raw_os_error()),
                (false, Some(EEXIST)) | (true, Some(ENOENT | ESRCH))
            ) =>
        {
            Ok(Change::Unchanged)
        }
        Err(e) => Err(e),
    }
}

fn af(f: Family) -> AddressFamily {
    match f {
        Family::Inet => AddressFamily::Inet,
        Family::Inet6 => AddressFamily::Inet6,
    }
}

fn addr(a: IpAddr) -> RouteAddress {
    match a {
        IpAddr::V4(v) => RouteAddress::Inet(v),
        IpAddr::V6(v) => RouteAddress::Inet6(v),
    }
}

/// The route as `RTM_NEWROUTE` / `RTM_DELROUTE` carries it; a delete
/// matches any scope, as `ip route del` does.
fn route_message(rtnl: &mut Rtnl, r: &Route, delete: bool) -> Result<RouteMessage, Error> {
    let mut m = RouteMessage::default();
    m.header.address_family = af(r.family());
    m.header.destination_prefix_length = r.prefix_len;
    m.header.protocol = RouteProtocol::from(r.protocol);
    m.header.scope = if delete {
        NlScope::NoWhere
    } else {
        NlScope::from(r.effective_scope().number())
    };
    m.header.kind = match r.kind {
        RouteKind::Blackhole => RouteType::BlackHole,
        RouteKind::Unreachable => RouteType::Unreachable,
        RouteKind::Prohibit => RouteType::Prohibit,
        RouteKind::Local => RouteType::Local,
        _ => RouteType::Unicast,
    };
    // Tables over 255 only fit the attribute.
    m.header.table = u8::try_from(r.table).unwrap_or(RouteHeader::RT_TABLE_UNSPEC);
    m.attributes.push(RouteAttribute::Table(r.table));
    // A default route has no destination attribute.
    if r.prefix_len > 0 || !r.dest.is_unspecified() {
        m.attributes.push(RouteAttribute::Destination(addr(r.dest)));
    }
    if let Some(gw) = r.via {
        m.attributes.push(RouteAttribute::Gateway(addr(gw)));
    }
    if let Some(src) = r.src {
        m.attributes.push(RouteAttribute::PrefSource(addr(src)));
    }
    if let Some(dev) = &r.dev {
        let index = rtnl.link(dev)?.index;
        m.attributes.push(RouteAttribute::Oif(index));
    }
    if let Some(metric) = r.metric {
        m.attributes.push(RouteAttribute::Priority(metric));
    }
    Ok(m)
}

fn rule_message(r: &Rule) -> RuleMessage {
    let mut m = RuleMessage::default();
    m.header.family = af(r.family);
    m.header.action = RuleAction::ToTable;
    m.header.table = u8::try_from(r.table).unwrap_or(0);
    m.attributes.push(RuleAttribute::Table(r.table));
    if let Some((a, len)) = r.from {
        m.header.src_len = len;
        m.attributes.push(RuleAttribute::Source(a));
    }
    if let Some((a, len)) = r.to {
        m.header.dst_len = len;
        m.attributes.push(RuleAttribute::Destination(a));
    }
    if let Some(p) = r.priority {
        m.attributes.push(RuleAttribute::Priority(p));
    }
    if let Some(mark) = r.fwmark {
        m.attributes.push(RuleAttribute::FwMark(mark));
    }
    if let Some(mask) = r.fwmask {
        m.attributes.push(RuleAttribute::FwMask(mask));
    }
    if let Some(i) = &r.iif {
        m.attributes.push(RuleAttribute::Iifname(i.clone()));
    }
    if let Some(o) = &r.oif {
        m.attributes.push(RuleAttribute::Oifname(o.clone()));
    }
    m
}
