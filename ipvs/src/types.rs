//! The typed view of IPVS objects: what a caller writes and reads back.
//!
//! Conversions to and from the wire attributes ([`crate::nla`]) live here.
//! Fields the kernel sets on its own (the `HASHED` service flag, counters,
//! statistics) never make a read-back object differ from what was written:
//! they are masked out or kept in separate `*Entry` types.

use crate::error::Error;
use crate::nla::{DaemonAttr, DestAttr, Stats64Attr, StatsAttr, SvcAttr, SvcFlags};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

const AF_INET: u16 = libc::AF_INET as u16;
const AF_INET6: u16 = libc::AF_INET6 as u16;
const IPPROTO_TCP: u16 = 6;
const IPPROTO_UDP: u16 = 17;
const IPPROTO_SCTP: u16 = 132;

const SVC_F_PERSISTENT: u32 = 0x0001;
/// Set by the kernel on every hashed (i.e. live) service; never ours to write.
const SVC_F_HASHED: u32 = 0x0002;
const SVC_F_ONEPACKET: u32 = 0x0004;
const SVC_F_SCHED_MASK: u32 = 0x0008 | 0x0010 | 0x0020;

const CONN_F_FWD_MASK: u32 = 0x0007;
const CONN_F_MASQ: u32 = 0;
const CONN_F_LOCALNODE: u32 = 1;
const CONN_F_TUNNEL: u32 = 2;
const CONN_F_DROUTE: u32 = 3;

const TUN_TYPE_IPIP: u8 = 0;
const TUN_TYPE_GUE: u8 = 1;
const TUN_TYPE_GRE: u8 = 2;

/// Address family of a service or destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Family {
    /// IPv4 (`AF_INET`).
    Inet,
    /// IPv6 (`AF_INET6`).
    Inet6,
}

impl Family {
    pub(crate) fn raw(self) -> u16 {
        match self {
            Family::Inet => AF_INET,
            Family::Inet6 => AF_INET6,
        }
    }
    fn from_raw(af: u16) -> Result<Family, Error> {
        match af {
            AF_INET => Ok(Family::Inet),
            AF_INET6 => Ok(Family::Inet6),
            other => Err(Error::decode(format!("unknown address family {other}"))),
        }
    }
    pub(crate) fn of_ip(ip: IpAddr) -> Family {
        Family::of(ip)
    }
    pub(crate) fn from_raw_pub(af: u16) -> Result<Family, Error> {
        Family::from_raw(af)
    }
    fn of(ip: IpAddr) -> Family {
        match ip {
            IpAddr::V4(_) => Family::Inet,
            IpAddr::V6(_) => Family::Inet6,
        }
    }
}

/// Transport protocol of an address-based service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protocol {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
    /// SCTP.
    Sctp,
}

impl Protocol {
    pub(crate) fn raw(self) -> u16 {
        match self {
            Protocol::Tcp => IPPROTO_TCP,
            Protocol::Udp => IPPROTO_UDP,
            Protocol::Sctp => IPPROTO_SCTP,
        }
    }
}

/// What identifies a virtual service.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ServiceKey {
    /// A protocol, virtual address and port.
    Addr {
        /// Transport protocol.
        protocol: Protocol,
        /// Virtual address and port.
        addr: SocketAddr,
    },
    /// A firewall mark.
    Fwmark {
        /// Address family the mark applies to.
        family: Family,
        /// The mark.
        mark: u32,
    },
}

impl ServiceKey {
    /// A TCP service.
    pub fn tcp(addr: SocketAddr) -> Self {
        ServiceKey::Addr {
            protocol: Protocol::Tcp,
            addr,
        }
    }
    /// A UDP service.
    pub fn udp(addr: SocketAddr) -> Self {
        ServiceKey::Addr {
            protocol: Protocol::Udp,
            addr,
        }
    }
    /// An SCTP service.
    pub fn sctp(addr: SocketAddr) -> Self {
        ServiceKey::Addr {
            protocol: Protocol::Sctp,
            addr,
        }
    }
    /// A firewall-mark service.
    pub fn fwmark(family: Family, mark: u32) -> Self {
        ServiceKey::Fwmark { family, mark }
    }
    /// The service's address family.
    pub fn family(&self) -> Family {
        match self {
            ServiceKey::Addr { addr, .. } => Family::of(addr.ip()),
            ServiceKey::Fwmark { family, .. } => *family,
        }
    }

