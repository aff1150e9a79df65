//! Multi-router simulations on a virtual clock. Timing assertions compare
//! against the RFC formulas written out here independently of the crate:
//!
//! * v2 (RFC 3768): Master_Down_Interval = 3 × Adver_Int + (256 − Priority)/256 s
//! * v3 (RFC 5798): Master_Down_Interval = 3 × Master_Adver_Interval +
//!   ((256 − Priority) × Master_Adver_Interval) / 256, in centiseconds

mod sim;

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use lvs_vrrp::{
    Action, AdvertInterval, AnnounceReason, Centiseconds, Config, DropReason, FaultReason, Reason,
    Seconds, State, Track,
};
use sim::Sim;

fn ip(last: u8) -> IpAddr {
    Ipv4Addr::new(172, 20, 0, last).into()
}

const VIP: u8 = 83;

fn v2(prio: u8, last: u8) -> Config {
    Config::new(
        1,
        prio,
        AdvertInterval::V2(Seconds(1)),
        ip(last),
        vec![ip(VIP)],
    )
}

fn v3(prio: u8, last: u8, cs: u16) -> Config {
    Config::new(
        1,
        prio,
        AdvertInterval::V3(Centiseconds::new(cs).unwrap()),
        ip(last),
        vec![ip(VIP)],
    )
}

/// RFC 3768 Master_Down_Interval, exact.
fn mdi_v2(adver_s: u64, prio: u64) -> Duration {
    Duration::from_secs(3 * adver_s) + Duration::from_nanos((256 - prio) * 1_000_000_000 / 256)
}

/// RFC 5798 Master_Down_Interval, centisecond integer arithmetic.
fn mdi_v3(cs: u64, prio: u64) -> Duration {
    Duration::from_millis((3 * cs + (256 - prio) * cs / 256) * 10)
}

fn skew_v2(prio: u64) -> Duration {
    Duration::from_nanos((256 - prio) * 1_000_000_000 / 256)
}

#[test]
fn lab_election_higher_priority_wins_at_its_master_down_interval() {
    let mut s = Sim::new(1);
    let n1 = s.add(v2(100, 81));
    let n2 = s.add(v2(90, 82));
    s.start_all();
    s.run_for(Duration::from_secs(10));
    assert_eq!(s.state(n1), State::Master);
    assert_eq!(s.state(n2), State::Backup);
    // Both start as Backup; the priority-100 timer expires first.
    assert_eq!(
        s.became(n1, State::Master, s.start),
        Some(s.start + mdi_v2(1, 100))
    );
    assert_eq!(s.became(n2, State::Master, s.start), None);
}

#[test]
fn failover_on_master_loss_takes_exactly_master_down_interval_v2() {
    let mut s = Sim::new(2);
    let n1 = s.add(v2(100, 81));
    let n2 = s.add(v2(90, 82));
    s.start_all();
    s.run_for(Duration::from_millis(10_500));
    let crash = s.now;
    let last = s.last_advert(n1, crash).unwrap();
    s.crash(n1);
    s.run_for(Duration::from_secs(10));
    let took_over = s.became(n2, State::Master, crash).unwrap();
    assert_eq!(took_over - last, mdi_v2(1, 90));
    // The new Master's first advert goes out at that very instant.
    assert_eq!(s.first_advert(n2, crash), Some(took_over));
    assert_eq!(took_over - last, Duration::from_nanos(3_648_437_500));
}

#[test]
fn failover_v3_fast_adverts_under_400ms() {
    let mut s = Sim::new(3);
    let n1 = s.add(v3(100, 81, 10));
    let n2 = s.add(v3(90, 82, 10));
    s.start_all();
    s.run_for(Duration::from_secs(3));
    assert_eq!(s.state(n1), State::Master);
    let crash = s.now;
    let last = s.last_advert(n1, crash).unwrap();
    s.crash(n1);
    s.run_for(Duration::from_secs(2));
    let took_over = s.became(n2, State::Master, crash).unwrap();
    assert_eq!(took_over - last, mdi_v3(10, 90));
    assert_eq!(took_over - last, Duration::from_millis(360));
}

