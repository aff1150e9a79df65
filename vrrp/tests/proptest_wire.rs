//! Property tests: every `Repr` round-trips through `emit`/`parse`, and no
//! byte sequence panics the decoder or the state machine.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Instant;

use lvs_vrrp::wire::Ipv4Datagram;
use lvs_vrrp::{
    Addresses, AdvertInterval, Auth, Centiseconds, ChecksumForm, Config, Family, Kind, Packet,
    RecvMeta, Repr, Router, Seconds,
};
use proptest::prelude::*;

fn auth() -> impl Strategy<Value = Auth> {
    prop_oneof![
        Just(Auth::None),
        any::<[u8; 8]>().prop_map(Auth::SimpleText),
        (2u8.., any::<[u8; 8]>()).prop_map(|(kind, data)| Auth::Other { kind, data }),
    ]
}

fn v2_repr() -> impl Strategy<Value = Repr> {
    (
        any::<u8>(),
        any::<u8>(),
        any::<u8>(),
        auth(),
        prop::collection::vec(any::<[u8; 4]>(), 0..=255),
    )
        .prop_map(|(vrid, priority, secs, auth, addrs)| Repr {
            vrid,
            priority,
            kind: Kind::V2 {
                interval: Seconds(secs),
                auth,
            },
            addresses: Addresses::V4(addrs.into_iter().map(Ipv4Addr::from).collect()),
        })
}

fn v3_repr(family: Family) -> impl Strategy<Value = Repr> {
    (
        any::<u8>(),
        any::<u8>(),
        0u16..=4095,
        prop::collection::vec(any::<[u8; 16]>(), 0..=255),
    )
        .prop_map(move |(vrid, priority, cs, addrs)| Repr {
            vrid,
            priority,
            kind: Kind::V3 {
                interval: Centiseconds::new(cs).unwrap(),
            },
            addresses: match family {
                Family::V4 => Addresses::V4(
                    addrs
                        .into_iter()
                        .map(|a| Ipv4Addr::new(a[0], a[1], a[2], a[3]))
                        .collect(),
                ),
                Family::V6 => Addresses::V6(addrs.into_iter().map(Ipv6Addr::from).collect()),
            },
        })
}

fn form() -> impl Strategy<Value = ChecksumForm> {
    prop_oneof![
        Just(ChecksumForm::PseudoHeader),
        Just(ChecksumForm::MessageOnly),
        Just(ChecksumForm::MulticastPseudoHeader),
    ]
}

fn round_trip(repr: &Repr, form: ChecksumForm, src: IpAddr, dst: IpAddr, padding: &[u8]) {
    let mut bytes = repr.to_bytes(form, &src, &dst).unwrap();
    assert_eq!(bytes.len(), repr.buffer_len());
    bytes.extend_from_slice(padding);
    let packet = Packet::new_checked(&bytes[..], repr.family()).unwrap();
    assert_eq!(Repr::parse(&packet).unwrap(), *repr);
    // The detected form must verify; it is the sent one unless two forms
    // coincide (multicast destination, or equal sums by chance).
    let got = packet.verify_checksum(&src, &dst).unwrap();
    assert!(packet.checksum_ok(got, &src, &dst));
    assert!(packet.checksum_ok(form, &src, &dst) || matches!(repr.kind, Kind::V2 { .. }));
}

proptest! {
    #[test]
    fn v2_round_trips(repr in v2_repr(), src in any::<[u8; 4]>(), dst in any::<[u8; 4]>(),
                      pad in prop::collection::vec(any::<u8>(), 0..16)) {
        round_trip(&repr, ChecksumForm::MessageOnly, Ipv4Addr::from(src).into(), Ipv4Addr::from(dst).into(), &pad);
    }

    #[test]
    fn v3_ipv4_round_trips(repr in v3_repr(Family::V4), form in form(), src in any::<[u8; 4]>(),
                           dst in any::<[u8; 4]>(), pad in prop::collection::vec(any::<u8>(), 0..16)) {
        round_trip(&repr, form, Ipv4Addr::from(src).into(), Ipv4Addr::from(dst).into(), &pad);
    }

    #[test]
    fn v3_ipv6_round_trips(repr in v3_repr(Family::V6), src in any::<[u8; 16]>(), dst in any::<[u8; 16]>()) {
        round_trip(&repr, ChecksumForm::PseudoHeader, Ipv6Addr::from(src).into(), Ipv6Addr::from(dst).into(), &[]);
    }

    #[test]
    fn centiseconds_round_trip(cs in 0u16..=4095) {
        let c = Centiseconds::new(cs).unwrap();
        prop_assert_eq!(Centiseconds::from_field(c.get()), c);
        prop_assert_eq!(c.to_duration().as_millis(), u128::from(cs) * 10);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600),
                                   v6 in any::<bool>(), ttl in any::<u8>()) {
        let family = if v6 { Family::V6 } else { Family::V4 };
        let (src, dst): (IpAddr, IpAddr) = if v6 {
            ("fe80::1".parse().unwrap(), "ff02::12".parse().unwrap())
        } else {
            (Ipv4Addr::new(10, 0, 0, 1).into(), Ipv4Addr::new(224, 0, 0, 18).into())
        };
        if let Ok(p) = Packet::new_checked(&bytes[..], family) {
            let _ = p.verify_checksum(&src, &dst);
            let _ = Repr::parse(&p).unwrap();
            let _ = p.addresses().count();
            let _ = (p.priority(), p.vrid(), p.max_advert_interval(), p.advert_interval_v2());
            if p.version_number() == 2 {
                let _ = p.auth_data();
            }
        }
        let _ = Ipv4Datagram::parse(&bytes);
        // The state machine in both roles, both versions.
        for interval in [AdvertInterval::V2(Seconds(1)), AdvertInterval::V3(Centiseconds::new(100).unwrap())] {
            let primary: IpAddr = if v6 { "fe80::2".parse().unwrap() } else { Ipv4Addr::new(10, 0, 0, 2).into() };
            let vip: IpAddr = if v6 { "fd00::9".parse().unwrap() } else { Ipv4Addr::new(10, 0, 0, 9).into() };
            let Ok(mut r) = Router::new(Config::new(1, 100, interval, primary, vec![vip])) else { continue };
            let now = Instant::now();
            r.start(now);
            let meta = RecvMeta { source: src, destination: dst, hop_limit: ttl };
            let _ = r.handle_packet(now, &meta, &bytes);
            let meta = RecvMeta { hop_limit: 255, ..meta };
            let _ = r.handle_packet(now, &meta, &bytes);
            while r.poll_action().is_some() {}
        }
    }
}
