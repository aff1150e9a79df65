//! What a Master does when it hears another Master — the two ends of a
//! healing split brain — as keepalived 2.2.7 does by default: against a
//! lower priority it answers with an advert and re-announces its addresses
//! (again after `garp_lower_prio_delay`), at most once per advert
//! interval; with `higher_prio_send_advert` it sends one last advert before
//! stepping down.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use lvs_vrrp::wire::MULTICAST_V4;
use lvs_vrrp::{
    Action, AddressCheck, Addresses, AdvertInterval, AnnounceReason, Auth, ChecksumForm, Config,
    Kind, RecvMeta, Repr, Router, Seconds, State,
};

fn ip(last: u8) -> IpAddr {
    Ipv4Addr::new(172, 20, 0, last).into()
}

fn master(tune: impl FnOnce(&mut Config)) -> (Router, Instant) {
    let mut cfg = Config::new(1, 100, AdvertInterval::V2(Seconds(1)), ip(81), vec![ip(83)]);
    cfg.start_as_master = true;
    cfg.address_check = AddressCheck::Drop;
    tune(&mut cfg);
    let mut r = Router::new(cfg).unwrap();
    let t0 = Instant::now();
    r.start(t0);
    while r.poll_action().is_some() {}
    assert_eq!(r.state(), State::Master);
    (r, t0)
}

/// An advert from `.82` at `prio`.
fn hear(r: &mut Router, now: Instant, prio: u8) {
    let repr = Repr {
        vrid: 1,
        priority: prio,
        kind: Kind::V2 {
            interval: Seconds(1),
            auth: Auth::None,
        },
        addresses: Addresses::V4(vec![Ipv4Addr::new(172, 20, 0, 83)]),
    };
    let group: IpAddr = MULTICAST_V4.into();
    let bytes = repr
        .to_bytes(ChecksumForm::PseudoHeader, &ip(82), &group)
        .unwrap();
    let meta = RecvMeta {
        source: ip(82),
        destination: group,
        hop_limit: 255,
    };
    assert_eq!(r.handle_packet(now, &meta, &bytes), Ok(()));
}

#[derive(Debug, PartialEq)]
enum Seen {
    Advert,
    Announce(AnnounceReason, u32),
    State(State),
    Other,
}

fn drain(r: &mut Router) -> Vec<Seen> {
    std::iter::from_fn(|| r.poll_action())
        .map(|a| match a {
            Action::Transmit(_) => Seen::Advert,
            Action::Announce(a) => Seen::Announce(a.reason, a.count),
            Action::StateChanged { to, .. } => Seen::State(to),
            _ => Seen::Other,
        })
        .collect()
}

#[test]
fn lower_priority_advert_gets_an_advert_and_a_burst_then_a_second_burst() {
    let (mut r, t0) = master(|_| {});
    let t = t0 + Duration::from_millis(300);
    hear(&mut r, t, 90);
    assert_eq!(
        drain(&mut r),
        [
            Seen::Advert,
            Seen::Announce(AnnounceReason::LowerPriorityAdvert, 5)
        ]
    );
    assert_eq!(r.state(), State::Master);
    // The second burst comes garp_lower_prio_delay (5 s) later.
    r.handle_timeout(t + Duration::from_millis(4990));
    assert!(
        !drain(&mut r).contains(&Seen::Announce(AnnounceReason::LowerPriorityAdvert, 5)),
        "second burst too early"
    );
    r.handle_timeout(t + Duration::from_secs(5));
    assert!(drain(&mut r).contains(&Seen::Announce(AnnounceReason::LowerPriorityAdvert, 5)));
}

#[test]
fn lower_priority_adverts_get_one_reaction_per_advert_interval() {
    let (mut r, t0) = master(|_| {});
    let mut reactions = 0;
    // 100 crafted adverts in 0.99 s: one reaction, not a hundred.
    for i in 0..100 {
        hear(&mut r, t0 + Duration::from_millis(10 * i), 90);
        reactions += drain(&mut r)
            .iter()
            .filter(|s| matches!(s, Seen::Announce(AnnounceReason::LowerPriorityAdvert, _)))
            .count();
    }
    assert_eq!(reactions, 1);
    hear(&mut r, t0 + Duration::from_millis(1000), 90);
    assert!(drain(&mut r).contains(&Seen::Advert));
}

#[test]
fn lower_prio_no_advert_and_zero_burst_keep_the_master_quiet() {
    let (mut r, t0) = master(|c| c.lower_prio_no_advert = true);
    hear(&mut r, t0, 90);
    assert_eq!(
        drain(&mut r),
        [Seen::Announce(AnnounceReason::LowerPriorityAdvert, 5)]
    );
    let (mut r, t0) = master(|c| {
        c.lower_prio_no_advert = true;
        c.announce.lower_prio_burst = 0;
    });
    hear(&mut r, t0, 90);
    assert_eq!(drain(&mut r), []);
    r.handle_timeout(t0 + Duration::from_millis(5500));
    let seen = drain(&mut r);
    assert!(
        !seen
            .iter()
            .any(|s| matches!(s, Seen::Announce(AnnounceReason::LowerPriorityAdvert, _))),
        "{seen:?}"
    );
}

#[test]
fn higher_priority_advert_steps_down_silently_unless_asked() {
    let (mut r, t0) = master(|_| {});
    hear(&mut r, t0, 110);
    let seen = drain(&mut r);
    assert!(!seen.contains(&Seen::Advert), "{seen:?}");
    assert!(seen.contains(&Seen::State(State::Backup)));

    let (mut r, t0) = master(|c| c.higher_prio_send_advert = true);
    hear(&mut r, t0, 110);
    let seen = drain(&mut r);
    let advert = seen.iter().position(|s| *s == Seen::Advert);
    let backup = seen.iter().position(|s| *s == Seen::State(State::Backup));
    assert!(
        matches!((advert, backup), (Some(a), Some(b)) if a < b),
        "one advert, then Backup: {seen:?}"
    );
    // Having stepped down, it sends nothing more of its own.
    r.handle_timeout(t0 + Duration::from_millis(2500));
    assert!(!drain(&mut r).contains(&Seen::Advert));
}
