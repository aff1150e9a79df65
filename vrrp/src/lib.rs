//! Sans-IO VRRPv2 (RFC 3768) and VRRPv3 (RFC 5798) for IPv4 and IPv6:
//! a wire codec and a virtual router state machine, interoperable with
//! keepalived.
//!
//! # Driving contract
//!
//! The [`Router`] never reads a clock, opens a socket or spawns a thread.
//! The caller owns time and I/O, in the quinn-proto / str0m style:
//!
//! 1. [`Router::start`] once (and [`Router::shutdown`] to resign).
//! 2. For each VRRP packet received (IP payload, plus TTL/hop limit and
//!    addresses in a [`RecvMeta`]), call [`Router::handle_packet`]. It
//!    returns a typed [`DropReason`] when a receive check fails, and counts
//!    it by [`DropKind`] ([`Router::drops`]). The checks are the same in
//!    both versions: TTL / hop limit 255, unicast peers only (when
//!    configured), exact length for the address count, version, checksum,
//!    VRID, v2 authentication, a non-zero interval (v2: ours), and the
//!    address list ([`AddressCheck`]).
//! 3. When the instant from [`Router::poll_timeout`] is reached, call
//!    [`Router::handle_timeout`].
//! 4. After each of these calls, drain [`Router::poll_action`] until `None`
//!    and carry out the [`Action`]s: send advertisements (IP protocol 112,
//!    TTL 255), add/remove the virtual addresses, hand announcements to
//!    lvs-arpguard, log state changes ([`State`], [`Reason`],
//!    [`FaultReason`] and [`DropReason`] print as keepalived's logs do).
//!
//! Tracked signals and faults come in through [`Router::set_track`] and
//! [`Router::set_fault`]. Every `now` is a [`std::time::Instant`] the
//! caller supplies, so simulations run on a virtual clock.
//!
//! # Next to lvs-arpguard
//!
//! The two crates do not depend on each other; the caller joins them.
//!
//! * **Announcements**: the [`Router`] owns the schedule
//!   ([`AnnounceSchedule`]: burst size, gap, repeat, refresh) and emits one
//!   [`Action::Announce`] per burst. lvs-arpguard's `Announcer` only sends
//!   the burst it is given: call `announce_with(addr, a.count, a.interval,
//!   a.mac.map(MacAddr), now)` once per address of each action (see
//!   [`Announcement`]), and do not give it a schedule of its own.
//! * **MACs** are `[u8; 6]` here ([`virtual_mac`], [`Router::virtual_mac`],
//!   the `mac` of the address and announce actions) and
//!   `lvs_arpguard::MacAddr` there: `MacAddr(bytes)` (or
//!   `MacAddr::from(bytes)`) converts.
//! * **Where a VIP lives**: [`Config::virtual_addresses`] are bare
//!   [`IpAddr`](std::net::IpAddr)s because that is all an advertisement
//!   carries. The prefix length, the label (`ens18:0`) and the device of
//!   each VIP (keepalived's `virtual_ipaddress { 10.0.0.1/24 dev eth1
//!   label eth1:0 }`) belong to the layer that composes the crates — the
//!   lvs-director crate's `DirectorConfig` — which looks them up when it
//!   carries out [`Action::AddAddresses`] / [`Action::RemoveAddresses`]
//!   (e.g. with lvs-arpguard's `DirectorVip`).
//!
//! # Interoperability notes
//!
//! * VRRPv3 over IPv4 has three checksum forms in the wild
//!   ([`ChecksumForm`]): with the IP pseudo-header (RFC 5798, keepalived and
//!   FRR default), message only (Cisco-style, keepalived
//!   `v3_checksum_as_v2`), and keepalived's `old_unicast_checksum` (a
//!   pseudo-header with 224.0.0.18 as destination on unicast packets). A
//!   router sends [`Config::checksum_form`] and, unless
//!   [`Config::strict_checksum`], accepts all three and records which one
//!   the peer uses ([`Router::peer_checksum_form`]).
//! * Timers follow the RFC formulas in integer arithmetic: v2 `Skew_Time`
//!   is exactly `(256 − Priority)/256` s; v3 works in centiseconds with
//!   integer division ([`AdvertInterval::skew_time`]).
//! * `start_as_master` reproduces keepalived's `state MASTER`; the RFC
//!   default starts as Backup unless the router owns the addresses.
//!
//! # Features
//!
//! `tokio` adds the `driver` module: raw protocol-112 sockets (TTL 255, group join,
//! unicast, created in any network namespace) and a `Driver` that runs a
//! [`Router`] on them and hands its other actions to the caller. With
//! `Driver::watch_link` it also follows its interface over rtnetlink (link
//! down or no carrier is a [`FaultReason::LinkDown`] fault); a failed send
//! or receive is counted, never fatal.
//!
//! # Example
//!
//! Two routers on a simulated wire: the higher priority one wins.
//!
//! ```
//! use std::net::{IpAddr, Ipv4Addr};
//! use std::time::{Duration, Instant};
//! use lvs_vrrp::{Action, AdvertInterval, Config, RecvMeta, Router, Seconds, State};
//!
//! let vip: IpAddr = Ipv4Addr::new(172, 20, 0, 83).into();
//! let node = |prio, last| {
//!     let addr: IpAddr = Ipv4Addr::new(172, 20, 0, last).into();
//!     Router::new(Config::new(1, prio, AdvertInterval::V2(Seconds(1)), addr, vec![vip])).unwrap()
//! };
//! let mut routers = [node(100, 81), node(90, 82)];
//! let mut now = Instant::now();
//! for r in &mut routers {
//!     r.start(now);
//! }
//! for _ in 0..1000 {
//!     // Deliver every transmitted advert to the other router.
//!     for i in 0..2 {
//!         while let Some(action) = routers[i].poll_action() {
//!             if let Action::Transmit(t) = action {
//!                 let meta = RecvMeta { source: t.source, destination: t.destination, hop_limit: 255 };
//!                 let _ = routers[1 - i].handle_packet(now, &meta, &t.payload);
//!             }
//!         }
//!     }
//!     now = routers.iter().filter_map(|r| r.poll_timeout()).min().unwrap();
//!     for r in &mut routers {
//!         r.handle_timeout(now);
//!     }
//! }
//! assert_eq!(routers[0].state(), State::Master);
//! assert_eq!(routers[1].state(), State::Backup);
//! # let _ = Duration::ZERO;
//! ```
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

/// This crate's README, whose examples run as doctests so it stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

pub mod config;
#[cfg(feature = "tokio")]
#[cfg_attr(docsrs, doc(cfg(feature = "tokio")))]
pub mod driver;
pub mod router;
pub mod units;
pub mod wire;

pub use config::{
    AddressCheck, AnnounceSchedule, Config, ConfigError, Track, TrackKind, virtual_mac,
};
pub use router::{
    Action, AnnounceReason, Announcement, DropCounts, DropKind, DropReason, FaultReason, Reason,
    RecvMeta, Router, State, Transmit, UnknownTrack,
};
pub use units::{AdvertInterval, Centiseconds, IntervalOutOfRange, Seconds};
pub use wire::{Addresses, Auth, ChecksumForm, Family, Kind, Packet, Repr, Version};
