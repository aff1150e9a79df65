//! The tokio runner (feature `tokio`): drives an [`Engine`] on real time,
//! runs the probes inside its own task (one that cannot finish at its first
//! poll waits in a set the task polls), and sends the engine's events to a
//! channel. A checker that panics fails its probe.
//!
//! # Deadlines
//!
//! A probe's deadline is its start plus [`Policy::timeout`]. A checker ends
//! its own work by then and reports what it found, even when the deadline
//! itself is the verdict (keepalived's `UDP_CHECK` counts silence until
//! the deadline as success). Such a verdict is necessarily ready a little
//! after the deadline, later still from a blocking thread on a loaded host,
//! so the runner keeps listening for
//! [`EngineConfig::watchdog_slack`] past the deadline; only then does it
//! cancel the probe (drop its future; a [`Blocking`] thread is abandoned)
//! and count a [`FailReason::Timeout`]. A checker that hangs is therefore
//! reported as a timeout at most `timeout + watchdog_slack` after it started.
//!
//! ```no_run
//! # async fn demo() -> Result<(), lvs_healthcheck::PolicyError> {
//! use std::sync::Arc;
//! use lvs_healthcheck::checker::tcp::TcpCheck;
//! use lvs_healthcheck::runner::Runner;
//! use lvs_healthcheck::{ConnectOptions, EngineConfig, Policy, ServiceId};
//!
//! let mut runner = Runner::new(EngineConfig::default());
//! let www1 = TcpCheck::new(ConnectOptions::new("172.20.0.85:80".parse().unwrap()));
//! runner.add(ServiceId(80), Arc::new(www1), Policy::default())?;
//! let mut handle = runner.spawn();
//! while let Some(event) = handle.events.recv().await {
//!     println!("{event:?}");
//! }
//! # Ok(()) }
//! ```

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::os::fd::AsFd;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use futures_util::FutureExt;
use futures_util::stream::{FuturesUnordered, StreamExt};
use lvs_sys::PollFlags;
use socket2::{Protocol, Type};
use tokio::sync::{mpsc, oneshot};

use tokio::io::{AsyncReadExt, AsyncWriteExt, Interest};

use crate::checker::dns::{DnsCheck, UdpVerdict, next_id};
use crate::checker::exec::ExecCheck;
use crate::checker::http::{HttpCheck, ResponseReader};
use crate::checker::tcp::TcpCheck;
use crate::checker::tcp_half_open::TcpHalfOpenCheck;
use crate::checker::udp::{UdpCheck, UdpReply, connected_socket, error_queue};
use crate::checker::{Checker, ConnectOptions};
use crate::engine::{Engine, EngineConfig, Event, FailOpen, MemberId, ServiceId};
use crate::outcome::{FailReason, Outcome, Success};
use crate::policy::{Policy, PolicyError};

/// A boxed probe future.
pub type ProbeFuture<'a> = Pin<Box<dyn Future<Output = Outcome> + Send + 'a>>;

/// A check the runner can await. Implement it for your own checks, or wrap a
/// blocking [`Checker`] in [`Blocking`].
pub trait AsyncChecker: Send + Sync + fmt::Debug {
    /// The de-duplication key (see [`Checker::identity`]).
    fn identity(&self) -> String;
    /// Runs one probe, ending its own work by `deadline` and then reporting
    /// its verdict. The runner waits [`EngineConfig::watchdog_slack`] past
    /// `deadline` for that verdict before it drops the future and counts a
    /// timeout (see the [module docs](self#deadlines)).
    fn check(&self, deadline: Instant) -> ProbeFuture<'_>;
}

/// Runs a blocking [`Checker`] on tokio's blocking thread pool.
///
/// The checker receives the probe's own deadline, unshortened: a verdict it
/// returns at (or shortly after) that deadline counts, within the runner's
/// grace of [`EngineConfig::watchdog_slack`]. A checker still running after
/// the grace is counted as a timeout and its thread left to finish alone.
#[derive(Debug)]
pub struct Blocking<C>(pub Arc<C>);

impl<C: Checker + 'static> AsyncChecker for Blocking<C> {
    fn identity(&self) -> String {
        self.0.identity()
    }

    fn check(&self, deadline: Instant) -> ProbeFuture<'_> {
        let inner = self.0.clone();
        Box::pin(async move {
            match tokio::task::spawn_blocking(move || inner.check(deadline)).await {
                Ok(o) => o,
                Err(e) => Outcome::Failure(FailReason::Io(format!("checker task failed: {e}"))),
            }
        })
    }
}

