//! Sync groups (keepalived's `vrrp_sync_group`) in the two-director world
//! of `sim/mod.rs`: two instances on two interfaces move between the nodes
//! together, whichever member's link or tracked script fails.

mod sim;

use std::time::Duration;

use lvs_director::{DirectorConfig, Script, SyncGroup, TrackScript, TrackedScript};
use lvs_vrrp::{AdvertInterval, Seconds, State};
use sim::*;

const GROUP: &str = "VG_1";
const CHK: &str = "chk_vi2";

fn script(name: &str) -> Script {
    Script::new([name]).expect("argv")
}

/// Both instances; in a group with notify scripts when `grouped`.
fn two_instances(node: usize, grouped: bool) -> DirectorConfig {
    let mut cfg = lab_config(node);
    cfg.instances.push(instance2(node));
    if grouped {
        let mut g = SyncGroup::new(GROUP, &[INSTANCE, INSTANCE2]);
        g.notify.master = Some(script("/g/master"));
        g.notify.backup = Some(script("/g/backup"));
        g.notify.fault = Some(script("/g/fault"));
        g.notify.any = Some(script("/g/notify"));
        cfg = cfg.with_sync_group(g);
    }
    cfg
}

fn both(w: &World, node: usize) -> (Option<State>, Option<State>) {
    (w.state_of(node, INSTANCE), w.state_of(node, INSTANCE2))
}

fn holds_both(w: &World, node: usize) -> (bool, bool) {
    (w.holds(node, vip()), w.holds(node, vip2()))
}

fn skew02() -> Duration {
    AdvertInterval::V2(Seconds(1)).skew_time(90)
}

fn mdi01() -> Duration {
    AdvertInterval::V2(Seconds(1)).master_down_interval(100)
}

const M: Option<State> = Some(State::Master);
const B: Option<State> = Some(State::Backup);
const F: Option<State> = Some(State::Fault);

#[test]
fn link_down_on_one_member_moves_both_to_the_peer_and_back() {
    let mut w = World::new([two_instances(NODE01, true), two_instances(NODE02, true)]);
    w.run_to(5.0);
    assert_eq!(both(&w, NODE01), (M, M));
    assert_eq!(both(&w, NODE02), (B, B));
    assert_eq!(holds_both(&w, NODE01), (true, true));

    // VI_1's link goes down on NODE01: VI_2 (link up) follows it to FAULT.
    let down = w.now;
    w.set_link_on(NODE01, INTERFACE, false);
    assert_eq!(both(&w, NODE01), (F, F));
    assert_eq!(holds_both(&w, NODE01), (false, false));
    w.run_to(10.0);
    // Both resigned with priority 0: NODE02 takes both after its skew.
    assert_eq!(both(&w, NODE02), (M, M));
    assert_eq!(holds_both(&w, NODE02), (true, true));
    let took = w.became_master(NODE02, down).expect("NODE02 took VI_1") - down;
    assert!(took <= skew02() + Duration::from_millis(2), "{took:?}");
    let g1 = w.scripts_run(NODE01, down);
    assert!(g1.contains(&vec!["/g/fault".to_string()]), "{g1:?}");
    assert!(
        g1.contains(
            &["/g/notify", "GROUP", GROUP, "FAULT", "0"]
                .map(String::from)
                .to_vec()
        )
    );
    let g2 = w.scripts_run(NODE02, down);
    assert_eq!(
        g2.iter().filter(|a| a[0] == "/g/master").count(),
        1,
        "the group's notify_master runs once: {g2:?}"
    );

    // The link returns: both Backup, then NODE01 preempts both back.
    let up = w.now;
    w.set_link_on(NODE01, INTERFACE, true);
    assert_eq!(both(&w, NODE01), (B, B));
    w.run_to(20.0);
    assert_eq!(both(&w, NODE01), (M, M));
    assert_eq!(both(&w, NODE02), (B, B));
    assert_eq!(holds_both(&w, NODE01), (true, true));
    assert_eq!(holds_both(&w, NODE02), (false, false));
    let back = w.became_master(NODE01, up).expect("NODE01 back") - up;
    assert!(back <= mdi01() + Duration::from_millis(2), "{back:?}");
    let g1 = w.scripts_run(NODE01, up);
    assert!(g1.contains(&vec!["/g/backup".to_string()]), "{g1:?}");
    assert!(g1.contains(&vec!["/g/master".to_string()]), "{g1:?}");
    assert!(
        w.scripts_run(NODE02, up)
            .contains(&vec!["/g/backup".to_string()])
    );
}

#[test]
fn without_the_group_the_other_instance_stays() {
    // The control: the same fault without a group moves VI_1 only.
    let mut w = World::new([two_instances(NODE01, false), two_instances(NODE02, false)]);
    w.run_to(5.0);
    w.set_link_on(NODE01, INTERFACE, false);
    w.run_to(10.0);
    assert_eq!(both(&w, NODE01), (F, M));
    assert_eq!(both(&w, NODE02), (M, B));
}

