//! The director's event loop: VRRP routers, VIPs and announcements, health
//! checks, the IPVS table, signals, the control socket and metrics.
//!
//! One current-thread tokio runtime owns every piece of state; VRRP receive
//! (lvs-vrrp's `VrrpSocket`) runs as a task feeding a channel. Health probes
//! run on their own thread and runtime (lvs-healthcheck's runner), talking
//! to the loop over channels, as keepalived keeps its checkers apart from
//! VRRP. Time enters the sans-IO cores (lvs-vrrp's
//! `Router`, lvs-arpguard's `Announcer`) as `Instant::now()` read here, or
//! as the kernel's receive timestamp of an advert; the loop sleeps on
//! lvs-vrrp's timerfd `Timer`, so VRRP timers fire on time to the
//! microsecond.

use std::collections::{BTreeSet, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use lvs_arpguard::announce::{AnnounceSchedule, Announcer, AnnouncerConfig};
use lvs_arpguard::audit::{GhostAuditSpec, audit_ghosts};
use lvs_arpguard::packet::PacketSocket;
use lvs_arpguard::{Change as AddrChange, DirectorVip, MacAddr, Rtnl};
use lvs_healthcheck::runner::{Command, Runner};
use lvs_healthcheck::{EngineConfig, Event, FailOpen, MemberId, ServiceId};
use lvs_ipvs::{IpvsHandle, Removal, SyncDaemon, SyncState};
use lvs_vrrp::driver::{Timer, VrrpSocket};
use lvs_vrrp::{Action, FaultReason, RecvMeta, Router, State};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, error, info, warn};

use super::checks;
use super::desired::{self, HealthMap};
use super::status::{self, CheckView, InstanceView, RealServerView, Snapshot};
use super::vrrp_map;
use crate::config::{self, Change, Config, Script, VirtualIp, VirtualServerKey, VrrpInstance};

/// A loop step or wake-up later than this is logged (it delays VRRP timers).
const STALL: Duration = Duration::from_millis(250);
/// How often link state is polled for faults and `track_interface`.
const LINK_POLL: Duration = Duration::from_millis(100);
/// How often the VRRP interfaces are audited for ghost addresses.
const GHOST_AUDIT: Duration = Duration::from_secs(5);
/// Where `net.ipv4.vs.expire_nodest_conn` lives.
const EXPIRE_NODEST_CONN: &str = "/proc/sys/net/ipv4/vs/expire_nodest_conn";

/// How the daemon was started.
#[derive(Debug, Clone)]
pub struct Options {
    /// The configuration file.
    pub config_file: PathBuf,
    /// The control socket (see [`default_control_path`]).
    pub control: PathBuf,
    /// Serve metrics (OpenMetrics text) here.
    pub metrics: Option<SocketAddr>,
    /// Write the pid here (removed on exit).
    pub pid_file: Option<PathBuf>,
    /// Leave `net.ipv4.vs.expire_nodest_conn` as it is.
    pub keep_expire_nodest_conn: bool,
}

/// Why the daemon could not start or had to stop.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DaemonError {
    /// The configuration needs IPVS and the kernel has none.
    #[error(
        "the configuration has virtual_server blocks but IPVS is unavailable: {0} \
         (load it with `modprobe ip_vs`, or remove the virtual_server blocks to run VRRP only)"
    )]
    IpvsUnavailable(lvs_ipvs::Error),
    /// A VRRP instance cannot run.
    #[error(transparent)]
    Vrrp(#[from] vrrp_map::MapError),
    /// Anything else in the environment.
    #[error("{0}")]
    Env(String),
}

/// The control socket path for a configuration: `/run/lvs-director/<router_id>.sock`
/// (`director.sock` without a `router_id`).
pub fn default_control_path(cfg: &Config) -> PathBuf {
    let name = cfg.global.router_id.as_deref().unwrap_or("director");
    PathBuf::from("/run/lvs-director").join(format!("{name}.sock"))
}

fn env(what: impl std::fmt::Display) -> DaemonError {
    DaemonError::Env(what.to_string())
}

struct Instance {
    uid: u64,
    cfg: VrrpInstance,
    router: Router,
    socket: Arc<VrrpSocket>,
    reader: tokio::task::JoinHandle<()>,
    last_reason: String,
    link_up: Option<bool>,
    tracks: HashMap<String, bool>,
    /// Permanent addresses the interface had at start (besides VIPs): the
    /// host's own configuration, not ghosts.
    static_addrs: Vec<(IpAddr, u8)>,
}

impl Drop for Instance {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

/// One advert from an instance's reader task.
struct Received {
    uid: u64,
    meta: RecvMeta,
    payload: Vec<u8>,
    /// Kernel receive time: a busy loop does not delay the Backup's timer.
    arrival: Instant,
}

struct Announcing {
    announcer: Announcer,
    socket: PacketSocket,
}

struct Member {
    vs: VirtualServerKey,
    rs: SocketAddr,
    description: String,
    up: bool,
    last_failure: Option<String>,
    weight: Option<u32>,
}

struct Daemon {
    opts: Options,
    config: Config,
    instances: Vec<Instance>,
    next_uid: u64,
    packets_tx: mpsc::UnboundedSender<Received>,
    packets_rx: mpsc::UnboundedReceiver<Received>,
    rtnl: Rtnl,
    announcers: HashMap<String, Announcing>,
    check_commands: mpsc::UnboundedSender<Command>,
    check_events: mpsc::UnboundedReceiver<Event>,
    members: HashMap<MemberId, Member>,
    ipvs: Option<IpvsHandle>,
    table_dirty: bool,
    sync_running: BTreeSet<u8>,
    ghosts: Vec<String>,
}

/// Runs the daemon until SIGTERM/SIGINT. `config` is already validated.
pub async fn run(opts: Options, config: Config) -> Result<(), DaemonError> {
    apply_process_scheduling(&config.global);
    let rtnl = Rtnl::open(None).map_err(env)?;
    let (packets_tx, packets_rx) = mpsc::unbounded_channel();
    let (check_commands, check_events) = spawn_checker_thread()?;
    let mut d = Daemon {
        opts,
        config,
        instances: Vec::new(),
        next_uid: 0,
        packets_tx,
        packets_rx,
        rtnl,
        announcers: HashMap::new(),
        check_commands,
        check_events,
        members: HashMap::new(),
        ipvs: None,
        table_dirty: false,
        sync_running: BTreeSet::new(),
        ghosts: Vec::new(),
    };
    if let Some(p) = &d.opts.pid_file {
        std::fs::write(p, format!("{}\n", std::process::id()))
            .map_err(|e| env(format!("cannot write pid file {}: {e}", p.display())))?;
    }
    let result = d.start_and_loop().await;
    if let Some(p) = &d.opts.pid_file {
        let _ = std::fs::remove_file(p);
    }
    let _ = std::fs::remove_file(&d.opts.control);
    result
}

impl Daemon {
    async fn start_and_loop(&mut self) -> Result<(), DaemonError> {
        self.warn_unsupported();
        self.setup_ipvs()?;
        // Routers first: a config error in an instance stops us before any change.
        let configs = self.config.vrrp_instances.clone();
        let mut prepared = Vec::new();
        for inst in &configs {
            prepared.push(self.prepare_instance(inst).await?);
        }
        for inst in &configs {
            self.remove_leftover_vips(inst);
        }
        let vss = self.config.virtual_servers.clone();
        for vs in &vss {
            for rs in &vs.real_servers {
                self.add_members(vs.key(), rs).await;
            }
        }
        self.table_dirty = true;
        self.reconcile();
        let now = Instant::now();
        for mut inst in prepared {
            inst.router.start(now);
            info!(instance = %inst.cfg.name, vrid = inst.cfg.virtual_router_id,
                  priority = inst.cfg.priority, interface = %inst.cfg.interface, "VRRP instance started");
            self.instances.push(inst);
        }
        self.main_loop().await
    }