mod half_open;

/// One shared raw socket per address family for every probe.
impl AsyncChecker for TcpHalfOpenCheck {
    fn identity(&self) -> String {
        Checker::identity(self)
    }

    fn check(&self, deadline: Instant) -> ProbeFuture<'_> {
        Box::pin(async move {
            match half_open::probe(self, deadline).await {
                Ok(()) => Outcome::Success(Success::SynAcknowledged),
                Err(r) => Outcome::Failure(r),
            }
        })
    }
}

/// Native async TCP connect: no thread per probe.
impl AsyncChecker for TcpCheck {
    fn identity(&self) -> String {
        Checker::identity(self)
    }

    fn check(&self, deadline: Instant) -> ProbeFuture<'_> {
        Box::pin(async move {
            match self.connect_async(deadline).await {
                Ok(()) => Outcome::Success(Success::Connected),
                Err(r) => Outcome::Failure(r),
            }
        })
    }
}

impl TcpCheck {
    /// Whether probes may reuse sockets from [`tcp_pool`]: they close with a
    /// reset anyway, and nothing is bound that a reused socket would carry.
    fn pooled(&self) -> bool {
        self.reset_on_close
            && self.connect.bind_addr.is_none()
            && self.connect.bind_device.is_none()
    }

    async fn connect_async(&self, deadline: Instant) -> Result<(), FailReason> {
        let sock = if self.pooled() {
            tcp_pool::take(&self.connect)
        } else {
            self.connect
                .socket(Type::STREAM, Protocol::TCP)
                .and_then(|s| {
                    if self.reset_on_close {
                        s.set_linger(Some(Duration::ZERO))?;
                    }
                    Ok(s)
                })
        }
        .map_err(|e| FailReason::Io(e.to_string()))?;
        let (result, sock) = self.connect_on(sock, deadline).await;
        if self.pooled()
            && let Some(sock) = sock
        {
            tcp_pool::give(&self.connect, sock);
        }
        result
    }

    /// Connects `sock`; hands the socket back unless the reactor kept it.
    async fn connect_on(
        &self,
        sock: socket2::Socket,
        deadline: Instant,
    ) -> (Result<(), FailReason>, Option<socket2::Socket>) {
        match sock.connect(&socket2::SockAddr::from(self.connect.destination())) {
            Ok(()) => return (Ok(()), Some(sock)),
            Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
            Err(e) => return (Err(FailReason::from_io(&e)), Some(sock)),
        }
        // Fast path: over loopback or a veth the handshake (or the RST) is
        // often already done when connect() returns; a zero-timeout poll
        // then saves registering with the reactor and a task wake-up.
        let ready = match lvs_sys::poll_until(sock.as_fd(), PollFlags::OUT, Instant::now()) {
            Ok(r) => r,
            Err(e) => return (Err(FailReason::from_io(&e)), Some(sock)),
        };
        if ready.is_empty() {
            // A connecting socket is a stream fd like any other for the reactor.
            let stream = match tokio::net::TcpStream::from_std(std::net::TcpStream::from(sock)) {
                Ok(s) => s,
                Err(e) => return (Err(FailReason::Io(e.to_string())), None),
            };
            let connect_deadline = self.connect.connect_deadline(deadline);
            let wait = stream.ready(Interest::WRITABLE | Interest::ERROR);
            let result = match tokio::time::timeout_at(connect_deadline.into(), wait).await {
                // Writable with neither error nor hang-up: connected, no
                // `SO_ERROR` query needed (as in the fast path below).
                Ok(Ok(r)) if r.is_writable() && !r.is_error() && !r.is_write_closed() => Ok(()),
                Ok(Ok(_)) => match stream.take_error() {
                    Ok(None) => Ok(()),
                    Ok(Some(e)) | Err(e) => Err(FailReason::from_io(&e)),
                },
                Ok(Err(e)) => Err(FailReason::from_io(&e)),
                Err(_) => Err(FailReason::Timeout),
            };
            // Leaving the reactor costs the same epoll_ctl as dropping would.
            let sock = stream.into_std().ok().map(socket2::Socket::from);
            return (result, sock);
        }
        // Writable with neither error nor hang-up: the handshake completed,
        // and `SO_ERROR` would only say 0 again (one syscall per probe saved).
        if ready == PollFlags::OUT {
            return (Ok(()), Some(sock));
        }
        let result = match sock.take_error() {
            Ok(None) => Ok(()),
            Ok(Some(e)) | Err(e) => Err(FailReason::from_io(&e)),
        };
        (result, Some(sock))
    }
}

