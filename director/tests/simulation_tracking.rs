//! Tracked files and processes (keepalived's `track_file` and
//! `vrrp_track_process`) on the virtual clock: the value or count moves
//! the Master's priority or faults it, and the VIP follows, within the
//! VRRP timers' bounds.

mod sim;

use std::time::{Duration, Instant};

use lvs_director::{
    Command, Director, DirectorConfig, FileCheck, ProcessMatch, TrackFile, TrackProcess,
    TrackedFile, TrackedProcess,
};
use lvs_ipvs::Op;
use lvs_vrrp::{AdvertInterval, Seconds, State};
use sim::*;

const FILE: &str = "prio";
const PROC: &str = "web";

fn mdi(priority: u8) -> Duration {
    AdvertInterval::V2(Seconds(1)).master_down_interval(priority)
}

/// The lab with `file` tracked by the node's instance (with `tracked`'s override).
fn with_file(node: usize, file: TrackFile, tracked: TrackedFile) -> DirectorConfig {
    lab_config(node)
        .with_track_file(file)
        .with_instance_edit(|i| i.track_files.push(tracked))
}

fn with_process(node: usize, p: TrackProcess) -> DirectorConfig {
    lab_config(node)
        .with_track_process(p)
        .with_instance_edit(|i| i.track_processes.push(TrackedProcess::new(PROC)))
}

trait EditInstance {
    fn with_instance_edit(self, f: impl FnOnce(&mut lvs_director::VrrpInstance)) -> Self;
}

impl EditInstance for DirectorConfig {
    fn with_instance_edit(mut self, f: impl FnOnce(&mut lvs_director::VrrpInstance)) -> Self {
        f(&mut self.instances[0]);
        self
    }
}

fn file(weight: i16) -> TrackFile {
    TrackFile::new(FILE, "/run/prio").with_weight(weight)
}

/// Writes `value` to NODE01's file at 10 s: NODE02 (90) must be Master
/// within its Master_Down_Interval of the write; writing 0 at 30 s takes
/// NODE01 (100) back within its own.
fn master_file_moves_vip_and_back(w: &mut World, value: i64, expect_priority: u8) {
    w.run_to(10.0);
    assert_eq!(w.masters(), vec![NODE01]);
    w.write_file(NODE01, FILE, value);
    assert_eq!(w.priority(NODE01), expect_priority);
    w.run_to(25.0);
    let t = w.at(10.0);
    let took = w.became_master(NODE02, t).expect("NODE02 took over") - t;
    assert!(took <= mdi(90), "failover took {took:?}");
    assert_eq!(w.masters(), vec![NODE02]);
    assert!(w.holds_vip(NODE02) && !w.holds_vip(NODE01));
    w.write_file(NODE01, FILE, 0);
    assert_eq!(w.priority(NODE01), 100);
    w.run_to(45.0);
    let t = w.at(25.0);
    let back = w.became_master(NODE01, t).expect("NODE01 preempted back") - t;
    assert!(back <= mdi(100), "preempt back took {back:?}");
    assert_eq!(w.masters(), vec![NODE01]);
    assert!(w.holds_vip(NODE01) && !w.holds_vip(NODE02));
}

#[test]
fn file_value_times_weight_moves_the_vip_and_back() {
    let mut w = World::new([
        with_file(NODE01, file(-10), TrackedFile::new(FILE)),
        with_file(NODE02, file(-10), TrackedFile::new(FILE)),
    ]);
    assert_eq!((w.priority(NODE01), w.priority(NODE02)), (100, 90));
    // 2 × -10: 80, below NODE02's 90.
    master_file_moves_vip_and_back(&mut w, 2, 80);
    assert!(
        w.transitions(NODE01, w.start)
            .iter()
            .all(|t| t.2 != State::Fault)
    );
}

