//! Two directors and their backends on a virtual clock (see `sim/mod.rs`):
//! start, failover, handover, real-server churn, reloads, split brain, IPVS
//! write failures and link loss, each with its exact timing.

mod sim;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use lvs_director::{Command, Script};
use lvs_ipvs::{Destination, ForwardMethod, Op};
use lvs_vrrp::{AdvertInterval, Family, Packet, Seconds, State};
use sim::*;

const ADVERT: Duration = Duration::from_secs(1);

/// NODE02's Skew_Time, (256 − 90)/256 s.
fn skew02() -> Duration {
    AdvertInterval::V2(Seconds(1)).skew_time(90)
}

/// NODE02's Master_Down_Interval, 3 × 1 s + Skew_Time.
fn mdi02() -> Duration {
    AdvertInterval::V2(Seconds(1)).master_down_interval(90)
}

fn set(addrs: &[&str]) -> Option<BTreeSet<std::net::SocketAddr>> {
    Some(addrs.iter().map(|a| sa(a)).collect())
}

fn assert_close(what: &str, got: Duration, want: Duration, tolerance: Duration) {
    let diff = got.abs_diff(want);
    assert!(
        diff <= tolerance,
        "{what}: {got:?}, expected {want:?} ± {tolerance:?}"
    );
}

/// Every gap between consecutive instants is exactly `gap`.
fn assert_steady(what: &str, times: &[Instant], gap: Duration) {
    assert!(times.len() >= 2, "{what}: too few samples");
    for w in times.windows(2) {
        assert_eq!(w[1] - w[0], gap, "{what}: schedule broken");
    }
}

fn no_ipvs_errors(w: &World) {
    for (i, n) in w.nodes.iter().enumerate() {
        assert!(n.ipvs_errors.is_empty(), "node {i}: {:?}", n.ipvs_errors);
    }
}

#[test]
fn start_master_and_backup_with_the_whole_table() {
    let mut w = World::lab();
    // At once: NODE01 is Master with the VIP, NODE02 listens.
    assert_eq!(w.state(NODE01), Some(State::Master));
    assert_eq!(w.state(NODE02), Some(State::Backup));
    assert!(w.holds_vip(NODE01));
    assert!(!w.holds_vip(NODE02));
    for node in [NODE01, NODE02] {
        assert_eq!(
            w.kernel_dests(node, http()),
            set(&["172.20.0.85:80", "172.20.0.86:80"])
        );
        // The table is written once, whole; the backends' probes start.
        assert_eq!(w.reconciles(node, w.start), vec![w.start]);
        assert_eq!(
            w.count(node, w.start, |c| matches!(c, Command::AddProbe { .. })),
            2
        );
    }
    // And so it stays: NODE01 advertises every second, NODE02 never moves.
    w.run_to(30.0);
    assert_eq!(w.masters(), vec![NODE01]);
    assert!(w.holds_vip(NODE01) && !w.holds_vip(NODE02));
    assert_eq!(w.transitions(NODE02, w.start).len(), 1);
    let adverts = w.adverts(NODE01, w.start);
    assert_eq!(adverts.len(), 31);
    assert_steady("NODE01 adverts", &adverts, ADVERT);
    assert!(w.adverts(NODE02, w.start).is_empty());
    assert!(w.ipvs_ops(NODE01, w.start).is_empty());
    for node in [NODE01, NODE02] {
        // Probes every delay_loop from 1 s on, both backends passing.
        let runs = &w.nodes[node].probe_runs;
        assert_eq!(runs.len(), 2 * 15);
        assert!(runs.iter().all(|(_, _, up)| *up));
        assert!(w.nodes[node].drops.is_empty());
    }
    no_ipvs_errors(&w);
}

