//! Virtual-clock simulations of the engine: exact detection times, flap
//! damping, jitter bounds, de-duplication, budget and fail-open.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap, HashMap};
use std::time::{Duration, Instant};

use lvs_healthcheck::{
    Engine, EngineConfig, Event, FailOpen, FailReason, Health, InitialState, KeepalivedCheck,
    KeepalivedTiming, MemberId, Outcome, Policy, ProbeId, ServiceId, Success, Transition,
};

fn secs(s: f64) -> Duration {
    Duration::from_secs_f64(s)
}

/// What a simulated backend does from a given time on.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Backend {
    /// Answers at once.
    Up,
    /// Refuses at once (TCP RST).
    Refuse,
    /// Never answers: the probe times out at its deadline.
    BlackHole,
    /// Passes after this many seconds (a slow script).
    SlowUp(f64),
    /// Fails after this many seconds (an HTTP 500, a script exiting 1).
    SlowFail(f64),
}

/// A simulated network: each key follows a timeline of behaviours.
struct World {
    timelines: HashMap<&'static str, Vec<(Duration, Backend)>>,
    t0: Instant,
    pending: BinaryHeap<Reverse<(Instant, u64, ProbeIdKey)>>,
    outcomes: HashMap<u64, (ProbeId, Outcome)>,
    seq: u64,
    /// Every probe start: (key, start offset, lateness).
    starts: Vec<(&'static str, Duration, Duration)>,
    max_in_flight_seen: usize,
    /// Keys whose probes are never reported (to exercise the watchdog).
    mute: Vec<&'static str>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct ProbeIdKey(u64);

impl World {
    fn new(t0: Instant) -> Self {
        World {
            timelines: HashMap::new(),
            t0,
            pending: BinaryHeap::new(),
            outcomes: HashMap::new(),
            seq: 0,
            starts: Vec::new(),
            max_in_flight_seen: 0,
            mute: Vec::new(),
        }
    }

    fn set(&mut self, key: &'static str, timeline: &[(f64, Backend)]) {
        self.timelines
            .insert(key, timeline.iter().map(|&(t, b)| (secs(t), b)).collect());
    }

    fn behaviour(&self, key: &str, at: Instant) -> Backend {
        let off = at - self.t0;
        let mut cur = Backend::Up;
        for &(from, b) in self.timelines.get(key).map(Vec::as_slice).unwrap_or(&[]) {
            if off >= from {
                cur = b;
            }
        }
        cur
    }

    /// Runs the engine until `until` (offset from t0); returns the events with their times.
    fn run(&mut self, engine: &mut Engine<&'static str>, until: f64) -> Vec<Event> {
        let end = self.t0 + secs(until);
        let mut events = Vec::new();
        loop {
            let next_timer = engine.poll_timeout();
            let next_result = self.pending.peek().map(|Reverse((t, _, _))| *t);
            let now = match (next_timer, next_result) {
                (Some(a), Some(b)) => a.min(b),
                (Some(a), None) => a,
                (None, Some(b)) => b,
                (None, None) => break,
            };
            if now > end {
                break;
            }
            while let Some(Reverse((t, _, k))) = self.pending.peek().copied() {
                if t > now {
                    break;
                }
                self.pending.pop();
                if let Some((id, outcome)) = self.outcomes.remove(&k.0) {
                    engine.handle_result(now, id, outcome);
                }
            }
            engine.handle_timeout(now);
            while let Some(req) = engine.poll_probe(now) {
                self.max_in_flight_seen = self.max_in_flight_seen.max(engine.in_flight());
                self.starts.push((req.key, now - self.t0, now - req.due));
                if self.mute.contains(&req.key) {
                    continue;
                }
                let (at, outcome) = match self.behaviour(req.key, now) {
                    Backend::Up => (now, Outcome::Success(Success::Connected)),
                    Backend::Refuse => (now, Outcome::Failure(FailReason::Refused)),
                    Backend::BlackHole => (req.deadline, Outcome::Failure(FailReason::Timeout)),
                    Backend::SlowUp(d) if now + secs(d) < req.deadline => {
                        (now + secs(d), Outcome::Success(Success::Connected))
                    }
                    Backend::SlowFail(d) if now + secs(d) < req.deadline => {
                        (now + secs(d), Outcome::Failure(FailReason::BadStatus(500)))
                    }
                    Backend::SlowUp(_) | Backend::SlowFail(_) => {
                        (req.deadline, Outcome::Failure(FailReason::Timeout))
                    }
                };
                self.seq += 1;
                self.outcomes.insert(self.seq, (req.id, outcome));
                self.pending
                    .push(Reverse((at, self.seq, ProbeIdKey(self.seq))));
            }
            while let Some(e) = engine.poll_event() {
                events.push(e);
            }
        }
        events
    }
}

fn transitions(events: &[Event]) -> Vec<&Transition> {
    events
        .iter()
        .filter_map(|e| match e {
            Event::Transition(t) => Some(t),
            _ => None,
        })
        .collect()
}

/// The seed's tuned TCP_CHECK (delay_loop 2, retry 1, delay_before_retry 2,
/// connect_timeout 3), with warmup 0 so times are exact.
fn seed_tuned() -> Policy {
    KeepalivedTiming::new(KeepalivedCheck::Tcp)
        .with_delay_loop(secs(2.0))
        .with_retry(1)
        .with_delay_before_retry(secs(2.0))
        .with_connect_timeout(secs(3.0))
        .with_warmup(Duration::ZERO)
        .policy()
}

fn engine() -> Engine<&'static str> {
    Engine::new(EngineConfig::default().with_fail_open(FailOpen::Off))
}

fn at(t0: Instant, t: &Transition) -> Duration {
    t.at - t0
}

#[test]
fn seed_tuned_refused_server_is_down_four_seconds_after_its_last_success() {
    let t0 = Instant::now();
    let mut world = World::new(t0);
    // Dies at 10.5 s (refusing), comes back at 20.5 s.
    world.set("www1", &[(10.5, Backend::Refuse), (20.5, Backend::Up)]);
    let mut e = engine();
    let m = e
        .add_member(t0, ServiceId(80), "www1", seed_tuned())
        .unwrap_or_else(|e| panic!("{e}"));
    let events = world.run(&mut e, 40.0);
    let ts = transitions(&events);
    assert_eq!(ts.len(), 2, "{events:#?}");
    // Probes at 1, 3, 5, 7, 9 pass; 11 fails, the retry 2 s later at 13 fails: down.
    assert_eq!(
        (ts[0].member, ts[0].from, ts[0].to),
        (m, Health::Up, Health::Down)
    );
    assert_eq!(at(t0, ts[0]), secs(13.0));
    assert_eq!(ts[0].reason, Some(FailReason::Refused));
    assert_eq!(ts[0].consecutive, 2);
    assert!(!ts[0].in_pool);
    // Down: probes every delay_loop, at 15, 17, 19, 21; the first success brings it up.
    assert_eq!((ts[1].from, ts[1].to), (Health::Down, Health::Up));
    assert_eq!(at(t0, ts[1]), secs(21.0));
    assert_eq!(ts[1].success, Some(Success::Connected));
    let starts: Vec<f64> = world.starts.iter().map(|s| s.1.as_secs_f64()).collect();
    assert_eq!(
        &starts[..11],
        &[1.0, 3.0, 5.0, 7.0, 9.0, 11.0, 13.0, 15.0, 17.0, 19.0, 21.0]
    );
}

#[test]
fn seed_tuned_black_holed_server_is_down_ten_seconds_after_its_last_success() {
    let t0 = Instant::now();
    let mut world = World::new(t0);
    world.set("www1", &[(10.5, Backend::BlackHole), (30.0, Backend::Up)]);
    let mut e = engine();
    e.add_member(t0, ServiceId(80), "www1", seed_tuned())
        .unwrap_or_else(|e| panic!("{e}"));
    let events = world.run(&mut e, 60.0);
    let ts = transitions(&events);
    assert_eq!(ts.len(), 2, "{events:#?}");
    // Last success at 9; probe at 11 times out at 14; retry at 16 times out at 19: down.
    // = delay_loop + timeout + delay_before_retry + timeout = 2 + 3 + 2 + 3 after the last success.
    assert_eq!(at(t0, ts[0]), secs(19.0));
    assert_eq!(ts[0].reason, Some(FailReason::Timeout));
    // Down probes start at 21 (ends 24), 26 (ends 29), 31: the server is back since 30.
    assert_eq!(at(t0, ts[1]), secs(31.0));
    assert_eq!(ts[1].to, Health::Up);
}

#[test]
fn keepalived_first_result_decides_and_alpha_starts_down() {
    let t0 = Instant::now();
    let mut world = World::new(t0);
    world.set("dead", &[(0.0, Backend::Refuse)]);
    world.set("alive", &[(0.0, Backend::Up)]);
    let mut e = engine();
    let dead = e
        .add_member(t0, ServiceId(1), "dead", seed_tuned())
        .unwrap_or_else(|e| panic!("{e}"));
    let alpha = seed_tuned().with_initial(InitialState::Down);
    let alive = e
        .add_member(t0, ServiceId(1), "alive", alpha)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(e.member(dead).map(|m| m.in_pool), Some(true));
    assert_eq!(e.member(alive).map(|m| m.in_pool), Some(false));
    let events = world.run(&mut e, 10.0);
    let ts = transitions(&events);
    assert_eq!(ts.len(), 2, "{events:#?}");
    // No retries for the very first result (keepalived sets retry_it = retry at start).
    let d = ts
        .iter()
        .find(|t| t.member == dead)
        .unwrap_or_else(|| panic!("no dead transition"));
    assert_eq!(
        (at(t0, d), d.to, d.consecutive),
        (secs(1.0), Health::Down, 1)
    );
    let a = ts
        .iter()
        .find(|t| t.member == alive)
        .unwrap_or_else(|| panic!("no alive transition"));
    assert_eq!((at(t0, a), a.to), (secs(1.0), Health::Up));
}

#[test]
fn unknown_start_waits_for_the_first_result() {
    let t0 = Instant::now();
    let mut world = World::new(t0);
    let policy = seed_tuned()
        .with_initial(InitialState::Unknown)
        .with_first_result_decides(false)
        .with_rise(3)
        .with_fall(3);
    let mut e = engine();
    let m = e
        .add_member(t0, ServiceId(1), "a", policy)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        e.member(m).map(|s| (s.health, s.in_pool)),
        Some((Health::Unknown, false))
    );
    let events = world.run(&mut e, 5.0);
    let ts = transitions(&events);
    assert_eq!(ts.len(), 1);
    assert_eq!(
        (ts[0].from, ts[0].to, at(t0, ts[0])),
        (Health::Unknown, Health::Up, secs(1.0))
    );
}

