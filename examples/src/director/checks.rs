//! From a configured checker to an lvs-healthcheck probe and its timing
//! (keepalived's `delay_loop` / `connect_timeout` / `retry` /
//! `delay_before_retry` mapping comes from lvs-healthcheck).

use std::sync::Arc;
use std::time::{Duration, Instant};

use lvs_healthcheck::checker::dns::DnsCheck;
use lvs_healthcheck::checker::exec::ExecCheck;
use lvs_healthcheck::checker::http::HttpCheck;
use lvs_healthcheck::checker::tcp::TcpCheck;
use lvs_healthcheck::checker::tcp_half_open::TcpHalfOpenCheck;
use lvs_healthcheck::checker::udp::{ReplyMatch, UdpCheck};
use lvs_healthcheck::runner::{AsyncChecker, Blocking, ProbeFuture};
use lvs_healthcheck::{Checker, FailReason, Outcome, Success, Unreachable};
use lvs_healthcheck::{ConnectOptions, KeepalivedCheck, KeepalivedTiming, Policy};

use lvs_keepalived_conf::{Check, CheckKind, DnsQueryType, RealServer};

/// One probe of a real server, ready for the runner.
#[derive(Debug, Clone)]
pub struct Probe {
    /// Human-readable description (`TCP_CHECK 172.20.0.85:80`).
    pub description: String,
    /// The checker.
    pub checker: Arc<dyn AsyncChecker>,
    /// Its schedule.
    pub policy: Policy,
}

/// A blocking checker run on tokio's blocking pool that must finish a
/// little before the runner's own deadline: the runner cancels a probe at
/// exactly its deadline, so a check that legitimately waits until then
/// (UDP_CHECK's "silence is success") would race the cancellation and be
/// counted as a timeout.
#[derive(Debug)]
pub struct EarlyDeadline<C>(pub Blocking<C>);

/// How much earlier than the runner's deadline a blocking check ends.
pub fn deadline_margin(timeout: Duration) -> Duration {
    (timeout / 10).clamp(Duration::from_millis(50), Duration::from_millis(500))
}

impl<C: Checker + 'static> AsyncChecker for EarlyDeadline<C> {
    fn identity(&self) -> String {
        self.0.identity()
    }

    fn check(&self, deadline: Instant) -> ProbeFuture<'_> {
        let left = deadline.saturating_duration_since(Instant::now());
        self.0.check(deadline - deadline_margin(left))
    }
}

/// keepalived's UDP_CHECK on the event loop itself: a connected socket,
/// one datagram, then a reply, an ICMP error (the connected socket reports
/// port unreachable as `ECONNREFUSED`) or silence until a margin before the
/// runner's deadline. No blocking thread: under load, a starved thread must
/// not turn silence into a timeout.
#[derive(Debug)]
pub struct AsyncUdp(pub UdpCheck);

impl AsyncChecker for AsyncUdp {
    fn identity(&self) -> String {
        Checker::identity(&self.0)
    }

    fn check(&self, deadline: Instant) -> ProbeFuture<'_> {
        Box::pin(async move {
            let c = &self.0;
            let fail = |e: &std::io::Error| match e.raw_os_error() {
                Some(libc::ECONNREFUSED) => {
                    Outcome::Failure(FailReason::Unreachable(Unreachable::Port))
                }
                _ => Outcome::Failure(FailReason::from_io(e)),
            };
            let sock = match c
                .connect
                .socket(socket2::Type::DGRAM, socket2::Protocol::UDP)
            {
                Ok(s) => s,
                Err(e) => return fail(&e),
            };
            let sock = match tokio::net::UdpSocket::from_std(std::net::UdpSocket::from(sock)) {
                Ok(s) => s,
                Err(e) => return fail(&e),
            };
            if let Err(e) = sock.connect(c.connect.destination()).await {
                return fail(&e);
            }
            if let Err(e) = sock.send(&c.payload).await {
                return fail(&e);
            }
            let left = deadline.saturating_duration_since(Instant::now());
            let until = deadline - deadline_margin(left);
            let mut buf = vec![0u8; 65_536];
            match tokio::time::timeout_at(until.into(), sock.recv(&mut buf)).await {
                Ok(Ok(n)) => match &c.reply {
                    Some(m) if !m.matches(&buf[..n]) => Outcome::Failure(FailReason::ReplyMismatch),
                    _ => Outcome::Success(Success::ReplyMatched),
                },
                Ok(Err(e)) => fail(&e),
                Err(_) if c.silent_is_up => Outcome::Success(Success::SilentAccepted),
                Err(_) => Outcome::Failure(FailReason::Silent),
            }
        })
    }
}

fn early<C: Checker + 'static>(c: C) -> Arc<dyn AsyncChecker> {
    Arc::new(EarlyDeadline(Blocking(Arc::new(c))))
}

fn connect(rs: &RealServer, check: &Check) -> ConnectOptions {
    let c = &check.common;
    let mut o = ConnectOptions::new(rs.addr);
    o.connect_ip = c.connect_ip;
    o.connect_port = c.connect_port;
    o.bind_addr = c.bind_to;
    o.bind_device = c.bind_if.clone();
    o.connect_timeout = Some(c.connect_timeout);
    o
}