#[test]
fn backup_learns_master_adver_interval_in_v3() {
    let mut s = Sim::new(4);
    // The Master advertises every 50 cs; the Backup is configured with 100 cs.
    let n1 = s.add(v3(100, 81, 50));
    let n2 = s.add(v3(90, 82, 100));
    s.start_all();
    s.run_for(Duration::from_secs(8));
    assert_eq!(s.state(n1), State::Master);
    assert_eq!(
        s.nodes[n2].router.master_adver_interval(),
        AdvertInterval::V3(Centiseconds::new(50).unwrap())
    );
    let crash = s.now;
    let last = s.last_advert(n1, crash).unwrap();
    s.crash(n1);
    s.run_for(Duration::from_secs(5));
    let took_over = s.became(n2, State::Master, crash).unwrap();
    assert_eq!(took_over - last, mdi_v3(50, 90));
}

#[test]
fn priority_zero_handover_waits_only_skew_time() {
    for (cfg1, cfg2, skew) in [
        (v2(100, 81), v2(90, 82), skew_v2(90)),
        (
            v3(100, 81, 100),
            v3(90, 82, 100),
            Duration::from_millis(166 * 100 / 256 * 10),
        ),
    ] {
        let mut s = Sim::new(5);
        let n1 = s.add(cfg1);
        let n2 = s.add(cfg2);
        s.start_all();
        s.run_for(Duration::from_millis(10_300));
        assert_eq!(s.state(n1), State::Master);
        let stop = s.now;
        s.shutdown(n1);
        // The resignation is a priority-0 advert, and the VIP is released.
        let resign = s.events.iter().rev().find_map(|e| match &e.action {
            Action::Transmit(t) if e.node == n1 => Some(t.payload[2]),
            _ => None,
        });
        assert_eq!(resign, Some(0));
        assert!(s.events.iter().any(|e| e.node == n1
            && e.at == stop
            && matches!(e.action, Action::RemoveAddresses { .. })));
        s.run_for(Duration::from_secs(5));
        assert_eq!(s.became(n2, State::Master, stop), Some(stop + skew));
    }
}

#[test]
fn preemption_by_a_higher_priority_router_joining() {
    let mut s = Sim::new(6);
    let n1 = s.add(v2(100, 81));
    let n2 = s.add(v2(90, 82));
    s.start(n2);
    s.run_for(Duration::from_secs(10));
    assert_eq!(s.state(n2), State::Master);
    let join = s.now;
    s.start(n1);
    s.run_for(Duration::from_secs(10));
    // n1 ignores the lower-priority Master and takes over when its own
    // Master_Down_Timer (armed at start) expires.
    let took = s.became(n1, State::Master, join).unwrap();
    assert_eq!(took - join, mdi_v2(1, 100));
    let yielded = s.became(n2, State::Backup, join).unwrap();
    assert_eq!(yielded, took);
    assert_eq!(s.state(n2), State::Backup);
}

#[test]
fn no_preemption_when_preempt_is_off() {
    let mut s = Sim::new(7);
    let mut c1 = v2(100, 81);
    c1.preempt = false;
    let n1 = s.add(c1);
    let n2 = s.add(v2(90, 82));
    s.start(n2);
    s.run_for(Duration::from_secs(10));
    s.start(n1);
    s.run_for(Duration::from_secs(30));
    assert_eq!(s.state(n1), State::Backup);
    assert_eq!(s.state(n2), State::Master);
}

#[test]
fn preempt_delay_postpones_preemption() {
    let mut s = Sim::new(8);
    let mut c1 = v2(100, 81);
    c1.preempt_delay = Duration::from_secs(20);
    let n1 = s.add(c1);
    let n2 = s.add(v2(90, 82));
    s.start(n2);
    s.run_for(Duration::from_secs(10));
    let join = s.now;
    s.start(n1);
    s.run_for(Duration::from_secs(19));
    assert_eq!(s.state(n1), State::Backup, "preempted before the delay");
    s.run_for(Duration::from_secs(10));
    assert_eq!(s.state(n1), State::Master);
    let took = s.became(n1, State::Master, join).unwrap();
    // Tolerated until the delay ran out, then one Master_Down_Interval
    // after the last advert accepted before that.
    assert!(took - join >= Duration::from_secs(20));
    assert!(took - join <= Duration::from_secs(21) + mdi_v2(1, 100));
}