#[test]
fn rise_and_fall_with_fast_and_slow_intervals() {
    let t0 = Instant::now();
    let mut world = World::new(t0);
    world.set("a", &[(10.0, Backend::Refuse), (60.0, Backend::Up)]);
    let policy = Policy::new(secs(5.0), secs(2.0))
        .with_fast_interval(secs(1.0))
        .with_rise_interval(secs(1.0))
        .with_down_interval(secs(10.0))
        .with_rise(2)
        .with_fall(3)
        .with_initial(InitialState::Up);
    let mut e = engine();
    e.add_member(t0, ServiceId(1), "a", policy)
        .unwrap_or_else(|e| panic!("{e}"));
    let events = world.run(&mut e, 100.0);
    let ts = transitions(&events);
    assert_eq!(ts.len(), 2, "{events:#?}");
    // Up: probes at 0, 5, 10 (fails), then fast: 11, 12 → third failure at 12.
    assert_eq!((at(t0, ts[0]), ts[0].consecutive), (secs(12.0), 3));
    // Down: slow probes at 22, 32, 42, 52, 62 (passes), then fast 63: second success.
    assert_eq!(
        (at(t0, ts[1]), ts[1].to, ts[1].consecutive),
        (secs(63.0), Health::Up, 2)
    );
    let starts: Vec<f64> = world.starts.iter().map(|s| s.1.as_secs_f64()).collect();
    assert_eq!(
        &starts[..11],
        &[
            0.0, 5.0, 10.0, 11.0, 12.0, 22.0, 32.0, 42.0, 52.0, 62.0, 63.0
        ]
    );
}

