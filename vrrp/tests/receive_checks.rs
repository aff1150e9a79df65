//! Every receive check of RFC 5798 §7.1 / RFC 3768 §7.1 yields its own
//! typed drop reason.

use std::net::{IpAddr, Ipv4Addr};
use std::time::Instant;

use lvs_vrrp::wire::{self, MULTICAST_V4};
use lvs_vrrp::{
    Action, AddressCheck, Addresses, AdvertInterval, Auth, Centiseconds, ChecksumForm, Config,
    DropKind, DropReason, Kind, RecvMeta, Repr, Router, Seconds, State,
};

mod hostile;

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
fn v3_address_list_mismatch_is_dropped_as_in_v2_unless_from_owner() {
    let mut r = backup(v3_cfg());
    assert_eq!(r.config().address_check, AddressCheck::Drop);
    let a = advert(v3_kind(), 1, 100, &[84]);
    assert_eq!(send(&mut r, &a, 255), Err(DropReason::AddressMismatch));
    assert_eq!(r.master(), None);
    let owner = advert(v3_kind(), 1, 255, &[84]);
    assert_eq!(send(&mut r, &owner, 255), Ok(()));
}

#[test]
fn address_mismatch_reported_when_asked() {
    for cfg in [v2_cfg(), v3_cfg()] {
        let mut cfg = cfg;
        cfg.address_check = AddressCheck::Report;
        let kind = match cfg.advert_interval {
            AdvertInterval::V2(_) => v2_kind(1, Auth::None),
            AdvertInterval::V3(_) => v3_kind(),
        };
        let mut r = backup(cfg);
        assert_eq!(send(&mut r, &advert(kind, 1, 100, &[84]), 255), Ok(()));
        assert_eq!(
            r.poll_action(),
            Some(Action::AddressMismatch { from: ip(81) })
        );
    }
}

#[test]
fn skip_check_adv_addr_trusts_only_the_master_already_accepted() {
    for cfg in [v2_cfg(), v3_cfg()] {
        let mut cfg = cfg;
        cfg.address_check = AddressCheck::SkipFromMaster;
        let kind = match cfg.advert_interval {
            AdvertInterval::V2(_) => v2_kind(1, Auth::None),
            AdvertInterval::V3(_) => v3_kind(),
        };
        let mut r = backup(cfg);
        // A new sender is checked.
        let wrong = advert(kind, 1, 100, &[84]);
        assert_eq!(send(&mut r, &wrong, 255), Err(DropReason::AddressMismatch));
        // Once it is the Master, its list is not compared again.
        assert_eq!(send(&mut r, &advert(kind, 1, 100, &[83]), 255), Ok(()));
        assert_eq!(r.master(), Some(ip(81)));
        assert_eq!(send(&mut r, &wrong, 255), Ok(()));
        // Another sender still is.
        let bytes = wrong
            .to_bytes(ChecksumForm::PseudoHeader, &ip(85), &group())
            .unwrap();
        let other = RecvMeta {
            source: ip(85),
            ..meta(255)
        };
        assert_eq!(
            r.handle_packet(Instant::now(), &other, &bytes),
            Err(DropReason::AddressMismatch)
        );
    }
}

#[test]
fn zero_interval_is_its_own_drop_in_both_versions() {
    // v2: Adver Int 0 (ours is 1 s: not an interval mismatch).
    let mut r = backup(v2_cfg());
    let a = advert(v2_kind(0, Auth::None), 1, 100, &[83]);
    assert_eq!(send(&mut r, &a, 255), Err(DropReason::ZeroInterval));
    // v3: Max Adver Int 0, which v3 would otherwise adopt as the Master's.
    let mut r = backup(v3_cfg());
    let a = advert(
        Kind::V3 {
            interval: Centiseconds::from_field(0),
        },
        1,
        100,
        &[83],
    );
    assert_eq!(send(&mut r, &a, 255), Err(DropReason::ZeroInterval));
    assert_eq!(r.master(), None);
    assert_eq!(r.drops().get(DropKind::ZeroInterval), 1);
}

