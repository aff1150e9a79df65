//! [`IpvsHandle`]: a blocking connection to the kernel's IPVS family.
//!
//! Netlink sockets are opened close-on-exec once per handle and kept for its
//! life (ipvsadm opens one per request, which is what makes it slow at
//! scale): one for requests and per-service destination dumps, read with a
//! page-sized buffer — the kernel sizes dump datagrams to the reader's
//! buffer, and small ones are much cheaper for the many tiny destination
//! dumps — and one for the service dump, read with 32 KiB buffers so 10,000
//! services come in few datagrams. The family id is resolved on first use, and again when a
//! request fails with `ENOENT` — what the kernel answers for a family id
//! that no longer exists (ip_vs reloaded) — or while IPVS is still missing.

use crate::batch::{Op, OpKind, scheduler_of};
use crate::direct::top_level;
use crate::error::Error;
use crate::message::{IpvsCmd, IpvsMessage};
use crate::nla::{CmdAttr, InfoAttr};
use crate::types::{
    DestinationEntry, Info, ServiceEntry, ServiceKey, SyncDaemon, SyncState, Timeouts,
    VirtualServerEntry,
};
use netlink_packet_core::{Emitable, NlasIterator, ParseableParametrized};
use netlink_packet_generic::GenlHeader;
use netlink_sys::{Socket, protocols::NETLINK_GENERIC};
use std::io;
use std::os::fd::BorrowedFd;
use std::time::Duration;

const NLMSG_HDRLEN: usize = 16;
const GENL_HDRLEN: usize = 4;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLMSG_OVERRUN: u16 = 4;
const NLM_F_REQUEST: u16 = 0x01;
const NLM_F_MULTI: u16 = 0x02;
const NLM_F_ACK: u16 = 0x04;
const NLM_F_DUMP_INTR: u16 = 0x10;
const NLM_F_DUMP: u16 = 0x300;
const GENL_ID_CTRL: u16 = 0x10;
const SERVICE_ATTR: u16 = 1;
const DEST_ATTR: u16 = 2;
const CTRL_CMD_GETFAMILY: u8 = 3;
const CTRL_ATTR_FAMILY_ID: u16 = 1;
const CTRL_ATTR_FAMILY_NAME: u16 = 2;
/// The largest dump datagram the kernel builds (it sizes them to the
/// receiver's buffer, capped at 32 KiB).
const RECV_BUF: usize = 32 * 1024;
/// Dumps interrupted by concurrent changes are restarted this many times.
const DUMP_RETRIES: usize = 16;

/// A blocking handle on IPVS.
///
/// ```no_run
/// use lvs_ipvs::{Destination, ForwardMethod, IpvsHandle, Scheduler, Service, ServiceKey};
/// let mut ipvs = IpvsHandle::open()?;
/// let key = ServiceKey::tcp("172.20.0.83:80".parse().unwrap());
/// ipvs.add_service(&Service::new(key, Scheduler::RoundRobin))?;
/// ipvs.add_destination(&key, &Destination::new("172.20.0.85:80".parse().unwrap(), ForwardMethod::DirectRoute))?;
/// for vs in ipvs.table()? {
///     println!("{} {} dests", vs.service.service.key, vs.destinations.len());
/// }
/// # Ok::<(), lvs_ipvs::Error>(())
/// ```
#[derive(Debug)]
pub struct IpvsHandle {
    sock: Socket,
    bulk: Socket,
    small_recv: usize,
    family: Option<u16>,
    seq: u32,
    writes: u64,
    buf: Vec<u8>,
    out: Vec<u8>,
}

/// One decoded reply datagram entry.
pub(crate) enum Reply {
    Message { seq: u32, msg: IpvsMessage },
    Ack { seq: u32, errno: i32 },
    Done,
}

impl IpvsHandle {
    /// Opens a handle in the caller's network namespace.
    ///
    /// This only opens netlink sockets: it succeeds on a kernel without the
    /// `ip_vs` module, and every request then fails with
    /// [`Error::IpvsUnavailable`]. Ask [`IpvsHandle::is_available`] to know
    /// up front. (Opening stays cheap and lazy on purpose: a daemon may start
    /// before `ip_vs` is loaded, and the handle picks the family up on its
    /// next request once it is.)
    pub fn open() -> Result<IpvsHandle, Error> {
        let sock = Socket::new(NETLINK_GENERIC)?;
        let bulk = Socket::new(NETLINK_GENERIC)?;
        IpvsHandle::with_sockets(sock, bulk)
    }

