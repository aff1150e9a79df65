//! PING_CHECK in network namespaces: a host that answers is up, an address
//! with no host is down; IPv4 and IPv6, ping sockets and the raw-socket
//! fallback, blocking and async clients.

use std::time::{Duration, Instant};

use lvs_healthcheck::checker::ping::PingCheck;
use lvs_healthcheck::runner::AsyncChecker;
use lvs_healthcheck::{Checker, ConnectOptions, Outcome, Success};

fn soon(ms: u64) -> Instant {
    Instant::now() + Duration::from_millis(ms)
}

fn ping(dst: &str) -> PingCheck {
    // The port is unused by a ping.
    PingCheck::new(ConnectOptions::new(
        dst.parse().unwrap_or_else(|e| panic!("{dst}: {e}")),
    ))
}

fn both(check: &PingCheck, ms: u64) -> [Outcome; 2] {
    let blocking = Checker::check(check, soon(ms));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    [blocking, rt.block_on(AsyncChecker::check(check, soon(ms)))]
}

#[test]
#[ignore = "needs root + netns (cargo xtask test)"]
fn netns_ping_check_reply_is_up_no_host_is_down() {
    lvs_testenv::require_root("netns_ping_check_reply_is_up_no_host_is_down");
    lvs_testenv::require_program("ip");
    let lan = lvs_testenv::Lan::new("png");
    let director = lan.add_host("dir", &["172.20.0.81/24", "fd00:20::81/64"]);
    let _www = lan.add_host("www", &["172.20.0.85/24", "fd00:20::85/64"]);
    // Let IPv6 duplicate address detection finish.
    std::thread::sleep(Duration::from_millis(2500));

    let up4 = ping("172.20.0.85:80");
    let up6 = ping("[fd00:20::85]:80");
    let nobody4 = ping("172.20.0.99:80");
    let nobody6 = ping("[fd00:20::99]:80");
    // 0 1 admits root's group: ping sockets; "1 0" (the default) admits
    // nobody: the raw-socket fallback.
    for range in ["0 1", "1 0"] {
        director.run(&[
            "sysctl",
            "-q",
            &format!("net.ipv4.ping_group_range={range}"),
        ]);
        director.enter(|| {
            for o in both(&up4, 2000).into_iter().chain(both(&up6, 2000)) {
                assert_eq!(o, Outcome::Success(Success::EchoReply), "range {range}");
            }
            for o in both(&nobody4, 800).into_iter().chain(both(&nobody6, 800)) {
                assert!(!o.is_success(), "range {range}: {o:?}");
            }
        });
    }
}
