//! The tokio runner (feature `tokio`): drives an [`Engine`] on real time,
//! runs the probes inside its own task (one that cannot finish at its first
//! poll waits in a set the task polls), and sends the engine's events to a
//! channel. A checker that panics fails its probe.
//!
//! # Deadlines
//!
//! A probe's deadline is its start plus [`Policy::timeout`]. A checker ends
//! its own work by then and reports what it found, even when the deadline
//! itself is the verdict (keepalived's `UDP_CHECK` counts silence until
//! the deadline as success). Such a verdict is necessarily ready a little
//! after the deadline, later still from a blocking thread on a loaded host,
//! so the runner keeps listening for
//! [`EngineConfig::watchdog_slack`] past the deadline; only then does it
//! cancel the probe (drop its future; a [`Blocking`] thread is abandoned)
//! and count a [`FailReason::Timeout`]. A checker that hangs is therefore
//! reported as a timeout at most `timeout + watchdog_slack` after it started.
//!
//! ```no_run
//! # async fn demo() -> Result<(), lvs_healthcheck::PolicyError> {
//! use std::sync::Arc;
//! use lvs_healthcheck::checker::tcp::TcpCheck;
//! use lvs_healthcheck::runner::Runner;
//! use lvs_healthcheck::{ConnectOptions, EngineConfig, Policy, ServiceId};
//!
//! let mut runner = Runner::new(EngineConfig::default());
//! let www1 = TcpCheck::new(ConnectOptions::new("172.20.0.85:80".parse().unwrap()));
//! runner.add(ServiceId(80), Arc::new(www1), Policy::default())?;
//! let mut handle = runner.spawn();
//! while let Some(event) = handle.events.recv().await {
//!     println!("{event:?}");
//! }
//! # Ok(()) }
//! ```
//!
//! # On a thread of its own
//!
//! [`Runner::spawn`] runs on the caller's runtime, where a burst of probe
//! work shares the caller's thread. [`Runner::spawn_thread`] gives the
//! runner a thread and current-thread runtime of its own (what a director
//! wants: probes never delay its VRRP timers), and can put that thread in
//! another network namespace, so the real servers checked are the ones
//! that namespace reaches:
//!
//! ```no_run
//! # fn demo() -> std::io::Result<()> {
//! use std::fs::File;
//! use std::os::fd::AsFd;
//! use std::sync::Arc;
//! use lvs_healthcheck::checker::tcp::TcpCheck;
//! use lvs_healthcheck::runner::Runner;
//! use lvs_healthcheck::{ConnectOptions, EngineConfig, Policy, ServiceId};
//!
//! let mut runner = Runner::new(EngineConfig::default());
//! let www1 = TcpCheck::new(ConnectOptions::new("10.0.0.2:80".parse().unwrap()));
//! runner.add(ServiceId(80), Arc::new(www1), Policy::default()).unwrap();
//! let ns = File::open("/run/netns/lab")?;
//! let mut probes = runner.spawn_thread(Some(ns.as_fd()))?;
//! while let Some(event) = probes.events.blocking_recv() {
//!     println!("{event:?}");
//! }
//! # Ok(()) }
//! ```

use std::collections::HashMap;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use futures_util::FutureExt;
use futures_util::stream::{FuturesUnordered, StreamExt};
use tokio::sync::{mpsc, oneshot};

use crate::engine::{Engine, EngineConfig, Event, FailOpen, MemberId, ServiceId};
use crate::outcome::{FailReason, Outcome};
use crate::policy::{Policy, PolicyError};

mod checkers;
mod half_open;
mod stats;
mod tcp;
mod tcp_pool;
mod thread;

pub use checkers::{AsyncChecker, Blocking, ProbeFuture};
pub use stats::RunnerStats;
pub use thread::RunnerThread;

/// The outcome of a probe whose checker panicked: a checker's bug fails its
/// probe, not the runner.
fn panicked() -> Outcome {
    Outcome::Failure(FailReason::Io("the checker panicked".into()))
}

/// A probe that did not finish at its first poll, with its cancel timer.
type Running = Pin<Box<dyn Future<Output = (crate::engine::ProbeId, Outcome)> + Send>>;

