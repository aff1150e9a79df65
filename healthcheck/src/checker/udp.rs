//! `UDP_CHECK`: send a datagram, then tell a matching reply, an ICMP
//! "unreachable" (read from the socket error queue, `IP_RECVERR`) and
//! silence apart.

use std::io;
use std::os::fd::AsRawFd;
use std::time::Instant;

use socket2::{Protocol, SockAddr, Socket, Type};

use super::{Checker, ConnectOptions, set_option, wait_fd};
use crate::outcome::{FailReason, Outcome, Success, Unreachable};

// Kernel numbers for the extended error queue (linux/errqueue.h, linux/icmp.h).
const SO_EE_ORIGIN_ICMP: u8 = 2;
const SO_EE_ORIGIN_ICMP6: u8 = 3;
const ICMP_DEST_UNREACH: u8 = 3;
const ICMPV6_DEST_UNREACH: u8 = 1;

/// What a reply must look like (keepalived `require_reply`,
/// `min_reply_length`, `max_reply_length`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ReplyMatch {
    /// Shortest acceptable reply.
    pub min_len: usize,
    /// Longest acceptable reply.
    pub max_len: usize,
    /// Expected leading bytes (compared over the shorter of pattern and reply).
    pub pattern: Vec<u8>,
    /// Bits set here are ignored in the comparison (same length as `pattern`).
    pub mask: Option<Vec<u8>>,
}

impl ReplyMatch {
    /// Any reply of any length.
    pub fn any() -> Self {
        ReplyMatch {
            min_len: 0,
            max_len: 65_535,
            pattern: Vec::new(),
            mask: None,
        }
    }

    /// True if `reply` is acceptable.
    pub fn matches(&self, reply: &[u8]) -> bool {
        if reply.len() < self.min_len || reply.len() > self.max_len {
            return false;
        }
        self.pattern
            .iter()
            .zip(reply)
            .enumerate()
            .all(|(i, (want, got))| {
                let ignore = self
                    .mask
                    .as_ref()
                    .and_then(|m| m.get(i))
                    .copied()
                    .unwrap_or(0);
                (want ^ got) & !ignore == 0
            })
    }
}

/// Sends `payload` (possibly empty) and waits for a reply or an ICMP error.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UdpCheck {
    /// Destination and socket options.
    pub connect: ConnectOptions,
    /// The datagram to send.
    pub payload: Vec<u8>,
    /// Require a reply matching this; `None` = any reply passes.
    pub reply: Option<ReplyMatch>,
    /// Whether silence until the deadline counts as up. Off by default:
    /// a black-holed host is silent too. keepalived's `UDP_CHECK` without
    /// `require_reply` behaves as if this were on.
    pub silent_is_up: bool,
}

impl UdpCheck {
    /// Sends an empty datagram; only a reply counts as up.
    pub fn new(connect: ConnectOptions) -> Self {
        UdpCheck {
            connect,
            payload: Vec::new(),
            reply: None,
            silent_is_up: false,
        }
    }
}

/// What came back from a UDP exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum UdpReply {
    /// A datagram of this many bytes.
    Data(usize),
    /// Nothing before the deadline.
    Silent,
}

/// A connected UDP socket with `IP_RECVERR` on, for [`exchange`].
pub(crate) fn connected_socket(opts: &ConnectOptions) -> io::Result<Socket> {
    let sock = opts.socket(Type::DGRAM, Protocol::UDP)?;
    let dst = opts.destination();
    let (level, name) = if dst.is_ipv4() {
        (libc::SOL_IP, libc::IP_RECVERR)
    } else {
        (libc::SOL_IPV6, libc::IPV6_RECVERR)
    };
    set_option(&sock, level, name, &(1 as libc::c_int))?;
    sock.connect(&SockAddr::from(dst))?;
    Ok(sock)
}

/// Sends `payload` and waits for one datagram into `buf`, an ICMP error, or the deadline.
pub(crate) fn exchange(
    sock: &Socket,
    payload: &[u8],
    buf: &mut [u8],
    deadline: Instant,
) -> Result<UdpReply, FailReason> {
    if let Err(e) = sock.send(payload) {
        return Err(error_queue(sock).unwrap_or_else(|| FailReason::from_io(&e)));
    }
    loop {
        match wait_fd(sock, libc::POLLIN, deadline) {
            Ok(0) => return Ok(UdpReply::Silent),
            Ok(revents) => {
                if revents & libc::POLLERR != 0
                    && let Some(reason) = error_queue(sock)
                {
                    return Err(reason);
                }
                match io::Read::read(&mut &*sock, buf) {
                    Ok(n) => return Ok(UdpReply::Data(n)),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                    Err(e) => {
                        return Err(error_queue(sock).unwrap_or_else(|| FailReason::from_io(&e)));
                    }
                }
            }
            Err(e) => return Err(FailReason::from_io(&e)),
        }
    }
}

/// Reads one entry of the socket error queue and names the ICMP error, if any.
pub(crate) fn error_queue(sock: &impl AsRawFd) -> Option<FailReason> {
    let mut data = [0u8; 512];
    error_queue_entry(sock, &mut data)
        .ok()
        .and_then(|e| e.map(|(_, reason)| reason))
}

