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
pub use lvs_healthcheck::checker::exec::RunAs;
use lvs_healthcheck::checker::http::HttpCheck;
use lvs_healthcheck::checker::ping::PingCheck;
use lvs_healthcheck::checker::smtp::SmtpCheck;
use lvs_healthcheck::checker::tcp::TcpCheck;
use lvs_healthcheck::checker::tcp_half_open::TcpHalfOpenCheck;
use lvs_healthcheck::checker::udp::UdpCheck;
use lvs_ipvs::{Destination, Service, ServiceKey, SyncDaemon, Timeouts};

pub use crate::routes::{Removed, Route, RouteKind, RouteScope, Routing, Rule};
mod announce;
pub use announce::{DRAIN_TIMEOUT, PROTO_ANNOUNCE, RouteAnnounce, TABLE_ANNOUNCE, TABLE_LOCAL};
mod tracking;
pub use tracking::{
    FileCheck, InitFile, ParamMatch, ProcessMatch, TrackFile, TrackProcess, TrackedFile,
    TrackedProcess, parse_track_file,
};

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
    /// Programs run periodically whose exit status moves the priority of
    /// the instances that track them, or faults them (keepalived's
    /// `vrrp_script`); instances name them in
    /// [`VrrpInstance::track_scripts`].
    pub track_scripts: Vec<TrackScript>,
    /// Files whose integer moves the priority of the instances that track
    /// them (keepalived's `track_file`); instances name them in
    /// [`VrrpInstance::track_files`].
    pub track_files: Vec<TrackFile>,
    /// Processes whose number moves the priority of the instances that
    /// track them (keepalived's `vrrp_track_process`); instances name them
    /// in [`VrrpInstance::track_processes`].
    pub track_processes: Vec<TrackProcess>,
    /// Refuse to run any script a non-root user could change (keepalived's
    /// `enable_script_security`): the driver checks every script with
    /// [`insecure_scripts`](Self::insecure_scripts) at start and on reload.
    pub script_security: bool,
    /// Named pipes that receive a line per VRRP transition, per real server
    /// going up or down and per quorum change (keepalived's `notify_fifo`
    /// family).
    pub notify_fifos: NotifyFifos,
    /// Instances that change state together (keepalived's
    /// `vrrp_sync_group`); an instance is in at most one.
    pub sync_groups: Vec<SyncGroup>,
    /// Every VRRP instance waits this long in Initialize after the director
    /// starts, not after a reload (keepalived's `vrrp_startup_delay`: lets
    /// the network settle after boot). Default: none.
    pub vrrp_startup_delay: Duration,
    /// The network namespace the director runs in, by its `ip netns` name
    /// (`/run/netns/NAME`; keepalived's `net_namespace`). The program moves
    /// itself there with `enter_net_namespace` (feature `tokio`)
    /// before it opens anything; the driver refuses to start anywhere else,
    /// and a reload cannot change it. Default: wherever it is started.
    pub net_namespace: Option<String>,
    /// Addresses, routes and rules installed at start and removed at stop
    /// (keepalived's `static_ipaddress`, `static_routes`, `static_rules`).
    pub static_routing: Routing,
    /// Announce each healthy VIP as a route the local routing engine
    /// advertises (active-active directors behind ECMP; an lvs extension,
    /// `lvs_route_announce` in the file). Needs no VRRP instance.
    pub route_announce: Option<RouteAnnounce>,
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

    /// Announces the VIPs as routes (see [`RouteAnnounce`]).
    pub fn with_route_announce(mut self, announce: RouteAnnounce) -> DirectorConfig {
        self.route_announce = Some(announce);
        self
    }

    /// Adds a tracked script (instances name it in [`VrrpInstance::track_scripts`]).
    pub fn with_track_script(mut self, script: TrackScript) -> DirectorConfig {
        self.track_scripts.push(script);
        self
    }

    /// Adds a tracked file (instances name it in [`VrrpInstance::track_files`]).
    pub fn with_track_file(mut self, file: TrackFile) -> DirectorConfig {
        self.track_files.push(file);
        self
    }

    /// Adds a tracked process (instances name it in [`VrrpInstance::track_processes`]).
    pub fn with_track_process(mut self, process: TrackProcess) -> DirectorConfig {
        self.track_processes.push(process);
        self
    }

    /// The tracked file named `name`.
    pub fn track_file(&self, name: &str) -> Option<&TrackFile> {
        self.track_files.iter().find(|s| s.name == name)
    }

    /// The tracked process named `name`.
    pub fn track_process(&self, name: &str) -> Option<&TrackProcess> {
        self.track_processes.iter().find(|s| s.name == name)
    }

    /// Adds a sync group (its members are instances of this configuration).
    pub fn with_sync_group(mut self, group: SyncGroup) -> DirectorConfig {
        self.sync_groups.push(group);
        self
    }

    /// The sync group `instance` is a member of, if any.
    pub fn sync_group_of(&self, instance: &str) -> Option<&SyncGroup> {
        self.sync_groups
            .iter()
            .find(|g| g.members.iter().any(|m| m == instance))
    }

    /// The tracked script named `name`.
    pub fn track_script(&self, name: &str) -> Option<&TrackScript> {
        self.track_scripts.iter().find(|s| s.name == name)
    }

    /// The router configuration `inst` runs: [`VrrpInstance::router_config`]
    /// plus one [`lvs_vrrp::Track`] per script it tracks (see
    /// [`VrrpInstance::router_config_with`]).
    ///
    /// Tracked files are value tracks (`file:NAME`, see
    /// [`TrackedFile::router_track`]) and tracked processes up/down tracks
    /// (`process:NAME`, weighted as scripts are); an address owner keeps
    /// only the weight-0 ones.
    pub fn router_config_of(&self, inst: &VrrpInstance) -> lvs_vrrp::Config {
        let mut cfg = inst.router_config_with(&self.track_scripts);
        let owner = inst.router.priority == 255;
        for t in &inst.track_files {
            let Some(spec) = self.track_file(&t.file) else {
                continue; // validate() refuses it
            };
            let track = t.router_track(spec);
            if owner && track.weight != 0 {
                continue;
            }
            cfg.tracks.push(track);
        }
        for t in &inst.track_processes {
            let Some(spec) = self.track_process(&t.process) else {
                continue;
            };
            let r = t.resolve(spec);
            if owner && r.weight != 0 {
                continue;
            }
            // Until the first scan the router counts it up (nothing adjusted
            // or faulted); the director holds the instance until then.
            let mut track = lvs_vrrp::Track::new(&r.track_name, r.router_weight());
            track.initially_up = r.initially_up(false);
            cfg.tracks.push(track);
        }
        cfg
    }

    /// Every program this configuration runs (notify scripts, tracked
    /// scripts, `MISC_CHECK`s), as written.
    pub fn programs(&self) -> Vec<&str> {
        let mut notify: Vec<&Option<Script>> = Vec::new();
        for i in &self.instances {
            let n = &i.notify;
            notify.extend([&n.master, &n.backup, &n.fault, &n.stop, &n.any]);
        }
        for g in &self.sync_groups {
            let n = &g.notify;
            notify.extend([&n.master, &n.backup, &n.fault, &n.stop, &n.any]);
        }
        let real_servers = self.virtual_servers.iter().flat_map(|vs| &vs.real_servers);
        for rs in real_servers.clone() {
            notify.extend([&rs.notify_up, &rs.notify_down]);
        }
        let mut out: Vec<&str> = notify
            .into_iter()
            .flatten()
            .map(|s| s.argv[0].as_str())
            .collect();
        out.extend(self.track_scripts.iter().map(|s| s.script.argv[0].as_str()));
        for rs in real_servers {
            for p in &rs.probes {
                if let Check::Exec(c) = &p.check {
                    out.push(&c.program);
                }
            }
        }
        out.sort_unstable();
        out.dedup();
        out
    }

    /// The programs a non-root user could change, each with why, found as
    /// keepalived's `enable_script_security` does (this reads the file
    /// system): a bare name is looked up on `PATH`; the file and every
    /// directory above it must be owned by root, and neither the file nor a
    /// directory without the sticky bit may be writable by others or by a
    /// group other than root's. A program that cannot be found is listed too.
    pub fn insecure_scripts(&self) -> Vec<(String, String)> {
        self.programs()
            .into_iter()
            .filter_map(|p| {
                crate::security::check(p)
                    .err()
                    .map(|why| (p.to_string(), why))
            })
            .collect()
    }

    /// With [`script_security`](Self::script_security) on, every script a
    /// non-root user could change ([`insecure_scripts`](Self::insecure_scripts)),
    /// in one error; `Ok` when it is off or all are safe. The driver makes
    /// this check at start and on reload; a program's `--check-config`
    /// should make it too.
    pub fn check_script_security(&self) -> Result<(), InsecureScripts> {
        if !self.script_security {
            return Ok(());
        }
        let bad = self.insecure_scripts();
        if bad.is_empty() {
            Ok(())
        } else {
            Err(InsecureScripts(bad))
        }
    }

    /// The instance named `name`.
    pub fn instance(&self, name: &str) -> Option<&VrrpInstance> {
        self.instances.iter().find(|i| i.name == name)
    }

    /// The virtual server with this key (for a group: its first member's).
    pub fn virtual_server(&self, key: &ServiceKey) -> Option<&VirtualServer> {
        self.virtual_servers.iter().find(|v| v.service.key == *key)
    }

    /// The virtual server one of whose members is `key` (a group's other
    /// members included).
    pub fn virtual_server_of(&self, key: &ServiceKey) -> Option<&VirtualServer> {
        self.virtual_servers
            .iter()
            .find(|v| v.member_keys().any(|k| k == *key))
    }

    /// The full-reconcile period ([`reconcile_interval`](Self::reconcile_interval)
    /// or 60 s).
    pub fn reconcile_period(&self) -> Duration {
        self.reconcile_interval
            .unwrap_or(Duration::from_secs(60))
            .max(Duration::from_millis(100))
    }

    /// Checks what the types cannot: unique instance names, unique service
    /// keys (every member of every group counted), unique real servers per
    /// service, VIPs of the router's family, routes and rules well formed
    /// (see [`Routing::validate`]),
    /// the sync daemon's instance exists, every router configuration valid,
    /// unique script names, every tracked script defined, its timing sane.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let mut scripts = std::collections::HashSet::new();
        for s in &self.track_scripts {
            if !scripts.insert(s.name.as_str()) {
                return Err(ConfigError::DuplicateScript(s.name.clone()));
            }
            s.policy()
                .validate()
                .map_err(|e| ConfigError::ScriptTiming {
                    script: s.name.clone(),
                    why: e.to_string(),
                })?;
        }
        let mut files = std::collections::HashSet::new();
        for f in &self.track_files {
            if !files.insert(f.name.as_str()) {
                return Err(ConfigError::DuplicateTrackName {
                    kind: "file",
                    name: f.name.clone(),
                });
            }
            if !(-254..=254).contains(&f.weight) {
                return Err(ConfigError::TrackRange {
                    kind: "file",
                    name: f.name.clone(),
                    why: format!("weight {} is outside -254..=254", f.weight),
                });
            }
        }
        let mut procs = std::collections::HashSet::new();
        for p in &self.track_processes {
            if !procs.insert(p.name.as_str()) {
                return Err(ConfigError::DuplicateTrackName {
                    kind: "process",
                    name: p.name.clone(),
                });
            }
            let why = if !(-254..=254).contains(&p.weight) {
                Some(format!("weight {} is outside -254..=254", p.weight))
            } else if p.quorum > p.quorum_max {
                Some(format!(
                    "quorum {} is above quorum_max {}",
                    p.quorum, p.quorum_max
                ))
            } else if p.process.name.is_empty() {
                Some("no process name".to_string())
            } else {
                None
            };
            if let Some(why) = why {
                return Err(ConfigError::TrackRange {
                    kind: "process",
                    name: p.name.clone(),
                    why,
                });
            }
        }
        for vs in &self.virtual_servers {
            for rs in &vs.real_servers {
                for c in &rs.file_checks {
                    let why = if !files.contains(c.file.as_str()) {
                        Some("it is not defined".to_string())
                    } else if c.weight.is_some_and(|(w, _)| w == i32::MIN) {
                        Some(format!(
                            "weight {} is outside -{max}..={max}",
                            i32::MIN,
                            max = i32::MAX
                        ))
                    } else {
                        None
                    };
                    if let Some(why) = why {
                        return Err(ConfigError::FileCheck {
                            real_server: rs.destination.addr,
                            file: c.file.clone(),
                            why,
                        });
                    }
                }
            }
        }
        let mut names = std::collections::HashSet::new();
        for i in &self.instances {
            let mut seen = std::collections::HashSet::new();
            for t in &i.track_files {
                if !files.contains(t.file.as_str()) {
                    return Err(ConfigError::UnknownTrack {
                        instance: i.name.clone(),
                        kind: "file",
                        name: t.file.clone(),
                    });
                }
                if !seen.insert(t.file.as_str()) {
                    return Err(ConfigError::DuplicateTracked {
                        instance: i.name.clone(),
                        kind: "file",
                        name: t.file.clone(),
                    });
                }
            }
            let mut seen = std::collections::HashSet::new();
            for t in &i.track_processes {
                if !procs.contains(t.process.as_str()) {
                    return Err(ConfigError::UnknownTrack {
                        instance: i.name.clone(),
                        kind: "process",
                        name: t.process.clone(),
                    });
                }
                if !seen.insert(t.process.as_str()) {
                    return Err(ConfigError::DuplicateTracked {
                        instance: i.name.clone(),
                        kind: "process",
                        name: t.process.clone(),
                    });
                }
            }
            if !names.insert(i.name.as_str()) {
                return Err(ConfigError::DuplicateInstance(i.name.clone()));
            }
            if i.interface.is_empty() {
                return Err(ConfigError::NoInterface(i.name.clone()));
            }
            if let Some(v) = &i.vmac {
                let why = if v.name.is_empty() || v.name.len() > 15 {
                    Some("an interface name is 1 to 15 bytes")
                } else if v.name.contains(['/', ':']) || v.name.chars().any(char::is_whitespace) {
                    Some("an interface name has no '/', ':' or spaces")
                } else if v.name == i.interface {
                    Some("it is the instance's interface")
                } else if self.instances.iter().any(|o| {
                    o.name != i.name
                        && (o.interface == v.name
                            || o.vmac.as_ref().is_some_and(|ov| ov.name == v.name))
                }) {
                    Some("another instance uses that interface")
                } else {
                    None
                };
                if let Some(why) = why {
                    return Err(ConfigError::Vmac {
                        instance: i.name.clone(),
                        name: v.name.clone(),
                        why: why.into(),
                    });
                }
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
            let mut tracked = std::collections::HashSet::new();
            for t in &i.track_scripts {
                if !scripts.contains(t.script.as_str()) {
                    return Err(ConfigError::UnknownScript {
                        instance: i.name.clone(),
                        script: t.script.clone(),
                    });
                }
                if !tracked.insert(t.script.as_str()) {
                    return Err(ConfigError::DuplicateTrackScript {
                        instance: i.name.clone(),
                        script: t.script.clone(),
                    });
                }
            }
            self.router_config_of(i)
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
            for key in vs.member_keys() {
                if !keys.insert(key) {
                    return Err(ConfigError::DuplicateService(key));
                }
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
        if let Some(inst) = self.sync_daemon.as_ref().and_then(|s| s.instance.as_ref())
            && self.instance(inst).is_none()
        {
            return Err(ConfigError::UnknownInstance(inst.clone()));
        }
        if let Some(a) = &self.route_announce {
            a.validate(self)?;
        }
        self.static_routing
            .validate()
            .map_err(|why| ConfigError::Routing {
                owner: "static".into(),
                why,
            })?;
        for i in &self.instances {
            i.routing().validate().map_err(|why| ConfigError::Routing {
                owner: format!("VRRP instance {:?}", i.name),
                why,
            })?;
        }
        self.validate_sync_groups()
    }

    /// Unique group names, at least one member each, every member an
    /// instance, in one group only, named once.
    fn validate_sync_groups(&self) -> Result<(), ConfigError> {
        let mut groups = std::collections::HashSet::new();
        // Member → its group.
        let mut owner: std::collections::HashMap<&str, &str> = std::collections::HashMap::new();
        for g in &self.sync_groups {
            if !groups.insert(g.name.as_str()) {
                return Err(ConfigError::DuplicateSyncGroup(g.name.clone()));
            }
            if g.members.is_empty() {
                return Err(ConfigError::EmptySyncGroup(g.name.clone()));
            }
            for m in &g.members {
                if self.instance(m).is_none() {
                    return Err(ConfigError::SyncGroupMember {
                        group: g.name.clone(),
                        instance: m.clone(),
                        why: "no such VRRP instance".into(),
                    });
                }
                if let Some(first) = owner.insert(m, &g.name) {
                    let why = if first == g.name {
                        "named twice".to_string()
                    } else {
                        format!("already a member of sync group {first:?}")
                    };
                    return Err(ConfigError::SyncGroupMember {
                        group: g.name.clone(),
                        instance: m.clone(),
                        why,
                    });
                }
            }
        }
        Ok(())
    }
}

/// VRRP instances that change state together (keepalived's
/// `vrrp_sync_group`): one member in FAULT puts the others in FAULT; a
/// member leaving Master for Backup takes the others with it; a member
/// becoming Master takes the others with it, and a member whose
/// Master_Down_Timer expires waits until every member finds no Master
/// (so one lost link does not split the group between two nodes). The
/// group leaves FAULT, every member to Backup, when no member has a fault
/// of its own. A group's own tracked interfaces and scripts are the
/// members' (add them to each member); as keepalived warns, a weighted
/// track on one member only makes members' priorities differ, which makes
/// the group re-elect endlessly.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SyncGroup {
    /// Its name (keepalived's `vrrp_sync_group NAME`).
    pub name: String,
    /// The member instances' names.
    pub members: Vec<String>,
    /// Programs run when the group as a whole changes state (`notify`
    /// gets `GROUP name STATE 0` appended).
    pub notify: Notify,
}

