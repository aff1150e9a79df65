//! The seed lab without IPVS: FRONTAL, NODE01, NODE02, WWW1, WWW2 on one
//! bridge, VIP 172.20.0.83 on the backends' `lo`. Needs root: run with
//! `cargo test -p lvs-arpguard -- --ignored netns_`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::{AsFd, BorrowedFd};
use std::sync::Arc;
use std::time::{Duration, Instant};

use lvs_arpguard::announce::{Announcer, AnnouncerConfig, drive_until};
use lvs_arpguard::audit::{
    BackendCheck, GhostAuditSpec, GhostKind, SuppressionMode, audit_ghosts, verify_backend,
};
use lvs_arpguard::nft::{self, NftSuppression};
use lvs_arpguard::packet::{ETH_P_ARP, PacketSocket};
use lvs_arpguard::probe::{ProbeOptions, probe};
use lvs_arpguard::sysctl::{ArpSysctls, SysctlScope, apply_sysctls};
use lvs_arpguard::wire::{ArpOperation, parse_arp_frame};
use lvs_arpguard::{BackendVip, Change, DirectorVip, MacAddr, NeighState, Rtnl};
use lvs_testenv::{LAB_IFACE, Lan, Netns, require_program, require_root};

const VIP: Ipv4Addr = Ipv4Addr::new(172, 20, 0, 83);
const NODE01: Ipv4Addr = Ipv4Addr::new(172, 20, 0, 81);
const NODE02: Ipv4Addr = Ipv4Addr::new(172, 20, 0, 82);
const WWW1: Ipv4Addr = Ipv4Addr::new(172, 20, 0, 85);
const WWW2: Ipv4Addr = Ipv4Addr::new(172, 20, 0, 86);

struct Lab {
    _lan: Lan,
    frontal: Arc<Netns>,
    node01: Arc<Netns>,
    node02: Arc<Netns>,
    www1: Arc<Netns>,
    www2: Arc<Netns>,
}

fn ns(host: &Netns) -> Option<BorrowedFd<'_>> {
    Some(host.as_fd())
}

fn mac(host: &Netns) -> MacAddr {
    host.mac(LAB_IFACE).parse().expect("MAC from sysfs")
}

fn director_vip() -> DirectorVip {
    let mut vip = DirectorVip::new(LAB_IFACE, IpAddr::V4(VIP), 24);
    vip.label = Some("ens18:0".into());
    vip
}

/// The seed topology: VIP on NODE01's ens18 (label ens18:0), on both
/// backends' `lo`, no suppression yet.
fn lab(tag: &str) -> Lab {
    require_root("the seed lab");
    let lan = Lan::new(tag);
    let frontal = lan.add_host("fr", &["172.20.0.80/24"]);
    let node01 = lan.add_host("n1", &["172.20.0.81/24"]);
    let node02 = lan.add_host("n2", &["172.20.0.82/24"]);
    let www1 = lan.add_host("w1", &["172.20.0.85/24"]);
    let www2 = lan.add_host("w2", &["172.20.0.86/24"]);
    let mut rtnl = Rtnl::open(ns(&node01)).unwrap();
    assert_eq!(director_vip().add(&mut rtnl).unwrap(), Change::Applied);
    for backend in [&www1, &www2] {
        let mut rtnl = Rtnl::open(ns(backend)).unwrap();
        BackendVip::on_lo(IpAddr::V4(VIP))
            .install(&mut rtnl)
            .unwrap();
    }
    Lab {
        _lan: lan,
        frontal,
        node01,
        node02,
        www1,
        www2,
    }
}

fn probe_from_frontal(lab: &Lab) -> lvs_arpguard::probe::ProbeReport {
    let mut opts = ProbeOptions::default();
    opts.window = Duration::from_millis(400);
    opts.identify = vec![NODE01, NODE02, WWW1, WWW2];
    probe(ns(&lab.frontal), LAB_IFACE, VIP, &opts).unwrap()
}

fn only_node01_answers(lab: &Lab) {
    let report = probe_from_frontal(lab);
    assert_eq!(report.macs(), vec![mac(&lab.node01)], "{report:#?}");
    assert!(report.leaks(Some(mac(&lab.node01))).is_empty());
    assert_eq!(report.answers[0].host, Some(NODE01));
}

