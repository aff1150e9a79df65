//! `backend`: prepares a Direct Routing real server (VIP on `lo`, ARP
//! suppression) through lvs-arpguard, audits it, and undoes it.
//!
//! ```text
//! backend --vip 172.20.0.83 [--vip ...] [--mode sysctl|nft] [--iface lo]
//!         [--segment IFACE]... [--all] [--state PATH]
//! backend --audit --vip ... [--mode ...] [--iface ...]
//! backend --undo [--state PATH]
//! ```
//!
//! Exit codes: 0 prepared and audited clean (or undone), 1 the audit found
//! a problem, 2 usage error, 3 the change itself failed.

use std::process::ExitCode;

use clap::Parser;
use lvs_examples::backend::{self, Options};
use lvs_examples::cli::backend::Cli;

fn main() -> ExitCode {
    let cli = Cli::parse();
    let state = cli.state.unwrap_or_else(backend::default_state_path);
    if cli.undo {
        return match backend::undo(&state) {
            Ok(done) => {
                if done.is_empty() {
                    println!("nothing to undo ({} records nothing)", state.display());
                }
                for d in done {
                    println!("{d}");
                }
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("backend --undo: {e}");
                ExitCode::from(3)
            }
        };
    }
    if cli.vips.is_empty() {
        eprintln!("backend: at least one --vip is needed");
        return ExitCode::from(2);
    }
    let opts = Options {
        vips: cli.vips,
        mode: cli.mode.into(),
        iface: cli.iface,
        segments: cli.segments,
        all: cli.all,
        state,
    };
    if !cli.audit {
        match backend::prepare(&opts) {
            Ok(state) => {
                for v in &state.vips {
                    println!(
                        "VIP {} on {}{}",
                        v.addr,
                        v.iface,
                        if v.added {
                            " (added)"
                        } else {
                            " (already there)"
                        }
                    );
                }
                for c in &state.sysctls {
                    println!("{} = {} (was {})", c.path, c.written, c.previous);
                }
                if state.nft_installed {
                    println!("nft table arp lvs_arpguard installed");
                }
                println!("recorded in {}", opts.state.display());
            }
            Err(e) => {
                eprintln!("backend: {e}");
                return ExitCode::from(3);
            }
        }
    }
    match backend::audit(&opts) {
        Ok((lines, problems)) => {
            for l in lines {
                println!("audit: {l}");
            }
            if problems.is_empty() {
                println!("audit: OK");
                ExitCode::SUCCESS
            } else {
                for p in problems {
                    println!("audit: PROBLEM: {p}");
                }
                ExitCode::from(1)
            }
        }
        Err(e) => {
            eprintln!("backend --audit: {e}");
            ExitCode::from(3)
        }
    }
}
