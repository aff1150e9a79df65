use super::*;
use crate::wire::{ArpOperation, parse_arp_frame, parse_na_frame};
use std::net::{Ipv4Addr, Ipv6Addr};

const MAC: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 0x82]);

/// Runs the announcer as an event loop would, returning (ms since start, frame).
fn simulate(a: &mut Announcer, start: Instant, horizon: Duration) -> Vec<(u128, Transmit)> {
    let mut now = start;
    let mut out = Vec::new();
    for _ in 0..100_000 {
        while let Some(t) = a.poll_transmit(now) {
            out.push(((now - start).as_millis(), t));
        }
        match a.poll_timeout() {
            Some(next) if next <= start + horizon => {
                assert!(next > now, "poll_timeout {next:?} not after now {now:?}");
                now = next;
            }
            _ => break,
        }
    }
    out
}

/// The bursts lvs-vrrp's Router asks for with keepalived's defaults plus a
/// 60 s refresh: `Action::Announce` on becoming Master, its repeat 5 s
/// later, then one per refresh (count 5, no gap; see lvs-vrrp's
/// `announcement_schedule_on_becoming_master` simulation).
const ROUTER_ANNOUNCES: [u64; 4] = [0, 5, 60, 120];

/// Replays [`ROUTER_ANNOUNCES`] through `request` (one call per
/// `Action::Announce`); returns every frame's time in ms since the first.
fn replay(request: impl Fn(&mut Announcer, IpAddr, Instant)) -> Vec<u128> {
    let mut cfg = AnnouncerConfig::new(MAC);
    cfg.arp_forms = ArpForms::Request;
    let mut a = Announcer::new(cfg);
    let t0 = Instant::now();
    let vip = IpAddr::V4(Ipv4Addr::new(172, 20, 0, 83));
    let mut times = Vec::new();
    for (i, at) in ROUTER_ANNOUNCES.iter().enumerate() {
        let now = t0 + Duration::from_secs(*at);
        request(&mut a, vip, now);
        let until = ROUTER_ANNOUNCES
            .get(i + 1)
            .map_or(Duration::from_secs(600), |next| {
                Duration::from_secs(next - at)
            });
        times.extend(
            simulate(&mut a, now, until - Duration::from_millis(1))
                .into_iter()
                .map(|(ms, _)| ms + u128::from(*at) * 1000),
        );
        assert_eq!(a.poll_timeout(), None, "idle after the burst at {at} s");
    }
    times
}

#[test]
fn each_request_is_one_burst_and_nothing_more() {
    let expected: Vec<u128> = ROUTER_ANNOUNCES
        .iter()
        .flat_map(|at| [u128::from(*at) * 1000; 5])
        .collect();
    // As the docs say: the action's count, interval and MAC.
    let with = replay(|a, vip, now| a.announce_with(vip, 5, Duration::ZERO, None, now));
    assert_eq!(
        with, expected,
        "5 announcements per Action::Announce, no extra burst"
    );
    // The plain call adds no schedule of its own either.
    let plain = replay(|a, vip, now| a.announce(vip, now));
    assert_eq!(plain, expected);
}

#[test]
fn a_burst_spreads_over_its_interval_then_ends() {
    let mut cfg = AnnouncerConfig::new(MAC);
    cfg.arp_forms = ArpForms::Request;
    let mut a = Announcer::new(cfg);
    let t0 = Instant::now();
    a.announce_with(
        IpAddr::V4(Ipv4Addr::new(172, 20, 0, 83)),
        3,
        Duration::from_millis(100),
        None,
        t0,
    );
    let times: Vec<u128> = simulate(&mut a, t0, Duration::from_secs(60))
        .into_iter()
        .map(|(t, _)| t)
        .collect();
    assert_eq!(times, [0, 100, 200]);
    assert_eq!(a.vips().count(), 0);
}

#[test]
fn without_repeat_or_refresh_the_announcer_goes_idle() {
    let mut a = Announcer::new(AnnouncerConfig::new(MAC));
    let t0 = Instant::now();
    a.announce_with(
        IpAddr::V4(Ipv4Addr::new(172, 20, 0, 83)),
        1,
        Duration::ZERO,
        None,
        t0,
    );
    let frames = simulate(&mut a, t0, Duration::from_secs(60));
    let kinds: Vec<FrameKind> = frames.iter().map(|(_, t)| t.kind).collect();
    assert_eq!(kinds, [FrameKind::GarpRequest, FrameKind::GarpReply]);
    assert_eq!(a.poll_timeout(), None);
    assert_eq!(a.vips().count(), 0);
}

