//! Sustained TCP check rate: the tokio runner beside the kernel floor.
//!
//! `cargo bench -p lvs-healthcheck --features tokio --bench tcp_rate`
//!
//! One run, five phases against the same loopback listeners, each measured
//! the same way over its own window:
//!
//! 1. **floor**: a bare loop of blocking `connect` + `SO_LINGER 0` + `close`
//!    at the same rate (4 syscalls, no runtime, no engine): what any checker
//!    pays the kernel on this host;
//! 2. **reuse**: one blocking socket doing `connect` + `connect(AF_UNSPEC)`
//!    (an abort: the same RST) per check, 2 syscalls: the floor of a design
//!    that reuses sockets, as the runner does for RST-closing checks;
//! 3. **runner**: `LVS_HC_BENCH_RATE` (default 10,000) distinct
//!    [`TcpCheck`]s at 1 s interval through the tokio [`Runner`];
//! 4. **halfopen**: the same with [`TcpHalfOpenCheck`]s (SYN from a raw
//!    socket, SYN-ACK, this host's kernel resets; needs `CAP_NET_RAW`);
//! 5. **engine**: the same schedule with a check that succeeds without I/O
//!    (runner + engine cost alone).
//!
//! The listeners (`LVS_HC_BENCH_LISTENERS`, default 10,000) live in a child
//! process (this binary re-executed), so their `accept`/`close` calls and user
//! time are not ours. The child never sleeps *in* `epoll_wait`: it sleeps
//! 1 ms, then collects ready listeners with a zero timeout. A listener
//! blocked in `epoll_wait` would be woken from our `connect()` (on loopback
//! the whole handshake runs in the connecting task's softirq), charging a
//! cross-CPU wake-up per check to the checker that no real backend charges;
//! `LVS_HC_BENCH_LISTENER_BLOCKING=1` restores that to show its cost.
//!
//! Per phase it prints: checks/s; the checker's CPU (`getrusage`, this
//! process) per check and as % of one core per 1,000 checks/s; the listener
//! process's CPU (`/proc/<pid>/schedstat`); machine-wide softirq and busy
//! time (`/proc/stat`, tick-sampled; softirq run in a task's context is
//! *also* in that task's time on kernels without `IRQ_TIME_ACCOUNTING`);
//! and, for the runner, scheduling lateness p50/p99/p99.9. Last, the runner's
//! CPU per check as a multiple of each floor's.
//!
//! On loopback the listener's half of every handshake (SYN → SYN-ACK, the
//! child socket, the RST) runs in softirq inside our `connect()`/`close()`,
//! so it lands in the checker's CPU even with the listeners in another
//! process: the floors show the kernel's part, and `perf_split.py` beside
//! this file sorts a `perf record` of the bench into the checker's own work
//! and the listener's. The half-open phase carries the same bias, and one
//! more: its raw socket is shown (and filters out) the SYN and RST bound for
//! the listener, which on a real network never enter the checker's host.
//! Knobs: `LVS_HC_BENCH_SECS`
//! (window per phase, default 30), `LVS_HC_BENCH_PHASES` (subset of
//! `floor,reuse,runner,halfopen,engine`), `LVS_HC_BENCH_FIN=1` (close with FIN),
//! `LVS_HC_BENCH_PIN=1` (checker on CPU 0, listeners on CPU 1),
//! `LVS_HC_BENCH_MT=1` (multi-thread runtime, one worker),
//! `LVS_HC_BENCH_FROM_RESULT=1` (see below).
//!
//! Checks count their interval from each probe's start
//! ([`Policy::from_start`]), not from its result as keepalived's socket
//! checkers (and the policy's default) do. Counted from the result, every
//! probe answered in one batch falls due again at the same instant a second
//! later, and batches merge: half-open answers come in batches (one
//! `sendmmsg` of SYNs, whose whole exchange runs inside the call on
//! loopback), and at 10,000 checks/s they merged into bursts of 200-500
//! probes whose SYNs took 3-7 ms to send, with p99 lateness 35-40 ms and
//! the rate no longer sustained (9,666/s in one run).
//! `LVS_HC_BENCH_FROM_RESULT=1` shows it. Connect checks finish inside the
//! runner's first poll on loopback, one at a time, and are not affected.
//!
//! `LVS_HC_BENCH_VETH=1` (root, `ip`) splits the handshake the way two hosts
//! would: checker and listeners in two network namespaces made for the run,
//! joined by a veth pair (10.250.0.1 ↔ 10.250.0.2), checker pinned to CPU 0
//! and listeners to CPU 1, and RPS steering each side's received packets to
//! its own CPU. The listener's SYN, ACK and RST processing then runs on CPU 1,
//! the checker's SYN-ACK processing on CPU 0 (in softirq, charged to whatever
//! runs there), and the connect no longer completes inside `connect()`, so
//! the runner takes its production path (reactor registration, wake-up).
//! Every packet then crosses CPUs with an inter-processor interrupt, which
//! a virtual machine traps: there that cost (in `native_write_msr`) lands
//! on the sender and can outweigh what the split removes.

