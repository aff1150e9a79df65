//! The lab's `ecmp` part (issue 13): three active-active directors behind
//! one router that spreads flows over them by ECMP.
//!
//! ```text
//!  CLIENT 198.51.100.2 ── ens19 ROUTER 10.0.0.1 (FRR: bgpd maximum-paths, bfdd)
//!                                   │ ens18 (one L2 segment, the DR segment)
//!          ┌──────────────┬─────────┴────┬──────────────┬───────────┐
//!   DIR1 10.0.0.11  DIR2 10.0.0.12  DIR3 10.0.0.13   www1..3 10.0.0.21..23
//!   director + FRR, each its own AS, announcing 203.0.113.10/32 from table 198
//! ```
//!
//! Each director runs `director` with `examples/ecmp/director.conf` (plus
//! item 6's two comparison services, `compare_services`) and FRR
//! with the config [`director_frr`] writes (DIR1's is
//! `examples/ecmp/frr-director.conf`); the router runs [`router_frr`]
//! (`examples/ecmp/frr-router.conf`). The backends are DR real servers (the
//! `backend` preparer, the lab's HTTP server) whose replies go to the
//! client through the router, never through a director. Every item asserts
//! on figures measured at the client, in the router's routing table
//! ([`RouteWatch`]) or in each director's IPVS counters.

use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::os::fd::AsFd;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use lvs_ipvs::{IpvsHandle, ServiceKey, Stats};
use lvs_testenv::{LAB_IFACE, Lan, Netns};

use super::frr::Frr;
use super::harness::{Env, Prober, failed, secs, verdict, wait_until};
use super::held::{Held, errors, finish, hold, ok_count};
use super::probe::{Reply, longest_outage};
use super::routewatch::{RouteChange, RouteWatch};
use super::seed::Verdict;
use super::topology::start_http;

/// The service address the directors announce.
pub const VIP: Ipv4Addr = Ipv4Addr::new(203, 0, 113, 10);
const PORT: u16 = 80;
const CLIENT: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 2);
const ROUTER_UP: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 1);
const ROUTER: Ipv4Addr = Ipv4Addr::new(10, 0, 0, 1);
const ROUTER_AS: u32 = 65000;
/// The router's interface towards the client.
const UPLINK: &str = "ens19";
const DIRS: [Ipv4Addr; 3] = [
    Ipv4Addr::new(10, 0, 0, 11),
    Ipv4Addr::new(10, 0, 0, 12),
    Ipv4Addr::new(10, 0, 0, 13),
];
const BACKENDS: [(&str, Ipv4Addr); 3] = [
    ("www1", Ipv4Addr::new(10, 0, 0, 21)),
    ("www2", Ipv4Addr::new(10, 0, 0, 22)),
    ("www3", Ipv4Addr::new(10, 0, 0, 23)),
];
/// The announced routes' table (the config's `lvs_route_announce`).
const TABLE: u32 = 198;
const MAIN_TABLE: u32 = 254;
/// BFD intervals (ms), transmit and receive, detect multiplier 3, unless
/// `LAB_ECMP_BFD_MS` says otherwise. 200 ms: under the VM's software
/// emulation 100 ms sessions went down falsely (a director's bfdd missed
/// three packets while the lab's probes kept the CPU busy), and 300 ms × 3
/// (0.9 s) leaves the route update too little of the 1 s target (1.02 s
/// in one run of four).
const BFD_MS: u32 = 200;

fn bfd_ms() -> u32 {
    std::env::var("LAB_ECMP_BFD_MS")
        .ok()
        .and_then(|v| v.parse().ok())
        .filter(|ms| *ms >= 10)
        .unwrap_or(BFD_MS)
}
/// Random 5-tuples asked of the router for the spread.
const FLOWS: usize = 10_000;
/// Held connections per item that holds some.
const HELD: usize = 60;

/// FRR's config for director `i` (0-based): `examples/ecmp/frr-director.conf` for DIR1.
pub fn director_frr(i: usize, bfd_ms: u32) -> String {
    format!(
        "frr defaults datacenter
hostname dir{n}
ip import-table {TABLE}
router bgp {asn}
 bgp router-id {id}
 no bgp ebgp-requires-policy
 neighbor {ROUTER} remote-as {ROUTER_AS}
 neighbor {ROUTER} bfd
 neighbor {ROUTER} bfd profile fast
 address-family ipv4 unicast
  redistribute table {TABLE}
  neighbor {ROUTER} route-map NONE in
 exit-address-family
route-map NONE deny 10
{bfd}",
        n = i + 1,
        asn = ROUTER_AS + 1 + i as u32,
        id = DIRS[i],
        bfd = bfd_profile(bfd_ms),
    )
}

/// FRR's config for the router: `examples/ecmp/frr-router.conf`.
pub fn router_frr(bfd_ms: u32) -> String {
    let mut neighbors = String::new();
    for (i, d) in DIRS.iter().enumerate() {
        neighbors.push_str(&format!(
            " neighbor {d} remote-as {}\n neighbor {d} bfd\n neighbor {d} bfd profile fast\n",
            ROUTER_AS + 1 + i as u32
        ));
    }
    format!(
        "frr defaults datacenter
hostname router
router bgp {ROUTER_AS}
 bgp router-id {ROUTER}
 no bgp ebgp-requires-policy
 bgp bestpath as-path multipath-relax
{neighbors} address-family ipv4 unicast
  maximum-paths 8
 exit-address-family
{bfd}",
        bfd = bfd_profile(bfd_ms),
    )
}

