//! `IPVS_DEST_ATTR_*`: a destination (real server).

use super::{Stats64Attr, StatsAttr, nla_enum};

const ADDR: u16 = 1;
const PORT: u16 = 2;
const FWD_METHOD: u16 = 3;
const WEIGHT: u16 = 4;
const U_THRESH: u16 = 5;
const L_THRESH: u16 = 6;
const ACTIVE_CONNS: u16 = 7;
const INACT_CONNS: u16 = 8;
const PERSIST_CONNS: u16 = 9;
const STATS: u16 = 10;
const ADDR_FAMILY: u16 = 11;
const STATS64: u16 = 12;
const TUN_TYPE: u16 = 13;
const TUN_PORT: u16 = 14;
const TUN_FLAGS: u16 = 15;

nla_enum! {
    /// Attributes nested in `IPVS_CMD_ATTR_DEST`.
    pub enum DestAttr {
        /// Real server address, `union nf_inet_addr`.
        Addr([u8; 16]) = ADDR, Raw;
        /// Real server port (big-endian on the wire).
        Port(u16) = PORT, Be16;
        /// `IP_VS_CONN_F_*` forwarding method bits.
        FwdMethod(u32) = FWD_METHOD, U32;
        /// Weight.
        Weight(u32) = WEIGHT, U32;
        /// Upper connection threshold (0: none).
        UThresh(u32) = U_THRESH, U32;
        /// Lower connection threshold.
        LThresh(u32) = L_THRESH, U32;
        /// Active connections (read only).
        ActiveConns(u32) = ACTIVE_CONNS, U32;
        /// Inactive connections (read only).
        InactConns(u32) = INACT_CONNS, U32;
        /// Persistent connection templates (read only).
        PersistConns(u32) = PERSIST_CONNS, U32;
        /// 32-bit statistics.
        Stats(Vec<StatsAttr>) = STATS, Nested;
        /// Address family of the destination (may differ from the service's).
        AddrFamily(u16) = ADDR_FAMILY, U16;
        /// 64-bit statistics.
        Stats64(Vec<Stats64Attr>) = STATS64, Nested;
        /// Tunnel type (`IP_VS_CONN_F_TUNNEL_TYPE_*`).
        TunType(u8) = TUN_TYPE, U8;
        /// Tunnel (GUE) port, big-endian on the wire.
        TunPort(u16) = TUN_PORT, Be16;
        /// `IP_VS_TUNNEL_ENCAP_FLAG_*`.
        TunFlags(u16) = TUN_FLAGS, U16;
    }
}
