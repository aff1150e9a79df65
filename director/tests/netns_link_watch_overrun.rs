//! The link watcher loses nothing to a notification overrun (issue 14): a
//! director (embedded `lvs_director::run`, one VRRP instance, Master)
//! whose namespace makes a burst of rtnetlink notifications — thousands of
//! addresses added to and removed from a spare interface in one `ip -batch`
//! — large enough to overflow its watcher's receive queue (`ENOBUFS`).
//! Inside each burst one change the director must not miss:
//! 1. its VIP deleted behind its back: it must step down and put it back;
//! 2. its interface set down: it must go to Fault and drop its VIP (and
//!    take over again once the interface is back).
//!
//! The overrun is proven by the driver's warning, read from the log.
//!
//! Run as root:
//! `cargo test -p lvs-director --all-features --test netns_link_watch_overrun -- --ignored --nocapture`

use std::io::Write;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lvs_director::{DirectorConfig, Vip, VrrpInstance};
use lvs_testenv::{LAB_IFACE, Lan, Netns};
use lvs_vrrp::{AdvertInterval, Seconds, State};

mod common;
use common::{director_thread, status, wait, wait_state};

const MASTER: &str = "172.20.0.81";
const VIP: &str = "172.20.0.83";
const DUMMY: &str = "burst0";
/// Addresses added, then removed, per burst: 2 × this notifications.
const BURST: usize = 4000;
/// What the driver logs on an overrun.
const OVERRUN: &str = "link watch overrun (ENOBUFS): resynchronising";

/// Everything the process logs, kept for the assertions.
#[derive(Clone, Default)]
struct Log(Arc<Mutex<Vec<u8>>>);

impl Write for Log {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).extend(b);
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Log {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap_or_else(|e| e.into_inner())).into_owned()
    }
    fn overruns(&self) -> usize {
        self.text().matches(OVERRUN).count()
    }
}

fn config() -> DirectorConfig {
    let addr = |s: &str| s.parse::<IpAddr>().expect("literal");
    let mut r = lvs_vrrp::Config::new(
        1,
        100,
        AdvertInterval::V2(Seconds(1)),
        addr(MASTER),
        vec![addr(VIP)],
    );
    r.start_as_master = true;
    let mut inst = VrrpInstance::new("VI_1", LAB_IFACE, r);
    inst.vips = vec![Vip::new(addr(VIP)).with_prefix(24)];
    let mut cfg = DirectorConfig::new();
    cfg.instances.push(inst);
    cfg
}

fn vip_on(ns: &Netns) -> bool {
    ns.run(&["ip", "-o", "-4", "addr", "show", "dev", LAB_IFACE])
        .contains(&format!("{VIP}/"))
}

/// Runs `ip -batch`: BURST addresses added to the spare interface, `change`, the same
/// addresses removed. Returns how long the batch took.
fn burst(ns: &Netns, dir: &std::path::Path, change: &str) -> Duration {
    let addrs: Vec<String> = (0..BURST)
        .map(|i| format!("10.{}.{}.{}/32", 100 + i / 65536, (i / 256) % 256, i % 256))
        .collect();
    let mut batch = String::new();
    for a in &addrs {
        batch += &format!("address add {a} dev {DUMMY}\n");
    }
    batch += change;
    batch += "\n";
    for a in &addrs {
        batch += &format!("address del {a} dev {DUMMY}\n");
    }
    let file = dir.join("burst.batch");
    std::fs::write(&file, batch).expect("batch file");
    let t0 = Instant::now();
    ns.run(&["ip", "-batch", file.to_str().expect("utf-8 path")]);
    t0.elapsed()
}

/// Polls up to 10 s for `f`; on failure shows what the director logged.
fn wait_or_show(log: &Log, what: &str, f: impl Fn() -> bool) -> Duration {
    let start = Instant::now();
    while !f() {
        if start.elapsed() > Duration::from_secs(10) {
            panic!("{what}: not within 10 s; the log:\n{}", log.text());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    start.elapsed()
}

#[test]
#[ignore = "needs root + netns (cargo xtask test)"]
fn netns_link_watch_overrun_resynchronises_and_loses_no_change() {
    let log = Log::default();
    let writer = log.clone();
    tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .with_env_filter(tracing_subscriber::EnvFilter::new("info"))
        .init();
    let lan = Lan::new("ov");
    let ns = lan.add_host("om", &[&format!("{MASTER}/24")]);
    // A veth pair (the host kernel may lack the dummy driver).
    ns.run(&[
        "ip", "link", "add", DUMMY, "type", "veth", "peer", "name", "burst1",
    ]);
    ns.run(&["ip", "link", "set", DUMMY, "up"]);
    let dir = std::env::temp_dir().join(lvs_testenv::unique_name("overrun"));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let (q, q_rx) = tokio::sync::mpsc::unbounded_channel();
    let (stop, stopped) = tokio::sync::oneshot::channel();
    std::thread::scope(|s| {
        s.spawn(|| director_thread(&ns, config(), q_rx, stopped, None));
        wait_state(&q, State::Master, "the Master");
        wait("the VIP", Duration::from_secs(5), || vip_on(&ns));

        // 1. The VIP deleted behind its back, inside the burst.
        let before = log.overruns();
        let took = burst(&ns, &dir, &format!("address del {VIP}/24 dev {LAB_IFACE}"));
        let back = wait_or_show(&log, "the VIP put back", || vip_on(&ns));
        let first = log.overruns() - before;
        println!(
            "VIP deleted inside a burst of {} notifications ({:.2} s): overruns seen: {first}, \
             VIP back after {:.2} s",
            2 * BURST + 1,
            took.as_secs_f64(),
            back.as_secs_f64(),
        );
        assert!(
            first > 0,
            "no overrun: the burst did not overflow the watcher"
        );
        wait_state(&q, State::Master, "Master again");
        assert!(
            log.text().contains("deleted while Master"),
            "the deletion was not seen as such"
        );

        // 2. The interface set down inside the burst.
        let before = log.overruns();
        let took = burst(&ns, &dir, &format!("link set {LAB_IFACE} down"));
        let t0 = Instant::now();
        let deadline = t0 + Duration::from_secs(10);
        while status(&q).state != State::Fault {
            assert!(
                Instant::now() < deadline,
                "still {:?} 10 s after its interface went down",
                status(&q).state
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        let fault = t0.elapsed();
        wait_or_show(&log, "the VIP dropped", || !vip_on(&ns));
        let second = log.overruns() - before;
        println!(
            "interface down inside a burst of {} notifications ({:.2} s): overruns seen: {second}, \
             Fault after {:.2} s",
            2 * BURST + 1,
            took.as_secs_f64(),
            fault.as_secs_f64(),
        );
        assert!(second > 0, "no overrun in the second burst");
        ns.run(&["ip", "link", "set", LAB_IFACE, "up"]);
        wait_state(&q, State::Master, "Master once the interface is back");
        wait("the VIP back", Duration::from_secs(5), || vip_on(&ns));
        println!("overruns seen in all: {}", log.overruns());
        let _ = stop.send(());
    });
    let _ = std::fs::remove_dir_all(&dir);
}
