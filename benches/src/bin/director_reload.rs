//! Does a configuration reload ever stop VRRP? Side by side for several
//! `director` binaries, in the kernel VM.
//!
//! For each `NAME=PATH` given: a fresh L2 segment (lvs-testenv `Lan`) with
//! NODE01 (172.20.0.81, the director) and a capture host; NODE01 gets a
//! keepalived configuration of one `vrrp_instance` (VRID 1, advert_int 1,
//! MASTER, VIP 172.20.0.83) and 1,000 `virtual_server`s × 4 `real_server`s
//! with `TCP_CHECK`s (real servers routed into a dummy link inside NODE01:
//! nothing answers, nothing leaves), plus a second configuration differing
//! in 100 real servers. The director is started with `-f`; once its first
//! advert is seen (Master) and `--settle` seconds have passed, the file is
//! replaced by the other configuration and the director sent SIGHUP,
//! `--reloads` times, each time waiting for its "reload applied" log line
//! and then `--pause` seconds more. VRRP adverts are captured on the
//! capture host's `ens18` with an AF_PACKET socket (kernel receive
//! timestamps, `SO_TIMESTAMPNS`).
//!
//! Prints per binary: time to Master, reload durations (SIGHUP to the log
//! line, as polled) min/median/max, adverts captured, the largest gap
//! between consecutive adverts from the last advert before the first SIGHUP
//! to the end, how many gaps exceed advert_int + 20 ms (1.020 s), the five
//! largest gaps with the reload they overlap; then the figures side by side.
//!
//! Run as root inside the VM (build on the host first):
//!
//! ```text
//! cargo build --release -p lvs-benches -p lvs-examples --bin director_reload --bin director
//! cargo xtask vm --timeout 900 -- target/release/director_reload \
//!     new=target/release/director old=/path/to/old/director
//! ```
//!
//! Options: `--reloads N` (50), `--services N` (1000), `--reals N` (4),
//! `--changed N` (100), `--settle SECS` (5), `--pause SECS` (0.5),
//! `--logs DIR` (keep each director's log there), `--keep-fd-limit` (do
//! not raise the open-file limit to 65,536 for the directors; at 1,024
//! 4,000 checks run out of descriptors). `--services 0` runs
//! VRRP alone (no IPVS needed: the capture and reload loop can be tried on
//! a host kernel). Exits non-zero when a run is broken (no Master, the
//! director died, a reload refused or never logged), not on the gap target.

use std::io::{Read, Seek, SeekFrom};
use std::net::Ipv4Addr;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use lvs_benches::{NODE01, blackhole_real_servers, keepalived_conf, min_median_max, secs};
use lvs_testenv::Lan;

/// advert_int + 20 ms: the target for the largest gap.
const GAP_TARGET: Duration = Duration::from_millis(1020);

struct Opts {
    reloads: usize,
    services: usize,
    reals: usize,
    changed: usize,
    settle: Duration,
    pause: Duration,
    logs: Option<PathBuf>,
    keep_fd_limit: bool,
    binaries: Vec<(String, String)>,
}

