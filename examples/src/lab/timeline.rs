//! What the lab recorded around one timed fault: the client prober's
//! samples, the adverts and health checks the watchers saw, and the VIP
//! polls the scenario made while waiting. The scenarios keep these records
//! (they derive their figures from them) and the HTML report draws them.

use std::time::Instant;

use super::probe::Sample;
use super::watch::Seen;

/// Which timed fault a [`Timeline`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// NODE01's link cut, [`super::harness::ALIGN_DELAY`] after its advert.
    LinkCut,
    /// NODE01's director stopped with SIGTERM.
    Sigterm,
    /// WWW2's HTTP server killed after NODE01's TCP check reached it.
    HttpKill,
    /// A backend's DNS server killed after NODE01's DNS check reached it.
    DnsKill,
}

impl Fault {
    /// What happens, for titles: `NODE01 link cut`.
    pub fn name(self) -> &'static str {
        match self {
            Fault::LinkCut => "NODE01 link cut",
            Fault::Sigterm => "NODE01 director stopped (SIGTERM)",
            Fault::HttpKill => "WWW2's HTTP server killed",
            Fault::DnsKill => "DNS backend killed",
        }
    }
}

/// One poll of whether a director holds the VIP.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VipPoll {
    /// When the poll's answer came.
    pub at: Instant,
    /// `"NODE01"` or `"NODE02"`.
    pub node: &'static str,
    /// Whether the VIP was on its interface.
    pub holds: bool,
}

/// The client's requests: when the prober started, and every sample (their
/// `at` counts from that start).
#[derive(Debug, Clone)]
pub struct Requests {
    /// The prober's start.
    pub origin: Instant,
    /// One sample per request, in start order.
    pub samples: Vec<Sample>,
}

/// Everything recorded around one repetition of one timed fault.
#[derive(Debug, Clone)]
pub struct Timeline {
    /// Which fault.
    pub fault: Fault,
    /// Which repetition (0-based).
    pub index: usize,
    /// The moment the fault was injected: time 0 of the timeline.
    pub at: Instant,
    /// The client's requests, when a prober ran (none for the DNS fault).
    pub requests: Option<Requests>,
    /// VRRP adverts seen on the segment (only for the VRRP faults).
    pub adverts: Vec<Seen>,
    /// NODE01's health checks seen at the backend (only for the backend faults).
    pub checks: Vec<Seen>,
    /// VIP polls, in the order made.
    pub vip: Vec<VipPoll>,
}

impl Timeline {
    /// An empty record of `fault`'s repetition `index`, injected at `at`.
    pub fn new(fault: Fault, index: usize, at: Instant) -> Timeline {
        Timeline {
            fault,
            index,
            at,
            requests: None,
            adverts: Vec::new(),
            checks: Vec::new(),
            vip: Vec::new(),
        }
    }

    /// `t` as seconds from the fault (negative before it).
    pub fn secs(&self, t: Instant) -> f64 {
        if t >= self.at {
            t.duration_since(self.at).as_secs_f64()
        } else {
            -self.at.duration_since(t).as_secs_f64()
        }
    }
}