impl SyncGroup {
    /// A group of the named instances, with no notify scripts.
    pub fn new(name: &str, members: &[&str]) -> SyncGroup {
        SyncGroup {
            name: name.to_string(),
            members: members.iter().map(|m| m.to_string()).collect(),
            notify: Notify::default(),
        }
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
    /// Two tracked scripts share a name.
    #[error("two tracked scripts are named {0:?}")]
    DuplicateScript(String),
    /// An instance tracks a script that is not defined.
    #[error("VRRP instance {instance:?} tracks script {script:?}, which is not defined")]
    UnknownScript {
        /// The instance.
        instance: String,
        /// The script it names.
        script: String,
    },
    /// An instance tracks one script twice.
    #[error("VRRP instance {instance:?} tracks script {script:?} twice")]
    DuplicateTrackScript {
        /// The instance.
        instance: String,
        /// The script.
        script: String,
    },
    /// Two tracked files (or two tracked processes) share a name.
    #[error("two tracked {kind}s are named {name:?}")]
    DuplicateTrackName {
        /// `file` or `process`.
        kind: &'static str,
        /// The name.
        name: String,
    },
    /// An instance tracks a file or process that is not defined.
    #[error("VRRP instance {instance:?} tracks {kind} {name:?}, which is not defined")]
    UnknownTrack {
        /// The instance.
        instance: String,
        /// `file` or `process`.
        kind: &'static str,
        /// The name it gives.
        name: String,
    },
    /// A real server's file check (keepalived's `FILE_CHECK`) is wrong.
    #[error("real server {real_server}: FILE_CHECK of track_file {file:?}: {why}")]
    FileCheck {
        /// The real server.
        real_server: SocketAddr,
        /// The file it names.
        file: String,
        /// What is wrong.
        why: String,
    },
    /// An instance tracks one file or process twice.
    #[error("VRRP instance {instance:?} tracks {kind} {name:?} twice")]
    DuplicateTracked {
        /// The instance.
        instance: String,
        /// `file` or `process`.
        kind: &'static str,
        /// The name.
        name: String,
    },
    /// A tracked file's or process's setting is out of range.
    #[error("tracked {kind} {name:?}: {why}")]
    TrackRange {
        /// `file` or `process`.
        kind: &'static str,
        /// The name.
        name: String,
        /// What is wrong.
        why: String,
    },
    /// A tracked script's interval, timeout, rise or fall is unusable.
    #[error("tracked script {script:?}: {why}")]
    ScriptTiming {
        /// The script.
        script: String,
        /// Why.
        why: String,
    },
    /// An instance's macvlan ([`Vmac`]) cannot be made.
    #[error("VRRP instance {instance:?}: use_vmac {name:?}: {why}")]
    Vmac {
        /// The instance.
        instance: String,
        /// The macvlan's name.
        name: String,
        /// Why.
        why: String,
    },
    /// Two sync groups share a name.
    #[error("two sync groups are named {0:?}")]
    DuplicateSyncGroup(String),
    /// A reload names another network namespace: the running director
    /// cannot move its sockets, threads and addresses there.
    #[error(
        "net_namespace cannot change on reload (running in {running:?}, the new \
         configuration says {new:?}); restart the director instead"
    )]
    NetNamespaceChanged {
        /// The running one (`None`: where it was started).
        running: Option<String>,
        /// The new configuration's.
        new: Option<String>,
    },
    /// A sync group without members.
    #[error("sync group {0:?} has no members")]
    EmptySyncGroup(String),
    /// A sync group member that does not exist or is listed twice.
    #[error("sync group {group:?}: member {instance:?}: {why}")]
    SyncGroupMember {
        /// The group.
        group: String,
        /// The member named.
        instance: String,
        /// Why it is refused.
        why: String,
    },
    /// A route, rule or static address that cannot be installed.
    #[error("{owner}: {why}")]
    Routing {
        /// `static`, or the instance.
        owner: String,
        /// Why.
        why: String,
    },
    /// [`DirectorConfig::route_announce`] cannot be carried out.
    #[error("route announcement: {0}")]
    RouteAnnounce(String),
}

