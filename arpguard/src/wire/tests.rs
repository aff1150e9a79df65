use super::*;

const MAC: MacAddr = MacAddr([0x02, 0, 0, 0, 0, 0x82]);
const VIP: Ipv4Addr = Ipv4Addr::new(172, 20, 0, 83);

// RFC 5227 §2.3 ARP Announcement, RFC 826 field order:
// htype 1, ptype 0x0800, hlen 6, plen 4, op, sha, spa, tha, tpa.
#[rustfmt::skip]
const GARP_REQUEST: [u8; 42] = [
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff,   // Ethernet dst: broadcast
    0x02, 0x00, 0x00, 0x00, 0x00, 0x82,   // Ethernet src
    0x08, 0x06,                           // EtherType ARP
    0x00, 0x01, 0x08, 0x00, 0x06, 0x04,   // Ethernet / IPv4 / 6 / 4
    0x00, 0x01,                           // request
    0x02, 0x00, 0x00, 0x00, 0x00, 0x82,   // sha
    172, 20, 0, 83,                       // spa = VIP
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00,   // tha zero (RFC 5227: SHOULD be zero)
    172, 20, 0, 83,                       // tpa = VIP
];

#[rustfmt::skip]
const GARP_REPLY: [u8; 42] = [
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0x02, 0x00, 0x00, 0x00, 0x00, 0x82,
    0x08, 0x06,
    0x00, 0x01, 0x08, 0x00, 0x06, 0x04,
    0x00, 0x02,                           // reply
    0x02, 0x00, 0x00, 0x00, 0x00, 0x82,
    172, 20, 0, 83,
    0x02, 0x00, 0x00, 0x00, 0x00, 0x82,   // tha = sha
    172, 20, 0, 83,
];

// RFC 4861 §4.4 / §7.2.6 unsolicited NA for 2001:db8::83; checksum computed
// independently (Python, RFC 4443 pseudo-header).
#[rustfmt::skip]
const NA: [u8; 86] = [
    0x33, 0x33, 0x00, 0x00, 0x00, 0x01,   // dst: all-nodes multicast MAC
    0x02, 0x00, 0x00, 0x00, 0x00, 0x82,
    0x86, 0xdd,
    0x60, 0x00, 0x00, 0x00,               // version 6
    0x00, 0x20,                           // payload 32
    58, 255,                              // ICMPv6, hop limit 255
    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x83, // src = VIP
    0xff, 0x02, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x01,       // dst ff02::1
    136, 0, 0xf7, 0xa5,                   // type NA, code 0, checksum
    0x20, 0, 0, 0,                        // R=0 S=0 O=1
    0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x00, 0x83, // target
    2, 1, 0x02, 0x00, 0x00, 0x00, 0x00, 0x82, // target link-layer address option
];

#[test]
fn garp_request_is_an_rfc5227_announcement_byte_for_byte() {
    assert_eq!(garp_frame(GarpForm::Request, MAC, VIP), GARP_REQUEST);
    let (eth, arp) = parse_arp_frame(&GARP_REQUEST).unwrap();
    assert_eq!(eth.dst, MacAddr::BROADCAST);
    assert_eq!(arp.operation, ArpOperation::Request);
    assert!(arp.is_gratuitous());
    assert_eq!(arp.target_mac, MacAddr::ZERO);
}

#[test]
fn garp_reply_form_byte_for_byte() {
    assert_eq!(garp_frame(GarpForm::Reply, MAC, VIP), GARP_REPLY);
    let (_, arp) = parse_arp_frame(&GARP_REPLY).unwrap();
    assert_eq!(arp.operation, ArpOperation::Reply);
    assert_eq!(arp.target_mac, MAC);
}

#[test]
fn unsolicited_na_matches_rfc4861_layout_byte_for_byte() {
    let vip: Ipv6Addr = "2001:db8::83".parse().unwrap();
    assert_eq!(unsolicited_na_frame(MAC, vip, false), NA);
    let (eth, ip, na) = parse_na_frame(&NA).unwrap();
    assert_eq!(eth.ethertype, EtherType::Ipv6);
    assert_eq!(ip.hop_limit, 255);
    assert!(na.override_ && !na.solicited && !na.router);
    assert_eq!(na.target, vip);
    assert_eq!(na.target_mac, Some(MAC));
}

#[test]
fn a_corrupted_na_checksum_is_rejected() {
    let mut bad = NA;
    bad[80] ^= 1;
    assert!(matches!(
        parse_na_frame(&bad),
        Err(WireError::BadChecksum { .. })
    ));
}

#[test]
fn truncated_and_foreign_frames_get_specific_errors() {
    assert!(matches!(
        parse_arp_frame(&GARP_REQUEST[..30]),
        Err(WireError::Truncated { what: "ARP", .. })
    ));
    assert!(matches!(
        parse_arp_frame(&GARP_REQUEST[..5]),
        Err(WireError::Truncated {
            what: "Ethernet",
            ..
        })
    ));
    let mut other = GARP_REQUEST;
    other[21] = 9;
    assert!(matches!(
        parse_arp_frame(&other),
        Err(WireError::BadField {
            field: "operation",
            value: 9,
            ..
        })
    ));
    assert!(matches!(
        parse_arp_frame(&NA),
        Err(WireError::BadField {
            field: "ethertype",
            ..
        })
    ));
    let mut hop = NA;
    hop[21] = 64;
    assert!(matches!(
        parse_na_frame(&hop),
        Err(WireError::BadField {
            field: "hop limit",
            ..
        })
    ));
    let mut short_opt = NA.to_vec();
    short_opt[19] = 0x1a; // payload length 26: option cut
    short_opt.truncate(14 + 40 + 26);
    assert!(parse_na_frame(&short_opt).is_err());
}

#[test]
fn mac_addresses_parse_and_print() {
    let m: MacAddr = "02:00:00:00:00:82".parse().unwrap();
    assert_eq!(m, MAC);
    assert_eq!(m.to_string(), "02:00:00:00:00:82");
    assert!("02:00:00:00:00".parse::<MacAddr>().is_err());
    assert!("02:00:00:00:00:82:01".parse::<MacAddr>().is_err());
    assert!("zz:00:00:00:00:82".parse::<MacAddr>().is_err());
    assert_eq!(MacAddr::vrrp_v4(1).to_string(), "00:00:5e:00:01:01");
}
