//! The sans-IO scheduler: decides when each probe runs, folds results into
//! health with a [`Policy`], de-duplicates identical probes, enforces a
//! concurrency budget, guards against emptying a service, and queues events.
//!
//! It never reads a clock or touches a socket. The driver passes `now` in:
//!
//! 1. [`Engine::handle_timeout`] when [`Engine::poll_timeout`] is reached;
//! 2. [`Engine::poll_probe`] until `None`, running each probe (any way it
//!    likes) and reporting with [`Engine::handle_result`];
//! 3. [`Engine::poll_event`] until `None`, acting on the events;
//! 4. sleep until [`Engine::poll_timeout`] or until a result arrives.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::hash::Hash;
use std::time::{Duration, Instant};

use crate::outcome::{FailReason, Outcome, Success};
use crate::policy::{Health, InitialState, Policy, PolicyError};
use crate::rng::SplitMix64;

/// Identifies a virtual service (the pool a backend belongs to). Chosen by the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ServiceId(pub u64);

/// One backend in one service, as returned by [`Engine::add_member`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MemberId(u32);

impl MemberId {
    /// The slot number (stable while the member exists).
    pub fn index(self) -> u32 {
        self.0
    }
}

/// One probe execution handed out by [`Engine::poll_probe`]; hand it back
/// with the outcome to [`Engine::handle_result`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProbeId {
    slot: u32,
    attempt: u64,
}

/// A probe to run now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProbeRequest<K> {
    /// Give this back with the result.
    pub id: ProbeId,
    /// What to probe (the key the members were registered with).
    pub key: K,
    /// When the probe should have started (lateness = dispatch time − `due`).
    pub due: Instant,
    /// The probe must end its work by then and report; the engine counts it
    /// as a timeout itself if nothing arrives within
    /// [`EngineConfig::watchdog_slack`] after, and a driver must not give up
    /// on the probe sooner (a verdict reached at the deadline, such as
    /// accepted silence, needs a moment to arrive).
    pub deadline: Instant,
}

/// What the engine does when every backend of a service is down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FailOpen {
    /// Nothing special: the pool empties.
    Off,
    /// The pool empties, and an [`Event::AllDown`] reports the suspicion.
    Report,
    /// The last member(s) stay in the pool although down ("held"), and an
    /// [`Event::AllDown`] reports it. Held members leave the pool as soon as
    /// another member of the service is up again.
    Hold,
}

/// Engine-wide settings.
///
/// [`EngineConfig::default()`], field by field: `seed`
/// `0x6c76_7368_6300_0001` (fixed, so schedules are reproducible),
/// `max_in_flight` 1024, `fail_open` [`FailOpen::Report`],
/// `all_down_window` 10 s, `watchdog_slack` 1 s.
///
/// New settings may be added: start from [`EngineConfig::new`] (the
/// defaults) and chain the `with_*` setters:
///
/// ```
/// use lvs_healthcheck::{EngineConfig, FailOpen};
///
/// let config = EngineConfig::new().with_max_in_flight(64).with_fail_open(FailOpen::Hold);
/// assert_eq!(config.max_in_flight, 64);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct EngineConfig {
    /// Seed of the jitter generator (same seed, same schedule).
    pub seed: u64,
    /// Most probes in flight at once; further due probes wait their turn.
    pub max_in_flight: usize,
    /// Default fail-open behaviour (per service override: [`Engine::set_fail_open`]).
    pub fail_open: FailOpen,
    /// Members that went down within this window before the last one are
    /// listed as suspects in [`Event::AllDown`].
    pub all_down_window: Duration,
    /// How long past a probe's deadline the engine waits for its result
    /// before counting a timeout itself; the tokio runner also cancels a
    /// probe then. Keep it above the latency of reporting a verdict reached
    /// at the deadline (a blocking thread waking up on a loaded host).
    pub watchdog_slack: Duration,
}

with_setters!(EngineConfig {
    with_seed(seed: u64),
    with_max_in_flight(max_in_flight: usize),
    with_fail_open(fail_open: FailOpen),
    with_all_down_window(all_down_window: Duration),
    with_watchdog_slack(watchdog_slack: Duration),
});

impl EngineConfig {
    /// The defaults (see above); the same as [`EngineConfig::default`].
    pub fn new() -> EngineConfig {
        EngineConfig::default()
    }
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            seed: 0x6c76_7368_6300_0001,
            max_in_flight: 1024,
            fail_open: FailOpen::Report,
            all_down_window: Duration::from_secs(10),
            watchdog_slack: Duration::from_secs(1),
        }
    }
}

