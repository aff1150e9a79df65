//! The tokio `Driver` follows its interface: two namespaces on a veth pair,
//! our driver alone on one end (so it becomes Master and holds the VIP).
//! Taking the link down — administratively, then by pulling the peer end
//! (no carrier) — must put the router in Fault and remove the VIP, and
//! bringing it back must make it Backup, then Master with the VIP again.
//! Before the driver watched its link, the first advert sent on the dead
//! link ended `next_action` with `ENETUNREACH` and the VIP stayed.
//!
//! A router started on a link without carrier starts in Fault.
//!
//! Run as root: `cargo test -p lvs-vrrp --features tokio -- --ignored netns_driver`

use std::net::IpAddr;
use std::os::fd::AsFd;
use std::process::Command;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use lvs_testenv::Netns;
use lvs_vrrp::driver::{Driver, VrrpSocket};
use lvs_vrrp::{Action, AdvertInterval, Centiseconds, Config, FaultReason, Reason, Router, State};

const IFACE: &str = "vr0";
const PEER_IFACE: &str = "vr1";
const VIP_CIDR: &str = "172.20.0.83/24";

/// What the driver thread reports.
enum Event {
    Action(Action),
    /// What the link watch found before the router started.
    LinkAtStart(Option<bool>),
    /// `next_action` returned an error: the driver ended.
    Ended(std::io::Error),
}

/// Counters the driver thread returns when it stops.
struct Counters {
    send_errors: u64,
    receive_errors: u64,
}

fn ip(ns: &str, args: &[&str]) {
    let out = Command::new("ip")
        .arg("-n")
        .arg(ns)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run ip: {e}"));
    assert!(
        out.status.success(),
        "ip -n {ns} {}: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// How the driver thread reaches the namespace.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Reach {
    /// The thread enters it; sockets and link watch open there.
    Enter,
    /// The thread stays in the test's namespace and opens the sockets and
    /// the link watch in it by file (`*_in_netns`).
    ByFile,
}

/// Runs a driver on `ns`'s `vr0` until `stop` fires, carrying out address
/// actions with `ip addr` before reporting them.
fn driver_thread(
    ns: &Netns,
    reach: Reach,
    cfg: Config,
    events: mpsc::Sender<Event>,
    stop: tokio::sync::oneshot::Receiver<()>,
) -> Counters {
    let name = ns.name().to_string();
    let file = ns.file();
    let run = move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let socket = match reach {
                Reach::Enter => VrrpSocket::open_for(IFACE, &cfg),
                Reach::ByFile => VrrpSocket::open_for_in_netns(file.as_fd(), IFACE, &cfg),
            }
            .expect("raw sockets");
            let mut driver =
                Driver::new(Router::new(cfg).expect("config"), socket).expect("driver timer");
            match reach {
                Reach::Enter => driver.watch_link(),
                Reach::ByFile => driver.watch_link_in_netns(file.as_fd()),
            }
            .expect("link watch");
            let _ = events.send(Event::LinkAtStart(driver.link_up()));
            driver.start();
            let apply = |a: &Action| match a {
                Action::AddAddresses { .. } => {
                    ip(&name, &["addr", "add", VIP_CIDR, "dev", IFACE]);
                }
                Action::RemoveAddresses { .. } => {
                    ip(&name, &["addr", "del", VIP_CIDR, "dev", IFACE]);
                }
                _ => {}
            };
            tokio::pin!(stop);
            loop {
                tokio::select! {
                    _ = &mut stop => break,
                    r = driver.next_action() => match r {
                        Ok(a) => {
                            apply(&a);
                            let _ = events.send(Event::Action(a));
                        }
                        Err(e) => {
                            let _ = events.send(Event::Ended(e));
                            break;
                        }
                    },
                }
            }
            for a in driver.shutdown().await {
                apply(&a);
            }
            Counters {
                send_errors: driver.send_errors().0,
                receive_errors: driver.receive_errors().0,
            }
        })
    };
    match reach {
        Reach::Enter => ns.enter(run),
        Reach::ByFile => run(),
    }
}

/// The actions seen so far, and a way to wait for more.
struct Log {
    rx: mpsc::Receiver<Event>,
    seen: Vec<Action>,
}

