//! What the core asks its driver to do, and the ids it names things by.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use lvs_healthcheck::FailReason;
use lvs_ipvs::{Op, ServiceKey};
use lvs_vrrp::{Reason, State, Transmit};

use crate::config::{InitFile, Probe, ProcessMatch, Script, Vip};
use crate::routes::{Route, Routing};

/// A running VRRP instance. A restarted instance (changed on reload) gets
/// a new id, so a packet read for the old one is never fed to the new one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct InstanceId(pub u32);

impl fmt::Display for InstanceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "instance#{}", self.0)
    }
}

/// One probe of one real server, named by the core.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProbeKey(pub u64);

impl fmt::Display for ProbeKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "probe#{}", self.0)
    }
}

/// Output of the core, drained with [`Director::poll_command`](crate::Director::poll_command)
/// and carried out in order.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Command {
    /// Open the VRRP sockets of a new instance (before its first advert).
    OpenInstance {
        /// The instance.
        instance: InstanceId,
        /// Its name.
        name: String,
        /// Its interface.
        interface: String,
        /// The router it runs (group, unicast peers, family); boxed, as
        /// it is much larger than the other commands.
        router: Box<lvs_vrrp::Config>,
        /// The macvlan to make on `interface` first (keepalived's
        /// `use_vmac`): the sockets then go on it unless it says
        /// `xmit_base`, and it is removed at [`Command::CloseInstance`].
        vmac: Option<Box<crate::config::Vmac>>,
    },
    /// Close the sockets of an instance that stopped.
    CloseInstance {
        /// The instance.
        instance: InstanceId,
    },
    /// Send an advertisement on the instance's socket.
    SendAdvert {
        /// The instance.
        instance: InstanceId,
        /// The advert.
        transmit: Transmit,
    },
    /// Configure a VIP (its `interface` is always set).
    AddVip {
        /// The instance.
        instance: InstanceId,
        /// The address and where it lives.
        vip: Vip,
    },
    /// Remove a VIP (its `interface` is always set).
    RemoveVip {
        /// The instance.
        instance: InstanceId,
        /// The address and where it lives.
        vip: Vip,
    },
    /// Install addresses, then routes, then rules: an instance's
    /// `virtual_routes` / `virtual_rules` on becoming Master (after its
    /// VIPs), or the static ones (`instance` `None`) at start. Something
    /// already present counts as done.
    AddRouting {
        /// The instance, or `None` for the static ones.
        instance: Option<InstanceId>,
        /// What to install.
        routing: Routing,
    },
    /// Remove rules, then routes, then addresses: an instance's on leaving
    /// Master (before its VIPs), the static ones at stop, or what a reload
    /// dropped. Something already absent counts as done.
    RemoveRouting {
        /// The instance, or `None` for the static ones.
        instance: Option<InstanceId>,
        /// What to remove.
        routing: Routing,
    },
    /// Send one burst of gratuitous ARPs / unsolicited NAs for an address.
    Announce {
        /// The interface.
        interface: String,
        /// The address.
        addr: IpAddr,
        /// Packets in the burst.
        count: u32,
        /// Gap between them.
        interval: Duration,
        /// Source MAC when the virtual MAC is in use.
        mac: Option<[u8; 6]>,
    },
    /// Stop announcing an address (cancel a burst in progress).
    Withdraw {
        /// The interface.
        interface: String,
        /// The address.
        addr: IpAddr,
    },
    /// Run a program (notify scripts), without a shell and without waiting.
    RunScript {
        /// The program.
        script: Script,
        /// Arguments appended to its own.
        args: Vec<String>,
    },
    /// Start checking a real server with this probe.
    AddProbe {
        /// The core's name for it; results come back with it.
        probe: ProbeKey,
        /// The virtual server.
        service: ServiceKey,
        /// The real server.
        real_server: SocketAddr,
        /// What to run and when (shared with the core: a start-up with tens
        /// of thousands of probes frees nothing when its commands are dropped).
        spec: Arc<Probe>,
    },
    /// Start running a tracked script (keepalived's `vrrp_script`) as a
    /// probe; its results come back with `probe` through
    /// [`Director::handle_check`](crate::Director::handle_check) and are
    /// stopped with [`Command::RemoveProbe`].
    AddTrackScript {
        /// The core's name for it.
        probe: ProbeKey,
        /// The script's name.
        name: String,
        /// What to run and when (an exec check with the script's rise/fall).
        spec: Arc<Probe>,
    },
    /// Start watching a tracked file (keepalived's `track_file`): write
    /// `init` first if asked, then report its value now and whenever it
    /// changes with [`Director::handle_track_file`](crate::Director::handle_track_file)
    /// (read with [`parse_track_file`](crate::parse_track_file); a missing
    /// or unreadable file is 0).
    WatchFile {
        /// The file's name in the configuration.
        name: String,
        /// The file.
        path: PathBuf,
        /// What to write before the first read.
        init: Option<InitFile>,
    },
    /// Stop watching a tracked file.
    UnwatchFile {
        /// The file's name.
        name: String,
    },
    /// Start counting processes (keepalived's `vrrp_track_process`):
    /// report the number matching `process` now and whenever it changes
    /// with [`Director::handle_process_count`](crate::Director::handle_process_count).
    WatchProcess {
        /// The tracked process's name in the configuration.
        name: String,
        /// Which processes count.
        process: ProcessMatch,
    },
    /// Stop counting processes.
    UnwatchProcess {
        /// The tracked process's name.
        name: String,
    },
    /// Stop a probe (or a tracked script).
    RemoveProbe {
        /// The probe.
        probe: ProbeKey,
    },
    /// Change IPVS: a minimal delta, in order. Report the outcome with
    /// [`Director::handle_ipvs_result`](crate::Director::handle_ipvs_result).
    Ipvs(Vec<Op>),
    /// Make the kernel's whole table equal to this one (the safety net:
    /// at start, periodically, and after a failed write). Report the
    /// outcome with [`Director::handle_ipvs_result`](crate::Director::handle_ipvs_result).
    IpvsReconcile(Vec<lvs_ipvs::VirtualServer>),
    /// An instance changed state (for logs and embedders; nothing to do).
    Transition {
        /// The instance.
        instance: InstanceId,
        /// Its name.
        name: String,
        /// Previous state.
        from: State,
        /// New state.
        to: State,
        /// Why.
        reason: Reason,
        /// Its priority now.
        priority: u8,
    },
    /// A sync group changed state (for logs, embedders and notify FIFOs'
    /// `GROUP` lines; its notify scripts are their own commands).
    GroupTransition {
        /// The group's name.
        group: String,
        /// Its new state: every member's, or Fault when one is.
        to: State,
    },
    /// A real server went up or down (for logs and embedders; the IPVS
    /// change is its own command).
    RealServerChanged {
        /// The virtual server.
        service: ServiceKey,
        /// The real server.
        real_server: SocketAddr,
        /// Whether it is up now.
        up: bool,
        /// Why it went down.
        reason: Option<FailReason>,
    },
    /// A virtual server gained or lost its quorum: the live weight of its
    /// real servers reached [`quorum`](crate::VirtualServer::quorum) (and is
    /// not zero), or fell below it. At start only a service short of its
    /// quorum is reported, as keepalived does. For logs and embedders; the
    /// sorry server's IPVS change is its own command.
    QuorumChanged {
        /// The virtual server.
        service: ServiceKey,
        /// Whether it has its quorum now.
        up: bool,
    },
    /// Delete every route of `protocol` in `table`, both families (at
    /// start: what a crashed run announced must not outlive it).
    FlushRoutes {
        /// The routing table.
        table: u32,
        /// The protocol number.
        protocol: u8,
    },
    /// Add the route that announces a VIP (it became healthy).
    AddAnnouncement {
        /// The VIP.
        vip: IpAddr,
        /// Its host route in the announcement table.
        route: Route,
    },
    /// Delete the route that announces a VIP (unhealthy, draining, stopping).
    RemoveAnnouncement {
        /// The VIP.
        vip: IpAddr,
        /// Its host route in the announcement table.
        route: Route,
    },
    /// While draining: measure this director's traffic to these VIPs and
    /// report it with [`Director::handle_traffic`](crate::Director::handle_traffic).
    SampleTraffic {
        /// The announced VIPs.
        vips: Vec<IpAddr>,
    },
    /// The drain is over (its traffic ended, or its timeout passed): the
    /// program may stop now.
    Drained {
        /// Whether it ended by timeout rather than by the traffic ending.
        timed_out: bool,
    },
}

/// The word keepalived uses for a state in notify script arguments and
/// FIFO lines: `MASTER`, `BACKUP`, `FAULT`, and `STOP` for Initialize (the
/// core returns to it only when an instance or group stops).
pub fn state_word(state: State) -> &'static str {
    match state {
        State::Master => "MASTER",
        State::Backup => "BACKUP",
        State::Fault => "FAULT",
        State::Initialize => "STOP",
    }
}
