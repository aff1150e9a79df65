//! Sustained TCP check rate through the tokio runner.
//!
//! Starts a child process with 10,000 loopback listeners (`LVS_HC_BENCH_LISTENERS`) (so their
//! accept work is not charged to us), registers enough distinct TCP checks
//! (interval 1 s) to reach `LVS_HC_BENCH_RATE` checks per second (default
//! 10,000), runs them for `LVS_HC_BENCH_SECS` (default 30) after a short
//! warm-up, and prints: achieved rate, CPU time per check (getrusage, user +
//! system, this process only), CPU share per 1,000 checks/s, scheduling
//! lateness p50/p99/p99.9, and any failed probes.
//!
//! `cargo bench -p lvs-healthcheck --features tokio --bench tcp_rate`

use std::io::{BufRead, BufReader, Write};
use std::net::{IpAddr, SocketAddr};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use lvs_healthcheck::checker::tcp::TcpCheck;
use lvs_healthcheck::runner::{AsyncChecker, ProbeFuture, Runner};
use lvs_healthcheck::{
    ConnectOptions, EngineConfig, Event, FailOpen, Health, InitialState, Outcome, Policy,
    ServiceId, Success,
};

/// Listener count (`LVS_HC_BENCH_LISTENERS`, default 10,000).
fn listeners() -> usize {
    env_or("LVS_HC_BENCH_LISTENERS", 10_000) as usize
}
const CHILD_ENV: &str = "LVS_HC_BENCH_LISTENER";

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

fn env_or(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// The listener process: binds, prints the ports, accepts and drops forever.
fn listener_child() {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("runtime: {e}"));
    rt.block_on(async {
        let mut ports = Vec::new();
        for _ in 0..listeners() {
            let sock = tokio::net::TcpSocket::new_v4().unwrap_or_else(|e| panic!("{e}"));
            sock.bind("127.0.0.1:0".parse().unwrap_or_else(|e| panic!("{e}")))
                .unwrap_or_else(|e| panic!("{e}"));
            let l = sock.listen(4096).unwrap_or_else(|e| panic!("{e}"));
            ports.push(l.local_addr().unwrap_or_else(|e| panic!("{e}")).port());
            tokio::spawn(async move {
                while let Ok((s, _)) = l.accept().await {
                    drop(s);
                }
            });
        }
        let line: Vec<String> = ports.iter().map(u16::to_string).collect();
        println!("{}", line.join(" "));
        let _ = std::io::stdout().flush();
        std::future::pending::<()>().await;
    });
}

/// User and system CPU time of this process.
fn cpu_split() -> (Duration, Duration) {
    // SAFETY: getrusage fills the struct we pass.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: as above; RUSAGE_SELF is always valid.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, (t.tv_usec as u32) * 1000);
    (tv(ru.ru_utime), tv(ru.ru_stime))
}

fn cpu_time() -> Duration {
    // SAFETY: getrusage fills the struct we pass.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: as above; RUSAGE_SELF is always valid.
    unsafe { libc::getrusage(libc::RUSAGE_SELF, &mut ru) };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, (t.tv_usec as u32) * 1000);
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

