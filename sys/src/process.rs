//! Process settings a daemon makes once, before it starts threads (threads
//! inherit them), for what rustix does not wrap.

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

#[cfg(test)]
mod tests {
    use super::*;

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
