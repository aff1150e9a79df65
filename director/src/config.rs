//! The typed configuration of a director: what a keepalived file says, in
//! the libraries' own types.
//!
//! A [`DirectorConfig`] holds VRRP instances (an [`lvs_vrrp::Config`] plus
//! where each VIP lives and what to run on a transition) and virtual
//! servers (an [`lvs_ipvs::Service`] plus real servers, each an
//! [`lvs_ipvs::Destination`] with its probes). Every struct that will grow
//! is `#[non_exhaustive]`: build it with its constructor and set the public
//! fields you need; `with_*` methods add to a list or set a field in one
//! expression:
//!
//! ```
//! use lvs_director::{DirectorConfig, RealServer, VirtualServer};
//! use lvs_ipvs::{Destination, ForwardMethod, Scheduler, Service, ServiceKey};
//!
//! let key = ServiceKey::tcp("192.0.2.80:80".parse().unwrap());
//! let dst = Destination::new("192.0.2.11:80".parse().unwrap(), ForwardMethod::DirectRoute);
//! let mut web = VirtualServer::new(Service::new(key, Scheduler::RoundRobin))
//!     .with_real_server(RealServer::new(dst));
//! web.quorum = 1;
//! let config = DirectorConfig::new().with_virtual_server(web);
//! assert!(config.validate().is_ok());
//! ```

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use lvs_healthcheck::Policy;
use lvs_healthcheck::checker::dns::DnsCheck;
use lvs_healthcheck::checker::exec::ExecCheck;
use lvs_healthcheck::checker::http::HttpCheck;
use lvs_healthcheck::checker::tcp::TcpCheck;
use lvs_healthcheck::checker::tcp_half_open::TcpHalfOpenCheck;
use lvs_healthcheck::checker::udp::UdpCheck;
use lvs_ipvs::{Destination, Service, ServiceKey, SyncDaemon, Timeouts};

/// A whole director: VRRP instances, virtual servers and IPVS settings.
#[derive(Debug, Clone, PartialEq, Default)]
#[non_exhaustive]
pub struct DirectorConfig {
    /// A name for logs, metrics and the control socket (keepalived's `router_id`).
    pub name: Option<String>,
    /// VRRP instances, each one router on one interface.
    pub instances: Vec<VrrpInstance>,
    /// IPVS services with their real servers and probes.
    pub virtual_servers: Vec<VirtualServer>,
    /// The IPVS connection-sync daemon, driven by one instance's state.
    pub sync_daemon: Option<SyncDaemonConfig>,
    /// What to do to IPVS once at start.
    pub ipvs_setup: IpvsSetup,
    /// How often the whole IPVS table is compared with the kernel's and
    /// repaired (the safety net under the per-event deltas). Default: 60 s.
    pub reconcile_interval: Option<Duration>,
    /// Named pipes that receive a line per VRRP transition, per real server
    /// going up or down and per quorum change (keepalived's `notify_fifo`
    /// family).
    pub notify_fifos: NotifyFifos,
}

impl DirectorConfig {
    /// An empty configuration (add instances and virtual servers).
    pub fn new() -> DirectorConfig {
        DirectorConfig::default()
    }

    /// Adds a VRRP instance.
    pub fn with_instance(mut self, instance: VrrpInstance) -> DirectorConfig {
        self.instances.push(instance);
        self
    }

    /// Adds a virtual server.
    pub fn with_virtual_server(mut self, vs: VirtualServer) -> DirectorConfig {
        self.virtual_servers.push(vs);
        self
    }

    /// The instance named `name`.
    pub fn instance(&self, name: &str) -> Option<&VrrpInstance> {
        self.instances.iter().find(|i| i.name == name)
    }

    /// The virtual server with this key.
    pub fn virtual_server(&self, key: &ServiceKey) -> Option<&VirtualServer> {
        self.virtual_servers.iter().find(|v| v.service.key == *key)
    }

