//! Cost of one received advertisement (decode, every receive check, the
//! Backup state step), measured as the fastest of 2000 batches of 1000 —
//! a figure that survives a loaded machine, where criterion's mean does
//! not. The criterion bench `advert` measures the same path.
//!
//! Run: `cargo run -p lvs-vrrp --release --example advert_cost`
use lvs_vrrp::{
    Addresses, AdvertInterval, Auth, Centiseconds, ChecksumForm, Config, Family, Kind, Packet,
    RecvMeta, Repr, Router, Seconds, State,
};
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

fn setup(interval: AdvertInterval) -> (Router, RecvMeta, Vec<u8>, Instant) {
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

fn main() {
    for (name, interval) in [
        ("v2", AdvertInterval::V2(Seconds(1))),
        (
            "v3",
            AdvertInterval::V3(Centiseconds::new(100).expect("12 bits")),
        ),
    ] {
        let (mut router, meta, bytes, start) = setup(interval);
        let mut now = start;
        let mut best = f64::MAX;
        let mut bestp = f64::MAX;
        for _ in 0..2000 {
            let t = Instant::now();
            for _ in 0..1000 {
                now += Duration::from_millis(10);
                let r = router.handle_packet(black_box(now), black_box(&meta), black_box(&bytes));
                black_box(router.poll_action());
                let _ = black_box(r);
            }
            best = best.min(t.elapsed().as_nanos() as f64 / 1000.0);
            let t = Instant::now();
            for _ in 0..1000 {
                let p = Packet::new_checked(black_box(&bytes[..]), Family::V4).expect("valid");
                let _ = black_box(p.verify_checksum(&meta.source, &meta.destination));
            }
            bestp = bestp.min(t.elapsed().as_nanos() as f64 / 1000.0);
        }
        assert_eq!(router.state(), State::Backup);
        println!("{name}: full step min-batch {best:.1} ns, parse+checksum {bestp:.1} ns");
    }
}
