//! [`Scheduler`] and its [`SchedFlags`].

use std::fmt;

/// A scheduler (`ip_vs_<name>` kernel module).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Scheduler {
    /// Round robin.
    RoundRobin,
    /// Weighted round robin.
    WeightedRoundRobin,
    /// Least connections.
    LeastConnection,
    /// Weighted least connections (the kernel's default).
    WeightedLeastConnection,
    /// Locality-based least connections.
    LocalityBasedLeastConnection,
    /// Locality-based least connections with replication.
    LocalityBasedLeastConnectionReplication,
    /// Destination hashing.
    DestinationHashing,
    /// Source hashing.
    SourceHashing,
    /// Shortest expected delay.
    ShortestExpectedDelay,
    /// Never queue.
    NeverQueue,
    /// Weighted failover.
    WeightedFailover,
    /// Weighted overflow.
    WeightedOverflow,
    /// Maglev hashing.
    Maglev,
    /// Any other scheduler module, by name.
    Other(String),
}

impl Scheduler {
    /// The kernel's name for it.
    pub fn name(&self) -> &str {
        use Scheduler::*;
        match self {
            RoundRobin => "rr",
            WeightedRoundRobin => "wrr",
            LeastConnection => "lc",
            WeightedLeastConnection => "wlc",
            LocalityBasedLeastConnection => "lblc",
            LocalityBasedLeastConnectionReplication => "lblcr",
            DestinationHashing => "dh",
            SourceHashing => "sh",
            ShortestExpectedDelay => "sed",
            NeverQueue => "nq",
            WeightedFailover => "fo",
            WeightedOverflow => "ovf",
            Maglev => "mh",
            Other(s) => s,
        }
    }
    /// Every scheduler the kernel ships.
    pub const ALL: [Scheduler; 13] = [
        Scheduler::RoundRobin,
        Scheduler::WeightedRoundRobin,
        Scheduler::LeastConnection,
        Scheduler::WeightedLeastConnection,
        Scheduler::LocalityBasedLeastConnection,
        Scheduler::LocalityBasedLeastConnectionReplication,
        Scheduler::DestinationHashing,
        Scheduler::SourceHashing,
        Scheduler::ShortestExpectedDelay,
        Scheduler::NeverQueue,
        Scheduler::WeightedFailover,
        Scheduler::WeightedOverflow,
        Scheduler::Maglev,
    ];
}

impl From<&str> for Scheduler {
    fn from(name: &str) -> Scheduler {
        Scheduler::ALL
            .into_iter()
            .find(|s| s.name() == name)
            .unwrap_or_else(|| Scheduler::Other(name.to_string()))
    }
}

impl fmt::Display for Scheduler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

bitflags::bitflags! {
    /// Scheduler flags (`IP_VS_SVC_F_SCHED1..3`); their meaning depends on
    /// the scheduler (`sh` and `mh` share the same bits).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
    pub struct SchedFlags: u32 {
        /// `sh-fallback` / `mh-fallback`: skip unavailable destinations.
        const FALLBACK = 0x0008;
        /// `sh-port` / `mh-port`: hash the source port too.
        const PORT = 0x0010;
        /// Scheduler flag 3 (unused by the shipped schedulers).
        const SCHED3 = 0x0020;
    }
}
