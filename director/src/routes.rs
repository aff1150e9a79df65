//! Routes, policy-routing rules and static addresses the director installs
//! (keepalived's `virtual_routes` / `virtual_rules` in an instance, held
//! while it is Master; `static_ipaddress`, `static_routes`, `static_rules`,
//! held while the director runs).
//!
//! ```
//! use lvs_director::{Route, Rule, VrrpInstance};
//!
//! let default_gw = Route::new("0.0.0.0".parse().unwrap(), 0)
//!     .with_via("192.0.2.1".parse().unwrap())
//!     .with_table(100);
//! let lookup = Rule::new(lvs_ipvs::Family::Inet)
//!     .with_from("192.0.2.80".parse().unwrap(), 32)
//!     .with_table(100)
//!     .with_priority(100);
//! assert_eq!(default_gw.family(), lvs_ipvs::Family::Inet);
//! assert!(default_gw.validate().is_ok() && lookup.validate().is_ok());
//! ```

use std::fmt;
use std::net::IpAddr;

use lvs_ipvs::Family;

use crate::config::Vip;

/// The main routing table (`ip route`'s default).
pub const TABLE_MAIN: u32 = 254;
/// The routing protocol number keepalived marks its routes with
/// (`proto keepalived`), the default of [`Route::protocol`].
pub const PROTO_KEEPALIVED: u8 = 18;

/// What a route does with the packets it matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[non_exhaustive]
pub enum RouteKind {
    /// Forwarded (a gateway and/or an interface).
    #[default]
    Unicast,
    /// Dropped silently (`blackhole`).
    Blackhole,
    /// Dropped with "host unreachable" (`unreachable`).
    Unreachable,
    /// Dropped with "administratively prohibited" (`prohibit`).
    Prohibit,
    /// Delivered to this host (`local`, in the `local` table): how an
    /// announced VIP is made the director's without an interface address.
    Local,
}

/// A route's scope (`ip route … scope`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RouteScope {
    /// `global` / `universe` (0).
    Global,
    /// `site` (200).
    Site,
    /// `link` (253).
    Link,
    /// `host` (254).
    Host,
    /// `nowhere` (255).
    Nowhere,
}

impl RouteScope {
    /// The kernel's number for it (`RT_SCOPE_*`).
    pub fn number(self) -> u8 {
        match self {
            RouteScope::Global => 0,
            RouteScope::Site => 200,
            RouteScope::Link => 253,
            RouteScope::Host => 254,
            RouteScope::Nowhere => 255,
        }
    }
}

/// One route (an `ip route add` line).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Route {
    /// Unicast, or one of the kinds that drop.
    pub kind: RouteKind,
    /// The destination network.
    pub dest: IpAddr,
    /// Its prefix length.
    pub prefix_len: u8,
    /// The gateway (`via` / `gw`).
    pub via: Option<IpAddr>,
    /// The output interface (`dev`).
    pub dev: Option<String>,
    /// The preferred source address (`src`).
    pub src: Option<IpAddr>,
    /// The routing table. Default: [`TABLE_MAIN`].
    pub table: u32,
    /// The metric (`metric` / `preference` / `priority`); `None`: the kernel's default.
    pub metric: Option<u32>,
    /// The scope; `None`: as `ip route add` chooses (link for a unicast
    /// route without a gateway, global otherwise).
    pub scope: Option<RouteScope>,
    /// The protocol number (`proto`). Default: [`PROTO_KEEPALIVED`].
    pub protocol: u8,
    /// keepalived's `no_track`: losing the route does not take the instance
    /// out of Master. The director never watches its routes, so every
    /// route behaves this way; the flag is kept for the configuration's sake.
    pub no_track: bool,
}

impl Route {
    /// A unicast route to `dest/prefix_len` in the main table, with no
    /// gateway, interface or source yet.
    pub fn new(dest: IpAddr, prefix_len: u8) -> Route {
        Route {
            kind: RouteKind::Unicast,
            dest,
            prefix_len,
            via: None,
            dev: None,
            src: None,
            table: TABLE_MAIN,
            metric: None,
            scope: None,
            protocol: PROTO_KEEPALIVED,
            no_track: false,
        }
    }

    /// Sets the kind.
    pub fn with_kind(mut self, kind: RouteKind) -> Route {
        self.kind = kind;
        self
    }

