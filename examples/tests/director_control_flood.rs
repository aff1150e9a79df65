//! 1,000 connections to the control socket at once do not delay adverts
//! (issue 14): a `director` pair (VRRP only, 1 s adverts, Master 100,
//! Backup 90) and an observer host timestamping the Master's adverts
//! (tcpdump, kernel timestamps). The Master's control socket gets 1,000
//! connections at once: some ask `status` and read the answer, some write
//! garbage, some send nothing and hold the connection open for 10 s. The
//! largest gap between adverts must stay within the interval + 20 ms, the
//! Backup must never take over, and `director status` must answer after.
//! The Master's open files and RSS are printed before, during and after.
//!
//! Run as root (the binaries built first):
//! `cargo test -p lvs-examples --test director_control_flood -- --ignored --nocapture`

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use lvs_testenv::{LAB_IFACE, Lan, Netns, require_program, require_root, wait_for};

const DIRECTOR: &str = env!("CARGO_BIN_EXE_director");
const MASTER: &str = "172.20.0.81";
const BACKUP: &str = "172.20.0.82";
const OBSERVER: &str = "172.20.0.98";
const VIP: &str = "172.20.0.83";
/// Connections opened at once, and how many of them do what.
const CONNECTIONS: usize = 1000;
const ASKERS: usize = 400;
const GARBAGE: usize = 200;
/// How long the silent ones stay connected.
const HOLD: Duration = Duration::from_secs(10);
/// How late an advert may be: the interval plus this.
const SLACK: f64 = 0.020;

fn vrrp_only(router_id: &str, state: &str, priority: u8) -> String {
    format!(
        "global_defs {{ router_id {router_id} }}
vrrp_instance VI_1 {{
    state {state}
    interface {LAB_IFACE}
    virtual_router_id 51
    priority {priority}
    advert_int 1
    virtual_ipaddress {{ {VIP}/24 }}
}}
"
    )
}

fn has_vip(ns: &Netns) -> bool {
    ns.run(&["ip", "-4", "-o", "addr", "show", "dev", LAB_IFACE])
        .contains(&format!("inet {VIP}/"))
}

/// A director in a host namespace of its own, its files in `dir`.
struct Node {
    ns: std::sync::Arc<Netns>,
    control: PathBuf,
    pid_file: PathBuf,
    log: PathBuf,
}

impl Node {
    fn start(lan: &Lan, dir: &Path, name: &str, addr: &str, conf: &str) -> Node {
        let ns = lan.add_host(name, &[&format!("{addr}/24")]);
        let conf_path = dir.join(format!("{name}.conf"));
        std::fs::write(&conf_path, conf).unwrap();
        let node = Node {
            ns,
            control: dir.join(format!("{name}.sock")),
            pid_file: dir.join(format!("{name}.pid")),
            log: dir.join(format!("{name}.log")),
        };
        node.ns.spawn_logged(
            &[
                DIRECTOR,
                "-f",
                conf_path.to_str().unwrap(),
                "--control",
                node.control.to_str().unwrap(),
                "--pid-file",
                node.pid_file.to_str().unwrap(),
            ],
            &node.log,
        );
        node
    }

    fn status(&self) -> String {
        let out = std::process::Command::new(DIRECTOR)
            .args(["status", "--control", self.control.to_str().unwrap()])
            .output()
            .unwrap();
        assert!(out.status.success(), "director status failed: {out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    fn pid(&self) -> u32 {
        let text = std::fs::read_to_string(&self.pid_file).unwrap_or_default();
        text.trim().parse().expect("a pid in the pid file")
    }

    /// Open files and resident memory (kB) of the director.
    fn usage(&self) -> (usize, u64) {
        let pid = self.pid();
        let fds = std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count());
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let rss = status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next()?.parse().ok())
            .unwrap_or(0);
        (fds, rss)
    }
}

/// The Master's advert times as tcpdump saw them (`-tt`: epoch seconds).
fn advert_times(log: &Path) -> Vec<f64> {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains(&format!("{MASTER} >")))
        .filter_map(|l| l.split_whitespace().next()?.parse().ok())
        .collect()
}

/// Room for 1,000 client sockets besides the test's own files.
fn raise_open_file_limit() {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut lim = getrlimit(Resource::Nofile);
    let want = 4096u64.min(lim.maximum.unwrap_or(4096));
    if lim.current.is_some_and(|c| c < want) {
        lim.current = Some(want);
        setrlimit(Resource::Nofile, lim).expect("raise RLIMIT_NOFILE");
    }
}

/// What the connections got back.
#[derive(Debug, Default)]
struct Outcome {
    answered: usize,
    status_answers: usize,
    failed: usize,
}

