//! Route announcement for active-active directors behind ECMP (an lvs
//! extension; keepalived has nothing like it): each healthy VIP is a
//! host route in a routing table of its own that the local routing engine
//! (FRR's `ip import-table` + `redistribute table`, BIRD's `kernel table`)
//! advertises to the routers, so the routers spread flows over every
//! director that announces it.
//!
//! ```
//! use lvs_director::{DirectorConfig, RealServer, RouteAnnounce, VirtualServer};
//! use lvs_ipvs::{Destination, ForwardMethod, Scheduler, Service, ServiceKey};
//!
//! let key = ServiceKey::tcp("203.0.113.10:80".parse().unwrap());
//! let dst = Destination::new("10.0.9.11:80".parse().unwrap(), ForwardMethod::DirectRoute);
//! let web = VirtualServer::new(Service::new(key, Scheduler::Maglev))
//!     .with_real_server(RealServer::new(dst));
//! let config = DirectorConfig::new()
//!     .with_virtual_server(web)
//!     .with_route_announce(RouteAnnounce::new());
//! assert!(config.validate().is_ok());
//! let vips = config.route_announce.as_ref().unwrap().vips_of(&config);
//! assert_eq!(vips, ["203.0.113.10".parse::<std::net::IpAddr>().unwrap()]);
//! ```

use std::net::IpAddr;
use std::time::Duration;

use crate::config::{ConfigError, DirectorConfig};
use crate::routes::{Route, RouteKind, RouteScope, TABLE_MAIN};

/// The default table announced routes go in.
pub const TABLE_ANNOUNCE: u32 = 198;
/// The default protocol number of announced routes. FRR's zebra owns
/// 186-198 and flushes them at its start, so they are out; iproute2 names
/// 99 `openr` (Open/R's, a routing daemon a director does not run).
pub const PROTO_ANNOUNCE: u8 = 99;
/// The kernel's `local` table, where a VIP is made local without being an
/// interface address.
pub const TABLE_LOCAL: u32 = 255;
/// The default longest drain: twice BGP's default hold time (90 s), by
/// which the slowest router has dropped the path.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(180);

/// Which VIPs are announced, where, and how a drain ends.
///
/// A VIP is announced (its host route `VIP dev lo table T proto P` present)
/// while every virtual server on it has been written to IPVS by a
/// successful reconcile, every real server's probes have reported once,
/// and the virtual server holds its keepalived `quorum`
/// ([`VirtualServer::quorum`](crate::VirtualServer::quorum), with its
/// hysteresis); it is withdrawn when any of that stops holding, while the
/// director drains, and when it stops. The director also makes each VIP
/// local with `local VIP dev lo table local proto P` while it runs (an
/// interface address would give the routing engine a connected route that
/// shadows the imported one), and flushes every route of protocol `P` in
/// both tables at start, so a crashed run's routes never outlive it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct RouteAnnounce {
    /// The routing table the host routes go in. Default: [`TABLE_ANNOUNCE`].
    pub table: u32,
    /// The routes' protocol number. Default: [`PROTO_ANNOUNCE`].
    pub protocol: u8,
    /// The VIPs; empty: the address of every virtual server (fwmark
    /// services have none, so they gate no VIP).
    pub vips: Vec<IpAddr>,
    /// The longest a drain waits for this director's traffic to end.
    /// Default: [`DRAIN_TIMEOUT`].
    pub drain_timeout: Duration,
    /// A stop (SIGTERM in the program) drains first.
    pub drain_on_sigterm: bool,
}

impl Default for RouteAnnounce {
    fn default() -> Self {
        RouteAnnounce {
            table: TABLE_ANNOUNCE,
            protocol: PROTO_ANNOUNCE,
            vips: Vec::new(),
            drain_timeout: DRAIN_TIMEOUT,
            drain_on_sigterm: false,
        }
    }
}

impl RouteAnnounce {
    /// Every virtual server's address, in table 198, protocol 99.
    pub fn new() -> RouteAnnounce {
        RouteAnnounce::default()
    }

    /// Adds a VIP to announce (once any is given, only those are).
    pub fn with_vip(mut self, vip: IpAddr) -> RouteAnnounce {
        self.vips.push(vip);
        self
    }

    /// Sets the table.
    pub fn with_table(mut self, table: u32) -> RouteAnnounce {
        self.table = table;
        self
    }

    /// Sets the protocol number.
    pub fn with_protocol(mut self, protocol: u8) -> RouteAnnounce {
        self.protocol = protocol;
        self
    }

