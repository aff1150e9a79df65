//! Checkers against real servers the tests start themselves, on loopback
//! (and, for `netns_*`, in network namespaces of their own).

use std::net::{IpAddr, SocketAddr, TcpListener, UdpSocket};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

mod common;

use common::{Dnsmasq, addr, closed_port, http_server, soon, udp_echo};
use lvs_healthcheck::checker::dns::RCODE_NXDOMAIN;
use lvs_healthcheck::checker::http::HttpCheck;
use lvs_healthcheck::checker::tcp::TcpCheck;
use lvs_healthcheck::checker::udp::{ReplyMatch, UdpCheck};
use lvs_healthcheck::simple_dns::TYPE;
use lvs_healthcheck::{Checker, ConnectOptions, FailReason, Outcome, Success, Unreachable};

/// Accepts connections forever, recording each peer address.
fn tcp_server(listener: TcpListener) -> Arc<Mutex<Vec<SocketAddr>>> {
    let peers = Arc::new(Mutex::new(Vec::new()));
    let p = peers.clone();
    std::thread::spawn(move || {
        while let Ok((_, peer)) = listener.accept() {
            p.lock().unwrap_or_else(|e| e.into_inner()).push(peer);
        }
    });
    peers
}

#[test]
fn tcp_listener_is_up_closed_port_is_refused() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let port = l.local_addr().unwrap_or_else(|e| panic!("{e}")).port();
    let peers = tcp_server(l);
    let up = TcpCheck::new(ConnectOptions::new(addr(&format!("127.0.0.1:{port}"))));
    assert_eq!(up.check(soon(2000)), Outcome::Success(Success::Connected));
    let closed = TcpCheck::new(ConnectOptions::new(addr(&format!(
        "127.0.0.1:{}",
        closed_port()
    ))));
    let start = Instant::now();
    assert_eq!(
        closed.check(soon(2000)),
        Outcome::Failure(FailReason::Refused)
    );
    // Refused is immediate, not a timeout.
    assert!(start.elapsed() < Duration::from_millis(1500));

    // Source address binding: the server sees 127.0.0.2.
    let mut bound = up.clone();
    bound.connect.bind_addr = Some("127.0.0.2".parse().unwrap_or_else(|e| panic!("{e}")));
    bound.connect.bind_device = Some("lo".into());
    assert_eq!(
        bound.check(soon(2000)),
        Outcome::Success(Success::Connected)
    );
    std::thread::sleep(Duration::from_millis(50));
    let seen = peers.lock().unwrap_or_else(|e| e.into_inner()).clone();
    assert!(
        seen.iter().any(|p| p.ip() == IpAddr::from([127, 0, 0, 2])),
        "{seen:?}"
    );

    // Target override: the real server's port is closed, connect_port points at the listener.
    let mut over = closed.clone();
    over.connect.connect_port = Some(port);
    assert_eq!(over.check(soon(2000)), Outcome::Success(Success::Connected));

    // A device that does not exist is a setup error, not "up".
    let mut bad = up.clone();
    bad.connect.bind_device = Some("nosuchdev0".into());
    assert!(matches!(
        bad.check(soon(2000)),
        Outcome::Failure(FailReason::Io(_))
    ));
}

#[test]
fn udp_echo_closed_port_and_black_hole_are_told_apart() {
    let echo = UdpSocket::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let echo_addr = echo.local_addr().unwrap_or_else(|e| panic!("{e}"));
    udp_echo(echo);
    // Bound but never read: no reply, no ICMP.
    let hole = UdpSocket::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let hole_addr = hole.local_addr().unwrap_or_else(|e| panic!("{e}"));

    let mut c = UdpCheck::new(ConnectOptions::new(echo_addr));
    c.payload = b"lvs-ping".to_vec();
    c.reply = Some(ReplyMatch::any().with_pattern(b"lvs-".to_vec()));
    assert_eq!(c.check(soon(1000)), Outcome::Success(Success::ReplyMatched));

    let mut wrong = c.clone();
    wrong.reply = Some(ReplyMatch::any().with_pattern(b"pong".to_vec()));
    assert_eq!(
        wrong.check(soon(1000)),
        Outcome::Failure(FailReason::ReplyMismatch)
    );

    let mut closed = c.clone();
    closed.connect.real_server = addr(&format!("127.0.0.1:{}", closed_port()));
    let start = Instant::now();
    assert_eq!(
        closed.check(soon(2000)),
        Outcome::Failure(FailReason::Unreachable(Unreachable::Port))
    );
    assert!(
        start.elapsed() < Duration::from_millis(1500),
        "ICMP is immediate"
    );

    let mut silent = c.clone();
    silent.connect.real_server = hole_addr;
    assert_eq!(
        silent.check(soon(300)),
        Outcome::Failure(FailReason::Silent)
    );
    silent.silent_is_up = true;
    assert_eq!(
        silent.check(soon(300)),
        Outcome::Success(Success::SilentAccepted)
    );
    // Accepting silence never hides an ICMP error.
    closed.silent_is_up = true;
    assert_eq!(
        closed.check(soon(2000)),
        Outcome::Failure(FailReason::Unreachable(Unreachable::Port))
    );
    drop(hole);
}

