//! A deterministic world of two directors and their backends on a virtual
//! clock, in the style of quinn-proto's `Pair`: the world carries out every
//! command (adverts to the peer, VIPs and the IPVS table as models, probes
//! on lvs-healthcheck's sans-IO engine against simulated backends) and
//! steps to the earliest timer. No sockets, no root, no sleeping.

#![allow(dead_code)]

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::{IpAddr, SocketAddr};
use std::time::{Duration, Instant};

use lvs_director::{
    Check, CheckEvent, Command, Director, DirectorConfig, InstanceId, Probe, ProbeKey, RealServer,
    ServiceGroup, SourceAddress, VirtualServer, VrrpInstance,
};
use lvs_healthcheck::checker::tcp::TcpCheck;
use lvs_healthcheck::{
    ConnectOptions, Engine, EngineConfig, Event, FailReason, KeepalivedCheck, KeepalivedTiming,
    MemberId, Outcome, Policy, ServiceId, Success,
};
use lvs_ipvs::{Destination, ForwardMethod, Op, Scheduler, Service, ServiceKey};
use lvs_vrrp::{AdvertInterval, DropReason, RecvMeta, Seconds, State};

pub const NODE01: usize = 0;
pub const NODE02: usize = 1;
pub const INSTANCE: &str = "VI_1";
pub const INTERFACE: &str = "ens18";

pub fn ip(s: &str) -> IpAddr {
    s.parse().expect("address")
}

pub fn sa(s: &str) -> SocketAddr {
    s.parse().expect("socket address")
}

pub fn vip() -> IpAddr {
    ip("172.20.0.83")
}

pub fn http() -> ServiceKey {
    ServiceKey::tcp(sa("172.20.0.83:80"))
}

pub fn https() -> ServiceKey {
    ServiceKey::tcp(sa("172.20.0.83:443"))
}

/// The seed's tuned TCP_CHECK: delay_loop 2 s, retry 1 (fall 2),
/// delay_before_retry 2 s, connect_timeout 3 s, warmup 0 so the schedule
/// is exact: first probe 1 s after start, then every 2 s.
pub fn policy() -> Policy {
    let mut t = KeepalivedTiming::new(KeepalivedCheck::Tcp);
    t.delay_loop = Some(Duration::from_secs(2));
    t.retry = Some(1);
    t.delay_before_retry = Some(Duration::from_secs(2));
    t.connect_timeout = Some(Duration::from_secs(3));
    t.warmup = Some(Duration::ZERO);
    t.policy()
}

/// A DR real server with one TCP probe.
pub fn real_server(addr: &str) -> RealServer {
    let addr = sa(addr);
    let check = Check::Tcp(TcpCheck::new(ConnectOptions::new(addr)));
    RealServer::new(Destination::new(addr, ForwardMethod::DirectRoute))
        .with_probe(Probe::new(check, policy()))
}

/// A round-robin virtual server over checked backends.
pub fn virtual_server(key: ServiceKey, backends: &[&str]) -> VirtualServer {
    backends.iter().fold(
        VirtualServer::new(Service::new(key, Scheduler::RoundRobin)),
        |vs, b| vs.with_real_server(real_server(b)),
    )
}

/// The members of the test's virtual server group, as keepalived's
/// `virtual_server_group G { 172.20.0.90-92 80; fwmark 7 }` expands it.
pub fn group_members() -> Vec<ServiceKey> {
    vec![
        ServiceKey::tcp(sa("172.20.0.90:80")),
        ServiceKey::tcp(sa("172.20.0.91:80")),
        ServiceKey::tcp(sa("172.20.0.92:80")),
        ServiceKey::fwmark(lvs_ipvs::Family::Inet, 7),
    ]
}

/// A round-robin virtual server standing for a group of `members` (the
/// first is its own key) over checked backends.
pub fn group_server(name: &str, members: &[ServiceKey], backends: &[&str]) -> VirtualServer {
    virtual_server(members[0], backends).with_group(ServiceGroup::new(name, members[1..].to_vec()))
}

