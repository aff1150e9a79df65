//! Benchmarks of the lvs crates; see `benches/` and the bench binaries.
#![warn(missing_docs)]
