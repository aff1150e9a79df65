//! Every IPVS operation against the real kernel. These run inside the kernel
//! VM (`cargo xtask test` boots Debian's kernel with virtme-ng, loads `ip_vs`
//! and its schedulers, and runs `--ignored vm_`). Each test works in its own
//! fresh network namespace, so they are independent of each other and of
//! the order they run in.

use lvs_ipvs::{
    Destination, Error, Family, ForwardMethod, IpvsHandle, Op, PersistenceMask, Removal,
    SchedFlags, Scheduler, Service, ServiceKey, SyncDaemon, SyncState, Timeouts, TunnelFlags,
    TunnelType, VirtualServer,
};
use lvs_testenv::Netns;
use std::net::SocketAddr;
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

const VM: &str = "needs the IPVS kernel VM (cargo xtask test)";

/// A fresh namespace and a handle inside it; panics with what is missing
/// when the kernel has no IPVS.
fn setup(prefix: &str) -> (Netns, IpvsHandle) {
    lvs_testenv::require_root("IPVS kernel tests");
    let ns = Netns::new(prefix);
    let mut h = IpvsHandle::open_in_netns(ns.as_fd()).expect("netlink socket in the namespace");
    match h.info() {
        Ok(_) => {}
        Err(e @ Error::IpvsUnavailable { .. }) => panic!(
            "IPVS is missing: {e}. These tests need the kernel VM with ip_vs loaded (cargo xtask test)"
        ),
        Err(e) => panic!("IPVS info failed: {e}"),
    }
    (ns, h)
}

fn sa(s: &str) -> SocketAddr {
    s.parse().unwrap()
}

fn seed_key() -> ServiceKey {
    ServiceKey::tcp(sa("172.20.0.83:80"))
}

#[test]
#[ignore = "needs the IPVS kernel VM (cargo xtask test)"]
fn vm_info_and_timeouts() {
    let (_ns, mut h) = setup("ipvsinfo");
    let info = h.info().unwrap();
    assert_eq!(info.version_triple().0, 1, "{info:?}");
    assert!(info.conn_table_size >= 4096, "{info:?}");
    let t = Timeouts::new(
        Duration::from_secs(901),
        Duration::from_secs(121),
        Duration::from_secs(301),
    );
    h.set_timeouts(&t).unwrap();
    assert_eq!(h.timeouts().unwrap(), t);
    // Zero leaves a timeout unchanged.
    h.set_timeouts(&Timeouts::new(
        Duration::ZERO,
        Duration::ZERO,
        Duration::from_secs(77),
    ))
    .unwrap();
    assert_eq!(
        h.timeouts().unwrap(),
        Timeouts::new(t.tcp, t.tcp_fin, Duration::from_secs(77))
    );
    let _ = VM;
}

#[test]
#[ignore = "needs the IPVS kernel VM (cargo xtask test)"]
fn vm_every_scheduler_add_read_edit_delete() {
    let (_ns, mut h) = setup("ipvssched");
    for (i, sched) in Scheduler::ALL.iter().enumerate() {
        let key = ServiceKey::tcp(sa(&format!("10.1.0.{}:80", i + 1)));
        let svc = Service::new(key, sched.clone());
        h.add_service(&svc)
            .unwrap_or_else(|e| panic!("add {sched}: {e}"));
        let back = h.service(&key).unwrap();
        assert!(back.is_hashed());
        assert_eq!(back.service, svc, "read back {sched}");
    }
    let all = h.services().unwrap();
    assert_eq!(all.len(), Scheduler::ALL.len());
    // sh and mh with their flags; persistence; edit changes them.
    let key = ServiceKey::tcp(sa("10.1.0.7:80"));
    let svc = Service::new(key, Scheduler::SourceHashing)
        .with_sched_flags(SchedFlags::FALLBACK | SchedFlags::PORT)
        .with_persistence(
            Duration::from_secs(600),
            PersistenceMask::V4("255.255.255.0".parse().unwrap()),
        );
    h.edit_service(&svc).unwrap();
    assert_eq!(h.service(&key).unwrap().service, svc);
    let key = ServiceKey::tcp(sa("10.1.0.13:80"));
    let svc = Service::new(key, Scheduler::Maglev).with_sched_flags(SchedFlags::FALLBACK);
    h.edit_service(&svc).unwrap();
    assert_eq!(h.service(&key).unwrap().service, svc);
    for i in 0..Scheduler::ALL.len() {
        h.delete_service(&ServiceKey::tcp(sa(&format!("10.1.0.{}:80", i + 1))))
            .unwrap();
    }
    assert!(h.services().unwrap().is_empty());
}