/// The seed lab's instance: VRID 1, VIP 172.20.0.83, 1 s VRRPv2 adverts;
/// NODE01 (.81) priority 100 starting as Master, NODE02 (.82) priority 90.
pub fn instance(node: usize) -> VrrpInstance {
    let (addr, priority) = match node {
        NODE01 => ("172.20.0.81", 100),
        _ => ("172.20.0.82", 90),
    };
    let mut router = lvs_vrrp::Config::new(
        1,
        priority,
        AdvertInterval::V2(Seconds(1)),
        ip(addr),
        vec![vip()],
    );
    router.start_as_master = node == NODE01;
    let mut inst = VrrpInstance::new(INSTANCE, INTERFACE, router);
    inst.source = SourceAddress::Fixed(ip(addr));
    inst
}

/// A node's configuration with these virtual servers.
pub fn config(node: usize, vss: Vec<VirtualServer>) -> DirectorConfig {
    let mut c = DirectorConfig::new();
    c.name = Some(format!("NODE0{}", node + 1));
    c.instances.push(instance(node));
    c.virtual_servers = vss;
    c
}

/// The seed lab: HTTP on the VIP over .85 and .86.
pub fn lab_config(node: usize) -> DirectorConfig {
    config(
        node,
        vec![virtual_server(
            http(),
            &["172.20.0.85:80", "172.20.0.86:80"],
        )],
    )
}

/// One carried-out command and when.
#[derive(Debug, Clone)]
pub struct Logged {
    pub at: Instant,
    pub cmd: Command,
}

/// An advert in flight.
struct Packet {
    at: Instant,
    seq: u64,
    to: usize,
    meta: RecvMeta,
    payload: Vec<u8>,
}

/// One director with its driver-side models.
pub struct Node {
    pub director: Director,
    /// Fed and run (false: crashed, nothing in or out, no timers).
    pub alive: bool,
    /// The VIPs configured on the node (from AddVip / RemoveVip).
    pub vips: BTreeSet<IpAddr>,
    /// The kernel's IPVS table as the commands left it.
    pub kernel: Vec<lvs_ipvs::VirtualServer>,
    /// Every IPVS write (delta or reconcile) fails while set.
    pub ipvs_failing: bool,
    /// Deltas the model kernel refused as inconsistent (a director bug).
    pub ipvs_errors: Vec<(Instant, Op, &'static str)>,
    /// The probes, run for real on the sans-IO engine.
    pub engine: Engine<SocketAddr>,
    pub members: HashMap<MemberId, ProbeKey>,
    pub probes: HashMap<ProbeKey, MemberId>,
    service_ids: HashMap<ServiceKey, ServiceId>,
    /// Open VRRP instances (from OpenInstance / CloseInstance).
    pub open: BTreeSet<InstanceId>,
    /// Every command carried out, in order.
    pub log: Vec<Logged>,
    /// Probe executions: when, which backend, passed.
    pub probe_runs: Vec<(Instant, SocketAddr, bool)>,
    pub drops: Vec<(Instant, DropReason)>,
    /// Tracked scripts (`vrrp_script`), run on an engine of their own,
    /// keyed by script name; a script fails while its name is in `failing`.
    pub scripts: Engine<String>,
    pub script_members: HashMap<MemberId, ProbeKey>,
    pub script_probes: HashMap<ProbeKey, MemberId>,
    pub failing: BTreeSet<String>,
    /// Script runs: when, which script, passed.
    pub script_runs: Vec<(Instant, String, bool)>,
    /// Routes, rules and static addresses installed (from AddRouting /
    /// RemoveRouting), as the kernel would hold them: each once.
    pub routing: lvs_director::Routing,
    /// Tracked files' values (absent: 0, as a missing file), and the
    /// names the director watches.
    pub files: BTreeMap<String, i64>,
    pub watched_files: BTreeSet<String>,
    /// Matching processes per tracked process (absent: 0), and the
    /// names the director counts.
    pub processes: BTreeMap<String, u32>,
    pub watched_processes: BTreeSet<String>,
    /// Announced VIPs' routes (from AddAnnouncement / RemoveAnnouncement,
    /// emptied of a table and protocol by FlushRoutes).
    pub announced: BTreeMap<IpAddr, lvs_director::Route>,
    /// The model kernel's counters for the announced VIPs: packets
    /// received so far, grown by `traffic_per_sample` at each sample.
    pub traffic: lvs_director::TrafficSample,
    pub traffic_per_sample: u64,
}

pub struct World {
    pub start: Instant,
    pub now: Instant,
    pub nodes: Vec<Node>,
    /// Backends that answer (absent: alive).
    dead: BTreeSet<SocketAddr>,
    /// The wire between the directors is cut (split brain).
    pub cut: bool,
    queue: Vec<Packet>,
    seq: u64,
}

impl World {
    /// The seed lab: both directors with [`lab_config`].
    pub fn lab() -> World {
        World::new([lab_config(NODE01), lab_config(NODE02)])
    }

