//! keepalived's `use_vmac`: the macvlan an instance's VIPs (and, unless
//! `vmac_xmit_base`, its adverts) use, so the VIPs keep one MAC — the
//! RFC 5798 virtual MAC — whichever director holds them.
//!
//! What is done is what keepalived 2.2.7 does: a macvlan in private mode
//! on the instance's interface (private, so an advert arriving from the
//! peer's macvlan, whose source MAC is our macvlan's own, is handed to our
//! macvlan alone), IPv6 address generation off before it goes up (no
//! link-local address from a MAC two routers share), IPv6 off on an IPv4
//! instance's macvlan, and these IPv4 settings:
//!
//! - on the macvlan `arp_ignore=1` (answer only for its own addresses, the
//!   VIPs), `accept_local=1`, `rp_filter=0` (adverts arrive on an interface
//!   with no address), `promote_secondaries=1`;
//! - on the base interface `arp_ignore=1` and `arp_filter=1`, so it never
//!   answers for the VIPs with its own MAC, and — beyond keepalived's code,
//!   which leaves it to the administrator (its VMAC notes tell them to
//!   tune `arp_announce`) — `arp_announce=2`: replies from a VIP leave by
//!   the base interface's route, and without it the base's own ARP request
//!   for the client ("who has 172.20.0.90? tell 172.20.0.83") rewrites the
//!   client's entry for the VIP to the base MAC. Put back when the base's
//!   last macvlan goes;
//! - `rp_filter` counts as `max(all, interface)`, so with
//!   `conf/all/rp_filter` above 0 every interface (and `default`) is first
//!   raised to that value and `all` set to 0, which changes no interface's
//!   behaviour; put back when the last macvlan goes.
//!
//! Multicast membership reports (IGMP, MLD) leaving a macvlan go out of its
//! base interface instead, through nft tables `ip lvs_vmac` / `ip6
//! lvs_vmac` (keepalived's default, with its own table): the Backup's
//! macvlan has the virtual MAC too, and a report from it would teach the
//! switch to send the VIPs' traffic to the Backup.
//!
//! The macvlan is up from the start, in every state: only the VIPs move.
//! An IPv6 instance sending from the macvlan gets the base interface's
//! link-local address on it as the advert source. The macvlan is removed
//! when the instance stops (one already there with the right parent was
//! taken over, as keepalived does, and is removed too).

use std::collections::HashMap;
use std::net::IpAddr;

use lvs_arpguard::nft::VmacReports;
use lvs_arpguard::sysctl::{SysctlRecord, conf_path, read_value, set_values};
use lvs_arpguard::{Change, MacAddr, MacvlanMode, Rtnl};
use tracing::{info, warn};

use crate::config::Vmac;

/// A macvlan this driver runs, removed by [`Vmacs::close`].
#[derive(Debug)]
pub(crate) struct Made {
    name: String,
    base: String,
    ipv4: bool,
}

impl Made {
    /// The macvlan's name.
    pub(crate) fn name(&self) -> &str {
        &self.name
    }
}

/// The settings shared by every macvlan, restored when the last one goes.
#[derive(Default)]
pub(crate) struct Vmacs {
    /// Base interface → what was changed on it, and how many macvlans
    /// rely on it.
    bases: HashMap<String, (SysctlRecord, usize)>,
    /// The `rp_filter` values changed to set `conf/all/rp_filter` to 0,
    /// and how many macvlans rely on it.
    rp_filter: Option<(SysctlRecord, usize)>,
    /// Every macvlan made, with its base: the IGMP / MLD reports moved off them.
    reports: Vec<(String, String)>,
}

fn err(name: &str, what: &str, e: impl std::fmt::Display) -> String {
    format!("use_vmac {name}: {what}: {e}")
}

