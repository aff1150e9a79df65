//! The tokio runner (feature `tokio`): drives an [`Engine`] on real time,
//! runs each probe as a task, and sends the engine's events to a channel.
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

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use socket2::{Protocol, Type};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinSet;

use crate::checker::Checker;
use crate::checker::tcp::TcpCheck;
use crate::engine::{Engine, EngineConfig, Event, FailOpen, MemberId, ServiceId};
use crate::outcome::{FailReason, Outcome, Success};
use crate::policy::{Policy, PolicyError};

/// A boxed probe future.
pub type ProbeFuture<'a> = Pin<Box<dyn Future<Output = Outcome> + Send + 'a>>;

/// A check the runner can await. Implement it for your own checks, or wrap a
/// blocking [`Checker`] in [`Blocking`].
pub trait AsyncChecker: Send + Sync + fmt::Debug {
    /// The de-duplication key (see [`Checker::identity`]).
    fn identity(&self) -> String;
    /// Runs one probe; the runner also cancels it at `deadline`.
    fn check(&self, deadline: Instant) -> ProbeFuture<'_>;
}

/// Runs a blocking [`Checker`] on tokio's blocking thread pool.
#[derive(Debug)]
pub struct Blocking<C>(pub Arc<C>);

impl<C: Checker + 'static> AsyncChecker for Blocking<C> {
    fn identity(&self) -> String {
        self.0.identity()
    }

    fn check(&self, deadline: Instant) -> ProbeFuture<'_> {
        let inner = self.0.clone();
        Box::pin(async move {
            match tokio::task::spawn_blocking(move || inner.check(deadline)).await {
                Ok(o) => o,
                Err(e) => Outcome::Failure(FailReason::Io(format!("checker task failed: {e}"))),
            }
        })
    }
}

/// Native async TCP connect: no thread per probe.
impl AsyncChecker for TcpCheck {
    fn identity(&self) -> String {
        Checker::identity(self)
    }

    fn check(&self, deadline: Instant) -> ProbeFuture<'_> {
        Box::pin(async move {
            let sock = match self.connect.socket(Type::STREAM, Protocol::TCP) {
                Ok(s) => s,
                Err(e) => return Outcome::Failure(FailReason::Io(e.to_string())),
            };
            if self.reset_on_close {
                let _ = sock.set_linger(Some(Duration::ZERO));
            }
            let sock = tokio::net::TcpSocket::from_std_stream(std::net::TcpStream::from(sock));
            let connect_deadline = self.connect.connect_deadline(deadline);
            match tokio::time::timeout_at(
                connect_deadline.into(),
                sock.connect(self.connect.destination()),
            )
            .await
            {
                Ok(Ok(_stream)) => Outcome::Success(Success::Connected),
                Ok(Err(e)) => Outcome::Failure(FailReason::from_io(&e)),
                Err(_) => Outcome::Failure(FailReason::Timeout),
            }
        })
    }
}

/// Scheduling lateness and probe counts, shared with whoever holds it.
#[derive(Debug)]
pub struct RunnerStats {
    probes: AtomicU64,
    /// Lateness histogram: 10 µs buckets up to 100 ms, then one overflow bucket.
    lateness: Vec<AtomicU64>,
}

const BUCKET_US: u64 = 10;
const BUCKETS: usize = 10_000;

impl RunnerStats {
    fn new() -> Self {
        RunnerStats {
            probes: AtomicU64::new(0),
            lateness: (0..=BUCKETS).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    fn record(&self, lateness: Duration) {
        self.probes.fetch_add(1, Ordering::Relaxed);
        let b = ((lateness.as_micros() as u64) / BUCKET_US).min(BUCKETS as u64) as usize;
        self.lateness[b].fetch_add(1, Ordering::Relaxed);
    }

    /// Probes started so far.
    pub fn probes(&self) -> u64 {
        self.probes.load(Ordering::Relaxed)
    }

    /// The `q` quantile (0..=1) of scheduling lateness (time from a probe
    /// being due to its start), to 10 µs; 100 ms means "100 ms or more".
    pub fn lateness_quantile(&self, q: f64) -> Duration {
        let total = self.probes();
        if total == 0 {
            return Duration::ZERO;
        }
        let want = ((total as f64) * q.clamp(0.0, 1.0)).ceil().max(1.0) as u64;
        let mut seen = 0;
        for (i, b) in self.lateness.iter().enumerate() {
            seen += b.load(Ordering::Relaxed);
            if seen >= want {
                return Duration::from_micros((i as u64 + 1) * BUCKET_US);
            }
        }
        Duration::from_micros(BUCKETS as u64 * BUCKET_US)
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
    engine: Engine<String>,
    checkers: HashMap<String, (Arc<dyn AsyncChecker>, usize)>,
    members: HashMap<MemberId, String>,
    stats: Arc<RunnerStats>,
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
        Runner {
            engine: Engine::new(config),
            checkers: HashMap::new(),
            members: HashMap::new(),
            stats: Arc::new(RunnerStats::new()),
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
        let key = checker.identity();
        let id = self
            .engine
            .add_member(Instant::now(), service, key.clone(), policy)?;
        self.checkers
            .entry(key.clone())
            .and_modify(|(_, n)| *n += 1)
            .or_insert((checker, 1));
        self.members.insert(id, key);
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
        if let Some(key) = self.members.remove(&id)
            && let Some((_, n)) = self.checkers.get_mut(&key)
        {
            *n -= 1;
            if *n == 0 {
                self.checkers.remove(&key);
            }
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
        let mut tasks: JoinSet<(crate::engine::ProbeId, Outcome)> = JoinSet::new();
        let mut commands_open = true;
        loop {
            let now = Instant::now();
            self.engine.handle_timeout(now);
            while let Some(req) = self.engine.poll_probe(now) {
                self.stats.record(now.saturating_duration_since(req.due));
                let Some((checker, _)) = self.checkers.get(&req.key) else {
                    let reason = FailReason::Io("no checker for this probe".into());
                    self.engine
                        .handle_result(now, req.id, Outcome::Failure(reason));
                    continue;
                };
                let checker = checker.clone();
                let id = req.id;
                let deadline = req.deadline;
                tasks.spawn(async move {
                    let outcome = tokio::time::timeout_at(deadline.into(), checker.check(deadline))
                        .await
                        .unwrap_or(Outcome::Failure(FailReason::Timeout));
                    (id, outcome)
                });
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
                Some(joined) = tasks.join_next(), if !tasks.is_empty() => {
                    let now = Instant::now();
                    if let Ok((id, outcome)) = joined {
                        self.engine.handle_result(now, id, outcome);
                    }
                    // Take every other result that is already there in one go.
                    while let Some(joined) = tasks.try_join_next() {
                        if let Ok((id, outcome)) = joined {
                            self.engine.handle_result(now, id, outcome);
                        }
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