    /// Sets the gateway.
    pub fn with_via(mut self, via: IpAddr) -> Route {
        self.via = Some(via);
        self
    }

    /// Sets the output interface.
    pub fn with_dev(mut self, dev: &str) -> Route {
        self.dev = Some(dev.to_string());
        self
    }

    /// Sets the preferred source address.
    pub fn with_src(mut self, src: IpAddr) -> Route {
        self.src = Some(src);
        self
    }

    /// Sets the table.
    pub fn with_table(mut self, table: u32) -> Route {
        self.table = table;
        self
    }

    /// Sets the metric.
    pub fn with_metric(mut self, metric: u32) -> Route {
        self.metric = Some(metric);
        self
    }

    /// Sets the scope.
    pub fn with_scope(mut self, scope: RouteScope) -> Route {
        self.scope = Some(scope);
        self
    }

    /// The destination's family.
    pub fn family(&self) -> Family {
        family_of(self.dest)
    }

    /// The scope the route is added with: [`scope`](Self::scope), or what
    /// `ip route add` would choose.
    pub fn effective_scope(&self) -> RouteScope {
        self.scope
            .unwrap_or(if self.kind == RouteKind::Unicast && self.via.is_none() {
                RouteScope::Link
            } else {
                RouteScope::Global
            })
    }

    /// Whether `other` (as the kernel reports it) is this route: the
    /// kernel's own key — family, table, destination and prefix, metric —
    /// plus the type and the protocol it was added with. The gateway and
    /// interface are not compared: the kernel reports a route deleted with
    /// its interface without one, and an IPv4 route is one key whatever
    /// its next hop. A route without a metric has the kernel's default
    /// (0 for IPv4, 1024 for IPv6).
    pub fn same_route(&self, other: &Route) -> bool {
        let metric = |r: &Route| r.metric.unwrap_or(if r.dest.is_ipv4() { 0 } else { 1024 });
        self.dest == other.dest
            && self.prefix_len == other.prefix_len
            && self.table == other.table
            && self.kind == other.kind
            && self.protocol == other.protocol
            && metric(self) == metric(other)
    }

    /// Checks what the types cannot: the prefix length fits the family,
    /// the gateway and source are of the destination's family, a drop
    /// route has no gateway or interface, a unicast one has one of them, a
    /// local one an interface only.
    pub fn validate(&self) -> Result<(), String> {
        let max = max_prefix(self.dest);
        if self.prefix_len > max {
            return Err(format!("prefix length {} is over {max}", self.prefix_len));
        }
        for (what, a) in [("via", self.via), ("src", self.src)] {
            if let Some(a) = a
                && family_of(a) != self.family()
            {
                return Err(format!("{what} {a} is not of the destination's family"));
            }
        }
        match self.kind {
            RouteKind::Unicast if self.via.is_none() && self.dev.is_none() => {
                Err("a route needs a gateway (via) or an interface (dev)".into())
            }
            RouteKind::Unicast => Ok(()),
            RouteKind::Local if self.via.is_some() || self.dev.is_none() => {
                Err("a local route takes an interface (dev) and no gateway".into())
            }
            RouteKind::Local => Ok(()),
            _ if self.via.is_some() || self.dev.is_some() => {
                Err("a blackhole, unreachable or prohibit route takes no via or dev".into())
            }
            _ => Ok(()),
        }
    }
}

impl fmt::Display for Route {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.kind {
            RouteKind::Unicast => {}
            RouteKind::Blackhole => f.write_str("blackhole ")?,
            RouteKind::Unreachable => f.write_str("unreachable ")?,
            RouteKind::Prohibit => f.write_str("prohibit ")?,
            RouteKind::Local => f.write_str("local ")?,
        }
        write!(f, "{}/{}", self.dest, self.prefix_len)?;
        if let Some(v) = self.via {
            write!(f, " via {v}")?;
        }
        if let Some(d) = &self.dev {
            write!(f, " dev {d}")?;
        }
        if let Some(s) = self.src {
            write!(f, " src {s}")?;
        }
        if self.table != TABLE_MAIN {
            write!(f, " table {}", self.table)?;
        }
        if let Some(m) = self.metric {
            write!(f, " metric {m}")?;
        }
        Ok(())
    }
}

