//! `director`, a keepalived-class daemon: the thin shell (CLI, signals, pid file, control
//! socket, metrics, scheduling, systemd notify) around lvs-director's tokio driver.
//! One director per network namespace: its pid file (locked before any socket is
//! opened) and control socket are `/run/lvs-director/director[@NAME].{pid,sock}`.
//! Control protocol: one line, `status`, `status json` or `drain`; the answer; EOF. The socket
//! is mode 0600 and each peer's SO_PEERCRED uid must be root or the director's own:
//! anyone else gets one `refused: ...` line.
//! Exit codes: 0 stopped cleanly (or config valid), 1 configuration refused, 2 usage
//! error, 3 environment (IPVS or interface missing, permissions, already running).

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use lvs_director::report::{self, Snapshot};
use lvs_director::systemd::{Notifier, status_line};
use lvs_director::{DirectorConfig, Handle};
use lvs_examples::cli::director::{Cli, Cmd};
use lvs_keepalived_conf as config;
use lvs_sys::{NetnsName, PidFile, PidFileError};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::oneshot;
use tracing::{error, info, warn};

const EXIT_CONFIG: u8 = 1;
const EXIT_USAGE: u8 = 2;
const EXIT_ENV: u8 = 3;
const RUN_DIR: &str = "/run/lvs-director";

/// This namespace's default pid file or control socket.
fn run_file(ns: &NetnsName, ext: &str) -> PathBuf {
    Path::new(RUN_DIR).join(format!("{}.{ext}", ns.file_stem("director")))
}

/// The director's answer to a control request (`None`: the driver is gone).
fn answer(request: &[u8], snapshot: Option<&Snapshot>) -> String {
    let json = String::from_utf8_lossy(request).split_whitespace().nth(1) == Some("json");
    match (snapshot, json) {
        (Some(s), false) => report::render(s),
        (Some(s), true) => s.to_json() + "\n",
        (None, false) => String::new(),
        (None, true) => "{\"error\":\"the director is stopping\"}\n".into(),
    }
}

/// `director status` / `drain`: asks this namespace's director (or `--control`'s).
fn ask(control: &Option<PathBuf>, request: &[u8]) -> Result<(), (u8, Vec<String>)> {
    use std::io::{Read, Write};
    let fail = |line: String| (EXIT_ENV, vec![line]);
    let here = || NetnsName::current().map(|ns| run_file(&ns, "sock"));
    let path = control.clone().map_or_else(here, Ok).map_err(|e| {
        fail(format!(
            "cannot tell this network namespace: {e} (use --control)"
        ))
    })?;
    let mut out = String::new();
    let asked = std::os::unix::net::UnixStream::connect(&path).and_then(|mut s| {
        s.set_read_timeout(Some(Duration::from_secs(5)))?;
        s.write_all(request)?;
        s.read_to_string(&mut out)
    });
    if let Err(e) = asked {
        let (mut lines, p) = (vec![], path.display());
        lines.push(format!("cannot reach the director at {p}: {e}"));
        let others: Vec<String> = (std::fs::read_dir(RUN_DIR).into_iter().flatten().flatten())
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "sock") && *p != path)
            .map(|p| p.display().to_string())
            .collect();
        if !others.is_empty() {
            lines.push(format!(
                "other control sockets (use --control): {}",
                others.join(", ")
            ));
        }
        return Err((EXIT_ENV, lines));
    }
    if out.starts_with("refused:") {
        return Err((
            EXIT_ENV,
            vec![format!("{}: {}", path.display(), out.trim_end())],
        ));
    }
    print!("{out}");
    Ok(())
}

