//! Announcements captured on the wire by tcpdump: the bytes are exactly
//! what the announcer built, and tcpdump decodes them as valid GARP / NA.
//! Needs root: `cargo test -p lvs-arpguard -- --ignored netns_`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::fd::AsFd;
use std::time::{Duration, Instant};

use lvs_arpguard::MacAddr;
use lvs_arpguard::announce::{Announcer, AnnouncerConfig, ArpForms, FrameKind};
use lvs_arpguard::packet::PacketSocket;
use lvs_arpguard::wire::{ArpOperation, parse_arp_frame, parse_na_frame};
use lvs_testenv::{LAB_IFACE, Lan, require_program, require_root};

/// Records of a classic little-endian pcap file (what `tcpdump -w` writes).
fn pcap_records(bytes: &[u8]) -> Vec<Vec<u8>> {
    assert!(bytes.len() >= 24, "pcap file of {} bytes", bytes.len());
    assert_eq!(
        &bytes[0..4],
        &[0xd4, 0xc3, 0xb2, 0xa1],
        "little-endian pcap magic"
    );
    let mut out = Vec::new();
    let mut at = 24;
    while at + 16 <= bytes.len() {
        let incl =
            u32::from_le_bytes([bytes[at + 8], bytes[at + 9], bytes[at + 10], bytes[at + 11]])
                as usize;
        at += 16;
        assert!(at + incl <= bytes.len(), "truncated pcap record");
        out.push(bytes[at..at + incl].to_vec());
        at += incl;
    }
    out
}

#[test]
#[ignore = "needs root + netns (cargo xtask test)"]
fn netns_tcpdump_decodes_captured_garp_and_na_and_bytes_match() {
    require_root("capturing announcements");
    require_program("tcpdump");
    let lan = Lan::new("cap");
    let frontal = lan.add_host("fr", &["172.20.0.80/24", "2001:db8::80/64"]);
    let node02 = lan.add_host("n2", &["172.20.0.82/24", "2001:db8::82/64"]);
    let vmac = MacAddr::vrrp_v4(1);
    let vip4 = Ipv4Addr::new(172, 20, 0, 83);
    let vip6: Ipv6Addr = "2001:db8::83".parse().unwrap();
    let dir = std::env::temp_dir().join(lvs_testenv::unique_name("arpcap"));
    std::fs::create_dir_all(&dir).unwrap();
    let pcap = dir.join("announce.pcap");
    let pcap_s = pcap.to_str().unwrap().to_string();

    // Start tcpdump and wait until it says it is listening (seconds under
    // emulation), so no announcement is sent before the capture is armed.
    let mut tcpdump = std::process::Command::new("ip")
        .args(["netns", "exec", frontal.name()])
        .args([
            "timeout",
            "60",
            "tcpdump",
            "-Z",
            "root",
            "-i",
            LAB_IFACE,
            "-U",
            "-c",
            "3",
            "-w",
            &pcap_s,
            "arp or (icmp6 and ip6[40] == 136)",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("spawn tcpdump");
    let mut stderr = std::io::BufReader::new(tcpdump.stderr.take().expect("stderr"));
    let mut banner = String::new();
    while !banner.contains("listening on") {
        let mut line = String::new();
        let n = std::io::BufRead::read_line(&mut stderr, &mut line).unwrap();
        assert!(n > 0, "tcpdump exited before listening: {banner}");
        banner.push_str(&line);
    }
    let mut cfg = AnnouncerConfig::new(vmac);
    cfg.arp_forms = ArpForms::Both;
    let mut announcer = Announcer::new(cfg);
    let now = Instant::now();
    announcer.announce_with(IpAddr::V4(vip4), 1, Duration::ZERO, None, now);
    announcer.announce_with(IpAddr::V6(vip6), 1, Duration::ZERO, None, now);
    let socket = PacketSocket::open_sender(Some(node02.as_fd()), LAB_IFACE).unwrap();
    let mut frames = Vec::new();
    while let Some(t) = announcer.poll_transmit(now) {
        socket.send(&t.frame).unwrap();
        frames.push(t);
    }
    let status = tcpdump.wait().expect("wait for tcpdump");
    let mut rest = String::new();
    let _ = std::io::Read::read_to_string(&mut stderr, &mut rest);
    assert!(status.success(), "tcpdump: {banner}{rest}");
    let kinds: Vec<FrameKind> = frames.iter().map(|t| t.kind).collect();
    assert_eq!(
        kinds,
        [
            FrameKind::GarpRequest,
            FrameKind::GarpReply,
            FrameKind::UnsolicitedNa
        ]
    );

    // Byte for byte: the capture holds exactly the frames built.
    let captured = pcap_records(&std::fs::read(&pcap).unwrap());
    assert_eq!(captured.len(), 3);
    for (sent, got) in frames.iter().zip(&captured) {
        assert_eq!(&sent.frame, got, "{:?} changed on the wire", sent.kind);
    }
    let (_, req) = parse_arp_frame(&captured[0]).unwrap();
    assert_eq!(req.operation, ArpOperation::Request);
    assert_eq!(
        (req.source_ip, req.target_ip, req.target_mac),
        (vip4, vip4, MacAddr::ZERO)
    );
    let (_, rep) = parse_arp_frame(&captured[1]).unwrap();
    assert_eq!((rep.operation, rep.target_mac), (ArpOperation::Reply, vmac));
    let (_, ip, na) = parse_na_frame(&captured[2]).unwrap();
    assert_eq!(
        (ip.hop_limit, na.target, na.target_mac),
        (255, vip6, Some(vmac))
    );

    // tcpdump's own decoders accept them.
    let decoded = frontal.run(&["tcpdump", "-r", &pcap_s, "-nn", "-e", "-v"]);
    eprintln!("{decoded}");
    let lines: Vec<&str> = decoded.lines().collect();
    assert!(
        decoded.contains("00:00:5e:00:01:01 > ff:ff:ff:ff:ff:ff, ethertype ARP (0x0806)"),
        "{decoded}"
    );
    assert!(decoded.contains("Request who-has 172.20.0.83 tell 172.20.0.83, length 28"));
    assert!(decoded.contains("Reply 172.20.0.83 is-at 00:00:5e:00:01:01, length 28"));
    assert!(decoded.contains("00:00:5e:00:01:01 > 33:33:00:00:00:01, ethertype IPv6 (0x86dd)"));
    assert!(decoded.contains("hlim 255"));
    assert!(
        decoded.contains("2001:db8::83 > ff02::1: [icmp6 sum ok] ICMP6, neighbor advertisement")
    );
    assert!(decoded.contains("tgt is 2001:db8::83, Flags [override]"));
    assert!(
        decoded.contains("destination link-address option (2), length 8 (1): 00:00:5e:00:01:01")
    );
    assert!(
        !decoded.contains("[|"),
        "tcpdump found a truncated field: {decoded}"
    );
    assert!(lines.len() >= 3);
    std::fs::remove_dir_all(&dir).unwrap();
}