use std::io::{BufRead, BufReader, Write};
use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsRawFd;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use lvs_healthcheck::checker::tcp::TcpCheck;
use lvs_healthcheck::checker::tcp_half_open::TcpHalfOpenCheck;
use lvs_healthcheck::runner::{AsyncChecker, ProbeFuture, Runner};
use lvs_healthcheck::{
    ConnectOptions, EngineConfig, Event, FailOpen, Health, Outcome, Policy, ServiceId, Success,
};
use socket2::{Domain, SockAddr, Socket, Type};

const CHILD_ENV: &str = "LVS_HC_BENCH_LISTENER";
/// The listener child joins this network namespace (a path) first.
const CHILD_NETNS_ENV: &str = "LVS_HC_BENCH_LISTENER_NETNS";
/// The address the listeners bind and the checks target.
const CHILD_ADDR_ENV: &str = "LVS_HC_BENCH_LISTENER_ADDR";
const WARMUP: Duration = Duration::from_secs(3);

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn env_flag(name: &str) -> bool {
    std::env::var_os(name).is_some_and(|v| !v.is_empty() && v != "0")
}

/// Listener count (`LVS_HC_BENCH_LISTENERS`, default 10,000).
fn listeners() -> usize {
    env_or("LVS_HC_BENCH_LISTENERS", 10_000) as usize
}

/// A check that passes at once without I/O.
#[derive(Debug)]
struct NullCheck(usize);

impl AsyncChecker for NullCheck {
    fn identity(&self) -> String {
        format!("null {}", self.0)
    }

    fn check(&self, _deadline: Instant) -> ProbeFuture<'_> {
        Box::pin(async { Outcome::Success(Success::Connected) })
    }
}

