//! The director's announcer: gratuitous ARP and unsolicited neighbour
//! advertisements for the VIPs it just took over.
//!
//! [`Announcer`] is sans-IO: the caller passes `now` in, takes frames out
//! with [`Announcer::poll_transmit`], and sleeps until
//! [`Announcer::poll_timeout`]. [`drive_until`] is a small blocking driver
//! over a [`PacketSocket`].
//!
//! # One burst per request
//!
//! The announcer sends the burst it is asked for — `count` announcements
//! per VIP, `interval` apart — and nothing after it. *When* bursts happen
//! is the caller's decision. With VRRP, lvs-vrrp's `Router` owns that
//! schedule (keepalived's `garp_master_repeat`, `garp_interval`,
//! `garp_master_delay`, `garp_master_refresh`, in its `AnnounceSchedule`)
//! and emits one `Action::Announce` per burst: on becoming Master, the
//! delayed repeat, each refresh. Hand each action to the announcer once,
//! and each burst is sent once:
//!
//! ```text
//! Action::Announce(a) => {
//!     for addr in &a.addresses {
//!         announcer.announce_with(*addr, a.count, a.interval, a.mac.map(MacAddr), now);
//!     }
//! }
//! ```
//!
//! lvs-vrrp's MACs are plain `[u8; 6]`; [`MacAddr(bytes)`](MacAddr) (or
//! `MacAddr::from(bytes)`) is the whole conversion. Neither crate depends
//! on the other.

use std::collections::{BTreeMap, VecDeque};
use std::net::IpAddr;
use std::time::{Duration, Instant};

use crate::error::Result;
use crate::packet::PacketSocket;
use crate::wire::{GarpForm, MacAddr, garp_frame, unsolicited_na_frame};

/// Announcements in the burst [`Announcer::announce`] sends: keepalived's
/// `garp_master_repeat` default.
pub const DEFAULT_BURST: u32 = 5;

/// A token bucket shared by all VIPs, so a failover of hundreds of VIPs
/// does not flood the segment.
///
/// New fields may be added: build it with [`RateLimit::new`] or
/// [`RateLimit::default`] (200 frames per second).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct RateLimit {
    /// Frames allowed per `per` (also the bucket size).
    pub frames: u32,
    /// The period.
    pub per: Duration,
}

impl RateLimit {
    /// `frames` per `per`.
    pub fn new(frames: u32, per: Duration) -> RateLimit {
        RateLimit { frames, per }
    }
}

impl Default for RateLimit {
    fn default() -> RateLimit {
        RateLimit {
            frames: 200,
            per: Duration::from_secs(1),
        }
    }
}

/// Which IPv4 frames one announcement consists of.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ArpForms {
    /// RFC 5227 announcement (request form) only.
    Request,
    /// Reply form only.
    Reply,
    /// Both, request first (default: every stack honours one of them).
    #[default]
    Both,
}

/// Announcer settings.
///
/// New fields may be added: build it with [`AnnouncerConfig::new`] and set
/// the public fields you need:
///
/// ```
/// use std::time::Duration;
/// use lvs_arpguard::announce::{AnnouncerConfig, ArpForms, RateLimit};
///
/// let mut cfg = AnnouncerConfig::new("02:00:00:00:00:01".parse().unwrap());
/// cfg.arp_forms = ArpForms::Request;
/// cfg.rate_limit = RateLimit::new(50, Duration::from_secs(1));
/// assert!(!cfg.na_router);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct AnnouncerConfig {
    /// Source MAC for the Ethernet header, ARP sender and NA option: the
    /// interface's own, or the VRRP virtual MAC when one is configured.
    pub mac: MacAddr,
    /// IPv4 frame forms.
    pub arp_forms: ArpForms,
    /// Limit across all VIPs.
    pub rate_limit: RateLimit,
    /// Set the Router flag in NAs (the director routes for the VIP).
    pub na_router: bool,
}

impl AnnouncerConfig {
    /// Defaults with `mac` as source.
    pub fn new(mac: MacAddr) -> AnnouncerConfig {
        AnnouncerConfig {
            mac,
            arp_forms: ArpForms::default(),
            rate_limit: RateLimit::default(),
            na_router: false,
        }
    }
}

/// The kind of a frame handed out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FrameKind {
    /// Gratuitous ARP, request form.
    GarpRequest,
    /// Gratuitous ARP, reply form.
    GarpReply,
    /// Unsolicited neighbour advertisement.
    UnsolicitedNa,
}

/// A frame to put on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// The VIP announced.
    pub vip: IpAddr,
    /// Its kind.
    pub kind: FrameKind,
    /// The complete Ethernet frame.
    pub frame: Vec<u8>,
}

/// The burst under way for one VIP.
#[derive(Debug, Clone)]
struct VipState {
    next: Instant,
    left_in_burst: u32,
    interval: Duration,
    mac: MacAddr,
}

/// Sans-IO sender of announcement bursts for many VIPs.
#[derive(Debug)]
pub struct Announcer {
    config: AnnouncerConfig,
    vips: BTreeMap<IpAddr, VipState>,
    queue: VecDeque<(IpAddr, FrameKind, MacAddr)>,
    tokens: u32,
    refilled: Option<Instant>,
    // Earliest `next` of any VIP: polls before it skip the O(VIPs) scan.
    earliest: Option<Instant>,
}

