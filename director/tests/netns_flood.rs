//! A flood does not move the Master: a director pair on the lab bridge
//! (embedded `lvs_director::run`, VRRPv2, 1 s adverts, Master 100, Backup
//! 90) and a third host sending 50,000 crafted packets/s at the VRRP group
//! for 30 s — garbage, the wrong VRID, a lower priority, bad checksums, a
//! quarter each. A fourth host records the Master's adverts (tcpdump,
//! kernel timestamps). The Master's largest gap between adverts must stay
//! within the interval + 20 ms, the Backup must never take over, the VIP
//! must never move; the Master's event-loop CPU is printed.
//!
//! Run as root:
//! `cargo test -p lvs-director --features tokio --test netns_flood -- --ignored --nocapture`

#[path = "../../vrrp/tests/hostile/mod.rs"]
mod hostile;
#[path = "../../vrrp/tests/hostile/intruder.rs"]
mod intruder;

use std::net::IpAddr;
use std::time::{Duration, Instant};

use lvs_director::{DirectorConfig, Vip, VrrpInstance};
use lvs_testenv::{LAB_IFACE, Lan, Netns, require_program};
use lvs_vrrp::wire::MULTICAST_V4;
use lvs_vrrp::{AdvertInterval, Auth, ChecksumForm, Seconds, State};

use hostile::Case;
use intruder::Intruder;

mod common;
use common::{director_thread, status, wait_state};

const MASTER: &str = "172.20.0.81";
const BACKUP: &str = "172.20.0.82";
const INTRUDER: &str = "172.20.0.99";
const OBSERVER: &str = "172.20.0.98";
const VIP: &str = "172.20.0.83";
const RATE: u64 = 50_000;
/// Sender threads, each sending its share (one cannot reach the rate: the
/// kernel delivers each multicast copy to every namespace in its syscall).
const SENDERS: u64 = 2;
const FLOOD: Duration = Duration::from_secs(30);
/// How late an advert may be: the interval plus this.
const SLACK: Duration = Duration::from_millis(20);

fn addr(s: &str) -> IpAddr {
    s.parse().expect("literal")
}

fn router(primary: &str, priority: u8) -> lvs_vrrp::Config {
    let mut c = lvs_vrrp::Config::new(
        1,
        priority,
        AdvertInterval::V2(Seconds(1)),
        addr(primary),
        vec![addr(VIP)],
    );
    c.auth = Auth::simple_text(b"lvs-pass");
    c
}

fn config(primary: &str, priority: u8) -> DirectorConfig {
    let mut r = router(primary, priority);
    r.start_as_master = priority == 100;
    let mut inst = VrrpInstance::new("VI_1", LAB_IFACE, r);
    inst.vips = vec![Vip::new(addr(VIP)).with_prefix(24)];
    let mut cfg = DirectorConfig::new();
    cfg.instances.push(inst);
    cfg
}

/// The four kinds of packet, each sent a quarter of the time.
fn flood_packets(victim: &lvs_vrrp::Config) -> Vec<(Vec<u8>, &'static str)> {
    let src = addr(INTRUDER);
    let group = IpAddr::V4(MULTICAST_V4);
    // Garbage: bytes from a fixed-seed xorshift, never a VRRP header.
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let garbage: Vec<u8> = (0..40)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect();
    let lower = hostile::valid(victim, 50)
        .to_bytes(ChecksumForm::MessageOnly, &src, &group)
        .expect("emit");
    let vrid = hostile::craft(Case::Vrid, victim, 200, &src, &group).bytes;
    let checksum = hostile::craft(Case::Checksum, victim, 200, &src, &group).bytes;
    vec![
        (garbage, "garbage"),
        (vrid, "wrong VRID"),
        (lower, "lower priority"),
        (checksum, "bad checksum"),
    ]
}

/// Sends `rate` packets/s for `FLOOD`; how many were sent.
fn flood(intruder: &Intruder, packets: &[(Vec<u8>, &str)], rate: u64) -> u64 {
    let start = Instant::now();
    let mut sent = 0u64;
    while start.elapsed() < FLOOD {
        let due = start.elapsed().as_micros() as u64 * rate / 1_000_000;
        // Catching up at most 1 ms of packets at a time, so the flood ends on time.
        let mut burst = rate / 1000;
        while sent < due && burst > 0 {
            burst -= 1;
            let (bytes, _) = &packets[(sent % packets.len() as u64) as usize];
            intruder.send(bytes, 255);
            sent += 1;
        }
        std::thread::sleep(Duration::from_micros(200));
    }
    sent
}

/// A thread's user + system CPU time (`/proc/self/task/TID/stat`).
fn thread_cpu(tid: i32) -> Duration {
    let stat = std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).expect("stat");
    // After the `(comm)` field: state is field 3, utime 14, stime 15.
    let rest = &stat[stat.rfind(')').expect("comm") + 2..];
    let f: Vec<u64> = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .map(|v| v.parse().expect("ticks"))
        .collect();
    // USER_HZ is 100 on Linux.
    Duration::from_millis((f[0] + f[1]) * 10)
}

/// The Master's advert times as tcpdump saw them (`-tt`: epoch seconds).
fn advert_times(log: &std::path::Path) -> Vec<f64> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains(&format!("{MASTER} >")))
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .collect()
}

fn vip_on(ns: &Netns) -> bool {
    ns.run(&["ip", "-o", "-4", "addr", "show", "dev", LAB_IFACE])
        .contains(&format!("{VIP}/"))
}