/// One policy-routing rule (an `ip rule add` line) that looks up a table.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct Rule {
    /// IPv4 or IPv6 (keepalived's `inet6`; otherwise the addresses' family).
    pub family: Family,
    /// Source network (`from`).
    pub from: Option<(IpAddr, u8)>,
    /// Destination network (`to`).
    pub to: Option<(IpAddr, u8)>,
    /// The table looked up (`table` / `lookup`). Default: [`TABLE_MAIN`].
    pub table: u32,
    /// The rule's preference (`priority` / `preference` / `pref`); `None`:
    /// the kernel chooses (just before the first non-zero one), which,
    /// as keepalived warns, is seldom what is wanted.
    pub priority: Option<u32>,
    /// Firewall mark (`fwmark MARK[/MASK]`).
    pub fwmark: Option<u32>,
    /// Mask of the mark.
    pub fwmask: Option<u32>,
    /// Input interface (`iif`).
    pub iif: Option<String>,
    /// Output interface (`oif`).
    pub oif: Option<String>,
    /// keepalived's `no_track` (see [`Route::no_track`]).
    pub no_track: bool,
}

impl Rule {
    /// A rule of `family` matching everything, looking up the main table.
    pub fn new(family: Family) -> Rule {
        Rule {
            family,
            from: None,
            to: None,
            table: TABLE_MAIN,
            priority: None,
            fwmark: None,
            fwmask: None,
            iif: None,
            oif: None,
            no_track: false,
        }
    }

    /// Sets the source network.
    pub fn with_from(mut self, addr: IpAddr, prefix_len: u8) -> Rule {
        self.from = Some((addr, prefix_len));
        self
    }

    /// Sets the destination network.
    pub fn with_to(mut self, addr: IpAddr, prefix_len: u8) -> Rule {
        self.to = Some((addr, prefix_len));
        self
    }

    /// Sets the table.
    pub fn with_table(mut self, table: u32) -> Rule {
        self.table = table;
        self
    }

    /// Sets the preference.
    pub fn with_priority(mut self, priority: u32) -> Rule {
        self.priority = Some(priority);
        self
    }

    /// Whether `other` (as the kernel reports it) is this rule: the same
    /// selectors and table; a rule added without a priority matches any
    /// (the kernel chose one).
    pub fn same_rule(&self, other: &Rule) -> bool {
        let mask = |r: &Rule| r.fwmark.map(|_| r.fwmask.unwrap_or(u32::MAX));
        self.family == other.family
            && self.from == other.from
            && self.to == other.to
            && self.table == other.table
            && self.fwmark == other.fwmark
            && mask(self) == mask(other)
            && self.iif == other.iif
            && self.oif == other.oif
            && (self.priority.is_none() || self.priority == other.priority)
    }

    /// Checks that `from` and `to` are of the rule's family with a prefix
    /// length that fits it.
    pub fn validate(&self) -> Result<(), String> {
        for (what, net) in [("from", self.from), ("to", self.to)] {
            let Some((a, len)) = net else { continue };
            if family_of(a) != self.family {
                return Err(format!("{what} {a} is not of the rule's family"));
            }
            if len > max_prefix(a) {
                return Err(format!(
                    "{what} {a}/{len}: prefix length over {}",
                    max_prefix(a)
                ));
            }
        }
        Ok(())
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut sep = "";
        if let Some(p) = self.priority {
            write!(f, "pref {p}")?;
            sep = " ";
        }
        if let Some((a, l)) = self.from {
            write!(f, "{sep}from {a}/{l}")?;
            sep = " ";
        }
        if let Some((a, l)) = self.to {
            write!(f, "{sep}to {a}/{l}")?;
            sep = " ";
        }
        if let Some(m) = self.fwmark {
            write!(f, "{sep}fwmark {m:#x}")?;
            sep = " ";
        }
        write!(f, "{sep}lookup {}", self.table)
    }
}

/// Something the kernel reports deleted that the director may have put
/// there ([`Director::handle_removed`](crate::Director::handle_removed)).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Removed {
    /// An address, from whichever interface.
    Address(IpAddr),
    /// A route as the kernel reported it ([`Route::same_route`] decides
    /// whether it is one of ours).
    Route(Route),
    /// A rule as the kernel reported it ([`Rule::same_rule`]).
    Rule(Rule),
}

