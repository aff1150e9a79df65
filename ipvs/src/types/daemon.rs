//! [`SyncDaemon`]: the connection synchronisation daemon.

use crate::error::Error;
use crate::nla::DaemonAttr;
use std::net::IpAddr;

/// Sync daemon role.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SyncState {
    /// Sends connection state.
    Master,
    /// Receives connection state.
    Backup,
}

impl SyncState {
    pub(crate) fn raw(self) -> u32 {
        match self {
            SyncState::Master => 1,
            SyncState::Backup => 2,
        }
    }
}

/// A connection synchronisation daemon; [`SyncDaemon::new`], then set the
/// optional fields.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub struct SyncDaemon {
    /// Master or backup.
    pub state: SyncState,
    /// Multicast interface.
    pub interface: String,
    /// Sync ID (0..=255).
    pub sync_id: u32,
    /// Maximum payload of a sync message (kernel default when `None`).
    pub max_len: Option<u16>,
    /// Multicast group (kernel default 224.0.0.81 when `None`).
    pub group: Option<IpAddr>,
    /// Multicast port (kernel default 8848 when `None`).
    pub port: Option<u16>,
    /// Multicast TTL (kernel default 1 when `None`).
    pub ttl: Option<u8>,
}

impl SyncDaemon {
    /// A daemon with kernel defaults for the optional settings.
    pub fn new(state: SyncState, interface: &str, sync_id: u32) -> Self {
        SyncDaemon {
            state,
            interface: interface.to_string(),
            sync_id,
            max_len: None,
            group: None,
            port: None,
            ttl: None,
        }
    }

    pub(crate) fn to_attrs(&self) -> Vec<DaemonAttr> {
        let mut a = vec![
            DaemonAttr::State(self.state.raw()),
            DaemonAttr::McastIfn(self.interface.clone()),
            DaemonAttr::SyncId(self.sync_id),
        ];
        if let Some(v) = self.max_len {
            a.push(DaemonAttr::SyncMaxLen(v));
        }
        // ipvsadm's order: port and ttl before the group.
        if let Some(v) = self.port {
            a.push(DaemonAttr::McastPort(v));
        }
        if let Some(v) = self.ttl {
            a.push(DaemonAttr::McastTtl(v));
        }
        match self.group {
            Some(IpAddr::V4(g)) => a.push(DaemonAttr::McastGroup(g)),
            Some(IpAddr::V6(g)) => a.push(DaemonAttr::McastGroup6(g)),
            None => {}
        }
        a
    }

    /// Builds the typed view of a daemon attribute set. The kernel reports
    /// every optional setting, so they come back as `Some`.
    pub fn from_attrs(attrs: &[DaemonAttr]) -> Result<SyncDaemon, Error> {
        let mut d = SyncDaemon::new(SyncState::Master, "", 0);
        let mut state = None;
        for a in attrs {
            match a {
                DaemonAttr::State(1) => state = Some(SyncState::Master),
                DaemonAttr::State(2) => state = Some(SyncState::Backup),
                DaemonAttr::State(s) => return Err(Error::decode(format!("daemon state {s}"))),
                DaemonAttr::McastIfn(v) => d.interface = v.clone(),
                DaemonAttr::SyncId(v) => d.sync_id = *v,
                DaemonAttr::SyncMaxLen(v) => d.max_len = Some(*v),
                DaemonAttr::McastGroup(v) => d.group = Some(IpAddr::V4(*v)),
                DaemonAttr::McastGroup6(v) => d.group = Some(IpAddr::V6(*v)),
                DaemonAttr::McastPort(v) => d.port = Some(*v),
                DaemonAttr::McastTtl(v) => d.ttl = Some(*v),
                _ => {}
            }
        }
        d.state = state.ok_or_else(|| Error::decode("daemon without state"))?;
        Ok(d)
    }
}
