//! What the director's netns tests share: a director on a current-thread
//! runtime inside a namespace until told to stop, and polling for a
//! condition with a deadline.

#![allow(dead_code)] // each test file uses its own part

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use lvs_director::DirectorConfig;
use lvs_director::status::InstanceStatus;
use lvs_testenv::Netns;
use lvs_vrrp::State;

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

/// Where a status query is answered.
pub type Query = std::sync::mpsc::Sender<InstanceStatus>;

/// Runs a director in `ns` until `stop`, answering status queries.
pub fn director_thread(
    ns: &Netns,
    cfg: DirectorConfig,
    mut queries: tokio::sync::mpsc::UnboundedReceiver<Query>,
    stop: tokio::sync::oneshot::Receiver<()>,
    tid: Option<std::sync::mpsc::Sender<i32>>,
) {
    ns.enter(move || {
        // The event loop's thread, whose CPU time a test may read.
        if let Some(t) = tid {
            // `/proc/thread-self` is `PID/task/TID`.
            let link = std::fs::read_link("/proc/thread-self").expect("/proc/thread-self");
            let id = link.file_name().and_then(|n| n.to_str()?.parse().ok());
            let _ = t.send(id.expect("a thread id"));
        }
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        rt.block_on(async move {
            let h = lvs_director::run(cfg).await.expect("director starts");
            tokio::pin!(stop);
            loop {
                tokio::select! {
                    _ = &mut stop => break,
                    Some(reply) = queries.recv() => {
                        let st = h.status().await.expect("running");
                        let _ = reply.send(st.status.instances[0].clone());
                    }
                }
            }
            h.shutdown().await;
        })
    })
}

/// The first instance's status, asked of a [`director_thread`].
pub fn status(q: &tokio::sync::mpsc::UnboundedSender<Query>) -> InstanceStatus {
    let (tx, rx) = std::sync::mpsc::channel();
    q.send(tx).expect("director running");
    rx.recv_timeout(Duration::from_secs(5))
        .expect("director answers")
}

/// Polls until the first instance is in `want` (10 s at most).
pub fn wait_state(q: &tokio::sync::mpsc::UnboundedSender<Query>, want: State, what: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while status(q).state != want {
        assert!(Instant::now() < deadline, "{what}: not {want:?} in 10 s");
        std::thread::sleep(Duration::from_millis(20));
    }
}