#[test]
fn failover_within_master_down_interval() {
    let mut w = World::lab();
    w.run_to(5.5);
    let last = *w.adverts(NODE01, w.start).last().expect("adverts");
    assert_eq!(last, w.at(5.0));
    w.crash(NODE01);
    w.run_to(15.0);

    assert_eq!(mdi02(), Duration::from_nanos(3_648_437_500));
    let became = w.became_master(NODE02, w.start).expect("NODE02 took over");
    let took = became - last;
    eprintln!("failover: NODE02 Master {took:?} after NODE01's last advert");
    assert_close("failover", took, mdi02(), Duration::from_millis(2));
    assert_eq!(w.state(NODE02), Some(State::Master));
    assert!(w.holds_vip(NODE02));
    // The new Master announces the VIP and advertises on its own schedule.
    assert!(
        w.count(
            NODE02,
            became,
            |c| matches!(c, Command::Announce { addr, .. } if *addr == vip())
        ) >= 1
    );
    assert_steady("NODE02 adverts", &w.adverts(NODE02, became), ADVERT);
    // The IPVS table was already there: a Backup keeps it, nothing to write.
    assert!(w.ipvs_ops(NODE02, w.start).is_empty());
    no_ipvs_errors(&w);
}

#[test]
fn priority_zero_handover_takes_skew_time() {
    let mut w = World::lab();
    w.run_to(5.3);
    let t = w.now;
    w.shutdown(NODE01);
    // One resignation advert with priority 0, then the VIP goes.
    let resign: Vec<Vec<u8>> = w
        .log_since(NODE01, t)
        .filter_map(|l| match &l.cmd {
            Command::SendAdvert { transmit, .. } => Some(transmit.payload.clone()),
            _ => None,
        })
        .collect();
    assert_eq!(resign.len(), 1);
    let p = Packet::new_checked(&resign[0][..], Family::V4).expect("VRRP packet");
    assert_eq!(p.priority(), 0);
    assert!(!w.holds_vip(NODE01));
    assert_eq!(w.state(NODE01), None);
    w.run_to(10.0);

    let became = w.became_master(NODE02, t).expect("NODE02 took over");
    eprintln!("handover: NODE02 Master {:?} after shutdown", became - t);
    assert_close("handover", became - t, skew02(), Duration::from_millis(2));
    assert!(w.holds_vip(NODE02) && !w.holds_vip(NODE01));
    assert_eq!(w.masters(), vec![NODE02]);
    // A stopped director writes nothing more and probes nothing more.
    assert_eq!(w.nodes[NODE01].director.poll_timeout(), None);
    assert!(
        w.log_since(NODE01, t + Duration::from_millis(1))
            .next()
            .is_none()
    );
    // The probes were stopped and the table left for the next start to adopt.
    assert_eq!(w.nodes[NODE01].engine.probe_count(), 0);
    assert!(w.ipvs_ops(NODE01, w.start).is_empty());
    no_ipvs_errors(&w);
}

#[test]
fn backend_down_and_up_after_fall_and_rise() {
    let mut w = World::lab();
    // Probes run at 1, 3, 5, ... s (bootstrap 1 s, then delay_loop 2 s).
    w.run_to(10.5);
    let killed = w.now;
    w.kill_backend("172.20.0.86:80");
    // Failure at 11 s, retried after delay_before_retry: second failure
    // (fall = retry + 1 = 2) at 13 s takes it out.
    w.run_to(20.5);
    let revived = w.now;
    w.revive_backend("172.20.0.86:80");
    // Probed every delay_loop while down: 15, 17, 19, 21; one success (rise 1).
    w.run_to(30.0);

    let key = http();
    let www2 = sa("172.20.0.86:80");
    for node in [NODE01, NODE02] {
        let ops = w.ipvs_ops(node, w.start);
        assert_eq!(
            ops,
            vec![
                (w.at(13.0), Op::DeleteDestination(key, www2)),
                (
                    w.at(21.0),
                    Op::AddDestination(key, Destination::new(www2, ForwardMethod::DirectRoute))
                ),
            ],
            "node {node}"
        );
        let fall = ops[0].0 - killed;
        let rise = ops[1].0 - revived;
        eprintln!("node {node}: out {fall:?} after the kill, back {rise:?} after the revival");
        // Fall time: between one delay_before_retry and delay_loop + delay_before_retry.
        assert!(fall >= Duration::from_secs(2) && fall <= Duration::from_secs(4));
        // Rise time: at most one delay_loop.
        assert!(rise <= Duration::from_secs(2));
        assert_eq!(
            w.kernel_dests(node, key),
            set(&["172.20.0.85:80", "172.20.0.86:80"])
        );
        let changes: Vec<bool> = w
            .log_since(node, w.start)
            .filter_map(|l| match &l.cmd {
                Command::RealServerChanged { up, .. } => Some(*up),
                _ => None,
            })
            .collect();
        assert_eq!(changes, vec![false, true]);
        // The VRRP side never noticed.
        assert_eq!(w.transitions(node, w.start).len(), 1);
    }
    no_ipvs_errors(&w);
}

