//! Packet watchers that let a scenario place its fault at a fixed phase of
//! the protocol it disturbs: a raw IPv4 socket inside one host's namespace
//! reports, with the moment it saw them, the VRRP adverts on the segment or
//! the health-check packets a director sends to a backend. And a link
//! switch that cuts a host's interface with one rtnetlink request, so the cut lands
//! within a millisecond of when it is asked for (an `ip link set` costs
//! 130–165 ms under emulation).

use std::io;
use std::net::Ipv4Addr;
use std::os::fd::AsFd;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, sync_channel};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use lvs_testenv::Netns;
use lvs_vrrp::wire::{self as vrrp, Family};
use socket2::{Domain, InterfaceIndexOrAddress, Protocol, Socket, Type};

const IPPROTO_TCP: u8 = 6;
const IPPROTO_UDP: u8 = 17;
const TCP_SYN: u8 = 0x02;
const TCP_ACK: u8 = 0x10;

/// Which packets a [`Watch`] reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Filter {
    /// VRRP adverts (IP protocol 112) to 224.0.0.18, from any sender.
    Vrrp,
    /// TCP connection openings (SYN without ACK) from `from` to `port`:
    /// a director's TCP_CHECK.
    TcpSyn {
        /// The checking director's address.
        from: Ipv4Addr,
        /// The checked port.
        port: u16,
    },
    /// UDP datagrams from `from` to `port`: a director's UDP_CHECK or DNS_CHECK.
    Udp {
        /// The checking director's address.
        from: Ipv4Addr,
        /// The checked port.
        port: u16,
    },
}

impl Filter {
    fn protocol(self) -> u8 {
        match self {
            Filter::Vrrp => vrrp::PROTOCOL,
            Filter::TcpSyn { .. } => IPPROTO_TCP,
            Filter::Udp { .. } => IPPROTO_UDP,
        }
    }
}

/// One packet a watcher reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seen {
    /// When the watching thread received it.
    pub at: Instant,
    /// The sender.
    pub src: Ipv4Addr,
    /// For VRRP, the advert's priority; otherwise 0.
    pub priority: u8,
}

/// Matches one IPv4 datagram (header included, as a raw socket delivers
/// it) against `filter`; returns the sender and, for VRRP, the priority.
pub fn matches(filter: Filter, datagram: &[u8]) -> Option<(Ipv4Addr, u8)> {
    let ip = vrrp::Ipv4Datagram::parse(datagram)?;
    if ip.protocol != filter.protocol() {
        return None;
    }
    let (src, payload) = (ip.source, ip.payload);
    let dport = |p: &[u8]| p.get(2..4).map(|b| u16::from_be_bytes([b[0], b[1]]));
    match filter {
        Filter::Vrrp => {
            let packet = vrrp::Packet::new_checked(payload, Family::V4).ok()?;
            (packet.packet_type() == vrrp::TYPE_ADVERTISEMENT).then(|| (src, packet.priority()))
        }
        Filter::TcpSyn { from, port } => {
            let flags = *payload.get(13)?;
            let syn = flags & TCP_SYN != 0 && flags & TCP_ACK == 0;
            (src == from && dport(payload)? == port && syn).then_some((src, 0))
        }
        Filter::Udp { from, port } => {
            (src == from && payload.len() >= 8 && dport(payload)? == port).then_some((src, 0))
        }
    }
}

/// A raw socket in one namespace, read by its own thread until dropped.
#[derive(Debug)]
pub struct Watch {
    stop: Arc<AtomicBool>,
    seen: Receiver<Seen>,
    handle: Option<JoinHandle<()>>,
}

