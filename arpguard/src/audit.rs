//! Audits: ghost addresses on the IPVS interface (seed §7, §12) and a
//! one-call check of a backend.

use std::net::IpAddr;
use std::time::Duration;

use crate::addr::{BackendVip, InterfaceAddress};
use crate::error::{Error, Result};
use crate::nft;
use crate::probe::{Leak, ProbeOptions, ProbeReport, probe};
use crate::rtnl::Rtnl;
use crate::sysctl::ArpSysctls;
use crate::wire::MacAddr;
use std::os::fd::BorrowedFd;

/// What the IPVS interface should hold.
///
/// Build it with [`GhostAuditSpec::new`] and set the public fields.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct GhostAuditSpec {
    /// The IPVS-facing interface, e.g. `ens18`.
    pub iface: String,
    /// Addresses that belong there (`addr`, `prefix_len`): the static
    /// address and the VIPs as configured.
    pub expected: Vec<(IpAddr, u8)>,
    /// VIPs: any second copy anywhere in the namespace is reported.
    pub vips: Vec<IpAddr>,
}

impl GhostAuditSpec {
    /// An audit of `iface` with the `expected` addresses (`addr`,
    /// `prefix_len`) and the `vips` that must not appear twice.
    pub fn new(iface: &str, expected: Vec<(IpAddr, u8)>, vips: Vec<IpAddr>) -> GhostAuditSpec {
        GhostAuditSpec {
            iface: iface.to_string(),
            expected,
            vips,
        }
    }
}

/// Why an address is reported.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum GhostKind {
    /// A finite lifetime: put there by DHCP (or SLAAC), not by the operator.
    Dynamic {
        /// Time left before it expires, if known.
        valid_lifetime: Option<Duration>,
    },
    /// Permanent but not in the expected list: a residue of an earlier setup.
    Unexpected,
    /// A second copy of a VIP (other prefix length or other interface).
    DuplicateVip {
        /// The VIP.
        vip: IpAddr,
    },
}

/// One finding, with the command that fixes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GhostFinding {
    /// The address.
    pub address: InterfaceAddress,
    /// Why it is reported.
    pub kind: GhostKind,
    /// The fix, as an `ip` command.
    pub fix: String,
    /// What else to do so it does not come back.
    pub advice: &'static str,
}

impl std::fmt::Display for GhostFinding {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let a = &self.address;
        let what = match &self.kind {
            GhostKind::Dynamic { .. } => "dynamic (DHCP) address",
            GhostKind::Unexpected => "unexpected address",
            GhostKind::DuplicateVip { .. } => "duplicate VIP",
        };
        write!(
            f,
            "{what} {}/{} on {}: fix with `{}`; {}",
            a.addr, a.prefix_len, a.iface, self.fix, self.advice
        )
    }
}

fn is_link_local(addr: &IpAddr) -> bool {
    match addr {
        IpAddr::V4(v4) => v4.is_link_local(),
        IpAddr::V6(v6) => v6.is_unicast_link_local(),
    }
}

/// Finds dynamic and unexpected addresses on the IPVS interface and extra
/// copies of each VIP anywhere in the namespace. IPv6 link-local addresses
/// are ignored (every interface has one).
pub fn audit_ghosts(rtnl: &mut Rtnl, spec: &GhostAuditSpec) -> Result<Vec<GhostFinding>> {
    let all = rtnl.addresses(None)?;
    if !all.iter().any(|a| a.iface == spec.iface) {
        rtnl.link(&spec.iface)?;
    }
    let mut findings = Vec::new();
    let expected = |a: &InterfaceAddress| {
        a.iface == spec.iface && spec.expected.contains(&(a.addr, a.prefix_len))
    };
    for vip in &spec.vips {
        let copies: Vec<&InterfaceAddress> = all.iter().filter(|a| a.addr == *vip).collect();
        if copies.len() < 2 {
            continue;
        }
        // Keep the expected copy (or the first one); the rest are extra.
        let keep = copies.iter().position(|a| expected(a)).unwrap_or(0);
        for (i, a) in copies.iter().enumerate() {
            if i != keep {
                findings.push(GhostFinding {
                    address: (*a).clone(),
                    kind: GhostKind::DuplicateVip { vip: *vip },
                    fix: a.del_command(),
                    advice: "a VIP must exist once: a second copy stays behind when the VIP moves away at failover, and this host keeps claiming it",
                });
            }
        }
    }
    for a in all.iter().filter(|a| a.iface == spec.iface) {
        if is_link_local(&a.addr) || findings.iter().any(|f| f.address == *a) {
            continue;
        }
        if a.state.dynamic {
            findings.push(GhostFinding {
                address: a.clone(),
                kind: GhostKind::Dynamic {
                    valid_lifetime: a.valid_lifetime,
                },
                fix: a.del_command(),
                advice: "stop the DHCP client on this interface (or make the interface static) or it will add the address again",
            });
        } else if !expected(a) {
            findings.push(GhostFinding {
                address: a.clone(),
                kind: GhostKind::Unexpected,
                fix: a.del_command(),
                advice: "remove it, or add it to the expected list if it is meant to be there",
            });
        }
    }
    Ok(findings)
}

/// Which suppression mode the backend is supposed to use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SuppressionMode {
    /// `arp_ignore=1` / `arp_announce=2` (default).
    #[default]
    Sysctl,
    /// The nftables `arp lvs_arpguard` table.
    Nftables,
}

