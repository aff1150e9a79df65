//! A DNS reply through `DnsCheck::judge` (DNS_CHECK's UDP and TCP paths),
//! for an A and an AAAA question, with and without an expected address.
//! The transaction id is taken from the reply so judging goes past it.
//! Nothing may panic.
#![no_main]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

use libfuzzer_sys::fuzz_target;
use lvs_healthcheck::ConnectOptions;
use lvs_healthcheck::checker::dns::DnsCheck;
use lvs_healthcheck::simple_dns::TYPE;

fuzz_target!(|data: &[u8]| {
    let id = match data {
        [a, b, ..] => u16::from_be_bytes([*a, *b]),
        _ => 0,
    };
    let connect = ConnectOptions::new(SocketAddr::from((Ipv4Addr::LOCALHOST, 53)));
    let want: [(TYPE, IpAddr); 2] = [
        (TYPE::A, Ipv4Addr::new(192, 0, 2, 1).into()),
        (
            TYPE::AAAA,
            Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1).into(),
        ),
    ];
    for (qtype, addr) in want {
        let mut check = DnsCheck::keepalived(connect.clone(), Some("www.example.com"), Some(qtype));
        let _ = check.judge(id, data);
        check.expect_address = Some(addr);
        let _ = check.judge(id, data);
    }
});
