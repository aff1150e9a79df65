//! The hot paths without intermediate attribute vectors: requests for
//! services and destinations written straight into the send buffer, and
//! dump replies read straight into the typed view.
//!
//! The attribute enums ([`crate::nla`]) stay the reference: tests check
//! that both paths give identical bytes and identical objects. This path
//! exists because batches and dumps of 10,000+ services spend most of
//! their user-space time building and walking small vectors.

use crate::batch::Op;
use crate::error::Error;
use crate::message::IpvsMessage;
use crate::types::{
    Destination, DestinationEntry, Family, ForwardMethod, Persistence, PersistenceMask, Protocol,
    SchedFlags, Scheduler, Service, ServiceEntry, ServiceKey, Stats, TunnelFlags, TunnelType,
    addr_bytes,
};
use netlink_packet_core::Emitable;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::time::Duration;

const NLA_F_NESTED: u16 = 0x8000;
const NLA_TYPE_MASK: u16 = 0x3fff;

fn put(out: &mut Vec<u8>, kind: u16, value: &[u8]) {
    out.extend_from_slice(&((4 + value.len()) as u16).to_ne_bytes());
    out.extend_from_slice(&kind.to_ne_bytes());
    out.extend_from_slice(value);
    let pad = (4 - value.len() % 4) % 4;
    out.extend_from_slice(&[0u8; 3][..pad]);
}

fn nest(out: &mut Vec<u8>, kind: u16, body: impl FnOnce(&mut Vec<u8>)) {
    let at = out.len();
    out.extend_from_slice(&[0, 0]);
    out.extend_from_slice(&(kind | NLA_F_NESTED).to_ne_bytes());
    body(out);
    let len = (out.len() - at) as u16;
    out[at..at + 2].copy_from_slice(&len.to_ne_bytes());
}

fn put_key(out: &mut Vec<u8>, key: &ServiceKey) {
    match *key {
        ServiceKey::Addr { protocol, addr } => {
            put(out, 1, &Family::of_ip(addr.ip()).raw().to_ne_bytes());
            put(out, 2, &protocol.raw().to_ne_bytes());
            put(out, 3, &addr_bytes(addr.ip()));
            put(out, 4, &addr.port().to_be_bytes());
        }
        ServiceKey::Fwmark { family, mark } => {
            put(out, 1, &family.raw().to_ne_bytes());
            put(out, 5, &mark.to_ne_bytes());
        }
    }
}

fn put_service(out: &mut Vec<u8>, s: &Service) -> Result<(), Error> {
    let (flags, timeout, netmask) = s.wire_parts()?;
    nest(out, 1, |out| {
        put_key(out, &s.key);
        put_str(out, 6, s.scheduler.name());
        if let Some(pe) = &s.pe_name {
            put_str(out, 11, pe);
        }
        let mut f = [0u8; 8];
        f[..4].copy_from_slice(&flags.to_ne_bytes());
        f[4..].copy_from_slice(&u32::MAX.to_ne_bytes());
        put(out, 7, &f);
        put(out, 8, &timeout.to_ne_bytes());
        put(out, 9, &netmask);
    });
    Ok(())
}

fn put_str(out: &mut Vec<u8>, kind: u16, s: &str) {
    let at = out.len();
    out.extend_from_slice(&((5 + s.len()) as u16).to_ne_bytes());
    out.extend_from_slice(&kind.to_ne_bytes());
    out.extend_from_slice(s.as_bytes());
    out.push(0);
    let pad = (4 - (out.len() - at) % 4) % 4;
    out.extend_from_slice(&[0u8; 3][..pad]);
}

fn put_dest(out: &mut Vec<u8>, d: &Destination, full: bool) -> Result<(), Error> {
    let parts = if full { Some(d.wire_parts()?) } else { None };
    nest(out, 2, |out| {
        put(out, 11, &Family::of_ip(d.addr.ip()).raw().to_ne_bytes());
        put(out, 1, &addr_bytes(d.addr.ip()));
        put(out, 2, &d.addr.port().to_be_bytes());
        if let Some((fwd, tun_type, tun_port, tun_flags)) = parts {
            put(out, 3, &fwd.to_ne_bytes());
            put(out, 4, &d.weight.to_ne_bytes());
            put(out, 13, &[tun_type]);
            put(out, 14, &tun_port.to_be_bytes());
            put(out, 15, &tun_flags.to_ne_bytes());
            put(out, 5, &d.upper_threshold.to_ne_bytes());
            put(out, 6, &d.lower_threshold.to_ne_bytes());
        }
    });
    Ok(())
}

