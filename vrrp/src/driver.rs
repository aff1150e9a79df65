//! A tokio driver (feature `tokio`): raw IP sockets for protocol 112 on one
//! interface, feeding a [`Router`] and handing its non-transmit actions to
//! the caller.
//!
//! Two sockets, as keepalived uses: a receiver bound to the interface that
//! joins the VRRP group (the standard one, a configured one, or none in
//! unicast mode: [`VrrpSocket::open_for`]), and a sender bound to the
//! primary address (so the kernel's source address is the one the checksum
//! was computed with), TTL / hop limit 255, multicast loop off. Sockets can
//! be created inside another network namespace
//! ([`VrrpSocket::open_for_in_netns`]); they stay there whatever thread
//! later uses them.
//!
//! Timers use a [`Timer`] (a `timerfd`), not tokio's millisecond wheel: a
//! Backup's Master_Down_Interval (3.6484375 s for priority 90) then fires
//! within microseconds of its instant, as keepalived's timerfd does, instead
//! of up to a millisecond late.

use std::collections::VecDeque;
use std::io;
use std::net::{IpAddr, Ipv6Addr, SocketAddrV4, SocketAddrV6};
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::time::{Duration, Instant};

use rustix::time::{
    Itimerspec, TimerfdClockId, TimerfdFlags, TimerfdTimerFlags, Timespec, timerfd_create,
    timerfd_settime,
};
use socket2::{Domain, InterfaceIndexOrAddress, Protocol, SockAddr, Socket, Type};
use tokio::io::unix::AsyncFd;

use crate::config::Config;
use crate::router::{Action, DropReason, RecvMeta, Router, Transmit};
use crate::wire::{self, Family, Ipv4Datagram};

/// The pair of raw sockets one virtual router uses on one interface.
#[derive(Debug)]
pub struct VrrpSocket {
    rx: AsyncFd<Socket>,
    tx: AsyncFd<Socket>,
    family: Family,
    ifindex: u32,
}

/// Sockets created but not yet registered with a runtime (they are `Send`,
/// so a namespace-switching thread can hand them over).
#[derive(Debug)]
struct RawPair {
    rx: Socket,
    tx: Socket,
    family: Family,
    ifindex: u32,
}

fn is_link_scoped(a: &Ipv6Addr) -> bool {
    // Multicast scopes 1 (interface-local) and 2 (link-local) need one too.
    a.is_unicast_link_local() || (a.is_multicast() && (a.segments()[0] & 0x000f) <= 2)
}

fn wrong_family(group: IpAddr) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("group {group} is not of the primary address's family"),
    )
}

fn register(sock: Socket) -> io::Result<AsyncFd<Socket>> {
    // SAFETY: the AsyncFd owns the Socket, whose fd stays open and the same
    // until the AsyncFd drops it.
    unsafe { AsyncFd::register(sock) }.map_err(|e| io::Error::other(e.to_string()))
}