/// Scripts refused under [`DirectorConfig::script_security`]: each
/// program with why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("script security (enable_script_security): {}", describe(.0))]
pub struct InsecureScripts(pub Vec<(String, String)>);

pub(crate) fn describe(bad: &[(String, String)]) -> String {
    bad.iter()
        .map(|(p, why)| format!("{p}: {why}"))
        .collect::<Vec<_>>()
        .join("; ")
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
    /// Scripts (of [`DirectorConfig::track_scripts`]) whose result changes
    /// the priority (or faults), keepalived's `track_script`.
    pub track_scripts: Vec<TrackedScript>,
    /// Files (of [`DirectorConfig::track_files`]) whose value changes the
    /// priority (or faults), keepalived's `track_file`.
    pub track_files: Vec<TrackedFile>,
    /// Processes (of [`DirectorConfig::track_processes`]) whose number
    /// changes the priority (or faults), keepalived's `track_process`.
    pub track_processes: Vec<TrackedProcess>,
    /// Whether the instance's own interface going down is a fault
    /// (keepalived's default; `dont_track_primary` turns it off).
    pub track_link: bool,
    /// Programs run on transitions.
    pub notify: Notify,
    /// Routes installed while it is Master (keepalived's `virtual_routes`),
    /// after its VIPs.
    pub routes: Vec<Route>,
    /// Rules installed while it is Master (keepalived's `virtual_rules`),
    /// after its routes.
    pub rules: Vec<Rule>,
    /// keepalived's `use_vmac`: the VIPs live on a macvlan of
    /// [`interface`](Self::interface) whose MAC is the virtual MAC, and
    /// adverts leave from it. `None` (the default): the VIPs go on the
    /// interface itself with its own MAC.
    pub vmac: Option<Vmac>,
}