#[test]
#[ignore = "needs root and network namespaces (cargo xtask test)"]
fn netns_flood_of_50k_packets_per_second_does_not_move_the_master() {
    require_program("tcpdump");
    let lan = Lan::new("fl");
    let master_ns = lan.add_host("fm", &[&format!("{MASTER}/24")]);
    let backup_ns = lan.add_host("fb", &[&format!("{BACKUP}/24")]);
    let intruder_ns = lan.add_host("fx", &[&format!("{INTRUDER}/24")]);
    let observer_ns = lan.add_host("fo", &[&format!("{OBSERVER}/24")]);
    let dir = std::env::temp_dir().join(lvs_testenv::unique_name("flood"));
    std::fs::create_dir_all(&dir).expect("log dir");
    let (mq, mq_rx) = tokio::sync::mpsc::unbounded_channel();
    let (bq, bq_rx) = tokio::sync::mpsc::unbounded_channel();
    let (m_stop, m_stopped) = tokio::sync::oneshot::channel();
    let (b_stop, b_stopped) = tokio::sync::oneshot::channel();
    let (tid_tx, tid_rx) = std::sync::mpsc::channel();
    std::thread::scope(|s| {
        s.spawn(|| {
            director_thread(
                &master_ns,
                config(MASTER, 100),
                mq_rx,
                m_stopped,
                Some(tid_tx),
            )
        });
        s.spawn(|| director_thread(&backup_ns, config(BACKUP, 90), bq_rx, b_stopped, None));
        let tid = tid_rx
            .recv_timeout(Duration::from_secs(10))
            .expect("the Master's thread");
        wait_state(&mq, State::Master, "the Master");
        wait_state(&bq, State::Backup, "the Backup");
        common::wait("the Master's VIP", Duration::from_secs(5), || {
            vip_on(&master_ns)
        });
        let m_log = dir.join("master-monitor.log");
        let b_log = dir.join("backup-monitor.log");
        let m_mon = master_ns.spawn_logged(&["ip", "monitor", "address"], &m_log);
        let b_mon = backup_ns.spawn_logged(&["ip", "monitor", "address"], &b_log);
        let cap = dir.join("adverts.txt");
        let filter = format!("ip proto 112 and src host {MASTER}");
        let dump = observer_ns.spawn_logged(
            &[
                "tcpdump",
                "-i",
                LAB_IFACE,
                "-n",
                "-l",
                "-tt",
                "--immediate-mode",
                &filter,
            ],
            &cap,
        );
        std::thread::sleep(Duration::from_millis(1500));
        let victim = router(MASTER, 100);
        let packets = flood_packets(&victim);
        let senders: Vec<Intruder> = (0..SENDERS)
            .map(|_| Intruder::open(&intruder_ns, LAB_IFACE, INTRUDER.parse().expect("literal")))
            .collect();
        let cpu0 = thread_cpu(tid);
        let t0 = Instant::now();
        let sent: u64 = std::thread::scope(|f| {
            let packets = &packets;
            let each: Vec<_> = senders
                .into_iter()
                .map(|i| f.spawn(move || flood(&i, packets, RATE / SENDERS)))
                .collect();
            each.into_iter().map(|h| h.join().expect("sender")).sum()
        });
        let took = t0.elapsed();
        let cpu = thread_cpu(tid) - cpu0;
        std::thread::sleep(Duration::from_millis(1500));
        let m = status(&mq);
        let b = status(&bq);
        observer_ns.kill(dump);
        master_ns.kill(m_mon);
        backup_ns.kill(b_mon);
        let times = advert_times(&cap);
        let gaps: Vec<f64> = times.windows(2).map(|w| w[1] - w[0]).collect();
        let largest = gaps.iter().copied().fold(0.0, f64::max);
        let rate = sent as f64 / took.as_secs_f64();
        println!(
            "flood: {sent} packets in {:.1} s ({rate:.0}/s; {}), Master event-loop CPU {:.1} % ({} ms), \
             {} adverts seen, largest gap {:.3} s, Master drops {}, Backup state {:?}",
            took.as_secs_f64(),
            packets.iter().map(|p| p.1).collect::<Vec<_>>().join(", "),
            100.0 * cpu.as_secs_f64() / took.as_secs_f64(),
            cpu.as_millis(),
            times.len(),
            largest,
            m.drops.total(),
            b.state,
        );
        assert!(
            rate >= RATE as f64 * 0.95,
            "the flood ran at {rate:.0}/s only"
        );
        assert!(times.len() >= 30, "only {} adverts seen", times.len());
        assert!(
            largest <= 1.0 + SLACK.as_secs_f64(),
            "an advert came {largest:.3} s after the one before"
        );
        assert_eq!(m.state, State::Master);
        assert_eq!(b.state, State::Backup, "the Backup took over");
        let moves = |log: &std::path::Path| {
            std::fs::read_to_string(log)
                .unwrap_or_default()
                .lines()
                .filter(|l| l.contains(&format!("{VIP}/")))
                .count()
        };
        assert_eq!(moves(&m_log), 0, "the Master's VIP moved");
        assert_eq!(moves(&b_log), 0, "the Backup took the VIP");
        assert!(m.drops.total() > 0, "none of the flood reached the Master");
        let _ = m_stop.send(());
        let _ = b_stop.send(());
    });
    let _ = std::fs::remove_dir_all(&dir);
}
