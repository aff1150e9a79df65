//! Half-open TCP checks against real listeners in network namespaces (raw
//! sockets need root): blocking and on the tokio runner, IPv4 and IPv6.
#![cfg(feature = "tokio")]

mod common;

use std::net::TcpListener;
use std::time::{Duration, Instant};

use common::{addr, soon};
use lvs_healthcheck::checker::tcp_half_open::TcpHalfOpenCheck;
use lvs_healthcheck::runner::AsyncChecker;
use lvs_healthcheck::{Checker, ConnectOptions, FailReason, Outcome, Success, Unreachable};

const UP: Outcome = Outcome::Success(Success::SynAcknowledged);
const REFUSED: Outcome = Outcome::Failure(FailReason::Refused);
const TIMEOUT: Outcome = Outcome::Failure(FailReason::Timeout);

fn check(dst: &str) -> TcpHalfOpenCheck {
    TcpHalfOpenCheck::new(ConnectOptions::new(addr(dst)))
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"))
}

/// Half-open connections the backend still holds (`SYN-RECV`).
fn syn_recv(host: &lvs_testenv::Netns) -> String {
    host.run(&["ss", "-Htn", "state", "syn-recv"])
}

#[test]
#[ignore = "needs root + netns (cargo xtask test)"]
fn netns_half_open_tells_listening_closed_dropped_and_unreachable_apart() {
    lvs_testenv::require_root(
        "netns_half_open_tells_listening_closed_dropped_and_unreachable_apart",
    );
    lvs_testenv::require_program("ip");
    lvs_testenv::require_program("nft");
    lvs_testenv::require_program("ss");
    let lan = lvs_testenv::Lan::new("ho");
    let director = lan.add_host("dir", &["172.20.0.81/24", "fd00::81/64"]);
    let www1 = lan.add_host("www", &["172.20.0.85/24", "fd00::85/64"]);
    let (v4, v6) = www1.enter(|| {
        let bind = |a: &str| TcpListener::bind(a).unwrap_or_else(|e| panic!("{a}: {e}"));
        (bind("172.20.0.85:80"), bind("[fd00::85]:80"))
    });
    for l in [&v4, &v6] {
        l.set_nonblocking(true).unwrap_or_else(|e| panic!("{e}"));
    }
    // Port 82 is filtered silently.
    www1.run(&["nft", "add", "table", "inet", "t"]);
    www1.run(&[
        "nft", "add", "chain", "inet", "t", "in", "{", "type", "filter", "hook", "input",
        "priority", "0", ";", "}",
    ]);
    www1.run(&[
        "nft", "add", "rule", "inet", "t", "in", "tcp", "dport", "82", "drop",
    ]);

    let targets = [
        ("172.20.0.85:80", UP),
        ("172.20.0.85:81", REFUSED),
        ("[fd00::85]:80", UP),
        ("[fd00::85]:81", REFUSED),
    ];
    // Blocking, one at a time.
    for (dst, want) in &targets {
        let got = director.enter(|| Checker::check(&check(dst), soon(2000)));
        assert_eq!(&got, want, "blocking {dst}");
    }
    let dropped = director.enter(|| Checker::check(&check("172.20.0.85:82"), soon(500)));
    assert_eq!(dropped, TIMEOUT);

    // On the runner: 200 probes of the four targets plus the dropped port,
    // all at once on one shared raw socket per family.
    let outcomes = director.enter(|| {
        runtime().block_on(async {
            let checks: Vec<TcpHalfOpenCheck> = (0..200)
                .map(|i| check(targets[i % targets.len()].0))
                .chain([check("172.20.0.85:82"), check("[fd00::85]:82")])
                .collect();
            let deadline = soon(1000);
            let probes = checks.iter().map(|c| AsyncChecker::check(c, deadline));
            futures_util::future::join_all(probes).await
        })
    });
    for (i, got) in outcomes.iter().take(200).enumerate() {
        let (dst, want) = &targets[i % targets.len()];
        assert_eq!(got, want, "probe {i} of {dst}");
    }
    assert_eq!(&outcomes[200..], &[TIMEOUT, TIMEOUT]);

    // Nothing reached the applications, and the backend holds no
    // half-open connection: this host's kernel reset every SYN-ACK.
    for l in [&v4, &v6] {
        let err = l.accept().map(|_| ()).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::WouldBlock);
    }
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(syn_recv(&www1).trim(), "", "SYN-RECV left on the backend");

    // Had our resets been lost, the backend would still hold each attempt
    // (and answer a new SYN from the same port with a bare ACK): successive
    // probes of one destination rotate over the reserved source ports.
    www1.run(&[
        "nft", "add", "rule", "inet", "t", "in", "tcp", "flags", "rst", "drop",
    ]);
    let seq = director.enter(|| {
        runtime().block_on(async {
            let c = check("172.20.0.85:80");
            let mut out = Vec::new();
            for _ in 0..8 {
                out.push(AsyncChecker::check(&c, soon(1000)).await);
            }
            out
        })
    });
    assert_eq!(seq, vec![UP; 8]);
    assert_eq!(syn_recv(&www1).lines().count(), 8, "one attempt per port");

    // A host that stops answering ARP: unreachable (before the deadline),
    // reported from the raw socket's error queue, blocking and async.
    lan.set_link(&www1, false);
    director.run(&["ip", "neigh", "flush", "all"]);
    let t = director.enter(|| Checker::check(&check("172.20.0.85:80"), soon(8000)));
    assert_eq!(
        t,
        Outcome::Failure(FailReason::Unreachable(Unreachable::Host))
    );
    director.run(&["ip", "neigh", "flush", "all"]);
    let start = Instant::now();
    let t = director
        .enter(|| runtime().block_on(AsyncChecker::check(&check("172.20.0.85:80"), soon(8000))));
    assert_eq!(
        t,
        Outcome::Failure(FailReason::Unreachable(Unreachable::Host))
    );
    assert!(
        start.elapsed() < Duration::from_secs(7),
        "{:?}",
        start.elapsed()
    );
}