/// keepalived's `use_vmac [NAME]` (and `vmac_xmit_base`): the instance gets
/// a macvlan in private mode on its interface whose hardware address is the
/// RFC 5798 virtual MAC (00:00:5e:00:01:VRID, IPv6 00:00:5e:00:02:VRID).
/// The tokio driver makes it when the instance starts (or takes over one
/// already there on the same interface), sets the sysctls keepalived sets,
/// brings it up whatever the state, puts the VIPs on it when Master, sends
/// adverts and gratuitous ARP / NA from it, and removes it when the
/// instance stops. A failover then moves the VIPs without moving their
/// MAC: neighbours' caches stay right even when no gratuitous ARP reaches them.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Vmac {
    /// The macvlan's name (at most 15 bytes).
    pub name: String,
    /// keepalived's `vmac_xmit_base`: adverts are sent and received on the
    /// base interface (with its MAC); only the VIPs use the macvlan.
    pub xmit_base: bool,
}

impl Vmac {
    /// A macvlan called `name`, adverts on it.
    pub fn new(name: &str) -> Vmac {
        Vmac {
            name: name.to_string(),
            xmit_base: false,
        }
    }

    /// keepalived's default name for the macvlan of `vrid`: `vrrp.VRID`.
    pub fn default_name(vrid: u8) -> String {
        format!("vrrp.{vrid}")
    }

