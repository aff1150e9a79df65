//! The tokio driver: runs a [`Director`] on real sockets.
//!
//! [`run`] starts everything and returns a [`Handle`]; the event loop runs
//! as a task on the caller's runtime (a current-thread runtime is enough).
//! IPVS writes run on a thread of their own, probes on lvs-healthcheck's
//! runner on another thread and runtime, so neither ever delays a VRRP
//! timer; the loop sleeps on lvs-vrrp's timerfd `Timer`, so VRRP timers
//! fire to the microsecond. Link changes come from a link watcher task.
//! keepalived's notify FIFOs are written by a thread per FIFO from a
//! bounded queue (`fifo.rs`), so a FIFO nobody reads never blocks the loop.
//! Status comes from the core's own records; only [`Handle::status`]'s
//! kernel table is read, on the IPVS thread.
//!
//! Signals, pid files, control sockets, metrics endpoints and process
//! scheduling are the program's: this module installs none of them.

mod addresses;
mod checks;
mod fifo;
mod ipvs_worker;
mod links;
mod netns;
mod resolve;
mod routes;
mod tracking;
mod vmac;

use std::collections::{BTreeSet, HashMap};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use lvs_arpguard::audit::GhostAuditSpec;
use lvs_vrrp::RecvMeta;
use lvs_vrrp::driver::{Timer, VrrpSocket};
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, error, info, warn};

use crate::command::{Command, InstanceId, ProbeKey};
use crate::config::{ConfigError, DirectorConfig, Script};
use crate::director::{CheckEvent, Director, ReloadSummary};
use crate::status::Report;

use addresses::Addresses;
use ipvs_worker::{Job, Worker};
pub use netns::{NetNamespaceError, enter_net_namespace};

/// A loop step or wake-up later than this is logged (it delays VRRP timers).
const STALL: Duration = Duration::from_millis(250);
/// How often the VRRP interfaces are audited for ghost addresses.
const GHOST_AUDIT: Duration = Duration::from_secs(5);
/// A reload is applied when no core timer falls due for at least this long
/// (right after an advert, with 1 s adverts), so applying a large diff
/// never delays one: twice what the last reload took to apply, within these
/// bounds (a slow machine or a large table needs the wider gap).
const RELOAD_GAP: Duration = Duration::from_millis(250);
const RELOAD_GAP_MAX: Duration = Duration::from_millis(800);
/// The longest a reload waits for such a gap (centisecond adverts leave none).
const RELOAD_WAIT: Duration = Duration::from_secs(2);

/// A reload whose source addresses are resolved, waiting for a gap.
struct PendingReload {
    config: DirectorConfig,
    reply: oneshot::Sender<Result<ReloadSummary, ReloadError>>,
    since: Instant,
}

/// Why the director could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StartError {
    /// The configuration has virtual servers (or a sync daemon) and the
    /// kernel has no IPVS.
    #[error(
        "the configuration has virtual servers but IPVS is unavailable: {0} \
         (load it with `modprobe ip_vs`, or remove the virtual servers to run VRRP only)"
    )]
    IpvsUnavailable(lvs_ipvs::Error),
    /// The configuration does not validate.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// An instance's sockets or addresses.
    #[error("{0}")]
    Instance(String),
    /// Netlink, threads, timers.
    #[error("{0}")]
    Env(String),
    /// With [`DirectorConfig::script_security`], a script a non-root user
    /// could change.
    #[error("script security: {0}")]
    InsecureScript(String),
    /// Not in [`DirectorConfig::net_namespace`].
    #[error(transparent)]
    NetNamespace(#[from] NetNamespaceError),
}

/// Why a reload was refused; the running configuration stays in force.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ReloadError {
    /// The new configuration does not validate.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A new instance's source address cannot be found.
    #[error("{0}")]
    Source(String),
    /// The new configuration needs IPVS and the kernel has none.
    #[error("IPVS is unavailable: {0}")]
    IpvsUnavailable(lvs_ipvs::Error),
    /// A newer reload arrived before this one was applied; the newer one
    /// is applied instead.
    #[error("superseded by a newer reload")]
    Superseded,
    /// The director has stopped.
    #[error("the director has stopped")]
    Stopped,
    /// With [`DirectorConfig::script_security`], a script a non-root user
    /// could change.
    #[error("script security: {0}")]
    InsecureScript(String),
}

