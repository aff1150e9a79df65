//! The `director` program's command line (the binary is
//! `src/bin/director.rs`): here so the Debian package's man page and shell
//! completions are generated from the same definition as `--help`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use clap::{Parser, Subcommand};
use lvs_director::DirectorConfig;
use lvs_keepalived_conf as config;

/// `director [OPTIONS]` or `director status`.
#[derive(Parser, Debug, Clone)]
#[command(name = "director", version, args_conflicts_with_subcommands = true)]
// `director status --help` is the help; no `help` subcommand (nor its man page).
#[command(disable_help_subcommand = true)]
#[command(about = "keepalived-class director built from the lvs crates")]
#[command(after_long_help = AFTER_HELP)]
#[non_exhaustive]
pub struct Cli {
    /// `director status`, or none to run the director.
    #[command(subcommand)]
    pub command: Option<Cmd>,
    /// keepalived-syntax configuration file.
    #[arg(short = 'f', long = "config-file", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Validate the configuration (errors and warnings), apply nothing:
    /// `-t -f FILE` or `--check-config FILE`.
    #[arg(short = 't', long = "check-config", value_name = "FILE")]
    pub check_config: Option<Option<PathBuf>>,
    /// Serve metrics (OpenMetrics text, which Prometheus scrapes) on this
    /// address; a bare PORT is 127.0.0.1:PORT. Without it nothing listens on
    /// TCP. A non-loopback address (`0.0.0.0:9100`, `[::]:9100`) shows the
    /// director's state to the network: give one only on purpose.
    #[arg(long, value_name = "[ADDR:]PORT", value_parser = metrics_addr)]
    pub metrics: Option<SocketAddr>,
    /// Control socket (default /run/lvs-director/director.sock, or
    /// director@NAME.sock in the network namespace NAME), created mode 0600;
    /// only root and the director's own user are answered.
    #[arg(long, value_name = "PATH")]
    pub control: Option<PathBuf>,
    /// Pid file, locked while the director runs: one director per pid file
    /// (default /run/lvs-director/director.pid, or director@NAME.pid in the
    /// network namespace NAME).
    #[arg(long, value_name = "PATH")]
    pub pid_file: Option<PathBuf>,
    /// Do not set net.ipv4.vs.expire_nodest_conn=1.
    #[arg(long)]
    pub keep_expire_nodest_conn: bool,
    /// The configuration id `@ID` lines are kept for (keepalived's `-i`;
    /// default: the first part of the host name).
    #[arg(short = 'i', long = "config-id", value_name = "ID")]
    pub config_id: Option<String>,
}

/// `--metrics`: `ADDR:PORT`, or a bare `PORT` on loopback.
fn metrics_addr(s: &str) -> Result<SocketAddr, String> {
    match s.parse::<u16>() {
        Ok(port) => Ok(SocketAddr::from(([127, 0, 0, 1], port))),
        Err(_) => s
            .parse()
            .map_err(|_| format!("`{s}` is neither PORT nor ADDR:PORT")),
    }
}

/// What `--help` (and the man page) says after the options.
const AFTER_HELP: &str = "\
One director per network namespace: its pid file (locked before any socket is opened) and \
control socket are /run/lvs-director/director.{pid,sock}, or director@NAME.{pid,sock} in the \
network namespace NAME. The control socket is mode 0600 and each connection's peer uid \
(SO_PEERCRED) must be root or the director's own; anyone else gets one `refused:` line.

Signals: SIGHUP reloads the configuration file (a refused file leaves the running \
configuration in force); SIGTERM and SIGINT stop (priority-0 advert, VIPs removed, the IPVS \
table stays).

Under systemd (Type=notify) it sends READY=1 once VRRP and IPVS are up, STATUS= with each \
instance's state, WATCHDOG=1 when WatchdogSec= is set, RELOADING=1 and STOPPING=1.

Exit status: 0 stopped cleanly (or configuration valid), 1 configuration refused, 2 usage \
error, 3 environment (IPVS or interface missing, permissions, already running).";

/// The subcommands.
#[derive(Subcommand, Debug, Clone)]
pub enum Cmd {
    /// Print the live view of the director of this network namespace.
    Status {
        /// Its control socket (default: this namespace's).
        #[arg(long, value_name = "PATH")]
        control: Option<PathBuf>,
        /// One JSON object, for scripts.
        #[arg(long)]
        json: bool,
    },
    /// Drain the director of this network namespace (`lvs_route_announce`):
    /// its VIPs' routes are withdrawn now, and it stops once no traffic
    /// reaches it any more (or after `drain_timeout`).
    Drain {
        /// Its control socket (default: this namespace's).
        #[arg(long, value_name = "PATH")]
        control: Option<PathBuf>,
    },
    /// Delete the routes a director that did not stop cleanly left
    /// announced (for systemd's `ExecStopPost=`; a start does it too).
    FlushRoutes {
        /// The announcement table.
        #[arg(long, default_value_t = lvs_director::TABLE_ANNOUNCE)]
        table: u32,
        /// The announcement routes' protocol number.
        #[arg(long, default_value_t = lvs_director::PROTO_ANNOUNCE)]
        protocol: u8,
    },
}

impl Cli {
    /// The configuration file, from `-f` or `--check-config FILE`.
    pub fn config_file(&self) -> Result<&Path, String> {
        match (&self.config, &self.check_config) {
            (Some(f), Some(Some(c))) if f != c => Err(format!(
                "two configuration files given ({} and {})",
                f.display(),
                c.display()
            )),
            (Some(f), _) | (None, Some(Some(f))) => Ok(f),
            (None, _) => Err("-f FILE is required (or `director status`)".into()),
        }
    }

    /// Loads and converts the file; every error is returned, warnings printed.
    pub fn load(&self, path: &Path) -> Result<(config::Config, DirectorConfig), Vec<String>> {
        let id = self.config_id.iter();
        let options = id.fold(config::LoadOptions::new(), |o, id| {
            o.with_config_id(id.clone())
        });
        let (cfg, warnings) = config::load_with(path, &options).map_err(|errors| {
            let mut lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
            let (n, s) = (errors.len(), if errors.len() == 1 { "" } else { "s" });
            lines.push(format!(
                "{}: configuration refused ({n} error{s}); nothing was applied",
                path.display()
            ));
            lines
        })?;
        warnings.iter().for_each(|w| eprintln!("{w}"));
        let mut typed = DirectorConfig::try_from(&cfg)
            .map_err(|e| vec![format!("{}: {e}; nothing was applied", path.display())])?;
        typed.ipvs_setup.expire_nodest_conn &= !self.keep_expire_nodest_conn;
        let refused = |e: String| vec![format!("{}: {e}; nothing was applied", path.display())];
        typed
            .check_script_security()
            .map_err(|e| refused(e.to_string()))?;
        typed.validate().map_err(|e| refused(e.to_string()))?;
        Ok((cfg, typed))
    }
}