/// A member's health changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transition {
    /// The member.
    pub member: MemberId,
    /// Its service.
    pub service: ServiceId,
    /// Health before.
    pub from: Health,
    /// Health now.
    pub to: Health,
    /// The failure that caused a move to down (or the last failure seen
    /// before a move up, if any).
    pub reason: Option<FailReason>,
    /// The success that caused a move to up.
    pub success: Option<Success>,
    /// Consecutive results of the kind that caused the move.
    pub consecutive: u32,
    /// Whether the member is in the pool after this (differs from `to == Up`
    /// only when [`FailOpen::Hold`] holds it).
    pub in_pool: bool,
    /// When the deciding result arrived.
    pub at: Instant,
}

/// What the engine tells its driver.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Event {
    /// A member went up or down.
    Transition(Transition),
    /// Every member of a service is down: a suspicion that the checker side,
    /// not the backends, is broken.
    AllDown {
        /// The service.
        service: ServiceId,
        /// Members that went down within [`EngineConfig::all_down_window`].
        suspects: Vec<MemberId>,
        /// Members kept in the pool although down ([`FailOpen::Hold`]).
        held: Vec<MemberId>,
        /// When it happened.
        at: Instant,
    },
    /// A member's pool membership changed without a health change: a held
    /// member released because another member came back up.
    Pool {
        /// The member.
        member: MemberId,
        /// Its service.
        service: ServiceId,
        /// In the pool now?
        in_pool: bool,
        /// When.
        at: Instant,
    },
    /// A probe's first counted result left its members' health as it
    /// started, so no [`Event::Transition`] tells of it: its members have
    /// been checked once now (what a caller waits for before it trusts a
    /// member that starts up).
    Checked {
        /// The member.
        member: MemberId,
        /// Its service.
        service: ServiceId,
        /// When.
        at: Instant,
    },
    /// A check using keepalived's `misc_dynamic` convention asked for a new weight.
    Weight {
        /// The member.
        member: MemberId,
        /// Its service.
        service: ServiceId,
        /// The weight requested.
        weight: u8,
        /// When.
        at: Instant,
    },
}

/// A snapshot of one member.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MemberState {
    /// Its service.
    pub service: ServiceId,
    /// Its health.
    pub health: Health,
    /// Whether it is in the pool.
    pub in_pool: bool,
    /// The last failure reason seen by its probe.
    pub last_failure: Option<FailReason>,
}

#[derive(Debug)]
struct InFlight {
    attempt: u64,
    started: Instant,
}

#[derive(Debug)]
struct Probe<K> {
    key: K,
    policy: Policy,
    members: Vec<u32>,
    health: Health,
    has_run: bool,
    successes: u32,
    failures: u32,
    last_failure: Option<FailReason>,
    weight: Option<u8>,
    registered: Instant,
    /// Token of the live due-timer entry (0 = none).
    due_token: u64,
    due_at: Option<Instant>,
    queued: bool,
    in_flight: Option<InFlight>,
}

#[derive(Debug)]
struct Member {
    service: ServiceId,
    probe: u32,
    in_pool: bool,
    held: bool,
    down_since: Option<Instant>,
}

