//! keepalived's UDP_CHECK as the director runs it (lvs-healthcheck's own
//! async UDP check), on loopback: an ICMP port unreachable fails it,
//! silence passes it, a reply passes it.

use std::time::{Duration, Instant};

use lvs_healthcheck::checker::udp::{ReplyMatch, UdpCheck};
use lvs_healthcheck::runner::AsyncChecker;
use lvs_healthcheck::{ConnectOptions, FailReason, Outcome, Success, Unreachable};

fn check(port: u16, require: Option<ReplyMatch>) -> UdpCheck {
    let addr = format!("127.0.0.1:{port}").parse().unwrap();
    UdpCheck::keepalived(ConnectOptions::new(addr), b"ping".to_vec(), require)
}

#[tokio::test]
async fn closed_port_is_down_with_port_unreachable() {
    let port = {
        let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        s.local_addr().unwrap().port()
    };
    let out = check(port, None)
        .check(Instant::now() + Duration::from_secs(2))
        .await;
    assert_eq!(
        out,
        Outcome::Failure(FailReason::Unreachable(Unreachable::Port))
    );
}

#[tokio::test]
async fn silence_is_up_and_ends_before_the_deadline() {
    let quiet = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    let port = quiet.local_addr().unwrap().port();
    let deadline = Instant::now() + Duration::from_millis(600);
    let out = check(port, None).check(deadline).await;
    assert_eq!(out, Outcome::Success(Success::SilentAccepted));
    // The runner waits its watchdog slack past the deadline for the verdict.
    assert!(
        Instant::now() < deadline + Duration::from_millis(100),
        "must finish at the runner's deadline"
    );
    // With require_reply, silence fails.
    let out = check(port, Some(ReplyMatch::any()))
        .check(Instant::now() + Duration::from_millis(300))
        .await;
    assert_eq!(out, Outcome::Failure(FailReason::Silent));
}

#[tokio::test]
async fn a_reply_is_checked_against_require_reply() {
    let echo = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let port = echo.local_addr().unwrap().port();
    tokio::spawn(async move {
        let mut buf = [0u8; 64];
        loop {
            let (n, from) = echo.recv_from(&mut buf).await.unwrap();
            let _ = echo.send_to(&buf[..n], from).await;
        }
    });
    let deadline = || Instant::now() + Duration::from_secs(2);
    let want = |pattern: &[u8]| ReplyMatch::any().with_pattern(pattern.to_vec());
    assert_eq!(
        check(port, Some(want(b"pi"))).check(deadline()).await,
        Outcome::Success(Success::ReplyMatched)
    );
    assert_eq!(
        check(port, Some(want(b"xx"))).check(deadline()).await,
        Outcome::Failure(FailReason::ReplyMismatch)
    );
}

/// `TCP_CHECK { lvs_half_open }` from a configuration to a probe's verdict:
/// a SYN-ACK from a listening port, a reset from a closed one, and the
/// listener never sees a connection. Raw sockets need root; a namespace
/// of its own keeps the probes off the host's loopback.
#[test]
#[ignore = "needs root + netns (cargo xtask test)"]
fn netns_lvs_half_open_tcp_check_runs_half_open() {
    lvs_testenv::require_root("netns_lvs_half_open_tcp_check_runs_half_open");
    lvs_testenv::require_program("ip");
    let ns = lvs_testenv::Netns::new("hodir");
    ns.run(&["ip", "link", "set", "lo", "up"]);
    let (listener, open, closed) = ns.enter(|| {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.set_nonblocking(true).unwrap();
        let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let (open, closed) = (
            l.local_addr().unwrap().port(),
            closed.local_addr().unwrap().port(),
        );
        (l, open, closed)
    });
    let text = format!(
        "virtual_server 127.0.0.1 80 {{\n  real_server 127.0.0.1 {open} {{\n    TCP_CHECK {{\n      connect_timeout 2\n      lvs_half_open\n    }}\n  }}\n  real_server 127.0.0.1 {closed} {{\n    TCP_CHECK {{\n      lvs_half_open\n    }}\n  }}\n}}\n"
    );
    let (cfg, _) = lvs_keepalived_conf::parse_str("t.conf", &text).unwrap_or_else(|e| {
        panic!(
            "{}",
            e.iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>()
                .join("\n")
        )
    });
    let outcomes = ns.enter(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let mut out = Vec::new();
            for rs in &cfg.virtual_servers[0].real_servers {
                let probes = lvs_keepalived_conf::to_director::probes(rs, &rs.checks[0]);
                assert_eq!(probes.len(), 1);
                assert!(
                    probes[0].description.starts_with("TCP_CHECK (half-open) "),
                    "{}",
                    probes[0].description
                );
                let deadline = Instant::now() + Duration::from_secs(2);
                let lvs_director::Check::TcpHalfOpen(c) = &probes[0].check else {
                    panic!("not a half-open check: {:?}", probes[0].check);
                };
                out.push(c.check(deadline).await);
            }
            out
        })
    });
    assert_eq!(
        outcomes,
        vec![
            Outcome::Success(Success::SynAcknowledged),
            Outcome::Failure(FailReason::Refused)
        ]
    );
    let accepted = listener.accept().map(|_| ()).unwrap_err();
    assert_eq!(accepted.kind(), std::io::ErrorKind::WouldBlock);
}
