//! The whole seed lab with real directors: `director` (ours) or Debian's
//! keepalived on NODE01/NODE02 with the lab's configs, `backend` on the
//! backends, and every LAB.md item checked from the client, with the
//! outage and detection times measured at the client.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::os::fd::AsRawFd;
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
use super::topology::{SeedLab, VIP, start_dns, start_http};

/// Which program directs: ours or the reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// `director` from this repository.
    Ours,
    /// Debian's keepalived.
    Keepalived,
}

impl Kind {
    /// Short name for logs and tables.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Ours => "director",
            Kind::Keepalived => "keepalived",
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
        }
    }

    fn bin(&self, name: &str) -> String {
        self.bin_dir.join(name).display().to_string()
    }
}

/// Figures measured in one run, for the side-by-side table.
#[derive(Debug, Clone, Default)]
pub struct Figures {
    /// Client-visible outage when NODE01's link is cut.
    pub link_cut_outage: Option<Duration>,
    /// Client-visible outage when NODE01's director is stopped (SIGTERM).
    pub sigterm_outage: Option<Duration>,
    /// From killing WWW2's HTTP server to its removal from IPVS.
    pub http_removal: Option<Duration>,
    /// Failed client requests (one every 20 ms) in that time.
    pub http_failed_requests: usize,
    /// From restarting it to its return to IPVS.
    pub http_readd: Option<Duration>,
    /// From stopping a backend's DNS server to its removal from IPVS.
    pub dns_removal: Option<Duration>,
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
    let Ok(mut ipvs) = IpvsHandle::open_in_netns(host.path()) else {
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
    /// One `GET /` to the VIP every 20 ms, each with a 300 ms deadline.
    fn start(ns: &Netns) -> Prober {
        let file = ns.file();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let handle = std::thread::spawn(move || {
            // SAFETY: setns on a valid namespace fd changes only this thread.
            let rc = unsafe { libc::setns(file.as_raw_fd(), libc::CLONE_NEWNET) };
            if rc != 0 {
                return Vec::new();
            }
            let vip = SocketAddr::new(VIP.into(), 80);
            probe_until(
                vip,
                Duration::from_millis(20),
                Duration::from_millis(300),
                &flag,
            )
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
    http: [u32; 2],
    dns: [u32; 2],
}

fn start_director(env: &Env, host: &Netns, node: &str, kind: Kind) -> u32 {
    let conf = env.conf_dir.join(format!("{node}.conf"));
    let conf = conf.display().to_string();
    let log = env.out_dir.join(format!("{}-{node}.log", kind.name()));
    match kind {
        Kind::Ours => host.spawn_logged(&[&env.bin("director"), "-f", &conf], &log),
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
        http,
        dns: dnsp,
    })
}

fn converge(r: &Running, out: &mut Vec<Verdict>, what: &str) -> bool {
    let lab = &r.lab;
    let full = |host: &Netns| {
        real_servers(host, &http_key()).len() == 2 && real_servers(host, &dns_key()).len() == 2
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
    http_backend_flap(&r, &mut out, &mut fig);

    // 9. The DNS backend serving FRONTAL stops: queries move.
    if let Some(first) = a.first() {
        dns_backend_stop(&r, &mut out, &mut fig, first);
    }

    // 7. NODE01 cut off: NODE02 takes over; 5. the client's ARP entry moves
    // by gratuitous ARP, without a ping.
    link_cut(&r, &mut out, &mut fig);

    // Graceful stop: priority 0 hands over at once.
    sigterm_handover(&r, &mut out, &mut fig);
    (out, fig)
}

fn arp_owner(lab: &SeedLab, out: &mut Vec<Verdict>, owner: &Netns, owner_name: &str) {
    let ns = match lvs_arpguard::Namespace::open(lab.frontal.path()) {
        Ok(ns) => ns,
        Err(e) => {
            verdict(
                out,
                "3. ARP for the VIP answered by the master only",
                false,
                e.to_string(),
            );
            return;
        }
    };
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
    match lvs_arpguard::probe::probe(&ns, LAB_IFACE, VIP, &opts) {
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
    let found = lvs_arpguard::Namespace::open(lab.node01.path()).and_then(|ns| {
        ns.run(|| {
            let mut rtnl = lvs_arpguard::Rtnl::open(&lvs_arpguard::Namespace::Current)?;
            lvs_arpguard::audit::audit_ghosts(&mut rtnl, &spec)
        })
    });
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

fn http_backend_flap(r: &Running, out: &mut Vec<Verdict>, fig: &mut Figures) {
    let lab = &r.lab;
    let www2 = addr("172.20.0.86:80");
    let prober = Prober::start(&lab.frontal);
    std::thread::sleep(Duration::from_millis(200));
    lab.www2.kill(r.http[1]);
    let removed = wait_until(Duration::from_secs(60), || {
        !real_servers(&lab.node01, &http_key()).contains(&www2)
    });
    let samples = prober.finish();
    fig.http_removal = removed;
    fig.http_failed_requests = failed(&samples);
    let after = gets(&lab.frontal, 4);
    verdict(
        out,
        "8. WWW2's HTTP stopped: removed, traffic all on WWW1",
        removed.is_some() && after.iter().all(|n| n == "www1"),
        format!(
            "removed after {}, {} of {} client requests failed meanwhile; then {}",
            secs(removed),
            fig.http_failed_requests,
            samples.len(),
            after.join(" ")
        ),
    );
    let _ = start_http(&lab.www2, "www2", "0.0.0.0:80");
    let back = wait_until(Duration::from_secs(60), || {
        real_servers(&lab.node01, &http_key()).contains(&www2)
    });
    fig.http_readd = back;
    let names = gets(&lab.frontal, 4);
    verdict(
        out,
        "8. WWW2's HTTP restarted: re-added",
        back.is_some() && names.iter().any(|n| n == "www2"),
        format!("re-added after {}; then {}", secs(back), names.join(" ")),
    );
}

fn dns_backend_stop(r: &Running, out: &mut Vec<Verdict>, fig: &mut Figures, serving: &str) {
    let lab = &r.lab;
    let (idx, host, ip) = if serving == "www1" {
        (0, &lab.www1, "172.20.0.85:53")
    } else {
        (1, &lab.www2, "172.20.0.86:53")
    };
    let gone = addr(ip);
    host.kill(r.dns[idx]);
    let removed = wait_until(Duration::from_secs(60), || {
        !real_servers(&lab.node01, &dns_key()).contains(&gone)
    });
    fig.dns_removal = removed;
    let now = dns_answers(&lab.frontal, Ipv4Addr::new(172, 20, 0, 80), 4);
    let other = if serving == "www1" { "www2" } else { "www1" };
    verdict(
        out,
        &format!(
            "9. {}'s DNS stopped: queries move to {other}",
            serving.to_uppercase()
        ),
        removed.is_some() && now.iter().all(|n| n == other),
        format!("removed after {}; then {}", secs(removed), now.join(" ")),
    );
    let name = if idx == 0 { "www1" } else { "www2" };
    let _ = start_dns(host, name);
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

fn link_cut(r: &Running, out: &mut Vec<Verdict>, fig: &mut Figures) {
    let lab = &r.lab;
    let prober = Prober::start(&lab.frontal);
    std::thread::sleep(Duration::from_millis(500));
    lab.lan.set_link(&lab.node01, false);
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
    fig.link_cut_outage = Some(outage);
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
    // Heal: NODE01 (priority 100, preempt) takes the VIP back.
    lab.lan.set_link(&lab.node01, true);
    let back = wait_until(Duration::from_secs(30), || {
        holds_vip(&lab.node01) && !holds_vip(&lab.node02)
    });
    verdict(
        out,
        "7. NODE01 back: it preempts, one VIP holder",
        back.is_some(),
        format!("after {}", secs(back)),
    );
    // Let the HTTP path settle before the next scenario.
    let _ = wait_until(Duration::from_secs(20), || {
        gets(&lab.frontal, 1)
            .first()
            .is_some_and(|n| n == "www1" || n == "www2")
    });
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
    fig.sigterm_outage = Some(outage);
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

/// The side-by-side table: ours vs keepalived, with ratios (ours / keepalived).
///
/// These are figures, not verdicts: a speed target is never a pass/fail
/// test here. One sample each cannot decide them either — a link cut lands
/// at a random phase of the advert interval (up to 1 s of difference in
/// the outage), a killed backend at a random phase of `delay_loop`. The
/// VRRP timing itself is compared, phase-aligned, by lvs-vrrp's
/// `failover_ratio` example.
pub fn comparison(ours: &Figures, theirs: &Figures) -> String {
    let mut text = String::new();
    text.push_str(&format!(
        "{:<44} {:>10} {:>11} {:>7}\n",
        "measure", "director", "keepalived", "ratio"
    ));
    // `true`: a target of the issue (no worse than keepalived).
    let rows: [(&str, Option<Duration>, Option<Duration>, bool); 5] = [
        (
            "client outage, NODE01 link cut",
            ours.link_cut_outage,
            theirs.link_cut_outage,
            true,
        ),
        (
            "client outage, NODE01 SIGTERM",
            ours.sigterm_outage,
            theirs.sigterm_outage,
            true,
        ),
        (
            "HTTP backend killed -> removed",
            ours.http_removal,
            theirs.http_removal,
            true,
        ),
        (
            "HTTP backend restarted -> re-added",
            ours.http_readd,
            theirs.http_readd,
            false,
        ),
        (
            "DNS backend stopped -> removed",
            ours.dns_removal,
            theirs.dns_removal,
            false,
        ),
    ];
    let yes_no = |b: Option<bool>| match b {
        Some(true) => "yes",
        Some(false) => "NO",
        None => "-",
    };
    for (name, a, b, gate) in rows {
        let ratio = match (a, b) {
            (Some(a), Some(b)) if !b.is_zero() => {
                format!("{:.2}", a.as_secs_f64() / b.as_secs_f64())
            }
            _ => "-".into(),
        };
        text.push_str(&format!(
            "{name:<44} {:>10} {:>11} {ratio:>7}\n",
            secs(a),
            secs(b)
        ));
        if gate {
            let verdict = match (a, b) {
                (Some(a), Some(b)) if a <= b => "not slower than keepalived in this sample",
                (Some(_), Some(_)) => "slower than keepalived in this sample",
                _ => "not measured on both sides",
            };
            text.push_str(&format!("{:<44} ({verdict})\n", ""));
        }
    }
    text.push_str(&format!(
        "{:<44} {:>10} {:>11}\n",
        "connection survives failover (sync daemon)",
        yes_no(ours.connection_survived),
        yes_no(theirs.connection_survived)
    ));
    text.push_str(&format!(
        "{:<44} {:>10} {:>11}\n",
        "failed requests while HTTP backend dead",
        ours.http_failed_requests,
        theirs.http_failed_requests
    ));
    text
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
