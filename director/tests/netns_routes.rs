//! Two embedded directors (`lvs_director::run`, typed config, VRRP only)
//! on a bridge, each with keepalived's `virtual_routes` / `virtual_rules`
//! (a gateway route, a route with the VIP as its source, a blackhole, in
//! table 100; a `from VIP` rule and an `fwmark` rule) and static ones (an
//! address, a route, a rule): the virtual ones are in the kernel of the
//! Master only, leave it when it stops, and appear on the Backup that takes
//! over; the static ones are there while each director runs and gone after
//! it stops. NODE01's static route is put there before it starts (the add
//! must not fail on it). Read back with `ip route` / `ip rule`.
//!
//! Run as root: `cargo test -p lvs-director --features tokio --test netns_routes -- --ignored netns_`

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use lvs_director::{DirectorConfig, Route, RouteKind, Routing, Rule, Vip, VrrpInstance};
use lvs_ipvs::Family;
use lvs_testenv::{LAB_IFACE, Lan, Netns};
use lvs_vrrp::{AdvertInterval, Seconds};

mod common;
use common::wait;

fn ip(s: &str) -> IpAddr {
    s.parse().expect("address")
}

fn vip() -> IpAddr {
    ip("172.20.0.83")
}

fn config(priority: u8, master: bool, node: u8) -> DirectorConfig {
    let mut router = lvs_vrrp::Config::new(
        1,
        priority,
        AdvertInterval::V2(Seconds(1)),
        ip("0.0.0.0"),
        vec![vip()],
    );
    router.start_as_master = master;
    let mut inst = VrrpInstance::new("VI_1", LAB_IFACE, router)
        .with_route(
            Route::new(ip("198.51.100.0"), 24)
                .with_via(ip("172.20.0.1"))
                .with_table(100),
        )
        .with_route(
            Route::new(ip("192.0.2.0"), 24)
                .with_dev(LAB_IFACE)
                .with_src(vip())
                .with_table(100),
        )
        .with_route(
            Route::new(ip("203.0.113.0"), 24)
                .with_kind(RouteKind::Blackhole)
                .with_table(100),
        )
        .with_rule(
            Rule::new(Family::Inet)
                .with_from(vip(), 32)
                .with_table(100)
                .with_priority(1000),
        );
    let mut untracked = Route::new(ip("198.18.0.0"), 15)
        .with_via(ip("172.20.0.1"))
        .with_table(100);
    untracked.no_track = true;
    inst = inst.with_route(untracked);
    let mut marked = Rule::new(Family::Inet).with_table(100).with_priority(1001);
    marked.fwmark = Some(0x10);
    inst = inst.with_rule(marked);
    inst.vips = vec![Vip::new(vip()).with_prefix(24)];
    let mut statics = Routing::new(
        vec![Route::new(ip("10.98.0.0"), 16).with_via(ip("172.20.0.1"))],
        vec![
            Rule::new(Family::Inet)
                .with_to(ip("10.98.0.0"), 16)
                .with_table(101)
                .with_priority(2000),
        ],
    );
    let mut addr = Vip::new(ip(&format!("10.99.0.{node}")));
    addr.interface = Some(LAB_IFACE.into());
    statics.addresses.push(addr);
    let mut c = DirectorConfig::new().with_instance(inst);
    c.static_routing = statics;
    c
}

fn out(ns: &Netns, argv: &[&str]) -> String {
    String::from_utf8_lossy(&ns.try_run(argv).stdout).into_owned()
}

/// What of the virtual routes and rules `ns` holds: table 100's routes, and
/// the rules at preferences 1000 and 1001.
fn virtual_state(ns: &Netns) -> (usize, usize) {
    let routes = out(ns, &["ip", "-4", "route", "show", "table", "100"]);
    let rules = out(ns, &["ip", "-4", "rule", "show"]);
    let want_routes = [
        "198.51.100.0/24 via 172.20.0.1 dev ens18 proto keepalived",
        "192.0.2.0/24 dev ens18 proto keepalived scope link src 172.20.0.83",
        "blackhole 203.0.113.0/24 proto keepalived",
    ];
    let want_rules = [
        "1000:\tfrom 172.20.0.83 lookup 100",
        "1001:\tfrom all fwmark 0x10 lookup 100",
    ];
    let r = want_routes
        .iter()
        .filter(|w| routes.lines().any(|l| l.trim() == **w))
        .count();
    let u = want_rules
        .iter()
        .filter(|w| rules.lines().any(|l| l.trim() == **w))
        .count();
    (r, u)
}