#[test]
fn backend_down_shows_in_the_kernel_between_fall_and_rise() {
    let mut w = World::lab();
    w.kill_backend("172.20.0.86:80");
    // First result decides alone (keepalived): out at the first probe, 1 s.
    w.run_to(1.5);
    for node in [NODE01, NODE02] {
        assert_eq!(w.kernel_dests(node, http()), set(&["172.20.0.85:80"]));
        assert_eq!(w.ipvs_ops(node, w.start).len(), 1);
        let st = w.nodes[node].director.status();
        assert_eq!(st.services[0].destinations.len(), 1);
    }
    no_ipvs_errors(&w);
}

#[test]
fn reload_while_master_keeps_the_advert_schedule() {
    let mut w = World::lab();
    w.run_to(5.3);
    let t = w.now;
    let mut cfg = config(
        NODE01,
        vec![virtual_server(
            http(),
            &["172.20.0.85:80", "172.20.0.86:80", "172.20.0.87:80"],
        )],
    );
    cfg.instances[0].notify.master = Script::new(["/usr/local/bin/notify-master"]);
    let summary = w.apply_config(NODE01, cfg);
    assert_eq!(summary.instances_updated, 1);
    assert_eq!(summary.instances_started + summary.instances_stopped, 0);
    assert_eq!(summary.virtual_servers_changed, 1);
    assert_eq!(summary.ipvs_ops, 1);
    w.run_to(12.0);

    // The adverts before and after keep the exact 1 s schedule.
    let adverts = w.adverts(NODE01, w.start);
    assert_eq!(adverts.len(), 13);
    assert!(adverts.contains(&w.at(5.0)) && adverts.contains(&w.at(6.0)));
    assert_steady("NODE01 adverts across the reload", &adverts, ADVERT);
    // No transition, no script, no restart of the instance.
    let since = |c: &Command| {
        matches!(
            c,
            Command::Transition { .. }
                | Command::RunScript { .. }
                | Command::OpenInstance { .. }
                | Command::CloseInstance { .. }
                | Command::RemoveVip { .. }
        )
    };
    assert_eq!(w.count(NODE01, t, since), 0);
    assert_eq!(w.state(NODE01), Some(State::Master));
    assert!(w.holds_vip(NODE01));
    assert_eq!(w.masters(), vec![NODE01]);
    // IPVS gets only the new server; only its probe starts.
    let www3 = sa("172.20.0.87:80");
    assert_eq!(
        w.ipvs_ops(NODE01, t),
        vec![(
            t,
            Op::AddDestination(http(), Destination::new(www3, ForwardMethod::DirectRoute))
        )]
    );
    assert!(w.reconciles(NODE01, t).is_empty());
    let added: Vec<_> = w
        .log_since(NODE01, t)
        .filter_map(|l| match &l.cmd {
            Command::AddProbe { real_server, .. } => Some(*real_server),
            _ => None,
        })
        .collect();
    assert_eq!(added, vec![www3]);
    assert_eq!(
        w.count(NODE01, t, |c| matches!(c, Command::RemoveProbe { .. })),
        0
    );
    assert_eq!(
        w.kernel_dests(NODE01, http()),
        set(&["172.20.0.85:80", "172.20.0.86:80", "172.20.0.87:80"])
    );
    // The old probes kept their schedule (odd seconds); the new one starts 1 s in.
    assert!(
        w.nodes[NODE01]
            .probe_runs
            .iter()
            .any(|(at, a, _)| *a == www3 && *at == t + Duration::from_secs(1))
    );
    assert!(
        w.nodes[NODE01]
            .probe_runs
            .iter()
            .filter(|(_, a, _)| *a == sa("172.20.0.85:80"))
            .all(|(at, ..)| (*at - w.start).as_secs() % 2 == 1
                && (*at - w.start).subsec_nanos() == 0)
    );
    // The new script is in force for the next transition.
    assert!(
        w.nodes[NODE01].director.config().instances[0]
            .notify
            .master
            .is_some()
    );
    no_ipvs_errors(&w);
}

