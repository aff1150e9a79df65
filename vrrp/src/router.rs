//! The sans-IO virtual router state machine (RFC 5798 §6, RFC 3768 §6).

use core::net::IpAddr;
use core::time::Duration;
use std::collections::VecDeque;
use std::time::Instant;

use crate::config::{AddressCheck, Config, ConfigError, TrackKind, virtual_mac};
use crate::units::{AdvertInterval, Seconds};
use crate::wire::{
    self, Addresses, Auth, ChecksumForm, Family, Kind, PRIORITY_OWNER, PRIORITY_STOP, Packet, Repr,
};

/// Protocol state of a virtual router.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// Not started, stopped, or waiting out the startup delay.
    Initialize,
    /// Listening to a Master, ready to take over.
    Backup,
    /// Forwarding for the virtual addresses and advertising.
    Master,
    /// A fault (link down, tracked failure) keeps this router out.
    Fault,
}

/// keepalived's words: `MASTER`, `BACKUP`, `FAULT`, `INIT`.
impl core::fmt::Display for State {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            State::Initialize => "INIT",
            State::Backup => "BACKUP",
            State::Master => "MASTER",
            State::Fault => "FAULT",
        })
    }
}

/// Why a fault holds the router in [`State::Fault`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum FaultReason {
    /// The interface is down.
    LinkDown,
    /// A tracked signal of weight 0 is down.
    Track(String),
    /// Another member of this sync group (named) is in FAULT: the
    /// members of a group leave Master together (keepalived's
    /// `vrrp_sync_group`).
    SyncGroup(String),
    /// Any other reason the caller names.
    Other(String),
}

/// Lowercase words for logs: `link down`, `track NAME down`, or the
/// caller's own text.
impl core::fmt::Display for FaultReason {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            FaultReason::LinkDown => f.write_str("link down"),
            FaultReason::Track(name) => write!(f, "track {name} down"),
            FaultReason::SyncGroup(group) => write!(f, "sync group {group}"),
            FaultReason::Other(text) => f.write_str(text),
        }
    }
}

/// Why the state changed.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Reason {
    /// Left Initialize (start, or end of the startup delay).
    Startup,
    /// We own the addresses (priority 255).
    AddressOwner,
    /// No advertisement for Master_Down_Interval (or Skew_Time after a
    /// priority-0 advertisement).
    MasterDown,
    /// A Master with higher priority (or equal priority and higher address).
    HigherPriority {
        /// Its primary address.
        from: IpAddr,
        /// Its priority.
        priority: u8,
    },
    /// The caller stopped the router.
    Shutdown,
    /// A fault started.
    Fault(FaultReason),
    /// The last fault cleared.
    FaultCleared,
    /// The caller moved it to follow the other members of its sync group
    /// ([`Router::sync_to_master`], [`Router::sync_to_backup`]).
    SyncGroup,
    /// The caller lost something a Master must hold (an address, a route)
    /// and stepped down to take over again ([`Router::step_down_and_retake`]).
    Retake,
}

/// Lowercase words for logs, e.g. `master down`, `higher priority 120
/// from 10.0.0.2`, `fault: link down`.
impl core::fmt::Display for Reason {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Reason::Startup => f.write_str("startup"),
            Reason::AddressOwner => f.write_str("address owner"),
            Reason::MasterDown => f.write_str("master down"),
            Reason::HigherPriority { from, priority } => {
                write!(f, "higher priority {priority} from {from}")
            }
            Reason::Shutdown => f.write_str("shutdown"),
            Reason::Fault(why) => write!(f, "fault: {why}"),
            Reason::FaultCleared => f.write_str("fault cleared"),
            Reason::SyncGroup => f.write_str("sync group"),
            Reason::Retake => f.write_str("stepped down to retake"),
        }
    }
}

/// Why a received packet was dropped: one variant per receive check of
/// RFC 5798 §7.1 / RFC 3768 §7.1, plus the decoding failures.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DropReason {
    /// TTL / hop limit is not 255: the packet crossed a router.
    #[error("TTL/hop limit {0}, must be 255")]
    HopLimit(u8),
    /// Not a decodable advertisement (length, version, type).
    #[error("malformed: {0}")]
    Malformed(wire::Error),
    /// Another protocol version than ours.
    #[error("VRRP version {got}, we run {expected}")]
    Version {
        /// Ours.
        expected: u8,
        /// Theirs.
        got: u8,
    },
    /// Source address of another family than ours.
    #[error("address family differs from ours")]
    Family,
    /// Checksum wrong in every accepted form.
    #[error("bad checksum {0:#06x}")]
    Checksum(u16),
    /// Another VRID.
    #[error("VRID {got}, ours is {expected}")]
    Vrid {
        /// Ours.
        expected: u8,
        /// Theirs.
        got: u8,
    },
    /// We are the address owner: owners ignore advertisements.
    #[error("we are the address owner (priority 255)")]
    OwnerReceived,
    /// v2 authentication type differs.
    #[error("authentication type {got}, ours is {expected}")]
    AuthType {
        /// Ours.
        expected: u8,
        /// Theirs.
        got: u8,
    },
    /// v2 simple-text password differs.
    #[error("authentication data mismatch")]
    AuthData,
    /// The message is shorter or longer than its address count makes it
    /// (the IP layer hands over exactly the IP payload, so extra bytes are
    /// a count that lies about the list).
    #[error("{count} addresses make a {expected}-byte message, got {got} bytes")]
    Length {
        /// The count field.
        count: u8,
        /// The length the count implies.
        expected: usize,
        /// The length received.
        got: usize,
    },
    /// An advertisement interval of 0 (v2 Adver Int, v3 Max Adver Int):
    /// accepting it would make Master_Down_Interval about Skew_Time, so a
    /// Backup fed one takes over again at once and the pair flaps.
    #[error("advertisement interval 0")]
    ZeroInterval,
    /// Unicast mode: the source is not one of the configured peers.
    #[error("source {0} is not a configured unicast peer")]
    UnknownPeer(IpAddr),
    /// v2 advertisement interval differs from ours.
    #[error("advertisement interval {theirs}, ours is {ours}")]
    IntervalMismatch {
        /// Ours.
        ours: Seconds,
        /// Theirs.
        theirs: Seconds,
    },
    /// Address list differs (and the policy is to drop).
    #[error("virtual address list differs from ours")]
    AddressMismatch,
    /// Our own advertisement, looped back.
    #[error("our own advertisement")]
    OwnAdvertisement,
    /// Not running (Initialize or Fault): nothing to do with it.
    #[error("router not active ({0})")]
    Inactive(State),
}