    /// Both directors started at the same instant with these configurations.
    pub fn new(configs: [DirectorConfig; 2]) -> World {
        World::prepared(configs, &[], &[])
    }

    /// As [`new`](Self::new), each node's tracked files and process counts
    /// set before the directors start.
    pub fn prepared(
        configs: [DirectorConfig; 2],
        files: &[(&str, i64)],
        processes: &[(&str, u32)],
    ) -> World {
        let start = Instant::now();
        let mut w = World {
            start,
            now: start,
            nodes: Vec::new(),
            dead: BTreeSet::new(),
            cut: false,
            queue: Vec::new(),
            seq: 0,
        };
        for cfg in configs {
            let director = Director::new(start, cfg).expect("valid config");
            w.nodes.push(Node {
                director,
                alive: true,
                vips: BTreeSet::new(),
                kernel: Vec::new(),
                ipvs_failing: false,
                ipvs_errors: Vec::new(),
                engine: Engine::new(EngineConfig::default()),
                members: HashMap::new(),
                probes: HashMap::new(),
                service_ids: HashMap::new(),
                open: BTreeSet::new(),
                log: Vec::new(),
                probe_runs: Vec::new(),
                drops: Vec::new(),
                scripts: Engine::new(EngineConfig::default()),
                script_members: HashMap::new(),
                script_probes: HashMap::new(),
                failing: BTreeSet::new(),
                script_runs: Vec::new(),
                routing: lvs_director::Routing::default(),
                files: BTreeMap::new(),
                watched_files: BTreeSet::new(),
                processes: processes.iter().map(|(n, c)| (n.to_string(), *c)).collect(),
                watched_processes: BTreeSet::new(),
                announced: BTreeMap::new(),
                traffic: lvs_director::TrafficSample::new(0, 1),
                traffic_per_sample: 0,
            });
            let n = w.nodes.last_mut().expect("node");
            n.files = files.iter().map(|(n, v)| (n.to_string(), *v)).collect();
        }
        for i in 0..w.nodes.len() {
            w.pump(i);
        }
        w
    }

    /// Seconds since the start, as an instant.
    pub fn at(&self, secs: f64) -> Instant {
        self.start + Duration::from_secs_f64(secs)
    }

    /// Time since the start.
    pub fn elapsed(&self) -> Duration {
        self.now - self.start
    }

    // ---- the world's knobs ----

    pub fn kill_backend(&mut self, addr: &str) {
        self.dead.insert(sa(addr));
    }

    pub fn revive_backend(&mut self, addr: &str) {
        self.dead.remove(&sa(addr));
    }

    /// The node's tracked script `name` exits 1 from now on.
    pub fn fail_script(&mut self, node: usize, name: &str) {
        self.nodes[node].failing.insert(name.to_string());
    }

    /// The node's tracked script `name` exits 0 from now on.
    pub fn pass_script(&mut self, node: usize, name: &str) {
        self.nodes[node].failing.remove(name);
    }

    /// Writes `value` to the node's tracked file `name` now (the driver
    /// reports it at once, as inotify does on close).
    pub fn write_file(&mut self, node: usize, name: &str, value: i64) {
        let now = self.now;
        let n = &mut self.nodes[node];
        n.files.insert(name.to_string(), value);
        if n.watched_files.contains(name) {
            n.director.handle_track_file(now, name, value);
        }
        self.pump(node);
    }

