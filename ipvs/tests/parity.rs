//! Parity with Debian's ipvsadm (1:1.31): what lvs-ipvs writes, ipvsadm
//! reads back as intended, and what ipvsadm writes (including the seed log's
//! exact commands) lvs-ipvs reads back field by field. Each test runs in its
//! own fresh network namespace inside the kernel VM.

use lvs_ipvs::{
    Destination, Family, ForwardMethod, IpvsHandle, PersistenceMask, SchedFlags, Scheduler,
    Service, ServiceKey, TunnelFlags, TunnelType, VirtualServer,
};
use lvs_testenv::Netns;
use std::net::SocketAddr;
use std::os::fd::AsFd;
use std::time::Duration;

fn setup(prefix: &str) -> (Netns, IpvsHandle) {
    lvs_testenv::require_root("ipvsadm parity tests");
    lvs_testenv::require_program("ipvsadm");
    let ns = Netns::new(prefix);
    let mut h = IpvsHandle::open_in_netns(ns.as_fd()).expect("netlink socket in the namespace");
    if let Err(e) = h.info() {
        panic!("IPVS is missing ({e}); these tests need the kernel VM (cargo xtask test)");
    }
    (ns, h)
}

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn sorted_lines(s: &str) -> Vec<String> {
    let mut v: Vec<String> = s
        .lines()
        .map(|l| l.trim_end().to_string())
        .filter(|l| !l.is_empty())
        .collect();
    v.sort();
    v
}

/// A table touching every feature ipvsadm can print.
fn rich_table() -> Vec<VirtualServer> {
    let seed = ServiceKey::tcp(sa("172.20.0.83:80"));
    let mut udp6 = Service::new(
        ServiceKey::udp(sa("[2001:db8::1]:53")),
        Scheduler::SourceHashing,
    )
    .with_sched_flags(SchedFlags::FALLBACK | SchedFlags::PORT)
    .with_persistence(Duration::from_secs(120), PersistenceMask::V6Prefix(64));
    udp6.one_packet = true;
    vec![
        VirtualServer {
            service: Service::new(seed, Scheduler::RoundRobin),
            destinations: vec![
                Destination::new(sa("172.20.0.85:80"), ForwardMethod::DirectRoute),
                Destination::new(sa("172.20.0.86:80"), ForwardMethod::DirectRoute),
            ],
        },
        VirtualServer {
            service: udp6,
            destinations: vec![Destination {
                addr: sa("[2001:db8::10]:53"),
                forward: ForwardMethod::Tunnel {
                    kind: TunnelType::Gue { port: 6080 },
                    flags: TunnelFlags::CSUM,
                },
                weight: 7,
                upper_threshold: 100,
                lower_threshold: 10,
            }],
        },
        VirtualServer {
            service: Service::new(
                ServiceKey::fwmark(Family::Inet, 42),
                Scheduler::WeightedLeastConnection,
            )
            .with_persistence(
                Duration::from_secs(300),
                PersistenceMask::V4("255.255.255.0".parse().unwrap()),
            ),
            destinations: vec![
                Destination::new(sa("10.0.0.1:0"), ForwardMethod::Masquerade).with_weight(3),
                Destination::new(
                    sa("10.0.0.2:0"),
                    ForwardMethod::Tunnel {
                        kind: TunnelType::Gre,
                        flags: TunnelFlags::CSUM,
                    },
                ),
            ],
        },
        VirtualServer {
            service: Service::new(ServiceKey::sctp(sa("10.0.1.1:3868")), Scheduler::Maglev)
                .with_sched_flags(SchedFlags::PORT),
            destinations: vec![
                Destination::new(sa("10.0.1.2:3868"), ForwardMethod::IPIP).with_weight(0),
            ],
        },
    ]
}