#[test]
fn reload_removing_a_virtual_server() {
    let both = |node| {
        config(
            node,
            vec![
                virtual_server(http(), &["172.20.0.85:80", "172.20.0.86:80"]),
                virtual_server(https(), &["172.20.0.85:443", "172.20.0.86:443"]),
            ],
        )
    };
    let mut w = World::new([both(NODE01), both(NODE02)]);
    let https_probes: BTreeSet<_> = w
        .log_since(NODE01, w.start)
        .filter_map(|l| match &l.cmd {
            Command::AddProbe { probe, service, .. } if *service == https() => Some(*probe),
            _ => None,
        })
        .collect();
    assert_eq!(https_probes.len(), 2);
    assert_eq!(w.nodes[NODE01].engine.probe_count(), 4);
    assert!(w.kernel_dests(NODE01, https()).is_some());

    w.run_to(5.3);
    let t = w.now;
    let summary = w.apply_config(NODE01, lab_config(NODE01));
    assert_eq!(summary.virtual_servers_changed, 1);
    assert_eq!(summary.instances_updated, 0);
    w.run_to(12.0);

    assert_eq!(w.ipvs_ops(NODE01, t), vec![(t, Op::DeleteService(https()))]);
    let removed: BTreeSet<_> = w
        .log_since(NODE01, t)
        .filter_map(|l| match &l.cmd {
            Command::RemoveProbe { probe } => Some(*probe),
            _ => None,
        })
        .collect();
    assert_eq!(removed, https_probes);
    assert_eq!(
        w.count(NODE01, t, |c| matches!(c, Command::RemoveProbe { .. })),
        2
    );
    assert_eq!(w.nodes[NODE01].engine.probe_count(), 2);
    assert!(
        w.nodes[NODE01]
            .probe_runs
            .iter()
            .filter(|(at, ..)| *at > t)
            .all(|(_, a, _)| a.port() == 80)
    );
    assert_eq!(w.kernel_dests(NODE01, https()), None);
    assert_eq!(
        w.kernel_dests(NODE01, http()),
        set(&["172.20.0.85:80", "172.20.0.86:80"])
    );
    // VRRP untouched.
    assert_eq!(w.transitions(NODE01, t), vec![]);
    assert_eq!(w.state(NODE01), Some(State::Master));
    assert!(w.holds_vip(NODE01));
    assert_steady("NODE01 adverts", &w.adverts(NODE01, w.start), ADVERT);
    // NODE02 still holds both.
    assert!(w.kernel_dests(NODE02, https()).is_some());
    no_ipvs_errors(&w);
}

#[test]
fn split_brain_and_heal() {
    let mut w = World::lab();
    w.run_to(5.3);
    w.cut = true;
    w.run_to(15.3);
    // Both Master, both holding the VIP.
    assert_eq!(w.masters(), vec![NODE01, NODE02]);
    assert!(w.holds_vip(NODE01) && w.holds_vip(NODE02));
    let became = w.became_master(NODE02, w.start).expect("NODE02 Master");
    assert_close(
        "split",
        became - w.at(5.0),
        mdi02(),
        Duration::from_millis(2),
    );

    let healed = w.now;
    w.cut = false;
    w.run_for(ADVERT);
    // Within one advert interval: NODE01 (priority 100) alone.
    assert_eq!(w.masters(), vec![NODE01]);
    assert!(w.holds_vip(NODE01) && !w.holds_vip(NODE02));
    let back = w.transitions(NODE02, healed);
    assert_eq!(back.len(), 1);
    assert_eq!((back[0].1, back[0].2), (State::Master, State::Backup));
    assert!(back[0].0 - healed <= ADVERT);
    eprintln!(
        "heal: NODE02 back to Backup {:?} after heal",
        back[0].0 - healed
    );
    // NODE01 never left Master and kept its schedule throughout.
    assert_eq!(w.transitions(NODE01, w.start).len(), 1);
    assert_steady("NODE01 adverts", &w.adverts(NODE01, w.start), ADVERT);
    w.run_to(40.0);
    assert_eq!(w.masters(), vec![NODE01]);
    assert!(!w.holds_vip(NODE02));
    no_ipvs_errors(&w);
}