    /// Opens a handle inside the network namespace `netns`, e.g.
    /// `File::open("/run/netns/NAME")?.as_fd()` or `/proc/PID/ns/net`. The
    /// sockets are created on a short-lived thread that joined the
    /// namespace (see [`lvs_sys::in_netns`]), so the caller's thread stays
    /// where it was; the handle keeps talking to that namespace. Like
    /// [`IpvsHandle::open`], it succeeds without `ip_vs`.
    pub fn open_in_netns(netns: BorrowedFd<'_>) -> Result<IpvsHandle, Error> {
        let (sock, bulk) = lvs_sys::in_netns(netns, || -> io::Result<(Socket, Socket)> {
            Ok((Socket::new(NETLINK_GENERIC)?, Socket::new(NETLINK_GENERIC)?))
        })
        .map_err(Error::Netns)??;
        IpvsHandle::with_sockets(sock, bulk)
    }

    /// Whether the kernel has IPVS in this handle's namespace, i.e. the
    /// `ip_vs` module is loaded. Resolves (and caches) the family id; `false`
    /// when that fails for any reason, [`Error::IpvsUnavailable`] above all.
    /// A `false` handle stays usable: it asks again on its next request.
    pub fn is_available(&mut self) -> bool {
        self.family_id().is_ok()
    }

    fn with_sockets(sock: Socket, mut bulk: Socket) -> Result<IpvsHandle, Error> {
        bulk.bind_auto()?;
        // Error ACKs without the echoed request: batches stay small.
        let _ = bulk.set_cap_ack(true);
        let sock = IpvsHandle::setup_socket(sock)?;
        // Replies never exceed max(page-sized NLMSG_GOODSIZE, our buffer).
        let small_recv = rustix::param::page_size().clamp(4096, RECV_BUF);
        Ok(IpvsHandle {
            sock,
            bulk,
            small_recv,
            family: None,
            seq: 1,
            writes: 0,
            buf: vec![0; RECV_BUF],
            out: Vec::with_capacity(64 * 1024),
        })
    }

    fn setup_socket(mut sock: Socket) -> Result<Socket, Error> {
        sock.bind_auto()?;
        let _ = sock.set_cap_ack(true);
        // Room for many ACKs in flight; FORCE needs CAP_NET_ADMIN, which
        // every write needs anyway. Best effort: the defaults still work.
        use rustix::net::sockopt;
        let size = 8 << 20;
        if sockopt::set_socket_recv_buffer_size_force(&sock, size).is_err() {
            let _ = sockopt::set_socket_recv_buffer_size(&sock, size);
        }
        if sockopt::set_socket_send_buffer_size_force(&sock, 1 << 20).is_err() {
            let _ = sockopt::set_socket_send_buffer_size(&sock, 1 << 20);
        }
        Ok(sock)
    }

    /// How many write requests (add/edit/delete/zero/flush/daemon/config)
    /// this handle has sent. A reconcile of an already matching table leaves
    /// it unchanged.
    pub fn write_requests(&self) -> u64 {
        self.writes
    }

    /// The IPVS family id, resolving it if needed.
    ///
    /// Fails with [`Error::IpvsUnavailable`] when the kernel has no `ip_vs`.
    pub fn family_id(&mut self) -> Result<u16, Error> {
        match self.family {
            Some(id) => Ok(id),
            None => {
                let id = self.resolve_family()?;
                self.family = Some(id);
                Ok(id)
            }
        }
    }

    /// Replaces the cached family id, as if `ip_vs` had been reloaded since
    /// it was resolved. Only for tests of the re-resolution path.
    #[doc(hidden)]
    pub fn set_stale_family_id_for_tests(&mut self, id: u16) {
        self.family = Some(id);
    }

