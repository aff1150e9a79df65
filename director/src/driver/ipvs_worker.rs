//! IPVS writes on a thread of their own: a netlink round trip (or a whole
//! reconcile of a large table) never delays a VRRP timer.

use std::sync::mpsc as std_mpsc;

use lvs_ipvs::{Error as IpvsError, IpvsHandle, Op, Removal, VirtualServer, VirtualServerEntry};
use tokio::sync::{mpsc, oneshot};
use tracing::{error, info, warn};

use crate::config::IpvsSetup;

/// Where `net.ipv4.vs.expire_nodest_conn` lives.
const EXPIRE_NODEST_CONN: &str = "/proc/sys/net/ipv4/vs/expire_nodest_conn";
/// Where `net.ipv4.vs.sloppy_tcp` lives.
const SLOPPY_TCP: &str = "/proc/sys/net/ipv4/vs/sloppy_tcp";

/// Work for the IPVS thread.
pub(crate) enum Job {
    /// A delta from the core.
    Ops(Vec<Op>),
    /// A whole table from the core.
    Reconcile(Vec<VirtualServer>),
    /// A read of the kernel's table (status, metrics).
    Dump(oneshot::Sender<Result<Vec<VirtualServerEntry>, String>>),
}

/// The IPVS thread's side of the core's `handle_ipvs_result`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Outcome {
    pub ok: bool,
    /// Operations a reconcile after the first needed: the kernel's table
    /// had been changed behind the director's back.
    pub repaired: usize,
}

/// A running IPVS thread.
pub(crate) struct Worker {
    jobs: std_mpsc::Sender<Job>,
}

impl Worker {
    /// Opens IPVS (failing when the kernel has none), applies `setup`, and
    /// starts the thread; outcomes of writes come back on `outcomes`.
    pub(crate) fn start(
        setup: &IpvsSetup,
        outcomes: mpsc::UnboundedSender<Outcome>,
    ) -> Result<Worker, IpvsError> {
        let mut h = IpvsHandle::open()?;
        let info = h.info()?;
        let (a, b, c) = info.version_triple();
        info!(version = %format!("{a}.{b}.{c}"), "IPVS available");
        if setup.flush {
            info!("flushing the IPVS table (lvs_flush)");
            h.flush()?;
        } else if let Ok(table) = h.table()
            && !table.is_empty()
        {
            info!(
                services = table.len(),
                "adopting the existing IPVS table (reconcile, no flush)"
            );
        }
        if let Some(t) = &setup.timeouts
            && let Err(e) = h.set_timeouts(t)
        {
            warn!(error = %e, "cannot set the IPVS timeouts");
        }
        if setup.expire_nodest_conn {
            set_sysctl(
                EXPIRE_NODEST_CONN,
                "net.ipv4.vs.expire_nodest_conn=1 (new connections never hit a removed real server)",
            );
        }
        if setup.sloppy_tcp {
            set_sysctl(
                SLOPPY_TCP,
                "net.ipv4.vs.sloppy_tcp=1 (a flow moved here in mid-stream is scheduled)",
            );
        }
        let (jobs, rx) = std_mpsc::channel();
        std::thread::Builder::new()
            .name("ipvs".into())
            .spawn(move || serve(h, rx, outcomes))
            .map_err(IpvsError::Io)?;
        Ok(Worker { jobs })
    }

    /// Queues a job (dropped when the thread has ended).
    pub(crate) fn send(&self, job: Job) {
        let _ = self.jobs.send(job);
    }
}

/// Sets an IPVS sysctl to 1 (`what` says which and why, for the log).
fn set_sysctl(path: &str, what: &str) {
    match std::fs::read_to_string(path) {
        Ok(v) if v.trim() == "1" => {}
        _ => match std::fs::write(path, "1\n") {
            Ok(()) => info!("set {what}"),
            Err(e) => warn!(error = %e, "cannot set {what}"),
        },
    }
}

