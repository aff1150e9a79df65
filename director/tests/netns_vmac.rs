//! keepalived's `use_vmac` end to end: two embedded directors (typed
//! config, VRRP only) and a FRONTAL host on one bridge, VI_1 (VRID 7) on a
//! macvlan `vm.7` with the virtual MAC 00:00:5e:00:01:07.
//!
//! - Both directors make the macvlan (private mode, up, the sysctls
//!   keepalived sets); NODE01 (priority 100) is Master with the VIP on it,
//!   NODE02 (90) stays Backup — it hears NODE01's adverts on its own
//!   macvlan, whose MAC they come from.
//! - FRONTAL pings the VIP: its neighbour entry holds the virtual MAC.
//! - NODE01's director stops: its macvlan goes and its base interface's
//!   `arp_ignore` / `arp_filter` are put back. NODE02 takes the VIP, and
//!   FRONTAL reaches it through the same neighbour entry, unchanged — with
//!   every gratuitous ARP for the VIP dropped on FRONTAL (an nft `arp`
//!   table counts them), so nothing but the MAC staying put made it work.
//!
//! With `vmac_xmit_base`, the adverts leave from the base interface (its
//! MAC), while the VIP still answers with the virtual MAC.
//!
//! Run as root: `cargo test -p lvs-director --features tokio --test netns_vmac -- --ignored netns_`

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use lvs_director::{DirectorConfig, Vip, Vmac, VrrpInstance};
use lvs_testenv::{LAB_IFACE, Lan, Netns};
use lvs_vrrp::{AdvertInterval, Seconds};

mod common;
use common::{run_director, wait};

const VIP: &str = "172.20.0.83";

fn addr(s: &str) -> IpAddr {
    s.parse().expect("address")
}

fn has_vip(ns: &Netns, iface: &str) -> bool {
    let out = ns.try_run(&["ip", "-4", "addr", "show", "dev", iface]);
    String::from_utf8_lossy(&out.stdout).contains(&format!("inet {VIP}/24"))
}

fn holds_vip_anywhere(ns: &Netns) -> bool {
    ns.run(&["ip", "-4", "addr"])
        .contains(&format!("inet {VIP}/"))
}

fn config(priority: u8, vrid: u8, vmac: Vmac) -> DirectorConfig {
    let mut router = lvs_vrrp::Config::new(
        vrid,
        priority,
        AdvertInterval::V2(Seconds(1)),
        addr("0.0.0.0"),
        vec![addr(VIP)],
    );
    router.start_as_master = priority == 100;
    let mut inst = VrrpInstance::new("VI_1", LAB_IFACE, router).with_vmac(vmac);
    inst.vips = vec![Vip::new(addr(VIP)).with_prefix(24)];
    DirectorConfig::new().with_instance(inst)
}

fn sysctl(ns: &Netns, iface: &str, key: &str) -> String {
    ns.run(&["cat", &format!("/proc/sys/net/ipv4/conf/{iface}/{key}")])
        .trim()
        .to_string()
}

/// FRONTAL's neighbour entry for the VIP: its `lladdr`, if any.
fn neighbour(ns: &Netns) -> Option<String> {
    let out = ns.run(&["ip", "neigh", "show", VIP, "dev", LAB_IFACE]);
    let mut words = out.split_whitespace();
    words.find(|w| *w == "lladdr")?;
    words.next().map(str::to_string)
}

fn ping(ns: &Netns) -> bool {
    ns.try_run(&["ping", "-c", "3", "-i", "0.2", "-W", "1", VIP])
        .status
        .success()
}

/// Source MACs of the next `n` VRRP adverts FRONTAL sees (tcpdump -e).
fn advert_sources(ns: &Netns, n: usize) -> Vec<String> {
    let count = n.to_string();
    let out = ns.try_run(&[
        "timeout", "6", "tcpdump", "-i", LAB_IFACE, "-e", "-n", "-l", "-c", &count, "ip", "proto",
        "112",
    ]);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1).map(str::to_string))
        .collect()
}

/// Drops (and counts) every gratuitous ARP for the VIP arriving on FRONTAL:
/// sender and target address both the VIP.
fn drop_gratuitous_arp(ns: &Netns) {
    let rules = format!(
        "table arp vmgarp {{\n chain input {{\n  type filter hook input priority 0; policy accept;\n  \
         arp saddr ip {VIP} arp daddr ip {VIP} counter drop\n }}\n}}\n"
    );
    let path = std::env::temp_dir().join(format!("vmgarp-{}.nft", std::process::id()));
    std::fs::write(&path, rules).expect("nft rules");
    ns.run(&["nft", "-f", path.to_str().expect("path")]);
    let _ = std::fs::remove_file(&path);
}