fn parse_args() -> Result<Opts, String> {
    let mut o = Opts {
        reloads: 50,
        services: 1000,
        reals: 4,
        changed: 100,
        settle: Duration::from_secs(5),
        pause: Duration::from_millis(500),
        logs: None,
        keep_fd_limit: false,
        binaries: Vec::new(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        let secs = |v: String| -> Result<Duration, String> {
            v.parse::<f64>()
                .ok()
                .filter(|s| *s >= 0.0)
                .map(Duration::from_secs_f64)
                .ok_or(format!("bad seconds {v:?}"))
        };
        let count = |v: String| v.parse::<usize>().map_err(|_| format!("bad count {v:?}"));
        match a.as_str() {
            "--reloads" => o.reloads = count(value(&a)?)?,
            "--services" => o.services = count(value(&a)?)?,
            "--reals" => o.reals = count(value(&a)?)?,
            "--changed" => o.changed = count(value(&a)?)?,
            "--settle" => o.settle = secs(value(&a)?)?,
            "--pause" => o.pause = secs(value(&a)?)?,
            "--logs" => o.logs = Some(PathBuf::from(value(&a)?)),
            "--keep-fd-limit" => o.keep_fd_limit = true,
            _ => match a.split_once('=') {
                Some((name, path)) if !name.is_empty() && !path.is_empty() => {
                    o.binaries.push((name.to_string(), path.to_string()))
                }
                _ => return Err(format!("unexpected argument {a:?} (want NAME=PATH)")),
            },
        }
    }
    if o.binaries.is_empty() {
        return Err("usage: director_reload [options] NAME=PATH...".into());
    }
    Ok(o)
}

/// One VRRP advert as captured.
#[derive(Clone, Copy)]
struct Advert {
    /// Kernel receive time (CLOCK_REALTIME), ns since the epoch.
    at_ns: u128,
    src: Ipv4Addr,
    vrid: u8,
    priority: u8,
}

/// An AF_PACKET socket on `iface` (IPv4 frames, link header stripped) with
/// kernel receive timestamps and a 200 ms receive timeout.
fn open_capture(iface: &str) -> std::io::Result<OwnedFd> {
    let proto = (libc::ETH_P_IP as u16).to_be();
    // SAFETY: plain socket(2) call; the fd is owned right below.
    let raw = unsafe {
        libc::socket(
            libc::AF_PACKET,
            libc::SOCK_DGRAM | libc::SOCK_CLOEXEC,
            i32::from(proto),
        )
    };
    if raw < 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: `raw` is a fresh, valid descriptor owned by nobody else.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    let name = std::ffi::CString::new(iface).map_err(std::io::Error::other)?;
    // SAFETY: `name` is a valid NUL-terminated string.
    let index = unsafe { libc::if_nametoindex(name.as_ptr()) };
    if index == 0 {
        return Err(std::io::Error::last_os_error());
    }
    // SAFETY: sockaddr_ll is plain data; all-zero is a valid start.
    let mut sll: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
    sll.sll_family = libc::AF_PACKET as u16;
    sll.sll_protocol = proto;
    sll.sll_ifindex = index as i32;
    // SAFETY: `sll` is a valid sockaddr_ll of the size given.
    let rc = unsafe {
        libc::bind(
            fd.as_raw_fd(),
            (&sll as *const libc::sockaddr_ll).cast(),
            std::mem::size_of::<libc::sockaddr_ll>() as u32,
        )
    };
    if rc < 0 {
        return Err(std::io::Error::last_os_error());
    }
    let on: libc::c_int = 1;
    let timeout = libc::timeval {
        tv_sec: 0,
        tv_usec: 200_000,
    };
    // SAFETY: valid option values of the sizes given.
    let rc = unsafe {
        libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_TIMESTAMPNS,
            (&on as *const libc::c_int).cast(),
            std::mem::size_of::<libc::c_int>() as u32,
        ) | libc::setsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_RCVTIMEO,
            (&timeout as *const libc::timeval).cast(),
            std::mem::size_of::<libc::timeval>() as u32,
        )
    };
    if rc < 0 {
        return Err(std::io::Error::last_os_error());
    }
    Ok(fd)
}

