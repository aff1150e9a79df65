//! [`Destination`] (a real server) as written and read back, [`DestinationEntry`] as the kernel reports it, and how packets reach it ([`ForwardMethod`], [`TunnelType`]).

use super::key::{Family, addr_bytes, ip_from};
use super::stats::Stats;
use crate::error::Error;
use crate::nla::DestAttr;
use std::net::SocketAddr;

const CONN_F_FWD_MASK: u32 = 0x0007;
const CONN_F_MASQ: u32 = 0;
const CONN_F_LOCALNODE: u32 = 1;
const CONN_F_TUNNEL: u32 = 2;
const CONN_F_DROUTE: u32 = 3;

const TUN_TYPE_IPIP: u8 = 0;
const TUN_TYPE_GUE: u8 = 1;
const TUN_TYPE_GRE: u8 = 2;

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
