//! Batched apply: many requests in flight before waiting, ACKs matched by
//! sequence number, one result per operation.
//!
//! Requests go out in datagrams of up to [`MAX_DATAGRAM`] bytes. The kernel
//! runs the requests of a datagram in order, synchronously inside
//! `sendmsg`, and a failing request does not stop the ones after it. It
//! answers every failure with an error ACK carrying the request's sequence
//! number, whether or not an ACK was asked for; so only the last request of
//! each datagram carries `NLM_F_ACK`, and a request with no error ACK before
//! that final ACK succeeded. This keeps one reply per datagram instead of
//! one per operation (the kernel's error ACKs are small: `NETLINK_CAP_ACK`,
//! and the receive buffer is sized for a datagram full of them).

use crate::error::Error;
use crate::handle::{IpvsHandle, Reply};
use crate::message::{IpvsCmd, IpvsMessage};
use crate::nla::CmdAttr;
use crate::nla::{DaemonAttr, DestAttr, SvcAttr};
use crate::types::{Destination, Service, ServiceKey, SyncDaemon, SyncState, Timeouts};
use std::collections::HashMap;
use std::net::SocketAddr;

/// Upper bound of one request datagram (below the default socket send buffer).
pub const MAX_DATAGRAM: usize = 128 * 1024;
const NLM_F_REQUEST: u16 = 0x01;
const NLM_F_ACK: u16 = 0x04;

/// One write operation.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Op {
    /// Add a service.
    AddService(Service),
    /// Edit a service.
    EditService(Service),
    /// Delete a service.
    DeleteService(ServiceKey),
    /// Add a destination to a service.
    AddDestination(ServiceKey, Destination),
    /// Edit a destination.
    EditDestination(ServiceKey, Destination),
    /// Delete a destination.
    DeleteDestination(ServiceKey, SocketAddr),
    /// Zero counters (one service or all).
    Zero(Option<ServiceKey>),
    /// Delete every service.
    Flush,
    /// Start a sync daemon.
    StartDaemon(SyncDaemon),
    /// Stop a sync daemon.
    StopDaemon(SyncState),
    /// Set timeouts (zero fields unchanged).
    SetTimeouts(Timeouts),
}

/// One line for logs: `add service TCP 172.20.0.83:80 rr`,
/// `delete destination 172.20.0.85:80 from TCP 172.20.0.83:80`, ….
impl std::fmt::Display for Op {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let daemon = |s: &SyncState| match s {
            SyncState::Master => "master",
            SyncState::Backup => "backup",
        };
        match self {
            Op::AddService(s) => write!(f, "add service {} {}", s.key, s.scheduler),
            Op::EditService(s) => write!(f, "edit service {} {}", s.key, s.scheduler),
            Op::DeleteService(k) => write!(f, "delete service {k}"),
            Op::AddDestination(k, d) => write!(f, "add destination {} to {k}", d.addr),
            Op::EditDestination(k, d) => write!(f, "edit destination {} of {k}", d.addr),
            Op::DeleteDestination(k, a) => write!(f, "delete destination {a} from {k}"),
            Op::Zero(Some(k)) => write!(f, "zero counters of {k}"),
            Op::Zero(None) => f.write_str("zero all counters"),
            Op::Flush => f.write_str("flush"),
            Op::StartDaemon(d) => write!(
                f,
                "start {} sync daemon on {} (sync id {})",
                daemon(&d.state),
                d.interface,
                d.sync_id
            ),
            Op::StopDaemon(s) => write!(f, "stop {} sync daemon", daemon(s)),
            Op::SetTimeouts(_) => f.write_str("set timeouts"),
        }
    }
}

/// What a request was, for mapping its errno.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OpKind {
    AddService,
    EditService,
    DeleteService,
    GetService,
    AddDestination,
    EditDestination,
    DeleteDestination,
    GetDestination,
    Zero,
    Flush,
    StartDaemon,
    StopDaemon,
    GetDaemon,
    SetTimeouts,
    GetTimeouts,
    GetInfo,
}

impl OpKind {
    pub(crate) fn of(cmd: IpvsCmd) -> OpKind {
        use OpKind::*;
        match cmd {
            IpvsCmd::NewService => AddService,
            IpvsCmd::SetService => EditService,
            IpvsCmd::DelService => DeleteService,
            IpvsCmd::NewDest => AddDestination,
            IpvsCmd::SetDest => EditDestination,
            IpvsCmd::DelDest => DeleteDestination,
            IpvsCmd::GetDest => GetDestination,
            IpvsCmd::NewDaemon => StartDaemon,
            IpvsCmd::DelDaemon => StopDaemon,
            IpvsCmd::GetDaemon => GetDaemon,
            IpvsCmd::SetConfig => SetTimeouts,
            IpvsCmd::GetConfig => GetTimeouts,
            IpvsCmd::Zero => Zero,
            IpvsCmd::Flush => Flush,
            IpvsCmd::GetInfo | IpvsCmd::SetInfo => GetInfo,
            _ => GetService,
        }
    }