impl Log {
    /// Waits until an action matching `want` arrives; returns the actions
    /// that came before it (since the last call) and it.
    fn wait(&mut self, what: &str, want: impl Fn(&Action) -> bool) -> Vec<Action> {
        let deadline = Instant::now() + Duration::from_secs(5);
        let mut batch = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.rx.recv_timeout(left) {
                Ok(Event::Action(a)) => {
                    self.seen.push(a.clone());
                    let done = want(&a);
                    batch.push(a);
                    if done {
                        return batch;
                    }
                }
                Ok(Event::LinkAtStart(_)) => {}
                Ok(Event::Ended(e)) => {
                    panic!("the driver ended while waiting for {what}: {e}; saw {batch:?}")
                }
                Err(_) => panic!("timed out waiting for {what}; saw {batch:?}"),
            }
        }
    }

    /// Nothing but announcements arrives for `quiet`.
    fn stays_quiet(&mut self, quiet: Duration) {
        let deadline = Instant::now() + quiet;
        while let Some(left) = deadline.checked_duration_since(Instant::now()) {
            match self.rx.recv_timeout(left) {
                Ok(Event::Action(Action::Announce(_)) | Event::LinkAtStart(_)) => {}
                Ok(Event::Action(a)) => panic!("unexpected {a:?} while the link was down"),
                Ok(Event::Ended(e)) => panic!("the driver ended while the link was down: {e}"),
                Err(_) => return,
            }
        }
    }
}

fn transition(to: State) -> impl Fn(&Action) -> bool {
    move |a| matches!(a, Action::StateChanged { to: t, .. } if *t == to)
}

fn vip_present(ns: &Netns) -> bool {
    ns.run(&["ip", "-o", "-4", "addr", "show", "dev", IFACE])
        .contains("172.20.0.83/")
}

/// Cuts the link with `down`, checks the resignation, restores it with
/// `up`, checks the return.
fn down_and_up(log: &mut Log, ours: &Netns, how: &str, down: impl Fn(), up: impl Fn()) {
    down();
    let batch = log.wait(&format!("Fault after {how}"), transition(State::Fault));
    let Some(Action::StateChanged { from, reason, .. }) = batch.last() else {
        unreachable!("wait returns the matching action last")
    };
    assert_eq!(*from, State::Master, "{how}: {batch:?}");
    assert_eq!(*reason, Reason::Fault(FaultReason::LinkDown), "{how}");
    assert!(
        batch
            .iter()
            .any(|a| matches!(a, Action::RemoveAddresses { .. })),
        "{how}: the Master must give up its VIP: {batch:?}"
    );
    assert!(!vip_present(ours), "{how}: the VIP must be gone");
    // Several advert intervals on a dead link: the driver stays, silent.
    log.stays_quiet(Duration::from_millis(500));

    up();
    let batch = log.wait(
        &format!("Backup after undoing {how}"),
        transition(State::Backup),
    );
    assert!(
        matches!(
            batch.last(),
            Some(Action::StateChanged {
                from: State::Fault,
                reason: Reason::FaultCleared,
                ..
            })
        ),
        "{how}: {batch:?}"
    );
    let batch = log.wait(
        &format!("Master after undoing {how}"),
        transition(State::Master),
    );
    assert!(
        matches!(
            batch.last(),
            Some(Action::StateChanged {
                from: State::Backup,
                reason: Reason::MasterDown,
                ..
            })
        ),
        "{how}: no peer, so Master_Down_Interval makes us Master: {batch:?}"
    );
    assert!(
        batch
            .iter()
            .any(|a| matches!(a, Action::AddAddresses { .. })),
        "{how}: {batch:?}"
    );
    assert!(vip_present(ours), "{how}: the VIP must be back");
}

/// Two namespaces joined by the veth pair `vr0` (ours) / `vr1` (peer),
/// both ends up.
fn veth_pair() -> (Netns, Netns) {
    lvs_testenv::require_root("the VRRP driver's link watch");
    let ours = Netns::new("vdl");
    let peer = Netns::new("vdp");
    ours.run(&[
        "ip",
        "link",
        "add",
        IFACE,
        "type",
        "veth",
        "peer",
        "name",
        PEER_IFACE,
        "netns",
        peer.name(),
    ]);
    ours.run(&["ip", "addr", "add", "172.20.0.81/24", "dev", IFACE]);
    ours.run(&["ip", "link", "set", IFACE, "up"]);
    peer.run(&["ip", "addr", "add", "172.20.0.82/24", "dev", PEER_IFACE]);
    peer.run(&["ip", "link", "set", PEER_IFACE, "up"]);
    (ours, peer)
}