/// keepalived's `enable_script_security`: every insecure script, in one message.
fn script_security(config: &DirectorConfig) -> Result<(), String> {
    config
        .check_script_security()
        .map_err(|e| crate::config::describe(&e.0))
}

enum Request {
    Reload(
        DirectorConfig,
        oneshot::Sender<Result<ReloadSummary, ReloadError>>,
    ),
    /// A reload whose source addresses are resolved.
    Resolved(
        Result<DirectorConfig, String>,
        oneshot::Sender<Result<ReloadSummary, ReloadError>>,
    ),
    Status(oneshot::Sender<Report>),
    /// Start draining; answered when drained (`true`: timed out).
    Drain(oneshot::Sender<bool>),
    /// The IPVS thread's measurement for a drain.
    Traffic(crate::director::TrafficSample),
    Shutdown(oneshot::Sender<()>),
}

/// Controls a running director; dropping it stops the director too.
#[derive(Debug)]
pub struct Handle {
    requests: mpsc::UnboundedSender<Request>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl Handle {
    /// Applies a new configuration without stopping VRRP timers (the
    /// core's [`Director::apply_config`]); source addresses of new
    /// instances are looked up off the event loop, and the diff is applied
    /// in the first gap before the next core timer of twice what the last
    /// reload took to apply (at least 250 ms, at most 800 ms; 800 ms for the
    /// first reload)
    /// (right after an advert), or after 2 s without one — so its cost on a
    /// large configuration never delays an advert at ordinary intervals.
    pub async fn reload(&self, config: DirectorConfig) -> Result<ReloadSummary, ReloadError> {
        let (tx, rx) = oneshot::channel();
        self.requests
            .send(Request::Reload(config, tx))
            .map_err(|_| ReloadError::Stopped)?;
        rx.await.map_err(|_| ReloadError::Stopped)?
    }

    /// The live view: the core's state, ghost findings, the kernel table.
    /// `None` once the director has stopped.
    pub async fn status(&self) -> Option<Report> {
        let (tx, rx) = oneshot::channel();
        self.requests.send(Request::Status(tx)).ok()?;
        rx.await.ok()
    }

    /// Drains (the core's [`Director::drain`]): every announced VIP is
    /// withdrawn at once; the future resolves once this director's traffic
    /// to them has ended, or the drain timeout passed (`Some(true)`), and
    /// the caller then calls [`shutdown`](Self::shutdown). `None` when the
    /// director stopped first. It borrows nothing, so a program can hold it
    /// while it goes on serving requests.
    pub fn drain(&self) -> impl std::future::Future<Output = Option<bool>> + Send + 'static {
        let (tx, rx) = oneshot::channel();
        let sent = self.requests.send(Request::Drain(tx)).is_ok();
        async move {
            match sent {
                true => rx.await.ok(),
                false => None,
            }
        }
    }