#[test]
fn length_must_match_the_address_count() {
    for cfg in [v2_cfg(), v3_cfg()] {
        let kind = match cfg.advert_interval {
            AdvertInterval::V2(_) => v2_kind(1, Auth::None),
            AdvertInterval::V3(_) => v3_kind(),
        };
        let mut r = backup(cfg);
        let mut bytes = advert(kind, 1, 100, &[83])
            .to_bytes(ChecksumForm::PseudoHeader, &ip(81), &group())
            .unwrap();
        let len = bytes.len();
        bytes.push(0);
        assert_eq!(
            r.handle_packet(Instant::now(), &meta(255), &bytes),
            Err(DropReason::Length {
                count: 1,
                expected: len,
                got: len + 1
            })
        );
    }
}

#[test]
fn unicast_mode_accepts_only_configured_peers() {
    for cfg in [v2_cfg(), v3_cfg()] {
        let mut cfg = cfg;
        cfg.unicast_peers = vec![ip(81)];
        let kind = match cfg.advert_interval {
            AdvertInterval::V2(_) => v2_kind(1, Auth::None),
            AdvertInterval::V3(_) => v3_kind(),
        };
        let mut r = backup(cfg);
        let a = advert(kind, 1, 100, &[83]);
        let bytes = a
            .to_bytes(ChecksumForm::PseudoHeader, &ip(85), &ip(82))
            .unwrap();
        let stranger = RecvMeta {
            source: ip(85),
            destination: ip(82),
            hop_limit: 255,
        };
        assert_eq!(
            r.handle_packet(Instant::now(), &stranger, &bytes),
            Err(DropReason::UnknownPeer(ip(85)))
        );
        let bytes = a
            .to_bytes(ChecksumForm::PseudoHeader, &ip(81), &ip(82))
            .unwrap();
        let peer = RecvMeta {
            source: ip(81),
            ..stranger
        };
        assert_eq!(r.handle_packet(Instant::now(), &peer, &bytes), Ok(()));
    }
}

/// Every hostile case, 5 times each at a priority above the Master's, in
/// both versions: dropped with its own reason, counted, and the Master
/// stays Master. A correct advert at that priority then does take over,
/// so the crafted ones differed only in what they break.
#[test]
fn hostile_adverts_leave_the_master_in_place_in_both_versions() {
    for v3 in [false, true] {
        let mut cfg = if v3 { v3_cfg() } else { v2_cfg() };
        if !v3 {
            cfg.auth = Auth::simple_text(b"lvs-pass");
        }
        cfg.priority = 100;
        cfg.start_as_master = true;
        let mut r = Router::new(cfg.clone()).unwrap();
        r.start(Instant::now());
        while r.poll_action().is_some() {}
        assert_eq!(r.state(), State::Master);
        for case in hostile::Case::all(v3) {
            for _ in 0..5 {
                let c = hostile::craft(case, &cfg, 200, &ip(81), &group());
                let got = r.handle_packet(Instant::now(), &meta(c.ttl), &c.bytes);
                let kind = got.as_ref().map_err(DropReason::kind);
                assert_eq!(kind, Err(case.kind()), "v3={v3} {}: {got:?}", case.name());
            }
            assert_eq!(r.drops().get(case.kind()), 5, "v3={v3} {}", case.name());
            assert_eq!(r.state(), State::Master, "v3={v3} {}", case.name());
            let left: Vec<Action> = std::iter::from_fn(|| r.poll_action()).collect();
            assert!(
                !left.iter().any(|a| matches!(
                    a,
                    Action::RemoveAddresses { .. }
                        | Action::StateChanged { .. }
                        | Action::AddressMismatch { .. }
                )),
                "v3={v3} {}: {left:?}",
                case.name()
            );
        }
        let cases = hostile::Case::all(v3).len() as u64;
        assert_eq!(r.drops().total(), 5 * cases);
        let good = hostile::valid(&cfg, 200)
            .to_bytes(ChecksumForm::PseudoHeader, &ip(81), &group())
            .unwrap();
        assert_eq!(r.handle_packet(Instant::now(), &meta(255), &good), Ok(()));
        assert_eq!(r.state(), State::Backup, "v3={v3}: the control advert wins");
    }
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
