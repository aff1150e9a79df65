//! Two directors and their backends on a virtual clock (see `sim/mod.rs`):
//! start, failover, handover, real-server churn, reloads, split brain, IPVS
//! write failures and link loss, each with its exact timing.

mod sim;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use lvs_director::{Command, DirectorConfig, Script, TrackScript, TrackedScript};
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
    // NODE01 never left Master and kept its schedule throughout; hearing
    // NODE02's lower priority it answered once at once and re-announced
    // the VIP, which hosts may have learnt from NODE02 (keepalived's
    // default garp_lower_prio_repeat), and again 5 s later.
    assert_eq!(w.transitions(NODE01, w.start).len(), 1);
    let adverts = w.adverts(NODE01, w.start);
    let (scheduled, extra): (Vec<_>, Vec<_>) = adverts
        .iter()
        .partition(|t| (**t - w.start).subsec_nanos() == 0);
    assert_steady("NODE01 scheduled adverts", &scheduled, ADVERT);
    assert_eq!(extra.len(), 1, "one answer to NODE02: {extra:?}");
    assert!(extra[0] > healed && extra[0] - healed <= ADVERT);
    w.run_to(40.0);
    let announced: Vec<_> = w
        .log_since(NODE01, healed)
        .filter(|l| matches!(l.cmd, Command::Announce { addr, count: 5, .. } if addr == vip()))
        .map(|l| l.at)
        .collect();
    assert_eq!(announced.len(), 2, "{announced:?}");
    assert_eq!(announced[0], extra[0]);
    assert_eq!(announced[1] - announced[0], Duration::from_secs(5));
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

// ---- tracked scripts (keepalived's vrrp_script / track_script) ----

const CHK: &str = "chk_service";

/// The lab with `script` defined on the node and tracked by its instance
/// (with `tracked`'s override, if any).
fn scripted(node: usize, script: TrackScript, tracked: TrackedScript) -> DirectorConfig {
    let mut cfg = lab_config(node);
    cfg.track_scripts.push(script);
    cfg.instances[0].track_scripts.push(tracked);
    cfg
}

/// A script run every second, fall 2, rise 2, with this weight.
fn chk(weight: i16) -> TrackScript {
    TrackScript::new(CHK, Script::new(["/bin/true"]).expect("argv"))
        .with_fall(2)
        .with_rise(2)
        .with_weight(weight)
}

fn mdi01() -> Duration {
    AdvertInterval::V2(Seconds(1)).master_down_interval(100)
}

/// Fails NODE01's script at 10 s: with fall 2 it is failed after the runs
/// at 10 s and 11 s. Returns how long after the first failing run NODE02
/// became Master, checked against interval × fall + Master_Down_Interval.
fn fail_master_script_and_measure(w: &mut World) -> Duration {
    w.run_to(9.5);
    assert_eq!(w.masters(), vec![NODE01]);
    w.fail_script(NODE01, CHK);
    w.run_to(25.0);
    let t = w.at(10.0);
    let became = w.became_master(NODE02, t).expect("NODE02 took over");
    let took = became - t;
    eprintln!("script failover: NODE02 Master {took:?} after the first failing run");
    assert!(
        took <= 2 * Duration::from_secs(1) + mdi02(),
        "failover took {took:?}"
    );
    assert_eq!(w.masters(), vec![NODE02]);
    assert!(w.holds_vip(NODE02) && !w.holds_vip(NODE01));
    took
}

/// Passes NODE01's script again at 30 s (rise 2: OK after the runs at 30 s
/// and 31 s): NODE01 preempts back, within interval × rise + its own
/// Master_Down_Interval.
fn pass_master_script_and_preempt_back(w: &mut World, priority: u8) {
    w.run_to(29.5);
    w.pass_script(NODE01, CHK);
    w.run_to(45.0);
    let t = w.at(30.0);
    assert_eq!(w.priority(NODE01), priority);
    let back = w.became_master(NODE01, t).expect("NODE01 preempted back");
    eprintln!(
        "script recovery: NODE01 Master {:?} after the first passing run",
        back - t
    );
    assert!(back - t <= 2 * Duration::from_secs(1) + mdi01());
    assert!(back > w.at(31.0));
    // NODE01 took over when its Master_Down_Timer fired: it ignored the
    // first advert after its priority rose (31 s), so the timer ran from
    // the one before, and moved earlier when its Skew_Time shrank.
    let accepted = *w
        .adverts(NODE02, w.at(29.0))
        .iter()
        .rfind(|a| **a < w.at(31.0))
        .expect("NODE02 advert");
    // (keepalived's shift), which makes it the new priority's interval.
    let mdi_new = AdvertInterval::V2(Seconds(1)).master_down_interval(priority);
    assert_close(
        "preempt back",
        back - accepted,
        mdi_new,
        Duration::from_millis(2),
    );
    assert_eq!(w.masters(), vec![NODE01]);
    assert!(w.holds_vip(NODE01) && !w.holds_vip(NODE02));
}

