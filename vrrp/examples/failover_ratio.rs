//! Failover time on Master loss, lvs-vrrp versus keepalived, measured in
//! network namespaces under identical settings; prints the ratio.
//!
//! Old Master: keepalived, priority 100, on 172.20.0.81. Backup, priority
//! 90, on 172.20.0.82: either our router (tokio driver) or a second
//! keepalived. A passive observer on 172.20.0.80 timestamps every advert
//! on the segment. The old Master is killed with SIGKILL; failover is the
//! gap from its last advert to the Backup's first advert, compared with
//! the RFC Master_Down_Interval.
//!
//! Run as root: `cargo run -p lvs-vrrp --features tokio --release --example
//! failover_ratio [rounds] [--rt]`. With `--rt`, keepalived
//! (`vrrp_rt_priority 50`) and our driver thread both run SCHED_FIFO 50, so
//! other load on the machine delays neither.
#[path = "../tests/interop/mod.rs"]
mod interop;

use std::net::{IpAddr, Ipv4Addr};
use std::os::fd::AsFd;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use interop::{Flavor, Harness};
use lvs_vrrp::driver::VrrpSocket;
use lvs_vrrp::wire::{Family, Packet};
use lvs_vrrp::{Action, AdvertInterval, AnnounceReason, Centiseconds, Seconds};

type Seen = Arc<Mutex<Vec<(Instant, IpAddr, u8)>>>;

/// Records (arrival, source, priority) of every advert the observer sees.
fn observe(netns: std::fs::File) -> Seen {
    let seen: Seen = Arc::new(Mutex::new(Vec::new()));
    let out = seen.clone();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let primary = IpAddr::V4(Ipv4Addr::new(172, 20, 0, 80));
            let sock = VrrpSocket::open_in_netns(netns.as_fd(), lvs_testenv::LAB_IFACE, primary)
                .expect("observer socket");
            let mut buf = vec![0u8; 2048];
            loop {
                let Ok((meta, payload, at)) = sock.recv(&mut buf).await else {
                    break;
                };
                if let Ok(p) = Packet::new_checked(payload, Family::V4) {
                    out.lock()
                        .expect("lock")
                        .push((at, meta.source, p.priority()));
                }
            }
        });
    });
    seen
}

#[derive(Clone, Copy, PartialEq)]
enum Backup {
    Ours,
    Keepalived,
}

struct Round {
    failover: Duration,
    announce_after_advert: Option<Duration>,
}

fn round(flavor: Flavor, cs: u16, backup: Backup, rt: bool) -> Round {
    let h = Harness::with_options(flavor, "f", cs, rt);
    let obs = h.lan.add_host("ob", &["172.20.0.80/24"]);
    let seen = observe(obs.file());
    let t0 = h.start_keepalived(100);
    h.wait_keepalived("Entering MASTER STATE", t0, Duration::from_secs(10));
    match backup {
        Backup::Ours => h.start_ours(90),
        Backup::Keepalived => h.start_keepalived_on_our_host(90),
    };
    std::thread::sleep(Duration::from_secs(3));
    let kill = h.stop_keepalived(true);
    std::thread::sleep(Duration::from_millis(u64::from(cs) * 40 + 1500));
    let old: IpAddr = Ipv4Addr::new(172, 20, 0, 81).into();
    let new: IpAddr = Ipv4Addr::new(172, 20, 0, 82).into();
    let seen = seen.lock().expect("lock").clone();
    let last = seen
        .iter()
        .filter(|(_, src, _)| *src == old)
        .map(|(t, ..)| *t)
        .max()
        .expect("adverts from the old Master");
    assert!(
        last <= kill + Duration::from_millis(5),
        "old Master kept sending"
    );
    let first = seen
        .iter()
        .filter(|(t, src, prio)| *src == new && *t > last && *prio == 90)
        .map(|(t, ..)| *t)
        .min()
        .expect("the Backup took over");
    let announce_after_advert = (backup == Backup::Ours).then(|| {
        h.events
            .lock()
            .expect("lock")
            .iter()
            .find(|(t, a)| {
                *t > last
                    && matches!(a, Action::Announce(x) if x.reason == AnnounceReason::BecameMaster)
            })
            .map(|(t, _)| t.saturating_duration_since(first))
            .unwrap_or(Duration::MAX)
    });
    Round {
        failover: first - last,
        announce_after_advert,
    }
}

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(3);
    let rt = std::env::args().any(|a| a == "--rt");
    println!(
        "{rounds} rounds per line{}",
        if rt {
            ", both SCHED_FIFO 50"
        } else {
            ", default scheduling"
        }
    );
    println!(
        "{:<22} {:<11} {:>10} {:>10} {:>10} {:>10} {:>10} {:>11}",
        "settings", "backup", "mean", "median", "min", "max", "RFC MDI", "mean-MDI"
    );
    for (label, flavor, cs) in [
        ("v2 advert_int 1 s", Flavor::V2, 100u16),
        ("v3 advert_int 100 cs", Flavor::V3, 100),
        ("v3 advert_int 10 cs", Flavor::V3, 10),
    ] {
        let mdi = match flavor {
            Flavor::V2 => AdvertInterval::V2(Seconds((cs / 100) as u8)),
            _ => AdvertInterval::V3(Centiseconds::new(cs).expect("12 bits")),
        }
        .master_down_interval(90);
        let mut means = Vec::new();
        let mut medians = Vec::new();
        for backup in [Backup::Ours, Backup::Keepalived] {
            let results: Vec<Round> = (0..rounds).map(|_| round(flavor, cs, backup, rt)).collect();
            let mut times: Vec<Duration> = results.iter().map(|r| r.failover).collect();
            times.sort();
            let median = times[times.len() / 2];
            let mean = times.iter().sum::<Duration>() / times.len() as u32;
            let min = times.iter().min().copied().unwrap_or_default();
            let max = times.iter().max().copied().unwrap_or_default();
            let name = if backup == Backup::Ours {
                "lvs-vrrp"
            } else {
                "keepalived"
            };
            let err = mean.as_secs_f64() * 1e3 - mdi.as_secs_f64() * 1e3;
            println!(
                "{label:<22} {name:<11} {:>8.1}ms {:>8.1}ms {:>8.1}ms {:>8.1}ms {:>8.1}ms {:>+9.1}ms",
                mean.as_secs_f64() * 1e3,
                median.as_secs_f64() * 1e3,
                min.as_secs_f64() * 1e3,
                max.as_secs_f64() * 1e3,
                mdi.as_secs_f64() * 1e3,
                err
            );
            if backup == Backup::Ours {
                let worst = results
                    .iter()
                    .filter_map(|r| r.announce_after_advert)
                    .max()
                    .unwrap_or_default();
                println!(
                    "{:<34} addresses + announcement handed to the caller at most {:.3} ms after the first advert",
                    "",
                    worst.as_secs_f64() * 1e3
                );
            }
            means.push(mean);
            medians.push(median);
        }
        // The median resists a single sample delayed by other load on the
        // machine; the time beyond MDI is what each implementation adds.
        let beyond = |d: Duration| (d.as_secs_f64() - mdi.as_secs_f64()) * 1e3;
        println!(
            "{label:<22} ratio lvs-vrrp/keepalived: mean {:.4}, median {:.4}; median beyond MDI {:+.2} ms vs {:+.2} ms\n",
            means[0].as_secs_f64() / means[1].as_secs_f64(),
            medians[0].as_secs_f64() / medians[1].as_secs_f64(),
            beyond(medians[0]),
            beyond(medians[1])
        );
    }
}
