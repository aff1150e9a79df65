//! The whole seed lab with real directors: `director` (ours) or Debian's
//! keepalived on NODE01/NODE02 with the lab's configs, `backend` on the
//! backends, and every LAB.md item checked from the client, with the
//! outage and detection times measured at the client.
//!
//! The faults behind the timing figures are repeated ([`Env::repeats`]
//! times) and placed at a fixed phase of what they disturb: NODE01's link is
//! cut [`ALIGN_DELAY`] after one of its adverts is seen on the segment, a
//! backend's server is killed [`ALIGN_DELAY`] after NODE01's health check
//! reached it. One sample at a random phase varies by up to a whole advert
//! interval or `delay_loop`; aligned samples compare the implementations.

use std::cell::Cell;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use lvs_ipvs::{IpvsHandle, ServiceKey};
use lvs_testenv::{LAB_IFACE, Netns};

use super::dns;
use super::probe::{Reply, Sample, http_get, longest_outage, probe_until};
use super::seed::Verdict;
use super::series::{Measure, Series, ratio};
use super::topology::{SeedLab, VIP, start_dns, start_http};
use super::watch::{Filter, LinkSwitch, Seen, Watch};

/// How many times each timed fault is repeated unless told otherwise.
pub const DEFAULT_REPEATS: usize = 5;

/// How long after the protocol event (an advert, a health check) the fault
/// is injected.
pub const ALIGN_DELAY: Duration = Duration::from_millis(20);

const NODE01: Ipv4Addr = Ipv4Addr::new(172, 20, 0, 81);
const NODE02: Ipv4Addr = Ipv4Addr::new(172, 20, 0, 82);

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

/// Figures measured in one run, for the side-by-side table: one sample per
/// repetition of each fault.
#[derive(Debug, Clone, Default)]
pub struct Figures {
    /// Client-visible outage when NODE01's link is cut [`ALIGN_DELAY`]
    /// after one of its adverts.
    pub link_cut_outage: Series,
    /// From NODE01's last advert before the cut to NODE02's first advert.
    pub link_cut_advert_gap: Series,
    /// From restoring NODE01's link to NODE01 holding the VIP alone again.
    pub link_restored_preempt: Series,
    /// Client-visible outage when NODE01's director is stopped (SIGTERM);
    /// one sample (the stop is not repeated).
    pub sigterm_outage: Series,
    /// From killing WWW2's HTTP server ([`ALIGN_DELAY`] after NODE01's
    /// check reached it) to its removal from IPVS.
    pub http_removal: Series,
    /// Failed client requests (one every 20 ms) in each of those times.
    pub http_failed_requests: Vec<usize>,
    /// From restarting it to its return to IPVS.
    pub http_readd: Series,
    /// From killing a backend's DNS server ([`ALIGN_DELAY`] after NODE01's
    /// check reached it) to its removal from IPVS.
    pub dns_removal: Series,
    /// From restarting it to its return to IPVS.
    pub dns_readd: Series,
    /// Whether an established TCP connection survived the failover.
    pub connection_survived: Option<bool>,
}

fn verdict(out: &mut Vec<Verdict>, item: &str, pass: bool, detail: impl Into<String>) {
    let v = Verdict {
        item: item.to_string(),
        pass,
        detail: detail.into(),
    };
    println!("{v}");
    out.push(v);
}