fn config() -> Config {
    let primary: IpAddr = "172.20.0.81".parse().expect("literal");
    let vip: IpAddr = "172.20.0.83".parse().expect("literal");
    // 100 ms adverts: Master_Down_Interval is 0.36 s.
    let interval = AdvertInterval::V3(Centiseconds::new(10).expect("12 bits"));
    Config::new(1, 100, interval, primary, vec![vip])
}

fn link_at_start(log: &Log) -> Option<bool> {
    match log.rx.recv_timeout(Duration::from_secs(5)) {
        Ok(Event::LinkAtStart(up)) => up,
        Ok(Event::Ended(e)) => panic!("the driver ended at once: {e}"),
        Ok(Event::Action(a)) => panic!("{a:?} before the link state"),
        Err(_) => panic!("the driver thread did not start"),
    }
}

#[test]
#[ignore = "needs root + netns (cargo xtask test)"]
fn netns_driver_resigns_on_link_down_and_returns_on_link_up() {
    let (ours, peer) = veth_pair();
    let (tx, rx) = mpsc::channel();
    let (stop, stopped) = tokio::sync::oneshot::channel();
    std::thread::scope(|s| {
        let driver = s.spawn(|| driver_thread(&ours, Reach::Enter, config(), tx, stopped));
        let mut log = Log {
            rx,
            seen: Vec::new(),
        };
        assert_eq!(link_at_start(&log), Some(true), "{IFACE} starts up");
        log.wait("Master (no peer)", transition(State::Master));
        assert!(vip_present(&ours), "the Master holds the VIP");

        down_and_up(
            &mut log,
            &ours,
            "ip link set vr0 down",
            || {
                ours.run(&["ip", "link", "set", IFACE, "down"]);
            },
            || {
                ours.run(&["ip", "link", "set", IFACE, "up"]);
            },
        );
        down_and_up(
            &mut log,
            &ours,
            "the peer's end down (no carrier)",
            || {
                peer.run(&["ip", "link", "set", PEER_IFACE, "down"]);
            },
            || {
                peer.run(&["ip", "link", "set", PEER_IFACE, "up"]);
            },
        );

        let _ = stop.send(());
        let counters = driver.join().expect("driver thread");
        // The resignation advert on the administratively down link cannot
        // be sent: the driver counted that and went on.
        assert!(
            counters.send_errors >= 1,
            "a send on a down link must fail and be counted"
        );
        assert_eq!(counters.receive_errors, 0);
        assert!(!vip_present(&ours), "shutdown removes the VIP");
        let masters = log
            .seen
            .iter()
            .filter(|a| transition(State::Master)(a))
            .count();
        assert_eq!(masters, 3);
    });
}

/// A router whose link has no carrier when it starts goes straight to
/// Fault, never holding the VIP; with carrier it runs. Sockets and link
/// watch are opened by namespace file from outside the namespace.
#[test]
#[ignore = "needs root + netns (cargo xtask test)"]
fn netns_driver_starts_in_fault_on_a_link_without_carrier() {
    let (ours, peer) = veth_pair();
    peer.run(&["ip", "link", "set", PEER_IFACE, "down"]);
    let (tx, rx) = mpsc::channel();
    let (stop, stopped) = tokio::sync::oneshot::channel();
    std::thread::scope(|s| {
        let driver = s.spawn(|| driver_thread(&ours, Reach::ByFile, config(), tx, stopped));
        let mut log = Log {
            rx,
            seen: Vec::new(),
        };
        assert_eq!(link_at_start(&log), Some(false), "{IFACE} has no carrier");
        let batch = log.wait("Fault at start", transition(State::Fault));
        assert!(
            matches!(
                batch.as_slice(),
                [Action::StateChanged {
                    from: State::Initialize,
                    reason: Reason::Fault(FaultReason::LinkDown),
                    ..
                }]
            ),
            "{batch:?}"
        );
        log.stays_quiet(Duration::from_millis(500));
        assert!(!vip_present(&ours));

        peer.run(&["ip", "link", "set", PEER_IFACE, "up"]);
        log.wait("Backup with carrier", transition(State::Backup));
        log.wait("Master (no peer)", transition(State::Master));
        assert!(vip_present(&ours), "the Master holds the VIP");

        let _ = stop.send(());
        let counters = driver.join().expect("driver thread");
        assert_eq!(counters.receive_errors, 0);
        assert!(!vip_present(&ours), "shutdown removes the VIP");
    });
}
