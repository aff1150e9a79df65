//! A raw `AF_PACKET` socket bound to one interface of one namespace.

use std::mem;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::time::Duration;

use crate::error::{Error, Result};
use std::os::fd::BorrowedFd;

/// `ETH_P_ARP`: receive ARP frames only.
pub const ETH_P_ARP: u16 = 0x0806;
/// `ETH_P_IPV6`.
pub const ETH_P_IPV6: u16 = 0x86dd;
// Protocol 0: the socket sends but receives nothing.
const ETH_P_NONE: u16 = 0;

/// An `AF_PACKET`/`SOCK_RAW` socket: whole Ethernet frames in and out.
#[derive(Debug)]
pub struct PacketSocket {
    fd: OwnedFd,
    ifindex: i32,
    iface: String,
}

impl PacketSocket {
    /// Opens a socket on `iface` in `ns` that receives frames of EtherType
    /// `protocol` (see [`ETH_P_ARP`]).
    pub fn open(ns: Option<BorrowedFd<'_>>, iface: &str, protocol: u16) -> Result<PacketSocket> {
        let name = iface.to_string();
        crate::netns::run(ns, move || {
            let ifindex = match lvs_sys::ifindex(&name) {
                Ok(i) => i,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                    return Err(Error::NoSuchInterface(name));
                }
                Err(e) => return Err(Error::io(format!("ifindex of {name}"), e)),
            };
            let proto_be = protocol.to_be();
            let fd = rustix::net::socket_with(
                rustix::net::AddressFamily::PACKET,
                rustix::net::SocketType::RAW,
                rustix::net::SocketFlags::CLOEXEC,
                // Protocol 0 (None): a send-only socket.
                std::num::NonZeroU32::new(u32::from(proto_be)).map(rustix::net::Protocol::from_raw),
            );
            let fd =
                fd.map_err(|e| Error::io(format!("socket(AF_PACKET) for {name}"), e.into()))?;
            // Frames this host sends are not ours to read (Linux 4.20+; older
            // kernels loop them back, and `recv` then also returns them).
            let _ = lvs_sys::set_int_option(
                fd.as_fd(),
                libc::SOL_PACKET,
                libc::PACKET_IGNORE_OUTGOING,
                1,
            );
            let sll = libc::sockaddr_ll {
                sll_family: libc::AF_PACKET as u16,
                sll_protocol: proto_be,
                sll_ifindex: ifindex as i32,
                sll_hatype: 0,
                sll_pkttype: 0,
                sll_halen: 0,
                sll_addr: [0; 8],
            };
            // No safe sockaddr_ll binding in rustix or socket2.
            // SAFETY: `sll` is a valid sockaddr_ll and the length is its size;
            // the kernel only reads it during the call.
            let rc = unsafe {
                libc::bind(
                    fd.as_raw_fd(),
                    (&sll as *const libc::sockaddr_ll).cast(),
                    mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
                )
            };
            if rc != 0 {
                return Err(Error::io(
                    format!("bind AF_PACKET to {name}"),
                    std::io::Error::last_os_error(),
                ));
            }
            Ok(PacketSocket {
                fd,
                ifindex: ifindex as i32,
                iface: name,
            })
        })
    }

    /// Opens a send-only socket.
    pub fn open_sender(ns: Option<BorrowedFd<'_>>, iface: &str) -> Result<PacketSocket> {
        PacketSocket::open(ns, iface, ETH_P_NONE)
    }

    /// The interface name.
    pub fn iface(&self) -> &str {
        &self.iface
    }

    /// The interface index.
    pub fn ifindex(&self) -> i32 {
        self.ifindex
    }

    /// Sends one complete Ethernet frame.
    pub fn send(&self, frame: &[u8]) -> Result<()> {
        rustix::net::send(&self.fd, frame, rustix::net::SendFlags::empty())
            .map_err(|e| Error::io(format!("send frame on {}", self.iface), e.into()))?;
        Ok(())
    }

    /// Waits up to `timeout` for an incoming frame (frames this host sent
    /// itself are skipped) and returns its length in `buf`.
    pub fn recv(&self, buf: &mut [u8], timeout: Duration) -> Result<Option<usize>> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let ready = lvs_sys::poll_until(self.fd.as_fd(), lvs_sys::PollFlags::IN, deadline)
                .map_err(|e| Error::io("poll AF_PACKET", e))?;
            if ready.is_empty() {
                return Ok(None);
            }
            match rustix::net::recv(&self.fd, &mut *buf, rustix::net::RecvFlags::DONTWAIT) {
                Ok((n, _)) => return Ok(Some(n)),
                // A spurious wake-up: wait on until the deadline.
                Err(rustix::io::Errno::AGAIN | rustix::io::Errno::INTR) => continue,
                Err(e) => return Err(Error::io("recv AF_PACKET", e.into())),
            }
        }
    }
}
