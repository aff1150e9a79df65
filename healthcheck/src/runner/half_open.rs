//! Half-open TCP probes on the reactor: every probe of one address family
//! (and device) shares one raw socket; one task reads the answers in
//! batches and hands each to the probe its acknowledgement names.
//!
//! The shared sockets are kept per thread (as the TCP socket pool is), so a
//! thread's probes leave from the network namespace the thread was in when
//! it first probed. Each socket belongs to the runtime whose task reads it;
//! when that task ends (its runtime shut down) the socket is marked stale,
//! its waiting probes are told, and the next probe opens a fresh one on its
//! own runtime.

use std::cell::RefCell;
use std::collections::HashMap;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsRawFd;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use socket2::Domain;
use tokio::io::Interest;
use tokio::io::unix::AsyncFd;
use tokio::sync::{Notify, oneshot};

use crate::checker::tcp_half_open::{
    RECV_LEN, RawTcp, Syn, TcpHalfOpenCheck, next_seq, offending_seq,
};
use crate::checker::udp::error_queue_entry;
use crate::outcome::FailReason;

/// Source ports each shared socket reserves.
const PORTS: usize = 8;
/// How long a routing-table source address is reused before asking again.
const SOURCE_TTL: Duration = Duration::from_secs(10);
/// Datagrams read per `recvmmsg`.
const BATCH: usize = 32;

type Verdict = Result<(), FailReason>;

/// A probe waiting for its answer.
struct Pending {
    dst: SocketAddr,
    port: u16,
    done: oneshot::Sender<Verdict>,
}

/// Which reserved ports a destination is being probed from, and which it
/// was probed from last.
#[derive(Default)]
struct PortUse {
    busy: u8,
    last: u8,
}

/// The probes in flight on one socket.
#[derive(Default)]
struct InFlight {
    /// By sequence number.
    pending: HashMap<u32, Pending>,
    /// By destination.
    ports: HashMap<SocketAddr, PortUse>,
}

impl InFlight {
    /// Picks a port index for a probe of `dst`: the one after the last
    /// used, skipping busy ones; `None` if all `n` are busy.
    fn take_port(&mut self, dst: SocketAddr, n: usize) -> Option<usize> {
        let u = self.ports.entry(dst).or_default();
        let idx = (1..=n)
            .map(|k| (usize::from(u.last) + k) % n)
            .find(|&i| u.busy & (1 << i) == 0)?;
        u.busy |= 1 << idx;
        u.last = idx as u8;
        Some(idx)
    }

    /// Forgets probe `seq` (its port becomes free); returns it if it was there.
    fn finish(&mut self, seq: u32, ports: &[u16]) -> Option<Pending> {
        let p = self.pending.remove(&seq)?;
        if let Some(u) = self.ports.get_mut(&p.dst)
            && let Some(i) = ports.iter().position(|&x| x == p.port)
        {
            u.busy &= !(1 << i);
        }
        Some(p)
    }
}

/// One shared raw socket and the probes waiting on it.
struct Prober {
    raw: AsyncFd<RawTcp>,
    v6: bool,
    device: Option<String>,
    in_flight: Mutex<InFlight>,
    /// IPv4 source per destination, as the routing table picked it.
    sources: Mutex<HashMap<IpAddr, (IpAddr, Instant)>>,
    /// False once the reading task has ended.
    reading: AtomicBool,
    /// Told when a probe ends, for probes waiting for a free port.
    port_freed: Notify,
    /// SYNs queued by probes, sent by the reading task in batches: probes
    /// that start together (one timer tick) share a system call.
    outbox: Mutex<Vec<Syn>>,
    /// Told when the outbox stops being empty.
    outbox_filled: Notify,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

thread_local! {
    static PROBERS: RefCell<Vec<Arc<Prober>>> = const { RefCell::new(Vec::new()) };
}

/// The shared socket for `v6`/`device`, opened (with its reading task on
/// the current runtime) if there is none or its task has ended.
fn prober(v6: bool, device: Option<&str>) -> io::Result<Arc<Prober>> {
    PROBERS.with(|all| open_or_reuse(&mut all.borrow_mut(), v6, device))
}

fn open_or_reuse(
    all: &mut Vec<Arc<Prober>>,
    v6: bool,
    device: Option<&str>,
) -> io::Result<Arc<Prober>> {
    all.retain(|p| p.reading.load(Ordering::Acquire));
    if let Some(p) = all
        .iter()
        .find(|p| p.v6 == v6 && p.device.as_deref() == device)
    {
        return Ok(p.clone());
    }
    let domain = if v6 { Domain::IPV6 } else { Domain::IPV4 };
    let raw = RawTcp::open(domain, device, PORTS)?;
    // SAFETY: `RawTcp` owns its socket for as long as the AsyncFd owns it.
    let raw = unsafe { AsyncFd::register_with_interest(raw, Interest::READABLE) }
        .map_err(|e| io::Error::other(e.to_string()))?;
    let p = Arc::new(Prober {
        raw,
        v6,
        device: device.map(str::to_owned),
        in_flight: Mutex::new(InFlight::default()),
        sources: Mutex::new(HashMap::new()),
        reading: AtomicBool::new(true),
        port_freed: Notify::new(),
        outbox: Mutex::new(Vec::new()),
        outbox_filled: Notify::new(),
    });
    // The guard travels inside the future: a task dropped before its first
    // poll (its runtime shut down at once) still marks the socket stale.
    tokio::spawn(read_answers(Stopped(p.clone())));
    all.push(p.clone());
    Ok(p)
}

impl Prober {
    fn source(&self, check: &TcpHalfOpenCheck, dst: SocketAddr) -> io::Result<Option<IpAddr>> {
        if check.connect.bind_addr.is_some() || self.v6 {
            return check.source();
        }
        let now = Instant::now();
        if let Some((src, at)) = lock(&self.sources).get(&dst.ip())
            && now.saturating_duration_since(*at) < SOURCE_TTL
        {
            return Ok(Some(*src));
        }
        let src = check.source()?;
        if let Some(ip) = src {
            lock(&self.sources).insert(dst.ip(), (ip, now));
        }
        Ok(src)
    }