/// Pins the calling thread (and what it spawns later) to one CPU.
fn pin_to(cpu: usize) {
    // SAFETY: a zeroed cpu_set_t is a valid empty set; CPU_SET writes inside it.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

/// Moves the calling thread into the network namespace at `path`.
fn enter_netns(path: &str) {
    let f = std::fs::File::open(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    // The bench thread stays there (unlike lvs_sys::in_netns's helper thread).
    rustix::thread::move_into_link_name_space(
        std::os::fd::AsFd::as_fd(&f),
        Some(rustix::thread::LinkNameSpaceType::Network),
    )
    .unwrap_or_else(|e| panic!("setns {path}: {e}"));
}

/// The listeners' address (loopback unless the veth mode set another).
fn listen_ip() -> IpAddr {
    std::env::var(CHILD_ADDR_ENV)
        .ok()
        .and_then(|a| a.parse().ok())
        .unwrap_or(IpAddr::from([127, 0, 0, 1]))
}

/// Two network namespaces joined by a veth pair, with RPS steering each
/// side's receive processing to its own CPU; deleted on drop.
struct VethPair {
    checker: String,
    listener: String,
}

impl VethPair {
    const CHECKER_IP: &str = "10.250.0.1";
    const LISTENER_IP: &str = "10.250.0.2";

    fn new() -> VethPair {
        let pid = std::process::id();
        let pair = VethPair {
            checker: format!("lvshc-c-{pid}"),
            listener: format!("lvshc-l-{pid}"),
        };
        let (c, l) = (pair.checker.as_str(), pair.listener.as_str());
        let ip = |args: &[&str]| {
            let out = Command::new("ip")
                .args(args)
                .output()
                .unwrap_or_else(|e| panic!("ip: {e} (the veth mode needs iproute2)"));
            assert!(
                out.status.success(),
                "ip {args:?}: {} (the veth mode needs root)",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        };
        ip(&["netns", "add", c]);
        ip(&["netns", "add", l]);
        ip(&[
            "link", "add", "name", "hc0", "netns", c, "type", "veth", "peer", "name", "hc1",
            "netns", l,
        ]);
        ip(&[
            "-n",
            c,
            "addr",
            "add",
            &format!("{}/24", Self::CHECKER_IP),
            "dev",
            "hc0",
        ]);
        ip(&[
            "-n",
            l,
            "addr",
            "add",
            &format!("{}/24", Self::LISTENER_IP),
            "dev",
            "hc1",
        ]);
        for (ns, dev) in [(c, "hc0"), (l, "hc1")] {
            ip(&["-n", ns, "link", "set", "lo", "up"]);
            ip(&["-n", ns, "link", "set", dev, "up"]);
        }
        // Each side's received packets are processed on its own CPU.
        for (ns, dev, mask) in [(c, "hc0", "1"), (l, "hc1", "2")] {
            let script = format!("echo {mask} > /sys/class/net/{dev}/queues/rx-0/rps_cpus");
            ip(&["netns", "exec", ns, "sh", "-c", &script]);
        }
        pair
    }
}

impl Drop for VethPair {
    fn drop(&mut self) {
        for ns in [&self.checker, &self.listener] {
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
    }
}

/// The listener process: binds, prints the ports, then accepts and closes
/// forever, polling its epoll set every millisecond without blocking in it.
fn listener_child() {
    // Never outlive the bench, even when it panics.
    // SAFETY: prctl with integer arguments only.
    unsafe { libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) };
    if let Ok(ns) = std::env::var(CHILD_NETNS_ENV) {
        enter_netns(&ns);
    }
    if env_flag("LVS_HC_BENCH_PIN") {
        pin_to(1);
    }
    let blocking = env_flag("LVS_HC_BENCH_LISTENER_BLOCKING");
    // SAFETY: plain syscall, result checked.
    let ep = unsafe { libc::epoll_create1(libc::EPOLL_CLOEXEC) };
    assert!(
        ep >= 0,
        "epoll_create1: {}",
        std::io::Error::last_os_error()
    );
    let any = SockAddr::from(SocketAddr::new(listen_ip(), 0));
    let mut socks = Vec::new();
    let mut ports = Vec::new();
    for i in 0..listeners() {
        let s = Socket::new(Domain::IPV4, Type::STREAM.nonblocking().cloexec(), None)
            .unwrap_or_else(|e| panic!("socket: {e}"));
        s.bind(&any).unwrap_or_else(|e| panic!("bind: {e}"));
        s.listen(4096).unwrap_or_else(|e| panic!("listen: {e}"));
        let port = s
            .local_addr()
            .ok()
            .and_then(|a| a.as_socket())
            .map_or(0, |a| a.port());
        ports.push(port);
        let mut ev = libc::epoll_event {
            events: libc::EPOLLIN as u32,
            u64: i as u64,
        };
        // SAFETY: valid epoll fd, valid socket fd, event on the stack.
        let rc = unsafe { libc::epoll_ctl(ep, libc::EPOLL_CTL_ADD, s.as_raw_fd(), &mut ev) };
        assert_eq!(rc, 0, "epoll_ctl: {}", std::io::Error::last_os_error());
        socks.push(s);
    }
    let line: Vec<String> = ports.iter().map(u16::to_string).collect();
    println!("{}", line.join(" "));
    let _ = std::io::stdout().flush();
    let mut events = vec![libc::epoll_event { events: 0, u64: 0 }; 1024];
    loop {
        let timeout = if blocking { -1 } else { 0 };
        // SAFETY: the buffer holds `events.len()` entries.
        let n = unsafe { libc::epoll_wait(ep, events.as_mut_ptr(), events.len() as i32, timeout) };
        for ev in events.iter().take(n.max(0) as usize) {
            let fd = socks[ev.u64 as usize].as_raw_fd();
            loop {
                // SAFETY: accept4 on a listening socket we own, no address wanted.
                let c = unsafe { libc::accept4(fd, std::ptr::null_mut(), std::ptr::null_mut(), 0) };
                if c < 0 {
                    break;
                }
                // SAFETY: closing the fd accept4 just gave us.
                unsafe { libc::close(c) };
            }
        }
        if !blocking && n < events.len() as i32 {
            std::thread::sleep(Duration::from_millis(1));
        }
    }
}

/// Clock ticks per second for /proc figures.
fn clk_tck() -> f64 {
    // SAFETY: sysconf has no memory effects.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 { t as f64 } else { 100.0 }
}

/// CPU accounting at one instant.
#[derive(Debug, Clone, Copy)]
struct Sample {
    at: Instant,
    /// This process, user and system (getrusage).
    user: Duration,
    sys: Duration,
    /// The listener process's run time (ns, schedstat).
    listener_ns: u64,
    /// Machine-wide /proc/stat ticks: softirq, busy (all but idle and iowait), steal.
    softirq: u64,
    busy: u64,
    steal: u64,
}

fn sample(listener: u32) -> Sample {
    // SAFETY: getrusage fills the struct we pass; RUSAGE_SELF is always valid.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: as above.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, (t.tv_usec as u32) * 1000);
    let listener_ns = std::fs::read_to_string(format!("/proc/{listener}/schedstat"))
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok()))
        .unwrap_or(0);
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    // cpu user nice system idle iowait irq softirq steal guest guest_nice
    let f: Vec<u64> = stat
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    let at = |i: usize| f.get(i).copied().unwrap_or(0);
    Sample {
        at: Instant::now(),
        user: tv(ru.ru_utime),
        sys: tv(ru.ru_stime),
        listener_ns,
        softirq: at(6),
        // guest time is already inside user; idle and iowait are not busy.
        busy: (0..8).filter(|&i| i != 3 && i != 4).map(at).sum(),
        steal: at(7),
    }
}

/// The 1, 5 and 15 minute load averages, as /proc/loadavg prints them.
fn load_average() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .map(|l| l.split_whitespace().take(3).collect::<Vec<_>>().join(" "))
        .unwrap_or_else(|_| "?".into())
}

