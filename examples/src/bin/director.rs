//! `director`: a keepalived-class daemon, the thin shell around
//! lvs-director's tokio driver (CLI, signals, pid file, control socket,
//! metrics endpoint, process scheduling).
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
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use lvs_director::report::{self, Snapshot};
use lvs_director::{DirectorConfig, Handle};
use lvs_keepalived_conf as config;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::signal::unix::{SignalKind, signal};
use tracing::{error, info, warn};

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
const RUN_DIR: &str = "/run/lvs-director";

/// Loads and converts the file; every error and warning is printed.
fn load(path: &Path, keep_expire: bool) -> Result<(config::Config, DirectorConfig), Vec<String>> {
    let (cfg, warnings) = config::load(path).map_err(|errors| {
        let mut lines: Vec<String> = errors.iter().map(ToString::to_string).collect();
        lines.push(format!(
            "{}: configuration refused ({} error{}); nothing was applied",
            path.display(),
            errors.len(),
            if errors.len() == 1 { "" } else { "s" }
        ));
        lines
    })?;
    for w in &warnings {
        eprintln!("{w}");
    }
    let mut typed = DirectorConfig::try_from(&cfg)
        .map_err(|e| vec![format!("{}: {e}; nothing was applied", path.display())])?;
    if keep_expire {
        typed.ipvs_setup.expire_nodest_conn = false;
    }
    Ok((cfg, typed))
}

fn control_path(cfg: &config::Config) -> PathBuf {
    let name = cfg.global.router_id.as_deref().unwrap_or("director");
    Path::new(RUN_DIR).join(format!("{name}.sock"))
}

fn status(control: Option<PathBuf>, config: Option<PathBuf>) -> ExitCode {
    let path = match (control, config) {
        (Some(p), _) => p,
        (None, Some(f)) => match load(&f, false) {
            Ok((cfg, _)) => control_path(&cfg),
            Err(lines) => {
                lines.iter().for_each(|l| eprintln!("{l}"));
                return ExitCode::from(EXIT_CONFIG);
            }
        },
        (None, None) => {
            let socks: Vec<PathBuf> = std::fs::read_dir(RUN_DIR)
                .map(|d| d.filter_map(|e| e.ok().map(|e| e.path())).collect())
                .unwrap_or_default();
            let socks: Vec<PathBuf> = socks
                .into_iter()
                .filter(|p| p.extension().is_some_and(|x| x == "sock"))
                .collect();
            match socks.as_slice() {
                [one] => one.clone(),
                [] => {
                    eprintln!("no director control socket in {RUN_DIR} (use --control)");
                    return ExitCode::from(EXIT_ENV);
                }
                _ => {
                    let all: Vec<String> = socks.iter().map(|p| p.display().to_string()).collect();
                    eprintln!(
                        "several directors run here ({}); pick one with --control",
                        all.join(", ")
                    );
                    return ExitCode::from(EXIT_USAGE);
                }
            }
        }
    };
    let ask = || -> std::io::Result<String> {
        use std::io::{Read, Write};
        let mut s = std::os::unix::net::UnixStream::connect(&path)?;
        s.set_read_timeout(Some(Duration::from_secs(5)))?;
        s.write_all(b"status\n")?;
        let mut out = String::new();
        s.read_to_string(&mut out)?;
        Ok(out)
    };
    match ask() {
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

/// keepalived's `vrrp_priority`/`vrrp_rt_priority`/`vrrp_no_swap` (and the
/// checker twins) for the one director process, before any thread starts
/// (threads inherit them). Failure is a warning, as in keepalived.
fn apply_process_scheduling(g: &config::GlobalDefs) {
    // One socket per probe in flight: thousands of checks need more than
    // the usual 1,024 descriptors (keepalived raises its limit too).
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut nofile = getrlimit(Resource::Nofile);
    if nofile.current < nofile.maximum {
        nofile.current = nofile.maximum;
        if let Err(e) = setrlimit(Resource::Nofile, nofile) {
            warn!(error = %e, "cannot raise the open-file limit");
        }
    }
    if let Some(n) = g.nice {
        match rustix::process::setpriority_process(None, i32::from(n)) {
            Ok(()) => info!(nice = n, "process priority set"),
            Err(e) => warn!(nice = n, error = %e, "cannot set the process priority"),
        }
    }
    if let Some(p) = g.rt_priority {
        let param = libc::sched_param {
            sched_priority: libc::c_int::from(p),
        };
        // SAFETY: 0 is the calling thread; `param` is a valid sched_param.
        // (rustix has no sched_setscheduler.)
        if unsafe { libc::sched_setscheduler(0, libc::SCHED_RR, &param) } == 0 {
            info!(priority = p, "real-time scheduling SCHED_RR");
        } else {
            warn!(priority = p, error = %std::io::Error::last_os_error(), "cannot set real-time scheduling");
        }
    }
    if g.no_swap {
        use rustix::mm::MlockAllFlags;
        match rustix::mm::mlockall(MlockAllFlags::CURRENT | MlockAllFlags::FUTURE) {
            Ok(()) => info!("memory locked (no swap)"),
            Err(e) => warn!(error = %e, "cannot lock memory"),
        }
    }
}

fn bind_control(path: &Path) -> Result<tokio::net::UnixListener, String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    }
    // A live director answers on it: refuse to steal its socket.
    if std::os::unix::net::UnixStream::connect(path).is_ok() {
        return Err(format!(
            "another director is running with control socket {} (use --control)",
            path.display()
        ));
    }
    let _ = std::fs::remove_file(path);
    tokio::net::UnixListener::bind(path).map_err(|e| format!("cannot bind {}: {e}", path.display()))
}