/// The outcome of a probe whose checker panicked: a checker's bug fails its
/// probe, not the runner.
fn panicked() -> Outcome {
    Outcome::Failure(FailReason::Io("the checker panicked".into()))
}

/// A probe that did not finish at its first poll, with its cancel timer.
type Running = Pin<Box<dyn Future<Output = (crate::engine::ProbeId, Outcome)> + Send>>;

/// The results of every running probe that has finished; pending if none has.
fn finished(
    running: &mut FuturesUnordered<Running>,
    cx: &mut Context<'_>,
) -> Poll<Vec<(crate::engine::ProbeId, Outcome)>> {
    let mut done = Vec::new();
    while let Poll::Ready(Some(result)) = running.poll_next_unpin(cx) {
        done.push(result);
    }
    if done.is_empty() {
        Poll::Pending
    } else {
        Poll::Ready(done)
    }
}

/// Idle TCP sockets for probes that close with a reset and bind nothing.
///
/// `connect(AF_UNSPEC)` aborts a connection exactly as a close with
/// `SO_LINGER 0` does (RST if it was open, nothing if it was still
/// connecting), releases the source port, and leaves the socket
/// unconnected and reusable; the next `connect()` clears the error the
/// abort left (`tcp_connect_init`). A probe then costs `connect`, `poll`
/// and `connect(AF_UNSPEC)` instead of `socket`, `setsockopt`, `connect`,
/// `poll` and `close`, and no file/inode set-up and tear-down. A socket
/// that fails to disconnect is closed instead (still with a reset).
mod tcp_pool {
    use std::cell::RefCell;
    use std::io;
    use std::time::Duration;

    use socket2::{Domain, Protocol, Socket, Type};

    use crate::checker::ConnectOptions;

    /// Idle sockets kept per thread and address family. The pool never
    /// holds more than the most probes that were in flight at once (each
    /// socket comes back from one), so this only caps that peak's memory; it
    /// matches the engine's default concurrency budget.
    const MAX_IDLE: usize = 1024;

    thread_local! {
        /// [IPv4, IPv6].
        static IDLE: RefCell<[Vec<Socket>; 2]> = const { RefCell::new([Vec::new(), Vec::new()]) };
    }

    fn family(domain: Domain) -> usize {
        usize::from(domain == Domain::IPV6)
    }

    /// An unconnected, non-blocking TCP socket for `opts` (which binds nothing).
    pub(super) fn take(opts: &ConnectOptions) -> io::Result<Socket> {
        let domain = Domain::for_address(opts.destination());
        if let Some(s) = IDLE.with(|idle| idle.borrow_mut()[family(domain)].pop()) {
            return Ok(s);
        }
        let s = opts.socket(Type::STREAM, Protocol::TCP)?;
        // Set once: a socket dropped later (pool full, probe cancelled)
        // still leaves with a reset, never in TIME_WAIT.
        s.set_linger(Some(Duration::ZERO))?;
        Ok(s)
    }

    /// Aborts `sock`'s connection and keeps the socket for the next probe
    /// of `opts` (which tells its family without asking the kernel).
    pub(super) fn give(opts: &ConnectOptions, sock: Socket) {
        let domain = Domain::for_address(opts.destination());
        if disconnect(&sock).is_err() {
            return;
        }
        IDLE.with(|idle| {
            let list = &mut idle.borrow_mut()[family(domain)];
            if list.len() < MAX_IDLE {
                list.push(sock);
            }
        });
    }

    /// Idle sockets of `domain` on this thread.
    #[cfg(test)]
    pub(super) fn idle(domain: Domain) -> usize {
        IDLE.with(|idle| idle.borrow()[family(domain)].len())
    }

    fn disconnect(sock: &Socket) -> io::Result<()> {
        // connect(AF_UNSPEC) dissolves the association.
        rustix::net::connect_unspec(sock).map_err(io::Error::from)
    }
}

/// A connected UDP socket (with `IP_RECVERR`) registered with tokio.
fn udp_socket(opts: &ConnectOptions) -> Result<tokio::net::UdpSocket, FailReason> {
    let sock = connected_socket(opts).map_err(|e| FailReason::from_io(&e))?;
    tokio::net::UdpSocket::from_std(std::net::UdpSocket::from(sock))
        .map_err(|e| FailReason::Io(e.to_string()))
}

