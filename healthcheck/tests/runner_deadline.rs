//! The runner's deadline contract: a checker that reaches its verdict at its
//! own deadline (keepalived's UDP_CHECK counting silence as success) is
//! heard, and a checker that never returns is still counted as a timeout
//! within a bounded time.
#![cfg(feature = "tokio")]

use std::net::UdpSocket;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use lvs_healthcheck::checker::udp::UdpCheck;
use lvs_healthcheck::runner::{AsyncChecker, Blocking, Command, ProbeFuture, Runner};
use lvs_healthcheck::{
    Checker, ConnectOptions, EngineConfig, Event, FailReason, Health, Outcome, Policy, ServiceId,
    Success, Transition,
};
use tokio::sync::mpsc::UnboundedReceiver;

const PROBE_TIMEOUT: Duration = Duration::from_millis(200);

/// One result decides: a single late-counted timeout would show as a Down.
fn strict_policy() -> Policy {
    Policy::new(Duration::from_millis(100), PROBE_TIMEOUT)
        .with_fast_interval(Duration::from_millis(50))
        .with_rise_interval(Duration::from_millis(50))
        .with_first_result_decides(true)
}

/// The next transition, or `None` if none comes within `wait`.
async fn transition_within(
    events: &mut UnboundedReceiver<Event>,
    wait: Duration,
) -> Option<Transition> {
    let until = tokio::time::Instant::now() + wait;
    loop {
        match tokio::time::timeout_at(until, events.recv()).await {
            Ok(Some(Event::Transition(t))) => return Some(t),
            Ok(Some(_)) => continue,
            Ok(None) => panic!("runner stopped"),
            Err(_) => return None,
        }
    }
}

async fn shutdown(handle: lvs_healthcheck::runner::RunnerHandle) {
    assert!(handle.commands.send(Command::Shutdown).is_ok());
    tokio::time::timeout(Duration::from_secs(5), handle.task)
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|e| panic!("{e}"));
}

/// Waits until its deadline and then a little longer (a blocking thread
/// wakes up a bit after its timer, more so on a loaded VM), then says the
/// silence was fine, like keepalived's UDP_CHECK.
#[derive(Debug)]
struct SilentUntilDeadline {
    overshoot: Duration,
    probes: AtomicU32,
}

impl Checker for SilentUntilDeadline {
    fn identity(&self) -> String {
        format!("silent-until-deadline+{:?}", self.overshoot)
    }

    fn check(&self, deadline: Instant) -> Outcome {
        self.probes.fetch_add(1, Ordering::Relaxed);
        std::thread::sleep(deadline.saturating_duration_since(Instant::now()) + self.overshoot);
        Outcome::Success(Success::SilentAccepted)
    }
}

/// Up, and stays up over several probes: no verdict is lost to the race
/// between the checker's deadline and the runner's cancellation.
async fn assert_stays_up(checker: Arc<dyn AsyncChecker>, probes: impl Fn() -> u32) {
    let mut runner = Runner::new(EngineConfig::default());
    let member = runner
        .add(ServiceId(53), checker, strict_policy())
        .unwrap_or_else(|e| panic!("{e}"));
    let mut handle = runner.spawn();
    let first = transition_within(&mut handle.events, Duration::from_secs(10))
        .await
        .unwrap_or_else(|| panic!("no transition within 10 s"));
    assert_eq!(
        (first.member, first.to, first.success, first.reason),
        (member, Health::Up, Some(Success::SilentAccepted), None)
    );
    // Any probe counted as a timeout would take it down at once (fall = 1).
    let later = transition_within(&mut handle.events, Duration::from_millis(1500)).await;
    assert_eq!(later, None, "a probe that reported success was dropped");
    assert!(probes() >= 3, "only {} probes ran", probes());
    shutdown(handle).await;
}

#[tokio::test(flavor = "current_thread")]
async fn blocking_success_at_the_deadline_is_reported_up() {
    for overshoot in [Duration::ZERO, Duration::from_millis(20)] {
        let check = Arc::new(SilentUntilDeadline {
            overshoot,
            probes: AtomicU32::new(0),
        });
        let counter = check.clone();
        assert_stays_up(Arc::new(Blocking(check)), || {
            counter.probes.load(Ordering::Relaxed)
        })
        .await;
    }
}

/// The case from the kernel VM: keepalived's UDP_CHECK on the blocking pool
/// against a DNS backend that is alive but does not answer this payload.
#[tokio::test(flavor = "current_thread")]
async fn blocking_keepalived_udp_check_silence_is_up() {
    // Bound and never read: no reply and no ICMP port unreachable.
    let silent = UdpSocket::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let addr = silent.local_addr().unwrap_or_else(|e| panic!("{e}"));
    let check = UdpCheck::keepalived(ConnectOptions::new(addr), b"ping".to_vec(), None);
    let probes = Arc::new(AtomicU32::new(0));
    let counted = Arc::new(Counted {
        inner: check,
        probes: probes.clone(),
    });
    assert_stays_up(Arc::new(Blocking(counted)), || {
        probes.load(Ordering::Relaxed)
    })
    .await;
    drop(silent);
}

