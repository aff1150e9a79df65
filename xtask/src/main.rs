//! Orchestration for the lvs workspace: `cargo xtask <command>`.
//!
//! - `setup`: installs what the suite needs, idempotently (Debian packages,
//!   Debian's kernel image for the IPVS VM, virtme-ng in a venv).
//! - `test`: the whole suite — lints, host unit tests, root/netns tests on the
//!   host, then every `vm_*` test inside one boot of the kernel VM.
//! - `demo`: the main demo (the seed lab, inside the kernel VM).
//! - `publish-check`: the suite's packaging lint alone (publish dry run
//!   without the rebuild, README and licences in every published package).
//! - `package [--install-check]`: the Debian package `lvs-director`
//!   (cargo-deb), its contents and unit checked; `--install-check` also
//!   installs and removes it (a step of `test`).
//! - `fuzz-smoke [SECS]`: the suite's fuzzing step alone (every `fuzz/`
//!   target for SECS seconds, 30 by default, two at a time).
//! - `vm -- CMD…`: runs a command inside the kernel VM (for development).
//!
//! Every step that was asked for and cannot run is a failure with a message
//! naming what is missing; nothing is skipped silently.

mod fuzz;
mod package;
mod setup;
mod suite;
mod vm;

use std::process::ExitCode;

fn usage() -> ExitCode {
    eprintln!(
        "usage: cargo xtask <setup | test [--no-lint] [--host-only] | demo | publish-check | package [--install-check] | fuzz-smoke [SECS] | vm [--timeout SECS] -- CMD...>"
    );
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(cmd) = args.first() else {
        return usage();
    };
    let rest = &args[1..];
    let result = match cmd.as_str() {
        "setup" => setup::run(),
        "test" => suite::run(rest),
        "demo" => suite::demo(rest),
        "publish-check" => suite::publish_check(),
        "package" => package::run(rest),
        "fuzz-smoke" => match rest.first().map(|s| s.parse::<u64>()) {
            None => fuzz::smoke(fuzz::SUITE_SECONDS),
            Some(Ok(secs)) => fuzz::smoke(secs),
            Some(Err(_)) => return usage(),
        },
        "vm" => vm::run_cli(rest),
        _ => return usage(),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask {cmd}: error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs a command, inheriting stdio; an error names the command on failure.
pub(crate) fn run_status(cmd: &mut std::process::Command) -> Result<(), String> {
    let shown = format!("{cmd:?}");
    let status = cmd
        .status()
        .map_err(|e| format!("cannot start {shown}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("{shown} failed: {status}"))
    }
}

/// The workspace root (the parent of this crate's directory).
pub(crate) fn workspace_root() -> std::path::PathBuf {
    let here = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    here.parent().unwrap_or(here).to_path_buf()
}
