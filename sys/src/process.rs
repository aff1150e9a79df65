//! Process and thread settings a daemon makes: the process-wide ones once,
//! before it starts threads (threads inherit them); a worker thread's own
//! priority; and what rustix does not wrap.

use std::io;

use rustix::process::{Resource, getrlimit, setrlimit};

/// Raises the soft open-file limit to the hard one and returns it. A daemon
/// with one socket per probe in flight needs more than the usual 1,024.
pub fn raise_nofile_limit() -> io::Result<Option<u64>> {
    let mut nofile = getrlimit(Resource::Nofile);
    if nofile.current < nofile.maximum {
        nofile.current = nofile.maximum;
        setrlimit(Resource::Nofile, nofile)?;
    }
    Ok(nofile.current)
}

/// The process's open-file limit (soft), `None` when unlimited: what a
/// daemon sizes its concurrent sockets by.
pub fn nofile_limit() -> Option<u64> {
    getrlimit(Resource::Nofile).current
}

/// Puts the calling thread (and the threads it starts from then on) under
/// the real-time round-robin policy `SCHED_RR` at `priority` (1–99), so
/// other load cannot delay it. Needs `CAP_SYS_NICE`.
pub fn set_realtime_rr(priority: u8) -> io::Result<()> {
    let param = libc::sched_param {
        sched_priority: libc::c_int::from(priority),
    };
    // SAFETY: pid 0 is the calling thread; `param` is a valid sched_param
    // that outlives the call. (rustix has no sched_setscheduler.)
    if unsafe { libc::sched_setscheduler(0, libc::SCHED_RR, &param) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// Lowers the calling thread's scheduling priority by `by` nice steps (up
/// to nice 19), leaving the process's other threads as they are: Linux
/// applies `setpriority(PRIO_PROCESS, tid)` to that one thread. For
/// background work (parsing a reloaded configuration) that must not take
/// the CPU from an event loop with timers.
pub fn lower_thread_priority(by: i32) -> io::Result<()> {
    let tid = rustix::thread::gettid();
    let now = rustix::process::getpriority_process(Some(tid))?;
    rustix::process::setpriority_process(Some(tid), (now + by.max(0)).min(19))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lowering_a_threads_priority_leaves_the_others() {
        let main = rustix::process::getpriority_process(Some(rustix::thread::gettid())).unwrap();
        let (before, after) = std::thread::spawn(|| {
            let me = Some(rustix::thread::gettid());
            let before = rustix::process::getpriority_process(me).unwrap();
            lower_thread_priority(5).unwrap();
            (before, rustix::process::getpriority_process(me).unwrap())
        })
        .join()
        .unwrap();
        assert_eq!(after, (before + 5).min(19));
        let main_now =
            rustix::process::getpriority_process(Some(rustix::thread::gettid())).unwrap();
        assert_eq!(main_now, main);
    }

    #[test]
    fn the_soft_limit_reaches_the_hard_one() {
        let limit = raise_nofile_limit().unwrap();
        assert_eq!(limit, getrlimit(Resource::Nofile).maximum);
        assert_eq!(getrlimit(Resource::Nofile).current, limit);
    }

    #[test]
    fn an_invalid_priority_is_refused() {
        // 0 is not a real-time priority, with or without CAP_SYS_NICE.
        let e = set_realtime_rr(0).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::EINVAL));
    }
}
