//! A director pair on a bridge (embedded `lvs_director::run`, one per
//! namespace, VRRP only) and a third host sending crafted adverts, each
//! breaking one receive check, at priority 200 (Master 100, Backup 90):
//! 5 of each case, VRRPv2 and VRRPv3. The Master must never withdraw the
//! VIP (watched with `ip monitor address`) and must stay Master, the
//! Backup must never take it, and the Master's status must count each case
//! under its drop reason. A correct advert from the third host at the end
//! does take the Master role, so the crafted ones reached the Master.
//!
//! As measured by a user before the v3 checks were the v2 ones: the v3
//! Master withdrew the VIP 5 times for the zero-interval case and for the
//! address-list case.
//!
//! Run as root:
//! `cargo test -p lvs-director --features tokio --test netns_hostile_adverts -- --ignored --nocapture`

#[path = "../../vrrp/tests/hostile/mod.rs"]
mod hostile;
#[path = "../../vrrp/tests/hostile/intruder.rs"]
mod intruder;

use std::net::IpAddr;
use std::time::{Duration, Instant};

use lvs_director::{DirectorConfig, Vip, VrrpInstance};
use lvs_testenv::{LAB_IFACE, Lan, Netns};
use lvs_vrrp::wire::MULTICAST_V4;
use lvs_vrrp::{AdvertInterval, Auth, ChecksumForm, Seconds, State};

use hostile::Case;
use intruder::Intruder;

mod common;
use common::{director_thread, status, wait_state};

const MASTER: &str = "172.20.0.81";
const BACKUP: &str = "172.20.0.82";
const INTRUDER: &str = "172.20.0.99";
const VIP: &str = "172.20.0.83";
const HOSTILE_PRIORITY: u8 = 200;
const PER_CASE: usize = 5;

fn addr(s: &str) -> IpAddr {
    s.parse().expect("literal")
}

/// The router both directors run, VRID 1, at `priority` from `primary`.
fn router(v3: bool, primary: &str, priority: u8) -> lvs_vrrp::Config {
    let interval = if v3 {
        hostile::v3(20)
    } else {
        AdvertInterval::V2(Seconds(1))
    };
    let mut c = lvs_vrrp::Config::new(1, priority, interval, addr(primary), vec![addr(VIP)]);
    if !v3 {
        c.auth = Auth::simple_text(b"lvs-pass");
    }
    c
}

fn director_config(v3: bool, primary: &str, priority: u8) -> DirectorConfig {
    let mut r = router(v3, primary, priority);
    r.start_as_master = priority == 100;
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

/// VIP additions and removals `ip monitor address` logged so far.
fn vip_events(log: &std::path::Path) -> usize {
    std::fs::read_to_string(log)
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains(&format!("{VIP}/")))
        .count()
}

struct Row {
    version: &'static str,
    case: Case,
    counted: u64,
    withdrawals: usize,
    state: State,
    vip_held: bool,
}