#[test]
fn failed_ipvs_write_is_repaired_with_backoff() {
    let mut w = World::lab();
    w.run_to(10.5);
    w.nodes[NODE01].ipvs_failing = true;
    w.kill_backend("172.20.0.86:80");
    // The delete at 13 s fails; full reconciles after 1, 2, 4 s, all failing.
    w.run_to(20.5);
    assert!(w.nodes[NODE01].director.status().ipvs_retrying);
    assert_eq!(
        w.kernel_dests(NODE01, http()),
        set(&["172.20.0.85:80", "172.20.0.86:80"])
    );
    w.nodes[NODE01].ipvs_failing = false;
    // The next one, 8 s after the last failure, succeeds; then only the
    // periodic reconcile, 60 s later.
    w.run_to(87.0);
    let ops = w.ipvs_ops(NODE01, w.start);
    assert_eq!(ops.len(), 1);
    assert_eq!(ops[0].0, w.at(13.0));
    let got = w.reconciles(NODE01, w.at(1.0));
    eprintln!(
        "reconciles after the failed write: {:?}",
        got.iter().map(|t| *t - w.at(13.0)).collect::<Vec<_>>()
    );
    assert_eq!(got, vec![w.at(14.0), w.at(16.0), w.at(20.0), w.at(28.0)]);
    assert!(!w.nodes[NODE01].director.status().ipvs_retrying);
    let desired = w.nodes[NODE01].director.desired_table();
    assert_eq!(w.nodes[NODE01].kernel, desired);
    assert_eq!(w.kernel_dests(NODE01, http()), set(&["172.20.0.85:80"]));
    // The reconcile carried the full table.
    let full = w
        .log_since(NODE01, w.at(28.0))
        .find_map(|l| match &l.cmd {
            Command::IpvsReconcile(t) => Some(t.clone()),
            _ => None,
        })
        .expect("reconcile");
    assert_eq!(full, desired);
    w.run_to(88.0);
    assert_eq!(w.reconciles(NODE01, w.at(29.0)), vec![w.at(88.0)]);
    // NODE02's writes never failed: one delete, no retries.
    assert_eq!(w.ipvs_ops(NODE02, w.start).len(), 1);
    assert_eq!(w.reconciles(NODE02, w.at(1.0)), vec![w.at(60.0)]);
    no_ipvs_errors(&w);
}

#[test]
fn a_later_successful_delta_does_not_cancel_the_repair() {
    let mut w = World::lab();
    w.run_to(10.5);
    w.kill_backend("172.20.0.86:80");
    w.run_to(12.5);
    w.nodes[NODE01].ipvs_failing = true;
    // The delete at 13 s fails and is lost in the kernel...
    w.run_to(13.2);
    w.nodes[NODE01].ipvs_failing = false;
    // ...then a reload's delta succeeds before the retry is due.
    let cfg = config(
        NODE01,
        vec![virtual_server(
            http(),
            &["172.20.0.85:80", "172.20.0.86:80", "172.20.0.87:80"],
        )],
    );
    w.apply_config(NODE01, cfg);
    assert_eq!(
        w.kernel_dests(NODE01, http()),
        set(&["172.20.0.85:80", "172.20.0.86:80", "172.20.0.87:80"])
    );
    w.run_to(14.5);
    // The repair still came 1 s after the failure and fixed the table.
    assert_eq!(w.reconciles(NODE01, w.at(13.0)), vec![w.at(14.0)]);
    assert_eq!(
        w.kernel_dests(NODE01, http()),
        set(&["172.20.0.85:80", "172.20.0.87:80"])
    );
    assert!(!w.nodes[NODE01].director.status().ipvs_retrying);
    no_ipvs_errors(&w);
}

