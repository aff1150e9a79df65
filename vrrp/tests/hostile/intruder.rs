//! The third host's sender: a raw protocol-112 socket whose TTL the test
//! chooses (the VRRP socket always sends 255). Shared by the lvs-vrrp and
//! lvs-director namespace tests.

use std::net::{Ipv4Addr, SocketAddrV4};

use lvs_testenv::Netns;
use lvs_vrrp::wire::{MULTICAST_V4, PROTOCOL};
use socket2::{Domain, Protocol, SockAddr, Socket, Type};

/// A raw protocol-112 sender on the intruder's interface, TTL of the caller's choice.
pub struct Intruder {
    socket: Socket,
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
            ttl: std::cell::Cell::new(None),
        }
    }

    /// Sends `bytes` to 224.0.0.18 with TTL `ttl`.
    pub fn send(&self, bytes: &[u8], ttl: u8) {
        if self.ttl.get() != Some(ttl) {
            self.socket
                .set_multicast_ttl_v4(u32::from(ttl))
                .expect("ttl");
            self.ttl.set(Some(ttl));
        }
        let to = SockAddr::from(SocketAddrV4::new(MULTICAST_V4, 0));
        self.socket.send_to(bytes, &to).expect("send");
    }
}
