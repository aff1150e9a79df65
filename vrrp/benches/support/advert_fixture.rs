//! The received advertisement both the `advert` bench and the
//! `advert_cost` example measure: a v2 or v3 advert from the Master
//! (172.20.0.81, priority 100) to a Backup router (priority 90).
use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

use lvs_vrrp::{
    Addresses, AdvertInterval, Auth, ChecksumForm, Config, Kind, RecvMeta, Repr, Router, State,
};

/// A Backup router, the advert's metadata and bytes, and the start instant.
pub fn setup(interval: AdvertInterval) -> (Router, RecvMeta, Vec<u8>, Instant) {
    let vip = Ipv4Addr::new(172, 20, 0, 83);
    let master: IpAddr = Ipv4Addr::new(172, 20, 0, 81).into();
    let me: IpAddr = Ipv4Addr::new(172, 20, 0, 82).into();
    let group: IpAddr = lvs_vrrp::wire::MULTICAST_V4.into();
    let kind = match interval {
        AdvertInterval::V2(s) => Kind::V2 {
            interval: s,
            auth: Auth::None,
        },
        AdvertInterval::V3(cs) => Kind::V3 { interval: cs },
    };
    let repr = Repr {
        vrid: 1,
        priority: 100,
        kind,
        addresses: Addresses::V4(vec![vip]),
    };
    let bytes = repr
        .to_bytes(ChecksumForm::PseudoHeader, &master, &group)
        .expect("emit");
    let mut router =
        Router::new(Config::new(1, 90, interval, me, vec![vip.into()])).expect("config");
    let now = Instant::now();
    router.start(now);
    while router.poll_action().is_some() {}
    assert_eq!(router.state(), State::Backup);
    let meta = RecvMeta {
        source: master,
        destination: group,
        hop_limit: 255,
    };
    (router, meta, bytes, now)
}