/// This director's traffic to `vips`, summed over their services.
pub(crate) fn traffic_to(
    table: &[VirtualServerEntry],
    vips: &[std::net::IpAddr],
) -> crate::director::TrafficSample {
    let mut in_packets = 0u64;
    let mut active = 0u64;
    for e in table {
        let on_vip = e
            .service
            .service
            .key
            .addr()
            .is_some_and(|a| vips.contains(&a.ip()));
        if on_vip {
            in_packets = in_packets.saturating_add(e.service.stats.in_pkts);
            active += e
                .destinations
                .iter()
                .map(|d| u64::from(d.active_conns))
                .sum::<u64>();
        }
    }
    crate::director::TrafficSample::new(in_packets, active)
}

fn serve(
    mut h: IpvsHandle,
    jobs: std_mpsc::Receiver<Job>,
    outcomes: mpsc::UnboundedSender<Outcome>,
) {
    // The first reconcile programs (or adopts) the table; later ones find
    // only what changed behind the director's back.
    let mut reconciled = false;
    while let Ok(first) = jobs.recv() {
        let mut pending = Some(first);
        while let Some(job) = pending.take() {
            // The core wants one outcome per command, in order.
            let (ok, commands, repaired) = match job {
                Job::Ops(mut ops) => {
                    // Deltas queued behind each other leave in one batch.
                    let mut commands = 1;
                    loop {
                        match jobs.try_recv() {
                            Ok(Job::Ops(more)) => {
                                ops.extend(more);
                                commands += 1;
                            }
                            Ok(other) => {
                                pending = Some(other);
                                break;
                            }
                            Err(_) => break,
                        }
                    }
                    (apply(&mut h, &ops), commands, 0)
                }
                Job::Reconcile(table) => {
                    let (ok, sent) = reconcile(&mut h, &table);
                    let repaired = if reconciled { sent } else { 0 };
                    reconciled |= ok;
                    if repaired > 0 {
                        warn!(
                            operations = repaired,
                            "the IPVS table had changed behind the director's back: reconcile put it back"
                        );
                    }
                    (ok, 1, repaired)
                }
                Job::Dump(reply) => {
                    let _ = reply.send(h.table().map_err(|e| e.to_string()));
                    continue;
                }
            };
            for i in 0..commands {
                let repaired = if i == 0 { repaired } else { 0 };
                if outcomes.send(Outcome { ok, repaired }).is_err() {
                    return;
                }
            }
        }
    }
}

/// Whether a failed sync-daemon operation is harmless (already in the
/// wanted state); a reconcile cannot repair daemons, so they never count
/// as a table failure.
fn daemon_op(op: &Op) -> bool {
    matches!(op, Op::StartDaemon(_) | Op::StopDaemon(_))
}

fn apply(h: &mut IpvsHandle, ops: &[Op]) -> bool {
    match h.apply(ops) {
        Ok(results) => {
            let mut ok = true;
            for (op, r) in ops.iter().zip(results) {
                match r {
                    Ok(()) => info!(op = ?op, "IPVS updated"),
                    Err(IpvsError::DaemonRunning) => {
                        info!(op = ?op, "IPVS sync daemon already running")
                    }
                    Err(e) if daemon_op(op) => warn!(op = ?op, error = %e, "IPVS sync daemon"),
                    Err(e) => {
                        error!(op = ?op, error = %e, "IPVS update failed");
                        ok = false;
                    }
                }
            }
            ok
        }
        Err(e) => {
            error!(error = %e, "cannot write to IPVS");
            false
        }
    }
}

/// Whether it succeeded, and how many operations it sent.
fn reconcile(h: &mut IpvsHandle, table: &[VirtualServer]) -> (bool, usize) {
    match h.reconcile(table, Removal::Delete) {
        Ok(report) => {
            for (op, r) in report.ops.iter().zip(&report.results) {
                match r {
                    Ok(()) => info!(op = ?op, "IPVS updated (reconcile)"),
                    Err(e) => error!(op = ?op, error = %e, "IPVS update failed"),
                }
            }
            (report.is_ok(), report.ops.len())
        }
        Err(e) => {
            error!(error = %e, "cannot reconcile the IPVS table");
            (false, 0)
        }
    }
}
