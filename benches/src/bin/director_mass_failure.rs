//! Start-up, mass failure and memory: the `director` next to keepalived,
//! in the kernel VM.
//!
//! Each program given runs alone in a fresh L2 segment (lvs-testenv `Lan`,
//! NODE01 172.20.0.81 on `ens18`) with the same keepalived configuration:
//! one `vrrp_instance` (VRID 1, MASTER) and 1,000 `virtual_server`s × 4
//! `real_server`s, `delay_loop 2`, `TCP_CHECK { connect_timeout 3 retry 1
//! delay_before_retry 2 }` (the seed lab's timing). All 4,000 real servers
//! are unreachable (routed into a dummy link where nothing answers), so
//! every one must end up removed. From the program's start the bench dumps
//! the namespace's IPVS table with lvs-ipvs (`IpvsHandle::table`, about
//! every `--poll` ms; a dump's own duration bounds the resolution) and
//! prints, per program and then side by side:
//!
//! 1. time until IPVS holds the full configured table (all services and
//!    all real servers: without `alpha`, servers start up);
//! 2. time until IPVS holds none of the real servers (the mass failure
//!    detected and applied);
//! 3. RSS (VmRSS, summed over the program's processes) once converged.
//!
//! Run as root inside the VM (build on the host first):
//!
//! ```text
//! cargo build --release -p lvs-benches -p lvs-examples --bin director_mass_failure --bin director
//! cargo xtask vm --timeout 900 -- target/release/director_mass_failure \
//!     director=target/release/director keepalived=/usr/sbin/keepalived
//! ```
//!
//! `NAME=PATH`: a PATH whose file name starts with `keepalived` runs as
//! `keepalived --dont-fork --log-console --use-file F --pid ...` (as the
//! lab does); any other as `PATH -f F --control ...`. Options:
//! `--services N` (1000), `--reals N` (4), `--poll MS` (50), `--timeout SECS`
//! (180), `--logs DIR` (keep each program's log there), `--keep-fd-limit`
//! (do not raise the open-file limit to 65,536 for the programs). Exits non-zero when
//! a run is broken (the program died, IPVS never filled or never emptied),
//! not on speed; the target (director no slower than keepalived to empty
//! the table) is printed with the figures.

use std::os::fd::AsFd;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use lvs_benches::{
    NODE01, blackhole_real_servers, keepalived_conf, min_median_max, process_tree, rss_kib, secs,
};
use lvs_ipvs::IpvsHandle;
use lvs_testenv::Lan;

struct Opts {
    services: usize,
    reals: usize,
    poll: Duration,
    timeout: Duration,
    logs: Option<PathBuf>,
    keep_fd_limit: bool,
    programs: Vec<(String, String)>,
}

fn parse_args() -> Result<Opts, String> {
    let mut o = Opts {
        services: 1000,
        reals: 4,
        poll: Duration::from_millis(50),
        timeout: Duration::from_secs(180),
        logs: None,
        keep_fd_limit: false,
        programs: Vec::new(),
    };
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let mut value = |name: &str| args.next().ok_or(format!("{name} needs a value"));
        let num = |v: String| v.parse::<u64>().map_err(|_| format!("bad number {v:?}"));
        match a.as_str() {
            "--services" => o.services = num(value(&a)?)? as usize,
            "--reals" => o.reals = num(value(&a)?)? as usize,
            "--poll" => o.poll = Duration::from_millis(num(value(&a)?)?),
            "--timeout" => o.timeout = Duration::from_secs(num(value(&a)?)?),
            "--logs" => o.logs = Some(PathBuf::from(value(&a)?)),
            "--keep-fd-limit" => o.keep_fd_limit = true,
            _ => match a.split_once('=') {
                Some((name, path)) if !name.is_empty() && !path.is_empty() => {
                    o.programs.push((name.to_string(), path.to_string()))
                }
                _ => return Err(format!("unexpected argument {a:?} (want NAME=PATH)")),
            },
        }
    }
    if o.programs.is_empty() {
        return Err("usage: director_mass_failure [options] NAME=PATH...".into());
    }
    Ok(o)
}

fn is_keepalived(path: &str) -> bool {
    Path::new(path)
        .file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.starts_with("keepalived"))
}

#[derive(Default)]
struct RunResult {
    error: Option<String>,
    all_services: Option<Duration>,
    full: Option<Duration>,
    empty: Option<Duration>,
    max_dests: usize,
    dumps: Vec<Duration>,
    rss_kib: Option<u64>,
    processes: usize,
}

/// Runs one program with its files in a fresh temporary directory (the
/// guest's `/tmp`, in memory: its log is written there, not to the shared
/// directory, whose writes are slow enough to hold up a logging program);
/// the log is copied to `--logs` afterwards.
fn run_one(opts: &Opts, name: &str, program: &str) -> RunResult {
    lvs_benches::in_scratch_dir("lvs-mass", name, opts.logs.as_deref(), |dir, log| {
        run_in(opts, name, program, dir, log)
    })
    .unwrap_or_else(|e| RunResult {
        error: Some(e),
        ..RunResult::default()
    })
}

