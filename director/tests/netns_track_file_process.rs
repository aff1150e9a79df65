//! Two embedded directors (`lvs_director::run`, typed config, VRRP only)
//! on a bridge: NODE01 (priority 100) Master, NODE02 (90) Backup.
//!
//! - track_file (weight −10): writing 2 to NODE01's file makes it 80 < 90,
//!   so NODE02 must hold the VIP within Master_Down_Interval(90) + 0.5 s;
//!   writing 0 makes NODE01 preempt back within Master_Down_Interval(100)
//!   plus 0.5 s (the file is watched with inotify: no poll period).
//! - track_process (weight −20, `/bin/sleep UNIQUE`): killing NODE01's
//!   process makes it 80, so NODE02 must hold the VIP within one /proc
//!   scan (500 ms) + Master_Down_Interval(90) + 0.5 s; starting it again
//!   makes NODE01 preempt back within one scan plus
//!   Master_Down_Interval(100) plus 0.5 s. (Both namespaces share one
//!   /proc: each node's process is told apart by its parameter.)
//!
//! Run as root: `cargo test -p lvs-director --features tokio --test netns_track_file_process -- --ignored netns_`

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use lvs_director::{
    DirectorConfig, ProcessMatch, TrackFile, TrackProcess, TrackedFile, TrackedProcess, Vip,
    VrrpInstance,
};
use lvs_testenv::{LAB_IFACE, Lan, Netns};
use lvs_vrrp::{AdvertInterval, Seconds};

mod common;
use common::{run_director, wait};

/// The driver's /proc scan period (`driver/tracking.rs`).
const SCAN: Duration = Duration::from_millis(500);
const SLACK: Duration = Duration::from_millis(500);

fn vip() -> IpAddr {
    "172.20.0.83".parse().expect("address")
}

fn has_vip(ns: &Netns) -> bool {
    ns.run(&["ip", "-4", "addr", "show", "dev", LAB_IFACE])
        .contains("inet 172.20.0.83/24")
}

fn mdi(p: u8) -> Duration {
    AdvertInterval::V2(Seconds(1)).master_down_interval(p)
}

fn instance(priority: u8, master: bool) -> VrrpInstance {
    let mut router = lvs_vrrp::Config::new(
        1,
        priority,
        AdvertInterval::V2(Seconds(1)),
        "0.0.0.0".parse().expect("address"),
        vec![vip()],
    );
    router.start_as_master = master;
    let mut inst = VrrpInstance::new("VI_1", LAB_IFACE, router);
    inst.vips = vec![Vip::new(vip()).with_prefix(24)];
    inst
}

fn file_config(priority: u8, master: bool, file: &Path) -> DirectorConfig {
    let inst = instance(priority, master).with_track_file(TrackedFile::new("prio"));
    DirectorConfig::new()
        .with_instance(inst)
        .with_track_file(TrackFile::new("prio", file).with_weight(-10))
}

fn process_config(priority: u8, master: bool, param: &str) -> DirectorConfig {
    let inst = instance(priority, master).with_track_process(TrackedProcess::new("sleeper"));
    let m = ProcessMatch::new("/bin/sleep").with_params([param]);
    DirectorConfig::new()
        .with_instance(inst)
        .with_track_process(TrackProcess::new("sleeper", m).with_weight(-20))
}

struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// Runs both directors, then `scenario`; stops them and checks the VIP went.
fn with_pair(lan_name: &str, configs: [DirectorConfig; 2], scenario: impl FnOnce(&Netns, &Netns)) {
    let lan = Lan::new(lan_name);
    let n1: Arc<Netns> = lan.add_host(&format!("{lan_name}1"), &["172.20.0.81/24"]);
    let n2: Arc<Netns> = lan.add_host(&format!("{lan_name}2"), &["172.20.0.82/24"]);
    let stop = AtomicBool::new(false);
    let [c1, c2] = configs;
    std::thread::scope(|s| {
        s.spawn(|| run_director(&n1, c1, &stop));
        s.spawn(|| run_director(&n2, c2, &stop));
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            wait("NODE01 holds the VIP", Duration::from_secs(5), || {
                has_vip(&n1)
            });
            // Settled: NODE02 has heard NODE01 for a while.
            std::thread::sleep(Duration::from_secs(4));
            assert!(!has_vip(&n2), "NODE02 must not hold the VIP yet");
            scenario(&n1, &n2);
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

#[test]
#[ignore = "needs root + netns (cargo xtask test)"]
fn netns_track_file_value_on_the_master_moves_the_vip_and_back() {
    lvs_testenv::require_root("netns_track_file_value_on_the_master_moves_the_vip_and_back");
    lvs_testenv::require_program("ip");
    let dir = Scratch(std::env::temp_dir().join(lvs_testenv::unique_name("tkf")));
    std::fs::create_dir_all(&dir.0).expect("scratch dir");
    let (file01, file02) = (dir.0.join("node01"), dir.0.join("node02"));
    std::fs::write(&file01, b"0\n").expect("file");
    // NODE02's file is missing: it reads 0.
    with_pair(
        "tkf",
        [
            file_config(100, true, &file01),
            file_config(90, false, &file02),
        ],
        |n1, n2| {
            std::fs::write(&file01, b"2\n").expect("write");
            let bound = mdi(90) + SLACK;
            let took = wait("NODE02 takes the VIP", bound, || has_vip(n2));
            eprintln!(
                "track file failover: NODE02 holds the VIP {took:?} after writing 2 \
                 (bound Master_Down_Interval + 0.5 s = {bound:?})"
            );
            wait("NODE01 releases the VIP", Duration::from_secs(2), || {
                !has_vip(n1)
            });
            std::thread::sleep(Duration::from_secs(3));
            assert!(has_vip(n2) && !has_vip(n1), "NODE02 stays Master");

            std::fs::write(&file01, b"0\n").expect("write");
            let bound = mdi(100) + SLACK;
            let took = wait("NODE01 preempts back", bound, || {
                has_vip(n1) && !has_vip(n2)
            });
            eprintln!(
                "track file recovery: NODE01 holds the VIP again {took:?} after writing 0 \
                 (bound Master_Down_Interval + 0.5 s = {bound:?})"
            );
        },
    );
}

/// A `/bin/sleep PARAM` child, killed on drop.
struct Sleeper(std::process::Child);

impl Sleeper {
    fn start(param: &str) -> Sleeper {
        Sleeper(
            std::process::Command::new("/bin/sleep")
                .arg(param)
                .spawn()
                .expect("spawn /bin/sleep"),
        )
    }

    fn kill(mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Sleeper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
#[ignore = "needs root + netns (cargo xtask test)"]
fn netns_track_process_killed_on_the_master_moves_the_vip_and_back() {
    lvs_testenv::require_root("netns_track_process_killed_on_the_master_moves_the_vip_and_back");
    lvs_testenv::require_program("ip");
    lvs_testenv::require_program("sleep");
    // Unique parameters: every namespace (and other tests) share /proc.
    let base = 3_000_000 + u64::from(std::process::id()) * 10;
    let (p1, p2) = (format!("{}", base + 1), format!("{}", base + 2));
    let mut sleeper = Some(Sleeper::start(&p1));
    let _other = Sleeper::start(&p2);
    with_pair(
        "tkp",
        [
            process_config(100, true, &p1),
            process_config(90, false, &p2),
        ],
        |n1, n2| {
            if let Some(s) = sleeper.take() {
                s.kill();
            }
            let bound = SCAN + mdi(90) + SLACK;
            let took = wait("NODE02 takes the VIP", bound, || has_vip(n2));
            eprintln!(
                "track process failover: NODE02 holds the VIP {took:?} after the kill \
                 (bound scan + Master_Down_Interval + 0.5 s = {bound:?})"
            );
            wait("NODE01 releases the VIP", Duration::from_secs(2), || {
                !has_vip(n1)
            });
            std::thread::sleep(Duration::from_secs(3));
            assert!(has_vip(n2) && !has_vip(n1), "NODE02 stays Master");

            let _again = Sleeper::start(&p1);
            let bound = SCAN + mdi(100) + SLACK;
            let took = wait("NODE01 preempts back", bound, || {
                has_vip(n1) && !has_vip(n2)
            });
            eprintln!(
                "track process recovery: NODE01 holds the VIP again {took:?} after the restart \
                 (bound scan + Master_Down_Interval + 0.5 s = {bound:?})"
            );
        },
    );
}