    /// The attributes that identify the service (what delete, get and the
    /// destination commands need).
    pub(crate) fn to_attrs(self) -> Vec<SvcAttr> {
        match self {
            ServiceKey::Addr { protocol, addr } => vec![
                SvcAttr::Af(Family::of(addr.ip()).raw()),
                SvcAttr::Protocol(protocol.raw()),
                SvcAttr::Addr(addr_bytes(addr.ip())),
                SvcAttr::Port(addr.port()),
            ],
            ServiceKey::Fwmark { family, mark } => {
                vec![SvcAttr::Af(family.raw()), SvcAttr::Fwmark(mark)]
            }
        }
    }
}

impl fmt::Display for ServiceKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ServiceKey::Addr { protocol, addr } => {
                let p = match protocol {
                    Protocol::Tcp => "TCP",
                    Protocol::Udp => "UDP",
                    Protocol::Sctp => "SCTP",
                };
                write!(f, "{p} {addr}")
            }
            ServiceKey::Fwmark { family, mark } => match family {
                Family::Inet => write!(f, "FWM {mark}"),
                Family::Inet6 => write!(f, "FWM {mark} IPv6"),
            },
        }
    }
}

pub(crate) fn addr_bytes(ip: IpAddr) -> [u8; 16] {
    let mut b = [0u8; 16];
    match ip {
        IpAddr::V4(v4) => b[..4].copy_from_slice(&v4.octets()),
        IpAddr::V6(v6) => b = v6.octets(),
    }
    b
}

fn ip_from(family: Family, raw: [u8; 16]) -> IpAddr {
    match family {
        Family::Inet => IpAddr::V4(Ipv4Addr::new(raw[0], raw[1], raw[2], raw[3])),
        Family::Inet6 => IpAddr::V6(Ipv6Addr::from(raw)),
    }
}

/// A scheduler (`ip_vs_<name>` kernel module).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum Scheduler {
    /// Round robin.
    RoundRobin,
    /// Weighted round robin.
    WeightedRoundRobin,
    /// Least connections.
    LeastConnection,
    /// Weighted least connections (the kernel's default).
    WeightedLeastConnection,
    /// Locality-based least connections.
    LocalityBasedLeastConnection,
    /// Locality-based least connections with replication.
    LocalityBasedLeastConnectionReplication,
    /// Destination hashing.
    DestinationHashing,
    /// Source hashing.
    SourceHashing,
    /// Shortest expected delay.
    ShortestExpectedDelay,
    /// Never queue.
    NeverQueue,
    /// Weighted failover.
    WeightedFailover,
    /// Weighted overflow.
    WeightedOverflow,
    /// Maglev hashing.
    Maglev,
    /// Any other scheduler module, by name.
    Other(String),
}

impl Scheduler {
    /// The kernel's name for it.
    pub fn name(&self) -> &str {
        use Scheduler::*;
        match self {
            RoundRobin => "rr",
            WeightedRoundRobin => "wrr",
            LeastConnection => "lc",
            WeightedLeastConnection => "wlc",
            LocalityBasedLeastConnection => "lblc",
            LocalityBasedLeastConnectionReplication => "lblcr",
            DestinationHashing => "dh",
            SourceHashing => "sh",
            ShortestExpectedDelay => "sed",
            NeverQueue => "nq",
            WeightedFailover => "fo",
            WeightedOverflow => "ovf",
            Maglev => "mh",
            Other(s) => s,
        }
    }
    /// Every scheduler the kernel ships.
    pub const ALL: [Scheduler; 13] = [
        Scheduler::RoundRobin,
        Scheduler::WeightedRoundRobin,
        Scheduler::LeastConnection,
        Scheduler::WeightedLeastConnection,
        Scheduler::LocalityBasedLeastConnection,
        Scheduler::LocalityBasedLeastConnectionReplication,
        Scheduler::DestinationHashing,
        Scheduler::SourceHashing,
        Scheduler::ShortestExpectedDelay,
        Scheduler::NeverQueue,
        Scheduler::WeightedFailover,
        Scheduler::WeightedOverflow,
        Scheduler::Maglev,
    ];
}

