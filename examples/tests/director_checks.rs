//! keepalived's UDP_CHECK as the director runs it, on loopback: an ICMP
//! port unreachable fails it, silence passes it, a reply passes it.

use std::time::{Duration, Instant};

use lvs_examples::director::checks::AsyncUdp;
use lvs_healthcheck::checker::udp::{ReplyMatch, UdpCheck};
use lvs_healthcheck::runner::AsyncChecker;
use lvs_healthcheck::{ConnectOptions, FailReason, Outcome, Success, Unreachable};

fn check(port: u16, require: Option<ReplyMatch>) -> AsyncUdp {
    let addr = format!("127.0.0.1:{port}").parse().unwrap();
    AsyncUdp(UdpCheck::keepalived(
        ConnectOptions::new(addr),
        b"ping".to_vec(),
        require,
    ))
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
    assert!(
        Instant::now() < deadline,
        "must finish before the runner's deadline"
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
    let want = |pattern: &[u8]| ReplyMatch {
        pattern: pattern.to_vec(),
        ..ReplyMatch::any()
    };
    assert_eq!(
        check(port, Some(want(b"pi"))).check(deadline()).await,
        Outcome::Success(Success::ReplyMatched)
    );
    assert_eq!(
        check(port, Some(want(b"xx"))).check(deadline()).await,
        Outcome::Failure(FailReason::ReplyMismatch)
    );
}
