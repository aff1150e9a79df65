//! The fuzz targets' smoke run (a step of `cargo xtask test`, alone as
//! `cargo xtask fuzz-smoke [SECS]`): builds `fuzz/` with cargo-fuzz and runs
//! every target for a short while from its committed corpus, two at a time,
//! failing on any crash, hang (`-timeout`) or out-of-memory (`-rss_limit_mb`).
//!
//! Toolchain: the nightly one when rustup has it, else the default (stable)
//! one with `RUSTC_BOOTSTRAP=1`, which cargo-fuzz's `-Z` flags need; nothing
//! is downloaded. No sanitizer (`--sanitizer none`): the code under test is
//! safe Rust, the sanitizer runtime is not in every stable toolchain, and
//! plain builds run several times more inputs in the same time; debug
//! assertions are on, so arithmetic overflow is a crash. The smoke run
//! builds in cargo-fuzz's dev mode (unoptimised: its release mode compiles
//! everything as one codegen unit, minutes more on a clean CI machine,
//! for 30 s of running); the long campaigns (fuzz/README.md) use release.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Instant;

use crate::workspace_root;

/// How long each target runs in the suite.
pub(crate) const SUITE_SECONDS: u64 = 30;

/// libFuzzer's limits, the same as the long campaigns' (fuzz/README.md).
const LIBFUZZER_LIMITS: &[&str] = &["-rss_limit_mb=2048", "-timeout=10"];

/// The cargo-fuzz invocation: `cargo [+nightly] fuzz` in `fuzz/`.
fn cargo_fuzz(nightly: bool) -> Command {
    let mut c = Command::new("cargo");
    if nightly {
        c.arg("+nightly");
    } else {
        c.env("RUSTC_BOOTSTRAP", "1");
    }
    c.arg("fuzz").current_dir(workspace_root().join("fuzz"));
    c
}

fn has_nightly() -> bool {
    Command::new("rustup")
        .args(["run", "nightly", "rustc", "--version"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

fn host_triple() -> Result<String, String> {
    let out = Command::new("rustc")
        .arg("-vV")
        .output()
        .map_err(|e| format!("cannot run rustc -vV: {e}"))?;
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_string))
        .ok_or_else(|| "rustc -vV names no host triple".into())
}

/// The value of libFuzzer's final `stat::NAME: value` line.
fn stat(log: &str, name: &str) -> Option<u64> {
    log.lines()
        .find_map(|l| l.strip_prefix(&format!("stat::{name}:")))
        .and_then(|v| v.trim().parse().ok())
}

struct Running {
    target: String,
    child: Child,
    log: PathBuf,
    artifacts: PathBuf,
    started: Instant,
}

fn start(bin: &Path, target: &str, scratch: &Path, seconds: u64) -> Result<Running, String> {
    let dir = scratch.join(target);
    let corpus = dir.join("corpus");
    let artifacts = dir.join("artifacts");
    for d in [&corpus, &artifacts] {
        std::fs::create_dir_all(d).map_err(|e| format!("{}: {e}", d.display()))?;
    }
    let log = dir.join("log");
    let file = std::fs::File::create(&log).map_err(|e| format!("{}: {e}", log.display()))?;
    // New inputs go to the scratch corpus (the first directory); the
    // committed one is only read.
    let child = Command::new(bin)
        .arg(format!("-max_total_time={seconds}"))
        .args(LIBFUZZER_LIMITS)
        .arg("-print_final_stats=1")
        .arg(format!("-artifact_prefix={}/", artifacts.display()))
        .arg(&corpus)
        .arg(workspace_root().join("fuzz/corpus").join(target))
        .stdout(Stdio::null())
        .stderr(file)
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", bin.display()))?;
    Ok(Running {
        target: target.to_string(),
        child,
        log,
        artifacts,
        started: Instant::now(),
    })
}

/// Waits for one run and prints its one-line figure; `Err` names a failure.
fn finish(mut r: Running) -> Result<(), String> {
    let status = r
        .child
        .wait()
        .map_err(|e| format!("waiting for {}: {e}", r.target))?;
    let secs = r.started.elapsed().as_secs();
    let log = std::fs::read_to_string(&r.log).unwrap_or_default();
    let execs = stat(&log, "number_of_executed_units").unwrap_or(0);
    let rss = stat(&log, "peak_rss_mb").unwrap_or(0);
    let found: Vec<String> = std::fs::read_dir(&r.artifacts)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.path().display().to_string())
                .collect()
        })
        .unwrap_or_default();
    let verdict = if status.success() && found.is_empty() {
        "ok"
    } else {
        "FAILED"
    };
    println!(
        "fuzz {}: {execs} execs in {secs} s, peak RSS {rss} MB, {verdict}",
        r.target
    );
    if verdict == "ok" {
        Ok(())
    } else {
        let tail: Vec<&str> = log.lines().rev().take(30).collect();
        for line in tail.into_iter().rev() {
            eprintln!("  {line}");
        }
        Err(format!(
            "fuzz target {} ({status}; inputs: {}; log: {})",
            r.target,
            found.join(", "),
            r.log.display()
        ))
    }
}

/// Builds the fuzz targets and runs each for `seconds`, two at a time.
pub(crate) fn smoke(seconds: u64) -> Result<(), String> {
    let nightly = has_nightly();
    let found = cargo_fuzz(nightly)
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success());
    if !found {
        return Err("cargo-fuzz is missing (cargo xtask setup installs it)".into());
    }
    eprintln!(
        "fuzz: toolchain {}",
        if nightly {
            "nightly"
        } else {
            "default with RUSTC_BOOTSTRAP=1"
        }
    );
    // Beside the workspace's builds (its flags differ, so not in them).
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace_root().join("target"))
        .join("fuzz");
    crate::run_status(
        cargo_fuzz(nightly)
            .args([
                "build",
                "--dev",
                "--sanitizer",
                "none",
                "--debug-assertions",
            ])
            .arg("--target-dir")
            .arg(&target_dir),
    )?;
    let list = cargo_fuzz(nightly)
        .arg("list")
        .output()
        .map_err(|e| format!("cannot run cargo fuzz list: {e}"))?;
    let targets: Vec<String> = String::from_utf8_lossy(&list.stdout)
        .split_whitespace()
        .map(str::to_string)
        .collect();
    if targets.is_empty() {
        return Err("cargo fuzz list names no target".into());
    }
    let bin_dir = target_dir.join(host_triple()?).join("debug");
    let scratch = target_dir.join("smoke");
    let _ = std::fs::remove_dir_all(&scratch);
    let started = Instant::now();
    let mut failures = Vec::new();
    for pair in targets.chunks(2) {
        let mut running = Vec::new();
        for t in pair {
            running.push(start(&bin_dir.join(t), t, &scratch, seconds)?);
        }
        for r in running {
            if let Err(e) = finish(r) {
                failures.push(e);
            }
        }
    }
    println!(
        "fuzz: {} targets, {seconds} s each, two at a time: {} s",
        targets.len(),
        started.elapsed().as_secs()
    );
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn final_stats_are_read() {
        let log = "#123 DONE cov: 1\nstat::number_of_executed_units: 4242\nstat::peak_rss_mb: 31\n";
        assert_eq!(stat(log, "number_of_executed_units"), Some(4242));
        assert_eq!(stat(log, "peak_rss_mb"), Some(31));
        assert_eq!(stat(log, "slowest_unit_time_sec"), None);
    }
}
