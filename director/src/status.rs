//! A snapshot of the director's state, from the core's own records: what a
//! status command or a metrics scrape shows, without reading the kernel.

use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};

use lvs_healthcheck::FailReason;
use lvs_ipvs::{Destination, ServiceKey};
use lvs_vrrp::{Reason, State};

/// The whole director.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Status {
    /// The configured name.
    pub name: Option<String>,
    /// Each VRRP instance.
    pub instances: Vec<InstanceStatus>,
    /// Each virtual server.
    pub services: Vec<ServiceStatus>,
    /// An IPVS write failed and a full reconcile is being retried.
    pub ipvs_retrying: bool,
}

/// One VRRP instance.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct InstanceStatus {
    /// Its name.
    pub name: String,
    /// Its interface.
    pub interface: String,
    /// Its VRID.
    pub vrid: u8,
    /// Its state.
    pub state: State,
    /// Configured priority.
    pub priority: u8,
    /// Priority after tracked signals.
    pub effective_priority: u8,
    /// The Master it last heard (or itself).
    pub master: Option<IpAddr>,
    /// Its VIPs with their prefix lengths.
    pub vips: Vec<(IpAddr, u8)>,
    /// Why it is in its state.
    pub last_reason: Option<Reason>,
}

/// One virtual server.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ServiceStatus {
    /// Its key.
    pub key: ServiceKey,
    /// Its real servers.
    pub real_servers: Vec<RealServerStatus>,
    /// The destinations the kernel was last asked to hold.
    pub destinations: Vec<Destination>,
}

/// One real server.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RealServerStatus {
    /// Its address.
    pub addr: SocketAddr,
    /// Every probe passes.
    pub up: bool,
    /// Its weight in the kernel table (`None`: not in the table).
    pub weight: Option<u32>,
    /// Each probe.
    pub probes: Vec<ProbeStatus>,
}

/// One probe.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ProbeStatus {
    /// What it checks.
    pub description: String,
    /// Its verdict.
    pub up: bool,
    /// The last failure it saw.
    pub last_failure: Option<FailReason>,
}

fn state_word(s: State) -> &'static str {
    match s {
        State::Master => "MASTER",
        State::Backup => "BACKUP",
        State::Fault => "FAULT",
        State::Initialize => "INIT",
    }
}

impl Status {
    /// The human view, as `director status` prints it.
    pub fn render(&self) -> String {
        let mut out = String::new();
        let _ = writeln!(
            out,
            "director {}",
            self.name.as_deref().unwrap_or("director")
        );
        for i in &self.instances {
            let vips: Vec<String> = i.vips.iter().map(|(a, l)| format!("{a}/{l}")).collect();
            let _ = writeln!(
                out,
                "VRRP {} vrid {} on {}: {} priority {} (effective {}), master {}, VIPs {}{}",
                i.name,
                i.vrid,
                i.interface,
                state_word(i.state),
                i.priority,
                i.effective_priority,
                i.master.map_or("-".to_string(), |m| m.to_string()),
                vips.join(" "),
                i.last_reason
                    .as_ref()
                    .map(|r| format!(" ({r:?})"))
                    .unwrap_or_default(),
            );
        }
        for s in &self.services {
            let _ = writeln!(out, "virtual server {}", s.key);
            for rs in &s.real_servers {
                let _ = writeln!(
                    out,
                    "  -> {} {} weight {}",
                    rs.addr,
                    if rs.up { "UP" } else { "DOWN" },
                    rs.weight.map_or("-".to_string(), |w| w.to_string()),
                );
                for p in &rs.probes {
                    let _ = writeln!(
                        out,
                        "     {} {}{}",
                        p.description,
                        if p.up { "up" } else { "down" },
                        p.last_failure
                            .as_ref()
                            .map(|f| format!(" (last failure: {f:?})"))
                            .unwrap_or_default(),
                    );
                }
            }
        }
        if self.ipvs_retrying {
            let _ = writeln!(out, "IPVS: a write failed; full reconcile retrying");
        }
        out
    }
}