#[test]
fn dnsmasq_record_nxdomain_truncation_and_stopped() {
    let mut d = Dnsmasq::start();

    let mut www = d.check("www.lab");
    www.expect_address = Some("172.20.0.85".parse().unwrap_or_else(|e| panic!("{e}")));
    assert_eq!(
        www.check(soon(2000)),
        Outcome::Success(Success::Dns {
            rcode: 0,
            answers: 1,
            over_tcp: false
        })
    );
    let mut wrong = www.clone();
    wrong.expect_address = Some("172.20.0.86".parse().unwrap_or_else(|e| panic!("{e}")));
    assert_eq!(
        wrong.check(soon(2000)),
        Outcome::Failure(FailReason::AnswerMismatch)
    );

    let mut nx = d.check("gone.nx.lab");
    assert_eq!(
        nx.check(soon(2000)),
        Outcome::Failure(FailReason::Rcode(RCODE_NXDOMAIN))
    );
    nx.accepted_rcodes.push(RCODE_NXDOMAIN);
    assert!(nx.check(soon(2000)).is_success());

    // 750 bytes of TXT do not fit a 512-byte UDP answer: TC set, asked again over TCP.
    let mut big = d.check("big.lab");
    big.qtype = TYPE::TXT.into();
    assert_eq!(
        big.check(soon(2000)),
        Outcome::Success(Success::Dns {
            rcode: 0,
            answers: 1,
            over_tcp: true
        })
    );

    d.stop();
    assert_eq!(
        www.check(soon(2000)),
        Outcome::Failure(FailReason::Unreachable(Unreachable::Port))
    );
}

#[test]
fn http_status_body_and_virtual_host() {
    let (a, hosts) = http_server();
    let mut ok = HttpCheck::new(ConnectOptions::new(a), "/ok");
    ok.virtual_host = Some("www.lab".into());
    assert_eq!(
        ok.check(soon(2000)),
        Outcome::Success(Success::HttpStatus(200))
    );
    assert_eq!(
        hosts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .last()
            .map(String::as_str),
        Some("www.lab")
    );

    let err = HttpCheck::new(ConnectOptions::new(a), "/err");
    assert_eq!(
        err.check(soon(2000)),
        Outcome::Failure(FailReason::BadStatus(500))
    );
    let mut err_ok = err.clone();
    err_ok.status = vec![(200, 299), (500, 599)];
    assert!(err_ok.check(soon(2000)).is_success());

    let mut wrong_body = ok.clone();
    wrong_body.body_contains = Some(b"www2".to_vec());
    assert_eq!(
        wrong_body.check(soon(2000)),
        Outcome::Failure(FailReason::BadBody)
    );
    let mut right_body = ok.clone();
    right_body.body_contains = Some(b"www1".to_vec());
    assert!(right_body.check(soon(2000)).is_success());

    // keepalived-style digest, over a chunked body.
    let mut digest = HttpCheck::new(ConnectOptions::new(a), "/chunked");
    digest.body_md5 = HttpCheck::parse_md5_hex("00b071bd22658431cc6ec1d5d9f6f287");
    assert!(digest.check(soon(2000)).is_success());
    digest.body_md5 = HttpCheck::parse_md5_hex("ffb071bd22658431cc6ec1d5d9f6f287");
    assert_eq!(
        digest.check(soon(2000)),
        Outcome::Failure(FailReason::BadBody)
    );

    let closed = HttpCheck::new(
        ConnectOptions::new(addr(&format!("127.0.0.1:{}", closed_port()))),
        "/",
    );
    assert_eq!(
        closed.check(soon(2000)),
        Outcome::Failure(FailReason::Refused)
    );

    // A server that accepts and never answers: timeout at the deadline.
    let mute = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let mute_check = HttpCheck::new(
        ConnectOptions::new(mute.local_addr().unwrap_or_else(|e| panic!("{e}"))),
        "/",
    );
    assert_eq!(
        mute_check.check(soon(300)),
        Outcome::Failure(FailReason::Timeout)
    );
}