    /// `count` processes match the node's tracked process `name` from now
    /// on (reported at once: the driver's scan period is not modelled).
    pub fn set_processes(&mut self, node: usize, name: &str, count: u32) {
        let now = self.now;
        let n = &mut self.nodes[node];
        n.processes.insert(name.to_string(), count);
        if n.watched_processes.contains(name) {
            n.director.handle_process_count(now, name, count);
        }
        self.pump(node);
    }

    /// A node's effective priority.
    pub fn priority(&self, node: usize) -> u8 {
        self.nodes[node]
            .director
            .status()
            .instances
            .iter()
            .find(|i| i.name == INSTANCE)
            .map_or(0, |i| i.effective_priority)
    }

    /// The node crashes: no packets in or out, no timers, no probes.
    pub fn crash(&mut self, node: usize) {
        self.nodes[node].alive = false;
    }

    pub fn shutdown(&mut self, node: usize) {
        let now = self.now;
        self.nodes[node].director.shutdown(now);
        self.pump(node);
    }

    /// Starts the node's drain (`director drain`).
    pub fn drain(&mut self, node: usize) {
        let now = self.now;
        self.nodes[node].director.drain(now);
        self.pump(node);
    }

    pub fn set_link(&mut self, node: usize, up: bool) {
        let now = self.now;
        self.nodes[node].director.handle_link(now, INTERFACE, up);
        self.pump(node);
    }

    /// Deletes something from the node's host behind the director's back
    /// (an administrator's `ip route del`) and reports it, as the driver
    /// does once it has seen that it is really gone.
    pub fn delete_behind_its_back(&mut self, node: usize, removed: &lvs_director::Removed) {
        let n = &mut self.nodes[node];
        let have = &mut n.routing;
        match removed {
            lvs_director::Removed::Address(a) => {
                n.vips.remove(a);
                have.addresses.retain(|v| v.addr != *a);
            }
            lvs_director::Removed::Route(r) => {
                have.routes.retain(|x| !x.same_route(r));
                n.announced.retain(|_, x| !x.same_route(r));
            }
            lvs_director::Removed::Rule(r) => have.rules.retain(|x| !x.same_rule(r)),
            _ => {}
        }
        let now = self.now;
        self.nodes[node].director.handle_removed(now, removed);
        self.pump(node);
    }

    /// Reports the node's addresses as they are now: its own and the VIP
    /// if it holds it (the driver's `handle_local_addresses`).
    pub fn report_addresses(&mut self, node: usize) {
        let own = ip(if node == NODE01 {
            "172.20.0.81"
        } else {
            "172.20.0.82"
        });
        let mut set: std::collections::HashSet<IpAddr> =
            self.nodes[node].vips.iter().copied().collect();
        set.insert(own);
        let now = self.now;
        self.nodes[node].director.handle_local_addresses(now, &set);
        self.pump(node);
    }

    pub fn apply_config(
        &mut self,
        node: usize,
        cfg: DirectorConfig,
    ) -> lvs_director::ReloadSummary {
        let now = self.now;
        let summary = self.nodes[node]
            .director
            .apply_config(now, cfg)
            .expect("valid config");
        self.pump(node);
        summary
    }

    // ---- running ----

    fn next_event(&mut self) -> Option<Instant> {
        let packets = self.queue.iter().map(|p| p.at).min();
        let timers = self
            .nodes
            .iter_mut()
            .filter(|n| n.alive)
            .flat_map(|n| {
                [
                    n.director.poll_timeout(),
                    n.engine.poll_timeout(),
                    n.scripts.poll_timeout(),
                ]
            })
            .flatten()
            .min();
        packets.into_iter().chain(timers).min()
    }

    /// Runs every event up to and including `end`, then sets the clock to `end`.
    pub fn run_until(&mut self, end: Instant) {
        let mut guard = 0u32;
        while let Some(next) = self.next_event() {
            if next > end {
                break;
            }
            guard += 1;
            assert!(guard < 1_000_000, "the world does not settle");
            self.now = self.now.max(next);
            self.step();
        }
        self.now = self.now.max(end);
    }