#[test]
#[ignore = "needs the IPVS kernel VM (cargo xtask test)"]
fn vm_ipv6_fwmark_udp_sctp_services() {
    let (_ns, mut h) = setup("ipvs6");
    let mut udp = Service::new(
        ServiceKey::udp(sa("[2001:db8::1]:53")),
        Scheduler::WeightedRoundRobin,
    )
    .with_persistence(Duration::from_secs(120), PersistenceMask::V6Prefix(64));
    udp.one_packet = true;
    let tcp6 = Service::new(
        ServiceKey::tcp(sa("[2001:db8::1]:443")),
        Scheduler::LeastConnection,
    );
    let sctp = Service::new(ServiceKey::sctp(sa("10.2.0.1:3868")), Scheduler::RoundRobin);
    let fwm4 = Service::new(
        ServiceKey::fwmark(Family::Inet, 42),
        Scheduler::WeightedLeastConnection,
    )
    .with_persistence(
        Duration::from_secs(300),
        PersistenceMask::V4("255.255.0.0".parse().unwrap()),
    );
    let fwm6 = Service::new(ServiceKey::fwmark(Family::Inet6, 43), Scheduler::NeverQueue);
    let mut sip = Service::new(ServiceKey::udp(sa("10.2.0.2:5060")), Scheduler::RoundRobin)
        .with_persistence(
            Duration::from_secs(60),
            PersistenceMask::V4("255.255.255.255".parse().unwrap()),
        );
    sip.pe_name = Some("sip".into());
    let mut want = vec![udp, tcp6, sctp, fwm4, fwm6];
    // The SIP persistence engine is a module of its own; the suite's VM
    // loads it (xtask/src/vm.rs), so its absence is a failure here.
    h.add_service(&sip).unwrap_or_else(|e| {
        panic!("add a service with the sip persistence engine (is ip_vs_pe_sip loaded?): {e}")
    });
    want.push(sip);
    for s in &want[..5] {
        h.add_service(s)
            .unwrap_or_else(|e| panic!("add {}: {e}", s.key));
    }
    let mut got: Vec<Service> = h
        .services()
        .unwrap()
        .into_iter()
        .map(|e| e.service)
        .collect();
    got.sort();
    want.sort();
    assert_eq!(got, want);
    for s in &want {
        assert_eq!(h.service(&s.key).unwrap().service, *s);
    }
}