#[derive(Debug, Default)]
struct Service {
    members: Vec<u32>,
    fail_open: Option<FailOpen>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum TimerKind {
    Due,
    Watchdog,
}

/// A timer: when, the probe attempt's token, the probe slot, which kind.
type Timer = (Instant, u64, u32, TimerKind);

/// Timers of one kind in `(when, token)` order: (when, token, slot).
/// Tokens grow with every push, so appending an instant no earlier than the
/// back keeps the whole tuple order, ties included.
type TimerQueue = VecDeque<(Instant, u64, u32)>;

/// Most due piles kept before due timers fall back to the heap: enough for a
/// few distinct intervals and a clock step or two, few enough that scanning
/// their fronts stays cheaper than a heap sift.
const MAX_DUE_PILES: usize = 4;

/// Where the earliest timer lives, so it is removed without a second search.
#[derive(Debug, Clone, Copy)]
enum TimerSource {
    Heap,
    Pile(usize),
    Watchdog(usize),
}

/// The scheduler and health state of many checks. `K` identifies what a
/// probe does (target + check parameters): members registered with equal
/// keys and equal policies share one probe.
#[derive(Debug)]
pub struct Engine<K> {
    config: EngineConfig,
    rng: SplitMix64,
    probes: Vec<Option<Probe<K>>>,
    free_probes: Vec<u32>,
    dedup: HashMap<(K, Policy), u32>,
    members: Vec<Option<Member>>,
    free_members: Vec<u32>,
    services: HashMap<ServiceId, Service>,
    /// Due timers that fit no pile (jittered intervals, clock steps).
    timers: BinaryHeap<Reverse<Timer>>,
    /// Due timers in a few sorted FIFOs ("patience piles"): without jitter
    /// each interval yields instants in push order, so most due timers are
    /// appended and popped in O(1) instead of sifting a heap of every probe.
    due_piles: Vec<TimerQueue>,
    /// Pile count limit ([`MAX_DUE_PILES`]; 0 in tests gives the all-heap
    /// reference).
    max_due_piles: usize,
    /// Watchdogs, one FIFO per probe timeout: their instants (start +
    /// timeout + slack) arrive in order, so each queue stays sorted without
    /// a heap. Most are dead (the probe answered) by the time they reach the
    /// front; in the heap they were most of its entries and of its cost.
    watchdogs: Vec<(Duration, TimerQueue)>,
    next_token: u64,
    ready: VecDeque<u32>,
    in_flight: usize,
    events: VecDeque<Event>,
}

impl<K: Clone + Eq + Hash> Engine<K> {
    /// An empty engine.
    pub fn new(config: EngineConfig) -> Self {
        Engine {
            rng: SplitMix64::new(config.seed),
            config,
            probes: Vec::new(),
            free_probes: Vec::new(),
            dedup: HashMap::new(),
            members: Vec::new(),
            free_members: Vec::new(),
            services: HashMap::new(),
            timers: BinaryHeap::new(),
            due_piles: Vec::new(),
            max_due_piles: MAX_DUE_PILES,
            watchdogs: Vec::new(),
            next_token: 1,
            ready: VecDeque::new(),
            in_flight: 0,
            events: VecDeque::new(),
        }
    }

    /// Sets a service's fail-open behaviour (overrides [`EngineConfig::fail_open`]).
    pub fn set_fail_open(&mut self, service: ServiceId, mode: FailOpen) {
        self.services.entry(service).or_default().fail_open = Some(mode);
    }

    /// Registers a backend of `service`, probed as `key` under `policy`.
    /// If another member already uses an equal key and policy, the probe is
    /// shared and the new member takes its current health.
    pub fn add_member(
        &mut self,
        now: Instant,
        service: ServiceId,
        key: K,
        policy: Policy,
    ) -> Result<MemberId, PolicyError> {
        policy.validate()?;
        let slot = match self.dedup.get(&(key.clone(), policy.clone())) {
            Some(&slot) => slot,
            None => {
                let health = match policy.initial {
                    InitialState::Up => Health::Up,
                    InitialState::Down => Health::Down,
                    InitialState::Unknown => Health::Unknown,
                };
                let probe = Probe {
                    key: key.clone(),
                    policy: policy.clone(),
                    members: Vec::new(),
                    health,
                    has_run: false,
                    successes: 0,
                    failures: 0,
                    last_failure: None,
                    weight: None,
                    registered: now,
                    due_token: 0,
                    due_at: None,
                    queued: false,
                    in_flight: None,
                };
                let slot = match self.free_probes.pop() {
                    Some(s) => {
                        self.probes[s as usize] = Some(probe);
                        s
                    }
                    None => {
                        self.probes.push(Some(probe));
                        (self.probes.len() - 1) as u32
                    }
                };
                self.dedup.insert((key, policy.clone()), slot);
                let first = policy.initial_delay + self.rng.below(policy.initial_jitter);
                self.schedule(slot, now + first);
                slot
            }
        };
        let health = self.probes[slot as usize]
            .as_ref()
            .map_or(Health::Unknown, |p| p.health);
        let member = Member {
            service,
            probe: slot,
            in_pool: health == Health::Up,
            held: false,
            down_since: None,
        };
        let idx = match self.free_members.pop() {
            Some(i) => {
                self.members[i as usize] = Some(member);
                i
            }
            None => {
                self.members.push(Some(member));
                (self.members.len() - 1) as u32
            }
        };
        let mut has_run = false;
        if let Some(p) = self.probes[slot as usize].as_mut() {
            p.members.push(idx);
            has_run = p.has_run;
        }
        self.services.entry(service).or_default().members.push(idx);
        // Joining a probe that has already run: this member is checked
        // already, and may not be in the state its policy starts in.
        if has_run {
            let member = MemberId(idx);
            let starts_in_pool = policy.initial == InitialState::Up;
            self.events
                .push_back(if (health == Health::Up) == starts_in_pool {
                    Event::Checked {
                        member,
                        service,
                        at: now,
                    }
                } else {
                    Event::Pool {
                        member,
                        service,
                        in_pool: health == Health::Up,
                        at: now,
                    }
                });
        }
        Ok(MemberId(idx))
    }

