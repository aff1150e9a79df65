//! Cost of building announcement frames and of scheduling a failover of
//! many VIPs (every frame of every VIP drained from the announcer).

use std::hint::black_box;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use criterion::{Criterion, criterion_group, criterion_main};
use lvs_arpguard::announce::{Announcer, AnnouncerConfig, RateLimit};
use lvs_arpguard::wire::{GarpForm, MacAddr, garp_frame, parse_arp_frame, unsolicited_na_frame};

const MAC: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 0x82]);

fn frames(c: &mut Criterion) {
    let v4 = Ipv4Addr::new(172, 20, 0, 83);
    let v6: Ipv6Addr = "2001:db8::83".parse().unwrap_or(Ipv6Addr::LOCALHOST);
    c.bench_function("garp_frame", |b| {
        b.iter(|| garp_frame(GarpForm::Request, black_box(MAC), black_box(v4)))
    });
    c.bench_function("unsolicited_na_frame (with checksum)", |b| {
        b.iter(|| unsolicited_na_frame(black_box(MAC), black_box(v6), false))
    });
    let frame = garp_frame(GarpForm::Reply, MAC, v4);
    c.bench_function("parse_arp_frame", |b| {
        b.iter(|| parse_arp_frame(black_box(&frame)))
    });
}

fn failover(c: &mut Criterion) {
    let mut group = c.benchmark_group("failover");
    for n in [100u32, 10_000] {
        group.bench_function(format!("{n} VIPs, burst 5"), |b| {
            b.iter(|| {
                let mut cfg = AnnouncerConfig::new(MAC);
                cfg.rate_limit = RateLimit::new(u32::MAX, Duration::from_secs(1));
                let mut a = Announcer::new(cfg);
                let now = Instant::now();
                for i in 0..n {
                    let vip = IpAddr::V4(Ipv4Addr::from(0x0a00_0000 + i));
                    a.announce_with(vip, 5, Duration::ZERO, None, now);
                }
                let mut sent = 0usize;
                while let Some(t) = a.poll_transmit(now) {
                    sent += t.frame.len();
                }
                black_box(sent)
            })
        });
    }
    group.finish();
}

criterion_group!(benches, frames, failover);
criterion_main!(benches);
