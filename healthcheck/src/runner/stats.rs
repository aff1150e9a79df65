//! [`RunnerStats`]: probe counts and scheduling lateness.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

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
    pub(super) fn new() -> Self {
        RunnerStats {
            probes: AtomicU64::new(0),
            lateness: (0..=BUCKETS).map(|_| AtomicU64::new(0)).collect(),
        }
    }

    pub(super) fn record(&self, lateness: Duration) {
        self.probes.fetch_add(1, Ordering::Relaxed);
        let b = ((lateness.as_micros() as u64) / BUCKET_US).min(BUCKETS as u64) as usize;
        self.lateness[b].fetch_add(1, Ordering::Relaxed);
    }

    /// Zeroes the counters (e.g. after a warm-up).
    pub fn reset(&self) {
        self.probes.store(0, Ordering::Relaxed);
        for b in &self.lateness {
            b.store(0, Ordering::Relaxed);
        }
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
