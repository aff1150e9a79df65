//! The sans-IO director: VRRP routers, VIPs, real-server health and the
//! IPVS table kept in step, with time and I/O left to the caller.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use lvs_healthcheck::FailReason;
use lvs_ipvs::{Op, ServiceKey, SyncState};
use lvs_vrrp::{Action, AnnounceReason, DropReason, FaultReason, Reason, RecvMeta, Router, State};
use tracing::{debug, info, warn};

use crate::command::{Command, InstanceId, ProbeKey, state_word};
use crate::config::{
    ConfigError, DirectorConfig, Probe, RealServer, Script, TrackScript, Vip, VirtualServer,
    VrrpInstance,
};
use crate::routes::Routing;
use crate::status::{
    InstanceStatus, ProbeStatus, RealServerStatus, ScriptStatus, ServiceStatus, Status,
};
use crate::table::{self, Health};

mod announce;
mod removed;
mod tracking;
pub use announce::{NotAnnounced, TrafficSample};
use tracking::{Files, ProcState};

/// First retry after a failed IPVS write; doubles up to [`RETRY_MAX`].
const RETRY_MIN: Duration = Duration::from_secs(1);
/// Longest wait between retries of a failed IPVS write.
const RETRY_MAX: Duration = Duration::from_secs(30);
/// Most IPVS writes remembered while awaiting their results: a driver
/// that reports none (no IPVS) must not grow the record without end.
const UNREPORTED_MAX: usize = 1024;

/// What a probe reported (the driver translates its checker's events).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CheckEvent {
    /// The probe's verdict on pool membership changed.
    Pool {
        /// In the pool (up) or not.
        in_pool: bool,
        /// The failure that took it out, if any.
        reason: Option<FailReason>,
    },
    /// A dynamic check asked for a weight.
    Weight(u32),
    /// The probe's first result left its verdict as it started (so no
    /// `Pool` tells of it): the real server has been checked once.
    Checked,
}

/// What changed in a reload.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct ReloadSummary {
    /// Instances started (new or changed).
    pub instances_started: usize,
    /// Instances stopped (removed or changed).
    pub instances_stopped: usize,
    /// Instances updated in place, their router untouched.
    pub instances_updated: usize,
    /// Virtual servers added, removed or changed.
    pub virtual_servers_changed: usize,
    /// IPVS operations sent for the change.
    pub ipvs_ops: usize,
    /// Routes, rules and static addresses removed or added (a Master's
    /// `virtual_routes` / `virtual_rules`, the static ones).
    pub routing_changed: usize,
}

impl ReloadSummary {
    /// Nothing changed.
    pub fn is_empty(&self) -> bool {
        *self == ReloadSummary::default()
    }
}

struct Instance {
    id: InstanceId,
    cfg: VrrpInstance,
    router: Router,
    /// `Some(up)` once the link state is known.
    link_up: Option<bool>,
    tracks: HashMap<String, bool>,
    last_reason: Option<Reason>,
    /// Tracks (by router track name) with no result yet — weight-0
    /// scripts, files, processes: keepalived holds the instance in
    /// Initialize until each has one; the router starts when this empties.
    waiting: Vec<String>,
}

impl Instance {
    /// `track` has its first result: the router starts once none is missing.
    fn track_decided(&mut self, now: Instant, track: &str) {
        if let Some(w) = self.waiting.iter().position(|s| s == track) {
            self.waiting.remove(w);
            if self.waiting.is_empty() {
                self.router.start(now);
            }
        }
    }
}

/// One tracked script (keepalived's `vrrp_script`), run as a probe.
struct ScriptState {
    key: ProbeKey,
    spec: TrackScript,
    /// Its result: `None` before the first one.
    ok: Option<bool>,
}

struct ProbeState {
    key: ProbeKey,
    /// The spec its `AddProbe` carried, shared.
    _spec: Arc<Probe>,
    up: bool,
    last_failure: Option<FailReason>,
    weight: Option<u32>,
    /// Whether the runner has it (false: suspended by `ha_suspend`, its
    /// health frozen, its key dead).
    running: bool,
    /// Whether it has reported a result (route announcement waits for it).
    reported: bool,
}

struct Service {
    cfg: VirtualServer,
    /// Per real server (same order as `cfg.real_servers`), its probes.
    probes: Vec<Vec<ProbeState>>,
    /// What the kernel was last asked to hold: one entry per member, in
    /// `cfg.member_keys()` order (one for a plain virtual server).
    applied: Vec<lvs_ipvs::VirtualServer>,
    /// keepalived's quorum state (with its hysteresis); the one owner of
    /// it: the sorry server and the quorum scripts follow it. It starts
    /// held, so a service that starts short of its quorum reports the loss.
    quorum_up: bool,
}

impl Service {
    /// Follows the quorum after a health change: the commands that report
    /// a change (and run `quorum_up` / `quorum_down`), if any.
    fn quorum_change(&mut self, files: &Files) -> Vec<Command> {
        let up = table::quorum_held(&self.cfg, &self.health(files), self.quorum_up);
        if up == self.quorum_up {
            return Vec::new();
        }
        self.quorum_up = up;
        let mut out = vec![Command::QuorumChanged {
            service: self.cfg.service.key,
            up,
        }];
        let script = if up {
            &self.cfg.quorum_up
        } else {
            &self.cfg.quorum_down
        };
        if let Some(s) = script {
            out.push(Command::RunScript {
                script: s.clone(),
                args: Vec::new(),
            });
        }
        out
    }

    /// keepalived's `omega` when the service is taken away: `quorum_down`
    /// if the quorum was held, and each healthy real server's `notify_down`.
    fn omega_scripts(&self, files: &Files) -> Vec<Command> {
        if !self.cfg.omega {
            return Vec::new();
        }
        let run = |s: &Script| Command::RunScript {
            script: s.clone(),
            args: Vec::new(),
        };
        let health = self.health(files);
        let downs = self
            .cfg
            .real_servers
            .iter()
            .zip(&health)
            .filter(|(_, h)| h.up)
            .filter_map(|(rs, _)| rs.notify_down.as_ref().map(run));
        let quorum = self
            .quorum_up
            .then(|| self.cfg.quorum_down.as_ref().map(run))
            .flatten();
        downs.chain(quorum).collect()
    }
}

impl Service {
    /// Each real server's health: its probes' verdicts and, for its file
    /// checks, the values in `files` (the core's one record of them).
    fn health(&self, files: &Files) -> Vec<Health> {
        self.probes
            .iter()
            .zip(&self.cfg.real_servers)
            .map(|(ps, rs)| {
                let (files_up, file_weight) = tracking::file_checks(rs, files);
                Health {
                    up: files_up && ps.iter().all(|p| p.up),
                    dynamic_weight: ps.iter().rev().find_map(|p| p.weight),
                    file_weight,
                }
            })
            .collect()
    }
}

