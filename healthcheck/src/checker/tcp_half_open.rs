//! A half-open TCP check: a SYN sent from a raw socket; a SYN-ACK means up,
//! a RST refused, and this host's kernel resets the half-open connection by
//! itself (no socket owns the SYN-ACK).
//!
//! The verdict is the one [`TcpCheck`](super::tcp::TcpCheck) gives — a
//! backend's kernel answers a SYN on a listening port whether or not the
//! application would ever accept — for about half the work on both ends:
//! no socket, connect or close here, no child socket and no `accept` on the
//! backend (its application never sees the probe, so its logs stay quiet),
//! three packets instead of five. The price: it needs `CAP_NET_RAW`, and the
//! raw socket is handed (through a port filter) every TCP packet this host
//! receives for local sockets. It is what load balancers call a "TCP half
//! open" monitor; keepalived's `TCP_CHECK` makes full connections.
//!
//! On the tokio runner answers arrive in batches (SYNs that fall due
//! together leave in one `sendmmsg`); at thousands of checks per second,
//! count intervals from the probe's start ([`Policy::from_start`]) or add
//! [`Policy::interval_jitter`], or a batch's probes all fall due again at
//! the same instant and batches merge into bursts.
//!
//! [`Policy::from_start`]: crate::Policy::from_start
//! [`Policy::interval_jitter`]: crate::Policy::interval_jitter
//!
//! Each probe carries its own initial sequence number; the reply's
//! acknowledgement names the probe. Source ports are reserved by binding
//! ordinary TCP sockets that never listen, so no local connection can take
//! them and the kernel answers the SYN-ACKs addressed to them with a reset.
//! Two probes of one destination must not share a source port while the
//! first is unanswered (the backend would take the second SYN for a bad
//! one and reset it: a false "refused"), and successive ones had better
//! not either (in case our reset was lost); the runner rotates each
//! destination over its ports and never reuses a busy one.

use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::os::fd::{AsFd, AsRawFd};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Instant;

use socket2::{Domain, Protocol, SockAddr, SockFilter, Socket, Type};

use super::udp::error_queue_entry;
use super::{Checker, ConnectOptions};
use crate::outcome::{FailReason, Outcome, Success};
use lvs_sys::PollFlags;

/// Sends a SYN and reads the answer; never completes a connection.
///
/// Build it with [`TcpHalfOpenCheck::new`] (new fields may be added).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct TcpHalfOpenCheck {
    /// Destination and options (source address, device, connect timeout).
    pub connect: ConnectOptions,
}

impl TcpHalfOpenCheck {
    /// A half-open check of `connect.destination()`.
    pub fn new(connect: ConnectOptions) -> Self {
        TcpHalfOpenCheck { connect }
    }

    /// The source address to put in the SYN: the configured one, else
    /// (IPv4, whose checksum we compute) the one the routing table picks.
    pub(crate) fn source(&self) -> io::Result<Option<IpAddr>> {
        match (self.connect.bind_addr, self.connect.destination()) {
            (Some(ip), _) => Ok(Some(ip)),
            (None, dst @ SocketAddr::V4(_)) => {
                route_source(dst, self.connect.bind_device.as_deref()).map(Some)
            }
            // IPv6: the kernel picks the source and computes the checksum.
            (None, SocketAddr::V6(_)) => Ok(None),
        }
    }