fn check<'a>(host: &'a Arc<Netns>, lab: &'a Lab, mode: SuppressionMode) -> BackendCheck<'a> {
    let mut check = BackendCheck::new(
        ns(host),
        LAB_IFACE,
        BackendVip::on_lo(IpAddr::V4(VIP)),
        mode,
    );
    check.probe_from = Some((ns(&lab.frontal), LAB_IFACE.into()));
    check.probe_window = Duration::from_millis(300);
    check
}

#[test]
#[ignore = "needs root + netns (cargo xtask test)"]
fn netns_without_suppression_the_backends_answer_for_the_vip() {
    let lab = lab("nosup");
    let report = probe_from_frontal(&lab);
    let mut expected = vec![mac(&lab.node01), mac(&lab.www1), mac(&lab.www2)];
    expected.sort();
    assert_eq!(report.macs(), expected, "the seed's bug: {report:#?}");
    let mut leaking: Vec<Option<Ipv4Addr>> = report
        .leaks(Some(mac(&lab.node01)))
        .iter()
        .map(|l| l.host)
        .collect();
    leaking.sort();
    assert_eq!(leaking, vec![Some(WWW1), Some(WWW2)]);
    // Without `identify`, offenders are named from FRONTAL's neighbour cache.
    lab.frontal
        .run(&["ping", "-c", "1", "-W", "2", "172.20.0.85"]);
    let mut opts = ProbeOptions::default();
    opts.window = Duration::from_millis(400);
    let plain = probe(ns(&lab.frontal), LAB_IFACE, VIP, &opts).unwrap();
    let www1_answer = plain
        .answers
        .iter()
        .find(|a| a.mac == mac(&lab.www1))
        .unwrap();
    assert_eq!(www1_answer.host, Some(WWW1));
    let verdict = verify_backend(&check(&lab.www1, &lab, SuppressionMode::Sysctl)).unwrap();
    assert!(verdict.vip_present);
    assert!(!verdict.suppression_effective);
    assert_eq!(verdict.leaks.len(), 1, "{verdict:#?}");
    assert_eq!(verdict.leaks[0].host, Some(WWW1));
    assert!(!verdict.is_ok());
}

#[test]
#[ignore = "needs root + netns (cargo xtask test)"]
fn netns_sysctl_mode_only_node01_answers() {
    let lab = lab("sysc");
    let mut records = Vec::new();
    for backend in [&lab.www1, &lab.www2] {
        let record = apply_sysctls(ns(backend), &[LAB_IFACE], SysctlScope::Interfaces).unwrap();
        assert_eq!(record.changes.len(), 2, "{record:#?}");
        let s = ArpSysctls::read(ns(backend), LAB_IFACE).unwrap();
        assert_eq!((s.all.arp_ignore, s.all.arp_announce), (0, 0));
        assert_eq!(
            (s.effective().arp_ignore, s.effective().arp_announce),
            (1, 2)
        );
        // Applying again changes nothing.
        let again = apply_sysctls(ns(backend), &[LAB_IFACE], SysctlScope::Interfaces).unwrap();
        assert!(again.changes.is_empty());
        records.push((backend, record));
    }
    only_node01_answers(&lab);
    let verdict = verify_backend(&check(&lab.www2, &lab, SuppressionMode::Sysctl)).unwrap();
    assert!(verdict.is_ok(), "{:?}", verdict.problems());
    // Undo brings the seed's bug back: the suppression really was what silenced them.
    for (backend, record) in &records {
        record.undo(ns(backend)).unwrap();
    }
    assert_eq!(probe_from_frontal(&lab).answers.len(), 3);
}

#[test]
#[ignore = "needs root + netns (cargo xtask test)"]
fn netns_lo_sysctls_do_not_suppress_but_all_does() {
    let lab = lab("slo");
    // The common mistake: setting it on lo, where the VIP is, changes nothing.
    let lo = apply_sysctls(ns(&lab.www1), &["lo"], SysctlScope::Interfaces).unwrap();
    let s = ArpSysctls::read(ns(&lab.www1), LAB_IFACE).unwrap();
    assert!(!s.suppresses(), "{s:?}");
    let report = probe_from_frontal(&lab);
    assert!(report.macs().contains(&mac(&lab.www1)));
    lo.undo(ns(&lab.www1)).unwrap();
    // conf/all alone takes effect through max(all, iface).
    let all = apply_sysctls(ns(&lab.www1), &[], SysctlScope::InterfacesAndAll).unwrap();
    let s = ArpSysctls::read(ns(&lab.www1), LAB_IFACE).unwrap();
    assert_eq!((s.iface_values.arp_ignore, s.all.arp_ignore), (0, 1));
    assert!(s.suppresses());
    assert!(!probe_from_frontal(&lab).macs().contains(&mac(&lab.www1)));
    all.undo(ns(&lab.www1)).unwrap();
}