#[test]
#[ignore = "needs root + netns (cargo xtask test)"]
fn netns_half_open_survives_its_runtime_and_honours_source_and_device() {
    lvs_testenv::require_root("netns_half_open_survives_its_runtime_and_honours_source_and_device");
    lvs_testenv::require_program("ip");
    lvs_testenv::require_program("nft");
    let lan = lvs_testenv::Lan::new("hs");
    let director = lan.add_host(
        "dir",
        &[
            "172.20.0.81/24",
            "172.20.0.90/24",
            "fd00::81/64",
            "fd00::90/64",
        ],
    );
    let www1 = lan.add_host("www", &["172.20.0.85/24", "fd00::85/64"]);
    let _l = www1.enter(|| {
        let bind = |a: &str| TcpListener::bind(a).unwrap_or_else(|e| panic!("{a}: {e}"));
        (bind("172.20.0.85:80"), bind("[fd00::85]:80"))
    });
    // The backend counts SYNs to port 80 from each director address.
    www1.run(&["nft", "add", "table", "inet", "t"]);
    www1.run(&[
        "nft", "add", "chain", "inet", "t", "in", "{", "type", "filter", "hook", "input",
        "priority", "0", ";", "}",
    ]);
    for (family, src) in [
        ("ip", "172.20.0.81"),
        ("ip", "172.20.0.90"),
        ("ip6", "fd00::81"),
        ("ip6", "fd00::90"),
    ] {
        www1.run(&[
            "nft", "add", "rule", "inet", "t", "in", family, "saddr", src, "tcp", "flags", "syn",
            "tcp", "dport", "80", "counter",
        ]);
    }
    let syns_from = |src: &str| -> u64 {
        let listing = www1.run(&["nft", "list", "chain", "inet", "t", "in"]);
        let line = listing
            .lines()
            .find(|l| l.contains(&format!("saddr {src} ")))
            .unwrap_or_else(|| panic!("no rule for {src}: {listing}"));
        line.split("packets ")
            .nth(1)
            .and_then(|r| r.split_whitespace().next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no counter: {line}"))
    };
    let mut bound = check("172.20.0.85:80");
    bound.connect.bind_addr = Some("172.20.0.90".parse().unwrap_or_else(|e| panic!("{e}")));
    bound.connect.bind_device = Some(lvs_testenv::LAB_IFACE.into());
    let mut wrong_dev = check("172.20.0.85:80");
    wrong_dev.connect.bind_device = Some("lo".into());
    let mut capped = check("172.20.0.85:80");
    capped.connect.connect_timeout = Some(Duration::from_millis(300));

    let outcomes = director.enter(|| {
        // Three runtimes one after another on one thread: each probe must
        // find a reader, not the stale socket of a runtime that is gone.
        let mut out = Vec::new();
        // First on this thread, a probe that fails before the socket's
        // task ever runs (no route: no source address); its runtime goes.
        let first = runtime().block_on(AsyncChecker::check(&check("10.99.0.1:80"), soon(2000)));
        assert_eq!(
            first,
            Outcome::Failure(FailReason::Unreachable(Unreachable::Net))
        );
        for c in [&check("172.20.0.85:80"), &bound, &check("172.20.0.85:80")] {
            out.push(runtime().block_on(AsyncChecker::check(c, soon(2000))));
        }
        out.push(runtime().block_on(AsyncChecker::check(&wrong_dev, soon(500))));
        out.push(Checker::check(&bound, soon(2000)));
        // IPv6 from a bound source: the kernel sums the checksum over it.
        let mut bound6 = check("[fd00::85]:80");
        bound6.connect.bind_addr = Some("fd00::90".parse().unwrap_or_else(|e| panic!("{e}")));
        let v6 = [
            Checker::check(&bound6, soon(2000)),
            runtime().block_on(AsyncChecker::check(&bound6, soon(2000))),
        ];
        assert_eq!(v6, [UP, UP]);
        // No route at all: the kernel refuses the SYN itself, and in a batch
        // only that probe fails (the runner sends queued SYNs together).
        out.push(Checker::check(&check("10.99.0.1:80"), soon(2000)));
        out.extend(runtime().block_on(async {
            let (a, b, c) = (
                check("172.20.0.85:80"),
                check("10.99.0.1:80"),
                check("172.20.0.85:80"),
            );
            let (a, b, c) = tokio::join!(
                AsyncChecker::check(&a, soon(2000)),
                AsyncChecker::check(&b, soon(2000)),
                AsyncChecker::check(&c, soon(2000)),
            );
            [a, b, c]
        }));
        out
    });
    let no_route = Outcome::Failure(FailReason::Unreachable(Unreachable::Net));
    assert_eq!(&outcomes[5..], &[no_route.clone(), UP, no_route, UP]);
    assert_eq!(&outcomes[..3], &[UP, UP, UP]);
    // Bound to lo, the SYN never reaches the LAN.
    assert!(!outcomes[3].is_success(), "{:?}", outcomes[3]);
    assert_eq!(outcomes[4], UP);

    // The bound checks' SYNs came from the bound address, the others' from
    // the address the route picks.
    assert_eq!((syns_from("172.20.0.81"), syns_from("172.20.0.90")), (4, 2));
    assert_eq!((syns_from("fd00::81"), syns_from("fd00::90")), (0, 2));
    // connect_timeout caps the wait below the probe deadline (SYNs dropped).
    www1.run(&["ip", "link", "set", "ens18", "down"]);
    let start = Instant::now();
    let t = director.enter(|| runtime().block_on(AsyncChecker::check(&capped, soon(5000))));
    assert_eq!(t, TIMEOUT);
    assert!(
        start.elapsed() < Duration::from_millis(1500),
        "{:?}",
        start.elapsed()
    );
}