async fn udp_send(sock: &tokio::net::UdpSocket, payload: &[u8]) -> Result<(), FailReason> {
    match sock.send(payload).await {
        Ok(_) => Ok(()),
        Err(e) => Err(error_queue(sock).unwrap_or_else(|| FailReason::from_io(&e))),
    }
}

/// Waits for a datagram, an ICMP error (error queue) or the deadline (silence).
async fn udp_recv(
    sock: &tokio::net::UdpSocket,
    buf: &mut [u8],
    deadline: Instant,
) -> Result<UdpReply, FailReason> {
    let wait = async {
        loop {
            let ready = sock
                .ready(Interest::READABLE | Interest::ERROR)
                .await
                .map_err(|e| FailReason::from_io(&e))?;
            if ready.is_error()
                && let Some(reason) = error_queue(sock)
            {
                return Err(reason);
            }
            match sock.try_recv(buf) {
                Ok(n) => return Ok(UdpReply::Data(n)),
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                    if ready.is_error() {
                        return Err(FailReason::Io("socket error without details".into()));
                    }
                }
                Err(e) => return Err(error_queue(sock).unwrap_or_else(|| FailReason::from_io(&e))),
            }
        }
    };
    tokio::time::timeout_at(deadline.into(), wait)
        .await
        .unwrap_or(Ok(UdpReply::Silent))
}

/// Native async UDP: the socket error queue is read when tokio reports an error.
impl AsyncChecker for UdpCheck {
    fn identity(&self) -> String {
        Checker::identity(self)
    }

    fn check(&self, deadline: Instant) -> ProbeFuture<'_> {
        Box::pin(async move {
            let sock = match udp_socket(&self.connect) {
                Ok(s) => s,
                Err(r) => return Outcome::Failure(r),
            };
            let mut buf = vec![0u8; 65_536];
            let result = match udp_send(&sock, &self.payload).await {
                Ok(()) => udp_recv(&sock, &mut buf, deadline).await,
                Err(r) => Err(r),
            };
            self.judge(result, &buf)
        })
    }
}

/// Native async DNS over UDP; the rare TCP fallback runs on the blocking pool.
impl AsyncChecker for DnsCheck {
    fn identity(&self) -> String {
        Checker::identity(self)
    }

    fn check(&self, deadline: Instant) -> ProbeFuture<'_> {
        Box::pin(async move {
            let id = next_id();
            let query = match self.query(id) {
                Ok(q) => q,
                Err(r) => return Outcome::Failure(r),
            };
            let sock = match udp_socket(&self.connect) {
                Ok(s) => s,
                Err(r) => return Outcome::Failure(r),
            };
            if let Err(r) = udp_send(&sock, &query).await {
                return Outcome::Failure(r);
            }
            let mut buf = vec![0u8; 65_536];
            loop {
                match udp_recv(&sock, &mut buf, deadline).await {
                    Ok(UdpReply::Data(n)) => match self.after_udp(id, &buf[..n]) {
                        UdpVerdict::Done(o) => return o,
                        UdpVerdict::Stray => continue,
                        UdpVerdict::Truncated => {
                            let me = self.clone();
                            let tcp = tokio::task::spawn_blocking(move || {
                                me.over_tcp(id, &query, deadline)
                            })
                            .await;
                            return match tcp {
                                Ok(Ok(s)) => Outcome::Success(s),
                                Ok(Err(r)) => Outcome::Failure(r),
                                Err(e) => Outcome::Failure(FailReason::Io(format!(
                                    "TCP fallback task failed: {e}"
                                ))),
                            };
                        }
                    },
                    Ok(UdpReply::Silent) => return Outcome::Failure(FailReason::Timeout),
                    Err(r) => return Outcome::Failure(r),
                }
            }
        })
    }
}

/// Connects a TCP stream registered with tokio, within the connect deadline.
async fn tcp_stream(
    opts: &ConnectOptions,
    deadline: Instant,
) -> Result<tokio::net::TcpStream, FailReason> {
    let sock = opts
        .socket(Type::STREAM, Protocol::TCP)
        .map_err(|e| FailReason::from_io(&e))?;
    match sock.connect(&socket2::SockAddr::from(opts.destination())) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
        Err(e) => return Err(FailReason::from_io(&e)),
    }
    let stream = tokio::net::TcpStream::from_std(std::net::TcpStream::from(sock))
        .map_err(|e| FailReason::Io(e.to_string()))?;
    match tokio::time::timeout_at(opts.connect_deadline(deadline).into(), stream.writable()).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => return Err(FailReason::from_io(&e)),
        Err(_) => return Err(FailReason::Timeout),
    }
    match stream.take_error() {
        Ok(None) => Ok(stream),
        Ok(Some(e)) | Err(e) => Err(FailReason::from_io(&e)),
    }
}

