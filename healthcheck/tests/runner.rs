//! The tokio runner against real sockets: transitions with reasons, live
//! add/remove, blocking checkers on the blocking pool, shutdown.
#![cfg(feature = "tokio")]

use std::net::{SocketAddr, UdpSocket};
use std::sync::Arc;
use std::time::Duration;

use lvs_healthcheck::checker::tcp::TcpCheck;
use lvs_healthcheck::checker::udp::UdpCheck;
use lvs_healthcheck::runner::{Blocking, Command, Runner};
use lvs_healthcheck::{
    ConnectOptions, EngineConfig, Event, FailOpen, FailReason, Health, Policy, ServiceId, Success,
    Transition,
};
use tokio::sync::mpsc::UnboundedReceiver;

fn fast_policy() -> Policy {
    Policy::new(Duration::from_millis(100), Duration::from_millis(500))
        .with_fast_interval(Duration::from_millis(50))
        .with_rise_interval(Duration::from_millis(50))
        .with_fall(2)
        .with_first_result_decides(true)
        .with_initial_jitter(Duration::from_millis(20))
        .with_interval_jitter(Duration::from_millis(10))
}

/// The next transition, waiting at most 10 s (a liveness bound, not a speed target).
async fn next_transition(events: &mut UnboundedReceiver<Event>) -> Transition {
    loop {
        match tokio::time::timeout(Duration::from_secs(10), events.recv()).await {
            Ok(Some(Event::Transition(t))) => return t,
            Ok(Some(_)) => continue,
            Ok(None) => panic!("runner stopped"),
            Err(_) => panic!("no transition within 10 s"),
        }
    }
}