#[test]
#[ignore = "needs the IPVS kernel VM (cargo xtask test)"]
fn vm_destinations_every_forward_method() {
    let (_ns, mut h) = setup("ipvsdest");
    let key = ServiceKey::tcp(sa("10.3.0.1:80"));
    h.add_service(&Service::new(key, Scheduler::WeightedRoundRobin))
        .unwrap();
    let dests = vec![
        Destination::new(sa("10.3.1.1:80"), ForwardMethod::Masquerade).with_weight(3),
        Destination::new(sa("10.3.1.2:80"), ForwardMethod::DirectRoute),
        Destination::new(sa("10.3.1.3:80"), ForwardMethod::IPIP),
        Destination {
            addr: sa("10.3.1.4:80"),
            forward: ForwardMethod::Tunnel {
                kind: TunnelType::Gue { port: 6080 },
                flags: TunnelFlags::CSUM,
            },
            weight: 100_000,
            upper_threshold: 500,
            lower_threshold: 100,
        },
        Destination::new(
            sa("10.3.1.5:80"),
            ForwardMethod::Tunnel {
                kind: TunnelType::Gre,
                flags: TunnelFlags::CSUM,
            },
        ),
        Destination::new(
            sa("10.3.1.6:80"),
            ForwardMethod::Tunnel {
                kind: TunnelType::Gue { port: 5555 },
                flags: TunnelFlags::REMCSUM,
            },
        ),
    ];
    for d in &dests {
        h.add_destination(&key, d)
            .unwrap_or_else(|e| panic!("add {d:?}: {e}"));
    }
    let mut got: Vec<Destination> = h
        .destinations(&key)
        .unwrap()
        .iter()
        .map(|d| d.dest)
        .collect();
    got.sort();
    assert_eq!(got, dests);
    // Edit: weight, thresholds and forward method.
    let mut edited = dests[1];
    edited.weight = 0;
    edited.upper_threshold = 9;
    edited.forward = ForwardMethod::Masquerade;
    h.edit_destination(&key, &edited).unwrap();
    let back = h.destinations(&key).unwrap();
    assert!(back.iter().any(|d| d.dest == edited), "{back:?}");
    for d in &back {
        assert_eq!(
            (d.active_conns, d.inactive_conns, d.persistent_conns),
            (0, 0, 0)
        );
        assert!(d.stats64);
    }
    h.delete_destination(&key, dests[0].addr).unwrap();
    assert_eq!(h.destinations(&key).unwrap().len(), dests.len() - 1);

    // IPv6 service: IPv6 destinations, and an IPv4 one only through a tunnel.
    let key6 = ServiceKey::tcp(sa("[2001:db8::3]:80"));
    h.add_service(&Service::new(key6, Scheduler::RoundRobin))
        .unwrap();
    let d6 = Destination::new(sa("[2001:db8::30]:8080"), ForwardMethod::Masquerade);
    let d4 = Destination::new(sa("10.3.2.1:80"), ForwardMethod::IPIP);
    h.add_destination(&key6, &d6).unwrap();
    h.add_destination(&key6, &d4).unwrap();
    let mut got: Vec<Destination> = h
        .destinations(&key6)
        .unwrap()
        .iter()
        .map(|d| d.dest)
        .collect();
    got.sort();
    assert_eq!(got, vec![d4, d6]);
    let bad = Destination::new(sa("10.3.2.2:80"), ForwardMethod::DirectRoute);
    match h.add_destination(&key6, &bad) {
        Err(Error::InvalidArgument { field, .. }) => assert!(field.contains("family"), "{field}"),
        other => panic!("IPv4 DR destination on an IPv6 service: {other:?}"),
    }
}