    pub(crate) fn name(self) -> &'static str {
        use OpKind::*;
        match self {
            AddService => "add service",
            EditService => "edit service",
            DeleteService => "delete service",
            GetService => "get service",
            AddDestination => "add destination",
            EditDestination => "edit destination",
            DeleteDestination => "delete destination",
            GetDestination => "list destinations",
            Zero => "zero counters",
            Flush => "flush",
            StartDaemon => "start sync daemon",
            StopDaemon => "stop sync daemon",
            GetDaemon => "list sync daemons",
            SetTimeouts => "set timeouts",
            GetTimeouts => "get timeouts",
            GetInfo => "get info",
        }
    }

    /// The kernel's errno for this request, with its meaning.
    pub(crate) fn error(self, errno: i32, scheduler: &str) -> Error {
        use OpKind::*;
        let is_dest = matches!(
            self,
            AddDestination | EditDestination | DeleteDestination | GetDestination
        );
        match errno {
            libc::EPERM | libc::EACCES => Error::Permission,
            libc::EEXIST if self == AddService => Error::ServiceExists,
            libc::EEXIST if self == AddDestination => Error::DestinationExists,
            libc::EEXIST if self == StartDaemon => Error::DaemonRunning,
            libc::ESRCH if self == StopDaemon => Error::NoSuchDaemon,
            libc::ESRCH => Error::NoSuchService,
            libc::ENOENT if is_dest => Error::NoSuchDestination,
            libc::ENOENT if matches!(self, AddService | EditService) => Error::UnknownScheduler {
                name: scheduler.to_string(),
            },
            libc::EINVAL => Error::InvalidArgument {
                field: match self {
                    AddService | EditService => {
                        "service: address family, protocol, persistence netmask/timeout or flags"
                    }
                    DeleteService | GetService | Zero => "service key",
                    AddDestination | EditDestination => {
                        "destination: address family (only tunnels may mix families), forward method, tunnel or weight"
                    }
                    DeleteDestination | GetDestination => "destination key",
                    StartDaemon | StopDaemon => {
                        "sync daemon: state, interface, sync id, group or max length"
                    }
                    SetTimeouts => "timeouts",
                    _ => "request",
                },
                hint: "the kernel answered EINVAL".to_string(),
            },
            libc::ENODEV if self == StartDaemon => Error::InvalidArgument {
                field: "sync daemon interface",
                hint: "no such interface".to_string(),
            },
            _ => Error::Kernel {
                op: self.name(),
                errno,
                source: std::io::Error::from_raw_os_error(errno),
            },
        }
    }
}

/// The scheduler (and persistence engine) a request names, for errors.
pub(crate) fn scheduler_of(msg: &IpvsMessage) -> String {
    for a in &msg.attrs {
        if let CmdAttr::Service(s) = a {
            let sched = s.iter().find_map(|a| match a {
                SvcAttr::SchedName(n) => Some(n.clone()),
                _ => None,
            });
            let pe = s.iter().find_map(|a| match a {
                SvcAttr::PeName(n) => Some(n.clone()),
                _ => None,
            });
            return match (sched, pe) {
                (Some(s), Some(p)) => format!("{s}` or `{p}"),
                (Some(s), None) => s,
                (None, Some(p)) => p,
                (None, None) => String::new(),
            };
        }
    }
    String::new()
}

impl Op {
    fn scheduler_name(&self) -> String {
        match self {
            Op::AddService(s) | Op::EditService(s) => match &s.pe_name {
                Some(pe) => format!("{}` or `{pe}", s.scheduler),
                None => s.scheduler.to_string(),
            },
            _ => String::new(),
        }
    }

    pub(crate) fn kind(&self) -> OpKind {
        match self {
            Op::AddService(_) => OpKind::AddService,
            Op::EditService(_) => OpKind::EditService,
            Op::DeleteService(_) => OpKind::DeleteService,
            Op::AddDestination(..) => OpKind::AddDestination,
            Op::EditDestination(..) => OpKind::EditDestination,
            Op::DeleteDestination(..) => OpKind::DeleteDestination,
            Op::Zero(_) => OpKind::Zero,
            Op::Flush => OpKind::Flush,
            Op::StartDaemon(_) => OpKind::StartDaemon,
            Op::StopDaemon(_) => OpKind::StopDaemon,
            Op::SetTimeouts(_) => OpKind::SetTimeouts,
        }
    }