impl From<&str> for Scheduler {
    fn from(name: &str) -> Scheduler {
        Scheduler::ALL
            .into_iter()
            .find(|s| s.name() == name)
            .unwrap_or_else(|| Scheduler::Other(name.to_string()))
    }
}

impl fmt::Display for Scheduler {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

bitflags::bitflags! {
    /// Scheduler flags (`IP_VS_SVC_F_SCHED1..3`); their meaning depends on
    /// the scheduler (`sh` and `mh` share the same bits).
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
    pub struct SchedFlags: u32 {
        /// `sh-fallback` / `mh-fallback`: skip unavailable destinations.
        const FALLBACK = 0x0008;
        /// `sh-port` / `mh-port`: hash the source port too.
        const PORT = 0x0010;
        /// Scheduler flag 3 (unused by the shipped schedulers).
        const SCHED3 = 0x0020;
    }
}

/// The client-address mask persistence groups by.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PersistenceMask {
    /// An IPv4 netmask (sent as the mask in network order).
    V4(Ipv4Addr),
    /// An IPv6 prefix length, 1..=128 (sent as a host-order number).
    V6Prefix(u8),
}

impl PersistenceMask {
    /// The mask that groups nothing (`/32` or `/128`), what the kernel
    /// stores for non-persistent services.
    pub fn host(family: Family) -> Self {
        match family {
            Family::Inet => PersistenceMask::V4(Ipv4Addr::BROADCAST),
            Family::Inet6 => PersistenceMask::V6Prefix(128),
        }
    }
    fn raw(self) -> [u8; 4] {
        match self {
            PersistenceMask::V4(m) => m.octets(),
            PersistenceMask::V6Prefix(p) => u32::from(p).to_ne_bytes(),
        }
    }
    pub(crate) fn from_raw_pub(family: Family, raw: [u8; 4]) -> Result<Self, Error> {
        PersistenceMask::from_raw(family, raw)
    }
    fn from_raw(family: Family, raw: [u8; 4]) -> Result<Self, Error> {
        Ok(match family {
            Family::Inet => PersistenceMask::V4(raw.into()),
            Family::Inet6 => {
                let p = u32::from_ne_bytes(raw);
                PersistenceMask::V6Prefix(
                    u8::try_from(p)
                        .map_err(|_| Error::decode(format!("IPv6 persistence prefix {p}")))?,
                )
            }
        })
    }
}

/// Persistence (sticky clients): timeout and client mask.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Persistence {
    /// How long a client stays on its destination after its last connection
    /// (whole seconds on the wire).
    pub timeout: Duration,
    /// Which client addresses are grouped together.
    pub mask: PersistenceMask,
}

/// A virtual service as written and as read back.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Service {
    /// What identifies it.
    pub key: ServiceKey,
    /// The scheduler.
    pub scheduler: Scheduler,
    /// Scheduler flags.
    pub sched_flags: SchedFlags,
    /// Persistence, if any.
    pub persistence: Option<Persistence>,
    /// One-packet scheduling (UDP).
    pub one_packet: bool,
    /// Persistence engine (`sip`), if any.
    pub pe_name: Option<String>,
}

impl Service {
    /// A service with `scheduler` and no options.
    pub fn new(key: ServiceKey, scheduler: Scheduler) -> Self {
        Service {
            key,
            scheduler,
            sched_flags: SchedFlags::empty(),
            persistence: None,
            one_packet: false,
            pe_name: None,
        }
    }

    /// Sets persistence.
    pub fn with_persistence(mut self, timeout: Duration, mask: PersistenceMask) -> Self {
        self.persistence = Some(Persistence { timeout, mask });
        self
    }

    /// Sets scheduler flags.
    pub fn with_sched_flags(mut self, flags: SchedFlags) -> Self {
        self.sched_flags = flags;
        self
    }