    pub fn run_for(&mut self, d: Duration) {
        let end = self.now + d;
        self.run_until(end);
    }

    /// Runs to `secs` after the start.
    pub fn run_to(&mut self, secs: f64) {
        let end = self.at(secs);
        self.run_until(end);
    }

    /// Everything due at `now`: packets in send order, then each node's
    /// director and engine timers.
    fn step(&mut self) {
        let now = self.now;
        self.queue.sort_by_key(|p| (p.at, p.seq));
        let split = self.queue.partition_point(|p| p.at <= now);
        let due: Vec<Packet> = self.queue.drain(..split).collect();
        for p in due {
            let node = &mut self.nodes[p.to];
            if !node.alive {
                continue;
            }
            for id in node.open.clone() {
                if let Err(e) = node.director.handle_vrrp(now, id, &p.meta, &p.payload) {
                    node.drops.push((now, e));
                }
            }
            self.pump(p.to);
        }
        for i in 0..self.nodes.len() {
            if !self.nodes[i].alive {
                continue;
            }
            let node = &mut self.nodes[i];
            if node.director.poll_timeout().is_some_and(|t| t <= now) {
                node.director.handle_timeout(now);
            }
            if node.engine.poll_timeout().is_some_and(|t| t <= now) {
                node.engine.handle_timeout(now);
            }
            if node.scripts.poll_timeout().is_some_and(|t| t <= now) {
                node.scripts.handle_timeout(now);
            }
            self.pump(i);
        }
    }

    /// Carries out a node's commands and runs its due probes until both
    /// are quiet.
    fn pump(&mut self, i: usize) {
        loop {
            let mut busy = false;
            while let Some(cmd) = self.nodes[i].director.poll_command() {
                busy = true;
                self.carry_out(i, cmd);
            }
            if !self.nodes[i].alive {
                return;
            }
            busy |= self.run_probes(i);
            if !busy {
                return;
            }
        }
    }

    /// Runs the probes the engine hands out (answers are immediate: an up
    /// backend accepts, a dead one refuses) and feeds its verdicts to the
    /// director. Whether anything happened.
    fn run_probes(&mut self, i: usize) -> bool {
        let now = self.now;
        let mut busy = false;
        let node = &mut self.nodes[i];
        while let Some(req) = node.engine.poll_probe(now) {
            busy = true;
            let up = !self.dead.contains(&req.key);
            node.probe_runs.push((now, req.key, up));
            let outcome = if up {
                Outcome::Success(Success::Connected)
            } else {
                Outcome::Failure(FailReason::Refused)
            };
            node.engine.handle_result(now, req.id, outcome);
        }
        while let Some(event) = node.engine.poll_event() {
            let (member, check) = match event {
                Event::Transition(t) => (
                    t.member,
                    CheckEvent::Pool {
                        in_pool: t.in_pool,
                        reason: if t.in_pool { None } else { t.reason },
                    },
                ),
                Event::Pool {
                    member, in_pool, ..
                } => (
                    member,
                    CheckEvent::Pool {
                        in_pool,
                        reason: None,
                    },
                ),
                Event::Weight { member, weight, .. } => {
                    (member, CheckEvent::Weight(u32::from(weight)))
                }
                Event::Checked { member, .. } => (member, CheckEvent::Checked),
                _ => continue,
            };
            busy = true;
            if let Some(&probe) = node.members.get(&member) {
                node.director.handle_check(now, probe, check);
            }
        }
        // Tracked scripts: exit 0 unless failing.
        while let Some(req) = node.scripts.poll_probe(now) {
            busy = true;
            let ok = !node.failing.contains(&req.key);
            node.script_runs.push((now, req.key.clone(), ok));
            let outcome = if ok {
                Outcome::Success(Success::Exited { weight: None })
            } else {
                Outcome::Failure(FailReason::ExitStatus(1))
            };
            node.scripts.handle_result(now, req.id, outcome);
        }
        while let Some(event) = node.scripts.poll_event() {
            let (member, check) = match event {
                Event::Transition(t) => (
                    t.member,
                    CheckEvent::Pool {
                        in_pool: t.in_pool,
                        reason: t.reason,
                    },
                ),
                _ => continue,
            };
            busy = true;
            if let Some(&probe) = node.script_members.get(&member) {
                node.director.handle_check(now, probe, check);
            }
        }
        busy
    }