impl RawPair {
    fn open(interface: &str, primary: IpAddr, group: Option<IpAddr>) -> io::Result<RawPair> {
        let ifindex = lvs_sys::ifindex(interface)?;
        let proto = Some(Protocol::from(i32::from(wire::PROTOCOL)));
        let family = Family::of(&primary);
        let domain = match family {
            Family::V4 => Domain::IPV4,
            Family::V6 => Domain::IPV6,
        };
        let rx = Socket::new(domain, Type::RAW, proto)?;
        let tx = Socket::new(domain, Type::RAW, proto)?;
        for s in [&rx, &tx] {
            s.bind_device(Some(interface.as_bytes()))?;
            s.set_nonblocking(true)?;
            s.set_cloexec(true)?;
        }
        lvs_sys::set_int_option(rx.as_fd(), libc::SOL_SOCKET, libc::SO_TIMESTAMPNS, 1)?;
        match primary {
            IpAddr::V4(addr) => {
                match group {
                    Some(IpAddr::V4(g)) => {
                        rx.join_multicast_v4_n(&g, &InterfaceIndexOrAddress::Index(ifindex))?
                    }
                    Some(IpAddr::V6(g)) => return Err(wrong_family(g.into())),
                    None => {}
                }
                rx.set_multicast_all_v4(false)?;
                tx.set_ttl_v4(u32::from(wire::TTL))?;
                tx.set_multicast_ttl_v4(u32::from(wire::TTL))?;
                tx.set_multicast_loop_v4(false)?;
                // By index as well: the address may be on another interface
                // than the one the socket is bound to (a `use_vmac` macvlan
                // sends from its base interface's address), which the
                // address-only form refuses.
                rustix::net::sockopt::set_ip_multicast_if_with_ifindex(
                    &tx,
                    &std::net::Ipv4Addr::UNSPECIFIED,
                    &addr,
                    ifindex,
                )?;
                // Internetwork control, as keepalived and routers send VRRP.
                tx.set_tos_v4(0xc0)?;
                tx.bind(&SockAddr::from(SocketAddrV4::new(addr, 0)))?;
            }
            IpAddr::V6(addr) => {
                match group {
                    Some(IpAddr::V6(g)) => rx.join_multicast_v6(&g, ifindex)?,
                    Some(IpAddr::V4(g)) => return Err(wrong_family(g.into())),
                    None => {}
                }
                rx.set_multicast_all_v6(false)?;
                rx.set_recv_hoplimit_v6(true)?;
                lvs_sys::set_int_option(rx.as_fd(), libc::IPPROTO_IPV6, libc::IPV6_RECVPKTINFO, 1)?;
                tx.set_multicast_hops_v6(u32::from(wire::TTL))?;
                tx.set_unicast_hops_v6(u32::from(wire::TTL))?;
                tx.set_multicast_loop_v6(false)?;
                tx.set_multicast_if_v6(ifindex)?;
                let scope = if is_link_scoped(&addr) { ifindex } else { 0 };
                tx.bind(&SockAddr::from(SocketAddrV6::new(addr, 0, 0, scope)))?;
            }
        }
        Ok(RawPair {
            rx,
            tx,
            family,
            ifindex,
        })
    }

    fn register(self) -> io::Result<VrrpSocket> {
        Ok(VrrpSocket {
            rx: register(self.rx)?,
            tx: register(self.tx)?,
            family: self.family,
            ifindex: self.ifindex,
        })
    }
}

impl VrrpSocket {
    /// Opens the sockets on `interface` of the current network namespace,
    /// sending from `primary` (for IPv6, the interface's link-local
    /// address) and joining the standard group (224.0.0.18 / ff02::12).
    /// Must be called inside a tokio runtime.
    pub fn open(interface: &str, primary: IpAddr) -> io::Result<VrrpSocket> {
        Self::open_with(
            interface,
            primary,
            Some(Family::of(&primary).multicast_group()),
        )
    }

    /// Opens the sockets a router with `config` needs on `interface`: its
    /// primary address as source, its [`Config::receive_group`] joined
    /// (none in unicast mode).
    pub fn open_for(interface: &str, config: &Config) -> io::Result<VrrpSocket> {
        Self::open_with(interface, config.primary_address, config.receive_group())
    }

    /// Like [`open`](Self::open) with an explicit group to join, or `None`
    /// to join none (unicast peers only).
    pub fn open_with(
        interface: &str,
        primary: IpAddr,
        group: Option<IpAddr>,
    ) -> io::Result<VrrpSocket> {
        RawPair::open(interface, primary, group)?.register()
    }

    /// Like [`open`](Self::open), but creates the sockets inside the network
    /// namespace `netns` (e.g. `File::open("/run/netns/NAME")?.as_fd()`) from
    /// a short-lived thread ([`lvs_sys::in_netns`]); the calling thread's
    /// namespace is untouched.
    pub fn open_in_netns(
        netns: BorrowedFd<'_>,
        interface: &str,
        primary: IpAddr,
    ) -> io::Result<VrrpSocket> {
        let group = Some(Family::of(&primary).multicast_group());
        Self::open_in_netns_with(netns, interface, primary, group)
    }

    /// [`open_for`](Self::open_for) inside the network namespace `netns`.
    pub fn open_for_in_netns(
        netns: BorrowedFd<'_>,
        interface: &str,
        config: &Config,
    ) -> io::Result<VrrpSocket> {
        Self::open_in_netns_with(
            netns,
            interface,
            config.primary_address,
            config.receive_group(),
        )
    }

    /// [`open_with`](Self::open_with) inside the network namespace `netns`.
    pub fn open_in_netns_with(
        netns: BorrowedFd<'_>,
        interface: &str,
        primary: IpAddr,
        group: Option<IpAddr>,
    ) -> io::Result<VrrpSocket> {
        lvs_sys::in_netns(netns, || RawPair::open(interface, primary, group))??.register()
    }