    /// The validated flags, timeout (seconds) and raw netmask to send.
    pub(crate) fn wire_parts(&self) -> Result<(u32, u32, [u8; 4]), Error> {
        let family = self.key.family();
        let mut flags = self.sched_flags.bits();
        if self.one_packet {
            flags |= SVC_F_ONEPACKET;
        }
        let (timeout, mask) = match self.persistence {
            Some(p) => {
                flags |= SVC_F_PERSISTENT;
                let secs = u32::try_from(p.timeout.as_secs())
                    .map_err(|_| Error::invalid("persistence timeout", "more than u32 seconds"))?;
                match (family, p.mask) {
                    (Family::Inet, PersistenceMask::V4(_)) => {}
                    (Family::Inet6, PersistenceMask::V6Prefix(1..=128)) => {}
                    (Family::Inet6, PersistenceMask::V6Prefix(_)) => {
                        return Err(Error::invalid(
                            "persistence mask",
                            "an IPv6 prefix length must be 1..=128",
                        ));
                    }
                    _ => {
                        return Err(Error::invalid(
                            "persistence mask",
                            "an IPv4 service needs a V4 netmask, an IPv6 one a V6Prefix",
                        ));
                    }
                }
                (secs, p.mask)
            }
            None => (0, PersistenceMask::host(family)),
        };
        Ok((flags, timeout, mask.raw()))
    }

    /// The full attribute set for add and edit.
    pub(crate) fn to_attrs(&self) -> Result<Vec<SvcAttr>, Error> {
        let (flags, timeout, netmask) = self.wire_parts()?;
        let mut attrs = self.key.to_attrs();
        attrs.push(SvcAttr::SchedName(self.scheduler.name().to_string()));
        if let Some(pe) = &self.pe_name {
            attrs.push(SvcAttr::PeName(pe.clone()));
        }
        attrs.push(SvcAttr::Flags(SvcFlags { flags, mask: !0 }));
        attrs.push(SvcAttr::Timeout(timeout));
        attrs.push(SvcAttr::Netmask(netmask));
        Ok(attrs)
    }
}

/// Traffic counters and rates. Read from the 64-bit attribute set when the
/// kernel sends it (4.1+), else from the 32-bit one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stats {
    /// Connections scheduled.
    pub conns: u64,
    /// Incoming packets.
    pub in_pkts: u64,
    /// Outgoing packets.
    pub out_pkts: u64,
    /// Incoming bytes.
    pub in_bytes: u64,
    /// Outgoing bytes.
    pub out_bytes: u64,
    /// Connections per second.
    pub cps: u64,
    /// Incoming packets per second.
    pub in_pps: u64,
    /// Outgoing packets per second.
    pub out_pps: u64,
    /// Incoming bytes per second.
    pub in_bps: u64,
    /// Outgoing bytes per second.
    pub out_bps: u64,
}

impl Stats {
    fn from32(attrs: &[StatsAttr]) -> Stats {
        let mut s = Stats::default();
        for a in attrs {
            match a {
                StatsAttr::Conns(v) => s.conns = (*v).into(),
                StatsAttr::InPkts(v) => s.in_pkts = (*v).into(),
                StatsAttr::OutPkts(v) => s.out_pkts = (*v).into(),
                StatsAttr::InBytes(v) => s.in_bytes = *v,
                StatsAttr::OutBytes(v) => s.out_bytes = *v,
                StatsAttr::Cps(v) => s.cps = (*v).into(),
                StatsAttr::InPps(v) => s.in_pps = (*v).into(),
                StatsAttr::OutPps(v) => s.out_pps = (*v).into(),
                StatsAttr::InBps(v) => s.in_bps = (*v).into(),
                StatsAttr::OutBps(v) => s.out_bps = (*v).into(),
                _ => {}
            }
        }
        s
    }
    fn from64(attrs: &[Stats64Attr]) -> Stats {
        let mut s = Stats::default();
        for a in attrs {
            match a {
                Stats64Attr::Conns(v) => s.conns = *v,
                Stats64Attr::InPkts(v) => s.in_pkts = *v,
                Stats64Attr::OutPkts(v) => s.out_pkts = *v,
                Stats64Attr::InBytes(v) => s.in_bytes = *v,
                Stats64Attr::OutBytes(v) => s.out_bytes = *v,
                Stats64Attr::Cps(v) => s.cps = *v,
                Stats64Attr::InPps(v) => s.in_pps = *v,
                Stats64Attr::OutPps(v) => s.out_pps = *v,
                Stats64Attr::InBps(v) => s.in_bps = *v,
                Stats64Attr::OutBps(v) => s.out_bps = *v,
                _ => {}
            }
        }
        s
    }
}