/// ARP requests WWW1 sends while resolving FRONTAL for a packet sourced
/// from the VIP; returns their sender protocol addresses.
fn arp_sources_when_replying_from_vip(lab: &Lab) -> Vec<Ipv4Addr> {
    let capture = PacketSocket::open(ns(&lab.frontal), LAB_IFACE, ETH_P_ARP).unwrap();
    lab.www1.run(&["ip", "neigh", "flush", "dev", LAB_IFACE]);
    let _ = lab.www1.try_run(&[
        "ping",
        "-c",
        "1",
        "-W",
        "1",
        "-I",
        "172.20.0.83",
        "172.20.0.80",
    ]);
    let www1 = mac(&lab.www1);
    let mut out = Vec::new();
    let mut buf = [0u8; 2048];
    while let Some(n) = capture.recv(&mut buf, Duration::from_millis(300)).unwrap() {
        if let Ok((_, arp)) = parse_arp_frame(&buf[..n])
            && arp.operation == ArpOperation::Request
            && arp.source_mac == www1
        {
            out.push(arp.source_ip);
        }
    }
    out
}

#[test]
#[ignore = "needs root + netns (cargo xtask test)"]
fn netns_nftables_mode_only_node01_answers_and_the_vip_is_never_an_arp_source() {
    require_program("nft");
    let lab = lab("nftm");
    // Without suppression WWW1 claims the VIP when it resolves a neighbour.
    assert!(arp_sources_when_replying_from_vip(&lab).contains(&VIP));
    for (backend, real) in [(&lab.www1, WWW1), (&lab.www2, WWW2)] {
        let mut table = NftSuppression::new(vec![Ipv4Addr::new(172, 20, 0, 99)], LAB_IFACE, real);
        table.install(ns(backend)).unwrap();
        // Replaced atomically by the full set: the old VIP's rule is gone.
        table.vips = vec![VIP];
        table.install(ns(backend)).unwrap();
        let listed = nft::list(ns(backend)).unwrap().unwrap();
        assert!(!listed.contains("172.20.0.99"), "{listed}");
        assert!(nft::drops_requests_for(ns(backend), VIP).unwrap());
        assert!(nft::rewrites_source_for(ns(backend), VIP).unwrap());
        let s = ArpSysctls::read(ns(backend), LAB_IFACE).unwrap();
        assert!(!s.suppresses(), "nft mode must work with default sysctls");
    }
    only_node01_answers(&lab);
    let sources = arp_sources_when_replying_from_vip(&lab);
    assert!(!sources.is_empty(), "WWW1 sent no ARP request");
    assert!(sources.iter().all(|s| *s == WWW1), "{sources:?}");
    let verdict = verify_backend(&check(&lab.www1, &lab, SuppressionMode::Nftables)).unwrap();
    assert!(verdict.is_ok(), "{:?}", verdict.problems());
    nft::remove(ns(&lab.www1)).unwrap();
    nft::remove(ns(&lab.www1)).unwrap();
    assert_eq!(nft::list(ns(&lab.www1)).unwrap(), None);
}

fn neigh_mac(host: &Netns, addr: &str) -> Option<MacAddr> {
    let out = host.run(&["ip", "neigh", "show", addr, "dev", LAB_IFACE]);
    let mut words = out.split_whitespace();
    while let Some(w) = words.next() {
        if w == "lladdr" {
            return words.next().and_then(|m| m.parse().ok());
        }
    }
    None
}

