//! The validated configuration: std types and the lvs libraries' own types
//! (`lvs_ipvs::Scheduler`, `lvs_ipvs::ForwardMethod`, `lvs_ipvs::Protocol`,
//! `lvs_vrrp::Version`, `lvs_vrrp::AdvertInterval`), units in the types, every
//! keepalived default already applied (each default is documented on its field).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use lvs_ipvs::{ForwardMethod, Protocol, Scheduler};
use lvs_vrrp::{AdvertInterval, Seconds, Version};

/// A whole configuration file (with its includes), validated.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct Config {
    /// `global_defs`.
    pub global: GlobalDefs,
    /// Each `vrrp_instance`, in file order.
    pub vrrp_instances: Vec<VrrpInstance>,
    /// Each `virtual_server`, in file order.
    pub virtual_servers: Vec<VirtualServer>,
    /// Each `vrrp_script`, in file order.
    pub vrrp_scripts: Vec<VrrpScript>,
    /// Each `track_file` (or `vrrp_track_file`), in file order.
    pub track_files: Vec<TrackFile>,
    /// Each `vrrp_track_process`, in file order.
    pub track_processes: Vec<TrackProcess>,
    /// Each `virtual_server_group`, in file order (names unique).
    pub virtual_server_groups: Vec<VirtualServerGroup>,
    /// Each `vrrp_sync_group`, in file order.
    pub sync_groups: Vec<SyncGroup>,
    /// `static_ipaddress` entries (each with its `dev`), in file order.
    pub static_ipaddresses: Vec<VirtualIp>,
    /// `static_routes` entries, in file order (lvs-director's type).
    pub static_routes: Vec<lvs_director::Route>,
    /// `static_rules` entries, in file order (lvs-director's type).
    pub static_rules: Vec<lvs_director::Rule>,
    /// The global `SSL { certificate FILE key FILE }`: the client
    /// certificate every `SSL_GET` presents when asked (read and checked
    /// when the configuration is loaded).
    pub ssl_identity: Option<lvs_healthcheck::checker::http::ClientIdentity>,
    /// `lvs_route_announce { ... }` (an lvs extension).
    pub route_announce: Option<RouteAnnounceBlock>,
}

/// `lvs_route_announce { table N protocol N vips { ... } drain_timeout S
/// drain_on_sigterm sloppy_tcp sync_daemon IFACE [id N] ... }`: an lvs
/// extension (keepalived has no such block) for active-active directors
/// behind ECMP, mapped to lvs-director's `RouteAnnounce`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct RouteAnnounceBlock {
    /// Table, protocol, VIPs and drain, in lvs-director's type.
    pub announce: lvs_director::RouteAnnounce,
    /// `sloppy_tcp`: set `net.ipv4.vs.sloppy_tcp=1`.
    pub sloppy_tcp: bool,
    /// `sync_daemon IFACE [id N] [maxlen N] [port N] [ttl N] [group ADDR]`:
    /// the IPVS sync daemon as master and backup both.
    pub sync_daemon: Option<LvsSyncDaemon>,
    /// Where the block is.
    pub location: crate::error::Location,
    /// Where each of `announce.vips` is named.
    pub vip_locs: Vec<crate::error::Location>,
}

impl RouteAnnounceBlock {
    /// Defaults, at `location`.
    pub fn new(location: crate::error::Location) -> RouteAnnounceBlock {
        RouteAnnounceBlock {
            announce: lvs_director::RouteAnnounce::new(),
            sloppy_tcp: false,
            sync_daemon: None,
            location,
            vip_locs: Vec::new(),
        }
    }
}

impl Config {
    /// The VRRP instance named `name`.
    pub fn vrrp_instance(&self, name: &str) -> Option<&VrrpInstance> {
        self.vrrp_instances.iter().find(|v| v.name == name)
    }

    /// The virtual server with this identity.
    pub fn virtual_server(&self, key: &VirtualServerKey) -> Option<&VirtualServer> {
        self.virtual_servers.iter().find(|v| v.key() == *key)
    }

    /// The `virtual_server_group` named `name`.
    pub fn virtual_server_group(&self, name: &str) -> Option<&VirtualServerGroup> {
        self.virtual_server_groups.iter().find(|g| g.name == name)
    }
}

