//! Checkers: the I/O side. Each one runs a single probe, blocking until a
//! result or the deadline, and says what it found as an [`Outcome`].

use std::fmt;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::os::fd::AsFd;

use lvs_sys::PollFlags;
use std::time::{Duration, Instant};

use socket2::{Domain, Protocol, SockAddr, Socket, Type};

use crate::outcome::{FailReason, Outcome};

pub mod dns;
pub mod exec;
pub mod http;
pub mod ping;
pub mod smtp;
pub mod tcp;
pub mod tcp_half_open;
#[cfg(feature = "tls")]
pub(crate) mod tls;
pub mod udp;

/// A health check others can implement. One call runs one probe.
///
/// `identity` names what the probe does (target and parameters): two
/// checkers with equal identities are the same probe and are de-duplicated
/// by the engine.
pub trait Checker: Send + Sync + fmt::Debug {
    /// A canonical description of target and parameters (the de-duplication key).
    fn identity(&self) -> String;
    /// Runs one probe, returning by `deadline` (give or take scheduling).
    ///
    /// The deadline may itself be the verdict (silence accepted, or a
    /// timeout): return it once the deadline has passed. Drivers accept a
    /// result for a while after the deadline (the engine's
    /// [`watchdog_slack`](crate::EngineConfig::watchdog_slack); the tokio
    /// runner waits that long before cancelling), so there is no need to
    /// stop early to win a race; a checker still running past that grace
    /// is counted as a timeout.
    fn check(&self, deadline: Instant) -> Outcome;
}

/// Where and how a checker connects; shared by every socket checker.
///
/// New options may be added: start from [`ConnectOptions::new`] and chain
/// the `with_*` setters (each stores `Some(value)`):
///
/// ```
/// use std::time::Duration;
/// use lvs_healthcheck::ConnectOptions;
///
/// let opts = ConnectOptions::new("192.0.2.10:80".parse().unwrap())
///     .with_connect_port(8080)
///     .with_connect_timeout(Duration::from_secs(1));
/// assert_eq!(opts.destination(), "192.0.2.10:8080".parse().unwrap());
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct ConnectOptions {
    /// The real server (address and service port).
    pub real_server: SocketAddr,
    /// Probe this address instead of the real server's (keepalived `connect_ip`).
    pub connect_ip: Option<IpAddr>,
    /// Probe this port instead of the real server's (keepalived `connect_port`).
    pub connect_port: Option<u16>,
    /// Source address (keepalived `bindto`).
    pub bind_addr: Option<IpAddr>,
    /// Source interface, `SO_BINDTODEVICE` (keepalived `bind_if`).
    pub bind_device: Option<String>,
    /// Cap on the connection phase; the probe deadline caps the whole check.
    pub connect_timeout: Option<Duration>,
}

with_setters!(ConnectOptions {
    with_connect_ip(connect_ip: IpAddr) => Some,
    with_connect_port(connect_port: u16) => Some,
    with_bind_addr(bind_addr: IpAddr) => Some,
    with_bind_device(bind_device: String) => Some,
    with_connect_timeout(connect_timeout: Duration) => Some,
});

impl ConnectOptions {
    /// Options that probe `real_server` itself with no binding.
    pub fn new(real_server: SocketAddr) -> Self {
        ConnectOptions {
            real_server,
            connect_ip: None,
            connect_port: None,
            bind_addr: None,
            bind_device: None,
            connect_timeout: None,
        }
    }

    /// The address actually probed (overrides applied).
    pub fn destination(&self) -> SocketAddr {
        SocketAddr::new(
            self.connect_ip.unwrap_or(self.real_server.ip()),
            self.connect_port.unwrap_or(self.real_server.port()),
        )
    }

    /// The deadline of the connection phase for a probe ending at `deadline`.
    pub fn connect_deadline(&self, deadline: Instant) -> Instant {
        match self.connect_timeout {
            Some(t) => deadline.min(Instant::now() + t),
            None => deadline,
        }
    }

