//! [`Persistence`] (sticky clients) and its [`PersistenceMask`].

use super::key::Family;
use crate::error::Error;
use std::net::Ipv4Addr;
use std::time::Duration;

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
    pub(super) fn raw(self) -> [u8; 4] {
        match self {
            PersistenceMask::V4(m) => m.octets(),
            PersistenceMask::V6Prefix(p) => u32::from(p).to_ne_bytes(),
        }
    }
    pub(crate) fn from_raw_pub(family: Family, raw: [u8; 4]) -> Result<Self, Error> {
        PersistenceMask::from_raw(family, raw)
    }
    pub(super) fn from_raw(family: Family, raw: [u8; 4]) -> Result<Self, Error> {
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