#[test]
fn a_failing_script_on_one_member_moves_both() {
    let with_script = |node| {
        let mut cfg = two_instances(node, true);
        cfg.track_scripts.push(
            TrackScript::new(CHK, script("/bin/true"))
                .with_fall(1)
                .with_rise(1),
        );
        cfg.instances[1].track_scripts.push(TrackedScript::new(CHK));
        cfg
    };
    let mut w = World::new([with_script(NODE01), with_script(NODE02)]);
    w.run_to(5.0);
    assert_eq!(both(&w, NODE01), (M, M));
    w.run_to(9.5);
    w.fail_script(NODE01, CHK);
    w.run_to(15.0);
    assert_eq!(both(&w, NODE01), (F, F));
    assert_eq!(both(&w, NODE02), (M, M));
    assert_eq!(holds_both(&w, NODE02), (true, true));
    w.run_to(19.5);
    w.pass_script(NODE01, CHK);
    w.run_to(30.0);
    assert_eq!(both(&w, NODE01), (M, M));
    assert_eq!(both(&w, NODE02), (B, B));
}

#[test]
fn a_member_that_loses_only_its_peer_does_not_split_the_group() {
    // NODE02's VI_1 hears nothing (NODE01 crashed for VI_1 only would be a
    // partial cut; here NODE02's VI_2 keeps hearing NODE01): a lone expiry
    // must wait for its group rather than take VI_1 alone.
    let mut w = World::new([two_instances(NODE01, true), two_instances(NODE02, true)]);
    w.run_to(5.0);
    // Remove VI_1 from NODE01 by reload: NODE02's VI_1 stops hearing adverts
    // (priority 0 then silence), while VI_2 still has its Master.
    let mut cfg = two_instances(NODE01, false);
    cfg.instances.remove(0);
    let reload = w.now;
    w.apply_config(NODE01, cfg);
    w.run_to(20.0);
    // Never Master in between either (no Master/Backup flapping).
    let flaps = w.transitions(NODE02, reload);
    assert!(flaps.is_empty(), "{flaps:?}");
    assert_eq!(both(&w, NODE01), (None, M));
    // Held: NODE02's VI_1 wants Master but VI_2 does not, so both stay.
    assert_eq!(both(&w, NODE02), (B, B));
    assert!(!w.holds(NODE02, vip()));
}

#[test]
fn a_reload_that_drops_the_group_frees_the_followers() {
    let mut w = World::new([two_instances(NODE01, true), two_instances(NODE02, true)]);
    w.run_to(5.0);
    w.set_link_on(NODE01, INTERFACE, false);
    assert_eq!(both(&w, NODE01), (F, F));
    w.run_to(10.0);
    // Without the group, VI_2's only fault was its group's: it is cleared.
    w.apply_config(NODE01, two_instances(NODE01, false));
    assert_eq!(both(&w, NODE01), (F, B));
    w.run_to(20.0);
    assert_eq!(w.state_of(NODE01, INSTANCE2), M, "VI_2 preempts alone");
    // And a reload adding it back puts VI_2 in FAULT with VI_1 again.
    w.apply_config(NODE01, two_instances(NODE01, true));
    assert_eq!(both(&w, NODE01), (F, F));
}

#[test]
fn shutdown_runs_the_group_stop_script() {
    let mut cfg = two_instances(NODE01, true);
    cfg.sync_groups[0].notify.stop = Some(script("/g/stop"));
    let mut w = World::new([cfg, two_instances(NODE02, true)]);
    w.run_to(5.0);
    let t = w.now;
    w.shutdown(NODE01);
    let run = w.scripts_run(NODE01, t);
    assert!(run.contains(&vec!["/g/stop".to_string()]), "{run:?}");
    assert!(
        run.contains(
            &["/g/notify", "GROUP", GROUP, "STOP", "0"]
                .map(String::from)
                .to_vec()
        )
    );
}

#[test]
fn members_are_validated() {
    use lvs_director::ConfigError;
    let bad = |groups: Vec<SyncGroup>| {
        let mut cfg = two_instances(NODE01, false);
        cfg.sync_groups = groups;
        cfg.validate().expect_err("refused")
    };
    assert!(matches!(
        bad(vec![SyncGroup::new("G", &[INSTANCE, "VI_9"])]),
        ConfigError::SyncGroupMember { instance, .. } if instance == "VI_9"
    ));
    assert!(matches!(
        bad(vec![SyncGroup::new("G", &[INSTANCE, INSTANCE])]),
        ConfigError::SyncGroupMember { why, .. } if why == "named twice"
    ));
    let e = bad(vec![
        SyncGroup::new("G", &[INSTANCE]),
        SyncGroup::new("H", &[INSTANCE, INSTANCE2]),
    ]);
    assert_eq!(
        e.to_string(),
        "sync group \"H\": member \"VI_1\": already a member of sync group \"G\""
    );
    assert!(matches!(
        bad(vec![SyncGroup::new("G", &[])]),
        ConfigError::EmptySyncGroup(_)
    ));
    assert!(matches!(
        bad(vec![
            SyncGroup::new("G", &[INSTANCE]),
            SyncGroup::new("G", &[INSTANCE2])
        ]),
        ConfigError::DuplicateSyncGroup(_)
    ));
}