/// The composed load balancer, sans IO.
///
/// See the [crate docs](crate) for the driving contract.
pub struct Director {
    config: DirectorConfig,
    /// What the last reload replaced, until the caller takes it.
    retired: Option<DirectorConfig>,
    instances: Vec<Instance>,
    services: BTreeMap<ServiceKey, Service>,
    /// Where each probe's state lives: service, real server index, probe index.
    probe_index: HashMap<ProbeKey, (ServiceKey, usize, usize)>,
    /// The host's addresses as last reported (`None`: never), for
    /// `ha_suspend`.
    local_addresses: Option<HashSet<IpAddr>>,
    /// Tracked scripts that some instance tracks, by name.
    scripts: BTreeMap<String, ScriptState>,
    /// Which script a probe key runs.
    script_index: HashMap<ProbeKey, String>,
    /// Tracked files that some instance tracks, by name.
    files: Files,
    /// Tracked processes that some instance tracks, by name.
    procs: BTreeMap<String, ProcState>,
    next_instance: u32,
    next_probe: u64,
    commands: VecDeque<Command>,
    reconcile_at: Instant,
    retry: Option<Duration>,
    /// The IPVS writes sent and not yet reported, oldest first: `true` for
    /// a full reconcile. Only a reconcile's success repairs a failed write;
    /// a later delta succeeding leaves the lost change lost.
    ipvs_unreported: VecDeque<bool>,
    /// Operations reconciles after the first needed (see [`Status::ipvs_repaired`]).
    ipvs_repaired: u64,
    /// The sync daemons running (master, backup, or both).
    sync_running: Vec<SyncState>,
    stopped: bool,
    /// Each sync group's state as last reported (its notify scripts ran).
    group_states: BTreeMap<String, State>,
    /// Transitions of sync-group members not yet looked at by
    /// [`settle_sync_groups`](Self::settle_sync_groups): name, from, to.
    sync_events: Vec<(String, State, State)>,
    /// Which VIPs are announced as routes, and the drain.
    announcements: announce::Announcements,
}

impl Director {
    /// Validates `config` and starts: probes added, the whole IPVS table
    /// reconciled (an existing table is adopted), leftover VIPs of
    /// instances that do not start as Master removed, routers started.
    ///
    /// Every instance whose [`source`](VrrpInstance::source) is
    /// [`Interface`](crate::SourceAddress::Interface) must have its
    /// `router.primary_address` filled in already.
    pub fn new(now: Instant, config: DirectorConfig) -> Result<Director, ConfigError> {
        config.validate()?;
        let mut d = Director {
            config: config.clone(),
            retired: None,
            instances: Vec::new(),
            services: BTreeMap::new(),
            probe_index: HashMap::new(),
            local_addresses: None,
            scripts: BTreeMap::new(),
            script_index: HashMap::new(),
            files: BTreeMap::new(),
            procs: BTreeMap::new(),
            next_instance: 0,
            next_probe: 0,
            commands: VecDeque::new(),
            reconcile_at: now + config.reconcile_period(),
            retry: None,
            ipvs_unreported: VecDeque::new(),
            ipvs_repaired: 0,
            sync_running: Vec::new(),
            stopped: false,
            group_states: BTreeMap::new(),
            sync_events: Vec::new(),
            announcements: announce::Announcements::default(),
        };
        // Routers first, so a refused router changes nothing.
        let routers = config
            .instances
            .iter()
            .map(|i| new_router(&config, i, config.vrrp_startup_delay))
            .collect::<Result<Vec<_>, _>>()?;
        // keepalived installs its static addresses, routes and rules first.
        if !config.static_routing.is_empty() {
            d.commands.push_back(Command::AddRouting {
                instance: None,
                routing: config.static_routing.clone(),
            });
        }
        d.start_announcements();
        d.sync_scripts(&config);
        d.sync_tracking(&config);
        for vs in &config.virtual_servers {
            let svc = d.new_service(vs.clone(), None);
            d.services.insert(vs.service.key, svc);
        }
        d.reindex();
        if !d.services.is_empty() {
            d.push_reconcile();
        }
        for (cfg, router) in config.instances.iter().zip(routers) {
            let id = d.start_instance(now, cfg.clone(), router);
            let master = d.instances.last().map(|i| i.router.state()) == Some(State::Master);
            if !master {
                // A previous run killed without cleaning up may have left
                // them; a Backup adds none before Master_Down_Interval, and
                // an instance held in Initialize (a weight-0 script without
                // a result) or in Fault none at all.
                for vip in &cfg.vips {
                    d.commands.push_back(Command::RemoveVip {
                        instance: id,
                        vip: placed(cfg, vip),
                    });
                }
            }
        }
        d.settle_sync_groups(now);
        d.sync_without_instance();
        Ok(d)
    }

    /// The running configuration.
    pub fn config(&self) -> &DirectorConfig {
        &self.config
    }

    /// The next command to carry out, in order.
    pub fn poll_command(&mut self) -> Option<Command> {
        self.commands.pop_front()
    }