    /// Resigns every instance (priority-0 adverts), removes the VIPs, stops
    /// the probes and the sync daemon, and waits for the loop to end. The
    /// IPVS table stays for the next start to adopt.
    pub async fn shutdown(mut self) {
        let (tx, rx) = oneshot::channel();
        if self.requests.send(Request::Shutdown(tx)).is_ok() {
            let _ = rx.await;
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        if self.task.is_some() {
            let (tx, _rx) = oneshot::channel();
            let _ = self.requests.send(Request::Shutdown(tx));
        }
    }
}

/// One advert from an instance's reader task.
struct Received {
    instance: InstanceId,
    meta: RecvMeta,
    payload: Vec<u8>,
    /// Kernel receive time: a busy loop does not delay the Backup's timer.
    arrival: Instant,
}

struct OpenInstance {
    name: String,
    socket: Arc<VrrpSocket>,
    reader: tokio::task::JoinHandle<()>,
    /// The audit of this instance's interface.
    audit: GhostAuditSpec,
    /// Its macvlan (`use_vmac`), removed when it closes.
    vmac: Option<vmac::Made>,
}

impl Drop for OpenInstance {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

struct Loop {
    core: Director,
    addresses: Addresses,
    instances: HashMap<InstanceId, OpenInstance>,
    packets_tx: mpsc::UnboundedSender<Received>,
    ipvs: Option<Worker>,
    ipvs_outcomes: mpsc::UnboundedSender<ipvs_worker::Outcome>,
    probes: mpsc::UnboundedSender<checks::Request>,
    /// Set while the start-up commands run: errors are fatal then.
    starting: bool,
    pending_reload: Option<PendingReload>,
    /// How long the last reload took to apply (sizes the gap it waits for).
    last_apply: Option<Duration>,
    /// The notify FIFOs' writers.
    fifos: fifo::Fifos,
    /// The thread watching tracked files and processes.
    tracker: tracking::Tracker,
    /// The instances' macvlans (`use_vmac`) and the settings they share.
    vmacs: vmac::Vmacs,
    /// What the link watcher filters deleted routes by.
    route_protocols: tokio::sync::watch::Sender<BTreeSet<u8>>,
    /// Who waits for the drain to end.
    drain_waiters: Vec<oneshot::Sender<bool>>,
    /// The loop's own request queue (answers of work done off the loop).
    requests: mpsc::UnboundedSender<Request>,
}

/// Starts a director from `config`: source addresses resolved, IPVS opened
/// (when the configuration has virtual servers or a sync daemon), the probe
/// thread started, the core created and its first commands carried out
/// (leftover VIPs removed, sockets opened, the table reconciled). Errors
/// before the loop runs are returned; afterwards they are logged.
pub async fn run(mut config: DirectorConfig) -> Result<Handle, StartError> {
    // Before any socket: in the wrong namespace, it would all be elsewhere.
    netns::check(&config)?;
    let mut addresses = Addresses::open().map_err(|e| StartError::Env(e.to_string()))?;
    resolve::resolve_sources(addresses.rtnl(), &mut config)
        .await
        .map_err(StartError::Instance)?;
    config.validate()?;
    script_security(&config).map_err(StartError::InsecureScript)?;
    let (outcomes_tx, outcomes_rx) = mpsc::unbounded_channel();
    let ipvs = if needs_ipvs(&config) {
        Some(
            Worker::start(&config.ipvs_setup, outcomes_tx.clone())
                .map_err(StartError::IpvsUnavailable)?,
        )
    } else {
        info!("no virtual server in the configuration: IPVS is not touched");
        None
    };
    let (verdicts_tx, verdicts_rx) = mpsc::unbounded_channel();
    let probes = checks::start(verdicts_tx)
        .map_err(|e| StartError::Env(format!("cannot start the health-check thread: {e}")))?;
    let (packets_tx, packets_rx) = mpsc::unbounded_channel();
    let fifos = fifo::Fifos::start(&config.notify_fifos);
    let (tracked_tx, tracked_rx) = mpsc::unbounded_channel();
    let tracker = tracking::Tracker::start(tracked_tx)
        .map_err(|e| StartError::Env(format!("cannot start the file and process watcher: {e}")))?;
    let protocols = route_protocols(&config);
    let core = Director::new(Instant::now(), config)?;
    let (requests, requests_rx) = mpsc::unbounded_channel();
    let mut lp = Loop {
        core,
        addresses,
        instances: HashMap::new(),
        packets_tx,
        ipvs,
        ipvs_outcomes: outcomes_tx,
        probes,
        starting: true,
        pending_reload: None,
        last_apply: None,
        fifos,
        tracker,
        vmacs: vmac::Vmacs::default(),
        route_protocols: tokio::sync::watch::channel(protocols).0,
        drain_waiters: Vec::new(),
        requests: requests.clone(),
    };
    if let Err(e) = lp.carry_out(Instant::now()) {
        // Nothing made for instances that never ran stays behind.
        let ids: Vec<InstanceId> = lp.instances.keys().copied().collect();
        for id in ids {
            lp.close_instance(id);
        }
        return Err(StartError::Instance(e));
    }
    lp.starting = false;
    let timer = Timer::new().map_err(|e| StartError::Env(format!("cannot create a timer: {e}")))?;
    let (links_tx, links_rx) = mpsc::unbounded_channel();
    links::start(links_tx, lp.route_protocols.subscribe()).map_err(StartError::Env)?;
    let inputs = Inputs {
        packets: packets_rx,
        verdicts: verdicts_rx,
        links: links_rx,
        outcomes: outcomes_rx,
        requests: requests_rx,
        requests_tx: requests.clone(),
        tracked: tracked_rx,
        timer,
    };
    let task = tokio::spawn(async move { lp.run(inputs).await });
    Ok(Handle {
        requests,
        task: Some(task),
    })
}

/// Deletes every route of `protocol` in `table` in this network namespace,
/// both families: what a director that did not stop cleanly left announced
/// (for a service manager's clean-up, e.g. systemd's `ExecStopPost=`; a
/// start does the same). Returns how many routes were deleted.
pub fn flush_routes(table: u32, protocol: u8) -> Result<usize, String> {
    let mut rtnl = lvs_arpguard::Rtnl::open(None).map_err(|e| e.to_string())?;
    routes::flush(&mut rtnl, table, protocol).map_err(|e| e.to_string())
}

/// The protocols of the routes the configuration installs: the link
/// watcher passes on deletions of these only.
fn route_protocols(cfg: &DirectorConfig) -> BTreeSet<u8> {
    cfg.instances
        .iter()
        .flat_map(|i| i.routes.iter())
        .chain(cfg.static_routing.routes.iter())
        .map(|r| r.protocol)
        .chain(cfg.route_announce.as_ref().map(|a| a.protocol))
        .collect()
}

fn needs_ipvs(cfg: &DirectorConfig) -> bool {
    !cfg.virtual_servers.is_empty() || cfg.sync_daemon.is_some()
}

struct Inputs {
    packets: mpsc::UnboundedReceiver<Received>,
    verdicts: mpsc::UnboundedReceiver<(ProbeKey, CheckEvent)>,
    links: mpsc::UnboundedReceiver<links::HostChange>,
    outcomes: mpsc::UnboundedReceiver<ipvs_worker::Outcome>,
    requests: mpsc::UnboundedReceiver<Request>,
    requests_tx: mpsc::UnboundedSender<Request>,
    tracked: mpsc::UnboundedReceiver<tracking::Report>,
    timer: Timer,
}

impl Loop {
    async fn run(&mut self, mut inp: Inputs) {
        let mut next_audit = Instant::now() + Duration::from_secs(1);
        loop {
            let now = Instant::now();
            if now >= next_audit {
                let specs: Vec<GhostAuditSpec> =
                    self.instances.values().map(|i| i.audit.clone()).collect();
                self.addresses.audit(&specs);
                next_audit = now + GHOST_AUDIT;
            }
            if self.core.poll_timeout().is_some_and(|t| t <= now) {
                self.core.handle_timeout(now);
            }
            self.step(now);
            self.addresses.pump(now);
            self.reload_in_gap(now);
            let took = now.elapsed();
            if took > STALL {
                warn!(ms = took.as_millis() as u64, "event loop step was slow");
            }
            let reload_by = self.pending_reload.as_ref().map(|p| p.since + RELOAD_WAIT);
            let wake = [
                self.core.poll_timeout(),
                self.addresses.poll_timeout(),
                reload_by,
            ]
            .into_iter()
            .flatten()
            .min()
            .unwrap_or(next_audit)
            .min(next_audit);
            tokio::select! {
                Some(p) = inp.packets.recv() => {
                    if let Err(reason) = self.core.handle_vrrp(p.arrival, p.instance, &p.meta, &p.payload) {
                        debug!(instance = %p.instance, from = %p.meta.source, ?reason, "advert dropped");
                    }
                }
                Some((probe, ev)) = inp.verdicts.recv() => self.core.handle_check(Instant::now(), probe, ev),
                Some(change) = inp.links.recv() => match change {
                    links::HostChange::Link(name, up) => self.core.handle_link(Instant::now(), &name, up),
                    links::HostChange::Addresses(a) => self.core.handle_local_addresses(Instant::now(), &a),
                    links::HostChange::Removed(r) => {
                        if routes::still_gone(self.addresses.rtnl(), &r) {
                            self.core.handle_removed(Instant::now(), &r);
                        }
                    }
                },
                Some(o) = inp.outcomes.recv() => {
                    if o.repaired > 0 {
                        self.core.handle_ipvs_repaired(o.repaired);
                    }
                    self.core.handle_ipvs_result(Instant::now(), o.ok)
                }
                Some(r) = inp.tracked.recv() => match r {
                    tracking::Report::File(name, value) => self.core.handle_track_file(Instant::now(), &name, value),
                    tracking::Report::Process(name, count) => self.core.handle_process_count(Instant::now(), &name, count),
                },
                Some(req) = inp.requests.recv() => {
                    if self.request(req, &inp.requests_tx) {
                        return;
                    }
                }
                r = inp.timer.sleep_until(wake) => {
                    let late = wake.elapsed();
                    if late > STALL {
                        warn!(late_ms = late.as_millis() as u64, "event loop woke late");
                    }
                    if let Err(e) = r {
                        // Cannot happen with a valid timerfd; never spin on it.
                        error!(error = %e, "timer failed");
                        tokio::time::sleep(Duration::from_millis(1)).await;
                    }
                }
            }
        }
    }

