//! `IPVS_DAEMON_ATTR_*`: a connection synchronisation daemon.

use super::nla_enum;
use std::net::{Ipv4Addr, Ipv6Addr};

const STATE: u16 = 1;
const MCAST_IFN: u16 = 2;
const SYNC_ID: u16 = 3;
const SYNC_MAXLEN: u16 = 4;
const MCAST_GROUP: u16 = 5;
const MCAST_GROUP6: u16 = 6;
const MCAST_PORT: u16 = 7;
const MCAST_TTL: u16 = 8;

nla_enum! {
    /// Attributes nested in `IPVS_CMD_ATTR_DAEMON`.
    pub enum DaemonAttr {
        /// `IP_VS_STATE_MASTER` (1) or `IP_VS_STATE_BACKUP` (2).
        State(u32) = STATE, U32;
        /// Multicast interface name.
        McastIfn(String) = MCAST_IFN, Str;
        /// Sync ID.
        SyncId(u32) = SYNC_ID, U32;
        /// Maximum sync message payload.
        SyncMaxLen(u16) = SYNC_MAXLEN, U16;
        /// IPv4 multicast group.
        McastGroup(Ipv4Addr) = MCAST_GROUP, V4;
        /// IPv6 multicast group.
        McastGroup6(Ipv6Addr) = MCAST_GROUP6, V6;
        /// Multicast port — host order on the wire, unlike the other ports
        /// (the kernel converts it when it opens the socket).
        McastPort(u16) = MCAST_PORT, U16;
        /// Multicast TTL.
        McastTtl(u8) = MCAST_TTL, U8;
    }
}
