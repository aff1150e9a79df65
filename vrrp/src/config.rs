//! Configuration of one virtual router instance.

use core::net::IpAddr;
use core::time::Duration;

use crate::units::AdvertInterval;
use crate::wire::{Auth, ChecksumForm, Family};

/// What to do with an advertisement whose address list differs from ours.
/// The default, in both versions, is [`Drop`](Self::Drop): a list that
/// differs is a misconfigured or a forged peer, and accepting it would let
/// it take the Master role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressCheck {
    /// Drop it unless it comes from the address owner (RFC 3768 §7.1,
    /// RFC 5798 §7.1).
    Drop,
    /// Like [`Drop`](Self::Drop), but a Backup does not compare the list
    /// again for adverts from the Master it already accepted (keepalived
    /// `vrrp_skip_check_adv_addr`): a new sender is always checked.
    SkipFromMaster,
    /// Accept it and report the mismatch
    /// ([`Action::AddressMismatch`](crate::Action::AddressMismatch)).
    Report,
}

/// A tracked signal (a health check, a link, a script): its weight applies
/// to the effective priority according to its state.
///
/// As in keepalived: a positive weight is added while the signal is up, a
/// negative weight is added while it is down, and weight 0 puts the router
/// in Fault while the signal is down.
///
/// New fields may be added: build it with [`Track::new`] and set the
/// public fields you need:
///
/// ```
/// let mut t = lvs_vrrp::Track::new("http", -20);
/// t.initially_up = false;
/// assert_eq!((t.name.as_str(), t.weight), ("http", -20));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Track {
    /// Name the caller uses in [`Router::set_track`](crate::Router::set_track).
    pub name: String,
    /// Priority adjustment (see above).
    pub weight: i16,
    /// State before the caller reports one.
    pub initially_up: bool,
    /// Up/down, or an integer value scaled by the weight.
    pub kind: TrackKind,
}

/// How a tracked signal's state enters the priority.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum TrackKind {
    /// Up or down, reported with [`Router::set_track`](crate::Router::set_track)
    /// (see [`Track`]).
    #[default]
    Signal,
    /// An integer reported with
    /// [`Router::set_track_value`](crate::Router::set_track_value)
    /// (keepalived's `track_file`): the value times the weight (negated
    /// with `reverse`) is added to the priority, capped at +253; a product
    /// of -254 or less is a fault. With weight 0 a non-zero value is a
    /// fault (with `reverse`: a zero value). The value is 0 until reported.
    Value {
        /// The product's sign is inverted (weight 0: zero is the fault).
        reverse: bool,
    },
}

impl TrackKind {
    /// What a value track with `weight` and this kind gives for `value`:
    /// `None` is a fault, `Some(adjustment)` the change to the priority
    /// (before the 1..=254 clamp). A [`Signal`](Self::Signal) track's value
    /// means nothing: `Some(0)`.
    ///
    /// ```
    /// use lvs_vrrp::TrackKind;
    ///
    /// let k = TrackKind::Value { reverse: false };
    /// assert_eq!(k.value_effect(-10, 3), Some(-30));
    /// assert_eq!(k.value_effect(-10, 26), None); // -260: FAULT
    /// assert_eq!(k.value_effect(0, 1), None); // weight 0: non-zero is FAULT
    /// ```
    pub fn value_effect(self, weight: i16, value: i64) -> Option<i32> {
        let TrackKind::Value { reverse } = self else {
            return Some(0);
        };
        if weight == 0 {
            return ((value != 0) == reverse).then_some(0);
        }
        let sign = if reverse { -1 } else { 1 };
        let product = value.saturating_mul(i64::from(weight)).saturating_mul(sign);
        // keepalived: -254 and below is FAULT, above 253 counts as 253.
        (product > -254).then(|| product.min(253) as i32)
    }
}