    /// Receives one VRRP message into `buf`; returns its metadata, the
    /// VRRP payload (a slice of `buf`) and when the kernel received it.
    /// Non-VRRP or truncated datagrams are skipped.
    ///
    /// The arrival instant comes from the kernel's receive timestamp
    /// (`SO_TIMESTAMPNS`), so a late wake-up of this task does not push the
    /// Backup's Master_Down_Timer back.
    pub async fn recv<'b>(&self, buf: &'b mut [u8]) -> io::Result<(RecvMeta, &'b [u8], Instant)> {
        loop {
            let mut guard = self.rx.readable().await?;
            let res = guard.try_io(|fd| recv_one(fd.get_ref(), self.family, buf));
            match res {
                Ok(Ok(Some(r))) => return Ok((r.meta, &buf[r.start..r.end], r.arrival)),
                Ok(Ok(None)) => continue,
                Ok(Err(e)) => return Err(e),
                Err(_would_block) => continue,
            }
        }
    }

    fn destination(&self, t: &Transmit) -> SockAddr {
        match t.destination {
            IpAddr::V4(a) => SockAddr::from(SocketAddrV4::new(a, 0)),
            IpAddr::V6(a) => {
                let scope = if is_link_scoped(&a) { self.ifindex } else { 0 };
                SockAddr::from(SocketAddrV6::new(a, 0, 0, scope))
            }
        }
    }

    /// Sends one advertisement, waiting for send-buffer space.
    pub async fn send(&self, t: &Transmit) -> io::Result<()> {
        let dst = self.destination(t);
        loop {
            let mut guard = self.tx.writable().await?;
            match guard.try_io(|fd| fd.get_ref().send_to(&t.payload, &dst)) {
                Ok(r) => return r.map(|_| ()),
                Err(_would_block) => continue,
            }
        }
    }

    /// Sends one advertisement now, without waiting: for callers that run
    /// several routers in one synchronous step. A full send buffer is an
    /// [`io::ErrorKind::WouldBlock`] error (an advert lost, as on the wire).
    pub fn try_send(&self, t: &Transmit) -> io::Result<()> {
        self.tx
            .get_ref()
            .send_to(&t.payload, &self.destination(t))
            .map(|_| ())
    }
}

/// A one-shot timer on a `timerfd` of `CLOCK_MONOTONIC` (the clock behind
/// [`Instant`] on Linux), registered with tokio. It wakes within
/// microseconds of its deadline; tokio's own timer rounds up to its
/// millisecond tick.
#[derive(Debug)]
pub struct Timer {
    fd: AsyncFd<OwnedFd>,
}

impl Timer {
    /// A disarmed timer. Must be called inside a tokio runtime.
    pub fn new() -> io::Result<Timer> {
        let fd = timerfd_create(
            TimerfdClockId::Monotonic,
            TimerfdFlags::NONBLOCK | TimerfdFlags::CLOEXEC,
        )?;
        // SAFETY: the AsyncFd owns the OwnedFd, whose descriptor stays open
        // and the same until the AsyncFd drops it.
        let fd = unsafe { AsyncFd::register_with_interest(fd, tokio::io::Interest::READABLE) }
            .map_err(|e| io::Error::other(e.to_string()))?;
        Ok(Timer { fd })
    }

    /// Arms the timer `after` from now (at least 1 ns: zero would disarm it).
    fn arm(&self, after: Duration) -> io::Result<()> {
        let after = after.max(Duration::from_nanos(1));
        let spec = Itimerspec {
            it_interval: Timespec {
                tv_sec: 0,
                tv_nsec: 0,
            },
            it_value: Timespec {
                tv_sec: i64::try_from(after.as_secs()).unwrap_or(i64::MAX),
                tv_nsec: i64::from(after.subsec_nanos()),
            },
        };
        timerfd_settime(self.fd.get_ref(), TimerfdTimerFlags::empty(), &spec)?;
        Ok(())
    }

