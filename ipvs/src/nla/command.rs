//! `IPVS_CMD_ATTR_*`: the first level of every IPVS message.

use super::{DaemonAttr, DestAttr, SvcAttr, nla_enum};

const SERVICE: u16 = 1;
const DEST: u16 = 2;
const DAEMON: u16 = 3;
const TIMEOUT_TCP: u16 = 4;
const TIMEOUT_TCP_FIN: u16 = 5;
const TIMEOUT_UDP: u16 = 6;

nla_enum! {
    /// Top-level attributes of an IPVS message (except the info reply, see
    /// [`InfoAttr`](super::InfoAttr)).
    pub enum CmdAttr {
        /// A service.
        Service(Vec<SvcAttr>) = SERVICE, Nested;
        /// A destination.
        Dest(Vec<DestAttr>) = DEST, Nested;
        /// A sync daemon.
        Daemon(Vec<DaemonAttr>) = DAEMON, Nested;
        /// TCP established timeout, seconds.
        TimeoutTcp(u32) = TIMEOUT_TCP, U32;
        /// TCP FIN_WAIT timeout, seconds.
        TimeoutTcpFin(u32) = TIMEOUT_TCP_FIN, U32;
        /// UDP timeout, seconds.
        TimeoutUdp(u32) = TIMEOUT_UDP, U32;
    }
}