#[tokio::test(flavor = "current_thread")]
async fn runner_reports_transitions_with_reasons() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let up_addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    let server = tokio::spawn(async move {
        while let Ok((s, _)) = listener.accept().await {
            drop(s);
        }
    });
    let closed = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
        l.local_addr().unwrap_or_else(|e| panic!("{e}"))
    };

    let mut runner = Runner::new(EngineConfig::default().with_fail_open(FailOpen::Report));
    let up = runner
        .add(
            ServiceId(1),
            Arc::new(TcpCheck::new(ConnectOptions::new(up_addr))),
            fast_policy(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    let down = runner
        .add(
            ServiceId(1),
            Arc::new(TcpCheck::new(ConnectOptions::new(closed))),
            fast_policy(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    let mut handle = runner.spawn();

    let mut first = [
        next_transition(&mut handle.events).await,
        next_transition(&mut handle.events).await,
    ];
    first.sort_by_key(|t| t.member);
    assert_eq!(
        (first[0].member, first[0].from, first[0].to),
        (up, Health::Unknown, Health::Up)
    );
    assert_eq!(first[0].success, Some(Success::Connected));
    assert_eq!((first[1].member, first[1].to), (down, Health::Down));
    assert_eq!(first[1].reason, Some(FailReason::Refused));

    // The server goes away: two refused probes in a row take it down.
    server.abort();
    let _ = server.await;
    let t = next_transition(&mut handle.events).await;
    assert_eq!((t.member, t.from, t.to), (up, Health::Up, Health::Down));
    assert_eq!((t.reason, t.consecutive), (Some(FailReason::Refused), 2));
    // Both down now: the fail-open guard reports it.
    let suspicion = tokio::time::timeout(Duration::from_secs(5), handle.events.recv()).await;
    assert!(
        matches!(
            suspicion,
            Ok(Some(Event::AllDown {
                service: ServiceId(1),
                ..
            }))
        ),
        "{suspicion:?}"
    );

    // A blocking checker added while running: UDP echo, via the blocking pool.
    let echo = UdpSocket::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let echo_addr: SocketAddr = echo.local_addr().unwrap_or_else(|e| panic!("{e}"));
    std::thread::spawn(move || {
        let mut buf = [0u8; 512];
        while let Ok((n, from)) = echo.recv_from(&mut buf) {
            let _ = echo.send_to(&buf[..n], from);
        }
    });
    let mut udp = UdpCheck::new(ConnectOptions::new(echo_addr));
    udp.payload = b"hello".to_vec();
    let (tx, rx) = tokio::sync::oneshot::channel();
    let sent = handle.commands.send(Command::Add {
        service: ServiceId(2),
        checker: Arc::new(Blocking(Arc::new(udp))),
        policy: fast_policy(),
        reply: tx,
    });
    assert!(sent.is_ok());
    let udp_member = rx
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|e| panic!("{e}"));
    let t = next_transition(&mut handle.events).await;
    assert_eq!(
        (t.member, t.to, t.success),
        (udp_member, Health::Up, Some(Success::ReplyMatched))
    );

    assert!(handle.stats.probes() >= 4);
    assert!(handle.commands.send(Command::Shutdown).is_ok());
    tokio::time::timeout(Duration::from_secs(5), handle.task)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|e| panic!("{e}"));
}

mod common;

use lvs_healthcheck::Unreachable;
use lvs_healthcheck::checker::dns::RCODE_NXDOMAIN;
use lvs_healthcheck::runner::AsyncChecker;

#[tokio::test(flavor = "current_thread")]
async fn async_udp_tells_reply_icmp_and_silence_apart() {
    let echo = UdpSocket::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let echo_addr = echo.local_addr().unwrap_or_else(|e| panic!("{e}"));
    common::udp_echo(echo);
    let hole = UdpSocket::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let mut c = UdpCheck::new(ConnectOptions::new(echo_addr));
    c.payload = b"x".to_vec();
    assert_eq!(
        AsyncChecker::check(&c, common::soon(1000)).await,
        lvs_healthcheck::Outcome::Success(Success::ReplyMatched)
    );
    let closed = UdpCheck::new(ConnectOptions::new(common::addr(&format!(
        "127.0.0.1:{}",
        common::closed_port()
    ))));
    assert_eq!(
        AsyncChecker::check(&closed, common::soon(1000)).await,
        lvs_healthcheck::Outcome::Failure(FailReason::Unreachable(Unreachable::Port))
    );
    // keepalived's UDP_CHECK without require_reply: silence is up, ICMP is not.
    let ka_hole = UdpCheck::keepalived(
        ConnectOptions::new(hole.local_addr().unwrap_or_else(|e| panic!("{e}"))),
        Vec::new(),
        None,
    );
    assert_eq!(
        AsyncChecker::check(&ka_hole, common::soon(200)).await,
        lvs_healthcheck::Outcome::Success(Success::SilentAccepted)
    );
    let ka_closed = UdpCheck::keepalived(closed.connect.clone(), Vec::new(), None);
    assert_eq!(
        AsyncChecker::check(&ka_closed, common::soon(1000)).await,
        lvs_healthcheck::Outcome::Failure(FailReason::Unreachable(Unreachable::Port))
    );
    let mut strict_hole = ka_hole.clone();
    strict_hole.silent_is_up = false;
    assert_eq!(
        AsyncChecker::check(&strict_hole, common::soon(200)).await,
        lvs_healthcheck::Outcome::Failure(FailReason::Silent)
    );
}

#[tokio::test(flavor = "current_thread")]
async fn async_dns_against_dnsmasq() {
    let mut d = common::Dnsmasq::start();
    let www = d.check("www.lab");
    assert_eq!(
        AsyncChecker::check(&www, common::soon(2000)).await,
        lvs_healthcheck::Outcome::Success(Success::Dns {
            rcode: 0,
            answers: 1,
            over_tcp: false
        })
    );
    let nx = d.check("x.nx.lab");
    assert_eq!(
        AsyncChecker::check(&nx, common::soon(2000)).await,
        lvs_healthcheck::Outcome::Failure(FailReason::Rcode(RCODE_NXDOMAIN))
    );
    let mut big = d.check("big.lab");
    big.qtype = lvs_healthcheck::simple_dns::TYPE::TXT.into();
    assert!(matches!(
        AsyncChecker::check(&big, common::soon(2000)).await,
        lvs_healthcheck::Outcome::Success(Success::Dns { over_tcp: true, .. })
    ));
    d.stop();
    assert_eq!(
        AsyncChecker::check(&www, common::soon(2000)).await,
        lvs_healthcheck::Outcome::Failure(FailReason::Unreachable(Unreachable::Port))
    );
}

#[tokio::test(flavor = "current_thread")]
async fn async_http_and_exec() {
    use lvs_healthcheck::Outcome;
    use lvs_healthcheck::checker::exec::ExecCheck;
    use lvs_healthcheck::checker::http::HttpCheck;

    let (a, hosts) = common::http_server();
    let mut ok = HttpCheck::new(ConnectOptions::new(a), "/ok");
    ok.virtual_host = Some("www.lab".into());
    ok.body_contains = Some(b"www1".to_vec());
    assert_eq!(
        AsyncChecker::check(&ok, common::soon(2000)).await,
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
        AsyncChecker::check(&err, common::soon(2000)).await,
        Outcome::Failure(FailReason::BadStatus(500))
    );
    let mut digest = HttpCheck::new(ConnectOptions::new(a), "/chunked");
    digest.body_md5 = HttpCheck::parse_md5_hex("00b071bd22658431cc6ec1d5d9f6f287");
    assert!(
        AsyncChecker::check(&digest, common::soon(2000))
            .await
            .is_success()
    );
    let mut wrong = ok.clone();
    wrong.body_contains = Some(b"www2".to_vec());
    assert_eq!(
        AsyncChecker::check(&wrong, common::soon(2000)).await,
        Outcome::Failure(FailReason::BadBody)
    );
    let mute = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let silent = HttpCheck::new(
        ConnectOptions::new(mute.local_addr().unwrap_or_else(|e| panic!("{e}"))),
        "/",
    );
    assert_eq!(
        AsyncChecker::check(&silent, common::soon(300)).await,
        Outcome::Failure(FailReason::Timeout)
    );

    let mut dynamic = ExecCheck::new("sh", &["-c", "exit 7"]);
    assert_eq!(
        AsyncChecker::check(&dynamic, common::soon(5000)).await,
        Outcome::Failure(FailReason::ExitStatus(7))
    );
    dynamic.dynamic_weight = true;
    assert_eq!(
        AsyncChecker::check(&dynamic, common::soon(5000)).await,
        Outcome::Success(Success::Exited { weight: Some(5) })
    );
    let slow = ExecCheck::new("sleep", &["10"]);
    assert_eq!(
        AsyncChecker::check(&slow, common::soon(200)).await,
        Outcome::Failure(FailReason::Timeout)
    );
}

/// A probe that is pending once, then panics.
#[derive(Debug)]
struct PanicsLater;

/// A probe that panics at its first poll.
#[derive(Debug)]
struct PanicsAtOnce;

impl AsyncChecker for PanicsAtOnce {
    fn identity(&self) -> String {
        "panics at once".into()
    }

    fn check(&self, _deadline: std::time::Instant) -> lvs_healthcheck::runner::ProbeFuture<'_> {
        Box::pin(async { panic!("a checker bug") })
    }
}