/// No top-level `exit` anywhere: each daemon reads the whole file, and in
/// bfdd (which knows no `router bgp`) an `exit` there leaves configuration
/// mode, so the `bfd` block after it was refused and BFD ran at its
/// default 300 ms.
fn bfd_profile(ms: u32) -> String {
    format!(
        "bfd
 profile fast
  receive-interval {ms}
  transmit-interval {ms}
  detect-multiplier 3
"
    )
}

/// A small xorshift generator: the lab needs spread, not cryptography.
struct Rng(u64);

impl Rng {
    fn seeded() -> Rng {
        let t = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0x9e37_79b9_7f4a_7c15);
        Rng(t | 1)
    }
    fn next(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }
}

fn service_key() -> ServiceKey {
    ServiceKey::tcp(SocketAddr::new(VIP.into(), PORT))
}

/// A backend host: its HTTP server on port 80 and on [`COMPARE_PORTS`].
struct Backend {
    host: Arc<Netns>,
    pid: u32,
    compare: [u32; 2],
}

/// Item 6's services, appended to the shipped config for the lab: `mh`
/// hashing the source address only (so one client address keeps its
/// backend across connections) and `rr`, on the same three real servers.
const COMPARE_PORTS: [u16; 2] = [8080, 8081];
/// Client addresses (flows) for item 6.
const COMPARE_FLOWS: u8 = 200;

fn compare_services() -> String {
    let mut out = String::from("# Lab only (item 6): mh without mh-port beside rr.\n");
    for (port, algo) in COMPARE_PORTS.iter().zip(["mh\n    mh-fallback", "rr"]) {
        out.push_str(&format!(
            "virtual_server {VIP} {port} {{\n    delay_loop 1\n    lb_algo {algo}\n    lb_kind DR\n    protocol TCP\n"
        ));
        for (_, ip) in BACKENDS {
            out.push_str(&format!(
                "    real_server {ip} {port} {{\n        inhibit_on_failure\n        TCP_CHECK {{\n            connect_timeout 1\n            retry 0\n        }}\n    }}\n"
            ));
        }
        out.push_str("}\n");
    }
    out
}

/// One director host and what runs on it.
struct Director {
    host: Arc<Netns>,
    frr: Option<Frr>,
    pid: Option<u32>,
    /// Its table-198 route.
    announced: RouteWatch,
}

/// The topology and its processes.
struct EcmpLab {
    _lan: Lan,
    client: Arc<Netns>,
    router: Arc<Netns>,
    router_frr: Option<Frr>,
    /// The router's route to the VIP.
    paths: RouteWatch,
    dirs: Vec<Director>,
    backends: Vec<Backend>,
    frr_base: PathBuf,
    conf: PathBuf,
}

fn ipv4_forwarding(host: &Netns) {
    for s in [
        "net.ipv4.ip_forward=1",
        "net.ipv4.fib_multipath_hash_policy=1",
        "net.ipv4.conf.all.rp_filter=0",
        "net.ipv4.conf.default.rp_filter=0",
    ] {
        host.run(&["sysctl", "-qw", s]);
    }
}