#[test]
fn flapping_backend_is_damped_by_thresholds() {
    let t0 = Instant::now();
    let mut world = World::new(t0);
    // Alternates every 1.5 s, so consecutive probes 1 s apart rarely agree more than twice.
    let tl: Vec<(f64, Backend)> = (0..400)
        .map(|i| {
            (
                f64::from(i) * 1.5,
                if i % 2 == 0 {
                    Backend::Up
                } else {
                    Backend::Refuse
                },
            )
        })
        .collect();
    world.set("flappy", &tl);
    let damped = Policy::new(secs(1.0), secs(1.0))
        .with_rise(3)
        .with_fall(3)
        .with_initial(InitialState::Up);
    let mut e = engine();
    e.add_member(t0, ServiceId(1), "flappy", damped.clone())
        .unwrap_or_else(|e| panic!("{e}"));
    let events = world.run(&mut e, 590.0);
    assert!(transitions(&events).is_empty(), "{events:#?}");
    // Same backend with rise = fall = 1: it flaps.
    let mut world2 = World::new(t0);
    world2.set("flappy", &tl);
    let mut e2 = engine();
    let eager = damped.with_rise(1).with_fall(1);
    e2.add_member(t0, ServiceId(1), "flappy", eager)
        .unwrap_or_else(|e| panic!("{e}"));
    let flaps = transitions(&world2.run(&mut e2, 590.0)).len();
    assert!(flaps > 100, "{flaps}");
}

