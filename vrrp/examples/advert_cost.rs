//! Cost of one received advertisement (decode, every receive check, the
//! Backup state step), measured as the fastest of 2000 batches of 1000 —
//! a figure that survives a loaded machine, where criterion's mean does
//! not. The criterion bench `advert` measures the same path.
//!
//! Run: `cargo run -p lvs-vrrp --release --example advert_cost`
#[path = "../benches/support/advert_fixture.rs"]
mod advert_fixture;

use advert_fixture::setup;
use lvs_vrrp::{AdvertInterval, Centiseconds, Family, Packet, Seconds, State};
use std::hint::black_box;
use std::time::{Duration, Instant};

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