#[test]
#[ignore = "needs the IPVS kernel VM (cargo xtask test)"]
fn vm_each_error_case() {
    let (_ns, mut h) = setup("ipvserr");
    let key = seed_key();
    let svc = Service::new(key, Scheduler::RoundRobin);
    let d = Destination::new(sa("172.20.0.85:80"), ForwardMethod::DirectRoute);
    assert!(matches!(h.delete_service(&key), Err(Error::NoSuchService)));
    assert!(matches!(h.edit_service(&svc), Err(Error::NoSuchService)));
    assert!(matches!(
        h.add_destination(&key, &d),
        Err(Error::NoSuchService)
    ));
    assert!(matches!(h.service(&key), Err(Error::NoSuchService)));
    h.add_service(&svc).unwrap();
    assert!(matches!(h.add_service(&svc), Err(Error::ServiceExists)));
    assert!(matches!(
        h.delete_destination(&key, d.addr),
        Err(Error::NoSuchDestination)
    ));
    assert!(matches!(
        h.edit_destination(&key, &d),
        Err(Error::NoSuchDestination)
    ));
    h.add_destination(&key, &d).unwrap();
    assert!(matches!(
        h.add_destination(&key, &d),
        Err(Error::DestinationExists)
    ));
    let bogus = Service::new(
        ServiceKey::tcp(sa("172.20.0.84:80")),
        Scheduler::Other("nosuch".into()),
    );
    match h.add_service(&bogus) {
        Err(e @ Error::UnknownScheduler { .. }) => assert!(e.to_string().contains("nosuch"), "{e}"),
        other => panic!("unknown scheduler: {other:?}"),
    }
    // Rejected before anything is sent.
    let before = h.write_requests();
    let bad6 = Service::new(
        ServiceKey::tcp(sa("[2001:db8::1]:80")),
        Scheduler::RoundRobin,
    )
    .with_persistence(Duration::from_secs(10), PersistenceMask::V6Prefix(0));
    assert!(matches!(
        h.add_service(&bad6),
        Err(Error::InvalidArgument {
            field: "persistence mask",
            ..
        })
    ));
    assert_eq!(h.write_requests(), before);
    // The kernel's EINVAL: an IPv6 mask on an IPv4 service is caught by us,
    // a zero-prefix on the wire by the kernel — send it raw to see that path.
    let raw = lvs_ipvs::IpvsMessage::new(
        lvs_ipvs::IpvsCmd::NewService,
        vec![lvs_ipvs::nla::CmdAttr::Service(vec![
            lvs_ipvs::nla::SvcAttr::Af(10),
            lvs_ipvs::nla::SvcAttr::Protocol(6),
            lvs_ipvs::nla::SvcAttr::Addr(
                "2001:db8::9"
                    .parse::<std::net::Ipv6Addr>()
                    .unwrap()
                    .octets(),
            ),
            lvs_ipvs::nla::SvcAttr::Port(80),
            lvs_ipvs::nla::SvcAttr::SchedName("rr".into()),
            lvs_ipvs::nla::SvcAttr::Flags(lvs_ipvs::nla::SvcFlags { flags: 1, mask: !0 }),
            lvs_ipvs::nla::SvcAttr::Timeout(10),
            lvs_ipvs::nla::SvcAttr::Netmask(0u32.to_ne_bytes()),
        ])],
    );
    match h.send_raw(&raw) {
        Err(Error::InvalidArgument { field, .. }) => {
            assert!(field.starts_with("service"), "{field}")
        }
        other => panic!("kernel EINVAL: {other:?}"),
    }
    // Permission: a thread without CAP_NET_ADMIN.
    let perm = std::thread::scope(|s| {
        s.spawn(|| {
            drop_net_admin();
            h.delete_service(&key)
        })
        .join()
        .unwrap()
    });
    assert!(matches!(perm, Err(Error::Permission)), "{perm:?}");
    assert!(
        h.service(&key).is_ok(),
        "the unprivileged delete must not have happened"
    );
    // Daemons.
    assert!(matches!(
        h.stop_daemon(SyncState::Backup),
        Err(Error::NoSuchDaemon)
    ));
}

/// Drops CAP_NET_ADMIN from the calling thread's effective set.
fn drop_net_admin() {
    #[repr(C)]
    struct Header {
        version: u32,
        pid: i32,
    }
    #[repr(C)]
    #[derive(Clone, Copy, Default)]
    struct Data {
        effective: u32,
        permitted: u32,
        inheritable: u32,
    }
    let mut hdr = Header {
        version: 0x2008_0522,
        pid: 0,
    };
    let mut data = [Data::default(); 2];
    // SAFETY: capget/capset with a v3 header and two data slots; pid 0 is
    // the calling thread.
    unsafe {
        assert_eq!(
            libc::syscall(libc::SYS_capget, &mut hdr as *mut Header, data.as_mut_ptr()),
            0
        );
        data[0].effective &= !(1 << 12);
        assert_eq!(
            libc::syscall(libc::SYS_capset, &mut hdr as *mut Header, data.as_ptr()),
            0
        );
    }
}

