//! Idle TCP sockets for probes that close with a reset and bind nothing.
//!
//! `connect(AF_UNSPEC)` aborts a connection exactly as a close with
//! `SO_LINGER 0` does (RST if it was open, nothing if it was still
//! connecting), releases the source port, and leaves the socket
//! unconnected and reusable; the next `connect()` clears the error the
//! abort left (`tcp_connect_init`). A probe then costs `connect`, `poll`
//! and `connect(AF_UNSPEC)` instead of `socket`, `setsockopt`, `connect`,
//! `poll` and `close`, and no file/inode set-up and tear-down. A socket
//! that fails to disconnect is closed instead (still with a reset).

use std::cell::RefCell;
use std::io;
use std::time::Duration;

use socket2::{Domain, Protocol, Socket, Type};

use crate::checker::ConnectOptions;

/// Idle sockets kept per thread and address family. The pool never
/// holds more than the most probes that were in flight at once (each
/// socket comes back from one), so this only caps that peak's memory; it
/// matches the engine's default concurrency budget.
const MAX_IDLE: usize = 1024;

thread_local! {
    /// [IPv4, IPv6].
    static IDLE: RefCell<[Vec<Socket>; 2]> = const { RefCell::new([Vec::new(), Vec::new()]) };
}

fn family(domain: Domain) -> usize {
    usize::from(domain == Domain::IPV6)
}

/// An unconnected, non-blocking TCP socket for `opts` (which binds nothing).
pub(super) fn take(opts: &ConnectOptions) -> io::Result<Socket> {
    let domain = Domain::for_address(opts.destination());
    if let Some(s) = IDLE.with(|idle| idle.borrow_mut()[family(domain)].pop()) {
        return Ok(s);
    }
    let s = opts.socket(Type::STREAM, Protocol::TCP)?;
    // Set once: a socket dropped later (pool full, probe cancelled)
    // still leaves with a reset, never in TIME_WAIT.
    s.set_linger(Some(Duration::ZERO))?;
    Ok(s)
}

/// Aborts `sock`'s connection and keeps the socket for the next probe
/// of `opts` (which tells its family without asking the kernel).
pub(super) fn give(opts: &ConnectOptions, sock: Socket) {
    let domain = Domain::for_address(opts.destination());
    if disconnect(&sock).is_err() {
        return;
    }
    IDLE.with(|idle| {
        let list = &mut idle.borrow_mut()[family(domain)];
        if list.len() < MAX_IDLE {
            list.push(sock);
        }
    });
}

/// Idle sockets of `domain` on this thread.
#[cfg(test)]
pub(super) fn idle(domain: Domain) -> usize {
    IDLE.with(|idle| idle.borrow()[family(domain)].len())
}

fn disconnect(sock: &Socket) -> io::Result<()> {
    // connect(AF_UNSPEC) dissolves the association.
    rustix::net::connect_unspec(sock).map_err(io::Error::from)
}