#[test]
fn negative_weight_script_failing_on_the_master_moves_the_vip_and_back() {
    let mut w = World::new([
        scripted(NODE01, chk(-20), TrackedScript::new(CHK)),
        scripted(NODE02, chk(-20), TrackedScript::new(CHK)),
    ]);
    assert_eq!((w.priority(NODE01), w.priority(NODE02)), (100, 90));
    let took = fail_master_script_and_measure(&mut w);
    // Failed after the second failing run (11 s); NODE02 had accepted
    // NODE01's advert of 11 s (still 100: sent before the run), ignores the
    // 80 of 12 s on, and takes over when its Master_Down_Timer fires.
    assert_eq!(w.priority(NODE01), 80);
    let scripts = w.nodes[NODE01].director.status().scripts;
    assert_eq!(scripts.len(), 1);
    assert_eq!(
        (scripts[0].name.as_str(), scripts[0].ok),
        (CHK, Some(false))
    );
    assert_close(
        "failover",
        took,
        Duration::from_secs(1) + mdi02(),
        Duration::from_millis(2),
    );
    assert_eq!(w.state(NODE01), Some(State::Backup));
    pass_master_script_and_preempt_back(&mut w, 100);
}

#[test]
fn positive_weight_script_failing_on_the_master_moves_the_vip_and_back() {
    // 120 / 110 while both scripts pass; NODE01 failing is 100 < 110.
    let mut w = World::new([
        scripted(NODE01, chk(20), TrackedScript::new(CHK)),
        scripted(NODE02, chk(20), TrackedScript::new(CHK)),
    ]);
    // Weights apply from the first result (the runs at 0 s).
    assert_eq!((w.priority(NODE01), w.priority(NODE02)), (100, 90));
    w.run_to(0.0);
    assert_eq!((w.priority(NODE01), w.priority(NODE02)), (120, 110));
    fail_master_script_and_measure(&mut w);
    assert_eq!(w.priority(NODE01), 100);
    pass_master_script_and_preempt_back(&mut w, 120);
}

#[test]
fn track_script_weight_override_applies_per_instance() {
    // The script says +20; NODE01's track_script says -5: failing gives
    // 95 > 90, so NODE01 stays Master.
    let mut w = World::new([
        scripted(NODE01, chk(20), TrackedScript::new(CHK).with_weight(-5)),
        scripted(NODE02, chk(20), TrackedScript::new(CHK).with_weight(-5)),
    ]);
    assert_eq!((w.priority(NODE01), w.priority(NODE02)), (100, 90));
    w.fail_script(NODE01, CHK);
    w.run_to(10.0);
    assert_eq!(w.priority(NODE01), 95);
    assert_eq!(w.masters(), vec![NODE01]);
}

#[test]
fn reverse_weight_subtracts_while_the_script_succeeds() {
    // A maintenance flag: `weight 20 reverse` takes 20 off while the
    // script succeeds. It fails at first (no flag): nothing changes.
    let mut w = World::new([
        scripted(NODE01, chk(20).with_reverse(true), TrackedScript::new(CHK)),
        lab_config(NODE02),
    ]);
    w.fail_script(NODE01, CHK);
    w.run_to(9.5);
    assert_eq!(w.priority(NODE01), 100);
    assert_eq!(w.masters(), vec![NODE01]);
    // The flag appears: 80 < 90, NODE02 takes over.
    w.pass_script(NODE01, CHK);
    w.run_to(25.0);
    assert_eq!(w.priority(NODE01), 80);
    let became = w
        .became_master(NODE02, w.at(9.5))
        .expect("NODE02 took over");
    assert!(became - w.at(10.0) <= 2 * Duration::from_secs(1) + mdi02());
    assert_eq!(w.masters(), vec![NODE02]);
    // Gone again: NODE01 preempts back.
    w.fail_script(NODE01, CHK);
    w.run_to(40.0);
    assert_eq!(w.priority(NODE01), 100);
    assert_eq!(w.masters(), vec![NODE01]);
}

