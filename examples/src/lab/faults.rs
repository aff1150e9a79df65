//! Faults under load (issue 14): the seed lab's pair, FRONTAL's prober
//! running and [`HELD`] long-lived connections open through the VIP, while
//! each fault an operator loses sleep over is injected — split brain and
//! its heal, a reload storm and a bad reload, a flapping backend, restarts
//! of either node (SIGTERM, and SIGKILL of the Master), and the IPVS table
//! changed behind the director's back. The same scenarios run with
//! keepalived, whose figures are reported beside ours, not gated.
//!
//! The lab's configs are copied with two changes for both programs: the
//! HTTP service's `delay_loop` is 3 s instead of 2 s, so a backend flapping
//! 1 s up / 1 s down is seen in both states (with 2 s every check would see
//! the same phase); `higher_prio_send_advert` (keepalived's), so that at a
//! split brain's heal the loser's last advert reaches the winner, which
//! answers with gratuitous ARP whichever advert crossed the healed link
//! first (without it, when the winner's advert arrives first, nothing
//! corrects the clients' ARP entries until they expire); and for `director` only, `lvs_reconcile_interval 5`, so
//! a table changed behind its back is put back within 5 s (keepalived has
//! no such setting and never puts it back).

use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use lvs_ipvs::{IpvsHandle, ServiceKey};
use lvs_testenv::{LAB_IFACE, Netns};

use super::harness::{
    Env, Kind, NODE01, Prober, Running, boot, converge, dns_key, failed, holds_vip, http_key,
    neigh_mac, phase, secs, served_again, start_director, verdict, wait_until, watch_or_note,
};
use super::held::{self, Held};
use super::probe::{Reply, longest_outage};
use super::seed::Verdict;
use super::topology::VIP;
use super::watch::{Filter, Seen};

/// Long-lived connections held open through each fault.
pub const HELD: usize = 200;

/// The advert interval of the lab's VRRP instance.
const ADVERT_INT: Duration = Duration::from_secs(1);

/// How late an advert may be and still be "on schedule" (issue 14).
const ADVERT_SLACK: Duration = Duration::from_millis(20);

/// The faults config's reconcile interval (`director` only).
const RECONCILE: Duration = Duration::from_secs(5);

/// The HTTP check's `retry 1`: down after the first failure and one retry
/// failing; up again after one success (keepalived's TCP_CHECK policy).
const FALL: usize = 2;

/// The flapping backend: how long, and each half-period.
const FLAP_FOR: Duration = Duration::from_secs(60);
const FLAP_HALF: Duration = Duration::from_secs(1);

/// One figure of one scenario, for the side-by-side table.
#[derive(Debug, Clone)]
pub struct Row {
    /// The scenario's number and name.
    pub scenario: &'static str,
    /// What was measured.
    pub measure: &'static str,
    /// The figure, as text.
    pub value: String,
}

/// What one program's run of the faults measured.
#[derive(Debug, Clone, Default)]
pub struct FaultFigures {
    /// Every figure, in the order measured.
    pub rows: Vec<Row>,
}

impl FaultFigures {
    fn add(&mut self, scenario: &'static str, measure: &'static str, value: impl Into<String>) {
        self.rows.push(Row {
            scenario,
            measure,
            value: value.into(),
        });
    }
}

/// The side-by-side table of two runs' figures (rows matched by scenario
/// and measure; a figure only one side has shows `-` on the other).
pub fn comparison(ours: &FaultFigures, theirs: &FaultFigures) -> String {
    let mut text = format!(
        "{:<30} {:<44} {:>18} {:>18}\n",
        "fault", "measure", "director", "keepalived"
    );
    let mut keys: Vec<(&str, &str)> = Vec::new();
    for r in ours.rows.iter().chain(&theirs.rows) {
        if !keys.contains(&(r.scenario, r.measure)) {
            keys.push((r.scenario, r.measure));
        }
    }
    let find = |f: &FaultFigures, k: (&str, &str)| {
        f.rows
            .iter()
            .find(|r| (r.scenario, r.measure) == k)
            .map_or("-".to_string(), |r| r.value.clone())
    };
    for k in keys {
        text.push_str(&format!(
            "{:<30} {:<44} {:>18} {:>18}\n",
            k.0,
            k.1,
            find(ours, k),
            find(theirs, k)
        ));
    }
    text
}

/// The faults with `kind` on both nodes. Verdicts are gated for `director`
/// only; keepalived's are printed and returned as the reference.
pub fn faults_run(env: &Env, kind: Kind) -> (Vec<Verdict>, FaultFigures) {
    let mut out = Vec::new();
    let mut fig = FaultFigures::default();
    println!(
        "\n=== faults under load with {} on NODE01 and NODE02",
        kind.name()
    );
    let fenv = match faults_env(env, kind) {
        Ok(e) => e,
        Err(e) => {
            verdict(&mut out, "faults: configs written", false, e);
            return (out, fig);
        }
    };
    let Some(mut r) = boot(&fenv, [kind, kind], &mut out) else {
        return (out, fig);
    };
    if !converge(&r, &mut out, &format!("faults, {}", kind.name())) {
        return (out, fig);
    }
    let each = |what: &str, secs: u64| {
        phase(
            &format!("faults, {}: {what}", kind.name()),
            Duration::from_secs(secs),
        );
    };
    each("1. split brain and heal", 20);
    split_brain(&r, &fenv, &mut out, &mut fig);
    each("3. reload storm, then a reload with an error", 25);
    reload_storm(&r, &fenv, &mut out, &mut fig);
    each("5. backend flapping 1 s up / 1 s down for 60 s", 75);
    flapping(&r, &mut out, &mut fig);
    each(
        "2. restarts under load: Backup, Master, SIGKILL of the Master",
        60,
    );
    restarts(&mut r, &fenv, &mut out, &mut fig);
    // Last: keepalived leaves the table as it was made.
    each("4. the IPVS table changed behind its back", 25);
    table_behind_back(&r, &fenv, &mut out, &mut fig);
    (out, fig)
}