/// A backend to check.
///
/// New fields may be added: build it with [`BackendCheck::new`] and set the
/// public fields you need (`probe_from` to add the leak probe).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct BackendCheck<'ns> {
    /// The backend's namespace (`None`: the caller's).
    pub namespace: Option<BorrowedFd<'ns>>,
    /// Its segment-facing interface.
    pub iface: String,
    /// Where its VIP should be.
    pub vip: BackendVip,
    /// The suppression it should have.
    pub mode: SuppressionMode,
    /// A peer on the same segment to probe from (the backend cannot see
    /// its own replies); `None` skips the leak probe.
    pub probe_from: Option<(Option<BorrowedFd<'ns>>, String)>,
    /// Probe window.
    pub probe_window: Duration,
}

impl<'ns> BackendCheck<'ns> {
    /// A check of the backend in `namespace` whose segment-facing interface
    /// is `iface`: VIP placement and ARP suppression only (no leak probe;
    /// a 500 ms window once `probe_from` is set).
    pub fn new(
        namespace: Option<BorrowedFd<'ns>>,
        iface: &str,
        vip: BackendVip,
        mode: SuppressionMode,
    ) -> BackendCheck<'ns> {
        BackendCheck {
            namespace,
            iface: iface.to_string(),
            vip,
            mode,
            probe_from: None,
            probe_window: Duration::from_millis(500),
        }
    }
}

/// Outcome of [`verify_backend`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BackendReport {
    /// The VIP is on its interface.
    pub vip_present: bool,
    /// The backend's MAC on the segment.
    pub mac: Option<MacAddr>,
    /// Sysctls of the segment interface (read in both modes).
    pub sysctls: ArpSysctls,
    /// The nft table drops requests for the VIP.
    pub nft_drops_vip: bool,
    /// The nft table rewrites the VIP as ARP sender on output.
    pub nft_rewrites_vip: bool,
    /// The selected mode is in force.
    pub suppression_effective: bool,
    /// The leak probe, when one was run.
    pub probe: Option<ProbeReport>,
    /// The backend answered the probe (a leak), or nothing if no probe ran.
    pub leaks: Vec<Leak>,
}

impl BackendReport {
    /// Everything holds.
    pub fn is_ok(&self) -> bool {
        self.problems().is_empty()
    }

    /// Human-readable list of what is wrong.
    pub fn problems(&self) -> Vec<String> {
        let mut p = Vec::new();
        if !self.vip_present {
            p.push("VIP is not configured on the backend".to_string());
        }
        if !self.suppression_effective {
            let e = self.sysctls.effective();
            p.push(format!(
                "ARP suppression is not in force (effective arp_ignore={} arp_announce={} on {}, nft drop rule {}, nft rewrite rule {})",
                e.arp_ignore,
                e.arp_announce,
                self.sysctls.iface,
                if self.nft_drops_vip { "present" } else { "absent" },
                if self.nft_rewrites_vip { "present" } else { "absent" }
            ));
        }
        for l in &self.leaks {
            p.push(l.to_string());
        }
        p
    }
}

/// Checks a backend in one call: VIP present, suppression in force,
/// and (with a peer to probe from) that the backend does not answer ARP
/// for the VIP.
pub fn verify_backend(check: &BackendCheck<'_>) -> Result<BackendReport> {
    let ns = check.namespace;
    let mut rtnl = Rtnl::open(ns)?;
    let vip_present = check.vip.is_present(&mut rtnl)?;
    let mac = rtnl.link(&check.iface)?.mac;
    let sysctls = ArpSysctls::read(ns, &check.iface)?;
    let (nft_drops_vip, nft_rewrites_vip) = match check.vip.addr {
        IpAddr::V4(v4) => (
            nft::drops_requests_for(ns, v4)?,
            nft::rewrites_source_for(ns, v4)?,
        ),
        IpAddr::V6(_) => (false, false),
    };
    let suppression_effective = match (check.vip.addr, check.mode) {
        // Linux never answers NS for an address held on another interface.
        (IpAddr::V6(_), _) => true,
        (_, SuppressionMode::Sysctl) => sysctls.suppresses(),
        (_, SuppressionMode::Nftables) => nft_drops_vip && nft_rewrites_vip,
    };
    let (probe_report, leaks) = match (&check.probe_from, check.vip.addr) {
        (Some((peer, iface)), IpAddr::V4(v4)) => {
            let opts = ProbeOptions {
                window: check.probe_window,
                ..ProbeOptions::default()
            };
            let report = probe(*peer, iface, v4, &opts)?;
            let own_ip = rtnl
                .addresses(Some(&check.iface))?
                .into_iter()
                .find_map(|a| match a.addr {
                    IpAddr::V4(v4) => Some(v4),
                    _ => None,
                });
            let leaks = report
                .answers
                .iter()
                .filter(|a| Some(a.mac) == mac)
                .map(|a| Leak {
                    mac: a.mac,
                    host: own_ip,
                    reason: crate::probe::LeakReason::NotTheOwner,
                })
                .collect();
            (Some(report), leaks)
        }
        (Some(_), IpAddr::V6(_)) => {
            return Err(Error::Unsupported(
                "the leak probe is ARP only; IPv6 VIPs on lo are never advertised by Linux",
            ));
        }
        (None, _) => (None, Vec::new()),
    };
    Ok(BackendReport {
        vip_present,
        mac,
        sysctls,
        nft_drops_vip,
        nft_rewrites_vip,
        suppression_effective,
        probe: probe_report,
        leaks,
    })
}