    /// The full-reconcile period ([`reconcile_interval`](Self::reconcile_interval)
    /// or 60 s).
    pub fn reconcile_period(&self) -> Duration {
        self.reconcile_interval
            .unwrap_or(Duration::from_secs(60))
            .max(Duration::from_millis(100))
    }

    /// Checks what the types cannot: unique instance names, unique service
    /// keys, unique real servers per service, VIPs of the router's family,
    /// the sync daemon's instance exists, every router configuration valid.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut names = std::collections::HashSet::new();
        for i in &self.instances {
            if !names.insert(i.name.as_str()) {
                return Err(ConfigError::DuplicateInstance(i.name.clone()));
            }
            if i.interface.is_empty() {
                return Err(ConfigError::NoInterface(i.name.clone()));
            }
            let family_v6 = i.router.primary_address.is_ipv6();
            for v in &i.vips {
                if v.advertised && v.addr.is_ipv6() != family_v6 {
                    return Err(ConfigError::VipFamily {
                        instance: i.name.clone(),
                        vip: v.addr,
                    });
                }
            }
            i.router_config()
                .validate()
                .map_err(|source| ConfigError::Router {
                    instance: i.name.clone(),
                    source,
                })?;
        }
        let mut keys = std::collections::HashSet::with_capacity(self.virtual_servers.len());
        // One buffer for every service's addresses: a set per service made
        // validating 10,000 services cost as much as applying them.
        let mut addrs = Vec::new();
        for vs in &self.virtual_servers {
            if !keys.insert(vs.service.key) {
                return Err(ConfigError::DuplicateService(vs.service.key));
            }
            addrs.clear();
            addrs.extend(vs.real_servers.iter().map(|rs| rs.destination.addr));
            addrs.sort_unstable();
            if let Some(w) = addrs.windows(2).find(|w| w[0] == w[1]) {
                return Err(ConfigError::DuplicateRealServer {
                    service: vs.service.key,
                    addr: w[0],
                });
            }
        }
        if let Some(sd) = &self.sync_daemon
            && self.instance(&sd.instance).is_none()
        {
            return Err(ConfigError::UnknownInstance(sd.instance.clone()));
        }
        Ok(())
    }
}

/// A configuration the director cannot run.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// Two instances share a name.
    #[error("two VRRP instances are named {0:?}")]
    DuplicateInstance(String),
    /// An instance has no interface.
    #[error("VRRP instance {0:?} has no interface")]
    NoInterface(String),
    /// A VIP carried in adverts is not of the router's family.
    #[error("VRRP instance {instance:?}: VIP {vip} is not of the family of its primary address")]
    VipFamily {
        /// The instance.
        instance: String,
        /// The VIP.
        vip: IpAddr,
    },
    /// lvs-vrrp refused the router configuration.
    #[error("VRRP instance {instance:?}: {source}")]
    Router {
        /// The instance.
        instance: String,
        /// Why.
        source: lvs_vrrp::ConfigError,
    },
    /// Two virtual servers share a key.
    #[error("two virtual servers are {0}")]
    DuplicateService(ServiceKey),
    /// A real server appears twice in one virtual server.
    #[error("virtual server {service}: real server {addr} appears twice")]
    DuplicateRealServer {
        /// The service.
        service: ServiceKey,
        /// The real server.
        addr: SocketAddr,
    },
    /// A reference to an instance that does not exist.
    #[error("no VRRP instance named {0:?}")]
    UnknownInstance(String),
}

/// Where adverts are sent from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceAddress {
    /// This address (keepalived's `mcast_src_ip` / `unicast_src_ip`).
    Fixed(IpAddr),
    /// The interface's primary IPv4 address, or for an IPv6 instance its
    /// link-local address, looked up when the instance starts (the tokio
    /// driver does it; a sans-IO user fills
    /// [`lvs_vrrp::Config::primary_address`] itself).
    Interface,
}