#[test]
fn reverse_and_per_instance_weight_apply() {
    // The file says +3; weight 5 reversed on the instance: -15 → 85.
    let tracked = TrackedFile::new(FILE).with_weight(5).with_reverse(true);
    let mut w = World::new([
        with_file(NODE01, file(1), tracked),
        with_file(NODE02, file(1), TrackedFile::new(FILE)),
    ]);
    master_file_moves_vip_and_back(&mut w, 3, 85);
}

#[test]
fn weight_0_file_non_zero_is_a_fault() {
    let mut w = World::new([
        with_file(NODE01, file(0), TrackedFile::new(FILE)),
        with_file(NODE02, file(0), TrackedFile::new(FILE)),
    ]);
    w.run_to(10.0);
    w.write_file(NODE01, FILE, 7);
    assert_eq!(w.state(NODE01), Some(State::Fault));
    assert_eq!(w.priority(NODE01), 100, "a FAULT moves no priority");
    w.run_to(25.0);
    assert_eq!(w.masters(), vec![NODE02]);
    // NODE01 resigned (priority 0): NODE02 took over after its Skew_Time.
    let t = w.at(10.0);
    let took = w.became_master(NODE02, t).expect("took over") - t;
    assert!(took <= AdvertInterval::V2(Seconds(1)).skew_time(90) + Duration::from_millis(1));
    w.write_file(NODE01, FILE, 0);
    assert_eq!(w.state(NODE01), Some(State::Backup));
    w.run_to(45.0);
    assert_eq!(w.masters(), vec![NODE01]);
}

#[test]
fn product_of_minus_254_or_less_is_a_fault_and_large_values_cap() {
    let mut w = World::new([
        with_file(NODE01, file(-127), TrackedFile::new(FILE)),
        with_file(NODE02, file(-127), TrackedFile::new(FILE)),
    ]);
    w.run_to(10.0);
    w.write_file(NODE01, FILE, 1); // -127: priority 1, no fault
    assert_eq!(w.priority(NODE01), 1);
    assert_ne!(w.state(NODE01), Some(State::Fault));
    w.write_file(NODE01, FILE, 2); // -254: FAULT
    assert_eq!(w.state(NODE01), Some(State::Fault));
    w.write_file(NODE01, FILE, -3); // +381 → +253 → 254
    assert_eq!(w.priority(NODE01), 254);
    assert_ne!(w.state(NODE01), Some(State::Fault));
}

#[test]
fn an_instance_waits_for_its_files_first_value() {
    let now = Instant::now();
    let mut d =
        Director::new(now, with_file(NODE01, file(-10), TrackedFile::new(FILE))).expect("valid");
    let watches: Vec<Command> = std::iter::from_fn(|| d.poll_command())
        .filter(|c| matches!(c, Command::WatchFile { .. }))
        .collect();
    assert_eq!(watches.len(), 1);
    assert_eq!(d.instance_state(INSTANCE), Some(State::Initialize));
    d.handle_track_file(now, FILE, 5);
    assert_eq!(d.instance_state(INSTANCE), Some(State::Master));
    assert_eq!(d.status().instances[0].effective_priority, 50);
}

#[test]
fn an_address_owner_ignores_weighted_files_but_not_weight_0() {
    let owner = |weight| {
        let mut c = with_file(NODE01, file(weight), TrackedFile::new(FILE));
        c.instances[0].router.priority = 255;
        c
    };
    let now = Instant::now();
    let mut d = Director::new(now, owner(-10)).expect("valid");
    d.handle_track_file(now, FILE, 5);
    assert_eq!(d.status().instances[0].effective_priority, 255);
    assert_eq!(d.instance_state(INSTANCE), Some(State::Master));
    let mut d = Director::new(now, owner(0)).expect("valid");
    d.handle_track_file(now, FILE, 5);
    assert_eq!(d.instance_state(INSTANCE), Some(State::Fault));
}

fn web() -> TrackProcess {
    TrackProcess::new(PROC, ProcessMatch::new("nginx"))
}