/// What one phase cost, per check.
struct Figures {
    rate: f64,
    per_check_us: f64,
}

/// Prints a phase's figures from two samples and the checks in between.
fn report(name: &str, what: &str, a: &Sample, b: &Sample, checks: u64) -> Figures {
    let wall = (b.at - a.at).as_secs_f64();
    let n = checks.max(1) as f64;
    let rate = checks as f64 / wall;
    let us = |d: f64| d * 1e6 / n;
    let share = |secs: f64| secs / wall * 100.0 / (rate / 1000.0);
    let user = (b.user - a.user).as_secs_f64();
    let sys = (b.sys - a.sys).as_secs_f64();
    let listener = b.listener_ns.saturating_sub(a.listener_ns) as f64 / 1e9;
    let tck = clk_tck();
    let softirq = b.softirq.saturating_sub(a.softirq) as f64 / tck;
    let busy = b.busy.saturating_sub(a.busy) as f64 / tck;
    let steal = b.steal.saturating_sub(a.steal) as f64 / tck;
    println!("{name}: {what}");
    println!(
        "  window            {wall:.1} s, {checks} checks ({rate:.0}/s); load average {} at its end",
        load_average()
    );
    println!(
        "  checker CPU       {:.2} us/check (user {:.2}, system {:.2}) = {:.2}% of one core per 1,000 checks/s",
        us(user + sys),
        us(user),
        us(sys),
        share(user + sys)
    );
    println!(
        "  listener process  {:.2} us/check = {:.2}% per 1,000 checks/s",
        us(listener),
        share(listener)
    );
    println!(
        "  machine softirq   {:.2} us/check (tick-sampled; overlaps task time when run in task context)",
        us(softirq)
    );
    println!(
        "  machine busy      {:.2} us/check = {:.2}% per 1,000 checks/s (all tasks, all CPUs; steal {:.2} us/check)",
        us(busy),
        share(busy),
        us(steal)
    );
    Figures {
        rate,
        per_check_us: us(user + sys),
    }
}

