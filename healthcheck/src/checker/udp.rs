//! `UDP_CHECK`: send a datagram, then tell a matching reply, an ICMP
//! "unreachable" (read from the socket error queue, `IP_RECVERR`) and
//! silence apart.

use std::io;
use std::os::fd::AsFd;
use std::time::Instant;

use socket2::{Protocol, SockAddr, Socket, Type};

use super::{Checker, ConnectOptions};
use crate::outcome::{FailReason, Outcome, Success, Unreachable};
use lvs_sys::PollFlags;

// Kernel numbers for the extended error queue (linux/errqueue.h, linux/icmp.h).
const SO_EE_ORIGIN_ICMP: u8 = 2;
const SO_EE_ORIGIN_ICMP6: u8 = 3;
const ICMP_DEST_UNREACH: u8 = 3;
const ICMPV6_DEST_UNREACH: u8 = 1;

/// What a reply must look like (keepalived `require_reply`,
/// `min_reply_length`, `max_reply_length`).
///
/// New rules may be added: start from [`ReplyMatch::any`] and chain the
/// `with_*` setters:
///
/// ```
/// use lvs_healthcheck::checker::udp::ReplyMatch;
///
/// let m = ReplyMatch::any().with_pattern(b"pong".to_vec()).with_max_len(64);
/// assert!(m.matches(b"pong!") && !m.matches(b"ping"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
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

with_setters!(ReplyMatch {
    with_min_len(min_len: usize),
    with_max_len(max_len: usize),
    with_pattern(pattern: Vec<u8>),
    with_mask(mask: Vec<u8>) => Some,
});

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
///
/// Build it with [`UdpCheck::new`] or [`UdpCheck::keepalived`] and the
/// `with_*` setters (new fields may be added).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
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

with_setters!(UdpCheck {
    with_payload(payload: Vec<u8>),
    with_reply(reply: ReplyMatch) => Some,
    with_silent_is_up(silent_is_up: bool),
});

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
    lvs_sys::set_int_option(sock.as_fd(), level, name, 1)?;
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
        match lvs_sys::poll_until(sock.as_fd(), PollFlags::IN, deadline) {
            Ok(revents) if revents.is_empty() => return Ok(UdpReply::Silent),
            Ok(revents) => {
                if revents.contains(PollFlags::ERR)
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
pub(crate) fn error_queue(sock: &impl AsFd) -> Option<FailReason> {
    let mut data = [0u8; 512];
    error_queue_entry(sock, &mut data)
        .ok()
        .and_then(|e| e.map(|(_, reason)| reason))
}

/// Reads one entry of the socket error queue into `data` (the offending
/// packet's payload, as far as it fits): its length and the error it names,
/// `None` for an entry without one. `WouldBlock` when the queue is empty.
pub(crate) fn error_queue_entry(
    sock: &impl AsFd,
    data: &mut [u8],
) -> io::Result<Option<(usize, FailReason)>> {
    let mut control = [0u8; 512];
    let r = lvs_sys::recv_msg(
        sock.as_fd(),
        data,
        &mut control,
        libc::MSG_ERRQUEUE | libc::MSG_DONTWAIT,
    )?;
    let found = lvs_sys::cmsgs(&control[..r.control_len])
        .filter(|c| {
            (c.level, c.ty) == (libc::SOL_IP, libc::IP_RECVERR)
                || (c.level, c.ty) == (libc::SOL_IPV6, libc::IPV6_RECVERR)
        })
        .find_map(|c| ExtendedErr::parse(c.data));
    Ok(found.map(|ee| (r.len.min(data.len()), classify(&ee))))
}

/// The head of `struct sock_extended_err` { u32 ee_errno; u8 ee_origin,
/// ee_type, ee_code, ee_pad; u32 ee_info, ee_data; }, as the kernel
/// writes it in an `IP(V6)_RECVERR` control message.
struct ExtendedErr {
    ee_errno: u32,
    ee_origin: u8,
    ee_type: u8,
    ee_code: u8,
}

impl ExtendedErr {
    fn parse(data: &[u8]) -> Option<ExtendedErr> {
        let head = data.get(..8)?;
        Some(ExtendedErr {
            ee_errno: u32::from_ne_bytes(head[..4].try_into().ok()?),
            ee_origin: head[4],
            ee_type: head[5],
            ee_code: head[6],
        })
    }
}

fn classify(ee: &ExtendedErr) -> FailReason {
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