fn run_in(opts: &Opts, name: &str, program: &str, dir: &Path, log: &Path) -> RunResult {
    let mut r = RunResult::default();
    let conf = dir.join("node01.conf");
    if let Err(e) = std::fs::write(&conf, keepalived_conf(opts.services, opts.reals, 0, 0)) {
        r.error = Some(format!("write {}: {e}", conf.display()));
        return r;
    }

    let lan = Lan::new("mf");
    let node = lan.add_host("n01", &[&format!("{NODE01}/24")]);
    blackhole_real_servers(&node);
    let mut h = match IpvsHandle::open_in_netns(node.as_fd()) {
        Ok(h) => h,
        Err(e) => {
            r.error = Some(format!("IPVS handle: {e}"));
            return r;
        }
    };
    if let Err(e) = h.info() {
        r.error = Some(format!("IPVS unavailable: {e}"));
        return r;
    }
    let s = |p: &Path| p.display().to_string();
    let (conf_s, pid_main, pid_vrrp, pid_check, control) = (
        s(&conf),
        s(&dir.join("main.pid")),
        s(&dir.join("vrrp.pid")),
        s(&dir.join("check.pid")),
        s(&dir.join("control.sock")),
    );
    let argv: Vec<&str> = if is_keepalived(program) {
        vec![
            program,
            "--dont-fork",
            "--log-console",
            "--use-file",
            &conf_s,
            "--pid",
            &pid_main,
            "--vrrp_pid",
            &pid_vrrp,
            "--checkers_pid",
            &pid_check,
        ]
    } else {
        vec![program, "-f", &conf_s, "--control", &control]
    };
    let (want_services, want_dests) = (opts.services, opts.services * opts.reals);
    let started = Instant::now();
    let pid = node.spawn_logged(&argv, log);
    let alive = |pid: u32| {
        std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|s| s.rsplit_once(')').map(|(_, r)| r.trim_start().to_string()))
            .is_some_and(|r| !r.starts_with('Z'))
    };
    loop {
        let t = Instant::now();
        let at = started.elapsed();
        if let Ok(table) = h.table() {
            r.dumps.push(t.elapsed());
            let services = table.len();
            let dests: usize = table.iter().map(|e| e.destinations.len()).sum();
            r.max_dests = r.max_dests.max(dests);
            if services == want_services && r.all_services.is_none() {
                r.all_services = Some(at);
            }
            if services == want_services && dests == want_dests && r.full.is_none() {
                r.full = Some(at);
            }
            if r.full.is_some() && services == want_services && dests == 0 {
                r.empty = Some(at);
                break;
            }
        }
        if !alive(pid) {
            r.error = Some(format!("{name} died; log {}", log.display()));
            break;
        }
        if started.elapsed() > opts.timeout {
            r.error = Some(format!(
                "{name}: not converged after {:?} (full table seen: {}, most real servers held: {}); log {}",
                opts.timeout,
                r.full.is_some(),
                r.max_dests,
                log.display()
            ));
            break;
        }
        std::thread::sleep(opts.poll.saturating_sub(t.elapsed()));
    }
    // Memory once converged (and the checks still running).
    std::thread::sleep(Duration::from_secs(2));
    let tree = process_tree(pid);
    r.processes = tree.len();
    r.rss_kib = tree.iter().map(|p| rss_kib(*p)).sum();
    if !node.signal(pid, libc::SIGTERM, Duration::from_secs(15)) {
        node.kill(pid);
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
    lvs_testenv::require_root("the mass-failure bench");
    lvs_benches::report_fd_limit(opts.keep_fd_limit);
    println!(
        "config: 1 vrrp_instance + {} virtual servers x {} real servers, TCP_CHECK connect_timeout 3 retry 1 delay_before_retry 2, delay_loop 2; all real servers unreachable",
        opts.services, opts.reals
    );
    let mut results = Vec::new();
    let mut broken = false;
    for (name, program) in &opts.programs {
        println!("== {name}: {program}");
        let r = run_one(&opts, name, program);
        if let Some(e) = &r.error {
            println!("   ERROR: {e}");
            broken = true;
        }
        let dumps = min_median_max(&r.dumps);
        println!(
            "   all services after {}; full table after {}; no real server after {}; most real servers held {}",
            secs(r.all_services),
            secs(r.full),
            secs(r.empty),
            r.max_dests
        );
        println!(
            "   {} dumps, each min/median/max {}; RSS {} KiB over {} process(es)",
            r.dumps.len(),
            dumps.map_or("-".into(), |(a, m, b)| format!(
                "{} / {} / {}",
                secs(Some(a)),
                secs(Some(m)),
                secs(Some(b))
            )),
            r.rss_kib.map_or("-".into(), |k| k.to_string()),
            r.processes
        );
        results.push((name.clone(), program.clone(), r));
    }
    println!();
    print!("{:<40}", "");
    for (name, _, _) in &results {
        print!("{name:>14}");
    }
    println!();
    let row = |label: &str, f: &dyn Fn(&RunResult) -> String| {
        print!("{label:<40}");
        for (_, _, r) in &results {
            print!("{:>14}", f(r));
        }
        println!();
    };
    row("start -> all services in IPVS", &|r| secs(r.all_services));
    row("start -> full table (4 x services)", &|r| secs(r.full));
    row("start -> no real server in IPVS", &|r| secs(r.empty));
    row("median dump (resolution)", &|r| {
        secs(min_median_max(&r.dumps).map(|x| x.1))
    });
    row("RSS once converged (KiB)", &|r| {
        r.rss_kib.map_or("-".into(), |k| k.to_string())
    });
    row("processes", &|r| r.processes.to_string());
    let empty = |keepalived: bool| {
        results
            .iter()
            .filter(|(_, p, _)| is_keepalived(p) == keepalived)
            .find_map(|(_, _, r)| r.empty)
    };
    if let (Some(ours), Some(theirs)) = (empty(false), empty(true)) {
        if ours <= theirs {
            println!("target met (director empties the table no slower than keepalived)");
        } else {
            println!(
                "TARGET MISSED (director {:.3} s > keepalived {:.3} s)",
                ours.as_secs_f64(),
                theirs.as_secs_f64()
            );
        }
    }
    if broken {
        std::process::exit(1);
    }
}