#[test]
#[ignore = "needs root + netns (cargo xtask test)"]
fn netns_after_failover_frontal_learns_node02_from_the_announcement_alone() {
    let lab = lab("fo");
    for backend in [&lab.www1, &lab.www2] {
        apply_sysctls(ns(backend), &[LAB_IFACE], SysctlScope::Interfaces).unwrap();
    }
    // The seed's client had talked to the VIP: FRONTAL holds NODE01's MAC.
    lab.frontal
        .run(&["ping", "-c", "1", "-W", "2", "172.20.0.83"]);
    assert_eq!(
        neigh_mac(&lab.frontal, "172.20.0.83"),
        Some(mac(&lab.node01))
    );

    // Failover: the VIP leaves NODE01 and comes up on NODE02.
    let mut n1 = Rtnl::open(ns(&lab.node01)).unwrap();
    assert_eq!(director_vip().remove(&mut n1).unwrap(), Change::Applied);
    assert_eq!(director_vip().remove(&mut n1).unwrap(), Change::Unchanged);
    let mut n2 = Rtnl::open(ns(&lab.node02)).unwrap();
    director_vip().add(&mut n2).unwrap();

    let interval = Duration::from_millis(500);
    let mut announcer = Announcer::new(AnnouncerConfig::new(mac(&lab.node02)));
    let socket = PacketSocket::open_sender(ns(&lab.node02), LAB_IFACE).unwrap();
    let start = Instant::now();
    announcer.announce_with(IpAddr::V4(VIP), 3, interval, None, start);
    // Only the first round: nothing else may teach FRONTAL the new MAC.
    let sent = drive_until(&mut announcer, &socket, start + Duration::from_millis(1)).unwrap();
    assert_eq!(sent, 2, "request + reply form");
    let mut learned = None;
    while start.elapsed() < interval {
        if neigh_mac(&lab.frontal, "172.20.0.83") == Some(mac(&lab.node02)) {
            learned = Some(start.elapsed());
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let learned = learned.unwrap_or_else(|| {
        panic!(
            "FRONTAL still has {:?} after one interval",
            neigh_mac(&lab.frontal, "172.20.0.83")
        )
    });
    eprintln!("FRONTAL learned NODE02's MAC {learned:?} after the first announcement");
    // The same fact, typed, from rtnetlink.
    let typed = Rtnl::open(ns(&lab.frontal))
        .unwrap()
        .neighbours(Some(LAB_IFACE))
        .unwrap();
    let entry = typed
        .iter()
        .find(|n| n.addr == IpAddr::V4(VIP))
        .expect("neighbour entry for the VIP");
    assert_eq!(entry.mac, Some(mac(&lab.node02)));
    assert_eq!(
        entry.state,
        NeighState::Stale,
        "gratuitous ARP leaves entries STALE"
    );
    // And the VIP answers from NODE02 only.
    let report = probe_from_frontal(&lab);
    assert_eq!(report.macs(), vec![mac(&lab.node02)]);
}

#[test]
#[ignore = "needs root + netns (cargo xtask test)"]
fn netns_unsolicited_na_moves_frontal_ipv6_entry() {
    require_root("IPv6 failover");
    let lan = Lan::new("na");
    let frontal = lan.add_host("fr", &["2001:db8::80/64"]);
    let node01 = lan.add_host("n1", &["2001:db8::81/64"]);
    let node02 = lan.add_host("n2", &["2001:db8::82/64"]);
    let vip6: Ipv6Addr = "2001:db8::83".parse().unwrap();
    let dvip = DirectorVip::new(LAB_IFACE, IpAddr::V6(vip6), 64);
    dvip.add(&mut Rtnl::open(ns(&node01)).unwrap()).unwrap();
    frontal.run(&["ping", "-6", "-c", "1", "-W", "2", "2001:db8::83"]);
    assert_eq!(neigh_mac(&frontal, "2001:db8::83"), Some(mac(&node01)));
    dvip.remove(&mut Rtnl::open(ns(&node01)).unwrap()).unwrap();
    dvip.add(&mut Rtnl::open(ns(&node02)).unwrap()).unwrap();
    let mut announcer = Announcer::new(AnnouncerConfig::new(mac(&node02)));
    let socket = PacketSocket::open_sender(ns(&node02), LAB_IFACE).unwrap();
    let start = Instant::now();
    announcer.announce_with(IpAddr::V6(vip6), 1, Duration::ZERO, None, start);
    assert_eq!(drive_until(&mut announcer, &socket, start).unwrap(), 1);
    let mut ok = false;
    while start.elapsed() < Duration::from_millis(500) {
        if neigh_mac(&frontal, "2001:db8::83") == Some(mac(&node02)) {
            ok = true;
            break;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(ok, "{}", frontal.run(&["ip", "-6", "neigh"]));
}

#[test]
#[ignore = "needs root + netns (cargo xtask test)"]
fn netns_ipv6_vip_on_lo_gets_no_neighbour_advertisement() {
    require_root("IPv6 on lo");
    let lan = Lan::new("v6lo");
    let frontal = lan.add_host("fr", &["2001:db8::80/64"]);
    let www1 = lan.add_host("w1", &["2001:db8::85/64"]);
    let vip6: IpAddr = "2001:db8::83".parse().unwrap();
    let mut rtnl = Rtnl::open(ns(&www1)).unwrap();
    BackendVip::on_lo(vip6).install(&mut rtnl).unwrap();
    // Default sysctls, no nft: Linux answers NS only for addresses on the
    // interface the solicitation arrived on, so a VIP on lo stays silent.
    let out = frontal.try_run(&["ping", "-6", "-c", "1", "-W", "2", "2001:db8::83"]);
    assert!(!out.status.success());
    assert_eq!(neigh_mac(&frontal, "2001:db8::83"), None);
    // The backend itself does hold it: it is reachable once routed to it.
    frontal.run(&[
        "ip",
        "-6",
        "route",
        "add",
        "2001:db8::83/128",
        "via",
        "2001:db8::85",
    ]);
    frontal.run(&["ping", "-6", "-c", "1", "-W", "2", "2001:db8::83"]);
    let verdict = verify_backend(&BackendCheck::new(
        ns(&www1),
        LAB_IFACE,
        BackendVip::on_lo(vip6),
        SuppressionMode::Sysctl,
    ))
    .unwrap();
    assert!(verdict.is_ok(), "{:?}", verdict.problems());
}

#[test]
#[ignore = "needs root + netns (cargo xtask test)"]
fn netns_ghost_audit_catches_a_dhcp_address_and_a_duplicate_vip() {
    require_root("ghost audit");
    let lan = Lan::new("gh");
    let node01 = lan.add_host("n1", &["172.20.0.81/24"]);
    let mut rtnl = Rtnl::open(ns(&node01)).unwrap();
    director_vip().add(&mut rtnl).unwrap();
    let spec = GhostAuditSpec::new(
        LAB_IFACE,
        vec![(IpAddr::V4(NODE01), 24), (IpAddr::V4(VIP), 24)],
        vec![IpAddr::V4(VIP)],
    );
    assert_eq!(audit_ghosts(&mut rtnl, &spec).unwrap(), vec![]);

    // Seed §7/§12: the DHCP client's address beside the VIP, and a stale
    // copy of the VIP on lo from a backend-style setup.
    node01.run(&[
        "ip",
        "addr",
        "add",
        "172.20.0.97/24",
        "dev",
        LAB_IFACE,
        "valid_lft",
        "300",
        "preferred_lft",
        "300",
    ]);
    node01.run(&["ip", "addr", "add", "172.20.0.83/32", "dev", "lo"]);
    node01.run(&["ip", "addr", "add", "172.20.0.99/24", "dev", LAB_IFACE]);
    let listed = rtnl.addresses(Some(LAB_IFACE)).unwrap();
    let vip = listed.iter().find(|a| a.addr == IpAddr::V4(VIP)).unwrap();
    assert_eq!(vip.label.as_deref(), Some("ens18:0"));
    assert!(vip.state.permanent && vip.state.secondary);

    let findings = audit_ghosts(&mut rtnl, &spec).unwrap();
    for f in &findings {
        eprintln!("{f}");
    }
    assert_eq!(findings.len(), 3, "{findings:#?}");
    let dynamic = findings
        .iter()
        .find(|f| matches!(f.kind, GhostKind::Dynamic { .. }))
        .unwrap();
    assert_eq!(dynamic.fix, "ip addr del 172.20.0.97/24 dev ens18");
    assert!(matches!(
        dynamic.kind,
        GhostKind::Dynamic { valid_lifetime: Some(t) } if t <= Duration::from_secs(300) && t > Duration::from_secs(200)
    ));
    let dup = findings
        .iter()
        .find(|f| matches!(f.kind, GhostKind::DuplicateVip { .. }))
        .unwrap();
    assert_eq!(dup.fix, "ip addr del 172.20.0.83/32 dev lo");
    let unexpected = findings
        .iter()
        .find(|f| f.kind == GhostKind::Unexpected)
        .unwrap();
    assert_eq!(unexpected.fix, "ip addr del 172.20.0.99/24 dev ens18");
    // Each fix, run as given, clears its finding.
    for f in &findings {
        let argv: Vec<&str> = f.fix.split_whitespace().collect();
        node01.run(&argv);
    }
    assert_eq!(audit_ghosts(&mut rtnl, &spec).unwrap(), vec![]);
}
