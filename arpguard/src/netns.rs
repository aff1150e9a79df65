//! Running work inside a network namespace.
//!
//! Every namespace-aware call of this crate takes `ns: Option<BorrowedFd<'_>>`:
//! `None` acts where the calling thread is, `Some(fd)` inside the namespace
//! behind `fd` (`File::open("/run/netns/NAME")?.as_fd()`, `/proc/PID/ns/net`).
//!
//! Sockets (netlink, packet) stay bound to the namespace they were created
//! in, and `/proc/sys/net` and child processes follow the creating thread's
//! namespace. So everything namespace-specific is done on a short-lived
//! thread that joined it first ([`lvs_sys::in_netns`]); the caller's thread
//! never moves.

use std::os::fd::BorrowedFd;

use crate::error::{Error, Result};

/// Runs `f` inside `ns` (on a helper thread unless it is `None`) and
/// returns its result.
pub(crate) fn run<R: Send, F: FnOnce() -> Result<R> + Send>(
    ns: Option<BorrowedFd<'_>>,
    f: F,
) -> Result<R> {
    match ns {
        None => f(),
        Some(fd) => lvs_sys::in_netns(fd, f).map_err(Error::Namespace)?,
    }
}