/// `global_defs`.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct GlobalDefs {
    /// `router_id`. Default: none (keepalived uses the host name).
    pub router_id: Option<String>,
    /// `vrrp_version 2|3`. Default: 2.
    pub vrrp_version: Version,
    /// `vrrp_garp_master_delay` seconds: delay of the second burst of
    /// gratuitous ARPs after becoming master; zero means none. Default: 5 s.
    pub vrrp_garp_master_delay: Duration,
    /// `vrrp_garp_master_repeat`: gratuitous ARPs per burst. Default: 5.
    pub vrrp_garp_master_repeat: u32,
    /// `vrrp_garp_master_refresh` seconds: periodic refresh while master.
    /// Default: none.
    pub vrrp_garp_master_refresh: Option<Duration>,
    /// `vrrp_garp_interval` (fractional seconds) between gratuitous ARPs. Default: 0.
    pub vrrp_garp_interval: Duration,
    /// `vrrp_mcast_group4`. Default: 224.0.0.18.
    pub vrrp_mcast_group4: Ipv4Addr,
    /// `vrrp_mcast_group6`. Default: ff02::12.
    pub vrrp_mcast_group6: std::net::Ipv6Addr,
    /// `vrrp_strict`. Default: false.
    pub vrrp_strict: bool,
    /// `vrrp_skip_check_adv_addr [BOOL]`: a Backup does not compare the
    /// address list of adverts from the Master it already accepted (a new
    /// sender is always checked). Default: false (every advert checked).
    pub vrrp_skip_check_adv_addr: bool,
    /// `enable_script_security`: refuse to run scripts that a non-root user
    /// could change. Default: false.
    pub enable_script_security: bool,
    /// `lvs_sync_daemon IFACE [[inst] INSTANCE] [id N] [maxlen N] [port N] [ttl N] [group ADDR]`.
    pub lvs_sync_daemon: Option<LvsSyncDaemon>,
    /// `script_user USER [GROUP]`: who scripts run as unless they say
    /// (resolved to ids when loaded). Default: director's own user.
    pub script_user: Option<lvs_healthcheck::checker::exec::RunAs>,
    /// `lvs_timeouts [tcp S] [tcpfin S] [udp S]`; `None` leaves the kernel's value.
    pub lvs_timeouts: LvsTimeouts,
    /// `lvs_flush`: flush IPVS at start. Default: false.
    pub lvs_flush: bool,
    /// `lvs_keep_expire_nodest_conn` (director only, not keepalived): leave
    /// `net.ipv4.vs.expire_nodest_conn` as it is; by default director sets
    /// it to 1 so new connections never hit a removed real server. Default: false.
    pub lvs_keep_expire_nodest_conn: bool,
    /// `lvs_reconcile_interval SECS` (director only, not keepalived): how
    /// often the whole IPVS table is compared with the kernel's and put
    /// back where it differs. Default: none (the director's 60 s).
    pub lvs_reconcile_interval: Option<Duration>,
    /// `vrrp_rt_priority` / `checker_rt_priority` (1..=99): the director is
    /// one process doing both, so it runs SCHED_RR at the higher of the two.
    /// Default: none (normal scheduling).
    pub rt_priority: Option<u8>,
    /// `vrrp_priority` / `checker_priority` (nice, -20..=19): the lower
    /// (stronger) of the two. Default: none.
    pub nice: Option<i8>,
    /// `vrrp_no_swap` / `checker_no_swap`: lock the process in memory.
    pub no_swap: bool,
    /// `notify_fifo PATH` / `notify_fifo_script CMD`: every event's lines.
    pub notify_fifo: NotifyFifo,
    /// `vrrp_notify_fifo PATH` / `vrrp_notify_fifo_script CMD`: VRRP lines.
    pub vrrp_notify_fifo: NotifyFifo,
    /// `lvs_notify_fifo PATH` / `lvs_notify_fifo_script CMD`: real-server lines.
    pub lvs_notify_fifo: NotifyFifo,
    /// `vrrp_garp_lower_prio_delay`: default of each instance's
    /// `garp_lower_prio_delay`. Default: `vrrp_garp_master_delay`.
    pub vrrp_garp_lower_prio_delay: Option<Duration>,
    /// `vrrp_garp_lower_prio_repeat`: default of each instance's
    /// `garp_lower_prio_repeat`. Default: `vrrp_garp_master_repeat`.
    pub vrrp_garp_lower_prio_repeat: Option<u32>,
    /// `vrrp_lower_prio_no_advert [BOOL]`. Default: false (on with `vrrp_strict`).
    pub vrrp_lower_prio_no_advert: Option<bool>,
    /// `vrrp_higher_prio_send_advert [BOOL]`. Default: false.
    pub vrrp_higher_prio_send_advert: Option<bool>,
    /// `vrrp_startup_delay` seconds: VRRP instances wait this long after the
    /// daemon starts (not after a reload). Default: 0.
    pub vrrp_startup_delay: Duration,
    /// `vrrp_garp_extra_if [all] SECONDS`: default of each instance's
    /// `garp_extra_if`.
    pub vrrp_garp_extra_if: Option<GarpExtraIf>,
    /// `net_namespace NAME`: run in the network namespace
    /// `/run/netns/NAME`. Default: the one the daemon is started in.
    pub net_namespace: Option<String>,
}

/// keepalived's `garp_extra_if [all] SECONDS`: a gratuitous ARP / NA every
/// `interval` while Master on the interfaces of VIPs that send no adverts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct GarpExtraIf {
    /// `all`: every such interface. Without it keepalived sends only on
    /// VIP-level VMACs, which director does not make (warned).
    pub all: bool,
    /// Seconds between packets (0 turns it off).
    pub interval: Duration,
}

/// One notify FIFO of `global_defs` (`notify_fifo`, `vrrp_notify_fifo`,
/// `lvs_notify_fifo`) and the script that reads it (`*_script`), which is
/// started once with the FIFO's path as its last argument.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct NotifyFifo {
    /// The FIFO's path; `None` when not given (a script alone does nothing,
    /// as in keepalived).
    pub path: Option<String>,
    /// The program that reads it.
    pub script: Option<Script>,
    /// `PATH USER [GROUP]` was given: keepalived makes the FIFO that user's;
    /// director makes it readable by every user instead.
    pub for_other_user: bool,
}