#[test]
fn init_fail_starts_failed_until_rise_successes() {
    // NODE01 starts at 80 (init_fail, weight -20) although its script
    // passes: rise 5 keeps it failed until the run at 4 s.
    let mut w = World::new([
        scripted(
            NODE01,
            chk(-20).with_rise(5).with_init_fail(true),
            TrackedScript::new(CHK),
        ),
        lab_config(NODE02),
    ]);
    assert_eq!(w.priority(NODE01), 80);
    w.run_to(0.0);
    assert_eq!(w.masters(), vec![NODE01]);
    w.run_to(3.9);
    // NODE02 ignored the lower Master and took over at its Master_Down_Interval.
    let became = w.became_master(NODE02, w.start).expect("NODE02 Master");
    assert_close(
        "takeover",
        became - w.start,
        mdi02(),
        Duration::from_millis(2),
    );
    assert_eq!(w.masters(), vec![NODE02]);
    w.run_to(15.0);
    assert_eq!(w.priority(NODE01), 100);
    assert_eq!(w.masters(), vec![NODE01]);

    // Without init_fail the first success decides at once: NODE01 is never displaced.
    let mut w = World::new([
        scripted(NODE01, chk(-20).with_rise(5), TrackedScript::new(CHK)),
        lab_config(NODE02),
    ]);
    w.run_to(15.0);
    assert_eq!(w.priority(NODE01), 100);
    assert!(w.became_master(NODE02, w.start).is_none());
}

#[test]
fn weight_zero_script_failing_is_a_fault() {
    let fault =
        |fall| TrackScript::new(CHK, Script::new(["/bin/true"]).expect("argv")).with_fall(fall);
    let mut w = World::new([
        scripted(NODE01, fault(1), TrackedScript::new(CHK)),
        lab_config(NODE02),
    ]);
    // The instance waits for the script's first result (the run at 0 s).
    assert_eq!(w.state(NODE01), Some(State::Initialize));
    w.run_to(0.0);
    assert_eq!(w.state(NODE01), Some(State::Master));
    w.run_to(9.5);
    w.fail_script(NODE01, CHK);
    w.run_to(20.0);
    // FAULT at the failing run of 10 s: it resigns (priority 0), so NODE02
    // takes over after its Skew_Time only.
    let t = w.at(10.0);
    assert!(
        w.transitions(NODE01, t)
            .iter()
            .any(|(at, from, to)| *at == t && *from == State::Master && *to == State::Fault)
    );
    let became = w.became_master(NODE02, t).expect("NODE02 took over");
    assert_close(
        "fault handover",
        became - t,
        skew02(),
        Duration::from_millis(2),
    );
    assert_eq!(w.state(NODE01), Some(State::Fault));
    assert!(!w.holds_vip(NODE01));
    // Passing again clears the fault; NODE01 listens, then preempts.
    w.run_to(29.5);
    w.pass_script(NODE01, CHK);
    w.run_to(40.0);
    let t = w.at(30.0);
    let back = w.became_master(NODE01, t).expect("NODE01 back");
    assert_close(
        "preempt after fault",
        back - t,
        mdi01(),
        Duration::from_millis(2),
    );
    assert_eq!(w.masters(), vec![NODE01]);
}

#[test]
fn weight_zero_script_without_a_result_holds_the_instance_in_initialize() {
    let mut cfg = scripted(
        NODE01,
        TrackScript::new(CHK, Script::new(["/bin/true"]).expect("argv")),
        TrackedScript::new(CHK),
    );
    cfg.instances[0].router.start_as_master = true;
    let now = Instant::now();
    let mut d = lvs_director::Director::new(now, cfg).expect("valid");
    let mut key = None;
    while let Some(c) = d.poll_command() {
        assert!(!matches!(
            c,
            Command::SendAdvert { .. } | Command::AddVip { .. }
        ));
        if let Command::AddTrackScript { probe, .. } = c {
            key = Some(probe);
        }
    }
    assert_eq!(d.instance_state(INSTANCE), Some(State::Initialize));
    let key = key.expect("the script is run");
    d.handle_check(
        now,
        key,
        lvs_director::CheckEvent::Pool {
            in_pool: true,
            reason: None,
        },
    );
    assert_eq!(d.instance_state(INSTANCE), Some(State::Master));
}