#[test]
fn jitter_stays_in_bounds_spreads_and_replays_by_seed() {
    let t0 = Instant::now();
    let keys: Vec<&'static str> = (0..1000)
        .map(|i| &*Box::leak(format!("k{i}").into_boxed_str()))
        .collect();
    let policy = Policy::new(secs(2.0), secs(1.0))
        .with_initial(InitialState::Up)
        .with_first_result_decides(true)
        .with_initial_delay(secs(1.0))
        .with_initial_jitter(secs(2.0))
        .with_interval_jitter(secs(0.5));
    let schedule = |seed: u64| {
        let mut e: Engine<&'static str> = Engine::new(
            EngineConfig::default()
                .with_seed(seed)
                .with_max_in_flight(usize::MAX),
        );
        for k in &keys {
            e.add_member(t0, ServiceId(1), k, policy.clone())
                .unwrap_or_else(|e| panic!("{e}"));
        }
        let mut world = World::new(t0);
        world.run(&mut e, 30.0);
        world.starts
    };
    let starts = schedule(1);
    let mut by_key: BTreeMap<&str, Vec<Duration>> = BTreeMap::new();
    for (k, t, _) in &starts {
        by_key.entry(k).or_default().push(*t);
    }
    assert_eq!(by_key.len(), 1000);
    let mut first_buckets = [0u32; 10];
    for times in by_key.values() {
        // First probe in [1 s, 3 s).
        assert!(
            times[0] >= secs(1.0) && times[0] < secs(3.0),
            "{:?}",
            times[0]
        );
        first_buckets[((times[0] - secs(1.0)).as_secs_f64() / 0.2) as usize] += 1;
        // Later ones 2 s + [0, 0.5 s) apart.
        for w in times.windows(2) {
            let gap = w[1] - w[0];
            assert!(gap >= secs(2.0) && gap < secs(2.5), "{gap:?}");
        }
    }
    // 1000 first probes over ten 200 ms buckets: none empty, none with more than double its share.
    assert!(
        first_buckets.iter().all(|&n| (50..200).contains(&n)),
        "{first_buckets:?}"
    );
    assert_eq!(schedule(1), starts, "same seed, same schedule");
    assert_ne!(schedule(2), starts, "another seed, another schedule");
}

