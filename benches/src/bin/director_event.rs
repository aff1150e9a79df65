//! What one real server going down costs the director, new core vs the
//! old per-event reconcile, in the kernel VM.
//!
//! A table of 10,000 TCP services × 4 direct-routing real servers (each
//! with one TCP probe, no VRRP instance) is given to `lvs_director::Director`
//! as a `DirectorConfig`; its start-up `Command::IpvsReconcile` is applied
//! to IPVS in a fresh network namespace. Then, for several different real
//! servers, one probe reports it down:
//!
//! - new: `Director::handle_check(CheckEvent::Pool { in_pool: false, .. })`,
//!   drain `poll_command`, apply each `Command::Ipvs(ops)` with
//!   `IpvsHandle::apply` (and report it with `handle_ipvs_result`);
//! - old (what the director did before lvs-director, up to 1e7e9c4): mark
//!   the server down in a health map, rebuild the whole desired table from
//!   the configuration, `IpvsHandle::reconcile(&table, Removal::Delete)`
//!   (dump + plan + apply).
//!
//! Before that, a small director (20 services) runs the same path once in
//! a scratch namespace: the kernel VM emulates its CPU (TCG), and code that
//! has never run — ours and the kernel's IPVS paths — is translated on its
//! first run, which costs milliseconds that no hardware pays. The warm-up's
//! own first event is printed, so that cost is visible, not hidden.
//!
//! For each: netlink write requests (`IpvsHandle::write_requests()` before
//! and after) and the time from the check event to the kernel's answer,
//! min/median/max over the repeats; the kernel is read back after each
//! event (untimed) to check the server is gone and nothing else changed.
//!
//! Run as root inside the VM: `director_event [services] [reals] [repeats]`
//! (defaults 10000 4 7). Exits non-zero when a result is wrong, not on
//! speed; the target for new (1 request, ≤ 1 ms) is printed with the figures.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use lvs_benches::{min_median_max, ms};
use lvs_director::{
    Check, CheckEvent, Command, Director, DirectorConfig, Probe, ProbeKey, RealServer,
    VirtualServer,
};
use lvs_healthcheck::checker::tcp::TcpCheck;
use lvs_healthcheck::{ConnectOptions, FailReason, KeepalivedCheck, KeepalivedTiming};
use lvs_ipvs::{Destination, ForwardMethod, IpvsHandle, Removal, Scheduler, Service, ServiceKey};
use lvs_testenv::Netns;

fn config(services: usize, reals: usize) -> DirectorConfig {
    let policy = KeepalivedTiming::new(KeepalivedCheck::Tcp).policy();
    let mut cfg = DirectorConfig::new();
    for i in 0..services {
        let vip = Ipv4Addr::new(10, 100 + (i >> 16) as u8, (i >> 8) as u8, i as u8);
        let key = ServiceKey::tcp(SocketAddr::new(vip.into(), 80));
        let mut vs = VirtualServer::new(Service::new(key, Scheduler::WeightedRoundRobin));
        for d in 0..reals {
            let rip = Ipv4Addr::new(192, 168, d as u8, (i % 250) as u8 + 1);
            let addr = SocketAddr::new(rip.into(), 80);
            let check = Check::Tcp(TcpCheck::new(ConnectOptions::new(addr)));
            vs = vs.with_real_server(
                RealServer::new(Destination::new(addr, ForwardMethod::DirectRoute))
                    .with_probe(Probe::new(check, policy.clone())),
            );
        }
        cfg.virtual_servers.push(vs);
    }
    cfg
}

/// The old director's per-event work: the whole desired table from the
/// configuration and a health map (down servers left out).
fn old_table(
    cfg: &DirectorConfig,
    down: &HashMap<(ServiceKey, SocketAddr), bool>,
) -> Vec<lvs_ipvs::VirtualServer> {
    cfg.virtual_servers
        .iter()
        .map(|vs| {
            let key = vs.service.key;
            lvs_ipvs::VirtualServer {
                service: vs.service.clone(),
                destinations: vs
                    .real_servers
                    .iter()
                    .filter(|rs| {
                        !down
                            .get(&(key, rs.destination.addr))
                            .copied()
                            .unwrap_or(false)
                    })
                    .map(|rs| rs.destination)
                    .collect(),
            }
        })
        .collect()
}

/// Destinations the kernel holds, in total.
fn kernel_dests(h: &mut IpvsHandle) -> usize {
    h.table()
        .expect("dump")
        .iter()
        .map(|e| e.destinations.len())
        .sum()
}