impl Op {
    /// Appends this operation's generic netlink payload (the 4-byte genl
    /// header and the attributes) to `out` — the same bytes as emitting
    /// [`Op::to_message`], written directly. On error `out` is unchanged.
    pub fn emit_payload(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        let start = out.len();
        let r = self.emit_payload_inner(out);
        if r.is_err() {
            out.truncate(start);
        }
        r
    }

    fn emit_payload_inner(&self, out: &mut Vec<u8>) -> Result<(), Error> {
        let cmd =
            |out: &mut Vec<u8>, c: crate::IpvsCmd| out.extend_from_slice(&[c.into(), 1, 0, 0]);
        match self {
            Op::AddService(s) => {
                cmd(out, crate::IpvsCmd::NewService);
                put_service(out, s)
            }
            Op::EditService(s) => {
                cmd(out, crate::IpvsCmd::SetService);
                put_service(out, s)
            }
            Op::DeleteService(k) => {
                cmd(out, crate::IpvsCmd::DelService);
                nest(out, 1, |out| put_key(out, k));
                Ok(())
            }
            Op::AddDestination(k, d) | Op::EditDestination(k, d) => {
                let c = if matches!(self, Op::AddDestination(..)) {
                    crate::IpvsCmd::NewDest
                } else {
                    crate::IpvsCmd::SetDest
                };
                cmd(out, c);
                nest(out, 1, |out| put_key(out, k));
                put_dest(out, d, true)
            }
            Op::DeleteDestination(k, addr) => {
                cmd(out, crate::IpvsCmd::DelDest);
                nest(out, 1, |out| put_key(out, k));
                put_dest(
                    out,
                    &Destination::new(*addr, ForwardMethod::Masquerade),
                    false,
                )
            }
            _ => {
                let m: IpvsMessage = self.to_message()?;
                out.extend_from_slice(&[m.cmd.into(), 1, 0, 0]);
                let at = out.len();
                out.resize(at + m.buffer_len(), 0);
                m.emit(&mut out[at..]);
                Ok(())
            }
        }
    }
}

/// The payload of a request naming one service (e.g. a destination dump).
pub(crate) fn key_request(cmd: crate::IpvsCmd, key: &ServiceKey) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    out.extend_from_slice(&[cmd.into(), 1, 0, 0]);
    nest(&mut out, 1, |out| put_key(out, key));
    out
}

/// Iterates the attributes in `buf`: (type without flags, value).
struct Nlas<'a>(&'a [u8]);