#[test]
#[ignore = "needs the IPVS kernel VM (cargo xtask test)"]
fn vm_sync_daemon_start_list_stop() {
    let (ns, mut h) = setup("ipvssync");
    ns.run(&["ip", "link", "add", "sync0", "type", "dummy"]);
    ns.run(&["ip", "link", "set", "sync0", "multicast", "on", "up"]);
    ns.run(&["ip", "addr", "add", "10.9.0.1/24", "dev", "sync0"]);
    assert!(h.daemons().unwrap().is_empty());
    let mut master = SyncDaemon::new(SyncState::Master, "sync0", 7);
    master.max_len = Some(1400);
    master.group = Some("239.1.2.3".parse().unwrap());
    master.port = Some(8848);
    master.ttl = Some(2);
    h.start_daemon(&master).unwrap();
    assert!(matches!(h.start_daemon(&master), Err(Error::DaemonRunning)));
    let backup = SyncDaemon::new(SyncState::Backup, "sync0", 9);
    h.start_daemon(&backup).unwrap();
    let list = h.daemons().unwrap();
    assert_eq!(list.len(), 2, "{list:?}");
    assert!(list.contains(&master), "{list:?}");
    let b = list.iter().find(|d| d.state == SyncState::Backup).unwrap();
    assert_eq!((b.interface.as_str(), b.sync_id), ("sync0", 9));
    // Kernel defaults come back filled in.
    assert_eq!(b.group, Some("224.0.0.81".parse().unwrap()));
    assert_eq!(b.port, Some(8848));
    h.stop_daemon(SyncState::Master).unwrap();
    h.stop_daemon(SyncState::Backup).unwrap();
    assert!(h.daemons().unwrap().is_empty());
    assert!(matches!(
        h.stop_daemon(SyncState::Master),
        Err(Error::NoSuchDaemon)
    ));
    let bad = SyncDaemon::new(SyncState::Master, "nosuchif", 1);
    assert!(h.start_daemon(&bad).is_err());
}

#[test]
#[ignore = "needs the IPVS kernel VM (cargo xtask test)"]
fn vm_handles_are_scoped_to_their_namespace() {
    let (a, mut ha) = setup("ipvsnsa");
    let (_b, mut hb) = setup("ipvsnsb");
    ha.add_service(&Service::new(seed_key(), Scheduler::RoundRobin))
        .unwrap();
    assert_eq!(ha.services().unwrap().len(), 1);
    assert!(hb.services().unwrap().is_empty());
    // The caller's own namespace is untouched too.
    let mut host = IpvsHandle::open().unwrap();
    assert!(
        !host
            .services()
            .unwrap()
            .iter()
            .any(|s| s.service.key == seed_key())
    );
    // ipvsadm in namespace A sees it.
    let out = a.run(&["ipvsadm", "-Sn"]);
    assert!(out.contains("-A -t 172.20.0.83:80 -s rr"), "{out}");
}