    /// A non-blocking socket of `ty` for the destination, with source address
    /// and device binding applied.
    pub fn socket(&self, ty: Type, protocol: Protocol) -> io::Result<Socket> {
        let dst = self.destination();
        let domain = Domain::for_address(dst);
        // Non-blocking from the start: one syscall fewer per probe than fcntl afterwards.
        let sock = Socket::new(domain, ty.nonblocking().cloexec(), Some(protocol))?;
        if let Some(dev) = &self.bind_device {
            sock.bind_device(Some(dev.as_bytes()))?;
        }
        if let Some(ip) = self.bind_addr {
            if ty == Type::STREAM {
                // Pick the source port at connect time, per destination, not at
                // bind time: otherwise every bound probe holds a port host-wide.
                let _ = lvs_sys::set_int_option(
                    sock.as_fd(),
                    libc::IPPROTO_IP,
                    libc::IP_BIND_ADDRESS_NO_PORT,
                    1,
                );
            }
            sock.bind(&SockAddr::from(SocketAddr::new(ip, 0)))?;
        }
        Ok(sock)
    }
}

/// Connects a non-blocking stream socket within `deadline`.
pub(crate) fn connect_blocking(
    sock: &Socket,
    dst: SocketAddr,
    deadline: Instant,
) -> Result<(), FailReason> {
    match sock.connect(&SockAddr::from(dst)) {
        Ok(()) => return Ok(()),
        Err(e) if e.raw_os_error() == Some(libc::EINPROGRESS) => {}
        Err(e) => return Err(FailReason::from_io(&e)),
    }
    match lvs_sys::poll_until(sock.as_fd(), PollFlags::OUT, deadline) {
        Ok(r) if r.is_empty() => Err(FailReason::Timeout),
        Ok(_) => match sock.take_error() {
            Ok(None) => Ok(()),
            Ok(Some(e)) | Err(e) => Err(FailReason::from_io(&e)),
        },
        Err(e) => Err(FailReason::from_io(&e)),
    }
}

/// Sends all of `buf` on a connected non-blocking stream before `deadline`.
pub(crate) fn send_all(sock: &Socket, mut buf: &[u8], deadline: Instant) -> Result<(), FailReason> {
    while !buf.is_empty() {
        match sock.send(buf) {
            Ok(n) => buf = &buf[n..],
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                match lvs_sys::poll_until(sock.as_fd(), PollFlags::OUT, deadline) {
                    Ok(r) if r.is_empty() => return Err(FailReason::Timeout),
                    Ok(_) => {}
                    Err(e) => return Err(FailReason::from_io(&e)),
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(FailReason::from_io(&e)),
        }
    }
    Ok(())
}

/// Receives once (blocking until data, EOF or deadline). `Ok(0)` is EOF.
pub(crate) fn recv_some(
    sock: &Socket,
    buf: &mut [u8],
    deadline: Instant,
) -> Result<usize, FailReason> {
    loop {
        match io::Read::read(&mut &*sock, buf) {
            Ok(n) => return Ok(n),
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                match lvs_sys::poll_until(sock.as_fd(), PollFlags::IN, deadline) {
                    Ok(r) if r.is_empty() => return Err(FailReason::Timeout),
                    Ok(_) => {}
                    Err(e) => return Err(FailReason::from_io(&e)),
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(FailReason::from_io(&e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_change_the_destination_only() {
        let mut o = ConnectOptions::new("172.20.0.85:80".parse().unwrap_or_else(|e| panic!("{e}")));
        assert_eq!(o.destination().to_string(), "172.20.0.85:80");
        o.connect_port = Some(8080);
        assert_eq!(o.destination().to_string(), "172.20.0.85:8080");
        o.connect_ip = Some("127.0.0.1".parse().unwrap_or_else(|e| panic!("{e}")));
        assert_eq!(o.destination().to_string(), "127.0.0.1:8080");
        assert_eq!(o.real_server.to_string(), "172.20.0.85:80");
    }
}