/// The kind of a [`DropReason`], without its details: what drop counters
/// are keyed by ([`DropCounts`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum DropKind {
    /// [`DropReason::HopLimit`].
    HopLimit,
    /// [`DropReason::Malformed`] with [`wire::Error::Truncated`].
    Truncated,
    /// [`DropReason::Malformed`], any other decoding failure.
    Malformed,
    /// [`DropReason::Length`].
    Length,
    /// [`DropReason::Version`].
    Version,
    /// [`DropReason::Family`].
    Family,
    /// [`DropReason::UnknownPeer`].
    UnknownPeer,
    /// [`DropReason::Checksum`].
    Checksum,
    /// [`DropReason::Vrid`].
    Vrid,
    /// [`DropReason::OwnerReceived`].
    OwnerReceived,
    /// [`DropReason::AuthType`].
    AuthType,
    /// [`DropReason::AuthData`].
    AuthData,
    /// [`DropReason::ZeroInterval`].
    ZeroInterval,
    /// [`DropReason::IntervalMismatch`].
    IntervalMismatch,
    /// [`DropReason::AddressMismatch`].
    AddressMismatch,
    /// [`DropReason::OwnAdvertisement`].
    OwnAdvertisement,
    /// [`DropReason::Inactive`].
    Inactive,
}

impl DropKind {
    /// Every kind, in counter order.
    pub const ALL: [DropKind; 17] = [
        DropKind::HopLimit,
        DropKind::Truncated,
        DropKind::Malformed,
        DropKind::Length,
        DropKind::Version,
        DropKind::Family,
        DropKind::UnknownPeer,
        DropKind::Checksum,
        DropKind::Vrid,
        DropKind::OwnerReceived,
        DropKind::AuthType,
        DropKind::AuthData,
        DropKind::ZeroInterval,
        DropKind::IntervalMismatch,
        DropKind::AddressMismatch,
        DropKind::OwnAdvertisement,
        DropKind::Inactive,
    ];

    /// A snake_case name for logs and metric labels, e.g. `zero_interval`.
    pub const fn as_str(self) -> &'static str {
        match self {
            DropKind::HopLimit => "hop_limit",
            DropKind::Truncated => "truncated",
            DropKind::Malformed => "malformed",
            DropKind::Length => "length",
            DropKind::Version => "version",
            DropKind::Family => "family",
            DropKind::UnknownPeer => "unknown_peer",
            DropKind::Checksum => "checksum",
            DropKind::Vrid => "vrid",
            DropKind::OwnerReceived => "owner_received",
            DropKind::AuthType => "auth_type",
            DropKind::AuthData => "auth_data",
            DropKind::ZeroInterval => "zero_interval",
            DropKind::IntervalMismatch => "interval_mismatch",
            DropKind::AddressMismatch => "address_mismatch",
            DropKind::OwnAdvertisement => "own_advertisement",
            DropKind::Inactive => "inactive",
        }
    }
}

impl core::fmt::Display for DropKind {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl DropReason {
    /// Its kind.
    pub const fn kind(&self) -> DropKind {
        match self {
            DropReason::HopLimit(_) => DropKind::HopLimit,
            DropReason::Malformed(wire::Error::Truncated { .. }) => DropKind::Truncated,
            DropReason::Malformed(_) => DropKind::Malformed,
            DropReason::Length { .. } => DropKind::Length,
            DropReason::Version { .. } => DropKind::Version,
            DropReason::Family => DropKind::Family,
            DropReason::UnknownPeer(_) => DropKind::UnknownPeer,
            DropReason::Checksum(_) => DropKind::Checksum,
            DropReason::Vrid { .. } => DropKind::Vrid,
            DropReason::OwnerReceived => DropKind::OwnerReceived,
            DropReason::AuthType { .. } => DropKind::AuthType,
            DropReason::AuthData => DropKind::AuthData,
            DropReason::ZeroInterval => DropKind::ZeroInterval,
            DropReason::IntervalMismatch { .. } => DropKind::IntervalMismatch,
            DropReason::AddressMismatch => DropKind::AddressMismatch,
            DropReason::OwnAdvertisement => DropKind::OwnAdvertisement,
            DropReason::Inactive(_) => DropKind::Inactive,
        }
    }
}

/// Dropped packets of one router, counted by [`DropKind`]; the router
/// keeps them ([`Router::drops`]), everyone else reads them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DropCounts([u64; DropKind::ALL.len()]);

impl DropCounts {
    /// Packets dropped for `kind`.
    pub fn get(&self, kind: DropKind) -> u64 {
        self.0[kind as usize]
    }

    /// Packets dropped for any reason.
    pub fn total(&self) -> u64 {
        self.0.iter().sum()
    }

    /// Every kind with its count (zeros included), in [`DropKind::ALL`] order.
    pub fn iter(&self) -> impl Iterator<Item = (DropKind, u64)> + '_ {
        DropKind::ALL.iter().map(|k| (*k, self.get(*k)))
    }

    fn count(&mut self, reason: &DropReason) {
        let n = &mut self.0[reason.kind() as usize];
        *n = n.saturating_add(1);
    }
}

impl From<wire::Error> for DropReason {
    fn from(e: wire::Error) -> Self {
        match e {
            wire::Error::Checksum(c) => DropReason::Checksum(c),
            e => DropReason::Malformed(e),
        }
    }
}

/// What the IP layer knows about a received packet.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecvMeta {
    /// IP source.
    pub source: IpAddr,
    /// IP destination (the group, or our address for unicast).
    pub destination: IpAddr,
    /// TTL (IPv4) or hop limit (IPv6).
    pub hop_limit: u8,
}

/// An advertisement to send: IP protocol 112, TTL 255.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// IP source the checksum was computed with.
    pub source: IpAddr,
    /// The multicast group or a unicast peer.
    pub destination: IpAddr,
    /// The VRRP message (IP payload).
    pub payload: Vec<u8>,
}

/// Why an announcement burst is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum AnnounceReason {
    /// Just became Master.
    BecameMaster,
    /// The delayed second burst.
    Repeat,
    /// Periodic refresh.
    Refresh,
    /// The Master heard a lower-priority advert (and the delayed second
    /// burst of that): [`AnnounceSchedule::lower_prio_burst`](crate::AnnounceSchedule::lower_prio_burst).
    LowerPriorityAdvert,
    /// The periodic packet for addresses on other interfaces
    /// ([`AnnounceSchedule::extra_interfaces`](crate::AnnounceSchedule::extra_interfaces)):
    /// send it only for those, one per interface.
    ExtraInterfaces,
}

/// One gratuitous ARP / unsolicited NA burst to send now: `count` packets
/// per address, `interval` apart, nothing after — the router emits the
/// next burst (repeat, refresh) itself when
/// [`AnnounceSchedule`](crate::AnnounceSchedule) says so. With
/// lvs-arpguard, pass each one on once:
///
/// ```text
/// Action::Announce(a) => {
///     for addr in &a.addresses {
///         announcer.announce_with(*addr, a.count, a.interval, a.mac.map(MacAddr), now);
///     }
/// }
/// ```
///
/// (`MacAddr(bytes)` wraps the `[u8; 6]`; the announcer's own
/// `announce(addr, now)` also sends a single burst, of its default size.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Announcement {
    /// Addresses to announce.
    pub addresses: Vec<IpAddr>,
    /// Source MAC to announce with, if the virtual MAC is in use.
    pub mac: Option<[u8; 6]>,
    /// Packets per address.
    pub count: u32,
    /// Gap between packets.
    pub interval: Duration,
    /// Why.
    pub reason: AnnounceReason,
}