#[test]
#[ignore = "needs the IPVS kernel VM (cargo xtask test)"]
fn vm_zero_and_flush() {
    let (ns, mut h) = setup("ipvszero");
    let key = ServiceKey::tcp(sa("10.5.0.1:80"));
    h.add_service(&Service::new(key, Scheduler::RoundRobin))
        .unwrap();
    h.add_destination(
        &key,
        &Destination::new(sa("10.5.1.1:80"), ForwardMethod::Masquerade),
    )
    .unwrap();
    let other = ServiceKey::udp(sa("10.5.0.2:53"));
    h.add_service(&Service::new(other, Scheduler::RoundRobin))
        .unwrap();
    h.add_destination(
        &other,
        &Destination::new(sa("10.5.1.1:53"), ForwardMethod::Masquerade),
    )
    .unwrap();
    // Traffic: local packets to a VIP are scheduled by IPVS (LOCAL_OUT),
    // which counts them (TCP connection attempts, UDP datagrams). The
    // kernel folds its per-CPU counters into what it reports every 2 s
    // (estimator), so poll.
    ns.run(&["ip", "addr", "add", "10.5.0.1/32", "dev", "lo"]);
    ns.run(&["ip", "addr", "add", "10.5.0.2/32", "dev", "lo"]);
    ns.run(&["ip", "link", "add", "zero0", "type", "dummy"]);
    ns.run(&["ip", "link", "set", "zero0", "up"]);
    ns.run(&["ip", "addr", "add", "10.5.1.2/24", "dev", "zero0"]);
    ns.enter(|| {
        let _ =
            std::net::TcpStream::connect_timeout(&sa("10.5.0.1:80"), Duration::from_millis(300));
        let u = std::net::UdpSocket::bind("0.0.0.0:0").unwrap();
        for _ in 0..3 {
            let _ = u.send_to(b"ping", "10.5.0.2:53");
        }
    });
    let deadline = Instant::now() + Duration::from_secs(10);
    let (mut tcp, mut udp) = (Default::default(), Default::default());
    while Instant::now() < deadline {
        tcp = h.service(&key).unwrap().stats;
        udp = h.service(&other).unwrap().stats;
        if tcp.in_pkts > 0 && udp.in_pkts > 0 {
            break;
        }
        std::thread::sleep(Duration::from_millis(300));
    }
    let (tcp, udp): (lvs_ipvs::Stats, lvs_ipvs::Stats) = (tcp, udp);
    assert!(
        tcp.conns >= 1 && tcp.in_pkts >= 1,
        "no TCP traffic counted: {tcp:?}"
    );
    assert!(
        udp.in_pkts >= 3 && udp.in_bytes > 0,
        "no UDP traffic counted: {udp:?}"
    );
    for k in [key, other] {
        h.zero(Some(&k)).unwrap();
        let after = h.service(&k).unwrap().stats;
        assert_eq!(
            (after.conns, after.in_pkts, after.in_bytes),
            (0, 0, 0),
            "{after:?}"
        );
        for d in h.destinations(&k).unwrap() {
            assert_eq!((d.stats.conns, d.stats.in_pkts), (0, 0), "{d:?}");
        }
    }
    h.zero(None).unwrap();
    assert!(matches!(
        h.zero(Some(&ServiceKey::tcp(sa("10.5.9.9:1")))),
        Err(Error::NoSuchService)
    ));
    h.flush().unwrap();
    assert!(h.services().unwrap().is_empty());
}

fn big_table(n: usize, dests: usize) -> Vec<VirtualServer> {
    (0..n)
        .map(|i| {
            let vip = SocketAddr::new(
                std::net::Ipv4Addr::new(
                    10,
                    100 + (i / 65536) as u8,
                    (i / 256 % 256) as u8,
                    (i % 256) as u8,
                )
                .into(),
                80,
            );
            VirtualServer {
                service: Service::new(ServiceKey::tcp(vip), Scheduler::WeightedRoundRobin),
                destinations: (0..dests)
                    .map(|d| {
                        Destination::new(
                            SocketAddr::new(
                                std::net::Ipv4Addr::new(192, 168, d as u8, (i % 250) as u8 + 1)
                                    .into(),
                                8080,
                            ),
                            ForwardMethod::DirectRoute,
                        )
                    })
                    .collect(),
            }
        })
        .collect()
}

