//! What the director's netns tests share: a director on a current-thread
//! runtime inside a namespace until told to stop, and polling for a
//! condition with a deadline.

#![allow(dead_code)] // each test file uses its own part

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use lvs_director::DirectorConfig;
use lvs_testenv::Netns;

/// Runs a director in `ns` until `stop` is set.
pub fn run_director(ns: &Netns, cfg: DirectorConfig, stop: &AtomicBool) {
    ns.enter(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async {
            let h = lvs_director::run(cfg).await.expect("director starts");
            while !stop.load(Ordering::Relaxed) {
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            h.shutdown().await;
        });
    });
}

/// Polls every 20 ms until `f` holds; how long it took.
pub fn wait(what: &str, limit: Duration, f: impl Fn() -> bool) -> Duration {
    let start = Instant::now();
    while !f() {
        assert!(start.elapsed() < limit, "{what}: not within {limit:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
    start.elapsed()
}