/// The lab's configs with the faults part's changes, in a directory of
/// their own (the reload storm rewrites NODE01's).
fn faults_env(env: &Env, kind: Kind) -> Result<Env, String> {
    let dir = env.out_dir.join(format!("faults-{}", kind.name()));
    std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    for node in ["node01", "node02"] {
        let src = env.conf_dir.join(format!("{node}.conf"));
        let text = std::fs::read_to_string(&src).map_err(|e| format!("{}: {e}", src.display()))?;
        let text = faults_config(&text, kind);
        let dst = dir.join(format!("{node}.conf"));
        std::fs::write(&dst, text).map_err(|e| format!("{}: {e}", dst.display()))?;
    }
    Ok(Env {
        conf_dir: dir,
        ..env.clone()
    })
}

fn faults_config(lab: &str, kind: Kind) -> String {
    let text = lab
        .replacen("    delay_loop 2\n", "    delay_loop 3\n", 1)
        .replacen(
            "    advert_int 1\n",
            "    advert_int 1\n    higher_prio_send_advert\n",
            1,
        );
    match kind {
        Kind::Ours => text.replacen(
            "global_defs {\n",
            &format!(
                "global_defs {{\n    lvs_reconcile_interval {}\n",
                RECONCILE.as_secs()
            ),
            1,
        ),
        _ => text,
    }
}

/// The reload storm's second config: www2's HTTP weight 2.
fn weighted(conf: &str) -> String {
    conf.replacen(
        "real_server 172.20.0.86 80 {\n",
        "real_server 172.20.0.86 80 {\n        weight 2\n",
        1,
    )
}

/// A config with an error, and the 1-based line it is on.
fn broken(conf: &str) -> (String, usize) {
    let text = conf.replacen("    delay_loop 3\n", "    delay_loop three\n", 1);
    let line = text
        .lines()
        .position(|l| l.contains("delay_loop three"))
        .map_or(0, |i| i + 1);
    (text, line)
}

/// FRONTAL's load: the prober and the held connections.
struct Load {
    prober: Prober,
    held: Vec<Held>,
}

/// What a load saw once finished.
struct LoadSeen {
    failed: usize,
    requests: usize,
    outage: Duration,
    held_ok: usize,
    held_errors: String,
    /// When each failed request was started, from the load's start.
    failed_at: Vec<Duration>,
}

impl Load {
    fn start(lab: &super::topology::SeedLab) -> Load {
        let held = held::hold(&lab.frontal, SocketAddr::new(VIP.into(), 80), HELD);
        let prober = Prober::start(&lab.frontal);
        Load { prober, held }
    }

    fn finish(self) -> LoadSeen {
        let done = held::finish(self.held);
        let requests = self.prober.finish();
        let s = &requests.samples;
        LoadSeen {
            failed: failed(s),
            requests: s.len(),
            outage: longest_outage(s),
            held_ok: held::ok_count(&done),
            held_errors: held::errors(&done),
            failed_at: s
                .iter()
                .filter(|x| matches!(x.reply, Reply::Failed(_)))
                .map(|x| x.at)
                .collect(),
        }
    }
}

impl LoadSeen {
    fn held(&self) -> String {
        format!("{}/{HELD}", self.held_ok)
    }
}

fn pid(p: u32) -> Option<rustix::process::Pid> {
    i32::try_from(p)
        .ok()
        .and_then(rustix::process::Pid::from_raw)
}

/// Sends `sig` without waiting.
fn send(p: u32, sig: rustix::process::Signal) {
    if let Some(p) = pid(p) {
        let _ = rustix::process::kill_process(p, sig);
    }
}

/// Whether process `p` exists and is not a zombie.
fn alive(p: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{p}/stat"))
        .ok()
        .and_then(|s| {
            s.rsplit_once(')')
                .map(|(_, rest)| !rest.trim_start().starts_with('Z'))
        })
        .unwrap_or(false)
}

/// The log a director of `kind` on `node` writes (see `start_director`).
fn log_of(env: &Env, kind: Kind, node: &str) -> PathBuf {
    env.out_dir.join(format!("{}-{node}.log", kind.name()))
}

fn log_len(path: &Path) -> u64 {
    std::fs::metadata(path).map(|m| m.len()).unwrap_or(0)
}

/// What `path` gained after `from` bytes.
fn log_since(path: &Path, from: u64) -> String {
    let bytes = std::fs::read(path).unwrap_or_default();
    let from = usize::try_from(from).unwrap_or(usize::MAX).min(bytes.len());
    String::from_utf8_lossy(&bytes[from..]).into_owned()
}

/// Writes `text` to `path` whole (a reader never sees half of it).
fn write_whole(path: &Path, text: &str) -> std::io::Result<()> {
    let tmp = path.with_extension("tmp");
    std::fs::write(&tmp, text)?;
    std::fs::rename(&tmp, path)
}