/// The kernel floor: plain blocking connect + close from one thread at the
/// same rate, no runtime, no engine. What any checker pays on loopback.
fn baseline(ports: &[u16], rate: u64, secs: u64, reset: bool) {
    let batch = (rate / 100).max(1) as usize;
    let start = Instant::now();
    let cpu0 = cpu_split();
    let mut n = 0usize;
    let mut tick = start;
    while start.elapsed() < Duration::from_secs(secs) {
        for _ in 0..batch {
            let port = ports[n % ports.len()];
            n += 1;
            if let Ok(s) =
                std::net::TcpStream::connect(SocketAddr::new(IpAddr::from([127, 0, 0, 1]), port))
                && reset
            {
                let _ = socket2::SockRef::from(&s).set_linger(Some(Duration::ZERO));
            }
        }
        tick += Duration::from_millis(10);
        std::thread::sleep(tick.saturating_duration_since(Instant::now()));
    }
    let cpu1 = cpu_split();
    let wall = start.elapsed().as_secs_f64();
    let (user, sys) = (
        (cpu1.0 - cpu0.0).as_secs_f64(),
        (cpu1.1 - cpu0.1).as_secs_f64(),
    );
    println!(
        "baseline: blocking connect+close, {:.0}/s for {wall:.1} s",
        n as f64 / wall
    );
    println!(
        "  CPU per check    {:.2} us (user {:.2} us, system {:.2} us)",
        (user + sys) * 1e6 / n as f64,
        user * 1e6 / n as f64,
        sys * 1e6 / n as f64
    );
    println!(
        "  per 1,000 chk/s  {:.2}% of one core",
        (user + sys) / wall * 100.0 / (n as f64 / wall / 1000.0)
    );
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
    // `cargo bench` passes --bench; a filter argument we ignore.
    let rate = env_or("LVS_HC_BENCH_RATE", 10_000);
    let secs = env_or("LVS_HC_BENCH_SECS", 30);
    let warmup = Duration::from_secs(3);
    let reset = std::env::var("LVS_HC_BENCH_FIN").is_err();
    // Runner and engine alone, no sockets: the scheduling overhead.
    let null = std::env::var("LVS_HC_BENCH_NULL").is_ok();

    let exe = std::env::current_exe().unwrap_or_else(|e| panic!("{e}"));
    let mut child = Command::new(exe)
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
    let n_listeners = listeners();
    assert_eq!(ports.len(), n_listeners, "listener child failed: {line:?}");

    if std::env::var_os("LVS_HC_BENCH_BASELINE").is_some() {
        baseline(&ports, rate, secs, reset);
        let _ = child.kill();
        let _ = child.wait();
        return;
    }

    let policy = Policy {
        interval: Duration::from_secs(1),
        fast_interval: Duration::from_secs(1),
        rise_interval: Duration::from_secs(1),
        down_interval: Duration::from_secs(1),
        timeout: Duration::from_secs(1),
        rise: 1,
        fall: 2,
        initial: InitialState::Unknown,
        first_result_decides: true,
        startup_grace: Duration::ZERO,
        initial_delay: Duration::ZERO,
        initial_jitter: Duration::from_secs(1),
        interval_jitter: Duration::ZERO,
        from_start: false,
    };
    // Distinct checks: every (source address, listener) pair is its own probe.
    let mut runner = Runner::new(EngineConfig {
        fail_open: FailOpen::Off,
        max_in_flight: 4096,
        ..EngineConfig::default()
    });
    for i in 0..rate as usize {
        let port = ports[i % n_listeners];
        let mut opts = ConnectOptions::new(SocketAddr::new(IpAddr::from([127, 0, 0, 1]), port));
        // Beyond one check per listener, distinct source addresses keep checks distinct.
        if i >= n_listeners {
            opts.bind_addr = Some(IpAddr::from([127, 0, 0, 2 + (i / n_listeners) as u8 % 250]));
        }
        let mut check = TcpCheck::new(opts);
        check.reset_on_close = reset;
        let checker: Arc<dyn AsyncChecker> = if null {
            Arc::new(NullCheck(i))
        } else {
            Arc::new(check)
        };
        runner
            .add(ServiceId(i as u64 / 100), checker, policy.clone())
            .unwrap_or_else(|e| panic!("{e}"));
    }

    let rt = if std::env::var_os("LVS_HC_BENCH_MT").is_some() {
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
    let (ups, downs, probes, cpu, user, sys, wall, p50, p99, p999) = rt.block_on(async move {
        let mut handle = runner.spawn();
        let stats = handle.stats.clone();
        let mut ups = 0u64;
        let mut downs = Vec::new();
        let start = Instant::now();
        let mut measuring = None;
        let mut split0 = (Duration::ZERO, Duration::ZERO);
        loop {
            let now = Instant::now();
            if measuring.is_none() && now >= start + warmup {
                stats.reset();
                split0 = cpu_split();
                measuring = Some((now, cpu_time(), 0));
            }
            if let Some((t, _, _)) = measuring
                && now >= t + Duration::from_secs(secs)
            {
                break;
            }
            if let Ok(Some(ev)) =
                tokio::time::timeout(Duration::from_millis(100), handle.events.recv()).await
                && let Event::Transition(t) = ev
            {
                match t.to {
                    Health::Up => ups += 1,
                    _ => downs.push(t),
                }
            }
        }
        let (t, c, p) = measuring.unwrap_or((start, Duration::ZERO, 0));
        let wall = t.elapsed();
        let cpu = cpu_time() - c;
        let split1 = cpu_split();
        let (user, sys) = (split1.0 - split0.0, split1.1 - split0.1);
        let probes = stats.probes() - p;
        handle.task.abort();
        (
            ups,
            downs,
            probes,
            cpu,
            user,
            sys,
            wall,
            stats.lateness_quantile(0.5),
            stats.lateness_quantile(0.99),
            stats.lateness_quantile(0.999),
        )
    });
    let _ = child.kill();
    let _ = child.wait();

    let achieved = probes as f64 / wall.as_secs_f64();
    let per_check = cpu.as_secs_f64() / probes.max(1) as f64;
    let core_share = cpu.as_secs_f64() / wall.as_secs_f64();
    println!(
        "tcp_rate: {rate} distinct TCP checks, interval 1 s, close = {}",
        if reset { "RST" } else { "FIN" }
    );
    println!(
        "  window           {:.1} s after {} s warm-up",
        wall.as_secs_f64(),
        warmup.as_secs()
    );
    println!("  checks           {probes} ({achieved:.0}/s)");
    println!(
        "  CPU              {:.3} s = {:.1}% of one core",
        cpu.as_secs_f64(),
        core_share * 100.0
    );
    println!(
        "  CPU per check    {:.2} us (user {:.2} us, system {:.2} us)",
        per_check * 1e6,
        user.as_secs_f64() * 1e6 / probes.max(1) as f64,
        sys.as_secs_f64() * 1e6 / probes.max(1) as f64
    );
    println!(
        "  per 1,000 chk/s  {:.2}% of one core (target < 2%)",
        core_share * 100.0 / (achieved / 1000.0)
    );
    println!(
        "  lateness         p50 {:?}  p99 {:?}  p99.9 {:?} (10 us buckets, window only)",
        p50, p99, p999
    );
    println!("  transitions      {ups} up, {} down", downs.len());
    for t in downs.iter().take(5) {
        println!("    down: {:?} {:?}", t.member, t.reason);
    }
}
