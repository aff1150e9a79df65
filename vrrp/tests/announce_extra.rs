//! keepalived's `garp_extra_if`: while Master, one announcement every
//! period for the addresses on interfaces that send no adverts (which those
//! are is the composing layer's to know); none as Backup.

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use lvs_vrrp::{Action, AdvertInterval, AnnounceReason, Config, Router, Seconds, State};

fn ip(last: u8) -> IpAddr {
    Ipv4Addr::new(172, 20, 0, last).into()
}

fn extra(r: &mut Router) -> Vec<u32> {
    std::iter::from_fn(|| r.poll_action())
        .filter_map(|a| match a {
            Action::Announce(a) if a.reason == AnnounceReason::ExtraInterfaces => Some(a.count),
            _ => None,
        })
        .collect()
}

#[test]
fn extra_interface_announcements_run_every_period_while_master_only() {
    let mut cfg = Config::new(1, 100, AdvertInterval::V2(Seconds(1)), ip(81), vec![ip(83)]);
    cfg.start_as_master = true;
    cfg.announce.extra_interfaces = Some(Duration::from_secs(10));
    let mut r = Router::new(cfg).unwrap();
    let t0 = Instant::now();
    r.start(t0);
    assert_eq!(r.state(), State::Master);
    assert!(extra(&mut r).is_empty(), "none on becoming Master");
    let mut seen = Vec::new();
    for s in 1..=35 {
        r.handle_timeout(t0 + Duration::from_secs(s));
        if !extra(&mut r).is_empty() {
            seen.push(s);
        }
    }
    assert_eq!(seen, [10, 20, 30]);
    // Shut down (leaves Master): no more.
    r.shutdown(t0 + Duration::from_secs(36));
    r.handle_timeout(t0 + Duration::from_secs(50));
    assert!(extra(&mut r).is_empty());
    // Off by default.
    let cfg = Config::new(1, 100, AdvertInterval::V2(Seconds(1)), ip(81), vec![ip(83)]);
    assert_eq!(cfg.announce.extra_interfaces, None);
}