/// Native async HTTP GET, sharing the response parser with the blocking client.
impl AsyncChecker for HttpCheck {
    fn identity(&self) -> String {
        Checker::identity(self)
    }

    fn check(&self, deadline: Instant) -> ProbeFuture<'_> {
        Box::pin(async move {
            let fetch = async {
                let mut stream = tcp_stream(&self.connect, deadline).await?;
                stream
                    .write_all(&self.request())
                    .await
                    .map_err(|e| FailReason::from_io(&e))?;
                let mut reader = ResponseReader::new(self);
                let mut chunk = [0u8; 8192];
                loop {
                    let n = stream
                        .read(&mut chunk)
                        .await
                        .map_err(|e| FailReason::from_io(&e))?;
                    if n == 0 {
                        return reader.eof();
                    }
                    if let Some(r) = reader.feed(&chunk[..n])? {
                        return Ok(r);
                    }
                }
            };
            let result = tokio::time::timeout_at(deadline.into(), fetch)
                .await
                .unwrap_or(Err(FailReason::Timeout));
            match result.and_then(|r| self.judge(&r)) {
                Ok(s) => Outcome::Success(s),
                Err(r) => Outcome::Failure(r),
            }
        })
    }
}

/// Native async program execution (tokio's child reaper, no thread per probe).
impl AsyncChecker for ExecCheck {
    fn identity(&self) -> String {
        Checker::identity(self)
    }

    fn check(&self, deadline: Instant) -> ProbeFuture<'_> {
        Box::pin(async move {
            let mut cmd = tokio::process::Command::new(&self.program);
            cmd.args(&self.args)
                .stdin(std::process::Stdio::null())
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .process_group(0)
                .kill_on_drop(true);
            let mut child = match cmd.spawn() {
                Ok(c) => c,
                Err(e) => {
                    return Outcome::Failure(FailReason::Io(format!(
                        "cannot run {}: {e}",
                        self.program
                    )));
                }
            };
            match tokio::time::timeout_at(deadline.into(), child.wait()).await {
                Ok(Ok(status)) => self.judge(status),
                Ok(Err(e)) => Outcome::Failure(FailReason::Io(e.to_string())),
                Err(_) => {
                    // The child leads the process group we created for it.
                    let group = child.id().and_then(|p| i32::try_from(p).ok());
                    if let Some(group) = group.and_then(rustix::process::Pid::from_raw) {
                        let _ = rustix::process::kill_process_group(
                            group,
                            rustix::process::Signal::KILL,
                        );
                    }
                    let _ = child.wait().await;
                    Outcome::Failure(FailReason::Timeout)
                }
            }
        })
    }
}

/// Scheduling lateness and probe counts, shared with whoever holds it.
#[derive(Debug)]
pub struct RunnerStats {
    probes: AtomicU64,
    /// Lateness histogram: 10 µs buckets up to 100 ms, then one overflow bucket.
    lateness: Vec<AtomicU64>,
}

const BUCKET_US: u64 = 10;
const BUCKETS: usize = 10_000;