/// Runs `check(port)` from this thread at `rate` (batches every 10 ms) for
/// the warm-up and then a `secs` window; returns the samples at the
/// window's edges and the checks made inside it. Both floors use it.
fn paced(
    ports: &[u16],
    rate: u64,
    secs: u64,
    listener: u32,
    mut check: impl FnMut(u16),
) -> (Sample, Sample, u64) {
    let batch = (rate / 100).max(1) as usize;
    let mut n = 0usize;
    let mut counted = 0u64;
    let start = Instant::now();
    let mut tick = start;
    let mut s0 = None;
    loop {
        let now = Instant::now();
        if s0.is_none() && now >= start + WARMUP {
            s0 = Some(sample(listener));
            counted = 0;
        }
        if now >= start + WARMUP + Duration::from_secs(secs) {
            break;
        }
        for _ in 0..batch {
            check(ports[n % ports.len()]);
            n += 1;
            counted += 1;
        }
        tick += Duration::from_millis(10);
        std::thread::sleep(tick.saturating_duration_since(Instant::now()));
    }
    let s1 = sample(listener);
    (s0.unwrap_or(s1), s1, counted)
}

/// The kernel floor: blocking connect, optional `SO_LINGER 0`, close, from
/// one thread at `rate` (batches every 10 ms), no runtime and no engine.
fn floor(ports: &[u16], rate: u64, secs: u64, reset: bool, listener: u32) -> Figures {
    let (s0, s1, counted) = paced(ports, rate, secs, listener, |port| {
        if let Ok(s) = std::net::TcpStream::connect(SocketAddr::new(listen_ip(), port))
            && reset
        {
            let _ = socket2::SockRef::from(&s).set_linger(Some(Duration::ZERO));
        }
    });
    report(
        "floor",
        &format!(
            "blocking connect + {} close, one thread, no runtime",
            if reset { "RST" } else { "FIN" }
        ),
        &s0,
        &s1,
        counted,
    )
}

/// The floor of socket reuse: one blocking socket (`SO_LINGER 0`) doing
/// `connect` + `connect(AF_UNSPEC)` (the abort sends the same RST) per
/// check, at `rate` in 10 ms batches: 2 syscalls per check, no socket set-up.
fn floor_reuse(ports: &[u16], rate: u64, secs: u64, listener: u32) -> Figures {
    let domain = Domain::for_address(SocketAddr::new(listen_ip(), 0));
    let sock =
        Socket::new(domain, Type::STREAM.cloexec(), None).unwrap_or_else(|e| panic!("socket: {e}"));
    sock.set_linger(Some(Duration::ZERO))
        .unwrap_or_else(|e| panic!("linger: {e}"));
    // SAFETY: an all-zero sockaddr is valid; only the family is read.
    let mut unspec: libc::sockaddr = unsafe { std::mem::zeroed() };
    unspec.sa_family = libc::AF_UNSPEC as libc::sa_family_t;
    let mut failed = 0u64;
    let (s0, s1, counted) = paced(ports, rate, secs, listener, |port| {
        let dst = SockAddr::from(SocketAddr::new(listen_ip(), port));
        if sock.connect(&dst).is_err() {
            failed += 1;
        }
        // SAFETY: valid fd; the address and its length describe `unspec`.
        unsafe {
            libc::connect(
                sock.as_raw_fd(),
                &unspec,
                std::mem::size_of::<libc::sockaddr>() as libc::socklen_t,
            )
        };
    });
    let fig = report(
        "reuse",
        "one blocking socket: connect + connect(AF_UNSPEC) (RST), no runtime",
        &s0,
        &s1,
        counted,
    );
    if failed > 0 {
        println!("  failed connects   {failed}");
    }
    fig
}

/// Lateness quantiles of a runner phase.
struct Lateness {
    p50: Duration,
    p99: Duration,
    p999: Duration,
}

/// What a runner phase's checks do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Probe {
    /// [`TcpCheck`]: a full connection.
    Connect,
    /// [`TcpHalfOpenCheck`]: SYN, SYN-ACK, the kernel's reset.
    HalfOpen,
    /// [`NullCheck`]: no I/O.
    Null,
}