fn open(filter: Filter, iface: &str) -> io::Result<Socket> {
    let proto = Protocol::from(i32::from(filter.protocol()));
    let sock = Socket::new(Domain::IPV4, Type::RAW, Some(proto))?;
    sock.bind_device(Some(iface.as_bytes()))?;
    // Wake up now and then to notice the stop flag.
    sock.set_read_timeout(Some(Duration::from_millis(100)))?;
    // The kernel's receive time: under emulation and load this thread
    // may wake tens of milliseconds after the packet came.
    lvs_sys::set_int_option(sock.as_fd(), libc::SOL_SOCKET, libc::SO_TIMESTAMPNS, 1)?;
    if filter == Filter::Vrrp {
        let index = lvs_sys::ifindex(iface)?;
        // The host must be a member of the group for the kernel to accept
        // the adverts at all (the watching host may run no VRRP itself).
        sock.join_multicast_v4_n(&vrrp::MULTICAST_V4, &InterfaceIndexOrAddress::Index(index))?;
    }
    Ok(sock)
}

impl Watch {
    /// Starts watching `iface` inside `host` for packets matching `filter`.
    pub fn start(host: &Netns, iface: &str, filter: Filter) -> io::Result<Watch> {
        let file = host.file();
        let iface = iface.to_string();
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let (ready_tx, ready_rx) = sync_channel::<io::Result<()>>(1);
        let (seen_tx, seen) = sync_channel::<Seen>(4096);
        let handle = std::thread::spawn(move || {
            // Created in the namespace; read from this thread, which needn't be.
            let sock = lvs_sys::in_netns(file.as_fd(), || open(filter, &iface)).and_then(|r| r);
            let sock = match sock {
                Ok(s) => {
                    let _ = ready_tx.send(Ok(()));
                    s
                }
                Err(e) => {
                    let _ = ready_tx.send(Err(e));
                    return;
                }
            };
            let mut buf = [0u8; 2048];
            let mut control = [0u8; 128];
            while !flag.load(Ordering::Relaxed) {
                let (n, stamp) = match lvs_sys::recv_msg(sock.as_fd(), &mut buf, &mut control, 0) {
                    Ok(r) => {
                        let stamp = lvs_sys::cmsgs(&control[..r.control_len])
                            .find(|c| c.level == libc::SOL_SOCKET && c.ty == libc::SCM_TIMESTAMPNS)
                            .and_then(|c| lvs_sys::timespec_from(c.data));
                        (r.len, stamp)
                    }
                    Err(e)
                        if matches!(
                            e.kind(),
                            io::ErrorKind::WouldBlock
                                | io::ErrorKind::TimedOut
                                | io::ErrorKind::Interrupted
                        ) =>
                    {
                        continue;
                    }
                    Err(_) => return,
                };
                let at = lvs_sys::arrival_instant(stamp);
                if let Some((src, priority)) = matches(filter, &buf[..n.min(buf.len())]) {
                    // A full queue means nobody is reading: drop, never block.
                    let _ = seen_tx.try_send(Seen { at, src, priority });
                }
            }
        });
        match ready_rx.recv() {
            Ok(Ok(())) => Ok(Watch {
                stop,
                seen,
                handle: Some(handle),
            }),
            Ok(Err(e)) => {
                let _ = handle.join();
                Err(e)
            }
            Err(_) => {
                let _ = handle.join();
                Err(io::Error::other(
                    "watch thread ended before opening its socket",
                ))
            }
        }
    }

    /// Everything seen since the last call, oldest first.
    pub fn drain(&self) -> Vec<Seen> {
        self.seen.try_iter().collect()
    }

    /// The next packet seen, waiting at most `timeout`.
    pub fn next(&self, timeout: Duration) -> Option<Seen> {
        self.seen.recv_timeout(timeout).ok()
    }
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// Sets one interface of one namespace up or down with one `RTM_SETLINK`
/// on an rtnetlink socket opened inside that namespace (it acts on the
/// socket's namespace, whatever thread calls it).
#[derive(Debug)]
pub struct LinkSwitch {
    rtnl: std::sync::Mutex<lvs_arpguard::Rtnl>,
    iface: String,
}

impl LinkSwitch {
    /// A switch for `iface` in `host`.
    pub fn open(host: &Netns, iface: &str) -> io::Result<LinkSwitch> {
        let rtnl = lvs_arpguard::Rtnl::open(Some(host.as_fd())).map_err(io::Error::other)?;
        Ok(LinkSwitch {
            rtnl: std::sync::Mutex::new(rtnl),
            iface: iface.to_string(),
        })
    }