impl<'a> Iterator for Nlas<'a> {
    type Item = Result<(u16, &'a [u8]), Error>;
    fn next(&mut self) -> Option<Self::Item> {
        if self.0.len() < 4 {
            return None;
        }
        let len = u16::from_ne_bytes([self.0[0], self.0[1]]) as usize;
        let kind = u16::from_ne_bytes([self.0[2], self.0[3]]) & NLA_TYPE_MASK;
        if len < 4 || len > self.0.len() {
            self.0 = &[];
            return Some(Err(Error::decode(format!("attribute length {len}"))));
        }
        let value = &self.0[4..len];
        let next = ((len + 3) & !3).min(self.0.len());
        self.0 = &self.0[next..];
        Some(Ok((kind, value)))
    }
}

fn u16n(v: &[u8]) -> Result<u16, Error> {
    Ok(u16::from_ne_bytes(
        v.try_into().map_err(|_| Error::decode("u16 attribute"))?,
    ))
}
fn u16b(v: &[u8]) -> Result<u16, Error> {
    Ok(u16::from_be_bytes(
        v.try_into().map_err(|_| Error::decode("port attribute"))?,
    ))
}
fn u32n(v: &[u8]) -> Result<u32, Error> {
    Ok(u32::from_ne_bytes(
        v.try_into().map_err(|_| Error::decode("u32 attribute"))?,
    ))
}
/// A counter: 32-bit in the old stats set, 64-bit otherwise.
fn counter(v: &[u8]) -> Result<u64, Error> {
    match v.len() {
        4 => Ok(u32n(v)?.into()),
        8 => Ok(u64::from_ne_bytes(
            v.try_into().map_err(|_| Error::decode("u64"))?,
        )),
        n => Err(Error::decode(format!("counter of {n} bytes"))),
    }
}
fn addr16(v: &[u8]) -> Result<[u8; 16], Error> {
    v.try_into().map_err(|_| Error::decode("address attribute"))
}
fn ip(family: Family, raw: [u8; 16]) -> IpAddr {
    match family {
        Family::Inet => IpAddr::V4(Ipv4Addr::new(raw[0], raw[1], raw[2], raw[3])),
        Family::Inet6 => IpAddr::V6(Ipv6Addr::from(raw)),
    }
}

fn stats(buf: &[u8]) -> Result<Stats, Error> {
    let mut s = Stats::default();
    for nla in Nlas(buf) {
        let (kind, v) = nla?;
        let field = match kind {
            1 => &mut s.conns,
            2 => &mut s.in_pkts,
            3 => &mut s.out_pkts,
            4 => &mut s.in_bytes,
            5 => &mut s.out_bytes,
            6 => &mut s.cps,
            7 => &mut s.in_pps,
            8 => &mut s.out_pps,
            9 => &mut s.in_bps,
            10 => &mut s.out_bps,
            _ => continue,
        };
        *field = counter(v)?;
    }
    Ok(s)
}

impl ServiceEntry {
    /// Parses the attributes nested in `IPVS_CMD_ATTR_SERVICE` straight into
    /// the typed view (the same result as [`ServiceEntry::from_attrs`] on the
    /// parsed [`SvcAttr`](crate::nla::SvcAttr)s).
    pub fn from_wire(buf: &[u8]) -> Result<ServiceEntry, Error> {
        let (mut af, mut protocol, mut addr, mut port, mut fwmark) = (None, None, None, 0, 0);
        let (mut sched, mut flags, mut timeout, mut netmask, mut pe) = (None, 0, 0, None, None);
        let (mut s32, mut s64) = (None, None);
        for nla in Nlas(buf) {
            let (kind, v) = nla?;
            match kind {
                1 => af = Some(u16n(v)?),
                2 => protocol = Some(u16n(v)?),
                3 => addr = Some(addr16(v)?),
                4 => port = u16b(v)?,
                5 => fwmark = u32n(v)?,
                6 => sched = Some(cstr(v)?),
                7 => flags = u32n(v.get(..4).ok_or_else(|| Error::decode("flags"))?)?,
                8 => timeout = u32n(v)?,
                9 => netmask = Some(<[u8; 4]>::try_from(v).map_err(|_| Error::decode("netmask"))?),
                10 => s32 = Some(v),
                11 => pe = Some(cstr(v)?.to_string()),
                12 => s64 = Some(v),
                _ => {}
            }
        }
        let family =
            Family::from_raw_pub(af.ok_or_else(|| Error::decode("service without family"))?)?;
        let key = if fwmark != 0 {
            ServiceKey::Fwmark {
                family,
                mark: fwmark,
            }
        } else {
            let protocol = match protocol {
                Some(6) => Protocol::Tcp,
                Some(17) => Protocol::Udp,
                Some(132) => Protocol::Sctp,
                other => return Err(Error::decode(format!("service protocol {other:?}"))),
            };
            let raw = addr.ok_or_else(|| Error::decode("service without address"))?;
            ServiceKey::Addr {
                protocol,
                addr: SocketAddr::new(ip(family, raw), port),
            }
        };
        let persistence = if flags & 0x0001 != 0 {
            Some(Persistence {
                timeout: Duration::from_secs(timeout.into()),
                mask: match netmask {
                    Some(raw) => PersistenceMask::from_raw_pub(family, raw)?,
                    None => PersistenceMask::host(family),
                },
            })
        } else {
            None
        };
        let (stats, stats64) = match (s64, s32) {
            (Some(v), _) => (stats(v)?, true),
            (None, Some(v)) => (stats(v)?, false),
            (None, None) => (Stats::default(), false),
        };
        Ok(ServiceEntry {
            service: Service {
                key,
                scheduler: Scheduler::from(
                    sched.ok_or_else(|| Error::decode("service without scheduler"))?,
                ),
                sched_flags: SchedFlags::from_bits_truncate(flags & 0x38),
                persistence,
                one_packet: flags & 0x0004 != 0,
                pe_name: pe,
            },
            stats,
            stats64,
            raw_flags: flags,
        })
    }
}

fn cstr(v: &[u8]) -> Result<&str, Error> {
    let end = v.iter().position(|&b| b == 0).unwrap_or(v.len());
    std::str::from_utf8(&v[..end]).map_err(|_| Error::decode("string attribute is not UTF-8"))
}

impl DestinationEntry {
    /// Parses the attributes nested in `IPVS_CMD_ATTR_DEST` straight into
    /// the typed view (the same result as [`DestinationEntry::from_attrs`]).
    pub fn from_wire(buf: &[u8], service_family: Family) -> Result<DestinationEntry, Error> {
        let mut family = service_family;
        let (mut addr, mut port, mut fwd, mut weight) = (None, 0, None, 0);
        let (mut uth, mut lth, mut act, mut inact, mut pers) = (0, 0, 0, 0, 0);
        let (mut tun_type, mut tun_port, mut tun_flags) = (0u8, 0u16, 0u16);
        let (mut s32, mut s64) = (None, None);
        for nla in Nlas(buf) {
            let (kind, v) = nla?;
            match kind {
                1 => addr = Some(addr16(v)?),
                2 => port = u16b(v)?,
                3 => fwd = Some(u32n(v)?),
                4 => weight = u32n(v)?,
                5 => uth = u32n(v)?,
                6 => lth = u32n(v)?,
                7 => act = u32n(v)?,
                8 => inact = u32n(v)?,
                9 => pers = u32n(v)?,
                10 => s32 = Some(v),
                11 => family = Family::from_raw_pub(u16n(v)?)?,
                12 => s64 = Some(v),
                13 => tun_type = *v.first().ok_or_else(|| Error::decode("tunnel type"))?,
                14 => tun_port = u16b(v)?,
                15 => tun_flags = u16n(v)?,
                _ => {}
            }
        }
        let raw = addr.ok_or_else(|| Error::decode("destination without address"))?;
        let forward =
            match fwd.ok_or_else(|| Error::decode("destination without forward method"))? & 7 {
                0 => ForwardMethod::Masquerade,
                1 => ForwardMethod::Local,
                3 => ForwardMethod::DirectRoute,
                2 => ForwardMethod::Tunnel {
                    kind: match tun_type {
                        0 => TunnelType::Ipip,
                        1 => TunnelType::Gue { port: tun_port },
                        2 => TunnelType::Gre,
                        t => return Err(Error::decode(format!("tunnel type {t}"))),
                    },
                    flags: TunnelFlags::from_bits_truncate(tun_flags),
                },
                other => return Err(Error::decode(format!("forward method {other}"))),
            };
        let (stats, stats64) = match (s64, s32) {
            (Some(v), _) => (stats(v)?, true),
            (None, Some(v)) => (stats(v)?, false),
            (None, None) => (Stats::default(), false),
        };
        Ok(DestinationEntry {
            dest: Destination {
                addr: SocketAddr::new(ip(family, raw), port),
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

/// The value of the first top-level attribute of `kind` in a message's
/// attribute bytes.
pub(crate) fn top_level(attrs: &[u8], kind: u16) -> Result<Option<&[u8]>, Error> {
    for nla in Nlas(attrs) {
        let (k, v) = nla?;
        if k == kind {
            return Ok(Some(v));
        }
    }
    Ok(None)
}
