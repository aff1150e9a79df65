//! The seed lab (LAB.md), end to end, inside the kernel VM:
//! `cargo xtask demo` boots the VM and runs this program as root.
//!
//! `lab [--only manual|director|keepalived|mixed|track|sync|faults|ecmp|rss]… [--repeat N]` runs
//! the scenarios and prints a verdict per LAB.md item (per item of the
//! active-active ECMP part, issue 13, and per fault of the faults part and
//! the resource bound, issue 14; `rss` runs in the background from the
//! start, at least 10 minutes), then the side-by-side
//! figures of `director` and keepalived (each timed fault repeated N times,
//! default 5, at a fixed phase of the advert interval or health check); it
//! exits non-zero when any verdict fails. Each part and timed fault starts
//! with a `--- now:` line saying roughly how long it takes; at the end the
//! lab writes `report.html` beside its logs (a timeline per timed fault, the
//! table, every verdict) and prints `report: PATH`.
//! `lab serve-http NAME ADDR` is the backends' HTTP server (started by the
//! lab itself in the backends' namespaces).

use std::process::ExitCode;
use std::time::Duration;

use lvs_examples::lab::harness::{self, Env, Kind};
use lvs_examples::lab::seed::{self, Verdict};
use lvs_examples::lab::{ecmp, faults, html, report, rss, scenarios, track};
use lvs_examples::lab::{httpd, topology::SeedLab};

const PARTS: &[&str] = &[
    "manual",
    "director",
    "keepalived",
    "mixed",
    "track",
    "sync",
    "faults",
    "ecmp",
    "rss",
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

/// Roughly how long each part takes in the emulated VM with `repeats`
/// samples of each timed fault, for the phase lines: manual, director,
/// keepalived and ecmp as measured in VM runs; the others estimated.
fn about(part: &str, repeats: usize) -> Duration {
    let r = repeats as u64;
    Duration::from_secs(match part {
        "manual" => 40,
        "director" | "keepalived" => 50 + 47 * r,
        "mixed" => 120,
        "track" => 90,
        "sync" => 80,
        // 200 s in a VM run (230 s with the boot).
        "ecmp" => 200,
        // Both programs: about 200 s each.
        "faults" => 420,
        _ => 60,
    })
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
    let mut reference: Vec<Verdict> = Vec::new();
    let phase = |p: &str, what: &str| harness::phase(&format!("{p}: {what}"), about(p, repeats));
    // First, so its ten minutes overlap the other parts.
    let background = wants("rss").then(|| rss::Background::start(&env));
    if wants("manual") {
        phase("manual", "the seed's ipvsadm commands through lvs-ipvs");
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
        phase("director", "the seed lab with director on both nodes");
        let (v, f) = scenarios::full_run(&env, Kind::Ours);
        all.extend(v);
        ours = Some(f);
    }
    if wants("keepalived") {
        // The reference's verdicts are reported, not gated: they are the
        // baseline we compare against.
        phase("keepalived", "the seed lab with keepalived on both nodes");
        let (v, f) = scenarios::full_run(&env, Kind::Keepalived);
        let failed = v.iter().filter(|x| !x.pass).count();
        println!(
            "(keepalived: {failed} of {} items failed; reported, not gated)",
            v.len()
        );
        reference.extend(v);
        theirs = Some(f);
    }
    if wants("mixed") {
        phase("mixed", "three mixed pairs, failover and back");
        all.extend(scenarios::mixed_run(&env, [Kind::Ours, Kind::Keepalived]));
        all.extend(scenarios::mixed_run(&env, [Kind::Keepalived, Kind::Ours]));
        // The README's embedding example against the director.
        all.extend(scenarios::mixed_run(&env, [Kind::Embedded, Kind::Ours]));
    }
    if wants("track") {
        phase("track", "a tracked health script, two pairs");
        // kubeadm's tracked health script, either implementation on either node.
        all.extend(track::track_run(&env, [Kind::Ours, Kind::Keepalived]));
        all.extend(track::track_run(&env, [Kind::Keepalived, Kind::Ours]));
    }
    if wants("sync") {
        phase(
            "sync",
            "connection sync across a failover, both implementations",
        );
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
        reference.extend(v);
        if let Some(f) = theirs.as_mut() {
            f.connection_survived = survived;
        }
    }
    let mut fault_table = None;
    if wants("faults") {
        phase("faults", "faults under load, director then keepalived");
        let (v, ours) = faults::faults_run(&env, Kind::Ours);
        all.extend(v);
        let (v, theirs) = faults::faults_run(&env, Kind::Keepalived);
        let failed = v.iter().filter(|x| !x.pass).count();
        println!(
            "(keepalived: {failed} of {} fault verdicts failed; reported, not gated)",
            v.len()
        );
        reference.extend(v);
        fault_table = Some(faults::comparison(&ours, &theirs));
    }
    if wants("ecmp") {
        phase(
            "ecmp",
            "three active-active directors behind ECMP (FRR, BFD)",
        );
        all.extend(ecmp::ecmp_run(&env));
    }
    if let Some(b) = background {
        b.finish(&mut all);
    }
    let table = ours
        .as_ref()
        .zip(theirs.as_ref())
        .map(|(a, b)| report::comparison(a, b));
    if let Some(table) = &table {
        println!(
            "\n=== side by side ({} phase-aligned samples of each timed fault; logs in {})",
            env.repeats,
            env.out_dir.display()
        );
        print!("{table}");
    }
    if let Some(t) = &fault_table {
        println!("\n=== faults under load, side by side\n{t}");
    }
    println!("\n=== verdicts");
    for v in &all {
        println!("{v}");
    }
    let sides: Vec<html::Side> = [("director", &ours), ("keepalived", &theirs)]
        .into_iter()
        .filter_map(|(name, f)| f.as_ref().map(|figures| html::Side { name, figures }))
        .collect();
    let verdicts = [
        html::Verdicts {
            title: "verdicts",
            items: &all,
        },
        html::Verdicts {
            title: "keepalived's (reported, not gated)",
            items: &reference,
        },
    ];
    match html::write(&env.out_dir, &sides, table.as_deref(), &verdicts) {
        Ok(path) => println!("report: {}", path.display()),
        Err(e) => println!("report: not written in {}: {e}", env.out_dir.display()),
    }
    let failed = all.iter().filter(|v| !v.pass).count();
    println!("lab: {} passed, {} failed", all.len() - failed, failed);
    if failed == 0 && !all.is_empty() {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