    /// Brings the interface up (`true`) or down (`false`).
    pub fn set(&self, up: bool) -> io::Result<()> {
        let mut rtnl = self.rtnl.lock().unwrap_or_else(|e| e.into_inner());
        let done = if up {
            rtnl.set_up(&self.iface)
        } else {
            rtnl.set_down(&self.iface)
        };
        done.map(|_| ()).map_err(io::Error::other)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ipv4(proto: u8, src: [u8; 4], payload: &[u8]) -> Vec<u8> {
        let mut d = vec![0x45, 0, 0, 0, 0, 0, 0, 0, 64, proto, 0, 0];
        d.extend_from_slice(&src);
        d.extend_from_slice(&[172, 20, 0, 86]);
        d.extend_from_slice(payload);
        // Total length, as the kernel delivers it on a raw socket.
        let total = u16::try_from(d.len()).expect("test datagram fits");
        d[2..4].copy_from_slice(&total.to_be_bytes());
        d
    }

    fn tcp(dport: u16, flags: u8) -> Vec<u8> {
        let mut t = vec![0u8; 20];
        t[0..2].copy_from_slice(&40000u16.to_be_bytes());
        t[2..4].copy_from_slice(&dport.to_be_bytes());
        t[12] = 0x50;
        t[13] = flags;
        t
    }

    #[test]
    fn tcp_filter_takes_only_the_directors_syns_to_the_port() {
        let f = Filter::TcpSyn {
            from: Ipv4Addr::new(172, 20, 0, 81),
            port: 80,
        };
        let node01 = [172, 20, 0, 81];
        assert_eq!(
            matches(f, &ipv4(IPPROTO_TCP, node01, &tcp(80, TCP_SYN))),
            Some((Ipv4Addr::new(172, 20, 0, 81), 0))
        );
        // The handshake's ACK, another port, another sender, another protocol.
        assert_eq!(
            matches(f, &ipv4(IPPROTO_TCP, node01, &tcp(80, TCP_ACK))),
            None
        );
        assert_eq!(
            matches(f, &ipv4(IPPROTO_TCP, node01, &tcp(80, TCP_SYN | TCP_ACK))),
            None
        );
        assert_eq!(
            matches(f, &ipv4(IPPROTO_TCP, node01, &tcp(53, TCP_SYN))),
            None
        );
        assert_eq!(
            matches(f, &ipv4(IPPROTO_TCP, [172, 20, 0, 80], &tcp(80, TCP_SYN))),
            None
        );
        assert_eq!(
            matches(f, &ipv4(IPPROTO_UDP, node01, &tcp(80, TCP_SYN))),
            None
        );
        // Truncated input is ignored, never a panic.
        let whole = ipv4(IPPROTO_TCP, node01, &tcp(80, TCP_SYN));
        for n in 0..whole.len() - 6 {
            assert_eq!(matches(f, &whole[..n]), None, "length {n}");
        }
    }

    #[test]
    fn udp_filter_takes_datagrams_to_the_port() {
        let f = Filter::Udp {
            from: Ipv4Addr::new(172, 20, 0, 81),
            port: 53,
        };
        let mut udp = vec![0u8; 8];
        udp[2..4].copy_from_slice(&53u16.to_be_bytes());
        assert!(matches(f, &ipv4(IPPROTO_UDP, [172, 20, 0, 81], &udp)).is_some());
        assert!(matches(f, &ipv4(IPPROTO_UDP, [172, 20, 0, 82], &udp)).is_none());
        udp[2..4].copy_from_slice(&80u16.to_be_bytes());
        assert!(matches(f, &ipv4(IPPROTO_UDP, [172, 20, 0, 81], &udp)).is_none());
    }

    #[test]
    fn vrrp_filter_reads_the_adverts_priority() {
        // VRRPv2 advert, VRID 1, priority 100, one address, advert_int 1.
        let advert = [
            0x21, 1, 100, 1, 0, 1, 0, 0, 172, 20, 0, 83, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        assert_eq!(
            matches(Filter::Vrrp, &ipv4(112, [172, 20, 0, 81], &advert)),
            Some((Ipv4Addr::new(172, 20, 0, 81), 100))
        );
        assert_eq!(
            matches(Filter::Vrrp, &ipv4(112, [172, 20, 0, 81], &advert[..4])),
            None
        );
        assert_eq!(
            matches(Filter::Vrrp, &ipv4(17, [172, 20, 0, 81], &advert)),
            None
        );
    }

    #[test]
    #[ignore = "needs root + netns (cargo xtask test)"]
    fn netns_watch_sees_a_syn_and_the_switch_cuts_the_link() {
        lvs_testenv::require_root("watching packets in a namespace");
        let lan = lvs_testenv::Lan::new("wt");
        let a = lan.add_host("a", &["172.20.0.81/24"]);
        let b = lan.add_host("b", &["172.20.0.86/24"]);
        let watch = Watch::start(
            &b,
            lvs_testenv::LAB_IFACE,
            Filter::TcpSyn {
                from: Ipv4Addr::new(172, 20, 0, 81),
                port: 80,
            },
        )
        .expect("watch");
        let target: std::net::SocketAddr = "172.20.0.86:80".parse().unwrap();
        let before = Instant::now();
        // Nothing listens: the SYN is answered by a reset, and still seen.
        let _ = a.enter(|| std::net::TcpStream::connect_timeout(&target, Duration::from_secs(2)));
        let seen = watch
            .next(Duration::from_secs(2))
            .expect("the SYN was seen");
        assert_eq!(seen.src, Ipv4Addr::new(172, 20, 0, 81));
        assert!(seen.at >= before);

        // A VRRP advert multicast by `a` reaches a watcher in `b`, which
        // runs no VRRP itself (the watch joins the group).
        let adverts = Watch::start(&b, lvs_testenv::LAB_IFACE, Filter::Vrrp).expect("vrrp watch");
        let advert: [u8; 20] = [
            0x21, 1, 100, 1, 0, 1, 0, 0, 172, 20, 0, 83, 0, 0, 0, 0, 0, 0, 0, 0,
        ];
        a.enter(|| {
            let s = Socket::new(Domain::IPV4, Type::RAW, Some(Protocol::from(112))).unwrap();
            s.set_multicast_ttl_v4(255).unwrap();
            s.set_multicast_if_v4(&Ipv4Addr::new(172, 20, 0, 81))
                .unwrap();
            let to = std::net::SocketAddrV4::new(vrrp::MULTICAST_V4, 0);
            s.send_to(&advert, &to.into()).unwrap();
        });
        let seen = adverts
            .next(Duration::from_secs(2))
            .expect("the advert was seen");
        assert_eq!(
            (seen.src, seen.priority),
            (Ipv4Addr::new(172, 20, 0, 81), 100)
        );

        let switch = LinkSwitch::open(&a, lvs_testenv::LAB_IFACE).expect("switch");
        switch.set(false).expect("down");
        let state = a.run(&["cat", "/sys/class/net/ens18/operstate"]);
        assert_eq!(state.trim(), "down");
        let up = a.run(&["ip", "-o", "link", "show", "ens18"]);
        assert!(!up.contains(",UP"), "{up}");
        switch.set(true).expect("up");
        let up = a.run(&["ip", "-o", "link", "show", "ens18"]);
        assert!(up.contains(",UP") || up.contains("<UP"), "{up}");
    }
}