impl Default for GlobalDefs {
    fn default() -> Self {
        GlobalDefs {
            router_id: None,
            vrrp_version: Version::V2,
            vrrp_garp_master_delay: Duration::from_secs(5),
            vrrp_garp_master_repeat: 5,
            vrrp_garp_master_refresh: None,
            vrrp_garp_interval: Duration::ZERO,
            vrrp_mcast_group4: Ipv4Addr::new(224, 0, 0, 18),
            vrrp_mcast_group6: std::net::Ipv6Addr::new(0xff02, 0, 0, 0, 0, 0, 0, 0x12),
            vrrp_strict: false,
            vrrp_garp_lower_prio_delay: None,
            vrrp_garp_lower_prio_repeat: None,
            vrrp_lower_prio_no_advert: None,
            vrrp_higher_prio_send_advert: None,
            vrrp_startup_delay: Duration::ZERO,
            net_namespace: None,
            vrrp_garp_extra_if: None,
            vrrp_skip_check_adv_addr: false,
            enable_script_security: false,
            lvs_sync_daemon: None,
            script_user: None,
            lvs_timeouts: LvsTimeouts::default(),
            lvs_flush: false,
            lvs_keep_expire_nodest_conn: false,
            lvs_reconcile_interval: None,
            rt_priority: None,
            nice: None,
            no_swap: false,
            notify_fifo: NotifyFifo::default(),
            vrrp_notify_fifo: NotifyFifo::default(),
            lvs_notify_fifo: NotifyFifo::default(),
        }
    }
}

/// IPVS connection-sync daemon settings.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct LvsSyncDaemon {
    /// Interface the sync traffic uses.
    pub interface: String,
    /// VRRP instance whose state drives master/backup; `None`: run both.
    pub vrrp_instance: Option<String>,
    /// Sync id. Default (`None`): the instance's VRID, or 0.
    pub sync_id: Option<u8>,
    /// Maximum sync packet length.
    pub maxlen: Option<u16>,
    /// UDP port. Default (`None`): kernel's 8848.
    pub port: Option<u16>,
    /// Multicast TTL.
    pub ttl: Option<u8>,
    /// Multicast group. Default (`None`): kernel's 224.0.0.81.
    pub group: Option<IpAddr>,
}

impl LvsSyncDaemon {
    /// Sync traffic on `interface`, every other setting the kernel's default.
    pub fn new(interface: impl Into<String>) -> Self {
        LvsSyncDaemon {
            interface: interface.into(),
            vrrp_instance: None,
            sync_id: None,
            maxlen: None,
            port: None,
            ttl: None,
            group: None,
        }
    }
}

/// IPVS protocol timeouts; `None` leaves a value unchanged.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LvsTimeouts {
    /// Established TCP.
    pub tcp: Option<Duration>,
    /// TCP after FIN.
    pub tcpfin: Option<Duration>,
    /// UDP.
    pub udp: Option<Duration>,
}

/// The state a VRRP instance starts in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InitialState {
    /// `state MASTER`.
    Master,
    /// `state BACKUP` (the default).
    Backup,
}

/// `vrrp_instance NAME { ... }`.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct VrrpInstance {
    /// The instance name.
    pub name: String,
    /// `state`. Default: Backup.
    pub initial_state: InitialState,
    /// `interface` (required).
    pub interface: String,
    /// `virtual_router_id` 1..=255 (required).
    pub virtual_router_id: u8,
    /// `priority` 1..=255. Default: 100.
    pub priority: u8,
    /// `advert_int` in the unit of the instance's VRRP version (`version`,
    /// default the global `vrrp_version`, or 3 when the first VIP is IPv6):
    /// whole seconds for VRRPv2, centiseconds (fractions allowed) for VRRPv3.
    /// Default: 1 s. [`VrrpInstance::version`] reads the version off it.
    pub advert_int: AdvertInterval,
    /// `virtual_ipaddress { ... }`.
    pub virtual_ipaddresses: Vec<VirtualIp>,
    /// `virtual_ipaddress_excluded { ... }` (not carried in adverts).
    pub virtual_ipaddresses_excluded: Vec<VirtualIp>,
    /// `nopreempt`. Default: false (a higher priority preempts).
    pub nopreempt: bool,
    /// `preempt_delay` seconds (0..=1000). Default: 0.
    pub preempt_delay: Duration,
    /// `unicast_src_ip` (or `mcast_src_ip`). Default: the interface's primary address.
    pub source_ip: Option<IpAddr>,
    /// `unicast_peer { ... }`; empty means multicast.
    pub unicast_peers: Vec<IpAddr>,
    /// `track_interface { ... }`.
    pub track_interfaces: Vec<TrackInterface>,
    /// `track_script { ... }`: each names a `vrrp_script`.
    pub track_scripts: Vec<TrackScript>,
    /// `track_file { ... }`: each names a `track_file`.
    pub track_files: Vec<TrackRef>,
    /// `track_process { ... }`: each names a `vrrp_track_process`.
    pub track_processes: Vec<TrackRef>,
    /// `authentication { ... }`. Default: none.
    pub authentication: Option<Authentication>,
    /// `notify_master`.
    pub notify_master: Option<Script>,
    /// `notify_backup`.
    pub notify_backup: Option<Script>,
    /// `notify_fault`.
    pub notify_fault: Option<Script>,
    /// `notify_stop`.
    pub notify_stop: Option<Script>,
    /// `notify`: called with `INSTANCE name state priority` appended, as keepalived does.
    pub notify: Option<Script>,
    /// `garp_master_delay`. Default: global `vrrp_garp_master_delay`.
    pub garp_master_delay: Duration,
    /// `garp_master_repeat`. Default: global `vrrp_garp_master_repeat`.
    pub garp_master_repeat: u32,
    /// `garp_master_refresh`. Default: global `vrrp_garp_master_refresh`.
    pub garp_master_refresh: Option<Duration>,
    /// `garp_lower_prio_delay`: the second burst after hearing a
    /// lower-priority advert as Master. Default: global
    /// `vrrp_garp_lower_prio_delay`; 0 in strict mode ([`Self::strict`]).
    pub garp_lower_prio_delay: Duration,
    /// `garp_lower_prio_repeat`: packets per burst when Master hears a
    /// lower-priority advert; 0: none. Default: global
    /// `vrrp_garp_lower_prio_repeat`; 0 in strict mode.
    pub garp_lower_prio_repeat: u32,
    /// `lower_prio_no_advert [BOOL]`: as Master, no advert in answer to a
    /// lower-priority one. Default: global `vrrp_lower_prio_no_advert`;
    /// on in strict mode.
    pub lower_prio_no_advert: bool,
    /// `higher_prio_send_advert [BOOL]`: as Master, one advert before
    /// stepping down for a higher priority. Default: global
    /// `vrrp_higher_prio_send_advert`; off in strict mode.
    pub higher_prio_send_advert: bool,
    /// `accept` / `no_accept`. Default: accept, unless in strict mode
    /// with a priority below 255; strict mode turns it off for VRRPv2
    /// below 255.
    pub accept: bool,
    /// Strict RFC compliance: `strict_mode [BOOL]`, else global
    /// `vrrp_strict`. The other fields already hold what it made of them.
    pub strict: bool,
    /// `lvs_sync_daemon_interface` (old form of global `lvs_sync_daemon`).
    pub lvs_sync_daemon_interface: Option<String>,
    /// `dont_track_primary`. Default: false.
    pub dont_track_primary: bool,
    /// `skip_check_adv_addr [BOOL]`: this instance's own
    /// `vrrp_skip_check_adv_addr`. Default: the global value.
    pub skip_check_adv_addr: bool,
    /// `garp_extra_if [all] SECONDS`. Default: global `vrrp_garp_extra_if`.
    pub garp_extra_if: Option<GarpExtraIf>,
    /// `virtual_routes` entries (lvs-director's type), held while Master.
    pub virtual_routes: Vec<lvs_director::Route>,
    /// `virtual_rules` entries (lvs-director's type), held while Master.
    pub virtual_rules: Vec<lvs_director::Rule>,
    /// `use_vmac [NAME]`: `Some` with the macvlan's name when given
    /// (`Some(None)`: keepalived's default, `vrrp.VRID`). Default: `None`.
    pub use_vmac: Option<Option<String>>,
    /// `vmac_xmit_base` (only with `use_vmac`, not in strict mode).
    /// Default: false.
    pub vmac_xmit_base: bool,
}

