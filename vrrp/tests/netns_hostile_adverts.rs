//! A third host on the segment sends crafted adverts, each breaking one
//! receive check, at a priority above the Master's: 5 of each case, in
//! VRRPv2 and VRRPv3. A Master and a Backup (tokio drivers) run on a bridge
//! in their own namespaces; the Master must keep the VIP and stay Master
//! through every case, and both routers' drop counters must have seen each
//! case under its own reason. A last, correct advert from the third host
//! does take the Master role, so the crafted ones reached it and differed
//! only in what they break.
//!
//! Before lvs-vrrp made the v3 checks the v2 ones, the v3 Master withdrew
//! its VIP on the zero-interval and the address-list cases.
//!
//! Run as root:
//! `cargo test -p lvs-vrrp --features tokio --test netns_hostile_adverts -- --ignored --nocapture`

mod hostile;
#[path = "hostile/intruder.rs"]
mod intruder;

use std::net::IpAddr;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use lvs_testenv::{LAB_IFACE, Lan, Netns};
use lvs_vrrp::driver::{Driver, VrrpSocket};
use lvs_vrrp::wire::MULTICAST_V4;
use lvs_vrrp::{Action, AdvertInterval, Auth, Config, DropCounts, Reason, Router, Seconds, State};

use hostile::Case;
use intruder::Intruder;

const MASTER: &str = "172.20.0.81";
const BACKUP: &str = "172.20.0.82";
const INTRUDER: &str = "172.20.0.99";
const VIP: &str = "172.20.0.83";
const HOSTILE_PRIORITY: u8 = 200;
const PER_CASE: usize = 5;

fn addr(s: &str) -> IpAddr {
    s.parse().expect("literal")
}

/// What a driver thread reports: which router (0 Master, 1 Backup) did what.
type Event = (usize, Action);

/// A request for a router's drop counters.
type Query = mpsc::Sender<DropCounts>;

/// Runs a driver on `ns`'s lab interface until `stop` fires, carrying out
/// address actions with `ip addr` and answering counter queries.
fn driver_thread(
    ns: &Netns,
    who: usize,
    cfg: Config,
    events: mpsc::Sender<Event>,
    mut queries: tokio::sync::mpsc::UnboundedReceiver<Query>,
    stop: tokio::sync::oneshot::Receiver<()>,
) {
    let name = ns.name().to_string();
    ns.enter(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let socket = VrrpSocket::open_for(LAB_IFACE, &cfg).expect("raw sockets");
            let mut driver =
                Driver::new(Router::new(cfg).expect("config"), socket).expect("driver timer");
            driver.start();
            let ip = |verb: &str| {
                let cidr = format!("{VIP}/24");
                let out = std::process::Command::new("ip")
                    .args(["-n", &name, "addr", verb, &cidr, "dev", LAB_IFACE])
                    .output()
                    .expect("ip");
                assert!(out.status.success(), "ip addr {verb}: {out:?}");
            };
            tokio::pin!(stop);
            loop {
                tokio::select! {
                    _ = &mut stop => break,
                    Some(reply) = queries.recv() => {
                        let _ = reply.send(driver.router().drops().clone());
                    }
                    r = driver.next_action() => {
                        let a = r.expect("the driver must not end");
                        match &a {
                            Action::AddAddresses { .. } => ip("add"),
                            Action::RemoveAddresses { .. } => ip("del"),
                            _ => {}
                        }
                        let _ = events.send((who, a));
                    }
                }
            }
            for a in driver.shutdown().await {
                if let Action::RemoveAddresses { .. } = a {
                    ip("del");
                }
            }
        })
    })
}

fn vip_on(ns: &Netns) -> bool {
    ns.run(&["ip", "-o", "-4", "addr", "show", "dev", LAB_IFACE])
        .contains(&format!("{VIP}/"))
}

fn counters(q: &tokio::sync::mpsc::UnboundedSender<Query>) -> DropCounts {
    let (tx, rx) = mpsc::channel();
    q.send(tx).expect("driver running");
    rx.recv_timeout(Duration::from_secs(5))
        .expect("driver answers")
}

/// Waits for `want`, skipping other events.
fn wait_for(rx: &mpsc::Receiver<Event>, what: &str, want: impl Fn(&Event) -> bool) -> Event {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok(e) if want(&e) => return e,
            Ok(_) => {}
            Err(_) => panic!("timed out waiting for {what}"),
        }
    }
}

/// State changes and address changes seen since the last call.
fn changes(rx: &mpsc::Receiver<Event>) -> Vec<Event> {
    rx.try_iter()
        .filter(|(_, a)| {
            matches!(
                a,
                Action::StateChanged { .. }
                    | Action::AddAddresses { .. }
                    | Action::RemoveAddresses { .. }
                    | Action::AddressMismatch { .. }
            )
        })
        .collect()
}

struct Row {
    version: &'static str,
    case: Case,
    master_drops: u64,
    backup_drops: u64,
    master_state: &'static str,
    vip_held: bool,
}