#[test]
fn identical_probes_are_shared_between_services() {
    let t0 = Instant::now();
    let mut world = World::new(t0);
    world.set("www1:80", &[(5.0, Backend::Refuse)]);
    let mut e = engine();
    // Two virtual servers (e.g. VIP:80 and VIP:8080) with the same real server and check.
    let a = e
        .add_member(t0, ServiceId(80), "www1:80", seed_tuned())
        .unwrap_or_else(|e| panic!("{e}"));
    let b = e
        .add_member(t0, ServiceId(8080), "www1:80", seed_tuned())
        .unwrap_or_else(|e| panic!("{e}"));
    // A different check of the same host is a different probe.
    let c = e
        .add_member(t0, ServiceId(53), "www1:53", seed_tuned())
        .unwrap_or_else(|e| panic!("{e}"));
    // The same check with other timing is another probe, too.
    let slow = seed_tuned().with_interval(secs(10.0));
    let d = e
        .add_member(t0, ServiceId(81), "www1:80", slow)
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(e.probe_count(), 3);
    let events = world.run(&mut e, 4.5);
    let n80 = world.starts.iter().filter(|s| s.0 == "www1:80").count();
    // Probes at 1 and 3 for the shared one, 1 for the slow one.
    assert_eq!(n80, 3, "{:?}", world.starts);
    // No health changed: each member is told only that it has been checked.
    let mut checked: Vec<MemberId> = events
        .iter()
        .map(|ev| match ev {
            Event::Checked { member, .. } => *member,
            other => panic!("unexpected {other:?}"),
        })
        .collect();
    checked.sort();
    let mut all = vec![a, b, c, d];
    all.sort();
    assert_eq!(checked, all);
    let events = world.run(&mut e, 10.0);
    let ts = transitions(&events);
    let members: Vec<(MemberId, ServiceId)> = ts.iter().map(|t| (t.member, t.service)).collect();
    assert_eq!(members, vec![(a, ServiceId(80)), (b, ServiceId(8080))]);
    assert!(ts.iter().all(|t| t.at == t0 + secs(7.0)));
    let _ = (c, d);
    // Removing one member keeps the probe for the other; removing both stops it.
    assert!(e.remove_member(a));
    assert_eq!(e.probe_count(), 3);
    assert!(e.remove_member(b));
    assert_eq!(e.probe_count(), 2);
    assert!(!e.remove_member(b));
}

#[test]
fn concurrency_budget_delays_probes_without_losing_them() {
    let t0 = Instant::now();
    let mut world = World::new(t0);
    let keys = ["a", "b", "c", "d", "e"];
    for k in keys {
        world.set(k, &[(0.0, Backend::BlackHole)]);
    }
    let mut e: Engine<&'static str> = Engine::new(
        EngineConfig::default()
            .with_max_in_flight(2)
            .with_fail_open(FailOpen::Off),
    );
    for k in keys {
        e.add_member(t0, ServiceId(1), k, seed_tuned())
            .unwrap_or_else(|e| panic!("{e}"));
    }
    world.run(&mut e, 8.0);
    assert_eq!(world.max_in_flight_seen, 2);
    // All five due at 1 s; two run 1–4, two 4–7, the last from 7, 6 s late.
    let first: Vec<(Duration, Duration)> =
        world.starts.iter().take(5).map(|s| (s.1, s.2)).collect();
    assert_eq!(
        first,
        vec![
            (secs(1.0), secs(0.0)),
            (secs(1.0), secs(0.0)),
            (secs(4.0), secs(3.0)),
            (secs(4.0), secs(3.0)),
            (secs(7.0), secs(6.0)),
        ]
    );
}

#[test]
fn fail_open_reports_and_holds_when_every_backend_fails_at_once() {
    for mode in [FailOpen::Off, FailOpen::Report, FailOpen::Hold] {
        let t0 = Instant::now();
        let mut world = World::new(t0);
        // The director's own uplink dies: both backends vanish at once; www2 is back at 30 s.
        world.set("www1", &[(10.5, Backend::BlackHole)]);
        world.set("www2", &[(10.5, Backend::BlackHole), (30.0, Backend::Up)]);
        let mut e = engine();
        e.set_fail_open(ServiceId(80), mode);
        let w1 = e
            .add_member(t0, ServiceId(80), "www1", seed_tuned())
            .unwrap_or_else(|e| panic!("{e}"));
        let w2 = e
            .add_member(t0, ServiceId(80), "www2", seed_tuned())
            .unwrap_or_else(|e| panic!("{e}"));
        let events = world.run(&mut e, 40.0);
        let all_down: Vec<&Event> = events
            .iter()
            .filter(|e| matches!(e, Event::AllDown { .. }))
            .collect();
        match mode {
            FailOpen::Off => {
                assert!(all_down.is_empty());
                assert_eq!(e.member(w1).map(|m| m.in_pool), Some(false));
            }
            FailOpen::Report => {
                assert_eq!(all_down.len(), 1, "{events:#?}");
                let Event::AllDown {
                    suspects, held, at, ..
                } = all_down[0]
                else {
                    unreachable!()
                };
                assert_eq!(suspects, &vec![w1, w2]);
                assert!(held.is_empty());
                assert_eq!(*at, t0 + secs(19.0));
                assert_eq!(e.member(w1).map(|m| m.in_pool), Some(false));
            }
            FailOpen::Hold => {
                assert_eq!(all_down.len(), 1, "{events:#?}");
                let Event::AllDown { held, .. } = all_down[0] else {
                    unreachable!()
                };
                // The last one to go down (www2, registered second) is kept in the pool.
                assert_eq!(held, &vec![w2]);
                let ts = transitions(&events);
                let w2_down = ts
                    .iter()
                    .find(|t| t.member == w2 && t.to == Health::Down)
                    .unwrap_or_else(|| panic!("no down for www2"));
                assert!(w2_down.in_pool);
                // www2 recovers: its Up transition keeps it in the pool, and nothing else is held.
                assert_eq!(
                    e.member(w2).map(|m| (m.health, m.in_pool)),
                    Some((Health::Up, true))
                );
                assert_eq!(
                    e.member(w1).map(|m| (m.health, m.in_pool)),
                    Some((Health::Down, false))
                );
            }
        }
    }
}