/// One VRRP instance: a router and where its addresses live.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct VrrpInstance {
    /// Its name (keepalived's `vrrp_instance NAME`).
    pub name: String,
    /// The interface adverts are sent and received on.
    pub interface: String,
    /// The router. Its `virtual_addresses` and `tracks` are derived from
    /// [`vips`](Self::vips) and [`track_interfaces`](Self::track_interfaces)
    /// by [`router_config`](Self::router_config).
    pub router: lvs_vrrp::Config,
    /// Where the advert source address comes from.
    pub source: SourceAddress,
    /// The addresses the Master holds.
    pub vips: Vec<Vip>,
    /// Other interfaces whose link state changes the priority (or faults).
    pub track_interfaces: Vec<TrackInterface>,
    /// Whether the instance's own interface going down is a fault
    /// (keepalived's default; `dont_track_primary` turns it off).
    pub track_link: bool,
    /// Programs run on transitions.
    pub notify: Notify,
}

impl VrrpInstance {
    /// An instance on `interface` running `router`, with VIPs derived from
    /// the router's `virtual_addresses` (full-length prefixes, on `interface`).
    pub fn new(name: &str, interface: &str, router: lvs_vrrp::Config) -> VrrpInstance {
        let vips = router
            .virtual_addresses
            .iter()
            .map(|a| Vip::new(*a))
            .collect();
        VrrpInstance {
            name: name.to_string(),
            interface: interface.to_string(),
            router,
            source: SourceAddress::Interface,
            vips,
            track_interfaces: Vec::new(),
            track_link: true,
            notify: Notify::default(),
        }
    }

    /// The router configuration actually run: [`router`](Self::router) with
    /// the advertised VIPs and the tracked interfaces filled in.
    pub fn router_config(&self) -> lvs_vrrp::Config {
        let mut cfg = self.router.clone();
        if let SourceAddress::Fixed(ip) = self.source {
            cfg.primary_address = ip;
        }
        cfg.virtual_addresses = self
            .vips
            .iter()
            .filter(|v| v.advertised)
            .map(|v| v.addr)
            .collect();
        cfg.tracks = self
            .track_interfaces
            .iter()
            .map(|t| lvs_vrrp::Track::new(&t.track_name(), t.weight))
            .collect();
        cfg
    }

    /// The interface a VIP lives on.
    pub fn vip_interface<'a>(&'a self, vip: &'a Vip) -> &'a str {
        vip.interface.as_deref().unwrap_or(&self.interface)
    }
}

/// One virtual address and where it is configured.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Vip {
    /// The address.
    pub addr: IpAddr,
    /// Its prefix length. Default: 32 / 128.
    pub prefix_len: u8,
    /// The interface; `None` is the instance's.
    pub interface: Option<String>,
    /// An address label (`eth0:vip`).
    pub label: Option<String>,
    /// Carried in adverts (`virtual_ipaddress`), or held without being
    /// advertised (`virtual_ipaddress_excluded`).
    pub advertised: bool,
}

impl Vip {
    /// `addr` with a full-length prefix, on the instance's interface, advertised.
    pub fn new(addr: IpAddr) -> Vip {
        Vip {
            addr,
            prefix_len: if addr.is_ipv4() { 32 } else { 128 },
            interface: None,
            label: None,
            advertised: true,
        }
    }

    /// Sets the prefix length.
    pub fn with_prefix(mut self, prefix_len: u8) -> Vip {
        self.prefix_len = prefix_len;
        self
    }
}

/// An interface whose state the instance tracks (keepalived's `track_interface`).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TrackInterface {
    /// The interface.
    pub interface: String,
    /// Priority change while it is down; 0 means down is a fault.
    pub weight: i16,
    /// Up counts as down and down as up.
    pub reverse: bool,
}

impl TrackInterface {
    /// A tracked interface whose loss is a fault (weight 0).
    pub fn new(interface: &str) -> TrackInterface {
        TrackInterface {
            interface: interface.to_string(),
            weight: 0,
            reverse: false,
        }
    }

    /// The signal's name in [`lvs_vrrp::Router::set_track`].
    pub fn track_name(&self) -> String {
        format!("interface:{}", self.interface)
    }
}

