//! A deterministic network of routers on a virtual clock: delivery with
//! optional latency and loss (seeded PRNG), partitions, per-node clock
//! jumps, crashes and restarts. No real time, no sockets.

#![allow(dead_code)]

use std::collections::HashSet;
use std::net::IpAddr;
use std::time::{Duration, Instant};

use lvs_vrrp::{Action, Config, DropReason, RecvMeta, Router, State};

pub struct Node {
    pub router: Router,
    /// Local clock = global clock + offset (a forward clock jump grows it).
    pub offset: Duration,
    pub alive: bool,
}

#[derive(Debug, Clone)]
pub struct Event {
    pub at: Instant,
    pub node: usize,
    pub action: Action,
}

pub struct Sim {
    pub start: Instant,
    pub now: Instant,
    pub nodes: Vec<Node>,
    queue: Vec<(Instant, u64, usize, RecvMeta, Vec<u8>)>,
    seq: u64,
    blocked: HashSet<(usize, usize)>,
    /// Loss probability in per mille.
    pub loss: u32,
    /// Maximum one-way latency (uniform in 0..=max, whole microseconds).
    pub max_latency: Duration,
    rng: u64,
    pub events: Vec<Event>,
    pub drops: Vec<(usize, DropReason)>,
}

impl Sim {
    pub fn new(seed: u64) -> Sim {
        let start = Instant::now();
        Sim {
            start,
            now: start,
            nodes: Vec::new(),
            queue: Vec::new(),
            seq: 0,
            blocked: HashSet::new(),
            loss: 0,
            max_latency: Duration::ZERO,
            rng: seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1,
            events: Vec::new(),
            drops: Vec::new(),
        }
    }