impl EcmpLab {
    fn build(env: &Env) -> Result<EcmpLab, String> {
        let lan = Lan::new("ecmp");
        let router = lan.add_host("ecmprt", &[&format!("{ROUTER}/24")]);
        let client = Arc::new(Netns::new("ecmpcl"));
        router.run(&[
            "ip",
            "link",
            "add",
            UPLINK,
            "type",
            "veth",
            "peer",
            "name",
            LAB_IFACE,
            "netns",
            client.name(),
        ]);
        router.run(&[
            "ip",
            "addr",
            "add",
            &format!("{ROUTER_UP}/24"),
            "dev",
            UPLINK,
        ]);
        router.run(&["ip", "link", "set", UPLINK, "up"]);
        client.run(&[
            "ip",
            "addr",
            "add",
            &format!("{CLIENT}/24"),
            "dev",
            LAB_IFACE,
        ]);
        client.run(&["ip", "link", "set", LAB_IFACE, "up"]);
        client.run(&[
            "ip",
            "route",
            "add",
            "default",
            "via",
            &ROUTER_UP.to_string(),
        ]);
        ipv4_forwarding(&router);
        let mut backends = Vec::new();
        for (name, ip) in BACKENDS {
            let host = lan.add_host(&format!("ecmp{name}"), &[&format!("{ip}/24")]);
            host.run(&["ip", "route", "add", "default", "via", &ROUTER.to_string()]);
            let out = host.try_run(&[
                &env.bin_dir.join("backend").display().to_string(),
                "--vip",
                &VIP.to_string(),
            ]);
            if !out.status.success() {
                return Err(format!(
                    "backend on {name}: {}{}",
                    String::from_utf8_lossy(&out.stdout),
                    String::from_utf8_lossy(&out.stderr)
                ));
            }
            let pid = start_http(&host, name, "0.0.0.0:80");
            let compare = COMPARE_PORTS.map(|p| start_http(&host, name, &format!("0.0.0.0:{p}")));
            backends.push(Backend { host, pid, compare });
        }
        let frr_base = std::env::temp_dir().join("lab-frr");
        let paths = RouteWatch::start(&router, VIP, MAIN_TABLE)?;
        let router_frr = Some(Frr::start(
            &router,
            &frr_base,
            &env.out_dir,
            &router_frr(bfd_ms()),
        )?);
        let mut dirs = Vec::new();
        for (i, ip) in DIRS.iter().enumerate() {
            let host = lan.add_host(&format!("ecmpd{}", i + 1), &[&format!("{ip}/24")]);
            let announced = RouteWatch::start(&host, VIP, TABLE)?;
            dirs.push(Director {
                host,
                frr: None,
                pid: None,
                announced,
            });
        }
        // The shipped config plus item 6's two comparison services.
        let sample = env.conf_dir.join("../ecmp/director.conf");
        let text =
            std::fs::read_to_string(&sample).map_err(|e| format!("{}: {e}", sample.display()))?;
        let conf = env.out_dir.join("ecmp-director.conf");
        std::fs::write(&conf, format!("{text}\n{}", compare_services()))
            .map_err(|e| format!("{}: {e}", conf.display()))?;
        let mut lab = EcmpLab {
            _lan: lan,
            client,
            router,
            router_frr,
            paths,
            dirs,
            backends,
            frr_base,
            conf,
        };
        // In parallel: one instance takes ~8 s to start under emulation.
        let started: Vec<Result<Frr, String>> = std::thread::scope(|s| {
            let threads: Vec<_> = lab
                .dirs
                .iter()
                .enumerate()
                .map(|(i, d)| {
                    let (host, base, logs) = (&d.host, &lab.frr_base, &env.out_dir);
                    s.spawn(move || Frr::start(host, base, logs, &director_frr(i, bfd_ms())))
                })
                .collect();
            threads
                .into_iter()
                .map(|t| {
                    t.join()
                        .unwrap_or_else(|_| Err("FRR start panicked".into()))
                })
                .collect()
        });
        for (d, f) in lab.dirs.iter_mut().zip(started) {
            d.frr = Some(f?);
        }
        Ok(lab)
    }

    fn start_frr(&mut self, i: usize, env: &Env) -> Result<(), String> {
        let d = &mut self.dirs[i];
        d.frr = Some(Frr::start(
            &d.host,
            &self.frr_base,
            &env.out_dir,
            &director_frr(i, bfd_ms()),
        )?);
        Ok(())
    }

    fn start_director(&mut self, i: usize, env: &Env) {
        let d = &mut self.dirs[i];
        let log = env.out_dir.join(format!("ecmp-director{}.log", i + 1));
        let conf = self.conf.display().to_string();
        let bin = env.bin_dir.join("director").display().to_string();
        d.pid = Some(d.host.spawn_logged(&[&bin, "-f", &conf], &log));
    }

    /// The router's current next hops to the VIP.
    fn router_paths(&self) -> Vec<Ipv4Addr> {
        let out = self
            .router
            .try_run(&["ip", "-4", "route", "show", &format!("{VIP}/32")]);
        vias(&String::from_utf8_lossy(&out.stdout))
    }

    /// Whether the router's BGP has every director's session established.
    fn bgp_established(&self) -> bool {
        let Some(frr) = &self.router_frr else {
            return false;
        };
        let text = frr.vtysh("show bgp ipv4 unicast summary");
        // Established sessions show a prefix count where others show a state.
        DIRS.iter().all(|d| {
            text.lines().any(|l| {
                let first = l.split_whitespace().next().unwrap_or("");
                // `10.0.0.11`, or `dir1(10.0.0.11)` once the peer sent its hostname.
                (first == d.to_string() || first.ends_with(&format!("({d})")))
                    && l.split_whitespace()
                        .nth(9)
                        .is_some_and(|w| w.parse::<u32>().is_ok())
            })
        })
    }

    fn client_flows(&self, held: &[Held]) -> Vec<Option<Ipv4Addr>> {
        let mut batch = String::new();
        for h in held {
            batch.push_str(&format!(
                "route get {VIP} from {CLIENT} iif {UPLINK} ipproto tcp sport {} dport {PORT}\n",
                h.sport
            ));
        }
        let out = ip_batch(&self.router, &batch, "ecmp-held");
        // One answer per line asked, in order; each names one `via`.
        let v = vias(&out);
        (0..held.len()).map(|i| v.get(i).copied()).collect()
    }