    /// The request message for this operation.
    pub fn to_message(&self) -> Result<IpvsMessage, Error> {
        let (cmd, attrs) = match self {
            Op::AddService(s) => (IpvsCmd::NewService, vec![CmdAttr::Service(s.to_attrs()?)]),
            Op::EditService(s) => (IpvsCmd::SetService, vec![CmdAttr::Service(s.to_attrs()?)]),
            Op::DeleteService(k) => (IpvsCmd::DelService, vec![CmdAttr::Service(k.to_attrs())]),
            Op::AddDestination(k, d) => (
                IpvsCmd::NewDest,
                vec![CmdAttr::Service(k.to_attrs()), CmdAttr::Dest(d.to_attrs()?)],
            ),
            Op::EditDestination(k, d) => (
                IpvsCmd::SetDest,
                vec![CmdAttr::Service(k.to_attrs()), CmdAttr::Dest(d.to_attrs()?)],
            ),
            Op::DeleteDestination(k, addr) => {
                let d = Destination::new(*addr, crate::ForwardMethod::Masquerade);
                let attrs: Vec<DestAttr> = d
                    .to_attrs()?
                    .into_iter()
                    .filter(|a| {
                        matches!(
                            a,
                            DestAttr::AddrFamily(_) | DestAttr::Addr(_) | DestAttr::Port(_)
                        )
                    })
                    .collect();
                (
                    IpvsCmd::DelDest,
                    vec![CmdAttr::Service(k.to_attrs()), CmdAttr::Dest(attrs)],
                )
            }
            Op::Zero(Some(k)) => (IpvsCmd::Zero, vec![CmdAttr::Service(k.to_attrs())]),
            Op::Zero(None) => (IpvsCmd::Zero, vec![]),
            Op::Flush => (IpvsCmd::Flush, vec![]),
            Op::StartDaemon(d) => (IpvsCmd::NewDaemon, vec![CmdAttr::Daemon(d.to_attrs())]),
            Op::StopDaemon(state) => (
                IpvsCmd::DelDaemon,
                vec![CmdAttr::Daemon(vec![DaemonAttr::State(state.raw())])],
            ),
            Op::SetTimeouts(t) => {
                let secs = |d: std::time::Duration, f| {
                    u32::try_from(d.as_secs())
                        .map_err(|_| Error::invalid(f, "more than u32 seconds"))
                };
                (
                    IpvsCmd::SetConfig,
                    vec![
                        CmdAttr::TimeoutTcp(secs(t.tcp, "tcp timeout")?),
                        CmdAttr::TimeoutTcpFin(secs(t.tcp_fin, "tcp fin timeout")?),
                        CmdAttr::TimeoutUdp(secs(t.udp, "udp timeout")?),
                    ],
                )
            }
        };
        Ok(IpvsMessage::new(cmd, attrs))
    }
}

impl IpvsHandle {
    /// Applies `ops` in order with many requests in flight, returning one
    /// result per operation (a failed operation does not stop the others).
    /// The outer error is for socket-level failures only.
    ///
    /// The outer error is [`Error::IpvsUnavailable`] when the kernel has no
    /// `ip_vs` (nothing was sent then).
    pub fn apply(&mut self, ops: &[Op]) -> Result<Vec<Result<(), Error>>, Error> {
        let mut results: Vec<Option<Result<(), Error>>> = Vec::with_capacity(ops.len());
        results.resize_with(ops.len(), || None);
        let mut start = 0;
        while start < ops.len() {
            let family = self.family_id()?;
            // Fill one datagram. Only its last request asks for an ACK: the
            // kernel runs a datagram's requests in order inside sendmsg and
            // answers every failure with an error ACK whether asked or not,
            // so a request without an error before the final ACK succeeded.
            let mut sent: Vec<(u32, usize)> = Vec::new();
            let mut end = start;
            let mut last_at = 0;
            while end < ops.len() && self.out_len() < MAX_DATAGRAM {
                let seq = self.next_seq();
                let at = self.out_len();
                match self.encode_op(family, NLM_F_REQUEST, seq, &ops[end]) {
                    Ok(()) => {
                        last_at = at;
                        sent.push((seq, end));
                    }
                    // Rejected before sending.
                    Err(e) => results[end] = Some(Err(e)),
                }
                end += 1;
            }
            if sent.is_empty() {
                start = end;
                continue;
            }
            self.add_out_flags(last_at, NLM_F_ACK);
            self.send_out()?;
            let last = sent[sent.len() - 1].0;
            let mut failed: HashMap<u32, i32> = HashMap::new();
            let mut decoded = Vec::new();
            'wait: loop {
                let n = self.recv()?;
                decoded.clear();
                self.decode(n, &mut decoded)?;
                for r in decoded.drain(..) {
                    if let Reply::Ack { seq, errno } = r {
                        if errno != 0 {
                            failed.insert(seq, errno);
                        }
                        if seq == last {
                            break 'wait;
                        }
                    }
                }
            }
            // Every request failing with ENOENT: the family id went stale
            // (ip_vs reloaded); resolve it again and resend this datagram.
            if failed.len() == sent.len()
                && failed.values().all(|&e| e == libc::ENOENT)
                && self.family_changed()?
            {
                continue;
            }
            for (seq, i) in sent {
                results[i] = Some(match failed.get(&seq) {
                    None => Ok(()),
                    Some(&errno) => Err(ops[i].kind().error(errno, &ops[i].scheduler_name())),
                });
            }
            start = end;
        }
        Ok(results
            .into_iter()
            .map(|r| r.unwrap_or_else(|| Err(Error::decode("no ACK for the request"))))
            .collect())
    }
}