fn gone(h: &mut IpvsHandle, key: &ServiceKey, addr: SocketAddr) -> bool {
    !h.destinations(key)
        .expect("destinations")
        .iter()
        .any(|d| d.dest.addr == addr)
}

fn summary(name: &str, times: &[Duration], writes: &[u64]) {
    let (a, m, b) = min_median_max(times).expect("at least one repeat");
    let (wa, wb) = (
        writes.iter().min().copied().unwrap_or(0),
        writes.iter().max().copied().unwrap_or(0),
    );
    println!(
        "{name}: check event -> kernel updated min/median/max {} / {} / {}; write requests {}",
        ms(a),
        ms(m),
        ms(b),
        if wa == wb {
            wa.to_string()
        } else {
            format!("{wa}..{wb}")
        }
    );
}

/// One check event through a small director and a scratch namespace, so
/// the measured run does not pay the VM's first translation of the path.
/// The namespace is returned, so its teardown (kernel work) does not run
/// during the measurement.
fn warm_up(reals: usize) -> Netns {
    let cfg = config(20, reals);
    let now = Instant::now();
    let mut director = Director::new(now, cfg).expect("valid config");
    let (mut probe, mut initial) = (None, None);
    while let Some(c) = director.poll_command() {
        match c {
            Command::AddProbe {
                probe: p,
                service,
                real_server,
                ..
            } => probe = probe.or(Some((p, service, real_server))),
            Command::IpvsReconcile(t) => initial = Some(t),
            _ => {}
        }
    }
    let ((probe, key, addr), initial) = (probe.expect("probes"), initial.expect("reconcile"));
    let ns = Netns::new("bnwu");
    let mut h = IpvsHandle::open_in_netns(ns.as_fd()).expect("handle");
    let report = h.reconcile(&initial, Removal::Delete).expect("reconcile");
    assert!(report.is_ok(), "{:?}", report.failures().next());
    director.handle_ipvs_result(now, true);
    let t0 = Instant::now();
    director.handle_check(
        now + Duration::from_secs(10),
        probe,
        CheckEvent::Pool {
            in_pool: false,
            reason: Some(FailReason::Timeout),
        },
    );
    while let Some(c) = director.poll_command() {
        if let Command::Ipvs(ops) = c {
            let results = h.apply(&ops).expect("apply");
            assert!(results.iter().all(Result::is_ok), "{results:?}");
        }
    }
    let t = t0.elapsed();
    assert!(gone(&mut h, &key, addr), "warm-up: {addr} still in {key}");
    println!(
        "warm-up (20 services, the same path once, in a scratch namespace): first event {}",
        ms(t)
    );
    ns
}