#[test]
fn process_gone_faults_the_master_and_its_return_takes_the_vip_back() {
    let mut w = World::prepared(
        [with_process(NODE01, web()), with_process(NODE02, web())],
        &[],
        &[(PROC, 1)],
    );
    w.run_to(10.0);
    assert_eq!(w.masters(), vec![NODE01]);
    w.set_processes(NODE01, PROC, 0);
    assert_eq!(w.state(NODE01), Some(State::Fault));
    w.run_to(25.0);
    assert_eq!(w.masters(), vec![NODE02]);
    w.set_processes(NODE01, PROC, 1);
    w.run_to(45.0);
    let back = w.became_master(NODE01, w.at(25.0)).expect("back") - w.at(25.0);
    assert!(back <= mdi(100), "{back:?}");
    assert_eq!(w.masters(), vec![NODE01]);
}

#[test]
fn quorum_bounds_and_weight() {
    // Up with 2..=3 processes: +20 while up.
    let p = web().with_quorum(2, 3).with_weight(20);
    let mut w = World::prepared(
        [with_process(NODE01, p.clone()), with_process(NODE02, p)],
        &[],
        &[(PROC, 2)],
    );
    assert_eq!(w.priority(NODE01), 120);
    w.set_processes(NODE01, PROC, 3);
    assert_eq!(w.priority(NODE01), 120);
    w.set_processes(NODE01, PROC, 4);
    assert_eq!(w.priority(NODE01), 100, "above quorum_max is down");
    w.set_processes(NODE01, PROC, 1);
    assert_eq!(w.priority(NODE01), 100);
    w.set_processes(NODE01, PROC, 2);
    assert_eq!(w.priority(NODE01), 120);
}

#[test]
fn delays_debounce_a_restart_and_hold_a_real_loss() {
    let p = web()
        .with_terminate_delay(Duration::from_secs(2))
        .with_fork_delay(Duration::from_secs(1));
    let mut w = World::prepared(
        [with_process(NODE01, p.clone()), with_process(NODE02, p)],
        &[],
        &[(PROC, 1)],
    );
    w.run_to(10.0);
    // A restart within terminate_delay: nothing happens.
    w.set_processes(NODE01, PROC, 0);
    w.run_to(11.0);
    w.set_processes(NODE01, PROC, 1);
    w.run_to(15.0);
    assert_eq!(w.transitions(NODE01, w.at(9.0)), vec![]);
    // A real loss: FAULT exactly terminate_delay later.
    w.set_processes(NODE01, PROC, 0);
    w.run_to(16.9);
    assert_eq!(w.state(NODE01), Some(State::Master));
    w.run_to(18.0);
    let t = w.transitions(NODE01, w.at(15.0));
    assert_eq!(
        t.first().map(|x| (x.0, x.2)),
        Some((w.at(17.0), State::Fault))
    );
    // Back after fork_delay.
    w.set_processes(NODE01, PROC, 1);
    w.run_to(18.9);
    assert_eq!(w.state(NODE01), Some(State::Fault));
    w.run_to(19.5);
    assert_eq!(w.state(NODE01), Some(State::Backup));
}

#[test]
fn a_reload_keeps_an_unchanged_files_value() {
    let cfg = || with_file(NODE01, file(-10), TrackedFile::new(FILE));
    let mut w = World::new([cfg(), with_file(NODE02, file(-10), TrackedFile::new(FILE))]);
    w.write_file(NODE01, FILE, 1);
    assert_eq!(w.priority(NODE01), 90);
    let before = w.nodes[NODE01].log.len();
    w.apply_config(NODE01, cfg());
    assert_eq!(w.priority(NODE01), 90);
    assert!(
        !w.nodes[NODE01].log[before..]
            .iter()
            .any(|l| matches!(l.cmd, Command::WatchFile { .. })),
        "an unchanged file is not watched again"
    );
}