/// The results of every running probe that has finished; pending if none has.
fn finished(
    running: &mut FuturesUnordered<Running>,
    cx: &mut Context<'_>,
) -> Poll<Vec<(crate::engine::ProbeId, Outcome)>> {
    let mut done = Vec::new();
    while let Poll::Ready(Some(result)) = running.poll_next_unpin(cx) {
        done.push(result);
    }
    if done.is_empty() {
        Poll::Pending
    } else {
        Poll::Ready(done)
    }
}

/// A change requested while the runner runs.
#[derive(Debug)]
#[non_exhaustive]
pub enum Command {
    /// Adds a member; the reply carries its id.
    Add {
        /// Its service.
        service: ServiceId,
        /// Its check.
        checker: Arc<dyn AsyncChecker>,
        /// Its policy.
        policy: Policy,
        /// Where to send the id.
        reply: oneshot::Sender<Result<MemberId, PolicyError>>,
    },
    /// Removes a member.
    Remove(MemberId),
    /// Sets a service's fail-open mode.
    SetFailOpen(ServiceId, FailOpen),
    /// Stops the runner.
    Shutdown,
}

/// Executes checks per the engine's schedule.
#[derive(Debug)]
pub struct Runner {
    /// Keyed by an interned identity: probes look their checker up by index,
    /// not by hashing a long identity string each time.
    engine: Engine<u32>,
    identities: HashMap<String, u32>,
    /// Slot = interned identity: the checker and how many members use it.
    checkers: Vec<Option<(Arc<dyn AsyncChecker>, usize)>>,
    free_slots: Vec<u32>,
    members: HashMap<MemberId, u32>,
    stats: Arc<RunnerStats>,
    /// How long past its deadline a probe may still report (the engine's
    /// watchdog slack): a verdict reached at the deadline must not lose a
    /// race with the cancellation.
    grace: Duration,
}

/// A running runner: its events, a command channel and its task.
#[derive(Debug)]
pub struct RunnerHandle {
    /// Events from the engine, in order.
    pub events: mpsc::UnboundedReceiver<Event>,
    /// Send [`Command`]s here.
    pub commands: mpsc::UnboundedSender<Command>,
    /// Counters.
    pub stats: Arc<RunnerStats>,
    /// The runner's task.
    pub task: tokio::task::JoinHandle<()>,
}

impl Runner {
    /// A runner with no members.
    pub fn new(config: EngineConfig) -> Self {
        let grace = config.watchdog_slack;
        Runner {
            engine: Engine::new(config),
            identities: HashMap::new(),
            checkers: Vec::new(),
            free_slots: Vec::new(),
            members: HashMap::new(),
            stats: Arc::new(RunnerStats::new()),
            grace,
        }
    }

    /// Adds a backend of `service` checked by `checker`. Checkers with equal
    /// [`AsyncChecker::identity`] and equal policies share one probe.
    pub fn add(
        &mut self,
        service: ServiceId,
        checker: Arc<dyn AsyncChecker>,
        policy: Policy,
    ) -> Result<MemberId, PolicyError> {
        let identity = checker.identity();
        let slot = match self.identities.get(&identity) {
            Some(&slot) => slot,
            None => {
                let slot = match self.free_slots.pop() {
                    Some(slot) => slot,
                    None => {
                        self.checkers.push(None);
                        (self.checkers.len() - 1) as u32
                    }
                };
                self.checkers[slot as usize] = Some((checker, 0));
                self.identities.insert(identity, slot);
                slot
            }
        };
        let id = self
            .engine
            .add_member(Instant::now(), service, slot, policy)?;
        if let Some((_, n)) = self.checkers[slot as usize].as_mut() {
            *n += 1;
        }
        self.members.insert(id, slot);
        Ok(id)
    }

    /// Sets a service's fail-open mode.
    pub fn set_fail_open(&mut self, service: ServiceId, mode: FailOpen) {
        self.engine.set_fail_open(service, mode);
    }

    fn remove(&mut self, id: MemberId) {
        if !self.engine.remove_member(id) {
            return;
        }
        let Some(slot) = self.members.remove(&id) else {
            return;
        };
        let emptied = match self
            .checkers
            .get_mut(slot as usize)
            .and_then(Option::as_mut)
        {
            Some((_, n)) => {
                *n -= 1;
                *n == 0
            }
            None => false,
        };
        if emptied && let Some((checker, _)) = self.checkers[slot as usize].take() {
            self.identities.remove(&checker.identity());
            self.free_slots.push(slot);
        }
    }