#[test]
fn equal_priority_tie_breaks_on_higher_primary_address() {
    let mut s = Sim::new(9);
    let mut c1 = v2(100, 81);
    c1.start_as_master = true;
    let mut c2 = v2(100, 82);
    c2.start_as_master = true;
    let n1 = s.add(c1);
    let n2 = s.add(c2);
    s.start_all();
    s.run_for(Duration::from_secs(5));
    assert_eq!(s.state(n2), State::Master);
    assert_eq!(s.state(n1), State::Backup);
    assert!(s.events.iter().any(|e| e.node == n1
        && matches!(&e.action, Action::StateChanged { to: State::Backup, reason: Reason::HigherPriority { from, priority: 100 }, .. } if *from == ip(82))));
}

#[test]
fn address_owner_takes_over_at_once_and_ignores_adverts() {
    let mut s = Sim::new(10);
    let n2 = s.add(v2(90, 82));
    s.start(n2);
    s.run_for(Duration::from_secs(10));
    let join = s.now;
    let n1 = s.add(v2(255, 81));
    s.start(n1);
    assert_eq!(s.became(n1, State::Master, join), Some(join));
    s.run_for(Duration::from_secs(5));
    assert_eq!(s.state(n1), State::Master);
    assert_eq!(s.state(n2), State::Backup);
    // A (misconfigured or late) advert from n2 reaches the owner: dropped.
    let advert = lvs_vrrp::Repr {
        vrid: 1,
        priority: 254,
        kind: lvs_vrrp::Kind::V2 {
            interval: Seconds(1),
            auth: lvs_vrrp::Auth::None,
        },
        addresses: lvs_vrrp::Addresses::V4(vec![Ipv4Addr::new(172, 20, 0, VIP)]),
    };
    let group: IpAddr = lvs_vrrp::wire::MULTICAST_V4.into();
    let bytes = advert
        .to_bytes(lvs_vrrp::ChecksumForm::MessageOnly, &ip(82), &group)
        .unwrap();
    let meta = lvs_vrrp::RecvMeta {
        source: ip(82),
        destination: group,
        hop_limit: 255,
    };
    let t = s.local(n1);
    assert_eq!(
        s.nodes[n1].router.handle_packet(t, &meta, &bytes),
        Err(DropReason::OwnerReceived)
    );
    // The owner accepts traffic for the addresses whatever Accept_Mode says.
    assert!(
        s.events
            .iter()
            .any(|e| e.node == n1 && matches!(e.action, Action::AddAddresses { accept: true, .. }))
    );
}

#[test]
fn tracked_weight_lowers_priority_and_hands_over() {
    let mut s = Sim::new(11);
    let mut c1 = v2(100, 81);
    c1.tracks.push(Track::new("http", -20));
    let n1 = s.add(c1);
    let n2 = s.add(v2(90, 82));
    s.start_all();
    s.run_for(Duration::from_secs(10));
    assert_eq!(s.state(n1), State::Master);
    let t = s.local(n1);
    s.nodes[n1].router.set_track(t, "http", false).unwrap();
    assert_eq!(s.nodes[n1].router.effective_priority(), 80);
    let down = s.now;
    s.run_for(Duration::from_secs(10));
    // n2 (90, preempt) now outranks the advertised 80: it stops accepting,
    // and takes over one Master_Down_Interval after the last advert it
    // accepted (the one at priority 100).
    let took = s.became(n2, State::Master, down).unwrap();
    let last_accepted = s.last_advert(n1, down).unwrap();
    assert_eq!(took - last_accepted, mdi_v2(1, 90));
    assert_eq!(s.state(n1), State::Backup);
    assert!(s.nodes[n1].router.set_track(t, "nope", true).is_err());
}

#[test]
fn fault_resigns_and_recovery_returns_to_backup() {
    let mut s = Sim::new(12);
    let mut c1 = v2(100, 81);
    c1.tracks.push(Track::new("uplink", 0));
    let n1 = s.add(c1);
    let n2 = s.add(v2(90, 82));
    s.start_all();
    s.run_for(Duration::from_secs(10));
    let t = s.local(n1);
    let fault = s.now;
    s.nodes[n1].router.set_track(t, "uplink", false).unwrap();
    s.drain(n1);
    assert_eq!(s.state(n1), State::Fault);
    s.run_for(Duration::from_secs(5));
    assert_eq!(
        s.became(n2, State::Master, fault),
        Some(fault + skew_v2(90))
    );
    // Link-down on top, then both clear: back to Backup, then preempts.
    let t = s.local(n1);
    s.nodes[n1].router.set_fault(t, FaultReason::LinkDown, true);
    s.nodes[n1].router.set_track(t, "uplink", true).unwrap();
    assert_eq!(s.state(n1), State::Fault);
    let clear = s.now;
    s.nodes[n1]
        .router
        .set_fault(t, FaultReason::LinkDown, false);
    s.drain(n1);
    assert_eq!(s.state(n1), State::Backup);
    s.run_for(Duration::from_secs(10));
    assert_eq!(
        s.became(n1, State::Master, clear),
        Some(clear + mdi_v2(1, 100))
    );
}

