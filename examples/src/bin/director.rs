//! `director`: a keepalived-class daemon (VRRP, VIPs, health checks, IPVS).
//!
//! ```text
//! director -f FILE [--check-config] [--metrics ADDR:PORT] [--control PATH] [--pid-file PATH]
//!          [--keep-expire-nodest-conn]
//! director status [--control PATH | -f FILE]
//! ```
//!
//! Exit codes: 0 stopped cleanly (or config valid), 1 configuration refused,
//! 2 usage error, 3 environment error (IPVS missing, interface missing,
//! permissions, control socket in use).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use lvs_examples::director::{self, Options};
use lvs_keepalived_conf as config;

#[derive(Parser, Debug)]
#[command(
    name = "director",
    version,
    about = "keepalived-class director built from the lvs crates"
)]
#[command(args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Cmd>,
    /// keepalived-syntax configuration file.
    #[arg(short = 'f', long = "config-file", value_name = "FILE")]
    config: Option<PathBuf>,
    /// Validate the configuration (errors and warnings), apply nothing.
    #[arg(short = 't', long)]
    check_config: bool,
    /// Serve metrics (OpenMetrics text, which Prometheus scrapes) on this address.
    #[arg(long, value_name = "ADDR:PORT")]
    metrics: Option<SocketAddr>,
    /// Control socket (default /run/lvs-director/<router_id>.sock).
    #[arg(long, value_name = "PATH")]
    control: Option<PathBuf>,
    /// Write the process id to this file (removed on exit).
    #[arg(long, value_name = "PATH")]
    pid_file: Option<PathBuf>,
    /// Do not set net.ipv4.vs.expire_nodest_conn=1.
    #[arg(long)]
    keep_expire_nodest_conn: bool,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Print the live view of a running director.
    Status {
        /// Its control socket.
        #[arg(long, value_name = "PATH")]
        control: Option<PathBuf>,
        /// Its configuration file (to find the control socket by router_id).
        #[arg(short = 'f', long = "config-file", value_name = "FILE")]
        config: Option<PathBuf>,
    },
}

const EXIT_CONFIG: u8 = 1;
const EXIT_USAGE: u8 = 2;
const EXIT_ENV: u8 = 3;

fn load(path: &PathBuf) -> Result<config::Config, ExitCode> {
    match config::load(path) {
        Ok((cfg, warnings)) => {
            for w in &warnings {
                eprintln!("{w}");
            }
            Ok(cfg)
        }
        Err(errors) => {
            for e in &errors {
                eprintln!("{e}");
            }
            eprintln!(
                "{}: configuration refused ({} error{}); nothing was applied",
                path.display(),
                errors.len(),
                if errors.len() == 1 { "" } else { "s" }
            );
            Err(ExitCode::from(EXIT_CONFIG))
        }
    }
}

fn status(control: Option<PathBuf>, config: Option<PathBuf>) -> ExitCode {
    let path = match (control, config) {
        (Some(p), _) => p,
        (None, Some(f)) => match load(&f) {
            Ok(cfg) => director::default_control_path(&cfg),
            Err(code) => return code,
        },
        (None, None) => {
            let socks: Vec<PathBuf> = std::fs::read_dir("/run/lvs-director")
                .map(|d| {
                    d.filter_map(|e| e.ok().map(|e| e.path()))
                        .filter(|p| p.extension().is_some_and(|x| x == "sock"))
                        .collect()
                })
                .unwrap_or_default();
            match socks.as_slice() {
                [one] => one.clone(),
                [] => {
                    eprintln!("no director control socket in /run/lvs-director (use --control)");
                    return ExitCode::from(EXIT_ENV);
                }
                _ => {
                    eprintln!(
                        "several directors run here ({}); pick one with --control",
                        socks
                            .iter()
                            .map(|p| p.display().to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    );
                    return ExitCode::from(EXIT_USAGE);
                }
            }
        }
    };
    match director::query_status(&path) {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("cannot reach the director at {}: {e}", path.display());
            ExitCode::from(EXIT_ENV)
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(Cmd::Status { control, config }) = cli.command {
        return status(control, config);
    }
    let Some(file) = cli.config else {
        eprintln!("director: -f FILE is required (or `director status`)");
        return ExitCode::from(EXIT_USAGE);
    };
    let cfg = match load(&file) {
        Ok(c) => c,
        Err(code) => return code,
    };
    if cli.check_config {
        println!("{}: configuration valid", file.display());
        return ExitCode::SUCCESS;
    }
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let opts = Options {
        control: cli
            .control
            .unwrap_or_else(|| director::default_control_path(&cfg)),
        config_file: file,
        metrics: cli.metrics,
        pid_file: cli.pid_file,
        keep_expire_nodest_conn: cli.keep_expire_nodest_conn,
    };
    let rt = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("director: cannot start the runtime: {e}");
            return ExitCode::from(EXIT_ENV);
        }
    };
    match rt.block_on(director::run(opts, cfg)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("director: {e}");
            ExitCode::from(EXIT_ENV)
        }
    }
}