impl AsyncChecker for PanicsLater {
    fn identity(&self) -> String {
        "panics later".into()
    }

    fn check(&self, _deadline: std::time::Instant) -> lvs_healthcheck::runner::ProbeFuture<'_> {
        Box::pin(async {
            tokio::task::yield_now().await;
            panic!("a checker bug");
        })
    }
}

#[tokio::test(flavor = "current_thread")]
async fn a_panicking_checker_fails_its_probe_and_the_runner_goes_on() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let up_addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    let mut runner = Runner::new(EngineConfig::default());
    let bad = runner
        .add(ServiceId(1), Arc::new(PanicsLater), fast_policy())
        .unwrap_or_else(|e| panic!("{e}"));
    let good = runner
        .add(
            ServiceId(2),
            Arc::new(TcpCheck::new(ConnectOptions::new(up_addr))),
            fast_policy(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    let at_once = runner
        .add(ServiceId(3), Arc::new(PanicsAtOnce), fast_policy())
        .unwrap_or_else(|e| panic!("{e}"));
    let mut handle = runner.spawn();
    let mut seen = [
        next_transition(&mut handle.events).await,
        next_transition(&mut handle.events).await,
        next_transition(&mut handle.events).await,
    ];
    seen.sort_by_key(|t| t.member);
    let panicked = Some(FailReason::Io("the checker panicked".into()));
    assert_eq!((seen[0].member, seen[0].to), (bad, Health::Down));
    assert_eq!(seen[0].reason, panicked);
    assert_eq!((seen[1].member, seen[1].to), (good, Health::Up));
    assert_eq!((seen[2].member, seen[2].to), (at_once, Health::Down));
    assert_eq!(seen[2].reason, panicked);
    // Still probing both a while later.
    let before = handle.stats.probes();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(
        handle.stats.probes() >= before + 4,
        "{} -> {}",
        before,
        handle.stats.probes()
    );
    assert!(handle.commands.send(Command::Shutdown).is_ok());
    tokio::time::timeout(Duration::from_secs(5), handle.task)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|e| panic!("{e}"));
    drop(listener);
}