/// Output of the state machine, drained with [`Router::poll_action`].
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Action {
    /// Send an advertisement.
    Transmit(Transmit),
    /// Configure the virtual addresses (becoming Master).
    AddAddresses {
        /// The addresses.
        addresses: Vec<IpAddr>,
        /// Virtual MAC to use, if configured.
        mac: Option<[u8; 6]>,
        /// Accept_Mode: accept traffic to addresses we do not own.
        accept: bool,
    },
    /// Remove the virtual addresses (leaving Master).
    RemoveAddresses {
        /// The addresses.
        addresses: Vec<IpAddr>,
        /// Virtual MAC that was in use, if configured.
        mac: Option<[u8; 6]>,
    },
    /// Announce the addresses: one burst (see [`Announcement`]).
    Announce(Announcement),
    /// The state changed.
    StateChanged {
        /// Previous state.
        from: State,
        /// New state.
        to: State,
        /// Why.
        reason: Reason,
    },
    /// An accepted advertisement's address list differs from ours
    /// ([`AddressCheck::Report`]).
    AddressMismatch {
        /// Sender.
        from: IpAddr,
    },
}

/// A tracked signal named in [`Router::set_track`] is not configured.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("no tracked signal named {0:?}")]
pub struct UnknownTrack(pub String);

/// One virtual router. See the crate documentation for the driving contract.
#[derive(Debug)]
pub struct Router {
    cfg: Config,
    family: Family,
    vip_bytes: Vec<u8>,
    state: State,
    started: bool,
    effective_priority: u8,
    master_adver_interval: AdvertInterval,
    /// Skew_Time and Master_Down_Interval for the current priority and
    /// Master_Adver_Interval, recomputed only when either changes.
    skew: Duration,
    master_down: Duration,
    adver_timer: Option<Instant>,
    master_down_timer: Option<Instant>,
    startup_at: Option<Instant>,
    preempt_deadline: Option<Instant>,
    announce_repeat: Option<Instant>,
    announce_refresh: Option<Instant>,
    /// The delayed second burst after a lower-priority advert.
    lower_prio_repeat: Option<Instant>,
    /// The next `garp_extra_if` packet.
    announce_extra: Option<Instant>,
    /// When the Master last reacted to a lower-priority advert: it reacts
    /// at most once per advert interval.
    lower_prio_reacted: Option<Instant>,
    track_up: Vec<bool>,
    /// Each track's last reported value (value tracks only read it).
    track_value: Vec<i64>,
    faults: Vec<FaultReason>,
    master: Option<IpAddr>,
    peer_checksum_form: Option<ChecksumForm>,
    drops: DropCounts,
    actions: VecDeque<Action>,
    /// In a sync group: Master_Down_Timer expiring does not take over.
    sync_hold: bool,
    /// Held Backup whose Master_Down_Timer expired with no Master heard since.
    wants_master: bool,
}

impl Router {
    /// A router in [`State::Initialize`]; nothing happens until [`start`](Self::start).
    pub fn new(cfg: Config) -> Result<Router, ConfigError> {
        cfg.validate()?;
        let family = cfg.family();
        let vip_bytes = Addresses::from_ips(family, &cfg.virtual_addresses)
            .map(|a| a.to_bytes())
            .unwrap_or_default();
        let track_up = cfg.tracks.iter().map(|t| t.initially_up).collect();
        let track_value = vec![0; cfg.tracks.len()];
        let mut r = Router {
            family,
            vip_bytes,
            state: State::Initialize,
            started: false,
            effective_priority: cfg.priority,
            master_adver_interval: cfg.advert_interval,
            skew: Duration::ZERO,
            master_down: Duration::ZERO,
            adver_timer: None,
            master_down_timer: None,
            startup_at: None,
            preempt_deadline: None,
            announce_repeat: None,
            announce_refresh: None,
            lower_prio_repeat: None,
            lower_prio_reacted: None,
            announce_extra: None,
            track_up,
            track_value,
            faults: Vec::new(),
            master: None,
            peer_checksum_form: None,
            drops: DropCounts::default(),
            actions: VecDeque::new(),
            sync_hold: false,
            wants_master: false,
            cfg,
        };
        r.set_priority(r.compute_priority());
        Ok(r)
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.cfg
    }

    /// Current state.
    pub fn state(&self) -> State {
        self.state
    }

    /// Priority after tracked weights (what we advertise).
    pub fn effective_priority(&self) -> u8 {
        self.effective_priority
    }

    /// The Master we last accepted an advertisement from (or ourselves).
    pub fn master(&self) -> Option<IpAddr> {
        self.master
    }

    /// Checksum form of the last accepted advertisement.
    pub fn peer_checksum_form(&self) -> Option<ChecksumForm> {
        self.peer_checksum_form
    }

    /// The advertisement interval in force (v3: learned from the Master).
    pub fn master_adver_interval(&self) -> AdvertInterval {
        self.master_adver_interval
    }

    /// `Skew_Time` with the current priority and interval.
    pub fn skew_time(&self) -> Duration {
        self.skew
    }

    /// `Master_Down_Interval` with the current priority and interval.
    pub fn master_down_interval(&self) -> Duration {
        self.master_down
    }

    fn set_priority(&mut self, priority: u8) {
        self.effective_priority = priority;
        self.refresh_intervals();
    }

    fn set_master_adver_interval(&mut self, interval: AdvertInterval) {
        if interval != self.master_adver_interval {
            self.master_adver_interval = interval;
            self.refresh_intervals();
        }
    }

    fn refresh_intervals(&mut self) {
        self.skew = self
            .master_adver_interval
            .skew_time(self.effective_priority);
        self.master_down = self
            .master_adver_interval
            .master_down_interval(self.effective_priority);
    }

    /// The virtual MAC if configured.
    pub fn virtual_mac(&self) -> Option<[u8; 6]> {
        self.cfg
            .virtual_mac
            .then(|| virtual_mac(self.family, self.cfg.vrid))
    }

    /// Starts the router (RFC Startup event, after the configured startup delay).
    pub fn start(&mut self, now: Instant) {
        if self.started {
            return;
        }
        self.started = true;
        if self.cfg.startup_delay.is_zero() {
            self.startup(now);
        } else {
            self.startup_at = Some(now + self.cfg.startup_delay);
        }
    }

    /// Stops the router (RFC Shutdown event): a Master resigns with a
    /// priority-0 advertisement and removes its addresses.
    pub fn shutdown(&mut self, now: Instant) {
        let _ = now;
        if self.state == State::Master {
            self.send_advert(PRIORITY_STOP);
            self.remove_addresses();
        }
        self.clear_timers();
        self.started = false;
        self.master = None;
        self.set_state(State::Initialize, Reason::Shutdown);
    }

