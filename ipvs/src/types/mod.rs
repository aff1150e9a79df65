//! The typed view of IPVS objects: what a caller writes and reads back.
//!
//! Conversions to and from the wire attributes ([`crate::nla`]) live here.
//! Fields the kernel sets on its own (the `HASHED` service flag, counters,
//! statistics) never make a read-back object differ from what was written:
//! they are masked out or kept in separate `*Entry` types.

mod daemon;
mod destination;
mod info;
mod key;
mod persistence;
mod scheduler;
mod service;
mod stats;
mod table;
mod timeouts;

pub(crate) use key::addr_bytes;

pub use daemon::{SyncDaemon, SyncState};
pub use destination::{Destination, DestinationEntry, ForwardMethod, TunnelFlags, TunnelType};
pub use info::Info;
pub use key::{Family, Protocol, ServiceKey};
pub use persistence::{Persistence, PersistenceMask};
pub use scheduler::{SchedFlags, Scheduler};
pub use service::{Service, ServiceEntry};
pub use stats::Stats;
pub use table::{VirtualServer, VirtualServerEntry};
pub use timeouts::Timeouts;
