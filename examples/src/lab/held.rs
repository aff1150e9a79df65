//! Long-lived client connections through a VIP: each opened with its HTTP
//! request begun and not finished, held across a fault, then finished. A
//! connection that was reset (or moved to a director that does not know
//! it) fails to finish, so the count that answer is the count that
//! survived.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

use lvs_testenv::Netns;

/// A connection from the client with its request begun and not finished.
pub(super) struct Held {
    pub(super) stream: TcpStream,
    /// Its source port, to find its flow in a router's table.
    pub(super) sport: u16,
}

/// Opens up to `n` connections from `client` to `vip` (those that fail to
/// open are left out: compare the length with `n`).
pub(super) fn hold(client: &Netns, vip: SocketAddr, n: usize) -> Vec<Held> {
    client.enter(|| {
        (0..n)
            .filter_map(|_| {
                let mut s = TcpStream::connect_timeout(&vip, Duration::from_secs(2)).ok()?;
                s.write_all(b"GET / HTTP/1.0\r\n").ok()?;
                let sport = s.local_addr().ok()?.port();
                Some(Held { stream: s, sport })
            })
            .collect()
    })
}

/// Finishes each held request: the backend's name, or what went wrong.
pub(super) fn finish(held: Vec<Held>) -> Vec<Result<String, String>> {
    let threads: Vec<_> = held
        .into_iter()
        .map(|mut h| {
            std::thread::spawn(move || -> Result<String, String> {
                h.stream
                    .set_read_timeout(Some(Duration::from_secs(5)))
                    .map_err(|e| e.to_string())?;
                h.stream
                    .write_all(b"Host: lab\r\n\r\n")
                    .map_err(|e| e.to_string())?;
                let mut resp = String::new();
                h.stream
                    .read_to_string(&mut resp)
                    .map_err(|e| format!("{:?}", e.kind()))?;
                let body = resp
                    .split_once("\r\n\r\n")
                    .map(|(_, b)| b.trim().to_string())
                    .unwrap_or_default();
                if body.starts_with("www") {
                    Ok(body)
                } else {
                    Err(format!("no answer ({} bytes)", resp.len()))
                }
            })
        })
        .collect();
    threads
        .into_iter()
        .map(|t| t.join().unwrap_or_else(|_| Err("thread panicked".into())))
        .collect()
}

/// How many answered.
pub(super) fn ok_count(r: &[Result<String, String>]) -> usize {
    r.iter().filter(|x| x.is_ok()).count()
}

/// The distinct errors, sorted, or `none`.
pub(super) fn errors(r: &[Result<String, String>]) -> String {
    let mut e: Vec<&str> = r
        .iter()
        .filter_map(|x| x.as_ref().err())
        .map(String::as_str)
        .collect();
    e.sort();
    e.dedup();
    if e.is_empty() {
        "none".into()
    } else {
        e.join(", ")
    }
}
