//! `IPVS_STATS_ATTR_*`: counters nested in services and destinations.

use super::nla_enum;

const CONNS: u16 = 1;
const INPKTS: u16 = 2;
const OUTPKTS: u16 = 3;
const INBYTES: u16 = 4;
const OUTBYTES: u16 = 5;
const CPS: u16 = 6;
const INPPS: u16 = 7;
const OUTPPS: u16 = 8;
const INBPS: u16 = 9;
const OUTBPS: u16 = 10;
// IPVS_STATS_ATTR_PAD (11) only aligns 64-bit values; it stays in `Other`.

nla_enum! {
    /// `IPVS_SVC_ATTR_STATS` / `IPVS_DEST_ATTR_STATS`: the 32-bit counters
    /// (byte counters are 64-bit even here).
    pub enum StatsAttr {
        /// Connections scheduled.
        Conns(u32) = CONNS, U32;
        /// Incoming packets.
        InPkts(u32) = INPKTS, U32;
        /// Outgoing packets.
        OutPkts(u32) = OUTPKTS, U32;
        /// Incoming bytes.
        InBytes(u64) = INBYTES, U64;
        /// Outgoing bytes.
        OutBytes(u64) = OUTBYTES, U64;
        /// Connection rate (per second).
        Cps(u32) = CPS, U32;
        /// Incoming packet rate.
        InPps(u32) = INPPS, U32;
        /// Outgoing packet rate.
        OutPps(u32) = OUTPPS, U32;
        /// Incoming byte rate.
        InBps(u32) = INBPS, U32;
        /// Outgoing byte rate.
        OutBps(u32) = OUTBPS, U32;
    }
}

nla_enum! {
    /// `IPVS_SVC_ATTR_STATS64` / `IPVS_DEST_ATTR_STATS64`: every counter 64-bit
    /// (kernels since 4.1).
    pub enum Stats64Attr {
        /// Connections scheduled.
        Conns(u64) = CONNS, U64;
        /// Incoming packets.
        InPkts(u64) = INPKTS, U64;
        /// Outgoing packets.
        OutPkts(u64) = OUTPKTS, U64;
        /// Incoming bytes.
        InBytes(u64) = INBYTES, U64;
        /// Outgoing bytes.
        OutBytes(u64) = OUTBYTES, U64;
        /// Connection rate (per second).
        Cps(u64) = CPS, U64;
        /// Incoming packet rate.
        InPps(u64) = INPPS, U64;
        /// Outgoing packet rate.
        OutPps(u64) = OUTPPS, U64;
        /// Incoming byte rate.
        InBps(u64) = INBPS, U64;
        /// Outgoing byte rate.
        OutBps(u64) = OUTBPS, U64;
    }
}
