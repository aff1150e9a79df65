//! Who answers ARP for the VIP on a segment.
//!
//! [`probe`] sends `who-has VIP` from a packet socket and lists every MAC
//! that answers within a window. It can also ask for a list of known host
//! addresses in the same window, to name each answering MAC's owner.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::packet::{ETH_P_ARP, PacketSocket};
use crate::rtnl::Rtnl;
use crate::wire::{ArpOperation, MacAddr, arp_request_frame, parse_arp_frame};
use std::os::fd::BorrowedFd;

/// Probe settings.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProbeOptions {
    /// How long to collect replies.
    pub window: Duration,
    /// ARP sender address; default: the interface's first IPv4 address.
    pub sender_ip: Option<Ipv4Addr>,
    /// Hosts to resolve in the same window, to name answering MACs (MACs
    /// not named this way are looked up in the prober's neighbour cache).
    pub identify: Vec<Ipv4Addr>,
}

impl Default for ProbeOptions {
    fn default() -> ProbeOptions {
        ProbeOptions {
            window: Duration::from_millis(500),
            sender_ip: None,
            identify: Vec::new(),
        }
    }
}

/// One MAC that claimed the VIP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeAnswer {
    /// ARP sender hardware address.
    pub mac: MacAddr,
    /// Ethernet source (differs from `mac` only with proxies or spoofing).
    pub ethernet_src: MacAddr,
    /// The host's own address, when one of [`ProbeOptions::identify`]
    /// resolved to this MAC.
    pub host: Option<Ipv4Addr>,
    /// Replies seen from this MAC.
    pub replies: u32,
}

/// Result of a [`probe`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeReport {
    /// Address probed.
    pub vip: Ipv4Addr,
    /// Interface probed from.
    pub iface: String,
    /// Every MAC that answered, in MAC order.
    pub answers: Vec<ProbeAnswer>,
    /// Hosts from [`ProbeOptions::identify`] that answered, by MAC.
    pub hosts: BTreeMap<MacAddr, Ipv4Addr>,
}

/// Why an answer is a leak.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeakReason {
    /// The expected owner is known and this MAC is not it.
    NotTheOwner,
    /// No owner was named and several MACs answered.
    OneOfSeveral,
}

/// A host answering ARP for a VIP it must not claim.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Leak {
    /// Offending MAC.
    pub mac: MacAddr,
    /// Offending host's own address, when identified.
    pub host: Option<Ipv4Addr>,
    /// Why.
    pub reason: LeakReason,
}

impl std::fmt::Display for Leak {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.host {
            Some(h) => write!(f, "{} ({h}) answers ARP for the VIP", self.mac),
            None => write!(
                f,
                "{} (unidentified host) answers ARP for the VIP",
                self.mac
            ),
        }
    }
}

impl ProbeReport {
    /// The MACs that answered.
    pub fn macs(&self) -> Vec<MacAddr> {
        self.answers.iter().map(|a| a.mac).collect()
    }

    /// Leaks given the MAC that should own the VIP (`None`: unknown, then
    /// more than one answer makes every answer suspect).
    pub fn leaks(&self, owner: Option<MacAddr>) -> Vec<Leak> {
        let reason = match owner {
            Some(_) => LeakReason::NotTheOwner,
            None if self.answers.len() > 1 => LeakReason::OneOfSeveral,
            None => return Vec::new(),
        };
        self.answers
            .iter()
            .filter(|a| Some(a.mac) != owner)
            .map(|a| Leak {
                mac: a.mac,
                host: a.host,
                reason,
            })
            .collect()
    }
}