impl Announcer {
    /// A new announcer with a full token bucket.
    pub fn new(config: AnnouncerConfig) -> Announcer {
        Announcer {
            tokens: config.rate_limit.frames.max(1),
            config,
            vips: BTreeMap::new(),
            queue: VecDeque::new(),
            refilled: None,
            earliest: None,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &AnnouncerConfig {
        &self.config
    }

    /// One burst of [`DEFAULT_BURST`] announcements of `vip`, all due at
    /// `now`, from the configured MAC.
    pub fn announce(&mut self, vip: IpAddr, now: Instant) {
        self.announce_with(vip, DEFAULT_BURST, Duration::ZERO, None, now);
    }

    /// One burst of `count` announcements of `vip` (at least 1), the first
    /// due at `now`, the next ones `interval` apart, from `mac` or the
    /// configured MAC; nothing after it. A burst still under way for `vip`
    /// is replaced. This is the call for each address of an lvs-vrrp
    /// `Action::Announce(a)`: `announce_with(addr, a.count, a.interval,
    /// a.mac.map(MacAddr), now)`.
    pub fn announce_with(
        &mut self,
        vip: IpAddr,
        count: u32,
        interval: Duration,
        mac: Option<MacAddr>,
        now: Instant,
    ) {
        self.vips.insert(
            vip,
            VipState {
                next: now,
                left_in_burst: count.max(1),
                interval,
                mac: mac.unwrap_or(self.config.mac),
            },
        );
        self.earliest = Some(self.earliest.map_or(now, |e| e.min(now)));
    }

    /// Stops announcing `vip` (the VIP was released): ends its burst and
    /// drops its queued frames.
    pub fn withdraw(&mut self, vip: IpAddr) {
        self.vips.remove(&vip);
        self.queue.retain(|(v, _, _)| *v != vip);
    }

    /// VIPs with a burst under way.
    pub fn vips(&self) -> impl Iterator<Item = &IpAddr> {
        self.vips.keys()
    }

    fn frames_for(&self, vip: IpAddr) -> &'static [FrameKind] {
        match (vip, self.config.arp_forms) {
            (IpAddr::V6(_), _) => &[FrameKind::UnsolicitedNa],
            (IpAddr::V4(_), ArpForms::Request) => &[FrameKind::GarpRequest],
            (IpAddr::V4(_), ArpForms::Reply) => &[FrameKind::GarpReply],
            (IpAddr::V4(_), ArpForms::Both) => &[FrameKind::GarpRequest, FrameKind::GarpReply],
        }
    }

    fn schedule_due(&mut self, now: Instant) {
        if self.earliest.is_none_or(|e| e > now) {
            return;
        }
        let mut due = Vec::new();
        let mut finished = Vec::new();
        for (vip, st) in self.vips.iter_mut() {
            // A late caller catches up with one announcement, not a backlog.
            if st.next > now {
                continue;
            }
            due.push((*vip, st.mac));
            st.left_in_burst = st.left_in_burst.saturating_sub(1);
            if st.left_in_burst > 0 {
                st.next = now + st.interval;
            } else {
                finished.push(*vip);
            }
        }
        for vip in finished {
            self.vips.remove(&vip);
        }
        self.earliest = self.vips.values().map(|s| s.next).min();
        for (vip, mac) in due {
            for kind in self.frames_for(vip) {
                self.queue.push_back((vip, *kind, mac));
            }
        }
    }

    fn refill(&mut self, now: Instant) {
        let rl = self.config.rate_limit;
        let cap = rl.frames.max(1);
        let Some(last) = self.refilled else {
            self.refilled = Some(now);
            return;
        };
        let per_token = rl.per / cap;
        if per_token.is_zero() {
            self.tokens = cap;
            self.refilled = Some(now);
            return;
        }
        let elapsed = now.saturating_duration_since(last);
        let new = (elapsed.as_nanos() / per_token.as_nanos()) as u64;
        if new > 0 {
            self.tokens = (u64::from(self.tokens) + new).min(u64::from(cap)) as u32;
            self.refilled = Some(last + per_token * new.min(u64::from(u32::MAX)) as u32);
            if self.tokens == cap {
                self.refilled = Some(now);
            }
        }
    }

    /// The next frame to send at `now`, if any is due and the rate limit allows.
    pub fn poll_transmit(&mut self, now: Instant) -> Option<Transmit> {
        self.schedule_due(now);
        self.refill(now);
        if self.tokens == 0 {
            return None;
        }
        let (vip, kind, mac) = self.queue.pop_front()?;
        self.tokens -= 1;
        let frame = match (vip, kind) {
            (IpAddr::V4(v4), FrameKind::GarpRequest) => garp_frame(GarpForm::Request, mac, v4),
            (IpAddr::V4(v4), _) => garp_frame(GarpForm::Reply, mac, v4),
            (IpAddr::V6(v6), _) => unsolicited_na_frame(mac, v6, self.config.na_router),
        };
        Some(Transmit { vip, kind, frame })
    }

    /// When to call [`Announcer::poll_transmit`] next; `None` when idle.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if !self.queue.is_empty() {
            if self.tokens > 0 {
                // Frames are waiting and allowed: poll again at once.
                return self.refilled;
            }
            let rl = self.config.rate_limit;
            let per_token = rl.per / rl.frames.max(1);
            return self.refilled.map(|t| t + per_token);
        }
        self.vips.values().map(|s| s.next).min()
    }
}

/// Runs `announcer` over `socket` until `deadline` or until nothing is
/// scheduled; returns the number of frames sent.
pub fn drive_until(
    announcer: &mut Announcer,
    socket: &PacketSocket,
    deadline: Instant,
) -> Result<usize> {
    let mut sent = 0;
    loop {
        let now = Instant::now();
        while let Some(t) = announcer.poll_transmit(now) {
            socket.send(&t.frame)?;
            sent += 1;
        }
        let Some(next) = announcer.poll_timeout() else {
            return Ok(sent);
        };
        if next >= deadline {
            return Ok(sent);
        }
        std::thread::sleep(next.saturating_duration_since(Instant::now()));
    }
}

#[cfg(test)]
mod tests;