/// When a Master announces its addresses (gratuitous ARP / unsolicited NA):
/// the one schedule of the stack. The [`Router`](crate::Router) emits one
/// [`Action::Announce`](crate::Action::Announce) per burst — on becoming
/// Master, the repeat, each refresh — and the sender (lvs-arpguard's
/// `Announcer::announce_with`) sends just that burst, adding no repeats of
/// its own. Defaults follow keepalived: 5 packets at once, again 5 s later.
///
/// New fields may be added: start from [`AnnounceSchedule::default`] and
/// set the public fields you need:
///
/// ```
/// use std::time::Duration;
///
/// let mut s = lvs_vrrp::AnnounceSchedule::default();
/// s.refresh = Some(Duration::from_secs(60));
/// assert_eq!(s.burst, 5);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub struct AnnounceSchedule {
    /// Packets per burst per address (keepalived `garp_master_repeat`).
    pub burst: u32,
    /// Gap between the packets of a burst (keepalived `garp_interval`).
    pub interval: Duration,
    /// A second burst this long after becoming Master (`garp_master_delay`).
    pub repeat_after: Option<Duration>,
    /// A burst every period while Master (`garp_master_refresh`).
    pub refresh: Option<Duration>,
    /// Packets per burst per address when the Master hears a lower-priority
    /// advert — another router believes it is Master, so hosts may have
    /// learnt its MAC (keepalived `garp_lower_prio_repeat`, which defaults
    /// to `garp_master_repeat`); 0: none.
    pub lower_prio_burst: u32,
    /// A second such burst this long after the first
    /// (`garp_lower_prio_delay`, default `garp_master_delay`).
    pub lower_prio_repeat_after: Option<Duration>,
    /// Every period while Master, one packet for the addresses that live
    /// on interfaces other than the advert one (keepalived
    /// `garp_extra_if`): those interfaces send no adverts, so switches
    /// would forget their MAC. The router only times it
    /// ([`AnnounceReason::ExtraInterfaces`](crate::AnnounceReason::ExtraInterfaces));
    /// which addresses live elsewhere is the composing layer's to know.
    pub extra_interfaces: Option<Duration>,
}

impl Default for AnnounceSchedule {
    fn default() -> Self {
        AnnounceSchedule {
            burst: 5,
            interval: Duration::ZERO,
            repeat_after: Some(Duration::from_secs(5)),
            refresh: None,
            lower_prio_burst: 5,
            lower_prio_repeat_after: Some(Duration::from_secs(5)),
            extra_interfaces: None,
        }
    }
}

/// One virtual router (one VRID on one interface, one family).
///
/// New fields may be added: build it with [`Config::new`] (the required
/// fields; RFC / keepalived defaults for the rest) and set the public
/// fields you need:
///
/// ```
/// use lvs_vrrp::{AdvertInterval, Config, Seconds};
///
/// let vip = "192.0.2.100".parse().unwrap();
/// let mut c = Config::new(51, 150, AdvertInterval::V2(Seconds(1)), "192.0.2.1".parse().unwrap(), vec![vip]);
/// c.preempt = false;
/// c.unicast_peers = vec!["192.0.2.2".parse().unwrap()];
/// assert!(c.validate().is_ok());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Config {
    /// Virtual Router Identifier, 1..=255.
    pub vrid: u8,
    /// Configured priority, 1..=255 (255: address owner).
    pub priority: u8,
    /// Advertisement interval; its variant picks the protocol version.
    pub advert_interval: AdvertInterval,
    /// Our primary address on the interface: advert source, tie-breaker.
    /// For IPv6, the interface's link-local address.
    pub primary_address: IpAddr,
    /// The virtual addresses, all of the primary address's family. Bare
    /// addresses: the protocol carries no prefix, label or device, so where
    /// each lives is the composing layer's choice (see the crate docs).
    pub virtual_addresses: Vec<IpAddr>,
    /// Unicast peers; empty means the multicast group.
    pub unicast_peers: Vec<IpAddr>,
    /// The multicast group adverts go to when there are no unicast peers;
    /// `None` is the standard one, 224.0.0.18 / ff02::12 (keepalived's
    /// `vrrp_mcast_group4/6` set it).
    pub multicast_group: Option<IpAddr>,
    /// Whether a higher-priority Backup takes over from a lower-priority Master.
    pub preempt: bool,
    /// How long a lower-priority Master is tolerated before preempting.
    pub preempt_delay: Duration,
    /// Wait this long after [`Router::start`](crate::Router::start) before
    /// leaving Initialize.
    pub startup_delay: Duration,
    /// Whether to go straight to Master on start (keepalived `state MASTER`);
    /// RFC behaviour (`false`) does so only for the address owner.
    pub start_as_master: bool,
    /// RFC 5798 Accept_Mode: whether the Master accepts packets addressed to
    /// virtual addresses it does not own. Passed on in
    /// [`Action::AddAddresses`](crate::Action::AddAddresses).
    pub accept_mode: bool,
    /// VRRPv2 authentication (ignored for v3).
    pub auth: Auth,
    /// Checksum form we send for v3 over IPv4.
    pub checksum_form: ChecksumForm,
    /// Accept only [`checksum_form`](Self::checksum_form) instead of
    /// detecting the peer's form.
    pub strict_checksum: bool,
    /// Policy on address-list mismatch.
    pub address_check: AddressCheck,
    /// Use the virtual MAC 00-00-5E-00-01-VRID (IPv6: 00-00-5E-00-02-VRID),
    /// reported as `[u8; 6]` in the address and announce actions (see
    /// [`virtual_mac`](fn@virtual_mac)).
    pub virtual_mac: bool,
    /// Announcement schedule.
    pub announce: AnnounceSchedule,
    /// A Master that hears a lower-priority advert stays silent, as RFC
    /// 5798 says (keepalived `lower_prio_no_advert`, on with `vrrp_strict`).
    /// Off (keepalived's default): it answers with an advert at once, so a
    /// second Master of a healed split brain steps down without waiting
    /// for the next scheduled one. Either way the
    /// [`lower_prio_burst`](AnnounceSchedule::lower_prio_burst) announcement
    /// follows; both at most once per advert interval, so a flood of such
    /// adverts is never amplified.
    pub lower_prio_no_advert: bool,
    /// A Master that hears a higher-priority advert sends one advert of its
    /// own before it steps down, so the winner (which hears a lower
    /// priority) re-announces the addresses that hosts may have learnt from
    /// us (keepalived `higher_prio_send_advert`; not allowed with
    /// `vrrp_strict`). Default: off.
    pub higher_prio_send_advert: bool,
    /// Tracked signals.
    pub tracks: Vec<Track>,
}