    /// Silences director `i` as a host crash would (everything in and out
    /// dropped), then SIGKILLs its director and FRR.
    fn crash(&mut self, i: usize) -> Instant {
        let d = &mut self.dirs[i];
        let rules = "table inet crash {
 chain in { type filter hook input priority -400; policy drop; }
 chain out { type filter hook output priority -400; policy drop; }
}
";
        let path = std::env::temp_dir().join(format!("{}-crash.nft", d.host.name()));
        let _ = std::fs::write(&path, rules);
        // The rules hold from just before nft exits (starting it costs up
        // to 1.5 s under emulation): time the fault from its return.
        let _ = d.host.try_run(&["nft", "-f", &path.display().to_string()]);
        let at = Instant::now();
        if let Some(pid) = d.pid.take() {
            d.host.kill(pid);
        }
        if let Some(frr) = d.frr.take() {
            frr.kill();
        }
        at
    }

    fn uncrash(&mut self, i: usize) {
        let _ = self.dirs[i]
            .host
            .try_run(&["nft", "delete", "table", "inet", "crash"]);
    }

    fn stats(&self) -> Vec<Stats> {
        self.dirs
            .iter()
            .map(|d| {
                IpvsHandle::open_in_netns(d.host.as_fd())
                    .and_then(|mut h| h.service(&service_key()))
                    .map(|e| e.stats)
                    .unwrap_or_default()
            })
            .collect()
    }
}

impl Drop for EcmpLab {
    fn drop(&mut self) {
        for d in &mut self.dirs {
            if let Some(pid) = d.pid.take() {
                d.host.signal(pid, libc::SIGTERM, Duration::from_secs(5));
            }
            d.frr = None;
        }
        self.router_frr = None;
        for b in &self.backends {
            for pid in std::iter::once(b.pid).chain(b.compare) {
                b.host.kill(pid);
            }
        }
    }
}

/// The `via` addresses in `ip route` output, in order.
fn vias(text: &str) -> Vec<Ipv4Addr> {
    let words: Vec<&str> = text.split_whitespace().collect();
    words
        .windows(2)
        .filter(|w| w[0] == "via")
        .filter_map(|w| w[1].parse().ok())
        .collect()
}

/// Runs `batch` (one `ip` command per line) in `host` with `ip -force -batch`.
fn ip_batch(host: &Netns, batch: &str, name: &str) -> String {
    let path = std::env::temp_dir().join(format!("{}-{name}.batch", host.name()));
    if std::fs::write(&path, batch).is_err() {
        return String::new();
    }
    let out = host.try_run(&["ip", "-force", "-batch", &path.display().to_string()]);
    let _ = std::fs::remove_file(&path);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn names(hosts: &[Ipv4Addr]) -> String {
    let mut v: Vec<String> = hosts
        .iter()
        .map(|h| match DIRS.iter().position(|d| d == h) {
            Some(i) => format!("DIR{}", i + 1),
            None => h.to_string(),
        })
        .collect();
    v.sort();
    v.join(",")
}

fn has_all(c: &RouteChange, want: &[Ipv4Addr]) -> bool {
    !c.removed && want.iter().all(|d| c.gateways.contains(d)) && c.gateways.len() == want.len()
}

/// The whole ECMP part.
pub fn ecmp_run(env: &Env) -> Vec<Verdict> {
    let mut out = Vec::new();
    println!(
        "\n=== ECMP: three active-active directors behind one router (FRR, BFD {} ms x 3)",
        bfd_ms()
    );
    let mut lab = match EcmpLab::build(env) {
        Ok(l) => l,
        Err(e) => {
            verdict(&mut out, "ECMP lab set up", false, e);
            return out;
        }
    };
    let bgp = wait_until(Duration::from_secs(60), || lab.bgp_established());
    if bgp.is_none() {
        let text = lab
            .router_frr
            .as_ref()
            .map(|f| f.vtysh("show bgp ipv4 unicast summary"))
            .unwrap_or_default();
        verdict(
            &mut out,
            "ECMP lab set up: BGP sessions established",
            false,
            format!("not within 60s: {}", text.replace('\n', " | ")),
        );
        return out;
    }
    println!("  BGP sessions established after {}", secs(bgp));
    for i in 0..DIRS.len() {
        lab.start_director(i, env);
    }
    announced_paths(&lab, &mut out);
    spread(&lab, &mut out);
    traffic(&lab, &mut out);
    checks_fail_on_one(&lab, &mut out);
    drain(&mut lab, env, &mut out);
    crash_and_rejoin(&mut lab, env, &mut out);
    remap(&lab, &mut out);
    out
}

/// Which backend answered one GET from each client address, on `port`.
fn answers_by_source(client: &Netns, port: u16) -> Vec<Option<String>> {
    client.enter(|| {
        (0..COMPARE_FLOWS)
            .map(|i| {
                let src = SocketAddr::new(Ipv4Addr::new(198, 51, 100, 10 + i).into(), 0);
                let dst = SocketAddr::new(VIP.into(), port);
                let s = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)
                    .ok()?;
                s.bind(&src.into()).ok()?;
                s.connect_timeout(&dst.into(), Duration::from_secs(2))
                    .ok()?;
                let mut s: TcpStream = s.into();
                s.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
                s.write_all(b"GET / HTTP/1.0\r\n\r\n").ok()?;
                let mut resp = String::new();
                s.read_to_string(&mut resp).ok()?;
                resp.split_once("\r\n\r\n")
                    .map(|(_, b)| b.trim().to_string())
            })
            .collect()
    })
}