/// Reads frames until `stop`, keeping VRRP adverts (IP protocol 112).
fn capture_loop(fd: OwnedFd, stop: Arc<AtomicBool>, out: Arc<Mutex<Vec<Advert>>>) {
    let mut buf = [0u8; 2048];
    let mut control = [0u64; 16];
    while !stop.load(Ordering::Relaxed) {
        let mut iov = libc::iovec {
            iov_base: buf.as_mut_ptr().cast(),
            iov_len: buf.len(),
        };
        // SAFETY: msghdr is plain data; all-zero is a valid start.
        let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
        msg.msg_iov = &mut iov;
        msg.msg_iovlen = 1;
        msg.msg_control = control.as_mut_ptr().cast();
        msg.msg_controllen = std::mem::size_of_val(&control);
        // SAFETY: msg points at live buffers of the sizes given.
        let n = unsafe { libc::recvmsg(fd.as_raw_fd(), &mut msg, 0) };
        if n <= 0 {
            continue; // timeout (to look at `stop`) or an interrupted call
        }
        let pkt = &buf[..n as usize];
        if pkt.len() < 20 || pkt[0] >> 4 != 4 || pkt[9] != 112 {
            continue;
        }
        let ihl = usize::from(pkt[0] & 0x0f) * 4;
        let Some(vrrp) = pkt.get(ihl..ihl + 3) else {
            continue;
        };
        let mut at_ns = None;
        // SAFETY: walking the control messages the kernel wrote into `msg`.
        unsafe {
            let mut c = libc::CMSG_FIRSTHDR(&msg);
            while !c.is_null() {
                if (*c).cmsg_level == libc::SOL_SOCKET && (*c).cmsg_type == libc::SCM_TIMESTAMPNS {
                    let ts: libc::timespec = std::ptr::read_unaligned(libc::CMSG_DATA(c).cast());
                    at_ns = Some(ts.tv_sec as u128 * 1_000_000_000 + ts.tv_nsec as u128);
                }
                c = libc::CMSG_NXTHDR(&msg, c);
            }
        }
        let Some(at_ns) = at_ns else {
            continue;
        };
        let advert = Advert {
            at_ns,
            src: Ipv4Addr::new(pkt[12], pkt[13], pkt[14], pkt[15]),
            vrid: vrrp[1],
            priority: vrrp[2],
        };
        out.lock().unwrap_or_else(|e| e.into_inner()).push(advert);
    }
}

fn realtime_ns() -> u128 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

/// Counts the reload outcome lines appended to a log since the last call.
struct LogWatch {
    file: std::fs::File,
    offset: u64,
    carry: String,
    done: usize,
    refused: usize,
}

impl LogWatch {
    fn new(path: &Path) -> std::io::Result<LogWatch> {
        Ok(LogWatch {
            file: std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .read(true)
                .open(path)?,
            offset: 0,
            carry: String::new(),
            done: 0,
            refused: 0,
        })
    }

    fn poll(&mut self) {
        let mut chunk = Vec::new();
        if self.file.seek(SeekFrom::Start(self.offset)).is_err()
            || self.file.read_to_end(&mut chunk).is_err()
        {
            return;
        }
        self.offset += chunk.len() as u64;
        self.carry.push_str(&String::from_utf8_lossy(&chunk));
        let Some(end) = self.carry.rfind('\n') else {
            return;
        };
        for line in self.carry[..end].lines() {
            if line.contains("reload applied") || line.contains("reload: nothing changed") {
                self.done += 1;
            } else if line.contains("reload refused") {
                self.refused += 1;
            }
        }
        self.carry.drain(..=end);
    }
}

fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .ok()
        .and_then(|s| s.rsplit_once(')').map(|(_, r)| r.trim_start().to_string()))
        .is_some_and(|r| !r.starts_with('Z'))
}

#[derive(Default)]
struct RunResult {
    error: Option<String>,
    to_master: Option<Duration>,
    reload_times: Vec<Duration>,
    adverts: usize,
    settle_max_gap: Option<Duration>,
    max_gap: Option<Duration>,
    over: usize,
    worst: Vec<(Duration, String)>,
}

/// Runs one program with its files in a fresh temporary directory (the
/// guest's `/tmp`, in memory: its log is written there, not to the shared
/// directory, whose writes are slow enough to hold up a logging program);
/// the log is copied to `--logs` afterwards.
fn run_one(opts: &Opts, name: &str, program: &str) -> RunResult {
    lvs_benches::in_scratch_dir("lvs-reload", name, opts.logs.as_deref(), |dir, log| {
        run_in(opts, name, program, dir, log)
    })
    .unwrap_or_else(|e| RunResult {
        error: Some(e),
        ..RunResult::default()
    })
}

