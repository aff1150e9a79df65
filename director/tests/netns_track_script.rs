//! Two embedded directors (`lvs_director::run`, typed config, VRRP only)
//! on a bridge, both tracking a `vrrp_script` (`/bin/test -e FILE`, weight
//! −20, interval 1 s, fall 2, rise 2): NODE01 (priority 100) is Master,
//! NODE02 (90) Backup. Removing NODE01's file makes its script fail: 80 <
//! 90, so NODE02 must hold the VIP within interval × fall +
//! Master_Down_Interval + 0.5 s; putting the file back makes NODE01
//! preempt back within interval × rise + its Master_Down_Interval + 0.5 s.
//! Both times are measured and printed.
//!
//! Run as root: `cargo test -p lvs-director --features tokio --test netns_track_script -- --ignored netns_`

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use lvs_director::{DirectorConfig, Script, TrackScript, TrackedScript, Vip, VrrpInstance};
use lvs_testenv::{LAB_IFACE, Lan, Netns};
use lvs_vrrp::{AdvertInterval, Seconds};

mod common;
use common::{run_director, wait};

const INTERVAL: Duration = Duration::from_secs(1);
const FALL: u32 = 2;
const RISE: u32 = 2;

fn vip() -> IpAddr {
    "172.20.0.83".parse().expect("address")
}

fn has_vip(ns: &Netns) -> bool {
    ns.run(&["ip", "-4", "addr", "show", "dev", LAB_IFACE])
        .contains("inet 172.20.0.83/24")
}

fn config(priority: u8, master: bool, file: &Path) -> DirectorConfig {
    let mut router = lvs_vrrp::Config::new(
        1,
        priority,
        AdvertInterval::V2(Seconds(1)),
        "0.0.0.0".parse().expect("address"),
        vec![vip()],
    );
    router.start_as_master = master;
    let mut inst = VrrpInstance::new("VI_1", LAB_IFACE, router)
        .with_track_script(TrackedScript::new("chk_file"));
    inst.vips = vec![Vip::new(vip()).with_prefix(24)];
    let argv = ["/bin/test", "-e", file.to_str().expect("utf-8 path")];
    let script = TrackScript::new("chk_file", Script::new(argv).expect("argv"))
        .with_interval(INTERVAL)
        .with_fall(FALL)
        .with_rise(RISE)
        .with_weight(-20);
    DirectorConfig::new()
        .with_instance(inst)
        .with_track_script(script)
}

struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
#[ignore = "needs root + netns (cargo xtask test)"]
fn netns_track_script_failing_on_the_master_moves_the_vip_and_back() {
    lvs_testenv::require_root("netns_track_script_failing_on_the_master_moves_the_vip_and_back");
    lvs_testenv::require_program("ip");
    let dir = Scratch(std::env::temp_dir().join(lvs_testenv::unique_name("trk")));
    std::fs::create_dir_all(&dir.0).expect("scratch dir");
    let (file01, file02) = (dir.0.join("node01.ok"), dir.0.join("node02.ok"));
    std::fs::write(&file01, b"").expect("file");
    std::fs::write(&file02, b"").expect("file");

    let lan = Lan::new("trk");
    let n1: Arc<Netns> = lan.add_host("trk1", &["172.20.0.81/24"]);
    let n2: Arc<Netns> = lan.add_host("trk2", &["172.20.0.82/24"]);
    let stop = AtomicBool::new(false);
    let mdi = |p: u8| AdvertInterval::V2(Seconds(1)).master_down_interval(p);
    let slack = Duration::from_millis(500);

    std::thread::scope(|s| {
        s.spawn(|| run_director(&n1, config(100, true, &file01), &stop));
        s.spawn(|| run_director(&n2, config(90, false, &file02), &stop));
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            wait("NODE01 holds the VIP", Duration::from_secs(5), || {
                has_vip(&n1)
            });
            // Settled: NODE02 has heard NODE01 for a while.
            std::thread::sleep(Duration::from_secs(5));
            assert!(!has_vip(&n2), "NODE02 must not hold the VIP yet");

            std::fs::remove_file(&file01).expect("remove");
            let bound = INTERVAL * FALL + mdi(90) + slack;
            let took = wait("NODE02 takes the VIP", bound, || has_vip(&n2));
            eprintln!(
                "track script failover: NODE02 holds the VIP {took:?} after the file went \
                 (bound interval x fall + Master_Down_Interval + 0.5 s = {bound:?})"
            );
            wait("NODE01 releases the VIP", Duration::from_secs(2), || {
                !has_vip(&n1)
            });
            std::thread::sleep(Duration::from_secs(3));
            assert!(has_vip(&n2) && !has_vip(&n1), "NODE02 stays Master");

            std::fs::write(&file01, b"").expect("file");
            let bound = INTERVAL * RISE + mdi(100) + slack;
            let took = wait("NODE01 preempts back", bound, || {
                has_vip(&n1) && !has_vip(&n2)
            });
            eprintln!(
                "track script recovery: NODE01 holds the VIP again {took:?} after the file \
                 came back (bound interval x rise + Master_Down_Interval + 0.5 s = {bound:?})"
            );
        }));
        stop.store(true, Ordering::Relaxed);
        if let Err(p) = result {
            std::panic::resume_unwind(p);
        }
    });
    assert!(
        !has_vip(&n1) && !has_vip(&n2),
        "the VIP goes with the directors"
    );
}