#[test]
fn reload_keeps_the_state_of_unchanged_scripts() {
    let cfg = scripted(NODE01, chk(-20), TrackedScript::new(CHK));
    let mut w = World::new([
        cfg.clone(),
        scripted(NODE02, chk(-20), TrackedScript::new(CHK)),
    ]);
    w.fail_script(NODE01, CHK);
    w.run_to(20.0);
    assert_eq!(w.priority(NODE01), 80);
    assert_eq!(w.masters(), vec![NODE02]);
    let t = w.now;
    let summary = w.apply_config(NODE01, cfg.clone());
    assert!(summary.is_empty(), "{summary:?}");
    // Changing only the weight keeps the script running with its result.
    let mut heavier = cfg.clone();
    heavier.track_scripts[0].weight = -30;
    w.apply_config(NODE01, heavier);
    assert_eq!(w.priority(NODE01), 70);
    assert_eq!(
        w.count(NODE01, t, |c| matches!(c, Command::AddTrackScript { .. })),
        0
    );
    // A changed command restarts it, undecided; its next result decides.
    let mut other = cfg;
    other.track_scripts[0].script = Script::new(["/bin/false"]).expect("argv");
    w.apply_config(NODE01, other);
    assert_eq!(
        w.count(NODE01, t, |c| matches!(c, Command::AddTrackScript { .. })),
        1
    );
    w.run_for(Duration::from_secs(3));
    assert_eq!(w.priority(NODE01), 80);
}

#[test]
fn address_owner_ignores_weighted_scripts() {
    let mut cfg = scripted(NODE01, chk(-20), TrackedScript::new(CHK));
    cfg.instances[0].router.priority = 255;
    let mut w = World::new([cfg, lab_config(NODE02)]);
    w.fail_script(NODE01, CHK);
    w.run_to(10.0);
    assert_eq!(w.priority(NODE01), 255);
    assert_eq!(w.masters(), vec![NODE01]);
}

#[test]
fn leftover_vips_go_unless_the_instance_starts_as_master() {
    let removes = |cfg: DirectorConfig| {
        let mut d = lvs_director::Director::new(Instant::now(), cfg).expect("valid");
        let mut cmds = Vec::new();
        while let Some(c) = d.poll_command() {
            cmds.push(c);
        }
        let removed = cmds
            .iter()
            .any(|c| matches!(c, Command::RemoveVip { vip: v, .. } if v.addr == vip()));
        let added = cmds
            .iter()
            .any(|c| matches!(c, Command::AddVip { vip: v, .. } if v.addr == vip()));
        (added, removed)
    };
    // state MASTER: added, not removed; held in Initialize by an undecided
    // weight-0 script: removed, as a Backup's are.
    assert_eq!(removes(lab_config(NODE01)), (true, false));
    assert_eq!(removes(lab_config(NODE02)), (false, true));
    let held = scripted(
        NODE01,
        TrackScript::new(CHK, Script::new(["/bin/true"]).expect("argv")),
        TrackedScript::new(CHK),
    );
    assert_eq!(removes(held), (false, true));
    // The address owner is Master at once even without `state MASTER`.
    let mut owner = lab_config(NODE02);
    owner.instances[0].router.priority = 255;
    assert_eq!(removes(owner), (true, false));
}

/// One IPVS command carried out by a node from `since` on, per command.
fn ipvs_commands(w: &World, node: usize, since: Instant) -> Vec<Vec<Op>> {
    w.log_since(node, since)
        .filter_map(|l| match &l.cmd {
            Command::Ipvs(ops) => Some(ops.clone()),
            _ => None,
        })
        .collect()
}

fn group_config(node: usize, members: &[lvs_ipvs::ServiceKey]) -> lvs_director::DirectorConfig {
    config(
        node,
        vec![group_server(
            "VSG_1",
            members,
            &["172.20.0.85:80", "172.20.0.86:80"],
        )],
    )
}