    /// The shared counters.
    pub fn stats(&self) -> Arc<RunnerStats> {
        self.stats.clone()
    }

    /// Spawns [`Runner::run`] on the current tokio runtime.
    pub fn spawn(self) -> RunnerHandle {
        let (etx, erx) = mpsc::unbounded_channel();
        let (ctx, crx) = mpsc::unbounded_channel();
        let stats = self.stats.clone();
        let task = tokio::spawn(self.run(etx, crx));
        RunnerHandle {
            events: erx,
            commands: ctx,
            stats,
            task,
        }
    }

    /// Runs until [`Command::Shutdown`] or until the event receiver is dropped.
    pub async fn run(
        mut self,
        events: mpsc::UnboundedSender<Event>,
        mut commands: mpsc::UnboundedReceiver<Command>,
    ) {
        // Probes that did not finish at once, polled by this task itself: a
        // task per probe cost a spawn, a scheduling round and a join each.
        let mut running: FuturesUnordered<Running> = FuturesUnordered::new();
        let mut commands_open = true;
        loop {
            let now = Instant::now();
            self.engine.handle_timeout(now);
            while let Some(req) = self.engine.poll_probe(now) {
                self.stats.record(now.saturating_duration_since(req.due));
                let Some((checker, _)) =
                    self.checkers.get(req.key as usize).and_then(Option::as_ref)
                else {
                    let reason = FailReason::Io("no checker for this probe".into());
                    self.engine
                        .handle_result(now, req.id, Outcome::Failure(reason));
                    continue;
                };
                let checker = checker.clone();
                let id = req.id;
                let deadline = req.deadline;
                let cancel_at = deadline + self.grace;
                let mut probe: ProbeFuture<'static> =
                    Box::pin(async move { checker.check(deadline).await });
                // Poll once right here: a probe that finishes at once (a
                // loopback handshake, a refused port) is never queued. A
                // future must wake the waker of its latest poll, so queueing
                // it afterwards loses nothing.
                let mut cx = Context::from_waker(Waker::noop());
                let first =
                    std::panic::catch_unwind(AssertUnwindSafe(|| probe.as_mut().poll(&mut cx)));
                match first {
                    Ok(Poll::Ready(outcome)) => {
                        self.engine.handle_result(now, id, outcome);
                    }
                    Err(_) => {
                        self.engine.handle_result(now, id, panicked());
                    }
                    Ok(Poll::Pending) => {
                        running.push(Box::pin(async move {
                            // Not at the deadline itself: the checker's own
                            // verdict at its deadline (silence accepted, its
                            // timeout) must win over this one.
                            let guarded = tokio::time::timeout_at(cancel_at.into(), probe);
                            let outcome = match AssertUnwindSafe(guarded).catch_unwind().await {
                                Ok(Ok(outcome)) => outcome,
                                Ok(Err(_)) => Outcome::Failure(FailReason::Timeout),
                                Err(_) => panicked(),
                            };
                            (id, outcome)
                        }));
                    }
                }
            }
            while let Some(ev) = self.engine.poll_event() {
                if events.send(ev).is_err() {
                    return;
                }
            }
            let wake = self.engine.poll_timeout();
            let sleep = async {
                match wake {
                    Some(at) => tokio::time::sleep_until(at.into()).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                // Every result already there in one go.
                done = std::future::poll_fn(|cx| finished(&mut running, cx)), if !running.is_empty() => {
                    let now = Instant::now();
                    for (id, outcome) in done {
                        self.engine.handle_result(now, id, outcome);
                    }
                }
                cmd = commands.recv(), if commands_open => match cmd {
                    None => commands_open = false,
                    Some(Command::Shutdown) => return,
                    Some(Command::Add { service, checker, policy, reply }) => {
                        let _ = reply.send(self.add(service, checker, policy));
                    }
                    Some(Command::Remove(id)) => self.remove(id),
                    Some(Command::SetFailOpen(s, m)) => self.set_fail_open(s, m),
                },
                () = sleep => {}
            }
        }
    }
}