#[test]
fn held_member_is_released_when_another_comes_back() {
    let t0 = Instant::now();
    let mut world = World::new(t0);
    world.set("www1", &[(10.5, Backend::Refuse), (30.0, Backend::Up)]);
    world.set("www2", &[(10.5, Backend::Refuse)]);
    let mut e = engine();
    e.set_fail_open(ServiceId(80), FailOpen::Hold);
    let w1 = e
        .add_member(t0, ServiceId(80), "www1", seed_tuned())
        .unwrap_or_else(|e| panic!("{e}"));
    let w2 = e
        .add_member(t0, ServiceId(80), "www2", seed_tuned())
        .unwrap_or_else(|e| panic!("{e}"));
    let events = world.run(&mut e, 40.0);
    let release = events.iter().find_map(|ev| match ev {
        Event::Pool {
            member,
            in_pool,
            at,
            ..
        } => Some((*member, *in_pool, *at)),
        _ => None,
    });
    // www1 comes back at the first probe after 30 s (31 s); held www2 leaves the pool then.
    assert_eq!(release, Some((w2, false, t0 + secs(31.0))));
    assert_eq!(e.member(w1).map(|m| m.in_pool), Some(true));
    assert_eq!(e.member(w2).map(|m| m.in_pool), Some(false));
}

#[test]
fn watchdog_counts_an_unreported_probe_as_a_timeout() {
    let t0 = Instant::now();
    let mut world = World::new(t0);
    world.mute.push("lost");
    let mut e = engine();
    let m = e
        .add_member(t0, ServiceId(1), "lost", seed_tuned())
        .unwrap_or_else(|e| panic!("{e}"));
    let events = world.run(&mut e, 10.0);
    let ts = transitions(&events);
    // Started at 1 s, deadline 4 s, watchdog slack 1 s: timeout counted at 5 s.
    assert_eq!(ts.len(), 1);
    assert_eq!((ts[0].member, at(t0, ts[0])), (m, secs(5.0)));
    assert_eq!(ts[0].reason, Some(FailReason::Timeout));
}

#[test]
fn stale_and_unknown_results_are_ignored() {
    let t0 = Instant::now();
    let mut e = engine();
    let m = e
        .add_member(t0, ServiceId(1), "x", seed_tuned())
        .unwrap_or_else(|e| panic!("{e}"));
    let now = t0 + secs(1.0);
    e.handle_timeout(now);
    let req = e.poll_probe(now).unwrap_or_else(|| panic!("probe due"));
    assert!(e.handle_result(now, req.id, Outcome::Success(Success::Connected)));
    // The same id again is stale.
    assert!(!e.handle_result(now, req.id, Outcome::Failure(FailReason::Refused)));
    assert_eq!(e.member(m).map(|s| s.health), Some(Health::Up));
    // A result for a probe whose member is gone changes nothing.
    let later = t0 + secs(3.0);
    e.handle_timeout(later);
    let req = e.poll_probe(later).unwrap_or_else(|| panic!("probe due"));
    assert!(e.remove_member(m));
    assert!(!e.handle_result(later, req.id, Outcome::Failure(FailReason::Refused)));
    assert_eq!(e.in_flight(), 0);
    assert_eq!(e.poll_timeout(), None);
}