#[derive(Debug)]
struct Counted<C> {
    inner: C,
    probes: Arc<AtomicU32>,
}

impl<C: Checker> Checker for Counted<C> {
    fn identity(&self) -> String {
        self.inner.identity()
    }

    fn check(&self, deadline: Instant) -> Outcome {
        self.probes.fetch_add(1, Ordering::Relaxed);
        self.inner.check(deadline)
    }
}

/// A gate the hung checkers wait on; opened at the end of the test so the
/// blocking pool can shut down.
#[derive(Debug, Default)]
struct Gate {
    open: Mutex<bool>,
    cv: Condvar,
}

impl Gate {
    fn wait(&self) {
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        while !*open {
            open = self.cv.wait(open).unwrap_or_else(|e| e.into_inner());
        }
    }

    fn open(&self) {
        *self.open.lock().unwrap_or_else(|e| e.into_inner()) = true;
        self.cv.notify_all();
    }
}

/// Ignores its deadline and blocks until the gate opens.
#[derive(Debug)]
struct HangsPastDeadline(Arc<Gate>);

impl Checker for HangsPastDeadline {
    fn identity(&self) -> String {
        "hangs-past-deadline".into()
    }

    fn check(&self, _deadline: Instant) -> Outcome {
        self.0.wait();
        Outcome::Success(Success::Connected)
    }
}

/// A deadline-ignoring async check; records when the runner dropped it.
#[derive(Debug, Default)]
struct PendingForever {
    dropped: Arc<AtomicBool>,
}

struct OnDrop(Arc<AtomicBool>);

impl Drop for OnDrop {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

impl AsyncChecker for PendingForever {
    fn identity(&self) -> String {
        "pending-forever".into()
    }

    fn check(&self, _deadline: Instant) -> ProbeFuture<'_> {
        let guard = OnDrop(self.dropped.clone());
        Box::pin(async move {
            let _guard = guard;
            std::future::pending::<Outcome>().await
        })
    }
}

/// Liveness bound for "counted as a timeout": deadline + grace + scheduling.
/// Generous on purpose (not a speed target); without a bound the member
/// would never leave Unknown.
const TIMEOUT_REPORTED_WITHIN: Duration = Duration::from_secs(5);

#[tokio::test(flavor = "current_thread")]
async fn blocking_checker_hanging_past_deadline_is_a_timeout() {
    let gate = Arc::new(Gate::default());
    let config = EngineConfig::default().with_watchdog_slack(Duration::from_millis(300));
    let mut runner = Runner::new(config);
    let member = runner
        .add(
            ServiceId(1),
            Arc::new(Blocking(Arc::new(HangsPastDeadline(gate.clone())))),
            strict_policy(),
        )
        .unwrap_or_else(|e| panic!("{e}"));
    let mut handle = runner.spawn();
    let started = Instant::now();
    let t = transition_within(&mut handle.events, TIMEOUT_REPORTED_WITHIN).await;
    let elapsed = started.elapsed();
    gate.open();
    let t =
        t.unwrap_or_else(|| panic!("hung checker not reported within {TIMEOUT_REPORTED_WITHIN:?}"));
    assert_eq!(
        (t.member, t.to, t.reason),
        (member, Health::Down, Some(FailReason::Timeout))
    );
    // Not before its deadline: the checker is given its whole timeout.
    assert!(elapsed >= PROBE_TIMEOUT, "timed out after {elapsed:?}");
    shutdown(handle).await;
}

#[tokio::test(flavor = "current_thread")]
async fn async_checker_hanging_past_deadline_is_a_timeout_and_dropped() {
    let check = Arc::new(PendingForever::default());
    let dropped = check.dropped.clone();
    let config = EngineConfig::default().with_watchdog_slack(Duration::from_millis(300));
    let mut runner = Runner::new(config);
    let member = runner
        .add(ServiceId(1), check, strict_policy())
        .unwrap_or_else(|e| panic!("{e}"));
    let mut handle = runner.spawn();
    let t = transition_within(&mut handle.events, TIMEOUT_REPORTED_WITHIN)
        .await
        .unwrap_or_else(|| panic!("hung checker not reported within {TIMEOUT_REPORTED_WITHIN:?}"));
    assert_eq!(
        (t.member, t.to, t.reason),
        (member, Health::Down, Some(FailReason::Timeout))
    );
    // The runner cancels the probe itself rather than leaving the task behind.
    let until = Instant::now() + TIMEOUT_REPORTED_WITHIN;
    while !dropped.load(Ordering::Relaxed) {
        assert!(Instant::now() < until, "the hung probe was never cancelled");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    shutdown(handle).await;
}