/// An invalid [`Config`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// VRID 0 does not exist.
    #[error("virtual router id must be 1..=255, got 0")]
    ZeroVrid,
    /// Priority 0 is reserved for resignation.
    #[error("priority must be 1..=255, got 0")]
    ZeroPriority,
    /// A zero advertisement interval.
    #[error("advertisement interval must be positive")]
    ZeroInterval,
    /// VRRPv2 is IPv4 only.
    #[error("VRRPv2 runs over IPv4 only; use a v3 (centisecond) interval for IPv6")]
    V2OverIpv6,
    /// An address of the wrong family.
    #[error("address {0} is not of the primary address's family")]
    MixedFamilies(IpAddr),
    /// More addresses than the 8-bit count holds.
    #[error("{0} virtual addresses, at most 255")]
    TooManyAddresses(usize),
    /// Two tracks with one name.
    #[error("track {0:?} defined twice")]
    DuplicateTrack(String),
    /// The configured group is not a multicast address.
    #[error("VRRP group {0} is not a multicast address")]
    NotMulticast(IpAddr),
}

impl Track {
    /// A signal named `name` with `weight`, up until the caller reports
    /// otherwise.
    pub fn new(name: &str, weight: i16) -> Track {
        Track {
            name: name.to_string(),
            weight,
            initially_up: true,
            kind: TrackKind::Signal,
        }
    }

    /// A value track (keepalived's `track_file`, see [`TrackKind::Value`]),
    /// its value 0 until the caller reports one.
    pub fn value(name: &str, weight: i16, reverse: bool) -> Track {
        Track {
            kind: TrackKind::Value { reverse },
            ..Track::new(name, weight)
        }
    }
}

impl Config {
    /// A configuration with RFC / keepalived defaults: multicast, preempt
    /// on, no delays, accept mode off, no authentication, RFC checksum with
    /// peer-form detection, address-list mismatch dropped (both versions).
    pub fn new(
        vrid: u8,
        priority: u8,
        advert_interval: AdvertInterval,
        primary_address: IpAddr,
        virtual_addresses: Vec<IpAddr>,
    ) -> Config {
        Config {
            vrid,
            priority,
            advert_interval,
            primary_address,
            virtual_addresses,
            unicast_peers: Vec::new(),
            multicast_group: None,
            preempt: true,
            preempt_delay: Duration::ZERO,
            startup_delay: Duration::ZERO,
            start_as_master: false,
            accept_mode: false,
            auth: Auth::None,
            checksum_form: ChecksumForm::PseudoHeader,
            strict_checksum: false,
            address_check: AddressCheck::Drop,
            virtual_mac: false,
            announce: AnnounceSchedule::default(),
            lower_prio_no_advert: false,
            higher_prio_send_advert: false,
            tracks: Vec::new(),
        }
    }

    /// The address family of this instance.
    pub fn family(&self) -> Family {
        Family::of(&self.primary_address)
    }

    /// The multicast group in use: the configured one or the family's standard group.
    pub fn group(&self) -> IpAddr {
        self.multicast_group
            .unwrap_or_else(|| self.family().multicast_group())
    }

    /// The group a receiving socket joins: [`group`](Self::group), or
    /// `None` in unicast mode (no group membership at all, as keepalived
    /// does with `unicast_peer`).
    pub fn receive_group(&self) -> Option<IpAddr> {
        self.unicast_peers.is_empty().then(|| self.group())
    }