#[test]
fn startup_delay_holds_initialize() {
    let mut s = Sim::new(13);
    let mut c = v2(100, 81);
    c.startup_delay = Duration::from_secs(7);
    let n1 = s.add(c);
    s.start(n1);
    s.run_for(Duration::from_secs(6));
    assert_eq!(s.state(n1), State::Initialize);
    s.run_for(Duration::from_secs(10));
    assert_eq!(
        s.became(n1, State::Master, s.start),
        Some(s.start + Duration::from_secs(7) + mdi_v2(1, 100))
    );
}

#[test]
fn announcement_schedule_on_becoming_master() {
    let mut s = Sim::new(14);
    let mut c = v2(100, 81);
    c.announce.refresh = Some(Duration::from_secs(60));
    c.virtual_mac = true;
    let n1 = s.add(c);
    s.start(n1);
    s.run_for(Duration::from_secs(150));
    let master_at = s.became(n1, State::Master, s.start).unwrap();
    let announces: Vec<_> = s
        .events
        .iter()
        .filter_map(|e| match &e.action {
            Action::Announce(a) => Some((e.at - master_at, a.reason, a.count, a.mac)),
            _ => None,
        })
        .collect();
    let mac = Some([0x00, 0x00, 0x5e, 0x00, 0x01, 1]);
    assert_eq!(
        announces,
        vec![
            (Duration::ZERO, AnnounceReason::BecameMaster, 5, mac),
            (Duration::from_secs(5), AnnounceReason::Repeat, 5, mac),
            (Duration::from_secs(60), AnnounceReason::Refresh, 5, mac),
            (Duration::from_secs(120), AnnounceReason::Refresh, 5, mac),
        ]
    );
}

#[test]
fn unicast_peers_elect_too() {
    let mut s = Sim::new(15);
    let mut c1 = v3(100, 81, 100);
    c1.unicast_peers = vec![ip(82)];
    let mut c2 = v3(90, 82, 100);
    c2.unicast_peers = vec![ip(81)];
    let n1 = s.add(c1);
    let n2 = s.add(c2);
    s.start_all();
    s.run_for(Duration::from_secs(10));
    assert_eq!(s.state(n1), State::Master);
    assert_eq!(s.state(n2), State::Backup);
    assert!(s.events.iter().any(|e| matches!(&e.action,
        Action::Transmit(t) if t.destination == ip(82))));
    assert_eq!(
        s.nodes[n2].router.peer_checksum_form(),
        Some(lvs_vrrp::ChecksumForm::PseudoHeader)
    );
}

#[test]
fn ipv6_election() {
    let a: IpAddr = "fe80::81".parse().unwrap();
    let b: IpAddr = "fe80::82".parse().unwrap();
    let vip: IpAddr = "fd00::83".parse().unwrap();
    let cs = AdvertInterval::V3(Centiseconds::new(100).unwrap());
    let mut s = Sim::new(16);
    let n1 = s.add(Config::new(1, 100, cs, a, vec![vip]));
    let n2 = s.add(Config::new(1, 90, cs, b, vec![vip]));
    s.start_all();
    s.run_for(Duration::from_secs(10));
    assert_eq!(s.state(n1), State::Master);
    assert_eq!(s.state(n2), State::Backup);
    assert_eq!(
        s.became(n1, State::Master, s.start),
        Some(s.start + mdi_v3(100, 100))
    );
}