    /// When [`handle_timeout`](Self::handle_timeout) is due next.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let routers = self
            .instances
            .iter()
            .filter_map(|i| i.router.poll_timeout());
        let ipvs = (!self.stopped && !self.services.is_empty()).then_some(self.reconcile_at);
        routers
            .chain(ipvs)
            .chain(self.tracking_timeout())
            .chain(self.announcements.poll_timeout())
            .min()
    }

    /// Runs every timer due at `now`: VRRP timers, the periodic or retried
    /// full IPVS reconcile.
    pub fn handle_timeout(&mut self, now: Instant) {
        for i in 0..self.instances.len() {
            if self.instances[i]
                .router
                .poll_timeout()
                .is_some_and(|t| t <= now)
            {
                self.instances[i].router.handle_timeout(now);
                self.drain_router(i);
            }
        }
        self.tracking_handle_timeout(now);
        self.settle_sync_groups(now);
        if !self.stopped && !self.services.is_empty() && now >= self.reconcile_at {
            self.push_reconcile();
            // While retrying, the next attempt is timed from this one's
            // failure report (handle_ipvs_result), so the backoff doubles.
            self.reconcile_at = now + self.config.reconcile_period();
        }
        self.announcements_handle_timeout(now);
    }

    /// Feeds a VRRP packet (IP payload) received for `instance` at `now`.
    pub fn handle_vrrp(
        &mut self,
        now: Instant,
        instance: InstanceId,
        meta: &RecvMeta,
        payload: &[u8],
    ) -> Result<(), DropReason> {
        let Some(i) = self.instances.iter().position(|x| x.id == instance) else {
            // A packet read for an instance that has since stopped.
            return Ok(());
        };
        let r = self.instances[i].router.handle_packet(now, meta, payload);
        self.drain_router(i);
        self.settle_sync_groups(now);
        r
    }

    /// Tells the link state of `interface` (administratively up and with
    /// carrier). The instance on it faults when it goes down (unless it does
    /// not track its link); instances tracking it change priority or fault.
    pub fn handle_link(&mut self, now: Instant, interface: &str, up: bool) {
        for i in 0..self.instances.len() {
            let inst = &mut self.instances[i];
            if inst.cfg.track_link && inst.cfg.interface == interface && inst.link_up != Some(up) {
                // The first report only matters when it is "down".
                if inst.link_up.is_some() || !up {
                    info!(instance = %inst.cfg.name, %interface, up, "interface link changed");
                    inst.router.set_fault(now, FaultReason::LinkDown, !up);
                }
                inst.link_up = Some(up);
            }
            for t in inst
                .cfg
                .track_interfaces
                .iter()
                .filter(|t| t.interface == interface)
            {
                let name = t.track_name();
                let state = up != t.reverse;
                if inst.tracks.get(&name) != Some(&state) {
                    if let Err(e) = inst.router.set_track(now, &name, state) {
                        warn!(error = %e, "tracked interface");
                    }
                    inst.tracks.insert(name, state);
                }
            }
            self.drain_router(i);
        }
        self.settle_sync_groups(now);
    }

    /// Feeds a probe's verdict. A change of the real server's health becomes
    /// one IPVS delta for its service (usually one operation).
    pub fn handle_check(&mut self, now: Instant, probe: ProbeKey, event: CheckEvent) {
        if let Some(name) = self.script_index.get(&probe).cloned() {
            if let CheckEvent::Pool { in_pool, reason } = event {
                self.script_result(now, &name, in_pool, reason);
            }
            return;
        }
        let Some(&(key, rs, p)) = self.probe_index.get(&probe) else {
            return; // a probe removed by a reload
        };
        let Some(svc) = self.services.get_mut(&key) else {
            return;
        };
        if !svc.probes[rs][p].running {
            return; // a verdict in flight when ha_suspend stopped it
        }
        let before = svc.health(&self.files)[rs];
        let state = &mut svc.probes[rs][p];
        match event {
            CheckEvent::Pool { in_pool, reason } => {
                state.up = in_pool;
                state.reported = true;
                if reason.is_some() {
                    state.last_failure = reason;
                }
            }
            CheckEvent::Weight(w) => state.weight = Some(w),
            CheckEvent::Checked => state.reported = true,
        }
        let after = svc.health(&self.files)[rs];
        if before != after {
            self.real_server_changed(&key, rs, before, after);
            self.update_service(&key);
        }
        self.settle_announcements();
    }

    /// Reports a real server's health change: its notify script and
    /// [`Command::RealServerChanged`] when it went up or down.
    fn real_server_changed(&mut self, key: &ServiceKey, rs: usize, before: Health, after: Health) {
        let Some(svc) = self.services.get(key) else {
            return;
        };
        let key = *key;
        let cfg = &svc.cfg.real_servers[rs];
        let addr = cfg.destination.addr;
        if before.up != after.up {
            let reason = if after.up {
                None
            } else {
                svc.probes[rs]
                    .iter()
                    .find(|p| !p.up)
                    .and_then(|p| p.last_failure.clone())
            };
            let script = if after.up {
                &cfg.notify_up
            } else {
                &cfg.notify_down
            };
            if let Some(s) = script {
                self.commands.push_back(Command::RunScript {
                    script: s.clone(),
                    args: Vec::new(),
                });
            }
            self.commands.push_back(Command::RealServerChanged {
                service: key,
                real_server: addr,
                up: after.up,
                reason,
            });
        }
    }

    /// Reports how a [`Command::Ipvs`] or [`Command::IpvsReconcile`] went:
    /// once per such command, in the order they were drained. A failure
    /// schedules a full reconcile, retried with backoff (1 s doubling to
    /// 30 s, timed from each failure) until a reconcile succeeds.
    pub fn handle_ipvs_result(&mut self, now: Instant, ok: bool) {
        let reconcile = self.ipvs_unreported.pop_front().unwrap_or(false);
        if ok {
            if reconcile {
                self.announcements.note_reconciled();
            }
            if reconcile && self.retry.take().is_some() {
                info!("IPVS table repaired");
                self.reconcile_at = now + self.config.reconcile_period();
            }
            self.settle_announcements();
            return;
        }
        let next = self.retry.map_or(RETRY_MIN, |r| (r * 2).min(RETRY_MAX));
        self.retry = Some(next);
        self.reconcile_at = self.reconcile_at.min(now + next);
        warn!(
            retry_in_ms = next.as_millis() as u64,
            "IPVS write failed: full reconcile scheduled"
        );
        self.settle_announcements();
    }

    /// Reports that a reconcile after the first found the kernel's table
    /// changed behind the director's back and sent `ops` operations to put
    /// it back (counted in [`Status::ipvs_repaired`]). Call it before that
    /// reconcile's [`handle_ipvs_result`](Self::handle_ipvs_result).
    pub fn handle_ipvs_repaired(&mut self, ops: usize) {
        self.ipvs_repaired = self.ipvs_repaired.saturating_add(ops as u64);
    }

    /// Replaces the configuration without stopping timers: instances whose
    /// router is unchanged keep running (their adverts keep their
    /// schedule), changed ones restart, removed ones resign; only the
    /// probes and IPVS entries of what changed are touched. A configuration
    /// that does not validate changes nothing.
    pub fn apply_config(
        &mut self,
        now: Instant,
        new: DirectorConfig,
    ) -> Result<ReloadSummary, ConfigError> {
        new.validate()?;
        if new.net_namespace != self.config.net_namespace {
            return Err(ConfigError::NetNamespaceChanged {
                running: self.config.net_namespace.clone(),
                new: new.net_namespace.clone(),
            });
        }
        let mut summary = ReloadSummary::default();
        // Routers of new or changed instances first: a refusal changes nothing.
        let mut starting = Vec::new();
        for cfg in &new.instances {
            let running = self.instances.iter().find(|i| i.cfg.name == cfg.name);
            match running {
                Some(r) if same_router(&self.config, &r.cfg, &new, cfg) => {}
                // vrrp_startup_delay is for the daemon's start only.
                _ => starting.push((cfg.clone(), new_router(&new, cfg, Duration::ZERO)?)),
            }
        }
        // Scripts next, so instances started below see their results.
        self.sync_scripts(&new);
        self.sync_tracking(&new);
        // Stop removed and changed instances.
        let mut i = 0;
        while i < self.instances.len() {
            let name = self.instances[i].cfg.name.clone();
            match new.instance(&name) {
                Some(cfg) if same_router(&self.config, &self.instances[i].cfg, &new, cfg) => {
                    if self.instances[i].cfg != *cfg {
                        // Routes and rules are not the router's: a Master
                        // keeps running and gets the delta.
                        if self.instances[i].router.state() == State::Master {
                            let id = self.instances[i].id;
                            let old = self.instances[i].cfg.routing();
                            summary.routing_changed +=
                                self.routing_delta(Some(id), &old, &cfg.routing());
                        }
                        self.instances[i].cfg = cfg.clone();
                        summary.instances_updated += 1;
                    }
                    i += 1;
                }
                _ => {
                    self.stop_instance(now, i);
                    summary.instances_stopped += 1;
                }
            }
        }
        // Instances start with the new scripts' weights and groups.
        self.config.track_scripts = new.track_scripts.clone();
        self.config.track_files = new.track_files.clone();
        self.config.track_processes = new.track_processes.clone();
        self.config.sync_groups = new.sync_groups.clone();
        for inst in &mut self.instances {
            let held = new.sync_group_of(&inst.cfg.name).is_some();
            inst.router.set_sync_hold(held);
        }
        self.group_states
            .retain(|g, _| new.sync_groups.iter().any(|n| n.name == *g));
        for (cfg, router) in starting {
            self.start_instance(now, cfg, router);
            summary.instances_started += 1;
        }
        // Virtual servers.
        let before = self.commands.len();
        // A set, not `new.virtual_server()`: that linear search per old
        // service made a reload quadratic (10,000 services: 145 ms).
        let new_keys: HashSet<ServiceKey> =
            new.virtual_servers.iter().map(|v| v.service.key).collect();
        let renamed = self.groups_renamed(&new, &new_keys);
        let kept: HashSet<ServiceKey> = renamed.values().copied().collect();
        let old_keys: Vec<ServiceKey> = self.services.keys().copied().collect();
        for key in old_keys {
            if !new_keys.contains(&key)
                && !kept.contains(&key)
                && let Some(svc) = self.services.remove(&key)
            {
                for p in svc.probes.iter().flatten() {
                    self.commands
                        .push_back(Command::RemoveProbe { probe: p.key });
                }
                self.commands.extend(svc.omega_scripts(&self.files));
                let ops = table::delta_members(&svc.applied, &[]);
                self.push_ipvs(ops);
                summary.virtual_servers_changed += 1;
            }
        }
        for vs in &new.virtual_servers {
            let key = vs.service.key;
            let old = self.services.remove(&key).or_else(|| {
                renamed
                    .get(&key)
                    .and_then(|old_key| self.services.remove(old_key))
            });
            match old {
                None => {
                    let svc = self.new_service(vs.clone(), None);
                    let ops = table::delta_members(&[], &svc.applied);
                    self.services.insert(key, svc);
                    self.push_ipvs(ops);
                    summary.virtual_servers_changed += 1;
                }
                Some(old) if old.cfg == *vs => {
                    self.services.insert(key, old);
                }
                Some(old) => {
                    let svc = self.new_service(vs.clone(), Some(old));
                    self.services.insert(key, svc);
                    self.update_service(&key);
                    summary.virtual_servers_changed += 1;
                }
            }
        }
        // File checks follow the files' values and weights, which the
        // reload may have changed for a service that did not change.
        let with_files: Vec<ServiceKey> = self
            .services
            .iter()
            .filter(|(_, s)| {
                s.cfg
                    .real_servers
                    .iter()
                    .any(|rs| !rs.file_checks.is_empty())
            })
            .map(|(k, _)| *k)
            .collect();
        for key in with_files {
            self.update_service(&key);
        }
        summary.ipvs_ops = self
            .commands
            .iter()
            .skip(before)
            .map(|c| match c {
                Command::Ipvs(ops) => ops.len(),
                _ => 0,
            })
            .sum();
        self.reindex();
        // New or changed services start suspended if their address is away.
        self.apply_suspension();
        if self.sync_changed(&new) {
            self.stop_sync();
            self.config.sync_daemon = new.sync_daemon.clone();
            if let Some(state) = self.sync_instance_state() {
                self.sync_follow(state);
            }
            self.sync_without_instance();
        }
        let old_static = self.config.static_routing.clone();
        summary.routing_changed += self.routing_delta(None, &old_static, &new.static_routing);
        let old_announce = self.config.route_announce.clone();
        self.retired = Some(std::mem::replace(&mut self.config, new));
        self.reconfigure_announcements(old_announce.as_ref());
        self.settle_announcements();
        self.clear_stale_sync_faults(now);
        self.settle_sync_groups(now);
        Ok(summary)
    }

    /// The configuration the last [`apply_config`](Self::apply_config)
    /// replaced, for a caller that frees it off its event loop (freeing
    /// thousands of virtual servers takes milliseconds). Otherwise it is
    /// freed by the next reload.
    pub fn take_retired_config(&mut self) -> Option<DirectorConfig> {
        self.retired.take()
    }

    /// Resigns every instance (priority-0 adverts), removes every VIP,
    /// stops the sync daemon and the probes. The IPVS table stays for the
    /// next start to adopt.
    pub fn shutdown(&mut self, now: Instant) {
        // The routers move the flows away first, while everything else still runs.
        self.stop_announcements();
        while !self.instances.is_empty() {
            self.stop_instance(now, 0);
        }
        self.sync_events.clear();
        for g in self.config.sync_groups.clone() {
            if self
                .group_states
                .get(&g.name)
                .is_some_and(|s| *s != State::Initialize)
            {
                self.group_notify(&g, State::Initialize);
            }
        }
        self.stop_sync();
        if !self.config.static_routing.is_empty() {
            self.commands.push_back(Command::RemoveRouting {
                instance: None,
                routing: self.config.static_routing.clone(),
            });
        }
        for s in std::mem::take(&mut self.scripts).into_values() {
            self.commands
                .push_back(Command::RemoveProbe { probe: s.key });
        }
        self.script_index.clear();
        for svc in self.services.values() {
            for p in svc.probes.iter().flatten() {
                self.commands
                    .push_back(Command::RemoveProbe { probe: p.key });
            }
            self.commands.extend(svc.omega_scripts(&self.files));
        }
        self.stopped = true;
    }

    /// The state of every instance and real server, from the core's own
    /// records (no kernel read).
    pub fn status(&self) -> Status {
        let instances = self
            .instances
            .iter()
            .map(|i| InstanceStatus {
                name: i.cfg.name.clone(),
                interface: i.cfg.interface.clone(),
                vrid: i.cfg.router.vrid,
                state: i.router.state(),
                priority: i.cfg.router.priority,
                effective_priority: i.router.effective_priority(),
                master: i.router.master(),
                vips: i.cfg.vips.iter().map(|v| (v.addr, v.prefix_len)).collect(),
                last_reason: i.last_reason.clone(),
                drops: i.router.drops().clone(),
            })
            .collect();
        let services = self
            .services
            .values()
            .map(|svc| {
                let health = svc.health(&self.files);
                // Every member holds the same destinations.
                let applied = svc.applied.first().map_or(&[][..], |a| &a.destinations[..]);
                ServiceStatus {
                    key: svc.cfg.service.key,
                    group: svc.cfg.group.as_ref().map(|g| g.name.clone()),
                    members: svc.cfg.member_keys().collect(),
                    real_servers: svc
                        .cfg
                        .real_servers
                        .iter()
                        .zip(&svc.probes)
                        .zip(health)
                        .map(|((rs, ps), h)| RealServerStatus {
                            addr: rs.destination.addr,
                            up: h.up,
                            weight: applied
                                .iter()
                                .find(|d| d.addr == rs.destination.addr)
                                .map(|d| d.weight),
                            probes: ps
                                .iter()
                                .zip(&rs.probes)
                                .map(|(p, spec)| ProbeStatus {
                                    description: spec.description.clone(),
                                    up: p.up,
                                    last_failure: p.last_failure.clone(),
                                })
                                .collect(),
                        })
                        .collect(),
                    destinations: applied.to_vec(),
                }
            })
            .collect();
        Status {
            name: self.config.name.clone(),
            instances,
            services,
            ipvs_retrying: self.retry.is_some(),
            ipvs_repaired: self.ipvs_repaired,
            scripts: self
                .scripts
                .iter()
                .map(|(name, st)| ScriptStatus {
                    name: name.clone(),
                    ok: st.ok,
                })
                .collect(),
            announcements: self.announcement_status(),
            draining: self.announcements.is_draining(),
        }
    }

    /// The state of the instance named `name`.
    pub fn instance_state(&self, name: &str) -> Option<State> {
        self.instances
            .iter()
            .find(|i| i.cfg.name == name)
            .map(|i| i.router.state())
    }

    /// The id the instance named `name` runs under now.
    pub fn instance_id(&self, name: &str) -> Option<InstanceId> {
        self.instances
            .iter()
            .find(|i| i.cfg.name == name)
            .map(|i| i.id)
    }

    /// The whole desired IPVS table, in configuration order.
    pub fn desired_table(&self) -> Vec<lvs_ipvs::VirtualServer> {
        self.full_table()
    }

    // ---- internals ----

    /// Removes what `old` has and `new` has not, then adds what is new;
    /// the number of addresses, routes and rules changed.
    fn routing_delta(
        &mut self,
        instance: Option<InstanceId>,
        old: &Routing,
        new: &Routing,
    ) -> usize {
        let gone = old.minus(new);
        let added = new.minus(old);
        let n = [&gone, &added]
            .iter()
            .map(|r| r.addresses.len() + r.routes.len() + r.rules.len())
            .sum();
        if !gone.is_empty() {
            self.commands.push_back(Command::RemoveRouting {
                instance,
                routing: gone,
            });
        }
        if !added.is_empty() {
            self.commands.push_back(Command::AddRouting {
                instance,
                routing: added,
            });
        }
        n
    }

    /// In configuration order, as the kernel's table is written.
    fn full_table(&self) -> Vec<lvs_ipvs::VirtualServer> {
        self.config
            .virtual_servers
            .iter()
            .filter_map(|vs| self.services.get(&vs.service.key))
            .flat_map(|s| s.applied.iter().cloned())
            .collect()
    }

    fn push_ipvs(&mut self, ops: Vec<Op>) {
        if !ops.is_empty() {
            self.commands.push_back(Command::Ipvs(ops));
            self.note_unreported(false);
        }
    }

    fn push_reconcile(&mut self) {
        self.commands
            .push_back(Command::IpvsReconcile(self.full_table()));
        self.note_unreported(true);
    }

    fn note_unreported(&mut self, reconcile: bool) {
        if self.ipvs_unreported.len() >= UNREPORTED_MAX {
            self.ipvs_unreported.pop_front();
        }
        self.ipvs_unreported.push_back(reconcile);
    }

    /// New first-member key → old one, for each group whose first member
    /// changed: the same group (by name, when exactly one virtual server of
    /// the old and of the new config uses it), so its real servers keep
    /// their probes and health across the reload.
    fn groups_renamed(
        &self,
        new: &DirectorConfig,
        new_keys: &HashSet<ServiceKey>,
    ) -> HashMap<ServiceKey, ServiceKey> {
        let mut old_by_name: HashMap<&str, Option<ServiceKey>> = HashMap::new();
        for (key, svc) in &self.services {
            if let Some(g) = &svc.cfg.group {
                // Two users of one name are ambiguous: none is matched.
                old_by_name
                    .entry(g.name.as_str())
                    .and_modify(|k| *k = None)
                    .or_insert(Some(*key));
            }
        }
        let mut new_by_name: HashMap<&str, Option<ServiceKey>> = HashMap::new();
        for vs in &new.virtual_servers {
            if let Some(g) = &vs.group {
                new_by_name
                    .entry(g.name.as_str())
                    .and_modify(|k| *k = None)
                    .or_insert(Some(vs.service.key));
            }
        }
        new_by_name
            .into_iter()
            .filter_map(|(name, new_key)| {
                let new_key = new_key?;
                let old_key = (*old_by_name.get(name)?)?;
                (old_key != new_key
                    && !self.services.contains_key(&new_key)
                    && !new_keys.contains(&old_key))
                .then_some((new_key, old_key))
            })
            .collect()
    }

    /// Recomputes one service's entry and sends the delta.
    fn update_service(&mut self, key: &ServiceKey) {
        let Some(svc) = self.services.get_mut(key) else {
            return;
        };
        // The quorum first: the sorry server follows it.
        let quorum = svc.quorum_change(&self.files);
        let want = table::desired(&svc.cfg, &svc.health(&self.files), svc.quorum_up);
        let ops = table::delta_members(&svc.applied, &want);
        svc.applied = want;
        self.push_ipvs(ops);
        self.commands.extend(quorum);
    }

    /// A service's state; probes of real servers that are unchanged in
    /// `old` keep their keys and health, the rest are added / removed.
    fn new_service(&mut self, cfg: VirtualServer, old: Option<Service>) -> Service {
        let key = cfg.service.key;
        let mut old_probes: HashMap<SocketAddr, (RealServer, Vec<ProbeState>)> = HashMap::new();
        let mut applied = None;
        let mut quorum_up = true;
        if let Some(old) = old {
            applied = Some(old.applied);
            quorum_up = old.quorum_up;
            for (rs, ps) in old.cfg.real_servers.into_iter().zip(old.probes) {
                old_probes.insert(rs.destination.addr, (rs, ps));
            }
        }
        let mut probes = Vec::with_capacity(cfg.real_servers.len());
        for rs in &cfg.real_servers {
            match old_probes.remove(&rs.destination.addr) {
                Some((old_rs, ps)) if old_rs.probes == rs.probes => probes.push(ps),
                other => {
                    if let Some((_, ps)) = other {
                        self.remove_probes(&ps);
                    }
                    probes.push(self.add_probes(key, rs));
                }
            }
        }
        for (_, (_, ps)) in old_probes {
            self.remove_probes(&ps);
        }
        let mut svc = Service {
            cfg,
            probes,
            applied: Vec::new(),
            quorum_up,
        };
        let quorum = svc.quorum_change(&self.files);
        svc.applied = applied
            .unwrap_or_else(|| table::desired(&svc.cfg, &svc.health(&self.files), svc.quorum_up));
        self.commands.extend(quorum);
        svc
    }

    fn add_probes(&mut self, service: ServiceKey, rs: &RealServer) -> Vec<ProbeState> {
        rs.probes
            .iter()
            .map(|spec: &Probe| {
                let key = ProbeKey(self.next_probe);
                self.next_probe += 1;
                let shared = Arc::new(spec.clone());
                self.commands.push_back(Command::AddProbe {
                    probe: key,
                    service,
                    real_server: rs.destination.addr,
                    spec: shared.clone(),
                });
                ProbeState {
                    key,
                    _spec: shared,
                    up: spec.policy.initial == lvs_healthcheck::InitialState::Up,
                    last_failure: None,
                    weight: None,
                    running: true,
                    reported: false,
                }
            })
            .collect()
    }

    fn remove_probes(&mut self, ps: &[ProbeState]) {
        for p in ps.iter().filter(|p| p.running) {
            self.commands
                .push_back(Command::RemoveProbe { probe: p.key });
        }
    }

    /// Tells which addresses this host has now (all of them, every
    /// interface). Services with [`ha_suspend`](VirtualServer::ha_suspend)
    /// stop their probes while their address is missing — each real server
    /// keeps its health — and start them again, from that health, when it
    /// is back (keepalived's `ha_suspend`).
    pub fn handle_local_addresses(&mut self, _now: Instant, addresses: &HashSet<IpAddr>) {
        self.local_addresses = Some(addresses.clone());
        self.apply_suspension();
    }

    /// Makes every probe run or not as its service's `ha_suspend` wants.
    fn apply_suspension(&mut self) {
        let Some(local) = &self.local_addresses else {
            return; // not reported yet: everything runs
        };
        let mut changed = false;
        for (key, svc) in self.services.iter_mut() {
            let mut addrs = svc.cfg.addresses().peekable();
            // A firewall mark has no address: never suspended.
            let run =
                !svc.cfg.ha_suspend || addrs.peek().is_none() || addrs.any(|a| local.contains(&a));
            if svc.probes.iter().flatten().all(|p| p.running == run) {
                continue;
            }
            info!(service = ?key, running = run, "ha_suspend: health checks {}",
                  if run { "resumed" } else { "suspended" });
            for (rs, ps) in svc.cfg.real_servers.iter().zip(svc.probes.iter_mut()) {
                for p in ps.iter_mut().filter(|p| p.running != run) {
                    if run {
                        // A new key, so a late verdict of the old one is
                        // dropped; it starts from the health it kept.
                        let mut spec = (*p._spec).clone();
                        spec.policy.initial = if p.up {
                            lvs_healthcheck::InitialState::Up
                        } else {
                            lvs_healthcheck::InitialState::Down
                        };
                        p.key = ProbeKey(self.next_probe);
                        self.next_probe += 1;
                        self.commands.push_back(Command::AddProbe {
                            probe: p.key,
                            service: *key,
                            real_server: rs.destination.addr,
                            spec: Arc::new(spec),
                        });
                    } else {
                        self.commands
                            .push_back(Command::RemoveProbe { probe: p.key });
                    }
                    p.running = run;
                    changed = true;
                }
            }
        }
        if changed {
            self.reindex();
        }
    }

    fn reindex(&mut self) {
        self.probe_index.clear();
        for (key, svc) in &self.services {
            for (r, ps) in svc.probes.iter().enumerate() {
                for (p, st) in ps.iter().enumerate() {
                    self.probe_index.insert(st.key, (*key, r, p));
                }
            }
        }
    }

    /// Runs exactly the scripts some instance of `cfg` tracks: an unchanged
    /// script keeps its probe and result, a changed one restarts undecided,
    /// one no longer tracked stops (keepalived does not run unused scripts).
    fn sync_scripts(&mut self, cfg: &DirectorConfig) {
        let used: std::collections::BTreeSet<&str> = cfg
            .instances
            .iter()
            .flat_map(|i| i.track_scripts.iter().map(|t| t.script.as_str()))
            .collect();
        let mut old = std::mem::take(&mut self.scripts);
        self.script_index.clear();
        for spec in cfg
            .track_scripts
            .iter()
            .filter(|s| used.contains(s.name.as_str()))
        {
            let state = match old.remove(&spec.name) {
                // A new weight or direction does not restart the script.
                Some(mut st) if st.spec.probe() == spec.probe() => {
                    st.spec = spec.clone();
                    st
                }
                other => {
                    if let Some(st) = other {
                        self.commands
                            .push_back(Command::RemoveProbe { probe: st.key });
                    }
                    let key = ProbeKey(self.next_probe);
                    self.next_probe += 1;
                    self.commands.push_back(Command::AddTrackScript {
                        probe: key,
                        name: spec.name.clone(),
                        spec: Arc::new(spec.probe()),
                    });
                    ScriptState {
                        key,
                        spec: spec.clone(),
                        ok: None,
                    }
                }
            };
            self.script_index.insert(state.key, spec.name.clone());
            self.scripts.insert(spec.name.clone(), state);
        }
        for st in old.into_values() {
            self.commands
                .push_back(Command::RemoveProbe { probe: st.key });
        }
    }

    /// A tracked script's verdict: every instance tracking it moves its
    /// priority, enters or leaves FAULT, or (its last undecided weight-0
    /// script decided) starts.
    fn script_result(&mut self, now: Instant, name: &str, ok: bool, reason: Option<FailReason>) {
        let Some(state) = self.scripts.get_mut(name) else {
            return;
        };
        if state.ok == Some(ok) {
            return;
        }
        state.ok = Some(ok);
        let spec = state.spec.clone();
        if ok {
            info!(script = %name, "VRRP script succeeded");
        } else {
            let why = reason.map(|r| r.to_string()).unwrap_or_default();
            info!(script = %name, reason = %why, "VRRP script failed");
        }
        for i in 0..self.instances.len() {
            let inst = &mut self.instances[i];
            let Some(t) = inst.cfg.track_scripts.iter().find(|t| t.script == name) else {
                continue;
            };
            let r = t.resolve(&spec);
            if inst
                .router
                .config()
                .tracks
                .iter()
                .any(|x| x.name == r.track_name)
            {
                let _ = inst.router.set_track(now, &r.track_name, r.signal(ok));
            }
            inst.track_decided(now, &r.track_name);
            debug!(instance = %inst.cfg.name, priority = inst.router.effective_priority(),
                   script = %name, ok, "tracked script applied");
            self.drain_router(i);
        }
        self.settle_sync_groups(now);
    }

    fn start_instance(
        &mut self,
        now: Instant,
        cfg: VrrpInstance,
        mut router: Router,
    ) -> InstanceId {
        let id = InstanceId(self.next_instance);
        self.next_instance += 1;
        self.commands.push_back(Command::OpenInstance {
            instance: id,
            name: cfg.name.clone(),
            interface: cfg.interface.clone(),
            router: Box::new(router.config().clone()),
            vmac: cfg.vmac.clone().map(Box::new),
        });
        // Scripts with a result already (kept across a reload) count now;
        // weight-0 ones without one hold the router in Initialize.
        let mut waiting = Vec::new();
        for t in &cfg.track_scripts {
            let (Some(state), Some(spec)) = (
                self.scripts.get(&t.script),
                self.config.track_script(&t.script),
            ) else {
                continue;
            };
            let r = t.resolve(spec);
            if !router
                .config()
                .tracks
                .iter()
                .any(|x| x.name == r.track_name)
            {
                if r.weight != 0 {
                    info!(instance = %cfg.name, script = %t.script,
                          "weighted track script ignored: the address owner's priority never changes");
                }
                continue;
            }
            match state.ok {
                Some(ok) => {
                    let _ = router.set_track(now, &r.track_name, r.signal(ok));
                }
                None if r.weight == 0 && !spec.init_fail => waiting.push(r.track_name.clone()),
                None => {}
            }
        }
        waiting.extend(self.initial_tracking(now, &cfg, &mut router));
        router.set_sync_hold(self.config.sync_group_of(&cfg.name).is_some());
        if waiting.is_empty() {
            router.start(now);
        } else {
            info!(instance = %cfg.name, tracks = ?waiting, "waiting for the first result of tracked scripts, files and processes");
        }
        info!(instance = %cfg.name, vrid = cfg.router.vrid, priority = cfg.router.priority,
              interface = %cfg.interface, "VRRP instance started");
        self.instances.push(Instance {
            id,
            cfg,
            router,
            link_up: None,
            tracks: HashMap::new(),
            last_reason: None,
            waiting,
        });
        let i = self.instances.len() - 1;
        self.drain_router(i);
        id
    }

    fn stop_instance(&mut self, now: Instant, i: usize) {
        self.instances[i].router.shutdown(now);
        self.drain_router(i);
        let inst = self.instances.remove(i);
        // Whatever state it was in, none of its VIPs stays behind.
        for vip in &inst.cfg.vips {
            self.commands.push_back(Command::RemoveVip {
                instance: inst.id,
                vip: placed(&inst.cfg, vip),
            });
        }
        self.commands
            .push_back(Command::CloseInstance { instance: inst.id });
    }

    fn drain_router(&mut self, i: usize) {
        while let Some(action) = self.instances[i].router.poll_action() {
            let inst = &self.instances[i];
            let id = inst.id;
            match action {
                Action::Transmit(transmit) => {
                    self.commands.push_back(Command::SendAdvert {
                        instance: id,
                        transmit,
                    });
                }
                Action::AddAddresses { .. } => {
                    for vip in &inst.cfg.vips {
                        self.commands.push_back(Command::AddVip {
                            instance: id,
                            vip: placed(&inst.cfg, vip),
                        });
                    }
                    // Routes after the VIPs (a route may use one as `src`).
                    let routing = inst.cfg.routing();
                    if !routing.is_empty() {
                        self.commands.push_back(Command::AddRouting {
                            instance: Some(id),
                            routing,
                        });
                    }
                }
                Action::RemoveAddresses { .. } => {
                    // Rules and routes go before the VIPs, the reverse order.
                    let routing = inst.cfg.routing();
                    if !routing.is_empty() {
                        self.commands.push_back(Command::RemoveRouting {
                            instance: Some(id),
                            routing,
                        });
                    }
                    for vip in &inst.cfg.vips {
                        let v = placed(&inst.cfg, vip);
                        self.commands.push_back(Command::Withdraw {
                            interface: v.interface.clone().unwrap_or_default(),
                            addr: v.addr,
                        });
                        self.commands.push_back(Command::RemoveVip {
                            instance: id,
                            vip: v,
                        });
                    }
                }
                Action::Announce(a) if a.reason == AnnounceReason::ExtraInterfaces => {
                    // keepalived's garp_extra_if: one packet per interface
                    // that sends no adverts, for its first VIP, with the
                    // interface's own MAC.
                    let mut done = std::collections::BTreeSet::new();
                    for vip in &inst.cfg.vips {
                        let iface = inst.cfg.vip_interface(vip);
                        if iface != inst.cfg.advert_interface() && done.insert(iface.to_string()) {
                            self.commands.push_back(Command::Announce {
                                interface: iface.to_string(),
                                addr: vip.addr,
                                count: 1,
                                interval: a.interval,
                                mac: None,
                            });
                        }
                    }
                }
                Action::Announce(a) => {
                    // The router names the advertised VIPs; the excluded ones go too.
                    for vip in inst
                        .cfg
                        .vips
                        .iter()
                        .filter(|v| !v.advertised || a.addresses.contains(&v.addr))
                    {
                        self.commands.push_back(Command::Announce {
                            interface: inst.cfg.vip_interface(vip).to_string(),
                            addr: vip.addr,
                            count: a.count,
                            interval: a.interval,
                            mac: a.mac,
                        });
                    }
                }
                Action::StateChanged { from, to, reason } => {
                    let priority = inst.router.effective_priority();
                    let name = inst.cfg.name.clone();
                    let notify = inst.cfg.notify.clone();
                    if !self.config.sync_groups.is_empty() {
                        self.sync_events.push((name.clone(), from, to));
                    }
                    self.instances[i].last_reason = Some(reason.clone());
                    self.commands.push_back(Command::Transition {
                        instance: id,
                        name: name.clone(),
                        from,
                        to,
                        reason,
                        priority,
                    });
                    self.commands
                        .extend(notify_scripts(&notify, "INSTANCE", &name, to, priority));
                    if self
                        .config
                        .sync_daemon
                        .as_ref()
                        .is_some_and(|s| s.instance.as_ref() == Some(&name))
                    {
                        self.sync_follow(to);
                    }
                }
                Action::AddressMismatch { from } => {
                    warn!(instance = %inst.cfg.name, %from, "advert with a different address list");
                }
                other => debug!(action = ?other, "VRRP action without a command"),
            }
        }
    }

    /// Moves the members of each sync group together, as keepalived does,
    /// until nothing changes: a member with a fault of its own puts the
    /// others in FAULT (cleared when no member has one); a member that
    /// went from Master to Backup takes the Masters with it; a Master, or
    /// every member wanting Master (each held Backup found no Master),
    /// takes the Backups to Master. Then each group's own state (FAULT if
    /// a member is, MASTER / BACKUP / stopped when all are) runs its
    /// notify scripts when it changes.
    fn settle_sync_groups(&mut self, now: Instant) {
        if self.config.sync_groups.is_empty() {
            return;
        }
        let groups = self.config.sync_groups.clone();
        // Each round only moves members in one direction per group, so a
        // few rounds settle; the bound is a guard, not a schedule.
        for _ in 0..8 {
            let events = std::mem::take(&mut self.sync_events);
            let mut moved = Vec::new();
            for g in &groups {
                let members: Vec<usize> = g
                    .members
                    .iter()
                    .filter_map(|m| self.instances.iter().position(|i| i.cfg.name == *m))
                    .collect();
                let own_fault = |r: &Router| {
                    r.faults()
                        .iter()
                        .any(|f| !matches!(f, FaultReason::SyncGroup(_)))
                };
                let faulted = members
                    .iter()
                    .any(|&i| own_fault(&self.instances[i].router));
                let ours = FaultReason::SyncGroup(g.name.clone());
                for &i in &members {
                    let r = &self.instances[i].router;
                    let want = faulted && !own_fault(r);
                    if r.faults().contains(&ours) != want {
                        if want {
                            info!(instance = %self.instances[i].cfg.name, group = %g.name,
                                  "a sync group member is in FAULT: following it");
                        }
                        self.instances[i].router.set_fault(now, ours.clone(), want);
                        moved.push(i);
                    }
                }
                if faulted {
                    continue;
                }
                let stepped_down = events.iter().any(|(n, from, to)| {
                    *from == State::Master && *to == State::Backup && g.members.contains(n)
                });
                if stepped_down {
                    for &i in &members {
                        if self.instances[i].router.state() == State::Master {
                            self.instances[i].router.sync_to_backup(now);
                            moved.push(i);
                        }
                    }
                    continue;
                }
                let any_master = members
                    .iter()
                    .any(|&i| self.instances[i].router.state() == State::Master);
                let all_want = !members.is_empty()
                    && members
                        .iter()
                        .all(|&i| self.instances[i].router.wants_master());
                // A member not running yet (held in Initialize) holds the group.
                if any_master || all_want {
                    for &i in &members {
                        if self.instances[i].router.state() == State::Backup {
                            self.instances[i].router.sync_to_master(now);
                            moved.push(i);
                        }
                    }
                }
            }
            for &i in &moved {
                self.drain_router(i);
            }
            if moved.is_empty() && self.sync_events.is_empty() {
                break;
            }
        }
        self.sync_events.clear();
        for g in &groups {
            let states: Vec<State> = g
                .members
                .iter()
                .filter_map(|m| self.instance_state(m))
                .collect();
            let Some(&first) = states.first() else {
                continue;
            };
            let state = if states.contains(&State::Fault) {
                State::Fault
            } else if states.iter().all(|s| *s == first) {
                first
            } else {
                continue; // members on their way: no group state yet
            };
            let before = self.group_states.get(&g.name).copied();
            if before != Some(state) && !(before.is_none() && state == State::Initialize) {
                self.group_notify(g, state);
            }
        }
    }

    /// A member of no group (any more), or of another one, loses a sync
    /// fault it was given.
    fn clear_stale_sync_faults(&mut self, now: Instant) {
        for i in 0..self.instances.len() {
            let group = self
                .config
                .sync_group_of(&self.instances[i].cfg.name)
                .map(|g| g.name.clone());
            let stale: Vec<FaultReason> = self.instances[i]
                .router
                .faults()
                .into_iter()
                .filter(|f| matches!(f, FaultReason::SyncGroup(n) if Some(n) != group.as_ref()))
                .collect();
            for f in stale {
                self.instances[i].router.set_fault(now, f, false);
            }
            self.drain_router(i);
        }
    }

    /// Records a sync group's new state and runs its notify scripts
    /// (`notify` with `GROUP name STATE 0`, as keepalived).
    fn group_notify(&mut self, g: &crate::config::SyncGroup, state: State) {
        self.group_states.insert(g.name.clone(), state);
        info!(group = %g.name, state = state_word(state), "VRRP sync group changed state");
        self.commands.push_back(Command::GroupTransition {
            group: g.name.clone(),
            to: state,
        });
        // keepalived gives a group priority 0.
        self.commands
            .extend(notify_scripts(&g.notify, "GROUP", &g.name, state, 0));
    }

    fn sync_changed(&self, new: &DirectorConfig) -> bool {
        self.config.sync_daemon != new.sync_daemon
    }

    fn sync_instance_state(&self) -> Option<State> {
        let sd = self.config.sync_daemon.as_ref()?;
        self.instance_state(sd.instance.as_ref()?)
    }

    /// A sync daemon driven by no instance runs as master and backup both.
    fn sync_without_instance(&mut self) {
        if self
            .config
            .sync_daemon
            .as_ref()
            .is_some_and(|s| s.instance.is_none())
        {
            self.sync_run(&[SyncState::Master, SyncState::Backup]);
        }
    }

    /// The sync daemon runs as master while its instance is Master, as
    /// backup otherwise (keepalived's behaviour).
    fn sync_follow(&mut self, to: State) {
        let Some(sd) = self.config.sync_daemon.clone() else {
            return;
        };
        if sd.instance.is_none() {
            return;
        }
        let want = match to {
            State::Master => SyncState::Master,
            State::Backup | State::Fault => SyncState::Backup,
            State::Initialize => return,
        };
        self.sync_run(&[want]);
    }

    /// Runs exactly the daemons `want`, stopping the others first.
    fn sync_run(&mut self, want: &[SyncState]) {
        let Some(sd) = self.config.sync_daemon.clone() else {
            return;
        };
        if self.sync_running == want {
            return;
        }
        let mut ops: Vec<Op> = self.sync_running.drain(..).map(Op::StopDaemon).collect();
        for &state in want {
            let mut daemon = sd.daemon.clone();
            daemon.state = state;
            ops.push(Op::StartDaemon(daemon));
        }
        self.sync_running = want.to_vec();
        self.push_ipvs(ops);
    }

    fn stop_sync(&mut self) {
        if !self.sync_running.is_empty() {
            let ops = self.sync_running.drain(..).map(Op::StopDaemon).collect();
            self.push_ipvs(ops);
        }
    }
}