/// Item 6: www3 fails; with `mh` + `mh-fallback` (weight 0 kept) only its
/// flows move, with `rr` every new connection is scheduled anew.
fn remap(lab: &EcmpLab, out: &mut Vec<Verdict>) {
    let mut batch = String::new();
    for i in 0..COMPARE_FLOWS {
        batch.push_str(&format!(
            "addr add 198.51.100.{}/24 dev {LAB_IFACE}\n",
            10 + i
        ));
    }
    let _ = ip_batch(&lab.client, &batch, "addrs");
    let before: Vec<_> = COMPARE_PORTS
        .iter()
        .map(|p| answers_by_source(&lab.client, *p))
        .collect();
    let www3 = &lab.backends[2];
    for pid in www3.compare {
        www3.host.kill(pid);
    }
    let dead = |port: u16| SocketAddr::new(BACKENDS[2].1.into(), port);
    let inhibited = wait_until(Duration::from_secs(20), || {
        lab.dirs.iter().all(|d| {
            COMPARE_PORTS.iter().all(|p| {
                let key = ServiceKey::tcp(SocketAddr::new(VIP.into(), *p));
                IpvsHandle::open_in_netns(d.host.as_fd())
                    .and_then(|mut h| h.destinations(&key))
                    .is_ok_and(|v| {
                        v.iter()
                            .any(|e| e.dest.addr == dead(*p) && e.dest.weight == 0)
                    })
            })
        })
    });
    let after: Vec<_> = COMPARE_PORTS
        .iter()
        .map(|p| answers_by_source(&lab.client, *p))
        .collect();
    let n = usize::from(COMPARE_FLOWS);
    let stats = |b: &[Option<String>], a: &[Option<String>]| {
        let answered = b
            .iter()
            .zip(a)
            .filter(|(x, y)| x.is_some() && y.is_some())
            .count();
        let moved = b
            .iter()
            .zip(a)
            .filter(|(x, y)| x.is_some() && y.is_some() && x != y)
            .count();
        let on_www3 = b.iter().filter(|x| x.as_deref() == Some("www3")).count();
        // Flows that were on a surviving backend and moved anyway.
        let needless = b
            .iter()
            .zip(a)
            .filter(|(x, y)| x.is_some() && y.is_some() && x.as_deref() != Some("www3") && x != y)
            .count();
        (answered, moved, on_www3, needless)
    };
    let (mh_ok, mh_moved, mh_www3, mh_needless) = stats(&before[0], &after[0]);
    let (rr_ok, rr_moved, _, rr_needless) = stats(&before[1], &after[1]);
    let pct = |x: usize| x as f64 * 100.0 / n as f64;
    verdict(
        out,
        "ECMP 6. a real server fails: with mh + weight 0 only its flows move (≈ 1/N), with rr new connections are rescheduled",
        inhibited.is_some()
            && mh_ok == n
            && rr_ok == n
            && mh_needless == 0
            && mh_moved == mh_www3
            && (pct(mh_moved) - 100.0 / 3.0).abs() <= 10.0
            && rr_needless > 0,
        format!(
            "www3 at weight 0 on every director after {}; of {n} client addresses, mh remapped {mh_moved} ({:.1} %, {mh_www3} were on www3, {mh_needless} others moved), rr remapped {rr_moved} ({:.1} %, {rr_needless} not on www3); answered {mh_ok}/{rr_ok}",
            secs(inhibited),
            pct(mh_moved),
            pct(rr_moved)
        ),
    );
}

/// Item 1: one next hop per director within 1 s of the last announcement.
fn announced_paths(lab: &EcmpLab, out: &mut Vec<Verdict>) {
    let t0 = Instant::now() - Duration::from_secs(1);
    let mut last = None;
    for d in &lab.dirs {
        let c = d
            .announced
            .first_after(t0, Duration::from_secs(60), |c| !c.removed);
        last = last.max(c.as_ref().map(|c| c.at));
        if c.is_none() {
            last = None;
            break;
        }
    }
    let Some(last) = last else {
        verdict(
            out,
            "ECMP 1. every director announces the VIP",
            false,
            format!(
                "not every director announced within 60s; router's paths {}",
                names(&lab.router_paths())
            ),
        );
        return;
    };
    let all = lab
        .paths
        .first_after(t0, Duration::from_secs(10), |c| has_all(c, &DIRS));
    let after = all.map(|c| c.at.saturating_duration_since(last));
    verdict(
        out,
        "ECMP 1. router has one path per director within 1 s of the last announcement",
        after.is_some_and(|a| a <= Duration::from_secs(1)),
        format!(
            "{} after the last director's table-{TABLE} route; paths now {}",
            secs(after),
            names(&lab.router_paths())
        ),
    );
}