/// The DNS query type number of a `DNS_CHECK type`.
pub fn dns_qtype(t: DnsQueryType) -> u16 {
    match t {
        DnsQueryType::A => 1,
        DnsQueryType::Ns => 2,
        DnsQueryType::Cname => 5,
        DnsQueryType::Soa => 6,
        DnsQueryType::Mx => 15,
        DnsQueryType::Txt => 16,
        DnsQueryType::Aaaa => 28,
    }
}

/// keepalived's `require_reply` nibble pattern (`None` = `X` wildcard) as
/// bytes plus a mask of ignored bits.
pub fn reply_pattern(nibbles: &[Option<u8>]) -> (Vec<u8>, Vec<u8>) {
    let mut pattern = Vec::new();
    let mut mask = Vec::new();
    for pair in nibbles.chunks(2) {
        let hi = pair.first().copied().flatten();
        let lo = pair.get(1).copied().flatten();
        let lo_missing = pair.len() < 2;
        pattern.push((hi.unwrap_or(0) << 4) | lo.unwrap_or(0));
        mask.push(
            (if hi.is_none() { 0xf0 } else { 0 })
                | (if lo.is_none() || lo_missing { 0x0f } else { 0 }),
        );
    }
    (pattern, mask)
}

fn timing(kind: KeepalivedCheck, check: &Check) -> KeepalivedTiming {
    let c = &check.common;
    KeepalivedTiming {
        delay_loop: Some(c.delay_loop),
        retry: Some(c.retry),
        delay_before_retry: Some(c.delay_before_retry),
        connect_timeout: Some(c.connect_timeout),
        warmup: Some(c.warmup),
        alpha: c.alpha,
        ..KeepalivedTiming::new(kind)
    }
}

/// The probes of one checker (HTTP_GET gives one per `url`; the server is
/// up only while all of its probes are).
pub fn probes(rs: &RealServer, check: &Check) -> Vec<Probe> {
    let o = connect(rs, check);
    let dst = o.destination();
    match &check.kind {
        CheckKind::Tcp => vec![Probe {
            description: format!("TCP_CHECK {dst}"),
            checker: Arc::new(TcpCheck::new(o)),
            policy: timing(KeepalivedCheck::Tcp, check).policy(),
        }],
        CheckKind::TcpHalfOpen => vec![Probe {
            description: format!("TCP_CHECK (half-open) {dst}"),
            checker: Arc::new(TcpHalfOpenCheck::new(o)),
            policy: timing(KeepalivedCheck::Tcp, check).policy(),
        }],
        CheckKind::Udp(u) => {
            // keepalived's UDP_CHECK: up unless an ICMP error comes back,
            // unless a reply is required (then lengths and pattern apply).
            let reply = u.require_reply.as_ref().map(|nibbles| {
                let (pattern, mask) = reply_pattern(nibbles);
                ReplyMatch {
                    min_len: u.min_reply_length as usize,
                    max_len: u.max_reply_length as usize,
                    pattern,
                    mask: Some(mask),
                }
            });
            let c = UdpCheck::keepalived(o, u.payload.clone().unwrap_or_default(), reply);
            vec![Probe {
                description: format!("UDP_CHECK {dst}"),
                checker: Arc::new(AsyncUdp(c)),
                policy: timing(KeepalivedCheck::Udp, check).policy(),
            }]
        }
        CheckKind::Dns(d) => {
            let mut c = DnsCheck::new(o, &d.name);
            c.qtype = dns_qtype(d.query_type);
            vec![Probe {
                description: format!("DNS_CHECK {dst} {:?} {}", d.query_type, d.name),
                checker: early(c),
                policy: timing(KeepalivedCheck::Dns, check).policy(),
            }]
        }
        CheckKind::Http(h) => h
            .urls
            .iter()
            .map(|u| {
                let mut c = HttpCheck::new(o.clone(), &u.path);
                c.status = u.status_codes.clone();
                c.virtual_host = u.virtualhost.clone().or_else(|| h.virtualhost.clone());
                c.body_md5 = u.digest.as_deref().and_then(HttpCheck::parse_md5_hex);
                Probe {
                    description: format!("HTTP_GET http://{dst}{}", u.path),
                    checker: early(c),
                    policy: timing(KeepalivedCheck::Http, check).policy(),
                }
            })
            .collect(),
        CheckKind::Misc(m) => {
            let args: Vec<&str> = m.argv.iter().skip(1).map(String::as_str).collect();
            let mut c = ExecCheck::new(m.argv.first().map_or("", String::as_str), &args);
            c.dynamic_weight = m.dynamic;
            let mut t = timing(KeepalivedCheck::Misc, check);
            t.connect_timeout = Some(m.timeout.unwrap_or(check.common.delay_loop));
            vec![Probe {
                description: format!("MISC_CHECK {}", m.argv.join(" ")),
                checker: early(c),
                policy: t.policy(),
            }]
        }
    }
}
