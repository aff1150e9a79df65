//! `PING_CHECK`: an ICMP (IPv4) or ICMPv6 echo request answered by an echo
//! reply before the deadline.
//!
//! Sockets: first an unprivileged ICMP datagram socket (`SOCK_DGRAM`,
//! `IPPROTO_ICMP`/`IPPROTO_ICMPV6`), as keepalived uses: the kernel hands
//! each socket only the replies to its own echo identifier. Those need the
//! process's group inside `net.ipv4.ping_group_range`, which by default
//! admits nobody, root included. keepalived rewrites that host-wide sysctl;
//! we do not, and fall back to a raw socket instead (the director runs with
//! `CAP_NET_RAW`), where replies are matched here by identifier, sequence
//! and payload. Either way the socket is connected, so the kernel delivers
//! only packets from the probed address, and an ICMP error for it (host
//! unreachable) ends the probe at once.

use std::io;
use std::net::IpAddr;
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Instant;

use socket2::{Protocol, SockAddr, Socket, Type};

use super::{Checker, ConnectOptions, recv_some};
use crate::outcome::{FailReason, Outcome, Success};

/// Bytes of payload after the 8-byte ICMP header (as ping's default).
const PAYLOAD_LEN: usize = 56;

/// An echo request to the check's destination address (its port is unused).
///
/// Build it with [`PingCheck::new`] (new fields may be added).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct PingCheck {
    /// Destination (`connect_ip` or the real server's address), source
    /// address and device.
    pub connect: ConnectOptions,
}

impl PingCheck {
    /// A ping of `connect.destination()`'s address.
    pub fn new(connect: ConnectOptions) -> Self {
        PingCheck { connect }
    }

    /// A connected ICMP socket and whether it is raw; non-blocking.
    pub(crate) fn socket(&self) -> io::Result<(Socket, bool)> {
        let dst = self.connect.destination();
        let protocol = if dst.is_ipv6() {
            Protocol::ICMPV6
        } else {
            Protocol::ICMPV4
        };
        let (sock, raw) = match self.connect.socket(Type::DGRAM, protocol) {
            Ok(s) => (s, false),
            Err(e) if matches!(e.raw_os_error(), Some(libc::EACCES | libc::EPERM)) => {
                (self.connect.socket(Type::RAW, protocol)?, true)
            }
            Err(e) => return Err(e),
        };
        // Port 0: ICMP has none (a ping socket takes the echo id from it).
        sock.connect(&SockAddr::from(std::net::SocketAddr::new(dst.ip(), 0)))?;
        Ok((sock, raw))
    }
}

/// One echo exchange, sans-IO: the request to send and the test of a reply.
#[derive(Debug, Clone)]
pub(crate) struct Echo {
    v6: bool,
    /// Raw socket: IPv4 datagrams start with the IP header, and the
    /// identifier is ours to check (a ping socket rewrites and filters it).
    raw: bool,
    id: u16,
    seq: u16,
    payload: [u8; PAYLOAD_LEN],
}

impl Echo {
    pub(crate) fn new(dst: IpAddr, raw: bool) -> Echo {
        static SEQ: AtomicU16 = AtomicU16::new(0);
        let mut payload = [0u8; PAYLOAD_LEN];
        for (i, b) in payload.iter_mut().enumerate() {
            *b = i as u8;
        }
        // A nonce at the front: a late reply to an earlier probe never matches.
        let nonce = [super::dns::next_id(), super::dns::next_id()];
        payload[..2].copy_from_slice(&nonce[0].to_be_bytes());
        payload[2..4].copy_from_slice(&nonce[1].to_be_bytes());
        Echo {
            v6: dst.is_ipv6(),
            raw,
            id: super::dns::next_id(),
            seq: SEQ.fetch_add(1, Ordering::Relaxed),
            payload,
        }
    }