fn dropped_gratuitous_arps(ns: &Netns) -> u64 {
    let out = ns.run(&["nft", "list", "table", "arp", "vmgarp"]);
    let mut words = out.split_whitespace();
    words.find(|w| *w == "packets");
    words.next().and_then(|n| n.parse().ok()).unwrap_or(0)
}

const VMAC: &str = "00:00:5e:00:01:07";

#[test]
#[ignore = "needs root + netns (cargo xtask test)"]
fn netns_vmac_keeps_the_vip_mac_across_a_failover() {
    lvs_testenv::require_root("netns_vmac_keeps_the_vip_mac_across_a_failover");
    for p in ["ip", "ping", "nft", "tcpdump", "timeout"] {
        lvs_testenv::require_program(p);
    }
    let lan = Lan::new("vm");
    let n1: Arc<Netns> = lan.add_host("vm1", &["172.20.0.81/24"]);
    let n2: Arc<Netns> = lan.add_host("vm2", &["172.20.0.82/24"]);
    let frontal: Arc<Netns> = lan.add_host("vmf", &["172.20.0.90/24"]);
    drop_gratuitous_arp(&frontal);
    // IGMP reports on the segment while the directors start and join.
    let igmp_log = std::env::temp_dir().join(format!("vm-igmp-{}.log", std::process::id()));
    frontal.spawn_logged(
        &[
            "timeout", "8", "tcpdump", "-i", LAB_IFACE, "-e", "-n", "-l", "igmp",
        ],
        &igmp_log,
    );
    std::thread::sleep(Duration::from_millis(500));
    let (stop1, stop2) = (AtomicBool::new(false), AtomicBool::new(false));
    let vmac = || Vmac::new("vm.7");

    std::thread::scope(|s| {
        s.spawn(|| run_director(&n1, config(100, 7, vmac()), &stop1));
        s.spawn(|| run_director(&n2, config(90, 7, vmac()), &stop2));
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            wait(
                "NODE01 holds the VIP on vm.7",
                Duration::from_secs(5),
                || has_vip(&n1, "vm.7"),
            );
            for (who, ns) in [("NODE01", &n1), ("NODE02", &n2)] {
                let link = ns.run(&["ip", "-d", "link", "show", "vm.7"]);
                assert!(
                    link.contains(&format!("link/ether {VMAC}")),
                    "{who}: {link}"
                );
                assert!(link.contains("macvlan mode private"), "{who}: {link}");
                assert!(
                    link.contains("state UP") || link.contains(",UP"),
                    "{who}: {link}"
                );
                assert_eq!(sysctl(ns, "vm.7", "arp_ignore"), "1", "{who}");
                assert_eq!(sysctl(ns, "vm.7", "rp_filter"), "0", "{who}");
                assert_eq!(sysctl(ns, "vm.7", "accept_local"), "1", "{who}");
                assert_eq!(sysctl(ns, LAB_IFACE, "arp_ignore"), "1", "{who}");
                assert_eq!(sysctl(ns, LAB_IFACE, "arp_filter"), "1", "{who}");
                assert_eq!(sysctl(ns, LAB_IFACE, "arp_announce"), "2", "{who}");
            }
            // NODE02 hears NODE01 on its own macvlan: no split brain.
            std::thread::sleep(Duration::from_secs(4));
            assert!(!holds_vip_anywhere(&n2), "NODE02 must stay Backup");
            assert!(has_vip(&n1, "vm.7") && !has_vip(&n1, LAB_IFACE));
            // Adverts leave from the macvlan.
            let sources = advert_sources(&frontal, 2);
            assert!(
                !sources.is_empty() && sources.iter().all(|m| m == VMAC),
                "advert source MACs {sources:?}"
            );

            // Membership reports left by the base interfaces, never with the
            // virtual MAC (a Backup's would pull the VIP's traffic to it).
            wait("IGMP capture done", Duration::from_secs(10), || {
                std::fs::read_to_string(&igmp_log).is_ok_and(|l| l.contains("packets captured"))
            });
            let igmp = std::fs::read_to_string(&igmp_log).unwrap_or_default();
            let reports: Vec<&str> = igmp.lines().filter(|l| l.contains("igmp")).collect();
            let from_base = |l: &&str| {
                [n1.mac(LAB_IFACE), n2.mac(LAB_IFACE)]
                    .iter()
                    .any(|b| l.contains(&format!(" {b} >")))
            };
            assert!(
                reports.iter().any(from_base),
                "no report from a base: {igmp}"
            );
            assert!(
                !reports.iter().any(|l| l.contains(&format!(" {VMAC} >"))),
                "a report with the virtual MAC: {igmp}"
            );

            assert!(ping(&frontal), "FRONTAL reaches the VIP on NODE01");
            let before = neighbour(&frontal);
            assert_eq!(before.as_deref(), Some(VMAC), "FRONTAL's entry for the VIP");

            stop1.store(true, Ordering::Relaxed);
            let took = wait(
                "NODE02 holds the VIP on vm.7",
                Duration::from_secs(5),
                || has_vip(&n2, "vm.7"),
            );
            eprintln!("vmac failover: NODE02 holds the VIP {took:?} after NODE01 stopped");
            wait("NODE01's macvlan removed", Duration::from_secs(5), || {
                !n1.try_run(&["ip", "link", "show", "vm.7"]).status.success()
            });
            assert_eq!(sysctl(&n1, LAB_IFACE, "arp_ignore"), "0", "restored");
            assert_eq!(sysctl(&n1, LAB_IFACE, "arp_filter"), "0", "restored");
            assert_eq!(sysctl(&n1, LAB_IFACE, "arp_announce"), "0", "restored");
            assert!(!holds_vip_anywhere(&n1), "NODE01 holds nothing");

            assert!(ping(&frontal), "FRONTAL reaches the VIP on NODE02");
            assert_eq!(
                neighbour(&frontal),
                before,
                "FRONTAL's entry for the VIP did not change"
            );
            // Gratuitous ARPs were sent, and none of them got through.
            let dropped = dropped_gratuitous_arps(&frontal);
            assert!(dropped > 0, "no gratuitous ARP seen at all");
            eprintln!("vmac failover: {dropped} gratuitous ARPs dropped on FRONTAL");
        }));
        stop1.store(true, Ordering::Relaxed);
        stop2.store(true, Ordering::Relaxed);
        if let Err(p) = result {
            std::panic::resume_unwind(p);
        }
    });
    assert!(
        !n2.try_run(&["ip", "link", "show", "vm.7"]).status.success(),
        "NODE02's macvlan removed at stop"
    );
}

