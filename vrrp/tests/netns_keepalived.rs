//! Interoperability with Debian's keepalived, in network namespaces: our
//! router (the tokio driver on raw sockets) and a real keepalived on one
//! bridged segment, for VRRPv2/IPv4, VRRPv3/IPv4 and VRRPv3/IPv6.
//!
//! Each test runs both directions of: election, preemption, priority-0
//! handover and failover on peer loss; and checks keepalived never logs a
//! complaint about our packets.
//!
//! Run: `cargo test -p lvs-vrrp --features tokio --test netns_keepalived -- --ignored`

mod interop;

use std::time::{Duration, Instant};

use interop::{Flavor, Harness};
use lvs_vrrp::{Reason, State};

const S: fn(u64) -> Duration = Duration::from_secs;

fn both_directions(flavor: Flavor) {
    // --- keepalived 100, ours 90 -------------------------------------
    let h = Harness::new(flavor, "a");
    let t0 = h.start_keepalived(100);
    h.start_ours(90);
    // Election (simultaneous start): keepalived wins, we follow it. We may
    // be Master for a moment if keepalived's process starts slower than
    // our Master_Down_Interval is longer; it then preempts us.
    let ka_master = h.wait_keepalived("Entering MASTER STATE", t0, S(10));
    let backup = h.wait_our_state_now(State::Backup, S(5));
    std::thread::sleep(Duration::from_millis(300));
    h.assert_vip_on_keepalived(true);
    h.assert_vip_on_ours(false);
    let masters = h.our_masters();
    std::thread::sleep(S(5));
    assert_eq!(
        h.our_state(),
        State::Backup,
        "we must accept keepalived's adverts"
    );
    assert_eq!(
        h.our_masters(),
        masters,
        "we stayed Backup behind keepalived"
    );
    eprintln!(
        "{flavor:?}: keepalived Master at +{:?}, we Backup at +{:?}",
        ka_master - t0,
        backup - t0
    );

    // Priority-0 handover keepalived -> us: Skew_Time, not Master_Down_Interval.
    let t = h.stop_keepalived(false);
    let took = h.wait_our_state(State::Master, t, S(5));
    let dt = took - t;
    eprintln!("{flavor:?}: keepalived resigned, we took over after {dt:?}");
    assert!(dt < Duration::from_millis(1500), "handover took {dt:?}");
    h.assert_vip_on_ours(true);

    // Preemption keepalived -> us: it comes back with 100 and takes over.
    let t = h.start_keepalived(100);
    // keepalived parses and checks our adverts (it logs the lower priority).
    h.wait_keepalived("received lower priority (90) advert", t, S(10));
    h.wait_keepalived("Entering MASTER STATE", t, S(10));
    h.wait_our_state(State::Backup, t, S(5));
    assert!(
        matches!(
            h.last_reason(),
            Some(Reason::HigherPriority { priority: 100, .. })
        ),
        "{:?}",
        h.last_reason()
    );
    h.assert_vip_on_ours(false);

    // Failover on peer loss: keepalived killed -9, we take over after
    // Master_Down_Interval (v2: 3.65 s; v3 at 100 cs: 3.64 s).
    std::thread::sleep(S(2));
    let t = h.stop_keepalived(true);
    let took = h.wait_our_state(State::Master, t, S(8));
    let dt = took - t;
    eprintln!("{flavor:?}: keepalived killed, we took over after {dt:?}");
    assert!(
        dt > Duration::from_millis(2500) && dt < Duration::from_millis(4700),
        "failover took {dt:?}"
    );
    h.stop_ours(true);
    h.assert_keepalived_happy();
    drop(h);

    // --- keepalived 90, ours 100 -------------------------------------
    let h = Harness::new(flavor, "b");
    let t0 = h.start_keepalived(90);
    h.wait_keepalived("Entering MASTER STATE", t0, S(10));
    // Election by preemption: we join and take over; keepalived yields.
    let t = h.start_ours(100);
    h.wait_our_state(State::Master, t, S(6));
    h.wait_keepalived("Entering BACKUP STATE", t, S(5));
    std::thread::sleep(Duration::from_millis(500));
    h.assert_vip_on_keepalived(false);
    h.assert_vip_on_ours(true);

    // Priority-0 handover us -> keepalived.
    let t = h.stop_ours(false);
    let took = h.wait_keepalived("Entering MASTER STATE", t, S(5));
    let dt = took - t;
    eprintln!("{flavor:?}: we resigned, keepalived took over after {dt:?}");
    assert!(dt < Duration::from_millis(1500), "handover took {dt:?}");

    // We come back and preempt again.
    let t = h.start_ours(100);
    h.wait_our_state(State::Master, t, S(6));
    h.wait_keepalived("Entering BACKUP STATE", t, S(5));

    // Failover on our loss: keepalived takes over after its Master_Down_Interval.
    std::thread::sleep(S(2));
    let t = h.stop_ours(true);
    let took = h.wait_keepalived("Entering MASTER STATE", t, S(8));
    let dt = took - t;
    eprintln!("{flavor:?}: we died, keepalived took over after {dt:?}");
    assert!(
        dt > Duration::from_millis(2500) && dt < Duration::from_millis(4700),
        "failover took {dt:?}"
    );
    h.assert_keepalived_happy();
    let _ = Instant::now();
}