impl VrrpInstance {
    /// The VRRP version the instance speaks (`version`, or the global
    /// `vrrp_version`, or 3 for IPv6 VIPs).
    pub fn version(&self) -> Version {
        match self.advert_int {
            AdvertInterval::V2(_) => Version::V2,
            AdvertInterval::V3(_) => Version::V3,
        }
    }
}

/// The default advertisement interval (1 s) in `version`'s unit.
pub(crate) fn default_advert_int(version: Version) -> AdvertInterval {
    match version {
        Version::V2 => AdvertInterval::V2(Seconds(1)),
        Version::V3 => AdvertInterval::V3(Seconds(1).to_centiseconds()),
    }
}

/// One `virtual_ipaddress` entry: `ADDR[/LEN] [dev IF] [label L]` (the
/// other options are warned about or refused, see [`crate::keywords`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct VirtualIp {
    /// The address.
    pub addr: IpAddr,
    /// Prefix length. Default: 32 (IPv4) / 128 (IPv6), as keepalived.
    pub prefix_len: u8,
    /// `dev`. Default: the instance's interface.
    pub dev: Option<String>,
    /// `label`.
    pub label: Option<String>,
    /// `no_track`: its deletion while Master is not acted on.
    pub no_track: bool,
}

impl VirtualIp {
    /// `addr/prefix_len` on the instance's interface, without a label.
    pub fn new(addr: IpAddr, prefix_len: u8) -> Self {
        VirtualIp {
            addr,
            prefix_len,
            dev: None,
            label: None,
            no_track: false,
        }
    }
}

/// One `track_interface` entry.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TrackInterface {
    /// Interface name.
    pub interface: String,
    /// `weight` -253..=253. Default 0: the interface going down means FAULT.
    pub weight: i16,
    /// `reverse`.
    pub reverse: bool,
}

impl TrackInterface {
    /// Tracks `interface` with weight 0 (down means FAULT), not reversed.
    pub fn new(interface: impl Into<String>) -> Self {
        TrackInterface {
            interface: interface.into(),
            weight: 0,
            reverse: false,
        }
    }
}

/// `vrrp_sync_group NAME { group { A B } ... }` (or the newer bare list
/// `vrrp_sync_group NAME { A B }`): instances that change state together.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct SyncGroup {
    /// The group name.
    pub name: String,
    /// The member instances, each defined by a `vrrp_instance`, each in
    /// one group only.
    pub members: Vec<String>,
    /// `track_interface { ... }`: tracked by every member. Weights are 0
    /// (as on the members' own tracks) unless
    /// [`tracking_weight`](Self::tracking_weight).
    pub track_interfaces: Vec<TrackInterface>,
    /// `track_script { ... }`: tracked by every member.
    pub track_scripts: Vec<TrackScript>,
    /// `track_file { ... }`: tracked by every member.
    pub track_files: Vec<TrackRef>,
    /// `track_process { ... }`: tracked by every member.
    pub track_processes: Vec<TrackRef>,
    /// `notify_master`.
    pub notify_master: Option<Script>,
    /// `notify_backup`.
    pub notify_backup: Option<Script>,
    /// `notify_fault`.
    pub notify_fault: Option<Script>,
    /// `notify_stop`.
    pub notify_stop: Option<Script>,
    /// `notify`: called with `GROUP name state 0` appended, as keepalived does.
    pub notify: Option<Script>,
    /// `sync_group_tracking_weight` (or the deprecated `global_tracking`):
    /// tracked weights keep their value. Default: false — keepalived sets
    /// every weight of a member's (and the group's) tracked interfaces and
    /// scripts to 0, so a failure is a FAULT of the whole group rather than
    /// priorities that differ between members.
    pub tracking_weight: bool,
}