#[test]
fn startup_grace_ignores_early_failures_only() {
    let t0 = Instant::now();
    let mut world = World::new(t0);
    world.set(
        "booting",
        &[
            (0.0, Backend::Refuse),
            (20.0, Backend::Up),
            (40.0, Backend::Refuse),
        ],
    );
    let policy = seed_tuned().with_startup_grace(secs(15.0));
    let mut e = engine();
    e.add_member(t0, ServiceId(1), "booting", policy)
        .unwrap_or_else(|e| panic!("{e}"));
    let events = world.run(&mut e, 50.0);
    let ts = transitions(&events);
    // Failures at 1..15 s are ignored; the first counted one (at 15 s) decides: down.
    assert_eq!(at(t0, ts[0]), secs(15.0));
    assert_eq!(ts[0].to, Health::Down);
    assert_eq!((at(t0, ts[1]), ts[1].to), (secs(21.0), Health::Up));
    assert_eq!((at(t0, ts[2]), ts[2].to), (secs(43.0), Health::Down));
}

#[test]
fn dynamic_weight_is_reported_once_per_change() {
    let t0 = Instant::now();
    let mut e = engine();
    let m = e
        .add_member(t0, ServiceId(1), "script", seed_tuned())
        .unwrap_or_else(|e| panic!("{e}"));
    let mut weights = Vec::new();
    let mut now = t0;
    for w in [Some(5), Some(5), None, Some(9)] {
        now = e.poll_timeout().unwrap_or_else(|| panic!("scheduled"));
        e.handle_timeout(now);
        let req = e.poll_probe(now).unwrap_or_else(|| panic!("due"));
        e.handle_result(now, req.id, Outcome::Success(Success::Exited { weight: w }));
        while let Some(ev) = e.poll_event() {
            if let Event::Weight { member, weight, .. } = ev {
                assert_eq!(member, m);
                weights.push(weight);
            }
        }
    }
    assert_eq!(weights, vec![5, 9]);
    let _ = now;
}

#[test]
fn seed_dns_udp_check_goes_down_six_seconds_after_its_last_success() {
    // virtual_server 172.20.0.83 53 { delay_loop 5; UDP_CHECK { connect_timeout 3 } }:
    // keepalived's UDP_CHECK defaults retry 1, delay_before_retry 1 s.
    let policy = KeepalivedTiming::new(KeepalivedCheck::Udp)
        .with_delay_loop(secs(5.0))
        .with_connect_timeout(secs(3.0))
        .with_warmup(Duration::ZERO)
        .policy();
    let t0 = Instant::now();
    let mut world = World::new(t0);
    // dnsmasq stops at 12 s: ICMP port unreachable, an immediate failure.
    world.set("www1:53", &[(12.0, Backend::Refuse)]);
    let mut e = engine();
    e.add_member(t0, ServiceId(53), "www1:53", policy)
        .unwrap_or_else(|e| panic!("{e}"));
    let events = world.run(&mut e, 30.0);
    let ts = transitions(&events);
    // Probes at 1, 6, 11 pass; 16 fails, the retry at 17 fails: down.
    assert_eq!(ts.len(), 1, "{events:#?}");
    assert_eq!((at(t0, ts[0]), ts[0].to), (secs(17.0), Health::Down));
}