/// A service as the kernel reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceEntry {
    /// The service, comparable with what was written.
    pub service: Service,
    /// Counters.
    pub stats: Stats,
    /// Whether `stats` came from the 64-bit attribute set.
    pub stats64: bool,
    /// The raw `IP_VS_SVC_F_*` flags as reported (including `HASHED`).
    pub raw_flags: u32,
}

impl ServiceEntry {
    /// Builds the typed view of a service attribute set.
    pub fn from_attrs(attrs: &[SvcAttr]) -> Result<ServiceEntry, Error> {
        let mut af = None;
        let mut protocol = None;
        let mut addr = None;
        let mut port = None;
        let mut fwmark = None;
        let mut sched = None;
        let mut flags = 0u32;
        let mut timeout = 0u32;
        let mut netmask = None;
        let mut pe = None;
        let mut s32 = None;
        let mut s64 = None;
        for a in attrs {
            match a {
                SvcAttr::Af(v) => af = Some(*v),
                SvcAttr::Protocol(v) => protocol = Some(*v),
                SvcAttr::Addr(v) => addr = Some(*v),
                SvcAttr::Port(v) => port = Some(*v),
                SvcAttr::Fwmark(v) => fwmark = Some(*v),
                SvcAttr::SchedName(v) => sched = Some(v.as_str()),
                SvcAttr::Flags(v) => flags = v.flags,
                SvcAttr::Timeout(v) => timeout = *v,
                SvcAttr::Netmask(v) => netmask = Some(*v),
                SvcAttr::PeName(v) => pe = Some(v.clone()),
                SvcAttr::Stats(v) => s32 = Some(v),
                SvcAttr::Stats64(v) => s64 = Some(v),
                _ => {}
            }
        }
        let family = Family::from_raw(af.ok_or_else(|| Error::decode("service without family"))?)?;
        let key = match fwmark {
            Some(mark) if mark != 0 => ServiceKey::Fwmark { family, mark },
            _ => {
                let protocol = match protocol {
                    Some(IPPROTO_TCP) => Protocol::Tcp,
                    Some(IPPROTO_UDP) => Protocol::Udp,
                    Some(IPPROTO_SCTP) => Protocol::Sctp,
                    other => return Err(Error::decode(format!("service protocol {other:?}"))),
                };
                let ip = ip_from(
                    family,
                    addr.ok_or_else(|| Error::decode("service without address"))?,
                );
                ServiceKey::Addr {
                    protocol,
                    addr: SocketAddr::new(ip, port.unwrap_or(0)),
                }
            }
        };
        let persistence = if flags & SVC_F_PERSISTENT != 0 {
            Some(Persistence {
                timeout: Duration::from_secs(timeout.into()),
                mask: match netmask {
                    Some(raw) => PersistenceMask::from_raw(family, raw)?,
                    None => PersistenceMask::host(family),
                },
            })
        } else {
            None
        };
        let (stats, stats64) = match (s64, s32) {
            (Some(v), _) => (Stats::from64(v), true),
            (None, Some(v)) => (Stats::from32(v), false),
            (None, None) => (Stats::default(), false),
        };
        Ok(ServiceEntry {
            service: Service {
                key,
                scheduler: Scheduler::from(
                    sched.ok_or_else(|| Error::decode("service without scheduler"))?,
                ),
                sched_flags: SchedFlags::from_bits_truncate(flags & SVC_F_SCHED_MASK),
                persistence,
                one_packet: flags & SVC_F_ONEPACKET != 0,
                pe_name: pe,
            },
            stats,
            stats64,
            raw_flags: flags,
        })
    }

    /// Whether the kernel marked the service hashed (always, for a live one).
    pub fn is_hashed(&self) -> bool {
        self.raw_flags & SVC_F_HASHED != 0
    }
}