    fn carry_out(&mut self, i: usize, cmd: Command) {
        let now = self.now;
        let alive = self.nodes[i].alive;
        let other = 1 - i;
        match &cmd {
            Command::OpenInstance { instance, .. } => {
                self.nodes[i].open.insert(*instance);
            }
            Command::CloseInstance { instance } => {
                self.nodes[i].open.remove(instance);
            }
            Command::SendAdvert { transmit, .. } if alive && !self.cut => {
                self.seq += 1;
                self.queue.push(Packet {
                    at: now,
                    seq: self.seq,
                    to: other,
                    meta: RecvMeta {
                        source: transmit.source,
                        destination: transmit.destination,
                        hop_limit: 255,
                    },
                    payload: transmit.payload.clone(),
                });
            }
            Command::AddRouting { routing, .. } => {
                let have = &mut self.nodes[i].routing;
                let new = routing.minus(have);
                have.addresses.extend(new.addresses);
                have.routes.extend(new.routes);
                have.rules.extend(new.rules);
            }
            Command::RemoveRouting { routing, .. } => {
                let have = &mut self.nodes[i].routing;
                *have = have.minus(routing);
            }
            Command::AddVip { vip, .. } => {
                self.nodes[i].vips.insert(vip.addr);
            }
            Command::RemoveVip { vip, .. } => {
                self.nodes[i].vips.remove(&vip.addr);
            }
            Command::AddProbe {
                probe,
                service,
                real_server,
                spec,
                ..
            } => {
                let node = &mut self.nodes[i];
                let n = node.service_ids.len() as u64;
                let sid = *node.service_ids.entry(*service).or_insert(ServiceId(n));
                let member = node
                    .engine
                    .add_member(now, sid, *real_server, spec.policy.clone())
                    .expect("valid policy");
                node.members.insert(member, *probe);
                node.probes.insert(*probe, member);
            }
            Command::AddTrackScript { probe, name, spec } => {
                let node = &mut self.nodes[i];
                // One service id per script, apart from real servers'.
                let sid = ServiceId(1_000_000 + node.script_probes.len() as u64);
                let member = node
                    .scripts
                    .add_member(now, sid, name.clone(), spec.policy.clone())
                    .expect("valid policy");
                node.script_members.insert(member, *probe);
                node.script_probes.insert(*probe, member);
            }
            Command::WatchFile { name, .. } => {
                let node = &mut self.nodes[i];
                node.watched_files.insert(name.clone());
                let v = node.files.get(name).copied().unwrap_or(0);
                node.director.handle_track_file(now, name, v);
            }
            Command::UnwatchFile { name } => {
                self.nodes[i].watched_files.remove(name);
            }
            Command::WatchProcess { name, .. } => {
                let node = &mut self.nodes[i];
                node.watched_processes.insert(name.clone());
                let c = node.processes.get(name).copied().unwrap_or(0);
                node.director.handle_process_count(now, name, c);
            }
            Command::UnwatchProcess { name } => {
                self.nodes[i].watched_processes.remove(name);
            }
            Command::RemoveProbe { probe } => {
                let node = &mut self.nodes[i];
                if let Some(member) = node.probes.remove(probe) {
                    node.engine.remove_member(member);
                    node.members.remove(&member);
                }
                if let Some(member) = node.script_probes.remove(probe) {
                    node.scripts.remove_member(member);
                    node.script_members.remove(&member);
                }
            }
            Command::Ipvs(ops) => {
                let node = &mut self.nodes[i];
                let ok = !node.ipvs_failing && node.apply_ops(now, ops);
                node.director.handle_ipvs_result(now, ok);
            }
            Command::IpvsReconcile(table) => {
                let node = &mut self.nodes[i];
                let ok = !node.ipvs_failing;
                if ok {
                    node.kernel = table.clone();
                }
                node.director.handle_ipvs_result(now, ok);
            }
            Command::FlushRoutes { table, protocol } => {
                self.nodes[i]
                    .announced
                    .retain(|_, r| r.table != *table || r.protocol != *protocol);
            }
            Command::AddAnnouncement { vip, route } => {
                self.nodes[i].announced.insert(*vip, route.clone());
            }
            Command::RemoveAnnouncement { vip, .. } => {
                self.nodes[i].announced.remove(vip);
            }
            Command::SampleTraffic { .. } => {
                let node = &mut self.nodes[i];
                node.traffic = lvs_director::TrafficSample::new(
                    node.traffic.in_packets + node.traffic_per_sample,
                    node.traffic.active_connections,
                );
                let sample = node.traffic;
                node.director.handle_traffic(now, sample);
            }
            _ => {}
        }
        self.nodes[i].log.push(Logged { at: now, cmd });
    }

