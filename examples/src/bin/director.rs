//! `director`: a keepalived-class daemon, the thin shell around
//! lvs-director's tokio driver (CLI, signals, pid file, control socket,
//! metrics endpoint, process scheduling). Its CLI, the control socket
//! protocol and the one-per-namespace rule live in `lvs_examples::director`.
//!
//! ```text
//! director -f FILE [-t] [--metrics ADDR:PORT] [--control PATH] [--pid-file PATH]
//!          [--keep-expire-nodest-conn]
//! director --check-config FILE          (as -t -f FILE)
//! director status [--json] [--control PATH]
//! director --version
//! ```
//!
//! Under systemd (`Type=notify`) it sends READY=1 once VRRP and IPVS are
//! up, STATUS= lines, and WATCHDOG=1 from its event loop (`WatchdogSec=`).
//!
//! One director per network namespace: the pid file (locked) and the
//! control socket are named after the namespace, and the lock is taken
//! before any socket is opened.
//!
//! Exit codes: 0 stopped cleanly (or config valid), 1 configuration refused,
//! 2 usage error, 3 environment error (IPVS missing, interface missing,
//! permissions, another director running, control socket in use).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use lvs_director::report::{self, Snapshot};
use lvs_director::{DirectorConfig, Handle};
use lvs_examples::director::cli::{self, Cli, Cmd};
use lvs_examples::director::instance::{InstanceLock, Netns, RUN_DIR};
use lvs_examples::director::notify::{self, Notifier};
use lvs_keepalived_conf as config;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::signal::unix::{SignalKind, signal};
use tracing::{error, info, warn};

const EXIT_CONFIG: u8 = 1;
const EXIT_USAGE: u8 = 2;
const EXIT_ENV: u8 = 3;

/// Loads and converts the file; every error and warning is printed.
fn load(
    path: &Path,
    options: &config::LoadOptions,
    keep_expire: bool,
) -> Result<(config::Config, DirectorConfig), Vec<String>> {
    let (cfg, warnings) = config::load_with(path, options).map_err(|errors| {
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

fn status(control: Option<PathBuf>, json: bool) -> ExitCode {
    let path = match control {
        Some(p) => p,
        None => match Netns::current() {
            Ok(ns) => ns.control_socket(),
            Err(e) => {
                eprintln!("cannot tell this network namespace: {e} (use --control)");
                return ExitCode::from(EXIT_ENV);
            }
        },
    };
    match cli::ask(&path, json) {
        Ok(text) => {
            print!("{text}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            let others: Vec<String> = std::fs::read_dir(RUN_DIR)
                .into_iter()
                .flatten()
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "sock") && *p != path)
                .map(|p| p.display().to_string())
                .collect();
            eprintln!("cannot reach the director at {}: {e}", path.display());
            if !others.is_empty() {
                eprintln!(
                    "other control sockets (use --control): {}",
                    others.join(", ")
                );
            }
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

/// The next notify tick, or never without a service manager.
async fn next_tick(t: Option<&mut tokio::time::Interval>) {
    match t {
        Some(t) => {
            t.tick().await;
        }
        None => std::future::pending().await,
    }
}

async fn status_line(handle: &Handle, file: &Path) -> Option<String> {
    snapshot(handle, file)
        .await
        .map(|s| notify::status_line(&s))
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
    // VRRP sockets are open and the IPVS table reconciled: systemd may go on.
    let mut notifier = Notifier::from_env();
    notifier.ready(&status_line(&handle, file).await.unwrap_or_default());
    let mut tick = notifier.tick_interval().map(tokio::time::interval);
    loop {
        tokio::select! {
            _ = next_tick(tick.as_mut()) => notifier.tick(status_line(&handle, file).await),
            _ = sigterm.recv() => { info!("SIGTERM: stopping"); break; }
            _ = sigint.recv() => { info!("SIGINT: stopping"); break; }
            _ = sighup.recv() => {
                info!(file = %file.display(), "SIGHUP: reloading the configuration");
                notifier.reloading();
                // Parsing a large file takes a while: off the runtime's thread,
                // which the director's event loop shares.
                let (path, keep, options) = (file.to_path_buf(), cli.keep_expire_nodest_conn, cli.load_options());
                // The parsed keepalived model is dropped there too (thousands of allocations).
                // At a lower priority: in a busy machine, parsing must not take the CPU from VRRP.
                let (tx, rx) = tokio::sync::oneshot::channel();
                std::thread::spawn(move || {
                    let _ = lvs_sys::lower_thread_priority(10);
                    let _ = tx.send(load(&path, &options, keep).map(|(_, typed)| typed));
                });
                let loaded = rx.await.unwrap_or_else(|_| Err(vec!["configuration loader failed".to_string()]));
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
                // Reloaded or refused, the director runs on.
                notifier.ready(&status_line(&handle, file).await.unwrap_or_default());
            }
            Ok((mut stream, _)) = listener.accept() => {
                // The snapshot is taken here; the request is read and answered off the loop.
                let snap = snapshot(&handle, file).await;
                tokio::spawn(async move {
                    let mut buf = [0u8; 64];
                    let n = tokio::time::timeout(Duration::from_millis(200), stream.read(&mut buf)).await;
                    let text = cli::answer(&buf[..n.ok().and_then(Result::ok).unwrap_or(0)], snap.as_ref());
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
    notifier.stopping();
    handle.shutdown().await;
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Some(Cmd::Status { control, json }) = cli.command {
        return status(control, json);
    }
    let file = match cli.config_file() {
        Ok(f) => f.to_path_buf(),
        Err(e) => {
            eprintln!("director: {e}");
            return ExitCode::from(EXIT_USAGE);
        }
    };
    let (cfg, typed) = match load(&file, &cli.load_options(), cli.keep_expire_nodest_conn) {
        Ok(c) => c,
        Err(lines) => {
            lines.iter().for_each(|l| eprintln!("{l}"));
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    if cli.check_only() {
        println!("{}: configuration valid", file.display());
        return ExitCode::SUCCESS;
    }
    // One director per network namespace, decided before any socket is
    // opened, thread started or VIP touched. Held until main returns.
    let netns = match Netns::current() {
        Ok(ns) => ns,
        Err(e) => {
            eprintln!("director: cannot tell this network namespace: {e}");
            return ExitCode::from(EXIT_ENV);
        }
    };
    let pid_file = cli.pid_file.clone().unwrap_or_else(|| netns.pid_file());
    let _instance = match InstanceLock::acquire(&pid_file) {
        Ok(lock) => lock,
        Err(e) => {
            eprintln!("director: {e}");
            return ExitCode::from(EXIT_ENV);
        }
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    apply_process_scheduling(&cfg.global);
    let control = cli
        .control
        .clone()
        .unwrap_or_else(|| netns.control_socket());
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
    let result = rt.block_on(serve(&cli, &file, typed, &control));
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