    /// Asks the generic netlink controller for the IPVS family id.
    fn resolve_family(&mut self) -> Result<u16, Error> {
        let seq = self.next_seq();
        let name = b"IPVS\0";
        let mut msg = Vec::with_capacity(32);
        let len = NLMSG_HDRLEN + GENL_HDRLEN + 4 + 8;
        push_nlmsghdr(&mut msg, len, GENL_ID_CTRL, NLM_F_REQUEST | NLM_F_ACK, seq);
        msg.extend_from_slice(&[CTRL_CMD_GETFAMILY, 1, 0, 0]);
        msg.extend_from_slice(&((4 + name.len()) as u16).to_ne_bytes());
        msg.extend_from_slice(&CTRL_ATTR_FAMILY_NAME.to_ne_bytes());
        msg.extend_from_slice(name);
        msg.resize(len, 0);
        self.sock.send(&msg, 0)?;
        let mut id = None;
        loop {
            let n = self.recv()?;
            let mut off = 0;
            while let Some((ty, flags, mseq, payload, next)) = next_msg(&self.buf[..n], off)? {
                off = next;
                let _ = flags;
                if mseq != seq {
                    continue;
                }
                match ty {
                    NLMSG_ERROR => {
                        let errno = ack_errno(payload)?;
                        return match (errno, id) {
                            (0, Some(id)) => Ok(id),
                            (0, None) => Err(Error::decode("controller reply without family id")),
                            (libc::ENOENT, _) => Err(Error::unavailable()),
                            (e, _) => Err(Error::Kernel {
                                op: "resolve the IPVS family",
                                errno: e,
                                source: io::Error::from_raw_os_error(e),
                            }),
                        };
                    }
                    GENL_ID_CTRL => {
                        let attrs = payload
                            .get(GENL_HDRLEN..)
                            .ok_or_else(|| Error::decode("short controller reply"))?;
                        for nla in NlasIterator::new(attrs) {
                            let nla = nla?;
                            if nla.kind() == CTRL_ATTR_FAMILY_ID && nla.value().len() >= 2 {
                                id = Some(u16::from_ne_bytes([nla.value()[0], nla.value()[1]]));
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
    }

    pub(crate) fn next_seq(&mut self) -> u32 {
        self.seq = self.seq.wrapping_add(1).max(1);
        self.seq
    }

    /// Receives one datagram into `self.buf`, returning its length.
    pub(crate) fn recv(&mut self) -> Result<usize, Error> {
        self.recv_on(false)
    }

    fn recv_on(&mut self, bulk: bool) -> Result<usize, Error> {
        let (sock, len) = if bulk {
            (&self.bulk, self.buf.len())
        } else {
            (&self.sock, self.small_recv)
        };
        loop {
            // TRUNC: the datagram's real length, to tell a truncated one.
            let n = match rustix::net::recv(
                sock,
                &mut self.buf[..len],
                rustix::net::RecvFlags::TRUNC,
            ) {
                Ok((_, n)) => n,
                Err(rustix::io::Errno::INTR) => continue,
                Err(e) => return Err(io::Error::from(e).into()),
            };
            if n > len {
                return Err(Error::decode(format!(
                    "netlink datagram of {n} bytes truncated to {len}"
                )));
            }
            return Ok(n);
        }
    }

    /// Appends one request to `self.out`.
    pub(crate) fn encode(&mut self, family: u16, flags: u16, seq: u32, msg: &IpvsMessage) {
        let len = NLMSG_HDRLEN + GENL_HDRLEN + msg.buffer_len();
        let start = self.out.len();
        push_nlmsghdr(&mut self.out, len, family, flags, seq);
        self.out.extend_from_slice(&[u8::from(msg.cmd), 1, 0, 0]);
        self.out.resize(start + len, 0);
        msg.emit(&mut self.out[start + NLMSG_HDRLEN + GENL_HDRLEN..]);
        if msg.cmd.is_write() {
            self.writes += 1;
        }
    }

    pub(crate) fn out_len(&self) -> usize {
        self.out.len()
    }

    /// Appends one operation's request to `self.out`; on error (invalid
    /// argument) nothing is appended.
    pub(crate) fn encode_op(
        &mut self,
        family: u16,
        flags: u16,
        seq: u32,
        op: &Op,
    ) -> Result<(), Error> {
        let start = self.out.len();
        push_nlmsghdr(&mut self.out, 0, family, flags, seq);
        if let Err(e) = op.emit_payload(&mut self.out) {
            self.out.truncate(start);
            return Err(e);
        }
        let len = (self.out.len() - start) as u32;
        self.out[start..start + 4].copy_from_slice(&len.to_ne_bytes());
        self.writes += 1;
        Ok(())
    }

    /// ORs `flags` into the header of the request encoded at `offset`.
    pub(crate) fn add_out_flags(&mut self, offset: usize, flags: u16) {
        let f = &mut self.out[offset + 6..offset + 8];
        let v = u16::from_ne_bytes([f[0], f[1]]) | flags;
        f.copy_from_slice(&v.to_ne_bytes());
    }

    pub(crate) fn send_out(&mut self) -> Result<(), Error> {
        self.send_out_on(false)
    }

    fn send_out_on(&mut self, bulk: bool) -> Result<(), Error> {
        let sock = if bulk { &self.bulk } else { &self.sock };
        // One datagram: netlink sends it whole or fails.
        sock.send(&self.out, 0)?;
        self.out.clear();
        Ok(())
    }

    /// Decodes every message of the datagram in `self.buf[..n]`.
    pub(crate) fn decode(&self, n: usize, into: &mut Vec<Reply>) -> Result<(), Error> {
        decode_datagram(&self.buf[..n], into)
    }

    /// Sends `msg` with an ACK request and waits for the ACK; returns any
    /// reply messages that came before it.
    pub(crate) fn request(
        &mut self,
        kind: OpKind,
        msg: &IpvsMessage,
    ) -> Result<Vec<IpvsMessage>, Error> {
        let mut retried = false;
        loop {
            let family = self.family_id()?;
            let seq = self.next_seq();
            self.encode(family, NLM_F_REQUEST | NLM_F_ACK, seq, msg);
            self.send_out()?;
            let mut replies = Vec::new();
            let errno = 'wait: loop {
                let n = self.recv()?;
                let mut decoded = Vec::new();
                self.decode(n, &mut decoded)?;
                for r in decoded {
                    match r {
                        Reply::Message { seq: s, msg, .. } if s == seq => replies.push(msg),
                        Reply::Ack { seq: s, errno } if s == seq => break 'wait errno,
                        _ => {}
                    }
                }
            };
            if errno == 0 {
                return Ok(replies);
            }
            if errno == libc::ENOENT && !retried && self.family_changed()? {
                retried = true;
                continue;
            }
            return Err(kind.error(errno, &scheduler_of(msg)));
        }
    }

    /// Whether the family id is no longer the cached one (re-resolving it).
    pub(crate) fn family_changed(&mut self) -> Result<bool, Error> {
        let old = self.family.take();
        let new = self.resolve_family();
        match new {
            Ok(id) => {
                self.family = Some(id);
                Ok(Some(id) != old)
            }
            Err(e) => Err(e),
        }
    }

    /// Runs a dump, restarting it when the kernel flags it interrupted.
    pub(crate) fn dump(
        &mut self,
        kind: OpKind,
        msg: &IpvsMessage,
    ) -> Result<Vec<IpvsMessage>, Error> {
        let payload = generic_payload(msg);
        self.dump_with(kind, &payload, false, |cmd, attrs| {
            let header = GenlHeader { cmd, version: 1 };
            Ok(Some(IpvsMessage::parse_with_param(attrs, header)?))
        })
    }

    /// Runs a dump, handing each reply's command and attribute bytes to
    /// `parse` straight from the receive buffer; restarts the dump (dropping
    /// what was parsed) when the kernel flags it interrupted.
    pub(crate) fn dump_with<T>(
        &mut self,
        kind: OpKind,
        payload: &[u8],
        bulk: bool,
        mut parse: impl FnMut(u8, &[u8]) -> Result<Option<T>, Error>,
    ) -> Result<Vec<T>, Error> {
        let mut retried_family = false;
        let mut attempts = 0;
        loop {
            let family = self.family_id()?;
            let seq = self.next_seq();
            push_nlmsghdr(
                &mut self.out,
                NLMSG_HDRLEN + payload.len(),
                family,
                NLM_F_REQUEST | NLM_F_DUMP,
                seq,
            );
            self.out.extend_from_slice(payload);
            self.send_out_on(bulk)?;
            let mut out = Vec::new();
            let mut interrupted = false;
            let result = 'wait: loop {
                let n = self.recv_on(bulk)?;
                let mut off = 0;
                while let Some((ty, flags, mseq, payload, next)) = next_msg(&self.buf[..n], off)? {
                    off = next;
                    if mseq != seq {
                        continue;
                    }
                    interrupted |= flags & NLM_F_DUMP_INTR != 0;
                    match ty {
                        NLMSG_DONE => break 'wait 0,
                        NLMSG_ERROR => {
                            let errno = ack_errno(payload)?;
                            if errno != 0 {
                                break 'wait errno;
                            }
                        }
                        NLMSG_OVERRUN => return Err(Error::decode("netlink overrun")),
                        t if t < 0x10 => {}
                        _ => {
                            if payload.len() < GENL_HDRLEN {
                                return Err(Error::decode("short generic netlink message"));
                            }
                            if let Some(v) = parse(payload[0], &payload[GENL_HDRLEN..])? {
                                out.push(v);
                            }
                        }
                    }
                }
            };
            match result {
                0 if interrupted && attempts < DUMP_RETRIES => attempts += 1,
                0 if interrupted => {
                    return Err(Error::Kernel {
                        op: kind.name(),
                        errno: libc::EINTR,
                        source: io::Error::other("dump kept being interrupted by changes"),
                    });
                }
                0 => return Ok(out),
                libc::ENOENT if !retried_family && self.family_changed()? => retried_family = true,
                errno => return Err(kind.error(errno, "")),
            }
        }
    }

    /// Adds a service.
    ///
    /// Fails with [`Error::IpvsUnavailable`] when the kernel has no `ip_vs`.
    pub fn add_service(&mut self, service: &crate::Service) -> Result<(), Error> {
        self.run(&Op::AddService(service.clone()))
    }
    /// Changes a service's scheduler, flags or persistence.
    ///
    /// Fails with [`Error::IpvsUnavailable`] when the kernel has no `ip_vs`.
    pub fn edit_service(&mut self, service: &crate::Service) -> Result<(), Error> {
        self.run(&Op::EditService(service.clone()))
    }
    /// Deletes a service and its destinations.
    ///
    /// Fails with [`Error::IpvsUnavailable`] when the kernel has no `ip_vs`.
    pub fn delete_service(&mut self, key: &ServiceKey) -> Result<(), Error> {
        self.run(&Op::DeleteService(*key))
    }
    /// Adds a destination to a service.
    ///
    /// Fails with [`Error::IpvsUnavailable`] when the kernel has no `ip_vs`.
    pub fn add_destination(
        &mut self,
        key: &ServiceKey,
        dest: &crate::Destination,
    ) -> Result<(), Error> {
        self.run(&Op::AddDestination(*key, *dest))
    }
    /// Changes a destination (matched by address and port).
    ///
    /// Fails with [`Error::IpvsUnavailable`] when the kernel has no `ip_vs`.
    pub fn edit_destination(
        &mut self,
        key: &ServiceKey,
        dest: &crate::Destination,
    ) -> Result<(), Error> {
        self.run(&Op::EditDestination(*key, *dest))
    }
    /// Deletes a destination.
    ///
    /// Fails with [`Error::IpvsUnavailable`] when the kernel has no `ip_vs`.
    pub fn delete_destination(
        &mut self,
        key: &ServiceKey,
        addr: std::net::SocketAddr,
    ) -> Result<(), Error> {
        self.run(&Op::DeleteDestination(*key, addr))
    }
    /// Zeroes the counters of one service, or of all when `key` is `None`.
    ///
    /// Fails with [`Error::IpvsUnavailable`] when the kernel has no `ip_vs`.
    pub fn zero(&mut self, key: Option<&ServiceKey>) -> Result<(), Error> {
        self.run(&Op::Zero(key.copied()))
    }
    /// Deletes every service.
    ///
    /// Fails with [`Error::IpvsUnavailable`] when the kernel has no `ip_vs`.
    pub fn flush(&mut self) -> Result<(), Error> {
        self.run(&Op::Flush)
    }
    /// Starts a sync daemon.
    ///
    /// Fails with [`Error::IpvsUnavailable`] when the kernel has no `ip_vs`.
    pub fn start_daemon(&mut self, daemon: &SyncDaemon) -> Result<(), Error> {
        self.run(&Op::StartDaemon(daemon.clone()))
    }
    /// Stops the sync daemon in `state`.
    ///
    /// Fails with [`Error::IpvsUnavailable`] when the kernel has no `ip_vs`.
    pub fn stop_daemon(&mut self, state: SyncState) -> Result<(), Error> {
        self.run(&Op::StopDaemon(state))
    }
    /// Sets timeouts; zero fields are left unchanged.
    ///
    /// Fails with [`Error::IpvsUnavailable`] when the kernel has no `ip_vs`.
    pub fn set_timeouts(&mut self, timeouts: &Timeouts) -> Result<(), Error> {
        self.run(&Op::SetTimeouts(*timeouts))
    }

    /// Runs one operation.
    ///
    /// Fails with [`Error::IpvsUnavailable`] when the kernel has no `ip_vs`.
    pub fn run(&mut self, op: &Op) -> Result<(), Error> {
        self.apply(std::slice::from_ref(op))?
            .pop()
            .unwrap_or_else(|| Err(Error::decode("no result for the request")))
    }

    /// Sends a hand-built request and waits for its ACK, returning the
    /// replies; errors are mapped as for the command's typed method.
    ///
    /// Fails with [`Error::IpvsUnavailable`] when the kernel has no `ip_vs`.
    pub fn send_raw(&mut self, msg: &IpvsMessage) -> Result<Vec<IpvsMessage>, Error> {
        self.request(OpKind::of(msg.cmd), msg)
    }

    /// Lists every service (one dump).
    ///
    /// Fails with [`Error::IpvsUnavailable`] when the kernel has no `ip_vs`.
    pub fn services(&mut self) -> Result<Vec<ServiceEntry>, Error> {
        let payload = [u8::from(IpvsCmd::GetService), 1, 0, 0];
        self.dump_with(OpKind::GetService, &payload, true, |_, attrs| {
            top_level(attrs, SERVICE_ATTR)?
                .map(ServiceEntry::from_wire)
                .transpose()
        })
    }

    /// Reads one service.
    ///
    /// Fails with [`Error::IpvsUnavailable`] when the kernel has no `ip_vs`.
    pub fn service(&mut self, key: &ServiceKey) -> Result<ServiceEntry, Error> {
        let msg = IpvsMessage::new(IpvsCmd::GetService, vec![CmdAttr::Service(key.to_attrs())]);
        for m in self.request(OpKind::GetService, &msg)? {
            for a in &m.attrs {
                if let CmdAttr::Service(s) = a {
                    return ServiceEntry::from_attrs(s);
                }
            }
        }
        Err(Error::decode("service reply without service"))
    }

    /// Lists the destinations of a service (one dump).
    ///
    /// Fails with [`Error::IpvsUnavailable`] when the kernel has no `ip_vs`.
    pub fn destinations(&mut self, key: &ServiceKey) -> Result<Vec<DestinationEntry>, Error> {
        let payload = crate::direct::key_request(IpvsCmd::GetDest, key);
        let family = key.family();
        self.dump_with(OpKind::GetDestination, &payload, false, |_, attrs| {
            top_level(attrs, DEST_ATTR)?
                .map(|v| DestinationEntry::from_wire(v, family))
                .transpose()
        })
    }

    /// Lists every service with its destinations.
    ///
    /// Fails with [`Error::IpvsUnavailable`] when the kernel has no `ip_vs`.
    pub fn table(&mut self) -> Result<Vec<VirtualServerEntry>, Error> {
        let services = self.services()?;
        let mut out = Vec::with_capacity(services.len());
        for service in services {
            let destinations = match self.destinations(&service.service.key) {
                Ok(d) => d,
                // Deleted between the two dumps.
                Err(Error::NoSuchService) => continue,
                Err(e) => return Err(e),
            };
            out.push(VirtualServerEntry {
                service,
                destinations,
            });
        }
        Ok(out)
    }

    /// Lists the running sync daemons.
    ///
    /// Fails with [`Error::IpvsUnavailable`] when the kernel has no `ip_vs`.
    pub fn daemons(&mut self) -> Result<Vec<SyncDaemon>, Error> {
        let msg = IpvsMessage::new(IpvsCmd::GetDaemon, Vec::new());
        let mut out = Vec::new();
        for m in self.dump(OpKind::GetDaemon, &msg)? {
            for a in &m.attrs {
                if let CmdAttr::Daemon(d) = a {
                    out.push(SyncDaemon::from_attrs(d)?);
                }
            }
        }
        Ok(out)
    }

    /// Reads the timeouts.
    ///
    /// Fails with [`Error::IpvsUnavailable`] when the kernel has no `ip_vs`.
    pub fn timeouts(&mut self) -> Result<Timeouts, Error> {
        let msg = IpvsMessage::new(IpvsCmd::GetConfig, Vec::new());
        let mut t = Timeouts::default();
        for m in self.request(OpKind::GetTimeouts, &msg)? {
            for a in &m.attrs {
                match a {
                    CmdAttr::TimeoutTcp(v) => t.tcp = Duration::from_secs((*v).into()),
                    CmdAttr::TimeoutTcpFin(v) => t.tcp_fin = Duration::from_secs((*v).into()),
                    CmdAttr::TimeoutUdp(v) => t.udp = Duration::from_secs((*v).into()),
                    _ => {}
                }
            }
        }
        Ok(t)
    }

    /// Reads version and connection table size.
    ///
    /// Fails with [`Error::IpvsUnavailable`] when the kernel has no `ip_vs`.
    pub fn info(&mut self) -> Result<Info, Error> {
        let msg = IpvsMessage::new(IpvsCmd::GetInfo, Vec::new());
        let (mut version, mut size) = (None, None);
        for m in self.request(OpKind::GetInfo, &msg)? {
            for a in &m.info {
                match a {
                    InfoAttr::Version(v) => version = Some(*v),
                    InfoAttr::ConnTabSize(v) => size = Some(*v),
                    _ => {}
                }
            }
        }
        Ok(Info {
            version: version.ok_or_else(|| Error::decode("info reply without version"))?,
            conn_table_size: size.ok_or_else(|| Error::decode("info reply without table size"))?,
        })
    }
}

/// The genl header and attributes of `msg`.
fn generic_payload(msg: &IpvsMessage) -> Vec<u8> {
    let mut p = vec![u8::from(msg.cmd), 1, 0, 0];
    p.resize(GENL_HDRLEN + msg.buffer_len(), 0);
    msg.emit(&mut p[GENL_HDRLEN..]);
    p
}

fn push_nlmsghdr(out: &mut Vec<u8>, len: usize, ty: u16, flags: u16, seq: u32) {
    out.extend_from_slice(&(len as u32).to_ne_bytes());
    out.extend_from_slice(&ty.to_ne_bytes());
    out.extend_from_slice(&flags.to_ne_bytes());
    out.extend_from_slice(&seq.to_ne_bytes());
    out.extend_from_slice(&0u32.to_ne_bytes());
}

type RawMsg<'a> = (u16, u16, u32, &'a [u8], usize);

/// The netlink message at `off`: (type, flags, seq, payload, next offset).
fn next_msg(buf: &[u8], off: usize) -> Result<Option<RawMsg<'_>>, Error> {
    if off + NLMSG_HDRLEN > buf.len() {
        return Ok(None);
    }
    let h = &buf[off..off + NLMSG_HDRLEN];
    let len = u32::from_ne_bytes([h[0], h[1], h[2], h[3]]) as usize;
    if len < NLMSG_HDRLEN || off + len > buf.len() {
        return Err(Error::decode(format!(
            "netlink message length {len} at {off}"
        )));
    }
    let ty = u16::from_ne_bytes([h[4], h[5]]);
    let flags = u16::from_ne_bytes([h[6], h[7]]);
    let seq = u32::from_ne_bytes([h[8], h[9], h[10], h[11]]);
    Ok(Some((
        ty,
        flags,
        seq,
        &buf[off + NLMSG_HDRLEN..off + len],
        off + ((len + 3) & !3),
    )))
}

fn ack_errno(payload: &[u8]) -> Result<i32, Error> {
    let code = payload
        .get(..4)
        .ok_or_else(|| Error::decode("short NLMSG_ERROR"))?;
    Ok(-i32::from_ne_bytes([code[0], code[1], code[2], code[3]]))
}

pub(crate) fn decode_datagram(buf: &[u8], into: &mut Vec<Reply>) -> Result<(), Error> {
    let mut off = 0;
    while let Some((ty, _flags, seq, payload, next)) = next_msg(buf, off)? {
        off = next;
        match ty {
            NLMSG_ERROR => into.push(Reply::Ack {
                seq,
                errno: ack_errno(payload)?,
            }),
            NLMSG_DONE => into.push(Reply::Done),
            NLMSG_OVERRUN => return Err(Error::decode("netlink overrun")),
            t if t < 0x10 => {}
            _ => {
                let header = GenlHeader::parse(payload)?;
                let msg = IpvsMessage::parse_with_param(&payload[GENL_HDRLEN..], header)?;
                into.push(Reply::Message { seq, msg });
            }
        }
    }
    let _ = NLM_F_MULTI;
    Ok(())
}