#[test]
fn link_down_faults_and_link_up_returns() {
    let mut w = World::lab();
    // A first "up" report changes nothing.
    w.set_link(NODE01, true);
    assert_eq!(w.transitions(NODE01, w.start).len(), 1);
    w.run_to(5.3);
    let down = w.now;
    w.set_link(NODE01, false);
    assert_eq!(w.state(NODE01), Some(State::Fault));
    assert!(!w.holds_vip(NODE01));
    // Fault resigns with priority 0: NODE02 takes over after its skew.
    w.run_to(10.3);
    let became = w.became_master(NODE02, down).expect("NODE02 took over");
    assert_close(
        "link-down takeover",
        became - down,
        skew02(),
        Duration::from_millis(2),
    );
    assert!(w.holds_vip(NODE02));
    assert!(
        w.adverts(NODE01, down + Duration::from_millis(1))
            .is_empty()
    );

    let up = w.now;
    w.set_link(NODE01, true);
    assert_eq!(w.state(NODE01), Some(State::Backup));
    assert!(!w.holds_vip(NODE01));
    // NODE02's lower-priority adverts do not hold NODE01 back (preempt):
    // Master after its own Master_Down_Interval, and NODE02 yields.
    w.run_to(16.0);
    let mdi01 = AdvertInterval::V2(Seconds(1)).master_down_interval(100);
    let back = w.became_master(NODE01, up).expect("NODE01 Master again");
    assert_close(
        "link-up preempt",
        back - up,
        mdi01,
        Duration::from_millis(2),
    );
    assert_eq!(w.masters(), vec![NODE01]);
    assert!(w.holds_vip(NODE01) && !w.holds_vip(NODE02));
    let states: Vec<State> = w.transitions(NODE01, w.start).iter().map(|t| t.2).collect();
    assert_eq!(
        states,
        vec![State::Master, State::Fault, State::Backup, State::Master]
    );
    // Link loss is a VRRP matter: IPVS untouched on both.
    assert!(w.ipvs_ops(NODE01, w.start).is_empty());
    no_ipvs_errors(&w);
}

#[test]
fn reload_with_the_same_config_does_nothing() {
    let mut w = World::lab();
    w.run_to(5.3);
    let t = w.now;
    for node in [NODE01, NODE02] {
        let summary = w.apply_config(node, lab_config(node));
        assert!(summary.is_empty(), "node {node}: {summary:?}");
        assert_eq!(w.log_since(node, t).count(), 0, "node {node}");
    }
    w.run_to(10.0);
    assert_steady("NODE01 adverts", &w.adverts(NODE01, w.start), ADVERT);
    assert_eq!(w.masters(), vec![NODE01]);
}

#[test]
fn reload_keeps_the_verdicts_of_unchanged_servers() {
    let mut w = World::lab();
    w.run_to(10.5);
    w.kill_backend("172.20.0.86:80");
    w.run_to(14.0);
    assert_eq!(w.kernel_dests(NODE01, http()), set(&["172.20.0.85:80"]));
    let t = w.now;
    let cfg = config(
        NODE01,
        vec![virtual_server(
            http(),
            &["172.20.0.85:80", "172.20.0.86:80", "172.20.0.87:80"],
        )],
    );
    w.apply_config(NODE01, cfg);
    // Only the new server is added: the failed one stays out, its probe
    // (and its down count) untouched.
    let www3 = sa("172.20.0.87:80");
    assert_eq!(
        w.ipvs_ops(NODE01, t),
        vec![(
            t,
            Op::AddDestination(http(), Destination::new(www3, ForwardMethod::DirectRoute))
        )]
    );
    assert_eq!(
        w.kernel_dests(NODE01, http()),
        set(&["172.20.0.85:80", "172.20.0.87:80"])
    );
    let st = w.nodes[NODE01].director.status();
    let down: Vec<_> = st.services[0]
        .real_servers
        .iter()
        .filter(|r| !r.up)
        .map(|r| r.addr)
        .collect();
    assert_eq!(down, vec![sa("172.20.0.86:80")]);
    // It still comes back by its own probe.
    w.revive_backend("172.20.0.86:80");
    w.run_to(18.0);
    assert_eq!(
        w.kernel_dests(NODE01, http()),
        set(&["172.20.0.85:80", "172.20.0.86:80", "172.20.0.87:80"])
    );
    no_ipvs_errors(&w);
}