/// The notify scripts of a transition: the state's own (`notify_master`
/// …), then `notify` with keepalived's `TYPE NAME STATE PRIORITY` appended.
fn notify_scripts(
    notify: &crate::config::Notify,
    kind: &str,
    name: &str,
    to: State,
    priority: u8,
) -> Vec<Command> {
    let own = match to {
        State::Master => &notify.master,
        State::Backup => &notify.backup,
        State::Fault => &notify.fault,
        State::Initialize => &notify.stop,
    };
    let own = own.iter().map(|s| Command::RunScript {
        script: s.clone(),
        args: Vec::new(),
    });
    let any = notify.any.iter().map(|s| Command::RunScript {
        script: s.clone(),
        args: vec![
            kind.into(),
            name.into(),
            state_word(to).into(),
            priority.to_string(),
        ],
    });
    own.chain(any).collect()
}

/// The VIP with its interface resolved.
fn placed(inst: &VrrpInstance, vip: &Vip) -> Vip {
    let mut v = vip.clone();
    v.interface = Some(inst.vip_interface(vip).to_string());
    v
}

/// `delay`: extra time in Initialize ([`DirectorConfig::vrrp_startup_delay`]
/// at start), on top of the router's own `startup_delay`.
fn new_router(
    all: &DirectorConfig,
    cfg: &VrrpInstance,
    delay: Duration,
) -> Result<Router, ConfigError> {
    let mut rc = all.router_config_of(cfg);
    rc.startup_delay += delay;
    Router::new(rc).map_err(|source| ConfigError::Router {
        instance: cfg.name.clone(),
        source,
    })
}

/// Whether a reload can keep the running router of `old` for `new`: same
/// wire behaviour, same addresses in the same places.
fn same_router(
    old_all: &DirectorConfig,
    old: &VrrpInstance,
    new_all: &DirectorConfig,
    new: &VrrpInstance,
) -> bool {
    old_all.router_config_of(old) == new_all.router_config_of(new)
        && old.interface == new.interface
        && old.vmac == new.vmac
        && old.vips == new.vips
        && old.track_link == new.track_link
}

impl std::fmt::Debug for Director {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Director")
            .field("instances", &self.instances.len())
            .field("services", &self.services.len())
            .field("pending_commands", &self.commands.len())
            .finish_non_exhaustive()
    }
}
