//! The seed lab (LAB.md), end to end, inside the kernel VM:
//! `cargo xtask demo` boots the VM and runs this program as root.
//!
//! `lab [--only manual|director|keepalived|mixed|track|sync|ecmp]… [--repeat N]` runs
//! the scenarios and prints a verdict per LAB.md item (and per item of the
//! active-active ECMP part, issue 13), then the side-by-side
//! figures of `director` and keepalived (each timed fault repeated N times,
//! default 5, at a fixed phase of the advert interval or health check); it
//! exits non-zero when any verdict fails.
//! `lab serve-http NAME ADDR` is the backends' HTTP server (started by the
//! lab itself in the backends' namespaces).

use std::process::ExitCode;

use lvs_examples::lab::harness::{self, Env, Kind};
use lvs_examples::lab::seed::{self, Verdict};
use lvs_examples::lab::{ecmp, report, scenarios, track};
use lvs_examples::lab::{httpd, topology::SeedLab};

const PARTS: &[&str] = &[
    "manual",
    "director",
    "keepalived",
    "mixed",
    "track",
    "sync",
    "ecmp",
];

fn serve_http(args: &[String]) -> ExitCode {
    let (Some(name), Some(addr)) = (args.first(), args.get(1)) else {
        eprintln!("usage: lab serve-http NAME ADDR:PORT");
        return ExitCode::from(2);
    };
    let addr = match addr.parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("lab serve-http: bad address {addr}: {e}");
            return ExitCode::from(2);
        }
    };
    match httpd::serve(addr, name) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("lab serve-http {addr}: {e}");
            ExitCode::FAILURE
        }
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("serve-http") {
        return serve_http(&args[1..]);
    }
    let mut only: Vec<String> = Vec::new();
    let mut repeats = harness::DEFAULT_REPEATS;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--only" => match it.next() {
                Some(p) if PARTS.contains(&p.as_str()) => only.push(p.clone()),
                other => {
                    eprintln!("lab: --only takes one of {PARTS:?}, got {other:?}");
                    return ExitCode::from(2);
                }
            },
            "--repeat" => match it.next().and_then(|n| n.parse::<usize>().ok()) {
                Some(n) if n > 0 => repeats = n,
                _ => {
                    eprintln!("lab: --repeat takes a count of at least 1");
                    return ExitCode::from(2);
                }
            },
            other => {
                eprintln!(
                    "lab: unknown argument {other:?} (usage: lab [--only PART]… [--repeat N] | serve-http NAME ADDR)"
                );
                return ExitCode::from(2);
            }
        }
    }
    let wants = |p: &str| only.is_empty() || only.iter().any(|o| o == p);
    let env = Env {
        repeats,
        ..Env::discover()
    };
    let mut all: Vec<Verdict> = Vec::new();
    if wants("manual") {
        println!("=== the seed's manual IPVS (lvs-ipvs in NODE01's namespace)");
        let lab = SeedLab::build();
        let v = seed::manual_ipvs(&lab);
        for x in &v {
            println!("{x}");
        }
        all.extend(v);
    }
    let mut ours = None;
    let mut theirs = None;
    if wants("director") {
        let (v, f) = scenarios::full_run(&env, Kind::Ours);
        all.extend(v);
        ours = Some(f);
    }
    if wants("keepalived") {
        // The reference's verdicts are reported, not gated: they are the
        // baseline we compare against.
        let (v, f) = scenarios::full_run(&env, Kind::Keepalived);
        let failed = v.iter().filter(|x| !x.pass).count();
        println!(
            "(keepalived: {failed} of {} items failed; reported, not gated)",
            v.len()
        );
        theirs = Some(f);
    }
    if wants("mixed") {
        all.extend(scenarios::mixed_run(&env, [Kind::Ours, Kind::Keepalived]));
        all.extend(scenarios::mixed_run(&env, [Kind::Keepalived, Kind::Ours]));
        // The README's embedding example against the director.
        all.extend(scenarios::mixed_run(&env, [Kind::Embedded, Kind::Ours]));
    }
    if wants("track") {
        // kubeadm's tracked health script, either implementation on either node.
        all.extend(track::track_run(&env, [Kind::Ours, Kind::Keepalived]));
        all.extend(track::track_run(&env, [Kind::Keepalived, Kind::Ours]));
    }
    if wants("sync") {
        let (v, survived) = scenarios::sync_run(&env, Kind::Ours);
        all.extend(v);
        if let Some(f) = ours.as_mut() {
            f.connection_survived = survived;
        }
        let (v, survived) = scenarios::sync_run(&env, Kind::Keepalived);
        let failed = v.iter().filter(|x| !x.pass).count();
        println!(
            "(keepalived: {failed} of {} items failed; reported, not gated)",
            v.len()
        );
        if let Some(f) = theirs.as_mut() {
            f.connection_survived = survived;
        }
    }
    if wants("ecmp") {
        all.extend(ecmp::ecmp_run(&env));
    }
    if let (Some(a), Some(b)) = (&ours, &theirs) {
        let table = report::comparison(a, b);
        println!(
            "\n=== side by side ({} phase-aligned samples of each timed fault; logs in {})",
            env.repeats,
            env.out_dir.display()
        );
        print!("{table}");
    }
    println!("\n=== verdicts");
    for v in &all {
        println!("{v}");
    }
    let failed = all.iter().filter(|v| !v.pass).count();
    println!("lab: {} passed, {} failed", all.len() - failed, failed);
    if failed == 0 && !all.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