    /// Unregisters a member. Its probe stops when no member uses it; a
    /// result still in flight for it is then ignored.
    pub fn remove_member(&mut self, id: MemberId) -> bool {
        let Some(member) = self.members.get_mut(id.0 as usize).and_then(Option::take) else {
            return false;
        };
        self.free_members.push(id.0);
        if let Some(svc) = self.services.get_mut(&member.service) {
            svc.members.retain(|&m| m != id.0);
        }
        let slot = member.probe;
        let now_empty = match self.probes[slot as usize].as_mut() {
            Some(p) => {
                p.members.retain(|&m| m != id.0);
                p.members.is_empty()
            }
            None => false,
        };
        if now_empty && let Some(p) = self.probes[slot as usize].take() {
            if p.in_flight.is_some() {
                self.in_flight -= 1;
            }
            self.ready.retain(|&s| s != slot);
            self.dedup.remove(&(p.key, p.policy));
            self.free_probes.push(slot);
        }
        true
    }

    /// A member's current state, if it exists.
    pub fn member(&self, id: MemberId) -> Option<MemberState> {
        let m = self.members.get(id.0 as usize)?.as_ref()?;
        let p = self.probes[m.probe as usize].as_ref()?;
        Some(MemberState {
            service: m.service,
            health: p.health,
            in_pool: m.in_pool,
            last_failure: p.last_failure.clone(),
        })
    }

    /// Number of distinct probes (after de-duplication).
    pub fn probe_count(&self) -> usize {
        self.probes.iter().filter(|p| p.is_some()).count()
    }

    /// Number of probes handed out and not yet reported.
    pub fn in_flight(&self) -> usize {
        self.in_flight
    }

    /// The next instant [`Engine::handle_timeout`] must be called, if any.
    pub fn poll_timeout(&mut self) -> Option<Instant> {
        self.next_timer().map(|((at, ..), _)| at)
    }

    /// The earliest live timer (heap, due pile or watchdog queue) and where
    /// it is, dead ones dropped on the way; ties ordered as one heap of
    /// `(at, token, slot, kind)` would.
    fn next_timer(&mut self) -> Option<(Timer, TimerSource)> {
        while let Some(&Reverse((_, token, slot, kind))) = self.timers.peek() {
            if timer_live(&self.probes, token, slot, kind) {
                break;
            }
            self.timers.pop();
        }
        let mut best = self.timers.peek().map(|Reverse(t)| (*t, TimerSource::Heap));
        for (i, pile) in self.due_piles.iter_mut().enumerate() {
            if let Some(t) = live_front(pile, &self.probes, TimerKind::Due)
                && best.is_none_or(|(b, _)| t < b)
            {
                best = Some((t, TimerSource::Pile(i)));
            }
        }
        for (i, (_, q)) in self.watchdogs.iter_mut().enumerate() {
            if let Some(t) = live_front(q, &self.probes, TimerKind::Watchdog)
                && best.is_none_or(|(b, _)| t < b)
            {
                best = Some((t, TimerSource::Watchdog(i)));
            }
        }
        best
    }

    /// Removes the timer [`next_timer`](Self::next_timer) just returned.
    fn pop_timer(&mut self, source: TimerSource) {
        match source {
            TimerSource::Heap => {
                self.timers.pop();
            }
            TimerSource::Pile(i) => {
                self.due_piles[i].pop_front();
            }
            TimerSource::Watchdog(i) => {
                self.watchdogs[i].1.pop_front();
            }
        }
    }

