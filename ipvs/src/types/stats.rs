//! [`Stats`]: traffic counters and rates.

use crate::nla::{Stats64Attr, StatsAttr};

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
    pub(super) fn from32(attrs: &[StatsAttr]) -> Stats {
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
    pub(super) fn from64(attrs: &[Stats64Attr]) -> Stats {
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