/// Tunnel encapsulation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TunnelType {
    /// IP-in-IP.
    Ipip,
    /// Generic UDP encapsulation to a port.
    Gue {
        /// Destination UDP port of the encapsulation.
        port: u16,
    },
    /// GRE.
    Gre,
}

bitflags::bitflags! {
    /// Tunnel checksum options (`IP_VS_TUNNEL_ENCAP_FLAG_*`); empty = no checksum.
    #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
    pub struct TunnelFlags: u16 {
        /// Checksum the encapsulation (GUE, GRE).
        const CSUM = 1 << 0;
        /// Remote checksum offload (GUE).
        const REMCSUM = 1 << 1;
    }
}

/// How packets reach a destination.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ForwardMethod {
    /// NAT (`-m`).
    Masquerade,
    /// Direct routing (`-g`).
    DirectRoute,
    /// Tunneling (`-i`).
    Tunnel {
        /// Encapsulation.
        kind: TunnelType,
        /// Checksum options.
        flags: TunnelFlags,
    },
    /// Local node.
    Local,
}

impl ForwardMethod {
    /// Plain IPIP tunneling.
    pub const IPIP: ForwardMethod = ForwardMethod::Tunnel {
        kind: TunnelType::Ipip,
        flags: TunnelFlags::empty(),
    };
}

/// A destination (real server) as written and read back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Destination {
    /// Address and port.
    pub addr: SocketAddr,
    /// Forwarding method.
    pub forward: ForwardMethod,
    /// Weight; 0 takes no new connections (drain).
    pub weight: u32,
    /// Upper connection threshold (0: none).
    pub upper_threshold: u32,
    /// Lower connection threshold (0: none).
    pub lower_threshold: u32,
}

impl Destination {
    /// A destination with weight 1 and no thresholds.
    pub fn new(addr: SocketAddr, forward: ForwardMethod) -> Self {
        Destination {
            addr,
            forward,
            weight: 1,
            upper_threshold: 0,
            lower_threshold: 0,
        }
    }

    /// Sets the weight.
    pub fn with_weight(mut self, weight: u32) -> Self {
        self.weight = weight;
        self
    }

    /// The validated forward method, tunnel type, tunnel port and flags.
    pub(crate) fn wire_parts(self) -> Result<(u32, u8, u16, u16), Error> {
        if self.weight > i32::MAX as u32 {
            return Err(Error::invalid("weight", "at most 2^31-1"));
        }
        Ok(match self.forward {
            ForwardMethod::Masquerade => (CONN_F_MASQ, 0, 0, 0),
            ForwardMethod::DirectRoute => (CONN_F_DROUTE, 0, 0, 0),
            ForwardMethod::Local => (CONN_F_LOCALNODE, 0, 0, 0),
            ForwardMethod::Tunnel { kind, flags } => {
                let (t, port) = match kind {
                    TunnelType::Ipip => (TUN_TYPE_IPIP, 0),
                    TunnelType::Gue { port } => (TUN_TYPE_GUE, port),
                    TunnelType::Gre => (TUN_TYPE_GRE, 0),
                };
                (CONN_F_TUNNEL, t, port, flags.bits())
            }
        })
    }

    pub(crate) fn to_attrs(self) -> Result<Vec<DestAttr>, Error> {
        let (fwd, tun_type, tun_port, tun_flags) = self.wire_parts()?;
        // ipvsadm's attribute order, tunnel attributes always present.
        let attrs = vec![
            DestAttr::AddrFamily(Family::of(self.addr.ip()).raw()),
            DestAttr::Addr(addr_bytes(self.addr.ip())),
            DestAttr::Port(self.addr.port()),
            DestAttr::FwdMethod(fwd),
            DestAttr::Weight(self.weight),
            DestAttr::TunType(tun_type),
            DestAttr::TunPort(tun_port),
            DestAttr::TunFlags(tun_flags),
            DestAttr::UThresh(self.upper_threshold),
            DestAttr::LThresh(self.lower_threshold),
        ];
        Ok(attrs)
    }
}

/// A destination as the kernel reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DestinationEntry {
    /// The destination, comparable with what was written.
    pub dest: Destination,
    /// Active connections.
    pub active_conns: u32,
    /// Inactive connections.
    pub inactive_conns: u32,
    /// Persistent connection templates.
    pub persistent_conns: u32,
    /// Counters.
    pub stats: Stats,
    /// Whether `stats` came from the 64-bit attribute set.
    pub stats64: bool,
}

