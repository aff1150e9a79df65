//! A snapshot of the director's state, from the core's own records: what a
//! status command or a metrics scrape shows, without reading the kernel.

use std::net::{IpAddr, SocketAddr};

use lvs_healthcheck::FailReason;
use lvs_ipvs::{Destination, ServiceKey, VirtualServerEntry};
use lvs_vrrp::{DropCounts, Reason, State};

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
    /// Operations the periodic reconcile has sent to put back a kernel
    /// table changed behind the director's back (`ipvsadm -C`, an edited
    /// weight), since start.
    pub ipvs_repaired: u64,
    /// Each tracked script that runs (some instance tracks it).
    pub scripts: Vec<ScriptStatus>,
    /// Each VIP of [`DirectorConfig::route_announce`](crate::DirectorConfig::route_announce).
    pub announcements: Vec<AnnouncementStatus>,
    /// A drain has been started.
    pub draining: bool,
}

/// One VIP announced as a route (or held back).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct AnnouncementStatus {
    /// The VIP.
    pub vip: IpAddr,
    /// Whether its route is announced.
    pub announced: bool,
    /// Why not, when it is not.
    pub held_back: Option<crate::director::NotAnnounced>,
}

/// One tracked script (`vrrp_script`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ScriptStatus {
    /// Its name.
    pub name: String,
    /// Its result: `None` before the first one.
    pub ok: Option<bool>,
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
    /// Adverts its router dropped, by reason (the router's own counters).
    pub drops: DropCounts,
}

/// One virtual server.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct ServiceStatus {
    /// Its key (for a group, its first member's).
    pub key: ServiceKey,
    /// The virtual server group it stands for, if any.
    pub group: Option<String>,
    /// Every IPVS service it holds: `key` alone, or each member of its group.
    pub members: Vec<ServiceKey>,
    /// Its real servers (checked once for every member).
    pub real_servers: Vec<RealServerStatus>,
    /// The destinations the kernel was last asked to hold (in every member).
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

/// [`Status`] with what only the driver knows: ghost addresses found on the
/// VRRP interfaces and the kernel's table (read on the IPVS thread).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Report {
    /// The core's view.
    pub status: Status,
    /// Ghost addresses found on the VRRP interfaces, each with its fix.
    pub ghosts: Vec<String>,
    /// The kernel's table (`None` without IPVS).
    pub ipvs: Option<Result<Vec<VirtualServerEntry>, String>>,
}

impl Report {
    /// A report of `status` with nothing else known.
    pub fn new(status: Status) -> Report {
        Report {
            status,
            ghosts: Vec::new(),
            ipvs: None,
        }
    }
}