/// Polls `f` every 20 ms until it holds or `timeout` passes; returns how long it took.
fn wait_until(timeout: Duration, mut f: impl FnMut() -> bool) -> Option<Duration> {
    let start = Instant::now();
    while start.elapsed() < timeout {
        if f() {
            return Some(start.elapsed());
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    None
}

fn holds_vip(host: &Netns) -> bool {
    let out = host.try_run(&["ip", "-4", "-o", "addr", "show", "dev", LAB_IFACE]);
    String::from_utf8_lossy(&out.stdout).contains(&format!(" {VIP}/"))
}

/// The real servers of `key` in `host`'s IPVS table (empty when unreadable).
fn real_servers(host: &Netns, key: &ServiceKey) -> Vec<SocketAddr> {
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

fn http_key() -> ServiceKey {
    ServiceKey::tcp(SocketAddr::new(VIP.into(), 80))
}

fn dns_key() -> ServiceKey {
    ServiceKey::udp(SocketAddr::new(VIP.into(), 53))
}

fn addr(s: &str) -> SocketAddr {
    s.parse().expect("literal address")
}

/// A prober running in `ns` on its own thread until stopped.
struct Prober {
    stop: Arc<AtomicBool>,
    handle: JoinHandle<Vec<Sample>>,
}

impl Prober {
    /// One `GET /` to the VIP started every 20 ms, each with a 300 ms
    /// deadline, overlapping (so a request stuck until its deadline does not
    /// stretch the measured outage by up to 300 ms).
    fn start(ns: &Netns) -> Prober {
        let file = ns.file();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::spawn(move || {
            let vip = SocketAddr::new(VIP.into(), 80);
            lvs_sys::in_netns(file.as_fd(), || {
                probe_until(
                    vip,
                    Duration::from_millis(20),
                    Duration::from_millis(300),
                    &flag,
                )
            })
            .unwrap_or_default()
        });
        Prober { stop, handle }
    }

    fn finish(self) -> Vec<Sample> {
        self.stop.store(true, Ordering::Relaxed);
        self.handle.join().unwrap_or_default()
    }
}

fn failed(samples: &[Sample]) -> usize {
    samples
        .iter()
        .filter(|s| matches!(s.reply, Reply::Failed(_)))
        .count()
}

fn gets(ns: &Netns, n: usize) -> Vec<String> {
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

fn dns_answers(ns: &Netns, source: Ipv4Addr, n: u16) -> Vec<String> {
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
struct Running {
    lab: SeedLab,
    directors: [(Kind, u32); 2],
    http: [Cell<u32>; 2],
    dns: [Cell<u32>; 2],
}

fn start_director(env: &Env, host: &Netns, node: &str, kind: Kind) -> u32 {
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

fn prepare_backends(lab: &SeedLab, env: &Env) -> Result<(), String> {
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

fn boot(env: &Env, kinds: [Kind; 2], out: &mut Vec<Verdict>) -> Option<Running> {
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

fn converge(r: &Running, out: &mut Vec<Verdict>, what: &str) -> bool {
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

/// Every LAB.md item with `kind` directing on both nodes.
pub fn full_run(env: &Env, kind: Kind) -> (Vec<Verdict>, Figures) {
    let mut out = Vec::new();
    let mut fig = Figures::default();
    println!(
        "\n=== the seed lab with {} on NODE01 and NODE02",
        kind.name()
    );
    let Some(r) = boot(env, [kind, kind], &mut out) else {
        return (out, fig);
    };
    if !converge(&r, &mut out, kind.name()) {
        return (out, fig);
    }
    let lab = &r.lab;

    // 4. Round robin.
    let names = gets(&lab.frontal, 4);
    let alternating =
        names.iter().all(|n| n == "www1" || n == "www2") && names.windows(2).all(|w| w[0] != w[1]);
    verdict(
        &mut out,
        "4. round robin from FRONTAL",
        alternating,
        names.join(" "),
    );

    // 2/3. ARP for the VIP answered by the master only.
    arp_owner(lab, &mut out, &lab.node01, "NODE01");

    // 9. DNS over UDP, sticky per client (sh).
    lab.frontal
        .run(&["ip", "addr", "add", "172.20.0.79/24", "dev", LAB_IFACE]);
    let a = dns_answers(&lab.frontal, Ipv4Addr::new(172, 20, 0, 80), 6);
    let b = dns_answers(&lab.frontal, Ipv4Addr::new(172, 20, 0, 79), 6);
    let sticky =
        |v: &[String]| !v.is_empty() && v.iter().all(|x| x == &v[0] && !x.starts_with("failed"));
    verdict(
        &mut out,
        "9. DNS via UDP 53, sticky per client (sh)",
        sticky(&a) && sticky(&b),
        format!("client .80: {}; client .79: {}", a.join(" "), b.join(" ")),
    );

    // 6. Ghost address on the IPVS interface.
    ghost(lab, &mut out);

    // 8. A dead HTTP backend is removed, then re-added.
    http_backend_flap(&r, env.repeats, &mut out, &mut fig);

    // 9. The DNS backend serving FRONTAL stops: queries move.
    if let Some(first) = a.first() {
        dns_backend_stop(&r, env.repeats, &mut out, &mut fig, first);
    }

    // 7. NODE01 cut off: NODE02 takes over; 5. the client's ARP entry moves
    // by gratuitous ARP, without a ping.
    link_cut(&r, env.repeats, &mut out, &mut fig);

    // Graceful stop: priority 0 hands over at once.
    sigterm_handover(&r, &mut out, &mut fig);
    (out, fig)
}

fn arp_owner(lab: &SeedLab, out: &mut Vec<Verdict>, owner: &Netns, owner_name: &str) {
    let hosts: Vec<Ipv4Addr> = [81, 82, 85, 86]
        .iter()
        .map(|l| Ipv4Addr::new(172, 20, 0, *l))
        .collect();
    let opts = lvs_arpguard::probe::ProbeOptions {
        window: Duration::from_millis(800),
        sender_ip: None,
        identify: hosts,
    };
    let owner_mac = owner.mac(LAB_IFACE);
    match lvs_arpguard::probe::probe(Some(lab.frontal.as_fd()), LAB_IFACE, VIP, &opts) {
        Ok(report) => {
            let macs: Vec<String> = report.macs().iter().map(|m| m.to_string()).collect();
            let pass = macs.len() == 1 && macs[0].eq_ignore_ascii_case(&owner_mac);
            verdict(
                out,
                "3. ARP for the VIP answered by the master only",
                pass,
                format!(
                    "answering MACs {:?}; {owner_name} is {owner_mac}",
                    report
                        .answers
                        .iter()
                        .map(|a| format!("{} ({:?})", a.mac, a.host))
                        .collect::<Vec<_>>()
                ),
            );
        }
        Err(e) => verdict(
            out,
            "3. ARP for the VIP answered by the master only",
            false,
            e.to_string(),
        ),
    }
}

fn ghost(lab: &SeedLab, out: &mut Vec<Verdict>) {
    lab.node01.run(&[
        "ip",
        "addr",
        "add",
        "172.20.0.97/24",
        "dev",
        LAB_IFACE,
        "valid_lft",
        "300",
        "preferred_lft",
        "300",
    ]);
    let spec = lvs_arpguard::audit::GhostAuditSpec {
        iface: LAB_IFACE.to_string(),
        expected: vec![
            (IpAddr::V4(Ipv4Addr::new(172, 20, 0, 81)), 24),
            (IpAddr::V4(VIP), 24),
        ],
        vips: vec![IpAddr::V4(VIP)],
    };
    let found = lvs_arpguard::Rtnl::open(Some(lab.node01.as_fd()))
        .and_then(|mut rtnl| lvs_arpguard::audit::audit_ghosts(&mut rtnl, &spec));
    let _ = lab
        .node01
        .try_run(&["ip", "addr", "del", "172.20.0.97/24", "dev", LAB_IFACE]);
    match found {
        Ok(findings) => {
            let hit = findings
                .iter()
                .find(|f| f.address.addr == IpAddr::V4(Ipv4Addr::new(172, 20, 0, 97)));
            verdict(
                out,
                "6. ghost (DHCP) address on the IPVS interface reported",
                hit.is_some() && findings.len() == 1,
                findings
                    .iter()
                    .map(|f| f.to_string())
                    .collect::<Vec<_>>()
                    .join(" | "),
            );
        }
        Err(e) => verdict(out, "6. ghost address reported", false, e.to_string()),
    }
}

/// Sleeps until `at`, if it is still ahead.
fn sleep_until(at: Instant) {
    let now = Instant::now();
    if at > now {
        std::thread::sleep(at - now);
    }
}

/// The next packet `watch` sees, discarding older ones first, so a fault
/// can be placed at a fixed delay after it; `None` when the watch is
/// missing or nothing came within `timeout`.
fn next_fresh(watch: Option<&Watch>, timeout: Duration) -> Option<Seen> {
    let w = watch?;
    let _ = w.drain();
    w.next(timeout)
}

fn ms_after(event: Option<Seen>, fault: Instant) -> String {
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
/// or to acting on the result.
fn checks_after(watch: Option<&Watch>, killed_at: Instant) -> String {
    let Some(w) = watch else {
        return "not watched".to_string();
    };
    let offsets: Vec<String> = w
        .drain()
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

fn watch_or_note(host: &Netns, filter: Filter, what: &str) -> Option<Watch> {
    match Watch::start(host, LAB_IFACE, filter) {
        Ok(w) => Some(w),
        Err(e) => {
            println!("  ({what}: cannot watch {filter:?}: {e}; faults are not phase-aligned)");
            None
        }
    }
}

fn http_backend_flap(r: &Running, repeats: usize, out: &mut Vec<Verdict>, fig: &mut Figures) {
    let lab = &r.lab;
    let www2 = addr("172.20.0.86:80");
    let checks = watch_or_note(
        &lab.www2,
        Filter::TcpSyn {
            from: NODE01,
            port: 80,
        },
        "HTTP backend",
    );
    for i in 0..repeats.max(1) {
        let prober = Prober::start(&lab.frontal);
        std::thread::sleep(Duration::from_millis(200));
        // NODE01's TCP_CHECK has just connected: kill the server right after.
        let check = next_fresh(checks.as_ref(), Duration::from_secs(15));
        if let Some(c) = check {
            sleep_until(c.at + ALIGN_DELAY);
        }
        let killed_at = Instant::now();
        lab.www2.kill(r.http[1].get());
        let removed = wait_until(Duration::from_secs(60), || {
            !real_servers(&lab.node01, &http_key()).contains(&www2)
        });
        let seen = checks_after(checks.as_ref(), killed_at);
        let samples = prober.finish();
        let failed_now = failed(&samples);
        fig.http_removal.push(removed);
        fig.http_failed_requests.push(failed_now);
        if i == 0 {
            let after = gets(&lab.frontal, 4);
            verdict(
                out,
                "8. WWW2's HTTP stopped: removed, traffic all on WWW1",
                removed.is_some() && after.iter().all(|n| n == "www1"),
                format!(
                    "removed after {}, {} of {} client requests failed meanwhile; then {}",
                    secs(removed),
                    failed_now,
                    samples.len(),
                    after.join(" ")
                ),
            );
        }
        r.http[1].set(start_http(&lab.www2, "www2", "0.0.0.0:80"));
        let back = wait_until(Duration::from_secs(60), || {
            real_servers(&lab.node01, &http_key()).contains(&www2)
        });
        fig.http_readd.push(back);
        if i == 0 {
            let names = gets(&lab.frontal, 4);
            verdict(
                out,
                "8. WWW2's HTTP restarted: re-added",
                back.is_some() && names.iter().any(|n| n == "www2"),
                format!("re-added after {}; then {}", secs(back), names.join(" ")),
            );
        }
        println!(
            "  HTTP backend killed {}/{} ({}): removed after {} (NODE01's checks at {seen}), {failed_now} failed requests; re-added after {}",
            i + 1,
            repeats.max(1),
            ms_after(check, killed_at),
            secs(removed),
            secs(back)
        );
    }
}

fn dns_backend_stop(
    r: &Running,
    repeats: usize,
    out: &mut Vec<Verdict>,
    fig: &mut Figures,
    serving: &str,
) {
    let lab = &r.lab;
    let (idx, host, ip) = if serving == "www1" {
        (0, &lab.www1, "172.20.0.85:53")
    } else {
        (1, &lab.www2, "172.20.0.86:53")
    };
    let name = if idx == 0 { "www1" } else { "www2" };
    let other = if serving == "www1" { "www2" } else { "www1" };
    let gone = addr(ip);
    let checks = watch_or_note(
        host,
        Filter::Udp {
            from: NODE01,
            port: 53,
        },
        "DNS backend",
    );
    for i in 0..repeats.max(1) {
        // delay_loop 5 plus connect_timeout 3: a check within 15 s.
        let check = next_fresh(checks.as_ref(), Duration::from_secs(15));
        if let Some(c) = check {
            sleep_until(c.at + ALIGN_DELAY);
        }
        let killed_at = Instant::now();
        host.kill(r.dns[idx].get());
        let removed = wait_until(Duration::from_secs(60), || {
            !real_servers(&lab.node01, &dns_key()).contains(&gone)
        });
        let seen = checks_after(checks.as_ref(), killed_at);
        fig.dns_removal.push(removed);
        if i == 0 {
            let now = dns_answers(&lab.frontal, Ipv4Addr::new(172, 20, 0, 80), 4);
            verdict(
                out,
                &format!(
                    "9. {}'s DNS stopped: queries move to {other}",
                    serving.to_uppercase()
                ),
                removed.is_some() && now.iter().all(|n| n == other),
                format!("removed after {}; then {}", secs(removed), now.join(" ")),
            );
        }
        r.dns[idx].set(start_dns(host, name));
        let back = wait_until(Duration::from_secs(60), || {
            real_servers(&lab.node01, &dns_key()).contains(&gone)
        });
        fig.dns_readd.push(back);
        println!(
            "  DNS backend killed {}/{} ({}): removed after {} (NODE01's checks at {seen}); re-added after {}",
            i + 1,
            repeats.max(1),
            ms_after(check, killed_at),
            secs(removed),
            secs(back)
        );
    }
}

fn neigh_mac(ns: &Netns) -> String {
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
fn settled_master_advert(adverts: Option<&Watch>, timeout: Duration) -> Option<Seen> {
    let w = adverts?;
    let deadline = Instant::now() + timeout;
    let mut backup_last = w
        .drain()
        .iter()
        .rev()
        .find(|s| s.src == NODE02)
        .map(|s| s.at);
    loop {
        let left = deadline.checked_duration_since(Instant::now())?;
        let s = w.next(left)?;
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

fn link_cut(r: &Running, repeats: usize, out: &mut Vec<Verdict>, fig: &mut Figures) {
    let lab = &r.lab;
    let adverts = watch_or_note(&lab.frontal, Filter::Vrrp, "VRRP");
    let switch = match LinkSwitch::open(&lab.node01, LAB_IFACE) {
        Ok(s) => Some(s),
        Err(e) => {
            println!("  (link switch in NODE01: {e}; cutting with `ip link`)");
            None
        }
    };
    let set_link = |up: bool| match switch.as_ref().map(|s| s.set(up)) {
        Some(Ok(())) => {}
        Some(Err(e)) => {
            println!("  (link switch: {e}; cutting with `ip link`)");
            lab.lan.set_link(&lab.node01, up);
        }
        None => lab.lan.set_link(&lab.node01, up),
    };
    for i in 0..repeats.max(1) {
        let prober = Prober::start(&lab.frontal);
        std::thread::sleep(Duration::from_millis(500));
        let advert = settled_master_advert(adverts.as_ref(), Duration::from_secs(10));
        if let Some(a) = advert {
            sleep_until(a.at + ALIGN_DELAY);
        }
        let cut_at = Instant::now();
        set_link(false);
        let took = wait_until(Duration::from_secs(30), || holds_vip(&lab.node02));
        // Keep probing until the client is served again, then a little more.
        let served = wait_until(Duration::from_secs(30), || {
            matches!(
                gets(&lab.frontal, 1).first().map(String::as_str),
                Some("www1" | "www2")
            )
        });
        std::thread::sleep(Duration::from_millis(300));
        let samples = prober.finish();
        let outage = longest_outage(&samples);
        let first_backup = adverts
            .as_ref()
            .map(Watch::drain)
            .unwrap_or_default()
            .into_iter()
            .find(|s| s.src == NODE02 && s.at > cut_at);
        let gap = match (advert, first_backup) {
            (Some(a), Some(b)) => Some(b.at.duration_since(a.at)),
            _ => None,
        };
        fig.link_cut_outage.push(served.map(|_| outage));
        fig.link_cut_advert_gap.push(gap);
        if i == 0 {
            verdict(
                out,
                "7. NODE01 cut off: NODE02 takes over",
                took.is_some() && served.is_some(),
                format!(
                    "NODE02 holds the VIP after {}; client outage {:.2}s ({} failed requests)",
                    secs(took),
                    outage.as_secs_f64(),
                    failed(&samples)
                ),
            );
            let mac = neigh_mac(&lab.frontal);
            let node02 = lab.node02.mac(LAB_IFACE);
            verdict(
                out,
                "5. no ping needed: FRONTAL's ARP entry for the VIP moved to NODE02 by itself",
                mac.eq_ignore_ascii_case(&node02),
                format!("FRONTAL's entry {mac}, NODE02 {node02}"),
            );
            arp_owner(lab, out, &lab.node02, "NODE02");
        }
        // Heal: NODE01 (priority 100, preempt) takes the VIP back.
        set_link(true);
        let back = wait_until(Duration::from_secs(30), || {
            holds_vip(&lab.node01) && !holds_vip(&lab.node02)
        });
        fig.link_restored_preempt.push(back);
        if i == 0 {
            verdict(
                out,
                "7. NODE01 back: it preempts, one VIP holder",
                back.is_some(),
                format!("after {}", secs(back)),
            );
        }
        // Let the HTTP path settle before the next cut or scenario.
        let _ = wait_until(Duration::from_secs(20), || {
            gets(&lab.frontal, 1)
                .first()
                .is_some_and(|n| n == "www1" || n == "www2")
        });
        println!(
            "  NODE01 link cut {}/{} ({}): client outage {} ({} failed requests); NODE01's last advert -> NODE02's first {}; NODE02 holds the VIP after {}; NODE01 back after {}",
            i + 1,
            repeats.max(1),
            match advert {
                Some(a) => format!(
                    "{} ms after an advert",
                    cut_at.saturating_duration_since(a.at).as_millis()
                ),
                None => "unaligned: no advert seen".to_string(),
            },
            secs(served.map(|_| outage)),
            failed(&samples),
            secs(gap),
            secs(took),
            secs(back)
        );
    }
}

fn sigterm_handover(r: &Running, out: &mut Vec<Verdict>, fig: &mut Figures) {
    let lab = &r.lab;
    let prober = Prober::start(&lab.frontal);
    std::thread::sleep(Duration::from_millis(500));
    let stopped = lab
        .node01
        .signal(r.directors[0].1, libc::SIGTERM, Duration::from_secs(10));
    let took = wait_until(Duration::from_secs(30), || holds_vip(&lab.node02));
    let _ = wait_until(Duration::from_secs(20), || {
        gets(&lab.frontal, 1)
            .first()
            .is_some_and(|n| n == "www1" || n == "www2")
    });
    std::thread::sleep(Duration::from_millis(300));
    let samples = prober.finish();
    let outage = longest_outage(&samples);
    fig.sigterm_outage.push(Some(outage));
    verdict(
        out,
        "7. graceful stop of NODE01's director: priority 0 hands over",
        stopped && took.is_some() && !holds_vip(&lab.node01),
        format!(
            "stopped: {stopped}; NODE02 holds the VIP after {}; NODE01 still holds it: {}; client outage {:.2}s",
            secs(took),
            holds_vip(&lab.node01),
            outage.as_secs_f64()
        ),
    );
}

/// A mixed pair: `kinds[0]` on NODE01, `kinds[1]` on NODE02.
pub fn mixed_run(env: &Env, kinds: [Kind; 2]) -> Vec<Verdict> {
    let mut out = Vec::new();
    let label = format!(
        "{} on NODE01, {} on NODE02",
        kinds[0].name(),
        kinds[1].name()
    );
    println!("\n=== mixed pair: {label}");
    let Some(r) = boot(env, kinds, &mut out) else {
        return out;
    };
    if !converge(&r, &mut out, &label) {
        return out;
    }
    let lab = &r.lab;
    lab.lan.set_link(&lab.node01, false);
    let took = wait_until(Duration::from_secs(30), || holds_vip(&lab.node02));
    let names = gets(&lab.frontal, 2);
    verdict(
        &mut out,
        &format!("mixed ({label}): failover to NODE02"),
        took.is_some() && names.iter().all(|n| n == "www1" || n == "www2"),
        format!(
            "NODE02 holds the VIP after {}; client got {}",
            secs(took),
            names.join(" ")
        ),
    );
    lab.lan.set_link(&lab.node01, true);
    let back = wait_until(Duration::from_secs(30), || {
        holds_vip(&lab.node01) && !holds_vip(&lab.node02)
    });
    verdict(
        &mut out,
        &format!("mixed ({label}): NODE01 preempts back, one holder"),
        back.is_some(),
        format!("after {}", secs(back)),
    );
    out
}

fn secs(d: Option<Duration>) -> String {
    match d {
        Some(d) => format!("{:.2}s", d.as_secs_f64()),
        None => "never (timed out)".to_string(),
    }
}

/// The side-by-side table: ours vs keepalived, the median of each measure's
/// phase-aligned samples, with the ratio of medians (ours / keepalived),
/// then every sample with its min and max.
///
/// These are figures, not verdicts: a speed target is never a pass/fail
/// test here. The samples are aligned (see the module docs) so that the
/// medians compare the implementations rather than the random phase at
/// which a single fault happened to land; the VRRP timing itself is also
/// compared, phase-aligned, by lvs-vrrp's `failover_ratio` example.
pub fn comparison(ours: &Figures, theirs: &Figures) -> String {
    let mut text = String::new();
    text.push_str(&format!(
        "{:<44} {:>10} {:>11} {:>7}\n",
        "measure (median; seconds unless said)", "director", "keepalived", "ratio"
    ));
    // `true`: a target of the issue (no worse than keepalived).
    let durations: [(&str, &Series, &Series, bool); 8] = [
        (
            "client outage, NODE01 link cut",
            &ours.link_cut_outage,
            &theirs.link_cut_outage,
            true,
        ),
        (
            "NODE01's last advert -> NODE02's first",
            &ours.link_cut_advert_gap,
            &theirs.link_cut_advert_gap,
            false,
        ),
        (
            "link restored -> NODE01 sole VIP holder",
            &ours.link_restored_preempt,
            &theirs.link_restored_preempt,
            false,
        ),
        (
            "client outage, NODE01 SIGTERM",
            &ours.sigterm_outage,
            &theirs.sigterm_outage,
            true,
        ),
        (
            "HTTP backend killed -> removed",
            &ours.http_removal,
            &theirs.http_removal,
            true,
        ),
        (
            "HTTP backend restarted -> re-added",
            &ours.http_readd,
            &theirs.http_readd,
            false,
        ),
        (
            "DNS backend killed -> removed",
            &ours.dns_removal,
            &theirs.dns_removal,
            true,
        ),
        (
            "DNS backend restarted -> re-added",
            &ours.dns_readd,
            &theirs.dns_readd,
            false,
        ),
    ];
    for (name, a, b, target) in durations {
        row(&mut text, name, a, b, target);
    }
    let counts = |v: &[usize]| Series::<usize> {
        samples: v.iter().copied().map(Some).collect(),
    };
    row(
        &mut text,
        "failed requests while HTTP backend dead",
        &counts(&ours.http_failed_requests),
        &counts(&theirs.http_failed_requests),
        true,
    );
    let yes_no = |b: Option<bool>| match b {
        Some(true) => "yes",
        Some(false) => "NO",
        None => "-",
    };
    text.push_str(&format!(
        "{:<44} {:>10} {:>11}\n",
        "connection survives failover (sync daemon)",
        yes_no(ours.connection_survived),
        yes_no(theirs.connection_survived)
    ));
    text
}

/// One measure: the medians and their ratio, then each side's samples.
fn row<T: Measure>(text: &mut String, name: &str, a: &Series<T>, b: &Series<T>, target: bool) {
    let show = |v: Option<T>| v.map_or_else(|| "-".to_string(), T::text);
    let (ma, mb) = (a.median(), b.median());
    let r = ratio(ma, mb).map_or_else(|| "-".to_string(), |r| format!("{r:.2}"));
    text.push_str(&format!(
        "{name:<44} {:>10} {:>11} {r:>7}\n",
        show(ma),
        show(mb)
    ));
    for (who, s) in [("director", a), ("keepalived", b)] {
        text.push_str(&format!(
            "    {who:<10} n={}: {}  (min {}, max {})\n",
            s.samples.len(),
            s.samples_text(),
            show(s.min()),
            show(s.max())
        ));
    }
    if target {
        // Compared as printed, so two equal-looking medians read as equal.
        let note = match (ma.map(T::text), mb.map(T::text)) {
            (Some(a), Some(b)) if a == b => "medians equal",
            _ => match (ma, mb) {
                (Some(a), Some(b)) if a < b => "median better than keepalived's",
                (Some(_), Some(_)) => "median WORSE than keepalived's",
                _ => "not measured on both sides",
            },
        };
        text.push_str(&format!("    ({note}; a figure, not a verdict)\n"));
    }
}

/// Established connections across a failover, with the IPVS connection-sync
/// daemon configured (`examples/lab/sync/`): a request begun through NODE01
/// is finished after NODE02 has taken over, on the same TCP connection.
pub fn sync_run(env: &Env, kind: Kind) -> (Vec<Verdict>, Option<bool>) {
    use std::io::{Read, Write};
    let mut out = Vec::new();
    println!(
        "\n=== connection sync: {} on both nodes with lvs_sync_daemon",
        kind.name()
    );
    let env = Env {
        conf_dir: env.conf_dir.join("sync"),
        ..env.clone()
    };
    let Some(r) = boot(&env, [kind, kind], &mut out) else {
        return (out, None);
    };
    let label = format!("{} with sync daemon", kind.name());
    if !converge(&r, &mut out, &label) {
        return (out, None);
    }
    let lab = &r.lab;
    let vip = SocketAddr::new(VIP.into(), 80);
    // Three packets through the master (SYN, ACK, the first request line)
    // reach the kernel's default sync threshold.
    let held = lab
        .frontal
        .enter(|| -> std::io::Result<std::net::TcpStream> {
            let mut s = std::net::TcpStream::connect_timeout(&vip, Duration::from_secs(2))?;
            s.write_all(b"GET / HTTP/1.0\r\n")?;
            Ok(s)
        });
    let mut stream = match held {
        Ok(s) => s,
        Err(e) => {
            verdict(
                &mut out,
                "established TCP connection survives failover",
                false,
                e.to_string(),
            );
            return (out, None);
        }
    };
    // Sync messages are flushed within about two seconds.
    std::thread::sleep(Duration::from_secs(3));
    let synced =
        String::from_utf8_lossy(&lab.node02.try_run(&["cat", "/proc/net/ip_vs_conn"]).stdout)
            .lines()
            .count()
            .saturating_sub(1);
    lab.lan.set_link(&lab.node01, false);
    let took = wait_until(Duration::from_secs(30), || holds_vip(&lab.node02));
    std::thread::sleep(Duration::from_millis(500));
    let mut body = String::new();
    let finished = stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .and_then(|_| stream.write_all(b"Host: lab\r\n\r\n"))
        .and_then(|_| {
            let mut resp = String::new();
            stream.read_to_string(&mut resp)?;
            body = resp
                .split_once("\r\n\r\n")
                .map(|(_, b)| b.trim().to_string())
                .unwrap_or_default();
            Ok(())
        });
    let survived = finished.is_ok() && (body == "www1" || body == "www2");
    verdict(
        &mut out,
        &format!("established TCP connection survives failover ({label})"),
        survived,
        format!(
            "NODE02 held {synced} synced connection(s) before the cut; took over after {}; the held connection then got {:?}",
            secs(took),
            match &finished {
                Ok(()) => body.clone(),
                Err(e) => format!("error: {e}"),
            }
        ),
    );
    lab.lan.set_link(&lab.node01, true);
    (out, Some(survived))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn series(ms: &[u64]) -> Series {
        Series {
            samples: ms.iter().map(|m| Some(Duration::from_millis(*m))).collect(),
        }
    }

    #[test]
    fn comparison_prints_samples_medians_and_ratio_of_medians() {
        let ours = Figures {
            link_cut_outage: series(&[3930, 3640, 3630]),
            http_removal: series(&[4010, 4012]),
            http_failed_requests: vec![88, 98, 87],
            ..Figures::default()
        };
        let theirs = Figures {
            link_cut_outage: series(&[3980, 3670, 3920]),
            http_removal: Series {
                samples: vec![Some(Duration::from_millis(4009)), None],
            },
            http_failed_requests: vec![100, 100, 101],
            ..Figures::default()
        };
        let t = comparison(&ours, &theirs);
        let line = |start: &str| {
            t.lines()
                .find(|l| l.starts_with(start))
                .unwrap_or_else(|| panic!("no line {start:?} in\n{t}"))
                .split_whitespace()
                .collect::<Vec<_>>()
        };
        // Medians 3.64 / 3.92, ratio 0.93.
        let outage = line("client outage, NODE01 link cut");
        assert_eq!(outage[outage.len() - 3..], ["3.64", "3.92", "0.93"]);
        assert!(t.contains("    director   n=3: 3.93 3.64 3.63  (min 3.63, max 3.93)"));
        assert!(t.contains("median better than keepalived's"));
        // 4.011 vs 4.009 print alike: equal, not worse; a timeout shows as such.
        assert!(t.contains("keepalived n=2: 4.01 never  (min 4.01, max 4.01)"));
        assert!(t.contains("medians equal"));
        let failed = line("failed requests while HTTP backend dead");
        assert_eq!(failed[failed.len() - 3..], ["88", "100", "0.88"]);
        // Not measured: a dash, no ratio.
        let sigterm = line("client outage, NODE01 SIGTERM");
        assert_eq!(sigterm[sigterm.len() - 3..], ["-", "-", "-"]);
    }
}
