//! Resource bounds (issue 14, fault 7): a director with 10,000 virtual
//! servers of 4 real servers each, in a network namespace of its own (its
//! own IPVS table), running beside the rest of the lab for at least ten
//! minutes; its resident memory after ten minutes must equal that after
//! one within ±5 %. Its reconciles (every 60 s, the default) walk the whole
//! table, so growth per reconcile would show.
//!
//! No checks: 40,000 probes are a checker load test, not a memory one, and
//! a real server without a checker is up (keepalived's rule).

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use lvs_ipvs::IpvsHandle;
use lvs_testenv::Netns;

use super::harness::{Env, verdict, wait_until};
use super::seed::Verdict;

/// Virtual servers, and real servers on each.
pub const SERVICES: usize = 10_000;
const REAL_SERVERS: usize = 4;

/// When the first and the last sample are taken, from the director's start.
const FIRST: Duration = Duration::from_secs(60);
const LAST: Duration = Duration::from_secs(600);

/// The allowed change from the first sample to the last.
const TOLERANCE: f64 = 0.05;

/// The config: `SERVICES` TCP services on 10.200.0.0/16, each with the
/// same four DR real servers.
pub fn config() -> String {
    let mut text = String::with_capacity(SERVICES * 400);
    text.push_str("global_defs {\n    router_id RSS\n}\n");
    for i in 0..SERVICES {
        let (a, b) = (i / 250, i % 250 + 1);
        text.push_str(&format!(
            "virtual_server 10.200.{a}.{b} 80 {{\n    lb_algo rr\n    lb_kind DR\n    protocol TCP\n"
        ));
        for r in 1..=REAL_SERVERS {
            text.push_str(&format!("    real_server 10.201.0.{r} 80 {{\n    }}\n"));
        }
        text.push_str("}\n");
    }
    text
}

/// One sample: when (from the start), resident kB, CPU seconds so far.
#[derive(Debug, Clone, Copy)]
struct Sample {
    at: Duration,
    rss_kb: u64,
    cpu: Duration,
}

/// The director running in the background, sampled every 10 s.
pub struct Background {
    ns: Netns,
    pid: u32,
    started: Instant,
    programmed: Option<Duration>,
    stop: Arc<AtomicBool>,
    sampler: JoinHandle<Vec<Sample>>,
    error: Option<String>,
}

fn rss_kb(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|n| n.parse().ok())
}

/// utime + stime of `pid`, at the usual 100 ticks per second.
fn cpu(pid: u32) -> Option<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let (_, rest) = stat.rsplit_once(')')?;
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: u64 = f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?;
    Some(Duration::from_millis(ticks * 10))
}

impl Background {
    /// Writes the config, starts the director in a namespace of its own and
    /// waits (up to 2 min) until its table holds every service.
    pub fn start(env: &Env) -> Background {
        let ns = Netns::new("rss");
        let conf: PathBuf = env.out_dir.join("rss-10000x4.conf");
        let log = env.out_dir.join("director-rss.log");
        let mut error = std::fs::write(&conf, config())
            .err()
            .map(|e| format!("{}: {e}", conf.display()));
        let director = env.bin_dir.join("director").display().to_string();
        let started = Instant::now();
        let pid = ns.spawn_logged(&[&director, "-f", &conf.display().to_string()], &log);
        let programmed = {
            let ns = &ns;
            wait_until(Duration::from_secs(120), || {
                use std::os::fd::AsFd;
                IpvsHandle::open_in_netns(ns.as_fd())
                    .ok()
                    .and_then(|mut h| h.services().ok())
                    .is_some_and(|s| s.len() == SERVICES)
            })
        };
        if programmed.is_none() && error.is_none() {
            error = Some(format!(
                "not programmed within 120 s (log {})",
                log.display()
            ));
        }
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let sampler = std::thread::spawn(move || {
            let mut v = Vec::new();
            while !flag.load(Ordering::Relaxed) {
                let at = started.elapsed();
                if let (Some(rss_kb), Some(cpu)) = (rss_kb(pid), cpu(pid)) {
                    v.push(Sample { at, rss_kb, cpu });
                }
                let next = started + Duration::from_secs(10 * (at.as_secs() / 10 + 1));
                while !flag.load(Ordering::Relaxed) && Instant::now() < next {
                    std::thread::sleep(Duration::from_millis(200));
                }
            }
            v
        });
        println!(
            "  (resource bounds: a director with {SERVICES} x {REAL_SERVERS} running in the background; programmed after {})",
            programmed.map_or("-".into(), |d| format!("{:.1}s", d.as_secs_f64()))
        );
        Background {
            ns,
            pid,
            started,
            programmed,
            stop,
            sampler,
            error,
        }
    }

