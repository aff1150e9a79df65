//! A small deterministic generator for jitter: seedable so simulations
//! replay exactly, and cheap enough for thousands of checks.

use std::time::Duration;

/// SplitMix64: a 64-bit state, one multiply-xorshift chain per draw.
#[derive(Debug, Clone)]
pub struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    /// A generator starting from `seed`.
    pub fn new(seed: u64) -> Self {
        SplitMix64 { state: seed }
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A duration drawn uniformly from `[0, max)`; zero when `max` is zero.
    pub fn below(&mut self, max: Duration) -> Duration {
        let nanos = max.as_nanos().min(u64::MAX as u128) as u64;
        if nanos == 0 {
            return Duration::ZERO;
        }
        // Multiply-shift keeps the draw below `nanos` without a modulo bias worth caring about.
        let r = ((self.next_u64() as u128 * nanos as u128) >> 64) as u64;
        Duration::from_nanos(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn draws_stay_in_bounds_and_spread() {
        let mut rng = SplitMix64::new(7);
        let max = Duration::from_millis(2000);
        let mut lo = 0;
        let mut hi = 0;
        for _ in 0..10_000 {
            let d = rng.below(max);
            assert!(d < max);
            if d < Duration::from_millis(200) {
                lo += 1;
            }
            if d >= Duration::from_millis(1800) {
                hi += 1;
            }
        }
        // Each tenth should get about 1,000 draws.
        assert!((800..1200).contains(&lo), "{lo}");
        assert!((800..1200).contains(&hi), "{hi}");
        assert_eq!(rng.below(Duration::ZERO), Duration::ZERO);
    }

    #[test]
    fn same_seed_same_sequence() {
        let mut a = SplitMix64::new(42);
        let mut b = SplitMix64::new(42);
        for _ in 0..100 {
            assert_eq!(a.next_u64(), b.next_u64());
        }
    }
}