    /// Says which accepted settings director does not act on (yet).
    fn warn_unsupported(&self) {
        for g in &self.config.vrrp_sync_groups {
            warn!(group = %g.name, "vrrp_sync_group is not implemented: its instances change state independently");
        }
        for vs in &self.config.virtual_servers {
            if vs.quorum_up.is_some() || vs.quorum_down.is_some() {
                warn!(virtual_server = %vs.key(), "quorum_up/quorum_down scripts are not run");
            }
            if vs.ha_suspend {
                warn!(virtual_server = %vs.key(), "ha_suspend is not implemented: checks run in every VRRP state");
            }
        }
        for i in &self.config.vrrp_instances {
            let scripts = [
                &i.notify_master,
                &i.notify_backup,
                &i.notify_fault,
                &i.notify_stop,
                &i.notify,
            ];
            if scripts.iter().any(|s| {
                s.as_ref()
                    .is_some_and(|s| s.user.is_some() || s.group.is_some())
            }) {
                warn!(instance = %i.name, "notify scripts run as the director's user; USER/GROUP is ignored");
            }
        }
    }

    fn setup_ipvs(&mut self) -> Result<(), DaemonError> {
        if self.config.virtual_servers.is_empty() {
            info!("no virtual_server in the configuration: IPVS is not touched");
            return Ok(());
        }
        let mut h = IpvsHandle::open().map_err(DaemonError::IpvsUnavailable)?;
        let info = h.info().map_err(DaemonError::IpvsUnavailable)?;
        let (a, b, c) = info.version_triple();
        info!(version = %format!("{a}.{b}.{c}"), "IPVS available");
        if self.config.global.lvs_flush {
            info!("lvs_flush: flushing the IPVS table");
            h.flush().map_err(env)?;
        } else if let Ok(table) = h.table()
            && !table.is_empty()
        {
            info!(
                services = table.len(),
                "adopting the existing IPVS table (reconcile, no flush)"
            );
        }
        let t = &self.config.global.lvs_timeouts;
        if t.tcp.is_some() || t.tcpfin.is_some() || t.udp.is_some() {
            let timeouts = lvs_ipvs::Timeouts {
                tcp: t.tcp.unwrap_or_default(),
                tcp_fin: t.tcpfin.unwrap_or_default(),
                udp: t.udp.unwrap_or_default(),
            };
            if let Err(e) = h.set_timeouts(&timeouts) {
                warn!(error = %e, "cannot set lvs_timeouts");
            }
        }
        if !(self.opts.keep_expire_nodest_conn || self.config.global.lvs_keep_expire_nodest_conn) {
            match std::fs::read_to_string(EXPIRE_NODEST_CONN) {
                Ok(v) if v.trim() == "1" => {}
                _ => match std::fs::write(EXPIRE_NODEST_CONN, "1\n") {
                    Ok(()) => info!(
                        "set net.ipv4.vs.expire_nodest_conn=1 (new connections never hit a removed real server)"
                    ),
                    Err(e) => warn!(error = %e, "cannot set net.ipv4.vs.expire_nodest_conn=1"),
                },
            }
        }
        self.ipvs = Some(h);
        Ok(())
    }