    fn probe(&self, deadline: Instant) -> Result<(), FailReason> {
        let dst = self.connect.destination();
        let io = |e: io::Error| FailReason::from_io(&e);
        let raw = RawTcp::open(
            Domain::for_address(dst),
            self.connect.bind_device.as_deref(),
            1,
        )
        .map_err(io)?;
        let src = self.source().map_err(io)?;
        let seq = next_seq();
        let port = raw.ports()[0];
        raw.send_syn(&Syn {
            dst,
            src,
            port,
            seq,
        })
        .map_err(io)?;
        let deadline = self.connect.connect_deadline(deadline);
        let mut buf = [0u8; RECV_LEN];
        loop {
            let revents = match lvs_sys::poll_until(raw.sock.as_fd(), PollFlags::IN, deadline) {
                Ok(r) if r.is_empty() => return Err(FailReason::Timeout),
                Ok(r) => r,
                Err(e) => return Err(io(e)),
            };
            if revents.contains(PollFlags::ERR) {
                while let Ok(entry) = error_queue_entry(&raw.sock, &mut buf) {
                    if let Some((n, reason)) = entry
                        && offending_seq(&buf[..n]) == Some((dst.port(), seq))
                    {
                        return Err(reason);
                    }
                }
            }
            loop {
                match raw.recv_reply(&mut buf) {
                    Ok(Some(reply)) => {
                        if let Some(v) = reply.verdict(dst, port, seq) {
                            return v;
                        }
                    }
                    Ok(None) => {}
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(io(e)),
                }
            }
        }
    }
}

impl Checker for TcpHalfOpenCheck {
    fn identity(&self) -> String {
        format!("{self:?}")
    }

    fn check(&self, deadline: Instant) -> Outcome {
        match self.probe(deadline) {
            Ok(()) => Outcome::Success(Success::SynAcknowledged),
            Err(r) => Outcome::Failure(r),
        }
    }
}

/// Bytes kept of each received datagram: a full IPv4 header and the TCP
/// header's fixed part are all a reply is read for.
pub(crate) const RECV_LEN: usize = 128;

/// A SYN with one option (MSS), as any stack sends at least.
const SYN_LEN: usize = 24;
const TCP_SYN: u8 = 0x02;
const TCP_RST: u8 = 0x04;
const TCP_ACK: u8 = 0x10;
/// `SO_ATTACH_FILTER` ops (classic BPF).
const BPF_LDX_B_MSH: u16 = 0xb1;
const BPF_LD_H_IND: u16 = 0x48;
const BPF_LD_H_ABS: u16 = 0x28;
const BPF_JEQ_K: u16 = 0x15;
const BPF_RET_K: u16 = 0x06;

/// A fresh initial sequence number; the reply's acknowledgement is it + 1.
pub(crate) fn next_seq() -> u32 {
    static BASE: OnceLock<u32> = OnceLock::new();
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let base = BASE.get_or_init(|| {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos() as u64);
        crate::rng::SplitMix64::new(nanos ^ u64::from(std::process::id())).next_u64() as u32
    });
    base.wrapping_add(COUNTER.fetch_add(1, Ordering::Relaxed))
}

/// The SYN segment from `src_port` to `dst` with sequence `seq`. The
/// checksum is filled in for IPv4 when `src` is known; for IPv6 the kernel
/// fills it (`IPV6_CHECKSUM`).
pub(crate) fn syn_segment(
    src: Option<IpAddr>,
    src_port: u16,
    dst: SocketAddr,
    seq: u32,
) -> [u8; SYN_LEN] {
    let mut s = [0u8; SYN_LEN];
    s[0..2].copy_from_slice(&src_port.to_be_bytes());
    s[2..4].copy_from_slice(&dst.port().to_be_bytes());
    s[4..8].copy_from_slice(&seq.to_be_bytes());
    // Data offset: 6 words (20 bytes of header + the MSS option).
    s[12] = 6 << 4;
    s[13] = TCP_SYN;
    s[14..16].copy_from_slice(&64_240u16.to_be_bytes());
    let mss: u16 = if dst.is_ipv4() { 1460 } else { 1440 };
    s[20] = 2;
    s[21] = 4;
    s[22..24].copy_from_slice(&mss.to_be_bytes());
    if let (Some(IpAddr::V4(src)), IpAddr::V4(dst)) = (src, dst.ip()) {
        let sum = checksum_v4(src, dst, &s);
        s[16..18].copy_from_slice(&sum.to_be_bytes());
    }
    s
}

