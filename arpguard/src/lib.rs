//! Who answers ARP for a VIP: silence on the backends, announcements from
//! the director, and audits of what broke the seed's lab.
//!
//! In IPVS Direct Routing every real server holds the VIP, yet only the
//! active director may answer ARP for it. This crate owns the VIP's
//! presence on the wire:
//!
//! - **Addresses** ([`addr`], [`rtnl`]): the VIP on a backend's `lo` or a
//!   dummy interface as /32 or /128 ([`BackendVip`]), the VIP on the
//!   director's interface with an optional label such as `ens18:0`
//!   ([`DirectorVip`]), and typed listings ([`InterfaceAddress`]: dynamic,
//!   permanent, secondary, label, lifetimes). All idempotent, all through
//!   rtnetlink, all in any network namespace: every such call takes
//!   `ns: Option<BorrowedFd<'_>>`, `None` for the caller's namespace or the
//!   fd of another one (`File::open("/run/netns/NAME")?.as_fd()`), entered
//!   on a helper thread so the caller's thread never moves.
//! - **Suppression on backends**, two modes: (a) [`sysctl`] — `arp_ignore=1`
//!   and `arp_announce=2` where they take effect (the kernel uses
//!   `max(conf/all, conf/<iface>)` of the *segment* interface, so `lo` is
//!   the wrong place), effective values reported, previous values restored
//!   on undo; (b) [`nft`] — a table `arp lvs_arpguard` that drops requests
//!   for the VIP and rewrites the VIP as ARP sender to the real address,
//!   replaced atomically in one `nft -f -` transaction. (a) is the default.
//! - **Announcements from the director** ([`announce`]): gratuitous ARP in
//!   request and reply forms and IPv6 unsolicited neighbour advertisements,
//!   in the bursts the caller asks for (count, interval; with VRRP, one per
//!   lvs-vrrp `Action::Announce`: the router decides when), rate-limited
//!   across VIPs, from the interface's or the virtual MAC, sent on an
//!   `AF_PACKET` socket ([`packet`]).
//! - **Audits** ([`probe`], [`audit`]): who answers `who-has VIP` on the
//!   segment (more than one MAC, or a backend's, is a leak, named by its
//!   host address); ghost addresses on the IPVS interface — DHCP (dynamic)
//!   ones like the seed's `172.20.0.97/24 dynamic`, unexpected ones and
//!   duplicate VIPs — each with the `ip addr del` that fixes it; and
//!   [`audit::verify_backend`], one call for VIP present + suppression in
//!   force + no leak. [`watch`] keeps a backend's suppression in place.
//!
//! # IPv6
//!
//! A backend needs **nothing** for an IPv6 VIP on `lo` (or a dummy): Linux
//! answers a neighbour solicitation only for an address configured on the
//! interface it arrived on (`ndisc_recv_ns` looks the target up on that
//! device), so a VIP on `lo` is never advertised on the segment — there is
//! no IPv6 counterpart of `arp_ignore` to set. This holds unless
//! `proxy_ndp` is enabled with a proxy entry for the VIP; don't. The VIP is
//! added with `nodad` since nothing on the segment could defend it anyway.
//! The test `netns_ipv6_vip_on_lo_gets_no_neighbour_advertisement` checks
//! it on the running kernel. The director announces IPv6 VIPs with
//! unsolicited NAs (Override set), which update existing neighbour entries.
//!
//! # Driving the announcer
//!
//! [`announce::Announcer`] is sans-IO: pass `now` in, take frames out with
//! `poll_transmit(now)` until it returns `None`, then sleep until
//! `poll_timeout()` (or until a new burst is asked for). It never reads the
//! clock. [`announce::drive_until`] is a blocking driver for a packet socket.
//!
//! Each call sends one burst and nothing after it: repeats and refreshes
//! are the caller's to ask for. Next to lvs-vrrp, its `Router` asks — one
//! `Action::Announce` per burst, carrying the count, interval and MAC to
//! pass on (the MAC as `[u8; 6]`: wrap it, `MacAddr(bytes)`); see
//! [`announce`] for the few lines that do it.
//!
//! ```
//! use std::net::{IpAddr, Ipv4Addr};
//! use std::time::{Duration, Instant};
//! use lvs_arpguard::announce::{Announcer, AnnouncerConfig, FrameKind};
//! use lvs_arpguard::wire::{parse_arp_frame, ArpOperation, MacAddr};
//!
//! let mut announcer = Announcer::new(AnnouncerConfig::new(MacAddr::vrrp_v4(1)));
//! let t0 = Instant::now();
//! let vip = IpAddr::V4(Ipv4Addr::new(172, 20, 0, 83));
//! // One burst of 2 announcements 100 ms apart (as an lvs-vrrp
//! // Announcement with count 2, interval 100 ms would ask).
//! announcer.announce_with(vip, 2, Duration::from_millis(100), None, t0);
//!
//! // First round: the request form (RFC 5227 announcement), then the reply form.
//! let first = announcer.poll_transmit(t0).unwrap();
//! assert_eq!(first.kind, FrameKind::GarpRequest);
//! let (eth, arp) = parse_arp_frame(&first.frame).unwrap();
//! assert_eq!(eth.src, MacAddr::vrrp_v4(1));
//! assert_eq!((arp.operation, arp.source_ip, arp.target_ip),
//!            (ArpOperation::Request, Ipv4Addr::new(172, 20, 0, 83), Ipv4Addr::new(172, 20, 0, 83)));
//! assert_eq!(announcer.poll_transmit(t0).unwrap().kind, FrameKind::GarpReply);
//! assert!(announcer.poll_transmit(t0).is_none());
//!
//! // The second round is due one interval later; then the burst is over.
//! let t1 = t0 + Duration::from_millis(100);
//! assert_eq!(announcer.poll_timeout(), Some(t1));
//! assert_eq!(announcer.poll_transmit(t1).unwrap().kind, FrameKind::GarpRequest);
//! assert_eq!(announcer.poll_transmit(t1).unwrap().kind, FrameKind::GarpReply);
//! assert_eq!(announcer.poll_timeout(), None);
//! ```
//!
//! A backend, in its namespace (needs root):
//!
//! ```no_run
//! use std::net::{IpAddr, Ipv4Addr};
//! use lvs_arpguard::sysctl::{apply_sysctls, ArpSysctls, SysctlScope};
//! use std::fs::File;
//! use std::os::fd::AsFd;
//! use lvs_arpguard::{BackendVip, Rtnl};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let www1 = File::open("/run/netns/www1")?;
//! let ns = Some(www1.as_fd());
//! let mut rtnl = Rtnl::open(ns)?;
//! let vip = BackendVip::on_lo(IpAddr::V4(Ipv4Addr::new(172, 20, 0, 83)));
//! let vip_undo = vip.install(&mut rtnl)?;
//! let record = apply_sysctls(ns, &["ens18"], SysctlScope::Interfaces)?;
//! assert!(ArpSysctls::read(ns, "ens18")?.suppresses());
//! // ... and to take it all back:
//! record.undo(ns)?;
//! vip_undo.undo(&mut rtnl)?;
//! # Ok(())
//! # }
//! ```
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