    /// Reports a tracked signal's state.
    /// A [value track](crate::TrackKind::Value) is not set this way: see
    /// [`set_track_value`](Self::set_track_value).
    pub fn set_track(&mut self, now: Instant, name: &str, up: bool) -> Result<(), UnknownTrack> {
        let i = self
            .cfg
            .tracks
            .iter()
            .position(|t| t.name == name && t.kind == TrackKind::Signal)
            .ok_or_else(|| UnknownTrack(name.to_string()))?;
        if self.track_up[i] == up {
            return Ok(());
        }
        let was_faulted = self.is_faulted();
        self.track_up[i] = up;
        if self.cfg.tracks[i].weight == 0 {
            self.fault_changed(now, was_faulted, FaultReason::Track(name.to_string()));
        } else {
            let p = self.compute_priority();
            self.change_priority(p);
        }
        Ok(())
    }

    /// Reports a [value track](crate::TrackKind::Value)'s integer
    /// (keepalived's `track_file` contents): the priority moves by the
    /// value times the weight, or the router enters or leaves FAULT.
    pub fn set_track_value(
        &mut self,
        now: Instant,
        name: &str,
        value: i64,
    ) -> Result<(), UnknownTrack> {
        let i = self
            .cfg
            .tracks
            .iter()
            .position(|t| t.name == name && matches!(t.kind, TrackKind::Value { .. }))
            .ok_or_else(|| UnknownTrack(name.to_string()))?;
        if self.track_value[i] == value {
            return Ok(());
        }
        let was_faulted = self.is_faulted();
        self.track_value[i] = value;
        let p = self.compute_priority();
        self.change_priority(p);
        self.fault_changed(now, was_faulted, FaultReason::Track(name.to_string()));
        Ok(())
    }

    /// Whether track `i` holds the router in FAULT: a weight-0 signal that
    /// is down, or a value track whose product is a fault.
    fn track_faulted(&self, i: usize) -> bool {
        let t = &self.cfg.tracks[i];
        match t.kind {
            TrackKind::Value { .. } => t.kind.value_effect(t.weight, self.track_value[i]).is_none(),
            _ => t.weight == 0 && !self.track_up[i],
        }
    }

    /// Track `i`'s change to the priority (0 while it faults).
    fn track_adjustment(&self, i: usize) -> i32 {
        let t = &self.cfg.tracks[i];
        match t.kind {
            TrackKind::Value { .. } => t
                .kind
                .value_effect(t.weight, self.track_value[i])
                .unwrap_or(0),
            _ => {
                let w = i32::from(t.weight);
                let up = self.track_up[i];
                if (w > 0 && up) || (w < 0 && !up) {
                    w
                } else {
                    0
                }
            }
        }
    }