/// A program and its arguments (run without a shell). Built with
/// [`Script::new`], which refuses an empty argv.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Script {
    /// Program and arguments; never empty.
    pub argv: Vec<String>,
}

impl Script {
    /// A script from its argv; `None` when empty.
    pub fn new<S: Into<String>>(argv: impl IntoIterator<Item = S>) -> Option<Script> {
        let argv: Vec<String> = argv.into_iter().map(Into::into).collect();
        (!argv.is_empty()).then_some(Script { argv })
    }
}

/// What runs on a VRRP transition (keepalived's `notify_*`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct Notify {
    /// On becoming Master.
    pub master: Option<Script>,
    /// On becoming Backup.
    pub backup: Option<Script>,
    /// On entering Fault.
    pub fault: Option<Script>,
    /// On stopping.
    pub stop: Option<Script>,
    /// On every transition, with `INSTANCE name STATE priority` appended.
    pub any: Option<Script>,
}

/// One IPVS service and its real servers.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct VirtualServer {
    /// The service as the kernel holds it.
    pub service: Service,
    /// Its real servers, in configuration order.
    pub real_servers: Vec<RealServer>,
    /// Minimum live weight; below it the sorry server is added. Default: 1.
    pub quorum: u32,
    /// Added while the live weight is below [`quorum`](Self::quorum).
    pub sorry_server: Option<Destination>,
}

impl VirtualServer {
    /// A service with no real servers yet, quorum 1, no sorry server.
    pub fn new(service: Service) -> VirtualServer {
        VirtualServer {
            service,
            real_servers: Vec::new(),
            quorum: 1,
            sorry_server: None,
        }
    }

    /// Adds a real server.
    pub fn with_real_server(mut self, rs: RealServer) -> VirtualServer {
        self.real_servers.push(rs);
        self
    }
}

/// One real server: its destination entry and how it is checked.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct RealServer {
    /// The destination with its configured weight.
    pub destination: Destination,
    /// On failure keep it with weight 0 instead of removing it.
    pub inhibit_on_failure: bool,
    /// Its probes; it is up while every one passes (always, with none).
    pub probes: Vec<Probe>,
    /// Run when it comes up.
    pub notify_up: Option<Script>,
    /// Run when it goes down.
    pub notify_down: Option<Script>,
}

impl RealServer {
    /// A real server with no probes (always up).
    pub fn new(destination: Destination) -> RealServer {
        RealServer {
            destination,
            inhibit_on_failure: false,
            probes: Vec::new(),
            notify_up: None,
            notify_down: None,
        }
    }

    /// Adds a probe.
    pub fn with_probe(mut self, probe: Probe) -> RealServer {
        self.probes.push(probe);
        self
    }
}

/// One health probe of a real server.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Probe {
    /// What is checked.
    pub check: Check,
    /// When, and how results count.
    pub policy: Policy,
    /// For logs and the status view (`TCP_CHECK 172.20.0.85:80`).
    pub description: String,
}

impl Probe {
    /// A probe with a description derived from the check.
    pub fn new(check: Check, policy: Policy) -> Probe {
        let description = check.describe();
        Probe {
            check,
            policy,
            description,
        }
    }
}

/// The checkers a probe can run (lvs-healthcheck's).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Check {
    /// A TCP connect (keepalived's `TCP_CHECK`).
    Tcp(TcpCheck),
    /// A SYN answered by a SYN-ACK, no connection (needs `CAP_NET_RAW`).
    TcpHalfOpen(TcpHalfOpenCheck),
    /// A datagram not answered by an ICMP error (`UDP_CHECK`).
    Udp(UdpCheck),
    /// A DNS query answered (`DNS_CHECK`).
    Dns(DnsCheck),
    /// An HTTP GET with the expected status/digest (`HTTP_GET`).
    Http(HttpCheck),
    /// A program that exits 0 (`MISC_CHECK`).
    Exec(ExecCheck),
}