    /// Adverts on the base interface instead (`vmac_xmit_base`).
    pub fn with_xmit_base(mut self, xmit_base: bool) -> Vmac {
        self.xmit_base = xmit_base;
        self
    }
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
            track_scripts: Vec::new(),
            track_files: Vec::new(),
            track_processes: Vec::new(),
            track_link: true,
            notify: Notify::default(),
            routes: Vec::new(),
            rules: Vec::new(),
            vmac: None,
        }
    }

    /// Runs the instance on a macvlan with the virtual MAC ([`Vmac`]).
    pub fn with_vmac(mut self, vmac: Vmac) -> VrrpInstance {
        self.vmac = Some(vmac);
        self
    }

    /// The interface adverts are sent and received on: the macvlan with
    /// [`vmac`](Self::vmac) (unless `xmit_base`), else
    /// [`interface`](Self::interface).
    pub fn advert_interface(&self) -> &str {
        match &self.vmac {
            Some(v) if !v.xmit_base => &v.name,
            _ => &self.interface,
        }
    }

    /// Adds a route held while Master.
    pub fn with_route(mut self, route: Route) -> VrrpInstance {
        self.routes.push(route);
        self
    }

    /// Adds a rule held while Master.
    pub fn with_rule(mut self, rule: Rule) -> VrrpInstance {
        self.rules.push(rule);
        self
    }

    /// Its routes and rules, as installed on becoming Master.
    pub fn routing(&self) -> Routing {
        Routing::new(self.routes.clone(), self.rules.clone())
    }

    /// Tracks `script` (a name in [`DirectorConfig::track_scripts`]) with
    /// the script's own weight.
    pub fn with_track_script(mut self, script: TrackedScript) -> VrrpInstance {
        self.track_scripts.push(script);
        self
    }

    /// Tracks `file` (a name in [`DirectorConfig::track_files`]).
    pub fn with_track_file(mut self, file: TrackedFile) -> VrrpInstance {
        self.track_files.push(file);
        self
    }

    /// Tracks `process` (a name in [`DirectorConfig::track_processes`]).
    pub fn with_track_process(mut self, process: TrackedProcess) -> VrrpInstance {
        self.track_processes.push(process);
        self
    }

    /// The router configuration with the advertised VIPs and the tracked
    /// interfaces filled in, but no tracked scripts: an instance that
    /// tracks scripts runs [`router_config_with`](Self::router_config_with)
    /// (or [`DirectorConfig::router_config_of`]).
    pub fn router_config(&self) -> lvs_vrrp::Config {
        self.router_config_with(&[])
    }

    /// The router configuration actually run: [`router`](Self::router) with
    /// the advertised VIPs, the tracked interfaces and one track per tracked
    /// script of `scripts` (named `script:NAME`, see
    /// [`TrackedScript::resolve`]). As keepalived does, an address owner
    /// (priority 255) drops weighted scripts: its priority never changes,
    /// only weight-0 scripts (FAULT) apply to it.
    pub fn router_config_with(&self, scripts: &[TrackScript]) -> lvs_vrrp::Config {
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
        // The router reports the virtual MAC in its announcements.
        cfg.virtual_mac = cfg.virtual_mac || self.vmac.is_some();
        cfg.tracks = self
            .track_interfaces
            .iter()
            .map(|t| lvs_vrrp::Track::new(&t.track_name(), t.weight))
            .collect();
        for t in &self.track_scripts {
            let Some(spec) = scripts.iter().find(|s| s.name == t.script) else {
                continue; // validate() refuses it
            };
            let r = t.resolve(spec);
            if r.weight != 0 && self.router.priority == 255 {
                continue;
            }
            let mut track = lvs_vrrp::Track::new(&r.track_name, r.router_weight());
            track.initially_up = r.initially_up(spec.init_fail);
            cfg.tracks.push(track);
        }
        cfg
    }

    /// The interface a VIP lives on: its own, else the macvlan with
    /// [`vmac`](Self::vmac), else the instance's.
    pub fn vip_interface<'a>(&'a self, vip: &'a Vip) -> &'a str {
        vip.interface
            .as_deref()
            .or(self.vmac.as_ref().map(|v| v.name.as_str()))
            .unwrap_or(&self.interface)
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
    /// keepalived's `no_track`: the address deleted while Master does not
    /// make the instance step down and take over again (a static address
    /// is not put back); see [`Director::handle_removed`](crate::Director::handle_removed).
    pub no_track: bool,
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
            no_track: false,
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

/// A program run every [`interval`](Self::interval) whose exit status is
/// tracked by VRRP instances (keepalived's `vrrp_script`): exit 0 is
/// success; a non-zero status, a signal or running past
/// [`timeout`](Self::timeout) is failure. `rise` successes in a row make a
/// failed script succeed, `fall` failures in a row make a succeeding one
/// fail; before its first result a script is neither, and the first result
/// decides either way (keepalived's "one success is enough"), unless
/// [`init_fail`](Self::init_fail) starts it failed.
///
/// What the result does, per instance that tracks it (the instance may
/// override the weight and `reverse`, see [`TrackedScript`]), as keepalived:
/// - weight 0: while the script fails the instance is in FAULT;
/// - weight > 0: added to the priority while the script succeeds;
/// - weight < 0: added (so subtracted) while the script fails;
/// - `reverse`: the adjustment goes the other way (weight > 0 is
///   subtracted while the script succeeds, weight < 0 is added back while
///   it fails; weight 0: FAULT while it succeeds).
///
/// The effective priority stays within 1..=254; an address owner
/// (priority 255) ignores weighted scripts.
///
/// ```
/// use std::time::Duration;
/// use lvs_director::{Script, TrackScript};
///
/// let check = Script::new(["/usr/bin/pgrep", "haproxy"]).unwrap();
/// let s = TrackScript::new("chk_haproxy", check)
///     .with_interval(Duration::from_secs(2))
///     .with_fall(2)
///     .with_weight(-20);
/// assert_eq!(s.timeout(), Duration::from_secs(2));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TrackScript {
    /// Its name (keepalived's `vrrp_script NAME`).
    pub name: String,
    /// The program and its arguments (no shell).
    pub script: Script,
    /// Time between the starts of two runs. Default: 1 s.
    pub interval: Duration,
    /// A run still going after this long is killed and counts as a
    /// failure; `None` is the interval (keepalived's default).
    pub timeout_after: Option<Duration>,
    /// Successes in a row that make a failed script succeed. Default: 1.
    pub rise: u32,
    /// Failures in a row that make a succeeding script fail. Default: 1.
    pub fall: u32,
    /// Priority adjustment, -253..=253; 0 means failure is a FAULT.
    pub weight: i16,
    /// The adjustment goes the other way (see above).
    pub reverse: bool,
    /// Start failed instead of undecided (keepalived's `init_fail`).
    pub init_fail: bool,
}