/// Loss, partitions that heal, clock jumps, crashes and restarts, on two
/// VRIDs of three routers each; after the chaos stops and the network is
/// healed, exactly one Master per VRID, and it is the highest priority.
#[test]
fn chaos_always_converges_to_one_master_per_vrid() {
    let mut takeovers = 0;
    let mut split_brain_seen = 0;
    for seed in 0..40u64 {
        let mut s = Sim::new(seed + 100);
        let mut groups: Vec<Vec<usize>> = Vec::new();
        for (vrid, v3) in [(1u8, false), (2u8, true)] {
            let mut g = Vec::new();
            for (k, prio) in [(0u8, 100u8), (1, 90), (2, 80)] {
                let addr = ip(10 * vrid + k);
                let interval = if v3 {
                    AdvertInterval::V3(Centiseconds::new(20).unwrap())
                } else {
                    AdvertInterval::V2(Seconds(1))
                };
                let mut c = Config::new(vrid, prio, interval, addr, vec![ip(200 + vrid)]);
                c.start_as_master = s.rand_below(2) == 0;
                g.push(s.add(c));
            }
            groups.push(g);
        }
        s.start_all();
        s.loss = 200;
        s.max_latency = Duration::from_millis(5);
        let all: Vec<usize> = groups.iter().flatten().copied().collect();
        for _ in 0..30 {
            match s.rand_below(6) {
                0 => {
                    let a = all[s.rand_below(all.len() as u64) as usize];
                    let b = all[s.rand_below(all.len() as u64) as usize];
                    if a != b {
                        s.partition(a, b);
                    }
                }
                1 => s.heal(),
                2 => {
                    let n = all[s.rand_below(all.len() as u64) as usize];
                    let d = Duration::from_millis(s.rand_below(30_000));
                    s.jump(n, d);
                }
                3 => {
                    let n = all[s.rand_below(all.len() as u64) as usize];
                    if s.nodes[n].alive {
                        s.crash(n);
                    } else {
                        s.restart(n);
                    }
                }
                4 => {
                    let n = all[s.rand_below(all.len() as u64) as usize];
                    if s.nodes[n].alive && s.state(n) != State::Initialize {
                        s.shutdown(n);
                        s.start(n);
                    }
                }
                _ => {}
            }
            let d = Duration::from_millis(s.rand_below(3000));
            s.run_for(d);
            if groups.iter().any(|g| s.masters(g).len() > 1) {
                split_brain_seen += 1;
            }
        }
        takeovers += s
            .events
            .iter()
            .filter(|e| {
                matches!(
                    e.action,
                    Action::StateChanged {
                        to: State::Master,
                        ..
                    }
                )
            })
            .count();
        // Calm: everyone back, no loss, healed.
        s.heal();
        s.loss = 0;
        for n in all.clone() {
            if !s.nodes[n].alive {
                s.restart(n);
            }
        }
        s.run_for(Duration::from_secs(30));
        for g in &groups {
            let masters = s.masters(g);
            assert_eq!(masters.len(), 1, "seed {seed}: masters {masters:?}");
            assert_eq!(masters[0], g[0], "seed {seed}: highest priority must win");
            for &n in &g[1..] {
                assert_eq!(s.state(n), State::Backup, "seed {seed}");
            }
        }
        // Stays that way.
        s.run_for(Duration::from_secs(30));
        for g in &groups {
            assert_eq!(s.masters(g), vec![g[0]], "seed {seed}: not stable");
        }
    }
    // The chaos must really have exercised failovers and transient split
    // brains, or the convergence check above proves nothing.
    assert!(takeovers > 200, "only {takeovers} takeovers");
    assert!(
        split_brain_seen > 5,
        "only {split_brain_seen} split-brain moments"
    );
}

#[test]
fn preemption_v3_at_10cs_is_the_joiners_master_down_interval() {
    let mut s = Sim::new(17);
    let n1 = s.add(v3(100, 81, 10));
    let n2 = s.add(v3(90, 82, 10));
    s.start(n2);
    s.run_for(Duration::from_secs(3));
    assert_eq!(s.state(n2), State::Master);
    let join = s.now;
    s.start(n1);
    s.run_for(Duration::from_secs(3));
    let took = s.became(n1, State::Master, join).unwrap();
    // 3 × 10 cs + (156 × 10) / 256 = 30 + 6 cs.
    assert_eq!(took - join, mdi_v3(10, 100));
    assert_eq!(took - join, Duration::from_millis(360));
    assert_eq!(s.became(n2, State::Backup, join), Some(took));
}