#[test]
#[ignore = "needs root + netns (cargo xtask test)"]
fn netns_unreachable_host_fails_tcp_and_udp_with_host_unreachable() {
    lvs_testenv::require_root("netns_unreachable_host_fails_tcp_and_udp_with_host_unreachable");
    lvs_testenv::require_program("ip");
    let lan = lvs_testenv::Lan::new("hc");
    let director = lan.add_host("dir", &["172.20.0.81/24", "172.20.0.90/24"]);
    let www1 = lan.add_host("www", &["172.20.0.85/24"]);
    // Sockets keep the namespace they were created in.
    let listener =
        www1.enter(|| TcpListener::bind("172.20.0.85:80").unwrap_or_else(|e| panic!("{e}")));
    let peers = tcp_server(listener);
    let echo = www1.enter(|| UdpSocket::bind("172.20.0.85:53").unwrap_or_else(|e| panic!("{e}")));
    udp_echo(echo);

    let tcp = TcpCheck::new(ConnectOptions::new(addr("172.20.0.85:80")));
    let mut udp = UdpCheck::new(ConnectOptions::new(addr("172.20.0.85:53")));
    udp.payload = b"ping".to_vec();
    let mut closed = tcp.clone();
    closed.connect.connect_port = Some(81);
    let mut bound = tcp.clone();
    bound.connect.bind_addr = Some("172.20.0.90".parse().unwrap_or_else(|e| panic!("{e}")));
    bound.connect.bind_device = Some(lvs_testenv::LAB_IFACE.into());
    let mut wrong_dev = tcp.clone();
    wrong_dev.connect.bind_device = Some("lo".into());

    let (t, u, c, b, w) = director.enter(|| {
        (
            tcp.check(soon(3000)),
            udp.check(soon(3000)),
            closed.check(soon(3000)),
            bound.check(soon(3000)),
            wrong_dev.check(soon(500)),
        )
    });
    assert_eq!(t, Outcome::Success(Success::Connected));
    assert_eq!(u, Outcome::Success(Success::ReplyMatched));
    assert_eq!(c, Outcome::Failure(FailReason::Refused));
    assert_eq!(b, Outcome::Success(Success::Connected));
    // Bound to lo, the packet never reaches the LAN.
    assert!(!w.is_success(), "{w:?}");
    std::thread::sleep(Duration::from_millis(50));
    let seen = peers.lock().unwrap_or_else(|e| e.into_inner()).clone();
    assert!(
        seen.iter()
            .any(|p| p.ip() == IpAddr::from([172, 20, 0, 90])),
        "{seen:?}"
    );

    // Pull www1's cable and forget its MAC: ARP fails after 3 probes, the
    // kernel reports host unreachable (TCP: EHOSTUNREACH; UDP: ICMP in the error queue).
    lan.set_link(&www1, false);
    director.run(&["ip", "neigh", "flush", "all"]);
    let (t, u) = director.enter(|| (tcp.check(soon(8000)), udp.check(soon(8000))));
    assert_eq!(
        t,
        Outcome::Failure(FailReason::Unreachable(Unreachable::Host))
    );
    assert_eq!(
        u,
        Outcome::Failure(FailReason::Unreachable(Unreachable::Host))
    );

    // A short deadline gives a timeout instead: the check says which it was.
    director.run(&["ip", "neigh", "flush", "all"]);
    let t = director.enter(|| tcp.check(soon(500)));
    assert_eq!(t, Outcome::Failure(FailReason::Timeout));

    // connect_timeout caps the connection phase below the probe deadline.
    director.run(&["ip", "neigh", "flush", "all"]);
    let mut capped = tcp.clone();
    capped.connect.connect_timeout = Some(Duration::from_millis(500));
    let start = Instant::now();
    let t = director.enter(|| capped.check(soon(8000)));
    assert_eq!(t, Outcome::Failure(FailReason::Timeout));
    assert!(
        start.elapsed() < Duration::from_millis(2500),
        "{:?}",
        start.elapsed()
    );

    // Before ARP gives up (3 s), a dead host is merely silent. keepalived's
    // UDP_CHECK (no require_reply) calls that up; the default here does not.
    director.run(&["ip", "neigh", "flush", "all"]);
    let ka = UdpCheck::keepalived(
        ConnectOptions::new(addr("172.20.0.85:53")),
        Vec::new(),
        None,
    );
    let strict = UdpCheck::new(ConnectOptions::new(addr("172.20.0.85:53")));
    let (k, s) = director.enter(|| (ka.check(soon(1000)), strict.check(soon(1000))));
    assert_eq!(k, Outcome::Success(Success::SilentAccepted));
    assert_eq!(s, Outcome::Failure(FailReason::Silent));

    // Cable back: the host answers again once the FAILED neighbour entry
    // left by the earlier probes is resolved anew (the kernel may still
    // answer EHOSTUNREACH from it for a moment, so allow a few probes).
    lan.set_link(&www1, true);
    director.run(&["ip", "neigh", "flush", "all"]);
    let mut t = director.enter(|| tcp.check(soon(5000)));
    for _ in 0..10 {
        if t == Outcome::Success(Success::Connected) {
            break;
        }
        std::thread::sleep(Duration::from_millis(300));
        t = director.enter(|| tcp.check(soon(5000)));
    }
    assert_eq!(t, Outcome::Success(Success::Connected));
}