impl Vmacs {
    /// Makes (or takes over) the macvlan of an instance on `base` running
    /// `router`, sets it up and returns it; `ipv6_vips` says whether the
    /// instance has IPv6 addresses (an IPv4 instance's macvlan keeps IPv6 then).
    pub(crate) fn open(
        &mut self,
        rtnl: &mut Rtnl,
        base: &str,
        vmac: &Vmac,
        router: &lvs_vrrp::Config,
        ipv6_vips: bool,
    ) -> Result<Made, String> {
        let name = vmac.name.as_str();
        let mac = MacAddr(lvs_vrrp::virtual_mac(router.family(), router.vrid));
        let base_link = rtnl
            .link(base)
            .map_err(|e| err(name, "the base interface", e))?;
        let links = rtnl.links().map_err(|e| err(name, "links", e))?;
        match links.iter().find(|l| l.name == name) {
            None => {
                rtnl.add_macvlan(name, base, mac)
                    .map_err(|e| err(name, "cannot create the macvlan", e))?;
                info!(vmac = name, base, %mac, "macvlan created");
            }
            Some(l) if l.kind.as_deref() != Some("macvlan") => {
                return Err(format!(
                    "use_vmac {name}: an interface {name} exists and is not a macvlan"
                ));
            }
            Some(l) if l.lower != Some(base_link.index) => {
                // keepalived's answer to a macvlan on another parent: remake it.
                info!(
                    vmac = name,
                    base, "macvlan on another interface: recreating it"
                );
                rtnl.delete_link(name)
                    .map_err(|e| err(name, "cannot remove the old macvlan", e))?;
                rtnl.add_macvlan(name, base, mac)
                    .map_err(|e| err(name, "cannot create the macvlan", e))?;
            }
            Some(l) => {
                if l.mac != Some(mac) || l.macvlan_mode != Some(MacvlanMode::Private) {
                    rtnl.set_macvlan(name, mac)
                        .map_err(|e| err(name, "cannot set the macvlan's MAC and mode", e))?;
                }
                info!(vmac = name, base, %mac, "existing macvlan taken over");
            }
        }
        let made = Made {
            name: name.to_string(),
            base: base.to_string(),
            ipv4: router.primary_address.is_ipv4(),
        };
        if let Err(e) = self.configure(rtnl, &made, vmac, router, ipv6_vips) {
            self.close(rtnl, made);
            return Err(e);
        }
        Ok(made)
    }

    fn configure(
        &mut self,
        rtnl: &mut Rtnl,
        made: &Made,
        vmac: &Vmac,
        router: &lvs_vrrp::Config,
        ipv6_vips: bool,
    ) -> Result<(), String> {
        let name = made.name.as_str();
        // Before the link goes up, or the kernel gives it an address from
        // the MAC the peer's macvlan has too.
        rtnl.set_addr_gen_mode_none(name)
            .map_err(|e| err(name, "cannot turn IPv6 address generation off", e))?;
        let keep_ipv6 = !made.ipv4 || ipv6_vips;
        let mut own = vec![(conf_path(true, name, "disable_ipv6"), u32::from(!keep_ipv6))];
        if made.ipv4 {
            self.clear_rp_filter(rtnl)?;
            own.extend([
                (conf_path(false, name, "arp_ignore"), 1),
                (conf_path(false, name, "accept_local"), 1),
                (conf_path(false, name, "rp_filter"), 0),
                (conf_path(false, name, "promote_secondaries"), 1),
            ]);
            self.hold_base(&made.base)?;
        }
        // The macvlan goes with the instance: nothing to put back here.
        set_values(None, &own).map_err(|e| err(name, "sysctl", e))?;
        // Before it is up and joins the VRRP group.
        self.reports.push((made.name.clone(), made.base.clone()));
        self.sync_reports();
        rtnl.set_up(name)
            .map_err(|e| err(name, "cannot set it up", e))?;
        if let IpAddr::V6(src) = router.primary_address
            && !vmac.xmit_base
        {
            // Adverts leave from the macvlan, from an address that is no VIP:
            // the base's link-local address (already through DAD there).
            rtnl.add_address(name, IpAddr::V6(src), 64, None, true)
                .map_err(|e| err(name, "cannot add the advert source address", e))?;
        }
        Ok(())
    }