#[test]
fn many_vips_share_the_rate_limit() {
    let mut cfg = AnnouncerConfig::new(MAC);
    cfg.rate_limit = RateLimit::new(10, Duration::from_secs(1));
    let mut a = Announcer::new(cfg);
    let t0 = Instant::now();
    for i in 0..100u8 {
        a.announce_with(
            IpAddr::V4(Ipv4Addr::new(10, 0, 1, i)),
            1,
            Duration::ZERO,
            None,
            t0,
        );
    }
    let frames = simulate(&mut a, t0, Duration::from_secs(60));
    assert_eq!(frames.len(), 200, "every VIP gets both forms");
    // No sliding one-second window holds more than the bucket allows
    // (10 tokens at start + 10 refilled per second).
    for (i, (t, _)) in frames.iter().enumerate() {
        let in_window = frames[i..]
            .iter()
            .take_while(|(u, _)| *u < t + 1000)
            .count();
        assert!(
            in_window <= 20,
            "{in_window} frames in the second after {t} ms"
        );
    }
    let last = frames.last().map(|(t, _)| *t).unwrap_or(0);
    assert!((18_000..=19_100).contains(&last), "last frame at {last} ms");
    let distinct: std::collections::BTreeSet<IpAddr> = frames.iter().map(|(_, t)| t.vip).collect();
    assert_eq!(distinct.len(), 100);
}

#[test]
fn frames_carry_the_configured_virtual_mac() {
    let vmac = MacAddr::vrrp_v4(1);
    let mut a = Announcer::new(AnnouncerConfig::new(vmac));
    let t0 = Instant::now();
    let v6: Ipv6Addr = "2001:db8::83".parse().unwrap();
    a.announce(IpAddr::V4(Ipv4Addr::new(172, 20, 0, 83)), t0);
    a.announce(IpAddr::V6(v6), t0);
    let mut saw = (0, 0);
    while let Some(t) = a.poll_transmit(t0) {
        match t.vip {
            IpAddr::V4(_) => {
                let (eth, arp) = parse_arp_frame(&t.frame).unwrap();
                assert_eq!((eth.src, arp.source_mac), (vmac, vmac));
                assert!(arp.is_gratuitous());
                if arp.operation == ArpOperation::Reply {
                    assert_eq!(arp.target_mac, vmac);
                }
                saw.0 += 1;
            }
            IpAddr::V6(_) => {
                let (eth, _, na) = parse_na_frame(&t.frame).unwrap();
                assert_eq!((eth.src, na.target_mac), (vmac, Some(vmac)));
                assert_eq!(na.target, v6);
                saw.1 += 1;
            }
        }
    }
    // announce(): a burst of DEFAULT_BURST (5) with no gap, all due at once.
    assert_eq!(
        saw,
        (10, 5),
        "burst of 5: request + reply for v4, one NA for v6"
    );
}

#[test]
fn withdrawn_vips_are_not_announced_any_more() {
    let mut a = Announcer::new(AnnouncerConfig::new(MAC));
    let t0 = Instant::now();
    let vip = IpAddr::V4(Ipv4Addr::new(172, 20, 0, 83));
    a.announce(vip, t0);
    assert!(a.poll_transmit(t0).is_some());
    a.withdraw(vip);
    assert!(a.poll_transmit(t0).is_none());
    assert_eq!(a.poll_timeout(), None);
}

#[test]
fn a_burst_with_its_own_mac_overrides_the_defaults() {
    let mut a = Announcer::new(AnnouncerConfig::new(MAC));
    let t0 = Instant::now();
    let vip = IpAddr::V4(Ipv4Addr::new(172, 20, 0, 83));
    let other = IpAddr::V4(Ipv4Addr::new(172, 20, 0, 84));
    let vmac = MacAddr::from([0, 0, 0x5e, 0, 1, 7]);
    a.announce_with(vip, 2, Duration::from_millis(300), Some(vmac), t0);
    a.announce(other, t0);
    let frames = simulate(&mut a, t0, Duration::from_secs(1));
    let of_vip: Vec<(u128, MacAddr)> = frames
        .iter()
        .filter(|(_, t)| t.vip == vip)
        .map(|(ms, t)| (*ms, parse_arp_frame(&t.frame).unwrap().0.src))
        .collect();
    assert_eq!(
        of_vip,
        [(0, vmac), (0, vmac), (300, vmac), (300, vmac)],
        "two rounds of request + reply, 300 ms apart, from the virtual MAC"
    );
    assert!(
        frames
            .iter()
            .filter(|(_, t)| t.vip == other)
            .all(|(_, t)| parse_arp_frame(&t.frame).unwrap().0.src == MAC)
    );
}