    /// Waits until `deadline` (returns at once if it has passed).
    /// Cancel-safe: the next call re-arms the timer, and re-arming clears
    /// an expiry nobody read.
    pub async fn sleep_until(&mut self, deadline: Instant) -> io::Result<()> {
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Ok(());
            }
            self.arm(left)?;
            let mut guard = self.fd.readable().await?;
            let mut expirations = [0u8; 8];
            let read = guard.try_io(|fd| {
                rustix::io::read(fd.get_ref(), &mut expirations)
                    .map(|_| ())
                    .map_err(io::Error::from)
            });
            if let Ok(Err(e)) = read {
                return Err(e);
            }
            // Expired, or a stale readiness (WouldBlock, now cleared): the
            // loop checks the clock either way.
        }
    }
}

struct Received {
    meta: RecvMeta,
    start: usize,
    end: usize,
    arrival: Instant,
}

/// An `int` from control-message bytes.
fn int_from(data: &[u8]) -> Option<libc::c_int> {
    Some(libc::c_int::from_ne_bytes(data.get(..4)?.try_into().ok()?))
}

/// One `recvmsg`: IPv4 raw sockets deliver the IP header (TTL and addresses
/// come from it); IPv6 raw sockets deliver the payload only (hop limit and
/// destination come from ancillary data). Both carry a receive timestamp.
fn recv_one(sock: &Socket, family: Family, buf: &mut [u8]) -> io::Result<Option<Received>> {
    let mut control = [0u8; 256];
    let r = lvs_sys::recv_msg(sock.as_fd(), buf, &mut control, 0)?;
    let n = r.len;
    let mut hop_limit = None;
    let mut destination = None;
    let mut stamp = None;
    for c in lvs_sys::cmsgs(&control[..r.control_len]) {
        match (c.level, c.ty) {
            (libc::SOL_SOCKET, libc::SCM_TIMESTAMPNS) => stamp = lvs_sys::timespec_from(c.data),
            (libc::IPPROTO_IPV6, libc::IPV6_HOPLIMIT) => {
                hop_limit = int_from(c.data).and_then(|v| u8::try_from(v).ok());
            }
            (libc::IPPROTO_IPV6, libc::IPV6_PKTINFO) => {
                // struct in6_pktinfo { struct in6_addr ipi6_addr; int ipi6_ifindex; }
                destination = c
                    .data
                    .get(..16)
                    .and_then(|a| <[u8; 16]>::try_from(a).ok())
                    .map(Ipv6Addr::from);
            }
            _ => {}
        }
    }
    let arrival = lvs_sys::arrival_instant(stamp);
    match family {
        Family::V4 => {
            let data = &buf[..n];
            let Some(ip) = Ipv4Datagram::parse(data) else {
                return Ok(None);
            };
            if ip.protocol != wire::PROTOCOL {
                return Ok(None);
            }
            let start = ip.payload.as_ptr() as usize - data.as_ptr() as usize;
            Ok(Some(Received {
                meta: RecvMeta {
                    source: IpAddr::V4(ip.source),
                    destination: IpAddr::V4(ip.destination),
                    hop_limit: ip.ttl,
                },
                start,
                end: start + ip.payload.len(),
                arrival,
            }))
        }
        Family::V6 => {
            let (Some(hop_limit), Some(destination)) = (hop_limit, destination) else {
                return Ok(None);
            };
            let Some(std::net::SocketAddr::V6(src)) = r.from else {
                return Ok(None);
            };
            Ok(Some(Received {
                meta: RecvMeta {
                    source: IpAddr::V6(*src.ip()),
                    destination: IpAddr::V6(destination),
                    hop_limit,
                },
                start: 0,
                end: n,
                arrival,
            }))
        }
    }
}