#[test]
#[ignore = "needs root + netns (cargo xtask test)"]
fn netns_vmac_xmit_base_sends_adverts_from_the_base_interface() {
    lvs_testenv::require_root("netns_vmac_xmit_base_sends_adverts_from_the_base_interface");
    for p in ["ip", "ping", "tcpdump", "timeout"] {
        lvs_testenv::require_program(p);
    }
    let lan = Lan::new("vmx");
    let n1: Arc<Netns> = lan.add_host("vmx1", &["172.20.0.81/24"]);
    let n2: Arc<Netns> = lan.add_host("vmx2", &["172.20.0.82/24"]);
    let frontal: Arc<Netns> = lan.add_host("vmxf", &["172.20.0.90/24"]);
    let stop = AtomicBool::new(false);
    let vmac = || Vmac::new("vm.8").with_xmit_base(true);

    std::thread::scope(|s| {
        s.spawn(|| run_director(&n1, config(100, 8, vmac()), &stop));
        s.spawn(|| run_director(&n2, config(90, 8, vmac()), &stop));
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            wait(
                "NODE01 holds the VIP on vm.8",
                Duration::from_secs(5),
                || has_vip(&n1, "vm.8"),
            );
            std::thread::sleep(Duration::from_secs(4));
            assert!(!holds_vip_anywhere(&n2), "NODE02 must stay Backup");
            let base = n1.mac(LAB_IFACE);
            let sources = advert_sources(&frontal, 2);
            assert!(
                !sources.is_empty() && sources.iter().all(|m| *m == base),
                "advert source MACs {sources:?}, NODE01's {LAB_IFACE} is {base}"
            );
            assert!(ping(&frontal), "FRONTAL reaches the VIP");
            assert_eq!(neighbour(&frontal).as_deref(), Some("00:00:5e:00:01:08"));
        }));
        stop.store(true, Ordering::Relaxed);
        if let Err(p) = result {
            std::panic::resume_unwind(p);
        }
    });
}

const VIP6: &str = "fd00:20::83";