fn run_in(opts: &Opts, name: &str, binary: &str, dir: &Path, log: &Path) -> RunResult {
    let mut r = RunResult::default();
    let confs = [
        keepalived_conf(opts.services, opts.reals, 0, opts.changed),
        keepalived_conf(opts.services, opts.reals, 1, opts.changed),
    ];
    let conf = dir.join("director.conf");
    let staged = dir.join("staged.conf");
    if let Err(e) = std::fs::write(&conf, &confs[0]) {
        r.error = Some(format!("write {}: {e}", conf.display()));
        return r;
    }

    let lan = Lan::new("rl");
    let node = lan.add_host("n01", &[&format!("{NODE01}/24")]);
    let cap = lan.add_host("cap", &["172.20.0.80/24"]);
    blackhole_real_servers(&node);
    let fd = match cap.enter(|| open_capture("ens18")) {
        Ok(fd) => fd,
        Err(e) => {
            r.error = Some(format!("capture socket: {e}"));
            return r;
        }
    };
    let stop = Arc::new(AtomicBool::new(false));
    let adverts = Arc::new(Mutex::new(Vec::new()));
    let reader = {
        let (stop, adverts) = (stop.clone(), adverts.clone());
        std::thread::spawn(move || capture_loop(fd, stop, adverts))
    };
    let mut watch = match LogWatch::new(log) {
        Ok(w) => w,
        Err(e) => {
            r.error = Some(format!("log {}: {e}", log.display()));
            return r;
        }
    };
    let control = dir.join("control.sock");
    let (conf_s, control_s) = (conf.display().to_string(), control.display().to_string());
    let started = Instant::now();
    let pid = node.spawn_logged(&[binary, "-f", &conf_s, "--control", &control_s], log);
    let master: Ipv4Addr = NODE01.parse().unwrap_or(Ipv4Addr::UNSPECIFIED);
    let from_master = |a: &Advert| a.src == master && a.vrid == 1 && a.priority == 100;
    let seen = |adverts: &Mutex<Vec<Advert>>| {
        adverts
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .filter(|a| from_master(a))
            .count()
    };

    let finish = |reader: std::thread::JoinHandle<()>| {
        stop.store(true, Ordering::Relaxed);
        let _ = reader.join();
        if !node.signal(pid, libc::SIGTERM, Duration::from_secs(10)) {
            node.kill(pid);
        }
    };

    while seen(&adverts) == 0 {
        if !alive(pid) || started.elapsed() > Duration::from_secs(180) {
            r.error = Some(format!(
                "{name}: no advert from NODE01 within {:?} (alive: {}); log {}",
                started.elapsed(),
                alive(pid),
                log.display()
            ));
            finish(reader);
            return r;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    r.to_master = Some(started.elapsed());
    std::thread::sleep(opts.settle);

    let mut signals: Vec<(u128, u128)> = Vec::new(); // (SIGHUP sent, reload logged)
    for k in 0..opts.reloads {
        let next = &confs[(k + 1) % 2];
        if let Err(e) = std::fs::write(&staged, next).and_then(|_| std::fs::rename(&staged, &conf))
        {
            r.error = Some(format!("replace {}: {e}", conf.display()));
            break;
        }
        let sent = realtime_ns();
        let t0 = Instant::now();
        // SAFETY: kill(2) on the director we started (not reaped: alive checked).
        unsafe { libc::kill(pid as libc::pid_t, libc::SIGHUP) };
        loop {
            watch.poll();
            if watch.refused > 0 {
                r.error = Some(format!("{name}: reload {k} refused; log {}", log.display()));
                break;
            }
            if watch.done > k {
                break;
            }
            if !alive(pid) || t0.elapsed() > Duration::from_secs(30) {
                r.error = Some(format!(
                    "{name}: reload {k} not logged after {:?} (alive: {}); log {}",
                    t0.elapsed(),
                    alive(pid),
                    log.display()
                ));
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        if r.error.is_some() {
            break;
        }
        r.reload_times.push(t0.elapsed());
        signals.push((sent, realtime_ns()));
        std::thread::sleep(opts.pause);
    }
    std::thread::sleep(Duration::from_secs(2));
    if r.error.is_none() && !alive(pid) {
        r.error = Some(format!("{name}: the director died; log {}", log.display()));
    }
    finish(reader);

    let all: Vec<Advert> = adverts
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .iter()
        .copied()
        .filter(from_master)
        .collect();
    let first_sig = signals.first().map_or(u128::MAX, |s| s.0);
    // The window starts at the last advert before the first SIGHUP.
    let start = all.iter().rposition(|a| a.at_ns < first_sig).unwrap_or(0);
    let gaps = |w: &[Advert]| -> Vec<(u128, u128)> {
        w.windows(2).map(|p| (p[0].at_ns, p[1].at_ns)).collect()
    };
    let dur = |a: u128, b: u128| Duration::from_nanos((b - a) as u64);
    r.settle_max_gap = gaps(&all[..=start.min(all.len().saturating_sub(1))])
        .iter()
        .map(|&(a, b)| dur(a, b))
        .max();
    let window = &all[start..];
    r.adverts = window.len();
    let mut g: Vec<(Duration, u128, u128)> = gaps(window)
        .into_iter()
        .map(|(a, b)| (dur(a, b), a, b))
        .collect();
    r.max_gap = g.iter().map(|x| x.0).max();
    r.over = g.iter().filter(|x| x.0 > GAP_TARGET).count();
    g.sort_by_key(|x| std::cmp::Reverse(x.0));
    for &(d, a, b) in g.iter().take(5) {
        // Which reload (SIGHUP .. logged) overlaps the gap, if any.
        let during = signals
            .iter()
            .position(|&(s, e)| s < b && e > a)
            .map(|k| {
                let (s, e) = signals[k];
                format!(
                    "reload {k}: SIGHUP {:+.3} s, logged {:+.3} s after the gap's first advert",
                    (s as f64 - a as f64) / 1e9,
                    (e as f64 - a as f64) / 1e9
                )
            })
            .unwrap_or_else(|| "no reload in progress".to_string());
        r.worst.push((d, during));
    }
    r
}

fn main() {
    let opts = match parse_args() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    lvs_testenv::require_root("the reload bench");
    lvs_benches::report_fd_limit(opts.keep_fd_limit);
    println!(
        "config: 1 vrrp_instance (VRID 1, advert_int 1) + {} virtual servers x {} real servers (TCP_CHECK, unreachable); variants differ in {} real servers; {} reloads, {:?} pause",
        opts.services, opts.reals, opts.changed, opts.reloads, opts.pause
    );
    let mut results = Vec::new();
    let mut broken = false;
    for (name, binary) in &opts.binaries {
        println!("== {name}: {binary}");
        let r = run_one(&opts, name, binary);
        if let Some(e) = &r.error {
            println!("   ERROR: {e}");
            broken = true;
        }
        let rt = min_median_max(&r.reload_times);
        println!(
            "   Master after {}; {} reloads, SIGHUP -> logged min/median/max {}",
            secs(r.to_master),
            r.reload_times.len(),
            rt.map_or("-".into(), |(a, m, b)| format!(
                "{} / {} / {}",
                secs(Some(a)),
                secs(Some(m)),
                secs(Some(b))
            ))
        );
        println!(
            "   adverts in the window {}; largest gap {} ({} gaps > {:?}); largest gap before the first SIGHUP {}",
            r.adverts,
            secs(r.max_gap),
            r.over,
            GAP_TARGET,
            secs(r.settle_max_gap)
        );
        for (d, why) in &r.worst {
            println!("     gap {}: {why}", secs(Some(*d)));
        }
        let verdict = match r.max_gap {
            Some(g) if g <= GAP_TARGET => "target met (largest gap <= 1.020 s)",
            Some(_) => "TARGET MISSED (largest gap > 1.020 s)",
            None => "no gaps measured",
        };
        println!("   {verdict}");
        results.push((name.clone(), r));
    }
    println!();
    print!("{:<34}", "");
    for (name, _) in &results {
        print!("{name:>16}");
    }
    println!();
    let row = |label: &str, f: &dyn Fn(&RunResult) -> String| {
        print!("{label:<34}");
        for (_, r) in &results {
            print!("{:>16}", f(r));
        }
        println!();
    };
    row("time to Master", &|r| secs(r.to_master));
    row("reloads done", &|r| r.reload_times.len().to_string());
    row("reload (SIGHUP -> logged) median", &|r| {
        secs(min_median_max(&r.reload_times).map(|x| x.1))
    });
    row("reload (SIGHUP -> logged) max", &|r| {
        secs(min_median_max(&r.reload_times).map(|x| x.2))
    });
    row("adverts in the window", &|r| r.adverts.to_string());
    row("largest advert gap", &|r| secs(r.max_gap));
    row("gaps > 1.020 s", &|r| r.over.to_string());
    if broken {
        std::process::exit(1);
    }
}