/// A [`Router`] on a [`VrrpSocket`]: transmits advertisements itself and
/// returns every other [`Action`] to the caller, which applies addresses,
/// announcements and logs. The driver reads the clock; the router does not.
///
/// # The interface going down
///
/// Call [`watch_link`](Self::watch_link) (or
/// [`watch_link_in_netns`](Self::watch_link_in_netns)) once to have the
/// driver follow its interface over rtnetlink, as keepalived does: when the
/// interface is administratively down, has no carrier or is deleted, the
/// driver raises [`FaultReason::LinkDown`](crate::FaultReason::LinkDown)
/// on the router (a Master resigns: [`Action::RemoveAddresses`], then
/// [`Action::StateChanged`] to [`State::Fault`](crate::State::Fault)); when
/// it is back, the driver clears it (Backup, then Master if no one else
/// advertises). Without the watch, nothing tells the router, which stays
/// Master holding its addresses on a dead link; callers can still report
/// the link themselves with [`Router::set_fault`] through
/// [`router_mut`](Self::router_mut). A deleted interface keeps the router
/// in Fault for good: its sockets went with it, so a recreated interface
/// needs a new driver.
///
/// # Errors
///
/// A failure on the wire never ends [`next_action`](Self::next_action):
///
/// * a failed send (`ENETUNREACH` / `ENETDOWN` while the link is down, a
///   full buffer, an ICMP error reported on the socket) loses that one
///   advertisement, as the wire would; it is counted in
///   [`send_errors`](Self::send_errors) and the driver goes on;
/// * a failed receive is counted in [`receive_errors`](Self::receive_errors)
///   and the driver goes on;
/// * a received packet the router rejects is counted in
///   [`drops`](Self::drops).
///
/// `next_action` returns an error only when the driver's own machinery
/// fails: its [`Timer`] (`timerfd`), the tokio registration of a socket,
/// or the link watch's rtnetlink socket (other than a notification overrun,
/// after which it asks for the link state afresh). Those mean the host is
/// out of resources; the router's state is unchanged, and calling
/// `next_action` again retries.
///
/// # Example
///
/// ```no_run
/// use std::net::{IpAddr, Ipv4Addr};
/// use lvs_vrrp::driver::{Driver, VrrpSocket};
/// use lvs_vrrp::{Action, AdvertInterval, Config, Router, Seconds};
///
/// # async fn run() -> std::io::Result<()> {
/// let primary: IpAddr = Ipv4Addr::new(172, 20, 0, 81).into();
/// let vip: IpAddr = Ipv4Addr::new(172, 20, 0, 83).into();
/// let cfg = Config::new(1, 100, AdvertInterval::V2(Seconds(1)), primary, vec![vip]);
/// let socket = VrrpSocket::open_for("ens18", &cfg)?;
/// let mut driver = Driver::new(Router::new(cfg).map_err(std::io::Error::other)?, socket)?;
/// // Link down or no carrier: Fault, and the addresses are given up.
/// driver.watch_link()?;
/// driver.start();
/// loop {
///     match driver.next_action().await? {
///         // Prefix, label and device of each VIP are the caller's.
///         Action::AddAddresses { addresses, .. } => { /* ip addr add */ }
///         Action::RemoveAddresses { addresses, .. } => { /* ip addr del */ }
///         // One burst, sent once: lvs-arpguard's
///         // announce_with(addr, a.count, a.interval, a.mac.map(MacAddr), now).
///         Action::Announce(a) => {}
///         Action::StateChanged { from, to, reason } => {
///             println!("{from} -> {to}: {reason}");
///         }
///         _ => {}
///     }
/// }
/// # }
/// ```
#[derive(Debug)]
pub struct Driver {
    router: Router,
    socket: VrrpSocket,
    timer: Timer,
    buf: Vec<u8>,
    last_drop: Option<DropReason>,
    send_errors: u64,
    last_send_error: Option<io::Error>,
    receive_errors: u64,
    last_receive_error: Option<io::Error>,
    link: Option<link::LinkWatch>,
    link_up: Option<bool>,
    pending: VecDeque<Action>,
}

impl Driver {
    /// Wraps a router (not yet started) and its socket. Must be called
    /// inside a tokio runtime (it creates the driver's [`Timer`]).
    pub fn new(router: Router, socket: VrrpSocket) -> io::Result<Driver> {
        Ok(Driver {
            router,
            socket,
            timer: Timer::new()?,
            buf: vec![0u8; 65_536],
            last_drop: None,
            send_errors: 0,
            last_send_error: None,
            receive_errors: 0,
            last_receive_error: None,
            link: None,
            link_up: None,
            pending: VecDeque::new(),
        })
    }

    /// Follows the socket's interface in the current network namespace:
    /// link down or no carrier is a
    /// [`FaultReason::LinkDown`](crate::FaultReason::LinkDown) fault, raised
    /// and cleared by the driver (see [the type's documentation](Self)).
    /// Applies the link's state right away, so calling it before
    /// [`start`](Self::start) makes a router on a dead link start in Fault.
    /// Must be called inside a tokio runtime.
    pub fn watch_link(&mut self) -> io::Result<()> {
        let (watch, up) = link::LinkWatch::open(self.socket.ifindex)?;
        self.set_link(watch, up);
        Ok(())
    }