/// The TCP checksum over the IPv4 pseudo-header and `segment`.
fn checksum_v4(src: Ipv4Addr, dst: Ipv4Addr, segment: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    let mut add = |bytes: &[u8]| {
        for pair in bytes.chunks(2) {
            let hi = u32::from(pair[0]) << 8;
            sum += hi | pair.get(1).map_or(0, |&b| u32::from(b));
        }
    };
    add(&src.octets());
    add(&dst.octets());
    add(&[0, libc::IPPROTO_TCP as u8]);
    add(&(segment.len() as u16).to_be_bytes());
    add(segment);
    while sum > 0xffff {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// What a reply to a SYN said.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Answer {
    /// SYN-ACK: something listens.
    Open,
    /// RST: nothing listens.
    Closed,
}

/// A SYN-ACK or RST addressed to one of our reserved ports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Reply {
    pub from: SocketAddr,
    pub to_port: u16,
    pub ack: u32,
    pub answer: Answer,
}

impl Reply {
    /// The verdict for the probe of `dst` from `port` with sequence `seq`,
    /// if this reply answers it.
    pub(crate) fn verdict(
        &self,
        dst: SocketAddr,
        port: u16,
        seq: u32,
    ) -> Option<Result<(), FailReason>> {
        if self.from != dst || self.to_port != port || self.ack != seq.wrapping_add(1) {
            return None;
        }
        Some(match self.answer {
            Answer::Open => Ok(()),
            Answer::Closed => Err(FailReason::Refused),
        })
    }
}

/// Reads a TCP segment from `from`: a SYN-ACK or an acknowledging RST, or
/// `None` for anything else (including a truncated header).
pub(crate) fn parse_segment(from: IpAddr, seg: &[u8]) -> Option<Reply> {
    let head = seg.get(..20)?;
    let flags = head[13];
    let answer = if flags & TCP_RST != 0 {
        // A reset answering a SYN acknowledges it; any other reset is not ours.
        if flags & TCP_ACK == 0 {
            return None;
        }
        Answer::Closed
    } else if flags & (TCP_SYN | TCP_ACK) == TCP_SYN | TCP_ACK {
        Answer::Open
    } else {
        return None;
    };
    let be16 = |i: usize| u16::from_be_bytes([head[i], head[i + 1]]);
    Some(Reply {
        from: SocketAddr::new(from, be16(0)),
        to_port: be16(2),
        ack: u32::from_be_bytes([head[8], head[9], head[10], head[11]]),
        answer,
    })
}

/// Reads an IPv4 datagram as a raw TCP socket receives it (header included).
pub(crate) fn parse_ipv4(datagram: &[u8]) -> Option<Reply> {
    let first = *datagram.first()?;
    let ihl = usize::from(first & 0x0f) * 4;
    if first >> 4 != 4 || ihl < 20 || datagram.len() < ihl {
        return None;
    }
    // Only unfragmented TCP (a non-first fragment has no TCP header).
    let frag_offset = u16::from_be_bytes([datagram[6], datagram[7]]) & 0x1fff;
    if datagram[9] != libc::IPPROTO_TCP as u8 || frag_offset != 0 {
        return None;
    }
    let src = Ipv4Addr::new(datagram[12], datagram[13], datagram[14], datagram[15]);
    parse_segment(IpAddr::V4(src), &datagram[ihl..])
}

/// The destination port and sequence number of our SYN quoted back in an
/// ICMP error (the error queue of a raw socket holds the TCP header).
pub(crate) fn offending_seq(quoted: &[u8]) -> Option<(u16, u32)> {
    let h = quoted.get(..8)?;
    Some((
        u16::from_be_bytes([h[2], h[3]]),
        u32::from_be_bytes([h[4], h[5], h[6], h[7]]),
    ))
}