    /// Hands `verdict` to the probe with sequence `seq` if `matches` it.
    fn complete(&self, seq: u32, matches: impl FnOnce(&Pending) -> Option<Verdict>) {
        let mut in_flight = lock(&self.in_flight);
        if let Some(verdict) = in_flight.pending.get(&seq).and_then(matches)
            && let Some(p) = in_flight.finish(seq, self.raw.get_ref().ports())
        {
            let _ = p.done.send(verdict);
        }
    }

    /// Reads queued datagrams until none is left (`Ok`), in batches.
    fn drain_answers(&self) -> io::Result<()> {
        let raw = self.raw.get_ref();
        let mut bufs = [[0u8; RECV_LEN]; BATCH];
        let mut names = [libc::sockaddr_in6 {
            sin6_family: 0,
            sin6_port: 0,
            sin6_flowinfo: 0,
            sin6_addr: libc::in6_addr { s6_addr: [0; 16] },
            sin6_scope_id: 0,
        }; BATCH];
        loop {
            let mut iovs = bufs.each_mut().map(|b| libc::iovec {
                iov_base: b.as_mut_ptr().cast(),
                iov_len: b.len(),
            });
            // No safe recvmmsg in rustix or socket2; batching is what keeps
            // a burst of replies cheap.
            // SAFETY: an all-zero mmsghdr is an empty header (null pointers,
            // zero lengths); each is then pointed at one buffer of `bufs` (via
            // `iovs`) and one name of `names`, with their sizes, all of which
            // outlive the call.
            let (n, lens) = unsafe {
                let mut msgs: [libc::mmsghdr; BATCH] = std::mem::zeroed();
                for (i, m) in msgs.iter_mut().enumerate() {
                    m.msg_hdr.msg_name = (&mut names[i] as *mut libc::sockaddr_in6).cast();
                    m.msg_hdr.msg_namelen = std::mem::size_of::<libc::sockaddr_in6>() as u32;
                    m.msg_hdr.msg_iov = &mut iovs[i];
                    m.msg_hdr.msg_iovlen = 1;
                }
                let n = libc::recvmmsg(
                    raw.as_raw_fd(),
                    msgs.as_mut_ptr(),
                    BATCH as u32,
                    libc::MSG_DONTWAIT,
                    std::ptr::null_mut(),
                );
                (n, msgs.map(|m| m.msg_len))
            };
            if n < 0 {
                let err = io::Error::last_os_error();
                return if err.kind() == io::ErrorKind::WouldBlock {
                    Ok(())
                } else {
                    Err(err)
                };
            }
            let n = n as usize;
            for (i, len) in lens.iter().enumerate().take(n) {
                let len = (*len as usize).min(RECV_LEN);
                let from = self.v6.then(|| IpAddr::from(names[i].sin6_addr.s6_addr));
                if let Some(reply) = raw.read_reply(&bufs[i][..len], from) {
                    let seq = reply.ack.wrapping_sub(1);
                    self.complete(seq, |p| reply.verdict(p.dst, p.port, seq));
                }
            }
            // A short batch means the queue was empty when the call returned.
            if n < BATCH {
                return Ok(());
            }
        }
    }

    /// Sends every queued SYN; a SYN the kernel refuses fails its probe.
    fn flush(&self) {
        let syns = std::mem::take(&mut *lock(&self.outbox));
        let mut rest = &syns[..];
        while !rest.is_empty() {
            let (sent, err) = self.raw.get_ref().send_syns(rest);
            let Some(err) = err else { break };
            let failed = rest[sent];
            self.complete(failed.seq, |_| Some(Err(FailReason::from_io(&err))));
            rest = &rest[sent + 1..];
        }
    }

