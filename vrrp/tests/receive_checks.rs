//! Every receive check of RFC 5798 §7.1 / RFC 3768 §7.1 yields its own
//! typed drop reason.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

use lvs_vrrp::wire::{self, MULTICAST_V4};
use lvs_vrrp::{
    Action, AddressCheck, Addresses, AdvertInterval, Auth, Centiseconds, ChecksumForm, Config,
    DropReason, Kind, RecvMeta, Repr, Router, Seconds, State,
};

fn ip(last: u8) -> IpAddr {
    Ipv4Addr::new(172, 20, 0, last).into()
}

fn group() -> IpAddr {
    MULTICAST_V4.into()
}

fn backup(cfg: Config) -> Router {
    let mut r = Router::new(cfg).unwrap();
    r.start(Instant::now());
    while r.poll_action().is_some() {}
    assert_eq!(r.state(), State::Backup);
    r
}

fn v2_cfg() -> Config {
    Config::new(1, 90, AdvertInterval::V2(Seconds(1)), ip(82), vec![ip(83)])
}

fn v3_cfg() -> Config {
    Config::new(
        1,
        90,
        AdvertInterval::V3(Centiseconds::new(100).unwrap()),
        ip(82),
        vec![ip(83)],
    )
}

fn advert(kind: Kind, vrid: u8, prio: u8, vips: &[u8]) -> Repr {
    Repr {
        vrid,
        priority: prio,
        kind,
        addresses: Addresses::V4(vips.iter().map(|l| Ipv4Addr::new(172, 20, 0, *l)).collect()),
    }
}

fn v2_kind(secs: u8, auth: Auth) -> Kind {
    Kind::V2 {
        interval: Seconds(secs),
        auth,
    }
}

fn v3_kind() -> Kind {
    Kind::V3 {
        interval: Centiseconds::new(100).unwrap(),
    }
}

fn meta(ttl: u8) -> RecvMeta {
    RecvMeta {
        source: ip(81),
        destination: group(),
        hop_limit: ttl,
    }
}

fn send(r: &mut Router, repr: &Repr, ttl: u8) -> Result<(), DropReason> {
    let bytes = repr
        .to_bytes(ChecksumForm::PseudoHeader, &ip(81), &group())
        .unwrap();
    r.handle_packet(Instant::now(), &meta(ttl), &bytes)
}

#[test]
fn good_adverts_are_accepted() {
    let mut r = backup(v2_cfg());
    assert_eq!(
        send(&mut r, &advert(v2_kind(1, Auth::None), 1, 100, &[83]), 255),
        Ok(())
    );
    assert_eq!(r.master(), Some(ip(81)));
    let mut r = backup(v3_cfg());
    assert_eq!(send(&mut r, &advert(v3_kind(), 1, 100, &[83]), 255), Ok(()));
}

#[test]
fn ttl_must_be_255() {
    let mut r = backup(v2_cfg());
    let a = advert(v2_kind(1, Auth::None), 1, 100, &[83]);
    assert_eq!(send(&mut r, &a, 254), Err(DropReason::HopLimit(254)));
}

#[test]
fn version_must_match() {
    let mut r = backup(v2_cfg());
    let a = advert(v3_kind(), 1, 100, &[83]);
    assert_eq!(
        send(&mut r, &a, 255),
        Err(DropReason::Version {
            expected: 2,
            got: 3
        })
    );
}

#[test]
fn length_is_checked() {
    let mut r = backup(v3_cfg());
    let a = advert(v3_kind(), 1, 100, &[83]);
    let bytes = a
        .to_bytes(ChecksumForm::PseudoHeader, &ip(81), &group())
        .unwrap();
    assert_eq!(
        r.handle_packet(Instant::now(), &meta(255), &bytes[..10]),
        Err(DropReason::Malformed(wire::Error::Truncated {
            got: 10,
            needed: 12
        }))
    );
}

#[test]
fn checksum_is_checked_and_strict_mode_pins_the_form() {
    let mut r = backup(v3_cfg());
    let a = advert(v3_kind(), 1, 100, &[83]);
    let mut bytes = a
        .to_bytes(ChecksumForm::PseudoHeader, &ip(81), &group())
        .unwrap();
    bytes[6] ^= 0x40;
    assert!(matches!(
        r.handle_packet(Instant::now(), &meta(255), &bytes),
        Err(DropReason::Checksum(_))
    ));
    // A Cisco-style (message-only) checksum is detected, unless strict.
    let cisco = a
        .to_bytes(ChecksumForm::MessageOnly, &ip(81), &group())
        .unwrap();
    assert_eq!(r.handle_packet(Instant::now(), &meta(255), &cisco), Ok(()));
    assert_eq!(r.peer_checksum_form(), Some(ChecksumForm::MessageOnly));
    let mut strict = v3_cfg();
    strict.strict_checksum = true;
    let mut r = backup(strict);
    assert!(matches!(
        r.handle_packet(Instant::now(), &meta(255), &cisco),
        Err(DropReason::Checksum(_))
    ));
}

#[test]
fn vrid_must_be_ours() {
    let mut r = backup(v2_cfg());
    let a = advert(v2_kind(1, Auth::None), 7, 100, &[83]);
    assert_eq!(
        send(&mut r, &a, 255),
        Err(DropReason::Vrid {
            expected: 1,
            got: 7
        })
    );
}