impl Check {
    /// A short description: the kind and the target.
    pub fn describe(&self) -> String {
        use lvs_healthcheck::Checker;
        match self {
            Check::Tcp(c) => format!("TCP_CHECK {}", c.connect.destination()),
            Check::TcpHalfOpen(c) => format!("TCP_CHECK (half-open) {}", c.identity()),
            Check::Udp(c) => format!("UDP_CHECK {}", c.connect.destination()),
            Check::Dns(c) => format!("DNS_CHECK {}", c.identity()),
            Check::Http(c) => format!("HTTP_GET {}", c.identity()),
            Check::Exec(c) => format!("MISC_CHECK {}", c.identity()),
        }
    }
}

/// The IPVS connection-sync daemon, following one instance's state: master
/// while it is Master, backup otherwise.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SyncDaemonConfig {
    /// The daemon settings (its `state` is set from the instance).
    pub daemon: SyncDaemon,
    /// The instance whose state drives it.
    pub instance: String,
}

impl SyncDaemonConfig {
    /// A daemon driven by `instance`.
    pub fn new(daemon: SyncDaemon, instance: &str) -> SyncDaemonConfig {
        SyncDaemonConfig {
            daemon,
            instance: instance.to_string(),
        }
    }
}

/// What is done to IPVS once at start.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct IpvsSetup {
    /// Flush the table first (keepalived's `lvs_flush`); otherwise the
    /// existing table is adopted and reconciled.
    pub flush: bool,
    /// Protocol timeouts to set (zero fields unchanged).
    pub timeouts: Option<Timeouts>,
    /// Set `net.ipv4.vs.expire_nodest_conn=1`, so new connections never hit
    /// a removed real server. Default: true.
    pub expire_nodest_conn: bool,
}

impl Default for IpvsSetup {
    fn default() -> Self {
        IpvsSetup {
            flush: false,
            timeouts: None,
            expire_nodest_conn: true,
        }
    }
}

/// A named pipe that receives event lines (keepalived's `notify_fifo`,
/// `vrrp_notify_fifo`, `lvs_notify_fifo`), and optionally the program that
/// reads it (`*_notify_fifo_script`), started once with the FIFO's path as
/// its last argument.
///
/// The FIFO is made if it does not exist (readable by its owner only, as
/// keepalived's is by default), and then removed when the director stops;
/// one that was already there is left in place.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct NotifyFifo {
    /// Where the FIFO is.
    pub path: PathBuf,
    /// The program that reads it.
    pub script: Option<Script>,
    /// Make it readable by every user (mode 0644), for a reader that does
    /// not run as the director's user. Default: false (0600).
    pub readable_by_all: bool,
}

impl NotifyFifo {
    /// A FIFO at `path` with no script (something else reads it).
    pub fn new(path: impl Into<PathBuf>) -> NotifyFifo {
        NotifyFifo {
            path: path.into(),
            script: None,
            readable_by_all: false,
        }
    }

    /// Sets the program started to read it.
    pub fn with_script(mut self, script: Script) -> NotifyFifo {
        self.script = Some(script);
        self
    }
}

/// The notify FIFOs: one for every event, one for VRRP events, one for
/// real-server (LVS) events.
///
/// The lines are keepalived 2.2.7's: `INSTANCE "VI_1" MASTER 100` (the
/// state is `MASTER`, `BACKUP`, `FAULT` or `STOP`, the number the effective
/// priority), `RS [192.0.2.11]:tcp:80 [192.0.2.80]:tcp:80 UP` (real
/// server, virtual server, `UP`/`DOWN`) and `VS [192.0.2.80]:tcp:80 DOWN`
/// (the virtual server lost or gained its quorum); a firewall-mark service
/// is `FWM 1`. Each line ends in a newline.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
#[non_exhaustive]
pub struct NotifyFifos {
    /// Every event (keepalived's `notify_fifo`).
    pub all: Option<NotifyFifo>,
    /// VRRP transitions (`vrrp_notify_fifo`).
    pub vrrp: Option<NotifyFifo>,
    /// Real servers up and down (`lvs_notify_fifo`).
    pub lvs: Option<NotifyFifo>,
}