impl fmt::Display for Removed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Removed::Address(a) => write!(f, "address {a}"),
            Removed::Route(r) => write!(f, "route {r}"),
            Removed::Rule(r) => write!(f, "rule {r}"),
        }
    }
}

/// Addresses, routes and rules installed and removed together: one
/// instance's `virtual_routes` and `virtual_rules` (no addresses: its VIPs
/// are its own), or the director's static ones.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Routing {
    /// Addresses (each with its [`interface`](Vip::interface) set).
    pub addresses: Vec<Vip>,
    /// Routes.
    pub routes: Vec<Route>,
    /// Rules.
    pub rules: Vec<Rule>,
}

impl Routing {
    /// Routes and rules, no addresses.
    pub fn new(routes: Vec<Route>, rules: Vec<Rule>) -> Routing {
        Routing {
            addresses: Vec::new(),
            routes,
            rules,
        }
    }

    /// Nothing to install.
    pub fn is_empty(&self) -> bool {
        self.addresses.is_empty() && self.routes.is_empty() && self.rules.is_empty()
    }

    /// What `self` has and `other` has not (the part of a reload's delta
    /// to remove, or to add, depending on the order).
    pub fn minus(&self, other: &Routing) -> Routing {
        Routing {
            addresses: diff(&self.addresses, &other.addresses),
            routes: diff(&self.routes, &other.routes),
            rules: diff(&self.rules, &other.rules),
        }
    }

    /// Checks every route and rule, and that every address names its interface.
    pub fn validate(&self) -> Result<(), String> {
        for a in &self.addresses {
            if a.interface.is_none() {
                return Err(format!("address {} has no interface", a.addr));
            }
            if a.prefix_len > max_prefix(a.addr) {
                return Err(format!(
                    "address {}/{}: prefix length too long",
                    a.addr, a.prefix_len
                ));
            }
        }
        for r in &self.routes {
            r.validate().map_err(|e| format!("route {r}: {e}"))?;
        }
        for r in &self.rules {
            r.validate().map_err(|e| format!("rule {r}: {e}"))?;
        }
        Ok(())
    }
}

fn diff<T: PartialEq + Clone>(a: &[T], b: &[T]) -> Vec<T> {
    a.iter().filter(|x| !b.contains(x)).cloned().collect()
}

fn family_of(a: IpAddr) -> Family {
    if a.is_ipv4() {
        Family::Inet
    } else {
        Family::Inet6
    }
}

fn max_prefix(a: IpAddr) -> u8 {
    if a.is_ipv4() { 32 } else { 128 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation_and_delta() {
        let gw = Route::new("10.1.0.0".parse().unwrap(), 16).with_via("192.0.2.1".parse().unwrap());
        assert_eq!(gw.validate(), Ok(()));
        assert_eq!(gw.effective_scope(), RouteScope::Global);
        let dev = Route::new("10.2.0.0".parse().unwrap(), 16).with_dev("eth0");
        assert_eq!(dev.effective_scope(), RouteScope::Link);
        assert!(
            Route::new("10.2.0.0".parse().unwrap(), 33)
                .with_dev("eth0")
                .validate()
                .is_err()
        );
        assert!(
            Route::new("10.2.0.0".parse().unwrap(), 16)
                .validate()
                .is_err()
        );
        let v6gw =
            Route::new("10.2.0.0".parse().unwrap(), 16).with_via("2001:db8::1".parse().unwrap());
        assert!(v6gw.validate().is_err());
        let bh = Route::new("10.3.0.0".parse().unwrap(), 16).with_kind(RouteKind::Blackhole);
        assert_eq!(bh.validate(), Ok(()));
        assert!(bh.clone().with_dev("eth0").validate().is_err());
        let rule = Rule::new(Family::Inet6).with_from("10.0.0.1".parse().unwrap(), 32);
        assert!(rule.validate().is_err());
        let old = Routing::new(vec![gw.clone(), dev.clone()], vec![]);
        let new = Routing::new(vec![dev, bh.clone()], vec![]);
        assert_eq!(old.minus(&new).routes, vec![gw]);
        assert_eq!(new.minus(&old).routes, vec![bh]);
    }
}
