//! `IPVS_SVC_ATTR_*`: a virtual service.

use super::{Stats64Attr, StatsAttr, nla_enum};
use netlink_packet_core::DecodeError;

const AF: u16 = 1;
const PROTOCOL: u16 = 2;
const ADDR: u16 = 3;
const PORT: u16 = 4;
const FWMARK: u16 = 5;
const SCHED_NAME: u16 = 6;
const FLAGS: u16 = 7;
const TIMEOUT: u16 = 8;
const NETMASK: u16 = 9;
const STATS: u16 = 10;
const PE_NAME: u16 = 11;
const STATS64: u16 = 12;

/// `struct ip_vs_flags`: the flags to set and the mask of flags it covers.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SvcFlags {
    /// `IP_VS_SVC_F_*` bits.
    pub flags: u32,
    /// Which bits of `flags` are meant (ipvsadm and this crate send `!0`).
    pub mask: u32,
}

pub(crate) struct Flags;
impl super::Codec<SvcFlags> for Flags {
    fn len(_: &SvcFlags) -> usize {
        8
    }
    fn emit(v: &SvcFlags, buf: &mut [u8]) {
        buf[..4].copy_from_slice(&v.flags.to_ne_bytes());
        buf[4..].copy_from_slice(&v.mask.to_ne_bytes());
    }
    fn parse(buf: &[u8]) -> Result<SvcFlags, DecodeError> {
        let raw: [u8; 8] = super::exact(buf)?;
        let (f, m) = raw.split_at(4);
        Ok(SvcFlags {
            flags: u32::from_ne_bytes(super::exact(f)?),
            mask: u32::from_ne_bytes(super::exact(m)?),
        })
    }
}

nla_enum! {
    /// Attributes nested in `IPVS_CMD_ATTR_SERVICE`.
    pub enum SvcAttr {
        /// Address family (`AF_INET` 2, `AF_INET6` 10).
        Af(u16) = AF, U16;
        /// IP protocol number (TCP 6, UDP 17, SCTP 132).
        Protocol(u16) = PROTOCOL, U16;
        /// Virtual address, `union nf_inet_addr` (IPv4 in the first 4 bytes).
        Addr([u8; 16]) = ADDR, Raw;
        /// Virtual port (big-endian on the wire).
        Port(u16) = PORT, Be16;
        /// Firewall mark of a fwmark service.
        Fwmark(u32) = FWMARK, U32;
        /// Scheduler name (`rr`, `wlc`, …).
        SchedName(String) = SCHED_NAME, Str;
        /// `IP_VS_SVC_F_*` flags with their mask.
        Flags(SvcFlags) = FLAGS, Flags;
        /// Persistence timeout in seconds.
        Timeout(u32) = TIMEOUT, U32;
        /// Persistence netmask: the IPv4 mask in network order, or for IPv6
        /// the prefix length as a host-order `u32` — kept as the raw 4 bytes.
        Netmask([u8; 4]) = NETMASK, Raw;
        /// 32-bit statistics.
        Stats(Vec<StatsAttr>) = STATS, Nested;
        /// Persistence engine name (`sip`).
        PeName(String) = PE_NAME, Str;
        /// 64-bit statistics.
        Stats64(Vec<Stats64Attr>) = STATS64, Nested;
    }
}