/// This crate's README, whose examples run as doctests so it stays true.
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeDoctests;

pub mod addr;
pub mod announce;
pub mod audit;
mod error;
mod netns;
pub mod nft;
pub mod packet;
pub mod probe;
pub mod rtnl;
pub mod sysctl;
pub mod watch;
pub mod wire;

/// The reply decoders [`Rtnl`] keeps private, for the fuzz targets (`fuzz/`).
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing {
    use netlink_packet_route::address::AddressMessage;
    use netlink_packet_route::link::LinkMessage;

    /// What [`crate::Rtnl::addresses`] makes of one `RTM_NEWADDR` reply.
    pub fn address_from(msg: &AddressMessage) -> Option<crate::InterfaceAddress> {
        crate::InterfaceAddress::from_message(msg, String::new())
    }

    /// What [`crate::Rtnl::links`] makes of one `RTM_NEWLINK` reply.
    pub fn link_from(msg: &LinkMessage) -> crate::Link {
        crate::rtnl::link_from(msg)
    }
}

pub use addr::{AddressState, BackendVip, BackendVipUndo, DirectorVip, InterfaceAddress};
pub use error::{Error, Result};
pub use rtnl::{Change, Link, MacvlanMode, NeighState, Neighbour, Rtnl};
pub use wire::MacAddr;
