//! Typed control of the Linux kernel's IPVS (`ip_vs`) over its generic
//! netlink family `"IPVS"`: services, destinations, sync daemons, timeouts,
//! info, counters — what `ipvsadm` does, as a library.
//!
//! * [`IpvsHandle`] — blocking, one persistent close-on-exec netlink socket,
//!   optionally inside another network namespace
//!   ([`IpvsHandle::open_in_netns`]); the family id is resolved lazily and
//!   again if `ip_vs` was (re)loaded after the handle was made.
//! * [`IpvsHandle::apply`] — a batch of [`Op`]s with many requests in flight,
//!   one result per operation.
//! * [`IpvsHandle::reconcile`] / [`reconcile::plan`] — desired table in,
//!   minimal add/edit/delete out; no write at all when nothing differs.
//! * [`nla`] and [`message`] — the wire format, parsed and emitted
//!   byte-for-byte (tested against captured ipvsadm and kernel messages).
//! * With the `tokio` feature, `AsyncIpvsHandle` runs the blocking handle
//!   on tokio's blocking pool.
//!
//! Errors are typed ([`Error`]): `EEXIST`, `ESRCH`, `ENOENT`, `EPERM` and
//! `EINVAL` are mapped to their meaning for the operation that failed, and a
//! kernel without IPVS gives [`Error::IpvsUnavailable`] with a hint to load
//! `ip_vs`. Opening a handle never needs `ip_vs` (it only opens sockets);
//! the first request does, and [`IpvsHandle::is_available`] asks up front.
//!
//! The seed lab's service, programmed and read back (needs root and the
//! `ip_vs` and `ip_vs_rr` modules):
//!
//! ```no_run
//! use lvs_ipvs::{
//!     Destination, ForwardMethod, IpvsHandle, Removal, Scheduler, Service, ServiceKey,
//!     VirtualServer,
//! };
//!
//! let mut ipvs = IpvsHandle::open()?;
//! let key = ServiceKey::tcp("172.20.0.83:80".parse().unwrap());
//! let desired = vec![VirtualServer {
//!     service: Service::new(key, Scheduler::RoundRobin),
//!     destinations: vec![
//!         Destination::new("172.20.0.85:80".parse().unwrap(), ForwardMethod::DirectRoute),
//!         Destination::new("172.20.0.86:80".parse().unwrap(), ForwardMethod::DirectRoute),
//!     ],
//! }];
//! let report = ipvs.reconcile(&desired, Removal::Delete)?;
//! assert!(report.is_ok());
//! // Already matching: nothing is written the second time.
//! let writes = ipvs.write_requests();
//! ipvs.reconcile(&desired, Removal::Delete)?;
//! assert_eq!(ipvs.write_requests(), writes);
//! for vs in ipvs.table()? {
//!     println!("{} {}", vs.service.service.key, vs.service.service.scheduler);
//!     for d in &vs.destinations {
//!         println!("  -> {} {:?} weight {}", d.dest.addr, d.dest.forward, d.dest.weight);
//!     }
//! }
//! # Ok::<(), lvs_ipvs::Error>(())
//! ```
//!
//! Building requests needs no kernel; this runs anywhere:
//!
//! ```
//! use lvs_ipvs::{Op, Scheduler, Service, ServiceKey};
//! use netlink_packet_core::Emitable;
//!
//! let svc = Service::new(ServiceKey::tcp("172.20.0.83:80".parse().unwrap()), Scheduler::RoundRobin);
//! let msg = Op::AddService(svc).to_message().unwrap();
//! let mut bytes = vec![0; msg.buffer_len()];
//! msg.emit(&mut bytes);
//! // The service nest: NLA_F_NESTED | IPVS_CMD_ATTR_SERVICE, like ipvsadm.
//! assert_eq!(&bytes[2..4], &[0x01, 0x80]);
//! ```
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

/// This crate's README, whose examples run as doctests so it stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

mod batch;
mod direct;
mod error;
mod handle;
pub mod message;
pub mod nla;
pub mod reconcile;
#[cfg(feature = "tokio")]
mod tokio_handle;
mod types;

pub use batch::{MAX_DATAGRAM, Op};
pub use error::Error;
pub use handle::IpvsHandle;
pub use message::{IpvsCmd, IpvsMessage};
pub use reconcile::{ReconcileReport, Removal};
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub use tokio_handle::AsyncIpvsHandle;
pub use types::{
    Destination, DestinationEntry, Family, ForwardMethod, Info, Persistence, PersistenceMask,
    Protocol, SchedFlags, Scheduler, Service, ServiceEntry, ServiceKey, Stats, SyncDaemon,
    SyncState, Timeouts, TunnelFlags, TunnelType, VirtualServer, VirtualServerEntry,
};