impl DestinationEntry {
    /// Builds the typed view of a destination attribute set; `service_family`
    /// applies when the kernel does not say the destination's own family.
    pub fn from_attrs(
        attrs: &[DestAttr],
        service_family: Family,
    ) -> Result<DestinationEntry, Error> {
        let mut family = service_family;
        let mut addr = None;
        let mut port = 0;
        let mut fwd = None;
        let mut weight = 0;
        let (mut uth, mut lth) = (0, 0);
        let (mut act, mut inact, mut pers) = (0, 0, 0);
        let (mut tun_type, mut tun_port, mut tun_flags) = (0u8, 0u16, 0u16);
        let (mut s32, mut s64) = (None, None);
        for a in attrs {
            match a {
                DestAttr::AddrFamily(af) => family = Family::from_raw(*af)?,
                DestAttr::Addr(v) => addr = Some(*v),
                DestAttr::Port(v) => port = *v,
                DestAttr::FwdMethod(v) => fwd = Some(*v),
                DestAttr::Weight(v) => weight = *v,
                DestAttr::UThresh(v) => uth = *v,
                DestAttr::LThresh(v) => lth = *v,
                DestAttr::ActiveConns(v) => act = *v,
                DestAttr::InactConns(v) => inact = *v,
                DestAttr::PersistConns(v) => pers = *v,
                DestAttr::Stats(v) => s32 = Some(v),
                DestAttr::Stats64(v) => s64 = Some(v),
                DestAttr::TunType(v) => tun_type = *v,
                DestAttr::TunPort(v) => tun_port = *v,
                DestAttr::TunFlags(v) => tun_flags = *v,
                _ => {}
            }
        }
        let ip = ip_from(
            family,
            addr.ok_or_else(|| Error::decode("destination without address"))?,
        );
        let forward = match fwd
            .ok_or_else(|| Error::decode("destination without forward method"))?
            & CONN_F_FWD_MASK
        {
            CONN_F_MASQ => ForwardMethod::Masquerade,
            CONN_F_LOCALNODE => ForwardMethod::Local,
            CONN_F_DROUTE => ForwardMethod::DirectRoute,
            CONN_F_TUNNEL => ForwardMethod::Tunnel {
                kind: match tun_type {
                    TUN_TYPE_IPIP => TunnelType::Ipip,
                    TUN_TYPE_GUE => TunnelType::Gue { port: tun_port },
                    TUN_TYPE_GRE => TunnelType::Gre,
                    t => return Err(Error::decode(format!("tunnel type {t}"))),
                },
                flags: TunnelFlags::from_bits_truncate(tun_flags),
            },
            other => return Err(Error::decode(format!("forward method {other}"))),
        };
        let (stats, stats64) = match (s64, s32) {
            (Some(v), _) => (Stats::from64(v), true),
            (None, Some(v)) => (Stats::from32(v), false),
            (None, None) => (Stats::default(), false),
        };
        Ok(DestinationEntry {
            dest: Destination {
                addr: SocketAddr::new(ip, port),
                forward,
                weight,
                upper_threshold: uth,
                lower_threshold: lth,
            },
            active_conns: act,
            inactive_conns: inact,
            persistent_conns: pers,
            stats,
            stats64,
        })
    }
}

/// Sync daemon role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SyncState {
    /// Sends connection state.
    Master,
    /// Receives connection state.
    Backup,
}

impl SyncState {
    pub(crate) fn raw(self) -> u32 {
        match self {
            SyncState::Master => 1,
            SyncState::Backup => 2,
        }
    }
}

/// A connection synchronisation daemon.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SyncDaemon {
    /// Master or backup.
    pub state: SyncState,
    /// Multicast interface.
    pub interface: String,
    /// Sync ID (0..=255).
    pub sync_id: u32,
    /// Maximum payload of a sync message (kernel default when `None`).
    pub max_len: Option<u16>,
    /// Multicast group (kernel default 224.0.0.81 when `None`).
    pub group: Option<IpAddr>,
    /// Multicast port (kernel default 8848 when `None`).
    pub port: Option<u16>,
    /// Multicast TTL (kernel default 1 when `None`).
    pub ttl: Option<u8>,
}

