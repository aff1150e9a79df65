//! keepalived's `vrrp_notify_fifo` on an embedded director pair on a bridge
//! (one `lvs_director::run` per namespace, VRRP only): a reader of A's FIFO
//! receives keepalived 2.2.7's lines for A's five transitions, in order:
//!
//! 1. A starts alone: `BACKUP 100`, then
//! 2. `MASTER 100` once its Master_Down timer runs out;
//! 3. B starts at priority 150 and preempts: `BACKUP 100`;
//! 4. B stops (what the `director` binary does on SIGTERM: priority-0
//!    adverts): `MASTER 100`;
//! 5. A stops: `STOP 100`.
//!
//! A makes the FIFO (it does not exist before) and removes it when it stops.
//! With A's instance in a sync group, each line is followed by the group's.
//!
//! Run as root:
//! `cargo test -p lvs-director --features tokio --test netns_notify_fifo -- --ignored`

use std::io::BufRead;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use lvs_director::{DirectorConfig, NotifyFifo, Vip, VrrpInstance};
use lvs_testenv::{LAB_IFACE, Lan, Netns};
use lvs_vrrp::{AdvertInterval, Centiseconds};

const A: &str = "172.20.0.81";
const B: &str = "172.20.0.82";
const VIP: &str = "172.20.0.83";

fn addr(s: &str) -> IpAddr {
    s.parse().expect("literal")
}

fn config(primary: &str, priority: u8, fifo: Option<&Path>) -> DirectorConfig {
    let interval = AdvertInterval::V3(Centiseconds::new(20).expect("interval"));
    let router = lvs_vrrp::Config::new(1, priority, interval, addr(primary), vec![addr(VIP)]);
    let mut inst = VrrpInstance::new("VI_1", LAB_IFACE, router);
    inst.vips = vec![Vip::new(addr(VIP)).with_prefix(24)];
    let mut cfg = DirectorConfig::new();
    cfg.instances.push(inst);
    cfg.notify_fifos.vrrp = fifo.map(NotifyFifo::new);
    cfg
}

/// Runs a director in `ns` until `stop` fires.
fn director(ns: &Netns, cfg: DirectorConfig, stop: tokio::sync::oneshot::Receiver<()>) {
    ns.enter(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let h = lvs_director::run(cfg).await.expect("director starts");
            let _ = stop.await;
            h.shutdown().await;
        })
    })
}

/// Reads the FIFO once the director has made it, a line at a time, until
/// the director closes it.
fn reader(path: PathBuf, lines: mpsc::Sender<String>) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while !path.exists() {
        assert!(
            Instant::now() < deadline,
            "the director did not make its FIFO"
        );
        std::thread::sleep(Duration::from_millis(5));
    }
    let f = std::fs::File::open(&path).expect("open the FIFO");
    for l in std::io::BufReader::new(f).lines() {
        let Ok(l) = l else { return };
        if lines.send(l).is_err() {
            return;
        }
    }
}

fn next(lines: &mpsc::Receiver<String>, what: &str) -> String {
    lines
        .recv_timeout(Duration::from_secs(10))
        .unwrap_or_else(|e| panic!("{what}: no FIFO line within 10 s ({e})"))
}

/// The five transitions on a pair; A's instance in sync group `G1` when
/// `group`. Returns the lines A's FIFO received, `per_step` of them a step.
fn five_transitions(group: bool, per_step: usize) -> Vec<String> {
    let lan = Lan::new("nf");
    let a_ns = lan.add_host("nfa", &[&format!("{A}/24")]);
    let b_ns = lan.add_host("nfb", &[&format!("{B}/24")]);
    let dir = std::env::temp_dir().join(lvs_testenv::unique_name("fifo"));
    std::fs::create_dir_all(&dir).expect("dir");
    let path = dir.join("vrrp_notify");
    assert!(!path.exists());
    let (tx, lines) = mpsc::channel();
    let (a_stop, a_stopped) = tokio::sync::oneshot::channel();
    let (b_stop, b_stopped) = tokio::sync::oneshot::channel();
    let mut seen = Vec::new();
    std::thread::scope(|s| {
        let p = path.clone();
        s.spawn(move || reader(p, tx));
        let mut a_cfg = config(A, 100, Some(&path));
        if group {
            a_cfg
                .sync_groups
                .push(lvs_director::SyncGroup::new("G1", &["VI_1"]));
        }
        s.spawn(|| director(&a_ns, a_cfg, a_stopped));
        let mut step = |what: &str| (0..per_step).for_each(|_| seen.push(next(&lines, what)));
        step("A starts");
        step("A alone becomes Master");
        s.spawn(|| director(&b_ns, config(B, 150, None), b_stopped));
        step("B preempts");
        b_stop.send(()).expect("B running");
        step("B stops");
        a_stop.send(()).expect("A running");
        step("A stops");
    });
    assert!(
        lines.try_recv().is_err(),
        "nothing after STOP: the reader saw the FIFO close"
    );
    assert!(!path.exists(), "the FIFO A made is removed when A stops");
    std::fs::remove_dir_all(&dir).expect("cleanup");
    seen
}

#[test]
#[ignore = "needs root + netns (cargo xtask test)"]
fn netns_notify_fifo_receives_five_transitions_in_order() {
    lvs_testenv::require_root("netns_notify_fifo_receives_five_transitions_in_order");
    lvs_testenv::require_program("ip");
    let seen = five_transitions(false, 1);
    assert_eq!(
        seen,
        [
            "INSTANCE \"VI_1\" BACKUP 100",
            "INSTANCE \"VI_1\" MASTER 100",
            "INSTANCE \"VI_1\" BACKUP 100",
            "INSTANCE \"VI_1\" MASTER 100",
            "INSTANCE \"VI_1\" STOP 100",
        ]
    );
}

/// In a sync group, each instance line is followed by the group's line,
/// `GROUP "G1" STATE 0`, as keepalived 2.2.7 writes it.
#[test]
#[ignore = "needs root + netns (cargo xtask test)"]
fn netns_notify_fifo_gets_a_group_line_after_each_instance_line() {
    lvs_testenv::require_root("netns_notify_fifo_gets_a_group_line_after_each_instance_line");
    lvs_testenv::require_program("ip");
    let seen = five_transitions(true, 2);
    let want: Vec<String> = ["BACKUP", "MASTER", "BACKUP", "MASTER", "STOP"]
        .iter()
        .flat_map(|st| {
            let prio = 100;
            [
                format!("INSTANCE \"VI_1\" {st} {prio}"),
                format!("GROUP \"G1\" {st} 0"),
            ]
        })
        .collect();
    assert_eq!(seen, want);
}
