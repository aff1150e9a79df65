//! SMTP_CHECK against a tiny SMTP responder on loopback: blocking and async
//! clients, a healthy server, a refusing greeting, a refused HELO, a server
//! that hangs up, and the HELO name sent.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lvs_healthcheck::checker::smtp::SmtpCheck;
use lvs_healthcheck::runner::AsyncChecker;
use lvs_healthcheck::{Checker, ConnectOptions, FailReason, Outcome, Success};

fn soon(ms: u64) -> Instant {
    Instant::now() + Duration::from_millis(ms)
}

/// A responder that greets with `greeting` and answers HELO with `helo`
/// (`None`: hangs up instead); records the HELO lines it gets.
fn responder(
    greeting: &'static str,
    helo: Option<&'static str>,
) -> (SocketAddr, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let a = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    let lines = Arc::new(Mutex::new(Vec::new()));
    let seen = lines.clone();
    std::thread::spawn(move || {
        for s in listener.incoming().flatten() {
            let mut w = s.try_clone().unwrap_or_else(|e| panic!("{e}"));
            let mut r = BufReader::new(s);
            let _ = w.write_all(greeting.as_bytes());
            let mut line = String::new();
            if r.read_line(&mut line).unwrap_or(0) == 0 {
                continue;
            }
            seen.lock()
                .unwrap_or_else(|e| e.into_inner())
                .push(line.clone());
            let Some(reply) = helo else { continue };
            let _ = w.write_all(reply.as_bytes());
            line.clear();
            if r.read_line(&mut line).unwrap_or(0) > 0 && line == "QUIT\r\n" {
                let _ = w.write_all(b"221 2.0.0 bye\r\n");
            }
        }
    });
    (a, lines)
}

fn both(check: &SmtpCheck) -> [Outcome; 2] {
    let blocking = Checker::check(check, soon(2000));
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("{e}"));
    [
        blocking,
        rt.block_on(AsyncChecker::check(check, soon(2000))),
    ]
}

#[test]
fn smtp_greeting_helo_and_quit() {
    let (good, lines) = responder("220-mx.lab ESMTP\r\n220 ready\r\n", Some("250 mx.lab\r\n"));
    let check = SmtpCheck::new(ConnectOptions::new(good)).with_helo_name("foo.bar.com".into());
    for o in both(&check) {
        assert_eq!(o, Outcome::Success(Success::SmtpHelo));
    }
    assert_eq!(
        *lines.lock().unwrap_or_else(|e| e.into_inner()),
        ["HELO foo.bar.com\r\n", "HELO foo.bar.com\r\n"]
    );

    let (busy, _) = responder("554 no service here\r\n", Some("250 x\r\n"));
    for o in both(&SmtpCheck::new(ConnectOptions::new(busy))) {
        assert!(
            matches!(&o, Outcome::Failure(FailReason::BadReply(m)) if m.contains("554")),
            "{o:?}"
        );
    }
    let (picky, lines) = responder("220 mx\r\n", Some("501 who are you\r\n"));
    for o in both(&SmtpCheck::new(ConnectOptions::new(picky))) {
        assert!(
            matches!(&o, Outcome::Failure(FailReason::BadReply(m)) if m.contains("HELO")),
            "{o:?}"
        );
    }
    // keepalived's default HELO name.
    assert_eq!(
        lines
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .first()
            .map(String::as_str),
        Some("HELO smtpchecker.keepalived.org\r\n")
    );
    let (rude, _) = responder("220 mx\r\n", None);
    for o in both(&SmtpCheck::new(ConnectOptions::new(rude))) {
        assert!(
            matches!(&o, Outcome::Failure(FailReason::BadReply(m)) if m.contains("closed")),
            "{o:?}"
        );
    }
}
