//! Client-side probes: one HTTP GET with its own deadline, and a periodic
//! prober that records which backend answered each request and when, from a
//! monotonic clock, so an outage can be measured at the client.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

/// What one request saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// The body (trimmed): the name of the backend that answered.
    Body(String),
    /// No complete answer before the deadline, or a connection error.
    Failed(String),
}

/// `GET /` to `addr`, finished within `deadline` or reported as failed.
pub fn http_get(addr: SocketAddr, deadline: Duration) -> Reply {
    match try_get(addr, deadline) {
        Ok(body) => Reply::Body(body),
        Err(e) => Reply::Failed(e.to_string()),
    }
}

fn try_get(addr: SocketAddr, deadline: Duration) -> std::io::Result<String> {
    let start = Instant::now();
    let mut s = TcpStream::connect_timeout(&addr, deadline)?;
    let left = deadline
        .checked_sub(start.elapsed())
        .filter(|d| !d.is_zero())
        .ok_or_else(|| std::io::Error::new(std::io::ErrorKind::TimedOut, "deadline"))?;
    s.set_read_timeout(Some(left))?;
    s.set_write_timeout(Some(left))?;
    s.write_all(format!("GET / HTTP/1.0\r\nHost: {addr}\r\n\r\n").as_bytes())?;
    let mut resp = Vec::new();
    s.read_to_end(&mut resp)?;
    let text = String::from_utf8_lossy(&resp);
    let Some((head, body)) = text.split_once("\r\n\r\n") else {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            "no HTTP head",
        ));
    };
    if !head.starts_with("HTTP/1.0 200") && !head.starts_with("HTTP/1.1 200") {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            head.lines().next().unwrap_or("").to_string(),
        ));
    }
    Ok(body.trim().to_string())
}

/// One sample of a periodic probe.
#[derive(Debug, Clone)]
pub struct Sample {
    /// When the request started, from the prober's start.
    pub at: Duration,
    /// What it saw.
    pub reply: Reply,
}

/// Probes `addr` every `every` from `start` on, each request with
/// `deadline`, until `stop` is set; returns every sample with its start
/// time (from `start`), in start order.
///
/// Each request runs on its own thread, so one starts every `every`
/// whatever the others do: a request stuck until its deadline does not
/// delay the next, and an outage's end is seen within `every` rather than
/// within `deadline`. The threads inherit the calling thread's network
/// namespace.
pub fn probe_until(
    start: Instant,
    addr: SocketAddr,
    every: Duration,
    deadline: Duration,
    stop: &std::sync::atomic::AtomicBool,
) -> Vec<Sample> {
    let mut running = Vec::new();
    let mut next = start;
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        let at = start.elapsed();
        let spawned = std::thread::Builder::new()
            .name("probe".into())
            .spawn(move || http_get(addr, deadline));
        running.push((at, spawned));
        next += every;
        let now = Instant::now();
        if next > now {
            std::thread::sleep(next - now);
        } else {
            next = now;
        }
    }
    running
        .into_iter()
        .map(|(at, spawned)| {
            let reply = match spawned {
                Ok(h) => h
                    .join()
                    .unwrap_or_else(|_| Reply::Failed("probe thread panicked".into())),
                Err(e) => Reply::Failed(format!("cannot start a probe thread: {e}")),
            };
            Sample { at, reply }
        })
        .collect()
}

/// The longest run of failed samples, from the first failure's start to the
/// next success's start: the outage a client saw.
pub fn longest_outage(samples: &[Sample]) -> Duration {
    let mut worst = Duration::ZERO;
    let mut since: Option<Duration> = None;
    for s in samples {
        match (&s.reply, since) {
            (Reply::Failed(_), None) => since = Some(s.at),
            (Reply::Body(_), Some(t)) => {
                worst = worst.max(s.at - t);
                since = None;
            }
            _ => {}
        }
    }
    if let (Some(t), Some(last)) = (since, samples.last()) {
        worst = worst.max(last.at - t);
    }
    worst
}

#[cfg(test)]
pub(super) mod tests {
    use super::*;

    /// A sample `ms` into the run: www1's answer, or a timeout.
    pub(in crate::lab) fn s(ms: u64, ok: bool) -> Sample {
        Sample {
            at: Duration::from_millis(ms),
            reply: if ok {
                Reply::Body("www1".into())
            } else {
                Reply::Failed("timeout".into())
            },
        }
    }

    #[test]
    fn outage_spans_first_failure_to_next_success() {
        let v = vec![
            s(0, true),
            s(20, false),
            s(40, false),
            s(60, true),
            s(80, false),
            s(100, true),
        ];
        assert_eq!(longest_outage(&v), Duration::from_millis(40));
        assert_eq!(longest_outage(&[s(0, true)]), Duration::ZERO);
        assert_eq!(
            longest_outage(&[s(0, true), s(20, false), s(50, false)]),
            Duration::from_millis(30)
        );
    }

    #[test]
    fn get_reads_the_backend_name_over_loopback() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        drop(listener);
        std::thread::spawn(move || super::super::httpd::serve(addr, "www1"));
        let mut reply = Reply::Failed(String::new());
        for _ in 0..50 {
            reply = http_get(addr, Duration::from_secs(1));
            if matches!(reply, Reply::Body(_)) {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        assert_eq!(reply, Reply::Body("www1".into()));
    }

    #[test]
    fn overlapping_probes_keep_their_pace_past_a_stuck_request() {
        // A listener that never answers: every request waits its deadline.
        let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = silent.local_addr().unwrap();
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = stop.clone();
        let t = std::thread::spawn(move || {
            probe_until(
                Instant::now(),
                addr,
                Duration::from_millis(20),
                Duration::from_millis(300),
                &flag,
            )
        });
        std::thread::sleep(Duration::from_millis(400));
        stop.store(true, std::sync::atomic::Ordering::Relaxed);
        let samples = t.join().unwrap();
        drop(silent);
        // Sequential probing would have started 2 requests in 400 ms.
        assert!(samples.len() >= 8, "{} samples", samples.len());
        assert!(samples.windows(2).all(|w| w[0].at < w[1].at));
        assert!(samples.iter().all(|s| matches!(s.reply, Reply::Failed(_))));
    }
}
