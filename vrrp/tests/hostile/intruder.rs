//! The third host's sender: a raw protocol-112 socket whose TTL the test
//! chooses (the VRRP socket always sends 255). Shared by the lvs-vrrp and
//! lvs-director namespace tests.

#![allow(dead_code)] // Each test binary uses part of it.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddrV4, SocketAddrV6};

use lvs_testenv::Netns;
use lvs_vrrp::wire::{MULTICAST_V4, MULTICAST_V6, PROTOCOL};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};

/// A raw protocol-112 sender on the intruder's interface, TTL (hop limit)
/// of the caller's choice, to 224.0.0.18 or ff02::12.
pub struct Intruder {
    socket: Socket,
    /// The group, with the interface's scope for IPv6.
    to: SockAddr,
    /// The TTL last set (one setsockopt per change, not per packet: a
    /// flood sends tens of thousands a second).
    ttl: std::cell::Cell<Option<u8>>,
}

impl Intruder {
    /// Opens it in `ns` on `iface`, sending from `me`.
    pub fn open(ns: &Netns, iface: &str, me: Ipv4Addr) -> Intruder {
        let socket = ns.enter(|| {
            let s = Socket::new(
                Domain::IPV4,
                Type::RAW,
                Some(Protocol::from(i32::from(PROTOCOL))),
            )
            .expect("raw socket");
            s.bind_device(Some(iface.as_bytes())).expect("bind device");
            s.set_multicast_if_v4(&me).expect("multicast if");
            s.set_multicast_loop_v4(false).expect("no loop");
            s.bind(&SockAddr::from(SocketAddrV4::new(me, 0)))
                .expect("bind");
            s
        });
        Intruder {
            socket,
            to: SockAddr::from(SocketAddrV4::new(MULTICAST_V4, 0)),
            ttl: std::cell::Cell::new(None),
        }
    }

    /// Opens an IPv6 sender in `ns` on `iface` (index `ifindex`), sending
    /// from its link-local address `me` (the kernel leaves the checksum to
    /// the bytes given).
    pub fn open6(ns: &Netns, iface: &str, ifindex: u32, me: Ipv6Addr) -> Intruder {
        let socket = ns.enter(|| {
            let s = Socket::new(
                Domain::IPV6,
                Type::RAW,
                Some(Protocol::from(i32::from(PROTOCOL))),
            )
            .expect("raw socket");
            s.bind_device(Some(iface.as_bytes())).expect("bind device");
            s.set_multicast_if_v6(ifindex).expect("multicast if");
            s.set_multicast_loop_v6(false).expect("no loop");
            s.bind(&SockAddr::from(SocketAddrV6::new(me, 0, 0, ifindex)))
                .expect("bind");
            s
        });
        Intruder {
            socket,
            to: SockAddr::from(SocketAddrV6::new(MULTICAST_V6, 0, 0, ifindex)),
            ttl: std::cell::Cell::new(None),
        }
    }

    /// The group it sends to.
    pub fn group(&self) -> IpAddr {
        match self.to.as_socket() {
            Some(a) => a.ip(),
            None => IpAddr::V4(MULTICAST_V4),
        }
    }

    /// Sends `bytes` to the group with TTL / hop limit `ttl`.
    pub fn send(&self, bytes: &[u8], ttl: u8) {
        if self.ttl.get() != Some(ttl) {
            if self.group().is_ipv6() {
                self.socket
                    .set_multicast_hops_v6(u32::from(ttl))
                    .expect("hop limit");
            } else {
                self.socket
                    .set_multicast_ttl_v4(u32::from(ttl))
                    .expect("ttl");
            }
            self.ttl.set(Some(ttl));
        }
        self.socket.send_to(bytes, &self.to).expect("send");
    }
}
