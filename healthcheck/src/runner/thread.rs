//! [`Runner::spawn_thread`]: a runner on a thread and current-thread
//! runtime of its own, optionally inside another network namespace.

use std::io;
use std::os::fd::{AsFd, BorrowedFd};
use std::sync::Arc;

use tokio::sync::mpsc;

use super::{Command, Runner, RunnerStats};
use crate::engine::Event;

/// A runner on a thread of its own (see [`Runner::spawn_thread`]).
#[derive(Debug)]
#[non_exhaustive]
pub struct RunnerThread {
    /// Events from the engine, in order.
    pub events: mpsc::UnboundedReceiver<Event>,
    /// Send [`Command`]s here.
    pub commands: mpsc::UnboundedSender<Command>,
    /// Counters.
    pub stats: Arc<RunnerStats>,
    /// The runner's thread; it ends when the runner does.
    pub thread: std::thread::JoinHandle<()>,
}

impl RunnerThread {
    /// Stops the runner and waits for its thread; `Err` carries a panic of
    /// the runner's loop. Probes still running are dropped, and a
    /// [`Blocking`](super::Blocking) checker's thread is left to finish alone.
    pub fn shutdown(self) -> std::thread::Result<()> {
        let _ = self.commands.send(Command::Shutdown);
        self.thread.join()
    }
}

impl Runner {
    /// Runs [`Runner::run`] on a new thread with a current-thread tokio
    /// runtime of its own, so probe work never delays the caller's runtime
    /// (the caller needs none).
    ///
    /// With `netns`, a network namespace (`/run/netns/NAME`,
    /// `/proc/PID/ns/net`), the thread moves into it before it opens any
    /// socket: every probe — its sockets, [`Blocking`](super::Blocking)
    /// pool threads, programs of exec checks — then runs there, so an
    /// embedder can check real servers that live in another namespace. The
    /// caller's threads keep theirs. `Err` when the thread could not be
    /// started, the namespace not entered (not a network namespace, no
    /// `CAP_SYS_ADMIN`) or the runtime not built; nothing runs then.
    pub fn spawn_thread(self, netns: Option<BorrowedFd<'_>>) -> io::Result<RunnerThread> {
        // The thread outlives the borrow: it enters its own copy.
        let netns = netns.map(|ns| ns.try_clone_to_owned()).transpose()?;
        let (etx, erx) = mpsc::unbounded_channel();
        let (ctx, crx) = mpsc::unbounded_channel();
        let stats = self.stats.clone();
        let (started_tx, started_rx) = std::sync::mpsc::sync_channel(1);
        let thread = std::thread::Builder::new()
            .name("lvs-healthcheck".into())
            .spawn(move || {
                let runtime = netns
                    .map_or(Ok(()), |ns| lvs_sys::enter_netns(ns.as_fd()))
                    .and_then(|()| {
                        tokio::runtime::Builder::new_current_thread()
                            .enable_all()
                            .build()
                    });
                let runtime = match runtime {
                    Ok(rt) => {
                        let _ = started_tx.send(Ok(()));
                        rt
                    }
                    Err(e) => {
                        let _ = started_tx.send(Err(e));
                        return;
                    }
                };
                runtime.block_on(self.run(etx, crx));
                // Not waiting for blocking probes still running: the
                // runner has already given up on them.
                runtime.shutdown_background();
            })?;
        match started_rx.recv() {
            Ok(Ok(())) => Ok(RunnerThread {
                events: erx,
                commands: ctx,
                stats,
                thread,
            }),
            Ok(Err(e)) => {
                let _ = thread.join();
                Err(e)
            }
            // The thread ended without a word: it panicked.
            Err(_) => match thread.join() {
                Err(panic) => std::panic::resume_unwind(panic),
                Ok(()) => Err(io::Error::other(
                    "the runner thread ended before it started",
                )),
            },
        }
    }
}
