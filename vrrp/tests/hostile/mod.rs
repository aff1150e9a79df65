//! Crafted adverts, one broken receive check each: what a third host on
//! the segment sends to take the Master role. Shared by the unit tests
//! (`receive_checks`) and the namespace test (`netns_hostile_adverts`).

#![allow(dead_code)] // Each test binary uses part of it.

use std::net::IpAddr;

use lvs_vrrp::wire::{ChecksumForm, Packet};
use lvs_vrrp::{
    Addresses, AdvertInterval, Auth, Centiseconds, Config, DropKind, Kind, Repr, Seconds,
};

/// One hostile case.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Case {
    /// Interval field 0 (v2 Adver Int, v3 Max Adver Int), checksum fixed.
    ZeroInterval,
    /// Another virtual address list of the same length.
    AddressMismatch,
    /// A correct advert sent with TTL / hop limit 64.
    Ttl,
    /// The address count lowered to 0, the address left in, checksum fixed.
    Count,
    /// One checksum byte flipped.
    Checksum,
    /// The VRID plus one.
    Vrid,
    /// v2: a wrong password.
    Auth,
    /// The last 4 bytes cut off.
    Truncated,
}

impl Case {
    /// The cases that apply to a version.
    pub fn all(v3: bool) -> Vec<Case> {
        let mut v = vec![
            Case::ZeroInterval,
            Case::AddressMismatch,
            Case::Ttl,
            Case::Count,
            Case::Checksum,
            Case::Vrid,
        ];
        if !v3 {
            v.push(Case::Auth);
        }
        v.push(Case::Truncated);
        v
    }

    /// Short name for tables.
    pub fn name(self) -> &'static str {
        match self {
            Case::ZeroInterval => "zero interval",
            Case::AddressMismatch => "address-list mismatch",
            Case::Ttl => "TTL 64",
            Case::Count => "wrong count",
            Case::Checksum => "bad checksum",
            Case::Vrid => "wrong VRID",
            Case::Auth => "bad auth",
            Case::Truncated => "truncated",
        }
    }

    /// The drop counter that must see it.
    pub fn kind(self) -> DropKind {
        match self {
            Case::ZeroInterval => DropKind::ZeroInterval,
            Case::AddressMismatch => DropKind::AddressMismatch,
            Case::Ttl => DropKind::HopLimit,
            Case::Count => DropKind::Length,
            Case::Checksum => DropKind::Checksum,
            Case::Vrid => DropKind::Vrid,
            Case::Auth => DropKind::AuthData,
            Case::Truncated => DropKind::Truncated,
        }
    }
}

/// A crafted packet: the IP payload and the TTL to send it with.
pub struct Crafted {
    /// The VRRP message.
    pub bytes: Vec<u8>,
    /// TTL / hop limit.
    pub ttl: u8,
}

fn another_address(a: IpAddr) -> IpAddr {
    match a {
        IpAddr::V4(v) => {
            let mut o = v.octets();
            o[3] = o[3].wrapping_add(100);
            IpAddr::V4(o.into())
        }
        IpAddr::V6(v) => {
            let mut o = v.octets();
            o[15] = o[15].wrapping_add(100);
            IpAddr::V6(o.into())
        }
    }
}

/// An advert that `victim` would accept, from `src` to `dst`, at `priority`.
pub fn valid(victim: &Config, priority: u8) -> Repr {
    let kind = match victim.advert_interval {
        AdvertInterval::V2(s) => Kind::V2 {
            interval: s,
            auth: victim.auth,
        },
        AdvertInterval::V3(cs) => Kind::V3 { interval: cs },
    };
    Repr {
        vrid: victim.vrid,
        priority,
        kind,
        addresses: Addresses::from_ips(victim.family(), &victim.virtual_addresses)
            .expect("victim's addresses"),
    }
}

/// `case` against `victim` (its VRID, version, addresses, password), from
/// `src` to `dst` at `priority`: emitted by the codec, then edited.
pub fn craft(case: Case, victim: &Config, priority: u8, src: &IpAddr, dst: &IpAddr) -> Crafted {
    let form = ChecksumForm::PseudoHeader;
    let mut repr = valid(victim, priority);
    let mut ttl = 255;
    match case {
        Case::AddressMismatch => {
            let other: Vec<IpAddr> = victim
                .virtual_addresses
                .iter()
                .map(|a| another_address(*a))
                .collect();
            repr.addresses = Addresses::from_ips(victim.family(), &other).expect("addresses");
        }
        Case::Vrid => repr.vrid = victim.vrid.wrapping_add(1).max(1),
        Case::Auth => {
            repr.kind = Kind::V2 {
                interval: match victim.advert_interval {
                    AdvertInterval::V2(s) => s,
                    AdvertInterval::V3(_) => Seconds(1),
                },
                auth: Auth::simple_text(b"intruder"),
            }
        }
        Case::Ttl => ttl = 64,
        _ => {}
    }
    let mut bytes = repr.to_bytes(form, src, dst).expect("emit");
    match case {
        Case::ZeroInterval => {
            match victim.advert_interval {
                AdvertInterval::V2(_) => bytes[5] = 0,
                AdvertInterval::V3(_) => {
                    bytes[4] = 0;
                    bytes[5] = 0;
                }
            }
            refill(&mut bytes, victim, src, dst);
        }
        Case::Count => {
            bytes[3] = 0;
            refill(&mut bytes, victim, src, dst);
        }
        Case::Checksum => bytes[7] ^= 0x5a,
        Case::Truncated => bytes.truncate(bytes.len() - 4),
        _ => {}
    }
    Crafted { bytes, ttl }
}

/// Rewrites the checksum after an edit, so only the edited field is wrong.
fn refill(bytes: &mut [u8], victim: &Config, src: &IpAddr, dst: &IpAddr) {
    let form = match victim.advert_interval {
        AdvertInterval::V2(_) => ChecksumForm::MessageOnly,
        AdvertInterval::V3(_) => ChecksumForm::PseudoHeader,
    };
    let mut p = Packet::new_unchecked(bytes, victim.family());
    p.fill_checksum(form, src, dst).expect("same family");
}

/// A v3 interval of `cs` centiseconds.
pub fn v3(cs: u16) -> AdvertInterval {
    AdvertInterval::V3(Centiseconds::new(cs).expect("12 bits"))
}