    fn rand(&mut self) -> u64 {
        // xorshift64*: deterministic, good enough for loss and jitter.
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        x.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    pub fn rand_below(&mut self, n: u64) -> u64 {
        self.rand() % n.max(1)
    }

    /// Adds a router (not started).
    pub fn add(&mut self, cfg: Config) -> usize {
        self.nodes.push(Node {
            router: Router::new(cfg).expect("valid config"),
            offset: Duration::ZERO,
            alive: true,
        });
        self.nodes.len() - 1
    }

    pub fn local(&self, i: usize) -> Instant {
        self.now + self.nodes[i].offset
    }

    pub fn start(&mut self, i: usize) {
        let t = self.local(i);
        self.nodes[i].router.start(t);
        self.drain(i);
    }

    pub fn start_all(&mut self) {
        for i in 0..self.nodes.len() {
            self.start(i);
        }
    }

    /// Graceful stop (priority-0 resignation).
    pub fn shutdown(&mut self, i: usize) {
        let t = self.local(i);
        self.nodes[i].router.shutdown(t);
        self.drain(i);
    }

    /// Crash: no more packets in or out, no timers.
    pub fn crash(&mut self, i: usize) {
        self.nodes[i].alive = false;
    }

    /// Restart after a crash: a fresh router with the same configuration.
    pub fn restart(&mut self, i: usize) {
        let cfg = self.nodes[i].router.config().clone();
        self.nodes[i].router = Router::new(cfg).expect("valid config");
        self.nodes[i].alive = true;
        self.start(i);
    }

    /// Cuts both directions between `a` and `b`.
    pub fn partition(&mut self, a: usize, b: usize) {
        self.blocked.insert((a, b));
        self.blocked.insert((b, a));
    }

    pub fn heal(&mut self) {
        self.blocked.clear();
    }

    /// The node's clock jumps forward by `d` (suspend/resume, NTP step of
    /// a monotonic source): overdue timers fire at once.
    pub fn jump(&mut self, i: usize, d: Duration) {
        self.nodes[i].offset += d;
    }

    pub fn drain(&mut self, i: usize) {
        while let Some(action) = self.nodes[i].router.poll_action() {
            if let Action::Transmit(t) = &action {
                self.send(i, t.source, t.destination, t.payload.clone());
            }
            self.events.push(Event {
                at: self.now,
                node: i,
                action,
            });
        }
    }

    fn send(&mut self, from: usize, source: IpAddr, destination: IpAddr, payload: Vec<u8>) {
        if !self.nodes[from].alive {
            return;
        }
        for to in 0..self.nodes.len() {
            if to == from || self.blocked.contains(&(from, to)) {
                continue;
            }
            let cfg = self.nodes[to].router.config();
            let reaches = if destination.is_multicast() {
                cfg.family() == lvs_vrrp::Family::of(&destination)
            } else {
                cfg.primary_address == destination
            };
            if !reaches {
                continue;
            }
            if self.loss > 0 && self.rand_below(1000) < u64::from(self.loss) {
                continue;
            }
            let latency = if self.max_latency.is_zero() {
                Duration::ZERO
            } else {
                let us = self.max_latency.as_micros() as u64;
                Duration::from_micros(self.rand_below(us + 1))
            };
            let meta = RecvMeta {
                source,
                destination,
                hop_limit: 255,
            };
            self.seq += 1;
            self.queue
                .push((self.now + latency, self.seq, to, meta, payload.clone()));
        }
    }

    fn next_event(&self) -> Option<Instant> {
        let q = self.queue.iter().map(|(at, ..)| *at).min();
        let t = self
            .nodes
            .iter()
            .filter(|n| n.alive)
            .filter_map(|n| {
                n.router
                    .poll_timeout()
                    .map(|t| t.checked_sub(n.offset).unwrap_or(self.now))
            })
            .min();
        match (q, t) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Runs every event up to and including `end`.
    pub fn run_until(&mut self, end: Instant) {
        while let Some(next) = self.next_event() {
            if next > end {
                break;
            }
            self.now = self.now.max(next);
            // Packets due now, in send order.
            self.queue.sort_by_key(|(at, seq, ..)| (*at, *seq));
            while let Some(pos) = self.queue.iter().position(|(at, ..)| *at <= self.now) {
                let (_, _, to, meta, bytes) = self.queue.remove(pos);
                if !self.nodes[to].alive {
                    continue;
                }
                let t = self.local(to);
                if let Err(e) = self.nodes[to].router.handle_packet(t, &meta, &bytes) {
                    self.drops.push((to, e));
                }
                self.drain(to);
            }
            for i in 0..self.nodes.len() {
                if !self.nodes[i].alive {
                    continue;
                }
                let t = self.local(i);
                if self.nodes[i].router.poll_timeout().is_some_and(|d| d <= t) {
                    self.nodes[i].router.handle_timeout(t);
                    self.drain(i);
                }
            }
        }
        self.now = self.now.max(end);
    }

    pub fn run_for(&mut self, d: Duration) {
        let end = self.now + d;
        self.run_until(end);
    }

    pub fn state(&self, i: usize) -> State {
        self.nodes[i].router.state()
    }

    /// Alive nodes in Master state among `group`.
    pub fn masters(&self, group: &[usize]) -> Vec<usize> {
        group
            .iter()
            .copied()
            .filter(|&i| self.nodes[i].alive && self.state(i) == State::Master)
            .collect()
    }

    /// First transition of `node` into `to` at or after `since`.
    pub fn became(&self, node: usize, to: State, since: Instant) -> Option<Instant> {
        self.events.iter().find_map(|e| match &e.action {
            Action::StateChanged { to: s, .. } if e.node == node && *s == to && e.at >= since => {
                Some(e.at)
            }
            _ => None,
        })
    }

    /// Last advertisement `node` sent at or before `before`.
    pub fn last_advert(&self, node: usize, before: Instant) -> Option<Instant> {
        self.events
            .iter()
            .rev()
            .find(|e| e.node == node && e.at <= before && matches!(e.action, Action::Transmit(_)))
            .map(|e| e.at)
    }

    /// First advertisement `node` sent at or after `since`.
    pub fn first_advert(&self, node: usize, since: Instant) -> Option<Instant> {
        self.events
            .iter()
            .find(|e| e.node == node && e.at >= since && matches!(e.action, Action::Transmit(_)))
            .map(|e| e.at)
    }
}