    /// Carries out the core's commands; errors are logged.
    fn step(&mut self, now: Instant) {
        if let Err(e) = self.carry_out(now) {
            error!("{e}");
        }
    }

    /// Handles a request; true when the loop must end.
    fn request(&mut self, req: Request, requests: &mpsc::UnboundedSender<Request>) -> bool {
        match req {
            Request::Reload(mut cfg, reply) => {
                // Source addresses may take a while (DAD): look them up in a
                // task of their own, with a netlink socket of its own.
                let requests = requests.clone();
                tokio::spawn(async move {
                    let r = match lvs_arpguard::Rtnl::open(None) {
                        Ok(mut rtnl) => resolve::resolve_sources(&mut rtnl, &mut cfg)
                            .await
                            .map(|()| cfg),
                        Err(e) => Err(e.to_string()),
                    };
                    let _ = requests.send(Request::Resolved(r, reply));
                });
            }
            Request::Resolved(cfg, reply) => match cfg {
                Err(e) => {
                    let _ = reply.send(Err(ReloadError::Source(e)));
                }
                Ok(config) => {
                    // A newer reload replaces one still waiting for its gap.
                    if let Some(old) = self.pending_reload.take() {
                        let _ = old.reply.send(Err(ReloadError::Superseded));
                    }
                    self.pending_reload = Some(PendingReload {
                        config,
                        reply,
                        since: Instant::now(),
                    });
                }
            },
            Request::Status(reply) => {
                let status = self.core.status();
                let ghosts = self.addresses.ghosts().to_vec();
                match &self.ipvs {
                    None => {
                        let _ = reply.send(Report {
                            status,
                            ghosts,
                            ipvs: None,
                        });
                    }
                    Some(w) => {
                        let (tx, rx) = oneshot::channel();
                        w.send(Job::Dump(tx));
                        tokio::spawn(async move {
                            let table = rx
                                .await
                                .unwrap_or_else(|_| Err("IPVS thread stopped".into()));
                            let _ = reply.send(Report {
                                status,
                                ghosts,
                                ipvs: Some(table),
                            });
                        });
                    }
                }
            }
            Request::Drain(reply) => {
                self.drain_waiters.push(reply);
                self.core.drain(Instant::now());
                self.step(Instant::now());
            }
            Request::Traffic(sample) => {
                self.core.handle_traffic(Instant::now(), sample);
                self.step(Instant::now());
            }
            Request::Shutdown(reply) => {
                let now = Instant::now();
                // keepalived's order: FIFO scripts told to stop, then the STOP lines.
                self.fifos.terminate_scripts();
                self.core.shutdown(now);
                self.step(now);
                self.addresses.pump(now);
                // The STOP lines written, the FIFOs made here removed.
                self.fifos.close();
                info!("director stopped; the IPVS table is left in place for the next start");
                let _ = reply.send(());
                return true;
            }
        }
        false
    }

