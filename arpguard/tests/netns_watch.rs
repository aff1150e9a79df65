//! The guard puts back a VIP and sysctls someone removed.
//! Needs root: `cargo test -p lvs-arpguard -- --ignored netns_`.

use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use lvs_arpguard::sysctl::{ArpSysctls, SysctlScope};
use lvs_arpguard::watch::{BackendGuard, Repair, WatchEvent, Watcher};
use lvs_arpguard::{BackendVip, Change, Rtnl};
use lvs_testenv::{LAB_IFACE, Lan, Netns, require_root};

#[test]
#[ignore = "needs root + netns (cargo xtask test)"]
fn netns_guard_restores_a_deleted_vip_and_a_lowered_sysctl() {
    require_root("the suppression guard");
    let lan = Lan::new("wa");
    let www1 = lan.add_host("w1", &["172.20.0.85/24"]);
    let ns = Some(www1.as_fd());
    let vip = BackendVip::on_lo(IpAddr::V4(Ipv4Addr::new(172, 20, 0, 83)));
    let mut guard = BackendGuard::install(ns, vip, &[LAB_IFACE], SysctlScope::Interfaces).unwrap();
    let mut watcher = Watcher::open(ns).unwrap();
    let stop = AtomicBool::new(false);
    let repairs = std::thread::scope(|s| {
        let worker = s.spawn(|| {
            guard
                .watch(&mut watcher, Duration::from_millis(200), &stop)
                .unwrap()
        });
        std::thread::sleep(Duration::from_millis(300));
        www1.run(&["ip", "addr", "del", "172.20.0.83/32", "dev", "lo"]);
        www1.run(&["sysctl", "-qw", "net.ipv4.conf.ens18.arp_ignore=0"]);
        let start = Instant::now();
        let mut healed = false;
        while start.elapsed() < Duration::from_secs(2) {
            let vip_back = www1
                .run(&["ip", "-br", "addr", "show", "dev", "lo"])
                .contains("172.20.0.83/32");
            let sysctl_back = ArpSysctls::read(ns, LAB_IFACE).unwrap().suppresses();
            if vip_back && sysctl_back {
                healed = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        stop.store(true, Ordering::Relaxed);
        let repairs = worker.join().unwrap();
        assert!(healed, "not repaired within 2 s: {repairs:?}");
        repairs
    });
    assert!(repairs.contains(&Repair::VipRestored), "{repairs:?}");
    assert!(
        repairs
            .iter()
            .any(|r| matches!(r, Repair::Sysctl(c) if c.path.ends_with("ens18/arp_ignore") && c.previous == 0)),
        "{repairs:?}"
    );
    guard.undo().unwrap();
    let s = ArpSysctls::read(ns, LAB_IFACE).unwrap();
    assert_eq!(
        (s.iface_values.arp_ignore, s.iface_values.arp_announce),
        (0, 0)
    );
    assert!(!www1.run(&["ip", "addr"]).contains("172.20.0.83"));
}

/// Waits up to 2 s for a link event on `iface` with carrier `want`.
fn wait_carrier(watcher: &mut Watcher, iface: &str, want: bool) -> Vec<WatchEvent> {
    let deadline = Instant::now() + Duration::from_secs(2);
    let mut seen = Vec::new();
    while Instant::now() < deadline {
        for e in watcher.wait(Duration::from_millis(100)).unwrap() {
            let hit = matches!(&e, WatchEvent::Link { name: Some(n), carrier: Some(c), removed: false, .. }
                if n == iface && *c == want);
            seen.push(e);
            if hit {
                return seen;
            }
        }
    }
    panic!("no link event with carrier {want} on {iface} within 2 s: {seen:?}");
}

#[test]
#[ignore = "needs root + netns (cargo xtask test)"]
fn netns_link_carrier_follows_the_veth_peer() {
    require_root("the link watch");
    let here = Netns::new("ca");
    let there = Netns::new("cb");
    here.run(&[
        "ip",
        "link",
        "add",
        "va",
        "type",
        "veth",
        "peer",
        "name",
        "vb",
        "netns",
        there.name(),
    ]);
    here.run(&["ip", "link", "set", "va", "up"]);
    there.run(&["ip", "link", "set", "vb", "up"]);
    let ns = Some(here.as_fd());
    let mut rtnl = Rtnl::open(ns).unwrap();
    let deadline = Instant::now() + Duration::from_secs(2);
    while !rtnl.link("va").unwrap().carrier {
        assert!(
            Instant::now() < deadline,
            "va never got carrier with its peer up"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut watcher = Watcher::open(ns).unwrap();

    // The peer goes down: this end stays administratively up, loses carrier.
    let mut peer = Rtnl::open(Some(there.as_fd())).unwrap();
    assert_eq!(peer.set_down("vb").unwrap(), Change::Applied);
    assert_eq!(peer.set_down("vb").unwrap(), Change::Unchanged);
    wait_carrier(&mut watcher, "va", false);
    let va = rtnl.link("va").unwrap();
    assert!(va.up && !va.carrier, "{va:?}");

    assert_eq!(peer.set_up("vb").unwrap(), Change::Applied);
    wait_carrier(&mut watcher, "va", true);
    let va = rtnl.link("va").unwrap();
    assert!(va.up && va.carrier, "{va:?}");
}
