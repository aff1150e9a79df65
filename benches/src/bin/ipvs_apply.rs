//! Side by side in the kernel VM: lvs-ipvs vs Debian's `ipvsadm` on a table
//! of 10,000 TCP services × 4 direct-routing destinations.
//!
//! 1. apply from empty: `IpvsHandle::reconcile` vs `ipvsadm -R`, each in a
//!    fresh network namespace;
//! 2. full dump (services + destinations): `IpvsHandle::table` vs
//!    `ipvsadm -Sn`, on the same namespace;
//! 3. a no-op reconcile of the applied table, reporting its write requests
//!    (must be 0).
//!
//! Run as root inside the VM: `ipvs_apply [services] [dests]`. Exits non-zero
//! when a result is wrong (tables differ, writes on no-op), not on speed;
//! the targets (apply ≥ 15×, dump ≥ 3×) are printed with the ratios.

use lvs_ipvs::{
    Destination, ForwardMethod, IpvsHandle, Removal, Scheduler, Service, ServiceKey, VirtualServer,
};
use lvs_testenv::Netns;
use std::fmt::Write as _;
use std::io::Write as _;
use std::net::{Ipv4Addr, SocketAddr};
use std::os::fd::AsFd;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

fn table(services: usize, dests: usize) -> Vec<VirtualServer> {
    (0..services)
        .map(|i| {
            let vip = Ipv4Addr::new(10, 100 + (i >> 16) as u8, (i >> 8) as u8, i as u8);
            VirtualServer {
                service: Service::new(
                    ServiceKey::tcp(SocketAddr::new(vip.into(), 80)),
                    Scheduler::WeightedRoundRobin,
                ),
                destinations: (0..dests)
                    .map(|d| {
                        let rip = Ipv4Addr::new(192, 168, d as u8, (i % 250) as u8 + 1);
                        // Direct routing keeps the virtual port (ipvsadm
                        // rewrites a DR destination's port to it).
                        Destination::new(
                            SocketAddr::new(rip.into(), 80),
                            ForwardMethod::DirectRoute,
                        )
                    })
                    .collect(),
            }
        })
        .collect()
}

fn rules(t: &[VirtualServer]) -> String {
    let mut s = String::new();
    for vs in t {
        let ServiceKey::Addr { addr, .. } = vs.service.key else {
            unreachable!("TCP services only")
        };
        let _ = writeln!(s, "-A -t {addr} -s {}", vs.service.scheduler);
        for d in &vs.destinations {
            let _ = writeln!(s, "-a -t {addr} -r {} -g -w {}", d.addr, d.weight);
        }
    }
    s
}

fn ipvsadm(ns: &Netns, args: &[&str], stdin: Option<&str>) -> (Duration, String) {
    let start = Instant::now();
    let mut child = Command::new("ip")
        .args(["netns", "exec", ns.name(), "ipvsadm"])
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run ipvsadm");
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().expect("stdin");
        pipe.write_all(input.as_bytes()).expect("feed ipvsadm");
    }
    let out = child.wait_with_output().expect("wait ipvsadm");
    let took = start.elapsed();
    assert!(
        out.status.success(),
        "ipvsadm {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    (took, String::from_utf8_lossy(&out.stdout).into_owned())
}