/// Whether `ns` holds its static address, route and rule (all or none is
/// expected; `None` for a mix).
fn static_state(ns: &Netns, node: u8) -> Option<bool> {
    let addr = out(ns, &["ip", "-4", "addr", "show", "dev", LAB_IFACE])
        .contains(&format!("inet 10.99.0.{node}/32"));
    let route = out(ns, &["ip", "-4", "route", "show"]).lines().any(|l| {
        l.trim()
            .starts_with("10.98.0.0/16 via 172.20.0.1 dev ens18")
    });
    let rule = out(ns, &["ip", "-4", "rule", "show"])
        .lines()
        .any(|l| l.trim() == "2000:\tfrom all to 10.98.0.0/16 lookup 101");
    (addr == route && route == rule).then_some(addr)
}

/// The shared runner, then `stopped` set once the director has shut down.
fn run_director(ns: &Netns, cfg: DirectorConfig, stop: &AtomicBool, stopped: &AtomicBool) {
    common::run_director(ns, cfg, stop);
    stopped.store(true, Ordering::Relaxed);
}

/// NODE01 (priority 100, starts as Master) and NODE02 (90) on a bridge.
struct Pair {
    n1: Arc<Netns>,
    n2: Arc<Netns>,
    stop: [AtomicBool; 2],
    stopped: [AtomicBool; 2],
}

/// Runs both directors while `body` runs (after `prepare` on NODE01's
/// namespace), then stops them, whatever `body` did.
fn with_pair(name: &str, prepare: impl FnOnce(&Netns), body: impl FnOnce(&Pair)) {
    lvs_testenv::require_program("ip");
    let lan = Lan::new(name);
    let p = Pair {
        n1: lan.add_host(&format!("{name}1"), &["172.20.0.81/24"]),
        n2: lan.add_host(&format!("{name}2"), &["172.20.0.82/24"]),
        stop: [AtomicBool::new(false), AtomicBool::new(false)],
        stopped: [AtomicBool::new(false), AtomicBool::new(false)],
    };
    prepare(&p.n1);
    std::thread::scope(|s| {
        s.spawn(|| run_director(&p.n1, config(100, true, 1), &p.stop[0], &p.stopped[0]));
        s.spawn(|| run_director(&p.n2, config(90, false, 2), &p.stop[1], &p.stopped[1]));
        let result = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| body(&p)));
        for f in &p.stop {
            f.store(true, Ordering::Relaxed);
        }
        if let Err(e) = result {
            std::panic::resume_unwind(e);
        }
    });
}

#[test]
#[ignore = "needs root + netns (cargo xtask test)"]
fn netns_routes_virtual_ones_follow_the_master_static_ones_the_process() {
    lvs_testenv::require_root(
        "netns_routes_virtual_ones_follow_the_master_static_ones_the_process",
    );
    let prepare = |n1: &Netns| {
        // Already there (as a previous run would leave it): adding it is done.
        n1.run(&[
            "ip",
            "route",
            "add",
            "10.98.0.0/16",
            "via",
            "172.20.0.1",
            "proto",
            "keepalived",
        ]);
    };
    with_pair("rt", prepare, |p| {
        let (n1, n2) = (p.n1.clone(), p.n2.clone());
        let ([stop1, stop2], [stopped1, stopped2]) = (&p.stop, &p.stopped);
        let both = Duration::from_secs(5);
        wait("NODE01 holds its virtual routes and rules", both, || {
            virtual_state(&n1) == (3, 2)
        });
        wait("both hold their static ones", both, || {
            static_state(&n1, 1) == Some(true) && static_state(&n2, 2) == Some(true)
        });
        // Settled: NODE02 has heard NODE01 for a while and stays Backup.
        std::thread::sleep(Duration::from_secs(4));
        assert_eq!(virtual_state(&n2), (0, 0), "NODE02 is Backup");
        assert_eq!(virtual_state(&n1), (3, 2));

        // The Master stops: all of its routes, rules and its static
        // ones go; the Backup takes over and installs the virtual ones.
        stop1.store(true, Ordering::Relaxed);
        wait("NODE01 stopped", both, || stopped1.load(Ordering::Relaxed));
        assert_eq!(virtual_state(&n1), (0, 0), "NODE01 after stop");
        assert_eq!(static_state(&n1, 1), Some(false), "NODE01 after stop");
        wait("NODE02 holds the virtual routes and rules", both, || {
            virtual_state(&n2) == (3, 2)
        });
        assert_eq!(static_state(&n2, 2), Some(true));

        stop2.store(true, Ordering::Relaxed);
        wait("NODE02 stopped", both, || stopped2.load(Ordering::Relaxed));
        assert_eq!(virtual_state(&n2), (0, 0), "NODE02 after stop");
        assert_eq!(static_state(&n2, 2), Some(false), "NODE02 after stop");
    });
}