    /// The VIPs announced under `config`: [`vips`](Self::vips), or every
    /// virtual server's address; sorted, each once.
    pub fn vips_of(&self, config: &DirectorConfig) -> Vec<IpAddr> {
        let mut out: Vec<IpAddr> = if self.vips.is_empty() {
            config
                .virtual_servers
                .iter()
                .flat_map(|vs| vs.member_keys())
                .filter_map(|k| k.addr().map(|a| a.ip()))
                .collect()
        } else {
            self.vips.clone()
        };
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The host route that announces `vip`.
    pub fn route(&self, vip: IpAddr) -> Route {
        let mut r = Route::new(vip, host_len(vip))
            .with_dev("lo")
            .with_table(self.table);
        r.protocol = self.protocol;
        r
    }

    /// The `local` route that makes `vip` this host's without an address.
    pub fn local_route(&self, vip: IpAddr) -> Route {
        let mut r = Route::new(vip, host_len(vip))
            .with_kind(RouteKind::Local)
            .with_dev("lo")
            .with_table(TABLE_LOCAL);
        r.scope = Some(RouteScope::Host);
        r.protocol = self.protocol;
        r
    }

    /// A table of its own, a protocol the kernel does not use, every
    /// listed VIP some virtual server's, none a VRRP instance's address.
    pub(crate) fn validate(&self, config: &DirectorConfig) -> Result<(), ConfigError> {
        let bad = |why: String| Err(ConfigError::RouteAnnounce(why));
        // 0 unspecified, 253 default, 254 main, 255 local.
        if self.table == 0 || (253..=255).contains(&self.table) || self.table == TABLE_MAIN {
            return bad(format!(
                "table {} is one of the kernel's (0, 253, 254, 255): give a table of its own",
                self.table
            ));
        }
        // 0..=4: unspec, redirect, kernel, boot, static (an admin's `ip route add`).
        if self.protocol <= 4 {
            return bad(format!(
                "protocol {} is the kernel's or an administrator's: give a number of its own (5-255)",
                self.protocol
            ));
        }
        let served: Vec<IpAddr> = RouteAnnounce::new().vips_of(config);
        if served.is_empty() && self.vips.is_empty() {
            return bad("no virtual server has an address to announce".into());
        }
        for vip in &self.vips {
            if !served.contains(vip) {
                return bad(format!("VIP {vip} is the address of no virtual server"));
            }
        }
        for vip in self.vips_of(config) {
            if let Some(i) = config
                .instances
                .iter()
                .find(|i| i.vips.iter().any(|v| v.addr == vip))
            {
                return bad(format!(
                    "VIP {vip} is also an address of VRRP instance {:?}: an announced VIP \
                     must not be an interface address (its connected route would shadow the \
                     announced one)",
                    i.name
                ));
            }
        }
        Ok(())
    }
}

fn host_len(a: IpAddr) -> u8 {
    if a.is_ipv4() { 32 } else { 128 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{RealServer, VirtualServer};
    use lvs_ipvs::{Destination, ForwardMethod, Scheduler, Service, ServiceKey};

    fn config(vip: &str) -> DirectorConfig {
        let key = ServiceKey::tcp(format!("{vip}:80").parse().unwrap());
        let dst = Destination::new("10.0.9.11:80".parse().unwrap(), ForwardMethod::DirectRoute);
        DirectorConfig::new().with_virtual_server(
            VirtualServer::new(Service::new(key, Scheduler::Maglev))
                .with_real_server(RealServer::new(dst)),
        )
    }

    #[test]
    fn kernel_tables_and_protocols_are_refused() {
        for table in [0, 253, 254, 255] {
            let c =
                config("203.0.113.10").with_route_announce(RouteAnnounce::new().with_table(table));
            assert!(
                matches!(c.validate(), Err(ConfigError::RouteAnnounce(ref w)) if w.contains("table")),
                "table {table}"
            );
        }
        let c = config("203.0.113.10").with_route_announce(RouteAnnounce::new().with_protocol(4));
        assert!(
            matches!(c.validate(), Err(ConfigError::RouteAnnounce(ref w)) if w.contains("protocol 4"))
        );
    }

    #[test]
    fn a_listed_vip_must_be_served() {
        let a = RouteAnnounce::new().with_vip("203.0.113.11".parse().unwrap());
        let c = config("203.0.113.10").with_route_announce(a);
        assert_eq!(
            c.validate(),
            Err(ConfigError::RouteAnnounce(
                "VIP 203.0.113.11 is the address of no virtual server".into()
            ))
        );
    }

    #[test]
    fn routes_are_host_routes_of_our_protocol() {
        let a = RouteAnnounce::new();
        let r = a.route("2001:db8::10".parse().unwrap());
        assert_eq!((r.prefix_len, r.table, r.protocol), (128, 198, 99));
        assert_eq!(r.dev.as_deref(), Some("lo"));
        let l = a.local_route("203.0.113.10".parse().unwrap());
        assert_eq!((l.kind, l.prefix_len, l.table), (RouteKind::Local, 32, 255));
    }
}