/// Item 1: 10,000 random 5-tuples split evenly.
fn spread(lab: &EcmpLab, out: &mut Vec<Verdict>) {
    let mut rng = Rng::seeded();
    let mut batch = String::new();
    for _ in 0..FLOWS {
        let r = rng.next();
        let src = Ipv4Addr::from(0x6440_0000 | (r as u32 & 0x003f_ffff)); // 100.64.0.0/10
        let sport = 1024 + (r >> 32) as u16 % 64000;
        batch.push_str(&format!(
            "route get {VIP} from {src} iif {UPLINK} ipproto tcp sport {sport} dport {PORT}\n"
        ));
    }
    let started = Instant::now();
    let text = ip_batch(&lab.router, &batch, "spread");
    let v = vias(&text);
    let counts: Vec<usize> = DIRS
        .iter()
        .map(|d| v.iter().filter(|x| *x == d).count())
        .collect();
    let shares: Vec<f64> = counts
        .iter()
        .map(|c| *c as f64 * 100.0 / FLOWS as f64)
        .collect();
    verdict(
        out,
        "ECMP 1. 10,000 random 5-tuples split 33 % ± 2 % over the three",
        v.len() == FLOWS && shares.iter().all(|s| (s - 100.0 / 3.0).abs() <= 2.0),
        format!(
            "DIR1/DIR2/DIR3 {} / {} / {} ({:.1} % / {:.1} % / {:.1} %) of {} answers, in {:.1}s",
            counts[0],
            counts[1],
            counts[2],
            shares[0],
            shares[1],
            shares[2],
            v.len(),
            started.elapsed().as_secs_f64()
        ),
    );
}

/// Item 2: the prober and held connections flow through every director,
/// replies straight from the backends.
fn traffic(lab: &EcmpLab, out: &mut Vec<Verdict>) {
    let before = lab.stats();
    let prober = Prober::start_to(&lab.client, SocketAddr::new(VIP.into(), PORT));
    let held = hold(&lab.client, SocketAddr::new(VIP.into(), PORT), HELD);
    let opened = held.len();
    std::thread::sleep(Duration::from_secs(2));
    let done = finish(held);
    let samples = prober.finish().samples;
    let after = lab.stats();
    let conns: Vec<u64> = before
        .iter()
        .zip(&after)
        .map(|(b, a)| a.conns.saturating_sub(b.conns))
        .collect();
    let outp: u64 = before
        .iter()
        .zip(&after)
        .map(|(b, a)| a.out_pkts.saturating_sub(b.out_pkts))
        .sum();
    let mut backends: Vec<&str> = done
        .iter()
        .filter_map(|r| r.as_deref().ok())
        .chain(samples.iter().filter_map(|s| match &s.reply {
            Reply::Body(b) => Some(b.as_str()),
            Reply::Failed(_) => None,
        }))
        .collect();
    backends.sort();
    backends.dedup();
    verdict(
        out,
        "ECMP 2. client traffic flows through all three directors, replies by DR",
        conns.iter().all(|c| *c > 0)
            && failed(&samples) == 0
            && opened == HELD
            && ok_count(&done) == HELD
            && outp == 0
            && backends.len() == BACKENDS.len(),
        format!(
            "new connections per director {conns:?}; packets out through the directors {outp}; {} of {} probes failed; held {}/{} answered ({}), errors {}",
            failed(&samples),
            samples.len(),
            ok_count(&done),
            HELD,
            backends.join(" "),
            errors(&done)
        ),
    );
}

/// Item 5: every real server fails on DIR3 only (its checks dropped).
fn checks_fail_on_one(lab: &EcmpLab, out: &mut Vec<Verdict>) {
    let d = &lab.dirs[2];
    let rules = "table ip nochecks {
 chain out { type filter hook output priority 0; policy accept; ip daddr 10.0.0.0/24 tcp dport 80 drop; }
}
";
    let path = std::env::temp_dir().join(format!("{}-nochecks.nft", d.host.name()));
    let _ = std::fs::write(&path, rules);
    let prober = Prober::start_to(&lab.client, SocketAddr::new(VIP.into(), PORT));
    std::thread::sleep(Duration::from_millis(300));
    let nft = d.host.try_run(&["nft", "-f", &path.display().to_string()]);
    // From nft's return: the rule holds from just before it.
    let at = Instant::now();
    let withdrawn = d
        .announced
        .first_after(at, Duration::from_secs(20), |c| c.removed);
    let gone = lab.paths.first_after(at, Duration::from_secs(20), |c| {
        c.removed || !c.gateways.contains(&DIRS[2])
    });
    std::thread::sleep(Duration::from_secs(1));
    let requests = prober.finish();
    let (probe_start, samples) = (requests.origin, requests.samples);
    let gone_ms = gone.as_ref().map(|g| g.at.saturating_duration_since(at));
    // Sample times count from the prober's start.
    let gone_at = gone
        .as_ref()
        .map(|g| g.at.saturating_duration_since(probe_start));
    let after_gone = gone_at.map_or(0, |g| {
        samples
            .iter()
            .filter(|s| s.at > g && matches!(s.reply, Reply::Failed(_)))
            .count()
    });
    let left = gone
        .as_ref()
        .map(|g| g.gateways.clone())
        .unwrap_or_default();
    verdict(
        out,
        "ECMP 5. all real servers fail on DIR3 only: it withdraws, the others serve, no black hole",
        nft.status.success()
            && withdrawn.is_some()
            && gone.is_some()
            && has_all(gone.as_ref().expect("checked"), &[DIRS[0], DIRS[1]])
            && after_gone == 0,
        format!(
            "DIR3 withdrew after {}, the router's path after {} (left: {}); {} of {} probes failed, {after_gone} of them after the path was gone",
            secs(withdrawn.map(|w| w.at.saturating_duration_since(at))),
            secs(gone_ms),
            names(&left),
            failed(&samples),
            samples.len()
        ),
    );
    let _ = d
        .host
        .try_run(&["nft", "delete", "table", "ip", "nochecks"]);
    let back = lab
        .paths
        .first_after(at, Duration::from_secs(30), |c| has_all(c, &DIRS));
    println!(
        "  DIR3's checks restored: the router has three paths again: {}",
        back.is_some()
    );
}

