//! One received advertisement: decode, every receive check (checksum with
//! form detection included), and the Backup state step that rearms
//! Master_Down_Timer. Target: ≤ 100 ns.
use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use lvs_vrrp::{
    Addresses, AdvertInterval, Auth, Centiseconds, ChecksumForm, Config, Family, Kind, Packet,
    RecvMeta, Repr, Router, Seconds, State,
};

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

fn bench(c: &mut Criterion) {
    for (name, interval) in [
        ("v2", AdvertInterval::V2(Seconds(1))),
        (
            "v3",
            AdvertInterval::V3(Centiseconds::new(100).expect("12 bits")),
        ),
    ] {
        let (mut router, meta, bytes, start) = setup(interval);
        let mut now = start;
        c.bench_function(&format!("advert_{name}_parse_validate_step"), |b| {
            b.iter(|| {
                now += Duration::from_millis(10);
                let r = router.handle_packet(black_box(now), black_box(&meta), black_box(&bytes));
                debug_assert!(r.is_ok());
                black_box(router.poll_action());
                r
            })
        });
        assert_eq!(router.state(), State::Backup);
        c.bench_function(&format!("advert_{name}_parse_only"), |b| {
            b.iter(|| {
                let p = Packet::new_checked(black_box(&bytes[..]), Family::V4).expect("valid");
                black_box(p.verify_checksum(&meta.source, &meta.destination))
            })
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
