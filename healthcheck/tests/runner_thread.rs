//! `Runner::spawn_thread`: the runner on a thread and runtime of its own,
//! in the caller's network namespace or another one.
#![cfg(feature = "tokio")]

use std::net::{SocketAddr, TcpListener};
use std::os::fd::AsFd;
use std::sync::Arc;
use std::time::{Duration, Instant};

use lvs_healthcheck::checker::tcp::TcpCheck;
use lvs_healthcheck::runner::{Runner, RunnerThread};
use lvs_healthcheck::{
    ConnectOptions, EngineConfig, Event, FailReason, Health, InitialState, MemberId, Policy,
    ServiceId, Transition,
};

// Field by field: `Policy` is to become `#[non_exhaustive]`, which rules
// out a struct literal outside its crate.
#[allow(clippy::field_reassign_with_default)]
fn fast_policy() -> Policy {
    let mut p = Policy::default();
    p.interval = Duration::from_millis(100);
    p.fast_interval = Duration::from_millis(50);
    p.rise_interval = Duration::from_millis(50);
    p.down_interval = Duration::from_millis(100);
    p.timeout = Duration::from_millis(500);
    p.rise = 1;
    p.fall = 1;
    p.initial = InitialState::Unknown;
    p.first_result_decides = true;
    p.initial_delay = Duration::ZERO;
    p.initial_jitter = Duration::from_millis(20);
    p.interval_jitter = Duration::ZERO;
    p
}

/// A runner checking `addrs` (one member each), not yet started.
fn runner_for(addrs: &[SocketAddr]) -> (Runner, Vec<MemberId>) {
    let mut runner = Runner::new(EngineConfig::default());
    let ids = addrs
        .iter()
        .map(|&a| {
            let check = Arc::new(TcpCheck::new(ConnectOptions::new(a)));
            runner
                .add(ServiceId(1), check, fast_policy())
                .unwrap_or_else(|e| panic!("{e}"))
        })
        .collect();
    (runner, ids)
}

/// The first transition of each of `n` members, waiting at most 10 s in all
/// (a liveness bound). Blocking: the test thread has no runtime.
fn first_transitions(probes: &mut RunnerThread, n: usize) -> Vec<Transition> {
    let until = Instant::now() + Duration::from_secs(10);
    let mut seen: Vec<Transition> = Vec::new();
    while seen.len() < n {
        match probes.events.try_recv() {
            Ok(Event::Transition(t)) => {
                if !seen.iter().any(|s| s.member == t.member) {
                    seen.push(t);
                }
            }
            Ok(_) => {}
            Err(tokio::sync::mpsc::error::TryRecvError::Empty) => {
                assert!(Instant::now() < until, "only {seen:?} within 10 s");
                std::thread::sleep(Duration::from_millis(10));
            }
            Err(e) => panic!("runner stopped: {e}"),
        }
    }
    seen
}

fn transition_of(seen: &[Transition], id: MemberId) -> &Transition {
    seen.iter()
        .find(|t| t.member == id)
        .unwrap_or_else(|| panic!("no transition of {id:?} in {seen:?}"))
}

/// A port on 127.0.0.1 with nothing listening (bound, then closed).
fn closed_port() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn spawn_thread_probes_without_a_runtime_of_the_callers() {
    // The kernel completes handshakes into the backlog: no accept needed.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap_or_else(|e| panic!("{e}"));
    let up = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));
    let (runner, ids) = runner_for(&[up, closed_port()]);

    let mut probes = runner.spawn_thread(None).unwrap_or_else(|e| panic!("{e}"));
    let seen = first_transitions(&mut probes, 2);
    assert_eq!(transition_of(&seen, ids[0]).to, Health::Up);
    let refused = transition_of(&seen, ids[1]);
    assert_eq!(
        (refused.to, refused.reason.clone()),
        (Health::Down, Some(FailReason::Refused))
    );
    assert!(probes.stats.probes() >= 2);

    probes
        .shutdown()
        .unwrap_or_else(|p| std::panic::resume_unwind(p));
    drop(listener);
}

#[test]
fn spawn_thread_fails_for_a_descriptor_that_is_no_namespace() {
    let (runner, _) = runner_for(&[closed_port()]);
    let not_ns = std::fs::File::open("/dev/null").unwrap_or_else(|e| panic!("{e}"));
    assert!(runner.spawn_thread(Some(not_ns.as_fd())).is_err());
}

#[test]
#[ignore = "needs root + netns (cargo xtask test)"]
fn netns_spawn_thread_probes_inside_the_given_namespace() {
    let ns = lvs_testenv::Netns::new("hcthr");
    // 127.0.0.1 inside `ns`: a loopback of its own, unreachable from here.
    let listener = ns
        .enter(|| TcpListener::bind("127.0.0.1:0"))
        .unwrap_or_else(|e| panic!("{e}"));
    let addr = listener.local_addr().unwrap_or_else(|e| panic!("{e}"));

    let (runner, ids) = runner_for(&[addr]);
    let mut inside = runner
        .spawn_thread(Some(ns.as_fd()))
        .unwrap_or_else(|e| panic!("{e}"));
    let seen = first_transitions(&mut inside, 1);
    assert_eq!(transition_of(&seen, ids[0]).to, Health::Up, "{seen:?}");

    // The same check from this namespace meets this loopback's closed port.
    let (runner, ids) = runner_for(&[addr]);
    let mut outside = runner.spawn_thread(None).unwrap_or_else(|e| panic!("{e}"));
    let seen = first_transitions(&mut outside, 1);
    let t = transition_of(&seen, ids[0]);
    assert_eq!(
        (t.to, t.reason.clone()),
        (Health::Down, Some(FailReason::Refused))
    );

    for probes in [inside, outside] {
        probes
            .shutdown()
            .unwrap_or_else(|p| std::panic::resume_unwind(p));
    }
}