    /// Waits until ten minutes have passed since the start (saying so when
    /// it must), stops the director, and gives the verdict.
    pub fn finish(self, out: &mut Vec<Verdict>) {
        let left = (LAST + Duration::from_secs(5)).saturating_sub(self.started.elapsed());
        if !left.is_zero() {
            super::harness::phase("resource bounds: waiting for the 10-minute sample", left);
            std::thread::sleep(left);
        }
        self.stop.store(true, Ordering::Relaxed);
        let samples = self.sampler.join().unwrap_or_default();
        let alive = rss_kb(self.pid).is_some();
        self.ns.kill(self.pid);
        let first = samples.iter().find(|s| s.at >= FIRST).copied();
        let last = samples.iter().rev().find(|s| s.at >= LAST).copied();
        let peak = samples.iter().map(|s| s.rss_kb).max().unwrap_or(0);
        // One sample a minute, to tell growth from a plateau.
        let curve: Vec<String> = samples
            .iter()
            .filter(|s| s.at.as_secs() % 60 < 10)
            .map(|s| format!("{}m {}", s.at.as_secs() / 60, s.rss_kb))
            .collect();
        let (pass, detail) = match (first, last) {
            (Some(a), Some(b)) if self.error.is_none() => {
                let change = (b.rss_kb as f64 - a.rss_kb as f64) / a.rss_kb as f64;
                let busy =
                    (b.cpu.saturating_sub(a.cpu)).as_secs_f64() / (b.at - a.at).as_secs_f64();
                (
                    alive && change.abs() <= TOLERANCE,
                    format!(
                        "RSS {} kB at {:.0}s, {} kB at {:.0}s ({:+.1} %, bound ±{:.0} %), peak {peak} kB over {} samples; programmed after {}; CPU {:.1} % between the two; still running: {alive}; kB by minute: {}",
                        a.rss_kb,
                        a.at.as_secs_f64(),
                        b.rss_kb,
                        b.at.as_secs_f64(),
                        change * 100.0,
                        TOLERANCE * 100.0,
                        samples.len(),
                        self.programmed
                            .map_or("-".into(), |d| format!("{:.1}s", d.as_secs_f64())),
                        busy * 100.0,
                        curve.join(", ")
                    ),
                )
            }
            _ => (
                false,
                format!(
                    "{}; {} samples, still running: {alive}",
                    self.error
                        .as_deref()
                        .unwrap_or("no sample at 1 and 10 minutes"),
                    samples.len()
                ),
            ),
        };
        verdict(
            out,
            &format!(
                "7. resource bounds: {SERVICES} x {REAL_SERVERS} services, RSS after 10 min within 5 % of after 1 min"
            ),
            pass,
            detail,
        );
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn the_config_has_every_service_and_parses() {
        let text = super::config();
        let (cfg, _) = lvs_keepalived_conf::parse_str("rss.conf", &text).expect("valid");
        assert_eq!(cfg.virtual_servers.len(), super::SERVICES);
        assert!(
            cfg.virtual_servers
                .iter()
                .all(|v| v.real_servers.len() == 4)
        );
    }
}