    /// The tracks holding the router in FAULT, as reasons.
    fn track_faults(&self) -> impl Iterator<Item = FaultReason> + '_ {
        (0..self.cfg.tracks.len())
            .filter(|&i| self.track_faulted(i))
            .map(|i| FaultReason::Track(self.cfg.tracks[i].name.clone()))
    }

    /// A new effective priority from a tracked weight. The Master advertises
    /// it from its next advert on (a lower one lets a preempting Backup take
    /// over, RFC 5798 §6.4.2); a Backup keeps its Master_Down_Timer running
    /// but moves its deadline by the change of Skew_Time, as keepalived
    /// does, so a Backup that now outranks the Master (and preempts)
    /// ignores its next advert and takes over when the timer fires.
    fn change_priority(&mut self, priority: u8) {
        if priority == self.effective_priority {
            return;
        }
        let before = self.master_down;
        self.set_priority(priority);
        if self.state == State::Backup
            && let Some(at) = self.master_down_timer
        {
            self.master_down_timer = Some(if self.master_down >= before {
                at + (self.master_down - before)
            } else {
                at.checked_sub(before - self.master_down).unwrap_or(at)
            });
        }
    }

    /// Raises (`active`) or clears a fault. While any fault is active the
    /// router is in [`State::Fault`].
    pub fn set_fault(&mut self, now: Instant, reason: FaultReason, active: bool) {
        let was_faulted = self.is_faulted();
        if active {
            if !self.faults.contains(&reason) {
                self.faults.push(reason.clone());
            }
        } else {
            self.faults.retain(|f| f != &reason);
        }
        self.fault_changed(now, was_faulted, reason);
    }

    /// The faults holding the router in [`State::Fault`] (or that will, once
    /// started): those raised with [`set_fault`](Self::set_fault) and each
    /// weight-0 tracked signal that is down.
    pub fn faults(&self) -> Vec<FaultReason> {
        let mut out = self.faults.clone();
        out.extend(self.track_faults());
        out
    }

    /// Makes the router a member of a sync group (`true`) or a lone router
    /// (`false`, the default, plain RFC 5798). A held Backup whose
    /// Master_Down_Timer expires does not take over by itself: it
    /// [wants Master](Self::wants_master) and keeps listening (timer
    /// re-armed at 3 × Master_Adver_Interval + Skew_Time, as keepalived
    /// does) until the caller moves the whole group with
    /// [`sync_to_master`](Self::sync_to_master), or it hears a Master.
    pub fn set_sync_hold(&mut self, hold: bool) {
        self.sync_hold = hold;
        if !hold {
            self.wants_master = false;
        }
    }

    /// Master, or a held Backup that found no Master for
    /// Master_Down_Interval: what a sync group waits for from every member
    /// before it moves them all to Master.
    pub fn wants_master(&self) -> bool {
        self.state == State::Master || (self.state == State::Backup && self.wants_master)
    }

    /// A Backup becomes Master now (its sync group goes Master); any other
    /// state is left alone.
    pub fn sync_to_master(&mut self, now: Instant) {
        if self.state == State::Backup {
            self.become_master(now, Reason::SyncGroup);
        }
    }

    /// A Master steps down to Backup now (another member of its sync group
    /// did): it resigns with a priority-0 advert, so a peer takes over after
    /// Skew_Time, and listens again. Any other state is left alone.
    pub fn sync_to_backup(&mut self, now: Instant) {
        self.resign(now + self.master_down, Reason::SyncGroup);
    }

    /// A Master's priority-0 resignation to Backup, with Master_Down_Timer
    /// set to fire at `down_at`.
    fn resign(&mut self, down_at: Instant, reason: Reason) {
        if self.state != State::Master {
            return;
        }
        self.send_advert(PRIORITY_STOP);
        self.leave_master();
        self.master = None;
        self.master_down_timer = Some(down_at);
        self.set_state(State::Backup, reason);
    }

    /// keepalived's answer to a Master losing one of its addresses, routes
    /// or rules behind its back: resign with a priority-0 advertisement,
    /// remove everything (so the caller reinstalls it all), and become
    /// Master again after Skew_Time unless another router takes over
    /// first. A router that is not Master is left alone.
    pub fn step_down_and_retake(&mut self, now: Instant) {
        // Skew_Time: a Backup that heard our priority 0 waits its own
        // (longer, if its priority is lower) Skew_Time.
        self.resign(now + self.skew_time(), Reason::Retake);
    }

    fn fault_changed(&mut self, now: Instant, was_faulted: bool, reason: FaultReason) {
        if !self.started || self.startup_at.is_some() {
            return;
        }
        match (was_faulted, self.is_faulted()) {
            (false, true) => self.enter_fault(reason),
            (true, false) => {
                // Back in the race: owners take over at once, others listen first.
                self.state_from_startup(now, Reason::FaultCleared);
            }
            _ => {}
        }
    }

    fn is_faulted(&self) -> bool {
        !self.faults.is_empty() || (0..self.cfg.tracks.len()).any(|i| self.track_faulted(i))
    }

    fn compute_priority(&self) -> u8 {
        if self.cfg.priority == PRIORITY_OWNER {
            return PRIORITY_OWNER;
        }
        let mut p = i32::from(self.cfg.priority);
        for i in 0..self.cfg.tracks.len() {
            p += self.track_adjustment(i);
        }
        p.clamp(1, 254) as u8
    }

    /// The earliest instant [`handle_timeout`](Self::handle_timeout) must be
    /// called at, if any timer runs.
    pub fn poll_timeout(&self) -> Option<Instant> {
        [
            self.adver_timer,
            self.master_down_timer,
            self.startup_at,
            self.announce_repeat,
            self.announce_refresh,
            self.lower_prio_repeat,
            self.announce_extra,
        ]
        .into_iter()
        .flatten()
        .min()
    }

    /// Next output, if any.
    pub fn poll_action(&mut self) -> Option<Action> {
        self.actions.pop_front()
    }

    /// Fires every timer due at `now`. Calling it early, late, or with an
    /// `now` earlier than before is harmless.
    pub fn handle_timeout(&mut self, now: Instant) {
        if let Some(at) = self.startup_at
            && at <= now
        {
            self.startup_at = None;
            self.startup(now);
        }
        if let Some(at) = self.master_down_timer
            && at <= now
        {
            self.master_down_timer = None;
            if self.state == State::Backup && self.sync_hold {
                // The group decides; keep listening meanwhile.
                self.wants_master = true;
                self.master_down_timer =
                    Some(now + 3 * self.master_adver_interval.to_duration() + self.skew);
            } else if self.state == State::Backup {
                self.become_master(now, Reason::MasterDown);
            }
        }
        if let Some(at) = self.adver_timer
            && at <= now
        {
            self.adver_timer = None;
            if self.state == State::Master {
                self.send_advert(self.effective_priority);
                self.adver_timer = Some(next_tick(at, now, self.advert_interval()));
            }
        }
        if let Some(at) = self.announce_repeat
            && at <= now
        {
            self.announce_repeat = None;
            self.announce(AnnounceReason::Repeat);
        }
        if let Some(at) = self.lower_prio_repeat
            && at <= now
        {
            self.lower_prio_repeat = None;
            if self.state == State::Master {
                self.announce_lower_prio();
            }
        }
        if let Some(at) = self.announce_extra
            && at <= now
        {
            self.announce_extra = None;
            if let (State::Master, Some(period)) = (self.state, self.cfg.announce.extra_interfaces)
            {
                if !self.cfg.virtual_addresses.is_empty() {
                    self.actions.push_back(Action::Announce(Announcement {
                        addresses: self.cfg.virtual_addresses.clone(),
                        mac: None,
                        count: 1,
                        interval: Duration::ZERO,
                        reason: AnnounceReason::ExtraInterfaces,
                    }));
                }
                self.announce_extra = Some(next_tick(at, now, period));
            }
        }
        if let Some(at) = self.announce_refresh
            && at <= now
        {
            self.announce_refresh = None;
            if let Some(period) = self.cfg.announce.refresh {
                self.announce(AnnounceReason::Refresh);
                self.announce_refresh = Some(next_tick(at, now, period));
            }
        }
    }

    /// Processes one received VRRP message (the IP payload). Returns why it
    /// was dropped, or `Ok` if it was accepted (whether or not it changed
    /// anything).
    pub fn handle_packet(
        &mut self,
        now: Instant,
        meta: &RecvMeta,
        bytes: &[u8],
    ) -> Result<(), DropReason> {
        let r = self.receive(now, meta, bytes);
        if let Err(why) = &r {
            self.drops.count(why);
        }
        r
    }

    /// Packets dropped so far, by kind (every error
    /// [`handle_packet`](Self::handle_packet) returned).
    pub fn drops(&self) -> &DropCounts {
        &self.drops
    }

    fn receive(&mut self, now: Instant, meta: &RecvMeta, bytes: &[u8]) -> Result<(), DropReason> {
        let advert = self.validate(meta, bytes)?;
        match self.state {
            State::Backup => self.backup_receive(now, meta, &advert),
            State::Master => self.master_receive(now, meta, &advert),
            s => return Err(DropReason::Inactive(s)),
        }
        Ok(())
    }

    /// Every receive check; on success the fields the state machine needs.
    fn validate(&mut self, meta: &RecvMeta, bytes: &[u8]) -> Result<Advert, DropReason> {
        if meta.hop_limit != wire::TTL {
            return Err(DropReason::HopLimit(meta.hop_limit));
        }
        if Family::of(&meta.source) != self.family || Family::of(&meta.destination) != self.family {
            return Err(DropReason::Family);
        }
        if !self.cfg.unicast_peers.is_empty() && !self.cfg.unicast_peers.contains(&meta.source) {
            return Err(DropReason::UnknownPeer(meta.source));
        }
        let packet = Packet::new_checked(bytes, self.family)?;
        if packet.message_len() != bytes.len() {
            return Err(DropReason::Length {
                count: packet.address_count(),
                expected: packet.message_len(),
                got: bytes.len(),
            });
        }
        let ours = self.cfg.advert_interval;
        let expected = match ours {
            AdvertInterval::V2(_) => 2,
            AdvertInterval::V3(_) => 3,
        };
        if packet.version_number() != expected {
            return Err(DropReason::Version {
                expected,
                got: packet.version_number(),
            });
        }
        let form = if self.cfg.strict_checksum {
            let form = match ours {
                AdvertInterval::V2(_) => ChecksumForm::MessageOnly,
                AdvertInterval::V3(_) => self.cfg.checksum_form,
            };
            if !packet.checksum_ok(form, &meta.source, &meta.destination) {
                return Err(DropReason::Checksum(packet.checksum()));
            }
            form
        } else {
            packet.verify_checksum(&meta.source, &meta.destination)?
        };
        if packet.vrid() != self.cfg.vrid {
            return Err(DropReason::Vrid {
                expected: self.cfg.vrid,
                got: packet.vrid(),
            });
        }
        if meta.source == self.cfg.primary_address {
            return Err(DropReason::OwnAdvertisement);
        }
        if self.effective_priority == PRIORITY_OWNER {
            return Err(DropReason::OwnerReceived);
        }
        let interval = match ours {
            AdvertInterval::V2(ours_s) => {
                let auth = self.cfg.auth;
                if packet.auth_type() != auth.kind() {
                    return Err(DropReason::AuthType {
                        expected: auth.kind(),
                        got: packet.auth_type(),
                    });
                }
                if let Auth::SimpleText(pw) = auth
                    && packet.auth_data() != pw
                {
                    return Err(DropReason::AuthData);
                }
                let theirs = packet.advert_interval_v2();
                if theirs.0 == 0 {
                    return Err(DropReason::ZeroInterval);
                }
                if theirs != ours_s {
                    return Err(DropReason::IntervalMismatch {
                        ours: ours_s,
                        theirs,
                    });
                }
                ours
            }
            AdvertInterval::V3(_) => {
                let theirs = packet.max_advert_interval();
                if theirs.get() == 0 {
                    return Err(DropReason::ZeroInterval);
                }
                AdvertInterval::V3(theirs)
            }
        };
        let priority = packet.priority();
        let mut mismatch = false;
        let skip = self.cfg.address_check == AddressCheck::SkipFromMaster
            && self.state == State::Backup
            && self.master == Some(meta.source);
        if !skip && !self.same_addresses(packet.address_bytes()) {
            match self.cfg.address_check {
                AddressCheck::Drop | AddressCheck::SkipFromMaster if priority != PRIORITY_OWNER => {
                    return Err(DropReason::AddressMismatch);
                }
                _ => mismatch = true,
            }
        }
        self.peer_checksum_form = Some(form);
        if mismatch {
            self.actions
                .push_back(Action::AddressMismatch { from: meta.source });
        }
        Ok(Advert { priority, interval })
    }

    /// Same set of addresses, in any order.
    fn same_addresses(&self, theirs: &[u8]) -> bool {
        if theirs == self.vip_bytes.as_slice() {
            return true;
        }
        if theirs.len() != self.vip_bytes.len() {
            return false;
        }
        let n = self.family.address_len();
        let mut a: Vec<&[u8]> = theirs.chunks_exact(n).collect();
        let mut b: Vec<&[u8]> = self.vip_bytes.chunks_exact(n).collect();
        a.sort_unstable();
        b.sort_unstable();
        a == b
    }

    fn backup_receive(&mut self, now: Instant, meta: &RecvMeta, adv: &Advert) {
        if adv.priority == PRIORITY_STOP {
            // The Master resigned: take over after Skew_Time only.
            self.master_down_timer = Some(now + self.skew);
            return;
        }
        let lower = adv.priority < self.effective_priority;
        let tolerate = lower
            && self.cfg.preempt
            && !self.cfg.preempt_delay.is_zero()
            && *self
                .preempt_deadline
                .get_or_insert(now + self.cfg.preempt_delay)
                > now;
        if !self.cfg.preempt || !lower || tolerate {
            if !lower {
                self.preempt_deadline = None;
            }
            if let AdvertInterval::V3(_) = self.cfg.advert_interval {
                self.set_master_adver_interval(adv.interval);
            }
            self.master = Some(meta.source);
            self.master_down_timer = Some(now + self.master_down);
            self.wants_master = false;
        }
        // else: a lower-priority Master with preempt on: ignore it and let
        // Master_Down_Timer expire.
    }

    fn master_receive(&mut self, now: Instant, meta: &RecvMeta, adv: &Advert) {
        if adv.priority == PRIORITY_STOP {
            // Someone resigned: assert ourselves at once.
            self.send_advert(self.effective_priority);
            self.adver_timer = Some(now + self.advert_interval());
            return;
        }
        let ours = self.effective_priority;
        let wins = adv.priority > ours
            || (adv.priority == ours && ip_greater(&meta.source, &self.cfg.primary_address));
        if !wins {
            self.lower_prio_heard(now);
            return;
        }
        if self.cfg.higher_prio_send_advert {
            self.send_advert(ours);
        }
        self.adver_timer = None;
        if let AdvertInterval::V3(_) = self.cfg.advert_interval {
            self.set_master_adver_interval(adv.interval);
        }
        self.master = Some(meta.source);
        self.master_down_timer = Some(now + self.master_down);
        self.leave_master();
        self.set_state(
            State::Backup,
            Reason::HigherPriority {
                from: meta.source,
                priority: adv.priority,
            },
        );
    }

    fn advert_interval(&self) -> Duration {
        self.cfg.advert_interval.to_duration()
    }

    /// A Master heard a lower-priority advert: someone else thinks it is
    /// Master (a split brain healing). keepalived answers with an advert,
    /// so the other steps down at once, and re-announces the addresses,
    /// which hosts may have learnt from the other; once per advert
    /// interval at most, so crafted adverts cannot make us flood.
    fn lower_prio_heard(&mut self, now: Instant) {
        if self
            .lower_prio_reacted
            .is_some_and(|at| now < at + self.advert_interval())
        {
            return;
        }
        self.lower_prio_reacted = Some(now);
        if !self.cfg.lower_prio_no_advert {
            self.send_advert(self.effective_priority);
        }
        if self.cfg.announce.lower_prio_burst > 0 {
            self.announce_lower_prio();
            self.lower_prio_repeat = self.cfg.announce.lower_prio_repeat_after.map(|d| now + d);
        }
    }

    fn announce_lower_prio(&mut self) {
        let burst = self.cfg.announce.lower_prio_burst;
        if burst == 0 || self.cfg.virtual_addresses.is_empty() {
            return;
        }
        self.actions.push_back(Action::Announce(Announcement {
            addresses: self.cfg.virtual_addresses.clone(),
            mac: self.virtual_mac(),
            count: burst,
            interval: self.cfg.announce.interval,
            reason: AnnounceReason::LowerPriorityAdvert,
        }));
    }

    fn clear_timers(&mut self) {
        self.adver_timer = None;
        self.master_down_timer = None;
        self.startup_at = None;
        self.preempt_deadline = None;
        self.announce_repeat = None;
        self.announce_refresh = None;
        self.lower_prio_repeat = None;
        self.announce_extra = None;
    }

    fn startup(&mut self, now: Instant) {
        if self.is_faulted() {
            let reason = self
                .faults
                .first()
                .cloned()
                .or_else(|| self.track_faults().next())
                .unwrap_or(FaultReason::LinkDown);
            self.enter_fault(reason);
            return;
        }
        self.state_from_startup(now, Reason::Startup);
    }

    fn state_from_startup(&mut self, now: Instant, reason: Reason) {
        self.set_master_adver_interval(self.cfg.advert_interval);
        if self.effective_priority == PRIORITY_OWNER {
            self.become_master(now, Reason::AddressOwner);
        } else if self.cfg.start_as_master && reason == Reason::Startup {
            self.become_master(now, Reason::Startup);
        } else {
            self.master = None;
            self.master_down_timer = Some(now + self.master_down);
            self.set_state(State::Backup, reason);
        }
    }

    fn enter_fault(&mut self, reason: FaultReason) {
        if self.state == State::Fault {
            return;
        }
        if self.state == State::Master {
            self.send_advert(PRIORITY_STOP);
            self.leave_master();
        }
        self.clear_timers();
        self.master = None;
        self.set_state(State::Fault, Reason::Fault(reason));
    }

    fn become_master(&mut self, now: Instant, reason: Reason) {
        self.master_down_timer = None;
        self.preempt_deadline = None;
        self.set_master_adver_interval(self.cfg.advert_interval);
        self.send_advert(self.effective_priority);
        self.adver_timer = Some(now + self.advert_interval());
        self.actions.push_back(Action::AddAddresses {
            addresses: self.cfg.virtual_addresses.clone(),
            mac: self.virtual_mac(),
            accept: self.cfg.accept_mode || self.effective_priority == PRIORITY_OWNER,
        });
        self.announce(AnnounceReason::BecameMaster);
        self.announce_repeat = self.cfg.announce.repeat_after.map(|d| now + d);
        self.announce_refresh = self.cfg.announce.refresh.map(|d| now + d);
        self.announce_extra = self.cfg.announce.extra_interfaces.map(|d| now + d);
        self.master = Some(self.cfg.primary_address);
        self.set_state(State::Master, reason);
    }

    fn leave_master(&mut self) {
        self.adver_timer = None;
        self.announce_repeat = None;
        self.announce_refresh = None;
        self.lower_prio_repeat = None;
        self.announce_extra = None;
        self.remove_addresses();
    }

    fn remove_addresses(&mut self) {
        self.actions.push_back(Action::RemoveAddresses {
            addresses: self.cfg.virtual_addresses.clone(),
            mac: self.virtual_mac(),
        });
    }

    fn announce(&mut self, reason: AnnounceReason) {
        if self.cfg.announce.burst == 0 || self.cfg.virtual_addresses.is_empty() {
            return;
        }
        self.actions.push_back(Action::Announce(Announcement {
            addresses: self.cfg.virtual_addresses.clone(),
            mac: self.virtual_mac(),
            count: self.cfg.announce.burst,
            interval: self.cfg.announce.interval,
            reason,
        }));
    }

    fn set_state(&mut self, to: State, reason: Reason) {
        let from = self.state;
        self.state = to;
        self.wants_master = false;
        if from != to {
            self.actions
                .push_back(Action::StateChanged { from, to, reason });
        }
    }

    /// Builds the advertisement for each destination.
    fn send_advert(&mut self, priority: u8) {
        let kind = match self.cfg.advert_interval {
            AdvertInterval::V2(interval) => Kind::V2 {
                interval,
                auth: self.cfg.auth,
            },
            AdvertInterval::V3(interval) => Kind::V3 { interval },
        };
        let repr = Repr {
            vrid: self.cfg.vrid,
            priority,
            kind,
            addresses: Addresses::from_ips(self.family, &self.cfg.virtual_addresses).unwrap_or(
                match self.family {
                    Family::V4 => Addresses::V4(Vec::new()),
                    Family::V6 => Addresses::V6(Vec::new()),
                },
            ),
        };
        let form = match self.family {
            Family::V4 => self.cfg.checksum_form,
            Family::V6 => ChecksumForm::PseudoHeader,
        };
        let src = self.cfg.primary_address;
        let group = [self.cfg.group()];
        let dests: &[IpAddr] = if self.cfg.unicast_peers.is_empty() {
            &group
        } else {
            &self.cfg.unicast_peers
        };
        for dst in dests {
            // Config validation guarantees family and count, so emit cannot fail.
            if let Ok(payload) = repr.to_bytes(form, &src, dst) {
                self.actions.push_back(Action::Transmit(Transmit {
                    source: src,
                    destination: *dst,
                    payload,
                }));
            }
        }
    }
}