fn config6(priority: u8) -> DirectorConfig {
    let mut router = lvs_vrrp::Config::new(
        9,
        priority,
        AdvertInterval::V3(Seconds(1).to_centiseconds()),
        addr("::"),
        vec![addr(VIP6)],
    );
    router.start_as_master = priority == 100;
    let mut inst = VrrpInstance::new("VI_6", LAB_IFACE, router).with_vmac(Vmac::new("vm.9"));
    inst.vips = vec![Vip::new(addr(VIP6)).with_prefix(64)];
    DirectorConfig::new().with_instance(inst)
}

fn has_vip6(ns: &Netns, iface: &str) -> bool {
    let out = ns.try_run(&["ip", "-6", "addr", "show", "dev", iface]);
    String::from_utf8_lossy(&out.stdout).contains(&format!("inet6 {VIP6}/64"))
}

#[test]
#[ignore = "needs root + netns (cargo xtask test)"]
fn netns_vmac_ipv6_answers_with_the_ipv6_virtual_mac_across_a_failover() {
    lvs_testenv::require_root(
        "netns_vmac_ipv6_answers_with_the_ipv6_virtual_mac_across_a_failover",
    );
    for p in ["ip", "ping", "tcpdump", "timeout"] {
        lvs_testenv::require_program(p);
    }
    let lan = Lan::new("vm6");
    let n1: Arc<Netns> = lan.add_host("vm61", &["fd00:20::81/64"]);
    let n2: Arc<Netns> = lan.add_host("vm62", &["fd00:20::82/64"]);
    let frontal: Arc<Netns> = lan.add_host("vm6f", &["fd00:20::90/64"]);
    // The link-local addresses the adverts leave from finish DAD first.
    std::thread::sleep(Duration::from_secs(3));
    let (stop1, stop2) = (AtomicBool::new(false), AtomicBool::new(false));
    const VMAC6: &str = "00:00:5e:00:02:09";

    std::thread::scope(|s| {
        s.spawn(|| run_director(&n1, config6(100), &stop1));
        s.spawn(|| run_director(&n2, config6(90), &stop2));
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            wait(
                "NODE01 holds the VIP on vm.9",
                Duration::from_secs(8),
                || has_vip6(&n1, "vm.9"),
            );
            let link = n2.run(&["ip", "-d", "link", "show", "vm.9"]);
            assert!(link.contains(&format!("link/ether {VMAC6}")), "{link}");
            assert!(link.contains("addrgenmode none"), "{link}");
            std::thread::sleep(Duration::from_secs(4));
            assert!(!has_vip6(&n2, "vm.9"), "NODE02 must stay Backup");
            let sources = advert_sources_v6(&frontal);
            assert!(
                !sources.is_empty() && sources.iter().all(|m| m == VMAC6),
                "advert source MACs {sources:?}"
            );
            let ping6 = || {
                frontal
                    .try_run(&["ping", "-6", "-c", "3", "-i", "0.2", "-W", "1", VIP6])
                    .status
                    .success()
            };
            let neigh = || {
                let out = frontal.run(&["ip", "-6", "neigh", "show", VIP6, "dev", LAB_IFACE]);
                let mut w = out.split_whitespace();
                w.find(|x| *x == "lladdr");
                w.next().map(str::to_string)
            };
            assert!(ping6(), "FRONTAL reaches the VIP on NODE01");
            assert_eq!(neigh().as_deref(), Some(VMAC6));
            stop1.store(true, Ordering::Relaxed);
            wait(
                "NODE02 holds the VIP on vm.9",
                Duration::from_secs(8),
                || has_vip6(&n2, "vm.9"),
            );
            assert!(ping6(), "FRONTAL reaches the VIP on NODE02");
            assert_eq!(neigh().as_deref(), Some(VMAC6));
        }));
        stop1.store(true, Ordering::Relaxed);
        stop2.store(true, Ordering::Relaxed);
        if let Err(p) = result {
            std::panic::resume_unwind(p);
        }
    });
}

/// Source MACs of the next two IPv6 VRRP adverts FRONTAL sees.
fn advert_sources_v6(ns: &Netns) -> Vec<String> {
    let out = ns.try_run(&[
        "timeout", "6", "tcpdump", "-i", LAB_IFACE, "-e", "-n", "-l", "-c", "2", "ip6", "and",
        "ip6[6]", "==", "112",
    ]);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().nth(1).map(str::to_string))
        .collect()
}