/// The runner phase: `rate` distinct checks, interval 1 s, measured after warm-up.
fn runner_phase(
    ports: &[u16],
    rate: u64,
    secs: u64,
    reset: bool,
    probe: Probe,
    listener: u32,
) -> Figures {
    let policy = Policy::new(Duration::from_secs(1), Duration::from_secs(1))
        .with_fall(2)
        .with_first_result_decides(true)
        .with_initial_jitter(Duration::from_secs(1))
        // Intervals count from each probe's start: see the header.
        .with_from_start(!env_flag("LVS_HC_BENCH_FROM_RESULT"));
    let mut runner = Runner::new(
        EngineConfig::default()
            .with_fail_open(FailOpen::Off)
            .with_max_in_flight(4096),
    );
    let n_listeners = ports.len();
    for i in 0..rate as usize {
        let port = ports[i % n_listeners];
        let mut opts = ConnectOptions::new(SocketAddr::new(listen_ip(), port));
        // Beyond one check per listener, distinct source addresses keep checks distinct.
        if i >= n_listeners {
            assert!(
                listen_ip().is_loopback(),
                "more checks than listeners needs loopback source addresses"
            );
            opts.bind_addr = Some(IpAddr::from([127, 0, 0, 2 + (i / n_listeners) as u8 % 250]));
        }
        let checker: Arc<dyn AsyncChecker> = match probe {
            Probe::Null => Arc::new(NullCheck(i)),
            Probe::HalfOpen => Arc::new(TcpHalfOpenCheck::new(opts)),
            Probe::Connect => {
                let mut check = TcpCheck::new(opts);
                check.reset_on_close = reset;
                Arc::new(check)
            }
        };
        runner
            .add(ServiceId(i as u64 / 100), checker, policy.clone())
            .unwrap_or_else(|e| panic!("{e}"));
    }

    let rt = if env_flag("LVS_HC_BENCH_MT") {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    }
    .unwrap_or_else(|e| panic!("runtime: {e}"));
    let (s0, s1, probes, lateness, ups, downs) = rt.block_on(async move {
        let mut handle = runner.spawn();
        let stats = handle.stats.clone();
        let mut ups = 0u64;
        let mut downs = Vec::new();
        let start = Instant::now();
        let mut s0 = None;
        loop {
            let now = Instant::now();
            if s0.is_none() && now >= start + WARMUP {
                stats.reset();
                s0 = Some(sample(listener));
            }
            if now >= start + WARMUP + Duration::from_secs(secs) {
                break;
            }
            if let Ok(Some(ev)) =
                tokio::time::timeout(Duration::from_millis(100), handle.events.recv()).await
                && let Event::Transition(t) = ev
            {
                match t.to {
                    Health::Up => ups += 1,
                    _ => downs.push(format!("{:?} {:?}", t.member, t.reason)),
                }
            }
        }
        let s1 = sample(listener);
        let probes = stats.probes();
        let lateness = Lateness {
            p50: stats.lateness_quantile(0.5),
            p99: stats.lateness_quantile(0.99),
            p999: stats.lateness_quantile(0.999),
        };
        handle.task.abort();
        (s0.unwrap_or(s1), s1, probes, lateness, ups, downs)
    });
    let flavour = if env_flag("LVS_HC_BENCH_MT") {
        "multi-thread"
    } else {
        "current-thread"
    };
    let (name, what) = match probe {
        Probe::Null => (
            "engine",
            format!("{rate} checks that pass without I/O, runner + engine only"),
        ),
        Probe::HalfOpen => (
            "halfopen",
            format!(
                "{rate} distinct half-open TCP checks (SYN, SYN-ACK, kernel RST), interval 1 s, tokio {flavour}"
            ),
        ),
        Probe::Connect => (
            "runner",
            format!(
                "{rate} distinct TCP checks, interval 1 s, close = {}, tokio {flavour}",
                if reset { "RST" } else { "FIN" },
            ),
        ),
    };
    let fig = report(name, &what, &s0, &s1, probes);
    println!(
        "  lateness          p50 {:?}  p99 {:?}  p99.9 {:?} (10 us buckets, window only)",
        lateness.p50, lateness.p99, lateness.p999
    );
    println!("  transitions       {ups} up, {} down", downs.len());
    for d in downs.iter().take(5) {
        println!("    down: {d}");
    }
    fig
}

/// Raises the open-file limit to its hard maximum (10,000 listeners need it).
fn raise_nofile() {
    // SAFETY: getrlimit/setrlimit on a struct we own.
    unsafe {
        let mut lim: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) == 0 && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}