impl TrackScript {
    /// A script run every second, rise and fall 1, weight 0 (failure is a
    /// FAULT), not reversed, undecided until its first result.
    pub fn new(name: &str, script: Script) -> TrackScript {
        TrackScript {
            name: name.to_string(),
            script,
            interval: Duration::from_secs(1),
            timeout_after: None,
            rise: 1,
            fall: 1,
            weight: 0,
            reverse: false,
            init_fail: false,
        }
    }

    /// Sets the interval.
    pub fn with_interval(mut self, interval: Duration) -> TrackScript {
        self.interval = interval;
        self
    }

    /// Sets the timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> TrackScript {
        self.timeout_after = Some(timeout);
        self
    }

    /// Sets `rise`.
    pub fn with_rise(mut self, rise: u32) -> TrackScript {
        self.rise = rise;
        self
    }

    /// Sets `fall`.
    pub fn with_fall(mut self, fall: u32) -> TrackScript {
        self.fall = fall;
        self
    }

    /// Sets the weight.
    pub fn with_weight(mut self, weight: i16) -> TrackScript {
        self.weight = weight;
        self
    }

    /// Sets `reverse`.
    pub fn with_reverse(mut self, reverse: bool) -> TrackScript {
        self.reverse = reverse;
        self
    }

    /// Sets `init_fail`.
    pub fn with_init_fail(mut self, init_fail: bool) -> TrackScript {
        self.init_fail = init_fail;
        self
    }

    /// The timeout in force ([`timeout_after`](Self::timeout_after) or the interval).
    pub fn timeout(&self) -> Duration {
        self.timeout_after.unwrap_or(self.interval)
    }

    /// The rise/fall policy its runs are judged by (lvs-healthcheck's):
    /// the first run at once, intervals counted from each run's start.
    pub fn policy(&self) -> Policy {
        use lvs_healthcheck::InitialState;
        Policy::new(self.interval, self.timeout())
            .with_rise(self.rise)
            .with_fall(self.fall)
            .with_from_start(true)
            .with_initial(if self.init_fail {
                InitialState::Down
            } else {
                InitialState::Unknown
            })
    }

    /// The probe that runs it on lvs-healthcheck's runner (an exec check).
    pub fn probe(&self) -> Probe {
        let args: Vec<&str> = self.script.argv[1..].iter().map(String::as_str).collect();
        let exec = ExecCheck::new(&self.script.argv[0], &args).with_run_as(self.script.run_as);
        let check = Check::Exec(exec);
        let mut p = Probe::new(check, self.policy());
        p.description = format!("vrrp_script {}", self.name);
        p
    }
}

/// One script an instance tracks (keepalived's `track_script` entry), with
/// an optional override of the script's weight and `reverse`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct TrackedScript {
    /// The script's name in [`DirectorConfig::track_scripts`].
    pub script: String,
    /// This instance's weight; `None` is the script's.
    pub weight: Option<i16>,
    /// This instance's `reverse`; `None` is the script's.
    pub reverse: Option<bool>,
}

/// A tracked script's weight and direction for one instance.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedTrack {
    /// The signal's name in [`lvs_vrrp::Router::set_track`]: `script:NAME`.
    pub track_name: String,
    /// The weight in force.
    pub weight: i16,
    /// Whether the adjustment is reversed.
    pub reverse: bool,
}

impl ResolvedTrack {
    /// The weight of the router's track. The router adds a positive weight
    /// while its signal is up and a negative one while it is down; a
    /// reversed script is the opposite weight on the inverted signal
    /// ([`signal`](Self::signal)), which is exactly keepalived's reversal.
    pub fn router_weight(&self) -> i16 {
        if self.reverse {
            -self.weight
        } else {
            self.weight
        }
    }

    /// The router's signal for a script result.
    pub fn signal(&self, script_ok: bool) -> bool {
        script_ok != self.reverse
    }

    /// The signal before the script's first result: failed with
    /// `init_fail` (for weight 0: FAULT, reversed or not, as keepalived
    /// starts it); otherwise the state that adjusts nothing (keepalived
    /// applies no weight until the first result; an instance with an
    /// undecided weight-0 script is held in Initialize by the director).
    pub fn initially_up(&self, init_fail: bool) -> bool {
        match (init_fail, self.weight) {
            (true, 0) => false,
            (true, _) => self.signal(false),
            (false, 0) => true,
            (false, _) => self.router_weight() < 0,
        }
    }
}

impl TrackedScript {
    /// Tracks the script named `script` with its own weight.
    pub fn new(script: &str) -> TrackedScript {
        TrackedScript {
            script: script.to_string(),
            weight: None,
            reverse: None,
        }
    }

    /// Overrides the weight.
    pub fn with_weight(mut self, weight: i16) -> TrackedScript {
        self.weight = Some(weight);
        self
    }

    /// Overrides `reverse`.
    pub fn with_reverse(mut self, reverse: bool) -> TrackedScript {
        self.reverse = Some(reverse);
        self
    }

    /// The signal's name in [`lvs_vrrp::Router::set_track`].
    pub fn track_name(&self) -> String {
        format!("script:{}", self.script)
    }

    /// Weight and direction for this instance, given the script.
    pub fn resolve(&self, spec: &TrackScript) -> ResolvedTrack {
        ResolvedTrack {
            track_name: self.track_name(),
            weight: self.weight.unwrap_or(spec.weight),
            reverse: self.reverse.unwrap_or(spec.reverse),
        }
    }
}