/// Runs `nft -f` on `rules` in `host`.
fn nft(host: &Netns, env: &Env, name: &str, rules: &str) -> Result<(), String> {
    let file = env.out_dir.join(format!("{name}.nft"));
    std::fs::write(&file, rules).map_err(|e| format!("{}: {e}", file.display()))?;
    let out = host.try_run(&["nft", "-f", &file.display().to_string()]);
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "nft -f {name}: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

fn nft_delete(host: &Netns, table: &str) {
    let mut argv = vec!["nft", "delete", "table"];
    argv.extend(table.split(' '));
    let _ = host.try_run(&argv);
}

/// The largest gap between consecutive adverts from `src`.
fn largest_gap(seen: &[Seen], src: std::net::Ipv4Addr) -> Option<Duration> {
    let times: Vec<Instant> = seen.iter().filter(|s| s.src == src).map(|s| s.at).collect();
    times.windows(2).map(|w| w[1].duration_since(w[0])).max()
}

fn ms(d: Duration) -> String {
    format!("{:.3}s", d.as_secs_f64())
}

/// `key`'s destinations with their weights, in address order.
fn table_of(h: &mut IpvsHandle, key: &ServiceKey) -> Vec<(SocketAddr, u32)> {
    let mut v: Vec<(SocketAddr, u32)> = h
        .destinations(key)
        .map(|d| {
            d.into_iter()
                .map(|d| (d.dest.addr, d.dest.weight))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn ipvs_in(host: &Netns) -> Option<IpvsHandle> {
    IpvsHandle::open_in_netns(host.as_fd()).ok()
}

/// NODE01's IPVS, or a failed verdict for scenario `s` saying why not.
fn node01_ipvs(
    lab: &super::topology::SeedLab,
    out: &mut Vec<Verdict>,
    s: &str,
) -> Option<IpvsHandle> {
    let h = ipvs_in(&lab.node01);
    if h.is_none() {
        verdict(
            out,
            &format!("{s}: NODE01's IPVS readable"),
            false,
            "cannot open",
        );
    }
    h
}

const WWW1_80: &str = "172.20.0.85:80";
const WWW2_80: &str = "172.20.0.86:80";

fn sa(s: &str) -> SocketAddr {
    s.parse().expect("literal address")
}

/// The whole lab table as the base config writes it (both services, both
/// real servers, weight 1).
fn table_is_configured(h: &mut IpvsHandle) -> bool {
    let http = table_of(h, &http_key());
    let dns = table_of(h, &dns_key());
    http == [(sa(WWW1_80), 1), (sa(WWW2_80), 1)]
        && dns.len() == 2
        && dns.iter().all(|(_, w)| *w == 1)
}

/// Both nodes' VIP holding, polled until `until` passes: how long both
/// held it at once (sum of the poll intervals where both did), and the
/// polls. `each` sees every poll's (NODE01 holds, NODE02 holds).
fn double_holding(
    lab: &super::topology::SeedLab,
    until: Instant,
    mut each: impl FnMut(bool, bool),
) -> (Duration, usize) {
    let mut both = Duration::ZERO;
    let mut polls = 0;
    let mut last = Instant::now();
    while Instant::now() < until {
        let a = holds_vip(&lab.node01);
        let b = holds_vip(&lab.node02);
        each(a, b);
        let now = Instant::now();
        if a && b {
            both += now.duration_since(last);
        }
        last = now;
        polls += 1;
        std::thread::sleep(Duration::from_millis(20));
    }
    (both, polls)
}

/// Fault 1: VRRP blocked between the nodes on the bridge (clients unaffected):
/// both become Master; healed, one Master within one advert interval,
/// FRONTAL's ARP entry on it, and no double holder survives.
fn split_brain(r: &Running, env: &Env, out: &mut Vec<Verdict>, fig: &mut FaultFigures) {
    const S: &str = "1. split brain and heal";
    let lab = &r.lab;
    let load = Load::start(lab);
    let origin = load.prober.origin;
    let block = nft(
        lab.lan.switch(),
        env,
        "split-brain",
        "table bridge lvs_split {\n chain forward {\n  type filter hook forward priority 0; policy accept;\n  ip protocol 112 drop\n }\n}\n",
    );
    if let Err(e) = block {
        let _ = load.finish();
        verdict(out, &format!("{S}: VRRP blocked on the bridge"), false, e);
        return;
    }
    let blocked_at = Instant::now();
    let both = wait_until(Duration::from_secs(10), || {
        holds_vip(&lab.node01) && holds_vip(&lab.node02)
    });
    std::thread::sleep(Duration::from_secs(2));
    nft_delete(lab.lan.switch(), "bridge lvs_split");
    let healed_at = Instant::now();
    let one = wait_until(Duration::from_secs(10), || {
        holds_vip(&lab.node01) != holds_vip(&lab.node02)
    });
    let winner_node01 = holds_vip(&lab.node01) && !holds_vip(&lab.node02);
    let node01_mac = lab.node01.mac(LAB_IFACE);
    let arp = wait_until(Duration::from_secs(5), || {
        neigh_mac(&lab.frontal).eq_ignore_ascii_case(&node01_mac)
    })
    .map(|_| healed_at.elapsed());
    let (double, polls) = double_holding(lab, Instant::now() + Duration::from_secs(3), |_, _| {});
    std::thread::sleep(Duration::from_millis(500));
    let seen = load.finish();
    let heal_from = healed_at.duration_since(origin);
    let heal_failed = seen
        .failed_at
        .iter()
        .filter(|t| **t >= heal_from && **t < heal_from + Duration::from_secs(3))
        .count();
    let split_failed = seen
        .failed_at
        .iter()
        .filter(|t| **t >= blocked_at.duration_since(origin) && **t < heal_from)
        .count();
    fig.add(S, "both Master after the block", secs(both));
    fig.add(S, "one VIP holder after the heal", secs(one));
    fig.add(S, "FRONTAL's ARP on NODE01 after the heal", secs(arp));
    fig.add(S, "failed requests while split", split_failed.to_string());
    fig.add(
        S,
        "failed requests, 3 s from the heal",
        heal_failed.to_string(),
    );
    fig.add(
        S,
        "double holding after that (polls)",
        format!("{} ({polls})", ms(double)),
    );
    fig.add(S, "held connections answered", seen.held());
    let bound = ADVERT_INT + Duration::from_millis(200);
    verdict(
        out,
        &format!(
            "{S}: both Master while VRRP is blocked; healed, NODE01 alone within one advert interval, FRONTAL's ARP on it, no double holder after"
        ),
        both.is_some()
            && one.is_some_and(|d| d <= bound)
            && winner_node01
            && arp.is_some_and(|d| d <= bound + ADVERT_INT)
            && double.is_zero(),
        format!(
            "both Master {} after the block; one holder {} after the heal (bound {}), NODE01: {winner_node01}; FRONTAL's ARP entry on NODE01 after {}; double holding afterwards {} over {polls} polls; failed requests: {split_failed} while split, {heal_failed} in the 3 s from the heal; held {} answered ({})",
            secs(both),
            secs(one),
            ms(bound),
            secs(arp),
            ms(double),
            seen.held(),
            seen.held_errors
        ),
    );
}

/// Fault 3: 50 SIGHUPs in 10 s on the Master, alternating two configs; then a
/// config with an error: the running config stays, the error is logged
/// with file:line, nothing applied.
fn reload_storm(r: &Running, env: &Env, out: &mut Vec<Verdict>, fig: &mut FaultFigures) {
    const S: &str = "3. reload storm";
    let lab = &r.lab;
    let (kind, director) = r.directors[0];
    let conf = env.conf_dir.join("node01.conf");
    let Ok(base) = std::fs::read_to_string(&conf) else {
        verdict(
            out,
            &format!("{S}: config read"),
            false,
            conf.display().to_string(),
        );
        return;
    };
    let variants = [base.clone(), weighted(&base)];
    let adverts = watch_or_note(&lab.frontal, Filter::Vrrp, "VRRP");
    let load = Load::start(lab);
    let _ = adverts.as_ref().map(|w| w.drain());
    let mut node02_held = false;
    let start = Instant::now();
    let mut sent = 0;
    for i in 0..50 {
        if write_whole(&conf, &variants[i % 2]).is_ok() {
            send(director, rustix::process::Signal::HUP);
            sent += 1;
        }
        node02_held |= holds_vip(&lab.node02);
        let next = start + Duration::from_millis(200 * (i as u64 + 1));
        while Instant::now() < next {
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    let storm = start.elapsed();
    // The last one written is the weighted config.
    let mut h = ipvs_in(&lab.node01);
    let want = [(sa(WWW1_80), 1), (sa(WWW2_80), 2)];
    let applied = wait_until(Duration::from_secs(5), || {
        h.as_mut().is_some_and(|h| table_of(h, &http_key()) == want)
    });
    std::thread::sleep(Duration::from_millis(500));
    let seen = load.finish();
    let adv: Vec<Seen> = adverts.as_ref().map(|w| w.drain()).unwrap_or_default();
    let gap = largest_gap(&adv, NODE01);
    let running = alive(director);
    fig.add(
        S,
        "SIGHUPs sent (in seconds)",
        format!("{sent} ({:.1}s)", storm.as_secs_f64()),
    );
    fig.add(
        S,
        "failed requests",
        format!("{}/{}", seen.failed, seen.requests),
    );
    fig.add(
        S,
        "NODE01's largest advert gap",
        gap.map_or("none seen".into(), ms),
    );
    fig.add(S, "last config applied after the storm", secs(applied));
    fig.add(S, "held connections answered", seen.held());
    verdict(
        out,
        &format!("{S}: 50 SIGHUPs in 10 s under load, two configs alternating"),
        sent == 50
            && seen.failed == 0
            && gap.is_some_and(|g| g <= ADVERT_INT + ADVERT_SLACK)
            && !node02_held
            && applied.is_some()
            && running
            && seen.held_ok == HELD,
        format!(
            "{sent} SIGHUPs in {:.1}s; {} of {} requests failed; NODE01's largest advert gap {} over {} adverts (bound {}); NODE02 took the VIP: {node02_held}; the last config's weights applied {} after; still running: {running}; held {} answered ({})",
            storm.as_secs_f64(),
            seen.failed,
            seen.requests,
            gap.map_or("none seen".into(), ms),
            adv.iter().filter(|s| s.src == NODE01).count(),
            ms(ADVERT_INT + ADVERT_SLACK),
            secs(applied),
            seen.held(),
            seen.held_errors
        ),
    );

    // A config with an error: nothing of it applied, the error located.
    let (bad, line) = broken(&base);
    let log = log_of(env, kind, "node01");
    let from = log_len(&log);
    let table_before = h.as_mut().map(|h| table_of(h, &http_key()));
    let ok = write_whole(&conf, &bad).is_ok();
    send(director, rustix::process::Signal::HUP);
    std::thread::sleep(Duration::from_secs(2));
    let table_after = h.as_mut().map(|h| table_of(h, &http_key()));
    let logged = log_since(&log, from);
    let located = format!("node01.conf:{line}:");
    let has_location = logged.contains(&located);
    let error_line = logged
        .lines()
        .find(|l| l.contains("delay_loop") || l.contains(&located))
        .unwrap_or("")
        .trim()
        .to_string();
    let unchanged = table_before.is_some() && table_before == table_after;
    let holds = holds_vip(&lab.node01) && !holds_vip(&lab.node02);
    let running = alive(director);
    fig.add(
        "3b. reload with an error",
        "running config kept / error located",
        format!("{unchanged} / {has_location}"),
    );
    verdict(
        out,
        "3b. reload with an error: the running config stays, the error logged with file:line, nothing applied",
        ok && unchanged && has_location && holds && running,
        format!(
            "table unchanged: {unchanged} ({table_after:?}); NODE01 still Master: {holds}; still running: {running}; logged `{located}`: {has_location} ({error_line})"
        ),
    );
    // Back to the base config for the scenarios after this one.
    let _ = write_whole(&conf, &base);
    send(director, rustix::process::Signal::HUP);
    let _ = wait_until(Duration::from_secs(5), || {
        h.as_mut().is_some_and(table_is_configured)
    });
}

/// One toggle of the flapping backend: when the change was asked for and
/// when `nft` returned, and the state after it.
struct Toggle {
    from: Instant,
    to: Instant,
    up: bool,
}

/// An HTTP server for WWW2 that this process opens and closes: while
/// closed, a SYN to port 80 meets a RST (a failed TCP_CHECK); connections
/// accepted while open are answered whatever comes after.
struct FlapServer {
    commands: std::sync::mpsc::Sender<bool>,
    acks: std::sync::mpsc::Receiver<Result<Instant, String>>,
    thread: std::thread::JoinHandle<()>,
    error: Option<String>,
}

impl FlapServer {
    fn start(host: &Netns) -> FlapServer {
        let (commands, rx) = std::sync::mpsc::channel::<bool>();
        let (ack, acks) = std::sync::mpsc::channel();
        let file = host.file();
        let thread = std::thread::spawn(move || {
            let _ = lvs_sys::in_netns(file.as_fd(), move || serve_flapping(&rx, &ack));
        });
        let mut s = FlapServer {
            commands,
            acks,
            thread,
            error: None,
        };
        s.set(true);
        s
    }

    /// Opens (`up`) or closes the listener; when it was done.
    fn set(&mut self, up: bool) -> Toggle {
        let from = Instant::now();
        let to = match self
            .commands
            .send(up)
            .ok()
            .and_then(|()| self.acks.recv().ok())
        {
            Some(Ok(at)) => at,
            Some(Err(e)) => {
                self.error.get_or_insert(e);
                Instant::now()
            }
            None => {
                self.error
                    .get_or_insert("the flapping server's thread ended".into());
                Instant::now()
            }
        };
        Toggle { from, to, up }
    }

    fn stop(self) -> Option<String> {
        drop(self.commands);
        let _ = self.thread.join();
        self.error
    }
}

fn serve_flapping(
    commands: &std::sync::mpsc::Receiver<bool>,
    ack: &std::sync::mpsc::Sender<Result<Instant, String>>,
) {
    use std::sync::mpsc::TryRecvError;
    let mut listener: Option<std::net::TcpListener> = None;
    loop {
        match commands.try_recv() {
            Ok(true) => {
                let r = match std::net::TcpListener::bind("0.0.0.0:80")
                    .and_then(|l| l.set_nonblocking(true).map(|()| l))
                {
                    Ok(l) => {
                        listener = Some(l);
                        Ok(Instant::now())
                    }
                    Err(e) => Err(format!("bind 0.0.0.0:80 in WWW2: {e}")),
                };
                let _ = ack.send(r);
            }
            Ok(false) => {
                listener = None;
                let _ = ack.send(Ok(Instant::now()));
            }
            Err(TryRecvError::Disconnected) => return,
            Err(TryRecvError::Empty) => {}
        }
        match listener.as_ref().map(|l| l.accept()) {
            Some(Ok((stream, _))) => {
                let _ = stream.set_nonblocking(false);
                std::thread::spawn(move || {
                    let _ = super::httpd::answer(stream, "www2");
                });
            }
            _ => std::thread::sleep(Duration::from_millis(5)),
        }
    }
}

/// Whether the backend was up at `at`, or `None` within 20 ms of a toggle.
fn up_at(toggles: &[Toggle], at: Instant) -> Option<bool> {
    let margin = Duration::from_millis(20);
    let mut up = true;
    for t in toggles {
        if at + margin < t.from {
            break;
        }
        if at <= t.to + margin {
            return None;
        }
        up = t.up;
    }
    Some(up)
}

/// The transitions a rise-1 / fall-[`FALL`] policy makes of `results`,
/// starting up.
fn policy_transitions(results: &[bool]) -> usize {
    let mut up = true;
    let mut failures = 0;
    let mut n = 0;
    for &ok in results {
        if ok {
            failures = 0;
            if !up {
                up = true;
                n += 1;
            }
        } else {
            failures += 1;
            if up && failures >= FALL {
                up = false;
                n += 1;
            }
        }
    }
    n
}

/// Fault 5: WWW2's HTTP port flapping 1 s up / 1 s down for 60 s: the IPVS
/// changes on NODE01 follow the rise/fall policy exactly over the check
/// results NODE01's checks met, and the event loop does not stall.
fn flapping(r: &Running, out: &mut Vec<Verdict>, fig: &mut FaultFigures) {
    const S: &str = "5. backend flapping";
    let lab = &r.lab;
    let checks = watch_or_note(
        &lab.www2,
        Filter::TcpSyn {
            from: NODE01,
            port: 80,
        },
        "HTTP checks",
    );
    let adverts = watch_or_note(&lab.frontal, Filter::Vrrp, "VRRP");
    let Some(mut h) = node01_ipvs(lab, out, S) else {
        return;
    };
    // WWW2's HTTP server replaced by one this process opens and closes at
    // once (an nft rule or a process took tens to hundreds of
    // milliseconds under emulation, too blurred for "which state did a
    // check meet").
    lab.www2.kill(r.http[1].get());
    let mut server = FlapServer::start(&lab.www2);
    let load = Load::start(lab);
    // Toggle half-way between checks, so no check meets a toggle.
    let first = checks.as_ref().and_then(|w| {
        let _ = w.drain();
        w.next(Duration::from_secs(10))
    });
    let Some(first) = first else {
        let _ = load.finish();
        verdict(
            out,
            &format!("{S}: NODE01's checks seen at WWW2"),
            false,
            "none within 10 s",
        );
        return;
    };
    let _ = adverts.as_ref().map(|w| w.drain());
    let begin = first.at + Duration::from_millis(500);
    let mut toggles: Vec<Toggle> = Vec::new();
    let mut changes: Vec<(Instant, bool)> = Vec::new();
    let mut in_table = table_of(&mut h, &http_key())
        .iter()
        .any(|(a, w)| *a == sa(WWW2_80) && *w > 0);
    let mut poll = |h: &mut IpvsHandle, changes: &mut Vec<(Instant, bool)>| {
        let now_in = table_of(h, &http_key())
            .iter()
            .any(|(a, w)| *a == sa(WWW2_80) && *w > 0);
        if now_in != in_table {
            changes.push((Instant::now(), now_in));
            in_table = now_in;
        }
    };
    let halves = (FLAP_FOR.as_millis() / FLAP_HALF.as_millis()) as u32;
    for i in 0..halves {
        let at = begin + FLAP_HALF * i;
        while Instant::now() < at {
            poll(&mut h, &mut changes);
            std::thread::sleep(Duration::from_millis(20));
        }
        let up = i % 2 == 1;
        toggles.push(server.set(up));
    }
    // Left up, so the last result is acted on.
    if toggles.last().is_some_and(|t| !t.up) {
        toggles.push(server.set(true));
    }
    let settle = Instant::now() + Duration::from_secs(8);
    while Instant::now() < settle {
        poll(&mut h, &mut changes);
        std::thread::sleep(Duration::from_millis(20));
    }
    let seen = load.finish();
    let server_error = server.stop();
    r.http[1].set(super::topology::start_http(&lab.www2, "www2", "0.0.0.0:80"));
    // Serving again before the next scenario opens its connections.
    let www2 = sa(WWW2_80);
    let serving = wait_until(Duration::from_secs(10), || {
        lab.frontal.enter(|| {
            std::net::TcpStream::connect_timeout(&www2, Duration::from_millis(500)).is_ok()
        })
    });
    if serving.is_none() {
        println!("  (WWW2's HTTP server not answering 10 s after its restart)");
    }
    let syns: Vec<Seen> = checks.as_ref().map(|w| w.drain()).unwrap_or_default();
    let window_end = settle - Duration::from_millis(500);
    let results: Vec<Option<bool>> = syns
        .iter()
        .filter(|s| s.at > begin - Duration::from_millis(100) && s.at < window_end)
        .map(|s| up_at(&toggles, s.at))
        .collect();
    let ambiguous = results.iter().filter(|r| r.is_none()).count();
    let results: Vec<bool> = results.into_iter().flatten().collect();
    let predicted = policy_transitions(&results);
    let observed = changes.len();
    let downs = changes.iter().filter(|(_, up)| !up).count();
    let adv: Vec<Seen> = adverts.as_ref().map(|w| w.drain()).unwrap_or_default();
    let gap = largest_gap(&adv, NODE01);
    let pattern: String = results
        .iter()
        .map(|ok| if *ok { 'U' } else { 'D' })
        .collect();
    fig.add(
        S,
        "checks met (down)",
        format!(
            "{} ({})",
            results.len(),
            results.iter().filter(|x| !**x).count()
        ),
    );
    fig.add(
        S,
        "IPVS changes: policy / seen",
        format!("{predicted} / {observed}"),
    );
    fig.add(
        S,
        "NODE01's largest advert gap",
        gap.map_or("none seen".into(), ms),
    );
    fig.add(
        S,
        "failed requests",
        format!("{}/{}", seen.failed, seen.requests),
    );
    verdict(
        out,
        &format!("{S}: IPVS changes follow the rise/fall policy exactly, no event-loop stall"),
        server_error.is_none()
            && ambiguous == 0
            && results.len() >= 15
            && predicted > 0
            && predicted == observed
            && gap.is_some_and(|g| g <= ADVERT_INT + ADVERT_SLACK),
        format!(
            "{} toggles over {}; NODE01's checks at WWW2: {} ({pattern}), {ambiguous} within 20 ms of a toggle; rise 1 / fall {FALL} predicts {predicted} IPVS changes, seen {observed} ({downs} removals); NODE01's largest advert gap {} (bound {}); {} of {} requests failed (WWW2 refusing while in the table){}",
            toggles.len(),
            ms(FLAP_FOR),
            results.len() + ambiguous,
            gap.map_or("none seen".into(), ms),
            ms(ADVERT_INT + ADVERT_SLACK),
            seen.failed,
            seen.requests,
            server_error
                .as_ref()
                .map(|e| format!("; {e}"))
                .unwrap_or_default()
        ),
    );
}

/// Kills every process of the director on `node` with SIGKILL (keepalived:
/// its VRRP and checker children too, as a crash of the host's daemon).
fn kill_hard(env: &Env, host: &Netns, node: &str, kind: Kind, main: u32) {
    if kind == Kind::Keepalived {
        for what in ["vrrp", "check"] {
            let file = env.out_dir.join(format!("ka-{node}-{what}.pid"));
            if let Some(p) = std::fs::read_to_string(&file)
                .ok()
                .and_then(|s| s.trim().parse::<u32>().ok())
            {
                send(p, rustix::process::Signal::KILL);
            }
        }
    }
    host.kill(main);
}

/// Whether both services keep real servers in `host`'s table.
fn table_present(h: &mut IpvsHandle) -> bool {
    !table_of(h, &http_key()).is_empty() && !table_of(h, &dns_key()).is_empty()
}

/// Fault 2: Restarts under load: the Backup (SIGTERM, start), the Master
/// (SIGTERM, start), and the Master killed (SIGKILL) and started again.
fn restarts(r: &mut Running, env: &Env, out: &mut Vec<Verdict>, fig: &mut FaultFigures) {
    let kind = r.directors[0].0;
    let grace = Duration::from_secs(10);

    // a. The Backup.
    let load = Load::start(&r.lab);
    let mut node02_held = false;
    let stopped = r.lab.node02.signal(r.directors[1].1, libc::SIGTERM, grace);
    r.directors[1].1 = start_director(env, &r.lab.node02, "node02", kind);
    let until = Instant::now() + Duration::from_secs(6);
    while Instant::now() < until {
        node02_held |= holds_vip(&r.lab.node02);
        std::thread::sleep(Duration::from_millis(50));
    }
    let seen = load.finish();
    fig.add(
        "2a. Backup restarted",
        "failed requests",
        format!("{}/{}", seen.failed, seen.requests),
    );
    fig.add(
        "2a. Backup restarted",
        "held connections answered",
        seen.held(),
    );
    verdict(
        out,
        "2a. the Backup's director restarted under load: 0 failed requests, 0 reset connections",
        stopped && seen.failed == 0 && seen.held_ok == HELD && !node02_held,
        format!(
            "stopped: {stopped}; {} of {} requests failed; held {} answered ({}); NODE02 took the VIP: {node02_held}",
            seen.failed,
            seen.requests,
            seen.held(),
            seen.held_errors
        ),
    );

    // b. The Master: SIGTERM hands over at priority 0, the restart preempts back.
    let lab = &r.lab;
    let load = Load::start(lab);
    std::thread::sleep(Duration::from_millis(500));
    let stopped = lab.node01.signal(r.directors[0].1, libc::SIGTERM, grace);
    let new = start_director(env, &lab.node01, "node01", kind);
    let back = wait_until(Duration::from_secs(20), || {
        holds_vip(&lab.node01) && !holds_vip(&lab.node02)
    });
    std::thread::sleep(Duration::from_secs(1));
    let seen = load.finish();
    r.directors[0].1 = new;
    let bound = Duration::from_secs(1);
    fig.add("2b. Master restarted", "longest outage", ms(seen.outage));
    fig.add(
        "2b. Master restarted",
        "failed requests",
        format!("{}/{}", seen.failed, seen.requests),
    );
    fig.add(
        "2b. Master restarted",
        "NODE01 Master again after",
        secs(back),
    );
    verdict(
        out,
        "2b. the Master's director restarted under load: outage no longer than the priority-0 handover",
        stopped && back.is_some() && seen.outage <= bound,
        format!(
            "stopped: {stopped}; NODE01 Master again {} after its start; longest outage {} (bound {}: the priority-0 handover); {} of {} requests failed; held {} answered ({}, no sync daemon in this config)",
            secs(back),
            ms(seen.outage),
            ms(bound),
            seen.failed,
            seen.requests,
            seen.held(),
            seen.held_errors
        ),
    );
    // Let the path settle.
    let _ = served_again(&lab.frontal, Duration::from_secs(10));

    // c. SIGKILL of the Master and a restart: never two holders once it
    // runs again, and no IPVS entry flushed.
    let load = Load::start(lab);
    let Some(mut h) = node01_ipvs(lab, out, "2c") else {
        let _ = load.finish();
        return;
    };
    let conns_before = connections(&lab.node01);
    kill_hard(env, &lab.node01, "node01", kind, r.directors[0].1);
    let killed_at = Instant::now();
    let mut present = table_present(&mut h);
    std::thread::sleep(Duration::from_millis(500));
    present &= table_present(&mut h);
    let new = start_director(env, &lab.node01, "node01", kind);
    r.directors[0].1 = new;
    // "Runs again": its first second is its start-up.
    let runs_at = Instant::now() + Duration::from_secs(1);
    while Instant::now() < runs_at {
        present &= table_present(&mut h);
        std::thread::sleep(Duration::from_millis(20));
    }
    let mut back = None;
    let (both, polls) = double_holding(lab, Instant::now() + Duration::from_secs(10), |a, b| {
        present &= table_present(&mut h);
        if a && !b && back.is_none() {
            back = Some(killed_at.elapsed());
        }
    });
    let conns_after = connections(&lab.node01);
    let seen = load.finish();
    fig.add(
        "2c. Master SIGKILLed, restarted",
        "double holding once it runs",
        format!("{} ({polls} polls)", ms(both)),
    );
    fig.add(
        "2c. Master SIGKILLed, restarted",
        "IPVS entries kept throughout",
        present.to_string(),
    );
    fig.add(
        "2c. Master SIGKILLed, restarted",
        "NODE01 sole holder after the kill",
        secs(back),
    );
    fig.add(
        "2c. Master SIGKILLed, restarted",
        "failed requests",
        format!("{}/{}", seen.failed, seen.requests),
    );
    verdict(
        out,
        "2c. the Master SIGKILLed and restarted: never two VIP holders once it runs again, no IPVS entry flushed",
        both.is_zero() && present && back.is_some(),
        format!(
            "double holding from 1 s after the restart: {} over {polls} polls; services and real servers present at every poll: {present}; NODE01 sole holder {} after the kill; IPVS connection entries {conns_before} before, {conns_after} after; {} of {} requests failed, longest outage {}; held {} answered ({})",
            ms(both),
            secs(back),
            seen.failed,
            seen.requests,
            ms(seen.outage),
            seen.held(),
            seen.held_errors
        ),
    );
    let _ = served_again(&lab.frontal, Duration::from_secs(10));
}

/// IPVS connection entries in `host` (`/proc/net/ip_vs_conn` lines).
fn connections(host: &Netns) -> usize {
    let out = host.try_run(&["cat", "/proc/net/ip_vs_conn"]);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .count()
        .saturating_sub(1)
}

/// Fault 4: `ipvsadm -C` (Debian's) on the Master, then a weight edited by hand:
/// the director puts both back within its reconcile interval and reports
/// it in its log and its status.
fn table_behind_back(r: &Running, env: &Env, out: &mut Vec<Verdict>, fig: &mut FaultFigures) {
    const S: &str = "4. table changed behind its back";
    let lab = &r.lab;
    let (kind, _) = r.directors[0];
    let Some(mut h) = node01_ipvs(lab, out, S) else {
        return;
    };
    let log = log_of(env, kind, "node01");
    let from = log_len(&log);
    let load = Load::start(lab);
    std::thread::sleep(Duration::from_millis(300));
    let cleared = lab.node01.try_run(&["ipvsadm", "-C"]).status.success();
    let empty = h.table().map(|t| t.is_empty()).unwrap_or(false);
    let restored = wait_until(Duration::from_secs(15), || table_is_configured(&mut h));
    let vip = IpAddr::from(VIP);
    let edited = lab
        .node01
        .try_run(&[
            "ipvsadm",
            "-e",
            "-t",
            &format!("{vip}:80"),
            "-r",
            WWW1_80,
            "-g",
            "-w",
            "5",
        ])
        .status
        .success();
    let weight_seen = table_of(&mut h, &http_key())
        .iter()
        .any(|(a, w)| *a == sa(WWW1_80) && *w == 5);
    let weight_back = wait_until(Duration::from_secs(15), || table_is_configured(&mut h));
    std::thread::sleep(Duration::from_millis(300));
    let seen = load.finish();
    let logged = log_since(&log, from);
    let noted = logged.contains("behind the director's back");
    let repaired = match kind {
        Kind::Ours => {
            let json = lab.node01.try_run(&[
                &env.bin_dir.join("director").display().to_string(),
                "status",
                "--json",
            ]);
            let text = String::from_utf8_lossy(&json.stdout).into_owned();
            text.split("\"ipvs_repaired\":")
                .nth(1)
                .and_then(|t| t.split(|c: char| !c.is_ascii_digit()).next())
                .and_then(|n| n.parse::<u64>().ok())
        }
        _ => None,
    };
    let bound = RECONCILE + Duration::from_millis(500);
    fig.add(S, "ipvsadm -C: table back after", secs(restored));
    fig.add(S, "weight edited: back after", secs(weight_back));
    fig.add(
        S,
        "failed requests",
        format!("{}/{}", seen.failed, seen.requests),
    );
    verdict(
        out,
        &format!(
            "{S}: `ipvsadm -C` and an edited weight put back within the reconcile interval ({}), logged and counted",
            ms(RECONCILE)
        ),
        cleared
            && empty
            && restored.is_some_and(|d| d <= bound)
            && edited
            && weight_seen
            && weight_back.is_some_and(|d| d <= bound)
            && noted
            && repaired.is_some_and(|n| n > 0),
        format!(
            "`ipvsadm -C` ran: {cleared}, table empty after it: {empty}; table back after {} (bound {}); weight 5 set by hand: {weight_seen}, back to 1 after {}; log says \"behind the director's back\": {noted}; status ipvs_repaired: {}; {} of {} requests failed, longest outage {}",
            secs(restored),
            ms(bound),
            secs(weight_back),
            repaired.map_or("-".into(), |n| n.to_string()),
            seen.failed,
            seen.requests,
            ms(seen.outage)
        ),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn policy_counts_falls_after_two_failures_and_rises_after_one_success() {
        // U D D(down) U(up) D U D D(down) D U(up)
        let r = [
            true, false, false, true, false, true, false, false, false, true,
        ];
        assert_eq!(policy_transitions(&r), 4);
        assert_eq!(policy_transitions(&[false]), 0);
        assert_eq!(policy_transitions(&[]), 0);
    }

    #[test]
    fn a_check_near_a_toggle_is_ambiguous() {
        let t0 = Instant::now();
        let toggles = [
            Toggle {
                from: t0 + Duration::from_millis(1000),
                to: t0 + Duration::from_millis(1010),
                up: false,
            },
            Toggle {
                from: t0 + Duration::from_millis(2000),
                to: t0 + Duration::from_millis(2010),
                up: true,
            },
        ];
        assert_eq!(up_at(&toggles, t0 + Duration::from_millis(500)), Some(true));
        assert_eq!(
            up_at(&toggles, t0 + Duration::from_millis(1500)),
            Some(false)
        );
        assert_eq!(
            up_at(&toggles, t0 + Duration::from_millis(2500)),
            Some(true)
        );
        assert_eq!(up_at(&toggles, t0 + Duration::from_millis(990)), None);
        assert_eq!(up_at(&toggles, t0 + Duration::from_millis(2025)), None);
    }

    #[test]
    fn faults_configs_change_what_they_say() {
        let lab = include_str!("../../lab/node01.conf");
        let ours = faults_config(lab, Kind::Ours);
        assert!(ours.contains("lvs_reconcile_interval 5"));
        assert!(ours.contains("    delay_loop 3\n") && !ours.contains("    delay_loop 2\n"));
        assert!(ours.contains("    advert_int 1\n    higher_prio_send_advert\n"));
        let theirs = faults_config(lab, Kind::Keepalived);
        assert!(!theirs.contains("lvs_reconcile_interval"));
        let w = weighted(&ours);
        assert!(w.contains("real_server 172.20.0.86 80 {\n        weight 2\n"));
        let (bad, line) = broken(&ours);
        assert_eq!(bad.lines().nth(line - 1), Some("    delay_loop three"));
        lvs_keepalived_conf::parse_str("node01.conf", &ours).expect("the faults config is valid");
        lvs_keepalived_conf::parse_str("node01.conf", &w).expect("the weighted one too");
        let errs = lvs_keepalived_conf::parse_str("node01.conf", &bad).expect_err("broken");
        assert!(
            errs[0]
                .to_string()
                .starts_with(&format!("node01.conf:{line}:")),
            "{}",
            errs[0]
        );
    }
}