    /// Checks the invariants the state machine relies on.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.vrid == 0 {
            return Err(ConfigError::ZeroVrid);
        }
        if self.priority == 0 {
            return Err(ConfigError::ZeroPriority);
        }
        if self.advert_interval.to_duration().is_zero() {
            return Err(ConfigError::ZeroInterval);
        }
        let family = self.family();
        if family == Family::V6 && matches!(self.advert_interval, AdvertInterval::V2(_)) {
            return Err(ConfigError::V2OverIpv6);
        }
        for a in self
            .virtual_addresses
            .iter()
            .chain(&self.unicast_peers)
            .chain(&self.multicast_group)
        {
            if Family::of(a) != family {
                return Err(ConfigError::MixedFamilies(*a));
            }
        }
        if !self.group().is_multicast() {
            return Err(ConfigError::NotMulticast(self.group()));
        }
        if self.virtual_addresses.len() > 255 {
            return Err(ConfigError::TooManyAddresses(self.virtual_addresses.len()));
        }
        for (i, t) in self.tracks.iter().enumerate() {
            if self.tracks[..i].iter().any(|o| o.name == t.name) {
                return Err(ConfigError::DuplicateTrack(t.name.clone()));
            }
        }
        Ok(())
    }
}

/// The virtual MAC address of `vrid` (RFC 5798 §7.3), as plain bytes so
/// this crate needs no MAC type; lvs-arpguard's is one wrap away:
/// `lvs_arpguard::MacAddr(virtual_mac(family, vrid))`.
pub const fn virtual_mac(family: Family, vrid: u8) -> [u8; 6] {
    let kind = match family {
        Family::V4 => 0x01,
        Family::V6 => 0x02,
    };
    [0x00, 0x00, 0x5e, 0x00, kind, vrid]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::units::{Centiseconds, Seconds};

    fn v4(last: u8) -> IpAddr {
        IpAddr::V4(core::net::Ipv4Addr::new(10, 0, 0, last))
    }

    #[test]
    fn virtual_macs_follow_rfc_5798() {
        assert_eq!(virtual_mac(Family::V4, 7), [0, 0, 0x5e, 0, 1, 7]);
        assert_eq!(virtual_mac(Family::V6, 255), [0, 0, 0x5e, 0, 2, 255]);
    }

    #[test]
    fn invalid_configs_are_named() {
        let ok = Config::new(1, 100, AdvertInterval::V2(Seconds(1)), v4(1), vec![v4(9)]);
        assert_eq!(ok.validate(), Ok(()));
        let mut c = ok.clone();
        c.vrid = 0;
        assert_eq!(c.validate(), Err(ConfigError::ZeroVrid));
        let mut c = ok.clone();
        c.priority = 0;
        assert_eq!(c.validate(), Err(ConfigError::ZeroPriority));
        let mut c = ok.clone();
        c.advert_interval = AdvertInterval::V2(Seconds(0));
        assert_eq!(c.validate(), Err(ConfigError::ZeroInterval));
        let six: IpAddr = "fe80::1".parse().unwrap();
        let mut c = ok.clone();
        c.primary_address = six;
        c.virtual_addresses = vec![six];
        assert_eq!(c.validate(), Err(ConfigError::V2OverIpv6));
        c.advert_interval = AdvertInterval::V3(Centiseconds::new(100).unwrap());
        assert_eq!(c.validate(), Ok(()));
        assert_eq!(c.group(), "ff02::12".parse::<IpAddr>().unwrap());
        c.unicast_peers = vec![v4(2)];
        assert_eq!(c.validate(), Err(ConfigError::MixedFamilies(v4(2))));
        let mut c = ok.clone();
        assert_eq!(c.receive_group(), Some("224.0.0.18".parse().unwrap()));
        c.multicast_group = Some(v4(3));
        assert_eq!(c.validate(), Err(ConfigError::NotMulticast(v4(3))));
        let custom = IpAddr::V4(core::net::Ipv4Addr::new(224, 0, 0, 99));
        c.multicast_group = Some(custom);
        assert_eq!(c.validate(), Ok(()));
        assert_eq!(c.receive_group(), Some(custom));
        c.unicast_peers = vec![v4(2)];
        assert_eq!(c.receive_group(), None);
        let mut c = ok.clone();
        let t = Track {
            name: "a".into(),
            weight: 1,
            initially_up: true,
            kind: TrackKind::Signal,
        };
        c.tracks = vec![t.clone(), t];
        assert_eq!(c.validate(), Err(ConfigError::DuplicateTrack("a".into())));
    }
}
