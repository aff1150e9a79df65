//! Arbitrary bytes through the IPv4 splitter, the VRRP decoder (both
//! families), checksum detection, and a Backup and a Master router of each
//! version. Nothing may panic.
#![no_main]

use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use libfuzzer_sys::fuzz_target;
use lvs_vrrp::wire::Ipv4Datagram;
use lvs_vrrp::{
    AdvertInterval, Centiseconds, Config, Family, Packet, RecvMeta, Repr, Router, Seconds,
};

fuzz_target!(|data: &[u8]| {
    let _ = Ipv4Datagram::parse(data);
    let src4: IpAddr = Ipv4Addr::new(10, 0, 0, 1).into();
    let dst4: IpAddr = Ipv4Addr::new(224, 0, 0, 18).into();
    let src6: IpAddr = "fe80::1".parse().unwrap();
    let dst6: IpAddr = "ff02::12".parse().unwrap();
    for (family, src, dst) in [(Family::V4, src4, dst4), (Family::V6, src6, dst6)] {
        if let Ok(p) = Packet::new_checked(data, family) {
            let _ = p.verify_checksum(&src, &dst);
            let _ = Repr::parse(&p);
            let _ = p.addresses().count();
        }
    }
    let now = Instant::now();
    let vip: IpAddr = Ipv4Addr::new(10, 0, 0, 9).into();
    for interval in [
        AdvertInterval::V2(Seconds(1)),
        AdvertInterval::V3(Centiseconds::MAX),
    ] {
        for start_as_master in [false, true] {
            let mut cfg = Config::new(
                1,
                100,
                interval,
                Ipv4Addr::new(10, 0, 0, 2).into(),
                vec![vip],
            );
            cfg.start_as_master = start_as_master;
            let Ok(mut r) = Router::new(cfg) else { return };
            r.start(now);
            let meta = RecvMeta {
                source: src4,
                destination: dst4,
                hop_limit: 255,
            };
            let _ = r.handle_packet(now, &meta, data);
            // Also with the checksum made right, to reach the state machine.
            if data.len() >= 8 {
                let mut fixed = data.to_vec();
                if let Ok(mut p) = Packet::new_checked(&mut fixed[..], Family::V4) {
                    let form = if data[0] >> 4 == 2 {
                        lvs_vrrp::ChecksumForm::MessageOnly
                    } else {
                        lvs_vrrp::ChecksumForm::PseudoHeader
                    };
                    let _ = p.fill_checksum(form, &src4, &dst4);
                    let _ = r.handle_packet(now, &meta, &fixed);
                }
            }
            r.handle_timeout(now + Duration::from_secs(200));
            while r.poll_action().is_some() {}
        }
    }
});