// keepalived's FILE_CHECK: a real server's probe fed by the core's value
// of a tracked file.

const MAINT: &str = "maint";
const RS: &str = "172.20.0.85:80";

/// The lab with `check` on real server RS of the HTTP service (the file
/// tracked by no instance: only the real server follows it).
fn with_file_check(node: usize, check: FileCheck) -> DirectorConfig {
    let mut cfg = lab_config(node).with_track_file(TrackFile::new(MAINT, "/run/maint"));
    let rs = cfg.virtual_servers[0]
        .real_servers
        .iter_mut()
        .find(|r| r.destination.addr == sa(RS))
        .expect("RS in the lab");
    rs.file_checks.push(check);
    cfg
}

/// The weight the model kernel gives `addr` in the HTTP service.
fn kernel_weight(w: &World, node: usize, addr: &str) -> Option<u32> {
    w.nodes[node]
        .kernel
        .iter()
        .find(|vs| vs.service.key == http())?
        .destinations
        .iter()
        .find(|d| d.addr == sa(addr))
        .map(|d| d.weight)
}

fn both() -> Option<std::collections::BTreeSet<std::net::SocketAddr>> {
    Some([sa("172.20.0.85:80"), sa("172.20.0.86:80")].into())
}

#[test]
fn file_check_weight_0_non_zero_takes_the_real_server_out_and_back() {
    let check = || FileCheck::new(MAINT).with_weight(0, false);
    let mut w = World::new([
        with_file_check(NODE01, check()),
        with_file_check(NODE02, check()),
    ]);
    w.run_to(10.0);
    assert_eq!(w.kernel_dests(NODE01, http()), both());
    let t = w.at(10.0);
    w.write_file(NODE01, MAINT, 1);
    assert_eq!(
        w.kernel_dests(NODE01, http()),
        Some([sa("172.20.0.86:80")].into())
    );
    assert_eq!(
        w.ipvs_ops(NODE01, t)
            .into_iter()
            .map(|(_, o)| o)
            .collect::<Vec<_>>(),
        vec![Op::DeleteDestination(http(), sa(RS))],
        "one delete, no table dump"
    );
    assert!(
        w.log_since(NODE01, t)
            .any(|l| matches!(l.cmd, Command::RealServerChanged { up: false, .. })),
        "the real server's change is reported"
    );
    // Another non-zero value changes nothing; 0 brings it back.
    w.write_file(NODE01, MAINT, 7);
    assert_eq!(w.ipvs_ops(NODE01, t).len(), 1);
    w.run_to(20.0);
    w.write_file(NODE01, MAINT, 0);
    assert_eq!(w.kernel_dests(NODE01, http()), both());
    assert_eq!(kernel_weight(&w, NODE01, RS), Some(1));
    // The other node's own file is untouched.
    assert_eq!(w.kernel_dests(NODE02, http()), both());
}

#[test]
fn file_check_weight_0_reverse_is_down_while_zero() {
    let check = || FileCheck::new(MAINT).with_weight(0, true);
    let mut w = World::new([
        with_file_check(NODE01, check()),
        with_file_check(NODE02, check()),
    ]);
    w.run_to(10.0);
    // The file is missing (0): the real server is out.
    assert_eq!(
        w.kernel_dests(NODE01, http()),
        Some([sa("172.20.0.86:80")].into())
    );
    w.write_file(NODE01, MAINT, 1);
    assert_eq!(w.kernel_dests(NODE01, http()), both());
}

