//! The seed lab (LAB.md), end to end, inside the kernel VM:
//! `cargo xtask demo` boots the VM and runs this program as root.
//!
//! `lab` runs every scenario and prints a verdict per LAB.md item; it exits
//! non-zero when any fails. `lab serve-http NAME ADDR` is the backends'
//! HTTP server (started by the lab itself in the backends' namespaces).

use std::process::ExitCode;

use lvs_examples::lab::{httpd, seed, topology::SeedLab};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        Some("serve-http") => {
            let (Some(name), Some(addr)) = (args.get(1), args.get(2)) else {
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
        None => {
            let lab = SeedLab::build();
            let verdicts = seed::manual_ipvs(&lab);
            println!();
            for v in &verdicts {
                println!("{v}");
            }
            let failed = verdicts.iter().filter(|v| !v.pass).count();
            println!("{} passed, {} failed", verdicts.len() - failed, failed);
            if failed == 0 {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
        Some(other) => {
            eprintln!("lab: unknown command {other:?} (commands: serve-http)");
            ExitCode::from(2)
        }
    }
}
