//! [`Service`] as written and read back, and [`ServiceEntry`] as the kernel reports it.

use super::key::{Family, IPPROTO_SCTP, IPPROTO_TCP, IPPROTO_UDP, Protocol, ServiceKey, ip_from};
use super::persistence::{Persistence, PersistenceMask};
use super::scheduler::{SchedFlags, Scheduler};
use super::stats::Stats;
use crate::error::Error;
use crate::nla::{SvcAttr, SvcFlags};
use std::net::SocketAddr;
use std::time::Duration;

const SVC_F_PERSISTENT: u32 = 0x0001;
/// Set by the kernel on every hashed (i.e. live) service; never ours to write.
const SVC_F_HASHED: u32 = 0x0002;
const SVC_F_ONEPACKET: u32 = 0x0004;
const SVC_F_SCHED_MASK: u32 = 0x0008 | 0x0010 | 0x0020;

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