    /// Queues a due timer: on the pile whose back is the latest instant not
    /// after `at` (so piles stay sorted and keep room for later pushes),
    /// else on a new pile, else on the heap.
    fn push_due(&mut self, at: Instant, token: u64, slot: u32) {
        let mut fit: Option<(usize, Option<Instant>)> = None;
        for (i, pile) in self.due_piles.iter().enumerate() {
            let back = pile.back().map(|&(b, ..)| b);
            if back.is_none_or(|b| b <= at) && fit.is_none_or(|(_, f)| back > f) {
                fit = Some((i, back));
            }
        }
        match fit {
            Some((i, _)) => self.due_piles[i].push_back((at, token, slot)),
            None if self.due_piles.len() < self.max_due_piles => {
                self.due_piles.push(VecDeque::from([(at, token, slot)]));
            }
            None => self.timers.push(Reverse((at, token, slot, TimerKind::Due))),
        }
    }

    /// Queues a watchdog in its timeout's FIFO (sorted insert if the
    /// caller's clock stepped back).
    fn push_watchdog(&mut self, timeout: Duration, at: Instant, token: u64, slot: u32) {
        let q = match self.watchdogs.iter().position(|(d, _)| *d == timeout) {
            Some(i) => &mut self.watchdogs[i].1,
            None => {
                self.watchdogs.push((timeout, VecDeque::new()));
                &mut self.watchdogs.last_mut().expect("just pushed").1
            }
        };
        if q.back().is_none_or(|&(last, ..)| last <= at) {
            q.push_back((at, token, slot));
        } else {
            let i = q.partition_point(|&(t, ..)| t <= at);
            q.insert(i, (at, token, slot));
        }
    }

    /// Processes every timer due at or before `now`: due probes join the
    /// ready queue, overdue probes count as timeouts.
    pub fn handle_timeout(&mut self, now: Instant) {
        while let Some(((at, token, slot, kind), source)) = self.next_timer() {
            if at > now {
                break;
            }
            self.pop_timer(source);
            match kind {
                TimerKind::Due => {
                    if let Some(p) = self.probes[slot as usize].as_mut() {
                        p.due_token = 0;
                        p.queued = true;
                        self.ready.push_back(slot);
                    }
                }
                TimerKind::Watchdog => {
                    let id = ProbeId {
                        slot,
                        attempt: token,
                    };
                    self.handle_result(now, id, Outcome::Failure(FailReason::Timeout));
                }
            }
        }
    }

    /// The next probe to run, if one is due and the concurrency budget allows.
    pub fn poll_probe(&mut self, now: Instant) -> Option<ProbeRequest<K>> {
        if self.in_flight >= self.config.max_in_flight {
            return None;
        }
        while let Some(slot) = self.ready.pop_front() {
            let token = self.token();
            let slack = self.config.watchdog_slack;
            let Some(p) = self.probes[slot as usize].as_mut() else {
                continue;
            };
            p.queued = false;
            let due = p.due_at.take().unwrap_or(now);
            let timeout = p.policy.timeout;
            let deadline = now + timeout;
            p.in_flight = Some(InFlight {
                attempt: token,
                started: now,
            });
            let key = p.key.clone();
            self.in_flight += 1;
            self.push_watchdog(timeout, deadline + slack, token, slot);
            return Some(ProbeRequest {
                id: ProbeId {
                    slot,
                    attempt: token,
                },
                key,
                due,
                deadline,
            });
        }
        None
    }