/// Item 4: a planned drain of DIR2, then DIR2 started again.
fn drain(lab: &mut EcmpLab, env: &Env, out: &mut Vec<Verdict>) {
    let _ = lab.paths.first_after(
        Instant::now() - Duration::from_secs(60),
        Duration::from_secs(30),
        |c| has_all(c, &DIRS),
    );
    let held = hold(&lab.client, SocketAddr::new(VIP.into(), PORT), HELD);
    std::thread::sleep(Duration::from_secs(3));
    let prober = Prober::start_to(&lab.client, SocketAddr::new(VIP.into(), PORT));
    std::thread::sleep(Duration::from_millis(500));
    let at = Instant::now();
    let d = &lab.dirs[1];
    let bin = env.bin_dir.join("director").display().to_string();
    let asked = d.host.try_run(&[&bin, "drain"]);
    let gone = lab.paths.first_after(at, Duration::from_secs(15), |c| {
        c.removed || !c.gateways.contains(&DIRS[1])
    });
    // The director stops by itself once DIR2's traffic has ended (no
    // signal: with drain_on_sigterm a SIGTERM during a drain stops at once).
    let d = &mut lab.dirs[1];
    let stopped = d.pid.take().map(|p| {
        let gone = d.host.signal(p, 0, Duration::from_secs(20));
        (gone, at.elapsed())
    });
    std::thread::sleep(Duration::from_millis(500));
    let done = finish(held);
    let samples = prober.finish().samples;
    verdict(
        out,
        "ECMP 4. planned drain of DIR2: zero connection resets, zero failed requests",
        asked.status.success()
            && gone.is_some()
            && stopped.is_some_and(|(s, _)| s)
            && ok_count(&done) == HELD
            && failed(&samples) == 0,
        format!(
            "`director drain`: {} ({}); the router's path gone after {}; the director exited after {}; {} of {HELD} held connections answered (errors {}); {} of {} probes failed",
            asked.status,
            String::from_utf8_lossy(&asked.stdout).trim(),
            secs(gone.map(|g| g.at.saturating_duration_since(at))),
            match stopped {
                Some((true, t)) => format!("{:.2}s", t.as_secs_f64()),
                _ => "never (20 s)".into(),
            },
            ok_count(&done),
            errors(&done),
            failed(&samples),
            samples.len()
        ),
    );
    let restart = Instant::now();
    lab.start_director(1, env);
    let back = lab
        .paths
        .first_after(restart, Duration::from_secs(30), |c| has_all(c, &DIRS));
    println!(
        "  DIR2 started again: three paths after {}",
        secs(back.map(|b| b.at.saturating_duration_since(restart)))
    );
}