/// Whether table 100 of `ns` has a route starting with `prefix`.
fn has_route(ns: &Netns, prefix: &str) -> bool {
    out(ns, &["ip", "-4", "route", "show", "table", "100"])
        .lines()
        .any(|l| l.starts_with(prefix))
}

/// Samples `ns` every 20 ms for `d`: whether the Master's blackhole route
/// (never deleted by the test) was ever missing, i.e. it left Master.
fn left_master_within(ns: &Netns, d: Duration) -> bool {
    let until = std::time::Instant::now() + d;
    let mut left = false;
    while std::time::Instant::now() < until {
        left |= !has_route(ns, "blackhole 203.0.113.0/24");
        std::thread::sleep(Duration::from_millis(20));
    }
    left
}

#[test]
#[ignore = "needs root + netns (cargo xtask test)"]
fn netns_routes_deleted_behind_its_back_are_tracked_as_keepalived_does() {
    lvs_testenv::require_root(
        "netns_routes_deleted_behind_its_back_are_tracked_as_keepalived_does",
    );
    with_pair(
        "rd",
        |_| {},
        |p| {
            let (n1, n2) = (p.n1.clone(), p.n2.clone());
            let settle = Duration::from_secs(5);
            wait("NODE01 holds its virtual routes and rules", settle, || {
                virtual_state(&n1) == (3, 2) && has_route(&n1, "198.18.0.0/15")
            });
            std::thread::sleep(Duration::from_secs(3));
            assert_eq!(virtual_state(&n2), (0, 0), "NODE02 is Backup");

            // A `no_track` route deleted: left alone, NODE01 stays Master.
            n1.run(&["ip", "route", "del", "198.18.0.0/15", "table", "100"]);
            assert!(!left_master_within(&n1, Duration::from_secs(2)), "no_track");
            assert!(
                !has_route(&n1, "198.18.0.0/15"),
                "a no_track route is not put back"
            );

            // A tracked route, rule and the VIP, each deleted by hand: NODE01
            // leaves Master and takes over again after Skew_Time, putting
            // everything back; NODE02 never takes the routes.
            let deletions: [&[&str]; 3] = [
                &["ip", "route", "del", "198.51.100.0/24", "table", "100"],
                &["ip", "rule", "del", "pref", "1000"],
                &["ip", "addr", "del", "172.20.0.83/24", "dev", LAB_IFACE],
            ];
            for argv in deletions {
                n1.run(argv);
                assert!(
                    left_master_within(&n1, Duration::from_millis(1500)),
                    "{argv:?}: left Master"
                );
                wait(
                    "NODE01 holds everything again",
                    Duration::from_secs(3),
                    || {
                        virtual_state(&n1) == (3, 2)
                            && out(&n1, &["ip", "-4", "addr", "show", "dev", LAB_IFACE])
                                .contains("inet 172.20.0.83/24")
                    },
                );
                std::thread::sleep(Duration::from_secs(2));
                assert_eq!(
                    virtual_state(&n1),
                    (3, 2),
                    "{argv:?}: NODE01 is Master again"
                );
                assert_eq!(virtual_state(&n2), (0, 0), "{argv:?}: NODE02 stayed Backup");
            }

            // Static ones are put back, on the Master as on the Backup.
            n1.run(&["ip", "route", "del", "10.98.0.0/16"]);
            n2.run(&["ip", "rule", "del", "pref", "2000"]);
            n2.run(&["ip", "addr", "del", "10.99.0.2/32", "dev", LAB_IFACE]);
            wait("static ones put back", Duration::from_secs(2), || {
                static_state(&n1, 1) == Some(true) && static_state(&n2, 2) == Some(true)
            });
            assert_eq!(virtual_state(&n1), (3, 2), "NODE01 stayed Master");
        },
    );
}
