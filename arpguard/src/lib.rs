//! Who answers ARP for a VIP: backend suppression, director announcements, audits.
#![warn(missing_docs)]

pub mod addr;
pub mod announce;
pub mod audit;
mod error;
pub mod netns;
pub mod nft;
pub mod packet;
pub mod probe;
pub mod rtnl;
pub mod sysctl;
pub mod wire;

pub use addr::{AddressState, BackendVip, BackendVipUndo, DirectorVip, InterfaceAddress};
pub use error::{Error, Result};
pub use netns::Namespace;
pub use rtnl::{Change, Link, Rtnl};
pub use wire::MacAddr;