impl SyncDaemon {
    /// A daemon with kernel defaults for the optional settings.
    pub fn new(state: SyncState, interface: &str, sync_id: u32) -> Self {
        SyncDaemon {
            state,
            interface: interface.to_string(),
            sync_id,
            max_len: None,
            group: None,
            port: None,
            ttl: None,
        }
    }

    pub(crate) fn to_attrs(&self) -> Vec<DaemonAttr> {
        let mut a = vec![
            DaemonAttr::State(self.state.raw()),
            DaemonAttr::McastIfn(self.interface.clone()),
            DaemonAttr::SyncId(self.sync_id),
        ];
        if let Some(v) = self.max_len {
            a.push(DaemonAttr::SyncMaxLen(v));
        }
        // ipvsadm's order: port and ttl before the group.
        if let Some(v) = self.port {
            a.push(DaemonAttr::McastPort(v));
        }
        if let Some(v) = self.ttl {
            a.push(DaemonAttr::McastTtl(v));
        }
        match self.group {
            Some(IpAddr::V4(g)) => a.push(DaemonAttr::McastGroup(g)),
            Some(IpAddr::V6(g)) => a.push(DaemonAttr::McastGroup6(g)),
            None => {}
        }
        a
    }

    /// Builds the typed view of a daemon attribute set. The kernel reports
    /// every optional setting, so they come back as `Some`.
    pub fn from_attrs(attrs: &[DaemonAttr]) -> Result<SyncDaemon, Error> {
        let mut d = SyncDaemon::new(SyncState::Master, "", 0);
        let mut state = None;
        for a in attrs {
            match a {
                DaemonAttr::State(1) => state = Some(SyncState::Master),
                DaemonAttr::State(2) => state = Some(SyncState::Backup),
                DaemonAttr::State(s) => return Err(Error::decode(format!("daemon state {s}"))),
                DaemonAttr::McastIfn(v) => d.interface = v.clone(),
                DaemonAttr::SyncId(v) => d.sync_id = *v,
                DaemonAttr::SyncMaxLen(v) => d.max_len = Some(*v),
                DaemonAttr::McastGroup(v) => d.group = Some(IpAddr::V4(*v)),
                DaemonAttr::McastGroup6(v) => d.group = Some(IpAddr::V6(*v)),
                DaemonAttr::McastPort(v) => d.port = Some(*v),
                DaemonAttr::McastTtl(v) => d.ttl = Some(*v),
                _ => {}
            }
        }
        d.state = state.ok_or_else(|| Error::decode("daemon without state"))?;
        Ok(d)
    }
}

/// Connection timeouts. On write, a zero duration leaves that timeout as is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Timeouts {
    /// Established TCP connections.
    pub tcp: Duration,
    /// TCP connections after FIN.
    pub tcp_fin: Duration,
    /// UDP.
    pub udp: Duration,
}

/// General IPVS information.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Info {
    /// Version, `0x00MMmmpp` (1.2.1 is `0x010201`).
    pub version: u32,
    /// Size of the connection hash table.
    pub conn_table_size: u32,
}

impl Info {
    /// The version as `(major, minor, patch)`.
    pub fn version_triple(&self) -> (u8, u8, u8) {
        let [_, a, b, c] = self.version.to_be_bytes();
        (a, b, c)
    }
}

/// A service with its destinations: one entry of a desired table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VirtualServer {
    /// The service.
    pub service: Service,
    /// Its destinations.
    pub destinations: Vec<Destination>,
}

/// A service with its destinations as the kernel reports them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VirtualServerEntry {
    /// The service.
    pub service: ServiceEntry,
    /// Its destinations.
    pub destinations: Vec<DestinationEntry>,
}

impl VirtualServerEntry {
    /// The configuration part, comparable with a [`VirtualServer`].
    pub fn config(&self) -> VirtualServer {
        VirtualServer {
            service: self.service.service.clone(),
            destinations: self.destinations.iter().map(|d| d.dest).collect(),
        }
    }
}
