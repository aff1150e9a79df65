//! One received advertisement: decode, every receive check (checksum with
//! form detection included), and the Backup state step that rearms
//! Master_Down_Timer. Target: ≤ 100 ns.
#[path = "support/advert_fixture.rs"]
mod advert_fixture;

use std::hint::black_box;
use std::time::Duration;

use advert_fixture::setup;
use criterion::{Criterion, criterion_group, criterion_main};
use lvs_vrrp::{AdvertInterval, Centiseconds, Family, Packet, Seconds, State};

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
