//! VIPs on interfaces, gratuitous ARP / unsolicited NA bursts, and the
//! audit for addresses that should not be on a VRRP interface — all through
//! lvs-arpguard.

use std::collections::HashMap;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use lvs_arpguard::announce::{Announcer, AnnouncerConfig};
use lvs_arpguard::audit::{GhostAuditSpec, audit_ghosts};
use lvs_arpguard::packet::PacketSocket;
use lvs_arpguard::{Change, DirectorVip, MacAddr, Rtnl};
use tracing::{debug, error, info, warn};

use crate::config::Vip;

struct Announcing {
    announcer: Announcer,
    socket: PacketSocket,
}

/// The address side of the driver.
pub(crate) struct Addresses {
    rtnl: Rtnl,
    announcers: HashMap<String, Announcing>,
    /// Ghost findings last reported, each with its fix.
    ghosts: Vec<String>,
}

pub(super) fn director_vip(vip: &Vip) -> DirectorVip {
    let iface = vip.interface.as_deref().unwrap_or_default();
    let mut v = DirectorVip::new(iface, vip.addr, vip.prefix_len);
    v.label = vip.label.clone();
    v
}

impl Addresses {
    pub(crate) fn open() -> Result<Addresses, lvs_arpguard::Error> {
        Ok(Addresses {
            rtnl: Rtnl::open(None)?,
            announcers: HashMap::new(),
            ghosts: Vec::new(),
        })
    }

    pub(crate) fn rtnl(&mut self) -> &mut Rtnl {
        &mut self.rtnl
    }

    pub(crate) fn add_vip(&mut self, instance: &str, vip: &Vip) {
        let dv = director_vip(vip);
        match dv.add(&mut self.rtnl) {
            Ok(c) => info!(instance, vip = %vip.addr, prefix = vip.prefix_len, iface = %dv.iface,
                           label = ?dv.label, changed = (c == Change::Applied), "VIP added"),
            Err(e) => error!(instance, vip = %vip.addr, error = %e, "cannot add VIP"),
        }
    }

    /// Removes a VIP; `leftover` words the log for the clean-up at start.
    pub(crate) fn remove_vip(&mut self, instance: &str, vip: &Vip, leftover: bool) {
        let dv = director_vip(vip);
        match dv.remove(&mut self.rtnl) {
            Ok(Change::Applied) if leftover => info!(instance, vip = %vip.addr, iface = %dv.iface,
                                                     "removed a leftover VIP (we start as backup)"),
            Ok(Change::Applied) => {
                info!(instance, vip = %vip.addr, iface = %dv.iface, "VIP removed")
            }
            Ok(_) => {}
            Err(e) => warn!(instance, vip = %vip.addr, error = %e, "cannot remove VIP"),
        }
    }

    pub(crate) fn announce(
        &mut self,
        iface: &str,
        addr: IpAddr,
        count: u32,
        interval: Duration,
        mac: Option<[u8; 6]>,
        now: Instant,
    ) {
        match self.announcer(iface) {
            Ok(a) => a
                .announcer
                .announce_with(addr, count, interval, mac.map(MacAddr), now),
            Err(e) => warn!(iface, error = %e, "cannot announce VIP"),
        }
    }

    pub(crate) fn withdraw(&mut self, iface: &str, addr: IpAddr) {
        if let Some(a) = self.announcers.get_mut(iface) {
            a.announcer.withdraw(addr);
        }
    }

    fn announcer(&mut self, iface: &str) -> Result<&mut Announcing, String> {
        if !self.announcers.contains_key(iface) {
            let link = self.rtnl.link(iface).map_err(|e| e.to_string())?;
            let mac = link
                .mac
                .ok_or_else(|| format!("{iface} has no Ethernet address"))?;
            let socket = PacketSocket::open_sender(None, iface).map_err(|e| e.to_string())?;
            self.announcers.insert(
                iface.to_string(),
                Announcing {
                    announcer: Announcer::new(AnnouncerConfig::new(mac)),
                    socket,
                },
            );
        }
        self.announcers
            .get_mut(iface)
            .ok_or_else(|| "announcer vanished".to_string())
    }

    /// Drops the announcer of an interface that is going away (a macvlan
    /// made again later has a new index).
    pub(crate) fn forget(&mut self, iface: &str) {
        self.announcers.remove(iface);
    }

    /// Sends the frames due at `now`.
    pub(crate) fn pump(&mut self, now: Instant) {
        for (iface, a) in self.announcers.iter_mut() {
            while let Some(t) = a.announcer.poll_transmit(now) {
                match a.socket.send(&t.frame) {
                    Ok(()) => debug!(iface = %iface, vip = %t.vip, kind = ?t.kind, "announced"),
                    Err(e) => {
                        warn!(iface = %iface, vip = %t.vip, error = %e, "cannot send announcement")
                    }
                }
            }
        }
    }

    /// When the next frame is due.
    pub(crate) fn poll_timeout(&self) -> Option<Instant> {
        self.announcers
            .values()
            .filter_map(|a| a.announcer.poll_timeout())
            .min()
    }

    /// The permanent addresses `iface` has besides `vips`: the host's own
    /// configuration, never ghosts.
    pub(crate) fn static_addresses(&mut self, iface: &str, vips: &[IpAddr]) -> Vec<(IpAddr, u8)> {
        match self.rtnl.addresses(Some(iface)) {
            Ok(addrs) => addrs
                .into_iter()
                .filter(|a| a.state.permanent && !vips.contains(&a.addr))
                .map(|a| (a.addr, a.prefix_len))
                .collect(),
            Err(e) => {
                warn!(iface, error = %e, "cannot read addresses");
                Vec::new()
            }
        }
    }

    /// Reports addresses on the VRRP interfaces that should not be there
    /// (the seed's `172.20.0.97/24 dynamic`), each once, with its fix.
    pub(crate) fn audit(&mut self, specs: &[GhostAuditSpec]) {
        let mut found = Vec::new();
        for spec in specs {
            match audit_ghosts(&mut self.rtnl, spec) {
                Ok(f) => found.extend(f.iter().map(|g| g.to_string())),
                Err(e) => debug!(error = %e, "ghost audit"),
            }
        }
        for g in &found {
            if !self.ghosts.contains(g) {
                warn!(finding = %g, "ghost address on a VRRP interface");
            }
        }
        for g in &self.ghosts {
            if !found.contains(g) {
                info!(finding = %g, "ghost address gone");
            }
        }
        self.ghosts = found;
    }

    pub(crate) fn ghosts(&self) -> &[String] {
        &self.ghosts
    }
}
