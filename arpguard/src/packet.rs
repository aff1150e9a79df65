//! A raw `AF_PACKET` socket bound to one interface of one namespace.

use std::mem;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::Duration;

use crate::error::{Error, Result};
use crate::netns::Namespace;

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
    pub fn open(ns: &Namespace, iface: &str, protocol: u16) -> Result<PacketSocket> {
        let name = iface.to_string();
        ns.run(move || {
            let cname = std::ffi::CString::new(name.clone())
                .map_err(|_| Error::NoSuchInterface(name.clone()))?;
            // SAFETY: cname is a valid NUL-terminated string.
            let ifindex = unsafe { libc::if_nametoindex(cname.as_ptr()) };
            if ifindex == 0 {
                return Err(Error::NoSuchInterface(name));
            }
            let proto_be = protocol.to_be();
            // SAFETY: plain socket(2) call; the fd is owned right below.
            let raw = unsafe {
                libc::socket(
                    libc::AF_PACKET,
                    libc::SOCK_RAW | libc::SOCK_CLOEXEC,
                    i32::from(proto_be),
                )
            };
            if raw < 0 {
                return Err(Error::io(
                    "socket(AF_PACKET)",
                    std::io::Error::last_os_error(),
                ));
            }
            // SAFETY: raw is a fresh valid fd nobody else owns.
            let fd = unsafe { OwnedFd::from_raw_fd(raw) };
            // SAFETY: sockaddr_ll is plain data; zeroed is a valid value.
            let mut sll: libc::sockaddr_ll = unsafe { mem::zeroed() };
            sll.sll_family = libc::AF_PACKET as u16;
            sll.sll_protocol = proto_be;
            sll.sll_ifindex = ifindex as i32;
            // SAFETY: sll is a valid sockaddr_ll of the given length.
            let rc = unsafe {
                libc::bind(
                    fd.as_raw_fd(),
                    &sll as *const libc::sockaddr_ll as *const libc::sockaddr,
                    mem::size_of::<libc::sockaddr_ll>() as u32,
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
    pub fn open_sender(ns: &Namespace, iface: &str) -> Result<PacketSocket> {
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
        // SAFETY: frame is a valid readable buffer of frame.len() bytes.
        let n = unsafe {
            libc::send(
                self.fd.as_raw_fd(),
                frame.as_ptr() as *const libc::c_void,
                frame.len(),
                0,
            )
        };
        if n < 0 {
            return Err(Error::io(
                format!("send frame on {}", self.iface),
                std::io::Error::last_os_error(),
            ));
        }
        Ok(())
    }

    /// Waits up to `timeout` for an incoming frame (frames this host sent
    /// itself are skipped) and returns its length in `buf`.
    pub fn recv(&self, buf: &mut [u8], timeout: Duration) -> Result<Option<usize>> {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(std::time::Instant::now());
            let mut pfd = libc::pollfd {
                fd: self.fd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            let ms = left.as_millis().min(i32::MAX as u128) as i32;
            // SAFETY: pfd is one valid pollfd.
            let rc = unsafe { libc::poll(&mut pfd, 1, ms) };
            if rc < 0 {
                let e = std::io::Error::last_os_error();
                if e.kind() == std::io::ErrorKind::Interrupted {
                    continue;
                }
                return Err(Error::io("poll AF_PACKET", e));
            }
            if rc == 0 {
                return Ok(None);
            }
            // SAFETY: zeroed sockaddr_ll is valid; recvfrom fills it.
            let mut sll: libc::sockaddr_ll = unsafe { mem::zeroed() };
            let mut len = mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t;
            // SAFETY: buf is writable for buf.len() bytes; sll/len are valid.
            let n = unsafe {
                libc::recvfrom(
                    self.fd.as_raw_fd(),
                    buf.as_mut_ptr() as *mut libc::c_void,
                    buf.len(),
                    0,
                    &mut sll as *mut libc::sockaddr_ll as *mut libc::sockaddr,
                    &mut len,
                )
            };
            if n < 0 {
                return Err(Error::io(
                    "recvfrom AF_PACKET",
                    std::io::Error::last_os_error(),
                ));
            }
            if sll.sll_pkttype == libc::PACKET_OUTGOING {
                continue;
            }
            return Ok(Some(n as usize));
        }
    }
}