/// The classic BPF program that passes only TCP segments addressed to one
/// of `ports` (at most 8), for a raw socket of the given family (IPv4 raw
/// sockets see the IP header, IPv6 ones do not).
pub(crate) fn port_filter(ipv4: bool, ports: &[u16]) -> Vec<libc::sock_filter> {
    let op = |code: u16, jt: u8, jf: u8, k: u32| libc::sock_filter { code, jt, jf, k };
    let mut prog = if ipv4 {
        // X = IP header length; A = the TCP destination port after it.
        vec![op(BPF_LDX_B_MSH, 0, 0, 0), op(BPF_LD_H_IND, 0, 0, 2)]
    } else {
        vec![op(BPF_LD_H_ABS, 0, 0, 2)]
    };
    let k = ports.len().min(8);
    for (i, port) in ports.iter().take(k).enumerate() {
        // On a match jump over the remaining tests and the drop.
        prog.push(op(BPF_JEQ_K, (k - i) as u8, 0, u32::from(*port)));
    }
    prog.push(op(BPF_RET_K, 0, 0, 0));
    prog.push(op(BPF_RET_K, 0, 0, u32::from(u16::MAX)));
    prog
}

/// The source address the routing table picks for `dst` (a UDP socket's
/// `connect` sends nothing).
fn route_source(dst: SocketAddr, device: Option<&str>) -> io::Result<IpAddr> {
    let sock = Socket::new(
        Domain::for_address(dst),
        Type::DGRAM.cloexec(),
        Some(Protocol::UDP),
    )?;
    if let Some(dev) = device {
        sock.bind_device(Some(dev.as_bytes()))?;
    }
    sock.connect(&SockAddr::from(dst))?;
    sock.local_addr()?
        .as_socket()
        .map(|a| a.ip())
        .ok_or_else(|| io::Error::other("no local address"))
}

/// A raw TCP socket that sends SYNs and receives the answers to the
/// source ports it holds.
#[derive(Debug)]
pub(crate) struct RawTcp {
    pub sock: Socket,
    ipv4: bool,
    ports: Vec<u16>,
    /// Bound, never listening: they keep the ports ours.
    _reserved: Vec<Socket>,
}

impl RawTcp {
    /// Opens the raw socket (non-blocking, `IP_RECVERR`), reserves
    /// `ports` (1..=8) source ports and filters replies to them.
    pub(crate) fn open(domain: Domain, device: Option<&str>, ports: usize) -> io::Result<RawTcp> {
        let ipv4 = domain == Domain::IPV4;
        let sock = Socket::new(
            domain,
            Type::RAW.nonblocking().cloexec(),
            Some(Protocol::TCP),
        )
        .map_err(|e| {
            if e.raw_os_error() == Some(libc::EPERM) {
                io::Error::new(e.kind(), "half-open TCP checks need CAP_NET_RAW")
            } else {
                e
            }
        })?;
        if let Some(dev) = device {
            sock.bind_device(Some(dev.as_bytes()))?;
        }
        let mut reserved = Vec::new();
        let mut list = Vec::new();
        for _ in 0..ports.clamp(1, 8) {
            let r = Socket::new(domain, Type::STREAM.cloexec(), None)?;
            let any = if ipv4 {
                IpAddr::V4(Ipv4Addr::UNSPECIFIED)
            } else {
                r.set_only_v6(true)?;
                IpAddr::V6(Ipv6Addr::UNSPECIFIED)
            };
            r.bind(&SockAddr::from(SocketAddr::new(any, 0)))?;
            let port = r
                .local_addr()?
                .as_socket()
                .map(|a| a.port())
                .ok_or_else(|| io::Error::other("reserved port has no address"))?;
            list.push(port);
            reserved.push(r);
        }
        let (level, opt) = if ipv4 {
            (libc::SOL_IP, libc::IP_RECVERR)
        } else {
            // The kernel computes the checksum at offset 16 of what we send.
            lvs_sys::set_int_option(sock.as_fd(), libc::SOL_IPV6, libc::IPV6_CHECKSUM, 16)?;
            (libc::SOL_IPV6, libc::IPV6_RECVERR)
        };
        lvs_sys::set_int_option(sock.as_fd(), level, opt, 1)?;
        // Replies come in bursts as probes do; the default buffer is small.
        let _ = sock.set_recv_buffer_size(1 << 20);
        let prog = port_filter(ipv4, &list);
        let prog: Vec<SockFilter> = prog
            .iter()
            .map(|o| SockFilter::new(o.code, o.jt, o.jf, o.k))
            .collect();
        sock.attach_filter(&prog)?;
        // Whatever arrived before the filter was attached is not ours.
        let mut scratch = [std::mem::MaybeUninit::<u8>::uninit(); RECV_LEN];
        while sock.recv(&mut scratch).is_ok() {}
        Ok(RawTcp {
            sock,
            ipv4,
            ports: list,
            _reserved: reserved,
        })
    }

