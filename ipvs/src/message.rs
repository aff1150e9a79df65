//! [`IpvsMessage`]: one IPVS generic netlink message (command + attributes).

use crate::nla::{CmdAttr, InfoAttr, parse_nlas};
use netlink_packet_core::{
    DecodeError, Emitable, NLA_F_NESTED, NlasIterator, ParseableParametrized,
};
use netlink_packet_generic::{GenlFamily, GenlHeader};

/// `IPVS_GENL_NAME`.
pub const FAMILY_NAME: &str = "IPVS";
/// `IPVS_GENL_VERSION`.
const FAMILY_VERSION: u8 = 1;

/// `IPVS_CMD_*`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum IpvsCmd {
    /// Add a service (also the command of service dump replies).
    NewService,
    /// Edit a service.
    SetService,
    /// Delete a service.
    DelService,
    /// Get one service or dump all.
    GetService,
    /// Add a destination (also the command of destination dump replies).
    NewDest,
    /// Edit a destination.
    SetDest,
    /// Delete a destination.
    DelDest,
    /// Dump the destinations of a service.
    GetDest,
    /// Start a sync daemon (also the command of daemon dump replies).
    NewDaemon,
    /// Stop a sync daemon.
    DelDaemon,
    /// Dump the sync daemons.
    GetDaemon,
    /// Set timeouts (also the command of the timeouts reply).
    SetConfig,
    /// Get timeouts.
    GetConfig,
    /// The command of the info reply.
    SetInfo,
    /// Get version and connection table size.
    GetInfo,
    /// Zero the counters of one service or all.
    Zero,
    /// Delete every service.
    Flush,
    /// A command this crate does not know.
    Other(u8),
}

impl From<IpvsCmd> for u8 {
    fn from(cmd: IpvsCmd) -> u8 {
        use IpvsCmd::*;
        match cmd {
            NewService => 1,
            SetService => 2,
            DelService => 3,
            GetService => 4,
            NewDest => 5,
            SetDest => 6,
            DelDest => 7,
            GetDest => 8,
            NewDaemon => 9,
            DelDaemon => 10,
            GetDaemon => 11,
            SetConfig => 12,
            GetConfig => 13,
            SetInfo => 14,
            GetInfo => 15,
            Zero => 16,
            Flush => 17,
            Other(n) => n,
        }
    }
}

impl From<u8> for IpvsCmd {
    fn from(n: u8) -> IpvsCmd {
        use IpvsCmd::*;
        match n {
            1 => NewService,
            2 => SetService,
            3 => DelService,
            4 => GetService,
            5 => NewDest,
            6 => SetDest,
            7 => DelDest,
            8 => GetDest,
            9 => NewDaemon,
            10 => DelDaemon,
            11 => GetDaemon,
            12 => SetConfig,
            13 => GetConfig,
            14 => SetInfo,
            15 => GetInfo,
            16 => Zero,
            17 => Flush,
            n => Other(n),
        }
    }
}

impl IpvsCmd {
    /// Whether the kernel answers this command with info attributes
    /// (`IPVS_INFO_ATTR_*`) instead of command attributes.
    fn carries_info(self) -> bool {
        matches!(self, IpvsCmd::SetInfo | IpvsCmd::GetInfo)
    }

    /// Whether the command changes kernel state.
    pub fn is_write(self) -> bool {
        use IpvsCmd::*;
        matches!(
            self,
            NewService
                | SetService
                | DelService
                | NewDest
                | SetDest
                | DelDest
                | NewDaemon
                | DelDaemon
                | SetConfig
                | Zero
                | Flush
        )
    }
}

/// The payload of an IPVS generic netlink message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IpvsMessage {
    /// The command.
    pub cmd: IpvsCmd,
    /// The top-level attributes (empty in an info reply).
    pub attrs: Vec<CmdAttr>,
    /// The info attributes, only in `SetInfo`/`GetInfo` messages.
    pub info: Vec<InfoAttr>,
    /// Whether the top-level nests (service, destination, daemon) carry
    /// `NLA_F_NESTED`. ipvsadm (libnl) sets it in requests, the kernel does
    /// not in replies; kept so both emit back byte-for-byte. Requests built by
    /// this crate set it, like ipvsadm.
    pub nested_flag: bool,
}

impl IpvsMessage {
    /// A message with `cmd` and `attrs`.
    pub fn new(cmd: IpvsCmd, attrs: Vec<CmdAttr>) -> Self {
        IpvsMessage {
            cmd,
            attrs,
            info: Vec::new(),
            nested_flag: true,
        }
    }
}

impl GenlFamily for IpvsMessage {
    fn family_name() -> &'static str {
        FAMILY_NAME
    }
    fn command(&self) -> u8 {
        self.cmd.into()
    }
    fn version(&self) -> u8 {
        FAMILY_VERSION
    }
}

impl Emitable for IpvsMessage {
    fn buffer_len(&self) -> usize {
        self.attrs.as_slice().buffer_len() + self.info.as_slice().buffer_len()
    }
    fn emit(&self, buffer: &mut [u8]) {
        let split = self.attrs.as_slice().buffer_len();
        let (a, b) = buffer.split_at_mut(split);
        self.attrs.as_slice().emit(a);
        self.info.as_slice().emit(b);
        if self.nested_flag {
            // Mark the top-level nests the way libnl does.
            let mut off = 0;
            for attr in &self.attrs {
                if matches!(
                    attr,
                    CmdAttr::Service(_) | CmdAttr::Dest(_) | CmdAttr::Daemon(_)
                ) {
                    a[off + 3] |= (NLA_F_NESTED >> 8) as u8;
                }
                off += attr.buffer_len();
            }
        }
    }
}

impl ParseableParametrized<[u8], GenlHeader> for IpvsMessage {
    fn parse_with_param(buf: &[u8], header: GenlHeader) -> Result<Self, DecodeError> {
        let cmd = IpvsCmd::from(header.cmd);
        if cmd.carries_info() {
            Ok(IpvsMessage {
                cmd,
                attrs: Vec::new(),
                info: parse_nlas(buf)?,
                nested_flag: false,
            })
        } else {
            let mut nested_flag = false;
            for nla in NlasIterator::new(buf) {
                let nla = nla?;
                if nla.nested_flag() && matches!(nla.kind(), 1..=3) {
                    nested_flag = true;
                }
            }
            Ok(IpvsMessage {
                cmd,
                attrs: parse_nlas(buf)?,
                info: Vec::new(),
                nested_flag,
            })
        }
    }
}