/// Reads one entry of the socket error queue into `data` (the offending
/// packet's payload, as far as it fits): its length and the error it names,
/// `None` for an entry without one. `WouldBlock` when the queue is empty.
pub(crate) fn error_queue_entry(
    sock: &impl AsRawFd,
    data: &mut [u8],
) -> io::Result<Option<(usize, FailReason)>> {
    let mut control = [0u64; 64];
    let mut iov = libc::iovec {
        iov_base: data.as_mut_ptr().cast(),
        iov_len: data.len(),
    };
    // SAFETY: zeroed msghdr is a valid "empty" header; fields set below.
    let mut msg: libc::msghdr = unsafe { std::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = control.as_mut_ptr().cast();
    msg.msg_controllen = std::mem::size_of_val(&control) as _;
    // SAFETY: msg points at live buffers of the stated sizes.
    let n = unsafe {
        libc::recvmsg(
            sock.as_raw_fd(),
            &mut msg,
            libc::MSG_ERRQUEUE | libc::MSG_DONTWAIT,
        )
    };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: iterating the control buffer the kernel filled, with libc's CMSG helpers.
    let mut cmsg = unsafe { libc::CMSG_FIRSTHDR(&msg) };
    while !cmsg.is_null() {
        // SAFETY: cmsg is non-null and inside `control`.
        let hdr = unsafe { &*cmsg };
        let is_err = (hdr.cmsg_level == libc::SOL_IP && hdr.cmsg_type == libc::IP_RECVERR)
            || (hdr.cmsg_level == libc::SOL_IPV6 && hdr.cmsg_type == libc::IPV6_RECVERR);
        if is_err {
            // SAFETY: for IP(V6)_RECVERR the data starts with a sock_extended_err;
            // read_unaligned because control data alignment is not guaranteed.
            let ee: libc::sock_extended_err =
                unsafe { std::ptr::read_unaligned(libc::CMSG_DATA(cmsg).cast()) };
            return Ok(Some(((n as usize).min(data.len()), classify(&ee))));
        }
        // SAFETY: as above.
        cmsg = unsafe { libc::CMSG_NXTHDR(&msg, cmsg) };
    }
    Ok(None)
}

fn classify(ee: &libc::sock_extended_err) -> FailReason {
    match (ee.ee_origin, ee.ee_type, ee.ee_code) {
        (SO_EE_ORIGIN_ICMP, ICMP_DEST_UNREACH, code) => FailReason::Unreachable(match code {
            3 => Unreachable::Port,
            1 => Unreachable::Host,
            0 => Unreachable::Net,
            9 | 10 | 13 => Unreachable::Prohibited,
            c => Unreachable::Other(u16::from(c)),
        }),
        (SO_EE_ORIGIN_ICMP6, ICMPV6_DEST_UNREACH, code) => FailReason::Unreachable(match code {
            4 => Unreachable::Port,
            3 => Unreachable::Host,
            0 => Unreachable::Net,
            1 => Unreachable::Prohibited,
            c => Unreachable::Other(256 + u16::from(c)),
        }),
        // Local errors (e.g. neighbour resolution failed) carry an errno.
        _ => FailReason::from_io(&io::Error::from_raw_os_error(ee.ee_errno as i32)),
    }
}

impl Checker for UdpCheck {
    fn identity(&self) -> String {
        format!("{self:?}")
    }

    fn check(&self, deadline: Instant) -> Outcome {
        let sock = match connected_socket(&self.connect) {
            Ok(s) => s,
            Err(e) => return Outcome::Failure(FailReason::from_io(&e)),
        };
        let mut buf = vec![0u8; 65_536];
        let result = exchange(&sock, &self.payload, &mut buf, deadline);
        self.judge(result, &buf)
    }
}

impl UdpCheck {
    /// keepalived's `UDP_CHECK`: without `require_reply`, silence counts as
    /// up (only an ICMP error fails it); with it, a matching reply is needed.
    pub fn keepalived(
        connect: ConnectOptions,
        payload: Vec<u8>,
        require_reply: Option<ReplyMatch>,
    ) -> Self {
        UdpCheck {
            connect,
            payload,
            silent_is_up: require_reply.is_none(),
            reply: require_reply,
        }
    }

    /// Turns what the exchange found into an outcome (`buf` holds the reply).
    pub(crate) fn judge(&self, result: Result<UdpReply, FailReason>, buf: &[u8]) -> Outcome {
        match result {
            Ok(UdpReply::Data(n)) => match &self.reply {
                Some(m) if !m.matches(&buf[..n.min(buf.len())]) => {
                    Outcome::Failure(FailReason::ReplyMismatch)
                }
                _ => Outcome::Success(Success::ReplyMatched),
            },
            Ok(UdpReply::Silent) if self.silent_is_up => Outcome::Success(Success::SilentAccepted),
            Ok(UdpReply::Silent) => Outcome::Failure(FailReason::Silent),
            Err(r) => Outcome::Failure(r),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reply_match_honours_length_pattern_and_mask() {
        let m = ReplyMatch {
            min_len: 2,
            max_len: 4,
            pattern: vec![0xab, 0xcd],
            mask: Some(vec![0x00, 0x0f]),
        };
        assert!(m.matches(&[0xab, 0xc0]));
        assert!(m.matches(&[0xab, 0xcd, 1, 2]));
        assert!(!m.matches(&[0xab, 0xdd]));
        assert!(!m.matches(&[0xab]));
        assert!(!m.matches(&[0xab, 0xcd, 1, 2, 3]));
        assert!(ReplyMatch::any().matches(&[]));
    }
}