impl RunnerStats {
    fn new() -> Self {
        RunnerStats {
            probes: AtomicU64::new(0),
            lateness: (0..=BUCKETS).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    fn record(&self, lateness: Duration) {
        self.probes.fetch_add(1, Ordering::Relaxed);
        let b = ((lateness.as_micros() as u64) / BUCKET_US).min(BUCKETS as u64) as usize;
        self.lateness[b].fetch_add(1, Ordering::Relaxed);
    }

    /// Zeroes the counters (e.g. after a warm-up).
    pub fn reset(&self) {
        self.probes.store(0, Ordering::Relaxed);
        for b in &self.lateness {
            b.store(0, Ordering::Relaxed);
        }
    }

    /// Probes started so far.
    pub fn probes(&self) -> u64 {
        self.probes.load(Ordering::Relaxed)
    }

    /// The `q` quantile (0..=1) of scheduling lateness (time from a probe
    /// being due to its start), to 10 µs; 100 ms means "100 ms or more".
    pub fn lateness_quantile(&self, q: f64) -> Duration {
        let total = self.probes();
        if total == 0 {
            return Duration::ZERO;
        }
        let want = ((total as f64) * q.clamp(0.0, 1.0)).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, b) in self.lateness.iter().enumerate() {
            seen += b.load(Ordering::Relaxed);
            if seen >= want {
                return Duration::from_micros((i as u64 + 1) * BUCKET_US);
            }
        }
        Duration::from_micros(BUCKETS as u64 * BUCKET_US)
    }
}

/// A change requested while the runner runs.
#[derive(Debug)]
#[non_exhaustive]
pub enum Command {
    /// Adds a member; the reply carries its id.
    Add {
        /// Its service.
        service: ServiceId,
        /// Its check.
        checker: Arc<dyn AsyncChecker>,
        /// Its policy.
        policy: Policy,
        /// Where to send the id.
        reply: oneshot::Sender<Result<MemberId, PolicyError>>,
    },
    /// Removes a member.
    Remove(MemberId),
    /// Sets a service's fail-open mode.
    SetFailOpen(ServiceId, FailOpen),
    /// Stops the runner.
    Shutdown,
}

/// Executes checks per the engine's schedule.
#[derive(Debug)]
pub struct Runner {
    /// Keyed by an interned identity: probes look their checker up by index,
    /// not by hashing a long identity string each time.
    engine: Engine<u32>,
    identities: HashMap<String, u32>,
    /// Slot = interned identity: the checker and how many members use it.
    checkers: Vec<Option<(Arc<dyn AsyncChecker>, usize)>>,
    free_slots: Vec<u32>,
    members: HashMap<MemberId, u32>,
    stats: Arc<RunnerStats>,
    /// How long past its deadline a probe may still report (the engine's
    /// watchdog slack): a verdict reached at the deadline must not lose a
    /// race with the cancellation.
    grace: Duration,
}

/// A running runner: its events, a command channel and its task.
#[derive(Debug)]
pub struct RunnerHandle {
    /// Events from the engine, in order.
    pub events: mpsc::UnboundedReceiver<Event>,
    /// Send [`Command`]s here.
    pub commands: mpsc::UnboundedSender<Command>,
    /// Counters.
    pub stats: Arc<RunnerStats>,
    /// The runner's task.
    pub task: tokio::task::JoinHandle<()>,
}

impl Runner {
    /// A runner with no members.
    pub fn new(config: EngineConfig) -> Self {
        let grace = config.watchdog_slack;
        Runner {
            engine: Engine::new(config),
            identities: HashMap::new(),
            checkers: Vec::new(),
            free_slots: Vec::new(),
            members: HashMap::new(),
            stats: Arc::new(RunnerStats::new()),
            grace,
        }
    }

    /// Adds a backend of `service` checked by `checker`. Checkers with equal
    /// [`AsyncChecker::identity`] and equal policies share one probe.
    pub fn add(
        &mut self,
        service: ServiceId,
        checker: Arc<dyn AsyncChecker>,
        policy: Policy,
    ) -> Result<MemberId, PolicyError> {
        let identity = checker.identity();
        let slot = match self.identities.get(&identity) {
            Some(&slot) => slot,
            None => {
                let slot = match self.free_slots.pop() {
                    Some(slot) => slot,
                    None => {
                        self.checkers.push(None);
                        (self.checkers.len() - 1) as u32
                    }
                };
                self.checkers[slot as usize] = Some((checker, 0));
                self.identities.insert(identity, slot);
                slot
            }
        };
        let id = self
            .engine
            .add_member(Instant::now(), service, slot, policy)?;
        if let Some((_, n)) = self.checkers[slot as usize].as_mut() {
            *n += 1;
        }
        self.members.insert(id, slot);
        Ok(id)
    }

    /// Sets a service's fail-open mode.
    pub fn set_fail_open(&mut self, service: ServiceId, mode: FailOpen) {
        self.engine.set_fail_open(service, mode);
    }

    fn remove(&mut self, id: MemberId) {
        if !self.engine.remove_member(id) {
            return;
        }
        let Some(slot) = self.members.remove(&id) else {
            return;
        };
        let emptied = match self
            .checkers
            .get_mut(slot as usize)
            .and_then(Option::as_mut)
        {
            Some((_, n)) => {
                *n -= 1;
                *n == 0
            }
            None => false,
        };
        if emptied && let Some((checker, _)) = self.checkers[slot as usize].take() {
            self.identities.remove(&checker.identity());
            self.free_slots.push(slot);
        }
    }

