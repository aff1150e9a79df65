//! Advertisements sent by Debian's keepalived v2.2.7, parsed and re-emitted
//! byte for byte.
//!
//! How they were captured (2026-11-26, this machine): two namespaces joined
//! by a veth pair, `ens18` with 172.20.0.81/24 + fd00::81/64 on the sender
//! and 172.20.0.82/24 + fd00::82/64 on the receiver; keepalived run as
//! `ip netns exec A keepalived -n -l -D -P -f ka.conf -p ka.pid -r vrrp.pid
//! -c chk.pid` with one `vrrp_instance` per case below (state MASTER), and
//! `ip netns exec B tcpdump -i ens18 -w ka.pcap 'ip proto 112 or ip6 proto
//! 112'`. The arrays are `tcpdump -r ka.pcap -xx` with the 14-byte Ethernet
//! header removed (IPv4 or IPv6 header + VRRP message).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use lvs_vrrp::wire::Ipv4Datagram;
use lvs_vrrp::{Addresses, Auth, Centiseconds, ChecksumForm, Family, Kind, Packet, Repr, Seconds};

// version 2, vrid 1, prio 100, advert_int 1, VIP 172.20.0.83, multicast.
const V2_VRID1: &[u8] = &[
    0x45, 0xc0, 0x00, 0x28, 0x00, 0x01, 0x00, 0x00, 0xff, 0x70, 0x2e, 0x2d, 0xac, 0x14, 0x00, 0x51,
    0xe0, 0x00, 0x00, 0x12, 0x21, 0x01, 0x64, 0x01, 0x00, 0x01, 0xce, 0x94, 0xac, 0x14, 0x00, 0x53,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
];
// version 2, vrid 5, `auth_type PASS auth_pass secret12`, two VIPs.
const V2_AUTH_VRID5: &[u8] = &[
    0x45, 0xc0, 0x00, 0x2c, 0x00, 0x01, 0x00, 0x00, 0xff, 0x70, 0x2e, 0x29, 0xac, 0x14, 0x00, 0x51,
    0xe0, 0x00, 0x00, 0x12, 0x21, 0x05, 0x64, 0x02, 0x01, 0x01, 0xb3, 0x94, 0xac, 0x14, 0x00, 0x5d,
    0xac, 0x14, 0x00, 0x5e, 0x73, 0x65, 0x63, 0x72, 0x65, 0x74, 0x31, 0x32,
];
// version 3, vrid 2, prio 100, advert_int 1, multicast.
const V3_VRID2: &[u8] = &[
    0x45, 0xc0, 0x00, 0x20, 0x00, 0x01, 0x00, 0x00, 0xff, 0x70, 0x2e, 0x35, 0xac, 0x14, 0x00, 0x51,
    0xe0, 0x00, 0x00, 0x12, 0x31, 0x02, 0x64, 0x01, 0x00, 0x64, 0x31, 0x3b, 0xac, 0x14, 0x00, 0x54,
];
// version 3, vrid 7, prio 120, multicast (second v3 sample).
const V3_VRID7: &[u8] = &[
    0x45, 0xc0, 0x00, 0x20, 0x00, 0x01, 0x00, 0x00, 0xff, 0x70, 0x2e, 0x35, 0xac, 0x14, 0x00, 0x51,
    0xe0, 0x00, 0x00, 0x12, 0x31, 0x07, 0x78, 0x01, 0x00, 0x64, 0x1d, 0x31, 0xac, 0x14, 0x00, 0x59,
];
// version 3, vrid 3, prio 150, advert_int 0.5, unicast_peer 172.20.0.82.
const V3_UNICAST_VRID3: &[u8] = &[
    0x45, 0xc0, 0x00, 0x20, 0x00, 0x01, 0x00, 0x00, 0xff, 0x70, 0x61, 0xe1, 0xac, 0x14, 0x00, 0x51,
    0xac, 0x14, 0x00, 0x52, 0x31, 0x03, 0x96, 0x01, 0x00, 0x32, 0x33, 0x15, 0xac, 0x14, 0x00, 0x57,
];
// version 3, vrid 6, unicast_peer 172.20.0.82 with `old_unicast_checksum`.
const V3_OLD_UNICAST_VRID6: &[u8] = &[
    0x45, 0xc0, 0x00, 0x20, 0x00, 0x01, 0x00, 0x00, 0xff, 0x70, 0x61, 0xe1, 0xac, 0x14, 0x00, 0x51,
    0xac, 0x14, 0x00, 0x52, 0x31, 0x06, 0x96, 0x01, 0x00, 0x64, 0xff, 0x32, 0xac, 0x14, 0x00, 0x58,
];
// version 3 over IPv6, vrid 4, VIP fd00::83, from the link-local address.
const V3_IPV6_VRID4: &[u8] = &[
    0x6c, 0x0e, 0x52, 0x0a, 0x00, 0x18, 0x70, 0xff, 0xfe, 0x80, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x54, 0x6e, 0x39, 0xff, 0xfe, 0x01, 0xa8, 0x3a, 0xff, 0x02, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x12, 0x31, 0x04, 0x64, 0x01, 0x00, 0x64, 0x3a, 0x4a,
    0xfd, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x83,
];

fn v4(last: u8) -> Ipv4Addr {
    Ipv4Addr::new(172, 20, 0, last)
}

