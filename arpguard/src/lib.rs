//! Who answers ARP for a VIP: backend suppression, director announcements, audits.
#![warn(missing_docs)]

pub mod addr;
mod error;
pub mod netns;
pub mod rtnl;
pub mod sysctl;
pub mod wire;

pub use addr::{AddressState, BackendVip, BackendVipUndo, DirectorVip, InterfaceAddress};
pub use error::{Error, Result};
pub use netns::Namespace;
pub use rtnl::{Change, Link, Rtnl};
pub use wire::MacAddr;