/// Fields of a validated advertisement the state machine uses.
struct Advert {
    priority: u8,
    interval: AdvertInterval,
}

/// Numeric comparison of two addresses of one family (RFC tie-break).
fn ip_greater(a: &IpAddr, b: &IpAddr) -> bool {
    match (a, b) {
        (IpAddr::V4(a), IpAddr::V4(b)) => a > b,
        (IpAddr::V6(a), IpAddr::V6(b)) => a > b,
        _ => false,
    }
}

/// Next periodic deadline after `at`: drift-free, but never in the past
/// (after a clock jump, no burst of catch-up events).
fn next_tick(at: Instant, now: Instant, period: Duration) -> Instant {
    let next = at + period;
    if next <= now { now + period } else { next }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn states_and_reasons_print_as_keepalived_logs_them() {
        let shown: Vec<String> = [
            State::Initialize,
            State::Backup,
            State::Master,
            State::Fault,
        ]
        .iter()
        .map(ToString::to_string)
        .collect();
        assert_eq!(shown, ["INIT", "BACKUP", "MASTER", "FAULT"]);
        let from = IpAddr::V4(core::net::Ipv4Addr::new(10, 0, 0, 2));
        let reasons = [
            (Reason::Startup, "startup"),
            (Reason::AddressOwner, "address owner"),
            (Reason::MasterDown, "master down"),
            (
                Reason::HigherPriority {
                    from,
                    priority: 120,
                },
                "higher priority 120 from 10.0.0.2",
            ),
            (Reason::Shutdown, "shutdown"),
            (Reason::Fault(FaultReason::LinkDown), "fault: link down"),
            (
                Reason::Fault(FaultReason::Track("eth1".into())),
                "fault: track eth1 down",
            ),
            (
                Reason::Fault(FaultReason::Other("disk full".into())),
                "fault: disk full",
            ),
            (Reason::FaultCleared, "fault cleared"),
        ];
        for (reason, text) in reasons {
            assert_eq!(reason.to_string(), text);
        }
        assert_eq!(
            DropReason::Inactive(State::Fault).to_string(),
            "router not active (FAULT)"
        );
        assert_eq!(
            DropReason::HopLimit(64).to_string(),
            "TTL/hop limit 64, must be 255"
        );
    }

    #[test]
    fn drop_kinds_index_their_counters() {
        // `DropCounts` indexes by discriminant: ALL must list them in order.
        for (i, k) in DropKind::ALL.iter().enumerate() {
            assert_eq!(*k as usize, i, "{k}");
        }
        let mut c = DropCounts::default();
        c.count(&DropReason::ZeroInterval);
        c.count(&DropReason::Malformed(wire::Error::Truncated {
            got: 4,
            needed: 8,
        }));
        c.count(&DropReason::Malformed(wire::Error::UnknownType(2)));
        assert_eq!(c.get(DropKind::ZeroInterval), 1);
        assert_eq!(c.get(DropKind::Truncated), 1);
        assert_eq!(c.get(DropKind::Malformed), 1);
        assert_eq!(c.total(), 3);
        assert_eq!(c.iter().count(), DropKind::ALL.len());
    }

    fn held_router() -> Router {
        use crate::{AdvertInterval, Config, Seconds};
        let ip = |n| IpAddr::V4(core::net::Ipv4Addr::new(10, 0, 0, n));
        let mut r = Router::new(Config::new(
            1,
            100,
            AdvertInterval::V2(Seconds(1)),
            ip(1),
            vec![ip(100)],
        ))
        .unwrap();
        r.set_sync_hold(true);
        r
    }

    /// Asserts a priority-0 resignation to Backup that removed the
    /// addresses; returns its actions.
    fn resigned(r: &mut Router) -> Vec<Action> {
        assert_eq!(r.state(), State::Backup);
        let acts: Vec<Action> = core::iter::from_fn(|| r.poll_action()).collect();
        assert!(
            acts.iter()
                .any(|a| matches!(a, Action::Transmit(t) if t.payload[2] == 0)),
            "resigns with priority 0: {acts:?}"
        );
        assert!(
            acts.iter()
                .any(|a| matches!(a, Action::RemoveAddresses { .. }))
        );
        acts
    }

    #[test]
    fn a_held_backup_waits_for_its_group_then_follows_it() {
        let t0 = Instant::now();
        let mut r = held_router();
        r.start(t0);
        assert_eq!(r.state(), State::Backup);
        assert!(!r.wants_master());
        let down = r.master_down_interval();
        r.handle_timeout(t0 + down);
        // Held: still Backup, wanting Master, timer re-armed.
        assert_eq!(r.state(), State::Backup);
        assert!(r.wants_master());
        assert!(r.poll_timeout().is_some_and(|t| t > t0 + down));
        r.sync_to_master(t0 + down);
        assert_eq!(r.state(), State::Master);
        while let Some(a) = r.poll_action() {
            let _ = a;
        }
        r.sync_to_backup(t0 + down);
        resigned(&mut r);
        r.set_fault(t0 + down, FaultReason::SyncGroup("G".into()), true);
        assert_eq!(r.state(), State::Fault);
        assert_eq!(r.faults(), vec![FaultReason::SyncGroup("G".into())]);
        // Unheld, the RFC rule is back: the timer takes over alone.
        r.set_fault(t0 + down, FaultReason::SyncGroup("G".into()), false);
        r.set_sync_hold(false);
        r.handle_timeout(t0 + 4 * down);
        assert_eq!(r.state(), State::Master);
    }

    #[test]
    fn a_master_that_lost_a_resource_resigns_and_retakes_after_skew_time() {
        let t0 = Instant::now();
        let mut r = held_router();
        r.set_sync_hold(false);
        r.start(t0);
        let down = r.master_down_interval();
        r.handle_timeout(t0 + down);
        assert_eq!(r.state(), State::Master);
        while r.poll_action().is_some() {}
        let lost = t0 + down + Duration::from_millis(300);
        r.step_down_and_retake(lost);
        let acts = resigned(&mut r);
        assert!(
            acts.iter().any(|a| matches!(
                a,
                Action::StateChanged {
                    to: State::Backup,
                    reason: Reason::Retake,
                    ..
                }
            )),
            "{acts:?}"
        );
        // Back after Skew_Time (0.61 s at priority 100), not Master_Down_Interval.
        assert_eq!(r.poll_timeout(), Some(lost + r.skew_time()));
        r.handle_timeout(lost + r.skew_time());
        assert_eq!(r.state(), State::Master);
        // A Backup is left alone.
        let mut b = held_router();
        b.set_sync_hold(false);
        b.start(t0);
        while b.poll_action().is_some() {}
        b.step_down_and_retake(t0);
        assert_eq!(b.state(), State::Backup);
        assert!(b.poll_action().is_none());
    }

    fn value_router(priority: u8, tracks: Vec<crate::Track>) -> Router {
        let a = IpAddr::V4(core::net::Ipv4Addr::new(10, 0, 0, 1));
        let vip = IpAddr::V4(core::net::Ipv4Addr::new(10, 0, 0, 100));
        let mut c = Config::new(1, priority, AdvertInterval::V2(Seconds(1)), a, vec![vip]);
        c.tracks = tracks;
        Router::new(c).unwrap()
    }

    #[test]
    fn value_track_scales_clamps_and_faults_as_keepalived() {
        let k = TrackKind::Value { reverse: false };
        let rev = TrackKind::Value { reverse: true };
        // value × weight, reverse negates, capped at +253, -254 and below FAULT.
        assert_eq!(k.value_effect(-10, 0), Some(0));
        assert_eq!(k.value_effect(-10, 5), Some(-50));
        assert_eq!(k.value_effect(10, 5), Some(50));
        assert_eq!(rev.value_effect(10, 5), Some(-50));
        assert_eq!(rev.value_effect(-10, 5), Some(50));
        assert_eq!(k.value_effect(1, 1000), Some(253));
        assert_eq!(k.value_effect(1, -253), Some(-253));
        assert_eq!(k.value_effect(1, -254), None);
        assert_eq!(k.value_effect(254, -1), None);
        assert_eq!(k.value_effect(254, i64::MIN), None);
        assert_eq!(k.value_effect(254, i64::MAX), Some(253));
        // Weight 0: non-zero is FAULT; reversed, zero is.
        assert_eq!(k.value_effect(0, 0), Some(0));
        assert_eq!(k.value_effect(0, -3), None);
        assert_eq!(rev.value_effect(0, 0), None);
        assert_eq!(rev.value_effect(0, 7), Some(0));
        // A signal track's value means nothing.
        assert_eq!(TrackKind::Signal.value_effect(0, 9), Some(0));
    }

    #[test]
    fn value_track_moves_priority_within_1_254_and_faults() {
        let t0 = Instant::now();
        let mut r = value_router(
            100,
            vec![
                crate::Track::value("file:f", -10, false),
                crate::Track::value("file:z", 0, false),
            ],
        );
        r.start(t0);
        assert_eq!(r.state(), State::Backup);
        assert_eq!(r.effective_priority(), 100);
        r.set_track_value(t0, "file:f", 3).unwrap();
        assert_eq!(r.effective_priority(), 70);
        r.set_track_value(t0, "file:f", 20).unwrap(); // -200: clamped to 1
        assert_eq!(r.effective_priority(), 1);
        assert_eq!(r.state(), State::Backup);
        r.set_track_value(t0, "file:f", -50).unwrap(); // +500 → +253 → 254
        assert_eq!(r.effective_priority(), 254);
        r.set_track_value(t0, "file:f", 26).unwrap(); // -260: FAULT
        assert_eq!(r.state(), State::Fault);
        assert_eq!(r.faults(), vec![FaultReason::Track("file:f".into())]);
        r.set_track_value(t0, "file:f", 0).unwrap();
        assert_eq!(r.state(), State::Backup);
        assert_eq!(r.effective_priority(), 100);
        // Weight 0: any non-zero value is a FAULT, 0 clears it.
        r.set_track_value(t0, "file:z", -1).unwrap();
        assert_eq!(r.state(), State::Fault);
        assert_eq!(r.effective_priority(), 100);
        r.set_track_value(t0, "file:z", 0).unwrap();
        assert_eq!(r.state(), State::Backup);
        // A value track is not an up/down signal, and the reverse.
        assert!(r.set_track(t0, "file:f", false).is_err());
        assert!(r.set_track_value(t0, "nope", 1).is_err());
    }

    #[test]
    fn reversed_weight_0_value_track_faults_while_zero_from_start() {
        let t0 = Instant::now();
        let mut r = value_router(100, vec![crate::Track::value("file:r", 0, true)]);
        r.start(t0);
        assert_eq!(r.state(), State::Fault);
        r.set_track_value(t0, "file:r", 1).unwrap();
        assert_eq!(r.state(), State::Backup);
    }
}