/// `vrrp_script NAME { ... }`: a program run periodically whose exit
/// status tracking instances follow.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct VrrpScript {
    /// The name instances track it by.
    pub name: String,
    /// `script` (required): program and arguments, no shell.
    pub script: Script,
    /// `interval` seconds. Default: 1.
    pub interval: Duration,
    /// `timeout` seconds. Default: the interval.
    pub timeout: Option<Duration>,
    /// `weight` -253..=253. Default 0: failure means FAULT.
    pub weight: i16,
    /// `weight N reverse`.
    pub reverse: bool,
    /// `rise`. Default: 1.
    pub rise: u32,
    /// `fall`. Default: 1.
    pub fall: u32,
    /// `init_fail`: start failed.
    pub init_fail: bool,
}

impl VrrpScript {
    /// `script` run every second, weight 0, rise and fall 1.
    pub fn new(name: impl Into<String>, script: Script) -> Self {
        VrrpScript {
            name: name.into(),
            script,
            interval: Duration::from_secs(1),
            timeout: None,
            weight: 0,
            reverse: false,
            rise: 1,
            fall: 1,
            init_fail: false,
        }
    }
}

/// One `track_script` entry: `NAME [weight N [reverse|noreverse]]`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TrackScript {
    /// The `vrrp_script` it names.
    pub script: String,
    /// `weight N`: overrides the script's.
    pub weight: Option<i16>,
    /// `reverse` / `noreverse` after the weight: overrides the script's.
    pub reverse: Option<bool>,
}

impl TrackScript {
    /// Tracks `script` with its own weight.
    pub fn new(script: impl Into<String>) -> Self {
        TrackScript {
            script: script.into(),
            weight: None,
            reverse: None,
        }
    }
}

/// `track_file NAME { file PATH; weight N [reverse]; init_file [VALUE] [overwrite] }`
/// (`vrrp_track_file` is its older name): a file whose integer, times the
/// weight, tracking instances add to their priority.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TrackFile {
    /// The name instances track it by.
    pub name: String,
    /// `file` (required).
    pub path: std::path::PathBuf,
    /// `weight` -254..=254. Default: 1.
    pub weight: i16,
    /// `weight N reverse`.
    pub reverse: bool,
    /// `init_file [VALUE] [overwrite]`: `(VALUE, overwrite)`, VALUE default 0.
    pub init: Option<(i64, bool)>,
}

/// How `param_match` compares a tracked process's parameters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ParamMatch {
    /// `param_match` alone (or parameters given): exactly these.
    Exact,
    /// `param_match partial`: these first, more may follow.
    Partial,
    /// `param_match initial`: as partial, the last may be longer.
    Initial,
}

/// `vrrp_track_process NAME { process CMD [PARAMS]; ... }`: processes whose
/// number (within the quorum or not) tracking instances follow.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TrackProcess {
    /// The name instances track it by.
    pub name: String,
    /// `process` (required): the name, then the parameters.
    pub process: Vec<String>,
    /// `param_match [initial|partial]`; parameters alone mean exact.
    pub param_match: Option<ParamMatch>,
    /// `full_command` (also implied by parameters and `param_match`):
    /// compare with the command line, not the process name.
    pub full_command: bool,
    /// `weight` -254..=254. Default: 0 (no quorum is a FAULT).
    pub weight: i16,
    /// `weight N reverse`.
    pub reverse: bool,
    /// `quorum` 1..=65535. Default: 1 (0 with `quorum_max 0`).
    pub quorum: u32,
    /// `quorum_max` 0..=65535. Default: no limit.
    pub quorum_max: Option<u32>,
    /// `fork_delay` (or `delay`) seconds. Default: 0.
    pub fork_delay: Duration,
    /// `terminate_delay` (or `delay`) seconds. Default: 0.
    pub terminate_delay: Duration,
}

/// One `track_file` or `track_process` entry: `NAME [weight N [reverse|noreverse]]`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct TrackRef {
    /// The `track_file` / `vrrp_track_process` it names.
    pub name: String,
    /// `weight N`: overrides the tracked object's.
    pub weight: Option<i16>,
    /// `reverse` / `noreverse` after the weight: overrides the object's.
    pub reverse: Option<bool>,
}

impl TrackRef {
    /// Tracks `name` with its own weight.
    pub fn new(name: impl Into<String>) -> Self {
        TrackRef {
            name: name.into(),
            weight: None,
            reverse: None,
        }
    }
}

/// `authentication { auth_type ...; auth_pass ... }`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Authentication {
    /// `auth_type PASS`; only the first 8 bytes are used on the wire.
    Pass(String),
}

/// A program to run, parsed to argv (no shell is involved).
///
/// `notify_master /path/script` or `notify_master "/path/script 'an arg'"`:
/// a quoted command is split like a shell would split words (single and double
/// quotes, backslash), but nothing is expanded or run through `sh`. A
/// `USER [GROUP]` after the command is accepted with a warning: scripts run
/// as director's own user.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Script {
    /// Program and arguments; never empty.
    pub argv: Vec<String>,
    /// Who it runs as: its own `USER [GROUP]`, else `script_user`; `None`:
    /// director's own user.
    pub run_as: Option<lvs_healthcheck::checker::exec::RunAs>,
}