/// One FIFO to write, after [`NotifyFifos::writers`] merged those that
/// share a path.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct FifoWriter {
    /// Where the FIFO is.
    pub path: PathBuf,
    /// The program started to read it.
    pub script: Option<Script>,
    /// It receives VRRP lines.
    pub vrrp: bool,
    /// It receives real-server lines.
    pub lvs: bool,
    /// Made readable by every user.
    pub readable_by_all: bool,
}

impl NotifyFifos {
    /// No FIFO is configured.
    pub fn is_empty(&self) -> bool {
        self.all.is_none() && self.vrrp.is_none() && self.lvs.is_none()
    }

    /// The FIFOs to open, one per path, with keepalived's rules for shared
    /// paths: a VRRP or LVS FIFO named like the global one is dropped, its
    /// script too (the global one has its lines already); the VRRP and LVS
    /// FIFOs sharing a path are one FIFO with both kinds of lines and one
    /// script, the VRRP one's if both have one.
    pub fn writers(&self) -> Vec<FifoWriter> {
        let mut out: Vec<FifoWriter> = Vec::new();
        let kinds = [
            (&self.all, true, true),
            (&self.vrrp, true, false),
            (&self.lvs, false, true),
        ];
        for (fifo, vrrp, lvs) in kinds {
            let Some(f) = fifo else { continue };
            match out.iter_mut().find(|w| w.path == f.path) {
                Some(w) => {
                    let global = w.vrrp && w.lvs;
                    w.vrrp |= vrrp;
                    w.lvs |= lvs;
                    w.readable_by_all |= f.readable_by_all;
                    if !global && w.script.is_none() {
                        w.script = f.script.clone();
                    }
                }
                None => out.push(FifoWriter {
                    path: f.path.clone(),
                    script: f.script.clone(),
                    vrrp,
                    lvs,
                    readable_by_all: f.readable_by_all,
                }),
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fifo(path: &str, script: Option<&str>) -> Option<NotifyFifo> {
        let f = NotifyFifo::new(path);
        Some(match script {
            Some(s) => f.with_script(Script::new([s]).expect("argv")),
            None => f,
        })
    }

    fn summary(f: &NotifyFifos) -> Vec<(String, Option<String>, bool, bool)> {
        f.writers()
            .into_iter()
            .map(|w| {
                let script = w.script.map(|s| s.argv[0].clone());
                (w.path.display().to_string(), script, w.vrrp, w.lvs)
            })
            .collect()
    }

    #[test]
    fn fifos_sharing_a_path_merge_as_keepalived_does() {
        let mut f = NotifyFifos::default();
        assert!(f.is_empty() && f.writers().is_empty());
        f.all = fifo("/run/a", None);
        f.vrrp = fifo("/run/v", Some("v.sh"));
        f.lvs = fifo("/run/l", None);
        let s = |p: &str, sc: Option<&str>, v, l| (p.to_string(), sc.map(String::from), v, l);
        assert_eq!(
            summary(&f),
            [
                s("/run/a", None, true, true),
                s("/run/v", Some("v.sh"), true, false),
                s("/run/l", None, false, true)
            ]
        );
        // Named like the global one: dropped, with its script.
        f.vrrp = fifo("/run/a", Some("v.sh"));
        f.lvs = fifo("/run/a", Some("l.sh"));
        assert_eq!(summary(&f), [s("/run/a", None, true, true)]);
        // VRRP and LVS sharing one: one FIFO, the VRRP script first.
        f.all = None;
        f.vrrp = fifo("/run/x", Some("v.sh"));
        f.lvs = fifo("/run/x", Some("l.sh"));
        assert_eq!(summary(&f), [s("/run/x", Some("v.sh"), true, true)]);
        f.vrrp = fifo("/run/x", None);
        assert_eq!(summary(&f), [s("/run/x", Some("l.sh"), true, true)]);
    }
}