fn main() {
    let mut args = std::env::args().skip(1);
    let services: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(10_000);
    let dests: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(4);
    lvs_testenv::require_root("the ipvs bench");
    lvs_testenv::require_program("ipvsadm");
    let t = table(services, dests);
    let requests = services * (1 + dests);
    println!(
        "table: {services} TCP services x {dests} DR destinations ({requests} write requests)"
    );

    // User-space share: encoding every request as the batch does, no kernel.
    let start = Instant::now();
    let mut buf = Vec::with_capacity(256 * 1024);
    let mut bytes = 0usize;
    for vs in &t {
        let mut enc = |op: lvs_ipvs::Op| {
            op.emit_payload(&mut buf).expect("valid");
            if buf.len() > 128 * 1024 {
                bytes += buf.len();
                buf.clear();
            }
        };
        enc(lvs_ipvs::Op::AddService(vs.service.clone()));
        for d in &vs.destinations {
            enc(lvs_ipvs::Op::AddDestination(vs.service.key, *d));
        }
    }
    bytes += buf.len();
    println!(
        "encode only: {:.1} us/request ({bytes} bytes)",
        start.elapsed().as_secs_f64() * 1e6 / requests as f64
    );

    // 1. Apply from empty.
    let ours_ns = Netns::new("bnours");
    let mut h = IpvsHandle::open_in_netns(ours_ns.as_fd()).expect("handle");
    if let Err(e) = h.info() {
        panic!("IPVS unavailable: {e}");
    }
    let start = Instant::now();
    let report = h.reconcile(&t, Removal::Delete).expect("reconcile");
    let ours_apply = start.elapsed();
    assert!(report.is_ok(), "{:?}", report.failures().next());
    assert_eq!(report.ops.len(), requests);

    let theirs_ns = Netns::new("bntheirs");
    let input = rules(&t);
    let (theirs_apply, _) = ipvsadm(&theirs_ns, &["-R"], Some(&input));

    // 2. Full dump of the same table, by each tool, in the namespace that
    // ipvsadm filled (then cross-checked against ours).
    let mut h2 = IpvsHandle::open_in_netns(theirs_ns.as_fd()).expect("handle");
    let start = Instant::now();
    let dumped = h2.table().expect("dump");
    let ours_dump = start.elapsed();
    let (theirs_dump, save) = ipvsadm(&theirs_ns, &["-Sn"], None);
    // Where the dump time goes.
    let start = Instant::now();
    let n = h2.services().expect("services").len();
    let services_dump = start.elapsed();
    let key = dumped[0].service.service.key;
    let start = Instant::now();
    for _ in 0..200 {
        h2.destinations(&key).expect("dests");
    }
    let dest_dump = start.elapsed() / 200;
    let start = Instant::now();
    for _ in 0..200 {
        h2.info().expect("info");
    }
    let info_rt = start.elapsed() / 200;
    println!(
        "detail: service dump ({n}) {services_dump:?}, one destination dump {dest_dump:?}, one info round trip {info_rt:?}"
    );
    assert_eq!(dumped.len(), services);
    assert_eq!(
        dumped.iter().map(|e| e.destinations.len()).sum::<usize>(),
        services * dests
    );
    assert_eq!(save.lines().count(), requests, "ipvsadm -Sn lines");
    // Both namespaces hold the same table.
    let norm = |h: &mut IpvsHandle| {
        let mut v: Vec<VirtualServer> = h
            .table()
            .expect("dump")
            .iter()
            .map(|e| e.config())
            .collect();
        for x in &mut v {
            x.destinations.sort();
        }
        v.sort_by_key(|x| x.service.key);
        v
    };
    println!(
        "measured: apply ours {:?} theirs {:?}; dump ours {:?} theirs {:?}",
        ours_apply, theirs_apply, ours_dump, theirs_dump
    );
    let (a, b) = (norm(&mut h), norm(&mut h2));
    if let Some((x, y)) = a.iter().zip(&b).find(|(x, y)| x != y) {
        panic!("lvs-ipvs and ipvsadm -R produced different tables:\n{x:?}\n{y:?}");
    }
    assert_eq!(a.len(), b.len());

    // 3. No-op reconcile.
    let writes = h.write_requests();
    let start = Instant::now();
    let noop = h.reconcile(&t, Removal::Delete).expect("no-op reconcile");
    let noop_time = start.elapsed();
    let noop_writes = h.write_requests() - writes;

    let apply_ratio = theirs_apply.as_secs_f64() / ours_apply.as_secs_f64();
    let dump_ratio = theirs_dump.as_secs_f64() / ours_dump.as_secs_f64();
    println!(
        "apply: lvs-ipvs {:.3} s ({:.1} us/request) | ipvsadm -R {:.3} s | ratio {:.1}x (target >= 15x)",
        ours_apply.as_secs_f64(),
        ours_apply.as_secs_f64() * 1e6 / requests as f64,
        theirs_apply.as_secs_f64(),
        apply_ratio
    );
    println!(
        "dump:  lvs-ipvs {:.3} s | ipvsadm -Sn {:.3} s | ratio {:.1}x (target >= 3x)",
        ours_dump.as_secs_f64(),
        theirs_dump.as_secs_f64(),
        dump_ratio
    );
    println!(
        "no-op reconcile: {:.3} s, {} operations, {} write requests (must be 0)",
        noop_time.as_secs_f64(),
        noop.ops.len(),
        noop_writes
    );
    assert_eq!(noop_writes, 0);
    assert!(noop.ops.is_empty());
    if apply_ratio < 15.0 || dump_ratio < 3.0 {
        println!("TARGET MISSED");
    } else {
        println!("targets met");
    }
}