#[test]
#[ignore = "needs the IPVS kernel VM (cargo xtask test)"]
fn vm_batch_and_ten_thousand_service_dump() {
    let (_ns, mut h) = setup("ipvsbig");
    let table = big_table(10_000, 1);
    let mut ops = Vec::new();
    for vs in &table {
        ops.push(Op::AddService(vs.service.clone()));
        for d in &vs.destinations {
            ops.push(Op::AddDestination(vs.service.key, *d));
        }
    }
    // A duplicate in the middle fails alone.
    ops.insert(5, Op::AddService(table[0].service.clone()));
    let t = Instant::now();
    let results = h.apply(&ops).unwrap();
    eprintln!("batch of {} ops: {:?}", ops.len(), t.elapsed());
    assert_eq!(results.len(), ops.len());
    for (i, r) in results.iter().enumerate() {
        if i == 5 {
            assert!(matches!(r, Err(Error::ServiceExists)), "{r:?}");
        } else {
            assert!(r.is_ok(), "op {i}: {r:?}");
        }
    }
    let t = Instant::now();
    let services = h.services().unwrap();
    eprintln!("dump of {} services: {:?}", services.len(), t.elapsed());
    assert_eq!(services.len(), 10_000);
    let mut got: Vec<Service> = services.into_iter().map(|s| s.service).collect();
    got.sort();
    let mut want: Vec<Service> = table.iter().map(|v| v.service.clone()).collect();
    want.sort();
    assert_eq!(got, want);
    let full = h.table().unwrap();
    assert_eq!(full.len(), 10_000);
    assert!(full.iter().all(|e| e.destinations.len() == 1));
}

#[test]
#[ignore = "needs the IPVS kernel VM (cargo xtask test)"]
fn vm_reconcile_minimal_and_noop() {
    let (ns, mut h) = setup("ipvsrec");
    let mut table = big_table(200, 4);
    let report = h.reconcile(&table, Removal::Delete).unwrap();
    assert!(report.is_ok());
    assert_eq!(report.ops.len(), 200 * 5);
    // Already matching: zero write requests.
    let writes = h.write_requests();
    let report = h.reconcile(&table, Removal::Delete).unwrap();
    assert!(report.ops.is_empty(), "{:?}", report.ops);
    assert_eq!(h.write_requests(), writes);
    // One weight, one scheduler, one removed destination, one removed service.
    table[3].destinations[1].weight = 5;
    table[4].service.scheduler = Scheduler::LeastConnection;
    table[5].destinations.pop();
    let gone = table.pop().unwrap().service.key;
    let report = h.reconcile(&table, Removal::Delete).unwrap();
    assert!(report.is_ok());
    assert_eq!(report.ops.len(), 4, "{:?}", report.ops);
    assert_eq!(h.write_requests(), writes + 4);
    assert!(matches!(h.service(&gone), Err(Error::NoSuchService)));
    let mut now: Vec<VirtualServer> = h.table().unwrap().iter().map(|e| e.config()).collect();
    for v in &mut now {
        v.destinations.sort();
    }
    now.sort_by_key(|v| v.service.key);
    let mut want = table.clone();
    for v in &mut want {
        v.destinations.sort();
    }
    want.sort_by_key(|v| v.service.key);
    assert_eq!(now, want);
    // Graceful drain. An idle destination that is no longer wanted goes at
    // once; one with connections is set to weight 0 and stays.
    let key = ServiceKey::tcp(sa("10.6.0.1:80"));
    let busy = Destination::new(sa("10.6.1.1:80"), ForwardMethod::DirectRoute);
    let idle = Destination::new(sa("10.6.1.2:80"), ForwardMethod::DirectRoute).with_weight(0);
    let keep = Destination::new(sa("10.6.1.3:80"), ForwardMethod::DirectRoute).with_weight(0);
    let mut with_drain = table.clone();
    with_drain.push(VirtualServer {
        service: Service::new(key, Scheduler::RoundRobin),
        destinations: vec![busy, idle, keep],
    });
    assert!(h.reconcile(&with_drain, Removal::Drain).unwrap().is_ok());
    // Connections to `busy`, the only destination with weight.
    ns.run(&["ip", "addr", "add", "10.6.0.1/32", "dev", "lo"]);
    ns.run(&["ip", "link", "add", "drain0", "type", "dummy"]);
    ns.run(&["ip", "link", "set", "drain0", "up"]);
    ns.run(&["ip", "addr", "add", "10.6.1.100/24", "dev", "drain0"]);
    ns.enter(|| {
        for _ in 0..2 {
            let _ = std::net::TcpStream::connect_timeout(
                &sa("10.6.0.1:80"),
                Duration::from_millis(200),
            );
        }
    });
    let d = h.destinations(&key).unwrap();
    let b = d.iter().find(|d| d.dest.addr == busy.addr).unwrap();
    assert!(b.active_conns + b.inactive_conns > 0, "{d:?}");
    with_drain.last_mut().unwrap().destinations = vec![keep];
    let report = h.reconcile(&with_drain, Removal::Drain).unwrap();
    let mut drained = busy;
    drained.weight = 0;
    let mut ops = report.ops.clone();
    ops.sort_by_key(|o| format!("{o:?}"));
    assert_eq!(
        ops,
        vec![
            Op::DeleteDestination(key, idle.addr),
            Op::EditDestination(key, drained)
        ],
    );
    let d = h.destinations(&key).unwrap();
    assert_eq!(d.len(), 2);
    assert_eq!(
        d.iter()
            .find(|d| d.dest.addr == busy.addr)
            .unwrap()
            .dest
            .weight,
        0
    );
    // Still busy: nothing more to do, nothing written.
    let writes = h.write_requests();
    assert!(
        h.reconcile(&with_drain, Removal::Drain)
            .unwrap()
            .ops
            .is_empty()
    );
    assert_eq!(h.write_requests(), writes);
}