    /// Hands queued ICMP errors to the probes they quote.
    fn drain_errors(&self) {
        let mut buf = [0u8; RECV_LEN];
        while let Ok(entry) = error_queue_entry(self.raw.get_ref(), &mut buf) {
            if let Some((n, reason)) = entry
                && let Some((port, seq)) = offending_seq(&buf[..n])
            {
                self.complete(seq, |p| (p.dst.port() == port).then_some(Err(reason)));
            }
        }
    }
}

/// Marks the socket stale and releases its probes however the reading task
/// ends.
struct Stopped(Arc<Prober>);

impl Drop for Stopped {
    fn drop(&mut self) {
        self.0.reading.store(false, Ordering::Release);
        *lock(&self.0.in_flight) = InFlight::default();
    }
}

/// The reading task: sends queued SYNs, reads answers and errors.
async fn read_answers(stopped: Stopped) {
    let p = &stopped.0;
    loop {
        tokio::select! {
            // Sending first: answers come after.
            biased;
            () = p.outbox_filled.notified() => p.flush(),
            ready = p.raw.ready(Interest::READABLE | Interest::ERROR) => {
                let Ok(mut ready) = ready else { return };
                p.drain_errors();
                // Any other error (one the kernel reports once) is consumed by
                // the call; readiness stays set and the next turn reads on.
                if p.drain_answers().is_ok() {
                    ready.clear_ready();
                }
            }
        }
    }
}

/// Runs one half-open probe: `Ok` on a SYN-ACK.
pub(super) async fn probe(check: &TcpHalfOpenCheck, deadline: Instant) -> Verdict {
    let io = |e: io::Error| FailReason::from_io(&e);
    let dst = check.connect.destination();
    let p = prober(dst.is_ipv6(), check.connect.bind_device.as_deref()).map_err(io)?;
    let src = p.source(check, dst).map_err(io)?;
    let seq = next_seq();
    let ports = p.raw.get_ref().ports();
    let (done, answer) = oneshot::channel();
    let mut done = Some(done);
    let port = loop {
        // Registered before looking, so a port freed in between still wakes us.
        let freed = p.port_freed.notified();
        {
            let mut in_flight = lock(&p.in_flight);
            if let Some(idx) = in_flight.take_port(dst, ports.len())
                && let Some(done) = done.take()
            {
                let port = ports[idx];
                in_flight.pending.insert(seq, Pending { dst, port, done });
                break port;
            }
        }
        // Every port is busy with this destination: wait for one.
        if tokio::time::timeout_at(deadline.into(), freed)
            .await
            .is_err()
        {
            return Err(FailReason::Io(format!(
                "{} half-open probes of {dst} in flight until the deadline",
                ports.len()
            )));
        }
    };
    /// Forgets the probe however it ends (answered, timed out, cancelled).
    struct Forget<'a>(&'a Prober, u32);
    impl Drop for Forget<'_> {
        fn drop(&mut self) {
            lock(&self.0.in_flight).finish(self.1, self.0.raw.get_ref().ports());
            self.0.port_freed.notify_waiters();
        }
    }
    let _forget = Forget(&p, seq);
    let first = {
        let mut outbox = lock(&p.outbox);
        outbox.push(Syn {
            dst,
            src,
            port,
            seq,
        });
        outbox.len() == 1
    };
    if first {
        p.outbox_filled.notify_one();
    }
    let connect_deadline = check.connect.connect_deadline(deadline);
    match tokio::time::timeout_at(connect_deadline.into(), answer).await {
        Ok(Ok(verdict)) => verdict,
        Ok(Err(_)) => Err(FailReason::Io("the half-open answer reader stopped".into())),
        Err(_) => Err(FailReason::Timeout),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_destination_rotates_over_its_ports_and_never_shares_a_busy_one() {
        let dst: SocketAddr = "172.20.0.85:80".parse().unwrap_or_else(|e| panic!("{e}"));
        let other: SocketAddr = "172.20.0.86:80".parse().unwrap_or_else(|e| panic!("{e}"));
        let ports = [1000, 1001, 1002];
        let mut f = InFlight::default();
        let add = |f: &mut InFlight, seq: u32, dst: SocketAddr| {
            let idx = f.take_port(dst, ports.len())?;
            let (done, _) = oneshot::channel();
            f.pending.insert(
                seq,
                Pending {
                    dst,
                    port: ports[idx],
                    done,
                },
            );
            Some(idx)
        };
        // One after another (each answered first): 1, 2, 0, 1 — rotation.
        let mut seen = Vec::new();
        for seq in 0..4 {
            seen.push(add(&mut f, seq, dst));
            assert!(f.finish(seq, &ports).is_some());
        }
        assert_eq!(seen, [Some(1), Some(2), Some(0), Some(1)]);
        // Overlapping: three in flight take three ports, a fourth finds none.
        assert_eq!(add(&mut f, 10, dst), Some(2));
        assert_eq!(add(&mut f, 11, dst), Some(0));
        assert_eq!(add(&mut f, 12, dst), Some(1));
        assert_eq!(add(&mut f, 13, dst), None);
        // Another destination is independent.
        assert_eq!(add(&mut f, 14, other), Some(1));
        // Finishing one frees exactly its port; finishing twice is harmless.
        assert!(f.finish(11, &ports).is_some());
        assert!(f.finish(11, &ports).is_none());
        assert_eq!(add(&mut f, 15, dst), Some(0));
    }
}