/// Who may ask: root or the director's own user (the socket's mode already
/// says so; this holds if its mode or directory is ever loosened).
fn refusal(peer: std::io::Result<tokio::net::unix::UCred>) -> Option<String> {
    let me = rustix::process::geteuid().as_raw();
    match peer.map(|c| c.uid()) {
        Ok(0) => None,
        Ok(uid) if uid == me => None,
        Ok(uid) => Some(format!(
            "refused: uid {uid} is not root or the director's user (uid {me})"
        )),
        Err(e) => Some(format!("refused: cannot tell the peer's uid: {e}")),
    }
}

/// keepalived's `vrrp_priority`/`vrrp_rt_priority`/`vrrp_no_swap` (and the
/// checker twins), plus the open-file limit thousands of probes need, before
/// any thread starts (threads inherit them). Failure is a warning, as in keepalived.
fn apply_process_scheduling(g: &config::GlobalDefs) {
    if let Err(e) = lvs_sys::raise_nofile_limit() {
        warn!(error = %e, "cannot raise the open-file limit");
    }
    if let Some(n) = g.nice {
        match rustix::process::setpriority_process(None, i32::from(n)) {
            Ok(()) => info!(nice = n, "process priority set"),
            Err(e) => warn!(nice = n, error = %e, "cannot set the process priority"),
        }
    }
    if let Some(p) = g.rt_priority {
        match lvs_sys::set_realtime_rr(p) {
            Ok(()) => info!(priority = p, "real-time scheduling SCHED_RR"),
            Err(e) => warn!(priority = p, error = %e, "cannot set real-time scheduling"),
        }
    }
    if g.no_swap {
        use rustix::mm::{MlockAllFlags, mlockall};
        match mlockall(MlockAllFlags::CURRENT | MlockAllFlags::FUTURE) {
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
        let p = path.display();
        return Err(format!(
            "another director is running with control socket {p} (use --control)"
        ));
    }
    let _ = std::fs::remove_file(path);
    // Created 0600 (umask 0177 around bind): never wider, not even for a moment.
    let old = rustix::process::umask(rustix::fs::Mode::from_raw_mode(0o177));
    let bound = tokio::net::UnixListener::bind(path);
    rustix::process::umask(old);
    bound.map_err(|e| format!("cannot bind {}: {e}", path.display()))
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
        let kind = "application/openmetrics-text; version=1.0.0; charset=utf-8";
        let r = hyper::Response::builder().header("Content-Type", kind);
        std::future::ready(r.body(http_body_util::Full::new(body.clone())))
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .keep_alive(false)
        .serve_connection(hyper_util::rt::TokioIo::new(stream), service);
    let _ = tokio::time::timeout(Duration::from_secs(5), conn).await;
}

async fn snapshot(handle: &Handle, file: &str) -> Option<Snapshot> {
    Some(Snapshot::new(
        &handle.status().await?,
        std::process::id(),
        file,
    ))
}

async fn status_text(handle: &Handle, file: &str) -> Option<String> {
    snapshot(handle, file).await.map(|s| status_line(&s))
}

/// SIGHUP: parse the file again and hand it to the driver; a refused file
/// or reload leaves the running configuration in force.
async fn reload(cli: &Cli, file: &Path, handle: &Handle) {
    info!(file = %file.display(), "SIGHUP: reloading the configuration");
    // Parsing a large file takes a while (the parsed model is dropped there
    // too): off the driver's thread, at nice +10 so it never takes VRRP's CPU.
    let (cli, path, (tx, rx)) = (cli.clone(), file.to_path_buf(), oneshot::channel());
    std::thread::spawn(move || {
        let _ = lvs_sys::lower_thread_priority(10);
        let _ = tx.send(cli.load(&path).map(|(_, typed)| typed));
    });
    let loaded = rx
        .await
        .unwrap_or_else(|_| Err(vec!["configuration loader failed".into()]));
    let typed = match loaded {
        Ok(t) => t,
        Err(lines) => {
            lines.iter().for_each(|l| error!("{l}"));
            return error!("reload refused: the running configuration stays in force");
        }
    };
    match handle.reload(typed).await {
        Ok(s) if s.is_empty() => info!("reload: nothing changed"),
        Ok(s) => {
            let instances = s.instances_updated;
            if instances > 0 {
                info!(
                    instances,
                    "reload: settings updated in place (no VRRP restart)"
                );
            }
            let (started, stopped) = (s.instances_started, s.instances_stopped);
            let (virtual_servers, ipvs_ops) = (s.virtual_servers_changed, s.ipvs_ops);
            info!(
                started,
                stopped, virtual_servers, ipvs_ops, "reload applied"
            );
        }
        Err(e) => error!("reload refused: {e}; the running configuration stays in force"),
    }
}

/// Resolves when the drain started (if any) is over.
async fn drained(d: &mut Option<std::pin::Pin<Box<dyn Future<Output = Option<bool>> + Send>>>) {
    match d {
        Some(f) => drop(f.await),
        None => std::future::pending().await,
    }
}

/// Runs until SIGTERM/SIGINT (with `drain_on_sigterm`, the first drains)
/// or the end of a drain; SIGHUP reloads the file.
async fn serve(cli: &Cli, file: &Path, typed: DirectorConfig, ctl: &Path) -> Result<(), String> {
    let name = &file.display().to_string();
    let sig = |kind| signal(kind).map_err(|e| e.to_string());
    let (mut sigterm, mut sigint) = (sig(SignalKind::terminate())?, sig(SignalKind::interrupt())?);
    let mut sighup = sig(SignalKind::hangup())?;
    let listener = bind_control(ctl)?;
    let mut metrics = None;
    if let Some(addr) = cli.metrics {
        let l = tokio::net::TcpListener::bind(addr).await;
        metrics = Some(l.map_err(|e| format!("cannot listen on {addr} for metrics: {e}"))?);
    }
    let drain_on_sigterm = typed
        .route_announce
        .as_ref()
        .is_some_and(|a| a.drain_on_sigterm);
    let handle = lvs_director::run(typed).await.map_err(|e| e.to_string())?;
    let (drain_tx, mut drain_rx) = tokio::sync::mpsc::unbounded_channel::<()>();
    let mut draining = None;
    info!(control = %ctl.display(), metrics = ?cli.metrics, "director running");
    // VRRP sockets are open and the IPVS table reconciled: systemd may go on.
    let mut notifier = Notifier::from_env();
    notifier.ready(&status_text(&handle, name).await.unwrap_or_default());
    let every = notifier.tick_interval();
    let mut tick = tokio::time::interval(every.unwrap_or(Duration::from_secs(3600)));
    loop {
        tokio::select! {
            _ = tick.tick(), if every.is_some() => notifier.tick(status_text(&handle, name).await),
            _ = sigterm.recv() => {
                if !drain_on_sigterm || draining.is_some() {
                    info!("SIGTERM: stopping");
                    break;
                }
                info!("SIGTERM: draining first (a second SIGTERM stops at once)");
                draining = Some(Box::pin(handle.drain()) as _);
            }
            Some(()) = drain_rx.recv() => if draining.is_none() {
                draining = Some(Box::pin(handle.drain()) as _);
            },
            _ = drained(&mut draining) => { info!("drained: stopping"); break; }
            _ = sigint.recv() => { info!("SIGINT: stopping"); break; }
            _ = sighup.recv() => {
                notifier.reloading();
                reload(cli, file, &handle).await;
                // Reloaded or refused, the director runs on.
                notifier.ready(&status_text(&handle, name).await.unwrap_or_default());
            }
            Ok((mut stream, _)) = listener.accept() => {
                let refused = refusal(stream.peer_cred());
                if let Some(line) = &refused {
                    warn!("control socket: {line}");
                }
                // The snapshot is taken here (none for a refused peer); the
                // request is read and answered off the loop.
                let snap = match refused {
                    None => snapshot(&handle, name).await,
                    Some(_) => None,
                };
                let drain_tx = drain_tx.clone();
                tokio::spawn(async move {
                    let mut buf = [0u8; 64];
                    let n = tokio::time::timeout(Duration::from_millis(200), stream.read(&mut buf)).await;
                    let request = &buf[..n.ok().and_then(Result::ok).unwrap_or(0)];
                    let text = match refused {
                        Some(line) => line + "\n",
                        None if request.trim_ascii() == b"drain" => match drain_tx.send(()) {
                            Ok(()) => "draining: routes withdrawn; the director stops once its traffic has ended\n".into(),
                            Err(_) => "the director is stopping\n".into(),
                        },
                        None => answer(request, snap.as_ref()),
                    };
                    let _ = stream.write_all(text.as_bytes()).await;
                    let _ = stream.shutdown().await;
                });
            }
            Some(stream) = accept_tcp(metrics.as_ref()) => {
                let body = snapshot(&handle, name).await.map(|s| report::metrics(&s)).unwrap_or_default();
                tokio::spawn(serve_metrics(stream, body));
            }
        }
    }
    notifier.stopping();
    handle.shutdown().await;
    Ok(())
}

/// Everything after the command line; `Err` is an exit code and what to print.
fn start(cli: &Cli) -> Result<(), (u8, Vec<String>)> {
    let fail = |code| move |e: String| (code, vec![format!("director: {e}")]);
    let file = cli.config_file().map_err(fail(EXIT_USAGE))?.to_path_buf();
    let (cfg, typed) = cli.load(&file).map_err(|lines| (EXIT_CONFIG, lines))?;
    if cli.check_config.is_some() {
        println!("{}: configuration valid", file.display());
        return Ok(());
    }
    // keepalived's net_namespace first; then one director per network
    // namespace, decided before any socket, thread or VIP. Held until return.
    lvs_director::enter_net_namespace(&typed).map_err(|e| fail(EXIT_ENV)(e.to_string()))?;
    let netns = NetnsName::current()
        .map_err(|e| fail(EXIT_ENV)(format!("cannot tell this network namespace: {e}")))?;
    let default = |given: &Option<PathBuf>, ext| given.clone().unwrap_or(run_file(&netns, ext));
    let _instance = PidFile::lock(default(&cli.pid_file, "pid")).map_err(|e| {
        fail(EXIT_ENV)(match e {
            PidFileError::Held { path, pid } => format!(
                "another director is running here (pid {pid}, pid file {}); stop it first, \
             or give this one a --pid-file and --control of its own",
                path.display()
            ),
            e => e.to_string(),
        })
    })?;
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()))
        .with_env_filter(filter)
        .init();
    apply_process_scheduling(&cfg.global);
    let control = default(&cli.control, "sock");
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| fail(EXIT_ENV)(format!("cannot start the runtime: {e}")))?;
    let result = rt.block_on(serve(cli, &file, typed, &control));
    let _ = std::fs::remove_file(&control);
    result.map_err(|e| {
        error!("{e}");
        fail(EXIT_ENV)(e)
    })
}

/// `director flush-routes`: what a director that did not stop cleanly announced.
fn flush_routes(table: u32, protocol: u8) -> Result<(), (u8, Vec<String>)> {
    let n = lvs_director::flush_routes(table, protocol)
        .map_err(|e| (EXIT_ENV, vec![format!("director flush-routes: {e}")]))?;
    println!("{n} route(s) of protocol {protocol} flushed from table {table}");
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.command {
        Some(Cmd::Status { control, json }) => {
            ask(control, if *json { b"status json\n" } else { b"status\n" })
        }
        Some(Cmd::Drain { control }) => ask(control, b"drain\n"),
        Some(Cmd::FlushRoutes { table, protocol }) => flush_routes(*table, *protocol),
        None => start(&cli),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err((code, lines)) => {
            lines.iter().for_each(|l| eprintln!("{l}"));
            ExitCode::from(code)
        }
    }
}