impl Script {
    /// Runs `argv` (program first) as director's own user.
    pub fn new(argv: impl IntoIterator<Item = impl Into<String>>) -> Self {
        Script {
            argv: argv.into_iter().map(Into::into).collect(),
            run_as: None,
        }
    }
}

/// Scheduler flags (`ipvsadm -b`) and one-packet scheduling.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SchedulerFlags {
    /// `flag-1`.
    pub flag_1: bool,
    /// `flag-2`.
    pub flag_2: bool,
    /// `flag-3`.
    pub flag_3: bool,
    /// `sh-port`.
    pub sh_port: bool,
    /// `sh-fallback`.
    pub sh_fallback: bool,
    /// `mh-port`.
    pub mh_port: bool,
    /// `mh-fallback`.
    pub mh_fallback: bool,
    /// `ops`: one-packet scheduling (UDP).
    pub ops: bool,
}

/// `virtual_server_group NAME { ... }`: the services a `virtual_server group
/// NAME` stands for, checked once for all of them.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct VirtualServerGroup {
    /// Its name.
    pub name: String,
    /// Its entries, in file order; never empty.
    pub entries: Vec<GroupEntry>,
}

impl VirtualServerGroup {
    /// Every member, ranges expanded, in file order.
    pub fn members(&self) -> impl Iterator<Item = GroupMember> + '_ {
        self.entries.iter().flat_map(GroupEntry::members)
    }

    /// Whether it holds IPv4 / IPv6 addresses (fwmarks not counted).
    pub fn families(&self) -> (bool, bool) {
        let v4 = self
            .entries
            .iter()
            .any(|e| matches!(e, GroupEntry::Addresses { first, .. } if first.is_ipv4()));
        let v6 = self
            .entries
            .iter()
            .any(|e| matches!(e, GroupEntry::Addresses { first, .. } if first.is_ipv6()));
        (v4, v6)
    }
}

/// One line of a `virtual_server_group`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum GroupEntry {
    /// `IP [PORT]`, or a range `A.B.C.D-E [PORT]` (`ae00::2-9`: the last
    /// hextet, in hex) or `A.B.C.D-A.B.C.E`: every address from `first` to
    /// `last` inclusive, of one family, `last` not below `first`. Port 0
    /// when omitted (a persistent service on every port).
    Addresses {
        /// The first address.
        first: IpAddr,
        /// The last address (`first` for a single address).
        last: IpAddr,
        /// The port.
        port: u16,
    },
    /// `fwmark N [inet|inet6]`.
    Fwmark {
        /// The mark.
        mark: u32,
        /// `inet` (`Some(false)`) or `inet6` (`Some(true)`); `None`: the
        /// family of the group's addresses or of the real servers.
        ipv6: Option<bool>,
    },
}

impl GroupEntry {
    /// How many services it stands for.
    pub fn len(&self) -> u128 {
        match *self {
            GroupEntry::Addresses { first, last, .. } => {
                ip_number(last).saturating_sub(ip_number(first)) + 1
            }
            GroupEntry::Fwmark { .. } => 1,
        }
    }

    /// Never empty (a range holds at least its first address).
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Its members, a range expanded.
    pub fn members(&self) -> impl Iterator<Item = GroupMember> + '_ {
        let (start, count) = match *self {
            GroupEntry::Addresses { first, .. } => (ip_number(first), self.len()),
            GroupEntry::Fwmark { .. } => (0, 1),
        };
        (0..count).map(move |i| match *self {
            GroupEntry::Addresses { first, port, .. } => {
                let n = start + i;
                let ip = match first {
                    IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::from(n as u32)),
                    IpAddr::V6(_) => IpAddr::V6(std::net::Ipv6Addr::from(n)),
                };
                GroupMember::Socket(SocketAddr::new(ip, port))
            }
            GroupEntry::Fwmark { mark, ipv6 } => GroupMember::Fwmark { mark, ipv6 },
        })
    }
}

/// An address as a number, for range arithmetic.
fn ip_number(ip: IpAddr) -> u128 {
    match ip {
        IpAddr::V4(a) => u128::from(u32::from(a)),
        IpAddr::V6(a) => u128::from(a),
    }
}

/// One service of a `virtual_server_group`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum GroupMember {
    /// An address and port.
    Socket(SocketAddr),
    /// A firewall mark, with its family if given.
    Fwmark {
        /// The mark.
        mark: u32,
        /// `Some(true)`: `inet6`; `None`: not given.
        ipv6: Option<bool>,
    },
}

impl GroupMember {
    /// The member as a virtual server's address (a fwmark's family dropped).
    pub fn addr(&self) -> VirtualServerAddr {
        match *self {
            GroupMember::Socket(s) => VirtualServerAddr::Socket(s),
            GroupMember::Fwmark { mark, .. } => VirtualServerAddr::Fwmark(mark),
        }
    }
}

/// What a virtual server is addressed by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum VirtualServerAddr {
    /// `virtual_server IP PORT` (port 0 when omitted).
    Socket(SocketAddr),
    /// `virtual_server fwmark N`.
    Fwmark(u32),
}

/// The identity of a virtual server: what IPVS keys a service by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct VirtualServerKey {
    /// Address or firewall mark.
    pub addr: VirtualServerAddr,
    /// Protocol (meaningless for fwmark services; kept as configured).
    pub protocol: Protocol,
}

impl fmt::Display for VirtualServerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.addr {
            VirtualServerAddr::Socket(s) => write!(f, "{} {}", protocol_name(self.protocol), s),
            VirtualServerAddr::Fwmark(m) => write!(f, "FWM {m}"),
        }
    }
}