fn run_version(v3: bool, rows: &mut Vec<Row>) {
    let version = if v3 { "v3" } else { "v2" };
    let lan = Lan::new(if v3 { "h3" } else { "h2" });
    let master_ns = lan.add_host("hm", &[&format!("{MASTER}/24")]);
    let backup_ns = lan.add_host("hb", &[&format!("{BACKUP}/24")]);
    let intruder_ns = lan.add_host("hx", &[&format!("{INTRUDER}/24")]);
    let interval = if v3 {
        // 100 ms adverts.
        hostile::v3(10)
    } else {
        AdvertInterval::V2(Seconds(1))
    };
    let cfg = |primary: &str, priority: u8| {
        let mut c = Config::new(1, priority, interval, addr(primary), vec![addr(VIP)]);
        if !v3 {
            c.auth = Auth::simple_text(b"lvs-pass");
        }
        c
    };
    let mut master_cfg = cfg(MASTER, 100);
    master_cfg.start_as_master = true;
    let backup_cfg = cfg(BACKUP, 90);
    let (tx, rx) = mpsc::channel();
    let (mq_tx, mq_rx) = tokio::sync::mpsc::unbounded_channel();
    let (bq_tx, bq_rx) = tokio::sync::mpsc::unbounded_channel();
    let (m_stop, m_stopped) = tokio::sync::oneshot::channel();
    let (b_stop, b_stopped) = tokio::sync::oneshot::channel();
    std::thread::scope(|s| {
        let tx_m = tx.clone();
        let victim = master_cfg.clone();
        s.spawn(|| driver_thread(&master_ns, 0, victim, tx_m, mq_rx, m_stopped));
        s.spawn(|| driver_thread(&backup_ns, 1, backup_cfg, tx, bq_rx, b_stopped));
        let is = |who: usize, to: State| move |e: &Event| matches!(e, (w, Action::StateChanged { to: t, .. }) if *w == who && *t == to);
        let (mut master_up, mut backup_up) = (false, false);
        while !(master_up && backup_up) {
            let e = wait_for(&rx, "Master and Backup", |e| {
                is(0, State::Master)(e) || is(1, State::Backup)(e)
            });
            master_up |= e.0 == 0;
            backup_up |= e.0 == 1;
        }
        // Let the Backup hear the Master before the intruder starts.
        std::thread::sleep(interval.to_duration() * 2);
        let _ = changes(&rx);
        assert!(vip_on(&master_ns), "{version}: the Master holds the VIP");
        let intruder = Intruder::open(&intruder_ns, LAB_IFACE, INTRUDER.parse().expect("literal"));
        let src = addr(INTRUDER);
        let group = IpAddr::V4(MULTICAST_V4);
        for case in Case::all(v3) {
            let m0 = counters(&mq_tx);
            let b0 = counters(&bq_tx);
            for _ in 0..PER_CASE {
                let c = hostile::craft(case, &master_cfg, HOSTILE_PRIORITY, &src, &group);
                intruder.send(&c.bytes, c.ttl);
                std::thread::sleep(Duration::from_millis(20));
            }
            // Long enough for a flap to show (the old v3 Master stepped
            // down at once and came back after Skew_Time).
            std::thread::sleep(Duration::from_millis(300));
            let m1 = counters(&mq_tx);
            let b1 = counters(&bq_tx);
            let seen = changes(&rx);
            let row = Row {
                version,
                case,
                master_drops: m1.get(case.kind()) - m0.get(case.kind()),
                backup_drops: b1.get(case.kind()) - b0.get(case.kind()),
                master_state: if seen.iter().any(|(w, _)| *w == 0) {
                    "CHANGED"
                } else {
                    "MASTER"
                },
                vip_held: vip_on(&master_ns),
            };
            assert!(
                seen.is_empty(),
                "{version} {}: state or address changes: {seen:?}",
                case.name()
            );
            assert!(row.vip_held, "{version} {}: the VIP left", case.name());
            assert_eq!(
                (row.master_drops, row.backup_drops),
                (PER_CASE as u64, PER_CASE as u64),
                "{version} {}: drops counted as {}",
                case.name(),
                case.kind()
            );
            assert_eq!(
                m1.total() - m0.total(),
                PER_CASE as u64,
                "{version} {}: counted under another reason too",
                case.name()
            );
            rows.push(row);
        }
        // Control: a correct advert at that priority does take over.
        let good = hostile::valid(&master_cfg, HOSTILE_PRIORITY)
            .to_bytes(lvs_vrrp::ChecksumForm::PseudoHeader, &src, &group)
            .expect("emit");
        intruder.send(&good, 255);
        let (_, a) = wait_for(&rx, "the control advert's takeover", is(0, State::Backup));
        assert!(
            matches!(
                a,
                Action::StateChanged {
                    from: State::Master,
                    reason: Reason::HigherPriority { from, priority: HOSTILE_PRIORITY },
                    ..
                } if from == src
            ),
            "{version}: {a:?}"
        );
        println!(
            "{version} control: a correct advert at priority {HOSTILE_PRIORITY} from {INTRUDER} → Master stepped down (as it must)"
        );
        let _ = m_stop.send(());
        let _ = b_stop.send(());
    });
}

#[test]
#[ignore = "needs root + netns (cargo xtask test)"]
fn netns_hostile_adverts_leave_the_master_in_place_v2_and_v3() {
    lvs_testenv::require_root("the hostile-advert test");
    let mut rows = Vec::new();
    run_version(false, &mut rows);
    run_version(true, &mut rows);
    println!(
        "\nhostile adverts: {PER_CASE} per case at priority {HOSTILE_PRIORITY} (Master 100, Backup 90)"
    );
    println!(
        "{:<4} {:<22} {:<18} {:>12} {:>12} {:<8} VIP held",
        "ver", "case", "drop reason", "master drops", "backup drops", "master"
    );
    for r in &rows {
        println!(
            "{:<4} {:<22} {:<18} {:>12} {:>12} {:<8} {}",
            r.version,
            r.case.name(),
            r.case.kind().as_str(),
            format!("{}/{PER_CASE}", r.master_drops),
            format!("{}/{PER_CASE}", r.backup_drops),
            r.master_state,
            if r.vip_held { "yes" } else { "NO" }
        );
    }
}