    /// The next event, if any.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// Reports the outcome of a probe handed out by [`Engine::poll_probe`].
    /// Returns false (and changes nothing) for an unknown or stale probe,
    /// e.g. one already counted as a timeout by the watchdog.
    pub fn handle_result(&mut self, now: Instant, id: ProbeId, outcome: Outcome) -> bool {
        let Some(p) = self
            .probes
            .get_mut(id.slot as usize)
            .and_then(Option::as_mut)
        else {
            return false;
        };
        let started = match p.in_flight.take() {
            Some(f) if f.attempt == id.attempt => f.started,
            other => {
                p.in_flight = other;
                return false;
            }
        };
        self.in_flight -= 1;

        let before = p.health;
        let first = !p.has_run;
        let decisive = first && (p.policy.first_result_decides || before == Health::Unknown);
        let mut success = None;
        let mut weight_change = None;
        let delay = match outcome {
            Outcome::Success(s) => {
                p.has_run = true;
                p.successes = p.successes.saturating_add(1);
                p.failures = 0;
                if let Success::Exited { weight: Some(w) } = s
                    && p.weight != Some(w)
                {
                    p.weight = Some(w);
                    weight_change = Some(w);
                }
                if before != Health::Up && (decisive || p.successes >= p.policy.rise) {
                    p.health = Health::Up;
                }
                success = Some(s);
                if p.health == Health::Up {
                    p.policy.interval
                } else {
                    p.policy.rise_interval
                }
            }
            Outcome::Failure(reason) => {
                p.last_failure = Some(reason);
                p.successes = 0;
                let in_grace = now < p.registered + p.policy.startup_grace;
                if in_grace {
                    // Not counted: a backend still starting gets the benefit of the doubt.
                    if p.health == Health::Down {
                        p.policy.down_interval
                    } else {
                        p.policy.interval
                    }
                } else {
                    p.has_run = true;
                    p.failures = p.failures.saturating_add(1);
                    if before != Health::Down && (decisive || p.failures >= p.policy.fall) {
                        p.health = Health::Down;
                    }
                    if p.health == Health::Down {
                        p.policy.down_interval
                    } else {
                        p.policy.fast_interval
                    }
                }
            }
        };
        let after = p.health;
        let consecutive = if after == Health::Up {
            p.successes
        } else {
            p.failures
        };
        let jitter = p.policy.interval_jitter;
        // Only a change needs the member list (and its copy): most results change nothing.
        let first_unchanged = first && p.has_run && after == before;
        let changed = after != before || weight_change.is_some() || first_unchanged;
        let (reason, members) = if changed {
            (p.last_failure.clone(), p.members.clone())
        } else {
            (None, Vec::new())
        };
        let base = if p.policy.from_start { started } else { now };
        let next = (base + delay + self.rng.below(jitter)).max(now);
        self.schedule(id.slot, next);

        if let Some(w) = weight_change {
            for &m in &members {
                if let Some(mem) = self.members[m as usize].as_ref() {
                    self.events.push_back(Event::Weight {
                        member: MemberId(m),
                        service: mem.service,
                        weight: w,
                        at: now,
                    });
                }
            }
        }
        if after != before {
            for &m in &members {
                self.member_transition(now, m, before, after, &reason, &success, consecutive);
            }
        }
        if first_unchanged {
            for &m in &members {
                if let Some(mem) = self.members[m as usize].as_ref() {
                    self.events.push_back(Event::Checked {
                        member: MemberId(m),
                        service: mem.service,
                        at: now,
                    });
                }
            }
        }
        true
    }

    #[allow(clippy::too_many_arguments)]
    fn member_transition(
        &mut self,
        now: Instant,
        m: u32,
        from: Health,
        to: Health,
        reason: &Option<FailReason>,
        success: &Option<Success>,
        consecutive: u32,
    ) {
        let Some(mem) = self.members[m as usize].as_mut() else {
            return;
        };
        let service = mem.service;
        let mode = self
            .services
            .get(&service)
            .and_then(|s| s.fail_open)
            .unwrap_or(self.config.fail_open);
        let mut all_down = None;
        let mut releases = Vec::new();
        if to == Health::Up {
            mem.in_pool = true;
            mem.held = false;
            mem.down_since = None;
            // Another member is up again: held members that are still down leave the pool.
            let peers = self
                .services
                .get(&service)
                .map(|s| s.members.clone())
                .unwrap_or_default();
            for peer in peers {
                if peer == m {
                    continue;
                }
                if let Some(pm) = self.members[peer as usize].as_mut()
                    && pm.held
                {
                    pm.held = false;
                    pm.in_pool = false;
                    releases.push(peer);
                }
            }
        } else {
            if to == Health::Down {
                mem.down_since = Some(now);
            }
            mem.in_pool = false;
            // Would this leave the service with nobody up?
            let peers = self
                .services
                .get(&service)
                .map(|s| s.members.clone())
                .unwrap_or_default();
            let anyone_up = peers.iter().any(|&peer| {
                self.members[peer as usize]
                    .as_ref()
                    .and_then(|pm| self.probes[pm.probe as usize].as_ref())
                    .is_some_and(|p| p.health == Health::Up)
            });
            let anyone_in_pool = peers.iter().any(|&peer| {
                self.members[peer as usize]
                    .as_ref()
                    .is_some_and(|pm| pm.in_pool)
            });
            if to == Health::Down && !anyone_up && mode != FailOpen::Off {
                let window = self.config.all_down_window;
                let suspects: Vec<MemberId> = peers
                    .iter()
                    .filter(|&&peer| {
                        self.members[peer as usize]
                            .as_ref()
                            .and_then(|pm| pm.down_since)
                            .is_some_and(|t| now.saturating_duration_since(t) <= window)
                    })
                    .map(|&peer| MemberId(peer))
                    .collect();
                let mut held = Vec::new();
                if mode == FailOpen::Hold
                    && !anyone_in_pool
                    && let Some(mm) = self.members[m as usize].as_mut()
                {
                    mm.in_pool = true;
                    mm.held = true;
                    held.push(MemberId(m));
                }
                all_down = Some(Event::AllDown {
                    service,
                    suspects,
                    held,
                    at: now,
                });
            }
        }
        let in_pool = self.members[m as usize]
            .as_ref()
            .is_some_and(|mm| mm.in_pool);
        self.events.push_back(Event::Transition(Transition {
            member: MemberId(m),
            service,
            from,
            to,
            reason: reason.clone(),
            success: success.clone(),
            consecutive,
            in_pool,
            at: now,
        }));
        for peer in releases {
            self.events.push_back(Event::Pool {
                member: MemberId(peer),
                service,
                in_pool: false,
                at: now,
            });
        }
        if let Some(e) = all_down {
            self.events.push_back(e);
        }
    }