    /// Applies a waiting reload when no timer is due for [`RELOAD_GAP`], or
    /// once it has waited [`RELOAD_WAIT`].
    fn reload_in_gap(&mut self, now: Instant) {
        let Some(p) = &self.pending_reload else {
            return;
        };
        // Before any reload its cost is unknown: take the widest gap.
        let needed = match self.last_apply {
            None => RELOAD_GAP_MAX,
            Some(took) => (took * 2).clamp(RELOAD_GAP, RELOAD_GAP_MAX),
        };
        let gap = self
            .core
            .poll_timeout()
            .is_none_or(|t| t.saturating_duration_since(now) >= needed);
        if !gap && now < p.since + RELOAD_WAIT {
            return;
        }
        if let Some(p) = self.pending_reload.take() {
            let r = self.reload(p.config);
            let _ = p.reply.send(r);
            self.step(Instant::now());
        }
    }

    /// The core validates; nothing changes on error.
    fn reload(&mut self, cfg: DirectorConfig) -> Result<ReloadSummary, ReloadError> {
        script_security(&cfg).map_err(ReloadError::InsecureScript)?;
        if self.ipvs.is_none() && needs_ipvs(&cfg) {
            let w = Worker::start(&cfg.ipvs_setup, self.ipvs_outcomes.clone())
                .map_err(ReloadError::IpvsUnavailable)?;
            self.ipvs = Some(w);
        }
        let started = Instant::now();
        let summary = self.core.apply_config(started, cfg)?;
        self.last_apply = Some(started.elapsed());
        self.fifos.reconfigure(&self.core.config().notify_fifos);
        self.route_protocols
            .send_replace(route_protocols(self.core.config()));
        // Freeing the old configuration is the loop's business no more.
        if let Some(old) = self.core.take_retired_config() {
            tokio::task::spawn_blocking(move || drop(old));
        }
        Ok(summary)
    }