    /// [`watch_link`](Self::watch_link) for a socket opened in another
    /// network namespace (e.g. with [`VrrpSocket::open_for_in_netns`]):
    /// `netns` must be the namespace the interface lives in.
    pub fn watch_link_in_netns(&mut self, netns: BorrowedFd<'_>) -> io::Result<()> {
        let (watch, up) = link::LinkWatch::open_in_netns(netns, self.socket.ifindex)?;
        self.set_link(watch, up);
        Ok(())
    }

    fn set_link(&mut self, watch: link::LinkWatch, up: bool) {
        self.link = Some(watch);
        self.link_changed(up);
    }

    fn link_changed(&mut self, up: bool) {
        if self.link_up == Some(up) {
            return;
        }
        self.link_up = Some(up);
        self.router
            .set_fault(Instant::now(), crate::router::FaultReason::LinkDown, !up);
    }

    /// Whether the watched interface is up with carrier; `None` without
    /// [`watch_link`](Self::watch_link).
    pub fn link_up(&self) -> Option<bool> {
        self.link_up
    }

    /// The router.
    pub fn router(&self) -> &Router {
        &self.router
    }

    /// The router, to report tracks and faults (their actions come out of
    /// the next [`next_action`](Self::next_action)).
    pub fn router_mut(&mut self) -> &mut Router {
        &mut self.router
    }

    /// Received packets dropped so far, and the last reason (the counts by
    /// kind are the router's: [`Router::drops`]).
    pub fn drops(&self) -> (u64, Option<&DropReason>) {
        (self.router.drops().total(), self.last_drop.as_ref())
    }

    /// Advertisements that could not be sent so far, and the last error.
    pub fn send_errors(&self) -> (u64, Option<&io::Error>) {
        (self.send_errors, self.last_send_error.as_ref())
    }

    /// Receive calls that failed so far, and the last error.
    pub fn receive_errors(&self) -> (u64, Option<&io::Error>) {
        (self.receive_errors, self.last_receive_error.as_ref())
    }

    /// Starts the router now.
    pub fn start(&mut self) {
        self.router.start(Instant::now());
    }

    /// Sends one advertisement; a failure is counted, never returned.
    async fn transmit(&mut self, t: &Transmit) {
        if let Err(e) = self.socket.send(t).await {
            self.send_errors += 1;
            self.last_send_error = Some(e);
        }
    }

    /// Runs the protocol until the router has something for the caller.
    /// Cancel-safe between packets: dropping the future loses no action.
    /// See [the type's documentation](Self) for which errors end it.
    pub async fn next_action(&mut self) -> io::Result<Action> {
        loop {
            if let Some(a) = self.pending.pop_front() {
                return Ok(a);
            }
            while let Some(a) = self.router.poll_action() {
                match a {
                    Action::Transmit(t) => self.transmit(&t).await,
                    other => self.pending.push_back(other),
                }
            }
            if !self.pending.is_empty() {
                continue;
            }
            let deadline = self.router.poll_timeout();
            let timer = &mut self.timer;
            let sleep = async move {
                match deadline {
                    Some(d) => timer.sleep_until(d).await,
                    None => std::future::pending().await,
                }
            };
            let link = self.link.as_mut();
            let link_change = async move {
                match link {
                    Some(w) => w.changed().await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                r = self.socket.recv(&mut self.buf) => match r {
                    Ok((meta, payload, arrival)) => {
                        if let Err(e) = self.router.handle_packet(arrival, &meta, payload) {
                            self.last_drop = Some(e);
                        }
                    }
                    Err(e) => {
                        self.receive_errors += 1;
                        self.last_receive_error = Some(e);
                    }
                },
                r = sleep => {
                    r?;
                    self.router.handle_timeout(Instant::now());
                }
                r = link_change => self.link_changed(r?),
            }
        }
    }

    /// Resigns (priority-0 advertisement if Master) and returns the
    /// remaining actions (address removal, state change) for the caller.
    /// A failed send of the resignation is counted in
    /// [`send_errors`](Self::send_errors): the peers then take over after
    /// Master_Down_Interval instead of Skew_Time.
    pub async fn shutdown(&mut self) -> Vec<Action> {
        self.router.shutdown(Instant::now());
        let mut rest: Vec<Action> = self.pending.drain(..).collect();
        while let Some(a) = self.router.poll_action() {
            match a {
                Action::Transmit(t) => self.transmit(&t).await,
                other => rest.push(other),
            }
        }
        rest
    }
}

mod link;