#[test]
fn keepalived_http_get_needs_two_good_answers_to_come_back() {
    // HTTP_GET { delay_loop 2; retry 1; connect_timeout 3 } (delay_before_retry defaults to 3).
    let policy = KeepalivedTiming::new(KeepalivedCheck::Http)
        .with_delay_loop(secs(2.0))
        .with_retry(1)
        .with_connect_timeout(secs(3.0))
        .with_warmup(Duration::ZERO)
        .policy();
    let t0 = Instant::now();
    let mut world = World::new(t0);
    // Answers 500 from 10.5 s to 30 s.
    world.set(
        "www1",
        &[(10.5, Backend::SlowFail(0.0)), (30.0, Backend::Up)],
    );
    let mut e = engine();
    e.add_member(t0, ServiceId(80), "www1", policy)
        .unwrap_or_else(|e| panic!("{e}"));
    let events = world.run(&mut e, 40.0);
    let ts = transitions(&events);
    assert_eq!(ts.len(), 2, "{events:#?}");
    // 11 fails, retry 3 s later at 14 fails: down.
    assert_eq!(
        (at(t0, ts[0]), ts[0].reason.clone()),
        (secs(14.0), Some(FailReason::BadStatus(500)))
    );
    // Down: every max(delay_loop, delay_before_retry) = 3 s: 17 … 29 fail, 32 passes,
    // and the second pass delay_loop later, at 34, brings it up.
    assert_eq!(
        (at(t0, ts[1]), ts[1].to, ts[1].consecutive),
        (secs(34.0), Health::Up, 2)
    );
}

#[test]
fn keepalived_misc_check_counts_intervals_from_the_script_start() {
    // MISC_CHECK { misc_timeout 3 } under delay_loop 5: retry 0 by default.
    let policy = KeepalivedTiming::new(KeepalivedCheck::Misc)
        .with_delay_loop(secs(5.0))
        .with_connect_timeout(secs(3.0))
        .with_warmup(Duration::ZERO)
        .policy();
    let t0 = Instant::now();
    let mut world = World::new(t0);
    // The script takes 1 s; from 20 s it exits 1.
    world.set(
        "script",
        &[(0.0, Backend::SlowUp(1.0)), (20.0, Backend::SlowFail(1.0))],
    );
    let mut e = engine();
    e.add_member(t0, ServiceId(1), "script", policy)
        .unwrap_or_else(|e| panic!("{e}"));
    let events = world.run(&mut e, 24.0);
    let starts: Vec<f64> = world.starts.iter().map(|s| s.1.as_secs_f64()).collect();
    assert_eq!(starts, vec![1.0, 6.0, 11.0, 16.0, 21.0]);
    let ts = transitions(&events);
    assert_eq!(ts.len(), 1);
    assert_eq!((at(t0, ts[0]), ts[0].to), (secs(22.0), Health::Down));
}

#[test]
fn watchdogs_of_different_timeouts_and_a_clock_step_back_fire_in_deadline_order() {
    let t0 = Instant::now();
    let mut e = engine();
    let long = seed_tuned().with_timeout(secs(10.0));
    let short = seed_tuned().with_timeout(secs(1.0));
    let ml = e
        .add_member(t0, ServiceId(1), "long", long)
        .unwrap_or_else(|e| panic!("{e}"));
    let ms = e
        .add_member(t0, ServiceId(1), "short", short.clone())
        .unwrap_or_else(|e| panic!("{e}"));
    let ms2 = e
        .add_member(t0, ServiceId(1), "short2", short)
        .unwrap_or_else(|e| panic!("{e}"));
    let now = t0 + secs(1.0);
    e.handle_timeout(now);
    // Handed out in order long, short (at 1 s) and short2 at 0.5 s: the
    // caller's clock stepped back; nothing is ever reported.
    let mut keys = Vec::new();
    while let Some(req) = e.poll_probe(if keys.len() < 2 { now } else { t0 + secs(0.5) }) {
        keys.push((req.key, req.deadline));
    }
    assert_eq!(keys.len(), 3, "{keys:?}");
    // Slack 1 s: short2 at 2.5 s, short at 3 s, long at 12 s.
    let mut fired = Vec::new();
    while let Some(t) = e.poll_timeout() {
        if t > t0 + secs(20.0) {
            break;
        }
        e.handle_timeout(t);
        while let Some(ev) = e.poll_event() {
            if let Event::Transition(tr) = ev
                && tr.reason == Some(FailReason::Timeout)
            {
                fired.push((tr.member, tr.at - t0));
            }
        }
        // Probes due again are handed out and lost too.
        while e.poll_probe(t).is_some() {}
    }
    let firsts: Vec<_> = [ms2, ms, ml]
        .iter()
        .map(|m| fired.iter().find(|(x, _)| x == m).map(|(_, at)| *at))
        .collect();
    assert_eq!(
        firsts,
        vec![Some(secs(2.5)), Some(secs(3.0)), Some(secs(12.0))],
        "{fired:?}"
    );
}