    /// The address adverts are sent from: `mcast_src_ip`/`unicast_src_ip`,
    /// else the interface's primary IPv4 address, or for an IPv6 instance
    /// (IPv6 VIPs) its link-local address, as keepalived and RFC 5798 §5.1.2.1
    /// want. A link-local address still in duplicate address detection is
    /// waited for (up to 3 s: an interface that just came up).
    async fn primary_address(&mut self, inst: &VrrpInstance) -> Result<IpAddr, DaemonError> {
        if let Some(ip) = inst.source_ip {
            return Ok(ip);
        }
        let vips: Vec<IpAddr> = all_vips(inst).iter().map(|v| v.addr).collect();
        let ipv6 = inst
            .virtual_ipaddresses
            .first()
            .is_some_and(|v| v.addr.is_ipv6());
        let deadline = Instant::now() + Duration::from_secs(3);
        loop {
            let addrs = self
                .rtnl
                .addresses(Some(&inst.interface))
                .map_err(|e| env(format!("vrrp_instance {}: {e}", inst.name)))?;
            let found = if ipv6 {
                addrs
                    .iter()
                    .filter(|a| is_link_local_v6(&a.addr) && !a.state.dad_failed)
                    .min_by_key(|a| a.state.tentative)
                    .map(|a| (a.addr, a.state.tentative))
            } else {
                addrs
                    .iter()
                    .filter(|a| a.addr.is_ipv4() && !vips.contains(&a.addr))
                    .min_by_key(|a| (a.state.secondary, a.label.is_some()))
                    .map(|a| (a.addr, false))
            };
            match found {
                Some((addr, false)) => return Ok(addr),
                Some((addr, true)) if Instant::now() < deadline => {
                    debug!(instance = %inst.name, %addr, "link-local address still tentative");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
                Some((addr, true)) => {
                    return Err(env(format!(
                        "vrrp_instance {}: link-local address {addr} on {} is still tentative (duplicate address detection) after 3 s",
                        inst.name, inst.interface
                    )));
                }
                None => {
                    let what = if ipv6 {
                        "no IPv6 link-local address"
                    } else {
                        "no IPv4 address"
                    };
                    return Err(env(format!(
                        "vrrp_instance {}: interface {} has {what} to send adverts from",
                        inst.name, inst.interface
                    )));
                }
            }
        }
    }

    async fn prepare_instance(&mut self, inst: &VrrpInstance) -> Result<Instance, DaemonError> {
        let primary = self.primary_address(inst).await?;
        let cfg = vrrp_map::router_config(inst, &self.config.global, primary)?;
        let socket = VrrpSocket::open_for(&inst.interface, &cfg).map_err(|e| {
            env(format!(
                "vrrp_instance {}: cannot open the VRRP sockets on {}: {e}",
                inst.name, inst.interface
            ))
        })?;
        let socket = Arc::new(socket);
        let router = Router::new(cfg).map_err(|source| vrrp_map::MapError::Router {
            name: inst.name.clone(),
            source,
        })?;
        let uid = self.next_uid;
        self.next_uid += 1;
        let tx = self.packets_tx.clone();
        let name = inst.name.clone();
        let rx_socket = socket.clone();
        let reader = tokio::spawn(async move {
            let mut buf = vec![0u8; 65_536];
            loop {
                match rx_socket.recv(&mut buf).await {
                    Ok((meta, payload, arrival)) => {
                        let r = Received {
                            uid,
                            meta,
                            payload: payload.to_vec(),
                            arrival,
                        };
                        if tx.send(r).is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        warn!(instance = %name, error = %e, "VRRP receive error");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
            }
        });
        let vip_addrs: Vec<IpAddr> = all_vips(inst).iter().map(|v| v.addr).collect();
        let static_addrs = self
            .rtnl
            .addresses(Some(&inst.interface))
            .map_err(env)?
            .into_iter()
            .filter(|a| a.state.permanent && !vip_addrs.contains(&a.addr))
            .map(|a| (a.addr, a.prefix_len))
            .collect();
        info!(instance = %inst.name, source = %primary, "VRRP sockets open");
        Ok(Instance {
            uid,
            cfg: inst.clone(),
            router,
            socket,
            reader,
            last_reason: "not started".into(),
            link_up: None,
            tracks: HashMap::new(),
            static_addrs,
        })
    }

    /// A previous run killed without cleaning up may have left its VIPs:
    /// remove them unless this instance starts as Master (it re-adds them at once).
    fn remove_leftover_vips(&mut self, inst: &VrrpInstance) {
        if inst.initial_state == config::InitialState::Master {
            return;
        }
        for v in all_vips(inst) {
            let dv = director_vip(inst, &v);
            match dv.remove(&mut self.rtnl) {
                Ok(AddrChange::Applied) => info!(
                    instance = %inst.name, vip = %v.addr, iface = %dv.iface,
                    "removed a leftover VIP (we start as backup)"
                ),
                Ok(AddrChange::Unchanged) => {}
                Err(e) => {
                    warn!(instance = %inst.name, vip = %v.addr, error = %e, "cannot remove leftover VIP")
                }
            }
        }
    }

    async fn add_members(&mut self, vs: VirtualServerKey, rs: &config::RealServer) {
        for check in &rs.checks {
            for probe in checks::probes(rs, check) {
                let (reply, rx) = oneshot::channel();
                let service = ServiceId(service_id(&vs));
                let _ = self.check_commands.send(Command::Add {
                    service,
                    checker: probe.checker,
                    policy: probe.policy.clone(),
                    reply,
                });
                match rx.await {
                    Ok(Ok(id)) => {
                        debug!(check = %probe.description, "health check added");
                        self.members.insert(
                            id,
                            Member {
                                vs,
                                rs: rs.addr,
                                description: probe.description,
                                up: probe.policy.initial == lvs_healthcheck::InitialState::Up,
                                last_failure: None,
                                weight: None,
                            },
                        );
                    }
                    Ok(Err(e)) => {
                        error!(check = %probe.description, error = %e, "health check refused")
                    }
                    Err(_) => error!("health-check runner stopped"),
                }
            }
        }
    }

    fn remove_members(&mut self, f: impl Fn(&Member) -> bool) {
        let ids: Vec<MemberId> = self
            .members
            .iter()
            .filter(|(_, m)| f(m))
            .map(|(id, _)| *id)
            .collect();
        for id in ids {
            self.members.remove(&id);
            let _ = self.check_commands.send(Command::Remove(id));
        }
    }

    fn health(&self) -> HealthMap {
        let mut map = HealthMap::new();
        for m in self.members.values() {
            let e = map.entry((m.vs, m.rs)).or_default();
            e.up &= m.up;
            if m.weight.is_some() {
                e.dynamic_weight = m.weight;
            }
        }
        map
    }

    fn reconcile(&mut self) {
        if !self.table_dirty {
            return;
        }
        if self.ipvs.is_none() {
            self.table_dirty = false;
            return;
        }
        let health = self.health();
        let Some(h) = self.ipvs.as_mut() else {
            return;
        };
        let want = desired::table(&self.config, &health);
        match h.reconcile(&want, Removal::Delete) {
            Ok(report) => {
                for (op, r) in report.ops.iter().zip(&report.results) {
                    match r {
                        Ok(()) => info!(op = ?op, "IPVS updated"),
                        Err(e) => error!(op = ?op, error = %e, "IPVS update failed"),
                    }
                }
                self.table_dirty = !report.is_ok();
            }
            Err(e) => error!(error = %e, "cannot reconcile the IPVS table"),
        }
    }

    async fn main_loop(&mut self) -> Result<(), DaemonError> {
        let mut sigterm = signal(SignalKind::terminate()).map_err(env)?;
        let mut sigint = signal(SignalKind::interrupt()).map_err(env)?;
        let mut sighup = signal(SignalKind::hangup()).map_err(env)?;
        let control = bind_control(&self.opts.control)?;
        let metrics = match self.opts.metrics {
            Some(addr) => Some(
                tokio::net::TcpListener::bind(addr)
                    .await
                    .map_err(|e| env(format!("cannot listen on {addr} for metrics: {e}")))?,
            ),
            None => None,
        };
        info!(control = %self.opts.control.display(), metrics = ?self.opts.metrics, "director running");
        let mut timer = Timer::new().map_err(env)?;
        let mut next_link_poll = Instant::now();
        let mut next_ghost_audit = Instant::now() + Duration::from_secs(1);
        loop {
            let now = Instant::now();
            if now >= next_ghost_audit {
                self.audit_ghosts();
                next_ghost_audit = now + GHOST_AUDIT;
            }
            let t_audit = now.elapsed();
            if now >= next_link_poll {
                self.poll_links(now);
                next_link_poll = now + LINK_POLL;
            }
            let t_links = now.elapsed();
            for i in 0..self.instances.len() {
                if self.instances[i]
                    .router
                    .poll_timeout()
                    .is_some_and(|t| t <= now)
                {
                    self.instances[i].router.handle_timeout(now);
                }
                self.drain_actions(i, now);
            }
            let t_vrrp = now.elapsed();
            self.pump_announcers(now);
            let t_announce = now.elapsed();
            self.reconcile();
            let t_step = now.elapsed();
            // A step that blocks delays every VRRP timer: say where it went.
            if t_step > STALL {
                warn!(
                    total_ms = t_step.as_millis(),
                    ghost_audit_ms = t_audit.as_millis(),
                    links_ms = (t_links - t_audit).as_millis(),
                    vrrp_ms = (t_vrrp - t_links).as_millis(),
                    announce_ms = (t_announce - t_vrrp).as_millis(),
                    ipvs_ms = (t_step - t_announce).as_millis(),
                    "event loop step was slow"
                );
            }
            let mut wake = next_link_poll.min(next_ghost_audit);
            for inst in &self.instances {
                if let Some(t) = inst.router.poll_timeout() {
                    wake = wake.min(t);
                }
            }
            for a in self.announcers.values() {
                if let Some(t) = a.announcer.poll_timeout() {
                    wake = wake.min(t);
                }
            }
            tokio::select! {
                Some(pkt) = self.packets_rx.recv() => self.handle_packet(pkt),
                Some(ev) = self.check_events.recv() => {
                    let t = Instant::now();
                    self.handle_check_event(ev);
                    if t.elapsed() > STALL {
                        warn!(ms = t.elapsed().as_millis(), "check event handling was slow");
                    }
                }
                _ = sigterm.recv() => { info!("SIGTERM: stopping"); break; }
                _ = sigint.recv() => { info!("SIGINT: stopping"); break; }
                _ = sighup.recv() => self.reload().await,
                Ok((stream, _)) = control.accept() => {
                    let text = status::render(&self.snapshot());
                    tokio::spawn(async move {
                        let mut stream = stream;
                        let mut buf = [0u8; 64];
                        let _ = tokio::time::timeout(Duration::from_millis(200), stream.read(&mut buf)).await;
                        let _ = stream.write_all(text.as_bytes()).await;
                        let _ = stream.shutdown().await;
                    });
                }
                Some(stream) = accept_tcp(metrics.as_ref()) => {
                    let body = status::metrics(&self.snapshot());
                    tokio::spawn(serve_metrics(stream, body));
                }
                r = timer.sleep_until(wake) => {
                    let late = wake.elapsed();
                    if late > STALL {
                        warn!(late_ms = late.as_millis(), "event loop woke late");
                    }
                    if let Err(e) = r {
                        // Cannot happen with a valid timerfd; never spin on it.
                        error!(error = %e, "timer failed");
                        tokio::time::sleep(Duration::from_millis(1)).await;
                    }
                }
            }
        }
        self.shutdown();
        Ok(())
    }

    fn shutdown(&mut self) {
        let now = Instant::now();
        for i in 0..self.instances.len() {
            self.instances[i].router.shutdown(now);
            self.drain_actions(i, now);
        }
        // Whatever state they were in, none of our VIPs stays behind.
        let insts: Vec<VrrpInstance> = self.instances.iter().map(|i| i.cfg.clone()).collect();
        for inst in &insts {
            for v in all_vips(inst) {
                if let Ok(AddrChange::Applied) = director_vip(inst, &v).remove(&mut self.rtnl) {
                    info!(instance = %inst.name, vip = %v.addr, "VIP removed on stop");
                }
            }
        }
        self.stop_sync_daemons();
        let _ = self.check_commands.send(Command::Shutdown);
        info!("director stopped; the IPVS table is left in place for the next start");
    }

    fn handle_packet(&mut self, pkt: Received) {
        let Some(i) = self.instances.iter().position(|x| x.uid == pkt.uid) else {
            return;
        };
        if let Err(reason) =
            self.instances[i]
                .router
                .handle_packet(pkt.arrival, &pkt.meta, &pkt.payload)
        {
            debug!(instance = %self.instances[i].cfg.name, from = %pkt.meta.source, %reason, "advert dropped");
        }
        self.drain_actions(i, Instant::now());
    }

    fn drain_actions(&mut self, i: usize, now: Instant) {
        while let Some(action) = self.instances[i].router.poll_action() {
            let inst = &self.instances[i];
            match action {
                Action::Transmit(t) => {
                    if let Err(e) = inst.socket.try_send(&t) {
                        warn!(instance = %inst.cfg.name, destination = %t.destination, error = %e, "cannot send advert");
                    }
                }
                Action::AddAddresses { .. } => {
                    let cfg = inst.cfg.clone();
                    for v in all_vips(&cfg) {
                        let dv = director_vip(&cfg, &v);
                        match dv.add(&mut self.rtnl) {
                            Ok(c) => {
                                info!(instance = %cfg.name, vip = %v.addr, prefix = v.prefix_len,
                                           iface = %dv.iface, label = ?dv.label, changed = (c == AddrChange::Applied), "VIP added")
                            }
                            Err(e) => {
                                error!(instance = %cfg.name, vip = %v.addr, error = %e, "cannot add VIP")
                            }
                        }
                    }
                }
                Action::RemoveAddresses { .. } => {
                    let cfg = inst.cfg.clone();
                    for v in all_vips(&cfg) {
                        let dv = director_vip(&cfg, &v);
                        if let Some(a) = self.announcers.get_mut(&dv.iface) {
                            a.announcer.withdraw(v.addr);
                        }
                        match dv.remove(&mut self.rtnl) {
                            Ok(_) => {
                                info!(instance = %cfg.name, vip = %v.addr, iface = %dv.iface, "VIP removed")
                            }
                            Err(e) => {
                                error!(instance = %cfg.name, vip = %v.addr, error = %e, "cannot remove VIP")
                            }
                        }
                    }
                }
                Action::Announce(a) => {
                    let cfg = inst.cfg.clone();
                    let schedule = AnnounceSchedule::single_burst(a.count, a.interval);
                    let mut addrs: Vec<IpAddr> = a.addresses.clone();
                    addrs.extend(cfg.virtual_ipaddresses_excluded.iter().map(|v| v.addr));
                    for addr in addrs {
                        let Some(v) = all_vips(&cfg).into_iter().find(|v| v.addr == addr) else {
                            continue;
                        };
                        let iface = v.dev.clone().unwrap_or_else(|| cfg.interface.clone());
                        match self.announcer(&iface) {
                            Ok(an) => {
                                an.announcer
                                    .announce_with(addr, schedule, a.mac.map(MacAddr), now)
                            }
                            Err(e) => warn!(iface = %iface, error = %e, "cannot announce VIP"),
                        }
                    }
                    debug!(instance = %cfg.name, reason = ?a.reason, count = a.count, "announcement scheduled");
                }
                Action::StateChanged { from, to, reason } => {
                    let cfg = inst.cfg.clone();
                    let prio = inst.router.effective_priority();
                    info!(instance = %cfg.name, from = ?from, to = ?to, reason = ?reason,
                          priority = prio, "VRRP transition");
                    self.instances[i].last_reason = format!("{reason:?}");
                    self.notify(&cfg, to, prio);
                    self.sync_daemon_transition(&cfg, to);
                }
                Action::AddressMismatch { from } => {
                    warn!(instance = %inst.cfg.name, from = %from, "advert with a different address list");
                }
                other => debug!(action = ?other, "unhandled VRRP action"),
            }
        }
    }

    fn announcer(&mut self, iface: &str) -> Result<&mut Announcing, String> {
        if !self.announcers.contains_key(iface) {
            let link = self.rtnl.link(iface).map_err(|e| e.to_string())?;
            let mac = link
                .mac
                .ok_or_else(|| format!("{iface} has no Ethernet address"))?;
            let socket = PacketSocket::open_sender(None, iface).map_err(|e| e.to_string())?;
            self.announcers.insert(
                iface.to_string(),
                Announcing {
                    announcer: Announcer::new(AnnouncerConfig::new(mac)),
                    socket,
                },
            );
        }
        self.announcers
            .get_mut(iface)
            .ok_or_else(|| "announcer vanished".to_string())
    }

    fn pump_announcers(&mut self, now: Instant) {
        for (iface, a) in self.announcers.iter_mut() {
            while let Some(t) = a.announcer.poll_transmit(now) {
                match a.socket.send(&t.frame) {
                    Ok(()) => debug!(iface = %iface, vip = %t.vip, kind = ?t.kind, "announced"),
                    Err(e) => {
                        warn!(iface = %iface, vip = %t.vip, error = %e, "cannot send announcement")
                    }
                }
            }
        }
    }

    fn notify(&self, cfg: &VrrpInstance, to: State, priority: u8) {
        let (script, word) = match to {
            State::Master => (&cfg.notify_master, "MASTER"),
            State::Backup => (&cfg.notify_backup, "BACKUP"),
            State::Fault => (&cfg.notify_fault, "FAULT"),
            State::Initialize => (&cfg.notify_stop, "STOP"),
        };
        if let Some(s) = script {
            spawn_script(s, &[]);
        }
        if let Some(s) = &cfg.notify {
            spawn_script(s, &["INSTANCE", &cfg.name, word, &priority.to_string()]);
        }
    }

    fn sync_daemon_for(&self, cfg: &VrrpInstance) -> Option<SyncDaemon> {
        let g = &self.config.global;
        if let Some(sd) = &g.lvs_sync_daemon {
            let drives = match &sd.vrrp_instance {
                Some(name) => *name == cfg.name,
                None => self
                    .config
                    .vrrp_instances
                    .first()
                    .is_some_and(|f| f.name == cfg.name),
            };
            if !drives {
                return None;
            }
            let mut d = SyncDaemon::new(
                SyncState::Master,
                &sd.interface,
                u32::from(sd.sync_id.unwrap_or(cfg.virtual_router_id)),
            );
            d.max_len = sd.maxlen;
            d.port = sd.port;
            d.ttl = sd.ttl;
            d.group = sd.group;
            return Some(d);
        }
        cfg.lvs_sync_daemon_interface.as_ref().map(|iface| {
            SyncDaemon::new(SyncState::Master, iface, u32::from(cfg.virtual_router_id))
        })
    }

    fn sync_daemon_transition(&mut self, cfg: &VrrpInstance, to: State) {
        let Some(mut d) = self.sync_daemon_for(cfg) else {
            return;
        };
        let Some(h) = self.ipvs.as_mut() else {
            warn!("lvs_sync_daemon configured but IPVS is not in use (no virtual_server)");
            return;
        };
        let (start, stop) = match to {
            State::Master => (SyncState::Master, SyncState::Backup),
            State::Backup | State::Fault => (SyncState::Backup, SyncState::Master),
            State::Initialize => return,
        };
        if self.sync_running.remove(&(stop as u8)) {
            match h.stop_daemon(stop) {
                Ok(()) => info!(state = ?stop, "IPVS sync daemon stopped"),
                Err(e) => warn!(state = ?stop, error = %e, "cannot stop IPVS sync daemon"),
            }
        }
        d.state = start;
        match h.start_daemon(&d) {
            Ok(()) | Err(lvs_ipvs::Error::DaemonRunning) => {
                info!(state = ?start, iface = %d.interface, sync_id = d.sync_id, "IPVS sync daemon running");
                self.sync_running.insert(start as u8);
            }
            Err(e) => error!(state = ?start, error = %e, "cannot start IPVS sync daemon"),
        }
    }

    fn stop_sync_daemons(&mut self) {
        let Some(h) = self.ipvs.as_mut() else { return };
        for s in std::mem::take(&mut self.sync_running) {
            let state = if s == SyncState::Master as u8 {
                SyncState::Master
            } else {
                SyncState::Backup
            };
            match h.stop_daemon(state) {
                Ok(()) => info!(state = ?state, "IPVS sync daemon stopped"),
                Err(e) => warn!(state = ?state, error = %e, "cannot stop IPVS sync daemon"),
            }
        }
    }

    fn poll_links(&mut self, now: Instant) {
        let links = match self.rtnl.links() {
            Ok(l) => l,
            Err(e) => {
                warn!(error = %e, "cannot read links");
                return;
            }
        };
        let up = |name: &str| -> bool {
            links
                .iter()
                .find(|l| l.name == name)
                .is_some_and(|l| l.up && carrier(name, l.index))
        };
        for i in 0..self.instances.len() {
            let inst = &mut self.instances[i];
            if !inst.cfg.dont_track_primary {
                let now_up = up(&inst.cfg.interface);
                if inst.link_up != Some(now_up) {
                    if inst.link_up.is_some() || !now_up {
                        info!(instance = %inst.cfg.name, iface = %inst.cfg.interface,
                              up = now_up, "interface link changed");
                        inst.router.set_fault(now, FaultReason::LinkDown, !now_up);
                    }
                    inst.link_up = Some(now_up);
                }
            }
            for t in inst.cfg.track_interfaces.clone() {
                let name = vrrp_map::track_name(&t);
                let state = vrrp_map::track_up(&t, up(&t.interface));
                if inst.tracks.get(&name) != Some(&state) {
                    if inst.tracks.contains_key(&name) || !state {
                        info!(instance = %inst.cfg.name, track = %t.interface, up = state, weight = t.weight,
                              "tracked interface changed");
                    }
                    if let Err(e) = inst.router.set_track(now, &name, state) {
                        warn!(error = %e, "track");
                    }
                    inst.tracks.insert(name, state);
                }
            }
            self.drain_actions(i, now);
        }
    }

    /// Reports addresses on the VRRP interfaces that should not be there
    /// (the seed's `172.20.0.97/24 dynamic`), each once, with its fix.
    fn audit_ghosts(&mut self) {
        let mut found = Vec::new();
        for inst in &self.instances {
            let vips = all_vips(&inst.cfg);
            let mut expected = inst.static_addrs.clone();
            expected.extend(vips.iter().map(|v| (v.addr, v.prefix_len)));
            let spec = GhostAuditSpec {
                iface: inst.cfg.interface.clone(),
                expected,
                vips: vips.iter().map(|v| v.addr).collect(),
            };
            match audit_ghosts(&mut self.rtnl, &spec) {
                Ok(f) => found.extend(f.iter().map(|g| g.to_string())),
                Err(e) => debug!(error = %e, "ghost audit"),
            }
        }
        for g in &found {
            if !self.ghosts.contains(g) {
                warn!(finding = %g, "ghost address on a VRRP interface");
            }
        }
        for g in &self.ghosts {
            if !found.contains(g) {
                info!(finding = %g, "ghost address gone");
            }
        }
        self.ghosts = found;
    }

    fn handle_check_event(&mut self, ev: Event) {
        match ev {
            Event::Transition(t) => {
                if let Some(m) = self.members.get_mut(&t.member) {
                    let was = m.up;
                    m.up = t.in_pool;
                    if let Some(r) = &t.reason {
                        m.last_failure = Some(r.to_string());
                    }
                    if was != m.up {
                        if m.up {
                            info!(virtual_server = %m.vs, real_server = %m.rs, check = %m.description,
                                  to = ?t.to, success = ?t.success, consecutive = t.consecutive,
                                  "real server check changed");
                        } else {
                            info!(virtual_server = %m.vs, real_server = %m.rs, check = %m.description,
                                  to = ?t.to, reason = %t.reason.as_ref().map_or(String::new(), |r| r.to_string()),
                                  consecutive = t.consecutive, "real server check changed");
                        }
                        self.table_dirty = true;
                        let (vs, rs) = (m.vs, m.rs);
                        self.notify_real_server(vs, rs);
                    }
                }
            }
            Event::Pool {
                member, in_pool, ..
            } => {
                if let Some(m) = self.members.get_mut(&member)
                    && m.up != in_pool
                {
                    m.up = in_pool;
                    self.table_dirty = true;
                }
            }
            Event::Weight { member, weight, .. } => {
                if let Some(m) = self.members.get_mut(&member)
                    && m.weight != Some(u32::from(weight))
                {
                    info!(real_server = %m.rs, weight, "dynamic weight from MISC_CHECK");
                    m.weight = Some(u32::from(weight));
                    self.table_dirty = true;
                }
            }
            Event::AllDown { .. } => {
                warn!("every real server of a virtual server is down");
            }
            other => debug!(event = ?other, "health event"),
        }
    }

    fn notify_real_server(&self, vs: VirtualServerKey, rs: SocketAddr) {
        let up = self.health().get(&(vs, rs)).copied().unwrap_or_default().up;
        let Some(cfg) = self
            .config
            .virtual_server(&vs)
            .and_then(|v| v.real_servers.iter().find(|r| r.addr == rs))
        else {
            return;
        };
        let script = if up { &cfg.notify_up } else { &cfg.notify_down };
        if let Some(s) = script {
            spawn_script(s, &[]);
        }
    }

    async fn reload(&mut self) {
        info!(file = %self.opts.config_file.display(), "SIGHUP: reloading the configuration");
        let new = match config::load(&self.opts.config_file) {
            Ok((c, warnings)) => {
                for w in warnings {
                    warn!("{w}");
                }
                c
            }
            Err(errors) => {
                for e in errors {
                    error!("{e}");
                }
                error!("reload refused: the running configuration stays in force");
                return;
            }
        };
        let diff = config::diff(&self.config, &new);
        if diff.is_empty() {
            info!("reload: nothing changed");
            return;
        }
        if diff.global_changed {
            warn!("reload: global_defs changed; new values apply to restarted instances only");
        }
        if self.ipvs.is_none() && !new.virtual_servers.is_empty() {
            let old = std::mem::replace(&mut self.config, new.clone());
            if let Err(e) = self.setup_ipvs() {
                error!("reload refused: {e}");
                self.config = old;
                return;
            }
        }
        // VRRP instances whose protocol side is unchanged (notify scripts,
        // sync daemon, ...) keep running with the new settings.
        let mut restart: Vec<&Change<String>> = Vec::new();
        for c in &diff.vrrp_instances {
            if let Change::Changed(name) = c
                && let Some(i) = self.instances.iter().position(|x| x.cfg.name == *name)
                && let Some(cfg) = new.vrrp_instance(name)
                && same_protocol(&self.instances[i], cfg, &new.global)
            {
                info!(instance = %name, "reload: settings updated in place (no VRRP restart)");
                self.instances[i].cfg = cfg.clone();
                let state = self.instances[i].router.state();
                let cfg = cfg.clone();
                self.sync_daemon_transition(&cfg, state);
                continue;
            }
            restart.push(c);
        }
        // VRRP instances: removed or changed ones resign, new or changed ones start.
        let now = Instant::now();
        for c in &restart {
            let (Change::Removed(name) | Change::Changed(name)) = c else {
                continue;
            };
            if let Some(i) = self.instances.iter().position(|x| x.cfg.name == *name) {
                info!(instance = %name, "reload: stopping instance");
                self.instances[i].router.shutdown(now);
                self.drain_actions(i, now);
                let inst = self.instances.remove(i);
                for v in all_vips(&inst.cfg) {
                    let _ = director_vip(&inst.cfg, &v).remove(&mut self.rtnl);
                }
            }
        }
        let old_config = std::mem::replace(&mut self.config, new.clone());
        for c in &restart {
            let (Change::Added(name) | Change::Changed(name)) = c else {
                continue;
            };
            let Some(cfg) = new.vrrp_instance(name).cloned() else {
                continue;
            };
            match self.prepare_instance(&cfg).await {
                Ok(mut inst) => {
                    inst.router.start(Instant::now());
                    info!(instance = %name, "reload: instance started");
                    self.instances.push(inst);
                }
                Err(e) => error!(instance = %name, error = %e, "reload: cannot start instance"),
            }
        }
        // Virtual servers: only the checks of what changed are replaced.
        for vc in &diff.virtual_servers {
            let key = vc.key;
            match &vc.change {
                Change::Removed(()) => self.remove_members(|m| m.vs == key),
                Change::Added(()) => {
                    if let Some(vs) = new.virtual_server(&key) {
                        for rs in vs.real_servers.clone() {
                            self.add_members(key, &rs).await;
                        }
                    }
                }
                Change::Changed(()) => {
                    for rc in &vc.real_servers {
                        match rc {
                            Change::Removed(a) | Change::Changed(a) => {
                                let a = *a;
                                self.remove_members(|m| m.vs == key && m.rs == a);
                            }
                            Change::Added(_) => {}
                        }
                    }
                    for rc in &vc.real_servers {
                        let (Change::Added(a) | Change::Changed(a)) = rc else {
                            continue;
                        };
                        if let Some(rs) = new
                            .virtual_server(&key)
                            .and_then(|v| v.real_servers.iter().find(|r| r.addr == *a))
                            .cloned()
                        {
                            self.add_members(key, &rs).await;
                        }
                    }
                }
            }
        }
        drop(old_config);
        self.table_dirty = true;
        info!(
            vrrp = diff.vrrp_instances.len(),
            virtual_servers = diff.virtual_servers.len(),
            "reload applied"
        );
    }

    fn snapshot(&mut self) -> Snapshot {
        let instances = self
            .instances
            .iter()
            .map(|i| InstanceView {
                name: i.cfg.name.clone(),
                interface: i.cfg.interface.clone(),
                vrid: i.cfg.virtual_router_id,
                state: format!("{:?}", i.router.state()),
                priority: i.cfg.priority,
                effective_priority: i.router.effective_priority(),
                master: i.router.master(),
                vips: i
                    .cfg
                    .virtual_ipaddresses
                    .iter()
                    .map(|v| format!("{}/{}", v.addr, v.prefix_len))
                    .collect(),
                last_reason: i.last_reason.clone(),
            })
            .collect();
        let table = self
            .ipvs
            .as_mut()
            .map(|h| h.table().map_err(|e| e.to_string()));
        let health = self.health();
        let mut real_servers = Vec::new();
        for vs in &self.config.virtual_servers {
            let key = vs.key();
            for rs in &vs.real_servers {
                let weight = table.as_ref().and_then(|t| t.as_ref().ok()).and_then(|t| {
                    t.iter()
                        .find(|e| e.service.service.key == desired::service_key(vs))
                        .and_then(|e| e.destinations.iter().find(|d| d.dest.addr == rs.addr))
                        .map(|d| d.dest.weight)
                });
                let mut checks: Vec<CheckView> = self
                    .members
                    .values()
                    .filter(|m| m.vs == key && m.rs == rs.addr)
                    .map(|m| CheckView {
                        description: m.description.clone(),
                        up: m.up,
                        last_failure: m.last_failure.clone(),
                    })
                    .collect();
                checks.sort_by(|a, b| a.description.cmp(&b.description));
                real_servers.push(RealServerView {
                    virtual_server: key.to_string(),
                    addr: rs.addr,
                    up: health.get(&(key, rs.addr)).copied().unwrap_or_default().up,
                    weight,
                    checks,
                });
            }
        }
        Snapshot {
            router_id: self
                .config
                .global
                .router_id
                .clone()
                .unwrap_or_else(|| "director".into()),
            pid: std::process::id(),
            config_file: self.opts.config_file.display().to_string(),
            instances,
            real_servers,
            ipvs: table,
            ghosts: self.ghosts.clone(),
        }
    }
}

/// Whether `new` runs the same VRRP router (same wire behaviour and VIPs)
/// as the running instance, so a reload can keep its state.
fn same_protocol(running: &Instance, new: &VrrpInstance, global: &config::GlobalDefs) -> bool {
    let primary = running.router.config().primary_address;
    let Ok(new_cfg) = vrrp_map::router_config(new, global, primary) else {
        return false;
    };
    new_cfg == *running.router.config()
        && all_vips(new) == all_vips(&running.cfg)
        && new.interface == running.cfg.interface
        && new.unicast_peers == running.cfg.unicast_peers
        && new.source_ip == running.cfg.source_ip
}

/// A stable id per virtual server for the health engine's per-service logic.
fn service_id(key: &VirtualServerKey) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::collections::hash_map::DefaultHasher::new();
    key.hash(&mut h);
    h.finish()
}

/// The VIPs an instance holds while Master (carried in adverts or not).
fn all_vips(inst: &VrrpInstance) -> Vec<VirtualIp> {
    inst.virtual_ipaddresses
        .iter()
        .chain(&inst.virtual_ipaddresses_excluded)
        .cloned()
        .collect()
}

/// Runs the health-check runner on its own thread and runtime, as keepalived
/// runs its checkers in a process apart from VRRP: a burst of probe work
/// then never delays an advert or a Master_Down timer on the event loop.
/// The thread inherits the process's scheduling (`vrrp_rt_priority` …).
fn spawn_checker_thread() -> Result<
    (
        mpsc::UnboundedSender<Command>,
        mpsc::UnboundedReceiver<Event>,
    ),
    DaemonError,
> {
    let (commands_tx, commands_rx) = mpsc::unbounded_channel();
    let (events_tx, events_rx) = mpsc::unbounded_channel();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| env(format!("cannot start the health-check runtime: {e}")))?;
    std::thread::Builder::new()
        .name("checks".into())
        .spawn(move || {
            let mut runner = Runner::new(EngineConfig {
                fail_open: FailOpen::Report,
                ..EngineConfig::default()
            });
            runner.set_fail_open(ServiceId(0), FailOpen::Report);
            rt.block_on(runner.run(events_tx, commands_rx));
        })
        .map_err(|e| env(format!("cannot start the health-check thread: {e}")))?;
    Ok((commands_tx, events_rx))
}

/// keepalived's `vrrp_priority`/`vrrp_rt_priority`/`vrrp_no_swap` (and the
/// checker twins) for the one director process, so a busy machine does not
/// delay adverts and failover. Applied from the runtime's thread before any
/// other thread starts (threads inherit the policy). Failure is a warning,
/// as in keepalived.
fn apply_process_scheduling(g: &config::GlobalDefs) {
    if let Some(n) = g.nice {
        match rustix::process::setpriority_process(None, i32::from(n)) {
            Ok(()) => info!(nice = n, "process priority set"),
            Err(e) => warn!(nice = n, error = %e, "cannot set the process priority"),
        }
    }
    if let Some(p) = g.rt_priority {
        let param = libc::sched_param {
            sched_priority: libc::c_int::from(p),
        };
        // SAFETY: 0 is the calling thread; `param` is a valid sched_param.
        // (rustix has no sched_setscheduler.)
        if unsafe { libc::sched_setscheduler(0, libc::SCHED_RR, &param) } == 0 {
            info!(priority = p, "real-time scheduling SCHED_RR");
        } else {
            warn!(priority = p, error = %std::io::Error::last_os_error(), "cannot set real-time scheduling");
        }
    }
    if g.no_swap {
        use rustix::mm::MlockAllFlags;
        match rustix::mm::mlockall(MlockAllFlags::CURRENT | MlockAllFlags::FUTURE) {
            Ok(()) => info!("memory locked (no swap)"),
            Err(e) => warn!(error = %e, "cannot lock memory"),
        }
    }
}

fn is_link_local_v6(a: &IpAddr) -> bool {
    matches!(a, IpAddr::V6(v6) if v6.is_unicast_link_local())
}

fn director_vip(inst: &VrrpInstance, v: &VirtualIp) -> DirectorVip {
    DirectorVip {
        iface: v.dev.clone().unwrap_or_else(|| inst.interface.clone()),
        addr: v.addr,
        prefix_len: v.prefix_len,
        label: v.label.clone(),
    }
}

/// Carrier of `name`, read from sysfs when sysfs shows this namespace's
/// interface (same ifindex); otherwise assumed present.
fn carrier(name: &str, index: u32) -> bool {
    let base = Path::new("/sys/class/net").join(name);
    let same = std::fs::read_to_string(base.join("ifindex"))
        .ok()
        .and_then(|s| s.trim().parse::<u32>().ok())
        == Some(index);
    if !same {
        return true;
    }
    match std::fs::read_to_string(base.join("carrier")) {
        Ok(s) => s.trim() == "1",
        Err(_) => false,
    }
}

fn spawn_script(s: &Script, extra: &[&str]) {
    let Some((program, args)) = s.argv.split_first() else {
        return;
    };
    let mut cmd = tokio::process::Command::new(program);
    cmd.args(args)
        .args(extra)
        .stdin(std::process::Stdio::null());
    match cmd.spawn() {
        Ok(mut child) => {
            let argv = s.argv.join(" ");
            info!(script = %argv, "notify script started");
            tokio::spawn(async move {
                match child.wait().await {
                    Ok(st) if st.success() => {}
                    Ok(st) => warn!(script = %argv, status = %st, "notify script failed"),
                    Err(e) => warn!(script = %argv, error = %e, "notify script"),
                }
            });
        }
        Err(e) => error!(script = %s.argv.join(" "), error = %e, "cannot run notify script"),
    }
}

fn bind_control(path: &Path) -> Result<tokio::net::UnixListener, DaemonError> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| env(format!("cannot create {}: {e}", dir.display())))?;
    }
    // A live director answers on it: refuse to steal its socket.
    if std::os::unix::net::UnixStream::connect(path).is_ok() {
        return Err(env(format!(
            "another director is running with control socket {} (use --control)",
            path.display()
        )));
    }
    let _ = std::fs::remove_file(path);
    tokio::net::UnixListener::bind(path)
        .map_err(|e| env(format!("cannot bind {}: {e}", path.display())))
}