    fn token(&mut self) -> u64 {
        let t = self.next_token;
        self.next_token += 1;
        t
    }

    fn schedule(&mut self, slot: u32, at: Instant) {
        let token = self.token();
        if let Some(p) = self.probes[slot as usize].as_mut() {
            p.due_token = token;
            p.due_at = Some(at);
            self.push_due(at, token, slot);
        }
    }
}

/// Whether a timer still stands: its probe exists and holds the same token.
fn timer_live<K>(probes: &[Option<Probe<K>>], token: u64, slot: u32, kind: TimerKind) -> bool {
    match probes.get(slot as usize).and_then(Option::as_ref) {
        None => false,
        Some(p) => match kind {
            TimerKind::Due => p.due_token == token,
            TimerKind::Watchdog => p.in_flight.as_ref().is_some_and(|f| f.attempt == token),
        },
    }
}

/// The live front of a timer queue, dead fronts dropped.
fn live_front<K>(
    queue: &mut TimerQueue,
    probes: &[Option<Probe<K>>],
    kind: TimerKind,
) -> Option<Timer> {
    while let Some(&(at, token, slot)) = queue.front() {
        if timer_live(probes, token, slot, kind) {
            return Some((at, token, slot, kind));
        }
        queue.pop_front();
    }
    None
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    /// What the engine told its driver, in order.
    #[derive(Debug, PartialEq)]
    enum Step {
        Probe(ProbeRequest<u32>),
        Event(Event),
        Timeout(Option<Instant>),
    }

    /// A run's trace plus how much the piles and the heap held at most.
    struct Run {
        trace: Vec<Step>,
        most_piles: usize,
        most_heap: usize,
    }

    /// Probe policies by key: distinct intervals, with and without interval
    /// jitter, counted from the result or from the start.
    fn policy(key: u32) -> Policy {
        let ms = Duration::from_millis;
        let base = Policy {
            interval: ms(1000),
            fast_interval: ms(300),
            rise_interval: ms(700),
            down_interval: ms(2000),
            timeout: ms(400),
            rise: 2,
            fall: 2,
            initial: InitialState::Unknown,
            first_result_decides: false,
            startup_grace: Duration::ZERO,
            initial_delay: ms(100),
            initial_jitter: Duration::ZERO,
            interval_jitter: Duration::ZERO,
            from_start: false,
        };
        match key % 4 {
            // Same first instant for all: ties across piles and the heap.
            0 => base,
            1 => Policy {
                interval: ms(3000),
                fast_interval: ms(500),
                initial_jitter: ms(1000),
                ..base
            },
            2 => Policy {
                interval: ms(2000),
                interval_jitter: ms(400),
                ..base
            },
            _ => Policy {
                interval: ms(1500),
                timeout: ms(1000),
                from_start: true,
                ..base
            },
        }
    }

    /// Drives an engine over 40 s of 1 ms ticks with 100 probes whose
    /// backends answer after 0-49 ms, sometimes fail, sometimes never
    /// answer; the clock steps back 2.5 s once at 20 s.
    fn run(t0: Instant, max_due_piles: usize) -> Run {
        let clock = |tick: u64| {
            let t = t0 + Duration::from_millis(tick);
            if tick >= 20_000 {
                t - Duration::from_millis(2500)
            } else {
                t
            }
        };
        let config = EngineConfig {
            seed: 7,
            max_in_flight: 64,
            ..EngineConfig::default()
        };
        let mut e = Engine::new(config);
        e.max_due_piles = max_due_piles;
        for key in 0..100u32 {
            let svc = ServiceId(u64::from(key % 10));
            e.add_member(clock(0), svc, key, policy(key))
                .expect("valid policy");
        }
        let mut out = Run {
            trace: Vec::new(),
            most_piles: 0,
            most_heap: 0,
        };
        let mut pending: BTreeMap<(u64, u64), (ProbeId, Outcome)> = BTreeMap::new();
        let mut probes_of = [0u64; 100];
        let mut seq = 0;
        for tick in 0..40_000u64 {
            let now = clock(tick);
            while let Some(entry) = pending.first_entry() {
                if entry.key().0 > tick {
                    break;
                }
                let (id, outcome) = entry.remove();
                e.handle_result(now, id, outcome);
            }
            e.handle_timeout(now);
            while let Some(req) = e.poll_probe(now) {
                let key = req.key;
                let n = probes_of[key as usize];
                probes_of[key as usize] += 1;
                let latency = (u64::from(key) * 7 + n * 13) % 50;
                let outcome = if (u64::from(key) + n) % 5 == 0 {
                    Outcome::Failure(FailReason::Refused)
                } else {
                    Outcome::Success(Success::Connected)
                };
                // Some probes never answer: their watchdog fires.
                if !(key % 11 == 0 && n % 4 == 3) {
                    pending.insert((tick + latency, seq), (req.id, outcome));
                    seq += 1;
                }
                out.trace.push(Step::Probe(req));
            }
            while let Some(ev) = e.poll_event() {
                out.trace.push(Step::Event(ev));
            }
            out.trace.push(Step::Timeout(e.poll_timeout()));
            out.most_piles = out.most_piles.max(e.due_piles.len());
            out.most_heap = out.most_heap.max(e.timers.len());
        }
        out
    }

    #[test]
    fn due_piles_fire_in_the_order_of_one_heap() {
        // Late enough that the step back stays after the platform's epoch.
        let t0 = Instant::now() + Duration::from_secs(3600);
        let heap = run(t0, 0);
        let piles = run(t0, MAX_DUE_PILES);
        assert_eq!(
            heap.most_piles, 0,
            "the reference keeps every due timer in the heap"
        );
        // The run must exercise every path: several piles and the heap fallback.
        assert_eq!(piles.most_piles, MAX_DUE_PILES);
        assert!(piles.most_heap > 0, "no due timer fell back to the heap");
        let probes = heap
            .trace
            .iter()
            .filter(|s| matches!(s, Step::Probe(_)))
            .count();
        assert!(probes > 2000, "only {probes} probes ran");
        for (i, (a, b)) in heap.trace.iter().zip(&piles.trace).enumerate() {
            assert_eq!(a, b, "step {i}: piles differ from the all-heap order");
        }
        assert_eq!(heap.trace.len(), piles.trace.len());
    }

    #[test]
    fn a_first_result_that_changes_nothing_is_told_as_checked() {
        let t0 = Instant::now();
        let mut e = Engine::new(EngineConfig::default());
        let p = Policy {
            initial: InitialState::Up,
            first_result_decides: true,
            ..policy(0)
        };
        let svc = ServiceId(1);
        let a = e
            .add_member(t0, svc, 7u32, p.clone())
            .expect("valid policy");
        let mut now = t0;
        let mut events = Vec::new();
        for _ in 0..3 {
            now += Duration::from_secs(3);
            e.handle_timeout(now);
            while let Some(req) = e.poll_probe(now) {
                e.handle_result(now, req.id, Outcome::Success(Success::Connected));
            }
            while let Some(ev) = e.poll_event() {
                events.push(ev);
            }
        }
        assert_eq!(
            events,
            [Event::Checked {
                member: a,
                service: svc,
                at: t0 + Duration::from_secs(3)
            }],
            "one Checked after the first result, nothing after the later ones"
        );
        // A member joining the probe that has run is checked already.
        let b = e.add_member(now, svc, 7u32, p).expect("valid policy");
        assert_eq!(
            e.poll_event(),
            Some(Event::Checked {
                member: b,
                service: svc,
                at: now
            })
        );
    }
}
