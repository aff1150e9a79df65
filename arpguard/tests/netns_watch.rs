//! The guard puts back a VIP and sysctls someone removed.
//! Needs root: `cargo test -p lvs-arpguard -- --ignored netns_`.

use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use lvs_arpguard::sysctl::{ArpSysctls, SysctlScope};
use lvs_arpguard::watch::{BackendGuard, Repair, Watcher};
use lvs_arpguard::{BackendVip, Namespace};
use lvs_testenv::{LAB_IFACE, Lan, require_root};

#[test]
#[ignore = "needs root + netns (cargo xtask test)"]
fn netns_guard_restores_a_deleted_vip_and_a_lowered_sysctl() {
    require_root("the suppression guard");
    let lan = Lan::new("wa");
    let www1 = lan.add_host("w1", &["172.20.0.85/24"]);
    let ns = Namespace::from_file(www1.file());
    let vip = BackendVip::on_lo(IpAddr::V4(Ipv4Addr::new(172, 20, 0, 83)));
    let mut guard =
        BackendGuard::install(ns.clone(), vip, &[LAB_IFACE], SysctlScope::Interfaces).unwrap();
    let mut watcher = Watcher::open(&ns).unwrap();
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
            let sysctl_back = ArpSysctls::read(&ns, LAB_IFACE).unwrap().suppresses();
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
    let s = ArpSysctls::read(&ns, LAB_IFACE).unwrap();
    assert_eq!(
        (s.iface_values.arp_ignore, s.iface_values.arp_announce),
        (0, 0)
    );
    assert!(!www1.run(&["ip", "addr"]).contains("172.20.0.83"));
}