/// Parses an IPv4 fixture, checks the checksum form, re-emits the message.
fn check_v4(frame: &[u8], form: ChecksumForm, expected: Repr) {
    let ip = Ipv4Datagram::parse(frame).expect("IPv4 header");
    assert_eq!(ip.ttl, 255);
    assert_eq!(ip.protocol, 112);
    let (src, dst) = (IpAddr::V4(ip.source), IpAddr::V4(ip.destination));
    let packet = Packet::new_checked(ip.payload, Family::V4).expect("valid VRRP");
    assert_eq!(packet.verify_checksum(&src, &dst), Ok(form));
    let repr = Repr::parse(&packet).expect("parse");
    assert_eq!(repr, expected);
    let again = repr.to_bytes(form, &src, &dst).expect("emit");
    assert_eq!(again, ip.payload, "re-emitted bytes differ");
}

#[test]
fn keepalived_v2_advert() {
    check_v4(
        V2_VRID1,
        ChecksumForm::MessageOnly,
        Repr {
            vrid: 1,
            priority: 100,
            kind: Kind::V2 {
                interval: Seconds(1),
                auth: Auth::None,
            },
            addresses: Addresses::V4(vec![v4(83)]),
        },
    );
}

#[test]
fn keepalived_v2_simple_password() {
    check_v4(
        V2_AUTH_VRID5,
        ChecksumForm::MessageOnly,
        Repr {
            vrid: 5,
            priority: 100,
            kind: Kind::V2 {
                interval: Seconds(1),
                auth: Auth::simple_text(b"secret12"),
            },
            addresses: Addresses::V4(vec![v4(93), v4(94)]),
        },
    );
}

#[test]
fn keepalived_v3_multicast_uses_the_pseudo_header() {
    for (frame, vrid, prio, vip) in [(V3_VRID2, 2, 100, 84), (V3_VRID7, 7, 120, 89)] {
        check_v4(
            frame,
            ChecksumForm::PseudoHeader,
            Repr {
                vrid,
                priority: prio,
                kind: Kind::V3 {
                    interval: Centiseconds::new(100).unwrap(),
                },
                addresses: Addresses::V4(vec![v4(vip)]),
            },
        );
    }
}

#[test]
fn keepalived_v3_unicast_uses_the_real_destination() {
    check_v4(
        V3_UNICAST_VRID3,
        ChecksumForm::PseudoHeader,
        Repr {
            vrid: 3,
            priority: 150,
            kind: Kind::V3 {
                interval: Centiseconds::new(50).unwrap(),
            },
            addresses: Addresses::V4(vec![v4(87)]),
        },
    );
}

#[test]
fn keepalived_old_unicast_checksum_is_detected() {
    check_v4(
        V3_OLD_UNICAST_VRID6,
        ChecksumForm::MulticastPseudoHeader,
        Repr {
            vrid: 6,
            priority: 150,
            kind: Kind::V3 {
                interval: Centiseconds::new(100).unwrap(),
            },
            addresses: Addresses::V4(vec![v4(88)]),
        },
    );
}

#[test]
fn keepalived_v3_ipv6() {
    let frame = V3_IPV6_VRID4;
    assert_eq!(frame[0] >> 4, 6);
    assert_eq!(frame[6], 112, "next header");
    assert_eq!(frame[7], 255, "hop limit");
    let mut s = [0u8; 16];
    s.copy_from_slice(&frame[8..24]);
    let mut d = [0u8; 16];
    d.copy_from_slice(&frame[24..40]);
    let (src, dst) = (IpAddr::V6(Ipv6Addr::from(s)), IpAddr::V6(Ipv6Addr::from(d)));
    assert_eq!(dst, IpAddr::V6(lvs_vrrp::wire::MULTICAST_V6));
    let payload = &frame[40..];
    let packet = Packet::new_checked(payload, Family::V6).unwrap();
    assert_eq!(
        packet.verify_checksum(&src, &dst),
        Ok(ChecksumForm::PseudoHeader)
    );
    let repr = Repr::parse(&packet).unwrap();
    assert_eq!(
        repr,
        Repr {
            vrid: 4,
            priority: 100,
            kind: Kind::V3 {
                interval: Centiseconds::new(100).unwrap()
            },
            addresses: Addresses::V6(vec!["fd00::83".parse().unwrap()]),
        }
    );
    assert_eq!(
        repr.to_bytes(ChecksumForm::PseudoHeader, &src, &dst)
            .unwrap(),
        payload
    );
}

#[test]
fn ethernet_padding_after_a_short_frame_is_tolerated() {
    // A real NIC pads a 46-byte frame to 60: 14 zero bytes after the datagram.
    let mut padded = V3_VRID2.to_vec();
    padded.extend_from_slice(&[0u8; 14]);
    let ip = Ipv4Datagram::parse(&padded).unwrap();
    assert_eq!(ip.payload.len(), 12);
    // Even when the padding reaches the VRRP layer untrimmed.
    let raw = &padded[20..];
    let p = Packet::new_checked(raw, Family::V4).unwrap();
    let src = IpAddr::V4(v4(81));
    let dst = IpAddr::V4(lvs_vrrp::wire::MULTICAST_V4);
    assert_eq!(
        p.verify_checksum(&src, &dst),
        Ok(ChecksumForm::PseudoHeader)
    );
}