    /// The reserved source ports (at least one).
    pub(crate) fn ports(&self) -> &[u16] {
        &self.ports
    }

    /// Sends the SYN of one probe.
    pub(crate) fn send_syn(&self, syn: &Syn) -> io::Result<()> {
        match self.send_syns(std::slice::from_ref(syn)) {
            (_, Some(err)) => Err(err),
            _ => Ok(()),
        }
    }

    /// Sends `syns` in order, as many per system call as `sendmmsg` takes:
    /// how many were sent, and the error of the one after them, if any.
    pub(crate) fn send_syns(&self, syns: &[Syn]) -> (usize, Option<io::Error>) {
        let mut sent = 0;
        for chunk in syns.chunks(SEND_BATCH) {
            let mut out: Vec<Outgoing> = chunk.iter().map(Outgoing::new).collect();
            let mut iovs: Vec<libc::iovec> = out
                .iter_mut()
                .map(|o| libc::iovec {
                    iov_base: o.seg.as_mut_ptr().cast(),
                    iov_len: o.seg.len(),
                })
                .collect();
            let mut msgs: Vec<libc::mmsghdr> = out
                .iter_mut()
                .zip(iovs.iter_mut())
                .map(|(o, iov)| o.header(iov))
                .collect();
            let mut done = 0;
            while done < msgs.len() {
                // SAFETY: every header points into `out` and `iovs`, which
                // outlive the call and are not moved while it runs.
                let rc = unsafe {
                    libc::sendmmsg(
                        self.sock.as_raw_fd(),
                        msgs[done..].as_mut_ptr(),
                        (msgs.len() - done) as u32,
                        0,
                    )
                };
                if rc > 0 {
                    done += rc as usize;
                    continue;
                }
                let err = io::Error::last_os_error();
                if rc < 0 && err.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                return (sent + done, Some(err));
            }
            sent += done;
        }
        (sent, None)
    }

    /// Receives one datagram and reads it; `Ok(None)` if it is not a reply.
    pub(crate) fn recv_reply(&self, buf: &mut [u8; RECV_LEN]) -> io::Result<Option<Reply>> {
        let r = lvs_sys::recv_msg(self.sock.as_fd(), buf, &mut [], 0)?;
        Ok(self.read_reply(&buf[..r.len.min(RECV_LEN)], r.from.map(|a| a.ip())))
    }

    /// Reads a received datagram (`from`: its source, needed for IPv6,
    /// whose raw sockets drop the IP header).
    pub(crate) fn read_reply(&self, data: &[u8], from: Option<IpAddr>) -> Option<Reply> {
        if self.ipv4 {
            parse_ipv4(data)
        } else {
            parse_segment(from?, data)
        }
    }
}

/// SYNs sent per `sendmmsg`.
const SEND_BATCH: usize = 32;

/// One probe's SYN: to `dst` from `port` (and `src`, when given) with
/// sequence `seq`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Syn {
    pub dst: SocketAddr,
    pub src: Option<IpAddr>,
    pub port: u16,
    pub seq: u32,
}

/// A SYN laid out for `sendmsg`: the segment, the address and, when the
/// source is given, the control message that says it (the source we summed
/// over must be the one sent).
struct Outgoing {
    seg: [u8; SYN_LEN],
    /// Raw sockets take the protocol, not a port, in the address: 0.
    to: SockAddr,
    control: [u8; 64],
    control_len: usize,
}