/// Sends `who-has vip` on `iface` in `ns` and collects every answer.
pub fn probe(
    ns: Option<BorrowedFd<'_>>,
    iface: &str,
    vip: Ipv4Addr,
    opts: &ProbeOptions,
) -> Result<ProbeReport> {
    let mut rtnl = Rtnl::open(ns)?;
    let link = rtnl.link(iface)?;
    let mac = link
        .mac
        .ok_or_else(|| Error::NoEthernetAddress(iface.to_string()))?;
    let sender = match opts.sender_ip {
        Some(ip) => ip,
        None => rtnl
            .addresses(Some(iface))?
            .into_iter()
            .find_map(|a| match a.addr {
                IpAddr::V4(v4) if v4 != vip => Some(v4),
                _ => None,
            })
            .ok_or_else(|| Error::NoIpv4Address(iface.to_string()))?,
    };
    let socket = PacketSocket::open(ns, iface, ETH_P_ARP)?;
    let ask = |target| socket.send(&arp_request_frame(mac, sender, target));
    ask(vip)?;
    for host in &opts.identify {
        ask(*host)?;
    }
    let start = Instant::now();
    let deadline = start + opts.window;
    let mut second_sent = false;
    let mut answers: BTreeMap<MacAddr, ProbeAnswer> = BTreeMap::new();
    let mut hosts = BTreeMap::new();
    let mut buf = [0u8; 2048];
    loop {
        let now = Instant::now();
        if now >= deadline {
            break;
        }
        // Ask twice in the window, in case a first request met a busy host.
        if !second_sent && now >= start + opts.window / 2 {
            ask(vip)?;
            second_sent = true;
        }
        let wait = if second_sent {
            deadline - now
        } else {
            (start + opts.window / 2).saturating_duration_since(now)
        };
        let Some(n) = socket.recv(&mut buf, wait)? else {
            continue;
        };
        // Anything that is not a well-formed ARP reply is someone else's traffic.
        let Ok((eth, arp)) = parse_arp_frame(&buf[..n]) else {
            continue;
        };
        if arp.operation != ArpOperation::Reply {
            continue;
        }
        if arp.source_ip == vip {
            answers
                .entry(arp.source_mac)
                .or_insert(ProbeAnswer {
                    mac: arp.source_mac,
                    ethernet_src: eth.src,
                    host: None,
                    replies: 0,
                })
                .replies += 1;
        } else if opts.identify.contains(&arp.source_ip) {
            hosts.insert(arp.source_mac, arp.source_ip);
        }
    }
    // Name the rest from what the prober's own neighbour cache knows.
    let known = rtnl.neighbours(Some(iface))?;
    let answers = answers
        .into_values()
        .map(|mut a| {
            a.host = hosts.get(&a.mac).copied().or_else(|| {
                known.iter().find_map(|n| match n.addr {
                    IpAddr::V4(v4) if n.mac == Some(a.mac) && v4 != vip => Some(v4),
                    _ => None,
                })
            });
            a
        })
        .collect();
    Ok(ProbeReport {
        vip,
        iface: iface.to_string(),
        answers,
        hosts,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(last: u8, host: Option<Ipv4Addr>) -> ProbeAnswer {
        ProbeAnswer {
            mac: MacAddr([2, 0, 0, 0, 0, last]),
            ethernet_src: MacAddr([2, 0, 0, 0, 0, last]),
            host,
            replies: 1,
        }
    }

    #[test]
    fn leaks_name_every_mac_but_the_owner() {
        let report = ProbeReport {
            vip: Ipv4Addr::new(172, 20, 0, 83),
            iface: "ens18".into(),
            answers: vec![
                answer(0x81, Some(Ipv4Addr::new(172, 20, 0, 81))),
                answer(0x85, Some(Ipv4Addr::new(172, 20, 0, 85))),
            ],
            hosts: BTreeMap::new(),
        };
        let owner = MacAddr([2, 0, 0, 0, 0, 0x81]);
        let leaks = report.leaks(Some(owner));
        assert_eq!(leaks.len(), 1);
        assert_eq!(leaks[0].host, Some(Ipv4Addr::new(172, 20, 0, 85)));
        assert_eq!(leaks[0].reason, LeakReason::NotTheOwner);
        assert_eq!(report.leaks(None).len(), 2);
        let single = ProbeReport {
            answers: vec![answer(0x81, None)],
            ..report
        };
        assert!(single.leaks(None).is_empty());
        assert_eq!(single.leaks(Some(MacAddr([2, 0, 0, 0, 0, 0x82]))).len(), 1);
    }
}