    fn carry_out(&mut self, now: Instant) -> Result<(), String> {
        while let Some(cmd) = self.core.poll_command() {
            self.command(now, cmd)?;
        }
        Ok(())
    }

    fn name(&self, id: InstanceId) -> String {
        self.instances
            .get(&id)
            .map_or_else(|| id.to_string(), |i| i.name.clone())
    }

    fn command(&mut self, now: Instant, cmd: Command) -> Result<(), String> {
        match cmd {
            Command::OpenInstance {
                instance,
                name,
                interface,
                router,
                vmac,
            } => match self.open_instance(instance, &name, &interface, &router, vmac.as_deref()) {
                Ok(()) => {}
                Err(e) if self.starting => return Err(e),
                Err(e) => error!("{e}"),
            },
            Command::CloseInstance { instance } => self.close_instance(instance),
            Command::SendAdvert { instance, transmit } => {
                if let Some(i) = self.instances.get(&instance)
                    && let Err(e) = i.socket.try_send(&transmit)
                {
                    warn!(instance = %i.name, destination = %transmit.destination, error = %e, "cannot send advert");
                }
            }
            Command::AddVip { instance, vip } => {
                let name = self.name(instance);
                self.addresses.add_vip(&name, &vip);
            }
            Command::RemoveVip { instance, vip } => {
                let name = self.name(instance);
                // At start, only leftovers of an earlier run are removed.
                let leftover = self.starting;
                self.addresses.remove_vip(&name, &vip, leftover);
            }
            Command::AddRouting { instance, routing } => {
                let owner = instance.map_or_else(|| "static".to_string(), |i| self.name(i));
                routes::add(self.addresses.rtnl(), &owner, &routing);
            }
            Command::RemoveRouting { instance, routing } => {
                let owner = instance.map_or_else(|| "static".to_string(), |i| self.name(i));
                routes::remove(self.addresses.rtnl(), &owner, &routing);
            }
            Command::Announce {
                interface,
                addr,
                count,
                interval,
                mac,
            } => self
                .addresses
                .announce(&interface, addr, count, interval, mac, now),
            Command::Withdraw { interface, addr } => self.addresses.withdraw(&interface, addr),
            Command::RunScript { script, args } => spawn_script(&script, &args),
            Command::AddProbe {
                probe,
                service,
                spec,
                ..
            } => {
                let _ = self.probes.send(checks::Request::Add {
                    probe,
                    service,
                    spec,
                });
            }
            Command::AddTrackScript { probe, name, spec } => {
                let _ = self
                    .probes
                    .send(checks::Request::AddScript { probe, name, spec });
            }
            Command::RemoveProbe { probe } => {
                let _ = self.probes.send(checks::Request::Remove(probe));
            }
            Command::WatchFile { name, path, init } => {
                self.tracker
                    .send(tracking::Request::WatchFile { name, path, init });
            }
            Command::UnwatchFile { name } => {
                self.tracker.send(tracking::Request::UnwatchFile(name))
            }
            Command::WatchProcess { name, process } => {
                self.tracker
                    .send(tracking::Request::WatchProcess { name, process });
            }
            Command::UnwatchProcess { name } => {
                self.tracker.send(tracking::Request::UnwatchProcess(name));
            }
            Command::Ipvs(ops) => match &self.ipvs {
                Some(w) => w.send(Job::Ops(ops)),
                None => warn!("an IPVS change without IPVS (no virtual server at start)"),
            },
            Command::IpvsReconcile(table) => {
                if let Some(w) = &self.ipvs {
                    w.send(Job::Reconcile(table));
                }
            }
            Command::Transition {
                name,
                from,
                to,
                reason,
                priority,
                ..
            } => {
                info!(instance = %name, from = ?from, to = ?to, reason = ?reason, priority, "VRRP transition");
                self.fifos.transition(&name, to, priority);
            }
            Command::GroupTransition { group, to } => self.fifos.group(&group, to),
            Command::RealServerChanged {
                service,
                real_server,
                up,
                reason,
            } => {
                let reason = reason.map(|r| r.to_string()).unwrap_or_default();
                info!(virtual_server = %service, %real_server, up, %reason, "real server check changed");
                self.fifos.real_server(&service, real_server, up);
            }
            Command::QuorumChanged { service, up } => {
                info!(virtual_server = %service, up, "quorum changed");
                self.fifos.virtual_server(&service, up);
            }
            Command::FlushRoutes { table, protocol } => {
                if let Err(e) = routes::flush(self.addresses.rtnl(), table, protocol) {
                    warn!(table, protocol, error = %e, "cannot flush leftover announced routes");
                }
            }
            Command::AddAnnouncement { vip, route } => {
                info!(%vip, %route, "VIP announced");
                let routing = crate::routes::Routing::new(vec![route], Vec::new());
                routes::add(self.addresses.rtnl(), "announcement", &routing);
            }
            Command::RemoveAnnouncement { vip, route } => {
                info!(%vip, %route, "VIP withdrawn");
                let routing = crate::routes::Routing::new(vec![route], Vec::new());
                routes::remove(self.addresses.rtnl(), "announcement", &routing);
            }
            Command::SampleTraffic { vips } => self.sample_traffic(vips),
            Command::Drained { timed_out } => {
                for w in self.drain_waiters.drain(..) {
                    let _ = w.send(timed_out);
                }
            }
        }
        Ok(())
    }