#[test]
fn a_group_is_every_member_in_the_table_with_one_probe_per_real_server() {
    let members = group_members();
    let mut w = World::new([
        group_config(NODE01, &members),
        group_config(NODE02, &members),
    ]);
    let both = set(&["172.20.0.85:80", "172.20.0.86:80"]);
    for node in [NODE01, NODE02] {
        // Every member in the desired table and in the kernel, each with
        // both real servers.
        let table = w.nodes[node].director.desired_table();
        let keys: Vec<_> = table.iter().map(|e| e.service.key).collect();
        assert_eq!(keys, members, "node {node}");
        for key in &members {
            assert_eq!(w.kernel_dests(node, *key), both, "node {node} {key:?}");
        }
        // One probe per real server, not one per member.
        let probes: Vec<_> = w
            .log_since(node, w.start)
            .filter_map(|l| match &l.cmd {
                Command::AddProbe { real_server, .. } => Some(*real_server),
                _ => None,
            })
            .collect();
        assert_eq!(probes, vec![sa("172.20.0.85:80"), sa("172.20.0.86:80")]);
        let st = w.nodes[node].director.status();
        assert_eq!(st.services.len(), 1);
        assert_eq!(st.services[0].group.as_deref(), Some("VSG_1"));
        assert_eq!(st.services[0].members, members);
        assert_eq!(st.services[0].real_servers.len(), 2);
    }
    w.run_to(10.5);
    let killed = w.now;
    w.kill_backend("172.20.0.86:80");
    w.run_to(14.0);
    let www2 = sa("172.20.0.86:80");
    for node in [NODE01, NODE02] {
        // The one health verdict takes it out of every member, in one
        // command of one delete per member.
        let cmds = ipvs_commands(&w, node, killed);
        let want: Vec<Op> = members
            .iter()
            .map(|k| Op::DeleteDestination(*k, www2))
            .collect();
        assert_eq!(cmds, vec![want], "node {node}");
        for key in &members {
            assert_eq!(w.kernel_dests(node, *key), set(&["172.20.0.85:80"]));
        }
        // Checked once: every probe run after the kill is one per server.
        let runs: Vec<_> = w.nodes[node]
            .probe_runs
            .iter()
            .filter(|(at, ..)| *at >= killed)
            .map(|(_, k, _)| *k)
            .collect();
        assert_eq!(runs.iter().filter(|k| **k == www2).count(), 2, "{runs:?}");
        let changes = w.count(node, killed, |c| {
            matches!(c, Command::RealServerChanged { up: false, .. })
        });
        assert_eq!(changes, 1);
    }
    // A reload that adds a member keeps the shared verdict: no new probe,
    // and the new member starts without the failed server.
    let t = w.now;
    let mut more = members.clone();
    more.push(lvs_ipvs::ServiceKey::tcp(sa("172.20.0.93:80")));
    w.apply_config(NODE01, group_config(NODE01, &more));
    assert_eq!(
        w.count(NODE01, t, |c| matches!(
            c,
            Command::AddProbe { .. } | Command::RemoveProbe { .. }
        )),
        0
    );
    assert_eq!(w.kernel_dests(NODE01, more[4]), set(&["172.20.0.85:80"]));
    // Back up: back in every member, again in one command.
    w.run_to(14.5);
    let revived = w.now;
    w.revive_backend("172.20.0.86:80");
    w.run_to(20.0);
    let cmds = ipvs_commands(&w, NODE01, revived);
    assert_eq!(cmds.len(), 1);
    assert_eq!(cmds[0].len(), more.len());
    for key in &more {
        assert_eq!(
            w.kernel_dests(NODE01, *key),
            set(&["172.20.0.85:80", "172.20.0.86:80"])
        );
    }
    no_ipvs_errors(&w);
}

#[test]
fn a_group_whose_first_member_changes_keeps_its_real_servers_health() {
    let members = group_members();
    let mut w = World::new([
        group_config(NODE01, &members),
        group_config(NODE02, &members),
    ]);
    w.kill_backend("172.20.0.86:80");
    w.run_to(1.5);
    let t = w.now;
    // The first range address dropped: the group's first member is now .91.
    w.apply_config(NODE01, group_config(NODE01, &members[1..]));
    assert_eq!(
        w.count(NODE01, t, |c| matches!(
            c,
            Command::AddProbe { .. } | Command::RemoveProbe { .. }
        )),
        0
    );
    assert_eq!(
        ipvs_commands(&w, NODE01, t),
        vec![vec![Op::DeleteService(members[0])]]
    );
    assert_eq!(w.kernel_dests(NODE01, members[0]), None);
    for key in &members[1..] {
        assert_eq!(w.kernel_dests(NODE01, *key), set(&["172.20.0.85:80"]));
    }
    no_ipvs_errors(&w);
}