impl Outgoing {
    fn new(syn: &Syn) -> Outgoing {
        let mut o = Outgoing {
            seg: syn_segment(syn.src, syn.port, syn.dst, syn.seq),
            to: SockAddr::from(SocketAddr::new(syn.dst.ip(), 0)),
            control: [0; 64],
            control_len: 0,
        };
        o.control_len = match syn.src {
            Some(IpAddr::V4(ip)) => {
                // struct in_pktinfo { int ipi_ifindex; in_addr ipi_spec_dst, ipi_addr; }:
                // the source in ipi_spec_dst, any interface.
                let mut info = [0u8; 12];
                info[4..8].copy_from_slice(&ip.octets());
                lvs_sys::put_cmsg(&mut o.control, libc::SOL_IP, libc::IP_PKTINFO, &info)
            }
            Some(IpAddr::V6(ip)) => {
                // struct in6_pktinfo { in6_addr ipi6_addr; int ipi6_ifindex; }
                let mut info = [0u8; 20];
                info[..16].copy_from_slice(&ip.octets());
                lvs_sys::put_cmsg(&mut o.control, libc::SOL_IPV6, libc::IPV6_PKTINFO, &info)
            }
            None => 0,
        };
        o
    }

    /// The `sendmmsg` header for this SYN, whose segment `iov` points at.
    fn header(&mut self, iov: &mut libc::iovec) -> libc::mmsghdr {
        // SAFETY: zeroed mmsghdr is a valid "empty" header; fields set below.
        let mut m: libc::mmsghdr = unsafe { std::mem::zeroed() };
        m.msg_hdr.msg_name = self.to.as_ptr().cast_mut().cast();
        m.msg_hdr.msg_namelen = self.to.len();
        m.msg_hdr.msg_iov = iov;
        m.msg_hdr.msg_iovlen = 1;
        if self.control_len > 0 {
            m.msg_hdr.msg_control = self.control.as_mut_ptr().cast();
            m.msg_hdr.msg_controllen = self.control_len as _;
        }
        m
    }
}

impl AsRawFd for RawTcp {
    fn as_raw_fd(&self) -> std::os::fd::RawFd {
        self.sock.as_raw_fd()
    }
}