async fn accept_tcp(l: Option<&tokio::net::TcpListener>) -> Option<tokio::net::TcpStream> {
    match l {
        Some(l) => l.accept().await.ok().map(|(s, _)| s),
        None => std::future::pending().await,
    }
}

async fn serve_metrics(mut stream: tokio::net::TcpStream, body: String) {
    // Read the request head (any path gets the metrics).
    let mut req = Vec::new();
    let mut buf = [0u8; 1024];
    let _ = tokio::time::timeout(Duration::from_secs(2), async {
        while !req.windows(4).any(|w| w == b"\r\n\r\n") && req.len() < 16384 {
            match stream.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => req.extend_from_slice(&buf[..n]),
            }
        }
    })
    .await;
    let head = format!(
        "HTTP/1.0 200 OK\r\nContent-Type: application/openmetrics-text; version=1.0.0; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let _ = stream.write_all(head.as_bytes()).await;
    let _ = stream.write_all(body.as_bytes()).await;
    let _ = stream.shutdown().await;
}

/// Asks a running director for its status over its control socket.
pub fn query_status(path: &Path) -> std::io::Result<String> {
    use std::io::{Read, Write};
    let mut s = std::os::unix::net::UnixStream::connect(path)?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    s.write_all(b"status\n")?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    Ok(out)
}