#[test]
fn a_group_below_quorum_gets_the_sorry_server_in_every_member() {
    let members = group_members();
    let sorry = Destination::new(sa("172.20.0.99:80"), ForwardMethod::Masquerade);
    let cfg = |node| {
        let mut vs = group_server("VSG_1", &members, &["172.20.0.85:80", "172.20.0.86:80"]);
        vs.quorum = 2;
        vs.sorry_server = Some(sorry);
        config(node, vec![vs])
    };
    let mut w = World::new([cfg(NODE01), cfg(NODE02)]);
    w.kill_backend("172.20.0.86:80");
    w.run_to(1.5);
    for key in &members {
        assert_eq!(
            w.kernel_dests(NODE01, *key),
            set(&["172.20.0.85:80", "172.20.0.99:80"])
        );
    }
    no_ipvs_errors(&w);
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

/// keepalived's `quorum_up` / `quorum_down` scripts run as the quorum
/// state changes, `hysteresis` keeps it from following one server, and the
/// sorry server follows the same state; `omega` runs `quorum_down` and the
/// healthy servers' `notify_down` at shutdown.
#[test]
fn quorum_scripts_follow_the_quorum_with_its_hysteresis_and_omega_runs_at_shutdown() {
    let script = |s: &str| Script::new([s.to_string()]).expect("argv");
    let cfg = |node: usize| {
        let mut c = lab_config(node);
        let vs = &mut c.virtual_servers[0];
        vs.quorum = 2;
        vs.hysteresis = 1;
        vs.quorum_up = Some(script("/q-up"));
        vs.quorum_down = Some(script("/q-down"));
        vs.omega = true;
        vs.sorry_server = Some(Destination::new(
            sa("172.20.0.99:80"),
            ForwardMethod::Masquerade,
        ));
        for rs in &mut vs.real_servers {
            rs.notify_down = Some(script(&format!("/down-{}", rs.destination.addr)));
        }
        c
    };
    let mut w = World::new([cfg(NODE01), cfg(NODE02)]);
    let runs = |w: &World, since: Instant| -> Vec<String> {
        w.log_since(NODE01, since)
            .filter_map(|l| match &l.cmd {
                Command::RunScript { script, .. } => Some(script.argv[0].clone()),
                _ => None,
            })
            .collect()
    };
    w.run_to(10.5);
    // Weight 2 of quorum 2: held. One down leaves 1 = quorum - hysteresis:
    // still held (no script, no sorry server).
    let t = w.now;
    w.kill_backend("172.20.0.85:80");
    w.run_to(20.5);
    assert_eq!(runs(&w, t), ["/down-172.20.0.85:80"]);
    assert_eq!(w.kernel_dests(NODE01, http()), set(&["172.20.0.86:80"]));
    // Both down: lost, quorum_down, the sorry server in.
    let t = w.now;
    w.kill_backend("172.20.0.86:80");
    w.run_to(30.5);
    assert_eq!(runs(&w, t), ["/down-172.20.0.86:80", "/q-down"]);
    assert_eq!(w.kernel_dests(NODE01, http()), set(&["172.20.0.99:80"]));
    // Both back: 2 < quorum + hysteresis (3): still lost, sorry server stays.
    let t = w.now;
    w.revive_backend("172.20.0.85:80");
    w.revive_backend("172.20.0.86:80");
    w.run_to(40.5);
    assert!(!runs(&w, t).iter().any(|s| s.starts_with("/q-")));
    assert_eq!(
        w.kernel_dests(NODE01, http()),
        set(&["172.20.0.85:80", "172.20.0.86:80", "172.20.0.99:80"])
    );
    // With the margin gone (a reload with hysteresis 0), the quorum is back.
    let t = w.now;
    let mut c = cfg(NODE01);
    c.virtual_servers[0].hysteresis = 0;
    w.apply_config(NODE01, c);
    w.run_to(41.5);
    // A changed virtual server is rebuilt; its health is kept, so the
    // quorum is followed from its held-back state and gained now.
    assert_eq!(runs(&w, t), ["/q-up"]);
    assert_eq!(
        w.kernel_dests(NODE01, http()),
        set(&["172.20.0.85:80", "172.20.0.86:80"])
    );
    // omega: at shutdown, each healthy server's notify_down, then quorum_down.
    let t = w.now;
    w.shutdown(NODE01);
    let mut got = runs(&w, t);
    got.sort();
    assert_eq!(
        got,
        ["/down-172.20.0.85:80", "/down-172.20.0.86:80", "/q-down"]
    );
}