    /// The echo request (ICMPv6 and ping-socket checksums are the kernel's;
    /// an ICMPv4 raw one is ours).
    pub(crate) fn request(&self) -> Vec<u8> {
        let mut p = Vec::with_capacity(8 + PAYLOAD_LEN);
        p.push(if self.v6 { 128 } else { 8 });
        p.push(0);
        p.extend_from_slice(&[0, 0]);
        p.extend_from_slice(&self.id.to_be_bytes());
        p.extend_from_slice(&self.seq.to_be_bytes());
        p.extend_from_slice(&self.payload);
        if !self.v6 {
            let sum = checksum(&p);
            p[2..4].copy_from_slice(&sum.to_be_bytes());
        }
        p
    }

    /// Whether `datagram` (as read from the socket) is the reply to this request.
    pub(crate) fn is_reply(&self, datagram: &[u8]) -> bool {
        let icmp = if self.raw && !self.v6 {
            let ihl = usize::from(datagram.first().map_or(0, |b| b & 0x0f)) * 4;
            match datagram.get(ihl..) {
                Some(rest) if ihl >= 20 => rest,
                _ => return false,
            }
        } else {
            datagram
        };
        let reply_type = if self.v6 { 129 } else { 0 };
        icmp.len() == 8 + PAYLOAD_LEN
            && icmp[0] == reply_type
            && icmp[1] == 0
            && (!self.raw || icmp[4..6] == self.id.to_be_bytes())
            && icmp[6..8] == self.seq.to_be_bytes()
            && icmp[8..] == self.payload
    }
}

/// The Internet checksum (RFC 1071).
fn checksum(data: &[u8]) -> u16 {
    let mut sum: u32 = data
        .chunks(2)
        .map(|c| u32::from(u16::from_be_bytes([c[0], c.get(1).copied().unwrap_or(0)])))
        .sum();
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

impl Checker for PingCheck {
    fn identity(&self) -> String {
        format!("{self:?}")
    }

    fn check(&self, deadline: Instant) -> Outcome {
        match self.ping(deadline) {
            Ok(()) => Outcome::Success(Success::EchoReply),
            Err(r) => Outcome::Failure(r),
        }
    }
}

impl PingCheck {
    fn ping(&self, deadline: Instant) -> Result<(), FailReason> {
        let (sock, raw) = self.socket().map_err(|e| FailReason::from_io(&e))?;
        let echo = Echo::new(self.connect.destination().ip(), raw);
        sock.send(&echo.request())
            .map_err(|e| FailReason::from_io(&e))?;
        let mut buf = [0u8; 1500];
        loop {
            let n = recv_some(&sock, &mut buf, deadline)?;
            if echo.is_reply(&buf[..n]) {
                return Ok(());
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_and_reply_matching() {
        let v4: IpAddr = "192.0.2.1".parse().unwrap_or_else(|e| panic!("{e}"));
        let echo = Echo::new(v4, true);
        let req = echo.request();
        assert_eq!((req[0], req.len()), (8, 64));
        // A correct checksum sums (with itself) to zero.
        assert_eq!(checksum(&req), 0);
        // The reply a host sends: type 0, same id/seq/payload, behind an IP header.
        let mut reply = req.clone();
        reply[0] = 0;
        let mut ip = vec![0x45u8; 1];
        ip.resize(20, 0);
        ip.extend_from_slice(&reply);
        assert!(echo.is_reply(&ip));
        assert!(
            !echo.is_reply(&reply),
            "a raw IPv4 datagram has its IP header"
        );
        // Our own request looped back, another probe's reply: not ours.
        let mut looped = ip.clone();
        looped[20] = 8;
        assert!(!echo.is_reply(&looped));
        let other = Echo::new(v4, true);
        let mut theirs = other.request();
        theirs[0] = 0;
        let mut ip2 = ip[..20].to_vec();
        ip2.extend_from_slice(&theirs);
        assert!(!echo.is_reply(&ip2));

        let v6: IpAddr = "2001:db8::1".parse().unwrap_or_else(|e| panic!("{e}"));
        let echo = Echo::new(v6, false);
        let mut reply = echo.request();
        assert_eq!(reply[0], 128);
        reply[0] = 129;
        // A ping socket rewrites the identifier: not checked there.
        reply[4] ^= 0xff;
        assert!(echo.is_reply(&reply));
    }
}
