//! Running the seed lab for the scenarios: booting it with two directors,
//! starting and stopping programs, waiting for convergence, and the client
//! probes and helpers the scenarios share.

use std::cell::Cell;
use std::net::{Ipv4Addr, SocketAddr};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use lvs_ipvs::{IpvsHandle, ServiceKey};
use lvs_testenv::{LAB_IFACE, Netns};

use super::dns;
use super::probe::{Reply, Sample, http_get, probe_until};
use super::seed::Verdict;
use super::timeline::{Requests, VipPoll};
use super::topology::{SeedLab, VIP, start_dns, start_http};
use super::watch::{Filter, Seen, Watch};

/// How many times each timed fault is repeated unless told otherwise.
pub const DEFAULT_REPEATS: usize = 5;

/// How long after the protocol event (an advert, a health check) the fault
/// is injected.
pub const ALIGN_DELAY: Duration = Duration::from_millis(20);

pub(super) const NODE01: Ipv4Addr = Ipv4Addr::new(172, 20, 0, 81);
pub(super) const NODE02: Ipv4Addr = Ipv4Addr::new(172, 20, 0, 82);

/// Which program directs: ours or the reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `director` from this repository.
    Ours,
    /// Debian's keepalived.
    Keepalived,
    /// `embedded` (the README's embedding example: NODE01 only, HTTP only).
    Embedded,
}

impl Kind {
    /// Short name for logs and tables.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Ours => "director",
            Kind::Keepalived => "keepalived",
            Kind::Embedded => "embedded",
        }
    }
}

/// Where the lab finds its programs and configs, and writes its logs.
#[derive(Debug, Clone)]
pub struct Env {
    /// Directory holding `director` and `backend` (this program's own).
    pub bin_dir: PathBuf,
    /// The lab's keepalived configs (`node01.conf`, `node02.conf`).
    pub conf_dir: PathBuf,
    /// Logs of every process the lab starts.
    pub out_dir: PathBuf,
    /// How many phase-aligned samples of each timed fault to take.
    pub repeats: usize,
}

impl Env {
    /// Binaries beside this program, configs from the repository's
    /// `examples/lab`, logs in `$RW` (the VM's shared directory) or /tmp.
    pub fn discover() -> Env {
        let bin_dir = std::env::current_exe()
            .ok()
            .and_then(|p| p.parent().map(Path::to_path_buf))
            .unwrap_or_else(|| PathBuf::from("."));
        let conf_dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("lab");
        let out_dir = std::env::var_os("RW")
            .map(PathBuf::from)
            .unwrap_or_else(std::env::temp_dir)
            .join("lab-logs");
        let _ = std::fs::create_dir_all(&out_dir);
        Env {
            bin_dir,
            conf_dir,
            out_dir,
            repeats: DEFAULT_REPEATS,
        }
    }

    fn bin(&self, name: &str) -> String {
        self.bin_dir.join(name).display().to_string()
    }
}

pub(super) fn verdict(out: &mut Vec<Verdict>, item: &str, pass: bool, detail: impl Into<String>) {
    let v = Verdict {
        item: item.to_string(),
        pass,
        detail: detail.into(),
    };
    println!("{v}");
    out.push(v);
}

