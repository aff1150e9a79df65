//! VRRP over IPv4: a raw IP protocol 112 socket pair on one interface.
//!
//! Receiving uses one socket bound to the interface (all adverts, multicast
//! group joined); sending uses a second one bound to the primary address so
//! the kernel puts the address the checksum and tie-break use as source.

use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, SocketAddrV4};
use std::os::fd::AsRawFd;

use socket2::{Domain, InterfaceIndexOrAddress, Protocol, Socket, Type};
use tokio::io::unix::AsyncFd;

/// IP protocol number of VRRP.
pub const IPPROTO_VRRP: i32 = 112;

/// One received advertisement: IP header facts and the VRRP payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Received {
    /// IP source.
    pub source: Ipv4Addr,
    /// IP destination.
    pub destination: Ipv4Addr,
    /// TTL.
    pub ttl: u8,
    /// VRRP message.
    pub payload: Vec<u8>,
}

/// Splits an IPv4 datagram as a raw socket delivers it (header included).
pub fn parse_ipv4(datagram: &[u8]) -> Option<Received> {
    let first = *datagram.first()?;
    if first >> 4 != 4 {
        return None;
    }
    let ihl = usize::from(first & 0x0f) * 4;
    if ihl < 20 || datagram.len() < ihl {
        return None;
    }
    let total = usize::from(u16::from_be_bytes([datagram[2], datagram[3]]));
    let end = if total >= ihl && total <= datagram.len() {
        total
    } else {
        datagram.len()
    };
    let addr = |i: usize| {
        Ipv4Addr::new(
            datagram[i],
            datagram[i + 1],
            datagram[i + 2],
            datagram[i + 3],
        )
    };
    Some(Received {
        ttl: datagram[8],
        source: addr(12),
        destination: addr(16),
        payload: datagram[ihl..end].to_vec(),
    })
}

fn ifindex(iface: &str) -> io::Result<u32> {
    let c = std::ffi::CString::new(iface)
        .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, "interface name with NUL"))?;
    // SAFETY: c is a valid NUL-terminated string.
    let idx = unsafe { libc::if_nametoindex(c.as_ptr()) };
    if idx == 0 {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("no interface named {iface}"),
        ));
    }
    Ok(idx)
}

/// The receiving socket, for tokio.
#[derive(Debug)]
pub struct Receiver {
    fd: AsyncFd<Socket>,
}

impl Receiver {
    /// Opens it on `iface`, joined to `group` (multicast mode) if given.
    pub fn open(iface: &str, group: Option<Ipv4Addr>) -> io::Result<Receiver> {
        let s = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::from(IPPROTO_VRRP)))?;
        s.bind_device(Some(iface.as_bytes()))?;
        if let Some(g) = group {
            s.join_multicast_v4_n(&g, &InterfaceIndexOrAddress::Index(ifindex(iface)?))?;
        }
        s.set_nonblocking(true)?;
        // SAFETY: the socket is owned by the AsyncFd and outlives its
        // registration; nothing else holds its fd.
        let fd = unsafe { AsyncFd::register(s) }.map_err(io::Error::from)?;
        Ok(Receiver { fd })
    }

    /// Waits for the next datagram.
    pub async fn recv(&self) -> io::Result<Received> {
        let mut buf = vec![0u8; 2048];
        loop {
            let mut guard = self.fd.readable().await?;
            let res = guard.try_io(|inner| {
                // SAFETY: buf is valid for buf.len() bytes for the duration of the call.
                let n = unsafe {
                    libc::recv(
                        inner.get_ref().as_raw_fd(),
                        buf.as_mut_ptr().cast(),
                        buf.len(),
                        0,
                    )
                };
                if n < 0 {
                    Err(io::Error::last_os_error())
                } else {
                    Ok(n as usize)
                }
            });
            match res {
                Ok(Ok(n)) => {
                    if let Some(r) = parse_ipv4(&buf[..n]) {
                        return Ok(r);
                    }
                }
                Ok(Err(e)) => return Err(e),
                Err(_would_block) => continue,
            }
        }
    }
}

/// The sending socket.
#[derive(Debug)]
pub struct Sender {
    socket: Socket,
}

impl Sender {
    /// Opens it on `iface` with `source` as the IP source; TTL 255 as VRRP demands.
    pub fn open(iface: &str, source: Ipv4Addr) -> io::Result<Sender> {
        let s = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::from(IPPROTO_VRRP)))?;
        s.bind_device(Some(iface.as_bytes()))?;
        s.bind(&SocketAddr::V4(SocketAddrV4::new(source, 0)).into())?;
        s.set_ttl_v4(255)?;
        s.set_multicast_ttl_v4(255)?;
        s.set_multicast_loop_v4(false)?;
        s.set_multicast_if_v4(&source)?;
        // Nothing is read from this socket: keep what queues there small.
        let _ = s.set_recv_buffer_size(1);
        Ok(Sender { socket: s })
    }

    /// Sends one advertisement to `destination`.
    pub fn send(&self, destination: IpAddr, payload: &[u8]) -> io::Result<()> {
        self.socket
            .send_to(payload, &SocketAddr::new(destination, 0).into())
            .map(|_| ())
    }
}