/// How keepalived (and `ipvsadm`) write a protocol.
pub(crate) fn protocol_name(p: Protocol) -> &'static str {
    match p {
        Protocol::Tcp => "TCP",
        Protocol::Udp => "UDP",
        Protocol::Sctp => "SCTP",
    }
}

/// `virtual_server ... { ... }`.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct VirtualServer {
    /// Address or firewall mark; for `virtual_server group NAME`, the
    /// group's first member.
    pub addr: VirtualServerAddr,
    /// `virtual_server group NAME`: the `virtual_server_group` it stands for.
    pub group: Option<String>,
    /// `protocol`. Default: UDP — keepalived's behaviour, which surprises
    /// people, so a missing `protocol` also produces a warning.
    pub protocol: Protocol,
    /// `delay_loop` seconds (fractional). Default: 60 s. Default for checks.
    pub delay_loop: Duration,
    /// `lb_algo` / `lvs_sched`; `twos` (no lvs-ipvs variant yet) is
    /// `Scheduler::Other("twos")`. Default: wlc.
    pub scheduler: Scheduler,
    /// Scheduler flags.
    pub scheduler_flags: SchedulerFlags,
    /// `lb_kind` / `lvs_method`: NAT is `Masquerade`, DR `DirectRoute`, TUN
    /// [`ForwardMethod::IPIP`]. Default: NAT. Default for real servers.
    pub forwarding: ForwardMethod,
    /// `persistence_timeout [S]`; without a value 360 s. Default: none, except
    /// 360 s for an address service on port 0 (as keepalived forces it).
    pub persistence_timeout: Option<Duration>,
    /// `persistence_granularity` netmask. Default: none (/32).
    pub persistence_granularity: Option<IpAddr>,
    /// `quorum`: minimum live weight. Default: 1; lowered to the total real
    /// server weight if above it (as keepalived does, with a warning).
    pub quorum: u32,
    /// `sorry_server IP [PORT]`.
    pub sorry_server: Option<SocketAddr>,
    /// `sorry_server_lvs_method`. Default: the virtual server's method.
    pub sorry_server_forwarding: ForwardMethod,
    /// `alpha`: real servers start down until a check passes. Default: false.
    pub alpha: bool,
    /// `virtualhost` (HTTP_GET Host header). Default: none.
    pub virtualhost: Option<String>,
    /// `hysteresis`: the margin around `quorum`. Default: 0.
    pub hysteresis: u32,
    /// `quorum_up`: run when the quorum is gained.
    pub quorum_up: Option<Script>,
    /// `quorum_down`: run when the quorum is lost.
    pub quorum_down: Option<Script>,
    /// `omega`: at shutdown (or when a reload drops it), run `quorum_down`
    /// and the healthy real servers' `notify_down`. Default: false.
    pub omega: bool,
    /// `ha_suspend`: run the checks only while the service's address is on
    /// this host (cleared, with a warning, on a fwmark service, as
    /// keepalived does). Default: false.
    pub ha_suspend: bool,
    /// `ip_family inet|inet6`: the family of a fwmark service (by
    /// default that of its real and sorry servers when they agree, else IPv4).
    pub ip_family: Option<lvs_ipvs::Family>,
    /// `real_server` entries, in file order; never empty (a virtual server
    /// without any is dropped with a warning, as keepalived does).
    pub real_servers: Vec<RealServer>,
}

impl VirtualServer {
    /// The service identity.
    pub fn key(&self) -> VirtualServerKey {
        VirtualServerKey {
            addr: self.addr,
            protocol: self.protocol,
        }
    }
}

/// `real_server IP [PORT] { ... }`.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct RealServer {
    /// Address and port. The port defaults to the virtual server's; with DR
    /// or TUN it is always the virtual server's (0 for fwmark services).
    pub addr: SocketAddr,
    /// `weight`. Default: 1.
    pub weight: i32,
    /// `lvs_method`. Default: the virtual server's.
    pub forwarding: ForwardMethod,
    /// `inhibit_on_failure` (here or on the virtual server): on failure set the
    /// weight to 0 instead of removing the server. Default: false.
    pub inhibit_on_failure: bool,
    /// `notify_up`.
    pub notify_up: Option<Script>,
    /// `notify_down`.
    pub notify_down: Option<Script>,
    /// `uthreshold`: max connections.
    pub upper_threshold: Option<u32>,
    /// `lthreshold`: min connections.
    pub lower_threshold: Option<u32>,
    /// `alpha`. Default: the virtual server's.
    pub alpha: bool,
    /// Health checks; a server without any is always up.
    pub checks: Vec<Check>,
    /// `FILE_CHECK`s: it is up only while each passes too.
    pub file_checks: Vec<FileCheck>,
}

/// `FILE_CHECK { track_file NAME; weight N [reverse|noreverse] }`: the real
/// server follows the value of the global `track_file NAME` block.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct FileCheck {
    /// `track_file` (required): the `track_file` block it follows.
    pub track_file: String,
    /// `weight N [reverse]`, -2147483647..=2147483647 (`reverse` absent:
    /// false). Default: the `track_file` block's weight and `reverse`.
    pub weight: Option<(i32, bool)>,
}

/// One health checker of a real server, with every timer resolved.
#[derive(Clone, Debug, PartialEq)]
pub struct Check {
    /// Settings shared by all checkers.
    pub common: CheckCommon,
    /// What is checked.
    pub kind: CheckKind,
}