/// A program and its arguments (run without a shell). Built with
/// [`Script::new`], which refuses an empty argv.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Script {
    /// Program and arguments; never empty.
    pub argv: Vec<String>,
    /// The user and group it runs as (keepalived's `script_user`, or the
    /// script's own `USER [GROUP]`); `None`: the director's own.
    pub run_as: Option<RunAs>,
}

impl Script {
    /// A script from its argv, run as the director's user; `None` when empty.
    pub fn new<S: Into<String>>(argv: impl IntoIterator<Item = S>) -> Option<Script> {
        let argv: Vec<String> = argv.into_iter().map(Into::into).collect();
        (!argv.is_empty()).then_some(Script { argv, run_as: None })
    }

    /// Runs it as `run_as`.
    pub fn with_run_as(mut self, run_as: Option<RunAs>) -> Script {
        self.run_as = run_as;
        self
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

/// One IPVS service and its real servers — or, for a group (keepalived's
/// `virtual_server group NAME`), several services sharing one set of real
/// servers, each real server checked once for all of them.
///
/// A group's first member is [`service`](Self::service); the others are
/// [`group`](Self::group)'s `more_keys`, each a copy of `service` (scheduler,
/// persistence, flags) under its own key, with the same destinations.
///
/// ```
/// use lvs_director::{RealServer, ServiceGroup, VirtualServer};
/// use lvs_ipvs::{Destination, Family, ForwardMethod, Scheduler, Service, ServiceKey};
///
/// let first = ServiceKey::tcp("192.0.2.1:80".parse().unwrap());
/// let mark = ServiceKey::fwmark(Family::Inet, 7);
/// let dst = Destination::new("192.0.2.11:80".parse().unwrap(), ForwardMethod::DirectRoute);
/// let vs = VirtualServer::new(Service::new(first, Scheduler::RoundRobin))
///     .with_group(ServiceGroup::new("VSG_1", vec![mark]))
///     .with_real_server(RealServer::new(dst));
/// assert_eq!(vs.member_keys().collect::<Vec<_>>(), vec![first, mark]);
/// ```
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct VirtualServer {
    /// The service as the kernel holds it; for a group, its first member.
    pub service: Service,
    /// The group it stands for (`None`: the one service).
    pub group: Option<ServiceGroup>,
    /// Its real servers, in configuration order.
    pub real_servers: Vec<RealServer>,
    /// Minimum live weight (keepalived's `quorum`). The quorum is lost when
    /// the live weight falls below `quorum - hysteresis` (or to 0) and
    /// gained again at `quorum + hysteresis`. Default: 1.
    pub quorum: u32,
    /// keepalived's `hysteresis`: the margin around [`quorum`](Self::quorum)
    /// that keeps the quorum state from flapping. Default: 0.
    pub hysteresis: u32,
    /// Added while the quorum is lost.
    pub sorry_server: Option<Destination>,
    /// Run when the quorum is gained (keepalived's `quorum_up`).
    pub quorum_up: Option<Script>,
    /// Run when the quorum is lost (keepalived's `quorum_down`).
    pub quorum_down: Option<Script>,
    /// keepalived's `omega`: when the virtual server is taken away (the
    /// director stops, or a reload removes it), run `quorum_down` if the
    /// quorum was held and each healthy real server's `notify_down`.
    pub omega: bool,
    /// keepalived's `ha_suspend`: the probes of this service run only while
    /// its address (a group: any member's) is on this host — on the Master,
    /// not the Backup; while suspended each real server keeps the health it
    /// had. The driver reports the host's addresses
    /// ([`Director::handle_local_addresses`](crate::Director::handle_local_addresses));
    /// until it does, probes run. No effect on a firewall-mark service,
    /// which has no address (keepalived clears it there). Default: off.
    pub ha_suspend: bool,
}

impl VirtualServer {
    /// A service with no real servers yet, quorum 1, no sorry server.
    pub fn new(service: Service) -> VirtualServer {
        VirtualServer {
            service,
            group: None,
            real_servers: Vec::new(),
            quorum: 1,
            hysteresis: 0,
            sorry_server: None,
            quorum_up: None,
            quorum_down: None,
            omega: false,
            ha_suspend: false,
        }
    }

    /// The addresses whose presence on the host lets an
    /// [`ha_suspend`](Self::ha_suspend) service's probes run: every
    /// member's (none for firewall marks).
    pub fn addresses(&self) -> impl Iterator<Item = IpAddr> + '_ {
        self.member_keys().filter_map(|k| match k {
            ServiceKey::Addr { addr, .. } => Some(addr.ip()),
            _ => None,
        })
    }

    /// Makes it a group: `service` is the first member, `group`'s keys the others.
    pub fn with_group(mut self, group: ServiceGroup) -> VirtualServer {
        self.group = Some(group);
        self
    }

    /// Every member's key: [`service`](Self::service)'s, then the group's others.
    pub fn member_keys(&self) -> impl Iterator<Item = ServiceKey> + '_ {
        std::iter::once(self.service.key)
            .chain(self.group.iter().flat_map(|g| g.more_keys.iter().copied()))
    }

    /// Every member as the kernel holds it: [`service`](Self::service)
    /// under each of [`member_keys`](Self::member_keys). A member of the
    /// other family than the first (a group of tunnelled servers may mix
    /// them) gets the host persistence mask of its own family.
    pub fn member_services(&self) -> impl Iterator<Item = Service> + '_ {
        self.member_keys().map(|key| {
            let mut s = self.service.clone();
            s.key = key;
            if let Some(p) = s.persistence.as_mut() {
                let v6 = matches!(p.mask, lvs_ipvs::PersistenceMask::V6Prefix(_));
                if v6 != (key.family() == lvs_ipvs::Family::Inet6) {
                    p.mask = lvs_ipvs::PersistenceMask::host(key.family());
                }
            }
            s
        })
    }

    /// Adds a real server.
    pub fn with_real_server(mut self, rs: RealServer) -> VirtualServer {
        self.real_servers.push(rs);
        self
    }
}