/// Polls `f` every 20 ms until it holds or `timeout` passes; returns how long it took.
pub(super) fn wait_until(timeout: Duration, mut f: impl FnMut() -> bool) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if f() {
            return Some(start.elapsed());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

/// Whether `host` has the VIP on its lab interface, read over rtnetlink in
/// its namespace: no `ip` process per poll, which under software emulation
/// and load took hundreds of milliseconds and blurred what a poll saw.
pub(super) fn holds_vip(host: &Netns) -> bool {
    let vip = std::net::IpAddr::from(VIP);
    match lvs_arpguard::Rtnl::open(Some(host.as_fd()))
        .and_then(|mut r| r.addresses(Some(LAB_IFACE)))
    {
        Ok(addrs) => addrs.iter().any(|a| a.addr == vip),
        Err(_) => {
            let out = host.try_run(&["ip", "-4", "-o", "addr", "show", "dev", LAB_IFACE]);
            String::from_utf8_lossy(&out.stdout).contains(&format!(" {VIP}/"))
        }
    }
}

/// The real servers of `key` in `host`'s IPVS table (empty when unreadable).
pub(super) fn real_servers(host: &Netns, key: &ServiceKey) -> Vec<SocketAddr> {
    let Ok(mut ipvs) = IpvsHandle::open_in_netns(host.as_fd()) else {
        return Vec::new();
    };
    ipvs.destinations(key)
        .map(|d| {
            d.into_iter()
                .filter(|d| d.dest.weight > 0)
                .map(|d| d.dest.addr)
                .collect()
        })
        .unwrap_or_default()
}

pub(super) fn http_key() -> ServiceKey {
    ServiceKey::tcp(SocketAddr::new(VIP.into(), 80))
}

pub(super) fn dns_key() -> ServiceKey {
    ServiceKey::udp(SocketAddr::new(VIP.into(), 53))
}

pub(super) fn addr(s: &str) -> SocketAddr {
    s.parse().expect("literal address")
}

/// A prober running in `ns` on its own thread until stopped.
pub(super) struct Prober {
    /// When it started: the samples' time 0.
    pub(super) origin: Instant,
    stop: Arc<AtomicBool>,
    handle: JoinHandle<Vec<Sample>>,
}

impl Prober {
    /// One `GET /` to the VIP started every 20 ms, each with a 300 ms
    /// deadline, overlapping (so a request stuck until its deadline does not
    /// stretch the measured outage by up to 300 ms).
    pub(super) fn start(ns: &Netns) -> Prober {
        Prober::start_to(ns, SocketAddr::new(VIP.into(), 80))
    }

    /// Like [`Prober::start`], to `vip` instead of the seed lab's VIP.
    pub(super) fn start_to(ns: &Netns, vip: SocketAddr) -> Prober {
        let file = ns.file();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let origin = Instant::now();
        let handle = std::thread::spawn(move || {
            lvs_sys::in_netns(file.as_fd(), || {
                probe_until(
                    origin,
                    vip,
                    Duration::from_millis(20),
                    Duration::from_millis(300),
                    &flag,
                )
            })
            .unwrap_or_default()
        });
        Prober {
            origin,
            stop,
            handle,
        }
    }

    pub(super) fn finish(self) -> Requests {
        self.stop.store(true, Ordering::Relaxed);
        Requests {
            origin: self.origin,
            samples: self.handle.join().unwrap_or_default(),
        }
    }
}

pub(super) fn failed(samples: &[Sample]) -> usize {
    samples
        .iter()
        .filter(|s| matches!(s.reply, Reply::Failed(_)))
        .count()
}

pub(super) fn gets(ns: &Netns, n: usize) -> Vec<String> {
    let vip = SocketAddr::new(VIP.into(), 80);
    ns.enter(|| {
        (0..n)
            .map(|_| match http_get(vip, Duration::from_secs(2)) {
                Reply::Body(b) => b,
                Reply::Failed(e) => format!("failed({e})"),
            })
            .collect()
    })
}

/// Waits until a GET from `ns` to the VIP is answered by a backend (the
/// client is served again); how long it took, or `None` within `timeout`.
pub(super) fn served_again(ns: &Netns, timeout: Duration) -> Option<Duration> {
    wait_until(timeout, || {
        matches!(
            gets(ns, 1).first().map(String::as_str),
            Some("www1" | "www2")
        )
    })
}

pub(super) fn dns_answers(ns: &Netns, source: Ipv4Addr, n: u16) -> Vec<String> {
    let server = SocketAddr::new(VIP.into(), 53);
    ns.enter(|| {
        (0..n)
            .map(|i| {
                match dns::ask(
                    SocketAddr::new(source.into(), 0),
                    server,
                    0x4c00 + i,
                    Duration::from_secs(1),
                ) {
                    Ok(b) => b.to_string(),
                    Err(e) => format!("failed({e})"),
                }
            })
            .collect()
    })
}

/// The processes of one run, for stopping and restarting them.
pub(super) struct Running {
    pub(super) lab: SeedLab,
    pub(super) directors: [(Kind, u32); 2],
    pub(super) http: [Cell<u32>; 2],
    pub(super) dns: [Cell<u32>; 2],
}

pub(super) fn start_director(env: &Env, host: &Netns, node: &str, kind: Kind) -> u32 {
    let conf = env.conf_dir.join(format!("{node}.conf"));
    let conf = conf.display().to_string();
    let log = env.out_dir.join(format!("{}-{node}.log", kind.name()));
    match kind {
        Kind::Ours => host.spawn_logged(&[&env.bin("director"), "-f", &conf], &log),
        // Its configuration is typed Rust: NODE01's VRRP and HTTP service.
        Kind::Embedded => host.spawn_logged(&[&env.bin("embedded")], &log),
        Kind::Keepalived => {
            let pid = |what: &str| {
                env.out_dir
                    .join(format!("ka-{node}-{what}.pid"))
                    .display()
                    .to_string()
            };
            let (main, vrrp, check) = (pid("main"), pid("vrrp"), pid("check"));
            // A run killed at the end of an earlier part leaves its pid
            // files; keepalived refuses to start ("daemon is already
            // running") when a recycled pid in one is alive.
            for f in [&main, &vrrp, &check] {
                let _ = std::fs::remove_file(f);
            }
            host.spawn_logged(
                &[
                    "keepalived",
                    "--dont-fork",
                    "--log-console",
                    "--log-detail",
                    "--use-file",
                    &conf,
                    "--pid",
                    &main,
                    "--vrrp_pid",
                    &vrrp,
                    "--checkers_pid",
                    &check,
                ],
                &log,
            )
        }
    }
}

pub(super) fn prepare_backends(lab: &SeedLab, env: &Env) -> Result<(), String> {
    for (name, host, _) in lab.backends() {
        let out = host.try_run(&[&env.bin("backend"), "--vip", &VIP.to_string()]);
        if !out.status.success() {
            return Err(format!(
                "backend on {name}: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            ));
        }
    }
    Ok(())
}

pub(super) fn boot(env: &Env, kinds: [Kind; 2], out: &mut Vec<Verdict>) -> Option<Running> {
    let lab = SeedLab::build();
    if let Err(e) = prepare_backends(&lab, env) {
        verdict(
            out,
            "2/3. DR backends prepared (VIP on lo, ARP suppressed)",
            false,
            e,
        );
        return None;
    }
    let mut http = [0; 2];
    let mut dnsp = [0; 2];
    for (i, (name, host, _)) in lab.backends().into_iter().enumerate() {
        http[i] = start_http(host, name, "0.0.0.0:80");
        dnsp[i] = start_dns(host, name);
    }
    let d1 = start_director(env, &lab.node01, "node01", kinds[0]);
    let d2 = start_director(env, &lab.node02, "node02", kinds[1]);
    Some(Running {
        lab,
        directors: [(kinds[0], d1), (kinds[1], d2)],
        http: http.map(Cell::new),
        dns: dnsp.map(Cell::new),
    })
}

pub(super) fn converge(r: &Running, out: &mut Vec<Verdict>, what: &str) -> bool {
    let lab = &r.lab;
    // The embedded example runs the HTTP service only.
    let dns = r.directors[0].0 != Kind::Embedded;
    let full = |host: &Netns| {
        real_servers(host, &http_key()).len() == 2
            && (!dns || real_servers(host, &dns_key()).len() == 2)
    };
    let took = wait_until(Duration::from_secs(60), || {
        holds_vip(&lab.node01) && !holds_vip(&lab.node02) && full(&lab.node01)
    });
    let pass = took.is_some();
    verdict(
        out,
        &format!("7/8. {what}: VIP on NODE01 only, IPVS programmed from the config"),
        pass,
        match took {
            Some(t) => format!("converged in {:.2}s", t.as_secs_f64()),
            None => format!(
                "not converged in 60s (VIP on node01: {}, node02: {}; node01 :80 {:?}, :53 {:?})",
                holds_vip(&lab.node01),
                holds_vip(&lab.node02),
                real_servers(&lab.node01, &http_key()),
                real_servers(&lab.node01, &dns_key())
            ),
        },
    );
    pass
}

/// Sleeps until `at`, if it is still ahead.
pub(super) fn sleep_until(at: Instant) {
    let now = Instant::now();
    if at > now {
        std::thread::sleep(at - now);
    }
}

/// The next packet `watch` sees, discarding older ones first, so a fault
/// can be placed at a fixed delay after it; `None` when the watch is
/// missing or nothing came within `timeout`.
pub(super) fn next_fresh(watch: Option<&Watch>, timeout: Duration) -> Option<Seen> {
    let w = watch?;
    let _ = w.drain();
    w.next(timeout)
}

pub(super) fn ms_after(event: Option<Seen>, fault: Instant) -> String {
    match event {
        Some(e) => format!(
            "{} ms after the check",
            fault.saturating_duration_since(e.at).as_millis()
        ),
        None => "unaligned: no check seen".to_string(),
    }
}

/// When NODE01's checks reached the backend after the kill, as offsets
/// from it (`+2.00 +4.01`): shows whether time went to the check schedule
/// or to acting on the result. `checks` is what the watch saw (`None`: no watch).
pub(super) fn checks_after(checks: Option<&[Seen]>, killed_at: Instant) -> String {
    let Some(checks) = checks else {
        return "not watched".to_string();
    };
    let offsets: Vec<String> = checks
        .iter()
        .filter(|s| s.at > killed_at)
        .map(|s| format!("+{:.2}", s.at.duration_since(killed_at).as_secs_f64()))
        .collect();
    if offsets.is_empty() {
        "none".to_string()
    } else {
        offsets.join(" ")
    }
}

/// Whether `host` (`node`: `"NODE01"` or `"NODE02"`) holds the VIP, the
/// poll kept in `polls` for the report's timeline.
pub(super) fn poll_vip(polls: &mut Vec<VipPoll>, host: &Netns, node: &'static str) -> bool {
    let holds = holds_vip(host);
    polls.push(VipPoll {
        at: Instant::now(),
        node,
        holds,
    });
    holds
}

/// One poll of each director.
pub(super) fn poll_both(polls: &mut Vec<VipPoll>, lab: &SeedLab) {
    poll_vip(polls, &lab.node01, "NODE01");
    poll_vip(polls, &lab.node02, "NODE02");
}

/// Prints what runs now and roughly how long it takes.
pub fn phase(what: &str, about: Duration) {
    let secs = about.as_secs();
    let about = if secs >= 120 {
        format!("{} min", secs.div_ceil(60))
    } else {
        format!("{secs} s")
    };
    println!("--- now: {what} (about {about})");
}

pub(super) fn watch_or_note(host: &Netns, filter: Filter, what: &str) -> Option<Watch> {
    match Watch::start(host, LAB_IFACE, filter) {
        Ok(w) => Some(w),
        Err(e) => {
            println!("  ({what}: cannot watch {filter:?}: {e}; faults are not phase-aligned)");
            None
        }
    }
}

pub(super) fn neigh_mac(ns: &Netns) -> String {
    let vip = std::net::IpAddr::from(VIP);
    // Over rtnetlink, as `holds_vip`: polled in loops.
    if let Ok(n) =
        lvs_arpguard::Rtnl::open(Some(ns.as_fd())).and_then(|mut r| r.neighbours(Some(LAB_IFACE)))
    {
        return n
            .iter()
            .find(|e| e.addr == vip)
            .and_then(|e| e.mac)
            .map(|m| m.to_string())
            .unwrap_or_default();
    }
    let out = ns.try_run(&["ip", "neigh", "show", &VIP.to_string(), "dev", LAB_IFACE]);
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    text.split_whitespace()
        .skip_while(|w| *w != "lladdr")
        .nth(1)
        .unwrap_or("")
        .to_string()
}

/// NODE01's next advert after NODE02 has been silent for two advert
/// intervals (so NODE01 is the settled master), or `None` within `timeout`.
/// Every advert read on the way is appended to `seen`.
pub(super) fn settled_master_advert(
    adverts: Option<&Watch>,
    timeout: Duration,
    seen: &mut Vec<Seen>,
) -> Option<Seen> {
    let w = adverts?;
    let deadline = Instant::now() + timeout;
    seen.extend(w.drain());
    let mut backup_last = seen.iter().rev().find(|s| s.src == NODE02).map(|s| s.at);
    loop {
        let left = deadline.checked_duration_since(Instant::now())?;
        let s = w.next(left)?;
        seen.push(s);
        if s.src == NODE02 {
            backup_last = Some(s.at);
            continue;
        }
        let quiet = backup_last.is_none_or(|b| s.at.duration_since(b) > Duration::from_secs(2));
        if s.src == NODE01 && s.priority > 0 && quiet {
            return Some(s);
        }
    }
}

pub(super) fn secs(d: Option<Duration>) -> String {
    match d {
        Some(d) => format!("{:.2}s", d.as_secs_f64()),
        None => "never (timed out)".to_string(),
    }
}