    /// Moves the macvlans' multicast reports to their base interfaces
    /// (keepalived's nftables rules). Without nft a Backup's reports carry
    /// the virtual MAC: logged, not fatal, as keepalived goes on without
    /// its firewall.
    fn sync_reports(&self) {
        if let Err(e) = VmacReports::new(self.reports.clone()).install(None) {
            warn!(error = %e, "cannot move IGMP/MLD reports off the macvlans (nft table ip/ip6 lvs_vmac)");
        }
    }

    /// `arp_ignore=1`, `arp_filter=1`, `arp_announce=2` on `base`, once
    /// for all its macvlans.
    fn hold_base(&mut self, base: &str) -> Result<(), String> {
        if let Some((_, n)) = self.bases.get_mut(base) {
            *n += 1;
            return Ok(());
        }
        let record = set_values(
            None,
            &[
                (conf_path(false, base, "arp_ignore"), 1),
                (conf_path(false, base, "arp_filter"), 1),
                (conf_path(false, base, "arp_announce"), 2),
            ],
        )
        .map_err(|e| err(base, "sysctl on the base interface", e))?;
        for c in &record.changes {
            info!(path = %c.path, from = c.previous, to = c.written, "sysctl set for use_vmac");
        }
        self.bases.insert(base.to_string(), (record, 1));
        Ok(())
    }

    /// `conf/all/rp_filter` to 0 without changing any interface's
    /// effective value, once for all macvlans.
    fn clear_rp_filter(&mut self, rtnl: &mut Rtnl) -> Result<(), String> {
        if let Some((_, n)) = &mut self.rp_filter {
            *n += 1;
            return Ok(());
        }
        let all = read_value(None, &conf_path(false, "all", "rp_filter"))
            .map_err(|e| err("all", "rp_filter", e))?;
        let mut writes = Vec::new();
        if all > 0 {
            let links = rtnl.links().map_err(|e| err("all", "links", e))?;
            for scope in std::iter::once("default").chain(links.iter().map(|l| l.name.as_str())) {
                let p = conf_path(false, scope, "rp_filter");
                // An interface without IPv4 settings has nothing to raise.
                if read_value(None, &p).is_ok_and(|v| v < all) {
                    writes.push((p, all));
                }
            }
            writes.push((conf_path(false, "all", "rp_filter"), 0));
        }
        let record = set_values(None, &writes).map_err(|e| err("all", "rp_filter", e))?;
        if all > 0 {
            info!(
                from = all,
                "net.ipv4.conf.all.rp_filter set to 0 for use_vmac (each interface keeps its value)"
            );
        }
        self.rp_filter = Some((record, 1));
        Ok(())
    }

    /// Removes the macvlan (its VIPs go with it) and puts back what only
    /// it needed.
    pub(crate) fn close(&mut self, rtnl: &mut Rtnl, made: Made) {
        match rtnl.delete_link(&made.name) {
            Ok(Change::Applied) => info!(vmac = %made.name, "macvlan removed"),
            Ok(Change::Unchanged) => {}
            Err(e) => warn!(vmac = %made.name, error = %e, "cannot remove the macvlan"),
        }
        if let Some(i) = self.reports.iter().position(|(n, _)| *n == made.name) {
            self.reports.remove(i);
            self.sync_reports();
        }
        if !made.ipv4 {
            return;
        }
        if let Some((record, n)) = self.bases.get_mut(&made.base) {
            *n -= 1;
            if *n == 0 {
                if let Err(e) = record.undo(None) {
                    warn!(base = %made.base, error = %e, "cannot restore arp_ignore / arp_filter / arp_announce");
                }
                self.bases.remove(&made.base);
            }
        }
        if let Some((record, n)) = &mut self.rp_filter {
            *n -= 1;
            if *n == 0 {
                if let Err(e) = record.undo(None) {
                    warn!(error = %e, "cannot restore rp_filter");
                }
                self.rp_filter = None;
            }
        }
    }
}