    // ---- observations ----

    pub fn state(&self, node: usize) -> Option<State> {
        self.nodes[node].director.instance_state(INSTANCE)
    }

    pub fn holds_vip(&self, node: usize) -> bool {
        self.nodes[node].vips.contains(&vip())
    }

    /// Nodes in Master state.
    pub fn masters(&self) -> Vec<usize> {
        (0..self.nodes.len())
            .filter(|&i| self.nodes[i].alive && self.state(i) == Some(State::Master))
            .collect()
    }

    /// The destinations the model kernel holds for a service (`None`: no
    /// such service).
    pub fn kernel_dests(&self, node: usize, key: ServiceKey) -> Option<BTreeSet<SocketAddr>> {
        self.nodes[node]
            .kernel
            .iter()
            .find(|vs| vs.service.key == key)
            .map(|vs| vs.destinations.iter().map(|d| d.addr).collect())
    }

    /// Commands carried out by a node from `since` on.
    pub fn log_since(&self, node: usize, since: Instant) -> impl Iterator<Item = &Logged> {
        self.nodes[node].log.iter().filter(move |l| l.at >= since)
    }

    /// Every IPVS delta operation a node carried out, with its time.
    pub fn ipvs_ops(&self, node: usize, since: Instant) -> Vec<(Instant, Op)> {
        self.log_since(node, since)
            .filter_map(|l| match &l.cmd {
                Command::Ipvs(ops) => {
                    Some(ops.iter().map(|o| (l.at, o.clone())).collect::<Vec<_>>())
                }
                _ => None,
            })
            .flatten()
            .collect()
    }

    /// When a node sent full reconciles.
    pub fn reconciles(&self, node: usize, since: Instant) -> Vec<Instant> {
        self.log_since(node, since)
            .filter(|l| matches!(l.cmd, Command::IpvsReconcile(_)))
            .map(|l| l.at)
            .collect()
    }

    /// When a node sent adverts.
    pub fn adverts(&self, node: usize, since: Instant) -> Vec<Instant> {
        self.log_since(node, since)
            .filter(|l| matches!(l.cmd, Command::SendAdvert { .. }))
            .map(|l| l.at)
            .collect()
    }

    /// A node's state transitions: when, from, to.
    pub fn transitions(&self, node: usize, since: Instant) -> Vec<(Instant, State, State)> {
        self.log_since(node, since)
            .filter_map(|l| match &l.cmd {
                Command::Transition { from, to, .. } => Some((l.at, *from, *to)),
                _ => None,
            })
            .collect()
    }

    /// When a node last became Master.
    pub fn became_master(&self, node: usize, since: Instant) -> Option<Instant> {
        self.transitions(node, since)
            .into_iter()
            .rfind(|(_, _, to)| *to == State::Master)
            .map(|(at, ..)| at)
    }