    /// Reads the kernel's counters for `vips` on the IPVS thread and feeds
    /// them back to the loop as a [`Request::Traffic`].
    fn sample_traffic(&mut self, vips: Vec<IpAddr>) {
        let Some(w) = &self.ipvs else {
            // No IPVS, no traffic.
            let sample = crate::director::TrafficSample::default();
            let _ = self.requests.send(Request::Traffic(sample));
            return;
        };
        let (tx, rx) = oneshot::channel();
        w.send(Job::Dump(tx));
        let requests = self.requests.clone();
        tokio::spawn(async move {
            match rx.await {
                Ok(Ok(table)) => {
                    let sample = ipvs_worker::traffic_to(&table, &vips);
                    let _ = requests.send(Request::Traffic(sample));
                }
                Ok(Err(e)) => warn!(error = %e, "cannot read IPVS counters for the drain"),
                Err(_) => {}
            }
        });
    }

    /// Closes an instance's sockets and removes its macvlan.
    fn close_instance(&mut self, id: InstanceId) {
        let Some(mut inst) = self.instances.remove(&id) else {
            return;
        };
        if let Some(made) = inst.vmac.take() {
            self.addresses.forget(made.name());
            self.vmacs.close(self.addresses.rtnl(), made);
        }
    }

    fn open_instance(
        &mut self,
        id: InstanceId,
        name: &str,
        interface: &str,
        router: &lvs_vrrp::Config,
        vmac: Option<&crate::config::Vmac>,
    ) -> Result<(), String> {
        let ipv6_vips = self
            .core
            .config()
            .instance(name)
            .is_some_and(|c| c.vips.iter().any(|v| v.addr.is_ipv6()));
        let made = match vmac {
            Some(v) => Some(
                self.vmacs
                    .open(self.addresses.rtnl(), interface, v, router, ipv6_vips)
                    .map_err(|e| format!("vrrp_instance {name}: {e}"))?,
            ),
            None => None,
        };
        // Adverts go on the macvlan unless `vmac_xmit_base`.
        let sock_iface = match vmac {
            Some(v) if !v.xmit_base => v.name.as_str(),
            _ => interface,
        };
        let socket = match VrrpSocket::open_for(sock_iface, router) {
            Ok(s) => s,
            Err(e) => {
                if let Some(made) = made {
                    self.vmacs.close(self.addresses.rtnl(), made);
                }
                return Err(format!(
                    "vrrp_instance {name}: cannot open the VRRP sockets on {sock_iface}: {e}"
                ));
            }
        };
        let socket = Arc::new(socket);
        let tx = self.packets_tx.clone();
        let rx_socket = socket.clone();
        let task_name = name.to_string();
        let reader = tokio::spawn(async move {
            let mut buf = vec![0u8; 65_536];
            loop {
                match rx_socket.recv(&mut buf).await {
                    Ok((meta, payload, arrival)) => {
                        let r = Received {
                            instance: id,
                            meta,
                            payload: payload.to_vec(),
                            arrival,
                        };
                        if tx.send(r).is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        warn!(instance = %task_name, error = %e, "VRRP receive error");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
            }
        });
        let cfg = self.core.config().instance(name);
        let vips: Vec<(IpAddr, u8)> = cfg
            .map(|c| c.vips.iter().map(|v| (v.addr, v.prefix_len)).collect())
            .unwrap_or_default();
        let vip_addrs: Vec<IpAddr> = vips.iter().map(|v| v.0).collect();
        let mut expected = self.addresses.static_addresses(interface, &vip_addrs);
        expected.extend(vips.iter().copied());
        info!(instance = %name, source = %router.primary_address, interface = sock_iface, "VRRP sockets open");
        self.instances.insert(
            id,
            OpenInstance {
                name: name.to_string(),
                socket,
                reader,
                audit: GhostAuditSpec::new(interface, expected, vip_addrs),
                vmac: made,
            },
        );
        Ok(())
    }
}

fn spawn_script(s: &Script, extra: &[String]) {
    let Some((program, args)) = s.argv.split_first() else {
        return;
    };
    let mut cmd = tokio::process::Command::new(program);
    if let Some(r) = s.run_as {
        cmd.uid(r.uid).gid(r.gid);
    }
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