/// The members of a virtual server group after the first (keepalived's
/// `virtual_server_group NAME { ... }`, its ranges expanded).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ServiceGroup {
    /// The group's name (keepalived's `virtual_server_group NAME`).
    pub name: String,
    /// The members other than the virtual server's own
    /// [`service`](VirtualServer::service) key, in configuration order.
    pub more_keys: Vec<ServiceKey>,
}

impl ServiceGroup {
    /// A group named `name` whose members after the first are `more_keys`.
    pub fn new(name: &str, more_keys: Vec<ServiceKey>) -> ServiceGroup {
        ServiceGroup {
            name: name.to_string(),
            more_keys,
        }
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
    /// Its probes fed by tracked files (keepalived's `FILE_CHECK`): it is
    /// up only while these pass too; they also move its weight.
    pub file_checks: Vec<FileCheck>,
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
            file_checks: Vec::new(),
            notify_up: None,
            notify_down: None,
        }
    }

    /// Adds a probe.
    pub fn with_probe(mut self, probe: Probe) -> RealServer {
        self.probes.push(probe);
        self
    }

    /// Adds a file check.
    pub fn with_file_check(mut self, check: FileCheck) -> RealServer {
        self.file_checks.push(check);
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
    /// An HTTP GET with the expected status/digest (`HTTP_GET`; `SSL_GET`
    /// when its `tls` is set).
    Http(HttpCheck),
    /// A program that exits 0 (`MISC_CHECK`).
    Exec(ExecCheck),
    /// An SMTP greeting, HELO and QUIT answered (`SMTP_CHECK`).
    Smtp(SmtpCheck),
    /// An ICMP/ICMPv6 echo answered (`PING_CHECK`).
    Ping(PingCheck),
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
            Check::Http(c) if c.tls.is_some() => format!("SSL_GET {}", c.identity()),
            Check::Http(c) => format!("HTTP_GET {}", c.identity()),
            Check::Exec(c) => format!("MISC_CHECK {}", c.identity()),
            Check::Smtp(c) => format!("SMTP_CHECK {}", c.connect.destination()),
            Check::Ping(c) => format!("PING_CHECK {}", c.connect.destination().ip()),
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
    /// The instance whose state drives it: master while it is Master,
    /// backup otherwise. `None`: master and backup both, all the time
    /// (active-active directors, each sending its connections to the
    /// others and receiving theirs).
    pub instance: Option<String>,
}

impl SyncDaemonConfig {
    /// A daemon driven by `instance`.
    pub fn new(daemon: SyncDaemon, instance: &str) -> SyncDaemonConfig {
        SyncDaemonConfig {
            daemon,
            instance: Some(instance.to_string()),
        }
    }

    /// Master and backup both, driven by no instance.
    pub fn both(daemon: SyncDaemon) -> SyncDaemonConfig {
        SyncDaemonConfig {
            daemon,
            instance: None,
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
    /// Set `net.ipv4.vs.sloppy_tcp=1`, so a TCP packet in mid-flow (one
    /// that ECMP moved here from another director) creates a connection
    /// entry. Default: false.
    pub sloppy_tcp: bool,
}

impl Default for IpvsSetup {
    fn default() -> Self {
        IpvsSetup {
            flush: false,
            timeouts: None,
            expire_nodest_conn: true,
            sloppy_tcp: false,
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
    use lvs_ipvs::{Family, ForwardMethod, Scheduler};

    #[test]
    fn a_member_of_two_virtual_servers_is_refused() {
        let a = ServiceKey::tcp("192.0.2.1:80".parse().expect("address"));
        let b = ServiceKey::tcp("192.0.2.2:80".parse().expect("address"));
        let mark = ServiceKey::fwmark(Family::Inet, 7);
        let rs = RealServer::new(Destination::new(
            "192.0.2.11:80".parse().expect("address"),
            ForwardMethod::DirectRoute,
        ));
        let group = VirtualServer::new(Service::new(a, Scheduler::RoundRobin))
            .with_group(ServiceGroup::new("G", vec![mark, b]))
            .with_real_server(rs.clone());
        let ok = DirectorConfig::new().with_virtual_server(group.clone());
        assert_eq!(ok.validate(), Ok(()));
        assert_eq!(ok.virtual_server_of(&b).map(|v| v.service.key), Some(a));
        let plain = VirtualServer::new(Service::new(b, Scheduler::RoundRobin)).with_real_server(rs);
        let clash = ok.with_virtual_server(plain);
        assert_eq!(clash.validate(), Err(ConfigError::DuplicateService(b)));
    }

    #[test]
    fn vmac_names_are_checked_and_the_vips_and_adverts_use_the_macvlan() {
        let vip: IpAddr = "192.0.2.83".parse().expect("address");
        let inst = |name: &str, vrid: u8, vmac: Option<Vmac>| {
            let router = lvs_vrrp::Config::new(
                vrid,
                100,
                lvs_vrrp::AdvertInterval::V2(lvs_vrrp::Seconds(1)),
                "0.0.0.0".parse().expect("address"),
                vec![vip],
            );
            let i = VrrpInstance::new(name, "eth0", router);
            match vmac {
                Some(v) => i.with_vmac(v),
                None => i,
            }
        };
        let a = inst("A", 7, Some(Vmac::new(&Vmac::default_name(7))));
        assert_eq!(a.vip_interface(&a.vips[0]), "vrrp.7");
        assert_eq!(a.advert_interface(), "vrrp.7");
        assert!(a.router_config().virtual_mac);
        let x = inst("X", 7, Some(Vmac::new("vrrp.7").with_xmit_base(true)));
        assert_eq!(x.advert_interface(), "eth0");
        let ok = DirectorConfig::new().with_instance(a.clone());
        assert_eq!(ok.validate(), Ok(()));
        let why = |cfg: DirectorConfig| match cfg.validate() {
            Err(ConfigError::Vmac { why, .. }) => why,
            other => panic!("{other:?}"),
        };
        let long = inst("L", 8, Some(Vmac::new("a-very-long-name")));
        assert!(why(DirectorConfig::new().with_instance(long)).contains("1 to 15"));
        let base = inst("B", 8, Some(Vmac::new("eth0")));
        assert!(why(DirectorConfig::new().with_instance(base)).contains("instance's interface"));
        let twice = ok.with_instance(inst("C", 9, Some(Vmac::new("vrrp.7"))));
        assert!(why(twice).contains("another instance"));
    }
}

#[cfg(test)]
mod fifo_tests {
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