/// Items 3 and 7: DIR1 crashes, then rejoins.
fn crash_and_rejoin(lab: &mut EcmpLab, env: &Env, out: &mut Vec<Verdict>) {
    let _ = lab.paths.first_after(
        Instant::now() - Duration::from_secs(60),
        Duration::from_secs(30),
        |c| has_all(c, &DIRS),
    );
    let held = hold(&lab.client, SocketAddr::new(VIP.into(), PORT), HELD);
    let via = lab.client_flows(&held);
    let through_dir1: Vec<bool> = via.iter().map(|v| *v == Some(DIRS[0])).collect();
    // Synced once three packets passed; sync messages leave within ~2 s.
    std::thread::sleep(Duration::from_secs(3));
    let prober = Prober::start_to(&lab.client, SocketAddr::new(VIP.into(), PORT));
    std::thread::sleep(Duration::from_millis(500));
    let at = lab.crash(0);
    let gone = lab.paths.first_after(at, Duration::from_secs(10), |c| {
        c.removed || !c.gateways.contains(&DIRS[0])
    });
    let detect = gone.as_ref().map(|g| g.at.saturating_duration_since(at));
    std::thread::sleep(Duration::from_secs(1));
    let opened = held.len();
    let done = finish(held);
    std::thread::sleep(Duration::from_millis(500));
    let samples = prober.finish().samples;
    let moved_ok = done
        .iter()
        .zip(&through_dir1)
        .filter(|(r, d1)| **d1 && r.is_ok())
        .count();
    let moved = through_dir1.iter().filter(|d| **d).count();
    let survived = ok_count(&done);
    let limit = Duration::from_secs(1);
    verdict(
        out,
        &format!(
            "ECMP 3. DIR1 crashes: its path leaves the router within BFD detection ({} ms x 3, ≤ 1 s)",
            bfd_ms()
        ),
        detect.is_some_and(|d| d <= limit),
        format!(
            "gone after {} (limit {:.2}s); client outage for new requests {:.2}s ({} of {} probes failed)",
            secs(detect),
            limit.as_secs_f64(),
            longest_outage(&samples).as_secs_f64(),
            failed(&samples),
            samples.len()
        ),
    );
    verdict(
        out,
        "ECMP 3. established connections moved by ECMP to a survivor keep working (≥ 99 %)",
        opened == HELD && moved > 0 && survived * 100 >= HELD * 99,
        format!(
            "{survived} of {HELD} held connections answered; of the {moved} through DIR1, {moved_ok}; errors {}",
            errors(&done)
        ),
    );

    // Item 7: DIR1 rejoins; connections it never saw must not be reset.
    let held = hold(&lab.client, SocketAddr::new(VIP.into(), PORT), HELD);
    let first_check = super::watch::Watch::start(
        &lab.backends[0].host,
        LAB_IFACE,
        super::watch::Filter::TcpSyn {
            from: DIRS[0],
            port: PORT,
        },
    )
    .ok();
    std::thread::sleep(Duration::from_secs(1));
    lab.uncrash(0);
    let restart = Instant::now();
    if let Err(e) = lab.start_frr(0, env) {
        verdict(out, "ECMP 7. DIR1 rejoins", false, e);
        return;
    }
    let director_start = Instant::now();
    lab.start_director(0, env);
    let announced = lab.dirs[0]
        .announced
        .first_after(restart, Duration::from_secs(60), |c| !c.removed);
    let back = lab
        .paths
        .first_after(restart, Duration::from_secs(60), |c| has_all(c, &DIRS));
    let check = first_check
        .as_ref()
        .and_then(|w| w.drain().into_iter().find(|s| s.at >= restart));
    std::thread::sleep(Duration::from_millis(500));
    let moved: usize = lab
        .client_flows(&held)
        .iter()
        .filter(|v| **v == Some(DIRS[0]))
        .count();
    let done = finish(held);
    let ok = ok_count(&done);
    let after_check = match (check, &announced) {
        (Some(c), Some(a)) => a.at >= c.at,
        _ => false,
    };
    verdict(
        out,
        "ECMP 7. DIR1 rejoins: announced only after its checks ran, no connection it never saw is reset",
        announced.is_some() && back.is_some() && after_check && moved > 0 && ok == HELD,
        format!(
            "FRR up after {:.2}s; announced {} after the director's start ({} after its first check reached www1), router has three paths {} after the announcement; {ok} of {HELD} connections held across the rejoin answered ({moved} now routed through DIR1), errors {}",
            director_start.duration_since(restart).as_secs_f64(),
            secs(
                announced
                    .as_ref()
                    .map(|a| a.at.saturating_duration_since(director_start))
            ),
            match (check, &announced) {
                (Some(c), Some(a)) if a.at >= c.at =>
                    format!("{:.2}s", (a.at - c.at).as_secs_f64()),
                (Some(c), Some(a)) => format!("{:.2}s BEFORE", (c.at - a.at).as_secs_f64()),
                _ => "no check seen".into(),
            },
            secs(match (&back, &announced) {
                (Some(b), Some(a)) => Some(b.at.saturating_duration_since(a.at)),
                _ => None,
            }),
            errors(&done)
        ),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The shipped samples are exactly what the lab runs (less comments).
    fn uncommented(text: &str) -> String {
        text.lines()
            .filter(|l| !l.starts_with('!'))
            .map(|l| format!("{l}\n"))
            .collect()
    }

    #[test]
    fn shipped_frr_configs_are_the_labs() {
        assert_eq!(
            uncommented(include_str!("../../ecmp/frr-director.conf")),
            director_frr(0, 100)
        );
        assert_eq!(
            uncommented(include_str!("../../ecmp/frr-router.conf")),
            router_frr(100)
        );
    }

    #[test]
    fn the_labs_director_config_loads_converts_and_validates() {
        let text = format!(
            "{}\n{}",
            include_str!("../../ecmp/director.conf"),
            compare_services()
        );
        let (cfg, warnings) =
            lvs_keepalived_conf::parse_str("ecmp-director.conf", &text).expect("parses");
        // Only the comparison's rr service is warned about, as it should be.
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(
            warnings[0].message.contains("8081") && warnings[0].message.contains("rr"),
            "{warnings:?}"
        );
        let typed = lvs_director::DirectorConfig::try_from(&cfg).expect("converts");
        typed.validate().expect("valid");
        assert_eq!(typed.virtual_servers.len(), 3);
        assert!(typed.route_announce.is_some());
    }

    #[test]
    fn vias_reads_multipath_and_route_get() {
        let multi = "203.0.113.10 nhid 20 proto bgp metric 20 \n\tnexthop via 10.0.0.11 dev ens18 weight 1 \n\tnexthop via 10.0.0.12 dev ens18 weight 1 \n";
        assert_eq!(vias(multi), [DIRS[0], DIRS[1]]);
        let get = "203.0.113.10 from 100.64.0.1 via 10.0.0.13 dev ens18 table main \n    cache iif ens19 \n";
        assert_eq!(vias(get), [DIRS[2]]);
    }
}