/// [`rich_table`] as ipvsadm rules (input of `ipvsadm -R`).
const RICH_SAVE: &str = "\
-A -t 172.20.0.83:80 -s rr
-a -t 172.20.0.83:80 -r 172.20.0.85:80 -g -w 1
-a -t 172.20.0.83:80 -r 172.20.0.86:80 -g -w 1
-A -u [2001:db8::1]:53 -s sh -b sh-fallback,sh-port -p 120 -M 64 -o
-a -u [2001:db8::1]:53 -r [2001:db8::10]:53 -i -w 7 -x 100 -y 10 --tun-type gue --tun-port 6080 --tun-csum
-A -f 42 -s wlc -p 300 -M 255.255.255.0
-a -f 42 -r 10.0.0.1:0 -m -w 3
-a -f 42 -r 10.0.0.2:0 -i -w 1 --tun-type gre --tun-csum
-A --sctp-service 10.0.1.1:3868 -s mh -b mh-port
-a --sctp-service 10.0.1.1:3868 -r 10.0.1.2:3868 -i -w 0
";

/// What `ipvsadm -Sn` (1.31) prints for [`rich_table`]: the same rules in
/// its own option order, the tunnel type spelled out for IPIP, and without
/// thresholds, which its save format never prints (checked with
/// `-Ln --thresholds` instead).
const RICH_SAVE_PRINTED: &str = "\
-A -t 172.20.0.83:80 -s rr
-a -t 172.20.0.83:80 -r 172.20.0.85:80 -g -w 1
-a -t 172.20.0.83:80 -r 172.20.0.86:80 -g -w 1
-A -u [2001:db8::1]:53 -s sh -p 120 -M 64 -o -b sh-fallback,sh-port
-a -u [2001:db8::1]:53 -r [2001:db8::10]:53 -i -w 7 --tun-type gue --tun-port 6080 --tun-csum
-A -f 42 -s wlc -p 300 -M 255.255.255.0
-a -f 42 -r 10.0.0.1:0 -m -w 3
-a -f 42 -r 10.0.0.2:0 -i -w 1 --tun-type gre --tun-csum
-A --sctp-service 10.0.1.1:3868 -s mh -b mh-port
-a --sctp-service 10.0.1.1:3868 -r 10.0.1.2:3868 -i -w 0 --tun-type ipip
";

fn line_with<'a>(text: &'a str, needle: &str) -> Vec<&'a str> {
    text.lines()
        .find(|l| l.contains(needle))
        .unwrap_or_else(|| panic!("no line with `{needle}` in:\n{text}"))
        .split_whitespace()
        .collect()
}