/// Settings shared by all checkers (checker, then real server, then virtual
/// server values, then keepalived's defaults).
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct CheckCommon {
    /// `connect_ip`. Default: the real server's address.
    pub connect_ip: Option<IpAddr>,
    /// `connect_port`. Default: the real server's port.
    pub connect_port: Option<u16>,
    /// `bindto`: source address.
    pub bind_to: Option<IpAddr>,
    /// `bind_if`.
    pub bind_if: Option<String>,
    /// `connect_timeout`. Default: 5 s.
    pub connect_timeout: Duration,
    /// `retry` (alias `nb_get_retry`): extra attempts before declaring a
    /// server down. Default: 1; 3 for DNS_CHECK; 0 for MISC_CHECK.
    pub retry: u32,
    /// `delay_before_retry`. Default: 1 s; 3 s for HTTP_GET; `delay_loop` for DNS_CHECK.
    pub delay_before_retry: Duration,
    /// `warmup`: random initial delay up to this. Default: `delay_loop`.
    pub warmup: Duration,
    /// `delay_loop` between checks. Default: the virtual server's.
    pub delay_loop: Duration,
    /// `alpha`. Default: the real server's.
    pub alpha: bool,
}

/// What a checker does.
#[derive(Clone, Debug, PartialEq)]
pub enum CheckKind {
    /// `TCP_CHECK`: a TCP connect succeeds.
    Tcp,
    /// `TCP_CHECK` with `lvs_half_open` (an lvs keyword): a SYN is answered
    /// with a SYN-ACK; no connection is made (needs `CAP_NET_RAW`).
    TcpHalfOpen,
    /// `UDP_CHECK`: a datagram is not answered by an ICMP error (or is answered).
    Udp(UdpCheck),
    /// `DNS_CHECK`: a query is answered.
    Dns(DnsCheck),
    /// `HTTP_GET` or `SSL_GET`: URLs answer with the expected status/digest.
    Http(HttpCheck),
    /// `SMTP_CHECK`: greeting, HELO and QUIT answered.
    Smtp(SmtpCheck),
    /// `PING_CHECK`: an ICMP/ICMPv6 echo request is answered.
    Ping,
    /// `MISC_CHECK`: a program exits 0.
    Misc(MiscCheck),
}

/// `SMTP_CHECK` specifics.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SmtpCheck {
    /// `helo_name`. Default: keepalived's `smtpchecker.keepalived.org`.
    pub helo_name: String,
    /// The deprecated `host { }` blocks: each address is checked and all
    /// must pass; none: the checker's own connection options.
    pub hosts: Vec<SmtpHost>,
}

/// One `host { }` of an `SMTP_CHECK`: connection options over the checker's.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct SmtpHost {
    /// `connect_ip`.
    pub connect_ip: Option<IpAddr>,
    /// `connect_port`.
    pub connect_port: Option<u16>,
    /// `bindto`.
    pub bind_to: Option<IpAddr>,
    /// `bind_if`.
    pub bind_if: Option<String>,
    /// `connect_timeout`.
    pub connect_timeout: Option<Duration>,
}

/// `UDP_CHECK` specifics.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct UdpCheck {
    /// `payload HEX`: bytes sent. Default: random bytes.
    pub payload: Option<Vec<u8>>,
    /// `require_reply [HEX]`: a reply is needed; `Some(pattern)` where each
    /// element is a nibble or `None` for an `X` wildcard, two per byte.
    pub require_reply: Option<Vec<Option<u8>>>,
    /// `min_reply_length`. Default: 0.
    pub min_reply_length: u32,
    /// `max_reply_length`. Default: 255.
    pub max_reply_length: u32,
}

/// DNS query types accepted by `DNS_CHECK type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DnsQueryType {
    /// A.
    A,
    /// NS.
    Ns,
    /// CNAME.
    Cname,
    /// SOA (keepalived's default).
    Soa,
    /// MX.
    Mx,
    /// TXT.
    Txt,
    /// AAAA.
    Aaaa,
}

/// `DNS_CHECK` specifics.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct DnsCheck {
    /// `type`. Default: SOA.
    pub query_type: DnsQueryType,
    /// `name`. Default: `.` (the root).
    pub name: String,
}

/// `HTTP_GET` / `SSL_GET` specifics.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct HttpCheck {
    /// `url { ... }` blocks; at least one.
    pub urls: Vec<HttpUrl>,
    /// `virtualhost`. Default: the real server's, then the virtual server's.
    pub virtualhost: Option<String>,
    /// `SSL_GET`: over TLS, certificate not verified (as keepalived 2.2.7).
    pub tls: bool,
    /// `enable_sni` (SSL_GET): send the virtual host as the TLS server name.
    pub enable_sni: bool,
}

/// One `url { ... }`.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct HttpUrl {
    /// `path` (required).
    pub path: String,
    /// `digest`: hex MD5 of the body.
    pub digest: Option<String>,
    /// `status_code` list of inclusive ranges. Default: 200-299.
    pub status_codes: Vec<(u16, u16)>,
    /// `virtualhost`.
    pub virtualhost: Option<String>,
}

impl HttpUrl {
    /// `url { path PATH }`: any 2xx status, no digest, no own virtualhost.
    pub fn new(path: impl Into<String>) -> Self {
        HttpUrl {
            path: path.into(),
            digest: None,
            status_codes: vec![(200, 299)],
            virtualhost: None,
        }
    }
}

/// `MISC_CHECK` specifics.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct MiscCheck {
    /// `misc_path` as argv (no shell).
    pub argv: Vec<String>,
    /// `misc_timeout` seconds. Default (`None`): `delay_loop`.
    pub timeout: Option<Duration>,
    /// `misc_dynamic`: exit status adjusts the weight. Default: false.
    pub dynamic: bool,
    /// `user USER [GROUP]`, else `script_user`.
    pub run_as: Option<lvs_healthcheck::checker::exec::RunAs>,
}