#[test]
#[ignore = "needs the IPVS kernel VM (cargo xtask test)"]
fn vm_stale_family_id_is_resolved_again() {
    // What a handle sees after ip_vs was unloaded and loaded again: its
    // cached family id is gone (the kernel answers ENOENT for it).
    let (_ns, mut h) = setup("ipvsstale");
    let real = h.family_id().unwrap();
    let stale = if real == 0xfff0 { 0xfff1 } else { 0xfff0 };
    h.set_stale_family_id_for_tests(stale);
    h.add_service(&Service::new(seed_key(), Scheduler::RoundRobin))
        .unwrap();
    assert_eq!(h.family_id().unwrap(), real);
    h.set_stale_family_id_for_tests(stale);
    assert_eq!(h.services().unwrap().len(), 1);
    h.set_stale_family_id_for_tests(stale);
    let d = Destination::new(sa("172.20.0.85:80"), ForwardMethod::DirectRoute);
    let r = h
        .apply(&[
            Op::AddDestination(seed_key(), d),
            Op::AddDestination(seed_key(), d),
        ])
        .unwrap();
    assert!(r[0].is_ok(), "{r:?}");
    assert!(matches!(r[1], Err(Error::DestinationExists)), "{r:?}");
    // A genuine ENOENT still means "no such destination".
    h.set_stale_family_id_for_tests(stale);
    assert!(matches!(
        h.delete_destination(&seed_key(), sa("172.20.0.99:80")),
        Err(Error::NoSuchDestination)
    ));
}

#[test]
#[ignore = "needs the IPVS kernel VM (cargo xtask test)"]
fn vm_async_handle() {
    lvs_testenv::require_root("IPVS kernel tests");
    let ns = Netns::new("ipvsasync");
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let h = lvs_ipvs::AsyncIpvsHandle::open_in_netns(ns.as_fd())
            .await
            .unwrap();
        h.info().await.expect("IPVS available in the VM");
        let table = big_table(3, 2);
        assert!(
            h.reconcile(table.clone(), Removal::Delete)
                .await
                .unwrap()
                .is_ok()
        );
        let writes = h.write_requests().await;
        assert!(
            h.reconcile(table, Removal::Delete)
                .await
                .unwrap()
                .ops
                .is_empty()
        );
        assert_eq!(h.write_requests().await, writes);
        assert_eq!(h.table().await.unwrap().len(), 3);
    });
}
