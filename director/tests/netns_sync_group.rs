//! Two embedded directors (`lvs_director::run`, typed config, VRRP only),
//! each with two interfaces: `ens18` on a bridge and `ens19` on a veth
//! between the nodes, one VRRP instance on each, both in one sync group.
//! NODE01 (priority 100) is Master of both, NODE02 (90) Backup. NODE01's
//! `ens18` going down faults VI_1, and VI_2 (its link up) follows: NODE02
//! must hold both VIPs within Master_Down_Interval + 0.5 s and NODE01
//! neither; the link back up makes NODE01 preempt both back. Times printed.
//!
//! Run as root: `cargo test -p lvs-director --features tokio --test netns_sync_group -- --ignored netns_`

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use lvs_director::{DirectorConfig, SyncGroup, Vip, VrrpInstance};
use lvs_testenv::{LAB_IFACE, Lan, Netns};
use lvs_vrrp::{AdvertInterval, Seconds};

mod common;
use common::{run_director, wait};

const SECOND: &str = "ens19";

fn addr(s: &str) -> IpAddr {
    s.parse().expect("address")
}

fn has(ns: &Netns, iface: &str, cidr: &str) -> bool {
    ns.run(&["ip", "-4", "addr", "show", "dev", iface])
        .contains(&format!("inet {cidr}"))
}

/// (holds VI_1's VIP, holds VI_2's VIP).
fn vips(ns: &Netns) -> (bool, bool) {
    (
        has(ns, LAB_IFACE, "172.20.0.83/24"),
        has(ns, SECOND, "172.20.1.83/24"),
    )
}

fn instance(name: &str, iface: &str, vrid: u8, vip: &str, priority: u8) -> VrrpInstance {
    let mut router = lvs_vrrp::Config::new(
        vrid,
        priority,
        AdvertInterval::V2(Seconds(1)),
        addr("0.0.0.0"),
        vec![addr(vip)],
    );
    router.start_as_master = priority == 100;
    let mut inst = VrrpInstance::new(name, iface, router);
    inst.vips = vec![Vip::new(addr(vip)).with_prefix(24)];
    inst
}

fn config(priority: u8) -> DirectorConfig {
    DirectorConfig::new()
        .with_instance(instance("VI_1", LAB_IFACE, 1, "172.20.0.83", priority))
        .with_instance(instance("VI_2", SECOND, 2, "172.20.1.83", priority))
        .with_sync_group(SyncGroup::new("VG_1", &["VI_1", "VI_2"]))
}

#[test]
#[ignore = "needs root + netns (cargo xtask test)"]
fn netns_sync_group_moves_both_instances_when_one_link_fails() {
    lvs_testenv::require_root("netns_sync_group_moves_both_instances_when_one_link_fails");
    lvs_testenv::require_program("ip");
    let lan = Lan::new("sgr");
    let n1: Arc<Netns> = lan.add_host("sgr1", &["172.20.0.81/24"]);
    let n2: Arc<Netns> = lan.add_host("sgr2", &["172.20.0.82/24"]);
    // The second segment: a veth straight between the nodes.
    n1.run(&[
        "ip",
        "link",
        "add",
        SECOND,
        "type",
        "veth",
        "peer",
        "name",
        SECOND,
        "netns",
        n2.name(),
    ]);
    n1.run(&["ip", "addr", "add", "172.20.1.81/24", "dev", SECOND]);
    n2.run(&["ip", "addr", "add", "172.20.1.82/24", "dev", SECOND]);
    n1.run(&["ip", "link", "set", SECOND, "up"]);
    n2.run(&["ip", "link", "set", SECOND, "up"]);
    let stop = AtomicBool::new(false);
    let mdi = |p: u8| AdvertInterval::V2(Seconds(1)).master_down_interval(p);
    let slack = Duration::from_millis(500);

    std::thread::scope(|s| {
        s.spawn(|| run_director(&n1, config(100), &stop));
        s.spawn(|| run_director(&n2, config(90), &stop));
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            wait("NODE01 holds both VIPs", Duration::from_secs(5), || {
                vips(&n1) == (true, true)
            });
            std::thread::sleep(Duration::from_secs(4));
            assert_eq!(vips(&n2), (false, false), "NODE02 holds nothing yet");

            lan.set_link(&n1, false);
            let bound = mdi(90) + slack;
            let took = wait("NODE02 takes both VIPs", bound, || {
                vips(&n2) == (true, true)
            });
            eprintln!(
                "sync group failover: NODE02 holds both VIPs {took:?} after NODE01's ens18 \
                 went down (bound Master_Down_Interval + 0.5 s = {bound:?})"
            );
            // VI_2's link stayed up, yet NODE01 released its VIP too.
            assert_eq!(vips(&n1), (false, false), "NODE01 holds neither");
            std::thread::sleep(Duration::from_secs(3));
            assert_eq!(vips(&n2), (true, true), "NODE02 stays Master of both");
            assert_eq!(vips(&n1), (false, false));

            lan.set_link(&n1, true);
            let bound = mdi(100) + slack;
            let took = wait("NODE01 preempts both back", bound, || {
                vips(&n1) == (true, true) && vips(&n2) == (false, false)
            });
            eprintln!(
                "sync group recovery: NODE01 holds both VIPs again {took:?} after the link \
                 came back (bound Master_Down_Interval + 0.5 s = {bound:?})"
            );
        }));
        stop.store(true, Ordering::Relaxed);
        if let Err(p) = result {
            std::panic::resume_unwind(p);
        }
    });
}