#[test]
#[ignore = "needs the IPVS kernel VM (cargo xtask test)"]
fn vm_parity_ipvsadm_reads_what_lvs_ipvs_wrote() {
    let (ns, mut h) = setup("parw");
    let report = h
        .reconcile(&rich_table(), lvs_ipvs::Removal::Delete)
        .unwrap();
    assert!(
        report.is_ok(),
        "{:?}",
        report.failures().collect::<Vec<_>>()
    );
    let save = ns.run(&["ipvsadm", "-Sn"]);
    eprintln!("{save}");
    assert_eq!(
        sorted_lines(&save),
        sorted_lines(RICH_SAVE_PRINTED),
        "ipvsadm -Sn:\n{save}"
    );
    let list = ns.run(&["ipvsadm", "-Ln"]);
    eprintln!("{list}");
    assert_eq!(
        line_with(&list, "172.20.0.83:80"),
        ["TCP", "172.20.0.83:80", "rr"]
    );
    assert_eq!(
        line_with(&list, "172.20.0.85:80"),
        ["->", "172.20.0.85:80", "Route", "1", "0", "0"]
    );
    assert_eq!(
        line_with(&list, "10.0.0.1:0"),
        ["->", "10.0.0.1:0", "Masq", "3", "0", "0"]
    );
    let fwm = line_with(&list, "FWM");
    assert_eq!(fwm[..3], ["FWM", "42", "wlc"], "{fwm:?}");
    let udp = line_with(&list, "[2001:db8::1]:53").join(" ");
    for want in ["UDP", "sh", "persistent 120", "mask 64"] {
        assert!(udp.contains(want), "`{want}` not in `{udp}`");
    }
    let th = ns.run(&["ipvsadm", "-Ln", "--thresholds"]);
    eprintln!("{th}");
    let gue = line_with(&th, "[2001:db8::10]:53");
    assert!(
        gue.contains(&"100") && gue.contains(&"10"),
        "thresholds 100/10 not in {gue:?}"
    );
    // And ipvsadm -R of that save recreates the identical table.
    let (ns2, mut h2) = setup("parw2");
    let out = std::process::Command::new("ip")
        .args(["netns", "exec", ns2.name(), "sh", "-c"])
        .arg(format!("printf '%s' '{RICH_SAVE}' | ipvsadm -R"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ipvsadm -R: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let norm = |h: &mut IpvsHandle| {
        let mut t: Vec<VirtualServer> = h.table().unwrap().iter().map(|e| e.config()).collect();
        for v in &mut t {
            v.destinations.sort();
        }
        t.sort_by_key(|v| v.service.key);
        t
    };
    assert_eq!(norm(&mut h2), norm(&mut h));
}

#[test]
#[ignore = "needs the IPVS kernel VM (cargo xtask test)"]
fn vm_parity_lvs_ipvs_reads_the_seed_ipvsadm_commands() {
    let (ns, mut h) = setup("parseed");
    // The seed log's exact commands.
    ns.run(&["ipvsadm", "-A", "-t", "172.20.0.83:80", "-s", "rr"]);
    ns.run(&[
        "ipvsadm",
        "-a",
        "-t",
        "172.20.0.83:80",
        "-r",
        "172.20.0.85:80",
        "-g",
    ]);
    ns.run(&[
        "ipvsadm",
        "-a",
        "-t",
        "172.20.0.83:80",
        "-r",
        "172.20.0.86:80",
        "-g",
    ]);
    let table = h.table().unwrap();
    assert_eq!(table.len(), 1);
    let e = &table[0];
    assert_eq!(
        e.service.service,
        Service::new(ServiceKey::tcp(sa("172.20.0.83:80")), Scheduler::RoundRobin)
    );
    assert!(e.service.is_hashed());
    assert_eq!(e.service.stats.conns, 0);
    let mut dests: Vec<Destination> = e.destinations.iter().map(|d| d.dest).collect();
    dests.sort();
    assert_eq!(
        dests,
        vec![
            Destination::new(sa("172.20.0.85:80"), ForwardMethod::DirectRoute),
            Destination::new(sa("172.20.0.86:80"), ForwardMethod::DirectRoute),
        ]
    );
    for d in &e.destinations {
        assert_eq!(
            (d.active_conns, d.inactive_conns, d.persistent_conns),
            (0, 0, 0)
        );
    }
    // Reconciling to the same table writes nothing.
    let writes = h.write_requests();
    let report = h
        .reconcile(&[e.config()], lvs_ipvs::Removal::Delete)
        .unwrap();
    assert!(report.ops.is_empty(), "{:?}", report.ops);
    assert_eq!(h.write_requests(), writes);
}

#[test]
#[ignore = "needs the IPVS kernel VM (cargo xtask test)"]
fn vm_parity_lvs_ipvs_reads_every_ipvsadm_feature() {
    let (ns, mut h) = setup("parfeat");
    let out = std::process::Command::new("ip")
        .args(["netns", "exec", ns.name(), "sh", "-c"])
        .arg(format!("printf '%s' '{RICH_SAVE}' | ipvsadm -R"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ipvsadm -R: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut got: Vec<VirtualServer> = h.table().unwrap().iter().map(|e| e.config()).collect();
    for v in &mut got {
        v.destinations.sort();
    }
    got.sort_by_key(|v| v.service.key);
    let mut want = rich_table();
    for v in &mut want {
        v.destinations.sort();
    }
    want.sort_by_key(|v| v.service.key);
    assert_eq!(got, want);
}