#[test]
#[ignore = "needs root + netns (cargo xtask test)"]
fn netns_thousand_control_connections_do_not_delay_adverts() {
    require_root("director control socket flood test");
    require_program("tcpdump");
    raise_open_file_limit();
    let dir = std::env::temp_dir().join(lvs_testenv::unique_name("ctlflood"));
    std::fs::create_dir_all(&dir).unwrap();
    let lan = Lan::new("cf");
    let master = Node::start(&lan, &dir, "cfm", MASTER, &vrrp_only("M", "MASTER", 100));
    let backup = Node::start(&lan, &dir, "cfb", BACKUP, &vrrp_only("B", "BACKUP", 90));
    let observer = lan.add_host("cfo", &[&format!("{OBSERVER}/24")]);
    wait_for("the Master holds the VIP", Duration::from_secs(10), || {
        has_vip(&master.ns)
    });
    wait_for("the Backup is BACKUP", Duration::from_secs(10), || {
        backup.status().contains(": BACKUP")
    });
    let b_mon_log = dir.join("backup-monitor.log");
    let b_mon = backup
        .ns
        .spawn_logged(&["ip", "monitor", "address"], &b_mon_log);
    let cap = dir.join("adverts.txt");
    let filter = format!("ip proto 112 and src host {MASTER}");
    let dump = observer.spawn_logged(
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
    std::thread::sleep(Duration::from_millis(2500));
    let (fds0, rss0) = master.usage();

    // All connections first, so the director has all of them at once.
    let t0 = Instant::now();
    let mut conns: Vec<UnixStream> = Vec::with_capacity(CONNECTIONS);
    for i in 0..CONNECTIONS {
        let s =
            UnixStream::connect(&master.control).unwrap_or_else(|e| panic!("connection {i}: {e}"));
        s.set_read_timeout(Some(Duration::from_secs(15))).unwrap();
        conns.push(s);
    }
    let connected = t0.elapsed();
    let (askers, rest) = conns.split_at_mut(ASKERS);
    let (garbage, silent) = rest.split_at_mut(GARBAGE);
    for s in askers.iter_mut() {
        let _ = s.write_all(b"status\n");
    }
    let mut x = 0x2545_f491_4f6c_dd1du64;
    for s in garbage.iter_mut() {
        let junk: Vec<u8> = (0..512)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 32) as u8
            })
            .collect();
        let _ = s.write_all(&junk);
    }
    let mut out = Outcome::default();
    for s in askers.iter_mut().chain(garbage.iter_mut()) {
        let mut text = String::new();
        match s.read_to_string(&mut text) {
            Ok(_) => {
                out.answered += 1;
                out.status_answers += usize::from(text.contains("VI_1 vrid 51"));
            }
            Err(_) => out.failed += 1,
        }
    }
    let answered_in = t0.elapsed();
    // The silent ones, still held, with the director's side measured.
    std::thread::sleep(Duration::from_secs(2));
    let (fds1, rss1) = master.usage();
    let left = HOLD.saturating_sub(t0.elapsed());
    std::thread::sleep(left);
    let silent_answered = silent
        .iter_mut()
        .filter(|s| {
            let mut text = String::new();
            s.read_to_string(&mut text).is_ok() && !text.is_empty()
        })
        .count();
    drop(conns);
    std::thread::sleep(Duration::from_millis(2500));
    let (fds2, rss2) = master.usage();
    observer.kill(dump);
    backup.ns.kill(b_mon);

    let times = advert_times(&cap);
    let gaps: Vec<f64> = times.windows(2).map(|w| w[1] - w[0]).collect();
    let largest = gaps.iter().copied().fold(0.0, f64::max);
    println!(
        "{CONNECTIONS} connections ({ASKERS} status, {GARBAGE} garbage, {} silent for {} s) \
         opened in {:.3} s; {} of {} answered ({} with the status, {} failed) within {:.3} s; \
         {silent_answered} silent ones answered; largest advert gap {largest:.3} s over {} adverts; \
         Master fds {fds0} -> {fds1} (held) -> {fds2}, RSS {rss0} -> {rss1} -> {rss2} kB",
        silent.len(),
        HOLD.as_secs(),
        connected.as_secs_f64(),
        out.answered,
        ASKERS + GARBAGE,
        out.status_answers,
        out.failed,
        answered_in.as_secs_f64(),
        times.len(),
    );
    assert!(times.len() >= 14, "only {} adverts seen", times.len());
    assert!(
        largest <= 1.0 + SLACK,
        "an advert came {largest:.3} s after the one before"
    );
    assert_eq!(
        out.status_answers, ASKERS,
        "not every status request was answered: {out:?}"
    );
    let b_log = std::fs::read_to_string(&b_mon_log).unwrap_or_default();
    assert!(
        !b_log.contains(&format!("{VIP}/")),
        "the Backup took the VIP: {b_log}"
    );
    assert!(!has_vip(&backup.ns), "the Backup holds the VIP");
    assert!(backup.status().contains(": BACKUP"), "{}", backup.status());
    let after = master.status();
    assert!(after.contains(": MASTER"), "{after}");
    assert!(
        fds2 <= fds0 + 2,
        "the Master kept files open: {fds0} before, {fds2} after"
    );
    drop(lan);
    let _ = std::fs::remove_dir_all(&dir);
}