#[test]
fn v2_address_list_mismatch_is_dropped_unless_from_owner() {
    let mut r = backup(v2_cfg());
    let a = advert(v2_kind(1, Auth::None), 1, 100, &[84]);
    assert_eq!(send(&mut r, &a, 255), Err(DropReason::AddressMismatch));
    let owner = advert(v2_kind(1, Auth::None), 1, 255, &[84]);
    assert_eq!(send(&mut r, &owner, 255), Ok(()));
    // Same set in another order is no mismatch.
    let mut cfg = v2_cfg();
    cfg.virtual_addresses = vec![ip(83), ip(84)];
    let mut r = backup(cfg);
    let swapped = advert(v2_kind(1, Auth::None), 1, 100, &[84, 83]);
    assert_eq!(send(&mut r, &swapped, 255), Ok(()));
}

#[test]
fn v3_address_list_mismatch_is_reported_not_dropped() {
    let mut r = backup(v3_cfg());
    assert_eq!(r.config().address_check, AddressCheck::Report);
    let a = advert(v3_kind(), 1, 100, &[84]);
    assert_eq!(send(&mut r, &a, 255), Ok(()));
    assert_eq!(
        r.poll_action(),
        Some(Action::AddressMismatch { from: ip(81) })
    );
}

#[test]
fn v2_interval_must_match() {
    let mut r = backup(v2_cfg());
    let a = advert(v2_kind(2, Auth::None), 1, 100, &[83]);
    assert_eq!(
        send(&mut r, &a, 255),
        Err(DropReason::IntervalMismatch {
            ours: Seconds(1),
            theirs: Seconds(2)
        })
    );
}

#[test]
fn owner_drops_adverts() {
    let mut cfg = v2_cfg();
    cfg.priority = 255;
    let mut r = Router::new(cfg).unwrap();
    r.start(Instant::now());
    assert_eq!(r.state(), State::Master);
    let a = advert(v2_kind(1, Auth::None), 1, 100, &[83]);
    assert_eq!(send(&mut r, &a, 255), Err(DropReason::OwnerReceived));
}

#[test]
fn v2_authentication_type_and_password() {
    let mut cfg = v2_cfg();
    cfg.auth = Auth::simple_text(b"secret12");
    let mut r = backup(cfg);
    let none = advert(v2_kind(1, Auth::None), 1, 100, &[83]);
    assert_eq!(
        send(&mut r, &none, 255),
        Err(DropReason::AuthType {
            expected: 1,
            got: 0
        })
    );
    let wrong = advert(v2_kind(1, Auth::simple_text(b"secret13")), 1, 100, &[83]);
    assert_eq!(send(&mut r, &wrong, 255), Err(DropReason::AuthData));
    let right = advert(v2_kind(1, Auth::simple_text(b"secret12")), 1, 100, &[83]);
    assert_eq!(send(&mut r, &right, 255), Ok(()));
}

#[test]
fn own_looped_back_advert_and_inactive_router() {
    let mut r = backup(v2_cfg());
    let a = advert(v2_kind(1, Auth::None), 1, 90, &[83]);
    let bytes = a
        .to_bytes(ChecksumForm::MessageOnly, &ip(82), &group())
        .unwrap();
    let looped = RecvMeta {
        source: ip(82),
        ..meta(255)
    };
    assert_eq!(
        r.handle_packet(Instant::now(), &looped, &bytes),
        Err(DropReason::OwnAdvertisement)
    );
    let mut idle = Router::new(v2_cfg()).unwrap();
    let a = advert(v2_kind(1, Auth::None), 1, 100, &[83]);
    assert_eq!(
        send(&mut idle, &a, 255),
        Err(DropReason::Inactive(State::Initialize))
    );
}

#[test]
fn a_configured_group_is_where_adverts_go_and_what_the_checksum_covers() {
    let custom: IpAddr = Ipv4Addr::new(224, 0, 0, 99).into();
    let mut master_cfg = v3_cfg();
    master_cfg.priority = 100;
    master_cfg.primary_address = ip(81);
    master_cfg.start_as_master = true;
    master_cfg.multicast_group = Some(custom);
    let mut master = Router::new(master_cfg).unwrap();
    master.start(Instant::now());
    let sent: Vec<_> = std::iter::from_fn(|| master.poll_action())
        .filter_map(|a| match a {
            Action::Transmit(t) => Some(t),
            _ => None,
        })
        .collect();
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].destination, custom);
    let packet = wire::Packet::new_checked(&sent[0].payload[..], wire::Family::V4).unwrap();
    assert_eq!(
        packet.verify_checksum(&ip(81), &custom),
        Ok(ChecksumForm::PseudoHeader)
    );
    // Over the standard group the same bytes are not a PseudoHeader-form checksum.
    assert!(!packet.checksum_ok(ChecksumForm::PseudoHeader, &ip(81), &group()));

    let mut backup_cfg = v3_cfg();
    backup_cfg.multicast_group = Some(custom);
    backup_cfg.strict_checksum = true;
    let mut b = backup(backup_cfg);
    let meta = RecvMeta {
        source: ip(81),
        destination: custom,
        hop_limit: 255,
    };
    assert_eq!(
        b.handle_packet(Instant::now(), &meta, &sent[0].payload),
        Ok(())
    );
}