fn main() {
    let mut args = std::env::args().skip(1);
    let services: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let reals: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(4);
    let repeats: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(7);
    lvs_testenv::require_root("the director event bench");
    assert!(
        services >= 2 * repeats && reals >= 1,
        "need services >= 2 x repeats"
    );
    let _scratch = warm_up(reals);
    println!("table: {services} TCP services x {reals} DR real servers, one probe each");

    let cfg = config(services, reals);
    let now = Instant::now();
    let start = Instant::now();
    let mut director = Director::new(now, cfg.clone()).expect("valid config");
    let mut probes: HashMap<(ServiceKey, SocketAddr), ProbeKey> = HashMap::new();
    let mut initial = None;
    while let Some(c) = director.poll_command() {
        match c {
            Command::AddProbe {
                probe,
                service,
                real_server,
                ..
            } => {
                probes.insert((service, real_server), probe);
            }
            Command::IpvsReconcile(t) => initial = Some(t),
            _ => {}
        }
    }
    println!(
        "core start-up (Director::new + drain): {}",
        ms(start.elapsed())
    );
    let initial = initial.expect("the core reconciles at start");
    assert_eq!(probes.len(), services * reals);

    let ns = Netns::new("bnev");
    let mut h = IpvsHandle::open_in_netns(ns.as_fd()).expect("handle");
    if let Err(e) = h.info() {
        panic!("IPVS unavailable: {e}");
    }
    let w0 = h.write_requests();
    let start = Instant::now();
    let report = h.reconcile(&initial, Removal::Delete).expect("reconcile");
    let took = start.elapsed();
    assert!(report.is_ok(), "{:?}", report.failures().next());
    director.handle_ipvs_result(now, true);
    println!(
        "initial apply (the core's IpvsReconcile into a fresh namespace): {:.3} s, {} write requests",
        took.as_secs_f64(),
        h.write_requests() - w0
    );
    let mut expected = services * reals;
    assert_eq!(kernel_dests(&mut h), expected);

    // The old path's state: same config, same kernel; servers taken down by
    // either path are down in its health map.
    let mut down: HashMap<(ServiceKey, SocketAddr), bool> = HashMap::new();
    assert_eq!(
        old_table(&cfg, &down),
        director.desired_table(),
        "the old rebuild and the core agree on the table"
    );

    let pick = |k: usize, offset: usize| -> (ServiceKey, SocketAddr) {
        let vs = &cfg.virtual_servers[(k * 1429 + offset) % services];
        (vs.service.key, vs.real_servers[k % reals].destination.addr)
    };

    // New: one probe verdict through the core, its delta to the kernel.
    let (mut new_times, mut new_writes) = (Vec::new(), Vec::new());
    let mut new_core = Vec::new();
    for k in 0..repeats {
        let (key, addr) = pick(k, 17);
        let probe = probes[&(key, addr)];
        let at = now + Duration::from_secs(10 + k as u64);
        let w = h.write_requests();
        let t0 = Instant::now();
        director.handle_check(
            at,
            probe,
            CheckEvent::Pool {
                in_pool: false,
                reason: Some(FailReason::Timeout),
            },
        );
        let mut ops_seen = 0;
        let mut core = Duration::ZERO;
        while let Some(c) = director.poll_command() {
            match c {
                Command::Ipvs(ops) => {
                    core = t0.elapsed();
                    ops_seen += ops.len();
                    let results = h.apply(&ops).expect("apply");
                    let ok = results.iter().all(Result::is_ok);
                    assert!(ok, "{results:?}");
                    director.handle_ipvs_result(at, ok);
                }
                Command::IpvsReconcile(_) => panic!("a check event must not reconcile"),
                _ => {}
            }
        }
        let t = t0.elapsed();
        new_times.push(t);
        new_writes.push(h.write_requests() - w);
        new_core.push(core);
        assert_eq!(ops_seen, 1, "one real server down is one operation");
        down.insert((key, addr), true);
        expected -= 1;
        assert!(gone(&mut h, &key, addr), "{addr} still in {key}");
        println!(
            "  new #{k}: {addr} of {key}: {} (core {}), {} write request(s)",
            ms(t),
            ms(core),
            new_writes[k]
        );
    }

    // Old: rebuild the whole table, dump + plan + apply.
    let (mut old_times, mut old_writes) = (Vec::new(), Vec::new());
    for k in 0..repeats {
        let (key, addr) = pick(k, services / 2 + 5);
        let w = h.write_requests();
        let t0 = Instant::now();
        down.insert((key, addr), true);
        let want = old_table(&cfg, &down);
        let built = t0.elapsed();
        let report = h.reconcile(&want, Removal::Delete).expect("reconcile");
        let t = t0.elapsed();
        assert!(report.is_ok(), "{:?}", report.failures().next());
        assert_eq!(report.ops.len(), 1, "{:?}", report.ops);
        old_times.push(t);
        old_writes.push(h.write_requests() - w);
        expected -= 1;
        assert!(gone(&mut h, &key, addr), "{addr} still in {key}");
        println!(
            "  old #{k}: {addr} of {key}: {} (table rebuilt in {}), {} write request(s)",
            ms(t),
            ms(built),
            old_writes[k]
        );
    }
    let t0 = Instant::now();
    let _ = h.table().expect("dump");
    println!("reference: one full dump alone {}", ms(t0.elapsed()));
    assert_eq!(kernel_dests(&mut h), expected, "nothing else changed");

    summary("new (core delta)     ", &new_times, &new_writes);
    summary("old (full reconcile) ", &old_times, &old_writes);
    let (_, med_new, max_new) = min_median_max(&new_times).expect("repeats");
    let (_, med_old, _) = min_median_max(&old_times).expect("repeats");
    println!(
        "median ratio old/new {:.0}x",
        med_old.as_secs_f64() / med_new.as_secs_f64()
    );
    if new_writes.iter().all(|w| *w == 1) && max_new <= Duration::from_millis(1) {
        println!("target met (new: 1 request, <= 1 ms)");
    } else {
        println!("TARGET MISSED (new: want 1 request and <= 1 ms)");
    }
}