impl AsFd for RawTcp {
    fn as_fd(&self) -> std::os::fd::BorrowedFd<'_> {
        self.sock.as_fd()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn addr(s: &str) -> SocketAddr {
        s.parse().unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    #[test]
    fn syn_checksum_verifies_over_the_pseudo_header() {
        let src = Ipv4Addr::new(172, 20, 0, 81);
        let dst = addr("172.20.0.85:80");
        let seg = syn_segment(Some(IpAddr::V4(src)), 40_000, dst, 0x1234_5678);
        assert_eq!(&seg[0..2], &40_000u16.to_be_bytes());
        assert_eq!(&seg[2..4], &80u16.to_be_bytes());
        assert_eq!(&seg[4..8], &[0x12, 0x34, 0x56, 0x78]);
        assert_eq!(seg[12] >> 4, 6, "data offset covers the MSS option");
        assert_eq!(seg[13], TCP_SYN);
        assert_eq!(&seg[20..24], &[2, 4, 0x05, 0xb4]);
        // Summing the segment with its checksum in place gives all ones.
        let IpAddr::V4(d) = dst.ip() else {
            panic!("v4")
        };
        assert_eq!(checksum_v4(src, d, &seg), 0);
        // A different source no longer verifies: the sum covers it.
        assert_ne!(checksum_v4(Ipv4Addr::new(172, 20, 0, 82), d, &seg), 0);
    }

    #[test]
    fn ipv6_syn_leaves_the_checksum_to_the_kernel() {
        let seg = syn_segment(None, 40_000, addr("[fd00::85]:53"), 7);
        assert_eq!(&seg[16..18], &[0, 0]);
        assert_eq!(&seg[22..24], &1440u16.to_be_bytes());
    }

    fn reply_segment(flags: u8, ack: u32) -> Vec<u8> {
        let mut s = vec![0u8; 20];
        s[0..2].copy_from_slice(&80u16.to_be_bytes());
        s[2..4].copy_from_slice(&40_000u16.to_be_bytes());
        s[8..12].copy_from_slice(&ack.to_be_bytes());
        s[12] = 5 << 4;
        s[13] = flags;
        s
    }

    fn ipv4_datagram(seg: &[u8]) -> Vec<u8> {
        let mut d = vec![
            0x45, 0, 0, 0, 0, 0, 0x40, 0, 64, 6, 0, 0, 172, 20, 0, 85, 172, 20, 0, 81,
        ];
        d.extend_from_slice(seg);
        d
    }

    #[test]
    fn syn_ack_and_reset_answer_only_their_probe() {
        let dst = addr("172.20.0.85:80");
        let syn_ack = parse_ipv4(&ipv4_datagram(&reply_segment(TCP_SYN | TCP_ACK, 8)))
            .unwrap_or_else(|| panic!("a SYN-ACK"));
        assert_eq!(syn_ack.answer, Answer::Open);
        assert_eq!(syn_ack.verdict(dst, 40_000, 7), Some(Ok(())));
        // Another probe's sequence, port or peer: not this probe's answer.
        assert_eq!(syn_ack.verdict(dst, 40_000, 8), None);
        assert_eq!(syn_ack.verdict(dst, 40_001, 7), None);
        assert_eq!(syn_ack.verdict(addr("172.20.0.86:80"), 40_000, 7), None);
        assert_eq!(syn_ack.verdict(addr("172.20.0.85:81"), 40_000, 7), None);

        let rst = parse_ipv4(&ipv4_datagram(&reply_segment(TCP_RST | TCP_ACK, 8)))
            .unwrap_or_else(|| panic!("a RST"));
        assert_eq!(rst.verdict(dst, 40_000, 7), Some(Err(FailReason::Refused)));
        // Wrap-around: the probe with sequence u32::MAX is acknowledged with 0.
        let wrapped = parse_ipv4(&ipv4_datagram(&reply_segment(TCP_RST | TCP_ACK, 0)))
            .unwrap_or_else(|| panic!("a RST"));
        assert_eq!(
            wrapped.verdict(dst, 40_000, u32::MAX),
            Some(Err(FailReason::Refused))
        );
    }

    #[test]
    fn other_segments_and_garbage_are_not_replies() {
        for flags in [TCP_SYN, TCP_ACK, TCP_RST, 0x11, 0x18] {
            let d = ipv4_datagram(&reply_segment(flags, 8));
            assert_eq!(parse_ipv4(&d), None, "flags {flags:#x}");
        }
        let good = ipv4_datagram(&reply_segment(TCP_SYN | TCP_ACK, 8));
        for cut in 0..good.len() {
            assert_eq!(parse_ipv4(&good[..cut]), None, "cut at {cut}");
        }
        let mut udp = good.clone();
        udp[9] = 17;
        assert_eq!(parse_ipv4(&udp), None);
        let mut fragment = good.clone();
        fragment[7] = 1;
        assert_eq!(parse_ipv4(&fragment), None);
        let mut v6 = good.clone();
        v6[0] = 0x65;
        assert_eq!(parse_ipv4(&v6), None);
        let mut short_ihl = good;
        short_ihl[0] = 0x44;
        assert_eq!(parse_ipv4(&short_ihl), None);
        assert_eq!(offending_seq(&[0; 7]), None);
        assert_eq!(
            offending_seq(&[0x9c, 0x40, 0, 80, 0, 0, 0, 7]),
            Some((80, 7))
        );
    }

    #[test]
    fn port_filter_jumps_to_accept_from_every_test() {
        let prog = port_filter(true, &[1000, 1001, 1002]);
        assert_eq!(prog.len(), 2 + 3 + 2);
        let accept = prog.len() - 1;
        for (i, op) in prog.iter().enumerate().skip(2).take(3) {
            assert_eq!(op.code, BPF_JEQ_K);
            assert_eq!(i + 1 + usize::from(op.jt), accept, "test {i}");
            assert_eq!(op.jf, 0);
        }
        assert_eq!(prog[accept - 1].k, 0, "no match: drop");
        assert_eq!(port_filter(false, &[1000]).len(), 1 + 1 + 2);
    }

    #[test]
    fn sequence_numbers_differ() {
        let a = next_seq();
        let b = next_seq();
        assert_ne!(a, b);
    }
}