#[test]
fn file_check_weight_moves_the_destinations_ipvs_weight() {
    // The file's own weight (5) applies when the check sets none.
    let spec = || TrackFile::new(MAINT, "/run/maint").with_weight(5);
    let cfg = |node| {
        let mut c = with_file_check(node, FileCheck::new(MAINT));
        c.track_files = vec![spec()];
        c
    };
    let mut w = World::new([cfg(NODE01), cfg(NODE02)]);
    w.run_to(10.0);
    assert_eq!(kernel_weight(&w, NODE01, RS), Some(1));
    let t = w.at(10.0);
    w.write_file(NODE01, MAINT, 3);
    // Configured 1 + 3 × 5.
    assert_eq!(kernel_weight(&w, NODE01, RS), Some(16));
    assert!(matches!(
        w.ipvs_ops(NODE01, t).as_slice(),
        [(_, Op::EditDestination(k, d))] if *k == http() && d.addr == sa(RS) && d.weight == 16
    ));
    // A negative sum is weight 0, still in the table.
    w.write_file(NODE01, MAINT, -1);
    assert_eq!(kernel_weight(&w, NODE01, RS), Some(0));
    // A product at keepalived's IPVS_WEIGHT_FAULT (i32::MIN) or below is down.
    w.write_file(NODE01, MAINT, i64::from(i32::MIN));
    assert_eq!(
        w.kernel_dests(NODE01, http()),
        Some([sa("172.20.0.86:80")].into())
    );
    w.write_file(NODE01, MAINT, 0);
    assert_eq!(kernel_weight(&w, NODE01, RS), Some(1));
    // The other real server never moved.
    assert_eq!(kernel_weight(&w, NODE01, "172.20.0.86:80"), Some(1));
}

#[test]
fn file_check_reverse_weight_and_clamp() {
    let check = || FileCheck::new(MAINT).with_weight(i32::MAX, true);
    let mut w = World::new([
        with_file_check(NODE01, check()),
        with_file_check(NODE02, check()),
    ]);
    w.run_to(10.0);
    // -1 × MAX, reversed: the sum is clamped to IPVS's i32::MAX.
    w.write_file(NODE01, MAINT, -1);
    assert_eq!(kernel_weight(&w, NODE01, RS), Some(i32::MAX as u32));
    // 1 × MAX reversed is -MAX: above the fault line, weight 0.
    w.write_file(NODE01, MAINT, 1);
    assert_eq!(kernel_weight(&w, NODE01, RS), Some(0));
    // 2 × MAX reversed is below it: down.
    w.write_file(NODE01, MAINT, 2);
    assert_eq!(kernel_weight(&w, NODE01, RS), None);
}

#[test]
fn a_file_check_on_an_unknown_file_is_refused() {
    let mut cfg = lab_config(NODE01);
    cfg.virtual_servers[0].real_servers[0]
        .file_checks
        .push(FileCheck::new("nope"));
    assert!(matches!(
        Director::new(Instant::now(), cfg),
        Err(lvs_director::ConfigError::FileCheck { .. })
    ));
}

#[test]
fn a_reload_adding_a_file_check_watches_the_file_and_follows_it() {
    let check = || FileCheck::new(MAINT).with_weight(0, false);
    let mut w = World::new([lab_config(NODE01), lab_config(NODE02)]);
    w.run_to(10.0);
    assert_eq!(w.kernel_dests(NODE01, http()), both());
    // The file already says "maintenance" before the director watches it.
    w.write_file(NODE01, MAINT, 1);
    w.apply_config(NODE01, with_file_check(NODE01, check()));
    assert_eq!(
        w.kernel_dests(NODE01, http()),
        Some([sa("172.20.0.86:80")].into())
    );
    w.run_to(20.0);
    w.write_file(NODE01, MAINT, 0);
    assert_eq!(w.kernel_dests(NODE01, http()), both());
    // Removing the check unwatches the file; the server stays in.
    let before = w.nodes[NODE01].log.len();
    w.apply_config(NODE01, lab_config(NODE01));
    assert!(
        w.nodes[NODE01].log[before..]
            .iter()
            .any(|l| matches!(&l.cmd, Command::UnwatchFile { name } if name == MAINT))
    );
    assert_eq!(w.kernel_dests(NODE01, http()), both());
}