fn run_version(v3: bool, rows: &mut Vec<Row>) {
    let version = if v3 { "v3" } else { "v2" };
    let lan = Lan::new(if v3 { "d3" } else { "d2" });
    let master_ns = lan.add_host("dm", &[&format!("{MASTER}/24")]);
    let backup_ns = lan.add_host("db", &[&format!("{BACKUP}/24")]);
    let intruder_ns = lan.add_host("dx", &[&format!("{INTRUDER}/24")]);
    let dir = std::env::temp_dir().join(lvs_testenv::unique_name("hostile"));
    std::fs::create_dir_all(&dir).expect("log dir");
    let (mq, mq_rx) = tokio::sync::mpsc::unbounded_channel();
    let (bq, bq_rx) = tokio::sync::mpsc::unbounded_channel();
    let (m_stop, m_stopped) = tokio::sync::oneshot::channel();
    let (b_stop, b_stopped) = tokio::sync::oneshot::channel();
    std::thread::scope(|s| {
        s.spawn(|| {
            director_thread(
                &master_ns,
                director_config(v3, MASTER, 100),
                mq_rx,
                m_stopped,
                None,
            )
        });
        s.spawn(|| {
            director_thread(
                &backup_ns,
                director_config(v3, BACKUP, 90),
                bq_rx,
                b_stopped,
                None,
            )
        });
        wait_state(&mq, State::Master, "the Master");
        wait_state(&bq, State::Backup, "the Backup");
        let deadline = Instant::now() + Duration::from_secs(5);
        while !vip_on(&master_ns) {
            assert!(Instant::now() < deadline, "{version}: the Master's VIP");
            std::thread::sleep(Duration::from_millis(20));
        }
        // Watch every VIP change on both directors from here on.
        let m_log = dir.join("master-monitor.log");
        let b_log = dir.join("backup-monitor.log");
        let m_mon = master_ns.spawn_logged(&["ip", "monitor", "address"], &m_log);
        let b_mon = backup_ns.spawn_logged(&["ip", "monitor", "address"], &b_log);
        std::thread::sleep(Duration::from_millis(200));
        let victim = router(v3, MASTER, 100);
        let intruder = Intruder::open(&intruder_ns, LAB_IFACE, INTRUDER.parse().expect("literal"));
        let src = addr(INTRUDER);
        let group = IpAddr::V4(MULTICAST_V4);
        for case in Case::all(v3) {
            let before = status(&mq).drops;
            for _ in 0..PER_CASE {
                let c = hostile::craft(case, &victim, HOSTILE_PRIORITY, &src, &group);
                intruder.send(&c.bytes, c.ttl);
                std::thread::sleep(Duration::from_millis(20));
            }
            // A flap (step down, Master again after Skew_Time) shows well within this.
            std::thread::sleep(Duration::from_millis(400));
            let after = status(&mq);
            let row = Row {
                version,
                case,
                counted: after.drops.get(case.kind()) - before.get(case.kind()),
                withdrawals: vip_events(&m_log),
                state: after.state,
                vip_held: vip_on(&master_ns),
            };
            let name = case.name();
            assert_eq!(
                row.withdrawals, 0,
                "{version} {name}: the Master's VIP moved"
            );
            assert_eq!(
                vip_events(&b_log),
                0,
                "{version} {name}: the Backup took the VIP"
            );
            assert_eq!(row.state, State::Master, "{version} {name}");
            assert!(row.vip_held, "{version} {name}");
            assert_eq!(
                (row.counted, after.drops.total() - before.total()),
                (PER_CASE as u64, PER_CASE as u64),
                "{version} {name}: counted under {} only",
                case.kind()
            );
            rows.push(row);
        }
        // Control: the same sender with a correct advert takes over.
        let good = hostile::valid(&victim, HOSTILE_PRIORITY)
            .to_bytes(ChecksumForm::PseudoHeader, &src, &group)
            .expect("emit");
        intruder.send(&good, 255);
        wait_state(&mq, State::Backup, "the control advert's takeover");
        println!(
            "{version} control: a correct advert at priority {HOSTILE_PRIORITY} from {INTRUDER} → the Master stepped down (as it must)"
        );
        master_ns.kill(m_mon);
        backup_ns.kill(b_mon);
        let _ = m_stop.send(());
        let _ = b_stop.send(());
    });
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
#[ignore = "needs root + netns (cargo xtask test)"]
fn netns_hostile_adverts_leave_the_director_master_in_place_v2_and_v3() {
    lvs_testenv::require_root("the director hostile-advert test");
    lvs_testenv::require_program("ip");
    let mut rows = Vec::new();
    run_version(false, &mut rows);
    run_version(true, &mut rows);
    println!(
        "\ndirector pair, third host sending {PER_CASE} adverts per case at priority {HOSTILE_PRIORITY} (Master 100, Backup 90)"
    );
    println!(
        "{:<4} {:<22} {:<18} {:>8} {:>16} {:<7} VIP held",
        "ver", "case", "drop reason", "counted", "VIP withdrawals", "state"
    );
    for r in &rows {
        println!(
            "{:<4} {:<22} {:<18} {:>8} {:>16} {:<7} {}",
            r.version,
            r.case.name(),
            r.case.kind().as_str(),
            format!("{}/{PER_CASE}", r.counted),
            r.withdrawals,
            r.state.to_string(),
            if r.vip_held { "yes" } else { "NO" }
        );
    }
}