    /// The shared counters.
    pub fn stats(&self) -> Arc<RunnerStats> {
        self.stats.clone()
    }

    /// Spawns [`Runner::run`] on the current tokio runtime.
    pub fn spawn(self) -> RunnerHandle {
        let (etx, erx) = mpsc::unbounded_channel();
        let (ctx, crx) = mpsc::unbounded_channel();
        let stats = self.stats.clone();
        let task = tokio::spawn(self.run(etx, crx));
        RunnerHandle {
            events: erx,
            commands: ctx,
            stats,
            task,
        }
    }

    /// Runs until [`Command::Shutdown`] or until the event receiver is dropped.
    pub async fn run(
        mut self,
        events: mpsc::UnboundedSender<Event>,
        mut commands: mpsc::UnboundedReceiver<Command>,
    ) {
        // Probes that did not finish at once, polled by this task itself: a
        // task per probe cost a spawn, a scheduling round and a join each.
        let mut running: FuturesUnordered<Running> = FuturesUnordered::new();
        let mut commands_open = true;
        loop {
            let now = Instant::now();
            self.engine.handle_timeout(now);
            while let Some(req) = self.engine.poll_probe(now) {
                self.stats.record(now.saturating_duration_since(req.due));
                let Some((checker, _)) =
                    self.checkers.get(req.key as usize).and_then(Option::as_ref)
                else {
                    let reason = FailReason::Io("no checker for this probe".into());
                    self.engine
                        .handle_result(now, req.id, Outcome::Failure(reason));
                    continue;
                };
                let checker = checker.clone();
                let id = req.id;
                let deadline = req.deadline;
                let cancel_at = deadline + self.grace;
                let mut probe: ProbeFuture<'static> =
                    Box::pin(async move { checker.check(deadline).await });
                // Poll once right here: a probe that finishes at once (a
                // loopback handshake, a refused port) is never queued. A
                // future must wake the waker of its latest poll, so queueing
                // it afterwards loses nothing.
                let mut cx = Context::from_waker(Waker::noop());
                let first =
                    std::panic::catch_unwind(AssertUnwindSafe(|| probe.as_mut().poll(&mut cx)));
                match first {
                    Ok(Poll::Ready(outcome)) => {
                        self.engine.handle_result(now, id, outcome);
                    }
                    Err(_) => {
                        self.engine.handle_result(now, id, panicked());
                    }
                    Ok(Poll::Pending) => {
                        running.push(Box::pin(async move {
                            // Not at the deadline itself: the checker's own
                            // verdict at its deadline (silence accepted, its
                            // timeout) must win over this one.
                            let guarded = tokio::time::timeout_at(cancel_at.into(), probe);
                            let outcome = match AssertUnwindSafe(guarded).catch_unwind().await {
                                Ok(Ok(outcome)) => outcome,
                                Ok(Err(_)) => Outcome::Failure(FailReason::Timeout),
                                Err(_) => panicked(),
                            };
                            (id, outcome)
                        }));
                    }
                }
            }
            while let Some(ev) = self.engine.poll_event() {
                if events.send(ev).is_err() {
                    return;
                }
            }
            let wake = self.engine.poll_timeout();
            let sleep = async {
                match wake {
                    Some(at) => tokio::time::sleep_until(at.into()).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                // Every result already there in one go.
                done = std::future::poll_fn(|cx| finished(&mut running, cx)), if !running.is_empty() => {
                    let now = Instant::now();
                    for (id, outcome) in done {
                        self.engine.handle_result(now, id, outcome);
                    }
                }
                cmd = commands.recv(), if commands_open => match cmd {
                    None => commands_open = false,
                    Some(Command::Shutdown) => return,
                    Some(Command::Add { service, checker, policy, reply }) => {
                        let _ = reply.send(self.add(service, checker, policy));
                    }
                    Some(Command::Remove(id)) => self.remove(id),
                    Some(Command::SetFailOpen(s, m)) => self.set_fail_open(s, m),
                },
                () = sleep => {}
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use socket2::{Domain, SockAddr, Socket};
    use std::net::SocketAddr;

    /// A loopback listener with a full accept queue: it drops SYNs, so a
    /// probe cannot finish inside `connect()` and waits on the reactor.
    fn full_listener() -> (Socket, SocketAddr, std::net::TcpStream) {
        let l = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap_or_else(|e| panic!("{e}"));
        let any = SocketAddr::from(([127, 0, 0, 1], 0));
        l.bind(&SockAddr::from(any))
            .unwrap_or_else(|e| panic!("{e}"));
        l.listen(0).unwrap_or_else(|e| panic!("{e}"));
        let addr = l
            .local_addr()
            .ok()
            .and_then(|a| a.as_socket())
            .unwrap_or_else(|| panic!("no local address"));
        // Backlog 0 holds one connection; with it queued, the queue is full.
        let queued = std::net::TcpStream::connect(addr).unwrap_or_else(|e| panic!("{e}"));
        (l, addr, queued)
    }

    #[tokio::test(flavor = "current_thread")]
    async fn tcp_probe_on_the_reactor_times_out_connects_or_is_refused() {
        let (listener, addr, _queued) = full_listener();
        let check = TcpCheck::new(ConnectOptions::new(addr));

        let start = Instant::now();
        let outcome = AsyncChecker::check(&check, start + Duration::from_millis(300)).await;
        assert_eq!(outcome, Outcome::Failure(FailReason::Timeout));
        assert!(start.elapsed() >= Duration::from_millis(300));

        // Room in the queue while a probe waits: its retransmitted SYN
        // (about 1 s later) connects, reported without an SO_ERROR query.
        let freer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            listener.accept().map(|_| listener)
        });
        let start = Instant::now();
        let outcome = AsyncChecker::check(&check, start + Duration::from_secs(5)).await;
        assert_eq!(outcome, Outcome::Success(Success::Connected));
        assert!(
            start.elapsed() >= Duration::from_millis(500),
            "connected after {:?}: not the reactor path",
            start.elapsed()
        );
        let listener = freer
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e))
            .unwrap_or_else(|e| panic!("accept: {e}"));

        // The queue is full again (that probe's connection waits in it). The
        // listener closes while the next probe waits: the retransmitted SYN
        // meets a reset, reported from the socket error.
        let closer = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(100));
            drop(listener);
        });
        let start = Instant::now();
        let outcome = AsyncChecker::check(&check, start + Duration::from_secs(5)).await;
        assert_eq!(outcome, Outcome::Failure(FailReason::Refused));
        assert!(start.elapsed() >= Duration::from_millis(500));
        closer
            .join()
            .unwrap_or_else(|e| std::panic::resume_unwind(e));
    }

    #[tokio::test(flavor = "current_thread")]
    async fn reset_probes_reuse_one_socket_and_still_reset() {
        use std::io::Read;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
        let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
        let closed = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .unwrap_or_else(|e| panic!("{e}"));
        let (full, full_addr, _queued) = full_listener();
        let mut up = TcpCheck::new(ConnectOptions::new(addr));
        up.reset_on_close = true;
        let mut refused = TcpCheck::new(ConnectOptions::new(closed));
        refused.reset_on_close = true;
        let mut silent = TcpCheck::new(ConnectOptions::new(full_addr));
        silent.reset_on_close = true;
        let soon = || Instant::now() + Duration::from_secs(5);

        for _ in 0..3 {
            assert_eq!(
                AsyncChecker::check(&up, soon()).await,
                Outcome::Success(Success::Connected)
            );
            // The server's side was reset, as a close with SO_LINGER 0 does.
            let (mut conn, _) = listener.accept().unwrap_or_else(|e| panic!("{e}"));
            conn.set_read_timeout(Some(Duration::from_secs(2)))
                .unwrap_or_else(|e| panic!("{e}"));
            let read = conn.read(&mut [0u8; 1]);
            assert_eq!(
                read.map_err(|e| e.kind()),
                Err(std::io::ErrorKind::ConnectionReset)
            );
            // A refusal, then a timeout on the reactor path: neither leaves
            // an error behind for the next probe on the same socket.
            assert_eq!(
                AsyncChecker::check(&refused, soon()).await,
                Outcome::Failure(FailReason::Refused)
            );
            let deadline = Instant::now() + Duration::from_millis(100);
            assert_eq!(
                AsyncChecker::check(&silent, deadline).await,
                Outcome::Failure(FailReason::Timeout)
            );
        }
        // One socket served all nine probes.
        assert_eq!(tcp_pool::idle(Domain::IPV4), 1);
        drop(full);
    }
}
