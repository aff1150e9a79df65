//! `IPVS_INFO_ATTR_*`: top-level attributes of the `IPVS_CMD_GET_INFO` reply.

use super::nla_enum;

const VERSION: u16 = 1;
const CONN_TAB_SIZE: u16 = 2;

nla_enum! {
    /// Attributes of the info reply (they share numbers with the command
    /// attributes, so the message parser picks this space by command).
    pub enum InfoAttr {
        /// IPVS version, `0x00MMmmpp`.
        Version(u32) = VERSION, U32;
        /// Size of the connection hash table.
        ConnTabSize(u32) = CONN_TAB_SIZE, U32;
    }
}