#[test]
#[ignore = "needs root + netns (cargo xtask test)"]
fn netns_keepalived_v2_ipv4() {
    both_directions(Flavor::V2);
}

#[test]
#[ignore = "needs root + netns (cargo xtask test)"]
fn netns_keepalived_v3_ipv4() {
    both_directions(Flavor::V3);
}

#[test]
#[ignore = "needs root + netns (cargo xtask test)"]
fn netns_keepalived_v3_ipv6() {
    both_directions(Flavor::V3Ipv6);
}

/// keepalived's old unicast checksum (`old_unicast_checksum`: pseudo-header
/// with 224.0.0.18 as destination) both ways, over unicast: our Backup only
/// accepts that form (strict), and keepalived accepts ours.
#[test]
#[ignore = "needs root + netns (cargo xtask test)"]
fn netns_keepalived_v3_unicast_old_checksum() {
    use lvs_vrrp::ChecksumForm;
    let h = Harness::new(Flavor::V3, "u");
    let extra = "  unicast_src_ip 172.20.0.81\n  unicast_peer {\n    172.20.0.82\n  }\n  old_unicast_checksum";
    let t0 = h.start_keepalived_with(100, extra);
    h.wait_keepalived("Entering MASTER STATE", t0, S(10));
    let ours = |c: &mut lvs_vrrp::Config| {
        c.unicast_peers = vec!["172.20.0.81".parse().expect("literal")];
        c.checksum_form = ChecksumForm::MulticastPseudoHeader;
        c.strict_checksum = true;
    };
    backup_handover_preempted(
        &h,
        ours,
        || h.start_keepalived_with(100, extra),
        "we must accept keepalived's old-form adverts",
    );
}

/// keepalived's `vrrp_mcast_group4`: both sides on 224.0.0.99. Our Backup
/// hears keepalived only through the configured group (it joins no other),
/// and keepalived hears ours there.
#[test]
#[ignore = "needs root + netns (cargo xtask test)"]
fn netns_keepalived_v2_configured_group() {
    let h = Harness::new(Flavor::V2, "g");
    let global = "  vrrp_mcast_group4 224.0.0.99\n";
    let t0 = h.start_keepalived_global(100, global);
    h.wait_keepalived("Entering MASTER STATE", t0, S(10));
    let group = |c: &mut lvs_vrrp::Config| {
        c.multicast_group = Some("224.0.0.99".parse().expect("literal"));
    };
    backup_handover_preempted(
        &h,
        group,
        || h.start_keepalived_global(100, global),
        "we must hear keepalived on 224.0.0.99",
    );
}

/// keepalived (priority 100) is Master; ours starts at 90 with `tweak` and
/// must stay Backup past its Master_Down_Interval (`hears`: keepalived's
/// adverts reach it), take over within 1.5 s when keepalived resigns, and
/// be preempted — keepalived hearing our lower-priority adverts — when
/// `restart` brings keepalived back, with nothing odd in keepalived's log.
fn backup_handover_preempted(
    h: &Harness,
    tweak: impl FnOnce(&mut lvs_vrrp::Config),
    restart: impl Fn() -> Instant,
    hears: &str,
) {
    h.start_ours_with(90, tweak);
    h.wait_our_state_now(State::Backup, S(5));
    let masters = h.our_masters();
    std::thread::sleep(S(5));
    assert_eq!(h.our_masters(), masters, "{hears}");
    let t = h.stop_keepalived(false);
    let took = h.wait_our_state(State::Master, t, S(5));
    assert!(
        took - t < Duration::from_millis(1500),
        "handover took {:?}",
        took - t
    );
    let t = restart();
    h.wait_keepalived(
        "received lower priority (90) advert from 172.20.0.82",
        t,
        S(10),
    );
    h.wait_keepalived("Entering MASTER STATE", t, S(10));
    h.wait_our_state(State::Backup, t, S(5));
    h.assert_keepalived_happy();
}