#[test]
fn reload_raising_the_backup_priority_moves_the_master() {
    let mut w = World::lab();
    w.run_to(5.3);
    let t = w.now;
    let mut cfg = lab_config(NODE02);
    cfg.instances[0].router.priority = 110;
    let summary = w.apply_config(NODE02, cfg);
    // A router change restarts the instance under a new id.
    assert_eq!(
        (summary.instances_stopped, summary.instances_started),
        (1, 1)
    );
    assert_eq!(w.state(NODE02), Some(State::Backup));
    w.run_to(12.0);
    // NODE02 ignores the lower-priority Master (preempt) and takes over after
    // its own Master_Down_Interval; NODE01 yields at its first advert.
    let mdi = AdvertInterval::V2(Seconds(1)).master_down_interval(110);
    let became = w.became_master(NODE02, t).expect("NODE02 Master");
    assert_close(
        "preempt after reload",
        became - t,
        mdi,
        Duration::from_millis(2),
    );
    assert_eq!(w.masters(), vec![NODE02]);
    assert!(w.holds_vip(NODE02) && !w.holds_vip(NODE01));
    // IPVS untouched by a VRRP-only change.
    assert!(w.ipvs_ops(NODE02, t).is_empty());
    assert!(w.reconciles(NODE02, t).is_empty());
    no_ipvs_errors(&w);
}

/// A crafted advert (VRRPv2, Adver Int 0, priority 200) fed to the Master
/// is dropped by its router, shows in its status under `zero_interval`,
/// and the Master stays Master with the VIP.
#[test]
fn a_hostile_advert_is_dropped_and_counted_in_status() {
    let mut w = World::lab();
    w.run_to(2.0);
    assert_eq!(w.state(NODE01), Some(State::Master));
    let from = ip("172.20.0.99");
    let group = ip("224.0.0.18");
    let bytes = lvs_vrrp::Repr {
        vrid: 1,
        priority: 200,
        kind: lvs_vrrp::Kind::V2 {
            interval: Seconds(0),
            auth: lvs_vrrp::Auth::None,
        },
        addresses: lvs_vrrp::Addresses::V4(vec!["172.20.0.83".parse().unwrap()]),
    }
    .to_bytes(lvs_vrrp::ChecksumForm::MessageOnly, &from, &group)
    .unwrap();
    let meta = lvs_vrrp::RecvMeta {
        source: from,
        destination: group,
        hop_limit: 255,
    };
    let id = *w.nodes[NODE01]
        .open
        .iter()
        .next()
        .expect("an open instance");
    let now = w.now;
    for _ in 0..5 {
        assert_eq!(
            w.nodes[NODE01].director.handle_vrrp(now, id, &meta, &bytes),
            Err(lvs_vrrp::DropReason::ZeroInterval)
        );
    }
    w.run_to(6.0);
    let st = w.nodes[NODE01].director.status();
    assert_eq!(
        st.instances[0].drops.get(lvs_vrrp::DropKind::ZeroInterval),
        5
    );
    assert_eq!(st.instances[0].drops.total(), 5);
    assert_eq!(w.state(NODE01), Some(State::Master));
    assert!(w.holds_vip(NODE01));
    assert_eq!(w.transitions(NODE01, w.start).len(), 1);
}

#[test]
fn quorum_lost_with_the_last_backend_and_regained_with_the_first() {
    let mut w = World::lab();
    w.run_to(10.5);
    w.kill_backend("172.20.0.85:80");
    w.kill_backend("172.20.0.86:80");
    w.run_to(20.5);
    w.revive_backend("172.20.0.86:80");
    w.run_to(30.0);
    #[derive(Debug, PartialEq)]
    enum Ev {
        Rs(std::net::SocketAddr, bool),
        Quorum(bool),
    }
    for node in [NODE01, NODE02] {
        let events: Vec<Ev> = w
            .log_since(node, w.start)
            .filter_map(|l| match &l.cmd {
                Command::RealServerChanged {
                    real_server, up, ..
                } => Some(Ev::Rs(*real_server, *up)),
                Command::QuorumChanged { service, up } => {
                    assert_eq!(*service, http());
                    Some(Ev::Quorum(*up))
                }
                _ => None,
            })
            .collect();
        let (a, b) = (sa("172.20.0.85:80"), sa("172.20.0.86:80"));
        // Started with its quorum: nothing said at start; the real server's
        // line comes before the quorum's, as in keepalived.
        let mut down = [Ev::Rs(a, false), Ev::Rs(b, false)];
        if events.first() == Some(&Ev::Rs(b, false)) {
            down.swap(0, 1);
        }
        let [d0, d1] = down;
        assert_eq!(
            events,
            vec![d0, d1, Ev::Quorum(false), Ev::Rs(b, true), Ev::Quorum(true)],
            "node {node}"
        );
    }
    no_ipvs_errors(&w);
}