fn main() {
    raise_nofile();
    if std::env::var_os(CHILD_ENV).is_some() {
        listener_child();
        return;
    }
    // `cargo bench` passes --bench and maybe a filter; both are ignored.
    let rate = env_or("LVS_HC_BENCH_RATE", 10_000);
    let secs = env_or("LVS_HC_BENCH_SECS", 30);
    let reset = !env_flag("LVS_HC_BENCH_FIN");
    let phases =
        std::env::var("LVS_HC_BENCH_PHASES").unwrap_or("floor,reuse,runner,halfopen,engine".into());
    let phase = |p: &str| phases.split(',').any(|x| x.trim() == p);

    let veth = env_flag("LVS_HC_BENCH_VETH").then(VethPair::new);
    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("{e}"));
    let mut cmd = Command::new(exe);
    if let Some(v) = &veth {
        // Still single-threaded here: the whole process moves.
        enter_netns(&format!("/run/netns/{}", v.checker));
        // SAFETY: no other thread exists yet to read the environment.
        unsafe {
            std::env::set_var(CHILD_ADDR_ENV, VethPair::LISTENER_IP);
            std::env::set_var("LVS_HC_BENCH_PIN", "1");
        }
        cmd.env(CHILD_NETNS_ENV, format!("/run/netns/{}", v.listener));
    }
    let mut child = cmd
        .env(CHILD_ENV, "1")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("listener child: {e}"));
    let mut line = String::new();
    if let Some(out) = child.stdout.take() {
        let _ = BufReader::new(out).read_line(&mut line);
    }
    let ports: Vec<u16> = line
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect();
    assert_eq!(ports.len(), listeners(), "listener child failed: {line:?}");
    if env_flag("LVS_HC_BENCH_PIN") {
        pin_to(0);
    }
    println!("load average at start: {}", load_average());
    println!(
        "tcp_rate: {rate} checks/s, {} listeners at {} in process {} ({}), {secs} s window per phase after {} s warm-up",
        ports.len(),
        match &veth {
            Some(_) => format!(
                "{} over veth from {}, RPS: checker rx on CPU 0, listener rx on CPU 1",
                VethPair::LISTENER_IP,
                VethPair::CHECKER_IP
            ),
            None => "127.0.0.1 (loopback)".into(),
        },
        child.id(),
        if env_flag("LVS_HC_BENCH_LISTENER_BLOCKING") {
            "blocking in epoll_wait: woken per connection"
        } else {
            "polling every 1 ms, never woken by us"
        },
        WARMUP.as_secs()
    );

    let floor_fig = phase("floor").then(|| floor(&ports, rate, secs, reset, child.id()));
    let reuse_fig = (phase("reuse") && reset).then(|| floor_reuse(&ports, rate, secs, child.id()));
    let run = |p: Probe| runner_phase(&ports, rate, secs, reset, p, child.id());
    let runner_fig = phase("runner").then(|| run(Probe::Connect));
    let half_open_fig = phase("halfopen").then(|| run(Probe::HalfOpen));
    let engine_fig = phase("engine").then(|| run(Probe::Null));
    let _ = child.kill();
    let _ = child.wait();
    drop(veth);

    println!("summary (checker CPU only; target < 2% of one core per 1,000 checks/s):");
    let line = |name: &str, f: &Figures| {
        println!(
            "  {name:<8} {:>7.2} us/check = {:.2}% per 1,000 checks/s at {:.0}/s",
            f.per_check_us,
            f.per_check_us / 10.0,
            f.rate
        );
    };
    for (name, f) in [
        ("floor", &floor_fig),
        ("reuse", &reuse_fig),
        ("runner", &runner_fig),
        ("halfopen", &half_open_fig),
        ("engine", &engine_fig),
    ] {
        if let Some(f) = f {
            line(name, f);
        }
    }
    if let (Some(f), Some(r)) = (&floor_fig, &runner_fig) {
        println!(
            "  runner / floor = {:.2} (runner minus floor: {:.2} us/check)",
            r.per_check_us / f.per_check_us,
            r.per_check_us - f.per_check_us
        );
    }
    if let (Some(f), Some(r)) = (&reuse_fig, &runner_fig) {
        println!(
            "  runner / reuse = {:.2} (runner minus reuse: {:.2} us/check)",
            r.per_check_us / f.per_check_us,
            r.per_check_us - f.per_check_us
        );
    }
}