    /// Commands of a node since `since` matching a predicate.
    pub fn count(&self, node: usize, since: Instant, f: impl Fn(&Command) -> bool) -> usize {
        self.log_since(node, since).filter(|l| f(&l.cmd)).count()
    }
}

impl Node {
    /// Applies a delta to the model kernel in order, stopping at the first
    /// operation a kernel would refuse (as a netlink batch does).
    fn apply_ops(&mut self, now: Instant, ops: &[Op]) -> bool {
        for op in ops {
            if let Err(why) = apply(&mut self.kernel, op) {
                self.ipvs_errors.push((now, op.clone(), why));
                return false;
            }
        }
        true
    }
}

/// One operation on the model table, refused as the kernel would.
fn apply(table: &mut Vec<lvs_ipvs::VirtualServer>, op: &Op) -> Result<(), &'static str> {
    fn find(
        table: &mut [lvs_ipvs::VirtualServer],
        key: ServiceKey,
    ) -> Result<&mut lvs_ipvs::VirtualServer, &'static str> {
        table
            .iter_mut()
            .find(|vs| vs.service.key == key)
            .ok_or("ESRCH: no such service")
    }
    match op {
        Op::AddService(s) => {
            if table.iter().any(|vs| vs.service.key == s.key) {
                return Err("EEXIST: service exists");
            }
            table.push(lvs_ipvs::VirtualServer {
                service: s.clone(),
                destinations: Vec::new(),
            });
        }
        Op::EditService(s) => find(table, s.key)?.service = s.clone(),
        Op::DeleteService(key) => {
            find(table, *key)?;
            table.retain(|vs| vs.service.key != *key);
        }
        Op::AddDestination(key, d) => {
            let vs = find(table, *key)?;
            if vs.destinations.iter().any(|x| x.addr == d.addr) {
                return Err("EEXIST: destination exists");
            }
            vs.destinations.push(*d);
        }
        Op::EditDestination(key, d) => {
            let vs = find(table, *key)?;
            let x = vs
                .destinations
                .iter_mut()
                .find(|x| x.addr == d.addr)
                .ok_or("ENOENT: no such destination")?;
            *x = *d;
        }
        Op::DeleteDestination(key, addr) => {
            let vs = find(table, *key)?;
            let n = vs.destinations.len();
            vs.destinations.retain(|x| x.addr != *addr);
            if vs.destinations.len() == n {
                return Err("ENOENT: no such destination");
            }
        }
        Op::Flush => table.clear(),
        // Daemons, counters and timeouts are not modelled.
        _ => {}
    }
    Ok(())
}

// ---- a second instance and a sync group (vrrp_sync_group) ----

pub const INSTANCE2: &str = "VI_2";
pub const INTERFACE2: &str = "ens19";

pub fn vip2() -> IpAddr {
    ip("172.20.1.83")
}

/// A second instance like [`instance`], on another interface: VRID 2,
/// VIP 172.20.1.83, NODE01 (.1.81) priority 100 starting as Master,
/// NODE02 (.1.82) priority 90.
pub fn instance2(node: usize) -> VrrpInstance {
    let (addr, priority) = match node {
        NODE01 => ("172.20.1.81", 100),
        _ => ("172.20.1.82", 90),
    };
    let mut router = lvs_vrrp::Config::new(
        2,
        priority,
        AdvertInterval::V2(Seconds(1)),
        ip(addr),
        vec![vip2()],
    );
    router.start_as_master = node == NODE01;
    let mut inst = VrrpInstance::new(INSTANCE2, INTERFACE2, router);
    inst.source = SourceAddress::Fixed(ip(addr));
    inst
}

impl World {
    /// A link change on any interface of a node.
    pub fn set_link_on(&mut self, node: usize, interface: &str, up: bool) {
        let now = self.now;
        self.nodes[node].director.handle_link(now, interface, up);
        self.pump(node);
    }

    /// The state of a node's instance `name`.
    pub fn state_of(&self, node: usize, name: &str) -> Option<State> {
        self.nodes[node].director.instance_state(name)
    }

    /// Whether a node holds the address.
    pub fn holds(&self, node: usize, addr: IpAddr) -> bool {
        self.nodes[node].vips.contains(&addr)
    }

    /// The programs a node ran (notify scripts), with their arguments.
    pub fn scripts_run(&self, node: usize, since: Instant) -> Vec<Vec<String>> {
        self.log_since(node, since)
            .filter_map(|l| match &l.cmd {
                Command::RunScript { script, args } => {
                    let mut v = script.argv.clone();
                    v.extend(args.iter().cloned());
                    Some(v)
                }
                _ => None,
            })
            .collect()
    }
}