async fn accept_tcp(l: Option<&tokio::net::TcpListener>) -> Option<tokio::net::TcpStream> {
    match l {
        Some(l) => l.accept().await.ok().map(|(s, _)| s),
        None => std::future::pending().await,
    }
}

/// Answers one metrics request (any path) with the OpenMetrics body, over
/// hyper's HTTP/1 server (one request per connection: the body is this
/// connection's snapshot).
async fn serve_metrics(stream: tokio::net::TcpStream, body: String) {
    let body = bytes::Bytes::from(body);
    let service = hyper::service::service_fn(move |_req: hyper::Request<hyper::body::Incoming>| {
        let body = http_body_util::Full::new(body.clone());
        async move {
            hyper::Response::builder()
                .header(
                    "Content-Type",
                    "application/openmetrics-text; version=1.0.0; charset=utf-8",
                )
                .body(body)
        }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .keep_alive(false)
        .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
    let _ = tokio::time::timeout(Duration::from_secs(5), conn).await;
}

async fn snapshot(handle: &Handle, file: &Path) -> Option<Snapshot> {
    let r = handle.status().await?;
    Some(Snapshot::new(
        &r,
        std::process::id(),
        &file.display().to_string(),
    ))
}

/// Runs until SIGTERM/SIGINT; SIGHUP reloads the file.
async fn serve(
    cli: &Cli,
    file: &Path,
    typed: DirectorConfig,
    control: &Path,
) -> Result<(), String> {
    let mut sigterm = signal(SignalKind::terminate()).map_err(|e| e.to_string())?;
    let mut sigint = signal(SignalKind::interrupt()).map_err(|e| e.to_string())?;
    let mut sighup = signal(SignalKind::hangup()).map_err(|e| e.to_string())?;
    let listener = bind_control(control)?;
    let metrics = match cli.metrics {
        Some(addr) => Some(
            tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|e| format!("cannot listen on {addr} for metrics: {e}"))?,
        ),
        None => None,
    };
    let handle = lvs_director::run(typed).await.map_err(|e| e.to_string())?;
    info!(control = %control.display(), metrics = ?cli.metrics, "director running");
    loop {
        tokio::select! {
            _ = sigterm.recv() => { info!("SIGTERM: stopping"); break; }
            _ = sigint.recv() => { info!("SIGINT: stopping"); break; }
            _ = sighup.recv() => {
                info!(file = %file.display(), "SIGHUP: reloading the configuration");
                // Parsing a large file takes a while: off the runtime's thread,
                // which the director's event loop shares.
                let (path, keep) = (file.to_path_buf(), cli.keep_expire_nodest_conn);
                // The parsed keepalived model is dropped there too (thousands of allocations).
                let loaded = tokio::task::spawn_blocking(move || load(&path, keep).map(|(_, typed)| typed))
                    .await
                    .unwrap_or_else(|e| Err(vec![format!("configuration loader failed: {e}")]));
                match loaded {
                    Err(lines) => {
                        lines.iter().for_each(|l| error!("{l}"));
                        error!("reload refused: the running configuration stays in force");
                    }
                    Ok(typed) => match handle.reload(typed).await {
                        Ok(s) if s.is_empty() => info!("reload: nothing changed"),
                        Ok(s) => {
                            if s.instances_updated > 0 {
                                info!(instances = s.instances_updated, "reload: settings updated in place (no VRRP restart)");
                            }
                            info!(started = s.instances_started, stopped = s.instances_stopped,
                                  virtual_servers = s.virtual_servers_changed, ipvs_ops = s.ipvs_ops, "reload applied");
                        }
                        Err(e) => error!("reload refused: {e}; the running configuration stays in force"),
                    },
                }
            }
            Ok((mut stream, _)) = listener.accept() => {
                let text = snapshot(&handle, file).await.map(|s| report::render(&s)).unwrap_or_default();
                tokio::spawn(async move {
                    let mut buf = [0u8; 64];
                    let _ = tokio::time::timeout(Duration::from_millis(200), stream.read(&mut buf)).await;
                    let _ = stream.write_all(text.as_bytes()).await;
                    let _ = stream.shutdown().await;
                });
            }
            Some(stream) = accept_tcp(metrics.as_ref()) => {
                let body = snapshot(&handle, file).await.map(|s| report::metrics(&s)).unwrap_or_default();
                tokio::spawn(serve_metrics(stream, body));
            }
        }
    }
    handle.shutdown().await;
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(Cmd::Status { control, config }) = cli.command {
        return status(control, config);
    }
    let Some(file) = cli.config.clone() else {
        eprintln!("director: -f FILE is required (or `director status`)");
        return ExitCode::from(EXIT_USAGE);
    };
    let (cfg, typed) = match load(&file, cli.keep_expire_nodest_conn) {
        Ok(c) => c,
        Err(lines) => {
            lines.iter().for_each(|l| eprintln!("{l}"));
            return ExitCode::from(EXIT_CONFIG);
        }
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
    apply_process_scheduling(&cfg.global);
    let control = cli.control.clone().unwrap_or_else(|| control_path(&cfg));
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
    if let Some(p) = &cli.pid_file
        && let Err(e) = std::fs::write(p, format!("{}\n", std::process::id()))
    {
        eprintln!("director: cannot write pid file {}: {e}", p.display());
        return ExitCode::from(EXIT_ENV);
    }
    let result = rt.block_on(serve(&cli, &file, typed, &control));
    if let Some(p) = &cli.pid_file {
        let _ = std::fs::remove_file(p);
    }
    let _ = std::fs::remove_file(&control);
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            error!("{e}");
            eprintln!("director: {e}");
            ExitCode::from(EXIT_ENV)
        }
    }
}
